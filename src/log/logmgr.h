/*
 * log/logmgr.h: the log manager: every partition log of one data
 * directory (log.dirs): loads them at start, creates, finds and deletes
 * them by (topic, partition), owns the clean-shutdown marker
 * (<dir>/.kafka_cleanshutdown), and runs retention and recovery-point
 * checkpoints from a tick the broker calls (sl_logmgr_tick(), e.g. once a
 * second from a timer; it acts every log.retention.check.interval.ms and
 * every checkpoint interval).
 *
 * Owned by: the broker (one per data directory). Owns the partition logs;
 * pointers from sl_logmgr_get() stay valid until sl_logmgr_delete() of that
 * partition or sl_logmgr_close(): the caller stops using a partition
 * before deleting it. Thread-safe: one mutex guards the table.
 */
#ifndef SL_LOG_LOGMGR_H
#define SL_LOG_LOGMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/partlog.h"

#define SL_LOGMGR_CLEAN_MARKER ".kafka_cleanshutdown"

typedef struct sl_logmgr_s sl_logmgr_t;

typedef struct sl_logmgr_opts_s {
    const char *dir;                 /* the data directory */
    const sl_log_config_t *defaults; /* for logs found on disk */
    int64_t retention_check_ms;      /* default 300000 */
    int64_t checkpoint_interval_ms;  /* default 60000 */
    sl_flusher_t *flusher;           /* optional: logs are added to it */
    int64_t now_ms;
} sl_logmgr_opts_t;

void sl_logmgr_opts_init(sl_logmgr_opts_t *o);

/* Open the directory (created if missing) and every "<topic>-<p>" in it;
 * leftovers of deletions ("*-delete") are removed. Without the clean
 * marker each log is recovered. The marker is removed (and the directory
 * synced) before this returns. A partition that fails to open is logged
 * and skipped (*failed counts them; NULL ok).
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_logmgr_open(const sl_logmgr_opts_t *o, sl_logmgr_t **out,
                        int *failed);

/* Flush and close every log; write the clean marker if all closed well
 * and none failed to load at open. NULL ok. @returns the first error */
sl_err_t sl_logmgr_close(sl_logmgr_t *m, int64_t now_ms);

/* Free everything without flushing or writing the marker (a crash, for
 * tests). */
void sl_logmgr_abandon(sl_logmgr_t *m);

/* @returns SL_OK with *pl, or SL_ERR__NOENT */
sl_err_t sl_logmgr_get(sl_logmgr_t *m, const char *topic, int32_t partition,
                       sl_partlog_t **pl);

/* Create the log (or return the existing one). cfg NULL = the defaults;
 * topic_id may be NULL. Topic names: 1-249 of [a-zA-Z0-9._-] and not "."
 * or "..". @returns SL_OK, SL_ERR__INVAL, SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_logmgr_create(sl_logmgr_t *m, const char *topic, int32_t partition,
                          const uint8_t *topic_id, const sl_log_config_t *cfg,
                          int64_t now_ms, sl_partlog_t **pl);

/* Delete a partition log and its directory (DeleteTopics). */
sl_err_t sl_logmgr_delete(sl_logmgr_t *m, const char *topic, int32_t partition);

/* Retention and checkpoints when due. *deleted (NULL ok) gets the segments
 * removed. Holds the table lock meanwhile (get/create wait).
 * @thread any (one caller at a time) */
sl_err_t sl_logmgr_tick(sl_logmgr_t *m, int64_t now_ms, int *deleted);

/* Number of partition logs. */
size_t sl_logmgr_count(sl_logmgr_t *m);

/* Whether the last open found the clean marker. */
bool sl_logmgr_was_clean(const sl_logmgr_t *m);

#endif
