/*
 * log/partlog_admin.c: the partition log's slower paths: flush and
 * checkpoints, retention, DeleteRecords, truncation, ListOffsets by
 * timestamp, OffsetForLeaderEpoch, and the accessors.
 *
 * Owns: nothing of its own; works on struct sl_partlog_s (partlog_int.h)
 * under the rules of partlog.c's file head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/ckpt.h"
#include "log/file.h"
#include "log/partlog.h"
#include "log/partlog_int.h"
#include "proto/batch.h"

/* Batches larger than this are answered at batch level by ListOffsets. */
#define SL_PL_MAX_SCAN_BATCH ((int64_t)64 << 20)

/* ---- flush and checkpoints ---------------------------------------------- */

typedef struct sl_partlog_sync_s {
    sl_segment_t *seg;
    bool indexes;
} sl_partlog_sync_t;

sl_err_t
sl_partlog_flush(sl_partlog_t *pl, int64_t now_ms, int64_t *durable)
{
    sl_partlog_sync_t *v;
    size_t n = 0, i, j;
    int64_t target, rp, msgs;
    uint64_t gen;
    bool dir;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&pl->flush_lock);
    pthread_mutex_lock(&pl->lock);
    rp = atomic_load(&pl->rp);
    *durable = rp;
    if (atomic_load(&pl->offline)) {
        err = SL_ERR__IO;
        goto out_locked;
    }
    if ((v = calloc(pl->nsegs, sizeof(*v))) == NULL) {
        err = SL_ERR__NOMEM;
        goto out_locked;
    }
    target = pl->leo;
    gen = pl->trunc_gen;
    msgs = pl->appended_msgs;
    dir = pl->dir_dirty;
    pl->dir_dirty = false;
    for (i = 0; i < pl->nsegs; i++) {
        sl_segment_t *seg = pl->segs[i].seg;
        bool idx = i + 1 < pl->nsegs && !pl->segs[i].index_synced;

        if (sl_segment_next_offset(seg) > rp || idx) {
            sl_segment_ref(seg);
            v[n].seg = seg;
            v[n].indexes = idx;
            n++;
        }
    }
    pthread_mutex_unlock(&pl->lock);

    for (i = 0; err == SL_OK && i < n; i++) {
        err = sl_segment_sync(v[i].seg, v[i].indexes);
    }
    if (err == SL_OK && dir) {
        err = sl_file_sync_dir(pl->dir);
    }

    pthread_mutex_lock(&pl->lock);
    if (err != SL_OK) {
        atomic_store(&pl->offline, true);
        pl->dir_dirty = pl->dir_dirty || dir;
        sl_log_error("log.partlog",
                     "flush failed, log offline topic=%s "
                     "partition=%d err=%s",
                     pl->topic, (int)pl->partition, sl_err_name(err));
        err = SL_ERR__IO;
    } else {
        if (gen == pl->trunc_gen && target > rp) {
            atomic_store(&pl->rp, target);
        }
        pl->flushed_msgs = msgs;
        pl->last_flush_ms = now_ms;
        for (i = 0; i < n; i++) {
            for (j = 0; v[i].indexes && j < pl->nsegs; j++) {
                if (pl->segs[j].seg == v[i].seg) {
                    pl->segs[j].index_synced = true;
                }
            }
        }
    }
    *durable = atomic_load(&pl->rp);
    pthread_mutex_unlock(&pl->lock);
    pthread_mutex_unlock(&pl->flush_lock);
    for (i = 0; i < n; i++) {
        sl_segment_unref(v[i].seg);
    }
    free(v);
    return err;

out_locked:
    pthread_mutex_unlock(&pl->lock);
    pthread_mutex_unlock(&pl->flush_lock);
    return err;
}

bool
sl_partlog_flush_due(sl_partlog_t *pl, int64_t now_ms)
{
    int64_t unflushed;
    bool due;

    pthread_mutex_lock(&pl->lock);
    unflushed = pl->appended_msgs - pl->flushed_msgs;
    due = !atomic_load(&pl->offline) && unflushed > 0 &&
          (unflushed >= pl->cfg.flush_messages ||
           now_ms - pl->last_flush_ms >= pl->cfg.flush_ms);
    pthread_mutex_unlock(&pl->lock);
    return due;
}

