/*
 * cluster/topic_config.c: the topic config key table, validation, override
 * maps, effective values with sources and synonyms, and the alteration
 * operations. See topic_config.h for the resolution order.
 *
 * Owns: the static key table. No locks: callers serialise access to the
 * maps they pass.
 */
#include "cluster/topic_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define I32MAX 2147483647LL
#define I64MAX 9223372036854775807LL
#define I64MIN (-I64MAX - 1)

#define NOSYN                                                                  \
    {                                                                          \
        NULL, NULL, NULL                                                       \
    }
#define NOCONV                                                                 \
    {                                                                          \
        SL_CFGCONV_NONE, SL_CFGCONV_NONE, SL_CFGCONV_NONE                      \
    }
#define SYN1(a)                                                                \
    {                                                                          \
        (a), NULL, NULL                                                        \
    }

/*
 * Kafka 4.0's topic keys. Removed in 4.0 and therefore unknown here:
 * message.format.version, message.timestamp.difference.max.ms,
 * message.downconversion.enable. The default column is the topic key's own
 * default, used only when no broker synonym supplies one.
 */
static const sl_topic_config_key_t sl_topic_config_table[] = {
    {"cleanup.policy", SL_CFGTYPE_LIST, "delete", 0, 0, "compact|delete",
     SYN1("log.cleanup.policy"), NOCONV,
     "What happens to old segments: delete removes them past retention, "
     "compact keeps the last record of each key; both may be listed."},
    {"compression.gzip.level", SL_CFGTYPE_INT, "-1", -1, 9, NULL,
     SYN1("compression.gzip.level"), NOCONV,
     "gzip level used when compression.type is gzip (-1 or 1 to 9)."},
    {"compression.lz4.level", SL_CFGTYPE_INT, "9", 1, 17, NULL,
     SYN1("compression.lz4.level"), NOCONV,
     "lz4 level used when compression.type is lz4."},
    {"compression.type", SL_CFGTYPE_STRING, "producer", 0, 0,
     "uncompressed|zstd|lz4|snappy|gzip|producer", SYN1("compression.type"),
     NOCONV,
     "Codec the partition stores batches with; producer keeps whatever the "
     "producer used."},
    {"compression.zstd.level", SL_CFGTYPE_INT, "3", -131072, 22, NULL,
     SYN1("compression.zstd.level"), NOCONV,
     "zstd level used when compression.type is zstd."},
    {"delete.retention.ms", SL_CFGTYPE_LONG, "86400000", 0, I64MAX, NULL,
     SYN1("log.cleaner.delete.retention.ms"), NOCONV,
     "How long tombstones stay readable in a compacted topic."},
    {"file.delete.delay.ms", SL_CFGTYPE_LONG, "60000", 0, I64MAX, NULL,
     SYN1("log.segment.delete.delay.ms"), NOCONV,
     "Wait between dropping a segment from the log and deleting its files."},
    {"flush.messages", SL_CFGTYPE_LONG, "9223372036854775807", 1, I64MAX, NULL,
     SYN1("log.flush.interval.messages"), NOCONV,
     "Records appended between two forced flushes to disk."},
    {"flush.ms",
     SL_CFGTYPE_LONG,
     "9223372036854775807",
     0,
     I64MAX,
     NULL,
     {"log.flush.interval.ms", "log.flush.scheduler.interval.ms", NULL},
     NOCONV,
     "Longest time appended data waits before a forced flush."},
    {"follower.replication.throttled.replicas", SL_CFGTYPE_LIST, "", 0, 0, NULL,
     NOSYN, NOCONV,
     "Replicas (partition:broker, or *) whose follower fetches are "
     "throttled."},
    {"index.interval.bytes", SL_CFGTYPE_INT, "4096", 0, I32MAX, NULL,
     SYN1("log.index.interval.bytes"), NOCONV,
     "Log bytes between two entries of the offset index."},
    {"leader.replication.throttled.replicas", SL_CFGTYPE_LIST, "", 0, 0, NULL,
     NOSYN, NOCONV,
     "Replicas (partition:broker, or *) whose leader side is throttled."},
    {"local.retention.bytes", SL_CFGTYPE_LONG, "-2", -2, I64MAX, NULL,
     SYN1("log.local.retention.bytes"), NOCONV,
     "Local size limit with tiered storage (-2: same as retention.bytes)."},
    {"local.retention.ms", SL_CFGTYPE_LONG, "-2", -2, I64MAX, NULL,
     SYN1("log.local.retention.ms"), NOCONV,
     "Local age limit with tiered storage (-2: same as retention.ms)."},
    {"max.compaction.lag.ms", SL_CFGTYPE_LONG, "9223372036854775807", 1, I64MAX,
     NULL, SYN1("log.cleaner.max.compaction.lag.ms"), NOCONV,
     "Oldest an uncompacted record may get before the log is compacted."},
    {"max.message.bytes", SL_CFGTYPE_INT, "1048588", 0, I32MAX, NULL,
     SYN1("message.max.bytes"), NOCONV,
     "Largest record batch the topic accepts."},
    {"message.timestamp.after.max.ms", SL_CFGTYPE_LONG, "3600000", 0, I64MAX,
     NULL, SYN1("log.message.timestamp.after.max.ms"), NOCONV,
     "How far ahead of the broker's clock a CreateTime timestamp may be."},
    {"message.timestamp.before.max.ms", SL_CFGTYPE_LONG, "9223372036854775807",
     0, I64MAX, NULL, SYN1("log.message.timestamp.before.max.ms"), NOCONV,
     "How far behind the broker's clock a CreateTime timestamp may be."},
    {"message.timestamp.type", SL_CFGTYPE_STRING, "CreateTime", 0, 0,
     "CreateTime|LogAppendTime", SYN1("log.message.timestamp.type"), NOCONV,
     "CreateTime keeps the producer's timestamps; LogAppendTime replaces "
     "them with the broker's clock."},
    {"min.cleanable.dirty.ratio", SL_CFGTYPE_DOUBLE, "0.5", 0, 1, NULL,
     SYN1("log.cleaner.min.cleanable.ratio"), NOCONV,
     "Share of uncompacted log above which compaction runs."},
    {"min.compaction.lag.ms", SL_CFGTYPE_LONG, "0", 0, I64MAX, NULL,
     SYN1("log.cleaner.min.compaction.lag.ms"), NOCONV,
     "Youngest a record may be and still be compacted away."},
    {"min.insync.replicas", SL_CFGTYPE_INT, "1", 1, I32MAX, NULL,
     SYN1("min.insync.replicas"), NOCONV,
     "In-sync replicas an acks=all produce needs."},
    {"preallocate", SL_CFGTYPE_BOOLEAN, "false", 0, 0, NULL,
     SYN1("log.preallocate"), NOCONV,
     "Create segment files at their full size."},
    {"remote.log.copy.disable", SL_CFGTYPE_BOOLEAN, "false", 0, 0, NULL, NOSYN,
     NOCONV, "Stop copying segments to tiered storage."},
    {"remote.log.delete.on.disable", SL_CFGTYPE_BOOLEAN, "false", 0, 0, NULL,
     NOSYN, NOCONV,
     "Delete tiered data when tiered storage is turned off for the topic."},
    {"remote.storage.enable", SL_CFGTYPE_BOOLEAN, "false", 0, 0, NULL, NOSYN,
     NOCONV, "Tiered storage for the topic (not available in Sluice)."},
    {"retention.bytes", SL_CFGTYPE_LONG, "-1", I64MIN, I64MAX, NULL,
     SYN1("log.retention.bytes"), NOCONV,
     "Size a partition may reach before its oldest segments are deleted "
     "(-1: no limit)."},
    {"retention.ms",
     SL_CFGTYPE_LONG,
     "604800000",
     -1,
     I64MAX,
     NULL,
     {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
     {SL_CFGCONV_NONE, SL_CFGCONV_MINUTES_TO_MS, SL_CFGCONV_HOURS_TO_MS},
     "Age after which segments are deleted (-1: keep forever)."},
    {"segment.bytes", SL_CFGTYPE_INT, "1073741824", 1048576, I32MAX, NULL,
     SYN1("log.segment.bytes"), NOCONV,
     "Size at which a segment is closed and a new one started."},
    {"segment.index.bytes", SL_CFGTYPE_INT, "10485760", 4, I32MAX, NULL,
     SYN1("log.index.size.max.bytes"), NOCONV,
     "Largest size of a segment's offset index."},
    {"segment.jitter.ms",
     SL_CFGTYPE_LONG,
     "0",
     0,
     I64MAX,
     NULL,
     {"log.roll.jitter.ms", "log.roll.jitter.hours", NULL},
     {SL_CFGCONV_NONE, SL_CFGCONV_HOURS_TO_MS, SL_CFGCONV_NONE},
     "Largest random time taken off segment.ms, to spread rolls out."},
    {"segment.ms",
     SL_CFGTYPE_LONG,
     "604800000",
     1,
     I64MAX,
     NULL,
     {"log.roll.ms", "log.roll.hours", NULL},
     {SL_CFGCONV_NONE, SL_CFGCONV_HOURS_TO_MS, SL_CFGCONV_NONE},
     "Age at which a segment is rolled even if not full."},
    {"unclean.leader.election.enable", SL_CFGTYPE_BOOLEAN, "false", 0, 0, NULL,
     SYN1("unclean.leader.election.enable"), NOCONV,
     "Whether a replica outside the ISR may become leader (data loss)."},
    {NULL, 0, NULL, 0, 0, NULL, NOSYN, NOCONV, NULL},
};

const sl_topic_config_key_t *
sl_topic_config_keys(void)
{
    return sl_topic_config_table;
}

const sl_topic_config_key_t *
sl_topic_config_find(const char *name)
{
    const sl_topic_config_key_t *k;

    if (name == NULL) {
        return NULL;
    }
    for (k = sl_topic_config_table; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

/* ---- parsing ------------------------------------------------------- */

static bool
sl_topic_config_parse_long(const char *s, int64_t *out)
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
sl_topic_config_parse_double(const char *s, double *out)
{
    char *end;
    double d;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    d = strtod(s, &end);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (errno != 0 || *end != '\0' || !isfinite(d)) {
        return false;
    }
    *out = d;
    return true;
}

static bool
sl_topic_config_parse_bool(const char *s, bool *out)
{
    char t[8];
    size_t n;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    if (n >= sizeof(t)) {
        return false;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    if (strcasecmp(t, "true") == 0) {
        *out = true;
        return true;
    }
    if (strcasecmp(t, "false") == 0) {
        *out = false;
        return true;
    }
    return false;
}

/* Case-sensitive membership of [p, p+len) in "a|b|c". */
static bool
sl_topic_config_choice(const char *choices, const char *p, size_t len)
{
    const char *c = choices, *bar;
    size_t cl;

    while (c != NULL && *c != '\0') {
        bar = strchr(c, '|');
        cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == len && memcmp(c, p, len) == 0) {
            return true;
        }
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Next comma-separated item of a list value, trimmed. Returns false at the
 * end. *pos advances past the item and its comma. */
static bool
sl_topic_config_next_item(const char **pos, const char **item, size_t *len)
{
    const char *p = *pos, *e, *comma;

    if (p == NULL) {
        return false;
    }
    comma = strchr(p, ',');
    e = comma ? comma : p + strlen(p);
    while (p < e && isspace((unsigned char)*p)) {
        p++;
    }
    while (e > p && isspace((unsigned char)e[-1])) {
        e--;
    }
    *item = p;
    *len = (size_t)(e - p);
    *pos = comma ? comma + 1 : NULL;
    return true;
}

/* Whether a list value is empty (only blanks). */
static bool
sl_topic_config_list_blank(const char *v)
{
    while (isspace((unsigned char)*v)) {
        v++;
    }
    return *v == '\0';
}

/* "*" or items "<partition>:<broker>" (digits), as Kafka's throttled
 * replica lists. */
static bool
sl_topic_config_throttled_ok(const char *v)
{
    const char *pos = v, *it;
    size_t len, i, colon;

    if (sl_topic_config_list_blank(v)) {
        return true;
    }
    if (sl_topic_config_next_item(&pos, &it, &len) && len == 1 &&
        it[0] == '*' && pos == NULL) {
        return true;
    }
    pos = v;
    while (sl_topic_config_next_item(&pos, &it, &len)) {
        colon = len;
        for (i = 0; i < len; i++) {
            if (it[i] == ':' && colon == len) {
                colon = i;
            } else if (!isdigit((unsigned char)it[i])) {
                return false;
            }
        }
        if (colon == 0 || colon >= len - 1) {
            return false;
        }
    }
    return true;
}

static bool
sl_topic_config_list_ok(const sl_topic_config_key_t *k, const char *v)
{
    const char *pos = v, *it;
    size_t len;

    if (k->choices == NULL) {
        return sl_topic_config_throttled_ok(v);
    }
    if (sl_topic_config_list_blank(v)) {
        return false; /* cleanup.policy needs at least one policy */
    }
    while (sl_topic_config_next_item(&pos, &it, &len)) {
        if (!sl_topic_config_choice(k->choices, it, len)) {
            return false;
        }
    }
    return true;
}

sl_err_t
sl_topic_config_validate(const char *key, const char *value, char *why,
                         size_t whylen)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(key);
    int64_t n;
    double d;
    bool b;

    if (k == NULL) {
        snprintf(why, whylen, "Unknown topic config name: %s",
                 key ? key : "(null)");
        return SL_ERR_INVALID_CONFIG;
    }
    if (value == NULL) {
        snprintf(why, whylen, "Null value not supported for topic config %s",
                 key);
        return SL_ERR_INVALID_CONFIG;
    }
    switch (k->type) {
    case SL_CFGTYPE_INT:
    case SL_CFGTYPE_SHORT:
    case SL_CFGTYPE_LONG:
        if (!sl_topic_config_parse_long(value, &n) || n < k->min ||
            n > k->max) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected an "
                     "integer from %" PRId64 " to %" PRId64,
                     value, key, k->min, k->max);
            return SL_ERR_INVALID_CONFIG;
        }
        if (n == 0 && strcmp(key, "compression.gzip.level") == 0) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected -1 or "
                     "1 to 9",
                     value, key);
            return SL_ERR_INVALID_CONFIG;
        }
        return SL_OK;
    case SL_CFGTYPE_DOUBLE:
        if (!sl_topic_config_parse_double(value, &d) || d < (double)k->min ||
            d > (double)k->max) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected a "
                     "number from %" PRId64 " to %" PRId64,
                     value, key, k->min, k->max);
            return SL_ERR_INVALID_CONFIG;
        }
        return SL_OK;
    case SL_CFGTYPE_BOOLEAN:
        if (!sl_topic_config_parse_bool(value, &b)) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected true "
                     "or false",
                     value, key);
            return SL_ERR_INVALID_CONFIG;
        }
        return SL_OK;
    case SL_CFGTYPE_STRING:
        if (k->choices != NULL &&
            !sl_topic_config_choice(k->choices, value, strlen(value))) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected one "
                     "of %s",
                     value, key, k->choices);
            return SL_ERR_INVALID_CONFIG;
        }
        return SL_OK;
    case SL_CFGTYPE_LIST:
        if (!sl_topic_config_list_ok(k, value)) {
            snprintf(why, whylen,
                     "Invalid value %s for configuration %s: expected a "
                     "comma-separated list of %s",
                     value, key,
                     k->choices ? k->choices : "partition:broker pairs, or *");
            return SL_ERR_INVALID_CONFIG;
        }
        return SL_OK;
    default:
        snprintf(why, whylen, "Unsupported type of configuration %s", key);
        return SL_ERR_INVALID_CONFIG;
    }
}

