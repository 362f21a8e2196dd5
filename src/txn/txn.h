/*
 * txn/txn.h: the transaction coordinator (InitProducerId with a
 * transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * DescribeTransactions, ListTransactions, transaction timeouts and
 * transactional-id expiry) as a state machine, with Kafka 4.0's rules for
 * transactions v1 and v2 (KIP-890: the epoch is bumped at every end).
 *
 * Driven by events (the functions below) and a clock the caller passes in
 * (now_ms, wall-clock milliseconds); it has no thread and reads no clock,
 * so tests fake time. sl_txn_coord_tick() aborts timed-out transactions,
 * expires idle transactional ids and retries failed marker writes and
 * appends; sl_txn_coord_next_deadline() says when to tick next.
 *
 * Inputs are plain structs, independent of protocol versions; the API layer
 * maps wire requests onto them (and maps errors with sl_txn_wire_error()).
 * Strings are sl_str_t slices (len -1 = null) that the coordinator copies.
 *
 * Answers go through one callback type, sl_txn_cb, which runs exactly once:
 * either before the call returns or later, from a store or marker
 * completion, sl_txn_coord_tick() or sl_txn_coord_destroy().
 *
 * Three collaborators, given at creation:
 *  - sl_txn_store_t: appends records to __transaction_state in Kafka's
 *    format (txn/records.c); sl_txn_coord_load() reads them back.
 *  - sl_txn_markers_t: writes COMMIT/ABORT control batches to every
 *    partition of a transaction; its optional txn_complete hook tells the
 *    group coordinator to materialise (commit) or drop (abort) the pending
 *    transactional offsets of that producer.
 *  - sl_txn_pid_source_t: hands out producer ids (the idempotence work owns
 *    the allocator).
 *
 * Lifecycle: a new coordinator is "loading" (every request is answered
 * COORDINATOR_LOAD_IN_PROGRESS) until sl_txn_coord_load_done(), which also
 * finishes every transaction the log left in PrepareCommit/PrepareAbort.
 *
 * Locking: one mutex per coordinator. Callbacks are queued while it is held
 * and invoked after it is released, so a callback may call back in.
 *
 * Owned by: whoever creates the coordinator (the broker, at wiring time). */
#ifndef SL_TXN_TXN_H
#define SL_TXN_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/wire.h"

typedef struct sl_txn_coord_s sl_txn_coord_t;

/* Kafka's state ids, as stored in TransactionLogValue.TransactionStatus. */
typedef enum sl_txn_state_e {
    SL_TXN_STATE_EMPTY = 0,
    SL_TXN_STATE_ONGOING = 1,
    SL_TXN_STATE_PREPARE_COMMIT = 2,
    SL_TXN_STATE_PREPARE_ABORT = 3,
    SL_TXN_STATE_COMPLETE_COMMIT = 4,
    SL_TXN_STATE_COMPLETE_ABORT = 5,
    SL_TXN_STATE_DEAD = 6,
    SL_TXN_STATE_PREPARE_EPOCH_FENCE = 7,
} sl_txn_state_e;

/* Kafka's name of a state ("Empty", "Ongoing", ...). */
const char *sl_txn_state_name(sl_txn_state_e s);

/* The state named <name> (exact, case-sensitive as Kafka), -1 if none. */
int sl_txn_state_from_name(sl_str_t name);

/* Broker settings the coordinator obeys (Kafka's keys and defaults). */
typedef struct sl_txn_config_s {
    int32_t max_timeout_ms;      /* transaction.max.timeout.ms: 900000 */
    int64_t id_expiration_ms;    /* transactional.id.expiration.ms: 7 d */
    int32_t partitions;          /* transaction.state.log.num.partitions */
    int32_t offsets_partitions;  /* offsets.topic.num.partitions */
    int16_t transaction_version; /* server feature transaction.version: 2 */
    int32_t coordinator_epoch;   /* leader epoch of __transaction_state */
    int32_t retry_backoff_ms;    /* before re-sending markers/appends */
    /* true: EndTxn is answered once the markers are written and the
     * Complete* record is logged (a commit is visible when acknowledged);
     * false: once Prepare* is logged, as Kafka does. */
    bool end_waits_markers;
} sl_txn_config_t;

/* Fill <cfg> with Kafka's defaults (end_waits_markers true). */
void sl_txn_config_defaults(sl_txn_config_t *cfg);

/* A completion of an append or a marker write: SL_OK or why it failed. */
typedef void (*sl_txn_done_cb)(void *done_arg, sl_err_t err);

typedef struct sl_txn_tp_s {
    sl_str_t topic;
    int32_t partition;
} sl_txn_tp_t;

