/*
 * core/config.h: broker configuration with Kafka's names and file format.
 *
 * Sources, later ones winning: built-in defaults, the properties file
 * (--config), environment variables in the Apache Kafka image convention
 * (KAFKA_LOG_RETENTION_MS for log.retention.ms; '_' -> '.', "__" -> "_",
 * "___" -> "-"), then --override key=value. Unknown keys are warned about
 * and kept; invalid values of known keys are refused with a message naming
 * the key and what is allowed.
 *
 * Owns: its key/value strings. Not thread-safe while being loaded; read-only
 * afterwards, then safe from any thread.
 */
#ifndef SL_CORE_CONFIG_H
#define SL_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum sl_config_type_e {
    SL_CONFIG_STRING,
    SL_CONFIG_INT,  /* int32 */
    SL_CONFIG_LONG, /* int64 */
    SL_CONFIG_BOOL,
    SL_CONFIG_LIST,   /* comma-separated strings; with choices, each item
                         must be one of them */
    SL_CONFIG_DOUBLE, /* a finite number; min/max bound it */
} sl_config_type_e;

typedef struct sl_config_key_s {
    const char *name;
    sl_config_type_e type;
    const char *dflt;    /* NULL: no default (unset) */
    int64_t min, max;    /* numeric bounds (inclusive) */
    const char *choices; /* "a|b|c" for strings, or NULL */
    const char *doc;
} sl_config_key_t;

typedef struct sl_config_s sl_config_t;

sl_config_t *sl_config_create(void);
void sl_config_destroy(sl_config_t *cfg);

/* Load a Java-properties file. @returns SL_OK, __IO (logged) or __INVAL. */
sl_err_t sl_config_load_file(sl_config_t *cfg, const char *path);
/* Apply KAFKA_* variables from <envp>. */
sl_err_t sl_config_load_env(sl_config_t *cfg, char **envp);
/* Set one key from "key=value" or key and value. Validates known keys;
 * on error writes a message into <why>. */
sl_err_t sl_config_set(sl_config_t *cfg, const char *key, const char *value,
                       char *why, size_t whylen);
/* Validate everything set; log and return __INVAL on the first bad value,
 * warn about unknown keys. */
sl_err_t sl_config_check(sl_config_t *cfg);

/* Getters; keys must be known (asserted). */
const char *sl_config_str(const sl_config_t *cfg, const char *key);
int32_t sl_config_int(const sl_config_t *cfg, const char *key);
int64_t sl_config_long(const sl_config_t *cfg, const char *key);
bool sl_config_bool(const sl_config_t *cfg, const char *key);
double sl_config_double(const sl_config_t *cfg, const char *key);
/* Whether the key was set explicitly (not the default). */
bool sl_config_is_set(const sl_config_t *cfg, const char *key);

/* The table of known keys, terminated by a NULL name. */
const sl_config_key_t *sl_config_keys(void);
/* The table entry of <name>, or NULL when the key is not known. */
const sl_config_key_t *sl_config_key_find(const char *name);

#endif
