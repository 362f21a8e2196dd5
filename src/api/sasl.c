/*
 * api/sasl.c: SaslHandshake (17) and SaslAuthenticate (36), the raw token
 * framing after a v0 handshake, and the gate that serves nothing but
 * ApiVersions and the SASL APIs before a connection on a SASL_PLAINTEXT or
 * SASL_SSL listener has authenticated.
 *
 * Per listener (by position in `listeners`): the enabled mechanisms
 * (listener.name.<l>.sasl.enabled.mechanisms, else sasl.enabled.mechanisms)
 * the PLAIN users (listener.name.<l>.plain.sasl.jaas.config, else
 * sasl.jaas.config), OAUTHBEARER's validator (a JWKS file switches it from
 * unsecured to signed tokens) and GSSAPI's service, host and keytab,
 * built once at start and read-only after.
 *
 * Owns: api->sasl. Thread: handlers run on workers; a connection's
 * requests run one at a time, so its auth state needs no lock.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/purgatory.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/gen/sasl_authenticate.h"
#include "proto/gen/sasl_handshake.h"
#include "security/gssapi.h"
#include "security/oauth.h"
#include "security/sasl.h"
#include "security/scram.h"

#define SL_API_SASL_MAX_MECHS 4
#define SL_API_SASL_REPLY_MAX 1024 /* a server SCRAM message */

typedef struct sl_api_sasl_listener_s {
    char mechs[SL_API_SASL_MAX_MECHS][32];
    int nmechs;
    sl_sasl_users_t *plain_users;
    sl_jwks_t *jwks;            /* OAUTHBEARER signed tokens, or NULL */
    char krb_service[64];       /* GSSAPI: sasl.kerberos.service.name */
    char krb_host[256];         /* GSSAPI: host of the broker principal */
    sl_oauth_validator_t oauth; /* strings point into the config */
} sl_api_sasl_listener_t;

struct sl_api_sasl_s {
    sl_api_sasl_listener_t l[SL_SERVER_MAX_LISTENERS];
    int n;
    sl_scram_store_t *scram;
    /* Failure log rate limit: lines in the current second. */
    atomic_llong log_sec;
    atomic_int log_count;
    atomic_int log_suppressed;
};

#define SL_API_SASL_LOG_PER_SEC 10

/* Setting <key> of listener <name>: the listener.name.<lower>.<key> form
 * first, then <fallback> (a table key) when given. */
static const char *
sl_api_sasl_opt(const sl_config_t *cfg, const char *name, const char *key,
                const char *fallback)
{
    char full[256];
    size_t n;

    n = (size_t)snprintf(full, sizeof(full), "listener.name.%s.", name);
    if (n < sizeof(full)) {
        for (size_t i = 14; i < n; i++) {
            full[i] = (char)tolower((unsigned char)full[i]);
        }
        snprintf(full + n, sizeof(full) - n, "%s", key);
        if (sl_config_is_set(cfg, full)) {
            return sl_config_str(cfg, full);
        }
    }
    return fallback != NULL ? sl_config_str(cfg, fallback) : NULL;
}

static bool sl_api_sasl_enabled(const sl_api_sasl_listener_t *l, const char *m,
                                size_t mlen);

/* OAUTHBEARER's validator of listener <name>: each key as
 * listener.name.<l>.oauthbearer.<key> (Kafka's per-mechanism form) or
 * broker-wide. A JWKS location makes it validate signed JWTs. */
