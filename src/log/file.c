/*
 * log/file.c: the file-operations table and the sl_file_*() wrappers.
 *
 * Owns: the current table pointer (an atomic; defaults to POSIX). errno is
 * read here and nowhere else in log/: each failure is logged with the
 * operation and errno, and returned as SL_ERR__IO (or SL_ERR__NOENT where a
 * missing file is an expected answer).
 *
 * Not through the table: opendir/readdir (sl_file_list) and lstat
 * (sl_file_exists); faults in them would only be seen as I/O errors anyway.
 */
#include "log/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static int
sl_file_posix_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags, mode);
}

const sl_file_ops_t sl_file_ops_posix = {
    .open = sl_file_posix_open,
    .pread = pread,
    .pwrite = pwrite,
    .fdatasync = fdatasync,
    .fsync = fsync,
    .ftruncate = ftruncate,
    .close = close,
    .rename = rename,
    .unlink = unlink,
    .mkdir = mkdir,
    .rmdir = rmdir,
    .fstat = fstat,
};

static const sl_file_ops_t *_Atomic sl_file_cur = &sl_file_ops_posix;

const sl_file_ops_t *
sl_file_set_ops(const sl_file_ops_t *ops)
{
    return atomic_exchange(&sl_file_cur, ops ? ops : &sl_file_ops_posix);
}

const sl_file_ops_t *
sl_file_get_ops(void)
{
    return atomic_load(&sl_file_cur);
}

static sl_err_t
sl_file_fail(const char *op, const char *what, int e)
{
    sl_log_warn("log.file", "%s failed what=%s errno=%d (%s)", op, what, e,
                strerror(e));
    return SL_ERR__IO;
}

sl_err_t
sl_file_open(const char *path, int flags, int *fd)
{
    int r;

    do {
        r = sl_file_get_ops()->open(path, flags | O_CLOEXEC, 0644);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == ENOENT) {
            return SL_ERR__NOENT;
        }
        return sl_file_fail("open", path, errno);
    }
    *fd = r;
    return SL_OK;
}

sl_err_t
sl_file_read_at(int fd, void *buf, size_t n, int64_t off, size_t *got)
{
    size_t done = 0;
    ssize_t r;

    while (done < n) {
        r = sl_file_get_ops()->pread(fd, (uint8_t *)buf + done, n - done,
                                     (off_t)(off + (int64_t)done));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            *got = done;
            return sl_file_fail("pread", "fd", errno);
        }
        if (r == 0) {
            break;
        }
        done += (size_t)r;
    }
    *got = done;
    return SL_OK;
}

sl_err_t
sl_file_write_at(int fd, const void *buf, size_t n, int64_t off)
{
    size_t done = 0;
    ssize_t r;

    while (done < n) {
        r = sl_file_get_ops()->pwrite(fd, (const uint8_t *)buf + done, n - done,
                                      (off_t)(off + (int64_t)done));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return sl_file_fail("pwrite", "fd", errno);
        }
        if (r == 0) {
            return sl_file_fail("pwrite", "no progress", ENOSPC);
        }
        done += (size_t)r;
    }
    return SL_OK;
}

