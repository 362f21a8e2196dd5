/*
 * group/coord.c: the coordinator holding all classic groups: lifecycle,
 * the lock, the queue of completions run after unlocking, timers (tick and
 * next deadline), DescribeGroups, ListGroups, DeleteGroups, and the
 * group-to-partition hash.
 *
 * Owns: every sl_group_t (an array of pointers, searched linearly: fine for
 * the hundreds of groups one broker coordinates; a hash map is the upgrade
 * path). Membership rules live in member.c, offsets in offsets.c, record
 * bytes in records.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "group/group_int.h"

static const char *const sl_group_state_names[] = {
    "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead",
};

const char *
sl_group_state_name(sl_group_state_e s)
{
    if ((unsigned)s > SL_GROUP_STATE_DEAD) {
        return "Unknown";
    }
    return sl_group_state_names[s];
}

void
sl_group_config_defaults(sl_group_config_t *cfg)
{
    cfg->min_session_timeout_ms = 6000;
    cfg->max_session_timeout_ms = 1800000;
    cfg->initial_rebalance_delay_ms = 3000;
    cfg->max_size = INT32_MAX;
    cfg->new_member_join_timeout_ms = 300000;
    cfg->offsets_retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_check_ms = 600000;
    cfg->offset_metadata_max_bytes = 4096;
    cfg->offsets_partitions = 50;
}

/* ---- owned strings ---------------------------------------------------- */

sl_err_t
sl_gstr_set(sl_gstr_t *dst, const void *p, int32_t len)
{
    char *n = NULL;

    if (len >= 0) {
        if ((n = malloc((size_t)len + 1)) == NULL) {
            return SL_ERR__NOMEM;
        }
        if (len > 0) {
            memcpy(n, p, (size_t)len);
        }
        n[len] = '\0';
    }
    free(dst->ptr);
    dst->ptr = n;
    dst->len = len < 0 ? -1 : len;
    return SL_OK;
}

void
sl_gstr_free(sl_gstr_t *s)
{
    free(s->ptr);
    s->ptr = NULL;
    s->len = -1;
}

sl_str_t
sl_gstr_view(const sl_gstr_t *s)
{
    sl_str_t v = {s->ptr, s->ptr == NULL ? -1 : s->len};
    return v;
}

sl_bytes_t
sl_gstr_bytes(const sl_gstr_t *s)
{
    sl_bytes_t v = {(const uint8_t *)s->ptr, s->ptr == NULL ? -1 : s->len};
    return v;
}

bool
sl_gstr_eq(const sl_gstr_t *s, sl_str_t v)
{
    int32_t sl = s->ptr == NULL ? -1 : s->len;

    if (sl != v.len) {
        return false;
    }
    return sl <= 0 || memcmp(s->ptr, v.ptr, (size_t)sl) == 0;
}

bool
sl_gstr_is_set(const sl_gstr_t *s)
{
    return s->ptr != NULL && s->len > 0;
}

sl_str_t
sl_gstr_arena(sl_arena_t *a, sl_str_t s)
{
    sl_str_t r = {NULL, -1};
    char *p;

    if (s.len < 0 || (p = sl_arena_alloc(a, (size_t)s.len + 1)) == NULL) {
        return r;
    }
    if (s.len > 0) {
        memcpy(p, s.ptr, (size_t)s.len);
    }
    p[s.len] = '\0';
    r.ptr = p;
    r.len = s.len;
    return r;
}

sl_bytes_t
sl_gbytes_arena(sl_arena_t *a, sl_bytes_t b)
{
    sl_str_t s = {(const char *)b.ptr, b.len};
    sl_bytes_t r;

    s = sl_gstr_arena(a, s);
    r.ptr = (const uint8_t *)s.ptr;
    r.len = s.len;
    return r;
}

/* ---- lock and completions --------------------------------------------- */

void
sl_group_coord_lock(sl_group_coord_t *gc)
{
    pthread_mutex_lock(&gc->lock);
}

