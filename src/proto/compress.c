/*
 * proto/compress.c: gzip, snappy (raw and xerial-framed), lz4 (frame) and
 * zstd for record batches, with bounded decompression.
 *
 * Bounded output: every decoder writes into an sl_obuf_t that grows
 * geometrically up to max_out + 1 bytes; producing byte max_out + 1 means
 * the limit is exceeded and the call fails with SL_ERR__TOOBIG. Decoder
 * internal state is bounded too: lz4 blocks are at most 4 MiB and the zstd
 * window is capped at 2^SL_ZSTD_WINDOW_LOG_MAX.
 *
 * xerial snappy framing (Java's SnappyOutputStream):
 *   offset 0  8 bytes  magic 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *   offset 8  int32 BE version, offset 12 int32 BE compatible version
 *   then blocks: int32 BE compressed length, that many raw snappy bytes.
 *
 * Decoder contexts: creating a zstd or lz4 decompression context costs more
 * than decoding a small batch (about 10 us against 1 us for 1 KB), so each
 * thread keeps one of each in a pthread key, reset before every use and
 * freed when the thread exits. Their buffers stay bounded by the limits
 * above (at most a 16 MiB zstd window and 4 MiB lz4 blocks per thread).
 *
 * Owns: the per-thread decoder contexts. Thread-safe: nothing is shared.
 */
#include "proto/compress.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define SL_XERIAL_HEADER_SIZE 16
#define SL_XERIAL_BLOCK 32768
#define SL_ZSTD_WINDOW_LOG_MAX 24
#define SL_ZSTD_LEVEL 3

static const uint8_t sl_xerial_magic[8] = {0x82, 'S', 'N', 'A',
                                           'P',  'P', 'Y', 0};

const char *
sl_codec_name(int codec)
{
    switch (codec) {
    case SL_CODEC_NONE:
        return "none";
    case SL_CODEC_GZIP:
        return "gzip";
    case SL_CODEC_SNAPPY:
        return "snappy";
    case SL_CODEC_LZ4:
        return "lz4";
    case SL_CODEC_ZSTD:
        return "zstd";
    default:
        return "unknown";
    }
}

/* ---- per-thread decoder contexts ----------------------------------------- */

typedef struct sl_dctx_cache_s {
    ZSTD_DCtx *zstd;
    LZ4F_dctx *lz4;
} sl_dctx_cache_t;

static pthread_key_t sl_dctx_key;
static pthread_once_t sl_dctx_once = PTHREAD_ONCE_INIT;
static bool sl_dctx_key_ok;

static void
sl_dctx_cache_free(void *p)
{
    sl_dctx_cache_t *c = p;

    ZSTD_freeDCtx(c->zstd);
    if (c->lz4 != NULL) {
        LZ4F_freeDecompressionContext(c->lz4);
    }
    free(c);
}

static void
sl_dctx_key_init(void)
{
    sl_dctx_key_ok = pthread_key_create(&sl_dctx_key, sl_dctx_cache_free) == 0;
}

/* This thread's cache, created on first use; NULL when out of memory. */
static sl_dctx_cache_t *
sl_dctx_cache(void)
{
    sl_dctx_cache_t *c;

    pthread_once(&sl_dctx_once, sl_dctx_key_init);
    if (!sl_dctx_key_ok) {
        return NULL;
    }
    c = pthread_getspecific(sl_dctx_key);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL &&
        pthread_setspecific(sl_dctx_key, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/* ---- bounded output buffer ---------------------------------------------- */

typedef struct sl_obuf_s {
    uint8_t *p;
    size_t len; /* bytes produced */
    size_t cap; /* bytes allocated */
    size_t lim; /* max_out + 1: reaching it means the limit is exceeded */
} sl_obuf_t;

static sl_err_t
sl_obuf_init(sl_obuf_t *o, size_t max_out, size_t hint)
{
    o->lim = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    o->len = 0;
    o->cap = hint < 4096 ? 4096 : hint;
    if (o->cap > o->lim) {
        o->cap = o->lim;
    }
    o->p = malloc(o->cap);
    return o->p != NULL ? SL_OK : SL_ERR__NOMEM;
}

/* Make room for more output: SL_ERR__TOOBIG once the limit is reached. */
static sl_err_t
sl_obuf_grow(sl_obuf_t *o)
{
    size_t ncap;
    uint8_t *np;

    if (o->len < o->cap) {
        return SL_OK;
    }
    if (o->cap >= o->lim) {
        return SL_ERR__TOOBIG;
    }
    ncap = o->cap > o->lim / 2 ? o->lim : o->cap * 2;
    np = realloc(o->p, ncap);
    if (np == NULL) {
        return SL_ERR__NOMEM;
    }
    o->p = np;
    o->cap = ncap;
    return SL_OK;
}

/* Hand the buffer to the caller, or free it on error. */
static sl_err_t
sl_obuf_finish(sl_obuf_t *o, sl_err_t err, uint8_t **out, size_t *out_len)
{
    if (err == SL_OK && o->len >= o->lim) {
        err = SL_ERR__TOOBIG;
    }
    if (err != SL_OK) {
        free(o->p);
        o->p = NULL;
        *out = NULL;
        *out_len = 0;
        return err;
    }
    *out = o->p;
    *out_len = o->len;
    return SL_OK;
}

static uint32_t
sl_compress_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static void
sl_compress_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- gzip ---------------------------------------------------------------- */

static sl_err_t
sl_compress_gzip(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    uLong bound;
    uint8_t *buf;
    int rc;

    if (n > UINT_MAX / 2) {
        return SL_ERR__TOOBIG;
    }
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return SL_ERR__NOMEM;
    }
    bound = deflateBound(&zs, (uLong)n) + 32; /* + gzip header/trailer */
    buf = malloc(bound);
    if (buf == NULL) {
        deflateEnd(&zs);
        return SL_ERR__NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    rc = deflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&zs);
        free(buf);
        return SL_ERR__NOMEM;
    }
    *out_len = zs.total_out;
    *out = buf;
    deflateEnd(&zs);
    return SL_OK;
}

