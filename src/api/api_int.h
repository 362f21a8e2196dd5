/*
 * api/api_int.h: what the handlers of api/ share: the broker context
 * (sl_api_s) and the partition registry of api/broker.c.
 *
 * Owns (through sl_api_s): the metadata store, the partition logs, the
 * flusher, the fetch purgatory and the fetch session cache. Created by
 * sl_api_create() at start, destroyed by sl_api_destroy() at shutdown.
 */
#ifndef SL_API_API_INT_H
#define SL_API_API_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "api/api.h"
#include "api/fetch_session.h"
#include "api/purgatory.h"
#include "cluster/metastore.h"
#include "cluster/producer_ids.h"
#include "group/consumer.h"
#include "group/group.h"
#include "log/flusher.h"
#include "log/partlog.h"
#include "proto/batch.h"
#include "txn/txn.h"
#include "metrics/metrics.h"
#include "security/acl.h"

#define SL_API_TOPIC_BUCKETS 1024

/* The partition logs of one topic. */
typedef struct sl_ptopic_s {
    struct sl_ptopic_s *next; /* hash chain */
    char *name;
    sl_uuid_t id;
    int32_t n;
    sl_partlog_t **logs;
    sl_metrics_topic_t metrics; /* bytes and records in and out */
} sl_ptopic_t;

struct sl_api_s {
    const sl_config_t *cfg;
    sl_server_t *server;
    char data_dir[PATH_MAX];
    int32_t node_id;
    sl_metastore_t *meta;
    sl_flusher_t *flusher;
    sl_purgatory_t *fetch_purgatory;
    sl_fsess_cache_t *fsess;
    /* Partition registry: the rwlock is held (read) while a handler uses a
     * partition log, and (write) while topics come and go. */
    pthread_rwlock_t plock;
    sl_ptopic_t *topics[SL_API_TOPIC_BUCKETS];
    /* Serialises the admin APIs' topic changes (create, grow, reconfigure,
     * delete), so that a metadata change and the registry update after it
     * are one step: a delete racing a re-create of the same name cannot
     * drop the new topic's logs. Taken before plock, never inside it. */
    pthread_mutex_t admin_lock;
    /* Advertised listeners: parallel to the server's listeners. */
    sl_listener_spec_t advertised[SL_SERVER_MAX_LISTENERS];
    int nadvertised;
    /* Retention thread. */
    pthread_t retention_thread;
    bool retention_started;
    pthread_mutex_t retention_lock;
    pthread_cond_t retention_cond;
    bool stopping;
    /* Group coordinator and its storage (api/group_store.c). */
    sl_group_coord_t *groups;
    pthread_mutex_t gs_lock;
    pthread_cond_t gs_cond;
    struct sl_gs_deferred_s *gs_deferred;
    pthread_t gs_thread;
    bool gs_started;
    bool gs_stopping;
    atomic_bool gs_topic_ready;
    /* Producer ids for InitProducerId (api/init_producer_id.c). */
    sl_pid_alloc_t *pids;
    /* Consumer protocol (KIP-848) groups (api/consumer_groups.c). */
    sl_cgroup_coord_t *cgroups;
    /* Transaction coordinator, its storage, marker writer and ticker
     * (api/txn_store.c); pending TxnOffsetCommit offsets (group/). */
    sl_txn_coord_t *txn;
    struct sl_txnw_s *txnw;
    sl_group_txn_pending_t *txn_pending;
    /* Metrics (metrics/scrape.c): counters, and the endpoint if any. */
    sl_metrics_t *metrics;
    struct sl_metrics_http_s *metrics_http;
    /* Produce v12 requests of one transactional id kept in order while
     * one waits for its implicit add (api/produce_txn.c). */
    struct sl_produce_gate_s *produce_gate;
    /* SASL listeners' mechanisms and users (api/sasl.c). */
    struct sl_api_sasl_s *sasl;
    /* The ACL authoriser (api/acls.c); NULL when authorizer.class.name is
     * empty: no authorisation at all. */
    struct sl_acl_store_s *acl;
};

/* ---- sasl.c ---- */

