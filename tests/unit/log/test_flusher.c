/*
 * tests/unit/log/test_flusher.c: group commit: callbacks fire in order and
 * only after fdatasync, many appends share few fdatasyncs, EIO fails the
 * waiters and reports nothing durable that is not, Kafka's policy-only mode
 * with flush.messages and flush.ms, and removal with waiters pending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "log/faultfs.h"
#include "log/flusher.h"
#include "log/partlog.h"
#include "log_test_util.h"

#define TS0 1700000000000LL
#define MAXW 512

typedef struct fx_s {
    char root[256];
    char dir[512];
    sl_log_config_t cfg;
    sl_partlog_t *pl;
    sl_flusher_t *f;
} fx_t;

typedef struct rec_s {
    pthread_mutex_t lock;
    int n;
    int64_t offset[MAXW];
    sl_err_t err[MAXW];
    int64_t durable[MAXW];
    int64_t syncs[MAXW]; /* fdatasyncs seen when the callback ran */
    int64_t rp[MAXW];
} rec_t;

static rec_t g_rec;

typedef struct warg_s {
    int64_t offset;
} warg_t;

static warg_t g_args[MAXW];

static void
on_durable(void *arg, sl_err_t err, int64_t durable)
{
    warg_t *a = arg;
    int i;

    pthread_mutex_lock(&g_rec.lock);
    i = g_rec.n++;
    g_rec.offset[i] = a->offset;
    g_rec.err[i] = err;
    g_rec.durable[i] = durable;
    g_rec.syncs[i] = sl_faultfs_count(SL_FILE_OP_FDATASYNC);
    pthread_mutex_unlock(&g_rec.lock);
}

static int
rec_count(void)
{
    int n;

    pthread_mutex_lock(&g_rec.lock);
    n = g_rec.n;
    pthread_mutex_unlock(&g_rec.lock);
    return n;
}

static void
wait_count(int n)
{
    int i;

    for (i = 0; i < 5000 && rec_count() < n; i++) {
        usleep(1000);
    }
    assert_int_equal(rec_count(), n);
}

static void
fx_start(fx_t *fx, sl_flush_mode_e mode, int64_t linger)
{
    sl_flusher_opts_t o;

    sl_flusher_opts_init(&o);
    o.mode = mode;
    o.linger_ms = linger;
    o.tick_ms = 10;
    assert_int_equal(sl_flusher_create(&o, &fx->f), SL_OK);
    assert_int_equal(sl_flusher_add(fx->f, fx->pl), SL_OK);
}

static int
setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    sl_partlog_opts_t o;

    tl_mkdtemp(fx->root);
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-0", fx->root);
    tl_config(&fx->cfg);
    fx->cfg.segment_bytes = 1 << 20;
    memset(&o, 0, sizeof(o));
    o.dir = fx->dir;
    o.topic = "t";
    o.cfg = &fx->cfg;
    o.create = true;
    o.now_ms = TS0;
    assert_int_equal(sl_partlog_open(&o, &fx->pl, NULL), SL_OK);
    memset(&g_rec, 0, sizeof(g_rec));
    pthread_mutex_init(&g_rec.lock, NULL);
    sl_faultfs_install(); /* counting only */
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *fx = *state;

    if (fx->f != NULL) {
        sl_flusher_remove(fx->f, fx->pl);
        sl_flusher_destroy(fx->f);
    }
    sl_faultfs_uninstall();
    sl_partlog_abandon(fx->pl);
    tl_rmtree(fx->root);
    free(fx);
    return 0;
}

static int64_t
app(fx_t *fx, int n)
{
    uint8_t *b;
    size_t len = tl_batch(n, 20, TS0, &b);
    sl_append_info_t info;

    assert_int_equal(sl_partlog_append(fx->pl, b, len, -1, 0, TS0, &info),
                     SL_OK);
    free(b);
    return info.last_offset;
}

