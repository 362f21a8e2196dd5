/*
 * net/reactor.h: a small epoll reactor (in the spirit of redis's ae.c).
 *
 * A reactor runs on one thread. Descriptors are registered with an
 * sl_reactor_ev_t that the caller embeds in its own object (a connection,
 * a listener), so the reactor keeps no fd table. A periodic tick drives
 * time-based work (idle timeouts). sl_reactor_stop() and sl_reactor_wake()
 * may be called from any thread and from signal handlers (eventfd write).
 *
 * Owns: the epoll and eventfd descriptors. Thread: the running thread, except
 * sl_reactor_stop() and sl_reactor_wake().
 */
#ifndef SL_NET_REACTOR_H
#define SL_NET_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define SL_EV_READ 0x1u
#define SL_EV_WRITE 0x2u
#define SL_EV_ERROR 0x4u /* delivered only: hang-up or error on the fd */

typedef struct sl_reactor_s sl_reactor_t;
typedef struct sl_reactor_ev_s sl_reactor_ev_t;

typedef void (*sl_reactor_io_cb)(sl_reactor_t *r, sl_reactor_ev_t *ev,
                                 uint32_t events);
typedef void (*sl_reactor_tick_cb)(sl_reactor_t *r, void *arg);
typedef void (*sl_reactor_wake_cb)(sl_reactor_t *r, void *arg);

struct sl_reactor_ev_s {
    int fd;
    uint32_t events; /* registered interest */
    sl_reactor_io_cb cb;
    void *arg;
};

sl_reactor_t *sl_reactor_create(void);
void sl_reactor_destroy(sl_reactor_t *r);

/* Register ev->fd with <events>; ev must stay valid until sl_reactor_del(). */
sl_err_t sl_reactor_add(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events);
sl_err_t sl_reactor_mod(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events);
void sl_reactor_del(sl_reactor_t *r, sl_reactor_ev_t *ev);

/* Call <cb> every <ms> milliseconds (approximately) from the loop. */
void sl_reactor_set_tick(sl_reactor_t *r, int ms, sl_reactor_tick_cb cb,
                         void *arg);
/* Call <cb> on the loop thread whenever sl_reactor_wake() was called. */
void sl_reactor_set_wake(sl_reactor_t *r, sl_reactor_wake_cb cb, void *arg);

/* Call <cb> after each batch of events: objects closed during the batch
 * are freed there, never while later events of the batch may name them. */
void sl_reactor_set_after(sl_reactor_t *r, sl_reactor_tick_cb cb, void *arg);

/* Run until sl_reactor_stop(). @returns SL_OK or __IO if epoll failed. */
sl_err_t sl_reactor_run(sl_reactor_t *r);

/* @thread any, async-signal-safe */
void sl_reactor_stop(sl_reactor_t *r);
/* @thread any, async-signal-safe */
void sl_reactor_wake(sl_reactor_t *r);

/* Monotonic milliseconds. */
int64_t sl_now_ms(void);

#endif
