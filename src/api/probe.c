/*
 * api/probe.c: `sluice --probe host:port`, a one-shot ApiVersions exchange.
 *
 * The probe is a tiny Kafka client: it resolves the address, connects with a
 * deadline, sends one ApiVersions v3 request (request header v2) encoded with
 * the generated codec, reads the size-prefixed response (header v0, as
 * ApiVersions always answers) and decodes it. The health check of the
 * container image runs it, so a broker that accepts connections but does not
 * answer requests is reported unhealthy.
 *
 * Owns: the socket and arena of one call, released before returning. Every
 * length from the network is checked before it is used: a response larger
 * than SL_PROBE_MAX_RESPONSE is refused without being read.
 */
#include "api/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "proto/gen/api_versions.h"
#include "proto/wire.h"

#define SL_PROBE_API_KEY 18 /* ApiVersions */
#define SL_PROBE_VERSION 3  /* first flexible version; Kafka 2.4 and later */
#define SL_PROBE_CORRELATION 0x51c0ffee
#define SL_PROBE_CLIENT "sluice-probe"

static void
sl_probe_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

sl_err_t
sl_probe_parse_addr(const char *addr, char *host, size_t hostlen,
                    uint16_t *port, const char **why)
{
    const char *h, *hend, *p;
    char *end;
    unsigned long n;
    size_t len;

    if (addr == NULL || *addr == '\0') {
        *why = "empty address (expected host:port)";
        return SL_ERR__INVAL;
    }
    if (addr[0] == '[') {
        h = addr + 1;
        hend = strchr(h, ']');
        if (hend == NULL || hend[1] != ':') {
            *why = "bad IPv6 address (expected [addr]:port)";
            return SL_ERR__INVAL;
        }
        p = hend + 2;
    } else {
        h = addr;
        hend = strrchr(addr, ':');
        if (hend == NULL) {
            *why = "no port (expected host:port)";
            return SL_ERR__INVAL;
        }
        if (memchr(addr, ':', (size_t)(hend - addr)) != NULL) {
            *why = "IPv6 addresses go in brackets ([addr]:port)";
            return SL_ERR__INVAL;
        }
        p = hend + 1;
    }
    len = (size_t)(hend - h);
    if (len == 0 || len >= hostlen) {
        *why = len == 0 ? "empty host" : "host name too long";
        return SL_ERR__INVAL;
    }
    if (*p < '0' || *p > '9') {
        *why = "port is not a number";
        return SL_ERR__INVAL;
    }
    errno = 0;
    n = strtoul(p, &end, 10);
    if (errno != 0 || *end != '\0' || n == 0 || n > 65535) {
        *why = "port out of range (1-65535)";
        return SL_ERR__INVAL;
    }
    memcpy(host, h, len);
    host[len] = '\0';
    *port = (uint16_t)n;
    return SL_OK;
}

static int64_t
sl_probe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before <deadline>, at least 0. */
static int
sl_probe_left(int64_t deadline)
{
    int64_t left = deadline - sl_probe_now_ms();

    return left < 0 ? 0 : (int)left;
}

/* Wait until <fd> is ready for <events> or the deadline passes.
 * @returns SL_OK, SL_ERR__IO (timeout or poll error) */
static sl_err_t
sl_probe_wait(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int rc;

    for (;;) {
        rc = poll(&pfd, 1, sl_probe_left(deadline));
        if (rc > 0) {
            return SL_OK;
        }
        if (rc == 0) {
            errno = ETIMEDOUT;
            return SL_ERR__IO;
        }
        if (errno != EINTR) {
            return SL_ERR__IO;
        }
    }
}

/* Connect to the first address of <host>:<port> that accepts, by the
 * deadline. On SL_OK *fd is a connected non-blocking socket. */
