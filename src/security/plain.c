/*
 * security/plain.c: PLAIN (RFC 4616) message parsing, and the user table
 * read from Kafka's PlainLoginModule JAAS options.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "security/sasl.h"

typedef struct sl_sasl_user_s {
    char *name;
    char *pw;
    size_t pwlen;
} sl_sasl_user_t;

struct sl_sasl_users_s {
    sl_sasl_user_t *v;
    size_t n, cap;
};

void
sl_sasl_users_free(sl_sasl_users_t *u)
{
    if (u == NULL) {
        return;
    }
    for (size_t i = 0; i < u->n; i++) {
        free(u->v[i].name);
        if (u->v[i].pw != NULL) {
            memset(u->v[i].pw, 0, u->v[i].pwlen);
        }
        free(u->v[i].pw);
    }
    free(u->v);
    free(u);
}

size_t
sl_sasl_users_count(const sl_sasl_users_t *u)
{
    return u != NULL ? u->n : 0;
}

static sl_err_t
sl_sasl_users_add(sl_sasl_users_t *u, const char *name, size_t nlen,
                  const char *pw, size_t pwlen)
{
    sl_sasl_user_t *e;

    if (u->n == u->cap) {
        size_t cap = u->cap != 0 ? u->cap * 2 : 8;
        sl_sasl_user_t *v = realloc(u->v, cap * sizeof(*v));

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        u->v = v;
        u->cap = cap;
    }
    e = &u->v[u->n];
    e->name = strndup(name, nlen);
    e->pw = strndup(pw, pwlen);
    e->pwlen = pwlen;
    if (e->name == NULL || e->pw == NULL) {
        free(e->name);
        free(e->pw);
        return SL_ERR__NOMEM;
    }
    u->n++;
    return SL_OK;
}

/* Read one option value at *pp into <buf> (unescaped); *pp moves past it.
 * @returns the length, or -1 when malformed or longer than <cap>. */
static long
sl_sasl_jaas_value(const char **pp, char *buf, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;

    if (*p == '"') {
        p++;
        while (*p != '"') {
            if (*p == '\0') {
                return -1;
            }
            if (*p == '\\' && p[1] != '\0') {
                p++;
            }
            if (n + 1 >= cap) {
                return -1;
            }
            buf[n++] = *p++;
        }
        p++;
    } else {
        while (*p != '\0' && !isspace((unsigned char)*p) && *p != ';') {
            if (n + 1 >= cap) {
                return -1;
            }
            buf[n++] = *p++;
        }
        if (n == 0) {
            return -1;
        }
    }
    buf[n] = '\0';
    *pp = p;
    return (long)n;
}

sl_sasl_users_t *
sl_sasl_users_parse(const char *jaas, const char **why)
{
    sl_sasl_users_t *u = calloc(1, sizeof(*u));
    const char *p = jaas != NULL ? jaas : "";
    char key[512], val[1024];
    long vlen;
    size_t klen;

    if (u == NULL) {
        *why = "out of memory";
        return NULL;
    }
    /* Login module class and control flag come first: skip two words. */
    for (int w = 0; w < 2; w++) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        while (*p != '\0' && !isspace((unsigned char)*p) && *p != ';') {
            p++;
        }
    }
    for (;;) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0' || *p == ';') {
            break;
        }
        klen = 0;
        while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p)) {
            if (klen + 1 >= sizeof(key)) {
                *why = "option name too long";
                goto fail;
            }
            key[klen++] = *p++;
        }
        key[klen] = '\0';
        if (*p != '=' || klen == 0) {
            *why = "expected name=\"value\" options";
            goto fail;
        }
        p++;
        vlen = sl_sasl_jaas_value(&p, val, sizeof(val));
        if (vlen < 0) {
            *why = "malformed or too long option value";
            goto fail;
        }
        if (klen > 5 && strncmp(key, "user_", 5) == 0 &&
            sl_sasl_users_add(u, key + 5, klen - 5, val, (size_t)vlen) !=
                SL_OK) {
            *why = "out of memory";
            goto fail;
        }
    }
    memset(val, 0, sizeof(val));
    return u;

