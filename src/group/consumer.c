/*
 * group/consumer.c: the consumer group coordinator of KIP-848: lifecycle,
 * topic-partition sets, groups and members, the operations that wait for
 * their records, describe, list, delete, and the member-epoch checks of
 * the offset APIs. ConsumerGroupHeartbeat itself (membership, group epoch,
 * target assignment, reconciliation, fencing, timers) is in
 * consumer_heartbeat.c, assignors in consumer_assign.c, record bytes in
 * consumer_records.c.
 *
 * Owns: every sl_cgroup_t and sl_cmember_t (arrays of pointers searched
 * linearly, like group/coord.c), and the heartbeat operations until their
 * appends completed.
 *
 * Locking: cc->lock around every public entry; completions run after it
 * is released.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "group/consumer_int.h"

static const char *const sl_cgroup_state_names[] = {
    "Empty", "Assigning", "Reconciling", "Stable", "Dead",
};

const char *
sl_cgroup_state_name(sl_cgroup_state_e s)
{
    if ((unsigned)s > SL_CGROUP_STATE_DEAD) {
        return "Unknown";
    }
    return sl_cgroup_state_names[s];
}

void
sl_cgroup_config_defaults(sl_cgroup_config_t *cfg)
{
    cfg->session_timeout_ms = 45000;
    cfg->heartbeat_interval_ms = 5000;
    cfg->max_size = INT32_MAX;
    cfg->offsets_partitions = 50;
    cfg->default_assignor = "uniform";
}

/* ---- topic-partition sets --------------------------------------------- */

int
sl_ctp_cmp(const sl_ctp_t *x, const sl_ctp_t *y)
{
    int c = memcmp(x->topic.b, y->topic.b, sizeof(x->topic.b));

    if (c != 0) {
        return c;
    }
    return x->p < y->p ? -1 : (x->p > y->p ? 1 : 0);
}

/* Index of (t, p) in <s>, or -(insertion point) - 1. */
static int32_t
sl_ctps_find(const sl_ctps_t *s, const sl_uuid_t *t, int32_t p)
{
    sl_ctp_t k = {*t, p};
    int32_t lo = 0, hi = s->n - 1;

    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = sl_ctp_cmp(&s->v[mid], &k);

        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return -lo - 1;
}

bool
sl_ctps_has(const sl_ctps_t *s, const sl_uuid_t *t, int32_t p)
{
    return sl_ctps_find(s, t, p) >= 0;
}

sl_err_t
sl_ctps_add(sl_ctps_t *s, const sl_uuid_t *t, int32_t p)
{
    int32_t i = sl_ctps_find(s, t, p);

    if (i >= 0) {
        return SL_OK;
    }
    i = -i - 1;
    if (s->n == s->cap) {
        int32_t cap = s->cap > 0 ? s->cap * 2 : 8;
        sl_ctp_t *v = realloc(s->v, (size_t)cap * sizeof(*v));

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    memmove(&s->v[i + 1], &s->v[i], (size_t)(s->n - i) * sizeof(*s->v));
    s->v[i].topic = *t;
    s->v[i].p = p;
    s->n++;
    return SL_OK;
}

void
sl_ctps_del(sl_ctps_t *s, const sl_uuid_t *t, int32_t p)
{
    int32_t i = sl_ctps_find(s, t, p);

    if (i >= 0) {
        memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof(*s->v));
        s->n--;
    }
}

sl_err_t
sl_ctps_copy(sl_ctps_t *dst, const sl_ctps_t *src)
{
    if (dst->cap < src->n) {
        sl_ctp_t *v = realloc(dst->v, (size_t)src->n * sizeof(*v));

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        dst->v = v;
        dst->cap = src->n;
    }
    if (src->n > 0) {
        memcpy(dst->v, src->v, (size_t)src->n * sizeof(*src->v));
    }
    dst->n = src->n;
    return SL_OK;
}

bool
sl_ctps_eq(const sl_ctps_t *x, const sl_ctps_t *y)
{
    return x->n == y->n &&
           (x->n == 0 || memcmp(x->v, y->v, (size_t)x->n * sizeof(*x->v)) == 0);
}

