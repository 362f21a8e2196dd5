/*
 * log/txnindex.c: the aborted-transaction index (see txnindex.h).
 *
 * File <dir>/<20-digit segment base>.txnindex, no header, entries of 34
 * bytes in marker-offset order, big-endian (Kafka's AbortedTxn):
 *
 *   off  size  field
 *   0    2     version (0)
 *   2    8     producer id
 *   10   8     first offset (the transaction's first batch)
 *   18   8     last offset (its ABORT marker)
 *   26   8     last stable offset once it ended
 *
 * In memory: every entry of every file sorted by last offset, and the
 * files sorted by base. File i holds exactly the entries whose last offset
 * is in [base(i), base(i+1)): a marker goes to the file of the segment it
 * was written to, whose successor's base is at most the next file's base
 * (the cleaner only merges segments, retention only removes them).
 *
 * Owns: the entry and file arrays, nothing open between calls.
 */
#include "log/txnindex.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/file.h"

#define SL_TXNIDX_ENTRY 34
#define SL_TXNIDX_VERSION 0
#define SL_TXNIDX_EXT ".txnindex"
#define SL_TXNIDX_PATH 4096
/* A larger file is not ours (2M entries). */
#define SL_TXNIDX_MAX_FILE ((int64_t)SL_TXNIDX_ENTRY << 21)

typedef struct sl_txnidx_file_s {
    int64_t base;
    size_t n;    /* entries written to the file */
    bool synced; /* no write since the last fdatasync */
} sl_txnidx_file_t;

struct sl_txnidx_s {
    char *dir;
    sl_txn_aborted_t *e; /* by last offset */
    size_t n, cap;
    sl_txnidx_file_t *f; /* by base */
    size_t nf, cf;
    bool broken; /* an append failed to reach its file */
};

/* ---- encoding ----------------------------------------------------------- */

static void
sl_txnidx_put64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--, v >>= 8) {
        p[i] = (uint8_t)v;
    }
}

static uint64_t
sl_txnidx_get64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static void
sl_txnidx_encode(uint8_t *p, const sl_txn_aborted_t *a)
{
    p[0] = 0;
    p[1] = SL_TXNIDX_VERSION;
    sl_txnidx_put64(p + 2, (uint64_t)a->producer_id);
    sl_txnidx_put64(p + 10, (uint64_t)a->first_offset);
    sl_txnidx_put64(p + 18, (uint64_t)a->last_offset);
    sl_txnidx_put64(p + 26, (uint64_t)a->lso);
}

static bool
sl_txnidx_path(char *buf, size_t cap, const char *dir, int64_t base)
{
    int n = snprintf(buf, cap, "%s/%020" PRId64 SL_TXNIDX_EXT, dir, base);

    return n > 0 && (size_t)n < cap;
}

/* ---- arrays ------------------------------------------------------------- */

static sl_err_t
sl_txnidx_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t c = *cap ? *cap : 16;
    void *p;

    if (need <= *cap) {
        return SL_OK;
    }
    while (c < need) {
        c *= 2;
    }
    if ((p = realloc(*arr, c * elem)) == NULL) {
        return SL_ERR__NOMEM;
    }
    *arr = p;
    *cap = c;
    return SL_OK;
}

static sl_err_t
sl_txnidx_add_file(sl_txnidx_t *ti, int64_t base, size_t n)
{
    void *arr = ti->f;
    sl_err_t err;

    err = sl_txnidx_reserve(&arr, &ti->cf, ti->nf + 1, sizeof(*ti->f));
    ti->f = arr;
    if (err != SL_OK) {
        return err;
    }
    ti->f[ti->nf].base = base;
    ti->f[ti->nf].n = n;
    ti->f[ti->nf].synced = true;
    ti->nf++;
    return SL_OK;
}

/* ---- open --------------------------------------------------------------- */

typedef struct sl_txnidx_names_s {
    sl_txnidx_t *ti;
    sl_err_t err;
} sl_txnidx_names_t;

static int
sl_txnidx_list_cb(void *arg, const char *name)
{
    sl_txnidx_names_t *l = arg;
    size_t len = strlen(SL_TXNIDX_EXT);
    uint64_t v = 0;
    int i;

    if (strlen(name) != 20 + len || strcmp(name + 20, SL_TXNIDX_EXT) != 0) {
        return 0;
    }
    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return 0;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
        if (v > (uint64_t)INT64_MAX) {
            return 0;
        }
    }
    if ((l->err = sl_txnidx_add_file(l->ti, (int64_t)v, 0)) != SL_OK) {
        return 1;
    }
    return 0;
}

