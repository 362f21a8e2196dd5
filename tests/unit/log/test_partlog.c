/*
 * tests/unit/log/test_partlog.c: the partition log: append/read round
 * trips, offsets, rolls by size and time, retention, DeleteRecords, clean
 * and unclean reopen, recovery from a torn tail (every cut of the last
 * batch), a corrupt batch in the middle of the last segment, missing and
 * corrupt indexes, ListOffsets, leader epochs, truncation, injected ENOSPC,
 * short writes, EIO on fdatasync, a simulated crash, and a concurrency
 * smoke test (appender, two readers, retention).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/faultfs.h"
#include "log/file.h"
#include "log/partlog.h"
#include "log_test_util.h"

#define TS0 1700000000000LL

typedef struct fx_s {
    char root[256];
    char dir[512];
    sl_log_config_t cfg;
    sl_partlog_t *pl;
} fx_t;

static sl_partlog_t *
fx_open(fx_t *fx, bool clean, sl_partlog_stats_t *st)
{
    sl_partlog_opts_t o;
    sl_partlog_t *pl = NULL;

    memset(&o, 0, sizeof(o));
    o.dir = fx->dir;
    o.topic = "t";
    o.partition = 0;
    o.cfg = &fx->cfg;
    o.clean = clean;
    o.create = true;
    o.now_ms = TS0;
    assert_int_equal(sl_partlog_open(&o, &pl, st), SL_OK);
    return pl;
}

static int
setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    tl_mkdtemp(fx->root);
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-0", fx->root);
    tl_config(&fx->cfg);
    fx->pl = fx_open(fx, false, NULL);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *fx = *state;

    sl_faultfs_uninstall();
    if (fx->pl != NULL) {
        sl_partlog_abandon(fx->pl);
    }
    tl_rmtree(fx->root);
    free(fx);
    return 0;
}

/* Append one batch of n records; returns its base offset. */
static int64_t
app(sl_partlog_t *pl, int n, size_t vlen, int64_t ts, int64_t now)
{
    uint8_t *b;
    size_t len = tl_batch(n, vlen, ts, &b);
    sl_append_info_t info;

    assert_int_equal(sl_partlog_append(pl, b, len, -1, 0, now, &info), SL_OK);
    assert_int_equal(info.last_offset - info.base_offset + 1, n);
    free(b);
    return info.base_offset;
}

/* Read everything from log start with read_copy; check batches are whole,
 * valid, and offsets contiguous. Returns the number of records. */
static int64_t
read_all(sl_partlog_t *pl)
{
    static uint8_t buf[1 << 16];
    int64_t off = sl_partlog_log_start(pl), recs = 0, expect = -1;
    size_t len;
    sl_batch_seq_t it;
    sl_batch_t b;

    while (off < sl_partlog_end_offset(pl)) {
        assert_int_equal(
            sl_partlog_read_copy(pl, off, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        assert_true(len > 0);
        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0), SL_OK);
            if (expect >= 0) {
                assert_int_equal(b.base_offset, expect);
            }
            assert_true(b.base_offset + b.last_offset_delta >= off);
            expect = b.base_offset + b.last_offset_delta + 1;
            recs += b.records_count;
            off = expect;
        }
    }
    return recs;
}

