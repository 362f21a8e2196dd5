/*
 * log/logmgr.c: the log manager (see logmgr.h).
 *
 * Data directory layout: <dir>/<topic>-<partition>/ per partition log
 * (partlog.c), <dir>/<topic>-<partition>.<32 hex>-delete/ while a deletion
 * runs, and <dir>/.kafka_cleanshutdown (empty) between a clean close and
 * the next open.
 *
 * Owns: the table of partition logs (an array, searched linearly: the
 * broker keeps its own pointers in its metadata), the marker. Locking: m->lock
 * guards the table; partition logs lock themselves.
 */
#include "log/logmgr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "log/file.h"

#define SL_LOGMGR_PATH 4096

typedef struct sl_logmgr_ent_s {
    char *topic;
    int32_t partition;
    sl_partlog_t *pl;
} sl_logmgr_ent_t;

struct sl_logmgr_s {
    pthread_mutex_t lock;
    char *dir;
    sl_log_config_t defaults;
    sl_flusher_t *flusher;
    int64_t retention_check_ms, checkpoint_interval_ms;
    int64_t last_retention_ms, last_checkpoint_ms;
    bool clean;
    int failed; /* partitions not loaded: the next open must recover */
    sl_logmgr_ent_t *ents;
    size_t n, cap;
};

void
sl_logmgr_opts_init(sl_logmgr_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->retention_check_ms = 300000;
    o->checkpoint_interval_ms = 60000;
}

static bool
sl_logmgr_valid_topic(const char *t)
{
    size_t n = strlen(t), i;

    if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char c = t[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* "<topic>-<p>" -> topic (into buf) and p; false if not that shape. */
static bool
sl_logmgr_parse_dir(const char *name, char *topic, size_t cap, int32_t *p)
{
    const char *dash = strrchr(name, '-');
    int64_t v = 0;
    const char *s;

    if (dash == NULL || dash == name || dash[1] == '\0' ||
        (size_t)(dash - name) >= cap) {
        return false;
    }
    for (s = dash + 1; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > INT32_MAX / 10) {
            return false;
        }
        v = v * 10 + (*s - '0');
    }
    if (v > INT32_MAX) {
        return false;
    }
    memcpy(topic, name, (size_t)(dash - name));
    topic[dash - name] = '\0';
    *p = (int32_t)v;
    return sl_logmgr_valid_topic(topic);
}

static sl_logmgr_ent_t *
sl_logmgr_find(sl_logmgr_t *m, const char *topic, int32_t partition)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (m->ents[i].partition == partition &&
            strcmp(m->ents[i].topic, topic) == 0) {
            return &m->ents[i];
        }
    }
    return NULL;
}

/* Open or create the log of topic/partition and add it. @locks m->lock */
static sl_err_t
sl_logmgr_add(sl_logmgr_t *m, const char *topic, int32_t partition,
              const uint8_t *topic_id, const sl_log_config_t *cfg, bool create,
              int64_t now_ms, sl_partlog_t **out)
{
    char dir[SL_LOGMGR_PATH];
    sl_partlog_opts_t o;
    sl_logmgr_ent_t *e;
    sl_partlog_t *pl;
    sl_err_t err;
    int n;

    n = snprintf(dir, sizeof(dir), "%s/%s-%d", m->dir, topic, (int)partition);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        return SL_ERR__INVAL;
    }
    if (m->n == m->cap) {
        size_t c = m->cap ? m->cap * 2 : 16;

        if ((e = realloc(m->ents, c * sizeof(*e))) == NULL) {
            return SL_ERR__NOMEM;
        }
        m->ents = e;
        m->cap = c;
    }
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.topic = topic;
    o.partition = partition;
    o.topic_id = topic_id;
    o.cfg = cfg != NULL ? cfg : &m->defaults;
    o.clean = m->clean;
    o.create = create;
    o.now_ms = now_ms;
    err = sl_partlog_open(&o, &pl, NULL);
    if (err != SL_OK) {
        return err;
    }
    e = &m->ents[m->n];
    if ((e->topic = strdup(topic)) == NULL) {
        sl_partlog_abandon(pl);
        return SL_ERR__NOMEM;
    }
    e->partition = partition;
    e->pl = pl;
    m->n++;
    if (m->flusher != NULL && sl_flusher_add(m->flusher, pl) != SL_OK) {
        sl_log_warn("log.mgr", "flusher add failed topic=%s partition=%d",
                    topic, (int)partition);
    }
    if (out != NULL) {
        *out = pl;
    }
    return SL_OK;
}

