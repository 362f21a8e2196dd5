/*
 * log/partlog.c: the partition log: segment list, offsets, appends, reads,
 * recovery at open, retention, truncation, flush bookkeeping, leader epoch
 * cache. Retention, truncation, flushing and ListOffsets are in
 * partlog_admin.c; the small files in ckpt.c.
 *
 * Directory <log.dirs>/<topic>-<partition>/:
 *
 *   <20-digit base>.log|.index|.timeindex   segments (segment.c)
 *   <20-digit base>.txnindex                aborted transactions (txnindex.c)
 *   <20-digit offset>.snapshot              producer state (producer_state.c)
 *   leader-epoch-checkpoint                 epoch -> start offset (ckpt.c)
 *   partition.metadata                      topic id (ckpt.c)
 *   recovery-point-offset-checkpoint        offsets below it were synced
 *   log-start-offset-checkpoint             DeleteRecords / retention
 *   *.tmp, *.deleted, *.swap, *.cleaned     leftovers, removed at open
 *
 * Rules (see docs/storage.md):
 *   - an append writes the bytes and the index entries, then publishes the
 *     new size and end offset; a failed write is cut back, so no partial
 *     batch is ever visible or survives a reopen;
 *   - the recovery point only moves after fdatasync of every segment that
 *     holds offsets below it; sealed segments' indexes are synced with
 *     them, and the directory after a roll;
 *   - without a clean-shutdown marker, open re-validates from the segment
 *     holding the recovery point, cuts the first bad batch and all that
 *     follows, and rebuilds those segments' indexes;
 *   - an fdatasync error takes the log offline for good (the page cache
 *     state is unknown after it); further appends fail with SL_ERR__IO.
 *
 * Owns: its segments (one reference each), the epoch cache, the config
 * copy. Locks: lock (appends, metadata, segment list), flush_lock
 * (serialises flushes). Order: flush_lock before lock.
 */
#include "log/partlog.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "log/ckpt.h"
#include "log/cleaner.h"
#include "log/file.h"
#include "log/partlog_int.h"
#include "proto/batch.h"

#define SL_PL_PATH 4096

/* ---- small helpers ------------------------------------------------------ */

void
sl_log_config_init(sl_log_config_t *c)
{
    c->segment_bytes = (int64_t)1 << 30;
    c->segment_ms = 7LL * 24 * 3600 * 1000;
    c->index_interval_bytes = 4096;
    c->segment_index_bytes = 10 * 1024 * 1024;
    c->retention_ms = 7LL * 24 * 3600 * 1000;
    c->retention_bytes = -1;
    c->flush_messages = INT64_MAX;
    c->flush_ms = INT64_MAX;
    c->log_append_time = false;
    c->max_message_bytes = 1048588;
    c->file_delete_delay_ms = 60000;
    c->compact = false;
    c->delete_retention_ms = 24LL * 3600 * 1000;
    c->min_compaction_lag_ms = 0;
    c->max_compaction_lag_ms = INT64_MAX;
    c->min_cleanable_ratio = 0.5;
}

sl_segment_t *
sl_partlog_active(sl_partlog_t *pl)
{
    return pl->segs[pl->nsegs - 1].seg;
}

static sl_err_t
sl_partlog_push(sl_partlog_t *pl, sl_segment_t *seg)
{
    sl_partlog_seg_t *p;

    if (pl->nsegs == pl->csegs) {
        size_t c = pl->csegs ? pl->csegs * 2 : 8;

        if ((p = realloc(pl->segs, c * sizeof(*p))) == NULL) {
            return SL_ERR__NOMEM;
        }
        pl->segs = p;
        pl->csegs = c;
    }
    pl->segs[pl->nsegs].seg = seg;
    pl->segs[pl->nsegs].index_synced = false;
    pl->nsegs++;
    return SL_OK;
}

/* Unlink and drop segment i from the list. @locks lock */
sl_err_t
sl_partlog_drop(sl_partlog_t *pl, size_t i)
{
    sl_segment_t *seg = pl->segs[i].seg;
    sl_err_t err;

    err = sl_segment_unlink(seg);
    memmove(&pl->segs[i], &pl->segs[i + 1],
            (pl->nsegs - i - 1) * sizeof(pl->segs[0]));
    pl->nsegs--;
    pl->dir_dirty = true;
    if (i == 0 && pl->nsegs > 0 && pl->txnidx != NULL) {
        /* its aborted transactions ended below the new first segment */
        sl_txnidx_drop_below(pl->txnidx, sl_segment_base(pl->segs[0].seg));
    }
    sl_log_info("log.partlog",
                "deleted segment topic=%s partition=%d "
                "base=%lld",
                pl->topic, (int)pl->partition, (long long)sl_segment_base(seg));
    sl_segment_unref(seg);
    return err;
}

