/*
 * group/group.h: the classic group coordinator (JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
 * ListGroups, DeleteGroups, OffsetDelete) as a state machine.
 *
 * The coordinator is driven by events (the functions below) and a clock the
 * caller passes in (now_ms, wall-clock milliseconds); it has no thread and
 * reads no clock, so tests fake time. sl_group_coord_tick() fires session
 * timeouts, rebalance timeouts, the initial rebalance delay, pending-sync
 * timeouts and offset expiry; sl_group_coord_next_deadline() says when to
 * tick next.
 *
 * Inputs are plain structs, independent of protocol versions; the API layer
 * maps wire requests onto them. Strings are sl_str_t slices (len -1 = null)
 * that the coordinator copies: the caller's buffers may die after the call.
 *
 * Answers that can wait (JoinGroup, SyncGroup, OffsetCommit) go through a
 * completion callback, which runs either before the call returns or later
 * from sl_group_coord_tick(), another member's event or a store completion.
 * Result pointers are valid only during the callback.
 *
 * Locking: one mutex per coordinator. Callbacks are queued while it is held
 * and invoked after it is released, so a callback may call back into the
 * coordinator.
 *
 * Persistence: every change Kafka writes to __consumer_offsets is handed to
 * sl_group_store_t.append() as Kafka's record bytes (see group/records.c);
 * sl_group_coord_load() rebuilds state from those records.
 *
 * Owned by: whoever creates the coordinator (the broker, later).
 */
#ifndef SL_GROUP_GROUP_H
#define SL_GROUP_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/wire.h"

typedef struct sl_group_coord_s sl_group_coord_t;

typedef enum sl_group_state_e {
    SL_GROUP_STATE_EMPTY = 0,
    SL_GROUP_STATE_PREPARING_REBALANCE,
    SL_GROUP_STATE_COMPLETING_REBALANCE,
    SL_GROUP_STATE_STABLE,
    SL_GROUP_STATE_DEAD,
} sl_group_state_e;

/* Kafka's name of a state ("Empty", "PreparingRebalance", ...). */
const char *sl_group_state_name(sl_group_state_e s);

/* Broker settings the coordinator obeys (Kafka's keys and defaults). */
typedef struct sl_group_config_s {
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int32_t max_size;                   /* group.max.size */
    int32_t new_member_join_timeout_ms; /* Kafka: 5 minutes */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes */
    int64_t retention_check_ms;        /* offsets.retention.check.interval.ms */
    int32_t offset_metadata_max_bytes; /* offset.metadata.max.bytes */
    int32_t offsets_partitions;        /* offsets.topic.num.partitions */
} sl_group_config_t;

/* Fill <cfg> with Kafka's defaults. */
void sl_group_config_defaults(sl_group_config_t *cfg);

/* Called once when an append finished: SL_OK, or why it failed. */
typedef void (*sl_group_append_done_cb)(void *done_arg, sl_err_t err);

/*
 * Where records go. append() receives one record for partition <partition>
 * of __consumer_offsets: <key> and <value> (value NULL = tombstone). The
 * bytes are valid during the call only. append() must not call <done>
 * before it returns (it is called with the coordinator locked); <done> may
 * run later from any thread. has_pending_txn may be NULL: the hook for
 * require_stable (UNSTABLE_OFFSET_COMMIT) once transactions exist.
 */
typedef struct sl_group_store_s {
    void *ctx;
    void (*append)(void *ctx, int32_t partition, const uint8_t *key,
                   size_t key_len, const uint8_t *value, size_t value_len,
                   sl_group_append_done_cb done, void *done_arg);
    bool (*has_pending_txn)(void *ctx, sl_str_t group_id, sl_str_t topic,
                            int32_t partition);
    /* May be NULL. Does a consumer-protocol group (KIP-848) with members
     * own <group_id>? Its offsets, kept here, then do not expire. Called
     * with the coordinator locked: must not call back into it. */
    bool (*group_in_use)(void *ctx, sl_str_t group_id);
} sl_group_store_t;

/* Create a coordinator; <store> is copied (its ctx must outlive it).
 * @returns NULL when out of memory. */
sl_group_coord_t *sl_group_coord_create(const sl_group_config_t *cfg,
                                        const sl_group_store_t *store);

