/* Unit tests of the consumer group protocol coordinator (group/consumer.h):
 * heartbeats driven with a fake clock and a fake store, as a client of
 * KIP-848 would send them. */
#include "consumer_test_util.h"

/* ---- tests ---- */

static void
test_join_gets_id_epoch_assignment(void **state)
{
    hb_opt_t o = {"a", NULL, NULL, INT32_MIN, false, 0};
    sl_cgroup_desc_t d;
    cl_t c;

    (void)state;
    cl_init(&c, ""); /* v0: the coordinator names the member */
    assert_int_equal(hb_opt(&c, "g", &o), SL_OK);
    assert_true(strlen(c.id) > 10);
    assert_int_equal(c.epoch, 1);
    assert_true(c.got_assignment);
    assert_int_equal(c.owned_n, 6);
    assert_int_equal(owns_topic(&c, 'a'), 6);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.state, SL_CGROUP_STATE_STABLE);
    assert_int_equal(d.group_epoch, 1);
    assert_int_equal(d.assignment_epoch, 1);
    assert_int_equal(d.members_count, 1);
    assert_true(str_is(d.members[0].member_id, c.id));
    assert_true(str_is(d.assignor_name, "uniform"));
    /* A plain heartbeat without changes carries no assignment. */
    assert_int_equal(hb(&c, "g", NULL), SL_OK);
    assert_false(c.got_assignment);
    assert_int_equal(c.epoch, 1);
}

static void
test_second_member_waits_for_revocation(void **state)
{
    cl_t a, b;

    (void)state;
    cl_init(&a, "ma");
    cl_init(&b, "mb");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(a.owned_n, 6);
    /* b joins: new group epoch 2; a still owns everything, so b moves to
     * epoch 2 with nothing yet (its partitions are unreleased). */
    assert_int_equal(hb(&b, "g", "a"), SL_OK);
    assert_int_equal(b.epoch, 2);
    assert_int_equal(b.owned_n, 0);
    /* a must revoke three partitions first, staying at epoch 1. */
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.epoch, 1);
    assert_true(a.got_assignment);
    assert_int_equal(a.owned_n, 3);
    /* b still gets nothing: a has not confirmed the revocation yet. */
    assert_int_equal(hb(&b, "g", NULL), SL_OK);
    assert_int_equal(b.owned_n, 0);
    /* a confirms (its owned partitions no longer include them): epoch 2. */
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.epoch, 2);
    assert_int_equal(a.owned_n, 3);
    assert_int_equal(hb(&b, "g", NULL), SL_OK);
    assert_int_equal(b.epoch, 2);
    assert_int_equal(b.owned_n, 3);
    {
        cl_t both[2] = {a, b};

        assert_exact_cover(both, 2, "a");
    }
}

static void
test_uniform_balanced_and_sticky(void **state)
{
    cl_t cs[4];
    int before[4][9], moved = 0;

    (void)state;
    for (int i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "m%d", i);
        cl_init(&cs[i], id);
        assert_int_equal(hb(&cs[i], "g", "a,b"), SL_OK);
    }
    converge(cs, 3, "g");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cs[i].owned_n, 3); /* 9 partitions, 3 members */
    }
    assert_exact_cover(cs, 3, "ab");
    for (int i = 0; i < 3; i++) {
        for (int p = 0; p < 9; p++) {
            before[i][p] =
                p < 6 ? owns(&cs[i], 'a', p) : owns(&cs[i], 'b', p - 6);
        }
    }
    cl_init(&cs[3], "m3");
    assert_int_equal(hb(&cs[3], "g", "a,b"), SL_OK);
    converge(cs, 4, "g");
    for (int i = 0; i < 4; i++) {
        assert_true(cs[i].owned_n == 2 || cs[i].owned_n == 3);
    }
    assert_exact_cover(cs, 4, "ab");
    /* Sticky: only the partitions the new member needs moved. */
    for (int i = 0; i < 3; i++) {
        for (int p = 0; p < 9; p++) {
            int now_owned =
                p < 6 ? owns(&cs[i], 'a', p) : owns(&cs[i], 'b', p - 6);

            moved += before[i][p] && !now_owned;
        }
    }
    assert_int_equal(moved, cs[3].owned_n);
    assert_int_equal(cs[3].owned_n, 2);
}