/* Index of the segment holding <offset>: the last base <= offset. */
size_t
sl_partlog_find_seg(sl_partlog_t *pl, int64_t offset)
{
    size_t lo = 0, hi = pl->nsegs, at = 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sl_segment_base(pl->segs[mid].seg) <= offset) {
            at = mid;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return at;
}

sl_err_t
sl_partlog_save_epochs(sl_partlog_t *pl)
{
    sl_err_t err = sl_ckpt_write_epochs(pl->dir, pl->epochs, pl->nepochs);

    if (err != SL_OK) {
        sl_log_warn("log.partlog",
                    "epoch checkpoint failed topic=%s "
                    "partition=%d err=%s",
                    pl->topic, (int)pl->partition, sl_err_name(err));
    }
    return err;
}

/* Append (epoch, start) if epoch is newer. @returns whether it changed. */
static bool
sl_partlog_epoch_assign(sl_partlog_t *pl, int32_t epoch, int64_t start)
{
    sl_epoch_entry_t *p;

    if (epoch < 0 || (pl->nepochs > 0 &&
                      (epoch <= pl->epochs[pl->nepochs - 1].epoch ||
                       start < pl->epochs[pl->nepochs - 1].start_offset))) {
        return false;
    }
    if (pl->nepochs >= SL_CKPT_MAX_EPOCHS) {
        return false;
    }
    if (pl->nepochs == pl->cepochs) {
        size_t c = pl->cepochs ? pl->cepochs * 2 : 8;

        if ((p = realloc(pl->epochs, c * sizeof(*p))) == NULL) {
            return false;
        }
        pl->epochs = p;
        pl->cepochs = c;
    }
    pl->epochs[pl->nepochs].epoch = epoch;
    pl->epochs[pl->nepochs].start_offset = start;
    pl->nepochs++;
    return true;
}

static void
sl_partlog_epoch_cb(void *arg, const sl_seg_batch_t *b)
{
    sl_partlog_t *pl = arg;

    if (sl_partlog_epoch_assign(pl, b->leader_epoch, b->base_offset)) {
        pl->epochs_dirty = true;
    }
}

/* Drop epochs starting at or after <end>. */
bool
sl_partlog_epoch_trim_end(sl_partlog_t *pl, int64_t end)
{
    size_t n = pl->nepochs;

    while (pl->nepochs > 0 && pl->epochs[pl->nepochs - 1].start_offset >= end) {
        pl->nepochs--;
    }
    return n != pl->nepochs;
}

/* Entries before <start>: keep the last one, moved up to start. */
bool
sl_partlog_epoch_trim_start(sl_partlog_t *pl, int64_t start)
{
    size_t i = 0;

    while (i + 1 < pl->nepochs && pl->epochs[i + 1].start_offset <= start) {
        i++;
    }
    if (i == 0 && (pl->nepochs == 0 || pl->epochs[0].start_offset >= start)) {
        return false;
    }
    memmove(pl->epochs, pl->epochs + i,
            (pl->nepochs - i) * sizeof(*pl->epochs));
    pl->nepochs -= i;
    if (pl->epochs[0].start_offset < start) {
        pl->epochs[0].start_offset = start;
    }
    return true;
}

/* ---- open --------------------------------------------------------------- */

typedef struct sl_partlog_list_s {
    sl_partlog_t *pl;
    int64_t *bases;
    size_t n, cap;
    sl_err_t err;
} sl_partlog_list_t;

static bool
sl_partlog_has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);

    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A segment file name: 20 digits then ext; *base gets the number. */
static bool
sl_partlog_parse_name(const char *name, const char *ext, int64_t *base)
{
    uint64_t v = 0;
    int i;

    if (strlen(name) != 20 + strlen(ext) || strcmp(name + 20, ext) != 0) {
        return false;
    }
    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
        if (v > (uint64_t)INT64_MAX) {
            return false;
        }
    }
    *base = (int64_t)v;
    return true;
}

