/*
 * group/consumer.c: the consumer group coordinator of KIP-848: lifecycle,
 * ConsumerGroupHeartbeat (validation, membership, group epoch, target
 * assignment, reconciliation of each member's current assignment), timers,
 * describe, list, delete, and the member-epoch checks of offset APIs.
 *
 * Owns: every sl_cgroup_t and sl_cmember_t (arrays of pointers searched
 * linearly, like group/coord.c), and the heartbeat operations until their
 * appends completed. Assignors live in consumer_assign.c, record bytes in
 * consumer_records.c.
 *
 * The rules follow Kafka 4.0's GroupMetadataManager and
 * CurrentAssignmentBuilder: a member at an older epoch than the target
 * moves to the target epoch at once when it has nothing to revoke and every
 * new partition is free (STABLE); keeps its epoch and gives up the revoked
 * partitions first when it has some (UNREVOKED_PARTITIONS); or moves to the
 * target epoch holding only the free new partitions, waiting for others to
 * release the rest (UNRELEASED_PARTITIONS).
 *
 * Locking: cc->lock around every public entry; completions run after it
 * is released.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "group/consumer_int.h"

#define SL_CGROUP_LEAVE_EPOCH (-1)
#define SL_CGROUP_STATIC_LEAVE_EPOCH (-2)

struct sl_cop_s {
    atomic_int refs;
    _Atomic sl_err_t err;
    sl_cgroup_hb_cb cb;
    void *arg;
    sl_cgroup_hb_result_t *r;
};

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

static void
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

static sl_cmember_t *
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
    }
    op->cb(op->arg, op->r);
    free(op);
}

/* ---- the group's view of its subscribed topics ------------------------- */

