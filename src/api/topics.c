/*
 * api/topics.c: the topic administration APIs of the single-node broker:
 * CreateTopics (key 19, v2-7), DeleteTopics (key 20, v1-6),
 * CreatePartitions (key 37, v0-3) and DescribeTopicPartitions (key 75, v0).
 *
 * The metadata store (cluster/metastore.h) decides and persists; this file
 * turns requests into its calls, checks what only the wire can get wrong
 * (duplicates in one request, answered with one INVALID_REQUEST entry per
 * name as Kafka does; replica assignments; names with NUL bytes),
 * and after a real change calls the registry hooks of api/broker.c so that
 * partition logs are opened or deleted. Creation is synchronous, so the
 * requests' timeout_ms is not needed.
 *
 * Owns: nothing long-lived. Everything it builds lives in the request's
 * arena. Thread: workers. Locks: api->admin_lock around each metadata
 * change and the registry hook after it (then the metastore's and the
 * registry's own locks, in that order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/create_partitions.h"
#include "proto/gen/create_topics.h"
#include "proto/gen/delete_topics.h"
#include "proto/gen/describe_topic_partitions.h"

/* The most partitions DescribeTopicPartitions returns in one response
 * (Kafka's max.request.partition.size.limit default). */
#define SL_TOPICS_DTP_LIMIT 2000

sl_str_t
sl_api_str(sl_arena_t *a, const char *s)
{
    sl_str_t out = {NULL, -1};
    size_t n;
    char *p;

    if (s == NULL) {
        return out;
    }
    n = strlen(s);
    p = sl_arena_memdup(a, s, n + 1);
    if (p != NULL && n <= INT32_MAX) {
        out.ptr = p;
        out.len = (int32_t)n;
    }
    return out;
}

static int
sl_topics_dupkey_cmp(const void *x, const void *y)
{
    const sl_api_dupkey_t *a = x, *b = y;
    int32_t n = a->len < b->len ? a->len : b->len;
    int c;

    if (a->tag != b->tag) {
        return a->tag < b->tag ? -1 : 1;
    }
    c = n > 0 ? memcmp(a->ptr, b->ptr, (size_t)n) : 0;
    if (c != 0) {
        return c;
    }
    if (a->len != b->len) {
        return a->len < b->len ? -1 : 1;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

uint8_t *
sl_api_dup_marks(sl_arena_t *a, sl_api_dupkey_t *keys, int32_t n)
{
    uint8_t *dup = sl_arena_calloc(a, n > 0 ? (size_t)n : 1, 1);
    int32_t i;

    if (dup == NULL) {
        return NULL;
    }
    if (n <= 1) {
        return dup;
    }
    /* Sorting keeps this O(n log n) for requests of millions of entries. */
    qsort(keys, (size_t)n, sizeof(*keys), sl_topics_dupkey_cmp);
    for (i = 1; i < n; i++) {
        const sl_api_dupkey_t *p = &keys[i - 1], *k = &keys[i];

        if (k->len < 0 || p->len != k->len || p->tag != k->tag ||
            (k->len > 0 && memcmp(p->ptr, k->ptr, (size_t)k->len) != 0)) {
            continue;
        }
        if (dup[p->idx] == SL_API_DUP_NONE) {
            dup[p->idx] = SL_API_DUP_FIRST;
        }
        dup[k->idx] = SL_API_DUP_LATER;
    }
    return dup;
}

/* Duplicate marks of the <n> names of <base> (elements <stride> bytes
 * apart, each starting with its sl_str_t name). NULL when out of memory. */
static uint8_t *
sl_topics_dups(sl_arena_t *a, const void *base, size_t stride, int32_t n)
{
    sl_api_dupkey_t *keys =
        sl_arena_calloc(a, n > 0 ? (size_t)n : 1, sizeof(*keys));
    int32_t i;

    if (keys == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        const sl_str_t *x =
            (const sl_str_t *)(const void *)((const char *)base +
                                             (size_t)i * stride);
        keys[i].tag = 0;
        keys[i].ptr = x->ptr;
        keys[i].len = x->len;
        keys[i].idx = i;
    }
    return sl_api_dup_marks(a, keys, n);
}

/* ---- CreateTopics ---------------------------------------------------- */

typedef sl_msg_create_topics_req_creatable_topic_t sl_ct_topic_t;
typedef sl_msg_create_topics_resp_creatable_topic_result_t sl_ct_result_t;
typedef sl_msg_create_topics_resp_creatable_topic_configs_t sl_ct_config_t;

/* The v5+ configs of a created (or validated) topic: every supported key
 * with its effective value and source, given the overrides <m>. */
static sl_err_t
sl_topics_result_configs(sl_api_req_t *r, const sl_topic_config_map_t *m,
                         sl_ct_result_t *out)
{
    const sl_topic_config_key_t *keys = sl_topic_config_keys(), *k;
    int32_t n = 0, i = 0;

    for (k = keys; k->name != NULL; k++) {
        n++;
    }
    out->configs = sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_ct_config_t));
    if (out->configs == NULL && n > 0) {
        return SL_ERR__NOMEM;
    }
    for (k = keys; k->name != NULL; k++, i++) {
        sl_ct_config_t *c = &out->configs[i];
        sl_config_entry_t e;
        sl_err_t err;

        err = sl_topic_config_describe(r->api->cfg, m, k, false, r->arena, &e);
        if (err != SL_OK) {
            return err;
        }
        sl_msg_create_topics_resp_creatable_topic_configs_init(c);
        c->name = sl_api_str(r->arena, e.name);
        c->value = sl_api_str(r->arena, e.value);
        c->read_only = e.read_only;
        c->config_source = (int8_t)e.source;
        c->is_sensitive = e.sensitive;
    }
    out->configs_count = n;
    return SL_OK;
}

