/*
 * net/server.c: accept, read frames, write responses, enforce limits.
 *
 * A connection reads into its input buffer in chunks as bytes arrive (never
 * reserving a frame's claimed size up front, so a lying size prefix costs
 * nothing), hands each complete frame to the request callback, and queues
 * the response in its output buffer. While the output buffer holds more than
 * SL_CONN_OUT_HIGH bytes the connection stops reading (back-pressure).
 * Closed connections move to a zombie list freed after the reactor batch.
 */
#include "net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

#define SL_CONN_READ_CHUNK 65536
#define SL_CONN_OUT_HIGH (4u << 20)

struct sl_conn_s {
    sl_reactor_ev_t ev;
    sl_server_t *srv;
    sl_conn_t *prev, *next;
    sl_buf_t in;
    sl_buf_t out;
    int listener;
    bool closing;   /* close once out is flushed */
    bool dead;      /* on the zombie list */
    int64_t last_active;
    char peer[64];
};

typedef struct sl_listener_s {
    sl_reactor_ev_t ev;
    sl_server_t *srv;
    int index;
    int port;
} sl_listener_t;

struct sl_server_s {
    sl_reactor_t *r;
    sl_server_config_t cfg;
    sl_server_request_cb cb;
    void *ctx;
    sl_listener_t listeners[SL_SERVER_MAX_LISTENERS];
    int nlisteners;
    sl_conn_t *conns; /* live connections */
    sl_conn_t *zombies;
    int nconns;
};

static void sl_conn_on_io(sl_reactor_t *r, sl_reactor_ev_t *ev,
                          uint32_t events);

int
sl_server_parse_listeners(const char *value, sl_listener_spec_t *specs,
                          int max, const char **why)
{
    const char *p = value, *sep, *end, *hp, *colon;
    int n = 0;
    size_t len;
    long port;
    char *ep;

    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        if (n >= max) {
            *why = "too many listeners";
            return -1;
        }
        sep = strstr(p, "://");
        if (sep == NULL || sep > end || sep == p) {
            *why = "expected NAME://host:port";
            return -1;
        }
        len = (size_t)(sep - p);
        if (len >= sizeof(specs[n].name)) {
            *why = "listener name too long";
            return -1;
        }
        memcpy(specs[n].name, p, len);
        specs[n].name[len] = '\0';
        hp = sep + 3;
        if (*hp == '[') { /* [ipv6]:port */
            const char *rb = memchr(hp, ']', (size_t)(end - hp));
            if (rb == NULL || rb + 1 >= end || rb[1] != ':') {
                *why = "malformed IPv6 address";
                return -1;
            }
            len = (size_t)(rb - hp - 1);
            hp++;
            colon = rb + 1;
        } else {
            colon = NULL;
            for (const char *q = hp; q < end; q++) {
                if (*q == ':') {
                    colon = q;
                }
            }
            if (colon == NULL) {
                *why = "missing port";
                return -1;
            }
            len = (size_t)(colon - hp);
        }
        if (len >= sizeof(specs[n].host)) {
            *why = "host too long";
            return -1;
        }
        memcpy(specs[n].host, hp, len);
        specs[n].host[len] = '\0';
        errno = 0;
        port = strtol(colon + 1, &ep, 10);
        if (errno != 0 || ep != end || port < 0 || port > 65535) {
            *why = "port must be 0-65535";
            return -1;
        }
        specs[n].port = (int)port;
        n++;
        p = end;
    }
    if (n == 0) {
        *why = "no listener";
        return -1;
    }
    return n;
}

sl_server_t *
sl_server_create(sl_reactor_t *r, const sl_server_config_t *cfg,
                 sl_server_request_cb cb, void *ctx)
{
    sl_server_t *s = calloc(1, sizeof(*s));
    int i;

    if (s == NULL) {
        return NULL;
    }
    s->r = r;
    s->cfg = *cfg;
    s->cb = cb;
    s->ctx = ctx;
    for (i = 0; i < SL_SERVER_MAX_LISTENERS; i++) {
        s->listeners[i].ev.fd = -1;
    }
    return s;
}

static void
sl_server_free_zombies(sl_reactor_t *r, void *arg)
{
    sl_server_t *s = arg;
    sl_conn_t *c, *next;

    (void)r;
    for (c = s->zombies; c != NULL; c = next) {
        next = c->next;
        sl_buf_free(&c->in);
        sl_buf_free(&c->out);
        free(c);
    }
    s->zombies = NULL;
}

