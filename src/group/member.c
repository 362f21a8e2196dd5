/*
 * group/member.c: membership of classic groups: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup and the timers that drive a group between
 * Empty, PreparingRebalance, CompletingRebalance and Stable.
 *
 * State table (Kafka's classic protocol):
 *   Empty               --join-->               PreparingRebalance
 *                       (initial delay: group.initial.rebalance.delay.ms,
 *                        extended while new members arrive, bounded by
 *                        the rebalance timeout)
 *   PreparingRebalance  --all joined | join deadline--> CompletingRebalance
 *                       (generation+1, protocol chosen, leader answered
 *                        with the member list) or Empty if nobody is left
 *   CompletingRebalance --leader sync persisted--> Stable
 *   CompletingRebalance, Stable --member joins with new protocols, leaves,
 *                       expires, or owes a sync past the rebalance
 *                       timeout--> PreparingRebalance
 *
 * A member awaiting join or sync is kept alive; others expire after their
 * session timeout. A new member (no join completed yet) is the exception:
 * its parked JoinGroup times out after the new-member join timeout, so
 * clients that gave up do not pile up in a long rebalance (Kafka's
 * hasSatisfiedHeartbeat()). Static members (group.instance.id) that do not
 * rejoin are kept across a rebalance and expire only by session timeout
 * (KIP-345).
 *
 * Owns: nothing beyond the groups' members (allocated here, freed in
 * coord.c). Every function runs with the coordinator lock held except the
 * public entry points, which take it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/group_int.h"

static void sl_group_prepare_rebalance(sl_group_coord_t *gc, sl_group_t *g,
                                       int64_t now_ms);
static void sl_group_maybe_complete_join(sl_group_coord_t *gc, sl_group_t *g,
                                         int64_t now_ms);

static const sl_str_t sl_group_null_str = {NULL, -1};
static const sl_str_t sl_group_empty_str = {"", 0};

static bool
sl_group_str_set(sl_str_t s)
{
    return s.ptr != NULL && s.len > 0;
}

sl_gmember_t *
sl_group_member_find(const sl_group_t *g, sl_str_t id)
{
    int32_t i;

    if (id.len <= 0) {
        return NULL;
    }
    for (i = 0; i < g->members_count; i++) {
        if (sl_gstr_eq(&g->members[i]->id, id)) {
            return g->members[i];
        }
    }
    return NULL;
}

static sl_gmember_t *
sl_group_member_by_instance(const sl_group_t *g, sl_str_t instance_id)
{
    int32_t i;

    if (instance_id.len < 0) {
        return NULL;
    }
    for (i = 0; i < g->members_count; i++) {
        if (sl_gstr_eq(&g->members[i]->instance_id, instance_id)) {
            return g->members[i];
        }
    }
    return NULL;
}

static int32_t
sl_group_pending_index(const sl_group_t *g, sl_str_t id)
{
    int32_t i;

    for (i = 0; id.len > 0 && i < g->pending_count; i++) {
        if (sl_gstr_eq(&g->pending[i].id, id)) {
            return i;
        }
    }
    return -1;
}

static void
sl_group_pending_remove(sl_group_t *g, int32_t i)
{
    sl_gstr_free(&g->pending[i].id);
    g->pending[i] = g->pending[--g->pending_count];
}

static bool
sl_group_is_leader(const sl_group_t *g, const sl_gmember_t *m)
{
    return sl_gstr_eq(&g->leader, sl_gstr_view(&m->id));
}

/* A new member id: "<prefix>-<uuid>" as Kafka builds them. */
static sl_err_t
sl_group_new_member_id(sl_group_coord_t *gc, sl_str_t prefix, sl_gstr_t *out)
{
    uint64_t x = gc->id_seed ^ (++gc->id_counter * 0x9e3779b97f4a7c15ULL);
    uint64_t y = gc->id_counter * 0xbf58476d1ce4e5b9ULL + gc->id_seed;
    char uuid[40];
    char *buf;
    size_t plen = prefix.len > 0 ? (size_t)prefix.len : 0;
    sl_err_t err;

    x ^= x >> 31;
    y ^= y >> 29;
    snprintf(uuid, sizeof(uuid), "%08x-%04x-%04x-%04x-%012llx",
             (unsigned)(x >> 32), (unsigned)(x >> 16) & 0xffffu,
             (unsigned)x & 0xffffu, (unsigned)(y >> 48),
             (unsigned long long)(y & 0xffffffffffffULL));
    if ((buf = malloc(plen + 1 + strlen(uuid) + 1)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if (plen > 0) {
        memcpy(buf, prefix.ptr, plen);
    }
    buf[plen] = '-';
    strcpy(buf + plen + 1, uuid);
    err = sl_gstr_set(out, buf, (int32_t)strlen(buf));
    free(buf);
    return err;
}

static sl_err_t
sl_group_member_set_protocols(sl_gmember_t *m, const sl_group_join_req_t *req)
{
    sl_gproto_t *p;
    int32_t i;

    p = calloc((size_t)req->protocols_count + 1, sizeof(*p));
    if (p == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < req->protocols_count; i++) {
        const sl_group_protocol_t *rp = &req->protocols[i];

        if (sl_gstr_set(&p[i].name, rp->name.ptr,
                        rp->name.len < 0 ? 0 : rp->name.len) != SL_OK ||
            sl_gstr_set(&p[i].metadata, rp->metadata.ptr,
                        rp->metadata.len < 0 ? 0 : rp->metadata.len) != SL_OK) {
            for (; i >= 0; i--) {
                sl_gstr_free(&p[i].name);
                sl_gstr_free(&p[i].metadata);
            }
            free(p);
            return SL_ERR__NOMEM;
        }
    }
    for (i = 0; i < m->protocols_count; i++) {
        sl_gstr_free(&m->protocols[i].name);
        sl_gstr_free(&m->protocols[i].metadata);
    }
    free(m->protocols);
    m->protocols = p;
    m->protocols_count = req->protocols_count;
    return SL_OK;
}

/* Whether <req> carries exactly the member's protocols (names, metadata,
 * order): Kafka's ClassicGroupMember.matches(). */
static bool
sl_group_member_matches(const sl_gmember_t *m, const sl_group_join_req_t *req)
{
    int32_t i;

    if (m->protocols_count != req->protocols_count) {
        return false;
    }
    for (i = 0; i < m->protocols_count; i++) {
        sl_str_t md = {(const char *)req->protocols[i].metadata.ptr,
                       req->protocols[i].metadata.len < 0
                           ? 0
                           : req->protocols[i].metadata.len};

        if (!sl_gstr_eq(&m->protocols[i].name, req->protocols[i].name) ||
            !sl_gstr_eq(&m->protocols[i].metadata, md)) {
            return false;
        }
    }
    return true;
}

static bool
sl_group_member_supports(const sl_gmember_t *m, sl_str_t name)
{
    int32_t i;

    for (i = 0; i < m->protocols_count; i++) {
        if (sl_gstr_eq(&m->protocols[i].name, name)) {
            return true;
        }
    }
    return false;
}

static bool
sl_group_all_support(const sl_group_t *g, sl_str_t name)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (!sl_group_member_supports(g->members[i], name)) {
            return false;
        }
    }
    return true;
}

