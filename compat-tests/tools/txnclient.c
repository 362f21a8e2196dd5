/*
 * compat-tests/tools/txnclient.c: a protocol-level transactional client on
 * Sluice's generated codecs, for the transactions v2 (KIP-890) compat test.
 *
 * A real producer never sends a request with an epoch it has already left
 * behind; this client sends exactly what it is told, so a test can play a
 * request that was delayed in the network (an EndTxn or Produce of an
 * earlier transaction) at the moment it chooses. One command per stdin
 * line, one answer line per command; errors are Kafka's numeric codes:
 *
 *   versions <apiversions version>
 *       VERSIONS <err> <produce max> <end_txn max> <txn_offset_commit max>
 *                <tv finalized level|-1> <tv supported max|-1> <epoch>
 *   create <topic> <partitions>                    CREATE <err>
 *   init <txn id> <timeout ms>                     INIT <err> <pid> <epoch>
 *   produce <version> <txn id> <pid> <epoch> <seq> <topic> <partition>
 *           <value>[,<value>...]                   PRODUCE <err> <offset>
 *       (one transactional batch, acks=-1)
 *   produce-cut <same as produce> <bytes>          PRODUCE <err> <offset>
 *       (the same with the batch's last <bytes> bytes left out: hostile)
 *   pipeline <version> <txn id> <pid> <epoch> <seq> <topic> <partition>
 *            <value prefix> <n>
 *       PIPELINE <err>:<offset> ... (n requests of one record each, all
 *       written before the first answer is read)
 *   end <version> <txn id> <pid> <epoch> <commit|abort>
 *                                                  END <err> <pid> <epoch>
 *   txncommit <version> <txn id> <pid> <epoch> <group> <topic> <partition>
 *             <offset>                             TXNCOMMIT <err>
 *   offset <group> <topic> <partition>             OFFSET <err> <offset>
 *       (OffsetFetch v7 with require_stable)
 *   describe <txn id>
 *       TXN <err> <state> <pid> <epoch> <topic:partition,...|->
 *   fetch <topic> <partition> <committed|uncommitted>
 *       FETCH <err> <high watermark> <last stable offset> <aborted txns>
 *             <value,...|->
 *       (every record from offset 0 up to the end the isolation level
 *       allows, filtered as a consumer does: control batches never, and
 *       with "committed" the batches of aborted transactions neither)
 *   reconnect                                      RECONNECT <0|-1>
 *
 * Usage: sl_txnclient <host:port>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "proto/batch.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/create_topics.h"
#include "proto/gen/describe_transactions.h"
#include "proto/gen/end_txn.h"
#include "proto/gen/fetch.h"
#include "proto/gen/headers.h"
#include "proto/gen/init_producer_id.h"
#include "proto/gen/offset_fetch.h"
#include "proto/gen/produce.h"
#include "proto/gen/txn_offset_commit.h"

#define TX_MAX_ARGS 16
#define TX_MAX_VALUES 256
#define TX_MAX_ABORTED 64
#define TX_FETCH_ROUNDS 64

static int tx_fd = -1;
static int32_t tx_corr;
static char tx_host[256];
static char tx_port[16];

static sl_str_t
tx_s(const char *s)
{
    sl_str_t r = {s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

static int
tx_connect(void)
{
    struct addrinfo hints, *res = NULL;
    int fd;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(tx_host, tx_port, &hints, &res) != 0 || res == NULL) {
        return -1;
    }
    fd = socket(res->ai_family, res->ai_socktype, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (tx_fd >= 0) {
        close(tx_fd);
    }
    tx_fd = fd;
    return fd >= 0 ? 0 : -1;
}

static int
tx_io(void *buf, size_t n, int wr)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = wr ? write(tx_fd, (char *)buf + done, n - done)
                       : read(tx_fd, (char *)buf + done, n - done);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        done += (size_t)k;
    }
    return 0;
}

/* Send one request; *corr gets its correlation id. @returns 0 or -1. */
static int
tx_send(int16_t key, int16_t ver, const void *req, int32_t *corr)
{
    const sl_api_codec_t *c = sl_api_codec(key);
    int16_t hv = sl_msg_request_header_version(key, ver);
    sl_msg_request_header_t h;
    uint8_t *buf;
    size_t len;
    sl_wr_t wr;
    int rc;

    sl_msg_request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = ver;
    h.correlation_id = *corr = ++tx_corr;
    h.client_id = tx_s("sl-txnclient");
    len = sl_msg_request_header_size(&h, hv) + c->req.size(req, ver);
    if ((buf = malloc(len + 4)) == NULL) {
        return -1;
    }
    sl_wr_init(&wr, buf, len + 4);
    sl_wr_i32(&wr, (int32_t)len);
    sl_msg_request_header_encode(&wr, hv, &h);
    c->req.encode(&wr, ver, req);
    rc = sl_wr_error(&wr) == SL_OK ? tx_io(buf, len + 4, 1) : -1;
    free(buf);
    return rc;
}

