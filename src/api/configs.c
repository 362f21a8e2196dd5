/*
 * api/configs.c: configuration APIs: DescribeConfigs (key 32, v1-4),
 * AlterConfigs (key 33, v0-2) and IncrementalAlterConfigs (key 44, v0-1),
 * for TOPIC (2) and BROKER (4) resources.
 *
 * Values, sources, synonyms, types and documentation come from
 * cluster/topic_config.h; changes go through the metadata store, and after
 * a real change of a topic's configs the partition logs are told
 * (sl_api_topic_changed) so segment and retention settings apply at once.
 *
 * Resource names, as Kafka checks them: a BROKER resource is this node's id
 * or "" (the cluster-wide dynamic defaults, which Sluice does not have, so
 * describing "" lists nothing); any other id, or a name that is not an
 * integer, is INVALID_REQUEST. Sluice has no dynamic broker configuration,
 * so altering a broker key is INVALID_REQUEST (see topic_config.h).
 * BROKER_LOGGER (8) resources are not supported: INVALID_REQUEST, as for
 * any other resource type. A resource given twice in one alter request
 * gets one INVALID_REQUEST entry (Kafka keys its answer by resource).
 *
 * Owns: nothing long-lived; responses live in the request's arena.
 * Thread: workers. Locks: api->admin_lock around a topic's config change
 * and the registry update after it (see api_int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/alter_configs.h"
#include "proto/gen/describe_configs.h"
#include "proto/gen/incremental_alter_configs.h"

#define SL_RES_TOPIC 2
#define SL_RES_BROKER 4
#define SL_RES_BROKER_LOGGER 8

/*
 * Check a BROKER resource name: "" or this node's id.
 * @returns SL_OK or INVALID_REQUEST with a message in <why>.
 */
static sl_err_t
sl_configs_broker_name(sl_api_t *api, sl_str_t name, char *why, size_t whylen)
{
    char buf[16];
    char *end;
    long v;

    if (name.len == 0) {
        return SL_OK;
    }
    if (name.len < 0 || name.len >= (int32_t)sizeof(buf) ||
        memchr(name.ptr, '\0', (size_t)name.len) != NULL) {
        snprintf(why, whylen, "Broker id must be an integer.");
        return SL_ERR_INVALID_REQUEST;
    }
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno != 0 || *end != '\0' || end == buf) {
        snprintf(why, whylen, "Broker id must be an integer, but it is: %s",
                 buf);
        return SL_ERR_INVALID_REQUEST;
    }
    if (v != api->node_id) {
        snprintf(why, whylen,
                 "Unexpected broker id, expected %d or empty "
                 "string, but received %s",
                 (int)api->node_id, buf);
        return SL_ERR_INVALID_REQUEST;
    }
    return SL_OK;
}

/*
 * A TOPIC resource name as a C string in the arena.
 * @returns SL_OK, INVALID_TOPIC_EXCEPTION (message in <why>) or __NOMEM.
 */
