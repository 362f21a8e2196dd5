/*
 * security/scram.c: SCRAM credentials (store and file) and the server side
 * of the SCRAM exchange (RFC 5802 section 5, with SHA-256 / SHA-512 as RFC
 * 7677 and Kafka use them). File format: see scram.h.
 */
#include "security/scram.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define SL_SCRAM_SUBDIR "__sluice_metadata"
#define SL_SCRAM_FILE "scram-credentials"
#define SL_SCRAM_MAX_USER 255
#define SL_SCRAM_MAX_MSG 4096

typedef struct sl_scram_entry_s {
    char *user;
    sl_scram_mech_e mech;
    sl_scram_cred_t cred;
} sl_scram_entry_t;

struct sl_scram_store_s {
    pthread_mutex_t lock;
    char path[4200];
    sl_scram_entry_t *v;
    size_t n, cap;
};

/* ---- helpers ------------------------------------------------------------ */

static const EVP_MD *
sl_scram_md(sl_scram_mech_e m)
{
    return m == SL_SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

int
sl_scram_mech_parse(const char *name, size_t len)
{
    if (len == 13 && memcmp(name, "SCRAM-SHA-256", 13) == 0) {
        return SL_SCRAM_SHA_256;
    }
    if (len == 13 && memcmp(name, "SCRAM-SHA-512", 13) == 0) {
        return SL_SCRAM_SHA_512;
    }
    return 0;
}

const char *
sl_scram_mech_name(sl_scram_mech_e m)
{
    return m == SL_SCRAM_SHA_512 ? "SCRAM-SHA-512" : "SCRAM-SHA-256";
}

static void
sl_scram_hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int
sl_scram_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Decode lowercase hex <s> into <out> (at most <cap> bytes). @returns the
 * length, or -1. */
static long
sl_scram_unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s);

    if (n % 2 != 0 || n / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = sl_scram_hexval(s[2 * i]), lo = sl_scram_hexval(s[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

/* Strict base64 decode of <s>/<n> into <out>. @returns length or -1. */
static long
sl_scram_unb64(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint8_t tmp[SL_SCRAM_MAX_MSG];
    int got;
    size_t pad = 0;

    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(tmp)) {
        return -1;
    }
    got = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
    if (got < 0) {
        return -1;
    }
    if (s[n - 1] == '=') {
        pad++;
        if (s[n - 2] == '=') {
            pad++;
        }
    }
    if ((size_t)got < pad || (size_t)got - pad > cap) {
        return -1;
    }
    memcpy(out, tmp, (size_t)got - pad);
    return (long)((size_t)got - pad);
}

static void
sl_scram_b64(const uint8_t *p, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static bool
sl_scram_hmac(sl_scram_mech_e m, const uint8_t *key, size_t klen,
              const void *data, size_t dlen, uint8_t *out)
{
    unsigned int olen = 0;

    return HMAC(sl_scram_md(m), key, (int)klen, data, dlen, out, &olen) != NULL;
}

sl_err_t
sl_scram_salted_password(sl_scram_mech_e mech, const char *pw,
                         const uint8_t *salt, size_t salt_len,
                         int32_t iterations, uint8_t *out, size_t *outlen)
{
    int n = EVP_MD_get_size(sl_scram_md(mech));

    if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, (int)salt_len, iterations,
                          sl_scram_md(mech), n, out) != 1) {
        return SL_ERR__INVAL;
    }
    *outlen = (size_t)n;
    return SL_OK;
}

/* StoredKey and ServerKey from a salted password. */
static bool
sl_scram_keys(sl_scram_mech_e m, const uint8_t *salted, size_t n,
              sl_scram_cred_t *c)
{
    uint8_t ck[SL_SCRAM_MAX_KEY];
    unsigned int len = 0;
    bool ok;

    ok = sl_scram_hmac(m, salted, n, "Client Key", 10, ck) &&
         EVP_Digest(ck, n, c->stored_key, &len, sl_scram_md(m), NULL) == 1 &&
         sl_scram_hmac(m, salted, n, "Server Key", 10, c->server_key);
    OPENSSL_cleanse(ck, sizeof(ck));
    return ok;
}

/* ---- store -------------------------------------------------------------- */

static sl_scram_entry_t *
sl_scram_find(sl_scram_store_t *s, const char *user, sl_scram_mech_e mech)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].mech == mech && strcmp(s->v[i].user, user) == 0) {
            return &s->v[i];
        }
    }
    return NULL;
}

