/*
 * net/workpool.c: a mutex and condition variable over an intrusive FIFO.
 * Locking: wp->lock guards head, tail and stopping.
 */
#include "net/workpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

struct sl_workpool_s {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sl_task_t *head, *tail;
    bool stopping;
    int nthreads;
    pthread_t *threads;
};

static void *
sl_workpool_main(void *arg)
{
    sl_workpool_t *wp = arg;
    sl_task_t *t;

    pthread_mutex_lock(&wp->lock);
    for (;;) {
        while (wp->head == NULL && !wp->stopping) {
            pthread_cond_wait(&wp->cond, &wp->lock);
        }
        if (wp->head == NULL) {
            break; /* stopping and drained */
        }
        t = wp->head;
        wp->head = t->next;
        if (wp->head == NULL) {
            wp->tail = NULL;
        }
        pthread_mutex_unlock(&wp->lock);
        t->next = NULL;
        t->fn(t);
        pthread_mutex_lock(&wp->lock);
    }
    pthread_mutex_unlock(&wp->lock);
    return NULL;
}

sl_workpool_t *
sl_workpool_create(int nthreads, const char *name)
{
    sl_workpool_t *wp;
    char tname[16];
    int i;

    if (nthreads < 1) {
        nthreads = 1;
    }
    wp = calloc(1, sizeof(*wp));
    if (wp == NULL) {
        return NULL;
    }
    wp->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    if (wp->threads == NULL) {
        free(wp);
        return NULL;
    }
    pthread_mutex_init(&wp->lock, NULL);
    pthread_cond_init(&wp->cond, NULL);
    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&wp->threads[i], NULL, sl_workpool_main, wp) != 0) {
            sl_log_error("net", "cannot start worker thread %d", i);
            break;
        }
        snprintf(tname, sizeof(tname), "%.8s-%d", name, i & 0xfff);
        pthread_setname_np(wp->threads[i], tname);
        wp->nthreads++;
    }
    if (wp->nthreads == 0) {
        sl_workpool_destroy(wp);
        return NULL;
    }
    return wp;
}

void
sl_workpool_destroy(sl_workpool_t *wp)
{
    int i;

    if (wp == NULL) {
        return;
    }
    pthread_mutex_lock(&wp->lock);
    wp->stopping = true;
    pthread_cond_broadcast(&wp->cond);
    pthread_mutex_unlock(&wp->lock);
    for (i = 0; i < wp->nthreads; i++) {
        pthread_join(wp->threads[i], NULL);
    }
    pthread_cond_destroy(&wp->cond);
    pthread_mutex_destroy(&wp->lock);
    free(wp->threads);
    free(wp);
}

void
sl_workpool_post(sl_workpool_t *wp, sl_task_t *t)
{
    t->next = NULL;
    pthread_mutex_lock(&wp->lock);
    if (wp->tail != NULL) {
        wp->tail->next = t;
    } else {
        wp->head = t;
    }
    wp->tail = t;
    pthread_cond_signal(&wp->cond);
    pthread_mutex_unlock(&wp->lock);
}