/* The same for overrides given as <n> key=value pairs (validate_only). */
static sl_err_t
sl_topics_result_configs_kvs(sl_api_req_t *r, const sl_topic_config_kv_t *kvs,
                             int32_t n, sl_ct_result_t *out)
{
    sl_topic_config_map_t tmp = {NULL, 0, 0};
    int32_t i;
    sl_err_t err;

    for (i = 0; i < n; i++) {
        if (sl_topic_config_map_set(&tmp, kvs[i].key, kvs[i].value) != SL_OK) {
            sl_topic_config_map_clear(&tmp);
            return SL_ERR__NOMEM;
        }
    }
    err = sl_topics_result_configs(r, &tmp, out);
    sl_topic_config_map_clear(&tmp);
    return err;
}

/* The configs of CreateTopics entry <t> as C strings in the arena (*out,
 * one spare element). @returns SL_OK, INVALID_CONFIG (a NUL byte; a
 * message in <why>) or SL_ERR__NOMEM. Values are validated later, by the
 * metastore. */
static sl_err_t
sl_topics_spec_configs(sl_api_req_t *r, const sl_ct_topic_t *t,
                       sl_topic_config_kv_t **out, char *why, size_t whylen)
{
    int32_t nc = t->configs_count > 0 ? t->configs_count : 0, i;
    sl_topic_config_kv_t *kvs =
        sl_arena_calloc(r->arena, (size_t)nc + 1, sizeof(*kvs));

    if (kvs == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < nc; i++) {
        const sl_msg_create_topics_req_creatable_topic_config_t *c =
            &t->configs[i];

        kvs[i].key = sl_api_cstr(r->arena, c->name);
        kvs[i].value =
            c->value.len < 0 ? NULL : sl_api_cstr(r->arena, c->value);
        if (kvs[i].key == NULL || (c->value.len >= 0 && kvs[i].value == NULL)) {
            snprintf(why, whylen,
                     "Invalid config: a name or value holds a "
                     "NUL byte.");
            return SL_ERR_INVALID_CONFIG;
        }
    }
    *out = kvs;
    return SL_OK;
}

/*
 * Check a CreateTopics entry's manual assignments: partitions 0..n-1, each
 * exactly once, each on [this node]. @returns SL_OK or a wire error with a
 * message in <why>.
 */
