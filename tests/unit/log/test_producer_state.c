/*
 * tests/unit/log/test_producer_state.c: idempotent producer state, alone
 * (log/producer_state.h, with a fake clock) and inside the partition log:
 * duplicates of each of the last five batches answered with their
 * offsets, an older one refused, gaps, old epochs, new epochs, unknown
 * producers, sequence wrap, undo of a failed append, expiry, snapshot
 * round trip, a corrupt snapshot ignored and the state rebuilt from the
 * log, dedup across clean and unclean restarts, truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "log/partlog.h"
#include "log/producer_state.h"
#include "log_test_util.h"

#define TS0 1700000000000LL

/* ---- the state machine alone -------------------------------------------- */

static sl_pstate_in_t
in_of(int64_t pid, int16_t epoch, int32_t seq, int32_t n, int64_t ts)
{
    sl_pstate_in_t in = {pid, epoch, seq, n - 1, ts, false};

    return in;
}

/* Append one batch (no disk): @returns the error, *dup when a retry. */
static sl_err_t
ps_append(sl_pstate_t *ps, int64_t pid, int16_t epoch, int32_t seq, int32_t n,
          int64_t off, bool *dup, int64_t *df)
{
    sl_pstate_undo_t u;
    sl_pstate_in_t in = in_of(pid, epoch, seq, n, TS0);
    int64_t dl;
    bool d = false;
    sl_err_t err;

    sl_pstate_begin(&u);
    err = sl_pstate_check_append(ps, &u, &in, off, &d, df, &dl);
    if (err != SL_OK || d) {
        sl_pstate_rollback(ps, &u);
    } else {
        sl_pstate_commit(ps, &u);
    }
    if (dup != NULL) {
        *dup = d;
    }
    return err;
}

/* Six batches of two records: seq 0-1 at offsets 0-1, ..., 10-11. */
static void
ps_six(sl_pstate_t *ps)
{
    bool dup;
    int64_t df;
    int i;

    for (i = 0; i < 6; i++) {
        assert_int_equal(ps_append(ps, 7, 0, i * 2, 2, i * 2, &dup, &df),
                         SL_OK);
        assert_false(dup);
    }
}