/* Kafka's supportsProtocols(): an empty group takes any non-empty type and
 * protocol list; otherwise the type must match and one of the protocols
 * must be supported by every member. */
static bool
sl_group_supports(const sl_group_t *g, const sl_group_join_req_t *req)
{
    int32_t i;

    if (g->members_count == 0) {
        return sl_group_str_set(req->protocol_type) && req->protocols_count > 0;
    }
    if (!sl_gstr_eq(&g->protocol_type, req->protocol_type)) {
        return false;
    }
    for (i = 0; i < req->protocols_count; i++) {
        if (sl_group_all_support(g, req->protocols[i].name)) {
            return true;
        }
    }
    return false;
}

/*
 * Kafka's selectProtocol(): among protocols every member supports, each
 * member votes for the first one in its own preference list; most votes
 * wins. Kafka leaves ties to hash-map order; we break them by the order of
 * the first member's list, so the choice is deterministic.
 */
static sl_str_t
sl_group_select_protocol(const sl_group_t *g)
{
    const sl_gmember_t *first;
    sl_str_t best = sl_group_null_str;
    int32_t best_votes = -1;
    int32_t i, j, votes;

    if (g->members_count == 0) {
        return best;
    }
    first = g->members[0];
    for (i = 0; i < first->protocols_count; i++) {
        sl_str_t cand = sl_gstr_view(&first->protocols[i].name);

        if (!sl_group_all_support(g, cand)) {
            continue;
        }
        votes = 0;
        for (j = 0; j < g->members_count; j++) {
            const sl_gmember_t *m = g->members[j];
            int32_t k;

            for (k = 0; k < m->protocols_count; k++) {
                if (sl_group_all_support(g,
                                         sl_gstr_view(&m->protocols[k].name))) {
                    break;
                }
            }
            if (k < m->protocols_count &&
                sl_gstr_eq(&m->protocols[k].name, cand)) {
                votes++;
            }
        }
        if (votes > best_votes) {
            best_votes = votes;
            best = cand;
        }
    }
    return best;
}

static int32_t
sl_group_rebalance_timeout(const sl_group_t *g)
{
    int32_t t = 0;
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->rebalance_timeout_ms > t) {
            t = g->members[i]->rebalance_timeout_ms;
        }
    }
    return t;
}

static sl_bytes_t
sl_group_meta_for(const sl_gmember_t *m, const sl_gstr_t *protocol)
{
    sl_bytes_t none = {(const uint8_t *)"", 0};
    int32_t i;

    for (i = 0; i < m->protocols_count; i++) {
        if (sl_gstr_eq(&m->protocols[i].name, sl_gstr_view(protocol))) {
            return sl_gstr_bytes(&m->protocols[i].metadata);
        }
    }
    return none;
}

/* ---- completions ------------------------------------------------------- */

/* Queue a join answer. With <g> (error OK) the result carries the group's
 * generation; <with_members> adds the member list (the leader's answer). */
static sl_gdone_t *
sl_group_answer_join(sl_group_coord_t *gc, sl_group_join_cb cb, void *arg,
                     sl_err_t err, const sl_group_t *g, sl_str_t member_id,
                     bool with_members, bool skip_assignment)
{
    sl_gdone_t *d = sl_group_done_new(gc, SL_GDONE_JOIN, arg);
    sl_group_join_result_t *r = &d->u.join.r;
    sl_group_join_member_t *mm;
    int32_t i;

    d->u.join.cb = cb;
    r->error = err;
    r->generation_id = -1;
    r->protocol_type = r->protocol_name = sl_group_null_str;
    r->leader = sl_group_empty_str;
    r->member_id = sl_gstr_arena(d->a, member_id);
    if (r->member_id.ptr == NULL) {
        r->member_id = sl_group_empty_str;
    }
    if (g == NULL || err != SL_OK) {
        return d;
    }
    r->generation_id = g->generation;
    r->protocol_type = sl_gstr_arena(d->a, sl_gstr_view(&g->protocol_type));
    r->protocol_name = sl_gstr_arena(d->a, sl_gstr_view(&g->protocol_name));
    r->leader = sl_gstr_arena(d->a, sl_gstr_view(&g->leader));
    r->skip_assignment = skip_assignment;
    if (!with_members) {
        return d;
    }
    mm = sl_arena_calloc(d->a, (size_t)g->members_count + 1, sizeof(*mm));
    if (mm == NULL) {
        abort(); /* uncapped arena: only malloc failure */
    }
    for (i = 0; i < g->members_count; i++) {
        const sl_gmember_t *m = g->members[i];

        mm[i].member_id = sl_gstr_arena(d->a, sl_gstr_view(&m->id));
        mm[i].group_instance_id =
            sl_gstr_arena(d->a, sl_gstr_view(&m->instance_id));
        mm[i].metadata =
            sl_gbytes_arena(d->a, sl_group_meta_for(m, &g->protocol_name));
    }
    r->members = mm;
    r->members_count = g->members_count;
    return d;
}

