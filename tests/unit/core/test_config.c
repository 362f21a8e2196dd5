/* Unit tests for core/config: file, env and override precedence, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/log.h"

static void
test_defaults(void **state)
{
    sl_config_t *cfg = sl_config_create();

    (void)state;
    assert_int_equal(sl_config_int(cfg, "socket.request.max.bytes"), 104857600);
    assert_string_equal(sl_config_str(cfg, "listeners"), "PLAINTEXT://:9092");
    assert_false(sl_config_is_set(cfg, "listeners"));
    sl_config_destroy(cfg);
}

static void
test_file_env_override(void **state)
{
    char path[] = "/tmp/sl-config-test-XXXXXX";
    char why[256];
    char *env[] = {"KAFKA_MAX_CONNECTIONS=7", "KAFKA_HEAP_OPTS=-Xmx1G",
                   "KAFKA_CONNECTIONS_MAX_IDLE_MS=1234", "PATH=/bin", NULL};
    sl_config_t *cfg = sl_config_create();
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# comment\n! also a comment\n\nmax.connections = 5\n"
          "node.id:3\nsome.unknown.key=1\nconnections.max.idle.ms=99\n",
          f);
    fclose(f);
    assert_int_equal(sl_config_load_file(cfg, path), SL_OK);
    unlink(path);
    assert_int_equal(sl_config_int(cfg, "max.connections"), 5);
    assert_int_equal(sl_config_int(cfg, "node.id"), 3);
    assert_int_equal(sl_config_load_env(cfg, env), SL_OK);
    assert_int_equal(sl_config_int(cfg, "max.connections"), 7);
    assert_int_equal(sl_config_long(cfg, "connections.max.idle.ms"), 1234);
    assert_int_equal(
        sl_config_set(cfg, "max.connections", "9", why, sizeof(why)), SL_OK);
    assert_int_equal(sl_config_int(cfg, "max.connections"), 9);
    assert_int_equal(sl_config_check(cfg), SL_OK); /* unknown: warning */
    sl_config_destroy(cfg);
}

static void
test_invalid_values(void **state)
{
    sl_config_t *cfg = sl_config_create();
    char why[256];

    (void)state;
    assert_int_equal(
        sl_config_set(cfg, "max.connections", "abc", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_non_null(strstr(why, "max.connections"));
    assert_int_equal(
        sl_config_set(cfg, "socket.request.max.bytes", "0", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_int_equal(
        sl_config_set(cfg, "node.id", "99999999999", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_int_equal(
        sl_config_set(cfg, "sluice.log.level", "loud", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_non_null(strstr(why, "debug|info"));
    assert_int_equal(
        sl_config_set(cfg, "sluice.log.level", "WARN", why, sizeof(why)),
        SL_OK);
    sl_config_destroy(cfg);
}

static void
test_list_and_double(void **state)
{
    sl_config_t *cfg = sl_config_create();
    char why[256];

    (void)state;
    /* LIST with choices: every item must be one of them. */
    assert_string_equal(sl_config_str(cfg, "log.cleanup.policy"), "delete");
    assert_int_equal(sl_config_set(cfg, "log.cleanup.policy", "compact, delete",
                                   why, sizeof(why)),
                     SL_OK);
    assert_int_equal(sl_config_set(cfg, "log.cleanup.policy", "compact,shred",
                                   why, sizeof(why)),
                     SL_ERR__INVAL);
    assert_non_null(strstr(why, "compact|delete"));
    assert_int_equal(
        sl_config_set(cfg, "log.cleanup.policy", "", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "log.cleanup.policy", "compact,,delete",
                                   why, sizeof(why)),
                     SL_ERR__INVAL);
    /* LIST without choices accepts anything. */
    assert_int_equal(sl_config_set(cfg, "listeners", "", why, sizeof(why)),
                     SL_OK);
    /* DOUBLE within [min, max]. */
    assert_true(sl_config_double(cfg, "log.cleaner.min.cleanable.ratio") ==
                0.5);
    assert_int_equal(sl_config_set(cfg, "log.cleaner.min.cleanable.ratio",
                                   "0.75", why, sizeof(why)),
                     SL_OK);
    assert_true(sl_config_double(cfg, "log.cleaner.min.cleanable.ratio") ==
                0.75);
    assert_int_equal(sl_config_set(cfg, "log.cleaner.min.cleanable.ratio",
                                   "1.5", why, sizeof(why)),
                     SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "log.cleaner.min.cleanable.ratio",
                                   "nan", why, sizeof(why)),
                     SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "log.cleaner.min.cleanable.ratio",
                                   "0.5x", why, sizeof(why)),
                     SL_ERR__INVAL);
    sl_config_destroy(cfg);
}

static void
test_topic_default_keys(void **state)
{
    sl_config_t *cfg = sl_config_create();
    char why[256];

    (void)state;
    /* Kafka 4.0's defaults. */
    assert_int_equal(sl_config_int(cfg, "num.partitions"), 1);
    assert_int_equal(sl_config_int(cfg, "log.segment.bytes"), 1073741824);
    assert_int_equal(sl_config_int(cfg, "log.retention.hours"), 168);
    assert_null(sl_config_str(cfg, "log.retention.ms"));
    assert_int_equal(sl_config_long(cfg, "log.retention.bytes"), -1);
    assert_int_equal(sl_config_long(cfg, "log.message.timestamp.after.max.ms"),
                     3600000);
    assert_int_equal(sl_config_int(cfg, "message.max.bytes"), 1048588);
    assert_true(sl_config_bool(cfg, "auto.create.topics.enable"));
    assert_int_equal(sl_config_int(cfg, "offsets.topic.num.partitions"), 50);
    assert_string_equal(sl_config_str(cfg, "compression.type"), "producer");
    assert_non_null(sl_config_key_find("log.roll.hours"));
    assert_null(sl_config_key_find("log.roll.days"));
    /* 4.0 raised the segment size minimum to 1 MiB. */
    assert_int_equal(
        sl_config_set(cfg, "log.segment.bytes", "1048575", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_int_equal(
        sl_config_set(cfg, "log.retention.hours", "-2", why, sizeof(why)),
        SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "log.message.timestamp.type",
                                   "Whenever", why, sizeof(why)),
                     SL_ERR__INVAL);
    sl_config_destroy(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_env_override),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_list_and_double),
        cmocka_unit_test(test_topic_default_keys),
    };
    sl_log_set_level(SL_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
