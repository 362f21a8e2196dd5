/* Randomised simulation of the transaction coordinator: two clients per
 * transactional id (a live producer and a zombie), TV1 and TV2 clients,
 * random InitProducerId / AddPartitions / EndTxn, clock jumps that time
 * transactions out, store appends and marker writes that complete late or
 * fail. Invariants checked throughout:
 *  - every request is answered exactly once;
 *  - markers are written only for a durable Prepare* record, with its
 *    outcome and its partitions;
 *  - an EndTxn answered OK has its Complete* record durable;
 *  - per transactional id, a durable (producer id, epoch) never goes back;
 *  - a coordinator rebuilt from the durable records agrees with the live
 *    one. */
#include "txn_test_util.h"

#define NIDS 3
#define NCLIENTS (2 * NIDS)

static const char *const ids[NIDS] = {"sim-a", "sim-b", "sim-c"};

typedef struct client_s {
    int id; /* index in ids[] */
    int64_t pid;
    int16_t epoch;
    int16_t tv;
} client_t;

typedef struct req_s {
    struct req_s *next;
    struct sim_s *sim;
    client_t *c;
    int kind; /* 0 init, 1 add, 2 end */
    bool commit;
    int calls;
} req_t;

typedef struct sim_s {
    fx_t *f;
    uint64_t seed;
    int64_t now;
    client_t cl[NCLIENTS];
    req_t *reqs;
    bool have[NIDS]; /* durable metadata known */
    sl_tmeta_t durable[NIDS];
    int ok_recs[TT_MAX]; /* indices of records acknowledged OK */
    int nok;
    int mk_seen;
} sim_t;

static uint32_t
rnd(sim_t *s, uint32_t n)
{
    s->seed = s->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(s->seed >> 33) % n;
}

static int
id_index(sl_str_t id)
{
    for (int i = 0; i < NIDS; i++) {
        if ((size_t)id.len == strlen(ids[i]) &&
            memcmp(id.ptr, ids[i], (size_t)id.len) == 0) {
            return i;
        }
    }
    fail_msg("unknown id");
    return -1;
}

