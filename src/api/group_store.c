/*
 * api/group_store.c: the group coordinator's storage, in __consumer_offsets.
 *
 * The coordinator (group/) hands over Kafka's record bytes (key, value or a
 * tombstone) for the partition of __consumer_offsets its group maps to.
 * Each becomes a one-record batch appended to that partition's log; the
 * append is acknowledged once the flusher has made it durable. At start,
 * every partition of __consumer_offsets is read from its log start and its
 * records are fed back to the coordinator, in order, so groups and
 * committed offsets survive restarts.
 *
 * A background thread ticks the coordinator (session and rebalance
 * timeouts, offset expiry) and runs completions that must not run inside
 * append() (the coordinator's contract: done is never called before
 * append returns).
 *
 * Locking: gs_lock guards the deferred-completion list.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/batch.h"

#define SL_GROUPS_TOPIC "__consumer_offsets"
#define SL_GROUPS_TICK_MS 50

typedef struct sl_gs_deferred_s {
    struct sl_gs_deferred_s *next;
    sl_group_append_done_cb done;
    void *arg;
    sl_err_t err;
} sl_gs_deferred_t;

typedef struct sl_gs_wait_s {
    sl_group_append_done_cb done;
    void *arg;
} sl_gs_wait_t;

static void
sl_gs_defer(sl_api_t *api, sl_group_append_done_cb done, void *arg,
            sl_err_t err)
{
    sl_gs_deferred_t *d = malloc(sizeof(*d));

    if (d == NULL) {
        done(arg, err); /* last resort; the coordinator copes */
        return;
    }
    d->done = done;
    d->arg = arg;
    d->err = err;
    pthread_mutex_lock(&api->gs_lock);
    d->next = api->gs_deferred;
    api->gs_deferred = d;
    pthread_cond_signal(&api->gs_cond);
    pthread_mutex_unlock(&api->gs_lock);
}

/* @thread flusher */
static void
sl_gs_durable_cb(void *arg, sl_err_t err, int64_t durable)
{
    sl_gs_wait_t *w = arg;

    (void)durable;
    w->done(w->arg, err == SL_OK ? SL_OK : SL_ERR_COORDINATOR_NOT_AVAILABLE);
    free(w);
}

/* Make sure __consumer_offsets exists with its partition logs. */
static sl_err_t
sl_gs_ensure_topic(sl_api_t *api)
{
    bool created = false;
    sl_err_t err;

    if (atomic_load(&api->gs_topic_ready)) {
        return SL_OK;
    }
    pthread_mutex_lock(&api->admin_lock);
    err = sl_metastore_auto_create(api->meta, SL_GROUPS_TOPIC, &created);
    if (err == SL_OK) {
        err = sl_api_topic_changed(api, SL_GROUPS_TOPIC);
    }
    pthread_mutex_unlock(&api->admin_lock);
    if (err == SL_OK) {
        if (created) {
            sl_log_info("group", "created internal topic %s", SL_GROUPS_TOPIC);
        }
        atomic_store(&api->gs_topic_ready, true);
    }
    return err;
}

/* sl_group_store_t.append */
static void
sl_gs_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
             const uint8_t *value, size_t value_len,
             sl_group_append_done_cb done, void *done_arg)
{
    sl_api_t *api = ctx;
    sl_batch_params_t bp;
    sl_record_in_t rec;
    sl_append_info_t ai;
    sl_partlog_t *pl;
    sl_gs_wait_t *w;
    uint8_t *batch = NULL;
    size_t blen = 0;
    sl_err_t err;

    err = sl_gs_ensure_topic(api);
    if (err == SL_OK) {
        sl_batch_params_init(&bp);
        memset(&rec, 0, sizeof(rec));
        rec.key = key;
        rec.key_len = key_len;
        rec.value = value; /* NULL: a tombstone */
        rec.value_len = value_len;
        rec.timestamp = sl_clock_wall_ms();
        err = sl_batch_build(&bp, &rec, 1, &batch, &blen);
    }
    if (err != SL_OK) {
        sl_gs_defer(api, done, done_arg, SL_ERR_COORDINATOR_NOT_AVAILABLE);
        free(batch);
        return;
    }
    w = malloc(sizeof(*w));
    sl_api_plock_rd(api);
    pl = sl_api_partition(api, SL_GROUPS_TOPIC,
                          (int32_t)strlen(SL_GROUPS_TOPIC), partition, &err);
    if (pl != NULL && w != NULL) {
        err = sl_partlog_append(pl, batch, blen, -1, SL_PARTLOG_F_CRC_CHECKED,
                                sl_clock_wall_ms(), &ai);
        if (err == SL_OK) {
            w->done = done;
            w->arg = done_arg;
            err = sl_flusher_wait(api->flusher, pl, ai.last_offset,
                                  sl_gs_durable_cb, w);
            if (err == SL_OK) {
                w = NULL; /* the flusher's now */
            }
        }
    } else if (w == NULL) {
        err = SL_ERR__NOMEM;
    }
    sl_api_punlock(api);
    free(batch);
    if (w != NULL || err != SL_OK) {
        free(w);
        if (err != SL_OK) {
            sl_log_warn("group",
                        "cannot store group record partition=%d err=%s",
                        (int)partition, sl_err_name(err));
            sl_gs_defer(api, done, done_arg, SL_ERR_COORDINATOR_NOT_AVAILABLE);
        }
    }
}

