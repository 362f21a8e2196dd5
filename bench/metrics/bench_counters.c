/*
 * bench/metrics/bench_counters.c: what the request path pays for metrics,
 * in isolation: per request five monotonic clock reads, one request
 * counter and four histogram observations (api/api.c and net/server.c do
 * exactly this), on 1 and 2 threads hitting the same API key (the worst
 * case: every add on a shared cache line). Built and run by
 * bench/metrics/bench-counters.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics/metrics.h"

#define SL_BENCH_ITERS 5000000L

static sl_metrics_t *sl_bench_m;

static void *
sl_bench_run(void *arg)
{
    long i;
    int64_t t0, t1, t2, t3, t4, t5;

    (void)arg;
    for (i = 0; i < SL_BENCH_ITERS; i++) {
        t0 = sl_metrics_now_ns(); /* frame read (server) */
        t1 = sl_metrics_now_ns(); /* worker starts (api) */
        t2 = t1;
        sl_metrics_observe(sl_bench_m, 0, SL_METRICS_PHASE_QUEUE, t1 - t0);
        sl_metrics_request(sl_bench_m, 0, false);
        t3 = sl_metrics_now_ns(); /* response ready (api) */
        sl_metrics_observe(sl_bench_m, 0, SL_METRICS_PHASE_HANDLER, t3 - t2);
        t4 = t3;
        t5 = sl_metrics_now_ns(); /* collected (server) */
        sl_metrics_observe(sl_bench_m, 0, SL_METRICS_PHASE_RESPONSE, t5 - t4);
        sl_metrics_observe(sl_bench_m, 0, SL_METRICS_PHASE_SEND,
                           sl_metrics_now_ns() - t5); /* written */
    }
    return NULL;
}

int
main(void)
{
    pthread_t th[2];
    int n, i;
    int64_t t0, t1;

    sl_bench_m = sl_metrics_create();
    if (sl_bench_m == NULL) {
        return 1;
    }
    for (n = 1; n <= 2; n++) {
        t0 = sl_metrics_now_ns();
        for (i = 0; i < n; i++) {
            pthread_create(&th[i], NULL, sl_bench_run, NULL);
        }
        for (i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
        }
        t1 = sl_metrics_now_ns();
        printf("%d thread(s): %.1f ns per request (wall, %ld requests "
               "each)\n",
               n, (double)(t1 - t0) / SL_BENCH_ITERS, SL_BENCH_ITERS);
    }
    sl_metrics_destroy(sl_bench_m);
    return 0;
}
