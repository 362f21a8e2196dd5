/*
 * metrics/metrics.c: counters, histograms and the exposition text (see
 * metrics.h). Counters use relaxed atomics: a scrape may see one counter
 * a few increments ahead of another, which Prometheus tolerates.
 */
#include "metrics/metrics.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const int64_t sl_metrics_bounds[SL_METRICS_NBUCKETS] = {
    100000LL,     250000LL,     500000LL,     1000000LL,
    2500000LL,    5000000LL,    10000000LL,   25000000LL,
    50000000LL,   100000000LL,  250000000LL,  500000000LL,
    1000000000LL, 2500000000LL, 5000000000LL, 10000000000LL,
};

sl_metrics_t *
sl_metrics_create(void)
{
    sl_metrics_t *m = calloc(1, sizeof(*m));
    struct timespec ts;

    if (m != NULL) {
        clock_gettime(CLOCK_REALTIME, &ts);
        m->start_wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    return m;
}

void
sl_metrics_destroy(sl_metrics_t *m)
{
    free(m);
}

int64_t
sl_metrics_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const int64_t *
sl_metrics_bucket_bounds_ns(void)
{
    return sl_metrics_bounds;
}

void
sl_metrics_hist_observe(sl_metrics_hist_t *h, int64_t ns)
{
    int i = 0;

    if (ns < 0) {
        ns = 0;
    }
    while (i < SL_METRICS_NBUCKETS && ns > sl_metrics_bounds[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void
sl_metrics_request(sl_metrics_t *m, int key, bool failed)
{
    if (m == NULL || key < 0 || key >= SL_METRICS_MAX_KEYS) {
        return;
    }
    atomic_fetch_add_explicit(&m->requests[key], 1, memory_order_relaxed);
    if (failed) {
        atomic_fetch_add_explicit(&m->errors[key], 1, memory_order_relaxed);
    }
}

void
sl_metrics_observe(sl_metrics_t *m, int key, sl_metrics_phase_e phase,
                   int64_t ns)
{
    if (m == NULL || key < 0 || key >= SL_METRICS_MAX_KEYS ||
        (unsigned)phase >= SL_METRICS_NPHASES) {
        return;
    }
    sl_metrics_hist_observe(&m->lat[key][phase], ns);
}

/* ---- text ---------------------------------------------------------------- */

void
sl_metrics_text_init(sl_metrics_text_t *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->cap = cap;
}

void
sl_metrics_text_free(sl_metrics_text_t *t)
{
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

/* Make room for <n> more bytes plus a NUL. */
static bool
sl_metrics_text_grow(sl_metrics_text_t *t, size_t n)
{
    size_t want, size;
    char *p;

    if (t->failed) {
        return false;
    }
    if (n > t->cap || t->len + n + 1 > t->cap) {
        t->failed = true;
        return false;
    }
    want = t->len + n + 1;
    if (want <= t->size) {
        return true;
    }
    size = t->size > 0 ? t->size : 4096;
    while (size < want) {
        size *= 2;
    }
    if (size > t->cap) {
        size = t->cap;
    }
    p = realloc(t->buf, size);
    if (p == NULL) {
        t->failed = true;
        return false;
    }
    t->buf = p;
    t->size = size;
    return true;
}

void
sl_metrics_text_put(sl_metrics_text_t *t, const char *s, size_t n)
{
    if (!sl_metrics_text_grow(t, n)) {
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void
sl_metrics_text_printf(sl_metrics_text_t *t, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sl_metrics_text_put(t, small, (size_t)n);
        return;
    }
    if (!sl_metrics_text_grow(t, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Escape \\ and \n (and, for label values, \"). */
static void
sl_metrics_text_escaped(sl_metrics_text_t *t, const char *s, size_t n,
                        bool quote)
{
    size_t i, run = 0;

    for (i = 0; i < n; i++) {
        const char *rep = NULL;

        if (s[i] == '\\') {
            rep = "\\\\";
        } else if (s[i] == '\n') {
            rep = "\\n";
        } else if (quote && s[i] == '"') {
            rep = "\\\"";
        }
        if (rep != NULL) {
            sl_metrics_text_put(t, s + run, i - run);
            sl_metrics_text_put(t, rep, 2);
            run = i + 1;
        }
    }
    sl_metrics_text_put(t, s + run, n - run);
}

void
sl_metrics_text_family(sl_metrics_text_t *t, const char *name, const char *type,
                       const char *help)
{
    sl_metrics_text_printf(t, "# HELP %s ", name);
    sl_metrics_text_escaped(t, help, strlen(help), false);
    sl_metrics_text_printf(t, "\n# TYPE %s %s\n", name, type);
}

void
sl_metrics_text_label_value(sl_metrics_text_t *t, const char *s, size_t n)
{
    sl_metrics_text_escaped(t, s, n, true);
}

static void
sl_metrics_text_name(sl_metrics_text_t *t, const char *name, const char *labels)
{
    if (labels != NULL && labels[0] != '\0') {
        sl_metrics_text_printf(t, "%s{%s} ", name, labels);
    } else {
        sl_metrics_text_printf(t, "%s ", name);
    }
}

void
sl_metrics_text_sample_u64(sl_metrics_text_t *t, const char *name,
                           const char *labels, uint64_t v)
{
    sl_metrics_text_name(t, name, labels);
    sl_metrics_text_printf(t, "%llu\n", (unsigned long long)v);
}

void
sl_metrics_text_sample_i64(sl_metrics_text_t *t, const char *name,
                           const char *labels, int64_t v)
{
    sl_metrics_text_name(t, name, labels);
    sl_metrics_text_printf(t, "%lld\n", (long long)v);
}

void
sl_metrics_text_sample_f(sl_metrics_text_t *t, const char *name,
                         const char *labels, double v)
{
    sl_metrics_text_name(t, name, labels);
    sl_metrics_text_printf(t, "%.9g\n", v);
}

void
sl_metrics_text_hist(sl_metrics_text_t *t, const char *name, const char *labels,
                     const sl_metrics_hist_t *h)
{
    const char *sep = labels != NULL && labels[0] != '\0' ? "," : "";
    uint64_t cum = 0, count;
    int i;

    if (labels == NULL) {
        labels = "";
    }
    for (i = 0; i <= SL_METRICS_NBUCKETS; i++) {
        cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < SL_METRICS_NBUCKETS) {
            sl_metrics_text_printf(
                t, "%s_bucket{%s%sle=\"%.9g\"} %llu\n", name, labels, sep,
                (double)sl_metrics_bounds[i] / 1e9, (unsigned long long)cum);
        } else {
            sl_metrics_text_printf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
                                   labels, sep, (unsigned long long)cum);
        }
    }
    /* The count is the +Inf bucket, so _count and the buckets agree even
     * while observations race with the scrape. */
    count = cum;
    sl_metrics_text_printf(
        t, "%s_sum%s%s%s %.9g\n", name, labels[0] ? "{" : "", labels,
        labels[0] ? "}" : "",
        (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    sl_metrics_text_printf(t, "%s_count%s%s%s %llu\n", name,
                           labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
                           (unsigned long long)count);
}

/* ---- process ------------------------------------------------------------- */

sl_err_t
sl_metrics_process(int64_t *rss_bytes, double *cpu_seconds, int64_t *open_fds)
{
    char buf[1024], *p;
    unsigned long long utime = 0, stime = 0;
    long long rss_pages = 0;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f;
    DIR *d;
    struct dirent *e;
    int64_t nfd = 0;
    size_t n;

    *rss_bytes = 0;
    *cpu_seconds = 0;
    *open_fds = 0;
    f = fopen("/proc/self/stat", "r");
    if (f == NULL) {
        return SL_ERR__IO;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields count from
     * the last ')'. After it: state(3) ... utime(14) stime(15) ...
     * rss(24). */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
               "%*d %*d %*d %*d %*d %*u %*u %lld",
               &utime, &stime, &rss_pages) != 3) {
        return SL_ERR__IO;
    }
    if (tick <= 0) {
        tick = 100;
    }
    if (page <= 0) {
        page = 4096;
    }
    *cpu_seconds = (double)(utime + stime) / (double)tick;
    *rss_bytes = (int64_t)rss_pages * page;
    d = opendir("/proc/self/fd");
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                nfd++;
            }
        }
        closedir(d);
        *open_fds = nfd - 1; /* the directory stream itself */
    }
    return SL_OK;
}
