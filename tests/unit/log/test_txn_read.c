/*
 * tests/unit/log/test_txn_read.c: the read side of transactions in the
 * partition log: the last stable offset as transactional batches and
 * markers are appended (several producers interleaved), the aborted
 * transactions of a range (across segments), the .txnindex files after a
 * clean close, a crash (files deleted, a damaged tail), truncation and
 * DeleteRecords, and how markers of unknown producers, older epochs and
 * fenced coordinators are handled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>

#include "log/cleaner.h"
#include "log/faultfs.h"
#include "log/partlog.h"
#include "log/txnindex.h"
#include "log_test_util.h"

#define TS0 1700000000000LL

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
fx_setup_big(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    tl_mkdtemp(fx->root);
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-0", fx->root);
    tl_config(&fx->cfg);
    fx->cfg.segment_bytes = 1 << 20; /* no roll: no snapshot */
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

/* Append a batch of n 300-byte records of producer pid (transactional or
 * not); *base gets its first offset. */
static sl_err_t
fx_send(fx_t *fx, int64_t pid, int16_t epoch, int32_t seq, int n, bool txn,
        int64_t *base)
{
    sl_batch_params_t bp;
    sl_record_in_t recs[8];
    uint8_t val[300], *out = NULL;
    sl_append_info_t ai;
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
    bp.transactional = txn;
    assert_int_equal(sl_batch_build(&bp, recs, (size_t)n, &out, &len), SL_OK);
    err = sl_partlog_append(fx->pl, out, len, 0, 0, TS0, &ai);
    free(out);
    if (base != NULL) {
        *base = ai.base_offset;
    }
    return err;
}

/* Append one batch of producer pid with records keyed key[0..n-1] ("a0",
 * "a1", ... from prefix). */
static sl_err_t
fx_send_keyed(fx_t *fx, int64_t pid, int32_t seq, const char *prefix, int n,
              bool txn)
{
    sl_batch_params_t bp;
    sl_record_in_t recs[8];
    char keys[8][32];
    uint8_t *out = NULL;
    sl_append_info_t ai;
    size_t len = 0;
    sl_err_t err;
    int i;

    memset(recs, 0, sizeof(recs));
    for (i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "%s%d", prefix, i);
        recs[i].key = (const uint8_t *)keys[i];
        recs[i].key_len = (int32_t)strlen(keys[i]);
        recs[i].value = (const uint8_t *)"v";
        recs[i].value_len = 1;
        recs[i].timestamp = TS0;
    }
    sl_batch_params_init(&bp);
    bp.producer_id = pid;
    bp.producer_epoch = 0;
    bp.base_sequence = pid >= 0 ? seq : -1;
    bp.transactional = txn;
    assert_int_equal(sl_batch_build(&bp, recs, (size_t)n, &out, &len), SL_OK);
    err = sl_partlog_append(fx->pl, out, len, 0, 0, TS0, &ai);
    free(out);
    return err;
}

/* Count the batches of the log by producer: data[pid % 16], markers
 * ctl[pid % 16]. */