static void
test_duplicates_of_last_five(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    const sl_pstate_entry_t *e;
    bool dup;
    int64_t df = -1;
    int i;

    (void)state;
    ps_six(ps);
    for (i = 1; i < 6; i++) {
        assert_int_equal(ps_append(ps, 7, 0, i * 2, 2, 100, &dup, &df), SL_OK);
        assert_true(dup);
        assert_int_equal(df, i * 2);
    }
    /* the first batch is no longer remembered: a sequence error, as Kafka */
    assert_int_equal(ps_append(ps, 7, 0, 0, 2, 100, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    /* a retry with a different range is not a duplicate */
    assert_int_equal(ps_append(ps, 7, 0, 10, 1, 100, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    e = sl_pstate_get(ps, 7);
    assert_non_null(e);
    assert_int_equal(e->nbatches, 5);
    assert_int_equal(e->batches[4].last_seq, 11);
    assert_int_equal(e->batches[4].last_offset, 11);
    sl_pstate_destroy(ps);
}

static void
test_gap_and_next(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    bool dup;
    int64_t df;

    (void)state;
    ps_six(ps);
    assert_int_equal(ps_append(ps, 7, 0, 13, 1, 12, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(sl_pstate_get(ps, 7)->batches[4].last_seq, 11);
    assert_int_equal(ps_append(ps, 7, 0, 12, 3, 12, &dup, &df), SL_OK);
    assert_false(dup);
    assert_int_equal(sl_pstate_get(ps, 7)->batches[4].last_seq, 14);
    sl_pstate_destroy(ps);
}

static void
test_epochs(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    const sl_pstate_entry_t *e;
    bool dup;
    int64_t df;

    (void)state;
    assert_int_equal(ps_append(ps, 9, 3, 0, 1, 0, &dup, &df), SL_OK);
    assert_int_equal(ps_append(ps, 9, 3, 1, 1, 1, &dup, &df), SL_OK);
    /* older epoch: fenced with Kafka's Produce error */
    assert_int_equal(ps_append(ps, 9, 2, 2, 1, 2, &dup, &df),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(ps_append(ps, 9, 2, 0, 1, 2, &dup, &df),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    /* a new epoch must start at sequence 0 */
    assert_int_equal(ps_append(ps, 9, 4, 2, 1, 2, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(ps_append(ps, 9, 4, 0, 2, 2, &dup, &df), SL_OK);
    e = sl_pstate_get(ps, 9);
    assert_int_equal(e->epoch, 4);
    assert_int_equal(e->nbatches, 1); /* older epoch's batches forgotten */
    /* a retry from the old epoch is fenced, not a duplicate */
    assert_int_equal(ps_append(ps, 9, 3, 1, 1, 4, &dup, &df),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(ps_append(ps, 9, 4, 0, 2, 4, &dup, &df), SL_OK);
    assert_true(dup);
    assert_int_equal(df, 2);
    sl_pstate_destroy(ps);
}

static void
test_unknown_producer(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    bool dup;
    int64_t df;

    (void)state;
    assert_int_equal(ps_append(ps, 11, 0, 5, 1, 0, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_null(sl_pstate_get(ps, 11));
    assert_int_equal(ps_append(ps, 11, 0, 0, 1, 0, &dup, &df), SL_OK);
    assert_non_null(sl_pstate_get(ps, 11));
    /* non-idempotent batches are not looked at */
    assert_int_equal(ps_append(ps, -1, -1, -1, 1, 1, &dup, &df), SL_OK);
    assert_int_equal(sl_pstate_count(ps), 1);
    sl_pstate_destroy(ps);
}

static void
test_sequence_wrap(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    sl_pstate_in_t in = in_of(5, 0, INT32_MAX - 4, 3, TS0);
    bool dup;
    int64_t df;

    (void)state;
    assert_int_equal(sl_pstate_last_seq(INT32_MAX, 0), INT32_MAX);
    assert_int_equal(sl_pstate_last_seq(INT32_MAX, 1), 0);
    assert_int_equal(sl_pstate_last_seq(INT32_MAX - 1, 3), 1);
    assert_int_equal(sl_pstate_replay(ps, &in, 100), SL_OK); /* ..MAX-2 */
    /* MAX-1, MAX, 0 */
    assert_int_equal(ps_append(ps, 5, 0, INT32_MAX - 1, 3, 103, &dup, &df),
                     SL_OK);
    assert_int_equal(sl_pstate_get(ps, 5)->batches[1].last_seq, 0);
    assert_int_equal(ps_append(ps, 5, 0, INT32_MAX - 1, 3, 106, &dup, &df),
                     SL_OK);
    assert_true(dup);
    assert_int_equal(df, 103);
    assert_int_equal(ps_append(ps, 5, 0, 2, 1, 106, &dup, &df),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(ps_append(ps, 5, 0, 1, 1, 106, &dup, &df), SL_OK);
    assert_false(dup);
    /* a batch ending exactly at MAX, then 0 follows */
    in = in_of(6, 0, INT32_MAX - 1, 2, TS0);
    assert_int_equal(sl_pstate_replay(ps, &in, 0), SL_OK);
    assert_int_equal(ps_append(ps, 6, 0, 0, 1, 2, &dup, &df), SL_OK);
    sl_pstate_destroy(ps);
}

static void
test_undo(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    sl_pstate_undo_t u;
    sl_pstate_in_t a = in_of(1, 0, 0, 1, TS0), b = in_of(2, 0, 0, 1, TS0),
                   c = in_of(1, 0, 7, 1, TS0);
    int64_t df, dl;
    bool dup;

    (void)state;
    assert_int_equal(ps_append(ps, 1, 0, 0, 1, 0, &dup, &df), SL_OK);
    /* one append of three batches: 1 seq 1, 2 seq 0 (new), 1 seq 7 (gap) */
    a.base_seq = 1;
    sl_pstate_begin(&u);
    assert_int_equal(sl_pstate_check_append(ps, &u, &a, 1, &dup, &df, &dl),
                     SL_OK);
    assert_int_equal(sl_pstate_check_append(ps, &u, &b, 2, &dup, &df, &dl),
                     SL_OK);
    assert_int_equal(sl_pstate_check_append(ps, &u, &c, 3, &dup, &df, &dl),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    sl_pstate_rollback(ps, &u);
    assert_null(sl_pstate_get(ps, 2));
    assert_int_equal(sl_pstate_get(ps, 1)->nbatches, 1);
    assert_int_equal(sl_pstate_get(ps, 1)->batches[0].last_seq, 0);
    /* later batches of one append see the earlier ones */
    sl_pstate_begin(&u);
    assert_int_equal(sl_pstate_check_append(ps, &u, &a, 1, &dup, &df, &dl),
                     SL_OK);
    a.base_seq = 2;
    assert_int_equal(sl_pstate_check_append(ps, &u, &a, 2, &dup, &df, &dl),
                     SL_OK);
    sl_pstate_commit(ps, &u);
    assert_int_equal(sl_pstate_get(ps, 1)->batches[2].last_seq, 2);
    sl_pstate_destroy(ps);
}

static void
test_expiry_fake_clock(void **state)
{
    sl_pstate_t *ps = sl_pstate_create();
    sl_pstate_in_t in;
    int64_t i;

    (void)state;
    /* many producers, so removal shifts probe chains */
    for (i = 0; i < 200; i++) {
        in = in_of(i * 1024, 0, 0, 1, i % 2 ? 1000 : 5000);
        assert_int_equal(sl_pstate_replay(ps, &in, i), SL_OK);
    }
    assert_int_equal(sl_pstate_expire(ps, 3999, 3000), 0);
    assert_int_equal(sl_pstate_expire(ps, 4000, 3000), 100); /* >= limit */
    assert_int_equal(sl_pstate_count(ps), 100);
    for (i = 0; i < 200; i++) {
        if (i % 2) {
            assert_null(sl_pstate_get(ps, i * 1024));
        } else {
            assert_non_null(sl_pstate_get(ps, i * 1024));
        }
    }
    assert_int_equal(sl_pstate_expire(ps, 8000, 3000), 100);
    assert_int_equal(sl_pstate_count(ps), 0);
    sl_pstate_destroy(ps);
}

/* ---- snapshots ---------------------------------------------------------- */

static int
count_snapshots(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        n += strstr(e->d_name, ".snapshot") != NULL &&
             strstr(e->d_name, ".tmp") == NULL;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void
test_snapshot_round_trip(void **state)
{
    char dir[256], path[512];
    sl_pstate_t *ps = sl_pstate_create(), *back = sl_pstate_create();
    const sl_pstate_entry_t *a, *b;
    sl_pstate_in_t in = in_of(3, 1, INT32_MAX - 1, 4, TS0);
    int64_t from, df;
    bool dup;
    int i;

    (void)state;
    tl_mkdtemp(dir);
    ps_six(ps);
    assert_int_equal(sl_pstate_replay(ps, &in, 50), SL_OK); /* wraps */
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 54, 3), SL_OK);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 54);
    assert_int_equal(sl_pstate_read_snapshot(back, path), SL_OK);
    assert_int_equal(sl_pstate_count(back), 2);
    for (i = 0; i < 2; i++) {
        a = sl_pstate_get(ps, i == 0 ? 7 : 3);
        b = sl_pstate_get(back, i == 0 ? 7 : 3);
        assert_non_null(b);
        assert_int_equal(a->epoch, b->epoch);
        assert_int_equal(a->nbatches, b->nbatches);
        assert_memory_equal(a->batches, b->batches,
                            sizeof(a->batches[0]) * (size_t)a->nbatches);
        assert_int_equal(b->txn_first_offset, -1);
    }
    /* every remembered batch is still a duplicate after the reload */
    for (i = 1; i < 6; i++) {
        assert_int_equal(ps_append(back, 7, 0, i * 2, 2, 99, &dup, &df), SL_OK);
        assert_true(dup);
        assert_int_equal(df, i * 2);
    }
    /* load: only snapshots at or below the log end; newest kept */
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 60, 3), SL_OK);
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 70, 3), SL_OK);
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 80, 3), SL_OK);
    assert_int_equal(count_snapshots(dir), 3); /* 54 pruned */
    assert_int_equal(sl_pstate_load(back, dir, 75, &from), SL_OK);
    assert_int_equal(from, 70);
    assert_int_equal(count_snapshots(dir), 2); /* 80 is beyond the log */
    assert_int_equal(sl_pstate_load(back, dir, 10, &from), SL_OK);
    assert_int_equal(from, -1);
    assert_int_equal(sl_pstate_count(back), 0);
    sl_pstate_destroy(ps);
    sl_pstate_destroy(back);
    tl_rmtree(dir);
}

static void
flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    uint8_t c;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void
test_snapshot_corrupt(void **state)
{
    char dir[256], path[512];
    sl_pstate_t *ps = sl_pstate_create();
    int64_t from;
    int fd;

    (void)state;
    tl_mkdtemp(dir);
    ps_six(ps);
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 10, 3), SL_OK);
    assert_int_equal(sl_pstate_write_snapshot(ps, dir, 12, 3), SL_OK);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 12);
    flip_byte(path, 30);
    assert_int_equal(sl_pstate_read_snapshot(ps, path), SL_ERR__CORRUPT);
    assert_int_equal(sl_pstate_count(ps), 0);
    /* the corrupt newest one is dropped, the older one used */
    assert_int_equal(sl_pstate_load(ps, dir, 100, &from), SL_OK);
    assert_int_equal(from, 10);
    assert_int_equal(sl_pstate_count(ps), 1);
    assert_int_equal(count_snapshots(dir), 1);
    /* a truncated file and a hostile count */
    snprintf(path, sizeof(path), "%s/%020d.snapshot", dir, 10);
    assert_int_equal(truncate(path, 40), 0);
    assert_int_equal(sl_pstate_read_snapshot(ps, path), SL_ERR__CORRUPT);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "\0\1\0\0\0\0\x7f\xff\xff\xff", 10), 10);
    close(fd);
    assert_int_equal(sl_pstate_read_snapshot(ps, path), SL_ERR__CORRUPT);
    sl_pstate_destroy(ps);
    tl_rmtree(dir);
}

/* ---- inside the partition log ------------------------------------------- */

typedef struct fx_s {
    char root[256];
    char dir[512];
    sl_log_config_t cfg;
    sl_partlog_t *pl;
} fx_t;

static sl_partlog_t *
fx_open(fx_t *fx, bool clean)
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
    assert_int_equal(sl_partlog_open(&o, &pl, NULL), SL_OK);
    return pl;
}

static int
fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    tl_mkdtemp(fx->root);
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-0", fx->root);
    tl_config(&fx->cfg);
    fx->pl = fx_open(fx, false);
    *state = fx;
    return 0;
}

