/*
 * log/flusher.h: group commit. One flusher thread fdatasyncs each dirty
 * partition log once for everything appended since its last sync and then
 * completes every waiter that sync made durable. acks=all produce
 * registers a waiter after its append; the callback runs on the flusher
 * thread and hands the completion back to the network thread.
 *
 * Modes:
 *   SL_FLUSH_ON_ACK_ALL (default): a waiter makes its partition flush at
 *     the next opportunity (waiters arriving during a sync share the next
 *     one); flush.messages / flush.ms flush the others.
 *   SL_FLUSH_POLICY_ONLY: Kafka's own rule: waiters complete at once
 *     (durable = in the page cache); only flush.messages / flush.ms sync.
 *
 * An I/O error fails the partition's waiters with SL_ERR__IO (the broker
 * answers KAFKA_STORAGE_ERROR) and the partition log goes offline.
 *
 * Owns: its thread, the per-partition slots and waiters. Not the partition
 * logs (sl_flusher_remove() before closing one). Thread-safe.
 */
#ifndef SL_LOG_FLUSHER_H
#define SL_LOG_FLUSHER_H

#include <stdint.h>

#include "core/err.h"
#include "log/partlog.h"

typedef struct sl_flusher_s sl_flusher_t;

/* Called on the flusher thread: err SL_OK when offsets below <durable>
 * (which includes the one waited for) are on disk, SL_ERR__IO on a disk
 * failure, SL_ERR__CLOSED when the partition was removed. */
typedef void (*sl_flusher_cb)(void *arg, sl_err_t err, int64_t durable);

typedef enum sl_flush_mode_e {
    SL_FLUSH_ON_ACK_ALL = 0,
    SL_FLUSH_POLICY_ONLY = 1,
} sl_flush_mode_e;

typedef struct sl_flusher_opts_s {
    sl_flush_mode_e mode;
    int64_t tick_ms;         /* how often flush.ms is checked; default 100 */
    int64_t linger_ms;       /* wait this long after the first waiter to gather
                                more (0 = none, the default) */
    int64_t (*now_ms)(void); /* wall clock; NULL = CLOCK_REALTIME */
} sl_flusher_opts_t;

void sl_flusher_opts_init(sl_flusher_opts_t *o);

/* Start the thread. @returns SL_OK, SL_ERR__NOMEM, SL_ERR__IO */
sl_err_t sl_flusher_create(const sl_flusher_opts_t *o, sl_flusher_t **out);

/* Stop the thread; remaining waiters get a last flush and their callbacks.
 * Partition logs are untouched (still owned by their owner). */
void sl_flusher_destroy(sl_flusher_t *f);

/* Track a partition log. @returns SL_OK, SL_ERR__NOMEM */
sl_err_t sl_flusher_add(sl_flusher_t *f, sl_partlog_t *pl);

/* Stop tracking; pending waiters get SL_ERR__CLOSED (on this thread).
 * Waits for a flush of <pl> in progress. */
void sl_flusher_remove(sl_flusher_t *f, sl_partlog_t *pl);

/*
 * Call cb(arg, ...) once offset <offset> of <pl> is durable (or failed),
 * on the flusher thread. Callbacks of one partition fire in registration
 * order. In SL_FLUSH_POLICY_ONLY mode cb runs at once, on this thread.
 * @thread any   @returns SL_OK, SL_ERR__NOMEM, SL_ERR__NOENT (not added)
 */
sl_err_t sl_flusher_wait(sl_flusher_t *f, sl_partlog_t *pl, int64_t offset,
                         sl_flusher_cb cb, void *arg);

/* After appends without waiters: lets flush.messages act at once. */
void sl_flusher_kick(sl_flusher_t *f, sl_partlog_t *pl);

/* Partition flushes performed so far (tests, metrics). */
int64_t sl_flusher_flushes(sl_flusher_t *f);

#endif
