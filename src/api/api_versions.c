/*
 * api/api_versions.c: ApiVersions (key 18), versions 0-4.
 *
 * Lists exactly the handlers in the dispatch table. For v3+, the client's
 * software name and version must match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*
 * [a-zA-Z0-9])?, else INVALID_REQUEST, as Kafka does (KIP-511). Features
 * (tagged fields) are left empty: Sluice has no finalized features.
 */
#include <ctype.h>
#include <stdbool.h>

#include "api/api.h"
#include "api/api_int.h"
#include "proto/gen/api_versions.h"

static bool
sl_api_versions_valid_name(sl_str_t s)
{
    int32_t i;

    if (s.len <= 0) {
        return false;
    }
    for (i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        bool alnum = isalnum(ch) != 0;
        bool edge = (i == 0 || i == s.len - 1);

        if (!alnum && (edge || (ch != '-' && ch != '.'))) {
            return false;
        }
    }
    return true;
}

sl_err_t
sl_api_versions_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_api_versions_req_t *req = reqp;
    sl_msg_api_versions_resp_t *resp = respp;
    const sl_api_handler_t *h;
    size_t n, i, k;

    h = sl_api_handlers(&n);
    resp->error_code = 0;
    resp->throttle_time_ms = 0;
    if (r->version >= 3 &&
        (!sl_api_versions_valid_name(req->client_software_name) ||
         !sl_api_versions_valid_name(req->client_software_version))) {
        resp->error_code = (int16_t)SL_ERR_INVALID_REQUEST;
    }
    resp->api_keys = sl_arena_calloc(r->arena, n, sizeof(*resp->api_keys));
    if (resp->api_keys == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0, k = 0; i < n; i++) {
        /* The consumer group protocol only when configured (Kafka 4.0). */
        if ((h[i].key == 68 || h[i].key == 69) &&
            !sl_api_consumer_protocol_enabled(r->api)) {
            continue;
        }
        resp->api_keys[k].api_key = h[i].key;
        resp->api_keys[k].min_version = h[i].advertised_min;
        resp->api_keys[k].max_version = h[i].max_version;
        k++;
    }
    resp->api_keys_count = (int32_t)k;
    return SL_OK;
}
