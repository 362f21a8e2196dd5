/*
 * tests/fuzz/fuzz_metrics_http.c: arbitrary bytes as what a client sends to
 * the metrics endpoint (sl_metrics_http_parse on every prefix), as a
 * metrics.listener value, and as a label value escaped into a small, capped
 * exposition buffer.
 *
 * Checks, besides ASan/UBSan: the parser's answer is one of the documented
 * statuses, never "need more" at or past the request cap, and a longer
 * prefix never turns an answer back into "need more"; the text buffer never
 * passes its cap; parsed listener ports are in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/http.h"
#include "metrics/metrics.h"

static void
sl_fz_check(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char host[64];
    sl_metrics_text_t t;
    size_t n, step;
    int st, port = -1;
    int answered = 0;

    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    step = size > 256 ? size / 64 : 1;
    for (n = 0; n <= size; n += step) {
        st = sl_metrics_http_parse(copy, n);
        sl_fz_check(st == 0 || st == 200 || st == 400 || st == 404 ||
                    st == 405 || st == 505);
        sl_fz_check(st != 0 || n < SL_METRICS_HTTP_MAX_REQ);
        sl_fz_check(!answered || st != 0);
        answered = st != 0;
    }
    copy[size] = '\0';
    if (sl_metrics_http_parse_listener(copy, host, sizeof(host), &port) ==
        SL_OK) {
        sl_fz_check(port >= 0 && port <= 65535 && strlen(host) < sizeof(host));
    }
    sl_metrics_text_init(&t, 512);
    sl_metrics_text_put(&t, "m{l=\"", 5);
    sl_metrics_text_label_value(&t, copy, size);
    sl_metrics_text_put(&t, "\"} 1\n", 5);
    sl_fz_check(t.len <= 512);
    sl_metrics_text_free(&t);
    free(copy);
    return 0;
}
