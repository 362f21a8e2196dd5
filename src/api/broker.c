/*
 * api/broker.c: the broker context behind the handlers: opening and closing
 * the data directory, the partition registry, topic life cycle hooks,
 * retention and compaction (log/cleaner.h), advertised listeners.
 *
 * Data directory (the first of log.dirs, else log.dir):
 *   meta.properties, __sluice_metadata/   the metadata store (cluster/)
 *   <topic>-<partition>/                   partition logs (log/)
 *   .kafka_cleanshutdown                   present only after a clean stop
 *
 * At start, the marker decides whether partition logs are recovered; it is
 * removed once the logs are open, so a crash after that is noticed at the
 * next start. Directories of partitions that the metadata does not know
 * (a topic deleted while the broker was down, a partition whose
 * partition.metadata names another topic id) are deleted, as Kafka does.
 *
 * Locking: api->plock (rwlock) guards the registry; handlers hold it for
 * reading while they use a partition log; creation and deletion take it for
 * writing. The retention thread holds it for reading while it runs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "log/cleaner.h"

#define SL_CLEAN_MARKER ".kafka_cleanshutdown"

static uint64_t
sl_api_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

char *
sl_api_cstr(sl_arena_t *a, sl_str_t s)
{
    char *p;

    if (s.len < 0 ||
        (s.len > 0 && memchr(s.ptr, '\0', (size_t)s.len) != NULL)) {
        return NULL;
    }
    p = sl_arena_alloc(a, (size_t)s.len + 1);
    if (p != NULL) {
        if (s.len > 0) { /* an empty string may have no pointer */
            memcpy(p, s.ptr, (size_t)s.len);
        }
        p[s.len] = '\0';
    }
    return p;
}

void
sl_api_log_config(sl_api_t *api, const sl_topic_config_map_t *m,
                  sl_log_config_t *c)
{
    const sl_config_t *b = api->cfg;
    const sl_topic_config_key_t *k;
    char buf[64];

    sl_log_config_init(c);
    c->segment_bytes = sl_topic_config_long(b, m, "segment.bytes");
    c->segment_ms = sl_topic_config_long(b, m, "segment.ms");
    c->index_interval_bytes =
        (int32_t)sl_topic_config_long(b, m, "index.interval.bytes");
    c->segment_index_bytes =
        (int32_t)sl_topic_config_long(b, m, "segment.index.bytes");
    c->retention_ms = sl_topic_config_long(b, m, "retention.ms");
    c->retention_bytes = sl_topic_config_long(b, m, "retention.bytes");
    c->flush_messages = sl_topic_config_long(b, m, "flush.messages");
    c->flush_ms = sl_topic_config_long(b, m, "flush.ms");
    c->max_message_bytes =
        (int32_t)sl_topic_config_long(b, m, "max.message.bytes");
    c->file_delete_delay_ms =
        sl_topic_config_long(b, m, "file.delete.delay.ms");
    c->compact =
        sl_topic_config_list_contains(b, m, "cleanup.policy", "compact");
    if (!sl_topic_config_list_contains(b, m, "cleanup.policy", "delete")) {
        c->retention_ms = -1; /* compact only: the cleaner's, no retention */
        c->retention_bytes = -1;
    }
    c->delete_retention_ms = sl_topic_config_long(b, m, "delete.retention.ms");
    c->min_compaction_lag_ms =
        sl_topic_config_long(b, m, "min.compaction.lag.ms");
    c->max_compaction_lag_ms =
        sl_topic_config_long(b, m, "max.compaction.lag.ms");
    c->min_cleanable_ratio =
        sl_topic_config_double(b, m, "min.cleanable.dirty.ratio");
    k = sl_topic_config_find("message.timestamp.type");
    if (k != NULL) {
        sl_topic_config_value(b, m, k, buf, sizeof(buf));
        c->log_append_time = strcmp(buf, "LogAppendTime") == 0;
    }
}

/* ---- registry (plock held) ---- */

sl_ptopic_t *
sl_api_ptopic(sl_api_t *api, const char *name, int32_t len)
{
    sl_ptopic_t *t;

    if (len < 0) {
        return NULL;
    }
    t = api->topics[sl_api_hash(name, (size_t)len) % SL_API_TOPIC_BUCKETS];
    for (; t != NULL; t = t->next) {
        if ((int32_t)strlen(t->name) == len &&
            memcmp(t->name, name, (size_t)len) == 0) {
            return t;
        }
    }
    return NULL;
}