static void
sl_group_done_run(sl_gdone_t *d)
{
    switch (d->kind) {
    case SL_GDONE_JOIN:
        d->u.join.cb(d->arg, &d->u.join.r);
        break;
    case SL_GDONE_SYNC:
        d->u.sync.cb(d->arg, &d->u.sync.r);
        break;
    case SL_GDONE_COMMIT:
        d->u.commit.cb(d->arg, d->u.commit.errors, d->u.commit.count);
        break;
    default:
        break;
    }
    sl_arena_destroy(d->a);
    free(d);
}

/*
 * Release the lock, then run queued completions one at a time, each with
 * the lock released (a callback may re-enter the coordinator).
 */
void
sl_group_coord_unlock(sl_group_coord_t *gc)
{
    sl_gdone_t *d;

    for (;;) {
        d = gc->done_head;
        if (d != NULL) {
            gc->done_head = d->next;
            if (gc->done_head == NULL) {
                gc->done_tail = &gc->done_head;
            }
        }
        pthread_mutex_unlock(&gc->lock);
        if (d == NULL) {
            return;
        }
        sl_group_done_run(d);
        pthread_mutex_lock(&gc->lock);
    }
}

/*
 * Queue a completion of <kind>; its arena holds the result's copies.
 * Allocation failure is fatal to the process: a lost completion would
 * park a client request forever.
 */
sl_gdone_t *
sl_group_done_new(sl_group_coord_t *gc, int kind, void *arg)
{
    sl_gdone_t *d = calloc(1, sizeof(*d));

    if (d == NULL || (d->a = sl_arena_create(1024, 0)) == NULL) {
        abort();
    }
    d->kind = kind;
    d->arg = arg;
    *gc->done_tail = d;
    gc->done_tail = &d->next;
    return d;
}

/* ---- groups ------------------------------------------------------------ */

sl_group_t *
sl_group_find(sl_group_coord_t *gc, sl_str_t id)
{
    int32_t i;

    for (i = 0; i < gc->groups_count; i++) {
        if (sl_gstr_eq(&gc->groups[i]->id, id)) {
            return gc->groups[i];
        }
    }
    return NULL;
}

sl_group_t *
sl_group_create(sl_group_coord_t *gc, sl_str_t id)
{
    sl_group_t *g;
    sl_group_t **n;
    int32_t cap;

    if (gc->groups_count == gc->groups_cap) {
        cap = gc->groups_cap == 0 ? 16 : gc->groups_cap * 2;
        n = realloc(gc->groups, (size_t)cap * sizeof(*n));
        if (n == NULL) {
            return NULL;
        }
        gc->groups = n;
        gc->groups_cap = cap;
    }
    if ((g = calloc(1, sizeof(*g))) == NULL) {
        return NULL;
    }
    g->protocol_type.len = g->protocol_name.len = g->leader.len = -1;
    if (sl_gstr_set(&g->id, id.ptr, id.len < 0 ? 0 : id.len) != SL_OK) {
        free(g);
        return NULL;
    }
    g->partition = sl_group_partition_for(id, gc->cfg.offsets_partitions);
    g->state = SL_GROUP_STATE_EMPTY;
    g->join_deadline = INT64_MAX;
    g->sync_deadline = INT64_MAX;
    gc->groups[gc->groups_count++] = g;
    return g;
}

void
sl_group_member_free(sl_gmember_t *m)
{
    int32_t i;

    if (m == NULL) {
        return;
    }
    sl_gstr_free(&m->id);
    sl_gstr_free(&m->instance_id);
    sl_gstr_free(&m->client_id);
    sl_gstr_free(&m->client_host);
    sl_gstr_free(&m->assignment);
    for (i = 0; i < m->protocols_count; i++) {
        sl_gstr_free(&m->protocols[i].name);
        sl_gstr_free(&m->protocols[i].metadata);
    }
    free(m->protocols);
    free(m);
}

