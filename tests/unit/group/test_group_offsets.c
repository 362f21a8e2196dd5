/* Unit tests of the group coordinator's offsets and records
 * (group/offsets.c, group/records.c): the __consumer_offsets partition
 * hash, OffsetCommit member/generation rules, simple commits, OffsetFetch
 * (require_stable hook), OffsetDelete, retention, the record formats, and
 * rebuilding groups and offsets from the records (also from hostile
 * bytes). */
#include "group_test_util.h"

typedef struct fx_s {
    sl_group_coord_t *gc;
    gt_store_t *st;
    sl_group_config_t cfg;
} fx_t;

static fx_t *
fx_new(int64_t retention_ms)
{
    fx_t *f = calloc(1, sizeof(*f));
    sl_group_store_t store;

    f->st = calloc(1, sizeof(*f->st));
    sl_group_config_defaults(&f->cfg);
    f->cfg.initial_rebalance_delay_ms = 0;
    if (retention_ms > 0) {
        f->cfg.offsets_retention_ms = retention_ms;
        f->cfg.retention_check_ms = 5000;
    }
    memset(&store, 0, sizeof(store));
    store.ctx = f->st;
    store.append = gt_append;
    store.has_pending_txn = gt_has_pending_txn;
    f->gc = sl_group_coord_create(&f->cfg, &store);
    assert_non_null(f->gc);
    return f;
}

static void
fx_free(fx_t *f)
{
    sl_group_coord_destroy(f->gc);
    gt_flush(f->st, SL_OK);
    gt_store_free(f->st);
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

static void
leader_sync(fx_t *f, int64_t now, const char *group, const gt_join_t *j,
            const char *inst)
{
    sl_group_assignment_t as[8];
    sl_group_sync_req_t r;
    gt_sync_t s;
    char asg[8][64];

    for (int i = 0; i < j->nmembers; i++) {
        snprintf(asg[i], sizeof(asg[i]), "asg-%d", i);
        as[i].member_id = S(j->members[i]);
        as[i].assignment = B(asg[i]);
    }
    memset(&r, 0, sizeof(r));
    r.group_id = S(group);
    r.member_id = S(j->member);
    r.group_instance_id = S(inst);
    r.protocol_type = NUL;
    r.protocol_name = S("range");
    r.generation_id = j->gen;
    r.assignments = as;
    r.assignments_count = j->nmembers;
    memset(&s, 0, sizeof(s));
    sl_group_sync(f->gc, now, &r, gt_sync_cb, &s);
    gt_flush(f->st, SL_OK);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.err, SL_OK);
}

static void
commit(fx_t *f, int64_t now, const char *group, const char *member,
       const char *inst, int32_t gen, const char *topic, int32_t part,
       int64_t offset, const char *md, int64_t retention, gt_commit_t *out)
{
    sl_group_commit_part_t p;
    sl_group_commit_req_t r;

    p.topic = S(topic);
    p.partition = part;
    p.offset = offset;
    p.leader_epoch = 7;
    p.metadata = S(md);
    memset(&r, 0, sizeof(r));
    r.group_id = S(group);
    r.member_id = S(member);
    r.group_instance_id = S(inst);
    r.generation_id = gen;
    r.retention_ms = retention;
    r.parts = &p;
    r.parts_count = 1;
    memset(out, 0, sizeof(*out));
    sl_group_offset_commit(f->gc, now, &r, gt_commit_cb, out);
}

/* Committed offset of <topic>/<part> (-1 if none); *err gets the error. */
static int64_t
fetched(fx_t *f, const char *group, const char *topic, int32_t part,
        bool stable, sl_err_t *err)
{
    sl_arena_t *a = sl_arena_create(1024, 0);
    sl_group_tp_t tp = {S(topic), part};
    sl_group_offset_t *o;
    int32_t n;
    int64_t off;

    assert_int_equal(
        sl_group_offset_fetch(f->gc, S(group), &tp, 1, stable, a, &o, &n),
        SL_OK);
    assert_int_equal(n, 1);
    assert_true(str_is(o[0].topic, topic));
    off = o[0].offset;
    if (err != NULL) {
        *err = o[0].error;
    }
    sl_arena_destroy(a);
    return off;
}