/* Read the response to request <corr>, decoded into <a>.
 * @returns 0, or -1 after printing IOERR / DECODEERR. */
static int
tx_recv(sl_arena_t *a, int16_t key, int16_t ver, void *resp, int32_t corr)
{
    const sl_api_codec_t *c = sl_api_codec(key);
    sl_msg_response_header_t rh;
    uint8_t *buf, sz[4];
    uint32_t rlen;
    sl_rd_t rd;

    if (tx_io(sz, 4, 0) != 0) {
        printf("IOERR\n");
        return -1;
    }
    rlen = ((uint32_t)sz[0] << 24) | ((uint32_t)sz[1] << 16) |
           ((uint32_t)sz[2] << 8) | sz[3];
    if (rlen > (64u << 20) || (buf = sl_arena_alloc(a, rlen + 1)) == NULL ||
        tx_io(buf, rlen, 0) != 0) {
        printf("IOERR\n");
        return -1;
    }
    sl_rd_init(&rd, buf, rlen);
    c->resp.init(resp);
    if (sl_msg_response_header_decode(
            &rd, sl_msg_response_header_version(key, ver), a, &rh) != SL_OK ||
        c->resp.decode(&rd, ver, a, resp) != SL_OK ||
        rh.correlation_id != corr) {
        printf("DECODEERR\n");
        return -1;
    }
    return 0;
}

/* One request/response exchange. @returns 0, or -1 (printed). */
static int
tx_call(sl_arena_t *a, int16_t key, int16_t ver, const void *req, void *resp)
{
    int32_t corr;

    if (tx_send(key, ver, req, &corr) != 0) {
        printf("IOERR\n");
        return -1;
    }
    return tx_recv(a, key, ver, resp, corr);
}

static void
tx_versions(sl_arena_t *a, int16_t ver)
{
    sl_msg_api_versions_req_t q;
    sl_msg_api_versions_resp_t r;
    int32_t i, maxv[3] = {-1, -1, -1};
    int tv_fin = -1, tv_sup = -1;

    sl_msg_api_versions_req_init(&q);
    q.client_software_name = tx_s("sl-txnclient");
    q.client_software_version = tx_s("1.0");
    if (tx_call(a, 18, ver, &q, &r) != 0) {
        return;
    }
    for (i = 0; i < r.api_keys_count; i++) {
        if (r.api_keys[i].api_key == 0) {
            maxv[0] = r.api_keys[i].max_version;
        } else if (r.api_keys[i].api_key == 26) {
            maxv[1] = r.api_keys[i].max_version;
        } else if (r.api_keys[i].api_key == 28) {
            maxv[2] = r.api_keys[i].max_version;
        }
    }
    for (i = 0; i < r.finalized_features_count; i++) {
        if (r.finalized_features[i].name.len == 19 &&
            memcmp(r.finalized_features[i].name.ptr, "transaction.version",
                   19) == 0) {
            tv_fin = r.finalized_features[i].max_version_level;
        }
    }
    for (i = 0; i < r.supported_features_count; i++) {
        if (r.supported_features[i].name.len == 19 &&
            memcmp(r.supported_features[i].name.ptr, "transaction.version",
                   19) == 0) {
            tv_sup = r.supported_features[i].max_version;
        }
    }
    printf("VERSIONS %d %d %d %d %d %d %lld\n", r.error_code, (int)maxv[0],
           (int)maxv[1], (int)maxv[2], tv_fin, tv_sup,
           (long long)r.finalized_features_epoch);
}