static void
test_order_after_fdatasync(void **state)
{
    fx_t *fx = *state;
    int64_t before;
    int i;

    fx_start(fx, SL_FLUSH_ON_ACK_ALL, 0);
    before = sl_faultfs_count(SL_FILE_OP_FDATASYNC);
    for (i = 0; i < 50; i++) {
        g_args[i].offset = app(fx, 2);
        assert_int_equal(sl_flusher_wait(fx->f, fx->pl, g_args[i].offset,
                                         on_durable, &g_args[i]),
                         SL_OK);
    }
    wait_count(50);
    for (i = 0; i < 50; i++) {
        assert_int_equal(g_rec.err[i], SL_OK);
        assert_int_equal(g_rec.offset[i], 2 * i + 1); /* in order */
        assert_true(g_rec.durable[i] > g_rec.offset[i]);
        assert_true(g_rec.syncs[i] > before); /* only after a sync */
    }
    assert_true(sl_partlog_recovery_point(fx->pl) >= 100);
}

static void
test_group_commit(void **state)
{
    fx_t *fx = *state;
    int64_t before, syncs;
    int i;

    fx_start(fx, SL_FLUSH_ON_ACK_ALL, 100);
    before = sl_faultfs_count(SL_FILE_OP_FDATASYNC);
    for (i = 0; i < 200; i++) {
        g_args[i].offset = app(fx, 1);
        assert_int_equal(sl_flusher_wait(fx->f, fx->pl, g_args[i].offset,
                                         on_durable, &g_args[i]),
                         SL_OK);
    }
    wait_count(200);
    syncs = sl_faultfs_count(SL_FILE_OP_FDATASYNC) - before;
    /* 200 acks=all appends, a handful of fdatasyncs */
    assert_true(syncs >= 1);
    assert_true(syncs <= 10);
    assert_true(sl_flusher_flushes(fx->f) <= 10);
    for (i = 0; i < 200; i++) {
        assert_int_equal(g_rec.err[i], SL_OK);
        assert_int_equal(g_rec.offset[i], i);
    }
}

static void
test_eio_fails_waiters(void **state)
{
    fx_t *fx = *state;
    int64_t rp0;
    int i;

    fx_start(fx, SL_FLUSH_ON_ACK_ALL, 50);
    g_args[0].offset = app(fx, 1);
    assert_int_equal(sl_flusher_wait(fx->f, fx->pl, g_args[0].offset,
                                     on_durable, &g_args[0]),
                     SL_OK);
    wait_count(1);
    assert_int_equal(g_rec.err[0], SL_OK);
    rp0 = sl_partlog_recovery_point(fx->pl);
    assert_int_equal(rp0, 1);
    sl_faultfs_fail(SL_FILE_OP_FDATASYNC, 1, EIO, -1);
    for (i = 1; i < 5; i++) {
        g_args[i].offset = app(fx, 1);
        assert_int_equal(sl_flusher_wait(fx->f, fx->pl, g_args[i].offset,
                                         on_durable, &g_args[i]),
                         SL_OK);
    }
    wait_count(5);
    for (i = 1; i < 5; i++) {
        assert_int_equal(g_rec.err[i], SL_ERR__IO);
        assert_true(g_rec.durable[i] <= g_rec.offset[i]);
    }
    assert_int_equal(sl_partlog_recovery_point(fx->pl), rp0);
    assert_true(sl_partlog_offline(fx->pl));
    sl_faultfs_clear();
}

static void
test_policy_only(void **state)
{
    fx_t *fx = *state;
    int i;

    fx->cfg.flush_messages = 10;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    fx_start(fx, SL_FLUSH_POLICY_ONLY, 0);
    g_args[0].offset = app(fx, 1);
    assert_int_equal(sl_flusher_wait(fx->f, fx->pl, g_args[0].offset,
                                     on_durable, &g_args[0]),
                     SL_OK);
    assert_int_equal(rec_count(), 1); /* at once */
    assert_int_equal(sl_partlog_recovery_point(fx->pl), 0);
    for (i = 0; i < 9; i++) {
        app(fx, 1);
        sl_flusher_kick(fx->f, fx->pl);
    }
    for (i = 0; i < 5000 && sl_partlog_recovery_point(fx->pl) < 10; i++) {
        usleep(1000);
    }
    assert_int_equal(sl_partlog_recovery_point(fx->pl), 10);
}

