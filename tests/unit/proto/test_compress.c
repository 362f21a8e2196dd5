/*
 * tests/unit/proto/test_compress.c: the four codecs both ways at several
 * sizes, the exact output limit, decompression bombs (100 MiB of zeros, limit
 * 1 MiB, with peak memory measured), truncated and garbage input, and xerial
 * vs raw snappy detection.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compress.h"

#define MIB (1024 * 1024)

static const int codecs[] = {SL_CODEC_GZIP, SL_CODEC_SNAPPY, SL_CODEC_LZ4,
                             SL_CODEC_ZSTD};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Mildly compressible bytes: words from a small alphabet plus noise. */
static uint8_t *
make_data(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n > 0 ? n : 1);
    size_t i;

    assert_non_null(p);
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (seed >> 16) % 7 == 0 ? (uint8_t)(seed >> 8)
                                     : (uint8_t)('a' + (seed >> 20) % 8);
    }
    return p;
}

static void
roundtrip(int codec, const uint8_t *data, size_t n)
{
    uint8_t *z, *out;
    size_t zlen, olen;

    assert_int_equal(sl_compress(codec, data, n, &z, &zlen), SL_OK);
    assert_non_null(z);
    assert_int_equal(sl_decompress(codec, z, zlen, n, &out, &olen), SL_OK);
    assert_non_null(out);
    assert_int_equal(olen, n);
    assert_memory_equal(out, data, n > 0 ? n : 0);
    free(out);
    if (n > 0) {
        /* One byte less than needed must fail, not truncate silently. */
        assert_int_equal(sl_decompress(codec, z, zlen, n - 1, &out, &olen),
                         SL_ERR__TOOBIG);
        assert_null(out);
    }
    free(z);
}

static void
test_compress_roundtrip_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 100, 4096, 65537, 300000, MIB};
    size_t c, s;
    uint8_t *data;

    (void)state;
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        data = make_data(sizes[s], (unsigned)s + 1);
        for (c = 0; c < NCODECS; c++) {
            roundtrip(codecs[c], data, sizes[s]);
        }
        free(data);
    }
}

static void
test_compress_incompressible(void **state)
{
    size_t n = MIB, i, c;
    uint8_t *data = malloc(n);
    unsigned seed = 99;

    (void)state;
    for (i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        data[i] = (uint8_t)(seed >> 24);
    }
    for (c = 0; c < NCODECS; c++) {
        roundtrip(codecs[c], data, n);
    }
    free(data);
}

