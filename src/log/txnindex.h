/*
 * log/txnindex.h: the aborted-transaction index of one partition: every
 * transaction an ABORT marker ended (producer id, first offset, marker
 * offset, last stable offset then), kept in memory sorted by marker offset
 * and on disk as <20-digit segment base>.txnindex files in Kafka's layout
 * (byte table in txnindex.c). An entry goes to the file of the segment its
 * marker was written to. Fetch with read_committed asks it for the aborted
 * transactions of a range (sl_txnidx_collect()).
 *
 * Durability: appends are not synced one by one; sl_txnidx_sync() runs
 * before every producer-state snapshot, so entries below a snapshot's
 * offset are on disk, and the open replays the log from the snapshot,
 * re-deriving the entries above it (log/partlog_pstate.c).
 *
 * Owned by: log/partlog.c (one per partition log, pl->txnidx).
 * Locking: none of its own; the partition lock is held for every call.
 */
#ifndef SL_LOG_TXNINDEX_H
#define SL_LOG_TXNINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_txnidx_s sl_txnidx_t;

/* One aborted transaction (Kafka's AbortedTxn). */
typedef struct sl_txn_aborted_s {
    int64_t producer_id;
    int64_t first_offset; /* its first batch */
    int64_t last_offset;  /* its ABORT marker */
    int64_t lso;          /* the last stable offset once it ended */
} sl_txn_aborted_t;

/*
 * Load every <base>.txnindex of <dir>. A file whose tail is not whole
 * entries, or holds an entry that is not sane (version, offsets out of
 * order or outside the file's range), is cut before it and *damaged set:
 * the caller rebuilds from the log.
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM, SL_ERR__INVAL
 */
sl_err_t sl_txnidx_open(const char *dir, sl_txnidx_t **out, bool *damaged);
void sl_txnidx_close(sl_txnidx_t *ti);

/*
 * Add <a> (marker offset above every entry's) to the file of the segment
 * based at <seg_base> (a new file, or the newest one when its base is at
 * or above seg_base). Stays in memory even
 * when the write fails; sl_txnidx_sync() then first writes every file
 * again from memory (and fails if that fails, so no snapshot claims an
 * entry is on disk that is not).
 * @returns SL_OK, SL_ERR__NOMEM, SL_ERR__IO
 */
sl_err_t sl_txnidx_append(sl_txnidx_t *ti, int64_t seg_base,
                          const sl_txn_aborted_t *a);

/* fdatasync the files written since the last sync (after a failed
 * append, rewrite them all first). @returns SL_OK, SL_ERR__IO */
sl_err_t sl_txnidx_sync(sl_txnidx_t *ti);

/* Forget entries whose marker is at or above <offset> (log truncation,
 * rebuild): files based at or above it are removed, the one below is cut.
 * @returns SL_OK, SL_ERR__IO */
sl_err_t sl_txnidx_truncate(sl_txnidx_t *ti, int64_t offset);

/* Forget entries whose marker is below <base> (the first segment's base
 * after retention or DeleteRecords removed segments) and remove the files
 * based below it. */
void sl_txnidx_drop_below(sl_txnidx_t *ti, int64_t base);

/*
 * The aborted transactions that overlap [from, upto): marker at or after
 * <from>, first offset below <upto>, by marker offset. Up to <cap> go to
 * out[]; @returns how many there are.
 */
size_t sl_txnidx_collect(const sl_txnidx_t *ti, int64_t from, int64_t upto,
                         sl_txn_aborted_t *out, size_t cap);

/* Entry count (tests). */
size_t sl_txnidx_count(const sl_txnidx_t *ti);

#endif
