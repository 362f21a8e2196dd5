/*
 * txn/coord.c: the coordinator holding all transactional ids: lifecycle,
 * the lock, the queue of completions run after unlocking, timers (tick and
 * next deadline: transaction timeouts, transactional-id expiry, retries),
 * DescribeTransactions, ListTransactions, metadata snapshots and the
 * transactional-id-to-partition hash.
 *
 * Owns: every sl_txn_t (an array of pointers, searched linearly, as the
 * group coordinator does; a hash map is the upgrade path). The rules of the
 * client operations live in ops.c, record bytes in records.c.
 */
#include <stdlib.h>
#include <string.h>

#include "group/group.h"
#include "txn/txn_int.h"

static const char *const sl_txn_state_names[] = {
    "Empty",          "Ongoing",       "PrepareCommit", "PrepareAbort",
    "CompleteCommit", "CompleteAbort", "Dead",          "PrepareEpochFence",
};

const char *
sl_txn_state_name(sl_txn_state_e s)
{
    if ((unsigned)s > SL_TXN_STATE_PREPARE_EPOCH_FENCE) {
        return "Unknown";
    }
    return sl_txn_state_names[s];
}

int
sl_txn_state_from_name(sl_str_t name)
{
    int i;

    for (i = 0; i <= SL_TXN_STATE_PREPARE_EPOCH_FENCE; i++) {
        size_t len = strlen(sl_txn_state_names[i]);

        if (name.len == (int32_t)len &&
            memcmp(name.ptr, sl_txn_state_names[i], len) == 0) {
            return i;
        }
    }
    return -1;
}

void
sl_txn_config_defaults(sl_txn_config_t *cfg)
{
    cfg->max_timeout_ms = 900000;
    cfg->id_expiration_ms = 7LL * 24 * 3600 * 1000;
    cfg->partitions = 50;
    cfg->offsets_partitions = 50;
    cfg->transaction_version = 2;
    cfg->coordinator_epoch = 0;
    cfg->retry_backoff_ms = 100;
    cfg->end_waits_markers = true;
}

int32_t
sl_txn_partition_for(sl_str_t txn_id, int32_t partitions)
{
    /* The same hash as the group coordinator's: Java's String.hashCode and
     * Kafka's Utils.abs. */
    return sl_group_partition_for(txn_id, partitions);
}

sl_err_t
sl_txn_wire_error(sl_err_t err, int16_t api_key, int16_t version)
{
    int16_t first = 0;

    if (err != SL_ERR_PRODUCER_FENCED) {
        return err;
    }
    switch (api_key) {
    case 22: /* InitProducerId */
        first = 4;
        break;
    case 24: /* AddPartitionsToTxn */
    case 25: /* AddOffsetsToTxn */
    case 26: /* EndTxn */
        first = 2;
        break;
    case 28: /* TxnOffsetCommit */
        first = 3;
        break;
    default:
        return err;
    }
    return version >= first ? err : SL_ERR_INVALID_PRODUCER_EPOCH;
}

bool
sl_txn_epoch_exhausted(int16_t epoch)
{
    /* Kafka keeps INT16_MAX back so that a producer can always be fenced. */
    return epoch >= INT16_MAX - 1;
}

/* ---- metadata snapshots ------------------------------------------------ */

void
sl_tmeta_clear(sl_tmeta_t *m)
{
    int32_t i;

    for (i = 0; i < m->parts_count; i++) {
        free(m->parts[i].topic);
    }
    free(m->parts);
    m->parts = NULL;
    m->parts_count = 0;
}

sl_err_t
sl_tmeta_copy(sl_tmeta_t *dst, const sl_tmeta_t *src)
{
    int32_t i;

    *dst = *src;
    dst->parts = NULL;
    dst->parts_count = 0;
    if (src->parts_count == 0) {
        return SL_OK;
    }
    dst->parts = calloc((size_t)src->parts_count, sizeof(*dst->parts));
    if (dst->parts == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < src->parts_count; i++) {
        const sl_ttp_t *s = &src->parts[i];
        char *p = malloc((size_t)s->topic_len + 1);

        if (p == NULL) {
            sl_tmeta_clear(dst);
            return SL_ERR__NOMEM;
        }
        memcpy(p, s->topic, (size_t)s->topic_len + 1);
        dst->parts[i].topic = p;
        dst->parts[i].topic_len = s->topic_len;
        dst->parts[i].partition = s->partition;
        dst->parts_count++;
    }
    return SL_OK;
}

