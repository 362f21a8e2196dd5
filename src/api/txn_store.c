/*
 * api/txn_store.c: the transaction coordinator's wiring: its storage in
 * __transaction_state, its marker writer, its producer-id source, loading
 * at start and the ticker thread.
 *
 * Storage: each record the coordinator (txn/) hands over becomes a
 * one-record batch appended to its partition of __transaction_state
 * (compacted, transaction.state.log.num.partitions partitions, created on
 * first use); the append is acknowledged once the flusher made it durable.
 * At start every partition is read from its log start and fed to
 * sl_txn_coord_load(); sl_txn_coord_load_done() then finishes the
 * transactions the log left in PrepareCommit/PrepareAbort.
 *
 * Markers: a COMMIT or ABORT control batch (sl_control_build) is appended
 * to each partition of the transaction with sl_partlog_append, the path
 * produce uses, and the write is reported once every marker is durable. A
 * partition that no longer exists counts as done. Fetches waiting on the
 * partition are woken. The txn_complete hook materialises or drops the
 * producer's pending TxnOffsetCommit offsets (group/txn_offsets.c).
 *
 * The ticker thread calls sl_txn_coord_tick() at the coordinator's next
 * deadline (at the latest every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms) and runs
 * completions that must not run inside append() or write().
 *
 * Locking: tw->lock guards the deferred list and the stop flag.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/batch.h"

#define SL_TXN_TOPIC "__transaction_state"
#define SL_TXN_MAX_WAIT_MS 1000

typedef struct sl_tw_deferred_s {
    struct sl_tw_deferred_s *next;
    sl_txn_done_cb done;
    void *arg;
    sl_err_t err;
} sl_tw_deferred_t;

struct sl_txnw_s {
    sl_api_t *api;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sl_tw_deferred_t *deferred;
    pthread_t thread;
    bool started;
    bool stopping;
    atomic_bool topic_ready;
    int64_t max_tick_ms;
};

/* An append waiting for the disk. The flusher may call back before
 * sl_flusher_wait() returns (flush policy "log only"): then the callback
 * only records the result (state ISSUING -> EARLY) and append() hands it to
 * the ticker thread, as done must not run inside append(). */
#define SL_TW_ISSUING 0
#define SL_TW_RETURNED 1
#define SL_TW_EARLY 2
typedef struct sl_tw_wait_s {
    struct sl_txnw_s *tw;
    sl_txn_done_cb done;
    void *arg;
    atomic_int state;
    sl_err_t early_err;
} sl_tw_wait_t;

/* One marker write: the partitions still to become durable. */
typedef struct sl_tw_markers_s {
    atomic_int pending; /* + 1 while issuing */
    atomic_bool failed;
    sl_txn_done_cb done;
    void *arg;
} sl_tw_markers_t;

static void
sl_tw_defer(struct sl_txnw_s *tw, sl_txn_done_cb done, void *arg, sl_err_t err)
{
    sl_tw_deferred_t *d = malloc(sizeof(*d));

    if (d == NULL) {
        done(arg, err); /* last resort; the coordinator copes */
        return;
    }
    d->done = done;
    d->arg = arg;
    d->err = err;
    pthread_mutex_lock(&tw->lock);
    d->next = tw->deferred;
    tw->deferred = d;
    pthread_cond_signal(&tw->cond);
    pthread_mutex_unlock(&tw->lock);
}

/* @thread flusher, or the appending thread inside sl_flusher_wait() */
static void
sl_tw_durable_cb(void *arg, sl_err_t err, int64_t durable)
{
    sl_tw_wait_t *w = arg;
    int issuing = SL_TW_ISSUING;

    (void)durable;
    err = err == SL_OK ? SL_OK : SL_ERR_COORDINATOR_NOT_AVAILABLE;
    w->early_err = err;
    if (atomic_compare_exchange_strong(&w->state, &issuing, SL_TW_EARLY)) {
        return; /* append() defers it */
    }
    w->done(w->arg, err);
    free(w);
}

