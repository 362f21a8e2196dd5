/*
 * group/consumer.h: the consumer group protocol of KIP-848
 * (ConsumerGroupHeartbeat, ConsumerGroupDescribe) as a state machine with
 * server-side assignors ("uniform", "range").
 *
 * Like the classic coordinator (group/group.h) it is driven by events and a
 * clock the caller passes in (now_ms); it has no thread and reads no clock.
 * sl_cgroup_coord_tick() fences members whose session expired or who did
 * not revoke partitions within their rebalance timeout.
 *
 * Topics: the coordinator does not know the broker's topics. Every
 * heartbeat carries the current topic image (sl_cgroup_topics_t); when a
 * group's subscribed topics (names, ids, partition counts) differ from what
 * the group last saw, the group epoch is bumped and a new target
 * assignment computed, as Kafka does when its metadata image changes. This
 * is how a regex subscription picks up a new topic and how a deleted topic
 * leaves the assignment.
 *
 * Model (Kafka 4.0's): a group has an epoch, bumped whenever membership,
 * subscriptions or subscribed topic metadata change; a target assignment
 * computed by the assignor at the group epoch; and per member a current
 * assignment that converges to the target: a member gets a partition only
 * once its previous owner has revoked it (states STABLE,
 * UNREVOKED_PARTITIONS, UNRELEASED_PARTITIONS).
 *
 * Persistence: every change is handed to the same store as the classic
 * coordinator (sl_group_store_t) as Kafka's records (types 3-8, see
 * group/consumer_records.c); sl_cgroup_coord_load() rebuilds state.
 * A heartbeat is answered once its records are durable.
 *
 * Locking: one mutex per coordinator. Completion callbacks never run with
 * it held.
 *
 * Owned by: whoever creates it (api/group_store.c).
 */
#ifndef SL_GROUP_CONSUMER_H
#define SL_GROUP_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "group/group.h"
#include "proto/wire.h"

typedef struct sl_cgroup_coord_s sl_cgroup_coord_t;

/* Group states, as ConsumerGroupDescribe and ListGroups name them. */
typedef enum sl_cgroup_state_e {
    SL_CGROUP_STATE_EMPTY = 0,
    SL_CGROUP_STATE_ASSIGNING,
    SL_CGROUP_STATE_RECONCILING,
    SL_CGROUP_STATE_STABLE,
    SL_CGROUP_STATE_DEAD,
} sl_cgroup_state_e;

const char *sl_cgroup_state_name(sl_cgroup_state_e s);

/* Member reconciliation states (Kafka's MemberState, as persisted). */
typedef enum sl_cmember_state_e {
    SL_CMEMBER_STABLE = 0,
    SL_CMEMBER_UNREVOKED_PARTITIONS = 1,
    SL_CMEMBER_UNRELEASED_PARTITIONS = 2,
    SL_CMEMBER_UNKNOWN = 127,
} sl_cmember_state_e;

typedef struct sl_cgroup_config_s {
    int32_t session_timeout_ms;    /* group.consumer.session.timeout.ms */
    int32_t heartbeat_interval_ms; /* group.consumer.heartbeat.interval.ms */
    int32_t max_size;              /* group.consumer.max.size */
    int32_t offsets_partitions;    /* offsets.topic.num.partitions */
    const char *default_assignor;  /* first of group.consumer.assignors */
} sl_cgroup_config_t;

void sl_cgroup_config_defaults(sl_cgroup_config_t *cfg);

/* One topic of the broker's metadata image. */
typedef struct sl_cgroup_topic_s {
    sl_str_t name;
    sl_uuid_t id;
    int32_t partitions;
    bool internal; /* never matched by a regex */
} sl_cgroup_topic_t;

typedef struct sl_cgroup_topics_s {
    const sl_cgroup_topic_t *v;
    int32_t n;
} sl_cgroup_topics_t;

/* A topic's partitions, by topic id. */
typedef struct sl_cgroup_tps_s {
    sl_uuid_t topic_id;
    sl_str_t topic_name; /* describe only; "" when unknown */
    const int32_t *partitions;
    int32_t partitions_count;
} sl_cgroup_tps_t;

/* @returns a coordinator, NULL when out of memory. <store> is copied. */
sl_cgroup_coord_t *sl_cgroup_coord_create(const sl_cgroup_config_t *cfg,
                                          const sl_group_store_t *store);
/* Free everything. Appends still in flight complete into their requests,
 * never into the coordinator. */
void sl_cgroup_coord_destroy(sl_cgroup_coord_t *cc);

/* Fence every member whose session or rebalance deadline is <= now_ms. */
void sl_cgroup_coord_tick(sl_cgroup_coord_t *cc, int64_t now_ms);

/* ---- ConsumerGroupHeartbeat ------------------------------------------- */

typedef struct sl_cgroup_hb_req_s {
    int16_t version; /* v0: the coordinator makes member ids */
    sl_str_t group_id;
    sl_str_t member_id;
    int32_t member_epoch;
    sl_str_t instance_id;                   /* null: dynamic member */
    sl_str_t rack_id;                       /* null: unchanged */
    int32_t rebalance_timeout_ms;           /* -1: unchanged */
    const sl_str_t *subscribed_topic_names; /* NULL: unchanged */
    int32_t subscribed_topic_names_count;
    sl_str_t subscribed_topic_regex; /* null: unchanged ("" clears) */
    sl_str_t server_assignor;        /* null: unchanged */
    const sl_cgroup_tps_t *owned;    /* NULL: unchanged */
    int32_t owned_count;
    sl_str_t client_id;
    sl_str_t client_host;
} sl_cgroup_hb_req_t;