static void
fx_census(fx_t *fx, int data[16], int ctl[16])
{
    static uint8_t buf[1 << 16];
    int64_t off = sl_partlog_log_start(fx->pl);
    sl_batch_seq_t it;
    sl_batch_t b;
    size_t len;

    memset(data, 0, 16 * sizeof(int));
    memset(ctl, 0, 16 * sizeof(int));
    for (;;) {
        assert_int_equal(
            sl_partlog_read_copy(fx->pl, off, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        if (len == 0) {
            return;
        }
        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            if (b.producer_id >= 0) {
                if (sl_batch_is_control(&b)) {
                    ctl[b.producer_id % 16]++;
                } else {
                    data[b.producer_id % 16]++;
                }
            }
            off = b.base_offset + b.last_offset_delta + 1;
        }
    }
}

/* Append a COMMIT or ABORT marker; *off gets its offset. */
static sl_err_t
fx_marker(fx_t *fx, int64_t pid, int16_t epoch, bool commit, int32_t coord,
          int64_t *off)
{
    uint8_t *out = NULL;
    sl_append_info_t ai;
    size_t len = 0;
    sl_err_t err;

    assert_int_equal(
        sl_control_build(pid, epoch, commit, coord, TS0, &out, &len), SL_OK);
    err = sl_partlog_append(fx->pl, out, len, 0, 0, TS0, &ai);
    free(out);
    if (off != NULL) {
        *off = ai.base_offset;
    }
    return err;
}

static size_t
fx_aborted(fx_t *fx, int64_t from, int64_t upto, sl_txn_aborted_t *out,
           size_t cap)
{
    return sl_partlog_aborted_txns(fx->pl, from, upto, out, cap);
}

static int
fx_count_txnindex(fx_t *fx)
{
    char cmd[700];
    FILE *f;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.txnindex$'", fx->dir);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

static void
fx_rm_txnindex(fx_t *fx)
{
    char cmd[700];

    snprintf(cmd, sizeof(cmd), "rm -f %s/*.txnindex", fx->dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_lso_interleaved(void **state)
{
    fx_t *fx = *state;
    sl_txn_aborted_t a[4];
    int64_t b1, b2, b3, m1, m2;

    assert_int_equal(fx_send(fx, 5, 0, 0, 2, false, NULL), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), 2);
    assert_int_equal(fx_send(fx, 7, 0, 0, 2, true, &b1), SL_OK);
    assert_int_equal(b1, 2);
    assert_int_equal(sl_partlog_lso(fx->pl), 2);
    assert_int_equal(fx_send(fx, 8, 0, 0, 1, true, &b2), SL_OK);
    assert_int_equal(fx_send(fx, 7, 0, 2, 1, true, &b3), SL_OK);
    /* plain producers go on writing; the LSO stays at the oldest open
     * transaction */
    assert_int_equal(fx_send(fx, 5, 0, 2, 1, false, NULL), SL_OK);
    assert_int_equal(sl_partlog_hwm(fx->pl), 7);
    assert_int_equal(sl_partlog_lso(fx->pl), 2);
    /* commit the older one: the LSO moves to producer 8's first batch */
    assert_int_equal(fx_marker(fx, 7, 0, true, 0, &m1), SL_OK);
    assert_int_equal(m1, 7);
    assert_int_equal(sl_partlog_lso(fx->pl), b2);
    assert_int_equal(fx_aborted(fx, 0, 100, a, 4), 0);
    /* abort 8: nothing open, LSO = HW; 8's transaction is indexed */
    assert_int_equal(fx_marker(fx, 8, 0, false, 0, &m2), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), sl_partlog_hwm(fx->pl));
    assert_int_equal(sl_partlog_lso(fx->pl), m2 + 1);
    assert_int_equal(fx_aborted(fx, 0, 100, a, 4), 1);
    assert_int_equal(a[0].producer_id, 8);
    assert_int_equal(a[0].first_offset, b2);
    assert_int_equal(a[0].last_offset, m2);
    assert_int_equal(a[0].lso, m2 + 1);
    /* ranges: marker before from, or first offset at/after upto: none */
    assert_int_equal(fx_aborted(fx, m2 + 1, 100, a, 4), 0);
    assert_int_equal(fx_aborted(fx, 0, b2, a, 4), 0);
    assert_int_equal(fx_aborted(fx, b2, b2 + 1, a, 4), 1);
    assert_int_equal(fx_count_txnindex(fx), 1);
}

static void
test_read_stops_at_lso(void **state)
{
    fx_t *fx = *state;
    uint8_t buf[65536];
    size_t len;
    sl_batch_seq_t it;
    sl_batch_t b;
    int64_t last = -1, tb;

    assert_int_equal(fx_send(fx, 5, 0, 0, 3, false, NULL), SL_OK);
    assert_int_equal(fx_send(fx, 7, 0, 0, 2, true, &tb), SL_OK);
    assert_int_equal(fx_send(fx, 5, 0, 3, 3, false, NULL), SL_OK);
    assert_int_equal(sl_partlog_read_copy(fx->pl, 0, true,
                                          sl_partlog_lso(fx->pl), buf,
                                          sizeof(buf), &len),
                     SL_OK);
    sl_batch_seq_init(&it, buf, len, 0);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        last = b.base_offset + b.last_offset_delta;
    }
    assert_int_equal(last, tb - 1);
    /* read_uncommitted sees everything up to the high watermark */
    assert_int_equal(
        sl_partlog_read_copy(fx->pl, 0, true, -1, buf, sizeof(buf), &len),
        SL_OK);
    sl_batch_seq_init(&it, buf, len, 0);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        last = b.base_offset + b.last_offset_delta;
    }
    assert_int_equal(last, 7);
}

/* Producer p aborts k transactions of 3 batches each, interleaved with a
 * plain producer, across several 4 KiB segments. */
static void
fx_abort_many(fx_t *fx, int64_t pid, int k, int64_t *firsts, int64_t *marks)
{
    int i, j;
    int32_t seq = 0;

    for (i = 0; i < k; i++) {
        for (j = 0; j < 3; j++) {
            assert_int_equal(
                fx_send(fx, pid, 0, seq, 2, true, j == 0 ? &firsts[i] : NULL),
                SL_OK);
            seq += 2;
        }
        assert_int_equal(fx_marker(fx, pid, 0, false, 0, &marks[i]), SL_OK);
    }
}