/* Destroy: parked requests are answered COORDINATOR_NOT_AVAILABLE. The
 * store must still complete (or fail) every append in flight; the memory is
 * freed after the last one, and their commits are answered then. */
void sl_group_coord_destroy(sl_group_coord_t *gc);

/* Shutdown (Kafka's group unload): answer every parked JoinGroup and
 * SyncGroup NOT_COORDINATOR now, and every later one at once, so a broker
 * that stops does not wait for rebalances of clients that went away.
 * Groups and offsets stay as they are. @locks coordinator */
void sl_group_coord_unload(sl_group_coord_t *gc);

/* Fire every deadline <= now_ms. @thread any @locks coordinator */
void sl_group_coord_tick(sl_group_coord_t *gc, int64_t now_ms);

/* Earliest pending deadline, INT64_MAX if none. */
int64_t sl_group_coord_next_deadline(sl_group_coord_t *gc);

/* Kafka's partition of __consumer_offsets for <group_id>:
 * abs(javaStringHashCode(group_id)) % partitions, abs(INT_MIN) = 0. */
int32_t sl_group_partition_for(sl_str_t group_id, int32_t partitions);

/* Java's String.hashCode() of the UTF-8 string (decoded to UTF-16). */
int32_t sl_group_java_hash(sl_str_t s);

/* ---- JoinGroup -------------------------------------------------------- */

typedef struct sl_group_protocol_s {
    sl_str_t name;
    sl_bytes_t metadata;
} sl_group_protocol_t;

typedef struct sl_group_join_req_s {
    sl_str_t group_id;
    sl_str_t member_id;         /* "" on the first join */
    sl_str_t group_instance_id; /* null for dynamic members */
    sl_str_t protocol_type;
    const sl_group_protocol_t *protocols;
    int32_t protocols_count;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* -1 (v0): the session timeout */
    sl_str_t client_id;
    sl_str_t client_host;
    sl_str_t reason;
    bool require_known_member_id;  /* v4+: KIP-394 */
    bool supports_skip_assignment; /* v9+: KIP-814 */
} sl_group_join_req_t;

typedef struct sl_group_join_member_s {
    sl_str_t member_id;
    sl_str_t group_instance_id;
    sl_bytes_t metadata;
} sl_group_join_member_t;

typedef struct sl_group_join_result_s {
    sl_err_t error;
    int32_t generation_id;
    sl_str_t protocol_type; /* null when none chosen */
    sl_str_t protocol_name;
    sl_str_t leader;
    sl_str_t member_id;
    bool skip_assignment; /* static leader rejoined without rebalance */
    const sl_group_join_member_t *members; /* leader only */
    int32_t members_count;
} sl_group_join_result_t;

typedef void (*sl_group_join_cb)(void *arg, const sl_group_join_result_t *r);

/* Join (or rejoin) <req->group_id>; <cb> runs once. @locks coordinator */
void sl_group_join(sl_group_coord_t *gc, int64_t now_ms,
                   const sl_group_join_req_t *req, sl_group_join_cb cb,
                   void *arg);

/* ---- SyncGroup -------------------------------------------------------- */

typedef struct sl_group_assignment_s {
    sl_str_t member_id;
    sl_bytes_t assignment;
} sl_group_assignment_t;

typedef struct sl_group_sync_req_s {
    sl_str_t group_id;
    sl_str_t member_id;
    sl_str_t group_instance_id;
    sl_str_t protocol_type; /* null before v5 */
    sl_str_t protocol_name; /* null before v5 */
    int32_t generation_id;
    const sl_group_assignment_t *assignments; /* leader only */
    int32_t assignments_count;
} sl_group_sync_req_t;

typedef struct sl_group_sync_result_s {
    sl_err_t error;
    sl_str_t protocol_type;
    sl_str_t protocol_name;
    sl_bytes_t assignment;
} sl_group_sync_result_t;

typedef void (*sl_group_sync_cb)(void *arg, const sl_group_sync_result_t *r);

void sl_group_sync(sl_group_coord_t *gc, int64_t now_ms,
                   const sl_group_sync_req_t *req, sl_group_sync_cb cb,
                   void *arg);

/* ---- Heartbeat, LeaveGroup -------------------------------------------- */