static sl_err_t
sl_topics_check_assignments(sl_api_req_t *r, const sl_ct_topic_t *t, char *why,
                            size_t whylen)
{
    int32_t node = r->api->node_id, n = t->assignments_count, i;
    bool *seen;

    if (t->num_partitions != -1 || t->replication_factor != -1) {
        snprintf(why, whylen,
                 "Both numPartitions or replicationFactor and "
                 "replicasAssignments were set. Both cannot be "
                 "used at the same time.");
        return SL_ERR_INVALID_REQUEST;
    }
    if (n > SL_METASTORE_MAX_NEW_PARTITIONS) {
        snprintf(why, whylen,
                 "Too many partitions: at most %d may be created "
                 "in one request.",
                 SL_METASTORE_MAX_NEW_PARTITIONS);
        return SL_ERR_POLICY_VIOLATION;
    }
    seen = sl_arena_calloc(r->arena, (size_t)n, sizeof(bool));
    if (seen == NULL) {
        snprintf(why, whylen, "Out of memory.");
        return SL_ERR_UNKNOWN_SERVER_ERROR;
    }
    for (i = 0; i < n; i++) {
        const sl_msg_create_topics_req_creatable_replica_assignment_t *as =
            &t->assignments[i];

        if (as->partition_index < 0 || as->partition_index >= n ||
            seen[as->partition_index]) {
            snprintf(why, whylen,
                     "Partitions should be numbered 0 to %d, "
                     "each once; got partition %d.",
                     (int)(n - 1), (int)as->partition_index);
            return SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
        seen[as->partition_index] = true;
        if (as->broker_ids_count != 1 || as->broker_ids[0] != node) {
            snprintf(why, whylen,
                     "Partition %d: the only broker is %d, so the "
                     "only valid replica assignment is [%d].",
                     (int)as->partition_index, (int)node, (int)node);
            return SL_ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    return SL_OK;
}

/* Create (or validate) one topic into <out>. Returns a local error only
 * when the request must fail (out of memory). */
static sl_err_t
sl_topics_create_one(sl_api_req_t *r, const sl_ct_topic_t *t, bool dup,
                     bool validate_only, sl_ct_result_t *out)
{
    sl_api_t *api = r->api;
    sl_topic_spec_t spec;
    sl_topic_config_kv_t *kvs = NULL;
    sl_topic_info_t info;
    sl_uuid_t id;
    char why[256], *name;
    int32_t nc = t->configs_count > 0 ? t->configs_count : 0, parts = 0;
    sl_err_t err;

    why[0] = '\0';
    out->name = t->name;
    out->error_message.ptr = NULL;
    out->error_message.len = -1; /* null on success, as Kafka sends it */
    if (dup) {
        out->error_code = (int16_t)SL_ERR_INVALID_REQUEST;
        out->error_message = sl_api_str(r->arena, "Duplicate topic name.");
        return SL_OK;
    }
    if (!sl_api_authorize_cluster(r, SL_ACL_OP_CREATE) &&
        !sl_api_authorize(r, SL_ACL_OP_CREATE, SL_ACL_RES_TOPIC, t->name)) {
        /* ACLs: CREATE on the cluster or on the topic */
        out->error_code = (int16_t)SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        out->error_message = sl_api_str(r->arena, "Authorization failed.");
        return SL_OK;
    }
    if (t->name.len < 0 ||
        sl_metastore_name_check_n(t->name.ptr, (size_t)t->name.len, why,
                                  sizeof(why)) != SL_OK ||
        (name = sl_api_cstr(r->arena, t->name)) == NULL) {
        out->error_code = (int16_t)SL_ERR_INVALID_TOPIC_EXCEPTION;
        out->error_message =
            sl_api_str(r->arena, why[0] ? why : "Invalid topic name.");
        return SL_OK;
    }
    memset(&spec, 0, sizeof(spec));
    spec.name = name;
    spec.num_partitions = t->num_partitions;
    spec.replication_factor = t->replication_factor;
    if (t->assignments_count > 0) {
        err = sl_topics_check_assignments(r, t, why, sizeof(why));
        if (err != SL_OK) {
            goto error;
        }
        spec.num_partitions = t->assignments_count;
        spec.replication_factor = 1;
    }
    err = sl_topics_spec_configs(r, t, &kvs, why, sizeof(why));
    if (err != SL_OK) {
        goto error;
    }
    spec.configs = kvs;
    spec.n_configs = (size_t)nc;
    pthread_mutex_lock(&api->admin_lock);
    err = sl_metastore_create_topic(api->meta, &spec, validate_only, &id,
                                    &parts, why, sizeof(why));
    if (err != SL_OK) {
        pthread_mutex_unlock(&api->admin_lock);
        goto error;
    }
    if (!validate_only) {
        sl_log_info("api", "topic created topic=%s partitions=%d client=%.*s",
                    name, (int)parts,
                    (int)(r->client_id.len > 0 ? r->client_id.len : 0),
                    r->client_id.len > 0 ? r->client_id.ptr : "");
        err = sl_api_topic_changed(api, name);
        if (err != SL_OK) {
            sl_log_warn("api",
                        "cannot open partition logs of new topic=%s "
                        "err=%s",
                        name, sl_err_name(err));
        }
    }
    pthread_mutex_unlock(&api->admin_lock);
    out->topic_id = id;
    out->num_partitions = parts;
    out->replication_factor = 1;
    if (r->version < 5) {
        return SL_OK;
    }
    if (!validate_only &&
        sl_metastore_get(api->meta, name, r->arena, &info) == SL_OK) {
        return sl_topics_result_configs(r, &info.configs, out);
    }
    return sl_topics_result_configs_kvs(r, kvs, nc, out);

error:
    if (err == SL_ERR__NOMEM) {
        return err;
    }
    out->error_code = sl_err_to_wire(err);
    out->error_message = sl_api_str(r->arena, why[0] ? why : sl_err_name(err));
    return SL_OK;
}

sl_err_t
sl_api_create_topics_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_create_topics_req_t *req = reqp;
    sl_msg_create_topics_resp_t *resp = respp;
    int32_t n = req->topics_count > 0 ? req->topics_count : 0, i;
    uint8_t *dup;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    resp->topics = sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_ct_result_t));
    dup = sl_topics_dups(r->arena, req->topics, sizeof(sl_ct_topic_t), n);
    if ((resp->topics == NULL && n > 0) || dup == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->topics_count = 0;
    for (i = 0; i < n; i++) {
        sl_ct_result_t *out = &resp->topics[resp->topics_count];

        if (dup[i] == SL_API_DUP_LATER) {
            continue;
        }
        sl_msg_create_topics_resp_creatable_topic_result_init(out);
        err =
            sl_topics_create_one(r, &req->topics[i], dup[i] != SL_API_DUP_NONE,
                                 req->validate_only, out);
        if (err != SL_OK) {
            return err;
        }
        resp->topics_count++;
    }
    return SL_OK;
}

/* ---- DeleteTopics ---------------------------------------------------- */

typedef sl_msg_delete_topics_resp_deletable_topic_result_t sl_dt_result_t;

/* Delete one topic by name (<name> a wire string) or, when <name> is null,
 * by <id>; fill <out>. */
static void
sl_topics_delete_one(sl_api_req_t *r, sl_str_t wname, const sl_uuid_t *id,
                     bool dup, sl_dt_result_t *out)
{
    sl_api_t *api = r->api;
    char namebuf[SL_TOPIC_NAME_MAX + 1], why[160];
    const char *msg = NULL;
    sl_uuid_t got;
    sl_err_t err;

    memset(&got, 0, sizeof(got));
    out->name = wname;
    if (id != NULL) {
        out->topic_id = *id;
    }
    if (dup) {
        err = SL_ERR_INVALID_REQUEST;
        msg = wname.len >= 0 ? "Duplicate topic name." : "Duplicate topic id.";
        goto done;
    }
    if (!sl_config_bool(api->cfg, "delete.topic.enable")) {
        /* TOPIC_DELETION_DISABLED came with v3 (KIP-322); older clients
         * get INVALID_REQUEST, as from Kafka. */
        err = r->version >= 3 ? SL_ERR_TOPIC_DELETION_DISABLED
                              : SL_ERR_INVALID_REQUEST;
        msg = "Topic deletion is disabled.";
        goto done;
    }
    if (wname.len >= 0) {
        if (id != NULL && !sl_uuid_eq(id, &got)) {
            err = SL_ERR_INVALID_REQUEST;
            msg = "You may not specify both topic name and topic id.";
            goto done;
        }
        if (sl_metastore_name_check_n(wname.ptr, (size_t)wname.len, why,
                                      sizeof(why)) != SL_OK) {
            err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            goto done;
        }
        memcpy(namebuf, wname.ptr, (size_t)wname.len);
        namebuf[wname.len] = '\0';
    } else {
        sl_topic_info_t info;

        err = sl_metastore_get_by_id(api->meta, id, r->arena, &info);
        if (err != SL_OK) {
            if (sl_uuid_eq(id, &got)) {
                err = SL_ERR_INVALID_REQUEST;
                msg = "Topic id is zero.";
            }
            goto done;
        }
        snprintf(namebuf, sizeof(namebuf), "%s", info.name);
        out->name = sl_api_str(r->arena, namebuf);
    }
    if (!sl_api_authorize(r, SL_ACL_OP_DELETE, SL_ACL_RES_TOPIC,
                          sl_str_lit(namebuf))) {
        /* ACLs: DELETE on the topic (refused before existence is told) */
        err = SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        goto done;
    }
    if (sl_metastore_is_internal(namebuf)) {
        err = SL_ERR_INVALID_REQUEST;
        msg = "Internal topics cannot be deleted.";
        goto done;
    }
    pthread_mutex_lock(&api->admin_lock);
    if (wname.len >= 0) {
        err = sl_metastore_delete_topic(api->meta, namebuf, &got);
        out->topic_id = got;
    } else {
        /* The id may have been deleted and its name re-created since the
         * lookup: delete by id, then drop the logs of that name only if
         * the id was still there. */
        err = sl_metastore_delete_topic_id(api->meta, id, NULL);
    }
    if (err == SL_OK) {
        sl_log_info("api", "topic deleted from metadata topic=%s client=%.*s",
                    namebuf, (int)(r->client_id.len > 0 ? r->client_id.len : 0),
                    r->client_id.len > 0 ? r->client_id.ptr : "");
        sl_api_topic_deleted(api, namebuf);
    }
    pthread_mutex_unlock(&api->admin_lock);
done:
    if (msg == NULL && err == SL_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
        msg = "This server does not host this topic-partition.";
    } else if (msg == NULL && err == SL_ERR_UNKNOWN_TOPIC_ID) {
        msg = "This server does not host this topic ID.";
    }
    out->error_code = sl_err_to_wire(err);
    if (err != SL_OK && r->version >= 5) {
        out->error_message =
            sl_api_str(r->arena, msg != NULL ? msg : sl_err_name(err));
    }
}

sl_err_t
sl_api_delete_topics_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_delete_topics_req_t *req = reqp;
    sl_msg_delete_topics_resp_t *resp = respp;
    bool by_state = r->version >= 6;
    int32_t n = by_state ? req->topics_count : req->topic_names_count, i;
    uint8_t *dup;

    n = n > 0 ? n : 0;
    resp->throttle_time_ms = 0;
    resp->responses =
        sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_dt_result_t));
    if (by_state) {
        /* By name, or by id for entries without a name (tag 1). */
        sl_api_dupkey_t *keys =
            sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*keys));

        dup = NULL;
        for (i = 0; keys != NULL && i < n; i++) {
            const sl_msg_delete_topics_req_delete_topic_state_t *t =
                &req->topics[i];

            keys[i].tag = t->name.len < 0 ? 1 : 0;
            keys[i].ptr =
                t->name.len < 0 ? (const char *)t->topic_id.b : t->name.ptr;
            keys[i].len = t->name.len < 0 ? 16 : t->name.len;
            keys[i].idx = i;
        }
        if (keys != NULL) {
            dup = sl_api_dup_marks(r->arena, keys, n);
        }
    } else {
        dup = sl_topics_dups(r->arena, req->topic_names, sizeof(sl_str_t), n);
    }
    if ((resp->responses == NULL && n > 0) || dup == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->responses_count = 0;
    for (i = 0; i < n; i++) {
        sl_dt_result_t *out = &resp->responses[resp->responses_count];

        if (dup[i] == SL_API_DUP_LATER) {
            continue;
        }
        resp->responses_count++;
        sl_msg_delete_topics_resp_deletable_topic_result_init(out);
        if (by_state) {
            sl_topics_delete_one(r, req->topics[i].name,
                                 &req->topics[i].topic_id,
                                 dup[i] != SL_API_DUP_NONE, out);
        } else {
            sl_topics_delete_one(r, req->topic_names[i], NULL,
                                 dup[i] != SL_API_DUP_NONE, out);
        }
    }
    return SL_OK;
}

