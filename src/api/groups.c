/*
 * api/groups.c: the classic group APIs on top of the group coordinator
 * (group/): FindCoordinator (0-6), JoinGroup (0-9), SyncGroup (0-5),
 * Heartbeat (0-4), LeaveGroup (0-5), OffsetCommit (2-9), OffsetFetch (1-9).
 *
 * This broker is the coordinator of every group (and every transactional
 * id). JoinGroup, SyncGroup and OffsetCommit may wait: the handler parks
 * the request and the coordinator's callback fills the response and
 * finishes it, on whichever thread completed it.
 */
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/gen/find_coordinator.h"
#include "proto/gen/heartbeat.h"
#include "proto/gen/join_group.h"
#include "proto/gen/leave_group.h"
#include "proto/gen/offset_commit.h"
#include "proto/gen/offset_fetch.h"
#include "proto/gen/sync_group.h"

static sl_str_t
sl_groups_client_host(sl_api_req_t *r)
{
    const char *peer = sl_conn_peer(r->req->conn);
    const char *colon = strrchr(peer, ':');
    char *h;
    size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);
    sl_str_t s = {"", 0};

    /* Kafka reports "/<address>". */
    h = sl_arena_alloc(r->arena, n + 2);
    if (h != NULL) {
        h[0] = '/';
        memcpy(h + 1, peer, n);
        h[n + 1] = '\0';
        s.ptr = h;
        s.len = (int32_t)n + 1;
    }
    return s;
}

static sl_str_t
sl_groups_copy(sl_arena_t *a, sl_str_t s)
{
    sl_str_t out = s;

    if (s.len > 0) {
        out.ptr = sl_arena_memdup(a, s.ptr, (size_t)s.len);
        if (out.ptr == NULL) {
            out.len = 0;
            out.ptr = "";
        }
    }
    return out;
}

static sl_bytes_t
sl_groups_copy_bytes(sl_arena_t *a, sl_bytes_t b)
{
    sl_bytes_t out = b;

    if (b.len > 0) {
        out.ptr = sl_arena_memdup(a, b.ptr, (size_t)b.len);
        if (out.ptr == NULL) {
            out.len = 0;
        }
    }
    return out;
}

/* ---- FindCoordinator ---- */

sl_err_t
sl_api_find_coordinator_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_find_coordinator_req_t *req = reqp;
    sl_msg_find_coordinator_resp_t *resp = respp;
    int32_t node = sl_metastore_node_id(r->api->meta), i;
    int16_t err = 0;
    sl_str_t host;
    int32_t port;
    sl_err_t e;

    e = sl_api_advertised(r, &host, &port);
    if (e != SL_OK) {
        return e;
    }
    if (req->key_type != 0 && req->key_type != 1) {
        err = (int16_t)SL_ERR_INVALID_REQUEST;
    }
    if (r->version < 4) {
        if (err == 0) { /* ACLs: DESCRIBE on the group or transactional id */
            err =
                (int16_t)(req->key_type == 1
                              ? sl_api_auth_txn(r, SL_ACL_OP_DESCRIBE, req->key)
                              : sl_api_auth_group(r, SL_ACL_OP_DESCRIBE,
                                                  req->key));
        }
        resp->error_code = err;
        resp->node_id = err ? -1 : node;
        resp->host = err ? (sl_str_t){"", 0} : host;
        resp->port = err ? -1 : port;
        return SL_OK;
    }
    resp->coordinators = sl_arena_calloc(
        r->arena,
        (size_t)(req->coordinator_keys_count > 0 ? req->coordinator_keys_count
                                                 : 0),
        sizeof(*resp->coordinators));
    if (resp->coordinators == NULL && req->coordinator_keys_count > 0) {
        return SL_ERR__NOMEM;
    }
    resp->coordinators_count =
        req->coordinator_keys_count > 0 ? req->coordinator_keys_count : 0;
    for (i = 0; i < resp->coordinators_count; i++) {
        sl_msg_find_coordinator_resp_coordinator_t *c = &resp->coordinators[i];

        sl_msg_find_coordinator_resp_coordinator_init(c);
        c->key = req->coordinator_keys[i];
        c->error_code = err;
        if (err == 0) { /* ACLs: DESCRIBE on the group or transactional id */
            c->error_code =
                (int16_t)(req->key_type == 1
                              ? sl_api_auth_txn(r, SL_ACL_OP_DESCRIBE, c->key)
                              : sl_api_auth_group(r, SL_ACL_OP_DESCRIBE,
                                                  c->key));
        }
        c->node_id = c->error_code ? -1 : node;
        c->host = c->error_code ? (sl_str_t){"", 0} : host;
        c->port = c->error_code ? -1 : port;
    }
    return SL_OK;
}