/* Read the SASL settings of every listener. @returns SL_OK or __INVAL
 * (logged). */
sl_err_t sl_api_sasl_create(sl_api_t *api);
void sl_api_sasl_destroy(sl_api_t *api);
sl_err_t sl_api_sasl_handshake_handle(sl_api_req_t *r, const void *req,
                                      void *resp);
sl_err_t sl_api_sasl_authenticate_handle(sl_api_req_t *r, const void *req,
                                         void *resp);
/*
 * Before a request is decoded: on a connection not yet authenticated,
 * answer a raw SASL token (after a v0 handshake) or refuse anything but
 * ApiVersions and the SASL APIs. *handled is set when the request needs
 * nothing more (q->out holds the answer, or the error closes).
 */
sl_err_t sl_api_sasl_gate(sl_api_t *api, sl_req_t *q, bool *handled);
/* The SCRAM credential store (opened by sl_api_sasl_create). */
struct sl_scram_store_s *sl_api_sasl_scram_store(sl_api_t *api);

/* ---- scram_admin.c ---- */
sl_err_t sl_api_describe_user_scram_credentials_handle(sl_api_req_t *r,
                                                       const void *req,
                                                       void *resp);
sl_err_t sl_api_alter_user_scram_credentials_handle(sl_api_req_t *r,
                                                    const void *req,
                                                    void *resp);

/* ---- broker.c ---- */

/* Open the data directory: metadata, partition logs (recovered when the
 * last stop was not clean), flusher, retention. @thread main */
sl_err_t sl_api_open_storage(sl_api_t *api);
/* Flush and close every partition log, write the clean-shutdown marker. */
void sl_api_close_storage(sl_api_t *api);

/* Read-lock the partition registry; look up a partition log. */
void sl_api_plock_rd(sl_api_t *api);
void sl_api_punlock(sl_api_t *api);
/* @locks plock held. @returns the log, or NULL with *err set to
 * UNKNOWN_TOPIC_OR_PARTITION. */
sl_partlog_t *sl_api_partition(sl_api_t *api, const char *name, int32_t len,
                               int32_t partition, sl_err_t *err);
/* @locks plock held. The topic entry by name or id, or NULL. */
sl_ptopic_t *sl_api_ptopic(sl_api_t *api, const char *name, int32_t len);
sl_ptopic_t *sl_api_ptopic_by_id(sl_api_t *api, const sl_uuid_t *id);

/* After a topic was created, got partitions or changed configs: open the
 * missing partition logs and apply the configs. @locks takes plock (write) */
sl_err_t sl_api_topic_changed(sl_api_t *api, const char *name);
/* After a topic was deleted from the metadata: delete its logs. */
void sl_api_topic_deleted(sl_api_t *api, const char *name);

/* The storage configuration of a topic (its overrides over the broker's
 * defaults). */
void sl_api_log_config(sl_api_t *api, const sl_topic_config_map_t *overrides,
                       sl_log_config_t *out);

/* The advertised host and port for the listener <r> came through. */
sl_err_t sl_api_advertised(sl_api_req_t *r, sl_str_t *host, int32_t *port);

/* Authorized-operations bit sets (no ACLs yet: everything). */
int32_t sl_api_topic_authorized_ops(void);
int32_t sl_api_cluster_authorized_ops(void);
int32_t sl_api_group_authorized_ops(void);

/* Copy a wire string to a C string in the arena (NULL when out of memory
 * or when it holds a NUL byte). */
char *sl_api_cstr(sl_arena_t *a, sl_str_t s);

/* A copy of C string <s> in the arena as a wire string (null for NULL or
 * when out of memory). (api/topics.c) */
sl_str_t sl_api_str(sl_arena_t *a, const char *s);

/* Duplicates in one admin request (Kafka answers a repeated name or
 * resource with one INVALID_REQUEST entry). A key is a tag (e.g. a
 * resource type) and bytes; keys with len < 0 are never duplicates. The
 * marks, indexed by idx: SL_API_DUP_FIRST on the first copy, _LATER on the
 * others. Sorts <keys>. @returns NULL when out of memory. (api/topics.c) */