/* Order of partitions: topic bytes, then topic length, then partition. */
static int
sl_ttp_cmp(const char *ta, int32_t la, int32_t pa, const char *tb, int32_t lb,
           int32_t pb)
{
    int32_t n = la < lb ? la : lb;
    int c = n > 0 ? memcmp(ta, tb, (size_t)n) : 0;

    if (c != 0) {
        return c;
    }
    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

static int
sl_ttp_qsort_cmp(const void *a, const void *b)
{
    const sl_txn_tp_t *x = a, *y = b;

    return sl_ttp_cmp(x->topic.ptr, x->topic.len, x->partition, y->topic.ptr,
                      y->topic.len, y->partition);
}

bool
sl_tmeta_has_part(const sl_tmeta_t *m, sl_str_t topic, int32_t p)
{
    int32_t lo = 0, hi = m->parts_count, len = topic.len < 0 ? 0 : topic.len;

    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const sl_ttp_t *t = &m->parts[mid];
        int c =
            sl_ttp_cmp(t->topic, t->topic_len, t->partition, topic.ptr, len, p);

        if (c == 0) {
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/*
 * Merge <n> partitions (any order, duplicates allowed) into <m>'s sorted,
 * duplicate-free set in O((m + n) log n): a request or a record may hold
 * very many. On failure <m> is unchanged.
 */
sl_err_t
sl_tmeta_add_parts(sl_tmeta_t *m, const sl_txn_tp_t *tps, int32_t n)
{
    sl_txn_tp_t *in;
    sl_ttp_t *out;
    char **fresh;
    int32_t i = 0, j = 0, k = 0, nf = 0;

    if (n <= 0) {
        return SL_OK;
    }
    in = malloc((size_t)n * sizeof(*in));
    out = malloc(((size_t)m->parts_count + (size_t)n) * sizeof(*out));
    fresh = malloc((size_t)n * sizeof(*fresh));
    if (in == NULL || out == NULL || fresh == NULL) {
        goto nomem;
    }
    for (i = 0; i < n; i++) {
        in[i] = tps[i];
        if (in[i].topic.len <= 0) {
            in[i].topic.ptr = "";
            in[i].topic.len = 0;
        }
    }
    qsort(in, (size_t)n, sizeof(*in), sl_ttp_qsort_cmp);
    i = 0;
    while (i < m->parts_count || j < n) {
        const sl_ttp_t *a = i < m->parts_count ? &m->parts[i] : NULL;
        int c;

        if (j > 0 && j < n && sl_ttp_qsort_cmp(&in[j], &in[j - 1]) == 0) {
            j++; /* a duplicate in the request */
            continue;
        }
        c = a == NULL ? 1
            : j == n
                ? -1
                : sl_ttp_cmp(a->topic, a->topic_len, a->partition,
                             in[j].topic.ptr, in[j].topic.len, in[j].partition);
        if (c <= 0) {
            out[k++] = *a;
            i++;
            j += c == 0;
            continue;
        }
        if ((fresh[nf] = malloc((size_t)in[j].topic.len + 1)) == NULL) {
            goto nomem;
        }
        memcpy(fresh[nf], in[j].topic.ptr, (size_t)in[j].topic.len);
        fresh[nf][in[j].topic.len] = '\0';
        out[k].topic = fresh[nf++];
        out[k].topic_len = in[j].topic.len;
        out[k].partition = in[j].partition;
        k++;
        j++;
    }
    free(m->parts);
    m->parts = out;
    m->parts_count = k;
    free(in);
    free(fresh);
    return SL_OK;
nomem:
    while (nf > 0) {
        free(fresh[--nf]);
    }
    free(in);
    free(out);
    free(fresh);
    return SL_ERR__NOMEM;
}

sl_err_t
sl_tmeta_add_part(sl_tmeta_t *m, sl_str_t topic, int32_t p)
{
    sl_txn_tp_t tp;

    tp.topic = topic;
    tp.partition = p;
    return sl_tmeta_add_parts(m, &tp, 1);
}

/* ---- lock and completions --------------------------------------------- */

void
sl_txn_coord_lock(sl_txn_coord_t *tc)
{
    pthread_mutex_lock(&tc->lock);
}

/* Run queued completions one at a time, each with the lock released (a
 * callback may re-enter the coordinator); returns with the lock held. */
static void
sl_txn_coord_drain(sl_txn_coord_t *tc)
{
    sl_tdone_t *d;

    while ((d = tc->done_head) != NULL) {
        tc->done_head = d->next;
        if (tc->done_head == NULL) {
            tc->done_tail = &tc->done_head;
        }
        pthread_mutex_unlock(&tc->lock);
        d->cb(d->arg, d->err, d->producer_id, d->producer_epoch);
        free(d);
        pthread_mutex_lock(&tc->lock);
    }
}

void
sl_txn_coord_unlock(sl_txn_coord_t *tc)
{
    sl_txn_coord_drain(tc);
    pthread_mutex_unlock(&tc->lock);
}

/*
 * The reference is dropped only after the queue is drained: while this
 * thread runs callbacks with the lock released, its reference keeps <tc>
 * from being freed by another thread's last unref.
 */
void
sl_txn_coord_unref_unlock(sl_txn_coord_t *tc)
{
    bool last;
    int32_t i;

    sl_txn_coord_drain(tc);
    last = --tc->refs == 0;
    pthread_mutex_unlock(&tc->lock);
    if (last) {
        for (i = 0; i < tc->txns_count; i++) {
            sl_txn_free(tc->txns[i]);
        }
        free(tc->txns);
        free(tc->buckets);
        pthread_mutex_destroy(&tc->lock);
        free(tc);
    }
}

/*
 * Allocation failure is fatal to the process: a lost completion would park
 * a client request forever.
 */
void
sl_txn_answer(sl_txn_coord_t *tc, sl_txn_cb cb, void *arg, sl_err_t err,
              int64_t pid, int16_t epoch)
{
    sl_tdone_t *d;

    if (cb == NULL) {
        return;
    }
    if ((d = calloc(1, sizeof(*d))) == NULL) {
        abort();
    }
    d->cb = cb;
    d->arg = arg;
    d->err = err;
    d->producer_id = err == SL_OK ? pid : SL_TXN_NO_PID;
    d->producer_epoch = err == SL_OK ? epoch : SL_TXN_NO_EPOCH;
    *tc->done_tail = d;
    tc->done_tail = &d->next;
}

void
sl_txn_clock(sl_txn_coord_t *tc, int64_t now_ms)
{
    if (now_ms > tc->now) {
        tc->now = now_ms;
    }
}

/* ---- transactional ids ------------------------------------------------- */

/* FNV-1a of the id's bytes. */
static uint64_t
sl_txn_hash(sl_str_t id)
{
    uint64_t h = 14695981039346656037ULL;
    int32_t i;

    for (i = 0; i < id.len; i++) {
        h = (h ^ (uint8_t)id.ptr[i]) * 1099511628211ULL;
    }
    return h;
}

sl_txn_t *
sl_txn_find(sl_txn_coord_t *tc, sl_str_t id)
{
    uint64_t h;
    sl_txn_t *t;

    if (tc->nbuckets == 0 || id.len < 0) {
        return NULL;
    }
    h = sl_txn_hash(id);
    for (t = tc->buckets[h & (tc->nbuckets - 1)]; t != NULL; t = t->hnext) {
        if (t->hash == h && t->id_len == id.len &&
            (id.len == 0 || memcmp(t->id, id.ptr, (size_t)id.len) == 0)) {
            return t;
        }
    }
    return NULL;
}

/* Keep at most one transaction per bucket on average. */
static sl_err_t
sl_txn_rehash(sl_txn_coord_t *tc)
{
    uint32_t n = tc->nbuckets == 0 ? 64 : tc->nbuckets * 2;
    sl_txn_t **b;
    int32_t i;

    if ((uint32_t)tc->txns_count < tc->nbuckets) {
        return SL_OK;
    }
    if (n == 0 || (b = calloc(n, sizeof(*b))) == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < tc->txns_count; i++) {
        sl_txn_t *t = tc->txns[i];

        t->hnext = b[t->hash & (n - 1)];
        b[t->hash & (n - 1)] = t;
    }
    free(tc->buckets);
    tc->buckets = b;
    tc->nbuckets = n;
    return SL_OK;
}

sl_txn_t *
sl_txn_create(sl_txn_coord_t *tc, sl_str_t id)
{
    sl_txn_t **n;
    sl_txn_t *t;
    int32_t cap;

    if (id.len < 0 || sl_txn_rehash(tc) != SL_OK) {
        return NULL;
    }
    if (tc->txns_count == tc->txns_cap) {
        cap = tc->txns_cap == 0 ? 16 : tc->txns_cap * 2;
        n = realloc(tc->txns, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        tc->txns = n;
        tc->txns_cap = cap;
    }
    if ((t = calloc(1, sizeof(*t))) == NULL ||
        (t->id = malloc((size_t)id.len + 1)) == NULL) {
        free(t);
        return NULL;
    }
    memcpy(t->id, id.ptr, (size_t)id.len);
    t->id[id.len] = '\0';
    t->id_len = id.len;
    t->partition = sl_txn_partition_for(id, tc->cfg.partitions);
    t->m.producer_id = t->m.prev_producer_id = t->m.next_producer_id =
        SL_TXN_NO_PID;
    t->m.producer_epoch = t->m.last_producer_epoch = SL_TXN_NO_EPOCH;
    t->m.state = SL_TXN_STATE_EMPTY;
    t->m.start_ts = -1;
    t->hash = sl_txn_hash(id);
    t->hnext = tc->buckets[t->hash & (tc->nbuckets - 1)];
    tc->buckets[t->hash & (tc->nbuckets - 1)] = t;
    t->slot = tc->txns_count;
    tc->txns[tc->txns_count++] = t;
    return t;
}

void
sl_txn_free(sl_txn_t *t)
{
    if (t == NULL) {
        return;
    }
    sl_tmeta_clear(&t->m);
    sl_tmeta_clear(&t->transit);
    free(t->id);
    free(t);
}

void
sl_txn_remove(sl_txn_coord_t *tc, sl_txn_t *t)
{
    sl_txn_t **pp = &tc->buckets[t->hash & (tc->nbuckets - 1)];

    while (*pp != t) {
        pp = &(*pp)->hnext;
    }
    *pp = t->hnext;
    tc->txns[t->slot] = tc->txns[--tc->txns_count];
    tc->txns[t->slot]->slot = t->slot;
    if (t->wait != SL_TWAIT_NONE) {
        sl_txn_answer(tc, t->wait_cb, t->wait_arg,
                      SL_ERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
    }
    sl_txn_free(t);
}

/* ---- lifecycle --------------------------------------------------------- */

sl_txn_coord_t *
sl_txn_coord_create(const sl_txn_config_t *cfg, const sl_txn_store_t *store,
                    const sl_txn_markers_t *markers,
                    const sl_txn_pid_source_t *pids)
{
    sl_txn_coord_t *tc = calloc(1, sizeof(*tc));

    if (tc == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&tc->lock, NULL) != 0) {
        free(tc);
        return NULL;
    }
    if (cfg != NULL) {
        tc->cfg = *cfg;
    } else {
        sl_txn_config_defaults(&tc->cfg);
    }
    if (tc->cfg.partitions <= 0) {
        tc->cfg.partitions = 1;
    }
    if (tc->cfg.offsets_partitions <= 0) {
        tc->cfg.offsets_partitions = 1;
    }
    if (tc->cfg.retry_backoff_ms < 0) {
        tc->cfg.retry_backoff_ms = 0;
    }
    if (store != NULL) {
        tc->store = *store;
    }
    if (markers != NULL) {
        tc->markers = *markers;
    }
    if (pids != NULL) {
        tc->pids = *pids;
    }
    tc->done_tail = &tc->done_head;
    tc->refs = 1;
    tc->loading = true;
    return tc;
}

/*
 * Close: answer every waiting request COORDINATOR_NOT_AVAILABLE. Calls in
 * flight keep the memory (and the transactions, which their completions
 * still name) until they complete; they change nothing any more.
 */
void
sl_txn_coord_destroy(sl_txn_coord_t *tc)
{
    int32_t i;

    if (tc == NULL) {
        return;
    }
    sl_txn_coord_lock(tc);
    tc->closed = true;
    for (i = 0; i < tc->txns_count; i++) {
        sl_txn_t *t = tc->txns[i];

        if (t->wait != SL_TWAIT_NONE) {
            sl_txn_answer(tc, t->wait_cb, t->wait_arg,
                          SL_ERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
            t->wait = SL_TWAIT_NONE;
        }
    }
    sl_txn_coord_unref_unlock(tc);
}

/* ---- timers ------------------------------------------------------------ */

static bool
sl_txn_expirable(const sl_txn_t *t)
{
    return !t->pending && t->phase == SL_TPHASE_NONE &&
           (t->m.state == SL_TXN_STATE_EMPTY ||
            t->m.state == SL_TXN_STATE_COMPLETE_COMMIT ||
            t->m.state == SL_TXN_STATE_COMPLETE_ABORT);
}

/* a + b, saturated: loaded timestamps and timeouts may be anything. */
static int64_t
sl_txn_add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

/* a - b, saturated. */
static int64_t
sl_txn_sub_sat(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b) {
        return INT64_MAX;
    }
    if (b > 0 && a < INT64_MIN + b) {
        return INT64_MIN;
    }
    return a - b;
}

/* When <t> needs the clock next, INT64_MAX if never. */
static int64_t
sl_txn_deadline(const sl_txn_coord_t *tc, const sl_txn_t *t)
{
    int64_t d;

    if (t->phase == SL_TPHASE_MARKERS_RETRY ||
        t->phase == SL_TPHASE_COMPLETE_RETRY) {
        return t->retry_at;
    }
    if (t->pending || t->phase != SL_TPHASE_NONE) {
        return INT64_MAX;
    }
    if (t->m.state == SL_TXN_STATE_ONGOING) {
        /* Kafka aborts once start + timeout < now. */
        d = sl_txn_add_sat(sl_txn_add_sat(t->m.start_ts, t->m.timeout_ms), 1);
    } else if (sl_txn_expirable(t)) {
        d = sl_txn_add_sat(t->m.update_ts, tc->cfg.id_expiration_ms);
    } else {
        return INT64_MAX;
    }
    /* After a failed abort or tombstone: not before the backoff. */
    return d > t->retry_at ? d : t->retry_at;
}

static void sl_txn_expire_done(void *arg, sl_err_t err);

typedef struct sl_txn_expire_s {
    sl_txn_coord_t *tc;
    sl_txn_t *t;
} sl_txn_expire_t;

/* Tombstone an idle transactional id (Kafka's removeExpiredTransactionalIds:
 * pending Dead while the tombstone is appended, then removed). */
static void
sl_txn_expire(sl_txn_coord_t *tc, sl_txn_t *t)
{
    sl_txn_expire_t *x;
    uint8_t *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    sl_str_t id = {t->id, t->id_len};

    if (tc->store.append == NULL) {
        sl_txn_remove(tc, t);
        return;
    }
    if ((x = malloc(sizeof(*x))) == NULL ||
        sl_txn_record_encode(id, NULL, 0, &k, &kl, &v, &vl) != SL_OK) {
        free(x);
        t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
        return;
    }
    x->tc = tc;
    x->t = t;
    t->pending = true;
    sl_tmeta_clear(&t->transit);
    t->transit = t->m;
    t->transit.parts = NULL;
    t->transit.parts_count = 0;
    t->transit.state = SL_TXN_STATE_DEAD;
    tc->refs++;
    tc->store.append(tc->store.ctx, t->partition, k, kl, NULL, 0,
                     sl_txn_expire_done, x);
    free(k);
}

static void
sl_txn_expire_done(void *arg, sl_err_t err)
{
    sl_txn_expire_t *x = arg;
    sl_txn_coord_t *tc = x->tc;

    sl_txn_coord_lock(tc);
    if (!tc->closed) {
        if (err == SL_OK) {
            sl_txn_remove(tc, x->t);
        } else {
            x->t->pending = false;
            x->t->retry_at = tc->now + tc->cfg.retry_backoff_ms;
        }
    }
    free(x);
    sl_txn_coord_unref_unlock(tc);
}

void
sl_txn_coord_tick(sl_txn_coord_t *tc, int64_t now_ms)
{
    int32_t i;

    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if (tc->loading || tc->closed) {
        sl_txn_coord_unlock(tc);
        return;
    }
    /* Walk backwards: expiry may remove the current transaction. */
    for (i = tc->txns_count - 1; i >= 0; i--) {
        sl_txn_t *t;

        if (i >= tc->txns_count) {
            continue;
        }
        t = tc->txns[i];
        if (sl_txn_deadline(tc, t) > now_ms) {
            continue;
        }
        if (t->phase == SL_TPHASE_MARKERS_RETRY) {
            sl_txn_send_markers(tc, t);
        } else if (t->phase == SL_TPHASE_COMPLETE_RETRY) {
            sl_txn_append_complete(tc, t);
        } else if (t->m.state == SL_TXN_STATE_ONGOING) {
            sl_txn_fence_abort(tc, t, SL_TWAIT_NONE, NULL, NULL);
        } else if (sl_txn_expirable(t)) {
            sl_txn_expire(tc, t);
        }
    }
    sl_txn_coord_unlock(tc);
}

int64_t
sl_txn_coord_next_deadline(sl_txn_coord_t *tc)
{
    int64_t best = INT64_MAX, d;
    int32_t i;

    sl_txn_coord_lock(tc);
    if (!tc->loading && !tc->closed) {
        for (i = 0; i < tc->txns_count; i++) {
            d = sl_txn_deadline(tc, tc->txns[i]);
            best = d < best ? d : best;
        }
    }
    sl_txn_coord_unlock(tc);
    return best;
}

/* ---- DescribeTransactions, ListTransactions ------------------------------ */

static sl_str_t
sl_txn_arena_str(sl_arena_t *a, const char *p, int32_t len)
{
    sl_str_t r = {NULL, -1};
    char *c;

    if (len < 0 || (c = sl_arena_alloc(a, (size_t)len + 1)) == NULL) {
        return r;
    }
    if (len > 0) {
        memcpy(c, p, (size_t)len);
    }
    c[len] = '\0';
    r.ptr = c;
    r.len = len;
    return r;
}

/* Group <m>'s partitions by topic into out->topics (they are sorted, so a
 * topic's partitions are adjacent). */
static sl_err_t
sl_txn_describe_topics(const sl_tmeta_t *m, sl_arena_t *a, sl_txn_desc_t *out)
{
    sl_txn_desc_topic_t *dt = NULL;
    int32_t i;

    out->topics =
        sl_arena_calloc(a, (size_t)m->parts_count + 1, sizeof(*out->topics));
    if (out->topics == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < m->parts_count; i++) {
        const sl_ttp_t *p = &m->parts[i];

        if (dt == NULL || dt->topic.len != p->topic_len ||
            memcmp(dt->topic.ptr, p->topic, (size_t)p->topic_len) != 0) {
            dt = &out->topics[out->topics_count++];
            dt->topic = sl_txn_arena_str(a, p->topic, p->topic_len);
            dt->partitions = sl_arena_calloc(a, (size_t)(m->parts_count - i),
                                             sizeof(*dt->partitions));
            if (dt->topic.ptr == NULL || dt->partitions == NULL) {
                return SL_ERR__NOMEM;
            }
        }
        dt->partitions[dt->partitions_count++] = p->partition;
    }
    return SL_OK;
}

sl_err_t
sl_txn_describe(sl_txn_coord_t *tc, sl_str_t txn_id, sl_arena_t *a,
                sl_txn_desc_t *out)
{
    sl_txn_t *t;

    memset(out, 0, sizeof(*out));
    out->transactional_id = sl_txn_arena_str(a, txn_id.ptr, txn_id.len);
    out->state = SL_TXN_STATE_DEAD;
    out->producer_id = SL_TXN_NO_PID;
    out->producer_epoch = SL_TXN_NO_EPOCH;
    out->start_ms = -1;
    sl_txn_coord_lock(tc);
    if (txn_id.len <= 0) {
        out->error = SL_ERR_INVALID_REQUEST;
    } else if (tc->loading) {
        out->error = SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
    } else if (tc->closed) {
        out->error = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if ((t = sl_txn_find(tc, txn_id)) == NULL ||
               t->m.state == SL_TXN_STATE_DEAD) {
        out->error = SL_ERR_TRANSACTIONAL_ID_NOT_FOUND;
    } else {
        out->state = t->m.state;
        out->timeout_ms = t->m.timeout_ms;
        out->start_ms = t->m.start_ts;
        out->producer_id = t->m.producer_id;
        out->producer_epoch = t->m.producer_epoch;
        out->error = sl_txn_describe_topics(&t->m, a, out);
    }
    sl_txn_coord_unlock(tc);
    return out->error;
}

static bool
sl_txn_list_match(const sl_txn_t *t, int64_t now_ms,
                  const sl_txn_list_req_t *req, const bool *states)
{
    int32_t i;
    bool found;

    if (t->m.state == SL_TXN_STATE_DEAD) {
        return false;
    }
    if (req->n_producer_ids > 0) {
        found = false;
        for (i = 0; i < req->n_producer_ids; i++) {
            found = found || req->producer_ids[i] == t->m.producer_id;
        }
        if (!found) {
            return false;
        }
    }
    if (req->n_states > 0 && !states[t->m.state]) {
        return false;
    }
    /* KIP-994: only transactions that have run longer than the filter. */
    if (req->duration_ms >= 0 &&
        sl_txn_sub_sat(now_ms, t->m.start_ts) <= req->duration_ms) {
        return false;
    }
    return true;
}

sl_err_t
sl_txn_list(sl_txn_coord_t *tc, int64_t now_ms, const sl_txn_list_req_t *req,
            sl_arena_t *a, sl_txn_list_t *out)
{
    bool states[SL_TXN_STATE_PREPARE_EPOCH_FENCE + 1] = {false};
    sl_err_t err = SL_OK;
    int32_t i;
    int s;

    memset(out, 0, sizeof(*out));
    out->unknown_states =
        sl_arena_calloc(a, (size_t)req->n_states + 1, sizeof(sl_str_t));
    if (out->unknown_states == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < req->n_states; i++) {
        if ((s = sl_txn_state_from_name(req->states[i])) >= 0) {
            states[s] = true;
        } else {
            out->unknown_states[out->unknown_states_count++] =
                sl_txn_arena_str(a, req->states[i].ptr, req->states[i].len);
        }
    }
    sl_txn_coord_lock(tc);
    sl_txn_clock(tc, now_ms);
    if (tc->loading) {
        err = SL_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        goto out;
    }
    out->txns =
        sl_arena_calloc(a, (size_t)tc->txns_count + 1, sizeof(*out->txns));
    if (out->txns == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < tc->txns_count; i++) {
        const sl_txn_t *t = tc->txns[i];
        sl_txn_listing_t *l;

        if (!sl_txn_list_match(t, now_ms, req, states)) {
            continue;
        }
        l = &out->txns[out->txns_count++];
        l->transactional_id = sl_txn_arena_str(a, t->id, t->id_len);
        l->producer_id = t->m.producer_id;
        l->state = t->m.state;
    }
out:
    sl_txn_coord_unlock(tc);
    return err;
}
