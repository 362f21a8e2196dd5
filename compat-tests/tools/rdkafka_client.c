/*
 * rdkafka_client: a small librdkafka producer and consumer for compat tests.
 *
 *   rdkafka_client produce BOOTSTRAP TOPIC COUNT [key=value ...]
 *       Produces COUNT messages: key "<id>", value "v<id>:" padded to
 *       value.size bytes (property, default 100) with a pattern derived from
 *       the id. Prints "ACK <id> <partition> <offset>" for every successful
 *       delivery report and "ERR <id> <error>" for every failed one, then
 *       "DONE acked=N failed=N". Extra key=value pairs are librdkafka
 *       properties, except: id.start (first id, default 0), value.size,
 *       rate (messages per second, default unlimited).
 *   rdkafka_client consume BOOTSTRAP TOPIC EXPECTED [key=value ...]
 *       Reads every partition from the beginning until EXPECTED messages
 *       arrived or 30 s passed without one; prints
 *       "MSG <partition> <offset> <key> <value-length> <value-ok>" where
 *       value-ok is 1 when the value matches the pattern of its id.
 *       With eof.exit=1 it stops as soon as every partition has been read
 *       to its end (EXPECTED is then only an upper bound).
 *
 * Only for tests: loopback brokers started by the test itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static long acked, failed;

static void
fill_value(char *buf, size_t size, long id)
{
    size_t n = (size_t)snprintf(buf, size, "v%ld:", id), i;

    for (i = n; i < size; i++) {
        buf[i] = (char)('a' + (char)((id * 31 + (long)i) % 26));
    }
}

static int
value_ok(const char *v, size_t len, long id, size_t size)
{
    char *want;
    int ok;

    if (len != size) {
        return 0;
    }
    want = malloc(size + 16);
    fill_value(want, size, id);
    ok = memcmp(want, v, size) == 0;
    free(want);
    return ok;
}

static void
dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    long id = (long)(intptr_t)m->_private;

    (void)rk;
    (void)opaque;
    if (m->err) {
        failed++;
        printf("ERR %ld %s\n", id, rd_kafka_err2name(m->err));
    } else {
        acked++;
        printf("ACK %ld %d %lld\n", id, (int)m->partition,
               (long long)m->offset);
    }
}

static long rate;
static int eof_exit;

static rd_kafka_conf_t *
make_conf(const char *bootstrap, int argc, char **argv, long *start,
          size_t *vsize)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    int i;

    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    for (i = 0; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "bad property %s\n", argv[i]);
            exit(2);
        }
        *eq = '\0';
        if (strcmp(argv[i], "id.start") == 0) {
            *start = atol(eq + 1);
        } else if (strcmp(argv[i], "value.size") == 0) {
            *vsize = (size_t)atol(eq + 1);
        } else if (strcmp(argv[i], "rate") == 0) {
            rate = atol(eq + 1);
        } else if (strcmp(argv[i], "eof.exit") == 0) {
            eof_exit = atoi(eq + 1);
            rd_kafka_conf_set(conf, "enable.partition.eof",
                              eof_exit ? "true" : "false", err, sizeof(err));
        } else if (rd_kafka_conf_set(conf, argv[i], eq + 1, err, sizeof(err)) !=
                   RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s\n", err);
            exit(2);
        }
    }
    return conf;
}

static int
do_produce(const char *bootstrap, const char *topic, long count, int argc,
           char **argv)
{
    long start = 0, id;
    size_t vsize = 100;
    rd_kafka_conf_t *conf = make_conf(bootstrap, argc, argv, &start, &vsize);
    char err[512], key[32], *val = malloc(vsize + 16);
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e;

    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    for (id = start; id < start + count; id++) {
        snprintf(key, sizeof(key), "%ld", id);
        fill_value(val, vsize, id);
        for (;;) {
            e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                RD_KAFKA_V_VALUE(val, vsize),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(intptr_t)id), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            break;
        }
        if (e) {
            printf("ERR %ld %s\n", id, rd_kafka_err2name(e));
            failed++;
        }
        rd_kafka_poll(rk, 0);
        if (rate > 0 && (id - start) % 100 == 99) {
            struct timespec ts = {0, (long)(100 * 1000000000LL / rate)};
            nanosleep(&ts, NULL);
        }
    }
    while (rd_kafka_outq_len(rk) > 0) {
        rd_kafka_poll(rk, 100);
    }
    printf("DONE acked=%ld failed=%ld\n", acked, failed);
    rd_kafka_destroy(rk);
    free(val);
    return 0;
}

static int
do_consume(const char *bootstrap, const char *topic, long expected, int argc,
           char **argv)
{
    long start = 0, got = 0;
    size_t vsize = 100;
    rd_kafka_conf_t *conf = make_conf(bootstrap, argc, argv, &start, &vsize);
    char err[512];
    const rd_kafka_metadata_t *md;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_t *rk;
    int idle = 0, i, nparts, neof = 0;
    char *at_eof;

    rd_kafka_conf_set(conf, "group.id", "rdkafka-client", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != 0) {
            fprintf(stderr, "metadata failed\n");
            return 2;
        }
        rd_kafka_topic_destroy(rkt);
    }
    parts = rd_kafka_topic_partition_list_new(16);
    nparts = md->topics[0].partition_cnt;
    at_eof = calloc((size_t)nparts + 1, 1);
    for (i = 0; i < md->topics[0].partition_cnt; i++) {
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (got < expected && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            idle++;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->partition >= 0 &&
            m->partition < nparts && !at_eof[m->partition]) {
            at_eof[m->partition] = 1;
            if (++neof == nparts) {
                rd_kafka_message_destroy(m);
                break;
            }
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "consume error: %s\n",
                        rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        idle = 0;
        got++;
        if (m->partition >= 0 && m->partition < nparts &&
            at_eof[m->partition]) {
            at_eof[m->partition] = 0;
            neof--;
        }
        {
            char key[32] = "";
            long id;
            size_t kl =
                m->key_len < sizeof(key) - 1 ? m->key_len : sizeof(key) - 1;
            memcpy(key, m->key, kl);
            id = atol(key);
            printf("MSG %d %lld %s %zu %d\n", (int)m->partition,
                   (long long)m->offset, key, m->len,
                   value_ok(m->payload, m->len, id, vsize));
        }
        rd_kafka_message_destroy(m);
    }
    free(at_eof);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("DONE consumed=%ld\n", got);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s produce|consume BOOTSTRAP TOPIC N [k=v...]\n",
                argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    signal(SIGPIPE, SIG_IGN);
    if (strcmp(argv[1], "produce") == 0) {
        return do_produce(argv[2], argv[3], atol(argv[4]), argc - 5, argv + 5);
    }
    if (strcmp(argv[1], "consume") == 0) {
        return do_consume(argv[2], argv[3], atol(argv[4]), argc - 5, argv + 5);
    }
    return 2;
}