typedef struct sl_api_dupkey_s {
    int32_t tag;
    const char *ptr;
    int32_t len;
    int32_t idx; /* 0..n-1, each once */
} sl_api_dupkey_t;
#define SL_API_DUP_NONE 0
#define SL_API_DUP_FIRST 1
#define SL_API_DUP_LATER 2
uint8_t *sl_api_dup_marks(sl_arena_t *a, sl_api_dupkey_t *keys, int32_t n);

/* ---- metrics/scrape.c ---- */

/* Create the counters. @returns SL_OK or __NOMEM. @thread main */
sl_err_t sl_api_metrics_open(sl_api_t *api);
/* Stop the endpoint and free the counters. @thread main */
void sl_api_metrics_close(sl_api_t *api);
/* sl_server_observe_cb: a response was handed to the socket. */
void sl_api_metrics_response(void *ctx, int key, int what, int64_t ns);
/* Count bytes and records appended to topic <name>.
 * @locks plock held (read) */
void sl_api_metrics_topic_in(sl_api_t *api, const char *name, int32_t len,
                             uint64_t bytes, uint64_t records);
/* Count the record bytes of a Fetch response per topic (one registry
 * lookup per topic). @locks takes plock (read) */
struct sl_msg_fetch_resp_s;
void sl_api_metrics_fetch_out(sl_api_t *api,
                              const struct sl_msg_fetch_resp_s *resp);

/* ---- group_store.c ---- */

/* Create the group coordinator, load it from __consumer_offsets, start its
 * ticker. @thread main, after sl_api_open_storage() */
sl_err_t sl_api_groups_open(sl_api_t *api);
/* Stop the ticker, answer parked group requests, free the coordinator once
 * its appends in flight completed. Before sl_api_close_storage(). */
void sl_api_groups_close(sl_api_t *api);

/* ---- consumer_groups.c ---- */

/* Does group.coordinator.rebalance.protocols list "consumer"? */
bool sl_api_consumer_protocol_enabled(sl_api_t *api);
/* ListGroups: drop classic entries of consumer groups' ids, add the
 * consumer groups that pass the filters. */
sl_err_t sl_api_cg_list_merge(sl_api_req_t *r, const void *req, void *resp);
/* DeleteGroups of one id, whichever kind of group it is. */
sl_err_t sl_api_cg_delete(sl_api_req_t *r, sl_str_t group_id);
/* OffsetDelete: as sl_group_offset_delete(), but partitions of topics a
 * consumer group's member subscribes to get GROUP_SUBSCRIBED_TO_TOPIC. */
sl_err_t sl_api_cg_offset_delete(sl_api_req_t *r, sl_str_t group_id,
                                 const sl_group_tp_t *tps, int32_t n,
                                 sl_err_t *errs);
/* May a classic member join <group_id>? INCONSISTENT_GROUP_PROTOCOL when
 * it is a consumer group with members; an empty consumer group is deleted
 * so that the classic group takes the id over (as Kafka does). */
sl_err_t sl_api_cg_classic_join(sl_api_req_t *r, sl_str_t group_id);
/* The group store's group_in_use hook: a consumer group with members owns
 * <group_id> (its committed offsets do not expire). <ctx> is the api. */
bool sl_api_cg_in_use(void *ctx, sl_str_t group_id);
/* Is <group_id> a consumer group (with members, when asked)? */
bool sl_api_cg_is_consumer(sl_api_req_t *r, sl_str_t group_id,
                           bool with_members);
/* ---- group_store.c: loading internal topics ---- */

/* Call fn for every keyed record of <pl> from its log start to its high
 * watermark (control batches skipped); *records counts those fn applied
 * (returned true). @returns SL_OK or the read error. */
sl_err_t sl_api_scan_keyed(sl_partlog_t *pl,
                           bool (*fn)(void *arg, const sl_record_t *r),
                           void *arg, int64_t *records);

/* ---- txn_store.c ---- */

/* Create the transaction coordinator, load it from __transaction_state,
 * start its ticker. @thread main, after sl_api_groups_open() */