static int
fx_teardown(void **state)
{
    fx_t *fx = *state;

    if (fx->pl != NULL) {
        sl_partlog_abandon(fx->pl);
    }
    tl_rmtree(fx->root);
    free(fx);
    return 0;
}

/* Append an idempotent batch of n 300-byte records. */
static sl_err_t
fx_send(fx_t *fx, int64_t pid, int16_t epoch, int32_t seq, int n,
        sl_append_info_t *ai)
{
    sl_batch_params_t bp;
    sl_record_in_t recs[8];
    uint8_t val[300], *out = NULL;
    size_t len = 0;
    sl_err_t err;
    int i;

    memset(recs, 0, sizeof(recs));
    memset(val, 'x', sizeof(val));
    for (i = 0; i < n; i++) {
        recs[i].value = val;
        recs[i].value_len = sizeof(val);
        recs[i].timestamp = TS0 + i;
    }
    sl_batch_params_init(&bp);
    bp.producer_id = pid;
    bp.producer_epoch = epoch;
    bp.base_sequence = seq;
    assert_int_equal(sl_batch_build(&bp, recs, (size_t)n, &out, &len), SL_OK);
    err = sl_partlog_append(fx->pl, out, len, 0, 0, TS0, ai);
    free(out);
    return err;
}

/* Send batches 0..k-1 (2 records each) of producer 42; offsets 2i. */
static void
fx_fill(fx_t *fx, int k)
{
    sl_append_info_t ai;
    int i;

    for (i = 0; i < k; i++) {
        assert_int_equal(fx_send(fx, 42, 0, 2 * i, 2, &ai), SL_OK);
        assert_false(ai.duplicate);
    }
}

