/* Unit tests of the consumer group protocol's records
 * (group/consumer_records.c): what a coordinator writes to
 * __consumer_offsets rebuilds the same groups, hostile bytes never crash the
 * loader, and a heartbeat whose records fail is not acknowledged. */
#include "consumer_test_util.h"

/* Replay every record into a fresh coordinator; compare descriptions. */
static void
test_records_reload(void **state)
{
    sl_cgroup_coord_t *again;
    sl_cgroup_config_t cfg;
    sl_cgroup_desc_t d1, d2;
    cl_t cs[3];
    hb_opt_t leave = {NULL, NULL, NULL, -1, false, 1};
    hb_opt_t rx = {NULL, "t.*", NULL, INT32_MIN, false, 1};

    (void)state;
    set_topics("a:6,b:3,t1:2");
    cl_init(&cs[0], "m0");
    cl_init(&cs[1], "m1");
    cl_init(&cs[2], "m2");
    snprintf(cs[1].instance, sizeof(cs[1].instance), "inst");
    assert_int_equal(hb(&cs[0], "g", "a,b"), SL_OK);
    assert_int_equal(hb(&cs[1], "g", "a"), SL_OK);
    assert_int_equal(hb_opt(&cs[2], "g", &rx), SL_OK);
    converge(cs, 3, "g");
    assert_int_equal(hb_opt(&cs[2], "g", &leave), SL_OK);
    assert_int_equal(hb(&cs[0], "g", NULL), SL_OK); /* mid-reconciliation */
    cl_init(&cs[2], "h0");
    assert_int_equal(hb(&cs[2], "h", "b"), SL_OK);
    assert_int_equal(hb_opt(&cs[2], "h", &leave), SL_OK); /* h: Empty */

    sl_cgroup_config_defaults(&cfg);
    again = sl_cgroup_coord_create(&cfg, NULL);
    for (int i = 0; i < store->n; i++) {
        assert_int_equal(sl_cgroup_coord_load(again, now, store->rec[i].key,
                                              store->rec[i].key_len,
                                              store->rec[i].value,
                                              store->rec[i].value_len),
                         SL_OK);
    }
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d1), SL_OK);
    assert_int_equal(sl_cgroup_describe(again, S("g"), arena, &d2), SL_OK);
    assert_int_equal(d1.state, d2.state);
    assert_int_equal(d1.group_epoch, d2.group_epoch);
    assert_int_equal(d1.assignment_epoch, d2.assignment_epoch);
    assert_int_equal(d1.members_count, d2.members_count);
    for (int i = 0; i < d1.members_count; i++) {
        const sl_cgroup_member_desc_t *x = &d1.members[i], *y = NULL;

        for (int j = 0; j < d2.members_count; j++) {
            if (sl_str_eq(d2.members[j].member_id, x->member_id)) {
                y = &d2.members[j];
            }
        }
        assert_non_null(y);
        assert_int_equal(x->member_epoch, y->member_epoch);
        assert_int_equal(x->state, y->state);
        assert_true(sl_str_eq(x->instance_id, y->instance_id));
        assert_true(sl_str_eq(x->client_id, y->client_id));
        assert_int_equal(x->subscribed_topic_names_count,
                         y->subscribed_topic_names_count);
        assert_int_equal(x->assignment_count, y->assignment_count);
        assert_int_equal(x->target_count, y->target_count);
        for (int k = 0; k < x->assignment_count; k++) {
            assert_true(sl_uuid_eq(&x->assignment[k].topic_id,
                                   &y->assignment[k].topic_id));
            assert_true(sl_str_eq(x->assignment[k].topic_name,
                                  y->assignment[k].topic_name));
            assert_int_equal(x->assignment[k].partitions_count,
                             y->assignment[k].partitions_count);
        }
    }
    assert_int_equal(sl_cgroup_describe(again, S("h"), arena, &d2), SL_OK);
    assert_int_equal(d2.state, SL_CGROUP_STATE_EMPTY);
    /* Hostile bytes: errors, no crash. */
    {
        uint8_t k[] = {0, 5, 0, 1, 'g'};
        uint8_t v[] = {0, 0, 0xff, 0xff, 0xff};

        assert_int_equal(
            sl_cgroup_coord_load(again, now, k, sizeof(k), v, sizeof(v)),
            SL_ERR__CORRUPT);
        assert_int_equal(sl_cgroup_coord_load(again, now, k, 1, NULL, 0),
                         SL_ERR__CORRUPT);
        k[1] = 2;
        assert_int_equal(
            sl_cgroup_coord_load(again, now, k, sizeof(k), v, sizeof(v)),
            SL_ERR__UNSUPPORTED);
    }
    sl_cgroup_coord_destroy(again);
}