static void
test_partition_for(void **state)
{
    (void)state;
    /* Expected values: Java's String.hashCode() over UTF-16 units. */
    assert_int_equal(sl_group_java_hash(S("")), 0);
    assert_int_equal(sl_group_java_hash(S("a")), 97);
    assert_int_equal(sl_group_java_hash(S("abc")), 96354);
    assert_int_equal(sl_group_java_hash(S("my-group")), -1906497762);
    assert_int_equal(sl_group_java_hash(S("café")), 3045921);
    assert_int_equal(sl_group_java_hash(S("\xf0\x9f\x98\x80x")), 54959989);
    assert_int_equal(sl_group_partition_for(S("a"), 50), 47);
    assert_int_equal(sl_group_partition_for(S("abc"), 50), 4);
    assert_int_equal(sl_group_partition_for(S("my-group"), 50), 12);
    assert_int_equal(sl_group_partition_for(S("console-consumer-12345"), 50),
                     6);
    /* hashCode == INT_MIN: Kafka's abs() gives 0. */
    assert_int_equal(sl_group_java_hash(S("polygenelubricants")), INT32_MIN);
    assert_int_equal(sl_group_partition_for(S("polygenelubricants"), 50), 0);
    assert_int_equal(sl_group_partition_for(S("a"), 0), 0);
    /* Malformed UTF-8 does not read past the end. */
    assert_int_equal(sl_group_partition_for(S("\xf0\x9f"), 50) >= 0, 1);
}

static void
test_commit_member_rules(void **state)
{
    fx_t *f = fx_new(0);
    gt_join_t j;
    gt_commit_t c;
    sl_group_commit_part_t p[2];
    sl_group_commit_req_t r;
    char big[5000];

    (void)state;
    member_join(f, 0, "g", "i1", "consumer", "t", &j);
    assert_int_equal(j.err, SL_OK);
    assert_int_equal(j.gen, 1);
    /* CompletingRebalance: a member's commit must wait for the sync. */
    commit(f, 1, "g", j.member, "i1", 1, "t", 0, 10, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_REBALANCE_IN_PROGRESS);
    leader_sync(f, 2, "g", &j, "i1");
    commit(f, 3, "g", j.member, "i1", 1, "t", 0, 10, "m", -1, &c);
    assert_int_equal(c.calls, 0); /* acknowledged only once stored */
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), -1);
    assert_int_equal(gt_flush(f->st, SL_OK), 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.errors[0], SL_OK);
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), 10);
    commit(f, 4, "g", j.member, "i1", 0, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_ILLEGAL_GENERATION);
    commit(f, 4, "g", "nobody", NULL, 1, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_UNKNOWN_MEMBER_ID);
    commit(f, 4, "g", "nobody", "i1", 1, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_FENCED_INSTANCE_ID);
    commit(f, 4, "g", j.member, "i9", 1, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_UNKNOWN_MEMBER_ID);
    /* Generation -1 commits to an Empty group pass, even with a member
     * id (Kafka checks the generation first). */
    commit(f, 4, "e", "someone", NULL, -1, "t", 0, 1, "", -1, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(c.errors[0], SL_OK);
    assert_int_equal(fetched(f, "e", "t", 0, false, NULL), 1);
    /* A simple commit to a group with members. */
    commit(f, 4, "g", "", NULL, -1, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_UNKNOWN_MEMBER_ID);
    /* A member commit to a group that does not exist. */
    commit(f, 4, "nogroup", "m", NULL, 3, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_ILLEGAL_GENERATION);
    commit(f, 4, "", "", NULL, -1, "t", 0, 11, "m", -1, &c);
    assert_int_equal(c.errors[0], SL_ERR_INVALID_GROUP_ID);
    assert_int_equal(f->st->npend, 0);
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), 10);
    /* Too much metadata fails that partition only. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    p[0].topic = S("t");
    p[0].partition = 1;
    p[0].offset = 5;
    p[0].leader_epoch = -1;
    p[0].metadata = S(big);
    p[1] = p[0];
    p[1].partition = 2;
    p[1].metadata = NUL;
    memset(&r, 0, sizeof(r));
    r.group_id = S("g");
    r.member_id = S(j.member);
    r.group_instance_id = S("i1");
    r.generation_id = 1;
    r.retention_ms = -1;
    r.parts = p;
    r.parts_count = 2;
    memset(&c, 0, sizeof(c));
    sl_group_offset_commit(f->gc, 5, &r, gt_commit_cb, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.errors[0], SL_ERR_OFFSET_METADATA_TOO_LARGE);
    assert_int_equal(c.errors[1], SL_OK);
    assert_int_equal(fetched(f, "g", "t", 1, false, NULL), -1);
    assert_int_equal(fetched(f, "g", "t", 2, false, NULL), 5);
    fx_free(f);
}

static void
test_simple_commit_and_fetch(void **state)
{
    fx_t *f = fx_new(0);
    sl_arena_t *a = sl_arena_create(1024, 0);
    sl_group_offset_t *o;
    gt_commit_t c;
    sl_err_t err;
    int32_t n;

    (void)state;
    commit(f, 0, "s", "", NULL, -1, "t", 0, 100, "meta", -1, &c);
    commit(f, 0, "s", "", NULL, -1, "u", 3, 300, NULL, -1, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(c.errors[0], SL_OK);
    assert_int_equal(fetched(f, "s", "t", 0, false, &err), 100);
    assert_int_equal(err, SL_OK);
    assert_int_equal(fetched(f, "s", "t", 1, false, NULL), -1);
    assert_int_equal(fetched(f, "nogroup", "t", 0, false, NULL), -1);
    /* Every committed partition. */
    assert_int_equal(
        sl_group_offset_fetch(f->gc, S("s"), NULL, 0, false, a, &o, &n), SL_OK);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) {
        if (str_is(o[i].topic, "t")) {
            assert_int_equal(o[i].offset, 100);
            assert_int_equal(o[i].leader_epoch, 7);
            assert_true(str_is(o[i].metadata, "meta"));
        } else {
            assert_true(str_is(o[i].topic, "u"));
            assert_int_equal(o[i].partition, 3);
            assert_true(str_is(o[i].metadata, ""));
        }
    }
    assert_int_equal(
        sl_group_offset_fetch(f->gc, S("zz"), NULL, 0, false, a, &o, &n),
        SL_OK);
    assert_int_equal(n, 0);
    /* require_stable with pending transactional offsets. */
    f->st->pending_txn = true;
    assert_int_equal(fetched(f, "s", "t", 0, true, &err), -1);
    assert_int_equal(err, SL_ERR_UNSTABLE_OFFSET_COMMIT);
    assert_int_equal(fetched(f, "s", "t", 0, false, &err), 100);
    f->st->pending_txn = false;
    /* A failed append: the old offset stays. */
    commit(f, 1, "s", "", NULL, -1, "t", 0, 101, "meta", -1, &c);
    gt_flush(f->st, SL_ERR__IO);
    assert_int_equal(c.errors[0], SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(fetched(f, "s", "t", 0, false, NULL), 100);
    /* The group exists as Empty. */
    {
        sl_group_desc_t d;

        assert_int_equal(sl_group_describe(f->gc, S("s"), a, &d), SL_OK);
        assert_int_equal(d.state, SL_GROUP_STATE_EMPTY);
    }
    sl_arena_destroy(a);
    fx_free(f);
}

