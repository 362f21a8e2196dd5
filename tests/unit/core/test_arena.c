/* Unit tests for core/arena: alignment, growth, the hard cap, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void
test_alloc_aligned_and_distinct(void **state)
{
    sl_arena_t *a = sl_arena_create(1024, 0);
    uint8_t *p[100];
    int i;

    (void)state;
    assert_non_null(a);
    for (i = 0; i < 100; i++) {
        p[i] = sl_arena_alloc(a, (size_t)i * 7 + 1);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], i, (size_t)i * 7 + 1);
    }
    for (i = 0; i < 100; i++) {
        assert_int_equal(p[i][0], (uint8_t)i);
        assert_int_equal(p[i][i * 7], (uint8_t)i);
    }
    sl_arena_destroy(a);
}

static void
test_cap_enforced(void **state)
{
    sl_arena_t *a = sl_arena_create(1024, 4096);

    (void)state;
    assert_non_null(sl_arena_alloc(a, 4000));
    assert_null(sl_arena_alloc(a, 200));
    assert_null(sl_arena_alloc(a, SIZE_MAX));
    assert_null(sl_arena_calloc(a, SIZE_MAX / 2, 4));
    assert_true(sl_arena_used(a) <= 4096);
    sl_arena_reset(a);
    assert_int_equal(sl_arena_used(a), 0);
    assert_non_null(sl_arena_alloc(a, 4000));
    sl_arena_destroy(a);
}

static void
test_large_and_zero(void **state)
{
    sl_arena_t *a = sl_arena_create(512, 0);
    uint8_t *big, *z;
    size_t i;

    (void)state;
    big = sl_arena_zalloc(a, 100000);
    assert_non_null(big);
    for (i = 0; i < 100000; i++) {
        assert_int_equal(big[i], 0);
    }
    z = sl_arena_alloc(a, 0);
    assert_non_null(z);
    assert_ptr_not_equal(z, sl_arena_alloc(a, 0));
    assert_memory_equal(sl_arena_memdup(a, "hello", 5), "hello", 5);
    sl_arena_destroy(a);
    sl_arena_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_and_distinct),
        cmocka_unit_test(test_cap_enforced),
        cmocka_unit_test(test_large_and_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
