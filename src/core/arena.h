/*
 * core/arena.h: a bump allocator for one request's lifetime (nginx pools).
 *
 * Everything a request needs (decoded request, response, scratch) comes from
 * its arena and is freed at once by sl_arena_destroy() or sl_arena_reset().
 * A hard cap bounds the total: an allocation past it fails with NULL, so
 * hostile input can never make a request allocate without bound.
 *
 * Owns: its chunks. Not thread-safe: one arena belongs to one thread at a
 * time (the request's current owner).
 */
#ifndef SL_CORE_ARENA_H
#define SL_CORE_ARENA_H

#include <stddef.h>

typedef struct sl_arena_s sl_arena_t;

/*
 * Create an arena whose chunks are at least <chunk> bytes and whose total
 * allocations may not exceed <cap> bytes (0 = no cap).
 * @returns the arena or NULL when out of memory.
 */
sl_arena_t *sl_arena_create(size_t chunk, size_t cap);

/* Free the arena and everything allocated from it. NULL is a no-op. */
void sl_arena_destroy(sl_arena_t *a);

/* Free everything allocated, keep the first chunk for reuse. */
void sl_arena_reset(sl_arena_t *a);

/* Allocate <n> bytes aligned to 16; NULL when the cap would be exceeded or
 * memory is exhausted. n == 0 returns a valid unique non-NULL pointer. */
void *sl_arena_alloc(sl_arena_t *a, size_t n);

/* As sl_arena_alloc(), zero-filled. */
void *sl_arena_zalloc(sl_arena_t *a, size_t n);

/* Allocate an array of <count> elements of <size>, zero-filled; NULL on
 * overflow of count * size. */
void *sl_arena_calloc(sl_arena_t *a, size_t count, size_t size);

/* Copy <n> bytes into the arena. */
void *sl_arena_memdup(sl_arena_t *a, const void *p, size_t n);

/* Bytes handed out so far (the cap applies to this). */
size_t sl_arena_used(const sl_arena_t *a);

#endif