static int
sl_scram_cmp(const void *a, const void *b)
{
    const sl_scram_entry_t *x = a, *y = b;
    int c = strcmp(x->user, y->user);

    return c != 0 ? c : (int)x->mech - (int)y->mech;
}

static sl_err_t
sl_scram_add(sl_scram_store_t *s, const char *user, size_t ulen,
             sl_scram_mech_e mech, const sl_scram_cred_t *cred)
{
    if (s->n == s->cap) {
        size_t cap = s->cap != 0 ? s->cap * 2 : 8;
        sl_scram_entry_t *v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].user = strndup(user, ulen);
    if (s->v[s->n].user == NULL) {
        return SL_ERR__NOMEM;
    }
    s->v[s->n].mech = mech;
    s->v[s->n].cred = *cred;
    s->n++;
    return SL_OK;
}

/* Write the whole table (lock held). */
static sl_err_t
sl_scram_save(sl_scram_store_t *s)
{
    char tmp[4300], hu[2 * SL_SCRAM_MAX_USER + 1], hs[257],
        hk1[2 * SL_SCRAM_MAX_KEY + 1], hk2[2 * SL_SCRAM_MAX_KEY + 1];
    FILE *f;
    int fd, ok;
    size_t kl;

    qsort(s->v, s->n, sizeof(*s->v), sl_scram_cmp);
    snprintf(tmp, sizeof(tmp), "%s.tmp", s->path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        sl_log_error("scram", "cannot write path=%s errno=%d", tmp, errno);
        return SL_ERR__IO;
    }
    fprintf(f, "sluice-scram 1\n");
    for (size_t i = 0; i < s->n; i++) {
        const sl_scram_entry_t *e = &s->v[i];

        kl = (size_t)EVP_MD_get_size(sl_scram_md(e->mech));
        sl_scram_hex((const uint8_t *)e->user, strlen(e->user), hu);
        sl_scram_hex(e->cred.salt, e->cred.salt_len, hs);
        sl_scram_hex(e->cred.stored_key, kl, hk1);
        sl_scram_hex(e->cred.server_key, kl, hk2);
        fprintf(f, "cred %s %s %d %s %s %s\n", hu,
                e->mech == SL_SCRAM_SHA_512 ? "512" : "256",
                (int)e->cred.iterations, hs, hk1, hk2);
    }
    fprintf(f, "end %zu\n", s->n);
    ok = fflush(f) == 0;
    fd = fileno(f);
    ok = ok && fsync(fd) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, s->path) != 0) {
        sl_log_error("scram", "cannot write path=%s errno=%d", s->path, errno);
        unlink(tmp);
        return SL_ERR__IO;
    }
    /* Make the rename durable. */
    {
        char dir[4200];
        char *slash;

        snprintf(dir, sizeof(dir), "%s", s->path);
        slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = '\0';
            fd = open(dir, O_RDONLY | O_DIRECTORY);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
        }
    }
    return SL_OK;
}