static sl_err_t
sl_configs_topic_name(sl_api_req_t *r, sl_str_t name, char **out, char *why,
                      size_t whylen)
{
    if (name.len < 0) {
        snprintf(why, whylen, "Topic name is null.");
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (sl_metastore_name_check_n(name.ptr, (size_t)name.len, why, whylen) !=
        SL_OK) {
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    *out = sl_api_cstr(r->arena, name);
    return *out != NULL ? SL_OK : SL_ERR__NOMEM;
}

/* ---- DescribeConfigs ------------------------------------------------- */

typedef sl_msg_describe_configs_req_describe_configs_resource_t sl_dc_res_t;
typedef sl_msg_describe_configs_resp_describe_configs_result_t sl_dc_result_t;
typedef sl_msg_describe_configs_resp_describe_configs_resource_result_t
    sl_dc_entry_t;
typedef sl_msg_describe_configs_resp_describe_configs_synonym_t sl_dc_syn_t;

/* Whether key <name> was asked for (null list: every key). */
static bool
sl_configs_wanted(const sl_dc_res_t *res, const char *name)
{
    int32_t i;
    size_t n = strlen(name);

    if (res->configuration_keys_count < 0) {
        return true;
    }
    for (i = 0; i < res->configuration_keys_count; i++) {
        sl_str_t k = res->configuration_keys[i];

        if (k.len >= 0 && (size_t)k.len == n && memcmp(k.ptr, name, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Convert one described entry to its wire form. */
static sl_err_t
sl_configs_entry(sl_api_req_t *r, const sl_msg_describe_configs_req_t *req,
                 const sl_config_entry_t *e, sl_dc_entry_t *out)
{
    size_t i;

    sl_msg_describe_configs_resp_describe_configs_resource_result_init(out);
    out->name = sl_api_str(r->arena, e->name);
    out->value = sl_api_str(r->arena, e->value);
    out->read_only = e->read_only;
    out->is_default = e->source == SL_CFGSRC_DEFAULT_CONFIG;
    out->config_source = (int8_t)e->source;
    out->is_sensitive = e->sensitive;
    out->config_type = (int8_t)e->type;
    out->documentation.ptr = NULL;
    out->documentation.len = -1;
    if (r->version >= 3 && req->include_documentation) {
        out->documentation = sl_api_str(r->arena, e->doc);
    }
    out->synonyms_count = 0;
    if (!req->include_synonyms || e->n_synonyms == 0) {
        return SL_OK;
    }
    out->synonyms =
        sl_arena_calloc(r->arena, e->n_synonyms, sizeof(sl_dc_syn_t));
    if (out->synonyms == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < e->n_synonyms; i++) {
        sl_dc_syn_t *s = &out->synonyms[i];

        sl_msg_describe_configs_resp_describe_configs_synonym_init(s);
        s->name = sl_api_str(r->arena, e->synonyms[i].name);
        s->value = sl_api_str(r->arena, e->synonyms[i].value);
        s->source = (int8_t)e->synonyms[i].source;
    }
    out->synonyms_count = (int32_t)e->n_synonyms;
    return SL_OK;
}

/* Describe the configs of one TOPIC resource. */
static sl_err_t
sl_configs_describe_topic(sl_api_req_t *r,
                          const sl_msg_describe_configs_req_t *req,
                          const sl_dc_res_t *res, sl_dc_result_t *out,
                          char *why, size_t whylen)
{
    const sl_topic_config_key_t *keys = sl_topic_config_keys(), *k;
    bool syn = req->include_synonyms;
    sl_topic_info_t info;
    char *name;
    int32_t n = 0;
    sl_err_t err;

    err = sl_api_auth_topic(r, SL_ACL_OP_DESCRIBE_CONFIGS, /* ACLs */
                            res->resource_name);
    if (err == SL_OK) {
        err = sl_configs_topic_name(r, res->resource_name, &name, why, whylen);
    }
    if (err == SL_OK) {
        err = sl_metastore_get(r->api->meta, name, r->arena, &info);
    }
    if (err != SL_OK) {
        return err;
    }
    for (k = keys; k->name != NULL; k++) {
        n++;
    }
    out->configs = sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_dc_entry_t));
    if (out->configs == NULL && n > 0) {
        return SL_ERR__NOMEM;
    }
    out->configs_count = 0;
    for (k = keys; k->name != NULL; k++) {
        sl_config_entry_t e;

        if (!sl_configs_wanted(res, k->name)) {
            continue;
        }
        err = sl_topic_config_describe(r->api->cfg, &info.configs, k, syn,
                                       r->arena, &e);
        if (err == SL_OK) {
            err =
                sl_configs_entry(r, req, &e, &out->configs[out->configs_count]);
        }
        if (err != SL_OK) {
            return err;
        }
        out->configs_count++;
    }
    return SL_OK;
}

/* Describe the broker's own keys (one BROKER resource). */
static sl_err_t
sl_configs_describe_broker(sl_api_req_t *r,
                           const sl_msg_describe_configs_req_t *req,
                           const sl_dc_res_t *res, sl_dc_result_t *out,
                           char *why, size_t whylen)
{
    const sl_config_key_t *keys = sl_config_keys(), *k;
    int32_t n = 0;
    sl_err_t err;

    err = sl_configs_broker_name(r->api, res->resource_name, why, whylen);
    if (err == SL_OK) { /* ACLs */
        err = sl_api_auth_cluster(r, SL_ACL_OP_DESCRIBE_CONFIGS);
    }
    if (err != SL_OK) {
        return err;
    }
    if (res->resource_name.len == 0) {
        /* The cluster-wide dynamic defaults: Sluice has none. */
        out->configs = NULL;
        out->configs_count = 0;
        return SL_OK;
    }
    for (k = keys; k->name != NULL; k++) {
        n++;
    }
    out->configs = sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_dc_entry_t));
    if (out->configs == NULL && n > 0) {
        return SL_ERR__NOMEM;
    }
    out->configs_count = 0;
    for (k = keys; k->name != NULL; k++) {
        sl_config_entry_t e;

        if (!sl_configs_wanted(res, k->name)) {
            continue;
        }
        err = sl_broker_config_describe(r->api->cfg, k, req->include_synonyms,
                                        r->arena, &e);
        if (err == SL_OK) {
            err =
                sl_configs_entry(r, req, &e, &out->configs[out->configs_count]);
        }
        if (err != SL_OK) {
            return err;
        }
        out->configs_count++;
    }
    return SL_OK;
}

sl_err_t
sl_api_describe_configs_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_describe_configs_req_t *req = reqp;
    sl_msg_describe_configs_resp_t *resp = respp;
    int32_t n = req->resources_count > 0 ? req->resources_count : 0, i;

    resp->throttle_time_ms = 0;
    resp->results =
        sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_dc_result_t));
    if (resp->results == NULL && n > 0) {
        return SL_ERR__NOMEM;
    }
    resp->results_count = n;
    for (i = 0; i < n; i++) {
        const sl_dc_res_t *res = &req->resources[i];
        sl_dc_result_t *out = &resp->results[i];
        char why[256];
        sl_err_t err;

        why[0] = '\0';
        sl_msg_describe_configs_resp_describe_configs_result_init(out);
        out->error_message.ptr = NULL;
        out->error_message.len = -1;
        out->resource_type = res->resource_type;
        out->resource_name = res->resource_name;
        if (out->resource_name.len < 0) {
            out->resource_name.ptr = "";
            out->resource_name.len = 0;
        }
        switch (res->resource_type) {
        case SL_RES_TOPIC:
            err = sl_configs_describe_topic(r, req, res, out, why, sizeof(why));
            break;
        case SL_RES_BROKER:
            err =
                sl_configs_describe_broker(r, req, res, out, why, sizeof(why));
            break;
        default:
            err = SL_ERR_INVALID_REQUEST;
            snprintf(why, sizeof(why), "Unsupported resource type %d.",
                     (int)res->resource_type);
            break;
        }
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            out->error_code = sl_err_to_wire(err);
            out->error_message =
                sl_api_str(r->arena, why[0] ? why : sl_err_name(err));
            out->configs = NULL;
            out->configs_count = 0;
        }
    }
    return SL_OK;
}

