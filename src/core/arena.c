/*
 * core/arena.c: chunked bump allocator with a hard cap.
 *
 * Chunks form a singly linked list; the head is the chunk being filled.
 * Requests larger than a quarter of the chunk size get a chunk of their own,
 * linked behind the head so that the head's free space is not wasted.
 * Under ASan, the unused tail of each chunk is poisoned.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SL_ARENA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SL_ARENA_ASAN 1
#endif

#ifdef SL_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define SL_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SL_POISON(p, n) ((void)(p), (void)(n))
#define SL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SL_ARENA_ALIGN 16

typedef struct sl_arena_chunk_s {
    struct sl_arena_chunk_s *next;
    size_t size; /* usable bytes in data[] */
    size_t used;
    _Alignas(SL_ARENA_ALIGN) unsigned char data[];
} sl_arena_chunk_t;

struct sl_arena_s {
    sl_arena_chunk_t *head;
    size_t chunk;
    size_t cap;
    size_t used;
};

static sl_arena_chunk_t *
sl_arena_chunk_new(size_t size)
{
    sl_arena_chunk_t *c;

    c = malloc(sizeof(*c) + size);
    if (c == NULL) {
        return NULL;
    }
    c->next = NULL;
    c->size = size;
    c->used = 0;
    SL_POISON(c->data, size);
    return c;
}

sl_arena_t *
sl_arena_create(size_t chunk, size_t cap)
{
    sl_arena_t *a;

    if (chunk < 256) {
        chunk = 256;
    }
    a = malloc(sizeof(*a));
    if (a == NULL) {
        return NULL;
    }
    a->chunk = chunk;
    a->cap = cap;
    a->used = 0;
    a->head = sl_arena_chunk_new(chunk);
    if (a->head == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void
sl_arena_destroy(sl_arena_t *a)
{
    sl_arena_chunk_t *c, *next;

    if (a == NULL) {
        return;
    }
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        SL_UNPOISON(c->data, c->size);
        free(c);
    }
    free(a);
}

void
sl_arena_reset(sl_arena_t *a)
{
    sl_arena_chunk_t *c, *next, *keep = NULL;

    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        if (keep == NULL && c->size == a->chunk) {
            keep = c;
            continue;
        }
        SL_UNPOISON(c->data, c->size);
        free(c);
    }
    if (keep == NULL) {
        keep = sl_arena_chunk_new(a->chunk);
    } else {
        SL_POISON(keep->data, keep->size);
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep; /* NULL only if malloc failed; alloc copes */
    a->used = 0;
}

void *
sl_arena_alloc(sl_arena_t *a, size_t n)
{
    sl_arena_chunk_t *c;
    size_t need, off;
    void *p;

    if (n == 0) {
        n = 1;
    }
    if (n > SIZE_MAX / 2) {
        return NULL;
    }
    need = (n + SL_ARENA_ALIGN - 1) & ~(size_t)(SL_ARENA_ALIGN - 1);
    if (a->cap != 0 && (need > a->cap || a->used > a->cap - need)) {
        return NULL;
    }
    c = a->head;
    if (c != NULL && c->size - c->used >= need) {
        off = c->used;
        c->used += need;
        a->used += need;
        p = c->data + off;
        SL_UNPOISON(p, n);
        return p;
    }
    if (need > a->chunk / 4 || c == NULL) {
        /* A chunk of its own; keep filling the current head. */
        sl_arena_chunk_t *big =
            sl_arena_chunk_new(need > a->chunk ? need : a->chunk);
        if (big == NULL) {
            return NULL;
        }
        if (c == NULL) {
            a->head = big;
        } else {
            big->next = c->next;
            c->next = big;
        }
        big->used = need;
        a->used += need;
        SL_UNPOISON(big->data, n);
        return big->data;
    }
    c = sl_arena_chunk_new(a->chunk);
    if (c == NULL) {
        return NULL;
    }
    c->next = a->head;
    a->head = c;
    c->used = need;
    a->used += need;
    SL_UNPOISON(c->data, n);
    return c->data;
}

void *
sl_arena_zalloc(sl_arena_t *a, size_t n)
{
    void *p = sl_arena_alloc(a, n);

    if (p != NULL) {
        memset(p, 0, n);
    }
    return p;
}

void *
sl_arena_calloc(sl_arena_t *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    return sl_arena_zalloc(a, count * size);
}

void *
sl_arena_memdup(sl_arena_t *a, const void *src, size_t n)
{
    void *p = sl_arena_alloc(a, n);

    if (p != NULL && n > 0) {
        memcpy(p, src, n);
    }
    return p;
}

size_t
sl_arena_used(const sl_arena_t *a)
{
    return a->used;
}
