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

#include "api/api_int.h"

#include "core/clock.h"
#include "core/log.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/headers.h"

/* Arena chunk and cap for one request. Strings point into the frame, so the
 * arena holds decoded structs and the response; the cap bounds what a
 * hostile request can make us allocate. */
#define SL_API_ARENA_CHUNK 8192
#define SL_API_ARENA_CAP (64u << 20)

/* Exactly what ApiVersions advertises: keep in step with the handlers. */
static const sl_api_handler_t sl_api_table[] = {
    /* key, advertised min, min, max, handler */
    {0, 0, 3, 12, sl_api_produce_handle},
    {1, 4, 4, 17, sl_api_fetch_handle},
    {2, 1, 1, 10, sl_api_list_offsets_handle},
    {3, 0, 0, 12, sl_api_metadata_handle},
    {8, 2, 2, 9, sl_api_offset_commit_handle},
    {9, 1, 1, 9, sl_api_offset_fetch_handle},
    {10, 0, 0, 6, sl_api_find_coordinator_handle},
    {11, 0, 0, 9, sl_api_join_group_handle},
    {12, 0, 0, 4, sl_api_heartbeat_handle},
    {13, 0, 0, 5, sl_api_leave_group_handle},
    {14, 0, 0, 5, sl_api_sync_group_handle},
    {15, 0, 0, 5, sl_api_describe_groups_handle},
    {16, 0, 0, 5, sl_api_list_groups_handle},
    {17, 0, 0, 1, sl_api_sasl_handshake_handle},
    {18, 0, 0, 4, sl_api_versions_handle},
    {19, 2, 2, 7, sl_api_create_topics_handle},
    {20, 1, 1, 6, sl_api_delete_topics_handle},
    {21, 0, 0, 2, sl_api_delete_records_handle},
    {22, 0, 0, 5, sl_api_init_producer_id_handle},
    {23, 2, 2, 4, sl_api_offset_for_leader_epoch_handle},
    {24, 0, 0, 5, sl_api_add_partitions_to_txn_handle},
    {25, 0, 0, 4, sl_api_add_offsets_to_txn_handle},
    {26, 0, 0, 5, sl_api_end_txn_handle},
    {28, 0, 0, 5, sl_api_txn_offset_commit_handle},
    {29, 1, 1, 3, sl_api_describe_acls_handle},
    {30, 1, 1, 3, sl_api_create_acls_handle},
    {31, 1, 1, 3, sl_api_delete_acls_handle},
    {32, 1, 1, 4, sl_api_describe_configs_handle},
    {33, 0, 0, 2, sl_api_alter_configs_handle},
    {35, 1, 1, 4, sl_api_describe_log_dirs_handle},
    {36, 0, 0, 2, sl_api_sasl_authenticate_handle},
    {37, 0, 0, 3, sl_api_create_partitions_handle},
    {42, 0, 0, 2, sl_api_delete_groups_handle},
    {44, 0, 0, 1, sl_api_incremental_alter_configs_handle},
    {47, 0, 0, 0, sl_api_offset_delete_handle},
    {50, 0, 0, 0, sl_api_describe_user_scram_credentials_handle},
    {51, 0, 0, 0, sl_api_alter_user_scram_credentials_handle},
    {60, 0, 0, 1, sl_api_describe_cluster_handle},
    {61, 0, 0, 0, sl_api_describe_producers_handle},
    {65, 0, 0, 0, sl_api_describe_transactions_handle},
    {66, 0, 0, 1, sl_api_list_transactions_handle},
    {68, 0, 0, 1, sl_api_consumer_group_heartbeat_handle},
    {69, 0, 0, 0, sl_api_consumer_group_describe_handle},
    {75, 0, 0, 0, sl_api_describe_topic_partitions_handle},
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
    const char *dirs, *why = NULL, *adv;
    size_t n;

    if (api == NULL) {
        return NULL;
    }
    api->cfg = cfg;
    api->node_id =
        sl_config_is_set(cfg, "broker.id") && !sl_config_is_set(cfg, "node.id")
            ? sl_config_int(cfg, "broker.id")
            : sl_config_int(cfg, "node.id");
    pthread_rwlock_init(&api->plock, NULL);
    pthread_mutex_init(&api->admin_lock, NULL);
    pthread_mutex_init(&api->retention_lock, NULL);
    pthread_cond_init(&api->retention_cond, NULL);
    dirs = sl_config_str(cfg, "log.dirs");
    if (dirs == NULL || dirs[0] == '\0') {
        dirs = sl_config_str(cfg, "log.dir");
    }
    n = strcspn(dirs, ",");
    if (n == 0 || n >= sizeof(api->data_dir)) {
        sl_log_error("api", "invalid value for log.dirs: expected a directory");
        goto fail;
    }
    memcpy(api->data_dir, dirs, n);
    api->data_dir[n] = '\0';
    if (strchr(dirs, ',') != NULL) {
        sl_log_warn("api",
                    "several log.dirs given: only the first is used "
                    "dir=%s",
                    api->data_dir);
    }
    adv = sl_config_str(cfg, "advertised.listeners");
    if (adv == NULL || adv[0] == '\0') {
        adv = sl_config_str(cfg, "listeners");
    }
    api->nadvertised = sl_server_parse_listeners(adv, api->advertised,
                                                 SL_SERVER_MAX_LISTENERS, &why);
    if (api->nadvertised < 0) {
        sl_log_error("config", "invalid value for advertised.listeners: %s",
                     why);
        goto fail;
    }
    api->fetch_purgatory = sl_purgatory_create("fetch");
    api->fsess = sl_fsess_cache_create(
        sl_config_int(cfg, "max.incremental.fetch.session.cache.slots"),
        sl_config_long(cfg, "min.incremental.fetch.session.eviction.ms"));
    if (api->fetch_purgatory == NULL || api->fsess == NULL ||
        sl_api_metrics_open(api) != SL_OK ||
        sl_api_produce_gate_create(api) != SL_OK) {
        goto fail;
    }
    if (sl_api_open_storage(api) != SL_OK || sl_api_groups_open(api) != SL_OK ||
        sl_api_txn_open(api) != SL_OK) {
        goto fail;
    }
    if (sl_api_sasl_create(api) != SL_OK) {
        goto fail;
    }
    if (sl_api_acl_open(api) != SL_OK) {
        goto fail;
    }
    return api;

fail:
    sl_api_destroy(api);
    return NULL;
}