static int
sl_partlog_list_cb(void *arg, const char *name)
{
    sl_partlog_list_t *l = arg;
    char p[SL_PL_PATH], lp[SL_PL_PATH];
    int64_t base, *nb;

    if (snprintf(p, sizeof(p), "%s/%s", l->pl->dir, name) >= (int)sizeof(p)) {
        return 0;
    }
    if (sl_partlog_has_suffix(name, ".tmp") ||
        sl_partlog_has_suffix(name, ".deleted") ||
        sl_partlog_has_suffix(name, ".swap") ||
        sl_partlog_has_suffix(name, ".cleaned")) {
        (void)sl_file_unlink(p);
        return 0;
    }
    if (sl_partlog_parse_name(name, ".log", &base)) {
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 16;
            if ((nb = realloc(l->bases, l->cap * sizeof(*nb))) == NULL) {
                l->err = SL_ERR__NOMEM;
                return 1;
            }
            l->bases = nb;
        }
        l->bases[l->n++] = base;
        return 0;
    }
    if (sl_partlog_parse_name(name, ".index", &base) ||
        sl_partlog_parse_name(name, ".timeindex", &base)) {
        /* orphan index without its log: remove */
        if (sl_segment_path(lp, sizeof(lp), l->pl->dir, base, ".log") &&
            !sl_file_exists(lp)) {
            (void)sl_file_unlink(p);
        }
    }
    return 0;
}

