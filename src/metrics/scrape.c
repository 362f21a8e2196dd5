/*
 * metrics/scrape.c: the broker's metrics: the counters' life cycle, the
 * hot-path hooks the API layer calls, and the scrape that writes every
 * metric in the Prometheus text format (the names are listed with their
 * Kafka JMX equivalents in docs/metrics.md).
 *
 * A scrape walks the partition registry under its read lock (so topics
 * cannot go away meanwhile), then asks the group coordinator for every
 * group's committed offsets (its own lock) and looks up each partition's
 * high watermark again under the registry's read lock. Nothing is cached.
 *
 * Owns: api->metrics and api->metrics_http (created by sl_api_create() and
 * sl_api_metrics_start(), freed by sl_api_metrics_close()).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "metrics/http.h"
#include "metrics/metrics.h"
#include "proto/gen/api_table.h"
#include "proto/gen/fetch.h"

/* Room for one sample's labels: a group id may be 32 KiB, twice that
 * escaped. */
#define SL_SCRAPE_LABELS_CAP (256u << 10)

sl_err_t
sl_api_metrics_open(sl_api_t *api)
{
    api->metrics = sl_metrics_create();
    return api->metrics != NULL ? SL_OK : SL_ERR__NOMEM;
}

void
sl_api_metrics_close(sl_api_t *api)
{
    sl_metrics_http_stop(api->metrics_http);
    api->metrics_http = NULL;
    sl_metrics_destroy(api->metrics);
    api->metrics = NULL;
}

void
sl_api_metrics_response(void *ctx, int key, int what, int64_t ns)
{
    sl_api_t *api = ctx;

    sl_metrics_observe(api->metrics, key,
                       what == SL_SERVER_OBS_SENT ? SL_METRICS_PHASE_SEND
                                                  : SL_METRICS_PHASE_RESPONSE,
                       ns);
}

void
sl_api_metrics_topic_in(sl_api_t *api, const char *name, int32_t len,
                        uint64_t bytes, uint64_t records)
{
    sl_ptopic_t *t = sl_api_ptopic(api, name, len);

    if (t == NULL) {
        return;
    }
    atomic_fetch_add_explicit(&t->metrics.bytes_in, bytes,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&t->metrics.records_in, records,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&t->metrics.produce_requests, 1,
                              memory_order_relaxed);
}

void
sl_api_metrics_fetch_out(sl_api_t *api, const sl_msg_fetch_resp_t *resp)
{
    int32_t i, j;

    for (i = 0; i < resp->responses_count; i++) {
        const sl_msg_fetch_resp_fetchable_topic_response_t *ft =
            &resp->responses[i];
        uint64_t bytes = 0, parts = 0;
        sl_ptopic_t *t;

        for (j = 0; j < ft->partitions_count; j++) {
            if (ft->partitions[j].records.len > 0) {
                bytes += (uint64_t)ft->partitions[j].records.len;
                parts++;
            }
        }
        if (bytes == 0) {
            continue;
        }
        sl_api_plock_rd(api);
        t = sl_api_ptopic(api, ft->topic.ptr, ft->topic.len);
        if (t != NULL) {
            atomic_fetch_add_explicit(&t->metrics.bytes_out, bytes,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&t->metrics.fetch_requests, parts,
                                      memory_order_relaxed);
        }
        sl_api_punlock(api);
    }
}

/* ---- the scrape ------------------------------------------------------------
 */

/* Format labels k="v" into <buf> (values escaped). <kv> holds name, value
 * pairs, NULL-terminated; a value of length -1 is taken with strlen. */
static const char *
sl_scrape_labels(sl_metrics_text_t *lb, const char *const *kv,
                 const int32_t *lens)
{
    int i;

    lb->len = 0;
    lb->failed = false;
    sl_metrics_text_put(lb, "", 0);
    for (i = 0; kv[2 * i] != NULL; i++) {
        sl_metrics_text_printf(lb, "%s%s=\"", i > 0 ? "," : "", kv[2 * i]);
        sl_metrics_text_label_value(lb, kv[2 * i + 1],
                                    lens[i] >= 0 ? (size_t)lens[i]
                                                 : strlen(kv[2 * i + 1]));
        sl_metrics_text_put(lb, "\"", 1);
    }
    return lb->failed || lb->buf == NULL ? "" : lb->buf;
}

/* Requests, errors and latency per API key (the keys of the handler
 * table: every served API appears, with zeros until used). */
