/*
 * api/scram_admin.c: DescribeUserScramCredentials (50) and
 * AlterUserScramCredentials (51) over the SCRAM credential store
 * (security/scram.c), with Kafka's per-user errors: RESOURCE_NOT_FOUND,
 * DUPLICATE_RESOURCE, UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM.
 *
 * With an authoriser, Describe needs DESCRIBE and Alter needs ALTER on the
 * cluster (CLUSTER_AUTHORIZATION_FAILED otherwise).
 */
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/log.h"
#include "proto/gen/alter_user_scram_credentials.h"
#include "proto/gen/describe_user_scram_credentials.h"
#include "security/scram.h"

typedef sl_msg_describe_user_scram_credentials_resp_describe_user_scram_credentials_result_t
    sl_api_scram_dres_t;
typedef sl_msg_describe_user_scram_credentials_resp_credential_info_t
    sl_api_scram_info_t;
typedef sl_msg_alter_user_scram_credentials_resp_alter_user_scram_credentials_result_t
    sl_api_scram_ares_t;

static sl_str_t
sl_api_scram_str(const char *s)
{
    sl_str_t v = {s, (int32_t)strlen(s)};

    return v;
}

/* A NUL-terminated copy of <s> in the arena; NULL for null, empty or
 * NUL-holding names. */
