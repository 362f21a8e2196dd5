/* Unit tests for api/fetch_session: the KIP-227 rules for ids and epochs,
 * incremental partition tracking, eviction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/fetch_session.h"

static void
test_kinds_and_errors(void **state)
{
    sl_fsess_cache_t *c = sl_fsess_cache_create(4, 1000);
    sl_fsess_kind_e kind;
    sl_fsess_t *s;

    (void)state;
    assert_int_equal(sl_fsess_begin(c, 0, -1, 0, &kind, &s), SL_OK);
    assert_int_equal(kind, SL_FSESS_SESSIONLESS);
    assert_int_equal(sl_fsess_begin(c, 0, 0, 0, &kind, &s), SL_OK);
    assert_int_equal(kind, SL_FSESS_NEW);
    assert_int_equal(sl_fsess_begin(c, 0, 5, 0, &kind, &s),
                     SL_ERR_INVALID_FETCH_SESSION_EPOCH);
    assert_int_equal(sl_fsess_begin(c, 12345, 1, 0, &kind, &s),
                     SL_ERR_FETCH_SESSION_ID_NOT_FOUND);
    sl_fsess_cache_destroy(c);
}

static void
test_session_life(void **state)
{
    sl_fsess_cache_t *c = sl_fsess_cache_create(4, 1000);
    sl_fsess_kind_e kind;
    sl_fsess_t *s, *s2;
    sl_fsess_part_t *p;
    int32_t id;
    int n;

    (void)state;
    s = sl_fsess_create(c, 0);
    assert_non_null(s);
    id = sl_fsess_id(s);
    assert_true(id > 0);
    p = sl_fsess_upsert(s, "t", 1, NULL, 0);
    p->fetch_offset = 10;
    assert_non_null(sl_fsess_upsert(s, "t", 1, NULL, 1));
    assert_ptr_equal(sl_fsess_upsert(s, "t", 1, NULL, 0), p);
    /* First response includes everything. */
    assert_true(sl_fsess_note(p, true, false, 10, 10, 0, 0));
    sl_fsess_end(c, s, 0);
    assert_int_equal(sl_fsess_next_epoch(s), 1);

    /* Wrong epoch, then the right one. */
    assert_int_equal(sl_fsess_begin(c, id, 2, 1, &kind, &s2),
                     SL_ERR_INVALID_FETCH_SESSION_EPOCH);
    assert_int_equal(sl_fsess_begin(c, id, 1, 1, &kind, &s2), SL_OK);
    assert_int_equal(kind, SL_FSESS_INCREMENTAL);
    assert_ptr_equal(s2, s);
    /* A second concurrent use of the same epoch is refused. */
    sl_fsess_kind_e k2;
    sl_fsess_t *s3;
    assert_int_equal(sl_fsess_begin(c, id, 1, 1, &k2, &s3),
                     SL_ERR_INVALID_FETCH_SESSION_EPOCH);
    /* Nothing changed: not included; a new high watermark: included. */
    assert_false(sl_fsess_note(p, false, false, 10, 10, 0, 0));
    assert_true(sl_fsess_note(p, false, false, 11, 11, 0, 0));
    assert_true(sl_fsess_note(p, false, true, 11, 11, 0, 0));
    assert_true(sl_fsess_note(p, false, false, 11, 11, 0, 6)); /* error */
    sl_fsess_forget(s, "t", 1, NULL, 1);
    sl_fsess_parts(s, &n);
    assert_int_equal(n, 1);
    sl_fsess_end(c, s, 1);

    /* Epoch -1 closes it. */
    assert_int_equal(sl_fsess_begin(c, id, -1, 2, &kind, &s2), SL_OK);
    assert_int_equal(kind, SL_FSESS_SESSIONLESS);
    assert_int_equal(sl_fsess_count(c), 0);
    assert_int_equal(sl_fsess_begin(c, id, 2, 2, &kind, &s2),
                     SL_ERR_FETCH_SESSION_ID_NOT_FOUND);
    sl_fsess_cache_destroy(c);
}

static void
test_topic_ids_and_eviction(void **state)
{
    sl_fsess_cache_t *c = sl_fsess_cache_create(2, 100);
    sl_uuid_t a = {{1}}, b = {{2}};
    sl_fsess_t *s1, *s2;
    int n;

    (void)state;
    s1 = sl_fsess_create(c, 0);
    assert_non_null(sl_fsess_upsert(s1, NULL, 0, &a, 0));
    assert_non_null(sl_fsess_upsert(s1, NULL, 0, &b, 0));
    sl_fsess_parts(s1, &n);
    assert_int_equal(n, 2);
    sl_fsess_end(c, s1, 0);
    s2 = sl_fsess_create(c, 10);
    assert_non_null(s2);
    sl_fsess_end(c, s2, 10);
    /* Full, nothing idle long enough: refused. */
    assert_null(sl_fsess_create(c, 50));
    /* After the eviction time the least recently used one goes. */
    assert_non_null(sl_fsess_create(c, 150));
    assert_int_equal(sl_fsess_count(c), 2);
    sl_fsess_cache_destroy(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_and_errors),
        cmocka_unit_test(test_session_life),
        cmocka_unit_test(test_topic_ids_and_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