sl_err_t
sl_partlog_checkpoint(sl_partlog_t *pl)
{
    sl_err_t err;

    pthread_mutex_lock(&pl->flush_lock);
    err = sl_ckpt_write_offset(pl->dir, SL_CKPT_RECOVERY, pl->topic,
                               pl->partition, atomic_load(&pl->rp));
    pthread_mutex_unlock(&pl->flush_lock);
    if (err == SL_OK) {
        pthread_mutex_lock(&pl->lock);
        err = sl_ckpt_write_offset(pl->dir, SL_CKPT_LOG_START, pl->topic,
                                   pl->partition, pl->log_start);
        /* producer state too, when there is any and it moved: a restart
         * after a crash then replays only what came since */
        if (err == SL_OK && pl->pstate != NULL &&
            sl_pstate_count(pl->pstate) > 0 && pl->pstate_snap_off != pl->leo) {
            (void)sl_partlog_pstate_snapshot(pl);
        }
        pthread_mutex_unlock(&pl->lock);
    }
    return err;
}

/* ---- retention, DeleteRecords, truncation ------------------------------- */

/* After log_start moved: persist it, drop whole segments below it, trim the
 * epoch cache. @locks lock */
static sl_err_t
sl_partlog_apply_start(sl_partlog_t *pl, int *deleted)
{
    sl_err_t err = SL_OK, e2;

    while (pl->nsegs > 1 && sl_segment_base(pl->segs[1].seg) <= pl->log_start) {
        e2 = sl_partlog_drop(pl, 0);
        if (err == SL_OK) {
            err = e2;
        }
        if (deleted != NULL) {
            (*deleted)++;
        }
    }
    if (sl_partlog_epoch_trim_start(pl, pl->log_start)) {
        (void)sl_partlog_save_epochs(pl);
    }
    return err;
}

sl_err_t
sl_partlog_delete_records(sl_partlog_t *pl, int64_t before,
                          int64_t *low_watermark)
{
    int64_t old;
    sl_err_t err;

    pthread_mutex_lock(&pl->lock);
    *low_watermark = pl->log_start;
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    if (before == -1) {
        before = pl->hwm;
    }
    if (before < 0 || before > pl->hwm) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR_OFFSET_OUT_OF_RANGE;
    }
    if (before <= pl->log_start) {
        pthread_mutex_unlock(&pl->lock);
        return SL_OK;
    }
    old = pl->log_start;
    pl->log_start = before;
    /* durable before answering: a restart must not bring records back */
    err = sl_ckpt_write_offset(pl->dir, SL_CKPT_LOG_START, pl->topic,
                               pl->partition, before);
    if (err != SL_OK) {
        pl->log_start = old;
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    err = sl_partlog_apply_start(pl, NULL);
    *low_watermark = pl->log_start;
    pthread_mutex_unlock(&pl->lock);
    return err == SL_OK ? SL_OK : SL_ERR__IO;
}

sl_err_t
sl_partlog_retain(sl_partlog_t *pl, int64_t now_ms, int *deleted)
{
    sl_segment_t *seg;
    int64_t total = 0, ts, diff, old;
    size_t i;
    sl_err_t err = SL_OK;

    *deleted = 0;
    pthread_mutex_lock(&pl->lock);
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    old = pl->log_start;
    while (pl->cfg.retention_ms >= 0 && pl->nsegs > 1) {
        seg = pl->segs[0].seg;
        ts = sl_segment_max_ts(seg);
        if (ts < 0) {
            ts = sl_segment_mtime_ms(seg);
        }
        if (now_ms - ts <= pl->cfg.retention_ms) {
            break;
        }
        pl->log_start = sl_segment_base(pl->segs[1].seg);
        if ((err = sl_partlog_drop(pl, 0)) != SL_OK) {
            break;
        }
        (*deleted)++;
    }
    if (err == SL_OK && pl->cfg.retention_bytes >= 0) {
        for (i = 0; i < pl->nsegs; i++) {
            total += sl_segment_size(pl->segs[i].seg);
        }
        diff = total - pl->cfg.retention_bytes;
        while (pl->nsegs > 1 && diff - sl_segment_size(pl->segs[0].seg) >= 0) {
            diff -= sl_segment_size(pl->segs[0].seg);
            pl->log_start = sl_segment_base(pl->segs[1].seg);
            if ((err = sl_partlog_drop(pl, 0)) != SL_OK) {
                break;
            }
            (*deleted)++;
        }
    }
    if (pl->log_start < old) {
        pl->log_start = old;
    }
    if (err == SL_OK) {
        err = sl_partlog_apply_start(pl, deleted);
    }
    if (pl->log_start != old) {
        sl_err_t e2 =
            sl_ckpt_write_offset(pl->dir, SL_CKPT_LOG_START, pl->topic,
                                 pl->partition, pl->log_start);
        if (err == SL_OK) {
            err = e2;
        }
    }
    pthread_mutex_unlock(&pl->lock);
    return err == SL_OK ? SL_OK : SL_ERR__IO;
}

