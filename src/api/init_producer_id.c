/*
 * api/init_producer_id.c: InitProducerId (key 22), versions 0-5.
 *
 * Without a transactional id (the idempotent producer) the broker hands out
 * a new producer id with epoch 0 from cluster/producer_ids.h, ignoring the
 * producer id and epoch a v3+ request carries (Kafka does the same: a
 * non-transactional producer that bumps its epoch after an error simply
 * gets a fresh id). With a transactional id the transaction coordinator
 * (txn/, wired in api/txn_store.c) answers: the request is parked until it
 * has logged the new epoch.
 */
#include "api/api_int.h"
#include "core/log.h"
#include "core/clock.h"
#include "proto/gen/init_producer_id.h"

static void
sl_ipid_txn_done(void *arg, sl_err_t err, int64_t producer_id,
                 int16_t producer_epoch)
{
    sl_api_req_t *r = arg;
    sl_msg_init_producer_id_resp_t *resp = r->resp;

    resp->error_code =
        sl_err_to_wire(sl_txn_wire_error(err, r->key, r->version));
    resp->producer_id = err == SL_OK ? producer_id : -1;
    resp->producer_epoch = err == SL_OK ? producer_epoch : -1;
    sl_api_finish(r, SL_OK);
}

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
        sl_txn_init_req_t ti;

        resp->error_code =
            (int16_t)sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id);
        if (resp->error_code != 0) {
            return SL_OK; /* ACLs: WRITE on the transactional id */
        }
        if (r->api->txn == NULL) {
            resp->error_code = (int16_t)SL_ERR_COORDINATOR_NOT_AVAILABLE;
            return SL_OK;
        }
        ti.transactional_id = req->transactional_id;
        ti.timeout_ms = req->transaction_timeout_ms;
        ti.producer_id = r->version >= 3 ? req->producer_id : -1;
        ti.producer_epoch = r->version >= 3 ? req->producer_epoch : -1;
        sl_txn_init_producer_id(r->api->txn, sl_clock_wall_ms(), &ti,
                                sl_ipid_txn_done, r);
        return SL_ERR__AGAIN;
    }
    if (!sl_api_authorize_cluster(r, SL_ACL_OP_IDEMPOTENT_WRITE) &&
        !sl_api_authorize_any(r, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC)) {
        /* ACLs: an idempotent producer needs IDEMPOTENT_WRITE on the
         * cluster or WRITE on some topic (KIP-679) */
        resp->error_code = (int16_t)SL_ERR_CLUSTER_AUTHORIZATION_FAILED;
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
