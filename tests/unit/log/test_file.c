/*
 * tests/unit/log/test_file.c: the file-operations wrappers, the
 * fault-injecting table (Nth-call failures, short writes, crash after N
 * bytes, call counts) and the checkpoint files (leader epochs, offsets,
 * partition.metadata, Kafka's UUID text form), including corrupt inputs.
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
#include <fcntl.h>
#include <unistd.h>

#include "log/ckpt.h"
#include "log/faultfs.h"
#include "log/file.h"
#include "log_test_util.h"

static char g_dir[256];

static int
setup(void **state)
{
    (void)state;
    tl_mkdtemp(g_dir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    sl_faultfs_uninstall();
    tl_rmtree(g_dir);
    return 0;
}

static void
path(char *p, const char *name)
{
    snprintf(p, 512, "%s/%s", g_dir, name);
}

static void
test_wrappers(void **state)
{
    char p[512], buf[64];
    int fd = -1;
    size_t got;
    int64_t size;
    int count = 0;

    (void)state;
    path(p, "a");
    assert_int_equal(sl_file_open(p, O_RDWR, &fd), SL_ERR__NOENT);
    assert_int_equal(sl_file_open(p, O_RDWR | O_CREAT, &fd), SL_OK);
    assert_int_equal(sl_file_write_at(fd, "hello world", 11, 0), SL_OK);
    assert_int_equal(sl_file_read_at(fd, buf, sizeof(buf), 6, &got), SL_OK);
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(sl_file_truncate(fd, 5), SL_OK);
    assert_int_equal(sl_file_size(fd, &size, NULL), SL_OK);
    assert_int_equal(size, 5);
    assert_int_equal(sl_file_datasync(fd), SL_OK);
    sl_file_close(&fd);
    assert_int_equal(fd, -1);
    sl_file_close(&fd); /* no-op */
    assert_int_equal(sl_file_read_small(p, buf, 4, &got), SL_ERR__TOOBIG);
    assert_int_equal(sl_file_read_small(p, buf, 5, &got), SL_OK);
    assert_int_equal(got, 5);
    path(p, "b");
    assert_int_equal(sl_file_write_atomic(g_dir, p, "xyz", 3), SL_OK);
    assert_int_equal(sl_file_read_small(p, buf, sizeof(buf), &got), SL_OK);
    assert_int_equal(got, 3);
    path(p, "b.tmp");
    assert_false(sl_file_exists(p));
    path(p, "sub");
    assert_int_equal(sl_file_mkdir(p), SL_OK);
    assert_int_equal(sl_file_mkdir(p), SL_OK);
    path(p, "sub/f");
    assert_int_equal(sl_file_write_atomic(g_dir, p, "1", 1), SL_OK);
    path(p, "sub");
    assert_int_equal(sl_file_sync_dir(p), SL_OK);
    assert_int_equal(sl_file_remove_dir(p), SL_OK);
    assert_false(sl_file_exists(p));
    path(p, "nothing");
    assert_int_equal(sl_file_unlink(p), SL_ERR__NOENT);
    (void)count;
}

static int
count_cb(void *arg, const char *name)
{
    (void)name;
    (*(int *)arg)++;
    return 0;
}

static void
test_list(void **state)
{
    char p[512];
    int n = 0, i;

    (void)state;
    for (i = 0; i < 40; i++) {
        char name[32];

        snprintf(name, sizeof(name), "f%d", i);
        path(p, name);
        assert_int_equal(sl_file_write_atomic(g_dir, p, "x", 1), SL_OK);
    }
    assert_int_equal(sl_file_list(g_dir, count_cb, &n), SL_OK);
    assert_int_equal(n, 40);
    path(p, "missing");
    assert_int_equal(sl_file_list(p, count_cb, &n), SL_ERR__NOENT);
}

