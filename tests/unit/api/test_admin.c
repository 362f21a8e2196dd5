/* Unit tests for the admin handlers (api/topics.c, configs.c, cluster.c,
 * records.c) on a real broker context over a temporary data directory:
 * each handler at each version it serves is fed random requests (the
 * generated random_fill, with names steered to existing topics, hostile
 * names and internal topics), must answer SL_OK (or SL_ERR__NOMEM at the
 * arena cap), and its response must encode to exactly size() bytes and
 * decode back equal. A few direct checks pin behaviour the random runs
 * cannot (duplicates, paging, delete records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/alter_configs.h"
#include "proto/gen/api_table.h"
#include "proto/gen/create_partitions.h"
#include "proto/gen/create_topics.h"
#include "proto/gen/delete_records.h"
#include "proto/gen/delete_topics.h"
#include "proto/gen/describe_configs.h"
#include "proto/gen/describe_log_dirs.h"
#include "proto/gen/describe_topic_partitions.h"
#include "proto/gen/incremental_alter_configs.h"
#include "proto/gen/offset_for_leader_epoch.h"

static char tmpdir[256];
static sl_config_t *cfg;
static sl_api_t *api;

static void
rm_rf(const char *path)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static int
setup(void **state)
{
    char why[128];

    (void)state;
    sl_log_set_level(SL_LOG_ERROR);
    snprintf(tmpdir, sizeof(tmpdir), "%s/sl-admin-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    cfg = sl_config_create();
    assert_non_null(cfg);
    assert_int_equal(sl_config_set(cfg, "log.dirs", tmpdir, why, sizeof(why)),
                     SL_OK);
    assert_int_equal(sl_config_set(cfg, "listeners",
                                   "PLAINTEXT://127.0.0.1:9092", why,
                                   sizeof(why)),
                     SL_OK);
    api = sl_api_create(cfg);
    assert_non_null(api);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sl_api_destroy(api);
    sl_config_destroy(cfg);
    rm_rf(tmpdir);
    return 0;
}

/* Run handler <fn> for <key>/<version> on <req>; check the response
 * encodes, decodes and compares equal. Returns the handler's result. */
static sl_err_t
run(int16_t key, int16_t version, sl_api_handler_fn fn, const void *req,
    void *resp, sl_arena_t *a)
{
    const sl_api_codec_t *c = sl_api_codec(key);
    sl_api_req_t r;
    sl_err_t err;

    memset(&r, 0, sizeof(r));
    r.api = api;
    r.arena = a;
    r.key = key;
    r.version = version;
    r.body = req;
    r.resp = resp;
    c->resp.init(resp);
    err = fn(&r, req, resp);
    if (err == SL_OK) {
        size_t n = c->resp.size(resp, version), n2;
        uint8_t *buf = malloc(n + 1);
        void *back = sl_arena_zalloc(a, c->resp.struct_size);
        sl_wr_t wr;
        sl_rd_t rd;

        assert_non_null(buf);
        sl_wr_init(&wr, buf, n);
        assert_int_equal(c->resp.encode(&wr, version, resp), SL_OK);
        n2 = sl_wr_written(&wr);
        assert_int_equal(n2, n);
        if (back != NULL) {
            c->resp.init(back);
            sl_rd_init(&rd, buf, n);
            assert_int_equal(c->resp.decode(&rd, version, a, back), SL_OK);
            assert_true(c->resp.eq(resp, back, version));
        }
        free(buf);
    }
    return err;
}

/* ---- name steering for random requests ---- */

static const char *const names[] = {
    "t0", "t1", "__consumer_offsets", "", "a.b", "bad name", "x\0y",
};

static void
steer(sl_str_t *s, uint64_t *seed)
{
    uint64_t r = sl_rand_u64(seed) % 10;

    if (r < 7) {
        const char *n = names[r];

        s->ptr = n;
        s->len = r == 6 ? 3 : (int32_t)strlen(n);
    }
}

