/*
 * log/faultfs.c: the fault-injecting file-operations table (see faultfs.h).
 * Owns: the rules and counters, under one mutex. Thread-safe.
 */
#include "log/faultfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct sl_faultfs_rule_s {
    int64_t nth;   /* calls left before the first failure; 0 = no rule */
    int64_t times; /* failures left; < 0 forever */
    int err;
} sl_faultfs_rule_t;

static pthread_mutex_t sl_faultfs_lock = PTHREAD_MUTEX_INITIALIZER;
static sl_faultfs_rule_t sl_faultfs_rules[SL_FILE_OP__COUNT];
static int64_t sl_faultfs_counts[SL_FILE_OP__COUNT];
static bool sl_faultfs_short;
static int64_t sl_faultfs_budget = -1;
static bool sl_faultfs_down;

/* Count the call; return the errno to fail it with, or 0. With <crash_ok>
 * set, a crashed disk makes the call a silent no-op (returns -1). */
static int
sl_faultfs_enter(sl_file_op_e op, bool crash_ok)
{
    sl_faultfs_rule_t *r = &sl_faultfs_rules[op];
    int e = 0;

    pthread_mutex_lock(&sl_faultfs_lock);
    sl_faultfs_counts[op]++;
    if (r->nth > 0 && --r->nth == 0) {
        e = r->err;
        if (r->times > 0) {
            r->times--;
        }
        if (r->times != 0) {
            r->nth = 1; /* fail the next call too */
        }
    }
    if (e == 0 && crash_ok && sl_faultfs_down) {
        e = -1;
    }
    pthread_mutex_unlock(&sl_faultfs_lock);
    return e;
}

static int
sl_faultfs_open(const char *path, int flags, mode_t mode)
{
    int e = sl_faultfs_enter(SL_FILE_OP_OPEN, (flags & O_CREAT) != 0);

    if (e > 0) {
        errno = e;
        return -1;
    }
    if (e < 0) {
        /* crashed: a file created now never reaches the disk */
        return sl_file_ops_posix.open("/dev/null", O_RDWR | O_CLOEXEC, 0);
    }
    return sl_file_ops_posix.open(path, flags, mode);
}

static ssize_t
sl_faultfs_pread(int fd, void *buf, size_t n, off_t off)
{
    int e = sl_faultfs_enter(SL_FILE_OP_PREAD, false);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return pread(fd, buf, n, off);
}

static ssize_t
sl_faultfs_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int e = sl_faultfs_enter(SL_FILE_OP_PWRITE, true);
    size_t k = n;
    ssize_t w;

    if (e > 0) {
        errno = e;
        return -1;
    }
    if (e < 0) {
        return (ssize_t)n; /* crashed: dropped */
    }
    pthread_mutex_lock(&sl_faultfs_lock);
    if (sl_faultfs_short && k > 1) {
        k /= 2;
    }
    if (sl_faultfs_budget >= 0) {
        if ((int64_t)k > sl_faultfs_budget) {
            /* the crash tears this write: write the budget, drop the rest */
            k = (size_t)sl_faultfs_budget;
            sl_faultfs_down = true;
            sl_faultfs_budget = -1;
            pthread_mutex_unlock(&sl_faultfs_lock);
            if (k > 0 && pwrite(fd, buf, k, off) < 0) {
                return -1;
            }
            return (ssize_t)n;
        }
        sl_faultfs_budget -= (int64_t)k;
    }
    pthread_mutex_unlock(&sl_faultfs_lock);
    w = pwrite(fd, buf, k, off);
    return w;
}