/*
 * Call fn for every keyed record of one partition log of an internal topic,
 * from its log start to its high watermark (control batches skipped): how
 * the coordinators load their state at start. *records counts the records
 * fn applied (returned true). Used by group_store.c and txn_store.c.
 */
sl_err_t
sl_api_scan_keyed(sl_partlog_t *pl, bool (*fn)(void *arg, const sl_record_t *r),
                  void *arg, int64_t *records)
{
    size_t cap = 1 << 20, len;
    uint8_t *buf = malloc(cap);
    int64_t off = sl_partlog_log_start(pl), end = sl_partlog_hwm(pl);
    sl_err_t err = SL_OK;

    if (buf == NULL) {
        return SL_ERR__NOMEM;
    }
    while (off < end && err == SL_OK) {
        sl_batch_seq_t it;
        sl_batch_t b;
        size_t partial;
        int64_t next = off;

        err = sl_partlog_read_copy(pl, off, true, -1, buf, cap, &len);
        if (err != SL_OK || len == 0) {
            break;
        }
        sl_batch_seq_init(&it, buf, len, SL_BATCH_F_NOCRC);
        while (sl_batch_seq_next(&it, &b, &partial) == SL_OK) {
            const uint8_t *recs;
            uint8_t *owned = NULL;
            size_t rlen;
            sl_record_iter_t ri;
            sl_record_t r;

            next = b.base_offset + b.last_offset_delta + 1;
            if (sl_batch_is_control(&b) ||
                b.base_offset + b.last_offset_delta < off) {
                continue;
            }
            if (sl_batch_records(&b, 64u << 20, &recs, &rlen, &owned) !=
                SL_OK) {
                continue;
            }
            sl_record_iter_init(&ri, recs, rlen, b.records_count);
            while (sl_record_iter_next(&ri, &r) == SL_OK) {
                if (r.key == NULL || r.key_len <= 0) {
                    continue;
                }
                if (fn(arg, &r)) {
                    (*records)++;
                }
            }
            free(owned);
        }
        if (next <= off) {
            break; /* no progress: a batch larger than the buffer */
        }
        off = next;
    }
    free(buf);
    return err;
}

/* sl_api_scan_keyed() callback: one record of __consumer_offsets. */
static bool
sl_gs_load_record(void *arg, const sl_record_t *r)
{
    sl_api_t *api = arg;
    size_t vlen = r->value_len < 0 ? 0 : (size_t)r->value_len;
    sl_err_t le = sl_group_coord_load(api->groups, sl_clock_wall_ms(), r->key,
                                      (size_t)r->key_len, r->value, vlen);

    if (le == SL_ERR__UNSUPPORTED) {
        /* Consumer protocol records (types 3-8). */
        le = sl_cgroup_coord_load(api->cgroups, sl_clock_wall_ms(), r->key,
                                  (size_t)r->key_len, r->value, vlen);
    }
    return le == SL_OK;
}

static void *
sl_gs_main(void *arg)
{
    sl_api_t *api = arg;
    sl_gs_deferred_t *d, *next;
    struct timespec ts;

    pthread_mutex_lock(&api->gs_lock);
    while (!api->gs_stopping) {
        d = api->gs_deferred;
        api->gs_deferred = NULL;
        pthread_mutex_unlock(&api->gs_lock);
        for (; d != NULL; d = next) {
            next = d->next;
            d->done(d->arg, d->err);
            free(d);
        }
        sl_group_coord_tick(api->groups, sl_clock_wall_ms());
        sl_cgroup_coord_tick(api->cgroups, sl_clock_wall_ms());
        pthread_mutex_lock(&api->gs_lock);
        if (api->gs_deferred == NULL && !api->gs_stopping) {
            ts = sl_clock_deadline(CLOCK_REALTIME, SL_GROUPS_TICK_MS);
            pthread_cond_timedwait(&api->gs_cond, &api->gs_lock, &ts);
        }
    }
    pthread_mutex_unlock(&api->gs_lock);
    return NULL;
}