/* ---- override maps ------------------------------------------------- */

static sl_topic_config_kv_t *
sl_topic_config_map_find(const sl_topic_config_map_t *m, const char *key)
{
    size_t i;

    if (m == NULL) {
        return NULL;
    }
    for (i = 0; i < m->n; i++) {
        if (strcmp(m->kv[i].key, key) == 0) {
            return &m->kv[i];
        }
    }
    return NULL;
}

const char *
sl_topic_config_map_get(const sl_topic_config_map_t *m, const char *key)
{
    sl_topic_config_kv_t *kv = sl_topic_config_map_find(m, key);

    return kv ? kv->value : NULL;
}

sl_err_t
sl_topic_config_map_set(sl_topic_config_map_t *m, const char *key,
                        const char *value)
{
    sl_topic_config_kv_t *kv = sl_topic_config_map_find(m, key);
    char *v = strdup(value), *k;

    if (v == NULL) {
        return SL_ERR__NOMEM;
    }
    if (kv != NULL) {
        free(kv->value);
        kv->value = v;
        return SL_OK;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        sl_topic_config_kv_t *p = realloc(m->kv, cap * sizeof(*p));
        if (p == NULL) {
            free(v);
            return SL_ERR__NOMEM;
        }
        m->kv = p;
        m->cap = cap;
    }
    if ((k = strdup(key)) == NULL) {
        free(v);
        return SL_ERR__NOMEM;
    }
    m->kv[m->n].key = k;
    m->kv[m->n].value = v;
    m->n++;
    return SL_OK;
}