/* @returns SL_OK or the Kafka error of the heartbeat. */
sl_err_t sl_group_heartbeat(sl_group_coord_t *gc, int64_t now_ms,
                            sl_str_t group_id, sl_str_t member_id,
                            sl_str_t group_instance_id, int32_t generation_id);

typedef struct sl_group_leave_member_s {
    sl_str_t member_id;         /* "" when only the instance id is known */
    sl_str_t group_instance_id; /* null for dynamic members */
} sl_group_leave_member_t;

/* Remove <n> members; errors[i] gets each member's error.
 * @returns the top-level error: UNKNOWN_MEMBER_ID for an unknown group,
 * COORDINATOR_NOT_AVAILABLE for a dead one (errors[] repeat it). */
sl_err_t sl_group_leave(sl_group_coord_t *gc, int64_t now_ms, sl_str_t group_id,
                        const sl_group_leave_member_t *m, int32_t n,
                        sl_err_t *errors);

/* ---- Offsets (group/offsets.c) ---------------------------------------- */

typedef struct sl_group_tp_s {
    sl_str_t topic;
    int32_t partition;
} sl_group_tp_t;

typedef struct sl_group_commit_part_s {
    sl_str_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch; /* -1 if unknown */
    sl_str_t metadata;
} sl_group_commit_part_t;

typedef struct sl_group_commit_req_s {
    sl_str_t group_id;
    sl_str_t member_id;         /* "" for simple (admin) commits */
    sl_str_t group_instance_id; /* null unless static */
    int32_t generation_id;      /* -1 for simple commits */
    int64_t retention_ms;       /* v2-v4 retention_time_ms, -1 = default */
    const sl_group_commit_part_t *parts;
    int32_t parts_count;
} sl_group_commit_req_t;

/* errors[i] answers parts[i]; runs once every append finished. */
typedef void (*sl_group_commit_cb)(void *arg, const sl_err_t *errors,
                                   int32_t count);

void sl_group_offset_commit(sl_group_coord_t *gc, int64_t now_ms,
                            const sl_group_commit_req_t *req,
                            sl_group_commit_cb cb, void *arg);

/* As sl_group_offset_commit() without the member and generation checks:
 * how a committed transaction's offsets are applied (group/txn_offsets.c). */
void sl_group_offset_commit_txn(sl_group_coord_t *gc, int64_t now_ms,
                                const sl_group_commit_req_t *req,
                                sl_group_commit_cb cb, void *arg);

/* TxnOffsetCommit v3+ member checks (Kafka's rules for transactional
 * commits): with a generation, member id or instance id they must match the
 * group; without, any group is fine (also one with members). An unknown
 * group is fine for generation -1 (ILLEGAL_GENERATION otherwise).
 * @returns SL_OK or the Kafka error for every partition. */
sl_err_t sl_group_txn_offset_validate(sl_group_coord_t *gc, int64_t now_ms,
                                      sl_str_t group_id, sl_str_t member_id,
                                      sl_str_t group_instance_id,
                                      int32_t generation_id);

/* ---- Pending transactional offsets (group/txn_offsets.c) --------------- */

/*
 * TxnOffsetCommit's offsets wait here, per producer id, until the
 * transaction ends: materialised (committed) on its COMMIT marker, dropped
 * on ABORT. While any is pending for a group's partition, OffsetFetch with
 * require_stable answers UNSTABLE_OFFSET_COMMIT for it. Own lock, a leaf:
 * safe to call with the group or transaction coordinator's lock held.
 */
typedef struct sl_group_txn_pending_s sl_group_txn_pending_t;

/* @returns NULL when out of memory. */
sl_group_txn_pending_t *sl_group_txn_pending_create(void);
void sl_group_txn_pending_destroy(sl_group_txn_pending_t *p);

/* Record <n> offsets of <group_id> for <producer_id>; a later offset for
 * the same group and partition replaces the earlier one.
 * @returns SL_OK or SL_ERR__NOMEM (nothing recorded). */
sl_err_t sl_group_txn_pending_add(sl_group_txn_pending_t *p,
                                  int64_t producer_id, sl_str_t group_id,
                                  const sl_group_commit_part_t *parts,
                                  int32_t n);

