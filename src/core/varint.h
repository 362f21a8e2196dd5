/*
 * core/varint.h: unsigned LEB128-style varints (flexible protocol fields) and
 * zigzag-signed varints (record fields), as Kafka encodes them.
 *
 * Decoders never read past <end> and reject overlong encodings (more than 5
 * bytes for 32-bit, 10 for 64-bit). Pure functions, thread-safe.
 */
#ifndef SL_CORE_VARINT_H
#define SL_CORE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define SL_VARINT_MAX32 5
#define SL_VARINT_MAX64 10

/* Decode an unsigned varint of at most <maxlen> bytes from [p, end).
 * @returns bytes consumed, or 0 on truncated or overlong input. */
static inline size_t
sl_varint_dec_u64(const uint8_t *p, const uint8_t *end, uint64_t *out,
                  size_t maxlen)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < maxlen && p + i < end; i++) {
        uint8_t b = p[i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

static inline size_t
sl_varint_dec_u32(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
    uint64_t v;
    size_t n = sl_varint_dec_u64(p, end, &v, SL_VARINT_MAX32);

    if (n == 0 || v > UINT32_MAX) {
        return 0;
    }
    *out = (uint32_t)v;
    return n;
}

/* Zigzag-signed 32-bit varint. */
static inline size_t
sl_varint_dec_s32(const uint8_t *p, const uint8_t *end, int32_t *out)
{
    uint32_t u;
    size_t n = sl_varint_dec_u32(p, end, &u);

    if (n != 0) {
        *out = (int32_t)((u >> 1) ^ (~(u & 1) + 1));
    }
    return n;
}

/* Zigzag-signed 64-bit varlong. */
static inline size_t
sl_varint_dec_s64(const uint8_t *p, const uint8_t *end, int64_t *out)
{
    uint64_t u;
    size_t n = sl_varint_dec_u64(p, end, &u, SL_VARINT_MAX64);

    if (n != 0) {
        *out = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    }
    return n;
}

static inline size_t
sl_varint_size_u64(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint32_t
sl_varint_zz32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static inline uint64_t
sl_varint_zz64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline size_t
sl_varint_size_s32(int32_t v)
{
    return sl_varint_size_u64(sl_varint_zz32(v));
}

static inline size_t
sl_varint_size_s64(int64_t v)
{
    return sl_varint_size_u64(sl_varint_zz64(v));
}

/* Encode; the caller guarantees room for sl_varint_size_*() bytes.
 * @returns bytes written. */
static inline size_t
sl_varint_enc_u64(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t
sl_varint_enc_s32(uint8_t *p, int32_t v)
{
    return sl_varint_enc_u64(p, sl_varint_zz32(v));
}

static inline size_t
sl_varint_enc_s64(uint8_t *p, int64_t v)
{
    return sl_varint_enc_u64(p, sl_varint_zz64(v));
}

#endif
