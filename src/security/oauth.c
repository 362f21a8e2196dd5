/*
 * security/oauth.c: OAUTHBEARER client-first message parsing and the
 * validation of unsecured JWS tokens (see oauth.h), with a small JSON
 * reader for the token's header and claims (top-level members only).
 */
#include "security/oauth.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SL_OAUTH_MAX_TOKEN 8192

/* base64url (no padding) into <out>. @returns the length, or -1. */
static long
sl_oauth_b64url(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        int v;
        char c = s[i];

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '-') {
            v = 62;
        } else if (c == '_') {
            v = 63;
        } else if (c == '=') {
            break; /* tolerate padding */
        } else {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= cap) {
                return -1;
            }
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)k;
}

/* ---- JSON: just enough to read top-level string and number members ---- */

typedef struct sl_json_s {
    const char *p, *end;
} sl_json_t;

static void
sl_json_ws(sl_json_t *j)
{
    while (j->p < j->end && isspace((unsigned char)*j->p)) {
        j->p++;
    }
}

/* Read a string at j->p (at '"') into <out> (may be NULL). Escapes other
 * than \uXXXX are decoded; \uXXXX keeps only ASCII. */
static bool
sl_json_string(sl_json_t *j, char *out, size_t cap)
{
    size_t n = 0;

    if (j->p >= j->end || *j->p != '"') {
        return false;
    }
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;

        if ((unsigned char)c < 0x20) {
            return false;
        }
        if (c == '\\') {
            if (j->p >= j->end) {
                return false;
            }
            c = *j->p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned v = 0;

                if (j->end - j->p < 4) {
                    return false;
                }
                for (int i = 0; i < 4; i++) {
                    char h = *j->p++;

                    if (!isxdigit((unsigned char)h)) {
                        return false;
                    }
                    v = v * 16 + (unsigned)(isdigit((unsigned char)h)
                                                ? h - '0'
                                                : (tolower((unsigned char)h) -
                                                   'a' + 10));
                }
                c = v < 0x80 && v != 0 ? (char)v : '?';
                break;
            }
            case '"':
            case '\\':
            case '/':
                break;
            default:
                return false;
            }
        }
        if (out != NULL) {
            if (n + 1 >= cap) {
                return false;
            }
            out[n++] = c;
        }
    }
    if (j->p >= j->end) {
        return false;
    }
    j->p++;
    if (out != NULL) {
        out[n] = '\0';
    }
    return true;
}

/* Skip any value; nesting is bounded by the token size. */
static bool
sl_json_skip(sl_json_t *j, int depth)
{
    sl_json_ws(j);
    if (j->p >= j->end || depth > 32) {
        return false;
    }
    if (*j->p == '"') {
        return sl_json_string(j, NULL, 0);
    }
    if (*j->p == '{' || *j->p == '[') {
        char close = *j->p == '{' ? '}' : ']';

        j->p++;
        sl_json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return true;
        }
        for (;;) {
            if (close == '}') {
                sl_json_ws(j);
                if (!sl_json_string(j, NULL, 0)) {
                    return false;
                }
                sl_json_ws(j);
                if (j->p >= j->end || *j->p++ != ':') {
                    return false;
                }
            }
            if (!sl_json_skip(j, depth + 1)) {
                return false;
            }
            sl_json_ws(j);
            if (j->p >= j->end) {
                return false;
            }
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != close) {
                return false;
            }
            return true;
        }
    }
    /* number, true, false, null */
    if (!(isalnum((unsigned char)*j->p) || *j->p == '-')) {
        return false;
    }
    while (j->p < j->end && (isalnum((unsigned char)*j->p) || *j->p == '-' ||
                             *j->p == '+' || *j->p == '.')) {
        j->p++;
    }
    return true;
}

typedef struct sl_json_member_s {
    const char *key;
    char str[256]; /* string value */
    double num;    /* number value */
    int kind;      /* 0 absent, 1 string, 2 number, 3 other */
} sl_json_member_t;