sl_err_t
sl_partlog_truncate_to(sl_partlog_t *pl, int64_t offset)
{
    sl_segment_t *seg;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&pl->lock);
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__IO;
    }
    if (offset >= pl->leo) {
        pthread_mutex_unlock(&pl->lock);
        return SL_OK;
    }
    if (offset < 0) {
        offset = 0;
    }
    pl->trunc_gen++;
    if (offset <= sl_segment_base(pl->segs[0].seg)) {
        /* nothing stays: start afresh at offset (drop first: the new
         * segment may have the same name as the old first one) */
        while (pl->nsegs > 0 && err == SL_OK) {
            err = sl_partlog_drop(pl, pl->nsegs - 1);
        }
        if (err == SL_OK) {
            err = sl_segment_create(pl->dir, offset, &pl->cfg, &seg);
        }
        if (err != SL_OK) {
            goto out; /* offline below: nothing touches the list */
        }
        pl->segs[0].seg = seg;
        pl->segs[0].index_synced = false;
        pl->nsegs = 1;
        pl->log_start = offset;
        pl->leo = offset;
    } else {
        while (sl_segment_base(sl_partlog_active(pl)) >= offset &&
               err == SL_OK) {
            err = sl_partlog_drop(pl, pl->nsegs - 1);
        }
        seg = sl_partlog_active(pl);
        if (err == SL_OK) {
            err = sl_segment_truncate_to(seg, offset);
        }
        pl->leo = sl_segment_next_offset(seg);
        pl->segs[pl->nsegs - 1].index_synced = false;
    }
    if (pl->hwm > pl->leo) {
        pl->hwm = pl->leo;
    }
    if (atomic_load(&pl->rp) > pl->leo) {
        atomic_store(&pl->rp, pl->leo);
    }
    if (pl->log_start > pl->leo) {
        pl->log_start = pl->leo;
    }
    if (sl_partlog_epoch_trim_end(pl, pl->leo)) {
        (void)sl_partlog_save_epochs(pl);
    }
    if (err == SL_OK) {
        /* producer state of the shorter log: snapshot below + replay */
        err = sl_partlog_pstate_rebuild(pl);
    }
out:
    if (err != SL_OK) {
        atomic_store(&pl->offline, true);
        err = SL_ERR__IO;
    }
    pthread_mutex_unlock(&pl->lock);
    return err;
}

/* ---- ListOffsets -------------------------------------------------------- */

/* In batch <b> of <seg>, the first record with timestamp >= ts and offset
 * >= min: *off and *fts. Falls back to the batch level when the batch cannot
 * be read at record level. @returns SL_OK or SL_ERR__NOENT */
static sl_err_t
sl_partlog_record_ts(sl_segment_t *seg, const sl_seg_batch_t *sb, int64_t ts,
                     int64_t min, int64_t *off, int64_t *fts)
{
    uint8_t *buf = NULL, *owned = NULL;
    const uint8_t *recs;
    size_t got, rlen;
    sl_batch_t b;
    sl_record_iter_t it;
    sl_record_t r;
    sl_err_t err = SL_ERR__NOENT;

    if (sb->size <= SL_PL_MAX_SCAN_BATCH &&
        (buf = malloc((size_t)sb->size)) != NULL &&
        sl_file_read_at(sl_segment_fd(seg), buf, (size_t)sb->size, sb->pos,
                        &got) == SL_OK &&
        got == (size_t)sb->size &&
        sl_batch_parse(buf, got, SL_BATCH_F_NOCRC, &b) == SL_OK &&
        sl_batch_records(&b, (size_t)SL_PL_MAX_SCAN_BATCH, &recs, &rlen,
                         &owned) == SL_OK) {
        bool lat = (b.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME) != 0;

        sl_record_iter_init(&it, recs, rlen, b.records_count);
        while (sl_record_iter_next(&it, &r) == SL_OK) {
            int64_t rts =
                lat ? b.max_timestamp : b.base_timestamp + r.timestamp_delta;
            int64_t ro = b.base_offset + r.offset_delta;

            if (rts >= ts && ro >= min) {
                *off = ro;
                *fts = rts;
                err = SL_OK;
                break;
            }
        }
        free(owned);
        free(buf);
        return err;
    }
    free(buf);
    if (sb->last_offset < min) {
        return SL_ERR__NOENT;
    }
    *off = sb->base_offset > min ? sb->base_offset : min;
    *fts = sb->max_ts;
    return SL_OK;
}

