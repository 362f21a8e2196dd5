/*
 * tests/fuzz/make_frame_corpus.c: writes the seed corpus of fuzz_frame.
 *
 * For every API key: request and response at the lowest and highest
 * version; every header version; every data message at its highest version;
 * and full request frames (header + body) for a spread of keys. Each seed is
 * a random_fill() encoding with a fixed seed, so the corpus is reproducible.
 * Built and run by tests/fuzz/make_frame_corpus.sh.
 *
 * Usage: make_frame_corpus OUTDIR
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "proto/gen/api_table.h"
#include "proto/gen/headers.h"
#include "proto/wire.h"

static const char *sl_out;
static int sl_files;

static void
sl_corpus_write(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", sl_out, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    sl_files++;
}

/* Encode a random message of <c> at <v> after the 4-byte fuzz prefix. */
static void
sl_corpus_msg(const char *name, uint8_t mode, uint8_t idx,
              const sl_msg_codec_t *c, int16_t v, uint64_t seed)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    void *m = calloc(1, c->struct_size);
    size_t n;
    uint8_t *buf;
    sl_wr_t wr;

    c->init(m);
    c->random_fill(m, v, a, &seed);
    n = c->size(m, v);
    buf = malloc(n + 4);
    buf[0] = mode;
    buf[1] = idx;
    buf[2] = (uint8_t)((uint16_t)(v - c->min_version) >> 8);
    buf[3] = (uint8_t)(v - c->min_version);
    sl_wr_init(&wr, buf + 4, n);
    if (c->encode(&wr, v, m) != SL_OK) {
        fprintf(stderr, "encode failed: %s\n", name);
        exit(1);
    }
    sl_corpus_write(name, buf, n + 4);
    free(buf);
    free(m);
    sl_arena_destroy(a);
}

/* A full request: header at the right version, then the body. */
static void
sl_corpus_request(const sl_api_codec_t *api, int16_t v, uint64_t seed)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_msg_request_header_t h;
    int16_t hv = sl_msg_request_header_version(api->key, v);
    void *m = calloc(1, api->req.struct_size);
    size_t hn, bn;
    uint8_t *buf;
    sl_wr_t wr;
    char name[64];

    sl_msg_request_header_init(&h);
    h.request_api_key = api->key;
    h.request_api_version = v;
    h.correlation_id = (int32_t)seed;
    h.client_id = sl_str_lit("rdkafka");
    api->req.init(m);
    api->req.random_fill(m, v, a, &seed);
    hn = sl_msg_request_header_size(&h, hv);
    bn = api->req.size(m, v);
    buf = malloc(4 + hn + bn);
    memset(buf, 3, 4);
    sl_wr_init(&wr, buf + 4, hn + bn);
    if (sl_msg_request_header_encode(&wr, hv, &h) != SL_OK ||
        api->req.encode(&wr, v, m) != SL_OK) {
        fprintf(stderr, "encode failed: frame %d\n", api->key);
        exit(1);
    }
    snprintf(name, sizeof(name), "frame-%02d-v%d", api->key, v);
    sl_corpus_write(name, buf, 4 + hn + bn);
    free(buf);
    free(m);
    sl_arena_destroy(a);
}

int
main(int argc, char **argv)
{
    char name[128];
    int k, i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    sl_out = argv[1];
    for (k = 0; k <= SL_API_KEY_MAX; k++) {
        const sl_api_codec_t *api = sl_api_codec((int16_t)k);

        if (api == NULL) {
            continue;
        }
        int16_t vs[2] = {api->req.min_version, api->req.max_version};
        for (i = 0; i < 2; i++) {
            if (i == 1 && vs[1] == vs[0]) {
                break;
            }
            snprintf(name, sizeof(name), "req-%02d-v%d", k, vs[i]);
            sl_corpus_msg(name, 0, (uint8_t)k, &api->req, vs[i],
                          (uint64_t)k * 2 + (uint64_t)i);
            snprintf(name, sizeof(name), "resp-%02d-v%d", k, vs[i]);
            sl_corpus_msg(name, 1, (uint8_t)k, &api->resp, vs[i],
                          (uint64_t)k * 3 + (uint64_t)i);
        }
        if (k % 3 == 0) {
            sl_corpus_request(api, api->req.max_version, (uint64_t)k);
        }
    }
    for (i = 0; i < 2; i++) {
        const sl_msg_codec_t *c = &sl_msg_header_codecs[i];
        int v;

        for (v = c->min_version; v <= c->max_version; v++) {
            snprintf(name, sizeof(name), "hdr-%d-v%d", i, v);
            sl_corpus_msg(name, 2, (uint8_t)i, c, (int16_t)v, (uint64_t)v);
        }
    }
    for (i = 0; i < SL_MSG_DATA_COUNT; i++) {
        const sl_msg_codec_t *c = &sl_msg_data_codecs[i];

        snprintf(name, sizeof(name), "data-%s-v%d", c->name, c->max_version);
        sl_corpus_msg(name, 2, (uint8_t)(i + 2), c, c->max_version,
                      (uint64_t)i);
    }
    printf("make_frame_corpus: %d files in %s\n", sl_files, sl_out);
    return 0;
}
