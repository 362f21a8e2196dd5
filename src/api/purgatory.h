/*
 * api/purgatory.h: delayed operations ("purgatory"), as Kafka has them.
 *
 * A request that must wait (a long-poll Fetch until min_bytes arrive, later
 * join/sync waits and transaction markers) becomes an sl_delayed_t, watched
 * under one or more keys (a topic-partition, a group id) and a deadline.
 * Whoever makes it ready calls sl_purgatory_check(key), which calls
 * try_complete of the operations watching that key; the deadline calls
 * on_expire. Either way, the operation completes exactly once: its
 * callbacks call sl_delayed_complete(), and only the caller that gets true
 * from it answers the request.
 *
 * Memory: an operation is reference-counted: its creator holds one
 * reference (dropped by sl_delayed_unref() once it has handed the operation
 * to sl_purgatory_watch()), and the purgatory holds one per watch list and
 * one for the deadline. The free callback runs when the last goes.
 *
 * Owns: its expiry thread, key table and deadline heap. Thread-safe.
 */
#ifndef SL_API_PURGATORY_H
#define SL_API_PURGATORY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_purgatory_s sl_purgatory_t;
typedef struct sl_delayed_s sl_delayed_t;

struct sl_delayed_s {
    /* Check readiness; if ready, call sl_delayed_complete() and, if it
     * returns true, answer. @thread any (never two at once for one op) */
    void (*try_complete)(sl_delayed_t *d);
    /* The deadline passed: call sl_delayed_complete() and, if it returns
     * true, answer with what there is. @thread purgatory expiry thread */
    void (*on_expire)(sl_delayed_t *d);
    /* Last reference gone. */
    void (*free)(sl_delayed_t *d);
    int64_t deadline_ms; /* monotonic, see sl_now_ms() */
    /* Private. */
    atomic_int refs;
    atomic_bool completed;
    atomic_flag busy; /* serializes try_complete */
    size_t heap_index;
};

/* @returns NULL on failure. Starts the expiry thread. */
sl_purgatory_t *sl_purgatory_create(const char *name);
/* Expire nothing more; drop every operation (on_expire runs for each that
 * is not completed, so waiting requests are answered). */
void sl_purgatory_destroy(sl_purgatory_t *p);

/* Shutdown: from now on every deadline counts as passed, so waiting
 * operations (and those watched later) are answered at once by the expiry
 * thread with what there is. */
void sl_purgatory_expire_all(sl_purgatory_t *p);

/* Prepare an operation: one reference, for the caller. */
void sl_delayed_init(sl_delayed_t *d);
void sl_delayed_ref(sl_delayed_t *d);
void sl_delayed_unref(sl_delayed_t *d);

/* Mark completed. @returns true for exactly one caller. */
bool sl_delayed_complete(sl_delayed_t *d);
bool sl_delayed_is_completed(sl_delayed_t *d);

/*
 * Watch <d> under <nkeys> keys and its deadline, then try it once (so a
 * condition that became true before the watch is not missed).
 * @returns SL_OK, or __NOMEM (nothing watched; the caller answers).
 */
sl_err_t sl_purgatory_watch(sl_purgatory_t *p, sl_delayed_t *d,
                            const uint64_t *keys, int nkeys);

/* Try every uncompleted operation watching <key>; drop completed ones.
 * @returns how many completed in this call. @thread any */
int sl_purgatory_check(sl_purgatory_t *p, uint64_t key);

/* Operations being watched (for tests and metrics). */
int sl_purgatory_size(sl_purgatory_t *p);

/* A key for a topic-partition (FNV-1a of the name, mixed with the index). */
uint64_t sl_purgatory_key_tp(const char *topic, int32_t len, int32_t partition);
/* A key for a string (group id, transactional id), in its own space. */
uint64_t sl_purgatory_key_str(const char *kind, const char *s, int32_t len);

#endif