sl_ptopic_t *
sl_api_ptopic_by_id(sl_api_t *api, const sl_uuid_t *id)
{
    sl_ptopic_t *t;
    size_t i;

    for (i = 0; i < SL_API_TOPIC_BUCKETS; i++) {
        for (t = api->topics[i]; t != NULL; t = t->next) {
            if (sl_uuid_eq(&t->id, id)) {
                return t;
            }
        }
    }
    return NULL;
}

sl_partlog_t *
sl_api_partition(sl_api_t *api, const char *name, int32_t len,
                 int32_t partition, sl_err_t *err)
{
    sl_ptopic_t *t = sl_api_ptopic(api, name, len);

    if (t == NULL || partition < 0 || partition >= t->n ||
        t->logs[partition] == NULL) {
        *err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    *err = SL_OK;
    return t->logs[partition];
}

void
sl_api_plock_rd(sl_api_t *api)
{
    pthread_rwlock_rdlock(&api->plock);
}

void
sl_api_punlock(sl_api_t *api)
{
    pthread_rwlock_unlock(&api->plock);
}

/* Open partition <p> of <info> (creating its directory if needed). */
static sl_err_t
sl_api_open_partition(sl_api_t *api, const sl_topic_info_t *info, int32_t p,
                      bool clean, sl_partlog_t **out)
{
    char dir[PATH_MAX];
    sl_log_config_t lc;
    sl_partlog_opts_t o;
    sl_partlog_stats_t st;
    sl_err_t err;

    if (snprintf(dir, sizeof(dir), "%s/%s-%d", api->data_dir, info->name,
                 (int)p) >= (int)sizeof(dir)) {
        return SL_ERR__INVAL;
    }
    sl_api_log_config(api, &info->configs, &lc);
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.topic = info->name;
    o.partition = p;
    o.topic_id = info->id.b;
    o.cfg = &lc;
    o.clean = clean;
    o.create = true;
    o.now_ms = sl_clock_wall_ms();
    memset(&st, 0, sizeof(st));
    err = sl_partlog_open(&o, out, &st);
    if (err != SL_OK) {
        sl_log_error("api",
                     "cannot open partition log topic=%s partition=%d "
                     "err=%s",
                     info->name, (int)p, sl_err_name(err));
        return err;
    }
    if (st.recovered && (st.truncated_bytes > 0 || st.indexes_rebuilt > 0)) {
        sl_log_warn("api",
                    "partition recovered topic=%s partition=%d "
                    "truncated_bytes=%lld indexes_rebuilt=%d",
                    info->name, (int)p, (long long)st.truncated_bytes,
                    (int)st.indexes_rebuilt);
    }
    err = sl_flusher_add(api->flusher, *out);
    if (err != SL_OK) {
        sl_partlog_close(*out, o.now_ms);
        *out = NULL;
    }
    return err;
}

/* Make the registry entry of <info> match it. @locks plock (write) held */
static sl_err_t
sl_api_sync_topic(sl_api_t *api, const sl_topic_info_t *info, bool clean)
{
    size_t b =
        sl_api_hash(info->name, strlen(info->name)) % SL_API_TOPIC_BUCKETS;
    sl_ptopic_t *t =
        sl_api_ptopic(api, info->name, (int32_t)strlen(info->name));
    sl_partlog_t **logs;
    sl_log_config_t lc;
    sl_err_t err = SL_OK;
    int32_t i;

    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL || (t->name = strdup(info->name)) == NULL) {
            free(t);
            return SL_ERR__NOMEM;
        }
        t->id = info->id;
        t->next = api->topics[b];
        api->topics[b] = t;
    }
    if (info->partitions > t->n) {
        logs = realloc(t->logs, (size_t)info->partitions * sizeof(*logs));
        if (logs == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = t->n; i < info->partitions; i++) {
            logs[i] = NULL;
        }
        t->logs = logs;
        t->n = info->partitions;
    }
    sl_api_log_config(api, &info->configs, &lc);
    for (i = 0; i < t->n; i++) {
        if (t->logs[i] == NULL) {
            sl_err_t e =
                sl_api_open_partition(api, info, i, clean, &t->logs[i]);
            if (e != SL_OK && err == SL_OK) {
                err = e;
            }
        } else {
            sl_partlog_set_config(t->logs[i], &lc);
        }
    }
    return err;
}

