/*
 * security/jwks.h: a JSON Web Key Set (RFC 7517) of public keys, read from
 * a file, and the verification of JWS signatures (RFC 7515/7518) with it:
 * RS256/384/512 and PS256/384/512 with RSA keys of at least 2048 bits,
 * ES256/384/512 with P-256/P-384/P-521 keys. Keys whose "use" is not
 * "sig", of other types or curves, or that cannot be built, are left out
 * (and counted in sl_jwks_skipped()).
 *
 * Owns: the key set, immutable once loaded, so any thread may verify with
 * it at once.
 */
#ifndef SL_SECURITY_JWKS_H
#define SL_SECURITY_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_jwks_s sl_jwks_t;

#define SL_JWKS_MAX_FILE (1024 * 1024)
#define SL_JWKS_MAX_KEYS 64

/*
 * Parse the JWKS document <json>/<len> ({"keys": [...]}).
 * @returns the set (with at least one usable key), or NULL with *why set.
 */
sl_jwks_t *sl_jwks_parse(const char *json, size_t len, const char **why);

/*
 * Load a JWKS file named by <url>: "file:///abs/path" (as Kafka's
 * sasl.oauthbearer.jwks.endpoint.url takes) or a plain path. Other
 * schemes (https://) are refused: the broker fetches nothing.
 * @returns the set, or NULL with *why set.
 */
sl_jwks_t *sl_jwks_load(const char *url, const char **why);

void sl_jwks_free(sl_jwks_t *k);

/* Usable keys in the set, and keys left out. */
size_t sl_jwks_count(const sl_jwks_t *k);
size_t sl_jwks_skipped(const sl_jwks_t *k);

/*
 * Verify signature <sig>/<siglen> (decoded, in JWS form) by algorithm
 * <alg> over <input>/<inlen> (the token's "header.claims" text) with the
 * key whose "kid" is <kid>, or when <kid> is NULL with any key that fits
 * <alg>. @returns SL_OK, or SL_ERR_SASL_AUTHENTICATION_FAILED with *why.
 * @thread any
 */
sl_err_t sl_jwks_verify(const sl_jwks_t *k, const char *alg, const char *kid,
                        const uint8_t *input, size_t inlen, const uint8_t *sig,
                        size_t siglen, const char **why);

#endif
