/*
 * api/records.c: DeleteRecords (key 21, v0-2) and OffsetForLeaderEpoch
 * (key 23, v2-4).
 *
 * DeleteRecords moves a partition's log start offset (durably, before the
 * answer) and deletes the whole segments below it: offset -1 means the
 * high watermark; other negative offsets and offsets beyond the high
 * watermark are OFFSET_OUT_OF_RANGE; an offset at or below the current
 * log start changes nothing. The answer carries the low watermark (the log
 * start offset) afterwards. Topics whose cleanup.policy lacks "delete"
 * (compacted only) refuse it with POLICY_VIOLATION, as Kafka does.
 *
 * OffsetForLeaderEpoch answers from the partition's leader epoch cache:
 * the largest epoch at or below the requested one and the offset where it
 * ends (the log end offset for the latest epoch). A current_leader_epoch
 * that is older than the partition's is FENCED_LEADER_EPOCH, a newer one
 * UNKNOWN_LEADER_EPOCH (as in list_offsets.c).
 *
 * Owns: nothing long-lived. Thread: workers. Locks: the partition registry
 * (read) while partition logs are used.
 */
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/delete_records.h"
#include "proto/gen/offset_for_leader_epoch.h"

typedef sl_msg_delete_records_resp_delete_records_topic_result_t sl_dr_topic_t;
typedef sl_msg_delete_records_resp_delete_records_partition_result_t
    sl_dr_part_t;

/* Whether topic <name> exists and its cleanup.policy lacks "delete": Kafka
 * refuses DeleteRecords there (POLICY_VIOLATION). */
static bool
sl_records_compact_only(sl_api_req_t *r, sl_str_t name)
{
    const sl_topic_config_key_t *k = sl_topic_config_find("cleanup.policy");
    sl_topic_info_t info;
    char buf[64], *c = sl_api_cstr(r->arena, name);

    if (c == NULL || k == NULL || name.len > SL_TOPIC_NAME_MAX ||
        sl_metastore_get(r->api->meta, c, r->arena, &info) != SL_OK) {
        return false;
    }
    sl_topic_config_value(r->api->cfg, &info.configs, k, buf, sizeof(buf));
    return strstr(buf, "delete") == NULL;
}

sl_err_t
sl_api_delete_records_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_delete_records_req_t *req = reqp;
    sl_msg_delete_records_resp_t *resp = respp;
    sl_api_t *api = r->api;
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0, ti, pi;
    bool *compact_only;

    resp->throttle_time_ms = 0;
    resp->topics = sl_arena_calloc(r->arena, (size_t)nt, sizeof(sl_dr_topic_t));
    if (resp->topics == NULL && nt > 0) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = nt;
    /* Read the policies before the registry lock (metastore first, then
     * the registry, as everywhere). */
    compact_only = sl_arena_calloc(r->arena, (size_t)nt + 1, sizeof(bool));
    if (compact_only == NULL) {
        return SL_ERR__NOMEM;
    }
    for (ti = 0; ti < nt; ti++) {
        compact_only[ti] = sl_records_compact_only(r, req->topics[ti].name);
    }
    sl_api_plock_rd(api);
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_delete_records_req_delete_records_topic_t *rt =
            &req->topics[ti];
        sl_dr_topic_t *ot = &resp->topics[ti];
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;

        sl_msg_delete_records_resp_delete_records_topic_result_init(ot);
        ot->name = rt->name;
        ot->partitions =
            sl_arena_calloc(r->arena, (size_t)np, sizeof(sl_dr_part_t));
        if (ot->partitions == NULL && np > 0) {
            sl_api_punlock(api);
            return SL_ERR__NOMEM;
        }
        ot->partitions_count = np;
        for (pi = 0; pi < np; pi++) {
            const sl_msg_delete_records_req_delete_records_partition_t *rp =
                &rt->partitions[pi];
            sl_dr_part_t *op = &ot->partitions[pi];
            int64_t low = -1;
            sl_partlog_t *pl;
            sl_err_t err;

            sl_msg_delete_records_resp_delete_records_partition_result_init(op);
            op->partition_index = rp->partition_index;
            op->low_watermark = -1;
            pl = NULL;
            err = sl_api_auth_topic(r, SL_ACL_OP_DELETE, rt->name);
            if (err == SL_OK) {
                pl = sl_api_partition(api, rt->name.ptr, rt->name.len,
                                      rp->partition_index, &err);
            }
            if (pl == NULL) {
                op->error_code = (int16_t)err;
                continue;
            }
            if (compact_only[ti]) {
                op->error_code = (int16_t)SL_ERR_POLICY_VIOLATION;
                continue;
            }
            err = sl_partlog_delete_records(pl, rp->offset, &low);
            op->error_code = sl_err_to_wire(err);
            op->low_watermark = err == SL_OK ? low : -1;
            if (err == SL_OK) {
                sl_log_debug("api",
                             "records deleted topic=%.*s partition=%d "
                             "low_watermark=%lld",
                             (int)rt->name.len, rt->name.ptr,
                             (int)rp->partition_index, (long long)low);
            }
        }
    }
    sl_api_punlock(api);
    return SL_OK;
}

