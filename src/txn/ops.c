/*
 * txn/ops.c: the transaction coordinator's operations, with Kafka 4.0's
 * rules: InitProducerId (epoch bump, KIP-360 recovery, producer id
 * rotation at epoch exhaustion, fencing an open transaction),
 * AddPartitionsToTxn (and its verify-only form), AddOffsetsToTxn, EndTxn for
 * transactions v1 and v2, the epoch-fence abort used by InitProducerId and
 * by timeouts, and the phases after a Prepare* record: markers, then the
 * Complete* record.
 *
 * State table (state -> on event -> next state; "log" = the transition is
 * pending until its record is durable, CONCURRENT_TRANSACTIONS meanwhile):
 *   Empty, Complete*  InitProducerId        -> Empty (epoch+1 or new id)
 *   Ongoing           InitProducerId        -> PrepareAbort (fenced epoch),
 *                                              answer CONCURRENT_TRANSACTIONS
 *   Empty, Complete*, Ongoing  AddPartitions -> Ongoing
 *   Ongoing           EndTxn commit/abort   -> PrepareCommit/PrepareAbort
 *   Empty, Complete*  EndTxn abort (TV2)    -> PrepareAbort (epoch+1)
 *   Ongoing           timeout (tick)        -> PrepareAbort (fenced epoch)
 *   Prepare*          Prepare* logged       -> markers -> Complete*
 *   Empty, Complete*  idle for id expiry    -> Dead (tombstone, removed)
 *
 * Owns: the per-call contexts it allocates (freed in their completions).
 * Runs with the coordinator lock held, except the store's and the marker
 * writer's done callbacks, which take it.
 */
#include <stdlib.h>
#include <string.h>

#include "txn/txn_int.h"

typedef enum sl_top_kind_e {
    SL_TOP_INIT = 1, /* InitProducerId's Empty record */
    SL_TOP_ADD,      /* AddPartitions' Ongoing record */
    SL_TOP_PREPARE,  /* EndTxn / fence: Prepare* record */
    SL_TOP_COMPLETE, /* Complete* record */
    SL_TOP_MARKERS,  /* the marker write */
} sl_top_kind_e;

typedef struct sl_top_s {
    sl_txn_coord_t *tc;
    sl_txn_t *t;
    sl_top_kind_e kind;
    sl_txn_cb cb; /* INIT, ADD: who gets the answer */
    void *arg;
    bool fence; /* PREPARE of an epoch fence */
} sl_top_t;

static void sl_txn_start_complete(sl_txn_coord_t *tc, sl_txn_t *t);

/* The error a client sees when an append failed (Kafka's mapping in
 * TransactionStateManager.appendTransactionToLog). */
