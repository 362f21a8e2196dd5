/*
 * capture_client.c: the librdkafka side of the golden-vector capture.
 *
 * Owns: a librdkafka mock cluster (one broker) and the producer, consumer
 * and admin traffic that tests/golden/capture.sh records through the proxy
 * in tests/golden/proxy.py. Does not own any file output: the proxy writes
 * every frame.
 *
 * Usage: capture_client [latest|oldest]. "latest" (the default) lets the
 * client and mock agree on their newest common versions; "oldest" caps the
 * mock at Kafka 4.0's lowest supported version of each API driven here
 * (skipping zstd, which needs Produce v7, and transactions).
 *
 * Protocol with the proxy (which starts this program):
 *   1. this program prints "MOCK <host:port>" on stdout (the mock broker),
 *   2. the proxy answers one line "<host:port>" on stdin (its own listener),
 *   3. all clients (idempotent producer, transactional producer, group
 *      consumer, in that order) then use only the proxy's address; the program
 * exits 0 when every step succeeded, non-zero otherwise.
 *
 * Not part of the broker: built only by capture.sh, linked with librdkafka.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SL_CAP_NREC 100
#define SL_CAP_NCODEC 5

static const char *sl_cap_codecs[SL_CAP_NCODEC] = {"none", "gzip", "snappy",
                                                   "lz4", "zstd"};

/* Codecs produced in this run: all five, or four in the "oldest" run (zstd
 * needs Produce v7). */
static int sl_cap_ncodec = SL_CAP_NCODEC;

static int sl_cap_dr_ok;
static int sl_cap_dr_fail;

/* Print a failure and exit: this is a test tool, any failure is fatal. */
static void
sl_cap_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "capture_client: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* Set one configuration property or die. */
static void
sl_cap_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        sl_cap_die("conf %s=%s: %s", name, value, errstr);
    }
}

/* Delivery report callback: counts outcomes. @thread the polling thread. */
static void
sl_cap_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    if (m->err) {
        fprintf(stderr, "capture_client: delivery failed: %s\n",
                rd_kafka_err2str(m->err));
        sl_cap_dr_fail++;
    } else {
        sl_cap_dr_ok++;
    }
}

/* A client configuration pointing at the proxy with the fixed client.id. */
static rd_kafka_conf_t *
sl_cap_conf_new(const char *bootstrap)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    sl_cap_set(conf, "bootstrap.servers", bootstrap);
    sl_cap_set(conf, "client.id", "sluice-golden");
    sl_cap_set(conf, "broker.address.family", "v4");
    sl_cap_set(conf, "log_level", "4");
    return conf;
}

/* Record i: key "key-<i>", value "value-<i>" x10, header idx=<i>. */
static void
sl_cap_produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int i)
{
    char key[32], idx[16], value[256];
    size_t vlen = 0;
    rd_kafka_headers_t *hdrs;
    rd_kafka_resp_err_t err;
    int r;

    snprintf(key, sizeof(key), "key-%d", i);
    snprintf(idx, sizeof(idx), "%d", i);
    for (r = 0; r < 10; r++) {
        vlen +=
            (size_t)snprintf(value + vlen, sizeof(value) - vlen, "value-%d", i);
    }
    hdrs = rd_kafka_headers_new(1);
    rd_kafka_header_add(hdrs, "idx", -1, idx, -1);
    err = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(value, vlen),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(hdrs);
        sl_cap_die("producev: %s", rd_kafka_err2str(err));
    }
}

/*
 * Idempotent producer: for each codec in order, 100 records to
 * golden-<codec>, then flush, so each codec's batches are sent on their own.
 */