static int
sl_cgroup_cmp_name(const void *x, const void *y)
{
    const sl_gstr_t *a = *(const sl_gstr_t *const *)x;
    const sl_gstr_t *b = *(const sl_gstr_t *const *)y;
    int32_t l = a->len < b->len ? a->len : b->len;
    int c = l > 0 ? memcmp(a->ptr, b->ptr, (size_t)l) : 0;

    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static int
sl_cgroup_cmp_ctopic(const void *x, const void *y)
{
    const sl_ctopic_t *a = x, *b = y;
    const sl_gstr_t *pa = &a->name, *pb = &b->name;

    return sl_cgroup_cmp_name(&pa, &pb);
}

/* Resolve what the members subscribe to from <topics>; when it differs
 * from what the group saw, replace it. Names are looked up in a sorted
 * list of every member's names; only regex members are matched one by
 * one. @returns true when it changed. */
static bool
sl_cgroup_refresh_topics(sl_cgroup_t *g, const sl_cgroup_topics_t *topics,
                         sl_err_t *err)
{
    const sl_gstr_t **names = NULL;
    sl_ctopic_t *nt;
    int32_t i, j, n = 0, nn = 0;
    bool changed;

    *err = SL_OK;
    for (i = 0; i < g->members_count; i++) {
        nn += g->members[i]->topics_count;
    }
    nt = calloc((size_t)(topics->n > 0 ? topics->n : 1), sizeof(*nt));
    names = calloc((size_t)(nn > 0 ? nn : 1), sizeof(*names));
    if (nt == NULL || names == NULL) {
        free(nt);
        free(names);
        *err = SL_ERR__NOMEM;
        return false;
    }
    nn = 0;
    for (i = 0; i < g->members_count; i++) {
        for (j = 0; j < g->members[i]->topics_count; j++) {
            names[nn++] = &g->members[i]->topics[j];
        }
    }
    qsort(names, (size_t)nn, sizeof(*names), sl_cgroup_cmp_name);
    for (i = 0; i < topics->n && *err == SL_OK; i++) {
        const sl_cgroup_topic_t *t = &topics->v[i];
        sl_gstr_t key = {(char *)t->name.ptr, t->name.len};
        const sl_gstr_t *kp = &key;
        bool match =
            t->name.len >= 0 && bsearch(&kp, names, (size_t)nn, sizeof(*names),
                                        sl_cgroup_cmp_name) != NULL;

        for (j = 0; !match && !t->internal && j < g->members_count; j++) {
            match = g->members[j]->re != NULL &&
                    sl_cmember_subscribes(g->members[j], t->name);
        }
        if (!match) {
            continue;
        }
        if (sl_gstr_set(&nt[n].name, t->name.ptr, t->name.len) != SL_OK) {
            *err = SL_ERR__NOMEM;
            break;
        }
        nt[n].id = t->id;
        nt[n].partitions = t->partitions > 0 ? t->partitions : 0;
        n++;
    }
    free(names);
    /* Sorted by name, so the comparison below is order independent. */
    qsort(nt, (size_t)n, sizeof(*nt), sl_cgroup_cmp_ctopic);
    changed = n != g->topics_count;
    for (i = 0; i < n && !changed; i++) {
        changed = !sl_gstr_eq(&g->topics[i].name, sl_gstr_view(&nt[i].name)) ||
                  !sl_uuid_eq(&g->topics[i].id, &nt[i].id) ||
                  g->topics[i].partitions != nt[i].partitions;
    }
    if (*err != SL_OK || !changed) {
        for (i = 0; i < n; i++) {
            sl_gstr_free(&nt[i].name);
        }
        free(nt);
        return false;
    }
    sl_cgroup_topics_free(g);
    g->topics = nt;
    g->topics_count = n;
    return true;
}

/* The assignor the group uses: the one most members ask for, else the
 * default (Kafka's preferred server assignor). */
static sl_str_t
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

/* Bump the group epoch when <bump>, then bring the target assignment up
 * to the group epoch, persisting what changed. */
static sl_err_t
sl_cgroup_update_target(sl_cgroup_coord_t *cc, sl_cgroup_t *g, bool bump,
                        bool topics_changed, sl_cop_t *op)
{
    sl_ctps_t *old;
    int32_t i;
    sl_err_t err;

    if (bump) {
        g->epoch++;
        if (topics_changed) {
            sl_cgroup_persist_topics(cc, g, op);
        }
        sl_cgroup_persist_epoch(cc, g, op);
    }
    if (g->epoch <= g->assignment_epoch) {
        return SL_OK;
    }
    old = calloc((size_t)(g->members_count > 0 ? g->members_count : 1),
                 sizeof(*old));
    if (old == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < g->members_count; i++) {
        if ((err = sl_ctps_copy(&old[i], &g->members[i]->target)) != SL_OK) {
            goto out;
        }
    }
    if ((err = sl_cgroup_assign(g, sl_cgroup_assignor(cc, g))) != SL_OK) {
        goto out;
    }
    for (i = 0; i < g->members_count; i++) {
        if (!sl_ctps_eq(&old[i], &g->members[i]->target)) {
            sl_cgroup_persist_target(cc, g, g->members[i], op);
        }
    }
    g->assignment_epoch = g->epoch;
    sl_cgroup_persist_target_epoch(cc, g, op);
out:
    for (i = 0; i < g->members_count; i++) {
        sl_ctps_free(&old[i]);
    }
    free(old);
    return err;
}

/* ---- reconciliation (Kafka's CurrentAssignmentBuilder) ------------------ */

/* Is (t, p) held (assigned or being revoked) by a member other than <m>? */
static bool
sl_cgroup_held_by_other(const sl_cgroup_t *g, const sl_cmember_t *m,
                        const sl_uuid_t *t, int32_t p)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        const sl_cmember_t *o = g->members[i];

        if (o != m && (sl_ctps_has(&o->assigned, t, p) ||
                       sl_ctps_has(&o->revoking, t, p))) {
            return true;
        }
    }
    return false;
}

/* Does the member still own one of <s>? Unknown (NULL owned): yes. */
static bool
sl_cgroup_owns_any(const sl_cgroup_tps_t *owned, int32_t owned_count,
                   const sl_ctps_t *s)
{
    int32_t i, j;

    if (owned == NULL) {
        return true;
    }
    for (i = 0; i < owned_count; i++) {
        for (j = 0; j < owned[i].partitions_count; j++) {
            if (sl_ctps_has(s, &owned[i].topic_id, owned[i].partitions[j])) {
                return true;
            }
        }
    }
    return false;
}

