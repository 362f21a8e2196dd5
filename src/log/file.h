/*
 * log/file.h: every file operation of the storage engine goes through one
 * table of function pointers (sqlite's VFS idea), so tests can swap in a
 * table that fails the Nth call with EIO or ENOSPC, writes short, or
 * "crashes" (drops every write after N bytes). See log/faultfs.h.
 *
 * The sl_file_*() wrappers retry EINTR and short transfers, log the errno
 * once ("warn log.file: ... errno=...") and return sl_err_t: errno never
 * leaves file.c.
 *
 * Owns: the pointer to the current table. Thread-safe: the wrappers are
 * reentrant; swapping the table is meant for tests between runs.
 */
#ifndef SL_LOG_FILE_H
#define SL_LOG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/err.h"

typedef enum sl_file_op_e {
    SL_FILE_OP_OPEN = 0,
    SL_FILE_OP_PREAD,
    SL_FILE_OP_PWRITE,
    SL_FILE_OP_FDATASYNC,
    SL_FILE_OP_FSYNC,
    SL_FILE_OP_FTRUNCATE,
    SL_FILE_OP_CLOSE,
    SL_FILE_OP_RENAME,
    SL_FILE_OP_UNLINK,
    SL_FILE_OP_MKDIR,
    SL_FILE_OP_RMDIR,
    SL_FILE_OP_FSTAT,
    SL_FILE_OP__COUNT
} sl_file_op_e;

/* The table: POSIX signatures, errors in errno. */
typedef struct sl_file_ops_s {
    int (*open)(const char *path, int flags, mode_t mode);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    int (*fdatasync)(int fd);
    int (*fsync)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*close)(int fd);
    int (*rename)(const char *from, const char *to);
    int (*unlink)(const char *path);
    int (*mkdir)(const char *path, mode_t mode);
    int (*rmdir)(const char *path);
    int (*fstat)(int fd, struct stat *st);
} sl_file_ops_t;

/* The real system calls. */
extern const sl_file_ops_t sl_file_ops_posix;

/* Install <ops> (NULL = the POSIX table); returns the previous table. */
const sl_file_ops_t *sl_file_set_ops(const sl_file_ops_t *ops);

/* The table in use. */
const sl_file_ops_t *sl_file_get_ops(void);

/* Open <path> with O_* <flags> (O_CLOEXEC is added), mode 0644.
 * @returns SL_OK, SL_ERR__NOENT (no such file), SL_ERR__IO */
sl_err_t sl_file_open(const char *path, int flags, int *fd);

/* Read up to <n> bytes at <off>, retrying short reads until EOF; *got gets
 * the count (less than n only at end of file). @returns SL_OK, SL_ERR__IO */
sl_err_t sl_file_read_at(int fd, void *buf, size_t n, int64_t off, size_t *got);

/* Write all <n> bytes at <off>, retrying short writes. A write that makes
 * no progress or fails (EIO, ENOSPC...) is SL_ERR__IO; bytes before the
 * failure may have reached the file, and the caller truncates them. */
sl_err_t sl_file_write_at(int fd, const void *buf, size_t n, int64_t off);

sl_err_t sl_file_datasync(int fd);
sl_err_t sl_file_sync(int fd);
sl_err_t sl_file_truncate(int fd, int64_t len);
sl_err_t sl_file_size(int fd, int64_t *size, int64_t *mtime_ms);

/* Close *fd if >= 0 and set it to -1. A failing close is logged only. */
void sl_file_close(int *fd);

sl_err_t sl_file_rename(const char *from, const char *to);
/* @returns SL_OK, SL_ERR__NOENT, SL_ERR__IO */
sl_err_t sl_file_unlink(const char *path);
/* An existing directory is SL_OK. */
sl_err_t sl_file_mkdir(const char *path);
/* fsync a directory so that entries created, renamed or removed in it are
 * durable. */
sl_err_t sl_file_sync_dir(const char *path);

/* Write a small file atomically: <path>.tmp, fsync, rename over <path>,
 * fsync the parent directory <dir>. */
sl_err_t sl_file_write_atomic(const char *dir, const char *path,
                              const void *data, size_t len);

/* Read a whole small file into buf[cap]; *len gets its size.
 * @returns SL_OK, SL_ERR__NOENT, SL_ERR__TOOBIG (larger than cap),
 *          SL_ERR__IO */
sl_err_t sl_file_read_small(const char *path, void *buf, size_t cap,
                            size_t *len);

/* Call <cb> with each entry name of directory <path> but "." and "..".
 * A non-zero return from cb stops the walk. Names are listed first, so cb
 * may remove entries. @returns SL_OK, SL_ERR__NOENT, SL_ERR__IO,
 * SL_ERR__NOMEM */
typedef int (*sl_file_list_cb)(void *arg, const char *name);
sl_err_t sl_file_list(const char *path, sl_file_list_cb cb, void *arg);

/* Remove a directory and the files in it (one level, as partition
 * directories are flat). */
sl_err_t sl_file_remove_dir(const char *path);

/* Whether <path> exists (lstat; not through the table). */
bool sl_file_exists(const char *path);

#endif
