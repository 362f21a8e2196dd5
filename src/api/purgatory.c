/*
 * api/purgatory.c: key table (open hashing on 64-bit keys, each bucket a
 * list of watch entries) and a deadline min-heap served by one expiry
 * thread. Locking: p->lock guards the table and the heap; try_complete and
 * on_expire run without it.
 */
#include "api/purgatory.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "net/reactor.h"

#define SL_PURG_BUCKETS 1024

typedef struct sl_watch_s {
    struct sl_watch_s *next;
    uint64_t key;
    sl_delayed_t *d;
} sl_watch_t;

struct sl_purgatory_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sl_watch_t *buckets[SL_PURG_BUCKETS];
    sl_delayed_t **heap;
    size_t nheap, capheap;
    int watched;
    bool stopping;
    bool draining; /* sl_purgatory_expire_all(): every deadline is now */
    pthread_t thread;
};

void
sl_delayed_init(sl_delayed_t *d)
{
    atomic_init(&d->refs, 1);
    atomic_init(&d->completed, false);
    atomic_flag_clear(&d->busy);
    d->heap_index = SIZE_MAX;
}

void
sl_delayed_ref(sl_delayed_t *d)
{
    atomic_fetch_add(&d->refs, 1);
}

void
sl_delayed_unref(sl_delayed_t *d)
{
    if (atomic_fetch_sub(&d->refs, 1) == 1 && d->free != NULL) {
        d->free(d);
    }
}

bool
sl_delayed_complete(sl_delayed_t *d)
{
    bool expected = false;

    return atomic_compare_exchange_strong(&d->completed, &expected, true);
}

bool
sl_delayed_is_completed(sl_delayed_t *d)
{
    return atomic_load(&d->completed);
}

/*
 * Run try_complete (or on_expire) unless the operation is completed; calls
 * for one operation never overlap: a second caller spins while the first
 * runs (the callbacks are short) and gives up once it is completed.
 */
static void
sl_delayed_run(sl_delayed_t *d, bool expire)
{
    if (atomic_load(&d->completed)) {
        return;
    }
    while (atomic_flag_test_and_set(&d->busy)) {
        if (atomic_load(&d->completed)) {
            return;
        }
    }
    if (!atomic_load(&d->completed)) {
        if (expire) {
            d->on_expire(d);
        } else {
            d->try_complete(d);
        }
    }
    atomic_flag_clear(&d->busy);
}

/* ---- heap (p->lock held) ---- */

static void
sl_heap_swap(sl_purgatory_t *p, size_t i, size_t j)
{
    sl_delayed_t *t = p->heap[i];

    p->heap[i] = p->heap[j];
    p->heap[j] = t;
    p->heap[i]->heap_index = i;
    p->heap[j]->heap_index = j;
}

static void
sl_heap_up(sl_purgatory_t *p, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (p->heap[parent]->deadline_ms <= p->heap[i]->deadline_ms) {
            break;
        }
        sl_heap_swap(p, i, parent);
        i = parent;
    }
}

static void
sl_heap_down(sl_purgatory_t *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->nheap && p->heap[l]->deadline_ms < p->heap[m]->deadline_ms) {
            m = l;
        }
        if (r < p->nheap && p->heap[r]->deadline_ms < p->heap[m]->deadline_ms) {
            m = r;
        }
        if (m == i) {
            break;
        }
        sl_heap_swap(p, i, m);
        i = m;
    }
}

static sl_delayed_t *
sl_heap_pop(sl_purgatory_t *p)
{
    sl_delayed_t *top = p->heap[0];

    p->nheap--;
    if (p->nheap > 0) {
        p->heap[0] = p->heap[p->nheap];
        p->heap[0]->heap_index = 0;
        sl_heap_down(p, 0);
    }
    top->heap_index = SIZE_MAX;
    return top;
}

static void *
sl_purgatory_main(void *arg)
{
    sl_purgatory_t *p = arg;
    struct timespec ts;
    sl_delayed_t *d;
    int64_t now, wait;

    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        now = sl_now_ms();
        if (p->nheap > 0 && (p->draining || p->heap[0]->deadline_ms <= now)) {
            d = sl_heap_pop(p);
            pthread_mutex_unlock(&p->lock);
            sl_delayed_run(d, true);
            sl_delayed_unref(d); /* the heap's reference */
            pthread_mutex_lock(&p->lock);
            continue;
        }
        wait = p->nheap > 0 ? p->heap[0]->deadline_ms - now : 1000;
        ts = sl_clock_deadline(CLOCK_MONOTONIC, wait);
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

sl_purgatory_t *
sl_purgatory_create(const char *name)
{
    sl_purgatory_t *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    char tname[16];

    if (p == NULL) {
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, sl_purgatory_main, p) != 0) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    snprintf(tname, sizeof(tname), "sl-%.12s", name);
    pthread_setname_np(p->thread, tname);
    return p;
}

