/*
 * log/partlog_pstate.c: the partition log's producer state glue: the
 * idempotence checks of an append, snapshots at roll and close, rebuild
 * at open and after truncation (newest snapshot at or below the log end,
 * then batch headers replayed from there to the end), expiry and the
 * listing for DescribeProducers; transactions: markers validated in the
 * append path, the aborted-transaction index (log/txnindex.h) appended
 * after the write and rebuilt with the state, the first unstable offset
 * behind the last stable offset.
 *
 * Owns: nothing of its own; works on pl->pstate (log/producer_state.h)
 * under the partition lock, like partlog_admin.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/partlog.h"
#include "log/partlog_int.h"
#include "log/file.h"
#include "log/producer_state.h"
#include "log/txnindex.h"
#include "proto/batch.h"

/* A stored control batch larger than this is not a marker (one record of
 * a few dozen bytes): replay ignores it instead of reading it. */
#define SL_PL_MARKER_MAX 1024

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
    in->transactional = (b->attributes & SL_BATCH_ATTR_TRANSACTIONAL) != 0;
}

/* The transaction marker of a parsed control batch.
 * @returns SL_OK, SL_ERR__NOENT (another control record: none of ours),
 *          SL_ERR_INVALID_RECORD */
static sl_err_t
sl_partlog_marker(const sl_batch_t *b, sl_pstate_marker_t *m)
{
    sl_record_iter_t it;
    sl_record_t r;
    int16_t type;
    sl_err_t err;

    if (sl_batch_codec(b) != 0 || b->records_count != 1) {
        return SL_ERR_INVALID_RECORD;
    }
    sl_record_iter_init(&it, b->records, b->records_size, b->records_count);
    if ((err = sl_record_iter_next(&it, &r)) != SL_OK) {
        return SL_ERR_INVALID_RECORD;
    }
    if ((err = sl_control_parse_key(&r, &type)) != SL_OK) {
        return err;
    }
    if (type != SL_CONTROL_ABORT && type != SL_CONTROL_COMMIT) {
        return SL_ERR__NOENT;
    }
    if ((err = sl_control_parse_marker(&r, &m->coordinator_epoch)) != SL_OK) {
        return err;
    }
    m->producer_id = b->producer_id;
    m->epoch = b->producer_epoch;
    m->commit = type == SL_CONTROL_COMMIT;
    m->ts = b->max_timestamp;
    return SL_OK;
}

/* Index an ended transaction if it was aborted; the last stable offset
 * then is the oldest other open transaction's start, or just past the
 * marker (Kafka's). <fu>: the first unstable offset once it ended, or -2
 * to look it up. @locks lock */
static void
sl_partlog_txn_index(sl_partlog_t *pl, const sl_pstate_txn_t *t, int64_t fu)
{
    sl_txn_aborted_t a;
    size_t i;

    if (!t->aborted || pl->txnidx == NULL) {
        return;
    }
    a.producer_id = t->producer_id;
    a.first_offset = t->first_offset;
    a.last_offset = t->last_offset;
    a.lso = fu == -2 ? sl_pstate_first_unstable(pl->pstate) : fu;
    if (a.lso < 0 || a.lso > t->last_offset + 1) {
        a.lso = t->last_offset + 1;
    }
    i = sl_partlog_find_seg(pl, t->last_offset);
    (void)sl_txnidx_append(pl->txnidx, sl_segment_base(pl->segs[i].seg), &a);
}

