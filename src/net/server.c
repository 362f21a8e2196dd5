/*
 * net/server.c: network threads, accept, framing, ordered responses.
 *
 * Threads and ownership:
 * - Network thread 0's reactor also watches the listeners. An accepted
 *   socket becomes a connection owned by one network thread (round robin),
 *   handed over through that thread's inbox and a wake-up.
 * - Everything in sl_conn_t is touched only by its owning network thread,
 *   except peer/listener (immutable). A request belongs to the worker
 *   (and whoever parks it) from posting until sl_req_done(); the owning
 *   thread learns of "handler returned" and "done" through its inbox.
 * - A connection reads into its input buffer in chunks as bytes arrive
 *   (never reserving a frame's claimed size up front, so a lying size
 *   prefix costs nothing). While its output holds more than
 *   SL_CONN_OUT_HIGH bytes, or the server holds queued.max.request.bytes of
 *   request frames, it stops reading (back-pressure).
 * - A closed connection is freed after the reactor batch in which it
 *   closed and once none of its requests is outstanding.
 *
 * - On SSL and SASL_SSL listeners the connection holds an OpenSSL SSL
 *   object on its non-blocking socket: the handshake runs first (nothing is
 *   read as a request before it completes), then SSL_read fills the input
 *   buffer and SSL_write drains the output (file ranges are read into
 *   memory, no sendfile). An SSL operation that needs the other direction
 *   (WANT_WRITE while reading) sets tls_want_write, so a writable socket
 *   resumes the read side.
 *
 * Locking: each thread's inbox lock guards its inbox lists; the server's
 * counters are atomics.
 */
#include "net/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"

#define SL_CONN_READ_CHUNK 65536
#define SL_CONN_OUT_HIGH (4u << 20)

#define SL_REQ_RETURNED 1u
#define SL_REQ_DONE 2u

typedef struct sl_netthread_s sl_netthread_t;

struct sl_conn_s {
    sl_reactor_ev_t ev;
    sl_netthread_t *t;
    sl_conn_t *prev, *next; /* thread's live list, or zombie list */
    sl_conn_t *inbox_next;  /* new connections handed to the thread */
    sl_buf_t in;
    sl_out_t out;           /* bytes of finished responses, in order */
    sl_req_t *pending_head; /* requests not yet moved to out, in order */
    sl_req_t *pending_tail;
    int outstanding; /* requests posted and not yet finished */
    int listener;
    bool busy;    /* a request is in a worker's hands */
    bool muted;   /* not reading: queued.max.request.bytes */
    bool closing; /* close once out is flushed */
    bool dead;    /* socket closed, on the zombie list */
    int64_t last_active;
    char peer[64];
    char local_host[INET6_ADDRSTRLEN];
    int local_port;
    /* Metrics: bytes ever moved to out, and the responses in out not yet
     * fully written (where each ends, since when, its key), oldest first. */
    uint64_t out_moved;
    struct {
        uint64_t end;
        int64_t since_ns;
        int32_t key;
        uint32_t count; /* responses of <key> ending by <end> */
    } obs[SL_SERVER_OBS_PENDING];
    unsigned obs_head, obs_n;
    SSL *ssl;            /* TLS listeners only */
    bool tls_done;       /* handshake finished */
    bool tls_want_write; /* the read side waits for a writable socket */
    int64_t accepted_ms;
    char principal[320];
    _Atomic int auth; /* sl_conn_auth_e */
    void *sasl;
    void (*sasl_free)(void *);
    char ip[INET6_ADDRSTRLEN]; /* counted in the per-IP table */
};

typedef struct sl_listener_s {
    sl_reactor_ev_t ev;
    sl_server_t *srv;
    int index;
    int port;
} sl_listener_t;

struct sl_netthread_s {
    sl_server_t *srv;
    int index;
    sl_reactor_t *r;
    pthread_t tid;
    bool started;
    pthread_mutex_t lock; /* guards the three inbox lists */
    sl_conn_t *new_conns;
    sl_req_t *returned;
    sl_req_t *done;
    sl_conn_t *conns;   /* live */
    sl_conn_t *zombies; /* closed, waiting for outstanding requests */
};

struct sl_server_s {
    sl_server_config_t cfg;
    sl_workpool_t *wp;
    sl_server_request_cb cb;
    void *ctx;
    sl_listener_t listeners[SL_SERVER_MAX_LISTENERS];
    int nlisteners;
    sl_netthread_t threads[SL_SERVER_MAX_THREADS];
    int nthreads;
    unsigned next_thread;
    atomic_int nconns;
    atomic_llong queued_bytes; /* frames of requests not yet finished */
    atomic_int outstanding;    /* requests not yet finished, all conns */
    atomic_bool draining;      /* stop taking new requests */
    atomic_llong accepted;     /* connections since start (metrics) */
    sl_server_observe_cb observe;
    pthread_mutex_t ip_lock;  /* guards ips */
    struct sl_ipcount_s *ips; /* live connections per address */
    size_t nips, capips;
};

