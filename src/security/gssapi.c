/*
 * security/gssapi.c: the GSSAPI mechanism through cyrus-sasl (see
 * gssapi.h): sasl_server_init once, sasl_server_new per exchange, then
 * sasl_server_start and sasl_server_step; the authenticated name comes
 * from SASL_USERNAME. No security layer is negotiated (Kafka uses none):
 * the maximum SSF is 0, so after authentication the stream is plain Kafka
 * frames (inside TLS on SASL_SSL).
 */
#include "security/gssapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

bool
sl_gssapi_short_name(const char *principal, char *out, size_t cap)
{
    size_t n = strcspn(principal, "/@");

    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(out, principal, n);
    out[n] = '\0';
    return true;
}

#ifdef SL_HAVE_CYRUS_SASL

#include <sasl/sasl.h>

struct sl_gssapi_s {
    sasl_conn_t *conn;
    bool started;
};

static pthread_mutex_t sl_gssapi_lock = PTHREAD_MUTEX_INITIALIZER;
static int sl_gssapi_inited; /* 1 ok, -1 failed */

bool
sl_gssapi_available(void)
{
    return true;
}

/* cyrus-sasl's log lines into ours. */
static int
sl_gssapi_log_cb(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= SASL_LOG_ERR) {
        sl_log_warn("gssapi", "cyrus-sasl: %s", msg);
    } else if (level <= SASL_LOG_NOTE) {
        sl_log_info("gssapi", "cyrus-sasl: %s", msg);
    } else {
        sl_log_debug("gssapi", "cyrus-sasl: %s", msg);
    }
    return SASL_OK;
}

/* Options cyrus-sasl asks for: none from a config file, so a stray
 * /etc/sasl2/sluice.conf cannot enable other mechanisms or auxprop. */
static int
sl_gssapi_getopt_cb(void *ctx, const char *plugin, const char *option,
                    const char **result, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (strcmp(option, "mech_list") == 0) {
        *result = "GSSAPI";
        if (len != NULL) {
            *len = 6;
        }
        return SASL_OK;
    }
    return SASL_FAIL;
}

