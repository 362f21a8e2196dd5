/*
 * api/init_producer_id.c: InitProducerId (key 22), versions 0-5.
 *
 * Without a transactional id (the idempotent producer) the broker hands out
 * a new producer id with epoch 0 from cluster/producer_ids.h, ignoring the
 * producer id and epoch a v3+ request carries (Kafka does the same: a
 * non-transactional producer that bumps its epoch after an error simply
 * gets a fresh id). With a transactional id the transaction coordinator
 * would answer; Sluice has none yet, so the answer is
 * COORDINATOR_NOT_AVAILABLE (retriable; docs/compatibility.md).
 */
#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/init_producer_id.h"

sl_err_t
sl_api_init_producer_id_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_init_producer_id_req_t *req = reqp;
    sl_msg_init_producer_id_resp_t *resp = respp;
    int64_t id;

    resp->throttle_time_ms = 0;
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    if (req->transactional_id.len >= 0) {
        resp->error_code = (int16_t)SL_ERR_COORDINATOR_NOT_AVAILABLE;
        return SL_OK;
    }
    if (r->api->pids == NULL || sl_pid_alloc_next(r->api->pids, &id) != SL_OK) {
        /* the block could not be persisted: no id that might repeat */
        resp->error_code = (int16_t)SL_ERR_UNKNOWN_SERVER_ERROR;
        return SL_OK;
    }
    resp->error_code = 0;
    resp->producer_id = id;
    resp->producer_epoch = 0;
    sl_log_debug("api", "producer id issued id=%lld peer=%s", (long long)id,
                 sl_conn_peer(r->req->conn));
    return SL_OK;
}
