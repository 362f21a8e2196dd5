/*
 * proto/batch.h: Kafka record batches v2 (magic 2): header validation, CRC,
 * record iteration, in-place rewrites (base offset, leader epoch,
 * LogAppendTime), a builder, and control records (transaction markers).
 *
 * Byte layout of a batch (big-endian; CRC-32C covers [21, end)):
 *
 *   offset size field
 *        0    8 base_offset            int64
 *        8    4 batch_length           int32  = total size - 12
 *       12    4 partition_leader_epoch int32
 *       16    1 magic                  int8   = 2
 *       17    4 crc                    uint32
 *       21    2 attributes             int16  bits 0-2 codec, 3 LogAppendTime,
 *                                             4 transactional, 5 control,
 *                                             6 delete horizon
 *       23    4 last_offset_delta      int32
 *       27    8 base_timestamp         int64
 *       35    8 max_timestamp          int64
 *       43    8 producer_id            int64
 *       51    2 producer_epoch         int16
 *       53    4 base_sequence          int32
 *       57    4 records_count          int32
 *       61    . records (one compressed block when the codec is not none)
 *
 * A record: varint length, int8 attributes, varlong timestamp_delta, varint
 * offset_delta, varint key length (-1 null) + key, varint value length
 * (-1 null) + value, varint header count, then per header varint key length
 * + key, varint value length (-1 null) + value. Varints are zigzag.
 *
 * Parsed views (sl_batch_t, sl_record_t) point into the caller's bytes and
 * own nothing. Errors: SL_ERR_CORRUPT_MESSAGE for CRC mismatch and broken
 * batch structure, SL_ERR_INVALID_RECORD for broken records and the record
 * count / offset checks Kafka's broker makes on produce,
 * SL_ERR_UNSUPPORTED_COMPRESSION_TYPE for codecs 5-7.
 * Thread-safe: no shared state.
 */
#ifndef SL_PROTO_BATCH_H
#define SL_PROTO_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "proto/compress.h"

#define SL_BATCH_HEADER_SIZE 61  /* through records_count */
#define SL_BATCH_LOG_OVERHEAD 12 /* base_offset + batch_length */
#define SL_BATCH_MAGIC 2
#define SL_BATCH_CRC_OFFSET 17
#define SL_BATCH_ATTR_OFFSET 21

#define SL_BATCH_ATTR_CODEC_MASK 0x07
#define SL_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define SL_BATCH_ATTR_TRANSACTIONAL 0x10
#define SL_BATCH_ATTR_CONTROL 0x20
#define SL_BATCH_ATTR_DELETE_HORIZON 0x40

#define SL_BATCH_NO_PRODUCER_ID (-1)
#define SL_BATCH_NO_SEQUENCE (-1)

/* sl_batch_parse() flags. */
#define SL_BATCH_F_NOCRC 0x01 /* skip the CRC check (caller verified it) */
/* Produce-side checks Kafka's broker makes: records_count > 0 and equal to
 * last_offset_delta + 1; a producer id needs a sequence >= 0. */
#define SL_BATCH_F_PRODUCE 0x02

/* A parsed batch header; pointers into the caller's bytes. */
typedef struct sl_batch_s {
    const uint8_t *data; /* first byte (base_offset) */
    size_t size;         /* total bytes, batch_length + 12 */
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
    const uint8_t *records; /* bytes after the header (maybe compressed) */
    size_t records_size;
} sl_batch_t;

/* One record; key/value NULL with length -1 when null. */
typedef struct sl_record_s {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    const uint8_t *key;
    int32_t key_len;
    const uint8_t *value;
    int32_t value_len;
    int32_t headers_count;
    const uint8_t *headers; /* encoded headers, already validated */
    size_t headers_size;
} sl_record_t;

typedef struct sl_record_header_s {
    const uint8_t *key; /* UTF-8, never null */
    int32_t key_len;
    const uint8_t *value; /* NULL when value_len is -1 */
    int32_t value_len;
} sl_record_header_t;