/* Parse one "cred" line's fields (hostile disk bytes). */
static sl_err_t
sl_scram_parse_line(sl_scram_store_t *s, char *line)
{
    char *f[7], *save = NULL, *tok;
    uint8_t user[SL_SCRAM_MAX_USER];
    sl_scram_cred_t c;
    long ul, kl, n;
    char *ep;
    int k = 0;
    sl_scram_mech_e mech;

    for (tok = strtok_r(line, " ", &save); tok != NULL && k < 7;
         tok = strtok_r(NULL, " ", &save)) {
        f[k++] = tok;
    }
    if (k != 7 || tok != NULL || strcmp(f[0], "cred") != 0) {
        return SL_ERR__CORRUPT;
    }
    memset(&c, 0, sizeof(c));
    ul = sl_scram_unhex(f[1], user, sizeof(user));
    if (ul <= 0 || memchr(user, 0, (size_t)ul) != NULL) {
        return SL_ERR__CORRUPT;
    }
    if (strcmp(f[2], "256") == 0) {
        mech = SL_SCRAM_SHA_256;
    } else if (strcmp(f[2], "512") == 0) {
        mech = SL_SCRAM_SHA_512;
    } else {
        return SL_ERR__CORRUPT;
    }
    errno = 0;
    n = strtol(f[3], &ep, 10);
    if (errno != 0 || *ep != '\0' || n < SL_SCRAM_MIN_ITERATIONS ||
        n > SL_SCRAM_MAX_ITERATIONS) {
        return SL_ERR__CORRUPT;
    }
    c.iterations = (int32_t)n;
    n = sl_scram_unhex(f[4], c.salt, sizeof(c.salt));
    if (n <= 0) {
        return SL_ERR__CORRUPT;
    }
    c.salt_len = (size_t)n;
    kl = EVP_MD_get_size(sl_scram_md(mech));
    if (sl_scram_unhex(f[5], c.stored_key, sizeof(c.stored_key)) != kl ||
        sl_scram_unhex(f[6], c.server_key, sizeof(c.server_key)) != kl) {
        return SL_ERR__CORRUPT;
    }
    if (sl_scram_find(s, (const char *)user, mech) != NULL) {
        return SL_ERR__CORRUPT; /* duplicate */
    }
    {
        char name[SL_SCRAM_MAX_USER + 1];

        memcpy(name, user, (size_t)ul);
        name[ul] = '\0';
        if (sl_scram_find(s, name, mech) != NULL) {
            return SL_ERR__CORRUPT;
        }
        return sl_scram_add(s, name, (size_t)ul, mech, &c);
    }
}

static sl_err_t
sl_scram_load(sl_scram_store_t *s)
{
    FILE *f = fopen(s->path, "r");
    char line[1024];
    size_t len, lines = 0;
    bool header = false, end = false;
    sl_err_t err = SL_OK;
    char *ep;
    unsigned long cnt;

    if (f == NULL) {
        return errno == ENOENT ? SL_OK : SL_ERR__IO;
    }
    while (err == SL_OK && fgets(line, sizeof(line), f) != NULL) {
        len = strlen(line);
        lines++;
        if (len == 0 || line[len - 1] != '\n' || end) {
            err = SL_ERR__CORRUPT;
            break;
        }
        line[len - 1] = '\0';
        if (!header) {
            header = true;
            if (strcmp(line, "sluice-scram 1") != 0) {
                err = SL_ERR__CORRUPT;
            }
        } else if (strncmp(line, "end ", 4) == 0) {
            errno = 0;
            cnt = strtoul(line + 4, &ep, 10);
            if (errno != 0 || *ep != '\0' || cnt != s->n) {
                err = SL_ERR__CORRUPT;
            }
            end = true;
        } else {
            err = sl_scram_parse_line(s, line);
        }
    }
    if (err == SL_OK && (!header || !end || ferror(f))) {
        err = SL_ERR__CORRUPT;
    }
    fclose(f);
    if (err != SL_OK) {
        sl_log_error("scram", "damaged credential file path=%s line=%zu",
                     s->path, lines);
    }
    return err;
}

sl_err_t
sl_scram_store_open(const char *data_dir, sl_scram_store_t **out)
{
    sl_scram_store_t *s = calloc(1, sizeof(*s));
    char dir[4096];
    sl_err_t err;

    *out = NULL;
    if (s == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    snprintf(dir, sizeof(dir), "%s/%s", data_dir, SL_SCRAM_SUBDIR);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        sl_log_error("scram", "cannot create dir=%s errno=%d", dir, errno);
        sl_scram_store_close(s);
        return SL_ERR__IO;
    }
    snprintf(s->path, sizeof(s->path), "%s/%s", dir, SL_SCRAM_FILE);
    err = sl_scram_load(s);
    if (err != SL_OK) {
        sl_scram_store_close(s);
        return err;
    }
    *out = s;
    return SL_OK;
}

void
sl_scram_store_close(sl_scram_store_t *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].user);
    }
    OPENSSL_cleanse(s->v, s->n * sizeof(*s->v));
    free(s->v);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

bool
sl_scram_store_get(sl_scram_store_t *s, const char *user, sl_scram_mech_e mech,
                   sl_scram_cred_t *out)
{
    sl_scram_entry_t *e;

    pthread_mutex_lock(&s->lock);
    e = sl_scram_find(s, user, mech);
    if (e != NULL) {
        *out = e->cred;
    }
    pthread_mutex_unlock(&s->lock);
    return e != NULL;
}