/* First record with timestamp >= ts at or after offset min. @locks lock */
static sl_err_t
sl_partlog_find_ts(sl_partlog_t *pl, int64_t ts, int64_t *offset,
                   int64_t *found_ts)
{
    sl_seg_batch_t b;
    size_t i;
    int64_t pos, limit;
    sl_err_t err;

    for (i = sl_partlog_find_seg(pl, pl->log_start); i < pl->nsegs; i++) {
        sl_segment_t *seg = pl->segs[i].seg;

        if (sl_segment_max_ts(seg) >= 0 && sl_segment_max_ts(seg) < ts) {
            continue;
        }
        limit = sl_segment_size(seg);
        err = sl_segment_find_time(seg, ts, limit, &b);
        while (err == SL_OK) {
            if (sl_partlog_record_ts(seg, &b, ts, pl->log_start, offset,
                                     found_ts) == SL_OK) {
                return SL_OK;
            }
            pos = b.pos + b.size;
            do {
                err = sl_segment_read_batch(seg, pos, limit, &b);
                pos += err == SL_OK ? b.size : 0;
            } while (err == SL_OK && b.max_ts < ts);
        }
        if (err != SL_ERR__NOENT) {
            return err;
        }
    }
    return SL_OK;
}

sl_err_t
sl_partlog_offset_for_time(sl_partlog_t *pl, int64_t ts, int64_t *offset,
                           int64_t *found_ts)
{
    sl_segment_t *best = NULL;
    sl_seg_batch_t b;
    size_t i;
    sl_err_t err = SL_OK;

    *offset = -1;
    *found_ts = -1;
    pthread_mutex_lock(&pl->lock);
    if (atomic_load(&pl->offline)) {
        err = SL_ERR__IO;
    } else if (ts == SL_LOG_TS_EARLIEST) {
        *offset = pl->log_start;
    } else if (ts == SL_LOG_TS_LATEST) {
        *offset = pl->hwm;
    } else if (ts == SL_LOG_TS_MAX) {
        for (i = sl_partlog_find_seg(pl, pl->log_start); i < pl->nsegs; i++) {
            sl_segment_t *seg = pl->segs[i].seg;

            if (sl_segment_max_ts(seg) >= 0 &&
                (best == NULL ||
                 sl_segment_max_ts(seg) > sl_segment_max_ts(best))) {
                best = seg;
            }
        }
        if (best != NULL) {
            err = sl_segment_find(best, sl_segment_max_ts_offset(best),
                                  sl_segment_size(best), &b);
            if (err == SL_OK && sl_partlog_record_ts(
                                    best, &b, sl_segment_max_ts(best),
                                    pl->log_start, offset, found_ts) != SL_OK) {
                *offset = sl_segment_max_ts_offset(best);
                *found_ts = sl_segment_max_ts(best);
            }
            if (err == SL_ERR__NOENT) {
                err = SL_OK;
            }
        }
    } else if (ts >= 0) {
        err = sl_partlog_find_ts(pl, ts, offset, found_ts);
    } else {
        err = SL_ERR__INVAL;
    }
    pthread_mutex_unlock(&pl->lock);
    if (*offset >= 0 && (ts >= 0 || ts == SL_LOG_TS_MAX) &&
        *offset >= sl_partlog_hwm(pl)) {
        *offset = -1; /* not readable yet (or a lying trusted index) */
        *found_ts = -1;
    }
    return err;
}

/* ---- leader epochs ------------------------------------------------------ */

void
sl_partlog_end_offset_for_epoch(sl_partlog_t *pl, int32_t epoch,
                                int32_t *out_epoch, int64_t *end_offset)
{
    size_t i, n;

    *out_epoch = -1;
    *end_offset = -1;
    pthread_mutex_lock(&pl->lock);
    n = pl->nepochs;
    if (epoch < 0 || n == 0) {
        /* undefined */
    } else if (pl->epochs[n - 1].epoch == epoch) {
        *out_epoch = epoch;
        *end_offset = pl->leo;
    } else if (epoch < pl->epochs[n - 1].epoch) {
        /* the first entry with a higher epoch ends the requested one */
        for (i = 0; i < n && pl->epochs[i].epoch <= epoch; i++) {
        }
        *out_epoch = i > 0 ? pl->epochs[i - 1].epoch : epoch;
        *end_offset = pl->epochs[i].start_offset;
    }
    pthread_mutex_unlock(&pl->lock);
}