static void
sl_scrape_requests(sl_api_t *api, sl_metrics_text_t *t, sl_metrics_text_t *lb)
{
    static const char *const phases[SL_METRICS_NPHASES] = {
        "queue", "handler", "response_queue", "response_send"};
    const sl_api_handler_t *hs;
    size_t n, i;
    int p;

    hs = sl_api_handlers(&n);
    sl_metrics_text_family(t, "sluice_requests_total", "counter",
                           "Requests received, per API.");
    for (i = 0; i < n; i++) {
        const sl_api_codec_t *c = sl_api_codec(hs[i].key);
        char key[16];
        const char *kv[] = {"api", c != NULL ? c->name : "?", "key", key, NULL};
        int32_t lens[] = {-1, -1};

        if (hs[i].key >= SL_METRICS_MAX_KEYS) {
            continue;
        }
        snprintf(key, sizeof(key), "%d", hs[i].key);
        sl_metrics_text_sample_u64(
            t, "sluice_requests_total", sl_scrape_labels(lb, kv, lens),
            atomic_load_explicit(&api->metrics->requests[hs[i].key],
                                 memory_order_relaxed));
    }
    sl_metrics_text_family(t, "sluice_request_errors_total", "counter",
                           "Requests that failed and closed the connection "
                           "(malformed, unsupported version, handler "
                           "failure), per API.");
    for (i = 0; i < n; i++) {
        const sl_api_codec_t *c = sl_api_codec(hs[i].key);
        char key[16];
        const char *kv[] = {"api", c != NULL ? c->name : "?", "key", key, NULL};
        int32_t lens[] = {-1, -1};

        if (hs[i].key >= SL_METRICS_MAX_KEYS) {
            continue;
        }
        snprintf(key, sizeof(key), "%d", hs[i].key);
        sl_metrics_text_sample_u64(
            t, "sluice_request_errors_total", sl_scrape_labels(lb, kv, lens),
            atomic_load_explicit(&api->metrics->errors[hs[i].key],
                                 memory_order_relaxed));
    }
    sl_metrics_text_family(
        t, "sluice_request_duration_seconds", "histogram",
        "Time a request spends in each phase: queue (read until a worker "
        "starts it), handler (until its response is ready, parked time "
        "included), response_queue (until the network thread takes it), "
        "response_send (until its last byte is written to the socket).");
    for (i = 0; i < n; i++) {
        const sl_api_codec_t *c = sl_api_codec(hs[i].key);

        if (hs[i].key >= SL_METRICS_MAX_KEYS) {
            continue;
        }
        for (p = 0; p < SL_METRICS_NPHASES; p++) {
            const char *kv[] = {"api", c != NULL ? c->name : "?", "phase",
                                phases[p], NULL};
            int32_t lens[] = {-1, -1};

            sl_metrics_text_hist(t, "sluice_request_duration_seconds",
                                 sl_scrape_labels(lb, kv, lens),
                                 &api->metrics->lat[hs[i].key][p]);
        }
    }
}