static void
sl_group_free(sl_group_t *g)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        sl_group_member_free(g->members[i]);
    }
    free(g->members);
    for (i = 0; i < g->pending_count; i++) {
        sl_gstr_free(&g->pending[i].id);
    }
    free(g->pending);
    sl_group_offsets_free(g);
    sl_gstr_free(&g->id);
    sl_gstr_free(&g->protocol_type);
    sl_gstr_free(&g->protocol_name);
    sl_gstr_free(&g->leader);
    free(g);
}

void
sl_group_remove(sl_group_coord_t *gc, sl_group_t *g)
{
    int32_t i;

    for (i = 0; i < gc->groups_count; i++) {
        if (gc->groups[i] == g) {
            gc->groups[i] = gc->groups[--gc->groups_count];
            break;
        }
    }
    g->state = SL_GROUP_STATE_DEAD;
    sl_group_fail_parked(gc, g, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    sl_group_free(g);
}

void
sl_group_set_state(sl_group_t *g, sl_group_state_e s, int64_t now_ms)
{
    g->state = s;
    g->state_ts = now_ms;
}

/* ---- lifecycle --------------------------------------------------------- */

sl_group_coord_t *
sl_group_coord_create(const sl_group_config_t *cfg,
                      const sl_group_store_t *store)
{
    sl_group_coord_t *gc = calloc(1, sizeof(*gc));

    if (gc == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&gc->lock, NULL) != 0) {
        free(gc);
        return NULL;
    }
    if (cfg != NULL) {
        gc->cfg = *cfg;
    } else {
        sl_group_config_defaults(&gc->cfg);
    }
    if (gc->cfg.offsets_partitions <= 0) {
        gc->cfg.offsets_partitions = 1;
    }
    if (store != NULL) {
        gc->store = *store;
    }
    gc->done_tail = &gc->done_head;
    gc->refs = 1;
    if (getrandom(&gc->id_seed, sizeof(gc->id_seed), 0) !=
        (ssize_t)sizeof(gc->id_seed)) {
        gc->id_seed = (uint64_t)(uintptr_t)gc * 0x9e3779b97f4a7c15ULL;
    }
    return gc;
}

/*
 * Close the coordinator: free every group and answer parked requests
 * COORDINATOR_NOT_AVAILABLE. Appends still in flight keep it allocated
 * until the store completes them (libuv's close-callback pattern); their
 * commits are answered then.
 */
void
sl_group_coord_destroy(sl_group_coord_t *gc)
{
    if (gc == NULL) {
        return;
    }
    sl_group_coord_lock(gc);
    gc->closed = true;
    while (gc->groups_count > 0) {
        sl_group_t *g = gc->groups[gc->groups_count - 1];

        gc->groups_count--;
        g->state = SL_GROUP_STATE_DEAD;
        sl_group_fail_parked(gc, g, SL_ERR_COORDINATOR_NOT_AVAILABLE);
        sl_group_free(g);
    }
    sl_group_coord_unref_unlock(gc);
}

void
sl_group_coord_unload(sl_group_coord_t *gc)
{
    int32_t i;

    sl_group_coord_lock(gc);
    gc->unloaded = true;
    for (i = 0; i < gc->groups_count; i++) {
        sl_group_fail_parked(gc, gc->groups[i], SL_ERR_NOT_COORDINATOR);
    }
    sl_group_coord_unlock(gc);
}

void
sl_group_coord_unref_unlock(sl_group_coord_t *gc)
{
    bool last = --gc->refs == 0;

    sl_group_coord_unlock(gc);
    if (last) {
        free(gc->groups);
        pthread_mutex_destroy(&gc->lock);
        free(gc);
    }
}

