/* Unit tests for security/: PLAIN messages and JAAS users, the SCRAM
 * credential store and a full SCRAM exchange against a client computed
 * here (RFC 5802), including wrong passwords and tampered messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security/oauth.h"
#include "security/sasl.h"
#include "security/scram.h"

static void
test_plain_parse(void **state)
{
    sl_sasl_plain_t m;
    const char *why = NULL;
    static const uint8_t ok[] = "\0alice\0secret";
    static const uint8_t authz[] = "alice\0alice\0pw";
    static const uint8_t other[] = "bob\0alice\0pw";

    (void)state;
    assert_int_equal(sl_sasl_plain_parse(ok, sizeof(ok) - 1, &m, &why), SL_OK);
    assert_string_equal(m.authcid, "alice");
    assert_int_equal(m.passwd_len, 6);
    assert_memory_equal(m.passwd, "secret", 6);
    assert_int_equal(sl_sasl_plain_parse(authz, sizeof(authz) - 1, &m, &why),
                     SL_OK);
    assert_int_not_equal(
        sl_sasl_plain_parse(other, sizeof(other) - 1, &m, &why), SL_OK);
    assert_non_null(strstr(why, "authorization id"));
    assert_int_not_equal(
        sl_sasl_plain_parse((const uint8_t *)"a\0b", 3, &m, &why), SL_OK);
    assert_int_not_equal(
        sl_sasl_plain_parse((const uint8_t *)"\0\0pw", 4, &m, &why), SL_OK);
    assert_int_not_equal(
        sl_sasl_plain_parse((const uint8_t *)"\0u\0", 3, &m, &why), SL_OK);
    assert_int_not_equal(
        sl_sasl_plain_parse((const uint8_t *)"\0u\0p\0x", 6, &m, &why), SL_OK);
    assert_int_not_equal(sl_sasl_plain_parse(NULL, 0, &m, &why), SL_OK);
}

static void
test_jaas_users(void **state)
{
    const char *why = NULL;
    sl_sasl_users_t *u = sl_sasl_users_parse(
        "org.apache.kafka.common.security.plain.PlainLoginModule required\n"
        "  username=\"admin\" password=\"admin-secret\"\n"
        "  user_admin=\"admin-secret\" user_alice=\"a \\\"q\\\" b\" "
        "user_bare=word;",
        &why);

    (void)state;
    assert_non_null(u);
    assert_int_equal(sl_sasl_users_count(u), 3);
    assert_true(
        sl_sasl_users_check(u, "admin", (const uint8_t *)"admin-secret", 12));
    assert_true(
        sl_sasl_users_check(u, "alice", (const uint8_t *)"a \"q\" b", 7));
    assert_true(sl_sasl_users_check(u, "bare", (const uint8_t *)"word", 4));
    assert_false(
        sl_sasl_users_check(u, "admin", (const uint8_t *)"admin-secre", 11));
    assert_false(
        sl_sasl_users_check(u, "admin", (const uint8_t *)"admin-secretX", 13));
    assert_false(sl_sasl_users_check(u, "nobody", (const uint8_t *)"x", 1));
    sl_sasl_users_free(u);
    assert_null(sl_sasl_users_parse("M required user_x=\"unterminated;", &why));
    assert_null(sl_sasl_users_parse("M required novalue", &why));
}

/* ---- SCRAM ---- */

static char tmpdir[256];

static int
setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sl-test-scram-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
    char cmd[512];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
