/*
 * mockpeer: the peer of `make bench`, librdkafka's in-memory mock cluster
 * (one broker) in a process of its own.
 *
 *   mockpeer [TOPIC:PARTITIONS ...]
 *
 * Creates the topics given (the mock of librdkafka 2.0.2 does not serve
 * CreateTopics; a topic it does not know is auto-created with its default
 * partition count), prints "BOOTSTRAP <host:port>" on stdout and runs until
 * SIGTERM or SIGINT. librdkafka 2.0.2 has no way to choose the port: the mock
 * binds 127.0.0.1 on a port the kernel picks, which is the address printed.
 *
 * Owns: the mock cluster and the rd_kafka_t it lives in. What the mock
 * stores is its business: it keeps each partition in memory and drops the
 * oldest batches beyond 5 MB or 100,000 batches per partition.
 *
 * Bench tool only; loopback.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int
main(int argc, char **argv)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    char err[512], name[256], *colon;
    rd_kafka_t *rk;
    sigset_t set;
    int i, sig, parts;

    /* Block the signals before any thread starts, then wait for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* This handle only hosts the mock: it connects nowhere. */
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "mockpeer: %s\n", err);
        return 2;
    }
    mc = rd_kafka_mock_cluster_new(rk, 1);
    if (mc == NULL) {
        fprintf(stderr, "mockpeer: cannot create the mock cluster\n");
        return 2;
    }
    for (i = 1; i < argc; i++) {
        snprintf(name, sizeof(name), "%s", argv[i]);
        colon = strrchr(name, ':');
        parts = colon != NULL ? atoi(colon + 1) : 0;
        if (colon == NULL || parts <= 0) {
            fprintf(stderr, "mockpeer: expected TOPIC:PARTITIONS, got %s\n",
                    argv[i]);
            return 2;
        }
        *colon = '\0';
        if (rd_kafka_mock_topic_create(mc, name, parts, 1) != 0) {
            fprintf(stderr, "mockpeer: cannot create %s\n", name);
            return 2;
        }
    }
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    sigwait(&set, &sig);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