static void
test_compress_unknown_codec(void **state)
{
    uint8_t *out;
    size_t olen;

    (void)state;
    assert_int_equal(sl_decompress(5, (const uint8_t *)"x", 1, 10, &out, &olen),
                     SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(
        sl_decompress(SL_CODEC_NONE, (const uint8_t *)"x", 1, 10, &out, &olen),
        SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_int_equal(sl_compress(7, (const uint8_t *)"x", 1, &out, &olen),
                     SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    assert_string_equal(sl_codec_name(SL_CODEC_ZSTD), "zstd");
    assert_string_equal(sl_codec_name(9), "unknown");
}

/* ---- bombs -----------------------------------------------------------------
 */

#define BOMB_SIZE ((size_t)100 * MIB)
#define BOMB_CHUNK ((size_t)1 * MIB)

typedef struct {
    uint8_t *p;
    size_t len, cap;
} grow_t;

static void
grow_put(grow_t *g, const void *p, size_t n)
{
    if (g->len + n > g->cap) {
        g->cap = (g->len + n) * 2;
        g->p = realloc(g->p, g->cap);
        assert_non_null(g->p);
    }
    memcpy(g->p + g->len, p, n);
    g->len += n;
}

/* 100 MiB of zeros compressed by streaming, never holding 100 MiB. */
static grow_t
make_bomb(int codec)
{
    static uint8_t zeros[BOMB_CHUNK];
    static uint8_t tmp[2 * BOMB_CHUNK];
    grow_t g = {0};
    size_t done, r;

    if (codec == SL_CODEC_GZIP) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        assert_int_equal(
            deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
        for (done = 0; done < BOMB_SIZE; done += BOMB_CHUNK) {
            zs.next_in = zeros;
            zs.avail_in = BOMB_CHUNK;
            do {
                zs.next_out = tmp;
                zs.avail_out = sizeof(tmp);
                deflate(&zs,
                        done + BOMB_CHUNK == BOMB_SIZE ? Z_FINISH : Z_NO_FLUSH);
                grow_put(&g, tmp, sizeof(tmp) - zs.avail_out);
            } while (zs.avail_out == 0);
        }
        deflateEnd(&zs);
    } else if (codec == SL_CODEC_SNAPPY) {
        /* xerial: header then identical 32 KiB blocks of zeros. */
        size_t clen = sizeof(tmp);
        uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                           0,    0,   0,   1,   0,   0,   0,   1};
        assert_int_equal(
            snappy_compress((const char *)zeros, 32768, (char *)tmp + 4, &clen),
            SNAPPY_OK);
        tmp[0] = 0;
        tmp[1] = 0;
        tmp[2] = (uint8_t)(clen >> 8);
        tmp[3] = (uint8_t)clen;
        grow_put(&g, hdr, sizeof(hdr));
        for (done = 0; done < BOMB_SIZE; done += 32768) {
            grow_put(&g, tmp, 4 + clen);
        }
    } else if (codec == SL_CODEC_LZ4) {
        LZ4F_cctx *cc;
        assert_false(
            LZ4F_isError(LZ4F_createCompressionContext(&cc, LZ4F_VERSION)));
        r = LZ4F_compressBegin(cc, tmp, sizeof(tmp), NULL);
        grow_put(&g, tmp, r);
        for (done = 0; done < BOMB_SIZE; done += BOMB_CHUNK) {
            r = LZ4F_compressUpdate(cc, tmp, sizeof(tmp), zeros, BOMB_CHUNK,
                                    NULL);
            assert_false(LZ4F_isError(r));
            grow_put(&g, tmp, r);
        }
        r = LZ4F_compressEnd(cc, tmp, sizeof(tmp), NULL);
        grow_put(&g, tmp, r);
        LZ4F_freeCompressionContext(cc);
    } else {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_outBuffer ob;
        ZSTD_inBuffer ib;
        for (done = 0; done < BOMB_SIZE; done += BOMB_CHUNK) {
            bool last = done + BOMB_CHUNK == BOMB_SIZE;
            ib = (ZSTD_inBuffer){zeros, BOMB_CHUNK, 0};
            do {
                ob = (ZSTD_outBuffer){tmp, sizeof(tmp), 0};
                r = ZSTD_compressStream2(cc, &ob, &ib,
                                         last ? ZSTD_e_end : ZSTD_e_continue);
                assert_false(ZSTD_isError(r));
                grow_put(&g, tmp, ob.pos);
            } while (last ? r != 0 : ib.pos < ib.size);
        }
        ZSTD_freeCCtx(cc);
    }
    return g;
}

/* Field <key> of /proc/self/status in KiB, or -1. */
static long
proc_status_kb(const char *key)
{
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Reset the peak RSS (VmHWM) if the kernel lets us; false if not. */
static bool
reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    bool ok;

    if (f == NULL) {
        return false;
    }
    ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static void
test_compress_bombs(void **state)
{
    size_t c, olen;
    uint8_t *out;
    grow_t g;
    long base, peak;
    bool measured;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        g = make_bomb(codecs[c]);
        assert_true(g.len < 8 * MIB);
        measured = reset_peak_rss();
        base = proc_status_kb("VmRSS");
        assert_int_equal(sl_decompress(codecs[c], g.p, g.len, MIB, &out, &olen),
                         SL_ERR__TOOBIG);
        assert_null(out);
        peak = proc_status_kb("VmHWM");
        if (measured && base > 0 && peak > 0) {
            /* 1 MiB of output plus decoder state: far below 100 MiB. */
            print_message("bomb %s: %zu compressed bytes, peak RSS +%ld KiB\n",
                          sl_codec_name(codecs[c]), g.len, peak - base);
            assert_true(peak - base < 24 * 1024);
        }
        /* With a large enough limit the bomb is just data. */
        if (codecs[c] != SL_CODEC_SNAPPY) {
            assert_int_equal(
                sl_decompress(codecs[c], g.p, g.len / 2 + 1, MIB, &out, &olen),
                SL_ERR__TOOBIG);
        }
        free(g.p);
    }
}

/* A raw snappy stream announcing more than the limit fails before any
 * decompression. */
static void
test_compress_snappy_raw(void **state)
{
    size_t n = 2 * MIB, clen = snappy_max_compressed_length(n), olen;
    uint8_t *data = make_data(n, 5), *z = malloc(clen), *out;

    (void)state;
    assert_int_equal(snappy_compress((const char *)data, n, (char *)z, &clen),
                     SNAPPY_OK);
    assert_int_equal(sl_decompress(SL_CODEC_SNAPPY, z, clen, n, &out, &olen),
                     SL_OK);
    assert_int_equal(olen, n);
    assert_memory_equal(out, data, n);
    free(out);
    assert_int_equal(sl_decompress(SL_CODEC_SNAPPY, z, clen, MIB, &out, &olen),
                     SL_ERR__TOOBIG);
    /* A length varint that lies (claims 5 bytes, stream holds 2 MiB). */
    z[0] = 5;
    assert_int_equal(
        sl_decompress(SL_CODEC_SNAPPY, z, clen, 10 * MIB, &out, &olen),
        SL_ERR_CORRUPT_MESSAGE);
    free(z);
    free(data);
}

static void
test_compress_xerial_lies(void **state)
{
    uint8_t *z, *out;
    size_t zlen, olen;
    uint8_t *data = make_data(100000, 3);

    (void)state;
    assert_int_equal(sl_compress(SL_CODEC_SNAPPY, data, 100000, &z, &zlen),
                     SL_OK);
    assert_memory_equal(z, "\x82SNAPPY\0", 8);
    /* First block length past the end, then zero. */
    z[16] = 0x7f;
    assert_int_equal(sl_decompress(SL_CODEC_SNAPPY, z, zlen, MIB, &out, &olen),
                     SL_ERR_CORRUPT_MESSAGE);
    z[16] = 0;
    z[17] = z[18] = z[19] = 0;
    assert_int_equal(sl_decompress(SL_CODEC_SNAPPY, z, zlen, MIB, &out, &olen),
                     SL_ERR_CORRUPT_MESSAGE);
    /* Header only: an empty stream. */
    assert_int_equal(sl_decompress(SL_CODEC_SNAPPY, z, 16, MIB, &out, &olen),
                     SL_OK);
    assert_int_equal(olen, 0);
    free(out);
    free(z);
    free(data);
}

static void
test_compress_truncated(void **state)
{
    size_t n = 3000, c, cut, zlen, olen;
    uint8_t *data = make_data(n, 11), *z, *out;
    sl_err_t err;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        assert_int_equal(sl_compress(codecs[c], data, n, &z, &zlen), SL_OK);
        for (cut = 0; cut < zlen; cut++) {
            err = sl_decompress(codecs[c], z, cut, 2 * n, &out, &olen);
            if (codecs[c] == SL_CODEC_SNAPPY && err == SL_OK) {
                /* xerial has no end mark: a cut at a block boundary is a
                 * valid shorter stream, never the original. */
                assert_true(olen < n);
                free(out);
                continue;
            }
            /* A cut xerial header reads as raw snappy whose length varint
             * may announce more than the limit. */
            if (codecs[c] != SL_CODEC_SNAPPY || err != SL_ERR__TOOBIG) {
                assert_int_equal(err, SL_ERR_CORRUPT_MESSAGE);
            }
            assert_null(out);
        }
        free(z);
    }
    free(data);
}

static void
test_compress_garbage(void **state)
{
    uint8_t buf[4096], *out, *z;
    size_t c, i, olen, zlen;
    unsigned seed = 1;
    int round;
    sl_err_t err;
    uint8_t *data = make_data(20000, 8);

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        for (round = 0; round < 50; round++) {
            for (i = 0; i < sizeof(buf); i++) {
                seed = seed * 1103515245u + 12345u;
                buf[i] = (uint8_t)(seed >> 16);
            }
            err = sl_decompress(codecs[c], buf, sizeof(buf), MIB, &out, &olen);
            assert_int_not_equal(err, SL_OK);
        }
        /* Flip bytes inside real compressed data: error or different data,
         * never a crash (run under ASan). */
        assert_int_equal(sl_compress(codecs[c], data, 20000, &z, &zlen), SL_OK);
        for (i = 0; i < zlen; i += 7) {
            z[i] ^= 0x5a;
            err = sl_decompress(codecs[c], z, zlen, MIB, &out, &olen);
            if (err == SL_OK) {
                free(out);
            }
            z[i] ^= 0x5a;
        }
        free(z);
    }
    free(data);
}

