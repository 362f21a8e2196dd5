/*
 * group/consumer_heartbeat.c: ConsumerGroupHeartbeat: request checks,
 * membership (dynamic and static members, leaving, fencing), the group
 * epoch, the target assignment, the reconciliation of each member's current
 * assignment, and the session and rebalance timers.
 *
 * The rules follow Kafka 4.0's GroupMetadataManager and
 * CurrentAssignmentBuilder: a member at an older epoch than the target
 * moves to the target epoch at once when it has nothing to revoke and every
 * new partition is free (STABLE); keeps its epoch and gives up the revoked
 * partitions first when it has some (UNREVOKED_PARTITIONS); or moves to the
 * target epoch holding only the free new partitions, waiting for others to
 * release the rest (UNRELEASED_PARTITIONS).
 *
 * Owns: nothing beyond a call; state belongs to the coordinator
 * (consumer.c). Locking: cc->lock around every public entry.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "group/consumer_int.h"

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
        /* An error answer carries no member data (as Kafka's). */
        r->has_assignment = false;
        r->member_id = (sl_str_t){NULL, -1};
        r->member_epoch = 0;
        r->heartbeat_interval_ms = 0;
    }
    sl_cop_release(op, SL_OK);
}
