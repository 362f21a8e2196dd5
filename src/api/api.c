/*
 * api/api.c: request dispatch (see api.h) and the handler table.
 *
 * Frame flow: read api key and version (first 4 bytes); find the handler;
 * decode the request header at the version the API version implies; decode
 * the body into an arena; run the handler; size, then encode the response
 * header and body straight into the connection's output buffer.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/headers.h"

/* Arena chunk and cap for one request. Strings point into the frame, so the
 * arena holds decoded structs and the response; the cap bounds what a
 * hostile request can make us allocate. */
#define SL_API_ARENA_CHUNK 8192
#define SL_API_ARENA_CAP (64u << 20)

struct sl_api_s {
    const sl_config_t *cfg;
};

/* Exactly what ApiVersions advertises: keep in step with the handlers. */
static const sl_api_handler_t sl_api_table[] = {
    {18, 0, 4, sl_api_versions_handle},
};

const sl_api_handler_t *
sl_api_handlers(size_t *n)
{
    *n = sizeof(sl_api_table) / sizeof(sl_api_table[0]);
    return sl_api_table;
}

static const sl_api_handler_t *
sl_api_find(int16_t key)
{
    size_t i;

    for (i = 0; i < sizeof(sl_api_table) / sizeof(sl_api_table[0]); i++) {
        if (sl_api_table[i].key == key) {
            return &sl_api_table[i];
        }
    }
    return NULL;
}

sl_api_t *
sl_api_create(const sl_config_t *cfg)
{
    sl_api_t *api = calloc(1, sizeof(*api));

    if (api != NULL) {
        api->cfg = cfg;
    }
    return api;
}

void
sl_api_destroy(sl_api_t *api)
{
    free(api);
}

/*
 * Append one response frame: size prefix, response header at the version the
 * API implies, then the body encoded by <codec> at <version>.
 */
static sl_err_t
sl_api_write_response(sl_out_t *out, int16_t key, int16_t version,
                      int16_t body_version, int32_t correlation_id,
                      const sl_msg_codec_t *codec, const void *body)
{
    sl_msg_response_header_t h;
    int16_t hv = sl_msg_response_header_version(key, version);
    size_t hsize, bsize, total;
    sl_wr_t wr;
    sl_err_t err;
    uint8_t *p;

    sl_msg_response_header_init(&h);
    h.correlation_id = correlation_id;
    hsize = sl_msg_response_header_size(&h, hv);
    bsize = codec->size(body, body_version);
    total = hsize + bsize;
    if (total > INT32_MAX) {
        return SL_ERR__TOOBIG;
    }
    p = sl_out_reserve(out, 4 + total);
    if (p == NULL) {
        return SL_ERR__NOMEM;
    }
    p[0] = (uint8_t)(total >> 24);
    p[1] = (uint8_t)(total >> 16);
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    sl_wr_init(&wr, p + 4, total);
    err = sl_msg_response_header_encode(&wr, hv, &h);
    if (err == SL_OK) {
        err = codec->encode(&wr, body_version, body);
    }
    if (err == SL_OK && sl_wr_written(&wr) != total) {
        err = SL_ERR__PROTO; /* size() and encode() disagree: a bug */
    }
    if (err != SL_OK) {
        sl_log_error("api", "cannot encode response key=%d version=%d err=%s",
                     key, version, sl_err_name(err));
        return err;
    }
    return SL_OK;
}

/* ApiVersions at a version we do not serve: UNSUPPORTED_VERSION on a v0
 * body (header v0) listing the versions of ApiVersions we do serve. */
static sl_err_t
sl_api_versions_unsupported(sl_out_t *out, int16_t version,
                            int32_t correlation_id, const sl_api_handler_t *h)
{
    sl_msg_api_versions_resp_t resp;
    sl_msg_api_versions_resp_api_version_t key;

    sl_msg_api_versions_resp_init(&resp);
    memset(&key, 0, sizeof(key));
    key.api_key = h->key;
    key.min_version = h->min_version;
    key.max_version = h->max_version;
    resp.error_code = (int16_t)SL_ERR_UNSUPPORTED_VERSION;
    resp.api_keys = &key;
    resp.api_keys_count = 1;
    return sl_api_write_response(out, h->key, 0, 0, correlation_id,
                                 &sl_api_codec(h->key)->resp, &resp);
}