static void
sl_cap_run_producer(const char *bootstrap)
{
    char errstr[512], topic[64];
    rd_kafka_conf_t *conf = sl_cap_conf_new(bootstrap);
    rd_kafka_t *rk;
    int c, i;

    sl_cap_set(conf, "enable.idempotence", "true");
    sl_cap_set(conf, "linger.ms", "50");
    rd_kafka_conf_set_dr_msg_cb(conf, sl_cap_dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        sl_cap_die("producer: %s", errstr);
    }
    for (c = 0; c < sl_cap_ncodec; c++) {
        rd_kafka_topic_conf_t *tconf = rd_kafka_topic_conf_new();
        rd_kafka_topic_t *rkt;

        if (rd_kafka_topic_conf_set(tconf, "compression.codec",
                                    sl_cap_codecs[c], errstr,
                                    sizeof(errstr)) != RD_KAFKA_CONF_OK) {
            sl_cap_die("topic conf: %s", errstr);
        }
        snprintf(topic, sizeof(topic), "golden-%s", sl_cap_codecs[c]);
        rkt = rd_kafka_topic_new(rk, topic, tconf);
        if (rkt == NULL) {
            sl_cap_die("topic_new %s", topic);
        }
        for (i = 0; i < SL_CAP_NREC; i++) {
            sl_cap_produce_one(rk, rkt, i);
        }
        if (rd_kafka_flush(rk, 15000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            sl_cap_die("flush %s timed out", topic);
        }
        rd_kafka_topic_destroy(rkt);
    }
    rd_kafka_destroy(rk);
    if (sl_cap_dr_ok != SL_CAP_NREC * sl_cap_ncodec || sl_cap_dr_fail != 0) {
        sl_cap_die("delivered %d, failed %d", sl_cap_dr_ok, sl_cap_dr_fail);
    }
}

/* Die on a librdkafka transactional API error. */
static void
sl_cap_check_txn(rd_kafka_error_t *error, const char *what)
{
    if (error != NULL) {
        sl_cap_die("%s: %s", what, rd_kafka_error_string(error));
    }
}

/*
 * Transactional producer: InitProducerId with a transactional id,
 * AddPartitionsToTxn, a transactional Produce of 10 records to golden-txn,
 * AddOffsetsToTxn and TxnOffsetCommit (offset 7 for golden-none/0 in group
 * sluice-golden-txn-group), and EndTxn (commit).
 */
static void
sl_cap_run_txn(const char *bootstrap)
{
    char errstr[512], key[16];
    rd_kafka_conf_t *conf = sl_cap_conf_new(bootstrap);
    rd_kafka_consumer_group_metadata_t *cgmd;
    rd_kafka_topic_partition_list_t *offsets;
    rd_kafka_resp_err_t err;
    rd_kafka_t *rk;
    int i;

    sl_cap_set(conf, "transactional.id", "sluice-golden-txn");
    rd_kafka_conf_set_dr_msg_cb(conf, sl_cap_dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        sl_cap_die("txn producer: %s", errstr);
    }
    sl_cap_check_txn(rd_kafka_init_transactions(rk, 10000), "init txn");
    sl_cap_check_txn(rd_kafka_begin_transaction(rk), "begin txn");
    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "txn-%d", i);
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC("golden-txn"), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(key, strlen(key)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            sl_cap_die("txn producev: %s", rd_kafka_err2str(err));
        }
    }
    offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, "golden-none", 0)->offset = 7;
    cgmd = rd_kafka_consumer_group_metadata_new("sluice-golden-txn-group");
    sl_cap_check_txn(
        rd_kafka_send_offsets_to_transaction(rk, offsets, cgmd, 10000),
        "send offsets");
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    rd_kafka_topic_partition_list_destroy(offsets);
    sl_cap_check_txn(rd_kafka_commit_transaction(rk, 10000), "commit txn");
    rd_kafka_destroy(rk);
    if (sl_cap_dr_ok != SL_CAP_NREC * sl_cap_ncodec + 10 ||
        sl_cap_dr_fail != 0) { /* runs after sl_cap_run_producer() */
        sl_cap_die("txn delivered %d, failed %d", sl_cap_dr_ok, sl_cap_dr_fail);
    }
}

/* Milliseconds on the monotonic clock. */
static long long
sl_cap_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Group consumer on all golden topics: join, sync, fetch everything, commit
 * synchronously (OffsetCommit with offset 100 per partition), read the
 * committed offsets back (OffsetFetch), query watermarks (ListOffsets), stay
 * long enough to heartbeat, then close (LeaveGroup).
 */
