/*
 * cluster/topic_config.h: the topic-level configuration keys Sluice supports
 * (Kafka 4.0's names, types, defaults and validators), per-topic override
 * maps, effective-value resolution with sources and synonyms as
 * DescribeConfigs reports them, IncrementalAlterConfigs operations and the
 * AlterConfigs replace, and the broker's own keys as DescribeConfigs shows
 * them.
 *
 * A topic's value of a key comes from, first to last: its override
 * (DYNAMIC_TOPIC_CONFIG); the first of the key's broker synonyms that is set
 * in the broker configuration (STATIC_BROKER_CONFIG), converted to the topic
 * key's unit (log.retention.hours -> ms); the first broker synonym with a
 * default (DEFAULT_CONFIG); Kafka's default of the topic key
 * (DEFAULT_CONFIG). Sluice has no dynamic broker configuration, so the
 * DYNAMIC_BROKER_CONFIG and DYNAMIC_DEFAULT_BROKER_CONFIG sources never
 * appear, and every broker key is read-only: altering one gets
 * INVALID_REQUEST.
 *
 * Owns: the key table (static, read-only) and nothing else; override maps
 * are owned by whoever created them (the metastore, for stored topics).
 * Thread-safe: all functions are pure or touch only their arguments.
 */
#ifndef SL_CLUSTER_TOPIC_CONFIG_H
#define SL_CLUSTER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"

/* DescribeConfigs' ConfigType (v3+), values as on the wire. */
typedef enum sl_cfgtype_e {
    SL_CFGTYPE_UNKNOWN = 0,
    SL_CFGTYPE_BOOLEAN = 1,
    SL_CFGTYPE_STRING = 2,
    SL_CFGTYPE_INT = 3,
    SL_CFGTYPE_SHORT = 4,
    SL_CFGTYPE_LONG = 5,
    SL_CFGTYPE_DOUBLE = 6,
    SL_CFGTYPE_LIST = 7,
    SL_CFGTYPE_CLASS = 8,
    SL_CFGTYPE_PASSWORD = 9,
} sl_cfgtype_e;

/* DescribeConfigs' ConfigSource (v1+), values as on the wire. */
typedef enum sl_cfgsrc_e {
    SL_CFGSRC_UNKNOWN = 0,
    SL_CFGSRC_DYNAMIC_TOPIC_CONFIG = 1,
    SL_CFGSRC_DYNAMIC_BROKER_CONFIG = 2,
    SL_CFGSRC_DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
    SL_CFGSRC_STATIC_BROKER_CONFIG = 4,
    SL_CFGSRC_DEFAULT_CONFIG = 5,
    SL_CFGSRC_DYNAMIC_BROKER_LOGGER_CONFIG = 6,
} sl_cfgsrc_e;

/* IncrementalAlterConfigs' operation codes, values as on the wire. */
typedef enum sl_cfgop_e {
    SL_CFGOP_SET = 0,
    SL_CFGOP_DELETE = 1,
    SL_CFGOP_APPEND = 2,
    SL_CFGOP_SUBTRACT = 3,
} sl_cfgop_e;

/* How a broker synonym's value converts to the topic key's unit. */
typedef enum sl_cfgconv_e {
    SL_CFGCONV_NONE = 0,
    SL_CFGCONV_HOURS_TO_MS = 1,
    SL_CFGCONV_MINUTES_TO_MS = 2,
} sl_cfgconv_e;

#define SL_TOPIC_CONFIG_MAX_SYNONYMS 3
/* More overrides than keys cannot exist (bounds the file parser). */
#define SL_TOPIC_CONFIG_MAX_KEYS 64

typedef struct sl_topic_config_key_s {
    const char *name;
    sl_cfgtype_e type;
    const char *dflt;    /* used only when no broker synonym has a value */
    int64_t min, max;    /* bounds of INT/LONG/SHORT/DOUBLE values */
    const char *choices; /* "a|b": STRING one of, LIST each of; or NULL */
    /* Broker keys supplying the default, highest priority first. */
    const char *synonyms[SL_TOPIC_CONFIG_MAX_SYNONYMS];
    sl_cfgconv_e conv[SL_TOPIC_CONFIG_MAX_SYNONYMS];
    const char *doc;
} sl_topic_config_key_t;