static sl_err_t
sl_cgroup_next_assignment(const sl_cgroup_t *g, sl_cmember_t *m,
                          const sl_cgroup_tps_t *owned, int32_t owned_count)
{
    sl_ctps_t keep = {0}, next = {0}, revoke = {0};
    bool unreleased = false;
    sl_err_t err = SL_OK;
    int32_t i;

    for (i = 0; i < m->target.n && err == SL_OK; i++) {
        const sl_ctp_t *tp = &m->target.v[i];

        if (sl_ctps_has(&m->assigned, &tp->topic, tp->p)) {
            err = sl_ctps_add(&keep, &tp->topic, tp->p);
            if (err == SL_OK) {
                err = sl_ctps_add(&next, &tp->topic, tp->p);
            }
        } else if (!sl_cgroup_held_by_other(g, m, &tp->topic, tp->p)) {
            err = sl_ctps_add(&next, &tp->topic, tp->p);
        } else {
            unreleased = true;
        }
    }
    for (i = 0; i < m->assigned.n && err == SL_OK; i++) {
        const sl_ctp_t *tp = &m->assigned.v[i];

        if (!sl_ctps_has(&m->target, &tp->topic, tp->p)) {
            err = sl_ctps_add(&revoke, &tp->topic, tp->p);
        }
    }
    if (err != SL_OK) {
        goto out;
    }
    m->prev_epoch = m->epoch;
    if (revoke.n > 0 && sl_cgroup_owns_any(owned, owned_count, &revoke)) {
        /* Revoke first, at the current epoch; new partitions come later. */
        m->state = SL_CMEMBER_UNREVOKED_PARTITIONS;
        err = sl_ctps_copy(&m->assigned, &keep);
        if (err == SL_OK) {
            err = sl_ctps_copy(&m->revoking, &revoke);
        }
        goto out;
    }
    m->epoch = g->assignment_epoch;
    m->state =
        unreleased ? SL_CMEMBER_UNRELEASED_PARTITIONS : SL_CMEMBER_STABLE;
    err = sl_ctps_copy(&m->assigned, &next);
    m->revoking.n = 0;
out:
    sl_ctps_free(&keep);
    sl_ctps_free(&next);
    sl_ctps_free(&revoke);
    return err;
}

/* Move <m>'s current assignment towards its target. */
static sl_err_t
sl_cgroup_reconcile(const sl_cgroup_t *g, sl_cmember_t *m,
                    const sl_cgroup_tps_t *owned, int32_t owned_count)
{
    switch (m->state) {
    case SL_CMEMBER_UNREVOKED_PARTITIONS:
        if (sl_cgroup_owns_any(owned, owned_count, &m->revoking)) {
            return SL_OK; /* still revoking */
        }
        m->revoking.n = 0;
        return sl_cgroup_next_assignment(g, m, owned, owned_count);
    case SL_CMEMBER_UNRELEASED_PARTITIONS:
        return sl_cgroup_next_assignment(g, m, owned, owned_count);
    case SL_CMEMBER_STABLE:
    default:
        if (m->epoch == g->assignment_epoch && m->state == SL_CMEMBER_STABLE &&
            m->epoch >= 0) {
            return SL_OK;
        }
        return sl_cgroup_next_assignment(g, m, owned, owned_count);
    }
}

/* ---- fencing -------------------------------------------------------- */

/* Remove <m> (left or fenced): tombstones, then a new group epoch. */
static sl_err_t
sl_cgroup_fence(sl_cgroup_coord_t *cc, sl_cgroup_t *g, sl_cmember_t *m,
                const sl_cgroup_topics_t *topics, sl_cop_t *op)
{
    sl_err_t err = SL_OK;
    bool topics_changed = false;

    sl_cgroup_persist_member_gone(cc, g, sl_gstr_view(&m->id), op);
    sl_cmember_remove(g, m);
    if (topics != NULL) {
        topics_changed = sl_cgroup_refresh_topics(g, topics, &err);
    } else {
        /* No image at hand: keep only topics someone still subscribes to.*/
        sl_cgroup_topics_t cur;
        sl_cgroup_topic_t *v = calloc(
            (size_t)(g->topics_count > 0 ? g->topics_count : 1), sizeof(*v));
        int32_t i;

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < g->topics_count; i++) {
            v[i].name = sl_gstr_view(&g->topics[i].name);
            v[i].id = g->topics[i].id;
            v[i].partitions = g->topics[i].partitions;
        }
        cur.v = v;
        cur.n = g->topics_count;
        topics_changed = sl_cgroup_refresh_topics(g, &cur, &err);
        free(v);
    }
    if (err == SL_OK) {
        err = sl_cgroup_update_target(cc, g, true, topics_changed, op);
    }
    return err;
}

