/*
 * net/tls.h: TLS server contexts for SSL and SASL_SSL listeners (OpenSSL 3).
 *
 * A context holds the listener's certificate, key, trust store and client
 * authentication policy. Connections take a new SSL object from it at accept
 * and drive it with SSL_read/SSL_write on their non-blocking socket.
 * sl_tls_ctx_reload() swaps in freshly loaded certificates (SIGHUP): new
 * connections use them, established ones keep their session.
 *
 * Owns: the OpenSSL SSL_CTX (reference counted by OpenSSL, so connections
 * made before a reload keep theirs alive). Thread: create/reload on main;
 * sl_tls_ctx_new_ssl from any thread (the swap is under a lock).
 */
#ifndef SL_NET_TLS_H
#define SL_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

typedef struct sl_tls_ctx_s sl_tls_ctx_t;

typedef enum sl_tls_client_auth_e {
    SL_TLS_CLIENT_AUTH_NONE = 0,
    SL_TLS_CLIENT_AUTH_REQUESTED,
    SL_TLS_CLIENT_AUTH_REQUIRED,
} sl_tls_client_auth_e;

/* What a context is made from: Kafka's ssl.* settings of one listener.
 * Strings are copied; NULL or "" means unset. */
typedef struct sl_tls_opts_s {
    const char *keystore_type;       /* PEM (default) or PKCS12 */
    const char *keystore_location;   /* file: cert chain + key (PEM), or .p12 */
    const char *keystore_password;   /* PKCS12 password */
    const char *key_password;        /* encrypted PEM private key */
    const char *keystore_cert_chain; /* inline PEM certificate chain */
    const char *keystore_key;        /* inline PEM private key */
    const char *truststore_type;     /* PEM (default) or PKCS12 */
    const char *truststore_location; /* CA certificates for client certs */
    const char *truststore_password;
    const char *truststore_certificates; /* inline PEM CA certificates */
    const char *enabled_protocols;       /* e.g. "TLSv1.2,TLSv1.3" */
    const char *cipher_suites;           /* TLS 1.2 ciphers, OpenSSL names */
    sl_tls_client_auth_e client_auth;
    /* ssl.principal.mapping.rules: "RULE:pattern/replacement/[LU],...,
     * DEFAULT" (NULL: DEFAULT). */
    const char *principal_mapping_rules;
} sl_tls_opts_t;

/*
 * Build a context from <o>. On failure returns NULL and writes a reason to
 * <why> (the OpenSSL error included).
 */
sl_tls_ctx_t *sl_tls_ctx_create(const sl_tls_opts_t *o, char *why,
                                size_t whylen);

/* Reload certificates and keys from the same options. The old context
 * stays in use when loading fails. @returns SL_OK or SL_ERR__INVAL. */
sl_err_t sl_tls_ctx_reload(sl_tls_ctx_t *t, char *why, size_t whylen);

void sl_tls_ctx_destroy(sl_tls_ctx_t *t);

/* A new server-side SSL object (an SSL *), or NULL. @thread any */
void *sl_tls_ctx_new_ssl(sl_tls_ctx_t *t);

/* Parse ssl.client.auth ("none", "requested", "required"); -1 if invalid. */
int sl_tls_parse_client_auth(const char *v);

/*
 * The distinguished name of the peer's verified certificate, in RFC 2253
 * form ("CN=alice,OU=eng,O=example"), into <out>. @returns false when the
 * peer sent no certificate.
 */
bool sl_tls_peer_dn(void *ssl, char *out, size_t outlen);

/*
 * The principal name for certificate DN <dn> under the context's
 * ssl.principal.mapping.rules: the first rule whose pattern matches the
 * whole DN gives the name (DEFAULT: the DN itself). Patterns are POSIX
 * extended regular expressions; Java's lazy quantifiers (*?, +?) are read
 * as greedy ones. @returns false when no rule matches.
 */
bool sl_tls_ctx_map_principal(const sl_tls_ctx_t *t, const char *dn, char *out,
                              size_t outlen);

#endif