/* One key=value override. */
typedef struct sl_topic_config_kv_s {
    char *key;
    char *value;
} sl_topic_config_kv_t;

/* A topic's overrides: heap-owned keys and values, unique keys, kept in
 * insertion order. Zero-initialised is an empty map. */
typedef struct sl_topic_config_map_s {
    sl_topic_config_kv_t *kv;
    size_t n, cap;
} sl_topic_config_map_t;

/* One synonym of a described config (DescribeConfigs include_synonyms). */
typedef struct sl_config_synonym_s {
    const char *name;
    const char *value;
    sl_cfgsrc_e source;
} sl_config_synonym_t;

/* One described config. Strings point into the arena passed to the
 * describing function, or at static strings. */
typedef struct sl_config_entry_s {
    const char *name;
    const char *value; /* NULL for sensitive keys, or when unset */
    sl_cfgsrc_e source;
    sl_cfgtype_e type;
    bool read_only;
    bool sensitive;
    const char *doc;
    sl_config_synonym_t *synonyms; /* only when asked for */
    size_t n_synonyms;
} sl_config_entry_t;

/* One IncrementalAlterConfigs operation; value may be NULL (DELETE). */
typedef struct sl_config_op_s {
    const char *key;
    sl_cfgop_e op;
    const char *value;
} sl_config_op_t;

/* ---- the key table ------------------------------------------------- */

/* All supported topic keys, terminated by a NULL name. @thread any */
const sl_topic_config_key_t *sl_topic_config_keys(void);

/* The key named <name>, or NULL when it is not a supported topic key. */
const sl_topic_config_key_t *sl_topic_config_find(const char *name);

/*
 * Check one key=value against the key's type and validator.
 * @returns SL_OK, or SL_ERR_INVALID_CONFIG with a message in <why> for an
 * unknown key, a NULL value or a bad value.
 * @thread any
 */
sl_err_t sl_topic_config_validate(const char *key, const char *value, char *why,
                                  size_t whylen);

/*
 * Check the rules that span keys on the full set of overrides <m> against
 * the broker defaults: min.compaction.lag.ms <= max.compaction.lag.ms, and
 * remote.storage.enable=true refused (Sluice has no tiered storage). Each
 * value in <m> must already have passed sl_topic_config_validate().
 * @returns SL_OK or SL_ERR_INVALID_CONFIG with a message.
 */
sl_err_t sl_topic_config_validate_map(const sl_config_t *broker,
                                      const sl_topic_config_map_t *m, char *why,
                                      size_t whylen);

/* ---- override maps ------------------------------------------------- */

/* Value of <key> in <m>, or NULL. */
const char *sl_topic_config_map_get(const sl_topic_config_map_t *m,
                                    const char *key);
/* Set <key> to a copy of <value>. @returns SL_OK or SL_ERR__NOMEM (map
 * unchanged). No validation. */
sl_err_t sl_topic_config_map_set(sl_topic_config_map_t *m, const char *key,
                                 const char *value);
/* Remove <key>; returns whether it was there. */
bool sl_topic_config_map_del(sl_topic_config_map_t *m, const char *key);
/* Deep copy of <src> into the empty map <dst>. @returns SL_OK or __NOMEM
 * (dst left empty). */
sl_err_t sl_topic_config_map_copy(sl_topic_config_map_t *dst,
                                  const sl_topic_config_map_t *src);
/* Free everything; the map is empty afterwards. */
void sl_topic_config_map_clear(sl_topic_config_map_t *m);

/* ---- resolution and description ------------------------------------ */

/*
 * The effective value of topic key <k> given the overrides <m> (NULL: none)
 * and the broker configuration, written NUL-terminated to <buf>.
 * @returns its source (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG or
 * DEFAULT_CONFIG); an empty string when the key has no value anywhere.
 * Values longer than <buflen> are truncated (buflen >= 64 holds any number).
 */