sl_err_t
sl_scram_store_upsert(sl_scram_store_t *s, const char *user,
                      sl_scram_mech_e mech, int32_t iterations,
                      const uint8_t *salt, size_t salt_len,
                      const uint8_t *salted, size_t salted_len)
{
    sl_scram_cred_t c;
    sl_scram_entry_t *e;
    sl_err_t err;
    size_t ulen = strlen(user);

    if (ulen == 0 || ulen > SL_SCRAM_MAX_USER || salt_len == 0 ||
        salt_len > sizeof(c.salt) ||
        salted_len != (size_t)EVP_MD_get_size(sl_scram_md(mech)) ||
        iterations < SL_SCRAM_MIN_ITERATIONS ||
        iterations > SL_SCRAM_MAX_ITERATIONS) {
        return SL_ERR__INVAL;
    }
    memset(&c, 0, sizeof(c));
    c.iterations = iterations;
    memcpy(c.salt, salt, salt_len);
    c.salt_len = salt_len;
    if (!sl_scram_keys(mech, salted, salted_len, &c)) {
        return SL_ERR__INVAL;
    }
    pthread_mutex_lock(&s->lock);
    e = sl_scram_find(s, user, mech);
    if (e != NULL) {
        e->cred = c;
        err = SL_OK;
    } else {
        err = sl_scram_add(s, user, ulen, mech, &c);
    }
    if (err == SL_OK) {
        err = sl_scram_save(s);
    }
    pthread_mutex_unlock(&s->lock);
    OPENSSL_cleanse(&c, sizeof(c));
    return err;
}

sl_err_t
sl_scram_store_delete(sl_scram_store_t *s, const char *user,
                      sl_scram_mech_e mech)
{
    sl_scram_entry_t *e;
    sl_err_t err;

    pthread_mutex_lock(&s->lock);
    e = sl_scram_find(s, user, mech);
    if (e == NULL) {
        pthread_mutex_unlock(&s->lock);
        return SL_ERR__NOENT;
    }
    free(e->user);
    *e = s->v[--s->n];
    err = sl_scram_save(s);
    pthread_mutex_unlock(&s->lock);
    return err;
}

