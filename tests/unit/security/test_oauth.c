/* Unit tests for OAUTHBEARER with signed JWTs (security/oauth.c,
 * security/jwks.c, security/json.c): keys are generated here with
 * OpenSSL, published as a JWKS, and tokens signed with them are accepted
 * while tokens signed by another key, expired, for another audience or
 * issuer, tampered with, or unsecured (alg none) are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security/json.h"
#include "security/jwks.h"
#include "security/oauth.h"

#define NOW 1700000000LL /* seconds */

static EVP_PKEY *rsa_key, *rsa_other, *ec_key;

static size_t
b64url(const uint8_t *in, size_t n, char *out)
{
    static const char al[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[k++] = al[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[k++] = al[(acc << (6 - bits)) & 63];
    }
    out[k] = '\0';
    return k;
}

static void
bn_b64(const EVP_PKEY *pk, const char *param, size_t pad, char *out)
{
    BIGNUM *bn = NULL;
    uint8_t buf[600];
    int n;

    assert_int_equal(EVP_PKEY_get_bn_param(pk, param, &bn), 1);
    n = pad > 0 ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
    assert_true(n > 0);
    b64url(buf, (size_t)n, out);
    BN_free(bn);
}

/* A JWKS with the RSA key (kid "r1") and the EC key (kid "e1"). */
static char *
make_jwks(void)
{
    static char json[4096];
    char n[700], e[16], x[64], y[64];

    bn_b64(rsa_key, OSSL_PKEY_PARAM_RSA_N, 0, n);
    bn_b64(rsa_key, OSSL_PKEY_PARAM_RSA_E, 0, e);
    bn_b64(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, 32, x);
    bn_b64(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, y);
    snprintf(json, sizeof(json),
             "{\"keys\": [ {\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\","
             "\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},\n"
             "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\","
             "\"y\":\"%s\"}, {\"kty\":\"oct\",\"k\":\"c2VjcmV0\"} ]}",
             n, e, x, y);
    return json;
}

/* Sign "<hdr>.<claims>" with <pk> (RS256 or ES256) into an OAUTHBEARER
 * client-first message in <out>; <sig_pk> NULL: no signature. */
static size_t
make_msg(const char *hdr, const char *claims, EVP_PKEY *pk, bool ec, char *out,
         size_t cap)
{
    char tok[4096], sig64[1024];
    uint8_t sig[1024];
    size_t k, siglen = sizeof(sig);
    EVP_MD_CTX *md;

    k = b64url((const uint8_t *)hdr, strlen(hdr), tok);
    tok[k++] = '.';
    k += b64url((const uint8_t *)claims, strlen(claims), tok + k);
    sig64[0] = '\0';
    if (pk != NULL) {
        md = EVP_MD_CTX_new();
        assert_int_equal(
            EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, pk, NULL), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &siglen, (uint8_t *)tok, k),
                         1);
        EVP_MD_CTX_free(md);
        if (ec) { /* DER to r||s */
            const uint8_t *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
            uint8_t rs[64];

            assert_non_null(es);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
            ECDSA_SIG_free(es);
            memcpy(sig, rs, 64);
            siglen = 64;
        }
        b64url(sig, siglen, sig64);
    }
    return (size_t)snprintf(out, cap,
                            "n,,\x01"
                            "auth=Bearer %.*s.%s\x01\x01",
                            (int)k, tok, sig64);
}

static int
setup(void **state)
{
    (void)state;
    rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return rsa_key != NULL && rsa_other != NULL && ec_key != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(ec_key);
    return 0;
}

/* Validate <msg> against <v> at NOW. */
static sl_err_t
check(const sl_oauth_validator_t *v, const char *msg, size_t len, char *user,
      const char **why)
{
    return sl_oauth_validate(v, (const uint8_t *)msg, len, NOW * 1000, user,
                             256, why);
}

