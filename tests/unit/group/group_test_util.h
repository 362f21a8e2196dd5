/* Shared helpers of the group coordinator tests: a fake store that keeps
 * every record and completes appends only when told, and result captures
 * for JoinGroup, SyncGroup and OffsetCommit. */
#ifndef SL_TEST_GROUP_UTIL_H
#define SL_TEST_GROUP_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "group/group.h"

#define GT_MAX_RECORDS 4096

typedef struct gt_record_s {
    int32_t partition;
    uint8_t *key;
    size_t key_len;
    uint8_t *value; /* NULL: tombstone */
    size_t value_len;
} gt_record_t;

typedef struct gt_pending_s {
    sl_group_append_done_cb done;
    void *arg;
} gt_pending_t;

typedef struct gt_store_s {
    gt_record_t rec[GT_MAX_RECORDS];
    int n;
    gt_pending_t pend[GT_MAX_RECORDS];
    int npend;
    bool pending_txn; /* answer of has_pending_txn */
} gt_store_t;

static inline void
gt_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
          const uint8_t *value, size_t value_len, sl_group_append_done_cb done,
          void *done_arg)
{
    gt_store_t *s = ctx;
    gt_record_t *r;

    assert_true(s->n < GT_MAX_RECORDS);
    r = &s->rec[s->n++];
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
    s->pend[s->npend].done = done;
    s->pend[s->npend].arg = done_arg;
    s->npend++;
}

static inline bool
gt_has_pending_txn(void *ctx, sl_str_t g, sl_str_t t, int32_t p)
{
    (void)g;
    (void)t;
    (void)p;
    return ((gt_store_t *)ctx)->pending_txn;
}

/* Complete every pending append with <err>; returns how many. */
static inline int
gt_flush(gt_store_t *s, sl_err_t err)
{
    int n = 0;

    while (s->npend > 0) {
        gt_pending_t p = s->pend[0];

        memmove(&s->pend[0], &s->pend[1], (size_t)(s->npend - 1) * sizeof(p));
        s->npend--;
        p.done(p.arg, err);
        n++;
    }
    return n;
}

static inline void
gt_store_free(gt_store_t *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->rec[i].key);
        free(s->rec[i].value);
    }
    free(s);
}

static inline sl_str_t
S(const char *s)
{
    sl_str_t r = {s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

static inline sl_bytes_t
B(const char *s)
{
    sl_bytes_t r = {(const uint8_t *)s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

static const sl_str_t NUL = {NULL, -1};

static inline bool
str_is(sl_str_t s, const char *want)
{
    return s.len == (int32_t)strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

typedef struct gt_join_s {
    int calls;
    sl_err_t err;
    int32_t gen;
    char member[256];
    char leader[256];
    char protocol[64];
    bool skip;
    int nmembers;
    char members[8][256];
    char metas[8][64];
} gt_join_t;

static inline void
gt_copy(char *dst, size_t cap, sl_str_t s)
{
    size_t n = s.len < 0 ? 0 : (size_t)s.len;

    n = n >= cap ? cap - 1 : n;
    if (n > 0) {
        memcpy(dst, s.ptr, n);
    }
    dst[n] = '\0';
}

static inline void
gt_join_cb(void *arg, const sl_group_join_result_t *r)
{
    gt_join_t *j = arg;

    j->calls++;
    j->err = r->error;
    j->gen = r->generation_id;
    gt_copy(j->member, sizeof(j->member), r->member_id);
    gt_copy(j->leader, sizeof(j->leader), r->leader);
    gt_copy(j->protocol, sizeof(j->protocol), r->protocol_name);
    j->skip = r->skip_assignment;
    j->nmembers = r->members_count;
    for (int i = 0; i < r->members_count && i < 8; i++) {
        sl_str_t md = {(const char *)r->members[i].metadata.ptr,
                       r->members[i].metadata.len};

        gt_copy(j->members[i], sizeof(j->members[i]), r->members[i].member_id);
        gt_copy(j->metas[i], sizeof(j->metas[i]), md);
    }
}

typedef struct gt_sync_s {
    int calls;
    sl_err_t err;
    char assignment[256];
} gt_sync_t;

static inline void
gt_sync_cb(void *arg, const sl_group_sync_result_t *r)
{
    gt_sync_t *s = arg;
    sl_str_t a = {(const char *)r->assignment.ptr, r->assignment.len};

    s->calls++;
    s->err = r->error;
    gt_copy(s->assignment, sizeof(s->assignment), a);
}

typedef struct gt_commit_s {
    int calls;
    int count;
    sl_err_t errors[16];
} gt_commit_t;

static inline void
gt_commit_cb(void *arg, const sl_err_t *errors, int32_t count)
{
    gt_commit_t *c = arg;

    c->calls++;
    c->count = count;
    for (int i = 0; i < count && i < 16; i++) {
        c->errors[i] = errors[i];
    }
}

#endif
