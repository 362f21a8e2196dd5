/*
 * security/oauth.c: OAUTHBEARER client-first message parsing and the two
 * token validators of oauth.h: unsecured JWS, and signed JWTs checked
 * against a JWKS (signature by security/jwks.c, claims here).
 */
#include "security/oauth.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "security/json.h"

#define SL_OAUTH_MAX_TOKEN 16384
#define SL_OAUTH_MAX_SIG 1024 /* an 8192-bit RSA signature */

/* The bearer token of the client-first message <p>/<len> ("n,,\x01auth=
 * Bearer <token>\x01\x01"): @returns true with *tok and *tokend set. */
static bool
sl_oauth_bearer(const uint8_t *p, size_t len, const char **tok,
                const char **tokend)
{
    static const char bearer[] = "auth=Bearer ";
    const char *s = (const char *)p, *end = s + len, *kv;

    *tok = NULL;
    /* gs2 header "n,[a=...]," then \x01-separated key=value pairs. */
    if (len < 3 || (s[0] != 'n' && s[0] != 'y') || s[1] != ',') {
        return false;
    }
    kv = memchr(s + 2, ',', len - 2);
    if (kv == NULL || kv + 1 >= end || kv[1] != '\x01') {
        return false;
    }
    for (const char *q = kv + 2; q < end;) {
        const char *e = memchr(q, '\x01', (size_t)(end - q));

        if (e == NULL) {
            return false;
        }
        if (e == q) {
            break; /* the final empty pair */
        }
        if ((size_t)(e - q) > sizeof(bearer) - 1 &&
            memcmp(q, bearer, sizeof(bearer) - 1) == 0) {
            *tok = q + sizeof(bearer) - 1;
            *tokend = e;
        }
        q = e + 1;
    }
    return true;
}

/* Whether <aud> (a string or an array of strings) holds one of the
 * comma-separated <expected> audiences (exact match). */
static bool
sl_oauth_aud_ok(const sl_json_member_t *aud, const char *expected)
{
    const char *e = expected;

    while (*e != '\0') {
        const char *pos = NULL, *elem;
        size_t elen, n;
        char one[256];
        bool ok;

        while (*e == ',' || *e == ' ') {
            e++;
        }
        n = strcspn(e, ",");
        while (n > 0 && e[n - 1] == ' ') {
            n--;
        }
        if (n == 0) {
            break;
        }
        if (aud->kind == SL_JSON_STRING) {
            if (strlen(aud->str) == n && memcmp(aud->str, e, n) == 0) {
                return true;
            }
        } else if (aud->kind == SL_JSON_OTHER) {
            while (sl_json_array_next(aud->raw, aud->rawlen, &pos, &elem, &elen,
                                      &ok)) {
                if (sl_json_str(elem, elen, one, sizeof(one)) &&
                    strlen(one) == n && memcmp(one, e, n) == 0) {
                    return true;
                }
            }
        }
        e += strcspn(e, ",");
    }
    return false;
}