bool
sl_topic_config_map_del(sl_topic_config_map_t *m, const char *key)
{
    sl_topic_config_kv_t *kv = sl_topic_config_map_find(m, key);
    size_t i;

    if (kv == NULL) {
        return false;
    }
    i = (size_t)(kv - m->kv);
    free(kv->key);
    free(kv->value);
    memmove(&m->kv[i], &m->kv[i + 1], (m->n - i - 1) * sizeof(*kv));
    m->n--;
    return true;
}

void
sl_topic_config_map_clear(sl_topic_config_map_t *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        free(m->kv[i].key);
        free(m->kv[i].value);
    }
    free(m->kv);
    m->kv = NULL;
    m->n = m->cap = 0;
}

sl_err_t
sl_topic_config_map_copy(sl_topic_config_map_t *dst,
                         const sl_topic_config_map_t *src)
{
    size_t i;

    for (i = 0; src != NULL && i < src->n; i++) {
        if (sl_topic_config_map_set(dst, src->kv[i].key, src->kv[i].value) !=
            SL_OK) {
            sl_topic_config_map_clear(dst);
            return SL_ERR__NOMEM;
        }
    }
    return SL_OK;
}

/* ---- resolution ---------------------------------------------------- */

static size_t sl_topic_config_value_len(const sl_config_t *broker,
                                        const sl_topic_config_map_t *m,
                                        const sl_topic_config_key_t *k);