static char *
sl_api_scram_name(sl_arena_t *a, sl_str_t s)
{
    char *p;

    if (s.len <= 0 || memchr(s.ptr, 0, (size_t)s.len) != NULL) {
        return NULL;
    }
    p = sl_arena_alloc(a, (size_t)s.len + 1);
    if (p != NULL) {
        memcpy(p, s.ptr, (size_t)s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Collects every credential for a describe of all users. */
typedef struct sl_api_scram_all_s {
    sl_arena_t *arena;
    sl_api_scram_dres_t *res;
    int n, cap;
    bool nomem;
} sl_api_scram_all_t;

static void
sl_api_scram_collect(void *arg, const char *user, sl_scram_mech_e mech,
                     int32_t iterations)
{
    sl_api_scram_all_t *all = arg;
    sl_api_scram_dres_t *r;
    sl_api_scram_info_t *inf;
    char *name;

    if (all->nomem) {
        return;
    }
    r = all->n > 0 ? &all->res[all->n - 1] : NULL;
    if (r == NULL || r->user.len != (int32_t)strlen(user) ||
        memcmp(r->user.ptr, user, (size_t)r->user.len) != 0) {
        if (all->n == all->cap) {
            int cap = all->cap ? all->cap * 2 : 16;
            sl_api_scram_dres_t *v =
                sl_arena_calloc(all->arena, (size_t)cap, sizeof(*v));

            if (v == NULL) {
                all->nomem = true;
                return;
            }
            if (all->n > 0) {
                memcpy(v, all->res, (size_t)all->n * sizeof(*v));
            }
            all->res = v;
            all->cap = cap;
        }
        name = sl_arena_alloc(all->arena, strlen(user) + 1);
        inf = sl_arena_calloc(all->arena, 2, sizeof(*inf));
        if (name == NULL || inf == NULL) {
            all->nomem = true;
            return;
        }
        memcpy(name, user, strlen(user) + 1);
        r = &all->res[all->n++];
        sl_msg_describe_user_scram_credentials_resp_describe_user_scram_credentials_result_init(
            r);
        r->user = sl_api_scram_str(name);
        r->credential_infos = inf;
    }
    if (r->credential_infos_count < 2) {
        inf = &r->credential_infos[r->credential_infos_count++];
        sl_msg_describe_user_scram_credentials_resp_credential_info_init(inf);
        inf->mechanism = (int8_t)mech;
        inf->iterations = iterations;
    }
}

/* Null error messages where there is no error, as Kafka sends them. */
static void
sl_api_scram_null_messages(sl_msg_describe_user_scram_credentials_resp_t *resp)
{
    resp->error_message.ptr = NULL;
    resp->error_message.len = -1;
    for (int32_t i = 0; i < resp->results_count; i++) {
        if (resp->results[i].error_code == 0) {
            resp->results[i].error_message.ptr = NULL;
            resp->results[i].error_message.len = -1;
        }
    }
}

sl_err_t
sl_api_describe_user_scram_credentials_handle(sl_api_req_t *r, const void *reqp,
                                              void *respp)
{
    const sl_msg_describe_user_scram_credentials_req_t *req = reqp;
    sl_msg_describe_user_scram_credentials_resp_t *resp = respp;
    sl_scram_store_t *st = sl_api_sasl_scram_store(r->api);
    sl_api_scram_all_t all;
    sl_scram_cred_t cred;

    if (st == NULL) {
        return SL_ERR__CLOSED;
    }
    if (!sl_api_authorize_cluster(r, SL_ACL_OP_DESCRIBE)) {
        resp->error_code = (int16_t)SL_ERR_CLUSTER_AUTHORIZATION_FAILED;
        return SL_OK; /* ACLs: DESCRIBE on the cluster */
    }
    if (req->users == NULL || req->users_count < 0) {
        memset(&all, 0, sizeof(all));
        all.arena = r->arena;
        sl_scram_store_each(st, sl_api_scram_collect, &all);
        if (all.nomem) {
            return SL_ERR__NOMEM;
        }
        resp->results = all.res;
        resp->results_count = all.n;
        sl_api_scram_null_messages(resp);
        return SL_OK;
    }
    resp->results = sl_arena_calloc(
        r->arena, req->users_count > 0 ? (size_t)req->users_count : 1,
        sizeof(*resp->results));
    if (resp->results == NULL) {
        return SL_ERR__NOMEM;
    }
    for (int32_t i = 0; i < req->users_count; i++) {
        sl_api_scram_dres_t *res = &resp->results[resp->results_count++];
        sl_str_t u = req->users[i].name;
        char *name = sl_api_scram_name(r->arena, u);
        bool dup = false;
        int k = 0;

        sl_msg_describe_user_scram_credentials_resp_describe_user_scram_credentials_result_init(
            res);
        res->user = u.len >= 0 ? u : sl_api_scram_str("");
        for (int32_t j = 0; j < req->users_count; j++) {
            if (j != i && req->users[j].name.len == u.len && u.len >= 0 &&
                memcmp(req->users[j].name.ptr, u.ptr, (size_t)u.len) == 0) {
                dup = true;
            }
        }
        if (dup) {
            res->error_code = (int16_t)SL_ERR_DUPLICATE_RESOURCE;
            res->error_message = sl_api_scram_str(
                "Cannot describe SCRAM credentials for the same user twice "
                "in a single request");
            continue;
        }
        res->credential_infos =
            sl_arena_calloc(r->arena, 2, sizeof(sl_api_scram_info_t));
        if (res->credential_infos == NULL) {
            return SL_ERR__NOMEM;
        }
        for (int m = SL_SCRAM_SHA_256; name != NULL && m <= SL_SCRAM_SHA_512;
             m++) {
            if (sl_scram_store_get(st, name, (sl_scram_mech_e)m, &cred)) {
                sl_api_scram_info_t *inf = &res->credential_infos[k++];

                sl_msg_describe_user_scram_credentials_resp_credential_info_init(
                    inf);
                inf->mechanism = (int8_t)m;
                inf->iterations = cred.iterations;
            }
        }
        res->credential_infos_count = k;
        if (k == 0) {
            res->error_code = (int16_t)SL_ERR_RESOURCE_NOT_FOUND;
            res->error_message = sl_api_scram_str(
                "Attempt to describe a user credential that does not exist");
        }
    }
    sl_api_scram_null_messages(resp);
    return SL_OK;
}

/* Index of the result for user <u>, adding one in request order. */
static sl_api_scram_ares_t *
sl_api_scram_result(sl_msg_alter_user_scram_credentials_resp_t *resp,
                    sl_str_t u)
{
    sl_api_scram_ares_t *res;

    for (int32_t i = 0; i < resp->results_count; i++) {
        if (resp->results[i].user.len == u.len &&
            (u.len <= 0 ||
             memcmp(resp->results[i].user.ptr, u.ptr, (size_t)u.len) == 0)) {
            return &resp->results[i];
        }
    }
    res = &resp->results[resp->results_count++];
    sl_msg_alter_user_scram_credentials_resp_alter_user_scram_credentials_result_init(
        res);
    res->user = u.len >= 0 ? u : sl_api_scram_str("");
    return res;
}

static void
sl_api_scram_fail(sl_api_scram_ares_t *res, sl_err_t code, const char *msg)
{
    if (res->error_code == 0) {
        res->error_code = (int16_t)code;
        res->error_message = sl_api_scram_str(msg);
    }
}

/* How often user <u> appears among deletions and upsertions. */
static int
sl_api_scram_count(const sl_msg_alter_user_scram_credentials_req_t *req,
                   sl_str_t u)
{
    int n = 0;

    for (int32_t i = 0; i < req->deletions_count; i++) {
        sl_str_t v = req->deletions[i].name;
        n += v.len == u.len &&
             (u.len <= 0 || memcmp(v.ptr, u.ptr, (size_t)u.len) == 0);
    }
    for (int32_t i = 0; i < req->upsertions_count; i++) {
        sl_str_t v = req->upsertions[i].name;
        n += v.len == u.len &&
             (u.len <= 0 || memcmp(v.ptr, u.ptr, (size_t)u.len) == 0);
    }
    return n;
}

sl_err_t
sl_api_alter_user_scram_credentials_handle(sl_api_req_t *r, const void *reqp,
                                           void *respp)
{
    const sl_msg_alter_user_scram_credentials_req_t *req = reqp;
    sl_msg_alter_user_scram_credentials_resp_t *resp = respp;
    sl_scram_store_t *st = sl_api_sasl_scram_store(r->api);
    size_t total =
        (size_t)(req->deletions_count > 0 ? req->deletions_count : 0) +
        (size_t)(req->upsertions_count > 0 ? req->upsertions_count : 0);
    sl_err_t err;

    if (st == NULL) {
        return SL_ERR__CLOSED;
    }
    resp->results = sl_arena_calloc(r->arena, total > 0 ? total : 1,
                                    sizeof(*resp->results));
    if (resp->results == NULL) {
        return SL_ERR__NOMEM;
    }
    if (!sl_api_authorize_cluster(r, SL_ACL_OP_ALTER)) {
        /* ACLs: ALTER on the cluster, else every user is refused */
        for (int32_t i = 0; i < req->deletions_count; i++) {
            sl_api_scram_fail(sl_api_scram_result(resp, req->deletions[i].name),
                              SL_ERR_CLUSTER_AUTHORIZATION_FAILED,
                              "Cluster authorization failed.");
        }
        for (int32_t i = 0; i < req->upsertions_count; i++) {
            sl_api_scram_fail(
                sl_api_scram_result(resp, req->upsertions[i].name),
                SL_ERR_CLUSTER_AUTHORIZATION_FAILED,
                "Cluster authorization failed.");
        }
        return SL_OK;
    }
    for (int32_t i = 0; i < req->deletions_count; i++) {
        const sl_msg_alter_user_scram_credentials_req_scram_credential_deletion_t
            *d = &req->deletions[i];
        sl_api_scram_ares_t *res = sl_api_scram_result(resp, d->name);
        char *name = sl_api_scram_name(r->arena, d->name);

        if (name == NULL) {
            sl_api_scram_fail(res, SL_ERR_UNACCEPTABLE_CREDENTIAL,
                              "Username must not be empty");
        } else if (d->mechanism != SL_SCRAM_SHA_256 &&
                   d->mechanism != SL_SCRAM_SHA_512) {
            sl_api_scram_fail(res, SL_ERR_UNSUPPORTED_SASL_MECHANISM,
                              "Unknown SCRAM mechanism");
        } else if (sl_api_scram_count(req, d->name) > 1) {
            sl_api_scram_fail(res, SL_ERR_DUPLICATE_RESOURCE,
                              "A user credential cannot be altered twice in "
                              "the same request");
        } else if (res->error_code == 0) {
            err =
                sl_scram_store_delete(st, name, (sl_scram_mech_e)d->mechanism);
            if (err == SL_ERR__NOENT) {
                sl_api_scram_fail(res, SL_ERR_RESOURCE_NOT_FOUND,
                                  "Attempt to delete a user credential that "
                                  "does not exist");
            } else if (err != SL_OK) {
                sl_api_scram_fail(res, SL_ERR_UNKNOWN_SERVER_ERROR,
                                  "Cannot persist the credentials");
            } else {
                sl_log_info("scram",
                            "credential deleted user=\"%s\" mechanism=%s", name,
                            sl_scram_mech_name((sl_scram_mech_e)d->mechanism));
            }
        }
    }
    for (int32_t i = 0; i < req->upsertions_count; i++) {
        const sl_msg_alter_user_scram_credentials_req_scram_credential_upsertion_t
            *u = &req->upsertions[i];
        sl_api_scram_ares_t *res = sl_api_scram_result(resp, u->name);
        char *name = sl_api_scram_name(r->arena, u->name);
        size_t want = u->mechanism == SL_SCRAM_SHA_512 ? 64 : 32;

        if (name == NULL) {
            sl_api_scram_fail(res, SL_ERR_UNACCEPTABLE_CREDENTIAL,
                              "Username must not be empty");
        } else if (u->mechanism != SL_SCRAM_SHA_256 &&
                   u->mechanism != SL_SCRAM_SHA_512) {
            sl_api_scram_fail(res, SL_ERR_UNSUPPORTED_SASL_MECHANISM,
                              "Unknown SCRAM mechanism");
        } else if (sl_api_scram_count(req, u->name) > 1) {
            sl_api_scram_fail(res, SL_ERR_DUPLICATE_RESOURCE,
                              "A user credential cannot be altered twice in "
                              "the same request");
        } else if (u->iterations < SL_SCRAM_MIN_ITERATIONS) {
            sl_api_scram_fail(res, SL_ERR_UNACCEPTABLE_CREDENTIAL,
                              "Too few iterations");
        } else if (u->iterations > SL_SCRAM_MAX_ITERATIONS) {
            sl_api_scram_fail(res, SL_ERR_UNACCEPTABLE_CREDENTIAL,
                              "Too many iterations");
        } else if (u->salt.len <= 0 || u->salt.len > 128 ||
                   u->salted_password.len != (int32_t)want) {
            sl_api_scram_fail(res, SL_ERR_UNACCEPTABLE_CREDENTIAL,
                              "Invalid salt or salted password");
        } else if (res->error_code == 0) {
            err = sl_scram_store_upsert(
                st, name, (sl_scram_mech_e)u->mechanism, u->iterations,
                u->salt.ptr, (size_t)u->salt.len, u->salted_password.ptr,
                (size_t)u->salted_password.len);
            if (err != SL_OK) {
                sl_api_scram_fail(res, SL_ERR_UNKNOWN_SERVER_ERROR,
                                  "Cannot persist the credentials");
            } else {
                sl_log_info("scram", "credential set user=\"%s\" mechanism=%s",
                            name,
                            sl_scram_mech_name((sl_scram_mech_e)u->mechanism));
            }
        }
    }
    for (int32_t i = 0; i < resp->results_count; i++) {
        if (resp->results[i].error_code == 0) {
            resp->results[i].error_message.ptr = NULL;
            resp->results[i].error_message.len = -1;
        }
    }
    return SL_OK;
}