/* A record became durable: remember it and check epochs never go back. */
static void
sim_durable(sim_t *s, int rec)
{
    tt_record_t *r = &s->f->e->rec[rec];
    sl_arena_t *a = sl_arena_create(1024, 0);
    sl_tmeta_t m;
    sl_str_t id;
    bool tomb;
    int i;

    assert_int_equal(sl_txn_record_decode(a, r->key, r->key_len, r->value,
                                          r->value_len, &id, &tomb, &m),
                     SL_OK);
    i = id_index(id);
    if (tomb) {
        if (s->have[i]) {
            sl_tmeta_clear(&s->durable[i]);
        }
        s->have[i] = false;
    } else {
        if (s->have[i] && s->durable[i].producer_id == m.producer_id) {
            assert_true(m.producer_epoch >= s->durable[i].producer_epoch);
        }
        if (s->have[i]) {
            sl_tmeta_clear(&s->durable[i]);
        }
        s->durable[i] = m;
        s->have[i] = true;
    }
    s->ok_recs[s->nok++] = rec;
    sl_arena_destroy(a);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "b:1,a:0" -> "a:0,b:1" in place: partition lists compared as sets. */
static void
sort_list(char *list)
{
    char copy[256], *items[64], *tok, *save = NULL;
    int n = 0;
    size_t off = 0;

    snprintf(copy, sizeof(copy), "%s", list);
    for (tok = strtok_r(copy, ",", &save); tok != NULL && n < 64;
         tok = strtok_r(NULL, ",", &save)) {
        items[n++] = tok;
    }
    qsort(items, (size_t)n, sizeof(items[0]), cmp_str);
    list[0] = '\0';
    for (int i = 0; i < n; i++) {
        off += (size_t)snprintf(list + off, 256 - off, "%s%s", i > 0 ? "," : "",
                                items[i]);
    }
}

static void
sim_check_markers(sim_t *s)
{
    tt_env_t *e = s->f->e;

    for (; s->mk_seen < e->nmk; s->mk_seen++) {
        tt_marker_t *mk = &e->mk[s->mk_seen];
        char parts[256];
        size_t off = 0;
        int i, found = -1;

        for (i = 0; i < NIDS; i++) {
            if (s->have[i] && s->durable[i].producer_id == mk->pid &&
                (s->durable[i].state == SL_TXN_STATE_PREPARE_COMMIT ||
                 s->durable[i].state == SL_TXN_STATE_PREPARE_ABORT)) {
                found = i;
            }
        }
        assert_true(found >= 0);
        assert_int_equal(mk->epoch, s->durable[found].producer_epoch);
        assert_int_equal(mk->commit, s->durable[found].state ==
                                         SL_TXN_STATE_PREPARE_COMMIT);
        parts[0] = '\0';
        for (i = 0; i < s->durable[found].parts_count; i++) {
            off += (size_t)snprintf(parts + off, sizeof(parts) - off, "%s%s:%d",
                                    i > 0 ? "," : "",
                                    s->durable[found].parts[i].topic,
                                    s->durable[found].parts[i].partition);
        }
        sort_list(parts);
        sort_list(mk->parts);
        assert_string_equal(mk->parts, parts);
    }
}

static void
sim_cb(void *arg, sl_err_t err, int64_t pid, int16_t epoch)
{
    req_t *q = arg;
    sim_t *s = q->sim;
    int i = q->c->id;

    q->calls++;
    if (err != SL_OK) {
        return;
    }
    if (q->kind == 0 || (q->kind == 2 && q->c->tv >= 2)) {
        q->c->pid = pid;
        q->c->epoch = epoch;
    }
    if (q->kind == 2) {
        /* Answered OK only once the outcome is durable. */
        assert_true(s->have[i]);
        assert_int_equal(s->durable[i].state,
                         q->commit ? SL_TXN_STATE_COMPLETE_COMMIT
                                   : SL_TXN_STATE_COMPLETE_ABORT);
    }
}

static req_t *
sim_req(sim_t *s, client_t *c, int kind)
{
    req_t *q = calloc(1, sizeof(*q));

    q->sim = s;
    q->c = c;
    q->kind = kind;
    q->next = s->reqs;
    s->reqs = q;
    return q;
}

static bool
sim_store(sim_t *s, sl_err_t err)
{
    tt_env_t *e = s->f->e;

    if (e->nspend == 0) {
        return false;
    }
    if (err == SL_OK) {
        sim_durable(s, e->spend[0].rec);
    }
    return tt_store_one(e, err);
}

/* Compare the live coordinator with one rebuilt from durable records. */
static void
sim_restart_check(sim_t *s)
{
    fx_t *g = fx_new_cfg(&s->f->cfg, false);
    tt_env_t *e = s->f->e;

    for (int k = 0; k < s->nok; k++) {
        tt_record_t *r = &e->rec[s->ok_recs[k]];

        assert_int_equal(sl_txn_coord_load(g->tc, r->key, r->key_len, r->value,
                                           r->value_len),
                         SL_OK);
    }
    sl_txn_coord_load_done(g->tc, s->now);
    for (int i = 0; i < NIDS; i++) {
        sl_arena_t *a = sl_arena_create(1024, 0);
        sl_txn_desc_t x, y;
        sl_txn_t *t = sl_txn_find(s->f->tc, S(ids[i]));

        sl_txn_describe(s->f->tc, S(ids[i]), a, &x);
        sl_txn_describe(g->tc, S(ids[i]), a, &y);
        /* A never-logged id (its first record failed) is not rebuilt. */
        if (!s->have[i]) {
            assert_int_equal(y.error, SL_ERR_TRANSACTIONAL_ID_NOT_FOUND);
            sl_arena_destroy(a);
            continue;
        }
        assert_int_equal(x.error, SL_OK);
        assert_int_equal(y.error, SL_OK);
        assert_int_equal(x.state, y.state);
        assert_int_equal(x.producer_id, y.producer_id);
        assert_int_equal(x.timeout_ms, y.timeout_ms);
        assert_int_equal(x.start_ms, y.start_ms);
        assert_int_equal(x.topics_count, y.topics_count);
        /* A fence moves the live epoch before it is logged. */
        if (t != NULL && !t->failed_fence && !t->pending) {
            assert_int_equal(x.producer_epoch, y.producer_epoch);
        }
        sl_arena_destroy(a);
    }
    sl_txn_coord_destroy(g->tc);
    tt_settle(g->e);
    tt_env_free(g->e);
    free(g);
}

static void
sim_step(sim_t *s)
{
    client_t *c = &s->cl[rnd(s, NCLIENTS)];
    tt_env_t *e = s->f->e;
    uint32_t what = rnd(s, 100);
    req_t *q;

    if (what < 12) {
        sl_txn_init_req_t r;

        q = sim_req(s, c, 0);
        r.transactional_id = S(ids[c->id]);
        r.timeout_ms = 3000;
        r.producer_id = -1;
        r.producer_epoch = -1;
        if (c->pid >= 0 && rnd(s, 2) == 0) {
            r.producer_id = c->pid;
            r.producer_epoch = c->epoch;
        }
        sl_txn_init_producer_id(s->f->tc, s->now, &r, sim_cb, q);
    } else if (what < 35) {
        sl_txn_tp_t tp[2];
        sl_txn_add_req_t r;
        int n = 1 + (int)rnd(s, 2);

        q = sim_req(s, c, 1);
        for (int i = 0; i < n; i++) {
            tp[i].topic = S(rnd(s, 2) ? "t" : "u");
            tp[i].partition = (int32_t)rnd(s, 3);
        }
        memset(&r, 0, sizeof(r));
        r.transactional_id = S(ids[c->id]);
        r.producer_id = c->pid;
        r.producer_epoch = c->epoch;
        r.parts = tp;
        r.parts_count = n;
        r.client_tv = c->tv;
        sl_txn_add_partitions(s->f->tc, s->now, &r, sim_cb, q);
    } else if (what < 50) {
        sl_txn_end_req_t r;

        q = sim_req(s, c, 2);
        q->commit = rnd(s, 3) != 0;
        r.transactional_id = S(ids[c->id]);
        r.producer_id = c->pid;
        r.producer_epoch = c->epoch;
        r.commit = q->commit;
        r.client_tv = c->tv;
        sl_txn_end(s->f->tc, s->now, &r, sim_cb, q);
    } else if (what < 58) {
        s->now += rnd(s, 2500);
        sl_txn_coord_tick(s->f->tc, s->now);
    } else if (what < 82) {
        sim_store(s, rnd(s, 8) == 0 ? SL_ERR_NOT_ENOUGH_REPLICAS : SL_OK);
    } else if (what < 98) {
        tt_markers_one(e,
                       rnd(s, 6) == 0 ? SL_ERR_NOT_LEADER_OR_FOLLOWER : SL_OK);
    } else {
        /* Only durable transitions are current, so a restart agrees with
         * the live coordinator even with appends and markers in flight. */
        sim_restart_check(s);
    }
    sim_check_markers(s);
}

static void
sim_run(uint64_t seed, int steps, int16_t server_tv)
{
    sim_t s;
    sl_txn_config_t cfg;
    req_t *q;

    memset(&s, 0, sizeof(s));
    s.seed = seed;
    s.now = 1000;
    sl_txn_config_defaults(&cfg);
    cfg.transaction_version = server_tv;
    cfg.id_expiration_ms = 20000;
    s.f = fx_new_cfg(&cfg, true);
    for (int i = 0; i < NCLIENTS; i++) {
        s.cl[i].id = i % NIDS;
        s.cl[i].pid = -1;
        s.cl[i].epoch = -1;
        s.cl[i].tv = server_tv >= 2 && (i / NIDS) == 0 ? 2 : 1;
    }
    for (int i = 0;
         i < steps && s.f->e->nrec < TT_MAX - 16 && s.f->e->nmk < TT_MAX - 16;
         i++) {
        sim_step(&s);
    }
    /* Drain: everything completes, timers fire, nothing stays open. */
    for (int round = 0; round < 50; round++) {
        while (sim_store(&s, SL_OK) || tt_markers_one(s.f->e, SL_OK)) {
            sim_check_markers(&s);
        }
        s.now += 1000;
        sl_txn_coord_tick(s.f->tc, s.now);
    }
    sim_check_markers(&s);
    for (int i = 0; i < NIDS; i++) {
        sl_arena_t *a = sl_arena_create(1024, 0);
        sl_txn_desc_t d;

        sl_txn_describe(s.f->tc, S(ids[i]), a, &d);
        assert_true(d.error == SL_ERR_TRANSACTIONAL_ID_NOT_FOUND ||
                    d.state == SL_TXN_STATE_EMPTY ||
                    d.state == SL_TXN_STATE_COMPLETE_COMMIT ||
                    d.state == SL_TXN_STATE_COMPLETE_ABORT);
        sl_arena_destroy(a);
    }
    sim_restart_check(&s);
    sl_txn_coord_destroy(s.f->tc);
    tt_settle(s.f->e);
    while ((q = s.reqs) != NULL) {
        assert_int_equal(q->calls, 1);
        s.reqs = q->next;
        free(q);
    }
    for (int i = 0; i < NIDS; i++) {
        if (s.have[i]) {
            sl_tmeta_clear(&s.durable[i]);
        }
    }
    tt_env_free(s.f->e);
    free(s.f);
}

static void
test_sim_tv2(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        sim_run(seed, 2500, 2);
    }
}

static void
test_sim_tv1(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed <= 112; seed++) {
        sim_run(seed, 2500, 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_tv2),
        cmocka_unit_test(test_sim_tv1),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