typedef struct sl_logmgr_scan_s {
    sl_logmgr_t *m;
    int64_t now_ms;
    int failed;
    sl_err_t err;
} sl_logmgr_scan_t;

static int
sl_logmgr_scan_cb(void *arg, const char *name)
{
    sl_logmgr_scan_t *sc = arg;
    char topic[256], p[SL_LOGMGR_PATH];
    int32_t part;
    size_t n = strlen(name);
    sl_err_t err;

    if (n > 7 && strcmp(name + n - 7, "-delete") == 0) {
        /* an interrupted DeleteTopics: finish it */
        if (snprintf(p, sizeof(p), "%s/%s", sc->m->dir, name) <
            (int)sizeof(p)) {
            (void)sl_file_remove_dir(p);
        }
        return 0;
    }
    if (!sl_logmgr_parse_dir(name, topic, sizeof(topic), &part)) {
        return 0;
    }
    err =
        sl_logmgr_add(sc->m, topic, part, NULL, NULL, false, sc->now_ms, NULL);
    if (err == SL_ERR__NOMEM) {
        sc->err = err;
        return 1;
    }
    if (err != SL_OK) {
        sl_log_error("log.mgr", "partition not loaded dir=%s err=%s", name,
                     sl_err_name(err));
        sc->failed++;
    }
    return 0;
}