static void
test_aborted_across_segments(void **state)
{
    fx_t *fx = *state;
    int64_t f[8], m[8];
    sl_txn_aborted_t a[16];
    size_t n;
    int i;

    fx_abort_many(fx, 9, 8, f, m);
    assert_true(sl_partlog_segment_count(fx->pl) > 3);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), 8);
    for (i = 0; i < 8; i++) {
        assert_int_equal(a[i].first_offset, f[i]);
        assert_int_equal(a[i].last_offset, m[i]);
    }
    /* a fetch from the middle of transaction 3 sees 3 and later */
    n = fx_aborted(fx, f[3] + 1, INT64_MAX, a, 16);
    assert_int_equal(n, 5);
    assert_int_equal(a[0].first_offset, f[3]);
    /* the cap: the total is returned, cap entries filled */
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 2), 8);
    assert_int_equal(a[1].first_offset, f[1]);
    assert_true(fx_count_txnindex(fx) >= 2);
    assert_int_equal(sl_partlog_lso(fx->pl), sl_partlog_hwm(fx->pl));
}

static void
test_clean_restart_keeps_open_txn(void **state)
{
    fx_t *fx = *state;
    int64_t f[3], m[3], open;
    sl_txn_aborted_t a[8];

    fx_abort_many(fx, 9, 3, f, m);
    assert_int_equal(fx_send(fx, 11, 0, 0, 2, true, &open), SL_OK);
    assert_int_equal(fx_send(fx, 5, 0, 0, 2, false, NULL), SL_OK);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true);
    assert_int_equal(sl_partlog_lso(fx->pl), open);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 3);
    assert_int_equal(a[2].last_offset, m[2]);
    /* the restored transaction still ends with its marker */
    assert_int_equal(fx_marker(fx, 11, 0, false, 0, NULL), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), sl_partlog_hwm(fx->pl));
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 4);
    assert_int_equal(a[3].first_offset, open);
}

static void
test_crash_rebuilds_deleted_index(void **state)
{
    fx_t *fx = *state;
    int64_t f[3], m[3], open, d;
    sl_txn_aborted_t a[8];

    fx_abort_many(fx, 9, 3, f, m);
    assert_int_equal(fx_send(fx, 11, 0, 0, 1, true, &open), SL_OK);
    assert_int_equal(sl_partlog_segment_count(fx->pl), 1);
    assert_int_equal(sl_partlog_flush(fx->pl, TS0, &d), SL_OK);
    sl_partlog_abandon(fx->pl); /* kill -9 */
    fx_rm_txnindex(fx);
    fx->pl = fx_open(fx, false);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 3);
    assert_int_equal(a[0].first_offset, f[0]);
    assert_int_equal(a[2].last_offset, m[2]);
    assert_int_equal(fx_count_txnindex(fx), 1);
    assert_int_equal(sl_partlog_lso(fx->pl), open);
}

static void
test_damaged_tail_rebuilds_all(void **state)
{
    fx_t *fx = *state;
    int64_t f[8], m[8], bases[64];
    sl_txn_aborted_t a[16];
    char path[700];
    size_t nb, i;
    int fd;

    fx_abort_many(fx, 9, 8, f, m);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true);
    nb = sl_partlog_segment_bases(fx->pl, bases, 64);
    sl_partlog_abandon(fx->pl);
    fx->pl = NULL;
    /* garbage after the first file's entries, another file emptied */
    for (i = 0; i < nb; i++) {
        snprintf(path, sizeof(path), "%s/%020" PRId64 ".txnindex", fx->dir,
                 bases[i]);
        if ((fd = open(path, O_WRONLY | O_APPEND)) >= 0) {
            assert_int_equal(write(fd, "garbage", 7), 7);
            close(fd);
            break;
        }
    }
    assert_true(i < nb);
    for (i++; i < nb; i++) {
        snprintf(path, sizeof(path), "%s/%020" PRId64 ".txnindex", fx->dir,
                 bases[i]);
        if (truncate(path, 0) == 0) {
            break;
        }
    }
    fx->pl = fx_open(fx, true);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), 8);
    for (i = 0; i < 8; i++) {
        assert_int_equal(a[i].first_offset, f[i]);
        assert_int_equal(a[i].last_offset, m[i]);
    }
    /* and the files are whole again */
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, true);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), 8);
}