/* ---- JoinGroup ---- */

static void
sl_groups_join_done(void *arg, const sl_group_join_result_t *res)
{
    sl_api_req_t *r = arg;
    sl_msg_join_group_resp_t *resp = r->resp;
    int32_t i;

    resp->error_code = sl_err_to_wire(res->error);
    resp->generation_id = res->generation_id;
    resp->protocol_type = sl_groups_copy(r->arena, res->protocol_type);
    resp->protocol_name = sl_groups_copy(r->arena, res->protocol_name);
    if (r->version < 7 && resp->protocol_name.len < 0) {
        resp->protocol_name = (sl_str_t){"", 0};
    }
    resp->leader = sl_groups_copy(r->arena, res->leader);
    resp->member_id = sl_groups_copy(r->arena, res->member_id);
    resp->skip_assignment = res->skip_assignment;
    resp->members_count = 0;
    if (res->members_count > 0) {
        resp->members = sl_arena_calloc(r->arena, (size_t)res->members_count,
                                        sizeof(*resp->members));
        if (resp->members == NULL) {
            sl_api_finish(r, SL_ERR__NOMEM);
            return;
        }
        for (i = 0; i < res->members_count; i++) {
            sl_msg_join_group_resp_join_group_response_member_init(
                &resp->members[i]);
            resp->members[i].member_id =
                sl_groups_copy(r->arena, res->members[i].member_id);
            resp->members[i].group_instance_id =
                sl_groups_copy(r->arena, res->members[i].group_instance_id);
            resp->members[i].metadata =
                sl_groups_copy_bytes(r->arena, res->members[i].metadata);
        }
        resp->members_count = res->members_count;
    }
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_join_group_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_join_group_req_t *req = reqp;
    sl_group_join_req_t j;
    sl_group_protocol_t *protos;
    int32_t i, n = req->protocols_count > 0 ? req->protocols_count : 0;
    sl_err_t aerr = sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id);

    if (aerr != SL_OK || sl_api_cg_classic_join(r, req->group_id) != SL_OK) {
        /* One id, one kind of group: no classic member in a consumer
         * group (Kafka with group.consumer.migration.policy=disabled). */
        sl_msg_join_group_resp_t *resp = respp;

        resp->error_code =
            (int16_t)(aerr != SL_OK ? aerr
                                    : SL_ERR_INCONSISTENT_GROUP_PROTOCOL);
        resp->generation_id = -1;
        resp->member_id =
            req->member_id.len >= 0 ? req->member_id : (sl_str_t){"", 0};
        resp->leader = (sl_str_t){"", 0};
        if (r->version < 7) {
            resp->protocol_name = (sl_str_t){"", 0};
        }
        return SL_OK;
    }
    protos =
        sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*protos));
    if (protos == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        protos[i].name = req->protocols[i].name;
        protos[i].metadata = req->protocols[i].metadata;
    }
    memset(&j, 0, sizeof(j));
    j.group_id = req->group_id;
    j.member_id = req->member_id;
    j.group_instance_id = req->group_instance_id;
    j.protocol_type = req->protocol_type;
    j.protocols = protos;
    j.protocols_count = n;
    j.session_timeout_ms = req->session_timeout_ms;
    j.rebalance_timeout_ms = r->version >= 1 ? req->rebalance_timeout_ms : -1;
    j.client_id = r->client_id.len >= 0 ? r->client_id : (sl_str_t){"", 0};
    j.client_host = sl_groups_client_host(r);
    j.reason = req->reason;
    j.require_known_member_id = r->version >= 4;
    j.supports_skip_assignment = r->version >= 9;
    sl_group_join(r->api->groups, sl_clock_wall_ms(), &j, sl_groups_join_done,
                  r);
    return SL_ERR__AGAIN;
}

