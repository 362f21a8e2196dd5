/* Unit tests of the transaction coordinator's state machine (txn/ops.c,
 * txn/coord.c), driven by a fake clock, a fake store and a fake marker
 * writer: InitProducerId (new id, epoch bumps, KIP-360, fencing an open
 * transaction, epoch exhaustion), AddPartitions/AddOffsets in every state,
 * EndTxn for transactions v1 and v2 (retries, wrong epochs, the
 * KAFKA-17754 delayed EndTxn), markers and their failures, timeouts,
 * transactional-id expiry, loading, Describe/ListTransactions. */
#include "txn_test_util.h"

#define ID "tx-1"
#define T0 1000000

/* A fresh id, initialised and settled: pid 1000, epoch 0. */
static fx_t *
fx_ready(const sl_txn_config_t *cfg)
{
    fx_t *f = fx_new_cfg(cfg, true);
    tt_res_t r;

    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    return f;
}

static sl_txn_config_t
cfg_tv(int16_t tv)
{
    sl_txn_config_t c;

    sl_txn_config_defaults(&c);
    c.transaction_version = tv;
    return c;
}

/* ---- InitProducerId ------------------------------------------------------ */

static void
test_init_new_id(void **state)
{
    fx_t *f = fx_new();
    tt_res_t r;
    sl_txn_desc_t d;

    (void)state;
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    /* Not answered before the record is durable. */
    assert_int_equal(r.calls, 0);
    assert_int_equal(f->e->nrec, 1);
    assert_int_equal(f->e->rec[0].partition, sl_txn_partition_for(S(ID), 50));
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    d = tt_describe(f, ID);
    assert_int_equal(d.error, SL_OK);
    assert_int_equal(d.state, SL_TXN_STATE_EMPTY);
    assert_int_equal(d.producer_id, 1000);
    assert_int_equal(d.producer_epoch, 0);
    assert_int_equal(d.timeout_ms, 60000);
    assert_int_equal(d.start_ms, -1);
    fx_free(f);
}

