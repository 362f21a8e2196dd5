/*
 * security/gssapi.h: SASL/GSSAPI (Kerberos V5, RFC 4752) on the broker
 * side through cyrus-sasl's server API and its GSSAPI plugin (MIT
 * Kerberos). The broker's key comes from a keytab; the client's Kerberos
 * principal is mapped to a short name as Kafka's default
 * sasl.kerberos.principal.to.local.rules (DEFAULT) does: the primary,
 * without instance or realm (alice/admin@EXAMPLE.COM gives alice).
 *
 * Builds without cyrus-sasl (SL_HAVE_CYRUS_SASL unset) have only the
 * stubs: sl_gssapi_available() is false and the mechanism is not offered.
 *
 * Owns: the process-wide cyrus-sasl server state (sl_gssapi_init, once)
 * and each exchange (sl_gssapi_t). Exchanges are serialised by one mutex:
 * cyrus-sasl's plugins are not documented as thread-safe.
 */
#ifndef SL_SECURITY_GSSAPI_H
#define SL_SECURITY_GSSAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_gssapi_s sl_gssapi_t;

/* Whether this build has GSSAPI (cyrus-sasl) support. */
bool sl_gssapi_available(void);

/*
 * Initialise cyrus-sasl's server side once per process, with the broker's
 * keytab <keytab> (NULL: the Kerberos default, KRB5_KTNAME or
 * /etc/krb5.keytab). Call before any thread reads the environment: the
 * keytab is handed to Kerberos through KRB5_KTNAME.
 * @returns SL_OK, or SL_ERR__INVAL with *why set.
 */
sl_err_t sl_gssapi_init(const char *keytab, const char **why);

/*
 * A new exchange for service <service> (sasl.kerberos.service.name) on
 * host <host> (the host part of the broker's principal service/host@REALM;
 * NULL: this machine's name). @returns NULL with *why set on failure.
 */
sl_gssapi_t *sl_gssapi_new(const char *service, const char *host,
                           const char **why);

void sl_gssapi_free(sl_gssapi_t *g);

/*
 * One step with the client's token <in>/<inlen> (hostile bytes). The reply
 * (possibly empty) is copied to <out> (at most <cap> bytes). When the
 * exchange completes, *done is true and <user> holds the short name.
 * @returns SL_OK, or SL_ERR_SASL_AUTHENTICATION_FAILED with *why set.
 */
sl_err_t sl_gssapi_step(sl_gssapi_t *g, const uint8_t *in, size_t inlen,
                        char *out, size_t cap, size_t *outlen, bool *done,
                        char *user, size_t usercap, const char **why);

/* The short name of Kerberos principal <principal> (primary[/instance]
 * [@REALM]) into <out>. @returns false when it is empty or too long. */
bool sl_gssapi_short_name(const char *principal, char *out, size_t cap);

#endif