void
sl_api_set_server(sl_api_t *api, sl_server_t *srv)
{
    api->server = srv;
    sl_server_set_observer(srv, sl_api_metrics_response);
}

void
sl_api_drain(sl_api_t *api)
{
    if (api->fetch_purgatory != NULL) {
        sl_purgatory_expire_all(api->fetch_purgatory);
    }
    if (api->groups != NULL) {
        sl_group_coord_unload(api->groups);
    }
}

void
sl_api_destroy(sl_api_t *api)
{
    if (api == NULL) {
        return;
    }
    sl_api_metrics_close(api); /* first: a scrape reads everything below */
    /* Waiting fetches are answered by the purgatory's destruction. */
    sl_purgatory_destroy(api->fetch_purgatory);
    sl_api_txn_close(api);    /* before groups: its hook commits offsets */
    sl_api_groups_close(api); /* before storage: its appends need the flusher */
    sl_api_close_storage(api);
    /* after storage: group commits of transactional offsets completed by
     * the flusher's last round still report to it */
    sl_group_txn_pending_destroy(api->txn_pending);
    sl_api_produce_gate_destroy(api);
    sl_fsess_cache_destroy(api->fsess);
    sl_api_sasl_destroy(api);
    sl_api_acl_close(api);
    pthread_cond_destroy(&api->retention_cond);
    pthread_mutex_destroy(&api->retention_lock);
    pthread_rwlock_destroy(&api->plock);
    pthread_mutex_destroy(&api->admin_lock);
    free(api);
}