/* Read the top-level object <s>/<n>, filling the members asked for. */
static bool
sl_json_object(const char *s, size_t n, sl_json_member_t *m, int nm)
{
    sl_json_t j = {s, s + n};
    char key[128];

    sl_json_ws(&j);
    if (j.p >= j.end || *j.p++ != '{') {
        return false;
    }
    sl_json_ws(&j);
    if (j.p < j.end && *j.p == '}') {
        j.p++;
        goto end;
    }
    for (;;) {
        int hit = -1;
        const char *v;

        sl_json_ws(&j);
        if (!sl_json_string(&j, key, sizeof(key))) {
            return false;
        }
        sl_json_ws(&j);
        if (j.p >= j.end || *j.p++ != ':') {
            return false;
        }
        sl_json_ws(&j);
        for (int i = 0; i < nm; i++) {
            if (strcmp(m[i].key, key) == 0) {
                hit = i;
            }
        }
        v = j.p;
        if (hit >= 0 && m[hit].kind != 0) {
            return false; /* duplicate member */
        }
        if (hit >= 0 && j.p < j.end && *j.p == '"') {
            if (!sl_json_string(&j, m[hit].str, sizeof(m[hit].str))) {
                return false;
            }
            m[hit].kind = 1;
        } else {
            if (!sl_json_skip(&j, 0)) {
                return false;
            }
            if (hit >= 0) {
                char num[64];
                size_t l = (size_t)(j.p - v);
                char *ep;

                m[hit].kind = 3;
                if (l > 0 && l < sizeof(num) &&
                    (isdigit((unsigned char)*v) || *v == '-')) {
                    memcpy(num, v, l);
                    num[l] = '\0';
                    m[hit].num = strtod(num, &ep);
                    if (*ep == '\0') {
                        m[hit].kind = 2;
                    }
                }
            }
        }
        sl_json_ws(&j);
        if (j.p >= j.end) {
            return false;
        }
        if (*j.p == ',') {
            j.p++;
            continue;
        }
        if (*j.p++ != '}') {
            return false;
        }
        break;
    }
end:
    sl_json_ws(&j);
    return j.p == j.end;
}

sl_err_t
sl_oauth_check(const uint8_t *p, size_t len, int64_t now_ms, char *user,
               size_t usercap, const char **why)
{
    static const char bearer[] = "auth=Bearer ";
    const char *s = (const char *)p, *end = s + len, *kv, *tok = NULL,
               *tokend = NULL, *dot1, *dot2;
    uint8_t hdr[1024], claims[SL_OAUTH_MAX_TOKEN];
    long hl, cl;
    sl_json_member_t h[1] = {{.key = "alg"}};
    sl_json_member_t c[3] = {{.key = "sub"}, {.key = "exp"}, {.key = "iat"}};

    *why = "Authentication failed: invalid OAUTHBEARER message";
    if (p == NULL || len == 0 || len > SL_OAUTH_MAX_TOKEN ||
        memchr(p, 0, len) != NULL) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    /* gs2 header "n,[a=...]," then \x01-separated key=value pairs. */
    if (len < 3 || (s[0] != 'n' && s[0] != 'y') || s[1] != ',') {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    kv = memchr(s + 2, ',', len - 2);
    if (kv == NULL || kv + 1 >= end || kv[1] != '\x01') {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    for (const char *q = kv + 2; q < end;) {
        const char *e = memchr(q, '\x01', (size_t)(end - q));

        if (e == NULL) {
            return SL_ERR_SASL_AUTHENTICATION_FAILED;
        }
        if (e == q) {
            break; /* the final empty pair */
        }
        if ((size_t)(e - q) > sizeof(bearer) - 1 &&
            memcmp(q, bearer, sizeof(bearer) - 1) == 0) {
            tok = q + sizeof(bearer) - 1;
            tokend = e;
        }
        q = e + 1;
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
    if (dot2 + 1 != tokend) {
        *why = "Authentication failed: signed tokens are not supported (only "
               "unsecured JWS)";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    hl = sl_oauth_b64url(tok, (size_t)(dot1 - tok), hdr, sizeof(hdr));
    cl = sl_oauth_b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims,
                         sizeof(claims));
    if (hl <= 0 || cl <= 0 ||
        !sl_json_object((const char *)hdr, (size_t)hl, h, 1) ||
        !sl_json_object((const char *)claims, (size_t)cl, c, 3)) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (h[0].kind != 1 || strcmp(h[0].str, "none") != 0) {
        *why = "Authentication failed: the token's alg is not none";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[0].kind != 1 || c[0].str[0] == '\0') {
        *why = "Authentication failed: the token has no sub claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[1].kind != 2) {
        *why = "Authentication failed: the token has no numeric exp claim";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[1].num * 1000.0 <= (double)now_ms) {
        *why = "Authentication failed: the token has expired";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (c[2].kind == 3 ||
        (c[2].kind == 2 && c[2].num * 1000.0 > (double)now_ms + 1000.0)) {
        *why = "Authentication failed: the token's iat is invalid";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (strlen(c[0].str) >= usercap) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    memcpy(user, c[0].str, strlen(c[0].str) + 1);
    return SL_OK;
}
