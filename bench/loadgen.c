/*
 * loadgen: the load generator of `make bench` (bench/run), on librdkafka.
 *
 * Owns: one benchmark run per process, and its result line. It does not own
 * the brokers it talks to (bench/run starts and stops them).
 *
 *   loadgen produce BOOTSTRAP TOPIC COUNT SIZE [key=value ...]
 *       Produces COUNT records of SIZE bytes (no key), in chunks of 1,000
 *       per partition round-robin over the topic's partitions, and waits for
 * every delivery report. Throughput is COUNT / (first send to last delivery
 * report); latency is send to delivery report of each record. loadgen consume
 * BOOTSTRAP TOPIC COUNT [key=value ...] Reads every partition from its log
 * start until COUNT records came or every partition reached its end, in batches
 * from the consumer queue. Throughput is measured from the first record to the
 * last. loadgen e2e BOOTSTRAP TOPIC RATE SECONDS SIZE [key=value ...] Produces
 * RATE records/s for SECONDS, each value starting with a magic and the send
 * time, while a consumer thread of the same process reads the topic from its
 * end: latency from send to consume, and from send to delivery report. loadgen
 * create BOOTSTRAP TOPIC PARTITIONS Creates the topic (CreateTopics); an
 * existing topic is not an error. loadgen memcpy [MIB] The machine's memcpy
 * bandwidth over a MIB-MiB buffer (default 64).
 *
 * key=value pairs are librdkafka properties, applied to the producer and to
 * the consumer. Output: one line of JSON on stdout per run; diagnostics go
 * to stderr. Exit status 0 only when every record was acknowledged
 * (produce, e2e) or read (consume).
 *
 * Bench/test tool only: it trusts its arguments and its loopback brokers'
 * delivery reports, and allocates COUNT latency samples up front.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

/* An e2e value starts with this magic, then the send time (8 bytes). */
#define SL_LG_MAGIC "SLBENCH1"
#define SL_LG_HDR 16

/* Records handed to librdkafka at a time by the produce mode. */
#define SL_LG_CHUNK 1000L

/* Values of produce runs are slices of a pool of text this large. */
#define SL_LG_POOL (16u << 20)

/* Latency samples in microseconds, one per record. */
typedef struct sl_lat_s {
    uint32_t *v;
    size_t n;
    size_t cap;
} sl_lat_t;

typedef struct sl_run_s {
    sl_lat_t dr_lat;     /* send to delivery report */
    long acked;          /* delivery reports without error */
    long failed;         /* delivery reports with an error */
    int64_t last_dr_ns;  /* time of the last delivery report */
    char first_err[128]; /* name of the first delivery error */
} sl_run_t;

/*
 * Monotonic clock in nanoseconds.
 * @thread any
 */
static int64_t
sl_lg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Allocate room for cap samples; exits on allocation failure.
 */
static void
sl_lg_lat_init(sl_lat_t *l, size_t cap)
{
    l->n = 0;
    l->cap = cap ? cap : 1;
    l->v = malloc(l->cap * sizeof(*l->v));
    if (l->v == NULL) {
        fprintf(stderr, "loadgen: out of memory for %zu samples\n", cap);
        exit(2);
    }
}

/* Append one sample in nanoseconds (dropped when full). */
static void
sl_lg_lat_add(sl_lat_t *l, int64_t ns)
{
    if (l->n < l->cap) {
        l->v[l->n++] = ns < 0 ? 0 : (uint32_t)(ns / 1000);
    }
}

static int
sl_lg_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Percentile q (0..1) of the samples in milliseconds, by nearest rank;
 * sorts the samples. -1 when there are none.
 */
static double
sl_lg_lat_pct(sl_lat_t *l, double q, int sorted)
{
    size_t i;

    if (l->n == 0) {
        return -1;
    }
    if (!sorted) {
        qsort(l->v, l->n, sizeof(*l->v), sl_lg_cmp_u32);
    }
    i = (size_t)(q * (double)l->n);
    if (i >= l->n) {
        i = l->n - 1;
    }
    return l->v[i] / 1000.0;
}