typedef struct sl_ipcount_s {
    char ip[INET6_ADDRSTRLEN];
    int n;
} sl_ipcount_t;

static void sl_conn_on_io(sl_reactor_t *r, sl_reactor_ev_t *ev,
                          uint32_t events);

/* Count one more connection from <ip>; false when at the per-IP limit
 * (or out of memory). */
static bool
sl_server_ip_take(sl_server_t *s, const char *ip)
{
    bool ok = true;
    size_t i;

    if (s->cfg.max_connections_per_ip <= 0) {
        return true;
    }
    pthread_mutex_lock(&s->ip_lock);
    for (i = 0; i < s->nips && strcmp(s->ips[i].ip, ip) != 0; i++) {
    }
    if (i < s->nips) {
        if (s->ips[i].n >= s->cfg.max_connections_per_ip) {
            ok = false;
        } else {
            s->ips[i].n++;
        }
    } else {
        if (s->nips == s->capips) {
            size_t cap = s->capips != 0 ? s->capips * 2 : 16;
            sl_ipcount_t *v = realloc(s->ips, cap * sizeof(*v));

            if (v == NULL) {
                pthread_mutex_unlock(&s->ip_lock);
                return false;
            }
            s->ips = v;
            s->capips = cap;
        }
        snprintf(s->ips[s->nips].ip, sizeof(s->ips[s->nips].ip), "%s", ip);
        s->ips[s->nips].n = 1;
        s->nips++;
    }
    pthread_mutex_unlock(&s->ip_lock);
    return ok;
}

