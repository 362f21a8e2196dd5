/*
 * cluster/metastore_file.c: the metastore's files. It owns the format of
 * the topics file and of meta.properties, the atomic write, and the stored
 * topic object's allocation. It holds no state and takes no locks.
 *
 * Topics file (<data dir>/__sluice_metadata/topics), ASCII text, lines end
 * with '\n', fields are separated by one space:
 *
 *   sluice-topics 1                         magic, format version
 *   then for each topic, in name order:
 *   topic <name> <id> <partitions> <n>      name per Kafka's rules; id: 32
 *                                           lowercase hex digits, not zero;
 *                                           partitions: 1..1000000;
 *                                           n: config lines that follow
 *   epochs <e0> ... <e(partitions-1)>       leader epochs, 0..2^31-1
 *   config <key> =<value>                   n times; the value after '=' is
 *                                           percent-escaped: bytes outside
 *                                           '!'..'~' and '%' become %XX
 *   end <topics> <crc>                      topic count; crc: CRC-32C of
 *                                           every byte before this line, as
 *                                           8 lowercase hex digits
 *
 * The parser is strict: any deviation (bad magic, unknown version, an
 * extra space, a NUL byte, a duplicate name or id, a count or checksum
 * mismatch, a config that no longer validates, bytes after the end line)
 * is SL_ERR__CORRUPT, so a damaged file is reported and never silently
 * loses topics.
 *
 * meta.properties (<data dir>/meta.properties), Java properties as Kafka
 * writes it: "version=1", "cluster.id=<22-char base64url UUID>",
 * "node.id=<int>", "directory.id=<22-char base64url UUID>"; '#' lines are
 * comments.
 */
#include "cluster/metastore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/log.h"

#define SL_METASTORE_MAGIC "sluice-topics 1\n"

/* ---- topic objects ------------------------------------------------- */

sl_mtopic_t *
sl_metastore_topic_new(const char *name, const sl_uuid_t *id,
                       int32_t partitions)
{
    sl_mtopic_t *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->id = *id;
    t->partitions = partitions;
    t->epochs =
        calloc((size_t)(partitions > 0 ? partitions : 1), sizeof(int32_t));
    if (t->epochs == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

sl_mtopic_t *
sl_metastore_topic_clone(const sl_mtopic_t *t, int32_t partitions)
{
    sl_mtopic_t *c = sl_metastore_topic_new(t->name, &t->id, partitions);

    if (c == NULL) {
        return NULL;
    }
    memcpy(c->epochs, t->epochs, (size_t)t->partitions * sizeof(int32_t));
    if (sl_topic_config_map_copy(&c->configs, &t->configs) != SL_OK) {
        sl_metastore_topic_free(c);
        return NULL;
    }
    return c;
}

void
sl_metastore_topic_free(sl_mtopic_t *t)
{
    if (t == NULL) {
        return;
    }
    free(t->epochs);
    sl_topic_config_map_clear(&t->configs);
    free(t);
}

/* ---- encoding ------------------------------------------------------ */

typedef struct sl_metastore_out_s {
    char *p;
    size_t len, cap;
    bool oom;
} sl_metastore_out_t;

static void
sl_metastore_out_put(sl_metastore_out_t *o, const char *s, size_t n)
{
    if (o->oom) {
        return;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        char *p;
        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        if ((p = realloc(o->p, cap)) == NULL) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void
sl_metastore_out_str(sl_metastore_out_t *o, const char *s)
{
    sl_metastore_out_put(o, s, strlen(s));
}

static void
sl_metastore_out_fmt(sl_metastore_out_t *o, const char *fmt, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), fmt, v);

    sl_metastore_out_put(o, tmp, (size_t)n);
}

static void
sl_metastore_out_escaped(sl_metastore_out_t *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[3];
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < '!' || *p > '~' || *p == '%') {
            esc[0] = '%';
            esc[1] = hex[*p >> 4];
            esc[2] = hex[*p & 15];
            sl_metastore_out_put(o, esc, 3);
        } else {
            sl_metastore_out_put(o, (const char *)p, 1);
        }
    }
}