void
sl_ctps_free(sl_ctps_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ---- groups and members ------------------------------------------------ */

sl_cgroup_t *
sl_cgroup_find(sl_cgroup_coord_t *cc, sl_str_t id)
{
    int32_t i;

    for (i = 0; i < cc->groups_count; i++) {
        if (sl_gstr_eq(&cc->groups[i]->id, id)) {
            return cc->groups[i];
        }
    }
    return NULL;
}

sl_cgroup_t *
sl_cgroup_create(sl_cgroup_coord_t *cc, sl_str_t id)
{
    sl_cgroup_t **v, *g;

    if ((g = calloc(1, sizeof(*g))) == NULL) {
        return NULL;
    }
    v = realloc(cc->groups, (size_t)(cc->groups_count + 1) * sizeof(*v));
    if (v == NULL || sl_gstr_set(&g->id, id.ptr, id.len) != SL_OK) {
        if (v != NULL) {
            cc->groups = v;
        }
        free(g);
        return NULL;
    }
    cc->groups = v;
    g->partition = sl_group_partition_for(id, cc->cfg.offsets_partitions);
    cc->groups[cc->groups_count++] = g;
    return g;
}

static void
sl_cmember_free(sl_cmember_t *m)
{
    int32_t i;

    sl_gstr_free(&m->id);
    sl_gstr_free(&m->instance_id);
    sl_gstr_free(&m->rack_id);
    sl_gstr_free(&m->client_id);
    sl_gstr_free(&m->client_host);
    for (i = 0; i < m->topics_count; i++) {
        sl_gstr_free(&m->topics[i]);
    }
    free(m->topics);
    sl_gstr_free(&m->regex);
    sl_cgroup_regex_free(m->re);
    sl_gstr_free(&m->assignor);
    sl_ctps_free(&m->assigned);
    sl_ctps_free(&m->revoking);
    sl_ctps_free(&m->target);
    free(m);
}

void
sl_cgroup_topics_free(sl_cgroup_t *g)
{
    int32_t i;

    for (i = 0; i < g->topics_count; i++) {
        sl_gstr_free(&g->topics[i].name);
    }
    free(g->topics);
    g->topics = NULL;
    g->topics_count = 0;
}

static void
sl_cgroup_free(sl_cgroup_t *g)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        sl_cmember_free(g->members[i]);
    }
    free(g->members);
    sl_cgroup_topics_free(g);
    sl_gstr_free(&g->id);
    free(g);
}

void
sl_cgroup_remove(sl_cgroup_coord_t *cc, sl_cgroup_t *g)
{
    int32_t i;

    for (i = 0; i < cc->groups_count; i++) {
        if (cc->groups[i] == g) {
            cc->groups[i] = cc->groups[--cc->groups_count];
            break;
        }
    }
    sl_cgroup_free(g);
}

sl_cmember_t *
sl_cmember_find(const sl_cgroup_t *g, sl_str_t id)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (sl_gstr_eq(&g->members[i]->id, id)) {
            return g->members[i];
        }
    }
    return NULL;
}

sl_cmember_t *
sl_cmember_find_instance(const sl_cgroup_t *g, sl_str_t instance_id)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->instance_id.ptr != NULL &&
            sl_gstr_eq(&g->members[i]->instance_id, instance_id)) {
            return g->members[i];
        }
    }
    return NULL;
}

sl_cmember_t *
sl_cmember_add(sl_cgroup_t *g, sl_str_t id)
{
    sl_cmember_t **v, *m;

    if ((m = calloc(1, sizeof(*m))) == NULL) {
        return NULL;
    }
    v = realloc(g->members, (size_t)(g->members_count + 1) * sizeof(*v));
    if (v == NULL || sl_gstr_set(&m->id, id.ptr, id.len) != SL_OK) {
        if (v != NULL) {
            g->members = v;
        }
        free(m);
        return NULL;
    }
    g->members = v;
    m->instance_id.len = -1;
    m->rack_id.len = -1;
    m->regex.len = -1;
    m->assignor.len = -1;
    m->rebalance_timeout_ms = -1;
    m->rebalance_deadline = INT64_MAX;
    m->session_deadline = INT64_MAX;
    g->members[g->members_count++] = m;
    return m;
}

