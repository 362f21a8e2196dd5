/* Unit tests for api/purgatory: completion by key, expiry, exactly-once
 * completion under races, memory freed when the last reference goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "api/purgatory.h"
#include "net/reactor.h"

typedef struct {
    sl_delayed_t d;
    atomic_int ready;    /* condition */
    atomic_int answered; /* how many times answered */
    atomic_int expired;
    atomic_int *freed;
} op_t;

static void
op_try(sl_delayed_t *d)
{
    op_t *o = (op_t *)d;

    if (atomic_load(&o->ready) && sl_delayed_complete(d)) {
        atomic_fetch_add(&o->answered, 1);
    }
}

static void
op_expire(sl_delayed_t *d)
{
    op_t *o = (op_t *)d;

    if (sl_delayed_complete(d)) {
        atomic_fetch_add(&o->answered, 1);
        atomic_fetch_add(&o->expired, 1);
    }
}

static void
op_free(sl_delayed_t *d)
{
    op_t *o = (op_t *)d;

    atomic_fetch_add(o->freed, 1);
    free(o);
}

static op_t *
op_new(int64_t timeout_ms, atomic_int *freed)
{
    op_t *o = calloc(1, sizeof(*o));

    sl_delayed_init(&o->d);
    o->d.try_complete = op_try;
    o->d.on_expire = op_expire;
    o->d.free = op_free;
    o->d.deadline_ms = sl_now_ms() + timeout_ms;
    o->freed = freed;
    return o;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
test_complete_by_key(void **state)
{
    sl_purgatory_t *p = sl_purgatory_create("test");
    atomic_int freed = 0;
    uint64_t k1 = sl_purgatory_key_tp("t", 1, 0);
    uint64_t k2 = sl_purgatory_key_tp("t", 1, 1);
    uint64_t keys[2] = {k1, k2};
    op_t *a = op_new(10000, &freed), *b = op_new(10000, &freed);

    (void)state;
    assert_int_not_equal(k1, k2);
    sl_delayed_ref(&a->d); /* keep to inspect */
    sl_delayed_ref(&b->d);
    assert_int_equal(sl_purgatory_watch(p, &a->d, keys, 2), SL_OK);
    assert_int_equal(sl_purgatory_watch(p, &b->d, &k2, 1), SL_OK);
    sl_delayed_unref(&a->d);
    sl_delayed_unref(&b->d);
    assert_int_equal(sl_purgatory_size(p), 2);
    assert_int_equal(sl_purgatory_check(p, k1), 0); /* not ready */
    atomic_store(&a->ready, 1);
    assert_int_equal(sl_purgatory_check(p, k1), 1);
    assert_int_equal(atomic_load(&a->answered), 1);
    assert_int_equal(atomic_load(&b->answered), 0);
    atomic_store(&b->ready, 1);
    assert_int_equal(sl_purgatory_check(p, k2), 1);
    assert_int_equal(atomic_load(&a->answered), 1); /* once only */
    assert_int_equal(atomic_load(&b->answered), 1);
    assert_int_equal(sl_purgatory_size(p), 0);
    sl_delayed_unref(&a->d);
    sl_delayed_unref(&b->d);
    sl_purgatory_destroy(p);
    assert_int_equal(atomic_load(&freed), 2);
}

static void
test_ready_before_watch(void **state)
{
    sl_purgatory_t *p = sl_purgatory_create("test");
    atomic_int freed = 0;
    uint64_t k = sl_purgatory_key_str("group", "g", 1);
    op_t *a = op_new(10000, &freed);

    (void)state;
    atomic_store(&a->ready, 1);
    sl_delayed_ref(&a->d);
    assert_int_equal(sl_purgatory_watch(p, &a->d, &k, 1), SL_OK);
    sl_delayed_unref(&a->d);
    assert_int_equal(atomic_load(&a->answered), 1);
    sl_delayed_unref(&a->d);
    sl_purgatory_destroy(p);
    assert_int_equal(atomic_load(&freed), 1);
}

static void
test_expiry(void **state)
{
    sl_purgatory_t *p = sl_purgatory_create("test");
    atomic_int freed = 0;
    uint64_t k = 7;
    op_t *a = op_new(50, &freed), *b = op_new(5000, &freed);
    int64_t t0 = sl_now_ms();

    (void)state;
    sl_delayed_ref(&a->d);
    assert_int_equal(sl_purgatory_watch(p, &a->d, &k, 1), SL_OK);
    assert_int_equal(sl_purgatory_watch(p, &b->d, &k, 1), SL_OK);
    sl_delayed_unref(&a->d);
    while (atomic_load(&a->expired) == 0 && sl_now_ms() - t0 < 2000) {
        sleep_ms(5);
    }
    assert_int_equal(atomic_load(&a->expired), 1);
    assert_true(sl_now_ms() - t0 >= 50);
    assert_true(sl_now_ms() - t0 < 1000);
    assert_int_equal(atomic_load(&b->expired), 0);
    sl_delayed_unref(&b->d); /* the creator's reference */
    sl_delayed_unref(&a->d);
    sl_purgatory_destroy(p); /* b is expired by destroy, so answered */
    assert_int_equal(atomic_load(&freed), 2);
}

/* Shutdown: expire_all answers an operation with an hour to wait, and one
 * watched afterwards, without waiting for their deadlines. */
static void
test_expire_all(void **state)
{
    sl_purgatory_t *p = sl_purgatory_create("test");
    atomic_int freed = 0;
    uint64_t k = 9;
    op_t *a = op_new(3600000, &freed), *b = op_new(3600000, &freed);
    int64_t t0 = sl_now_ms();

    (void)state;
    sl_delayed_ref(&a->d);
    sl_delayed_ref(&b->d);
    assert_int_equal(sl_purgatory_watch(p, &a->d, &k, 1), SL_OK);
    sl_purgatory_expire_all(p);
    assert_int_equal(sl_purgatory_watch(p, &b->d, &k, 1), SL_OK);
    while ((atomic_load(&a->expired) == 0 || atomic_load(&b->expired) == 0) &&
           sl_now_ms() - t0 < 60000) {
        sleep_ms(5);
    }
    assert_int_equal(atomic_load(&a->answered), 1);
    assert_int_equal(atomic_load(&b->answered), 1);
    sl_delayed_unref(&a->d);
    sl_delayed_unref(&b->d);
    sl_delayed_unref(&a->d);
    sl_delayed_unref(&b->d);
    sl_purgatory_destroy(p);
    assert_int_equal(atomic_load(&freed), 2);
}

typedef struct {
    sl_purgatory_t *p;
    uint64_t key;
} racer_t;

static void *
racer(void *arg)
{
    racer_t *r = arg;
    int i;

    for (i = 0; i < 2000; i++) {
        sl_purgatory_check(r->p, r->key);
    }
    return NULL;
}

static void
test_race_exactly_once(void **state)
{
    sl_purgatory_t *p = sl_purgatory_create("test");
    atomic_int freed = 0;
    racer_t rc = {p, 99};
    pthread_t th[3];
    op_t *ops[200];
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, racer, &rc);
    }
    for (i = 0; i < 200; i++) {
        ops[i] = op_new(i % 2 ? 1 : 10000, &freed);
        atomic_store(&ops[i]->ready, i % 3 == 0);
        sl_delayed_ref(&ops[i]->d);
        assert_int_equal(sl_purgatory_watch(p, &ops[i]->d, &rc.key, 1), SL_OK);
        sl_delayed_unref(&ops[i]->d);
        if (i % 5 == 0) {
            atomic_store(&ops[i]->ready, 1);
        }
    }
    for (i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
    }
    sl_purgatory_destroy(p);
    for (i = 0; i < 200; i++) {
        assert_int_equal(atomic_load(&ops[i]->answered), 1);
        sl_delayed_unref(&ops[i]->d);
    }
    assert_int_equal(atomic_load(&freed), 200);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_by_key),
        cmocka_unit_test(test_ready_before_watch),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_expire_all),
        cmocka_unit_test(test_race_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
