/*
 * api/describe_producers.c: DescribeProducers (key 61), version 0: per
 * requested partition, the idempotent producers its producer state knows
 * (log/producer_state.h): id, epoch, last sequence, last timestamp,
 * coordinator epoch and the first offset of an open transaction (-1).
 * Unknown topics and partitions get UNKNOWN_TOPIC_OR_PARTITION.
 */
#include <stdlib.h>

#include "api/api_int.h"
#include "proto/gen/describe_producers.h"

typedef sl_msg_describe_producers_resp_topic_response_t sl_dp_topic_t;
typedef sl_msg_describe_producers_resp_partition_response_t sl_dp_part_t;
typedef sl_msg_describe_producers_resp_producer_state_t sl_dp_state_t;

/* Fill <out> from the partition's state. @locks plock held */
static sl_err_t
sl_dp_fill(sl_api_req_t *r, sl_partlog_t *pl, sl_dp_part_t *out)
{
    sl_pstate_entry_t *v = NULL;
    size_t n = 0, got, i;

    /* the count may grow between the two calls: retry with more room */
    while ((got = sl_partlog_producers(pl, v, n)) > n) {
        free(v);
        n = got + 16;
        if ((v = malloc(n * sizeof(*v))) == NULL) {
            return SL_ERR__NOMEM;
        }
    }
    out->active_producers =
        sl_arena_calloc(r->arena, got ? got : 1, sizeof(sl_dp_state_t));
    if (out->active_producers == NULL) {
        free(v);
        return SL_ERR__NOMEM;
    }
    out->active_producers_count = (int32_t)got;
    for (i = 0; i < got; i++) {
        sl_dp_state_t *s = &out->active_producers[i];
        const sl_pstate_entry_t *e = &v[i];

        sl_msg_describe_producers_resp_producer_state_init(s);
        s->producer_id = e->producer_id;
        s->producer_epoch = e->epoch;
        s->last_sequence =
            e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : -1;
        s->last_timestamp = e->last_ts;
        s->coordinator_epoch = e->coordinator_epoch;
        s->current_txn_start_offset = e->txn_first_offset;
    }
    free(v);
    return SL_OK;
}

sl_err_t
sl_api_describe_producers_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_describe_producers_req_t *req = reqp;
    sl_msg_describe_producers_resp_t *resp = respp;
    sl_api_t *api = r->api;
    int32_t ti, pi, nt = req->topics_count > 0 ? req->topics_count : 0;
    sl_err_t err = SL_OK;

    resp->throttle_time_ms = 0;
    resp->topics =
        sl_arena_calloc(r->arena, nt ? (size_t)nt : 1, sizeof(sl_dp_topic_t));
    if (resp->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = nt;
    sl_api_plock_rd(api);
    for (ti = 0; ti < nt && err == SL_OK; ti++) {
        const sl_msg_describe_producers_req_topic_request_t *rt =
            &req->topics[ti];
        sl_dp_topic_t *ot = &resp->topics[ti];
        int32_t np =
            rt->partition_indexes_count > 0 ? rt->partition_indexes_count : 0;

        sl_msg_describe_producers_resp_topic_response_init(ot);
        ot->name = rt->name;
        ot->partitions = sl_arena_calloc(r->arena, np ? (size_t)np : 1,
                                         sizeof(sl_dp_part_t));
        if (ot->partitions == NULL) {
            err = SL_ERR__NOMEM;
            break;
        }
        ot->partitions_count = np;
        for (pi = 0; pi < np && err == SL_OK; pi++) {
            sl_dp_part_t *op = &ot->partitions[pi];
            sl_err_t perr = SL_OK;
            sl_partlog_t *pl;

            sl_msg_describe_producers_resp_partition_response_init(op);
            op->partition_index = rt->partition_indexes[pi];
            op->error_code = (int16_t)sl_api_auth_topic(r, SL_ACL_OP_READ,
                                                        rt->name); /* ACLs */
            if (op->error_code != 0) {
                continue;
            }
            pl = sl_api_partition(api, rt->name.ptr, rt->name.len,
                                  op->partition_index, &perr);
            if (pl == NULL) {
                op->error_code = (int16_t)SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            err = sl_dp_fill(r, pl, op);
        }
    }
    sl_api_punlock(api);
    return err;
}
