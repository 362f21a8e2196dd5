/* Unit tests of the transaction coordinator's __transaction_state records
 * (txn/records.c) and of recovery: Kafka's byte layout for keys and values
 * (v0 and v1 with tagged fields), rebuilding state from a log stopped after
 * each record of a transaction (Empty, Ongoing, PrepareCommit,
 * PrepareAbort, CompleteCommit, CompleteAbort, tombstones), finishing the
 * Prepare* ones on load, and hostile bytes. */
#include "txn_test_util.h"

#define ID "tx-1"
#define T0 1000000

static void
put16(uint8_t *p, int16_t v)
{
    p[0] = (uint8_t)((uint16_t)v >> 8);
    p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, int32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)((uint32_t)v >> (24 - 8 * i));
    }
}

static void
put64(uint8_t *p, int64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    }
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
    m.start_ts = -1;
    m.update_ts = T0;
    m.client_tv = tv;
    return m;
}

/* ---- byte layout ------------------------------------------------------------
 */

static void
test_key_and_v0_value_bytes(void **state)
{
    sl_tmeta_t m = meta(1000, 3, SL_TXN_STATE_EMPTY, 0);
    uint8_t *k, *v;
    size_t kl, vl;
    uint8_t want[2 + 8 + 2 + 4 + 1 + 4 + 8 + 8];
    const uint8_t want_key[] = {0, 0, 0, 4, 't', 'x', '-', '1'};

    (void)state;
    assert_int_equal(sl_txn_record_encode(S(ID), &m, 0, &k, &kl, &v, &vl),
                     SL_OK);
    assert_int_equal(kl, sizeof(want_key));
    assert_memory_equal(k, want_key, kl);
    put16(want, 0);
    put64(want + 2, 1000);
    put16(want + 10, 3);
    put32(want + 12, 60000);
    want[16] = 0;         /* Empty */
    put32(want + 17, -1); /* partitions: null */
    put64(want + 21, T0);
    put64(want + 29, -1);
    assert_int_equal(vl, sizeof(want));
    assert_memory_equal(v, want, vl);
    free(k);
    free(v);
    /* Tombstone: key only. */
    assert_int_equal(sl_txn_record_encode(S(ID), NULL, 1, &k, &kl, &v, &vl),
                     SL_OK);
    assert_null(v);
    assert_memory_equal(k, want_key, kl);
    free(k);
}

static void
test_v1_value_bytes(void **state)
{
    sl_tmeta_t m = meta(1000, 3, SL_TXN_STATE_ONGOING, 2);
    uint8_t *k, *v;
    size_t kl, vl;
    uint8_t want[64];
    size_t n = 0;

    (void)state;
    m.prev_producer_id = 999;
    m.start_ts = T0 - 5;
    assert_int_equal(sl_tmeta_add_part(&m, S("ab"), 7), SL_OK);
    assert_int_equal(sl_txn_record_encode(S(ID), &m, 1, &k, &kl, &v, &vl),
                     SL_OK);
    put16(want, 1);
    put64(want + 2, 1000);
    put16(want + 10, 3);
    put32(want + 12, 60000);
    want[16] = 1; /* Ongoing */
    want[17] = 2; /* compact array: 1 topic */
    want[18] = 3; /* compact string "ab" */
    want[19] = 'a';
    want[20] = 'b';
    want[21] = 2; /* 1 partition id */
    put32(want + 22, 7);
    want[26] = 0; /* the topic's tagged fields */
    put64(want + 27, T0);
    put64(want + 35, T0 - 5);
    n = 43;
    want[n++] = 2; /* tagged fields: previous_producer_id and client tv */
    want[n++] = 0;
    want[n++] = 8;
    put64(want + n, 999);
    n += 8;
    want[n++] = 2;
    want[n++] = 2;
    put16(want + n, 2);
    n += 2;
    assert_int_equal(vl, n);
    assert_memory_equal(v, want, n);
    sl_tmeta_clear(&m);
    free(k);
    free(v);
}