static void
test_faultfs_fail_nth(void **state)
{
    char p[512];
    int fd = -1, fd2 = -1;

    (void)state;
    path(p, "a");
    sl_faultfs_install();
    sl_faultfs_fail(SL_FILE_OP_OPEN, 2, EIO, 2);
    assert_int_equal(sl_file_open(p, O_RDWR | O_CREAT, &fd), SL_OK);
    assert_int_equal(sl_file_open(p, O_RDWR, &fd2), SL_ERR__IO);
    assert_int_equal(sl_file_open(p, O_RDWR, &fd2), SL_ERR__IO);
    assert_int_equal(sl_file_open(p, O_RDWR, &fd2), SL_OK);
    assert_int_equal(sl_faultfs_count(SL_FILE_OP_OPEN), 4);
    sl_faultfs_fail(SL_FILE_OP_PWRITE, 1, ENOSPC, 1);
    assert_int_equal(sl_file_write_at(fd, "abc", 3, 0), SL_ERR__IO);
    assert_int_equal(sl_file_write_at(fd, "abc", 3, 0), SL_OK);
    sl_faultfs_fail(SL_FILE_OP_FDATASYNC, 1, EIO, -1);
    assert_int_equal(sl_file_datasync(fd), SL_ERR__IO);
    assert_int_equal(sl_file_datasync(fd), SL_ERR__IO);
    sl_faultfs_clear();
    assert_int_equal(sl_file_datasync(fd), SL_OK);
    assert_int_equal(sl_faultfs_count(SL_FILE_OP_FDATASYNC), 3);
    sl_file_close(&fd);
    sl_file_close(&fd2);
}

static void
test_faultfs_short_and_crash(void **state)
{
    char p[512], big[1000], buf[1000];
    int fd = -1, i;
    size_t got;
    int64_t before;

    (void)state;
    for (i = 0; i < 1000; i++) {
        big[i] = (char)('a' + i % 26);
    }
    path(p, "a");
    sl_faultfs_install();
    sl_faultfs_short_writes(true);
    assert_int_equal(sl_file_open(p, O_RDWR | O_CREAT, &fd), SL_OK);
    before = sl_faultfs_count(SL_FILE_OP_PWRITE);
    assert_int_equal(sl_file_write_at(fd, big, 1000, 0), SL_OK);
    assert_true(sl_faultfs_count(SL_FILE_OP_PWRITE) - before >= 9);
    assert_int_equal(sl_file_read_at(fd, buf, 1000, 0, &got), SL_OK);
    assert_int_equal(got, 1000);
    assert_memory_equal(buf, big, 1000);
    sl_faultfs_short_writes(false);
    sl_faultfs_crash_after(300);
    assert_int_equal(sl_file_write_at(fd, "0123456789", 10, 1000), SL_OK);
    assert_false(sl_faultfs_crashed());
    assert_int_equal(sl_file_write_at(fd, big, 1000, 1010), SL_OK);
    assert_true(sl_faultfs_crashed());
    assert_int_equal(sl_file_truncate(fd, 0), SL_OK); /* dropped */
    sl_faultfs_uninstall();
    assert_int_equal(sl_file_read_at(fd, buf, 1000, 1000, &got), SL_OK);
    assert_int_equal(got, 300); /* 10 + 290 written before the crash */
    assert_memory_equal(buf, "0123456789", 10);
    sl_file_close(&fd);
}

