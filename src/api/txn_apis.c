/*
 * api/txn_apis.c: the transaction APIs on top of the transaction
 * coordinator (txn/, wired in api/txn_store.c): AddPartitionsToTxn (0-5,
 * v4+ batched with verify_only), AddOffsetsToTxn (0-4), EndTxn (0-5; v5
 * is transactions v2: every end bumps the epoch, the answer carries the
 * producer id and epoch to use next), TxnOffsetCommit (0-5; v5 adds the
 * group's offsets partition to the transaction itself), DescribeTransactions
 * (0), ListTransactions (0-1), and the verification of transactional Produce
 * batches (and the error mapping of Produce v12's implicit add, which
 * api/produce.c starts).
 *
 * Requests that wait for the coordinator (its records must be durable, or
 * markers written) are parked; its callback fills the response and
 * finishes the request on whichever thread completed it. Errors go through
 * sl_txn_wire_error() (PRODUCER_FENCED only for versions that know it).
 *
 * TxnOffsetCommit checks that the group's __consumer_offsets partition is
 * in the producer's transaction (AddOffsetsToTxn came first) and (v3+) the
 * member and generation, then keeps the offsets pending
 * (group/txn_offsets.c) until the transaction ends.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/gen/add_offsets_to_txn.h"
#include "proto/gen/add_partitions_to_txn.h"
#include "proto/gen/describe_transactions.h"
#include "proto/gen/end_txn.h"
#include "proto/gen/list_transactions.h"
#include "proto/gen/txn_offset_commit.h"

#define SL_TXN_API_ADD_PARTITIONS 24
#define SL_TXN_API_ADD_OFFSETS 25
#define SL_TXN_API_END 26
#define SL_TXN_API_OFFSET_COMMIT 28
#define SL_TXN_API_PRODUCE 0
#define SL_TXN_OFFSETS_TOPIC "__consumer_offsets"

typedef sl_msg_add_partitions_to_txn_req_add_partitions_to_txn_topic_t
    sl_apt_req_topic_t;
typedef sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_topic_result_t
    sl_apt_topic_t;
typedef sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_partition_result_t
    sl_apt_part_t;
typedef sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_result_t
    sl_apt_txn_t;

/* The partition count of __consumer_offsets (as the coordinator maps a
 * group to its partition). */
static int32_t
sl_txn_api_offsets_partitions(sl_api_t *api)
{
    sl_ptopic_t *t;
    int32_t n;

    sl_api_plock_rd(api);
    t = sl_api_ptopic(api, SL_TXN_OFFSETS_TOPIC,
                      (int32_t)strlen(SL_TXN_OFFSETS_TOPIC));
    n = t != NULL ? t->n
                  : sl_config_int(api->cfg, "offsets.topic.num.partitions");
    sl_api_punlock(api);
    return n;
}

/* ---- AddPartitionsToTxn ------------------------------------------------ */

/* The results of one transaction: every partition of <topics> as the
 * request listed them, with <err> (or a per-partition error in <perr>). */
static sl_err_t
sl_apt_results(sl_arena_t *a, const sl_apt_req_topic_t *topics, int32_t nt,
               sl_err_t err, const sl_err_t *perr, sl_apt_topic_t **out,
               int32_t *out_n)
{
    int32_t ti, pi, k = 0;
    sl_apt_topic_t *res;

    nt = nt > 0 ? nt : 0;
    res = sl_arena_calloc(a, (size_t)(nt > 0 ? nt : 1), sizeof(*res));
    if (res == NULL) {
        return SL_ERR__NOMEM;
    }
    for (ti = 0; ti < nt; ti++) {
        int32_t np =
            topics[ti].partitions_count > 0 ? topics[ti].partitions_count : 0;

        sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_topic_result_init(
            &res[ti]);
        res[ti].name = topics[ti].name;
        res[ti].results_by_partition = sl_arena_calloc(
            a, (size_t)(np > 0 ? np : 1), sizeof(sl_apt_part_t));
        if (res[ti].results_by_partition == NULL) {
            return SL_ERR__NOMEM;
        }
        res[ti].results_by_partition_count = np;
        for (pi = 0; pi < np; pi++) {
            sl_apt_part_t *p = &res[ti].results_by_partition[pi];

            sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_partition_result_init(
                p);
            p->partition_index = topics[ti].partitions[pi];
            p->partition_error_code =
                sl_err_to_wire(perr != NULL ? perr[k] : err);
            k++;
        }
    }
    *out = res;
    *out_n = nt;
    return SL_OK;
}

