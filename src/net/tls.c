/*
 * net/tls.c: building OpenSSL server contexts from Kafka's ssl.* settings,
 * and swapping them on reload.
 *
 * Keystores: PEM (a file holding the certificate chain and the private key,
 * or the chain and key given inline) and PKCS#12. Trust stores: PEM files
 * or inline PEM, and PKCS#12. Only TLS 1.2 and 1.3 are ever enabled.
 */
#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <ctype.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    SL_TLS_OPT_KS_TYPE,
    SL_TLS_OPT_KS_LOC,
    SL_TLS_OPT_KS_PASS,
    SL_TLS_OPT_KEY_PASS,
    SL_TLS_OPT_KS_CHAIN,
    SL_TLS_OPT_KS_KEY,
    SL_TLS_OPT_TS_TYPE,
    SL_TLS_OPT_TS_LOC,
    SL_TLS_OPT_TS_PASS,
    SL_TLS_OPT_TS_CERTS,
    SL_TLS_OPT_PROTOCOLS,
    SL_TLS_OPT_CIPHERS,
    SL_TLS_OPT_COUNT
};

#define SL_TLS_MAX_RULES 16

typedef struct sl_tls_rule_s {
    bool is_default;
    regex_t re;
    char *repl;
    char fold; /* 'L', 'U' or 0 */
} sl_tls_rule_t;

struct sl_tls_ctx_s {
    pthread_mutex_t lock; /* guards cur */
    SSL_CTX *cur;
    char *opt[SL_TLS_OPT_COUNT];
    sl_tls_client_auth_e client_auth;
    sl_tls_rule_t rules[SL_TLS_MAX_RULES];
    int nrules;
};

/* Read up to an unescaped '/' from *pp into a new string ("\/" is '/');
 * lazy quantifiers lose their '?' when <pattern>. NULL when unterminated. */
