/*
 * cluster/metastore.h: the single-node metadata store. It holds the image of
 * topics (name, topic id, partition count, per-partition leader epoch, the
 * config overrides users set) and the broker's identity (cluster id, node
 * id), and keeps both in the data directory across restarts:
 *
 *   <data dir>/meta.properties           version=1, cluster.id, node.id,
 *                                        directory.id (as Kafka's)
 *   <data dir>/__sluice_metadata/topics  the topic image (format in
 *                                        metastore.c), rewritten atomically
 *                                        on every change
 *
 * Every change is persisted before it becomes visible: a change that cannot
 * be written (I/O error) is not applied and returns SL_ERR__IO.
 *
 * Names passed in are NUL-terminated: a handler holding a wire string must
 * refuse one containing a NUL byte (sl_metastore_name_check_n() does) before
 * making a C string of it.
 *
 * Owns: the image (topics, their epochs and override maps) and the two
 * files. Created and destroyed by the broker's start-up code; used from any
 * thread.
 * Locking: readers (lookups, iteration, snapshots) share a rwlock; writers
 * are serialised by a mutex, build the next image beside the current one,
 * persist it, then swap it in under the write side of the rwlock, so
 * readers wait only for the swap, never for disk I/O.
 */
#ifndef SL_CLUSTER_METASTORE_H
#define SL_CLUSTER_METASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/topic_config.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "proto/wire.h" /* sl_uuid_t */

#define SL_TOPIC_NAME_MAX 249
/* Partitions one CreateTopics/CreatePartitions operation may add (Kafka's
 * per-request limit; more is POLICY_VIOLATION). */
#define SL_METASTORE_MAX_NEW_PARTITIONS 10000
/* Partitions a topic may have (bounds memory and the file parser). */
#define SL_METASTORE_MAX_PARTITIONS 1000000

typedef struct sl_metastore_s sl_metastore_t;

/* A read-only view of one topic. In a callback of sl_metastore_foreach() it
 * is valid during the call; from sl_metastore_get*() and
 * sl_metastore_snapshot() it lives in the caller's arena. The config map is
 * a view: never pass it to sl_topic_config_map_clear(). */
typedef struct sl_topic_info_s {
    const char *name;
    sl_uuid_t id;
    int32_t partitions;
    const int32_t *leader_epochs; /* <partitions> entries */
    int32_t leader;               /* this node's id, for every partition */
    bool internal;
    sl_topic_config_map_t configs; /* overrides only */
} sl_topic_info_t;

/* A topic to create (CreateTopics or auto-creation). */
typedef struct sl_topic_spec_s {
    const char *name;
    int32_t num_partitions;     /* -1: num.partitions */
    int16_t replication_factor; /* -1: default.replication.factor */
    const sl_topic_config_kv_t *configs;
    size_t n_configs;
} sl_topic_spec_t;

/* The steps of an atomic file write, for fault injection in tests. */
typedef enum sl_metastore_io_e {
    SL_METASTORE_IO_OPEN = 0,
    SL_METASTORE_IO_WRITE = 1, /* failing it leaves a half-written temp */
    SL_METASTORE_IO_FSYNC = 2,
    SL_METASTORE_IO_RENAME = 3,
    SL_METASTORE_IO_DIRSYNC = 4,
} sl_metastore_io_e;

/* Return 0 to let the step run, or an errno value to make it fail. */
typedef int (*sl_metastore_fault_cb)(sl_metastore_io_e step, void *arg);

/*
 * Open the store in <data_dir> (created if missing): read or create
 * meta.properties and load the topic image. <broker> supplies defaults and
 * must outlive the store.
 * @returns SL_OK with *out set; SL_ERR__IO (cannot create or read),
 * SL_ERR__CORRUPT (a damaged topics file or meta.properties, or topics
 * without meta.properties: nothing is dropped or re-identified silently),
 * SL_ERR__INVAL (meta.properties belongs to another node.id), SL_ERR__NOMEM.
 * Each failure is logged with its reason.
 * @thread any (start-up)
 */
sl_err_t sl_metastore_open(const char *data_dir, int32_t node_id,
                           const sl_config_t *broker, sl_metastore_t **out);