static void
sl_topic_config_copy(char *buf, size_t buflen, const char *s)
{
    if (buflen == 0) {
        return;
    }
    snprintf(buf, buflen, "%s", s ? s : "");
}

/* Write broker value <raw> converted by <conv> into buf. */
static void
sl_topic_config_convert(const char *raw, sl_cfgconv_e conv, char *buf,
                        size_t buflen)
{
    int64_t v, mul;

    if (conv == SL_CFGCONV_NONE || !sl_topic_config_parse_long(raw, &v)) {
        sl_topic_config_copy(buf, buflen, raw);
        return;
    }
    mul = conv == SL_CFGCONV_HOURS_TO_MS ? 3600000 : 60000;
    if (v < 0) {
        v = -1; /* a negative age means "no limit" */
    } else if (v > I64MAX / mul) {
        v = I64MAX;
    } else {
        v *= mul;
    }
    snprintf(buf, buflen, "%" PRId64, v);
}

sl_cfgsrc_e
sl_topic_config_value(const sl_config_t *broker, const sl_topic_config_map_t *m,
                      const sl_topic_config_key_t *k, char *buf, size_t buflen)
{
    const sl_config_key_t *bk;
    const char *ov = sl_topic_config_map_get(m, k->name);
    int i;

    if (ov != NULL) {
        sl_topic_config_copy(buf, buflen, ov);
        return SL_CFGSRC_DYNAMIC_TOPIC_CONFIG;
    }
    for (i = 0; broker != NULL && i < SL_TOPIC_CONFIG_MAX_SYNONYMS &&
                k->synonyms[i] != NULL;
         i++) {
        if (sl_config_key_find(k->synonyms[i]) != NULL &&
            sl_config_is_set(broker, k->synonyms[i])) {
            sl_topic_config_convert(sl_config_str(broker, k->synonyms[i]),
                                    k->conv[i], buf, buflen);
            return SL_CFGSRC_STATIC_BROKER_CONFIG;
        }
    }
    for (i = 0; i < SL_TOPIC_CONFIG_MAX_SYNONYMS && k->synonyms[i] != NULL;
         i++) {
        bk = sl_config_key_find(k->synonyms[i]);
        if (bk != NULL && bk->dflt != NULL) {
            sl_topic_config_convert(bk->dflt, k->conv[i], buf, buflen);
            return SL_CFGSRC_DEFAULT_CONFIG;
        }
    }
    sl_topic_config_copy(buf, buflen, k->dflt);
    return SL_CFGSRC_DEFAULT_CONFIG;
}

