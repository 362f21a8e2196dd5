/*
 * net/out.c: response chunks and the writev/sendfile writer.
 */
#include "net/out.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define SL_OUT_CHUNK_MIN 4096
#define SL_OUT_IOV_MAX 64

void
sl_out_init(sl_out_t *o)
{
    memset(o, 0, sizeof(*o));
}

static void
sl_out_chunk_free(sl_out_chunk_t *c)
{
    if (c->release != NULL) {
        c->release(c->release_arg);
    }
    free(c);
}

void
sl_out_free(sl_out_t *o)
{
    sl_out_chunk_t *c, *next;

    for (c = o->head; c != NULL; c = next) {
        next = c->next;
        sl_out_chunk_free(c);
    }
    sl_out_init(o);
}

static void
sl_out_link(sl_out_t *o, sl_out_chunk_t *c)
{
    c->next = NULL;
    if (o->tail != NULL) {
        o->tail->next = c;
    } else {
        o->head = c;
    }
    o->tail = c;
}

uint8_t *
sl_out_reserve(sl_out_t *o, size_t n)
{
    sl_out_chunk_t *c = o->tail;
    uint8_t *p;
    size_t cap;

    if (c != NULL && c->fd < 0 && c->cap - c->len >= n) {
        p = c->data + c->len;
        c->len += n;
        o->total += n;
        return p;
    }
    cap = n < SL_OUT_CHUNK_MIN ? SL_OUT_CHUNK_MIN : n;
    c = malloc(sizeof(*c) + cap);
    if (c == NULL) {
        return NULL;
    }
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->cap = cap;
    c->len = n;
    sl_out_link(o, c);
    o->total += n;
    return c->data;
}

sl_err_t
sl_out_append(sl_out_t *o, const void *p, size_t n)
{
    uint8_t *dst = sl_out_reserve(o, n);

    if (dst == NULL) {
        return SL_ERR__NOMEM;
    }
    if (n > 0) {
        memcpy(dst, p, n);
    }
    return SL_OK;
}

sl_err_t
sl_out_append_file(sl_out_t *o, int fd, int64_t off, size_t len,
                   sl_out_release_cb release, void *arg)
{
    sl_out_chunk_t *c = malloc(sizeof(*c));

    if (c == NULL) {
        if (release != NULL) {
            release(arg);
        }
        return SL_ERR__NOMEM;
    }
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->file_off = off;
    c->len = len;
    c->release = release;
    c->release_arg = arg;
    sl_out_link(o, c);
    o->total += len;
    return SL_OK;
}

void
sl_out_move(sl_out_t *dst, sl_out_t *src)
{
    if (src->head == NULL) {
        return;
    }
    if (dst->tail != NULL) {
        dst->tail->next = src->head;
    } else {
        dst->head = src->head;
    }
    dst->tail = src->tail;
    dst->total += src->total;
    sl_out_init(src);
}

/* Drop fully sent chunks from the front. */
static void
sl_out_consume(sl_out_t *o, size_t n)
{
    sl_out_chunk_t *c;
    size_t left;

    o->total -= n;
    while (n > 0 && (c = o->head) != NULL) {
        left = c->len - c->off;
        if (n < left) {
            c->off += n;
            if (c->fd >= 0) {
                c->file_off += (int64_t)n;
            }
            return;
        }
        n -= left;
        o->head = c->next;
        if (o->head == NULL) {
            o->tail = NULL;
        }
        sl_out_chunk_free(c);
    }
    /* Zero-length chunks left at the front. */
    while ((c = o->head) != NULL && c->off == c->len) {
        o->head = c->next;
        if (o->head == NULL) {
            o->tail = NULL;
        }
        sl_out_chunk_free(c);
    }
}

sl_err_t
sl_out_send(sl_out_t *o, int sock)
{
    struct iovec iov[SL_OUT_IOV_MAX];
    sl_out_chunk_t *c;
    ssize_t n;
    off_t off;
    int k;

    while (o->head != NULL) {
        c = o->head;
        if (c->off == c->len) {
            sl_out_consume(o, 0);
            continue;
        }
        if (c->fd >= 0) {
            off = (off_t)c->file_off;
            n = sendfile(sock, c->fd, &off, c->len - c->off);
            if (n == 0) {
                return SL_ERR__IO; /* file shorter than promised */
            }
        } else {
            for (k = 0; c != NULL && c->fd < 0 && k < SL_OUT_IOV_MAX;
                 c = c->next) {
                if (c->len > c->off) {
                    iov[k].iov_base = c->data + c->off;
                    iov[k].iov_len = c->len - c->off;
                    k++;
                }
            }
            struct msghdr mh;
            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)k;
            n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return SL_ERR__AGAIN;
            }
            return SL_ERR__IO;
        }
        sl_out_consume(o, (size_t)n);
    }
    return SL_OK;
}

#define SL_OUT_FILE_BUF 16384 /* one TLS record */

sl_err_t
sl_out_send_with(sl_out_t *o, sl_out_write_cb wr, void *arg)
{
    uint8_t buf[SL_OUT_FILE_BUF];
    sl_out_chunk_t *c;
    size_t want;
    ssize_t got;
    long n;

    while (o->head != NULL) {
        c = o->head;
        if (c->off == c->len) {
            sl_out_consume(o, 0);
            continue;
        }
        if (c->fd >= 0) {
            want = c->len - c->off;
            if (want > sizeof(buf)) {
                want = sizeof(buf);
            }
            got = pread(c->fd, buf, want, (off_t)c->file_off);
            if (got < 0 && errno == EINTR) {
                continue;
            }
            if (got <= 0) {
                return SL_ERR__IO; /* file shorter than promised */
            }
            n = wr(arg, buf, (size_t)got);
        } else {
            n = wr(arg, c->data + c->off, c->len - c->off);
        }
        if (n < 0) {
            return (sl_err_t)n;
        }
        if (n == 0) {
            return SL_ERR__IO;
        }
        sl_out_consume(o, (size_t)n);
    }
    return SL_OK;
}