fail:
    memset(val, 0, sizeof(val));
    sl_sasl_users_free(u);
    return NULL;
}

bool
sl_sasl_users_check(const sl_sasl_users_t *u, const char *user,
                    const uint8_t *pw, size_t pwlen)
{
    const sl_sasl_user_t *e = NULL;
    unsigned diff;
    size_t i;

    for (i = 0; u != NULL && i < u->n; i++) {
        if (strcmp(u->v[i].name, user) == 0) {
            e = &u->v[i];
            break;
        }
    }
    if (e == NULL) {
        return false;
    }
    /* Compare over the client's length so the time does not tell where
     * the first difference is. */
    diff = e->pwlen != pwlen;
    for (i = 0; i < pwlen; i++) {
        uint8_t want = i < e->pwlen ? (uint8_t)e->pw[i] : 0;
        diff |= (unsigned)(want ^ pw[i]);
    }
    return diff == 0;
}

sl_err_t
sl_sasl_plain_parse(const uint8_t *p, size_t len, sl_sasl_plain_t *out,
                    const char **why)
{
    const uint8_t *nul1, *nul2, *end = p + len;
    size_t zl, cl;

    memset(out, 0, sizeof(*out));
    nul1 = p != NULL ? memchr(p, 0, len) : NULL;
    nul2 = nul1 != NULL ? memchr(nul1 + 1, 0, (size_t)(end - nul1 - 1)) : NULL;
    if (nul1 == NULL || nul2 == NULL ||
        memchr(nul2 + 1, 0, (size_t)(end - nul2 - 1)) != NULL) {
        *why = "Invalid SASL/PLAIN response: expected 3 tokens";
        return SL_ERR__PROTO;
    }
    zl = (size_t)(nul1 - p);
    cl = (size_t)(nul2 - nul1 - 1);
    if (cl == 0) {
        *why = "Authentication failed: username not specified";
        return SL_ERR__PROTO;
    }
    if (end == nul2 + 1) {
        *why = "Authentication failed: password not specified";
        return SL_ERR__PROTO;
    }
    if (zl >= sizeof(out->authzid) || cl >= sizeof(out->authcid)) {
        *why = "Authentication failed: username too long";
        return SL_ERR__PROTO;
    }
    memcpy(out->authzid, p, zl);
    memcpy(out->authcid, nul1 + 1, cl);
    if (zl != 0 && strcmp(out->authzid, out->authcid) != 0) {
        *why = "Authentication failed: Client requested an authorization id "
               "that is different from username";
        return SL_ERR__PROTO;
    }
    out->passwd = nul2 + 1;
    out->passwd_len = (size_t)(end - nul2 - 1);
    return SL_OK;
}

bool
sl_sasl_jaas_option(const char *jaas, const char *name, char *out, size_t cap)
{
    const char *p = jaas != NULL ? jaas : "";
    size_t nlen = strlen(name);
    char val[1024];
    long vlen;

    /* Login module class and control flag, then name=value options. */
    for (int w = 0; w < 2; w++) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        while (*p != '\0' && !isspace((unsigned char)*p) && *p != ';') {
            p++;
        }
    }
    for (;;) {
        const char *k;

        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0' || *p == ';') {
            return false;
        }
        k = p;
        while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p)) {
            p++;
        }
        if (*p != '=') {
            return false;
        }
        p++;
        vlen = sl_sasl_jaas_value(&p, val, sizeof(val));
        if (vlen < 0) {
            return false;
        }
        if ((size_t)(p - k) > nlen && strncmp(k, name, nlen) == 0 &&
            k[nlen] == '=') {
            if ((size_t)vlen >= cap) {
                return false;
            }
            memcpy(out, val, (size_t)vlen + 1);
            return true;
        }
    }
}
