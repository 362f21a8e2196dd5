/*
 * tests/unit/log/test_cleaner.c: log compaction (log/cleaner.c) on a real
 * partition log with a fake clock: the newest record per key stays with
 * its offset, order and the log start/end offsets are kept, the active
 * segment is untouched, tombstones stay until delete.retention.ms after
 * the clean that first saw them (record timestamps unchanged), so do
 * transaction markers, min.compaction.lag.ms holds records back
 * and max.compaction.lag.ms forces a pass,
 * compressed batches keep their codec, keyless records go, the end
 * offset survives a crash after a clean left a gap at its end, a reader
 * holding an old segment keeps reading it, a reader thread sees whole
 * valid batches while cleans swap segments under it, a garbage .swap
 * file neither crashes the open nor replaces intact segments, and a crash
 * injected at every file operation of a clean (failing renames, unlinks, syncs,
 * or a power cut after N bytes) reopens to the old or the new log, never a loss
 * or a duplicate.
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
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "log/cleaner.h"
#include "log/faultfs.h"
#include "log/file.h"
#include "log/partlog.h"
#include "log_test_util.h"

#define TS0 1700000000000LL
#define DAY (24LL * 3600 * 1000)
#define MAXREC 4096

typedef struct fx_s {
    char root[256];
    char dir[512];
    sl_log_config_t cfg;
    sl_partlog_t *pl;
} fx_t;

/* One record as read back. */
typedef struct rec_s {
    int64_t off;
    char key[32];
    char val[32]; /* "" with null set for tombstones */
    bool null;
    int64_t ts;   /* record timestamp */
    bool horizon; /* its batch has a delete horizon */
    bool control;
} rec_t;

static sl_partlog_t *
fx_open_clean(fx_t *fx, bool clean)
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

static sl_partlog_t *
fx_open(fx_t *fx)
{
    return fx_open_clean(fx, false);
}

/* The next sequence of producer 77 (idempotence checks every append). */
static int32_t app_seq;

static int
setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));

    tl_mkdtemp(fx->root);
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-0", fx->root);
    tl_config(&fx->cfg);
    fx->cfg.segment_bytes = 2048;
    fx->cfg.compact = true;
    app_seq = 0;
    fx->pl = fx_open(fx);
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

/* Append one batch: keys "k<id>", values "v<seq>" (NULL vals[i] < 0 means
 * a tombstone, a NULL keys array means keyless records). */
static int64_t
app(sl_partlog_t *pl, const int *keys, const int *vals, int n, int codec,
    int64_t ts)
{
    sl_batch_params_t bp;
    sl_record_in_t recs[64];
    char kb[64][16], vb[64][16];
    uint8_t *b;
    size_t len;
    sl_append_info_t info;
    int i;

    memset(recs, 0, sizeof(recs));
    for (i = 0; i < n; i++) {
        if (keys != NULL) {
            snprintf(kb[i], sizeof(kb[i]), "k%d", keys[i]);
            recs[i].key = (const uint8_t *)kb[i];
            recs[i].key_len = strlen(kb[i]);
        }
        if (vals[i] >= 0) {
            snprintf(vb[i], sizeof(vb[i]), "v%d", vals[i]);
            recs[i].value = (const uint8_t *)vb[i];
            recs[i].value_len = strlen(vb[i]);
        }
        recs[i].timestamp = ts + i;
    }
    sl_batch_params_init(&bp);
    bp.codec = codec;
    bp.producer_id = 77;
    bp.producer_epoch = 3;
    bp.base_sequence = app_seq;
    app_seq += n;
    assert_int_equal(sl_batch_build(&bp, recs, (size_t)n, &b, &len), SL_OK);
    assert_int_equal(sl_partlog_append(pl, b, len, -1, 0, ts, &info), SL_OK);
    free(b);
    return info.base_offset;
}

/* One keyed update: key k, value v. */
static int64_t
put(sl_partlog_t *pl, int k, int v, int64_t ts)
{
    return app(pl, &k, &v, 1, 0, ts);
}