static void
test_append_read(void **state)
{
    fx_t *fx = *state;
    uint8_t buf[8192];
    size_t len;
    sl_log_slice_t s;
    sl_batch_t b;
    int i;

    for (i = 0; i < 10; i++) {
        assert_int_equal(app(fx->pl, 3, 10, TS0 + i, TS0), i * 3);
    }
    assert_int_equal(sl_partlog_end_offset(fx->pl), 30);
    assert_int_equal(sl_partlog_hwm(fx->pl), 30);
    /* a read inside a batch starts at the batch */
    assert_int_equal(
        sl_partlog_read_copy(fx->pl, 4, true, -1, buf, sizeof(buf), &len),
        SL_OK);
    assert_int_equal(
        sl_batch_seq_next(&(sl_batch_seq_t){buf, buf + len, 0, 0}, &b, NULL),
        SL_OK);
    assert_int_equal(b.base_offset, 3);
    /* min_one: at least one whole batch even with max_bytes 1 */
    assert_int_equal(sl_partlog_read(fx->pl, 0, 1, true, -1, &s), SL_OK);
    assert_non_null(s.seg);
    assert_int_equal(s.pos, 0);
    assert_true(s.len > 61);
    sl_log_slice_release(&s);
    assert_int_equal(sl_partlog_read(fx->pl, 0, 1, false, -1, &s), SL_OK);
    assert_int_equal(s.len, 1);
    sl_log_slice_release(&s);
    /* at the end: empty; past it: out of range */
    assert_int_equal(sl_partlog_read(fx->pl, 30, 100, true, -1, &s), SL_OK);
    assert_null(s.seg);
    assert_int_equal(sl_partlog_read(fx->pl, 31, 100, true, -1, &s),
                     SL_ERR_OFFSET_OUT_OF_RANGE);
    /* upto bounds the range */
    assert_int_equal(
        sl_partlog_read_copy(fx->pl, 0, true, 6, buf, sizeof(buf), &len),
        SL_OK);
    {
        sl_batch_seq_t it;
        int n = 0;

        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            n++;
        }
        assert_int_equal(n, 2);
    }
    assert_int_equal(read_all(fx->pl), 30);
    /* the slice is made for sendfile: same bytes as the copying read */
    {
        char p[600];
        int out;
        off_t pos;
        uint8_t back[8192];

        assert_int_equal(sl_partlog_read(fx->pl, 7, 4000, true, -1, &s), SL_OK);
        snprintf(p, sizeof(p), "%s/sendfile.out", fx->root);
        out = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
        pos = (off_t)s.pos;
        assert_int_equal(sendfile(out, s.fd, &pos, s.len), (ssize_t)s.len);
        assert_int_equal(pread(out, back, s.len, 0), (ssize_t)s.len);
        assert_int_equal(
            sl_partlog_read_copy(fx->pl, 7, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        assert_int_equal(len, s.len);
        assert_memory_equal(back, buf, len);
        close(out);
        sl_log_slice_release(&s);
    }
}

static void
test_bad_input(void **state)
{
    fx_t *fx = *state;
    uint8_t *b;
    size_t len = tl_batch(2, 10, TS0, &b);
    sl_append_info_t info;

    b[len - 1] ^= 1; /* CRC mismatch */
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_ERR_CORRUPT_MESSAGE);
    b[len - 1] ^= 1;
    assert_int_equal(sl_partlog_append(fx->pl, b, len - 1, -1, 0, TS0, &info),
                     SL_ERR_CORRUPT_MESSAGE);
    fx->cfg.max_message_bytes = 50;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_ERR_MESSAGE_TOO_LARGE);
    assert_int_equal(sl_partlog_append(fx->pl, b, 0, -1, 0, TS0, &info),
                     SL_ERR__INVAL);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 0);
    free(b);
}

static void
test_roll_by_size(void **state)
{
    fx_t *fx = *state;
    int64_t bases[64];
    size_t n, i;

    for (i = 0; i < 60; i++) {
        app(fx->pl, 2, 100, TS0 + (int64_t)i, TS0);
    }
    n = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(n >= 3);
    for (i = 1; i < n; i++) {
        assert_true(bases[i] > bases[i - 1]);
    }
    assert_int_equal(read_all(fx->pl), 120);
    assert_true(sl_partlog_size_bytes(fx->pl) > 4096 * 2);
}

static void
test_roll_by_time(void **state)
{
    fx_t *fx = *state;

    fx->cfg.segment_ms = 1000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    app(fx->pl, 1, 10, TS0, TS0);
    app(fx->pl, 1, 10, TS0, TS0 + 500);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 1);
    app(fx->pl, 1, 10, TS0, TS0 + 1000);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 2);
    app(fx->pl, 1, 10, TS0, TS0 + 1500);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 2);
    assert_int_equal(read_all(fx->pl), 4);
}

static void
test_retention_time(void **state)
{
    fx_t *fx = *state;
    int deleted;

    fx->cfg.retention_ms = 10000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    app(fx->pl, 2, 10, TS0, TS0);
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    app(fx->pl, 2, 10, TS0 + 5000, TS0);
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    app(fx->pl, 2, 10, TS0 + 20000, TS0);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 3);
    assert_int_equal(sl_partlog_retain(fx->pl, TS0 + 10001, &deleted), SL_OK);
    assert_int_equal(deleted, 0); /* max ts TS0+1, 10000 ms ago: kept */
    assert_int_equal(sl_partlog_retain(fx->pl, TS0 + 10002, &deleted), SL_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(sl_partlog_log_start(fx->pl), 2);
    /* the active segment stays even when expired */
    assert_int_equal(sl_partlog_retain(fx->pl, TS0 + 999999, &deleted), SL_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 1);
    assert_int_equal(sl_partlog_log_start(fx->pl), 4);
    assert_int_equal(read_all(fx->pl), 2);
    /* persisted */
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, NULL);
    assert_int_equal(sl_partlog_log_start(fx->pl), 4);
}

static void
test_retention_bytes(void **state)
{
    fx_t *fx = *state;
    int deleted, i;
    int64_t before;

    for (i = 0; i < 60; i++) {
        app(fx->pl, 2, 100, TS0, TS0);
    }
    before = sl_partlog_size_bytes(fx->pl);
    fx->cfg.retention_bytes = 5000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    assert_int_equal(sl_partlog_retain(fx->pl, TS0, &deleted), SL_OK);
    assert_true(deleted > 0);
    assert_true(sl_partlog_size_bytes(fx->pl) >= 5000);
    assert_true(sl_partlog_size_bytes(fx->pl) < before);
    assert_true(sl_partlog_size_bytes(fx->pl) < 5000 + 4096 + 400);
    assert_true(sl_partlog_log_start(fx->pl) > 0);
    assert_int_equal(read_all(fx->pl), 120 - sl_partlog_log_start(fx->pl));
}