/* Cut points of external records met while encoding. */
typedef struct sl_api_cuts_s {
    size_t *at;
    int n, cap;
} sl_api_cuts_t;

static void
sl_api_on_external(void *arg, size_t offset, int32_t len)
{
    sl_api_cuts_t *c = arg;

    (void)len;
    if (c->n < c->cap) {
        c->at[c->n] = offset;
    }
    c->n++;
}

static void
sl_api_slice_free(void *arg)
{
    sl_log_slice_t *s = arg;

    sl_log_slice_release(s);
    free(s);
}

/*
 * Append one response frame: size prefix, response header at the version the
 * API implies, then the body encoded by <codec> at <version>. External
 * records (r->exts) become file chunks between the encoded pieces; on
 * success their references move to the output.
 */
static sl_err_t
sl_api_write_response(sl_out_t *out, int16_t key, int16_t version,
                      int16_t body_version, int32_t correlation_id,
                      const sl_msg_codec_t *codec, const void *body,
                      sl_api_req_t *r)
{
    sl_msg_response_header_t h;
    int16_t hv = sl_msg_response_header_version(key, version);
    size_t hsize, bsize, total, ext = 0, memlen, prev;
    sl_api_cuts_t cuts = {NULL, 0, 0};
    sl_out_t tmp;
    sl_wr_t wr;
    sl_err_t err;
    uint8_t *p, *buf;
    int i;

    sl_msg_response_header_init(&h);
    h.correlation_id = correlation_id;
    hsize = sl_msg_response_header_size(&h, hv);
    bsize = codec->size(body, body_version);
    total = hsize + bsize;
    if (total > INT32_MAX) {
        return SL_ERR__TOOBIG;
    }
    if (r == NULL || r->nexts == 0) {
        p = sl_out_reserve(out, 4 + total);
        if (p == NULL) {
            return SL_ERR__NOMEM;
        }
        buf = p + 4;
        memlen = total;
    } else {
        for (i = 0; i < r->nexts; i++) {
            ext += r->exts[i].len;
        }
        memlen = total - ext;
        cuts.cap = r->nexts;
        cuts.at = sl_arena_calloc(r->arena, (size_t)cuts.cap, sizeof(size_t));
        p = sl_arena_alloc(r->arena, 4 + memlen);
        if (p == NULL || cuts.at == NULL) {
            return SL_ERR__NOMEM;
        }
        buf = p + 4;
    }
    p[0] = (uint8_t)(total >> 24);
    p[1] = (uint8_t)(total >> 16);
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    sl_wr_init(&wr, buf, memlen);
    wr.external = sl_api_on_external;
    wr.ext_arg = &cuts;
    err = sl_msg_response_header_encode(&wr, hv, &h);
    if (err == SL_OK) {
        err = codec->encode(&wr, body_version, body);
    }
    if (err == SL_OK && (sl_wr_written(&wr) != memlen || wr.ext_total != ext ||
                         cuts.n != cuts.cap)) {
        err = SL_ERR__PROTO; /* size() and encode() disagree: a bug */
    }
    if (err != SL_OK) {
        sl_log_error("api", "cannot encode response key=%d version=%d err=%s",
                     key, version, sl_err_name(err));
        return err;
    }
    if (r == NULL || r->nexts == 0) {
        return SL_OK;
    }
    /* Memory pieces between the file ranges. */
    sl_out_init(&tmp);
    prev = 0;
    err = sl_out_append(&tmp, p, 4); /* the size prefix */
    for (i = 0; i < r->nexts && err == SL_OK; i++) {
        sl_log_slice_t *s = malloc(sizeof(*s));

        err = sl_out_append(&tmp, buf + prev, cuts.at[i] - prev);
        if (s == NULL) {
            err = SL_ERR__NOMEM;
        }
        if (err != SL_OK) {
            free(s);
            break;
        }
        *s = r->exts[i];
        r->exts[i].seg = NULL; /* the chunk owns the reference now */
        err = sl_out_append_file(&tmp, s->fd, s->pos, s->len, sl_api_slice_free,
                                 s);
        prev = cuts.at[i];
    }
    if (err == SL_OK) {
        err = sl_out_append(&tmp, buf + prev, memlen - prev);
    }
    if (err != SL_OK) {
        sl_out_free(&tmp);
        return err;
    }
    sl_out_move(out, &tmp);
    r->nexts = 0;
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
    key.min_version = h->advertised_min;
    key.max_version = h->max_version;
    resp.error_code = (int16_t)SL_ERR_UNSUPPORTED_VERSION;
    resp.api_keys = &key;
    resp.api_keys_count = 1;
    return sl_api_write_response(out, h->key, 0, 0, correlation_id,
                                 &sl_api_codec(h->key)->resp, &resp, NULL);
}

