/*
 * api/acls.c: authorisation for every handler (sl_api_authorize() and
 * friends over security/acl.c), and the ACL admin APIs DescribeAcls (29),
 * CreateAcls (30) and DeleteAcls (31) with Kafka's errors:
 * SECURITY_DISABLED without an authoriser, CLUSTER_AUTHORIZATION_FAILED
 * without DESCRIBE (describe) or ALTER (create, delete) on the cluster,
 * INVALID_REQUEST for bad bindings and filters.
 *
 * Owns: api->acl (opened and closed here). Thread: workers; the store
 * locks itself.
 */
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/create_acls.h"
#include "proto/gen/delete_acls.h"
#include "proto/gen/describe_acls.h"
#include "security/acl.h"

typedef sl_msg_describe_acls_resp_describe_acls_resource_t sl_api_acl_dres_t;
typedef sl_msg_describe_acls_resp_acl_description_t sl_api_acl_desc_t;
typedef sl_msg_delete_acls_resp_delete_acls_filter_result_t sl_api_acl_fres_t;
typedef sl_msg_delete_acls_resp_delete_acls_matching_acl_t sl_api_acl_match_t;

/* All operation bits of a type, for when there is no authoriser. */
#define SL_API_OPS_GROUP ((1 << 3) | (1 << 6) | (1 << 8))

sl_err_t
sl_api_acl_open(sl_api_t *api)
{
    const char *cls = sl_config_str(api->cfg, "authorizer.class.name");
    bool on = false;
    sl_err_t err;

    if (sl_acl_parse_class(cls, &on) != SL_OK) {
        sl_log_error("config",
                     "invalid value for authorizer.class.name: expected "
                     "empty, org.apache.kafka.metadata.authorizer."
                     "StandardAuthorizer, kafka.security.authorizer."
                     "AclAuthorizer or sluice");
        return SL_ERR__INVAL;
    }
    if (!on) {
        return SL_OK;
    }
    err = sl_acl_store_open(
        api->data_dir, sl_config_str(api->cfg, "super.users"),
        sl_config_bool(api->cfg, "allow.everyone.if.no.acl.found"), &api->acl);
    if (err != SL_OK) {
        sl_log_error("acl", "cannot open the ACL store err=%s",
                     sl_err_name(err));
        return err;
    }
    sl_log_info("acl", "authoriser on acls=%zu", sl_acl_store_count(api->acl));
    return SL_OK;
}

void
sl_api_acl_close(sl_api_t *api)
{
    sl_acl_store_close(api->acl);
    api->acl = NULL;
}

/* The connection's principal, and its peer's address without the port. */
static const char *
sl_api_acl_who(sl_api_req_t *r, char *host, size_t cap)
{
    const char *peer = sl_conn_peer(r->req->conn);
    const char *colon = strrchr(peer, ':');
    size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(host, peer, n);
    host[n] = '\0';
    return sl_conn_principal(r->req->conn);
}

bool
sl_api_authorize(sl_api_req_t *r, int op, int rtype, sl_str_t name)
{
    char host[80], *cname;
    const char *who;
    bool ok;

    if (r->api->acl == NULL) {
        return true;
    }
    who = sl_api_acl_who(r, host, sizeof(host));
    cname = sl_api_cstr(r->arena, name);
    if (cname == NULL) {
        return false;
    }
    ok = sl_acl_authorize(r->api->acl, who, host, (sl_acl_op_e)op,
                          (sl_acl_res_e)rtype, cname);
    if (!ok) {
        sl_log_debug("acl",
                     "denied principal=%s host=%s op=%d resource_type=%d "
                     "name=%s api=%d",
                     who, host, op, rtype, cname, r->key);
    }
    return ok;
}

bool
sl_api_authorize_cluster(sl_api_req_t *r, int op)
{
    return sl_api_authorize(r, op, SL_ACL_RES_CLUSTER,
                            sl_str_lit(SL_ACL_CLUSTER_NAME));
}

sl_err_t
sl_api_auth_topic(sl_api_req_t *r, int op, sl_str_t name)
{
    return sl_api_authorize(r, op, SL_ACL_RES_TOPIC, name)
               ? SL_OK
               : SL_ERR_TOPIC_AUTHORIZATION_FAILED;
}

sl_err_t
sl_api_auth_group(sl_api_req_t *r, int op, sl_str_t name)
{
    return sl_api_authorize(r, op, SL_ACL_RES_GROUP, name)
               ? SL_OK
               : SL_ERR_GROUP_AUTHORIZATION_FAILED;
}

sl_err_t
sl_api_auth_txn(sl_api_req_t *r, int op, sl_str_t name)
{
    return sl_api_authorize(r, op, SL_ACL_RES_TRANSACTIONAL_ID, name)
               ? SL_OK
               : SL_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
}