int64_t
sl_topic_config_long(const sl_config_t *broker, const sl_topic_config_map_t *m,
                     const char *name)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(name);
    char buf[64];
    int64_t v = 0;

    if (k == NULL || (k->type != SL_CFGTYPE_LONG && k->type != SL_CFGTYPE_INT &&
                      k->type != SL_CFGTYPE_SHORT)) {
        return 0;
    }
    sl_topic_config_value(broker, m, k, buf, sizeof(buf));
    if (!sl_topic_config_parse_long(buf, &v)) {
        return 0;
    }
    return v;
}

bool
sl_topic_config_bool(const sl_config_t *broker, const sl_topic_config_map_t *m,
                     const char *name)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(name);
    char buf[64];
    bool b = false;

    if (k == NULL || k->type != SL_CFGTYPE_BOOLEAN) {
        return false;
    }
    sl_topic_config_value(broker, m, k, buf, sizeof(buf));
    if (!sl_topic_config_parse_bool(buf, &b)) {
        return false;
    }
    return b;
}

double
sl_topic_config_double(const sl_config_t *broker,
                       const sl_topic_config_map_t *m, const char *name)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(name);
    char buf[64];
    double d = 0;

    if (k == NULL || k->type != SL_CFGTYPE_DOUBLE) {
        return 0;
    }
    sl_topic_config_value(broker, m, k, buf, sizeof(buf));
    if (!sl_topic_config_parse_double(buf, &d)) {
        return 0;
    }
    return d;
}

bool
sl_topic_config_list_contains(const sl_config_t *broker,
                              const sl_topic_config_map_t *m, const char *name,
                              const char *item)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(name);
    const char *pos, *it;
    size_t len, n = strlen(item);
    char *buf;
    bool found = false;

    if (k == NULL || k->type != SL_CFGTYPE_LIST) {
        return false;
    }
    len = sl_topic_config_value_len(broker, m, k);
    if ((buf = malloc(len)) == NULL) {
        return false;
    }
    sl_topic_config_value(broker, m, k, buf, len);
    pos = buf;
    while (!found && sl_topic_config_next_item(&pos, &it, &len)) {
        found = len == n && memcmp(it, item, n) == 0;
    }
    free(buf);
    return found;
}

