/*
 * net/reactor.c: epoll loop, eventfd wake-ups, a periodic tick.
 */
#include "net/reactor.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

#define SL_REACTOR_MAX_EVENTS 128

struct sl_reactor_s {
    int epfd;
    sl_reactor_ev_t wake_ev;
    atomic_bool stopping;
    int tick_ms;
    int64_t next_tick;
    sl_reactor_tick_cb tick_cb;
    void *tick_arg;
    sl_reactor_wake_cb wake_cb;
    void *wake_arg;
    sl_reactor_tick_cb after_cb;
    void *after_arg;
};

int64_t
sl_now_ms(void)
{
    return sl_clock_mono_ms();
}

static uint32_t
sl_reactor_to_epoll(uint32_t events)
{
    uint32_t e = 0;

    if (events & SL_EV_READ) {
        e |= EPOLLIN;
    }
    if (events & SL_EV_WRITE) {
        e |= EPOLLOUT;
    }
    return e;
}

static void
sl_reactor_on_wake(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    uint64_t n;

    (void)events;
    while (read(ev->fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
    }
    if (r->wake_cb != NULL) {
        r->wake_cb(r, r->wake_arg);
    }
}

sl_reactor_t *
sl_reactor_create(void)
{
    sl_reactor_t *r;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    r->wake_ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->epfd < 0 || r->wake_ev.fd < 0) {
        goto fail;
    }
    r->wake_ev.cb = sl_reactor_on_wake;
    r->wake_ev.arg = r;
    if (sl_reactor_add(r, &r->wake_ev, SL_EV_READ) != SL_OK) {
        goto fail;
    }
    atomic_init(&r->stopping, false);
    return r;

fail:
    if (r->epfd >= 0) {
        close(r->epfd);
    }
    if (r->wake_ev.fd >= 0) {
        close(r->wake_ev.fd);
    }
    free(r);
    return NULL;
}

void
sl_reactor_destroy(sl_reactor_t *r)
{
    if (r == NULL) {
        return;
    }
    close(r->wake_ev.fd);
    close(r->epfd);
    free(r);
}

sl_err_t
sl_reactor_add(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    struct epoll_event e;

    memset(&e, 0, sizeof(e));
    e.events = sl_reactor_to_epoll(events);
    e.data.ptr = ev;
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, ev->fd, &e) != 0) {
        sl_log_error("net", "epoll add failed fd=%d errno=%d", ev->fd, errno);
        return SL_ERR__IO;
    }
    ev->events = events;
    return SL_OK;
}

sl_err_t
sl_reactor_mod(sl_reactor_t *r, sl_reactor_ev_t *ev, uint32_t events)
{
    struct epoll_event e;

    if (ev->events == events) {
        return SL_OK;
    }
    memset(&e, 0, sizeof(e));
    e.events = sl_reactor_to_epoll(events);
    e.data.ptr = ev;
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, ev->fd, &e) != 0) {
        return SL_ERR__IO;
    }
    ev->events = events;
    return SL_OK;
}

void
sl_reactor_del(sl_reactor_t *r, sl_reactor_ev_t *ev)
{
    (void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
    ev->events = 0;
}

void
sl_reactor_set_tick(sl_reactor_t *r, int ms, sl_reactor_tick_cb cb, void *arg)
{
    r->tick_ms = ms;
    r->tick_cb = cb;
    r->tick_arg = arg;
    r->next_tick = sl_now_ms() + ms;
}

void
sl_reactor_set_after(sl_reactor_t *r, sl_reactor_tick_cb cb, void *arg)
{
    r->after_cb = cb;
    r->after_arg = arg;
}

void
sl_reactor_set_wake(sl_reactor_t *r, sl_reactor_wake_cb cb, void *arg)
{
    r->wake_cb = cb;
    r->wake_arg = arg;
}

sl_err_t
sl_reactor_run(sl_reactor_t *r)
{
    struct epoll_event evs[SL_REACTOR_MAX_EVENTS];
    int n, i, timeout;
    int64_t now;

    while (!atomic_load(&r->stopping)) {
        timeout = -1;
        if (r->tick_cb != NULL) {
            now = sl_now_ms();
            timeout = r->next_tick > now ? (int)(r->next_tick - now) : 0;
        }
        n = epoll_wait(r->epfd, evs, SL_REACTOR_MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            sl_log_error("net", "epoll_wait failed errno=%d", errno);
            return SL_ERR__IO;
        }
        for (i = 0; i < n; i++) {
            sl_reactor_ev_t *ev = evs[i].data.ptr;
            uint32_t e = 0;

            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                e |= SL_EV_READ;
            }
            if (evs[i].events & EPOLLOUT) {
                e |= SL_EV_WRITE;
            }
            if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
                e |= SL_EV_ERROR;
            }
            ev->cb(r, ev, e);
        }
        if (r->after_cb != NULL) {
            r->after_cb(r, r->after_arg);
        }
        if (r->tick_cb != NULL && sl_now_ms() >= r->next_tick) {
            r->next_tick = sl_now_ms() + r->tick_ms;
            r->tick_cb(r, r->tick_arg);
        }
    }
    return SL_OK;
}

void
sl_reactor_stop(sl_reactor_t *r)
{
    atomic_store(&r->stopping, true);
    sl_reactor_wake(r);
}

void
sl_reactor_wake(sl_reactor_t *r)
{
    uint64_t one = 1;

    (void)!write(r->wake_ev.fd, &one, sizeof(one));
}