typedef struct sl_cgroup_hb_result_s {
    sl_err_t error;
    sl_str_t error_message; /* null unless an error explains itself */
    sl_str_t member_id;
    int32_t member_epoch;
    int32_t heartbeat_interval_ms;
    bool has_assignment;
    sl_cgroup_tps_t *assignment;
    int32_t assignment_count;
} sl_cgroup_hb_result_t;

/* Runs once, without the lock, possibly on another thread; <r> lives in
 * the arena passed to sl_cgroup_heartbeat(). */
typedef void (*sl_cgroup_hb_cb)(void *arg, const sl_cgroup_hb_result_t *r);

/*
 * One ConsumerGroupHeartbeat. The result is built in <a>, which must live
 * until <cb> ran; <topics> is read during the call only.
 * @thread any @locks coordinator
 */
void sl_cgroup_heartbeat(sl_cgroup_coord_t *cc, int64_t now_ms,
                         const sl_cgroup_hb_req_t *req,
                         const sl_cgroup_topics_t *topics, sl_arena_t *a,
                         sl_cgroup_hb_cb cb, void *arg);

/* ---- ConsumerGroupDescribe, ListGroups, DeleteGroups -------------------- */

typedef struct sl_cgroup_member_desc_s {
    sl_str_t member_id;
    sl_str_t instance_id;
    sl_str_t rack_id;
    int32_t member_epoch;
    sl_str_t client_id;
    sl_str_t client_host;
    const sl_str_t *subscribed_topic_names;
    int32_t subscribed_topic_names_count;
    sl_str_t subscribed_topic_regex;
    sl_cgroup_tps_t *assignment;
    int32_t assignment_count;
    sl_cgroup_tps_t *target;
    int32_t target_count;
    sl_cmember_state_e state;
} sl_cgroup_member_desc_t;

typedef struct sl_cgroup_desc_s {
    sl_str_t group_id;
    sl_cgroup_state_e state;
    int32_t group_epoch;
    int32_t assignment_epoch;
    sl_str_t assignor_name;
    sl_cgroup_member_desc_t *members;
    int32_t members_count;
} sl_cgroup_desc_t;

/* Describe into <out> from <a>. @returns GROUP_ID_NOT_FOUND when no such
 * consumer group, SL_ERR__NOMEM when <a> is full. */
sl_err_t sl_cgroup_describe(sl_cgroup_coord_t *cc, sl_str_t group_id,
                            sl_arena_t *a, sl_cgroup_desc_t *out);

/* True when <group_id> is a consumer group (with or without members);
 * *members_out (may be NULL) gets its member count. */
bool sl_cgroup_exists(sl_cgroup_coord_t *cc, sl_str_t group_id,
                      int32_t *members_out);

typedef struct sl_cgroup_listing_s {
    sl_str_t group_id;
    sl_cgroup_state_e state;
} sl_cgroup_listing_t;

/* Does a member of consumer group <group_id> subscribe to <topic>? */
bool sl_cgroup_subscribed(sl_cgroup_coord_t *cc, sl_str_t group_id,
                          sl_str_t topic);

/* Every consumer group: ids and states, from <a>. */
sl_err_t sl_cgroup_list(sl_cgroup_coord_t *cc, sl_arena_t *a,
                        sl_cgroup_listing_t **out, int32_t *out_n);

/* DeleteGroups: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, or OK (tombstones of
 * its records appended). */
sl_err_t sl_cgroup_delete(sl_cgroup_coord_t *cc, sl_str_t group_id);

/*
 * OffsetCommit (<fetch> false) / OffsetFetch (<fetch> true) checks of
 * Kafka's ConsumerGroup: a member epoch < 0 with no member id is an admin
 * request, fine when the group has no members (always for a fetch);
 * otherwise the member must exist (UNKNOWN_MEMBER_ID) and the epoch match
 * (STALE_MEMBER_EPOCH). Commits below OffsetCommit v9 from a member get
 * UNSUPPORTED_VERSION. @returns SL_OK also when no such consumer group.
 */
sl_err_t sl_cgroup_validate_offsets(sl_cgroup_coord_t *cc, sl_str_t group_id,
                                    sl_str_t member_id, int32_t member_epoch,
                                    bool fetch, int16_t api_version);

/* ---- Loading (group/consumer_records.c) --------------------------------- */

/* Apply one record of types 3-8 read back from __consumer_offsets
 * (value NULL = tombstone). Members get a session starting at <now_ms>.
 * @returns SL_OK, SL_ERR__CORRUPT (state unchanged), SL_ERR__UNSUPPORTED
 * for record types that are not the consumer protocol's. */
sl_err_t sl_cgroup_coord_load(sl_cgroup_coord_t *cc, int64_t now_ms,
                              const uint8_t *key, size_t key_len,
                              const uint8_t *value, size_t value_len);

#endif