b64(const uint8_t *p, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

/* A client: builds client-final from server-first with <pw>. */
static void
client_final(sl_scram_mech_e mech, const char *pw, const char *first_bare,
             const char *server_first, char *out, size_t cap)
{
    const EVP_MD *md = mech == SL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
    size_t kl = (size_t)EVP_MD_get_size(md);
    uint8_t salt[128], salted[64], ck[64], sk[64], sig[64], proof[64];
    char nonce[256], salt64[256], wo[512], auth[2048], p64[128];
    unsigned int l = 0;
    int it = 0, sl;
    const char *s = strstr(server_first, ",s="),
               *i = strstr(server_first, ",i=");

    snprintf(nonce, sizeof(nonce), "%.*s", (int)(s - server_first - 2),
             server_first + 2);
    snprintf(salt64, sizeof(salt64), "%.*s", (int)(i - s - 3), s + 3);
    it = atoi(i + 3);
    sl = EVP_DecodeBlock(salt, (const unsigned char *)salt64,
                         (int)strlen(salt64));
    while (sl > 0 && salt64[strlen(salt64) - 1] == '=' &&
           salt64[strlen(salt64) - 1 - (size_t)0] == '=') {
        /* drop padding bytes */
        salt64[strlen(salt64) - 1] = '\0';
        sl--;
    }
    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sl, it, md, (int)kl, salted);
    HMAC(md, salted, (int)kl, (const uint8_t *)"Client Key", 10, ck, &l);
    EVP_Digest(ck, kl, sk, &l, md, NULL);
    snprintf(wo, sizeof(wo), "c=biws,r=%s", nonce);
    snprintf(auth, sizeof(auth), "%s,%s,%s", first_bare, server_first, wo);
    HMAC(md, sk, (int)kl, (const uint8_t *)auth, strlen(auth), sig, &l);
    for (size_t k = 0; k < kl; k++) {
        proof[k] = ck[k] ^ sig[k];
    }
    b64(proof, kl, p64);
    snprintf(out, cap, "%s,p=%s", wo, p64);
}

/* Run an exchange; @returns the status of the final step. */
static sl_err_t
exchange(sl_scram_store_t *st, sl_scram_mech_e mech, const char *user,
         const char *pw, bool tamper)
{
    sl_scram_server_t *s = sl_scram_server_new(mech, st);
    char first[256], out[1024], fin[1024];
    const char *u = NULL, *why = NULL;
    size_t outlen = 0;
    bool done = false;
    sl_err_t err;

    snprintf(first, sizeof(first), "n,,n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
    err = sl_scram_server_step(s, (const uint8_t *)first, strlen(first), out,
                               sizeof(out), &outlen, &done, &u, &why);
    if (err != SL_OK) {
        sl_scram_server_free(s);
        return err;
    }
    assert_false(done);
    assert_int_equal(strncmp(out, "r=fyko+d2lbbFgONRv9qkxdawL", 26), 0);
    client_final(mech, pw, first + 3, out, fin, sizeof(fin));
    if (tamper) {
        fin[strlen("c=biws,r=") + 2] ^= 1; /* change the nonce */
    }
    err = sl_scram_server_step(s, (const uint8_t *)fin, strlen(fin), out,
                               sizeof(out), &outlen, &done, &u, &why);
    if (err == SL_OK) {
        assert_true(done);
        assert_string_equal(u, strcmp(user, "user=2C=3Dx") == 0 ? "user,=x"
                                                                : user);
        assert_int_equal(strncmp(out, "v=", 2), 0);
    }
    sl_scram_server_free(s);
    return err;
}

static void
test_scram_exchange_and_store(void **state)
{
    sl_scram_store_t *st = NULL;
    uint8_t salt[16] = "0123456789abcdef", salted[64];
    size_t n = 0;

    (void)state;
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_OK);
    assert_int_equal(sl_scram_salted_password(SL_SCRAM_SHA_256, "pencil", salt,
                                              16, 4096, salted, &n),
                     SL_OK);
    assert_int_equal(n, 32);
    assert_int_equal(sl_scram_store_upsert(st, "user,=x", SL_SCRAM_SHA_256,
                                           4096, salt, 16, salted, n),
                     SL_OK);
    assert_int_equal(sl_scram_salted_password(SL_SCRAM_SHA_512, "pen", salt, 16,
                                              8192, salted, &n),
                     SL_OK);
    assert_int_equal(sl_scram_store_upsert(st, "bob", SL_SCRAM_SHA_512, 8192,
                                           salt, 16, salted, n),
                     SL_OK);
    /* Kafka's limits on iterations. */
    assert_int_not_equal(sl_scram_store_upsert(st, "c", SL_SCRAM_SHA_512, 100,
                                               salt, 16, salted, n),
                         SL_OK);

    assert_int_equal(
        exchange(st, SL_SCRAM_SHA_256, "user=2C=3Dx", "pencil", false), SL_OK);
    assert_int_equal(
        exchange(st, SL_SCRAM_SHA_256, "user=2C=3Dx", "pencil2", false),
        SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_int_not_equal(
        exchange(st, SL_SCRAM_SHA_256, "user=2C=3Dx", "pencil", true), SL_OK);
    assert_int_equal(exchange(st, SL_SCRAM_SHA_512, "bob", "pen", false),
                     SL_OK);
    /* bob has no SHA-256 credential; unknown users fail too. */
    assert_int_not_equal(exchange(st, SL_SCRAM_SHA_256, "bob", "pen", false),
                         SL_OK);
    assert_int_not_equal(exchange(st, SL_SCRAM_SHA_256, "nobody", "x", false),
                         SL_OK);
    sl_scram_store_close(st);

    /* Reopen: the credentials were persisted. */
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_OK);
    assert_int_equal(exchange(st, SL_SCRAM_SHA_512, "bob", "pen", false),
                     SL_OK);
    assert_int_equal(sl_scram_store_delete(st, "bob", SL_SCRAM_SHA_512), SL_OK);
    assert_int_equal(sl_scram_store_delete(st, "bob", SL_SCRAM_SHA_512),
                     SL_ERR__NOENT);
    sl_scram_store_close(st);
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_OK);
    assert_int_not_equal(exchange(st, SL_SCRAM_SHA_512, "bob", "pen", false),
                         SL_OK);
    sl_scram_store_close(st);
}