/* Read every record from the log start; checks that batches are whole and
 * valid, offsets strictly increase. Returns the count. */
static int
collect(sl_partlog_t *pl, rec_t *out, int cap, int *codecs)
{
    static uint8_t buf[1 << 20];
    int64_t off = sl_partlog_log_start(pl), last = -1;
    size_t len, rlen;
    sl_batch_seq_t it;
    sl_batch_t b;
    sl_record_iter_t ri;
    sl_record_t r;
    const uint8_t *recs;
    uint8_t *owned;
    int n = 0;

    while (off < sl_partlog_end_offset(pl)) {
        assert_int_equal(
            sl_partlog_read_copy(pl, off, true, -1, buf, sizeof(buf), &len),
            SL_OK);
        if (len == 0) {
            break;
        }
        sl_batch_seq_init(&it, buf, len, 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0), SL_OK);
            assert_int_equal(b.producer_id, 77);
            assert_int_equal(b.producer_epoch, 3);
            if (codecs != NULL) {
                codecs[sl_batch_codec(&b)]++;
            }
            assert_int_equal(
                sl_batch_records(&b, 1 << 20, &recs, &rlen, &owned), SL_OK);
            sl_record_iter_init(&ri, recs, rlen, b.records_count);
            while (sl_record_iter_next(&ri, &r) == SL_OK) {
                int64_t o = b.base_offset + r.offset_delta;

                if (o < off) {
                    continue; /* before the offset asked for */
                }
                assert_true(o > last);
                last = o;
                assert_true(n < cap);
                memset(&out[n], 0, sizeof(out[n]));
                out[n].off = o;
                if (r.key != NULL) {
                    snprintf(out[n].key, sizeof(out[n].key), "%.*s",
                             (int)r.key_len, (const char *)r.key);
                }
                out[n].null = r.value == NULL;
                out[n].ts = b.base_timestamp + r.timestamp_delta;
                out[n].horizon =
                    (b.attributes & SL_BATCH_ATTR_DELETE_HORIZON) != 0;
                out[n].control = sl_batch_is_control(&b);
                if (r.value != NULL) {
                    snprintf(out[n].val, sizeof(out[n].val), "%.*s",
                             (int)r.value_len, (const char *)r.value);
                }
                n++;
            }
            free(owned);
            off = b.base_offset + b.last_offset_delta + 1;
        }
    }
    return n;
}

static sl_cleaner_stats_t
clean(sl_partlog_t *pl, int64_t now, bool force)
{
    sl_cleaner_opts_t o;
    sl_cleaner_stats_t st;

    sl_cleaner_opts_init(&o);
    o.force = force;
    assert_int_equal(sl_cleaner_clean(pl, &o, now, &st), SL_OK);
    return st;
}

/* 300 updates over 10 keys, one per batch; the log rolled so that all of
 * it is sealed but the last <active> updates. *last_off[k] gets each key's
 * newest offset, *last_val[k] its value. */
static void
fill(fx_t *fx, int updates, int nkeys, int active, int64_t *last_off,
     int *last_val)
{
    int i;

    for (i = 0; i < updates; i++) {
        int k = (i * 7) % nkeys;

        if (i == updates - active) {
            assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
        }
        last_off[k] = put(fx->pl, k, i, TS0 + i);
        last_val[k] = i;
    }
}