/* Print ,"<pfx>_p50_ms":..,"<pfx>_p99_ms":..,"<pfx>_p999_ms":.. (null
 * without samples). */
static void
sl_lg_print_pcts(const char *pfx, sl_lat_t *l)
{
    double p50 = sl_lg_lat_pct(l, 0.50, 0);

    if (l->n == 0) {
        printf(",\"%s_p50_ms\":null,\"%s_p99_ms\":null,\"%s_p999_ms\":null",
               pfx, pfx, pfx);
        return;
    }
    printf(",\"%s_p50_ms\":%.3f,\"%s_p99_ms\":%.3f,\"%s_p999_ms\":%.3f", pfx,
           p50, pfx, sl_lg_lat_pct(l, 0.99, 1), pfx,
           sl_lg_lat_pct(l, 0.999, 1));
}

/*
 * Delivery report: the opaque is the send time in nanoseconds.
 * @thread the caller of rd_kafka_poll()/rd_kafka_flush()
 */
static void
sl_lg_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    sl_run_t *run = opaque;
    int64_t now = sl_lg_now_ns();

    (void)rk;
    run->last_dr_ns = now;
    if (m->err) {
        if (run->failed++ == 0) {
            snprintf(run->first_err, sizeof(run->first_err), "%s",
                     rd_kafka_err2name(m->err));
        }
        return;
    }
    run->acked++;
    sl_lg_lat_add(&run->dr_lat, now - (int64_t)(intptr_t)m->_private);
}

/*
 * A configuration with bootstrap.servers and every key=value argument.
 * defs (ndef of them) come first, so arguments override them. Exits on a
 * bad property. The caller owns the result.
 */
static rd_kafka_conf_t *
sl_lg_conf(const char *bootstrap, int ndef, char **defs, int argc, char **argv)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512], kv[512], *eq;
    int i;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "loadgen: %s\n", err);
        exit(2);
    }
    for (i = 0; i < ndef + argc; i++) {
        snprintf(kv, sizeof(kv), "%s", i < ndef ? defs[i] : argv[i - ndef]);
        eq = strchr(kv, '=');
        if (eq == NULL) {
            fprintf(stderr, "loadgen: bad property %s\n", kv);
            exit(2);
        }
        *eq = '\0';
        if (rd_kafka_conf_set(conf, kv, eq + 1, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "loadgen: %s\n", err);
            exit(2);
        }
    }
    return conf;
}

/*
 * A producer handle whose delivery reports go to run. Exits on failure.
 */
static rd_kafka_t *
sl_lg_producer(const char *bootstrap, int argc, char **argv, sl_run_t *run)
{
    static char *deep[] = {"queue.buffering.max.messages=2000000",
                           "queue.buffering.max.kbytes=2097151", "log_level=3"};
    rd_kafka_conf_t *conf;
    char err[512];
    rd_kafka_t *rk;

    /* Deep local queues, so that the client's queue is not the limit; the
     * arguments come after them and may override. */
    conf = sl_lg_conf(bootstrap, 3, deep, argc, argv);
    rd_kafka_conf_set_dr_msg_cb(conf, sl_lg_dr_cb);
    rd_kafka_conf_set_opaque(conf, run);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "loadgen: producer: %s\n", err);
        exit(2);
    }
    return rk;
}

/*
 * Number of partitions of topic as the cluster reports it, or -1.
 */
static int
sl_lg_partitions(rd_kafka_t *rk, rd_kafka_topic_t *rkt)
{
    const struct rd_kafka_metadata *md = NULL;
    int tries, n = -1;

    for (tries = 0; tries < 50 && n <= 0; tries++) {
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topic_cnt == 1 && md->topics[0].err == 0) {
            n = md->topics[0].partition_cnt;
        }
        if (md != NULL) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (n <= 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return n;
}

/*
 * Hand one record to librdkafka, polling while its queue is full. Without
 * RD_KAFKA_MSG_F_COPY in flags the value must outlive the delivery report.
 */
static void
sl_lg_send(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t part, int flags,
           void *val, size_t size, int64_t t_ns)
{
    while (rd_kafka_produce(rkt, part, flags, val, size, NULL, 0,
                            (void *)(intptr_t)t_ns) != 0) {
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "loadgen: produce: %s\n",
                    rd_kafka_err2str(rd_kafka_last_error()));
            exit(1);
        }
        rd_kafka_poll(rk, 1);
    }
}

