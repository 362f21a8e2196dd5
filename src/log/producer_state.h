/*
 * log/producer_state.h: the producer state of one partition (idempotent
 * producers): per producer id its epoch and the sequence ranges and
 * offsets of its last five batches, so that a retried batch is answered
 * with its original offsets instead of being written twice, a gap is
 * refused with OUT_OF_ORDER_SEQUENCE_NUMBER and an old epoch with
 * INVALID_PRODUCER_EPOCH (Kafka 4.0's rules, docs/storage.md). Also the
 * snapshot files <20-digit offset>.snapshot (byte layout in
 * producer_state.c) and expiry by producer.id.expiration.ms.
 * Transactions: the first offset of each producer's open transaction
 * (the last stable offset's input), ended by COMMIT/ABORT markers.
 *
 * Owned by: log/partlog.c (one per partition log, struct sl_partlog_s).
 * Locking: none of its own; the owning partition's lock is held for every
 * call. Time is passed in, so tests use a fake clock.
 */
#ifndef SL_LOG_PRODUCER_STATE_H
#define SL_LOG_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_pstate_s sl_pstate_t;

/* Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN). */
#define SL_PSTATE_BATCHES 5

/* What one appended batch left behind. */
typedef struct sl_pstate_batch_s {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
    int64_t timestamp; /* the batch's max timestamp */
} sl_pstate_batch_t;

/* One producer's state in a partition. */
typedef struct sl_pstate_entry_s {
    int64_t producer_id;
    int16_t epoch;             /* -1: none known */
    int32_t coordinator_epoch; /* -1 until transactions write markers */
    int64_t txn_first_offset;  /* -1: no open transaction */
    int64_t last_ts;           /* max timestamp of the last batch */
    int32_t nbatches;
    sl_pstate_batch_t batches[SL_PSTATE_BATCHES]; /* oldest first */
} sl_pstate_entry_t;

/* The header fields of one batch that the state looks at. */
typedef struct sl_pstate_in_s {
    int64_t producer_id; /* < 0: not idempotent, ignored */
    int16_t epoch;
    int32_t base_seq;
    int32_t last_offset_delta;
    int64_t max_ts;
    bool transactional; /* attributes bit 4: opens a transaction */
} sl_pstate_in_t;

/* The fields of one transaction marker (a control batch's record). */
typedef struct sl_pstate_marker_s {
    int64_t producer_id;
    int16_t epoch;
    int32_t coordinator_epoch;
    bool commit; /* false: ABORT */
    int64_t ts;  /* the batch's max timestamp */
} sl_pstate_marker_t;

/* A transaction a marker ended: offsets of its first batch and of the
 * marker. */
typedef struct sl_pstate_txn_s {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset;
    bool aborted;
} sl_pstate_txn_t;

/* Undo log of one append: sl_pstate_begin(), then sl_pstate_check_append()
 * per batch, then sl_pstate_commit() or sl_pstate_rollback(). */
typedef struct sl_pstate_undo_s {
    sl_pstate_entry_t *saved; /* copies before the first change */
    bool *existed;
    size_t n, cap;
    sl_err_t err; /* sticky NOMEM */
} sl_pstate_undo_t;

/* @returns a new empty state, NULL when out of memory. */
sl_pstate_t *sl_pstate_create(void);
void sl_pstate_destroy(sl_pstate_t *ps);
void sl_pstate_clear(sl_pstate_t *ps);
size_t sl_pstate_count(const sl_pstate_t *ps);
/* The entry of <pid>, or NULL. Valid until the next change. */
const sl_pstate_entry_t *sl_pstate_get(const sl_pstate_t *ps, int64_t pid);
/* Copy up to <cap> entries into out[] (any order); @returns the total. */
size_t sl_pstate_list(const sl_pstate_t *ps, sl_pstate_entry_t *out,
                      size_t cap);

/* The last sequence of a batch starting at <base> spanning <delta> + 1
 * sequence numbers (wraps past INT32_MAX to 0, as Kafka). */
int32_t sl_pstate_last_seq(int32_t base, int32_t delta);

