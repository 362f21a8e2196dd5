/*
 * proto/batch.c: record batch v2 parsing, validation, iteration, in-place
 * rewrites, building and control records. The byte layout is in batch.h.
 *
 * Every read is checked against the end of its enclosing range: the batch
 * against the caller's bytes, a record against its own length prefix, a
 * header against its record. Nothing here allocates except sl_batch_build()
 * and decompression, both bounded by their callers.
 *
 * Owns: nothing. Thread-safe.
 */
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/varint.h"

/* Smallest batch_length: a header with no records. */
#define SL_BATCH_MIN_LENGTH (SL_BATCH_HEADER_SIZE - SL_BATCH_LOG_OVERHEAD)
/* Bound on the uncompressed records a builder accepts. */
#define SL_BATCH_MAX_RECORDS_SIZE ((uint64_t)INT32_MAX - SL_BATCH_HEADER_SIZE)

/* ---- big-endian helpers ---------------------------------------------------
 */

static uint16_t
sl_batch_get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static uint32_t
sl_batch_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static uint64_t
sl_batch_get64(const uint8_t *p)
{
    return (uint64_t)sl_batch_get32(p) << 32 | sl_batch_get32(p + 4);
}

static void
sl_batch_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
sl_batch_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
sl_batch_put64(uint8_t *p, uint64_t v)
{
    sl_batch_put32(p, (uint32_t)(v >> 32));
    sl_batch_put32(p + 4, (uint32_t)v);
}

/* ---- header ---------------------------------------------------------------
 */

/* Kafka's produce-side batch checks (LogValidator). */
static sl_err_t
sl_batch_check_produce(const sl_batch_t *b)
{
    if (b->records_count == 0 ||
        (int64_t)b->last_offset_delta + 1 != b->records_count) {
        return SL_ERR_INVALID_RECORD;
    }
    if (b->producer_id >= 0 && b->base_sequence < 0) {
        return SL_ERR_INVALID_RECORD;
    }
    if (sl_batch_is_transactional(b) && b->producer_id < 0) {
        return SL_ERR_INVALID_RECORD;
    }
    if (sl_batch_is_control(b)) {
        return SL_ERR_INVALID_RECORD; /* clients never write markers */
    }
    return SL_OK;
}