static char *
sl_tls_rule_part(const char **pp, bool pattern)
{
    const char *p = *pp;
    size_t n = 0, cap = strlen(p) + 1;
    char *out = malloc(cap);

    if (out == NULL) {
        return NULL;
    }
    while (*p != '\0' && *p != '/') {
        if (p[0] == '\\' && p[1] == '/') {
            out[n++] = '/';
            p += 2;
            continue;
        }
        if (pattern && p[0] == '?' && n > 0 &&
            (out[n - 1] == '*' || out[n - 1] == '+') &&
            (n < 2 || out[n - 2] != '\\')) {
            p++;
            continue;
        }
        out[n++] = *p++;
    }
    if (*p != '/') {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *pp = p + 1;
    return out;
}

static bool
sl_tls_parse_rules(sl_tls_ctx_t *t, const char *s, char *why, size_t whylen)
{
    const char *p = s != NULL && s[0] != '\0' ? s : "DEFAULT";

    while (*p != '\0') {
        sl_tls_rule_t *r;

        while (*p == ',' || isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (t->nrules == SL_TLS_MAX_RULES) {
            snprintf(why, whylen, "too many ssl.principal.mapping.rules");
            return false;
        }
        r = &t->rules[t->nrules];
        if (strncmp(p, "DEFAULT", 7) == 0) {
            r->is_default = true;
            t->nrules++;
            p += 7;
        } else if (strncmp(p, "RULE:", 5) == 0) {
            char *pat, *full;
            size_t n;

            p += 5;
            pat = sl_tls_rule_part(&p, true);
            r->repl = pat != NULL ? sl_tls_rule_part(&p, false) : NULL;
            if (pat == NULL || r->repl == NULL) {
                free(pat);
                free(r->repl);
                r->repl = NULL;
                snprintf(why, whylen,
                         "invalid ssl.principal.mapping.rules: expected "
                         "RULE:pattern/replacement/[LU]");
                return false;
            }
            if (*p == 'L' || *p == 'U') {
                r->fold = *p++;
            }
            /* Kafka matches the whole DN. */
            n = strlen(pat) + 5;
            full = malloc(n);
            if (full == NULL) {
                free(pat);
                return false;
            }
            snprintf(full, n, "^(%s)$", pat);
            free(pat);
            if (regcomp(&r->re, full, REG_EXTENDED) != 0) {
                snprintf(why, whylen,
                         "invalid pattern in ssl.principal.mapping.rules: %s",
                         full);
                free(full);
                free(r->repl);
                r->repl = NULL;
                return false;
            }
            free(full);
            t->nrules++;
        } else {
            snprintf(why, whylen,
                     "invalid ssl.principal.mapping.rules near \"%.20s\"", p);
            return false;
        }
        while (*p != '\0' && *p != ',') {
            if (!isspace((unsigned char)*p)) {
                snprintf(why, whylen,
                         "invalid ssl.principal.mapping.rules near \"%.20s\"",
                         p);
                return false;
            }
            p++;
        }
    }
    return true;
}

bool
sl_tls_ctx_map_principal(const sl_tls_ctx_t *t, const char *dn, char *out,
                         size_t outlen)
{
    regmatch_t m[10];
    size_t n = 0;

    if (outlen == 0) {
        return false;
    }
    for (int i = 0; i < t->nrules; i++) {
        const sl_tls_rule_t *r = &t->rules[i];

        if (r->is_default) {
            snprintf(out, outlen, "%s", dn);
            return true;
        }
        if (regexec(&r->re, dn, 10, m, 0) != 0) {
            continue;
        }
        /* Group k of the user's pattern is group k + 1 here. */
        for (const char *q = r->repl; *q != '\0' && n + 1 < outlen; q++) {
            if (q[0] == '$' && isdigit((unsigned char)q[1])) {
                int g = q[1] - '0' + 1;

                q++;
                if (g < 10 && m[g].rm_so >= 0) {
                    for (regoff_t k = m[g].rm_so;
                         k < m[g].rm_eo && n + 1 < outlen; k++) {
                        out[n++] = dn[k];
                    }
                }
                continue;
            }
            if (q[0] == '\\' && q[1] != '\0') {
                q++;
            }
            out[n++] = *q;
        }
        out[n] = '\0';
        for (size_t k = 0; k < n; k++) {
            if (r->fold == 'L') {
                out[k] = (char)tolower((unsigned char)out[k]);
            } else if (r->fold == 'U') {
                out[k] = (char)toupper((unsigned char)out[k]);
            }
        }
        return true;
    }
    return false;
}

static bool
sl_tls_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Reason of the last OpenSSL error, after <what>. Clears the error queue. */
static void
sl_tls_why(char *why, size_t whylen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(why, whylen, "%s: %s", what, buf);
    } else {
        snprintf(why, whylen, "%s", what);
    }
    ERR_clear_error();
}

static int
sl_tls_pass_cb(char *buf, int size, int rwflag, void *u)
{
    const char *pw = u;
    size_t n;

    (void)rwflag;
    if (pw == NULL || size <= 0) {
        return 0;
    }
    n = strlen(pw);
    if (n > (size_t)size) {
        n = (size_t)size;
    }
    memcpy(buf, pw, n);
    return (int)n;
}

static bool
sl_tls_is_pkcs12(const char *type)
{
    return sl_tls_set(type) &&
           (strcasecmp(type, "PKCS12") == 0 || strcasecmp(type, "P12") == 0);
}

static PKCS12 *
sl_tls_read_p12(const char *path)
{
    FILE *f = fopen(path, "rb");
    PKCS12 *p12;

    if (f == NULL) {
        return NULL;
    }
    p12 = d2i_PKCS12_fp(f, NULL);
    fclose(f);
    return p12;
}

/* Certificate chain and private key. */
static bool
sl_tls_load_keystore(sl_tls_ctx_t *t, SSL_CTX *ctx, char *why, size_t whylen)
{
    const char *type = t->opt[SL_TLS_OPT_KS_TYPE];
    const char *loc = t->opt[SL_TLS_OPT_KS_LOC];
    const char *kpw = t->opt[SL_TLS_OPT_KEY_PASS];
    bool ok = false;

    if (sl_tls_is_pkcs12(type)) {
        EVP_PKEY *pkey = NULL;
        X509 *cert = NULL;
        STACK_OF(X509) *ca = NULL;
        PKCS12 *p12;

        if (!sl_tls_set(loc)) {
            snprintf(why, whylen, "ssl.keystore.location is required");
            return false;
        }
        p12 = sl_tls_read_p12(loc);
        if (p12 == NULL) {
            sl_tls_why(why, whylen, "cannot read PKCS12 keystore");
            return false;
        }
        if (!PKCS12_parse(p12, t->opt[SL_TLS_OPT_KS_PASS], &pkey, &cert, &ca)) {
            sl_tls_why(why, whylen,
                       "cannot open PKCS12 keystore (wrong password?)");
        } else if (cert == NULL || pkey == NULL) {
            snprintf(why, whylen, "PKCS12 keystore lacks a key or certificate");
        } else if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
                   SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
            sl_tls_why(why, whylen, "cannot use keystore certificate");
        } else {
            ok = true;
            for (int i = 0; ca != NULL && i < sk_X509_num(ca); i++) {
                if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(ca, i)) != 1) {
                    sl_tls_why(why, whylen, "cannot add chain certificate");
                    ok = false;
                    break;
                }
            }
        }
        EVP_PKEY_free(pkey);
        X509_free(cert);
        sk_X509_pop_free(ca, X509_free);
        PKCS12_free(p12);
    } else if (sl_tls_set(type) && strcasecmp(type, "PEM") != 0) {
        snprintf(why, whylen,
                 "ssl.keystore.type %s is not supported (PEM or PKCS12)", type);
        return false;
    } else if (sl_tls_set(loc)) {
        SSL_CTX_set_default_passwd_cb(ctx, sl_tls_pass_cb);
        SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)kpw);
        if (SSL_CTX_use_certificate_chain_file(ctx, loc) != 1) {
            sl_tls_why(why, whylen, "cannot read keystore certificate chain");
        } else if (SSL_CTX_use_PrivateKey_file(ctx, loc, SSL_FILETYPE_PEM) !=
                   1) {
            sl_tls_why(why, whylen, "cannot read keystore private key");
        } else {
            ok = true;
        }
    } else if (sl_tls_set(t->opt[SL_TLS_OPT_KS_CHAIN]) &&
               sl_tls_set(t->opt[SL_TLS_OPT_KS_KEY])) {
        const char *chain = t->opt[SL_TLS_OPT_KS_CHAIN];
        const char *key = t->opt[SL_TLS_OPT_KS_KEY];
        BIO *b = BIO_new_mem_buf(chain, (int)strlen(chain));
        X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        EVP_PKEY *pkey = NULL;

        if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
            sl_tls_why(why, whylen,
                       "cannot read ssl.keystore.certificate.chain");
        } else {
            X509 *ca;

            ok = true;
            while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
                if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
                    X509_free(ca);
                    ok = false;
                    break;
                }
            }
            ERR_clear_error(); /* end of the PEM data */
        }
        X509_free(x);
        BIO_free(b);
        if (ok) {
            ok = false;
            b = BIO_new_mem_buf(key, (int)strlen(key));
            pkey = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, sl_tls_pass_cb,
                                                       (void *)kpw)
                             : NULL;
            if (pkey == NULL || SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
                sl_tls_why(why, whylen, "cannot read ssl.keystore.key");
            } else {
                ok = true;
            }
            EVP_PKEY_free(pkey);
            BIO_free(b);
        }
    } else {
        snprintf(why, whylen,
                 "no keystore: set ssl.keystore.location, or "
                 "ssl.keystore.certificate.chain and ssl.keystore.key");
        return false;
    }
    if (ok && SSL_CTX_check_private_key(ctx) != 1) {
        sl_tls_why(why, whylen, "keystore key does not match its certificate");
        ok = false;
    }
    return ok;
}