/* ---- OffsetForLeaderEpoch -------------------------------------------- */

typedef sl_msg_offset_for_leader_epoch_resp_offset_for_leader_topic_result_t
    sl_ole_topic_t;
typedef sl_msg_offset_for_leader_epoch_resp_epoch_end_offset_t sl_ole_part_t;

/* Answer one partition. @locks plock (read) held */
static void
sl_records_ole_one(
    sl_api_t *api, sl_str_t topic,
    const sl_msg_offset_for_leader_epoch_req_offset_for_leader_partition_t *rp,
    sl_ole_part_t *op)
{
    sl_partlog_t *pl;
    int32_t epoch, got = -1;
    int64_t end = -1;
    sl_err_t err;

    op->partition = rp->partition;
    op->leader_epoch = -1;
    op->end_offset = -1;
    pl = sl_api_partition(api, topic.ptr, topic.len, rp->partition, &err);
    if (pl == NULL) {
        op->error_code = (int16_t)err;
        return;
    }
    epoch = sl_partlog_latest_epoch(pl);
    if (epoch < 0) {
        epoch = 0; /* an empty log: the partition's first term */
    }
    if (rp->current_leader_epoch >= 0 && rp->current_leader_epoch != epoch) {
        op->error_code = (int16_t)(rp->current_leader_epoch < epoch
                                       ? SL_ERR_FENCED_LEADER_EPOCH
                                       : SL_ERR_UNKNOWN_LEADER_EPOCH);
        return;
    }
    sl_partlog_end_offset_for_epoch(pl, rp->leader_epoch, &got, &end);
    if (got < 0 && rp->leader_epoch == epoch) {
        /* No batch written in the current term yet: it ends at the log
         * end, as Kafka's leader answers for its own epoch. */
        got = epoch;
        end = sl_partlog_end_offset(pl);
    }
    op->error_code = 0;
    op->leader_epoch = got;
    op->end_offset = end;
}

sl_err_t
sl_api_offset_for_leader_epoch_handle(sl_api_req_t *r, const void *reqp,
                                      void *respp)
{
    const sl_msg_offset_for_leader_epoch_req_t *req = reqp;
    sl_msg_offset_for_leader_epoch_resp_t *resp = respp;
    sl_api_t *api = r->api;
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0, ti, pi;

    resp->throttle_time_ms = 0;
    resp->topics =
        sl_arena_calloc(r->arena, (size_t)nt, sizeof(sl_ole_topic_t));
    if (resp->topics == NULL && nt > 0) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = nt;
    sl_api_plock_rd(api);
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_offset_for_leader_epoch_req_offset_for_leader_topic_t *rt =
            &req->topics[ti];
        sl_ole_topic_t *ot = &resp->topics[ti];
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;

        sl_msg_offset_for_leader_epoch_resp_offset_for_leader_topic_result_init(
            ot);
        ot->topic = rt->topic;
        ot->partitions =
            sl_arena_calloc(r->arena, (size_t)np, sizeof(sl_ole_part_t));
        if (ot->partitions == NULL && np > 0) {
            sl_api_punlock(api);
            return SL_ERR__NOMEM;
        }
        ot->partitions_count = np;
        for (pi = 0; pi < np; pi++) {
            sl_err_t aerr = sl_api_auth_topic(r, SL_ACL_OP_DESCRIBE, rt->topic);

            sl_msg_offset_for_leader_epoch_resp_epoch_end_offset_init(
                &ot->partitions[pi]);
            sl_records_ole_one(api, rt->topic, &rt->partitions[pi],
                               &ot->partitions[pi]);
            if (aerr != SL_OK) { /* ACLs: DESCRIBE on the topic */
                ot->partitions[pi].error_code = (int16_t)aerr;
                ot->partitions[pi].leader_epoch = -1;
                ot->partitions[pi].end_offset = -1;
            }
        }
    }
    sl_api_punlock(api);
    return SL_OK;
}