static void
test_truncate_reopens_txn(void **state)
{
    fx_t *fx = *state;
    int64_t f[4], m[4];
    sl_txn_aborted_t a[8];

    fx_abort_many(fx, 9, 4, f, m);
    /* cut the last marker: its transaction is open again */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, m[3]), SL_OK);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 3);
    assert_int_equal(sl_partlog_lso(fx->pl), f[3]);
    /* cut into the second transaction */
    assert_int_equal(sl_partlog_truncate_to(fx->pl, f[1] + 2), SL_OK);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 1);
    assert_int_equal(sl_partlog_lso(fx->pl), f[1]);
    /* a reopen agrees */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 8), 1);
    assert_int_equal(sl_partlog_lso(fx->pl), f[1]);
}

static void
test_delete_records_drops_entries(void **state)
{
    fx_t *fx = *state;
    int64_t f[8], m[8], bases[64], low;
    sl_txn_aborted_t a[16];
    size_t nb, n;
    int files;

    fx_abort_many(fx, 9, 8, f, m);
    files = fx_count_txnindex(fx);
    nb = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(nb > 3);
    assert_int_equal(sl_partlog_delete_records(fx->pl, bases[2], &low), SL_OK);
    assert_int_equal(sl_partlog_log_start(fx->pl), bases[2]);
    n = fx_aborted(fx, 0, INT64_MAX, a, 16);
    assert_true(n < 8 && n > 0);
    /* what is left is every abort whose marker is in the log */
    assert_true(a[0].last_offset >= bases[2]);
    assert_int_equal(a[n - 1].last_offset, m[7]);
    assert_true(fx_count_txnindex(fx) < files);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx, false);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), n);
}

static void
test_marker_rules(void **state)
{
    fx_t *fx = *state;
    sl_txn_aborted_t a[4];
    sl_pstate_entry_t e[4];
    int64_t b;

    /* a marker for a producer never seen: accepted, ends nothing */
    assert_int_equal(fx_marker(fx, 77, 3, true, 1, NULL), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), sl_partlog_hwm(fx->pl));
    assert_int_equal(sl_partlog_producers(fx->pl, e, 4), 1);
    assert_int_equal(e[0].epoch, 3);
    assert_int_equal(e[0].coordinator_epoch, 1);
    /* a transaction at epoch 3; older epoch markers are refused */
    assert_int_equal(fx_send(fx, 77, 3, 0, 1, true, &b), SL_OK);
    assert_int_equal(fx_marker(fx, 77, 2, false, 1, NULL),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    /* an older coordinator is fenced */
    assert_int_equal(fx_marker(fx, 77, 3, false, 0, NULL),
                     SL_ERR_TRANSACTION_COORDINATOR_FENCED);
    /* a plain batch inside the transaction */
    assert_int_equal(fx_send(fx, 77, 3, 1, 1, false, NULL),
                     SL_ERR_INVALID_TXN_STATE);
    assert_int_equal(sl_partlog_lso(fx->pl), b);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 4), 0);
    /* a marker with a newer epoch (the coordinator bumped it) ends it */
    assert_int_equal(fx_marker(fx, 77, 4, false, 2, NULL), SL_OK);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 4), 1);
    assert_int_equal(a[0].first_offset, b);
    /* the new epoch starts at sequence 0 */
    assert_int_equal(fx_send(fx, 77, 4, 0, 1, false, NULL), SL_OK);
}