sl_err_t
sl_file_datasync(int fd)
{
    if (sl_file_get_ops()->fdatasync(fd) != 0) {
        return sl_file_fail("fdatasync", "fd", errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_sync(int fd)
{
    if (sl_file_get_ops()->fsync(fd) != 0) {
        return sl_file_fail("fsync", "fd", errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_truncate(int fd, int64_t len)
{
    int r;

    do {
        r = sl_file_get_ops()->ftruncate(fd, (off_t)len);
    } while (r < 0 && errno == EINTR);
    if (r != 0) {
        return sl_file_fail("ftruncate", "fd", errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_size(int fd, int64_t *size, int64_t *mtime_ms)
{
    struct stat st;

    if (sl_file_get_ops()->fstat(fd, &st) != 0) {
        return sl_file_fail("fstat", "fd", errno);
    }
    *size = (int64_t)st.st_size;
    if (mtime_ms != NULL) {
        *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 +
                    (int64_t)st.st_mtim.tv_nsec / 1000000;
    }
    return SL_OK;
}

void
sl_file_close(int *fd)
{
    if (*fd >= 0) {
        if (sl_file_get_ops()->close(*fd) != 0 && errno != EINTR) {
            (void)sl_file_fail("close", "fd", errno);
        }
        *fd = -1;
    }
}

sl_err_t
sl_file_rename(const char *from, const char *to)
{
    if (sl_file_get_ops()->rename(from, to) != 0) {
        return sl_file_fail("rename", from, errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_unlink(const char *path)
{
    if (sl_file_get_ops()->unlink(path) != 0) {
        if (errno == ENOENT) {
            return SL_ERR__NOENT;
        }
        return sl_file_fail("unlink", path, errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_mkdir(const char *path)
{
    if (sl_file_get_ops()->mkdir(path, 0755) != 0 && errno != EEXIST) {
        return sl_file_fail("mkdir", path, errno);
    }
    return SL_OK;
}

sl_err_t
sl_file_sync_dir(const char *path)
{
    int fd = -1;
    sl_err_t err;

    err = sl_file_open(path, O_RDONLY | O_DIRECTORY, &fd);
    if (err != SL_OK) {
        return err == SL_ERR__NOENT ? SL_ERR__IO : err;
    }
    err = sl_file_sync(fd);
    sl_file_close(&fd);
    return err;
}

sl_err_t
sl_file_write_atomic(const char *dir, const char *path, const void *data,
                     size_t len)
{
    char tmp[4096];
    int fd = -1;
    sl_err_t err;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return SL_ERR__INVAL;
    }
    err = sl_file_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, &fd);
    if (err != SL_OK) {
        return err == SL_ERR__NOENT ? SL_ERR__IO : err;
    }
    err = sl_file_write_at(fd, data, len, 0);
    if (err == SL_OK) {
        err = sl_file_sync(fd);
    }
    sl_file_close(&fd);
    if (err == SL_OK) {
        err = sl_file_rename(tmp, path);
    }
    if (err == SL_OK) {
        err = sl_file_sync_dir(dir);
    }
    if (err != SL_OK) {
        (void)sl_file_unlink(tmp);
    }
    return err;
}

sl_err_t
sl_file_read_small(const char *path, void *buf, size_t cap, size_t *len)
{
    int fd = -1;
    size_t got = 0;
    uint8_t extra;
    sl_err_t err;

    err = sl_file_open(path, O_RDONLY, &fd);
    if (err != SL_OK) {
        return err;
    }
    err = sl_file_read_at(fd, buf, cap, 0, &got);
    if (err == SL_OK && got == cap) {
        size_t more = 0;

        err = sl_file_read_at(fd, &extra, 1, (int64_t)cap, &more);
        if (err == SL_OK && more != 0) {
            err = SL_ERR__TOOBIG;
        }
    }
    sl_file_close(&fd);
    *len = got;
    return err;
}

sl_err_t
sl_file_list(const char *path, sl_file_list_cb cb, void *arg)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL, **grown;
    size_t n = 0, cap = 0, i;
    bool stop = false;
    sl_err_t err = SL_OK;

    if ((d = opendir(path)) == NULL) {
        if (errno == ENOENT) {
            return SL_ERR__NOENT;
        }
        return sl_file_fail("opendir", path, errno);
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
                err = SL_ERR__NOMEM;
                break;
            }
            names = grown;
        }
        if ((names[n] = strdup(de->d_name)) == NULL) {
            err = SL_ERR__NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    for (i = 0; i < n; i++) {
        if (err == SL_OK && !stop) {
            stop = cb(arg, names[i]) != 0;
        }
        free(names[i]);
    }
    free(names);
    return err;
}

typedef struct sl_file_rm_s {
    const char *dir;
    sl_err_t err;
} sl_file_rm_t;

static int
sl_file_rm_one(void *arg, const char *name)
{
    sl_file_rm_t *rm = arg;
    char p[4096];
    sl_err_t err;

    if (snprintf(p, sizeof(p), "%s/%s", rm->dir, name) >= (int)sizeof(p)) {
        rm->err = SL_ERR__INVAL;
        return 0;
    }
    err = sl_file_unlink(p);
    if (err != SL_OK && err != SL_ERR__NOENT) {
        rm->err = err;
    }
    return 0;
}

sl_err_t
sl_file_remove_dir(const char *path)
{
    sl_file_rm_t rm = {path, SL_OK};
    sl_err_t err;

    err = sl_file_list(path, sl_file_rm_one, &rm);
    if (err != SL_OK) {
        return err;
    }
    if (rm.err != SL_OK) {
        return rm.err;
    }
    if (sl_file_get_ops()->rmdir(path) != 0) {
        return sl_file_fail("rmdir", path, errno);
    }
    return SL_OK;
}

bool
sl_file_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}
