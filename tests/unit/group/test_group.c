/* Unit tests of the classic group coordinator's membership state machine
 * (group/member.c, group/coord.c), driven by a fake clock: KIP-394 member
 * ids, joins during a rebalance, the initial rebalance delay, protocol
 * selection, sync, heartbeat errors, session and rebalance timeouts, static
 * membership (restart without rebalance, fencing), group.max.size, leave,
 * describe/list/delete. */
#include "group_test_util.h"

typedef struct fx_s {
    sl_group_coord_t *gc;
    gt_store_t *st;
    sl_group_config_t cfg;
    bool skip_ok; /* joins act as JoinGroup v9+ */
} fx_t;

static fx_t *
fx_new(int32_t initial_delay, int32_t max_size)
{
    fx_t *f = calloc(1, sizeof(*f));
    sl_group_store_t store;

    f->st = calloc(1, sizeof(*f->st));
    sl_group_config_defaults(&f->cfg);
    f->cfg.initial_rebalance_delay_ms = initial_delay;
    f->cfg.max_size = max_size;
    memset(&store, 0, sizeof(store));
    store.ctx = f->st;
    store.append = gt_append;
    store.has_pending_txn = gt_has_pending_txn;
    f->gc = sl_group_coord_create(&f->cfg, &store);
    assert_non_null(f->gc);
    f->skip_ok = true;
    return f;
}

static void
fx_free(fx_t *f)
{
    sl_group_coord_destroy(f->gc);
    gt_flush(f->st, SL_OK); /* late completions must be harmless */
    gt_store_free(f->st);
    free(f);
}

/* Join group "g" with protocols <protos> ("a,b"), metadata "<label>/<p>". */
static void
join_full(fx_t *f, int64_t now, const char *group, const char *member,
          const char *instance, const char *ptype, const char *protos,
          const char *label, gt_join_t *out)
{
    sl_group_protocol_t p[4];
    char names[4][32], metas[4][64];
    int n = 0;
    const char *s = protos;
    sl_group_join_req_t r;
    char mid[256];

    /* <member> may point into <out>, which is reset below. */
    snprintf(mid, sizeof(mid), "%s", member != NULL ? member : "");
    member = mid;
    while (s != NULL && *s != '\0' && n < 4) {
        const char *c = strchr(s, ',');
        size_t len = c != NULL ? (size_t)(c - s) : strlen(s);

        memcpy(names[n], s, len);
        names[n][len] = '\0';
        snprintf(metas[n], sizeof(metas[n]), "%s/%s", label, names[n]);
        p[n].name = S(names[n]);
        p[n].metadata = B(metas[n]);
        n++;
        s = c != NULL ? c + 1 : NULL;
    }
    memset(&r, 0, sizeof(r));
    r.group_id = S(group);
    r.member_id = S(member);
    r.group_instance_id = S(instance);
    r.protocol_type = S(ptype);
    r.protocols = p;
    r.protocols_count = n;
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.client_id = S(label);
    r.client_host = S("/127.0.0.1");
    r.reason = NUL;
    r.require_known_member_id = true;
    r.supports_skip_assignment = f->skip_ok;
    memset(out, 0, sizeof(*out));
    sl_group_join(f->gc, now, &r, gt_join_cb, out);
}

static void
join(fx_t *f, int64_t now, const char *member, const char *instance,
     const char *label, gt_join_t *out)
{
    join_full(f, now, "g", member, instance, "consumer", "range", label, out);
}

/* A dynamic member's two joins (KIP-394); <out> is the second. */
static void
join_new(fx_t *f, int64_t now, const char *label, gt_join_t *out)
{
    gt_join_t first;
    char id[256];

    join(f, now, "", NULL, label, &first);
    assert_int_equal(first.calls, 1);
    assert_int_equal(first.err, SL_ERR_MEMBER_ID_REQUIRED);
    assert_true(strncmp(first.member, label, strlen(label)) == 0);
    strcpy(id, first.member);
    join(f, now, id, NULL, label, out);
    strcpy(out->member, id); /* known even while parked */
}

static void
sync2(fx_t *f, int64_t now, const char *member, const char *instance,
      int32_t gen, const char *m1, const char *a1, const char *m2,
      const char *a2, gt_sync_t *out)
{
    sl_group_assignment_t as[2];
    sl_group_sync_req_t r;
    char mid[256];
    int n = 0;

    snprintf(mid, sizeof(mid), "%s", member);
    member = mid;

    if (m1 != NULL) {
        as[n].member_id = S(m1);
        as[n++].assignment = B(a1);
    }
    if (m2 != NULL) {
        as[n].member_id = S(m2);
        as[n++].assignment = B(a2);
    }
    memset(&r, 0, sizeof(r));
    r.group_id = S("g");
    r.member_id = S(member);
    r.group_instance_id = S(instance);
    r.protocol_type = NUL;
    r.protocol_name = NUL;
    r.generation_id = gen;
    r.assignments = as;
    r.assignments_count = n;
    memset(out, 0, sizeof(*out));
    sl_group_sync(f->gc, now, &r, gt_sync_cb, out);
}

