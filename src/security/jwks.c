/*
 * security/jwks.c: JWKS parsing into OpenSSL 3 public keys (EVP_PKEY built
 * from a JWK's n/e or crv/x/y with OSSL_PARAM) and JWS signature checks
 * (see jwks.h). Does not fetch anything over the network.
 */
#include "security/jwks.h"

#include "security/json.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#define SL_JWKS_MAX_KEY_BYTES 1024 /* 8192-bit RSA modulus */

typedef enum sl_jwks_kty_e {
    SL_JWKS_RSA = 1,
    SL_JWKS_EC = 2,
} sl_jwks_kty_e;

typedef struct sl_jwks_key_s {
    char kid[128];
    char alg[16]; /* the JWK's "alg", empty when absent */
    sl_jwks_kty_e kty;
    int coord_len; /* EC: bytes of one coordinate (32, 48, 66) */
    EVP_PKEY *pkey;
} sl_jwks_key_t;

struct sl_jwks_s {
    sl_jwks_key_t keys[SL_JWKS_MAX_KEYS];
    size_t n;
    size_t skipped;
};

/* One algorithm: its key type, digest, RSA-PSS or not, EC curve. */
typedef struct sl_jwks_alg_s {
    const char *name;
    sl_jwks_kty_e kty;
    const char *md;
    bool pss;
    int coord_len;
} sl_jwks_alg_t;

static const sl_jwks_alg_t sl_jwks_algs[] = {
    {"RS256", SL_JWKS_RSA, "SHA256", false, 0},
    {"RS384", SL_JWKS_RSA, "SHA384", false, 0},
    {"RS512", SL_JWKS_RSA, "SHA512", false, 0},
    {"PS256", SL_JWKS_RSA, "SHA256", true, 0},
    {"PS384", SL_JWKS_RSA, "SHA384", true, 0},
    {"PS512", SL_JWKS_RSA, "SHA512", true, 0},
    {"ES256", SL_JWKS_EC, "SHA256", false, 32},
    {"ES384", SL_JWKS_EC, "SHA384", false, 48},
    {"ES512", SL_JWKS_EC, "SHA512", false, 66},
};

static const sl_jwks_alg_t *
sl_jwks_alg_find(const char *name)
{
    for (size_t i = 0; i < sizeof(sl_jwks_algs) / sizeof(sl_jwks_algs[0]);
         i++) {
        if (strcmp(sl_jwks_algs[i].name, name) == 0) {
            return &sl_jwks_algs[i];
        }
    }
    return NULL;
}

/* A base64url member value (a string without escapes) into <out>.
 * @returns the length, or -1. */
static long
sl_jwks_b64_member(const sl_json_member_t *m, uint8_t *out, size_t cap)
{
    if ((m->kind != SL_JSON_STRING && m->kind != SL_JSON_LONG_STR) ||
        m->rawlen < 2) {
        return -1;
    }
    return sl_json_b64url(m->raw + 1, m->rawlen - 2, out, cap);
}

