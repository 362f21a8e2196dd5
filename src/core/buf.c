/*
 * core/buf.c: growable byte buffer.
 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

void
sl_buf_init(sl_buf_t *b)
{
    memset(b, 0, sizeof(*b));
}

void
sl_buf_free(sl_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

sl_err_t
sl_buf_reserve(sl_buf_t *b, size_t n)
{
    size_t need, cap;
    uint8_t *p;

    if (b->off > 0 && b->cap - b->len < n) {
        /* Slide unconsumed bytes to the front before growing. */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len >= n) {
        return SL_OK;
    }
    if (n > SIZE_MAX / 2 - b->len) {
        return SL_ERR__NOMEM;
    }
    need = b->len + n;
    cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return SL_ERR__NOMEM;
    }
    b->data = p;
    b->cap = cap;
    return SL_OK;
}

sl_err_t
sl_buf_append(sl_buf_t *b, const void *p, size_t n)
{
    sl_err_t err = sl_buf_reserve(b, n);

    if (err != SL_OK) {
        return err;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return SL_OK;
}

void
sl_buf_consume(sl_buf_t *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) {
        b->off = 0;
        b->len = 0;
    }
}
