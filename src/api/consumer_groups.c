/*
 * api/consumer_groups.c: the consumer group protocol of KIP-848 on top of
 * group/consumer.h: ConsumerGroupHeartbeat (68, v0-1) and
 * ConsumerGroupDescribe (69, v0), plus the hooks the classic group APIs
 * call so that one group id is one kind of group.
 *
 * Mixing rule (Kafka 4.0 with group.consumer.migration.policy=disabled): a
 * ConsumerGroupHeartbeat for the id of a classic group with members gets
 * GROUP_ID_NOT_FOUND; a JoinGroup for the id of a consumer group with
 * members gets INCONSISTENT_GROUP_PROTOCOL (groups.c). An empty classic
 * group (one that only holds committed offsets) may become a consumer
 * group; its offsets stay where they are and serve both.
 *
 * A heartbeat may wait: it is answered once its records are durable in
 * __consumer_offsets, by whichever thread completed the last append.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "group/consumer.h"
#include "proto/gen/consumer_group_describe.h"
#include "proto/gen/consumer_group_heartbeat.h"
#include "proto/gen/list_groups.h"

static sl_str_t
sl_cg_client_host(sl_api_req_t *r)
{
    const char *peer = sl_conn_peer(r->req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);
    char *h = sl_arena_alloc(r->arena, n + 2);
    sl_str_t s = {"", 0};

    if (h != NULL) {
        h[0] = '/'; /* Kafka reports "/<address>" */
        memcpy(h + 1, peer, n);
        h[n + 1] = '\0';
        s.ptr = h;
        s.len = (int32_t)n + 1;
    }
    return s;
}

bool
sl_api_consumer_protocol_enabled(sl_api_t *api)
{
    const char *p =
        sl_config_str(api->cfg, "group.coordinator.rebalance.protocols");

    return p == NULL || strstr(p, "consumer") != NULL;
}

/* The broker's topics, copied into the request's arena. */
static sl_err_t
sl_cg_topics(sl_api_req_t *r, sl_cgroup_topics_t *out)
{
    sl_cgroup_topic_t *v = NULL;
    int32_t n = 0, cap = 0, b;
    sl_ptopic_t *t;
    sl_err_t err = SL_OK;

    sl_api_plock_rd(r->api);
    for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
        for (t = r->api->topics[b]; t != NULL; t = t->next) {
            cap++;
        }
    }
    v = sl_arena_calloc(r->arena, (size_t)(cap > 0 ? cap : 1), sizeof(*v));
    if (v == NULL) {
        err = SL_ERR__NOMEM;
    }
    for (b = 0; v != NULL && b < SL_API_TOPIC_BUCKETS; b++) {
        for (t = r->api->topics[b]; t != NULL && n < cap; t = t->next) {
            v[n].name = sl_api_str(r->arena, t->name);
            v[n].id = t->id;
            v[n].partitions = t->n;
            v[n].internal = strcmp(t->name, "__consumer_offsets") == 0 ||
                            strcmp(t->name, "__transaction_state") == 0;
            if (v[n].name.len < 0) {
                err = SL_ERR__NOMEM;
                break;
            }
            n++;
        }
    }
    sl_api_punlock(r->api);
    out->v = v;
    out->n = n;
    return err;
}

/* Is <group_id> a classic group with members? */
static bool
sl_cg_classic_busy(sl_api_req_t *r, sl_str_t group_id)
{
    sl_group_desc_t d;

    if (sl_group_describe(r->api->groups, group_id, r->arena, &d) != SL_OK) {
        return false;
    }
    return d.state != SL_GROUP_STATE_EMPTY && d.state != SL_GROUP_STATE_DEAD;
}

/* ---- ConsumerGroupHeartbeat ---- */

static const sl_str_t sl_cg_no_names[1] = {{"", 0}};

