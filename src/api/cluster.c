/*
 * api/cluster.c: DescribeCluster (key 60, v0-1) and DescribeLogDirs
 * (key 35, v1-4) of the single-node broker.
 *
 * DescribeCluster answers with this broker, at the advertised address of
 * the listener the request came through, as the only broker and the
 * controller. It serves the BROKER endpoint type (1); asking a broker for
 * controllers (2) is UNSUPPORTED_ENDPOINT_TYPE, as in Kafka, and any other
 * type INVALID_REQUEST.
 *
 * DescribeLogDirs reports the one data directory (the first of log.dirs)
 * as an absolute path, with the size of each partition log on disk, offset
 * lag 0 (there is no future replica) and, from v4, the file system's total
 * and usable bytes (statvfs).
 *
 * Owns: nothing long-lived. Thread: workers. Locks: the partition registry
 * (read) while partition logs are sized.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "api/api_int.h"
#include "proto/gen/describe_cluster.h"
#include "proto/gen/describe_log_dirs.h"

#define SL_ENDPOINT_BROKER 1
#define SL_ENDPOINT_CONTROLLER 2

sl_err_t
sl_api_describe_cluster_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_describe_cluster_req_t *req = reqp;
    sl_msg_describe_cluster_resp_t *resp = respp;
    sl_api_t *api = r->api;
    sl_msg_describe_cluster_resp_describe_cluster_broker_t *b;
    int8_t et = r->version >= 1 ? req->endpoint_type : SL_ENDPOINT_BROKER;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    resp->endpoint_type = SL_ENDPOINT_BROKER;
    resp->cluster_id = sl_api_str(r->arena, sl_metastore_cluster_id(api->meta));
    resp->controller_id = sl_metastore_controller_id(api->meta);
    resp->cluster_authorized_operations =
        req->include_cluster_authorized_operations
            ? sl_api_authorized_ops(r, SL_ACL_RES_CLUSTER, resp->cluster_id)
            : INT32_MIN;
    if (et != SL_ENDPOINT_BROKER) {
        resp->error_code = (int16_t)(et == SL_ENDPOINT_CONTROLLER
                                         ? SL_ERR_UNSUPPORTED_ENDPOINT_TYPE
                                         : SL_ERR_INVALID_REQUEST);
        resp->error_message = sl_api_str(
            r->arena, et == SL_ENDPOINT_CONTROLLER
                          ? "The request was sent to an endpoint of type "
                            "BROKER, but we wanted an endpoint of type "
                            "CONTROLLER"
                          : "Unknown endpoint type.");
        resp->brokers_count = 0;
        return SL_OK;
    }
    b = sl_arena_zalloc(r->arena, sizeof(*b));
    if (b == NULL || resp->cluster_id.ptr == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_msg_describe_cluster_resp_describe_cluster_broker_init(b);
    b->broker_id = sl_metastore_node_id(api->meta);
    err = sl_api_advertised(r, &b->host, &b->port);
    if (err != SL_OK) {
        return err;
    }
    b->rack.ptr = NULL;
    b->rack.len = -1;
    resp->brokers = b;
    resp->brokers_count = 1;
    return SL_OK;
}

/* ---- DescribeLogDirs ------------------------------------------------- */

typedef sl_msg_describe_log_dirs_resp_describe_log_dirs_topic_t sl_ld_topic_t;
typedef sl_msg_describe_log_dirs_resp_describe_log_dirs_partition_t
    sl_ld_part_t;

/* Fill <out> with the partitions of registry entry <t>: all of them
 * (<all>) or the listed ones, want[nwant], that exist.
 * @locks plock (read) held */