static void
test_flush_ms(void **state)
{
    fx_t *fx = *state;
    int i;

    fx->cfg.flush_ms = 30;
    sl_partlog_set_config(fx->pl, &fx->cfg);
    fx_start(fx, SL_FLUSH_POLICY_ONLY, 0);
    app(fx, 3);
    /* No waiter asks for a flush: flush.ms alone must make the appends
     * durable. (Whether it is still 0 right after the append depends on
     * scheduling: a loaded runner may already be past 30 ms.) */
    for (i = 0; i < 5000 && sl_partlog_recovery_point(fx->pl) < 3; i++) {
        usleep(1000);
    }
    assert_int_equal(sl_partlog_recovery_point(fx->pl), 3);
}

static void
test_remove_pending(void **state)
{
    fx_t *fx = *state;

    fx_start(fx, SL_FLUSH_ON_ACK_ALL, 0);
    /* an offset not appended yet stays pending */
    g_args[0].offset = 1000;
    assert_int_equal(
        sl_flusher_wait(fx->f, fx->pl, 1000, on_durable, &g_args[0]), SL_OK);
    usleep(30000);
    assert_int_equal(rec_count(), 0);
    sl_flusher_remove(fx->f, fx->pl);
    assert_int_equal(rec_count(), 1);
    assert_int_equal(g_rec.err[0], SL_ERR__CLOSED);
    assert_int_equal(sl_flusher_wait(fx->f, fx->pl, 0, on_durable, &g_args[0]),
                     SL_ERR__NOENT);
}

typedef struct busy_s {
    fx_t *fx;
    sl_partlog_t *pl;
    _Atomic bool stop;
} busy_t;

static void
noop_cb(void *arg, sl_err_t err, int64_t durable)
{
    (void)arg;
    (void)err;
    (void)durable;
}

static void *
busy_appender(void *arg)
{
    busy_t *b = arg;

    while (!atomic_load(&b->stop)) {
        int64_t off = app(b->fx, 1);

        assert_int_equal(
            sl_flusher_wait(b->fx->f, b->fx->pl, off, noop_cb, NULL), SL_OK);
    }
    return NULL;
}

static void
test_no_starvation(void **state)
{
    fx_t *fx = *state;
    sl_partlog_opts_t o;
    sl_partlog_t *pl2;
    char dir2[600];
    busy_t b;
    pthread_t t;
    uint8_t *bytes;
    size_t len;
    sl_append_info_t info;

    fx_start(fx, SL_FLUSH_ON_ACK_ALL, 0);
    snprintf(dir2, sizeof(dir2), "%s/t-1", fx->root);
    memset(&o, 0, sizeof(o));
    o.dir = dir2;
    o.topic = "t";
    o.partition = 1;
    o.cfg = &fx->cfg;
    o.create = true;
    o.now_ms = TS0;
    assert_int_equal(sl_partlog_open(&o, &pl2, NULL), SL_OK);
    assert_int_equal(sl_flusher_add(fx->f, pl2), SL_OK);
    /* the partition added last (first in the flusher's list) is kept
     * busy; the other one must still get its flush */
    b.fx = fx;
    b.pl = pl2;
    atomic_init(&b.stop, false);
    pthread_create(&t, NULL, busy_appender, &b);
    usleep(20000);
    len = tl_batch(1, 10, TS0, &bytes);
    assert_int_equal(sl_partlog_append(fx->pl, bytes, len, -1, 0, TS0, &info),
                     SL_OK);
    free(bytes);
    g_args[0].offset = 0;
    assert_int_equal(sl_flusher_wait(fx->f, fx->pl, 0, on_durable, &g_args[0]),
                     SL_OK);
    wait_count(1);
    assert_int_equal(g_rec.err[0], SL_OK);
    atomic_store(&b.stop, true);
    pthread_join(t, NULL);
    sl_flusher_remove(fx->f, pl2);
    sl_partlog_abandon(pl2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_after_fdatasync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eio_fails_waiters, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_policy_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_starvation, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
