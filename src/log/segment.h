/*
 * log/segment.h: one log segment: <base>.log with its sparse offset index
 * <base>.index and time index <base>.timeindex (byte layouts in
 * segment.c), lookups by offset and by time, recovery scans, and reference
 * counting so that readers on other threads keep a segment alive while
 * retention removes it.
 *
 * Owned by: log/partlog.c (its segment list holds one reference). Readers
 * hold their own references (sl_segment_ref/unref, atomic).
 * Locking: appends, truncation and scans run under the owning partition's
 * lock; lookups and reads may run on any thread without it (the committed
 * size is atomic and the index arrays have their own mutex).
 */
#ifndef SL_LOG_SEGMENT_H
#define SL_LOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/log.h"

typedef struct sl_segment_s sl_segment_t;

/* The header fields of one stored batch (its first 61 bytes). */
typedef struct sl_seg_batch_s {
    int64_t pos;  /* file position of its first byte */
    int64_t size; /* batch_length + 12 */
    int64_t base_offset;
    int64_t last_offset; /* base_offset + last_offset_delta */
    int32_t leader_epoch;
    int16_t attributes;
    int64_t base_ts;
    int64_t max_ts;
    int32_t records_count;
    int64_t producer_id; /* -1 unless idempotent */
    int16_t producer_epoch;
    int32_t base_sequence;
} sl_seg_batch_t;

/* Called for every valid batch a scan passes (recovery feeds the leader
 * epoch cache with it). */
typedef void (*sl_segment_batch_cb)(void *arg, const sl_seg_batch_t *b);

/* sl_segment_scan() flags. */
#define SL_SEG_SCAN_CRC 0x01   /* verify each batch's CRC-32C */
#define SL_SEG_SCAN_INDEX 0x02 /* rebuild both indexes from scratch */

/*
 * Create empty <base>.log/.index/.timeindex in <dir> (truncating leftovers).
 * *out holds one reference. @thread partition owner
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM, SL_ERR__INVAL (path too long)
 */
sl_err_t sl_segment_create(const char *dir, int64_t base,
                           const sl_log_config_t *cfg, sl_segment_t **out);

/*
 * As sl_segment_create(), with <sfx> appended to the three file names
 * (the cleaner writes "<base>.log.cleaned" and friends). @thread any
 */
sl_err_t sl_segment_create_sfx(const char *dir, int64_t base, const char *sfx,
                               const sl_log_config_t *cfg, sl_segment_t **out);

/*
 * Rename the segment's three files from their current suffix to <sfx> (""
 * gives the plain names); open descriptors stay valid. The .log goes last
 * (it marks the step for recovery), except towards ".deleted", where it
 * goes first. Not atomic across the three: the cleaner's recovery
 * (log/cleaner.h) completes a half-done sequence.
 * @returns SL_OK, SL_ERR__IO, SL_ERR__INVAL   @thread partition owner
 */
sl_err_t sl_segment_rename_sfx(sl_segment_t *seg, const char *sfx);

/*
 * Open an existing segment; load both indexes when they look sane (sizes
 * are whole entries, entries increase and point inside the log, the last
 * offset entry names the batch found there), otherwise mark them for
 * rebuild (sl_segment_indexes_ok() false). Missing index files are created.
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM, SL_ERR__INVAL
 */
sl_err_t sl_segment_open(const char *dir, int64_t base,
                         const sl_log_config_t *cfg, sl_segment_t **out);

/* Take one more reference. @thread any */
void sl_segment_ref(sl_segment_t *seg);
/* Drop a reference; the last one closes the files (and frees). NULL ok.
 * @thread any */
void sl_segment_unref(sl_segment_t *seg);

/* Unlink the segment's files now; open descriptors stay valid for readers
 * still holding references. @thread partition owner */
sl_err_t sl_segment_unlink(sl_segment_t *seg);

/*
 * Walk the batches from file position <from> (0 or a batch boundary) to the
 * end, checking structure (magic, lengths, codec, counts, offsets >=
 * <min_offset> and increasing), and with SL_SEG_SCAN_CRC the checksums.
 * With SL_SEG_SCAN_INDEX the indexes are rebuilt (from must be 0).
 * Updates next offset, max timestamp and the first batch's timestamp.
 * *valid_end gets the end of the last good batch.
 * @returns SL_OK (the file ends exactly after a good batch),
 *          SL_ERR__CORRUPT (a bad or torn batch starts at *valid_end),
 *          SL_ERR__IO, SL_ERR__NOMEM
 * @thread partition owner   @locks partition lock held
 */
sl_err_t sl_segment_scan(sl_segment_t *seg, int64_t from, int64_t min_offset,
                         int flags, sl_segment_batch_cb cb, void *arg,
                         int64_t *valid_end);

/*
 * Recovery of one segment: CRC scan from 0 with index rebuild, truncate the
 * log at the first bad or torn batch, write both index files afresh.
 * *truncated gets the bytes cut. @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM
 * @thread partition owner   @locks partition lock held
 */