static void
test_uniform_heterogeneous(void **state)
{
    cl_t cs[2];

    (void)state;
    cl_init(&cs[0], "m0");
    cl_init(&cs[1], "m1");
    assert_int_equal(hb(&cs[0], "g", "a,b"), SL_OK);
    assert_int_equal(hb(&cs[1], "g", "b"), SL_OK);
    converge(cs, 2, "g");
    /* m1 can only take b; balance: m0 gets a (6), m1 all of b (3). */
    assert_int_equal(owns_topic(&cs[0], 'a'), 6);
    assert_int_equal(owns_topic(&cs[1], 'b'), 3);
    assert_int_equal(owns_topic(&cs[1], 'a'), 0);
    assert_exact_cover(cs, 2, "ab");
}

static void
test_range_assignor(void **state)
{
    hb_opt_t o = {"a,b", NULL, "range", INT32_MIN, false, 1};
    cl_t cs[3];
    sl_cgroup_desc_t d;

    (void)state;
    cl_init(&cs[0], "m-2");
    cl_init(&cs[1], "m-1");
    assert_int_equal(hb_opt(&cs[0], "g", &o), SL_OK);
    assert_int_equal(owns_topic(&cs[0], 'a') + owns_topic(&cs[0], 'b'), 9);
    assert_int_equal(hb_opt(&cs[1], "g", &o), SL_OK);
    converge(cs, 2, "g");
    /* m-2 keeps its lowest partitions up to the quota (a: 3; b: 1 and
     * the extra one); m-1 gets the rest as ranges. */
    for (int p = 0; p < 3; p++) {
        assert_true(owns(&cs[0], 'a', p));
        assert_true(owns(&cs[1], 'a', p + 3));
    }
    assert_true(owns(&cs[0], 'b', 0) && owns(&cs[0], 'b', 1));
    assert_true(owns(&cs[1], 'b', 2));
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_true(str_is(d.assignor_name, "range"));
    /* A third member: quotas a 2, b 1; the others keep their lowest. */
    cl_init(&cs[2], "m-0");
    assert_int_equal(hb_opt(&cs[2], "g", &o), SL_OK);
    converge(cs, 3, "g");
    assert_true(owns(&cs[0], 'a', 0) && owns(&cs[0], 'a', 1));
    assert_true(owns(&cs[1], 'a', 3) && owns(&cs[1], 'a', 4));
    assert_true(owns(&cs[2], 'a', 2) && owns(&cs[2], 'a', 5));
    assert_true(owns(&cs[0], 'b', 0));
    assert_true(owns(&cs[1], 'b', 2));
    assert_true(owns(&cs[2], 'b', 1));
    assert_exact_cover(cs, 3, "ab");
}

static void
test_session_timeout_removes_member(void **state)
{
    cl_t cs[2];
    sl_cgroup_desc_t d;

    (void)state;
    cl_init(&cs[0], "m0");
    cl_init(&cs[1], "m1");
    assert_int_equal(hb(&cs[0], "g", "a"), SL_OK);
    assert_int_equal(hb(&cs[1], "g", "a"), SL_OK);
    converge(cs, 2, "g");
    now += 30000;
    assert_int_equal(hb(&cs[0], "g", NULL), SL_OK);
    now += 16000; /* m1's last heartbeat was 46 s ago, m0's 16 s ago */
    sl_cgroup_coord_tick(cc, now);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 1);
    assert_true(str_is(d.members[0].member_id, "m0"));
    assert_int_equal(hb(&cs[0], "g", NULL), SL_OK);
    assert_int_equal(cs[0].owned_n, 6);
    assert_int_equal(hb(&cs[1], "g", NULL), SL_ERR_UNKNOWN_MEMBER_ID);
}

static void
test_rebalance_timeout_fences_slow_revoker(void **state)
{
    cl_t a, b;
    sl_cgroup_desc_t d;
    hb_opt_t keep = {NULL, NULL, NULL, INT32_MIN, false, 1};

    (void)state;
    cl_init(&a, "ma");
    cl_init(&b, "mb");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(hb(&b, "g", "a"), SL_OK);
    /* a is told to revoke but keeps claiming all six partitions, while
     * heartbeating in time: its rebalance timeout (300 s) fences it. */
    int owned_n = a.owned_n, rounds = 0;

    for (;;) {
        assert_int_equal(hb_opt(&a, "g", &keep), SL_OK);
        assert_int_equal(a.epoch, 1);
        a.owned_n = owned_n; /* a misbehaves: still owns everything */
        assert_int_equal(hb(&b, "g", NULL), SL_OK);
        assert_int_equal(b.owned_n, 0);
        now += 40000;
        sl_cgroup_coord_tick(cc, now);
        assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
        if (d.members_count == 1) {
            break;
        }
        assert_true(++rounds < 10);
    }
    assert_int_equal(rounds, 7); /* fenced at 320 s, not before 300 s */
    assert_true(str_is(d.members[0].member_id, "mb"));
    assert_int_equal(hb(&b, "g", NULL), SL_OK);
    assert_int_equal(b.owned_n, 6);
}