sl_err_t
sl_batch_parse(const uint8_t *p, size_t n, int flags, sl_batch_t *b)
{
    uint32_t crc;

    if (n < SL_BATCH_HEADER_SIZE) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    b->data = p;
    b->size = n;
    b->base_offset = (int64_t)sl_batch_get64(p);
    b->batch_length = (int32_t)sl_batch_get32(p + 8);
    b->partition_leader_epoch = (int32_t)sl_batch_get32(p + 12);
    b->magic = (int8_t)p[16];
    b->crc = sl_batch_get32(p + 17);
    b->attributes = (int16_t)sl_batch_get16(p + 21);
    b->last_offset_delta = (int32_t)sl_batch_get32(p + 23);
    b->base_timestamp = (int64_t)sl_batch_get64(p + 27);
    b->max_timestamp = (int64_t)sl_batch_get64(p + 35);
    b->producer_id = (int64_t)sl_batch_get64(p + 43);
    b->producer_epoch = (int16_t)sl_batch_get16(p + 51);
    b->base_sequence = (int32_t)sl_batch_get32(p + 53);
    b->records_count = (int32_t)sl_batch_get32(p + 57);
    b->records = p + SL_BATCH_HEADER_SIZE;
    b->records_size = n - SL_BATCH_HEADER_SIZE;

    if (b->batch_length < SL_BATCH_MIN_LENGTH ||
        (size_t)b->batch_length + SL_BATCH_LOG_OVERHEAD != n) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    if (b->magic != SL_BATCH_MAGIC) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    if ((flags & SL_BATCH_F_NOCRC) == 0) {
        crc = sl_crc32c(0, p + SL_BATCH_ATTR_OFFSET, n - SL_BATCH_ATTR_OFFSET);
        if (crc != b->crc) {
            return SL_ERR_CORRUPT_MESSAGE;
        }
    }
    if (sl_batch_codec(b) > SL_CODEC_MAX) {
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (b->records_count < 0 || b->last_offset_delta < 0 ||
        b->last_offset_delta < b->records_count - 1) {
        return SL_ERR_INVALID_RECORD;
    }
    if (flags & SL_BATCH_F_PRODUCE) {
        return sl_batch_check_produce(b);
    }
    return SL_OK;
}

/* ---- batch sequences ------------------------------------------------------
 */

void
sl_batch_seq_init(sl_batch_seq_t *it, const uint8_t *p, size_t n, int flags)
{
    it->p = p;
    it->end = p + n;
    it->flags = flags;
    it->err = SL_OK;
}

sl_err_t
sl_batch_seq_next(sl_batch_seq_t *it, sl_batch_t *b, size_t *partial)
{
    size_t rem = (size_t)(it->end - it->p), size;
    int32_t len;
    sl_err_t err;

    if (partial != NULL) {
        *partial = 0;
    }
    if (it->err != SL_OK) {
        return it->err;
    }
    if (rem == 0) {
        return SL_ERR__NOENT;
    }
    if (rem >= SL_BATCH_LOG_OVERHEAD) {
        len = (int32_t)sl_batch_get32(it->p + 8);
        if (len < SL_BATCH_MIN_LENGTH) {
            it->err = SL_ERR_CORRUPT_MESSAGE;
            return it->err;
        }
        size = (size_t)len + SL_BATCH_LOG_OVERHEAD;
        if (size <= rem) {
            err = sl_batch_parse(it->p, size, it->flags, b);
            if (err != SL_OK) {
                it->err = err;
                return err;
            }
            it->p += size;
            return SL_OK;
        }
    }
    if (partial != NULL) {
        *partial = rem;
    }
    return SL_ERR__AGAIN;
}

sl_err_t
sl_batch_records(const sl_batch_t *b, size_t max_out, const uint8_t **recs,
                 size_t *recs_len, uint8_t **owned)
{
    sl_err_t err;

    *owned = NULL;
    if (sl_batch_codec(b) == SL_CODEC_NONE) {
        *recs = b->records;
        *recs_len = b->records_size;
        return SL_OK;
    }
    err = sl_decompress(sl_batch_codec(b), b->records, b->records_size, max_out,
                        owned, recs_len);
    *recs = *owned;
    return err;
}

/* ---- records --------------------------------------------------------------
 */

void
sl_record_iter_init(sl_record_iter_t *it, const uint8_t *p, size_t n,
                    int32_t count)
{
    it->p = p;
    it->end = p + n;
    it->count = count;
    it->index = 0;
}

/* Read a zigzag varint length at *pp (< end): -1 (null, if allowed) or
 * 0..end-*pp; advance past it and past the bytes it announces. */
static sl_err_t
sl_record_read_bytes(const uint8_t **pp, const uint8_t *end, bool nullable,
                     const uint8_t **data, int32_t *len)
{
    const uint8_t *p = *pp;
    size_t k = sl_varint_dec_s32(p, end, len);

    if (k == 0) {
        return SL_ERR_INVALID_RECORD;
    }
    p += k;
    if (*len == -1 && nullable) {
        *data = NULL;
    } else if (*len < 0 || (size_t)*len > (size_t)(end - p)) {
        return SL_ERR_INVALID_RECORD;
    } else {
        *data = p;
        p += *len;
    }
    *pp = p;
    return SL_OK;
}

static sl_err_t
sl_record_parse(const uint8_t *p, const uint8_t *end, sl_record_t *r)
{
    const uint8_t *hk, *hv;
    int32_t i, hkl, hvl;
    size_t k;

    if (p >= end) {
        return SL_ERR_INVALID_RECORD;
    }
    r->attributes = (int8_t)*p++;
    if ((k = sl_varint_dec_s64(p, end, &r->timestamp_delta)) == 0) {
        return SL_ERR_INVALID_RECORD;
    }
    p += k;
    if ((k = sl_varint_dec_s32(p, end, &r->offset_delta)) == 0) {
        return SL_ERR_INVALID_RECORD;
    }
    p += k;
    if (sl_record_read_bytes(&p, end, true, &r->key, &r->key_len) != SL_OK ||
        sl_record_read_bytes(&p, end, true, &r->value, &r->value_len) !=
            SL_OK) {
        return SL_ERR_INVALID_RECORD;
    }
    if ((k = sl_varint_dec_s32(p, end, &r->headers_count)) == 0 ||
        r->headers_count < 0) {
        return SL_ERR_INVALID_RECORD;
    }
    p += k;
    r->headers = p;
    /* Each header takes at least two bytes, so this ends quickly on lies. */
    for (i = 0; i < r->headers_count; i++) {
        if (sl_record_read_bytes(&p, end, false, &hk, &hkl) != SL_OK ||
            sl_record_read_bytes(&p, end, true, &hv, &hvl) != SL_OK) {
            return SL_ERR_INVALID_RECORD;
        }
    }
    r->headers_size = (size_t)(p - r->headers);
    return p == end ? SL_OK : SL_ERR_INVALID_RECORD;
}

sl_err_t
sl_record_iter_next(sl_record_iter_t *it, sl_record_t *r)
{
    int32_t len;
    size_t k;
    sl_err_t err;

    if (it->index >= it->count) {
        return it->p == it->end ? SL_ERR__NOENT : SL_ERR_INVALID_RECORD;
    }
    k = sl_varint_dec_s32(it->p, it->end, &len);
    if (k == 0 || len < 0 || (size_t)len > (size_t)(it->end - it->p) - k) {
        return SL_ERR_INVALID_RECORD;
    }
    err = sl_record_parse(it->p + k, it->p + k + len, r);
    if (err != SL_OK) {
        return err;
    }
    it->p += k + (size_t)len;
    it->index++;
    return SL_OK;
}

void
sl_header_iter_init(sl_header_iter_t *it, const sl_record_t *r)
{
    it->p = r->headers;
    it->end = r->headers + r->headers_size;
    it->left = r->headers_count;
}

sl_err_t
sl_header_iter_next(sl_header_iter_t *it, sl_record_header_t *h)
{
    if (it->left <= 0 ||
        sl_record_read_bytes(&it->p, it->end, false, &h->key, &h->key_len) !=
            SL_OK ||
        sl_record_read_bytes(&it->p, it->end, true, &h->value, &h->value_len) !=
            SL_OK) {
        it->left = 0;
        return SL_ERR__NOENT;
    }
    it->left--;
    return SL_OK;
}

sl_err_t
sl_batch_validate_records(const sl_batch_t *b, size_t max_out, int flags)
{
    const uint8_t *recs;
    uint8_t *owned;
    size_t len;
    sl_record_iter_t it;
    sl_record_t r;
    int64_t prev = -1;
    sl_err_t err;

    err = sl_batch_records(b, max_out, &recs, &len, &owned);
    if (err != SL_OK) {
        return err;
    }
    sl_record_iter_init(&it, recs, len, b->records_count);
    while ((err = sl_record_iter_next(&it, &r)) == SL_OK) {
        if (r.offset_delta <= prev || r.offset_delta > b->last_offset_delta ||
            ((flags & SL_BATCH_F_PRODUCE) && r.offset_delta != it.index - 1)) {
            err = SL_ERR_INVALID_RECORD;
            break;
        }
        prev = r.offset_delta;
    }
    free(owned);
    return err == SL_ERR__NOENT ? SL_OK : err;
}

/* ---- in-place rewrites ----------------------------------------------------
 */

void
sl_batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
    sl_batch_put64(p, (uint64_t)base_offset);
}