/*
 * len bytes of text: words drawn at random (fixed seed) from a small
 * vocabulary, so that values differ from record to record and compress
 * about as well as text does, not as well as a repeated pattern. The
 * caller frees it; exits on allocation failure.
 */
static char *
sl_lg_pool(size_t len)
{
    static const char *words[] = {"offset", "broker", "partition", "record",
                                  "batch",  "leader", "replica",   "segment",
                                  "index",  "fetch",  "produce",   "consumer",
                                  "group",  "commit", "epoch",     "topic",
                                  "42",     "1024",   "null",      "true"};
    char *p = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15u;
    size_t i = 0, w;

    if (p == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(2);
    }
    while (i < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w = (size_t)(x % (sizeof(words) / sizeof(words[0])));
        for (const char *c = words[w]; *c != '\0' && i < len; c++) {
            p[i++] = *c;
        }
        if (i < len) {
            p[i++] = (x >> 32) % 3 == 0 ? ',' : ' ';
        }
    }
    return p;
}

/*
 * The produce mode. Values are not copied (they are slices of the pool);
 * the send time is read once per chunk, so a latency may include the
 * hand-over of up to SL_LG_CHUNK records before it (tens of microseconds).
 * @returns 0 when every record was acknowledged
 */
static int
sl_lg_produce(const char *bootstrap, const char *topic, long count, size_t size,
              int argc, char **argv)
{
    sl_run_t run = {0};
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    size_t pool_len = SL_LG_POOL + size, off;
    char *pool = sl_lg_pool(pool_len);
    rd_kafka_message_t *msgs = calloc(SL_LG_CHUNK, sizeof(*msgs));
    int64_t t0, now;
    double secs;
    long i, j, n;
    int32_t part;
    int parts;

    sl_lg_lat_init(&run.dr_lat, (size_t)count);
    rk = sl_lg_producer(bootstrap, argc, argv, &run);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    parts = sl_lg_partitions(rk, rkt);
    if (parts <= 0) {
        fprintf(stderr, "loadgen: no metadata for %s\n", topic);
        return 1;
    }
    /* Chunks of SL_LG_CHUNK records, one partition after the other, handed
     * over with rd_kafka_produce_batch(): the client's cost per record is
     * what the broker would see from an application producing in bulk. */
    t0 = sl_lg_now_ns();
    for (i = 0; i < count; i += n) {
        n = count - i < SL_LG_CHUNK ? count - i : SL_LG_CHUNK;
        now = sl_lg_now_ns();
        for (j = 0; j < n; j++) {
            off = (size_t)((uint64_t)(i + j) * 2654435761u % SL_LG_POOL);
            msgs[j] = (rd_kafka_message_t){.payload = pool + off,
                                           .len = size,
                                           ._private = (void *)(intptr_t)now};
        }
        part = (int32_t)((i / SL_LG_CHUNK) % parts);
        if (rd_kafka_produce_batch(rkt, part, 0, msgs, (int)n) < (int)n) {
            /* Those the full queue refused go one by one, waiting. */
            for (j = 0; j < n; j++) {
                if (msgs[j].err) {
                    sl_lg_send(rk, rkt, part, 0, msgs[j].payload, size, now);
                }
            }
        }
        rd_kafka_poll(rk, 0);
    }
    while (run.acked + run.failed < count) {
        rd_kafka_flush(rk, 1000);
    }
    secs = (double)(run.last_dr_ns - t0) / 1e9;
    printf("{\"mode\":\"produce\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"size\":%zu,\"records\":%ld,\"errors\":%ld,\"secs\":%.3f,"
           "\"records_per_s\":%.0f,\"mb_per_s\":%.2f",
           topic, parts, size, run.acked, run.failed, secs,
           (double)run.acked / secs,
           (double)run.acked * (double)size / secs / 1e6);
    sl_lg_print_pcts("produce", &run.dr_lat);
    printf(",\"first_error\":\"%s\"}\n", run.first_err);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(run.dr_lat.v);
    free(msgs);
    free(pool);
    return run.failed == 0 && run.acked == count ? 0 : 1;
}

