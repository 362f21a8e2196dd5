/*
 * tests/fuzz/fuzz_frame.c: libFuzzer harness for every generated codec.
 *
 * Input layout:
 *   byte 0     mode: 0 request body, 1 response body, 2 header or data
 *              message, 3 full request (request header, then body)
 *   byte 1     API key (modes 0, 1) or codec index (mode 2)
 *   bytes 2-3  version, big-endian; values with the top bit clear are
 *              folded into the codec's valid range, others are used as is
 *              (out-of-range versions must fail cleanly)
 *   rest       the bytes to decode (mode 3: a request frame without size)
 *
 * Every decode runs on an arena capped at 1 MiB. When decode succeeds the
 * message is re-encoded: encode must write exactly size() bytes, the result
 * must decode again to an equal message, and encoding that must give the
 * same bytes. Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "proto/gen/api_table.h"
#include "proto/gen/headers.h"
#include "proto/wire.h"

#define SL_FUZZ_ARENA_CAP (1u << 20)

static sl_arena_t *sl_fuzz_arena;

static void
sl_fuzz_check(bool ok, const char *what, const sl_msg_codec_t *c, int16_t v)
{
    if (!ok) {
        fprintf(stderr, "fuzz_frame: %s: %s v%d\n", what, c->name, v);
        abort();
    }
}

/* Encode <m>; returns a malloc'd buffer of *len bytes. */
static uint8_t *
sl_fuzz_encode(const sl_msg_codec_t *c, int16_t v, const void *m, size_t *len)
{
    size_t n = c->size(m, v);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    sl_wr_t wr;

    sl_fuzz_check(buf != NULL, "malloc", c, v);
    sl_wr_init(&wr, buf, n);
    sl_fuzz_check(c->encode(&wr, v, m) == SL_OK, "encode", c, v);
    sl_fuzz_check(sl_wr_written(&wr) == n, "size != written", c, v);
    *len = n;
    return buf;
}

static void
sl_fuzz_one(const sl_msg_codec_t *c, int16_t v, const uint8_t *p, size_t n)
{
    void *m = calloc(1, c->struct_size), *d = calloc(1, c->struct_size);
    uint8_t *b1 = NULL, *b2 = NULL;
    size_t n1, n2;
    sl_rd_t rd;
    sl_err_t err;

    sl_fuzz_check(m != NULL && d != NULL, "calloc", c, v);
    sl_rd_init(&rd, p, n);
    err = c->decode(&rd, v, sl_fuzz_arena, m);
    if (v < c->min_version || v > c->max_version) {
        sl_fuzz_check(err == SL_ERR_UNSUPPORTED_VERSION, "version check", c, v);
    }
    if (err == SL_OK) {
        b1 = sl_fuzz_encode(c, v, m, &n1);
        sl_rd_init(&rd, b1, n1);
        err = c->decode(&rd, v, sl_fuzz_arena, d);
        /* Re-decoding our own encoding may only fail for lack of arena. */
        sl_fuzz_check(err == SL_OK || err == SL_ERR__NOMEM, "re-decode", c, v);
        if (err == SL_OK) {
            sl_fuzz_check(sl_rd_remaining(&rd) == 0, "trailing bytes", c, v);
            sl_fuzz_check(c->eq(m, d, v), "re-decode not equal", c, v);
            b2 = sl_fuzz_encode(c, v, d, &n2);
            sl_fuzz_check(n1 == n2 && memcmp(b1, b2, n1) == 0,
                          "re-encode differs", c, v);
        }
    } else {
        sl_fuzz_check(err < 0 || err == SL_ERR_UNSUPPORTED_VERSION,
                      "unexpected error", c, v);
    }
    free(b1);
    free(b2);
    free(m);
    free(d);
}

/* Mode 3: a request header picks the codec and version of the body. */
static void
sl_fuzz_request(const uint8_t *p, size_t n)
{
    const sl_msg_codec_t *hc = &sl_msg_header_codecs[0];
    const sl_api_codec_t *api;
    sl_msg_request_header_t h;
    int16_t key, ver, hv;
    sl_rd_t rd;

    if (n < 4) {
        return;
    }
    key = (int16_t)((p[0] << 8) | p[1]);
    ver = (int16_t)((p[2] << 8) | p[3]);
    hv = sl_msg_request_header_version(key, ver);
    sl_rd_init(&rd, p, n);
    if (sl_msg_request_header_decode(&rd, hv, sl_fuzz_arena, &h) != SL_OK) {
        return;
    }
    sl_fuzz_one(hc, hv, p, n - sl_rd_remaining(&rd));
    api = sl_api_codec(key);
    if (api != NULL) {
        sl_fuzz_one(&api->req, ver, rd.p, sl_rd_remaining(&rd));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sl_msg_codec_t *c = NULL;
    const sl_api_codec_t *api;
    uint16_t raw;
    int16_t v;

    if (sl_fuzz_arena == NULL) {
        sl_fuzz_arena = sl_arena_create(64 * 1024, SL_FUZZ_ARENA_CAP);
        if (sl_fuzz_arena == NULL) {
            abort();
        }
    }
    sl_arena_reset(sl_fuzz_arena);
    if (size < 4) {
        return 0;
    }
    switch (data[0] & 3) {
    case 0:
    case 1:
        api = sl_api_codec((int16_t)(data[1] % SL_API_KEY_COUNT));
        if (api == NULL) {
            return 0;
        }
        c = (data[0] & 3) == 0 ? &api->req : &api->resp;
        break;
    case 2:
        if (data[1] < 2) {
            c = &sl_msg_header_codecs[data[1]];
        } else {
            c = &sl_msg_data_codecs[(data[1] - 2) % SL_MSG_DATA_COUNT];
        }
        break;
    default:
        sl_fuzz_request(data + 4, size - 4);
        return 0;
    }
    raw = (uint16_t)((data[2] << 8) | data[3]);
    if (raw & 0x8000) {
        v = (int16_t)raw;
    } else {
        v = (int16_t)(c->min_version +
                      raw % (c->max_version - c->min_version + 1));
    }
    sl_fuzz_one(c, v, data + 4, size - 4);
    return 0;
}