static void
tx_create(sl_arena_t *a, const char *topic, int32_t n)
{
    sl_msg_create_topics_req_t q;
    sl_msg_create_topics_req_creatable_topic_t t;
    sl_msg_create_topics_resp_t r;

    sl_msg_create_topics_req_init(&q);
    memset(&t, 0, sizeof(t));
    t.name = tx_s(topic);
    t.num_partitions = n;
    t.replication_factor = 1;
    q.topics = &t;
    q.topics_count = 1;
    if (tx_call(a, 19, 7, &q, &r) == 0) {
        printf("CREATE %d\n",
               r.topics_count == 1 ? r.topics[0].error_code : -1);
    }
}

static void
tx_init(sl_arena_t *a, const char *txn_id, int32_t timeout)
{
    sl_msg_init_producer_id_req_t q;
    sl_msg_init_producer_id_resp_t r;

    sl_msg_init_producer_id_req_init(&q);
    q.transactional_id = tx_s(txn_id);
    q.transaction_timeout_ms = timeout;
    if (tx_call(a, 22, 5, &q, &r) == 0) {
        printf("INIT %d %lld %d\n", r.error_code, (long long)r.producer_id,
               (int)r.producer_epoch);
    }
}

/* Split <csv> in place at commas into <out> (at most <max>). */
static int
tx_split(char *csv, char **out, int max)
{
    int n = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(csv, ",", &save); tok != NULL && n < max;
         tok = strtok_r(NULL, ",", &save)) {
        out[n++] = tok;
    }
    return n;
}

/* A Produce request of one transactional batch (acks=-1); *batch is
 * malloc'd (the caller frees it). @returns 0 or -1. */
static int
tx_produce_req(sl_msg_produce_req_t *q,
               sl_msg_produce_req_topic_produce_data_t *td,
               sl_msg_produce_req_partition_produce_data_t *pd,
               const char *txn_id, int64_t pid, int16_t epoch, int32_t seq,
               const char *topic, int32_t part, char **vals, int n,
               uint8_t **batch)
{
    sl_record_in_t recs[TX_MAX_VALUES];
    sl_batch_params_t bp;
    size_t blen = 0;
    int i;

    memset(recs, 0, sizeof(recs));
    for (i = 0; i < n; i++) {
        recs[i].value = (const uint8_t *)vals[i];
        recs[i].value_len = strlen(vals[i]);
        recs[i].timestamp = 1700000000000LL;
    }
    sl_batch_params_init(&bp);
    bp.transactional = true;
    bp.producer_id = pid;
    bp.producer_epoch = epoch;
    bp.base_sequence = seq;
    *batch = NULL;
    if (n == 0 || sl_batch_build(&bp, recs, (size_t)n, batch, &blen) != 0) {
        return -1;
    }
    sl_msg_produce_req_init(q);
    q->transactional_id = tx_s(txn_id);
    q->acks = -1;
    q->timeout_ms = 30000;
    memset(td, 0, sizeof(*td));
    memset(pd, 0, sizeof(*pd));
    td->name = tx_s(topic);
    td->partition_data = pd;
    td->partition_data_count = 1;
    pd->index = part;
    pd->records.ptr = *batch;
    pd->records.len = (int32_t)blen;
    q->topic_data = td;
    q->topic_data_count = 1;
    return 0;
}

/* The partition's error and offset of a Produce response; 0 or -1. */
static int
tx_produce_result(const sl_msg_produce_resp_t *r, int *err, long long *off)
{
    if (r->responses_count != 1 ||
        r->responses[0].partition_responses_count != 1) {
        return -1;
    }
    *err = r->responses[0].partition_responses[0].error_code;
    *off = (long long)r->responses[0].partition_responses[0].base_offset;
    return 0;
}

