/* Unit tests for cluster/topic_config: the key table, validation of every
 * type, resolution order and sources, synonyms, broker keys, incremental
 * and replacing alterations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/topic_config.h"
#include "core/log.h"

static char why[512];

static sl_err_t
check(const char *key, const char *value)
{
    why[0] = '\0';
    return sl_topic_config_validate(key, value, why, sizeof(why));
}

static sl_config_t *
broker_with(const char *const *kv)
{
    sl_config_t *cfg = sl_config_create();
    char w[256];

    assert_non_null(cfg);
    for (; kv != NULL && kv[0] != NULL; kv += 2) {
        assert_int_equal(sl_config_set(cfg, kv[0], kv[1], w, sizeof(w)), SL_OK);
    }
    return cfg;
}

static void
test_table_consistent(void **state)
{
    const sl_topic_config_key_t *k;
    const sl_config_key_t *bk;
    size_t n = 0;
    int i;

    (void)state;
    for (k = sl_topic_config_keys(); k->name != NULL; k++, n++) {
        /* Each key's own default passes its own validator. */
        assert_int_equal(check(k->name, k->dflt), SL_OK);
        assert_true(k->type >= SL_CFGTYPE_BOOLEAN &&
                    k->type <= SL_CFGTYPE_PASSWORD);
        assert_non_null(k->doc);
        assert_ptr_equal(sl_topic_config_find(k->name), k);
        for (i = 0; i < SL_TOPIC_CONFIG_MAX_SYNONYMS && k->synonyms[i]; i++) {
            /* Every broker synonym is a known broker key. */
            bk = sl_config_key_find(k->synonyms[i]);
            if (bk == NULL) {
                fail_msg("synonym %s of %s is not a broker key", k->synonyms[i],
                         k->name);
            }
        }
    }
    assert_true(n >= 30);
    assert_true(n <= SL_TOPIC_CONFIG_MAX_KEYS);
    assert_null(sl_topic_config_find("no.such.key"));
    assert_null(sl_topic_config_find(NULL));
}

