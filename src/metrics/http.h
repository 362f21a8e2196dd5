/*
 * metrics/http.h: a tiny HTTP/1.1 server that answers GET /metrics, and
 * nothing else, on its own listener socket and thread.
 *
 * Why a thread of its own rather than the Kafka reactors: a scrape walks
 * the partition registry and the groups and formats tens of kilobytes of
 * text; on its own thread that work never delays Kafka requests, the
 * Kafka listeners' limits (max.connections, request framing) stay as they
 * are, and a slow or hostile scraper can only hold up other scrapers.
 *
 * Hostile input: a request may be at most SL_METRICS_HTTP_MAX_REQ bytes
 * (request line and headers; a body is never read), a connection gets
 * SL_METRICS_HTTP_TIMEOUT_MS to send its request and read the answer, at
 * most SL_METRICS_HTTP_MAX_CONNS connections are served at once (more are
 * closed at accept), and every connection is closed after one answer.
 * Anything but GET /metrics is answered 400, 404 or 405.
 *
 * Owns: the listener, its thread and its connections. Thread: see each
 * function.
 */
#ifndef SL_METRICS_HTTP_H
#define SL_METRICS_HTTP_H

#include <stddef.h>

#include "core/err.h"
#include "metrics/metrics.h"

#define SL_METRICS_HTTP_MAX_REQ 8192
#define SL_METRICS_HTTP_MAX_CONNS 16
#define SL_METRICS_HTTP_TIMEOUT_MS 10000
/* The largest answer: a broker with very many partitions is cut short
 * (500) rather than allowed to allocate without bound. */
#define SL_METRICS_HTTP_MAX_BODY (256u << 20)

typedef struct sl_metrics_http_s sl_metrics_http_t;

/*
 * Look at the first <len> bytes received on a connection.
 * @returns 0 when more bytes are needed, otherwise the HTTP status to
 * answer: 200 (GET /metrics, optionally with a query string), 400
 * (malformed, or over SL_METRICS_HTTP_MAX_REQ without the end of the
 * headers), 404 (another path), 405 (another method), 505 (not HTTP/1.x).
 * @thread any (pure)
 */
int sl_metrics_http_parse(const char *buf, size_t len);

/*
 * Parse a metrics.listener value: "http://host:port" or "host:port"
 * ("[v6addr]:port" too; an empty host means all addresses). <host> gets at
 * most <hostsz>-1 bytes. @returns SL_OK or SL_ERR__INVAL.
 */
sl_err_t sl_metrics_http_parse_listener(const char *value, char *host,
                                        size_t hostsz, int *port);

/* Fill <out> with the exposition text. @thread the endpoint's thread */
typedef void (*sl_metrics_http_cb)(void *ctx, sl_metrics_text_t *out);

/*
 * Bind <host>:<port> (port 0: any free port) and start serving.
 * @returns NULL (logged) when the address cannot be bound. @thread main
 */
sl_metrics_http_t *sl_metrics_http_start(const char *host, int port,
                                         sl_metrics_http_cb cb, void *ctx);
/* The bound port. */
int sl_metrics_http_port(const sl_metrics_http_t *h);
/* Stop the thread, close every socket, free. NULL is a no-op.
 * @thread main */
void sl_metrics_http_stop(sl_metrics_http_t *h);

#endif