sl_err_t
sl_api_topic_changed(sl_api_t *api, const char *name)
{
    sl_arena_t *a = sl_arena_create(4096, 0);
    sl_topic_info_t info;
    sl_err_t err;

    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    err = sl_metastore_get(api->meta, name, a, &info);
    if (err == SL_OK) {
        pthread_rwlock_wrlock(&api->plock);
        err = sl_api_sync_topic(api, &info, true);
        pthread_rwlock_unlock(&api->plock);
    }
    sl_arena_destroy(a);
    return err;
}

void
sl_api_topic_deleted(sl_api_t *api, const char *name)
{
    size_t b = sl_api_hash(name, strlen(name)) % SL_API_TOPIC_BUCKETS;
    sl_ptopic_t **pt, *t = NULL;
    int32_t i;

    pthread_rwlock_wrlock(&api->plock);
    for (pt = &api->topics[b]; *pt != NULL; pt = &(*pt)->next) {
        if (strcmp((*pt)->name, name) == 0) {
            t = *pt;
            *pt = t->next;
            break;
        }
    }
    pthread_rwlock_unlock(&api->plock);
    if (t == NULL) {
        return;
    }
    for (i = 0; i < t->n; i++) {
        if (t->logs[i] != NULL) {
            sl_flusher_remove(api->flusher, t->logs[i]);
            if (sl_partlog_delete(t->logs[i]) != SL_OK) {
                sl_log_warn("api",
                            "could not delete all files of topic=%s "
                            "partition=%d",
                            name, (int)i);
            }
        }
    }
    sl_log_info("api", "topic deleted topic=%s partitions=%d", name, (int)t->n);
    free(t->logs);
    free(t->name);
    free(t);
}

/* ---- start and stop ---- */

typedef struct {
    sl_api_t *api;
    bool clean;
    sl_err_t err;
} sl_api_load_t;

static bool
sl_api_load_topic(const sl_topic_info_t *t, void *arg)
{
    sl_api_load_t *l = arg;
    sl_err_t err = sl_api_sync_topic(l->api, t, l->clean);

    if (err != SL_OK && l->err == SL_OK) {
        l->err = err;
    }
    return true;
}

/* Remove partition directories the metadata does not know. */
static void
sl_api_remove_strays(sl_api_t *api)
{
    DIR *d = opendir(api->data_dir);
    struct dirent *e;
    char path[PATH_MAX], *dash, *end;
    sl_ptopic_t *t;
    long p;

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            strcmp(e->d_name, "__sluice_metadata") == 0) {
            continue;
        }
        dash = strrchr(e->d_name, '-');
        if (dash == NULL) {
            continue;
        }
        p = strtol(dash + 1, &end, 10);
        if (*end != '\0' && strcmp(end, "") != 0) {
            /* <topic>-<p>.<id>-delete leftovers of an interrupted delete */
            if (strstr(e->d_name, "-delete") == NULL) {
                continue;
            }
        } else {
            t = sl_api_ptopic(api, e->d_name, (int32_t)(dash - e->d_name));
            if (t != NULL && p >= 0 && p < t->n) {
                continue;
            }
        }
        if (snprintf(path, sizeof(path), "%s/%s", api->data_dir, e->d_name) >=
            (int)sizeof(path)) {
            continue;
        }
        sl_log_warn("api", "removing stray partition directory dir=%s",
                    e->d_name);
        {
            /* Delete its files, then the directory. */
            DIR *sd = opendir(path);
            struct dirent *se;
            char fp[PATH_MAX];

            if (sd == NULL) {
                continue;
            }
            while ((se = readdir(sd)) != NULL) {
                if (strcmp(se->d_name, ".") == 0 ||
                    strcmp(se->d_name, "..") == 0) {
                    continue;
                }
                if (snprintf(fp, sizeof(fp), "%s/%s", path, se->d_name) <
                    (int)sizeof(fp)) {
                    unlink(fp);
                }
            }
            closedir(sd);
            rmdir(path);
        }
    }
    closedir(d);
}

/*
 * The background thread: retention every log.retention.check.interval.ms,
 * recovery-point and log-start checkpoints every
 * log.flush.offset.checkpoint.interval.ms (so that recovery after a crash
 * re-reads only what came after the last checkpoint).
 */