void
sl_cgroup_coord_tick(sl_cgroup_coord_t *cc, int64_t now_ms)
{
    int32_t gi, i;

    pthread_mutex_lock(&cc->lock);
    for (gi = 0; gi < cc->groups_count; gi++) {
        sl_cgroup_t *g = cc->groups[gi];

        for (i = 0; i < g->members_count; i++) {
            sl_cmember_t *m = g->members[i];
            bool session = m->session_deadline <= now_ms;
            bool rebalance = m->state == SL_CMEMBER_UNREVOKED_PARTITIONS &&
                             m->rebalance_deadline <= now_ms;

            if (session || rebalance) {
                sl_log_info("group",
                            "consumer group member fenced group=%.*s "
                            "member=%s reason=%s",
                            (int)g->id.len, g->id.ptr, m->id.ptr,
                            session ? "session timeout" : "rebalance timeout");
                sl_cgroup_fence(cc, g, m, NULL, NULL);
                i = -1; /* the array changed: start over */
            }
        }
    }
    pthread_mutex_unlock(&cc->lock);
}

/* ---- ConsumerGroupHeartbeat ------------------------------------------ */

static sl_err_t sl_cgroup_hb_fail(sl_cgroup_hb_result_t *r, sl_arena_t *a,
                                  sl_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sl_err_t
sl_cgroup_hb_fail(sl_cgroup_hb_result_t *r, sl_arena_t *a, sl_err_t err,
                  const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    r->error = err;
    if (fmt != NULL) {
        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n >= (int)sizeof(buf)) {
            n = (int)sizeof(buf) - 1;
        }
        if (n > 0) {
            sl_str_t s = {buf, n};

            r->error_message = sl_gstr_arena(a, s);
        }
    }
    return err;
}

/* Kafka's request checks (throwIfConsumerGroupHeartbeatRequestIsInvalid). */
static sl_err_t
sl_cgroup_hb_validate(const sl_cgroup_hb_req_t *q, sl_cgroup_hb_result_t *r,
                      sl_arena_t *a)
{
    if (q->version >= 1 && q->member_id.len <= 0) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "MemberId can't be empty.");
    }
    if (q->group_id.len <= 0) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "GroupId can't be empty.");
    }
    if (q->rack_id.len == 0) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "RackId can't be empty.");
    }
    if (q->instance_id.len == 0) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "InstanceId can't be empty.");
    }
    if ((q->member_epoch > 0 || q->member_epoch == SL_CGROUP_LEAVE_EPOCH) &&
        q->member_id.len <= 0) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "MemberId can't be empty.");
    }
    if (q->member_epoch == 0) {
        if (q->rebalance_timeout_ms == -1) {
            return sl_cgroup_hb_fail(
                r, a, SL_ERR_INVALID_REQUEST,
                "RebalanceTimeoutMs must be provided in first request.");
        }
        if (q->owned == NULL || q->owned_count != 0) {
            return sl_cgroup_hb_fail(
                r, a, SL_ERR_INVALID_REQUEST,
                "TopicPartitions must be empty when (re-)joining.");
        }
        if (q->subscribed_topic_names == NULL &&
            q->subscribed_topic_regex.len < 0) {
            return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                     "SubscribedTopicNames or "
                                     "SubscribedTopicRegex must be set in "
                                     "first request.");
        }
    } else if (q->member_epoch == SL_CGROUP_STATIC_LEAVE_EPOCH) {
        if (q->instance_id.len < 0) {
            return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                     "InstanceId can't be null.");
        }
    } else if (q->member_epoch < SL_CGROUP_STATIC_LEAVE_EPOCH) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REQUEST,
                                 "MemberEpoch is invalid.");
    }
    if (q->server_assignor.len >= 0 &&
        !sl_cgroup_assignor_known(q->server_assignor)) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_UNSUPPORTED_ASSIGNOR,
                                 "ServerAssignor %.*s is not supported. "
                                 "Supported assignors: uniform, range.",
                                 (int)q->server_assignor.len,
                                 q->server_assignor.ptr);
    }
    if (q->subscribed_topic_regex.len > 0) {
        regex_t *re;
        sl_err_t err = sl_cgroup_regex_compile(q->subscribed_topic_regex, &re);

        if (err == SL_ERR__NOMEM) {
            return err;
        }
        if (err != SL_OK) {
            return sl_cgroup_hb_fail(r, a, SL_ERR_INVALID_REGULAR_EXPRESSION,
                                     "SubscribedTopicRegex `%.*s` is not a "
                                     "valid regular expression.",
                                     q->subscribed_topic_regex.len > 300
                                         ? 300
                                         : (int)q->subscribed_topic_regex.len,
                                     q->subscribed_topic_regex.ptr);
        }
        sl_cgroup_regex_free(re);
    }
    return SL_OK;
}

