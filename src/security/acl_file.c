/*
 * security/acl_file.c: the ACL store's file, <data dir>/__sluice_metadata/acls
 * (format in acl.h): written whole and atomically, read back with every
 * byte treated as hostile (bounded size, strict syntax, each ACL valid).
 *
 * Owns: nothing; works on the store acl.c owns, under its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "security/acl_int.h"

static void
sl_acl_hex_put(FILE *f, const char *str)
{
    static const char hx[] = "0123456789abcdef";

    fputc('x', f);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        fputc(hx[*p >> 4], f);
        fputc(hx[*p & 15], f);
    }
}

static void
sl_acl_fsync_dir(const char *path)
{
    char *dir = strdup(path), *slash;
    int fd;

    if (dir == NULL) {
        return;
    }
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    free(dir);
}

/* Write entries v[0..n) whose keep[i] is set (keep NULL: all), lock held. */
sl_err_t
sl_acl_save(sl_acl_store_t *s, const bool *keep)
{
    size_t tl, count = 0;
    char *tmp;
    FILE *f;
    int ok;

    if (s->path == NULL) {
        return SL_OK;
    }
    tl = strlen(s->path) + 5;
    tmp = malloc(tl);
    if (tmp == NULL) {
        return SL_ERR__NOMEM;
    }
    snprintf(tmp, tl, "%s.tmp", s->path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        sl_log_error("acl", "cannot write path=%s errno=%d", tmp, errno);
        free(tmp);
        return SL_ERR__IO;
    }
    fprintf(f, "sluice-acls 1\n");
    for (size_t i = 0; i < s->n; i++) {
        const sl_acl_t *a = &s->v[i].a;

        if (keep != NULL && !keep[i]) {
            continue;
        }
        fprintf(f, "acl %d %d %d %d ", a->resource_type, a->pattern_type,
                a->operation, a->permission);
        sl_acl_hex_put(f, a->name);
        fputc(' ', f);
        sl_acl_hex_put(f, a->principal);
        fputc(' ', f);
        sl_acl_hex_put(f, a->host);
        fputc('\n', f);
        count++;
    }
    fprintf(f, "end %zu\n", count);
    ok = fflush(f) == 0 && !ferror(f);
    ok = ok && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, s->path) != 0) {
        sl_log_error("acl", "cannot write path=%s errno=%d", s->path, errno);
        unlink(tmp);
        free(tmp);
        return SL_ERR__IO;
    }
    free(tmp);
    sl_acl_fsync_dir(s->path);
    return SL_OK;
}

static int
sl_acl_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Decode an 'x'-hex token in place (hostile bytes). NULL when malformed. */
static char *
sl_acl_hex_get(char *tok)
{
    size_t n, i;
    char *out = tok;

    if (tok == NULL || tok[0] != 'x') {
        return NULL;
    }
    tok++;
    n = strlen(tok);
    if (n % 2 != 0 || n / 2 > SL_ACL_MAX_STR) {
        return NULL;
    }
    for (i = 0; i < n / 2; i++) {
        int hi = sl_acl_hexval(tok[2 * i]), lo = sl_acl_hexval(tok[2 * i + 1]);

        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return NULL;
        }
        out[i] = (char)(hi << 4 | lo);
    }
    out[i] = '\0';
    return out;
}

static bool
sl_acl_small_int(const char *tok, int lo, int hi, int *out)
{
    char *end;
    long v;

    if (tok == NULL || tok[0] == '\0') {
        return false;
    }
    errno = 0;
    v = strtol(tok, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* Parse one "acl" line after its keyword (hostile bytes). */
static sl_err_t
sl_acl_parse_line(sl_acl_store_t *s, char *rest)
{
    char *f[7], *save = NULL;
    int iv[4];
    sl_acl_t a;
    const char *why;
    int k;

    for (k = 0; k < 7; k++) {
        f[k] = strtok_r(k == 0 ? rest : NULL, " ", &save);
    }
    if (strtok_r(NULL, " ", &save) != NULL) {
        return SL_ERR__CORRUPT;
    }
    for (k = 0; k < 4; k++) {
        if (!sl_acl_small_int(f[k], 0, 127, &iv[k])) {
            return SL_ERR__CORRUPT;
        }
    }
    a.resource_type = (int8_t)iv[0];
    a.pattern_type = (int8_t)iv[1];
    a.operation = (int8_t)iv[2];
    a.permission = (int8_t)iv[3];
    a.name = sl_acl_hex_get(f[4]);
    a.principal = sl_acl_hex_get(f[5]);
    a.host = sl_acl_hex_get(f[6]);
    if (a.name == NULL || a.principal == NULL || a.host == NULL ||
        sl_acl_validate(&a, &why) != SL_OK) {
        return SL_ERR__CORRUPT;
    }
    return sl_acl_push(s, &a);
}

/* Read the whole file into a NUL-terminated buffer (bounded). */
static sl_err_t
sl_acl_slurp(const char *path, char **out, bool *missing)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    FILE *f = fopen(path, "r");

    *missing = false;
    if (f == NULL) {
        if (errno == ENOENT) {
            *missing = true;
            return SL_OK;
        }
        sl_log_error("acl", "cannot read path=%s errno=%d", path, errno);
        return SL_ERR__IO;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
        (uint64_t)st.st_size > SL_ACL_MAX_FILE) {
        fclose(f);
        sl_log_error("acl", "unreadable or too large path=%s", path);
        return SL_ERR__CORRUPT;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return SL_ERR__NOMEM;
    }
    got = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        free(buf);
        return SL_ERR__IO;
    }
    buf[got] = '\0';
    if (memchr(buf, '\0', got) != NULL) {
        free(buf);
        return SL_ERR__CORRUPT;
    }
    *out = buf;
    return SL_OK;
}

/* Parse the file's text (lock not needed: not yet shared). */
static sl_err_t
sl_acl_parse(sl_acl_store_t *s, char *buf)
{
    char *line = buf, *nl;
    bool header = false, end = false;
    sl_err_t err;

    while (*line != '\0') {
        nl = strchr(line, '\n');
        if (nl == NULL || end) {
            return SL_ERR__CORRUPT; /* torn last line, or text after end */
        }
        *nl = '\0';
        if (!header) {
            if (strcmp(line, "sluice-acls 1") != 0) {
                return SL_ERR__CORRUPT;
            }
            header = true;
        } else if (strncmp(line, "acl ", 4) == 0) {
            err = sl_acl_parse_line(s, line + 4);
            if (err != SL_OK) {
                return err;
            }
        } else if (strncmp(line, "end ", 4) == 0) {
            char *ep;
            unsigned long long c;

            errno = 0;
            c = strtoull(line + 4, &ep, 10);
            if (errno != 0 || *ep != '\0' || c != s->n) {
                return SL_ERR__CORRUPT;
            }
            end = true;
        } else {
            return SL_ERR__CORRUPT;
        }
        line = nl + 1;
    }
    return end ? SL_OK : SL_ERR__CORRUPT;
}

sl_err_t
sl_acl_load(sl_acl_store_t *s)
{
    char *buf = NULL;
    bool missing;
    sl_err_t err = sl_acl_slurp(s->path, &buf, &missing);

    if (err != SL_OK || missing) {
        return err;
    }
    err = sl_acl_parse(s, buf);
    free(buf);
    if (err == SL_ERR__CORRUPT) {
        sl_log_error("acl", "damaged ACL file path=%s", s->path);
    }
    return err;
}