static void
test_newest_per_key(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int64_t last_off[10], end, start;
    int last_val[10], n, i, k;
    sl_cleaner_stats_t st;
    char v[16];

    /* a key updated only at the very start, twice */
    put(fx->pl, 50, 0, TS0);
    put(fx->pl, 50, 1, TS0);
    fill(fx, 300, 10, 3, last_off, last_val);
    /* a clean reopen first: sealed segments then know only their indexes */
    assert_int_equal(sl_partlog_close(fx->pl, TS0), SL_OK);
    fx->pl = fx_open_clean(fx, true);
    end = sl_partlog_end_offset(fx->pl);
    start = sl_partlog_log_start(fx->pl);
    assert_true(sl_partlog_segment_count(fx->pl) > 5);
    st = clean(fx->pl, TS0 + 1000, false); /* never cleaned: ratio 1 */
    assert_true(st.cleaned);
    assert_int_equal(st.map_keys, 11);
    assert_true(st.groups_swapped >= 1);
    /* offsets and the log's bounds do not move */
    assert_int_equal(sl_partlog_end_offset(fx->pl), end);
    assert_int_equal(sl_partlog_log_start(fx->pl), start);
    n = collect(fx->pl, r, MAXREC, NULL);
    /* the 3 records of the active segment stay as they are; the sealed
     * part keeps one record per key (those not overwritten in the active
     * one) */
    assert_true(n <= 11 + 3);
    assert_int_equal(r[0].off, 1); /* k50's newest */
    assert_string_equal(r[0].key, "k50");
    for (k = 0; k < 10; k++) {
        snprintf(v, sizeof(v), "v%d", last_val[k]);
        for (i = 0; i < n; i++) {
            if (r[i].off == last_off[k]) {
                assert_string_equal(r[i].val, v);
                break;
            }
        }
        assert_true(i < n); /* present, at its original offset */
    }
    for (i = n - 3; i < n; i++) {
        assert_true(r[i].off >= end - 3); /* active segment untouched */
    }
    /* a second pass with nothing dirty changes nothing */
    st = clean(fx->pl, TS0 + 2000, false);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), n);

    /* and the result survives an unclean reopen (CRCs re-checked) */
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), n);
    assert_int_equal(sl_partlog_end_offset(fx->pl), end);
}

/* A key map smaller than the dirty keys: each pass covers the whole
 * segments that fit, the next pass goes on from there; nothing is lost. */
static void
test_small_dedupe_buffer(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    static int64_t newest[2000];
    sl_cleaner_opts_t o;
    sl_cleaner_stats_t st;
    int i, n, passes = 0, k;
    int64_t end;

    for (i = 0; i < 3000; i++) {
        k = i % 2000;
        newest[k] = put(fx->pl, k, i, TS0);
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    end = sl_partlog_end_offset(fx->pl);
    sl_cleaner_opts_init(&o);
    o.dedupe_buffer_size = 1; /* the smallest map: 1,024 slots */
    o.force = true;           /* the dirty ratio would wait for more */
    do {
        assert_int_equal(sl_cleaner_clean(fx->pl, &o, TS0, &st), SL_OK);
        assert_true(st.map_keys <= 1024);
        passes++;
    } while (st.cleaned && st.end < end && passes < 50);
    assert_true(passes > 1);
    assert_int_equal(st.end, end);
    n = collect(fx->pl, r, MAXREC, NULL);
    assert_int_equal(n, 2000);
    for (i = 0; i < n; i++) {
        assert_int_equal(sscanf(r[i].key, "k%d", &k), 1);
        assert_int_equal(r[i].off, newest[k]);
    }
}

static void
test_delete_policy_untouched(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int64_t last_off[10];
    int last_val[10];

    fx->cfg.compact = false;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    fill(fx, 100, 10, 1, last_off, last_val);
    assert_false(clean(fx->pl, TS0, true).cleaned);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), 100);
}