/* The last five batches of producer 42 (of k >= 5) are duplicates at their
 * offsets; nothing is written for them. */
static void
fx_expect_dups(fx_t *fx, int k)
{
    sl_append_info_t ai;
    int64_t end = sl_partlog_end_offset(fx->pl);
    int i;

    for (i = k - 5; i < k; i++) {
        assert_int_equal(fx_send(fx, 42, 0, 2 * i, 2, &ai), SL_OK);
        assert_true(ai.duplicate);
        assert_int_equal(ai.base_offset, 2 * i);
        assert_int_equal(ai.last_offset, 2 * i + 1);
    }
    assert_int_equal(sl_partlog_end_offset(fx->pl), end);
}

static void
test_partlog_dedup(void **state)
{
    fx_t *fx = *state;
    sl_append_info_t ai;
    sl_pstate_entry_t e[4];

    fx_fill(fx, 8);
    fx_expect_dups(fx, 8);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 2, 2, &ai),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 9, 2, &ai),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 8, 2, &ai), SL_OK);
    assert_int_equal(ai.base_offset, 16);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 18);
    assert_int_equal(sl_partlog_producers(fx->pl, e, 4), 1);
    assert_int_equal(e[0].producer_id, 42);
    assert_int_equal(e[0].batches[e[0].nbatches - 1].last_seq, 17);
    /* the last batch's max timestamp is TS0 + 1 */
    assert_int_equal(sl_partlog_expire_producers(fx->pl, TS0 + 1000, 1000), 0);
    assert_int_equal(sl_partlog_expire_producers(fx->pl, TS0 + 1001, 1000), 1);
    assert_int_equal(sl_partlog_producers(fx->pl, e, 4), 0);
}