/* Make sure __transaction_state exists with its partition logs. */
static sl_err_t
sl_tw_ensure_topic(struct sl_txnw_s *tw)
{
    sl_api_t *api = tw->api;
    bool created = false;
    sl_err_t err;

    if (atomic_load(&tw->topic_ready)) {
        return SL_OK;
    }
    pthread_mutex_lock(&api->admin_lock);
    err = sl_metastore_auto_create(api->meta, SL_TXN_TOPIC, &created);
    if (err == SL_OK) {
        err = sl_api_topic_changed(api, SL_TXN_TOPIC);
    }
    pthread_mutex_unlock(&api->admin_lock);
    if (err == SL_OK) {
        if (created) {
            sl_log_info("txn", "created internal topic %s", SL_TXN_TOPIC);
        }
        atomic_store(&tw->topic_ready, true);
    }
    return err;
}

/* sl_txn_store_t.append */
static void
sl_tw_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
             const uint8_t *value, size_t value_len, sl_txn_done_cb done,
             void *done_arg)
{
    struct sl_txnw_s *tw = ctx;
    sl_api_t *api = tw->api;
    sl_batch_params_t bp;
    sl_record_in_t rec;
    sl_append_info_t ai;
    sl_partlog_t *pl;
    sl_tw_wait_t *w;
    uint8_t *batch = NULL;
    size_t blen = 0;
    sl_err_t err;

    err = sl_tw_ensure_topic(tw);
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
        sl_tw_defer(tw, done, done_arg, SL_ERR_COORDINATOR_NOT_AVAILABLE);
        free(batch);
        return;
    }
    w = malloc(sizeof(*w));
    sl_api_plock_rd(api);
    pl = sl_api_partition(api, SL_TXN_TOPIC, (int32_t)strlen(SL_TXN_TOPIC),
                          partition, &err);
    if (pl != NULL && w != NULL) {
        err = sl_partlog_append(pl, batch, blen, -1, SL_PARTLOG_F_CRC_CHECKED,
                                sl_clock_wall_ms(), &ai);
        if (err == SL_OK) {
            int issuing = SL_TW_ISSUING;

            w->tw = tw;
            w->done = done;
            w->arg = done_arg;
            atomic_init(&w->state, SL_TW_ISSUING);
            err = sl_flusher_wait(api->flusher, pl, ai.last_offset,
                                  sl_tw_durable_cb, w);
            if (err == SL_OK && !atomic_compare_exchange_strong(
                                    &w->state, &issuing, SL_TW_RETURNED)) {
                /* answered during the call: from the ticker thread */
                sl_tw_defer(tw, done, done_arg, w->early_err);
                err = SL_OK;
                free(w);
                w = NULL;
            } else if (err == SL_OK) {
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
            sl_log_warn("txn",
                        "cannot store transaction record partition=%d "
                        "err=%s",
                        (int)partition, sl_err_name(err));
            sl_tw_defer(tw, done, done_arg, SL_ERR_COORDINATOR_NOT_AVAILABLE);
        }
    }
}

/* Drop one reference of a marker write; the last reports it. */
static void
sl_tw_markers_release(sl_tw_markers_t *m)
{
    if (atomic_fetch_sub(&m->pending, 1) == 1) {
        m->done(m->arg,
                atomic_load(&m->failed) ? SL_ERR_KAFKA_STORAGE_ERROR : SL_OK);
        free(m);
    }
}

/* @thread flusher */
static void
sl_tw_marker_durable_cb(void *arg, sl_err_t err, int64_t durable)
{
    sl_tw_markers_t *m = arg;

    (void)durable;
    if (err != SL_OK) {
        atomic_store(&m->failed, true);
    }
    sl_tw_markers_release(m);
}