static sl_err_t
sl_txn_append_error(sl_err_t err)
{
    switch (err) {
    case SL_ERR_NOT_LEADER_OR_FOLLOWER:
    case SL_ERR_KAFKA_STORAGE_ERROR:
    case SL_ERR__IO:
        return SL_ERR_NOT_COORDINATOR;
    case SL_ERR_MESSAGE_TOO_LARGE:
    case SL_ERR_RECORD_LIST_TOO_LARGE:
    case SL_ERR_INVALID_FETCH_SIZE:
        return SL_ERR_UNKNOWN_SERVER_ERROR;
    default:
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
}

static sl_err_t
sl_txn_next_pid(sl_txn_coord_t *tc, int64_t *out)
{
    sl_err_t err;

    if (tc->pids.next == NULL) {
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    err = tc->pids.next(tc->pids.ctx, out);
    if (err == SL_OK && *out < 0) {
        err = SL_ERR_UNKNOWN_SERVER_ERROR;
    }
    if (err < 0) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    return err;
}

/* Make the pending transition current. */
static void
sl_txn_apply(sl_txn_t *t)
{
    sl_tmeta_clear(&t->m);
    t->m = t->transit;
    t->transit.parts = NULL;
    t->transit.parts_count = 0;
    t->pending = false;
}

static void
sl_txn_drop_transit(sl_txn_t *t)
{
    sl_tmeta_clear(&t->transit);
    t->pending = false;
}

static void
sl_txn_wait_answer(sl_txn_coord_t *tc, sl_txn_t *t, sl_err_t err, int64_t pid,
                   int16_t epoch)
{
    sl_twait_e w = t->wait;

    t->wait = SL_TWAIT_NONE;
    if (w == SL_TWAIT_FENCE && err == SL_OK) {
        err = SL_ERR_CONCURRENT_TRANSACTIONS; /* the client retries */
    }
    if (w != SL_TWAIT_NONE) {
        sl_txn_answer(tc, t->wait_cb, t->wait_arg, err, pid, epoch);
    }
}

/* Views of <m>'s partitions (malloc'd array, NULL when out of memory). */
static sl_txn_tp_t *
sl_txn_tps(const sl_tmeta_t *m)
{
    sl_txn_tp_t *tps = calloc((size_t)m->parts_count + 1, sizeof(*tps));
    int32_t i;

    for (i = 0; tps != NULL && i < m->parts_count; i++) {
        tps[i].topic.ptr = m->parts[i].topic;
        tps[i].topic.len = m->parts[i].topic_len;
        tps[i].partition = m->parts[i].partition;
    }
    return tps;
}

/* ---- completions ----------------------------------------------------- */

/* Finish <op> with <err>; lock held. Frees <op>. */
static void
sl_txn_op_finish(sl_txn_coord_t *tc, sl_top_t *op, sl_err_t err)
{
    sl_txn_t *t = op->t;

    if (tc->closed) {
        sl_txn_answer(tc, op->cb, op->arg, SL_ERR_COORDINATOR_NOT_AVAILABLE, -1,
                      -1);
        free(op);
        return;
    }
    switch (op->kind) {
    case SL_TOP_INIT:
    case SL_TOP_ADD:
        if (err == SL_OK) {
            sl_txn_apply(t);
            sl_txn_answer(tc, op->cb, op->arg, SL_OK, t->m.producer_id,
                          t->m.producer_epoch);
        } else {
            sl_txn_drop_transit(t);
            sl_txn_answer(tc, op->cb, op->arg, sl_txn_append_error(err), -1,
                          -1);
        }
        break;
    case SL_TOP_PREPARE:
        if (err == SL_OK) {
            sl_txn_apply(t);
            sl_txn_start_complete(tc, t);
        } else {
            sl_txn_drop_transit(t);
            if (op->fence) {
                t->failed_fence = true;
            }
            t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
            sl_txn_wait_answer(tc, t, sl_txn_append_error(err), -1, -1);
        }
        break;
    case SL_TOP_COMPLETE:
        if (err == SL_OK) {
            sl_txn_apply(t);
            t->phase = SL_TPHASE_NONE;
            sl_txn_wait_answer(tc, t, SL_OK, t->m.producer_id,
                               t->m.producer_epoch);
        } else {
            t->phase = SL_TPHASE_COMPLETE_RETRY;
            t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
        }
        break;
    case SL_TOP_MARKERS:
        if (err == SL_OK && tc->markers.txn_complete != NULL) {
            sl_txn_tp_t *tps = sl_txn_tps(&t->m);

            if (tps == NULL) {
                err = SL_ERR__NOMEM; /* the hook must not be skipped */
            } else {
                tc->markers.txn_complete(
                    tc->markers.ctx, t->m.producer_id, t->m.producer_epoch,
                    t->m.state == SL_TXN_STATE_PREPARE_COMMIT, tps,
                    t->m.parts_count);
                free(tps);
            }
        }
        if (err == SL_OK) {
            sl_txn_append_complete(tc, t);
        } else {
            t->phase = SL_TPHASE_MARKERS_RETRY;
            t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
        }
        break;
    }
    free(op);
}

static void
sl_txn_op_done(void *arg, sl_err_t err)
{
    sl_top_t *op = arg;
    sl_txn_coord_t *tc = op->tc;

    sl_txn_coord_lock(tc);
    sl_txn_op_finish(tc, op, err);
    sl_txn_coord_unref_unlock(tc);
}

static sl_top_t *
sl_txn_op_new(sl_txn_coord_t *tc, sl_txn_t *t, sl_top_kind_e kind, sl_txn_cb cb,
              void *arg)
{
    sl_top_t *op = calloc(1, sizeof(*op));

    if (op != NULL) {
        op->tc = tc;
        op->t = t;
        op->kind = kind;
        op->cb = cb;
        op->arg = arg;
    }
    return op;
}

/*
 * Append t->transit (t->pending must be set). Failures to start are
 * reported through the op's normal completion, as a failed append.
 */
static void
sl_txn_log_transit(sl_txn_coord_t *tc, sl_txn_t *t, sl_top_t *op)
{
    sl_str_t id = {t->id, t->id_len};
    uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int16_t ver = tc->cfg.transaction_version >= 1 ? 1 : 0;

    if (op == NULL) {
        abort(); /* a lost completion would park the request forever */
    }
    if (sl_txn_record_encode(id, &t->transit, ver, &k, &kl, &v, &vl) != SL_OK) {
        sl_txn_op_finish(tc, op, SL_ERR__NOMEM);
        return;
    }
    if (tc->store.append == NULL) {
        sl_txn_op_finish(tc, op, SL_OK);
    } else {
        tc->refs++;
        tc->store.append(tc->store.ctx, t->partition, k, kl, v, vl,
                         sl_txn_op_done, op);
    }
    free(k);
    free(v);
}

/* ---- after Prepare*: markers, then Complete* ------------------------------
 */

/*
 * Kafka's prepareComplete: the Complete* transition is pending while the
 * markers are written. With TV2 and an exhausted epoch, the producer moves
 * to next_producer_id at epoch 0 here.
 */
static void
sl_txn_start_complete(sl_txn_coord_t *tc, sl_txn_t *t)
{
    sl_tmeta_t *c = &t->transit;
    const sl_tmeta_t *m = &t->m;
    bool tv2 = m->client_tv >= 2;

    sl_tmeta_clear(c);
    *c = *m;
    c->parts = NULL;
    c->parts_count = 0;
    c->state = m->state == SL_TXN_STATE_PREPARE_COMMIT
                   ? SL_TXN_STATE_COMPLETE_COMMIT
                   : SL_TXN_STATE_COMPLETE_ABORT;
    if (tv2) {
        c->prev_producer_id = m->producer_id;
        if (m->next_producer_id >= 0) {
            c->producer_id = m->next_producer_id;
            c->producer_epoch = 0;
        }
    }
    c->next_producer_id = SL_TXN_NO_PID;
    c->update_ts = tc->now;
    t->pending = true;
    t->failed_fence = false;
    if (!tc->cfg.end_waits_markers) {
        sl_txn_wait_answer(tc, t, SL_OK, c->producer_id, c->producer_epoch);
    }
    sl_txn_send_markers(tc, t);
}

void
sl_txn_send_markers(sl_txn_coord_t *tc, sl_txn_t *t)
{
    sl_txn_tp_t *tps;
    sl_top_t *op;
    int32_t n = t->m.parts_count;

    t->phase = SL_TPHASE_MARKERS;
    op = sl_txn_op_new(tc, t, SL_TOP_MARKERS, NULL, NULL);
    if (op == NULL) {
        abort();
    }
    if (n == 0 || tc->markers.write == NULL) {
        sl_txn_op_finish(tc, op, SL_OK);
        return;
    }
    if ((tps = sl_txn_tps(&t->m)) == NULL) {
        sl_txn_op_finish(tc, op, SL_ERR__NOMEM);
        return;
    }
    tc->refs++;
    tc->markers.write(tc->markers.ctx, t->m.producer_id, t->m.producer_epoch,
                      t->m.state == SL_TXN_STATE_PREPARE_COMMIT,
                      tc->cfg.coordinator_epoch, tps, n, sl_txn_op_done, op);
    free(tps);
}

void
sl_txn_append_complete(sl_txn_coord_t *tc, sl_txn_t *t)
{
    t->phase = SL_TPHASE_COMPLETE;
    sl_txn_log_transit(tc, t,
                       sl_txn_op_new(tc, t, SL_TOP_COMPLETE, NULL, NULL));
}

/* ---- the epoch-fence abort ---------------------------------------------- */

void
sl_txn_fence_abort(sl_txn_coord_t *tc, sl_txn_t *t, sl_twait_e wait,
                   sl_txn_cb cb, void *arg)
{
    sl_tmeta_t *m = &t->m;
    int16_t fenced = m->producer_epoch;
    sl_top_t *op;

    /* Kafka's prepareFenceProducerEpoch: bump once (not again after a
     * fence that failed to be logged), and never past INT16_MAX. The
     * fenced epoch takes effect at once, so the old producer is refused
     * while the abort is logged. */
    if (!t->failed_fence && fenced < INT16_MAX) {
        fenced++;
    }
    m->producer_epoch = fenced;
    m->last_producer_epoch = SL_TXN_NO_EPOCH;
    if (sl_tmeta_copy(&t->transit, m) != SL_OK) {
        t->failed_fence = true; /* the bump above was not logged */
        t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
        sl_txn_answer(tc, cb, arg, SL_ERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
        return;
    }
    t->transit.state = SL_TXN_STATE_PREPARE_ABORT;
    t->transit.update_ts = tc->now;
    t->transit.next_producer_id = SL_TXN_NO_PID;
    t->transit.client_tv = tc->cfg.transaction_version;
    if (tc->cfg.transaction_version >= 2 && fenced < INT16_MAX) {
        t->transit.producer_epoch = (int16_t)(fenced + 1);
        t->transit.last_producer_epoch = fenced;
    } else if (tc->cfg.transaction_version >= 2) {
        t->transit.client_tv = 1; /* no epoch left to bump: end as TV1 */
    }
    t->pending = true;
    t->wait = wait;
    t->wait_cb = cb;
    t->wait_arg = arg;
    op = sl_txn_op_new(tc, t, SL_TOP_PREPARE, NULL, NULL);
    if (op != NULL) {
        op->fence = true;
    }
    sl_txn_log_transit(tc, t, op);
}

/* ---- InitProducerId ------------------------------------------------------ */

/* Whether a KIP-360 (producer_id, epoch) may re-initialise <m>. */
static bool
sl_txn_init_pid_valid(const sl_tmeta_t *m, int64_t pid, int16_t epoch)
{
    return m->producer_epoch == SL_TXN_NO_EPOCH || pid == m->producer_id ||
           (pid == m->prev_producer_id && sl_txn_epoch_exhausted(epoch));
}

/* Prepare the Empty transition of InitProducerId for <t> in Empty or
 * Complete*. @returns SL_OK or the error to answer. */
static sl_err_t
sl_txn_init_transit(sl_txn_coord_t *tc, sl_txn_t *t,
                    const sl_txn_init_req_t *req, bool expected)
{
    const sl_tmeta_t *m = &t->m;
    int64_t pid = m->producer_id;
    int16_t epoch, last;
    sl_err_t err;

    if (sl_txn_epoch_exhausted(m->producer_epoch)) {
        if (expected && req->producer_epoch != m->producer_epoch) {
            return SL_ERR_PRODUCER_FENCED;
        }
        /* Rotation: a new producer id at epoch 0. */
        if ((err = sl_txn_next_pid(tc, &pid)) != SL_OK) {
            return err;
        }
        epoch = 0;
        last = expected ? m->producer_epoch : SL_TXN_NO_EPOCH;
    } else if (!expected) {
        epoch = (int16_t)(m->producer_epoch + 1);
        last = SL_TXN_NO_EPOCH;
    } else if (m->producer_epoch == SL_TXN_NO_EPOCH ||
               req->producer_epoch == m->producer_epoch) {
        /* KIP-360: the producer recovers; bump and remember its epoch. */
        epoch = (int16_t)(m->producer_epoch + 1);
        last = m->producer_epoch;
    } else if (req->producer_epoch == m->last_producer_epoch) {
        /* A retry of a bump whose answer was lost. */
        epoch = m->producer_epoch;
        last = m->last_producer_epoch;
    } else {
        return SL_ERR_PRODUCER_FENCED;
    }
    sl_tmeta_clear(&t->transit);
    t->transit = *m;
    t->transit.parts = NULL;
    t->transit.parts_count = 0;
    t->transit.state = SL_TXN_STATE_EMPTY;
    t->transit.prev_producer_id = m->producer_id;
    t->transit.producer_id = pid;
    t->transit.next_producer_id = SL_TXN_NO_PID;
    t->transit.producer_epoch = epoch;
    t->transit.last_producer_epoch = last;
    t->transit.timeout_ms = req->timeout_ms;
    t->transit.start_ts = -1;
    t->transit.update_ts = tc->now;
    return SL_OK;
}

void
sl_txn_init_producer_id(sl_txn_coord_t *tc, int64_t now_ms,
                        const sl_txn_init_req_t *req, sl_txn_cb cb, void *arg)
{
    sl_str_t id = req->transactional_id;
    bool expected = false;
    sl_txn_t *t;
    int64_t pid;
    sl_err_t err = SL_OK;

    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if (id.len < 0) {
        /* An idempotent producer: a fresh id, epoch 0, nothing logged. */
        if ((err = sl_txn_next_pid(tc, &pid)) == SL_OK) {
            sl_txn_answer(tc, cb, arg, SL_OK, pid, 0);
        }
        goto out;
    }
    if (id.len == 0) {
        err = SL_ERR_INVALID_REQUEST;
    } else if (tc->loading) {
        err = SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (tc->closed) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (req->timeout_ms <= 0 ||
               req->timeout_ms > tc->cfg.max_timeout_ms) {
        err = SL_ERR_INVALID_TRANSACTION_TIMEOUT;
    } else if ((req->producer_id < 0) != (req->producer_epoch < 0)) {
        err = SL_ERR_INVALID_REQUEST; /* KafkaApis: both or neither */
    }
    if (err != SL_OK) {
        goto out;
    }
    expected = req->producer_id >= 0;
    if ((t = sl_txn_find(tc, id)) == NULL) {
        if ((err = sl_txn_next_pid(tc, &pid)) != SL_OK) {
            goto out;
        }
        if ((t = sl_txn_create(tc, id)) == NULL) {
            err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
            goto out;
        }
        t->m.producer_id = pid;
        t->m.timeout_ms = req->timeout_ms;
        t->m.update_ts = now_ms;
    }
    if (t->pending) {
        err = SL_ERR_CONCURRENT_TRANSACTIONS;
    } else if (expected && !sl_txn_init_pid_valid(&t->m, req->producer_id,
                                                  req->producer_epoch)) {
        err = SL_ERR_PRODUCER_FENCED;
    } else {
        switch (t->m.state) {
        case SL_TXN_STATE_EMPTY:
        case SL_TXN_STATE_COMPLETE_COMMIT:
        case SL_TXN_STATE_COMPLETE_ABORT:
            if ((err = sl_txn_init_transit(tc, t, req, expected)) == SL_OK) {
                t->pending = true;
                sl_txn_log_transit(tc, t,
                                   sl_txn_op_new(tc, t, SL_TOP_INIT, cb, arg));
            }
            break;
        case SL_TXN_STATE_ONGOING:
            sl_txn_fence_abort(tc, t, SL_TWAIT_FENCE, cb, arg);
            break;
        default:
            err = SL_ERR_CONCURRENT_TRANSACTIONS;
            break;
        }
    }
out:
    if (err != SL_OK) {
        sl_txn_answer(tc, cb, arg, err, -1, -1);
    }
    sl_txn_coord_unlock(tc);
}

/* ---- AddPartitionsToTxn, AddOffsetsToTxn ----------------------------------
 */

/* The checks AddPartitions and its verify form share; *out = the txn. */
static sl_err_t
sl_txn_check_producer(sl_txn_coord_t *tc, const sl_txn_add_req_t *req,
                      sl_txn_t **out)
{
    sl_txn_t *t;

    *out = NULL;
    if (req->transactional_id.len <= 0) {
        return SL_ERR_INVALID_REQUEST;
    }
    if (tc->loading) {
        return SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    }
    if (tc->closed) {
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if ((t = sl_txn_find(tc, req->transactional_id)) == NULL ||
        t->m.producer_id != req->producer_id) {
        return SL_ERR_INVALID_PRODUCER_ID_MAPPING;
    }
    if (t->m.producer_epoch != req->producer_epoch) {
        return SL_ERR_PRODUCER_FENCED;
    }
    *out = t;
    return SL_OK;
}

void
sl_txn_add_partitions(sl_txn_coord_t *tc, int64_t now_ms,
                      const sl_txn_add_req_t *req, sl_txn_cb cb, void *arg)
{
    sl_txn_t *t;
    sl_err_t err;
    bool all = true;
    int32_t i;

    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if ((err = sl_txn_check_producer(tc, req, &t)) != SL_OK) {
        goto out;
    }
    if (t->pending || t->m.state == SL_TXN_STATE_PREPARE_COMMIT ||
        t->m.state == SL_TXN_STATE_PREPARE_ABORT) {
        err = SL_ERR_CONCURRENT_TRANSACTIONS;
        goto out;
    }
    for (i = 0; i < req->parts_count && all; i++) {
        all = sl_tmeta_has_part(&t->m, req->parts[i].topic,
                                req->parts[i].partition);
    }
    if (t->m.state == SL_TXN_STATE_ONGOING && all) {
        sl_txn_answer(tc, cb, arg, SL_OK, t->m.producer_id,
                      t->m.producer_epoch);
        goto out;
    }
    if (sl_tmeta_copy(&t->transit, &t->m) != SL_OK) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
        goto out;
    }
    if (sl_tmeta_add_parts(&t->transit, req->parts, req->parts_count) !=
        SL_OK) {
        sl_tmeta_clear(&t->transit);
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
        goto out;
    }
    if (t->m.state != SL_TXN_STATE_ONGOING) {
        t->transit.start_ts = now_ms; /* a new transaction starts */
    }
    t->transit.state = SL_TXN_STATE_ONGOING;
    t->transit.update_ts = now_ms;
    t->transit.client_tv = req->client_tv;
    t->pending = true;
    sl_txn_log_transit(tc, t, sl_txn_op_new(tc, t, SL_TOP_ADD, cb, arg));
out:
    if (err != SL_OK) {
        sl_txn_answer(tc, cb, arg, err, -1, -1);
    }
    sl_txn_coord_unlock(tc);
}

void
sl_txn_add_offsets(sl_txn_coord_t *tc, int64_t now_ms, sl_str_t txn_id,
                   int64_t producer_id, int16_t producer_epoch,
                   sl_str_t group_id, int16_t client_tv, sl_txn_cb cb,
                   void *arg)
{
    sl_txn_add_req_t req;
    sl_txn_tp_t tp;

    tp.topic.ptr = "__consumer_offsets";
    tp.topic.len = (int32_t)strlen(tp.topic.ptr);
    tp.partition = sl_txn_partition_for(group_id, tc->cfg.offsets_partitions);
    memset(&req, 0, sizeof(req));
    req.transactional_id = txn_id;
    req.producer_id = producer_id;
    req.producer_epoch = producer_epoch;
    req.parts = &tp;
    req.parts_count = 1;
    req.client_tv = client_tv;
    sl_txn_add_partitions(tc, now_ms, &req, cb, arg);
}

sl_err_t
sl_txn_verify_partitions(sl_txn_coord_t *tc, const sl_txn_add_req_t *req,
                         sl_err_t *errors)
{
    sl_txn_t *t;
    sl_err_t err;
    int32_t i;

    sl_txn_coord_lock(tc);
    err = sl_txn_check_producer(tc, req, &t);
    if (err == SL_OK && (t->m.state == SL_TXN_STATE_PREPARE_COMMIT ||
                         t->m.state == SL_TXN_STATE_PREPARE_ABORT)) {
        err = SL_ERR_CONCURRENT_TRANSACTIONS;
    }
    for (i = 0; i < req->parts_count; i++) {
        errors[i] = err;
        if (err == SL_OK && !sl_tmeta_has_part(&t->m, req->parts[i].topic,
                                               req->parts[i].partition)) {
            errors[i] = SL_ERR_TRANSACTION_ABORTABLE;
        }
    }
    sl_txn_coord_unlock(tc);
    return err;
}

/* ---- EndTxn ---------------------------------------------------------------
 */

/* Log the Prepare* transition of an EndTxn; <bump>: TV2's epoch bump. */
static sl_err_t
sl_txn_end_prepare(sl_txn_coord_t *tc, sl_txn_t *t, const sl_txn_end_req_t *req,
                   bool bump, bool no_partitions, sl_txn_cb cb, void *arg)
{
    sl_tmeta_t *n = &t->transit;
    int64_t next = SL_TXN_NO_PID;
    sl_err_t err;

    if (bump && t->m.producer_epoch == INT16_MAX) {
        return SL_ERR_PRODUCER_FENCED; /* no client holds INT16_MAX */
    }
    if (bump && sl_txn_epoch_exhausted(t->m.producer_epoch) &&
        (err = sl_txn_next_pid(tc, &next)) != SL_OK) {
        return err;
    }
    if (sl_tmeta_copy(n, &t->m) != SL_OK) {
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    n->state =
        req->commit ? SL_TXN_STATE_PREPARE_COMMIT : SL_TXN_STATE_PREPARE_ABORT;
    n->update_ts = tc->now;
    n->client_tv = bump ? req->client_tv : 0;
    if (bump) {
        n->producer_epoch = (int16_t)(t->m.producer_epoch + 1);
        n->last_producer_epoch = t->m.producer_epoch;
        n->next_producer_id = next;
    }
    if (no_partitions) {
        n->start_ts = tc->now; /* TV2 abort with no transaction open */
    }
    t->pending = true;
    t->wait = SL_TWAIT_END;
    t->wait_cb = cb;
    t->wait_arg = arg;
    sl_txn_log_transit(tc, t, sl_txn_op_new(tc, t, SL_TOP_PREPARE, NULL, NULL));
    return SL_OK;
}

/* Transactions v1: strict epoch equality; retries of a finished end are
 * answered NONE. *done is set when the answer is already queued. */
static sl_err_t
sl_txn_end_v1(sl_txn_coord_t *tc, sl_txn_t *t, const sl_txn_end_req_t *req,
              sl_txn_cb cb, void *arg)
{
    sl_txn_state_e s = t->m.state;

    if (t->m.producer_id != req->producer_id) {
        return SL_ERR_INVALID_PRODUCER_ID_MAPPING;
    }
    if (t->m.producer_epoch != req->producer_epoch) {
        return SL_ERR_PRODUCER_FENCED;
    }
    if (t->pending) {
        return SL_ERR_CONCURRENT_TRANSACTIONS;
    }
    switch (s) {
    case SL_TXN_STATE_ONGOING:
        return sl_txn_end_prepare(tc, t, req, false, false, cb, arg);
    case SL_TXN_STATE_COMPLETE_COMMIT:
    case SL_TXN_STATE_COMPLETE_ABORT:
        if (req->commit == (s == SL_TXN_STATE_COMPLETE_COMMIT)) {
            sl_txn_answer(tc, cb, arg, SL_OK, -1, -1);
            return SL_OK;
        }
        return SL_ERR_INVALID_TXN_STATE;
    case SL_TXN_STATE_PREPARE_COMMIT:
    case SL_TXN_STATE_PREPARE_ABORT:
        if (req->commit == (s == SL_TXN_STATE_PREPARE_COMMIT)) {
            return SL_ERR_CONCURRENT_TRANSACTIONS;
        }
        return SL_ERR_INVALID_TXN_STATE;
    default:
        return SL_ERR_INVALID_TXN_STATE;
    }
}

/*
 * Transactions v2 (Kafka 4.0's table): the epoch the client sends must be
 * the current one, except for a retry of the end that bumped it (epoch + 1
 * stored, or the overflow to a new producer id at epoch 0).
 *                  Abort            Commit
 *                  Retry  Current   Retry  Current
 *   Empty          FENCED bump      FENCED INVALID_TXN_STATE
 *   CompleteAbort  NONE   bump      ITS    ITS
 *   CompleteCommit ITS    bump      NONE   ITS
 */
static sl_err_t
sl_txn_end_v2(sl_txn_coord_t *tc, sl_txn_t *t, const sl_txn_end_req_t *req,
              sl_txn_cb cb, void *arg)
{
    const sl_tmeta_t *m = &t->m;
    bool overflow = m->prev_producer_id == req->producer_id &&
                    req->producer_epoch == INT16_MAX - 1 &&
                    m->producer_epoch == 0;
    bool bumped = m->producer_epoch == req->producer_epoch + 1;
    bool retry = bumped || overflow;
    bool valid;

    switch (m->state) {
    case SL_TXN_STATE_PREPARE_COMMIT:
    case SL_TXN_STATE_PREPARE_ABORT:
        valid = bumped;
        break;
    case SL_TXN_STATE_COMPLETE_COMMIT:
    case SL_TXN_STATE_COMPLETE_ABORT:
        valid = retry || req->producer_epoch == m->producer_epoch;
        break;
    default:
        valid = req->producer_epoch == m->producer_epoch;
        break;
    }
    if (m->producer_id != req->producer_id && !overflow) {
        return SL_ERR_INVALID_PRODUCER_ID_MAPPING;
    }
    if (!valid) {
        return SL_ERR_PRODUCER_FENCED;
    }
    if (t->pending) {
        return SL_ERR_CONCURRENT_TRANSACTIONS;
    }
    switch (m->state) {
    case SL_TXN_STATE_ONGOING:
        return sl_txn_end_prepare(tc, t, req, true, false, cb, arg);
    case SL_TXN_STATE_COMPLETE_COMMIT:
    case SL_TXN_STATE_COMPLETE_ABORT:
        if (retry) {
            if (req->commit != (m->state == SL_TXN_STATE_COMPLETE_COMMIT)) {
                return SL_ERR_INVALID_TXN_STATE;
            }
            sl_txn_answer(tc, cb, arg, SL_OK, m->producer_id,
                          m->producer_epoch);
            return SL_OK;
        }
        if (req->commit) {
            return SL_ERR_INVALID_TXN_STATE;
        }
        return sl_txn_end_prepare(tc, t, req, true, true, cb, arg);
    case SL_TXN_STATE_EMPTY:
        if (req->commit) {
            return SL_ERR_INVALID_TXN_STATE;
        }
        return sl_txn_end_prepare(tc, t, req, true, true, cb, arg);
    case SL_TXN_STATE_PREPARE_COMMIT:
    case SL_TXN_STATE_PREPARE_ABORT:
        if (req->commit == (m->state == SL_TXN_STATE_PREPARE_COMMIT)) {
            return SL_ERR_CONCURRENT_TRANSACTIONS;
        }
        return SL_ERR_INVALID_TXN_STATE;
    default:
        return SL_ERR_INVALID_TXN_STATE;
    }
}

void
sl_txn_end(sl_txn_coord_t *tc, int64_t now_ms, const sl_txn_end_req_t *req,
           sl_txn_cb cb, void *arg)
{
    sl_txn_t *t;
    sl_err_t err;

    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if (req->transactional_id.len <= 0) {
        err = SL_ERR_INVALID_REQUEST;
    } else if (tc->loading) {
        err = SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (tc->closed) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if ((t = sl_txn_find(tc, req->transactional_id)) == NULL) {
        err = SL_ERR_INVALID_PRODUCER_ID_MAPPING;
    } else if (req->client_tv >= 2) {
        err = sl_txn_end_v2(tc, t, req, cb, arg);
    } else {
        err = sl_txn_end_v1(tc, t, req, cb, arg);
    }
    if (err != SL_OK) {
        sl_txn_answer(tc, cb, arg, err, -1, -1);
    }
    sl_txn_coord_unlock(tc);
}

/* ---- end of loading --------------------------------------------------------
 */

void
sl_txn_coord_load_done(sl_txn_coord_t *tc, int64_t now_ms)
{
    int32_t i;

    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if (tc->loading && !tc->closed) {
        tc->loading = false;
        for (i = 0; i < tc->txns_count; i++) {
            sl_txn_t *t = tc->txns[i];

            if (t->m.state == SL_TXN_STATE_PREPARE_COMMIT ||
                t->m.state == SL_TXN_STATE_PREPARE_ABORT) {
                sl_txn_start_complete(tc, t);
            }
        }
    }
    sl_txn_coord_unlock(tc);
}
