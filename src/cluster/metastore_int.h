/*
 * cluster/metastore_int.h: what metastore.c and metastore_file.c share and
 * nobody else needs: the stored topic object, the file encoder and parser,
 * the atomic file write and meta.properties.
 */
#ifndef SL_CLUSTER_METASTORE_INT_H
#define SL_CLUSTER_METASTORE_INT_H

#include "cluster/metastore.h"

/* One stored topic. Immutable once it is part of an image: a change makes
 * a new object (sl_metastore_topic_clone) that replaces it. */
typedef struct sl_mtopic_s {
    char name[SL_TOPIC_NAME_MAX + 1];
    sl_uuid_t id;
    int32_t partitions;
    int32_t *epochs;
    sl_topic_config_map_t configs;
} sl_mtopic_t;

/* Largest topics file or meta.properties accepted when loading. */
#define SL_METASTORE_FILE_MAX (256u << 20)
#define SL_METASTORE_PROPS_MAX (64u << 10)

/* A new topic with <partitions> epochs at 0 and no configs; NULL on OOM. */
sl_mtopic_t *sl_metastore_topic_new(const char *name, const sl_uuid_t *id,
                                    int32_t partitions);
/* A deep copy with room for <partitions> (>= t->partitions) epochs; the
 * extra ones are 0. NULL on OOM. */
sl_mtopic_t *sl_metastore_topic_clone(const sl_mtopic_t *t, int32_t partitions);
void sl_metastore_topic_free(sl_mtopic_t *t);

/*
 * Encode <n> topics into a malloc'ed buffer (*buf, *len).
 * @returns SL_OK or SL_ERR__NOMEM.
 */
sl_err_t sl_metastore_encode(sl_mtopic_t *const *topics, size_t n, char **buf,
                             size_t *len);

/*
 * Parse a topics file of <len> bytes. On SL_OK, *out is a malloc'ed array
 * of *n malloc'ed topics, sorted by name. Hostile bytes give
 * SL_ERR__CORRUPT with the reason in <why>, never a crash.
 */
sl_err_t sl_metastore_decode(const char *buf, size_t len, sl_mtopic_t ***out,
                             size_t *n, char *why, size_t whylen);

/* Write <len> bytes to <dir>/<name> atomically: <name>.tmp, fsync,
 * rename, fsync of the directory. <cb> (may be NULL) can fail any step.
 * @returns SL_OK or SL_ERR__IO (logged); on SL_ERR__IO the old file is
 * untouched and the temporary file removed. A failed directory fsync comes
 * after the rename: it is logged and the write returns SL_OK. */
sl_err_t sl_metastore_write_atomic(const char *dir, const char *name,
                                   const char *buf, size_t len,
                                   sl_metastore_fault_cb cb, void *arg);

/* Read a whole file of at most <max> bytes into a malloc'ed NUL-terminated
 * buffer. @returns SL_OK, SL_ERR__NOENT, SL_ERR__IO, SL_ERR__CORRUPT (too
 * large), SL_ERR__NOMEM. */
sl_err_t sl_metastore_read_file(const char *path, size_t max, char **buf,
                                size_t *len);

/*
 * Load <dir>/meta.properties, or, when it does not exist and <may_create>,
 * create it with a new cluster id. <cluster_id> receives the id (at most
 * 64 chars + NUL).
 * @returns SL_OK, SL_ERR__CORRUPT (damaged, or missing while !may_create),
 * SL_ERR__INVAL (node.id mismatch), SL_ERR__IO.
 */
sl_err_t sl_metastore_props_load(const char *dir, int32_t node_id,
                                 bool may_create, char cluster_id[65],
                                 sl_metastore_fault_cb cb, void *arg);

#endif