static void
test_round_trip(void **state)
{
    sl_tmeta_t m = meta(5, 9, SL_TXN_STATE_PREPARE_COMMIT, 2), d;
    sl_arena_t *a = sl_arena_create(1024, 0);
    uint8_t *k, *v;
    size_t kl, vl;
    sl_str_t id;
    bool tomb;

    (void)state;
    m.next_producer_id = 77;
    m.start_ts = 123;
    sl_tmeta_add_part(&m, S("x"), 1);
    sl_tmeta_add_part(&m, S("y"), 0);
    sl_tmeta_add_part(&m, S("x"), 0);
    for (int16_t ver = 0; ver <= 1; ver++) {
        assert_int_equal(sl_txn_record_encode(S(ID), &m, ver, &k, &kl, &v, &vl),
                         SL_OK);
        assert_int_equal(sl_txn_record_decode(a, k, kl, v, vl, &id, &tomb, &d),
                         SL_OK);
        assert_false(tomb);
        assert_int_equal(id.len, 4);
        assert_int_equal(d.producer_id, 5);
        assert_int_equal(d.producer_epoch, 9);
        assert_int_equal(d.state, SL_TXN_STATE_PREPARE_COMMIT);
        assert_int_equal(d.start_ts, 123);
        assert_int_equal(d.parts_count, 3);
        assert_true(sl_tmeta_has_part(&d, S("x"), 0));
        assert_true(sl_tmeta_has_part(&d, S("x"), 1));
        assert_true(sl_tmeta_has_part(&d, S("y"), 0));
        /* v0 has no tagged fields. */
        assert_int_equal(d.next_producer_id, ver == 1 ? 77 : -1);
        assert_int_equal(d.client_tv, ver == 1 ? 2 : 0);
        sl_tmeta_clear(&d);
        free(k);
        free(v);
    }
    sl_tmeta_clear(&m);
    sl_arena_destroy(a);
}

/* ---- recovery -------------------------------------------------------------
 */

/* Copy of the records of one scenario. */
typedef struct tt_log_s {
    tt_record_t rec[64];
    int n;
} tt_log_t;

static void
log_take(tt_log_t *l, fx_t *f)
{
    l->n = f->e->nrec;
    for (int i = 0; i < l->n; i++) {
        tt_record_t *r = &f->e->rec[i];

        l->rec[i] = *r;
        l->rec[i].key = malloc(r->key_len);
        memcpy(l->rec[i].key, r->key, r->key_len);
        if (r->value != NULL) {
            l->rec[i].value = malloc(r->value_len);
            memcpy(l->rec[i].value, r->value, r->value_len);
        }
    }
}

static void
log_free(tt_log_t *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->rec[i].key);
        free(l->rec[i].value);
    }
}

/* A coordinator rebuilt from the first <k> records, loading done. */
static fx_t *
restore(const sl_txn_config_t *cfg, const tt_log_t *l, int k)
{
    fx_t *f = fx_new_cfg(cfg, false);

    f->e->next_pid = 5000;
    for (int i = 0; i < k; i++) {
        assert_int_equal(sl_txn_coord_load(f->tc, l->rec[i].key,
                                           l->rec[i].key_len, l->rec[i].value,
                                           l->rec[i].value_len),
                         SL_OK);
    }
    sl_txn_coord_load_done(f->tc, T0 + 100);
    return f;
}

/* Run init, add t:0 and t:1, add offsets, end(commit) with <tv>; the log
 * has: Empty, Ongoing, Ongoing, Prepare*, Complete*. */