/*
 * A consumer assigned to every partition of topic at offset start
 * (RD_KAFKA_OFFSET_BEGINNING or _END), no commits. Exits on failure;
 * *parts gets the partition count.
 */
static rd_kafka_t *
sl_lg_consumer(const char *bootstrap, const char *topic, int64_t start,
               int argc, char **argv, int *parts)
{
    /* assign() needs a group; nothing is committed to it. */
    static char *defs[] = {"group.id=loadgen", "log_level=3"};
    rd_kafka_conf_t *conf = sl_lg_conf(bootstrap, 2, defs, argc, argv);
    rd_kafka_topic_partition_list_t *tps;
    rd_kafka_topic_t *rkt;
    char err[512];
    rd_kafka_t *rk;
    int p;

    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "loadgen: consumer: %s\n", err);
        exit(2);
    }
    rd_kafka_poll_set_consumer(rk);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    *parts = sl_lg_partitions(rk, rkt);
    rd_kafka_topic_destroy(rkt);
    if (*parts <= 0) {
        fprintf(stderr, "loadgen: no metadata for %s\n", topic);
        exit(1);
    }
    tps = rd_kafka_topic_partition_list_new(*parts);
    for (p = 0; p < *parts; p++) {
        rd_kafka_topic_partition_list_add(tps, topic, p)->offset = start;
    }
    if (rd_kafka_assign(rk, tps) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "loadgen: assign failed\n");
        exit(1);
    }
    rd_kafka_topic_partition_list_destroy(tps);
    return rk;
}

/*
 * The consume mode.
 * @returns 0 when at least one record and no error came
 */