void
sl_batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
    sl_batch_put32(p + 12, (uint32_t)epoch);
}

void
sl_batch_update_crc(uint8_t *p, size_t n)
{
    sl_batch_put32(
        p + SL_BATCH_CRC_OFFSET,
        sl_crc32c(0, p + SL_BATCH_ATTR_OFFSET, n - SL_BATCH_ATTR_OFFSET));
}

void
sl_batch_set_log_append_time(uint8_t *p, size_t n, int64_t ts)
{
    uint16_t attr = sl_batch_get16(p + 21);

    sl_batch_put16(p + 21, (uint16_t)(attr | SL_BATCH_ATTR_LOG_APPEND_TIME));
    sl_batch_put64(p + 35, (uint64_t)ts);
    sl_batch_update_crc(p, n);
}

/* ---- builder --------------------------------------------------------------
 */

void
sl_batch_params_init(sl_batch_params_t *bp)
{
    memset(bp, 0, sizeof(*bp));
    bp->partition_leader_epoch = -1;
    bp->producer_id = SL_BATCH_NO_PRODUCER_ID;
    bp->producer_epoch = -1;
    bp->base_sequence = SL_BATCH_NO_SEQUENCE;
}

static int64_t
sl_batch_ts_delta(int64_t ts, int64_t base)
{
    return (int64_t)((uint64_t)ts - (uint64_t)base); /* wraps, no UB */
}