static void
test_signed_tokens(void **state)
{
    const char *why = NULL, *json = make_jwks();
    sl_jwks_t *k = sl_jwks_parse(json, strlen(json), &why);
    sl_oauth_validator_t v = {.jwks = k, .skew_ms = 30000};
    char msg[8192], user[256], claims[512];
    static const char rs[] = "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":"
                             "\"JWT\"}";
    size_t n;

    (void)state;
    assert_non_null(k);
    assert_int_equal(sl_jwks_count(k), 2);
    assert_int_equal(sl_jwks_skipped(k), 1); /* the oct key */
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"alice\",\"iat\":%lld,\"exp\":%lld,\"scope\":\"x\"}",
             NOW - 10, NOW + 3600);

    /* RS256 and ES256 signed by keys of the set: accepted. */
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    assert_string_equal(user, "alice");
    n = make_msg("{\"alg\":\"ES256\",\"kid\":\"e1\"}", claims, ec_key, true,
                 msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    /* No kid: any key that fits the algorithm. */
    n = make_msg("{\"alg\":\"RS256\"}", claims, rsa_key, false, msg,
                 sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);

    /* Signed by another key with the same kid: refused. */
    n = make_msg(rs, claims, rsa_other, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "signature"));
    /* An unknown kid, and an algorithm the key is not for. */
    n = make_msg("{\"alg\":\"RS256\",\"kid\":\"zz\"}", claims, rsa_key, false,
                 msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    assert_non_null(strstr(why, "kid"));
    n = make_msg("{\"alg\":\"ES256\",\"kid\":\"r1\"}", claims, ec_key, true,
                 msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    n = make_msg("{\"alg\":\"HS256\",\"kid\":\"r1\"}", claims, rsa_key, false,
                 msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);

    /* Tampered claims: the signature no longer verifies. */
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    {
        char *dot = strchr(msg, '.');

        dot[3] = dot[3] == 'A' ? 'B' : 'A';
    }
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);

    /* alg none is refused once a JWKS is configured... */
    n = make_msg("{\"alg\":\"none\"}", claims, NULL, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "alg none"));
    /* ...and accepted without one; a signed token then is not. */
    assert_int_equal(check(NULL, msg, n, user, &why), SL_OK);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_not_equal(check(NULL, msg, n, user, &why), SL_OK);
    sl_jwks_free(k);
}

static void
test_signed_claims(void **state)
{
    const char *why = NULL, *json = make_jwks();
    sl_jwks_t *k = sl_jwks_parse(json, strlen(json), &why);
    sl_oauth_validator_t v = {.jwks = k, .skew_ms = 30000};
    char msg[8192], user[256], claims[512];
    static const char rs[] = "{\"alg\":\"RS256\",\"kid\":\"r1\"}";
    size_t n;

    (void)state;
    assert_non_null(k);
    /* Expired 10 s ago: inside the 30 s skew; 60 s ago: refused. */
    snprintf(claims, sizeof(claims), "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld}",
             NOW - 10);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    snprintf(claims, sizeof(claims), "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld}",
             NOW - 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "expired"));
    /* No iat, no exp, nbf in the future: refused. */
    snprintf(claims, sizeof(claims), "{\"sub\":\"a\",\"exp\":%lld}", NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    n = make_msg(rs, "{\"sub\":\"a\",\"iat\":1}", rsa_key, false, msg,
                 sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld,\"nbf\":%lld}", NOW + 600,
             NOW + 300);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);

    /* Audience: one of the expected ones, as a string or in an array. */
    v.audience = "kafka, other";
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld,\"aud\":[\"x\",\"other\"]}",
             NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld,\"aud\":\"kafka2\"}",
             NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "audience"));
    /* An aud claim when none is expected is refused (as Kafka). */
    v.audience = NULL;
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);

    /* Issuer must match exactly when configured. */
    v.issuer = "https://idp.example";
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"a\",\"iat\":1,\"exp\":%lld,\"iss\":\"https://idp."
             "example\"}",
             NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    v.issuer = "https://idp.example/";
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    v.issuer = NULL;

    /* The subject claim may be named otherwise; it must not be blank. */
    v.sub_claim = "client_id";
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"a\",\"client_id\":\" svc-1 \",\"iat\":1,\"exp\":%lld}",
             NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_equal(check(&v, msg, n, user, &why), SL_OK);
    assert_string_equal(user, "svc-1");
    v.sub_claim = NULL;
    snprintf(claims, sizeof(claims), "{\"sub\":\"  \",\"iat\":1,\"exp\":%lld}",
             NOW + 60);
    n = make_msg(rs, claims, rsa_key, false, msg, sizeof(msg));
    assert_int_not_equal(check(&v, msg, n, user, &why), SL_OK);
    sl_jwks_free(k);
}

