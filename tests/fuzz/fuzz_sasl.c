/*
 * fuzz_sasl: the SASL message parsers on hostile bytes. The first input
 * byte picks the target: PLAIN message parsing and checking against a
 * fixed user table, JAAS option parsing, an OAUTHBEARER initial response
 * (unsecured JWS, then signed JWT against a fixed one-key JWKS, which also
 * fuzzes the JSON reader), or a SCRAM exchange (the rest of
 * the input is split at the first 0xff byte into client-first and
 * client-final messages) against a store holding one credential.
 * Nothing may crash, read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security/oauth.h"
#include "security/sasl.h"
#include "security/scram.h"

static sl_scram_store_t *sl_fuzz_store;
static sl_sasl_users_t *sl_fuzz_users;
static sl_jwks_t *sl_fuzz_jwks;

/* A P-256 public key (its private half was thrown away). */
static const char sl_fuzz_jwks_json[] =
    "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":\"P-256\","
    "\"x\":\"BdMUDJBJjZ2ehPTH6fNJQ-hVDQGfvwhfctYm9Ho30bw\","
    "\"y\":\"77SWVCC5ghwKvHKcg2IpDqfm_TvZ0I7YBzdLjCqvraM\"}]}";

static void
sl_fuzz_init(void)
{
    char dir[] = "/tmp/sl-fuzz-sasl-XXXXXX";
    uint8_t salt[8] = "saltsalt", salted[64];
    size_t n = 0;
    const char *why = NULL;

    if (mkdtemp(dir) == NULL ||
        sl_scram_store_open(dir, &sl_fuzz_store) != SL_OK) {
        abort();
    }
    sl_scram_salted_password(SL_SCRAM_SHA_256, "pw", salt, sizeof(salt), 4096,
                             salted, &n);
    if (sl_scram_store_upsert(sl_fuzz_store, "u", SL_SCRAM_SHA_256, 4096, salt,
                              sizeof(salt), salted, n) != SL_OK) {
        abort();
    }
    sl_fuzz_users =
        sl_sasl_users_parse("M required user_u=\"pw\" user_v=\"x\";", &why);
    sl_fuzz_jwks =
        sl_jwks_parse(sl_fuzz_jwks_json, sizeof(sl_fuzz_jwks_json) - 1, &why);
    if (sl_fuzz_jwks == NULL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL, *user = NULL;
    char out[1024];
    size_t outlen = 0;
    bool done = false;

    if (sl_fuzz_store == NULL) {
        sl_fuzz_init();
    }
    if (size < 1) {
        return 0;
    }
    switch (data[0] % 4) {
    case 3: {
        char name[256];

        sl_oauth_validator_t v = {.jwks = sl_fuzz_jwks,
                                  .audience = "a,b",
                                  .issuer = "i",
                                  .skew_ms = 30000};

        (void)sl_oauth_check(data + 1, size - 1, 1700000000000LL, name,
                             sizeof(name), &why);
        (void)sl_oauth_validate(&v, data + 1, size - 1, 1700000000000LL, name,
                                sizeof(name), &why);
        break;
    }
    case 0: {
        sl_sasl_plain_t m;

        if (sl_sasl_plain_parse(data + 1, size - 1, &m, &why) == SL_OK) {
            (void)sl_sasl_users_check(sl_fuzz_users, m.authcid, m.passwd,
                                      m.passwd_len);
        }
        break;
    }
    case 1: {
        char *s = malloc(size);
        sl_sasl_users_t *u;

        if (s == NULL) {
            return 0;
        }
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        u = sl_sasl_users_parse(s, &why);
        sl_sasl_users_free(u);
        {
            char v[64];

            (void)sl_sasl_jaas_option(s, "keyTab", v, sizeof(v));
        }
        free(s);
        break;
    }
    default: {
        const uint8_t *sep = memchr(data + 1, 0xff, size - 1);
        size_t l1 = sep != NULL ? (size_t)(sep - data - 1) : size - 1;
        sl_scram_server_t *s =
            sl_scram_server_new(SL_SCRAM_SHA_256, sl_fuzz_store);

        if (s == NULL) {
            return 0;
        }
        if (sl_scram_server_step(s, data + 1, l1, out, sizeof(out), &outlen,
                                 &done, &user, &why) == SL_OK &&
            sep != NULL) {
            (void)sl_scram_server_step(
                s, sep + 1, size - (size_t)(sep + 1 - data), out, sizeof(out),
                &outlen, &done, &user, &why);
        }
        sl_scram_server_free(s);
        break;
    }
    }
    return 0;
}