static int
sl_txnidx_cmp_file(const void *a, const void *b)
{
    int64_t x = ((const sl_txnidx_file_t *)a)->base;
    int64_t y = ((const sl_txnidx_file_t *)b)->base;

    return x < y ? -1 : x > y;
}

/* Read file i, keeping its sane prefix (entries with last offset in
 * [base, limit) and increasing); cut the file after it. */
static sl_err_t
sl_txnidx_load_file(sl_txnidx_t *ti, size_t i, int64_t limit, bool *damaged)
{
    char path[SL_TXNIDX_PATH];
    int64_t size, prev = -1;
    size_t got, k, n;
    uint8_t *buf = NULL;
    void *arr;
    int fd = -1;
    sl_err_t err;

    if (!sl_txnidx_path(path, sizeof(path), ti->dir, ti->f[i].base)) {
        return SL_ERR__INVAL;
    }
    if ((err = sl_file_open(path, O_RDWR, &fd)) != SL_OK ||
        (err = sl_file_size(fd, &size, NULL)) != SL_OK) {
        goto done;
    }
    if (size > SL_TXNIDX_MAX_FILE) {
        size = 0; /* not ours: rebuild it all */
    }
    n = (size_t)size / SL_TXNIDX_ENTRY;
    if (n > 0 && (buf = malloc(n * SL_TXNIDX_ENTRY)) == NULL) {
        err = SL_ERR__NOMEM;
        goto done;
    }
    if (n > 0 && ((err = sl_file_read_at(fd, buf, n * SL_TXNIDX_ENTRY, 0,
                                         &got)) != SL_OK ||
                  got != n * SL_TXNIDX_ENTRY)) {
        err = err != SL_OK ? err : SL_ERR__IO;
        goto done;
    }
    arr = ti->e;
    if ((err = sl_txnidx_reserve(&arr, &ti->cap, ti->n + n, sizeof(*ti->e))) !=
        SL_OK) {
        ti->e = arr;
        goto done;
    }
    ti->e = arr;
    for (k = 0; k < n; k++) {
        const uint8_t *p = buf + k * SL_TXNIDX_ENTRY;
        sl_txn_aborted_t a;

        a.producer_id = (int64_t)sl_txnidx_get64(p + 2);
        a.first_offset = (int64_t)sl_txnidx_get64(p + 10);
        a.last_offset = (int64_t)sl_txnidx_get64(p + 18);
        a.lso = (int64_t)sl_txnidx_get64(p + 26);
        if (p[0] != 0 || p[1] != SL_TXNIDX_VERSION || a.producer_id < 0 ||
            a.first_offset < 0 || a.first_offset > a.last_offset ||
            a.last_offset < ti->f[i].base || a.last_offset >= limit ||
            a.last_offset <= prev || a.lso < 0 || a.lso > a.last_offset + 1) {
            break;
        }
        prev = a.last_offset;
        ti->e[ti->n++] = a;
    }
    ti->f[i].n = k;
    if ((int64_t)k * SL_TXNIDX_ENTRY != size) {
        sl_log_warn("log.txnindex", "cutting damaged index path=%s entries=%zu",
                    path, k);
        *damaged = true;
        if ((err = sl_file_truncate(fd, (int64_t)k * SL_TXNIDX_ENTRY)) ==
            SL_OK) {
            err = sl_file_datasync(fd);
        }
    }
done:
    free(buf);
    sl_file_close(&fd);
    return err;
}

sl_err_t
sl_txnidx_open(const char *dir, sl_txnidx_t **out, bool *damaged)
{
    sl_txnidx_names_t l;
    sl_txnidx_t *ti;
    size_t i;
    sl_err_t err;

    *damaged = false;
    if ((ti = calloc(1, sizeof(*ti))) == NULL ||
        (ti->dir = strdup(dir)) == NULL) {
        sl_txnidx_close(ti);
        return SL_ERR__NOMEM;
    }
    l.ti = ti;
    l.err = SL_OK;
    err = sl_file_list(dir, sl_txnidx_list_cb, &l);
    if (err == SL_OK) {
        err = l.err;
    }
    if (err == SL_OK && ti->nf > 1) {
        qsort(ti->f, ti->nf, sizeof(*ti->f), sl_txnidx_cmp_file);
    }
    for (i = 0; err == SL_OK && i < ti->nf; i++) {
        err = sl_txnidx_load_file(
            ti, i, i + 1 < ti->nf ? ti->f[i + 1].base : INT64_MAX, damaged);
    }
    if (err != SL_OK) {
        sl_txnidx_close(ti);
        return err;
    }
    *out = ti;
    return SL_OK;
}

