/*
 * tests/unit/core/test_crc32c.c: CRC-32C known vectors, chaining, and
 * agreement of the SSE4.2 and slice-by-8 paths at every length and alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crc32c.h"

static void
test_crc32c_vectors(void **state)
{
    uint8_t zeros[32], ones[32], inc[32];
    int i;

    (void)state;
    assert_int_equal(sl_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sl_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(sl_crc32c(0, NULL, 0), 0);
    assert_int_equal(sl_crc32c(0, "a", 1), 0xC1D04330u);
    /* RFC 3720 (iSCSI) B.4 test vectors. */
    memset(zeros, 0, sizeof(zeros));
    memset(ones, 0xff, sizeof(ones));
    for (i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
    }
    assert_int_equal(sl_crc32c(0, zeros, 32), 0x8A9136AAu);
    assert_int_equal(sl_crc32c(0, ones, 32), 0x62A8AB43u);
    assert_int_equal(sl_crc32c(0, inc, 32), 0x46DD794Eu);
    assert_int_equal(sl_crc32c_sw(0, inc, 32), 0x46DD794Eu);
}

static void
test_crc32c_chaining(void **state)
{
    const char *s = "The quick brown fox jumps over the lazy dog";
    size_t n = strlen(s), cut;
    uint32_t whole = sl_crc32c(0, s, n);

    (void)state;
    assert_int_equal(whole, 0x22620404u);
    for (cut = 0; cut <= n; cut++) {
        assert_int_equal(sl_crc32c(sl_crc32c(0, s, cut), s + cut, n - cut),
                         whole);
        assert_int_equal(
            sl_crc32c_sw(sl_crc32c_sw(0, s, cut), s + cut, n - cut), whole);
    }
}

static void
test_crc32c_paths_agree(void **state)
{
    uint8_t *buf = malloc(300 + 16);
    size_t len, align;
    uint32_t sw;
    unsigned seed = 12345;

    (void)state;
    assert_non_null(buf);
    for (len = 0; len < 316; len++) {
        seed = seed * 1103515245u + 12345u;
        buf[len] = (uint8_t)(seed >> 16);
    }
    for (align = 0; align < 16; align++) {
        for (len = 0; len <= 300; len++) {
            sw = sl_crc32c_sw(0x1234u, buf + align, len);
            assert_int_equal(sl_crc32c(0x1234u, buf + align, len), sw);
            if (sl_crc32c_hw_available()) {
                assert_int_equal(sl_crc32c_hw(0x1234u, buf + align, len), sw);
            }
        }
    }
    /* A corrupted byte changes the checksum. */
    sw = sl_crc32c_sw(0, buf, 300);
    buf[150] ^= 1;
    assert_int_not_equal(sl_crc32c(0, buf, 300), sw);
    free(buf);
}

static void
test_crc32c_large_random(void **state)
{
    size_t n = 1 << 20, i;
    uint8_t *buf = malloc(n);
    unsigned seed = 7;

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (uint8_t)(seed >> 24);
    }
    assert_int_equal(sl_crc32c(0, buf, n), sl_crc32c_sw(0, buf, n));
    free(buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc32c_chaining),
        cmocka_unit_test(test_crc32c_paths_agree),
        cmocka_unit_test(test_crc32c_large_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