/* Per topic counters and per partition gauges; plock held. */
static void
sl_scrape_topics(sl_api_t *api, sl_metrics_text_t *t, sl_metrics_text_t *lb)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } ctr[] = {
        {"sluice_topic_bytes_in_total",
         "Record batch bytes appended by producers.",
         offsetof(sl_metrics_topic_t, bytes_in)},
        {"sluice_topic_records_in_total", "Records appended by producers.",
         offsetof(sl_metrics_topic_t, records_in)},
        {"sluice_topic_bytes_out_total", "Record bytes sent to fetchers.",
         offsetof(sl_metrics_topic_t, bytes_out)},
        {"sluice_topic_produce_partitions_total",
         "Partition appends by Produce requests.",
         offsetof(sl_metrics_topic_t, produce_requests)},
        {"sluice_topic_fetch_partitions_total",
         "Partition reads that returned data to Fetch requests.",
         offsetof(sl_metrics_topic_t, fetch_requests)},
    };
    static const struct {
        const char *name, *type, *help;
    } gauges[] = {
        {"sluice_log_size_bytes", "gauge",
         "Bytes of the partition's log segments on disk."},
        {"sluice_log_start_offset", "gauge", "First offset of the partition."},
        {"sluice_log_end_offset", "gauge",
         "Offset the next appended record gets."},
        {"sluice_partition_high_watermark", "gauge",
         "Offset up to which records are visible to consumers."},
    };
    int64_t npart = 0;
    size_t c, g;
    int b;
    int32_t i;

    for (c = 0; c < sizeof(ctr) / sizeof(ctr[0]); c++) {
        sl_metrics_text_family(t, ctr[c].name, "counter", ctr[c].help);
        for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
            sl_ptopic_t *tp;

            for (tp = api->topics[b]; tp != NULL; tp = tp->next) {
                const char *kv[] = {"topic", tp->name, NULL};
                int32_t lens[] = {-1};
                _Atomic uint64_t *v =
                    (_Atomic uint64_t *)((char *)&tp->metrics + ctr[c].off);

                sl_metrics_text_sample_u64(
                    t, ctr[c].name, sl_scrape_labels(lb, kv, lens),
                    atomic_load_explicit(v, memory_order_relaxed));
            }
        }
    }
    for (g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
        sl_metrics_text_family(t, gauges[g].name, gauges[g].type,
                               gauges[g].help);
        for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
            sl_ptopic_t *tp;

            for (tp = api->topics[b]; tp != NULL; tp = tp->next) {
                for (i = 0; i < tp->n; i++) {
                    sl_partlog_t *pl = tp->logs[i];
                    char part[16];
                    const char *kv[] = {"topic", tp->name, "partition", part,
                                        NULL};
                    int32_t lens[] = {-1, -1};
                    int64_t v;

                    if (pl == NULL) {
                        continue;
                    }
                    if (g == 0) {
                        npart++;
                    }
                    snprintf(part, sizeof(part), "%d", (int)i);
                    switch (g) {
                    case 0:
                        v = sl_partlog_size_bytes(pl);
                        break;
                    case 1:
                        v = sl_partlog_log_start(pl);
                        break;
                    case 2:
                        v = sl_partlog_end_offset(pl);
                        break;
                    default:
                        v = sl_partlog_hwm(pl);
                        break;
                    }
                    sl_metrics_text_sample_i64(
                        t, gauges[g].name, sl_scrape_labels(lb, kv, lens), v);
                }
            }
        }
    }
    sl_metrics_text_family(t, "sluice_partitions", "gauge",
                           "Partitions this broker leads.");
    sl_metrics_text_sample_i64(t, "sluice_partitions", NULL, npart);
    sl_metrics_text_family(t, "sluice_under_replicated_partitions", "gauge",
                           "Partitions whose ISR is smaller than their "
                           "replica set (always 0 on a single node).");
    sl_metrics_text_sample_i64(t, "sluice_under_replicated_partitions", NULL,
                               0);
}

/* Committed offset and lag of every group and partition. */
static void
sl_scrape_groups(sl_api_t *api, sl_metrics_text_t *t, sl_metrics_text_t *lb)
{
    sl_group_listing_t *groups = NULL;
    int32_t ng = 0, gi, pass;
    sl_arena_t *a;

    sl_metrics_text_family(t, "sluice_consumer_group_lag", "gauge",
                           "High watermark minus committed offset, per group "
                           "and partition (partitions with a commit).");
    if (api->groups == NULL) {
        return;
    }
    a = sl_arena_create(65536, 64u << 20);
    if (a == NULL) {
        t->failed = true;
        return;
    }
    if (sl_group_list(api->groups, NULL, 0, NULL, 0, a, &groups, &ng) !=
        SL_OK) {
        ng = 0;
    }
    /* Pass 0: lag; pass 1: committed offsets (one family each). */
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            sl_metrics_text_family(t, "sluice_consumer_group_committed_offset",
                                   "gauge",
                                   "Committed offset, per group and "
                                   "partition.");
        }
        for (gi = 0; gi < ng; gi++) {
            sl_group_offset_t *offs = NULL;
            int32_t no = 0, oi;

            if (sl_group_offset_fetch(api->groups, groups[gi].group_id, NULL, 0,
                                      false, a, &offs, &no) != SL_OK) {
                continue;
            }
            sl_api_plock_rd(api);
            for (oi = 0; oi < no; oi++) {
                sl_group_offset_t *o = &offs[oi];
                char part[16];
                const char *kv[] = {"group",     groups[gi].group_id.ptr,
                                    "topic",     o->topic.ptr,
                                    "partition", part,
                                    NULL};
                int32_t lens[] = {groups[gi].group_id.len, o->topic.len, -1};
                sl_err_t err;
                sl_partlog_t *pl;
                int64_t lag;

                if (o->offset < 0 || o->error != SL_OK ||
                    groups[gi].group_id.len < 0 || o->topic.len < 0) {
                    continue;
                }
                snprintf(part, sizeof(part), "%d", (int)o->partition);
                if (pass == 1) {
                    sl_metrics_text_sample_i64(
                        t, "sluice_consumer_group_committed_offset",
                        sl_scrape_labels(lb, kv, lens), o->offset);
                    continue;
                }
                pl = sl_api_partition(api, o->topic.ptr, o->topic.len,
                                      o->partition, &err);
                if (pl == NULL) {
                    continue;
                }
                lag = sl_partlog_hwm(pl) - o->offset;
                sl_metrics_text_sample_i64(t, "sluice_consumer_group_lag",
                                           sl_scrape_labels(lb, kv, lens),
                                           lag > 0 ? lag : 0);
            }
            sl_api_punlock(api);
        }
    }
    sl_arena_destroy(a);
}