static size_t
sl_batch_bytes_size(const void *p, size_t len)
{
    if (p == NULL) {
        return 1; /* varint -1 */
    }
    return sl_varint_size_s32((int32_t)len) + len;
}

/* Body size of record <i> (without its length prefix); 0 when too big. */
static uint64_t
sl_batch_record_body_size(const sl_record_in_t *r, int32_t i, int64_t base)
{
    uint64_t sz;
    size_t h;

    if (r->key_len > INT32_MAX || r->value_len > INT32_MAX ||
        r->headers_count > INT32_MAX) {
        return 0;
    }
    sz = 1 + sl_varint_size_s64(sl_batch_ts_delta(r->timestamp, base)) +
         sl_varint_size_s32(i) + sl_batch_bytes_size(r->key, r->key_len) +
         sl_batch_bytes_size(r->value, r->value_len) +
         sl_varint_size_s32((int32_t)r->headers_count);
    for (h = 0; h < r->headers_count; h++) {
        if (r->headers[h].key_len > INT32_MAX ||
            r->headers[h].value_len > INT32_MAX) {
            return 0;
        }
        sz += sl_batch_bytes_size(r->headers[h].key, r->headers[h].key_len) +
              sl_batch_bytes_size(r->headers[h].value, r->headers[h].value_len);
    }
    return sz > SL_BATCH_MAX_RECORDS_SIZE ? 0 : sz;
}

static uint8_t *
sl_batch_put_bytes(uint8_t *w, const void *p, size_t len)
{
    if (p == NULL) {
        return w + sl_varint_enc_s32(w, -1);
    }
    w += sl_varint_enc_s32(w, (int32_t)len);
    if (len > 0) {
        memcpy(w, p, len);
    }
    return w + len;
}

static uint8_t *
sl_batch_put_record(uint8_t *w, const sl_record_in_t *r, int32_t i,
                    int64_t base, uint64_t body)
{
    size_t h;

    w += sl_varint_enc_s32(w, (int32_t)body);
    *w++ = 0; /* attributes */
    w += sl_varint_enc_s64(w, sl_batch_ts_delta(r->timestamp, base));
    w += sl_varint_enc_s32(w, i);
    w = sl_batch_put_bytes(w, r->key, r->key_len);
    w = sl_batch_put_bytes(w, r->value, r->value_len);
    w += sl_varint_enc_s32(w, (int32_t)r->headers_count);
    for (h = 0; h < r->headers_count; h++) {
        w = sl_batch_put_bytes(w, r->headers[h].key, r->headers[h].key_len);
        w = sl_batch_put_bytes(w, r->headers[h].value, r->headers[h].value_len);
    }
    return w;
}

static void
sl_batch_put_header(uint8_t *p, size_t total, const sl_batch_params_t *bp,
                    int32_t count, int64_t base_ts, int64_t max_ts)
{
    uint16_t attr = (uint16_t)(bp->codec & SL_BATCH_ATTR_CODEC_MASK);

    attr |= bp->log_append_time ? SL_BATCH_ATTR_LOG_APPEND_TIME : 0;
    attr |= bp->transactional ? SL_BATCH_ATTR_TRANSACTIONAL : 0;
    attr |= bp->control ? SL_BATCH_ATTR_CONTROL : 0;
    sl_batch_put64(p, (uint64_t)bp->base_offset);
    sl_batch_put32(p + 8, (uint32_t)(total - SL_BATCH_LOG_OVERHEAD));
    sl_batch_put32(p + 12, (uint32_t)bp->partition_leader_epoch);
    p[16] = SL_BATCH_MAGIC;
    sl_batch_put16(p + 21, attr);
    sl_batch_put32(p + 23, (uint32_t)(count > 0 ? count - 1 : 0));
    sl_batch_put64(p + 27, (uint64_t)base_ts);
    sl_batch_put64(p + 35, (uint64_t)max_ts);
    sl_batch_put64(p + 43, (uint64_t)bp->producer_id);
    sl_batch_put16(p + 51, (uint16_t)bp->producer_epoch);
    sl_batch_put32(p + 53, (uint32_t)bp->base_sequence);
    sl_batch_put32(p + 57, (uint32_t)count);
    sl_batch_update_crc(p, total);
}