static void
test_cleaner_and_transactions(void **state)
{
    fx_t *fx = *state;
    sl_cleaner_opts_t o;
    sl_cleaner_stats_t st;
    sl_txn_aborted_t a[4];
    int data[16], ctl[16], i;
    int64_t open;

    fx->cfg.compact = true;
    fx->cfg.delete_retention_ms = 1000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    /* 9 aborts, 10 commits, 11 commits keys that plain writes replace */
    assert_int_equal(fx_send_keyed(fx, 9, 0, "a", 2, true), SL_OK);
    assert_int_equal(fx_send_keyed(fx, 10, 0, "b", 2, true), SL_OK);
    assert_int_equal(fx_send_keyed(fx, 11, 0, "c", 2, true), SL_OK);
    assert_int_equal(fx_marker(fx, 9, 0, false, 0, NULL), SL_OK);
    assert_int_equal(fx_marker(fx, 10, 0, true, 0, NULL), SL_OK);
    assert_int_equal(fx_marker(fx, 11, 0, true, 0, NULL), SL_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(fx_send_keyed(fx, -1, 0, "c", 2, false), SL_OK);
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    /* 12's transaction is open: nothing from its first offset on is
     * cleaned */
    assert_int_equal(fx_send_keyed(fx, 12, 0, "d", 2, true), SL_OK);
    open = sl_partlog_end_offset(fx->pl) - 2;
    assert_int_equal(fx_send_keyed(fx, -1, 0, "d", 2, false), SL_OK);
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);

    sl_cleaner_opts_init(&o);
    o.force = true;
    assert_int_equal(sl_cleaner_clean(fx->pl, &o, TS0, &st), SL_OK);
    fx_census(fx, data, ctl);
    assert_int_equal(data[9], 0);  /* aborted: gone */
    assert_int_equal(data[10], 1); /* committed: stays */
    assert_int_equal(data[11], 0); /* replaced by newer values */
    assert_int_equal(data[12], 1); /* open: untouched */
    assert_int_equal(ctl[9] + ctl[10] + ctl[11], 3);
    /* past the markers' horizon: the COMMIT without data left goes; the
     * one whose data stays, and the ABORT, stay */
    assert_int_equal(sl_cleaner_clean(fx->pl, &o, TS0 + 10000, &st), SL_OK);
    fx_census(fx, data, ctl);
    assert_int_equal(ctl[9], 1);
    assert_int_equal(ctl[10], 1);
    assert_int_equal(ctl[11], 0);
    assert_int_equal(data[10], 1);
    assert_int_equal(sl_partlog_lso(fx->pl), open);
    /* a rebuild from the whole cleaned log finds no transaction open
     * but 12's */
    sl_partlog_abandon(fx->pl);
    fx_rm_txnindex(fx);
    {
        char cmd[700];

        snprintf(cmd, sizeof(cmd), "rm -f %s/*.snapshot", fx->dir);
        assert_int_equal(system(cmd), 0);
    }
    fx->pl = fx_open(fx, false);
    assert_int_equal(sl_partlog_lso(fx->pl), open);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 4), 0);
}

/* Read the whole log back and derive, as a reader of the log alone
 * would, the aborted transactions and the first unstable offset; compare
 * with what the partition log says. */