static sl_jwks_t *
jwks_of(const char *json)
{
    const char *why = NULL;
    sl_jwks_t *k = sl_jwks_parse(json, strlen(json), &why);

    assert_true(k != NULL || why != NULL);
    return k;
}

static bool
obj_of(const char *json, sl_json_member_t *m, int nm)
{
    return sl_json_object(json, strlen(json), m, nm);
}

static void
test_jwks_files(void **state)
{
    const char *why = NULL, *json = make_jwks();
    char path[] = "/tmp/sl-jwks-XXXXXX", url[64];
    sl_jwks_t *k;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    snprintf(url, sizeof(url), "file://%s", path);
    k = sl_jwks_load(url, &why);
    assert_non_null(k);
    assert_int_equal(sl_jwks_count(k), 2);
    sl_jwks_free(k);
    k = sl_jwks_load(path, &why);
    assert_non_null(k);
    sl_jwks_free(k);
    unlink(path);
    assert_null(sl_jwks_load(url, &why)); /* gone */
    assert_null(sl_jwks_load("https://idp.example/jwks", &why));
    assert_non_null(strstr(why, "file://"));

    /* Malformed sets and sets without a usable key. */
    assert_null(jwks_of(""));
    assert_null(jwks_of("{\"keys\":{}}"));
    assert_null(jwks_of("{\"keys\":[]}"));
    assert_null(jwks_of("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\","
                        "\"e\":\"AQAB\"}]}")); /* a 17-bit modulus */
    assert_null(jwks_of("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                        "\"x\":\"AA\",\"y\":\"AA\"}]}"));
    assert_null(jwks_of("{\"keys\":[{\"kty\":\"RSA\""));
}

static void
test_json_reader(void **state)
{
    sl_json_member_t m[2] = {{.key = "a"}, {.key = "b"}};
    const char *pos = NULL, *e;
    size_t el;
    bool ok;
    int count = 0;
    char deep[200];

    (void)state;
    assert_true(obj_of("{\"a\":[1,{\"x\":2}],\"b\":\"s\\u0041\"}", m, 2));
    assert_int_equal(m[0].kind, SL_JSON_OTHER);
    assert_int_equal(m[1].kind, SL_JSON_STRING);
    assert_string_equal(m[1].str, "sA");
    while (sl_json_array_next(m[0].raw, m[0].rawlen, &pos, &e, &el, &ok)) {
        count++;
    }
    assert_true(ok);
    assert_int_equal(count, 2);
    assert_false(obj_of("{\"a\":1,\"a\":2}", m, 2));
    assert_false(obj_of("{\"a\":1} x", m, 2));
    assert_false(obj_of("{\"a\":\"\x01\"}", m, 2));
    assert_false(obj_of("{\"a\":\"unterminated}", m, 2));
    memset(deep, '[', sizeof(deep));
    memcpy(deep, "{\"a\":", 5);
    assert_false(sl_json_object(deep, sizeof(deep), m, 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_tokens),
        cmocka_unit_test(test_signed_claims),
        cmocka_unit_test(test_jwks_files),
        cmocka_unit_test(test_json_reader),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