static sl_err_t
sl_api_sasl_oauth_init(const sl_config_t *cfg, const char *name,
                       sl_api_sasl_listener_t *l)
{
    const char *url, *skew, *why = NULL;
    char *end;
    long secs;

    url = sl_api_sasl_opt(cfg, name,
                          "oauthbearer.sasl.oauthbearer.jwks.endpoint.url",
                          "sasl.oauthbearer.jwks.endpoint.url");
    l->oauth.audience = sl_api_sasl_opt(
        cfg, name, "oauthbearer.sasl.oauthbearer.expected.audience",
        "sasl.oauthbearer.expected.audience");
    l->oauth.issuer = sl_api_sasl_opt(
        cfg, name, "oauthbearer.sasl.oauthbearer.expected.issuer",
        "sasl.oauthbearer.expected.issuer");
    l->oauth.sub_claim = sl_api_sasl_opt(
        cfg, name, "oauthbearer.sasl.oauthbearer.sub.claim.name",
        "sasl.oauthbearer.sub.claim.name");
    skew = sl_api_sasl_opt(cfg, name,
                           "oauthbearer.sasl.oauthbearer.clock.skew.seconds",
                           "sasl.oauthbearer.clock.skew.seconds");
    secs = skew != NULL ? strtol(skew, &end, 10) : 30;
    if (skew != NULL && (*end != '\0' || secs < 0 || secs > 86400)) {
        sl_log_error("config",
                     "invalid sasl.oauthbearer.clock.skew.seconds listener=%s "
                     "value=%s",
                     name, skew);
        return SL_ERR__INVAL;
    }
    l->oauth.skew_ms = (int64_t)secs * 1000;
    if (url == NULL || url[0] == '\0') {
        return SL_OK; /* unsecured tokens */
    }
    l->jwks = sl_jwks_load(url, &why);
    if (l->jwks == NULL) {
        sl_log_error("config",
                     "cannot load sasl.oauthbearer.jwks.endpoint.url "
                     "listener=%s url=%s: %s",
                     name, url, why);
        return SL_ERR__INVAL;
    }
    l->oauth.jwks = l->jwks;
    sl_log_info("sasl",
                "OAUTHBEARER validates signed tokens listener=%s jwks=%s "
                "keys=%zu skipped=%zu",
                name, url, sl_jwks_count(l->jwks), sl_jwks_skipped(l->jwks));
    return SL_OK;
}

/* GSSAPI of listener <name>: the broker's keytab and principal from
 * listener.name.<l>.gssapi.sasl.jaas.config (Krb5LoginModule keyTab= and
 * principal="service/host@REALM"), else sasl.jaas.config; the service
 * from sasl.kerberos.service.name, else the principal's primary. */
static sl_err_t
sl_api_sasl_gssapi_init(const sl_config_t *cfg, const char *name,
                        sl_api_sasl_listener_t *l)
{
    const char *jaas, *svc, *why = NULL;
    char keytab[512] = "", principal[320] = "";
    size_t n;

    jaas = sl_api_sasl_opt(cfg, name, "gssapi.sasl.jaas.config",
                           "sasl.jaas.config");
    (void)sl_sasl_jaas_option(jaas, "keyTab", keytab, sizeof(keytab));
    (void)sl_sasl_jaas_option(jaas, "principal", principal, sizeof(principal));
    svc = sl_api_sasl_opt(cfg, name, "sasl.kerberos.service.name",
                          "sasl.kerberos.service.name");
    if (svc == NULL || svc[0] == '\0') {
        if (!sl_gssapi_short_name(principal, l->krb_service,
                                  sizeof(l->krb_service))) {
            sl_log_error("config",
                         "GSSAPI needs sasl.kerberos.service.name (or a "
                         "principal in the gssapi JAAS line) listener=%s",
                         name);
            return SL_ERR__INVAL;
        }
    } else {
        snprintf(l->krb_service, sizeof(l->krb_service), "%s", svc);
    }
    n = strcspn(principal, "/@");
    if (principal[n] == '/') {
        size_t h = strcspn(principal + n + 1, "@");

        if (h > 0 && h < sizeof(l->krb_host)) {
            memcpy(l->krb_host, principal + n + 1, h);
            l->krb_host[h] = '\0';
        }
    }
    if (sl_gssapi_init(keytab[0] != '\0' ? keytab : NULL, &why) != SL_OK) {
        sl_log_error("config", "GSSAPI unavailable listener=%s: %s", name, why);
        return SL_ERR__INVAL;
    }
    sl_log_info(
        "sasl", "GSSAPI enabled listener=%s service=%s host=%s keytab=%s", name,
        l->krb_service, l->krb_host[0] != '\0' ? l->krb_host : "(this machine)",
        keytab[0] != '\0' ? keytab : "(Kerberos default)");
    return SL_OK;
}