static int
sl_faultfs_fdatasync(int fd)
{
    int e = sl_faultfs_enter(SL_FILE_OP_FDATASYNC, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : fdatasync(fd);
}

static int
sl_faultfs_fsync(int fd)
{
    int e = sl_faultfs_enter(SL_FILE_OP_FSYNC, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : fsync(fd);
}

static int
sl_faultfs_ftruncate(int fd, off_t len)
{
    int e = sl_faultfs_enter(SL_FILE_OP_FTRUNCATE, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : ftruncate(fd, len);
}

static int
sl_faultfs_close(int fd)
{
    (void)sl_faultfs_enter(SL_FILE_OP_CLOSE, false);
    return close(fd);
}

static int
sl_faultfs_rename(const char *from, const char *to)
{
    int e = sl_faultfs_enter(SL_FILE_OP_RENAME, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : rename(from, to);
}

static int
sl_faultfs_unlink(const char *path)
{
    int e = sl_faultfs_enter(SL_FILE_OP_UNLINK, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : unlink(path);
}

static int
sl_faultfs_mkdir(const char *path, mode_t mode)
{
    int e = sl_faultfs_enter(SL_FILE_OP_MKDIR, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : mkdir(path, mode);
}

static int
sl_faultfs_rmdir(const char *path)
{
    int e = sl_faultfs_enter(SL_FILE_OP_RMDIR, true);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return e < 0 ? 0 : rmdir(path);
}

static int
sl_faultfs_fstat(int fd, struct stat *st)
{
    int e = sl_faultfs_enter(SL_FILE_OP_FSTAT, false);

    if (e > 0) {
        errno = e;
        return -1;
    }
    return fstat(fd, st);
}

static const sl_file_ops_t sl_faultfs_ops = {
    .open = sl_faultfs_open,
    .pread = sl_faultfs_pread,
    .pwrite = sl_faultfs_pwrite,
    .fdatasync = sl_faultfs_fdatasync,
    .fsync = sl_faultfs_fsync,
    .ftruncate = sl_faultfs_ftruncate,
    .close = sl_faultfs_close,
    .rename = sl_faultfs_rename,
    .unlink = sl_faultfs_unlink,
    .mkdir = sl_faultfs_mkdir,
    .rmdir = sl_faultfs_rmdir,
    .fstat = sl_faultfs_fstat,
};

void
sl_faultfs_install(void)
{
    pthread_mutex_lock(&sl_faultfs_lock);
    memset(sl_faultfs_rules, 0, sizeof(sl_faultfs_rules));
    memset(sl_faultfs_counts, 0, sizeof(sl_faultfs_counts));
    sl_faultfs_short = false;
    sl_faultfs_budget = -1;
    sl_faultfs_down = false;
    pthread_mutex_unlock(&sl_faultfs_lock);
    (void)sl_file_set_ops(&sl_faultfs_ops);
}

void
sl_faultfs_uninstall(void)
{
    (void)sl_file_set_ops(NULL);
}

void
sl_faultfs_clear(void)
{
    pthread_mutex_lock(&sl_faultfs_lock);
    memset(sl_faultfs_rules, 0, sizeof(sl_faultfs_rules));
    sl_faultfs_short = false;
    sl_faultfs_budget = -1;
    sl_faultfs_down = false;
    pthread_mutex_unlock(&sl_faultfs_lock);
}

void
sl_faultfs_fail(sl_file_op_e op, int64_t nth, int err, int64_t times)
{
    pthread_mutex_lock(&sl_faultfs_lock);
    sl_faultfs_rules[op].nth = nth > 0 ? nth : 1;
    sl_faultfs_rules[op].err = err;
    sl_faultfs_rules[op].times = times == 0 ? 1 : times;
    pthread_mutex_unlock(&sl_faultfs_lock);
}

void
sl_faultfs_short_writes(bool on)
{
    pthread_mutex_lock(&sl_faultfs_lock);
    sl_faultfs_short = on;
    pthread_mutex_unlock(&sl_faultfs_lock);
}

void
sl_faultfs_crash_after(int64_t budget)
{
    pthread_mutex_lock(&sl_faultfs_lock);
    sl_faultfs_budget = budget;
    pthread_mutex_unlock(&sl_faultfs_lock);
}

bool
sl_faultfs_crashed(void)
{
    bool d;

    pthread_mutex_lock(&sl_faultfs_lock);
    d = sl_faultfs_down;
    pthread_mutex_unlock(&sl_faultfs_lock);
    return d;
}

int64_t
sl_faultfs_count(sl_file_op_e op)
{
    int64_t c;

    pthread_mutex_lock(&sl_faultfs_lock);
    c = sl_faultfs_counts[op];
    pthread_mutex_unlock(&sl_faultfs_lock);
    return c;
}
