/*
 * txn/txn_int.h: internals of the transaction coordinator, shared by
 * coord.c (lifecycle, locking, completions, timers, describe/list),
 * ops.c (the client operations and the marker/complete phases) and
 * records.c (record bytes and loading).
 *
 * Owns nothing by itself; the structs below are owned by sl_txn_coord_t.
 *
 * The model is Kafka's: a transaction has its current metadata <m> and, while
 * a record is being appended, a pending transition <transit> (a full
 * snapshot of the metadata to become current once the record is durable).
 * While a transition is pending, other requests get CONCURRENT_TRANSACTIONS.
 */
#ifndef SL_TXN_TXN_INT_H
#define SL_TXN_TXN_INT_H

#include <pthread.h>

#include "txn/txn.h"

#define SL_TXN_NO_PID (-1LL)
#define SL_TXN_NO_EPOCH ((int16_t)-1)

/* A partition of a transaction; <topic> is owned (NUL-terminated). */
typedef struct sl_ttp_s {
    char *topic;
    int32_t topic_len;
    int32_t partition;
} sl_ttp_t;

/* The metadata Kafka keeps per transactional id (TransactionMetadata). */
typedef struct sl_tmeta_s {
    int64_t producer_id;
    int64_t prev_producer_id; /* the id before the last rotation */
    int64_t next_producer_id; /* TV2: id to switch to at Complete* */
    int16_t producer_epoch;
    int16_t last_producer_epoch; /* not persisted: -1 after loading */
    int32_t timeout_ms;
    sl_txn_state_e state;
    sl_ttp_t *parts; /* sorted by (topic, partition), no duplicates */
    int32_t parts_count;
    int64_t start_ts; /* -1: no transaction open */
    int64_t update_ts;
    int16_t client_tv;
} sl_tmeta_t;

/* What the transaction is doing after its Prepare* record is durable. */
typedef enum sl_tphase_e {
    SL_TPHASE_NONE = 0,
    SL_TPHASE_MARKERS,        /* write() in flight */
    SL_TPHASE_MARKERS_RETRY,  /* write() failed, again at retry_at */
    SL_TPHASE_COMPLETE,       /* Complete* append in flight */
    SL_TPHASE_COMPLETE_RETRY, /* append failed, again at retry_at */
} sl_tphase_e;

/* Who waits for the end of a Prepare* -> Complete* run. */
typedef enum sl_twait_e {
    SL_TWAIT_NONE = 0,
    SL_TWAIT_END,   /* EndTxn: answered OK with the producer id/epoch */
    SL_TWAIT_FENCE, /* InitProducerId: answered CONCURRENT_TRANSACTIONS */
} sl_twait_e;

typedef struct sl_txn_s {
    struct sl_txn_s *hnext; /* hash chain */
    uint64_t hash;
    int32_t slot; /* index in tc->txns */
    char *id;
    int32_t id_len;
    int32_t partition; /* of __transaction_state */
    sl_tmeta_t m;
    bool pending;
    sl_tmeta_t transit;
    bool failed_fence; /* an epoch fence was not logged: do not re-bump */
    sl_tphase_e phase;
    int64_t retry_at;
    sl_twait_e wait;
    sl_txn_cb wait_cb;
    void *wait_arg;
} sl_txn_t;

/* A completion waiting to run after the lock is released. */
typedef struct sl_tdone_s {
    struct sl_tdone_s *next;
    sl_txn_cb cb;
    void *arg;
    sl_err_t err;
    int64_t producer_id;
    int16_t producer_epoch;
} sl_tdone_t;

struct sl_txn_coord_s {
    pthread_mutex_t lock;
    sl_txn_config_t cfg;
    sl_txn_store_t store;
    sl_txn_markers_t markers;
    sl_txn_pid_source_t pids;
    sl_txn_t **txns; /* for iteration, in no order */
    int32_t txns_count;
    int32_t txns_cap;
    sl_txn_t **buckets; /* by id: chained, a power of two many */
    uint32_t nbuckets;
    sl_tdone_t *done_head;
    sl_tdone_t **done_tail;
    int64_t now;  /* the latest clock reading seen: for completions */
    int32_t refs; /* the owner's, plus one per call in flight */
    bool closed;  /* destroyed by the owner; freed at refs == 0 */
    bool loading; /* until sl_txn_coord_load_done() */
};

/* ---- coord.c; all with the lock held ---- */
void sl_txn_coord_lock(sl_txn_coord_t *tc);
void sl_txn_coord_unlock(sl_txn_coord_t *tc); /* runs queued completions */
void sl_txn_coord_unref_unlock(sl_txn_coord_t *tc);
void sl_txn_clock(sl_txn_coord_t *tc, int64_t now_ms);
/* Queue cb(arg, err, pid, epoch) to run after unlocking. */
void sl_txn_answer(sl_txn_coord_t *tc, sl_txn_cb cb, void *arg, sl_err_t err,
                   int64_t pid, int16_t epoch);
sl_txn_t *sl_txn_find(sl_txn_coord_t *tc, sl_str_t id);
sl_txn_t *sl_txn_create(sl_txn_coord_t *tc, sl_str_t id);
void sl_txn_remove(sl_txn_coord_t *tc, sl_txn_t *t);
void sl_txn_free(sl_txn_t *t);

/* ---- metadata snapshots (coord.c) ---- */
void sl_tmeta_clear(sl_tmeta_t *m); /* frees the partitions */
sl_err_t sl_tmeta_copy(sl_tmeta_t *dst, const sl_tmeta_t *src);
/* Partitions are kept sorted (topic, partition) and without duplicates. */
bool sl_tmeta_has_part(const sl_tmeta_t *m, sl_str_t topic, int32_t p);
sl_err_t sl_tmeta_add_part(sl_tmeta_t *m, sl_str_t topic, int32_t p);
sl_err_t sl_tmeta_add_parts(sl_tmeta_t *m, const sl_txn_tp_t *tps, int32_t n);
bool sl_txn_epoch_exhausted(int16_t epoch);

/* ---- operations (ops.c) ---- */
/* Abort <t>'s Ongoing transaction after fencing its producer (timeout, or
 * InitProducerId from a new instance); <wait>/<cb> get the outcome. */
void sl_txn_fence_abort(sl_txn_coord_t *tc, sl_txn_t *t, sl_twait_e wait,
                        sl_txn_cb cb, void *arg);
/* Write the markers of <t> (in Prepare*) and then log Complete*. */
void sl_txn_send_markers(sl_txn_coord_t *tc, sl_txn_t *t);
void sl_txn_append_complete(sl_txn_coord_t *tc, sl_txn_t *t);

/* ---- records (records.c) ---- */
/* Encode the record of <id> with metadata <m> (NULL: tombstone); *key and
 * *value are malloc'd (value NULL for a tombstone). */
sl_err_t sl_txn_record_encode(sl_str_t id, const sl_tmeta_t *m,
                              int16_t value_version, uint8_t **key,
                              size_t *key_len, uint8_t **value,
                              size_t *value_len);
/* Decode a record: *id (in <a>) and, unless a tombstone (*tomb), <m>
 * (partitions malloc'd; sl_tmeta_clear() frees them). */
sl_err_t sl_txn_record_decode(sl_arena_t *a, const uint8_t *key, size_t key_len,
                              const uint8_t *value, size_t value_len,
                              sl_str_t *id, bool *tomb, sl_tmeta_t *m);

#endif