void
sl_cmember_remove(sl_cgroup_t *g, sl_cmember_t *m)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (g->members[i] == m) {
            memmove(&g->members[i], &g->members[i + 1],
                    (size_t)(g->members_count - i - 1) * sizeof(*g->members));
            g->members_count--;
            break;
        }
    }
    sl_cmember_free(m);
}

static sl_cgroup_state_e
sl_cgroup_state(const sl_cgroup_t *g)
{
    int32_t i;

    if (g->members_count == 0) {
        return SL_CGROUP_STATE_EMPTY;
    }
    if (g->epoch != g->assignment_epoch) {
        return SL_CGROUP_STATE_ASSIGNING;
    }
    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->state != SL_CMEMBER_STABLE ||
            g->members[i]->epoch != g->assignment_epoch) {
            return SL_CGROUP_STATE_RECONCILING;
        }
    }
    return SL_CGROUP_STATE_STABLE;
}

/* ---- lifecycle ------------------------------------------------------- */

sl_cgroup_coord_t *
sl_cgroup_coord_create(const sl_cgroup_config_t *cfg,
                       const sl_group_store_t *store)
{
    sl_cgroup_coord_t *cc = calloc(1, sizeof(*cc));

    if (cc == NULL) {
        return NULL;
    }
    pthread_mutex_init(&cc->lock, NULL);
    cc->cfg = *cfg;
    if (store != NULL) {
        cc->store = *store;
    }
    if (getrandom(&cc->id_seed, sizeof(cc->id_seed), 0) !=
        (ssize_t)sizeof(cc->id_seed)) {
        cc->id_seed = (uint64_t)(uintptr_t)cc * 0x9e3779b97f4a7c15ULL;
    }
    return cc;
}

void
sl_cgroup_coord_destroy(sl_cgroup_coord_t *cc)
{
    int32_t i;

    if (cc == NULL) {
        return;
    }
    for (i = 0; i < cc->groups_count; i++) {
        sl_cgroup_free(cc->groups[i]);
    }
    free(cc->groups);
    pthread_mutex_destroy(&cc->lock);
    free(cc);
}

/* ---- operations waiting for their appends ------------------------------ */

void
sl_cop_hold(sl_cop_t *op)
{
    atomic_fetch_add(&op->refs, 1);
}

void
sl_cop_release(sl_cop_t *op, sl_err_t err)
{
    if (err != SL_OK) {
        atomic_store(&op->err, err);
    }
    if (atomic_fetch_sub(&op->refs, 1) != 1) {
        return;
    }
    err = atomic_load(&op->err);
    if (err != SL_OK && op->r->error == SL_OK) {
        /* The change is not durable: the client retries. */
        op->r->error = SL_ERR_COORDINATOR_NOT_AVAILABLE;
        op->r->has_assignment = false;
        op->r->member_id = (sl_str_t){NULL, -1};
        op->r->member_epoch = 0;
        op->r->heartbeat_interval_ms = 0;
    }
    op->cb(op->arg, op->r);
    free(op);
}

/* The assignor the group uses: the one most members ask for, else the
 * default (Kafka's preferred server assignor). */
sl_str_t
sl_cgroup_assignor(const sl_cgroup_coord_t *cc, const sl_cgroup_t *g)
{
    sl_str_t best = {cc->cfg.default_assignor,
                     (int32_t)strlen(cc->cfg.default_assignor)};
    int32_t i, j, best_n = 0;

    for (i = 0; i < g->members_count; i++) {
        int32_t n = 0;

        if (g->members[i]->assignor.ptr == NULL) {
            continue;
        }
        for (j = 0; j < g->members_count; j++) {
            if (g->members[j]->assignor.ptr != NULL &&
                sl_gstr_eq(&g->members[j]->assignor,
                           sl_gstr_view(&g->members[i]->assignor))) {
                n++;
            }
        }
        if (n > best_n) {
            best_n = n;
            best = sl_gstr_view(&g->members[i]->assignor);
        }
    }
    return best;
}