/* ---- SyncGroup ---- */

static void
sl_groups_sync_done(void *arg, const sl_group_sync_result_t *res)
{
    sl_api_req_t *r = arg;
    sl_msg_sync_group_resp_t *resp = r->resp;

    resp->error_code = sl_err_to_wire(res->error);
    resp->protocol_type = sl_groups_copy(r->arena, res->protocol_type);
    resp->protocol_name = sl_groups_copy(r->arena, res->protocol_name);
    resp->assignment = sl_groups_copy_bytes(r->arena, res->assignment);
    if (resp->assignment.len < 0) {
        resp->assignment.len = 0;
    }
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_sync_group_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_sync_group_req_t *req = reqp;
    sl_group_sync_req_t s;
    sl_group_assignment_t *as;
    int32_t i, n = req->assignments_count > 0 ? req->assignments_count : 0;

    if (sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id) != SL_OK) {
        ((sl_msg_sync_group_resp_t *)respp)->error_code =
            (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
        return SL_OK;
    }
    as = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*as));
    if (as == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        as[i].member_id = req->assignments[i].member_id;
        as[i].assignment = req->assignments[i].assignment;
    }
    memset(&s, 0, sizeof(s));
    s.group_id = req->group_id;
    s.member_id = req->member_id;
    s.group_instance_id = req->group_instance_id;
    s.protocol_type =
        r->version >= 5 ? req->protocol_type : (sl_str_t){NULL, -1};
    s.protocol_name =
        r->version >= 5 ? req->protocol_name : (sl_str_t){NULL, -1};
    s.generation_id = req->generation_id;
    s.assignments = as;
    s.assignments_count = n;
    sl_group_sync(r->api->groups, sl_clock_wall_ms(), &s, sl_groups_sync_done,
                  r);
    return SL_ERR__AGAIN;
}

/* ---- Heartbeat, LeaveGroup ---- */

sl_err_t
sl_api_heartbeat_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_heartbeat_req_t *req = reqp;
    sl_msg_heartbeat_resp_t *resp = respp;

    if (sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id) != SL_OK) {
        resp->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
        return SL_OK;
    }
    resp->error_code = sl_err_to_wire(sl_group_heartbeat(
        r->api->groups, sl_clock_wall_ms(), req->group_id, req->member_id,
        req->group_instance_id, req->generation_id));
    return SL_OK;
}

sl_err_t
sl_api_leave_group_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_leave_group_req_t *req = reqp;
    sl_msg_leave_group_resp_t *resp = respp;
    sl_group_leave_member_t one, *ms;
    sl_err_t *errs, err;
    int32_t i, n;

    if (sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id) != SL_OK) {
        resp->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
        return SL_OK;
    }
    if (r->version < 3) {
        one.member_id = req->member_id;
        one.group_instance_id = (sl_str_t){NULL, -1};
        ms = &one;
        n = 1;
    } else {
        n = req->members_count > 0 ? req->members_count : 0;
        ms = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*ms));
        if (ms == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < n; i++) {
            ms[i].member_id = req->members[i].member_id;
            ms[i].group_instance_id = req->members[i].group_instance_id;
        }
    }
    errs = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*errs));
    if (errs == NULL) {
        return SL_ERR__NOMEM;
    }
    err = sl_group_leave(r->api->groups, sl_clock_wall_ms(), req->group_id, ms,
                         n, errs);
    resp->error_code = sl_err_to_wire(err);
    if (r->version < 3) {
        if (err == SL_OK) {
            resp->error_code = sl_err_to_wire(errs[0]);
        }
        return SL_OK;
    }
    if (err != SL_OK) {
        resp->members_count = 0;
        return SL_OK;
    }
    resp->members = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                    sizeof(*resp->members));
    if (resp->members == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        sl_msg_leave_group_resp_member_response_init(&resp->members[i]);
        resp->members[i].member_id = ms[i].member_id;
        resp->members[i].group_instance_id = ms[i].group_instance_id;
        resp->members[i].error_code = sl_err_to_wire(errs[i]);
    }
    resp->members_count = n;
    return SL_OK;
}