/* Regression: a simple commit creates its group; the group must not be
 * expired as "empty since time zero" by a tick before the commit is
 * stored (the offset was lost). */
static void
test_simple_commit_survives_tick(void **state)
{
    fx_t *f = fx_new(0);
    gt_commit_t c;

    (void)state;
    commit(f, 10000000, "late", "", NULL, -1, "t", 0, 42, NULL, -1, &c);
    sl_group_coord_tick(f->gc, 10000050);
    gt_flush(f->st, SL_OK);
    assert_int_equal(c.errors[0], SL_OK);
    assert_int_equal(fetched(f, "late", "t", 0, false, NULL), 42);
    fx_free(f);
}

static void
test_offset_retention(void **state)
{
    fx_t *f = fx_new(1000);
    sl_group_leave_member_t lm;
    gt_commit_t c;
    gt_join_t j;
    sl_err_t e;
    int before;

    (void)state;
    /* Simple group: retention counts from each commit. */
    commit(f, 0, "s", "", NULL, -1, "t", 0, 1, "", -1, &c);
    commit(f, 500, "s", "", NULL, -1, "t", 1, 2, "", -1, &c);
    commit(f, 500, "s", "", NULL, -1, "t", 2, 3, "", 100, &c); /* v2-v4 */
    gt_flush(f->st, SL_OK);
    sl_group_coord_tick(f->gc, 599);
    assert_int_equal(fetched(f, "s", "t", 2, false, NULL), 3);
    sl_group_coord_tick(f->gc, 600);
    assert_int_equal(fetched(f, "s", "t", 2, false, NULL), -1);
    sl_group_coord_tick(f->gc, 999);
    assert_int_equal(fetched(f, "s", "t", 0, false, NULL), 1);
    before = f->st->n;
    sl_group_coord_tick(f->gc, 1000);
    assert_int_equal(fetched(f, "s", "t", 0, false, NULL), -1);
    assert_int_equal(fetched(f, "s", "t", 1, false, NULL), 2);
    assert_int_equal(f->st->n, before + 1);
    assert_null(f->st->rec[before].value); /* a tombstone */
    assert_int_equal(sl_group_coord_next_deadline(f->gc), 1500);
    sl_group_coord_tick(f->gc, 1500);
    assert_int_equal(fetched(f, "s", "t", 1, false, NULL), -1);
    /* Nothing left: the group goes after the check interval. */
    {
        sl_arena_t *a = sl_arena_create(1024, 0);
        sl_group_desc_t d;

        assert_int_equal(sl_group_describe(f->gc, S("s"), a, &d), SL_OK);
        sl_group_coord_tick(f->gc, 5000);
        assert_int_equal(sl_group_describe(f->gc, S("s"), a, &d),
                         SL_ERR_GROUP_ID_NOT_FOUND);
        sl_arena_destroy(a);
    }

    /* Consumer group: retention counts from when it became Empty. */
    member_join(f, 10000, "g", "i1", "consumer", "t", &j);
    leader_sync(f, 10000, "g", &j, "i1");
    commit(f, 10000, "g", j.member, "i1", 1, "t", 0, 42, "", -1, &c);
    commit(f, 10000, "g", j.member, "i1", 1, "u", 0, 43, "", -1, &c);
    gt_flush(f->st, SL_OK);
    /* Stable: offsets of topics nobody subscribes to expire by commit
     * time; subscribed ones stay. */
    sl_group_coord_tick(f->gc, 10999);
    assert_int_equal(fetched(f, "g", "u", 0, false, NULL), 43);
    sl_group_coord_tick(f->gc, 11000);
    assert_int_equal(fetched(f, "g", "u", 0, false, NULL), -1);
    assert_int_equal(
        sl_group_heartbeat(f->gc, 19000, S("g"), S(j.member), S("i1"), 1),
        SL_OK);
    sl_group_coord_tick(f->gc, 19000); /* subscribed: no expiry */
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), 42);
    lm.member_id = S(j.member);
    lm.group_instance_id = S("i1");
    assert_int_equal(sl_group_leave(f->gc, 20000, S("g"), &lm, 1, &e), SL_OK);
    sl_group_coord_tick(f->gc, 20999);
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), 42);
    sl_group_coord_tick(f->gc, 21000);
    assert_int_equal(fetched(f, "g", "t", 0, false, NULL), -1);
    fx_free(f);
}