/* Trusted CAs for client certificates (optional). */
static bool
sl_tls_load_truststore(sl_tls_ctx_t *t, SSL_CTX *ctx, char *why, size_t whylen)
{
    const char *type = t->opt[SL_TLS_OPT_TS_TYPE];
    const char *loc = t->opt[SL_TLS_OPT_TS_LOC];
    const char *inl = t->opt[SL_TLS_OPT_TS_CERTS];
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
    bool ok = true;

    if (names == NULL) {
        return false;
    }
    if (sl_tls_set(loc) && sl_tls_is_pkcs12(type)) {
        PKCS12 *p12 = sl_tls_read_p12(loc);
        STACK_OF(X509) *ca = NULL;
        EVP_PKEY *pkey = NULL;
        X509 *cert = NULL;

        if (p12 == NULL ||
            !PKCS12_parse(p12, t->opt[SL_TLS_OPT_TS_PASS], &pkey, &cert, &ca)) {
            sl_tls_why(why, whylen, "cannot open PKCS12 truststore");
            ok = false;
        } else {
            if (cert != NULL) {
                X509_STORE_add_cert(store, cert);
                sk_X509_NAME_push(names,
                                  X509_NAME_dup(X509_get_subject_name(cert)));
            }
            for (int i = 0; ca != NULL && i < sk_X509_num(ca); i++) {
                X509 *c = sk_X509_value(ca, i);
                X509_STORE_add_cert(store, c);
                sk_X509_NAME_push(names,
                                  X509_NAME_dup(X509_get_subject_name(c)));
            }
        }
        EVP_PKEY_free(pkey);
        X509_free(cert);
        sk_X509_pop_free(ca, X509_free);
        PKCS12_free(p12);
    } else if (sl_tls_set(loc) || sl_tls_set(inl)) {
        BIO *b = sl_tls_set(loc) ? BIO_new_file(loc, "r")
                                 : BIO_new_mem_buf(inl, (int)strlen(inl));
        X509 *c;
        int n = 0;

        if (b == NULL) {
            sl_tls_why(why, whylen, "cannot read truststore");
            ok = false;
        } else {
            while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
                X509_STORE_add_cert(store, c);
                sk_X509_NAME_push(names,
                                  X509_NAME_dup(X509_get_subject_name(c)));
                X509_free(c);
                n++;
            }
            ERR_clear_error();
            BIO_free(b);
            if (n == 0) {
                snprintf(why, whylen, "truststore holds no certificate");
                ok = false;
            }
        }
    }
    if (ok) {
        SSL_CTX_set_client_CA_list(ctx, names);
    } else {
        sk_X509_NAME_pop_free(names, X509_NAME_free);
    }
    return ok;
}