/* Fill the result's assignment from the member's assigned partitions. */
sl_err_t
sl_cgroup_tps_out(sl_arena_t *a, const sl_cgroup_t *g, const sl_ctps_t *s,
                  sl_cgroup_tps_t **out, int32_t *out_n)
{
    int32_t i, j, n = 0;
    int32_t *parts;
    sl_cgroup_tps_t *v;

    v = sl_arena_calloc(a, (size_t)(s->n > 0 ? s->n : 1), sizeof(*v));
    parts = sl_arena_calloc(a, (size_t)(s->n > 0 ? s->n : 1), sizeof(*parts));
    if (v == NULL || parts == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < s->n; i++) {
        if (n == 0 || !sl_uuid_eq(&v[n - 1].topic_id, &s->v[i].topic)) {
            v[n].topic_id = s->v[i].topic;
            v[n].partitions = &parts[i];
            v[n].topic_name = (sl_str_t){"", 0};
            for (j = 0; j < g->topics_count; j++) {
                if (sl_uuid_eq(&g->topics[j].id, &s->v[i].topic)) {
                    v[n].topic_name =
                        sl_gstr_arena(a, sl_gstr_view(&g->topics[j].name));
                }
            }
            n++;
        }
        parts[i] = s->v[i].p;
        v[n - 1].partitions_count++;
    }
    *out = v;
    *out_n = n;
    return SL_OK;
}

/* ---- describe, list, delete, offsets ---------------------------------- */

sl_err_t
sl_cgroup_describe(sl_cgroup_coord_t *cc, sl_str_t group_id, sl_arena_t *a,
                   sl_cgroup_desc_t *out)
{
    sl_cgroup_t *g;
    sl_err_t err = SL_OK;
    int32_t i, j;

    memset(out, 0, sizeof(*out));
    out->group_id = group_id;
    out->state = SL_CGROUP_STATE_DEAD;
    pthread_mutex_lock(&cc->lock);
    if ((g = sl_cgroup_find(cc, group_id)) == NULL) {
        pthread_mutex_unlock(&cc->lock);
        return SL_ERR_GROUP_ID_NOT_FOUND;
    }
    out->state = sl_cgroup_state(g);
    out->group_epoch = g->epoch;
    out->assignment_epoch = g->assignment_epoch;
    out->assignor_name = sl_gstr_arena(a, sl_cgroup_assignor(cc, g));
    out->members = sl_arena_calloc(
        a, (size_t)(g->members_count > 0 ? g->members_count : 1),
        sizeof(*out->members));
    if (out->members == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < g->members_count && err == SL_OK; i++) {
        const sl_cmember_t *m = g->members[i];
        sl_cgroup_member_desc_t *d = &out->members[i];
        sl_str_t *names = sl_arena_calloc(
            a, (size_t)(m->topics_count > 0 ? m->topics_count : 1),
            sizeof(*names));

        if (names == NULL) {
            err = SL_ERR__NOMEM;
            break;
        }
        for (j = 0; j < m->topics_count; j++) {
            names[j] = sl_gstr_arena(a, sl_gstr_view(&m->topics[j]));
        }
        d->member_id = sl_gstr_arena(a, sl_gstr_view(&m->id));
        d->instance_id = sl_gstr_arena(a, sl_gstr_view(&m->instance_id));
        d->rack_id = sl_gstr_arena(a, sl_gstr_view(&m->rack_id));
        d->client_id = sl_gstr_arena(a, sl_gstr_view(&m->client_id));
        d->client_host = sl_gstr_arena(a, sl_gstr_view(&m->client_host));
        d->member_epoch = m->epoch;
        d->subscribed_topic_names = names;
        d->subscribed_topic_names_count = m->topics_count;
        d->subscribed_topic_regex = sl_gstr_arena(a, sl_gstr_view(&m->regex));
        d->state = m->state;
        err = sl_cgroup_tps_out(a, g, &m->assigned, &d->assignment,
                                &d->assignment_count);
        if (err == SL_OK) {
            err = sl_cgroup_tps_out(a, g, &m->target, &d->target,
                                    &d->target_count);
        }
        out->members_count = i + 1;
    }
out:
    pthread_mutex_unlock(&cc->lock);
    return err;
}