static EVP_PKEY *
sl_jwks_pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *
sl_jwks_rsa(const sl_json_member_t *n, const sl_json_member_t *e)
{
    uint8_t nb[SL_JWKS_MAX_KEY_BYTES], eb[16];
    long nl = sl_jwks_b64_member(n, nb, sizeof(nb));
    long el = sl_jwks_b64_member(e, eb, sizeof(eb));
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY *pkey = NULL;

    if (nl <= 0 || el <= 0) {
        return NULL;
    }
    bn = BN_bin2bn(nb, (int)nl, NULL);
    be = BN_bin2bn(eb, (int)el, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (bn != NULL && be != NULL && bld != NULL && BN_num_bits(bn) >= 2048 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
        pkey = sl_jwks_pkey_from("RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *
sl_jwks_ec(const char *crv, const sl_json_member_t *x,
           const sl_json_member_t *y, int *coord_len)
{
    static const struct {
        const char *crv, *group;
        int len;
    } curves[] = {{"P-256", "prime256v1", 32},
                  {"P-384", "secp384r1", 48},
                  {"P-521", "secp521r1", 66}};
    uint8_t pub[1 + 2 * 66];
    OSSL_PARAM_BLD *bld;
    EVP_PKEY *pkey = NULL;
    int c = -1;
    long xl, yl;

    for (int i = 0; i < 3; i++) {
        if (strcmp(crv, curves[i].crv) == 0) {
            c = i;
        }
    }
    if (c < 0) {
        return NULL;
    }
    xl = sl_jwks_b64_member(x, pub + 1, 66);
    yl = sl_jwks_b64_member(y, pub + 1 + curves[c].len, 66);
    if (xl != curves[c].len || yl != curves[c].len) {
        return NULL;
    }
    pub[0] = 0x04; /* uncompressed point */
    bld = OSSL_PARAM_BLD_new();
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        curves[c].group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                         1 + 2 * (size_t)curves[c].len)) {
        pkey = sl_jwks_pkey_from("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    *coord_len = curves[c].len;
    return pkey;
}

/* Add the JWK <s>/<n> to <k>, or count it as skipped.
 * @returns false only on malformed JSON. */
static bool
sl_jwks_add(sl_jwks_t *k, const char *s, size_t n)
{
    sl_json_member_t m[9] = {{.key = "kty"}, {.key = "kid"}, {.key = "use"},
                             {.key = "alg"}, {.key = "n"},   {.key = "e"},
                             {.key = "crv"}, {.key = "x"},   {.key = "y"}};
    sl_jwks_key_t *key;

    if (!sl_json_object(s, n, m, 9)) {
        return false;
    }
    if (k->n >= SL_JWKS_MAX_KEYS || m[0].kind != SL_JSON_STRING ||
        (m[1].kind != SL_JSON_ABSENT && m[1].kind != SL_JSON_STRING) ||
        (m[2].kind == SL_JSON_STRING && strcmp(m[2].str, "sig") != 0) ||
        (m[3].kind != SL_JSON_ABSENT &&
         (m[3].kind != SL_JSON_STRING || strlen(m[3].str) >= 16))) {
        k->skipped++;
        return true;
    }
    key = &k->keys[k->n];
    memset(key, 0, sizeof(*key));
    if (strcmp(m[0].str, "RSA") == 0) {
        key->kty = SL_JWKS_RSA;
        key->pkey = sl_jwks_rsa(&m[4], &m[5]);
    } else if (strcmp(m[0].str, "EC") == 0 && m[6].kind == SL_JSON_STRING) {
        key->kty = SL_JWKS_EC;
        key->pkey = sl_jwks_ec(m[6].str, &m[7], &m[8], &key->coord_len);
    }
    if (key->pkey == NULL) {
        k->skipped++;
        return true;
    }
    if (m[1].kind == SL_JSON_STRING) {
        size_t l = strlen(m[1].str);

        if (l >= sizeof(key->kid)) {
            EVP_PKEY_free(key->pkey);
            key->pkey = NULL;
            k->skipped++;
            return true;
        }
        memcpy(key->kid, m[1].str, l + 1);
    }
    if (m[3].kind == SL_JSON_STRING) {
        memcpy(key->alg, m[3].str, strlen(m[3].str) + 1); /* < 16: above */
    }
    k->n++;
    return true;
}

sl_jwks_t *
sl_jwks_parse(const char *json, size_t len, const char **why)
{
    sl_json_member_t keys[1] = {{.key = "keys"}};
    const char *pos = NULL, *elem;
    size_t elen;
    bool ok = false;
    sl_jwks_t *k;

    *why = "the JWKS is not a JSON object with a \"keys\" array";
    if (!sl_json_object(json, len, keys, 1) || keys[0].kind != SL_JSON_OTHER) {
        return NULL;
    }
    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        *why = "out of memory";
        return NULL;
    }
    while (sl_json_array_next(keys[0].raw, keys[0].rawlen, &pos, &elem, &elen,
                              &ok)) {
        if (!sl_jwks_add(k, elem, elen)) {
            ok = false;
            break;
        }
    }
    if (!ok) {
        *why = "malformed key in the JWKS";
        sl_jwks_free(k);
        return NULL;
    }
    if (k->n == 0) {
        *why = "no usable key in the JWKS (RSA of 2048 bits or more, EC "
               "P-256/P-384/P-521, use \"sig\")";
        sl_jwks_free(k);
        return NULL;
    }
    return k;
}

sl_jwks_t *
sl_jwks_load(const char *url, const char **why)
{
    const char *path = url;
    char *buf = NULL;
    size_t len = 0;
    sl_jwks_t *k = NULL;
    FILE *f;

    if (url == NULL || url[0] == '\0') {
        *why = "no JWKS location";
        return NULL;
    }
    if (strncmp(url, "file://", 7) == 0) {
        path = url + 7; /* file:///abs/path: the path keeps its '/' */
    } else if (strstr(url, "://") != NULL) {
        *why = "only file:// JWKS locations are supported (the broker "
               "fetches nothing over the network)";
        return NULL;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        *why = "cannot open the JWKS file";
        return NULL;
    }
    buf = malloc(SL_JWKS_MAX_FILE + 1);
    if (buf != NULL) {
        len = fread(buf, 1, SL_JWKS_MAX_FILE + 1, f);
    }
    if (buf == NULL || ferror(f) || len > SL_JWKS_MAX_FILE) {
        *why = buf == NULL ? "out of memory"
                           : "cannot read the JWKS file, or it is over 1 MiB";
    } else {
        k = sl_jwks_parse(buf, len, why);
    }
    fclose(f);
    free(buf);
    return k;
}

void
sl_jwks_free(sl_jwks_t *k)
{
    if (k == NULL) {
        return;
    }
    for (size_t i = 0; i < k->n; i++) {
        EVP_PKEY_free(k->keys[i].pkey);
    }
    free(k);
}

size_t
sl_jwks_count(const sl_jwks_t *k)
{
    return k != NULL ? k->n : 0;
}

size_t
sl_jwks_skipped(const sl_jwks_t *k)
{
    return k != NULL ? k->skipped : 0;
}

/* JWS ECDSA signatures are r||s; OpenSSL wants DER. @returns the DER
 * length in <der>, or -1. */
static int
sl_jwks_ecdsa_der(const uint8_t *sig, size_t siglen, int coord_len,
                  uint8_t *der, size_t cap)
{
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    unsigned char *p = der;
    int n = -1;

    if (siglen != 2 * (size_t)coord_len) {
        return -1;
    }
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, coord_len, NULL);
    s = BN_bin2bn(sig + coord_len, coord_len, NULL);
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        if ((size_t)i2d_ECDSA_SIG(es, NULL) <= cap) {
            n = i2d_ECDSA_SIG(es, &p);
        }
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n;
}

static bool
sl_jwks_verify_one(const sl_jwks_key_t *key, const sl_jwks_alg_t *a,
                   const uint8_t *input, size_t inlen, const uint8_t *sig,
                   size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t der[160];
    bool ok = false;

    if (md == NULL) {
        return false;
    }
    if (a->kty == SL_JWKS_EC) {
        int n = sl_jwks_ecdsa_der(sig, siglen, a->coord_len, der, sizeof(der));

        if (n <= 0) {
            goto done;
        }
        sig = der;
        siglen = (size_t)n;
    }
    if (EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key->pkey,
                                NULL) != 1) {
        goto done;
    }
    if (a->pss &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0)) {
        goto done;
    }
    ok = EVP_DigestVerify(md, sig, siglen, input, inlen) == 1;
done:
    EVP_MD_CTX_free(md);
    return ok;
}

sl_err_t
sl_jwks_verify(const sl_jwks_t *k, const char *alg, const char *kid,
               const uint8_t *input, size_t inlen, const uint8_t *sig,
               size_t siglen, const char **why)
{
    const sl_jwks_alg_t *a = sl_jwks_alg_find(alg);
    bool candidate = false;

    if (a == NULL) {
        *why = "Authentication failed: the token's signing algorithm is not "
               "accepted";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    for (size_t i = 0; k != NULL && i < k->n; i++) {
        const sl_jwks_key_t *key = &k->keys[i];

        if (key->kty != a->kty ||
            (a->kty == SL_JWKS_EC && key->coord_len != a->coord_len) ||
            (key->alg[0] != '\0' && strcmp(key->alg, alg) != 0) ||
            (kid != NULL && strcmp(key->kid, kid) != 0)) {
            continue;
        }
        candidate = true;
        if (sl_jwks_verify_one(key, a, input, inlen, sig, siglen)) {
            return SL_OK;
        }
    }
    *why = candidate ? "Authentication failed: the token's signature does not "
                       "verify"
                     : "Authentication failed: no key of the JWKS matches "
                       "the token's kid and alg";
    return SL_ERR_SASL_AUTHENTICATION_FAILED;
}
