/* Shared helpers of the consumer group protocol tests: a fake topic image,
 * a coordinator over the fake store of group_test_util.h, and a client
 * model that heartbeats the way a KIP-848 consumer does (it adopts every
 * assignment at once and reports what it owns). */
#ifndef SL_TEST_CONSUMER_UTIL_H
#define SL_TEST_CONSUMER_UTIL_H

#include "group_test_util.h"

#include "group/consumer.h"

/* Topic ids: first byte 1, 2, 3, ... */
static sl_cgroup_topic_t topics_v[8];
static sl_cgroup_topics_t topics;

static inline void
set_topics(const char *spec)
{
    /* "a:6,b:3": names and partition counts; ids from the name's letter */
    static char names[8][32];
    const char *p = spec;
    int n = 0;

    while (*p != '\0' && n < 8) {
        const char *colon = strchr(p, ':');
        size_t len = (size_t)(colon - p);

        memcpy(names[n], p, len);
        names[n][len] = '\0';
        memset(&topics_v[n], 0, sizeof(topics_v[n]));
        topics_v[n].name = S(names[n]);
        topics_v[n].id.b[0] = (uint8_t)names[n][0];
        topics_v[n].id.b[1] = (uint8_t)(len > 1 ? names[n][1] : 0);
        topics_v[n].partitions = atoi(colon + 1);
        n++;
        p = strchr(colon, ',');
        p = p != NULL ? p + 1 : colon + strlen(colon);
    }
    topics.v = topics_v;
    topics.n = n;
}

/* A client: what it believes it is and owns. */
typedef struct cl_s {
    char id[64];
    char instance[32];
    int32_t epoch;
    int owned_n;
    struct {
        uint8_t t0, t1;
        int32_t p;
    } owned[64];
    /* last answer */
    sl_err_t err;
    bool got_assignment;
} cl_t;

typedef struct hb_out_s {
    int calls;
    sl_err_t err;
    char member[64];
    int32_t epoch;
    bool has;
    int n;
    struct {
        uint8_t t0, t1;
        int32_t p;
    } tps[64];
} hb_out_t;

static inline void
hb_cb(void *arg, const sl_cgroup_hb_result_t *r)
{
    hb_out_t *o = arg;
    int32_t i, j;

    o->calls++;
    o->err = r->error;
    gt_copy(o->member, sizeof(o->member), r->member_id);
    o->epoch = r->member_epoch;
    o->has = r->has_assignment;
    o->n = 0;
    for (i = 0; r->has_assignment && i < r->assignment_count; i++) {
        for (j = 0; j < r->assignment[i].partitions_count && o->n < 64; j++) {
            o->tps[o->n].t0 = r->assignment[i].topic_id.b[0];
            o->tps[o->n].t1 = r->assignment[i].topic_id.b[1];
            o->tps[o->n].p = r->assignment[i].partitions[j];
            o->n++;
        }
    }
}

static sl_cgroup_coord_t *cc;
static gt_store_t *store;
static sl_arena_t *arena;
static int64_t now;

static inline int
setup(void **state)
{
    sl_cgroup_config_t cfg;
    sl_group_store_t st;

    (void)state;
    store = calloc(1, sizeof(*store));
    memset(&st, 0, sizeof(st));
    st.ctx = store;
    st.append = gt_append;
    sl_cgroup_config_defaults(&cfg);
    cfg.max_size = 5;
    cc = sl_cgroup_coord_create(&cfg, &st);
    arena = sl_arena_create(4096, 16u << 20);
    now = 1000000;
    set_topics("a:6,b:3");
    return 0;
}

static inline int
teardown(void **state)
{
    (void)state;
    sl_cgroup_coord_destroy(cc);
    gt_store_free(store);
    sl_arena_destroy(arena);
    return 0;
}

typedef struct hb_opt_s {
    const char *subscribe; /* "a,b"; NULL: unchanged */
    const char *regex;
    const char *assignor;
    int32_t epoch_override; /* INT32_MIN: the client's */
    bool no_owned;          /* send null TopicPartitions */
    int16_t version;
} hb_opt_t;

