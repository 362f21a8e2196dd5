/*
 * Unit tests for metrics/http: request parsing with good and hostile input,
 * listener values, and a real endpoint on a loopback port answering GET
 * /metrics, other paths and methods, garbage, and oversized requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "metrics/http.h"

#define P(s) sl_metrics_http_parse((s), sizeof(s) - 1)

static void
test_parse_good(void **state)
{
    (void)state;
    assert_int_equal(P("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
    assert_int_equal(P("GET /metrics HTTP/1.0\r\n\r\n"), 200);
    assert_int_equal(P("GET /metrics?name[]=a HTTP/1.1\r\n\r\n"), 200);
    assert_int_equal(P("GET /metrics HTTP/1.1\n\n"), 200);
}

static void
test_parse_incomplete(void **state)
{
    (void)state;
    assert_int_equal(P(""), 0);
    assert_int_equal(P("GET /met"), 0);
    assert_int_equal(P("GET /metrics HTTP/1.1\r\n"), 0);
    assert_int_equal(P("GET /metrics HTTP/1.1\r\nHost: x\r\n"), 0);
}

static void
test_parse_not_found_and_method(void **state)
{
    (void)state;
    assert_int_equal(P("GET / HTTP/1.1\r\n\r\n"), 404);
    assert_int_equal(P("GET /metricsx HTTP/1.1\r\n\r\n"), 404);
    assert_int_equal(P("GET /metrics/ HTTP/1.1\r\n\r\n"), 404);
    assert_int_equal(P("GET http://h/metrics HTTP/1.1\r\n\r\n"), 404);
    assert_int_equal(P("POST /metrics HTTP/1.1\r\n\r\n"), 405);
    assert_int_equal(P("get /metrics HTTP/1.1\r\n\r\n"), 405);
    assert_int_equal(P("HEAD /metrics HTTP/1.1\r\n\r\n"), 405);
    assert_int_equal(P("GET /metrics HTTP/2.0\r\n\r\n"), 505);
    assert_int_equal(P("GET /metrics HTTP/1.9\r\n\r\n"), 505);
}

static void
test_parse_hostile(void **state)
{
    char big[SL_METRICS_HTTP_MAX_REQ + 10];
    static const char nul[] = "GET /met\0rics HTTP/1.1\r\n\r\n";
    static const char high[] = "GET /m\xff HTTP/1.1\r\n\r\n";
    int i;

    (void)state;
    assert_int_equal(sl_metrics_http_parse(NULL, 0), 400);
    assert_int_equal(P("\r\n\r\n"), 400);
    assert_int_equal(P(" GET /metrics HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(P("GET  /metrics HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(P("GET /metrics\r\n\r\n"), 400);
    assert_int_equal(P("GET /metrics FTP/1.1\r\n\r\n"), 400);
    assert_int_equal(P("GET /metrics HTTP/1.1 extra\r\n\r\n"), 400);
    assert_int_equal(P("GET\t/metrics HTTP/1.1\r\n\r\n"), 400);
    assert_int_equal(sl_metrics_http_parse(nul, sizeof(nul) - 1), 400);
    assert_int_equal(sl_metrics_http_parse(high, sizeof(high) - 1), 400);
    /* A binary Kafka frame sent to the wrong port. */
    assert_int_equal(P("\x00\x00\x00\x10\x00\x12\x00\x03"), 400);
    /* A request line that never ends. */
    memset(big, 'A', sizeof(big));
    assert_int_equal(sl_metrics_http_parse(big, SL_METRICS_HTTP_MAX_REQ - 1),
                     0);
    assert_int_equal(sl_metrics_http_parse(big, SL_METRICS_HTTP_MAX_REQ), 400);
    /* Headers that never end. */
    memcpy(big, "GET /metrics HTTP/1.1\r\n", 23);
    for (i = 23; i < (int)sizeof(big); i++) {
        big[i] = (i % 40 == 39) ? '\n' : 'h';
    }
    assert_int_equal(sl_metrics_http_parse(big, SL_METRICS_HTTP_MAX_REQ), 400);
    /* Every prefix of a good request is "need more" or an answer, never a
     * read past <len> (ASan watches). */
    for (i = 0; i <= 40; i++) {
        static const char good[] = "GET /metrics HTTP/1.1\r\nA: b\r\n\r\n";
        char *copy = malloc((size_t)i + 1);
        size_t n = (size_t)i < sizeof(good) - 1 ? (size_t)i : sizeof(good) - 1;

        memcpy(copy, good, n);
        assert_true(sl_metrics_http_parse(copy, n) == 0 ||
                    sl_metrics_http_parse(copy, n) == 200);
        free(copy);
    }
}

