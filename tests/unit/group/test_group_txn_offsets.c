/* Unit tests of the pending transactional offsets (group/txn_offsets.c):
 * TxnOffsetCommit's offsets stay pending per producer, are committed to
 * the group coordinator on the transaction's commit (also into a group
 * with members, where a simple commit is refused), dropped on abort, and
 * OffsetFetch(require_stable) answers UNSTABLE_OFFSET_COMMIT for a
 * partition while one is pending. */
#include "group_test_util.h"

/* The fake store with the pending table for the has_pending_txn hook
 * (gt_append takes the gt_store_t: it is the first member). */
typedef struct fx_store_s {
    gt_store_t st;
    sl_group_txn_pending_t *p;
} fx_store_t;

typedef struct fx_s {
    sl_group_coord_t *gc;
    gt_store_t *st;
    sl_group_txn_pending_t *p;
} fx_t;

static bool
fx_has_pending(void *ctx, sl_str_t g, sl_str_t t, int32_t part)
{
    return sl_group_txn_pending_has(((fx_store_t *)ctx)->p, g, t, part);
}

static fx_t *
fx_new(void)
{
    fx_t *f = calloc(1, sizeof(*f));
    fx_store_t *fs = calloc(1, sizeof(*fs));
    sl_group_config_t cfg;
    sl_group_store_t store;

    fs->p = sl_group_txn_pending_create();
    assert_non_null(fs->p);
    f->st = &fs->st;
    f->p = fs->p;
    sl_group_config_defaults(&cfg);
    cfg.initial_rebalance_delay_ms = 0;
    memset(&store, 0, sizeof(store));
    store.ctx = fs;
    store.append = gt_append;
    store.has_pending_txn = fx_has_pending;
    f->gc = sl_group_coord_create(&cfg, &store);
    assert_non_null(f->gc);
    return f;
}

static void
fx_free(fx_t *f)
{
    sl_group_coord_destroy(f->gc);
    gt_flush(f->st, SL_OK);
    gt_store_free(f->st);
    sl_group_txn_pending_destroy(f->p);
    free(f);
}

/* ConsumerProtocolSubscription v0 naming one topic. */
static size_t
subscription(char *buf, const char *topic)
{
    size_t tl = strlen(topic), n = 0;

    buf[n++] = 0, buf[n++] = 0;                             /* version 0 */
    buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = 1; /* 1 topic */
    buf[n++] = 0, buf[n++] = (char)tl;
    memcpy(buf + n, topic, tl);
    n += tl;
    memset(buf + n, 0xff, 4); /* user_data null */
    return n + 4;
}

/* Static member <inst> joins <group> (type <ptype>, subscribed to <topic>)
 * and, when <sync>, syncs with assignment "asg-<inst>" (leader only). */
static void
member_join(fx_t *f, int64_t now, const char *group, const char *inst,
            const char *ptype, const char *topic, gt_join_t *j)
{
    char md[64];
    sl_group_protocol_t p;
    sl_group_join_req_t r;

    p.name = S("range");
    p.metadata.ptr = (const uint8_t *)md;
    p.metadata.len = (int32_t)subscription(md, topic);
    memset(&r, 0, sizeof(r));
    r.group_id = S(group);
    r.member_id = S("");
    r.group_instance_id = S(inst);
    r.protocol_type = S(ptype);
    r.protocols = &p;
    r.protocols_count = 1;
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.client_id = S(inst);
    r.client_host = S("/10.0.0.1");
    r.reason = NUL;
    memset(j, 0, sizeof(*j));
    sl_group_join(f->gc, now, &r, gt_join_cb, j);
}

/* The committed offset of <group> <topic>/<part> (-1: none); *err gets
 * the partition's error. */
static int64_t
fetch(fx_t *f, const char *group, const char *topic, int32_t part, bool stable,
      sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_group_tp_t tp = {S(topic), part};
    sl_group_offset_t *o;
    int32_t n;
    int64_t off;

    assert_int_equal(
        sl_group_offset_fetch(f->gc, S(group), &tp, 1, stable, a, &o, &n),
        SL_OK);
    assert_int_equal(n, 1);
    off = o[0].offset;
    *err = o[0].error;
    sl_arena_destroy(a);
    return off;
}