static sl_err_t
sl_api_sasl_listener_init(const sl_config_t *cfg, const char *name,
                          sl_api_sasl_listener_t *l)
{
    const char *mechs = sl_api_sasl_opt(cfg, name, "sasl.enabled.mechanisms",
                                        "sasl.enabled.mechanisms");
    const char *p = mechs != NULL ? mechs : "", *why = NULL, *jaas;
    size_t len;

    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        len = strcspn(p, ", ");
        if (len == 0) {
            break;
        }
        if ((len != 5 || strncmp(p, "PLAIN", len) != 0) &&
            (len != 11 || strncmp(p, "OAUTHBEARER", len) != 0) &&
            (len != 6 || strncmp(p, "GSSAPI", len) != 0 ||
             !sl_gssapi_available()) &&
            sl_scram_mech_parse(p, len) == 0) {
            sl_log_warn("config",
                        "SASL mechanism not supported yet, ignored "
                        "listener=%s mechanism=%.*s",
                        name, (int)len, p);
        } else if (l->nmechs < SL_API_SASL_MAX_MECHS) {
            snprintf(l->mechs[l->nmechs++], sizeof(l->mechs[0]), "%.*s",
                     (int)len, p);
        }
        p += len;
    }
    jaas = sl_api_sasl_opt(cfg, name, "plain.sasl.jaas.config",
                           "sasl.jaas.config");
    l->plain_users = sl_sasl_users_parse(jaas, &why);
    if (l->plain_users == NULL) {
        sl_log_error("config", "invalid PLAIN sasl.jaas.config listener=%s: %s",
                     name, why);
        return SL_ERR__INVAL;
    }
    if (sl_api_sasl_enabled(l, "OAUTHBEARER", 11) &&
        sl_api_sasl_oauth_init(cfg, name, l) != SL_OK) {
        return SL_ERR__INVAL;
    }
    if (sl_api_sasl_enabled(l, "GSSAPI", 6)) {
        return sl_api_sasl_gssapi_init(cfg, name, l);
    }
    return SL_OK;
}

sl_err_t
sl_api_sasl_create(sl_api_t *api)
{
    sl_listener_spec_t specs[SL_SERVER_MAX_LISTENERS];
    const char *why = NULL;
    int n;

    api->sasl = calloc(1, sizeof(*api->sasl));
    if (api->sasl == NULL) {
        return SL_ERR__NOMEM;
    }
    if (sl_scram_store_open(api->data_dir, &api->sasl->scram) != SL_OK) {
        return SL_ERR__IO;
    }
    n = sl_server_parse_listeners(sl_config_str(api->cfg, "listeners"), specs,
                                  SL_SERVER_MAX_LISTENERS, &why);
    for (int i = 0; i < n; i++) {
        if (sl_api_sasl_listener_init(api->cfg, specs[i].name,
                                      &api->sasl->l[i]) != SL_OK) {
            return SL_ERR__INVAL;
        }
        api->sasl->n = i + 1;
    }
    return SL_OK;
}

void
sl_api_sasl_destroy(sl_api_t *api)
{
    if (api->sasl == NULL) {
        return;
    }
    for (int i = 0; i < SL_SERVER_MAX_LISTENERS; i++) {
        sl_sasl_users_free(api->sasl->l[i].plain_users);
        sl_jwks_free(api->sasl->l[i].jwks);
    }
    sl_scram_store_close(api->sasl->scram);
    free(api->sasl);
    api->sasl = NULL;
}

struct sl_scram_store_s *
sl_api_sasl_scram_store(sl_api_t *api)
{
    return api->sasl != NULL ? api->sasl->scram : NULL;
}

/* The exchange of one connection, from SaslHandshake on. */
typedef struct sl_api_sasl_conn_s {
    int scram;                   /* sl_scram_mech_e, 0 for PLAIN */
    bool oauth;                  /* OAUTHBEARER */
    int64_t expiry_ms;           /* session end (KIP-368), 0: none */
    char reauth_principal[320];  /* re-authentication: must stay the same */
    sl_scram_server_t *exchange; /* SCRAM */
    sl_gssapi_t *gss;            /* GSSAPI */
} sl_api_sasl_conn_t;