static void *
sl_api_retention_main(void *arg)
{
    sl_api_t *api = arg;
    int64_t ret_every =
        sl_config_long(api->cfg, "log.retention.check.interval.ms");
    int64_t ckpt_every =
        sl_config_long(api->cfg, "log.flush.offset.checkpoint.interval.ms");
    int64_t pid_expiry = sl_config_long(api->cfg, "producer.id.expiration.ms");
    int64_t next_ret = sl_clock_mono_ms() + ret_every;
    int64_t next_ckpt = sl_clock_mono_ms() + ckpt_every;
    /* log compaction (log/cleaner.h) runs here too, every
     * log.cleaner.backoff.ms, so it never races retention */
    int64_t clean_every = sl_config_long(api->cfg, "log.cleaner.backoff.ms");
    int64_t next_clean = sl_clock_mono_ms() + clean_every;
    sl_cleaner_opts_t co;
    sl_cleaner_stats_t cst;
    struct timespec ts;
    sl_ptopic_t *t;
    bool do_ret, do_ckpt, do_clean;
    size_t b;
    int32_t i;
    int deleted;

    if (ckpt_every <= 0) {
        ckpt_every = INT64_MAX / 4;
        next_ckpt = INT64_MAX / 2;
    }
    sl_cleaner_opts_init(&co);
    co.dedupe_buffer_size =
        sl_config_long(api->cfg, "log.cleaner.dedupe.buffer.size");
    if (!sl_config_bool(api->cfg, "log.cleaner.enable") || clean_every < 0) {
        clean_every = INT64_MAX / 4;
        next_clean = INT64_MAX / 2;
    }
    pthread_mutex_lock(&api->retention_lock);
    while (!api->stopping) {
        int64_t now = sl_clock_mono_ms();
        int64_t wait = (next_ret < next_ckpt ? next_ret : next_ckpt) - now;

        if (next_clean - now < wait) {
            wait = next_clean - now;
        }

        if (wait > 0) {
            ts = sl_clock_deadline(CLOCK_REALTIME, wait);
            pthread_cond_timedwait(&api->retention_cond, &api->retention_lock,
                                   &ts);
            continue;
        }
        do_ret = now >= next_ret;
        do_ckpt = now >= next_ckpt;
        if (do_ret) {
            next_ret = now + ret_every;
        }
        if (do_ckpt) {
            next_ckpt = now + ckpt_every;
        }
        do_clean = now >= next_clean;
        if (do_clean) {
            next_clean = now + clean_every;
        }
        pthread_mutex_unlock(&api->retention_lock);
        pthread_rwlock_rdlock(&api->plock);
        for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
            for (t = api->topics[b]; t != NULL; t = t->next) {
                for (i = 0; i < t->n; i++) {
                    if (t->logs[i] == NULL) {
                        continue;
                    }
                    deleted = 0;
                    if (do_ret &&
                        sl_partlog_retain(t->logs[i], sl_clock_wall_ms(),
                                          &deleted) == SL_OK &&
                        deleted > 0) {
                        sl_log_info("api",
                                    "retention deleted segments "
                                    "topic=%s partition=%d count=%d",
                                    t->name, (int)i, deleted);
                    }
                    if (do_clean) {
                        (void)sl_cleaner_clean(t->logs[i], &co,
                                               sl_clock_wall_ms(), &cst);
                    }
                    if (do_ckpt) {
                        (void)sl_partlog_checkpoint(t->logs[i]);
                    }
                    if (do_ret) {
                        (void)sl_partlog_expire_producers(
                            t->logs[i], sl_clock_wall_ms(), pid_expiry);
                    }
                }
            }
        }
        pthread_rwlock_unlock(&api->plock);
        pthread_mutex_lock(&api->retention_lock);
    }
    pthread_mutex_unlock(&api->retention_lock);
    return NULL;
}