static void
add(fx_t *f, int64_t pid, const char *group, const char *topic, int32_t part,
    int64_t offset, const char *md)
{
    sl_group_commit_part_t p;

    memset(&p, 0, sizeof(p));
    p.topic = S(topic);
    p.partition = part;
    p.offset = offset;
    p.leader_epoch = 3;
    p.metadata = S(md);
    assert_int_equal(sl_group_txn_pending_add(f->p, pid, S(group), &p, 1),
                     SL_OK);
}

/* Pending offsets answer has() per group and partition, per producer. */
static void
test_pending_table(void **state)
{
    sl_group_txn_pending_t *p = sl_group_txn_pending_create();
    sl_group_commit_part_t parts[2];

    (void)state;
    memset(parts, 0, sizeof(parts));
    parts[0].topic = S("in");
    parts[0].partition = 0;
    parts[0].offset = 10;
    parts[0].metadata = NUL;
    parts[1].topic = S("in");
    parts[1].partition = 1;
    parts[1].offset = 20;
    parts[1].metadata = S("m");
    assert_int_equal(sl_group_txn_pending_add(p, 7, S("g"), parts, 2), SL_OK);
    assert_true(sl_group_txn_pending_has(p, S("g"), S("in"), 0));
    assert_true(sl_group_txn_pending_has(p, S("g"), S("in"), 1));
    assert_false(sl_group_txn_pending_has(p, S("g"), S("in"), 2));
    assert_false(sl_group_txn_pending_has(p, S("h"), S("in"), 0));
    assert_false(sl_group_txn_pending_has(p, S("g"), S("i"), 0));
    /* the same partition again replaces, it does not add */
    parts[0].offset = 11;
    assert_int_equal(sl_group_txn_pending_add(p, 7, S("g"), parts, 1), SL_OK);
    assert_int_equal(sl_group_txn_pending_count(p, 7), 2);
    assert_int_equal(sl_group_txn_pending_add(p, 8, S("h"), parts, 1), SL_OK);
    assert_int_equal(sl_group_txn_pending_count(p, 8), 1);
    assert_int_equal(sl_group_txn_pending_add(p, 8, S("h"), parts, 0), SL_OK);
    /* abort of producer 7 (no coordinator): only 7's are gone */
    sl_group_txn_complete(p, NULL, 0, 7, false);
    assert_int_equal(sl_group_txn_pending_count(p, 7), 0);
    assert_false(sl_group_txn_pending_has(p, S("g"), S("in"), 0));
    assert_true(sl_group_txn_pending_has(p, S("h"), S("in"), 0));
    sl_group_txn_pending_destroy(p); /* frees what is left */
}

/* Commit: the last offset per partition lands in the group, another
 * producer's stay pending; a second completion finds nothing; an abort
 * commits nothing. require_stable answers UNSTABLE_OFFSET_COMMIT while
 * pending. */
static void
test_commit_and_abort(void **state)
{
    fx_t *f = fx_new();
    sl_err_t err;

    (void)state;
    add(f, 5, "g", "in", 0, 41, "a");
    add(f, 5, "g", "in", 0, 42, "b");
    add(f, 5, "g", "in", 1, 7, NULL);
    add(f, 6, "g", "in", 2, 99, NULL); /* another producer's */
    assert_int_equal(fetch(f, "g", "in", 0, true, &err), -1);
    assert_int_equal(err, SL_ERR_UNSTABLE_OFFSET_COMMIT);
    assert_int_equal(fetch(f, "g", "in", 0, false, &err), -1);
    assert_int_equal(err, SL_OK);
    sl_group_txn_complete(f->p, f->gc, 1000, 5, true);
    assert_int_equal(sl_group_txn_pending_count(f->p, 5), 0);
    assert_int_equal(sl_group_txn_pending_count(f->p, 6), 1);
    /* still pending for require_stable until the commit is applied */
    assert_int_equal(fetch(f, "g", "in", 0, true, &err), -1);
    assert_int_equal(err, SL_ERR_UNSTABLE_OFFSET_COMMIT);
    /* the producer's next transaction adds anew meanwhile */
    add(f, 5, "g", "in", 0, 50, NULL);
    assert_int_equal(sl_group_txn_pending_count(f->p, 5), 1);
    assert_int_equal(gt_flush(f->st, SL_OK), 2); /* applied once durable */
    assert_int_equal(fetch(f, "g", "in", 0, false, &err), 42);
    assert_int_equal(fetch(f, "g", "in", 0, true, &err), -1);
    assert_int_equal(err, SL_ERR_UNSTABLE_OFFSET_COMMIT); /* offset 50 */
    assert_int_equal(fetch(f, "g", "in", 1, true, &err), 7);
    assert_int_equal(err, SL_OK);
    assert_int_equal(fetch(f, "g", "in", 2, true, &err), -1);
    assert_int_equal(err, SL_ERR_UNSTABLE_OFFSET_COMMIT);
    /* the next transaction aborts: offset 50 is dropped */
    sl_group_txn_complete(f->p, f->gc, 1001, 5, false);
    assert_int_equal(fetch(f, "g", "in", 0, true, &err), 42);
    assert_int_equal(err, SL_OK);
    /* a second completion (a restart in PrepareCommit) finds nothing */
    sl_group_txn_complete(f->p, f->gc, 1001, 5, true);
    assert_int_equal(gt_flush(f->st, SL_OK), 0);
    /* abort of 6: nothing committed, nothing pending */
    sl_group_txn_complete(f->p, f->gc, 1002, 6, false);
    assert_int_equal(gt_flush(f->st, SL_OK), 0);
    assert_int_equal(fetch(f, "g", "in", 2, true, &err), -1);
    assert_int_equal(err, SL_OK);
    fx_free(f);
}

