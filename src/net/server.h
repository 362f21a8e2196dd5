/*
 * net/server.h: listeners, connections and request framing.
 *
 * The server accepts connections on its listeners, reads size-prefixed
 * request frames (int32 big-endian size, then header and body), enforces
 * socket.request.max.bytes, max.connections and connections.max.idle.ms, and
 * hands each complete frame to the request callback on the reactor thread.
 * Responses are written in request order.
 *
 * Owns: listener sockets and connections (each freed only after the reactor
 * batch that closed it). Thread: the reactor's.
 */
#ifndef SL_NET_SERVER_H
#define SL_NET_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "net/reactor.h"

#define SL_SERVER_MAX_LISTENERS 8

typedef struct sl_server_s sl_server_t;
typedef struct sl_conn_s sl_conn_t;

/*
 * Handle one request frame (header + body, no size prefix), valid only during
 * the call. Append the whole response frame, size prefix included, to <out>.
 * @returns SL_OK; or SL_ERR__CLOSED to close the connection once <out> is
 * flushed (the callback logs why).
 * @thread reactor
 */
typedef sl_err_t (*sl_server_request_cb)(void *ctx, sl_conn_t *c,
                                         const uint8_t *frame, size_t len,
                                         sl_buf_t *out);

typedef struct sl_listener_spec_s {
    char name[32]; /* listener name, e.g. PLAINTEXT */
    char host[256];
    int port;
} sl_listener_spec_t;

typedef struct sl_server_config_s {
    sl_listener_spec_t listeners[SL_SERVER_MAX_LISTENERS];
    int nlisteners;
    int32_t socket_request_max_bytes;
    int32_t max_connections;
    int64_t connections_max_idle_ms;
} sl_server_config_t;

/*
 * Parse a Kafka listeners value ("NAME://host:port,NAME2://[::1]:port")
 * into <specs>. An empty host means all addresses.
 * @returns the count, or -1 with *why set on a malformed value.
 */
int sl_server_parse_listeners(const char *value, sl_listener_spec_t *specs,
                              int max, const char **why);

sl_server_t *sl_server_create(sl_reactor_t *r, const sl_server_config_t *cfg,
                              sl_server_request_cb cb, void *ctx);

/* Bind and listen on every listener. @returns SL_OK or __IO (logged). */
sl_err_t sl_server_listen(sl_server_t *s);

/* The bound port of listener <i> (useful with port 0). */
int sl_server_port(const sl_server_t *s, int i);

/* Close listeners and every connection. */
void sl_server_destroy(sl_server_t *s);

/* "host:port" of the peer. */
const char *sl_conn_peer(const sl_conn_t *c);
/* Index of the listener the connection came through. */
int sl_conn_listener(const sl_conn_t *c);

#endif