/* One heartbeat of <c> as a well-behaved client; returns the error. */
static inline sl_err_t
hb_opt(cl_t *c, const char *group, const hb_opt_t *o)
{
    sl_cgroup_hb_req_t q;
    sl_str_t names[8];
    sl_cgroup_tps_t owned[8];
    int32_t parts[8][64];
    hb_out_t out;
    int n = 0, i;

    memset(&q, 0, sizeof(q));
    memset(&out, 0, sizeof(out));
    q.version = o->version;
    q.group_id = S(group);
    q.member_id = S(c->id);
    q.member_epoch =
        o->epoch_override != INT32_MIN ? o->epoch_override : c->epoch;
    q.instance_id = c->instance[0] ? S(c->instance) : NUL;
    q.rack_id = NUL;
    q.rebalance_timeout_ms = q.member_epoch == 0 ? 300000 : -1;
    q.subscribed_topic_regex = o->regex ? S(o->regex) : NUL;
    q.server_assignor = o->assignor ? S(o->assignor) : NUL;
    q.client_id = S("client");
    q.client_host = S("/127.0.0.1");
    if (o->subscribe != NULL) {
        static char buf[128];
        char *save = NULL, *tok;

        snprintf(buf, sizeof(buf), "%s", o->subscribe);
        for (tok = strtok_r(buf, ",", &save); tok != NULL;
             tok = strtok_r(NULL, ",", &save)) {
            names[n++] = S(tok);
        }
        q.subscribed_topic_names = names;
        q.subscribed_topic_names_count = n;
    }
    n = 0;
    if (q.member_epoch != 0) {
        for (i = 0; i < c->owned_n; i++) {
            int k;

            for (k = 0; k < n; k++) {
                if (owned[k].topic_id.b[0] == c->owned[i].t0 &&
                    owned[k].topic_id.b[1] == c->owned[i].t1) {
                    break;
                }
            }
            if (k == n) {
                memset(&owned[n], 0, sizeof(owned[n]));
                owned[n].topic_id.b[0] = c->owned[i].t0;
                owned[n].topic_id.b[1] = c->owned[i].t1;
                owned[n].partitions = parts[n];
                n++;
            }
            parts[k][owned[k].partitions_count++] = c->owned[i].p;
        }
    }
    q.owned = o->no_owned ? NULL : owned;
    q.owned_count = n;
    sl_cgroup_heartbeat(cc, now, &q, &topics, arena, hb_cb, &out);
    gt_flush(store, SL_OK);
    assert_int_equal(out.calls, 1);
    c->err = out.err;
    c->got_assignment = out.has;
    if (out.err == SL_OK) {
        snprintf(c->id, sizeof(c->id), "%s", out.member);
        c->epoch = out.epoch;
        if (out.has) {
            c->owned_n = out.n;
            for (i = 0; i < out.n; i++) {
                c->owned[i].t0 = out.tps[i].t0;
                c->owned[i].t1 = out.tps[i].t1;
                c->owned[i].p = out.tps[i].p;
            }
        }
    }
    return out.err;
}

static inline sl_err_t
hb(cl_t *c, const char *group, const char *subscribe)
{
    hb_opt_t o = {subscribe, NULL, NULL, INT32_MIN, false, 1};

    return hb_opt(c, group, &o);
}

static inline void
cl_init(cl_t *c, const char *id)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->id, sizeof(c->id), "%s", id);
}

static inline int
owns(const cl_t *c, char topic, int32_t p)
{
    for (int i = 0; i < c->owned_n; i++) {
        if (c->owned[i].t0 == (uint8_t)topic && c->owned[i].p == p) {
            return 1;
        }
    }
    return 0;
}

static inline int
owns_topic(const cl_t *c, char topic)
{
    int n = 0;

    for (int i = 0; i < c->owned_n; i++) {
        n += c->owned[i].t0 == (uint8_t)topic;
    }
    return n;
}

/* Heartbeat everyone until the group is Stable (at most <rounds>). */
static inline void
converge(cl_t *cs, int n, const char *group)
{
    sl_cgroup_desc_t d;

    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < n; i++) {
            assert_int_equal(hb(&cs[i], group, NULL), SL_OK);
        }
        assert_int_equal(sl_cgroup_describe(cc, S(group), arena, &d), SL_OK);
        if (d.state == SL_CGROUP_STATE_STABLE) {
            return;
        }
    }
    fail_msg("group did not become Stable");
}

/* Every partition of the image owned exactly once among <cs>. */
static inline void
assert_exact_cover(const cl_t *cs, int n, const char *topics_list)
{
    for (int t = 0; t < topics.n; t++) {
        char name = topics.v[t].name.ptr[0];

        if (strchr(topics_list, name) == NULL) {
            continue;
        }
        for (int32_t p = 0; p < topics.v[t].partitions; p++) {
            int k = 0;

            for (int i = 0; i < n; i++) {
                k += owns(&cs[i], name, p);
            }
            assert_int_equal(k, 1);
        }
    }
}

#endif