static int
sl_partlog_cmp_base(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * An empty last segment whose base lies beyond the end of the one before
 * it is not a roll (a roll names the new segment after the end offset): it
 * is what is left of a corrupt segment, and keeping it would put a hole of
 * missing offsets before the end. Drop it; the previous segment becomes
 * the active one. <scanned> is the first segment whose end is known.
 */
static sl_err_t
sl_partlog_drop_empty_tail(sl_partlog_t *pl, size_t scanned,
                           sl_partlog_stats_t *st)
{
    sl_segment_t *last, *prev;
    int64_t cleaned = -1;
    sl_err_t err;

    /* below the cleaner checkpoint, compaction may have removed the last
     * records of a segment: a gap before the next base is no corruption */
    if (sl_ckpt_read_offset(pl->dir, SL_CLEANER_CKPT, pl->topic, pl->partition,
                            &cleaned) != SL_OK) {
        cleaned = -1;
    }
    while (pl->nsegs > 1) {
        last = pl->segs[pl->nsegs - 1].seg;
        prev = pl->segs[pl->nsegs - 2].seg;
        if (sl_segment_size(last) != 0) {
            break;
        }
        if (pl->nsegs - 2 < scanned) {
            /* learn where the previous one ends: it may become the active
             * segment, so it must end at a whole, valid batch */
            int64_t cut;

            err = sl_segment_recover(prev, 0, sl_partlog_epoch_cb, pl, &cut);
            if (err == SL_OK) {
                err = sl_segment_sync(prev, true);
            }
            if (err != SL_OK) {
                return err;
            }
            st->truncated_bytes += cut;
            st->indexes_rebuilt++;
            scanned = pl->nsegs - 2;
        }
        if (sl_segment_base(last) <= sl_segment_next_offset(prev) ||
            sl_segment_base(last) <= cleaned) {
            break;
        }
        st->segments_dropped++;
        if ((err = sl_partlog_drop(pl, pl->nsegs - 1)) != SL_OK) {
            return err;
        }
    }
    return SL_OK;
}

/* Recover segments [from, n): CRC scan; after a cut, later segments go. */
static sl_err_t
sl_partlog_recover(sl_partlog_t *pl, size_t from, sl_partlog_stats_t *st)
{
    int64_t min = from > 0 ? sl_segment_next_offset(pl->segs[from - 1].seg) : 0;
    int64_t cut;
    size_t i;
    sl_err_t err;

    st->recovered = true;
    for (i = from; i < pl->nsegs; i++) {
        sl_segment_t *seg = pl->segs[i].seg;

        if (sl_segment_base(seg) < min) {
            /* overlaps the previous segment: not a valid continuation */
            break;
        }
        err = sl_segment_recover(seg, min, sl_partlog_epoch_cb, pl, &cut);
        if (err != SL_OK) {
            return err;
        }
        st->truncated_bytes += cut;
        st->indexes_rebuilt++;
        err = sl_segment_sync(seg, true);
        if (err != SL_OK) {
            return err;
        }
        min = sl_segment_next_offset(seg);
        if (cut > 0) {
            i++;
            break;
        }
    }
    while (pl->nsegs > i) {
        st->segments_dropped++;
        err = sl_partlog_drop(pl, pl->nsegs - 1);
        if (err != SL_OK) {
            return err;
        }
    }
    return sl_partlog_drop_empty_tail(pl, from, st);
}

/* Open segments listed in l; recover or check them. */
static sl_err_t
sl_partlog_load(sl_partlog_t *pl, sl_partlog_list_t *l,
                const sl_partlog_opts_t *o, int64_t rp, sl_partlog_stats_t *st)
{
    sl_segment_t *seg;
    size_t i, k = 0;
    int64_t cut;
    sl_err_t err;

    qsort(l->bases, l->n, sizeof(*l->bases), sl_partlog_cmp_base);
    for (i = 0; i < l->n; i++) {
        err = sl_segment_open(pl->dir, l->bases[i], &pl->cfg, &seg);
        if (err == SL_OK && (err = sl_partlog_push(pl, seg)) != SL_OK) {
            sl_segment_unref(seg);
        }
        if (err != SL_OK) {
            return err;
        }
        pl->segs[pl->nsegs - 1].index_synced = true;
        if (l->bases[i] <= rp) {
            k = i;
        }
    }
    if (o->clean) {
        k = pl->nsegs - 1;
    }
    for (i = 0; i < k; i++) {
        if (!sl_segment_indexes_ok(pl->segs[i].seg)) {
            st->indexes_rebuilt++;
            err = sl_segment_rebuild(pl->segs[i].seg, 0, &cut);
            if (err != SL_OK) {
                return err;
            }
            st->truncated_bytes += cut;
        }
    }
    if (o->clean) {
        seg = pl->segs[k].seg;
        err = sl_segment_indexes_ok(seg) ? sl_segment_load_tail(seg, 0)
                                         : SL_ERR__CORRUPT;
        if (err == SL_OK) {
            return SL_OK;
        }
        if (err != SL_ERR__CORRUPT) {
            return err;
        }
        sl_log_warn("log.partlog",
                    "clean marker but bad tail, recovering "
                    "topic=%s partition=%d",
                    pl->topic, (int)pl->partition);
    }
    return sl_partlog_recover(pl, k, st);
}

static sl_err_t
sl_partlog_load_epochs(sl_partlog_t *pl)
{
    sl_epoch_entry_t *e;
    size_t n;
    sl_err_t err = sl_ckpt_read_epochs(pl->dir, &e, &n);

    if (err == SL_OK) {
        pl->epochs = e;
        pl->nepochs = pl->cepochs = n;
        return SL_OK;
    }
    if (err == SL_ERR__NOENT || err == SL_ERR__CORRUPT) {
        pl->epochs_rebuild = true;
        return SL_OK;
    }
    return err;
}

/* Rebuild the epoch cache from every batch header (missing/corrupt file). */
static sl_err_t
sl_partlog_rebuild_epochs(sl_partlog_t *pl)
{
    int64_t end;
    size_t i;
    sl_err_t err;

    pl->nepochs = 0;
    for (i = 0; i < pl->nsegs; i++) {
        err = sl_segment_scan(pl->segs[i].seg, 0, 0, 0, sl_partlog_epoch_cb, pl,
                              &end);
        if (err != SL_OK && err != SL_ERR__CORRUPT) {
            return err;
        }
    }
    pl->epochs_dirty = true;
    return SL_OK;
}

static sl_err_t
sl_partlog_open_dir(sl_partlog_t *pl, const sl_partlog_opts_t *o,
                    sl_partlog_stats_t *st)
{
    sl_partlog_list_t l = {pl, NULL, 0, 0, SL_OK};
    int64_t rp = 0, ls = 0;
    uint8_t id[16];
    sl_segment_t *seg;
    size_t i;
    sl_err_t err;

    if (o->create && (err = sl_file_mkdir(pl->dir)) != SL_OK) {
        return err;
    }
    /* finish or undo a segment swap the cleaner left behind */
    if ((err = sl_cleaner_recover_dir(pl->dir)) != SL_OK) {
        return err;
    }
    err = sl_file_list(pl->dir, sl_partlog_list_cb, &l);
    if (err == SL_OK) {
        err = l.err;
    }
    if (err != SL_OK) {
        free(l.bases);
        return err;
    }
    if (sl_ckpt_read_meta(pl->dir, id) == SL_OK) {
        memcpy(pl->topic_id, id, 16);
        pl->has_topic_id = true;
    } else if (o->topic_id != NULL) {
        memcpy(pl->topic_id, o->topic_id, 16);
        pl->has_topic_id = true;
        if ((err = sl_ckpt_write_meta(pl->dir, o->topic_id)) != SL_OK) {
            free(l.bases);
            return err;
        }
    }
    if (sl_ckpt_read_offset(pl->dir, SL_CKPT_RECOVERY, pl->topic, pl->partition,
                            &rp) != SL_OK) {
        rp = 0;
    }
    if (sl_ckpt_read_offset(pl->dir, SL_CKPT_LOG_START, pl->topic,
                            pl->partition, &ls) != SL_OK) {
        ls = 0;
    }
    err = sl_partlog_load_epochs(pl);
    if (err == SL_OK && l.n > 0) {
        err = sl_partlog_load(pl, &l, o, rp, st);
    }
    free(l.bases);
    if (err != SL_OK) {
        return err;
    }
    if (pl->nsegs == 0) {
        /* everything was dropped or nothing was there */
        err = sl_segment_create(pl->dir, ls, &pl->cfg, &seg);
        if (err == SL_OK && (err = sl_partlog_push(pl, seg)) != SL_OK) {
            sl_segment_unref(seg);
        }
        if (err != SL_OK) {
            return err;
        }
        pl->dir_dirty = true;
    }
    for (i = 0; i + 1 < pl->nsegs; i++) {
        sl_segment_compact(pl->segs[i].seg);
    }
    seg = sl_partlog_active(pl);
    pl->leo = sl_segment_next_offset(seg);
    if (sl_segment_size(seg) == 0 && pl->leo < sl_segment_base(seg)) {
        pl->leo = sl_segment_base(seg);
    }
    pl->log_start = sl_segment_base(pl->segs[0].seg);
    if (ls > pl->log_start) {
        pl->log_start = ls < pl->leo ? ls : pl->leo;
    }
    pl->active_basis_ms =
        sl_segment_first_ts(seg) >= 0 ? sl_segment_first_ts(seg) : o->now_ms;
    if (pl->epochs_rebuild && pl->leo > pl->log_start &&
        (err = sl_partlog_rebuild_epochs(pl)) != SL_OK) {
        return err;
    }
    if (sl_partlog_epoch_trim_end(pl, pl->leo)) {
        pl->epochs_dirty = true;
    }
    if (pl->epochs_dirty && (err = sl_partlog_save_epochs(pl)) != SL_OK) {
        return err;
    }
    pl->epochs_dirty = false;
    atomic_store(&pl->rp, pl->leo);
    pl->hwm = pl->leo;
    if ((err = sl_partlog_txnidx_open(pl)) != SL_OK ||
        (err = sl_partlog_pstate_rebuild(pl)) != SL_OK) {
        return err;
    }
    if (pl->dir_dirty && (err = sl_file_sync_dir(pl->dir)) != SL_OK) {
        return err;
    }
    pl->dir_dirty = false;
    return st->recovered || ls != pl->log_start ? sl_partlog_checkpoint(pl)
                                                : SL_OK;
}

sl_err_t
sl_partlog_open(const sl_partlog_opts_t *o, sl_partlog_t **out,
                sl_partlog_stats_t *stats)
{
    sl_partlog_t *pl;
    sl_partlog_stats_t st;
    sl_err_t err;

    memset(&st, 0, sizeof(st));
    if (o->dir == NULL || o->topic == NULL || o->cfg == NULL ||
        strlen(o->dir) > SL_PL_PATH - 64) {
        return SL_ERR__INVAL;
    }
    if ((pl = calloc(1, sizeof(*pl))) == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&pl->lock, NULL);
    pthread_mutex_init(&pl->flush_lock, NULL);
    pl->cfg = *o->cfg;
    pl->partition = o->partition;
    pl->auto_hwm = true;
    pl->first_unstable = -1;
    pl->last_flush_ms = o->now_ms;
    pl->dir = strdup(o->dir);
    pl->topic = strdup(o->topic);
    if (pl->dir == NULL || pl->topic == NULL) {
        sl_partlog_abandon(pl);
        return SL_ERR__NOMEM;
    }
    err = sl_partlog_open_dir(pl, o, &st);
    if (err != SL_OK) {
        sl_log_error("log.partlog", "open failed dir=%s err=%s", o->dir,
                     sl_err_name(err));
        sl_partlog_abandon(pl);
        return err;
    }
    if (st.recovered) {
        sl_log_info("log.partlog",
                    "recovered topic=%s partition=%d end=%lld truncated=%lld "
                    "dropped=%d",
                    pl->topic, (int)pl->partition, (long long)pl->leo,
                    (long long)st.truncated_bytes, (int)st.segments_dropped);
    }
    if (stats != NULL) {
        *stats = st;
    }
    *out = pl;
    return SL_OK;
}

void
sl_partlog_abandon(sl_partlog_t *pl)
{
    size_t i;

    if (pl == NULL) {
        return;
    }
    for (i = 0; i < pl->nsegs; i++) {
        sl_segment_unref(pl->segs[i].seg);
    }
    free(pl->segs);
    free(pl->epochs);
    sl_pstate_destroy(pl->pstate);
    sl_txnidx_close(pl->txnidx);
    free(pl->dir);
    free(pl->topic);
    pthread_mutex_destroy(&pl->lock);
    pthread_mutex_destroy(&pl->flush_lock);
    free(pl);
}

sl_err_t
sl_partlog_close(sl_partlog_t *pl, int64_t now_ms)
{
    int64_t durable;
    sl_err_t err = SL_OK;

    if (!sl_partlog_offline(pl)) {
        err = sl_partlog_flush(pl, now_ms, &durable);
        if (err == SL_OK) {
            err = sl_partlog_checkpoint(pl);
        }
        pthread_mutex_lock(&pl->lock);
        if (err == SL_OK && pl->pstate_snap_off != pl->leo) {
            (void)sl_partlog_pstate_snapshot(pl);
        }
        pthread_mutex_unlock(&pl->lock);
    }
    sl_partlog_abandon(pl);
    return err;
}

sl_err_t
sl_partlog_delete(sl_partlog_t *pl)
{
    char to[SL_PL_PATH + 64], parent[SL_PL_PATH], *slash;
    uint8_t r[16];
    struct timespec ts;
    sl_err_t err;
    int i, n;

    clock_gettime(CLOCK_REALTIME, &ts);
    for (i = 0; i < 16; i++) {
        /* unique enough: time, address and a counter, not security */
        r[i] = (uint8_t)(((uint64_t)ts.tv_nsec >> (i % 8 * 4)) ^
                         ((uintptr_t)pl >> (i % 8)) ^ (unsigned)i * 37u);
    }
    n = snprintf(to, sizeof(to), "%s.", pl->dir);
    for (i = 0; i < 16; i++) {
        n += snprintf(to + n, sizeof(to) - (size_t)n, "%02x", r[i]);
    }
    snprintf(to + n, sizeof(to) - (size_t)n, "-delete");
    err = sl_file_rename(pl->dir, to);
    if (err == SL_OK) {
        snprintf(parent, sizeof(parent), "%s", pl->dir);
        if ((slash = strrchr(parent, '/')) != NULL) {
            *slash = '\0';
            (void)sl_file_sync_dir(slash == parent ? "/" : parent);
        }
        err = sl_file_remove_dir(to);
    }
    sl_log_info("log.partlog",
                "deleted partition topic=%s partition=%d "
                "err=%s",
                pl->topic, (int)pl->partition, sl_err_name(err));
    sl_partlog_abandon(pl);
    return err;
}

/* ---- append ------------------------------------------------------------- */

/* Roll to a new active segment at the end offset. @locks lock */
static sl_err_t
sl_partlog_roll_locked(sl_partlog_t *pl, int64_t now_ms)
{
    sl_segment_t *seg, *old = sl_partlog_active(pl);
    sl_err_t err;

    if (sl_segment_size(old) == 0) {
        return SL_OK;
    }
    /* the producer state up to the new base: a restart replays from here */
    (void)sl_partlog_pstate_snapshot(pl);
    err = sl_segment_create(pl->dir, pl->leo, &pl->cfg, &seg);
    if (err != SL_OK) {
        return err;
    }
    if ((err = sl_partlog_push(pl, seg)) != SL_OK) {
        sl_segment_unref(seg);
        (void)sl_segment_unlink(seg);
        return err;
    }
    sl_segment_seal(old);
    sl_segment_compact(old);
    pl->dir_dirty = true;
    pl->active_basis_ms = now_ms;
    sl_log_debug("log.partlog", "rolled topic=%s partition=%d base=%lld",
                 pl->topic, (int)pl->partition, (long long)pl->leo);
    return SL_OK;
}

static bool
sl_partlog_should_roll(sl_partlog_t *pl, size_t len, int64_t span,
                       int64_t now_ms)
{
    sl_segment_t *seg = sl_partlog_active(pl);
    int64_t size = sl_segment_size(seg);

    if (size == 0) {
        return false;
    }
    return size + (int64_t)len > pl->cfg.segment_bytes ||
           now_ms - pl->active_basis_ms >= pl->cfg.segment_ms ||
           sl_segment_index_full(seg) ||
           pl->leo + span - sl_segment_base(seg) > INT32_MAX ||
           size + (int64_t)len > INT32_MAX;
}

/* Validate the batches and count them; *span = offsets they take. */
static sl_err_t
sl_partlog_check(sl_partlog_t *pl, const uint8_t *data, size_t len, int flags,
                 int64_t *span, sl_append_info_t *info)
{
    sl_batch_seq_t it;
    sl_batch_t b;
    size_t partial;
    sl_err_t err;

    sl_batch_seq_init(&it, data, len,
                      (flags & SL_PARTLOG_F_CRC_CHECKED) ? SL_BATCH_F_NOCRC
                                                         : 0);
    *span = 0;
    while ((err = sl_batch_seq_next(&it, &b, &partial)) == SL_OK) {
        if (b.size > (size_t)pl->cfg.max_message_bytes) {
            return SL_ERR_MESSAGE_TOO_LARGE;
        }
        *span += (int64_t)b.last_offset_delta + 1;
        info->batches++;
        info->records += b.records_count;
    }
    if (err == SL_ERR__AGAIN) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    if (err != SL_ERR__NOENT) {
        return err;
    }
    return info->batches == 0 ? SL_ERR__INVAL : SL_OK;
}

sl_err_t
sl_partlog_append(sl_partlog_t *pl, uint8_t *data, size_t len,
                  int32_t leader_epoch, int flags, int64_t now_ms,
                  sl_append_info_t *info)
{
    sl_batch_seq_t it;
    sl_batch_t b;
    sl_pstate_undo_t undo;
    sl_pl_txns_t txns;
    int64_t span, next;
    bool broken, was_empty;
    sl_segment_t *seg;
    sl_err_t err;

    memset(info, 0, sizeof(*info));
    info->log_append_time = -1;
    info->max_timestamp = -1;
    info->max_ts_offset = -1;
    pthread_mutex_lock(&pl->lock);
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    err = sl_partlog_check(pl, data, len, flags, &span, info);
    if (err != SL_OK) {
        pthread_mutex_unlock(&pl->lock);
        return err;
    }
    if (pl->leo > INT64_MAX - span) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__INVAL;
    }
    if (sl_partlog_should_roll(pl, len, span, now_ms) &&
        (err = sl_partlog_roll_locked(pl, now_ms)) != SL_OK) {
        pthread_mutex_unlock(&pl->lock);
        return err == SL_ERR__NOMEM ? err : SL_ERR__IO;
    }
    /* idempotence: a retried batch is answered, a bad one refused */
    err = sl_partlog_pstate_check(pl, data, len, &undo, info, &txns);
    if (err != SL_OK || info->duplicate) {
        pthread_mutex_unlock(&pl->lock);
        return err;
    }
    /* assign offsets in place */
    next = pl->leo;
    sl_batch_seq_init(&it, data, len, SL_BATCH_F_NOCRC);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        uint8_t *p = (uint8_t *)(uintptr_t)b.data;

        sl_batch_set_base_offset(p, next);
        if (leader_epoch >= 0) {
            sl_batch_set_leader_epoch(p, leader_epoch);
        }
        if (pl->cfg.log_append_time) {
            sl_batch_set_log_append_time(p, b.size, now_ms);
            b.max_timestamp = now_ms;
            info->log_append_time = now_ms;
        }
        if (b.max_timestamp > info->max_timestamp) {
            info->max_timestamp = b.max_timestamp;
            info->max_ts_offset = next + b.last_offset_delta;
        }
        next += (int64_t)b.last_offset_delta + 1;
    }
    seg = sl_partlog_active(pl);
    was_empty = sl_segment_size(seg) == 0;
    err = sl_segment_append(seg, data, len, &broken);
    if (err != SL_OK) {
        sl_pstate_rollback(pl->pstate, &undo);
        sl_partlog_txns_done(&txns);
        if (broken) {
            atomic_store(&pl->offline, true);
            sl_log_error("log.partlog",
                         "append rollback failed, offline "
                         "topic=%s partition=%d",
                         pl->topic, (int)pl->partition);
        }
        pthread_mutex_unlock(&pl->lock);
        return err == SL_ERR__NOMEM ? err : SL_ERR__IO;
    }
    sl_pstate_commit(pl->pstate, &undo);
    sl_partlog_txns_apply(pl, &txns);
    sl_partlog_txns_done(&txns);
    info->base_offset = pl->leo;
    info->last_offset = next - 1;
    if (was_empty) {
        pl->active_basis_ms = now_ms;
    }
    pl->leo = next;
    if (pl->auto_hwm) {
        pl->hwm = next;
    }
    pl->appended_msgs += info->records;
    if (leader_epoch >= 0 &&
        sl_partlog_epoch_assign(pl, leader_epoch, info->base_offset)) {
        (void)sl_partlog_save_epochs(pl);
    }
    pthread_mutex_unlock(&pl->lock);
    return SL_OK;
}

