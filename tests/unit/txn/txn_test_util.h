/* Shared helpers of the transaction coordinator tests: a fake store that
 * keeps every record and completes appends only when told, a fake marker
 * writer (same), a producer-id counter, result captures and short-hands
 * for the coordinator's operations. */
#ifndef SL_TEST_TXN_UTIL_H
#define SL_TEST_TXN_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "txn/txn.h"
#include "txn/txn_int.h"

#define TT_MAX 8192

typedef struct tt_record_s {
    int32_t partition;
    uint8_t *key;
    size_t key_len;
    uint8_t *value; /* NULL: tombstone */
    size_t value_len;
} tt_record_t;

typedef struct tt_pend_s {
    sl_txn_done_cb done;
    void *arg;
    int rec; /* index in rec[] (appends only) */
} tt_pend_t;

typedef struct tt_marker_s {
    int64_t pid;
    int16_t epoch;
    bool commit;
    int32_t coordinator_epoch;
    char parts[256]; /* "topic:p,topic:p" */
} tt_marker_t;

typedef struct tt_env_s {
    tt_record_t rec[TT_MAX];
    int nrec;
    tt_pend_t spend[TT_MAX]; /* store appends not completed yet */
    int nspend;
    tt_marker_t mk[TT_MAX];
    int nmk;
    tt_pend_t mpend[TT_MAX]; /* marker writes not completed yet */
    int nmpend;
    int ncomplete; /* txn_complete hook calls */
    bool last_complete_commit;
    int64_t last_complete_pid;
    int64_t next_pid;
    sl_err_t pid_err;
} tt_env_t;

static inline void
tt_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
          const uint8_t *value, size_t value_len, sl_txn_done_cb done,
          void *done_arg)
{
    tt_env_t *e = ctx;
    tt_record_t *r;

    assert_true(e->nrec < TT_MAX);
    r = &e->rec[e->nrec++];
    r->partition = partition;
    r->key = malloc(key_len);
    memcpy(r->key, key, key_len);
    r->key_len = key_len;
    r->value = NULL;
    if (value != NULL) {
        r->value = malloc(value_len);
        memcpy(r->value, value, value_len);
    }
    r->value_len = value_len;
    e->spend[e->nspend].done = done;
    e->spend[e->nspend].arg = done_arg;
    e->spend[e->nspend].rec = e->nrec - 1;
    e->nspend++;
}

static inline void
tt_write(void *ctx, int64_t pid, int16_t epoch, bool commit,
         int32_t coordinator_epoch, const sl_txn_tp_t *parts, int32_t n,
         sl_txn_done_cb done, void *done_arg)
{
    tt_env_t *e = ctx;
    tt_marker_t *m;
    size_t off = 0;

    assert_true(e->nmk < TT_MAX);
    m = &e->mk[e->nmk++];
    m->pid = pid;
    m->epoch = epoch;
    m->commit = commit;
    m->coordinator_epoch = coordinator_epoch;
    m->parts[0] = '\0';
    for (int32_t i = 0; i < n && off < sizeof(m->parts); i++) {
        off += (size_t)snprintf(m->parts + off, sizeof(m->parts) - off,
                                "%s%.*s:%d", i > 0 ? "," : "",
                                (int)parts[i].topic.len, parts[i].topic.ptr,
                                parts[i].partition);
    }
    e->mpend[e->nmpend].done = done;
    e->mpend[e->nmpend].arg = done_arg;
    e->nmpend++;
}

static inline void
tt_complete(void *ctx, int64_t pid, int16_t epoch, bool commit,
            const sl_txn_tp_t *parts, int32_t n)
{
    tt_env_t *e = ctx;

    (void)epoch;
    (void)parts;
    (void)n;
    e->ncomplete++;
    e->last_complete_commit = commit;
    e->last_complete_pid = pid;
}

static inline sl_err_t
tt_next_pid(void *ctx, int64_t *out)
{
    tt_env_t *e = ctx;

    if (e->pid_err != SL_OK) {
        return e->pid_err;
    }
    *out = e->next_pid++;
    return SL_OK;
}

/* Complete the oldest pending append with <err>; false if none. */
static inline bool
tt_store_one(tt_env_t *e, sl_err_t err)
{
    tt_pend_t p;

    if (e->nspend == 0) {
        return false;
    }
    p = e->spend[0];
    memmove(&e->spend[0], &e->spend[1], (size_t)(e->nspend - 1) * sizeof(p));
    e->nspend--;
    p.done(p.arg, err);
    return true;
}

static inline bool
tt_markers_one(tt_env_t *e, sl_err_t err)
{
    tt_pend_t p;

    if (e->nmpend == 0) {
        return false;
    }
    p = e->mpend[0];
    memmove(&e->mpend[0], &e->mpend[1], (size_t)(e->nmpend - 1) * sizeof(p));
    e->nmpend--;
    p.done(p.arg, err);
    return true;
}

/* Complete everything (and whatever that starts) successfully. */
static inline void
tt_settle(tt_env_t *e)
{
    while (tt_store_one(e, SL_OK) || tt_markers_one(e, SL_OK)) {
    }
}

