/*
 * api/fetch.c: Fetch (key 1), versions 4-17.
 *
 * A fetch reads each partition from its fetch offset up to the high
 * watermark (the last stable offset for read_committed, with the aborted
 * transactions that overlap [fetch offset, last stable offset): the
 * client drops their records), at most partition_max_bytes per partition and
 * max_bytes in all, except that the first batch found is returned whole
 * even when larger (KIP-74). Log data is not copied: the response carries
 * file ranges that the network thread sends with sendfile().
 *
 * Sessions (KIP-227) through api/fetch_session.c; long polls through the
 * fetch purgatory: when fewer than min_bytes are available and max_wait_ms
 * > 0, the request parks under the keys of its partitions, and a produce
 * to any of them (or the deadline) completes it.
 *
 * Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION (by name, v<13) or
 * UNKNOWN_TOPIC_ID (v13+), OFFSET_OUT_OF_RANGE, FENCED_LEADER_EPOCH /
 * UNKNOWN_LEADER_EPOCH against current_leader_epoch, KAFKA_STORAGE_ERROR;
 * a diverging epoch (v12+, last_fetched_epoch) is reported in
 * diverging_epoch with no records.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/log.h"
#include "net/reactor.h"
#include "proto/gen/fetch.h"

typedef sl_msg_fetch_resp_partition_data_t sl_fr_part_t;
typedef sl_msg_fetch_resp_fetchable_topic_response_t sl_fr_topic_t;

/* One partition to fetch. */
typedef struct sl_fetch_item_s {
    sl_str_t topic; /* by name (v<13), or the name found for the id */
    sl_uuid_t topic_id;
    bool by_id;
    int32_t partition;
    int64_t fetch_offset;
    int32_t max_bytes;
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    bool in_request;     /* named in this request (sessions) */
    sl_err_t auth_err;   /* ACLs refused the read (api/acls.c) */
    sl_fsess_part_t *sp; /* session entry, or NULL */
    /* Result of the last read. */
    sl_fr_part_t out;
    sl_log_slice_t slice;
    /* read_committed: arena room for the aborted transactions, kept
     * across the reads of a long poll */
    sl_msg_fetch_resp_aborted_transaction_t *aborted;
    sl_txn_aborted_t *scratch;
    size_t aborted_cap;
} sl_fetch_item_t;

typedef struct sl_fetch_op_s {
    sl_delayed_t d;
    sl_api_req_t *r;
    sl_fetch_item_t *items;
    int nitems;
    int32_t max_bytes;
    int32_t min_bytes;
    bool read_committed;
    sl_fsess_kind_e kind;
    sl_fsess_t *sess;
} sl_fetch_op_t;

/* ---- reading ---- */

static void
sl_fetch_release_slices(sl_fetch_op_t *op)
{
    int i;

    for (i = 0; i < op->nitems; i++) {
        sl_log_slice_release(&op->items[i].slice);
        op->items[i].slice.len = 0;
    }
}

/* Fill it->out's aborted transactions for [fetch offset, last stable
 * offset). @returns SL_OK, SL_ERR__NOMEM */
static sl_err_t
sl_fetch_aborted(sl_fetch_op_t *op, sl_fetch_item_t *it, sl_partlog_t *pl)
{
    sl_fr_part_t *o = &it->out;
    size_t n, i;

    n = sl_partlog_aborted_txns(pl, it->fetch_offset, o->last_stable_offset,
                                it->scratch, it->aborted_cap);
    if (n > it->aborted_cap) {
        if (n > INT32_MAX) {
            return SL_ERR__NOMEM;
        }
        it->scratch = sl_arena_calloc(op->r->arena, n, sizeof(*it->scratch));
        it->aborted = sl_arena_calloc(op->r->arena, n, sizeof(*it->aborted));
        if (it->scratch == NULL || it->aborted == NULL) {
            it->aborted_cap = 0;
            return SL_ERR__NOMEM;
        }
        it->aborted_cap = n;
        n = sl_partlog_aborted_txns(pl, it->fetch_offset, o->last_stable_offset,
                                    it->scratch, n);
        if (n > it->aborted_cap) {
            n = it->aborted_cap; /* more since: the next fetch gets them */
        }
    }
    for (i = 0; i < n; i++) {
        sl_msg_fetch_resp_aborted_transaction_init(&it->aborted[i]);
        it->aborted[i].producer_id = it->scratch[i].producer_id;
        it->aborted[i].first_offset = it->scratch[i].first_offset;
    }
    o->aborted_transactions = n > 0 ? it->aborted : NULL;
    o->aborted_transactions_count = (int32_t)n;
    return SL_OK;
}

