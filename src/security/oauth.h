/*
 * security/oauth.h: SASL/OAUTHBEARER (RFC 7628) on the broker side with
 * Kafka's default validator for unsecured JWS tokens: the header's "alg"
 * must be "none", the "sub" claim names the principal, "exp" (seconds)
 * must be in the future and "iat", when present, not in the future.
 * Signed tokens (JWKS) are not validated yet and are refused.
 */
#ifndef SL_SECURITY_OAUTH_H
#define SL_SECURITY_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/*
 * Check the client's initial response <p>/<len> (hostile bytes) at time
 * <now_ms>. On success writes the principal name into <user>.
 * @returns SL_OK, or SL_ERR_SASL_AUTHENTICATION_FAILED with *why set.
 */
sl_err_t sl_oauth_check(const uint8_t *p, size_t len, int64_t now_ms,
                        char *user, size_t usercap, const char **why);

#endif