static void
sl_cap_run_consumer(const char *bootstrap)
{
    char errstr[512], topic[64];
    rd_kafka_conf_t *conf = sl_cap_conf_new(bootstrap);
    rd_kafka_topic_partition_list_t *subs, *committed;
    rd_kafka_resp_err_t err;
    rd_kafka_t *rk;
    long long deadline, hb_until;
    int64_t lo, hi;
    int c, got = 0;

    sl_cap_set(conf, "group.id", "sluice-golden-group");
    sl_cap_set(conf, "auto.offset.reset", "earliest");
    sl_cap_set(conf, "enable.auto.commit", "false");
    sl_cap_set(conf, "session.timeout.ms", "6000");
    sl_cap_set(conf, "heartbeat.interval.ms", "100");
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        sl_cap_die("consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(rk);

    subs = rd_kafka_topic_partition_list_new(sl_cap_ncodec);
    for (c = 0; c < sl_cap_ncodec; c++) {
        snprintf(topic, sizeof(topic), "golden-%s", sl_cap_codecs[c]);
        rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    }
    if ((err = rd_kafka_subscribe(rk, subs)) != 0) {
        sl_cap_die("subscribe: %s", rd_kafka_err2str(err));
    }

    deadline = sl_cap_now_ms() + 20000;
    while (got < SL_CAP_NREC * sl_cap_ncodec && sl_cap_now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        if (m == NULL) {
            continue;
        }
        if (m->err == 0) {
            got++;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "capture_client: consume: %s\n",
                    rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    if (got != SL_CAP_NREC * sl_cap_ncodec) {
        sl_cap_die("consumed %d of %d", got, SL_CAP_NREC * sl_cap_ncodec);
    }

    if ((err = rd_kafka_commit(rk, NULL, 0)) != 0) {
        sl_cap_die("commit: %s", rd_kafka_err2str(err));
    }

    committed = rd_kafka_topic_partition_list_new(sl_cap_ncodec);
    for (c = 0; c < sl_cap_ncodec; c++) {
        snprintf(topic, sizeof(topic), "golden-%s", sl_cap_codecs[c]);
        rd_kafka_topic_partition_list_add(committed, topic, 0);
    }
    if ((err = rd_kafka_committed(rk, committed, 5000)) != 0) {
        sl_cap_die("committed: %s", rd_kafka_err2str(err));
    }
    for (c = 0; c < committed->cnt; c++) {
        if (committed->elems[c].offset != SL_CAP_NREC) {
            sl_cap_die("committed offset %s = %lld", committed->elems[c].topic,
                       (long long)committed->elems[c].offset);
        }
    }
    rd_kafka_topic_partition_list_destroy(committed);

    if ((err = rd_kafka_query_watermark_offsets(rk, "golden-none", 0, &lo, &hi,
                                                5000)) != 0) {
        sl_cap_die("watermarks: %s", rd_kafka_err2str(err));
    }
    if (lo != 0 || hi != SL_CAP_NREC) {
        sl_cap_die("watermarks %lld..%lld", (long long)lo, (long long)hi);
    }

    /* Let a few heartbeats go out. */
    hb_until = sl_cap_now_ms() + 600;
    while (sl_cap_now_ms() < hb_until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);

        if (m != NULL) {
            rd_kafka_message_destroy(m);
        }
    }

    rd_kafka_topic_partition_list_destroy(subs);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/*
 * Kafka 4.0's lowest accepted version of each API this program drives; the
 * "oldest" run caps the mock at these so that the client speaks them.
 * FindCoordinator v0 has no key type, so that run skips transactions.
 */
static const struct {
    int16_t key, version;
} sl_cap_oldest[] = {
    {0, 3},  /* Produce */
    {1, 4},  /* Fetch */
    {2, 1},  /* ListOffsets */
    {3, 0},  /* Metadata */
    {8, 2},  /* OffsetCommit */
    {9, 1},  /* OffsetFetch */
    {10, 0}, /* FindCoordinator */
    {11, 2}, /* JoinGroup */
    {12, 0}, /* Heartbeat */
    {13, 0}, /* LeaveGroup */
    {14, 0}, /* SyncGroup */
    {22, 0}, /* InitProducerId */
};

int
main(int argc, char **argv)
{
    char errstr[512], line[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    rd_kafka_t *owner;
    int oldest = argc > 1 && strcmp(argv[1], "oldest") == 0;
    size_t n;
    int c;

    if (argc > 1 && !oldest && strcmp(argv[1], "latest") != 0) {
        sl_cap_die("usage: capture_client [latest|oldest]");
    }
    sl_cap_set(conf, "log_level", "3");
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (owner == NULL) {
        sl_cap_die("mock owner: %s", errstr);
    }
    mc = rd_kafka_mock_cluster_new(owner, 1);
    if (mc == NULL) {
        sl_cap_die("mock cluster");
    }
    if (oldest) {
        sl_cap_ncodec = SL_CAP_NCODEC - 1;
        for (size_t i = 0; i < sizeof(sl_cap_oldest) / sizeof(sl_cap_oldest[0]);
             i++) {
            if (rd_kafka_mock_set_apiversion(mc, sl_cap_oldest[i].key,
                                             sl_cap_oldest[i].version,
                                             sl_cap_oldest[i].version) != 0) {
                sl_cap_die("mock apiversion %d", sl_cap_oldest[i].key);
            }
        }
    }
    for (c = 0; c <= sl_cap_ncodec; c++) {
        char topic[64];

        snprintf(topic, sizeof(topic), "golden-%s",
                 c < sl_cap_ncodec ? sl_cap_codecs[c] : "txn");
        if (rd_kafka_mock_topic_create(mc, topic, 1, 1) != 0) {
            sl_cap_die("mock topic %s", topic);
        }
    }

    printf("MOCK %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL) {
        sl_cap_die("no proxy address on stdin");
    }
    n = strcspn(line, "\r\n");
    line[n] = '\0';

    sl_cap_run_producer(line);
    if (!oldest) {
        sl_cap_run_txn(line);
    }
    sl_cap_run_consumer(line);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(owner);
    printf("DONE\n");
    fflush(stdout);
    return 0;
}
