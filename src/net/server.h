/*
 * net/server.h: listeners, network threads, connections, request framing.
 *
 * num.network.threads network threads each run a reactor and own the
 * connections assigned to them (round robin at accept). A network thread
 * reads size-prefixed frames (int32 big-endian size, then header and body),
 * enforces socket.request.max.bytes, max.connections,
 * connections.max.idle.ms and queued.max.request.bytes, and posts each
 * complete frame as a request to the worker pool. Requests of one connection
 * are handed to workers one at a time, in order; a handler may finish its
 * request later (a request parked until data is durable), and the connection
 * may meanwhile hand on its next request. Responses are written strictly in
 * request order, with writev for memory and sendfile for file ranges.
 *
 * Owns: listener sockets, network threads, connections (a closed connection
 * is freed once its last request is done). Thread: see each function.
 */
#ifndef SL_NET_SERVER_H
#define SL_NET_SERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/out.h"
#include "net/reactor.h"
#include "net/tls.h"
#include "net/workpool.h"

#define SL_SERVER_MAX_LISTENERS 8
#define SL_SERVER_MAX_THREADS 64

typedef struct sl_server_s sl_server_t;
typedef struct sl_conn_s sl_conn_t;
typedef struct sl_req_s sl_req_t;

/* One request: a frame (header + body, no size prefix) and its response. */
struct sl_req_s {
    /* Set by the server; read-only for handlers. */
    const uint8_t *frame;
    size_t len;
    sl_conn_t *conn; /* only for sl_conn_peer()/sl_conn_listener() */
    int64_t received_ms;
    int64_t received_ns; /* monotonic, for metrics */
    int64_t done_ns;     /* response ready: the handler's stamp, or when
                            sl_req_done() ran */
    int32_t metrics_key; /* set by the handler: reported to the observer */
    /* Filled by the handler: the whole response frame, size prefix included. */
    sl_out_t out;
    /* Free for the handler's use (parked state). */
    void *user;
    /* Server-private. */
    sl_task_t task;
    sl_req_t *next;
    sl_req_t *ret_next;
    sl_req_t *done_next;
    _Atomic unsigned state;
    int done_at_return; /* written by the worker under the thread lock */
    int finished;       /* owning network thread only */
    sl_err_t status;
};

/*
 * Handle one request. The handler must call sl_req_done() exactly once,
 * before returning or later from any thread.
 * @thread worker
 */
typedef void (*sl_server_request_cb)(void *ctx, sl_req_t *r);

typedef struct sl_listener_spec_s {
    char name[32]; /* listener name, e.g. PLAINTEXT */
    char host[256];
    int port;
    char protocol[32]; /* PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL */
    sl_tls_ctx_t *tls; /* SSL and SASL_SSL: not owned; NULL: plaintext */
} sl_listener_spec_t;

typedef struct sl_server_config_s {
    sl_listener_spec_t listeners[SL_SERVER_MAX_LISTENERS];
    int nlisteners;
    int network_threads;
    int32_t socket_request_max_bytes;
    int32_t max_connections;
    int64_t connections_max_idle_ms;
    int64_t queued_max_request_bytes; /* <= 0: no limit */
    /* Connections that have not finished the TLS handshake after this long
     * are closed (<= 0: never). */
    int64_t handshake_timeout_ms;
    /* Largest frame of a connection not yet authenticated on a SASL
     * listener (sasl.server.max.receive.size). */
    int32_t preauth_max_bytes;
    /* Connections at once from one IP address (<= 0: no limit). */
    int32_t max_connections_per_ip;
} sl_server_config_t;

/* Authentication state of a connection (SASL listeners). */
typedef enum sl_conn_auth_e {
    SL_CONN_AUTH_DONE = 0, /* authenticated, or not a SASL listener */
    SL_CONN_AUTH_START,    /* SaslHandshake expected */
    SL_CONN_AUTH_V1,       /* after SaslHandshake v1: SaslAuthenticate */
    SL_CONN_AUTH_V0,       /* after SaslHandshake v0: raw SASL tokens */
} sl_conn_auth_e;