/* ---- description --------------------------------------------------- */

static const char *
sl_topic_config_adup(sl_arena_t *a, const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    return sl_arena_memdup(a, s, strlen(s) + 1);
}

/* The effective value of a key may be a long list: size it first. */
static size_t
sl_topic_config_value_len(const sl_config_t *broker,
                          const sl_topic_config_map_t *m,
                          const sl_topic_config_key_t *k)
{
    const char *ov = sl_topic_config_map_get(m, k->name);
    size_t len = 64;
    int i;

    if (ov != NULL) {
        return strlen(ov) + 1;
    }
    for (i = 0; broker != NULL && i < SL_TOPIC_CONFIG_MAX_SYNONYMS &&
                k->synonyms[i] != NULL;
         i++) {
        if (sl_config_key_find(k->synonyms[i]) != NULL &&
            sl_config_is_set(broker, k->synonyms[i])) {
            size_t l = strlen(sl_config_str(broker, k->synonyms[i])) + 1;
            return l > len ? l : len;
        }
    }
    return len;
}

sl_err_t
sl_topic_config_describe(const sl_config_t *broker,
                         const sl_topic_config_map_t *m,
                         const sl_topic_config_key_t *k, bool synonyms,
                         sl_arena_t *a, sl_config_entry_t *out)
{
    const sl_config_key_t *bk;
    const char *ov;
    size_t len = sl_topic_config_value_len(broker, m, k), n = 0;
    char *buf;
    int i;

    memset(out, 0, sizeof(*out));
    if ((buf = sl_arena_alloc(a, len)) == NULL) {
        return SL_ERR__NOMEM;
    }
    out->name = k->name;
    out->source = sl_topic_config_value(broker, m, k, buf, len);
    out->value = buf;
    out->type = k->type;
    out->doc = k->doc;
    out->read_only = false;
    out->sensitive = k->type == SL_CFGTYPE_PASSWORD;
    if (out->sensitive) {
        out->value = NULL;
    }
    if (!synonyms) {
        return SL_OK;
    }
    out->synonyms = sl_arena_calloc(a, 1 + 2 * SL_TOPIC_CONFIG_MAX_SYNONYMS,
                                    sizeof(sl_config_synonym_t));
    if (out->synonyms == NULL) {
        return SL_ERR__NOMEM;
    }
    if ((ov = sl_topic_config_map_get(m, k->name)) != NULL) {
        out->synonyms[n].name = k->name;
        out->synonyms[n].value = out->sensitive ? NULL : out->value;
        out->synonyms[n++].source = SL_CFGSRC_DYNAMIC_TOPIC_CONFIG;
    }
    for (i = 0; i < SL_TOPIC_CONFIG_MAX_SYNONYMS && k->synonyms[i] != NULL;
         i++) {
        if ((bk = sl_config_key_find(k->synonyms[i])) == NULL) {
            continue;
        }
        if (broker != NULL && sl_config_is_set(broker, bk->name)) {
            out->synonyms[n].name = bk->name;
            out->synonyms[n].value =
                sl_topic_config_adup(a, sl_config_str(broker, bk->name));
            if (out->synonyms[n].value == NULL) {
                return SL_ERR__NOMEM;
            }
            out->synonyms[n++].source = SL_CFGSRC_STATIC_BROKER_CONFIG;
        }
        if (bk->dflt != NULL) {
            out->synonyms[n].name = bk->name;
            out->synonyms[n].value = bk->dflt;
            out->synonyms[n++].source = SL_CFGSRC_DEFAULT_CONFIG;
        }
    }
    out->n_synonyms = n;
    return SL_OK;
}

static sl_cfgtype_e
sl_broker_config_type(sl_config_type_e t)
{
    switch (t) {
    case SL_CONFIG_STRING:
        return SL_CFGTYPE_STRING;
    case SL_CONFIG_INT:
        return SL_CFGTYPE_INT;
    case SL_CONFIG_LONG:
        return SL_CFGTYPE_LONG;
    case SL_CONFIG_BOOL:
        return SL_CFGTYPE_BOOLEAN;
    case SL_CONFIG_LIST:
        return SL_CFGTYPE_LIST;
    case SL_CONFIG_DOUBLE:
        return SL_CFGTYPE_DOUBLE;
    }
    return SL_CFGTYPE_UNKNOWN;
}

/* Keys holding secrets never have their value described. */
static bool
sl_broker_config_is_secret(const char *name)
{
    return strstr(name, "password") != NULL || strstr(name, "jaas") != NULL ||
           strstr(name, "secret") != NULL;
}