static sl_err_t
sl_probe_connect(const char *host, uint16_t port, int64_t deadline, int *fd,
                 char *why, size_t whylen)
{
    struct addrinfo hints, *ai = NULL, *it;
    char service[8];
    int s = -1, rc, soerr;
    socklen_t sl;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    rc = getaddrinfo(host, service, &hints, &ai);
    if (rc != 0) {
        sl_probe_why(why, whylen, "cannot resolve %s: %s", host,
                     gai_strerror(rc));
        return SL_ERR__IO;
    }
    errno = ECONNREFUSED;
    for (it = ai; it != NULL; it = it->ai_next) {
        s = socket(it->ai_family,
                   it->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   it->ai_protocol);
        if (s < 0) {
            continue;
        }
        if (connect(s, it->ai_addr, it->ai_addrlen) == 0) {
            break;
        }
        if (errno == EINPROGRESS &&
            sl_probe_wait(s, POLLOUT, deadline) == SL_OK) {
            soerr = 0;
            sl = sizeof(soerr);
            if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
                soerr == 0) {
                break;
            }
            errno = soerr != 0 ? soerr : errno;
        }
        rc = errno;
        close(s);
        s = -1;
        errno = rc;
    }
    freeaddrinfo(ai);
    if (s < 0) {
        sl_probe_why(why, whylen, "cannot connect to %s:%u: %s", host,
                     (unsigned)port, strerror(errno));
        return SL_ERR__IO;
    }
    *fd = s;
    return SL_OK;
}

static sl_err_t
sl_probe_send_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
    ssize_t n;

    while (len > 0) {
        n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (sl_probe_wait(fd, POLLOUT, deadline) != SL_OK) {
                return SL_ERR__IO;
            }
        } else {
            return SL_ERR__IO;
        }
    }
    return SL_OK;
}

/* Read exactly <len> bytes. @returns SL_OK, SL_ERR__CLOSED, SL_ERR__IO */
static sl_err_t
sl_probe_recv_all(int fd, uint8_t *p, size_t len, int64_t deadline)
{
    ssize_t n;

    while (len > 0) {
        n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n == 0) {
            return SL_ERR__CLOSED;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (sl_probe_wait(fd, POLLIN, deadline) != SL_OK) {
                return SL_ERR__IO;
            }
        } else {
            return SL_ERR__IO;
        }
    }
    return SL_OK;
}

/* Encode the whole request frame (size prefix included) into <buf>.
 * @returns its length, or 0 when it does not fit */
static size_t
sl_probe_encode(uint8_t *buf, size_t cap)
{
    static const char client[] = SL_PROBE_CLIENT;
    sl_msg_api_versions_req_t req;
    sl_wr_t wr;
    size_t body, hdr;

    sl_msg_api_versions_req_init(&req);
    req.client_software_name.ptr = "sluice";
    req.client_software_name.len = 6;
    req.client_software_version.ptr = SL_VERSION;
    req.client_software_version.len = (int32_t)strlen(SL_VERSION);
    body = sl_msg_api_versions_req_size(&req, SL_PROBE_VERSION);
    /* Request header v2: key, version, correlation id, client id (classic
     * nullable string), empty tagged fields. */
    hdr = 2 + 2 + 4 + 2 + (sizeof(client) - 1) + 1;
    if (4 + hdr + body > cap) {
        return 0;
    }
    sl_wr_init(&wr, buf, 4 + hdr + body);
    sl_wr_i32(&wr, (int32_t)(hdr + body));
    sl_wr_i16(&wr, SL_PROBE_API_KEY);
    sl_wr_i16(&wr, SL_PROBE_VERSION);
    sl_wr_i32(&wr, SL_PROBE_CORRELATION);
    sl_wr_string(&wr, false, true,
                 (sl_str_t){client, (int32_t)(sizeof(client) - 1)});
    sl_wr_uvarint(&wr, 0);
    sl_msg_api_versions_req_encode(&wr, SL_PROBE_VERSION, &req);
    if (sl_wr_error(&wr) != SL_OK) {
        return 0;
    }
    return sl_wr_written(&wr);
}

/* Decode a response body (after the correlation id) into *res. A broker
 * that does not know v3 answers with a v0 body carrying the error. */