sl_err_t
sl_api_groups_open(sl_api_t *api)
{
    const sl_config_t *c = api->cfg;
    sl_group_config_t gcfg;
    sl_cgroup_config_t ccfg;
    const char *assignors;
    sl_group_store_t store;
    sl_ptopic_t *t;
    int64_t records = 0;
    int32_t i;

    pthread_mutex_init(&api->gs_lock, NULL);
    pthread_cond_init(&api->gs_cond, NULL);
    sl_group_config_defaults(&gcfg);
    gcfg.min_session_timeout_ms =
        sl_config_int(c, "group.min.session.timeout.ms");
    gcfg.max_session_timeout_ms =
        sl_config_int(c, "group.max.session.timeout.ms");
    gcfg.initial_rebalance_delay_ms =
        sl_config_int(c, "group.initial.rebalance.delay.ms");
    gcfg.max_size = sl_config_int(c, "group.max.size");
    gcfg.offsets_retention_ms =
        (int64_t)sl_config_int(c, "offsets.retention.minutes") * 60000;
    gcfg.retention_check_ms =
        sl_config_long(c, "offsets.retention.check.interval.ms");
    gcfg.offset_metadata_max_bytes =
        sl_config_int(c, "offset.metadata.max.bytes");
    gcfg.offsets_partitions = sl_config_int(c, "offsets.topic.num.partitions");
    memset(&store, 0, sizeof(store));
    store.ctx = api;
    store.append = sl_gs_append;
    store.has_pending_txn = sl_api_txn_has_pending; /* txn_store.c */
    store.group_in_use = sl_api_cg_in_use;          /* consumer_groups.c */
    api->groups = sl_group_coord_create(&gcfg, &store);
    if (api->groups == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_cgroup_config_defaults(&ccfg);
    ccfg.session_timeout_ms =
        sl_config_int(c, "group.consumer.session.timeout.ms");
    ccfg.heartbeat_interval_ms =
        sl_config_int(c, "group.consumer.heartbeat.interval.ms");
    ccfg.max_size = sl_config_int(c, "group.consumer.max.size");
    ccfg.offsets_partitions = gcfg.offsets_partitions;
    assignors = sl_config_str(c, "group.consumer.assignors");
    if (assignors != NULL && strncmp(assignors, "range", 5) == 0) {
        ccfg.default_assignor = "range";
    }
    api->cgroups = sl_cgroup_coord_create(&ccfg, &store);
    if (api->cgroups == NULL) {
        return SL_ERR__NOMEM;
    }
    /* An existing __consumer_offsets keeps its partition count. */
    sl_api_plock_rd(api);
    t = sl_api_ptopic(api, SL_GROUPS_TOPIC, (int32_t)strlen(SL_GROUPS_TOPIC));
    if (t != NULL) {
        atomic_store(&api->gs_topic_ready, true);
        for (i = 0; i < t->n; i++) {
            if (t->logs[i] != NULL) {
                sl_api_scan_keyed(t->logs[i], sl_gs_load_record, api, &records);
            }
        }
    }
    sl_api_punlock(api);
    if (t != NULL) {
        sl_log_info("group", "loaded group records=%lld from %s",
                    (long long)records, SL_GROUPS_TOPIC);
    }
    if (pthread_create(&api->gs_thread, NULL, sl_gs_main, api) != 0) {
        return SL_ERR__IO;
    }
    pthread_setname_np(api->gs_thread, "sl-groups");
    api->gs_started = true;
    return SL_OK;
}

void
sl_api_groups_close(sl_api_t *api)
{
    sl_gs_deferred_t *d, *next;

    if (api->gs_started) {
        pthread_mutex_lock(&api->gs_lock);
        api->gs_stopping = true;
        pthread_cond_signal(&api->gs_cond);
        pthread_mutex_unlock(&api->gs_lock);
        pthread_join(api->gs_thread, NULL);
        api->gs_started = false;
    }
    if (api->groups != NULL) {
        /* Answers parked joins and syncs; waits for appends in flight,
         * which the flusher completes. */
        sl_group_coord_destroy(api->groups);
        api->groups = NULL;
    }
    /* Its appends in flight complete into their requests, not into it. */
    sl_cgroup_coord_destroy(api->cgroups);
    api->cgroups = NULL;
    for (d = api->gs_deferred; d != NULL; d = next) {
        next = d->next;
        d->done(d->arg, d->err);
        free(d);
    }
    api->gs_deferred = NULL;
}