/* Read every item once. @returns bytes available (sum of slice lengths).
 * @locks takes plock (read) */
static int64_t
sl_fetch_read_all(sl_fetch_op_t *op)
{
    sl_api_t *api = op->r->api;
    int64_t total = 0, budget = op->max_bytes;
    bool first_found = false;
    int i;

    sl_api_plock_rd(api);
    for (i = 0; i < op->nitems; i++) {
        sl_fetch_item_t *it = &op->items[i];
        sl_fr_part_t *o = &it->out;
        sl_partlog_t *pl = NULL;
        sl_err_t err = SL_OK;
        int32_t latest;
        size_t want;

        sl_log_slice_release(&it->slice);
        memset(&it->slice, 0, sizeof(it->slice));
        it->slice.fd = -1;
        sl_msg_fetch_resp_partition_data_init(o);
        o->partition_index = it->partition;
        o->high_watermark = -1;
        o->last_stable_offset = -1;
        o->log_start_offset = -1;
        o->aborted_transactions_count = op->read_committed ? 0 : -1;
        o->records.ptr = NULL;
        o->records.len = 0;

        if (it->auth_err != SL_OK) {
            o->error_code = (int16_t)it->auth_err;
            continue;
        }
        if (it->topic.len >= 0) {
            pl = sl_api_partition(api, it->topic.ptr, it->topic.len,
                                  it->partition, &err);
        } else {
            err = SL_ERR_UNKNOWN_TOPIC_ID;
        }
        if (pl == NULL) {
            /* An id that names no topic is UNKNOWN_TOPIC_ID (topic.len is
             * -1 then); a known topic without that partition is
             * UNKNOWN_TOPIC_OR_PARTITION either way. */
            o->error_code = (int16_t)err;
            continue;
        }
        o->high_watermark = sl_partlog_hwm(pl);
        o->last_stable_offset = sl_partlog_lso(pl);
        if (o->last_stable_offset > o->high_watermark) {
            /* an append between the two reads: never above the HW */
            o->last_stable_offset = o->high_watermark;
        }
        o->log_start_offset = sl_partlog_log_start(pl);
        latest = sl_partlog_latest_epoch(pl);
        if (latest < 0) {
            latest = 0;
        }
        if (it->current_leader_epoch >= 0 &&
            it->current_leader_epoch != latest) {
            o->error_code = (int16_t)(it->current_leader_epoch < latest
                                          ? SL_ERR_FENCED_LEADER_EPOCH
                                          : SL_ERR_UNKNOWN_LEADER_EPOCH);
            continue;
        }
        if (it->last_fetched_epoch >= 0) {
            int32_t e;
            int64_t end;

            sl_partlog_end_offset_for_epoch(pl, it->last_fetched_epoch, &e,
                                            &end);
            if (e >= 0 &&
                (e != it->last_fetched_epoch || end < it->fetch_offset)) {
                o->diverging_epoch_present = true;
                o->diverging_epoch.epoch = e;
                o->diverging_epoch.end_offset = end;
                continue;
            }
        }
        if (it->fetch_offset < o->log_start_offset ||
            it->fetch_offset > sl_partlog_end_offset(pl)) {
            o->error_code = (int16_t)SL_ERR_OFFSET_OUT_OF_RANGE;
            continue;
        }
        want = (size_t)(it->max_bytes > 0 ? it->max_bytes : 0);
        if ((int64_t)want > budget) {
            want = budget > 0 ? (size_t)budget : 0;
        }
        if (want == 0 && first_found) {
            continue; /* out of budget: empty records */
        }
        err = sl_partlog_read(pl, it->fetch_offset, want, !first_found,
                              op->read_committed ? o->last_stable_offset : -1,
                              &it->slice);
        if (err != SL_OK) {
            it->slice.seg = NULL;
            it->slice.len = 0;
            o->error_code =
                sl_err_to_wire(err == SL_ERR__CORRUPT ? SL_ERR__IO : err);
            continue;
        }
        if (it->slice.len > 0) {
            first_found = true;
            total += (int64_t)it->slice.len;
            budget -= (int64_t)it->slice.len;
            o->records.ptr = sl_wire_external;
            o->records.len = (int32_t)it->slice.len;
            if (op->read_committed && sl_fetch_aborted(op, it, pl) != SL_OK) {
                sl_log_slice_release(&it->slice);
                it->slice.len = 0;
                o->records.ptr = NULL;
                o->records.len = 0;
                o->error_code = (int16_t)sl_err_to_wire(SL_ERR__NOMEM);
            }
        }
    }
    sl_api_punlock(api);
    return total;
}

