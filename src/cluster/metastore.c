/*
 * cluster/metastore.c: the in-memory topic image and its changes.
 *
 * The image is two sorted arrays of pointers to immutable topic objects
 * (by name and by id). A change, under the writer mutex, builds the next
 * pair of arrays beside the current one (sharing every unchanged topic and
 * holding one new or no object in place of the changed one), writes the
 * next image to disk (metastore_file.c), and only then swaps it in under
 * the rwlock's write side and frees what it replaced. A failed write
 * leaves memory and disk as they were. Readers hold the read side while
 * they look at the arrays or the topics in them.
 *
 * Owns: the image, the identity strings, both locks.
 */
#include "cluster/metastore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define SL_METASTORE_SUBDIR "__sluice_metadata"
#define SL_METASTORE_TOPICS "topics"

struct sl_metastore_s {
    char *dir;  /* the data directory */
    char *mdir; /* <dir>/__sluice_metadata */
    int32_t node_id;
    char cluster_id[65];
    const sl_config_t *broker;
    sl_metastore_fault_cb fault;
    void *fault_arg;

    pthread_mutex_t wlock; /* one change at a time */
    pthread_rwlock_t lock; /* guards the four fields below */
    sl_mtopic_t **by_name; /* sorted by strcmp of names */
    sl_mtopic_t **by_id;   /* sorted by memcmp of ids */
    size_t n;
    int64_t version;
};

/* ---- names --------------------------------------------------------- */

