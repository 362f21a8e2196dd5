/* The group coordinator under random event streams: runs the driver of
 * tests/fuzz/fuzz_group.c (which aborts when a request is answered twice or
 * never, or a deadline stays in the past) on pseudo-random inputs with a
 * fixed seed, so CTest covers it without libFuzzer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../../fuzz/fuzz_group.c"

/* ---- threads: a store thread completing appends while two client threads
 * commit and heartbeat and a third ticks. Callbacks re-enter the
 * coordinator, which deadlocks unless they run with the lock released. */

typedef struct th_store_s {
    pthread_mutex_t mu;
    sl_fz_pend_t q[4096];
    int n;
    atomic_bool stop;
} th_store_t;

typedef struct th_ctx_s {
    sl_group_coord_t *gc;
    th_store_t *st;
    char member[128];
    int32_t gen;
    atomic_int answered;
    atomic_int ok;
} th_ctx_t;

static th_ctx_t *th_cur;

static void
th_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
          const uint8_t *value, size_t value_len, sl_group_append_done_cb done,
          void *done_arg)
{
    th_store_t *st = ctx;

    (void)partition, (void)key, (void)key_len, (void)value, (void)value_len;
    pthread_mutex_lock(&st->mu);
    assert_true(st->n < 4096);
    st->q[st->n].done = done;
    st->q[st->n].arg = done_arg;
    st->n++;
    pthread_mutex_unlock(&st->mu);
}

static void *
th_store_main(void *arg)
{
    th_store_t *st = arg;

    for (;;) {
        sl_fz_pend_t p;
        bool have = false;

        pthread_mutex_lock(&st->mu);
        if (st->n > 0) {
            p = st->q[0];
            memmove(&st->q[0], &st->q[1], (size_t)(st->n - 1) * sizeof(p));
            st->n--;
            have = true;
        }
        pthread_mutex_unlock(&st->mu);
        if (have) {
            p.done(p.arg, SL_OK);
        } else if (atomic_load(&st->stop)) {
            return NULL;
        } else {
            sched_yield();
        }
    }
}

static void
th_commit_cb(void *arg, const sl_err_t *errors, int32_t count)
{
    th_ctx_t *c = arg;
    sl_arena_t *a = sl_arena_create(1024, 0);
    sl_group_offset_t *o;
    int32_t n;

    /* Re-enter: would deadlock if called with the lock held. */
    assert_int_equal(
        sl_group_offset_fetch(c->gc, sl_fz_s("tg"), NULL, 0, false, a, &o, &n),
        SL_OK);
    sl_arena_destroy(a);
    atomic_fetch_add(&c->answered, 1);
    if (count == 1 && errors[0] == SL_OK) {
        atomic_fetch_add(&c->ok, 1);
    }
}

static void *
th_client_main(void *arg)
{
    th_ctx_t *c = arg;
    sl_group_commit_part_t p;
    sl_group_commit_req_t r;

    for (int i = 0; i < 2000; i++) {
        p.topic = sl_fz_s("t");
        p.partition = i % 16;
        p.offset = i;
        p.leader_epoch = -1;
        p.metadata = sl_fz_s("");
        memset(&r, 0, sizeof(r));
        r.group_id = sl_fz_s("tg");
        r.member_id = sl_fz_s(c->member);
        r.group_instance_id = sl_fz_s(NULL);
        r.generation_id = c->gen;
        r.retention_ms = -1;
        r.parts = &p;
        r.parts_count = 1;
        sl_group_offset_commit(c->gc, 1000, &r, th_commit_cb, c);
        assert_int_equal(sl_group_heartbeat(c->gc, 1000, sl_fz_s("tg"),
                                            sl_fz_s(c->member), sl_fz_s(NULL),
                                            c->gen),
                         SL_OK);
    }
    return NULL;
}

static void *
th_tick_main(void *arg)
{
    th_ctx_t *c = arg;

    for (int i = 0; i < 2000; i++) {
        sl_group_coord_tick(c->gc, 1000);
        (void)sl_group_coord_next_deadline(c->gc);
    }
    return NULL;
}

static void
th_join_cb(void *arg, const sl_group_join_result_t *r)
{
    th_ctx_t *c = arg;

    memcpy(c->member, r->member_id.ptr, (size_t)r->member_id.len);
    c->member[r->member_id.len] = '\0';
    c->gen = r->generation_id;
}

static void
th_sync_cb(void *arg, const sl_group_sync_result_t *r)
{
    atomic_store((atomic_int *)arg, r->error);
}

static void
test_threads(void **state)
{
    th_store_t *st = calloc(1, sizeof(*st));
    th_ctx_t *c = calloc(1, sizeof(*c));
    sl_group_config_t cfg;
    sl_group_store_t store = {st, th_append, NULL, NULL};
    sl_group_protocol_t p = {{"range", 5}, {(const uint8_t *)"m", 1}};
    sl_group_join_req_t j;
    sl_group_sync_req_t s;
    pthread_t ts, t1, t2, t3;
    atomic_int serr = -1;

    (void)state;
    pthread_mutex_init(&st->mu, NULL);
    sl_group_config_defaults(&cfg);
    cfg.initial_rebalance_delay_ms = 0;
    c->gc = sl_group_coord_create(&cfg, &store);
    th_cur = c;
    memset(&j, 0, sizeof(j));
    j.group_id = sl_fz_s("tg");
    j.member_id = sl_fz_s("");
    j.group_instance_id = sl_fz_s(NULL);
    j.protocol_type = sl_fz_s("consumer");
    j.protocols = &p;
    j.protocols_count = 1;
    j.session_timeout_ms = 10000;
    j.rebalance_timeout_ms = 10000;
    sl_group_join(c->gc, 0, &j, th_join_cb, c);
    assert_int_equal(c->gen, 1);
    pthread_create(&ts, NULL, th_store_main, st);
    memset(&s, 0, sizeof(s));
    s.group_id = sl_fz_s("tg");
    s.member_id = sl_fz_s(c->member);
    s.group_instance_id = s.protocol_type = s.protocol_name = sl_fz_s(NULL);
    s.generation_id = 1;
    sl_group_sync(c->gc, 0, &s, th_sync_cb, &serr);
    while (atomic_load(&serr) == -1) {
        sched_yield(); /* the store thread persists the assignment */
    }
    assert_int_equal(atomic_load(&serr), SL_OK);
    pthread_create(&t1, NULL, th_client_main, c);
    pthread_create(&t2, NULL, th_client_main, c);
    pthread_create(&t3, NULL, th_tick_main, c);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_join(t3, NULL);
    while (atomic_load(&c->answered) < 4000) {
        sched_yield();
    }
    atomic_store(&st->stop, true);
    pthread_join(ts, NULL);
    assert_int_equal(atomic_load(&c->ok), 4000);
    sl_group_coord_destroy(c->gc);
    pthread_mutex_destroy(&st->mu);
    free(st);
    free(c);
}

static void
test_random_event_streams(void **state)
{
    static uint8_t buf[4096];
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    int runs = 0;

    (void)state;
    for (int round = 0; round < 600; round++) {
        size_t n = 64 + (size_t)(x % (sizeof(buf) - 64));

        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)(x >> 24);
        }
        assert_int_equal(sl_fuzz_group_run(buf, n), 0);
        runs++;
    }
    assert_int_equal(runs, 600);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_event_streams),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