static void
tx_produce(sl_arena_t *a, int16_t ver, const char *txn_id, int64_t pid,
           int16_t epoch, int32_t seq, const char *topic, int32_t part,
           char *values, int32_t cut)
{
    sl_msg_produce_req_t q;
    sl_msg_produce_req_topic_produce_data_t td;
    sl_msg_produce_req_partition_produce_data_t pd;
    sl_msg_produce_resp_t r;
    char *vals[TX_MAX_VALUES];
    uint8_t *batch = NULL;
    int n = tx_split(values, vals, TX_MAX_VALUES), err;
    long long off;

    if (tx_produce_req(&q, &td, &pd, txn_id, pid, epoch, seq, topic, part, vals,
                       n, &batch) != 0) {
        printf("PRODUCE BUILDERR\n");
        free(batch);
        return;
    }
    if (cut > 0 && cut < pd.records.len) {
        pd.records.len -= cut; /* a truncated batch */
    }
    if (tx_call(a, 0, ver, &q, &r) == 0) {
        if (tx_produce_result(&r, &err, &off) == 0) {
            printf("PRODUCE %d %lld\n", err, off);
        } else {
            printf("PRODUCE SHAPE\n");
        }
    }
    free(batch);
}

/* <n> Produce requests of one record each (value <prefix><i>, sequence
 * <seq> + i) written back to back before any answer is read, as a
 * producer with several requests in flight does. */
static void
tx_pipeline(sl_arena_t *a, int16_t ver, const char *txn_id, int64_t pid,
            int16_t epoch, int32_t seq, const char *topic, int32_t part,
            const char *prefix, int n)
{
    sl_msg_produce_req_t q;
    sl_msg_produce_req_topic_produce_data_t td;
    sl_msg_produce_req_partition_produce_data_t pd;
    sl_msg_produce_resp_t r;
    int32_t corr[TX_MAX_VALUES];
    char val[128], *vals[1] = {val};
    uint8_t *batch;
    long long off;
    int i, err;

    n = n < 1 ? 1 : n > TX_MAX_VALUES ? TX_MAX_VALUES : n;
    for (i = 0; i < n; i++) {
        snprintf(val, sizeof(val), "%s%d", prefix, i);
        if (tx_produce_req(&q, &td, &pd, txn_id, pid, epoch, seq + i, topic,
                           part, vals, 1, &batch) != 0 ||
            tx_send(0, ver, &q, &corr[i]) != 0) {
            free(batch);
            printf("IOERR\n");
            return;
        }
        free(batch);
    }
    printf("PIPELINE");
    for (i = 0; i < n; i++) {
        if (tx_recv(a, 0, ver, &r, corr[i]) != 0) {
            return;
        }
        if (tx_produce_result(&r, &err, &off) != 0) {
            printf(" SHAPE");
        } else {
            printf(" %d:%lld", err, off);
        }
    }
    printf("\n");
}

static void
tx_end(sl_arena_t *a, int16_t ver, const char *txn_id, int64_t pid,
       int16_t epoch, const char *what)
{
    sl_msg_end_txn_req_t q;
    sl_msg_end_txn_resp_t r;

    sl_msg_end_txn_req_init(&q);
    q.transactional_id = tx_s(txn_id);
    q.producer_id = pid;
    q.producer_epoch = epoch;
    q.committed = strcmp(what, "commit") == 0;
    if (tx_call(a, 26, ver, &q, &r) == 0) {
        printf("END %d %lld %d\n", r.error_code, (long long)r.producer_id,
               (int)r.producer_epoch);
    }
}