static void
test_parse_listener(void **state)
{
    char host[64];
    int port = -1;

    (void)state;
    assert_int_equal(sl_metrics_http_parse_listener("http://127.0.0.1:9644",
                                                    host, sizeof(host), &port),
                     SL_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9644);
    assert_int_equal(
        sl_metrics_http_parse_listener("0.0.0.0:1", host, sizeof(host), &port),
        SL_OK);
    assert_int_equal(port, 1);
    assert_int_equal(sl_metrics_http_parse_listener("http://[::1]:9644/", host,
                                                    sizeof(host), &port),
                     SL_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(
        sl_metrics_http_parse_listener("http://:0", host, sizeof(host), &port),
        SL_OK);
    assert_string_equal(host, "");
    assert_int_equal(port, 0);
    assert_int_equal(sl_metrics_http_parse_listener("https://h:1", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(
        sl_metrics_http_parse_listener("http://h", host, sizeof(host), &port),
        SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener("http://h:70000", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener("http://h:-1", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener("http://h:12x", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener("http://[::1:5", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener("http://h/x:5", host,
                                                    sizeof(host), &port),
                     SL_ERR__INVAL);
    assert_int_equal(sl_metrics_http_parse_listener(
                         "http://a-very-long-host-name-that-does-not-fit-in-"
                         "sixty-four-bytes-of-buffer.example:1",
                         host, sizeof(host), &port),
                     SL_ERR__INVAL);
}

/* ---- a live endpoint ---- */

static void
fill_cb(void *ctx, sl_metrics_text_t *out)
{
    int *calls = ctx;

    (*calls)++;
    sl_metrics_text_family(out, "t_total", "counter", "A test counter.");
    sl_metrics_text_sample_u64(out, "t_total", NULL, 42);
}

/* Send <req> (len bytes) and read the answer until the server closes.
 * @returns the answer (malloc'd, NUL-terminated). */
static char *
roundtrip(int port, const char *req, size_t len)
{
    struct sockaddr_in a;
    struct timeval tv = {10, 0};
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (len == 0) {
        close(fd); /* connect and go away */
        buf[0] = '\0';
        return buf;
    }
    /* The server may answer (and close) before taking everything. */
    (void)send(fd, req, len, MSG_NOSIGNAL);
    while (got + 1 < cap && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0) {
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return buf;
}

static void
test_endpoint(void **state)
{
    int calls = 0, port;
    sl_metrics_http_t *h;
    char *ans, *big;
    size_t bigsz = 3 * SL_METRICS_HTTP_MAX_REQ;

    (void)state;
    h = sl_metrics_http_start("127.0.0.1", 0, fill_cb, &calls);
    assert_non_null(h);
    port = sl_metrics_http_port(h);
    assert_true(port > 0);

    ans = roundtrip(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 35);
    assert_non_null(strstr(ans, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(ans, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(ans, "\r\n\r\n# HELP t_total A test counter.\n"
                                "# TYPE t_total counter\nt_total 42\n"));
    assert_int_equal(calls, 1);
    free(ans);

    ans = roundtrip(port, "GET /secret HTTP/1.1\r\n\r\n", 24);
    assert_non_null(strstr(ans, "HTTP/1.1 404 "));
    free(ans);
    ans = roundtrip(port, "DELETE /metrics HTTP/1.1\r\n\r\n", 28);
    assert_non_null(strstr(ans, "HTTP/1.1 405 "));
    assert_non_null(strstr(ans, "Allow: GET\r\n"));
    free(ans);
    ans = roundtrip(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    assert_non_null(strstr(ans, "HTTP/1.1 400 "));
    free(ans);
    /* An endless header block: 400 at the cap, not a growing buffer. */
    big = malloc(bigsz);
    memset(big, 'a', bigsz);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    ans = roundtrip(port, big, bigsz);
    assert_non_null(strstr(ans, "HTTP/1.1 400 "));
    free(ans);
    free(big);
    /* A peer that connects and closes at once. */
    ans = roundtrip(port, "", 0);
    free(ans);
    assert_int_equal(calls, 1); /* only the one good request scraped */

    /* Still serving after all that. */
    ans = roundtrip(port, "GET /metrics HTTP/1.0\r\n\r\n", 25);
    assert_non_null(strstr(ans, "t_total 42\n"));
    free(ans);
    sl_metrics_http_stop(h);
    sl_metrics_http_stop(NULL);
}

static void
test_bind_failure(void **state)
{
    int calls = 0;
    sl_metrics_http_t *h, *h2;

    (void)state;
    h = sl_metrics_http_start("127.0.0.1", 0, fill_cb, &calls);
    assert_non_null(h);
    /* The same port again: in use. */
    h2 = sl_metrics_http_start("127.0.0.1", sl_metrics_http_port(h), fill_cb,
                               &calls);
    assert_null(h2);
    assert_null(
        sl_metrics_http_start("no such host.invalid", 0, fill_cb, &calls));
    sl_metrics_http_stop(h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_incomplete),
        cmocka_unit_test(test_parse_not_found_and_method),
        cmocka_unit_test(test_parse_hostile),
        cmocka_unit_test(test_parse_listener),
        cmocka_unit_test(test_endpoint),
        cmocka_unit_test(test_bind_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