/*
 * Parse a Kafka listeners value ("NAME://host:port,NAME2://[::1]:port")
 * into <specs>. An empty host means all addresses.
 * @returns the count, or -1 with *why set on a malformed value.
 */
int sl_server_parse_listeners(const char *value, sl_listener_spec_t *specs,
                              int max, const char **why);

/* @thread main */
sl_server_t *sl_server_create(const sl_server_config_t *cfg, sl_workpool_t *wp,
                              sl_server_request_cb cb, void *ctx);

/* Bind every listener and start the network threads.
 * @returns SL_OK or __IO (logged). @thread main */
sl_err_t sl_server_start(sl_server_t *s);

/* Observer of responses, for requests whose metrics_key is >= 0: with
 * SL_SERVER_OBS_QUEUED once the response joins the connection's output
 * (<ns>: time since done_ns), with SL_SERVER_OBS_SENT once its last byte is
 * written to the socket (<ns>: time since it joined the output; not
 * reported for a connection that closes first, or when responses of more
 * than SL_SERVER_OBS_PENDING bursts wait on one connection). @thread
 * network */
#define SL_SERVER_OBS_QUEUED 0
#define SL_SERVER_OBS_SENT 1
#define SL_SERVER_OBS_PENDING 8
typedef void (*sl_server_observe_cb)(void *ctx, int key, int what, int64_t ns);
/* Set the observer (ctx is the request callback's). Before
 * sl_server_start(). @thread main */
void sl_server_set_observer(sl_server_t *s, sl_server_observe_cb cb);
/* Connections open now, and accepted since start. @thread any */
int sl_server_connections(const sl_server_t *s);
int64_t sl_server_connections_accepted(const sl_server_t *s);

/* The bound port of listener <i> (useful with port 0). */
int sl_server_port(const sl_server_t *s, int i);

/*
 * Stop accepting, stop taking new requests, wait up to <timeout_ms> for
 * requests in flight to finish and their responses to be written, then stop
 * the network threads. @thread main
 */
void sl_server_stop(sl_server_t *s, int64_t timeout_ms);

/* Free everything; sl_server_stop() first. @thread main */
void sl_server_destroy(sl_server_t *s);

/*
 * Finish request <r>. SL_OK sends r->out; SL_ERR__CLOSED sends the earlier
 * responses and r->out (if any), then closes the connection.
 * @thread any
 */
void sl_req_done(sl_req_t *r, sl_err_t status);

/* "host:port" of the peer. @thread any (immutable) */
const char *sl_conn_peer(const sl_conn_t *c);
/* Index of the listener the connection came through. @thread any */
int sl_conn_listener(const sl_conn_t *c);
/* The local address the client connected to (numeric host, port).
 * @thread any (immutable) */
const char *sl_conn_local_host(const sl_conn_t *c);
int sl_conn_local_port(const sl_conn_t *c);
/*
 * The principal of the connection, e.g. "User:ANONYMOUS", or for a TLS
 * client certificate "User:CN=alice,O=example". Set by the network thread
 * before the connection's first request is handed on.
 * @thread any, while handling one of the connection's requests
 */
const char *sl_conn_principal(const sl_conn_t *c);
/* Replace the principal (e.g. after SASL authentication).
 * @thread the handler of one of the connection's requests */
void sl_conn_set_principal(sl_conn_t *c, const char *principal);
/* Authentication state; requests of a connection run one at a time, so the
 * handler of one may read and set it. @thread any */
sl_conn_auth_e sl_conn_auth_state(const sl_conn_t *c);
void sl_conn_set_auth_state(sl_conn_t *c, sl_conn_auth_e st);
/* Opaque SASL exchange state kept between requests, freed with <free_cb>
 * when replaced or when the connection goes. @thread request handler */
void *sl_conn_sasl_state(const sl_conn_t *c);
void sl_conn_set_sasl_state(sl_conn_t *c, void *st, void (*free_cb)(void *));
/* Whether the connection came in over TLS. @thread any (immutable) */
int sl_conn_is_tls(const sl_conn_t *c);
/* Name of listener <i> (e.g. PLAINTEXT). */
const char *sl_server_listener_name(const sl_server_t *s, int i);

#endif