sl_err_t
sl_metastore_encode(sl_mtopic_t *const *topics, size_t n, char **buf,
                    size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    sl_metastore_out_t o = {0};
    char id[33], crc[32] = "";
    size_t i, j;
    int32_t p;

    sl_metastore_out_str(&o, SL_METASTORE_MAGIC);
    for (i = 0; i < n; i++) {
        const sl_mtopic_t *t = topics[i];
        for (j = 0; j < 16; j++) {
            id[2 * j] = hex[t->id.b[j] >> 4];
            id[2 * j + 1] = hex[t->id.b[j] & 15];
        }
        id[32] = '\0';
        sl_metastore_out_str(&o, "topic ");
        sl_metastore_out_str(&o, t->name);
        sl_metastore_out_str(&o, " ");
        sl_metastore_out_str(&o, id);
        sl_metastore_out_fmt(&o, " %" PRId64, t->partitions);
        sl_metastore_out_fmt(&o, " %" PRId64 "\nepochs", (int64_t)t->configs.n);
        for (p = 0; p < t->partitions; p++) {
            sl_metastore_out_fmt(&o, " %" PRId64, t->epochs[p]);
        }
        sl_metastore_out_str(&o, "\n");
        for (j = 0; j < t->configs.n; j++) {
            sl_metastore_out_str(&o, "config ");
            sl_metastore_out_str(&o, t->configs.kv[j].key);
            sl_metastore_out_str(&o, " =");
            sl_metastore_out_escaped(&o, t->configs.kv[j].value);
            sl_metastore_out_str(&o, "\n");
        }
    }
    if (!o.oom) {
        snprintf(crc, sizeof(crc), " %08" PRIx32 "\n",
                 sl_crc32c(0, o.p, o.len));
    }
    sl_metastore_out_fmt(&o, "end %" PRId64, (int64_t)n);
    sl_metastore_out_str(&o, crc);
    if (o.oom) {
        free(o.p);
        return SL_ERR__NOMEM;
    }
    *buf = o.p;
    *len = o.len;
    return SL_OK;
}

/* ---- parsing ------------------------------------------------------- */

typedef struct sl_metastore_in_s {
    const char *p, *end; /* unread part */
    int line;
    char *why;
    size_t whylen;
} sl_metastore_in_t;

static sl_err_t
sl_metastore_bad(sl_metastore_in_t *in, const char *what)
{
    snprintf(in->why, in->whylen, "line %d: %s", in->line, what);
    return SL_CORRUPT();
}

/* Next line without its '\n' in [*l, *l + *n). False when none is left or
 * the last line has no '\n'. */
static bool
sl_metastore_line(sl_metastore_in_t *in, const char **l, size_t *n)
{
    const char *nl;

    if (in->p >= in->end) {
        return false;
    }
    nl = memchr(in->p, '\n', (size_t)(in->end - in->p));
    if (nl == NULL) {
        return false;
    }
    *l = in->p;
    *n = (size_t)(nl - in->p);
    in->p = nl + 1;
    in->line++;
    return true;
}

/* Next space-separated field of [*l, *l + *n); advances past it and one
 * following space. Empty fields (two spaces) are refused. */
static bool
sl_metastore_field(const char **l, size_t *n, const char **f, size_t *fn)
{
    const char *sp;

    if (*n == 0) {
        return false;
    }
    sp = memchr(*l, ' ', *n);
    *f = *l;
    *fn = sp ? (size_t)(sp - *l) : *n;
    if (*fn == 0) {
        return false;
    }
    if (sp != NULL) {
        *n -= *fn + 1;
        *l = sp + 1;
        if (*n == 0) {
            return false; /* trailing space */
        }
    } else {
        *l += *n;
        *n = 0;
    }
    return true;
}

static bool
sl_metastore_is(const char *f, size_t fn, const char *word)
{
    return fn == strlen(word) && memcmp(f, word, fn) == 0;
}