static void
fix_request(int16_t key, void *m, uint64_t *seed)
{
    int32_t i, j;

    switch (key) {
    case 19: {
        sl_msg_create_topics_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].name, seed);
            q->topics[i].num_partitions %= 4;
            for (j = 0; j < q->topics[i].assignments_count; j++) {
                q->topics[i].assignments[j].partition_index %= 3;
            }
        }
        break;
    }
    case 20: {
        sl_msg_delete_topics_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            if (q->topics[i].name.len >= 0) {
                steer(&q->topics[i].name, seed);
            }
        }
        for (i = 0; i < q->topic_names_count; i++) {
            steer(&q->topic_names[i], seed);
        }
        break;
    }
    case 21: {
        sl_msg_delete_records_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].name, seed);
            for (j = 0; j < q->topics[i].partitions_count; j++) {
                q->topics[i].partitions[j].partition_index %= 3;
                q->topics[i].partitions[j].offset %= 12;
            }
        }
        break;
    }
    case 23: {
        sl_msg_offset_for_leader_epoch_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].topic, seed);
            for (j = 0; j < q->topics[i].partitions_count; j++) {
                q->topics[i].partitions[j].partition %= 3;
                q->topics[i].partitions[j].leader_epoch %= 3;
                q->topics[i].partitions[j].current_leader_epoch %= 3;
            }
        }
        break;
    }
    case 32: {
        sl_msg_describe_configs_req_t *q = m;

        for (i = 0; i < q->resources_count; i++) {
            q->resources[i].resource_type =
                (int8_t)(sl_rand_u64(seed) % 2 ? 2
                                               : q->resources[i].resource_type);
            steer(&q->resources[i].resource_name, seed);
        }
        break;
    }
    case 33: {
        sl_msg_alter_configs_req_t *q = m;

        for (i = 0; i < q->resources_count; i++) {
            q->resources[i].resource_type = 2;
            steer(&q->resources[i].resource_name, seed);
        }
        break;
    }
    case 44: {
        sl_msg_incremental_alter_configs_req_t *q = m;

        for (i = 0; i < q->resources_count; i++) {
            q->resources[i].resource_type = 2;
            steer(&q->resources[i].resource_name, seed);
            for (j = 0; j < q->resources[i].configs_count; j++) {
                q->resources[i].configs[j].name.ptr = "retention.ms";
                q->resources[i].configs[j].name.len = 12;
                q->resources[i].configs[j].config_operation %= 5;
            }
        }
        break;
    }
    case 35: {
        sl_msg_describe_log_dirs_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].topic, seed);
        }
        break;
    }
    case 37: {
        sl_msg_create_partitions_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].name, seed);
            q->topics[i].count %= 8;
        }
        break;
    }
    case 75: {
        sl_msg_describe_topic_partitions_req_t *q = m;

        for (i = 0; i < q->topics_count; i++) {
            steer(&q->topics[i].name, seed);
        }
        if (q->cursor_present) {
            steer(&q->cursor.topic_name, seed);
        }
        break;
    }
    default:
        break;
    }
}

static void
test_random_requests(void **state)
{
    static const struct {
        int16_t key, lo, hi;
        sl_api_handler_fn fn;
    } apis[] = {
        {19, 2, 7, sl_api_create_topics_handle},
        {20, 1, 6, sl_api_delete_topics_handle},
        {21, 0, 2, sl_api_delete_records_handle},
        {23, 2, 4, sl_api_offset_for_leader_epoch_handle},
        {32, 1, 4, sl_api_describe_configs_handle},
        {33, 0, 2, sl_api_alter_configs_handle},
        {35, 1, 4, sl_api_describe_log_dirs_handle},
        {37, 0, 3, sl_api_create_partitions_handle},
        {44, 0, 1, sl_api_incremental_alter_configs_handle},
        {75, 0, 0, sl_api_describe_topic_partitions_handle},
    };
    uint64_t seed = 12345;
    size_t i;
    int iter;

    (void)state;
    for (iter = 0; iter < 150; iter++) {
        for (i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
            const sl_api_codec_t *c = sl_api_codec(apis[i].key);
            int16_t v;

            for (v = apis[i].lo; v <= apis[i].hi; v++) {
                sl_arena_t *a = sl_arena_create(8192, 16u << 20);
                void *req, *resp;
                sl_err_t err;

                assert_non_null(a);
                req = sl_arena_zalloc(a, c->req.struct_size);
                resp = sl_arena_zalloc(a, c->resp.struct_size);
                assert_non_null(req);
                assert_non_null(resp);
                c->req.init(req);
                c->req.random_fill(req, v, a, &seed);
                fix_request(apis[i].key, req, &seed);
                err = run(apis[i].key, v, apis[i].fn, req, resp, a);
                if (err != SL_OK && err != SL_ERR__NOMEM) {
                    fail_msg("key %d v%d: %s", apis[i].key, v,
                             sl_err_name(err));
                }
                sl_arena_destroy(a);
            }
        }
    }
    /* The steered names made real topics, so handlers met real logs. */
    assert_true(sl_metastore_topic_count(api->meta) >= 2);
}