void
sl_purgatory_expire_all(sl_purgatory_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->draining = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

void
sl_purgatory_destroy(sl_purgatory_t *p)
{
    sl_watch_t *w, *next;
    sl_delayed_t *d;
    size_t i;

    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    /* Answer whatever still waits, then drop every reference. */
    while (p->nheap > 0) {
        d = sl_heap_pop(p);
        sl_delayed_run(d, true);
        sl_delayed_unref(d);
    }
    for (i = 0; i < SL_PURG_BUCKETS; i++) {
        for (w = p->buckets[i]; w != NULL; w = next) {
            next = w->next;
            sl_delayed_unref(w->d);
            free(w);
        }
    }
    free(p->heap);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

sl_err_t
sl_purgatory_watch(sl_purgatory_t *p, sl_delayed_t *d, const uint64_t *keys,
                   int nkeys)
{
    sl_watch_t **ws;
    int i;

    ws = calloc((size_t)(nkeys > 0 ? nkeys : 1), sizeof(*ws));
    if (ws == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < nkeys; i++) {
        ws[i] = malloc(sizeof(sl_watch_t));
        if (ws[i] == NULL) {
            while (i-- > 0) {
                free(ws[i]);
            }
            free(ws);
            return SL_ERR__NOMEM;
        }
    }
    pthread_mutex_lock(&p->lock);
    if (p->nheap == p->capheap) {
        size_t cap = p->capheap ? p->capheap * 2 : 64;
        sl_delayed_t **h = realloc(p->heap, cap * sizeof(*h));
        if (h == NULL) {
            pthread_mutex_unlock(&p->lock);
            for (i = 0; i < nkeys; i++) {
                free(ws[i]);
            }
            free(ws);
            return SL_ERR__NOMEM;
        }
        p->heap = h;
        p->capheap = cap;
    }
    for (i = 0; i < nkeys; i++) {
        sl_watch_t *w = ws[i];
        size_t b = (size_t)(keys[i] % SL_PURG_BUCKETS);

        w->key = keys[i];
        w->d = d;
        sl_delayed_ref(d);
        w->next = p->buckets[b];
        p->buckets[b] = w;
    }
    sl_delayed_ref(d);
    d->heap_index = p->nheap;
    p->heap[p->nheap++] = d;
    sl_heap_up(p, d->heap_index);
    p->watched++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    free(ws);
    sl_delayed_run(d, false);
    return SL_OK;
}

int
sl_purgatory_check(sl_purgatory_t *p, uint64_t key)
{
    size_t b = (size_t)(key % SL_PURG_BUCKETS);
    sl_delayed_t *batch[64];
    sl_watch_t **pw, *w;
    int n = 0, i, done = 0;
    bool more = true;

    while (more) {
        more = false;
        n = 0;
        pthread_mutex_lock(&p->lock);
        for (pw = &p->buckets[b]; (w = *pw) != NULL;) {
            if (atomic_load(&w->d->completed)) {
                *pw = w->next;
                /* unref outside the lock: the free callback may be heavy */
                if (n < (int)(sizeof(batch) / sizeof(batch[0]))) {
                    batch[n++] = NULL;
                }
                sl_delayed_unref(w->d);
                free(w);
                continue;
            }
            if (w->key == key) {
                if (n == (int)(sizeof(batch) / sizeof(batch[0]))) {
                    more = true;
                    break;
                }
                sl_delayed_ref(w->d);
                batch[n++] = w->d;
            }
            pw = &w->next;
        }
        pthread_mutex_unlock(&p->lock);
        for (i = 0; i < n; i++) {
            if (batch[i] == NULL) {
                continue;
            }
            sl_delayed_run(batch[i], false);
            if (atomic_load(&batch[i]->completed)) {
                done++;
            }
            sl_delayed_unref(batch[i]);
        }
        if (more && done == 0) {
            break; /* nothing completes: do not loop over the same ops */
        }
    }
    return done;
}

int
sl_purgatory_size(sl_purgatory_t *p)
{
    size_t i;
    int n = 0;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->nheap; i++) {
        if (!atomic_load(&p->heap[i]->completed)) {
            n++;
        }
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

static uint64_t
sl_fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t
sl_purgatory_key_tp(const char *topic, int32_t len, int32_t partition)
{
    uint64_t h = 14695981039346656037ULL;

    h = sl_fnv1a(h, "tp", 2);
    h = sl_fnv1a(h, topic, len > 0 ? (size_t)len : 0);
    return sl_fnv1a(h, &partition, sizeof(partition));
}

uint64_t
sl_purgatory_key_str(const char *kind, const char *s, int32_t len)
{
    uint64_t h = 14695981039346656037ULL;

    h = sl_fnv1a(h, kind, strlen(kind));
    h = sl_fnv1a(h, "\0", 1);
    return sl_fnv1a(h, s, len > 0 ? (size_t)len : 0);
}