sl_cfgsrc_e sl_topic_config_value(const sl_config_t *broker,
                                  const sl_topic_config_map_t *m,
                                  const sl_topic_config_key_t *k, char *buf,
                                  size_t buflen);

/* Typed effective values for the storage layer: <name> must be a supported
 * key of the matching type (checked: 0/false otherwise). */
int64_t sl_topic_config_long(const sl_config_t *broker,
                             const sl_topic_config_map_t *m, const char *name);
bool sl_topic_config_bool(const sl_config_t *broker,
                          const sl_topic_config_map_t *m, const char *name);
double sl_topic_config_double(const sl_config_t *broker,
                              const sl_topic_config_map_t *m, const char *name);

/* Whether the effective value of LIST key <name> holds <item> (e.g.
 * cleanup.policy holds "compact"); false for other keys. */
bool sl_topic_config_list_contains(const sl_config_t *broker,
                                   const sl_topic_config_map_t *m,
                                   const char *name, const char *item);

/*
 * Describe topic key <k> for DescribeConfigs: value, source, type, and, if
 * <synonyms>, the synonym list (the override, then for each broker synonym
 * in priority order its set value and its default). Strings come from <a>.
 * @returns SL_OK or SL_ERR__NOMEM (arena cap).
 */
sl_err_t sl_topic_config_describe(const sl_config_t *broker,
                                  const sl_topic_config_map_t *m,
                                  const sl_topic_config_key_t *k, bool synonyms,
                                  sl_arena_t *a, sl_config_entry_t *out);

/*
 * Describe broker key <k>: its value, STATIC_BROKER_CONFIG when set in the
 * file, environment or an override, else DEFAULT_CONFIG; read-only; keys
 * whose names mark secrets (password, jaas) are sensitive and have no value.
 * @returns SL_OK or SL_ERR__NOMEM.
 */
sl_err_t sl_broker_config_describe(const sl_config_t *broker,
                                   const sl_config_key_t *k, bool synonyms,
                                   sl_arena_t *a, sl_config_entry_t *out);

/*
 * Check an alteration of broker key <key> (AlterConfigs or
 * IncrementalAlterConfigs on a BROKER resource). Sluice alters no broker key
 * at run time. @returns SL_ERR_INVALID_REQUEST with a message (Kafka's
 * answer for keys that are not dynamically updatable).
 */
sl_err_t sl_broker_config_check_alter(const char *key, char *why,
                                      size_t whylen);

/* ---- alteration ---------------------------------------------------- */

/*
 * Apply IncrementalAlterConfigs operations <ops> to the overrides <m>, in
 * order, validating each result, then the rules across keys. SET needs a
 * value; DELETE removes the override; APPEND/SUBTRACT (LIST keys only) add
 * the items not yet present to, or remove items from, the current effective
 * value and store the result as an override.
 * On error <m> may be partly changed: apply to a copy.
 * @returns SL_OK; SL_ERR_INVALID_CONFIG (unknown key, bad value, APPEND or
 * SUBTRACT on a non-list key); SL_ERR_INVALID_REQUEST (a key twice, SET
 * without a value, unknown operation); SL_ERR__NOMEM. A message in <why>.
 */
sl_err_t sl_topic_config_apply_ops(const sl_config_t *broker,
                                   sl_topic_config_map_t *m,
                                   const sl_config_op_t *ops, size_t n,
                                   char *why, size_t whylen);

/*
 * AlterConfigs (non-incremental): validate <n> key=value pairs and build
 * the complete new override set in the empty map <out> (keys not listed
 * lose their override).
 * @returns SL_OK, SL_ERR_INVALID_CONFIG, SL_ERR_INVALID_REQUEST (a key
 * twice) or SL_ERR__NOMEM, with a message; <out> is empty on error.
 */
sl_err_t sl_topic_config_replace(const sl_config_t *broker,
                                 const sl_topic_config_kv_t *kvs, size_t n,
                                 sl_topic_config_map_t *out, char *why,
                                 size_t whylen);

#endif