static void
test_delete_records(void **state)
{
    fx_t *fx = *state;
    int64_t lw;
    sl_log_slice_t s;
    int i;

    for (i = 0; i < 60; i++) {
        app(fx->pl, 2, 100, TS0, TS0);
    }
    assert_int_equal(sl_partlog_delete_records(fx->pl, 121, &lw),
                     SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(sl_partlog_delete_records(fx->pl, 5, &lw), SL_OK);
    assert_int_equal(lw, 5);
    assert_int_equal(sl_partlog_read(fx->pl, 4, 100, true, -1, &s),
                     SL_ERR_OFFSET_OUT_OF_RANGE);
    assert_int_equal(sl_partlog_read(fx->pl, 5, 100, true, -1, &s), SL_OK);
    assert_non_null(s.seg);
    sl_log_slice_release(&s);
    assert_int_equal(sl_partlog_delete_records(fx->pl, 100, &lw), SL_OK);
    assert_int_equal(lw, 100);
    assert_true(sl_partlog_segment_count(fx->pl) <= 3);
    assert_int_equal(sl_partlog_delete_records(fx->pl, 50, &lw), SL_OK);
    assert_int_equal(lw, 100); /* never moves back */
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, NULL);
    assert_int_equal(sl_partlog_log_start(fx->pl), 100);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 120);
    assert_int_equal(sl_partlog_delete_records(fx->pl, -1, &lw), SL_OK);
    assert_int_equal(lw, 120);
}

static void
test_reopen_clean_and_unclean(void **state)
{
    fx_t *fx = *state;
    sl_partlog_stats_t st;
    int i;

    for (i = 0; i < 40; i++) {
        app(fx->pl, 3, 50, TS0 + i, TS0);
    }
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true, &st);
    assert_false(st.recovered);
    assert_int_equal(st.indexes_rebuilt, 0);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 120);
    assert_int_equal(read_all(fx->pl), 120);
    assert_int_equal(app(fx->pl, 1, 10, TS0, TS0), 120);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, &st);
    assert_true(st.recovered);
    assert_int_equal(st.truncated_bytes, 0);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 121);
    assert_int_equal(read_all(fx->pl), 121);
}

/* Path of the active segment's .log. */
static void
last_log(fx_t *fx, char *p, size_t cap, int64_t *base)
{
    int64_t bases[256];
    size_t n = sl_partlog_segment_bases(fx->pl, bases, 256);

    *base = bases[n - 1];
    snprintf(p, cap, "%s/%020lld.log", fx->dir, (long long)*base);
}