static void
test_init_idempotent_and_invalid(void **state)
{
    fx_t *f = fx_new();
    tt_res_t r;

    (void)state;
    /* Null id: an idempotent producer, nothing logged. */
    tt_init(f, T0, NULL, 0, -1, -1, &r);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    assert_int_equal(f->e->nrec, 0);
    tt_init(f, T0, "", 60000, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_REQUEST);
    tt_init(f, T0, ID, 0, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TRANSACTION_TIMEOUT);
    tt_init(f, T0, ID, 900001, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TRANSACTION_TIMEOUT);
    tt_init(f, T0, ID, 900000, 5, -1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_REQUEST);
    /* The id allocator's error is passed on. */
    f->e->pid_err = SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    tt_init(f, T0, ID, 1000, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(f->e->nrec, 0);
    fx_free(f);
}

static void
test_reinit_bumps_epoch(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r, r2;

    (void)state;
    tt_init(f, T0 + 1, ID, 30000, -1, -1, &r);
    /* While the bump is logged, another init must wait. */
    tt_init(f, T0 + 1, ID, 30000, -1, -1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 1);
    assert_int_equal(tt_describe(f, ID).timeout_ms, 30000);
    /* The previous producer is fenced. */
    tt_add(f, T0 + 2, ID, 1000, 0, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    fx_free(f);
}

static void
test_init_append_failure(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;

    (void)state;
    tt_init(f, T0 + 1, ID, 30000, -1, -1, &r);
    assert_true(tt_store_one(f->e, SL_ERR_NOT_ENOUGH_REPLICAS));
    TT_EXPECT(r, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    tt_init(f, T0 + 1, ID, 30000, -1, -1, &r);
    assert_true(tt_store_one(f->e, SL_ERR__IO));
    TT_EXPECT(r, SL_ERR_NOT_COORDINATOR);
    /* Nothing changed: the next init bumps to 1. */
    tt_init(f, T0 + 2, ID, 30000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 1);
    fx_free(f);
}

/* KIP-360: re-init with the current (pid, epoch) bumps; a retry of that
 * (the answer was lost) gets the same epoch; a stale epoch is fenced. */
static void
test_init_kip360(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;

    (void)state;
    tt_init(f, T0, ID, 60000, 1000, 0, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 1);
    tt_init(f, T0, ID, 60000, 1000, 0, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 1);
    tt_init(f, T0, ID, 60000, 1000, 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 2);
    tt_init(f, T0, ID, 60000, 1000, 0, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_init(f, T0, ID, 60000, 77, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    /* A producer that does not know its id recovers on a new id. */
    tt_init(f, T0, "tx-new", 60000, 55, 3, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1001);
    assert_int_equal(r.epoch, 0);
    fx_free(f);
}

/* Load an Empty/Ongoing id at <epoch> to test exhaustion. */
static void
load_meta(fx_t *f, const char *id, const sl_tmeta_t *m)
{
    uint8_t *k, *v;
    size_t kl, vl;

    assert_int_equal(sl_txn_record_encode(S(id), m, 1, &k, &kl, &v, &vl),
                     SL_OK);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, vl), SL_OK);
    free(k);
    free(v);
}

static sl_tmeta_t
meta(int64_t pid, int16_t epoch, sl_txn_state_e s, int16_t tv)
{
    sl_tmeta_t m;

    memset(&m, 0, sizeof(m));
    m.producer_id = pid;
    m.prev_producer_id = -1;
    m.next_producer_id = -1;
    m.producer_epoch = epoch;
    m.last_producer_epoch = -1;
    m.timeout_ms = 60000;
    m.state = s;
    m.start_ts = s == SL_TXN_STATE_EMPTY ? -1 : T0;
    m.update_ts = T0;
    m.client_tv = tv;
    return m;
}

static void
test_init_epoch_exhaustion(void **state)
{
    fx_t *f = fx_new_cfg(NULL, false);
    sl_tmeta_t m = meta(7, INT16_MAX - 1, SL_TXN_STATE_EMPTY, 0);
    tt_res_t r;

    (void)state;
    load_meta(f, ID, &m);
    sl_txn_coord_load_done(f->tc, T0);
    /* KIP-360 from the exhausted epoch: a new producer id at epoch 0. */
    tt_init(f, T0, ID, 60000, 7, INT16_MAX - 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    /* Its retry (answer lost) gets the same new id, not a fence. */
    tt_init(f, T0, ID, 60000, 7, INT16_MAX - 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);

    /* A stale epoch of the old id is fenced, not rotated again. */
    tt_init(f, T0, ID, 60000, 7, 5, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    fx_free(f);

    /* Exhausted with a KIP-360 epoch that is not the current one. */
    f = fx_new_cfg(NULL, false);
    load_meta(f, ID, &m);
    sl_txn_coord_load_done(f->tc, T0);
    tt_init(f, T0, ID, 60000, 7, 12, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    assert_int_equal(f->e->nrec, 0);
    fx_free(f);

    /* Without KIP-360 fields as well. */
    f = fx_new_cfg(NULL, false);
    load_meta(f, ID, &m);
    sl_txn_coord_load_done(f->tc, T0);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    fx_free(f);
}

/* Re-init while a transaction is open: the old producer is fenced, its
 * transaction aborted, and the new one told to retry. */
static void
fence_case(int16_t tv, int16_t abort_epoch, int16_t final_epoch)
{
    sl_txn_config_t c = cfg_tv(tv);
    fx_t *f = fx_ready(&c);
    tt_res_t r, old, r2;

    tt_add(f, T0, ID, 1000, 0, "t:0,t:1", 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    tt_init(f, T0 + 5, ID, 60000, -1, -1, &r);
    assert_int_equal(r.calls, 0);
    /* The fence is effective at once: the old producer cannot commit. */
    tt_end(f, T0 + 5, ID, 1000, 0, true, 1, &old);
    TT_EXPECT(old, SL_ERR_PRODUCER_FENCED);
    tt_init(f, T0 + 5, ID, 60000, -1, -1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    assert_true(tt_store_one(f->e, SL_OK)); /* PrepareAbort */
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_PREPARE_ABORT);
    assert_int_equal(f->e->nmk, 1);
    assert_false(f->e->mk[0].commit);
    assert_int_equal(f->e->mk[0].pid, 1000);
    assert_int_equal(f->e->mk[0].epoch, abort_epoch);
    assert_string_equal(f->e->mk[0].parts, "t:0,t:1");
    tt_settle(f->e);
    TT_EXPECT(r, SL_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    assert_int_equal(f->e->ncomplete, 1);
    assert_false(f->e->last_complete_commit);
    tt_init(f, T0 + 6, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, final_epoch);
    fx_free(f);
}

static void
test_reinit_while_ongoing_fences(void **state)
{
    (void)state;
    fence_case(1, 1, 2); /* TV1: fenced epoch 1, markers at 1 */
    fence_case(2, 2, 3); /* TV2: fence 1, then the abort bumps to 2 */
}

/* A fence whose PrepareAbort fails to be logged does not bump again. */
static void
test_fence_append_failure(void **state)
{
    sl_txn_config_t c = cfg_tv(1);
    fx_t *f = fx_ready(&c);
    tt_res_t r;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    assert_true(tt_store_one(f->e, SL_ERR_REQUEST_TIMED_OUT));
    TT_EXPECT(r, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_ONGOING);
    assert_int_equal(tt_describe(f, ID).producer_epoch, 1);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_ERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(f->e->mk[0].epoch, 1);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 2);
    fx_free(f);
}

/* ---- AddPartitionsToTxn / AddOffsetsToTxn ----------------------------------
 */

static void
test_add_partitions(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r, r2;
    sl_txn_desc_t d;
    int nrec;

    (void)state;
    tt_add(f, T0, "nope", 1000, 0, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_PRODUCER_ID_MAPPING);
    tt_add(f, T0, ID, 999, 0, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_PRODUCER_ID_MAPPING);
    tt_add(f, T0, ID, 1000, 1, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_add(f, T0, "", 1000, 0, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_REQUEST);
    /* Empty -> Ongoing; the transaction starts now. */
    tt_add(f, T0 + 10, ID, 1000, 0, "t:0,u:3", 1, &r);
    tt_add(f, T0 + 10, ID, 1000, 0, "t:1", 1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    d = tt_describe(f, ID);
    assert_int_equal(d.state, SL_TXN_STATE_ONGOING);
    assert_int_equal(d.start_ms, T0 + 10);
    assert_int_equal(d.topics_count, 2);
    /* Already there: answered at once, nothing logged. */
    nrec = f->e->nrec;
    tt_add(f, T0 + 20, ID, 1000, 0, "u:3", 1, &r);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(f->e->nrec, nrec);
    tt_add(f, T0 + 20, ID, 1000, 0, "t:0,t:2", 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    d = tt_describe(f, ID);
    assert_int_equal(d.start_ms, T0 + 10);
    assert_string_equal(d.topics[0].topic.ptr, "t");
    assert_int_equal(d.topics[0].partitions_count, 2);
    /* While the commit's markers are written: retry later. */
    tt_end(f, T0 + 30, ID, 1000, 0, true, 1, &r);
    assert_true(tt_store_one(f->e, SL_OK));
    tt_add(f, T0 + 30, ID, 1000, 0, "t:9", 1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    /* From CompleteCommit a new transaction starts. */
    tt_add(f, T0 + 40, ID, 1000, 0, "t:9", 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    d = tt_describe(f, ID);
    assert_int_equal(d.state, SL_TXN_STATE_ONGOING);
    assert_int_equal(d.start_ms, T0 + 40);
    assert_int_equal(d.topics_count, 1);
    fx_free(f);
}

/* Very many partitions (a large request, duplicates, any order) are merged
 * into a sorted set without quadratic work, logged and described. */
static void
test_many_partitions(void **state)
{
    fx_t *f = fx_ready(NULL);
    enum { N = 60000, TOPICS = 7 };
    sl_txn_tp_t *tp = calloc(N, sizeof(*tp));
    static const char *const topics[TOPICS] = {"g", "a", "f", "b",
                                               "e", "c", "d"};
    sl_txn_add_req_t q;
    sl_txn_desc_t d;
    sl_err_t *errs = calloc(N, sizeof(*errs));
    tt_res_t r;
    int32_t total = 0;

    (void)state;
    for (int i = 0; i < N; i++) {
        /* Each (topic, partition) twice, scattered (7919 is prime to N). */
        int u = i % (N / 2), at = (int)(((int64_t)i * 7919) % N);

        tp[at].topic = S(topics[u % TOPICS]);
        tp[at].partition = u / TOPICS;
    }
    memset(&q, 0, sizeof(q));
    q.transactional_id = S(ID);
    q.producer_id = 1000;
    q.producer_epoch = 0;
    q.parts = tp;
    q.parts_count = N;
    q.client_tv = 1;
    memset(&r, 0, sizeof(r));
    sl_txn_add_partitions(f->tc, T0, &q, tt_cb, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    d = tt_describe(f, ID);
    assert_int_equal(d.topics_count, TOPICS);
    for (int i = 0; i < d.topics_count; i++) {
        assert_int_equal(d.topics[i].topic.ptr[0], 'a' + i);
        for (int j = 1; j < d.topics[i].partitions_count; j++) {
            assert_true(d.topics[i].partitions[j] >
                        d.topics[i].partitions[j - 1]);
        }
        total += d.topics[i].partitions_count;
    }
    assert_int_equal(total, N / 2);
    assert_int_equal(sl_txn_verify_partitions(f->tc, &q, errs), SL_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(errs[i], SL_OK);
    }
    free(errs);
    free(tp);
    fx_free(f);
}

static void
test_add_offsets_and_verify(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;
    sl_txn_desc_t d;
    sl_txn_tp_t tp[2];
    sl_txn_add_req_t q;
    sl_err_t errs[2];

    (void)state;
    memset(&r, 0, sizeof(r));
    sl_txn_add_offsets(f->tc, T0, S(ID), 1000, 0, S("my-group"), 1, tt_cb, &r);
    tt_settle(f->e);
    d = tt_describe(f, ID);
    assert_int_equal(d.topics_count, 1);
    assert_string_equal(d.topics[0].topic.ptr, "__consumer_offsets");
    assert_int_equal(d.topics[0].partitions[0],
                     sl_txn_partition_for(S("my-group"), 50));
    tp[0].topic = S("__consumer_offsets");
    tp[0].partition = d.topics[0].partitions[0];
    tp[1].topic = S("t");
    tp[1].partition = 0;
    memset(&q, 0, sizeof(q));
    q.transactional_id = S(ID);
    q.producer_id = 1000;
    q.producer_epoch = 0;
    q.parts = tp;
    q.parts_count = 2;
    assert_int_equal(sl_txn_verify_partitions(f->tc, &q, errs), SL_OK);
    assert_int_equal(errs[0], SL_OK);
    assert_int_equal(errs[1], SL_ERR_TRANSACTION_ABORTABLE);
    q.producer_epoch = 3;
    assert_int_equal(sl_txn_verify_partitions(f->tc, &q, errs),
                     SL_ERR_PRODUCER_FENCED);
    assert_int_equal(errs[1], SL_ERR_PRODUCER_FENCED);
    q.producer_id = 5;
    assert_int_equal(sl_txn_verify_partitions(f->tc, &q, errs),
                     SL_ERR_INVALID_PRODUCER_ID_MAPPING);
    fx_free(f);
}

/* ---- EndTxn, transactions v1 ----------------------------------------------
 */

static void
test_end_commit_v1(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r, r2;

    (void)state;
    tt_end(f, T0, ID, 1000, 0, true, 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE); /* Empty */
    tt_add(f, T0, ID, 1000, 0, "t:0,t:1", 1, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 1, &r);
    assert_true(tt_store_one(f->e, SL_OK)); /* PrepareCommit */
    assert_int_equal(r.calls, 0);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_PREPARE_COMMIT);
    assert_int_equal(f->e->nmk, 1);
    assert_true(f->e->mk[0].commit);
    assert_int_equal(f->e->mk[0].epoch, 0);
    assert_string_equal(f->e->mk[0].parts, "t:0,t:1");
    /* Retries while the markers are written. */
    tt_end(f, T0 + 2, ID, 1000, 0, true, 1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_end(f, T0 + 2, ID, 1000, 0, false, 1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_init(f, T0 + 2, ID, 60000, -1, -1, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    assert_true(tt_markers_one(f->e, SL_OK));
    assert_int_equal(f->e->ncomplete, 1);
    assert_true(f->e->last_complete_commit);
    assert_int_equal(f->e->last_complete_pid, 1000);
    assert_int_equal(r.calls, 0); /* Complete* not durable yet */
    assert_true(tt_store_one(f->e, SL_OK));
    TT_EXPECT(r, SL_OK);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_COMMIT);
    assert_int_equal(tt_describe(f, ID).topics_count, 0);
    /* A retried EndTxn after completion: NONE; the other way: invalid. */
    tt_end(f, T0 + 3, ID, 1000, 0, true, 1, &r);
    TT_EXPECT(r, SL_OK);
    tt_end(f, T0 + 3, ID, 1000, 0, false, 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE);
    tt_end(f, T0 + 3, ID, 1000, 1, true, 1, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_end(f, T0 + 3, ID, 1001, 0, true, 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_PRODUCER_ID_MAPPING);
    tt_end(f, T0 + 3, "nope", 1000, 0, true, 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_PRODUCER_ID_MAPPING);
    fx_free(f);
}

static void
test_end_abort_v1(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, false, 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_false(f->e->mk[0].commit);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    assert_false(f->e->last_complete_commit);
    tt_end(f, T0 + 3, ID, 1000, 0, false, 1, &r);
    TT_EXPECT(r, SL_OK);
    tt_end(f, T0 + 3, ID, 1000, 0, true, 1, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE);
    fx_free(f);
}

/* Marker failures are retried after the backoff; a Complete* append that
 * fails is retried too; the EndTxn is answered once both are done. */
static void
test_marker_and_complete_retry(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 1, &r);
    assert_true(tt_store_one(f->e, SL_OK));
    assert_true(tt_markers_one(f->e, SL_ERR_NOT_LEADER_OR_FOLLOWER));
    assert_int_equal(f->e->ncomplete, 0);
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), T0 + 1 + 100);
    sl_txn_coord_tick(f->tc, T0 + 100);
    assert_int_equal(f->e->nmk, 1);
    sl_txn_coord_tick(f->tc, T0 + 101);
    assert_int_equal(f->e->nmk, 2);
    assert_string_equal(f->e->mk[1].parts, "t:0");
    assert_true(tt_markers_one(f->e, SL_OK));
    assert_true(tt_store_one(f->e, SL_ERR__IO)); /* CompleteCommit */
    assert_int_equal(r.calls, 0);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_PREPARE_COMMIT);
    sl_txn_coord_tick(f->tc, T0 + 300);
    assert_true(tt_store_one(f->e, SL_OK));
    TT_EXPECT(r, SL_OK);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_COMMIT);
    assert_int_equal(f->e->ncomplete, 1);
    fx_free(f);
}

static void
test_prepare_append_failure(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 1, &r);
    assert_true(tt_store_one(f->e, SL_ERR_NOT_ENOUGH_REPLICAS));
    TT_EXPECT(r, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(f->e->nmk, 0);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_ONGOING);
    tt_end(f, T0 + 2, ID, 1000, 0, true, 1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    fx_free(f);
}

/* Kafka's timing: EndTxn answered once Prepare* is durable. */
static void
test_end_not_waiting_markers(void **state)
{
    sl_txn_config_t c = cfg_tv(2);
    fx_t *f;
    tt_res_t r, r2;

    (void)state;
    c.end_waits_markers = false;
    f = fx_ready(&c);
    tt_add(f, T0, ID, 1000, 0, "t:0", 2, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 2, &r);
    assert_true(tt_store_one(f->e, SL_OK));
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 1);
    tt_add(f, T0 + 2, ID, 1000, 1, "t:0", 2, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    tt_add(f, T0 + 3, ID, 1000, 1, "t:0", 2, &r2);
    tt_settle(f->e);
    TT_EXPECT(r2, SL_OK);
    fx_free(f);
}

static void
test_wire_error_by_version(void **state)
{
    (void)state;
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 22, 3),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 22, 4),
                     SL_ERR_PRODUCER_FENCED);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 24, 1),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 24, 2),
                     SL_ERR_PRODUCER_FENCED);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 25, 1),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 26, 1),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 26, 5),
                     SL_ERR_PRODUCER_FENCED);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 28, 2),
                     SL_ERR_INVALID_PRODUCER_EPOCH);
    assert_int_equal(sl_txn_wire_error(SL_ERR_PRODUCER_FENCED, 28, 3),
                     SL_ERR_PRODUCER_FENCED);
    assert_int_equal(sl_txn_wire_error(SL_ERR_CONCURRENT_TRANSACTIONS, 26, 0),
                     SL_ERR_CONCURRENT_TRANSACTIONS);
}

