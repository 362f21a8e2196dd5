/* Randomised runs of the consumer group protocol: clients join, heartbeat,
 * change subscriptions and leave in random order while topics grow. What a
 * user relies on is checked after every step: no partition is ever owned
 * by two clients at once (a member gets a partition only after its previous
 * owner revoked it), and once the churn stops the group settles: Stable,
 * every subscribed partition owned exactly once, balanced to within one
 * partition. */
#include "consumer_test_util.h"

#define SIM_CLIENTS 5 /* the test config allows 5 members */

static uint64_t sim_seed;

static uint32_t
sim_rand(uint32_t n)
{
    sim_seed = sim_seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(sim_seed >> 33) % n;
}

/* No partition in two clients' owned sets. */
static void
sim_check_exclusive(const cl_t *cs, const bool *in)
{
    for (int i = 0; i < SIM_CLIENTS; i++) {
        for (int k = 0; in[i] && k < cs[i].owned_n; k++) {
            for (int j = i + 1; j < SIM_CLIENTS; j++) {
                if (in[j] &&
                    owns(&cs[j], (char)cs[i].owned[k].t0, cs[i].owned[k].p)) {
                    fail_msg("partition %c-%d owned by %s and %s",
                             cs[i].owned[k].t0, cs[i].owned[k].p, cs[i].id,
                             cs[j].id);
                }
            }
        }
    }
}

static void
sim_run(uint64_t seed, const char *assignor)
{
    cl_t cs[SIM_CLIENTS];
    bool in[SIM_CLIENTS] = {false};
    hb_opt_t leave = {NULL, NULL, NULL, -1, false, 1};
    int a_parts = 6;
    sl_cgroup_desc_t d;

    sim_seed = seed;
    set_topics("a:6,b:4");
    for (int i = 0; i < SIM_CLIENTS; i++) {
        char id[16];

        snprintf(id, sizeof(id), "c%d", i);
        cl_init(&cs[i], id);
    }
    for (int step = 0; step < 400; step++) {
        int i = (int)sim_rand(SIM_CLIENTS);
        uint32_t what = sim_rand(100);

        if (!in[i]) {
            hb_opt_t o = {
                sim_rand(2) ? "a,b" : "a", NULL, assignor, INT32_MIN, false, 1};

            if (what < 50) {
                cs[i].epoch = 0;
                cs[i].owned_n = 0;
                assert_int_equal(hb_opt(&cs[i], "g", &o), SL_OK);
                in[i] = true;
            }
        } else if (what < 8) {
            assert_int_equal(hb_opt(&cs[i], "g", &leave), SL_OK);
            in[i] = false;
            cs[i].owned_n = 0;
        } else if (what < 12) {
            hb_opt_t o = {
                sim_rand(2) ? "a,b" : "b", NULL, NULL, INT32_MIN, false, 1};

            assert_int_equal(hb_opt(&cs[i], "g", &o), SL_OK);
        } else if (what < 14 && a_parts < 12) {
            char spec[32];

            snprintf(spec, sizeof(spec), "a:%d,b:4", ++a_parts);
            set_topics(spec);
            assert_int_equal(hb(&cs[i], "g", NULL), SL_OK);
        } else {
            assert_int_equal(hb(&cs[i], "g", NULL), SL_OK);
        }
        sim_check_exclusive(cs, in);
    }
    /* Settle: everyone heartbeats until Stable. */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < SIM_CLIENTS; i++) {
            if (in[i]) {
                assert_int_equal(hb(&cs[i], "g", NULL), SL_OK);
                sim_check_exclusive(cs, in);
            }
        }
    }
    assert_int_equal(sl_cgroup_describe(cc, S("g"), arena, &d), SL_OK);
    if (d.members_count == 0) {
        return;
    }
    assert_int_equal(d.state, SL_CGROUP_STATE_STABLE);
    /* Exact cover of every partition someone subscribes to. */
    for (int t = 0; t < topics.n; t++) {
        char name = topics.v[t].name.ptr[0];
        bool subscribed = false;

        for (int m = 0; m < d.members_count; m++) {
            for (int k = 0; k < d.members[m].subscribed_topic_names_count;
                 k++) {
                subscribed |=
                    d.members[m].subscribed_topic_names[k].ptr[0] == name;
            }
        }
        for (int32_t p = 0; p < topics.v[t].partitions; p++) {
            int owners = 0;

            for (int i = 0; i < SIM_CLIENTS; i++) {
                owners += in[i] && owns(&cs[i], name, p);
            }
            assert_int_equal(owners, subscribed ? 1 : 0);
        }
    }
    /* Balanced when everyone subscribes to the same topics (uniform). */
    if (strcmp(assignor, "uniform") == 0) {
        bool same = true;
        int lo = INT32_MAX, hi = 0;

        for (int m = 1; m < d.members_count; m++) {
            const sl_cgroup_member_desc_t *x = &d.members[m],
                                          *y = &d.members[0];

            same &= x->subscribed_topic_names_count ==
                    y->subscribed_topic_names_count;
            for (int k = 0; same && k < x->subscribed_topic_names_count; k++) {
                same = sl_str_eq(x->subscribed_topic_names[k],
                                 y->subscribed_topic_names[k]);
            }
        }
        for (int i = 0; i < SIM_CLIENTS; i++) {
            if (in[i]) {
                lo = cs[i].owned_n < lo ? cs[i].owned_n : lo;
                hi = cs[i].owned_n > hi ? cs[i].owned_n : hi;
            }
        }
        if (same) {
            assert_true(hi - lo <= 1);
        }
    }
}

static void
test_sim_uniform(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        teardown(NULL);
        setup(NULL);
        sim_run(seed, "uniform");
    }
}

static void
test_sim_range(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed <= 120; seed++) {
        teardown(NULL);
        setup(NULL);
        sim_run(seed, "range");
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sim_uniform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_range, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
