/*
 * log/cleaner_recover.c: the recovery half of the cleaner's segment swap
 * (log/cleaner.c's file head has the protocol): before a partition log
 * opens, each committed "<B>.log.swap" replaces the segments it was made
 * from. Uncommitted ".cleaned" files and ".deleted" leftovers are the
 * partition log's open to remove.
 *
 * Owns: nothing; works on file names through log/file.h. Runs before the
 * log is open, so no lock.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/log.h"
#include "log/cleaner.h"
#include "log/file.h"
#include "log/segment.h"
#include "proto/batch.h"

#define SL_CL_PATH 4096
#define SL_CL_CRC_BUF 65536

/* ---- recovery ----------------------------------------------------------- */

typedef struct sl_cl_names_s {
    char **v;
    size_t n, cap;
    sl_err_t err;
} sl_cl_names_t;

static int
sl_cl_names_cb(void *arg, const char *name)
{
    sl_cl_names_t *l = arg;
    char **v;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        if ((v = realloc(l->v, l->cap * sizeof(*v))) == NULL) {
            l->err = SL_ERR__NOMEM;
            return 1;
        }
        l->v = v;
    }
    if ((l->v[l->n] = strdup(name)) == NULL) {
        l->err = SL_ERR__NOMEM;
        return 1;
    }
    l->n++;
    return 0;
}

static void
sl_cl_names_free(sl_cl_names_t *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
}

/* "<20 digits><rest>": *base, and the rest. */
static bool
sl_cl_parse_base(const char *name, int64_t *base, const char **rest)
{
    uint64_t v = 0;
    int i;

    if (strlen(name) < 20) {
        return false;
    }
    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
        if (v > (uint64_t)INT64_MAX) {
            return false;
        }
    }
    *base = (int64_t)v;
    *rest = name + 20;
    return true;
}

/* Whether the CRC-32C of the batch at <pos> (<size> bytes, header h)
 * matches, streaming through buf[SL_CL_CRC_BUF]. */
static sl_err_t
sl_cl_crc_ok(int fd, const uint8_t *h, int64_t pos, int64_t size, uint8_t *buf,
             bool *ok)
{
    uint32_t crc = 0, want;
    int64_t off = pos + 21, end = pos + size;
    size_t n, got;
    sl_err_t err;

    want = ((uint32_t)h[17] << 24) | ((uint32_t)h[18] << 16) |
           ((uint32_t)h[19] << 8) | (uint32_t)h[20];
    *ok = false;
    while (off < end) {
        n = (size_t)(end - off < SL_CL_CRC_BUF ? end - off : SL_CL_CRC_BUF);
        if ((err = sl_file_read_at(fd, buf, n, off, &got)) != SL_OK) {
            return err;
        }
        if (got != n) {
            return SL_OK;
        }
        crc = sl_crc32c(crc, buf, n);
        off += (int64_t)n;
    }
    *ok = crc == want;
    return SL_OK;
}

/* Walk the batches of swap file <path> (segment base <base>): *last
 * gets the last offset (-1 when empty), *bad the position of the first
 * batch that is torn or not a valid continuation (-1 when none). */
