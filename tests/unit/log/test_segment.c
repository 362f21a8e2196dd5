/*
 * tests/unit/log/test_segment.c: one segment: appends with index entries
 * every index.interval.bytes, lookups of every offset, time lookups,
 * reopen with sane indexes, detection of corrupt indexes and rebuild,
 * recovery of a torn tail, truncation, a full index, reads through a
 * reference after unlink, and header decoding of hostile bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "log/segment.h"
#include "log_test_util.h"

#define TS0 1700000000000LL

typedef struct fx_s {
    char dir[256];
    sl_log_config_t cfg;
    sl_segment_t *seg;
    int64_t next;
} fx_t;

static int
setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    tl_mkdtemp(fx->dir);
    tl_config(&fx->cfg);
    fx->next = 100;
    assert_int_equal(sl_segment_create(fx->dir, 100, &fx->cfg, &fx->seg),
                     SL_OK);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *fx = *state;

    sl_segment_unref(fx->seg);
    tl_rmtree(fx->dir);
    free(fx);
    return 0;
}

/* Append a batch of n records at fx->next with timestamps ts.. */
static void
app(fx_t *fx, int n, int64_t ts)
{
    uint8_t *b;
    size_t len = tl_batch(n, 40, ts, &b);
    bool broken;

    sl_batch_set_base_offset(b, fx->next);
    assert_int_equal(sl_segment_append(fx->seg, b, len, &broken), SL_OK);
    fx->next += n;
    assert_int_equal(sl_segment_next_offset(fx->seg), fx->next);
    free(b);
}

static void
check_find_all(fx_t *fx)
{
    sl_seg_batch_t b;
    int64_t off;

    for (off = 100; off < fx->next; off++) {
        assert_int_equal(
            sl_segment_find(fx->seg, off, sl_segment_size(fx->seg), &b), SL_OK);
        assert_true(b.base_offset <= off && off <= b.last_offset);
    }
    assert_int_equal(
        sl_segment_find(fx->seg, fx->next, sl_segment_size(fx->seg), &b),
        SL_ERR__NOENT);
}

static void
test_append_find(void **state)
{
    fx_t *fx = *state;
    size_t nt, no;
    sl_seg_batch_t b;
    int i;

    for (i = 0; i < 40; i++) {
        app(fx, 3, TS0 + 10 * i);
    }
    no = sl_segment_index_entries(fx->seg, &nt);
    /* ~220-byte batches, an entry after > 256 bytes: every 2nd batch */
    assert_true(no >= 15 && no <= 20);
    assert_int_equal(nt, no); /* timestamps always grow here */
    check_find_all(fx);
    assert_int_equal(sl_segment_max_ts(fx->seg), TS0 + 392);
    assert_int_equal(sl_segment_max_ts_offset(fx->seg), 219);
    assert_int_equal(
        sl_segment_find_time(fx->seg, TS0 + 205, sl_segment_size(fx->seg), &b),
        SL_OK);
    assert_int_equal(b.base_offset, 100 + 21 * 3); /* batch 20 ends at 202 */
    assert_int_equal(
        sl_segment_find_time(fx->seg, TS0 + 202, sl_segment_size(fx->seg), &b),
        SL_OK);
    assert_int_equal(b.base_offset, 100 + 20 * 3);
    assert_int_equal(
        sl_segment_find_time(fx->seg, TS0 + 203, sl_segment_size(fx->seg), &b),
        SL_OK);
    assert_int_equal(b.base_offset, 100 + 21 * 3);
    assert_int_equal(
        sl_segment_find_time(fx->seg, TS0 + 1000, sl_segment_size(fx->seg), &b),
        SL_ERR__NOENT);
}

static void
test_reopen_and_rebuild(void **state)
{
    fx_t *fx = *state;
    char p[512];
    size_t no, nt;
    int64_t cut;
    int fd, i;

    for (i = 0; i < 40; i++) {
        app(fx, 2, TS0 + i);
    }
    sl_segment_seal(fx->seg);
    no = sl_segment_index_entries(fx->seg, &nt);
    sl_segment_unref(fx->seg);
    assert_int_equal(sl_segment_open(fx->dir, 100, &fx->cfg, &fx->seg), SL_OK);
    assert_true(sl_segment_indexes_ok(fx->seg));
    assert_int_equal(sl_segment_index_entries(fx->seg, NULL), no);
    assert_int_equal(sl_segment_max_ts(fx->seg), TS0 + 40);
    assert_int_equal(sl_segment_load_tail(fx->seg, 0), SL_OK);
    assert_int_equal(sl_segment_next_offset(fx->seg), fx->next);
    check_find_all(fx);
    sl_segment_unref(fx->seg);

    /* an entry pointing at the wrong batch */
    snprintf(p, sizeof(p), "%s/%020d.index", fx->dir, 100);
    fd = open(p, O_WRONLY);
    assert_true(pwrite(fd, "\0\0\0\x01", 4, (off_t)(no - 1) * 8) == 4);
    close(fd);
    assert_int_equal(sl_segment_open(fx->dir, 100, &fx->cfg, &fx->seg), SL_OK);
    assert_false(sl_segment_indexes_ok(fx->seg));
    assert_int_equal(sl_segment_index_entries(fx->seg, NULL), 0);
    assert_int_equal(sl_segment_rebuild(fx->seg, 0, &cut), SL_OK);
    assert_int_equal(cut, 0);
    assert_int_equal(sl_segment_index_entries(fx->seg, NULL), no);
    check_find_all(fx);
}