static uint8_t *
slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    uint8_t *b;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void
spit(const char *p, const uint8_t *b, size_t len)
{
    FILE *f = fopen(p, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void
test_truncated_tail_every_byte(void **state)
{
    fx_t *fx = *state;
    char p[600];
    uint8_t *orig;
    size_t len, cut;
    int64_t base, last_pos, last_base;
    sl_partlog_stats_t st;
    sl_log_slice_t s;
    int i;

    for (i = 0; i < 5; i++) {
        app(fx->pl, 2, 20, TS0 + i, TS0);
    }
    last_base = app(fx->pl, 3, 20, TS0 + 9, TS0);
    assert_int_equal(sl_partlog_read(fx->pl, last_base, 10, true, -1, &s),
                     SL_OK);
    last_pos = s.pos;
    sl_log_slice_release(&s);
    last_log(fx, p, sizeof(p), &base);
    sl_partlog_abandon(fx->pl);
    fx->pl = NULL;
    orig = slurp(p, &len);
    for (cut = (size_t)last_pos; cut < len; cut++) {
        spit(p, orig, cut);
        fx->pl = fx_open(fx, false, &st);
        assert_true(st.recovered);
        assert_int_equal(st.truncated_bytes, (int64_t)(cut - last_pos));
        assert_int_equal(sl_partlog_end_offset(fx->pl), last_base);
        assert_int_equal(read_all(fx->pl), 10);
        sl_partlog_abandon(fx->pl);
        fx->pl = NULL;
    }
    spit(p, orig, len);
    fx->pl = fx_open(fx, false, &st);
    assert_int_equal(sl_partlog_end_offset(fx->pl), last_base + 3);
    free(orig);
}

static void
test_corrupt_middle_of_last_segment(void **state)
{
    fx_t *fx = *state;
    char p[600];
    uint8_t *orig;
    size_t len;
    int64_t base, bad_base, bad_pos;
    sl_partlog_stats_t st;
    sl_log_slice_t s;
    int i;

    for (i = 0; i < 3; i++) {
        app(fx->pl, 2, 20, TS0, TS0);
    }
    bad_base = app(fx->pl, 2, 20, TS0, TS0);
    for (i = 0; i < 3; i++) {
        app(fx->pl, 2, 20, TS0, TS0);
    }
    assert_int_equal(sl_partlog_read(fx->pl, bad_base, 10, true, -1, &s),
                     SL_OK);
    bad_pos = s.pos;
    sl_log_slice_release(&s);
    last_log(fx, p, sizeof(p), &base);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    orig = slurp(p, &len);
    orig[bad_pos + 70] ^= 0x40; /* inside the records: CRC catches it */
    spit(p, orig, len);
    fx->pl = fx_open(fx, false, &st);
    assert_true(st.recovered);
    assert_int_equal(sl_partlog_end_offset(fx->pl), bad_base);
    assert_int_equal(st.truncated_bytes, (int64_t)len - bad_pos);
    assert_int_equal(read_all(fx->pl), bad_base);
    /* appends continue from there */
    assert_int_equal(app(fx->pl, 1, 5, TS0, TS0), bad_base);
    free(orig);
}

static void
test_clean_marker_bad_tail(void **state)
{
    fx_t *fx = *state;
    char p[600];
    int64_t base;
    int fd;
    sl_partlog_stats_t st;

    app(fx->pl, 2, 20, TS0, TS0);
    app(fx->pl, 2, 20, TS0, TS0);
    last_log(fx, p, sizeof(p), &base);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fd = open(p, O_WRONLY | O_APPEND);
    assert_true(write(fd, "garbage-tail", 12) == 12);
    close(fd);
    fx->pl = fx_open(fx, true, &st);
    assert_true(st.recovered);
    assert_int_equal(st.truncated_bytes, 12);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 4);
}

static void
check_each_offset(sl_partlog_t *pl)
{
    int64_t off;
    uint8_t buf[8192];
    size_t len;
    sl_batch_t b;

    for (off = sl_partlog_log_start(pl); off < sl_partlog_end_offset(pl);
         off++) {
        sl_batch_seq_t it;

        assert_int_equal(
            sl_partlog_read_copy(pl, off, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        sl_batch_seq_init(&it, buf, len, 0);
        assert_int_equal(sl_batch_seq_next(&it, &b, NULL), SL_OK);
        assert_true(b.base_offset <= off);
        assert_true(b.base_offset + b.last_offset_delta >= off);
    }
}

static void
test_missing_and_corrupt_index(void **state)
{
    fx_t *fx = *state;
    int64_t bases[64], base;
    size_t n;
    char p[600];
    sl_partlog_stats_t st;
    int fd, i;

    for (i = 0; i < 60; i++) {
        app(fx->pl, 2, 100, TS0 + i, TS0);
    }
    n = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(n >= 4);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    /* missing index */
    snprintf(p, sizeof(p), "%s/%020lld.index", fx->dir, (long long)bases[0]);
    assert_int_equal(unlink(p), 0);
    /* odd-sized index */
    snprintf(p, sizeof(p), "%s/%020lld.index", fx->dir, (long long)bases[1]);
    fd = open(p, O_WRONLY | O_APPEND);
    assert_true(write(fd, "xyz", 3) == 3);
    close(fd);
    /* well-sized garbage: entries out of order */
    snprintf(p, sizeof(p), "%s/%020lld.index", fx->dir, (long long)bases[2]);
    fd = open(p, O_WRONLY | O_TRUNC);
    assert_true(write(fd, "\0\0\0\x09\0\0\0\x10\0\0\0\x02\0\0\0\x20", 16) ==
                16);
    close(fd);
    /* corrupt time index of the active segment */
    base = bases[n - 1];
    snprintf(p, sizeof(p), "%s/%020lld.timeindex", fx->dir, (long long)base);
    fd = open(p, O_WRONLY | O_APPEND);
    assert_true(write(fd, "x", 1) == 1);
    close(fd);
    fx->pl = fx_open(fx, true, &st);
    assert_true(st.indexes_rebuilt >= 3);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 120);
    check_each_offset(fx->pl);
    /* the rebuilt files are good on the next open */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true, &st);
    assert_int_equal(st.indexes_rebuilt, 0);
    check_each_offset(fx->pl);
}

static void
test_offsets_for_time(void **state)
{
    fx_t *fx = *state;
    int64_t off, ts;
    int i;

    /* batches of 4 records with timestamps 1000*i + 0..3 */
    for (i = 0; i < 40; i++) {
        app(fx->pl, 4, 50, TS0 + 1000 * i, TS0);
    }
    assert_int_equal(
        sl_partlog_offset_for_time(fx->pl, SL_LOG_TS_EARLIEST, &off, &ts),
        SL_OK);
    assert_int_equal(off, 0);
    assert_int_equal(
        sl_partlog_offset_for_time(fx->pl, SL_LOG_TS_LATEST, &off, &ts), SL_OK);
    assert_int_equal(off, 160);
    assert_int_equal(
        sl_partlog_offset_for_time(fx->pl, SL_LOG_TS_MAX, &off, &ts), SL_OK);
    assert_int_equal(off, 159);
    assert_int_equal(ts, TS0 + 39003);
    /* exact record inside a batch */
    assert_int_equal(sl_partlog_offset_for_time(fx->pl, TS0 + 17002, &off, &ts),
                     SL_OK);
    assert_int_equal(off, 17 * 4 + 2);
    assert_int_equal(ts, TS0 + 17002);
    /* between batches: the next batch's first record */
    assert_int_equal(sl_partlog_offset_for_time(fx->pl, TS0 + 17500, &off, &ts),
                     SL_OK);
    assert_int_equal(off, 18 * 4);
    assert_int_equal(ts, TS0 + 18000);
    for (i = 0; i < 40; i++) {
        assert_int_equal(
            sl_partlog_offset_for_time(fx->pl, TS0 + 1000 * i, &off, &ts),
            SL_OK);
        assert_int_equal(off, 4 * i);
    }
    assert_int_equal(sl_partlog_offset_for_time(fx->pl, 0, &off, &ts), SL_OK);
    assert_int_equal(off, 0);
    assert_int_equal(sl_partlog_offset_for_time(fx->pl, TS0 + 99999, &off, &ts),
                     SL_OK);
    assert_int_equal(off, -1);
    assert_int_equal(ts, -1);
    /* same answers after a clean reopen (time indexes from disk) */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true, NULL);
    assert_int_equal(sl_partlog_offset_for_time(fx->pl, TS0 + 17002, &off, &ts),
                     SL_OK);
    assert_int_equal(off, 17 * 4 + 2);
    assert_int_equal(
        sl_partlog_offset_for_time(fx->pl, SL_LOG_TS_MAX, &off, &ts), SL_OK);
    assert_int_equal(off, 159);
}