static sl_err_t
sl_cl_swap_scan(const char *path, int64_t base, int64_t *last, int64_t *bad)
{
    uint8_t h[SL_BATCH_HEADER_SIZE], *buf;
    sl_seg_batch_t b;
    int64_t size, mtime, pos = 0;
    size_t got;
    bool ok;
    int fd;
    sl_err_t err;

    *last = -1;
    *bad = -1;
    if ((buf = malloc(SL_CL_CRC_BUF)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if ((err = sl_file_open(path, O_RDONLY, &fd)) != SL_OK) {
        free(buf);
        return err;
    }
    err = sl_file_size(fd, &size, &mtime);
    while (err == SL_OK && pos < size) {
        err = sl_file_read_at(fd, h, sizeof(h), pos, &got);
        if (err != SL_OK) {
            break;
        }
        if (got < sizeof(h) ||
            sl_segment_decode_header(h, size - pos, &b) != SL_OK ||
            b.base_offset < base || b.base_offset <= *last) {
            *bad = pos;
            break;
        }
        if ((err = sl_cl_crc_ok(fd, h, pos, b.size, buf, &ok)) != SL_OK) {
            break;
        }
        if (!ok) {
            *bad = pos;
            break;
        }
        *last = b.last_offset;
        pos += b.size;
    }
    sl_file_close(&fd);
    free(buf);
    return err;
}

/* Cut swap file <path> at <pos> and sync it. */
static sl_err_t
sl_cl_swap_cut(const char *path, int64_t pos)
{
    int fd;
    sl_err_t err;

    if ((err = sl_file_open(path, O_RDWR, &fd)) != SL_OK) {
        return err;
    }
    err = sl_file_truncate(fd, pos);
    if (err == SL_OK) {
        err = sl_file_datasync(fd);
    }
    sl_file_close(&fd);
    return err;
}

/* A damaged swap whose old segments are all still there (the first one,
 * <base>.log, is the first renamed away) is dropped: the old ones win. */
static sl_err_t
sl_cl_swap_drop(const char *dir, int64_t base)
{
    static const char *const sfx[3] = {".log.swap", ".index.swap",
                                       ".timeindex.swap"};
    char p[SL_CL_PATH];
    sl_err_t err;
    int k;

    for (k = 0; k < 3; k++) {
        if (!sl_segment_path(p, sizeof(p), dir, base, sfx[k])) {
            return SL_ERR__INVAL;
        }
        if ((err = sl_file_unlink(p)) != SL_OK && err != SL_ERR__NOENT) {
            return err;
        }
    }
    sl_log_warn("log.cleaner", "dropped a damaged swap dir=%s base=%lld", dir,
                (long long)base);
    return SL_OK;
}

/* Complete the swap of <base>. */
static sl_err_t
sl_cl_complete(const char *dir, const sl_cl_names_t *l, int64_t base)
{
    static const char *const ext[3] = {".index", ".timeindex", ".log"};
    char from[SL_CL_PATH], to[SL_CL_PATH];
    int64_t last, bad, x;
    const char *rest;
    size_t i;
    int k;
    sl_err_t err;

    if (!sl_segment_path(from, sizeof(from), dir, base, ".log.swap")) {
        return SL_ERR__INVAL;
    }
    if ((err = sl_cl_swap_scan(from, base, &last, &bad)) != SL_OK) {
        return err;
    }
    if (bad >= 0) {
        /* it was synced before it became a .swap: a damaged disk */
        if (!sl_segment_path(to, sizeof(to), dir, base, ".log")) {
            return SL_ERR__INVAL;
        }
        if (sl_file_exists(to)) {
            return sl_cl_swap_drop(dir, base);
        }
        sl_log_error("log.cleaner", "cutting a damaged swap path=%s pos=%lld",
                     from, (long long)bad);
        if ((err = sl_cl_swap_cut(from, bad)) != SL_OK) {
            return err;
        }
    }
    for (i = 0; i < l->n; i++) {
        if (!sl_cl_parse_base(l->v[i], &x, &rest) || x <= base || x > last ||
            strstr(rest, ".swap") != NULL || strstr(rest, ".cleaned") != NULL) {
            continue;
        }
        if (snprintf(to, sizeof(to), "%s/%s", dir, l->v[i]) >=
            (int)sizeof(to)) {
            continue;
        }
        if ((err = sl_file_unlink(to)) != SL_OK && err != SL_ERR__NOENT) {
            return err;
        }
    }
    for (k = 0; k < 3; k++) {
        char sfx[32];

        snprintf(sfx, sizeof(sfx), "%s.swap", ext[k]);
        if (!sl_segment_path(from, sizeof(from), dir, base, sfx) ||
            !sl_segment_path(to, sizeof(to), dir, base, ext[k])) {
            return SL_ERR__INVAL;
        }
        if (!sl_file_exists(from)) {
            continue; /* already renamed before the crash */
        }
        if ((err = sl_file_rename(from, to)) != SL_OK) {
            return err;
        }
    }
    sl_log_warn("log.cleaner", "completed an interrupted swap dir=%s base=%lld",
                dir, (long long)base);
    return SL_OK;
}

sl_err_t
sl_cleaner_recover_dir(const char *dir)
{
    sl_cl_names_t l;
    const char *rest;
    int64_t base;
    bool any = false;
    size_t i;
    sl_err_t err;

    memset(&l, 0, sizeof(l));
    err = sl_file_list(dir, sl_cl_names_cb, &l);
    if (err == SL_OK) {
        err = l.err;
    }
    if (err == SL_ERR__NOENT) {
        err = SL_OK;
    }
    for (i = 0; err == SL_OK && i < l.n; i++) {
        if (sl_cl_parse_base(l.v[i], &base, &rest) &&
            strcmp(rest, ".log.swap") == 0) {
            err = sl_cl_complete(dir, &l, base);
            any = true;
        }
    }
    sl_cl_names_free(&l);
    if (err == SL_OK && any) {
        err = sl_file_sync_dir(dir);
    }
    return err;
}