/* The partitions of <topics> as coordinator input. Unknown topics or
 * partitions get UNKNOWN_TOPIC_OR_PARTITION in perr[] (*any_unknown set).
 * @returns SL_OK or SL_ERR__NOMEM. */
static sl_err_t
sl_apt_parts(sl_api_t *api, sl_arena_t *a, const sl_apt_req_topic_t *topics,
             int32_t nt, sl_txn_tp_t **parts, int32_t *n, sl_err_t **perr,
             bool *any_unknown)
{
    int32_t ti, pi, total = 0, k = 0;

    *any_unknown = false;
    for (ti = 0; ti < nt; ti++) {
        if (topics[ti].partitions_count > 0) {
            total += topics[ti].partitions_count;
        }
    }
    *parts =
        sl_arena_calloc(a, (size_t)(total > 0 ? total : 1), sizeof(**parts));
    *perr = sl_arena_calloc(a, (size_t)(total > 0 ? total : 1), sizeof(**perr));
    if (*parts == NULL || *perr == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_api_plock_rd(api);
    for (ti = 0; ti < nt; ti++) {
        sl_ptopic_t *t =
            sl_api_ptopic(api, topics[ti].name.ptr, topics[ti].name.len);

        for (pi = 0; pi < topics[ti].partitions_count; pi++) {
            int32_t p = topics[ti].partitions[pi];

            (*parts)[k].topic = topics[ti].name;
            (*parts)[k].partition = p;
            if (t == NULL || p < 0 || p >= t->n ||
                sl_metastore_is_internal(t->name)) {
                (*perr)[k] = t != NULL && sl_metastore_is_internal(t->name)
                                 ? SL_ERR_TOPIC_AUTHORIZATION_FAILED
                                 : SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                *any_unknown = true;
            }
            k++;
        }
    }
    sl_api_punlock(api);
    if (*any_unknown) {
        /* Kafka: the others are OPERATION_NOT_ATTEMPTED */
        for (k = 0; k < total; k++) {
            if ((*perr)[k] == SL_OK) {
                (*perr)[k] = SL_ERR_OPERATION_NOT_ATTEMPTED;
            }
        }
    }
    *n = total;
    return SL_OK;
}

/* One transaction of an AddPartitionsToTxn request waiting for the
 * coordinator. */
typedef struct sl_apt_wait_s {
    sl_api_req_t *r;
    atomic_int *pending; /* shared by the request's transactions */
    const sl_apt_req_topic_t *topics;
    int32_t topics_count;
    sl_apt_txn_t *res; /* v4+; NULL for v0-3 */
} sl_apt_wait_t;

static void
sl_apt_release(sl_api_req_t *r, atomic_int *pending)
{
    if (atomic_fetch_sub(pending, 1) == 1) {
        sl_api_finish(r, SL_OK);
    }
}

static void
sl_apt_done(void *arg, sl_err_t err, int64_t producer_id,
            int16_t producer_epoch)
{
    sl_apt_wait_t *w = arg;
    sl_api_req_t *r = w->r;
    sl_msg_add_partitions_to_txn_resp_t *resp = r->resp;
    sl_apt_topic_t *res = NULL;
    int32_t n = 0;

    (void)producer_id;
    (void)producer_epoch;
    err = sl_txn_wire_error(err, SL_TXN_API_ADD_PARTITIONS, r->version);
    if (sl_apt_results(r->arena, w->topics, w->topics_count, err, NULL, &res,
                       &n) != SL_OK) {
        n = 0;
    }
    if (w->res != NULL) {
        w->res->topic_results = res;
        w->res->topic_results_count = n;
    } else {
        resp->results_by_topic_v3_and_below = res;
        resp->results_by_topic_v3_and_below_count = n;
    }
    sl_apt_release(r, w->pending);
}

/* Serve one transaction: verify_only answers at once, an add parks. */
static sl_err_t
sl_apt_one(sl_api_req_t *r, atomic_int *pending, sl_str_t txn_id, int64_t pid,
           int16_t epoch, bool verify_only, const sl_apt_req_topic_t *topics,
           int32_t nt, sl_apt_txn_t *res)
{
    sl_msg_add_partitions_to_txn_resp_t *resp = r->resp;
    sl_txn_add_req_t add;
    sl_txn_tp_t *parts;
    sl_err_t *perr, err;
    sl_apt_topic_t *out = NULL;
    sl_apt_wait_t *w;
    int32_t n, i, out_n = 0;
    bool unknown;

    nt = nt > 0 ? nt : 0;
    err =
        sl_apt_parts(r->api, r->arena, topics, nt, &parts, &n, &perr, &unknown);
    if (err != SL_OK) {
        return err;
    }
    /* ACLs: WRITE on the transactional id (every partition refused), then
     * on each topic (the others not attempted) */
    err = sl_api_auth_txn(r, SL_ACL_OP_WRITE, txn_id);
    for (i = 0; i < n; i++) {
        sl_err_t aerr = err != SL_OK ? err
                                     : sl_api_auth_topic(r, SL_ACL_OP_WRITE,
                                                         parts[i].topic);

        if (aerr != SL_OK) {
            perr[i] = aerr;
            unknown = true;
        }
    }
    for (i = 0; i < n && unknown; i++) {
        perr[i] = perr[i] == SL_OK ? SL_ERR_OPERATION_NOT_ATTEMPTED : perr[i];
    }
    err = SL_OK;
    memset(&add, 0, sizeof(add));
    add.transactional_id = txn_id;
    add.producer_id = pid;
    add.producer_epoch = epoch;
    add.parts = parts;
    add.parts_count = n;
    add.client_tv = 1;
    if (verify_only && !unknown) {
        sl_txn_verify_partitions(r->api->txn, &add, perr);
        for (i = 0; i < n; i++) {
            perr[i] = sl_txn_wire_error(perr[i], SL_TXN_API_ADD_PARTITIONS,
                                        r->version);
        }
    }
    if (verify_only || unknown) {
        err = sl_apt_results(r->arena, topics, nt, SL_OK, perr, &out, &out_n);
        if (err != SL_OK) {
            return err;
        }
        if (res != NULL) {
            res->topic_results = out;
            res->topic_results_count = out_n;
        } else {
            resp->results_by_topic_v3_and_below = out;
            resp->results_by_topic_v3_and_below_count = out_n;
        }
        return SL_OK;
    }
    w = sl_arena_zalloc(r->arena, sizeof(*w));
    if (w == NULL) {
        return SL_ERR__NOMEM;
    }
    w->r = r;
    w->pending = pending;
    w->topics = topics;
    w->topics_count = nt;
    w->res = res;
    atomic_fetch_add(pending, 1);
    sl_txn_add_partitions(r->api->txn, sl_clock_wall_ms(), &add, sl_apt_done,
                          w);
    return SL_OK;
}

sl_err_t
sl_api_add_partitions_to_txn_handle(sl_api_req_t *r, const void *reqp,
                                    void *respp)
{
    const sl_msg_add_partitions_to_txn_req_t *req = reqp;
    sl_msg_add_partitions_to_txn_resp_t *resp = respp;
    atomic_int *pending;
    int32_t i, nt;
    sl_err_t err = SL_OK;

    resp->throttle_time_ms = 0;
    if (r->api->txn == NULL) {
        return SL_ERR__CLOSED;
    }
    pending = sl_arena_zalloc(r->arena, sizeof(*pending));
    if (pending == NULL) {
        return SL_ERR__NOMEM;
    }
    atomic_init(pending, 1);
    if (r->version < 4) {
        err = sl_apt_one(r, pending, req->v3_and_below_transactional_id,
                         req->v3_and_below_producer_id,
                         req->v3_and_below_producer_epoch, false,
                         req->v3_and_below_topics,
                         req->v3_and_below_topics_count, NULL);
    } else {
        nt = req->transactions_count > 0 ? req->transactions_count : 0;
        resp->results_by_transaction = sl_arena_calloc(
            r->arena, (size_t)(nt > 0 ? nt : 1), sizeof(sl_apt_txn_t));
        if (resp->results_by_transaction == NULL) {
            return SL_ERR__NOMEM;
        }
        resp->results_by_transaction_count = nt;
        for (i = 0; i < nt && err == SL_OK; i++) {
            const sl_msg_add_partitions_to_txn_req_add_partitions_to_txn_transaction_t
                *t = &req->transactions[i];
            sl_apt_txn_t *res = &resp->results_by_transaction[i];

            sl_msg_add_partitions_to_txn_resp_add_partitions_to_txn_result_init(
                res);
            res->transactional_id = t->transactional_id;
            err = sl_apt_one(r, pending, t->transactional_id, t->producer_id,
                             t->producer_epoch, t->verify_only, t->topics,
                             t->topics_count, res);
        }
    }
    if (err != SL_OK) {
        /* parked transactions still answer into this request */
        if (atomic_fetch_sub(pending, 1) == 1) {
            return err;
        }
        sl_log_warn("txn", "AddPartitionsToTxn: %s", sl_err_name(err));
        return SL_ERR__AGAIN;
    }
    if (atomic_fetch_sub(pending, 1) == 1) {
        return SL_OK;
    }
    return SL_ERR__AGAIN;
}

/* ---- AddOffsetsToTxn ----------------------------------------------------- */

static void
sl_aot_done(void *arg, sl_err_t err, int64_t producer_id,
            int16_t producer_epoch)
{
    sl_api_req_t *r = arg;
    sl_msg_add_offsets_to_txn_resp_t *resp = r->resp;

    (void)producer_id;
    (void)producer_epoch;
    resp->error_code = sl_err_to_wire(
        sl_txn_wire_error(err, SL_TXN_API_ADD_OFFSETS, r->version));
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_add_offsets_to_txn_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_add_offsets_to_txn_req_t *req = reqp;
    sl_msg_add_offsets_to_txn_resp_t *resp = respp;

    resp->throttle_time_ms = 0;
    if (r->api->txn == NULL) {
        resp->error_code = (int16_t)SL_ERR_COORDINATOR_NOT_AVAILABLE;
        return SL_OK;
    }
    /* ACLs: WRITE on the transactional id, READ on the group */
    resp->error_code =
        (int16_t)sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id);
    if (resp->error_code == 0) {
        resp->error_code =
            (int16_t)sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id);
    }
    if (resp->error_code != 0) {
        return SL_OK;
    }
    sl_txn_add_offsets(r->api->txn, sl_clock_wall_ms(), req->transactional_id,
                       req->producer_id, req->producer_epoch, req->group_id, 1,
                       sl_aot_done, r);
    return SL_ERR__AGAIN;
}