/* ---- CreatePartitions ------------------------------------------------ */

typedef sl_msg_create_partitions_req_create_partitions_topic_t sl_cp_topic_t;
typedef sl_msg_create_partitions_resp_create_partitions_topic_result_t
    sl_cp_result_t;

static sl_err_t
sl_topics_partitions_one(sl_api_req_t *r, const sl_cp_topic_t *t, bool dup,
                         bool validate_only, sl_cp_result_t *out)
{
    sl_api_t *api = r->api;
    sl_topic_info_t info;
    char why[256], *name;
    int32_t i, node = api->node_id;
    sl_err_t err;

    why[0] = '\0';
    out->name = t->name;
    if (dup) {
        err = SL_ERR_INVALID_REQUEST;
        snprintf(why, sizeof(why), "Duplicate topic name.");
        goto done;
    }
    name = sl_api_cstr(r->arena, t->name);
    if (name == NULL || t->name.len > SL_TOPIC_NAME_MAX) {
        err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        goto done;
    }
    err = sl_api_auth_topic(r, SL_ACL_OP_ALTER, t->name); /* ACLs */
    if (err != SL_OK) {
        goto done;
    }
    err = sl_metastore_get(api->meta, name, r->arena, &info);
    if (err != SL_OK) {
        goto done;
    }
    if (t->assignments_count >= 0 && t->count > info.partitions) {
        if ((int64_t)t->assignments_count !=
            (int64_t)t->count - info.partitions) {
            err = SL_ERR_INVALID_REPLICA_ASSIGNMENT;
            snprintf(why, sizeof(why),
                     "Attempted to add %lld additional "
                     "partitions, but only %d assignments "
                     "were specified.",
                     (long long)t->count - info.partitions,
                     (int)t->assignments_count);
            goto done;
        }
        for (i = 0; i < t->assignments_count; i++) {
            const sl_msg_create_partitions_req_create_partitions_assignment_t
                *as = &t->assignments[i];

            if (as->broker_ids_count != 1 || as->broker_ids[0] != node) {
                err = SL_ERR_INVALID_REPLICA_ASSIGNMENT;
                snprintf(why, sizeof(why),
                         "The only broker is %d, so the only "
                         "valid replica assignment is [%d].",
                         (int)node, (int)node);
                goto done;
            }
        }
    }
    pthread_mutex_lock(&api->admin_lock);
    err = sl_metastore_create_partitions(api->meta, name, t->count,
                                         validate_only, why, sizeof(why));
    if (err == SL_OK && !validate_only) {
        sl_log_info("api", "partitions created topic=%s partitions=%d", name,
                    (int)t->count);
        err = sl_api_topic_changed(api, name);
        if (err != SL_OK) {
            sl_log_warn("api",
                        "cannot open new partition logs topic=%s "
                        "err=%s",
                        name, sl_err_name(err));
            err = SL_OK; /* the metadata change is made and persisted */
        }
    }
    pthread_mutex_unlock(&api->admin_lock);
done:
    if (err == SL_ERR__NOMEM) {
        return err;
    }
    out->error_code = sl_err_to_wire(err);
    if (err != SL_OK) {
        out->error_message =
            sl_api_str(r->arena, why[0] ? why : sl_err_name(err));
    }
    return SL_OK;
}

