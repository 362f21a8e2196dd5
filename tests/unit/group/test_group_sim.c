/* The group coordinator under random event streams: runs the driver of
 * tests/fuzz/fuzz_group.c (which aborts when a request is answered twice or
 * never, or a deadline stays in the past) on pseudo-random inputs with a
 * fixed seed, so CTest covers it without libFuzzer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../fuzz/fuzz_group.c"

static void
test_random_event_streams(void **state)
{
    static uint8_t buf[4096];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int runs = 0;

    (void)state;
    for (int round = 0; round < 600; round++) {
        size_t n = 64 + (size_t)(x % (sizeof(buf) - 64));

        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)(x >> 24);
        }
        assert_int_equal(sl_fuzz_group_run(buf, n), 0);
        runs++;
    }
    assert_int_equal(runs, 600);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_event_streams),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
