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

#include "core/log.h"
#include "log/cleaner.h"
#include "log/file.h"
#include "log/segment.h"
#include "proto/batch.h"

#define SL_CL_PATH 4096

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

/* The last offset of the batches in file <path> (-1 when empty); a torn
 * or bad tail is cut (the file was synced before it became a .swap, so
 * that only happens on a damaged disk). */
static sl_err_t
sl_cl_swap_last(const char *path, int64_t *last)
{
    uint8_t h[SL_BATCH_HEADER_SIZE];
    sl_seg_batch_t b;
    int64_t size, mtime, pos = 0;
    size_t got;
    int fd;
    sl_err_t err;

    *last = -1;
    if ((err = sl_file_open(path, O_RDWR, &fd)) != SL_OK) {
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
            b.last_offset < *last) {
            sl_log_warn("log.cleaner", "cutting bad swap file path=%s pos=%lld",
                        path, (long long)pos);
            err = sl_file_truncate(fd, pos);
            break;
        }
        *last = b.last_offset;
        pos += b.size;
    }
    if (err == SL_OK) {
        err = sl_file_datasync(fd);
    }
    sl_file_close(&fd);
    return err;
}

/* Complete the swap of <base>. */
static sl_err_t
sl_cl_complete(const char *dir, const sl_cl_names_t *l, int64_t base)
{
    static const char *const ext[3] = {".index", ".timeindex", ".log"};
    char from[SL_CL_PATH], to[SL_CL_PATH];
    int64_t last, x;
    const char *rest;
    size_t i;
    int k;
    sl_err_t err;

    if (!sl_segment_path(from, sizeof(from), dir, base, ".log.swap")) {
        return SL_ERR__INVAL;
    }
    if ((err = sl_cl_swap_last(from, &last)) != SL_OK) {
        return err;
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
