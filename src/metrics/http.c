/*
 * metrics/http.c: the GET /metrics endpoint (see http.h).
 *
 * One thread runs a poll() loop over the listener, a wake-up pipe and at
 * most SL_METRICS_HTTP_MAX_CONNS non-blocking connections. A connection
 * reads until the end of its headers (or an error), gets one answer with
 * "Connection: close", and is closed once the answer is written or its
 * deadline passes. Nothing here is shared with other threads except the
 * stop flag (the pipe).
 */
#include "metrics/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* How long an answered connection is drained before it is closed. */
#define SL_METRICS_HTTP_LINGER_NS 2000000000LL

typedef struct sl_mhconn_s {
    int fd; /* -1: free slot */
    char in[SL_METRICS_HTTP_MAX_REQ];
    size_t in_len;
    sl_metrics_text_t out; /* header and body */
    size_t out_off;
    bool answering;
    bool draining; /* answered: read and drop until EOF (lingering close) */
    int64_t deadline_ns;
} sl_mhconn_t;

struct sl_metrics_http_s {
    int lfd;
    int wake[2];
    int port;
    int64_t accept_pause_until; /* after EMFILE and the like: no busy loop */
    pthread_t tid;
    sl_metrics_http_cb cb;
    void *ctx;
    sl_mhconn_t conns[SL_METRICS_HTTP_MAX_CONNS];
};

/* ---- parsing (pure) -------------------------------------------------------
 */

/* Where the headers end ("\r\n\r\n" or "\n\n"), or 0. */
static size_t
sl_metrics_http_head_end(const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        if (i + 1 < len && buf[i + 1] == '\n') {
            return i + 2;
        }
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            return i + 3;
        }
    }
    return 0;
}

int
sl_metrics_http_parse(const char *buf, size_t len)
{
    const char *sp1, *sp2, *eol, *target;
    size_t i, mlen, tlen, vlen, line;

    if (buf == NULL) {
        return 400;
    }
    /* The request line must be printable ASCII up to its end. */
    eol = memchr(buf, '\n', len);
    line = eol != NULL ? (size_t)(eol - buf) : len;
    for (i = 0; i < line; i++) {
        unsigned char ch = (unsigned char)buf[i];

        if ((ch < 0x20 && !(ch == '\r' && i + 1 == line)) || ch >= 0x7f) {
            return 400;
        }
    }
    if (eol == NULL) {
        return len >= SL_METRICS_HTTP_MAX_REQ ? 400 : 0;
    }
    if (line > 0 && buf[line - 1] == '\r') {
        line--;
    }
    sp1 = memchr(buf, ' ', line);
    if (sp1 == NULL || sp1 == buf) {
        return 400;
    }
    mlen = (size_t)(sp1 - buf);
    target = sp1 + 1;
    sp2 = memchr(target, ' ', line - mlen - 1);
    if (sp2 == NULL || sp2 == target) {
        return 400;
    }
    tlen = (size_t)(sp2 - target);
    vlen = line - mlen - 1 - tlen - 1;
    if (memchr(sp2 + 1, ' ', vlen) != NULL) {
        return 400;
    }
    if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        return vlen >= 5 && memcmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
    }
    if (sp2[8] != '0' && sp2[8] != '1') {
        return 505;
    }
    /* Answer only once the headers are complete (or could never be). */
    if (sl_metrics_http_head_end(buf, len) == 0) {
        return len >= SL_METRICS_HTTP_MAX_REQ ? 400 : 0;
    }
    if (mlen != 3 || memcmp(buf, "GET", 3) != 0) {
        return 405;
    }
    if (tlen < 8 || memcmp(target, "/metrics", 8) != 0 ||
        (tlen > 8 && target[8] != '?')) {
        return 404;
    }
    return 200;
}

sl_err_t
sl_metrics_http_parse_listener(const char *value, char *host, size_t hostsz,
                               int *port)
{
    const char *p = value, *colon, *hend;
    char *end;
    long v;
    size_t hlen;

    if (value == NULL || hostsz == 0) {
        return SL_ERR__INVAL;
    }
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://") != NULL) {
        return SL_ERR__INVAL; /* https or anything else: not served */
    }
    if (*p == '[') {
        hend = strchr(p, ']');
        if (hend == NULL || hend[1] != ':') {
            return SL_ERR__INVAL;
        }
        colon = hend + 1;
        p++;
    } else {
        colon = strrchr(p, ':');
        if (colon == NULL) {
            return SL_ERR__INVAL;
        }
        hend = colon;
    }
    hlen = (size_t)(hend - p);
    if (hlen >= hostsz || memchr(p, '/', hlen) != NULL) {
        return SL_ERR__INVAL;
    }
    errno = 0;
    v = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || (*end != '\0' && *end != '/') ||
        (*end == '/' && end[1] != '\0') || v < 0 || v > 65535) {
        return SL_ERR__INVAL;
    }
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    *port = (int)v;
    return SL_OK;
}

