/*
 * tests/tools/capture_rdkafka.c: produce the 100 reference records with
 * librdkafka to 127.0.0.1:<port> (capture_produce.py) using one codec.
 * Record i: key "key-<i>", value "value-<i>" ten times, header idx=<i>.
 *
 * Usage: capture_rdkafka PORT CODEC   (CODEC: none gzip snappy lz4 zstd)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

static int
sl_capture_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[256];

    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", k, v, err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    char bootstrap[64], err[256], key[32], value[256], idx[16];
    size_t vl;
    int i, k;

    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT CODEC\n", argv[0]);
        return 2;
    }
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%s", argv[1]);
    if (sl_capture_set(conf, "bootstrap.servers", bootstrap) ||
        sl_capture_set(conf, "compression.codec", argv[2]) ||
        sl_capture_set(conf, "linger.ms", "200") ||
        sl_capture_set(conf, "enable.idempotence", "false") ||
        sl_capture_set(conf, "max.in.flight", "1") ||
        sl_capture_set(conf, "acks", "1")) {
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        for (k = 0, vl = 0; k < 10; k++) {
            vl +=
                (size_t)snprintf(value + vl, sizeof(value) - vl, "value-%d", i);
        }
        snprintf(idx, sizeof(idx), "%d", i);
        if (rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC("capture"), RD_KAFKA_V_PARTITION(0),
                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, vl),
                RD_KAFKA_V_HEADER("idx", idx, (ssize_t)strlen(idx)),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "produce failed\n");
            return 1;
        }
    }
    if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "flush timed out\n");
        return 1;
    }
    rd_kafka_destroy(rk);
    return 0;
}