int32_t
sl_partlog_latest_epoch(sl_partlog_t *pl)
{
    int32_t e;

    pthread_mutex_lock(&pl->lock);
    e = pl->nepochs > 0 ? pl->epochs[pl->nepochs - 1].epoch : -1;
    pthread_mutex_unlock(&pl->lock);
    return e;
}

/* ---- accessors ---------------------------------------------------------- */

#define SL_PL_GET(type, name, expr)                                            \
    type name(sl_partlog_t *pl)                                                \
    {                                                                          \
        type v;                                                                \
        pthread_mutex_lock(&pl->lock);                                         \
        v = (expr);                                                            \
        pthread_mutex_unlock(&pl->lock);                                       \
        return v;                                                              \
    }

SL_PL_GET(int64_t, sl_partlog_log_start, pl->log_start)
SL_PL_GET(int64_t, sl_partlog_end_offset, pl->leo)
SL_PL_GET(int64_t, sl_partlog_hwm, pl->hwm)
SL_PL_GET(size_t, sl_partlog_segment_count, pl->nsegs)

int64_t
sl_partlog_recovery_point(sl_partlog_t *pl)
{
    return atomic_load(&pl->rp);
}

void
sl_partlog_set_hwm(sl_partlog_t *pl, int64_t hwm)
{
    pthread_mutex_lock(&pl->lock);
    pl->auto_hwm = false;
    if (hwm > pl->leo) {
        hwm = pl->leo;
    }
    if (hwm < pl->log_start) {
        hwm = pl->log_start;
    }
    pl->hwm = hwm;
    pthread_mutex_unlock(&pl->lock);
}

int64_t
sl_partlog_size_bytes(sl_partlog_t *pl)
{
    int64_t total = 0;
    size_t i;

    pthread_mutex_lock(&pl->lock);
    for (i = 0; i < pl->nsegs; i++) {
        total += sl_segment_size(pl->segs[i].seg);
    }
    pthread_mutex_unlock(&pl->lock);
    return total;
}

size_t
sl_partlog_segment_bases(sl_partlog_t *pl, int64_t *bases, size_t cap)
{
    size_t i, n;

    pthread_mutex_lock(&pl->lock);
    n = pl->nsegs;
    for (i = 0; i < n && i < cap; i++) {
        bases[i] = sl_segment_base(pl->segs[i].seg);
    }
    pthread_mutex_unlock(&pl->lock);
    return n;
}

bool
sl_partlog_offline(sl_partlog_t *pl)
{
    return atomic_load(&pl->offline);
}

void
sl_partlog_set_offline(sl_partlog_t *pl)
{
    atomic_store(&pl->offline, true);
}

void
sl_partlog_set_config(sl_partlog_t *pl, const sl_log_config_t *cfg)
{
    size_t i;

    pthread_mutex_lock(&pl->lock);
    pl->cfg = *cfg;
    for (i = 0; i < pl->nsegs; i++) {
        sl_segment_set_config(pl->segs[i].seg, cfg);
    }
    pthread_mutex_unlock(&pl->lock);
}

void
sl_partlog_get_config(sl_partlog_t *pl, sl_log_config_t *cfg)
{
    pthread_mutex_lock(&pl->lock);
    *cfg = pl->cfg;
    pthread_mutex_unlock(&pl->lock);
}

const char *
sl_partlog_dir(const sl_partlog_t *pl)
{
    return pl->dir;
}

const char *
sl_partlog_topic(const sl_partlog_t *pl)
{
    return pl->topic;
}

int32_t
sl_partlog_partition(const sl_partlog_t *pl)
{
    return pl->partition;
}

bool
sl_partlog_topic_id(const sl_partlog_t *pl, uint8_t id[16])
{
    if (pl->has_topic_id) {
        memcpy(id, pl->topic_id, 16);
    }
    return pl->has_topic_id;
}

void *
sl_partlog_flusher_slot(const sl_partlog_t *pl)
{
    return pl->fslot;
}

void
sl_partlog_set_flusher_slot(sl_partlog_t *pl, void *slot)
{
    pl->fslot = slot;
}