static void
sl_server_ip_release(sl_server_t *s, const char *ip)
{
    size_t i;

    if (s->cfg.max_connections_per_ip <= 0 || ip[0] == '\0') {
        return;
    }
    pthread_mutex_lock(&s->ip_lock);
    for (i = 0; i < s->nips; i++) {
        if (strcmp(s->ips[i].ip, ip) == 0) {
            if (--s->ips[i].n <= 0) {
                s->ips[i] = s->ips[--s->nips];
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->ip_lock);
}
static void sl_conn_dispatch(sl_conn_t *c);
static void sl_conn_write(sl_conn_t *c);

int
sl_server_parse_listeners(const char *value, sl_listener_spec_t *specs, int max,
                          const char **why)
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

/* ---- connections -------------------------------------------------------- */

static void
sl_conn_free(sl_conn_t *c)
{
    sl_buf_free(&c->in);
    sl_out_free(&c->out);
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->sasl_free != NULL) {
        c->sasl_free(c->sasl);
    }
    free(c);
}

static void
sl_req_free(sl_req_t *r)
{
    sl_out_free(&r->out);
    free(r);
}

static void
sl_conn_close(sl_conn_t *c, const char *why)
{
    sl_netthread_t *t = c->t;

    if (c->dead) {
        return;
    }
    sl_log_debug("net", "connection closed peer=%s reason=%s", c->peer, why);
    sl_reactor_del(t->r, &c->ev);
    if (c->ssl != NULL && c->tls_done) {
        (void)SSL_shutdown(c->ssl); /* best effort close_notify */
        ERR_clear_error();
    }
    close(c->ev.fd);
    c->ev.fd = -1;
    c->dead = true;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        t->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    atomic_fetch_sub(&t->srv->nconns, 1);
    sl_server_ip_release(t->srv, c->ip);
    c->prev = NULL;
    c->next = t->zombies;
    if (t->zombies != NULL) {
        t->zombies->prev = c;
    }
    t->zombies = c;
}

/* After each reactor batch: free closed connections with nothing pending. */
static void
sl_netthread_reap(sl_reactor_t *r, void *arg)
{
    sl_netthread_t *t = arg;
    sl_conn_t *c, *next;
    sl_req_t *q;

    (void)r;
    for (c = t->zombies; c != NULL; c = next) {
        next = c->next;
        if (c->outstanding > 0) {
            continue;
        }
        if (c->prev != NULL) {
            c->prev->next = c->next;
        } else {
            t->zombies = c->next;
        }
        if (c->next != NULL) {
            c->next->prev = c->prev;
        }
        while ((q = c->pending_head) != NULL) {
            c->pending_head = q->next;
            sl_req_free(q);
        }
        sl_conn_free(c);
    }
}

static void
sl_conn_set_interest(sl_conn_t *c)
{
    uint32_t ev = 0;

    if (c->dead) {
        return;
    }
    if (c->ssl != NULL && !c->tls_done) {
        ev |= SL_EV_READ; /* the handshake needs both directions */
    } else if (!c->closing && !c->muted && c->out.total < SL_CONN_OUT_HIGH) {
        ev |= SL_EV_READ;
    }
    if (c->out.total > 0 || c->tls_want_write) {
        ev |= SL_EV_WRITE;
    }
    if (sl_reactor_mod(c->t->r, &c->ev, ev) != SL_OK) {
        sl_conn_close(c, "epoll error");
    }
}

/* Metrics: response <q> joins c->out (call before moving it). */
static void
sl_conn_observe_queued(sl_conn_t *c, const sl_req_t *q)
{
    sl_server_t *s = c->t->srv;
    int64_t now;

    c->out_moved += q->out.total;
    if (s->observe == NULL || q->metrics_key < 0) {
        return;
    }
    now = sl_clock_mono_ns();
    s->observe(s->ctx, q->metrics_key, SL_SERVER_OBS_QUEUED, now - q->done_ns);
    if (c->obs_n > 0) {
        /* Responses of one API taken in one burst (a group commit
         * completing many produces) share an entry. */
        unsigned last = (c->obs_head + c->obs_n - 1) % SL_SERVER_OBS_PENDING;

        if (c->obs[last].key == q->metrics_key &&
            now - c->obs[last].since_ns < 1000000) {
            c->obs[last].end = c->out_moved;
            c->obs[last].count++;
            return;
        }
    }
    if (c->obs_n < SL_SERVER_OBS_PENDING) {
        unsigned i = (c->obs_head + c->obs_n++) % SL_SERVER_OBS_PENDING;

        c->obs[i].end = c->out_moved;
        c->obs[i].since_ns = now;
        c->obs[i].key = q->metrics_key;
        c->obs[i].count = 1;
    }
}

/* Metrics: report the responses whose last byte is now written. */
static void
sl_conn_observe_sent(sl_conn_t *c)
{
    sl_server_t *s = c->t->srv;
    uint64_t sent = c->out_moved - c->out.total;
    int64_t now;

    if (c->obs_n == 0 || c->obs[c->obs_head].end > sent) {
        return;
    }
    now = sl_clock_mono_ns();
    while (c->obs_n > 0 && c->obs[c->obs_head].end <= sent) {
        uint32_t k;

        for (k = 0; k < c->obs[c->obs_head].count; k++) {
            s->observe(s->ctx, c->obs[c->obs_head].key, SL_SERVER_OBS_SENT,
                       now - c->obs[c->obs_head].since_ns);
        }
        c->obs_head = (c->obs_head + 1) % SL_SERVER_OBS_PENDING;
        c->obs_n--;
    }
}

/* Move finished responses at the head of the pending list to the output. */
static void
sl_conn_collect(sl_conn_t *c)
{
    sl_req_t *q;

    while ((q = c->pending_head) != NULL && q->finished) {
        c->pending_head = q->next;
        if (c->pending_head == NULL) {
            c->pending_tail = NULL;
        }
        if (!c->closing) {
            sl_conn_observe_queued(c, q);
            sl_out_move(&c->out, &q->out);
            if (q->status != SL_OK) {
                c->closing = true;
            }
        }
        sl_req_free(q);
    }
}

/* A request is finished: account for it and write what is in order. */
static void
sl_conn_req_finished(sl_conn_t *c, sl_req_t *q)
{
    sl_server_t *s = c->t->srv;

    atomic_fetch_sub(&s->queued_bytes, (long long)q->len);
    atomic_fetch_sub(&s->outstanding, 1);
    c->outstanding--;
    q->finished = 1;
    if (c->dead) {
        return; /* the reaper frees it with the connection */
    }
    sl_conn_collect(c);
    sl_conn_write(c);
}

/* sl_out_write_cb over the connection's TLS session. */
static long
sl_conn_tls_write(void *arg, const uint8_t *p, size_t len)
{
    sl_conn_t *c = arg;
    int n, e;

    if (len > (1u << 30)) {
        len = 1u << 30;
    }
    ERR_clear_error();
    n = SSL_write(c->ssl, p, (int)len);
    if (n > 0) {
        return n;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        return SL_ERR__AGAIN;
    }
    ERR_clear_error();
    return SL_ERR__IO;
}

static void
sl_conn_write(sl_conn_t *c)
{
    sl_err_t err;

    if (c->dead) {
        return;
    }
    if (c->out.total > 0) {
        err = c->ssl != NULL ? sl_out_send_with(&c->out, sl_conn_tls_write, c)
                             : sl_out_send(&c->out, c->ev.fd);
        if (err != SL_OK && err != SL_ERR__AGAIN) {
            sl_conn_close(c, "write error");
            return;
        }
    }
    sl_conn_observe_sent(c);
    if (c->out.total == 0 && c->closing && c->pending_head == NULL) {
        sl_conn_close(c, "closed by handler");
        return;
    }
    sl_conn_set_interest(c);
}

/* @thread worker */
static void
sl_req_run(sl_task_t *task)
{
    sl_req_t *q = (sl_req_t *)((char *)task - offsetof(sl_req_t, task));
    sl_netthread_t *t = q->conn->t;
    unsigned prev;

    t->srv->cb(t->srv->ctx, q);
    /* Queue "returned" before publishing RETURNED: a later sl_req_done()
     * then queues "done" behind it, and the thread handles them in that
     * order (see sl_netthread_on_wake). */
    pthread_mutex_lock(&t->lock);
    q->ret_next = t->returned;
    t->returned = q;
    prev = atomic_fetch_or(&q->state, SL_REQ_RETURNED);
    q->done_at_return = (prev & SL_REQ_DONE) != 0;
    pthread_mutex_unlock(&t->lock);
    sl_reactor_wake(t->r);
}

void
sl_req_done(sl_req_t *q, sl_err_t status)
{
    sl_netthread_t *t = q->conn->t;
    unsigned prev;

    q->status = status == SL_OK ? SL_OK : SL_ERR__CLOSED;
    if (q->done_ns == 0) { /* the handler may have stamped it */
        q->done_ns = sl_clock_mono_ns();
    }
    prev = atomic_fetch_or(&q->state, SL_REQ_DONE);
    if (prev & SL_REQ_RETURNED) {
        /* Parked request finished later: tell the owning thread. */
        pthread_mutex_lock(&t->lock);
        q->done_next = t->done;
        t->done = q;
        pthread_mutex_unlock(&t->lock);
        sl_reactor_wake(t->r);
    }
}

static bool
sl_server_over_queue_limit(const sl_server_t *s)
{
    return s->cfg.queued_max_request_bytes > 0 &&
           atomic_load(&s->queued_bytes) >= s->cfg.queued_max_request_bytes;
}

/* Hand the next complete frame to the workers, if the connection is free. */
static void
sl_conn_dispatch(sl_conn_t *c)
{
    sl_server_t *s = c->t->srv;
    const uint8_t *p;
    uint32_t size;
    sl_req_t *q;

    if (c->dead || c->busy || c->closing || atomic_load(&s->draining)) {
        return;
    }
    if (sl_buf_avail(&c->in) < 4) {
        return;
    }
    p = sl_buf_head(&c->in);
    size = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
    if (atomic_load(&c->auth) != SL_CONN_AUTH_DONE &&
        s->cfg.preauth_max_bytes > 0 &&
        size > (uint32_t)s->cfg.preauth_max_bytes) {
        sl_log_warn("net",
                    "closing connection peer=%s reason=\"frame of %u bytes "
                    "before authentication exceeds "
                    "sasl.server.max.receive.size %d\"",
                    c->peer, size, (int)s->cfg.preauth_max_bytes);
        sl_conn_close(c, "request too large before authentication");
        return;
    }
    if ((int32_t)size < 0 || size > (uint32_t)s->cfg.socket_request_max_bytes) {
        sl_log_warn("net",
                    "closing connection peer=%s reason=\"request size "
                    "%d exceeds socket.request.max.bytes %d\"",
                    c->peer, (int32_t)size,
                    (int)s->cfg.socket_request_max_bytes);
        sl_conn_close(c, "request too large");
        return;
    }
    if (sl_buf_avail(&c->in) - 4 < size) {
        return;
    }
    if (sl_server_over_queue_limit(s)) {
        c->muted = true; /* resumed when requests finish */
        sl_conn_set_interest(c);
        return;
    }
    q = malloc(sizeof(*q) + size);
    if (q == NULL) {
        sl_conn_close(c, "out of memory");
        return;
    }
    memset(q, 0, sizeof(*q));
    memcpy(q + 1, p + 4, size);
    sl_buf_consume(&c->in, 4 + (size_t)size);
    q->frame = (const uint8_t *)(q + 1);
    q->len = size;
    q->conn = c;
    q->received_ms = sl_now_ms();
    q->received_ns = sl_clock_mono_ns();
    q->metrics_key = -1;
    sl_out_init(&q->out);
    atomic_init(&q->state, 0);
    q->task.fn = sl_req_run;
    if (c->pending_tail != NULL) {
        c->pending_tail->next = q;
    } else {
        c->pending_head = q;
    }
    c->pending_tail = q;
    c->busy = true;
    c->outstanding++;
    atomic_fetch_add(&s->outstanding, 1);
    atomic_fetch_add(&s->queued_bytes, (long long)size);
    sl_workpool_post(s->wp, &q->task);
}

/* Log and clear OpenSSL's error queue; the reason of the first error. */
static const char *
sl_conn_tls_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();

    if (e == 0) {
        snprintf(buf, len, "connection closed or reset");
    } else {
        ERR_error_string_n(e, buf, len);
    }
    ERR_clear_error();
    return buf;
}

