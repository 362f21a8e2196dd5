/*
 * api/list_offsets.c: ListOffsets (key 2), versions 1-10.
 *
 * Timestamps: -1 latest (the high watermark, or the last stable offset for
 * read_committed), -2 earliest (the log start offset), -3 the record with
 * the largest timestamp (v7+), -4 earliest local (v8+; no tiered storage,
 * so the same as -2), -5 latest tiered (v9+; none: offset -1); >= 0 the
 * first offset whose timestamp is at or after it (-1 when none; with
 * read_committed also when it is at or above the last stable offset, as
 * for -3). The leader
 * epoch reported is the partition's current one (Sluice has one leader), so
 * clients that validate positions against it (KIP-320) find no divergence.
 */
#include <string.h>

#include "api/api_int.h"
#include "proto/gen/list_offsets.h"

typedef sl_msg_list_offsets_resp_list_offsets_partition_response_t sl_lo_part_t;
typedef sl_msg_list_offsets_resp_list_offsets_topic_response_t sl_lo_topic_t;

sl_err_t
sl_api_list_offsets_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_list_offsets_req_t *req = reqp;
    sl_msg_list_offsets_resp_t *resp = respp;
    sl_api_t *api = r->api;
    int32_t ti, pi, nt = req->topics_count > 0 ? req->topics_count : 0;

    resp->throttle_time_ms = 0;
    resp->topics = sl_arena_calloc(r->arena, (size_t)nt, sizeof(sl_lo_topic_t));
    if (resp->topics == NULL && nt > 0) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = nt;
    sl_api_plock_rd(api);
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_list_offsets_req_list_offsets_topic_t *rt =
            &req->topics[ti];
        sl_lo_topic_t *ot = &resp->topics[ti];
        int32_t np = rt->partitions_count > 0 ? rt->partitions_count : 0;

        sl_msg_list_offsets_resp_list_offsets_topic_response_init(ot);
        ot->name = rt->name;
        ot->partitions =
            sl_arena_calloc(r->arena, (size_t)np, sizeof(sl_lo_part_t));
        if (ot->partitions == NULL && np > 0) {
            sl_api_punlock(api);
            return SL_ERR__NOMEM;
        }
        ot->partitions_count = np;
        for (pi = 0; pi < np; pi++) {
            const sl_msg_list_offsets_req_list_offsets_partition_t *rp =
                &rt->partitions[pi];
            sl_lo_part_t *op = &ot->partitions[pi];
            int64_t ts = rp->timestamp, off = -1, found = -1;
            int32_t epoch;
            sl_partlog_t *pl;
            sl_err_t err;

            sl_msg_list_offsets_resp_list_offsets_partition_response_init(op);
            op->partition_index = rp->partition_index;
            pl = NULL;
            err = sl_api_auth_topic(r, SL_ACL_OP_DESCRIBE, rt->name);
            if (err == SL_OK) {
                pl = sl_api_partition(api, rt->name.ptr, rt->name.len,
                                      rp->partition_index, &err);
            }
            if (pl == NULL) {
                op->error_code = (int16_t)err;
                continue;
            }
            epoch = sl_partlog_latest_epoch(pl);
            if (epoch < 0) {
                epoch = 0;
            }
            if (rp->current_leader_epoch >= 0 &&
                rp->current_leader_epoch != epoch) {
                op->error_code = (int16_t)(rp->current_leader_epoch < epoch
                                               ? SL_ERR_FENCED_LEADER_EPOCH
                                               : SL_ERR_UNKNOWN_LEADER_EPOCH);
                continue;
            }
            if (ts == -4) {
                ts = SL_LOG_TS_EARLIEST;
            }
            if (ts == -5 || ts < -5) {
                op->offset = -1;
                op->timestamp = -1;
                op->leader_epoch = -1;
                if (ts < -5) {
                    op->error_code = (int16_t)SL_ERR_INVALID_REQUEST;
                }
                continue;
            }
            if (ts == SL_LOG_TS_MAX && r->version < 7) {
                op->error_code = (int16_t)SL_ERR_UNSUPPORTED_VERSION;
                continue;
            }
            err = sl_partlog_offset_for_time(pl, ts, &off, &found);
            if (err != SL_OK) {
                op->error_code = sl_err_to_wire(err);
                continue;
            }
            if (req->isolation_level == 1 && ts != SL_LOG_TS_EARLIEST) {
                /* read_committed sees up to the last stable offset: LATEST
                 * is it, and nothing at or above it is found (Kafka) */
                int64_t lso = sl_partlog_lso(pl);

                if (ts == SL_LOG_TS_LATEST) {
                    off = lso;
                } else if (off >= lso) {
                    off = -1;
                    found = -1;
                }
            }
            op->offset = off;
            op->timestamp = ts < 0 && ts != SL_LOG_TS_MAX ? -1 : found;
            op->leader_epoch = off >= 0 ? epoch : -1;
        }
    }
    sl_api_punlock(api);
    return SL_OK;
}