/* A member id for v0 clients: a UUID-like string. */
static void
sl_cgroup_new_member_id(sl_cgroup_coord_t *cc, char *buf, size_t cap)
{
    uint64_t x = cc->id_seed ^ (++cc->id_counter * 0x9e3779b97f4a7c15ULL);
    uint64_t y = cc->id_counter * 0xbf58476d1ce4e5b9ULL + cc->id_seed;

    x ^= x >> 31;
    y ^= y >> 29;
    snprintf(buf, cap, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(x >> 32),
             (unsigned)(x >> 16) & 0xffffu, (unsigned)x & 0xffffu,
             (unsigned)(y >> 48), (unsigned long long)(y & 0xffffffffffffULL));
}

/* Set the member's subscription from the request; *changed when it did. */
static sl_err_t
sl_cgroup_update_member(sl_cmember_t *m, const sl_cgroup_hb_req_t *q,
                        bool *sub_changed, bool *meta_changed)
{
    int32_t i;

    if (q->rack_id.len >= 0 && !sl_gstr_eq(&m->rack_id, q->rack_id)) {
        *meta_changed = true;
        if (sl_gstr_set(&m->rack_id, q->rack_id.ptr, q->rack_id.len)) {
            return SL_ERR__NOMEM;
        }
    }
    if (!sl_gstr_eq(&m->client_id, q->client_id) ||
        !sl_gstr_eq(&m->client_host, q->client_host)) {
        *meta_changed = true;
        if (sl_gstr_set(&m->client_id, q->client_id.ptr, q->client_id.len) ||
            sl_gstr_set(&m->client_host, q->client_host.ptr,
                        q->client_host.len)) {
            return SL_ERR__NOMEM;
        }
    }
    if (q->instance_id.len >= 0 &&
        !sl_gstr_eq(&m->instance_id, q->instance_id)) {
        *meta_changed = true;
        if (sl_gstr_set(&m->instance_id, q->instance_id.ptr,
                        q->instance_id.len)) {
            return SL_ERR__NOMEM;
        }
    }
    if (q->rebalance_timeout_ms != -1 &&
        q->rebalance_timeout_ms != m->rebalance_timeout_ms) {
        *meta_changed = true;
        m->rebalance_timeout_ms = q->rebalance_timeout_ms;
    }
    if (q->server_assignor.len >= 0 &&
        !sl_gstr_eq(&m->assignor, q->server_assignor)) {
        *sub_changed = true;
        if (sl_gstr_set(&m->assignor, q->server_assignor.ptr,
                        q->server_assignor.len)) {
            return SL_ERR__NOMEM;
        }
    }
    if (q->subscribed_topic_names != NULL) {
        bool same = q->subscribed_topic_names_count == m->topics_count;
        sl_gstr_t *v;

        for (i = 0; same && i < m->topics_count; i++) {
            same = sl_gstr_eq(&m->topics[i], q->subscribed_topic_names[i]);
        }
        if (!same) {
            int32_t n = q->subscribed_topic_names_count;

            v = calloc((size_t)(n > 0 ? n : 1), sizeof(*v));
            if (v == NULL) {
                return SL_ERR__NOMEM;
            }
            for (i = 0; i < n; i++) {
                if (sl_gstr_set(&v[i], q->subscribed_topic_names[i].ptr,
                                q->subscribed_topic_names[i].len < 0
                                    ? 0
                                    : q->subscribed_topic_names[i].len)) {
                    while (i-- > 0) {
                        sl_gstr_free(&v[i]);
                    }
                    free(v);
                    return SL_ERR__NOMEM;
                }
            }
            for (i = 0; i < m->topics_count; i++) {
                sl_gstr_free(&m->topics[i]);
            }
            free(m->topics);
            m->topics = v;
            m->topics_count = n;
            *sub_changed = true;
        }
    }
    if (q->subscribed_topic_regex.len >= 0 &&
        !sl_gstr_eq(&m->regex, q->subscribed_topic_regex)) {
        *sub_changed = true;
        return sl_cmember_set_regex(m, q->subscribed_topic_regex);
    }
    return SL_OK;
}

/* Fill the result's assignment from the member's assigned partitions. */
static sl_err_t
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