static void
test_validate_numbers(void **state)
{
    (void)state;
    /* INT with a lower bound. */
    assert_int_equal(check("segment.bytes", "1048576"), SL_OK);
    assert_int_equal(check("segment.bytes", " 2000000 "), SL_OK);
    assert_int_equal(check("segment.bytes", "1048575"), SL_ERR_INVALID_CONFIG);
    assert_non_null(strstr(why, "segment.bytes"));
    assert_int_equal(check("segment.bytes", "2147483648"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("segment.bytes", "12abc"), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("segment.bytes", "1.5e6"), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("segment.bytes", ""), SL_ERR_INVALID_CONFIG);
    /* LONG with -1 allowed and -2 not. */
    assert_int_equal(check("retention.ms", "-1"), SL_OK);
    assert_int_equal(check("retention.ms", "9223372036854775807"), SL_OK);
    assert_int_equal(check("retention.ms", "-2"), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("retention.ms", "9223372036854775808"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("retention.bytes", "-5"), SL_OK);
    assert_int_equal(check("local.retention.ms", "-2"), SL_OK);
    assert_int_equal(check("local.retention.ms", "-3"), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("max.compaction.lag.ms", "0"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("min.insync.replicas", "0"), SL_ERR_INVALID_CONFIG);
    /* gzip level: -1 or 1..9. */
    assert_int_equal(check("compression.gzip.level", "-1"), SL_OK);
    assert_int_equal(check("compression.gzip.level", "9"), SL_OK);
    assert_int_equal(check("compression.gzip.level", "0"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("compression.gzip.level", "10"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("compression.zstd.level", "-131072"), SL_OK);
    assert_int_equal(check("compression.lz4.level", "18"),
                     SL_ERR_INVALID_CONFIG);
    /* DOUBLE in [0, 1]. */
    assert_int_equal(check("min.cleanable.dirty.ratio", "0.25"), SL_OK);
    assert_int_equal(check("min.cleanable.dirty.ratio", "1"), SL_OK);
    assert_int_equal(check("min.cleanable.dirty.ratio", "1.01"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("min.cleanable.dirty.ratio", "-0.1"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("min.cleanable.dirty.ratio", "nan"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("min.cleanable.dirty.ratio", "half"),
                     SL_ERR_INVALID_CONFIG);
}

static void
test_validate_other_types(void **state)
{
    (void)state;
    /* BOOLEAN, case-insensitive like Kafka. */
    assert_int_equal(check("preallocate", "TRUE"), SL_OK);
    assert_int_equal(check("preallocate", "false"), SL_OK);
    assert_int_equal(check("preallocate", "yes"), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("preallocate", "1"), SL_ERR_INVALID_CONFIG);
    /* STRING enums are case-sensitive. */
    assert_int_equal(check("compression.type", "zstd"), SL_OK);
    assert_int_equal(check("compression.type", "producer"), SL_OK);
    assert_int_equal(check("compression.type", "uncompressed"), SL_OK);
    assert_int_equal(check("compression.type", "brotli"),
                     SL_ERR_INVALID_CONFIG);
    assert_non_null(strstr(why, "gzip"));
    assert_int_equal(check("message.timestamp.type", "LogAppendTime"), SL_OK);
    assert_int_equal(check("message.timestamp.type", "createtime"),
                     SL_ERR_INVALID_CONFIG);
    /* LIST with choices: non-empty, each item allowed. */
    assert_int_equal(check("cleanup.policy", "compact"), SL_OK);
    assert_int_equal(check("cleanup.policy", "compact,delete"), SL_OK);
    assert_int_equal(check("cleanup.policy", "delete , compact"), SL_OK);
    assert_int_equal(check("cleanup.policy", ""), SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("cleanup.policy", "compact,"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("cleanup.policy", "shred"), SL_ERR_INVALID_CONFIG);
    /* Throttled replica lists. */
    assert_int_equal(check("leader.replication.throttled.replicas", ""), SL_OK);
    assert_int_equal(check("leader.replication.throttled.replicas", "*"),
                     SL_OK);
    assert_int_equal(
        check("follower.replication.throttled.replicas", "0:1, 1:2"), SL_OK);
    assert_int_equal(check("leader.replication.throttled.replicas", "0:"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("leader.replication.throttled.replicas", "a:1"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("leader.replication.throttled.replicas", "*,0:1"),
                     SL_ERR_INVALID_CONFIG);
    /* Unknown, removed in Kafka 4.0, NULL. */
    assert_int_equal(check("retention.weeks", "1"), SL_ERR_INVALID_CONFIG);
    assert_non_null(strstr(why, "Unknown topic config"));
    assert_int_equal(check("message.downconversion.enable", "true"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("message.format.version", "3.0"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("message.timestamp.difference.max.ms", "1"),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(check("retention.ms", NULL), SL_ERR_INVALID_CONFIG);
}

static void
test_map(void **state)
{
    sl_topic_config_map_t m = {0}, c = {0};

    (void)state;
    assert_null(sl_topic_config_map_get(&m, "a"));
    assert_int_equal(sl_topic_config_map_set(&m, "a", "1"), SL_OK);
    assert_int_equal(sl_topic_config_map_set(&m, "b", "2"), SL_OK);
    assert_int_equal(sl_topic_config_map_set(&m, "a", "3"), SL_OK);
    assert_int_equal(m.n, 2);
    assert_string_equal(sl_topic_config_map_get(&m, "a"), "3");
    assert_int_equal(sl_topic_config_map_copy(&c, &m), SL_OK);
    assert_true(sl_topic_config_map_del(&m, "a"));
    assert_false(sl_topic_config_map_del(&m, "a"));
    assert_int_equal(m.n, 1);
    assert_string_equal(sl_topic_config_map_get(&m, "b"), "2");
    assert_string_equal(sl_topic_config_map_get(&c, "a"), "3");
    sl_topic_config_map_clear(&m);
    sl_topic_config_map_clear(&c);
    assert_int_equal(m.n, 0);
    assert_null(m.kv);
}

static sl_cfgsrc_e
value_of(const sl_config_t *b, const sl_topic_config_map_t *m, const char *name,
         char *buf, size_t len)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(name);

    assert_non_null(k);
    return sl_topic_config_value(b, m, k, buf, len);
}

static void
test_resolution_order(void **state)
{
    static const char *const hours[] = {"log.retention.hours", "1", NULL};
    static const char *const minutes[] = {"log.retention.hours", "1",
                                          "log.retention.minutes", "2", NULL};
    static const char *const all[] = {"log.retention.hours",
                                      "1",
                                      "log.retention.minutes",
                                      "2",
                                      "log.retention.ms",
                                      "5",
                                      NULL};
    static const char *const forever[] = {"log.retention.hours", "-1", NULL};
    sl_topic_config_map_t m = {0};
    sl_config_t *b = broker_with(NULL);
    char buf[64];

    (void)state;
    /* Nothing set: the first broker synonym with a default (hours). */
    assert_int_equal(value_of(b, NULL, "retention.ms", buf, sizeof(buf)),
                     SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "604800000");
    assert_int_equal(value_of(b, NULL, "segment.ms", buf, sizeof(buf)),
                     SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "604800000");
    assert_int_equal(value_of(b, NULL, "flush.ms", buf, sizeof(buf)),
                     SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "9223372036854775807");
    assert_int_equal(value_of(b, NULL, "max.message.bytes", buf, sizeof(buf)),
                     SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "1048588");
    assert_int_equal(
        value_of(b, NULL, "message.timestamp.after.max.ms", buf, sizeof(buf)),
        SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "3600000");
    /* No broker synonym: the topic key's own default. */
    assert_int_equal(
        value_of(b, NULL, "remote.storage.enable", buf, sizeof(buf)),
        SL_CFGSRC_DEFAULT_CONFIG);
    assert_string_equal(buf, "false");
    sl_config_destroy(b);

    b = broker_with(hours);
    assert_int_equal(value_of(b, NULL, "retention.ms", buf, sizeof(buf)),
                     SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_string_equal(buf, "3600000");
    sl_config_destroy(b);
    b = broker_with(minutes);
    assert_int_equal(value_of(b, NULL, "retention.ms", buf, sizeof(buf)),
                     SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_string_equal(buf, "120000");
    sl_config_destroy(b);
    b = broker_with(forever);
    assert_int_equal(sl_topic_config_long(b, NULL, "retention.ms"), -1);
    sl_config_destroy(b);

    b = broker_with(all);
    assert_int_equal(value_of(b, NULL, "retention.ms", buf, sizeof(buf)),
                     SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_string_equal(buf, "5");
    /* The topic override beats everything. */
    assert_int_equal(sl_topic_config_map_set(&m, "retention.ms", "7"), SL_OK);
    assert_int_equal(value_of(b, &m, "retention.ms", buf, sizeof(buf)),
                     SL_CFGSRC_DYNAMIC_TOPIC_CONFIG);
    assert_string_equal(buf, "7");
    assert_int_equal(sl_topic_config_long(b, &m, "retention.ms"), 7);
    /* Typed getters refuse the wrong type or an unknown key. */
    assert_int_equal(sl_topic_config_long(b, &m, "preallocate"), 0);
    assert_int_equal(sl_topic_config_long(b, &m, "nope"), 0);
    assert_false(sl_topic_config_bool(b, &m, "preallocate"));
    assert_true(sl_topic_config_double(b, &m, "min.cleanable.dirty.ratio") ==
                0.5);
    assert_true(
        sl_topic_config_list_contains(b, &m, "cleanup.policy", "delete"));
    assert_false(
        sl_topic_config_list_contains(b, &m, "cleanup.policy", "compact"));
    assert_int_equal(
        sl_topic_config_map_set(&m, "cleanup.policy", " compact ,\tdelete"),
        SL_OK);
    assert_true(
        sl_topic_config_list_contains(b, &m, "cleanup.policy", "compact"));
    assert_false(sl_topic_config_list_contains(b, &m, "retention.ms", "7"));
    sl_topic_config_map_clear(&m);
    sl_config_destroy(b);
}

static void
test_describe_synonyms(void **state)
{
    static const char *const kv[] = {"log.retention.hours", "1", NULL};
    sl_config_t *b = broker_with(kv);
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_topic_config_map_t m = {0};
    sl_config_entry_t e;
    const sl_topic_config_key_t *k = sl_topic_config_find("retention.ms");

    (void)state;
    assert_int_equal(sl_topic_config_describe(b, &m, k, true, a, &e), SL_OK);
    assert_string_equal(e.value, "3600000");
    assert_int_equal(e.source, SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_int_equal(e.type, SL_CFGTYPE_LONG);
    assert_false(e.read_only);
    assert_false(e.sensitive);
    assert_int_equal(e.n_synonyms, 2);
    assert_string_equal(e.synonyms[0].name, "log.retention.hours");
    assert_string_equal(e.synonyms[0].value, "1");
    assert_int_equal(e.synonyms[0].source, SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_string_equal(e.synonyms[1].name, "log.retention.hours");
    assert_string_equal(e.synonyms[1].value, "168");
    assert_int_equal(e.synonyms[1].source, SL_CFGSRC_DEFAULT_CONFIG);

    assert_int_equal(sl_topic_config_map_set(&m, "retention.ms", "42"), SL_OK);
    assert_int_equal(sl_topic_config_describe(b, &m, k, true, a, &e), SL_OK);
    assert_string_equal(e.value, "42");
    assert_int_equal(e.source, SL_CFGSRC_DYNAMIC_TOPIC_CONFIG);
    assert_int_equal(e.n_synonyms, 3);
    assert_string_equal(e.synonyms[0].name, "retention.ms");
    assert_int_equal(e.synonyms[0].source, SL_CFGSRC_DYNAMIC_TOPIC_CONFIG);

    assert_int_equal(sl_topic_config_describe(b, &m, k, false, a, &e), SL_OK);
    assert_int_equal(e.n_synonyms, 0);
    assert_null(e.synonyms);

    k = sl_topic_config_find("cleanup.policy");
    assert_int_equal(sl_topic_config_describe(b, &m, k, true, a, &e), SL_OK);
    assert_string_equal(e.value, "delete");
    assert_int_equal(e.type, SL_CFGTYPE_LIST);
    assert_int_equal(e.source, SL_CFGSRC_DEFAULT_CONFIG);
    assert_int_equal(e.n_synonyms, 1);

    sl_topic_config_map_clear(&m);
    sl_arena_destroy(a);
    sl_config_destroy(b);
}

static void
test_broker_describe(void **state)
{
    static const char *const kv[] = {"num.partitions", "4", NULL};
    sl_config_t *b = broker_with(kv);
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_config_entry_t e;

    (void)state;
    assert_int_equal(sl_broker_config_describe(
                         b, sl_config_key_find("num.partitions"), true, a, &e),
                     SL_OK);
    assert_string_equal(e.value, "4");
    assert_int_equal(e.source, SL_CFGSRC_STATIC_BROKER_CONFIG);
    assert_int_equal(e.type, SL_CFGTYPE_INT);
    assert_true(e.read_only);
    assert_int_equal(e.n_synonyms, 2);
    assert_string_equal(e.synonyms[1].value, "1");
    assert_int_equal(e.synonyms[1].source, SL_CFGSRC_DEFAULT_CONFIG);

    assert_int_equal(
        sl_broker_config_describe(b, sl_config_key_find("log.retention.ms"),
                                  true, a, &e),
        SL_OK);
    assert_null(e.value);
    assert_int_equal(e.source, SL_CFGSRC_DEFAULT_CONFIG);
    assert_int_equal(e.n_synonyms, 0);

    assert_int_equal(sl_broker_config_describe(
                         b,
                         sl_config_key_find("log.cleaner.min.cleanable.ratio"),
                         false, a, &e),
                     SL_OK);
    assert_int_equal(e.type, SL_CFGTYPE_DOUBLE);
    assert_string_equal(e.value, "0.5");
    assert_int_equal(
        sl_broker_config_describe(
            b, sl_config_key_find("auto.create.topics.enable"), false, a, &e),
        SL_OK);
    assert_int_equal(e.type, SL_CFGTYPE_BOOLEAN);

    assert_int_equal(
        sl_broker_config_check_alter("num.partitions", why, sizeof(why)),
        SL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(why, "num.partitions"));
    sl_arena_destroy(a);
    sl_config_destroy(b);
}

static sl_err_t
apply(sl_config_t *b, sl_topic_config_map_t *m, const sl_config_op_t *ops,
      size_t n)
{
    why[0] = '\0';
    return sl_topic_config_apply_ops(b, m, ops, n, why, sizeof(why));
}

static void
test_incremental_ops(void **state)
{
    sl_config_t *b = broker_with(NULL);
    sl_topic_config_map_t m = {0};
    const sl_config_op_t set[] = {{"retention.ms", SL_CFGOP_SET, "1000"},
                                  {"segment.ms", SL_CFGOP_SET, "2000"}};
    const sl_config_op_t del[] = {{"segment.ms", SL_CFGOP_DELETE, NULL},
                                  {"flush.ms", SL_CFGOP_DELETE, NULL}};
    const sl_config_op_t app[] = {
        {"cleanup.policy", SL_CFGOP_APPEND, "compact"}};
    const sl_config_op_t app2[] = {
        {"cleanup.policy", SL_CFGOP_APPEND, "compact,delete"}};
    const sl_config_op_t sub[] = {
        {"cleanup.policy", SL_CFGOP_SUBTRACT, "delete"}};
    const sl_config_op_t sub_all[] = {
        {"cleanup.policy", SL_CFGOP_SUBTRACT, "compact"}};
    const sl_config_op_t thr[] = {
        {"leader.replication.throttled.replicas", SL_CFGOP_APPEND, "0:1,1:1"}};
    const sl_config_op_t thr_sub[] = {
        {"leader.replication.throttled.replicas", SL_CFGOP_SUBTRACT, "0:1"}};

    (void)state;
    assert_int_equal(apply(b, &m, set, 2), SL_OK);
    assert_string_equal(sl_topic_config_map_get(&m, "retention.ms"), "1000");
    assert_string_equal(sl_topic_config_map_get(&m, "segment.ms"), "2000");
    /* DELETE of a key without override is a no-op. */
    assert_int_equal(apply(b, &m, del, 2), SL_OK);
    assert_null(sl_topic_config_map_get(&m, "segment.ms"));
    assert_int_equal(m.n, 1);
    /* APPEND starts from the effective value (the broker's "delete"). */
    assert_int_equal(apply(b, &m, app, 1), SL_OK);
    assert_string_equal(sl_topic_config_map_get(&m, "cleanup.policy"),
                        "delete,compact");
    assert_int_equal(apply(b, &m, app2, 1), SL_OK); /* nothing new */
    assert_string_equal(sl_topic_config_map_get(&m, "cleanup.policy"),
                        "delete,compact");
    assert_int_equal(apply(b, &m, sub, 1), SL_OK);
    assert_string_equal(sl_topic_config_map_get(&m, "cleanup.policy"),
                        "compact");
    /* Removing the last policy leaves an invalid empty list. */
    assert_int_equal(apply(b, &m, sub_all, 1), SL_ERR_INVALID_CONFIG);
    assert_int_equal(apply(b, &m, thr, 1), SL_OK);
    assert_int_equal(apply(b, &m, thr_sub, 1), SL_OK);
    assert_string_equal(
        sl_topic_config_map_get(&m, "leader.replication.throttled.replicas"),
        "1:1");
    sl_topic_config_map_clear(&m);
    sl_config_destroy(b);
}

static void
test_incremental_errors(void **state)
{
    sl_config_t *b = broker_with(NULL);
    sl_topic_config_map_t m = {0};
    const sl_config_op_t app_long[] = {{"retention.ms", SL_CFGOP_APPEND, "5"}};
    const sl_config_op_t sub_long[] = {
        {"retention.ms", SL_CFGOP_SUBTRACT, "5"}};
    const sl_config_op_t set_null[] = {{"retention.ms", SL_CFGOP_SET, NULL}};
    const sl_config_op_t app_null[] = {
        {"cleanup.policy", SL_CFGOP_APPEND, NULL}};
    const sl_config_op_t dup[] = {{"retention.ms", SL_CFGOP_SET, "1"},
                                  {"retention.ms", SL_CFGOP_DELETE, NULL}};
    const sl_config_op_t bad_op[] = {{"retention.ms", (sl_cfgop_e)9, "1"}};
    const sl_config_op_t unknown[] = {{"retention.days", SL_CFGOP_SET, "1"}};
    const sl_config_op_t bad_val[] = {{"segment.bytes", SL_CFGOP_SET, "10"}};
    const sl_config_op_t lag[] = {
        {"min.compaction.lag.ms", SL_CFGOP_SET, "100"},
        {"max.compaction.lag.ms", SL_CFGOP_SET, "50"}};
    const sl_config_op_t remote[] = {
        {"remote.storage.enable", SL_CFGOP_SET, "true"}};

    (void)state;
    assert_int_equal(apply(b, &m, app_long, 1), SL_ERR_INVALID_CONFIG);
    assert_int_equal(apply(b, &m, sub_long, 1), SL_ERR_INVALID_CONFIG);
    assert_int_equal(apply(b, &m, set_null, 1), SL_ERR_INVALID_REQUEST);
    assert_int_equal(apply(b, &m, app_null, 1), SL_ERR_INVALID_REQUEST);
    assert_int_equal(apply(b, &m, dup, 2), SL_ERR_INVALID_REQUEST);
    assert_non_null(strstr(why, "retention.ms"));
    assert_int_equal(apply(b, &m, bad_op, 1), SL_ERR_INVALID_REQUEST);
    assert_int_equal(apply(b, &m, unknown, 1), SL_ERR_INVALID_CONFIG);
    assert_int_equal(apply(b, &m, bad_val, 1), SL_ERR_INVALID_CONFIG);
    assert_int_equal(apply(b, &m, lag, 2), SL_ERR_INVALID_CONFIG);
    assert_non_null(strstr(why, "min.compaction.lag.ms"));
    assert_int_equal(apply(b, &m, remote, 1), SL_ERR_INVALID_CONFIG);
    sl_topic_config_map_clear(&m);
    sl_config_destroy(b);
}

static void
test_replace(void **state)
{
    sl_config_t *b = broker_with(NULL);
    sl_topic_config_map_t m = {0};
    sl_topic_config_kv_t ok[] = {{"retention.ms", "1"},
                                 {"cleanup.policy", "compact"}};
    sl_topic_config_kv_t dup[] = {{"retention.ms", "1"}, {"retention.ms", "2"}};
    sl_topic_config_kv_t bad[] = {{"retention.ms", "1"},
                                  {"compression.type", "lzma"}};

    (void)state;
    assert_int_equal(sl_topic_config_replace(b, ok, 2, &m, why, sizeof(why)),
                     SL_OK);
    assert_int_equal(m.n, 2);
    assert_string_equal(sl_topic_config_map_get(&m, "cleanup.policy"),
                        "compact");
    sl_topic_config_map_clear(&m);
    assert_int_equal(sl_topic_config_replace(b, dup, 2, &m, why, sizeof(why)),
                     SL_ERR_INVALID_REQUEST);
    assert_int_equal(m.n, 0);
    assert_int_equal(sl_topic_config_replace(b, bad, 2, &m, why, sizeof(why)),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(m.n, 0);
    assert_int_equal(sl_topic_config_replace(b, NULL, 0, &m, why, sizeof(why)),
                     SL_OK);
    assert_int_equal(m.n, 0);
    sl_config_destroy(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_consistent),
        cmocka_unit_test(test_validate_numbers),
        cmocka_unit_test(test_validate_other_types),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_resolution_order),
        cmocka_unit_test(test_describe_synonyms),
        cmocka_unit_test(test_broker_describe),
        cmocka_unit_test(test_incremental_ops),
        cmocka_unit_test(test_incremental_errors),
        cmocka_unit_test(test_replace),
    };
    sl_log_set_level(SL_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