/* ---- AlterConfigs and IncrementalAlterConfigs ------------------------ */

/* One resource of either alter request, in a common form. */
typedef struct sl_configs_alter_s {
    int8_t type;
    sl_str_t name;
    int32_t n;                                              /* configs */
    const sl_msg_alter_configs_req_alterable_config_t *set; /* AlterConfigs */
    const sl_msg_incremental_alter_configs_req_alterable_config_t
        *ops;    /* Incremental */
    uint8_t dup; /* SL_API_DUP_* */
} sl_configs_alter_t;

/* Mark the resources of <res> that repeat (type and name) another.
 * @returns SL_OK or SL_ERR__NOMEM. */
static sl_err_t
sl_configs_mark_dups(sl_api_req_t *r, sl_configs_alter_t *res, int32_t n)
{
    sl_api_dupkey_t *keys =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*keys));
    uint8_t *dup;
    int32_t i;

    if (keys == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        keys[i].tag = res[i].type;
        keys[i].ptr = res[i].name.ptr;
        keys[i].len = res[i].name.len;
        keys[i].idx = i;
    }
    dup = sl_api_dup_marks(r->arena, keys, n);
    if (dup == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        res[i].dup = dup[i];
    }
    return SL_OK;
}

/* Alter one TOPIC resource. */
static sl_err_t
sl_configs_alter_topic(sl_api_req_t *r, const sl_configs_alter_t *res,
                       bool validate_only, char *why, size_t whylen)
{
    sl_api_t *api = r->api;
    char *name;
    int32_t i;
    sl_err_t err;

    err = sl_api_auth_topic(r, SL_ACL_OP_ALTER_CONFIGS, res->name); /* ACLs */
    if (err == SL_OK) {
        err = sl_configs_topic_name(r, res->name, &name, why, whylen);
    }
    if (err != SL_OK) {
        return err;
    }
    if (res->set != NULL || res->ops == NULL) {
        sl_topic_config_kv_t *kvs =
            sl_arena_calloc(r->arena, (size_t)res->n + 1, sizeof(*kvs));

        if (kvs == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < res->n; i++) {
            kvs[i].key = sl_api_cstr(r->arena, res->set[i].name);
            kvs[i].value = res->set[i].value.len < 0
                               ? NULL
                               : sl_api_cstr(r->arena, res->set[i].value);
            if (kvs[i].key == NULL ||
                (res->set[i].value.len >= 0 && kvs[i].value == NULL)) {
                snprintf(why, whylen,
                         "Invalid config: a name or value holds "
                         "a NUL byte or is null.");
                return SL_ERR_INVALID_CONFIG;
            }
        }
        pthread_mutex_lock(&api->admin_lock);
        err = sl_metastore_replace_configs(api->meta, name, kvs, (size_t)res->n,
                                           validate_only, why, whylen);
    } else {
        sl_config_op_t *ops =
            sl_arena_calloc(r->arena, (size_t)res->n + 1, sizeof(*ops));

        if (ops == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < res->n; i++) {
            ops[i].key = sl_api_cstr(r->arena, res->ops[i].name);
            ops[i].op = (sl_cfgop_e)res->ops[i].config_operation;
            ops[i].value = res->ops[i].value.len < 0
                               ? NULL
                               : sl_api_cstr(r->arena, res->ops[i].value);
            if (ops[i].key == NULL ||
                (res->ops[i].value.len >= 0 && ops[i].value == NULL)) {
                snprintf(why, whylen,
                         "Invalid config: a name or value holds "
                         "a NUL byte or is null.");
                return SL_ERR_INVALID_CONFIG;
            }
        }
        pthread_mutex_lock(&api->admin_lock);
        err = sl_metastore_alter_configs(api->meta, name, ops, (size_t)res->n,
                                         validate_only, why, whylen);
    }
    if (err == SL_OK && !validate_only) {
        sl_log_info("api", "topic configs altered topic=%s keys=%d", name,
                    (int)res->n);
        err = sl_api_topic_changed(api, name);
        if (err != SL_OK) {
            sl_log_warn("api",
                        "cannot apply new configs to partition logs "
                        "topic=%s err=%s",
                        name, sl_err_name(err));
            err = SL_OK; /* stored; applied at the next start */
        }
    }
    pthread_mutex_unlock(&api->admin_lock);
    return err;
}