void
sl_txnidx_close(sl_txnidx_t *ti)
{
    if (ti != NULL) {
        free(ti->e);
        free(ti->f);
        free(ti->dir);
        free(ti);
    }
}

/* ---- changes ------------------------------------------------------------ */

sl_err_t
sl_txnidx_append(sl_txnidx_t *ti, int64_t seg_base, const sl_txn_aborted_t *a)
{
    char path[SL_TXNIDX_PATH];
    uint8_t buf[SL_TXNIDX_ENTRY];
    sl_txnidx_file_t *f;
    void *arr = ti->e;
    int fd = -1;
    sl_err_t err;

    if (ti->n > 0 && a->last_offset <= ti->e[ti->n - 1].last_offset) {
        return SL_OK; /* known already */
    }
    if (ti->nf > 0 && seg_base < ti->f[ti->nf - 1].base) {
        /* the cleaner merged the segment holding the marker with later
         * ones whose files remain: the newest file's range holds it */
        seg_base = ti->f[ti->nf - 1].base;
    }
    err = sl_txnidx_reserve(&arr, &ti->cap, ti->n + 1, sizeof(*ti->e));
    ti->e = arr;
    if (err != SL_OK) {
        return err;
    }
    if ((ti->nf == 0 || ti->f[ti->nf - 1].base != seg_base) &&
        (err = sl_txnidx_add_file(ti, seg_base, 0)) != SL_OK) {
        return err;
    }
    ti->e[ti->n++] = *a;
    f = &ti->f[ti->nf - 1];
    f->synced = false;
    sl_txnidx_encode(buf, a);
    if (!sl_txnidx_path(path, sizeof(path), ti->dir, seg_base)) {
        err = SL_ERR__INVAL;
    } else if ((err = sl_file_open(path, O_RDWR | O_CREAT, &fd)) == SL_OK) {
        err = sl_file_write_at(fd, buf, sizeof(buf),
                               (int64_t)f->n * SL_TXNIDX_ENTRY);
        sl_file_close(&fd);
    }
    if (err != SL_OK) {
        ti->broken = true;
        sl_log_error("log.txnindex", "append failed dir=%s base=%lld err=%s",
                     ti->dir, (long long)seg_base, sl_err_name(err));
        return SL_ERR__IO;
    }
    f->n++;
    return SL_OK;
}

/* Write file i again from memory (its entries: last offset in [base,
 * next file's base)) and cut it there. */
static sl_err_t
sl_txnidx_rewrite(sl_txnidx_t *ti, size_t i)
{
    char path[SL_TXNIDX_PATH];
    int64_t lo = ti->f[i].base;
    int64_t hi = i + 1 < ti->nf ? ti->f[i + 1].base : INT64_MAX;
    uint8_t buf[SL_TXNIDX_ENTRY];
    size_t k, n = 0;
    int fd = -1;
    sl_err_t err;

    if (!sl_txnidx_path(path, sizeof(path), ti->dir, lo)) {
        return SL_ERR__INVAL;
    }
    if ((err = sl_file_open(path, O_RDWR | O_CREAT, &fd)) != SL_OK) {
        return err;
    }
    for (k = 0; k < ti->n && err == SL_OK; k++) {
        if (ti->e[k].last_offset >= lo && ti->e[k].last_offset < hi) {
            sl_txnidx_encode(buf, &ti->e[k]);
            err = sl_file_write_at(fd, buf, sizeof(buf),
                                   (int64_t)n * SL_TXNIDX_ENTRY);
            n++;
        }
    }
    if (err == SL_OK) {
        err = sl_file_truncate(fd, (int64_t)n * SL_TXNIDX_ENTRY);
    }
    sl_file_close(&fd);
    if (err == SL_OK) {
        ti->f[i].n = n;
        ti->f[i].synced = false;
    }
    return err;
}