static void
sl_group_answer_sync(sl_group_coord_t *gc, sl_group_sync_cb cb, void *arg,
                     sl_err_t err, const sl_group_t *g, const sl_gmember_t *m)
{
    sl_gdone_t *d = sl_group_done_new(gc, SL_GDONE_SYNC, arg);
    sl_group_sync_result_t *r = &d->u.sync.r;

    d->u.sync.cb = cb;
    r->error = err;
    r->protocol_type = r->protocol_name = sl_group_null_str;
    r->assignment.ptr = (const uint8_t *)"";
    r->assignment.len = 0;
    if (err != SL_OK || g == NULL) {
        return;
    }
    r->protocol_type = sl_gstr_arena(d->a, sl_gstr_view(&g->protocol_type));
    r->protocol_name = sl_gstr_arena(d->a, sl_gstr_view(&g->protocol_name));
    if (m != NULL && m->assignment.ptr != NULL) {
        r->assignment = sl_gbytes_arena(d->a, sl_gstr_bytes(&m->assignment));
    }
}

static void
sl_group_fail_member(sl_group_coord_t *gc, sl_gmember_t *m, sl_err_t err)
{
    if (m->join_cb != NULL) {
        sl_group_answer_join(gc, m->join_cb, m->join_arg, err, NULL,
                             sl_gstr_view(&m->id), false, false);
        m->join_cb = NULL;
    }
    if (m->sync_cb != NULL) {
        sl_group_answer_sync(gc, m->sync_cb, m->sync_arg, err, NULL, NULL);
        m->sync_cb = NULL;
    }
}

void
sl_group_fail_parked(sl_group_coord_t *gc, sl_group_t *g, sl_err_t err)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        sl_group_fail_member(gc, g->members[i], err);
    }
}

/* ---- transitions ------------------------------------------------------- */

static void
sl_group_update_sync_deadline(sl_group_t *g)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->pending_sync) {
            return;
        }
    }
    g->sync_deadline = INT64_MAX;
}

/*
 * Remove <m> from <g> and free it. Its parked requests are answered
 * UNKNOWN_MEMBER_ID. A stable or completing group rebalances; a preparing
 * one may now be complete.
 */
static void
sl_group_remove_member(sl_group_coord_t *gc, sl_group_t *g, sl_gmember_t *m,
                       int64_t now_ms)
{
    int32_t i;

    sl_group_fail_member(gc, m, SL_ERR_UNKNOWN_MEMBER_ID);
    for (i = 0; i < g->members_count; i++) {
        if (g->members[i] == m) {
            memmove(&g->members[i], &g->members[i + 1],
                    (size_t)(g->members_count - i - 1) * sizeof(m));
            g->members_count--;
            break;
        }
    }
    if (sl_group_is_leader(g, m)) {
        if (g->members_count > 0) {
            sl_gstr_set(&g->leader, g->members[0]->id.ptr,
                        g->members[0]->id.len);
        } else {
            sl_gstr_free(&g->leader);
        }
    }
    sl_group_member_free(m);
    sl_group_update_sync_deadline(g);
    if (g->state == SL_GROUP_STATE_STABLE ||
        g->state == SL_GROUP_STATE_COMPLETING_REBALANCE) {
        sl_group_prepare_rebalance(gc, g, now_ms);
    } else if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE) {
        sl_group_maybe_complete_join(gc, g, now_ms);
    }
}

static void
sl_group_prepare_rebalance(sl_group_coord_t *gc, sl_group_t *g, int64_t now_ms)
{
    int32_t rt = sl_group_rebalance_timeout(g);
    int32_t delay = gc->cfg.initial_rebalance_delay_ms;
    int32_t i;

    if (g->state == SL_GROUP_STATE_COMPLETING_REBALANCE) {
        /* Nobody got an assignment of this generation: drop them all. */
        for (i = 0; i < g->members_count; i++) {
            sl_gmember_t *m = g->members[i];

            sl_gstr_free(&m->assignment);
            if (m->sync_cb != NULL) {
                sl_group_answer_sync(gc, m->sync_cb, m->sync_arg,
                                     SL_ERR_REBALANCE_IN_PROGRESS, NULL, NULL);
                m->sync_cb = NULL;
            }
        }
    }
    for (i = 0; i < g->members_count; i++) {
        g->members[i]->pending_sync = false;
    }
    g->sync_deadline = INT64_MAX;
    g->initial_delay = false;
    g->new_member_added = false;
    if (g->state == SL_GROUP_STATE_EMPTY && delay > 0) {
        g->initial_delay = true;
        g->join_deadline = now_ms + (delay < rt ? delay : rt);
        g->initial_remaining_ms = rt > delay ? rt - delay : 0;
    } else {
        g->join_deadline = now_ms + rt;
    }
    sl_group_set_state(g, SL_GROUP_STATE_PREPARING_REBALANCE, now_ms);
    sl_group_maybe_complete_join(gc, g, now_ms);
}

static bool
sl_group_all_joined(const sl_group_t *g)
{
    int32_t i;

    if (g->pending_count > 0) {
        return false;
    }
    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->join_cb == NULL) {
            return false;
        }
    }
    return true;
}

/* Kafka's onCompleteJoin: drop dynamic members that did not rejoin, start
 * the next generation and answer every waiting join. */
static void
sl_group_complete_join(sl_group_coord_t *gc, sl_group_t *g, int64_t now_ms)
{
    sl_gmember_t *leader = NULL;
    sl_str_t proto;
    int32_t i;

    g->join_deadline = INT64_MAX;
    g->initial_delay = false;
    for (i = 0; i < g->members_count;) {
        sl_gmember_t *m = g->members[i];

        if (m->join_cb == NULL && m->instance_id.ptr == NULL) {
            memmove(&g->members[i], &g->members[i + 1],
                    (size_t)(g->members_count - i - 1) * sizeof(m));
            g->members_count--;
            sl_group_member_free(m);
            continue;
        }
        if (m->join_cb != NULL && leader == NULL) {
            leader = m;
        }
        i++;
    }
    if (g->members_count == 0) {
        g->generation++;
        sl_gstr_free(&g->protocol_name);
        sl_gstr_free(&g->leader);
        sl_group_set_state(g, SL_GROUP_STATE_EMPTY, now_ms);
        sl_group_persist_group(gc, g, false, now_ms, NULL, NULL);
        return;
    }
    if (leader == NULL) {
        /* Only static members that did not rejoin: wait for them to come
         * back or expire, as Kafka does. */
        g->join_deadline = now_ms + sl_group_rebalance_timeout(g);
        return;
    }
    for (i = 0; i < g->members_count; i++) {
        if (sl_group_is_leader(g, g->members[i]) &&
            g->members[i]->join_cb != NULL) {
            leader = g->members[i];
        }
    }
    sl_gstr_set(&g->leader, leader->id.ptr, leader->id.len);
    proto = sl_group_select_protocol(g);
    sl_gstr_set(&g->protocol_name, proto.ptr, proto.len);
    g->generation++;
    sl_group_set_state(g, SL_GROUP_STATE_COMPLETING_REBALANCE, now_ms);
    for (i = 0; i < g->members_count; i++) {
        sl_gmember_t *m = g->members[i];

        m->session_deadline = now_ms + m->session_timeout_ms;
        m->pending_sync = true;
        m->is_new = false;
        if (m->join_cb != NULL) {
            sl_group_answer_join(gc, m->join_cb, m->join_arg, SL_OK, g,
                                 sl_gstr_view(&m->id), m == leader, false);
            m->join_cb = NULL;
        }
    }
    g->sync_deadline = now_ms + sl_group_rebalance_timeout(g);
}

