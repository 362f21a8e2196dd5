/*
 * security/oauth.h: SASL/OAUTHBEARER (RFC 7628) on the broker side, with
 * Kafka's two validators:
 *
 * - unsecured JWS (Kafka's default, no JWKS configured): the header's
 *   "alg" must be "none", the "sub" claim names the principal, "exp"
 *   (seconds) must be in the future and "iat", when present, not in the
 *   future;
 * - signed JWTs (KIP-768's OAuthBearerValidatorCallbackHandler, a JWKS
 *   configured): the signature must verify with a key of the JWKS ("alg"
 *   none is refused), "exp" and "iat" are required, "exp" and "nbf" are
 *   checked with the allowed clock skew, "iss" must equal the expected
 *   issuer and "aud" hold one of the expected audiences when those are
 *   configured (a token with an "aud" claim is refused when no audience is
 *   expected, as Kafka's jose4j consumer does), and the subject claim
 *   (sasl.oauthbearer.sub.claim.name, default "sub") names the principal.
 */
#ifndef SL_SECURITY_OAUTH_H
#define SL_SECURITY_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "security/jwks.h"

/* How signed tokens are validated; owned by the caller, read-only. */
typedef struct sl_oauth_validator_s {
    const sl_jwks_t *jwks; /* NULL: unsecured tokens only */
    const char *audience;  /* expected audiences, comma-separated; NULL or
                              empty: none */
    const char *issuer;    /* expected issuer; NULL or empty: not checked */
    const char *sub_claim; /* NULL: "sub" */
    int64_t skew_ms;       /* allowed clock skew */
} sl_oauth_validator_t;

/*
 * Check the client's initial response <p>/<len> (hostile bytes) at time
 * <now_ms> (milliseconds since the epoch) with validator <v> (NULL:
 * unsecured tokens). On success writes the principal name into <user>.
 * @returns SL_OK, or SL_ERR_SASL_AUTHENTICATION_FAILED with *why set.
 * @thread any
 */
sl_err_t sl_oauth_validate(const sl_oauth_validator_t *v, const uint8_t *p,
                           size_t len, int64_t now_ms, char *user,
                           size_t usercap, const char **why);

/* sl_oauth_validate() for unsecured tokens (no JWKS). */
sl_err_t sl_oauth_check(const uint8_t *p, size_t len, int64_t now_ms,
                        char *user, size_t usercap, const char **why);

#endif