static sl_err_t
sl_decompress_gzip(const uint8_t *in, size_t n, sl_obuf_t *o)
{
    z_stream zs;
    sl_err_t err = SL_OK;
    size_t room;
    uInt before;
    int rc;

    if (n > UINT_MAX) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    memset(&zs, 0, sizeof(zs));
    /* 32 + 15: accept gzip (what Kafka writes) and zlib headers. */
    if (inflateInit2(&zs, 32 + 15) != Z_OK) {
        return SL_ERR__NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    for (;;) {
        if ((err = sl_obuf_grow(o)) != SL_OK) {
            break;
        }
        room = o->cap - o->len;
        before = room > UINT_MAX ? UINT_MAX : (uInt)room;
        zs.next_out = o->p + o->len;
        zs.avail_out = before;
        rc = inflate(&zs, Z_NO_FLUSH);
        o->len += before - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                break;
            }
            /* Another gzip member follows (Java's reader accepts these). */
            if (inflateReset(&zs) != Z_OK) {
                err = SL_ERR_CORRUPT_MESSAGE;
                break;
            }
            continue;
        }
        if (rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_out == 0)) {
            continue;
        }
        err = rc == Z_MEM_ERROR ? SL_ERR__NOMEM : SL_ERR_CORRUPT_MESSAGE;
        break;
    }
    inflateEnd(&zs);
    return err;
}

/* ---- snappy -------------------------------------------------------------- */

static sl_err_t
sl_compress_snappy(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
    size_t bound, off, blk, clen, pos;
    uint8_t *buf;

    /* xerial framing: header, then 32 KiB input blocks. */
    bound = SL_XERIAL_HEADER_SIZE;
    for (off = 0; off < n; off += SL_XERIAL_BLOCK) {
        blk = n - off < SL_XERIAL_BLOCK ? n - off : SL_XERIAL_BLOCK;
        bound += 4 + snappy_max_compressed_length(blk);
    }
    buf = malloc(bound);
    if (buf == NULL) {
        return SL_ERR__NOMEM;
    }
    memcpy(buf, sl_xerial_magic, sizeof(sl_xerial_magic));
    sl_compress_put_be32(buf + 8, 1);
    sl_compress_put_be32(buf + 12, 1);
    pos = SL_XERIAL_HEADER_SIZE;
    for (off = 0; off < n; off += SL_XERIAL_BLOCK) {
        blk = n - off < SL_XERIAL_BLOCK ? n - off : SL_XERIAL_BLOCK;
        clen = bound - pos - 4;
        if (snappy_compress((const char *)in + off, blk, (char *)buf + pos + 4,
                            &clen) != SNAPPY_OK) {
            free(buf);
            return SL_ERR__NOMEM;
        }
        sl_compress_put_be32(buf + pos, (uint32_t)clen);
        pos += 4 + clen;
    }
    *out = buf;
    *out_len = pos;
    return SL_OK;
}

/* Add the uncompressed size of one raw snappy block to *total, bounded. */
static sl_err_t
sl_snappy_block_size(const uint8_t *in, size_t n, size_t max_out, size_t *total)
{
    size_t len;

    if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    if (len > max_out || *total > max_out - len) {
        return SL_ERR__TOOBIG;
    }
    *total += len;
    return SL_OK;
}