/* ---- EndTxn -------------------------------------------------------------- */

static void
sl_end_done(void *arg, sl_err_t err, int64_t producer_id,
            int16_t producer_epoch)
{
    sl_api_req_t *r = arg;
    sl_msg_end_txn_resp_t *resp = r->resp;

    resp->error_code =
        sl_err_to_wire(sl_txn_wire_error(err, SL_TXN_API_END, r->version));
    resp->producer_id = producer_id;
    resp->producer_epoch = producer_epoch;
    sl_api_finish(r, SL_OK);
}

sl_err_t
sl_api_end_txn_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_end_txn_req_t *req = reqp;
    sl_msg_end_txn_resp_t *resp = respp;
    sl_txn_end_req_t e;

    resp->throttle_time_ms = 0;
    if (r->api->txn == NULL) {
        resp->error_code = (int16_t)SL_ERR_COORDINATOR_NOT_AVAILABLE;
        return SL_OK;
    }
    resp->error_code =
        (int16_t)sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id);
    if (resp->error_code != 0) {
        return SL_OK; /* ACLs: WRITE on the transactional id */
    }
    memset(&e, 0, sizeof(e));
    e.transactional_id = req->transactional_id;
    e.producer_id = req->producer_id;
    e.producer_epoch = req->producer_epoch;
    e.commit = req->committed;
    e.client_tv = r->version >= 5 ? 2 : 1;
    sl_txn_end(r->api->txn, sl_clock_wall_ms(), &e, sl_end_done, r);
    return SL_ERR__AGAIN;
}