/* Whether there is enough to answer now. */
static bool
sl_fetch_ready(sl_fetch_op_t *op, int64_t avail)
{
    int i;

    if (avail >= op->min_bytes) {
        return true;
    }
    for (i = 0; i < op->nitems; i++) {
        if (op->items[i].out.error_code != 0 ||
            op->items[i].out.diverging_epoch_present) {
            return true;
        }
    }
    return false;
}

/* ---- the response ---- */

static sl_err_t
sl_fetch_build_response(sl_fetch_op_t *op)
{
    sl_api_req_t *r = op->r;
    sl_msg_fetch_resp_t *resp = r->resp;
    sl_fr_topic_t *topics, *t = NULL;
    int i, nt = 0;

    resp->throttle_time_ms = 0;
    resp->error_code = 0;
    resp->session_id = op->sess != NULL ? sl_fsess_id(op->sess) : 0;
    topics = sl_arena_calloc(
        r->arena, (size_t)(op->nitems > 0 ? op->nitems : 1), sizeof(*topics));
    if (topics == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < op->nitems; i++) {
        sl_fetch_item_t *it = &op->items[i];
        bool include = true;

        if (it->sp != NULL) {
            include = sl_fsess_note(
                it->sp, it->in_request, it->slice.len > 0,
                it->out.high_watermark, it->out.last_stable_offset,
                it->out.log_start_offset, it->out.error_code);
            if (op->kind != SL_FSESS_INCREMENTAL) {
                include = true;
            }
        }
        if (!include) {
            sl_log_slice_release(&it->slice);
            it->slice.len = 0;
            continue;
        }
        /* Group consecutive items of one topic. */
        if (t == NULL || (it->by_id ? !sl_uuid_eq(&t->topic_id, &it->topic_id)
                                    : !sl_str_eq(t->topic, it->topic))) {
            t = &topics[nt++];
            sl_msg_fetch_resp_fetchable_topic_response_init(t);
            t->topic = it->topic.len >= 0 ? it->topic : (sl_str_t){"", 0};
            t->topic_id = it->topic_id;
            t->partitions = sl_arena_calloc(r->arena, (size_t)op->nitems,
                                            sizeof(sl_fr_part_t));
            if (t->partitions == NULL) {
                return SL_ERR__NOMEM;
            }
            t->partitions_count = 0;
        }
        t->partitions[t->partitions_count++] = it->out;
        /* The slice goes out in encoding order: record it. */
        if (it->slice.len > 0) {
            r->exts[r->nexts++] = it->slice;
            it->slice.seg = NULL; /* now owned by r->exts */
            it->slice.len = 0;
        } else {
            sl_log_slice_release(&it->slice);
        }
    }
    resp->responses = topics;
    resp->responses_count = nt;
    sl_api_metrics_fetch_out(r->api, resp);
    return SL_OK;
}

static void
sl_fetch_end_session(sl_fetch_op_t *op)
{
    if (op->sess != NULL) {
        sl_fsess_end(op->r->api->fsess, op->sess, sl_now_ms());
    }
}

static void
sl_fetch_complete(sl_fetch_op_t *op)
{
    sl_api_req_t *r = op->r;
    sl_err_t err;

    err = sl_fetch_build_response(op);
    sl_fetch_release_slices(op);
    sl_fetch_end_session(op);
    sl_api_finish(r, err);
}

/* @thread any (purgatory) */
static void
sl_fetch_try_complete(sl_delayed_t *d)
{
    sl_fetch_op_t *op = (sl_fetch_op_t *)d;
    int64_t avail = sl_fetch_read_all(op);

    if (sl_fetch_ready(op, avail) && sl_delayed_complete(d)) {
        sl_fetch_complete(op);
        return;
    }
    sl_fetch_release_slices(op);
}

/* @thread purgatory expiry */
static void
sl_fetch_expire(sl_delayed_t *d)
{
    sl_fetch_op_t *op = (sl_fetch_op_t *)d;

    if (sl_delayed_complete(d)) {
        sl_fetch_read_all(op);
        sl_fetch_complete(op);
    }
}

static void
sl_fetch_free(sl_delayed_t *d)
{
    free(d);
}

/* ---- request parsing ---- */

/* Resolve a topic id to its name (plock held). */
static sl_str_t
sl_fetch_topic_name(sl_api_t *api, const sl_uuid_t *id)
{
    sl_ptopic_t *t = sl_api_ptopic_by_id(api, id);
    sl_str_t s = {NULL, -1};

    if (t != NULL) {
        s.ptr = t->name;
        s.len = (int32_t)strlen(t->name);
    }
    return s;
}

