/*
 * cluster/producer_ids.h: the producer id allocator behind InitProducerId
 * without a transactional id. Ids are unique across restarts, also after
 * kill -9: ids are handed out from blocks of SL_PID_BLOCK, and the end of
 * a block is on disk (<data dir>/__sluice_metadata/producer-ids, written
 * atomically and fsynced) before the first id of the block is returned. A
 * restart continues after the last persisted block end, skipping what was
 * left of the block (as Kafka's ProducerIdManager skips the rest of its
 * block).
 *
 * File format (ASCII): "0\n<next block start>\n" (version, then the first
 * id no process has been allowed to hand out).
 *
 * Owned by: api/broker.c (sl_api_s). Locking: one mutex inside; any thread.
 */
#ifndef SL_CLUSTER_PRODUCER_IDS_H
#define SL_CLUSTER_PRODUCER_IDS_H

#include <stdint.h>

#include "core/err.h"

#define SL_PID_BLOCK 1000

typedef struct sl_pid_alloc_s sl_pid_alloc_t;

/* Read the persisted high-water mark of <data_dir> (none: start at 0).
 * @returns SL_OK, SL_ERR__IO, SL_ERR__NOMEM, SL_ERR__CORRUPT (unreadable
 *          file: refusing to start is safer than reusing ids) */
sl_err_t sl_pid_alloc_open(const char *data_dir, sl_pid_alloc_t **out);
void sl_pid_alloc_close(sl_pid_alloc_t *a);

/* A new producer id. Persists a new block end first when the block is
 * used up. @thread any @returns SL_OK, SL_ERR__IO (nothing handed out) */
sl_err_t sl_pid_alloc_next(sl_pid_alloc_t *a, int64_t *id);

#endif