static void
test_log_append_time(void **state)
{
    fx_t *fx = *state;
    uint8_t *b, buf[4096];
    size_t len = tl_batch(3, 10, 5, &b), got;
    sl_append_info_t info;
    sl_batch_t pb;
    sl_batch_seq_t it;

    fx->cfg.log_append_time = true;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, 7, 0, TS0 + 42, &info),
                     SL_OK);
    assert_int_equal(info.log_append_time, TS0 + 42);
    assert_int_equal(
        sl_partlog_read_copy(fx->pl, 0, true, -1, buf, sizeof(buf), &got),
        SL_OK);
    sl_batch_seq_init(&it, buf, got, 0); /* CRC checked */
    assert_int_equal(sl_batch_seq_next(&it, &pb, NULL), SL_OK);
    assert_int_equal(pb.max_timestamp, TS0 + 42);
    assert_int_equal(pb.partition_leader_epoch, 7);
    assert_true(pb.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME);
    free(b);
}

static void
app_epoch(sl_partlog_t *pl, int32_t epoch)
{
    uint8_t *b;
    size_t len = tl_batch(2, 10, TS0, &b);
    sl_append_info_t info;

    assert_int_equal(sl_partlog_append(pl, b, len, epoch, 0, TS0, &info),
                     SL_OK);
    free(b);
}

static void
test_leader_epochs(void **state)
{
    fx_t *fx = *state;
    int32_t e;
    int64_t end;
    char p[600];

    app_epoch(fx->pl, 1); /* 0-1 */
    app_epoch(fx->pl, 1); /* 2-3 */
    app_epoch(fx->pl, 3); /* 4-5 */
    app_epoch(fx->pl, 5); /* 6-7 */
    app_epoch(fx->pl, 5); /* 8-9 */
    assert_int_equal(sl_partlog_latest_epoch(fx->pl), 5);
    sl_partlog_end_offset_for_epoch(fx->pl, 5, &e, &end);
    assert_int_equal(e, 5);
    assert_int_equal(end, 10);
    sl_partlog_end_offset_for_epoch(fx->pl, 1, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 4);
    sl_partlog_end_offset_for_epoch(fx->pl, 2, &e, &end);
    assert_int_equal(e, 1);
    assert_int_equal(end, 4);
    sl_partlog_end_offset_for_epoch(fx->pl, 4, &e, &end);
    assert_int_equal(e, 3);
    assert_int_equal(end, 6);
    sl_partlog_end_offset_for_epoch(fx->pl, 0, &e, &end);
    assert_int_equal(e, 0);
    assert_int_equal(end, 0);
    sl_partlog_end_offset_for_epoch(fx->pl, 9, &e, &end);
    assert_int_equal(e, -1);
    assert_int_equal(end, -1);
    /* persisted; a lost file is rebuilt from the batches */
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, true, NULL);
    sl_partlog_end_offset_for_epoch(fx->pl, 3, &e, &end);
    assert_int_equal(end, 6);
    sl_partlog_abandon(fx->pl);
    snprintf(p, sizeof(p), "%s/leader-epoch-checkpoint", fx->dir);
    assert_int_equal(unlink(p), 0);
    fx->pl = fx_open(fx, true, NULL);
    sl_partlog_end_offset_for_epoch(fx->pl, 3, &e, &end);
    assert_int_equal(e, 3);
    assert_int_equal(end, 6);
    /* truncation drops later epochs */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, 5), SL_OK);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 4);
    assert_int_equal(sl_partlog_latest_epoch(fx->pl), 1);
    app_epoch(fx->pl, 6);
    sl_partlog_end_offset_for_epoch(fx->pl, 1, &e, &end);
    assert_int_equal(end, 4);
}