/* The data directory of <cfg>: the first entry of log.dirs, else log.dir,
 * trimmed, into <buf>. @returns SL_OK or SL_ERR__INVAL (none, or longer
 * than <len> - 1). */
sl_err_t sl_metastore_data_dir(const sl_config_t *cfg, char *buf, size_t len);

/* Free the store; NULL is a no-op. No other call may be running. */
void sl_metastore_close(sl_metastore_t *ms);

/* Test hook: run <cb> before each step of every later file write. */
void sl_metastore_set_fault(sl_metastore_t *ms, sl_metastore_fault_cb cb,
                            void *arg);

/* Identity. The strings live as long as the store. @thread any */
const char *sl_metastore_cluster_id(const sl_metastore_t *ms);
int32_t sl_metastore_node_id(const sl_metastore_t *ms);
/* The controller of a single node is the node itself. */
int32_t sl_metastore_controller_id(const sl_metastore_t *ms);
/* Bumped by every applied change; 0 right after open. */
int64_t sl_metastore_version(sl_metastore_t *ms);
size_t sl_metastore_topic_count(sl_metastore_t *ms);

/* ---- names --------------------------------------------------------- */

/*
 * Kafka's topic name rules: 1 to 249 bytes of [a-zA-Z0-9._-], not "." or
 * "..". @returns SL_OK or SL_ERR_INVALID_TOPIC_EXCEPTION with a message.
 */
sl_err_t sl_metastore_name_check(const char *name, char *why, size_t whylen);
/* The same for a wire string of <len> bytes (which may hold NUL bytes). */
sl_err_t sl_metastore_name_check_n(const char *p, size_t len, char *why,
                                   size_t whylen);
/* Internal topics as Kafka reports them: __consumer_offsets and
 * __transaction_state. */
bool sl_metastore_is_internal(const char *name);

/* Kafka's text form of a UUID: base64url without padding, 22 chars. */
void sl_uuid_to_base64(const sl_uuid_t *id, char out[23]);
/* A random version-4 UUID that is never zero and whose text form never
 * starts with '-'. @returns SL_OK or SL_ERR__IO (no randomness). */
sl_err_t sl_uuid_random(sl_uuid_t *out);

/* ---- changes ------------------------------------------------------- */

/*
 * CreateTopics for one topic. Checks, in Kafka's order: the name
 * (INVALID_TOPIC_EXCEPTION; INVALID_REQUEST for __cluster_metadata), that
 * it does not exist (TOPIC_ALREADY_EXISTS), that it does not collide with
 * one differing only in '.' versus '_' (INVALID_TOPIC_EXCEPTION), the
 * configs (INVALID_CONFIG), the replication factor (INVALID_REPLICATION_
 * FACTOR: 0, below -1, or above the one broker there is), the partition
 * count (INVALID_PARTITIONS: 0 or below -1; POLICY_VIOLATION above
 * SL_METASTORE_MAX_NEW_PARTITIONS). With <validate_only> nothing changes.
 * On SL_OK, *id_out (may be NULL) gets the new id (zero when
 * validate_only) and *partitions_out (may be NULL) the partition count.
 * @returns SL_OK, one of the wire errors above with a message in <why>,
 * SL_ERR__IO or SL_ERR__NOMEM.
 * @thread any  @locks takes the writer mutex, then briefly the rwlock
 */
sl_err_t sl_metastore_create_topic(sl_metastore_t *ms,
                                   const sl_topic_spec_t *spec,
                                   bool validate_only, sl_uuid_t *id_out,
                                   int32_t *partitions_out, char *why,
                                   size_t whylen);

/*
 * Metadata auto-creation: when <name> is unknown and
 * auto.create.topics.enable is true, create it with the broker defaults
 * (internal topics get their Kafka partition counts and cleanup.policy
 * compact). @returns SL_OK when the topic exists afterwards (*created tells
 * whether this call made it); UNKNOWN_TOPIC_OR_PARTITION when auto-creation
 * is off; INVALID_TOPIC_EXCEPTION for a bad name; SL_ERR__IO.
 */
sl_err_t sl_metastore_auto_create(sl_metastore_t *ms, const char *name,
                                  bool *created);

/*
 * DeleteTopics by name. @returns SL_OK (*id_out, if not NULL, gets the
 * deleted id), UNKNOWN_TOPIC_OR_PARTITION, SL_ERR__IO or __NOMEM.
 */