/* Append one marker batch to <tp>; SL_OK also when the partition is gone. */
static sl_err_t
sl_tw_marker_one(struct sl_txnw_s *tw, sl_tw_markers_t *m,
                 const sl_txn_tp_t *tp, const uint8_t *batch, size_t blen)
{
    sl_api_t *api = tw->api;
    sl_append_info_t ai;
    sl_partlog_t *pl;
    uint8_t *copy;
    sl_err_t err;

    if (tp->topic.len <= 0) {
        return SL_OK;
    }
    copy = malloc(blen); /* offsets are assigned in place */
    if (copy == NULL) {
        return SL_ERR__NOMEM;
    }
    memcpy(copy, batch, blen);
    sl_api_plock_rd(api);
    pl = sl_api_partition(api, tp->topic.ptr, tp->topic.len, tp->partition,
                          &err);
    if (pl == NULL) {
        err = SL_OK; /* deleted: nothing to mark, as in Kafka */
    } else {
        err = sl_partlog_append(pl, copy, blen, -1, SL_PARTLOG_F_CRC_CHECKED,
                                sl_clock_wall_ms(), &ai);
        if (err == SL_OK) {
            atomic_fetch_add(&m->pending, 1);
            err = sl_flusher_wait(api->flusher, pl, ai.last_offset,
                                  sl_tw_marker_durable_cb, m);
            if (err != SL_OK) {
                atomic_fetch_sub(&m->pending, 1);
            }
        }
    }
    sl_api_punlock(api);
    free(copy);
    if (pl != NULL && err == SL_OK) {
        sl_purgatory_check(
            api->fetch_purgatory,
            sl_purgatory_key_tp(tp->topic.ptr, tp->topic.len, tp->partition));
    }
    if (err != SL_OK) {
        sl_log_warn("txn",
                    "marker append failed topic=%.*s partition=%d err=%s",
                    (int)tp->topic.len, tp->topic.ptr, (int)tp->partition,
                    sl_err_name(err));
    }
    return err;
}

/* sl_txn_markers_t.write */
static void
sl_tw_markers_write(void *ctx, int64_t producer_id, int16_t producer_epoch,
                    bool commit, int32_t coordinator_epoch,
                    const sl_txn_tp_t *parts, int32_t n, sl_txn_done_cb done,
                    void *done_arg)
{
    struct sl_txnw_s *tw = ctx;
    sl_tw_markers_t *m = calloc(1, sizeof(*m));
    uint8_t *batch = NULL;
    size_t blen = 0;
    sl_err_t err;
    int32_t i;

    if (m == NULL ||
        sl_control_build(producer_id, producer_epoch, commit, coordinator_epoch,
                         sl_clock_wall_ms(), &batch, &blen) != SL_OK) {
        free(m);
        sl_tw_defer(tw, done, done_arg, SL_ERR__NOMEM);
        return;
    }
    atomic_init(&m->pending, 1);
    atomic_init(&m->failed, false);
    m->done = done;
    m->arg = done_arg;
    for (i = 0; i < n; i++) {
        err = sl_tw_marker_one(tw, m, &parts[i], batch, blen);
        if (err != SL_OK) {
            atomic_store(&m->failed, true);
        }
    }
    free(batch);
    sl_log_debug("txn", "markers written producer_id=%lld epoch=%d %s parts=%d",
                 (long long)producer_id, (int)producer_epoch,
                 commit ? "commit" : "abort", (int)n);
    /* The issuing reference: if it is the last one, report from the
     * ticker thread (done must not run inside write()). */
    if (atomic_fetch_sub(&m->pending, 1) == 1) {
        sl_tw_defer(tw, done, done_arg,
                    atomic_load(&m->failed) ? SL_ERR_KAFKA_STORAGE_ERROR
                                            : SL_OK);
        free(m);
    }
}

/* sl_txn_markers_t.txn_complete */
static void
sl_tw_txn_complete(void *ctx, int64_t producer_id, int16_t producer_epoch,
                   bool commit, const sl_txn_tp_t *parts, int32_t n)
{
    struct sl_txnw_s *tw = ctx;

    (void)producer_epoch;
    (void)parts;
    (void)n;
    sl_group_txn_complete(tw->api->txn_pending, tw->api->groups,
                          sl_clock_wall_ms(), producer_id, commit);
}