sl_err_t
sl_logmgr_open(const sl_logmgr_opts_t *o, sl_logmgr_t **out, int *failed)
{
    sl_logmgr_t *m;
    sl_logmgr_scan_t sc;
    char marker[SL_LOGMGR_PATH];
    sl_err_t err;

    if (o->dir == NULL || o->defaults == NULL ||
        strlen(o->dir) > SL_LOGMGR_PATH - 300) {
        return SL_ERR__INVAL;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL ||
        (m->dir = strdup(o->dir)) == NULL) {
        free(m);
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->defaults = *o->defaults;
    m->flusher = o->flusher;
    m->retention_check_ms =
        o->retention_check_ms > 0 ? o->retention_check_ms : 300000;
    m->checkpoint_interval_ms =
        o->checkpoint_interval_ms > 0 ? o->checkpoint_interval_ms : 60000;
    m->last_retention_ms = m->last_checkpoint_ms = o->now_ms;
    err = sl_file_mkdir(m->dir);
    snprintf(marker, sizeof(marker), "%s/%s", m->dir, SL_LOGMGR_CLEAN_MARKER);
    m->clean = sl_file_exists(marker);
    memset(&sc, 0, sizeof(sc));
    sc.m = m;
    sc.now_ms = o->now_ms;
    if (err == SL_OK) {
        err = sl_file_list(m->dir, sl_logmgr_scan_cb, &sc);
    }
    if (err == SL_OK) {
        err = sc.err;
    }
    if (err == SL_OK && m->clean) {
        /* from now on a crash must not look clean */
        err = sl_file_unlink(marker);
        if (err == SL_OK) {
            err = sl_file_sync_dir(m->dir);
        }
    }
    m->failed = sc.failed;
    if (err != SL_OK) {
        m->failed++; /* no marker: what was not loaded was not checked */
        (void)sl_logmgr_close(m, o->now_ms);
        return err;
    }
    sl_log_info("log.mgr", "opened dir=%s partitions=%zu clean=%d failed=%d",
                m->dir, m->n, (int)m->clean, sc.failed);
    if (failed != NULL) {
        *failed = sc.failed;
    }
    *out = m;
    return SL_OK;
}

sl_err_t
sl_logmgr_close(sl_logmgr_t *m, int64_t now_ms)
{
    char marker[SL_LOGMGR_PATH];
    sl_err_t err = SL_OK, e2;
    size_t i;

    if (m == NULL) {
        return SL_OK;
    }
    for (i = 0; i < m->n; i++) {
        if (m->flusher != NULL) {
            sl_flusher_remove(m->flusher, m->ents[i].pl);
        }
        if (sl_partlog_offline(m->ents[i].pl) && err == SL_OK) {
            err = SL_ERR__IO;
        }
        e2 = sl_partlog_close(m->ents[i].pl, now_ms);
        if (err == SL_OK) {
            err = e2;
        }
        free(m->ents[i].topic);
    }
    if (err == SL_OK && m->failed == 0) {
        snprintf(marker, sizeof(marker), "%s/%s", m->dir,
                 SL_LOGMGR_CLEAN_MARKER);
        err = sl_file_write_atomic(m->dir, marker, "", 0);
    }
    free(m->ents);
    free(m->dir);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return err;
}

void
sl_logmgr_abandon(sl_logmgr_t *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (m->flusher != NULL) {
            sl_flusher_remove(m->flusher, m->ents[i].pl);
        }
        sl_partlog_abandon(m->ents[i].pl);
        free(m->ents[i].topic);
    }
    free(m->ents);
    free(m->dir);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

sl_err_t
sl_logmgr_get(sl_logmgr_t *m, const char *topic, int32_t partition,
              sl_partlog_t **pl)
{
    sl_logmgr_ent_t *e;

    pthread_mutex_lock(&m->lock);
    e = sl_logmgr_find(m, topic, partition);
    if (e != NULL) {
        *pl = e->pl;
    }
    pthread_mutex_unlock(&m->lock);
    return e != NULL ? SL_OK : SL_ERR__NOENT;
}

sl_err_t
sl_logmgr_create(sl_logmgr_t *m, const char *topic, int32_t partition,
                 const uint8_t *topic_id, const sl_log_config_t *cfg,
                 int64_t now_ms, sl_partlog_t **pl)
{
    char dir[SL_LOGMGR_PATH];
    sl_logmgr_ent_t *e;
    sl_err_t err;
    bool clean;

    if (!sl_logmgr_valid_topic(topic) || partition < 0) {
        return SL_ERR__INVAL;
    }
    pthread_mutex_lock(&m->lock);
    e = sl_logmgr_find(m, topic, partition);
    if (e != NULL) {
        *pl = e->pl;
        pthread_mutex_unlock(&m->lock);
        return SL_OK;
    }
    clean = m->clean;
    if (snprintf(dir, sizeof(dir), "%s/%s-%d", m->dir, topic, (int)partition) <
            (int)sizeof(dir) &&
        !sl_file_exists(dir)) {
        m->clean = true; /* a new directory has nothing to recover */
    }
    err = sl_logmgr_add(m, topic, partition, topic_id, cfg, true, now_ms, pl);
    m->clean = clean;
    pthread_mutex_unlock(&m->lock);
    return err;
}

sl_err_t
sl_logmgr_delete(sl_logmgr_t *m, const char *topic, int32_t partition)
{
    sl_logmgr_ent_t *e;
    sl_partlog_t *pl;

    pthread_mutex_lock(&m->lock);
    e = sl_logmgr_find(m, topic, partition);
    if (e == NULL) {
        pthread_mutex_unlock(&m->lock);
        return SL_ERR__NOENT;
    }
    pl = e->pl;
    free(e->topic);
    *e = m->ents[--m->n];
    pthread_mutex_unlock(&m->lock);
    if (m->flusher != NULL) {
        sl_flusher_remove(m->flusher, pl);
    }
    return sl_partlog_delete(pl);
}

sl_err_t
sl_logmgr_tick(sl_logmgr_t *m, int64_t now_ms, int *deleted)
{
    bool retain, ckpt;
    sl_err_t err = SL_OK, e2;
    size_t i;
    int d;

    if (deleted != NULL) {
        *deleted = 0;
    }
    pthread_mutex_lock(&m->lock);
    retain = now_ms - m->last_retention_ms >= m->retention_check_ms;
    ckpt = now_ms - m->last_checkpoint_ms >= m->checkpoint_interval_ms;
    if (retain) {
        m->last_retention_ms = now_ms;
    }
    if (ckpt) {
        m->last_checkpoint_ms = now_ms;
    }
    /* under the table lock: deletes cannot free a log meanwhile */
    for (i = 0; i < m->n && (retain || ckpt); i++) {
        sl_partlog_t *pl = m->ents[i].pl;

        if (sl_partlog_offline(pl)) {
            continue;
        }
        if (retain) {
            e2 = sl_partlog_retain(pl, now_ms, &d);
            if (e2 == SL_OK && deleted != NULL) {
                *deleted += d;
            }
            if (err == SL_OK) {
                err = e2;
            }
        }
        if (ckpt && (e2 = sl_partlog_checkpoint(pl)) != SL_OK && err == SL_OK) {
            err = e2;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return err;
}

size_t
sl_logmgr_count(sl_logmgr_t *m)
{
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->n;
    pthread_mutex_unlock(&m->lock);
    return n;
}

bool
sl_logmgr_was_clean(const sl_logmgr_t *m)
{
    return m->clean;
}