/* ---- OffsetCommit ---- */

typedef sl_msg_offset_commit_resp_offset_commit_response_topic_t sl_oc_topic_t;
typedef sl_msg_offset_commit_resp_offset_commit_response_partition_t
    sl_oc_part_t;

static void
sl_groups_commit_done(void *arg, const sl_err_t *errors, int32_t count)
{
    sl_api_req_t *r = arg;
    sl_msg_offset_commit_resp_t *resp = r->resp;
    int32_t ti, pi, k = 0;

    /* Partitions refused before the commit (unknown topic or partition)
     * carry their error already and were not passed to the coordinator. */
    for (ti = 0; ti < resp->topics_count; ti++) {
        for (pi = 0; pi < resp->topics[ti].partitions_count; pi++) {
            if (resp->topics[ti].partitions[pi].error_code == 0 && k < count) {
                resp->topics[ti].partitions[pi].error_code =
                    sl_err_to_wire(errors[k++]);
            }
        }
    }
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_offset_commit_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_offset_commit_req_t *req = reqp;
    sl_msg_offset_commit_resp_t *resp = respp;
    sl_group_commit_req_t c;
    sl_group_commit_part_t *parts;
    sl_ptopic_t *pt;
    bool known;
    int32_t ti, pi, n = 0, k = 0,
                    nt = req->topics_count > 0 ? req->topics_count : 0;
    sl_err_t gerr = sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id), terr;

    for (ti = 0; ti < nt; ti++) {
        n += req->topics[ti].partitions_count > 0
                 ? req->topics[ti].partitions_count
                 : 0;
    }
    parts = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*parts));
    resp->topics = sl_arena_calloc(r->arena, (size_t)(nt > 0 ? nt : 1),
                                   sizeof(sl_oc_topic_t));
    if (parts == NULL || resp->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = nt;
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_offset_commit_req_offset_commit_request_topic_t *t =
            &req->topics[ti];
        int32_t np = t->partitions_count > 0 ? t->partitions_count : 0;
        sl_oc_topic_t *ot = &resp->topics[ti];

        sl_msg_offset_commit_resp_offset_commit_response_topic_init(ot);
        ot->name = t->name;
        ot->partitions = sl_arena_calloc(r->arena, (size_t)(np > 0 ? np : 1),
                                         sizeof(sl_oc_part_t));
        if (ot->partitions == NULL) {
            return SL_ERR__NOMEM;
        }
        ot->partitions_count = np;
        for (pi = 0; pi < np; pi++) {
            sl_msg_offset_commit_resp_offset_commit_response_partition_init(
                &ot->partitions[pi]);
            ot->partitions[pi].partition_index =
                t->partitions[pi].partition_index;
            /* ACLs: READ on the group, then on the topic */
            terr = gerr != SL_OK
                       ? gerr
                       : sl_api_auth_topic(r, SL_ACL_OP_READ, t->name);
            if (terr != SL_OK) {
                ot->partitions[pi].error_code = (int16_t)terr;
                continue;
            }
            /* Kafka refuses commits for partitions that do not exist. */
            sl_api_plock_rd(r->api);
            pt = sl_api_ptopic(r->api, t->name.ptr, t->name.len);
            known = pt != NULL && t->partitions[pi].partition_index >= 0 &&
                    t->partitions[pi].partition_index < pt->n;
            sl_api_punlock(r->api);
            if (!known) {
                ot->partitions[pi].error_code =
                    (int16_t)SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            parts[k].topic = t->name;
            parts[k].partition = t->partitions[pi].partition_index;
            parts[k].offset = t->partitions[pi].committed_offset;
            parts[k].leader_epoch = t->partitions[pi].committed_leader_epoch;
            parts[k].metadata = t->partitions[pi].committed_metadata;
            k++;
        }
    }
    memset(&c, 0, sizeof(c));
    c.group_id = req->group_id;
    c.member_id = req->member_id;
    c.group_instance_id = req->group_instance_id;
    c.generation_id = req->generation_id_or_member_epoch;
    c.retention_ms = r->version <= 4 ? req->retention_time_ms : -1;
    if (k == 0 && n > 0) {
        return SL_OK; /* every partition refused: nothing to commit */
    }
    if (sl_api_cg_is_consumer(r, req->group_id, false)) {
        /* Member epoch checks of the consumer protocol; the offsets are
         * then kept as those of a simple (admin) commit. */
        sl_err_t verr = sl_cgroup_validate_offsets(
            r->api->cgroups, req->group_id, req->member_id,
            req->generation_id_or_member_epoch, false, r->version);

        if (verr != SL_OK) {
            for (ti = 0; ti < nt; ti++) {
                for (pi = 0; pi < resp->topics[ti].partitions_count; pi++) {
                    if (resp->topics[ti].partitions[pi].error_code == 0) {
                        resp->topics[ti].partitions[pi].error_code =
                            sl_err_to_wire(verr);
                    }
                }
            }
            return SL_OK;
        }
        c.member_id = (sl_str_t){"", 0};
        c.group_instance_id = (sl_str_t){NULL, -1};
        c.generation_id = -1;
    }
    c.parts = parts;
    c.parts_count = k;
    sl_group_offset_commit(r->api->groups, sl_clock_wall_ms(), &c,
                           sl_groups_commit_done, r);
    return SL_ERR__AGAIN;
}