/* sl_txn_pid_source_t.next */
static sl_err_t
sl_tw_pid_next(void *ctx, int64_t *out)
{
    struct sl_txnw_s *tw = ctx;

    if (tw->api->pids == NULL ||
        sl_pid_alloc_next(tw->api->pids, out) != SL_OK) {
        return SL_ERR_UNKNOWN_SERVER_ERROR;
    }
    return SL_OK;
}

bool
sl_api_txn_has_pending(void *ctx, sl_str_t group_id, sl_str_t topic,
                       int32_t partition)
{
    sl_api_t *api = ctx;

    return api->txn_pending != NULL &&
           sl_group_txn_pending_has(api->txn_pending, group_id, topic,
                                    partition);
}

/* sl_api_scan_keyed() callback: one record of __transaction_state. */
static bool
sl_tw_load_record(void *arg, const sl_record_t *r)
{
    sl_api_t *api = arg;

    return sl_txn_coord_load(api->txn, r->key, (size_t)r->key_len,
                             r->value_len < 0 ? NULL : r->value,
                             r->value_len < 0 ? 0 : (size_t)r->value_len) ==
           SL_OK;
}

static void *
sl_tw_main(void *arg)
{
    struct sl_txnw_s *tw = arg;
    sl_tw_deferred_t *d, *next;
    struct timespec ts;
    int64_t now, dl, wait;

    pthread_mutex_lock(&tw->lock);
    while (!tw->stopping) {
        d = tw->deferred;
        tw->deferred = NULL;
        pthread_mutex_unlock(&tw->lock);
        for (; d != NULL; d = next) {
            next = d->next;
            d->done(d->arg, d->err);
            free(d);
        }
        now = sl_clock_wall_ms();
        sl_txn_coord_tick(tw->api->txn, now);
        dl = sl_txn_coord_next_deadline(tw->api->txn);
        wait = dl == INT64_MAX ? tw->max_tick_ms : dl - sl_clock_wall_ms();
        if (wait > tw->max_tick_ms) {
            wait = tw->max_tick_ms;
        }
        pthread_mutex_lock(&tw->lock);
        if (wait > 0 && tw->deferred == NULL && !tw->stopping) {
            ts = sl_clock_deadline(CLOCK_REALTIME, wait);
            pthread_cond_timedwait(&tw->cond, &tw->lock, &ts);
        }
    }
    pthread_mutex_unlock(&tw->lock);
    return NULL;
}