static void
test_partlog_clean_restart(void **state)
{
    fx_t *fx = *state;

    fx_fill(fx, 20); /* 4096-byte segments: several rolls */
    assert_true(sl_partlog_segment_count(fx->pl) > 2);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true);
    fx_expect_dups(fx, 20);
}

static void
test_partlog_crash_restart(void **state)
{
    fx_t *fx = *state;
    int64_t dummy;

    fx_fill(fx, 23);
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &dummy), SL_OK);
    sl_partlog_abandon(fx->pl); /* kill -9: no close-time snapshot */
    fx->pl = fx_open(fx, false);
    fx_expect_dups(fx, 23);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false);
    fx_fill(fx, 0);
    fx_expect_dups(fx, 23);
}

static void
test_partlog_checkpoint_snapshot(void **state)
{
    fx_t *fx = *state;
    char path[600];

    fx_fill(fx, 5); /* no roll yet: no snapshot */
    assert_int_equal(count_snapshots(fx->dir), 0);
    assert_int_equal(sl_partlog_checkpoint(fx->pl), SL_OK);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", fx->dir, 10);
    assert_int_equal(access(path, F_OK), 0);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false);
    fx_expect_dups(fx, 5);
}

static void
test_partlog_corrupt_snapshot_rebuilds(void **state)
{
    fx_t *fx = *state;
    char path[1024];
    DIR *d;
    struct dirent *de;
    int n = 0;

    fx_fill(fx, 20);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = NULL;
    /* corrupt every snapshot: the state comes from the log alone */
    d = opendir(fx->dir);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".snapshot") != NULL) {
            snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
            flip_byte(path, 8);
            n++;
        }
    }
    closedir(d);
    assert_true(n >= 2);
    fx->pl = fx_open(fx, true);
    assert_int_equal(count_snapshots(fx->dir), 0);
    fx_expect_dups(fx, 20);
}

static void
test_partlog_truncate(void **state)
{
    fx_t *fx = *state;
    sl_append_info_t ai;

    fx_fill(fx, 20);
    /* drop batches 15.. (offsets 30..39): their retries are new again */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, 30), SL_OK);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 30);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 16, 2, &ai),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    fx_expect_dups(fx, 15);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 15, 2, &ai), SL_OK);
    assert_false(ai.duplicate);
    assert_int_equal(ai.base_offset, 30);
    /* truncating everything forgets the producer */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, 0), SL_OK);
    assert_int_equal(fx_send(fx, 42, 0, 2 * 16, 2, &ai),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(fx_send(fx, 42, 0, 0, 2, &ai), SL_OK);
    assert_int_equal(ai.base_offset, 0);
}

static void
test_partlog_delete_records_keeps_state(void **state)
{
    fx_t *fx = *state;
    int64_t low;

    fx_fill(fx, 20);
    assert_int_equal(sl_partlog_delete_records(fx->pl, 36, &low), SL_OK);
    fx_expect_dups(fx, 20);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false);
    fx_expect_dups(fx, 20);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicates_of_last_five),
        cmocka_unit_test(test_gap_and_next),
        cmocka_unit_test(test_epochs),
        cmocka_unit_test(test_unknown_producer),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_undo),
        cmocka_unit_test(test_expiry_fake_clock),
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_snapshot_corrupt),
        cmocka_unit_test_setup_teardown(test_partlog_dedup, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_clean_restart, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_crash_restart, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_checkpoint_snapshot,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_corrupt_snapshot_rebuilds,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_truncate, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_partlog_delete_records_keeps_state,
                                        fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