sl_err_t
sl_batch_build(const sl_batch_params_t *bp, const sl_record_in_t *recs,
               size_t n, uint8_t **out, size_t *out_len)
{
    uint64_t total = 0, body;
    int64_t base_ts = -1, max_ts = -1;
    uint8_t *raw = NULL, *buf, *w, *z = NULL;
    size_t i, zlen;
    sl_err_t err;

    *out = NULL;
    *out_len = 0;
    if (n > INT32_MAX) {
        return SL_ERR__INVAL;
    }
    if (bp->codec < SL_CODEC_NONE || bp->codec > SL_CODEC_MAX) {
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (n > 0) {
        base_ts = max_ts = recs[0].timestamp;
    }
    for (i = 0; i < n; i++) {
        body = sl_batch_record_body_size(&recs[i], (int32_t)i, base_ts);
        if (body == 0) {
            return SL_ERR__INVAL;
        }
        total += sl_varint_size_u64(sl_varint_zz32((int32_t)body)) + body;
        if (total > SL_BATCH_MAX_RECORDS_SIZE) {
            return SL_ERR__INVAL;
        }
        max_ts = recs[i].timestamp > max_ts ? recs[i].timestamp : max_ts;
    }
    /* Uncompressed: records go straight after the header. */
    raw = malloc(SL_BATCH_HEADER_SIZE + (size_t)total);
    if (raw == NULL) {
        return SL_ERR__NOMEM;
    }
    w = raw + SL_BATCH_HEADER_SIZE;
    for (i = 0; i < n; i++) {
        body = sl_batch_record_body_size(&recs[i], (int32_t)i, base_ts);
        w = sl_batch_put_record(w, &recs[i], (int32_t)i, base_ts, body);
    }
    buf = raw;
    if (bp->codec != SL_CODEC_NONE) {
        err = sl_compress(bp->codec, raw + SL_BATCH_HEADER_SIZE, (size_t)total,
                          &z, &zlen);
        free(raw);
        if (err != SL_OK) {
            return err;
        }
        if (zlen > SL_BATCH_MAX_RECORDS_SIZE ||
            (buf = malloc(SL_BATCH_HEADER_SIZE + zlen)) == NULL) {
            free(z);
            return zlen > SL_BATCH_MAX_RECORDS_SIZE ? SL_ERR__INVAL
                                                    : SL_ERR__NOMEM;
        }
        memcpy(buf + SL_BATCH_HEADER_SIZE, z, zlen);
        free(z);
        total = zlen;
    }
    sl_batch_put_header(buf, SL_BATCH_HEADER_SIZE + (size_t)total, bp,
                        (int32_t)n, base_ts, max_ts);
    *out = buf;
    *out_len = SL_BATCH_HEADER_SIZE + (size_t)total;
    return SL_OK;
}

/* ---- control records ------------------------------------------------------
 */

sl_err_t
sl_control_build(int64_t producer_id, int16_t producer_epoch, bool commit,
                 int32_t coordinator_epoch, int64_t timestamp, uint8_t **out,
                 size_t *out_len)
{
    uint8_t key[4], value[6];
    sl_batch_params_t bp;
    sl_record_in_t r;

    sl_batch_put16(key, 0);
    sl_batch_put16(key + 2, commit ? SL_CONTROL_COMMIT : SL_CONTROL_ABORT);
    sl_batch_put16(value, 0);
    sl_batch_put32(value + 2, (uint32_t)coordinator_epoch);
    memset(&r, 0, sizeof(r));
    r.key = key;
    r.key_len = sizeof(key);
    r.value = value;
    r.value_len = sizeof(value);
    r.timestamp = timestamp;
    sl_batch_params_init(&bp);
    bp.control = true;
    bp.transactional = true;
    bp.producer_id = producer_id;
    bp.producer_epoch = producer_epoch;
    return sl_batch_build(&bp, &r, 1, out, out_len);
}

sl_err_t
sl_control_parse_key(const sl_record_t *r, int16_t *type)
{
    if (r->key == NULL || r->key_len < 4 ||
        (int16_t)sl_batch_get16(r->key) < 0) {
        return SL_ERR_INVALID_RECORD;
    }
    *type = (int16_t)sl_batch_get16(r->key + 2);
    return SL_OK;
}

sl_err_t
sl_control_parse_marker(const sl_record_t *r, int32_t *coordinator_epoch)
{
    if (r->value == NULL || r->value_len < 6 ||
        (int16_t)sl_batch_get16(r->value) < 0) {
        return SL_ERR_INVALID_RECORD;
    }
    *coordinator_epoch = (int32_t)sl_batch_get32(r->value + 2);
    return SL_OK;
}