static void
sl_scrape_process(sl_api_t *api, sl_metrics_text_t *t)
{
    int64_t rss, fds;
    double cpu;

    if (sl_metrics_process(&rss, &cpu, &fds) != SL_OK) {
        return;
    }
    sl_metrics_text_family(t, "process_resident_memory_bytes", "gauge",
                           "Resident memory size in bytes.");
    sl_metrics_text_sample_i64(t, "process_resident_memory_bytes", NULL, rss);
    sl_metrics_text_family(t, "process_cpu_seconds_total", "counter",
                           "User and system CPU time spent in seconds.");
    sl_metrics_text_sample_f(t, "process_cpu_seconds_total", NULL, cpu);
    sl_metrics_text_family(t, "process_open_fds", "gauge",
                           "Open file descriptors.");
    sl_metrics_text_sample_i64(t, "process_open_fds", NULL, fds);
    sl_metrics_text_family(t, "process_start_time_seconds", "gauge",
                           "Start time of the process since the Unix epoch "
                           "in seconds.");
    sl_metrics_text_sample_i64(t, "process_start_time_seconds", NULL,
                               api->metrics->start_wall_ms / 1000);
}

/* sl_metrics_http_cb. @thread the endpoint's */
static void
sl_scrape(void *ctx, sl_metrics_text_t *t)
{
    sl_api_t *api = ctx;
    sl_metrics_text_t lb;

    sl_metrics_text_init(&lb, SL_SCRAPE_LABELS_CAP);
    sl_scrape_requests(api, t, &lb);
    sl_metrics_text_family(t, "sluice_network_connections", "gauge",
                           "Client connections open now.");
    sl_metrics_text_sample_i64(
        t, "sluice_network_connections", NULL,
        api->server != NULL ? sl_server_connections(api->server) : 0);
    sl_metrics_text_family(t, "sluice_network_connections_accepted_total",
                           "counter", "Client connections accepted.");
    sl_metrics_text_sample_i64(
        t, "sluice_network_connections_accepted_total", NULL,
        api->server != NULL ? sl_server_connections_accepted(api->server) : 0);
    sl_metrics_text_family(t, "sluice_purgatory_size", "gauge",
                           "Delayed operations waiting, per purgatory.");
    sl_metrics_text_sample_i64(
        t, "sluice_purgatory_size", "purgatory=\"fetch\"",
        api->fetch_purgatory != NULL ? sl_purgatory_size(api->fetch_purgatory)
                                     : 0);
    sl_api_plock_rd(api);
    sl_scrape_topics(api, t, &lb);
    sl_api_punlock(api);
    sl_scrape_groups(api, t, &lb);
    sl_scrape_process(api, t);
    sl_metrics_text_free(&lb);
}

sl_err_t
sl_api_metrics_start(sl_api_t *api)
{
    const char *v = sl_config_str(api->cfg, "metrics.listener");
    char host[256];
    int port;

    if (v == NULL || v[0] == '\0') {
        return SL_OK; /* off */
    }
    if (sl_metrics_http_parse_listener(v, host, sizeof(host), &port) != SL_OK) {
        sl_log_error("config",
                     "invalid value for metrics.listener: expected "
                     "http://host:port value=%s",
                     v);
        return SL_ERR__IO;
    }
    api->metrics_http = sl_metrics_http_start(host, port, sl_scrape, api);
    return api->metrics_http != NULL ? SL_OK : SL_ERR__IO;
}