/* The claims of a signed token, after its signature verified. */
static sl_err_t
sl_oauth_signed_claims(const sl_oauth_validator_t *v, const char *claims,
                       size_t clen, int64_t now_ms, char *user, size_t usercap,
                       const char **why)
{
    sl_json_member_t c[6] = {
        {.key = v->sub_claim != NULL && v->sub_claim[0] != '\0' ? v->sub_claim
                                                                : "sub"},
        {.key = "exp"},
        {.key = "iat"},
        {.key = "nbf"},
        {.key = "iss"},
        {.key = "aud"}};
    const char *sub;
    size_t sublen;

    if (!sl_json_object(claims, clen, c, 6)) {
        *why = "Authentication failed: malformed token";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[1].kind != SL_JSON_NUMBER) {
        *why = "Authentication failed: the token has no numeric exp claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[2].kind != SL_JSON_NUMBER || c[2].num < 0) {
        *why = "Authentication failed: the token has no valid iat claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if ((double)(now_ms - v->skew_ms) >= c[1].num * 1000.0) {
        *why = "Authentication failed: the token has expired";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[3].kind != SL_JSON_ABSENT &&
        (c[3].kind != SL_JSON_NUMBER ||
         (double)(now_ms + v->skew_ms) < c[3].num * 1000.0)) {
        *why = "Authentication failed: the token is not valid yet (nbf)";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (v->issuer != NULL && v->issuer[0] != '\0' &&
        (c[4].kind != SL_JSON_STRING || strcmp(c[4].str, v->issuer) != 0)) {
        *why = "Authentication failed: the token's issuer (iss) is not the "
               "expected one";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (v->audience != NULL && v->audience[0] != '\0') {
        if (!sl_oauth_aud_ok(&c[5], v->audience)) {
            *why = "Authentication failed: the token's audience (aud) is not "
                   "an expected one";
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
    } else if (c[5].kind != SL_JSON_ABSENT) {
        *why = "Authentication failed: the token has an audience (aud) but "
               "no expected audience is configured "
               "(sasl.oauthbearer.expected.audience)";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    sub = c[0].str;
    while (c[0].kind == SL_JSON_STRING && isspace((unsigned char)*sub)) {
        sub++;
    }
    sublen = c[0].kind == SL_JSON_STRING ? strlen(sub) : 0;
    while (sublen > 0 && isspace((unsigned char)sub[sublen - 1])) {
        sublen--;
    }
    if (sublen == 0 || sublen >= usercap) {
        *why = "Authentication failed: the token has no subject claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    memcpy(user, sub, sublen);
    user[sublen] = '\0';
    return SL_OK;
}

/* The claims of an unsecured token. */
static sl_err_t
sl_oauth_unsecured_claims(const char *claims, size_t clen, int64_t now_ms,
                          char *user, size_t usercap, const char **why)
{
    sl_json_member_t c[3] = {{.key = "sub"}, {.key = "exp"}, {.key = "iat"}};

    if (!sl_json_object(claims, clen, c, 3)) {
        *why = "Authentication failed: malformed token";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[0].kind != SL_JSON_STRING || c[0].str[0] == '\0') {
        *why = "Authentication failed: the token has no sub claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[1].kind != SL_JSON_NUMBER) {
        *why = "Authentication failed: the token has no numeric exp claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[1].num * 1000.0 <= (double)now_ms) {
        *why = "Authentication failed: the token has expired";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[2].kind == SL_JSON_OTHER || c[2].kind == SL_JSON_STRING ||
        c[2].kind == SL_JSON_LONG_STR ||
        (c[2].kind == SL_JSON_NUMBER &&
         c[2].num * 1000.0 > (double)now_ms + 1000.0)) {
        *why = "Authentication failed: the token's iat is invalid";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (strlen(c[0].str) >= usercap) {
        *why = "Authentication failed: the token's sub is too long";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    memcpy(user, c[0].str, strlen(c[0].str) + 1);
    return SL_OK;
}

sl_err_t
sl_oauth_validate(const sl_oauth_validator_t *v, const uint8_t *p, size_t len,
                  int64_t now_ms, char *user, size_t usercap, const char **why)
{
    const char *tok = NULL, *tokend = NULL, *dot1, *dot2;
    uint8_t hdr[1024], sig[SL_OAUTH_MAX_SIG], claims[SL_OAUTH_MAX_TOKEN];
    long hl, cl, sl = 0;
    sl_json_member_t h[2] = {{.key = "alg"}, {.key = "kid"}};
    bool is_signed = v != NULL && v->jwks != NULL;
    sl_err_t err;

    *why = "Authentication failed: invalid OAUTHBEARER message";
    if (p == NULL || len == 0 || len > SL_OAUTH_MAX_TOKEN ||
        memchr(p, 0, len) != NULL || !sl_oauth_bearer(p, len, &tok, &tokend)) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (tok == NULL) {
        *why = "Authentication failed: no bearer token";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    dot1 = memchr(tok, '.', (size_t)(tokend - tok));
    dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', (size_t)(tokend - dot1 - 1))
                        : NULL;
    *why = "Authentication failed: malformed token";
    if (dot1 == NULL || dot2 == NULL) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    hl = sl_json_b64url(tok, (size_t)(dot1 - tok), hdr, sizeof(hdr));
    cl = sl_json_b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims,
                        sizeof(claims));
    if (dot2 + 1 < tokend) {
        sl = sl_json_b64url(dot2 + 1, (size_t)(tokend - dot2 - 1), sig,
                            sizeof(sig));
    }
    if (hl <= 0 || cl <= 0 || sl < 0 ||
        !sl_json_object((const char *)hdr, (size_t)hl, h, 2) ||
        h[0].kind != SL_JSON_STRING ||
        (h[1].kind != SL_JSON_ABSENT && h[1].kind != SL_JSON_STRING)) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (!is_signed) {
        if (dot2 + 1 != tokend) {
            *why = "Authentication failed: signed tokens need a JWKS "
                   "(sasl.oauthbearer.jwks.endpoint.url); only unsecured "
                   "tokens are accepted";
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
        if (strcmp(h[0].str, "none") != 0) {
            *why = "Authentication failed: the token's alg is not none";
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
        return sl_oauth_unsecured_claims((const char *)claims, (size_t)cl,
                                         now_ms, user, usercap, why);
    }
    if (strcmp(h[0].str, "none") == 0 || sl == 0) {
        *why = "Authentication failed: unsecured tokens (alg none) are not "
               "accepted when a JWKS is configured";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    err = sl_jwks_verify(
        v->jwks, h[0].str, h[1].kind == SL_JSON_STRING ? h[1].str : NULL,
        (const uint8_t *)tok, (size_t)(dot2 - tok), sig, (size_t)sl, why);
    if (err != SL_OK) {
        return err;
    }
    return sl_oauth_signed_claims(v, (const char *)claims, (size_t)cl, now_ms,
                                  user, usercap, why);
}

sl_err_t
sl_oauth_check(const uint8_t *p, size_t len, int64_t now_ms, char *user,
               size_t usercap, const char **why)
{
    return sl_oauth_validate(NULL, p, len, now_ms, user, usercap, why);
}