sl_err_t
sl_api_auth_cluster(sl_api_req_t *r, int op)
{
    return sl_api_authorize_cluster(r, op)
               ? SL_OK
               : SL_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

bool
sl_api_authorize_any(sl_api_req_t *r, int op, int rtype)
{
    char host[80];
    const char *who;

    if (r->api->acl == NULL) {
        return true;
    }
    who = sl_api_acl_who(r, host, sizeof(host));
    return sl_acl_authorize_any(r->api->acl, who, host, (sl_acl_op_e)op,
                                (sl_acl_res_e)rtype);
}

int32_t
sl_api_authorized_ops(sl_api_req_t *r, int rtype, sl_str_t name)
{
    char host[80], *cname;
    const char *who;

    if (r->api->acl == NULL) {
        return rtype == SL_ACL_RES_TOPIC     ? sl_api_topic_authorized_ops()
               : rtype == SL_ACL_RES_CLUSTER ? sl_api_cluster_authorized_ops()
                                             : SL_API_OPS_GROUP;
    }
    who = sl_api_acl_who(r, host, sizeof(host));
    cname = rtype == SL_ACL_RES_CLUSTER ? SL_ACL_CLUSTER_NAME
                                        : sl_api_cstr(r->arena, name);
    if (cname == NULL) {
        return 0;
    }
    return sl_acl_authorized_ops(r->api->acl, who, host, (sl_acl_res_e)rtype,
                                 cname);
}

/* The error every ACL admin request gets before looking at its body:
 * SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED or SL_OK. */
static sl_err_t
sl_api_acl_gate(sl_api_req_t *r, int op)
{
    if (r->api->acl == NULL) {
        return SL_ERR_SECURITY_DISABLED;
    }
    return sl_api_authorize_cluster(r, op)
               ? SL_OK
               : SL_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

/* A filter from wire fields; NULL strings (and NUL-holding ones, which
 * *bad flags) stay NULL. */
static sl_acl_t
sl_api_acl_filter(sl_arena_t *a, int8_t rtype, sl_str_t name, int8_t ptype,
                  sl_str_t principal, sl_str_t host, int8_t op, int8_t perm,
                  bool *bad)
{
    sl_acl_t f = {rtype, ptype, op, perm, NULL, NULL, NULL};

    *bad = false;
    if (name.len >= 0 && (f.name = sl_api_cstr(a, name)) == NULL) {
        *bad = true;
    }
    if (principal.len >= 0 &&
        (f.principal = sl_api_cstr(a, principal)) == NULL) {
        *bad = true;
    }
    if (host.len >= 0 && (f.host = sl_api_cstr(a, host)) == NULL) {
        *bad = true;
    }
    return f;
}

/* ---- DescribeAcls ------------------------------------------------------- */

typedef struct sl_api_acl_list_s {
    sl_arena_t *arena;
    sl_acl_t *v;
    int32_t n, cap;
    bool nomem;
} sl_api_acl_list_t;

static void
sl_api_acl_collect(void *arg, const sl_acl_t *acl)
{
    sl_api_acl_list_t *l = arg;
    sl_acl_t *c;

    if (l->nomem) {
        return;
    }
    if (l->n == l->cap) {
        int32_t cap = l->cap != 0 ? l->cap * 2 : 16;
        sl_acl_t *v = sl_arena_calloc(l->arena, (size_t)cap, sizeof(*v));

        if (v == NULL) {
            l->nomem = true;
            return;
        }
        if (l->n > 0) {
            memcpy(v, l->v, (size_t)l->n * sizeof(*v));
        }
        l->v = v;
        l->cap = cap;
    }
    c = &l->v[l->n];
    *c = *acl;
    c->name = sl_api_cstr(l->arena, sl_str_lit(acl->name));
    c->principal = sl_api_cstr(l->arena, sl_str_lit(acl->principal));
    c->host = sl_api_cstr(l->arena, sl_str_lit(acl->host));
    if (c->name == NULL || c->principal == NULL || c->host == NULL) {
        l->nomem = true;
        return;
    }
    l->n++;
}

/* Group the collected bindings by resource pattern, in the order met. */
static sl_err_t
sl_api_acl_group(sl_api_req_t *r, const sl_api_acl_list_t *l,
                 sl_msg_describe_acls_resp_t *out)
{
    int32_t i, j, nres = 0;
    bool *done = sl_arena_calloc(r->arena, (size_t)l->n + 1, sizeof(bool));
    sl_api_acl_dres_t *res =
        sl_arena_calloc(r->arena, (size_t)l->n + 1, sizeof(*res));

    if (done == NULL || res == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < l->n; i++) {
        const sl_acl_t *a = &l->v[i];
        sl_api_acl_dres_t *d;
        int32_t k = 0, cnt = 0;

        if (done[i]) {
            continue;
        }
        for (j = i; j < l->n; j++) {
            const sl_acl_t *b = &l->v[j];

            cnt += !done[j] && b->resource_type == a->resource_type &&
                   b->pattern_type == a->pattern_type &&
                   strcmp(b->name, a->name) == 0;
        }
        d = &res[nres++];
        sl_msg_describe_acls_resp_describe_acls_resource_init(d);
        d->resource_type = a->resource_type;
        d->resource_name = sl_str_lit(a->name);
        d->pattern_type = a->pattern_type;
        d->acls = sl_arena_calloc(r->arena, (size_t)cnt, sizeof(*d->acls));
        if (d->acls == NULL) {
            return SL_ERR__NOMEM;
        }
        for (j = i; j < l->n; j++) {
            const sl_acl_t *b = &l->v[j];
            sl_api_acl_desc_t *e;

            if (done[j] || b->resource_type != a->resource_type ||
                b->pattern_type != a->pattern_type ||
                strcmp(b->name, a->name) != 0) {
                continue;
            }
            done[j] = true;
            e = &d->acls[k++];
            sl_msg_describe_acls_resp_acl_description_init(e);
            e->principal = sl_str_lit(b->principal);
            e->host = sl_str_lit(b->host);
            e->operation = b->operation;
            e->permission_type = b->permission;
        }
        d->acls_count = k;
    }
    out->resources = res;
    out->resources_count = nres;
    return SL_OK;
}

sl_err_t
sl_api_describe_acls_handle(sl_api_req_t *r, const void *req, void *resp)
{
    const sl_msg_describe_acls_req_t *q = req;
    sl_msg_describe_acls_resp_t *out = resp;
    sl_api_acl_list_t l = {r->arena, NULL, 0, 0, false};
    const char *why = NULL;
    sl_acl_t f;
    bool bad;
    sl_err_t err;

    err = sl_api_acl_gate(r, SL_ACL_OP_DESCRIBE);
    if (err == SL_OK) {
        f = sl_api_acl_filter(r->arena, q->resource_type_filter,
                              q->resource_name_filter, q->pattern_type_filter,
                              q->principal_filter, q->host_filter, q->operation,
                              q->permission_type, &bad);
        err = sl_acl_filter_validate(&f, &why);
        if (err == SL_OK && bad) {
            err = SL_ERR_INVALID_REQUEST;
            why = "Invalid string in filter";
        }
    }
    if (err != SL_OK) {
        out->error_code = (int16_t)err;
        out->error_message = why != NULL ? sl_str_lit(why) : out->error_message;
        return SL_OK;
    }
    sl_acl_store_each(r->api->acl, &f, sl_api_acl_collect, &l);
    if (l.nomem) {
        return SL_ERR__NOMEM;
    }
    return sl_api_acl_group(r, &l, out);
}

/* ---- CreateAcls --------------------------------------------------------- */

sl_err_t
sl_api_create_acls_handle(sl_api_req_t *r, const void *req, void *resp)
{
    const sl_msg_create_acls_req_t *q = req;
    sl_msg_create_acls_resp_t *out = resp;
    int32_t n = q->creations_count, i, nok = 0;
    sl_err_t gate = sl_api_acl_gate(r, SL_ACL_OP_ALTER), err;
    sl_acl_t *ok = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*ok));

    out->results =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*out->results));
    if (out->results == NULL || ok == NULL) {
        return SL_ERR__NOMEM;
    }
    out->results_count = n;
    for (i = 0; i < n; i++) {
        const sl_msg_create_acls_req_acl_creation_t *c = &q->creations[i];
        sl_msg_create_acls_resp_acl_creation_result_t *res = &out->results[i];
        const char *why = NULL;
        sl_acl_t a;
        bool bad;

        sl_msg_create_acls_resp_acl_creation_result_init(res);
        if (gate != SL_OK) {
            res->error_code = (int16_t)gate;
            continue;
        }
        a = sl_api_acl_filter(r->arena, c->resource_type, c->resource_name,
                              c->resource_pattern_type, c->principal, c->host,
                              c->operation, c->permission_type, &bad);
        err = bad ? SL_ERR_INVALID_REQUEST : sl_acl_validate(&a, &why);
        if (err != SL_OK) {
            res->error_code = (int16_t)err;
            res->error_message =
                sl_str_lit(why != NULL ? why : "Invalid string");
            continue;
        }
        ok[nok++] = a;
    }
    if (nok == 0) {
        return SL_OK;
    }
    err = sl_acl_store_add(r->api->acl, ok, (size_t)nok);
    if (err != SL_OK) {
        /* Nothing was stored: every binding that passed validation fails. */
        for (i = 0; i < n; i++) {
            if (out->results[i].error_code == 0) {
                out->results[i].error_code =
                    (int16_t)SL_ERR_UNKNOWN_SERVER_ERROR;
                out->results[i].error_message =
                    sl_str_lit("cannot persist the ACLs");
            }
        }
        return SL_OK;
    }
    sl_log_info("acl", "created acls=%d principal=%s", nok,
                sl_conn_principal(r->req->conn));
    return SL_OK;
}