/* The group_in_use hook: offsets held for a consumer-protocol group with
 * members (no classic protocol type here) do not expire; once the group has
 * no members they expire by their commit time. */
static bool in_use_flag;

static bool
in_use(void *ctx, sl_str_t group_id)
{
    (void)ctx;
    return in_use_flag && str_is(group_id, "cg");
}

static void
test_offset_retention_in_use(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    sl_group_store_t store;
    gt_commit_t c;

    (void)state;
    f->st = calloc(1, sizeof(*f->st));
    sl_group_config_defaults(&f->cfg);
    f->cfg.offsets_retention_ms = 1000;
    f->cfg.retention_check_ms = 5000;
    memset(&store, 0, sizeof(store));
    store.ctx = f->st;
    store.append = gt_append;
    store.group_in_use = in_use;
    f->gc = sl_group_coord_create(&f->cfg, &store);
    in_use_flag = true;
    commit(f, 0, "cg", "", NULL, -1, "t", 0, 5, "", -1, &c);
    commit(f, 0, "other", "", NULL, -1, "t", 0, 6, "", -1, &c);
    gt_flush(f->st, SL_OK);
    sl_group_coord_tick(f->gc, 2000);
    assert_int_equal(fetched(f, "cg", "t", 0, false, NULL), 5);
    assert_int_equal(fetched(f, "other", "t", 0, false, NULL), -1);
    in_use_flag = false;
    sl_group_coord_tick(f->gc, 2001);
    assert_int_equal(fetched(f, "cg", "t", 0, false, NULL), -1);
    fx_free(f);
}