static void
scenario(int16_t tv, bool commit, tt_log_t *l)
{
    sl_txn_config_t c;
    fx_t *f;
    tt_res_t r;

    sl_txn_config_defaults(&c);
    c.transaction_version = tv;
    f = fx_new_cfg(&c, true);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    tt_add(f, T0 + 1, ID, 1000, 0, "t:0,t:1", tv, &r);
    tt_settle(f->e);
    memset(&r, 0, sizeof(r));
    sl_txn_add_offsets(f->tc, T0 + 2, S(ID), 1000, 0, S("g"), tv, tt_cb, &r);
    tt_settle(f->e);
    tt_end(f, T0 + 3, ID, 1000, 0, commit, tv, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(f->e->nrec, 5);
    log_take(l, f);
    fx_free(f);
}

static void
recover_case(int16_t tv, bool commit)
{
    sl_txn_config_t c;
    tt_log_t l;
    fx_t *f;
    tt_res_t r;
    sl_txn_desc_t d;
    int16_t end_epoch = tv >= 2 ? 1 : 0;
    sl_txn_state_e done_state =
        commit ? SL_TXN_STATE_COMPLETE_COMMIT : SL_TXN_STATE_COMPLETE_ABORT;
    char parts[128];

    sl_txn_config_defaults(&c);
    c.transaction_version = tv;
    scenario(tv, commit, &l);
    /* Partitions are kept sorted: '_' sorts before 't'. */
    snprintf(parts, sizeof(parts), "__consumer_offsets:%d,t:0,t:1",
             sl_txn_partition_for(S("g"), 50));

    /* Stopped after Empty: the producer can go on. */
    f = restore(&c, &l, 1);
    d = tt_describe(f, ID);
    assert_int_equal(d.state, SL_TXN_STATE_EMPTY);
    assert_int_equal(d.producer_id, 1000);
    assert_int_equal(d.producer_epoch, 0);
    tt_add(f, T0 + 200, ID, 1000, 0, "t:0", tv, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    fx_free(f);

    /* Stopped in Ongoing: nothing to finish; the timeout aborts it. */
    for (int k = 2; k <= 3; k++) {
        f = restore(&c, &l, k);
        d = tt_describe(f, ID);
        assert_int_equal(d.state, SL_TXN_STATE_ONGOING);
        assert_int_equal(d.start_ms, T0 + 1);
        assert_int_equal(f->e->nmk, 0);
        assert_int_equal(sl_txn_coord_next_deadline(f->tc), T0 + 1 + 60000 + 1);
        sl_txn_coord_tick(f->tc, T0 + 1 + 60000 + 1);
        tt_settle(f->e);
        assert_int_equal(f->e->nmk, 1);
        assert_false(f->e->mk[0].commit);
        assert_string_equal(f->e->mk[0].parts, k == 2 ? "t:0,t:1" : parts);
        assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
        fx_free(f);
    }

    /* Stopped in Prepare*: the markers are written again on load, then
     * Complete* is logged. */
    f = restore(&c, &l, 4);
    assert_int_equal(f->e->nmk, 1);
    assert_int_equal(f->e->mk[0].commit, commit);
    assert_int_equal(f->e->mk[0].pid, 1000);
    assert_int_equal(f->e->mk[0].epoch, end_epoch);
    assert_string_equal(f->e->mk[0].parts, parts);
    /* The client's retry meanwhile: wait. */
    tt_end(f, T0 + 200, ID, 1000, 0, commit, tv, &r);
    TT_EXPECT(r, SL_ERR_CONCURRENT_TRANSACTIONS);
    tt_settle(f->e);
    assert_int_equal(f->e->ncomplete, 1);
    assert_int_equal(f->e->last_complete_commit, commit);
    assert_int_equal(f->e->nrec, 1);
    d = tt_describe(f, ID);
    assert_int_equal(d.state, done_state);
    assert_int_equal(d.producer_epoch, end_epoch);
    assert_int_equal(d.topics_count, 0);
    /* The retried EndTxn now gets NONE. */
    tt_end(f, T0 + 300, ID, 1000, 0, commit, tv, &r);
    TT_EXPECT(r, SL_OK);
    fx_free(f);

    /* Stopped after Complete*: nothing to do. */
    f = restore(&c, &l, 5);
    assert_int_equal(f->e->nmk, 0);
    assert_int_equal(f->e->nrec, 0);
    assert_int_equal(tt_state(f, ID), done_state);
    tt_init(f, T0 + 400, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    TT_EXPECT(r, SL_OK);
    assert_int_equal(r.epoch, end_epoch + 1);
    fx_free(f);
    log_free(&l);
}

static void
test_recover_each_state(void **state)
{
    (void)state;
    recover_case(1, true);
    recover_case(1, false);
    recover_case(2, true);
    recover_case(2, false);
}

/* A fence abort (InitProducerId over an open transaction) stopped after
 * its PrepareAbort: completed on load with the fenced epoch. */
static void
test_recover_fence(void **state)
{
    sl_txn_config_t c;
    tt_log_t l;
    fx_t *f;
    tt_res_t r;

    (void)state;
    sl_txn_config_defaults(&c);
    c.transaction_version = 1;
    f = fx_new_cfg(&c, true);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    tt_settle(f->e);
    tt_add(f, T0, ID, 1000, 0, "t:3", 1, &r);
    tt_settle(f->e);
    tt_init(f, T0, ID, 60000, -1, -1, &r);
    assert_true(tt_store_one(f->e, SL_OK));
    log_take(&l, f);
    fx_free(f);
    assert_int_equal(l.n, 3);
    f = restore(&c, &l, 3);
    assert_int_equal(f->e->nmk, 1);
    assert_false(f->e->mk[0].commit);
    assert_int_equal(f->e->mk[0].epoch, 1);
    tt_settle(f->e);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_COMPLETE_ABORT);
    tt_add(f, T0, ID, 1000, 0, "t:3", 1, &r);
    TT_EXPECT(r, SL_ERR_PRODUCER_FENCED);
    fx_free(f);
    log_free(&l);
}

static void
test_recover_tombstone_and_override(void **state)
{
    fx_t *f = fx_new_cfg(NULL, false);
    sl_tmeta_t m1 = meta(10, 0, SL_TXN_STATE_EMPTY, 0);
    sl_tmeta_t m2 = meta(10, 4, SL_TXN_STATE_COMPLETE_ABORT, 0);
    uint8_t *k, *v;
    size_t kl, vl;

    (void)state;
    m2.start_ts = T0;
    sl_txn_record_encode(S("a"), &m1, 0, &k, &kl, &v, &vl);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, vl), SL_OK);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, NULL, 0), SL_OK);
    free(k);
    free(v);
    sl_txn_record_encode(S("b"), &m1, 1, &k, &kl, &v, &vl);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, vl), SL_OK);
    free(k);
    free(v);
    sl_txn_record_encode(S("b"), &m2, 1, &k, &kl, &v, &vl);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, vl), SL_OK);
    free(k);
    free(v);
    sl_txn_coord_load_done(f->tc, T0);
    assert_int_equal(tt_describe(f, "a").error,
                     SL_ERR_TRANSACTIONAL_ID_NOT_FOUND);
    assert_int_equal(tt_state(f, "b"), SL_TXN_STATE_COMPLETE_ABORT);
    assert_int_equal(tt_describe(f, "b").producer_epoch, 4);
    fx_free(f);
}