static void
sl_cg_hb_done(void *arg, const sl_cgroup_hb_result_t *res)
{
    sl_api_req_t *r = arg;
    sl_msg_consumer_group_heartbeat_resp_t *resp = r->resp;
    sl_msg_consumer_group_heartbeat_resp_topic_partitions_t *tps;
    int32_t i;

    if (res->error == SL_ERR__NOMEM) {
        sl_api_finish(r, SL_ERR__NOMEM);
        return;
    }
    resp->error_code = sl_err_to_wire(res->error);
    resp->error_message = res->error_message;
    resp->member_id = res->member_id;
    resp->member_epoch = res->member_epoch;
    resp->heartbeat_interval_ms = res->heartbeat_interval_ms;
    resp->assignment_present = false;
    if (res->error == SL_OK && res->has_assignment) {
        tps = sl_arena_calloc(
            r->arena,
            (size_t)(res->assignment_count > 0 ? res->assignment_count : 1),
            sizeof(*tps));
        if (tps == NULL) {
            sl_api_finish(r, SL_ERR__NOMEM);
            return;
        }
        sl_msg_consumer_group_heartbeat_resp_assignment_init(&resp->assignment);
        for (i = 0; i < res->assignment_count; i++) {
            sl_msg_consumer_group_heartbeat_resp_topic_partitions_init(&tps[i]);
            tps[i].topic_id = res->assignment[i].topic_id;
            tps[i].partitions = (int32_t *)res->assignment[i].partitions;
            tps[i].partitions_count = res->assignment[i].partitions_count;
        }
        resp->assignment.topic_partitions = tps;
        resp->assignment.topic_partitions_count = res->assignment_count;
        resp->assignment_present = true;
    }
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_consumer_group_heartbeat_handle(sl_api_req_t *r, const void *reqp,
                                       void *respp)
{
    const sl_msg_consumer_group_heartbeat_req_t *req = reqp;
    sl_msg_consumer_group_heartbeat_resp_t *resp = respp;
    sl_cgroup_hb_req_t q;
    sl_cgroup_topics_t topics;
    sl_cgroup_tps_t *owned = NULL;
    int32_t i;
    char msg[300];

    if (!sl_api_consumer_protocol_enabled(r->api)) {
        resp->error_code = (int16_t)SL_ERR_UNSUPPORTED_VERSION;
        resp->error_message =
            sl_api_str(r->arena, "The consumer group protocol is disabled "
                                 "(group.coordinator.rebalance.protocols).");
        return SL_OK;
    }
    if (sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id) != SL_OK) {
        resp->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
        return SL_OK; /* ACLs: READ on the group */
    }
    for (i = 0; i < req->subscribed_topic_names_count; i++) {
        if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC,
                              req->subscribed_topic_names[i])) {
            /* ACLs: no subscribing to topics the member may not see */
            resp->error_code = (int16_t)SL_ERR_TOPIC_AUTHORIZATION_FAILED;
            return SL_OK;
        }
    }
    if (req->group_id.len > 0 && sl_cg_classic_busy(r, req->group_id)) {
        snprintf(msg, sizeof(msg), "Group %.*s is not a consumer group.",
                 req->group_id.len > 200 ? 200 : (int)req->group_id.len,
                 req->group_id.ptr);
        resp->error_code = (int16_t)SL_ERR_GROUP_ID_NOT_FOUND;
        resp->error_message = sl_api_str(r->arena, msg);
        return SL_OK;
    }
    if (sl_cg_topics(r, &topics) != SL_OK) {
        return SL_ERR__NOMEM;
    }
    if (req->topic_partitions_count >= 0) {
        owned = sl_arena_calloc(r->arena,
                                (size_t)(req->topic_partitions_count > 0
                                             ? req->topic_partitions_count
                                             : 1),
                                sizeof(*owned));
        if (owned == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < req->topic_partitions_count; i++) {
            owned[i].topic_id = req->topic_partitions[i].topic_id;
            owned[i].topic_name = (sl_str_t){"", 0};
            owned[i].partitions = req->topic_partitions[i].partitions;
            owned[i].partitions_count =
                req->topic_partitions[i].partitions_count > 0
                    ? req->topic_partitions[i].partitions_count
                    : 0;
        }
    }
    memset(&q, 0, sizeof(q));
    q.version = r->version;
    q.group_id = req->group_id;
    q.member_id = req->member_id;
    q.member_epoch = req->member_epoch;
    q.instance_id = req->instance_id;
    q.rack_id = req->rack_id;
    q.rebalance_timeout_ms = req->rebalance_timeout_ms;
    q.subscribed_topic_names = req->subscribed_topic_names_count >= 0
                                   ? req->subscribed_topic_names
                                   : NULL;
    if (q.subscribed_topic_names == NULL &&
        req->subscribed_topic_names_count == 0) {
        q.subscribed_topic_names = sl_cg_no_names; /* empty, not null */
    }
    q.subscribed_topic_names_count = req->subscribed_topic_names_count > 0
                                         ? req->subscribed_topic_names_count
                                         : 0;
    q.subscribed_topic_regex =
        r->version >= 1 ? req->subscribed_topic_regex : (sl_str_t){NULL, -1};
    q.server_assignor = req->server_assignor;
    q.owned = owned;
    q.owned_count =
        req->topic_partitions_count > 0 ? req->topic_partitions_count : 0;
    q.client_id = r->client_id.len >= 0 ? r->client_id : (sl_str_t){"", 0};
    q.client_host = sl_cg_client_host(r);
    sl_cgroup_heartbeat(r->api->cgroups, sl_clock_wall_ms(), &q, &topics,
                        r->arena, sl_cg_hb_done, r);
    return SL_ERR__AGAIN;
}