static void
test_truncate_to(void **state)
{
    fx_t *fx = *state;
    int i;

    for (i = 0; i < 60; i++) {
        app(fx->pl, 2, 100, TS0 + i, TS0);
    }
    assert_int_equal(sl_partlog_truncate_to(fx->pl, 71), SL_OK);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 70);
    assert_int_equal(sl_partlog_hwm(fx->pl), 70);
    assert_int_equal(read_all(fx->pl), 70);
    assert_int_equal(app(fx->pl, 1, 10, TS0, TS0), 70);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, NULL);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 71);
    check_each_offset(fx->pl);
    assert_int_equal(sl_partlog_truncate_to(fx->pl, 0), SL_OK);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 0);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 1);
    assert_int_equal(app(fx->pl, 1, 10, TS0, TS0), 0);
    /* the new first segment has the old one's name: it must survive */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true, NULL);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 1);
    assert_int_equal(read_all(fx->pl), 1);
}

static void
test_empty_segment_past_the_end(void **state)
{
    fx_t *fx = *state;
    char p[600];
    sl_partlog_stats_t st;
    FILE *f;

    app(fx->pl, 3, 10, TS0, TS0);
    sl_partlog_abandon(fx->pl);
    /* what a corrupt segment named 1000 leaves after recovery cut it */
    snprintf(p, sizeof(p), "%s/%020d.log", fx->dir, 1000);
    f = fopen(p, "wb");
    fputs("junk", f);
    fclose(f);
    fx->pl = fx_open(fx, false, &st);
    assert_int_equal(st.segments_dropped, 1);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 1);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 3);
    assert_int_equal(read_all(fx->pl), 3);
    assert_int_equal(app(fx->pl, 1, 10, TS0, TS0), 3);
    assert_false(sl_file_exists(p));
}

/* Sealed segments keep every 64th index entry in memory and read the
 * rest from the files: lookups by offset and time stay exact, also after
 * index bytes change under them and after truncation into such a segment. */
static void
test_compact_indexes(void **state)
{
    fx_t *fx = *state;
    int64_t bases[64], off, ts;
    size_t n;
    char p[600];
    int fd, i;

    fx->cfg.segment_bytes = 128 * 1024;
    fx->cfg.index_interval_bytes = 100;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    for (i = 0; i < 1500; i++) {
        app(fx->pl, 2, 60, TS0 + 10 * i, TS0);
    }
    n = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(n >= 2);
    check_each_offset(fx->pl);
    for (i = 0; i < 1500; i += 7) {
        assert_int_equal(
            sl_partlog_offset_for_time(fx->pl, TS0 + 10 * i + 1, &off, &ts),
            SL_OK);
        assert_int_equal(off, 2 * i + 1);
    }
    /* and cheap: one block of the index file, not a long header scan */
    {
        uint8_t buf[8192];
        size_t len;
        int64_t before;

        assert_true(bases[1] > 2 * 350 + 1);
        sl_faultfs_install();
        before = sl_faultfs_count(SL_FILE_OP_PREAD);
        assert_int_equal(sl_partlog_read_copy(fx->pl, 2 * 350 + 1, true, -1,
                                              buf, sizeof(buf), &len),
                         SL_OK);
        assert_true(sl_faultfs_count(SL_FILE_OP_PREAD) - before <= 5);
        sl_faultfs_uninstall();
    }
    /* index bytes that disagree with what was checked: still exact */
    snprintf(p, sizeof(p), "%s/%020lld.index", fx->dir, (long long)bases[0]);
    fd = open(p, O_WRONLY);
    assert_true(pwrite(fd, "\x7f\xff\xff\xff\0\0\0\0", 8, 8 * 70) == 8);
    assert_true(pwrite(fd, "\0\0\0\0\0\0\0\0", 8, 8 * 200) == 8);
    close(fd);
    snprintf(p, sizeof(p), "%s/%020lld.timeindex", fx->dir,
             (long long)bases[0]);
    fd = open(p, O_WRONLY);
    assert_true(pwrite(fd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12, 12 * 70) == 12);
    close(fd);
    check_each_offset(fx->pl);
    for (i = 0; i < 1500; i += 7) {
        assert_int_equal(
            sl_partlog_offset_for_time(fx->pl, TS0 + 10 * i + 1, &off, &ts),
            SL_OK);
        assert_int_equal(off, 2 * i + 1);
    }
    /* reopen: the damaged index is caught and rebuilt */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true, NULL);
    check_each_offset(fx->pl);
    /* truncating into a compact segment makes it active with full
     * indexes again */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, bases[1]), SL_OK);
    assert_int_equal(sl_partlog_end_offset(fx->pl), bases[1]);
    for (i = 0; i < 50; i++) {
        app(fx->pl, 2, 60, TS0, TS0);
    }
    check_each_offset(fx->pl);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, NULL);
    assert_int_equal(sl_partlog_end_offset(fx->pl), bases[1] + 100);
    check_each_offset(fx->pl);
}