sl_err_t
sl_partlog_roll(sl_partlog_t *pl, int64_t now_ms)
{
    sl_err_t err;

    pthread_mutex_lock(&pl->lock);
    err = atomic_load(&pl->offline) ? SL_ERR__IO
                                    : sl_partlog_roll_locked(pl, now_ms);
    pthread_mutex_unlock(&pl->lock);
    return err;
}

/* ---- read --------------------------------------------------------------- */

void
sl_log_slice_release(sl_log_slice_t *s)
{
    sl_segment_unref(s->seg);
    s->seg = NULL;
    s->len = 0;
}

sl_err_t
sl_partlog_read(sl_partlog_t *pl, int64_t offset, size_t max_bytes,
                bool min_one, int64_t upto, sl_log_slice_t *out)
{
    sl_segment_t *seg;
    sl_seg_batch_t b, ub;
    int64_t limit, end, sbase;
    bool bounded;
    size_t i;
    sl_err_t err;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    pthread_mutex_lock(&pl->lock);
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    if (offset < pl->log_start || offset > pl->leo) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (upto < 0 || upto > pl->hwm) {
        upto = pl->hwm;
    }
    i = sl_partlog_find_seg(pl, offset);
    for (;;) {
        if (offset >= upto || i >= pl->nsegs) {
            pthread_mutex_unlock(&pl->lock);
            return SL_OK;
        }
        seg = pl->segs[i].seg;
        sl_segment_ref(seg);
        limit = sl_segment_size(seg);
        /* only a bound below this segment's end needs a lookup */
        bounded = i + 1 == pl->nsegs
                      ? upto < pl->leo
                      : upto < sl_segment_base(pl->segs[i + 1].seg);
        pthread_mutex_unlock(&pl->lock);

        err = sl_segment_find(seg, offset, limit, &b);
        if (err != SL_ERR__NOENT) {
            break;
        }
        /* nothing at or after offset in this segment: the next one. Its
         * base is read before the unref: the cleaner or retention may have
         * taken it out of the list meanwhile, and ours was the last ref */
        sbase = sl_segment_base(seg);
        sl_segment_unref(seg);
        pthread_mutex_lock(&pl->lock);
        i = sl_partlog_find_seg(pl, offset);
        while (i < pl->nsegs && sl_segment_base(pl->segs[i].seg) <= sbase) {
            i++;
        }
    }
    if (err != SL_OK) {
        sl_segment_unref(seg);
        return err;
    }
    if (b.base_offset >= upto) {
        sl_segment_unref(seg);
        return SL_OK;
    }
    end = limit;
    if (bounded && sl_segment_find(seg, upto, limit, &ub) == SL_OK) {
        /* stop before the batch holding upto (or after b if that is b) */
        end = ub.pos > b.pos ? ub.pos : b.pos + b.size;
    }
    out->len =
        (size_t)(end - b.pos) < max_bytes ? (size_t)(end - b.pos) : max_bytes;
    if (min_one && out->len < (size_t)b.size) {
        out->len = (size_t)b.size;
    }
    out->seg = seg;
    out->fd = sl_segment_fd(seg);
    out->pos = b.pos;
    return SL_OK;
}

sl_err_t
sl_partlog_read_copy(sl_partlog_t *pl, int64_t offset, bool min_one,
                     int64_t upto, uint8_t *buf, size_t cap, size_t *len)
{
    sl_log_slice_t s;
    size_t got;
    sl_err_t err;

    *len = 0;
    err = sl_partlog_read(pl, offset, cap, min_one, upto, &s);
    if (err != SL_OK || s.seg == NULL) {
        return err;
    }
    if (s.len > cap) {
        sl_log_slice_release(&s);
        return SL_ERR__TOOBIG;
    }
    err = sl_file_read_at(s.fd, buf, s.len, s.pos, &got);
    if (err == SL_OK && got != s.len) {
        err = SL_ERR__IO;
    }
    if (err == SL_OK) {
        *len = got;
    }
    sl_log_slice_release(&s);
    return err;
}