/* ---- TxnOffsetCommit ----------------------------------------------------- */

/*
 * TxnOffsetCommit v5+ (transactions v2): the group's __consumer_offsets
 * partition joins the transaction (no AddOffsetsToTxn), as Kafka 4.0 adds
 * it. The request parks until the coordinator answers; its completion runs
 * the handler again with the answer in r->user.
 */
#define SL_TOC_ADD_ISSUING 0
#define SL_TOC_ADD_PARKED 1
#define SL_TOC_ADD_DONE 2
typedef struct sl_toc_add_s {
    sl_api_req_t *r;
    atomic_int state;
    sl_err_t err;
} sl_toc_add_t;

static void
sl_toc_added(void *arg, sl_err_t err, int64_t producer_id,
             int16_t producer_epoch)
{
    sl_toc_add_t *a = arg;
    sl_api_req_t *r = a->r;
    int issuing = SL_TOC_ADD_ISSUING;

    (void)producer_id;
    (void)producer_epoch;
    a->err = err;
    if (atomic_compare_exchange_strong(&a->state, &issuing, SL_TOC_ADD_DONE)) {
        return; /* answered inside the call */
    }
    sl_api_finish(r, sl_api_txn_offset_commit_handle(r, r->body, r->resp));
}

/* Ask the coordinator to add <tp> for <req>. @returns SL_OK (answered:
 * r->user holds it), SL_ERR__AGAIN (parked) or SL_ERR__NOMEM. */
