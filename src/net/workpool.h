/*
 * net/workpool.h: the worker pool (num.io.threads) that runs request
 * handlers off the network threads.
 *
 * Tasks are posted from any thread to one shared FIFO queue; an idle worker
 * takes the oldest. A task is an intrusive node the poster owns until its
 * function runs; the function may free or repost it.
 *
 * Owns: its threads. Thread-safe: sl_workpool_post() from any thread.
 */
#ifndef SL_NET_WORKPOOL_H
#define SL_NET_WORKPOOL_H

#include "core/err.h"

typedef struct sl_workpool_s sl_workpool_t;
typedef struct sl_task_s sl_task_t;

typedef void (*sl_task_fn)(sl_task_t *t);

struct sl_task_s {
    sl_task_t *next;
    sl_task_fn fn;
};

/* Start <nthreads> workers named "<name>-N". @returns NULL on failure. */
sl_workpool_t *sl_workpool_create(int nthreads, const char *name);

/* Run every task already posted, then stop and join the workers, free. */
void sl_workpool_destroy(sl_workpool_t *wp);

/* @thread any */
void sl_workpool_post(sl_workpool_t *wp, sl_task_t *t);

#endif
