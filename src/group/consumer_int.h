/*
 * group/consumer_int.h: internals of the consumer group coordinator,
 * shared by consumer.c (heartbeat, reconciliation, timers, describe),
 * consumer_assign.c (assignors) and consumer_records.c (records).
 *
 * Owns nothing by itself; everything below is owned by sl_cgroup_coord_t.
 */
#ifndef SL_GROUP_CONSUMER_INT_H
#define SL_GROUP_CONSUMER_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>

#include "group/consumer.h"
#include "group/group_int.h"

/* One topic partition, by topic id. */
typedef struct sl_ctp_s {
    sl_uuid_t topic;
    int32_t p;
} sl_ctp_t;

/* A set of topic partitions: sorted by (topic, partition), no duplicates. */
typedef struct sl_ctps_s {
    sl_ctp_t *v;
    int32_t n;
    int32_t cap;
} sl_ctps_t;

/* A subscribed topic as the group last saw it. */
typedef struct sl_ctopic_s {
    sl_gstr_t name;
    sl_uuid_t id;
    int32_t partitions;
} sl_ctopic_t;

typedef struct sl_cmember_s {
    sl_gstr_t id;
    sl_gstr_t instance_id;
    sl_gstr_t rack_id;
    sl_gstr_t client_id;
    sl_gstr_t client_host;
    sl_gstr_t *topics; /* subscribed topic names */
    int32_t topics_count;
    sl_gstr_t regex;    /* null: none */
    regex_t *re;        /* compiled <regex>, anchored */
    sl_gstr_t assignor; /* null: the default */
    int32_t rebalance_timeout_ms;
    int32_t epoch;
    int32_t prev_epoch;
    sl_cmember_state_e state;
    sl_ctps_t assigned;
    sl_ctps_t revoking; /* pending revocation */
    sl_ctps_t target;
    int64_t session_deadline;
    int64_t rebalance_deadline; /* INT64_MAX: not revoking */
} sl_cmember_t;

typedef struct sl_cgroup_s {
    sl_gstr_t id;
    int32_t partition; /* of __consumer_offsets */
    int32_t epoch;
    int32_t assignment_epoch;
    sl_cmember_t **members; /* in join order */
    int32_t members_count;
    sl_ctopic_t *topics; /* subscribed topics, sorted by name */
    int32_t topics_count;
} sl_cgroup_t;

struct sl_cgroup_coord_s {
    pthread_mutex_t lock;
    sl_cgroup_config_t cfg;
    sl_group_store_t store;
    sl_cgroup_t **groups;
    int32_t groups_count;
    uint64_t id_seed;
    uint64_t id_counter;
};

#define SL_CGROUP_LEAVE_EPOCH (-1)
#define SL_CGROUP_STATIC_LEAVE_EPOCH (-2)

/* An operation waiting for its appends: a heartbeat answered when the last
 * one completed (refs: one per append, plus the caller's). */
typedef struct sl_cop_s {
    atomic_int refs;
    _Atomic sl_err_t err;
    sl_cgroup_hb_cb cb;
    void *arg;
    sl_cgroup_hb_result_t *r;
} sl_cop_t;

/* ---- topic-partition sets (consumer.c) ---- */
int sl_ctp_cmp(const sl_ctp_t *x, const sl_ctp_t *y);
bool sl_ctps_has(const sl_ctps_t *s, const sl_uuid_t *t, int32_t p);
sl_err_t sl_ctps_add(sl_ctps_t *s, const sl_uuid_t *t, int32_t p);
void sl_ctps_del(sl_ctps_t *s, const sl_uuid_t *t, int32_t p);
sl_err_t sl_ctps_copy(sl_ctps_t *dst, const sl_ctps_t *src);
bool sl_ctps_eq(const sl_ctps_t *x, const sl_ctps_t *y);
void sl_ctps_free(sl_ctps_t *s);

/* ---- groups and members (consumer.c) ---- */
sl_cgroup_t *sl_cgroup_find(sl_cgroup_coord_t *cc, sl_str_t id);
sl_cgroup_t *sl_cgroup_create(sl_cgroup_coord_t *cc, sl_str_t id);
void sl_cgroup_remove(sl_cgroup_coord_t *cc, sl_cgroup_t *g);
sl_cmember_t *sl_cmember_find(const sl_cgroup_t *g, sl_str_t id);
sl_cmember_t *sl_cmember_add(sl_cgroup_t *g, sl_str_t id);
void sl_cmember_remove(sl_cgroup_t *g, sl_cmember_t *m);
sl_cmember_t *sl_cmember_find_instance(const sl_cgroup_t *g,
                                       sl_str_t instance_id);
void sl_cgroup_topics_free(sl_cgroup_t *g);
/* The assignor the group uses (the most asked for, else the default). */
sl_str_t sl_cgroup_assignor(const sl_cgroup_coord_t *cc, const sl_cgroup_t *g);
/* <s> grouped by topic into <a> (topic names from the group's topics). */
sl_err_t sl_cgroup_tps_out(sl_arena_t *a, const sl_cgroup_t *g,
                           const sl_ctps_t *s, sl_cgroup_tps_t **out,
                           int32_t *out_n);

/* ---- assignors (consumer_assign.c) ---- */

/* Does <m> subscribe to topic <name>? (names, or the regex, full match) */
bool sl_cmember_subscribes(const sl_cmember_t *m, sl_str_t name);
/* Compile <regex> anchored at both ends (*out NULL for null or "").
 * @returns SL_OK, INVALID_REGULAR_EXPRESSION, SL_ERR__NOMEM. */
sl_err_t sl_cgroup_regex_compile(sl_str_t regex, regex_t **out);
void sl_cgroup_regex_free(regex_t *re);
/* Set (or clear, for null or "") the member's regex subscription. */
sl_err_t sl_cmember_set_regex(sl_cmember_t *m, sl_str_t regex);
/* Is <name> a server-side assignor we have? */
bool sl_cgroup_assignor_known(sl_str_t name);
/* Compute every member's target (m->target) from the group's topics and
 * the previous targets. @returns SL_OK or SL_ERR__NOMEM. */
sl_err_t sl_cgroup_assign(sl_cgroup_t *g, sl_str_t assignor);

/* ---- records (consumer_records.c); lock held ---- */
/* <op> may be NULL: the append is not waited for. */
void sl_cgroup_persist_epoch(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                             sl_cop_t *op);
void sl_cgroup_persist_topics(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                              sl_cop_t *op);
void sl_cgroup_persist_member(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                              sl_cmember_t *m, sl_cop_t *op);
void sl_cgroup_persist_target(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                              sl_cmember_t *m, sl_cop_t *op);
void sl_cgroup_persist_target_epoch(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                                    sl_cop_t *op);
void sl_cgroup_persist_current(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                               sl_cmember_t *m, sl_cop_t *op);
/* Tombstones of a member's three records. */
void sl_cgroup_persist_member_gone(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                                   sl_str_t member_id, sl_cop_t *op);
/* Tombstones of the group's own records (metadata, partition metadata,
 * target assignment metadata). */
void sl_cgroup_persist_group_gone(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                                  sl_cop_t *op);

/* An append of <op> begins / ended (consumer.c). */
void sl_cop_hold(sl_cop_t *op);
void sl_cop_release(sl_cop_t *op, sl_err_t err);

#endif