static sl_err_t
sl_cgroup_hb_leave(sl_cgroup_coord_t *cc, const sl_cgroup_hb_req_t *q,
                   const sl_cgroup_topics_t *topics, sl_arena_t *a,
                   sl_cgroup_hb_result_t *r, sl_cop_t *op)
{
    sl_cgroup_t *g = sl_cgroup_find(cc, q->group_id);
    sl_cmember_t *m;

    r->member_id = sl_gstr_arena(a, q->member_id);
    r->member_epoch = q->member_epoch;
    if (g == NULL) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_GROUP_ID_NOT_FOUND,
                                 "Group %.*s not found.", (int)q->group_id.len,
                                 q->group_id.ptr);
    }
    if (q->instance_id.len >= 0) {
        m = sl_cmember_find_instance(g, q->instance_id);
        if (m == NULL) {
            return sl_cgroup_hb_fail(
                r, a, SL_ERR_UNKNOWN_MEMBER_ID, "Instance id %.*s is unknown.",
                (int)q->instance_id.len, q->instance_id.ptr);
        }
        if (!sl_gstr_eq(&m->id, q->member_id)) {
            return sl_cgroup_hb_fail(r, a, SL_ERR_FENCED_INSTANCE_ID,
                                     "Static member %.*s with instance id "
                                     "%.*s was fenced.",
                                     (int)q->member_id.len, q->member_id.ptr,
                                     (int)q->instance_id.len,
                                     q->instance_id.ptr);
        }
    } else if ((m = sl_cmember_find(g, q->member_id)) == NULL) {
        return sl_cgroup_hb_fail(r, a, SL_ERR_UNKNOWN_MEMBER_ID,
                                 "Member %.*s is not a member of group %.*s.",
                                 (int)q->member_id.len, q->member_id.ptr,
                                 (int)q->group_id.len, q->group_id.ptr);
    }
    if (q->member_epoch == SL_CGROUP_STATIC_LEAVE_EPOCH) {
        /* A static member leaves for a while: its partitions stay assigned
         * until it comes back or its session expires. */
        m->epoch = SL_CGROUP_STATIC_LEAVE_EPOCH;
        sl_cgroup_persist_current(cc, g, m, op);
        return SL_OK;
    }
    return sl_cgroup_fence(cc, g, m, topics, op);
}

