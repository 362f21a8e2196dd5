/*
 * tests/fuzz/fuzz_group.c: arbitrary bytes as a stream of group coordinator
 * events (join, sync, heartbeat, leave, commit, fetch, describe, list,
 * delete, offset delete, tick, store completions, and raw records loaded as
 * if read back from __consumer_offsets), over three groups, a few instance
 * ids and the member ids the coordinator hands out.
 *
 * Checks, besides ASan/UBSan: every JoinGroup, SyncGroup and OffsetCommit is
 * answered exactly once (at the latest when the coordinator is destroyed
 * and the store drained), and results are well-formed.
 *
 * tests/unit/group/test_group_sim.c runs the same driver on pseudo-random
 * inputs, so CTest exercises it without libFuzzer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "group/group.h"

#define SL_FZ_MAX_REQ 1024
#define SL_FZ_MAX_IDS 16
#define SL_FZ_MAX_PEND 1024

typedef struct sl_fz_req_s {
    int calls;
    int group; /* JoinGroup: the request's group and instance index */
    int inst;
} sl_fz_req_t;

typedef struct sl_fz_pend_s {
    sl_group_append_done_cb done;
    void *arg;
} sl_fz_pend_t;

/* A member id the coordinator handed out, with what it was joined with. */
typedef struct sl_fz_id_s {
    char id[96];
    int group;
    int inst;
    int32_t gen;
} sl_fz_id_t;

typedef struct sl_fz_s {
    sl_fz_req_t req[SL_FZ_MAX_REQ];
    int nreq;
    sl_fz_id_t ids[SL_FZ_MAX_IDS];
    int nids;
    int next_id; /* ring position once full */
    sl_fz_pend_t pend[SL_FZ_MAX_PEND];
    int npend;
    const uint8_t *p;
    size_t left;
} sl_fz_t;

static const char *const sl_fz_groups[] = {"g0", "g1", "grp-2"};
static const char *const sl_fz_insts[] = {NULL, "i1", "i2", "i3"};
static const char *const sl_fz_protos[] = {"range", "roundrobin", "sticky"};

static uint8_t
sl_fz_byte(sl_fz_t *z)
{
    if (z->left == 0) {
        return 0;
    }
    z->left--;
    return *z->p++;
}

