/* Unit tests for core/varint: round trips, Kafka's examples, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/varint.h"

static void
test_zigzag_examples(void **state)
{
    (void)state;
    assert_int_equal(sl_varint_zz32(0), 0);
    assert_int_equal(sl_varint_zz32(-1), 1);
    assert_int_equal(sl_varint_zz32(1), 2);
    assert_int_equal(sl_varint_zz32(-2), 3);
    assert_int_equal(sl_varint_zz32(INT32_MAX), 0xfffffffeu);
    assert_int_equal(sl_varint_zz32(INT32_MIN), 0xffffffffu);
}

static void
test_round_trip(void **state)
{
    static const int64_t vals[] = {
        0,   1,    -1,        63,        -64,       64,        127,      128,
        300, -300, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1LL << 40};
    uint8_t buf[16];
    size_t i, n, m;
    int64_t out64;
    int32_t out32;

    (void)state;
    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        n = sl_varint_enc_s64(buf, vals[i]);
        assert_int_equal(n, sl_varint_size_s64(vals[i]));
        m = sl_varint_dec_s64(buf, buf + n, &out64);
        assert_int_equal(m, n);
        assert_true(out64 == vals[i]);
        if (vals[i] >= INT32_MIN && vals[i] <= INT32_MAX) {
            n = sl_varint_enc_s32(buf, (int32_t)vals[i]);
            assert_int_equal(n, sl_varint_size_s32((int32_t)vals[i]));
            assert_int_equal(sl_varint_dec_s32(buf, buf + n, &out32), n);
            assert_int_equal(out32, (int32_t)vals[i]);
        }
    }
}

static void
test_bad_input(void **state)
{
    const uint8_t trunc[] = {0x80, 0x80};
    const uint8_t overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    const uint8_t big32[] = {0xff, 0xff, 0xff, 0xff, 0x7f}; /* > UINT32_MAX */
    uint32_t u;
    int32_t s;

    (void)state;
    assert_int_equal(sl_varint_dec_u32(trunc, trunc + 2, &u), 0);
    assert_int_equal(sl_varint_dec_u32(trunc, trunc, &u), 0);
    assert_int_equal(sl_varint_dec_s32(overlong, overlong + 6, &s), 0);
    assert_int_equal(sl_varint_dec_u32(big32, big32 + 5, &u), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zigzag_examples),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
