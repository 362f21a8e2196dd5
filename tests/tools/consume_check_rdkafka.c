/*
 * tests/tools/consume_check_rdkafka.c: two halves of the interop check that
 * librdkafka's consumer decodes batches written by Sluice's builder.
 *
 *   consume_check_rdkafka gen CODEC FILE   write the reference records as
 *       two batches of 50 (offsets 0-49, 50-99) and a COMMIT marker at 100
 *   consume_check_rdkafka consume PORT     consume partition 0 of "capture"
 *       from offset 0 at 127.0.0.1:PORT and check all 100 records
 *
 * Record i: key "key-<i>", value "value-<i>" ten times, header idx=<i>.
 * Driven by consume_check_rdkafka.sh; exit status 0 means every check held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "proto/batch.h"

static char sl_keys[100][16], sl_vals[100][128], sl_idx[100][8];

static void
sl_check_fill(void)
{
    size_t vl;
    int i, k;

    for (i = 0; i < 100; i++) {
        snprintf(sl_keys[i], sizeof(sl_keys[i]), "key-%d", i);
        for (k = 0, vl = 0; k < 10; k++) {
            vl += (size_t)snprintf(sl_vals[i] + vl, sizeof(sl_vals[i]) - vl,
                                   "value-%d", i);
        }
        snprintf(sl_idx[i], sizeof(sl_idx[i]), "%d", i);
    }
}

static int
sl_check_gen(const char *codec_name, const char *path)
{
    sl_header_in_t hdrs[100];
    sl_record_in_t recs[100];
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len;
    FILE *f = fopen(path, "wb");
    int i, codec, half;

    for (codec = 0; codec <= SL_CODEC_MAX; codec++) {
        if (strcmp(sl_codec_name(codec), codec_name) == 0) {
            break;
        }
    }
    if (f == NULL || codec > SL_CODEC_MAX) {
        return 1;
    }
    for (i = 0; i < 100; i++) {
        hdrs[i] = (sl_header_in_t){"idx", 3, (const uint8_t *)sl_idx[i],
                                   strlen(sl_idx[i])};
        recs[i] = (sl_record_in_t){(const uint8_t *)sl_keys[i],
                                   strlen(sl_keys[i]),
                                   (const uint8_t *)sl_vals[i],
                                   strlen(sl_vals[i]),
                                   1700000000000 + i,
                                   &hdrs[i],
                                   1};
    }
    for (half = 0; half < 2; half++) {
        sl_batch_params_init(&bp);
        bp.codec = codec;
        bp.base_offset = half * 50;
        if (sl_batch_build(&bp, recs + half * 50, 50, &buf, &len) != SL_OK ||
            fwrite(buf, 1, len, f) != len) {
            return 1;
        }
        free(buf);
    }
    if (sl_control_build(1000, 0, true, 5, 1700000000100, &buf, &len) !=
        SL_OK) {
        return 1;
    }
    sl_batch_set_base_offset(buf, 100);
    if (fwrite(buf, 1, len, f) != len) {
        return 1;
    }
    free(buf);
    return fclose(f) == 0 ? 0 : 1;
}

static int
sl_check_msg(const rd_kafka_message_t *m, int i)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv;
    size_t hl;

    if (m->offset != i || m->key_len != strlen(sl_keys[i]) ||
        memcmp(m->key, sl_keys[i], m->key_len) != 0 ||
        m->len != strlen(sl_vals[i]) ||
        memcmp(m->payload, sl_vals[i], m->len) != 0) {
        fprintf(stderr, "record %d: wrong offset, key or value\n", i);
        return 1;
    }
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, "idx", &hv, &hl) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hl != strlen(sl_idx[i]) || memcmp(hv, sl_idx[i], hl) != 0) {
        fprintf(stderr, "record %d: wrong header\n", i);
        return 1;
    }
    return 0;
}

static int
sl_check_consume(const char *port)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_t *rkt;
    rd_kafka_message_t *m;
    rd_kafka_t *rk;
    char bootstrap[64], err[256];
    int got = 0, tries = 0, bad = 0, eof = 0;

    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%s", port);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        (rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) ==
            NULL) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    rkt = rd_kafka_topic_new(rk, "capture", NULL);
    if (rd_kafka_consume_start(rkt, 0, 0) != 0) {
        fprintf(stderr, "consume_start failed\n");
        return 1;
    }
    /* The commit marker at offset 100 must be skipped, not delivered: the
     * partition ends (EOF at 101) after exactly 100 records. */
    while (!eof && tries < 100) {
        m = rd_kafka_consume(rkt, 0, 100);
        if (m == NULL) {
            tries++; /* up to 10 s of silence */
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            bad |= got >= 100 || sl_check_msg(m, got);
            got++;
        } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof = m->offset == 101;
        } else {
            fprintf(stderr, "consume error: %s\n", rd_kafka_message_errstr(m));
            bad = 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consume_stop(rkt, 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    printf("consumed %d records, %s%s\n", got,
           eof ? "end at offset 101" : "no end", bad ? ", with errors" : "");
    return got == 100 && eof && !bad ? 0 : 1;
}

int
main(int argc, char **argv)
{
    sl_check_fill();
    if (argc == 4 && strcmp(argv[1], "gen") == 0) {
        return sl_check_gen(argv[2], argv[3]);
    }
    if (argc == 3 && strcmp(argv[1], "consume") == 0) {
        return sl_check_consume(argv[2]);
    }
    fprintf(stderr, "usage: %s gen CODEC FILE | consume PORT\n", argv[0]);
    return 2;
}