static void
test_recovery_starts_at_recovery_point(void **state)
{
    fx_t *fx = *state;
    int64_t bases[64], durable;
    size_t n;
    char p[600];
    uint8_t *bytes;
    size_t len;
    sl_partlog_stats_t st;
    int i;

    for (i = 0; i < 40; i++) {
        app(fx->pl, 2, 100, TS0, TS0);
    }
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable), SL_OK);
    assert_int_equal(sl_partlog_checkpoint(fx->pl), SL_OK);
    for (i = 0; i < 40; i++) {
        app(fx->pl, 2, 100, TS0, TS0);
    }
    n = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(bases[n - 1] > durable);
    sl_partlog_abandon(fx->pl);
    fx->pl = NULL;
    /* a flipped byte below the recovery point is not looked at ... */
    snprintf(p, sizeof(p), "%s/%020lld.log", fx->dir, (long long)bases[0]);
    bytes = slurp(p, &len);
    bytes[100] ^= 1;
    spit(p, bytes, len);
    free(bytes);
    /* ... one above it cuts the log there */
    snprintf(p, sizeof(p), "%s/%020lld.log", fx->dir, (long long)bases[n - 1]);
    bytes = slurp(p, &len);
    bytes[len - 10] ^= 1;
    spit(p, bytes, len);
    free(bytes);
    fx->pl = fx_open(fx, false, &st);
    assert_true(st.recovered);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 158);
    assert_int_equal(sl_partlog_segment_count(fx->pl), n);
}

static void
test_enospc_on_append(void **state)
{
    fx_t *fx = *state;
    uint8_t *b;
    size_t len = tl_batch(2, 300, TS0, &b);
    sl_append_info_t info;
    sl_partlog_stats_t st;

    app(fx->pl, 2, 10, TS0, TS0);
    sl_faultfs_install();
    sl_faultfs_fail(SL_FILE_OP_PWRITE, 1, ENOSPC, 1);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_ERR__IO);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 2);
    assert_false(sl_partlog_offline(fx->pl));
    /* what the producer gets */
    assert_int_equal(sl_err_to_wire(SL_ERR__IO), SL_ERR_KAFKA_STORAGE_ERROR);
    /* partial write then ENOSPC: cut back */
    free(b);
    len = tl_batch(2, 300, TS0, &b);
    sl_faultfs_short_writes(true);
    sl_faultfs_fail(SL_FILE_OP_PWRITE, 2, ENOSPC, 1);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_ERR__IO);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 2);
    assert_int_equal(read_all(fx->pl), 2);
    /* index write failing is undone too */
    sl_faultfs_clear();
    sl_faultfs_fail(SL_FILE_OP_PWRITE, 2, EIO, 1);
    free(b);
    len = tl_batch(2, 300, TS0, &b);
    (void)sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info);
    /* fault cleared: usable again */
    sl_faultfs_clear();
    free(b);
    len = tl_batch(2, 300, TS0, &b);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_OK);
    sl_faultfs_uninstall();
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false, &st);
    assert_int_equal(st.truncated_bytes, 0);
    assert_int_equal(read_all(fx->pl), sl_partlog_end_offset(fx->pl));
    assert_true(sl_partlog_end_offset(fx->pl) == 4 ||
                sl_partlog_end_offset(fx->pl) == 6);
    free(b);
}

static void
test_short_writes(void **state)
{
    fx_t *fx = *state;
    sl_partlog_stats_t st;
    int i;

    sl_faultfs_install();
    sl_faultfs_short_writes(true);
    for (i = 0; i < 30; i++) {
        app(fx->pl, 3, 77, TS0 + i, TS0);
    }
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    sl_faultfs_uninstall();
    fx->pl = fx_open(fx, false, &st);
    assert_int_equal(st.truncated_bytes, 0);
    assert_int_equal(read_all(fx->pl), 90);
    check_each_offset(fx->pl);
}

static void
test_eio_on_fdatasync(void **state)
{
    fx_t *fx = *state;
    int64_t durable;
    uint8_t *b;
    size_t len;
    sl_append_info_t info;

    app(fx->pl, 2, 10, TS0, TS0);
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable), SL_OK);
    assert_int_equal(durable, 2);
    app(fx->pl, 2, 10, TS0, TS0);
    sl_faultfs_install();
    sl_faultfs_fail(SL_FILE_OP_FDATASYNC, 1, EIO, 1);
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable), SL_ERR__IO);
    assert_int_equal(durable, 2); /* nothing new reported durable */
    assert_int_equal(sl_partlog_recovery_point(fx->pl), 2);
    assert_true(sl_partlog_offline(fx->pl));
    len = tl_batch(1, 10, TS0, &b);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_ERR__IO);
    /* still failing even when the disk works again */
    sl_faultfs_clear();
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable), SL_ERR__IO);
    free(b);
}