/* Iterator over the records of an uncompressed records block. */
typedef struct sl_record_iter_s {
    const uint8_t *p, *end;
    int32_t count; /* declared records */
    int32_t index; /* records returned so far */
} sl_record_iter_t;

/* Iterator over the headers of one record. */
typedef struct sl_header_iter_s {
    const uint8_t *p, *end;
    int32_t left;
} sl_header_iter_t;

/* Iterator over a sequence of batches in one byte range. */
typedef struct sl_batch_seq_s {
    const uint8_t *p, *end;
    int flags;
    sl_err_t err; /* sticky error */
} sl_batch_seq_t;

static inline int
sl_batch_codec(const sl_batch_t *b)
{
    return b->attributes & SL_BATCH_ATTR_CODEC_MASK;
}

static inline bool
sl_batch_is_control(const sl_batch_t *b)
{
    return (b->attributes & SL_BATCH_ATTR_CONTROL) != 0;
}

static inline bool
sl_batch_is_transactional(const sl_batch_t *b)
{
    return (b->attributes & SL_BATCH_ATTR_TRANSACTIONAL) != 0;
}

/*
 * Parse and validate the batch occupying exactly [p, p + n): magic 2,
 * batch_length + 12 == n, n >= 61, codec 0-4, records_count >= 0,
 * last_offset_delta >= records_count - 1 (compaction may leave holes),
 * CRC (unless SL_BATCH_F_NOCRC) and, with SL_BATCH_F_PRODUCE, Kafka's
 * produce checks. Records are not looked at; see sl_record_iter_*.
 * @returns SL_OK, SL_ERR_CORRUPT_MESSAGE, SL_ERR_INVALID_RECORD,
 *          SL_ERR_UNSUPPORTED_COMPRESSION_TYPE
 */
sl_err_t sl_batch_parse(const uint8_t *p, size_t n, int flags, sl_batch_t *b);

/*
 * Iterate the batches of a byte range such as a Produce `records` field or a
 * Fetch response's records (which may end with a partial batch).
 * sl_batch_seq_next() returns:
 *   SL_OK            *b holds the next batch, parsed with <flags>;
 *   SL_ERR__NOENT    clean end, no bytes left;
 *   SL_ERR__AGAIN    the bytes left are a prefix of a batch (fewer than 12
 *                    bytes, or fewer than its batch_length + 12); *partial
 *                    gets their count. Produce treats this as corruption;
 *   any sl_batch_parse() error for a complete but invalid batch.
 * After an error, further calls return the same error.
 */
void sl_batch_seq_init(sl_batch_seq_t *it, const uint8_t *p, size_t n,
                       int flags);
sl_err_t sl_batch_seq_next(sl_batch_seq_t *it, sl_batch_t *b, size_t *partial);

/*
 * Give the uncompressed records block of <b>: for codec none, a view into
 * the batch (*owned NULL); otherwise a malloc'd buffer of at most <max_out>
 * bytes that the caller frees via *owned.
 * @returns SL_OK, sl_decompress() errors (SL_ERR__TOOBIG past max_out).
 */
sl_err_t sl_batch_records(const sl_batch_t *b, size_t max_out,
                          const uint8_t **recs, size_t *recs_len,
                          uint8_t **owned);

/*
 * Iterate <count> records in [p, p + n). next() returns SL_OK with *r,
 * SL_ERR__NOENT after the last record when every byte was consumed, or
 * SL_ERR_INVALID_RECORD for a malformed record, bytes left over after
 * <count> records, or fewer records than <count>.
 */
void sl_record_iter_init(sl_record_iter_t *it, const uint8_t *p, size_t n,
                         int32_t count);
sl_err_t sl_record_iter_next(sl_record_iter_t *it, sl_record_t *r);

/* Iterate the headers of a record from sl_record_iter_next() (validated, so
 * next() only returns SL_OK or SL_ERR__NOENT at the end). */
void sl_header_iter_init(sl_header_iter_t *it, const sl_record_t *r);
sl_err_t sl_header_iter_next(sl_header_iter_t *it, sl_record_header_t *h);