static void
sl_conn_close(sl_conn_t *c, const char *why)
{
    sl_server_t *s = c->srv;

    if (c->dead) {
        return;
    }
    sl_log_debug("net", "connection closed peer=%s reason=%s", c->peer, why);
    sl_reactor_del(s->r, &c->ev);
    close(c->ev.fd);
    c->ev.fd = -1;
    c->dead = true;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    s->nconns--;
    c->prev = NULL;
    c->next = s->zombies;
    s->zombies = c;
}

static void
sl_server_idle_tick(sl_reactor_t *r, void *arg)
{
    sl_server_t *s = arg;
    sl_conn_t *c, *next;
    int64_t now = sl_now_ms();

    (void)r;
    if (s->cfg.connections_max_idle_ms <= 0) {
        return;
    }
    for (c = s->conns; c != NULL; c = next) {
        next = c->next;
        if (now - c->last_active > s->cfg.connections_max_idle_ms &&
            sl_buf_avail(&c->out) == 0) {
            sl_log_info("net", "closing idle connection peer=%s idle_ms=%lld",
                        c->peer, (long long)(now - c->last_active));
            sl_conn_close(c, "idle");
        }
    }
}

static void
sl_listener_on_accept(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    sl_listener_t *l = ev->arg;
    sl_server_t *s = l->srv;
    struct sockaddr_storage ss;
    socklen_t sl;
    sl_conn_t *c;
    char host[INET6_ADDRSTRLEN];
    int fd, one = 1, port = 0;

    (void)events;
    for (;;) {
        sl = sizeof(ss);
        fd = accept4(ev->fd, (struct sockaddr *)&ss, &sl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                sl_log_warn("net", "accept failed errno=%d", errno);
            }
            return;
        }
        host[0] = '\0';
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
            port = ntohs(a->sin6_port);
        }
        if (s->cfg.max_connections > 0 &&
            s->nconns >= s->cfg.max_connections) {
            sl_log_warn("net", "refusing connection peer=%s:%d "
                        "reason=max.connections limit=%d",
                        host, port, (int)s->cfg.max_connections);
            close(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->srv = s;
        c->listener = l->index;
        c->ev.fd = fd;
        c->ev.cb = sl_conn_on_io;
        c->ev.arg = c;
        c->last_active = sl_now_ms();
        snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
        sl_buf_init(&c->in);
        sl_buf_init(&c->out);
        if (sl_reactor_add(r, &c->ev, SL_EV_READ) != SL_OK) {
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        if (s->conns != NULL) {
            s->conns->prev = c;
        }
        s->conns = c;
        s->nconns++;
        sl_log_debug("net", "connection accepted peer=%s listener=%s",
                     c->peer, s->cfg.listeners[l->index].name);
    }
}

/* Write what we can; @returns false if the connection was closed. */
static bool
sl_conn_flush(sl_conn_t *c)
{
    ssize_t n;

    while (sl_buf_avail(&c->out) > 0) {
        n = send(c->ev.fd, sl_buf_head(&c->out), sl_buf_avail(&c->out),
                 MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            sl_conn_close(c, "write error");
            return false;
        }
        sl_buf_consume(&c->out, (size_t)n);
    }
    if (sl_buf_avail(&c->out) == 0 && c->closing) {
        sl_conn_close(c, "closed by handler");
        return false;
    }
    return true;
}

static void
sl_conn_update_interest(sl_conn_t *c)
{
    uint32_t ev = 0;

    if (!c->closing && sl_buf_avail(&c->out) < SL_CONN_OUT_HIGH) {
        ev |= SL_EV_READ;
    }
    if (sl_buf_avail(&c->out) > 0) {
        ev |= SL_EV_WRITE;
    }
    if (sl_reactor_mod(c->srv->r, &c->ev, ev) != SL_OK) {
        sl_conn_close(c, "epoll error");
    }
}

/* Hand every complete frame in the input buffer to the callback. */
static bool
sl_conn_process(sl_conn_t *c)
{
    sl_server_t *s = c->srv;
    const uint8_t *p;
    uint32_t size;
    sl_err_t err;

    while (!c->closing && sl_buf_avail(&c->in) >= 4 &&
           sl_buf_avail(&c->out) < SL_CONN_OUT_HIGH) {
        p = sl_buf_head(&c->in);
        size = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
               ((uint32_t)p[2] << 8) | p[3];
        if ((int32_t)size < 0 ||
            size > (uint32_t)s->cfg.socket_request_max_bytes) {
            sl_log_warn("net", "closing connection peer=%s reason=\"request "
                        "size %u exceeds socket.request.max.bytes %d\"",
                        c->peer, size, (int)s->cfg.socket_request_max_bytes);
            sl_conn_close(c, "request too large");
            return false;
        }
        if (sl_buf_avail(&c->in) - 4 < size) {
            break;
        }
        err = s->cb(s->ctx, c, p + 4, size, &c->out);
        sl_buf_consume(&c->in, 4 + (size_t)size);
        if (err != SL_OK) {
            c->closing = true;
        }
    }
    return true;
}

static void
sl_conn_on_io(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    sl_conn_t *c = ev->arg;
    ssize_t n;

    (void)r;
    if (c->dead) {
        return;
    }
    c->last_active = sl_now_ms();
    if (events & SL_EV_WRITE) {
        if (!sl_conn_flush(c)) {
            return;
        }
    }
    if ((events & SL_EV_READ) && !c->closing) {
        for (;;) {
            if (sl_buf_reserve(&c->in, SL_CONN_READ_CHUNK) != SL_OK) {
                sl_conn_close(c, "out of memory");
                return;
            }
            n = recv(c->ev.fd, c->in.data + c->in.len, SL_CONN_READ_CHUNK, 0);
            if (n > 0) {
                c->in.len += (size_t)n;
                if (!sl_conn_process(c)) {
                    return;
                }
                if (c->closing ||
                    sl_buf_avail(&c->out) >= SL_CONN_OUT_HIGH) {
                    break;
                }
                continue;
            }
            if (n == 0) {
                sl_conn_close(c, "peer closed");
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                sl_conn_close(c, "read error");
                return;
            }
            break;
        }
    } else if (!c->closing && !sl_conn_process(c)) {
        return; /* frames left over after back-pressure eased */
    }
    if (sl_buf_avail(&c->out) > 0 || c->closing) {
        if (!sl_conn_flush(c)) {
            return;
        }
    }
    sl_conn_update_interest(c);
}

static sl_err_t
sl_server_listen_one(sl_server_t *s, int i)
{
    const sl_listener_spec_t *spec = &s->cfg.listeners[i];
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", spec->port);
    rc = getaddrinfo(spec->host[0] ? spec->host : NULL, portstr, &hints, &res);
    if (rc != 0) {
        sl_log_error("net", "cannot resolve listener host=%s error=\"%s\"",
                     spec->host, gai_strerror(rc));
        return SL_ERR__IO;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 1024) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        sl_log_error("net", "cannot listen listener=%s host=%s port=%d errno=%d",
                     spec->name, spec->host, spec->port, errno);
        return SL_ERR__IO;
    }
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    s->listeners[i].port = ntohs(ss.ss_family == AF_INET6
                                     ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                     : ((struct sockaddr_in *)&ss)->sin_port);
    s->listeners[i].srv = s;
    s->listeners[i].index = i;
    s->listeners[i].ev.fd = fd;
    s->listeners[i].ev.cb = sl_listener_on_accept;
    s->listeners[i].ev.arg = &s->listeners[i];
    if (sl_reactor_add(s->r, &s->listeners[i].ev, SL_EV_READ) != SL_OK) {
        close(fd);
        s->listeners[i].ev.fd = -1;
        return SL_ERR__IO;
    }
    sl_log_info("net", "listening listener=%s host=%s port=%d", spec->name,
                spec->host[0] ? spec->host : "*", s->listeners[i].port);
    return SL_OK;
}

sl_err_t
sl_server_listen(sl_server_t *s)
{
    int i;
    sl_err_t err;

    for (i = 0; i < s->cfg.nlisteners; i++) {
        err = sl_server_listen_one(s, i);
        if (err != SL_OK) {
            return err;
        }
        s->nlisteners = i + 1;
    }
    sl_reactor_set_after(s->r, sl_server_free_zombies, s);
    sl_reactor_set_tick(s->r, 1000, sl_server_idle_tick, s);
    return SL_OK;
}

int
sl_server_port(const sl_server_t *s, int i)
{
    return i < s->nlisteners ? s->listeners[i].port : -1;
}

void
sl_server_destroy(sl_server_t *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].ev.fd >= 0) {
            sl_reactor_del(s->r, &s->listeners[i].ev);
            close(s->listeners[i].ev.fd);
        }
    }
    while (s->conns != NULL) {
        sl_conn_close(s->conns, "shutdown");
    }
    sl_server_free_zombies(s->r, s);
    free(s);
}

const char *
sl_conn_peer(const sl_conn_t *c)
{
    return c->peer;
}

int
sl_conn_listener(const sl_conn_t *c)
{
    return c->listener;
}