sl_err_t
sl_api_open_storage(sl_api_t *api)
{
    sl_flusher_opts_t fo;
    sl_api_load_t l;
    char marker[PATH_MAX];
    struct stat st;
    sl_err_t err;

    if (mkdir(api->data_dir, 0755) != 0 && errno != EEXIST) {
        sl_log_error("api", "cannot create data directory dir=%s error=\"%s\"",
                     api->data_dir, strerror(errno));
        return SL_ERR__IO;
    }
    err = sl_metastore_open(api->data_dir, api->node_id, api->cfg, &api->meta);
    if (err != SL_OK) {
        return err;
    }
    if ((err = sl_pid_alloc_open(api->data_dir, &api->pids)) != SL_OK) {
        return err;
    }
    sl_flusher_opts_init(&fo);
    if (!sl_config_bool(api->cfg, "sluice.acks.all.fsync")) {
        fo.mode = SL_FLUSH_POLICY_ONLY; /* dev mode: no fsync wait */
    }
    err = sl_flusher_create(&fo, &api->flusher);
    if (err != SL_OK) {
        return err;
    }
    if (snprintf(marker, sizeof(marker), "%s/%s", api->data_dir,
                 SL_CLEAN_MARKER) >= (int)sizeof(marker)) {
        return SL_ERR__INVAL;
    }
    l.api = api;
    l.clean = stat(marker, &st) == 0;
    l.err = SL_OK;
    if (!l.clean && sl_metastore_topic_count(api->meta) > 0) {
        sl_log_warn("api",
                    "last stop was not clean: recovering partition logs");
    }
    pthread_rwlock_wrlock(&api->plock);
    sl_metastore_foreach(api->meta, sl_api_load_topic, &l);
    sl_api_remove_strays(api);
    pthread_rwlock_unlock(&api->plock);
    if (l.err != SL_OK) {
        return l.err;
    }
    if (l.clean && unlink(marker) != 0) {
        sl_log_error("api", "cannot remove clean-shutdown marker error=\"%s\"",
                     strerror(errno));
        return SL_ERR__IO;
    }
    if (pthread_create(&api->retention_thread, NULL, sl_api_retention_main,
                       api) == 0) {
        api->retention_started = true;
        pthread_setname_np(api->retention_thread, "sl-retention");
    }
    sl_log_info("api", "storage open dir=%s topics=%zu cluster.id=%s",
                api->data_dir, sl_metastore_topic_count(api->meta),
                sl_metastore_cluster_id(api->meta));
    return SL_OK;
}

void
sl_api_close_storage(sl_api_t *api)
{
    char marker[PATH_MAX];
    sl_ptopic_t *t, *next;
    bool clean = true;
    size_t b;
    int32_t i;
    FILE *f;

    if (api->retention_started) {
        pthread_mutex_lock(&api->retention_lock);
        api->stopping = true;
        pthread_cond_signal(&api->retention_cond);
        pthread_mutex_unlock(&api->retention_lock);
        pthread_join(api->retention_thread, NULL);
        api->retention_started = false;
    }
    if (api->flusher != NULL) {
        sl_flusher_destroy(api->flusher); /* a last flush for waiters */
        api->flusher = NULL;
    }
    pthread_rwlock_wrlock(&api->plock);
    for (b = 0; b < SL_API_TOPIC_BUCKETS; b++) {
        for (t = api->topics[b]; t != NULL; t = next) {
            next = t->next;
            for (i = 0; i < t->n; i++) {
                if (t->logs[i] != NULL &&
                    sl_partlog_close(t->logs[i], sl_clock_wall_ms()) != SL_OK) {
                    clean = false;
                }
            }
            free(t->logs);
            free(t->name);
            free(t);
        }
        api->topics[b] = NULL;
    }
    pthread_rwlock_unlock(&api->plock);
    if (api->meta != NULL) {
        if (clean && snprintf(marker, sizeof(marker), "%s/%s", api->data_dir,
                              SL_CLEAN_MARKER) < (int)sizeof(marker)) {
            f = fopen(marker, "w");
            if (f == NULL || fsync(fileno(f)) != 0) {
                sl_log_warn("api", "cannot write clean-shutdown marker");
            }
            if (f != NULL) {
                fclose(f);
            }
        } else {
            sl_log_warn("api",
                        "a partition log did not flush: no "
                        "clean-shutdown marker, the next start recovers");
        }
        sl_metastore_close(api->meta);
        api->meta = NULL;
    }
    sl_pid_alloc_close(api->pids);
    api->pids = NULL;
}

/* ---- advertised listeners ---- */

sl_err_t
sl_api_advertised(sl_api_req_t *r, sl_str_t *host, int32_t *port)
{
    sl_api_t *api = r->api;
    const sl_conn_t *c = r->req->conn;
    int li = sl_conn_listener(c), i;
    const char *name = sl_server_listener_name(api->server, li);
    const sl_listener_spec_t *spec = NULL;
    const char *h;

    for (i = 0; i < api->nadvertised; i++) {
        if (strcmp(api->advertised[i].name, name) == 0) {
            spec = &api->advertised[i];
            break;
        }
    }
    h = spec != NULL ? spec->host : "";
    *port =
        spec != NULL && spec->port != 0 ? spec->port : sl_conn_local_port(c);
    /* A wildcard or empty host: the address the client reached us on. */
    if (h[0] == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0) {
        h = sl_conn_local_host(c);
    }
    host->ptr = h;
    host->len = (int32_t)strlen(h);
    return SL_OK;
}
