/*
 * Unit tests for net/server with a fake handler: responses in request order
 * even when handlers finish them later and out of order (parked requests),
 * queued.max.request.bytes back-pressure, clients that vanish while their
 * requests are parked, oversized frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/server.h"

/* Frame layout used by the fake handler: byte 0 = 'P' park or 'I'
 * immediate, bytes 1..4 = sequence number (echoed in the response). */

#define MAX_PARKED 1024

static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static sl_req_t *parked[MAX_PARKED];
static int nparked;

static void
fake_respond(sl_req_t *r)
{
    uint8_t resp[8] = {0, 0, 0, 4};

    memcpy(resp + 4, r->frame + 1, 4);
    sl_out_append(&r->out, resp, sizeof(resp));
    sl_req_done(r, SL_OK);
}

static void
fake_handler(void *ctx, sl_req_t *r)
{
    (void)ctx;
    if (r->len >= 5 && r->frame[0] == 'P') {
        pthread_mutex_lock(&parked_lock);
        parked[nparked++] = r;
        pthread_mutex_unlock(&parked_lock);
        return;
    }
    if (r->len >= 1 && r->frame[0] == 'C') {
        sl_req_done(r, SL_ERR__CLOSED);
        return;
    }
    fake_respond(r);
}

/* Finish every parked request, newest first, from this thread. */
static int
release_parked(void)
{
    int n, i;
    sl_req_t *list[MAX_PARKED];

    pthread_mutex_lock(&parked_lock);
    n = nparked;
    memcpy(list, parked, sizeof(list[0]) * (size_t)n);
    nparked = 0;
    pthread_mutex_unlock(&parked_lock);
    for (i = n - 1; i >= 0; i--) {
        fake_respond(list[i]);
    }
    return n;
}

static int
parked_count(void)
{
    int n;

    pthread_mutex_lock(&parked_lock);
    n = nparked;
    pthread_mutex_unlock(&parked_lock);
    return n;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct {
    sl_workpool_t *wp;
    sl_server_t *srv;
    int port;
} fixture_t;

static void
fixture_start(fixture_t *f, int64_t queued_max)
{
    sl_server_config_t sc;
    const char *why;

    memset(&sc, 0, sizeof(sc));
    assert_int_equal(sl_server_parse_listeners("PLAINTEXT://127.0.0.1:0",
                                               sc.listeners, 1, &why),
                     1);
    sc.nlisteners = 1;
    sc.network_threads = 2;
    sc.socket_request_max_bytes = 1 << 20;
    sc.connections_max_idle_ms = 60000;
    sc.queued_max_request_bytes = queued_max;
    f->wp = sl_workpool_create(3, "test");
    assert_non_null(f->wp);
    f->srv = sl_server_create(&sc, f->wp, fake_handler, NULL);
    assert_non_null(f->srv);
    assert_int_equal(sl_server_start(f->srv), SL_OK);
    f->port = sl_server_port(f->srv, 0);
    assert_true(f->port > 0);
}

static void
fixture_stop(fixture_t *f)
{
    release_parked();
    sl_server_stop(f->srv, 2000);
    sl_server_destroy(f->srv);
    sl_workpool_destroy(f->wp);
}

static int
dial(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void
send_req(int fd, char kind, uint32_t seq)
{
    uint8_t b[9] = {0, 0, 0, 5, (uint8_t)kind};
    uint32_t be = htonl(seq);

    memcpy(b + 5, &be, 4);
    assert_int_equal(send(fd, b, sizeof(b), MSG_NOSIGNAL), (ssize_t)sizeof(b));
}

static int
recv_seq(int fd, uint32_t *seq)
{
    uint8_t b[8];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(b)) {
        n = recv(fd, b + got, sizeof(b) - got, 0);
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    memcpy(seq, b + 4, 4);
    *seq = ntohl(*seq);
    return 0;
}

static void
test_parked_responses_in_order(void **state)
{
    fixture_t f;
    uint32_t i, seq;
    int fd, tries;

    (void)state;
    fixture_start(&f, -1);
    fd = dial(f.port);
    /* Park 1..5 (they finish later, newest first), answer 6 at once. */
    for (i = 1; i <= 5; i++) {
        send_req(fd, 'P', i);
    }
    send_req(fd, 'I', 6);
    for (tries = 0; parked_count() < 5 && tries < 500; tries++) {
        sleep_ms(2);
    }
    assert_int_equal(parked_count(), 5);
    assert_int_equal(release_parked(), 5);
    for (i = 1; i <= 6; i++) {
        assert_int_equal(recv_seq(fd, &seq), 0);
        assert_int_equal(seq, i);
    }
    close(fd);
    fixture_stop(&f);
}

static void
test_queue_limit_pauses_and_resumes(void **state)
{
    fixture_t f;
    uint32_t i, seq;
    int fd, tries;

    (void)state;
    /* Room for about two 5-byte frames: the third waits until release. */
    fixture_start(&f, 10);
    fd = dial(f.port);
    for (i = 1; i <= 4; i++) {
        send_req(fd, 'P', i);
    }
    for (tries = 0; tries < 100; tries++) {
        sleep_ms(2);
    }
    assert_int_equal(parked_count(), 2);
    for (tries = 0; tries < 500 && (release_parked(), 1); tries++) {
        sleep_ms(2);
        if (parked_count() == 0 && tries > 20) {
            break;
        }
    }
    release_parked();
    for (i = 1; i <= 4; i++) {
        assert_int_equal(recv_seq(fd, &seq), 0);
        assert_int_equal(seq, i);
    }
    close(fd);
    fixture_stop(&f);
}

static void
test_client_gone_while_parked(void **state)
{
    fixture_t f;
    int fd, k, tries;

    (void)state;
    fixture_start(&f, -1);
    for (k = 0; k < 20; k++) {
        fd = dial(f.port);
        send_req(fd, 'P', 1);
        send_req(fd, 'P', 2);
        for (tries = 0; parked_count() < 1 && tries < 500; tries++) {
            sleep_ms(1);
        }
        close(fd);
        sleep_ms(5);
        release_parked(); /* finished after the connection closed */
    }
    /* The server still serves. */
    fd = dial(f.port);
    send_req(fd, 'I', 42);
    uint32_t seq;
    assert_int_equal(recv_seq(fd, &seq), 0);
    assert_int_equal(seq, 42);
    close(fd);
    fixture_stop(&f);
}

static void
test_oversized_and_handler_close(void **state)
{
    fixture_t f;
    uint8_t big[4] = {0x7f, 0, 0, 0};
    uint8_t b;
    uint32_t seq;
    int fd;

    (void)state;
    fixture_start(&f, -1);
    fd = dial(f.port);
    assert_int_equal(send(fd, big, 4, MSG_NOSIGNAL), 4);
    assert_true(recv(fd, &b, 1, 0) <= 0); /* closed */
    close(fd);
    /* A handler that asks to close: earlier responses still arrive. */
    fd = dial(f.port);
    send_req(fd, 'I', 1);
    send_req(fd, 'C', 2);
    send_req(fd, 'I', 3);
    assert_int_equal(recv_seq(fd, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(recv_seq(fd, &seq), -1);
    close(fd);
    fixture_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parked_responses_in_order),
        cmocka_unit_test(test_queue_limit_pauses_and_resumes),
        cmocka_unit_test(test_client_gone_while_parked),
        cmocka_unit_test(test_oversized_and_handler_close),
    };
    sl_log_set_level(SL_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