/* Mutated records (hostile disk bytes) never crash the loader, and the
 * state they leave behind still serves heartbeats. */
static void
test_load_mutated_records(void **state)
{
    sl_cgroup_coord_t *again;
    sl_cgroup_config_t cfg;
    sl_cgroup_listing_t *ls;
    int32_t nls;
    uint64_t seed = 42;
    cl_t cs[3];
    hb_opt_t rx = {NULL, "[ab]", NULL, INT32_MIN, false, 1};

    (void)state;
    cl_init(&cs[0], "m0");
    cl_init(&cs[1], "m1");
    cl_init(&cs[2], "m2");
    snprintf(cs[1].instance, sizeof(cs[1].instance), "inst");
    assert_int_equal(hb(&cs[0], "g", "a,b"), SL_OK);
    assert_int_equal(hb(&cs[1], "g", "a"), SL_OK);
    assert_int_equal(hb_opt(&cs[2], "g", &rx), SL_OK);
    converge(cs, 3, "g");
    sl_cgroup_config_defaults(&cfg);
    again = sl_cgroup_coord_create(&cfg, NULL);
    for (int it = 0; it < 20000; it++) {
        const gt_record_t *r = &store->rec[it % store->n];
        uint8_t key[512], val[4096];
        size_t kl = r->key_len < sizeof(key) ? r->key_len : sizeof(key);
        size_t vl = r->value_len < sizeof(val) ? r->value_len : sizeof(val);
        int flips;

        memcpy(key, r->key, kl);
        if (r->value != NULL) {
            memcpy(val, r->value, vl);
        }
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        flips = (int)(seed >> 60) % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            if ((seed >> 33) & 1 && vl > 0) {
                val[(seed >> 40) % vl] ^= (uint8_t)(1u << ((seed >> 20) % 8));
            } else if (kl > 2) {
                key[2 + (seed >> 40) % (kl - 2)] ^=
                    (uint8_t)(1u << ((seed >> 20) % 8));
            }
        }
        if ((seed >> 50) % 5 == 0 && vl > 0) {
            vl = (size_t)((seed >> 8) % vl); /* truncated */
        }
        (void)sl_cgroup_coord_load(again, now, key, kl,
                                   r->value != NULL ? val : NULL, vl);
    }
    assert_int_equal(sl_cgroup_list(again, arena, &ls, &nls), SL_OK);
    for (int i = 0; i < nls; i++) {
        sl_cgroup_desc_t d;
        sl_cgroup_hb_req_t q;
        sl_cgroup_tps_t none[1];
        hb_out_t out;

        assert_int_equal(sl_cgroup_describe(again, ls[i].group_id, arena, &d),
                         SL_OK);
        for (int m = 0; m < d.members_count; m++) {
            memset(&q, 0, sizeof(q));
            memset(&out, 0, sizeof(out));
            q.version = 1;
            q.group_id = ls[i].group_id;
            q.member_id = d.members[m].member_id;
            q.member_epoch = d.members[m].member_epoch;
            q.instance_id = NUL;
            q.rack_id = NUL;
            q.rebalance_timeout_ms = -1;
            q.subscribed_topic_regex = NUL;
            q.server_assignor = NUL;
            q.owned = none;
            sl_cgroup_heartbeat(again, now, &q, &topics, arena, hb_cb, &out);
            assert_int_equal(out.calls, 1);
        }
    }
    sl_cgroup_coord_tick(again, now + 3600000);
    sl_cgroup_coord_destroy(again);
}

static void
test_store_failure_reported(void **state)
{
    sl_cgroup_hb_req_t q;
    sl_str_t names[1] = {S("a")};
    sl_cgroup_tps_t none[1];
    hb_out_t out;

    (void)state;
    memset(&q, 0, sizeof(q));
    memset(&out, 0, sizeof(out));
    q.version = 1;
    q.group_id = S("g");
    q.member_id = S("ma");
    q.instance_id = NUL;
    q.rack_id = NUL;
    q.rebalance_timeout_ms = 1000;
    q.subscribed_topic_names = names;
    q.subscribed_topic_names_count = 1;
    q.subscribed_topic_regex = NUL;
    q.server_assignor = NUL;
    q.owned = none;
    sl_cgroup_heartbeat(cc, now, &q, &topics, arena, hb_cb, &out);
    assert_int_equal(out.calls, 0); /* waits for the store */
    gt_flush(store, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(out.calls, 1);
    assert_int_equal(out.err, SL_ERR_COORDINATOR_NOT_AVAILABLE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_records_reload),
        T(test_load_mutated_records),
        T(test_store_failure_reported),
#undef T
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