static void
test_dirty_ratio_and_checkpoint(void **state)
{
    fx_t *fx = *state;
    int64_t last_off[10];
    int last_val[10], i;
    sl_cleaner_stats_t st;

    fill(fx, 300, 10, 1, last_off, last_val);
    st = clean(fx->pl, TS0, false);
    assert_true(st.cleaned);
    assert_int_equal(st.first_dirty, 0);
    /* a little more: the dirty share stays under 0.5, no pass */
    for (i = 0; i < 2; i++) {
        put(fx->pl, i, 1000 + i, TS0);
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    st = clean(fx->pl, TS0, false);
    assert_false(st.cleaned);
    /* forced: always */
    st = clean(fx->pl, TS0, true);
    assert_true(st.cleaned);
    assert_true(st.first_dirty > 0);
}

static void
test_tombstones(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int i, n, tombs;
    sl_cleaner_stats_t st;
    int64_t t1 = TS0 + 10000;

    fx->cfg.delete_retention_ms = DAY;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    for (i = 0; i < 100; i++) {
        put(fx->pl, i % 10, i, TS0);
    }
    for (i = 0; i < 5; i++) {
        int k = i, v = -1;

        app(fx->pl, &k, &v, 1, 0, TS0); /* tombstone of k0..k4 */
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    put(fx->pl, 99, 1, TS0); /* something in the active segment */

    st = clean(fx->pl, t1, false);
    assert_true(st.cleaned);
    n = collect(fx->pl, r, MAXREC, NULL);
    for (i = 0, tombs = 0; i < n; i++) {
        tombs += r[i].null;
        /* the horizon is in the batch; record timestamps do not change */
        assert_int_equal(r[i].horizon, r[i].null);
        assert_int_equal(r[i].ts, TS0);
    }
    assert_int_equal(tombs, 5); /* kept: the horizon is t1 + 1 day */
    assert_int_equal(n, 11);

    /* before the horizon: nothing is due, nothing changes */
    st = clean(fx->pl, t1 + DAY - 1, false);
    assert_false(st.cleaned);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), 11);

    /* at the horizon: due by itself, the tombstones go */
    st = clean(fx->pl, t1 + DAY, false);
    assert_true(st.cleaned);
    n = collect(fx->pl, r, MAXREC, NULL);
    assert_int_equal(n, 6);
    for (i = 0; i < n; i++) {
        assert_false(r[i].null);
        assert_true(strcmp(r[i].key, "k0") != 0);
    }
    assert_int_equal(sl_partlog_log_start(fx->pl), 0);
    assert_int_equal(sl_partlog_end_offset(fx->pl), 106);
}

static void
test_control_batches(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    sl_append_info_t info;
    uint8_t *b;
    size_t len;
    int n, i;
    int64_t t1 = TS0 + 5000;

    for (i = 0; i < 20; i++) {
        put(fx->pl, i % 2, i, TS0);
    }
    assert_int_equal(sl_control_build(77, 3, true, 5, TS0, &b, &len), SL_OK);
    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_OK);
    free(b);
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    put(fx->pl, 9, 1, TS0);

    clean(fx->pl, t1, false);
    n = collect(fx->pl, r, MAXREC, NULL);
    assert_int_equal(n, 2 + 1 + 1);
    assert_true(r[2].control);
    assert_true(r[2].horizon); /* kept until t1 + delete.retention.ms */
    assert_int_equal(r[2].off, 20);
    assert_int_equal(r[2].ts, TS0);
    clean(fx->pl, t1 + DAY - 1, false);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), 4);
    clean(fx->pl, t1 + DAY, false);
    n = collect(fx->pl, r, MAXREC, NULL);
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        assert_false(r[i].control);
    }
    assert_int_equal(sl_partlog_end_offset(fx->pl), 22);
}

static void
test_min_compaction_lag(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int i;
    sl_cleaner_stats_t st;

    fx->cfg.min_compaction_lag_ms = 60000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    for (i = 0; i < 100; i++) {
        put(fx->pl, i % 4, i, TS0);
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    st = clean(fx->pl, TS0 + 30000, true);
    assert_false(st.cleaned && st.groups_swapped > 0);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), 100);
    st = clean(fx->pl, TS0 + 60001, false);
    assert_true(st.cleaned);
    assert_int_equal(collect(fx->pl, r, MAXREC, NULL), 4);
}

static void
test_max_compaction_lag(void **state)
{
    fx_t *fx = *state;
    int64_t last_off[10];
    int last_val[10], i;
    sl_cleaner_stats_t st;

    fx->cfg.min_cleanable_ratio = 0.99;
    fx->cfg.max_compaction_lag_ms = 60000;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    fill(fx, 300, 10, 1, last_off, last_val);
    assert_true(clean(fx->pl, TS0 + 1000, false).cleaned); /* first one */
    for (i = 0; i < 3; i++) {
        put(fx->pl, i, 500 + i, TS0 + 1000);
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0 + 1000), SL_OK);
    /* little dirt, too young for max.compaction.lag.ms: no pass */
    st = clean(fx->pl, TS0 + 30000, false);
    assert_false(st.cleaned);
    /* older than max.compaction.lag.ms: a pass, whatever the ratio */
    st = clean(fx->pl, TS0 + 1000 + 60003, false);
    assert_true(st.cleaned);
    assert_true(st.first_dirty > 0);
}

