/*
 * log/ckpt.h: the small text files of a partition directory, in Kafka's
 * formats (byte layouts in ckpt.c): leader-epoch-checkpoint,
 * partition.metadata, and one-entry offset checkpoints (recovery point,
 * log start offset).
 *
 * Owns: nothing (pure encode/parse plus sl_file_* calls). Thread-safe.
 * Files are written atomically (tmp, fsync, rename, fsync dir) and parsed
 * strictly: any deviation is SL_ERR__CORRUPT, never a crash.
 */
#ifndef SL_LOG_CKPT_H
#define SL_LOG_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SL_CKPT_EPOCHS "leader-epoch-checkpoint"
#define SL_CKPT_META "partition.metadata"
#define SL_CKPT_RECOVERY "recovery-point-offset-checkpoint"
#define SL_CKPT_LOG_START "log-start-offset-checkpoint"
#define SL_CKPT_MAX_EPOCHS 65536

typedef struct sl_epoch_entry_s {
    int32_t epoch;
    int64_t start_offset;
} sl_epoch_entry_t;

/* Read a leader-epoch-checkpoint; *out is malloc'd (free it), epochs and
 * offsets strictly increase. @returns SL_OK, SL_ERR__NOENT,
 * SL_ERR__CORRUPT, SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_ckpt_read_epochs(const char *dir, sl_epoch_entry_t **out,
                             size_t *n);
sl_err_t sl_ckpt_write_epochs(const char *dir, const sl_epoch_entry_t *e,
                              size_t n);

/* One-entry offset checkpoint <dir>/<name> for <topic>/<partition>. */
sl_err_t sl_ckpt_read_offset(const char *dir, const char *name,
                             const char *topic, int32_t partition,
                             int64_t *offset);
sl_err_t sl_ckpt_write_offset(const char *dir, const char *name,
                              const char *topic, int32_t partition,
                              int64_t offset);

/* partition.metadata: "version: 0\ntopic_id: <base64url uuid>\n". */
sl_err_t sl_ckpt_read_meta(const char *dir, uint8_t id[16]);
sl_err_t sl_ckpt_write_meta(const char *dir, const uint8_t id[16]);

/* Kafka's text form of a UUID: URL-safe base64 without padding (22
 * characters). out needs 23 bytes. */
void sl_ckpt_uuid_encode(const uint8_t id[16], char out[23]);
sl_err_t sl_ckpt_uuid_decode(const char *s, size_t n, uint8_t id[16]);

#endif