static void
tx_txncommit(sl_arena_t *a, int16_t ver, char **av)
{
    sl_msg_txn_offset_commit_req_t q;
    sl_msg_txn_offset_commit_req_txn_offset_commit_request_topic_t t;
    sl_msg_txn_offset_commit_req_txn_offset_commit_request_partition_t p;
    sl_msg_txn_offset_commit_resp_t r;

    sl_msg_txn_offset_commit_req_init(&q);
    q.transactional_id = tx_s(av[0]);
    q.producer_id = strtoll(av[1], NULL, 10);
    q.producer_epoch = (int16_t)atoi(av[2]);
    q.group_id = tx_s(av[3]);
    memset(&t, 0, sizeof(t));
    memset(&p, 0, sizeof(p));
    t.name = tx_s(av[4]);
    t.partitions = &p;
    t.partitions_count = 1;
    p.partition_index = atoi(av[5]);
    p.committed_offset = strtoll(av[6], NULL, 10);
    p.committed_leader_epoch = -1;
    p.committed_metadata = tx_s("");
    q.topics = &t;
    q.topics_count = 1;
    if (tx_call(a, 28, ver, &q, &r) == 0) {
        printf("TXNCOMMIT %d\n",
               r.topics_count == 1 && r.topics[0].partitions_count == 1
                   ? r.topics[0].partitions[0].error_code
                   : -1);
    }
}

static void
tx_offset(sl_arena_t *a, const char *group, const char *topic, int32_t part)
{
    sl_msg_offset_fetch_req_t q;
    sl_msg_offset_fetch_req_offset_fetch_request_topic_t t;
    sl_msg_offset_fetch_resp_t r;

    sl_msg_offset_fetch_req_init(&q);
    q.group_id = tx_s(group);
    memset(&t, 0, sizeof(t));
    t.name = tx_s(topic);
    t.partition_indexes = &part;
    t.partition_indexes_count = 1;
    q.topics = &t;
    q.topics_count = 1;
    q.require_stable = true; /* UNSTABLE_OFFSET_COMMIT while pending */
    if (tx_call(a, 9, 7, &q, &r) == 0) {
        if (r.topics_count == 1 && r.topics[0].partitions_count == 1) {
            printf("OFFSET %d %lld\n", r.topics[0].partitions[0].error_code,
                   (long long)r.topics[0].partitions[0].committed_offset);
        } else {
            printf("OFFSET %d -1\n", r.error_code);
        }
    }
}

static void
tx_describe(sl_arena_t *a, const char *txn_id)
{
    sl_msg_describe_transactions_req_t q;
    sl_msg_describe_transactions_resp_t r;
    sl_str_t id = tx_s(txn_id);
    const sl_msg_describe_transactions_resp_transaction_state_t *s;
    int32_t i, j, n = 0;

    sl_msg_describe_transactions_req_init(&q);
    q.transactional_ids = &id;
    q.transactional_ids_count = 1;
    if (tx_call(a, 65, 0, &q, &r) != 0) {
        return;
    }
    if (r.transaction_states_count != 1) {
        printf("TXN SHAPE\n");
        return;
    }
    s = &r.transaction_states[0];
    printf("TXN %d %.*s %lld %d ", s->error_code,
           (int)(s->transaction_state.len > 0 ? s->transaction_state.len : 1),
           s->transaction_state.len > 0 ? s->transaction_state.ptr : "-",
           (long long)s->producer_id, (int)s->producer_epoch);
    for (i = 0; i < s->topics_count; i++) {
        for (j = 0; j < s->topics[i].partitions_count; j++) {
            printf("%s%.*s:%d", n++ > 0 ? "," : "", (int)s->topics[i].topic.len,
                   s->topics[i].topic.ptr, (int)s->topics[i].partitions[j]);
        }
    }
    printf("%s\n", n == 0 ? "-" : "");
}

/* What a read_committed consumer tracks: the aborted transactions of the
 * fetched range, and the producers whose aborted data it is inside. */
typedef struct tx_abort_s {
    int64_t pid[TX_MAX_ABORTED];
    int64_t first[TX_MAX_ABORTED];
    int n;
    int64_t active[TX_MAX_ABORTED];
    int nactive;
} tx_abort_t;

static bool
tx_abort_active(const tx_abort_t *ab, int64_t pid)
{
    int i;

    for (i = 0; i < ab->nactive; i++) {
        if (ab->active[i] == pid) {
            return true;
        }
    }
    return false;
}

/* Walk the batches of one fetched records field; print the values kept.
 * @returns the offset after the last batch seen. */
