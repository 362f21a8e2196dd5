/*
 * api/groups_admin.c: the group admin APIs: DescribeGroups (0-5),
 * ListGroups (0-5), DeleteGroups (0-2), OffsetDelete (0).
 *
 * DescribeGroups of an unknown group answers NONE with state "Dead", as
 * Kafka does below v6. ListGroups reports every group as type "classic"
 * (the consumer protocol of KIP-848 is not served yet).
 */
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "proto/gen/delete_groups.h"
#include "proto/gen/describe_groups.h"
#include "proto/gen/list_groups.h"
#include "proto/gen/offset_delete.h"

static sl_str_t
sl_gadm_cstr(const char *s)
{
    sl_str_t out = {s, (int32_t)strlen(s)};

    return out;
}

sl_err_t
sl_api_describe_groups_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_describe_groups_req_t *req = reqp;
    sl_msg_describe_groups_resp_t *resp = respp;
    int32_t i, m, n = req->groups_count > 0 ? req->groups_count : 0;

    resp->groups = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                   sizeof(*resp->groups));
    if (resp->groups == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->groups_count = n;
    for (i = 0; i < n; i++) {
        sl_msg_describe_groups_resp_described_group_t *g = &resp->groups[i];
        sl_group_desc_t d;
        sl_err_t err;

        sl_msg_describe_groups_resp_described_group_init(g);
        g->group_id = req->groups[i];
        g->authorized_operations =
            r->version >= 3 && req->include_authorized_operations
                ? sl_api_authorized_ops(r, SL_ACL_RES_GROUP, req->groups[i])
                : INT32_MIN;
        if (sl_api_auth_group(r, SL_ACL_OP_DESCRIBE, req->groups[i]) !=
            SL_OK) { /* ACLs: DESCRIBE on the group */
            g->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
            g->group_state = sl_gadm_cstr("");
            g->protocol_type = sl_gadm_cstr("");
            g->protocol_data = sl_gadm_cstr("");
            continue;
        }
        if (sl_api_cg_is_consumer(r, req->groups[i], false)) {
            /* Kafka: "Group <id> is not a classic group.", GROUP_ID_NOT_FOUND
             * from v6; before, Dead without an error, as an unknown group. */
            g->error_code =
                r->version >= 6 ? (int16_t)SL_ERR_GROUP_ID_NOT_FOUND : 0;
            g->group_state = sl_gadm_cstr("Dead");
            g->protocol_type = sl_gadm_cstr("");
            g->protocol_data = sl_gadm_cstr("");
            continue;
        }
        err = sl_group_describe(r->api->groups, req->groups[i], r->arena, &d);
        if (err == SL_ERR_GROUP_ID_NOT_FOUND) {
            g->error_code = 0;
            g->group_state = sl_gadm_cstr("Dead");
            g->protocol_type = sl_gadm_cstr("");
            g->protocol_data = sl_gadm_cstr("");
            continue;
        }
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            g->error_code = sl_err_to_wire(err);
            g->group_state = sl_gadm_cstr("");
            g->protocol_type = sl_gadm_cstr("");
            g->protocol_data = sl_gadm_cstr("");
            continue;
        }
        g->group_state = sl_gadm_cstr(sl_group_state_name(d.state));
        g->protocol_type =
            d.protocol_type.len >= 0 ? d.protocol_type : sl_gadm_cstr("");
        g->protocol_data =
            d.protocol_name.len >= 0 ? d.protocol_name : sl_gadm_cstr("");
        g->members = sl_arena_calloc(
            r->arena, (size_t)(d.members_count > 0 ? d.members_count : 1),
            sizeof(*g->members));
        if (g->members == NULL) {
            return SL_ERR__NOMEM;
        }
        for (m = 0; m < d.members_count; m++) {
            sl_msg_describe_groups_resp_described_group_member_t *o =
                &g->members[m];

            sl_msg_describe_groups_resp_described_group_member_init(o);
            o->member_id = d.members[m].member_id;
            o->group_instance_id = d.members[m].group_instance_id;
            o->client_id = d.members[m].client_id;
            o->client_host = d.members[m].client_host;
            o->member_metadata = d.members[m].metadata;
            o->member_assignment = d.members[m].assignment;
        }
        g->members_count = d.members_count;
    }
    return SL_OK;
}