sl_err_t sl_metastore_delete_topic(sl_metastore_t *ms, const char *name,
                                   sl_uuid_t *id_out);

/*
 * DeleteTopics by id. @returns SL_OK (the name, if <name_out> is not NULL,
 * is copied there: SL_TOPIC_NAME_MAX + 1 bytes), INVALID_REQUEST for the
 * zero id, UNKNOWN_TOPIC_ID, SL_ERR__IO or __NOMEM.
 */
sl_err_t sl_metastore_delete_topic_id(sl_metastore_t *ms, const sl_uuid_t *id,
                                      char *name_out);

/*
 * CreatePartitions: raise the partition count of <name> to <count>; new
 * partitions start at leader epoch 0. @returns SL_OK,
 * UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS (count not above the
 * current one, or above SL_METASTORE_MAX_PARTITIONS), POLICY_VIOLATION
 * (more than SL_METASTORE_MAX_NEW_PARTITIONS new), SL_ERR__IO, __NOMEM.
 */
sl_err_t sl_metastore_create_partitions(sl_metastore_t *ms, const char *name,
                                        int32_t count, bool validate_only,
                                        char *why, size_t whylen);

/*
 * IncrementalAlterConfigs on topic <name> (see sl_topic_config_apply_ops()).
 * @returns SL_OK, UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG,
 * INVALID_REQUEST, SL_ERR__IO or __NOMEM, with a message.
 */
sl_err_t sl_metastore_alter_configs(sl_metastore_t *ms, const char *name,
                                    const sl_config_op_t *ops, size_t n,
                                    bool validate_only, char *why,
                                    size_t whylen);

/* AlterConfigs (replace all overrides) on topic <name>; same errors. */
sl_err_t sl_metastore_replace_configs(sl_metastore_t *ms, const char *name,
                                      const sl_topic_config_kv_t *kvs, size_t n,
                                      bool validate_only, char *why,
                                      size_t whylen);

/*
 * Raise the leader epoch of one partition by one (a new leadership term,
 * e.g. after the log was truncated on recovery). *epoch_out (may be NULL)
 * gets the new epoch. @returns SL_OK, UNKNOWN_TOPIC_OR_PARTITION, __IO.
 */
sl_err_t sl_metastore_bump_leader_epoch(sl_metastore_t *ms, const char *name,
                                        int32_t partition, int32_t *epoch_out);

/* ---- reads --------------------------------------------------------- */

/*
 * Copy topic <name> into <a>. @returns SL_OK, UNKNOWN_TOPIC_OR_PARTITION or
 * SL_ERR__NOMEM. @locks rwlock (read)
 */
sl_err_t sl_metastore_get(sl_metastore_t *ms, const char *name, sl_arena_t *a,
                          sl_topic_info_t *out);
/* The same by id: UNKNOWN_TOPIC_ID when absent. */
sl_err_t sl_metastore_get_by_id(sl_metastore_t *ms, const sl_uuid_t *id,
                                sl_arena_t *a, sl_topic_info_t *out);

/* A heap copy of topic <name>'s overrides for the storage layer (free with
 * sl_topic_config_map_clear()). @returns SL_OK, UNKNOWN_TOPIC_OR_PARTITION
 * or __NOMEM. */
sl_err_t sl_metastore_topic_configs(sl_metastore_t *ms, const char *name,
                                    sl_topic_config_map_t *out);

/*
 * Call <cb> for every topic in name order under the read lock; stop early
 * when it returns false. <cb> must not call the metastore's change
 * functions (it would deadlock on the rwlock).
 */
typedef bool (*sl_metastore_topic_cb)(const sl_topic_info_t *t, void *arg);
void sl_metastore_foreach(sl_metastore_t *ms, sl_metastore_topic_cb cb,
                          void *arg);

/*
 * Copy every topic, in name order, into <a>. *version_out (may be NULL)
 * gets the version the copy was taken at.
 * @returns SL_OK or SL_ERR__NOMEM.
 */
sl_err_t sl_metastore_snapshot(sl_metastore_t *ms, sl_arena_t *a,
                               sl_topic_info_t **out, size_t *n,
                               int64_t *version_out);

#endif
