/*
 * log/partlog_pstate.c: the partition log's producer state glue: the
 * idempotence checks of an append, snapshots at roll and close, rebuild
 * at open and after truncation (newest snapshot at or below the log end,
 * then batch headers replayed from there to the end), expiry and the
 * listing for DescribeProducers.
 *
 * Owns: nothing of its own; works on pl->pstate (log/producer_state.h)
 * under the partition lock, like partlog_admin.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/partlog.h"
#include "log/partlog_int.h"
#include "log/producer_state.h"
#include "proto/batch.h"

/* Snapshots kept per partition (the newest; older ones only help a
 * truncation below the newest). */
#define SL_PL_SNAPSHOTS_KEPT 3

static void
sl_partlog_pstate_in(const sl_seg_batch_t *b, sl_pstate_in_t *in)
{
    in->producer_id = b->producer_id;
    in->epoch = b->producer_epoch;
    in->base_seq = b->base_sequence;
    in->last_offset_delta = (int32_t)(b->last_offset - b->base_offset);
    in->max_ts = b->max_ts;
}

/* Replay the batch headers of [from, leo). @locks lock */
static sl_err_t
sl_partlog_pstate_replay(sl_partlog_t *pl, int64_t from)
{
    sl_seg_batch_t b;
    sl_pstate_in_t in;
    int64_t pos, limit;
    size_t i;
    sl_err_t err;

    for (i = sl_partlog_find_seg(pl, from); i < pl->nsegs; i++) {
        sl_segment_t *seg = pl->segs[i].seg;

        limit = sl_segment_size(seg);
        pos = 0;
        if (sl_segment_base(seg) < from) {
            err = sl_segment_find(seg, from, limit, &b);
            if (err == SL_ERR__NOENT) {
                continue;
            }
            if (err != SL_OK) {
                return err;
            }
            pos = b.pos;
        }
        while ((err = sl_segment_read_batch(seg, pos, limit, &b)) == SL_OK) {
            pos += b.size;
            if (b.base_offset < from || b.producer_id < 0 ||
                (b.attributes & SL_BATCH_ATTR_CONTROL) != 0) {
                continue;
            }
            sl_partlog_pstate_in(&b, &in);
            if ((err = sl_pstate_replay(pl->pstate, &in, b.base_offset)) !=
                SL_OK) {
                return err;
            }
        }
        if (err != SL_ERR__NOENT) {
            return err;
        }
    }
    return SL_OK;
}

sl_err_t
sl_partlog_pstate_rebuild(sl_partlog_t *pl)
{
    int64_t from;
    sl_err_t err;

    if (pl->pstate == NULL && (pl->pstate = sl_pstate_create()) == NULL) {
        return SL_ERR__NOMEM;
    }
    err = sl_pstate_load(pl->pstate, pl->dir, pl->leo, &from);
    if (err != SL_OK) {
        return err;
    }
    pl->pstate_snap_off = from;
    /* replay what the log still holds (below the log start offset too:
     * DeleteRecords hides records but their batches tell the state) */
    if (from < sl_segment_base(pl->segs[0].seg)) {
        from = sl_segment_base(pl->segs[0].seg);
    }
    if (from >= pl->leo) {
        pl->pstate_snap_off = pl->leo; /* nothing to replay next time */
    }
    if (from < pl->leo) {
        err = sl_partlog_pstate_replay(pl, from);
    }
    if (err != SL_OK) {
        sl_log_error("log.partlog",
                     "producer state rebuild failed topic=%s partition=%d "
                     "err=%s",
                     pl->topic, (int)pl->partition, sl_err_name(err));
        sl_pstate_clear(pl->pstate);
    }
    return err;
}

sl_err_t
sl_partlog_pstate_snapshot(sl_partlog_t *pl)
{
    sl_err_t err;

    if (pl->pstate == NULL) {
        return SL_OK;
    }
    err = sl_pstate_write_snapshot(pl->pstate, pl->dir, pl->leo,
                                   SL_PL_SNAPSHOTS_KEPT);
    if (err == SL_OK) {
        pl->pstate_snap_off = pl->leo;
    } else {
        /* not fatal: a restart replays more of the log */
        sl_log_warn("log.partlog",
                    "producer snapshot failed topic=%s partition=%d err=%s",
                    pl->topic, (int)pl->partition, sl_err_name(err));
    }
    return err;
}

sl_err_t
sl_partlog_pstate_check(sl_partlog_t *pl, const uint8_t *data, size_t len,
                        sl_pstate_undo_t *u, sl_append_info_t *info)
{
    sl_batch_seq_t it;
    sl_batch_t b;
    sl_pstate_in_t in;
    int64_t next = pl->leo, df, dl;
    bool dup;
    sl_err_t err;

    sl_pstate_begin(u);
    sl_batch_seq_init(&it, data, len, SL_BATCH_F_NOCRC);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        if (b.producer_id >= 0 && !sl_batch_is_control(&b)) {
            in.producer_id = b.producer_id;
            in.epoch = b.producer_epoch;
            in.base_seq = b.base_sequence;
            in.last_offset_delta = b.last_offset_delta;
            in.max_ts = b.max_timestamp;
            err = sl_pstate_check_append(pl->pstate, u, &in, next, &dup, &df,
                                         &dl);
            if (err != SL_OK || dup) {
                sl_pstate_rollback(pl->pstate, u);
                if (dup) {
                    info->duplicate = true;
                    info->base_offset = df;
                    info->last_offset = dl;
                }
                return err;
            }
        }
        next += (int64_t)b.last_offset_delta + 1;
    }
    return SL_OK;
}

size_t
sl_partlog_producers(sl_partlog_t *pl, sl_pstate_entry_t *out, size_t cap)
{
    size_t n = 0;

    pthread_mutex_lock(&pl->lock);
    if (pl->pstate != NULL) {
        n = sl_pstate_list(pl->pstate, out, cap);
    }
    pthread_mutex_unlock(&pl->lock);
    return n;
}

size_t
sl_partlog_expire_producers(sl_partlog_t *pl, int64_t now_ms,
                            int64_t expiration_ms)
{
    size_t n = 0;

    pthread_mutex_lock(&pl->lock);
    if (pl->pstate != NULL) {
        n = sl_pstate_expire(pl->pstate, now_ms, expiration_ms);
    }
    pthread_mutex_unlock(&pl->lock);
    if (n > 0) {
        sl_log_info("log.partlog",
                    "expired producers topic=%s partition=%d count=%zu",
                    pl->topic, (int)pl->partition, n);
    }
    return n;
}