sl_err_t
sl_api_list_groups_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_list_groups_req_t *req = reqp;
    sl_msg_list_groups_resp_t *resp = respp;
    sl_group_listing_t *ls;
    int32_t i, n;
    sl_err_t err;

    err = sl_group_list(
        r->api->groups, r->version >= 4 ? req->states_filter : NULL,
        r->version >= 4 ? req->states_filter_count : 0,
        r->version >= 5 ? req->types_filter : NULL,
        r->version >= 5 ? req->types_filter_count : 0, r->arena, &ls, &n);
    if (err == SL_ERR__NOMEM) {
        return err;
    }
    resp->error_code = sl_err_to_wire(err);
    if (err != SL_OK) {
        return SL_OK;
    }
    resp->groups = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                   sizeof(*resp->groups));
    if (resp->groups == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        sl_msg_list_groups_resp_listed_group_init(&resp->groups[i]);
        resp->groups[i].group_id = ls[i].group_id;
        resp->groups[i].protocol_type = ls[i].protocol_type.len >= 0
                                            ? ls[i].protocol_type
                                            : sl_gadm_cstr("");
        resp->groups[i].group_state =
            sl_gadm_cstr(sl_group_state_name(ls[i].state));
        resp->groups[i].group_type = sl_gadm_cstr("classic");
    }
    resp->groups_count = n;
    err = sl_api_cg_list_merge(r, req, resp);
    if (err == SL_OK && !sl_api_authorize_cluster(r, SL_ACL_OP_DESCRIBE)) {
        /* ACLs: without DESCRIBE on the cluster, the groups the caller
         * may DESCRIBE */
        for (i = 0, n = 0; i < resp->groups_count; i++) {
            if (sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_GROUP,
                                 resp->groups[i].group_id)) {
                resp->groups[n++] = resp->groups[i];
            }
        }
        resp->groups_count = n;
    }
    return err;
}

sl_err_t
sl_api_delete_groups_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_delete_groups_req_t *req = reqp;
    sl_msg_delete_groups_resp_t *resp = respp;
    int32_t i, n = req->groups_names_count > 0 ? req->groups_names_count : 0;

    resp->results = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                    sizeof(*resp->results));
    if (resp->results == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        sl_msg_delete_groups_resp_deletable_group_result_init(
            &resp->results[i]);
        resp->results[i].group_id = req->groups_names[i];
        resp->results[i].error_code = (int16_t)sl_api_auth_group(
            r, SL_ACL_OP_DELETE, req->groups_names[i]); /* ACLs */
        if (resp->results[i].error_code == 0) {
            resp->results[i].error_code =
                sl_err_to_wire(sl_api_cg_delete(r, req->groups_names[i]));
        }
    }
    resp->results_count = n;
    return SL_OK;
}

sl_err_t
sl_api_offset_delete_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_offset_delete_req_t *req = reqp;
    sl_msg_offset_delete_resp_t *resp = respp;
    int32_t ti, pi, k = 0, n = 0,
                    nt = req->topics_count > 0 ? req->topics_count : 0;
    sl_group_tp_t *tps;
    sl_err_t *errs, err;
    bool *denied = sl_arena_calloc(r->arena, (size_t)nt + 1, sizeof(bool));

    if (denied == NULL) {
        return SL_ERR__NOMEM;
    }
    if (sl_api_auth_group(r, SL_ACL_OP_DELETE, req->group_id) != SL_OK) {
        resp->error_code = (int16_t)SL_ERR_GROUP_AUTHORIZATION_FAILED;
        return SL_OK; /* ACLs: DELETE on the group */
    }
    for (ti = 0; ti < nt; ti++) {
        n += req->topics[ti].partitions_count > 0
                 ? req->topics[ti].partitions_count
                 : 0;
    }
    tps = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*tps));
    errs = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*errs));
    resp->topics = sl_arena_calloc(r->arena, (size_t)(nt > 0 ? nt : 1),
                                   sizeof(*resp->topics));
    if (tps == NULL || errs == NULL || resp->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    for (ti = 0; ti < nt; ti++) {
        /* ACLs: READ on each topic; refused ones are not passed on */
        denied[ti] =
            sl_api_auth_topic(r, SL_ACL_OP_READ, req->topics[ti].name) != SL_OK;
        for (pi = 0; pi < req->topics[ti].partitions_count && !denied[ti];
             pi++) {
            tps[k].topic = req->topics[ti].name;
            tps[k].partition = req->topics[ti].partitions[pi].partition_index;
            k++;
        }
    }
    n = k;
    err = sl_api_cg_offset_delete(r, req->group_id, tps, n, errs);
    resp->error_code = sl_err_to_wire(err);
    if (err != SL_OK) {
        resp->topics_count = 0;
        return SL_OK;
    }
    k = 0;
    for (ti = 0; ti < nt; ti++) {
        int32_t np = req->topics[ti].partitions_count > 0
                         ? req->topics[ti].partitions_count
                         : 0;
        sl_msg_offset_delete_resp_offset_delete_response_topic_t *t =
            &resp->topics[ti];

        sl_msg_offset_delete_resp_offset_delete_response_topic_init(t);
        t->name = req->topics[ti].name;
        t->partitions = sl_arena_calloc(r->arena, (size_t)(np > 0 ? np : 1),
                                        sizeof(*t->partitions));
        if (t->partitions == NULL) {
            return SL_ERR__NOMEM;
        }
        for (pi = 0; pi < np; pi++) {
            sl_msg_offset_delete_resp_offset_delete_response_partition_init(
                &t->partitions[pi]);
            t->partitions[pi].partition_index =
                req->topics[ti].partitions[pi].partition_index;
            t->partitions[pi].error_code =
                denied[ti] ? (int16_t)SL_ERR_TOPIC_AUTHORIZATION_FAILED
                           : sl_err_to_wire(errs[k++]);
        }
        t->partitions_count = np;
    }
    resp->topics_count = nt;
    return SL_OK;
}
