/*
 * core/buf.h: a growable byte buffer (malloc-backed) for connection input and
 * output. Owns its bytes. Not thread-safe.
 */
#ifndef SL_CORE_BUF_H
#define SL_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_buf_s {
    uint8_t *data;
    size_t len; /* bytes held */
    size_t cap; /* bytes allocated */
    size_t off; /* bytes already consumed from the front */
} sl_buf_t;

void sl_buf_init(sl_buf_t *b);
void sl_buf_free(sl_buf_t *b);
/* Make room for at least <n> more bytes after len. @returns SL_OK or __NOMEM.
 */
sl_err_t sl_buf_reserve(sl_buf_t *b, size_t n);
sl_err_t sl_buf_append(sl_buf_t *b, const void *p, size_t n);
/* Drop <n> bytes from the front; compacts when everything was consumed. */
void sl_buf_consume(sl_buf_t *b, size_t n);
/* Bytes not yet consumed. */
static inline size_t
sl_buf_avail(const sl_buf_t *b)
{
    return b->len - b->off;
}
static inline uint8_t *
sl_buf_head(const sl_buf_t *b)
{
    return b->data + b->off;
}

#endif