static int64_t
tx_walk(FILE *out, const uint8_t *p, size_t n, int64_t from, bool committed,
        tx_abort_t *ab, int *printed)
{
    sl_batch_seq_t it;
    sl_batch_t b;
    int64_t next = from;
    int i;

    sl_batch_seq_init(&it, p, n, 0);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        const uint8_t *recs;
        uint8_t *owned = NULL;
        size_t rn;
        sl_record_iter_t ri;
        sl_record_t rec;
        bool skip;

        next = b.base_offset + b.last_offset_delta + 1;
        for (i = 0; i < ab->n; i++) {
            /* an aborted transaction starts at or before this batch */
            if (ab->first[i] >= 0 &&
                ab->first[i] <= b.base_offset + b.last_offset_delta &&
                ab->nactive < TX_MAX_ABORTED &&
                !tx_abort_active(ab, ab->pid[i])) {
                ab->active[ab->nactive++] = ab->pid[i];
                ab->first[i] = -1;
            }
        }
        if (sl_batch_records(&b, 64u << 20, &recs, &rn, &owned) != SL_OK) {
            continue;
        }
        sl_record_iter_init(&ri, recs, rn, b.records_count);
        if (sl_batch_is_control(&b)) {
            int16_t type = -1;

            if (sl_record_iter_next(&ri, &rec) == SL_OK &&
                sl_control_parse_key(&rec, &type) == SL_OK &&
                type == SL_CONTROL_ABORT) {
                for (i = 0; i < ab->nactive; i++) {
                    if (ab->active[i] == b.producer_id) {
                        ab->active[i] = ab->active[--ab->nactive];
                        break;
                    }
                }
            }
            free(owned);
            continue;
        }
        skip = committed && sl_batch_is_transactional(&b) &&
               tx_abort_active(ab, b.producer_id);
        while (!skip && sl_record_iter_next(&ri, &rec) == SL_OK) {
            if (b.base_offset + rec.offset_delta < from) {
                continue;
            }
            fprintf(out, "%s%.*s", (*printed)++ > 0 ? "," : "",
                    rec.value != NULL ? (int)rec.value_len : 4,
                    rec.value != NULL ? (const char *)rec.value : "null");
        }
        free(owned);
    }
    return next;
}

static void
tx_fetch(sl_arena_t *a, const char *topic, int32_t part, bool committed)
{
    sl_msg_fetch_req_t q;
    sl_msg_fetch_req_fetch_topic_t t;
    sl_msg_fetch_req_fetch_partition_t fp;
    sl_msg_fetch_resp_t r;
    const sl_msg_fetch_resp_partition_data_t *pd = NULL;
    tx_abort_t ab;
    int64_t off = 0, end = -1, hw = -1, lso = -1;
    int printed = 0, naborted = 0, round, err = 0, i;
    char *vals = NULL;
    size_t vlen = 0;
    FILE *out = open_memstream(&vals, &vlen);

    if (out == NULL) {
        printf("FETCH NOMEM\n");
        return;
    }
    memset(&ab, 0, sizeof(ab));
    for (round = 0; round < TX_FETCH_ROUNDS; round++) {
        sl_msg_fetch_req_init(&q);
        memset(&t, 0, sizeof(t));
        sl_msg_fetch_req_fetch_partition_init(&fp);
        q.max_wait_ms = 0;
        q.min_bytes = 0;
        q.isolation_level = committed ? 1 : 0;
        t.topic = tx_s(topic);
        t.partitions = &fp;
        t.partitions_count = 1;
        fp.partition = part;
        fp.fetch_offset = off;
        fp.partition_max_bytes = 1 << 20;
        q.topics = &t;
        q.topics_count = 1;
        if (tx_call(a, 1, 11, &q, &r) != 0) {
            fclose(out);
            free(vals);
            return;
        }
        if (r.responses_count != 1 || r.responses[0].partitions_count != 1) {
            err = -1;
            break;
        }
        pd = &r.responses[0].partitions[0];
        if ((err = pd->error_code) != 0) {
            break;
        }
        hw = pd->high_watermark;
        lso = pd->last_stable_offset;
        end = committed ? lso : hw;
        for (i = 0; i < pd->aborted_transactions_count && ab.n < TX_MAX_ABORTED;
             i++) {
            ab.pid[ab.n] = pd->aborted_transactions[i].producer_id;
            ab.first[ab.n] = pd->aborted_transactions[i].first_offset;
            ab.n++;
            naborted++;
        }
        if (off >= end || pd->records.len <= 0) {
            break;
        }
        off = tx_walk(out, pd->records.ptr, (size_t)pd->records.len, off,
                      committed, &ab, &printed);
        if (off >= end) {
            break;
        }
    }
    fclose(out);
    printf("FETCH %d %lld %lld %d %s\n", err, (long long)hw, (long long)lso,
           naborted, printed > 0 ? vals : "-");
    free(vals);
}