/* ---- direct checks ---- */

static sl_msg_create_topics_resp_t *
create(sl_arena_t *a, const char *const *tn, const int32_t *np, int32_t n)
{
    sl_msg_create_topics_req_t *q = sl_arena_zalloc(a, sizeof(*q));
    sl_msg_create_topics_resp_t *p = sl_arena_zalloc(a, sizeof(*p));
    int32_t i;

    sl_msg_create_topics_req_init(q);
    q->topics = sl_arena_calloc(a, (size_t)n, sizeof(*q->topics));
    q->topics_count = n;
    for (i = 0; i < n; i++) {
        sl_msg_create_topics_req_creatable_topic_init(&q->topics[i]);
        q->topics[i].name = sl_str_lit(tn[i]);
        q->topics[i].num_partitions = np[i];
        q->topics[i].replication_factor = -1;
    }
    assert_int_equal(run(19, 7, sl_api_create_topics_handle, q, p, a), SL_OK);
    return p;
}

static void
test_create_duplicates(void **state)
{
    static const char *const tn[] = {"d1", "d2", "d1", "d1"};
    static const int32_t np[] = {1, 2, 1, 1};
    sl_arena_t *a = sl_arena_create(8192, 0);
    sl_msg_create_topics_resp_t *p;

    (void)state;
    p = create(a, tn, np, 4);
    assert_int_equal(p->topics_count, 2);
    assert_int_equal(p->topics[0].error_code, SL_ERR_INVALID_REQUEST);
    assert_int_equal(p->topics[1].error_code, 0);
    assert_int_equal(p->topics[1].num_partitions, 2);
    assert_int_equal(p->topics[1].error_message.len, -1);
    sl_arena_destroy(a);
}

static void
test_paging(void **state)
{
    static const char *const tn[] = {"pg-a", "pg-b"};
    static const int32_t np[] = {3, 2};
    sl_arena_t *a = sl_arena_create(8192, 0);
    sl_msg_describe_topic_partitions_req_t q;
    sl_msg_describe_topic_partitions_req_topic_request_t t[2];
    sl_msg_describe_topic_partitions_resp_t p;
    int pages = 0, parts = 0;

    (void)state;
    create(a, tn, np, 2);
    sl_msg_describe_topic_partitions_req_init(&q);
    sl_msg_describe_topic_partitions_req_topic_request_init(&t[0]);
    sl_msg_describe_topic_partitions_req_topic_request_init(&t[1]);
    t[0].name = sl_str_lit("pg-b");
    t[1].name = sl_str_lit("pg-a");
    q.topics = t;
    q.topics_count = 2;
    q.response_partition_limit = 2;
    do {
        int32_t i;

        assert_int_equal(
            run(75, 0, sl_api_describe_topic_partitions_handle, &q, &p, a),
            SL_OK);
        for (i = 0; i < p.topics_count; i++) {
            parts += p.topics[i].partitions_count;
        }
        pages++;
        q.cursor_present = p.next_cursor_present;
        q.cursor.topic_name = p.next_cursor.topic_name;
        q.cursor.partition_index = p.next_cursor.partition_index;
    } while (p.next_cursor_present && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(parts, 5);
    sl_arena_destroy(a);
}

static void
test_delete_topic_removes_dirs(void **state)
{
    static const char *const tn[] = {"gone"};
    static const int32_t np[] = {2};
    sl_arena_t *a = sl_arena_create(8192, 0);
    sl_msg_delete_topics_req_t q;
    sl_msg_delete_topics_resp_t p;
    sl_str_t name = sl_str_lit("gone");
    char dir[300];
    struct stat st;

    (void)state;
    create(a, tn, np, 1);
    snprintf(dir, sizeof(dir), "%s/gone-1", tmpdir);
    assert_int_equal(stat(dir, &st), 0);
    sl_msg_delete_topics_req_init(&q);
    q.topic_names = &name;
    q.topic_names_count = 1;
    assert_int_equal(run(20, 5, sl_api_delete_topics_handle, &q, &p, a), SL_OK);
    assert_int_equal(p.responses_count, 1);
    assert_int_equal(p.responses[0].error_code, 0);
    assert_int_not_equal(stat(dir, &st), 0);
    assert_int_equal(run(20, 5, sl_api_delete_topics_handle, &q, &p, a), SL_OK);
    assert_int_equal(p.responses[0].error_code,
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    sl_arena_destroy(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_duplicates),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_delete_topic_removes_dirs),
        cmocka_unit_test(test_random_requests),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