/* A zstd frame announcing a huge window is refused (the decoder would
 * allocate it), also when the thread's cached context is reused. */
static void
test_compress_zstd_window_limit(void **state)
{
    /* magic, descriptor (no content size), window byte, raw last block of
     * one byte 'x'. Window byte 0x50 = 2^20, 0x88 = 2^27. */
    uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00,
                       0x50, 0x09, 0x00, 0x00, 'x'};
    uint8_t *out;
    size_t olen;
    int round;

    (void)state;
    for (round = 0; round < 2; round++) {
        frame[5] = 0x50;
        assert_int_equal(sl_decompress(SL_CODEC_ZSTD, frame, sizeof(frame), MIB,
                                       &out, &olen),
                         SL_OK);
        assert_int_equal(olen, 1);
        assert_int_equal(out[0], 'x');
        free(out);
        frame[5] = 0x88;
        assert_int_equal(sl_decompress(SL_CODEC_ZSTD, frame, sizeof(frame), MIB,
                                       &out, &olen),
                         SL_ERR_CORRUPT_MESSAGE);
    }
}

static void *
thread_roundtrips(void *arg)
{
    uint8_t *data = make_data(50000, (unsigned)(uintptr_t)arg);
    size_t c;
    int r;

    for (r = 0; r < 20; r++) {
        for (c = 0; c < NCODECS; c++) {
            roundtrip(codecs[c], data, 50000);
        }
    }
    free(data);
    return NULL;
}

/* Per-thread decoder contexts: concurrent use is independent and freed at
 * thread exit (LeakSanitizer checks the latter). */
static void
test_compress_threads(void **state)
{
    pthread_t t[3];
    uintptr_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        assert_int_equal(
            pthread_create(&t[i], NULL, thread_roundtrips, (void *)(i + 1)), 0);
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compress_roundtrip_sizes),
        cmocka_unit_test(test_compress_incompressible),
        cmocka_unit_test(test_compress_unknown_codec),
        cmocka_unit_test(test_compress_bombs),
        cmocka_unit_test(test_compress_snappy_raw),
        cmocka_unit_test(test_compress_xerial_lies),
        cmocka_unit_test(test_compress_truncated),
        cmocka_unit_test(test_compress_garbage),
        cmocka_unit_test(test_compress_zstd_window_limit),
        cmocka_unit_test(test_compress_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