static int
tx_args(char *line, char **av)
{
    int n = 0;
    char *save = NULL, *tok;

    for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && n < TX_MAX_ARGS;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        av[n++] = tok;
    }
    return n;
}

int
main(int argc, char **argv)
{
    char line[8192], *av[TX_MAX_ARGS], *colon;
    int n;

    if (argc != 2 || (colon = strrchr(argv[1], ':')) == NULL ||
        (size_t)(colon - argv[1]) >= sizeof(tx_host)) {
        fprintf(stderr, "usage: sl_txnclient <host:port>\n");
        return 2;
    }
    memcpy(tx_host, argv[1], (size_t)(colon - argv[1]));
    snprintf(tx_port, sizeof(tx_port), "%s", colon + 1);
    if (tx_connect() != 0) {
        fprintf(stderr, "sl_txnclient: cannot connect to %s\n", argv[1]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        sl_arena_t *a = sl_arena_create(65536, 256u << 20);

        if (a == NULL) {
            return 1;
        }
        n = tx_args(line, av);
        if (n == 2 && strcmp(av[0], "versions") == 0) {
            tx_versions(a, (int16_t)atoi(av[1]));
        } else if (n == 3 && strcmp(av[0], "create") == 0) {
            tx_create(a, av[1], atoi(av[2]));
        } else if (n == 3 && strcmp(av[0], "init") == 0) {
            tx_init(a, av[1], atoi(av[2]));
        } else if (n == 9 && strcmp(av[0], "produce") == 0) {
            tx_produce(a, (int16_t)atoi(av[1]), av[2], strtoll(av[3], NULL, 10),
                       (int16_t)atoi(av[4]), atoi(av[5]), av[6], atoi(av[7]),
                       av[8], 0);
        } else if (n == 10 && strcmp(av[0], "produce-cut") == 0) {
            tx_produce(a, (int16_t)atoi(av[1]), av[2], strtoll(av[3], NULL, 10),
                       (int16_t)atoi(av[4]), atoi(av[5]), av[6], atoi(av[7]),
                       av[8], atoi(av[9]));
        } else if (n == 10 && strcmp(av[0], "pipeline") == 0) {
            tx_pipeline(a, (int16_t)atoi(av[1]), av[2],
                        strtoll(av[3], NULL, 10), (int16_t)atoi(av[4]),
                        atoi(av[5]), av[6], atoi(av[7]), av[8], atoi(av[9]));
        } else if (n == 6 && strcmp(av[0], "end") == 0) {
            tx_end(a, (int16_t)atoi(av[1]), av[2], strtoll(av[3], NULL, 10),
                   (int16_t)atoi(av[4]), av[5]);
        } else if (n == 9 && strcmp(av[0], "txncommit") == 0) {
            tx_txncommit(a, (int16_t)atoi(av[1]), av + 2);
        } else if (n == 4 && strcmp(av[0], "offset") == 0) {
            tx_offset(a, av[1], av[2], atoi(av[3]));
        } else if (n == 2 && strcmp(av[0], "describe") == 0) {
            tx_describe(a, av[1]);
        } else if (n == 4 && strcmp(av[0], "fetch") == 0) {
            tx_fetch(a, av[1], atoi(av[2]), strcmp(av[3], "committed") == 0);
        } else if (n == 1 && strcmp(av[0], "reconnect") == 0) {
            printf("RECONNECT %d\n", tx_connect());
        } else {
            printf("USAGE\n");
        }
        sl_arena_destroy(a);
    }
    return 0;
}