/* ---- DeleteAcls --------------------------------------------------------- */

typedef struct sl_api_acl_del_s {
    sl_arena_t *arena;
    sl_api_acl_list_t *per; /* one list per filter */
} sl_api_acl_del_t;

static void
sl_api_acl_removed(void *arg, size_t filter, const sl_acl_t *acl)
{
    sl_api_acl_del_t *d = arg;

    sl_api_acl_collect(&d->per[filter], acl);
}

sl_err_t
sl_api_delete_acls_handle(sl_api_req_t *r, const void *req, void *resp)
{
    const sl_msg_delete_acls_req_t *q = req;
    sl_msg_delete_acls_resp_t *out = resp;
    int32_t n = q->filters_count, i, j, nok = 0;
    sl_err_t gate = sl_api_acl_gate(r, SL_ACL_OP_ALTER), err;
    sl_acl_t *fs = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*fs));
    int32_t *idx = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*idx));
    sl_api_acl_del_t d = {r->arena, NULL};

    d.per = sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*d.per));
    out->filter_results =
        sl_arena_calloc(r->arena, (size_t)n + 1, sizeof(*out->filter_results));
    if (out->filter_results == NULL || fs == NULL || idx == NULL ||
        d.per == NULL) {
        return SL_ERR__NOMEM;
    }
    out->filter_results_count = n;
    for (i = 0; i < n; i++) {
        const sl_msg_delete_acls_req_delete_acls_filter_t *c = &q->filters[i];
        sl_api_acl_fres_t *res = &out->filter_results[i];
        const char *why = NULL;
        sl_acl_t f;
        bool bad;

        sl_msg_delete_acls_resp_delete_acls_filter_result_init(res);
        if (gate != SL_OK) {
            res->error_code = (int16_t)gate;
            continue;
        }
        f = sl_api_acl_filter(r->arena, c->resource_type_filter,
                              c->resource_name_filter, c->pattern_type_filter,
                              c->principal_filter, c->host_filter, c->operation,
                              c->permission_type, &bad);
        err = bad ? SL_ERR_INVALID_REQUEST : sl_acl_filter_validate(&f, &why);
        if (err != SL_OK) {
            res->error_code = (int16_t)err;
            res->error_message =
                sl_str_lit(why != NULL ? why : "Invalid string");
            continue;
        }
        idx[nok] = i;
        d.per[nok].arena = r->arena;
        fs[nok++] = f;
    }
    if (nok == 0) {
        return SL_OK;
    }
    err = sl_acl_store_remove(r->api->acl, fs, (size_t)nok, sl_api_acl_removed,
                              &d);
    for (j = 0; j < nok; j++) {
        sl_api_acl_fres_t *res = &out->filter_results[idx[j]];
        const sl_api_acl_list_t *l = &d.per[j];

        if (err != SL_OK || l->nomem) {
            res->error_code = (int16_t)SL_ERR_UNKNOWN_SERVER_ERROR;
            continue;
        }
        res->matching_acls = sl_arena_calloc(r->arena, (size_t)l->n + 1,
                                             sizeof(sl_api_acl_match_t));
        if (res->matching_acls == NULL) {
            return SL_ERR__NOMEM;
        }
        res->matching_acls_count = l->n;
        for (i = 0; i < l->n; i++) {
            sl_api_acl_match_t *m = &res->matching_acls[i];

            sl_msg_delete_acls_resp_delete_acls_matching_acl_init(m);
            m->resource_type = l->v[i].resource_type;
            m->resource_name = sl_str_lit(l->v[i].name);
            m->pattern_type = l->v[i].pattern_type;
            m->principal = sl_str_lit(l->v[i].principal);
            m->host = sl_str_lit(l->v[i].host);
            m->operation = l->v[i].operation;
            m->permission_type = l->v[i].permission;
        }
    }
    if (err == SL_OK) {
        sl_log_info("acl", "deleted filters=%d principal=%s", nok,
                    sl_conn_principal(r->req->conn));
    }
    return SL_OK;
}