/* ---- ConsumerGroupDescribe ---- */

static sl_err_t
sl_cg_assignment(sl_api_req_t *r, const sl_cgroup_tps_t *v, int32_t n,
                 sl_msg_consumer_group_describe_resp_assignment_t *out)
{
    int32_t i;

    sl_msg_consumer_group_describe_resp_assignment_init(out);
    out->topic_partitions = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                            sizeof(*out->topic_partitions));
    if (out->topic_partitions == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        sl_msg_consumer_group_describe_resp_topic_partitions_t *t =
            &out->topic_partitions[i];

        sl_msg_consumer_group_describe_resp_topic_partitions_init(t);
        t->topic_id = v[i].topic_id;
        t->topic_name =
            v[i].topic_name.len >= 0 ? v[i].topic_name : (sl_str_t){"", 0};
        t->partitions = (int32_t *)v[i].partitions;
        t->partitions_count = v[i].partitions_count;
    }
    out->topic_partitions_count = n;
    return SL_OK;
}

static sl_str_t
sl_cg_nonnull(sl_str_t s)
{
    return s.len >= 0 ? s : (sl_str_t){"", 0};
}

sl_err_t
sl_api_consumer_group_describe_handle(sl_api_req_t *r, const void *reqp,
                                      void *respp)
{
    const sl_msg_consumer_group_describe_req_t *req = reqp;
    sl_msg_consumer_group_describe_resp_t *resp = respp;
    int32_t gi, i, n = req->group_ids_count > 0 ? req->group_ids_count : 0;
    char msg[300];

    resp->groups = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                   sizeof(*resp->groups));
    if (resp->groups == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->groups_count = n;
    for (gi = 0; gi < n; gi++) {
        sl_msg_consumer_group_describe_resp_described_group_t *og =
            &resp->groups[gi];
        sl_cgroup_desc_t d;
        sl_err_t err;

        sl_msg_consumer_group_describe_resp_described_group_init(og);
        og->group_id = sl_cg_nonnull(req->group_ids[gi]);
        if (req->include_authorized_operations) {
            og->authorized_operations =
                sl_api_authorized_ops(r, SL_ACL_RES_GROUP, og->group_id);
        }
        if (req->group_ids[gi].len > 0 &&
            sl_api_auth_group(r, SL_ACL_OP_DESCRIBE, og->group_id) != SL_OK) {
            og->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
            og->group_state = (sl_str_t){"", 0};
            continue; /* ACLs: DESCRIBE on the group */
        }
        if (req->group_ids[gi].len <= 0) {
            og->error_code = (int16_t)SL_ERR_INVALID_GROUP_ID;
            og->group_state = (sl_str_t){"Dead", 4};
            continue;
        }
        err = sl_cgroup_describe(r->api->cgroups, req->group_ids[gi], r->arena,
                                 &d);
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            sl_group_desc_t cd;
            bool classic = sl_group_describe(r->api->groups, req->group_ids[gi],
                                             r->arena, &cd) == SL_OK;

            snprintf(msg, sizeof(msg),
                     classic ? "Group %.*s is not a consumer group."
                             : "Group %.*s not found.",
                     og->group_id.len > 200 ? 200 : (int)og->group_id.len,
                     og->group_id.ptr);
            og->error_code = (int16_t)SL_ERR_GROUP_ID_NOT_FOUND;
            og->error_message = sl_api_str(r->arena, msg);
            og->group_state = (sl_str_t){"Dead", 4};
            continue;
        }
        og->group_state = sl_api_str(r->arena, sl_cgroup_state_name(d.state));
        og->group_epoch = d.group_epoch;
        og->assignment_epoch = d.assignment_epoch;
        og->assignor_name = sl_cg_nonnull(d.assignor_name);
        og->members = sl_arena_calloc(
            r->arena, (size_t)(d.members_count > 0 ? d.members_count : 1),
            sizeof(*og->members));
        if (og->members == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < d.members_count; i++) {
            const sl_cgroup_member_desc_t *m = &d.members[i];
            sl_msg_consumer_group_describe_resp_member_t *om = &og->members[i];

            sl_msg_consumer_group_describe_resp_member_init(om);
            om->member_id = sl_cg_nonnull(m->member_id);
            om->instance_id = m->instance_id;
            om->rack_id = m->rack_id;
            om->member_epoch = m->member_epoch;
            om->client_id = sl_cg_nonnull(m->client_id);
            om->client_host = sl_cg_nonnull(m->client_host);
            om->subscribed_topic_names = (sl_str_t *)m->subscribed_topic_names;
            om->subscribed_topic_names_count = m->subscribed_topic_names_count;
            om->subscribed_topic_regex = m->subscribed_topic_regex;
            if (sl_cg_assignment(r, m->assignment, m->assignment_count,
                                 &om->assignment) != SL_OK ||
                sl_cg_assignment(r, m->target, m->target_count,
                                 &om->target_assignment) != SL_OK) {
                return SL_ERR__NOMEM;
            }
        }
        og->members_count = d.members_count;
    }
    return SL_OK;
}

