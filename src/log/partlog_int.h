/*
 * log/partlog_int.h: the partition log's struct, shared by partlog.c,
 * partlog_admin.c and cleaner.c only (sqlite's *Int.h). Nothing else
 * includes it.
 */
#ifndef SL_LOG_PARTLOG_INT_H
#define SL_LOG_PARTLOG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "log/ckpt.h"
#include "log/partlog.h"
#include "log/log.h"
#include "log/producer_state.h"
#include "log/segment.h"
#include "log/txnindex.h"

typedef struct sl_partlog_seg_s {
    sl_segment_t *seg;
    bool index_synced; /* sealed and its indexes fdatasync'ed */
} sl_partlog_seg_t;

struct sl_partlog_s {
    pthread_mutex_t lock;       /* everything below unless noted */
    pthread_mutex_t flush_lock; /* one flush at a time */
    char *dir;
    char *topic;
    int32_t partition;
    uint8_t topic_id[16];
    bool has_topic_id;
    sl_log_config_t cfg;

    sl_partlog_seg_t *segs; /* by base offset; the last is active */
    size_t nsegs, csegs;

    int64_t log_start;
    int64_t leo;
    int64_t hwm;
    bool auto_hwm;      /* single node: hwm follows leo */
    _Atomic int64_t rp; /* recovery point: below it is durable */
    _Atomic bool offline;
    uint64_t trunc_gen;      /* bumped by truncation (flush races) */
    bool dir_dirty;          /* entries created/removed since last sync */
    int64_t active_basis_ms; /* segment.ms counts from here */
    int64_t appended_msgs, flushed_msgs;
    int64_t last_flush_ms;

    sl_epoch_entry_t *epochs;
    size_t nepochs, cepochs;
    bool epochs_dirty, epochs_rebuild;

    void *fslot; /* the flusher's, under its lock */

    sl_pstate_t *pstate;     /* idempotent producers (partlog_pstate.c) */
    int64_t pstate_snap_off; /* state known on disk up to here, or -1 */
    sl_txnidx_t *txnidx;     /* aborted transactions (partlog_pstate.c) */
    bool txnidx_damaged;     /* rebuild from the first segment */
    int64_t first_unstable;  /* oldest open transaction's offset, or -1 */
    /* cleaner.c's, touched by the cleaner thread only: the earliest delete
     * horizon left in the cleaned log (0 = unknown: clean once) */
    int64_t clean_horizon_ms;
};

/* Helpers of partlog.c for partlog_admin.c; all @locks lock. */
sl_segment_t *sl_partlog_active(sl_partlog_t *pl);
sl_err_t sl_partlog_drop(sl_partlog_t *pl, size_t i);
size_t sl_partlog_find_seg(sl_partlog_t *pl, int64_t offset);
sl_err_t sl_partlog_save_epochs(sl_partlog_t *pl);
bool sl_partlog_epoch_trim_end(sl_partlog_t *pl, int64_t end);
bool sl_partlog_epoch_trim_start(sl_partlog_t *pl, int64_t start);

/* Producer state (partlog_pstate.c); all @locks lock. Rebuild: newest
 * snapshot at or below the log end, then replay batch headers to the end
 * (creates pl->pstate). Snapshot: write <leo>.snapshot. Check: validate
 * and apply the batches of an append that will start at leo; a duplicate
 * sets info->duplicate with its offsets and changes nothing; commit or
 * roll back <u> after the write. */
sl_err_t sl_partlog_pstate_rebuild(sl_partlog_t *pl);
sl_err_t sl_partlog_pstate_snapshot(sl_partlog_t *pl);
/* Transactions ended by the markers of one append (partlog_pstate.c). */
typedef struct sl_pl_txns_s {
    sl_pstate_txn_t *v;
    size_t n, cap;
    int64_t opened; /* first offset of the first transaction opened, -1 */
} sl_pl_txns_t;

/* Check also validates transaction markers (control batches with a
 * producer id); the transactions they end go to <t> (after the write:
 * sl_partlog_txns_apply() on success, then sl_partlog_txns_done()). */
sl_err_t sl_partlog_pstate_check(sl_partlog_t *pl, const uint8_t *data,
                                 size_t len, sl_pstate_undo_t *u,
                                 sl_append_info_t *info, sl_pl_txns_t *t);
/* After the write: index the aborted ones, move the first unstable
 * offset. */
void sl_partlog_txns_apply(sl_partlog_t *pl, sl_pl_txns_t *t);
void sl_partlog_txns_done(sl_pl_txns_t *t);
/* Open pl->txnidx (at open, before sl_partlog_pstate_rebuild()). */
sl_err_t sl_partlog_txnidx_open(sl_partlog_t *pl);

#endif
