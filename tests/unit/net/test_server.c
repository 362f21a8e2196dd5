/* Unit tests for net/server: parsing Kafka listener values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/server.h"

static void
test_parse_listeners(void **state)
{
    sl_listener_spec_t s[4];
    const char *why = NULL;

    (void)state;
    assert_int_equal(sl_server_parse_listeners(
                         "PLAINTEXT://127.0.0.1:9092,EXTERNAL://[::1]:19092,"
                         "INTERNAL://:0",
                         s, 4, &why),
                     3);
    assert_string_equal(s[0].name, "PLAINTEXT");
    assert_string_equal(s[0].host, "127.0.0.1");
    assert_int_equal(s[0].port, 9092);
    assert_string_equal(s[1].host, "::1");
    assert_int_equal(s[1].port, 19092);
    assert_string_equal(s[2].host, "");
    assert_int_equal(s[2].port, 0);
}

static void
test_parse_listeners_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1:9092",
        "PLAINTEXT://host",
        "PLAINTEXT://host:99999",
        "PLAINTEXT://host:12x",
        "://h:1",
        "P://[::1:9092",
        "A://h:1,B://h:2,C://h:3,D://h:4,E://h:5"};
    sl_listener_spec_t s[4];
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(sl_server_parse_listeners(bad[i], s, 4, &why), -1);
        assert_non_null(why);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_listeners),
        cmocka_unit_test(test_parse_listeners_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
