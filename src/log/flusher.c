/*
 * log/flusher.c: the group-commit thread (see flusher.h).
 *
 * Owns: the thread, a list of slots (one per tracked partition log, also
 * reachable from the log via sl_partlog_flusher_slot()) and each slot's
 * FIFO of waiters. Locking: f->lock guards slots and waiters; a partition
 * is flushed without it (slot->busy keeps sl_flusher_remove() waiting).
 * Lock order: f->lock before a partition log's lock (flush_due); callbacks
 * run with no lock held.
 */
#include "log/flusher.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/log.h"

typedef struct sl_flusher_waiter_s {
    struct sl_flusher_waiter_s *next;
    int64_t offset;
    sl_flusher_cb cb;
    void *arg;
    sl_err_t err;
    int64_t durable;
} sl_flusher_waiter_t;

typedef struct sl_flusher_slot_s {
    struct sl_flusher_slot_s *next;
    sl_partlog_t *pl;
    sl_flusher_waiter_t *head, **tail;
    bool kicked;
    bool busy;
    bool picked;
    struct sl_flusher_slot_s *work_next; /* this round's list, while busy */
    sl_err_t err;                        /* this round's flush result */
    int64_t durable;
} sl_flusher_slot_t;

struct sl_flusher_s {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* work arrived or stop */
    pthread_cond_t idle; /* a slot stopped being busy */
    pthread_t thread;
    sl_flusher_opts_t o;
    sl_flusher_slot_t *slots;
    bool stop;
    int64_t flushes;
};

void
sl_flusher_opts_init(sl_flusher_opts_t *o)
{
    o->mode = SL_FLUSH_ON_ACK_ALL;
    o->tick_ms = 100;
    o->linger_ms = 0;
    o->now_ms = NULL;
}

