/*
 * api/metadata.c: Metadata (key 3), versions 0-12.
 *
 * Answers with this broker as the only broker and the leader of every
 * partition, at the advertised address of the listener the request came
 * through. Unknown topics are created when the request allows it (v4+, or
 * implied below v4) and auto.create.topics.enable is true. Authorized
 * operations: every operation is allowed until ACLs exist, so the bit sets
 * list all operations Kafka defines for topics and the cluster.
 */
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/metadata.h"

/* AclOperation values (Kafka): READ 3, WRITE 4, CREATE 5, DELETE 6,
 * ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
 * ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12, CREATE_TOKENS 13,
 * DESCRIBE_TOKENS 14. */
#define SL_OPS_TOPIC                                                           \
    ((1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) |         \
     (1 << 10) | (1 << 11))
#define SL_OPS_CLUSTER                                                         \
    ((1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) |       \
     (1 << 12) | (1 << 13) | (1 << 14))
#define SL_OPS_NOT_REQUESTED INT32_MIN

int32_t
sl_api_topic_authorized_ops(void)
{
    return SL_OPS_TOPIC;
}

/* Groups: READ 3, DELETE 6, DESCRIBE 8. */
int32_t
sl_api_group_authorized_ops(void)
{
    return (1 << 3) | (1 << 6) | (1 << 8);
}

int32_t
sl_api_cluster_authorized_ops(void)
{
    return SL_OPS_CLUSTER;
}

typedef sl_msg_metadata_resp_metadata_response_topic_t sl_md_topic_t;
typedef sl_msg_metadata_resp_metadata_response_partition_t sl_md_part_t;

static sl_err_t
sl_metadata_fill_topic(sl_api_req_t *r, const sl_topic_info_t *t, bool with_ops,
                       sl_md_topic_t *out)
{
    int32_t i, node = sl_metastore_node_id(r->api->meta);
    int32_t *replica;

    out->error_code = 0;
    out->name.ptr = t->name;
    out->name.len = (int32_t)strlen(t->name);
    out->topic_id = t->id;
    out->is_internal = t->internal;
    out->topic_authorized_operations =
        with_ops ? sl_api_authorized_ops(r, SL_ACL_RES_TOPIC, out->name)
                 : SL_OPS_NOT_REQUESTED;
    if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC, out->name)) {
        /* ACLs: no DESCRIBE, nothing shown but the refusal */
        out->error_code = (int16_t)SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        memset(&out->topic_id, 0, sizeof(out->topic_id));
        out->partitions_count = 0;
        out->topic_authorized_operations = SL_OPS_NOT_REQUESTED;
        return SL_OK;
    }
    out->partitions =
        sl_arena_calloc(r->arena, (size_t)t->partitions, sizeof(sl_md_part_t));
    replica = sl_arena_alloc(r->arena, sizeof(*replica));
    if ((out->partitions == NULL && t->partitions > 0) || replica == NULL) {
        return SL_ERR__NOMEM;
    }
    *replica = node;
    for (i = 0; i < t->partitions; i++) {
        sl_md_part_t *p = &out->partitions[i];

        p->partition_index = i;
        p->leader_id = node;
        p->leader_epoch = t->leader_epochs[i];
        p->replica_nodes = replica;
        p->replica_nodes_count = 1;
        p->isr_nodes = replica;
        p->isr_nodes_count = 1;
        p->offline_replicas = NULL;
        p->offline_replicas_count = 0;
    }
    out->partitions_count = t->partitions;
    return SL_OK;
}

/* A topic entry that carries only an error. */
static void
sl_metadata_topic_error(sl_md_topic_t *out, sl_str_t name, const sl_uuid_t *id,
                        int16_t err, bool with_ops)
{
    out->error_code = err;
    out->name = name;
    if (id != NULL) {
        out->topic_id = *id;
    }
    out->partitions = NULL;
    out->partitions_count = 0;
    out->topic_authorized_operations =
        with_ops && err != SL_ERR_TOPIC_AUTHORIZATION_FAILED
            ? SL_OPS_TOPIC
            : SL_OPS_NOT_REQUESTED; /* Kafka leaves refused topics' unset */
}