static sl_err_t
sl_probe_decode(const uint8_t *p, size_t len, sl_probe_result_t *res, char *why,
                size_t whylen)
{
    sl_msg_api_versions_resp_t resp;
    sl_arena_t *a;
    sl_rd_t rd;
    sl_err_t err;

    a = sl_arena_create(16384, 4 * (size_t)SL_PROBE_MAX_RESPONSE);
    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_msg_api_versions_resp_init(&resp);
    sl_rd_init(&rd, p, len);
    err = sl_msg_api_versions_resp_decode(&rd, SL_PROBE_VERSION, a, &resp);
    if (err != SL_OK) {
        sl_msg_api_versions_resp_init(&resp);
        sl_rd_init(&rd, p, len);
        err = sl_msg_api_versions_resp_decode(&rd, 0, a, &resp);
    }
    sl_arena_destroy(a);
    if (err != SL_OK) {
        sl_probe_why(why, whylen, "malformed ApiVersions response (%s)",
                     sl_err_name(err));
        return SL_ERR__PROTO;
    }
    res->error_code = resp.error_code;
    res->api_keys = resp.api_keys_count < 0 ? 0 : resp.api_keys_count;
    if (resp.error_code != 0) {
        sl_probe_why(why, whylen, "broker answered ApiVersions with %s",
                     sl_err_name(resp.error_code));
        return resp.error_code;
    }
    if (res->api_keys == 0) {
        sl_probe_why(why, whylen, "broker advertised no APIs");
        return SL_ERR__PROTO;
    }
    return SL_OK;
}

sl_err_t
sl_probe_run(const char *addr, int timeout_ms, sl_probe_result_t *res,
             char *why, size_t whylen)
{
    char host[256];
    uint8_t req[128], szb[4];
    uint8_t *resp = NULL;
    const char *bad = NULL;
    int64_t deadline;
    size_t reqlen;
    uint16_t port;
    int32_t size, corr;
    sl_rd_t rd;
    sl_err_t err;
    int fd = -1;

    memset(res, 0, sizeof(*res));
    if (sl_probe_parse_addr(addr, host, sizeof(host), &port, &bad) != SL_OK) {
        sl_probe_why(why, whylen, "bad address \"%s\": %s", addr, bad);
        return SL_ERR__INVAL;
    }
    deadline = sl_probe_now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    err = sl_probe_connect(host, port, deadline, &fd, why, whylen);
    if (err != SL_OK) {
        return err;
    }
    reqlen = sl_probe_encode(req, sizeof(req));
    if (reqlen == 0) {
        sl_probe_why(why, whylen, "cannot encode the request");
        err = SL_ERR__INVAL;
        goto done;
    }
    err = sl_probe_send_all(fd, req, reqlen, deadline);
    if (err == SL_OK) {
        err = sl_probe_recv_all(fd, szb, sizeof(szb), deadline);
    }
    if (err != SL_OK) {
        sl_probe_why(why, whylen, "%s:%u: %s", host, (unsigned)port,
                     err == SL_ERR__CLOSED ? "connection closed by the broker"
                                           : strerror(errno));
        goto done;
    }
    sl_rd_init(&rd, szb, sizeof(szb));
    sl_rd_i32(&rd, &size);
    if (size < 4 || size > SL_PROBE_MAX_RESPONSE) {
        sl_probe_why(why, whylen, "response size %d out of range", (int)size);
        err = size < 4 ? SL_ERR__PROTO : SL_ERR__TOOBIG;
        goto done;
    }
    resp = malloc((size_t)size);
    if (resp == NULL) {
        err = SL_ERR__NOMEM;
        goto done;
    }
    err = sl_probe_recv_all(fd, resp, (size_t)size, deadline);
    if (err != SL_OK) {
        sl_probe_why(why, whylen, "%s:%u: %s", host, (unsigned)port,
                     err == SL_ERR__CLOSED ? "connection closed mid-response"
                                           : strerror(errno));
        goto done;
    }
    sl_rd_init(&rd, resp, (size_t)size);
    sl_rd_i32(&rd, &corr);
    if (corr != SL_PROBE_CORRELATION) {
        sl_probe_why(why, whylen, "response correlation id %d, sent %d",
                     (int)corr, (int)SL_PROBE_CORRELATION);
        err = SL_ERR__PROTO;
        goto done;
    }
    err = sl_probe_decode(resp + 4, (size_t)size - 4, res, why, whylen);

done:
    free(resp);
    if (fd >= 0) {
        close(fd);
    }
    return err;
}