/* ---- EndTxn, transactions v2 ----------------------------------------------
 */

static void
test_tv2_bump_at_every_end(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r, r2;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 2, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 2, &r);
    /* A retry while Prepare* is being logged, then while the markers are
     * written: wait. */
    tt_end(f, T0 + 1, ID, 1000, 0, true, 2, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    assert_true(tt_store_one(f->e, SL_OK));
    tt_end(f, T0 + 1, ID, 1000, 0, true, 2, &r2);
    TT_EXPECT(r2, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_end(f, T0 + 1, ID, 1000, 1, true, 2, &r2); /* the new epoch: early */
    TT_EXPECT(r2, SL_ERR_PRODUCER_FENCED);
    /* The markers carry the bumped epoch. */
    assert_int_equal(f->e->mk[0].epoch, 1);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 1);
    assert_int_equal(tt_describe(f, ID).producer_epoch, 1);
    tt_add(f, T0 + 2, ID, 1000, 1, "t:1", 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    tt_end(f, T0 + 3, ID, 1000, 1, false, 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 2);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    /* Retry of that abort (epoch 1): NONE with the current epoch. */
    tt_end(f, T0 + 4, ID, 1000, 1, false, 2, &r);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 2);
    tt_end(f, T0 + 4, ID, 1000, 1, true, 2, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE);
    tt_end(f, T0 + 4, ID, 1000, 0, false, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    /* An abort with the current epoch in CompleteAbort bumps again. */
    tt_end(f, T0 + 5, ID, 1000, 2, false, 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 3);
    fx_free(f);
}

static void
test_tv2_empty_and_complete_table(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;
    int nmk;

    (void)state;
    /* Empty: commit is invalid, a retry epoch is fenced, abort bumps
     * without any marker. */
    tt_end(f, T0, ID, 1000, 0, true, 2, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    assert_int_equal(r.epoch, 1);
    tt_end(f, T0, ID, 1000, 0, false, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    nmk = f->e->nmk;
    tt_end(f, T0, ID, 1000, 1, false, 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 2);
    assert_int_equal(f->e->nmk, nmk);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    /* CompleteCommit: a current-epoch commit is invalid. */
    tt_add(f, T0, ID, 1000, 2, "t:0", 2, &r);
    tt_settle(f->e);
    tt_end(f, T0, ID, 1000, 2, true, 2, &r);
    tt_settle(f->e);
    assert_int_equal(r.epoch, 3);
    tt_end(f, T0, ID, 1000, 3, true, 2, &r);
    TT_EXPECT(r, SL_ERR_INVALID_TXN_STATE);
    tt_end(f, T0, ID, 1000, 2, true, 2, &r);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 3);
    /* CompleteCommit: a current-epoch abort bumps, with no markers. */
    nmk = f->e->nmk;
    tt_end(f, T0 + 9, ID, 1000, 3, false, 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 4);
    assert_int_equal(f->e->nmk, nmk);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    assert_int_equal(tt_describe(f, ID).start_ms, T0 + 9);
    fx_free(f);
}

/* KAFKA-17754: a delayed EndTxn (or add) of transaction N must not touch
 * transaction N+1. */
static void
test_tv2_delayed_end_rejected(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r;
    sl_txn_desc_t d;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 2, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 1, ID, 1000, 0, true, 2, &r); /* N commits */
    tt_settle(f->e);
    assert_int_equal(r.epoch, 1);
    tt_add(f, T0 + 2, ID, 1000, 1, "t:5", 2, &r); /* N+1 starts */
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    /* N's EndTxn, delayed in the network, arrives now. */
    tt_end(f, T0 + 3, ID, 1000, 0, true, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_end(f, T0 + 3, ID, 1000, 0, false, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_add(f, T0 + 3, ID, 1000, 0, "t:6", 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    d = tt_describe(f, ID);
    assert_int_equal(d.state, SL_TXN_STATE_ONGOING);
    assert_int_equal(d.topics_count, 1);
    assert_int_equal(d.topics[0].partitions[0], 5);
    /* The same request under TV1 rules would have aborted N+1 if its epoch
     * matched; with v1 the epoch did not move, which is what TV2 fixes. */
    fx_free(f);
}

/* TV2 epoch overflow: the end allocates the next producer id; the client
 * continues on (new id, 0); a retry with the old id is still answered. */
static void
test_tv2_epoch_overflow(void **state)
{
    fx_t *f = fx_new_cfg(NULL, false);
    sl_tmeta_t m = meta(7, INT16_MAX - 1, SL_TXN_STATE_ONGOING, 2);
    tt_res_t r;

    (void)state;
    assert_int_equal(sl_tmeta_add_part(&m, S("t"), 0), SL_OK);
    load_meta(f, ID, &m);
    sl_tmeta_clear(&m);
    sl_txn_coord_load_done(f->tc, T0);
    tt_end(f, T0, ID, 7, INT16_MAX - 1, true, 2, &r);
    assert_true(tt_store_one(f->e, SL_OK));
    assert_int_equal(f->e->mk[0].pid, 7);
    assert_int_equal(f->e->mk[0].epoch, INT16_MAX);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    tt_end(f, T0, ID, 7, INT16_MAX - 1, true, 2, &r);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1000);
    assert_int_equal(r.epoch, 0);
    tt_add(f, T0, ID, 1000, 0, "t:0", 2, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    fx_free(f);
}

/* ---- timeouts and expiry ---------------------------------------------------
 */

static void
test_timeout_aborts(void **state)
{
    sl_txn_config_t c = cfg_tv(2);
    fx_t *f = fx_new_cfg(&c, true);
    tt_res_t r;

    (void)state;
    tt_init(f, 0, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), c.id_expiration_ms);
    tt_add(f, 10, ID, 1000, 0, "t:0", 2, &r);
    tt_settle(f->e);
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), 1011);
    sl_txn_coord_tick(f->tc, 1010);
    assert_int_equal(f->e->nspend, 0);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_ONGOING);
    sl_txn_coord_tick(f->tc, 1011);
    assert_int_equal(f->e->nspend, 1);
    /* The producer is fenced the moment the abort starts. */
    tt_end(f, 1012, ID, 1000, 0, true, 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_settle(f->e);
    assert_false(f->e->mk[0].commit);
    assert_int_equal(f->e->mk[0].epoch, 2);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    tt_add(f, 1013, ID, 1000, 0, "t:0", 2, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    /* The producer re-initialises and goes on. */
    tt_init(f, 1014, ID, 1000, 1000, 0, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    tt_init(f, 1014, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, 3);
    fx_free(f);
}

/* A timed-out abort or an expiry whose record fails is retried after the
 * backoff, not at every tick. */
static void
test_timer_failures_back_off(void **state)
{
    sl_txn_config_t c = cfg_tv(1);
    fx_t *f;
    tt_res_t r;

    (void)state;
    c.id_expiration_ms = 100000;
    c.retry_backoff_ms = 500;
    f = fx_new_cfg(&c, true);
    tt_init(f, 0, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    tt_add(f, 0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    sl_txn_coord_tick(f->tc, 2000);
    assert_true(tt_store_one(f->e, SL_ERR_NOT_ENOUGH_REPLICAS));
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_ONGOING);
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), 2500);
    sl_txn_coord_tick(f->tc, 2499);
    assert_int_equal(f->e->nspend, 0);
    sl_txn_coord_tick(f->tc, 2500);
    tt_settle(f->e);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    /* The failed fence was not bumped twice: epoch 1 on the markers. */
    assert_int_equal(f->e->mk[0].epoch, 1);
    sl_txn_coord_tick(f->tc, 200000);
    assert_true(tt_store_one(f->e, SL_ERR__IO));
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), 200500);
    sl_txn_coord_tick(f->tc, 200500);
    tt_settle(f->e);
    assert_int_equal(tt_describe(f, ID).error,
                     SL_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    fx_free(f);
}

static void
test_id_expiry(void **state)
{
    sl_txn_config_t c = cfg_tv(2);
    fx_t *f;
    tt_res_t r;
    sl_txn_desc_t d;

    (void)state;
    c.id_expiration_ms = 10000;
    f = fx_new_cfg(&c, true);
    tt_init(f, 0, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    sl_txn_coord_tick(f->tc, 9999);
    assert_int_equal(f->e->nspend, 0);
    sl_txn_coord_tick(f->tc, 10000);
    assert_int_equal(f->e->nspend, 1);
    assert_null(f->e->rec[f->e->nrec - 1].value); /* tombstone */
    /* While the tombstone is appended the id is busy. */
    tt_init(f, 10000, ID, 1000, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    d = tt_describe(f, ID);
    assert_int_equal(d.error, SL_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    assert_int_equal(sl_txn_coord_next_deadline(f->tc), INT64_MAX);
    /* A new producer starts from scratch with a new id. */
    tt_init(f, 10001, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.pid, 1001);
    assert_int_equal(r.epoch, 0);
    fx_free(f);
}

/* ---- loading, destroy ------------------------------------------------------
 */

static void
test_loading_rejects(void **state)
{
    fx_t *f = fx_new_cfg(NULL, false);
    tt_res_t r;
    sl_txn_list_req_t q;
    sl_txn_list_t out;
    sl_arena_t *a = sl_arena_create(1024, 0);

    (void)state;
    tt_init(f, T0, ID, 1000, -1, -1, &r);
    TT_EXPECT(r, SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    tt_add(f, T0, ID, 1, 0, "t:0", 1, &r);
    TT_EXPECT(r, SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    tt_end(f, T0, ID, 1, 0, true, 1, &r);
    TT_EXPECT(r, SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(tt_describe(f, ID).error,
                     SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    memset(&q, 0, sizeof(q));
    q.duration_ms = -1;
    assert_int_equal(sl_txn_list(f->tc, T0, &q, a, &out),
                     SL_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    sl_txn_coord_load_done(f->tc, T0);
    tt_init(f, T0, ID, 1000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    /* Loading is over: records are refused. */
    assert_int_equal(sl_txn_coord_load(f->tc, f->e->rec[0].key,
                                       f->e->rec[0].key_len, f->e->rec[0].value,
                                       f->e->rec[0].value_len),
                     SL_ERR__INVAL);
    sl_arena_destroy(a);
    fx_free(f);
}

static void
test_destroy_answers_waiters(void **state)
{
    fx_t *f = fx_ready(NULL);
    tt_res_t r, r2;

    (void)state;
    tt_add(f, T0, ID, 1000, 0, "t:0", 1, &r);
    tt_settle(f->e);
    tt_end(f, T0, ID, 1000, 0, true, 1, &r);
    assert_true(tt_store_one(f->e, SL_OK));     /* markers in flight now */
    tt_init(f, T0, "other", 1000, -1, -1, &r2); /* append in flight */
    sl_txn_coord_destroy(f->tc);
    TT_EXPECT(r, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(r2.calls, 0);
    tt_settle(f->e);
    TT_EXPECT(r2, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    assert_int_equal(r.calls, 1);
    tt_env_free(f->e);
    free(f);
}

/* ---- DescribeTransactions, ListTransactions -------------------------------
 */

static int
list_ids(fx_t *f, int64_t now, const char *states, const int64_t *pids,
         int npids, int64_t duration, char *out, size_t cap)
{
    sl_arena_t *a = sl_arena_create(1024, 0);
    sl_str_t st[4];
    char buf[4][32];
    int n = 0, i, j;
    const char *s = states;
    sl_txn_list_req_t q;
    sl_txn_list_t l;
    const char *names[16];

    while (s != NULL && *s != '\0' && n < 4) {
        const char *c = strchr(s, ',');
        size_t len = c != NULL ? (size_t)(c - s) : strlen(s);

        memcpy(buf[n], s, len);
        buf[n][len] = '\0';
        st[n] = S(buf[n]);
        n++;
        s = c != NULL ? c + 1 : NULL;
    }
    memset(&q, 0, sizeof(q));
    q.states = st;
    q.n_states = n;
    q.producer_ids = pids;
    q.n_producer_ids = npids;
    q.duration_ms = duration;
    assert_int_equal(sl_txn_list(f->tc, now, &q, a, &l), SL_OK);
    /* Sorted, for a stable comparison. */
    for (i = 0; i < l.txns_count; i++) {
        names[i] = l.txns[i].transactional_id.ptr;
    }
    for (i = 0; i < l.txns_count; i++) {
        for (j = i + 1; j < l.txns_count; j++) {
            if (strcmp(names[j], names[i]) < 0) {
                const char *x = names[i];
                names[i] = names[j];
                names[j] = x;
            }
        }
    }
    out[0] = '\0';
    for (i = 0; i < l.txns_count; i++) {
        strncat(out, names[i], cap - strlen(out) - 1);
        strncat(out, " ", cap - strlen(out) - 1);
    }
    for (i = 0; i < l.unknown_states_count; i++) {
        strncat(out, "?", cap - strlen(out) - 1);
        strncat(out, l.unknown_states[i].ptr, cap - strlen(out) - 1);
    }
    n = l.txns_count;
    sl_arena_destroy(a);
    return n;
}

static void
test_describe_and_list(void **state)
{
    fx_t *f = fx_new();
    tt_res_t r;
    char out[256];
    int64_t pid;
    sl_txn_desc_t d;

    (void)state;
    tt_init(f, 0, "a", 60000, -1, -1, &r); /* 1000: Empty */
    tt_init(f, 0, "b", 60000, -1, -1, &r); /* 1001: Ongoing from 100 */
    tt_init(f, 0, "c", 60000, -1, -1, &r); /* 1002: Ongoing from 5000 */
    tt_init(f, 0, "d", 60000, -1, -1, &r); /* 1003: CompleteCommit */
    tt_settle(f->e);
    tt_add(f, 100, "b", 1001, 0, "x:1,y:2,x:0", 1, &r);
    tt_add(f, 5000, "c", 1002, 0, "x:1", 1, &r);
    tt_add(f, 5000, "d", 1003, 0, "x:1", 1, &r);
    tt_settle(f->e);
    tt_end(f, 5000, "d", 1003, 0, true, 1, &r);
    tt_settle(f->e);

    d = tt_describe(f, "b");
    assert_int_equal(d.error, SL_OK);
    assert_string_equal(d.transactional_id.ptr, "b");
    assert_string_equal(sl_txn_state_name(d.state), "Ongoing");
    assert_int_equal(d.producer_id, 1001);
    assert_int_equal(d.timeout_ms, 60000);
    assert_int_equal(d.start_ms, 100);
    assert_int_equal(d.topics_count, 2);
    assert_string_equal(d.topics[0].topic.ptr, "x");
    assert_int_equal(d.topics[0].partitions_count, 2);
    assert_string_equal(d.topics[1].topic.ptr, "y");
    assert_int_equal(tt_describe(f, "zz").error,
                     SL_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    assert_int_equal(tt_describe(f, "").error, SL_ERR_INVALID_REQUEST);

    assert_int_equal(list_ids(f, 6000, NULL, NULL, 0, -1, out, sizeof(out)), 4);
    assert_string_equal(out, "a b c d ");
    list_ids(f, 6000, "Ongoing", NULL, 0, -1, out, sizeof(out));
    assert_string_equal(out, "b c ");
    list_ids(f, 6000, "CompleteCommit,Empty", NULL, 0, -1, out, sizeof(out));
    assert_string_equal(out, "a d ");
    list_ids(f, 6000, "Ongoing,Bogus", NULL, 0, -1, out, sizeof(out));
    assert_string_equal(out, "b c ?Bogus");
    list_ids(f, 6000, "ongoing", NULL, 0, -1, out, sizeof(out));
    assert_string_equal(out, "?ongoing");
    pid = 1002;
    list_ids(f, 6000, NULL, &pid, 1, -1, out, sizeof(out));
    assert_string_equal(out, "c ");
    pid = 4242;
    assert_int_equal(list_ids(f, 6000, NULL, &pid, 1, -1, out, sizeof(out)), 0);
    /* Running longer than 2000 ms at 6000: only b (since 100). */
    list_ids(f, 6000, "Ongoing", NULL, 0, 2000, out, sizeof(out));
    assert_string_equal(out, "b ");
    list_ids(f, 6000, "Ongoing", NULL, 0, 0, out, sizeof(out));
    assert_string_equal(out, "b c ");
    list_ids(f, 7001, "Ongoing", NULL, 0, 2000, out, sizeof(out));
    assert_string_equal(out, "b c ");
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_new_id),
        cmocka_unit_test(test_init_idempotent_and_invalid),
        cmocka_unit_test(test_reinit_bumps_epoch),
        cmocka_unit_test(test_init_append_failure),
        cmocka_unit_test(test_init_kip360),
        cmocka_unit_test(test_init_epoch_exhaustion),
        cmocka_unit_test(test_reinit_while_ongoing_fences),
        cmocka_unit_test(test_fence_append_failure),
        cmocka_unit_test(test_add_partitions),
        cmocka_unit_test(test_many_partitions),
        cmocka_unit_test(test_add_offsets_and_verify),
        cmocka_unit_test(test_end_commit_v1),
        cmocka_unit_test(test_end_abort_v1),
        cmocka_unit_test(test_marker_and_complete_retry),
        cmocka_unit_test(test_prepare_append_failure),
        cmocka_unit_test(test_end_not_waiting_markers),
        cmocka_unit_test(test_wire_error_by_version),
        cmocka_unit_test(test_tv2_bump_at_every_end),
        cmocka_unit_test(test_tv2_empty_and_complete_table),
        cmocka_unit_test(test_tv2_delayed_end_rejected),
        cmocka_unit_test(test_tv2_epoch_overflow),
        cmocka_unit_test(test_timeout_aborts),
        cmocka_unit_test(test_timer_failures_back_off),
        cmocka_unit_test(test_id_expiry),
        cmocka_unit_test(test_loading_rejects),
        cmocka_unit_test(test_destroy_answers_waiters),
        cmocka_unit_test(test_describe_and_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