/* TLS versions from ssl.enabled.protocols; only 1.2 and 1.3 are allowed. */
static bool
sl_tls_set_protocols(const char *list, SSL_CTX *ctx, char *why, size_t whylen)
{
    int lo = 0, hi = 0, v;
    const char *p = list, *e;
    char tok[32];
    size_t n;

    if (!sl_tls_set(list)) {
        list = "TLSv1.2,TLSv1.3";
        p = list;
    }
    while (*p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        e = p + strcspn(p, ", ");
        n = (size_t)(e - p);
        if (n >= sizeof(tok)) {
            n = sizeof(tok) - 1;
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        p = e;
        if (strcmp(tok, "TLSv1.2") == 0) {
            v = TLS1_2_VERSION;
        } else if (strcmp(tok, "TLSv1.3") == 0) {
            v = TLS1_3_VERSION;
        } else if (strcmp(tok, "TLSv1") == 0 || strcmp(tok, "TLSv1.1") == 0 ||
                   strcmp(tok, "SSLv3") == 0) {
            continue; /* insecure; never enabled */
        } else {
            snprintf(why, whylen,
                     "unknown protocol %s in ssl.enabled.protocols", tok);
            return false;
        }
        if (lo == 0 || v < lo) {
            lo = v;
        }
        if (v > hi) {
            hi = v;
        }
    }
    if (lo == 0) {
        snprintf(why, whylen,
                 "ssl.enabled.protocols enables neither TLSv1.2 nor TLSv1.3");
        return false;
    }
    SSL_CTX_set_min_proto_version(ctx, lo);
    SSL_CTX_set_max_proto_version(ctx, hi);
    return true;
}

static SSL_CTX *
sl_tls_build(sl_tls_ctx_t *t, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int mode = SSL_VERIFY_NONE;

    if (ctx == NULL) {
        sl_tls_why(why, whylen, "SSL_CTX_new failed");
        return NULL;
    }
    if (!sl_tls_set_protocols(t->opt[SL_TLS_OPT_PROTOCOLS], ctx, why, whylen) ||
        !sl_tls_load_keystore(t, ctx, why, whylen) ||
        !sl_tls_load_truststore(t, ctx, why, whylen)) {
        goto fail;
    }
    if (sl_tls_set(t->opt[SL_TLS_OPT_CIPHERS]) &&
        SSL_CTX_set_cipher_list(ctx, t->opt[SL_TLS_OPT_CIPHERS]) != 1) {
        sl_tls_why(why, whylen, "invalid ssl.cipher.suites");
        goto fail;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sluice", 6);
    if (t->client_auth == SL_TLS_CLIENT_AUTH_REQUESTED) {
        mode = SSL_VERIFY_PEER;
    } else if (t->client_auth == SL_TLS_CLIENT_AUTH_REQUIRED) {
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

sl_tls_ctx_t *
sl_tls_ctx_create(const sl_tls_opts_t *o, char *why, size_t whylen)
{
    sl_tls_ctx_t *t = calloc(1, sizeof(*t));
    const char *src[SL_TLS_OPT_COUNT] = {
        o->keystore_type,       o->keystore_location,
        o->keystore_password,   o->key_password,
        o->keystore_cert_chain, o->keystore_key,
        o->truststore_type,     o->truststore_location,
        o->truststore_password, o->truststore_certificates,
        o->enabled_protocols,   o->cipher_suites,
    };

    if (t == NULL) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->client_auth = o->client_auth;
    if (!sl_tls_parse_rules(t, o->principal_mapping_rules, why, whylen)) {
        goto fail;
    }
    for (int i = 0; i < SL_TLS_OPT_COUNT; i++) {
        if (sl_tls_set(src[i])) {
            t->opt[i] = strdup(src[i]);
            if (t->opt[i] == NULL) {
                snprintf(why, whylen, "out of memory");
                goto fail;
            }
        }
    }
    t->cur = sl_tls_build(t, why, whylen);
    if (t->cur == NULL) {
        goto fail;
    }
    return t;

fail:
    sl_tls_ctx_destroy(t);
    return NULL;
}

sl_err_t
sl_tls_ctx_reload(sl_tls_ctx_t *t, char *why, size_t whylen)
{
    SSL_CTX *ctx = sl_tls_build(t, why, whylen), *old;

    if (ctx == NULL) {
        return SL_ERR__INVAL;
    }
    pthread_mutex_lock(&t->lock);
    old = t->cur;
    t->cur = ctx;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* live connections hold their own reference */
    return SL_OK;
}

void
sl_tls_ctx_destroy(sl_tls_ctx_t *t)
{
    if (t == NULL) {
        return;
    }
    SSL_CTX_free(t->cur);
    for (int i = 0; i < SL_TLS_OPT_COUNT; i++) {
        free(t->opt[i]);
    }
    for (int i = 0; i < t->nrules; i++) {
        if (!t->rules[i].is_default) {
            regfree(&t->rules[i].re);
            free(t->rules[i].repl);
        }
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void *
sl_tls_ctx_new_ssl(sl_tls_ctx_t *t)
{
    SSL *ssl;

    pthread_mutex_lock(&t->lock);
    ssl = SSL_new(t->cur);
    pthread_mutex_unlock(&t->lock);
    if (ssl != NULL) {
        SSL_set_accept_state(ssl);
    }
    return ssl;
}

int
sl_tls_parse_client_auth(const char *v)
{
    if (v == NULL || v[0] == '\0' || strcasecmp(v, "none") == 0) {
        return SL_TLS_CLIENT_AUTH_NONE;
    }
    if (strcasecmp(v, "requested") == 0) {
        return SL_TLS_CLIENT_AUTH_REQUESTED;
    }
    if (strcasecmp(v, "required") == 0) {
        return SL_TLS_CLIENT_AUTH_REQUIRED;
    }
    return -1;
}

bool
sl_tls_peer_dn(void *ssl, char *out, size_t outlen)
{
    X509 *x = SSL_get1_peer_certificate(ssl);
    BIO *b;
    int n;

    if (x == NULL || outlen == 0) {
        X509_free(x);
        return false;
    }
    b = BIO_new(BIO_s_mem());
    if (b == NULL) {
        X509_free(x);
        return false;
    }
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
    n = BIO_read(b, out, (int)outlen - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    X509_free(x);
    return true;
}