sl_err_t
sl_api_txn_open(sl_api_t *api)
{
    const sl_config_t *c = api->cfg;
    struct sl_txnw_s *tw;
    sl_txn_config_t tcfg;
    sl_txn_store_t store;
    sl_txn_markers_t markers;
    sl_txn_pid_source_t pids;
    sl_ptopic_t *t;
    sl_partlog_t **logs = NULL;
    int64_t records = 0;
    int32_t i, nlogs = 0;

    api->txn_pending = sl_group_txn_pending_create();
    tw = calloc(1, sizeof(*tw));
    if (tw == NULL || api->txn_pending == NULL) {
        free(tw);
        return SL_ERR__NOMEM;
    }
    tw->api = api;
    pthread_mutex_init(&tw->lock, NULL);
    pthread_cond_init(&tw->cond, NULL);
    atomic_init(&tw->topic_ready, false);
    tw->max_tick_ms = sl_config_long(
        c, "transaction.abort.timed.out.transaction.cleanup.interval.ms");
    if (tw->max_tick_ms > SL_TXN_MAX_WAIT_MS) {
        tw->max_tick_ms = SL_TXN_MAX_WAIT_MS;
    }
    api->txnw = tw;

    sl_txn_config_defaults(&tcfg);
    tcfg.max_timeout_ms = sl_config_int(c, "transaction.max.timeout.ms");
    tcfg.id_expiration_ms = sl_config_long(c, "transactional.id.expiration.ms");
    tcfg.partitions = sl_config_int(c, "transaction.state.log.num.partitions");
    tcfg.offsets_partitions = sl_config_int(c, "offsets.topic.num.partitions");
    tcfg.retry_backoff_ms = 100;
    /* An existing topic keeps its partition count. */
    sl_api_plock_rd(api);
    t = sl_api_ptopic(api, SL_TXN_TOPIC, (int32_t)strlen(SL_TXN_TOPIC));
    if (t != NULL) {
        tcfg.partitions = t->n;
    }
    t = sl_api_ptopic(api, "__consumer_offsets",
                      (int32_t)strlen("__consumer_offsets"));
    if (t != NULL) {
        tcfg.offsets_partitions = t->n;
    }
    sl_api_punlock(api);

    memset(&store, 0, sizeof(store));
    store.ctx = tw;
    store.append = sl_tw_append;
    memset(&markers, 0, sizeof(markers));
    markers.ctx = tw;
    markers.write = sl_tw_markers_write;
    markers.txn_complete = sl_tw_txn_complete;
    memset(&pids, 0, sizeof(pids));
    pids.ctx = tw;
    pids.next = sl_tw_pid_next;
    api->txn = sl_txn_coord_create(&tcfg, &store, &markers, &pids);
    if (api->txn == NULL) {
        return SL_ERR__NOMEM;
    }
    /* The partition logs are read without the registry lock: the
     * coordinator's lock is taken before it elsewhere (append), so holding
     * it here would invert the order. Nothing deletes topics before the
     * server starts. */
    sl_api_plock_rd(api);
    t = sl_api_ptopic(api, SL_TXN_TOPIC, (int32_t)strlen(SL_TXN_TOPIC));
    if (t != NULL && t->n > 0) {
        nlogs = t->n;
        logs = malloc((size_t)nlogs * sizeof(*logs));
        if (logs != NULL) {
            memcpy(logs, t->logs, (size_t)nlogs * sizeof(*logs));
        }
    }
    sl_api_punlock(api);
    if (t != NULL && nlogs > 0 && logs == NULL) {
        return SL_ERR__NOMEM;
    }
    if (t != NULL) {
        atomic_store(&tw->topic_ready, true);
        for (i = 0; i < nlogs; i++) {
            if (logs[i] != NULL) {
                sl_api_scan_keyed(logs[i], sl_tw_load_record, api, &records);
            }
        }
        free(logs);
        sl_log_info("txn", "loaded transaction records=%lld from %s",
                    (long long)records, SL_TXN_TOPIC);
    }
    /* Re-sends the markers of transactions left in Prepare*: appends that
     * need the flusher, which runs already. */
    sl_txn_coord_load_done(api->txn, sl_clock_wall_ms());
    if (pthread_create(&tw->thread, NULL, sl_tw_main, tw) != 0) {
        return SL_ERR__IO;
    }
    pthread_setname_np(tw->thread, "sl-txn");
    tw->started = true;
    return SL_OK;
}

void
sl_api_txn_close(sl_api_t *api)
{
    struct sl_txnw_s *tw = api->txnw;
    sl_tw_deferred_t *d, *next;

    if (tw != NULL && tw->started) {
        pthread_mutex_lock(&tw->lock);
        tw->stopping = true;
        pthread_cond_signal(&tw->cond);
        pthread_mutex_unlock(&tw->lock);
        pthread_join(tw->thread, NULL);
        tw->started = false;
    }
    if (api->txn != NULL) {
        /* Answers waiting requests; frees once appends and marker writes
         * in flight completed (the flusher completes them). */
        sl_txn_coord_destroy(api->txn);
        api->txn = NULL;
    }
    if (tw != NULL) {
        for (d = tw->deferred; d != NULL; d = next) {
            next = d->next;
            d->done(d->arg, d->err);
            free(d);
        }
        tw->deferred = NULL;
        pthread_cond_destroy(&tw->cond);
        pthread_mutex_destroy(&tw->lock);
        free(tw);
        api->txnw = NULL;
    }
}