static void
test_compressed_and_keyless(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int keys[8] = {1, 2, 1, 3, 2, 1, 4, 4}, vals[8], codecs[8] = {0};
    int c, i, n;
    int64_t base[5];

    for (c = 0; c <= 4; c++) {
        for (i = 0; i < 8; i++) {
            vals[i] = c * 10 + i;
        }
        base[c] = app(fx->pl, keys, vals, 8, c, TS0);
    }
    app(fx->pl, NULL, vals, 2, 0, TS0); /* keyless: dropped */
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    clean(fx->pl, TS0, false);
    n = collect(fx->pl, r, MAXREC, codecs);
    /* the last batch (zstd) holds every key's newest value */
    assert_int_equal(n, 4);
    assert_int_equal(codecs[4], 1);
    assert_int_equal(r[0].off, base[4] + 3);
    assert_string_equal(r[0].key, "k3");
    assert_int_equal(r[1].off, base[4] + 4);
    assert_string_equal(r[1].key, "k2");
    assert_int_equal(r[2].off, base[4] + 5);
    assert_string_equal(r[2].val, "v45");
    assert_int_equal(r[3].off, base[4] + 7);
    assert_string_equal(r[3].key, "k4");

    /* each codec survives a partial rewrite: newer keys only in batch c */
    for (c = 1; c <= 4; c++) {
        int k2[2] = {100 + c, 200 + c}, v2[2] = {1, 2};

        app(fx->pl, k2, v2, 2, c, TS0);
        put(fx->pl, 100 + c, 3, TS0); /* supersedes the batch's first */
    }
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    memset(codecs, 0, sizeof(codecs));
    clean(fx->pl, TS0, true);
    n = collect(fx->pl, r, MAXREC, codecs);
    assert_int_equal(n, 4 + 8);
    for (c = 1; c <= 4; c++) {
        assert_true(codecs[c] >= 1);
    }
}

static void
test_reader_keeps_old_segment(void **state)
{
    fx_t *fx = *state;
    int64_t last_off[10];
    int last_val[10];
    sl_log_slice_t s;
    uint8_t buf[64];
    size_t got;
    sl_seg_batch_t b;

    fill(fx, 200, 10, 1, last_off, last_val);
    assert_int_equal(sl_partlog_read(fx->pl, 0, 4096, true, -1, &s), SL_OK);
    assert_non_null(s.seg);
    clean(fx->pl, TS0, false);
    /* offset 0 is gone from the log, but the old file is still readable
     * through the reference */
    assert_int_equal(sl_file_read_at(s.fd, buf, 61, s.pos, &got), SL_OK);
    assert_int_equal(got, 61);
    assert_int_equal(sl_segment_decode_header(buf, 1 << 20, &b), SL_OK);
    assert_int_equal(b.base_offset, 0);
    assert_int_equal(b.records_count, 1);
    sl_log_slice_release(&s);
}

/* The cleaned segment before an empty active one ends in a gap (its last
 * records went); a crash and reopen must not take that for corruption and
 * move the end offset back. */
static void
test_end_offset_kept_after_crash(void **state)
{
    fx_t *fx = *state;
    int vals[2] = {1, 2}, i;
    int64_t end;

    for (i = 0; i < 50; i++) {
        put(fx->pl, i % 5, i, TS0);
    }
    app(fx->pl, NULL, vals, 2, 0, TS0); /* keyless: removed by the clean */
    assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
    end = sl_partlog_end_offset(fx->pl);
    assert_int_equal(end, 52);
    clean(fx->pl, TS0, false);
    sl_partlog_abandon(fx->pl);
    fx->pl = fx_open(fx);
    assert_int_equal(sl_partlog_end_offset(fx->pl), end);
    assert_int_equal(put(fx->pl, 7, 99, TS0), end);
}