static void
test_scram_damaged_file(void **state)
{
    char path[512];
    sl_scram_store_t *st = NULL;
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/__sluice_metadata/scram-credentials",
             tmpdir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("sluice-scram 1\ncred 616263 256 4096 00 zz 00\nend 1\n", f);
    fclose(f);
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_ERR__CORRUPT);
    f = fopen(path, "w");
    fputs("sluice-scram 1\nend 3\n", f);
    fclose(f);
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_ERR__CORRUPT);
    f = fopen(path, "w");
    fputs("sluice-scram 1\nend 0\n", f);
    fclose(f);
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_OK);
    sl_scram_store_close(st);
}

static void
test_scram_malformed_messages(void **state)
{
    static const char *const bad[] = {
        "",          "p=tls-unique,,n=a,r=x", "n,,r=x",     "n,,n=a",
        "n,,n=,r=x", "n,,n=a=ZZ,r=x",         "x,,n=a,r=x", "n,a,n=a,r=x",
    };
    sl_scram_store_t *st = NULL;
    char out[1024];
    const char *u, *why;
    size_t outlen;
    bool done;

    (void)state;
    assert_int_equal(sl_scram_store_open(tmpdir, &st), SL_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_scram_server_t *s = sl_scram_server_new(SL_SCRAM_SHA_256, st);

        assert_int_not_equal(
            sl_scram_server_step(s, (const uint8_t *)bad[i], strlen(bad[i]),
                                 out, sizeof(out), &outlen, &done, &u, &why),
            SL_OK);
        sl_scram_server_free(s);
    }
    sl_scram_store_close(st);
}

static void
test_oauth_unsecured(void **state)
{
    /* {"alg":"none"} . {"sub":"alice","exp":2000000000,"iat":1} . */
    static const char ok[] =
        "n,,\x01"
        "auth=Bearer eyJhbGciOiJub25lIn0."
        "eyJzdWIiOiJhbGljZSIsImV4cCI6MjAwMDAwMDAwMCwiaWF0IjoxfQ.\x01\x01";
    char user[64];
    const char *why = NULL;

    (void)state;
    assert_int_equal(sl_oauth_check((const uint8_t *)ok, strlen(ok),
                                    1700000000000LL, user, sizeof(user), &why),
                     SL_OK);
    assert_string_equal(user, "alice");
    /* After exp (2000000000 s) the token has expired. */
    assert_int_equal(sl_oauth_check((const uint8_t *)ok, strlen(ok),
                                    2000000001000LL, user, sizeof(user), &why),
                     SL_ERR_SASL_AUTHENTICATION_FAILED);
    assert_non_null(strstr(why, "expired"));
    assert_int_not_equal(sl_oauth_check((const uint8_t *)"n,,\x01\x01", 5, 1,
                                        user, sizeof(user), &why),
                         SL_OK);
    assert_int_not_equal(
        sl_oauth_check((const uint8_t *)"x", 1, 1, user, sizeof(user), &why),
        SL_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_parse),
        cmocka_unit_test(test_jaas_users),
        cmocka_unit_test(test_scram_exchange_and_store),
        cmocka_unit_test(test_scram_damaged_file),
        cmocka_unit_test(test_scram_malformed_messages),
        cmocka_unit_test(test_oauth_unsecured),
    };

    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