sl_err_t
sl_metastore_name_check_n(const char *p, size_t len, char *why, size_t whylen)
{
    size_t i;

    if (len == 0) {
        snprintf(why, whylen, "Topic name is invalid: it is empty");
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.')) {
        snprintf(why, whylen,
                 "Topic name is invalid: '.' and '..' are "
                 "reserved");
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    if (len > SL_TOPIC_NAME_MAX) {
        snprintf(why, whylen,
                 "Topic name is invalid: %zu characters, at most %d allowed",
                 len, SL_TOPIC_NAME_MAX);
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    for (i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            snprintf(why, whylen,
                     "Topic name is invalid: only ASCII letters, digits, "
                     "'.', '_' and '-' are allowed");
            return SL_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return SL_OK;
}

sl_err_t
sl_metastore_name_check(const char *name, char *why, size_t whylen)
{
    if (name == NULL) {
        snprintf(why, whylen, "Topic name is invalid: it is null");
        return SL_ERR_INVALID_TOPIC_EXCEPTION;
    }
    return sl_metastore_name_check_n(name, strnlen(name, 256), why, whylen);
}

bool
sl_metastore_is_internal(const char *name)
{
    return strcmp(name, "__consumer_offsets") == 0 ||
           strcmp(name, "__transaction_state") == 0;
}

/* Kafka refuses names that equal an existing one once '.' is read as '_'
 * (their metric names would clash). */
static bool
sl_metastore_collide(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y) {
            return false;
        }
    }
    return *a == *b;
}

/* ---- lookups (caller holds a lock) --------------------------------- */

static size_t
sl_metastore_pos_name(const sl_metastore_t *ms, const char *name, bool *found)
{
    size_t lo = 0, hi = ms->n, mid;
    int c;

    *found = false;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(ms->by_name[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static sl_mtopic_t *
sl_metastore_find(const sl_metastore_t *ms, const char *name)
{
    bool found;
    size_t i = sl_metastore_pos_name(ms, name, &found);

    return found ? ms->by_name[i] : NULL;
}

static sl_mtopic_t *
sl_metastore_find_id(const sl_metastore_t *ms, const sl_uuid_t *id)
{
    size_t lo = 0, hi = ms->n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = memcmp(&ms->by_id[mid]->id, id, sizeof(*id));
        if (c == 0) {
            return ms->by_id[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static int
sl_metastore_cmp_name(const sl_mtopic_t *a, const sl_mtopic_t *b)
{
    return strcmp(a->name, b->name);
}

static int
sl_metastore_cmp_id(const sl_mtopic_t *a, const sl_mtopic_t *b)
{
    return memcmp(&a->id, &b->id, sizeof(a->id));
}

static int
sl_metastore_qcmp_id(const void *a, const void *b)
{
    return sl_metastore_cmp_id(*(sl_mtopic_t *const *)a,
                               *(sl_mtopic_t *const *)b);
}

/* ---- committing a change ------------------------------------------- */

/* dst = src without <old>, with <nw> at its sorted place (either may be
 * NULL). Returns the number of entries written. */
static size_t
sl_metastore_rebuild(sl_mtopic_t **dst, sl_mtopic_t *const *src, size_t n,
                     const sl_mtopic_t *old, sl_mtopic_t *nw,
                     int (*cmp)(const sl_mtopic_t *, const sl_mtopic_t *))
{
    size_t i, o = 0;
    bool placed = nw == NULL;

    for (i = 0; i < n; i++) {
        if (src[i] == old) {
            continue;
        }
        if (!placed && cmp(src[i], nw) > 0) {
            dst[o++] = nw;
            placed = true;
        }
        dst[o++] = src[i];
    }
    if (!placed) {
        dst[o++] = nw;
    }
    return o;
}

/*
 * Replace <old> by <nw> (either may be NULL: a creation or a deletion),
 * persist, then publish. Takes ownership of <nw> in every case.
 * @locks caller holds wlock; takes the rwlock's write side for the swap.
 */
static sl_err_t
sl_metastore_commit(sl_metastore_t *ms, sl_mtopic_t *old, sl_mtopic_t *nw)
{
    size_t cap = ms->n + 1, n2;
    sl_mtopic_t **bn = malloc(cap * sizeof(*bn));
    sl_mtopic_t **bi = malloc(cap * sizeof(*bi));
    sl_mtopic_t **on, **oi;
    char *buf = NULL;
    size_t len;
    sl_err_t err = SL_ERR__NOMEM;

    if (bn == NULL || bi == NULL) {
        goto fail;
    }
    n2 = sl_metastore_rebuild(bn, ms->by_name, ms->n, old, nw,
                              sl_metastore_cmp_name);
    sl_metastore_rebuild(bi, ms->by_id, ms->n, old, nw, sl_metastore_cmp_id);
    if ((err = sl_metastore_encode(bn, n2, &buf, &len)) != SL_OK) {
        goto fail;
    }
    err = sl_metastore_write_atomic(ms->mdir, SL_METASTORE_TOPICS, buf, len,
                                    ms->fault, ms->fault_arg);
    free(buf);
    if (err != SL_OK) {
        goto fail;
    }
    pthread_rwlock_wrlock(&ms->lock);
    on = ms->by_name;
    oi = ms->by_id;
    ms->by_name = bn;
    ms->by_id = bi;
    ms->n = n2;
    ms->version++;
    pthread_rwlock_unlock(&ms->lock);
    free(on);
    free(oi);
    sl_metastore_topic_free(old);
    return SL_OK;

fail:
    free(bn);
    free(bi);
    sl_metastore_topic_free(nw);
    return err;
}

/* ---- open and close ------------------------------------------------ */

/* mkdir -p for one path. */
static sl_err_t
sl_metastore_mkdirs(const char *path)
{
    char tmp[4096], *p;
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(tmp)) {
        return SL_ERR__IO;
    }
    memcpy(tmp, path, n + 1);
    for (p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return SL_ERR__IO;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return SL_ERR__IO;
    }
    return SL_OK;
}

static sl_err_t
sl_metastore_load(sl_metastore_t *ms)
{
    char path[4200], why[256];
    char *buf;
    size_t len;
    sl_err_t err;

    snprintf(path, sizeof(path), "%s/%s.tmp", ms->mdir, SL_METASTORE_TOPICS);
    unlink(path); /* a write that died half-way; the real file is intact */
    snprintf(path, sizeof(path), "%s/%s", ms->mdir, SL_METASTORE_TOPICS);
    err = sl_metastore_read_file(path, SL_METASTORE_FILE_MAX, &buf, &len);
    if (err == SL_ERR__NOENT) {
        return SL_OK;
    }
    if (err != SL_OK) {
        sl_log_error("metastore", "cannot read topics file path=%s err=%s",
                     path, sl_err_name(err));
        return err;
    }
    err = sl_metastore_decode(buf, len, &ms->by_name, &ms->n, why, sizeof(why));
    free(buf);
    if (err != SL_OK) {
        sl_log_error("metastore", "topics file is damaged path=%s reason=%s",
                     path, err == SL_ERR__CORRUPT ? why : sl_err_name(err));
        return err;
    }
    ms->by_id = malloc((ms->n + 1) * sizeof(*ms->by_id));
    if (ms->by_id == NULL) {
        return SL_ERR__NOMEM;
    }
    memcpy(ms->by_id, ms->by_name, ms->n * sizeof(*ms->by_id));
    qsort(ms->by_id, ms->n, sizeof(*ms->by_id), sl_metastore_qcmp_id);
    return SL_OK;
}

sl_err_t
sl_metastore_open(const char *data_dir, int32_t node_id,
                  const sl_config_t *broker, sl_metastore_t **out)
{
    sl_metastore_t *ms = calloc(1, sizeof(*ms));
    size_t n = strlen(data_dir) + sizeof(SL_METASTORE_SUBDIR) + 2;
    char path[4200];
    sl_err_t err = SL_ERR__NOMEM;

    if (ms == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&ms->wlock, NULL);
    pthread_rwlock_init(&ms->lock, NULL);
    ms->node_id = node_id;
    ms->broker = broker;
    if ((ms->dir = strdup(data_dir)) == NULL ||
        (ms->mdir = malloc(n)) == NULL) {
        goto fail;
    }
    snprintf(ms->mdir, n, "%s/%s", data_dir, SL_METASTORE_SUBDIR);
    if (sl_metastore_mkdirs(ms->mdir) != SL_OK) {
        sl_log_error("metastore", "cannot create directory path=%s errno=%d",
                     ms->mdir, errno);
        err = SL_ERR__IO;
        goto fail;
    }
    snprintf(path, sizeof(path), "%s/%s", ms->mdir, SL_METASTORE_TOPICS);
    err = sl_metastore_props_load(data_dir, node_id, access(path, F_OK) != 0,
                                  ms->cluster_id, NULL, NULL);
    if (err == SL_OK) {
        err = sl_metastore_load(ms);
    }
    if (err != SL_OK) {
        goto fail;
    }
    sl_log_info("metastore",
                "opened dir=%s cluster.id=%s node.id=%d "
                "topics=%zu",
                data_dir, ms->cluster_id, (int)node_id, ms->n);
    *out = ms;
    return SL_OK;

fail:
    sl_metastore_close(ms);
    return err;
}

sl_err_t
sl_metastore_data_dir(const sl_config_t *cfg, char *buf, size_t len)
{
    const char *d = sl_config_str(cfg, "log.dirs");
    const char *e;
    size_t n;

    if (d == NULL || *d == '\0') {
        d = sl_config_str(cfg, "log.dir");
    }
    if (d == NULL) {
        return SL_ERR__INVAL;
    }
    while (*d == ' ' || *d == '\t') {
        d++;
    }
    e = strchr(d, ',');
    n = e ? (size_t)(e - d) : strlen(d);
    while (n > 0 && (d[n - 1] == ' ' || d[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || n >= len) {
        return SL_ERR__INVAL;
    }
    memcpy(buf, d, n);
    buf[n] = '\0';
    return SL_OK;
}

void
sl_metastore_close(sl_metastore_t *ms)
{
    size_t i;

    if (ms == NULL) {
        return;
    }
    for (i = 0; i < ms->n; i++) {
        sl_metastore_topic_free(ms->by_name[i]);
    }
    free(ms->by_name);
    free(ms->by_id);
    free(ms->dir);
    free(ms->mdir);
    pthread_rwlock_destroy(&ms->lock);
    pthread_mutex_destroy(&ms->wlock);
    free(ms);
}

void
sl_metastore_set_fault(sl_metastore_t *ms, sl_metastore_fault_cb cb, void *arg)
{
    pthread_mutex_lock(&ms->wlock);
    ms->fault = cb;
    ms->fault_arg = arg;
    pthread_mutex_unlock(&ms->wlock);
}

const char *
sl_metastore_cluster_id(const sl_metastore_t *ms)
{
    return ms->cluster_id;
}

int32_t
sl_metastore_node_id(const sl_metastore_t *ms)
{
    return ms->node_id;
}

int32_t
sl_metastore_controller_id(const sl_metastore_t *ms)
{
    return ms->node_id;
}

int64_t
sl_metastore_version(sl_metastore_t *ms)
{
    int64_t v;

    pthread_rwlock_rdlock(&ms->lock);
    v = ms->version;
    pthread_rwlock_unlock(&ms->lock);
    return v;
}

size_t
sl_metastore_topic_count(sl_metastore_t *ms)
{
    size_t n;

    pthread_rwlock_rdlock(&ms->lock);
    n = ms->n;
    pthread_rwlock_unlock(&ms->lock);
    return n;
}

/* ---- creation ------------------------------------------------------ */

/* Checks of CreateTopics that do not depend on other topics' configs.
 * @locks wlock held */
static sl_err_t
sl_metastore_check_new(sl_metastore_t *ms, const char *name, char *why,
                       size_t whylen)
{
    size_t i;

    if (sl_metastore_find(ms, name) != NULL) {
        snprintf(why, whylen, "Topic '%s' already exists.", name);
        return SL_ERR_TOPIC_ALREADY_EXISTS;
    }
    if (strchr(name, '.') == NULL && strchr(name, '_') == NULL) {
        return SL_OK;
    }
    for (i = 0; i < ms->n; i++) {
        if (sl_metastore_collide(ms->by_name[i]->name, name)) {
            snprintf(why, whylen,
                     "Topic '%s' collides with existing topic '%s' ('.' and "
                     "'_' are interchangeable in metric names)",
                     name, ms->by_name[i]->name);
            return SL_ERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return SL_OK;
}

static sl_err_t
sl_metastore_check_counts(sl_metastore_t *ms, const sl_topic_spec_t *spec,
                          int32_t *parts, char *why, size_t whylen)
{
    int32_t rf = spec->replication_factor, np = spec->num_partitions;

    if (rf == 0 || rf < -1) {
        snprintf(why, whylen,
                 "Replication factor must be larger than 0, or "
                 "-1 to use the default value.");
        return SL_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (np == 0 || np < -1) {
        snprintf(why, whylen,
                 "Number of partitions was set to an invalid "
                 "non-positive value.");
        return SL_ERR_INVALID_PARTITIONS;
    }
    if (rf == -1) {
        rf = sl_config_int(ms->broker, "default.replication.factor");
    }
    if (rf > 1) {
        snprintf(why, whylen,
                 "Replication factor %d cannot be reached: this cluster has "
                 "1 broker",
                 (int)rf);
        return SL_ERR_INVALID_REPLICATION_FACTOR;
    }
    if (np == -1) {
        np = sl_config_int(ms->broker, "num.partitions");
    }
    if (np > SL_METASTORE_MAX_NEW_PARTITIONS) {
        snprintf(why, whylen,
                 "Excessively large number of partitions per "
                 "request.");
        return SL_ERR_POLICY_VIOLATION;
    }
    *parts = np;
    return SL_OK;
}

/* A fresh id no topic has. @locks wlock held */
static sl_err_t
sl_metastore_new_id(sl_metastore_t *ms, sl_uuid_t *id)
{
    sl_err_t err;

    do {
        if ((err = sl_uuid_random(id)) != SL_OK) {
            return err;
        }
    } while (sl_metastore_find_id(ms, id) != NULL);
    return SL_OK;
}

/* Create under wlock, the checks done. Takes ownership of <cfg>. */
static sl_err_t
sl_metastore_insert(sl_metastore_t *ms, const char *name, int32_t parts,
                    sl_topic_config_map_t *cfg, sl_uuid_t *id_out)
{
    sl_uuid_t id;
    sl_mtopic_t *t;
    sl_err_t err;

    if ((err = sl_metastore_new_id(ms, &id)) != SL_OK) {
        sl_topic_config_map_clear(cfg);
        return err;
    }
    if ((t = sl_metastore_topic_new(name, &id, parts)) == NULL) {
        sl_topic_config_map_clear(cfg);
        return SL_ERR__NOMEM;
    }
    t->configs = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    if ((err = sl_metastore_commit(ms, NULL, t)) != SL_OK) {
        return err;
    }
    sl_log_info("metastore", "created topic topic=%s partitions=%d", name,
                (int)parts);
    if (id_out != NULL) {
        *id_out = id;
    }
    return SL_OK;
}

sl_err_t
sl_metastore_create_topic(sl_metastore_t *ms, const sl_topic_spec_t *spec,
                          bool validate_only, sl_uuid_t *id_out,
                          int32_t *partitions_out, char *why, size_t whylen)
{
    sl_topic_config_map_t cfg = {0};
    int32_t parts = 0;
    sl_err_t err;

    if (id_out != NULL) {
        memset(id_out, 0, sizeof(*id_out));
    }
    if ((err = sl_metastore_name_check(spec->name, why, whylen)) != SL_OK) {
        return err;
    }
    if (strcmp(spec->name, "__cluster_metadata") == 0) {
        snprintf(why, whylen,
                 "Creation of internal topic "
                 "__cluster_metadata is prohibited.");
        return SL_ERR_INVALID_REQUEST;
    }
    pthread_mutex_lock(&ms->wlock);
    err = sl_metastore_check_new(ms, spec->name, why, whylen);
    if (err == SL_OK) {
        err = sl_topic_config_replace(ms->broker, spec->configs,
                                      spec->n_configs, &cfg, why, whylen);
    }
    if (err == SL_OK) {
        err = sl_metastore_check_counts(ms, spec, &parts, why, whylen);
    }
    if (err != SL_OK || validate_only) {
        sl_topic_config_map_clear(&cfg);
    } else {
        err = sl_metastore_insert(ms, spec->name, parts, &cfg, id_out);
    }
    pthread_mutex_unlock(&ms->wlock);
    if (err == SL_OK && partitions_out != NULL) {
        *partitions_out = parts;
    }
    return err;
}

sl_err_t
sl_metastore_auto_create(sl_metastore_t *ms, const char *name, bool *created)
{
    sl_topic_config_map_t cfg = {0};
    char why[256];
    int32_t parts;
    bool internal = sl_metastore_is_internal(name);
    sl_err_t err;

    *created = false;
    if ((err = sl_metastore_name_check(name, why, sizeof(why))) != SL_OK) {
        return err;
    }
    pthread_mutex_lock(&ms->wlock);
    if (sl_metastore_find(ms, name) != NULL) {
        pthread_mutex_unlock(&ms->wlock);
        return SL_OK;
    }
    /* Coordinators create their internal topics whatever the setting. */
    if (!internal && !sl_config_bool(ms->broker, "auto.create.topics.enable")) {
        pthread_mutex_unlock(&ms->wlock);
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if ((err = sl_metastore_check_new(ms, name, why, sizeof(why))) != SL_OK) {
        pthread_mutex_unlock(&ms->wlock);
        return err;
    }
    parts = sl_config_int(ms->broker, "num.partitions");
    if (internal) {
        parts = sl_config_int(ms->broker,
                              strcmp(name, "__consumer_offsets") == 0
                                  ? "offsets.topic.num.partitions"
                                  : "transaction.state.log.num.partitions");
        if (sl_topic_config_map_set(&cfg, "cleanup.policy", "compact") !=
                SL_OK ||
            sl_topic_config_map_set(&cfg, "segment.bytes", "104857600") !=
                SL_OK) {
            sl_topic_config_map_clear(&cfg);
            pthread_mutex_unlock(&ms->wlock);
            return SL_ERR__NOMEM;
        }
    }
    if (parts > SL_METASTORE_MAX_NEW_PARTITIONS) {
        parts = SL_METASTORE_MAX_NEW_PARTITIONS;
    }
    err = sl_metastore_insert(ms, name, parts, &cfg, NULL);
    pthread_mutex_unlock(&ms->wlock);
    *created = err == SL_OK;
    return err;
}

/* ---- deletion ------------------------------------------------------ */

sl_err_t
sl_metastore_delete_topic(sl_metastore_t *ms, const char *name,
                          sl_uuid_t *id_out)
{
    sl_mtopic_t *t;
    sl_uuid_t id;
    sl_err_t err;

    pthread_mutex_lock(&ms->wlock);
    if ((t = sl_metastore_find(ms, name)) == NULL) {
        pthread_mutex_unlock(&ms->wlock);
        return SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    }
    id = t->id;
    err = sl_metastore_commit(ms, t, NULL);
    pthread_mutex_unlock(&ms->wlock);
    if (err == SL_OK) {
        sl_log_info("metastore", "deleted topic topic=%s", name);
        if (id_out != NULL) {
            *id_out = id;
        }
    }
    return err;
}

sl_err_t
sl_metastore_delete_topic_id(sl_metastore_t *ms, const sl_uuid_t *id,
                             char *name_out)
{
    static const sl_uuid_t zero = {{0}};
    char name[SL_TOPIC_NAME_MAX + 1];
    sl_mtopic_t *t;
    sl_err_t err;

    if (memcmp(id, &zero, sizeof(zero)) == 0) {
        return SL_ERR_INVALID_REQUEST;
    }
    pthread_mutex_lock(&ms->wlock);
    if ((t = sl_metastore_find_id(ms, id)) == NULL) {
        pthread_mutex_unlock(&ms->wlock);
        return SL_ERR_UNKNOWN_TOPIC_ID;
    }
    memcpy(name, t->name, sizeof(name));
    err = sl_metastore_commit(ms, t, NULL);
    pthread_mutex_unlock(&ms->wlock);
    if (err == SL_OK) {
        sl_log_info("metastore", "deleted topic topic=%s", name);
        if (name_out != NULL) {
            memcpy(name_out, name, sizeof(name));
        }
    }
    return err;
}

/* ---- changes to one topic ------------------------------------------ */

sl_err_t
sl_metastore_create_partitions(sl_metastore_t *ms, const char *name,
                               int32_t count, bool validate_only, char *why,
                               size_t whylen)
{
    sl_mtopic_t *t, *nw;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&ms->wlock);
    if ((t = sl_metastore_find(ms, name)) == NULL) {
        snprintf(why, whylen, "Topic '%s' does not exist.", name);
        err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if (count == t->partitions) {
        snprintf(why, whylen, "Topic already has %d partition(s).",
                 (int)t->partitions);
        err = SL_ERR_INVALID_PARTITIONS;
    } else if (count < t->partitions) {
        snprintf(why, whylen,
                 "The topic %s currently has %d partition(s); %d would not "
                 "be an increase.",
                 name, (int)t->partitions, (int)count);
        err = SL_ERR_INVALID_PARTITIONS;
    } else if (count > SL_METASTORE_MAX_PARTITIONS) {
        snprintf(why, whylen, "A topic may have at most %d partitions.",
                 SL_METASTORE_MAX_PARTITIONS);
        err = SL_ERR_INVALID_PARTITIONS;
    } else if (count - t->partitions > SL_METASTORE_MAX_NEW_PARTITIONS) {
        snprintf(why, whylen,
                 "Excessively large number of partitions per "
                 "request.");
        err = SL_ERR_POLICY_VIOLATION;
    }
    if (err == SL_OK && !validate_only) {
        if ((nw = sl_metastore_topic_clone(t, count)) == NULL) {
            err = SL_ERR__NOMEM;
        } else {
            err = sl_metastore_commit(ms, t, nw);
        }
        if (err == SL_OK) {
            sl_log_info("metastore", "added partitions topic=%s partitions=%d",
                        name, (int)count);
        }
    }
    pthread_mutex_unlock(&ms->wlock);
    return err;
}

/* Swap topic <t>'s overrides for <cfg> (taken over). @locks wlock held */
static sl_err_t
sl_metastore_set_configs(sl_metastore_t *ms, sl_mtopic_t *t,
                         sl_topic_config_map_t *cfg)
{
    sl_mtopic_t *nw = sl_metastore_topic_clone(t, t->partitions);

    if (nw == NULL) {
        sl_topic_config_map_clear(cfg);
        return SL_ERR__NOMEM;
    }
    sl_topic_config_map_clear(&nw->configs);
    nw->configs = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    return sl_metastore_commit(ms, t, nw);
}

sl_err_t
sl_metastore_alter_configs(sl_metastore_t *ms, const char *name,
                           const sl_config_op_t *ops, size_t n,
                           bool validate_only, char *why, size_t whylen)
{
    sl_topic_config_map_t cfg = {0};
    sl_mtopic_t *t;
    sl_err_t err;

    pthread_mutex_lock(&ms->wlock);
    if ((t = sl_metastore_find(ms, name)) == NULL) {
        snprintf(why, whylen, "Topic '%s' does not exist.", name);
        err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if ((err = sl_topic_config_map_copy(&cfg, &t->configs)) == SL_OK) {
        err = sl_topic_config_apply_ops(ms->broker, &cfg, ops, n, why, whylen);
    }
    if (err == SL_OK && !validate_only) {
        err = sl_metastore_set_configs(ms, t, &cfg);
    }
    sl_topic_config_map_clear(&cfg);
    pthread_mutex_unlock(&ms->wlock);
    return err;
}

sl_err_t
sl_metastore_replace_configs(sl_metastore_t *ms, const char *name,
                             const sl_topic_config_kv_t *kvs, size_t n,
                             bool validate_only, char *why, size_t whylen)
{
    sl_topic_config_map_t cfg = {0};
    sl_mtopic_t *t;
    sl_err_t err;

    pthread_mutex_lock(&ms->wlock);
    if ((t = sl_metastore_find(ms, name)) == NULL) {
        snprintf(why, whylen, "Topic '%s' does not exist.", name);
        err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else {
        err = sl_topic_config_replace(ms->broker, kvs, n, &cfg, why, whylen);
    }
    if (err == SL_OK && !validate_only) {
        err = sl_metastore_set_configs(ms, t, &cfg);
    }
    sl_topic_config_map_clear(&cfg);
    pthread_mutex_unlock(&ms->wlock);
    return err;
}

sl_err_t
sl_metastore_bump_leader_epoch(sl_metastore_t *ms, const char *name,
                               int32_t partition, int32_t *epoch_out)
{
    sl_mtopic_t *t, *nw;
    int32_t epoch = 0;
    sl_err_t err;

    pthread_mutex_lock(&ms->wlock);
    t = sl_metastore_find(ms, name);
    if (t == NULL || partition < 0 || partition >= t->partitions) {
        err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    } else if (t->epochs[partition] == INT32_MAX) {
        err = SL_ERR__INVAL;
    } else if ((nw = sl_metastore_topic_clone(t, t->partitions)) == NULL) {
        err = SL_ERR__NOMEM;
    } else {
        epoch = ++nw->epochs[partition];
        err = sl_metastore_commit(ms, t, nw);
    }
    pthread_mutex_unlock(&ms->wlock);
    if (err == SL_OK && epoch_out != NULL) {
        *epoch_out = epoch;
    }
    return err;
}

/* ---- reads --------------------------------------------------------- */

/* Fill a view of <t> pointing into <t> itself. */
static void
sl_metastore_view(const sl_metastore_t *ms, const sl_mtopic_t *t,
                  sl_topic_info_t *out)
{
    out->name = t->name;
    out->id = t->id;
    out->partitions = t->partitions;
    out->leader_epochs = t->epochs;
    out->leader = ms->node_id;
    out->internal = sl_metastore_is_internal(t->name);
    out->configs = t->configs;
}

/* Copy <t> into <a>. @locks read side held */
static sl_err_t
sl_metastore_copy(const sl_metastore_t *ms, const sl_mtopic_t *t, sl_arena_t *a,
                  sl_topic_info_t *out)
{
    sl_topic_config_kv_t *kv = NULL;
    size_t i;

    sl_metastore_view(ms, t, out);
    out->name = sl_arena_memdup(a, t->name, strlen(t->name) + 1);
    out->leader_epochs =
        sl_arena_memdup(a, t->epochs, (size_t)t->partitions * sizeof(int32_t));
    if (t->configs.n > 0) {
        kv = sl_arena_calloc(a, t->configs.n, sizeof(*kv));
    }
    if (out->name == NULL || out->leader_epochs == NULL ||
        (t->configs.n > 0 && kv == NULL)) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < t->configs.n; i++) {
        const sl_topic_config_kv_t *s = &t->configs.kv[i];
        kv[i].key = sl_arena_memdup(a, s->key, strlen(s->key) + 1);
        kv[i].value = sl_arena_memdup(a, s->value, strlen(s->value) + 1);
        if (kv[i].key == NULL || kv[i].value == NULL) {
            return SL_ERR__NOMEM;
        }
    }
    out->configs.kv = kv;
    out->configs.n = out->configs.cap = t->configs.n;
    return SL_OK;
}

sl_err_t
sl_metastore_get(sl_metastore_t *ms, const char *name, sl_arena_t *a,
                 sl_topic_info_t *out)
{
    sl_mtopic_t *t;
    sl_err_t err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;

    pthread_rwlock_rdlock(&ms->lock);
    if ((t = sl_metastore_find(ms, name)) != NULL) {
        err = sl_metastore_copy(ms, t, a, out);
    }
    pthread_rwlock_unlock(&ms->lock);
    return err;
}

sl_err_t
sl_metastore_get_by_id(sl_metastore_t *ms, const sl_uuid_t *id, sl_arena_t *a,
                       sl_topic_info_t *out)
{
    sl_mtopic_t *t;
    sl_err_t err = SL_ERR_UNKNOWN_TOPIC_ID;

    pthread_rwlock_rdlock(&ms->lock);
    if ((t = sl_metastore_find_id(ms, id)) != NULL) {
        err = sl_metastore_copy(ms, t, a, out);
    }
    pthread_rwlock_unlock(&ms->lock);
    return err;
}

sl_err_t
sl_metastore_topic_configs(sl_metastore_t *ms, const char *name,
                           sl_topic_config_map_t *out)
{
    sl_mtopic_t *t;
    sl_err_t err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;

    pthread_rwlock_rdlock(&ms->lock);
    if ((t = sl_metastore_find(ms, name)) != NULL) {
        err = sl_topic_config_map_copy(out, &t->configs);
    }
    pthread_rwlock_unlock(&ms->lock);
    return err;
}

void
sl_metastore_foreach(sl_metastore_t *ms, sl_metastore_topic_cb cb, void *arg)
{
    sl_topic_info_t info;
    size_t i;

    pthread_rwlock_rdlock(&ms->lock);
    for (i = 0; i < ms->n; i++) {
        sl_metastore_view(ms, ms->by_name[i], &info);
        if (!cb(&info, arg)) {
            break;
        }
    }
    pthread_rwlock_unlock(&ms->lock);
}

sl_err_t
sl_metastore_snapshot(sl_metastore_t *ms, sl_arena_t *a, sl_topic_info_t **out,
                      size_t *n, int64_t *version_out)
{
    sl_topic_info_t *v;
    sl_err_t err = SL_OK;
    size_t i;

    pthread_rwlock_rdlock(&ms->lock);
    v = sl_arena_calloc(a, ms->n + 1, sizeof(*v));
    if (v == NULL) {
        err = SL_ERR__NOMEM;
    }
    for (i = 0; err == SL_OK && i < ms->n; i++) {
        err = sl_metastore_copy(ms, ms->by_name[i], a, &v[i]);
    }
    if (err == SL_OK) {
        *out = v;
        *n = ms->n;
        if (version_out != NULL) {
            *version_out = ms->version;
        }
    }
    pthread_rwlock_unlock(&ms->lock);
    return err;
}