sl_err_t sl_api_txn_open(sl_api_t *api);
/* Stop the ticker and free the coordinator. Before sl_api_groups_close(). */
void sl_api_txn_close(sl_api_t *api);
/* The store hook of the group coordinator: a pending transactional offset
 * for <group_id>'s <topic>/<partition>. */
bool sl_api_txn_has_pending(void *ctx, sl_str_t group_id, sl_str_t topic,
                            int32_t partition);

/* ---- txn_apis.c (and the produce path) ---- */

/* Produce of a transactional batch by <transactional_id>: whether
 * <topic>/<partition> is in its ongoing transaction (Kafka 4.0's
 * verification). @returns SL_OK or the partition's Kafka error for a
 * Produce request of <version>. */
sl_err_t sl_api_txn_verify_produce(sl_api_t *api, int16_t version,
                                   sl_str_t transactional_id,
                                   int64_t producer_id, int16_t producer_epoch,
                                   sl_str_t topic, int32_t partition);

/* The error a Produce of <version> answers for a transaction coordinator
 * error <err> of its verification or implicit add (Kafka 4.0's mapping:
 * PRODUCER_FENCED -> INVALID_PRODUCER_EPOCH, coordinator errors ->
 * NOT_ENOUGH_REPLICAS, TRANSACTION_ABORTABLE -> INVALID_TXN_STATE before
 * v11, CONCURRENT_TRANSACTIONS kept from v12). */
sl_err_t sl_api_txn_produce_error(sl_err_t err, int16_t version);

/* ---- produce_txn.c: Produce v12+ of a transactional id ---- */
typedef struct sl_produce_gate_s sl_produce_gate_t;
struct sl_pgate_entry_s;
struct sl_msg_produce_req_s;
/* Create / free the gate (api->produce_gate). Free it after every request
 * is done. @returns SL_OK or __NOMEM. */
sl_err_t sl_api_produce_gate_create(sl_api_t *api);
void sl_api_produce_gate_destroy(sl_api_t *api);
/* Before appending: take the producer's gate (or queue behind its holder)
 * and add the request's partitions to the transaction. *held gets the gate
 * to pass to sl_api_produce_txn_end() (NULL: none). @returns SL_OK (go on),
 * SL_ERR__AGAIN (parked; the handler runs again later) or __NOMEM. */
sl_err_t sl_api_produce_txn_begin(sl_api_req_t *r,
                                  const struct sl_msg_produce_req_s *req,
                                  struct sl_pgate_entry_s **held);
/* The coordinator's answer to the implicit add (SL_OK when none). */
sl_err_t sl_api_produce_txn_added(const sl_api_req_t *r);
/* After the appends: release the gate (runs queued requests). */
void sl_api_produce_txn_end(sl_api_t *api, struct sl_pgate_entry_s *held);

/* ---- handlers ---- */
sl_err_t sl_api_add_partitions_to_txn_handle(sl_api_req_t *r, const void *req,
                                             void *resp);
sl_err_t sl_api_add_offsets_to_txn_handle(sl_api_req_t *r, const void *req,
                                          void *resp);
sl_err_t sl_api_end_txn_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_txn_offset_commit_handle(sl_api_req_t *r, const void *req,
                                         void *resp);
sl_err_t sl_api_describe_transactions_handle(sl_api_req_t *r, const void *req,
                                             void *resp);
sl_err_t sl_api_list_transactions_handle(sl_api_req_t *r, const void *req,
                                         void *resp);
sl_err_t sl_api_init_producer_id_handle(sl_api_req_t *r, const void *req,
                                        void *resp);
sl_err_t sl_api_describe_producers_handle(sl_api_req_t *r, const void *req,
                                          void *resp);
sl_err_t sl_api_consumer_group_heartbeat_handle(sl_api_req_t *r,
                                                const void *req, void *resp);
sl_err_t sl_api_consumer_group_describe_handle(sl_api_req_t *r, const void *req,
                                               void *resp);
sl_err_t sl_api_find_coordinator_handle(sl_api_req_t *r, const void *req,
                                        void *resp);