sl_err_t
sl_broker_config_describe(const sl_config_t *broker, const sl_config_key_t *k,
                          bool synonyms, sl_arena_t *a, sl_config_entry_t *out)
{
    bool set = sl_config_is_set(broker, k->name);
    const char *v = sl_config_str(broker, k->name);
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    out->name = k->name;
    out->source =
        set ? SL_CFGSRC_STATIC_BROKER_CONFIG : SL_CFGSRC_DEFAULT_CONFIG;
    out->sensitive = sl_broker_config_is_secret(k->name);
    out->type =
        out->sensitive ? SL_CFGTYPE_PASSWORD : sl_broker_config_type(k->type);
    out->read_only = true;
    out->doc = k->doc;
    if (!out->sensitive && v != NULL) {
        if ((out->value = sl_topic_config_adup(a, v)) == NULL) {
            return SL_ERR__NOMEM;
        }
    }
    if (!synonyms) {
        return SL_OK;
    }
    out->synonyms = sl_arena_calloc(a, 2, sizeof(sl_config_synonym_t));
    if (out->synonyms == NULL) {
        return SL_ERR__NOMEM;
    }
    if (set) {
        out->synonyms[n].name = k->name;
        out->synonyms[n].value = out->value;
        out->synonyms[n++].source = SL_CFGSRC_STATIC_BROKER_CONFIG;
    }
    if (k->dflt != NULL) {
        out->synonyms[n].name = k->name;
        out->synonyms[n].value = out->sensitive ? NULL : k->dflt;
        out->synonyms[n++].source = SL_CFGSRC_DEFAULT_CONFIG;
    }
    out->n_synonyms = n;
    return SL_OK;
}

sl_err_t
sl_broker_config_check_alter(const char *key, char *why, size_t whylen)
{
    snprintf(why, whylen, "Cannot update these configs dynamically: %s",
             key ? key : "(null)");
    return SL_ERR_INVALID_REQUEST;
}

/* ---- alteration ---------------------------------------------------- */

sl_err_t
sl_topic_config_validate_map(const sl_config_t *broker,
                             const sl_topic_config_map_t *m, char *why,
                             size_t whylen)
{
    int64_t lo = sl_topic_config_long(broker, m, "min.compaction.lag.ms");
    int64_t hi = sl_topic_config_long(broker, m, "max.compaction.lag.ms");

    if (lo > hi) {
        snprintf(why, whylen,
                 "Conflicting topic configs: min.compaction.lag.ms (%" PRId64
                 ") is above max.compaction.lag.ms (%" PRId64 ")",
                 lo, hi);
        return SL_ERR_INVALID_CONFIG;
    }
    if (sl_topic_config_bool(broker, m, "remote.storage.enable")) {
        snprintf(why, whylen,
                 "Tiered storage is not available on this broker: "
                 "remote.storage.enable cannot be true");
        return SL_ERR_INVALID_CONFIG;
    }
    return SL_OK;
}