bool
sl_cgroup_exists(sl_cgroup_coord_t *cc, sl_str_t group_id, int32_t *members_out)
{
    sl_cgroup_t *g;

    pthread_mutex_lock(&cc->lock);
    g = sl_cgroup_find(cc, group_id);
    if (g != NULL && members_out != NULL) {
        *members_out = g->members_count;
    }
    pthread_mutex_unlock(&cc->lock);
    return g != NULL;
}

bool
sl_cgroup_subscribed(sl_cgroup_coord_t *cc, sl_str_t group_id, sl_str_t topic)
{
    sl_cgroup_t *g;
    bool yes = false;
    int32_t i;

    pthread_mutex_lock(&cc->lock);
    g = sl_cgroup_find(cc, group_id);
    for (i = 0; g != NULL && i < g->members_count && !yes; i++) {
        yes = sl_cmember_subscribes(g->members[i], topic);
    }
    pthread_mutex_unlock(&cc->lock);
    return yes;
}

sl_err_t
sl_cgroup_list(sl_cgroup_coord_t *cc, sl_arena_t *a, sl_cgroup_listing_t **out,
               int32_t *out_n)
{
    sl_cgroup_listing_t *v;
    sl_err_t err = SL_OK;
    int32_t i;

    pthread_mutex_lock(&cc->lock);
    v = sl_arena_calloc(
        a, (size_t)(cc->groups_count > 0 ? cc->groups_count : 1), sizeof(*v));
    if (v == NULL) {
        err = SL_ERR__NOMEM;
    }
    for (i = 0; v != NULL && i < cc->groups_count; i++) {
        v[i].group_id = sl_gstr_arena(a, sl_gstr_view(&cc->groups[i]->id));
        v[i].state = sl_cgroup_state(cc->groups[i]);
    }
    *out = v;
    *out_n = v != NULL ? cc->groups_count : 0;
    pthread_mutex_unlock(&cc->lock);
    return err;
}

sl_err_t
sl_cgroup_delete(sl_cgroup_coord_t *cc, sl_str_t group_id)
{
    sl_cgroup_t *g;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&cc->lock);
    if ((g = sl_cgroup_find(cc, group_id)) == NULL) {
        err = SL_ERR_GROUP_ID_NOT_FOUND;
    } else if (g->members_count > 0) {
        err = SL_ERR_NON_EMPTY_GROUP;
    } else {
        sl_cgroup_persist_group_gone(cc, g, NULL);
        sl_cgroup_remove(cc, g);
    }
    pthread_mutex_unlock(&cc->lock);
    return err;
}

sl_err_t
sl_cgroup_validate_offsets(sl_cgroup_coord_t *cc, sl_str_t group_id,
                           sl_str_t member_id, int32_t member_epoch, bool fetch,
                           int16_t api_version)
{
    sl_cgroup_t *g;
    sl_cmember_t *m;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&cc->lock);
    g = sl_cgroup_find(cc, group_id);
    if (g == NULL) {
        goto out;
    }
    if (member_epoch < 0 && member_id.len <= 0 &&
        (fetch || g->members_count == 0)) {
        goto out; /* an admin request */
    }
    if ((m = sl_cmember_find(g, member_id)) == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else if (!fetch && api_version < 9) {
        err = SL_ERR_UNSUPPORTED_VERSION;
    } else if (member_epoch != m->epoch) {
        err = SL_ERR_STALE_MEMBER_EPOCH;
    }
out:
    pthread_mutex_unlock(&cc->lock);
    return err;
}
