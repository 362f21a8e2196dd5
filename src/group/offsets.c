/*
 * group/offsets.c: committed offsets of classic groups: OffsetCommit (with
 * Kafka's member and generation checks), OffsetFetch (require_stable hook),
 * OffsetDelete, and retention (offsets.retention.minutes) with the removal
 * of Empty groups that have nothing left.
 *
 * Owns: each group's offsets array (sl_goffset_t) and the contexts of
 * commits waiting for the store. Runs with the coordinator lock held except
 * the public entry points, which take it.
 *
 * Not yet: pending transactional offsets (the store's has_pending_txn
 * hook answers require_stable), and excluding offsets with a commit in
 * flight from expiry.
 */
#include <stdlib.h>
#include <string.h>

#include "group/group_int.h"
#include "proto/gen/data.h"

sl_goffset_t *
sl_group_offset_find(const sl_group_t *g, sl_str_t topic, int32_t partition)
{
    int32_t i;

    for (i = 0; i < g->offsets_count; i++) {
        if (g->offsets[i].partition == partition &&
            sl_gstr_eq(&g->offsets[i].topic, topic)) {
            return &g->offsets[i];
        }
    }
    return NULL;
}

static void
sl_group_offset_remove(sl_group_t *g, sl_goffset_t *o)
{
    sl_gstr_free(&o->topic);
    sl_gstr_free(&o->metadata);
    *o = g->offsets[--g->offsets_count];
}

void
sl_group_offsets_free(sl_group_t *g)
{
    while (g->offsets_count > 0) {
        sl_group_offset_remove(g, &g->offsets[g->offsets_count - 1]);
    }
    free(g->offsets);
    g->offsets = NULL;
}

/* ---- OffsetCommit -------------------------------------------------------- */

typedef struct sl_group_commit_op_s {
    sl_group_commit_cb cb;
    void *arg;
    sl_err_t *errors;
    int32_t count;
    int32_t remaining; /* appends not finished, +1 while still issuing */
} sl_group_commit_op_t;

typedef struct sl_group_commit_one_s {
    sl_group_commit_op_t *op;
    int32_t index;
    sl_gstr_t group_id;
    sl_goffset_t o; /* what to install once persisted */
} sl_group_commit_one_t;

static void
sl_group_commit_op_release(sl_group_coord_t *gc, sl_group_commit_op_t *op)
{
    sl_gdone_t *d;

    if (--op->remaining > 0) {
        return;
    }
    d = sl_group_done_new(gc, SL_GDONE_COMMIT, op->arg);
    d->u.commit.cb = op->cb;
    d->u.commit.count = op->count;
    d->u.commit.errors = sl_arena_memdup(
        d->a, op->errors, ((size_t)op->count + 1) * sizeof(*op->errors));
    free(op->errors);
    free(op);
}