static void
test_crash_simulation(void **state)
{
    fx_t *fx = *state;
    int64_t budget, recs, durable_end;
    sl_partlog_stats_t st;
    int i;

    for (budget = 0; budget < 3000; budget += 97) {
        if (fx->pl != NULL) {
            sl_partlog_abandon(fx->pl);
        }
        tl_rmtree(fx->dir);
        fx->pl = fx_open(fx, false, NULL);
        app(fx->pl, 2, 30, TS0, TS0);
        assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable_end), SL_OK);
        sl_faultfs_install();
        sl_faultfs_crash_after(budget);
        for (i = 0; i < 20; i++) {
            app(fx->pl, 2, 30, TS0 + i, TS0);
        }
        if (budget < 2000) {
            assert_true(sl_faultfs_crashed());
        }
        sl_partlog_abandon(fx->pl);
        sl_faultfs_uninstall();
        fx->pl = fx_open(fx, false, &st);
        recs = read_all(fx->pl);
        /* what was durable before the crash survives */
        assert_true(sl_partlog_end_offset(fx->pl) >= durable_end);
        assert_int_equal(recs, sl_partlog_end_offset(fx->pl));
        assert_true(recs <= 42);
        check_each_offset(fx->pl);
    }
}

static void
test_topic_id_and_delete(void **state)
{
    fx_t *fx = *state;
    uint8_t id[16], got[16];
    sl_partlog_opts_t o;
    char p[600];
    int i;

    for (i = 0; i < 16; i++) {
        id[i] = (uint8_t)(i * 17 + 3);
    }
    sl_partlog_abandon(fx->pl);
    memset(&o, 0, sizeof(o));
    o.dir = fx->dir;
    o.topic = "t";
    o.cfg = &fx->cfg;
    o.create = true;
    o.topic_id = id;
    o.now_ms = TS0;
    assert_int_equal(sl_partlog_open(&o, &fx->pl, NULL), SL_OK);
    assert_true(sl_partlog_topic_id(fx->pl, got));
    assert_memory_equal(id, got, 16);
    sl_partlog_abandon(fx->pl);
    o.topic_id = NULL;
    assert_int_equal(sl_partlog_open(&o, &fx->pl, NULL), SL_OK);
    assert_true(sl_partlog_topic_id(fx->pl, got));
    assert_memory_equal(id, got, 16);
    app(fx->pl, 2, 10, TS0, TS0);
    assert_int_equal(sl_partlog_delete(fx->pl), SL_OK);
    fx->pl = NULL;
    assert_false(sl_file_exists(fx->dir));
    snprintf(p, sizeof(p), "%s", fx->root);
    assert_true(sl_file_exists(p));
    o.create = false;
    assert_int_equal(sl_partlog_open(&o, &fx->pl, NULL), SL_ERR__NOENT);
    fx->pl = NULL;
}

/* ---- concurrency smoke test --------------------------------------------- */

typedef struct conc_s {
    sl_partlog_t *pl;
    atomic_bool stop;
    atomic_long reads;
} conc_t;

static void *
conc_reader(void *arg)
{
    conc_t *c = arg;
    uint8_t buf[8192];
    size_t len;
    sl_err_t err;

    while (!atomic_load(&c->stop)) {
        int64_t start = sl_partlog_log_start(c->pl);
        int64_t end = sl_partlog_end_offset(c->pl);
        int64_t off = start + (end > start ? rand() % (end - start + 1) : 0);
        sl_batch_seq_t it;
        sl_batch_t b;

        err =
            sl_partlog_read_copy(c->pl, off, true, -1, buf, sizeof(buf), &len);
        if (err == SL_ERR_OFFSET_OUT_OF_RANGE) {
            continue; /* retention moved the start */
        }
        assert_int_equal(err, SL_OK);
        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        }
        atomic_fetch_add(&c->reads, 1);
    }
    return NULL;
}

static void
test_concurrency(void **state)
{
    fx_t *fx = *state;
    conc_t c;
    pthread_t r[2];
    int deleted, i;
    int64_t durable;

    /* ~100 index entries per segment: sealed segments get compacted
     * while the readers look them up */
    fx->cfg.segment_bytes = 16384;
    fx->cfg.index_interval_bytes = 32;
    fx->cfg.retention_bytes = 40000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    memset(&c, 0, sizeof(c));
    c.pl = fx->pl;
    app(fx->pl, 2, 50, TS0, TS0);
    pthread_create(&r[0], NULL, conc_reader, &c);
    pthread_create(&r[1], NULL, conc_reader, &c);
    for (i = 0; i < 2000; i++) {
        app(fx->pl, 2, 50, TS0 + i, TS0);
        if (i % 50 == 0) {
            assert_int_equal(sl_partlog_retain(fx->pl, TS0, &deleted), SL_OK);
            assert_int_equal(sl_partlog_flush(fx->pl, TS0, &durable), SL_OK);
        }
    }
    atomic_store(&c.stop, true);
    pthread_join(r[0], NULL);
    pthread_join(r[1], NULL);
    assert_true(atomic_load(&c.reads) > 0);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 4002);
    assert_true(sl_partlog_log_start(fx->pl) > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_clean_and_unclean, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_every_byte, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_middle_of_last_segment,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_marker_bad_tail, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_corrupt_index, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_offsets_for_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_append_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate_to, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_indexes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_segment_past_the_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recovery_starts_at_recovery_point,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_on_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eio_on_fdatasync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_simulation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_id_and_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