void
sl_group_coord_tick(sl_group_coord_t *gc, int64_t now_ms)
{
    int32_t i;

    sl_group_coord_lock(gc);
    /* Walk backwards: expiry may remove the current group. */
    for (i = gc->groups_count - 1; i >= 0; i--) {
        if (i >= gc->groups_count) {
            continue;
        }
        sl_group_tick_members(gc, gc->groups[i], now_ms);
    }
    for (i = gc->groups_count - 1; i >= 0; i--) {
        if (i >= gc->groups_count) {
            continue;
        }
        sl_group_expire_offsets(gc, gc->groups[i], now_ms);
    }
    sl_group_coord_unlock(gc);
}

int64_t
sl_group_coord_next_deadline(sl_group_coord_t *gc)
{
    int64_t best = INT64_MAX;
    int64_t t;
    int32_t i;

    sl_group_coord_lock(gc);
    for (i = 0; i < gc->groups_count; i++) {
        t = sl_group_member_deadline(gc->groups[i]);
        best = t < best ? t : best;
        t = sl_group_offsets_deadline(gc, gc->groups[i]);
        best = t < best ? t : best;
    }
    sl_group_coord_unlock(gc);
    return best;
}

/* ---- partition hash ---------------------------------------------------- */

/*
 * Java hashes UTF-16 code units: decode UTF-8 and hash each unit (surrogate
 * pairs above U+FFFF). Malformed bytes hash as U+FFFD, as Java's decoder
 * would substitute them.
 */
int32_t
sl_group_java_hash(sl_str_t s)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    uint32_t h = 0;
    uint32_t cp;
    int32_t i = 0;
    int32_t need;

    while (i < s.len) {
        uint8_t c = p[i++];

        if (c < 0x80) {
            cp = c;
            need = 0;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            need = 1;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            need = 2;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            need = 3;
        } else {
            cp = 0xfffd;
            need = 0;
        }
        while (need > 0) {
            if (i >= s.len || (p[i] & 0xc0) != 0x80) {
                cp = 0xfffd;
                break;
            }
            cp = (cp << 6) | (p[i++] & 0x3f);
            need--;
        }
        if (cp >= 0x10000 && cp <= 0x10ffff) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + (cp > 0x10ffff ? 0xfffd : cp);
        }
    }
    return (int32_t)h;
}

int32_t
sl_group_partition_for(sl_str_t group_id, int32_t partitions)
{
    int32_t h = sl_group_java_hash(group_id);

    if (partitions <= 0) {
        return 0;
    }
    /* Kafka's Utils.abs: abs(INT_MIN) is 0, not INT_MIN. */
    h = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return h % partitions;
}

/* ---- DescribeGroups, ListGroups, DeleteGroups ---------------------------- */

static sl_bytes_t
sl_group_member_meta(const sl_group_t *g, const sl_gmember_t *m)
{
    sl_bytes_t none = {(const uint8_t *)"", 0};
    int32_t i;

    for (i = 0; i < m->protocols_count; i++) {
        if (sl_gstr_eq(&m->protocols[i].name,
                       sl_gstr_view(&g->protocol_name))) {
            return sl_gstr_bytes(&m->protocols[i].metadata);
        }
    }
    return none;
}

