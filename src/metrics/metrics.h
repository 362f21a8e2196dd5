/*
 * metrics/metrics.h: counters and histograms, and the Prometheus text
 * exposition format (version 0.0.4) they are written in.
 *
 * The hot path only ever does relaxed atomic adds on fixed arrays: no lock,
 * no allocation. Per-API-key request counters and latency histograms live in
 * sl_metrics_t (one per broker, owned by api/api.c through sl_api_s); per
 * topic byte and record counters live in the partition registry's topic
 * entries (sl_metrics_topic_t inside sl_ptopic_t), so they come and go with
 * the topic. Gauges (partitions, log sizes, lag, RSS, CPU) are computed when
 * the endpoint is scraped (metrics/scrape.c).
 *
 * Owns: the sl_metrics_t counters; sl_metrics_text_t buffers. Thread: any.
 */
#ifndef SL_METRICS_METRICS_H
#define SL_METRICS_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* API keys counted: every key below this (Kafka's keys are 0..~90). */
#define SL_METRICS_MAX_KEYS 96

/* Histogram upper bounds ("le"), in seconds: 100us .. 10s, then +Inf. */
#define SL_METRICS_NBUCKETS 16

/* The phases of a request whose durations are observed, after Kafka's
 * RequestMetrics (RequestQueueTimeMs, LocalTimeMs, ResponseQueueTimeMs,
 * ResponseSendTimeMs). */
typedef enum sl_metrics_phase_e {
    SL_METRICS_PHASE_QUEUE = 0, /* frame read -> handler starts */
    SL_METRICS_PHASE_HANDLER,   /* handler starts -> response ready */
    SL_METRICS_PHASE_RESPONSE,  /* response ready -> network thread */
    SL_METRICS_PHASE_SEND,      /* network thread -> last byte written */
    SL_METRICS_NPHASES
} sl_metrics_phase_e;

/* A histogram with fixed buckets; counts are per bucket (not cumulative),
 * the last one is +Inf. */
typedef struct sl_metrics_hist_s {
    _Atomic uint64_t buckets[SL_METRICS_NBUCKETS + 1];
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
} sl_metrics_hist_t;

/* Counters of one topic (kafka.server:type=BrokerTopicMetrics). */
typedef struct sl_metrics_topic_s {
    _Atomic uint64_t bytes_in;
    _Atomic uint64_t records_in;
    _Atomic uint64_t bytes_out;
    _Atomic uint64_t produce_requests; /* partitions appended to */
    _Atomic uint64_t fetch_requests;   /* partitions read from */
} sl_metrics_topic_t;

typedef struct sl_metrics_s {
    _Atomic uint64_t requests[SL_METRICS_MAX_KEYS];
    _Atomic uint64_t errors[SL_METRICS_MAX_KEYS];
    sl_metrics_hist_t lat[SL_METRICS_MAX_KEYS][SL_METRICS_NPHASES];
    int64_t start_wall_ms;
} sl_metrics_t;

/* @returns a zeroed set of counters, or NULL. @thread main */
sl_metrics_t *sl_metrics_create(void);
void sl_metrics_destroy(sl_metrics_t *m);

/* Monotonic nanoseconds. */
int64_t sl_metrics_now_ns(void);

/* The bucket bounds in nanoseconds (SL_METRICS_NBUCKETS of them). */
const int64_t *sl_metrics_bucket_bounds_ns(void);

/* Observe one duration (negative counts as 0). @thread any, lock-free */
void sl_metrics_hist_observe(sl_metrics_hist_t *h, int64_t ns);

/* One request of <key> was read; <failed>: it closed the connection
 * (malformed, unsupported, handler failure). @thread any */
void sl_metrics_request(sl_metrics_t *m, int key, bool failed);
/* A request of <key> spent <ns> in <phase>. @thread any */
void sl_metrics_observe(sl_metrics_t *m, int key, sl_metrics_phase_e phase,
                        int64_t ns);

/* ---- exposition text ---------------------------------------------------- */

/* A growing text buffer. On allocation failure it stops growing and
 * remembers it (failed); everything after is dropped. Bounded by <cap>. */
typedef struct sl_metrics_text_s {
    char *buf;
    size_t len, size, cap;
    bool failed;
} sl_metrics_text_t;

void sl_metrics_text_init(sl_metrics_text_t *t, size_t cap);
void sl_metrics_text_free(sl_metrics_text_t *t);
void sl_metrics_text_put(sl_metrics_text_t *t, const char *s, size_t n);
void sl_metrics_text_printf(sl_metrics_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n" (help escaped: \\ and \n). */
void sl_metrics_text_family(sl_metrics_text_t *t, const char *name,
                            const char *type, const char *help);
/* A label value, escaped for the exposition format (\\, \", \n); <n> bytes
 * of <s>, which need not be NUL-terminated. */
void sl_metrics_text_label_value(sl_metrics_text_t *t, const char *s, size_t n);
/*
 * One sample: name{labels} value. <labels> is already formatted
 * ('k="v",k2="v2"', escaped) or NULL/"" for none.
 */
void sl_metrics_text_sample_u64(sl_metrics_text_t *t, const char *name,
                                const char *labels, uint64_t v);
void sl_metrics_text_sample_i64(sl_metrics_text_t *t, const char *name,
                                const char *labels, int64_t v);
void sl_metrics_text_sample_f(sl_metrics_text_t *t, const char *name,
                              const char *labels, double v);
/*
 * A histogram's samples (<name>_bucket with cumulative counts and le,
 * <name>_sum in seconds, <name>_count), each with <labels> first.
 */
void sl_metrics_text_hist(sl_metrics_text_t *t, const char *name,
                          const char *labels, const sl_metrics_hist_t *h);

/* ---- process ------------------------------------------------------------- */

/* Resident set size in bytes and CPU seconds (user + system) of this
 * process, from /proc/self. @returns SL_OK or SL_ERR__IO. */
sl_err_t sl_metrics_process(int64_t *rss_bytes, double *cpu_seconds,
                            int64_t *open_fds);

#endif
