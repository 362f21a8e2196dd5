/*
 * tests/unit/cluster/test_producer_ids.c: the producer id allocator: ids
 * are unique and increasing, a restart (also one that never closed the
 * allocator, as after kill -9) continues above every id handed out, the
 * block end is on disk before an id of the block is returned, an
 * unreadable file refuses to start, and a failed write hands out nothing.
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
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/producer_ids.h"
#include "log/faultfs.h"

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int
setup(void **state)
{
    char *dir = malloc(64);

    snprintf(dir, 64, "/tmp/sl-pid-test-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    *state = dir;
    return 0;
}

static int
teardown(void **state)
{
    nftw(*state, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static int64_t
file_value(const char *dir)
{
    char path[256], buf[64] = "";
    long long v = -1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/__sluice_metadata/producer-ids", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    if (fread(buf, 1, sizeof(buf) - 1, f) > 0) {
        sscanf(buf, "0\n%lld", &v);
    }
    fclose(f);
    return v;
}

static void
test_unique_across_restarts(void **state)
{
    const char *dir = *state;
    sl_pid_alloc_t *a, *b;
    int64_t id, last = -1;
    int i;

    assert_int_equal(sl_pid_alloc_open(dir, &a), SL_OK);
    assert_int_equal(file_value(dir), -1); /* nothing until needed */
    for (i = 0; i < SL_PID_BLOCK + 5; i++) {
        assert_int_equal(sl_pid_alloc_next(a, &id), SL_OK);
        assert_true(id > last);
        /* the block holding id is persisted before id is returned */
        assert_true(file_value(dir) > id);
        last = id;
    }
    assert_int_equal(file_value(dir), 2 * SL_PID_BLOCK);
    /* a second process on the same dir without closing the first (a
     * crash): continues above everything handed out */
    assert_int_equal(sl_pid_alloc_open(dir, &b), SL_OK);
    assert_int_equal(sl_pid_alloc_next(b, &id), SL_OK);
    assert_true(id > last);
    assert_int_equal(id, 2 * SL_PID_BLOCK);
    sl_pid_alloc_close(a);
    sl_pid_alloc_close(b);
}

static void
test_corrupt_file_refused(void **state)
{
    const char *dir = *state;
    char path[256];
    sl_pid_alloc_t *a = NULL;
    FILE *f;

    snprintf(path, sizeof(path), "%s/__sluice_metadata", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/__sluice_metadata/producer-ids", dir);
    f = fopen(path, "w");
    fputs("0\n12x\n", f);
    fclose(f);
    assert_int_equal(sl_pid_alloc_open(dir, &a), SL_ERR__CORRUPT);
    f = fopen(path, "w");
    fputs("0\n-5\n", f);
    fclose(f);
    assert_int_equal(sl_pid_alloc_open(dir, &a), SL_ERR__CORRUPT);
    f = fopen(path, "w");
    fputs("0\n7000\n", f);
    fclose(f);
    assert_int_equal(sl_pid_alloc_open(dir, &a), SL_OK);
    sl_pid_alloc_close(a);
}

static void
test_write_failure_hands_out_nothing(void **state)
{
    const char *dir = *state;
    sl_pid_alloc_t *a;
    int64_t id = -7;

    assert_int_equal(sl_pid_alloc_open(dir, &a), SL_OK);
    sl_faultfs_install();
    sl_faultfs_fail(SL_FILE_OP_FSYNC, 1, EIO, 1);
    assert_int_not_equal(sl_pid_alloc_next(a, &id), SL_OK);
    assert_int_equal(id, -7);
    sl_faultfs_uninstall();
    assert_int_equal(sl_pid_alloc_next(a, &id), SL_OK);
    assert_int_equal(id, 0);
    sl_pid_alloc_close(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unique_across_restarts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_hands_out_nothing,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