sl_err_t
sl_group_describe(sl_group_coord_t *gc, sl_str_t group_id, sl_arena_t *a,
                  sl_group_desc_t *out)
{
    sl_str_t empty = {"", 0};
    sl_bytes_t nob = {(const uint8_t *)"", 0};
    sl_group_t *g;
    sl_err_t err = SL_OK;
    int32_t i;

    memset(out, 0, sizeof(*out));
    out->group_id = sl_gstr_arena(a, group_id);
    out->state = SL_GROUP_STATE_DEAD;
    out->protocol_type = out->protocol_name = empty;
    sl_group_coord_lock(gc);
    if ((g = sl_group_find(gc, group_id)) == NULL) {
        err = SL_ERR_GROUP_ID_NOT_FOUND;
        goto out;
    }
    out->state = g->state;
    if (g->protocol_type.ptr != NULL) {
        out->protocol_type = sl_gstr_arena(a, sl_gstr_view(&g->protocol_type));
    }
    if (g->state == SL_GROUP_STATE_STABLE && g->protocol_name.ptr != NULL) {
        out->protocol_name = sl_gstr_arena(a, sl_gstr_view(&g->protocol_name));
    }
    out->members =
        sl_arena_calloc(a, (size_t)g->members_count + 1, sizeof(*out->members));
    if (out->members == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < g->members_count; i++) {
        const sl_gmember_t *m = g->members[i];
        sl_group_member_desc_t *d = &out->members[i];

        d->member_id = sl_gstr_arena(a, sl_gstr_view(&m->id));
        d->group_instance_id = sl_gstr_arena(a, sl_gstr_view(&m->instance_id));
        d->client_id = sl_gstr_arena(a, sl_gstr_view(&m->client_id));
        d->client_host = sl_gstr_arena(a, sl_gstr_view(&m->client_host));
        d->metadata = d->assignment = nob;
        if (g->state == SL_GROUP_STATE_STABLE) {
            d->metadata = sl_gbytes_arena(a, sl_group_member_meta(g, m));
            d->assignment = sl_gbytes_arena(a, sl_gstr_bytes(&m->assignment));
        }
    }
    out->members_count = g->members_count;
out:
    sl_group_coord_unlock(gc);
    return err;
}

static bool
sl_group_name_in(const char *name, const sl_str_t *set, int32_t n)
{
    size_t len = strlen(name);
    int32_t i;

    if (n <= 0) {
        return true;
    }
    for (i = 0; i < n; i++) {
        if (set[i].len == (int32_t)len &&
            strncasecmp(set[i].ptr, name, len) == 0) {
            return true;
        }
    }
    return false;
}

sl_err_t
sl_group_list(sl_group_coord_t *gc, const sl_str_t *states, int32_t n_states,
              const sl_str_t *types, int32_t n_types, sl_arena_t *a,
              sl_group_listing_t **out, int32_t *out_n)
{
    sl_str_t empty = {"", 0};
    sl_err_t err = SL_OK;
    int32_t i, n = 0;

    *out = NULL;
    *out_n = 0;
    sl_group_coord_lock(gc);
    if (!sl_group_name_in("classic", types, n_types)) {
        goto out;
    }
    *out = sl_arena_calloc(a, (size_t)gc->groups_count + 1, sizeof(**out));
    if (*out == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < gc->groups_count; i++) {
        const sl_group_t *g = gc->groups[i];

        if (!sl_group_name_in(sl_group_state_name(g->state), states,
                              n_states)) {
            continue;
        }
        (*out)[n].group_id = sl_gstr_arena(a, sl_gstr_view(&g->id));
        (*out)[n].protocol_type =
            g->protocol_type.ptr != NULL
                ? sl_gstr_arena(a, sl_gstr_view(&g->protocol_type))
                : empty;
        (*out)[n].state = g->state;
        n++;
    }
    *out_n = n;
out:
    sl_group_coord_unlock(gc);
    return err;
}

sl_err_t
sl_group_delete(sl_group_coord_t *gc, int64_t now_ms, sl_str_t group_id)
{
    sl_group_t *g;
    sl_err_t err = SL_OK;
    int32_t i;

    sl_group_coord_lock(gc);
    if ((g = sl_group_find(gc, group_id)) == NULL ||
        g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_GROUP_ID_NOT_FOUND;
        goto out;
    }
    if (g->state != SL_GROUP_STATE_EMPTY) {
        err = SL_ERR_NON_EMPTY_GROUP;
        goto out;
    }
    /* Tombstones: every offset, then the group itself (Kafka's order). */
    for (i = 0; i < g->offsets_count; i++) {
        sl_group_persist_offset(gc, g, sl_gstr_view(&g->offsets[i].topic),
                                g->offsets[i].partition, NULL, NULL, NULL);
    }
    sl_group_persist_group(gc, g, true, now_ms, NULL, NULL);
    sl_group_remove(gc, g);
out:
    sl_group_coord_unlock(gc);
    return err;
}