/* A replayed control batch: read it back, end its transaction. */
static sl_err_t
sl_partlog_pstate_replay_marker(sl_partlog_t *pl, sl_segment_t *seg,
                                const sl_seg_batch_t *sb)
{
    uint8_t buf[SL_PL_MARKER_MAX];
    sl_pstate_marker_t m;
    sl_pstate_txn_t t;
    sl_batch_t b;
    size_t got;
    bool done;
    sl_err_t err;

    if (sb->size > SL_PL_MARKER_MAX) {
        return SL_OK;
    }
    err = sl_file_read_at(sl_segment_fd(seg), buf, (size_t)sb->size, sb->pos,
                          &got);
    if (err != SL_OK) {
        return err;
    }
    if (got != (size_t)sb->size ||
        sl_batch_parse(buf, got, SL_BATCH_F_NOCRC, &b) != SL_OK ||
        sl_partlog_marker(&b, &m) != SL_OK) {
        return SL_OK; /* recovery checked it; not a marker we know */
    }
    m.ts = sb->max_ts;
    if ((err = sl_pstate_replay_marker(pl->pstate, &m, sb->base_offset, &t,
                                       &done)) != SL_OK) {
        return err;
    }
    if (done) {
        sl_partlog_txn_index(pl, &t, -2);
    }
    return SL_OK;
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
            if (b.base_offset < from || b.producer_id < 0) {
                continue;
            }
            if ((b.attributes & SL_BATCH_ATTR_CONTROL) != 0) {
                if ((err = sl_partlog_pstate_replay_marker(pl, seg, &b)) !=
                    SL_OK) {
                    return err;
                }
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
    if (pl->txnidx_damaged) {
        /* a damaged index: its entries below the snapshot are gone too,
         * so replay the whole log */
        sl_pstate_clear(pl->pstate);
        from = -1;
        pl->txnidx_damaged = false;
    }
    pl->pstate_snap_off = from;
    /* replay what the log still holds (below the log start offset too:
     * DeleteRecords hides records but their batches tell the state) */
    if (from < sl_segment_base(pl->segs[0].seg)) {
        from = sl_segment_base(pl->segs[0].seg);
    }
    if (pl->txnidx != NULL) {
        /* entries above the snapshot come back with the replay: the files
         * may hold some of them (or, after a crash, not) */
        sl_txnidx_drop_below(pl->txnidx, sl_segment_base(pl->segs[0].seg));
        if ((err = sl_txnidx_truncate(pl->txnidx, from)) != SL_OK) {
            return err;
        }
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
    pl->first_unstable = sl_pstate_first_unstable(pl->pstate);
    return err;
}

sl_err_t
sl_partlog_txnidx_open(sl_partlog_t *pl)
{
    bool damaged = false;
    sl_err_t err;

    sl_txnidx_close(pl->txnidx);
    pl->txnidx = NULL;
    err = sl_txnidx_open(pl->dir, &pl->txnidx, &damaged);
    pl->txnidx_damaged = damaged;
    return err;
}

sl_err_t
sl_partlog_pstate_snapshot(sl_partlog_t *pl)
{
    sl_err_t err;

    if (pl->pstate == NULL) {
        return SL_OK;
    }
    /* entries below the snapshot's offset are not replayed at open: they
     * must be on disk first */
    if (pl->txnidx != NULL && (err = sl_txnidx_sync(pl->txnidx)) != SL_OK) {
        sl_log_warn("log.partlog",
                    "transaction index sync failed, no snapshot topic=%s "
                    "partition=%d err=%s",
                    pl->topic, (int)pl->partition, sl_err_name(err));
        return err;
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

/* Validate and apply one marker batch of an append at <offset>. */
static sl_err_t
sl_partlog_check_marker(sl_partlog_t *pl, sl_pstate_undo_t *u,
                        const sl_batch_t *b, int64_t offset, sl_pl_txns_t *t)
{
    sl_pstate_marker_t m;
    sl_pstate_txn_t done;
    bool completed;
    sl_err_t err;

    err = sl_partlog_marker(b, &m);
    if (err == SL_ERR__NOENT) {
        return SL_OK;
    }
    if (err != SL_OK) {
        return err;
    }
    if ((err = sl_pstate_check_marker(pl->pstate, u, &m, offset, &done,
                                      &completed)) != SL_OK) {
        return err;
    }
    if (completed) {
        if (t->n == t->cap) {
            size_t c = t->cap ? t->cap * 2 : 4;
            sl_pstate_txn_t *v = realloc(t->v, c * sizeof(*v));

            if (v == NULL) {
                return SL_ERR__NOMEM;
            }
            t->v = v;
            t->cap = c;
        }
        t->v[t->n++] = done;
    }
    return SL_OK;
}

sl_err_t
sl_partlog_pstate_check(sl_partlog_t *pl, const uint8_t *data, size_t len,
                        sl_pstate_undo_t *u, sl_append_info_t *info,
                        sl_pl_txns_t *t)
{
    sl_batch_seq_t it;
    sl_batch_t b;
    sl_pstate_in_t in;
    int64_t next = pl->leo, df, dl;
    bool dup;
    sl_err_t err;

    memset(t, 0, sizeof(*t));
    t->opened = -1;
    sl_pstate_begin(u);
    sl_batch_seq_init(&it, data, len, SL_BATCH_F_NOCRC);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        if (b.producer_id >= 0 && sl_batch_is_control(&b)) {
            if ((err = sl_partlog_check_marker(pl, u, &b, next, t)) != SL_OK) {
                sl_pstate_rollback(pl->pstate, u);
                sl_partlog_txns_done(t);
                return err;
            }
        } else if (b.producer_id >= 0) {
            in.producer_id = b.producer_id;
            in.epoch = b.producer_epoch;
            in.base_seq = b.base_sequence;
            in.last_offset_delta = b.last_offset_delta;
            in.max_ts = b.max_timestamp;
            in.transactional = sl_batch_is_transactional(&b);
            if (in.transactional && t->opened < 0) {
                const sl_pstate_entry_t *pe =
                    sl_pstate_get(pl->pstate, b.producer_id);

                if (pe == NULL || pe->txn_first_offset < 0) {
                    t->opened = next; /* opens one, if it is taken */
                }
            }
            err = sl_pstate_check_append(pl->pstate, u, &in, next, &dup, &df,
                                         &dl);
            if (err != SL_OK || dup) {
                sl_pstate_rollback(pl->pstate, u);
                sl_partlog_txns_done(t);
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

void
sl_partlog_txns_apply(sl_partlog_t *pl, sl_pl_txns_t *t)
{
    size_t i;

    if (t->opened >= 0 || t->n > 0) {
        pl->first_unstable = sl_pstate_first_unstable(pl->pstate);
    }
    for (i = 0; i < t->n; i++) {
        sl_partlog_txn_index(pl, &t->v[i], pl->first_unstable);
    }
}

void
sl_partlog_txns_done(sl_pl_txns_t *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

int64_t
sl_partlog_lso(sl_partlog_t *pl)
{
    int64_t lso;

    pthread_mutex_lock(&pl->lock);
    lso = pl->hwm;
    if (pl->first_unstable >= 0 && pl->first_unstable < lso) {
        lso = pl->first_unstable;
    }
    pthread_mutex_unlock(&pl->lock);
    return lso;
}

size_t
sl_partlog_aborted_txns(sl_partlog_t *pl, int64_t from, int64_t upto,
                        sl_txn_aborted_t *out, size_t cap)
{
    size_t n = 0;

    pthread_mutex_lock(&pl->lock);
    if (pl->txnidx != NULL) {
        n = sl_txnidx_collect(pl->txnidx, from, upto, out, cap);
    }
    pthread_mutex_unlock(&pl->lock);
    return n;
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