/*
 * Where records go: one record for partition <partition> of
 * __transaction_state, <key> and <value> (NULL = tombstone) in Kafka's
 * format; the bytes are valid during the call only. append() must not call
 * <done> before it returns (the coordinator is locked); <done> may run later
 * from any thread, with SL_OK only once the record is durable.
 */
typedef struct sl_txn_store_s {
    void *ctx;
    void (*append)(void *ctx, int32_t partition, const uint8_t *key,
                   size_t key_len, const uint8_t *value, size_t value_len,
                   sl_txn_done_cb done, void *done_arg);
} sl_txn_store_t;

/*
 * write() appends a control batch (COMMIT if <commit>, else ABORT) for
 * <producer_id>/<producer_epoch> with <coordinator_epoch> to each of the
 * <n> partitions; same calling rules as append(). It reports SL_OK once
 * every partition has its marker (a partition that no longer exists counts
 * as done, as in Kafka); any error makes the coordinator retry all of them
 * after retry_backoff_ms (markers are idempotent for the partition logs).
 * txn_complete (may be NULL) runs, locked, after the markers are written:
 * the hook for the group coordinator's pending transactional offsets. It
 * may run twice for one transaction (again after a restart in Prepare*).
 */
typedef struct sl_txn_markers_s {
    void *ctx;
    void (*write)(void *ctx, int64_t producer_id, int16_t producer_epoch,
                  bool commit, int32_t coordinator_epoch,
                  const sl_txn_tp_t *parts, int32_t n, sl_txn_done_cb done,
                  void *done_arg);
    void (*txn_complete)(void *ctx, int64_t producer_id, int16_t producer_epoch,
                         bool commit, const sl_txn_tp_t *parts, int32_t n);
} sl_txn_markers_t;

/* next(): a producer id into *out; SL_OK, or an error to answer with. */
typedef struct sl_txn_pid_source_s {
    void *ctx;
    sl_err_t (*next)(void *ctx, int64_t *out);
} sl_txn_pid_source_t;

/* Create a coordinator (in the loading state); the structs are copied,
 * their ctx must outlive it. @returns NULL when out of memory. */
sl_txn_coord_t *sl_txn_coord_create(const sl_txn_config_t *cfg,
                                    const sl_txn_store_t *store,
                                    const sl_txn_markers_t *markers,
                                    const sl_txn_pid_source_t *pids);

/* Destroy: waiting requests are answered COORDINATOR_NOT_AVAILABLE. The
 * store and marker writer must still complete every call in flight; the
 * memory is freed after the last one. */
void sl_txn_coord_destroy(sl_txn_coord_t *tc);

/* Fire every deadline <= now_ms. @thread any @locks coordinator */
void sl_txn_coord_tick(sl_txn_coord_t *tc, int64_t now_ms);

/* Earliest pending deadline, INT64_MAX if none. */
int64_t sl_txn_coord_next_deadline(sl_txn_coord_t *tc);

/* abs(javaStringHashCode(txn_id)) % partitions, as Kafka. */
int32_t sl_txn_partition_for(sl_str_t txn_id, int32_t partitions);

/*
 * The error a client of <api_key> at <version> expects for <err>: Kafka
 * answers PRODUCER_FENCED only from InitProducerId v4, AddPartitionsToTxn
 * v2, AddOffsetsToTxn v2, EndTxn v2 and TxnOffsetCommit v3 (KIP-588);
 * older versions get INVALID_PRODUCER_EPOCH.
 */
sl_err_t sl_txn_wire_error(sl_err_t err, int16_t api_key, int16_t version);

/* Every answer: error, producer id and epoch (-1 when none). */
typedef void (*sl_txn_cb)(void *arg, sl_err_t err, int64_t producer_id,
                          int16_t producer_epoch);

/* ---- InitProducerId ---------------------------------------------------- */

typedef struct sl_txn_init_req_s {
    sl_str_t transactional_id; /* null: idempotent producer (epoch 0) */
    int32_t timeout_ms;
    int64_t producer_id;    /* v3+ KIP-360: current id, -1 if none */
    int16_t producer_epoch; /* v3+: current epoch, -1 if none */
} sl_txn_init_req_t;

/* Answers the (new) producer id and epoch; CONCURRENT_TRANSACTIONS after
 * aborting an open transaction of a fenced producer (the client retries).
 * @locks coordinator */
void sl_txn_init_producer_id(sl_txn_coord_t *tc, int64_t now_ms,
                             const sl_txn_init_req_t *req, sl_txn_cb cb,
                             void *arg);

/* ---- AddPartitionsToTxn, AddOffsetsToTxn ------------------------------- */

typedef struct sl_txn_add_req_s {
    sl_str_t transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    const sl_txn_tp_t *parts;
    int32_t parts_count;
    int16_t client_tv; /* 2: implicit add from Produce v12+ (KIP-890) */
} sl_txn_add_req_t;

