/*
 * log/faultfs.h: a fault-injecting file-operations table for tests
 * (sqlite's test VFS idea). Installed with sl_faultfs_install(), it passes
 * every call to the POSIX table unless a rule says otherwise:
 *
 *   - fail:   the Nth call of one operation (counted from the rule) and the
 *             next <times> - 1 calls fail with an errno (EIO, ENOSPC...);
 *   - short:  pwrite transfers at most half of what it is asked (>= 1);
 *   - crash:  after <budget> more bytes, writes are silently dropped and
 *             every later mutating call (pwrite, ftruncate, rename, unlink,
 *             mkdir, rmdir, fsync, and open with O_CREAT, which gets
 *             /dev/null) reports success without doing anything, as if
 *             the machine had lost power: what was written before stays.
 *
 * It counts calls of every kind, so tests can check group commit (N
 * appends, few fdatasyncs).
 *
 * Owns: its rules and counters (one mutex). Thread-safe.
 */
#ifndef SL_LOG_FAULTFS_H
#define SL_LOG_FAULTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "log/file.h"

/* Install the table, clear rules and counters. */
void sl_faultfs_install(void);

/* Put the POSIX table back. */
void sl_faultfs_uninstall(void);

/* Clear every rule (counters stay). */
void sl_faultfs_clear(void);

/* Fail the <nth> (1 = next) call of <op> and the <times> - 1 after it
 * (times < 0: every call from then on) with errno <err>. One rule per op. */
void sl_faultfs_fail(sl_file_op_e op, int64_t nth, int err, int64_t times);

/* Short writes on or off. */
void sl_faultfs_short_writes(bool on);

/* Crash after <budget> more bytes of pwrite (< 0: no crash). */
void sl_faultfs_crash_after(int64_t budget);

/* Whether the simulated crash happened. */
bool sl_faultfs_crashed(void);

/* Calls of <op> since install (failed ones included). */
int64_t sl_faultfs_count(sl_file_op_e op);

#endif