static sl_err_t
sl_cluster_ld_topic(sl_api_req_t *r, const sl_ptopic_t *t, bool all,
                    const int32_t *want, int32_t nwant, sl_ld_topic_t *out)
{
    int32_t n = all ? t->n : nwant, i;

    sl_msg_describe_log_dirs_resp_describe_log_dirs_topic_init(out);
    out->name = sl_api_str(r->arena, t->name);
    out->partitions =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(sl_ld_part_t));
    if (out->partitions == NULL || out->name.ptr == NULL) {
        return SL_ERR__NOMEM;
    }
    out->partitions_count = 0;
    for (i = 0; i < n; i++) {
        int32_t p = all ? i : want[i];
        sl_ld_part_t *o = &out->partitions[out->partitions_count];

        if (p < 0 || p >= t->n || t->logs[p] == NULL) {
            continue; /* Kafka leaves out partitions it does not host */
        }
        sl_msg_describe_log_dirs_resp_describe_log_dirs_partition_init(o);
        o->partition_index = p;
        o->partition_size = sl_partlog_size_bytes(t->logs[p]);
        o->offset_lag = 0;
        o->is_future_key = false;
        out->partitions_count++;
    }
    return SL_OK;
}

sl_err_t
sl_api_describe_log_dirs_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_describe_log_dirs_req_t *req = reqp;
    sl_msg_describe_log_dirs_resp_t *resp = respp;
    sl_api_t *api = r->api;
    sl_msg_describe_log_dirs_resp_describe_log_dirs_result_t *res;
    char abs[PATH_MAX];
    struct statvfs vfs;
    size_t cap = 0, b;
    int32_t i;
    sl_ptopic_t *t;
    sl_err_t err = SL_OK;

    resp->throttle_time_ms = 0;
    resp->error_code = 0;
    if (!sl_api_authorize_cluster(r, SL_ACL_OP_DESCRIBE)) {
        /* ACLs: DESCRIBE on the cluster (v3+ says why; v1-2 get nothing) */
        resp->error_code = (int16_t)SL_ERR_CLUSTER_AUTHORIZATION_FAILED;
        resp->results_count = 0;
        return SL_OK;
    }
    res = sl_arena_zalloc(r->arena, sizeof(*res));
    if (res == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_msg_describe_log_dirs_resp_describe_log_dirs_result_init(res);
    res->error_code = 0;
    res->log_dir = sl_api_str(
        r->arena, realpath(api->data_dir, abs) != NULL ? abs : api->data_dir);
    if (r->version >= 4 && statvfs(api->data_dir, &vfs) == 0) {
        res->total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
        res->usable_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    }
    resp->results = res;
    resp->results_count = 1;

    sl_api_plock_rd(api);
    if (req->topics_count < 0) {
        for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
            for (t = api->topics[b]; t != NULL; t = t->next) {
                cap++;
            }
        }
    } else {
        cap = (size_t)req->topics_count;
    }
    res->topics = sl_arena_calloc(r->arena, cap + 1, sizeof(sl_ld_topic_t));
    if (res->topics == NULL) {
        sl_api_punlock(api);
        return SL_ERR__NOMEM;
    }
    res->topics_count = 0;
    if (req->topics_count < 0) {
        for (b = 0; b < SL_API_TOPIC_BUCKETS && err == SL_OK; b++) {
            for (t = api->topics[b]; t != NULL && err == SL_OK; t = t->next) {
                err = sl_cluster_ld_topic(r, t, true, NULL, 0,
                                          &res->topics[res->topics_count++]);
            }
        }
    }
    for (i = 0; i < req->topics_count && err == SL_OK; i++) {
        const sl_msg_describe_log_dirs_req_describable_log_dir_topic_t *q =
            &req->topics[i];

        t = sl_api_ptopic(api, q->topic.ptr, q->topic.len);
        if (t == NULL) {
            continue;
        }
        err = sl_cluster_ld_topic(r, t, false, q->partitions,
                                  q->partitions_count > 0 ? q->partitions_count
                                                          : 0,
                                  &res->topics[res->topics_count++]);
    }
    sl_api_punlock(api);
    return err;
}
