/*
 * api/fetch_session.h: incremental fetch sessions (KIP-227).
 *
 * A consumer or follower that fetches the same partitions again and again
 * opens a session (session_id 0, epoch 0). The broker remembers the
 * partitions and what it last told the client about each; later requests
 * (session_id N, epoch e+1) carry only what changed, and responses carry
 * only partitions with news. Epoch -1 closes a session.
 *
 * The cache holds at most max.incremental.fetch.session.cache.slots
 * sessions; when full, a new session evicts the least recently used one
 * idle for longer than min.incremental.fetch.session.eviction.ms (Kafka
 * also weighs session size; Sluice uses plain LRU), else no session is
 * created (id 0 in the response, the client goes on with full fetches).
 *
 * Owns: its sessions. Thread-safe: the cache has a lock; a session in use
 * is held by one request at a time (SL_ERR_... for a concurrent second use
 * is not needed: Kafka clients never overlap fetches of one session).
 */
#ifndef SL_API_FETCH_SESSION_H
#define SL_API_FETCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/wire.h"

typedef struct sl_fsess_cache_s sl_fsess_cache_t;
typedef struct sl_fsess_s sl_fsess_t;

/* One partition of a session: what the client asked and what it was told. */
typedef struct sl_fsess_part_s {
    char *topic; /* owned; "" when the session works by topic id */
    sl_uuid_t topic_id;
    int32_t partition;
    int64_t fetch_offset;
    int64_t log_start_offset; /* the follower's, for replication */
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    /* Last values sent, for deciding whether an incremental response
     * includes the partition. */
    bool sent;
    int64_t hw_sent;
    int64_t lso_sent;
    int64_t log_start_sent;
    int16_t error_sent;
} sl_fsess_part_t;

/* What a request means for sessions. */
typedef enum sl_fsess_kind_e {
    SL_FSESS_SESSIONLESS, /* full fetch, no session kept */
    SL_FSESS_NEW,         /* full fetch, then keep a new session */
    SL_FSESS_INCREMENTAL, /* fetch the session's partitions */
} sl_fsess_kind_e;

sl_fsess_cache_t *sl_fsess_cache_create(int slots, int64_t eviction_ms);
void sl_fsess_cache_destroy(sl_fsess_cache_t *c);

/*
 * Classify a request by its session id and epoch, and for an incremental
 * fetch, find and take the session.
 * @returns SL_OK with *kind set (and *s for INCREMENTAL), or the Kafka error
 * for the whole response: FETCH_SESSION_ID_NOT_FOUND,
 * INVALID_FETCH_SESSION_EPOCH. Epoch -1 with an id closes that session and
 * is SESSIONLESS.
 */
sl_err_t sl_fsess_begin(sl_fsess_cache_t *c, int32_t session_id, int32_t epoch,
                        int64_t now_ms, sl_fsess_kind_e *kind, sl_fsess_t **s);

/* For NEW: create an empty session (NULL when the cache refuses; the
 * response then carries session id 0). */
sl_fsess_t *sl_fsess_create(sl_fsess_cache_t *c, int64_t now_ms);

/* Add or update a partition of the session from the request. <topic> may
 * be NULL when keyed by id. @returns the entry, NULL when out of memory. */
sl_fsess_part_t *sl_fsess_upsert(sl_fsess_t *s, const char *topic,
                                 int32_t topic_len, const sl_uuid_t *topic_id,
                                 int32_t partition);
/* Remove a partition (forgotten topics). */
void sl_fsess_forget(sl_fsess_t *s, const char *topic, int32_t topic_len,
                     const sl_uuid_t *topic_id, int32_t partition);

/* The session's partitions, in insertion order. */
sl_fsess_part_t *sl_fsess_parts(sl_fsess_t *s, int *n);

/*
 * Whether an incremental response includes <p>, given what fetching it
 * found; updates what was sent. Full responses include every partition and
 * call this only to record what was sent.
 */
bool sl_fsess_note(sl_fsess_part_t *p, bool in_request, bool has_records,
                   int64_t hw, int64_t lso, int64_t log_start, int16_t error);

int32_t sl_fsess_id(const sl_fsess_t *s);
/* The epoch the client must send next (after this request). */
int32_t sl_fsess_next_epoch(const sl_fsess_t *s);

/* Done with the session for this request: the expected epoch advances.
 * @thread the request's */
void sl_fsess_end(sl_fsess_cache_t *c, sl_fsess_t *s, int64_t now_ms);

int sl_fsess_count(sl_fsess_cache_t *c);

#endif