static void
sl_group_maybe_complete_join(sl_group_coord_t *gc, sl_group_t *g,
                             int64_t now_ms)
{
    if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE && !g->initial_delay &&
        sl_group_all_joined(g)) {
        sl_group_complete_join(gc, g, now_ms);
    }
}

/* ---- JoinGroup --------------------------------------------------------- */

static sl_err_t
sl_group_member_update(sl_gmember_t *m, const sl_group_join_req_t *req,
                       int64_t now_ms)
{
    sl_err_t err;

    if ((err = sl_group_member_set_protocols(m, req)) != SL_OK) {
        return err;
    }
    m->session_timeout_ms = req->session_timeout_ms;
    m->rebalance_timeout_ms = req->rebalance_timeout_ms < 0
                                  ? req->session_timeout_ms
                                  : req->rebalance_timeout_ms;
    if (!m->is_new) {
        m->session_deadline = now_ms + m->session_timeout_ms;
    }
    return SL_OK;
}

/* Park <m>'s join; an earlier parked join of the same member is answered
 * REBALANCE_IN_PROGRESS so the client retries with the newer one. */
static void
sl_group_park_join(sl_group_coord_t *gc, sl_gmember_t *m, sl_group_join_cb cb,
                   void *arg)
{
    if (m->join_cb != NULL) {
        sl_group_answer_join(gc, m->join_cb, m->join_arg,
                             SL_ERR_REBALANCE_IN_PROGRESS, NULL,
                             sl_gstr_view(&m->id), false, false);
    }
    m->join_cb = cb;
    m->join_arg = arg;
}

static sl_err_t
sl_group_add_member(sl_group_coord_t *gc, sl_group_t *g,
                    const sl_group_join_req_t *req, sl_gstr_t *id,
                    int64_t now_ms, sl_group_join_cb cb, void *arg)
{
    sl_gmember_t *m = calloc(1, sizeof(*m));
    sl_gmember_t **n;
    sl_str_t ci = req->client_id, ch = req->client_host;

    if (m == NULL) {
        return SL_ERR__NOMEM;
    }
    m->instance_id.len = -1;
    n = realloc(g->members, ((size_t)g->members_count + 1) * sizeof(*n));
    if (n == NULL ||
        sl_gstr_set(&m->instance_id, req->group_instance_id.ptr,
                    req->group_instance_id.len) != SL_OK ||
        sl_gstr_set(&m->client_id, ci.ptr, ci.len < 0 ? 0 : ci.len) != SL_OK ||
        sl_gstr_set(&m->client_host, ch.ptr, ch.len < 0 ? 0 : ch.len) !=
            SL_OK ||
        sl_group_member_update(m, req, now_ms) != SL_OK) {
        if (n != NULL) {
            g->members = n;
        }
        sl_group_member_free(m);
        return SL_ERR__NOMEM;
    }
    g->members = n;
    m->id = *id; /* ownership moves */
    id->ptr = NULL;
    id->len = -1;
    m->is_new = true;
    m->session_deadline = now_ms + gc->cfg.new_member_join_timeout_ms;
    g->members[g->members_count++] = m;
    if (g->members_count == 1) {
        sl_gstr_set(&g->protocol_type, req->protocol_type.ptr,
                    req->protocol_type.len);
    }
    if (!sl_gstr_is_set(&g->leader)) {
        sl_gstr_set(&g->leader, m->id.ptr, m->id.len);
    }
    sl_group_park_join(gc, m, cb, arg);
    if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE && g->initial_delay) {
        g->new_member_added = true;
    }
    if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE) {
        sl_group_maybe_complete_join(gc, g, now_ms);
    } else {
        sl_group_prepare_rebalance(gc, g, now_ms);
    }
    return SL_OK;
}

typedef struct sl_group_static_ctx_s {
    sl_gstr_t group_id;
    sl_gstr_t new_id;
    sl_gstr_t old_id;
    sl_gstr_t old_leader; /* the leader before the replacement */
    bool was_leader;
    bool skip_ok; /* JoinGroup v9+: may answer skip_assignment */
} sl_group_static_ctx_t;

static void
sl_group_static_ctx_free(sl_group_static_ctx_t *c)
{
    sl_gstr_free(&c->group_id);
    sl_gstr_free(&c->new_id);
    sl_gstr_free(&c->old_id);
    sl_gstr_free(&c->old_leader);
    free(c);
}

/*
 * The replaced static member is persisted (or not). On success its parked
 * join gets the current generation: with v9+ the leader gets the member
 * list and skip_assignment; before v9 everybody gets the old leader id, so
 * a rejoined leader does not think it must assign. On failure the old
 * member id is restored and the join fails.
 */