/* Hostile leftovers: a .log.swap of garbage never crashes the open; next
 * to the intact segment it claims to replace, the old data wins. */
static void
test_damaged_swap(void **state)
{
    fx_t *fx = *state;
    static rec_t r[MAXREC];
    int64_t bases[64], last_off[10];
    int last_val[10], n, trial;
    size_t nb;
    uint8_t junk[400];
    char p[700];
    FILE *f;

    fill(fx, 200, 10, 1, last_off, last_val);
    n = collect(fx->pl, r, MAXREC, NULL);
    nb = sl_partlog_segment_bases(fx->pl, bases, 64);
    assert_true(nb > 3);
    srand(7);
    for (trial = 0; trial < 60; trial++) {
        int64_t base = trial % 2 ? bases[1 + trial % (nb - 2)] : 990000 + trial;
        size_t len = (size_t)(rand() % (int)sizeof(junk)), i;

        sl_partlog_abandon(fx->pl);
        fx->pl = NULL;
        for (i = 0; i < len; i++) {
            junk[i] = (uint8_t)rand();
        }
        if (trial % 3 == 0 && len > 61) {
            /* a plausible header: magic 2, sane length */
            memset(junk, 0, 24);
            junk[11] = 49;
            junk[16] = 2;
        }
        snprintf(p, sizeof(p), "%s/%020lld.log.swap", fx->dir, (long long)base);
        f = fopen(p, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(junk, 1, len, f), len);
        fclose(f);
        fx->pl = fx_open(fx);
        assert_int_equal(collect(fx->pl, r, MAXREC, NULL), n);
        assert_int_equal(sl_partlog_end_offset(fx->pl), 200);
    }
}

typedef struct rd_arg_s {
    sl_partlog_t *pl;
    atomic_bool stop;
    atomic_llong reads;
    int64_t errors;
} rd_arg_t;

/* Read the whole log again and again: every batch whole with a good CRC,
 * offsets increasing, each value the one written at its offset. */
static void *
rd_main(void *arg)
{
    rd_arg_t *a = arg;
    static uint8_t buf[1 << 16];
    sl_batch_seq_t it;
    sl_batch_t b;
    size_t len;

    while (!atomic_load(&a->stop)) {
        int64_t off = 0, last = -1;

        while (off < sl_partlog_end_offset(a->pl)) {
            if (sl_partlog_read_copy(a->pl, off, true, -1, buf, sizeof(buf),
                                     &len) != SL_OK) {
                a->errors++;
                break;
            }
            if (len == 0) {
                break;
            }
            sl_batch_seq_init(&it, buf, len, 0);
            while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
                if (sl_batch_validate_records(&b, 1 << 20, 0) != SL_OK ||
                    b.base_offset <= last) {
                    a->errors++;
                }
                last = b.base_offset + b.last_offset_delta;
                off = last + 1;
            }
            atomic_fetch_add(&a->reads, 1);
        }
    }
    return NULL;
}

static void
test_reads_during_cleaning(void **state)
{
    fx_t *fx = *state;
    rd_arg_t a;
    pthread_t t;
    int round, i;

    memset(&a, 0, sizeof(a));
    atomic_init(&a.stop, false);
    atomic_init(&a.reads, 0);
    a.pl = fx->pl;
    for (i = 0; i < 100; i++) {
        put(fx->pl, i % 10, i, TS0);
    }
    assert_int_equal(pthread_create(&t, NULL, rd_main, &a), 0);
    for (round = 0; round < 20; round++) {
        for (i = 0; i < 60; i++) {
            put(fx->pl, i % 10, i, TS0);
        }
        assert_int_equal(sl_partlog_roll(fx->pl, TS0), SL_OK);
        clean(fx->pl, TS0, true);
    }
    while (atomic_load(&a.reads) == 0) {
        usleep(1000); /* a loaded machine may not have run it yet */
    }
    atomic_store(&a.stop, true);
    pthread_join(t, NULL);
    assert_int_equal(a.errors, 0);
}