sl_err_t sl_api_join_group_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_sync_group_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_heartbeat_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_leave_group_handle(sl_api_req_t *r, const void *req,
                                   void *resp);
sl_err_t sl_api_offset_commit_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_offset_fetch_handle(sl_api_req_t *r, const void *req,
                                    void *resp);
sl_err_t sl_api_describe_groups_handle(sl_api_req_t *r, const void *req,
                                       void *resp);
sl_err_t sl_api_list_groups_handle(sl_api_req_t *r, const void *req,
                                   void *resp);
sl_err_t sl_api_delete_groups_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_offset_delete_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_metadata_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_produce_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_fetch_handle(sl_api_req_t *r, const void *req, void *resp);
sl_err_t sl_api_list_offsets_handle(sl_api_req_t *r, const void *req,
                                    void *resp);
/* api/topics.c */
sl_err_t sl_api_create_topics_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_delete_topics_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_create_partitions_handle(sl_api_req_t *r, const void *req,
                                         void *resp);
sl_err_t sl_api_describe_topic_partitions_handle(sl_api_req_t *r,
                                                 const void *req, void *resp);
/* api/configs.c */
sl_err_t sl_api_describe_configs_handle(sl_api_req_t *r, const void *req,
                                        void *resp);
sl_err_t sl_api_alter_configs_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_incremental_alter_configs_handle(sl_api_req_t *r,
                                                 const void *req, void *resp);
/* api/cluster.c */
sl_err_t sl_api_describe_cluster_handle(sl_api_req_t *r, const void *req,
                                        void *resp);
sl_err_t sl_api_describe_log_dirs_handle(sl_api_req_t *r, const void *req,
                                         void *resp);
/* api/records.c */
sl_err_t sl_api_delete_records_handle(sl_api_req_t *r, const void *req,
                                      void *resp);
sl_err_t sl_api_offset_for_leader_epoch_handle(sl_api_req_t *r, const void *req,
                                               void *resp);

/* ---- acls.c: authorisation ---- */

/* Open the ACL store when authorizer.class.name names an authoriser.
 * @returns SL_OK or an error (logged). @thread main */
sl_err_t sl_api_acl_open(sl_api_t *api);
void sl_api_acl_close(sl_api_t *api);
/* May the principal of <r>'s connection perform <op> (an sl_acl_op_e) on
 * resource <rtype>/<name> (sl_acl_res_e)? Always true without an
 * authoriser; false for names holding a NUL byte. */
bool sl_api_authorize(sl_api_req_t *r, int op, int rtype, sl_str_t name);
/* The same on the CLUSTER resource. */
bool sl_api_authorize_cluster(sl_api_req_t *r, int op);
/* Shorthands for handlers: SL_OK, or the Kafka error of a refusal
 * (TOPIC_, GROUP_, TRANSACTIONAL_ID_, CLUSTER_AUTHORIZATION_FAILED). */
sl_err_t sl_api_auth_topic(sl_api_req_t *r, int op, sl_str_t name);
sl_err_t sl_api_auth_group(sl_api_req_t *r, int op, sl_str_t name);
sl_err_t sl_api_auth_txn(sl_api_req_t *r, int op, sl_str_t name);
sl_err_t sl_api_auth_cluster(sl_api_req_t *r, int op);
/* <op> on any resource of <rtype> (Kafka's authorizeByResourceType). */
bool sl_api_authorize_any(sl_api_req_t *r, int op, int rtype);
/* The authorized-operations bit set for <rtype>/<name> (CLUSTER: name
 * ignored); without an authoriser, every operation of the type. */
int32_t sl_api_authorized_ops(sl_api_req_t *r, int rtype, sl_str_t name);
sl_err_t sl_api_describe_acls_handle(sl_api_req_t *r, const void *req,
                                     void *resp);
sl_err_t sl_api_create_acls_handle(sl_api_req_t *r, const void *req,
                                   void *resp);
sl_err_t sl_api_delete_acls_handle(sl_api_req_t *r, const void *req,
                                   void *resp);

#endif
