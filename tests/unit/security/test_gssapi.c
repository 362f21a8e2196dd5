/* Unit tests for the parts of GSSAPI that need no KDC (the exchange itself
 * runs against a real KDC in compat-tests/test_gssapi): Kafka's DEFAULT
 * principal-to-local mapping, reading keyTab and principal from a
 * Krb5LoginModule JAAS line, and refusing a garbage first token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "security/gssapi.h"
#include "security/sasl.h"

/* LeakSanitizer hook: MIT Kerberos keeps (or loses) a few principal
 * objects when the GSSAPI plugin fails to acquire credentials (no keytab
 * here); those allocations are libkrb5's, not ours. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:libkrb5.so\nleak:libgssapi_krb5.so\n";
}

static void
test_short_name(void **state)
{
    char out[16];

    (void)state;
    assert_true(sl_gssapi_short_name("alice@EXAMPLE.COM", out, sizeof(out)));
    assert_string_equal(out, "alice");
    assert_true(sl_gssapi_short_name("kafka/broker1.example.com@EXAMPLE.COM",
                                     out, sizeof(out)));
    assert_string_equal(out, "kafka");
    assert_true(sl_gssapi_short_name("bob", out, sizeof(out)));
    assert_string_equal(out, "bob");
    assert_false(sl_gssapi_short_name("@EXAMPLE.COM", out, sizeof(out)));
    assert_false(sl_gssapi_short_name("", out, sizeof(out)));
    assert_false(
        sl_gssapi_short_name("averyveryverylongname@R", out, sizeof(out)));
}

static void
test_jaas_options(void **state)
{
    static const char jaas[] =
        "com.sun.security.auth.module.Krb5LoginModule required "
        "useKeyTab=true storeKey=true keyTab=\"/etc/kafka/kafka.keytab\" "
        "principal=\"kafka/broker1@EXAMPLE.COM\";";
    char v[64];

    (void)state;
    assert_true(sl_sasl_jaas_option(jaas, "keyTab", v, sizeof(v)));
    assert_string_equal(v, "/etc/kafka/kafka.keytab");
    assert_true(sl_sasl_jaas_option(jaas, "principal", v, sizeof(v)));
    assert_string_equal(v, "kafka/broker1@EXAMPLE.COM");
    assert_true(sl_sasl_jaas_option(jaas, "useKeyTab", v, sizeof(v)));
    assert_string_equal(v, "true");
    assert_false(sl_sasl_jaas_option(jaas, "keyTa", v, sizeof(v)));
    assert_false(sl_sasl_jaas_option(jaas, "missing", v, sizeof(v)));
    assert_false(sl_sasl_jaas_option(jaas, "keyTab", v, 5)); /* too long */
    assert_false(sl_sasl_jaas_option(NULL, "keyTab", v, sizeof(v)));
    assert_false(sl_sasl_jaas_option("M required keyTab=\"unterminated",
                                     "keyTab", v, sizeof(v)));
}

static void
test_garbage_token(void **state)
{
    const char *why = NULL;
    char out[256], user[64];
    size_t outlen = 0;
    bool done = true;
    sl_gssapi_t *g;

    (void)state;
    if (!sl_gssapi_available()) {
        assert_int_not_equal(sl_gssapi_init(NULL, &why), SL_OK);
        return;
    }
    assert_int_equal(sl_gssapi_init(NULL, &why), SL_OK);
    g = sl_gssapi_new("kafka", "localhost", &why);
    assert_non_null(g);
    assert_int_equal(sl_gssapi_step(g, (const uint8_t *)"\x60\x03garbage", 10,
                                    out, sizeof(out), &outlen, &done, user,
                                    sizeof(user), &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_false(done);
    sl_gssapi_free(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_name),
        cmocka_unit_test(test_jaas_options),
        cmocka_unit_test(test_garbage_token),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