/* Whether [it, it+len) is an item of list value <v>. */
static bool
sl_topic_config_list_has(const char *v, const char *it, size_t len)
{
    const char *pos = v, *x;
    size_t xl;

    while (sl_topic_config_next_item(&pos, &x, &xl)) {
        if (xl == len && memcmp(x, it, len) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * APPEND or SUBTRACT <arg> to/from list <cur>; result malloc'ed in *out.
 * Blank items are dropped.
 */
static sl_err_t
sl_topic_config_list_op(const char *cur, const char *arg, bool append,
                        char **out)
{
    size_t cap = strlen(cur) + strlen(arg) + 2, n = 0, len;
    const char *pos, *it;
    char *r = malloc(cap);

    if (r == NULL) {
        return SL_ERR__NOMEM;
    }
    r[0] = '\0';
    pos = cur;
    while (sl_topic_config_next_item(&pos, &it, &len)) {
        if (len == 0 || (!append && sl_topic_config_list_has(arg, it, len)) ||
            sl_topic_config_list_has(r, it, len)) {
            continue;
        }
        if (n > 0) {
            r[n++] = ',';
        }
        memcpy(r + n, it, len);
        n += len;
        r[n] = '\0';
    }
    pos = arg;
    while (append && sl_topic_config_next_item(&pos, &it, &len)) {
        if (len == 0 || sl_topic_config_list_has(r, it, len)) {
            continue;
        }
        if (n > 0) {
            r[n++] = ',';
        }
        memcpy(r + n, it, len);
        n += len;
        r[n] = '\0';
    }
    *out = r;
    return SL_OK;
}

static sl_err_t
sl_topic_config_apply_list(const sl_config_t *broker, sl_topic_config_map_t *m,
                           const sl_topic_config_key_t *k,
                           const sl_config_op_t *op, char *why, size_t whylen)
{
    char *cur, *res = NULL;
    size_t len = sl_topic_config_value_len(broker, m, k);
    sl_err_t err;

    if (k->type != SL_CFGTYPE_LIST) {
        snprintf(why, whylen,
                 "Config value %s is only allowed for list configs; %s is "
                 "not one",
                 op->op == SL_CFGOP_APPEND ? "append" : "subtract", k->name);
        return SL_ERR_INVALID_CONFIG;
    }
    if (op->value == NULL) {
        snprintf(why, whylen, "Null value not supported for %s", k->name);
        return SL_ERR_INVALID_REQUEST;
    }
    if ((cur = malloc(len)) == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_topic_config_value(broker, m, k, cur, len);
    err = sl_topic_config_list_op(cur, op->value, op->op == SL_CFGOP_APPEND,
                                  &res);
    free(cur);
    if (err == SL_OK) {
        err = sl_topic_config_validate(k->name, res, why, whylen);
    }
    if (err == SL_OK) {
        err = sl_topic_config_map_set(m, k->name, res);
    }
    free(res);
    return err;
}

static sl_err_t
sl_topic_config_apply_one(const sl_config_t *broker, sl_topic_config_map_t *m,
                          const sl_config_op_t *op, char *why, size_t whylen)
{
    const sl_topic_config_key_t *k = sl_topic_config_find(op->key);
    sl_err_t err;

    if (k == NULL) {
        snprintf(why, whylen, "Unknown topic config name: %s",
                 op->key ? op->key : "(null)");
        return SL_ERR_INVALID_CONFIG;
    }
    switch (op->op) {
    case SL_CFGOP_SET:
        if (op->value == NULL) {
            snprintf(why, whylen, "Null value not supported for %s", op->key);
            return SL_ERR_INVALID_REQUEST;
        }
        err = sl_topic_config_validate(op->key, op->value, why, whylen);
        if (err != SL_OK) {
            return err;
        }
        return sl_topic_config_map_set(m, op->key, op->value);
    case SL_CFGOP_DELETE:
        sl_topic_config_map_del(m, op->key);
        return SL_OK;
    case SL_CFGOP_APPEND:
    case SL_CFGOP_SUBTRACT:
        return sl_topic_config_apply_list(broker, m, k, op, why, whylen);
    }
    snprintf(why, whylen, "Unknown config operation %d for %s", (int)op->op,
             op->key);
    return SL_ERR_INVALID_REQUEST;
}

/* Whether a key appears twice among the <n> operations (message in why). */
static bool
sl_topic_config_dup_ops(const sl_config_op_t *ops, size_t n, char *why,
                        size_t whylen)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            if (ops[i].key != NULL && ops[j].key != NULL &&
                strcmp(ops[i].key, ops[j].key) == 0) {
                snprintf(why, whylen, "Duplicate config key: %s", ops[i].key);
                return true;
            }
        }
    }
    return false;
}

sl_err_t
sl_topic_config_apply_ops(const sl_config_t *broker, sl_topic_config_map_t *m,
                          const sl_config_op_t *ops, size_t n, char *why,
                          size_t whylen)
{
    size_t i;
    sl_err_t err;

    if (sl_topic_config_dup_ops(ops, n, why, whylen)) {
        return SL_ERR_INVALID_REQUEST;
    }
    for (i = 0; i < n; i++) {
        err = sl_topic_config_apply_one(broker, m, &ops[i], why, whylen);
        if (err != SL_OK) {
            return err;
        }
    }
    return sl_topic_config_validate_map(broker, m, why, whylen);
}

sl_err_t
sl_topic_config_replace(const sl_config_t *broker,
                        const sl_topic_config_kv_t *kvs, size_t n,
                        sl_topic_config_map_t *out, char *why, size_t whylen)
{
    size_t i, j;
    sl_err_t err = SL_OK;

    for (i = 0; i < n && err == SL_OK; i++) {
        for (j = i + 1; j < n; j++) {
            if (kvs[i].key != NULL && kvs[j].key != NULL &&
                strcmp(kvs[i].key, kvs[j].key) == 0) {
                snprintf(why, whylen, "Duplicate config key: %s", kvs[i].key);
                return SL_ERR_INVALID_REQUEST;
            }
        }
        err = sl_topic_config_validate(kvs[i].key, kvs[i].value, why, whylen);
        if (err == SL_OK) {
            err = sl_topic_config_map_set(out, kvs[i].key, kvs[i].value);
        }
    }
    if (err == SL_OK) {
        err = sl_topic_config_validate_map(broker, out, why, whylen);
    }
    if (err != SL_OK) {
        sl_topic_config_map_clear(out);
    }
    return err;
}
