/*
 * log/partlog.h: the log of one partition: a directory of segments with
 * offsets, log start offset, high watermark, leader epoch cache,
 * checkpoints, recovery, retention, truncation and reads for Fetch and
 * ListOffsets. On-disk layout and rules: partlog.c's file head and
 * docs/storage.md.
 *
 * Owned by: whoever opened it (the partition registry, api/broker.c, in the
 * broker). Destroyed by sl_partlog_close() or sl_partlog_delete().
 * Locking: one mutex per partition log serialises appends and metadata;
 * reads take it only to pick a segment and take a reference, then read
 * without it. Flushes run without it (they hold a separate flush mutex).
 * Time is passed in (now_ms) so tests can fake the clock.
 */
#ifndef SL_LOG_PARTLOG_H
#define SL_LOG_PARTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/log.h"
#include "log/producer_state.h"
#include "log/segment.h"
#include "log/txnindex.h"

typedef struct sl_partlog_s sl_partlog_t;

/* ListOffsets special timestamps (Kafka's values). */
#define SL_LOG_TS_LATEST (-1)
#define SL_LOG_TS_EARLIEST (-2)
#define SL_LOG_TS_MAX (-3)

typedef struct sl_partlog_opts_s {
    const char *dir;   /* the partition directory <log.dirs>/<topic>-<p> */
    const char *topic; /* for checkpoints and log lines */
    int32_t partition;
    const uint8_t *topic_id; /* 16 bytes for partition.metadata, or NULL */
    const sl_log_config_t *cfg;
    bool clean;  /* the log dir had a clean-shutdown marker */
    bool create; /* create the directory if missing */
    int64_t now_ms;
} sl_partlog_opts_t;

/* What an open found (tests, log lines). */
typedef struct sl_partlog_stats_s {
    bool recovered;          /* recovery ran */
    int64_t truncated_bytes; /* cut from torn or corrupt tails */
    int32_t indexes_rebuilt;
    int32_t segments_dropped; /* removed after a corrupt one */
} sl_partlog_stats_t;

typedef struct sl_append_info_s {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time; /* -1 unless LogAppendTime */
    int64_t max_timestamp;   /* largest batch max timestamp appended */
    int64_t max_ts_offset;   /* last offset of the batch holding it */
    int32_t batches;
    int64_t records;
    bool duplicate; /* a retried idempotent batch: nothing was written,
                       base/last offset are the original ones */
} sl_append_info_t;

/* A range of one segment's .log for sendfile/pread; holds a reference. */
typedef struct sl_log_slice_s {
    sl_segment_t *seg; /* NULL when empty */
    int fd;
    int64_t pos;
    size_t len;
} sl_log_slice_t;

/* sl_partlog_append() flags */
#define SL_PARTLOG_F_CRC_CHECKED 0x01 /* the caller verified the CRCs */

/*
 * Open (and with o->create, create) a partition log. Without o->clean the
 * log is recovered from its recovery point: every batch from the segment
 * holding it on is re-validated (structure and CRC), the first bad or torn
 * batch and everything after it is cut, indexes are rebuilt. Missing or
 * corrupt indexes of older segments are rebuilt too.
 * @thread any   @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM, SL_ERR__NOENT
 *          (no directory and !create), SL_ERR__INVAL
 */
sl_err_t sl_partlog_open(const sl_partlog_opts_t *o, sl_partlog_t **out,
                         sl_partlog_stats_t *stats);

/* Flush, write checkpoints, free. Readers' segment references stay valid.
 * @returns the flush error, if any (the log is freed anyway). */
sl_err_t sl_partlog_close(sl_partlog_t *pl, int64_t now_ms);

/* Free without flushing or checkpointing (a crash, for tests). */
void sl_partlog_abandon(sl_partlog_t *pl);

/* Remove the partition: rename its directory to
 * <dir>.<32 hex>-delete, delete the files, free. */
sl_err_t sl_partlog_delete(sl_partlog_t *pl);