void sl_pstate_begin(sl_pstate_undo_t *u);
/*
 * Validate one client batch that would take offsets [first_offset,
 * first_offset + last_offset_delta] against the state (including earlier
 * batches of the same append) and, if it is good, apply it.
 * A retry of one of the producer's last five batches (same epoch, same
 * sequence range) sets *dup, with *dup_first / *dup_last its original
 * offsets, and changes nothing.
 * @returns SL_OK, SL_ERR_INVALID_PRODUCER_EPOCH (epoch older than the
 *          known one), SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER (a gap, a
 *          non-zero first sequence of a new epoch or of an unknown
 *          producer), SL_ERR_INVALID_TXN_STATE (a batch without the
 *          transactional flag while the producer's transaction is open),
 *          SL_ERR__NOMEM
 * A transactional batch opens the producer's transaction when none is.
 */
sl_err_t sl_pstate_check_append(sl_pstate_t *ps, sl_pstate_undo_t *u,
                                const sl_pstate_in_t *in, int64_t first_offset,
                                bool *dup, int64_t *dup_first,
                                int64_t *dup_last);
void sl_pstate_commit(sl_pstate_t *ps, sl_pstate_undo_t *u);
void sl_pstate_rollback(sl_pstate_t *ps, sl_pstate_undo_t *u);

/*
 * Validate and apply a transaction marker at <offset> (Kafka's
 * appendEndTxnMarker): the producer's open transaction, if any, ends
 * (*done set, *completed true); the entry takes the marker's epoch (a
 * newer one forgets the batches) and coordinator epoch. A marker for an
 * unknown producer creates its entry and completes nothing.
 * @returns SL_OK, SL_ERR_INVALID_PRODUCER_EPOCH (epoch older than the
 *          producer's), SL_ERR_TRANSACTION_COORDINATOR_FENCED (coordinator
 *          epoch older than the last marker's), SL_ERR__NOMEM
 */
sl_err_t sl_pstate_check_marker(sl_pstate_t *ps, sl_pstate_undo_t *u,
                                const sl_pstate_marker_t *m, int64_t offset,
                                sl_pstate_txn_t *done, bool *completed);

/* As sl_pstate_check_marker() without the checks (recovery). */
sl_err_t sl_pstate_replay_marker(sl_pstate_t *ps, const sl_pstate_marker_t *m,
                                 int64_t offset, sl_pstate_txn_t *done,
                                 bool *completed);

/* The smallest first offset of an open transaction, or -1 when there is
 * none: the first unstable offset of the partition. Amortised O(1): a
 * queue of transactions in the order they opened (offset order). */
int64_t sl_pstate_first_unstable(sl_pstate_t *ps);

/* Apply a batch read back from the log (recovery): no checks; a new epoch
 * forgets the older batches. @returns SL_OK, SL_ERR__NOMEM */
sl_err_t sl_pstate_replay(sl_pstate_t *ps, const sl_pstate_in_t *in,
                          int64_t first_offset);

/* Remove producers whose last timestamp is <expiration_ms> or more before
 * <now_ms> and that have no open transaction. @returns how many. */
size_t sl_pstate_expire(sl_pstate_t *ps, int64_t now_ms, int64_t expiration_ms);

/*
 * Write the state as <dir>/<20-digit offset>.snapshot (temporary file,
 * fsync, rename, directory fsync), then remove all but the newest
 * <keep> snapshots. @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM
 */
sl_err_t sl_pstate_write_snapshot(const sl_pstate_t *ps, const char *dir,
                                  int64_t offset, int keep);

/* Replace the state by the snapshot file <path>.
 * @returns SL_OK, SL_ERR__CORRUPT (bad size, version or CRC: the state is
 *          left empty), SL_ERR__NOENT, SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_pstate_read_snapshot(sl_pstate_t *ps, const char *path);

/*
 * Load the newest readable snapshot of <dir> at or below <max_offset>
 * (snapshots above it describe data the log no longer holds and are
 * removed, as are unreadable ones). *from gets its offset, or -1 with the
 * state empty when there is none: the caller replays the log from there.
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM
 */
sl_err_t sl_pstate_load(sl_pstate_t *ps, const char *dir, int64_t max_offset,
                        int64_t *from);

#endif