sl_err_t
sl_api_create_partitions_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_create_partitions_req_t *req = reqp;
    sl_msg_create_partitions_resp_t *resp = respp;
    int32_t n = req->topics_count > 0 ? req->topics_count : 0, i;
    uint8_t *dup;
    sl_err_t err;

    resp->throttle_time_ms = 0;
    resp->results =
        sl_arena_calloc(r->arena, (size_t)n, sizeof(sl_cp_result_t));
    dup = sl_topics_dups(r->arena, req->topics, sizeof(sl_cp_topic_t), n);
    if ((resp->results == NULL && n > 0) || dup == NULL) {
        return SL_ERR__NOMEM;
    }
    resp->results_count = 0;
    for (i = 0; i < n; i++) {
        sl_cp_result_t *out = &resp->results[resp->results_count];

        if (dup[i] == SL_API_DUP_LATER) {
            continue;
        }
        sl_msg_create_partitions_resp_create_partitions_topic_result_init(out);
        err = sl_topics_partitions_one(r, &req->topics[i],
                                       dup[i] != SL_API_DUP_NONE,
                                       req->validate_only, out);
        if (err != SL_OK) {
            return err;
        }
        resp->results_count++;
    }
    return SL_OK;
}

/* ---- DescribeTopicPartitions ---------------------------------------- */

