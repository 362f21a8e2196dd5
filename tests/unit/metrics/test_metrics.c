/*
 * Unit tests for metrics/metrics: histogram buckets, the exposition text
 * (escaping, cumulative buckets with _sum and _count, the size cap) and
 * the process figures from /proc/self.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

/* The value of the sample line that starts with <prefix> (name{labels}),
 * or -1 when there is none. */
static double
sample(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return -1;
}

static void
test_label_escaping(void **state)
{
    sl_metrics_text_t t;
    const char raw[] = "a\"b\\c\nd";

    (void)state;
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_put(&t, "x{topic=\"", 9);
    sl_metrics_text_label_value(&t, raw, sizeof(raw) - 1);
    sl_metrics_text_put(&t, "\"} 1\n", 5);
    assert_false(t.failed);
    assert_string_equal(t.buf, "x{topic=\"a\\\"b\\\\c\\nd\"} 1\n");
    sl_metrics_text_free(&t);
}

static void
test_family_help_escaping(void **state)
{
    sl_metrics_text_t t;

    (void)state;
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_family(&t, "m_total", "counter", "two\nlines \\ \"q\"");
    /* HELP escapes backslash and newline only; quotes stay. */
    assert_string_equal(t.buf, "# HELP m_total two\\nlines \\\\ \"q\"\n"
                               "# TYPE m_total counter\n");
    sl_metrics_text_free(&t);
}

static void
test_samples(void **state)
{
    sl_metrics_text_t t;

    (void)state;
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_sample_u64(&t, "a", NULL, 18446744073709551615ull);
    sl_metrics_text_sample_i64(&t, "b", "k=\"v\"", -5);
    sl_metrics_text_sample_f(&t, "c", "", 0.25);
    assert_string_equal(t.buf,
                        "a 18446744073709551615\nb{k=\"v\"} -5\nc 0.25\n");
    sl_metrics_text_free(&t);
}

static void
test_histogram_cumulative(void **state)
{
    sl_metrics_hist_t h;
    sl_metrics_text_t t;
    const int64_t *b = sl_metrics_bucket_bounds_ns();
    char name[128];
    double prev = 0, v;
    int i;

    (void)state;
    memset(&h, 0, sizeof(h));
    sl_metrics_hist_observe(&h, 0);             /* first bucket */
    sl_metrics_hist_observe(&h, b[0]);          /* le is inclusive */
    sl_metrics_hist_observe(&h, b[0] + 1);      /* second bucket */
    sl_metrics_hist_observe(&h, 2000000);       /* 2 ms: le 0.0025 */
    sl_metrics_hist_observe(&h, 60000000000LL); /* 60 s: +Inf only */
    sl_metrics_hist_observe(&h, -7);            /* clock oddity: 0 */
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_hist(&t, "d_seconds", "api=\"Produce\"", &h);
    assert_false(t.failed);

    assert_true(
        sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"0.0001\"}") == 3);
    assert_true(
        sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"0.00025\"}") == 4);
    assert_true(
        sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"0.001\"}") == 4);
    assert_true(
        sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"0.0025\"}") == 5);
    assert_true(sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"10\"}") ==
                5);
    assert_true(
        sample(t.buf, "d_seconds_bucket{api=\"Produce\",le=\"+Inf\"}") == 6);
    assert_true(sample(t.buf, "d_seconds_count{api=\"Produce\"}") == 6);
    v = sample(t.buf, "d_seconds_sum{api=\"Produce\"}");
    assert_true(v > 60.00219 && v < 60.00221); /* 60.002200001 s */
    /* Every bucket is cumulative: never smaller than the one before. */
    for (i = 0; i < SL_METRICS_NBUCKETS; i++) {
        snprintf(name, sizeof(name),
                 "d_seconds_bucket{api=\"Produce\",le=\"%.9g\"}",
                 (double)b[i] / 1e9);
        v = sample(t.buf, name);
        assert_true(v >= prev);
        prev = v;
    }
    sl_metrics_text_free(&t);

    /* Without labels: no stray comma or braces. */
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_hist(&t, "e", NULL, &h);
    assert_true(sample(t.buf, "e_bucket{le=\"+Inf\"}") == 6);
    assert_true(sample(t.buf, "e_count") == 6);
    assert_true(sample(t.buf, "e_sum") > 60);
    sl_metrics_text_free(&t);
}

static void
test_text_cap(void **state)
{
    sl_metrics_text_t t;
    char big[300];
    int i;

    (void)state;
    memset(big, 'x', sizeof(big));
    sl_metrics_text_init(&t, 1000);
    for (i = 0; i < 10; i++) {
        sl_metrics_text_put(&t, big, sizeof(big));
    }
    assert_true(t.failed);
    assert_true(t.len <= 1000);
    sl_metrics_text_printf(&t, "%s", "more");
    assert_true(t.len <= 1000);
    sl_metrics_text_free(&t);
    /* A long printf goes through the slow path intact. */
    sl_metrics_text_init(&t, 1 << 20);
    sl_metrics_text_printf(&t, "%.*s|", 299, big);
    assert_int_equal(t.len, 300);
    assert_int_equal(t.buf[299], '|');
    sl_metrics_text_printf(&t, "%0900d", 7);
    assert_int_equal(t.len, 1200);
    assert_int_equal(t.buf[1199], '7');
    sl_metrics_text_free(&t);
}

static void
test_request_counters(void **state)
{
    sl_metrics_t *m = sl_metrics_create();

    (void)state;
    assert_non_null(m);
    sl_metrics_request(m, 0, false);
    sl_metrics_request(m, 0, true);
    sl_metrics_request(m, -1, true);                  /* ignored */
    sl_metrics_request(m, SL_METRICS_MAX_KEYS, true); /* ignored */
    sl_metrics_observe(m, 1, SL_METRICS_PHASE_HANDLER, 1000);
    sl_metrics_observe(m, 1, SL_METRICS_NPHASES, 1000); /* ignored */
    sl_metrics_request(NULL, 0, false);                 /* no crash */
    assert_int_equal(m->requests[0], 2);
    assert_int_equal(m->errors[0], 1);
    assert_int_equal(m->lat[1][SL_METRICS_PHASE_HANDLER].count, 1);
    assert_int_equal(m->lat[1][SL_METRICS_PHASE_QUEUE].count, 0);
    sl_metrics_destroy(m);
}

static void
test_process(void **state)
{
    int64_t rss, fds;
    double cpu;
    void *volatile p;

    (void)state;
    p = malloc(1 << 20);
    memset(p, 1, 1 << 20);
    assert_int_equal(sl_metrics_process(&rss, &cpu, &fds), 0);
    assert_true(rss >= (1 << 20));
    assert_true(cpu >= 0);
    assert_true(fds >= 3); /* stdin, stdout, stderr */
    free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_family_help_escaping),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_text_cap),
        cmocka_unit_test(test_request_counters),
        cmocka_unit_test(test_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