static int64_t
sl_flusher_now(sl_flusher_t *f)
{
    struct timespec ts;

    if (f->o.now_ms != NULL) {
        return f->o.now_ms();
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sl_flusher_timedwait(sl_flusher_t *f, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

/* Move the waiters of <s> that are done (offset < durable, or all with an
 * error) to the list *done, keeping order. @locks f->lock */
static void
sl_flusher_collect(sl_flusher_slot_t *s, sl_err_t err, int64_t durable,
                   sl_flusher_waiter_t ***done)
{
    sl_flusher_waiter_t **pp = &s->head, *w;

    while ((w = *pp) != NULL) {
        if (err != SL_OK || w->offset < durable) {
            *pp = w->next;
            w->next = NULL;
            w->err = err;
            w->durable = durable;
            **done = w;
            *done = &w->next;
        } else {
            pp = &w->next;
        }
    }
    s->tail = pp;
}

static void
sl_flusher_fire(sl_flusher_waiter_t *w)
{
    sl_flusher_waiter_t *next;

    for (; w != NULL; w = next) {
        next = w->next;
        w->cb(w->arg, w->err, w->durable);
        free(w);
    }
}

/* Whether slot <s> needs a flush now. @locks f->lock */
static bool
sl_flusher_needs(sl_flusher_slot_t *s, int64_t now)
{
    if (s->busy) {
        return false;
    }
    if (s->kicked) {
        return true;
    }
    /* a waiter for an offset not appended yet would spin: wait for it */
    if (s->head != NULL && s->head->offset < sl_partlog_end_offset(s->pl)) {
        return true;
    }
    return sl_partlog_flush_due(s->pl, now);
}

static void *
sl_flusher_main(void *arg)
{
    sl_flusher_t *f = arg;
    sl_flusher_slot_t *s, *work;
    sl_flusher_waiter_t *done, **dtail;
    int64_t now;
    bool any, lingered = false;

    pthread_mutex_lock(&f->lock);
    while (!f->stop) {
        now = sl_flusher_now(f);
        any = false;
        for (s = f->slots; s != NULL; s = s->next) {
            s->picked = sl_flusher_needs(s, now);
            any = any || s->picked;
        }
        if (!any) {
            lingered = false;
            sl_flusher_timedwait(f, f->o.tick_ms);
            continue;
        }
        if (f->o.linger_ms > 0 && !lingered) {
            /* gather more waiters: sleep the whole linger (wake-ups from
             * new waiters do not cut it short) */
            int64_t until = sl_flusher_now(f) + f->o.linger_ms;

            lingered = true;
            while (!f->stop && (now = sl_flusher_now(f)) < until) {
                sl_flusher_timedwait(f, until - now);
            }
            continue;
        }
        /* one round over every picked slot, so a busy partition cannot
         * starve the others; busy keeps sl_flusher_remove() away */
        work = NULL;
        for (s = f->slots; s != NULL; s = s->next) {
            if (s->picked) {
                s->picked = false;
                s->busy = true;
                s->kicked = false;
                s->work_next = work;
                work = s;
            }
        }
        pthread_mutex_unlock(&f->lock);
        for (s = work; s != NULL; s = s->work_next) {
            s->err = sl_partlog_flush(s->pl, now, &s->durable);
        }
        pthread_mutex_lock(&f->lock);
        done = NULL;
        dtail = &done;
        for (s = work; s != NULL; s = s->work_next) {
            f->flushes++;
            sl_flusher_collect(s, s->err, s->durable, &dtail);
            s->busy = false;
        }
        pthread_cond_broadcast(&f->idle);
        if (done != NULL) {
            pthread_mutex_unlock(&f->lock);
            sl_flusher_fire(done);
            pthread_mutex_lock(&f->lock);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

sl_err_t
sl_flusher_create(const sl_flusher_opts_t *o, sl_flusher_t **out)
{
    sl_flusher_t *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return SL_ERR__NOMEM;
    }
    if (o != NULL) {
        f->o = *o;
    } else {
        sl_flusher_opts_init(&f->o);
    }
    if (f->o.tick_ms <= 0) {
        f->o.tick_ms = 100;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    pthread_cond_init(&f->idle, NULL);
    if (pthread_create(&f->thread, NULL, sl_flusher_main, f) != 0) {
        pthread_cond_destroy(&f->cond);
        pthread_cond_destroy(&f->idle);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return SL_ERR__IO;
    }
    *out = f;
    return SL_OK;
}

void
sl_flusher_destroy(sl_flusher_t *f)
{
    sl_flusher_slot_t *s, *next;
    sl_flusher_waiter_t *done, **dtail;
    int64_t durable;
    sl_err_t err;

    if (f == NULL) {
        return;
    }
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    for (s = f->slots; s != NULL; s = next) {
        next = s->next;
        if (s->head != NULL) {
            err = sl_partlog_flush(s->pl, sl_flusher_now(f), &durable);
            done = NULL;
            dtail = &done;
            sl_flusher_collect(s, err, durable, &dtail);
            if (s->head != NULL) {
                sl_flusher_collect(s, SL_ERR__CLOSED, durable, &dtail);
            }
            sl_flusher_fire(done);
        }
        sl_partlog_set_flusher_slot(s->pl, NULL);
        free(s);
    }
    pthread_cond_destroy(&f->cond);
    pthread_cond_destroy(&f->idle);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

sl_err_t
sl_flusher_add(sl_flusher_t *f, sl_partlog_t *pl)
{
    sl_flusher_slot_t *s;

    pthread_mutex_lock(&f->lock);
    if (sl_partlog_flusher_slot(pl) != NULL) {
        pthread_mutex_unlock(&f->lock);
        return SL_OK;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL) {
        pthread_mutex_unlock(&f->lock);
        return SL_ERR__NOMEM;
    }
    s->pl = pl;
    s->tail = &s->head;
    s->next = f->slots;
    f->slots = s;
    sl_partlog_set_flusher_slot(pl, s);
    pthread_mutex_unlock(&f->lock);
    return SL_OK;
}

void
sl_flusher_remove(sl_flusher_t *f, sl_partlog_t *pl)
{
    sl_flusher_slot_t *s, **pp;
    sl_flusher_waiter_t *done = NULL, **dtail = &done;

    pthread_mutex_lock(&f->lock);
    s = sl_partlog_flusher_slot(pl);
    if (s == NULL) {
        pthread_mutex_unlock(&f->lock);
        return;
    }
    while (s->busy) {
        pthread_cond_wait(&f->idle, &f->lock);
    }
    for (pp = &f->slots; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    sl_flusher_collect(s, SL_ERR__CLOSED, sl_partlog_recovery_point(pl),
                       &dtail);
    sl_partlog_set_flusher_slot(pl, NULL);
    pthread_mutex_unlock(&f->lock);
    free(s);
    sl_flusher_fire(done);
}

sl_err_t
sl_flusher_wait(sl_flusher_t *f, sl_partlog_t *pl, int64_t offset,
                sl_flusher_cb cb, void *arg)
{
    sl_flusher_slot_t *s;
    sl_flusher_waiter_t *w;

    if (f->o.mode == SL_FLUSH_POLICY_ONLY) {
        /* Kafka's rule: acknowledged once in the log (page cache) */
        sl_flusher_kick(f, pl);
        cb(arg, SL_OK, offset + 1);
        return SL_OK;
    }
    if ((w = calloc(1, sizeof(*w))) == NULL) {
        return SL_ERR__NOMEM;
    }
    w->offset = offset;
    w->cb = cb;
    w->arg = arg;
    pthread_mutex_lock(&f->lock);
    s = sl_partlog_flusher_slot(pl);
    if (s == NULL) {
        pthread_mutex_unlock(&f->lock);
        free(w);
        return SL_ERR__NOENT;
    }
    *s->tail = w;
    s->tail = &w->next;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return SL_OK;
}

void
sl_flusher_kick(sl_flusher_t *f, sl_partlog_t *pl)
{
    sl_flusher_slot_t *s;

    pthread_mutex_lock(&f->lock);
    s = sl_partlog_flusher_slot(pl);
    if (s != NULL && sl_partlog_flush_due(pl, sl_flusher_now(f))) {
        s->kicked = true;
        pthread_cond_signal(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
}

int64_t
sl_flusher_flushes(sl_flusher_t *f)
{
    int64_t n;

    pthread_mutex_lock(&f->lock);
    n = f->flushes;
    pthread_mutex_unlock(&f->lock);
    return n;
}