/* ---- hooks of the classic group APIs ---- */

static bool
sl_cg_filter_has(const sl_str_t *v, int32_t n, const char *name)
{
    size_t len = strlen(name);
    int32_t i;

    if (v == NULL || n <= 0) {
        return true;
    }
    for (i = 0; i < n; i++) {
        if (v[i].len == (int32_t)len && strncasecmp(v[i].ptr, name, len) == 0) {
            return true;
        }
    }
    return false;
}

sl_err_t
sl_api_cg_list_merge(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_list_groups_req_t *req = reqp;
    sl_msg_list_groups_resp_t *resp = respp;
    const sl_str_t *states = r->version >= 4 ? req->states_filter : NULL;
    const sl_str_t *types = r->version >= 5 ? req->types_filter : NULL;
    int32_t ns = r->version >= 4 ? req->states_filter_count : 0;
    int32_t nt = r->version >= 5 ? req->types_filter_count : 0;
    sl_msg_list_groups_resp_listed_group_t *v;
    sl_cgroup_listing_t *ls;
    int32_t i, k = 0, n;
    sl_err_t err;

    err = sl_cgroup_list(r->api->cgroups, r->arena, &ls, &n);
    if (err != SL_OK) {
        return err;
    }
    v = sl_arena_calloc(r->arena, (size_t)(resp->groups_count + n + 1),
                        sizeof(*v));
    if (v == NULL) {
        return SL_ERR__NOMEM;
    }
    /* A classic entry for a consumer group's id only holds its offsets. */
    for (i = 0; i < resp->groups_count; i++) {
        int32_t j;

        for (j = 0; j < n; j++) {
            if (sl_str_eq(ls[j].group_id, resp->groups[i].group_id)) {
                break;
            }
        }
        if (j == n) {
            v[k++] = resp->groups[i];
        }
    }
    for (i = 0; i < n; i++) {
        const char *state = sl_cgroup_state_name(ls[i].state);

        if (!sl_cg_filter_has(states, ns, state) ||
            !sl_cg_filter_has(types, nt, "consumer")) {
            continue;
        }
        sl_msg_list_groups_resp_listed_group_init(&v[k]);
        v[k].group_id = ls[i].group_id;
        v[k].protocol_type = (sl_str_t){"consumer", 8};
        v[k].group_state = sl_api_str(r->arena, state);
        v[k].group_type = (sl_str_t){"consumer", 8};
        k++;
    }
    resp->groups = v;
    resp->groups_count = k;
    return SL_OK;
}

