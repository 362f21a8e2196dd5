/*
 * core/config.c: the key table, properties parsing, env and overrides.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

#define I32MAX 2147483647LL
#define I64MAX 9223372036854775807LL

/* Every key Sluice reads. Keep config/server.properties and
 * docs/configuration.md in step with this table. */
static const sl_config_key_t sl_config_table[] = {
    {"node.id", SL_CONFIG_INT, "1", 0, I32MAX, NULL,
     "Id of this broker (broker.id is an alias)."},
    {"broker.id", SL_CONFIG_INT, NULL, -1, I32MAX, NULL,
     "Alias of node.id, for ZooKeeper-era configs."},
    {"listeners", SL_CONFIG_LIST, "PLAINTEXT://:9092", 0, 0, NULL,
     "Listeners as NAME://host:port, comma-separated."},
    {"advertised.listeners", SL_CONFIG_LIST, NULL, 0, 0, NULL,
     "Addresses given to clients; defaults to listeners."},
    {"log.dirs", SL_CONFIG_LIST, NULL, 0, 0, NULL,
     "Data directory (the first entry is used)."},
    {"log.dir", SL_CONFIG_STRING, "/tmp/kafka-logs", 0, 0, NULL,
     "Data directory when log.dirs is not set."},
    {"socket.request.max.bytes", SL_CONFIG_INT, "104857600", 1, I32MAX, NULL,
     "Largest request frame accepted; larger ones close the connection."},
    {"max.connections", SL_CONFIG_INT, "2147483647", 0, I32MAX, NULL,
     "Connections accepted at once across listeners."},
    {"connections.max.idle.ms", SL_CONFIG_LONG, "600000", -1, I64MAX, NULL,
     "Idle connections are closed after this long (-1: never)."},
    {"num.network.threads", SL_CONFIG_INT, "3", 1, 64, NULL,
     "Network threads, each with its own reactor and connections."},
    {"num.io.threads", SL_CONFIG_INT, "8", 1, 256, NULL,
     "Worker threads that run request handlers."},
    {"queued.max.request.bytes", SL_CONFIG_LONG, "-1", -1, I64MAX, NULL,
     "Bytes of requests held before reading pauses (-1: no limit)."},
    {"sluice.log.level", SL_CONFIG_STRING, "info", 0, 0,
     "debug|info|warn|error|off", "Level of Sluice's own log lines."},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct sl_config_kv_s {
    char *key;
    char *value;
} sl_config_kv_t;

struct sl_config_s {
    sl_config_kv_t *kv;
    size_t n, cap;
};

const sl_config_key_t *
sl_config_keys(void)
{
    return sl_config_table;
}

static const sl_config_key_t *
sl_config_find_key(const char *name)
{
    const sl_config_key_t *k;

    for (k = sl_config_table; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

sl_config_t *
sl_config_create(void)
{
    return calloc(1, sizeof(sl_config_t));
}

void
sl_config_destroy(sl_config_t *cfg)
{
    size_t i;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; i < cfg->n; i++) {
        free(cfg->kv[i].key);
        free(cfg->kv[i].value);
    }
    free(cfg->kv);
    free(cfg);
}

static sl_config_kv_t *
sl_config_find(const sl_config_t *cfg, const char *key)
{
    size_t i;

    for (i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->kv[i].key, key) == 0) {
            return &cfg->kv[i];
        }
    }
    return NULL;
}

static bool
sl_config_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool
sl_config_choice_ok(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices, *bar;

    while (p != NULL && *p != '\0') {
        bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && strncasecmp(p, v, len) == 0) {
            return true;
        }
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static bool
sl_config_validate(const sl_config_key_t *k, const char *v, char *why,
                   size_t whylen)
{
    int64_t n;

    switch (k->type) {
    case SL_CONFIG_INT:
    case SL_CONFIG_LONG:
        if (!sl_config_parse_int(v, &n) || n < k->min || n > k->max) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected an integer in "
                     "[%lld, %lld]",
                     v, k->name, (long long)k->min, (long long)k->max);
            return false;
        }
        return true;
    case SL_CONFIG_BOOL:
        if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected true or false", v,
                     k->name);
            return false;
        }
        return true;
    case SL_CONFIG_STRING:
        if (k->choices != NULL && !sl_config_choice_ok(k->choices, v)) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected one of %s", v,
                     k->name, k->choices);
            return false;
        }
        return true;
    case SL_CONFIG_LIST:
        return true;
    }
    return true;
}

sl_err_t
sl_config_set(sl_config_t *cfg, const char *key, const char *value, char *why,
              size_t whylen)
{
    const sl_config_key_t *k = sl_config_find_key(key);
    sl_config_kv_t *kv;
    char *v;

    if (k != NULL && !sl_config_validate(k, value, why, whylen)) {
        return SL_ERR__INVAL;
    }
    v = strdup(value);
    if (v == NULL) {
        return SL_ERR__NOMEM;
    }
    kv = sl_config_find(cfg, key);
    if (kv != NULL) {
        free(kv->value);
        kv->value = v;
        return SL_OK;
    }
    if (cfg->n == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        sl_config_kv_t *p = realloc(cfg->kv, cap * sizeof(*p));
        if (p == NULL) {
            free(v);
            return SL_ERR__NOMEM;
        }
        cfg->kv = p;
        cfg->cap = cap;
    }
    cfg->kv[cfg->n].key = strdup(key);
    if (cfg->kv[cfg->n].key == NULL) {
        free(v);
        return SL_ERR__NOMEM;
    }
    cfg->kv[cfg->n].value = v;
    cfg->n++;
    return SL_OK;
}