static sl_err_t
sl_toc_add(sl_api_req_t *r, const sl_msg_txn_offset_commit_req_t *req,
           const sl_txn_tp_t *tp)
{
    sl_toc_add_t *a = sl_arena_zalloc(r->arena, sizeof(*a));
    int issuing = SL_TOC_ADD_ISSUING;
    sl_txn_add_req_t add;

    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    a->r = r;
    atomic_init(&a->state, SL_TOC_ADD_ISSUING);
    r->user = a;
    memset(&add, 0, sizeof(add));
    add.transactional_id = req->transactional_id;
    add.producer_id = req->producer_id;
    add.producer_epoch = req->producer_epoch;
    add.parts = tp;
    add.parts_count = 1;
    add.client_tv = 2;
    sl_txn_add_partitions(r->api->txn, sl_clock_wall_ms(), &add, sl_toc_added,
                          a);
    if (atomic_compare_exchange_strong(&a->state, &issuing,
                                       SL_TOC_ADD_PARKED)) {
        return SL_ERR__AGAIN;
    }
    return SL_OK;
}

sl_err_t
sl_api_txn_offset_commit_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_txn_offset_commit_req_t *req = reqp;
    sl_msg_txn_offset_commit_resp_t *resp = respp;
    int32_t nt = req->topics_count > 0 ? req->topics_count : 0;
    int32_t ti, pi, total = 0, k = 0;
    sl_group_commit_part_t *parts;
    sl_txn_add_req_t v;
    sl_txn_tp_t tp;
    sl_err_t err = SL_OK, perr = SL_OK;

    resp->throttle_time_ms = 0;
    for (ti = 0; ti < nt; ti++) {
        if (req->topics[ti].partitions_count > 0) {
            total += req->topics[ti].partitions_count;
        }
    }
    parts = sl_arena_calloc(r->arena, (size_t)(total > 0 ? total : 1),
                            sizeof(*parts));
    resp->topics = sl_arena_calloc(r->arena, (size_t)(nt > 0 ? nt : 1),
                                   sizeof(*resp->topics));
    if (parts == NULL || resp->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    if (sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id) != SL_OK) {
        err = SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED; /* ACLs */
    } else if (sl_api_auth_group(r, SL_ACL_OP_READ, req->group_id) != SL_OK) {
        err = SL_ERR_GROUP_AUTHORIZATION_FAILED; /* ACLs */
    } else if (r->api->txn == NULL || r->api->txn_pending == NULL) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (req->group_id.len <= 0) {
        err = SL_ERR_INVALID_GROUP_ID;
    } else {
        /* The group's offsets partition must be in the transaction: the
         * client called AddOffsetsToTxn first (v0-4), or it is added here
         * (v5, transactions v2). */
        tp.topic = (sl_str_t){SL_TXN_OFFSETS_TOPIC,
                              (int32_t)strlen(SL_TXN_OFFSETS_TOPIC)};
        tp.partition = sl_txn_partition_for(
            req->group_id, sl_txn_api_offsets_partitions(r->api));
        memset(&v, 0, sizeof(v));
        v.transactional_id = req->transactional_id;
        v.producer_id = req->producer_id;
        v.producer_epoch = req->producer_epoch;
        v.parts = &tp;
        v.parts_count = 1;
        v.client_tv = 1;
        if (r->version >= 5 && r->user == NULL) {
            err = sl_toc_add(r, req, &tp);
            if (err != SL_OK) {
                return err; /* parked, or out of memory */
            }
        }
        if (r->version >= 5) {
            /* Kafka 4.0: the broker's add answers a fenced epoch with
             * INVALID_PRODUCER_EPOCH */
            err = ((sl_toc_add_t *)r->user)->err;
            if (err == SL_ERR_PRODUCER_FENCED) {
                err = SL_ERR_INVALID_PRODUCER_EPOCH;
            }
        } else {
            err = sl_txn_verify_partitions(r->api->txn, &v, &perr);
            if (err == SL_OK) {
                err = perr;
            }
            if (err == SL_ERR_TRANSACTION_ABORTABLE && r->version < 4) {
                /* what v0-3 clients know; Kafka 4.0 answers v4 with
                 * TRANSACTION_ABORTABLE (GENERIC_ERROR_SUPPORTED) */
                err = SL_ERR_INVALID_TXN_STATE;
            }
            err = sl_txn_wire_error(err, SL_TXN_API_OFFSET_COMMIT, r->version);
        }
        if (err == SL_OK && r->version >= 3) {
            err = sl_group_txn_offset_validate(
                r->api->groups, sl_clock_wall_ms(), req->group_id,
                req->member_id, req->group_instance_id, req->generation_id);
        }
    }
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_txn_offset_commit_req_txn_offset_commit_request_topic_t
            *t = &req->topics[ti];
        int32_t np = t->partitions_count > 0 ? t->partitions_count : 0;

        for (pi = 0; pi < np; pi++) {
            parts[k].topic = t->name;
            parts[k].partition = t->partitions[pi].partition_index;
            parts[k].offset = t->partitions[pi].committed_offset;
            parts[k].leader_epoch =
                r->version >= 2 ? t->partitions[pi].committed_leader_epoch : -1;
            parts[k].metadata = t->partitions[pi].committed_metadata;
            k++;
        }
    }
    if (err == SL_OK) {
        for (k = 0; k < total; k++) {
            if (parts[k].metadata.len >
                sl_config_int(r->api->cfg, "offset.metadata.max.bytes")) {
                perr = SL_ERR_OFFSET_METADATA_TOO_LARGE;
            }
        }
        if (perr == SL_OK) {
            err =
                sl_group_txn_pending_add(r->api->txn_pending, req->producer_id,
                                         req->group_id, parts, total);
            if (err != SL_OK) {
                err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
            }
        } else {
            err = perr;
        }
    }
    resp->topics_count = nt;
    for (ti = 0; ti < nt; ti++) {
        const sl_msg_txn_offset_commit_req_txn_offset_commit_request_topic_t
            *t = &req->topics[ti];
        sl_msg_txn_offset_commit_resp_txn_offset_commit_response_topic_t *rt =
            &resp->topics[ti];
        int32_t np = t->partitions_count > 0 ? t->partitions_count : 0;

        sl_msg_txn_offset_commit_resp_txn_offset_commit_response_topic_init(rt);
        rt->name = t->name;
        rt->partitions = sl_arena_calloc(r->arena, (size_t)(np > 0 ? np : 1),
                                         sizeof(*rt->partitions));
        if (rt->partitions == NULL) {
            return SL_ERR__NOMEM;
        }
        rt->partitions_count = np;
        for (pi = 0; pi < np; pi++) {
            sl_msg_txn_offset_commit_resp_txn_offset_commit_response_partition_init(
                &rt->partitions[pi]);
            rt->partitions[pi].partition_index =
                t->partitions[pi].partition_index;
            rt->partitions[pi].error_code = sl_err_to_wire(err);
        }
    }
    return SL_OK;
}