static inline void
tt_env_free(tt_env_t *e)
{
    for (int i = 0; i < e->nrec; i++) {
        free(e->rec[i].key);
        free(e->rec[i].value);
    }
    free(e);
}

typedef struct fx_s {
    sl_txn_coord_t *tc;
    tt_env_t *e;
    sl_txn_config_t cfg;
} fx_t;

static inline fx_t *
fx_new_cfg(const sl_txn_config_t *cfg, bool loaded)
{
    fx_t *f = calloc(1, sizeof(*f));
    sl_txn_store_t st = {0};
    sl_txn_markers_t mk = {0};
    sl_txn_pid_source_t ps = {0};

    f->e = calloc(1, sizeof(*f->e));
    f->e->next_pid = 1000;
    if (cfg != NULL) {
        f->cfg = *cfg;
    } else {
        sl_txn_config_defaults(&f->cfg);
    }
    st.ctx = mk.ctx = ps.ctx = f->e;
    st.append = tt_append;
    mk.write = tt_write;
    mk.txn_complete = tt_complete;
    ps.next = tt_next_pid;
    f->tc = sl_txn_coord_create(&f->cfg, &st, &mk, &ps);
    assert_non_null(f->tc);
    if (loaded) {
        sl_txn_coord_load_done(f->tc, 0);
    }
    return f;
}

static inline fx_t *
fx_new(void)
{
    return fx_new_cfg(NULL, true);
}

static inline void
fx_free(fx_t *f)
{
    sl_txn_coord_destroy(f->tc);
    tt_settle(f->e); /* late completions must be harmless */
    tt_env_free(f->e);
    free(f);
}

typedef struct tt_res_s {
    int calls;
    sl_err_t err;
    int64_t pid;
    int16_t epoch;
} tt_res_t;

static inline void
tt_cb(void *arg, sl_err_t err, int64_t pid, int16_t epoch)
{
    tt_res_t *r = arg;

    r->calls++;
    r->err = err;
    r->pid = pid;
    r->epoch = epoch;
}

static inline sl_str_t
S(const char *s)
{
    sl_str_t r = {s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

/* InitProducerId; <pid>/<epoch> -1 for none. */
static inline void
tt_init(fx_t *f, int64_t now, const char *id, int32_t timeout, int64_t pid,
        int16_t epoch, tt_res_t *r)
{
    sl_txn_init_req_t q;

    memset(r, 0, sizeof(*r));
    q.transactional_id = S(id);
    q.timeout_ms = timeout;
    q.producer_id = pid;
    q.producer_epoch = epoch;
    sl_txn_init_producer_id(f->tc, now, &q, tt_cb, r);
}

/* AddPartitions of "topic:p,topic:p". */
static inline void
tt_add(fx_t *f, int64_t now, const char *id, int64_t pid, int16_t epoch,
       const char *parts, int16_t tv, tt_res_t *r)
{
    sl_txn_tp_t tp[16];
    char buf[16][64];
    sl_txn_add_req_t q;
    int n = 0;
    const char *s = parts;

    while (s != NULL && *s != '\0' && n < 16) {
        const char *c = strchr(s, ',');
        size_t len = c != NULL ? (size_t)(c - s) : strlen(s);
        char *colon;

        memcpy(buf[n], s, len);
        buf[n][len] = '\0';
        colon = strchr(buf[n], ':');
        assert_non_null(colon);
        *colon = '\0';
        tp[n].topic = S(buf[n]);
        tp[n].partition = atoi(colon + 1);
        n++;
        s = c != NULL ? c + 1 : NULL;
    }
    memset(&q, 0, sizeof(q));
    q.transactional_id = S(id);
    q.producer_id = pid;
    q.producer_epoch = epoch;
    q.parts = tp;
    q.parts_count = n;
    q.client_tv = tv;
    memset(r, 0, sizeof(*r));
    sl_txn_add_partitions(f->tc, now, &q, tt_cb, r);
}

static inline void
tt_end(fx_t *f, int64_t now, const char *id, int64_t pid, int16_t epoch,
       bool commit, int16_t tv, tt_res_t *r)
{
    sl_txn_end_req_t q;

    q.transactional_id = S(id);
    q.producer_id = pid;
    q.producer_epoch = epoch;
    q.commit = commit;
    q.client_tv = tv;
    memset(r, 0, sizeof(*r));
    sl_txn_end(f->tc, now, &q, tt_cb, r);
}

/* Describe <id>; the result strings live in the static arena until the
 * next call. */
static inline sl_txn_desc_t
tt_describe(fx_t *f, const char *id)
{
    static sl_arena_t *a;
    sl_txn_desc_t d;

    sl_arena_destroy(a);
    a = sl_arena_create(1024, 0);
    sl_txn_describe(f->tc, S(id), a, &d);
    return d;
}

static inline sl_txn_state_e
tt_state(fx_t *f, const char *id)
{
    sl_txn_desc_t d = tt_describe(f, id);

    assert_int_equal(d.error, SL_OK);
    return d.state;
}

/* Expect <r> answered once with <err>. */
#define TT_EXPECT(r, e)                                                        \
    do {                                                                       \
        assert_int_equal((r).calls, 1);                                        \
        assert_int_equal((r).err, (e));                                        \
    } while (0)

#endif