/*
 * Decode and run the handler. @returns SL_OK when the response is queued in
 * q->out, SL_ERR__AGAIN when parked (the handler finishes it), or an error
 * that closes the connection. *rp gets the request context when the arena
 * was made (so the caller frees it).
 */
static sl_err_t
sl_api_serve(sl_api_t *api, sl_req_t *q, sl_api_req_t **rp, int64_t start_ns)
{
    const uint8_t *frame = q->frame;
    size_t len = q->len;
    sl_conn_t *c = q->conn;
    const sl_api_handler_t *h;
    const sl_api_codec_t *codec;
    sl_msg_request_header_t hdr;
    sl_arena_t *arena;
    sl_api_req_t *r;
    sl_rd_t rd;
    void *req, *resp;
    int16_t key, version;
    int32_t corr;
    sl_err_t err;
    bool handled;

    *rp = NULL;
    err = sl_api_sasl_gate(api, q, &handled);
    if (handled || err != SL_OK) {
        return err;
    }
    if (len < 8) {
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"frame of %zu "
                    "bytes is too short for a request header\"",
                    sl_conn_peer(c), len);
        return SL_ERR__CLOSED;
    }
    key = (int16_t)((frame[0] << 8) | frame[1]);
    version = (int16_t)((frame[2] << 8) | frame[3]);
    corr = (int32_t)(((uint32_t)frame[4] << 24) | ((uint32_t)frame[5] << 16) |
                     ((uint32_t)frame[6] << 8) | frame[7]);
    if (key >= 0 && key < SL_METRICS_MAX_KEYS) {
        q->metrics_key = key;
    }
    h = sl_api_find(key);
    codec = sl_api_codec(key);
    if (h == NULL || codec == NULL) {
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"unsupported "
                    "api key=%d version=%d\"",
                    sl_conn_peer(c), key, version);
        return SL_ERR__CLOSED;
    }
    if (version < h->min_version || version > h->max_version) {
        if (key == 18 && version > h->max_version) {
            return sl_api_versions_unsupported(&q->out, version, corr, h);
        }
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"unsupported "
                    "version key=%d version=%d supported=%d-%d\"",
                    sl_conn_peer(c), key, version, h->min_version,
                    h->max_version);
        return SL_ERR__CLOSED;
    }

    arena = sl_arena_create(SL_API_ARENA_CHUNK, SL_API_ARENA_CAP);
    if (arena == NULL) {
        return SL_ERR__NOMEM;
    }
    r = sl_arena_zalloc(arena, sizeof(*r));
    if (r == NULL) {
        sl_arena_destroy(arena);
        return SL_ERR__NOMEM;
    }
    r->arena = arena;
    r->start_ns = start_ns;
    *rp = r;
    sl_rd_init(&rd, frame, len);
    sl_msg_request_header_init(&hdr);
    err = sl_msg_request_header_decode(
        &rd, sl_msg_request_header_version(key, version), arena, &hdr);
    req = sl_arena_zalloc(arena, codec->req.struct_size);
    resp = sl_arena_zalloc(arena, codec->resp.struct_size);
    if (err == SL_OK && (req == NULL || resp == NULL)) {
        err = SL_ERR__NOMEM;
    }
    if (err == SL_OK) {
        codec->req.init(req);
        err = codec->req.decode(&rd, version, arena, req);
    }
    if (err != SL_OK) {
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"malformed "
                    "request key=%d version=%d err=%s\"",
                    sl_conn_peer(c), key, version, sl_err_name(err));
        return SL_ERR__CLOSED;
    }
    r->api = api;
    r->req = q;
    r->key = key;
    r->version = version;
    r->correlation_id = hdr.correlation_id;
    r->client_id = hdr.client_id;
    r->body = req;
    r->resp = resp;
    codec->resp.init(resp);
    err = h->fn(r, req, resp);
    if (err == SL_ERR__AGAIN) {
        return err;
    }
    if (err == SL_OK && !r->no_response) {
        err = sl_api_write_response(&q->out, key, version, version,
                                    hdr.correlation_id, &codec->resp, resp, r);
    }
    if (err != SL_OK) {
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"handler "
                    "failed key=%d version=%d err=%s\"",
                    sl_conn_peer(c), key, version, sl_err_name(err));
        return SL_ERR__CLOSED;
    }
    return SL_OK;
}