/* ---- DescribeTransactions, ListTransactions ------------------------------ */

sl_err_t
sl_api_describe_transactions_handle(sl_api_req_t *r, const void *reqp,
                                    void *respp)
{
    const sl_msg_describe_transactions_req_t *req = reqp;
    sl_msg_describe_transactions_resp_t *resp = respp;
    int32_t n =
        req->transactional_ids_count > 0 ? req->transactional_ids_count : 0;
    int32_t i, j;

    resp->throttle_time_ms = 0;
    resp->transaction_states = sl_arena_calloc(
        r->arena, (size_t)(n > 0 ? n : 1), sizeof(*resp->transaction_states));
    if (resp->transaction_states == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->transaction_states_count = n;
    for (i = 0; i < n; i++) {
        sl_msg_describe_transactions_resp_transaction_state_t *s =
            &resp->transaction_states[i];
        sl_txn_desc_t d;
        sl_err_t err;

        sl_msg_describe_transactions_resp_transaction_state_init(s);
        s->transactional_id = req->transactional_ids[i];
        s->transaction_state = (sl_str_t){"", 0};
        memset(&d, 0, sizeof(d));
        err = sl_api_auth_txn(r, SL_ACL_OP_DESCRIBE, /* ACLs */
                              req->transactional_ids[i]);
        if (err == SL_OK) {
            err = r->api->txn == NULL
                      ? SL_ERR_COORDINATOR_NOT_AVAILABLE
                      : sl_txn_describe(r->api->txn, req->transactional_ids[i],
                                        r->arena, &d);
        }
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        s->error_code = sl_err_to_wire(err);
        if (err != SL_OK) {
            continue;
        }
        s->transaction_state = sl_api_str(r->arena, sl_txn_state_name(d.state));
        s->transaction_timeout_ms = d.timeout_ms;
        s->transaction_start_time_ms = d.start_ms;
        s->producer_id = d.producer_id;
        s->producer_epoch = d.producer_epoch;
        s->topics = sl_arena_calloc(
            r->arena, (size_t)(d.topics_count > 0 ? d.topics_count : 1),
            sizeof(*s->topics));
        if (s->topics == NULL) {
            return SL_ERR__NOMEM;
        }
        s->topics_count = d.topics_count;
        for (j = 0; j < d.topics_count; j++) {
            sl_msg_describe_transactions_resp_topic_data_init(&s->topics[j]);
            s->topics[j].topic = d.topics[j].topic;
            s->topics[j].partitions = d.topics[j].partitions;
            s->topics[j].partitions_count = d.topics[j].partitions_count;
        }
    }
    return SL_OK;
}

sl_err_t
sl_api_list_transactions_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_list_transactions_req_t *req = reqp;
    sl_msg_list_transactions_resp_t *resp = respp;
    sl_txn_list_req_t lr;
    sl_txn_list_t out;
    sl_err_t err;
    int32_t i;

    resp->throttle_time_ms = 0;
    if (r->api->txn == NULL) {
        resp->error_code = (int16_t)SL_ERR_COORDINATOR_NOT_AVAILABLE;
        return SL_OK;
    }
    memset(&lr, 0, sizeof(lr));
    lr.states = req->state_filters;
    lr.n_states = req->state_filters_count > 0 ? req->state_filters_count : 0;
    lr.producer_ids = req->producer_id_filters;
    lr.n_producer_ids =
        req->producer_id_filters_count > 0 ? req->producer_id_filters_count : 0;
    lr.duration_ms = r->version >= 1 ? req->duration_filter : -1;
    memset(&out, 0, sizeof(out));
    err = sl_txn_list(r->api->txn, sl_clock_wall_ms(), &lr, r->arena, &out);
    if (err == SL_ERR__NOMEM) {
        return err;
    }
    resp->error_code = sl_err_to_wire(err);
    if (err != SL_OK) {
        return SL_OK;
    }
    resp->unknown_state_filters = out.unknown_states;
    resp->unknown_state_filters_count = out.unknown_states_count;
    resp->transaction_states = sl_arena_calloc(
        r->arena, (size_t)(out.txns_count > 0 ? out.txns_count : 1),
        sizeof(*resp->transaction_states));
    if (resp->transaction_states == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->transaction_states_count = 0;
    for (i = 0; i < out.txns_count; i++) {
        sl_msg_list_transactions_resp_transaction_state_t *s =
            &resp->transaction_states[resp->transaction_states_count];

        if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE,
                              SL_ACL_RES_TRANSACTIONAL_ID,
                              out.txns[i].transactional_id)) {
            continue; /* ACLs: only ids the caller may DESCRIBE */
        }
        resp->transaction_states_count++;

        sl_msg_list_transactions_resp_transaction_state_init(s);
        s->transactional_id = out.txns[i].transactional_id;
        s->producer_id = out.txns[i].producer_id;
        s->transaction_state =
            sl_api_str(r->arena, sl_txn_state_name(out.txns[i].state));
    }
    return SL_OK;
}