/* Drive the TLS handshake; on completion set the principal. */
static void
sl_conn_tls_handshake(sl_conn_t *c)
{
    char why[256], dn[256];
    int n, e;

    ERR_clear_error();
    n = SSL_do_handshake(c->ssl);
    if (n == 1) {
        c->tls_done = true;
        c->tls_want_write = false;
        if (sl_tls_peer_dn(c->ssl, dn, sizeof(dn))) {
            char name[256];

            if (!sl_tls_ctx_map_principal(
                    c->t->srv->cfg.listeners[c->listener].tls, dn, name,
                    sizeof(name))) {
                sl_log_warn("net",
                            "closing connection peer=%s reason=\"no "
                            "ssl.principal.mapping.rules rule matches "
                            "%s\"",
                            c->peer, dn);
                sl_conn_close(c, "no principal mapping rule");
                return;
            }
            snprintf(c->principal, sizeof(c->principal), "User:%s", name);
        }
        sl_log_debug("net",
                     "TLS handshake done peer=%s version=%s cipher=%s "
                     "principal=\"%s\"",
                     c->peer, SSL_get_version(c->ssl),
                     SSL_get_cipher_name(c->ssl), c->principal);
        return;
    }
    e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_READ) {
        c->tls_want_write = false;
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->tls_want_write = true;
        return;
    }
    sl_log_warn("net", "TLS handshake failed peer=%s reason=\"%s\"", c->peer,
                sl_conn_tls_reason(why, sizeof(why)));
    sl_conn_close(c, "TLS handshake failed");
}