/* ---- serving ---------------------------------------------------------------
 */

static const char *
sl_metrics_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

static void
sl_metrics_http_close(sl_mhconn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    c->in_len = 0;
    c->out_off = 0;
    c->answering = false;
    c->draining = false;
    sl_metrics_text_free(&c->out);
}

/* Build the whole answer in c->out. */
static void
sl_metrics_http_answer(sl_metrics_http_t *h, sl_mhconn_t *c, int status)
{
    sl_metrics_text_t body;
    const char *ctype = "text/plain; charset=utf-8";

    sl_metrics_text_init(&body, SL_METRICS_HTTP_MAX_BODY);
    if (status == 200) {
        h->cb(h->ctx, &body);
        if (body.failed) {
            status = 500;
        } else {
            ctype = "text/plain; version=0.0.4; charset=utf-8";
        }
    }
    if (status != 200) {
        sl_metrics_text_free(&body);
        sl_metrics_text_init(&body, 256);
        sl_metrics_text_printf(&body, "%d %s\n", status,
                               sl_metrics_http_reason(status));
    }
    sl_metrics_text_init(&c->out, SL_METRICS_HTTP_MAX_BODY + 1024);
    sl_metrics_text_printf(&c->out,
                           "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                           status, sl_metrics_http_reason(status), ctype,
                           body.len, status == 405 ? "Allow: GET\r\n" : "");
    sl_metrics_text_put(&c->out, body.buf != NULL ? body.buf : "", body.len);
    sl_metrics_text_free(&body);
    c->answering = true;
    c->out_off = 0;
    if (c->out.failed) {
        sl_metrics_http_close(c);
    }
}

static void
sl_metrics_http_on_read(sl_metrics_http_t *h, sl_mhconn_t *c)
{
    ssize_t n;
    int status;

    if (c->draining) {
        n = recv(c->fd, c->in, sizeof(c->in), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            sl_metrics_http_close(c);
        }
        return;
    }
    n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        sl_metrics_http_close(c);
        return;
    }
    c->in_len += (size_t)n;
    status = sl_metrics_http_parse(c->in, c->in_len);
    if (status != 0) {
        sl_metrics_http_answer(h, c, status);
    }
}

static void
sl_metrics_http_on_write(sl_mhconn_t *c)
{
    ssize_t n;

    n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off,
             MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        sl_metrics_http_close(c);
        return;
    }
    c->out_off += (size_t)n;
    if (c->out_off == c->out.len) {
        /* Closing with unread request bytes would reset the connection and
         * could destroy the answer before the peer reads it: half-close,
         * then drop what the peer still sends, for a short while. */
        shutdown(c->fd, SHUT_WR);
        c->answering = false;
        c->draining = true;
        if (c->deadline_ns > sl_metrics_now_ns() + SL_METRICS_HTTP_LINGER_NS) {
            c->deadline_ns = sl_metrics_now_ns() + SL_METRICS_HTTP_LINGER_NS;
        }
    }
}

static void
sl_metrics_http_accept(sl_metrics_http_t *h, int64_t now)
{
    int fd, i;

    for (;;) {
        fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED) {
                /* Out of descriptors: the listener stays readable, so
                 * stop watching it for a while rather than spin. */
                h->accept_pause_until = now + 100000000LL;
            }
            return;
        }
        for (i = 0; i < SL_METRICS_HTTP_MAX_CONNS; i++) {
            if (h->conns[i].fd < 0) {
                break;
            }
        }
        if (i == SL_METRICS_HTTP_MAX_CONNS) {
            close(fd); /* too many scrapers at once */
            continue;
        }
        h->conns[i].fd = fd;
        h->conns[i].in_len = 0;
        h->conns[i].deadline_ns =
            now + (int64_t)SL_METRICS_HTTP_TIMEOUT_MS * 1000000LL;
    }
}