/*
 * Walk the xerial blocks; with <o> NULL only sum their sizes into *total,
 * else decompress each into o.
 */
static sl_err_t
sl_snappy_xerial_walk(const uint8_t *in, size_t n, size_t max_out,
                      size_t *total, sl_obuf_t *o)
{
    size_t pos = SL_XERIAL_HEADER_SIZE, len;
    uint32_t clen;
    sl_err_t err;

    while (pos < n) {
        if (n - pos < 4) {
            return SL_ERR_CORRUPT_MESSAGE;
        }
        clen = sl_compress_be32(in + pos);
        pos += 4;
        if (clen == 0 || clen > n - pos) {
            return SL_ERR_CORRUPT_MESSAGE;
        }
        if (o == NULL) {
            err = sl_snappy_block_size(in + pos, clen, max_out, total);
            if (err != SL_OK) {
                return err;
            }
        } else {
            len = o->cap - o->len;
            if (snappy_uncompress((const char *)in + pos, clen,
                                  (char *)o->p + o->len, &len) != SNAPPY_OK) {
                return SL_ERR_CORRUPT_MESSAGE;
            }
            o->len += len;
        }
        pos += clen;
    }
    return SL_OK;
}

static sl_err_t
sl_decompress_snappy(const uint8_t *in, size_t n, size_t max_out, sl_obuf_t *o)
{
    size_t total = 0, len;
    bool xerial;
    sl_err_t err;

    xerial = n >= SL_XERIAL_HEADER_SIZE &&
             memcmp(in, sl_xerial_magic, sizeof(sl_xerial_magic)) == 0;
    /* First learn the exact output size, then allocate it once. */
    if (xerial) {
        err = sl_snappy_xerial_walk(in, n, max_out, &total, NULL);
    } else {
        err = sl_snappy_block_size(in, n, max_out, &total);
    }
    if (err != SL_OK) {
        return err;
    }
    free(o->p);
    o->p = malloc(total > 0 ? total : 1);
    if (o->p == NULL) {
        return SL_ERR__NOMEM;
    }
    o->cap = total;
    o->len = 0;
    if (xerial) {
        return sl_snappy_xerial_walk(in, n, max_out, &total, o);
    }
    len = total;
    if (snappy_uncompress((const char *)in, n, (char *)o->p, &len) !=
        SNAPPY_OK) {
        return SL_ERR_CORRUPT_MESSAGE;
    }
    o->len = len;
    return SL_OK;
}

/* ---- lz4 ----------------------------------------------------------------- */

static sl_err_t
sl_compress_lz4(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
    LZ4F_preferences_t prefs;
    size_t bound, r;
    uint8_t *buf;

    /* Independent 64 KiB blocks: what Kafka's Java reader handles best. */
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    bound = LZ4F_compressFrameBound(n, &prefs);
    buf = malloc(bound);
    if (buf == NULL) {
        return SL_ERR__NOMEM;
    }
    r = LZ4F_compressFrame(buf, bound, in, n, &prefs);
    if (LZ4F_isError(r)) {
        free(buf);
        return SL_ERR__NOMEM;
    }
    *out = buf;
    *out_len = r;
    return SL_OK;
}