sl_err_t
sl_api_fetch_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    const sl_msg_fetch_req_t *req = reqp;
    sl_msg_fetch_resp_t *resp = respp;
    sl_api_t *api = r->api;
    bool by_id = r->version >= 13;
    sl_fetch_op_t *op;
    sl_fsess_kind_e kind = SL_FSESS_SESSIONLESS;
    sl_fsess_t *sess = NULL;
    int32_t ti, pi, n = 0, i, np;
    sl_fsess_part_t *parts;
    sl_err_t err;
    int64_t avail;
    uint64_t *keys;

    if (r->version >= 7) {
        err = sl_fsess_begin(api->fsess, req->session_id, req->session_epoch,
                             sl_now_ms(), &kind, &sess);
        if (err != SL_OK) {
            resp->error_code = (int16_t)err;
            resp->session_id = 0;
            resp->responses_count = 0;
            return SL_OK;
        }
    }
    op = calloc(1, sizeof(*op));
    if (op == NULL) {
        if (sess != NULL) {
            sl_fsess_end(api->fsess, sess, sl_now_ms());
        }
        return SL_ERR__NOMEM;
    }
    sl_delayed_init(&op->d);
    op->d.try_complete = sl_fetch_try_complete;
    op->d.on_expire = sl_fetch_expire;
    op->d.free = sl_fetch_free;
    op->r = r;
    op->max_bytes = req->max_bytes > 0 ? req->max_bytes : 0;
    op->min_bytes = req->min_bytes;
    op->read_committed = req->isolation_level == 1;
    op->kind = kind;

    if (kind == SL_FSESS_NEW) {
        sess = sl_fsess_create(api->fsess, sl_now_ms());
    }
    op->sess = sess;

    sl_api_plock_rd(api);
    /* Session bookkeeping: add or update what the request names. */
    for (ti = 0; ti < req->topics_count; ti++) {
        const sl_msg_fetch_req_fetch_topic_t *ft = &req->topics[ti];
        sl_str_t name =
            by_id ? sl_fetch_topic_name(api, &ft->topic_id) : ft->topic;

        for (pi = 0; pi < ft->partitions_count; pi++) {
            const sl_msg_fetch_req_fetch_partition_t *fp = &ft->partitions[pi];
            sl_fsess_part_t *sp;

            n++;
            if (sess == NULL) {
                continue;
            }
            sp = sl_fsess_upsert(sess, by_id ? NULL : name.ptr,
                                 by_id ? 0 : name.len, &ft->topic_id,
                                 fp->partition);
            if (sp != NULL) {
                sp->fetch_offset = fp->fetch_offset;
                sp->max_bytes = fp->partition_max_bytes;
                sp->current_leader_epoch = fp->current_leader_epoch;
                sp->last_fetched_epoch = fp->last_fetched_epoch;
                sp->log_start_offset = fp->log_start_offset;
            }
        }
    }
    if (sess != NULL && kind == SL_FSESS_INCREMENTAL) {
        for (ti = 0; ti < req->forgotten_topics_data_count; ti++) {
            const sl_msg_fetch_req_forgotten_topic_t *f =
                &req->forgotten_topics_data[ti];

            for (pi = 0; pi < f->partitions_count; pi++) {
                sl_fsess_forget(sess, by_id ? NULL : f->topic.ptr,
                                by_id ? 0 : f->topic.len, &f->topic_id,
                                f->partitions[pi]);
            }
        }
    }
    /* What to fetch: the session's partitions, or the request's. */
    parts = NULL;
    np = 0;
    if (sess != NULL && kind == SL_FSESS_INCREMENTAL) {
        parts = sl_fsess_parts(sess, &np);
        n = np;
    }
    op->items = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                                sizeof(sl_fetch_item_t));
    r->exts = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1),
                              sizeof(sl_log_slice_t));
    keys = sl_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), sizeof(*keys));
    if (op->items == NULL || r->exts == NULL || keys == NULL) {
        sl_api_punlock(api);
        sl_fetch_end_session(op);
        free(op);
        return SL_ERR__NOMEM;
    }
    if (parts != NULL) {
        for (i = 0; i < np; i++) {
            sl_fetch_item_t *it = &op->items[op->nitems++];
            sl_fsess_part_t *sp = &parts[i];

            it->by_id = by_id;
            it->topic_id = sp->topic_id;
            if (by_id) {
                sl_str_t nm = sl_fetch_topic_name(api, &sp->topic_id);
                it->topic.ptr =
                    nm.ptr != NULL
                        ? sl_arena_memdup(r->arena, nm.ptr, (size_t)nm.len + 1)
                        : NULL;
                it->topic.len = nm.ptr != NULL ? nm.len : -1;
            } else {
                it->topic.ptr = sp->topic;
                it->topic.len = (int32_t)strlen(sp->topic);
            }
            it->partition = sp->partition;
            it->fetch_offset = sp->fetch_offset;
            it->max_bytes = sp->max_bytes;
            it->current_leader_epoch = sp->current_leader_epoch;
            it->last_fetched_epoch = sp->last_fetched_epoch;
            it->sp = sp;
            it->slice.fd = -1;
        }
        /* Mark the ones this request named. */
        for (ti = 0; ti < req->topics_count; ti++) {
            const sl_msg_fetch_req_fetch_topic_t *ft = &req->topics[ti];
            for (pi = 0; pi < ft->partitions_count; pi++) {
                for (i = 0; i < op->nitems; i++) {
                    sl_fetch_item_t *it = &op->items[i];
                    if (it->partition == ft->partitions[pi].partition &&
                        (by_id ? sl_uuid_eq(&it->topic_id, &ft->topic_id)
                               : sl_str_eq(it->topic, ft->topic))) {
                        it->in_request = true;
                    }
                }
            }
        }
    } else {
        for (ti = 0; ti < req->topics_count; ti++) {
            const sl_msg_fetch_req_fetch_topic_t *ft = &req->topics[ti];
            sl_str_t name =
                by_id ? sl_fetch_topic_name(api, &ft->topic_id) : ft->topic;

            if (by_id && name.ptr != NULL) {
                name.ptr =
                    sl_arena_memdup(r->arena, name.ptr, (size_t)name.len + 1);
            }
            for (pi = 0; pi < ft->partitions_count; pi++) {
                const sl_msg_fetch_req_fetch_partition_t *fp =
                    &ft->partitions[pi];
                sl_fetch_item_t *it = &op->items[op->nitems++];

                it->by_id = by_id;
                it->topic = name;
                it->topic_id = ft->topic_id;
                it->partition = fp->partition;
                it->fetch_offset = fp->fetch_offset;
                it->max_bytes = fp->partition_max_bytes;
                it->current_leader_epoch = fp->current_leader_epoch;
                it->last_fetched_epoch = fp->last_fetched_epoch;
                it->in_request = true;
                it->slice.fd = -1;
                if (sess != NULL) {
                    it->sp = sl_fsess_upsert(sess, by_id ? NULL : name.ptr,
                                             by_id ? 0 : name.len,
                                             &ft->topic_id, fp->partition);
                }
            }
        }
    }
    sl_api_punlock(api);

    /* ACLs: READ on each topic; a follower's fetch needs CLUSTER_ACTION */
    for (i = 0; i < op->nitems; i++) {
        sl_fetch_item_t *it = &op->items[i];

        if (req->replica_id >= 0 || (req->replica_state_present &&
                                     req->replica_state.replica_id >= 0)) {
            it->auth_err = sl_api_authorize_cluster(r, SL_ACL_OP_CLUSTER_ACTION)
                               ? SL_OK
                               : SL_ERR_TOPIC_AUTHORIZATION_FAILED;
        } else if (it->topic.len >= 0) {
            it->auth_err = sl_api_auth_topic(r, SL_ACL_OP_READ, it->topic);
        }
    }
    for (i = 0; i < op->nitems; i++) {
        keys[i] = op->items[i].topic.len >= 0
                      ? sl_purgatory_key_tp(op->items[i].topic.ptr,
                                            op->items[i].topic.len,
                                            op->items[i].partition)
                      : 0;
    }
    avail = sl_fetch_read_all(op);
    if (req->max_wait_ms <= 0 || sl_fetch_ready(op, avail) || op->nitems == 0) {
        err = sl_fetch_build_response(op);
        sl_fetch_release_slices(op);
        sl_fetch_end_session(op);
        sl_delayed_unref(&op->d);
        return err;
    }
    sl_fetch_release_slices(op);
    op->d.deadline_ms = sl_now_ms() + req->max_wait_ms;
    if (sl_purgatory_watch(api->fetch_purgatory, &op->d, keys, op->nitems) !=
        SL_OK) {
        sl_fetch_read_all(op);
        err = sl_fetch_build_response(op);
        sl_fetch_release_slices(op);
        sl_fetch_end_session(op);
        sl_delayed_unref(&op->d);
        return err;
    }
    sl_delayed_unref(&op->d); /* the purgatory holds it now */
    return SL_ERR__AGAIN;
}