/* Alter one BROKER resource: every key is read-only. */
static sl_err_t
sl_configs_alter_broker(sl_api_req_t *r, const sl_configs_alter_t *res,
                        char *why, size_t whylen)
{
    sl_err_t err = sl_configs_broker_name(r->api, res->name, why, whylen);
    int32_t i;

    if (err == SL_OK) { /* ACLs */
        err = sl_api_auth_cluster(r, SL_ACL_OP_ALTER_CONFIGS);
    }
    for (i = 0; err == SL_OK && i < res->n; i++) {
        sl_str_t k = res->set != NULL ? res->set[i].name : res->ops[i].name;
        char *key = sl_api_cstr(r->arena, k);

        if (key == NULL) {
            snprintf(why, whylen, "Invalid config name.");
            return SL_ERR_INVALID_CONFIG;
        }
        err = sl_broker_config_check_alter(key, why, whylen);
    }
    return err;
}

/*
 * Run the alterations of <res>[n]; results into the parallel arrays
 * <codes>/<msgs>. @returns SL_OK or SL_ERR__NOMEM.
 */
static sl_err_t
sl_configs_alter_all(sl_api_req_t *r, sl_configs_alter_t *res, int32_t n,
                     bool validate_only, int16_t *codes, sl_str_t *msgs)
{
    int32_t i;

    if (sl_configs_mark_dups(r, res, n) != SL_OK) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        char why[256];
        sl_err_t err;

        why[0] = '\0';
        if (res[i].dup == SL_API_DUP_LATER) {
            continue; /* answered once, at its first copy */
        }
        if (res[i].dup == SL_API_DUP_FIRST) {
            err = SL_ERR_INVALID_REQUEST;
            snprintf(why, sizeof(why), "Duplicate resource in the request.");
        } else if (res[i].type == SL_RES_TOPIC) {
            err = sl_configs_alter_topic(r, &res[i], validate_only, why,
                                         sizeof(why));
        } else if (res[i].type == SL_RES_BROKER) {
            err = sl_configs_alter_broker(r, &res[i], why, sizeof(why));
        } else {
            err = SL_ERR_INVALID_REQUEST;
            snprintf(why, sizeof(why), "Unsupported resource type %d.",
                     (int)res[i].type);
        }
        if (err == SL_ERR__NOMEM) {
            return err;
        }
        codes[i] = sl_err_to_wire(err);
        msgs[i].ptr = NULL;
        msgs[i].len = -1;
        if (err != SL_OK) {
            msgs[i] = sl_api_str(r->arena, why[0] ? why : sl_err_name(err));
        }
    }
    return SL_OK;
}