static size_t
fx_check_against_log(fx_t *fx)
{
    static uint8_t buf[1 << 16];
    int64_t open[16], first_unstable = -1, off = 0, lso;
    sl_txn_aborted_t want[64], got[64];
    size_t nwant = 0, ngot, i;
    sl_batch_seq_t it;
    sl_batch_t b;
    size_t len;

    for (i = 0; i < 16; i++) {
        open[i] = -1;
    }
    for (;;) {
        assert_int_equal(
            sl_partlog_read_copy(fx->pl, off, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        if (len == 0) {
            break;
        }
        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            int p = (int)(b.producer_id % 16);

            off = b.base_offset + b.last_offset_delta + 1;
            if (b.producer_id < 0) {
                continue;
            }
            if (!sl_batch_is_control(&b)) {
                if (sl_batch_is_transactional(&b) && open[p] < 0) {
                    open[p] = b.base_offset;
                }
                continue;
            }
            {
                sl_record_iter_t ri;
                sl_record_t r;
                int16_t type;

                sl_record_iter_init(&ri, b.records, b.records_size,
                                    b.records_count);
                assert_int_equal(sl_record_iter_next(&ri, &r), SL_OK);
                assert_int_equal(sl_control_parse_key(&r, &type), SL_OK);
                if (type == SL_CONTROL_ABORT && open[p] >= 0) {
                    assert_true(nwant < 64);
                    want[nwant].producer_id = b.producer_id;
                    want[nwant].first_offset = open[p];
                    want[nwant].last_offset = b.base_offset;
                    nwant++;
                }
                open[p] = -1;
            }
        }
    }
    for (i = 0; i < 16; i++) {
        if (open[i] >= 0 && (first_unstable < 0 || open[i] < first_unstable)) {
            first_unstable = open[i];
        }
    }
    lso = sl_partlog_hwm(fx->pl);
    if (first_unstable >= 0 && first_unstable < lso) {
        lso = first_unstable;
    }
    assert_int_equal(sl_partlog_lso(fx->pl), lso);
    ngot = fx_aborted(fx, 0, INT64_MAX, got, 64);
    assert_int_equal(ngot, nwant);
    for (i = 0; i < nwant; i++) {
        assert_int_equal(got[i].producer_id, want[i].producer_id);
        assert_int_equal(got[i].first_offset, want[i].first_offset);
        assert_int_equal(got[i].last_offset, want[i].last_offset);
    }
    return nwant;
}

/* Power cuts at many points of a workload of interleaved transactions
 * (rolls and snapshots included): after recovery, the index and the LSO
 * agree with the log that survived. */
static void
test_power_cut_recovery(void **state)
{
    fx_t *fx = *state;
    int64_t budget;
    int32_t seq[3];
    size_t most = 0, n;
    int i, k, crashed = 0;

    for (budget = 0; budget < 60000; budget += 2900) {
        sl_partlog_abandon(fx->pl);
        tl_rmtree(fx->dir);
        fx->pl = fx_open(fx, false);
        memset(seq, 0, sizeof(seq));
        sl_faultfs_install();
        sl_faultfs_crash_after(budget);
        for (i = 0; i < 30; i++) {
            k = i % 3;
            /* producers 1..3: two batches, then commit (even rounds) or
             * abort (odd) */
            if (fx_send(fx, k + 1, 0, seq[k], 2, true, NULL) != SL_OK) {
                break;
            }
            seq[k] += 2;
            if (i % 2 == 1 &&
                fx_marker(fx, k + 1, 0, (i / 3) % 2 == 0, 0, NULL) != SL_OK) {
                break;
            }
            if (i % 7 == 6) {
                (void)sl_partlog_roll(fx->pl, TS0);
            }
        }
        crashed += sl_faultfs_crashed();
        sl_partlog_abandon(fx->pl);
        sl_faultfs_uninstall();
        fx->pl = fx_open(fx, false);
        n = fx_check_against_log(fx);
        most = n > most ? n : most;
        /* and once more after a clean close */
        assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
        fx->pl = fx_open(fx, true);
        fx_check_against_log(fx);
    }
    /* the cuts hit the workload, and some runs got to aborts */
    assert_true(crashed > 5);
    assert_true(most >= 3);
}

/* The index write of an ABORT fails (EIO) after the marker itself was
 * written: reads still see the entry, and the next snapshot (here the
 * close's) writes the file again first. */
static void
test_index_write_fails(void **state)
{
    fx_t *fx = *state;
    sl_txn_aborted_t a[4];
    int64_t c0, d, m2;
    char path[700];
    struct stat sb;

    sl_faultfs_install();
    /* the same cycle three times: the second measures the marker's
     * writes (the index entry is the last), the third fails it */
    assert_int_equal(fx_send(fx, 9, 0, 0, 1, true, NULL), SL_OK);
    assert_int_equal(fx_marker(fx, 9, 0, false, 0, NULL), SL_OK);
    assert_int_equal(fx_send(fx, 9, 0, 1, 1, true, NULL), SL_OK);
    c0 = sl_faultfs_count(SL_FILE_OP_PWRITE);
    assert_int_equal(fx_marker(fx, 9, 0, false, 0, NULL), SL_OK);
    d = sl_faultfs_count(SL_FILE_OP_PWRITE) - c0;
    assert_true(d >= 2);
    assert_int_equal(fx_send(fx, 9, 0, 2, 1, true, NULL), SL_OK);
    sl_faultfs_fail(SL_FILE_OP_PWRITE, d, EIO, 1);
    assert_int_equal(fx_marker(fx, 9, 0, false, 0, &m2), SL_OK);
    sl_faultfs_uninstall();
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 4), 3);
    assert_int_equal(a[2].last_offset, m2);
    snprintf(path, sizeof(path), "%s/%020d.txnindex", fx->dir, 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 68);
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 102);
    fx->pl = fx_open(fx, true);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 4), 3);
    assert_int_equal(a[2].last_offset, m2);
}

/* The producer state alone: open transactions and coordinator epochs
 * survive a snapshot write and read. */
static void
test_pstate_snapshot_keeps_txns(void **state)
{
    fx_t *fx = *state;
    sl_pstate_t *ps = sl_pstate_create(), *back = sl_pstate_create();
    sl_pstate_in_t in = {21, 2, 0, 1, TS0, true};
    sl_pstate_marker_t m = {22, 0, 7, true, TS0};
    sl_pstate_undo_t u;
    sl_pstate_txn_t t;
    const sl_pstate_entry_t *e;
    char path[700];
    bool dup, done;
    int64_t df, dl;

    sl_pstate_begin(&u);
    assert_int_equal(sl_pstate_check_append(ps, &u, &in, 40, &dup, &df, &dl),
                     SL_OK);
    in.producer_id = 22;
    in.epoch = 0;
    assert_int_equal(sl_pstate_check_append(ps, &u, &in, 42, &dup, &df, &dl),
                     SL_OK);
    assert_int_equal(sl_pstate_check_marker(ps, &u, &m, 44, &t, &done), SL_OK);
    sl_pstate_commit(ps, &u);
    assert_true(done);
    assert_int_equal(t.first_offset, 42);
    assert_int_equal(sl_pstate_first_unstable(ps), 40);
    assert_int_equal(sl_pstate_write_snapshot(ps, fx->dir, 45, 3), SL_OK);
    snprintf(path, sizeof(path), "%s/%020d.snapshot", fx->dir, 45);
    assert_int_equal(sl_pstate_read_snapshot(back, path), SL_OK);
    assert_int_equal(sl_pstate_first_unstable(back), 40);
    e = sl_pstate_get(back, 22);
    assert_non_null(e);
    assert_int_equal(e->coordinator_epoch, 7);
    assert_int_equal(e->txn_first_offset, -1);
    /* an older coordinator is fenced after the reload too */
    m.coordinator_epoch = 6;
    sl_pstate_begin(&u);
    assert_int_equal(sl_pstate_check_marker(back, &u, &m, 45, &t, &done),
                     SL_ERR_TRANSACTION_COORDINATOR_FENCED);
    sl_pstate_rollback(back, &u);
    sl_pstate_destroy(ps);
    sl_pstate_destroy(back);
}