/* A group with a member: a simple commit is refused, the transaction's
 * offsets are committed anyway (the member's generation was checked when
 * the offsets were sent). */
static void
test_commit_into_group_with_members(void **state)
{
    fx_t *f = fx_new();
    gt_join_t j;
    gt_commit_t c;
    sl_group_commit_part_t p;
    sl_group_commit_req_t r;
    sl_err_t err;

    (void)state;
    member_join(f, 0, "g", "i1", "consumer", "in", &j);
    gt_flush(f->st, SL_OK);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, SL_OK);
    memset(&p, 0, sizeof(p));
    p.topic = S("in");
    p.offset = 3;
    p.leader_epoch = -1;
    p.metadata = NUL;
    memset(&r, 0, sizeof(r));
    r.group_id = S("g");
    r.member_id = S("");
    r.group_instance_id = NUL;
    r.generation_id = -1;
    r.retention_ms = -1;
    r.parts = &p;
    r.parts_count = 1;
    memset(&c, 0, sizeof(c));
    sl_group_offset_commit(f->gc, 1, &r, gt_commit_cb, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.errors[0], SL_ERR_UNKNOWN_MEMBER_ID);
    add(f, 11, "g", "in", 0, 77, NULL);
    sl_group_txn_complete(f->p, f->gc, 2, 11, true);
    assert_true(sl_group_txn_pending_has(f->p, S("g"), S("in"), 0));
    assert_int_equal(gt_flush(f->st, SL_OK), 1);
    assert_false(sl_group_txn_pending_has(f->p, S("g"), S("in"), 0));
    assert_int_equal(fetch(f, "g", "in", 0, true, &err), 77);
    assert_int_equal(err, SL_OK);
    fx_free(f);
}

/* TxnOffsetCommit v3+ member checks. */
static void
test_validate(void **state)
{
    fx_t *f = fx_new();
    gt_join_t j;

    (void)state;
    assert_int_equal(
        sl_group_txn_offset_validate(f->gc, 0, S("none"), S(""), NUL, -1),
        SL_OK);
    assert_int_equal(
        sl_group_txn_offset_validate(f->gc, 0, S("none"), S("m"), NUL, 3),
        SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(
        sl_group_txn_offset_validate(f->gc, 0, S(""), S(""), NUL, -1),
        SL_ERR_INVALID_GROUP_ID);
    member_join(f, 0, "g", "i1", "consumer", "in", &j);
    gt_flush(f->st, SL_OK);
    assert_int_equal(j.err, SL_OK);
    assert_int_equal(sl_group_txn_offset_validate(f->gc, 1, S("g"), S(j.member),
                                                  S("i1"), j.gen),
                     SL_OK);
    assert_int_equal(sl_group_txn_offset_validate(f->gc, 1, S("g"), S(j.member),
                                                  S("i1"), j.gen + 1),
                     SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(sl_group_txn_offset_validate(f->gc, 1, S("g"),
                                                  S("stranger"), NUL, j.gen),
                     SL_ERR_UNKNOWN_MEMBER_ID);
    /* no member information: fine, also with members */
    assert_int_equal(
        sl_group_txn_offset_validate(f->gc, 1, S("g"), S(""), NUL, -1), SL_OK);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_table),
        cmocka_unit_test(test_commit_and_abort),
        cmocka_unit_test(test_commit_into_group_with_members),
        cmocka_unit_test(test_validate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