/* Read decrypted bytes into the input buffer. @returns SL_OK, or an error
 * after closing the connection. */
static sl_err_t
sl_conn_tls_read(sl_conn_t *c)
{
    char why[256];
    size_t total = 0;
    int n, e;

    for (;;) {
        if (sl_buf_reserve(&c->in, SL_CONN_READ_CHUNK) != SL_OK) {
            sl_conn_close(c, "out of memory");
            return SL_ERR__NOMEM;
        }
        ERR_clear_error();
        n = SSL_read(c->ssl, c->in.data + c->in.len, SL_CONN_READ_CHUNK);
        if (n > 0) {
            c->in.len += (size_t)n;
            total += (size_t)n;
            /* Bounded per event unless OpenSSL holds decrypted bytes the
             * socket will not announce again. */
            if (total >= 4 * SL_CONN_READ_CHUNK && !SSL_has_pending(c->ssl)) {
                return SL_OK;
            }
            continue;
        }
        e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            return SL_OK;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
            c->tls_want_write = true;
            return SL_OK;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            sl_conn_close(c, "peer closed");
            return SL_ERR__CLOSED;
        }
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            sl_conn_close(c, "peer closed");
            return SL_ERR__CLOSED;
        }
        sl_log_warn("net", "TLS read failed peer=%s reason=\"%s\"", c->peer,
                    sl_conn_tls_reason(why, sizeof(why)));
        sl_conn_close(c, "TLS error");
        return SL_ERR__IO;
    }
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
    if (c->ssl != NULL) {
        if (c->tls_want_write && (events & SL_EV_WRITE)) {
            c->tls_want_write = false;
            events |= SL_EV_READ;
        }
        if (!c->tls_done) {
            sl_conn_tls_handshake(c);
            if (!c->dead) {
                sl_conn_set_interest(c);
            }
            return;
        }
    }
    if (events & SL_EV_WRITE) {
        sl_conn_write(c);
        if (c->dead) {
            return;
        }
    }
    if ((events & SL_EV_READ) && !c->closing && !c->muted && c->ssl != NULL) {
        if (sl_conn_tls_read(c) != SL_OK) {
            return;
        }
        sl_conn_dispatch(c);
    } else if ((events & SL_EV_READ) && !c->closing && !c->muted) {
        for (;;) {
            if (sl_buf_reserve(&c->in, SL_CONN_READ_CHUNK) != SL_OK) {
                sl_conn_close(c, "out of memory");
                return;
            }
            n = recv(c->ev.fd, c->in.data + c->in.len, SL_CONN_READ_CHUNK, 0);
            if (n > 0) {
                c->in.len += (size_t)n;
                if ((size_t)n < SL_CONN_READ_CHUNK) {
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
        sl_conn_dispatch(c);
    }
    if (!c->dead) {
        sl_conn_set_interest(c);
    }
}

/* ---- network threads ----------------------------------------------------- */

static void
sl_netthread_adopt(sl_netthread_t *t, sl_conn_t *c)
{
    c->t = t;
    c->ev.cb = sl_conn_on_io;
    c->ev.arg = c;
    if (sl_reactor_add(t->r, &c->ev, SL_EV_READ) != SL_OK) {
        close(c->ev.fd);
        atomic_fetch_sub(&t->srv->nconns, 1);
        sl_server_ip_release(t->srv, c->ip);
        sl_conn_free(c);
        return;
    }
    c->prev = NULL;
    c->next = t->conns;
    if (t->conns != NULL) {
        t->conns->prev = c;
    }
    t->conns = c;
}

/* Resume reading on muted connections once the queue has room. */
static void
sl_netthread_unmute(sl_netthread_t *t)
{
    sl_conn_t *c, *next;

    for (c = t->conns; c != NULL && !sl_server_over_queue_limit(t->srv);
         c = next) {
        next = c->next;
        if (c->muted) {
            c->muted = false;
            sl_conn_dispatch(c);
            sl_conn_set_interest(c);
        }
    }
}

/* @thread network thread 0 (or main once the threads are joined) */
static void
sl_server_close_listeners(sl_server_t *s)
{
    int i;

    for (i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].ev.fd >= 0) {
            sl_reactor_del(s->threads[0].r, &s->listeners[i].ev);
            close(s->listeners[i].ev.fd);
            s->listeners[i].ev.fd = -1;
        }
    }
}