static void
test_static_member_leave_and_rejoin(void **state)
{
    cl_t a, b, c;
    sl_cgroup_desc_t d;
    hb_opt_t leave = {NULL, NULL, NULL, -2, false, 1};
    int32_t group_epoch;

    (void)state;
    cl_init(&a, "ma");
    snprintf(a.instance, sizeof(a.instance), "i1");
    cl_init(&b, "mb");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(hb(&b, "g", "a"), SL_OK);
    {
        cl_t cs[2] = {a, b};

        converge(cs, 2, "g");
        a = cs[0];
        b = cs[1];
    }
    assert_int_equal(a.owned_n, 3);
    /* Another member with the same instance id while i1 is active. */
    cl_init(&c, "mc");
    snprintf(c.instance, sizeof(c.instance), "i1");
    assert_int_equal(hb(&c, "g", "a"), SL_ERR_UNRELEASED_INSTANCE_ID);
    /* i1 leaves with -2: it keeps its partitions, no rebalance. */
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    group_epoch = d.group_epoch;
    assert_int_equal(hb_opt(&a, "g", &leave), SL_OK);
    assert_int_equal(a.epoch, -2);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 2);
    assert_int_equal(d.group_epoch, group_epoch);
    /* It comes back under a new member id and gets the same partitions. */
    cl_init(&c, "mc");
    snprintf(c.instance, sizeof(c.instance), "i1");
    assert_int_equal(hb(&c, "g", "a"), SL_OK);
    assert_int_equal(c.owned_n, 3);
    for (int i = 0; i < a.owned_n; i++) {
        assert_true(owns(&c, (char)a.owned[i].t0, a.owned[i].p));
    }
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 2);
    assert_int_equal(d.group_epoch, group_epoch);
    assert_int_equal(d.state, SL_CGROUP_STATE_STABLE);
    /* The old member id is gone. */
    a.epoch = group_epoch;
    assert_int_equal(hb(&a, "g", NULL), SL_ERR_UNKNOWN_MEMBER_ID);
}

static void
test_static_member_gone_after_session(void **state)
{
    cl_t cs[2];
    hb_opt_t leave = {NULL, NULL, NULL, -2, false, 1};
    sl_cgroup_desc_t d;

    (void)state;
    cl_init(&cs[0], "ma");
    snprintf(cs[0].instance, sizeof(cs[0].instance), "i1");
    cl_init(&cs[1], "mb");
    assert_int_equal(hb(&cs[0], "g", "a"), SL_OK);
    assert_int_equal(hb(&cs[1], "g", "a"), SL_OK);
    converge(cs, 2, "g");
    assert_int_equal(hb_opt(&cs[0], "g", &leave), SL_OK);
    /* i1 does not come back: once its session expires it is removed and
     * mb takes its partitions. */
    now += 40000;
    assert_int_equal(hb(&cs[1], "g", NULL), SL_OK);
    sl_cgroup_coord_tick(cc, now);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 2); /* not yet */
    now += 10000;
    sl_cgroup_coord_tick(cc, now);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 1);
    {
        cl_t one[1] = {cs[1]};

        converge(one, 1, "g");
        assert_int_equal(one[0].owned_n, 6);
    }
}

