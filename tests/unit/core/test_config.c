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
    assert_int_equal(sl_config_set(cfg, "max.connections", "9", why,
                                   sizeof(why)),
                     SL_OK);
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
    assert_int_equal(sl_config_set(cfg, "max.connections", "abc", why,
                                   sizeof(why)),
                     SL_ERR__INVAL);
    assert_non_null(strstr(why, "max.connections"));
    assert_int_equal(sl_config_set(cfg, "socket.request.max.bytes", "0", why,
                                   sizeof(why)),
                     SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "node.id", "99999999999", why,
                                   sizeof(why)),
                     SL_ERR__INVAL);
    assert_int_equal(sl_config_set(cfg, "sluice.log.level", "loud", why,
                                   sizeof(why)),
                     SL_ERR__INVAL);
    assert_non_null(strstr(why, "debug|info"));
    assert_int_equal(sl_config_set(cfg, "sluice.log.level", "WARN", why,
                                   sizeof(why)),
                     SL_OK);
    sl_config_destroy(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_env_override),
        cmocka_unit_test(test_invalid_values),
    };
    sl_log_set_level(SL_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