static void
sl_api_sasl_conn_free(void *p)
{
    sl_api_sasl_conn_t *sc = p;

    if (sc != NULL) {
        sl_scram_server_free(sc->exchange);
        sl_gssapi_free(sc->gss);
        free(sc);
    }
}

static const sl_api_sasl_listener_t *
sl_api_sasl_listener(sl_api_t *api, sl_conn_t *c)
{
    int i = sl_conn_listener(c);

    if (api->sasl == NULL || i < 0 || i >= api->sasl->n) {
        return NULL;
    }
    return &api->sasl->l[i];
}

static bool
sl_api_sasl_enabled(const sl_api_sasl_listener_t *l, const char *m, size_t mlen)
{
    for (int i = 0; l != NULL && i < l->nmechs; i++) {
        if (strlen(l->mechs[i]) == mlen && memcmp(l->mechs[i], m, mlen) == 0) {
            return true;
        }
    }
    return false;
}

/* Log a failed authentication, at most SL_API_SASL_LOG_PER_SEC a second. */
static void
sl_api_sasl_log_failure(sl_api_t *api, sl_conn_t *c, const char *user,
                        const char *why)
{
    long long now = (long long)time(NULL);
    long long prev = atomic_load(&api->sasl->log_sec);
    int k;

    if (prev != now &&
        atomic_compare_exchange_strong(&api->sasl->log_sec, &prev, now)) {
        k = atomic_exchange(&api->sasl->log_suppressed, 0);
        atomic_store(&api->sasl->log_count, 0);
        if (k > 0) {
            sl_log_warn("sasl", "%d failed authentication(s) not logged", k);
        }
    }
    if (atomic_fetch_add(&api->sasl->log_count, 1) >= SL_API_SASL_LOG_PER_SEC) {
        atomic_fetch_add(&api->sasl->log_suppressed, 1);
        return;
    }
    sl_log_warn("sasl",
                "failed authentication peer=%s listener=%d user=\"%s\" "
                "reason=\"%s\"",
                sl_conn_peer(c), sl_conn_listener(c), user, why);
}

/*
 * Run one PLAIN exchange on token <p>/<len>. On success the connection is
 * authenticated as User:<name>. @returns true on success, else false with
 * *why set to the message for the client.
 */
/* The exchange succeeded for <principal>: the connection is authenticated
 * (a re-authentication must keep the principal). @returns false with *why
 * set when it may not. */
static bool
sl_api_sasl_done(sl_api_t *api, sl_conn_t *c, const char *principal,
                 const char *mech, const char **why)
{
    sl_api_sasl_conn_t *sc = sl_conn_sasl_state(c);
    int64_t reauth = sl_config_long(api->cfg, "connections.max.reauth.ms");

    if (sc != NULL && sc->reauth_principal[0] != '\0' &&
        strcmp(sc->reauth_principal, principal) != 0) {
        *why = "Authentication failed: cannot change principals during "
               "re-authentication";
        sl_api_sasl_log_failure(api, c, principal, *why);
        return false;
    }
    sl_conn_set_principal(c, principal);
    sl_conn_set_auth_state(c, SL_CONN_AUTH_DONE);
    if (sc != NULL) {
        sc->expiry_ms = reauth > 0 ? sl_now_ms() + reauth : 0;
    }
    sl_log_debug("sasl", "authenticated peer=%s principal=%s mechanism=%s",
                 sl_conn_peer(c), principal, mech);
    return true;
}

static bool
sl_api_sasl_plain(sl_api_t *api, sl_conn_t *c, const uint8_t *p, size_t len,
                  const char **why)
{
    const sl_api_sasl_listener_t *l = sl_api_sasl_listener(api, c);
    sl_sasl_plain_t msg;
    char principal[300];

    if (sl_sasl_plain_parse(p, len, &msg, why) != SL_OK) {
        sl_api_sasl_log_failure(api, c, msg.authcid, *why);
        return false;
    }
    if (l == NULL || !sl_sasl_users_check(l->plain_users, msg.authcid,
                                          msg.passwd, msg.passwd_len)) {
        *why = "Authentication failed: Invalid username or password";
        sl_api_sasl_log_failure(api, c, msg.authcid, *why);
        return false;
    }
    snprintf(principal, sizeof(principal), "User:%s", msg.authcid);
    return sl_api_sasl_done(api, c, principal, "PLAIN", why);
}