static sl_err_t
sl_decompress_lz4(const uint8_t *in, size_t n, sl_obuf_t *o)
{
    sl_dctx_cache_t *cache = sl_dctx_cache();
    LZ4F_dctx *ctx = cache != NULL ? cache->lz4 : NULL;
    size_t pos = 0, src, dst, hint;
    sl_err_t err = SL_OK;

    if (ctx != NULL) {
        LZ4F_resetDecompressionContext(ctx);
    } else if (LZ4F_isError(
                   LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
        return SL_ERR__NOMEM;
    } else if (cache != NULL) {
        cache->lz4 = ctx;
    }
    for (;;) {
        if ((err = sl_obuf_grow(o)) != SL_OK) {
            break;
        }
        src = n - pos;
        dst = o->cap - o->len;
        hint = LZ4F_decompress(ctx, o->p + o->len, &dst, in + pos, &src, NULL);
        if (LZ4F_isError(hint)) {
            err = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        pos += src;
        o->len += dst;
        if (hint == 0 && pos == n) {
            break; /* frame complete, input used up */
        }
        if (o->len < o->cap && pos == n) {
            err = SL_ERR_CORRUPT_MESSAGE; /* truncated frame */
            break;
        }
        if (src == 0 && dst == 0 && o->len < o->cap) {
            err = SL_ERR_CORRUPT_MESSAGE; /* no progress */
            break;
        }
    }
    if (cache == NULL) {
        LZ4F_freeDecompressionContext(ctx);
    }
    return err;
}

/* ---- zstd ---------------------------------------------------------------- */

static sl_err_t
sl_compress_zstd(const uint8_t *in, size_t n, uint8_t **out, size_t *out_len)
{
    size_t bound = ZSTD_compressBound(n), r;
    uint8_t *buf = malloc(bound);

    if (buf == NULL) {
        return SL_ERR__NOMEM;
    }
    r = ZSTD_compress(buf, bound, in, n, SL_ZSTD_LEVEL);
    if (ZSTD_isError(r)) {
        free(buf);
        return SL_ERR__NOMEM;
    }
    *out = buf;
    *out_len = r;
    return SL_OK;
}

static sl_err_t
sl_decompress_zstd(const uint8_t *in, size_t n, sl_obuf_t *o)
{
    sl_dctx_cache_t *cache = sl_dctx_cache();
    ZSTD_DCtx *ctx = cache != NULL ? cache->zstd : NULL;
    ZSTD_inBuffer ib = {in, n, 0};
    ZSTD_outBuffer ob;
    sl_err_t err = SL_OK;
    size_t r, before_in, before_out;

    if (ctx != NULL) {
        /* Keeps the window limit set at creation. */
        ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
    } else {
        if ((ctx = ZSTD_createDCtx()) == NULL) {
            return SL_ERR__NOMEM;
        }
        if (ZSTD_isError(ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax,
                                                SL_ZSTD_WINDOW_LOG_MAX))) {
            ZSTD_freeDCtx(ctx);
            return SL_ERR__NOMEM;
        }
        if (cache != NULL) {
            cache->zstd = ctx;
        }
    }
    if (n == 0) {
        err = SL_ERR_CORRUPT_MESSAGE;
    }
    while (err == SL_OK) {
        if ((err = sl_obuf_grow(o)) != SL_OK) {
            break;
        }
        ob.dst = o->p;
        ob.size = o->cap;
        ob.pos = o->len;
        before_in = ib.pos;
        before_out = ob.pos;
        r = ZSTD_decompressStream(ctx, &ob, &ib);
        o->len = ob.pos;
        if (ZSTD_isError(r)) {
            err = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation
                      ? SL_ERR__NOMEM
                      : SL_ERR_CORRUPT_MESSAGE;
            break;
        }
        if (r == 0 && ib.pos == ib.size) {
            break; /* last frame complete */
        }
        if (ib.pos == ib.size && ob.pos < ob.size) {
            err = SL_ERR_CORRUPT_MESSAGE; /* truncated frame */
            break;
        }
        if (ib.pos == before_in && ob.pos == before_out && ob.pos < ob.size) {
            err = SL_ERR_CORRUPT_MESSAGE;
            break;
        }
    }
    if (cache == NULL) {
        ZSTD_freeDCtx(ctx);
    }
    return err;
}

/* ---- dispatch ------------------------------------------------------------ */

sl_err_t
sl_compress(int codec, const uint8_t *in, size_t n, uint8_t **out,
            size_t *out_len)
{
    static const uint8_t empty[1];

    *out = NULL;
    *out_len = 0;
    if (in == NULL) {
        in = empty; /* n is 0: codecs still need a valid pointer */
    }
    switch (codec) {
    case SL_CODEC_GZIP:
        return sl_compress_gzip(in, n, out, out_len);
    case SL_CODEC_SNAPPY:
        return sl_compress_snappy(in, n, out, out_len);
    case SL_CODEC_LZ4:
        return sl_compress_lz4(in, n, out, out_len);
    case SL_CODEC_ZSTD:
        return sl_compress_zstd(in, n, out, out_len);
    default:
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
}

sl_err_t
sl_decompress(int codec, const uint8_t *in, size_t n, size_t max_out,
              uint8_t **out, size_t *out_len)
{
    static const uint8_t empty[1];
    sl_obuf_t o;
    sl_err_t err;

    *out = NULL;
    *out_len = 0;
    if (codec <= SL_CODEC_NONE || codec > SL_CODEC_MAX) {
        return SL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (in == NULL) {
        in = empty;
        n = 0;
    }
    /* Compressed records usually expand 2-10x: start near that. */
    err = sl_obuf_init(&o, max_out, n > SIZE_MAX / 4 ? SIZE_MAX : n * 4);
    if (err != SL_OK) {
        return err;
    }
    switch (codec) {
    case SL_CODEC_GZIP:
        err = sl_decompress_gzip(in, n, &o);
        break;
    case SL_CODEC_SNAPPY:
        err = sl_decompress_snappy(in, n, max_out, &o);
        break;
    case SL_CODEC_LZ4:
        err = sl_decompress_lz4(in, n, &o);
        break;
    default:
        err = sl_decompress_zstd(in, n, &o);
        break;
    }
    return sl_obuf_finish(&o, err, out, out_len);
}