static void
test_offset_delete(void **state)
{
    fx_t *f = fx_new(0);
    sl_group_tp_t tps[2] = {{{"t1", 2}, 0}, {{"t2", 2}, 0}};
    sl_err_t errs[2];
    gt_commit_t c;
    gt_join_t j, k;

    (void)state;
    member_join(f, 0, "g", "i1", "consumer", "t1", &j);
    leader_sync(f, 0, "g", &j, "i1");
    commit(f, 1, "g", j.member, "i1", 1, "t1", 0, 1, "", -1, &c);
    commit(f, 1, "g", j.member, "i1", 1, "t2", 0, 2, "", -1, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(sl_group_offset_delete(f->gc, 2, S("g"), tps, 2, errs),
                     SL_OK);
    assert_int_equal(errs[0], SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    assert_int_equal(errs[1], SL_OK);
    assert_int_equal(fetched(f, "g", "t1", 0, false, NULL), 1);
    assert_int_equal(fetched(f, "g", "t2", 0, false, NULL), -1);
    assert_null(f->st->rec[f->st->n - 1].value);
    assert_int_equal(sl_group_offset_delete(f->gc, 2, S("zz"), tps, 2, errs),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    /* Unparsable subscriptions of a consumer group count as subscribed. */
    {
        sl_group_protocol_t p = {{"range", 5}, {(const uint8_t *)"\x00", 1}};
        sl_group_join_req_t r;
        gt_join_t b;

        memset(&r, 0, sizeof(r));
        r.group_id = S("bad");
        r.member_id = S("");
        r.group_instance_id = S("i1");
        r.protocol_type = S("consumer");
        r.protocols = &p;
        r.protocols_count = 1;
        r.session_timeout_ms = 10000;
        r.rebalance_timeout_ms = 10000;
        memset(&b, 0, sizeof(b));
        sl_group_join(f->gc, 0, &r, gt_join_cb, &b);
        assert_int_equal(b.err, SL_OK);
        assert_int_equal(
            sl_group_offset_delete(f->gc, 2, S("bad"), tps, 2, errs), SL_OK);
        assert_int_equal(errs[0], SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
        assert_int_equal(errs[1], SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC);
    }
    /* A non-consumer group with members. */
    member_join(f, 0, "k", "i1", "connect", "t1", &k);
    assert_int_equal(sl_group_offset_delete(f->gc, 2, S("k"), tps, 2, errs),
                     SL_ERR_NON_EMPTY_GROUP);
    /* An Empty group: anything goes. */
    commit(f, 3, "s", "", NULL, -1, "t1", 0, 9, "", -1, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(sl_group_offset_delete(f->gc, 4, S("s"), tps, 1, errs),
                     SL_OK);
    assert_int_equal(errs[0], SL_OK);
    assert_int_equal(fetched(f, "s", "t1", 0, false, NULL), -1);
    fx_free(f);
}

static void
load_all(sl_group_coord_t *gc, const gt_store_t *st, int64_t now)
{
    for (int i = 0; i < st->n; i++) {
        assert_int_equal(
            sl_group_coord_load(gc, now, st->rec[i].key, st->rec[i].key_len,
                                st->rec[i].value, st->rec[i].value_len),
            SL_OK);
    }
}

static void
test_records_and_reload(void **state)
{
    fx_t *f = fx_new(0);
    sl_group_coord_t *g2;
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_group_desc_t d1, d2;
    gt_join_t j1, j2, jd, jr;
    gt_commit_t c;
    sl_group_offset_t *o;
    int32_t n;
    bool saw_group = false, saw_v1 = false, saw_v3 = false;

    (void)state;
    f->cfg.initial_rebalance_delay_ms = 0;
    member_join(f, 0, "g", "i1", "consumer", "t", &j1);
    member_join(f, 0, "g", "i2", "consumer", "t", &j2);
    member_join(f, 0, "g", "i1", "consumer", "t", &j1); /* rejoin: i1 new id */
    assert_int_equal(j1.err, SL_OK);
    assert_int_equal(j2.err, SL_OK);
    assert_int_equal(j1.nmembers + j2.nmembers, 2);
    {
        gt_join_t *ld = j1.nmembers > 0 ? &j1 : &j2;

        leader_sync(f, 5, "g", ld, ld == &j1 ? "i1" : "i2");
    }
    commit(f, 6, "g", j1.member, "i1", j1.gen, "t", 0, 77, "m0", -1, &c);
    commit(f, 6, "g", j1.member, "i1", j1.gen, "t", 1, 78, "m1", 60000, &c);
    commit(f, 6, "s", "", NULL, -1, "u", 0, 5, "", -1, &c);
    member_join(f, 7, "d", "x", "consumer", "t", &jd);
    commit(f, 7, "d2", "", NULL, -1, "u", 0, 5, "", -1, &c);
    gt_flush(f->st, SL_OK);
    assert_int_equal(sl_group_delete(f->gc, 8, S("d2")), SL_OK);
    gt_flush(f->st, SL_OK);
    /* Kafka's framing: key type 2 + value v3 for groups, key type 1 +
     * value v3 (v1 with an expire timestamp) for offsets. */
    for (int i = 0; i < f->st->n; i++) {
        const gt_record_t *r = &f->st->rec[i];

        assert_int_equal(r->key[0], 0);
        assert_true(r->key[1] == 1 || r->key[1] == 2);
        assert_int_equal(r->partition,
                         sl_group_partition_for(
                             (sl_str_t){(const char *)r->key + 4,
                                        (int32_t)(r->key[2] << 8 | r->key[3])},
                             50));
        if (r->value == NULL) {
            continue;
        }
        saw_group |= r->key[1] == 2 && r->value[1] == 3;
        saw_v1 |= r->key[1] == 1 && r->value[1] == 1;
        saw_v3 |= r->key[1] == 1 && r->value[1] == 3;
    }
    assert_true(saw_group && saw_v1 && saw_v3);

    g2 = sl_group_coord_create(&f->cfg, NULL);
    load_all(g2, f->st, 100);
    assert_int_equal(sl_group_describe(f->gc, S("g"), a, &d1), SL_OK);
    assert_int_equal(sl_group_describe(g2, S("g"), a, &d2), SL_OK);
    assert_int_equal(d2.state, SL_GROUP_STATE_STABLE);
    assert_true(sl_str_eq(d1.protocol_type, d2.protocol_type));
    assert_true(sl_str_eq(d1.protocol_name, d2.protocol_name));
    assert_int_equal(d1.members_count, 2);
    assert_int_equal(d2.members_count, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(
            sl_str_eq(d1.members[i].member_id, d2.members[i].member_id));
        assert_true(sl_str_eq(d1.members[i].group_instance_id,
                              d2.members[i].group_instance_id));
        assert_true(
            sl_str_eq(d1.members[i].client_id, d2.members[i].client_id));
        assert_true(
            sl_str_eq(d1.members[i].client_host, d2.members[i].client_host));
        assert_true(
            sl_bytes_eq(d1.members[i].metadata, d2.members[i].metadata));
        assert_true(
            sl_bytes_eq(d1.members[i].assignment, d2.members[i].assignment));
    }
    /* "d" never got past CompletingRebalance: Kafka writes a group only
     * once its leader's assignment is stored, so nothing was recorded. */
    assert_int_equal(sl_group_describe(g2, S("d"), a, &d2),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(sl_group_describe(g2, S("d2"), a, &d2),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    /* Generation and membership survive: heartbeats and fencing work. */
    assert_int_equal(
        sl_group_heartbeat(g2, 101, S("g"), S(j1.member), S("i1"), j1.gen),
        SL_OK);
    assert_int_equal(
        sl_group_heartbeat(g2, 101, S("g"), S(j1.member), S("i1"), j1.gen - 1),
        SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(
        sl_group_heartbeat(g2, 101, S("g"), S("old"), S("i2"), j1.gen),
        SL_ERR_FENCED_INSTANCE_ID);
    /* Offsets. */
    assert_int_equal(
        sl_group_offset_fetch(g2, S("g"), NULL, 0, false, a, &o, &n), SL_OK);
    assert_int_equal(n, 2);
    for (int i = 0; i < n; i++) {
        assert_int_equal(o[i].offset, o[i].partition == 0 ? 77 : 78);
        assert_int_equal(o[i].leader_epoch, o[i].partition == 0 ? 7 : -1);
        assert_true(str_is(o[i].metadata, o[i].partition == 0 ? "m0" : "m1"));
    }
    assert_int_equal(
        sl_group_offset_fetch(g2, S("s"), NULL, 0, false, a, &o, &n), SL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].offset, 5);
    /* A static member restarting after the reload gets the same generation
     * and its assignment back, without a rebalance. */
    {
        fx_t f2 = {g2, NULL, f->cfg};
        gt_sync_t s;
        sl_group_sync_req_t sr;

        member_join(&f2, 200, "g", "i2", "consumer", "t", &jr);
        assert_int_equal(jr.calls, 1);
        assert_int_equal(jr.err, SL_OK);
        assert_int_equal(jr.gen, j1.gen);
        memset(&sr, 0, sizeof(sr));
        sr.group_id = S("g");
        sr.member_id = S(jr.member);
        sr.group_instance_id = S("i2");
        sr.protocol_type = sr.protocol_name = NUL;
        sr.generation_id = jr.gen;
        memset(&s, 0, sizeof(s));
        sl_group_sync(g2, 201, &sr, gt_sync_cb, &s);
        assert_int_equal(s.calls, 1);
        assert_int_equal(s.err, SL_OK);
        assert_true(strncmp(s.assignment, "asg-", 4) == 0);
    }
    sl_group_coord_destroy(g2);
    sl_arena_destroy(a);
    fx_free(f);
}

static void
test_load_hostile(void **state)
{
    sl_group_coord_t *gc = sl_group_coord_create(NULL, NULL);
    fx_t *f = fx_new(0);
    uint8_t buf[512];
    uint64_t x = 0x1234567;
    gt_join_t j;
    gt_commit_t c;

    (void)state;
    assert_int_equal(
        sl_group_coord_load(gc, 0, (const uint8_t *)"\x00", 1, NULL, 0),
        SL_ERR__CORRUPT);
    assert_int_equal(
        sl_group_coord_load(gc, 0, (const uint8_t *)"\x00\x03", 2, NULL, 0),
        SL_ERR__UNSUPPORTED);
    assert_int_equal(
        sl_group_coord_load(gc, 0, (const uint8_t *)"\x00\x63", 2, NULL, 0),
        SL_ERR__CORRUPT);
    assert_int_equal(
        sl_group_coord_load(gc, 0, (const uint8_t *)"\xff\xff", 2, NULL, 0),
        SL_ERR__CORRUPT);
    /* Every truncation of real records is refused or applied, never a
     * crash; then random bytes behind valid record types. */
    member_join(f, 0, "g", "i1", "consumer", "t", &j);
    leader_sync(f, 0, "g", &j, "i1");
    commit(f, 1, "g", j.member, "i1", 1, "t", 0, 1, "md", -1, &c);
    gt_flush(f->st, SL_OK);
    for (int i = 0; i < f->st->n; i++) {
        const gt_record_t *r = &f->st->rec[i];

        for (size_t k = 0; k <= r->key_len; k++) {
            sl_err_t e =
                sl_group_coord_load(gc, 0, r->key, k, r->value, r->value_len);
            assert_true(e == SL_OK || e == SL_ERR__CORRUPT);
        }
        for (size_t v = 0; r->value != NULL && v < r->value_len; v++) {
            assert_int_equal(
                sl_group_coord_load(gc, 0, r->key, r->key_len, r->value, v),
                SL_ERR__CORRUPT);
        }
    }
    for (int round = 0; round < 3000; round++) {
        size_t kl = 2 + (size_t)(x % 40), vl = (size_t)((x >> 8) % 200);

        for (size_t i = 0; i < sizeof(buf); i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        buf[0] = 0;
        buf[1] = (uint8_t)(round % 3);
        buf[256] = 0;
        buf[257] = (uint8_t)(round % 5);
        (void)sl_group_coord_load(gc, 0, buf, kl, buf + 256, vl);
    }
    sl_group_coord_tick(gc, 1);
    sl_group_coord_destroy(gc);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_for),
        cmocka_unit_test(test_commit_member_rules),
        cmocka_unit_test(test_simple_commit_and_fetch),
        cmocka_unit_test(test_simple_commit_survives_tick),
        cmocka_unit_test(test_offset_retention),
        cmocka_unit_test(test_offset_retention_in_use),
        cmocka_unit_test(test_offset_delete),
        cmocka_unit_test(test_records_and_reload),
        cmocka_unit_test(test_load_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