void
sl_scram_store_each(sl_scram_store_t *s,
                    void (*cb)(void *arg, const char *user,
                               sl_scram_mech_e mech, int32_t iterations),
                    void *arg)
{
    pthread_mutex_lock(&s->lock);
    qsort(s->v, s->n, sizeof(*s->v), sl_scram_cmp);
    for (size_t i = 0; i < s->n; i++) {
        cb(arg, s->v[i].user, s->v[i].mech, s->v[i].cred.iterations);
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- exchange ----------------------------------------------------------- */

struct sl_scram_server_s {
    sl_scram_mech_e mech;
    sl_scram_store_t *store;
    int step; /* 0: expect client-first, 1: expect client-final, 2: done */
    char user[SL_SCRAM_MAX_USER + 1];
    char gs2[SL_SCRAM_MAX_MSG];
    char client_first_bare[SL_SCRAM_MAX_MSG];
    char server_first[SL_SCRAM_MAX_MSG];
    char nonce[SL_SCRAM_MAX_MSG]; /* client nonce + server nonce */
    sl_scram_cred_t cred;
};

sl_scram_server_t *
sl_scram_server_new(sl_scram_mech_e mech, sl_scram_store_t *store)
{
    sl_scram_server_t *st = calloc(1, sizeof(*st));

    if (st != NULL) {
        st->mech = mech;
        st->store = store;
    }
    return st;
}

void
sl_scram_server_free(void *p)
{
    if (p != NULL) {
        OPENSSL_cleanse(p, sizeof(sl_scram_server_t));
        free(p);
    }
}

/* saslname: "=2C" is ',', "=3D" is '=', no other '='. */
static bool
sl_scram_decode_name(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        char ch = p[i];

        if (ch == '=') {
            if (i + 2 >= n) {
                return false;
            }
            if (p[i + 1] == '2' && p[i + 2] == 'C') {
                ch = ',';
            } else if (p[i + 1] == '3' && p[i + 2] == 'D') {
                ch = '=';
            } else {
                return false;
            }
            i += 2;
        } else if (ch == '\0' || ch == ',') {
            return false;
        }
        if (k + 1 >= cap) {
            return false;
        }
        out[k++] = ch;
    }
    out[k] = '\0';
    return k > 0;
}

/* Find attribute <a>= at the start of a comma-separated part. */
static const char *
sl_scram_attr(const char *msg, char a, size_t *len)
{
    const char *p = msg, *e;

    for (;;) {
        e = strchr(p, ',');
        if (p[0] == a && p[1] == '=') {
            *len = (size_t)((e != NULL ? e : p + strlen(p)) - p - 2);
            return p + 2;
        }
        if (e == NULL) {
            return NULL;
        }
        p = e + 1;
    }
}

static sl_err_t
sl_scram_first(sl_scram_server_t *st, const char *msg, char *out, size_t outcap,
               size_t *outlen, const char **why)
{
    const char *p = msg, *bare, *name, *nonce;
    size_t nl = 0, nn = 0;
    uint8_t rnd[24];
    char snonce[64], salt64[200];
    int w;

    /* gs2-header: ("n" | "y") "," [ "a=" authzid ] "," */
    if ((p[0] != 'n' && p[0] != 'y') || p[1] != ',') {
        *why = "Invalid SCRAM client first message (channel binding is not "
               "supported)";
        return SL_ERR__PROTO;
    }
    bare = strchr(p + 2, ',');
    if (bare == NULL || (bare != p + 2 && strncmp(p + 2, "a=", 2) != 0)) {
        *why = "Invalid SCRAM client first message";
        return SL_ERR__PROTO;
    }
    bare++;
    memcpy(st->gs2, p, (size_t)(bare - p));
    st->gs2[bare - p] = '\0';
    if (strncmp(bare, "n=", 2) != 0) {
        *why = "Invalid SCRAM client first message: no user name";
        return SL_ERR__PROTO;
    }
    name = sl_scram_attr(bare, 'n', &nl);
    nonce = sl_scram_attr(bare, 'r', &nn);
    if (name == NULL || nonce == NULL || nn == 0 ||
        !sl_scram_decode_name(name, nl, st->user, sizeof(st->user))) {
        *why = "Invalid SCRAM client first message";
        return SL_ERR__PROTO;
    }
    if (strstr(bare, ",tokenauth=true") != NULL) {
        *why = "Delegation token authentication is not supported";
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (!sl_scram_store_get(st->store, st->user, st->mech, &st->cred)) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    snprintf(st->client_first_bare, sizeof(st->client_first_bare), "%s", bare);
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return SL_ERR__NOMEM;
    }
    sl_scram_b64(rnd, sizeof(rnd), snonce);
    w = snprintf(st->nonce, sizeof(st->nonce), "%.*s%s", (int)nn, nonce,
                 snonce);
    if (w < 0 || (size_t)w >= sizeof(st->nonce)) {
        return SL_ERR__PROTO;
    }
    sl_scram_b64(st->cred.salt, st->cred.salt_len, salt64);
    w = snprintf(st->server_first, sizeof(st->server_first), "r=%s,s=%s,i=%d",
                 st->nonce, salt64, (int)st->cred.iterations);
    if (w < 0 || (size_t)w >= sizeof(st->server_first) || (size_t)w >= outcap) {
        return SL_ERR__PROTO;
    }
    memcpy(out, st->server_first, (size_t)w + 1);
    *outlen = (size_t)w;
    st->step = 1;
    return SL_OK;
}

static sl_err_t
sl_scram_final(sl_scram_server_t *st, const char *msg, char *out, size_t outcap,
               size_t *outlen, const char **why)
{
    const char *pp, *cb, *r;
    size_t cbl = 0, rl = 0, nl,
           kl = (size_t)EVP_MD_get_size(sl_scram_md(st->mech));
    uint8_t gs2[SL_SCRAM_MAX_MSG], proof[SL_SCRAM_MAX_KEY],
        csig[SL_SCRAM_MAX_KEY], ckey[SL_SCRAM_MAX_KEY],
        stored[SL_SCRAM_MAX_KEY], ssig[SL_SCRAM_MAX_KEY];
    char auth[3 * SL_SCRAM_MAX_MSG + 4], sig64[100];
    unsigned int hl = 0;
    long n;
    int w;

    pp = strstr(msg, ",p=");
    cb = sl_scram_attr(msg, 'c', &cbl);
    r = sl_scram_attr(msg, 'r', &rl);
    if (pp == NULL || cb == NULL || r == NULL || strchr(pp + 3, ',') != NULL) {
        *why = "Invalid SCRAM client final message";
        return SL_ERR__PROTO;
    }
    n = sl_scram_unb64(cb, cbl, gs2, sizeof(gs2));
    if (n < 0 || (size_t)n != strlen(st->gs2) ||
        memcmp(gs2, st->gs2, (size_t)n) != 0) {
        *why = "Invalid SCRAM client final message: channel binding differs";
        return SL_ERR__PROTO;
    }
    /* As Kafka: the client's nonce must end with the server-first nonce
     * (some clients send their own nonce in front of it again). */
    nl = strlen(st->nonce);
    if (rl < nl || memcmp(r + rl - nl, st->nonce, nl) != 0) {
        *why = "Invalid SCRAM client final message: nonce differs";
        return SL_ERR__PROTO;
    }
    n = sl_scram_unb64(pp + 3, strlen(pp + 3), proof, sizeof(proof));
    if (n < 0 || (size_t)n != kl) {
        *why = "Invalid SCRAM client final message: bad proof";
        return SL_ERR__PROTO;
    }
    w = snprintf(auth, sizeof(auth), "%s,%s,%.*s", st->client_first_bare,
                 st->server_first, (int)(pp - msg), msg);
    if (w < 0 || (size_t)w >= sizeof(auth)) {
        return SL_ERR__PROTO;
    }
    if (!sl_scram_hmac(st->mech, st->cred.stored_key, kl, auth, (size_t)w,
                       csig)) {
        return SL_ERR__NOMEM;
    }
    for (size_t i = 0; i < kl; i++) {
        ckey[i] = proof[i] ^ csig[i];
    }
    if (EVP_Digest(ckey, kl, stored, &hl, sl_scram_md(st->mech), NULL) != 1 ||
        CRYPTO_memcmp(stored, st->cred.stored_key, kl) != 0) {
        return SL_ERR_SASL_AUTHENTICATION_FAILED;
    }
    if (!sl_scram_hmac(st->mech, st->cred.server_key, kl, auth, (size_t)w,
                       ssig)) {
        return SL_ERR__NOMEM;
    }
    sl_scram_b64(ssig, kl, sig64);
    w = snprintf(out, outcap, "v=%s", sig64);
    if (w < 0 || (size_t)w >= outcap) {
        return SL_ERR__PROTO;
    }
    *outlen = (size_t)w;
    st->step = 2;
    return SL_OK;
}

sl_err_t
sl_scram_server_step(sl_scram_server_t *st, const uint8_t *in, size_t inlen,
                     char *out, size_t outcap, size_t *outlen, bool *done,
                     const char **user, const char **why)
{
    char msg[SL_SCRAM_MAX_MSG];
    sl_err_t err;

    *done = false;
    *why = st->mech == SL_SCRAM_SHA_512
               ? "Authentication failed during authentication due to invalid "
                 "credentials with SASL mechanism SCRAM-SHA-512"
               : "Authentication failed during authentication due to invalid "
                 "credentials with SASL mechanism SCRAM-SHA-256";
    if (in == NULL || inlen == 0 || inlen >= sizeof(msg) ||
        memchr(in, 0, inlen) != NULL) {
        st->step = 3;
        return SL_ERR__PROTO;
    }
    memcpy(msg, in, inlen);
    msg[inlen] = '\0';
    if (st->step == 0) {
        err = sl_scram_first(st, msg, out, outcap, outlen, why);
    } else if (st->step == 1) {
        err = sl_scram_final(st, msg, out, outcap, outlen, why);
        if (err == SL_OK) {
            *done = true;
            *user = st->user;
        }
    } else {
        err = SL_ERR__PROTO;
    }
    if (err != SL_OK) {
        st->step = 3; /* failed exchanges never resume */
    }
    return err;
}