static sl_err_t
sl_api_serve(sl_api_t *api, sl_req_t *q)
{
    const uint8_t *frame = q->frame;
    size_t len = q->len;
    sl_conn_t *c = q->conn;
    sl_out_t *out = &q->out;
    const sl_api_handler_t *h;
    const sl_api_codec_t *codec;
    sl_msg_request_header_t hdr;
    sl_api_req_t r;
    sl_rd_t rd;
    void *req, *resp;
    int16_t key, version;
    int32_t corr;
    sl_err_t err;

    if (len < 8) {
        sl_log_warn("api", "closing connection peer=%s reason=\"frame of %zu "
                    "bytes is too short for a request header\"",
                    sl_conn_peer(c), len);
        return SL_ERR__CLOSED;
    }
    key = (int16_t)((frame[0] << 8) | frame[1]);
    version = (int16_t)((frame[2] << 8) | frame[3]);
    corr = (int32_t)(((uint32_t)frame[4] << 24) | ((uint32_t)frame[5] << 16) |
                     ((uint32_t)frame[6] << 8) | frame[7]);
    h = sl_api_find(key);
    codec = sl_api_codec(key);
    if (h == NULL || codec == NULL) {
        sl_log_warn("api", "closing connection peer=%s reason=\"unsupported "
                    "api key=%d version=%d\"",
                    sl_conn_peer(c), key, version);
        return SL_ERR__CLOSED;
    }
    if (version < h->min_version || version > h->max_version) {
        if (key == 18 && version > h->max_version) {
            return sl_api_versions_unsupported(out, version, corr, h);
        }
        sl_log_warn("api", "closing connection peer=%s reason=\"unsupported "
                    "version key=%d version=%d supported=%d-%d\"",
                    sl_conn_peer(c), key, version, h->min_version,
                    h->max_version);
        return SL_ERR__CLOSED;
    }

    memset(&r, 0, sizeof(r));
    r.arena = sl_arena_create(SL_API_ARENA_CHUNK, SL_API_ARENA_CAP);
    if (r.arena == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_rd_init(&rd, frame, len);
    sl_msg_request_header_init(&hdr);
    err = sl_msg_request_header_decode(
        &rd, sl_msg_request_header_version(key, version), r.arena, &hdr);
    req = sl_arena_zalloc(r.arena, codec->req.struct_size);
    resp = sl_arena_zalloc(r.arena, codec->resp.struct_size);
    if (err == SL_OK && (req == NULL || resp == NULL)) {
        err = SL_ERR__NOMEM;
    }
    if (err == SL_OK) {
        codec->req.init(req);
        err = codec->req.decode(&rd, version, r.arena, req);
    }
    if (err != SL_OK) {
        sl_log_warn("api", "closing connection peer=%s reason=\"malformed "
                    "request key=%d version=%d err=%s\"",
                    sl_conn_peer(c), key, version, sl_err_name(err));
        sl_arena_destroy(r.arena);
        return SL_ERR__CLOSED;
    }
    r.api = api;
    r.req = q;
    r.key = key;
    r.version = version;
    r.correlation_id = hdr.correlation_id;
    r.client_id = hdr.client_id;
    codec->resp.init(resp);
    err = h->fn(&r, req, resp);
    if (err == SL_OK) {
        err = sl_api_write_response(out, key, version, version,
                                    hdr.correlation_id, &codec->resp, resp);
    }
    sl_arena_destroy(r.arena);
    if (err != SL_OK) {
        sl_log_warn("api", "closing connection peer=%s reason=\"handler "
                    "failed key=%d version=%d err=%s\"",
                    sl_conn_peer(c), key, version, sl_err_name(err));
        return SL_ERR__CLOSED;
    }
    return SL_OK;
}

void
sl_api_handle(void *ctx, sl_req_t *q)
{
    sl_err_t err = sl_api_serve(ctx, q);

    if (err != SL_OK) {
        sl_out_free(&q->out); /* a partial response must not go out */
    }
    sl_req_done(q, err);
}
