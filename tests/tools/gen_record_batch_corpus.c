/*
 * tests/tools/gen_record_batch_corpus.c: write the seed corpus of
 * fuzz_record_batch: small batches of each codec, a control marker, an empty
 * batch, a two-batch sequence and a sequence with a partial tail.
 *
 * Build and run from the repository root:
 *   cc -std=c17 -D_GNU_SOURCE -Isrc tests/tools/gen_record_batch_corpus.c \
 *      src/proto/batch.c src/proto/compress.c src/core/crc32c.c \
 *      -lz -lsnappy -llz4 -lzstd -lpthread -o gen_corpus
 *   ./gen_corpus tests/fuzz/corpus/record_batch
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.h"

static void
sl_gen_write(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    sl_header_in_t hdrs[2] = {{"h1", 2, (const uint8_t *)"v1", 2},
                              {"h2", 2, NULL, 0}};
    sl_record_in_t recs[5];
    sl_batch_params_t bp;
    uint8_t *buf, *two;
    size_t len, len2;
    char name[64];
    int codec, i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (i = 0; i < 5; i++) {
        memset(&recs[i], 0, sizeof(recs[i]));
        recs[i].key = i == 2 ? NULL : (const uint8_t *)"key";
        recs[i].key_len = 3;
        recs[i].value = i == 3 ? NULL : (const uint8_t *)"value-value-value";
        recs[i].value_len = 17;
        recs[i].timestamp = 1700000000000 + i;
        recs[i].headers = hdrs;
        recs[i].headers_count = (size_t)(i % 3);
    }
    for (codec = 0; codec <= SL_CODEC_MAX; codec++) {
        sl_batch_params_init(&bp);
        bp.codec = codec;
        bp.producer_id = codec == 4 ? 99 : -1;
        bp.base_sequence = codec == 4 ? 0 : -1;
        if (sl_batch_build(&bp, recs, 5, &buf, &len) != SL_OK) {
            return 1;
        }
        snprintf(name, sizeof(name), "batch_%s", sl_codec_name(codec));
        sl_gen_write(argv[1], name, buf, len);
        /* Two batches back to back, and a cut tail. */
        two = malloc(2 * len);
        memcpy(two, buf, len);
        memcpy(two + len, buf, len);
        snprintf(name, sizeof(name), "seq2_%s", sl_codec_name(codec));
        sl_gen_write(argv[1], name, two, 2 * len);
        snprintf(name, sizeof(name), "seq_partial_%s", sl_codec_name(codec));
        sl_gen_write(argv[1], name, two, len + len / 2);
        free(two);
        free(buf);
    }
    if (sl_control_build(7, 1, true, 3, 1700000000000, &buf, &len) != SL_OK) {
        return 1;
    }
    sl_gen_write(argv[1], "control_commit", buf, len);
    free(buf);
    sl_batch_params_init(&bp);
    if (sl_batch_build(&bp, NULL, 0, &buf, &len2) != SL_OK) {
        return 1;
    }
    sl_gen_write(argv[1], "empty", buf, len2);
    free(buf);
    return 0;
}
