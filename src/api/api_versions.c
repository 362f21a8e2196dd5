/*
 * api/api_versions.c: ApiVersions (key 18), versions 0-4.
 *
 * Lists exactly the handlers in the dispatch table. For v3+, the client's
 * software name and version must match [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*
 * [a-zA-Z0-9])?, else INVALID_REQUEST, as Kafka does (KIP-511).
 *
 * Features (the tagged fields of v3+): transaction.version is supported
 * 0-2 and finalized at 2 (transactions v2, KIP-890: Produce v12, EndTxn v5,
 * TxnOffsetCommit v5), which is what makes Java clients 4.0 use them. As
 * Kafka 4.0 does, a finalized level 0 is never listed and a supported
 * feature with minimum 0 is left out below v4 (KAFKA-17492: older Java
 * clients refuse a zero minimum). Single node: the features never change,
 * so their epoch is a constant.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "proto/gen/api_versions.h"

#define SL_API_FEATURE_TXN "transaction.version"
#define SL_API_FEATURE_TXN_MAX 2
#define SL_API_FEATURES_EPOCH 1

/* Fill the v3+ feature fields of <resp>. @returns SL_OK or __NOMEM. */
static sl_err_t
sl_api_versions_features(sl_api_req_t *r, sl_msg_api_versions_resp_t *resp)
{
    sl_msg_api_versions_resp_finalized_feature_key_t *fin;
    sl_msg_api_versions_resp_supported_feature_key_t *sup;
    sl_str_t name = {SL_API_FEATURE_TXN, (int32_t)strlen(SL_API_FEATURE_TXN)};

    if (r->version >= 4) {
        sup = sl_arena_zalloc(r->arena, sizeof(*sup));
        if (sup == NULL) {
            return SL_ERR__NOMEM;
        }
        sl_msg_api_versions_resp_supported_feature_key_init(sup);
        sup->name = name;
        sup->min_version = 0;
        sup->max_version = SL_API_FEATURE_TXN_MAX;
        resp->supported_features = sup;
        resp->supported_features_count = 1;
    }
    fin = sl_arena_zalloc(r->arena, sizeof(*fin));
    if (fin == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_msg_api_versions_resp_finalized_feature_key_init(fin);
    fin->name = name;
    fin->max_version_level = SL_API_FEATURE_TXN_MAX;
    fin->min_version_level = SL_API_FEATURE_TXN_MAX;
    resp->finalized_features = fin;
    resp->finalized_features_count = 1;
    resp->finalized_features_epoch = SL_API_FEATURES_EPOCH;
    return SL_OK;
}

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
    if (r->version >= 3) {
        return sl_api_versions_features(r, resp);
    }
    return SL_OK;
}
