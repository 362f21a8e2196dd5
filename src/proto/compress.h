/*
 * proto/compress.h: the four Kafka compression codecs of record batches v2:
 * gzip (zlib), snappy (raw, and the xerial framing Java clients send), lz4
 * (the standard LZ4 frame) and zstd.
 *
 * Buffers: both directions return a malloc'd buffer that the caller owns and
 * releases with free(). Decompression is bounded: the caller gives the most
 * output it accepts and the codec never allocates more than that (plus a
 * small constant), so a decompression bomb fails fast.
 *
 * Owns: nothing beyond each call. Thread-safe: no shared state.
 */
#ifndef SL_PROTO_COMPRESS_H
#define SL_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Codec ids as in the low three bits of batch attributes. */
typedef enum sl_codec_e {
    SL_CODEC_NONE = 0,
    SL_CODEC_GZIP = 1,
    SL_CODEC_SNAPPY = 2,
    SL_CODEC_LZ4 = 3,
    SL_CODEC_ZSTD = 4,
} sl_codec_e;

#define SL_CODEC_MAX SL_CODEC_ZSTD

/* "none", "gzip", "snappy", "lz4", "zstd", or "unknown". */
const char *sl_codec_name(int codec);

/*
 * Compress <n> bytes at <in> with <codec> at its default level. Snappy output
 * uses the xerial framing (what Java clients write and read).
 * On SL_OK, *out is a malloc'd buffer of *out_len bytes (never NULL).
 * @returns SL_OK, SL_ERR_UNSUPPORTED_COMPRESSION_TYPE (unknown codec or
 *          SL_CODEC_NONE), SL_ERR__NOMEM.
 */
sl_err_t sl_compress(int codec, const uint8_t *in, size_t n, uint8_t **out,
                     size_t *out_len);

/*
 * Decompress <n> bytes at <in> with <codec>, producing at most <max_out>
 * bytes. Snappy input may be raw or xerial-framed (detected by its magic).
 * On SL_OK, *out is a malloc'd buffer of *out_len bytes (never NULL, even when
 * *out_len is 0). On error *out is NULL.
 * @returns SL_OK;
 *          SL_ERR__TOOBIG when the output would exceed max_out;
 *          SL_ERR_CORRUPT_MESSAGE for malformed or truncated input;
 *          SL_ERR_UNSUPPORTED_COMPRESSION_TYPE for an unknown codec;
 *          SL_ERR__NOMEM.
 */
sl_err_t sl_decompress(int codec, const uint8_t *in, size_t n, size_t max_out,
                       uint8_t **out, size_t *out_len);

#endif
