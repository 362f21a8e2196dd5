/*
 * group/group_int.h: internals of the group coordinator, shared by
 * coord.c (lifecycle, locking, completions, timers, describe/list/delete),
 * member.c (join, sync, heartbeat, leave), offsets.c and records.c.
 *
 * Owns nothing by itself; the structs below are owned by sl_group_coord_t.
 */
#ifndef SL_GROUP_GROUP_INT_H
#define SL_GROUP_GROUP_INT_H

#include <pthread.h>

#include "group/group.h"

/* An owned, length-counted byte string (len -1 = null). */
typedef struct sl_gstr_s {
    char *ptr;
    int32_t len;
} sl_gstr_t;

typedef struct sl_gproto_s {
    sl_gstr_t name;
    sl_gstr_t metadata;
} sl_gproto_t;

typedef struct sl_gmember_s {
    sl_gstr_t id;
    sl_gstr_t instance_id;
    sl_gstr_t client_id;
    sl_gstr_t client_host;
    sl_gproto_t *protocols;
    int32_t protocols_count;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    sl_gstr_t assignment;
    int64_t session_deadline;
    sl_group_join_cb join_cb; /* non-NULL while awaiting join */
    void *join_arg;
    sl_group_sync_cb sync_cb; /* non-NULL while awaiting sync */
    void *sync_arg;
    bool pending_sync; /* joined this generation but not synced yet */
    bool is_new;       /* added, no join completed yet: see member.c */
} sl_gmember_t;

typedef struct sl_gpending_s {
    sl_gstr_t id;
    int64_t deadline;
} sl_gpending_t;

typedef struct sl_goffset_s {
    sl_gstr_t topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    sl_gstr_t metadata;
    int64_t commit_ts;
    int64_t expire_ts; /* -1: retention rules apply */
} sl_goffset_t;

typedef struct sl_group_s {
    sl_gstr_t id;
    int32_t partition; /* of __consumer_offsets */
    sl_group_state_e state;
    int64_t state_ts;
    int32_t generation;
    sl_gstr_t protocol_type;
    sl_gstr_t protocol_name;
    sl_gstr_t leader;
    sl_gmember_t **members; /* in join order: the first is leader-elect */
    int32_t members_count;
    sl_gpending_t *pending; /* KIP-394 ids handed out, not joined yet */
    int32_t pending_count;
    int64_t join_deadline; /* INT64_MAX when no join is in progress */
    bool initial_delay;    /* join_deadline is group.initial.rebalance */
    bool new_member_added; /* a member joined during the initial delay */
    int32_t initial_remaining_ms;
    int64_t sync_deadline; /* INT64_MAX when nobody owes a sync */
    sl_goffset_t *offsets;
    int32_t offsets_count;
    bool sync_append_inflight; /* leader's assignment being persisted */
    int32_t sync_append_gen;   /* ... for this generation */
} sl_group_t;

/* A completion waiting to run after the lock is released. */
typedef struct sl_gdone_s {
    struct sl_gdone_s *next;
    int kind; /* SL_GDONE_* */
    void *arg;
    sl_arena_t *a; /* owns every pointer in the result */
    union {
        struct {
            sl_group_join_cb cb;
            sl_group_join_result_t r;
        } join;
        struct {
            sl_group_sync_cb cb;
            sl_group_sync_result_t r;
        } sync;
        struct {
            sl_group_commit_cb cb;
            sl_err_t *errors;
            int32_t count;
        } commit;
    } u;
} sl_gdone_t;

enum { SL_GDONE_JOIN = 1, SL_GDONE_SYNC, SL_GDONE_COMMIT };

struct sl_group_coord_s {
    pthread_mutex_t lock;
    sl_group_config_t cfg;
    sl_group_store_t store;
    sl_group_t **groups;
    int32_t groups_count;
    int32_t groups_cap;
    sl_gdone_t *done_head;
    sl_gdone_t **done_tail;
    uint64_t id_seed;
    uint64_t id_counter;
    int32_t refs;  /* the owner's, plus one per append in flight */
    bool closed;   /* destroyed by the owner; freed at refs == 0 */
    bool unloaded; /* shutting down: joins and syncs get NOT_COORDINATOR */
};

/* ---- owned strings (coord.c) ---- */
sl_err_t sl_gstr_set(sl_gstr_t *dst, const void *p, int32_t len);
void sl_gstr_free(sl_gstr_t *s);
sl_str_t sl_gstr_view(const sl_gstr_t *s);
sl_bytes_t sl_gstr_bytes(const sl_gstr_t *s);
bool sl_gstr_eq(const sl_gstr_t *s, sl_str_t v);
bool sl_gstr_is_set(const sl_gstr_t *s); /* non-null and non-empty */
sl_str_t sl_gstr_arena(sl_arena_t *a, sl_str_t s);
sl_bytes_t sl_gbytes_arena(sl_arena_t *a, sl_bytes_t b);

/* ---- coordinator plumbing (coord.c); all @locks held ---- */
void sl_group_coord_lock(sl_group_coord_t *gc);
/* Release the lock and run queued completions. */
void sl_group_coord_unlock(sl_group_coord_t *gc);
/* Drop one reference (lock held); frees <gc> after unlocking when it was
 * the last one. Replaces sl_group_coord_unlock(). */
void sl_group_coord_unref_unlock(sl_group_coord_t *gc);
sl_group_t *sl_group_find(sl_group_coord_t *gc, sl_str_t id);
sl_group_t *sl_group_create(sl_group_coord_t *gc, sl_str_t id);
/* Remove <g> from the coordinator and free it (state becomes Dead). */
void sl_group_remove(sl_group_coord_t *gc, sl_group_t *g);
void sl_group_set_state(sl_group_t *g, sl_group_state_e s, int64_t now_ms);
sl_gdone_t *sl_group_done_new(sl_group_coord_t *gc, int kind, void *arg);
void sl_group_member_free(sl_gmember_t *m);
void sl_group_offsets_free(sl_group_t *g);

/* ---- membership (member.c) ---- */
sl_gmember_t *sl_group_member_find(const sl_group_t *g, sl_str_t id);
void sl_group_tick_members(sl_group_coord_t *gc, sl_group_t *g, int64_t now_ms);
int64_t sl_group_member_deadline(const sl_group_t *g);
/* Answer every parked join/sync with <err> (shutdown). */
void sl_group_fail_parked(sl_group_coord_t *gc, sl_group_t *g, sl_err_t err);

/* ---- offsets (offsets.c) ---- */
sl_goffset_t *sl_group_offset_find(const sl_group_t *g, sl_str_t topic,
                                   int32_t partition);
void sl_group_expire_offsets(sl_group_coord_t *gc, sl_group_t *g,
                             int64_t now_ms);
int64_t sl_group_offsets_deadline(const sl_group_coord_t *gc,
                                  const sl_group_t *g);

/* ---- records (records.c) ---- */
typedef void (*sl_group_applied_cb)(sl_group_coord_t *gc, void *ctx,
                                    sl_err_t err);
/* Append the group's metadata record (value NULL-tombstone when <tomb>);
 * <cb>(ctx) runs with the lock held once the store finished. */
void sl_group_persist_group(sl_group_coord_t *gc, sl_group_t *g, bool tomb,
                            int64_t now_ms, sl_group_applied_cb cb, void *ctx);
void sl_group_persist_offset(sl_group_coord_t *gc, const sl_group_t *g,
                             sl_str_t topic, int32_t partition,
                             const sl_goffset_t *o, sl_group_applied_cb cb,
                             void *ctx);

#endif