static void
test_ckpt_epochs(void **state)
{
    sl_epoch_entry_t e[3] = {{0, 0}, {2, 100}, {7, 250}}, *got;
    size_t n;
    char p[512];
    static const char *const bad[] = {
        "",
        "1\n0\n",
        "0\n2\n0 0\n",
        "0\n1\n0 0",
        "0\n1\n0 0\nextra\n",
        "0\n2\n1 10\n1 20\n",
        "0\n2\n1 10\n2 5\n",
        "0\n1\n-1 0\n",
        "0\n1\n1  0\n",
        "0\n1\n99999999999 0\n",
        "0\n1\n1 99999999999999999999\n",
        "0\n-1\n",
        "0\n70000\n",
        "x\n",
    };
    size_t i;

    (void)state;
    assert_int_equal(sl_ckpt_read_epochs(g_dir, &got, &n), SL_ERR__NOENT);
    assert_int_equal(sl_ckpt_write_epochs(g_dir, e, 3), SL_OK);
    assert_int_equal(sl_ckpt_read_epochs(g_dir, &got, &n), SL_OK);
    assert_int_equal(n, 3);
    for (i = 0; i < 3; i++) {
        assert_int_equal(got[i].epoch, e[i].epoch);
        assert_int_equal(got[i].start_offset, e[i].start_offset);
    }
    free(got);
    path(p, SL_CKPT_EPOCHS);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *f = fopen(p, "w");

        fputs(bad[i], f);
        fclose(f);
        assert_int_equal(sl_ckpt_read_epochs(g_dir, &got, &n), SL_ERR__CORRUPT);
        assert_null(got);
    }
}

static void
test_ckpt_offset_and_meta(void **state)
{
    int64_t off;
    uint8_t id[16], got[16];
    char u[23], p[512];
    FILE *f;
    int i;

    (void)state;
    assert_int_equal(
        sl_ckpt_write_offset(g_dir, SL_CKPT_RECOVERY, "my.topic", 3, 12345),
        SL_OK);
    assert_int_equal(
        sl_ckpt_read_offset(g_dir, SL_CKPT_RECOVERY, "my.topic", 3, &off),
        SL_OK);
    assert_int_equal(off, 12345);
    assert_int_equal(
        sl_ckpt_read_offset(g_dir, SL_CKPT_RECOVERY, "my.topi", 3, &off),
        SL_ERR__CORRUPT);
    assert_int_equal(
        sl_ckpt_read_offset(g_dir, SL_CKPT_RECOVERY, "my.topic", 4, &off),
        SL_ERR__CORRUPT);
    /* Kafka's text form of UUIDs: zero, and the metadata topic id (0, 1) */
    memset(id, 0, 16);
    sl_ckpt_uuid_encode(id, u);
    assert_string_equal(u, "AAAAAAAAAAAAAAAAAAAAAA");
    id[15] = 1;
    sl_ckpt_uuid_encode(id, u);
    assert_string_equal(u, "AAAAAAAAAAAAAAAAAAAAAQ");
    assert_int_equal(sl_ckpt_uuid_decode("AAAAAAAAAAAAAAAAAAAAAR", 22, got),
                     SL_ERR__CORRUPT); /* padding bits set */
    assert_int_equal(sl_ckpt_uuid_decode("AAAAAAAAAAAAAAAAAAAA+Q", 22, got),
                     SL_ERR__CORRUPT);
    for (i = 0; i < 16; i++) {
        id[i] = (uint8_t)(0xf0 ^ (i * 29));
    }
    sl_ckpt_uuid_encode(id, u);
    assert_int_equal(strlen(u), 22);
    assert_int_equal(sl_ckpt_uuid_decode(u, 22, got), SL_OK);
    assert_memory_equal(id, got, 16);
    assert_int_equal(sl_ckpt_write_meta(g_dir, id), SL_OK);
    memset(got, 0, 16);
    assert_int_equal(sl_ckpt_read_meta(g_dir, got), SL_OK);
    assert_memory_equal(id, got, 16);
    path(p, SL_CKPT_META);
    f = fopen(p, "w");
    fputs("version: 1\ntopic_id: AAAAAAAAAAAAAAAAAAAAAQ\n", f);
    fclose(f);
    assert_int_equal(sl_ckpt_read_meta(g_dir, got), SL_ERR__CORRUPT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrappers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faultfs_fail_nth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_faultfs_short_and_crash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ckpt_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ckpt_offset_and_meta, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