static char *
sl_config_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

sl_err_t
sl_config_load_file(sl_config_t *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192], why[256], *p, *sep, *key, *val;
    int lineno = 0;
    sl_err_t err = SL_OK;

    if (f == NULL) {
        sl_log_error("config", "cannot open config file path=%s errno=%d",
                     path, errno);
        return SL_ERR__IO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        p = sl_config_trim(line);
        if (*p == '\0' || *p == '#' || *p == '!') {
            continue;
        }
        sep = strpbrk(p, "=:");
        if (sep == NULL) {
            sl_log_warn("config", "ignoring line without '=' path=%s line=%d",
                        path, lineno);
            continue;
        }
        *sep = '\0';
        key = sl_config_trim(p);
        val = sl_config_trim(sep + 1);
        if (sl_config_set(cfg, key, val, why, sizeof(why)) != SL_OK) {
            sl_log_error("config", "%s (path=%s line=%d)", why, path, lineno);
            err = SL_ERR__INVAL;
            break;
        }
    }
    fclose(f);
    return err;
}

sl_err_t
sl_config_load_env(sl_config_t *cfg, char **envp)
{
    char key[512], why[256];
    const char *e, *eq, *p;
    size_t n;

    for (; envp != NULL && *envp != NULL; envp++) {
        e = *envp;
        if (strncmp(e, "KAFKA_", 6) != 0) {
            continue;
        }
        eq = strchr(e, '=');
        if (eq == NULL) {
            continue;
        }
        /* Variables of the image's scripts, not configuration. */
        if (strncmp(e, "KAFKA_HEAP_OPTS=", 16) == 0 ||
            strncmp(e, "KAFKA_OPTS=", 11) == 0 ||
            strncmp(e, "KAFKA_JVM_", 10) == 0 ||
            strncmp(e, "KAFKA_LOG4J_", 12) == 0 ||
            strncmp(e, "KAFKA_JMX_", 10) == 0 ||
            strncmp(e, "KAFKA_GC_", 9) == 0 ||
            strncmp(e, "KAFKA_DEBUG", 11) == 0) {
            continue;
        }
        n = 0;
        for (p = e + 6; p < eq && n + 1 < sizeof(key); p++) {
            if (p + 2 < eq && p[0] == '_' && p[1] == '_' && p[2] == '_') {
                key[n++] = '-';
                p += 2;
            } else if (p + 1 < eq && p[0] == '_' && p[1] == '_') {
                key[n++] = '_';
                p += 1;
            } else if (*p == '_') {
                key[n++] = '.';
            } else {
                key[n++] = (char)tolower((unsigned char)*p);
            }
        }
        key[n] = '\0';
        if (sl_config_set(cfg, key, eq + 1, why, sizeof(why)) != SL_OK) {
            sl_log_error("config", "%s (from environment)", why);
            return SL_ERR__INVAL;
        }
    }
    return SL_OK;
}

sl_err_t
sl_config_check(sl_config_t *cfg)
{
    size_t i;

    for (i = 0; i < cfg->n; i++) {
        if (sl_config_find_key(cfg->kv[i].key) == NULL) {
            sl_log_warn("config", "unknown configuration key ignored key=%s",
                        cfg->kv[i].key);
        }
    }
    return SL_OK;
}

static const char *
sl_config_raw(const sl_config_t *cfg, const char *key)
{
    const sl_config_kv_t *kv = sl_config_find(cfg, key);
    const sl_config_key_t *k;

    if (kv != NULL) {
        return kv->value;
    }
    k = sl_config_find_key(key);
    if (k == NULL) {
        sl_log_error("config", "lookup of unknown key=%s", key);
        abort();
    }
    return k->dflt;
}

const char *
sl_config_str(const sl_config_t *cfg, const char *key)
{
    return sl_config_raw(cfg, key);
}

int64_t
sl_config_long(const sl_config_t *cfg, const char *key)
{
    const char *v = sl_config_raw(cfg, key);
    int64_t n = 0;

    if (v == NULL || !sl_config_parse_int(v, &n)) {
        return 0;
    }
    return n;
}

int32_t
sl_config_int(const sl_config_t *cfg, const char *key)
{
    return (int32_t)sl_config_long(cfg, key);
}

bool
sl_config_bool(const sl_config_t *cfg, const char *key)
{
    const char *v = sl_config_raw(cfg, key);

    return v != NULL && strcasecmp(v, "true") == 0;
}

bool
sl_config_is_set(const sl_config_t *cfg, const char *key)
{
    return sl_config_find(cfg, key) != NULL;
}