/* ---- OffsetFetch ---- */

/* The offsets of one group, grouped by topic, into caller-typed arrays via
 * two callbacks (the v0-7 and v8+ shapes differ only in type names). */
typedef struct sl_of_out_s {
    sl_str_t *topic_names;
    int32_t *topic_of; /* topic index of each offset */
    int32_t ntopics;
} sl_of_out_t;

static sl_err_t
sl_groups_fetch_one(sl_api_req_t *r, sl_str_t group_id,
                    const sl_group_tp_t *tps, int32_t n, bool all,
                    bool require_stable, sl_group_offset_t **offs,
                    int32_t *noffs, sl_of_out_t *o)
{
    int32_t i, j;
    sl_err_t err;

    if (sl_api_auth_group(r, SL_ACL_OP_DESCRIBE, group_id) != SL_OK) {
        return SL_ERR_GROUP_AUTHORIZATION_FAILED; /* ACLs */
    }
    err = sl_group_offset_fetch(r->api->groups, group_id, all ? NULL : tps, n,
                                require_stable, r->arena, offs, noffs);
    if (err != SL_OK) {
        return err;
    }
    /* ACLs: topics without DESCRIBE are left out of "all", refused when
     * named */
    for (i = 0, j = 0; i < *noffs; i++) {
        if (sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC,
                             (*offs)[i].topic)) {
            (*offs)[j++] = (*offs)[i];
        } else if (!all) {
            (*offs)[i].error = SL_ERR_TOPIC_AUTHORIZATION_FAILED;
            (*offs)[i].offset = -1;
            (*offs)[i].leader_epoch = -1;
            (*offs)[i].metadata = (sl_str_t){"", 0};
            (*offs)[j++] = (*offs)[i];
        }
    }
    *noffs = j;
    o->topic_names = sl_arena_calloc(
        r->arena, (size_t)(*noffs > 0 ? *noffs : 1), sizeof(sl_str_t));
    o->topic_of = sl_arena_calloc(r->arena, (size_t)(*noffs > 0 ? *noffs : 1),
                                  sizeof(int32_t));
    if (o->topic_names == NULL || o->topic_of == NULL) {
        return SL_ERR__NOMEM;
    }
    o->ntopics = 0;
    for (i = 0; i < *noffs; i++) {
        for (j = 0; j < o->ntopics; j++) {
            if (sl_str_eq(o->topic_names[j], (*offs)[i].topic)) {
                break;
            }
        }
        if (j == o->ntopics) {
            o->topic_names[o->ntopics++] = (*offs)[i].topic;
        }
        o->topic_of[i] = j;
    }
    return SL_OK;
}