/* One offset persisted (or not): install it if the group still exists. */
static void
sl_group_commit_applied(sl_group_coord_t *gc, void *ctx, sl_err_t err)
{
    sl_group_commit_one_t *c = ctx;
    sl_group_t *g = sl_group_find(gc, sl_gstr_view(&c->group_id));
    sl_goffset_t *o, *n;

    if (err != SL_OK) {
        c->op->errors[c->index] = err == SL_ERR_NOT_COORDINATOR
                                      ? err
                                      : SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (g != NULL) {
        o = sl_group_offset_find(g, sl_gstr_view(&c->o.topic), c->o.partition);
        if (o == NULL) {
            n = realloc(g->offsets,
                        ((size_t)g->offsets_count + 1) * sizeof(*n));
            if (n == NULL) {
                c->op->errors[c->index] = SL_ERR_COORDINATOR_NOT_AVAILABLE;
                goto out;
            }
            g->offsets = n;
            n[g->offsets_count++] = c->o; /* ownership moves */
            c->o.topic.ptr = c->o.metadata.ptr = NULL;
        } else {
            sl_gstr_free(&o->metadata);
            o->metadata = c->o.metadata;
            c->o.metadata.ptr = NULL;
            o->offset = c->o.offset;
            o->leader_epoch = c->o.leader_epoch;
            o->commit_ts = c->o.commit_ts;
            o->expire_ts = c->o.expire_ts;
        }
    }
out:
    sl_group_commit_op_release(gc, c->op);
    sl_gstr_free(&c->group_id);
    sl_gstr_free(&c->o.topic);
    sl_gstr_free(&c->o.metadata);
    free(c);
}

/* Kafka's ClassicGroup.validateOffsetCommit() for a group that exists. */
static sl_err_t
sl_group_commit_validate(sl_group_t *g, const sl_group_commit_req_t *req,
                         int64_t now_ms)
{
    sl_gmember_t *m;
    sl_gmember_t *st;

    if (g->state == SL_GROUP_STATE_DEAD) {
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    if (req->generation_id < 0 && g->state == SL_GROUP_STATE_EMPTY) {
        return SL_OK; /* admin or manual-assignment consumer */
    }
    if (req->generation_id >= 0 || req->member_id.len > 0 ||
        req->group_instance_id.len >= 0) {
        if (req->group_instance_id.len >= 0) {
            st = NULL;
            for (int32_t i = 0; i < g->members_count; i++) {
                if (sl_gstr_eq(&g->members[i]->instance_id,
                               req->group_instance_id)) {
                    st = g->members[i];
                }
            }
            if (st == NULL) {
                return SL_ERR_UNKNOWN_MEMBER_ID;
            }
            if (!sl_gstr_eq(&st->id, req->member_id)) {
                return SL_ERR_FENCED_INSTANCE_ID;
            }
        }
        if ((m = sl_group_member_find(g, req->member_id)) == NULL) {
            return SL_ERR_UNKNOWN_MEMBER_ID;
        }
        if (req->generation_id != g->generation) {
            return SL_ERR_ILLEGAL_GENERATION;
        }
        if (g->state == SL_GROUP_STATE_COMPLETING_REBALANCE) {
            return SL_ERR_REBALANCE_IN_PROGRESS;
        }
        m->session_deadline = now_ms + m->session_timeout_ms;
        return SL_OK;
    }
    /* A simple (admin) commit: only to a group with no members. */
    if (g->state != SL_GROUP_STATE_EMPTY) {
        return SL_ERR_UNKNOWN_MEMBER_ID;
    }
    return SL_OK;
}

static sl_err_t
sl_group_commit_issue(sl_group_coord_t *gc, sl_group_t *g,
                      sl_group_commit_op_t *op, int32_t i,
                      const sl_group_commit_req_t *req, int64_t now_ms)
{
    const sl_group_commit_part_t *p = &req->parts[i];
    sl_group_commit_one_t *c = calloc(1, sizeof(*c));
    sl_str_t md = p->metadata;

    if (md.len < 0) {
        md.ptr = "";
        md.len = 0;
    }
    if (c == NULL || sl_gstr_set(&c->group_id, g->id.ptr, g->id.len) != SL_OK ||
        sl_gstr_set(&c->o.topic, p->topic.ptr,
                    p->topic.len < 0 ? 0 : p->topic.len) != SL_OK ||
        sl_gstr_set(&c->o.metadata, md.ptr, md.len) != SL_OK) {
        if (c != NULL) {
            sl_gstr_free(&c->group_id);
            sl_gstr_free(&c->o.topic);
        }
        free(c);
        return SL_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    c->op = op;
    c->index = i;
    c->o.partition = p->partition;
    c->o.offset = p->offset;
    c->o.leader_epoch = p->leader_epoch;
    c->o.commit_ts = now_ms;
    c->o.expire_ts = req->retention_ms >= 0 ? now_ms + req->retention_ms : -1;
    op->remaining++;
    sl_group_persist_offset(gc, g, p->topic, p->partition, &c->o,
                            sl_group_commit_applied, c);
    return SL_OK;
}

/* <txn>: materialising a committed transaction's offsets (group/
 * txn_offsets.c): no member check, as Kafka applies them on the marker. */
static void
sl_group_offset_commit_impl(sl_group_coord_t *gc, int64_t now_ms,
                            const sl_group_commit_req_t *req,
                            sl_group_commit_cb cb, void *arg, bool txn)
{
    sl_group_commit_op_t *op = calloc(1, sizeof(*op));
    sl_group_t *g = NULL;
    sl_err_t err = SL_OK;
    int32_t i, n = req->parts_count < 0 ? 0 : req->parts_count;

    if (op == NULL ||
        (op->errors = calloc((size_t)n + 1, sizeof(*op->errors))) == NULL) {
        abort(); /* see sl_group_done_new() */
    }
    op->cb = cb;
    op->arg = arg;
    op->count = n;
    op->remaining = 1;
    sl_group_coord_lock(gc);
    if (req->group_id.len <= 0) {
        err = SL_ERR_INVALID_GROUP_ID;
    } else if ((g = sl_group_find(gc, req->group_id)) == NULL) {
        /* Only generation -1 commits create a group; members of a group
         * that does not exist get ILLEGAL_GENERATION (GROUP_ID_NOT_FOUND from
         * OffsetCommit v9, mapped by the API layer). */
        if (req->generation_id >= 0) {
            err = SL_ERR_ILLEGAL_GENERATION;
        } else if ((g = sl_group_create(gc, req->group_id)) == NULL) {
            err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
        } else {
            /* Empty since now: expiry of empty groups counts from here,
             * not from time zero (which removed the group at the next
             * tick, before its first commit was stored). */
            sl_group_set_state(g, SL_GROUP_STATE_EMPTY, now_ms);
        }
    } else if (txn) {
        err = g->state == SL_GROUP_STATE_DEAD ? SL_ERR_COORDINATOR_NOT_AVAILABLE
                                              : SL_OK;
    } else {
        err = sl_group_commit_validate(g, req, now_ms);
    }
    for (i = 0; i < n; i++) {
        if (err != SL_OK) {
            op->errors[i] = err;
        } else if (req->parts[i].metadata.len >
                   gc->cfg.offset_metadata_max_bytes) {
            op->errors[i] = SL_ERR_OFFSET_METADATA_TOO_LARGE;
        } else {
            op->errors[i] = sl_group_commit_issue(gc, g, op, i, req, now_ms);
        }
    }
    sl_group_commit_op_release(gc, op);
    sl_group_coord_unlock(gc);
}

/* ---- OffsetFetch --------------------------------------------------------- */

static void
sl_group_fetch_fill(sl_group_coord_t *gc, const sl_group_t *g,
                    sl_str_t group_id, sl_str_t topic, int32_t partition,
                    bool require_stable, sl_arena_t *a, sl_group_offset_t *r)
{
    const sl_goffset_t *o =
        g != NULL ? sl_group_offset_find(g, topic, partition) : NULL;

    r->topic = sl_gstr_arena(a, topic);
    r->partition = partition;
    r->offset = -1;
    r->leader_epoch = -1;
    r->metadata.ptr = "";
    r->metadata.len = 0;
    r->error = SL_OK;
    if (require_stable && gc->store.has_pending_txn != NULL &&
        gc->store.has_pending_txn(gc->store.ctx, group_id, topic, partition)) {
        r->error = SL_ERR_UNSTABLE_OFFSET_COMMIT;
        return;
    }
    if (o != NULL) {
        r->offset = o->offset;
        r->leader_epoch = o->leader_epoch;
        r->metadata = sl_gstr_arena(a, sl_gstr_view(&o->metadata));
    }
}

void
sl_group_offset_commit(sl_group_coord_t *gc, int64_t now_ms,
                       const sl_group_commit_req_t *req, sl_group_commit_cb cb,
                       void *arg)
{
    sl_group_offset_commit_impl(gc, now_ms, req, cb, arg, false);
}

void
sl_group_offset_commit_txn(sl_group_coord_t *gc, int64_t now_ms,
                           const sl_group_commit_req_t *req,
                           sl_group_commit_cb cb, void *arg)
{
    sl_group_offset_commit_impl(gc, now_ms, req, cb, arg, true);
}

sl_err_t
sl_group_txn_offset_validate(sl_group_coord_t *gc, int64_t now_ms,
                             sl_str_t group_id, sl_str_t member_id,
                             sl_str_t group_instance_id, int32_t generation_id)
{
    sl_group_commit_req_t req;
    sl_group_t *g;
    sl_err_t err = SL_OK;

    if (group_id.len <= 0) {
        return SL_ERR_INVALID_GROUP_ID;
    }
    memset(&req, 0, sizeof(req));
    req.group_id = group_id;
    req.member_id = member_id;
    req.group_instance_id = group_instance_id;
    req.generation_id = generation_id;
    sl_group_coord_lock(gc);
    g = sl_group_find(gc, group_id);
    if (g == NULL) {
        err = generation_id >= 0 ? SL_ERR_ILLEGAL_GENERATION : SL_OK;
    } else if (g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_COORDINATOR_NOT_AVAILABLE;
    } else if (generation_id >= 0 || member_id.len > 0 ||
               group_instance_id.len >= 0) {
        err = sl_group_commit_validate(g, &req, now_ms);
        if (err == SL_ERR_REBALANCE_IN_PROGRESS) {
            err = SL_OK; /* Kafka checks member and generation only */
        }
    }
    sl_group_coord_unlock(gc);
    return err;
}

sl_err_t
sl_group_offset_fetch(sl_group_coord_t *gc, sl_str_t group_id,
                      const sl_group_tp_t *tps, int32_t n, bool require_stable,
                      sl_arena_t *a, sl_group_offset_t **out, int32_t *out_n)
{
    const sl_group_t *g;
    sl_err_t err = SL_OK;
    int32_t i, count;

    *out = NULL;
    *out_n = 0;
    sl_group_coord_lock(gc);
    g = sl_group_find(gc, group_id);
    if (g != NULL && g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_GROUP_ID_NOT_FOUND;
        goto out;
    }
    count = tps != NULL ? (n < 0 ? 0 : n) : (g != NULL ? g->offsets_count : 0);
    if ((*out = sl_arena_calloc(a, (size_t)count + 1, sizeof(**out))) == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < count; i++) {
        sl_str_t topic =
            tps != NULL ? tps[i].topic : sl_gstr_view(&g->offsets[i].topic);
        int32_t part = tps != NULL ? tps[i].partition : g->offsets[i].partition;

        sl_group_fetch_fill(gc, g, group_id, topic, part, require_stable, a,
                            &(*out)[i]);
    }
    *out_n = count;
out:
    sl_group_coord_unlock(gc);
    return err;
}

/* ---- subscriptions --------------------------------------------------------
 */

static bool
sl_group_is_consumer(const sl_group_t *g)
{
    static const sl_str_t consumer = {"consumer", 8};

    return sl_gstr_eq(&g->protocol_type, consumer);
}

/*
 * Whether consumer group <g> subscribes to <topic>: 1 yes, 0 no, -1 not
 * known (not a consumer group, no protocol chosen yet, or a member's
 * metadata does not parse). Like Kafka, every member's
 * ConsumerProtocolSubscription is read with the v0 layout, the prefix of
 * all versions.
 */
static int
sl_group_topic_subscribed(const sl_group_t *g, sl_str_t topic)
{
    sl_msg_consumer_protocol_subscription_t s;
    sl_arena_t *a;
    int found = 0;
    int32_t i, j, t;

    if (!sl_group_is_consumer(g)) {
        return -1;
    }
    if (g->members_count == 0) {
        return 0;
    }
    if (g->protocol_name.ptr == NULL) {
        return -1;
    }
    for (i = 0; i < g->members_count; i++) {
        const sl_gmember_t *m = g->members[i];
        const sl_gstr_t *md = NULL;
        sl_rd_t rd;
        int16_t v;
        sl_err_t err;

        for (j = 0; j < m->protocols_count; j++) {
            if (sl_gstr_eq(&m->protocols[j].name,
                           sl_gstr_view(&g->protocol_name))) {
                md = &m->protocols[j].metadata;
            }
        }
        if (md == NULL || md->ptr == NULL) {
            return -1;
        }
        a = sl_arena_create(1024, 64 * (size_t)md->len + 65536);
        if (a == NULL) {
            return -1;
        }
        sl_rd_init(&rd, md->ptr, (size_t)md->len);
        sl_rd_i16(&rd, &v);
        err = sl_rd_error(&rd);
        if (err == SL_OK && v >= 0) {
            err = sl_msg_consumer_protocol_subscription_decode(&rd, 0, a, &s);
        }
        if (err != SL_OK || v < 0) {
            sl_arena_destroy(a);
            return -1;
        }
        for (t = 0; t < s.topics_count; t++) {
            found = found || sl_str_eq(s.topics[t], topic);
        }
        sl_arena_destroy(a);
    }
    return found;
}

/* ---- OffsetDelete -------------------------------------------------------- */

sl_err_t
sl_group_offset_delete(sl_group_coord_t *gc, int64_t now_ms, sl_str_t group_id,
                       const sl_group_tp_t *tps, int32_t n, sl_err_t *errors)
{
    sl_goffset_t *o;
    sl_group_t *g;
    sl_err_t err = SL_OK;
    int32_t i;
    int sub;

    (void)now_ms;
    sl_group_coord_lock(gc);
    g = sl_group_find(gc, group_id);
    if (g == NULL || g->state == SL_GROUP_STATE_DEAD) {
        err = SL_ERR_GROUP_ID_NOT_FOUND;
        goto out;
    }
    if (g->state != SL_GROUP_STATE_EMPTY && !sl_group_is_consumer(g)) {
        err = SL_ERR_NON_EMPTY_GROUP;
        goto out;
    }
    for (i = 0; i < n; i++) {
        errors[i] = SL_OK;
        /* Unknown subscriptions of a consumer group count as subscribed. */
        sub = sl_group_topic_subscribed(g, tps[i].topic);
        if (sub == 1 || (sub < 0 && sl_group_is_consumer(g))) {
            errors[i] = SL_ERR_GROUP_SUBSCRIBED_TO_TOPIC;
            continue;
        }
        if ((o = sl_group_offset_find(g, tps[i].topic, tps[i].partition)) !=
            NULL) {
            sl_group_persist_offset(gc, g, tps[i].topic, tps[i].partition, NULL,
                                    NULL, NULL);
            sl_group_offset_remove(g, o);
        }
    }
out:
    sl_group_coord_unlock(gc);
    return err;
}

/* ---- retention ----------------------------------------------------------- */

/*
 * When offset <o> of <g> expires, INT64_MAX if it does not (Kafka's
 * offsetExpirationCondition):
 *   no protocol type (simple group)   commit time + retention
 *   Empty, with a protocol type       time it became Empty + retention
 *   Stable consumer group             commit time + retention, only for
 *                                     topics no member subscribes to
 *   otherwise                         never
 * An explicit expire timestamp (OffsetCommit v2-v4) replaces base+retention.
 */
static int64_t
sl_group_offset_expiry(const sl_group_coord_t *gc, const sl_group_t *g,
                       const sl_goffset_t *o)
{
    int64_t base;

    if (!sl_gstr_is_set(&g->protocol_type)) {
        if (gc->store.group_in_use != NULL &&
            gc->store.group_in_use(gc->store.ctx, sl_gstr_view(&g->id))) {
            return INT64_MAX;
        }
        base = o->commit_ts;
    } else if (g->state == SL_GROUP_STATE_EMPTY) {
        base = g->state_ts;
    } else if (g->state == SL_GROUP_STATE_STABLE &&
               sl_group_topic_subscribed(g, sl_gstr_view(&o->topic)) == 0) {
        base = o->commit_ts;
    } else {
        return INT64_MAX;
    }
    if (o->expire_ts >= 0) {
        return o->expire_ts;
    }
    return base + gc->cfg.offsets_retention_ms;
}

int64_t
sl_group_offsets_deadline(const sl_group_coord_t *gc, const sl_group_t *g)
{
    int64_t t = INT64_MAX;
    int64_t e;
    int32_t i;

    for (i = 0; i < g->offsets_count; i++) {
        e = sl_group_offset_expiry(gc, g, &g->offsets[i]);
        t = e < t ? e : t;
    }
    if (g->state == SL_GROUP_STATE_EMPTY && g->offsets_count == 0 &&
        g->pending_count == 0) {
        e = g->state_ts + gc->cfg.retention_check_ms;
        t = e < t ? e : t;
    }
    return t;
}

void
sl_group_expire_offsets(sl_group_coord_t *gc, sl_group_t *g, int64_t now_ms)
{
    int32_t i;

    for (i = g->offsets_count - 1; i >= 0; i--) {
        sl_goffset_t *o = &g->offsets[i];

        if (now_ms >= sl_group_offset_expiry(gc, g, o)) {
            sl_group_persist_offset(gc, g, sl_gstr_view(&o->topic),
                                    o->partition, NULL, NULL, NULL);
            sl_group_offset_remove(g, o);
        }
    }
    /* An Empty group with nothing left goes away (after the check
     * interval, so a group that just emptied stays describable). */
    if (g->state == SL_GROUP_STATE_EMPTY && g->offsets_count == 0 &&
        g->pending_count == 0 &&
        now_ms >= g->state_ts + gc->cfg.retention_check_ms) {
        sl_group_persist_group(gc, g, true, now_ms, NULL, NULL);
        sl_group_remove(gc, g);
    }
}