static sl_err_t
hb(fx_t *f, int64_t now, const char *member, const char *instance, int32_t gen)
{
    return sl_group_heartbeat(f->gc, now, S("g"), S(member), S(instance), gen);
}

static sl_group_state_e
state_of(fx_t *f, const char *group, int *nmembers)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_group_desc_t d;
    sl_group_state_e s;

    sl_group_describe(f->gc, S(group), a, &d);
    s = d.state;
    if (nmembers != NULL) {
        *nmembers = d.members_count;
    }
    sl_arena_destroy(a);
    return s;
}

/* Two dynamic members A (leader) and B, synced: Stable, generation 1. */
static void
two_stable(fx_t *f, char *a, char *b)
{
    gt_join_t ja, jb;
    gt_sync_t sa, sb;

    join_new(f, 0, "A", &ja);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.gen, 1);
    join_new(f, 0, "B", &jb);
    assert_int_equal(jb.calls, 0);
    assert_int_equal(hb(f, 0, ja.member, NULL, 1),
                     SL_ERR_REBALANCE_IN_PROGRESS);
    join(f, 0, ja.member, NULL, "A", &ja);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(ja.gen, 2);
    strcpy(a, ja.member);
    strcpy(b, jb.member);
    sync2(f, 0, b, NULL, 2, NULL, NULL, NULL, NULL, &sb);
    sync2(f, 0, a, NULL, 2, a, "asg-A", b, "asg-B", &sa);
    assert_int_equal(sa.calls + sb.calls, 0); /* waits for the store */
    gt_flush(f->st, SL_OK);
    assert_int_equal(sa.err, SL_OK);
    assert_string_equal(sa.assignment, "asg-A");
    assert_string_equal(sb.assignment, "asg-B");
    assert_int_equal(state_of(f, "g", NULL), SL_GROUP_STATE_STABLE);
}

static void
test_member_id_required(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t j, bad;

    (void)state;
    join_new(f, 0, "A", &j);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, SL_OK);
    assert_int_equal(j.gen, 1);
    assert_string_equal(j.leader, j.member);
    assert_string_equal(j.protocol, "range");
    assert_int_equal(j.nmembers, 1);
    assert_string_equal(j.metas[0], "A/range");
    assert_int_equal(state_of(f, "g", NULL),
                     SL_GROUP_STATE_COMPLETING_REBALANCE);
    /* A made-up member id is refused. */
    join(f, 0, "A-made-up", NULL, "A", &bad);
    assert_int_equal(bad.err, SL_ERR_UNKNOWN_MEMBER_ID);
    /* Unknown group with a member id. */
    join_full(f, 0, "other", "x", NULL, "consumer", "range", "A", &bad);
    assert_int_equal(bad.err, SL_ERR_UNKNOWN_MEMBER_ID);
    /* An id handed out but never used expires with the session timeout. */
    join(f, 0, "", NULL, "C", &bad);
    assert_int_equal(bad.err, SL_ERR_MEMBER_ID_REQUIRED);
    assert_true(sl_group_coord_next_deadline(f->gc) <= 10000);
    sl_group_coord_tick(f->gc, 10000);
    {
        char id[256];
        gt_join_t late;

        strcpy(id, bad.member);
        join(f, 10001, id, NULL, "C", &late);
        assert_int_equal(late.err, SL_ERR_UNKNOWN_MEMBER_ID);
    }
    fx_free(f);
}