static void
sl_group_static_applied(sl_group_coord_t *gc, void *ctx, sl_err_t err)
{
    sl_group_static_ctx_t *c = ctx;
    sl_group_t *g = sl_group_find(gc, sl_gstr_view(&c->group_id));
    sl_gmember_t *m =
        g != NULL ? sl_group_member_find(g, sl_gstr_view(&c->new_id)) : NULL;
    sl_group_join_cb cb;
    sl_gdone_t *d;
    bool leader;

    if (m == NULL || m->join_cb == NULL || g->state != SL_GROUP_STATE_STABLE) {
        sl_group_static_ctx_free(c); /* superseded */
        return;
    }
    cb = m->join_cb;
    m->join_cb = NULL;
    if (err != SL_OK) {
        sl_gstr_free(&m->id);
        m->id = c->old_id;
        c->old_id.ptr = NULL;
        if (c->was_leader) {
            sl_gstr_set(&g->leader, m->id.ptr, m->id.len);
        }
        sl_group_answer_join(gc, cb, m->join_arg,
                             SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL,
                             sl_group_empty_str, false, false);
    } else {
        leader = sl_group_is_leader(g, m);
        d = sl_group_answer_join(gc, cb, m->join_arg, SL_OK, g,
                                 sl_gstr_view(&m->id), c->skip_ok && leader,
                                 c->skip_ok && leader);
        if (!c->skip_ok) {
            d->u.join.r.leader =
                sl_gstr_arena(d->a, sl_gstr_view(&c->old_leader));
        }
    }
    sl_group_static_ctx_free(c);
}

/* A static member rejoins with an unknown member id: it takes over the old
 * member's place under a new id (fencing the old id), and rebalances only
 * when needed. */
static sl_err_t
sl_group_replace_static(sl_group_coord_t *gc, sl_group_t *g, sl_gmember_t *m,
                        const sl_group_join_req_t *req, int64_t now_ms,
                        sl_group_join_cb cb, void *arg)
{
    sl_group_static_ctx_t *c = calloc(1, sizeof(*c));
    sl_gstr_t id = {NULL, -1};
    sl_str_t sel;
    sl_err_t err;

    if (c == NULL) {
        return SL_ERR__NOMEM;
    }
    c->was_leader = sl_group_is_leader(g, m);
    c->skip_ok = req->supports_skip_assignment;
    if ((err = sl_group_new_member_id(gc, req->group_instance_id, &id)) !=
            SL_OK ||
        (err = sl_gstr_set(&c->group_id, g->id.ptr, g->id.len)) != SL_OK ||
        (err = sl_gstr_set(&c->new_id, id.ptr, id.len)) != SL_OK ||
        (err = sl_gstr_set(&c->old_leader, g->leader.ptr, g->leader.len)) !=
            SL_OK) {
        sl_gstr_free(&id);
        sl_group_static_ctx_free(c);
        return err;
    }
    /* The old incarnation's parked requests are fenced. */
    sl_group_fail_member(gc, m, SL_ERR_FENCED_INSTANCE_ID);
    c->old_id = m->id;
    m->id = id;
    if (c->was_leader) {
        sl_gstr_set(&g->leader, m->id.ptr, m->id.len);
    }
    if ((err = sl_group_member_update(m, req, now_ms)) != SL_OK) {
        sl_group_static_ctx_free(c);
        return err;
    }
    sl_group_park_join(gc, m, cb, arg);
    switch (g->state) {
    case SL_GROUP_STATE_STABLE:
        sel = sl_group_select_protocol(g);
        if (sl_gstr_eq(&g->protocol_name, sel)) {
            /* Restart without rebalance: same generation; the member gets
             * its old assignment back with SyncGroup. */
            sl_group_persist_group(gc, g, false, now_ms,
                                   sl_group_static_applied, c);
            return SL_OK;
        }
        sl_group_prepare_rebalance(gc, g, now_ms);
        break;
    case SL_GROUP_STATE_COMPLETING_REBALANCE:
        /* The leader may be assigning to the old id: start over. */
        sl_group_prepare_rebalance(gc, g, now_ms);
        break;
    default:
        sl_group_maybe_complete_join(gc, g, now_ms);
        break;
    }
    sl_group_static_ctx_free(c);
    return SL_OK;
}

static sl_err_t
sl_group_join_unknown(sl_group_coord_t *gc, sl_group_t *g,
                      const sl_group_join_req_t *req, int64_t now_ms,
                      sl_group_join_cb cb, void *arg)
{
    sl_gmember_t *old = sl_group_member_by_instance(g, req->group_instance_id);
    sl_gstr_t id = {NULL, -1};
    sl_gpending_t *np;
    sl_err_t err;

    if (old != NULL) {
        return sl_group_replace_static(gc, g, old, req, now_ms, cb, arg);
    }
    if (req->group_instance_id.len >= 0) {
        err = sl_group_new_member_id(gc, req->group_instance_id, &id);
    } else {
        err = sl_group_new_member_id(gc, req->client_id, &id);
    }
    if (err != SL_OK) {
        return err;
    }
    if (req->group_instance_id.len < 0 && req->require_known_member_id) {
        /* KIP-394: hand out the id; the member must come back with it
         * within its session timeout. */
        np = realloc(g->pending, ((size_t)g->pending_count + 1) * sizeof(*np));
        if (np == NULL) {
            sl_gstr_free(&id);
            return SL_ERR__NOMEM;
        }
        g->pending = np;
        np[g->pending_count].id = id;
        np[g->pending_count].deadline = now_ms + req->session_timeout_ms;
        g->pending_count++;
        sl_group_answer_join(gc, cb, arg, SL_ERR_MEMBER_ID_REQUIRED, NULL,
                             sl_gstr_view(&id), false, false);
        return SL_OK;
    }
    err = sl_group_add_member(gc, g, req, &id, now_ms, cb, arg);
    sl_gstr_free(&id);
    return err;
}

