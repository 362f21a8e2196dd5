/* The transaction coordinator under real threads: producer threads run
 * transactions on their own ids while a store thread and a marker thread
 * complete appends and marker writes asynchronously (the contract says
 * <done> may run later from any thread), and a third thread ticks, describes
 * and lists. Checks that every transaction commits, that each TV2 end bumped
 * the epoch once, and that every commit wrote its markers. Run it under
 * ASan/TSan to check the locking. */
#include <pthread.h>

#include "txn_test_util.h"

#define NPROD 4
#define ROUNDS 150

typedef struct aq_s {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    tt_pend_t q[TT_MAX];
    int n;
    bool stop;
    int writes;
} aq_t;

typedef struct prod_s {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    sl_err_t err;
    int64_t pid;
    int16_t epoch;
} prod_t;

static sl_txn_coord_t *coord;
static int failures; /* cmocka asserts only on the main thread */

#define TH_CHECK(c)                                                            \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);            \
            __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);                \
        }                                                                      \
    } while (0)
static aq_t store_q, marker_q;
static int64_t next_pid = 1;
static pthread_mutex_t pid_mu = PTHREAD_MUTEX_INITIALIZER;

static void
aq_push(aq_t *q, sl_txn_done_cb done, void *arg)
{
    pthread_mutex_lock(&q->mu);
    if (q->n >= TT_MAX) {
        abort();
    }
    q->q[q->n].done = done;
    q->q[q->n].arg = arg;
    q->n++;
    q->writes++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void *
aq_run(void *arg)
{
    aq_t *q = arg;
    tt_pend_t p;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->n == 0 && !q->stop) {
            pthread_cond_wait(&q->cv, &q->mu);
        }
        if (q->n == 0) {
            break;
        }
        p = q->q[0];
        memmove(&q->q[0], &q->q[1], (size_t)(q->n - 1) * sizeof(p));
        q->n--;
        pthread_mutex_unlock(&q->mu);
        p.done(p.arg, SL_OK);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

static void
th_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
          const uint8_t *value, size_t value_len, sl_txn_done_cb done,
          void *done_arg)
{
    (void)ctx;
    (void)partition;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    aq_push(&store_q, done, done_arg);
}

static void
th_write(void *ctx, int64_t pid, int16_t epoch, bool commit,
         int32_t coordinator_epoch, const sl_txn_tp_t *parts, int32_t n,
         sl_txn_done_cb done, void *done_arg)
{
    (void)ctx;
    (void)pid;
    (void)epoch;
    (void)coordinator_epoch;
    (void)parts;
    TH_CHECK(commit);
    TH_CHECK(n == 2);
    aq_push(&marker_q, done, done_arg);
}

static sl_err_t
th_pid(void *ctx, int64_t *out)
{
    (void)ctx;
    pthread_mutex_lock(&pid_mu);
    *out = next_pid++;
    pthread_mutex_unlock(&pid_mu);
    return SL_OK;
}