static const sasl_callback_t sl_gssapi_callbacks[] = {
    {SASL_CB_LOG, (int (*)(void))(void (*)(void))sl_gssapi_log_cb, NULL},
    {SASL_CB_GETOPT, (int (*)(void))(void (*)(void))sl_gssapi_getopt_cb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

sl_err_t
sl_gssapi_init(const char *keytab, const char **why)
{
    int rc;

    pthread_mutex_lock(&sl_gssapi_lock);
    if (sl_gssapi_inited == 0) {
        if (keytab != NULL && keytab[0] != '\0') {
            setenv("KRB5_KTNAME", keytab, 1);
        }
        rc = sasl_server_init(sl_gssapi_callbacks, "sluice");
        sl_gssapi_inited = rc == SASL_OK ? 1 : -1;
        if (rc != SASL_OK) {
            sl_log_error("gssapi", "sasl_server_init failed: %s",
                         sasl_errstring(rc, NULL, NULL));
        }
    }
    rc = sl_gssapi_inited;
    pthread_mutex_unlock(&sl_gssapi_lock);
    if (rc != 1) {
        *why = "cyrus-sasl could not be initialised";
        return SL_ERR__INVAL;
    }
    return SL_OK;
}

sl_gssapi_t *
sl_gssapi_new(const char *service, const char *host, const char **why)
{
    sasl_security_properties_t sp;
    sl_gssapi_t *g = calloc(1, sizeof(*g));
    int rc;

    if (g == NULL) {
        *why = "out of memory";
        return NULL;
    }
    pthread_mutex_lock(&sl_gssapi_lock);
    rc = sasl_server_new(service, host, NULL, NULL, NULL, NULL, 0, &g->conn);
    if (rc == SASL_OK) {
        memset(&sp, 0, sizeof(sp));
        sp.min_ssf = 0;
        sp.max_ssf = 0; /* authentication only, as Kafka */
        sp.maxbufsize = 0;
        rc = sasl_setprop(g->conn, SASL_SEC_PROPS, &sp);
    }
    pthread_mutex_unlock(&sl_gssapi_lock);
    if (rc != SASL_OK) {
        *why = "cannot start a GSSAPI exchange";
        sl_gssapi_free(g);
        return NULL;
    }
    return g;
}

void
sl_gssapi_free(sl_gssapi_t *g)
{
    if (g == NULL) {
        return;
    }
    if (g->conn != NULL) {
        pthread_mutex_lock(&sl_gssapi_lock);
        sasl_dispose(&g->conn);
        pthread_mutex_unlock(&sl_gssapi_lock);
    }
    free(g);
}

sl_err_t
sl_gssapi_step(sl_gssapi_t *g, const uint8_t *in, size_t inlen, char *out,
               size_t cap, size_t *outlen, bool *done, char *user,
               size_t usercap, const char **why)
{
    const char *reply = NULL;
    unsigned rlen = 0;
    const void *name = NULL;
    int rc;

    *done = false;
    *outlen = 0;
    *why = "Authentication failed: GSSAPI exchange failed";
    if (inlen > 65536) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    pthread_mutex_lock(&sl_gssapi_lock);
    if (!g->started) {
        g->started = true;
        rc = sasl_server_start(g->conn, "GSSAPI", (const char *)in,
                               (unsigned)inlen, &reply, &rlen);
    } else {
        rc = sasl_server_step(g->conn, (const char *)in, (unsigned)inlen,
                              &reply, &rlen);
    }
    if (rc == SASL_OK) {
        if (sasl_getprop(g->conn, SASL_USERNAME, &name) != SASL_OK) {
            name = NULL;
        }
    } else if (rc != SASL_CONTINUE) {
        sl_log_info("gssapi", "GSSAPI step failed: %s",
                    sasl_errdetail(g->conn));
    }
    if ((rc == SASL_OK || rc == SASL_CONTINUE) && rlen > cap) {
        rc = SASL_FAIL;
    }
    if (rc == SASL_OK || rc == SASL_CONTINUE) {
        if (rlen > 0) {
            memcpy(out, reply, rlen);
        }
        *outlen = rlen;
    }
    pthread_mutex_unlock(&sl_gssapi_lock);
    if (rc == SASL_CONTINUE) {
        return SL_OK;
    }
    if (rc != SASL_OK) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (name == NULL || !sl_gssapi_short_name(name, user, usercap)) {
        *why = "Authentication failed: no usable Kerberos principal name";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    *done = true;
    return SL_OK;
}

#else /* no cyrus-sasl */

bool
sl_gssapi_available(void)
{
    return false;
}

sl_err_t
sl_gssapi_init(const char *keytab, const char **why)
{
    (void)keytab;
    *why = "this build has no cyrus-sasl (libsasl2-dev was missing)";
    return SL_ERR__INVAL;
}

sl_gssapi_t *
sl_gssapi_new(const char *service, const char *host, const char **why)
{
    (void)service;
    (void)host;
    *why = "this build has no GSSAPI support";
    return NULL;
}

void
sl_gssapi_free(sl_gssapi_t *g)
{
    (void)g;
}

sl_err_t
sl_gssapi_step(sl_gssapi_t *g, const uint8_t *in, size_t inlen, char *out,
               size_t cap, size_t *outlen, bool *done, char *user,
               size_t usercap, const char **why)
{
    (void)g;
    (void)in;
    (void)inlen;
    (void)out;
    (void)cap;
    (void)user;
    (void)usercap;
    *outlen = 0;
    *done = false;
    *why = "Authentication failed: GSSAPI is not supported by this build";
    return SL_ERR_SASL_AUTHENTICATION_FAILED;
}

#endif