/* Whether <group_id>'s <topic>/<partition> has a pending offset. */
bool sl_group_txn_pending_has(sl_group_txn_pending_t *p, sl_str_t group_id,
                              sl_str_t topic, int32_t partition);

/* Pending offsets of <producer_id> (all groups). */
int32_t sl_group_txn_pending_count(sl_group_txn_pending_t *p,
                                   int64_t producer_id);

/*
 * The transaction of <producer_id> ended: on <commit> its pending offsets
 * are committed to <gc> (one sl_group_offset_commit_txn() per group; <gc>
 * may be NULL in tests), on abort dropped. Idempotent: a second call finds
 * nothing pending.
 */
void sl_group_txn_complete(sl_group_txn_pending_t *p, sl_group_coord_t *gc,
                           int64_t now_ms, int64_t producer_id, bool commit);

typedef struct sl_group_offset_s {
    sl_str_t topic;
    int32_t partition;
    int64_t offset; /* -1 when nothing is committed */
    int32_t leader_epoch;
    sl_str_t metadata;
    sl_err_t error;
} sl_group_offset_t;

/* Fetch committed offsets of <tps> (NULL: every committed partition),
 * allocated from <a> with strings copied. @returns the group-level error
 * (SL_ERR__NOMEM if <a> is full). */
sl_err_t sl_group_offset_fetch(sl_group_coord_t *gc, sl_str_t group_id,
                               const sl_group_tp_t *tps, int32_t n,
                               bool require_stable, sl_arena_t *a,
                               sl_group_offset_t **out, int32_t *out_n);

/* OffsetDelete: errors[i] answers tps[i]. @returns the group-level error. */
sl_err_t sl_group_offset_delete(sl_group_coord_t *gc, int64_t now_ms,
                                sl_str_t group_id, const sl_group_tp_t *tps,
                                int32_t n, sl_err_t *errors);

/* ---- Describe, List, Delete (group/coord.c) --------------------------- */

typedef struct sl_group_member_desc_s {
    sl_str_t member_id;
    sl_str_t group_instance_id;
    sl_str_t client_id;
    sl_str_t client_host;
    sl_bytes_t metadata;   /* empty unless Stable */
    sl_bytes_t assignment; /* empty unless Stable */
} sl_group_member_desc_t;

typedef struct sl_group_desc_s {
    sl_str_t group_id;
    sl_group_state_e state;
    sl_str_t protocol_type;
    sl_str_t protocol_name; /* empty unless Stable */
    sl_group_member_desc_t *members;
    int32_t members_count;
} sl_group_desc_t;

/* Describe one group into <out> (allocated from <a>). An unknown group is
 * described as Dead and GROUP_ID_NOT_FOUND is returned (the API layer
 * answers NONE before DescribeGroups v6). */
sl_err_t sl_group_describe(sl_group_coord_t *gc, sl_str_t group_id,
                           sl_arena_t *a, sl_group_desc_t *out);

typedef struct sl_group_listing_s {
    sl_str_t group_id;
    sl_str_t protocol_type;
    sl_group_state_e state;
} sl_group_listing_t;

/* List groups whose state name is in <states> and whose type ("classic")
 * is in <types> (n == 0: no filter; names compared case-insensitively). */
sl_err_t sl_group_list(sl_group_coord_t *gc, const sl_str_t *states,
                       int32_t n_states, const sl_str_t *types, int32_t n_types,
                       sl_arena_t *a, sl_group_listing_t **out, int32_t *out_n);

/* DeleteGroups for one group: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP or OK
 * (tombstones for its metadata and offsets are appended). */
sl_err_t sl_group_delete(sl_group_coord_t *gc, int64_t now_ms,
                         sl_str_t group_id);

/* ---- Loading (group/records.c) ---------------------------------------- */

/* Apply one record read back from __consumer_offsets (value NULL =
 * tombstone). Later records override earlier ones. Members of loaded
 * groups get a fresh session starting at <now_ms>.
 * @returns SL_OK, SL_ERR__CORRUPT for bad bytes (state is unchanged),
 *          SL_ERR__UNSUPPORTED for record types of other protocols. */
sl_err_t sl_group_coord_load(sl_group_coord_t *gc, int64_t now_ms,
                             const uint8_t *key, size_t key_len,
                             const uint8_t *value, size_t value_len);

#endif
