/*
 * log/cleaner.h: log compaction of one partition log (cleanup.policy
 * compact, and compact,delete): keep the newest record of each key, drop
 * tombstones and transaction markers once their delete horizon passed,
 * keep offsets and order. Rules and the crash-safe segment swap are in
 * cleaner.c's file head and docs/storage.md ("Compaction").
 *
 * Owns: nothing long-lived; one call cleans one log. The caller (the
 * broker's cleaner thread) runs at most one clean of a log at a time.
 * Locking: reads and rewrites segments without the partition lock; takes
 * it only to pick segments and to swap the segment list.
 * Time is passed in (now_ms) so tests can fake the clock.
 */
#ifndef SL_LOG_CLEANER_H
#define SL_LOG_CLEANER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/partlog.h"

/* The per-partition checkpoint of the first dirty (not yet cleaned)
 * offset, in Kafka's one-entry offset checkpoint format. */
#define SL_CLEANER_CKPT "cleaner-offset-checkpoint"

typedef struct sl_cleaner_opts_s {
    /* log.cleaner.dedupe.buffer.size: bytes for the key -> offset map */
    int64_t dedupe_buffer_size;
    /* clean even if min.cleanable.dirty.ratio says no (tests, bench) */
    bool force;
} sl_cleaner_opts_t;

typedef struct sl_cleaner_stats_s {
    bool cleaned;          /* a pass ran (something was cleanable) */
    int64_t first_dirty;   /* the dirty section cleaned: [first_dirty, */
    int64_t end;           /*   end) */
    int64_t bytes_read;    /* log bytes read, map building included */
    int64_t bytes_written; /* bytes of the cleaned segments */
    int64_t records_read;  /* records looked at while rewriting */
    int64_t records_kept;
    int64_t map_keys; /* distinct keys of the dirty section */
    int32_t groups_swapped;
    int32_t segments_removed;
    int64_t lock_us_max; /* longest hold of the partition lock by a swap */
} sl_cleaner_stats_t;

/* Defaults: Kafka's 128 MiB map, no force. */
void sl_cleaner_opts_init(sl_cleaner_opts_t *o);

/*
 * One cleaning pass over <pl> if its config says compact and something is
 * due (dirty ratio, max.compaction.lag.ms, a delete horizon that passed,
 * or o->force): build the key map from the dirty section, rewrite the
 * cleanable segments (never the active one, nothing at or above the high
 * watermark or younger than min.compaction.lag.ms) in groups that fit one
 * segment, swap each group in atomically, write the cleaner checkpoint.
 * A group that a concurrent truncation or DeleteRecords changed is
 * skipped. @thread the cleaner's   @locks takes the partition lock briefly
 * @returns SL_OK (st->cleaned says whether a pass ran), SL_ERR__IO,
 *          SL_ERR__NOMEM, SL_ERR__CORRUPT (a bad batch; nothing swapped)
 */
sl_err_t sl_cleaner_clean(sl_partlog_t *pl, const sl_cleaner_opts_t *o,
                          int64_t now_ms, sl_cleaner_stats_t *st);

/*
 * Recovery of the swap protocol in partition directory <dir>, before the
 * log is opened: a "<B>.log.swap" means a cleaned segment was committed;
 * the old segments it replaces (bases in (B, last offset of the swap])
 * are deleted and the swap files renamed to their final names (a damaged
 * swap, CRC or structure, is dropped while <B>.log is still there, else
 * cut at its first bad batch). Leftover
 * ".cleaned" files (an uncommitted clean) are left to the partition log's
 * open, which removes them with the ".deleted" ones.
 * @thread any (before the log is open)
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM
 */
sl_err_t sl_cleaner_recover_dir(const char *dir);

#endif