static sl_err_t
sl_group_join_known(sl_group_coord_t *gc, sl_group_t *g,
                    const sl_group_join_req_t *req, int64_t now_ms,
                    sl_group_join_cb cb, void *arg)
{
    sl_gmember_t *m = sl_group_member_find(g, req->member_id);
    sl_gmember_t *st = sl_group_member_by_instance(g, req->group_instance_id);
    sl_gstr_t id = {NULL, -1};
    int32_t pi;
    sl_err_t err;

    if ((pi = sl_group_pending_index(g, req->member_id)) >= 0) {
        id = g->pending[pi].id;
        g->pending[pi].id.ptr = NULL;
        sl_group_pending_remove(g, pi);
        err = sl_group_add_member(gc, g, req, &id, now_ms, cb, arg);
        sl_gstr_free(&id);
        return err;
    }
    if (req->group_instance_id.len >= 0 && st != NULL && st != m) {
        err = SL_ERR_FENCED_INSTANCE_ID;
    } else if (m == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else if (req->group_instance_id.len >= 0 && st == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID; /* Kafka's validateMember() */
    } else {
        err = SL_OK;
    }
    if (err != SL_OK) {
        sl_group_answer_join(gc, cb, arg, err, NULL, req->member_id, false,
                             false);
        return SL_OK;
    }
    switch (g->state) {
    case SL_GROUP_STATE_PREPARING_REBALANCE:
        if ((err = sl_group_member_update(m, req, now_ms)) != SL_OK) {
            return err;
        }
        sl_group_park_join(gc, m, cb, arg);
        sl_group_maybe_complete_join(gc, g, now_ms);
        return SL_OK;
    case SL_GROUP_STATE_COMPLETING_REBALANCE:
    case SL_GROUP_STATE_STABLE:
        if (sl_group_member_matches(m, req) &&
            (g->state == SL_GROUP_STATE_COMPLETING_REBALANCE ||
             !sl_group_is_leader(g, m))) {
            /* Nothing changed: the answer of the current generation (a
             * lost JoinGroup response being retried). */
            m->session_deadline = now_ms + m->session_timeout_ms;
            sl_group_answer_join(gc, cb, arg, SL_OK, g, req->member_id,
                                 sl_group_is_leader(g, m), false);
            return SL_OK;
        }
        if ((err = sl_group_member_update(m, req, now_ms)) != SL_OK) {
            return err;
        }
        sl_group_park_join(gc, m, cb, arg);
        sl_group_prepare_rebalance(gc, g, now_ms);
        return SL_OK;
    default:
        sl_group_answer_join(gc, cb, arg, SL_ERR_UNKNOWN_MEMBER_ID, NULL,
                             req->member_id, false, false);
        return SL_OK;
    }
}

static int32_t
sl_group_awaiting_join(const sl_group_t *g)
{
    int32_t i, n = 0;

    for (i = 0; i < g->members_count; i++) {
        n += g->members[i]->join_cb != NULL;
    }
    return n;
}

/*
 * Kafka's acceptJoiningMember() for group.max.size. While preparing, the
 * count is of members awaiting join (the group may be over the limit after
 * the limit was lowered; the last members to rejoin are the ones cut). A
 * refused member is removed from the group.
 */
static bool
sl_group_accept_joining(sl_group_coord_t *gc, sl_group_t *g,
                        const sl_group_join_req_t *req, int64_t now_ms)
{
    sl_gmember_t *m = sl_group_member_find(g, req->member_id);
    int32_t max = gc->cfg.max_size;
    int32_t pi;
    bool ok;

    if (m == NULL && req->member_id.len <= 0) {
        /* A static member rejoining under a new id is still a member. */
        m = sl_group_member_by_instance(g, req->group_instance_id);
    }
    switch (g->state) {
    case SL_GROUP_STATE_PREPARING_REBALANCE:
        ok = (m != NULL && m->join_cb != NULL) ||
             sl_group_awaiting_join(g) < max;
        break;
    case SL_GROUP_STATE_COMPLETING_REBALANCE:
    case SL_GROUP_STATE_STABLE:
        ok = m != NULL || g->members_count < max;
        break;
    default:
        ok = true;
        break;
    }
    if (!ok) {
        if ((pi = sl_group_pending_index(g, req->member_id)) >= 0) {
            sl_group_pending_remove(g, pi);
        } else if (m != NULL && req->member_id.len > 0) {
            sl_group_remove_member(gc, g, m, now_ms);
        }
    }
    return ok;
}

void
sl_group_join(sl_group_coord_t *gc, int64_t now_ms,
              const sl_group_join_req_t *req, sl_group_join_cb cb, void *arg)
{
    bool unknown = req->member_id.len <= 0;
    bool created = false;
    sl_group_t *g;
    sl_err_t err = SL_OK;

    sl_group_coord_lock(gc);
    if (gc->unloaded) {
        err = SL_ERR_NOT_COORDINATOR;
    } else if (!sl_group_str_set(req->group_id)) {
        err = SL_ERR_INVALID_GROUP_ID;
    } else if (req->session_timeout_ms < gc->cfg.min_session_timeout_ms ||
               req->session_timeout_ms > gc->cfg.max_session_timeout_ms) {
        err = SL_ERR_INVALID_SESSION_TIMEOUT;
    }
    if (err != SL_OK) {
        goto answer;
    }
    if ((g = sl_group_find(gc, req->group_id)) == NULL) {
        if (!unknown) {
            err = SL_ERR_UNKNOWN_MEMBER_ID;
            goto answer;
        }
        if ((g = sl_group_create(gc, req->group_id)) == NULL) {
            err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
            goto answer;
        }
        created = true;
    }
    if (g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (!sl_group_supports(g, req)) {
        err = SL_ERR_INCONSISTENT_GROUP_PROTOCOL;
    } else if (!sl_group_accept_joining(gc, g, req, now_ms)) {
        err = SL_ERR_GROUP_MAX_SIZE_REACHED;
    } else if (unknown) {
        err = sl_group_join_unknown(gc, g, req, now_ms, cb, arg);
    } else {
        err = sl_group_join_known(gc, g, req, now_ms, cb, arg);
    }
    if (err < 0) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE; /* out of memory */
    }
    if (created && g->members_count == 0 && g->pending_count == 0 &&
        g->offsets_count == 0) {
        sl_group_remove(gc, g);
    }
answer:
    if (err != SL_OK) {
        sl_group_answer_join(gc, cb, arg, err, NULL, req->member_id, false,
                             false);
    }
    sl_group_coord_unlock(gc);
}

/* ---- SyncGroup --------------------------------------------------------- */

/* Kafka's validateMember(): the instance id must map to this member id. */
static sl_err_t
sl_group_validate_member(const sl_group_t *g, sl_str_t member_id,
                         sl_str_t instance_id, sl_gmember_t **out)
{
    sl_gmember_t *st;

    *out = NULL;
    if (instance_id.len >= 0) {
        if ((st = sl_group_member_by_instance(g, instance_id)) == NULL) {
            return SL_ERR_UNKNOWN_MEMBER_ID;
        }
        if (!sl_gstr_eq(&st->id, member_id)) {
            return SL_ERR_FENCED_INSTANCE_ID;
        }
    }
    if ((*out = sl_group_member_find(g, member_id)) == NULL) {
        return SL_ERR_UNKNOWN_MEMBER_ID;
    }
    return SL_OK;
}

typedef struct sl_group_sync_ctx_s {
    sl_gstr_t group_id;
    int32_t generation;
    int64_t now_ms; /* of the leader's sync: the store has no clock */
} sl_group_sync_ctx_t;

/* The leader's assignment is persisted (or not): go Stable and answer every
 * parked sync, or rebalance. */
static void
sl_group_sync_applied(sl_group_coord_t *gc, void *ctx, sl_err_t err)
{
    sl_group_sync_ctx_t *c = ctx;
    sl_group_t *g = sl_group_find(gc, sl_gstr_view(&c->group_id));
    int32_t i;

    if (g != NULL && g->sync_append_inflight &&
        g->sync_append_gen == c->generation) {
        /* Also when a rebalance overtook it: the next generation's leader
         * sync must persist its own assignment. */
        g->sync_append_inflight = false;
    }
    if (g != NULL && g->state == SL_GROUP_STATE_COMPLETING_REBALANCE &&
        g->generation == c->generation) {
        if (err != SL_OK) {
            for (i = 0; i < g->members_count; i++) {
                sl_gmember_t *m = g->members[i];

                sl_gstr_free(&m->assignment);
                if (m->sync_cb != NULL) {
                    sl_group_answer_sync(gc, m->sync_cb, m->sync_arg,
                                         SL_ERR_COORDINATOR_NOT_AVAILABLE, NULL,
                                         NULL);
                    m->sync_cb = NULL;
                }
            }
            sl_group_prepare_rebalance(gc, g, c->now_ms);
        } else {
            sl_group_set_state(g, SL_GROUP_STATE_STABLE, c->now_ms);
            for (i = 0; i < g->members_count; i++) {
                sl_gmember_t *m = g->members[i];

                if (m->sync_cb != NULL) {
                    sl_group_answer_sync(gc, m->sync_cb, m->sync_arg, SL_OK, g,
                                         m);
                    m->sync_cb = NULL;
                }
            }
        }
    }
    sl_gstr_free(&c->group_id);
    free(c);
}

static sl_err_t
sl_group_leader_sync(sl_group_coord_t *gc, sl_group_t *g,
                     const sl_group_sync_req_t *req, int64_t now_ms)
{
    sl_group_sync_ctx_t *c;
    int32_t i;

    if ((c = calloc(1, sizeof(*c))) == NULL ||
        sl_gstr_set(&c->group_id, g->id.ptr, g->id.len) != SL_OK) {
        free(c);
        return SL_ERR__NOMEM;
    }
    c->generation = g->generation;
    c->now_ms = now_ms;
    for (i = 0; i < g->members_count; i++) {
        sl_gstr_set(&g->members[i]->assignment, "", 0);
    }
    for (i = 0; i < req->assignments_count; i++) {
        const sl_group_assignment_t *as = &req->assignments[i];
        sl_gmember_t *m = sl_group_member_find(g, as->member_id);

        if (m != NULL && as->assignment.len > 0) {
            sl_gstr_set(&m->assignment, as->assignment.ptr, as->assignment.len);
        }
    }
    g->sync_append_inflight = true;
    g->sync_append_gen = g->generation;
    sl_group_persist_group(gc, g, false, now_ms, sl_group_sync_applied, c);
    return SL_OK;
}

/* SyncGroup v5+: a protocol type or name that both sides have and that
 * differ (Kafka's isProtocolInconsistent()). */
static bool
sl_group_inconsistent(const sl_gstr_t *group_value, sl_str_t req_value)
{
    return req_value.len >= 0 && group_value->ptr != NULL &&
           !sl_gstr_eq(group_value, req_value);
}

void
sl_group_sync(sl_group_coord_t *gc, int64_t now_ms,
              const sl_group_sync_req_t *req, sl_group_sync_cb cb, void *arg)
{
    sl_gmember_t *m = NULL;
    sl_group_t *g;
    sl_err_t err;

    sl_group_coord_lock(gc);
    if (gc->unloaded) {
        err = SL_ERR_NOT_COORDINATOR;
    } else if ((g = sl_group_find(gc, req->group_id)) == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if ((err = sl_group_validate_member(
                    g, req->member_id, req->group_instance_id, &m)) != SL_OK) {
        /* err set */
    } else if (req->generation_id != g->generation) {
        err = SL_ERR_ILLEGAL_GENERATION;
    } else if (sl_group_inconsistent(&g->protocol_type, req->protocol_type) ||
               sl_group_inconsistent(&g->protocol_name, req->protocol_name)) {
        err = SL_ERR_INCONSISTENT_GROUP_PROTOCOL;
    } else if (g->state == SL_GROUP_STATE_EMPTY) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE) {
        err = SL_ERR_REBALANCE_IN_PROGRESS;
    }
    if (err != SL_OK) {
        sl_group_answer_sync(gc, cb, arg, err, NULL, NULL);
        goto out;
    }
    m->pending_sync = false;
    m->session_deadline = now_ms + m->session_timeout_ms;
    sl_group_update_sync_deadline(g);
    if (g->state == SL_GROUP_STATE_STABLE) {
        sl_group_answer_sync(gc, cb, arg, SL_OK, g, m);
        goto out;
    }
    /* CompletingRebalance: wait for the leader's assignment. */
    if (m->sync_cb != NULL) {
        sl_group_answer_sync(gc, m->sync_cb, m->sync_arg,
                             SL_ERR_REBALANCE_IN_PROGRESS, NULL, NULL);
    }
    m->sync_cb = cb;
    m->sync_arg = arg;
    if (sl_group_is_leader(g, m) &&
        !(g->sync_append_inflight && g->sync_append_gen == g->generation) &&
        sl_group_leader_sync(gc, g, req, now_ms) != SL_OK) {
        m->sync_cb = NULL;
        sl_group_answer_sync(gc, cb, arg, SL_ERR_COORDINATOR_NOT_AVAILABLE,
                             NULL, NULL);
    }
out:
    sl_group_coord_unlock(gc);
}

/* ---- Heartbeat, LeaveGroup ---------------------------------------------- */

sl_err_t
sl_group_heartbeat(sl_group_coord_t *gc, int64_t now_ms, sl_str_t group_id,
                   sl_str_t member_id, sl_str_t group_instance_id,
                   int32_t generation_id)
{
    sl_gmember_t *m = NULL;
    sl_group_t *g;
    sl_err_t err;

    sl_group_coord_lock(gc);
    if ((g = sl_group_find(gc, group_id)) == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else if (g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if ((err = sl_group_validate_member(g, member_id, group_instance_id,
                                               &m)) != SL_OK) {
        /* err set */
    } else if (generation_id != g->generation) {
        err = SL_ERR_ILLEGAL_GENERATION;
    } else if (g->state == SL_GROUP_STATE_EMPTY) {
        err = SL_ERR_UNKNOWN_MEMBER_ID;
    } else {
        m->session_deadline = now_ms + m->session_timeout_ms;
        if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE) {
            err = SL_ERR_REBALANCE_IN_PROGRESS;
        }
    }
    sl_group_coord_unlock(gc);
    return err;
}

static sl_err_t
sl_group_leave_one(sl_group_coord_t *gc, sl_group_t *g,
                   const sl_group_leave_member_t *lm, int64_t now_ms)
{
    sl_gmember_t *m;
    int32_t pi;

    if (lm->group_instance_id.len >= 0) {
        m = sl_group_member_by_instance(g, lm->group_instance_id);
        if (m == NULL) {
            return SL_ERR_UNKNOWN_MEMBER_ID;
        }
        if (lm->member_id.len > 0 && !sl_gstr_eq(&m->id, lm->member_id)) {
            return SL_ERR_FENCED_INSTANCE_ID;
        }
        sl_group_remove_member(gc, g, m, now_ms);
        return SL_OK;
    }
    if ((pi = sl_group_pending_index(g, lm->member_id)) >= 0) {
        sl_group_pending_remove(g, pi);
        sl_group_maybe_complete_join(gc, g, now_ms);
        return SL_OK;
    }
    if ((m = sl_group_member_find(g, lm->member_id)) == NULL) {
        return SL_ERR_UNKNOWN_MEMBER_ID;
    }
    sl_group_remove_member(gc, g, m, now_ms);
    return SL_OK;
}

sl_err_t
sl_group_leave(sl_group_coord_t *gc, int64_t now_ms, sl_str_t group_id,
               const sl_group_leave_member_t *lm, int32_t n, sl_err_t *errors)
{
    sl_group_t *g;
    sl_err_t err = SL_OK;
    int32_t i;

    sl_group_coord_lock(gc);
    g = sl_group_find(gc, group_id);
    if (g == NULL) {
        err = SL_ERR_UNKNOWN_MEMBER_ID; /* the group-level error */
    } else if (g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    for (i = 0; i < n; i++) {
        if (err != SL_OK) {
            errors[i] = err;
        } else {
            errors[i] = sl_group_leave_one(gc, g, &lm[i], now_ms);
        }
    }
    sl_group_coord_unlock(gc);
    return err;
}

/* ---- timers ------------------------------------------------------------ */

/* Whether <m>'s session deadline applies now (see the file head). */
static bool
sl_group_member_timed(const sl_gmember_t *m)
{
    return m->is_new || (m->join_cb == NULL && m->sync_cb == NULL);
}

static sl_gmember_t *
sl_group_first_expired(const sl_group_t *g, int64_t now_ms)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        const sl_gmember_t *m = g->members[i];

        if (sl_group_member_timed(m) && m->session_deadline <= now_ms) {
            return g->members[i];
        }
    }
    return NULL;
}

static sl_gmember_t *
sl_group_first_unsynced(const sl_group_t *g)
{
    int32_t i;

    for (i = 0; i < g->members_count; i++) {
        if (g->members[i]->pending_sync) {
            return g->members[i];
        }
    }
    return NULL;
}

void
sl_group_tick_members(sl_group_coord_t *gc, sl_group_t *g, int64_t now_ms)
{
    sl_gmember_t *m;
    int32_t i;

    for (i = g->pending_count - 1; i >= 0; i--) {
        if (g->pending[i].deadline <= now_ms) {
            sl_group_pending_remove(g, i);
            sl_group_maybe_complete_join(gc, g, now_ms);
        }
    }
    /* Each removal may change the group: rescan from the start. */
    while ((m = sl_group_first_expired(g, now_ms)) != NULL) {
        sl_group_remove_member(gc, g, m, now_ms);
    }
    if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE &&
        g->join_deadline <= now_ms) {
        if (g->initial_delay && g->new_member_added &&
            g->initial_remaining_ms > 0) {
            int32_t d = gc->cfg.initial_rebalance_delay_ms;
            int32_t r = g->initial_remaining_ms;

            g->new_member_added = false;
            g->join_deadline = now_ms + (d < r ? d : r);
            g->initial_remaining_ms = r > d ? r - d : 0;
        } else {
            sl_group_complete_join(gc, g, now_ms);
        }
    }
    if ((g->state == SL_GROUP_STATE_COMPLETING_REBALANCE ||
         g->state == SL_GROUP_STATE_STABLE) &&
        g->sync_deadline <= now_ms) {
        g->sync_deadline = INT64_MAX;
        while ((g->state == SL_GROUP_STATE_COMPLETING_REBALANCE ||
                g->state == SL_GROUP_STATE_STABLE) &&
               (m = sl_group_first_unsynced(g)) != NULL) {
            sl_group_remove_member(gc, g, m, now_ms);
        }
    }
}

int64_t
sl_group_member_deadline(const sl_group_t *g)
{
    int64_t t = INT64_MAX;
    int32_t i;

    for (i = 0; i < g->pending_count; i++) {
        t = g->pending[i].deadline < t ? g->pending[i].deadline : t;
    }
    for (i = 0; i < g->members_count; i++) {
        const sl_gmember_t *m = g->members[i];

        if (sl_group_member_timed(m) && m->session_deadline < t) {
            t = m->session_deadline;
        }
    }
    if (g->state == SL_GROUP_STATE_PREPARING_REBALANCE &&
        g->join_deadline < t) {
        t = g->join_deadline;
    }
    if ((g->state == SL_GROUP_STATE_COMPLETING_REBALANCE ||
         g->state == SL_GROUP_STATE_STABLE) &&
        g->sync_deadline < t) {
        t = g->sync_deadline;
    }
    return t;
}