typedef sl_msg_describe_topic_partitions_resp_describe_topic_partitions_response_topic_t
    sl_dtp_topic_t;
typedef sl_msg_describe_topic_partitions_resp_describe_topic_partitions_response_partition_t
    sl_dtp_part_t;

/* Byte-wise order of wire strings (the metastore's name order for names
 * without NUL bytes). */
static int
sl_topics_str_cmp(sl_str_t a, sl_str_t b)
{
    int32_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.ptr, b.ptr, (size_t)n) : 0;

    if (c != 0) {
        return c;
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static int
sl_topics_qsort_cmp(const void *x, const void *y)
{
    return sl_topics_str_cmp(*(const sl_str_t *)x, *(const sl_str_t *)y);
}

/* The topic named <name> in the sorted snapshot, or NULL. */
static const sl_topic_info_t *
sl_topics_find(const sl_topic_info_t *all, size_t n, sl_str_t name)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        sl_str_t m = {all[mid].name, (int32_t)strlen(all[mid].name)};
        int c = sl_topics_str_cmp(m, name);

        if (c == 0) {
            return &all[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Fill partitions [first, first + count) of <t> into <out>. */
static sl_err_t
sl_topics_dtp_fill(sl_api_req_t *r, const sl_topic_info_t *t, int32_t first,
                   int32_t count, sl_dtp_topic_t *out)
{
    int32_t *replica = sl_arena_alloc(r->arena, sizeof(int32_t)), i;

    out->name = sl_api_str(r->arena, t->name);
    out->topic_id = t->id;
    out->is_internal = t->internal;
    out->topic_authorized_operations =
        sl_api_authorized_ops(r, SL_ACL_RES_TOPIC, out->name);
    out->partitions =
        sl_arena_calloc(r->arena, (size_t)count, sizeof(sl_dtp_part_t));
    if (replica == NULL || (out->partitions == NULL && count > 0)) {
        return SL_ERR__NOMEM;
    }
    *replica = r->api->node_id;
    for (i = 0; i < count; i++) {
        sl_dtp_part_t *p = &out->partitions[i];

        sl_msg_describe_topic_partitions_resp_describe_topic_partitions_response_partition_init(
            p);
        p->partition_index = first + i;
        p->leader_id = r->api->node_id;
        p->leader_epoch = t->leader_epochs[first + i];
        p->replica_nodes = replica;
        p->replica_nodes_count = 1;
        p->isr_nodes = replica;
        p->isr_nodes_count = 1;
        p->eligible_leader_replicas_count = 0;
        p->last_known_elr_count = 0;
        p->offline_replicas_count = 0;
    }
    out->partitions_count = count;
    return SL_OK;
}

/* The names to list, sorted and unique, into *out[*n]: every topic of the
 * snapshot <all> when the request names none, else the requested names
 * (null names as ""). @returns SL_OK or SL_ERR__NOMEM. */
static sl_err_t
sl_topics_dtp_names(sl_api_req_t *r,
                    const sl_msg_describe_topic_partitions_req_t *req,
                    const sl_topic_info_t *all, size_t nall, sl_str_t **out,
                    size_t *n)
{
    bool fetch_all = req->topics_count <= 0;
    size_t nn = fetch_all ? nall : (size_t)req->topics_count, i, w = 0;
    sl_str_t *names =
        sl_arena_calloc(r->arena, nn > 0 ? nn : 1, sizeof(*names));

    if (names == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < nn; i++) {
        if (fetch_all) {
            names[i].ptr = all[i].name;
            names[i].len = (int32_t)strlen(all[i].name);
        } else {
            names[i] = req->topics[i].name;
            if (names[i].len < 0) {
                names[i].ptr = "";
                names[i].len = 0;
            }
        }
    }
    if (!fetch_all) {
        qsort(names, nn, sizeof(*names), sl_topics_qsort_cmp);
        for (i = 0; i < nn; i++) {
            if (w == 0 || sl_topics_str_cmp(names[w - 1], names[i]) != 0) {
                names[w++] = names[i];
            }
        }
        nn = w;
    }
    *out = names;
    *n = nn;
    return SL_OK;
}

/*
 * Topics in name order from the cursor's topic on (its partitions from the
 * cursor's index, later topics' from 0), partitions up to the limit, as
 * Kafka's KRaft broker pages them: when the limit cuts the listing short,
 * next_cursor names the first partition not returned (partition 0 of the
 * next topic when the limit falls at the end of one). Requested names that
 * do not exist come back with UNKNOWN_TOPIC_OR_PARTITION (invalid names
 * with INVALID_TOPIC_EXCEPTION) on the page where they fall. A cursor
 * outside the requested topics is INVALID_REQUEST for every topic. Unlike
 * Kafka, a limit of 0 or less means the default, so that paging always
 * moves on.
 */
sl_err_t
sl_api_describe_topic_partitions_handle(sl_api_req_t *r, const void *reqp,
                                        void *respp)
{
    const sl_msg_describe_topic_partitions_req_t *req = reqp;
    sl_msg_describe_topic_partitions_resp_t *resp = respp;
    sl_topic_info_t *all = NULL;
    sl_str_t *names;
    size_t nall = 0, nn = 0, i;
    int32_t limit = req->response_partition_limit, left, nout = 0;
    bool fetch_all = req->topics_count <= 0;
    sl_err_t err;

    if (limit <= 0 || limit > SL_TOPICS_DTP_LIMIT) {
        limit = SL_TOPICS_DTP_LIMIT;
    }
    left = limit;
    resp->throttle_time_ms = 0;
    err = sl_metastore_snapshot(r->api->meta, r->arena, &all, &nall, NULL);
    if (err != SL_OK) {
        return err;
    }
    err = sl_topics_dtp_names(r, req, all, nall, &names, &nn);
    if (err != SL_OK) {
        return err;
    }
    resp->topics =
        sl_arena_calloc(r->arena, nn > 0 ? nn : 1, sizeof(sl_dtp_topic_t));
    if (resp->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    if (!fetch_all && req->cursor_present && req->cursor.topic_name.len >= 0 &&
        bsearch(&req->cursor.topic_name, names, nn, sizeof(*names),
                sl_topics_qsort_cmp) == NULL) {
        /* Kafka refuses a cursor outside the requested topics. */
        for (i = 0; i < nn; i++) {
            sl_dtp_topic_t *o = &resp->topics[i];

            sl_msg_describe_topic_partitions_resp_describe_topic_partitions_response_topic_init(
                o);
            o->error_code = (int16_t)SL_ERR_INVALID_REQUEST;
            o->name = names[i];
            o->partitions_count = 0;
        }
        resp->topics_count = (int32_t)nn;
        return SL_OK;
    }
    for (i = 0; i < nn; i++) {
        sl_dtp_topic_t *o = &resp->topics[nout];
        const sl_topic_info_t *t;
        int32_t first = 0, count;
        int c = 0;

        if (req->cursor_present && req->cursor.topic_name.len >= 0) {
            c = sl_topics_str_cmp(names[i], req->cursor.topic_name);
            if (c < 0) {
                continue;
            }
            if (c == 0 && req->cursor.partition_index > 0) {
                first = req->cursor.partition_index;
            }
        }
        sl_msg_describe_topic_partitions_resp_describe_topic_partitions_response_topic_init(
            o);
        if (left == 0) {
            /* The page is full: continue at this topic (known or not, as
             * Kafka does) next time. */
            resp->next_cursor_present = true;
            resp->next_cursor.topic_name = names[i];
            resp->next_cursor.partition_index = first;
            break;
        }
        t = sl_topics_find(all, nall, names[i]);
        if (!sl_api_authorize(r, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC,
                              names[i])) {
            /* ACLs: hidden from a listing, refused when named */
            if (!fetch_all) {
                o->error_code = (int16_t)SL_ERR_TOPIC_AUTHORIZATION_FAILED;
                o->name = names[i];
                o->partitions_count = 0;
                nout++;
            }
            continue;
        }
        if (t == NULL) {
            char why[160];

            o->error_code = (int16_t)(sl_metastore_name_check_n(
                                          names[i].ptr, (size_t)names[i].len,
                                          why, sizeof(why)) == SL_OK
                                          ? SL_ERR_UNKNOWN_TOPIC_OR_PARTITION
                                          : SL_ERR_INVALID_TOPIC_EXCEPTION);
            o->name = names[i];
            o->partitions_count = 0;
            nout++;
            continue;
        }
        if (first > t->partitions) {
            first = t->partitions;
        }
        count = t->partitions - first;
        if (count > left) {
            count = left;
        }
        err = sl_topics_dtp_fill(r, t, first, count, o);
        if (err != SL_OK) {
            return err;
        }
        nout++;
        left -= count;
        if (first + count < t->partitions) {
            resp->next_cursor_present = true;
            resp->next_cursor.topic_name = o->name;
            resp->next_cursor.partition_index = first + count;
            break;
        }
    }
    resp->topics_count = nout;
    return SL_OK;
}