static void
sl_netthread_on_wake(sl_reactor_t *r, void *arg)
{
    sl_netthread_t *t = arg;
    sl_conn_t *nc, *cn;
    sl_req_t *ret, *done, *q, *qn;

    (void)r;
    if (t->index == 0 && atomic_load(&t->srv->draining)) {
        sl_server_close_listeners(t->srv);
    }
    pthread_mutex_lock(&t->lock);
    nc = t->new_conns;
    ret = t->returned;
    done = t->done;
    t->new_conns = NULL;
    t->returned = NULL;
    t->done = NULL;
    pthread_mutex_unlock(&t->lock);

    for (; nc != NULL; nc = cn) {
        cn = nc->inbox_next;
        sl_netthread_adopt(t, nc);
    }
    /* Handlers returned: the connection may hand on its next request.
     * Before the done list: a parked request's "returned" must be handled
     * before its "done", which may free it. */
    for (q = ret; q != NULL; q = qn) {
        sl_conn_t *c = q->conn;

        qn = q->ret_next;
        c->busy = false;
        if (q->done_at_return) {
            sl_conn_req_finished(c, q); /* may free q */
        }
        if (!c->dead) {
            sl_conn_dispatch(c);
            if (!c->dead) {
                sl_conn_set_interest(c);
            }
        }
    }
    /* Parked requests finished by another thread. */
    for (q = done; q != NULL; q = qn) {
        qn = q->done_next;
        sl_conn_req_finished(q->conn, q);
    }
    if (ret != NULL || done != NULL) {
        sl_netthread_unmute(t);
    }
}

static void
sl_netthread_tick(sl_reactor_t *r, void *arg)
{
    sl_netthread_t *t = arg;
    sl_server_t *s = t->srv;
    sl_conn_t *c, *next;
    int64_t now = sl_now_ms();

    (void)r;
    sl_netthread_unmute(t);
    for (c = t->conns; c != NULL; c = next) {
        next = c->next;
        if (((c->ssl != NULL && !c->tls_done) ||
             atomic_load(&c->auth) != SL_CONN_AUTH_DONE) &&
            s->cfg.handshake_timeout_ms > 0 &&
            now - c->accepted_ms > s->cfg.handshake_timeout_ms &&
            c->outstanding == 0) {
            sl_log_warn("net",
                        "closing connection peer=%s reason=\"%s handshake "
                        "not finished after %lld ms\"",
                        c->peer,
                        c->ssl != NULL && !c->tls_done ? "TLS" : "SASL",
                        (long long)(now - c->accepted_ms));
            sl_conn_close(c, "handshake timeout");
            continue;
        }
        if (s->cfg.connections_max_idle_ms > 0 &&
            now - c->last_active > s->cfg.connections_max_idle_ms &&
            c->out.total == 0 && c->outstanding == 0) {
            sl_log_info("net", "closing idle connection peer=%s idle_ms=%lld",
                        c->peer, (long long)(now - c->last_active));
            sl_conn_close(c, "idle");
        }
    }
}

static void *
sl_netthread_main(void *arg)
{
    sl_netthread_t *t = arg;

    sl_reactor_run(t->r);
    return NULL;
}

/* ---- listeners ----------------------------------------------------------- */

