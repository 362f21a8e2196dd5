/*
 * cluster/producer_ids.c: the producer id allocator (see producer_ids.h):
 * a block end persisted before use, ids handed out below it.
 *
 * Owns: the allocator and its file. Locks: lock (next, end, the file).
 */
#include "cluster/producer_ids.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/file.h"

#define SL_PID_PATH 4096
#define SL_PID_SUBDIR "__sluice_metadata"
#define SL_PID_FILE "producer-ids"

struct sl_pid_alloc_s {
    pthread_mutex_t lock;
    char dir[SL_PID_PATH];
    char path[SL_PID_PATH];
    int64_t next; /* next id to hand out */
    int64_t end;  /* persisted: ids below it may be handed out */
};

/* Parse "0\n<n>\n". */
static sl_err_t
sl_pid_parse(const char *buf, size_t len, int64_t *out)
{
    char tmp[64];
    long long v;
    int used = 0;

    if (len == 0 || len >= sizeof(tmp)) {
        return SL_ERR__CORRUPT;
    }
    memcpy(tmp, buf, len);
    tmp[len] = '\0';
    if (sscanf(tmp, "0\n%lld\n%n", &v, &used) != 1 || (size_t)used != len ||
        v < 0 || v > INT64_MAX - SL_PID_BLOCK) {
        return SL_ERR__CORRUPT;
    }
    *out = (int64_t)v;
    return SL_OK;
}

sl_err_t
sl_pid_alloc_open(const char *data_dir, sl_pid_alloc_t **out)
{
    sl_pid_alloc_t *a = calloc(1, sizeof(*a));
    char buf[64];
    size_t len;
    sl_err_t err;

    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    if (snprintf(a->dir, sizeof(a->dir), "%s/%s", data_dir, SL_PID_SUBDIR) >=
            (int)sizeof(a->dir) ||
        snprintf(a->path, sizeof(a->path), "%s/%s", a->dir, SL_PID_FILE) >=
            (int)sizeof(a->path)) {
        free(a);
        return SL_ERR__INVAL;
    }
    if ((err = sl_file_mkdir(a->dir)) != SL_OK) {
        free(a);
        return err;
    }
    err = sl_file_read_small(a->path, buf, sizeof(buf), &len);
    if (err == SL_OK) {
        err = sl_pid_parse(buf, len, &a->next);
    } else if (err == SL_ERR__NOENT) {
        a->next = 0;
        err = SL_OK;
    }
    if (err != SL_OK) {
        sl_log_error("cluster.pid",
                     "cannot read producer id file path=%s "
                     "err=%s",
                     a->path, sl_err_name(err));
        free(a);
        return err == SL_ERR__TOOBIG ? SL_ERR__CORRUPT : err;
    }
    a->end = a->next; /* the rest of the last block is never reused */
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return SL_OK;
}

void
sl_pid_alloc_close(sl_pid_alloc_t *a)
{
    if (a != NULL) {
        pthread_mutex_destroy(&a->lock);
        free(a);
    }
}

sl_err_t
sl_pid_alloc_next(sl_pid_alloc_t *a, int64_t *id)
{
    char buf[64];
    int n;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&a->lock);
    if (a->next >= a->end) {
        int64_t end = a->next + SL_PID_BLOCK;

        n = snprintf(buf, sizeof(buf), "0\n%" PRId64 "\n", end);
        err = sl_file_write_atomic(a->dir, a->path, buf, (size_t)n);
        if (err == SL_OK) {
            a->end = end;
            sl_log_info("cluster.pid",
                        "producer id block start=%" PRId64 " end=%" PRId64,
                        a->next, end);
        } else {
            sl_log_error("cluster.pid",
                         "cannot persist producer id block "
                         "err=%s",
                         sl_err_name(err));
        }
    }
    if (err == SL_OK) {
        *id = a->next++;
    }
    pthread_mutex_unlock(&a->lock);
    return err;
}