/* The index alone: entries (one whose LSO is below its first offset, as
 * when an older transaction is still open) read back as written; a
 * reopen after a truncation sees the shorter index; a bad entry is cut. */
static void
test_txnindex_files(void **state)
{
    fx_t *fx = *state;
    sl_txnidx_t *ti;
    sl_txn_aborted_t e[3] = {{5, 10, 20, 3}, {6, 12, 30, 31}, {5, 40, 50, 51}};
    sl_txn_aborted_t got[4];
    char path[700];
    bool damaged;
    int fd;

    sl_partlog_abandon(fx->pl);
    fx->pl = NULL;
    assert_int_equal(sl_txnidx_open(fx->dir, &ti, &damaged), SL_OK);
    assert_int_equal(sl_txnidx_append(ti, 0, &e[0]), SL_OK);
    assert_int_equal(sl_txnidx_append(ti, 25, &e[1]), SL_OK);
    assert_int_equal(sl_txnidx_append(ti, 25, &e[2]), SL_OK);
    assert_int_equal(sl_txnidx_append(ti, 25, &e[2]), SL_OK); /* known */
    assert_int_equal(sl_txnidx_sync(ti), SL_OK);
    sl_txnidx_close(ti);
    assert_int_equal(sl_txnidx_open(fx->dir, &ti, &damaged), SL_OK);
    assert_false(damaged);
    assert_int_equal(sl_txnidx_collect(ti, 0, INT64_MAX, got, 4), 3);
    assert_memory_equal(got, e, sizeof(e));
    assert_int_equal(sl_txnidx_collect(ti, 21, 41, got, 4), 2);
    assert_int_equal(sl_txnidx_collect(ti, 21, 40, got, 4), 1);
    assert_int_equal(sl_txnidx_truncate(ti, 50), SL_OK);
    sl_txnidx_close(ti);
    assert_int_equal(sl_txnidx_open(fx->dir, &ti, &damaged), SL_OK);
    assert_false(damaged);
    assert_int_equal(sl_txnidx_count(ti), 2);
    sl_txnidx_close(ti);
    /* an entry whose marker lies outside its file's range: cut there */
    snprintf(path, sizeof(path), "%s/%020d.txnindex", fx->dir, 0);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    {
        uint8_t bad[34] = {0};

        bad[25] = 99; /* last offset 99, beyond the next file's base */
        bad[33] = 100;
        bad[17] = 1;
        assert_int_equal(write(fd, bad, sizeof(bad)), 34);
    }
    close(fd);
    assert_int_equal(sl_txnidx_open(fx->dir, &ti, &damaged), SL_OK);
    assert_true(damaged);
    assert_int_equal(sl_txnidx_count(ti), 2);
    sl_txnidx_close(ti);
    assert_int_equal(sl_txnidx_open(fx->dir, &ti, &damaged), SL_OK);
    assert_false(damaged);
    sl_txnidx_close(ti);
}

/* An append whose second batch is refused rolls the first one's opening
 * back: the LSO stays at the high watermark; the retry opens it. */