/* ---- Produce verification ------------------------------------------------ */

sl_err_t
sl_api_txn_verify_produce(sl_api_t *api, int16_t version,
                          sl_str_t transactional_id, int64_t producer_id,
                          int16_t producer_epoch, sl_str_t topic,
                          int32_t partition)
{
    sl_txn_add_req_t v;
    sl_txn_tp_t tp;
    sl_err_t err, perr = SL_OK;

    if (api->txn == NULL) {
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (transactional_id.len < 0) {
        /* a transactional batch needs the request's transactional id */
        return SL_ERR_INVALID_TXN_STATE;
    }
    tp.topic = topic;
    tp.partition = partition;
    memset(&v, 0, sizeof(v));
    v.transactional_id = transactional_id;
    v.producer_id = producer_id;
    v.producer_epoch = producer_epoch;
    v.parts = &tp;
    v.parts_count = 1;
    v.client_tv = 1;
    err = sl_txn_verify_partitions(api->txn, &v, &perr);
    if (err == SL_OK) {
        err = perr;
    }
    return sl_api_txn_produce_error(err, version);
}

sl_err_t
sl_api_txn_produce_error(sl_err_t err, int16_t version)
{
    switch (err) {
    case SL_ERR_TRANSACTION_ABORTABLE:
        /* not known before Produce v11 */
        return version < 11 ? SL_ERR_INVALID_TXN_STATE : err;
    case SL_ERR_PRODUCER_FENCED:
        return SL_ERR_INVALID_PRODUCER_EPOCH;
    case SL_ERR_CONCURRENT_TRANSACTIONS:
        /* Kafka 4.0 keeps it from v12 (common while a transaction ends,
         * and v12 clients retry it); older clients get a retriable error
         * they handle without a metadata refresh */
        return version >= 12 ? err : SL_ERR_NOT_ENOUGH_REPLICAS;
    case SL_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case SL_ERR_COORDINATOR_NOT_AVAILABLE:
    case SL_ERR_NOT_COORDINATOR:
    case SL_ERR_NETWORK_EXCEPTION:
        return SL_ERR_NOT_ENOUGH_REPLICAS;
    default:
        return sl_txn_wire_error(err, SL_TXN_API_PRODUCE, version);
    }
}