static sl_err_t
sl_cgroup_hb_locked(sl_cgroup_coord_t *cc, int64_t now_ms,
                    const sl_cgroup_hb_req_t *q,
                    const sl_cgroup_topics_t *topics, sl_arena_t *a,
                    sl_cgroup_hb_result_t *r, sl_cop_t *op)
{
    sl_cgroup_t *g;
    sl_cmember_t *m = NULL, *old = NULL;
    sl_ctps_t before = {0};
    int32_t before_epoch, before_prev;
    sl_cmember_state_e before_state;
    bool created_group = false, is_new = false, sub = false, meta = false;
    bool topics_changed, full;
    sl_str_t member_id = q->member_id;
    char idbuf[64];
    sl_err_t err;

    if ((err = sl_cgroup_hb_validate(q, r, a)) != SL_OK) {
        return err;
    }
    if (q->member_epoch < 0) {
        return sl_cgroup_hb_leave(cc, q, topics, a, r, op);
    }
    if ((g = sl_cgroup_find(cc, q->group_id)) == NULL) {
        if (q->member_epoch != 0) {
            return sl_cgroup_hb_fail(r, a, SL_ERR_GROUP_ID_NOT_FOUND,
                                     "Consumer group %.*s not found.",
                                     (int)q->group_id.len, q->group_id.ptr);
        }
        if ((g = sl_cgroup_create(cc, q->group_id)) == NULL) {
            return SL_ERR__NOMEM;
        }
        created_group = true;
    }
    if (q->member_epoch == 0 && member_id.len <= 0) { /* v0 */
        sl_cgroup_new_member_id(cc, idbuf, sizeof(idbuf));
        member_id = (sl_str_t){idbuf, (int32_t)strlen(idbuf)};
    }
    if (q->instance_id.len >= 0) {
        old = sl_cmember_find_instance(g, q->instance_id);
        if (q->member_epoch == 0) {
            if (old != NULL && old->epoch != SL_CGROUP_STATIC_LEAVE_EPOCH &&
                !sl_gstr_eq(&old->id, member_id)) {
                err = sl_cgroup_hb_fail(r, a, SL_ERR_UNRELEASED_INSTANCE_ID,
                                        "Static member %.*s with instance id "
                                        "%.*s cannot join the group because "
                                        "the instance id is is owned by %s.",
                                        (int)member_id.len, member_id.ptr,
                                        (int)q->instance_id.len,
                                        q->instance_id.ptr, old->id.ptr);
                goto fail;
            }
        } else {
            m = sl_cmember_find(g, member_id);
            if (m == NULL) {
                err = sl_cgroup_hb_fail(r, a, SL_ERR_UNKNOWN_MEMBER_ID,
                                        "Member %.*s is not a member of "
                                        "group %.*s.",
                                        (int)member_id.len, member_id.ptr,
                                        (int)q->group_id.len, q->group_id.ptr);
                goto fail;
            }
            if (old != m) {
                err = sl_cgroup_hb_fail(r, a, SL_ERR_FENCED_INSTANCE_ID,
                                        "Static member %.*s with instance id "
                                        "%.*s was fenced by another member.",
                                        (int)member_id.len, member_id.ptr,
                                        (int)q->instance_id.len,
                                        q->instance_id.ptr);
                goto fail;
            }
        }
    } else if (q->member_epoch != 0) {
        if ((m = sl_cmember_find(g, member_id)) == NULL) {
            err = sl_cgroup_hb_fail(r, a, SL_ERR_UNKNOWN_MEMBER_ID,
                                    "Member %.*s is not a member of group "
                                    "%.*s.",
                                    (int)member_id.len, member_id.ptr,
                                    (int)q->group_id.len, q->group_id.ptr);
            goto fail;
        }
    }
    if (m != NULL) {
        /* Kafka's throwIfMemberEpochIsInvalid. */
        if (q->member_epoch > m->epoch) {
            err = sl_cgroup_hb_fail(r, a, SL_ERR_FENCED_MEMBER_EPOCH,
                                    "The consumer group member has a greater "
                                    "member epoch (%d) than the one known by "
                                    "the group coordinator (%d). The member "
                                    "must abandon all its partitions and "
                                    "rejoin.",
                                    (int)q->member_epoch, (int)m->epoch);
            goto fail;
        }
        if (q->member_epoch < m->epoch) {
            bool subset = q->owned != NULL;
            int32_t i, j;

            for (i = 0; subset && i < q->owned_count; i++) {
                for (j = 0; subset && j < q->owned[i].partitions_count; j++) {
                    subset = sl_ctps_has(&m->assigned, &q->owned[i].topic_id,
                                         q->owned[i].partitions[j]);
                }
            }
            if (q->member_epoch != m->prev_epoch || !subset) {
                err = sl_cgroup_hb_fail(
                    r, a, SL_ERR_FENCED_MEMBER_EPOCH,
                    "The consumer group member has a smaller member epoch "
                    "(%d) than the one known by the group coordinator (%d). "
                    "The member must abandon all its partitions and rejoin.",
                    (int)q->member_epoch, (int)m->epoch);
                goto fail;
            }
        }
    } else {
        /* Joining at epoch 0. A dynamic member rejoining with its id is
         * fenced first: it lost its partitions. */
        sl_cmember_t *same = sl_cmember_find(g, member_id);

        if (same != NULL && same != old) {
            if ((err = sl_cgroup_fence(cc, g, same, topics, op)) != SL_OK) {
                goto fail;
            }
        }
        if (old == NULL && g->members_count >= cc->cfg.max_size) {
            err = sl_cgroup_hb_fail(r, a, SL_ERR_GROUP_MAX_SIZE_REACHED,
                                    "The consumer group has reached its "
                                    "maximum capacity of %d members.",
                                    (int)cc->cfg.max_size);
            goto fail;
        }
        if ((m = sl_cmember_add(g, member_id)) == NULL) {
            err = SL_ERR__NOMEM;
            goto fail;
        }
        is_new = true;
        if (old != NULL) {
            /* A static member replaces its earlier self: it takes over
             * the assignment (Kafka's static member replacement). */
            sl_str_t oid = sl_gstr_view(&old->id);

            if (sl_ctps_copy(&m->assigned, &old->assigned) != SL_OK ||
                sl_ctps_copy(&m->revoking, &old->revoking) != SL_OK ||
                sl_ctps_copy(&m->target, &old->target) != SL_OK) {
                err = SL_ERR__NOMEM;
                goto fail;
            }
            /* Kafka restarts the replacement at epoch 0; it reconciles to
             * the target below, keeping the partitions. */
            m->epoch = 0;
            m->prev_epoch = 0;
            m->state = old->state;
            /* Its subscription too, so only a real change bumps. */
            m->topics = old->topics;
            m->topics_count = old->topics_count;
            old->topics = NULL;
            old->topics_count = 0;
            m->assignor = old->assignor;
            old->assignor = (sl_gstr_t){NULL, -1};
            m->rebalance_timeout_ms = old->rebalance_timeout_ms;
            if (sl_cmember_set_regex(m, sl_gstr_view(&old->regex)) != SL_OK) {
                err = SL_ERR__NOMEM;
                goto fail;
            }
            if (!sl_gstr_eq(&old->id, member_id)) {
                sl_cgroup_persist_member_gone(cc, g, oid, op);
            }
            sl_cmember_remove(g, old);
            old = NULL;
            sl_cgroup_persist_target(cc, g, m, op);
            is_new = false; /* no new group epoch for a replacement */
            meta = true;
        }
        sub = is_new;
    }
    if ((err = sl_cgroup_update_member(m, q, &sub, &meta)) != SL_OK) {
        goto fail;
    }
    m->session_deadline = now_ms + cc->cfg.session_timeout_ms;
    if (sub || meta) {
        sl_cgroup_persist_member(cc, g, m, op);
    }
    topics_changed = sl_cgroup_refresh_topics(g, topics, &err);
    if (err != SL_OK) {
        goto fail;
    }
    err = sl_cgroup_update_target(cc, g, sub || topics_changed, topics_changed,
                                  op);
    if (err != SL_OK) {
        goto fail;
    }
    before_epoch = m->epoch;
    before_prev = m->prev_epoch;
    before_state = m->state;
    if (sl_ctps_copy(&before, &m->assigned) != SL_OK) {
        err = SL_ERR__NOMEM;
        goto fail;
    }
    err = sl_cgroup_reconcile(g, m, q->owned, q->owned_count);
    if (err != SL_OK) {
        sl_ctps_free(&before);
        goto fail;
    }
    if (m->state == SL_CMEMBER_UNREVOKED_PARTITIONS) {
        if (before_state != SL_CMEMBER_UNREVOKED_PARTITIONS ||
            m->rebalance_deadline == INT64_MAX) {
            m->rebalance_deadline =
                now_ms +
                (m->rebalance_timeout_ms > 0 ? m->rebalance_timeout_ms : 0);
        }
    } else {
        m->rebalance_deadline = INT64_MAX;
    }
    if (is_new || before_epoch != m->epoch || before_prev != m->prev_epoch ||
        before_state != m->state || !sl_ctps_eq(&before, &m->assigned)) {
        sl_cgroup_persist_current(cc, g, m, op);
    }
    full = q->rebalance_timeout_ms != -1 &&
           (q->subscribed_topic_names != NULL ||
            q->subscribed_topic_regex.len >= 0) &&
           q->owned != NULL;
    r->member_id = sl_gstr_arena(a, sl_gstr_view(&m->id));
    r->member_epoch = m->epoch;
    r->heartbeat_interval_ms = cc->cfg.heartbeat_interval_ms;
    if (q->member_epoch == 0 || full || !sl_ctps_eq(&before, &m->assigned)) {
        r->has_assignment = true;
        err = sl_cgroup_tps_out(a, g, &m->assigned, &r->assignment,
                                &r->assignment_count);
    }
    sl_ctps_free(&before);
    return err;
fail:
    if (created_group && g->members_count == 0) {
        sl_cgroup_remove(cc, g);
    }
    return err;
}

