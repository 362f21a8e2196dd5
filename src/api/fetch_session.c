/*
 * api/fetch_session.c: the session cache (an array of slots under one lock)
 * and per-session partition lists (arrays, linear search: sessions hold tens
 * to a few hundred partitions; a hash index is the next step if profiles
 * say so).
 */
#include "api/fetch_session.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct sl_fsess_s {
    int32_t id;
    int32_t epoch; /* expected in the next request */
    bool in_use;
    int64_t last_used_ms;
    sl_fsess_part_t *parts;
    int nparts, capparts;
};

struct sl_fsess_cache_s {
    pthread_mutex_t lock;
    sl_fsess_t **slots;
    int nslots;
    int count;
    int64_t eviction_ms;
    uint64_t rng;
};

sl_fsess_cache_t *
sl_fsess_cache_create(int slots, int64_t eviction_ms)
{
    sl_fsess_cache_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    if (slots < 0) {
        slots = 0;
    }
    c->slots = calloc((size_t)(slots > 0 ? slots : 1), sizeof(*c->slots));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    c->nslots = slots;
    c->eviction_ms = eviction_ms;
    c->rng = (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ULL;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void
sl_fsess_free(sl_fsess_t *s)
{
    int i;

    for (i = 0; i < s->nparts; i++) {
        free(s->parts[i].topic);
    }
    free(s->parts);
    free(s);
}

void
sl_fsess_cache_destroy(sl_fsess_cache_t *c)
{
    int i;

    if (c == NULL) {
        return;
    }
    for (i = 0; i < c->nslots; i++) {
        if (c->slots[i] != NULL) {
            sl_fsess_free(c->slots[i]);
        }
    }
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* c->lock held */
static int
sl_fsess_find(sl_fsess_cache_t *c, int32_t id)
{
    int i;

    for (i = 0; i < c->nslots; i++) {
        if (c->slots[i] != NULL && c->slots[i]->id == id) {
            return i;
        }
    }
    return -1;
}

sl_err_t
sl_fsess_begin(sl_fsess_cache_t *c, int32_t session_id, int32_t epoch,
               int64_t now_ms, sl_fsess_kind_e *kind, sl_fsess_t **s)
{
    sl_err_t err = SL_OK;
    int i;

    *s = NULL;
    if (session_id == 0) {
        if (epoch == -1) {
            *kind = SL_FSESS_SESSIONLESS;
            return SL_OK;
        }
        if (epoch == 0) {
            *kind = SL_FSESS_NEW;
            return SL_OK;
        }
        return SL_ERR_INVALID_FETCH_SESSION_EPOCH;
    }
    pthread_mutex_lock(&c->lock);
    i = sl_fsess_find(c, session_id);
    if (epoch == -1) {
        /* Close the session; this request is a full, sessionless fetch. */
        if (i >= 0 && !c->slots[i]->in_use) {
            sl_fsess_free(c->slots[i]);
            c->slots[i] = NULL;
            c->count--;
        }
        *kind = SL_FSESS_SESSIONLESS;
    } else if (i < 0) {
        err = SL_ERR_FETCH_SESSION_ID_NOT_FOUND;
    } else if (c->slots[i]->in_use || c->slots[i]->epoch != epoch) {
        err = SL_ERR_INVALID_FETCH_SESSION_EPOCH;
    } else {
        c->slots[i]->in_use = true;
        c->slots[i]->last_used_ms = now_ms;
        *s = c->slots[i];
        *kind = SL_FSESS_INCREMENTAL;
    }
    pthread_mutex_unlock(&c->lock);
    return err;
}

sl_fsess_t *
sl_fsess_create(sl_fsess_cache_t *c, int64_t now_ms)
{
    sl_fsess_t *s;
    int i, free_slot = -1, lru = -1;
    int32_t id;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->nslots; i++) {
        if (c->slots[i] == NULL) {
            free_slot = i;
            break;
        }
        if (!c->slots[i]->in_use &&
            now_ms - c->slots[i]->last_used_ms >= c->eviction_ms &&
            (lru < 0 ||
             c->slots[i]->last_used_ms < c->slots[lru]->last_used_ms)) {
            lru = i;
        }
    }
    if (free_slot < 0 && lru >= 0) {
        sl_log_debug("fetch", "evicting fetch session id=%d",
                     c->slots[lru]->id);
        sl_fsess_free(c->slots[lru]);
        c->slots[lru] = NULL;
        c->count--;
        free_slot = lru;
    }
    if (free_slot < 0 || (s = calloc(1, sizeof(*s))) == NULL) {
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    do { /* random positive id, unique in the cache */
        c->rng ^= c->rng << 13;
        c->rng ^= c->rng >> 7;
        c->rng ^= c->rng << 17;
        id = (int32_t)(c->rng & 0x7fffffff);
    } while (id == 0 || sl_fsess_find(c, id) >= 0);
    s->id = id;
    s->epoch = 0; /* sl_fsess_end() makes it 1 for the next request */
    s->in_use = true;
    s->last_used_ms = now_ms;
    c->slots[free_slot] = s;
    c->count++;
    pthread_mutex_unlock(&c->lock);
    return s;
}

static bool
sl_fsess_match(const sl_fsess_part_t *p, const char *topic, int32_t topic_len,
               const sl_uuid_t *topic_id, int32_t partition)
{
    if (p->partition != partition) {
        return false;
    }
    if (topic != NULL) {
        return (int32_t)strlen(p->topic) == topic_len &&
               memcmp(p->topic, topic, (size_t)topic_len) == 0;
    }
    return topic_id != NULL && sl_uuid_eq(&p->topic_id, topic_id);
}

sl_fsess_part_t *
sl_fsess_upsert(sl_fsess_t *s, const char *topic, int32_t topic_len,
                const sl_uuid_t *topic_id, int32_t partition)
{
    sl_fsess_part_t *p;
    int i;

    for (i = 0; i < s->nparts; i++) {
        if (sl_fsess_match(&s->parts[i], topic, topic_len, topic_id,
                           partition)) {
            return &s->parts[i];
        }
    }
    if (s->nparts == s->capparts) {
        int cap = s->capparts ? s->capparts * 2 : 8;
        p = realloc(s->parts, (size_t)cap * sizeof(*p));
        if (p == NULL) {
            return NULL;
        }
        s->parts = p;
        s->capparts = cap;
    }
    p = &s->parts[s->nparts];
    memset(p, 0, sizeof(*p));
    p->topic = malloc(topic != NULL ? (size_t)topic_len + 1 : 1);
    if (p->topic == NULL) {
        return NULL;
    }
    if (topic != NULL && topic_len > 0) {
        memcpy(p->topic, topic, (size_t)topic_len);
    }
    p->topic[topic != NULL ? topic_len : 0] = '\0';
    if (topic_id != NULL) {
        p->topic_id = *topic_id;
    }
    p->partition = partition;
    p->current_leader_epoch = -1;
    p->last_fetched_epoch = -1;
    p->log_start_offset = -1;
    s->nparts++;
    return p;
}

void
sl_fsess_forget(sl_fsess_t *s, const char *topic, int32_t topic_len,
                const sl_uuid_t *topic_id, int32_t partition)
{
    int i;

    for (i = 0; i < s->nparts; i++) {
        if (sl_fsess_match(&s->parts[i], topic, topic_len, topic_id,
                           partition)) {
            free(s->parts[i].topic);
            memmove(&s->parts[i], &s->parts[i + 1],
                    (size_t)(s->nparts - i - 1) * sizeof(s->parts[0]));
            s->nparts--;
            return;
        }
    }
}

sl_fsess_part_t *
sl_fsess_parts(sl_fsess_t *s, int *n)
{
    *n = s->nparts;
    return s->parts;
}

bool
sl_fsess_note(sl_fsess_part_t *p, bool in_request, bool has_records, int64_t hw,
              int64_t lso, int64_t log_start, int16_t error)
{
    bool include = in_request || has_records || !p->sent || p->hw_sent != hw ||
                   p->lso_sent != lso || p->log_start_sent != log_start ||
                   p->error_sent != error || error != 0;

    p->sent = true;
    p->hw_sent = hw;
    p->lso_sent = lso;
    p->log_start_sent = log_start;
    p->error_sent = error;
    return include;
}

int32_t
sl_fsess_id(const sl_fsess_t *s)
{
    return s->id;
}

int32_t
sl_fsess_next_epoch(const sl_fsess_t *s)
{
    return s->epoch;
}

void
sl_fsess_end(sl_fsess_cache_t *c, sl_fsess_t *s, int64_t now_ms)
{
    pthread_mutex_lock(&c->lock);
    s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
    s->in_use = false;
    s->last_used_ms = now_ms;
    pthread_mutex_unlock(&c->lock);
}

int
sl_fsess_count(sl_fsess_cache_t *c)
{
    int n;

    pthread_mutex_lock(&c->lock);
    n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