static int
sl_lg_consume(const char *bootstrap, const char *topic, long count, int argc,
              char **argv)
{
    int64_t t_first = 0, t_last = 0, idle_since = sl_lg_now_ns();
    long got = 0, bytes = 0, errors = 0;
    int parts, eofs = 0;
    ssize_t n, j;
    rd_kafka_message_t *m, *ms[SL_LG_CHUNK];
    rd_kafka_queue_t *q;
    rd_kafka_t *rk;
    double secs;

    rk = sl_lg_consumer(bootstrap, topic, RD_KAFKA_OFFSET_BEGINNING, argc, argv,
                        &parts);
    /* Batches from the consumer queue: one call per up to SL_LG_CHUNK
     * records, so that the client's per-call cost does not bound what is
     * measured of the broker. */
    q = rd_kafka_queue_get_consumer(rk);
    while (got < count && eofs < parts) {
        n = rd_kafka_consume_batch_queue(q, 100, ms, SL_LG_CHUNK);
        if (n <= 0) {
            if (sl_lg_now_ns() - idle_since > 30LL * 1000000000) {
                fprintf(stderr, "loadgen: nothing for 30 s\n");
                break;
            }
            continue;
        }
        idle_since = sl_lg_now_ns();
        for (j = 0; j < n; j++) {
            m = ms[j];
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                eofs++;
            } else if (m->err) {
                if (errors++ == 0) {
                    fprintf(stderr, "loadgen: consume: %s\n",
                            rd_kafka_message_errstr(m));
                }
            } else {
                t_last = idle_since;
                if (got++ == 0) {
                    t_first = t_last;
                }
                bytes += (long)m->len;
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_queue_destroy(q);
    secs = (double)(t_last - t_first) / 1e9;
    if (secs <= 0) {
        secs = 1e-9;
    }
    printf("{\"mode\":\"consume\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"records\":%ld,\"bytes\":%ld,\"errors\":%ld,\"secs\":%.3f,"
           "\"records_per_s\":%.0f,\"mb_per_s\":%.2f}\n",
           topic, parts, got, bytes, errors, secs, (double)got / secs,
           (double)bytes / secs / 1e6);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return errors == 0 && got > 0 ? 0 : 1;
}

/* The e2e consumer thread's state. */
typedef struct sl_e2e_s {
    rd_kafka_t *rk;
    sl_lat_t lat;  /* send to consume */
    long expected; /* records to read before stopping */
    long got;
    atomic_int stop; /* set by the producer when it gives up */
} sl_e2e_t;

/*
 * Consumer thread: reads until e->expected records came or e->stop is set.
 * @thread its own
 */
static void *
sl_lg_e2e_reader(void *arg)
{
    sl_e2e_t *e = arg;
    rd_kafka_message_t *m;
    int64_t sent;

    while (e->got < e->expected && !atomic_load(&e->stop)) {
        m = rd_kafka_consumer_poll(e->rk, 100);
        if (m == NULL) {
            continue;
        }
        if (m->err == 0 && m->len >= SL_LG_HDR &&
            memcmp(m->payload, SL_LG_MAGIC, 8) == 0) {
            memcpy(&sent, (char *)m->payload + 8, sizeof(sent));
            sl_lg_lat_add(&e->lat, sl_lg_now_ns() - sent);
            e->got++;
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/*
 * The e2e mode. Values are copied (each carries its own send time).
 * @returns 0 when every record was acknowledged and read back
 */
static int
sl_lg_e2e(const char *bootstrap, const char *topic, long rate, double seconds,
          size_t size, int argc, char **argv)
{
    long count = (long)((double)rate * seconds), i;
    sl_run_t run = {0};
    sl_e2e_t e = {0};
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk;
    pthread_t th;
    char *val;
    struct timespec pause = {0, 100 * 1000};
    int64_t t0, due, now, deadline;
    int parts, cparts;

    if (size < SL_LG_HDR) {
        size = SL_LG_HDR;
    }
    val = calloc(1, size);
    if (val == NULL) {
        return 2;
    }
    memcpy(val, SL_LG_MAGIC, 8);
    sl_lg_lat_init(&run.dr_lat, (size_t)count);
    sl_lg_lat_init(&e.lat, (size_t)count);
    e.expected = count;
    e.rk = sl_lg_consumer(bootstrap, topic, RD_KAFKA_OFFSET_END, argc, argv,
                          &cparts);
    rk = sl_lg_producer(bootstrap, argc, argv, &run);
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    parts = sl_lg_partitions(rk, rkt);
    /* Let the consumer reach the (empty) end of its partitions first. */
    {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    pthread_create(&th, NULL, sl_lg_e2e_reader, &e);
    /* Every 100 us (or as soon as the sleep ends), send the records due by
     * now: the schedule is kept without a core spent spinning, and each
     * record carries its actual send time. */
    t0 = sl_lg_now_ns();
    i = 0;
    while (i < count) {
        now = sl_lg_now_ns();
        due = (int64_t)((double)(now - t0) * (double)rate / 1e9) + 1;
        for (; i < count && i < due; i++) {
            memcpy(val + 8, &now, sizeof(now));
            sl_lg_send(rk, rkt, (int32_t)(i % parts), RD_KAFKA_MSG_F_COPY, val,
                       size, now);
        }
        rd_kafka_poll(rk, 0);
        nanosleep(&pause, NULL);
    }
    rd_kafka_flush(rk, 30000);
    deadline = sl_lg_now_ns() + 30LL * 1000000000;
    while (e.got < count && sl_lg_now_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&e.stop, 1);
    pthread_join(th, NULL);
    printf("{\"mode\":\"e2e\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"size\":%zu,\"rate\":%ld,\"records\":%ld,\"consumed\":%ld,"
           "\"errors\":%ld,\"secs\":%.3f",
           topic, parts, size, rate, run.acked, e.got, run.failed,
           (double)(run.last_dr_ns - t0) / 1e9);
    sl_lg_print_pcts("produce", &run.dr_lat);
    sl_lg_print_pcts("e2e", &e.lat);
    printf(",\"first_error\":\"%s\"}\n", run.first_err);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    rd_kafka_consumer_close(e.rk);
    rd_kafka_destroy(e.rk);
    free(run.dr_lat.v);
    free(e.lat.v);
    free(val);
    return run.failed == 0 && run.acked == count && e.got == count ? 0 : 1;
}

/*
 * The create mode: CreateTopics with replication factor 1.
 * @returns 0 when the topic exists afterwards
 */
static int
sl_lg_create(const char *bootstrap, const char *topic, int parts)
{
    rd_kafka_conf_t *conf = sl_lg_conf(bootstrap, 0, NULL, 0, NULL);
    rd_kafka_NewTopic_t *nt;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *ev;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **tr;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    char errstr[512];
    rd_kafka_t *rk;
    size_t n;

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "loadgen: %s\n", errstr);
        return 2;
    }
    q = rd_kafka_queue_new(rk);
    nt = rd_kafka_NewTopic_new(topic, parts, 1, errstr, sizeof(errstr));
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 20000);
    if (ev != NULL) {
        err = rd_kafka_event_error(ev);
        res = rd_kafka_event_CreateTopics_result(ev);
        if (err == 0 && res != NULL) {
            tr = rd_kafka_CreateTopics_result_topics(res, &n);
            err = n == 1 ? rd_kafka_topic_result_error(tr[0]) : err;
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    printf("{\"mode\":\"create\",\"topic\":\"%s\",\"partitions\":%d,"
           "\"error\":\"%s\"}\n",
           topic, parts, err ? rd_kafka_err2name(err) : "");
    return err ? 1 : 0;
}

/*
 * The memcpy mode: copies between two buffers of mib MiB for at least a
 * second; "sink" only keeps the compiler from dropping the copies.
 */
static int
sl_lg_memcpy(size_t mib)
{
    size_t len = mib << 20, rounds = 0;
    char *a = malloc(len), *b = malloc(len);
    int64_t t0, dt;

    if (a == NULL || b == NULL) {
        return 2;
    }
    memset(a, 1, len);
    memset(b, 2, len);
    t0 = sl_lg_now_ns();
    do {
        memcpy((rounds & 1) ? a : b, (rounds & 1) ? b : a, len);
        rounds++;
        dt = sl_lg_now_ns() - t0;
    } while (dt < 1000000000 || rounds < 4);
    printf("{\"mode\":\"memcpy\",\"buffer_mib\":%zu,\"gb_per_s\":%.2f,"
           "\"sink\":%d}\n",
           mib, (double)(rounds * len) / ((double)dt / 1e9) / 1e9,
           a[len / 2] + b[len / 3]);
    free(a);
    free(b);
    return 0;
}

static void
sl_lg_usage(void)
{
    fprintf(stderr,
            "usage: loadgen produce BOOTSTRAP TOPIC COUNT SIZE [k=v ...]\n"
            "       loadgen consume BOOTSTRAP TOPIC COUNT [k=v ...]\n"
            "       loadgen e2e BOOTSTRAP TOPIC RATE SECONDS SIZE [k=v ...]\n"
            "       loadgen create BOOTSTRAP TOPIC PARTITIONS\n"
            "       loadgen memcpy [MIB]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "memcpy") == 0) {
        return sl_lg_memcpy(argc > 2 ? (size_t)atol(argv[2]) : 64);
    }
    if (argc < 5) {
        sl_lg_usage();
    }
    if (strcmp(argv[1], "produce") == 0 && argc >= 6) {
        return sl_lg_produce(argv[2], argv[3], atol(argv[4]),
                             (size_t)atol(argv[5]), argc - 6, argv + 6);
    }
    if (strcmp(argv[1], "consume") == 0) {
        return sl_lg_consume(argv[2], argv[3], atol(argv[4]), argc - 5,
                             argv + 5);
    }
    if (strcmp(argv[1], "e2e") == 0 && argc >= 7) {
        return sl_lg_e2e(argv[2], argv[3], atol(argv[4]), atof(argv[5]),
                         (size_t)atol(argv[6]), argc - 7, argv + 7);
    }
    if (strcmp(argv[1], "create") == 0) {
        return sl_lg_create(argv[2], argv[3], atoi(argv[4]));
    }
    sl_lg_usage();
    return 2;
}