/* Add partitions (one error for all of them, as Kafka answers). */
void sl_txn_add_partitions(sl_txn_coord_t *tc, int64_t now_ms,
                           const sl_txn_add_req_t *req, sl_txn_cb cb,
                           void *arg);

/* AddOffsetsToTxn: add __consumer_offsets' partition of <group_id>. */
void sl_txn_add_offsets(sl_txn_coord_t *tc, int64_t now_ms, sl_str_t txn_id,
                        int64_t producer_id, int16_t producer_epoch,
                        sl_str_t group_id, int16_t client_tv, sl_txn_cb cb,
                        void *arg);

/* AddPartitionsToTxn v4+ verify_only (KIP-890 part 1): errors[i] answers
 * parts[i] (NONE if in the transaction, TRANSACTION_ABORTABLE if not); the
 * transaction-level errors are repeated in every entry.
 * @returns the transaction-level error. */
sl_err_t sl_txn_verify_partitions(sl_txn_coord_t *tc,
                                  const sl_txn_add_req_t *req,
                                  sl_err_t *errors);

/* ---- EndTxn ------------------------------------------------------------- */

typedef struct sl_txn_end_req_s {
    sl_str_t transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool commit;
    int16_t client_tv; /* 2 for EndTxn v5+, else 1 */
} sl_txn_end_req_t;

/* Commit or abort. For client_tv 2 the answer carries the producer id and
 * epoch to use next (the epoch is bumped at every end). */
void sl_txn_end(sl_txn_coord_t *tc, int64_t now_ms, const sl_txn_end_req_t *req,
                sl_txn_cb cb, void *arg);

/* ---- DescribeTransactions, ListTransactions ---------------------------- */
typedef struct sl_txn_desc_topic_s {
    sl_str_t topic;
    int32_t *partitions;
    int32_t partitions_count;
} sl_txn_desc_topic_t;

typedef struct sl_txn_desc_s {
    sl_err_t error;
    sl_str_t transactional_id;
    sl_txn_state_e state;
    int32_t timeout_ms;
    int64_t start_ms; /* -1 when no transaction is open */
    int64_t producer_id;
    int16_t producer_epoch;
    sl_txn_desc_topic_t *topics;
    int32_t topics_count;
} sl_txn_desc_t;

/* Describe one transactional id into <out> (allocated from <a>).
 * @returns out->error: TRANSACTIONAL_ID_NOT_FOUND, INVALID_REQUEST,
 * COORDINATOR_LOAD_IN_PROGRESS, SL_ERR__NOMEM or SL_OK. */
sl_err_t sl_txn_describe(sl_txn_coord_t *tc, sl_str_t txn_id, sl_arena_t *a,
                         sl_txn_desc_t *out);

typedef struct sl_txn_listing_s {
    sl_str_t transactional_id;
    int64_t producer_id;
    sl_txn_state_e state;
} sl_txn_listing_t;

typedef struct sl_txn_list_req_s {
    const sl_str_t *states; /* n_states == 0: any state */
    int32_t n_states;
    const int64_t *producer_ids; /* n_producer_ids == 0: any */
    int32_t n_producer_ids;
    int64_t duration_ms; /* v1+: only running longer than this; -1: any */
} sl_txn_list_req_t;

typedef struct sl_txn_list_s {
    sl_txn_listing_t *txns;
    int32_t txns_count;
    sl_str_t *unknown_states; /* filter names that are no state */
    int32_t unknown_states_count;
} sl_txn_list_t;

/* List transactional ids (Dead ones never). @returns SL_OK,
 * COORDINATOR_LOAD_IN_PROGRESS or SL_ERR__NOMEM. */
sl_err_t sl_txn_list(sl_txn_coord_t *tc, int64_t now_ms,
                     const sl_txn_list_req_t *req, sl_arena_t *a,
                     sl_txn_list_t *out);

/* ---- Loading (txn/records.c) --------------------------------------------- */

/* Apply one record read back from __transaction_state (value NULL =
 * tombstone); later records override earlier ones. Only while loading.
 * @returns SL_OK, SL_ERR__CORRUPT (state unchanged), SL_ERR__UNSUPPORTED
 * (unknown key version: skip it, as Kafka), SL_ERR__INVAL, SL_ERR__NOMEM. */
sl_err_t sl_txn_coord_load(sl_txn_coord_t *tc, const uint8_t *key,
                           size_t key_len, const uint8_t *value,
                           size_t value_len);

/* End loading: requests are served from now on, and every transaction in
 * PrepareCommit/PrepareAbort is completed (markers re-sent, Complete*
 * logged). */
void sl_txn_coord_load_done(sl_txn_coord_t *tc, int64_t now_ms);

#endif