sl_err_t
sl_api_alter_configs_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_alter_configs_req_t *req = reqp;
    sl_msg_alter_configs_resp_t *resp = respp;
    int32_t n = req->resources_count > 0 ? req->resources_count : 0, i;
    sl_configs_alter_t *res;
    int16_t *codes;
    sl_str_t *msgs;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    res = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*res));
    codes = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*codes));
    msgs = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*msgs));
    resp->responses =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*resp->responses));
    if (res == NULL || codes == NULL || msgs == NULL ||
        resp->responses == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        const sl_msg_alter_configs_req_alter_configs_resource_t *q =
            &req->resources[i];

        res[i].type = q->resource_type;
        res[i].name = q->resource_name;
        res[i].n = q->configs_count > 0 ? q->configs_count : 0;
        res[i].set = q->configs;
    }
    err = sl_configs_alter_all(r, res, n, req->validate_only, codes, msgs);
    if (err != SL_OK) {
        return err;
    }
    resp->responses_count = 0;
    for (i = 0; i < n; i++) {
        sl_msg_alter_configs_resp_alter_configs_resource_response_t *o =
            &resp->responses[resp->responses_count];

        if (res[i].dup == SL_API_DUP_LATER) {
            continue; /* answered once, at its first copy */
        }
        resp->responses_count++;
        sl_msg_alter_configs_resp_alter_configs_resource_response_init(o);
        o->error_code = codes[i];
        o->error_message = msgs[i];
        o->resource_type = res[i].type;
        o->resource_name = res[i].name;
        if (o->resource_name.len < 0) {
            o->resource_name.ptr = "";
            o->resource_name.len = 0;
        }
    }
    return SL_OK;
}

sl_err_t
sl_api_incremental_alter_configs_handle(sl_api_req_t *r, const void *reqp,
                                        void *respp)
{
    const sl_msg_incremental_alter_configs_req_t *req = reqp;
    sl_msg_incremental_alter_configs_resp_t *resp = respp;
    int32_t n = req->resources_count > 0 ? req->resources_count : 0, i;
    sl_configs_alter_t *res;
    int16_t *codes;
    sl_str_t *msgs;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    res = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*res));
    codes = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*codes));
    msgs = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*msgs));
    resp->responses =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*resp->responses));
    if (res == NULL || codes == NULL || msgs == NULL ||
        resp->responses == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < n; i++) {
        const sl_msg_incremental_alter_configs_req_alter_configs_resource_t *q =
            &req->resources[i];
        static const sl_msg_incremental_alter_configs_req_alterable_config_t
            none;

        res[i].type = q->resource_type;
        res[i].name = q->resource_name;
        res[i].n = q->configs_count > 0 ? q->configs_count : 0;
        /* Never NULL, so the incremental path is taken even when empty. */
        res[i].ops = q->configs != NULL ? q->configs : &none;
    }
    err = sl_configs_alter_all(r, res, n, req->validate_only, codes, msgs);
    if (err != SL_OK) {
        return err;
    }
    resp->responses_count = 0;
    for (i = 0; i < n; i++) {
        sl_msg_incremental_alter_configs_resp_alter_configs_resource_response_t
            *o = &resp->responses[resp->responses_count];

        if (res[i].dup == SL_API_DUP_LATER) {
            continue; /* answered once, at its first copy */
        }
        resp->responses_count++;

        sl_msg_incremental_alter_configs_resp_alter_configs_resource_response_init(
            o);
        o->error_code = codes[i];
        o->error_message = msgs[i];
        o->resource_type = res[i].type;
        o->resource_name = res[i].name;
        if (o->resource_name.len < 0) {
            o->resource_name.ptr = "";
            o->resource_name.len = 0;
        }
    }
    return SL_OK;
}
