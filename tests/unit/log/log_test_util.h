/*
 * tests/unit/log/log_test_util.h: helpers shared by the log tests: a
 * temporary directory (on /dev/shm when present) removed at the end, and
 * record batch builders with chosen timestamps and sizes.
 */
#ifndef SL_TEST_LOG_UTIL_H
#define SL_TEST_LOG_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/log.h"
#include "proto/batch.h"

static int
tl_rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void
tl_rmtree(const char *dir)
{
    nftw(dir, tl_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp under /dev/shm (fast) or /tmp; path into buf[256]. */
static inline void
tl_mkdtemp(char *buf)
{
    struct stat st;

    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK) == 0) {
        snprintf(buf, 256, "/dev/shm/sl-log-test-XXXXXX");
    } else {
        snprintf(buf, 256, "/tmp/sl-log-test-XXXXXX");
    }
    if (mkdtemp(buf) == NULL) {
        abort();
    }
}

/* A batch of <n> records, values of <vlen> bytes ('a' + i), timestamps
 * ts, ts+1, ... Caller frees *out. */
static inline size_t
tl_batch(int n, size_t vlen, int64_t ts, uint8_t **out)
{
    sl_batch_params_t bp;
    sl_record_in_t recs[64];
    static _Thread_local uint8_t val[1 << 16];
    size_t len = 0;
    int i;

    if (n > 64 || vlen > sizeof(val)) {
        abort();
    }
    memset(recs, 0, sizeof(recs));
    for (i = 0; i < n; i++) {
        recs[i].value = val;
        recs[i].value_len = vlen;
        recs[i].timestamp = ts + i;
    }
    memset(val, 'v', vlen);
    sl_batch_params_init(&bp);
    if (sl_batch_build(&bp, recs, (size_t)n, out, &len) != SL_OK) {
        abort();
    }
    return len;
}

/* Test config: small segments and a small index interval. */
static inline void
tl_config(sl_log_config_t *c)
{
    sl_log_config_init(c);
    c->segment_bytes = 4096;
    c->index_interval_bytes = 256;
    c->retention_ms = -1;
}

#endif