/*
 * Append one or more v2 batches (bytes writable, rewritten in place: base
 * offsets, partition leader epoch when <leader_epoch> >= 0, LogAppendTime
 * if configured). Rolls first when segment.bytes / segment.ms / a full
 * index say so. The batches are visible to readers when this returns
 * (acks=1); durability is the flusher's (acks=all).
 * @thread any   @locks takes the partition lock
 * Batches with a producer id go through the producer state first: a
 * retry of one of the producer's last five batches is not written again
 * (info->duplicate, with its original offsets). A transactional batch
 * opens its producer's transaction (holding the last stable offset); a
 * COMMIT/ABORT marker (control batch) ends it, an ABORT is added to the
 * aborted-transaction index.
 * @returns SL_OK, SL_ERR_CORRUPT_MESSAGE, SL_ERR_INVALID_RECORD,
 *          SL_ERR_MESSAGE_TOO_LARGE, SL_ERR__INVAL (no batches),
 *          SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
 *          SL_ERR_INVALID_PRODUCER_EPOCH (also a marker's),
 *          SL_ERR_INVALID_TXN_STATE (a plain batch inside a transaction),
 *          SL_ERR_TRANSACTION_COORDINATOR_FENCED (a marker's coordinator
 *          epoch is older than the last one's),
 *          SL_ERR__IO (disk failed: nothing appended; offline if it could
 *          not be undone or the log is already offline)
 */
sl_err_t sl_partlog_append(sl_partlog_t *pl, uint8_t *data, size_t len,
                           int32_t leader_epoch, int flags, int64_t now_ms,
                           sl_append_info_t *info);

/*
 * Locate the bytes to send for a fetch at <offset>: from the batch holding
 * it (a read inside a batch starts at the batch, as in Kafka), at most
 * <max_bytes> (at least the first whole batch with <min_one>), within one
 * segment, and below offset <upto> (-1 = the high watermark).
 * offset == end gives an empty slice. Release with sl_log_slice_release().
 * @thread any   @locks takes the partition lock briefly
 * @returns SL_OK, SL_ERR_OFFSET_OUT_OF_RANGE, SL_ERR__IO (offline or read
 *          error), SL_ERR__CORRUPT
 */
sl_err_t sl_partlog_read(sl_partlog_t *pl, int64_t offset, size_t max_bytes,
                         bool min_one, int64_t upto, sl_log_slice_t *out);
void sl_log_slice_release(sl_log_slice_t *s);

/* As sl_partlog_read(), copying into buf[cap] (max_bytes is cap). */
sl_err_t sl_partlog_read_copy(sl_partlog_t *pl, int64_t offset, bool min_one,
                              int64_t upto, uint8_t *buf, size_t cap,
                              size_t *len);

/*
 * ListOffsets: <ts> >= 0 gives the first offset whose record timestamp is
 * >= ts (and that timestamp), or -1/-1 when none; SL_LOG_TS_EARLIEST the
 * log start offset; SL_LOG_TS_LATEST the high watermark; SL_LOG_TS_MAX the
 * offset and timestamp of the record with the largest timestamp.
 * @thread any   @locks takes the partition lock
 */
sl_err_t sl_partlog_offset_for_time(sl_partlog_t *pl, int64_t ts,
                                    int64_t *offset, int64_t *found_ts);

/* DeleteRecords: move the log start offset to <before> (persisted before
 * returning), delete whole segments below it. -1 means the high
 * watermark. @returns SL_OK, SL_ERR_OFFSET_OUT_OF_RANGE, SL_ERR__IO */
sl_err_t sl_partlog_delete_records(sl_partlog_t *pl, int64_t before,
                                   int64_t *low_watermark);

/* Retention: delete non-active segments older than retention.ms (by their
 * largest timestamp) and beyond retention.bytes (oldest first).
 * *deleted gets the count. @returns SL_OK, SL_ERR__IO */
sl_err_t sl_partlog_retain(sl_partlog_t *pl, int64_t now_ms, int *deleted);

/* Roll now (a new empty active segment) unless the active one is empty. */
sl_err_t sl_partlog_roll(sl_partlog_t *pl, int64_t now_ms);

/* Truncate the log to end before <offset> (replication): removes later
 * segments and the batch holding <offset>. */