static void
test_fencing_and_validation_errors(void **state)
{
    cl_t a, x;
    hb_opt_t o = {NULL, NULL, NULL, INT32_MIN, false, 1};

    (void)state;
    cl_init(&a, "ma");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    /* A greater epoch than the coordinator's. */
    o.epoch_override = a.epoch + 1;
    assert_int_equal(hb_opt(&a, "g", &o), SL_ERR_FENCED_MEMBER_EPOCH);
    /* A smaller epoch that is not the previous one. */
    cl_init(&x, "mx");
    assert_int_equal(hb(&x, "g", "a"), SL_OK); /* group epoch 2 */
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.epoch, 2);
    o.epoch_override = 0;
    /* epoch 0 with owned partitions is an invalid join */
    assert_int_equal(hb_opt(&a, "g", &o), SL_ERR_INVALID_REQUEST);
    /* Unknown member, unknown group. */
    cl_init(&x, "nobody");
    x.epoch = 1;
    assert_int_equal(hb(&x, "g", NULL), SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(hb(&x, "nogroup", NULL), SL_ERR_GROUP_ID_NOT_FOUND);
    /* First request without a subscription. */
    cl_init(&x, "m-new");
    assert_int_equal(hb(&x, "g", NULL), SL_ERR_INVALID_REQUEST);
    /* v1 without a member id. */
    cl_init(&x, "");
    assert_int_equal(hb(&x, "g", "a"), SL_ERR_INVALID_REQUEST);
    /* Unknown assignor, bad regex. */
    cl_init(&x, "m-new");
    o = (hb_opt_t){"a", NULL, "sticky", INT32_MIN, false, 1};
    assert_int_equal(hb_opt(&x, "g", &o), SL_ERR_UNSUPPORTED_ASSIGNOR);
    o = (hb_opt_t){NULL, "t(", NULL, INT32_MIN, false, 1};
    assert_int_equal(hb_opt(&x, "g", &o), SL_ERR_INVALID_REGULAR_EXPRESSION);
    o = (hb_opt_t){NULL, "(a*)*\\1", NULL, INT32_MIN, false, 1};
    assert_int_equal(hb_opt(&x, "g", &o), SL_ERR_INVALID_REGULAR_EXPRESSION);
    /* Member epoch -3. */
    o = (hb_opt_t){"a", NULL, NULL, -3, false, 1};
    assert_int_equal(hb_opt(&x, "g", &o), SL_ERR_INVALID_REQUEST);
    /* Group size (5 in this test's config). */
    for (int i = 0; i < 3; i++) {
        char id[8];

        snprintf(id, sizeof(id), "f%d", i);
        cl_init(&x, id);
        assert_int_equal(hb(&x, "g", "a"), SL_OK);
    }
    cl_init(&x, "f9");
    assert_int_equal(hb(&x, "g", "a"), SL_ERR_GROUP_MAX_SIZE_REACHED);
}

static void
test_previous_epoch_accepted_with_subset(void **state)
{
    cl_t a, b, late;
    hb_opt_t o = {NULL, NULL, NULL, INT32_MIN, false, 1};

    (void)state;
    cl_init(&a, "ma");
    cl_init(&b, "mb");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(hb(&b, "g", "a"), SL_OK);
    assert_int_equal(hb(&a, "g", NULL), SL_OK); /* revoking, epoch 1 */
    assert_int_equal(hb(&a, "g", NULL), SL_OK); /* epoch 2 */
    assert_int_equal(a.epoch, 2);
    /* A late heartbeat at the previous epoch owning a subset is fine. */
    late = a;
    late.epoch = 1;
    o.epoch_override = 1;
    assert_int_equal(hb_opt(&late, "g", &o), SL_OK);
    assert_int_equal(late.epoch, 2);
    /* ...but not when it claims partitions it does not have. */
    late = a;
    late.owned_n = 6;
    for (int i = 0; i < 6; i++) {
        late.owned[i].t0 = 'a';
        late.owned[i].t1 = 0;
        late.owned[i].p = i;
    }
    assert_int_equal(hb_opt(&late, "g", &o), SL_ERR_FENCED_MEMBER_EPOCH);
}

static void
test_subscription_change(void **state)
{
    cl_t a;
    sl_cgroup_desc_t d;

    (void)state;
    cl_init(&a, "ma");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(owns_topic(&a, 'a'), 6);
    assert_int_equal(hb(&a, "g", "b"), SL_OK);
    /* a's partitions must go first: epoch stays, assignment empties. */
    assert_int_equal(a.epoch, 1);
    assert_int_equal(a.owned_n, 0);
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.epoch, 2);
    assert_int_equal(owns_topic(&a, 'b'), 3);
    assert_int_equal(owns_topic(&a, 'a'), 0);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.state, SL_CGROUP_STATE_STABLE);
    assert_int_equal(d.members[0].subscribed_topic_names_count, 1);
    assert_true(str_is(d.members[0].subscribed_topic_names[0], "b"));
}

static void
test_regex_picks_up_new_topic(void **state)
{
    hb_opt_t o = {NULL, "t[0-9]+", NULL, INT32_MIN, false, 1};
    cl_t a;
    sl_cgroup_desc_t d;

    (void)state;
    set_topics("a:6,t1:2,x1:4");
    cl_init(&a, "ma");
    assert_int_equal(hb_opt(&a, "g", &o), SL_OK);
    assert_int_equal(a.owned_n, 2);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.group_epoch, 1);
    /* t22 appears in the metadata: the next heartbeat picks it up. */
    set_topics("a:6,t1:2,x1:4,t22:3");
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.owned_n, 5);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.group_epoch, 2);
    assert_true(str_is(d.members[0].subscribed_topic_regex, "t[0-9]+"));
    /* More partitions for t1: picked up as well. */
    set_topics("a:6,t1:4,x1:4,t22:3");
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.owned_n, 7);
}

