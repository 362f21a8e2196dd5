/*
 * security/json.c: the bounded JSON reader of json.h (objects' top-level
 * members, array elements, strings) and base64url, for OAUTHBEARER tokens
 * and JWKS files.
 */
#include "security/json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SL_JSON_MAX_DEPTH 32

typedef struct sl_json_s {
    const char *p, *end;
} sl_json_t;

long
sl_json_b64url(const char *s, size_t n, uint8_t *out, size_t cap)
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

static void
sl_json_ws(sl_json_t *j)
{
    while (j->p < j->end && isspace((unsigned char)*j->p)) {
        j->p++;
    }
}

static int
sl_json_hex(char h)
{
    if (h >= '0' && h <= '9') {
        return h - '0';
    }
    h = (char)tolower((unsigned char)h);
    return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* Read a string at j->p (at '"') into <out> (may be NULL). \uXXXX keeps
 * only ASCII (others become '?'). *fits (may be NULL) tells whether it fit
 * <cap>; a string that does not fit is still read to its end. */
static bool
sl_json_string(sl_json_t *j, char *out, size_t cap, bool *fits)
{
    size_t n = 0;

    if (fits != NULL) {
        *fits = true;
    }
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
                    int h = sl_json_hex(*j->p++);

                    if (h < 0) {
                        return false;
                    }
                    v = v * 16 + (unsigned)h;
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
                if (fits == NULL) {
                    return false;
                }
                *fits = false;
            } else {
                out[n++] = c;
            }
        }
    }
    if (j->p >= j->end) {
        return false;
    }
    j->p++;
    if (out != NULL && cap > 0) {
        out[n] = '\0';
    }
    return true;
}

/* Skip any value; nesting is capped at SL_JSON_MAX_DEPTH. */
static bool
sl_json_skip(sl_json_t *j, int depth)
{
    sl_json_ws(j);
    if (j->p >= j->end || depth > SL_JSON_MAX_DEPTH) {
        return false;
    }
    if (*j->p == '"') {
        return sl_json_string(j, NULL, 0, NULL);
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
                if (!sl_json_string(j, NULL, 0, NULL)) {
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
            return *j->p++ == close;
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

/* Fill member <m> from the value at j->p. */
static bool
sl_json_value(sl_json_t *j, sl_json_member_t *m)
{
    const char *v = j->p;

    if (j->p < j->end && *j->p == '"') {
        bool fits;

        if (!sl_json_string(j, m->str, sizeof(m->str), &fits)) {
            return false;
        }
        m->kind = fits ? SL_JSON_STRING : SL_JSON_LONG_STR;
    } else {
        char num[64];
        size_t l;
        char *ep;

        if (!sl_json_skip(j, 0)) {
            return false;
        }
        l = (size_t)(j->p - v);
        m->kind = SL_JSON_OTHER;
        if (l > 0 && l < sizeof(num) &&
            (isdigit((unsigned char)*v) || *v == '-')) {
            memcpy(num, v, l);
            num[l] = '\0';
            m->num = strtod(num, &ep);
            if (*ep == '\0') {
                m->kind = SL_JSON_NUMBER;
            }
        }
    }
    m->raw = v;
    m->rawlen = (size_t)(j->p - v);
    return true;
}

bool
sl_json_object(const char *s, size_t n, sl_json_member_t *m, int nm)
{
    sl_json_t j = {s, s + n};
    char key[128];

    for (int i = 0; i < nm; i++) {
        m[i].kind = SL_JSON_ABSENT;
        m[i].raw = NULL;
        m[i].rawlen = 0;
    }
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
        bool fits;

        sl_json_ws(&j);
        if (!sl_json_string(&j, key, sizeof(key), &fits)) {
            return false;
        }
        sl_json_ws(&j);
        if (j.p >= j.end || *j.p++ != ':') {
            return false;
        }
        sl_json_ws(&j);
        for (int i = 0; fits && i < nm; i++) {
            if (strcmp(m[i].key, key) == 0) {
                hit = i;
            }
        }
        if (hit >= 0) {
            if (m[hit].kind != SL_JSON_ABSENT) {
                return false; /* duplicate member */
            }
            if (!sl_json_value(&j, &m[hit])) {
                return false;
            }
        } else if (!sl_json_skip(&j, 0)) {
            return false;
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

bool
sl_json_array_next(const char *s, size_t n, const char **pos, const char **elem,
                   size_t *elen, bool *ok)
{
    sl_json_t j = {s, s + n};

    *ok = false;
    if (*pos == NULL) {
        sl_json_ws(&j);
        if (j.p >= j.end || *j.p++ != '[') {
            return false;
        }
        sl_json_ws(&j);
        if (j.p < j.end && *j.p == ']') {
            *ok = true;
            return false;
        }
    } else {
        j.p = *pos;
        sl_json_ws(&j);
        if (j.p >= j.end) {
            return false;
        }
        if (*j.p == ']') {
            *ok = true;
            return false;
        }
        if (*j.p++ != ',') {
            return false;
        }
    }
    sl_json_ws(&j);
    *elem = j.p;
    if (!sl_json_skip(&j, 1)) {
        return false;
    }
    *elen = (size_t)(j.p - *elem);
    *pos = j.p;
    *ok = true;
    return true;
}

bool
sl_json_str(const char *s, size_t n, char *out, size_t cap)
{
    sl_json_t j = {s, s + n};

    if (!sl_json_string(&j, out, cap, NULL)) {
        return false;
    }
    sl_json_ws(&j);
    return j.p == j.end;
}