/* Decimal digits only, no sign, value <= max. */
static bool
sl_metastore_num(const char *f, size_t fn, int64_t max, int64_t *out)
{
    int64_t v = 0;
    size_t i;

    if (fn == 0 || fn > 19) {
        return false;
    }
    for (i = 0; i < fn; i++) {
        if (f[i] < '0' || f[i] > '9') {
            return false;
        }
        v = v * 10 + (f[i] - '0');
        if (v > max) {
            return false;
        }
    }
    *out = v;
    return true;
}

static int
sl_metastore_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool
sl_metastore_uuid(const char *f, size_t fn, sl_uuid_t *id)
{
    static const sl_uuid_t zero = {{0}};
    int hi, lo;
    size_t i;

    if (fn != 32) {
        return false;
    }
    for (i = 0; i < 16; i++) {
        hi = sl_metastore_hexval(f[2 * i]);
        lo = sl_metastore_hexval(f[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        id->b[i] = (uint8_t)(hi << 4 | lo);
    }
    return memcmp(id, &zero, sizeof(zero)) != 0;
}

/* Unescape a config value "=<escaped>" into a malloc'ed string. */
static char *
sl_metastore_unescape(const char *f, size_t fn)
{
    char *v, *o;
    size_t i;
    int hi, lo;

    if (fn == 0 || f[0] != '=') {
        return NULL;
    }
    if ((v = malloc(fn)) == NULL) {
        return NULL;
    }
    o = v;
    for (i = 1; i < fn; i++) {
        if (f[i] < '!' || f[i] > '~') {
            free(v);
            return NULL;
        }
        if (f[i] != '%') {
            *o++ = f[i];
            continue;
        }
        if (i + 2 >= fn || (hi = sl_metastore_hexval(f[i + 1])) < 0 ||
            (lo = sl_metastore_hexval(f[i + 2])) < 0 || (hi == 0 && lo == 0)) {
            free(v);
            return NULL;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = '\0';
    return v;
}

static sl_err_t
sl_metastore_parse_configs(sl_metastore_in_t *in, sl_mtopic_t *t, int64_t nconf)
{
    const char *l, *f, *key;
    size_t n, fn, kn;
    char k[128], kwhy[256], *v;
    int64_t c;
    sl_err_t err;

    for (c = 0; c < nconf; c++) {
        if (!sl_metastore_line(in, &l, &n) ||
            !sl_metastore_field(&l, &n, &f, &fn) ||
            !sl_metastore_is(f, fn, "config") ||
            !sl_metastore_field(&l, &n, &key, &kn) ||
            !sl_metastore_field(&l, &n, &f, &fn) || n != 0 || kn >= sizeof(k)) {
            return sl_metastore_bad(in, "malformed config line");
        }
        memcpy(k, key, kn);
        k[kn] = '\0';
        if (sl_topic_config_map_get(&t->configs, k) != NULL) {
            return sl_metastore_bad(in, "config key given twice");
        }
        if ((v = sl_metastore_unescape(f, fn)) == NULL) {
            return sl_metastore_bad(in, "malformed config value");
        }
        if (sl_topic_config_validate(k, v, kwhy, sizeof(kwhy)) != SL_OK) {
            free(v);
            return sl_metastore_bad(in, "stored config no longer valid");
        }
        err = sl_topic_config_map_set(&t->configs, k, v);
        free(v);
        if (err != SL_OK) {
            return err;
        }
    }
    return SL_OK;
}

/* Parse one "topic" line (already split off) and what follows it. */
static sl_err_t
sl_metastore_parse_topic(sl_metastore_in_t *in, const char *l, size_t n,
                         sl_mtopic_t **out)
{
    const char *f, *name;
    size_t fn, nn;
    char nm[SL_TOPIC_NAME_MAX + 1], nwhy[128];
    int64_t parts, nconf, e, i;
    sl_uuid_t id;
    sl_mtopic_t *t;
    sl_err_t err;

    if (!sl_metastore_field(&l, &n, &name, &nn) || nn > SL_TOPIC_NAME_MAX) {
        return sl_metastore_bad(in, "malformed topic line");
    }
    memcpy(nm, name, nn);
    nm[nn] = '\0';
    if (sl_metastore_name_check_n(name, nn, nwhy, sizeof(nwhy)) != SL_OK) {
        return sl_metastore_bad(in, "invalid topic name");
    }
    if (!sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_uuid(f, fn, &id) ||
        !sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_num(f, fn, SL_METASTORE_MAX_PARTITIONS, &parts) ||
        parts < 1 || !sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_num(f, fn, SL_TOPIC_CONFIG_MAX_KEYS, &nconf) || n != 0) {
        return sl_metastore_bad(in, "malformed topic line");
    }
    if ((t = sl_metastore_topic_new(nm, &id, (int32_t)parts)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if (!sl_metastore_line(in, &l, &n) ||
        !sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_is(f, fn, "epochs")) {
        sl_metastore_topic_free(t);
        return sl_metastore_bad(in, "missing epochs line");
    }
    for (i = 0; i < parts; i++) {
        if (!sl_metastore_field(&l, &n, &f, &fn) ||
            !sl_metastore_num(f, fn, INT32_MAX, &e)) {
            sl_metastore_topic_free(t);
            return sl_metastore_bad(in, "malformed epochs line");
        }
        t->epochs[i] = (int32_t)e;
    }
    if (n != 0) {
        sl_metastore_topic_free(t);
        return sl_metastore_bad(in, "more epochs than partitions");
    }
    if ((err = sl_metastore_parse_configs(in, t, nconf)) != SL_OK) {
        sl_metastore_topic_free(t);
        return err;
    }
    *out = t;
    return SL_OK;
}

static int
sl_metastore_cmp_name(const void *a, const void *b)
{
    return strcmp((*(sl_mtopic_t *const *)a)->name,
                  (*(sl_mtopic_t *const *)b)->name);
}

static int
sl_metastore_cmp_id(const void *a, const void *b)
{
    return memcmp(&(*(sl_mtopic_t *const *)a)->id,
                  &(*(sl_mtopic_t *const *)b)->id, sizeof(sl_uuid_t));
}

/* Check the trailer "end <n> <crc>\n" and return where it starts. */
static sl_err_t
sl_metastore_check_trailer(sl_metastore_in_t *in, const char *buf, size_t len,
                           int64_t *ntopics, size_t *body_len)
{
    const char *l, *f;
    size_t n, fn;
    int64_t crc;
    size_t start;

    if (len < 2 || buf[len - 1] != '\n') {
        return sl_metastore_bad(in, "file does not end with a complete line");
    }
    start = len - 1;
    while (start > 0 && buf[start - 1] != '\n') {
        start--;
    }
    l = buf + start;
    n = len - 1 - start;
    if (!sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_is(f, fn, "end") ||
        !sl_metastore_field(&l, &n, &f, &fn) ||
        !sl_metastore_num(f, fn, INT64_MAX / 2, ntopics) ||
        !sl_metastore_field(&l, &n, &f, &fn) || fn != 8 || n != 0) {
        return sl_metastore_bad(in,
                                "missing or malformed end line (truncated?)");
    }
    crc = 0;
    for (n = 0; n < 8; n++) {
        if (!((f[n] >= '0' && f[n] <= '9') || (f[n] >= 'a' && f[n] <= 'f'))) {
            return sl_metastore_bad(in, "malformed checksum");
        }
        crc = crc << 4 | sl_metastore_hexval(f[n]);
    }
    if ((uint32_t)crc != sl_crc32c(0, buf, start)) {
        return sl_metastore_bad(in, "checksum mismatch");
    }
    *body_len = start;
    return SL_OK;
}

sl_err_t
sl_metastore_decode(const char *buf, size_t len, sl_mtopic_t ***out,
                    size_t *nout, char *why, size_t whylen)
{
    sl_metastore_in_t in = {buf, buf, 0, why, whylen};
    sl_mtopic_t **v = NULL, **p, *t = NULL;
    size_t n = 0, cap = 0, body = 0, i, fn, ln;
    int64_t ntopics = 0;
    const char *l, *f;
    sl_err_t err;

    if (memchr(buf, '\0', len) != NULL) {
        return sl_metastore_bad(&in, "NUL byte in file");
    }
    if (len < strlen(SL_METASTORE_MAGIC) ||
        memcmp(buf, SL_METASTORE_MAGIC, strlen(SL_METASTORE_MAGIC)) != 0) {
        return sl_metastore_bad(&in, "not a Sluice topics file of version 1");
    }
    if ((err = sl_metastore_check_trailer(&in, buf, len, &ntopics, &body)) !=
        SL_OK) {
        return err;
    }
    in.p = buf + strlen(SL_METASTORE_MAGIC);
    in.end = buf + body;
    in.line = 1;
    while (sl_metastore_line(&in, &l, &ln)) {
        if (!sl_metastore_field(&l, &ln, &f, &fn) ||
            !sl_metastore_is(f, fn, "topic")) {
            err = sl_metastore_bad(&in, "expected a topic line");
            goto fail;
        }
        if ((err = sl_metastore_parse_topic(&in, l, ln, &t)) != SL_OK) {
            goto fail;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if ((p = realloc(v, cap * sizeof(*v))) == NULL) {
                sl_metastore_topic_free(t);
                err = SL_ERR__NOMEM;
                goto fail;
            }
            v = p;
        }
        v[n++] = t;
    }
    if ((int64_t)n != ntopics) {
        err = sl_metastore_bad(&in, "topic count does not match the end line");
        goto fail;
    }
    for (i = 1; i < n; i++) {
        if (strcmp(v[i - 1]->name, v[i]->name) >= 0) {
            err = sl_metastore_bad(&in, "topics out of order or duplicated");
            goto fail;
        }
    }
    if (n > 1) {
        qsort(v, n, sizeof(*v), sl_metastore_cmp_id);
        for (i = 1; i < n; i++) {
            if (sl_metastore_cmp_id(&v[i - 1], &v[i]) == 0) {
                err = sl_metastore_bad(&in, "two topics share an id");
                goto fail;
            }
        }
        qsort(v, n, sizeof(*v), sl_metastore_cmp_name);
    }
    *out = v;
    *nout = n;
    return SL_OK;

fail:
    for (i = 0; i < n; i++) {
        sl_metastore_topic_free(v[i]);
    }
    free(v);
    return err;
}

/* ---- files --------------------------------------------------------- */

static int
sl_metastore_fault(sl_metastore_fault_cb cb, void *arg, sl_metastore_io_e step)
{
    return cb ? cb(step, arg) : 0;
}

sl_err_t
sl_metastore_write_atomic(const char *dir, const char *name, const char *buf,
                          size_t len, sl_metastore_fault_cb cb, void *arg)
{
    char path[4096], tmp[4200];
    size_t off = 0;
    ssize_t w;
    int fd = -1, dfd, e = 0;
    const char *step = "open";

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
            sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        sl_log_error("metastore", "path too long dir=%s", dir);
        return SL_ERR__IO;
    }
    if ((e = sl_metastore_fault(cb, arg, SL_METASTORE_IO_OPEN)) == 0) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        e = fd < 0 ? errno : 0;
    }
    if (e != 0) {
        goto fail;
    }
    step = "write";
    if ((e = sl_metastore_fault(cb, arg, SL_METASTORE_IO_WRITE)) != 0) {
        /* Simulate a crash or ENOSPC half-way: leave half a file. */
        if (write(fd, buf, len / 2) < 0) {
            e = errno;
        }
        goto fail;
    }
    while (off < len) {
        w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            goto fail;
        }
        off += (size_t)w;
    }
    step = "fsync";
    if ((e = sl_metastore_fault(cb, arg, SL_METASTORE_IO_FSYNC)) == 0 &&
        fsync(fd) != 0) {
        e = errno;
    }
    if (e != 0) {
        goto fail;
    }
    close(fd);
    fd = -1;
    step = "rename";
    if ((e = sl_metastore_fault(cb, arg, SL_METASTORE_IO_RENAME)) == 0 &&
        rename(tmp, path) != 0) {
        e = errno;
    }
    if (e != 0) {
        goto fail;
    }
    /* The rename is durable only once the directory is synced. By now the
     * new file is what every reader sees, so failing the change would set
     * memory and disk apart: the failure is logged and the write counts as
     * done (the kernel still writes the directory back later). */
    step = "fsync dir";
    if ((e = sl_metastore_fault(cb, arg, SL_METASTORE_IO_DIRSYNC)) == 0) {
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            e = errno;
        }
        if (dfd >= 0) {
            close(dfd);
        }
    }
    if (e != 0) {
        sl_log_error("metastore", "cannot sync directory dir=%s errno=%d", dir,
                     e);
    }
    return SL_OK;

fail:
    sl_log_error("metastore", "atomic write failed path=%s step=%s errno=%d",
                 path, step, e);
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return SL_ERR__IO;
}

sl_err_t
sl_metastore_read_file(const char *path, size_t max, char **buf, size_t *len)
{
    struct stat st;
    char *b;
    size_t off = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return errno == ENOENT ? SL_ERR__NOENT : SL_ERR__IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SL_ERR__IO;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return SL_CORRUPT();
    }
    if ((b = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return SL_ERR__NOMEM;
    }
    /* Read at most what fstat said (+1 to notice growth). */
    while (off < (size_t)st.st_size + 1) {
        r = read(fd, b + off, (size_t)st.st_size + 1 - off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            free(b);
            close(fd);
            return SL_ERR__IO;
        }
        if (r == 0) {
            break;
        }
        off += (size_t)r;
    }
    close(fd);
    if (off > (size_t)st.st_size) {
        free(b);
        return SL_ERR__IO; /* changed under us */
    }
    b[off] = '\0';
    *buf = b;
    *len = off;
    return SL_OK;
}

/* ---- meta.properties ----------------------------------------------- */

/* A cluster id as Kafka tools accept it: 1..64 base64url characters. */
static bool
sl_metastore_cluster_id_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > 64) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

static sl_err_t
sl_metastore_props_create(const char *dir, int32_t node_id, char cluster_id[65],
                          sl_metastore_fault_cb cb, void *arg)
{
    sl_uuid_t cid, did;
    char dirid[23], text[512];
    int n;

    if (sl_uuid_random(&cid) != SL_OK || sl_uuid_random(&did) != SL_OK) {
        return SL_ERR__IO;
    }
    sl_uuid_to_base64(&cid, cluster_id);
    sl_uuid_to_base64(&did, dirid);
    n = snprintf(text, sizeof(text),
                 "#\n# Identity of this Sluice data directory. Do not edit.\n"
                 "version=1\ncluster.id=%s\nnode.id=%d\ndirectory.id=%s\n",
                 cluster_id, (int)node_id, dirid);
    sl_log_info("metastore", "new cluster id cluster.id=%s node.id=%d dir=%s",
                cluster_id, (int)node_id, dir);
    return sl_metastore_write_atomic(dir, "meta.properties", text, (size_t)n,
                                     cb, arg);
}

/* Apply one "key=value" line of meta.properties. */
static sl_err_t
sl_metastore_props_line(char *line, const char *path, char cluster_id[65],
                        int64_t *version, int64_t *node)
{
    char *eq = strchr(line, '='), *v;

    if (eq == NULL) {
        sl_log_error("metastore", "malformed line in path=%s", path);
        return SL_CORRUPT();
    }
    *eq = '\0';
    v = eq + 1;
    if (strcmp(line, "version") == 0) {
        if (!sl_metastore_num(v, strlen(v), 1000, version)) {
            sl_log_error("metastore", "bad version in path=%s", path);
            return SL_CORRUPT();
        }
    } else if (strcmp(line, "cluster.id") == 0) {
        if (!sl_metastore_cluster_id_ok(v)) {
            sl_log_error("metastore", "bad cluster.id in path=%s", path);
            return SL_CORRUPT();
        }
        snprintf(cluster_id, 65, "%s", v);
    } else if (strcmp(line, "node.id") == 0 || strcmp(line, "broker.id") == 0) {
        if (!sl_metastore_num(v, strlen(v), INT32_MAX, node)) {
            sl_log_error("metastore", "bad node.id in path=%s", path);
            return SL_CORRUPT();
        }
    }
    return SL_OK; /* other keys (directory.id, ...) are kept as they are */
}

sl_err_t
sl_metastore_props_load(const char *dir, int32_t node_id, bool may_create,
                        char cluster_id[65], sl_metastore_fault_cb cb,
                        void *arg)
{
    char path[4200], *buf, *line, *save = NULL;
    int64_t version = -1, node = -1;
    size_t len;
    sl_err_t err;

    snprintf(path, sizeof(path), "%s/meta.properties", dir);
    err = sl_metastore_read_file(path, SL_METASTORE_PROPS_MAX, &buf, &len);
    if (err == SL_ERR__NOENT && !may_create) {
        /* Topics without an identity: the directory lost a file. Making a
         * new cluster id would silently change who this broker is. */
        sl_log_error("metastore",
                     "meta.properties is missing but topics exist path=%s",
                     path);
        return SL_CORRUPT();
    }
    if (err == SL_ERR__NOENT) {
        return sl_metastore_props_create(dir, node_id, cluster_id, cb, arg);
    }
    if (err != SL_OK) {
        sl_log_error("metastore", "cannot read path=%s err=%s", path,
                     sl_err_name(err));
        return err;
    }
    cluster_id[0] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        free(buf);
        sl_log_error("metastore", "NUL byte in path=%s", path);
        return SL_CORRUPT();
    }
    for (line = strtok_r(buf, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        if (line[0] == '#' || line[0] == '!' || line[0] == '\0') {
            continue;
        }
        if ((err = sl_metastore_props_line(line, path, cluster_id, &version,
                                           &node)) != SL_OK) {
            free(buf);
            return err;
        }
    }
    free(buf);
    if (version != 1 || cluster_id[0] == '\0' || node < 0) {
        sl_log_error("metastore",
                     "meta.properties lacks version=1, cluster.id or node.id "
                     "path=%s",
                     path);
        return SL_CORRUPT();
    }
    if (node != node_id) {
        sl_log_error("metastore",
                     "stored node.id does not match the configured one "
                     "path=%s stored=%" PRId64 " configured=%d",
                     path, node, (int)node_id);
        return SL_ERR__INVAL;
    }
    return SL_OK;
}

/* ---- UUIDs --------------------------------------------------------- */

void
sl_uuid_to_base64(const sl_uuid_t *id, char out[23])
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0, i, o = 0;

    for (i = 0; i < 16; i++) {
        acc = acc << 8 | id->b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = tab[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = tab[(acc << (6 - bits)) & 63];
    }
    out[o] = '\0';
}

sl_err_t
sl_uuid_random(sl_uuid_t *out)
{
    static const sl_uuid_t zero = {{0}};
    size_t got;
    ssize_t r;

    for (;;) {
        for (got = 0; got < sizeof(out->b); got += (size_t)r) {
            r = getrandom(out->b + got, sizeof(out->b) - got, 0);
            if (r < 0 && errno == EINTR) {
                r = 0;
                continue;
            }
            if (r <= 0) {
                return SL_ERR__IO;
            }
        }
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* IETF variant */
        /* The text form starts with '-' when the top six bits are 62. */
        if ((out->b[0] >> 2) != 62 && memcmp(out, &zero, sizeof(zero)) != 0) {
            return SL_OK;
        }
    }
}