static void
sl_listener_on_accept(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    sl_listener_t *l = ev->arg;
    sl_server_t *s = l->srv;
    sl_netthread_t *t;
    struct sockaddr_storage ss;
    socklen_t slen;
    sl_conn_t *c;
    char host[INET6_ADDRSTRLEN];
    int fd, one = 1, port = 0;

    (void)r;
    (void)events;
    for (;;) {
        slen = sizeof(ss);
        fd = accept4(ev->fd, (struct sockaddr *)&ss, &slen,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                sl_log_warn("net", "accept failed: out of file descriptors");
            } else if (errno != EAGAIN && errno != EWOULDBLOCK &&
                       errno != EINTR && errno != ECONNABORTED) {
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
        if (atomic_load(&s->draining) ||
            (s->cfg.max_connections > 0 &&
             atomic_load(&s->nconns) >= s->cfg.max_connections)) {
            sl_log_warn("net", "refusing connection peer=%s:%d reason=%s", host,
                        port,
                        atomic_load(&s->draining) ? "shutting down"
                                                  : "max.connections");
            close(fd);
            continue;
        }
        if (!sl_server_ip_take(s, host)) {
            sl_log_warn("net",
                        "refusing connection peer=%s:%d "
                        "reason=max.connections.per.ip",
                        host, port);
            close(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            sl_server_ip_release(s, host);
            close(fd);
            continue;
        }
        snprintf(c->ip, sizeof(c->ip), "%s", host);
        atomic_init(&c->auth, strncmp(s->cfg.listeners[l->index].protocol,
                                      "SASL_", 5) == 0
                                  ? SL_CONN_AUTH_START
                                  : SL_CONN_AUTH_DONE);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->listener = l->index;
        c->ev.fd = fd;
        slen = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0) {
            if (ss.ss_family == AF_INET) {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, c->local_host,
                          sizeof(c->local_host));
                c->local_port = ntohs(a->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, c->local_host,
                          sizeof(c->local_host));
                c->local_port = ntohs(a->sin6_port);
            }
        }
        c->last_active = sl_now_ms();
        c->accepted_ms = c->last_active;
        snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
        snprintf(c->principal, sizeof(c->principal), "User:ANONYMOUS");
        if (s->cfg.listeners[l->index].tls != NULL) {
            c->ssl = sl_tls_ctx_new_ssl(s->cfg.listeners[l->index].tls);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                sl_log_warn("net", "cannot start TLS peer=%s", c->peer);
                SSL_free(c->ssl);
                sl_server_ip_release(s, host);
                free(c);
                close(fd);
                continue;
            }
        }
        sl_buf_init(&c->in);
        sl_out_init(&c->out);
        atomic_fetch_add(&s->nconns, 1);
        atomic_fetch_add_explicit(&s->accepted, 1, memory_order_relaxed);
        t = &s->threads[s->next_thread++ % (unsigned)s->nthreads];
        sl_log_debug("net", "connection accepted peer=%s listener=%s thread=%d",
                     c->peer, s->cfg.listeners[l->index].name, t->index);
        if (t == &s->threads[0]) {
            sl_netthread_adopt(t, c);
        } else {
            pthread_mutex_lock(&t->lock);
            c->inbox_next = t->new_conns;
            t->new_conns = c;
            pthread_mutex_unlock(&t->lock);
            sl_reactor_wake(t->r);
        }
    }
}

static sl_err_t
sl_server_listen_one(sl_server_t *s, int i)
{
    const sl_listener_spec_t *spec = &s->cfg.listeners[i];
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int fd = -1, one = 1, rc, err = 0;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);

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
    /* Prefer IPv6 wildcard (dual stack) when no host is given. */
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 1024) == 0) {
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        sl_log_error("net",
                     "cannot listen listener=%s host=%s port=%d "
                     "error=\"%s\"",
                     spec->name, spec->host, spec->port, strerror(err));
        return SL_ERR__IO;
    }
    getsockname(fd, (struct sockaddr *)&ss, &slen);
    s->listeners[i].port =
        ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                       : ((struct sockaddr_in *)&ss)->sin_port);
    s->listeners[i].srv = s;
    s->listeners[i].index = i;
    s->listeners[i].ev.fd = fd;
    s->listeners[i].ev.cb = sl_listener_on_accept;
    s->listeners[i].ev.arg = &s->listeners[i];
    if (sl_reactor_add(s->threads[0].r, &s->listeners[i].ev, SL_EV_READ) !=
        SL_OK) {
        close(fd);
        s->listeners[i].ev.fd = -1;
        return SL_ERR__IO;
    }
    sl_log_info("net", "listening listener=%s host=%s port=%d", spec->name,
                spec->host[0] ? spec->host : "*", s->listeners[i].port);
    return SL_OK;
}

/* ---- server ---------------------------------------------------------------
 */

sl_server_t *
sl_server_create(const sl_server_config_t *cfg, sl_workpool_t *wp,
                 sl_server_request_cb cb, void *ctx)
{
    sl_server_t *s = calloc(1, sizeof(*s));
    int i;

    if (s == NULL) {
        return NULL;
    }
    s->cfg = *cfg;
    s->wp = wp;
    s->cb = cb;
    s->ctx = ctx;
    s->nthreads = cfg->network_threads;
    if (s->nthreads < 1) {
        s->nthreads = 1;
    }
    if (s->nthreads > SL_SERVER_MAX_THREADS) {
        s->nthreads = SL_SERVER_MAX_THREADS;
    }
    for (i = 0; i < SL_SERVER_MAX_LISTENERS; i++) {
        s->listeners[i].ev.fd = -1;
    }
    pthread_mutex_init(&s->ip_lock, NULL);
    for (i = 0; i < s->nthreads; i++) {
        sl_netthread_t *t = &s->threads[i];

        t->srv = s;
        t->index = i;
        pthread_mutex_init(&t->lock, NULL);
        t->r = sl_reactor_create();
        if (t->r == NULL) {
            s->nthreads = i;
            sl_server_destroy(s);
            return NULL;
        }
        sl_reactor_set_wake(t->r, sl_netthread_on_wake, t);
        sl_reactor_set_after(t->r, sl_netthread_reap, t);
        sl_reactor_set_tick(t->r, 200, sl_netthread_tick, t);
    }
    return s;
}

