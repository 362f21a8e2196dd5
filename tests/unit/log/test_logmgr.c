/*
 * tests/unit/log/test_logmgr.c: the log manager: create and find
 * partitions, clean close writes the marker and the next open trusts it
 * and removes it, a crash (no marker) recovers, deletion (and leftovers of
 * an interrupted one), odd directory names, retention from the tick, and
 * the flusher hookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log/file.h"
#include "log/logmgr.h"
#include "log_test_util.h"

#define TS0 1700000000000LL

static char g_dir[256];
static sl_log_config_t g_cfg;

static int
setup(void **state)
{
    (void)state;
    tl_mkdtemp(g_dir);
    tl_config(&g_cfg);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    tl_rmtree(g_dir);
    return 0;
}

static sl_logmgr_t *
mopen(sl_flusher_t *f)
{
    sl_logmgr_opts_t o;
    sl_logmgr_t *m;
    int failed = -1;

    sl_logmgr_opts_init(&o);
    o.dir = g_dir;
    o.defaults = &g_cfg;
    o.flusher = f;
    o.now_ms = TS0;
    o.retention_check_ms = 1000;
    assert_int_equal(sl_logmgr_open(&o, &m, &failed), SL_OK);
    assert_int_equal(failed, 0);
    return m;
}

static void
app(sl_partlog_t *pl, int n)
{
    uint8_t *b;
    size_t len = tl_batch(n, 100, TS0, &b);
    sl_append_info_t info;

    assert_int_equal(sl_partlog_append(pl, b, len, 0, 0, TS0, &info), SL_OK);
    free(b);
}

static bool
exists(const char *name)
{
    char p[512];

    snprintf(p, sizeof(p), "%s/%s", g_dir, name);
    return sl_file_exists(p);
}

static void
test_lifecycle(void **state)
{
    sl_logmgr_t *m;
    sl_partlog_t *pl, *pl2;
    char p[512];

    (void)state;
    m = mopen(NULL);
    assert_false(sl_logmgr_was_clean(m));
    assert_int_equal(sl_logmgr_create(m, "a.b_c-d", 0, NULL, NULL, TS0, &pl),
                     SL_OK);
    app(pl, 3);
    assert_int_equal(sl_logmgr_create(m, "a.b_c-d", 0, NULL, NULL, TS0, &pl2),
                     SL_OK);
    assert_ptr_equal(pl, pl2);
    assert_int_equal(sl_logmgr_create(m, "a.b_c-d", 1, NULL, NULL, TS0, &pl),
                     SL_OK);
    app(pl, 5);
    assert_int_equal(sl_logmgr_create(m, "x", 7, NULL, &g_cfg, TS0, &pl),
                     SL_OK);
    assert_int_equal(sl_logmgr_create(m, "bad/name", 0, NULL, NULL, TS0, &pl),
                     SL_ERR__INVAL);
    assert_int_equal(sl_logmgr_create(m, "..", 0, NULL, NULL, TS0, &pl),
                     SL_ERR__INVAL);
    assert_int_equal(sl_logmgr_count(m), 3);
    assert_int_equal(sl_logmgr_close(m, TS0), SL_OK);
    assert_true(exists(SL_LOGMGR_CLEAN_MARKER));

    /* junk that is not a partition, and a half-done deletion */
    snprintf(p, sizeof(p), "%s/not_a_partition", g_dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/x-7.0123456789abcdef0123456789abcdef-delete",
             g_dir);
    mkdir(p, 0755);
    m = mopen(NULL);
    assert_true(sl_logmgr_was_clean(m));
    assert_false(exists(SL_LOGMGR_CLEAN_MARKER));
    assert_false(exists("x-7.0123456789abcdef0123456789abcdef-delete"));
    assert_int_equal(sl_logmgr_count(m), 3);
    assert_int_equal(sl_logmgr_get(m, "a.b_c-d", 1, &pl), SL_OK);
    assert_int_equal(sl_partlog_end_offset(pl), 5);
    assert_int_equal(sl_logmgr_get(m, "a.b_c-d", 2, &pl), SL_ERR__NOENT);
    assert_int_equal(sl_logmgr_delete(m, "x", 7), SL_OK);
    assert_false(exists("x-7"));
    assert_int_equal(sl_logmgr_delete(m, "x", 7), SL_ERR__NOENT);
    assert_int_equal(sl_logmgr_get(m, "a.b_c-d", 0, &pl), SL_OK);
    app(pl, 2);
    sl_logmgr_abandon(m); /* crash: no marker */
    assert_false(exists(SL_LOGMGR_CLEAN_MARKER));

    m = mopen(NULL);
    assert_false(sl_logmgr_was_clean(m));
    assert_int_equal(sl_logmgr_count(m), 2);
    assert_int_equal(sl_logmgr_get(m, "a.b_c-d", 0, &pl), SL_OK);
    assert_int_equal(sl_partlog_end_offset(pl), 5);
    assert_int_equal(sl_logmgr_close(m, TS0), SL_OK);
}

static void
test_tick_retention(void **state)
{
    sl_logmgr_t *m;
    sl_partlog_t *pl;
    sl_log_config_t cfg = g_cfg;
    int deleted, i;

    (void)state;
    m = mopen(NULL);
    cfg.retention_bytes = 4096;
    assert_int_equal(sl_logmgr_create(m, "r", 0, NULL, &cfg, TS0, &pl), SL_OK);
    for (i = 0; i < 60; i++) {
        app(pl, 2);
    }
    assert_int_equal(sl_logmgr_tick(m, TS0 + 10, &deleted), SL_OK);
    assert_int_equal(deleted, 0); /* not due yet */
    assert_int_equal(sl_logmgr_tick(m, TS0 + 1000, &deleted), SL_OK);
    assert_true(deleted > 0);
    assert_true(sl_partlog_log_start(pl) > 0);
    assert_int_equal(sl_logmgr_close(m, TS0), SL_OK);
}

static void
cb(void *arg, sl_err_t err, int64_t durable)
{
    (void)durable;
    atomic_store((_Atomic sl_err_t *)arg, err);
}

static void
test_with_flusher(void **state)
{
    sl_flusher_t *f;
    sl_logmgr_t *m;
    sl_partlog_t *pl;
    _Atomic sl_err_t got = 1;
    int i;

    (void)state;
    assert_int_equal(sl_flusher_create(NULL, &f), SL_OK);
    m = mopen(f);
    assert_int_equal(sl_logmgr_create(m, "f", 0, NULL, NULL, TS0, &pl), SL_OK);
    app(pl, 1);
    assert_int_equal(sl_flusher_wait(f, pl, 0, cb, (void *)&got), SL_OK);
    for (i = 0; i < 5000 && atomic_load(&got) == 1; i++) {
        usleep(1000);
    }
    assert_int_equal(atomic_load(&got), SL_OK);
    assert_int_equal(sl_logmgr_close(m, TS0), SL_OK);
    sl_flusher_destroy(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_with_flusher, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
