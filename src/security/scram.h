/*
 * security/scram.h: SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677)
 * on the broker side: the credential store (salted and hashed, persisted)
 * and the two-step server exchange.
 *
 * Store file (<data dir>/__sluice_metadata/scram-credentials), ASCII,
 * lines end with '\n', fields separated by one space:
 *   sluice-scram 1
 *   cred <user hex> <256|512> <iterations> <salt hex> <stored key hex>
 *        <server key hex>                   (one line per credential)
 *   end <count>
 * Written whole to a temporary file, fsynced and renamed. Any deviation on
 * load is SL_ERR__CORRUPT.
 *
 * Owns: the store's table (under its mutex). An exchange state belongs to
 * one connection.
 */
#ifndef SL_SECURITY_SCRAM_H
#define SL_SECURITY_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Kafka's ScramMechanism codes in the admin APIs. */
typedef enum sl_scram_mech_e {
    SL_SCRAM_SHA_256 = 1,
    SL_SCRAM_SHA_512 = 2,
} sl_scram_mech_e;

#define SL_SCRAM_MIN_ITERATIONS 4096
#define SL_SCRAM_MAX_ITERATIONS 16384
#define SL_SCRAM_MAX_KEY 64 /* SHA-512 output */

typedef struct sl_scram_cred_s {
    int32_t iterations;
    uint8_t salt[128];
    size_t salt_len;
    uint8_t stored_key[SL_SCRAM_MAX_KEY];
    uint8_t server_key[SL_SCRAM_MAX_KEY];
} sl_scram_cred_t;

typedef struct sl_scram_store_s sl_scram_store_t;

/* Open (or create empty) the store under <data_dir>. @returns SL_OK,
 * SL_ERR__CORRUPT (a damaged file, logged) or SL_ERR__IO. */
sl_err_t sl_scram_store_open(const char *data_dir, sl_scram_store_t **out);
void sl_scram_store_close(sl_scram_store_t *s);

/* Copy <user>'s credential for <mech> into <out>. @returns false if none. */
bool sl_scram_store_get(sl_scram_store_t *s, const char *user,
                        sl_scram_mech_e mech, sl_scram_cred_t *out);

/* Set <user>'s credential for <mech> from the client-computed salted
 * password (AlterUserScramCredentials), and persist. */
sl_err_t sl_scram_store_upsert(sl_scram_store_t *s, const char *user,
                               sl_scram_mech_e mech, int32_t iterations,
                               const uint8_t *salt, size_t salt_len,
                               const uint8_t *salted, size_t salted_len);

/* Remove and persist. @returns SL_OK or SL_ERR__NOENT. */
sl_err_t sl_scram_store_delete(sl_scram_store_t *s, const char *user,
                               sl_scram_mech_e mech);

/* Call <cb> for every (user, mech, iterations), sorted by user. */
void sl_scram_store_each(sl_scram_store_t *s,
                         void (*cb)(void *arg, const char *user,
                                    sl_scram_mech_e mech, int32_t iterations),
                         void *arg);

/* Parse "SCRAM-SHA-256"/"SCRAM-SHA-512". @returns 0 when unknown. */
int sl_scram_mech_parse(const char *name, size_t len);
const char *sl_scram_mech_name(sl_scram_mech_e m);

/* Salted password for a plain password (Hi() of RFC 5802); for tests and
 * tools. <out> receives the digest size of <mech>. */
sl_err_t sl_scram_salted_password(sl_scram_mech_e mech, const char *pw,
                                  const uint8_t *salt, size_t salt_len,
                                  int32_t iterations, uint8_t *out,
                                  size_t *outlen);

/* One server-side exchange. */
typedef struct sl_scram_server_s sl_scram_server_t;

sl_scram_server_t *sl_scram_server_new(sl_scram_mech_e mech,
                                       sl_scram_store_t *store);
void sl_scram_server_free(void *st);

/*
 * Feed the client's next message <in>/<inlen> (hostile bytes). On success
 * writes the server's reply into <out> (NUL-terminated, *outlen bytes) and
 * sets *done after the final message (then *user holds the authenticated
 * name). @returns SL_OK, or SL_ERR__PROTO/SL_ERR_SASL_AUTHENTICATION_FAILED
 * with *why set to a message for the client.
 */
sl_err_t sl_scram_server_step(sl_scram_server_t *st, const uint8_t *in,
                              size_t inlen, char *out, size_t outcap,
                              size_t *outlen, bool *done, const char **user,
                              const char **why);

#endif