/* Flatten request topics (name + partition list) into tps. */
#define SL_GROUPS_FLATTEN(r, topics, count, tps_out, n_out)                    \
    do {                                                                       \
        int32_t t_, p_, k_ = 0, tot_ = 0;                                      \
        for (t_ = 0; t_ < (count); t_++) {                                     \
            tot_ += (topics)[t_].partition_indexes_count > 0                   \
                        ? (topics)[t_].partition_indexes_count                 \
                        : 0;                                                   \
        }                                                                      \
        (tps_out) = sl_arena_calloc((r)->arena, (size_t)(tot_ > 0 ? tot_ : 1), \
                                    sizeof(sl_group_tp_t));                    \
        for (t_ = 0; (tps_out) != NULL && t_ < (count); t_++) {                \
            for (p_ = 0; p_ < (topics)[t_].partition_indexes_count; p_++) {    \
                (tps_out)[k_].topic = (topics)[t_].name;                       \
                (tps_out)[k_].partition = (topics)[t_].partition_indexes[p_];  \
                k_++;                                                          \
            }                                                                  \
        }                                                                      \
        (n_out) = k_;                                                          \
    } while (0)

sl_err_t
sl_api_offset_fetch_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_offset_fetch_req_t *req = reqp;
    sl_msg_offset_fetch_resp_t *resp = respp;
    sl_group_offset_t *offs;
    sl_group_tp_t *tps;
    sl_of_out_t o;
    int32_t noffs, ntps, gi, i, t;
    bool stable = r->version >= 7 && req->require_stable;
    sl_err_t err;

    if (r->version < 8) {
        bool all = r->version >= 2 && req->topics_count < 0;

        SL_GROUPS_FLATTEN(r, req->topics, req->topics_count, tps, ntps);
        if (tps == NULL) {
            return SL_ERR__NOMEM;
        }
        err = sl_groups_fetch_one(r, req->group_id, tps, ntps, all, stable,
                                  &offs, &noffs, &o);
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            resp->error_code = sl_err_to_wire(err);
            resp->topics_count = 0;
            return SL_OK;
        }
        resp->topics =
            sl_arena_calloc(r->arena, (size_t)(o.ntopics > 0 ? o.ntopics : 1),
                            sizeof(*resp->topics));
        if (resp->topics == NULL) {
            return SL_ERR__NOMEM;
        }
        for (t = 0; t < o.ntopics; t++) {
            sl_msg_offset_fetch_resp_offset_fetch_response_topic_init(
                &resp->topics[t]);
            resp->topics[t].name = o.topic_names[t];
            resp->topics[t].partitions =
                sl_arena_calloc(r->arena, (size_t)(noffs > 0 ? noffs : 1),
                                sizeof(*resp->topics[t].partitions));
            if (resp->topics[t].partitions == NULL) {
                return SL_ERR__NOMEM;
            }
        }
        for (i = 0; i < noffs; i++) {
            sl_msg_offset_fetch_resp_offset_fetch_response_topic_t *rt =
                &resp->topics[o.topic_of[i]];
            sl_msg_offset_fetch_resp_offset_fetch_response_partition_t *p =
                &rt->partitions[rt->partitions_count++];

            sl_msg_offset_fetch_resp_offset_fetch_response_partition_init(p);
            p->partition_index = offs[i].partition;
            p->committed_offset = offs[i].offset;
            p->committed_leader_epoch = offs[i].leader_epoch;
            p->metadata = offs[i].metadata;
            p->error_code = sl_err_to_wire(offs[i].error);
        }
        resp->topics_count = o.ntopics;
        /* A partition-level error is also the top level one (v2-7). */
        for (i = 0; i < noffs; i++) {
            if (offs[i].error == SL_ERR_UNSTABLE_OFFSET_COMMIT) {
                resp->error_code = (int16_t)SL_ERR_UNSTABLE_OFFSET_COMMIT;
            }
        }
        return SL_OK;
    }

    resp->groups = sl_arena_calloc(
        r->arena, (size_t)(req->groups_count > 0 ? req->groups_count : 1),
        sizeof(*resp->groups));
    if (resp->groups == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->groups_count = req->groups_count > 0 ? req->groups_count : 0;
    for (gi = 0; gi < resp->groups_count; gi++) {
        const sl_msg_offset_fetch_req_offset_fetch_request_group_t *rg =
            &req->groups[gi];
        sl_msg_offset_fetch_resp_offset_fetch_response_group_t *og =
            &resp->groups[gi];
        bool all = rg->topics_count < 0;

        sl_msg_offset_fetch_resp_offset_fetch_response_group_init(og);
        og->group_id = rg->group_id;
        if (r->version >= 9) {
            err = sl_cgroup_validate_offsets(r->api->cgroups, rg->group_id,
                                             rg->member_id, rg->member_epoch,
                                             true, r->version);
            if (err != SL_OK) {
                og->error_code = sl_err_to_wire(err);
                continue;
            }
        }
        SL_GROUPS_FLATTEN(r, rg->topics, rg->topics_count, tps, ntps);
        if (tps == NULL) {
            return SL_ERR__NOMEM;
        }
        err = sl_groups_fetch_one(r, rg->group_id, tps, ntps, all, stable,
                                  &offs, &noffs, &o);
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            og->error_code = sl_err_to_wire(err);
            continue;
        }
        og->topics =
            sl_arena_calloc(r->arena, (size_t)(o.ntopics > 0 ? o.ntopics : 1),
                            sizeof(*og->topics));
        if (og->topics == NULL) {
            return SL_ERR__NOMEM;
        }
        for (t = 0; t < o.ntopics; t++) {
            sl_msg_offset_fetch_resp_offset_fetch_response_topics_init(
                &og->topics[t]);
            og->topics[t].name = o.topic_names[t];
            og->topics[t].partitions =
                sl_arena_calloc(r->arena, (size_t)(noffs > 0 ? noffs : 1),
                                sizeof(*og->topics[t].partitions));
            if (og->topics[t].partitions == NULL) {
                return SL_ERR__NOMEM;
            }
        }
        for (i = 0; i < noffs; i++) {
            sl_msg_offset_fetch_resp_offset_fetch_response_topics_t *rt =
                &og->topics[o.topic_of[i]];
            sl_msg_offset_fetch_resp_offset_fetch_response_partitions_t *p =
                &rt->partitions[rt->partitions_count++];

            sl_msg_offset_fetch_resp_offset_fetch_response_partitions_init(p);
            p->partition_index = offs[i].partition;
            p->committed_offset = offs[i].offset;
            p->committed_leader_epoch = offs[i].leader_epoch;
            p->metadata = offs[i].metadata;
            p->error_code = sl_err_to_wire(offs[i].error);
        }
        og->topics_count = o.ntopics;
    }
    return SL_OK;
}