static void *
sl_metrics_http_main(void *arg)
{
    sl_metrics_http_t *h = arg;
    struct pollfd pfd[SL_METRICS_HTTP_MAX_CONNS + 2];
    int map[SL_METRICS_HTTP_MAX_CONNS + 2];
    int i, n;
    int64_t now;

    for (;;) {
        n = 0;
        pfd[n++] = (struct pollfd){.fd = h->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){
            .fd = h->lfd,
            .events =
                sl_metrics_now_ns() >= h->accept_pause_until ? POLLIN : 0};
        for (i = 0; i < SL_METRICS_HTTP_MAX_CONNS; i++) {
            if (h->conns[i].fd >= 0) {
                map[n] = i;
                pfd[n++] = (struct pollfd){
                    .fd = h->conns[i].fd,
                    .events = h->conns[i].answering ? POLLOUT : POLLIN};
            }
        }
        if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
            sl_log_error("metrics", "poll failed errno=%d", errno);
            break;
        }
        if (pfd[0].revents != 0) {
            break; /* stop */
        }
        now = sl_metrics_now_ns();
        for (i = 2; i < n; i++) {
            sl_mhconn_t *c = &h->conns[map[i]];

            if (pfd[i].revents == 0) {
                continue;
            }
            if (c->answering) {
                sl_metrics_http_on_write(c);
            } else {
                sl_metrics_http_on_read(h, c);
            }
        }
        for (i = 0; i < SL_METRICS_HTTP_MAX_CONNS; i++) {
            if (h->conns[i].fd >= 0 && now > h->conns[i].deadline_ns) {
                sl_metrics_http_close(&h->conns[i]);
            }
        }
        if (pfd[1].revents != 0) {
            sl_metrics_http_accept(h, now);
        }
    }
    return NULL;
}

sl_metrics_http_t *
sl_metrics_http_start(const char *host, int port, sl_metrics_http_cb cb,
                      void *ctx)
{
    sl_metrics_http_t *h = calloc(1, sizeof(*h));
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);
    char pbuf[16];
    int one = 1, i, rc;

    if (h == NULL) {
        return NULL;
    }
    h->lfd = -1;
    h->wake[0] = h->wake[1] = -1;
    h->cb = cb;
    h->ctx = ctx;
    for (i = 0; i < SL_METRICS_HTTP_MAX_CONNS; i++) {
        h->conns[i].fd = -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(pbuf, sizeof(pbuf), "%d", port);
    rc = getaddrinfo(host[0] != '\0' ? host : NULL, pbuf, &hints, &ai);
    if (rc != 0 || ai == NULL) {
        sl_log_error("metrics", "cannot resolve metrics.listener host=%s",
                     host);
        goto fail;
    }
    h->lfd =
        socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->lfd < 0) {
        goto fail_io;
    }
    setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(h->lfd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(h->lfd, 64) != 0 ||
        getsockname(h->lfd, (struct sockaddr *)&ss, &slen) != 0) {
        goto fail_io;
    }
    h->port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        goto fail_io;
    }
    if (pthread_create(&h->tid, NULL, sl_metrics_http_main, h) != 0) {
        goto fail_io;
    }
    freeaddrinfo(ai);
    sl_log_info("metrics", "metrics endpoint listening host=%s port=%d",
                host[0] != '\0' ? host : "*", h->port);
    return h;

fail_io:
    sl_log_error("metrics",
                 "cannot listen on metrics.listener host=%s "
                 "port=%d errno=%d",
                 host, port, errno);
fail:
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    if (h->lfd >= 0) {
        close(h->lfd);
    }
    if (h->wake[0] >= 0) {
        close(h->wake[0]);
        close(h->wake[1]);
    }
    free(h);
    return NULL;
}

int
sl_metrics_http_port(const sl_metrics_http_t *h)
{
    return h->port;
}

void
sl_metrics_http_stop(sl_metrics_http_t *h)
{
    int i;
    ssize_t n;

    if (h == NULL) {
        return;
    }
    do {
        n = write(h->wake[1], "x", 1);
    } while (n < 0 && errno == EINTR);
    pthread_join(h->tid, NULL);
    for (i = 0; i < SL_METRICS_HTTP_MAX_CONNS; i++) {
        sl_metrics_http_close(&h->conns[i]);
    }
    close(h->lfd);
    close(h->wake[0]);
    close(h->wake[1]);
    free(h);
}