static sl_str_t
sl_fz_s(const char *s)
{
    sl_str_t r = {s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

static void
sl_fz_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
             const uint8_t *value, size_t value_len,
             sl_group_append_done_cb done, void *done_arg)
{
    sl_fz_t *z = ctx;

    if (key_len < 2 || partition < 0 || (value != NULL && value_len < 2)) {
        abort(); /* records always carry their int16 version prefix */
    }
    if (z->npend == SL_FZ_MAX_PEND) {
        abort(); /* the driver flushes long before this */
    }
    z->pend[z->npend].done = done;
    z->pend[z->npend].arg = done_arg;
    z->npend++;
}

static bool
sl_fz_txn(void *ctx, sl_str_t g, sl_str_t t, int32_t p)
{
    (void)ctx;
    (void)g;
    (void)t;
    return p == 7;
}

/* Complete pending appends in order (<fail>: with an I/O error). */
static void
sl_fz_flush(sl_fz_t *z, int n, bool fail)
{
    while (n-- > 0 && z->npend > 0) {
        sl_fz_pend_t p = z->pend[0];

        memmove(&z->pend[0], &z->pend[1], (size_t)(z->npend - 1) * sizeof(p));
        z->npend--;
        p.done(p.arg, fail ? SL_ERR__IO : SL_OK);
    }
}

static sl_fz_req_t *
sl_fz_req(sl_fz_t *z)
{
    return z->nreq < SL_FZ_MAX_REQ ? &z->req[z->nreq++] : NULL;
}

static void
sl_fz_called(sl_fz_req_t *r)
{
    if (++r->calls != 1) {
        abort(); /* answered twice */
    }
}

static void
sl_fz_join_cb(void *arg, const sl_group_join_result_t *r)
{
    sl_fz_called(arg);
    if (r->members_count < 0 || (r->members_count > 0 && r->members == NULL) ||
        r->member_id.len < 0) {
        abort();
    }
}

static sl_fz_t *sl_fz_cur; /* the driver is single-threaded */

static void
sl_fz_join_cb_ids(void *arg, const sl_group_join_result_t *r)
{
    sl_fz_t *z = sl_fz_cur;
    sl_fz_req_t *q = arg;
    sl_fz_id_t *e;

    sl_fz_join_cb(arg, r);
    if (z == NULL || r->member_id.len <= 0 || r->member_id.len >= 96 ||
        (r->error != SL_OK && r->error != SL_ERR_MEMBER_ID_REQUIRED)) {
        return;
    }
    if (z->nids < SL_FZ_MAX_IDS) {
        e = &z->ids[z->nids++];
    } else {
        e = &z->ids[z->next_id];
        z->next_id = (z->next_id + 1) % SL_FZ_MAX_IDS;
    }
    memcpy(e->id, r->member_id.ptr, (size_t)r->member_id.len);
    e->id[r->member_id.len] = '\0';
    e->group = q->group;
    e->inst = q->inst;
    e->gen = r->generation_id;
}

static void
sl_fz_sync_cb(void *arg, const sl_group_sync_result_t *r)
{
    sl_fz_called(arg);
    if (r->assignment.len < 0) {
        abort();
    }
}

static void
sl_fz_commit_cb(void *arg, const sl_err_t *errors, int32_t count)
{
    sl_fz_called(arg);
    if (count < 0 || (count > 0 && errors == NULL)) {
        abort();
    }
}

/* Pick a member: mostly a known id with its own group, instance and
 * generation; sometimes "" or a made-up id, or a perturbed field. */
static void
sl_fz_pick(sl_fz_t *z, uint8_t b, uint8_t b2, const char **member, int *group,
           int *inst, int32_t *gen)
{
    const sl_fz_id_t *e;

    *group = b2 % 3;
    *inst = (b2 >> 2) % 4;
    *gen = (int32_t)(b2 >> 5) - 1;
    if (z->nids == 0 || b % 7 == 0) {
        *member = b & 0x80 ? "" : "bogus-id";
        return;
    }
    e = &z->ids[b % z->nids];
    *member = e->id;
    if ((b2 & 0x3) != 0) {
        *group = e->group;
        *inst = e->inst;
        *gen = e->gen + ((b2 & 0xc0) == 0xc0 ? 1 : 0);
    }
}

static void
sl_fz_join(sl_group_coord_t *gc, sl_fz_t *z, int64_t now)
{
    uint8_t b1 = sl_fz_byte(z), b2 = sl_fz_byte(z), b3 = sl_fz_byte(z);
    sl_group_protocol_t p[2];
    sl_group_join_req_t r;
    sl_fz_req_t *q = sl_fz_req(z);
    uint8_t md[2] = {b3, b1};
    const char *member;
    int group, inst;
    int32_t gen;

    if (q == NULL) {
        return;
    }
    sl_fz_pick(z, b2, b1, &member, &group, &inst, &gen);
    if (b1 & 0x20) {
        member = ""; /* a first join */
    }
    q->group = group;
    q->inst = inst;
    memset(&r, 0, sizeof(r));
    r.group_id = sl_fz_s(sl_fz_groups[group]);
    r.member_id = sl_fz_s(member);
    r.group_instance_id = sl_fz_s(sl_fz_insts[inst]);
    r.protocol_type = sl_fz_s((b3 & 0xe0) == 0xe0 ? "connect" : "consumer");
    p[0].name = sl_fz_s(sl_fz_protos[b3 % 3]);
    p[0].metadata.ptr = md;
    p[0].metadata.len = (int32_t)(b3 & 1) + 1;
    p[1].name = sl_fz_s(sl_fz_protos[(b3 >> 2) % 3]);
    p[1].metadata.ptr = md;
    p[1].metadata.len = 2;
    r.protocols = p;
    r.protocols_count = 1 + ((b3 >> 4) & 1);
    r.session_timeout_ms = b2 & 0x40 ? 6000 : 10000 + (b1 & 0x30) * 100;
    r.rebalance_timeout_ms = b2 & 0x20 ? -1 : 20000;
    r.client_id = sl_fz_s("c");
    r.client_host = sl_fz_s("/h");
    r.reason = sl_fz_s(NULL);
    r.require_known_member_id = (b1 & 0x80) != 0;
    r.supports_skip_assignment = (b2 & 0x10) != 0;
    sl_group_join(gc, now, &r, sl_fz_join_cb_ids, q);
}

static void
sl_fz_sync(sl_group_coord_t *gc, sl_fz_t *z, int64_t now)
{
    uint8_t b1 = sl_fz_byte(z), b2 = sl_fz_byte(z);
    sl_group_assignment_t as[SL_FZ_MAX_IDS];
    sl_group_sync_req_t r;
    sl_fz_req_t *q = sl_fz_req(z);
    const char *member;
    int i, group, inst;
    int32_t gen;

    if (q == NULL) {
        return;
    }
    sl_fz_pick(z, b2, b1, &member, &group, &inst, &gen);
    for (i = 0; i < z->nids; i++) {
        as[i].member_id = sl_fz_s(z->ids[i].id);
        as[i].assignment.ptr = (const uint8_t *)"a";
        as[i].assignment.len = i & 1;
    }
    memset(&r, 0, sizeof(r));
    r.group_id = sl_fz_s(sl_fz_groups[group]);
    r.member_id = sl_fz_s(member);
    r.group_instance_id = sl_fz_s(sl_fz_insts[inst]);
    r.protocol_type = sl_fz_s(b1 & 0x40 ? "consumer" : NULL);
    r.protocol_name = sl_fz_s((b1 & 0x0c) == 0x0c ? "range" : NULL);
    r.generation_id = gen;
    r.assignments = as;
    r.assignments_count = b2 & 0x10 ? z->nids : 0;
    sl_group_sync(gc, now, &r, sl_fz_sync_cb, q);
}

static void
sl_fz_commit(sl_group_coord_t *gc, sl_fz_t *z, int64_t now)
{
    uint8_t b1 = sl_fz_byte(z), b2 = sl_fz_byte(z);
    sl_group_commit_part_t p[2];
    sl_group_commit_req_t r;
    sl_fz_req_t *q = sl_fz_req(z);
    const char *member;
    int group, inst;
    int32_t gen;

    if (q == NULL) {
        return;
    }
    sl_fz_pick(z, b2, b1, &member, &group, &inst, &gen);
    p[0].topic = sl_fz_s(b2 & 1 ? "t" : "u");
    p[0].partition = b2 % 8;
    p[0].offset = b1;
    p[0].leader_epoch = -1;
    p[0].metadata = sl_fz_s(b2 & 2 ? NULL : "m");
    p[1] = p[0];
    p[1].partition = (b2 >> 3) % 8;
    memset(&r, 0, sizeof(r));
    r.group_id = sl_fz_s(sl_fz_groups[group]);
    r.member_id = sl_fz_s(member);
    r.group_instance_id = sl_fz_s(sl_fz_insts[inst]);
    r.generation_id = b1 & 0x10 ? -1 : gen;
    r.retention_ms = b2 & 0x80 ? 5000 : -1;
    r.parts = p;
    r.parts_count = 1 + ((b2 >> 6) & 1);
    sl_group_offset_commit(gc, now, &r, sl_fz_commit_cb, q);
}

static void
sl_fz_read(sl_group_coord_t *gc, sl_fz_t *z, uint8_t op)
{
    uint8_t b = sl_fz_byte(z);
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_str_t g = sl_fz_s(sl_fz_groups[b % 3]);
    sl_group_tp_t tp[2] = {{sl_fz_s("t"), b % 8}, {sl_fz_s("u"), 7}};
    sl_group_offset_t *o;
    sl_group_listing_t *l;
    sl_group_desc_t d;
    sl_str_t filt[1] = {sl_fz_s(b & 1 ? "Stable" : "empty")};
    sl_err_t errs[2];
    int32_t n;

    if (a == NULL) {
        return;
    }
    switch (op) {
    case 0:
        (void)sl_group_offset_fetch(gc, g, b & 0x10 ? NULL : tp, 2,
                                    (b & 0x20) != 0, a, &o, &n);
        break;
    case 1:
        (void)sl_group_describe(gc, g, a, &d);
        (void)sl_group_list(gc, filt, b & 2 ? 1 : 0, NULL, 0, a, &l, &n);
        break;
    case 2:
        (void)sl_group_delete(gc, 0, g);
        break;
    default:
        (void)sl_group_offset_delete(gc, 0, g, tp, 2, errs);
        break;
    }
    sl_arena_destroy(a);
}

static void
sl_fz_load(sl_group_coord_t *gc, sl_fz_t *z, int64_t now)
{
    size_t kl = sl_fz_byte(z) % 64, vl = sl_fz_byte(z);
    bool tomb = (vl & 0x80) != 0;

    vl &= 0x7f;
    if (kl + vl > z->left) {
        kl = vl = 0;
    }
    (void)sl_group_coord_load(gc, now, z->p, kl, tomb ? NULL : z->p + kl, vl);
    z->p += kl + vl;
    z->left -= kl + vl;
}

static int
sl_fuzz_group_run(const uint8_t *data, size_t size)
{
    sl_fz_t *z = calloc(1, sizeof(*z));
    sl_group_config_t cfg;
    sl_group_store_t store;
    sl_group_coord_t *gc;
    int64_t now = 1000;
    int ops = 0;

    if (z == NULL) {
        return 0;
    }
    z->p = data;
    z->left = size;
    sl_fz_cur = z;
    sl_group_config_defaults(&cfg);
    cfg.max_size = 3;
    cfg.initial_rebalance_delay_ms = size > 0 && (data[0] & 1) ? 3000 : 0;
    cfg.offsets_retention_ms = 60000;
    memset(&store, 0, sizeof(store));
    store.ctx = z;
    store.append = sl_fz_append;
    store.has_pending_txn = sl_fz_txn;
    if ((gc = sl_group_coord_create(&cfg, &store)) == NULL) {
        free(z);
        return 0;
    }
    while (z->left > 0 && ops++ < 4000) {
        uint8_t op = sl_fz_byte(z);

        switch (op % 12) {
        case 0:
        case 1:
            sl_fz_join(gc, z, now);
            break;
        case 2:
            sl_fz_sync(gc, z, now);
            break;
        case 3: {
            uint8_t b = sl_fz_byte(z), b2 = sl_fz_byte(z);
            const char *member;
            int group, inst;
            int32_t gen;

            sl_fz_pick(z, b, b2, &member, &group, &inst, &gen);
            (void)sl_group_heartbeat(gc, now, sl_fz_s(sl_fz_groups[group]),
                                     sl_fz_s(member),
                                     sl_fz_s(sl_fz_insts[inst]), gen);
            break;
        }
        case 4: {
            uint8_t b = sl_fz_byte(z), b2 = sl_fz_byte(z);
            sl_group_leave_member_t lm[2];
            sl_err_t errs[2];
            const char *member;
            int group, inst;
            int32_t gen;

            sl_fz_pick(z, b, b2, &member, &group, &inst, &gen);
            lm[0].member_id = sl_fz_s(b2 & 0x10 ? "" : member);
            lm[0].group_instance_id = sl_fz_s(sl_fz_insts[inst]);
            lm[1].member_id = sl_fz_s("bogus-id");
            lm[1].group_instance_id = sl_fz_s(NULL);
            (void)sl_group_leave(gc, now, sl_fz_s(sl_fz_groups[group]), lm,
                                 1 + (b >> 7), errs);
            break;
        }
        case 5:
            sl_fz_commit(gc, z, now);
            break;
        case 6:
        case 7: {
            uint8_t b = sl_fz_byte(z);

            now += (int64_t)b * (op & 1 ? 1000 : 50);
            sl_group_coord_tick(gc, now);
            break;
        }
        case 8: {
            uint8_t b = sl_fz_byte(z);

            sl_fz_flush(z, b % 8, (b & 0x80) != 0);
            break;
        }
        case 9:
            sl_fz_load(gc, z, now);
            break;
        default:
            sl_fz_read(gc, z, sl_fz_byte(z) % 4);
            break;
        }
        if (z->npend > SL_FZ_MAX_PEND / 2) {
            sl_fz_flush(z, z->npend, false);
        }
        if (sl_group_coord_next_deadline(gc) < now) {
            /* A deadline in the past survives only until the next tick. */
            sl_group_coord_tick(gc, now);
            if (sl_group_coord_next_deadline(gc) < now) {
                abort();
            }
        }
    }
    sl_group_coord_destroy(gc);
    /* The store completes what is in flight after destroy (the last
     * completion frees the coordinator). */
    sl_fz_flush(z, z->npend, false);
    for (int i = 0; i < z->nreq; i++) {
        if (z->req[i].calls != 1) {
            abort(); /* a request never answered */
        }
    }
    sl_fz_cur = NULL;
    free(z);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return sl_fuzz_group_run(data, size);
}
