/* Unit tests for api/probe: address parsing, and the ApiVersions exchange
 * against a scripted fake broker on 127.0.0.1 (good answers, Kafka errors,
 * hostile and broken responses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/probe.h"
#include "core/arena.h"
#include "proto/gen/api_versions.h"
#include "proto/wire.h"

typedef enum sl_fake_mode_e {
    SL_FAKE_GOOD,      /* a v3 response with two APIs */
    SL_FAKE_KAFKA_ERR, /* UNSUPPORTED_VERSION in a v0 body, as Kafka does */
    SL_FAKE_BAD_CORR,  /* a good body under another correlation id */
    SL_FAKE_HUGE,      /* a size prefix of 2 GiB, then nothing */
    SL_FAKE_NEGATIVE,  /* a negative size prefix */
    SL_FAKE_CLOSE,     /* reads the request, closes without answering */
    SL_FAKE_GARBAGE,   /* right correlation id, then bytes that decode to
                          nothing */
    SL_FAKE_NO_APIS,   /* a v3 response advertising no API */
} sl_fake_mode_e;

typedef struct sl_fake_s {
    int lfd;
    uint16_t port;
    sl_fake_mode_e mode;
    pthread_t thr;
    /* What the fake saw in the request. */
    int16_t key, version;
    int32_t corr;
    bool body_ok;
    char software[32];
} sl_fake_t;

static bool
sl_fake_read(int fd, uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = recv(fd, p, len, 0);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void
sl_fake_write(int fd, const uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

/* Parse the probe's request: header v2 then an ApiVersions v3 body. */
static void
sl_fake_parse(sl_fake_t *f, const uint8_t *p, size_t len)
{
    sl_msg_api_versions_req_t req;
    sl_arena_t *a = sl_arena_create(4096, 65536);
    sl_str_t client;
    uint32_t ntags;
    sl_rd_t rd;

    sl_rd_init(&rd, p, len);
    sl_rd_i16(&rd, &f->key);
    sl_rd_i16(&rd, &f->version);
    sl_rd_i32(&rd, &f->corr);
    sl_rd_string(&rd, false, true, &client);
    sl_rd_uvarint(&rd, &ntags);
    sl_msg_api_versions_req_init(&req);
    f->body_ok = sl_rd_error(&rd) == SL_OK && ntags == 0 &&
                 sl_msg_api_versions_req_decode(&rd, 3, a, &req) == SL_OK &&
                 sl_rd_remaining(&rd) == 0;
    if (f->body_ok && req.client_software_name.len > 0 &&
        req.client_software_name.len < (int32_t)sizeof(f->software)) {
        memcpy(f->software, req.client_software_name.ptr,
               (size_t)req.client_software_name.len);
    }
    sl_arena_destroy(a);
}

/* Frame <m> as a response (size, correlation id, body at version <v>). */
static size_t
sl_fake_frame(uint8_t *buf, size_t cap, int32_t corr, int16_t v,
              const sl_msg_api_versions_resp_t *m)
{
    size_t body = sl_msg_api_versions_resp_size(m, v);
    sl_wr_t wr;

    assert_true(8 + body <= cap);
    sl_wr_init(&wr, buf, 8 + body);
    sl_wr_i32(&wr, (int32_t)(4 + body));
    sl_wr_i32(&wr, corr);
    sl_msg_api_versions_resp_encode(&wr, v, m);
    assert_int_equal(sl_wr_error(&wr), SL_OK);
    return sl_wr_written(&wr);
}

static void *
sl_fake_main(void *arg)
{
    sl_fake_t *f = arg;
    sl_msg_api_versions_resp_api_version_t apis[2];
    sl_msg_api_versions_resp_t m;
    uint8_t szb[4], req[4096], out[4096];
    size_t n = 0;
    int32_t size;
    sl_rd_t rd;
    int fd;

    fd = accept(f->lfd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    if (!sl_fake_read(fd, szb, 4)) {
        close(fd);
        return NULL;
    }
    sl_rd_init(&rd, szb, 4);
    sl_rd_i32(&rd, &size);
    if (size <= 0 || (size_t)size > sizeof(req) ||
        !sl_fake_read(fd, req, (size_t)size)) {
        close(fd);
        return NULL;
    }
    sl_fake_parse(f, req, (size_t)size);

    sl_msg_api_versions_resp_init(&m);
    sl_msg_api_versions_resp_api_version_init(&apis[0]);
    sl_msg_api_versions_resp_api_version_init(&apis[1]);
    apis[0].api_key = 18;
    apis[0].max_version = 4;
    apis[1].api_key = 3;
    apis[1].max_version = 12;
    m.api_keys = apis;
    m.api_keys_count = 2;
    switch (f->mode) {
    case SL_FAKE_GOOD:
        n = sl_fake_frame(out, sizeof(out), f->corr, 3, &m);
        break;
    case SL_FAKE_NO_APIS:
        m.api_keys_count = 0;
        n = sl_fake_frame(out, sizeof(out), f->corr, 3, &m);
        break;
    case SL_FAKE_KAFKA_ERR:
        m.error_code = SL_ERR_UNSUPPORTED_VERSION;
        n = sl_fake_frame(out, sizeof(out), f->corr, 0, &m);
        break;
    case SL_FAKE_BAD_CORR:
        n = sl_fake_frame(out, sizeof(out), f->corr + 1, 3, &m);
        break;
    case SL_FAKE_HUGE:
        memcpy(out, "\x7f\xff\xff\xff", 4);
        n = 4;
        break;
    case SL_FAKE_NEGATIVE:
        memcpy(out, "\xff\xff\xff\xf0", 4);
        n = 4;
        break;
    case SL_FAKE_GARBAGE: {
        sl_wr_t wr;

        sl_wr_init(&wr, out, 11);
        sl_wr_i32(&wr, 7);
        sl_wr_i32(&wr, f->corr);
        sl_wr_raw(&wr, "\x00\x00\xff", 3); /* an array count past the end */
        n = sl_wr_written(&wr);
        break;
    }
    case SL_FAKE_CLOSE:
        break;
    }
    sl_fake_write(fd, out, n);
    close(fd);
    return NULL;
}

static void
sl_fake_start(sl_fake_t *f, sl_fake_mode_e mode)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    memset(f, 0, sizeof(*f));
    f->mode = mode;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &len), 0);
    f->port = ntohs(sin.sin_port);
    assert_int_equal(pthread_create(&f->thr, NULL, sl_fake_main, f), 0);
}

