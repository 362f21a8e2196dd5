/*
 * api/api.h: request dispatch. Turns a request frame into a response frame:
 * reads the request header, finds the handler for the API key and version,
 * decodes the body with the generated codec into the request's arena, runs
 * the handler, and encodes the response with the right response header.
 *
 * ApiVersions advertises exactly the handlers in the table (api/api.c).
 * Requests for an API or version without a handler, and frames whose
 * header or body cannot be parsed, close the connection with a log line,
 * as Kafka does. The one exception is ApiVersions with a too-new version:
 * it gets UNSUPPORTED_VERSION on a v0 body (KIP-511).
 *
 * Owns: nothing long-lived yet. Thread: workers.
 */
#ifndef SL_API_API_H
#define SL_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "log/partlog.h"
#include "core/err.h"
#include "net/server.h"
#include "proto/wire.h"

typedef struct sl_api_s sl_api_t;

/* One request being served: its header fields and its arena. Lives in its
 * own arena, so a parked request keeps it until sl_api_finish(). */
typedef struct sl_api_req_s {
    sl_api_t *api;
    sl_req_t *req; /* the network request: frame, connection, response */
    sl_arena_t *arena;
    int16_t key;
    int16_t version;
    int32_t correlation_id;
    sl_str_t client_id;
    const void *body; /* the decoded request */
    void *resp;       /* the response being filled */
    bool no_response; /* acks=0 produce: send nothing */
    bool close_after; /* close the connection once the response is sent */
    void *user;       /* the handler's parked state */
    /* Log ranges sent with sendfile, in the order the encoder meets the
     * response's external records fields (sl_wire_external); each holds a
     * segment reference, handed to the output on success. */
    sl_log_slice_t *exts;
    int nexts;
    int64_t start_ns; /* handler start, for metrics */
} sl_api_req_t;

/*
 * A handler reads the decoded request <req> and fills the response <resp>,
 * which was initialised with its defaults. Kafka errors go into the response
 * as data. SL_ERR__AGAIN parks the request: the handler (or whoever it
 * handed the request to) later calls sl_api_finish(). Any other return
 * closes the connection.
 */
typedef sl_err_t (*sl_api_handler_fn)(sl_api_req_t *r, const void *req,
                                      void *resp);

typedef struct sl_api_handler_s {
    int16_t key;
    int16_t advertised_min; /* what ApiVersions says (Produce: 0) */
    int16_t min_version;
    int16_t max_version;
    sl_api_handler_fn fn;
} sl_api_handler_t;

/* Create the broker context and open the data directory.
 * @returns NULL (logged) when storage cannot be opened. @thread main */
sl_api_t *sl_api_create(const sl_config_t *cfg);
/* The server the handlers answer through (advertised listeners). */
void sl_api_set_server(sl_api_t *api, sl_server_t *srv);
/* Start the metrics endpoint when metrics.listener is set, after
 * sl_api_set_server(). @returns SL_OK or __IO (logged). @thread main
 * (metrics/scrape.c) */
sl_err_t sl_api_metrics_start(sl_api_t *api);
/* Shutdown begins: answer requests that wait on other clients or on time
 * (long-poll fetches with what there is, JoinGroup and SyncGroup with
 * NOT_COORDINATOR) so the server's drain is not held up by them; later
 * ones are answered at once. Call before sl_server_stop(). @thread main */
void sl_api_drain(sl_api_t *api);
/* Close storage (flush, clean-shutdown marker) and free. @thread main */
void sl_api_destroy(sl_api_t *api);

/* Finish a parked request: encode r->resp (unless status is not SL_OK, or
 * r->no_response) and hand it to the network layer. @thread any */
void sl_api_finish(sl_api_req_t *r, sl_err_t status);

/* The handler table, for ApiVersions. Sets *n. */
const sl_api_handler_t *sl_api_handlers(size_t *n);

/* sl_server_request_cb for the network layer; <ctx> is the sl_api_t.
 * @thread worker */
void sl_api_handle(void *ctx, sl_req_t *req);

/* Handlers (api/<family>.c). */
sl_err_t sl_api_versions_handle(sl_api_req_t *r, const void *req, void *resp);

#endif