sl_err_t
sl_api_cg_delete(sl_api_req_t *r, sl_str_t group_id)
{
    sl_err_t err;

    if (!sl_cgroup_exists(r->api->cgroups, group_id, NULL)) {
        return sl_group_delete(r->api->groups, sl_clock_wall_ms(), group_id);
    }
    err = sl_cgroup_delete(r->api->cgroups, group_id);
    if (err == SL_OK) {
        /* Its committed offsets, kept by the classic coordinator. */
        err = sl_group_delete(r->api->groups, sl_clock_wall_ms(), group_id);
        if (err == SL_ERR_GROUP_ID_NOT_FOUND) {
            err = SL_OK;
        }
    }
    return err;
}

bool
sl_api_cg_in_use(void *ctx, sl_str_t group_id)
{
    sl_api_t *api = ctx;
    int32_t members = 0;

    return api->cgroups != NULL &&
           sl_cgroup_exists(api->cgroups, group_id, &members) && members > 0;
}

bool
sl_api_cg_is_consumer(sl_api_req_t *r, sl_str_t group_id, bool with_members)
{
    int32_t members = 0;

    if (!sl_cgroup_exists(r->api->cgroups, group_id, &members)) {
        return false;
    }
    return !with_members || members > 0;
}

sl_err_t
sl_api_cg_offset_delete(sl_api_req_t *r, sl_str_t group_id,
                        const sl_group_tp_t *tps, int32_t n, sl_err_t *errs)
{
    sl_group_tp_t *pass;
    sl_err_t *perr, err;
    int32_t i, k = 0;

    if (!sl_cgroup_exists(r->api->cgroups, group_id, NULL)) {
        return sl_group_offset_delete(r->api->groups, sl_clock_wall_ms(),
                                      group_id, tps, n, errs);
    }
    pass = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*pass));
    perr = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*perr));
    if (pass == NULL || perr == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        if (!sl_cgroup_subscribed(r->api->cgroups, group_id, tps[i].topic)) {
            pass[k++] = tps[i];
        }
    }
    err = sl_group_offset_delete(r->api->groups, sl_clock_wall_ms(), group_id,
                                 pass, k, perr);
    if (err == SL_ERR_GROUP_ID_NOT_FOUND && k < n) {
        err = SL_OK; /* no offsets yet, but the group exists */
        for (i = 0; i < k; i++) {
            perr[i] = SL_OK;
        }
    }
    for (i = 0, k = 0; i < n; i++) {
        if (sl_cgroup_subscribed(r->api->cgroups, group_id, tps[i].topic)) {
            errs[i] = SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
        } else {
            errs[i] = perr[k++];
        }
    }
    return err;
}

sl_err_t
sl_api_cg_classic_join(sl_api_req_t *r, sl_str_t group_id)
{
    int32_t members = 0;

    if (!sl_cgroup_exists(r->api->cgroups, group_id, &members)) {
        return SL_OK;
    }
    if (members > 0) {
        return SL_ERR_INCONSISTENT_GROUP_PROTOCOL;
    }
    /* NON_EMPTY_GROUP if a member joined meanwhile: refuse then too. */
    return sl_cgroup_delete(r->api->cgroups, group_id) == SL_ERR_NON_EMPTY_GROUP
               ? SL_ERR_INCONSISTENT_GROUP_PROTOCOL
               : SL_OK;
}