/* After a failed append: write every file again from memory. */
static sl_err_t
sl_txnidx_repair(sl_txnidx_t *ti)
{
    size_t i;
    sl_err_t err;

    for (i = 0; i < ti->nf; i++) {
        if ((err = sl_txnidx_rewrite(ti, i)) != SL_OK) {
            return err;
        }
    }
    ti->broken = false;
    return SL_OK;
}

sl_err_t
sl_txnidx_sync(sl_txnidx_t *ti)
{
    char path[SL_TXNIDX_PATH];
    size_t i;
    int fd = -1;
    sl_err_t err;

    if (ti->broken && (err = sl_txnidx_repair(ti)) != SL_OK) {
        return err;
    }
    for (i = 0; i < ti->nf; i++) {
        if (ti->f[i].synced) {
            continue;
        }
        if (!sl_txnidx_path(path, sizeof(path), ti->dir, ti->f[i].base)) {
            return SL_ERR__INVAL;
        }
        if ((err = sl_file_open(path, O_RDWR, &fd)) != SL_OK) {
            return err == SL_ERR__NOENT ? SL_ERR__IO : err;
        }
        err = sl_file_datasync(fd);
        sl_file_close(&fd);
        if (err != SL_OK) {
            return err;
        }
        ti->f[i].synced = true;
    }
    return SL_OK;
}

sl_err_t
sl_txnidx_truncate(sl_txnidx_t *ti, int64_t offset)
{
    char path[SL_TXNIDX_PATH];
    size_t keep = 0, i;
    sl_err_t err = SL_OK, e2;

    while (ti->n > 0 && ti->e[ti->n - 1].last_offset >= offset) {
        ti->n--;
    }
    while (ti->nf > 0 && ti->f[ti->nf - 1].base >= offset) {
        ti->nf--;
        if (sl_txnidx_path(path, sizeof(path), ti->dir, ti->f[ti->nf].base) &&
            (e2 = sl_file_unlink(path)) != SL_OK && e2 != SL_ERR__NOENT) {
            err = e2;
        }
    }
    if (ti->nf == 0) {
        ti->broken = false; /* every entry is gone from disk too */
        return err;
    }
    if (ti->broken) {
        return (e2 = sl_txnidx_repair(ti)) != SL_OK ? e2 : err;
    }
    /* entries left for the newest file: those at or above its base */
    for (i = ti->n; i > 0 && ti->e[i - 1].last_offset >= ti->f[ti->nf - 1].base;
         i--) {
        keep++;
    }
    if (ti->f[ti->nf - 1].n != keep &&
        (e2 = sl_txnidx_rewrite(ti, ti->nf - 1)) != SL_OK) {
        return e2;
    }
    return err;
}

void
sl_txnidx_drop_below(sl_txnidx_t *ti, int64_t base)
{
    char path[SL_TXNIDX_PATH];
    size_t i = 0, k = 0;

    while (i < ti->n && ti->e[i].last_offset < base) {
        i++;
    }
    if (i > 0) {
        memmove(ti->e, ti->e + i, (ti->n - i) * sizeof(*ti->e));
        ti->n -= i;
    }
    while (k < ti->nf && ti->f[k].base < base) {
        if (sl_txnidx_path(path, sizeof(path), ti->dir, ti->f[k].base)) {
            (void)sl_file_unlink(path);
        }
        k++;
    }
    if (k > 0) {
        memmove(ti->f, ti->f + k, (ti->nf - k) * sizeof(*ti->f));
        ti->nf -= k;
    }
}

/* ---- reads -------------------------------------------------------------- */

size_t
sl_txnidx_collect(const sl_txnidx_t *ti, int64_t from, int64_t upto,
                  sl_txn_aborted_t *out, size_t cap)
{
    size_t lo = 0, hi = ti->n, i, total = 0;

    /* first entry whose marker is at or after from */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ti->e[mid].last_offset < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (i = lo; i < ti->n; i++) {
        if (ti->e[i].first_offset >= upto) {
            continue;
        }
        if (total < cap) {
            out[total] = ti->e[i];
        }
        total++;
    }
    return total;
}

size_t
sl_txnidx_count(const sl_txnidx_t *ti)
{
    return ti->n;
}