/*
 * One step of the connection's exchange with client token <p>/<len>. The
 * reply token (possibly empty) goes to <out>/<outlen>. @returns SL_OK
 * (authenticated once the state is DONE), or an error with *why for the
 * client.
 */
static sl_err_t
sl_api_sasl_step(sl_api_t *api, sl_conn_t *c, const uint8_t *p, size_t len,
                 char *out, size_t outcap, size_t *outlen, const char **why)
{
    sl_api_sasl_conn_t *sc = sl_conn_sasl_state(c);
    const char *user = NULL;
    char principal[300];
    bool done = false;
    sl_err_t err;

    *outlen = 0;
    if (sc != NULL && sc->oauth) {
        const sl_api_sasl_listener_t *l = sl_api_sasl_listener(api, c);
        struct timespec ts;
        char name[256];

        clock_gettime(CLOCK_REALTIME, &ts);
        if (sl_oauth_validate(l != NULL ? &l->oauth : NULL, p, len,
                              (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                              name, sizeof(name), why) != SL_OK) {
            sl_api_sasl_log_failure(api, c, "", *why);
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
        snprintf(principal, sizeof(principal), "User:%s", name);
        return sl_api_sasl_done(api, c, principal, "OAUTHBEARER", why)
                   ? SL_OK
                   : SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (sc != NULL && sc->gss != NULL) {
        char name[256];

        if (sl_gssapi_step(sc->gss, p, len, out, outcap, outlen, &done, name,
                           sizeof(name), why) != SL_OK) {
            sl_api_sasl_log_failure(api, c, "", *why);
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
        if (!done) {
            return SL_OK;
        }
        snprintf(principal, sizeof(principal), "User:%s", name);
        return sl_api_sasl_done(api, c, principal, "GSSAPI", why)
                   ? SL_OK
                   : SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (sc == NULL || sc->scram == 0) {
        return sl_api_sasl_plain(api, c, p, len, why)
                   ? SL_OK
                   : SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    err = sl_scram_server_step(sc->exchange, p, len, out, outcap, outlen, &done,
                               &user, why);
    if (err != SL_OK) {
        sl_api_sasl_log_failure(api, c, "", *why);
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (done) {
        snprintf(principal, sizeof(principal), "User:%s", user);
        if (!sl_api_sasl_done(api, c, principal,
                              sl_scram_mech_name((sl_scram_mech_e)sc->scram),
                              why)) {
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
    }
    return SL_OK;
}

sl_err_t
sl_api_sasl_handshake_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_sasl_handshake_req_t *req = reqp;
    sl_msg_sasl_handshake_resp_t *resp = respp;
    sl_conn_t *c = r->req->conn;
    const sl_api_sasl_listener_t *l = sl_api_sasl_listener(r->api, c);
    int n = l != NULL ? l->nmechs : 0;
    sl_api_sasl_conn_t *sc, *old;
    bool reauth;

    resp->mechanisms = sl_arena_calloc(r->arena, n > 0 ? (size_t)n : 1,
                                       sizeof(*resp->mechanisms));
    if (resp->mechanisms == NULL) {
        return SL_ERR__NOMEM;
    }
    for (int i = 0; i < n; i++) {
        resp->mechanisms[i].ptr = l->mechs[i];
        resp->mechanisms[i].len = (int32_t)strlen(l->mechs[i]);
    }
    resp->mechanisms_count = n;
    old = sl_conn_sasl_state(c);
    reauth = sl_conn_auth_state(c) == SL_CONN_AUTH_DONE && old != NULL &&
             old->expiry_ms > 0;
    if (sl_conn_auth_state(c) != SL_CONN_AUTH_START && !reauth) {
        resp->error_code = (int16_t)SL_ERR_ILLEGAL_SASL_STATE;
        r->close_after = true;
        return SL_OK;
    }
    if (req->mechanism.len <= 0 ||
        !sl_api_sasl_enabled(l, req->mechanism.ptr,
                             (size_t)req->mechanism.len)) {
        sl_log_warn("sasl",
                    "unsupported SASL mechanism peer=%s mechanism=\"%.*s\"",
                    sl_conn_peer(c),
                    req->mechanism.len > 0 ? (int)req->mechanism.len : 0,
                    req->mechanism.len > 0 ? req->mechanism.ptr : "");
        resp->error_code = (int16_t)SL_ERR_UNSUPPORTED_SASL_MECHANISM;
        r->close_after = true;
        return SL_OK;
    }
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL) {
        return SL_ERR__NOMEM;
    }
    sc->scram =
        sl_scram_mech_parse(req->mechanism.ptr, (size_t)req->mechanism.len);
    if (reauth) {
        snprintf(sc->reauth_principal, sizeof(sc->reauth_principal), "%s",
                 sl_conn_principal(c));
    }
    sc->oauth = req->mechanism.len == 11 &&
                memcmp(req->mechanism.ptr, "OAUTHBEARER", 11) == 0;
    if (req->mechanism.len == 6 &&
        memcmp(req->mechanism.ptr, "GSSAPI", 6) == 0) {
        const char *why = NULL;

        sc->gss = sl_gssapi_new(
            l->krb_service, l->krb_host[0] != '\0' ? l->krb_host : NULL, &why);
        if (sc->gss == NULL) {
            sl_log_warn("sasl", "GSSAPI exchange not started peer=%s: %s",
                        sl_conn_peer(c), why);
            free(sc);
            return SL_ERR__NOMEM;
        }
    }
    if (sc->scram != 0) {
        sc->exchange = sl_scram_server_new((sl_scram_mech_e)sc->scram,
                                           r->api->sasl->scram);
        if (sc->exchange == NULL) {
            free(sc);
            return SL_ERR__NOMEM;
        }
    }
    sl_conn_set_sasl_state(c, sc, sl_api_sasl_conn_free);
    sl_conn_set_auth_state(c,
                           r->version >= 1 ? SL_CONN_AUTH_V1 : SL_CONN_AUTH_V0);
    return SL_OK;
}

/* A failed SaslAuthenticate answered after
 * connection.failed.authentication.delay.ms, as Kafka does, to slow down
 * password guessing without holding a worker. */
typedef struct sl_api_sasl_delay_s {
    sl_delayed_t d;
    sl_api_req_t *r;
} sl_api_sasl_delay_t;

static void
sl_api_sasl_delay_try(sl_delayed_t *d)
{
    (void)d; /* only the deadline completes it */
}

static void
sl_api_sasl_delay_expire(sl_delayed_t *d)
{
    sl_api_sasl_delay_t *x = (sl_api_sasl_delay_t *)d;

    if (sl_delayed_complete(d)) {
        sl_api_finish(x->r, SL_OK);
    }
}

static void
sl_api_sasl_delay_free(sl_delayed_t *d)
{
    free(d);
}

/* Park the (failed) response <r> for the configured delay.
 * @returns SL_ERR__AGAIN when parked, SL_OK to answer at once. */
static sl_err_t
sl_api_sasl_delay(sl_api_req_t *r)
{
    int64_t ms = sl_config_long(r->api->cfg,
                                "connection.failed.authentication.delay.ms");
    sl_api_sasl_delay_t *x;

    if (ms <= 0 || r->api->fetch_purgatory == NULL) {
        return SL_OK;
    }
    x = calloc(1, sizeof(*x));
    if (x == NULL) {
        return SL_OK;
    }
    sl_delayed_init(&x->d);
    x->d.try_complete = sl_api_sasl_delay_try;
    x->d.on_expire = sl_api_sasl_delay_expire;
    x->d.free = sl_api_sasl_delay_free;
    x->d.deadline_ms = sl_now_ms() + ms;
    x->r = r;
    if (sl_purgatory_watch(r->api->fetch_purgatory, &x->d, NULL, 0) != SL_OK) {
        sl_delayed_unref(&x->d);
        return SL_OK;
    }
    sl_delayed_unref(&x->d);
    return SL_ERR__AGAIN;
}

sl_err_t
sl_api_sasl_authenticate_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_sasl_authenticate_req_t *req = reqp;
    sl_msg_sasl_authenticate_resp_t *resp = respp;
    sl_conn_t *c = r->req->conn;
    const char *why = NULL;
    size_t outlen = 0;
    char *out;

    if (sl_conn_auth_state(c) != SL_CONN_AUTH_V1) {
        resp->error_code = (int16_t)SL_ERR_ILLEGAL_SASL_STATE;
        resp->error_message.ptr =
            "SaslAuthenticate is only accepted after SaslHandshake v1";
        resp->error_message.len = (int32_t)strlen(resp->error_message.ptr);
        r->close_after = true;
        return SL_OK;
    }
    out = sl_arena_alloc(r->arena, SL_API_SASL_REPLY_MAX);
    if (out == NULL) {
        return SL_ERR__NOMEM;
    }
    if (sl_api_sasl_step(r->api, c, req->auth_bytes.ptr,
                         req->auth_bytes.len > 0 ? (size_t)req->auth_bytes.len
                                                 : 0,
                         out, SL_API_SASL_REPLY_MAX, &outlen, &why) != SL_OK) {
        resp->error_code = (int16_t)SL_ERR_SASL_AUTHENTICATION_FAILED;
        resp->error_message.ptr = why;
        resp->error_message.len = (int32_t)strlen(why);
        r->close_after = true;
        return sl_api_sasl_delay(r);
    }
    resp->auth_bytes.ptr = (const uint8_t *)out;
    resp->auth_bytes.len = (int32_t)outlen;
    if (sl_conn_auth_state(c) == SL_CONN_AUTH_DONE && r->version >= 1) {
        int64_t reauth =
            sl_config_long(r->api->cfg, "connections.max.reauth.ms");

        resp->session_lifetime_ms = reauth > 0 ? reauth : 0;
    }
    return SL_OK;
}

sl_err_t
sl_api_sasl_gate(sl_api_t *api, sl_req_t *q, bool *handled)
{
    sl_conn_t *c = q->conn;
    sl_conn_auth_e st = sl_conn_auth_state(c);
    const char *why = NULL;
    int16_t key;

    *handled = false;
    if (st == SL_CONN_AUTH_DONE) {
        sl_api_sasl_conn_t *sc = sl_conn_sasl_state(c);

        if (sc == NULL || sc->expiry_ms <= 0 || sl_now_ms() <= sc->expiry_ms) {
            return SL_OK;
        }
        key = q->len >= 2 ? (int16_t)((q->frame[0] << 8) | q->frame[1]) : -1;
        if (key == 17 || key == 36 || key == 18) {
            return SL_OK; /* re-authentication (KIP-368) */
        }
        sl_log_info("sasl",
                    "closing connection peer=%s reason=\"SASL session expired "
                    "(connections.max.reauth.ms) without re-authentication\"",
                    sl_conn_peer(c));
        *handled = true;
        return SL_ERR__CLOSED;
    }
    if (st == SL_CONN_AUTH_V0) {
        /* A raw SASL token, answered by a raw (size-prefixed) token; a
         * failure closes the connection, as v0 has no error field. */
        char out[SL_API_SASL_REPLY_MAX];
        size_t outlen = 0;
        uint8_t hdr[4];

        *handled = true;
        if (sl_api_sasl_step(api, c, q->frame, q->len, out, sizeof(out),
                             &outlen, &why) != SL_OK) {
            return SL_ERR__CLOSED;
        }
        hdr[0] = (uint8_t)(outlen >> 24);
        hdr[1] = (uint8_t)(outlen >> 16);
        hdr[2] = (uint8_t)(outlen >> 8);
        hdr[3] = (uint8_t)outlen;
        if (sl_out_append(&q->out, hdr, 4) != SL_OK ||
            sl_out_append(&q->out, out, outlen) != SL_OK) {
            return SL_ERR__NOMEM;
        }
        return SL_OK;
    }
    if (q->len < 2) {
        return SL_OK; /* the caller rejects a short header */
    }
    key = (int16_t)((q->frame[0] << 8) | q->frame[1]);
    if (key == 18 || key == 17 || key == 36) {
        return SL_OK;
    }
    sl_log_warn("sasl",
                "closing connection peer=%s reason=\"request key=%d before "
                "SASL authentication\"",
                sl_conn_peer(c), key);
    *handled = true;
    return SL_ERR__CLOSED;
}