/* Drop segment references of external records that were not sent. */
static void
sl_api_req_release(sl_api_req_t *r)
{
    int i;

    for (i = 0; i < r->nexts; i++) {
        sl_log_slice_release(&r->exts[i]);
    }
    r->nexts = 0;
    sl_arena_destroy(r->arena);
}

void
sl_api_finish(sl_api_req_t *r, sl_err_t status)
{
    sl_req_t *q = r->req;
    sl_metrics_t *m = r->api->metrics;
    int64_t start_ns = r->start_ns;
    bool close_after = r->close_after;

    if (status == SL_OK && !r->no_response) {
        status = sl_api_write_response(&q->out, r->key, r->version, r->version,
                                       r->correlation_id,
                                       &sl_api_codec(r->key)->resp, r->resp, r);
    }
    if (status != SL_OK) {
        sl_log_warn("api",
                    "closing connection peer=%s reason=\"request "
                    "failed key=%d version=%d err=%s\"",
                    sl_conn_peer(q->conn), r->key, r->version,
                    sl_err_name(status));
        sl_out_free(&q->out);
    }
    sl_api_req_release(r);
    q->done_ns = sl_clock_mono_ns();
    sl_metrics_request(m, q->metrics_key, status != SL_OK);
    sl_metrics_observe(m, q->metrics_key, SL_METRICS_PHASE_HANDLER,
                       q->done_ns - start_ns);
    sl_req_done(q, status == SL_OK && close_after ? SL_ERR__CLOSED : status);
}

void
sl_api_handle(void *ctx, sl_req_t *q)
{
    sl_api_t *api = ctx;
    sl_api_req_t *r = NULL;
    int64_t t0 = sl_clock_mono_ns();
    sl_err_t err = sl_api_serve(ctx, q, &r, t0);
    bool close_after;

    sl_metrics_observe(api->metrics, q->metrics_key, SL_METRICS_PHASE_QUEUE,
                       t0 - q->received_ns);
    if (err == SL_ERR__AGAIN) {
        return; /* parked: sl_api_finish() comes later */
    }
    if (err != SL_OK) {
        sl_out_free(&q->out); /* a partial response must not go out */
    }
    close_after = r != NULL && r->close_after;
    if (r != NULL) {
        sl_api_req_release(r);
    }
    q->done_ns = sl_clock_mono_ns();
    sl_metrics_request(api->metrics, q->metrics_key, err != SL_OK);
    sl_metrics_observe(api->metrics, q->metrics_key, SL_METRICS_PHASE_HANDLER,
                       q->done_ns - t0);
    /* A closing status still sends q->out first (SASL failures). */
    sl_req_done(q, err == SL_OK && close_after ? SL_ERR__CLOSED : err);
}
