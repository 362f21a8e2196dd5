/*
 * log/ckpt.c: partition-directory text files in Kafka's formats.
 *
 * leader-epoch-checkpoint (ASCII, '\n' line ends):
 *   line 1   "0"                      version
 *   line 2   "<n>"                    number of entries
 *   n lines  "<epoch> <start offset>" both decimal, strictly increasing
 *
 * recovery-point-offset-checkpoint and log-start-offset-checkpoint (Kafka
 * keeps one per log dir for all partitions; Sluice keeps one per partition
 * directory, same format, one entry):
 *   line 1   "0"
 *   line 2   "1"
 *   line 3   "<topic> <partition> <offset>"
 *
 * partition.metadata:
 *   line 1   "version: 0"
 *   line 2   "topic_id: <22 chars of URL-safe base64, no padding>"
 *
 * Owns: nothing. Thread-safe.
 */
#include "log/ckpt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/file.h"

#define SL_CKPT_PATH 4096
#define SL_CKPT_SMALL 4096
#define SL_CKPT_EPOCH_BYTES (SL_CKPT_MAX_EPOCHS * 32 + 64)

typedef struct sl_ckpt_rd_s {
    const char *p, *end;
} sl_ckpt_rd_t;

/* Next line (without '\n'); false at end or when the last line has no
 * '\n'. */
static bool
sl_ckpt_line(sl_ckpt_rd_t *r, const char **s, size_t *n)
{
    const char *nl;

    if (r->p >= r->end) {
        return false;
    }
    nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (nl == NULL) {
        return false;
    }
    *s = r->p;
    *n = (size_t)(nl - r->p);
    r->p = nl + 1;
    return true;
}

/* Parse a decimal int64 (optional '-') at *s, advancing; false if none or
 * overflow. */
static bool
sl_ckpt_int(const char **s, const char *end, int64_t *v)
{
    const char *p = *s;
    bool neg = false;
    uint64_t acc = 0;

    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        return false;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        if (acc > (uint64_t)INT64_MAX / 10) {
            return false;
        }
        acc = acc * 10 + (uint64_t)(*p - '0');
        if (acc > (uint64_t)INT64_MAX) {
            return false;
        }
        p++;
    }
    *v = neg ? -(int64_t)acc : (int64_t)acc;
    *s = p;
    return true;
}

/* A line that is exactly one integer. */
static bool
sl_ckpt_int_line(sl_ckpt_rd_t *r, int64_t *v)
{
    const char *s, *e;
    size_t n;

    if (!sl_ckpt_line(r, &s, &n)) {
        return false;
    }
    e = s + n;
    return sl_ckpt_int(&s, e, v) && s == e;
}

static bool
sl_ckpt_join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, SL_CKPT_PATH, "%s/%s", dir, name);

    return n > 0 && n < SL_CKPT_PATH;
}

static sl_err_t
sl_ckpt_slurp(const char *dir, const char *name, char *buf, size_t cap,
              size_t *len)
{
    char path[SL_CKPT_PATH];
    sl_err_t err;

    if (!sl_ckpt_join(path, dir, name)) {
        return SL_ERR__INVAL;
    }
    err = sl_file_read_small(path, buf, cap, len);
    return err == SL_ERR__TOOBIG ? SL_CORRUPT() : err;
}

sl_err_t
sl_ckpt_read_epochs(const char *dir, sl_epoch_entry_t **out, size_t *n)
{
    char *buf;
    size_t len, i;
    sl_ckpt_rd_t r;
    int64_t ver, cnt, ep, off;
    sl_epoch_entry_t *e = NULL;
    const char *s, *end;
    size_t ln;
    sl_err_t err;

    *out = NULL;
    *n = 0;
    if ((buf = malloc(SL_CKPT_EPOCH_BYTES)) == NULL) {
        return SL_ERR__NOMEM;
    }
    err = sl_ckpt_slurp(dir, SL_CKPT_EPOCHS, buf, SL_CKPT_EPOCH_BYTES, &len);
    if (err != SL_OK) {
        free(buf);
        return err;
    }
    r.p = buf;
    r.end = buf + len;
    if (!sl_ckpt_int_line(&r, &ver) || ver != 0 ||
        !sl_ckpt_int_line(&r, &cnt) || cnt < 0 || cnt > SL_CKPT_MAX_EPOCHS) {
        free(buf);
        return SL_CORRUPT();
    }
    if (cnt > 0 && (e = calloc((size_t)cnt, sizeof(*e))) == NULL) {
        free(buf);
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < (size_t)cnt; i++) {
        if (!sl_ckpt_line(&r, &s, &ln)) {
            goto corrupt;
        }
        end = s + ln;
        if (!sl_ckpt_int(&s, end, &ep) || s >= end || *s != ' ') {
            goto corrupt;
        }
        s++;
        if (!sl_ckpt_int(&s, end, &off) || s != end || ep < 0 ||
            ep > INT32_MAX || off < 0) {
            goto corrupt;
        }
        if (i > 0 && (ep <= e[i - 1].epoch || off < e[i - 1].start_offset)) {
            goto corrupt;
        }
        e[i].epoch = (int32_t)ep;
        e[i].start_offset = off;
    }
    if (r.p != r.end) {
        goto corrupt;
    }
    free(buf);
    *out = e;
    *n = (size_t)cnt;
    return SL_OK;

corrupt:
    free(e);
    free(buf);
    return SL_CORRUPT();
}