static sl_err_t
sl_fake_probe(sl_fake_t *f, sl_probe_result_t *res, char *why, size_t wl)
{
    char addr[64];
    sl_err_t err;

    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)f->port);
    err = sl_probe_run(addr, 10000, res, why, wl);
    pthread_join(f->thr, NULL);
    close(f->lfd);
    return err;
}

static void
test_parse_addr(void **state)
{
    char host[64];
    uint16_t port = 0;
    const char *why = NULL;

    (void)state;
    assert_int_equal(
        sl_probe_parse_addr("kafka:9092", host, sizeof(host), &port, &why),
        SL_OK);
    assert_string_equal(host, "kafka");
    assert_int_equal(port, 9092);
    assert_int_equal(
        sl_probe_parse_addr("[::1]:19092", host, sizeof(host), &port, &why),
        SL_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 19092);
}

static void
test_parse_addr_bad(void **state)
{
    static const char *const bad[] = {
        "",        "kafka",   ":9092",  "kafka:",   "kafka:0",
        "h:65536", "h:12x",   "h:-1",   "::1:9092", "[::1]9092",
        "[::1",    "[]:9092", "h: 9092"};
    char host[64];
    uint16_t port;
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(
            sl_probe_parse_addr(bad[i], host, sizeof(host), &port, &why),
            SL_ERR__INVAL);
        assert_non_null(why);
    }
    /* A host name longer than the buffer is refused, not truncated. */
    assert_int_equal(sl_probe_parse_addr("abcdefgh:1", host, 8, &port, &why),
                     SL_ERR__INVAL);
}

static void
test_probe_good(void **state)
{
    sl_probe_result_t res;
    sl_fake_t f;
    char why[256] = "";

    (void)state;
    sl_fake_start(&f, SL_FAKE_GOOD);
    assert_int_equal(sl_fake_probe(&f, &res, why, sizeof(why)), SL_OK);
    assert_int_equal(res.api_keys, 2);
    assert_int_equal(res.error_code, 0);
    /* The request was a well-formed ApiVersions v3 with header v2. */
    assert_int_equal(f.key, 18);
    assert_int_equal(f.version, 3);
    assert_true(f.body_ok);
    assert_string_equal(f.software, "sluice");
}

static void
test_probe_kafka_error(void **state)
{
    sl_probe_result_t res;
    sl_fake_t f;
    char why[256] = "";

    (void)state;
    sl_fake_start(&f, SL_FAKE_KAFKA_ERR);
    assert_int_equal(sl_fake_probe(&f, &res, why, sizeof(why)),
                     SL_ERR_UNSUPPORTED_VERSION);
    assert_int_equal(res.error_code, SL_ERR_UNSUPPORTED_VERSION);
    assert_non_null(strstr(why, "UNSUPPORTED_VERSION"));
}

static void
test_probe_bad_responses(void **state)
{
    static const struct {
        sl_fake_mode_e mode;
        sl_err_t want;
    } cases[] = {
        {SL_FAKE_BAD_CORR, SL_ERR__PROTO}, {SL_FAKE_HUGE, SL_ERR__TOOBIG},
        {SL_FAKE_NEGATIVE, SL_ERR__PROTO}, {SL_FAKE_CLOSE, SL_ERR__CLOSED},
        {SL_FAKE_GARBAGE, SL_ERR__PROTO},  {SL_FAKE_NO_APIS, SL_ERR__PROTO},
    };
    sl_probe_result_t res;
    sl_fake_t f;
    char why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why[0] = '\0';
        sl_fake_start(&f, cases[i].mode);
        assert_int_equal(sl_fake_probe(&f, &res, why, sizeof(why)),
                         cases[i].want);
        assert_true(why[0] != '\0');
    }
}

static void
test_probe_refused(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    sl_probe_result_t res;
    char addr[64], why[256] = "";
    int fd;

    (void)state;
    /* A port that was just free: bound, then closed without listening. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    assert_int_equal(sl_probe_run(addr, 10000, &res, why, sizeof(why)),
                     SL_ERR__IO);
    assert_non_null(strstr(why, "cannot connect"));
}

static void
test_probe_silent_broker(void **state)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    sl_probe_result_t res;
    char addr[64], why[256] = "";
    int lfd;

    (void)state;
    /* Listening, so the connect completes in the backlog, but never
     * answering: the probe gives up at its deadline with an error. */
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
    assert_int_equal(sl_probe_run(addr, 200, &res, why, sizeof(why)),
                     SL_ERR__IO);
    assert_true(why[0] != '\0');
    close(lfd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_addr_bad),
        cmocka_unit_test(test_probe_good),
        cmocka_unit_test(test_probe_kafka_error),
        cmocka_unit_test(test_probe_bad_responses),
        cmocka_unit_test(test_probe_refused),
        cmocka_unit_test(test_probe_silent_broker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