static void
prod_cb(void *arg, sl_err_t err, int64_t pid, int16_t epoch)
{
    prod_t *p = arg;

    pthread_mutex_lock(&p->mu);
    p->done = true;
    p->err = err;
    p->pid = pid;
    p->epoch = epoch;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static sl_err_t
prod_wait(prod_t *p)
{
    pthread_mutex_lock(&p->mu);
    while (!p->done) {
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->done = false;
    pthread_mutex_unlock(&p->mu);
    return p->err;
}

static void *
prod_run(void *arg)
{
    long k = (long)arg;
    prod_t p;
    char id[16];
    sl_txn_init_req_t iq;
    sl_txn_tp_t tp[2] = {{{"t", 1}, 0}, {{"u", 1}, 0}};
    int64_t pid;
    int16_t epoch;
    int i;

    memset(&p, 0, sizeof(p));
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    snprintf(id, sizeof(id), "th-%ld", k);
    tp[0].partition = tp[1].partition = (int32_t)k;
    iq.transactional_id = S(id);
    iq.timeout_ms = 600000;
    iq.producer_id = -1;
    iq.producer_epoch = -1;
    sl_txn_init_producer_id(coord, 1, &iq, prod_cb, &p);
    TH_CHECK(prod_wait(&p) == SL_OK);
    pid = p.pid;
    epoch = p.epoch;
    for (i = 0; i < ROUNDS; i++) {
        sl_txn_add_req_t aq = {S(id), pid, epoch, tp, 2, 2};
        sl_txn_end_req_t eq = {S(id), pid, epoch, true, 2};

        sl_txn_add_partitions(coord, 2, &aq, prod_cb, &p);
        TH_CHECK(prod_wait(&p) == SL_OK);
        sl_txn_end(coord, 3, &eq, prod_cb, &p);
        TH_CHECK(prod_wait(&p) == SL_OK);
        TH_CHECK(p.pid == pid);
        TH_CHECK(p.epoch == epoch + 1);
        epoch = p.epoch;
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    return NULL;
}

static bool ticking = true;

static void *
tick_run(void *arg)
{
    int64_t now = 4;
    sl_txn_list_req_t lq;

    (void)arg;
    memset(&lq, 0, sizeof(lq));
    lq.duration_ms = -1;
    while (__atomic_load_n(&ticking, __ATOMIC_SEQ_CST)) {
        sl_arena_t *a = sl_arena_create(1024, 0);
        sl_txn_desc_t d;
        sl_txn_list_t l;

        sl_txn_coord_tick(coord, now++);
        (void)sl_txn_coord_next_deadline(coord);
        (void)sl_txn_describe(coord, S("th-0"), a, &d);
        TH_CHECK(sl_txn_list(coord, now, &lq, a, &l) == SL_OK);
        sl_arena_destroy(a);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    sl_txn_store_t st = {NULL, th_append};
    sl_txn_markers_t mk = {NULL, th_write, NULL};
    sl_txn_pid_source_t ps = {NULL, th_pid};
    pthread_t prod[NPROD], sq, mq, tk;
    sl_arena_t *a;
    sl_txn_desc_t d;
    char id[16];
    long k;

    (void)state;
    pthread_mutex_init(&store_q.mu, NULL);
    pthread_cond_init(&store_q.cv, NULL);
    pthread_mutex_init(&marker_q.mu, NULL);
    pthread_cond_init(&marker_q.cv, NULL);
    coord = sl_txn_coord_create(NULL, &st, &mk, &ps);
    assert_non_null(coord);
    sl_txn_coord_load_done(coord, 0);
    pthread_create(&sq, NULL, aq_run, &store_q);
    pthread_create(&mq, NULL, aq_run, &marker_q);
    pthread_create(&tk, NULL, tick_run, NULL);
    for (k = 0; k < NPROD; k++) {
        pthread_create(&prod[k], NULL, prod_run, (void *)k);
    }
    for (k = 0; k < NPROD; k++) {
        pthread_join(prod[k], NULL);
    }
    __atomic_store_n(&ticking, false, __ATOMIC_SEQ_CST);
    pthread_join(tk, NULL);
    assert_int_equal(__atomic_load_n(&failures, __ATOMIC_SEQ_CST), 0);
    a = sl_arena_create(1024, 0);
    for (k = 0; k < NPROD; k++) {
        snprintf(id, sizeof(id), "th-%ld", k);
        assert_int_equal(sl_txn_describe(coord, S(id), a, &d), SL_OK);
        assert_int_equal(d.state, SL_TXN_STATE_COMPLETE_COMMIT);
        assert_int_equal(d.producer_epoch, ROUNDS);
    }
    sl_arena_destroy(a);
    sl_txn_coord_destroy(coord);
    pthread_mutex_lock(&store_q.mu);
    store_q.stop = true;
    pthread_cond_signal(&store_q.cv);
    pthread_mutex_unlock(&store_q.mu);
    pthread_mutex_lock(&marker_q.mu);
    marker_q.stop = true;
    pthread_cond_signal(&marker_q.cv);
    pthread_mutex_unlock(&marker_q.mu);
    pthread_join(sq, NULL);
    pthread_join(mq, NULL);
    /* Per transaction: AddPartitions, Prepare, Complete; plus the init. */
    assert_int_equal(store_q.writes, NPROD * (1 + 3 * ROUNDS));
    assert_int_equal(marker_q.writes, NPROD * ROUNDS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