sl_err_t
sl_ckpt_write_epochs(const char *dir, const sl_epoch_entry_t *e, size_t n)
{
    char path[SL_CKPT_PATH];
    char *buf;
    size_t cap = n * 32 + 32, len = 0, i;
    sl_err_t err;

    if (!sl_ckpt_join(path, dir, SL_CKPT_EPOCHS)) {
        return SL_ERR__INVAL;
    }
    if ((buf = malloc(cap)) == NULL) {
        return SL_ERR__NOMEM;
    }
    len += (size_t)snprintf(buf, cap, "0\n%zu\n", n);
    for (i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%d %lld\n",
                                (int)e[i].epoch, (long long)e[i].start_offset);
    }
    err = sl_file_write_atomic(dir, path, buf, len);
    free(buf);
    return err;
}

sl_err_t
sl_ckpt_read_offset(const char *dir, const char *name, const char *topic,
                    int32_t partition, int64_t *offset)
{
    char buf[SL_CKPT_SMALL];
    size_t len, ln, tl = strlen(topic);
    sl_ckpt_rd_t r;
    int64_t ver, cnt, p, off;
    const char *s, *end;
    sl_err_t err;

    err = sl_ckpt_slurp(dir, name, buf, sizeof(buf), &len);
    if (err != SL_OK) {
        return err;
    }
    r.p = buf;
    r.end = buf + len;
    if (!sl_ckpt_int_line(&r, &ver) || ver != 0 ||
        !sl_ckpt_int_line(&r, &cnt) || cnt != 1 || !sl_ckpt_line(&r, &s, &ln) ||
        r.p != r.end) {
        return SL_CORRUPT();
    }
    end = s + ln;
    if (ln < tl + 1 || memcmp(s, topic, tl) != 0 || s[tl] != ' ') {
        return SL_CORRUPT();
    }
    s += tl + 1;
    if (!sl_ckpt_int(&s, end, &p) || p != partition || s >= end || *s != ' ') {
        return SL_CORRUPT();
    }
    s++;
    if (!sl_ckpt_int(&s, end, &off) || s != end || off < 0) {
        return SL_CORRUPT();
    }
    *offset = off;
    return SL_OK;
}

sl_err_t
sl_ckpt_write_offset(const char *dir, const char *name, const char *topic,
                     int32_t partition, int64_t offset)
{
    char path[SL_CKPT_PATH], buf[SL_CKPT_SMALL];
    int n;

    if (!sl_ckpt_join(path, dir, name)) {
        return SL_ERR__INVAL;
    }
    n = snprintf(buf, sizeof(buf), "0\n1\n%s %d %lld\n", topic, (int)partition,
                 (long long)offset);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        return SL_ERR__INVAL;
    }
    return sl_file_write_atomic(dir, path, buf, (size_t)n);
}

static const char sl_ckpt_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
sl_ckpt_uuid_encode(const uint8_t id[16], char out[23])
{
    uint32_t acc = 0;
    int bits = 0, i, o = 0;

    for (i = 0; i < 16; i++) {
        acc = (acc << 8) | id[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = sl_ckpt_b64[(acc >> bits) & 0x3f];
        }
    }
    out[o++] =
        sl_ckpt_b64[(acc << (6 - bits)) & 0x3f]; /* last 2 bits, zero-padded */
    out[o] = '\0';
}

sl_err_t
sl_ckpt_uuid_decode(const char *s, size_t n, uint8_t id[16])
{
    uint32_t acc = 0;
    int bits = 0, o = 0;
    size_t i;
    const char *c;

    if (n != 22) {
        return SL_CORRUPT();
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || (c = strchr(sl_ckpt_b64, s[i])) == NULL) {
            return SL_CORRUPT();
        }
        acc = (acc << 6) | (uint32_t)(c - sl_ckpt_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < 16) {
                id[o++] = (uint8_t)(acc >> bits);
            }
        }
        acc &= 0xff; /* keep only what is needed */
    }
    /* 22 * 6 = 132 bits: 128 used, the last 4 must be zero */
    if (o != 16 || (acc & ((1u << bits) - 1)) != 0) {
        return SL_CORRUPT();
    }
    return SL_OK;
}

sl_err_t
sl_ckpt_read_meta(const char *dir, uint8_t id[16])
{
    char buf[SL_CKPT_SMALL];
    size_t len, ln;
    sl_ckpt_rd_t r;
    const char *s;
    sl_err_t err;

    err = sl_ckpt_slurp(dir, SL_CKPT_META, buf, sizeof(buf), &len);
    if (err != SL_OK) {
        return err;
    }
    r.p = buf;
    r.end = buf + len;
    if (!sl_ckpt_line(&r, &s, &ln) || ln != 10 ||
        memcmp(s, "version: 0", 10) != 0 || !sl_ckpt_line(&r, &s, &ln) ||
        ln < 10 || memcmp(s, "topic_id: ", 10) != 0) {
        return SL_CORRUPT();
    }
    return sl_ckpt_uuid_decode(s + 10, ln - 10, id);
}

sl_err_t
sl_ckpt_write_meta(const char *dir, const uint8_t id[16])
{
    char path[SL_CKPT_PATH], buf[64], u[23];
    int n;

    if (!sl_ckpt_join(path, dir, SL_CKPT_META)) {
        return SL_ERR__INVAL;
    }
    sl_ckpt_uuid_encode(id, u);
    n = snprintf(buf, sizeof(buf), "version: 0\ntopic_id: %s\n", u);
    return sl_file_write_atomic(dir, path, buf, (size_t)n);
}