sl_err_t sl_partlog_truncate_to(sl_partlog_t *pl, int64_t offset);

/*
 * Make everything appended so far durable (fdatasync the segments written
 * since the last flush, their indexes once sealed, the directory after a
 * roll). *durable gets the new recovery point: offsets below it are on
 * disk. An I/O error takes the log offline.
 * @thread flusher (any)   @locks partition lock briefly, flush mutex
 * @returns SL_OK, SL_ERR__IO
 */
sl_err_t sl_partlog_flush(sl_partlog_t *pl, int64_t now_ms, int64_t *durable);

/* Whether flush.messages or flush.ms ask for a flush now. */
bool sl_partlog_flush_due(sl_partlog_t *pl, int64_t now_ms);

/* Write the recovery point and log start offset checkpoints. */
sl_err_t sl_partlog_checkpoint(sl_partlog_t *pl);

/* OffsetForLeaderEpoch: the largest epoch <= <epoch> and the end offset
 * of it (the start of the next epoch, or the log end for the latest);
 * -1/-1 when unknown. */
void sl_partlog_end_offset_for_epoch(sl_partlog_t *pl, int32_t epoch,
                                     int32_t *out_epoch, int64_t *end_offset);

int32_t sl_partlog_latest_epoch(sl_partlog_t *pl);
int64_t sl_partlog_log_start(sl_partlog_t *pl);
int64_t sl_partlog_end_offset(sl_partlog_t *pl);
int64_t sl_partlog_hwm(sl_partlog_t *pl);
/* Set the high watermark (replication); from then on appends no longer
 * move it. Clamped to [log start, end]. */
void sl_partlog_set_hwm(sl_partlog_t *pl, int64_t hwm);
int64_t sl_partlog_recovery_point(sl_partlog_t *pl);
int64_t sl_partlog_size_bytes(sl_partlog_t *pl);
size_t sl_partlog_segment_count(sl_partlog_t *pl);
/* Base offsets of the segments into bases[cap]; returns the count. */
size_t sl_partlog_segment_bases(sl_partlog_t *pl, int64_t *bases, size_t cap);
bool sl_partlog_offline(sl_partlog_t *pl);
void sl_partlog_set_offline(sl_partlog_t *pl);
void sl_partlog_set_config(sl_partlog_t *pl, const sl_log_config_t *cfg);
void sl_partlog_get_config(sl_partlog_t *pl, sl_log_config_t *cfg);
const char *sl_partlog_dir(const sl_partlog_t *pl);
const char *sl_partlog_topic(const sl_partlog_t *pl);
int32_t sl_partlog_partition(const sl_partlog_t *pl);
/* The topic id from partition.metadata; false if none. */
bool sl_partlog_topic_id(const sl_partlog_t *pl, uint8_t id[16]);

/* Producer state (idempotence, log/producer_state.h): copy up to <cap>
 * entries into out[]; @returns the total. @locks takes the partition lock */
size_t sl_partlog_producers(sl_partlog_t *pl, sl_pstate_entry_t *out,
                            size_t cap);
/* Forget producers idle for <expiration_ms> (producer.id.expiration.ms).
 * @returns how many. @locks takes the partition lock */
size_t sl_partlog_expire_producers(sl_partlog_t *pl, int64_t now_ms,
                                   int64_t expiration_ms);

/* Transactions (docs/storage.md "Transactions"): the last stable offset,
 * min(first offset of the oldest open transaction, high watermark).
 * @locks takes the partition lock */
int64_t sl_partlog_lso(sl_partlog_t *pl);
/* The aborted transactions overlapping [from, upto) (Fetch with
 * read_committed), by marker offset: up to <cap> into out[]; @returns how
 * many there are. @locks takes the partition lock */
size_t sl_partlog_aborted_txns(sl_partlog_t *pl, int64_t from, int64_t upto,
                               sl_txn_aborted_t *out, size_t cap);

/* One pointer for the flusher's per-partition state. @locks flusher's */
void *sl_partlog_flusher_slot(const sl_partlog_t *pl);
void sl_partlog_set_flusher_slot(sl_partlog_t *pl, void *slot);

#endif