static void
test_topic_deletion(void **state)
{
    cl_t a;
    sl_cgroup_desc_t d;

    (void)state;
    cl_init(&a, "ma");
    assert_int_equal(hb(&a, "g", "a,b"), SL_OK);
    assert_int_equal(a.owned_n, 9);
    set_topics("a:6");
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    /* b's partitions are revoked first, then the new epoch. */
    assert_int_equal(owns_topic(&a, 'b'), 0);
    assert_int_equal(hb(&a, "g", NULL), SL_OK);
    assert_int_equal(a.epoch, 2);
    assert_int_equal(a.owned_n, 6);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.state, SL_CGROUP_STATE_STABLE);
}

static void
test_leave_and_delete(void **state)
{
    cl_t a, b;
    hb_opt_t leave = {NULL, NULL, NULL, -1, false, 1};
    sl_cgroup_desc_t d;
    int before;

    (void)state;
    cl_init(&a, "ma");
    cl_init(&b, "mb");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(hb(&b, "g", "a"), SL_OK);
    assert_int_equal(sl_cgroup_delete(cc, S("g")), SL_ERR_NON_EMPTY_GROUP);
    assert_int_equal(hb_opt(&b, "g", &leave), SL_OK);
    assert_int_equal(b.epoch, -1);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.members_count, 1);
    /* a takes everything over once it has heartbeaten. */
    {
        cl_t one[1] = {a};

        converge(one, 1, "g");
        assert_int_equal(one[0].owned_n, 6);
        a = one[0];
    }
    assert_int_equal(hb_opt(&a, "g", &leave), SL_OK);
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    assert_int_equal(d.state, SL_CGROUP_STATE_EMPTY);
    before = store->n;
    assert_int_equal(sl_cgroup_delete(cc, S("g")), SL_OK);
    assert_true(store->n > before);
    assert_null(store->rec[store->n - 1].value); /* tombstones */
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d),
                     SL_ERR_GROUP_ID_NOT_FOUND);
    assert_int_equal(sl_cgroup_delete(cc, S("g")), SL_ERR_GROUP_ID_NOT_FOUND);
}

static void
test_offset_commit_epoch_checks(void **state)
{
    cl_t a;

    (void)state;
    cl_init(&a, "ma");
    assert_int_equal(hb(&a, "g", "a"), SL_OK);
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S("ma"), a.epoch, false, 9),
        SL_OK);
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S("ma"), a.epoch + 1, false, 9),
        SL_ERR_STALE_MEMBER_EPOCH);
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S("zz"), a.epoch, false, 9),
        SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S("ma"), a.epoch, false, 8),
        SL_ERR_UNSUPPORTED_VERSION);
    /* Admin commit to a group with members; admin fetch is fine. */
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S(""), -1, false, 9),
        SL_ERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(sl_cgroup_validate_offsets(cc, S("g"), NUL, -1, true, 9),
                     SL_OK);
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("g"), S("ma"), 0, true, 9),
        SL_ERR_STALE_MEMBER_EPOCH);
    /* OffsetDelete is refused for subscribed topics. */
    assert_true(sl_cgroup_subscribed(cc, S("g"), S("a")));
    assert_false(sl_cgroup_subscribed(cc, S("g"), S("b")));
    assert_false(sl_cgroup_subscribed(cc, S("nogroup"), S("a")));
    /* Not a consumer group: nothing to check here. */
    assert_int_equal(
        sl_cgroup_validate_offsets(cc, S("other"), S("x"), 3, false, 9), SL_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_join_gets_id_epoch_assignment),
        T(test_second_member_waits_for_revocation),
        T(test_uniform_balanced_and_sticky),
        T(test_uniform_heterogeneous),
        T(test_range_assignor),
        T(test_session_timeout_removes_member),
        T(test_rebalance_timeout_fences_slow_revoker),
        T(test_static_member_leave_and_rejoin),
        T(test_static_member_gone_after_session),
        T(test_fencing_and_validation_errors),
        T(test_previous_epoch_accepted_with_subset),
        T(test_subscription_change),
        T(test_regex_picks_up_new_topic),
        T(test_topic_deletion),
        T(test_leave_and_delete),
        T(test_offset_commit_epoch_checks),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