sl_err_t
sl_server_start(sl_server_t *s)
{
    char name[16];
    sl_err_t err;
    int i;

    for (i = 0; i < s->cfg.nlisteners; i++) {
        err = sl_server_listen_one(s, i);
        if (err != SL_OK) {
            return err;
        }
        s->nlisteners = i + 1;
    }
    for (i = 0; i < s->nthreads; i++) {
        if (pthread_create(&s->threads[i].tid, NULL, sl_netthread_main,
                           &s->threads[i]) != 0) {
            sl_log_error("net", "cannot start network thread %d", i);
            return SL_ERR__IO;
        }
        snprintf(name, sizeof(name), "sl-net-%d", i & 0xff);
        pthread_setname_np(s->threads[i].tid, name);
        s->threads[i].started = true;
    }
    return SL_OK;
}

void
sl_server_set_observer(sl_server_t *s, sl_server_observe_cb cb)
{
    s->observe = cb;
}

int
sl_server_connections(const sl_server_t *s)
{
    return atomic_load_explicit(&s->nconns, memory_order_relaxed);
}

int64_t
sl_server_connections_accepted(const sl_server_t *s)
{
    return atomic_load_explicit(&s->accepted, memory_order_relaxed);
}

int
sl_server_port(const sl_server_t *s, int i)
{
    return i < s->nlisteners ? s->listeners[i].port : -1;
}

void
sl_server_stop(sl_server_t *s, int64_t timeout_ms)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    int64_t deadline = sl_now_ms() + timeout_ms;
    int i;

    /* Thread 0 owns the listeners: it closes them when it sees draining. */
    atomic_store(&s->draining, true);
    sl_reactor_wake(s->threads[0].r);
    /* Let in-flight requests finish and their responses go out. */
    while (atomic_load(&s->outstanding) > 0 && sl_now_ms() < deadline) {
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->outstanding) > 0) {
        sl_log_warn("net", "stopping with requests in flight count=%d",
                    atomic_load(&s->outstanding));
    }
    nanosleep(&ts, NULL); /* a last write round */
    for (i = 0; i < s->nthreads; i++) {
        if (s->threads[i].started) {
            sl_reactor_stop(s->threads[i].r);
            pthread_join(s->threads[i].tid, NULL);
            s->threads[i].started = false;
        }
    }
}

void
sl_server_destroy(sl_server_t *s)
{
    sl_conn_t *c, *cn;
    sl_req_t *q, *qn;
    int i;

    if (s == NULL) {
        return;
    }
    for (i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].ev.fd >= 0) {
            close(s->listeners[i].ev.fd);
        }
    }
    for (i = 0; i < s->nthreads; i++) {
        sl_netthread_t *t = &s->threads[i];

        for (c = t->new_conns; c != NULL; c = cn) {
            cn = c->inbox_next;
            close(c->ev.fd);
            sl_conn_free(c);
        }
        while (t->conns != NULL) {
            sl_conn_close(t->conns, "shutdown");
        }
        /* Requests still out (timeout) are leaked on purpose: a worker or
         * a parked operation may still hold them. */
        for (c = t->zombies; c != NULL; c = cn) {
            cn = c->next;
            if (c->outstanding > 0) {
                continue;
            }
            for (q = c->pending_head; q != NULL; q = qn) {
                qn = q->next;
                sl_req_free(q);
            }
            sl_conn_free(c);
        }
        sl_reactor_destroy(t->r);
        pthread_mutex_destroy(&t->lock);
    }
    free(s->ips);
    pthread_mutex_destroy(&s->ip_lock);
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

const char *
sl_conn_local_host(const sl_conn_t *c)
{
    return c->local_host;
}

int
sl_conn_local_port(const sl_conn_t *c)
{
    return c->local_port;
}

const char *
sl_conn_principal(const sl_conn_t *c)
{
    return c->principal;
}

void
sl_conn_set_principal(sl_conn_t *c, const char *principal)
{
    snprintf(c->principal, sizeof(c->principal), "%s", principal);
}

sl_conn_auth_e
sl_conn_auth_state(const sl_conn_t *c)
{
    return (sl_conn_auth_e)atomic_load(&c->auth);
}

void
sl_conn_set_auth_state(sl_conn_t *c, sl_conn_auth_e st)
{
    atomic_store(&c->auth, (int)st);
}

void *
sl_conn_sasl_state(const sl_conn_t *c)
{
    return c->sasl;
}

void
sl_conn_set_sasl_state(sl_conn_t *c, void *st, void (*free_cb)(void *))
{
    if (c->sasl_free != NULL && c->sasl != st) {
        c->sasl_free(c->sasl);
    }
    c->sasl = st;
    c->sasl_free = free_cb;
}

int
sl_conn_is_tls(const sl_conn_t *c)
{
    return c->ssl != NULL;
}

const char *
sl_server_listener_name(const sl_server_t *s, int i)
{
    return s->cfg.listeners[i].name;
}