sl_err_t sl_segment_recover(sl_segment_t *seg, int64_t min_offset,
                            sl_segment_batch_cb cb, void *arg,
                            int64_t *truncated);

/* Rebuild both indexes from the log without CRC checks (a missing or
 * corrupt index on a trusted segment), truncating a structurally broken
 * tail. @returns as sl_segment_recover(). */
sl_err_t sl_segment_rebuild(sl_segment_t *seg, int64_t min_offset,
                            int64_t *truncated);

/* After a clean open: scan from the last offset index entry to the end to
 * learn the next offset and max timestamp. SL_ERR__CORRUPT when the tail is
 * not whole batches (the caller then recovers the segment). */
sl_err_t sl_segment_load_tail(sl_segment_t *seg, int64_t min_offset);

/*
 * Append <len> bytes holding whole batches with their final offsets (all
 * >= next offset; the caller validated them). Writes the log, then new
 * index entries, then publishes the new size. On failure the files are cut
 * back to their old sizes and SL_ERR__IO returned; *broken is set when even
 * that failed (the caller takes the log offline).
 * @thread partition owner   @locks partition lock held
 */
sl_err_t sl_segment_append(sl_segment_t *seg, const uint8_t *data, size_t len,
                           bool *broken);

/* Add the final time index entry (Kafka does so when a segment stops being
 * active) so the segment's max timestamp survives a clean restart. */
void sl_segment_seal(sl_segment_t *seg);

/* Cut the segment before the batch holding <offset> (and everything
 * after), rebuild its indexes. @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_segment_truncate_to(sl_segment_t *seg, int64_t offset);

/* For a sealed (non-active) segment: keep only every 64th index entry in
 * memory and read the entries between from the index files on lookups
 * (memory per GiB of log: ~100 KiB instead of ~6 MiB). A later recovery,
 * rebuild or truncation brings back the full arrays. Small indexes stay.
 * @thread partition owner   @locks partition lock held */
void sl_segment_compact(sl_segment_t *seg);

/* fdatasync the .log, and with <indexes> the two index files. @thread any */
sl_err_t sl_segment_sync(sl_segment_t *seg, bool indexes);

/*
 * Find the first batch whose last offset is >= <offset>, looking at bytes
 * below <limit> only (a committed size). @returns SL_OK with *b,
 * SL_ERR__NOENT (no such batch below limit), SL_ERR__CORRUPT, SL_ERR__IO.
 * @thread any (caller holds a reference)
 */
sl_err_t sl_segment_find(sl_segment_t *seg, int64_t offset, int64_t limit,
                         sl_seg_batch_t *b);

/* Find the first batch whose max timestamp is >= <ts> (the time index
 * gives the start). Errors as sl_segment_find(). @thread any */
sl_err_t sl_segment_find_time(sl_segment_t *seg, int64_t ts, int64_t limit,
                              sl_seg_batch_t *b);

/* Read the batch header at <pos> (bounded by <limit>) and check its
 * structure. @returns SL_OK, SL_ERR__NOENT (fewer bytes than a batch
 * before limit), SL_ERR__CORRUPT, SL_ERR__IO. @thread any */
sl_err_t sl_segment_read_batch(sl_segment_t *seg, int64_t pos, int64_t limit,
                               sl_seg_batch_t *b);

/* Accessors. size is the committed size (atomic); the others are stable
 * under the partition lock. */
int64_t sl_segment_base(const sl_segment_t *seg);
int64_t sl_segment_size(sl_segment_t *seg);
int sl_segment_fd(const sl_segment_t *seg);
int64_t sl_segment_next_offset(const sl_segment_t *seg);
int64_t sl_segment_max_ts(const sl_segment_t *seg);
/* last offset of the batch holding the max timestamp, -1 if none */
int64_t sl_segment_max_ts_offset(const sl_segment_t *seg);
/* max timestamp of the first batch, -1 if empty */
int64_t sl_segment_first_ts(const sl_segment_t *seg);
int64_t sl_segment_mtime_ms(const sl_segment_t *seg);
bool sl_segment_indexes_ok(const sl_segment_t *seg);
/* Whether either index has no room left (the partition rolls). */
bool sl_segment_index_full(sl_segment_t *seg);
/* Entries in the offset / time index (tests). */
size_t sl_segment_index_entries(sl_segment_t *seg, size_t *time_entries);
/* Update the index interval and caps after a config change. */
void sl_segment_set_config(sl_segment_t *seg, const sl_log_config_t *cfg);

/* Decode and check a batch header from 61 bytes at <p>; <room> is the
 * number of bytes from p to the limit. @returns SL_OK, SL_ERR__CORRUPT,
 * SL_ERR__NOENT (room smaller than the batch) */
sl_err_t sl_segment_decode_header(const uint8_t *p, int64_t room,
                                  sl_seg_batch_t *b);

/* "<dir>/<20-digit base><ext>" into buf[cap]. @returns false if too long */
bool sl_segment_path(char *buf, size_t cap, const char *dir, int64_t base,
                     const char *ext);

#endif