static void
test_recover_torn(void **state)
{
    fx_t *fx = *state;
    int64_t size, cut;
    int i;

    for (i = 0; i < 10; i++) {
        app(fx, 2, TS0 + i);
    }
    size = sl_segment_size(fx->seg);
    {
        char p[512];

        snprintf(p, sizeof(p), "%s/%020d.log", fx->dir, 100);
        assert_int_equal(truncate(p, size - 5), 0);
    }
    assert_int_equal(sl_segment_recover(fx->seg, 0, NULL, NULL, &cut), SL_OK);
    assert_true(cut > 0);
    assert_int_equal(sl_segment_next_offset(fx->seg), 118);
    assert_int_equal(sl_segment_size(fx->seg), size - 5 - cut);
    fx->next = 118;
    check_find_all(fx);
    /* offsets must not go backwards: a min offset beyond cuts all */
    assert_int_equal(sl_segment_recover(fx->seg, 500, NULL, NULL, &cut), SL_OK);
    assert_int_equal(sl_segment_size(fx->seg), 0);
}

static void
test_truncate_to(void **state)
{
    fx_t *fx = *state;
    int i;

    for (i = 0; i < 20; i++) {
        app(fx, 2, TS0 + i);
    }
    assert_int_equal(sl_segment_truncate_to(fx->seg, 121), SL_OK);
    assert_int_equal(sl_segment_next_offset(fx->seg), 120);
    fx->next = 120;
    check_find_all(fx);
    app(fx, 1, TS0);
    check_find_all(fx);
}

static void
test_index_full(void **state)
{
    fx_t *fx = *state;
    int i;

    fx->cfg.segment_index_bytes = 24; /* 3 offset entries, 2 time entries */
    sl_segment_set_config(fx->seg, &fx->cfg);
    for (i = 0; i < 4 && !sl_segment_index_full(fx->seg); i++) {
        app(fx, 2, TS0 + i);
        app(fx, 2, TS0 + i);
    }
    assert_true(sl_segment_index_full(fx->seg));
}

static void
test_unlinked_still_readable(void **state)
{
    fx_t *fx = *state;
    sl_seg_batch_t b;

    app(fx, 2, TS0);
    sl_segment_ref(fx->seg);
    assert_int_equal(sl_segment_unlink(fx->seg), SL_OK);
    sl_segment_unref(fx->seg);
    assert_int_equal(
        sl_segment_find(fx->seg, 101, sl_segment_size(fx->seg), &b), SL_OK);
    assert_int_equal(b.base_offset, 100);
}

static void
test_decode_hostile(void **state)
{
    uint8_t h[61];
    sl_seg_batch_t b;
    int i, j;

    (void)state;
    memset(h, 0, sizeof(h));
    h[16] = 2;
    h[11] = 49; /* batch_length 49: a batch of header only */
    assert_int_equal(sl_segment_decode_header(h, 61, &b), SL_OK);
    assert_int_equal(b.size, 61);
    assert_int_equal(sl_segment_decode_header(h, 60, &b), SL_ERR__NOENT);
    h[16] = 1;
    assert_int_equal(sl_segment_decode_header(h, 61, &b), SL_ERR__CORRUPT);
    h[16] = 2;
    h[11] = 48;
    assert_int_equal(sl_segment_decode_header(h, 61, &b), SL_ERR__CORRUPT);
    h[11] = 49;
    h[22] = 7; /* codec 7 */
    assert_int_equal(sl_segment_decode_header(h, 61, &b), SL_ERR__CORRUPT);
    h[22] = 0;
    h[0] = 0x80; /* negative base offset */
    assert_int_equal(sl_segment_decode_header(h, 61, &b), SL_ERR__CORRUPT);
    srand(7);
    for (i = 0; i < 100000; i++) {
        for (j = 0; j < 61; j++) {
            h[j] = (uint8_t)rand();
        }
        (void)sl_segment_decode_header(h, rand(), &b);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_rebuild, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recover_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_to, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlinked_still_readable, setup,
                                        teardown),
        cmocka_unit_test(test_decode_hostile),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