/* ---- hostile bytes ---------------------------------------------------------
 */

static void
test_hostile_records(void **state)
{
    fx_t *f = fx_new_cfg(NULL, false);
    sl_tmeta_t m = meta(10, 0, SL_TXN_STATE_ONGOING, 2);
    uint8_t *k, *v, *buf;
    size_t kl, vl;
    uint64_t seed = 0x1234567;
    sl_err_t err;
    const uint8_t key_v1[] = {0, 1, 0, 1, 'a'};
    const uint8_t key_empty[] = {0, 0, 0, 0};
    const uint8_t key_short[] = {0};

    (void)state;
    m.start_ts = T0;
    sl_tmeta_add_part(&m, S("topic"), 1);
    sl_tmeta_add_part(&m, S("topic"), 2);
    assert_int_equal(sl_txn_record_encode(S(ID), &m, 1, &k, &kl, &v, &vl),
                     SL_OK);
    /* Every truncation of the value is refused, state unchanged. */
    for (size_t n = 0; n < vl; n++) {
        assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, n),
                         SL_ERR__CORRUPT);
    }
    for (size_t n = 0; n < kl; n++) {
        err = sl_txn_coord_load(f->tc, k, n, v, vl);
        assert_true(err == SL_ERR__CORRUPT);
    }
    assert_int_equal(sl_txn_coord_load(f->tc, key_v1, sizeof(key_v1), v, vl),
                     SL_ERR__UNSUPPORTED);
    assert_int_equal(
        sl_txn_coord_load(f->tc, key_empty, sizeof(key_empty), v, vl),
        SL_ERR__CORRUPT);
    assert_int_equal(
        sl_txn_coord_load(f->tc, key_short, sizeof(key_short), v, vl),
        SL_ERR__CORRUPT);
    /* A status that is no state; an absurd array length. */
    buf = malloc(vl);
    memcpy(buf, v, vl);
    buf[16] = 9;
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, buf, vl), SL_ERR__CORRUPT);
    memcpy(buf, v, vl);
    put16(buf, 0);
    put32(buf + 17, 0x7fffffff);
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, buf, vl), SL_ERR__CORRUPT);
    memcpy(buf, v, vl);
    put16(buf + 10, -3); /* a negative epoch */
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, buf, vl), SL_ERR__CORRUPT);
    memcpy(buf, v, vl);
    put16(buf, 7); /* unknown value version */
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, buf, vl), SL_ERR__CORRUPT);
    /* Random corruption: never a crash; whatever loads is consistent. */
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, v, vl);
        for (int j = 0; j < 3; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[(seed >> 33) % vl] = (uint8_t)(seed >> 17);
        }
        err = sl_txn_coord_load(f->tc, k, kl, buf, vl);
        assert_true(err == SL_OK || err == SL_ERR__CORRUPT);
    }
    assert_int_equal(sl_txn_coord_load(f->tc, k, kl, v, vl), SL_OK);
    sl_txn_coord_load_done(f->tc, T0);
    assert_int_equal(tt_state(f, ID), SL_TXN_STATE_ONGOING);
    assert_int_equal(tt_describe(f, ID).topics[0].partitions_count, 2);
    free(buf);
    free(k);
    free(v);
    sl_tmeta_clear(&m);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_and_v0_value_bytes),
        cmocka_unit_test(test_v1_value_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_recover_each_state),
        cmocka_unit_test(test_recover_fence),
        cmocka_unit_test(test_recover_tombstone_and_override),
        cmocka_unit_test(test_hostile_records),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