sl_err_t
sl_api_metadata_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_metadata_req_t *req = reqp;
    sl_msg_metadata_resp_t *resp = respp;
    sl_api_t *api = r->api;
    sl_topic_info_t *all = NULL, info;
    size_t nall = 0, i;
    bool with_ops = r->version >= 8 && req->include_topic_authorized_operations;
    bool all_topics, auto_create;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    resp->brokers = sl_arena_zalloc(r->arena, sizeof(*resp->brokers));
    if (resp->brokers == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->brokers_count = 1;
    resp->brokers[0].node_id = sl_metastore_node_id(api->meta);
    err = sl_api_advertised(r, &resp->brokers[0].host, &resp->brokers[0].port);
    if (err != SL_OK) {
        return err;
    }
    resp->brokers[0].rack.len = -1;
    resp->cluster_id.ptr = sl_metastore_cluster_id(api->meta);
    resp->cluster_id.len = (int32_t)strlen(resp->cluster_id.ptr);
    resp->controller_id = sl_metastore_controller_id(api->meta);
    resp->cluster_authorized_operations =
        (r->version >= 8 && r->version <= 10 &&
         req->include_cluster_authorized_operations)
            ? sl_api_authorized_ops(r, SL_ACL_RES_CLUSTER, resp->cluster_id)
            : SL_OPS_NOT_REQUESTED;

    /* v0: an empty list means all topics; v1+: null means all. */
    all_topics =
        req->topics_count < 0 || (r->version == 0 && req->topics_count == 0);
    if (all_topics) {
        err = sl_metastore_snapshot(api->meta, r->arena, &all, &nall, NULL);
        if (err != SL_OK) {
            return err;
        }
        resp->topics = sl_arena_calloc(r->arena, nall, sizeof(sl_md_topic_t));
        if (resp->topics == NULL && nall > 0) {
            return SL_ERR__NOMEM;
        }
        resp->topics_count = 0;
        for (i = 0; i < nall; i++) {
            if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC,
                                  sl_str_lit(all[i].name))) {
                continue; /* ACLs: topics without DESCRIBE are hidden */
            }
            err = sl_metadata_fill_topic(r, &all[i], with_ops,
                                         &resp->topics[resp->topics_count++]);
            if (err != SL_OK) {
                return err;
            }
        }
        return SL_OK;
    }

    auto_create = r->version < 4 || req->allow_auto_topic_creation;
    resp->topics = sl_arena_calloc(r->arena, (size_t)req->topics_count,
                                   sizeof(sl_md_topic_t));
    if (resp->topics == NULL && req->topics_count > 0) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < (size_t)req->topics_count; i++) {
        const sl_msg_metadata_req_metadata_request_topic_t *rt =
            &req->topics[i];
        sl_md_topic_t *out = &resp->topics[i];
        char name[SL_TOPIC_NAME_MAX + 1], why[160];
        bool created = false;

        if (rt->name.len < 0) {
            /* v10+: by topic id. */
            err = sl_metastore_get_by_id(api->meta, &rt->topic_id, r->arena,
                                         &info);
            if (err == SL_OK) {
                err = sl_metadata_fill_topic(r, &info, with_ops, out);
                if (err != SL_OK) {
                    return err;
                }
            } else if (err > 0) {
                sl_metadata_topic_error(out, rt->name, &rt->topic_id,
                                        (int16_t)err, with_ops);
            } else {
                return err;
            }
            continue;
        }
        if (sl_metastore_name_check_n(rt->name.ptr, (size_t)rt->name.len, why,
                                      sizeof(why)) != SL_OK) {
            sl_metadata_topic_error(out, rt->name, NULL,
                                    (int16_t)SL_ERR_INVALID_TOPIC_EXCEPTION,
                                    with_ops);
            continue;
        }
        memcpy(name, rt->name.ptr, (size_t)rt->name.len);
        name[rt->name.len] = '\0';
        err = sl_metastore_get(api->meta, name, r->arena, &info);
        if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC,
                              rt->name)) {
            err = SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        } else if (err == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION && auto_create &&
                   sl_config_bool(api->cfg, "auto.create.topics.enable") &&
                   !sl_api_authorize_cluster(r, SL_ACL_OP_CREATE) &&
                   !sl_api_authorize(r, SL_ACL_OP_CREATE, SL_ACL_RES_TOPIC,
                                     rt->name)) {
            /* ACLs: auto-creation needs CREATE (cluster or topic) */
            err = SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        }
        if (err == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION && auto_create) {
            err = sl_metastore_auto_create(api->meta, name, &created);
            if (err == SL_OK) {
                if (created) {
                    sl_log_info("api",
                                "topic auto-created topic=%s client=%.*s", name,
                                (int)r->client_id.len,
                                r->client_id.len > 0 ? r->client_id.ptr : "");
                    sl_api_topic_changed(api, name);
                }
                err = sl_metastore_get(api->meta, name, r->arena, &info);
            }
        }
        if (err == SL_OK) {
            err = sl_metadata_fill_topic(r, &info, with_ops, out);
            if (err != SL_OK) {
                return err;
            }
        } else if (err > 0) {
            sl_metadata_topic_error(out, rt->name, NULL, (int16_t)err,
                                    with_ops);
        } else if (err == SL_ERR__IO) {
            sl_metadata_topic_error(out, rt->name, NULL,
                                    (int16_t)SL_ERR_KAFKA_STORAGE_ERROR,
                                    with_ops);
        } else {
            return err;
        }
    }
    resp->topics_count = req->topics_count;
    return SL_OK;
}