/* After a crash during a clean and a reopen: every offset is either in the
 * old log (all updates) or the cleaned one; nothing lost, no duplicates. */
static void
check_after_crash(fx_t *fx, int updates, const int64_t *last_off,
                  const int *last_val, int64_t end)
{
    static rec_t r[MAXREC];
    int n, i, k;
    char v[16];

    n = collect(fx->pl, r, MAXREC, NULL);
    assert_int_equal(sl_partlog_end_offset(fx->pl), end);
    assert_int_equal(sl_partlog_log_start(fx->pl), 0);
    assert_true(n >= 10 && n <= updates);
    for (k = 0; k < 10; k++) {
        snprintf(v, sizeof(v), "v%d", last_val[k]);
        for (i = 0; i < n && r[i].off != last_off[k]; i++) {
        }
        assert_true(i < n);
        assert_string_equal(r[i].val, v);
    }
    for (i = 0; i < n; i++) {
        /* each record still has the value written at its offset */
        snprintf(v, sizeof(v), "v%lld", (long long)r[i].off);
        assert_string_equal(r[i].val, v);
    }
}

static void
test_crash_at_every_step(void **state)
{
    fx_t *fx = *state;
    static const sl_file_op_e ops[] = {SL_FILE_OP_RENAME,    SL_FILE_OP_UNLINK,
                                       SL_FILE_OP_FDATASYNC, SL_FILE_OP_FSYNC,
                                       SL_FILE_OP_PWRITE,    SL_FILE_OP_OPEN};
    const int updates = 150;
    int64_t last_off[10], end;
    int last_val[10], o, nth, runs = 0;
    sl_cleaner_opts_t co;
    sl_cleaner_stats_t st;
    sl_err_t err;

    sl_cleaner_opts_init(&co);
    co.force = true;
    for (o = 0; o < (int)(sizeof(ops) / sizeof(ops[0])); o++) {
        for (nth = 1;; nth++) {
            sl_partlog_abandon(fx->pl);
            tl_rmtree(fx->dir);
            fx->pl = fx_open(fx);
            app_seq = 0; /* a new log: producer 77 starts over */
            fill(fx, updates, 10, 1, last_off, last_val);
            end = sl_partlog_end_offset(fx->pl);
            sl_faultfs_install();
            sl_faultfs_fail(ops[o], nth, EIO, -1);
            err = sl_cleaner_clean(fx->pl, &co, TS0, &st);
            sl_faultfs_uninstall();
            /* the process dies here */
            sl_partlog_abandon(fx->pl);
            fx->pl = fx_open(fx);
            check_after_crash(fx, updates, last_off, last_val, end);
            runs++;
            if (err == SL_OK) {
                break; /* the fault came after the last call of that kind */
            }
        }
    }
    assert_true(runs > 20);
}

static void
test_power_cut_during_clean(void **state)
{
    fx_t *fx = *state;
    const int updates = 150;
    int64_t last_off[10], end, budget;
    int last_val[10];
    sl_cleaner_opts_t co;
    sl_cleaner_stats_t st;

    sl_cleaner_opts_init(&co);
    co.force = true;
    for (budget = 0; budget < 6000; budget += 97) {
        sl_partlog_abandon(fx->pl);
        tl_rmtree(fx->dir);
        fx->pl = fx_open(fx);
        app_seq = 0; /* a new log: producer 77 starts over */
        fill(fx, updates, 10, 1, last_off, last_val);
        end = sl_partlog_end_offset(fx->pl);
        sl_faultfs_install();
        sl_faultfs_crash_after(budget);
        (void)sl_cleaner_clean(fx->pl, &co, TS0, &st);
        sl_faultfs_uninstall();
        sl_partlog_abandon(fx->pl);
        fx->pl = fx_open(fx);
        check_after_crash(fx, updates, last_off, last_val, end);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_newest_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_dedupe_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_policy_untouched, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dirty_ratio_and_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_compaction_lag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_compaction_lag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compressed_and_keyless, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reader_keeps_old_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_end_offset_kept_after_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_damaged_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_during_cleaning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_at_every_step, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_power_cut_during_clean, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