static void
test_join_during_rebalance_and_sync(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    char a[256], b[256];
    gt_join_t j;
    gt_sync_t s;

    (void)state;
    two_stable(f, a, b);
    assert_int_equal(hb(f, 100, a, NULL, 2), SL_OK);
    assert_int_equal(hb(f, 100, b, NULL, 2), SL_OK);
    assert_int_equal(hb(f, 100, b, NULL, 1), SL_ERR_ILLEGAL_GENERATION);
    assert_int_equal(hb(f, 100, "nobody", NULL, 2), SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(sl_group_heartbeat(f->gc, 100, S("nogroup"), S(a), NUL, 2),
                     SL_ERR_UNKNOWN_MEMBER_ID);
    /* A follower resending an unchanged join in Stable gets the current
     * generation without a rebalance. */
    join(f, 200, b, NULL, "B", &j);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, SL_OK);
    assert_int_equal(j.gen, 2);
    assert_int_equal(j.nmembers, 0);
    /* Stable sync answers at once with the stored assignment. */
    sync2(f, 200, b, NULL, 2, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.assignment, "asg-B");
    /* Sync with a stale generation or unknown member. */
    sync2(f, 200, b, NULL, 1, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.err, SL_ERR_ILLEGAL_GENERATION);
    sync2(f, 200, "zz", NULL, 2, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.err, SL_ERR_UNKNOWN_MEMBER_ID);
    /* The leader rejoining triggers a rebalance; sync is then refused. */
    join(f, 300, a, NULL, "A", &j);
    assert_int_equal(j.calls, 0);
    assert_int_equal(state_of(f, "g", NULL),
                     SL_GROUP_STATE_PREPARING_REBALANCE);
    sync2(f, 300, b, NULL, 2, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.err, SL_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(hb(f, 300, b, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    fx_free(f);
}

static void
test_initial_delay(void **state)
{
    fx_t *f = fx_new(3000, INT32_MAX);
    gt_join_t ja, jb, jc;

    (void)state;
    join_new(f, 0, "A", &ja);
    assert_int_equal(ja.calls, 0);
    assert_int_equal(sl_group_coord_next_deadline(f->gc), 3000);
    join_new(f, 1000, "B", &jb);
    sl_group_coord_tick(f->gc, 2999);
    assert_int_equal(ja.calls + jb.calls, 0);
    /* A member arrived during the delay: extended by another delay. */
    sl_group_coord_tick(f->gc, 3000);
    assert_int_equal(ja.calls + jb.calls, 0);
    assert_int_equal(sl_group_coord_next_deadline(f->gc), 6000);
    join_new(f, 4000, "C", &jc);
    sl_group_coord_tick(f->gc, 6000);
    assert_int_equal(ja.calls + jb.calls + jc.calls, 0);
    /* Nobody new: complete. */
    sl_group_coord_tick(f->gc, 9000);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(jc.calls, 1);
    assert_int_equal(ja.gen, 1);
    assert_int_equal(ja.nmembers, 3); /* A is the leader: joined first */
    assert_int_equal(jb.nmembers, 0);
    assert_string_equal(jb.leader, ja.member);
    fx_free(f);
}

static void
test_initial_delay_bounded_by_rebalance_timeout(void **state)
{
    fx_t *f = fx_new(20000, INT32_MAX);
    gt_join_t ja, jb, jc;

    (void)state;
    join_new(f, 0, "A", &ja); /* rebalance timeout 30000 */
    join_new(f, 100, "B", &jb);
    sl_group_coord_tick(f->gc, 20000);
    assert_int_equal(ja.calls, 0);
    /* Remaining 10000: min(delay, remaining). */
    assert_int_equal(sl_group_coord_next_deadline(f->gc), 30000);
    join_new(f, 21000, "C", &jc);
    sl_group_coord_tick(f->gc, 30000);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.nmembers, 3);
    fx_free(f);
}

static void
test_protocol_selection(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t j1, j2, j3, x;
    char id1[256], id2[256], id3[256];

    (void)state;
    /* Only "range" is supported by all three. */
    join_full(f, 0, "g", "", NULL, "consumer", "roundrobin,range", "M1", &j1);
    strcpy(id1, j1.member);
    join_full(f, 0, "g", id1, NULL, "consumer", "roundrobin,range", "M1", &j1);
    join_full(f, 0, "g", "", NULL, "consumer", "range,roundrobin", "M2", &j2);
    strcpy(id2, j2.member);
    join_full(f, 0, "g", id2, NULL, "consumer", "range,roundrobin", "M2", &j2);
    join_full(f, 0, "g", "", NULL, "consumer", "range,sticky", "M3", &j3);
    strcpy(id3, j3.member);
    join_full(f, 0, "g", id3, NULL, "consumer", "range,sticky", "M3", &j3);
    /* No common protocol, or another protocol type: refused. */
    join_full(f, 0, "g", "", NULL, "consumer", "sticky", "M4", &x);
    assert_int_equal(x.err, SL_ERR_INCONSISTENT_GROUP_PROTOCOL);
    join_full(f, 0, "g", "", NULL, "connect", "range", "M4", &x);
    assert_int_equal(x.err, SL_ERR_INCONSISTENT_GROUP_PROTOCOL);
    join_full(f, 0, "h", "", NULL, "", "range", "M4", &x);
    assert_int_equal(x.err, SL_ERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_int_equal(state_of(f, "h", NULL), SL_GROUP_STATE_DEAD);
    /* Everybody rejoins (the first joined alone in generation 1). */
    join_full(f, 0, "g", id1, NULL, "consumer", "roundrobin,range", "M1", &j1);
    assert_int_equal(j1.calls, 1);
    assert_string_equal(j1.protocol, "range");
    assert_int_equal(j1.nmembers, 3);
    assert_string_equal(j1.metas[0], "M1/range");
    assert_string_equal(j1.metas[1], "M2/range");
    fx_free(f);

    /* Votes: x (M1) vs y (M2, M3): y wins. */
    f = fx_new(3000, INT32_MAX);
    join_full(f, 0, "g", "", "i1", "consumer", "x,y", "M1", &j1);
    join_full(f, 0, "g", "", "i2", "consumer", "y,x", "M2", &j2);
    join_full(f, 0, "g", "", "i3", "consumer", "y,x", "M3", &j3);
    sl_group_coord_tick(f->gc, 3000);
    sl_group_coord_tick(f->gc, 6000);
    assert_int_equal(j1.calls, 1);
    assert_string_equal(j1.protocol, "y");
    fx_free(f);

    /* A tie goes to the first member's preference. */
    f = fx_new(3000, INT32_MAX);
    join_full(f, 0, "g", "", "i1", "consumer", "x,y", "M1", &j1);
    join_full(f, 0, "g", "", "i2", "consumer", "y,x", "M2", &j2);
    sl_group_coord_tick(f->gc, 3000);
    sl_group_coord_tick(f->gc, 6000);
    assert_string_equal(j2.protocol, "x");
    fx_free(f);
}

static void
test_invalid_requests(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    sl_group_protocol_t p = {{"range", 5}, {(const uint8_t *)"m", 1}};
    sl_group_join_req_t r;
    gt_join_t j;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.group_id = S("g");
    r.member_id = S("");
    r.group_instance_id = NUL;
    r.protocol_type = S("consumer");
    r.protocols = &p;
    r.protocols_count = 1;
    r.session_timeout_ms = 5999;
    r.rebalance_timeout_ms = -1;
    memset(&j, 0, sizeof(j));
    sl_group_join(f->gc, 0, &r, gt_join_cb, &j);
    assert_int_equal(j.err, SL_ERR_INVALID_SESSION_TIMEOUT);
    r.session_timeout_ms = 1800001;
    sl_group_join(f->gc, 0, &r, gt_join_cb, &j);
    assert_int_equal(j.err, SL_ERR_INVALID_SESSION_TIMEOUT);
    r.session_timeout_ms = 6000;
    r.group_id = S("");
    sl_group_join(f->gc, 0, &r, gt_join_cb, &j);
    assert_int_equal(j.err, SL_ERR_INVALID_GROUP_ID);
    r.group_id = NUL;
    sl_group_join(f->gc, 0, &r, gt_join_cb, &j);
    assert_int_equal(j.err, SL_ERR_INVALID_GROUP_ID);
    /* v0 (rebalance timeout -1, no KIP-394): joins at once. */
    r.group_id = S("g");
    sl_group_join(f->gc, 0, &r, gt_join_cb, &j);
    assert_int_equal(j.calls, 5);
    assert_int_equal(j.err, SL_OK);
    assert_int_equal(j.gen, 1);
    fx_free(f);
}

static void
test_session_expiry(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    char a[256], b[256];
    gt_join_t j;
    int n;

    (void)state;
    two_stable(f, a, b);
    assert_int_equal(hb(f, 5000, a, NULL, 2), SL_OK);
    assert_int_equal(sl_group_coord_next_deadline(f->gc), 10000);
    sl_group_coord_tick(f->gc, 9999);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_STABLE);
    assert_int_equal(n, 2);
    sl_group_coord_tick(f->gc, 10000); /* B's session ends */
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_PREPARING_REBALANCE);
    assert_int_equal(n, 1);
    assert_int_equal(hb(f, 10001, b, NULL, 2), SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb(f, 10001, a, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    join(f, 10002, a, NULL, "A", &j);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.gen, 3);
    assert_int_equal(j.nmembers, 1);
    /* Everybody gone: the group is Empty with the next generation. */
    sl_group_coord_tick(f->gc, 10002 + 10000);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_EMPTY);
    assert_int_equal(n, 0);
    fx_free(f);
}

static void
test_rebalance_timeout(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    char a[256], b[256];
    gt_join_t ja, jc;
    int n;

    (void)state;
    two_stable(f, a, b);
    join_new(f, 1000, "C", &jc);
    assert_int_equal(jc.calls, 0);
    join(f, 1000, a, NULL, "A", &ja);
    /* B keeps heartbeating but never rejoins. */
    assert_int_equal(hb(f, 9000, b, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(hb(f, 18000, b, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(hb(f, 27000, b, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    sl_group_coord_tick(f->gc, 30999);
    assert_int_equal(ja.calls, 0);
    sl_group_coord_tick(f->gc, 31000);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jc.calls, 1);
    assert_int_equal(ja.gen, 3);
    assert_int_equal(ja.nmembers, 2);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_COMPLETING_REBALANCE);
    assert_int_equal(n, 2);
    assert_int_equal(hb(f, 31001, b, NULL, 3), SL_ERR_UNKNOWN_MEMBER_ID);
    fx_free(f);
}

static void
test_new_member_join_timeout(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    sl_group_store_t store = {f->st, gt_append, gt_has_pending_txn, NULL};
    char a[256], b[256];
    gt_join_t ja, jc;
    int n;

    (void)state;
    sl_group_coord_destroy(f->gc);
    f->cfg.new_member_join_timeout_ms = 5000;
    f->gc = sl_group_coord_create(&f->cfg, &store);
    two_stable(f, a, b);
    join_new(f, 1000, "C", &jc); /* a new member waits in the rebalance */
    join(f, 1100, a, NULL, "A", &ja);
    assert_int_equal(hb(f, 5000, b, NULL, 2), SL_ERR_REBALANCE_IN_PROGRESS);
    sl_group_coord_tick(f->gc, 5999);
    assert_int_equal(jc.calls, 0);
    /* The new member's join expires; known members wait for the rest. */
    sl_group_coord_tick(f->gc, 6000);
    assert_int_equal(jc.calls, 1);
    assert_int_equal(jc.err, SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(ja.calls, 0);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_PREPARING_REBALANCE);
    assert_int_equal(n, 2);
    /* B rejoins: complete without C. */
    join(f, 6100, b, NULL, "B", &jc);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.gen, 3);
    assert_int_equal(ja.nmembers, 2);
    fx_free(f);
}

static void
test_pending_sync_timeout(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t ja, jb;
    gt_sync_t sa;
    int n;

    (void)state;
    join_new(f, 0, "A", &ja);
    join_new(f, 0, "B", &jb);
    join(f, 0, ja.member, NULL, "A", &ja);
    assert_int_equal(jb.calls, 1);
    sync2(f, 0, ja.member, NULL, 2, ja.member, "x", jb.member, "y", &sa);
    gt_flush(f->st, SL_OK);
    assert_int_equal(sa.err, SL_OK);
    /* B heartbeats but never syncs: removed after the rebalance timeout. */
    for (int64_t t = 9000; t < 30000; t += 9000) {
        assert_int_equal(hb(f, t, jb.member, NULL, 2), SL_OK);
        assert_int_equal(hb(f, t, ja.member, NULL, 2), SL_OK);
    }
    sl_group_coord_tick(f->gc, 29999);
    assert_int_equal(hb(f, 29999, ja.member, NULL, 2), SL_OK);
    assert_int_equal(hb(f, 29999, jb.member, NULL, 2), SL_OK);
    sl_group_coord_tick(f->gc, 30000);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_PREPARING_REBALANCE);
    assert_int_equal(n, 1);
    assert_int_equal(hb(f, 30001, jb.member, NULL, 2),
                     SL_ERR_UNKNOWN_MEMBER_ID);
    fx_free(f);
}

static void
test_static_restart_without_rebalance(void **state)
{
    fx_t *f = fx_new(3000, INT32_MAX);
    gt_join_t ja, jb, ja2;
    gt_sync_t sa, sb;
    char old_a[256];
    int n;

    (void)state;
    /* Static members need no KIP-394 round trip. */
    join(f, 0, "", "inst-a", "A", &ja);
    join(f, 0, "", "inst-b", "B", &jb);
    sl_group_coord_tick(f->gc, 3000);
    assert_int_equal(ja.calls, 0); /* B arrived in the delay: extended */
    sl_group_coord_tick(f->gc, 6000);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.err, SL_OK);
    assert_true(strncmp(ja.member, "inst-a-", 7) == 0);
    sync2(f, 10, ja.member, "inst-a", 1, ja.member, "asg-A", jb.member, "asg-B",
          &sa);
    sync2(f, 10, jb.member, "inst-b", 1, NULL, NULL, NULL, NULL, &sb);
    gt_flush(f->st, SL_OK);
    assert_string_equal(sb.assignment, "asg-B");
    strcpy(old_a, ja.member);
    /* A restarts (new process: no member id) with the same protocols;
     * the answer waits until the new member id is stored. */
    join(f, 5000, "", "inst-a", "A", &ja2);
    assert_int_equal(ja2.calls, 0);
    assert_int_equal(gt_flush(f->st, SL_OK), 1);
    assert_int_equal(ja2.calls, 1);
    assert_int_equal(ja2.nmembers, 2); /* v9+: the leader sees everybody */
    assert_int_equal(ja2.err, SL_OK);
    assert_int_equal(ja2.gen, 1);
    assert_string_not_equal(ja2.member, old_a);
    assert_string_equal(ja2.leader, ja2.member); /* A stays leader */
    assert_true(ja2.skip);                       /* ... and must not assign */
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_STABLE);
    assert_int_equal(n, 2);
    sync2(f, 5001, ja2.member, "inst-a", 1, NULL, NULL, NULL, NULL, &sa);
    assert_int_equal(sa.calls, 1);
    assert_string_equal(sa.assignment, "asg-A");
    /* B noticed nothing. */
    assert_int_equal(hb(f, 5002, jb.member, "inst-b", 1), SL_OK);
    /* The old incarnation is fenced. */
    assert_int_equal(hb(f, 5002, old_a, "inst-a", 1),
                     SL_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(hb(f, 5002, old_a, NULL, 1), SL_ERR_UNKNOWN_MEMBER_ID);
    /* A static member that does not rejoin survives the rebalance and
     * expires only by session timeout. */
    {
        gt_join_t jc;

        join(f, 6000, "", "inst-c", "C", &jc);
        join(f, 6000, ja2.member, "inst-a", "A", &ja2);
        for (int64_t t = 14000; t < 36000; t += 9000) {
            assert_int_equal(hb(f, t, jb.member, "inst-b", 1),
                             SL_ERR_REBALANCE_IN_PROGRESS);
        }
        sl_group_coord_tick(f->gc, 6000 + 30000);
        assert_int_equal(ja2.gen, 2);
        assert_int_equal(ja2.nmembers, 3); /* B is still listed */
    }
    fx_free(f);
}

static void
test_static_restart_legacy_and_failure(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t ja, ja2, ja3;
    gt_sync_t sa;
    char old_a[256];

    (void)state;
    f->skip_ok = false; /* JoinGroup v5-v8 */
    join(f, 0, "", "inst-a", "A", &ja);
    assert_int_equal(ja.gen, 1);
    sync2(f, 0, ja.member, "inst-a", 1, ja.member, "asg-A", NULL, NULL, &sa);
    gt_flush(f->st, SL_OK);
    strcpy(old_a, ja.member);
    /* Before v9 the restarted leader is told the old leader id, so it
     * does not assign; no member list, no skip flag. */
    join(f, 100, "", "inst-a", "A", &ja2);
    gt_flush(f->st, SL_OK);
    assert_int_equal(ja2.err, SL_OK);
    assert_int_equal(ja2.gen, 1);
    assert_string_equal(ja2.leader, old_a);
    assert_string_not_equal(ja2.member, old_a);
    assert_false(ja2.skip);
    assert_int_equal(ja2.nmembers, 0);
    /* A failed store reverts to the previous member id. */
    join(f, 200, "", "inst-a", "A", &ja3);
    assert_int_equal(ja3.calls, 0);
    gt_flush(f->st, SL_ERR__IO);
    assert_int_equal(ja3.calls, 1);
    assert_int_equal(ja3.err, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(hb(f, 300, ja2.member, "inst-a", 1), SL_OK);
    assert_int_equal(state_of(f, "g", NULL), SL_GROUP_STATE_STABLE);
    /* A protocol change of the static member forces a rebalance. */
    join_full(f, 400, "g", "", "inst-a", "consumer", "other,range", "A", &ja3);
    assert_int_equal(ja3.calls, 1); /* alone: completes at once */
    assert_int_equal(ja3.gen, 2);
    assert_string_equal(ja3.protocol, "other");
    fx_free(f);
}

static void
test_static_fencing(void **state)
{
    fx_t *f = fx_new(3000, INT32_MAX);
    gt_join_t j1, j2, x;
    gt_sync_t s;

    (void)state;
    join(f, 0, "", "inst", "A", &j1);
    assert_int_equal(j1.calls, 0);
    /* A duplicate with the same instance id takes over; the parked join of
     * the first is answered FENCED_INSTANCE_ID. */
    join(f, 100, "", "inst", "A2", &j2);
    assert_int_equal(j1.calls, 1);
    assert_int_equal(j1.err, SL_ERR_FENCED_INSTANCE_ID);
    sl_group_coord_tick(f->gc, 3100);
    assert_int_equal(j2.calls, 1);
    assert_int_equal(j2.err, SL_OK);
    /* Known member id with a foreign instance id, and the reverse. */
    join(f, 3200, "someone-else", "inst", "A", &x);
    assert_int_equal(x.err, SL_ERR_FENCED_INSTANCE_ID);
    sync2(f, 3200, "someone-else", "inst", 1, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.err, SL_ERR_FENCED_INSTANCE_ID);
    sync2(f, 3200, j2.member, "other-inst", 1, NULL, NULL, NULL, NULL, &s);
    assert_int_equal(s.err, SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb(f, 3200, j2.member, "inst", 1), SL_OK);
    fx_free(f);
}

static void
test_max_size(void **state)
{
    fx_t *f = fx_new(0, 2);
    gt_join_t ja, jc, jb;
    char a[256], b[256];
    int n;

    (void)state;
    two_stable(f, a, b);
    /* Stable and full: a new member is refused at once. */
    join(f, 0, "", NULL, "C", &jc);
    assert_int_equal(jc.err, SL_ERR_GROUP_MAX_SIZE_REACHED);
    join(f, 0, "", "inst-c", "C", &jc);
    assert_int_equal(jc.err, SL_ERR_GROUP_MAX_SIZE_REACHED);
    /* Preparing: Kafka counts members awaiting join, so a newcomer gets in
     * and the last one to rejoin is kicked out. */
    join(f, 10, a, NULL, "A", &ja);
    join(f, 10, "", "inst-c", "C", &jc);
    assert_int_equal(jc.calls, 0);
    join(f, 20, b, NULL, "B", &jb);
    assert_int_equal(jb.err, SL_ERR_GROUP_MAX_SIZE_REACHED);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(ja.gen, 3);
    assert_int_equal(ja.nmembers, 2);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_COMPLETING_REBALANCE);
    assert_int_equal(n, 2);
    fx_free(f);
}

static void
test_leader_leaves_mid_sync(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t ja, jb;
    gt_sync_t sb;
    sl_group_leave_member_t lm;
    sl_err_t e;

    (void)state;
    join_new(f, 0, "A", &ja);
    join_new(f, 0, "B", &jb);
    join(f, 0, ja.member, NULL, "A", &ja);
    assert_int_equal(ja.gen, 2);
    sync2(f, 10, jb.member, NULL, 2, NULL, NULL, NULL, NULL, &sb);
    assert_int_equal(sb.calls, 0);
    lm.member_id = S(ja.member);
    lm.group_instance_id = NUL;
    assert_int_equal(sl_group_leave(f->gc, 20, S("g"), &lm, 1, &e), SL_OK);
    assert_int_equal(e, SL_OK);
    assert_int_equal(sb.calls, 1);
    assert_int_equal(sb.err, SL_ERR_REBALANCE_IN_PROGRESS);
    join(f, 30, jb.member, NULL, "B", &jb);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(jb.gen, 3);
    assert_string_equal(jb.leader, jb.member);
    assert_int_equal(jb.nmembers, 1);
    fx_free(f);
}

static void
test_leave_batch(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t js, jd;
    gt_sync_t s;
    sl_group_leave_member_t lm[4];
    sl_err_t e[4];
    int n;

    (void)state;
    join(f, 0, "", "inst-s", "S", &js);
    join_new(f, 0, "D", &jd);
    join(f, 0, js.member, "inst-s", "S", &js);
    assert_int_equal(js.gen, 2);
    sync2(f, 0, js.member, "inst-s", 2, NULL, NULL, NULL, NULL, &s);
    gt_flush(f->st, SL_OK);
    lm[0].member_id = S("");
    lm[0].group_instance_id = S("inst-s"); /* by instance id alone */
    lm[1].member_id = S("ghost");
    lm[1].group_instance_id = NUL;
    lm[2].member_id = S(jd.member);
    lm[2].group_instance_id = NUL;
    lm[3].member_id = S("x");
    lm[3].group_instance_id = S("inst-none");
    assert_int_equal(sl_group_leave(f->gc, 10, S("g"), lm, 4, e), SL_OK);
    assert_int_equal(e[0], SL_OK);
    assert_int_equal(e[1], SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(e[2], SL_OK);
    assert_int_equal(e[3], SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(state_of(f, "g", &n), SL_GROUP_STATE_EMPTY);
    assert_int_equal(n, 0);
    /* Wrong member id for a known instance: fenced. */
    join(f, 20, "", "inst-t", "T", &js);
    lm[0].member_id = S("not-t");
    lm[0].group_instance_id = S("inst-t");
    assert_int_equal(sl_group_leave(f->gc, 20, S("g"), lm, 1, e), SL_OK);
    assert_int_equal(e[0], SL_ERR_FENCED_INSTANCE_ID);
    assert_int_equal(sl_group_leave(f->gc, 20, S("nogroup"), lm, 2, e),
                     SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(e[0], SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(e[1], SL_ERR_UNKNOWN_MEMBER_ID);
    fx_free(f);
}

static void
test_describe_list_delete(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_group_listing_t *l;
    sl_group_desc_t d;
    sl_str_t filt[2];
    char ga[256], gb[256];
    gt_join_t j;
    int32_t n;
    sl_group_leave_member_t lm;
    sl_err_t e;

    (void)state;
    two_stable(f, ga, gb);
    join_full(f, 0, "h", "", "inst", "connect", "v0", "H", &j);
    assert_int_equal(sl_group_describe(f->gc, S("g"), a, &d), SL_OK);
    assert_int_equal(d.state, SL_GROUP_STATE_STABLE);
    assert_true(str_is(d.protocol_type, "consumer"));
    assert_true(str_is(d.protocol_name, "range"));
    assert_int_equal(d.members_count, 2);
    assert_true(str_is(d.members[0].member_id, ga));
    assert_true(str_is(d.members[0].client_id, "A"));
    assert_int_equal(d.members[1].assignment.len, 5);
    assert_memory_equal(d.members[1].assignment.ptr, "asg-B", 5);
    assert_int_equal(sl_group_describe(f->gc, S("nope"), a, &d),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(d.state, SL_GROUP_STATE_DEAD);

    assert_int_equal(sl_group_list(f->gc, NULL, 0, NULL, 0, a, &l, &n), SL_OK);
    assert_int_equal(n, 2);
    filt[0] = S("stable");
    assert_int_equal(sl_group_list(f->gc, filt, 1, NULL, 0, a, &l, &n), SL_OK);
    assert_int_equal(n, 1);
    assert_true(str_is(l[0].group_id, "g"));
    assert_true(str_is(l[0].protocol_type, "consumer"));
    filt[1] = S("CompletingRebalance");
    assert_int_equal(sl_group_list(f->gc, filt, 2, NULL, 0, a, &l, &n), SL_OK);
    assert_int_equal(n, 2);
    filt[0] = S("Empty");
    assert_int_equal(sl_group_list(f->gc, filt, 1, NULL, 0, a, &l, &n), SL_OK);
    assert_int_equal(n, 0);
    filt[0] = S("Classic");
    assert_int_equal(sl_group_list(f->gc, NULL, 0, filt, 1, a, &l, &n), SL_OK);
    assert_int_equal(n, 2);
    filt[0] = S("consumer");
    assert_int_equal(sl_group_list(f->gc, NULL, 0, filt, 1, a, &l, &n), SL_OK);
    assert_int_equal(n, 0);

    assert_int_equal(sl_group_delete(f->gc, 0, S("g")), SL_ERR_NON_EMPTY_GROUP);
    assert_int_equal(sl_group_delete(f->gc, 0, S("zz")),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    lm.member_id = S(j.member);
    lm.group_instance_id = S("inst");
    assert_int_equal(sl_group_leave(f->gc, 0, S("h"), &lm, 1, &e), SL_OK);
    assert_int_equal(e, SL_OK);
    assert_int_equal(state_of(f, "h", NULL), SL_GROUP_STATE_EMPTY);
    {
        int before = f->st->n;

        assert_int_equal(sl_group_delete(f->gc, 0, S("h")), SL_OK);
        assert_int_equal(f->st->n, before + 1); /* the group's tombstone */
        assert_null(f->st->rec[before].value);
    }
    assert_int_equal(state_of(f, "h", NULL), SL_GROUP_STATE_DEAD);
    assert_int_equal(sl_group_delete(f->gc, 0, S("h")),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    sl_arena_destroy(a);
    fx_free(f);
}

static void
test_sync_store_failure(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t ja, jb;
    gt_sync_t sa, sb;

    (void)state;
    join_new(f, 0, "A", &ja);
    join_new(f, 0, "B", &jb);
    join(f, 0, ja.member, NULL, "A", &ja);
    sync2(f, 0, jb.member, NULL, 2, NULL, NULL, NULL, NULL, &sb);
    sync2(f, 0, ja.member, NULL, 2, ja.member, "x", jb.member, "y", &sa);
    gt_flush(f->st, SL_ERR__IO);
    assert_int_equal(sa.err, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(sb.err, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(state_of(f, "g", NULL),
                     SL_GROUP_STATE_PREPARING_REBALANCE);
    fx_free(f);
}

static void
test_destroy_answers_parked(void **state)
{
    fx_t *f = fx_new(3000, INT32_MAX);
    gt_join_t j;

    (void)state;
    join(f, 0, "", "i", "A", &j);
    assert_int_equal(j.calls, 0);
    sl_group_coord_destroy(f->gc);
    f->gc = NULL;
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    gt_store_free(f->st);
    free(f);
}

/* The leader's assignment of generation 1 is still being persisted when a
 * second member's join starts a rebalance; once the append completes, the
 * leader's sync of generation 2 must persist and answer its own assignment
 * (it once waited forever: the in-flight flag of generation 1 stayed set). */
static void
test_leader_sync_append_overtaken(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    gt_join_t ja, jb;
    gt_sync_t sa, sb;
    char a[256], b[256];

    (void)state;
    join_new(f, 0, "A", &ja);
    assert_int_equal(ja.gen, 1);
    strcpy(a, ja.member);
    sync2(f, 0, a, NULL, 1, a, "asg-A1", NULL, NULL, &sa);
    assert_int_equal(sa.calls, 0); /* waits for the store */
    join_new(f, 1, "B", &jb);
    strcpy(b, jb.member);
    assert_int_equal(sa.calls, 1);
    assert_int_equal(sa.err, SL_ERR_REBALANCE_IN_PROGRESS);
    gt_flush(f->st, SL_OK); /* generation 1's append completes late */
    join(f, 2, a, NULL, "A", &ja);
    assert_int_equal(ja.calls, 1);
    assert_int_equal(jb.calls, 1);
    assert_int_equal(ja.gen, 2);
    sync2(f, 3, b, NULL, 2, NULL, NULL, NULL, NULL, &sb);
    sync2(f, 3, a, NULL, 2, a, "asg-A2", b, "asg-B2", &sa);
    gt_flush(f->st, SL_OK);
    assert_int_equal(sa.calls, 1);
    assert_int_equal(sa.err, SL_OK);
    assert_string_equal(sa.assignment, "asg-A2");
    assert_int_equal(sb.calls, 1);
    assert_string_equal(sb.assignment, "asg-B2");
    assert_int_equal(state_of(f, "g", NULL), SL_GROUP_STATE_STABLE);
    fx_free(f);
}

/* Shutdown: a JoinGroup waiting for a member that went away (A joined,
 * B's join waits for A's rejoin) is answered NOT_COORDINATOR by unload, as
 * is every later join; the group and its members stay (no rebalance). */
static void
test_unload_answers_parked(void **state)
{
    fx_t *f = fx_new(0, INT32_MAX);
    char a[256], b[256];
    gt_join_t j, late;

    (void)state;
    two_stable(f, a, b);
    join(f, 10, a, NULL, "A", &j);
    assert_int_equal(j.calls, 0); /* waits for B */
    sl_group_coord_unload(f->gc);
    assert_int_equal(j.calls, 1);
    assert_int_equal(j.err, SL_ERR_NOT_COORDINATOR);
    join(f, 20, b, NULL, "B", &late);
    assert_int_equal(late.calls, 1);
    assert_int_equal(late.err, SL_ERR_NOT_COORDINATOR);
    assert_int_equal(state_of(f, "g", NULL),
                     SL_GROUP_STATE_PREPARING_REBALANCE);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_id_required),
        cmocka_unit_test(test_join_during_rebalance_and_sync),
        cmocka_unit_test(test_initial_delay),
        cmocka_unit_test(test_initial_delay_bounded_by_rebalance_timeout),
        cmocka_unit_test(test_protocol_selection),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_rebalance_timeout),
        cmocka_unit_test(test_new_member_join_timeout),
        cmocka_unit_test(test_pending_sync_timeout),
        cmocka_unit_test(test_static_restart_without_rebalance),
        cmocka_unit_test(test_static_restart_legacy_and_failure),
        cmocka_unit_test(test_static_fencing),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_leader_leaves_mid_sync),
        cmocka_unit_test(test_leave_batch),
        cmocka_unit_test(test_describe_list_delete),
        cmocka_unit_test(test_sync_store_failure),
        cmocka_unit_test(test_destroy_answers_parked),
        cmocka_unit_test(test_unload_answers_parked),
        cmocka_unit_test(test_leader_sync_append_overtaken),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