/*
 * Decompress (bounded by <max_out>) and walk every record of a parsed
 * batch, checking the count and that offset deltas increase and stay
 * <= last_offset_delta. With SL_BATCH_F_PRODUCE offset deltas must be
 * exactly 0, 1, 2, ... as Kafka requires of producers.
 * @returns SL_OK or the first error.
 */
sl_err_t sl_batch_validate_records(const sl_batch_t *b, size_t max_out,
                                   int flags);

/* In-place rewrites of a complete, parsed batch at <p> (the bytes must be
 * writable). Base offset and leader epoch are outside the CRC. */
void sl_batch_set_base_offset(uint8_t *p, int64_t base_offset);
void sl_batch_set_leader_epoch(uint8_t *p, int32_t epoch);

/* Set the LogAppendTime attribute and max_timestamp = <ts>, recompute the
 * CRC. <n> is the batch's size (>= 61). */
void sl_batch_set_log_append_time(uint8_t *p, size_t n, int64_t ts);

/* Recompute the CRC of the batch at [p, p + n), n >= 61. */
void sl_batch_update_crc(uint8_t *p, size_t n);

/* ---- builder --------------------------------------------------------------
 */

typedef struct sl_header_in_s {
    const char *key; /* never NULL */
    size_t key_len;
    const uint8_t *value; /* NULL = null value */
    size_t value_len;
} sl_header_in_t;

typedef struct sl_record_in_s {
    const uint8_t *key; /* NULL = null key */
    size_t key_len;
    const uint8_t *value; /* NULL = null value (tombstone) */
    size_t value_len;
    int64_t timestamp;
    const sl_header_in_t *headers;
    size_t headers_count;
} sl_record_in_t;

typedef struct sl_batch_params_s {
    int64_t base_offset;
    int32_t partition_leader_epoch;
    int codec;
    bool transactional;
    bool control;
    bool log_append_time;
    int64_t producer_id; /* -1 = none */
    int16_t producer_epoch;
    int32_t base_sequence;
} sl_batch_params_t;

/* Params with no producer, offset 0, epoch -1, no codec. */
void sl_batch_params_init(sl_batch_params_t *bp);

/*
 * Build a batch of <n> records (offset deltas 0..n-1, timestamp deltas from
 * the first record's timestamp). *out is malloc'd (caller frees) and holds
 * *out_len bytes with a valid CRC.
 * @returns SL_OK, SL_ERR__INVAL (lengths over INT32_MAX, n too big),
 *          SL_ERR_UNSUPPORTED_COMPRESSION_TYPE, SL_ERR__NOMEM.
 */
sl_err_t sl_batch_build(const sl_batch_params_t *bp, const sl_record_in_t *recs,
                        size_t n, uint8_t **out, size_t *out_len);

/* ---- control records ------------------------------------------------------
 */

typedef enum sl_control_type_e {
    SL_CONTROL_ABORT = 0,
    SL_CONTROL_COMMIT = 1,
} sl_control_type_e;

/*
 * Build a commit or abort marker batch: control + transactional, no codec,
 * base sequence -1, one record with key (version 0, type) and value
 * (version 0, coordinator epoch). *out as for sl_batch_build().
 */
sl_err_t sl_control_build(int64_t producer_id, int16_t producer_epoch,
                          bool commit, int32_t coordinator_epoch,
                          int64_t timestamp, uint8_t **out, size_t *out_len);

/*
 * Read a control record key: *type gets the type (0 abort, 1 commit, 2-6
 * KRaft types). A higher version is accepted; a negative version or fewer
 * than 4 bytes is SL_ERR_INVALID_RECORD.
 */
sl_err_t sl_control_parse_key(const sl_record_t *r, int16_t *type);

/*
 * Read an end-transaction marker value (version >= 0, coordinator epoch).
 * @returns SL_OK or SL_ERR_INVALID_RECORD (null, short, negative version).
 */
sl_err_t sl_control_parse_marker(const sl_record_t *r,
                                 int32_t *coordinator_epoch);

#endif