static void
test_refused_append_opens_nothing(void **state)
{
    fx_t *fx = *state;
    sl_batch_params_t bp;
    sl_record_in_t rec;
    uint8_t *b1 = NULL, *b2 = NULL, *both;
    size_t l1 = 0, l2 = 0;
    sl_append_info_t ai;

    assert_int_equal(fx_send(fx, 5, 0, 0, 2, false, NULL), SL_OK);
    memset(&rec, 0, sizeof(rec));
    rec.value = (const uint8_t *)"v";
    rec.value_len = 1;
    rec.timestamp = TS0;
    sl_batch_params_init(&bp);
    bp.producer_id = 30;
    bp.producer_epoch = 0;
    bp.transactional = true;
    bp.base_sequence = 0;
    assert_int_equal(sl_batch_build(&bp, &rec, 1, &b1, &l1), SL_OK);
    bp.base_sequence = 5; /* a gap */
    assert_int_equal(sl_batch_build(&bp, &rec, 1, &b2, &l2), SL_OK);
    both = malloc(l1 + l2);
    memcpy(both, b1, l1);
    memcpy(both + l1, b2, l2);
    assert_int_equal(sl_partlog_append(fx->pl, both, l1 + l2, 0, 0, TS0, &ai),
                     SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert_int_equal(sl_partlog_lso(fx->pl), 2);
    assert_int_equal(sl_partlog_hwm(fx->pl), 2);
    /* 30 has no open transaction: its marker ends nothing */
    assert_int_equal(fx_marker(fx, 30, 0, false, 0, NULL), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), 3);
    assert_int_equal(sl_partlog_append(fx->pl, b1, l1, 0, 0, TS0, &ai), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), ai.base_offset);
    assert_int_equal(fx_marker(fx, 30, 0, true, 0, NULL), SL_OK);
    assert_int_equal(sl_partlog_lso(fx->pl), sl_partlog_hwm(fx->pl));
    free(both);
    free(b1);
    free(b2);
}

/* The cleaner merges small segments that each hold an ABORT; their
 * .txnindex files stay. A crash, then a rebuild from a snapshot inside
 * the merged segment: the index is whole again and names real markers
 * (the markers replayed go to the newest file). */
static void
test_merged_segments_then_crash(void **state)
{
    fx_t *fx = *state;
    sl_cleaner_opts_t o;
    sl_cleaner_stats_t st;
    sl_txn_aborted_t a[16];
    int64_t marks[8], bases[64], newest = -1;
    size_t nb_before, nb_after, n;
    char cmd[800];
    int i, k, data[16], ctl[16];

    fx->cfg.compact = true;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    for (i = 0; i < 8; i++) {
        assert_int_equal(fx_send_keyed(fx, 9, 2 * i, "k", 2, true), SL_OK);
        assert_int_equal(fx_marker(fx, 9, 0, false, 0, &marks[i]), SL_OK);
        assert_int_equal(fx_send_keyed(fx, -1, 0, "p", 2, false), SL_OK);
        assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    }
    nb_before = sl_partlog_segment_bases(fx->pl, bases, 64);
    sl_cleaner_opts_init(&o);
    o.force = true;
    assert_int_equal(sl_cleaner_clean(fx->pl, &o, TS0, &st), SL_OK);
    nb_after = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(nb_after < nb_before); /* merged */
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), 8);
    assert_true(fx_count_txnindex(fx) > (int)nb_after - 1);
    newest = bases[nb_after - 1];
    sl_partlog_abandon(fx->pl); /* crash */
    /* the newest snapshot is lost: the state comes from one taken at a
     * roll inside what is now one merged segment */
    snprintf(cmd, sizeof(cmd), "rm -f %s/%020" PRId64 ".snapshot", fx->dir,
             newest);
    assert_int_equal(system(cmd), 0);
    fx->pl = fx_open(fx, false);
    /* the cleaner dropped the aborted batches, so entries only matter
     * while data remains; those that are there name real markers, in
     * order */
    fx_census(fx, data, ctl);
    assert_int_equal(data[9], 0);
    assert_int_equal(ctl[9], 8);
    n = fx_aborted(fx, 0, INT64_MAX, a, 16);
    assert_true(n >= 6 && n <= 8);
    for (i = 0, k = 0; i < (int)n; i++) {
        while (k < 8 && marks[k] != a[i].last_offset) {
            k++;
        }
        assert_true(k < 8);
    }
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open(fx, true);
    assert_int_equal(fx_aborted(fx, 0, INT64_MAX, a, 16), n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lso_interleaved, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_read_stops_at_lso, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_aborted_across_segments, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_clean_restart_keeps_open_txn,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_crash_rebuilds_deleted_index,
                                        fx_setup_big, fx_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_tail_rebuilds_all,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncate_reopens_txn, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_delete_records_drops_entries,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_marker_rules, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_cleaner_and_transactions,
                                        fx_setup_big, fx_teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_recovery, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_index_write_fails, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_pstate_snapshot_keeps_txns,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_txnindex_files, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_refused_append_opens_nothing,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_merged_segments_then_crash,
                                        fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