void
sl_cgroup_heartbeat(sl_cgroup_coord_t *cc, int64_t now_ms,
                    const sl_cgroup_hb_req_t *req,
                    const sl_cgroup_topics_t *topics, sl_arena_t *a,
                    sl_cgroup_hb_cb cb, void *arg)
{
    static sl_cgroup_hb_result_t nomem = {.error = SL_ERR__NOMEM};
    sl_cgroup_hb_result_t *r = sl_arena_zalloc(a, sizeof(*r));
    sl_cop_t *op = calloc(1, sizeof(*op));
    sl_err_t err;

    if (r == NULL || op == NULL) {
        free(op);
        cb(arg, &nomem);
        return;
    }
    r->error_message = (sl_str_t){NULL, -1};
    r->member_id = (sl_str_t){NULL, -1};
    atomic_init(&op->refs, 1);
    atomic_init(&op->err, SL_OK);
    op->cb = cb;
    op->arg = arg;
    op->r = r;
    pthread_mutex_lock(&cc->lock);
    err = sl_cgroup_hb_locked(cc, now_ms, req, topics, a, r, op);
    pthread_mutex_unlock(&cc->lock);
    if (err != SL_OK && r->error == SL_OK) {
        r->error = err;
    }
    if (r->error != SL_OK && r->error != SL_ERR__NOMEM) {
        /* An error answer carries no member data. */
        r->has_assignment = false;
        if (req->member_epoch >= 0) {
            r->member_epoch = 0;
        }
    }
    sl_cop_release(op, SL_OK);
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
