/*
 * group/records.c: the group coordinator's records in __consumer_offsets,
 * in Kafka's formats, and rebuilding state from them.
 *
 * Record layout (Kafka's CoordinatorRecordSerde):
 *   key   = int16 record type, then the key struct at version = type
 *   value = int16 value version, then the value struct; absent = tombstone
 *
 *   type 0/1  OffsetCommitKey {group, topic, partition}      (we write 1)
 *             OffsetCommitValue v1 when an expire timestamp is set, else v3
 *   type 2    GroupMetadataKey {group}
 *             GroupMetadataValue v3 {protocol_type, generation, protocol,
 *             leader, current_state_timestamp, members[member_id,
 *             group_instance_id, client_id, client_host, rebalance_timeout,
 *             session_timeout, subscription, assignment]}
 *   type 3-15 consumer/share group records: not ours (SL_ERR__UNSUPPORTED)
 *
 * Owns: the append-completion contexts it allocates. Runs with the
 * coordinator lock held, except the store's done callback, which takes it.
 */
#include <stdlib.h>
#include <string.h>

#include "group/group_int.h"
#include "proto/gen/data.h"

#define SL_GROUP_KEY_OFFSET 1
#define SL_GROUP_KEY_GROUP 2

typedef struct sl_group_append_s {
    sl_group_coord_t *gc;
    sl_group_applied_cb cb;
    void *ctx;
} sl_group_append_t;

static void
sl_group_append_done(void *arg, sl_err_t err)
{
    sl_group_append_t *ap = arg;
    sl_group_coord_t *gc = ap->gc;

    sl_group_coord_lock(gc);
    if (ap->cb != NULL) {
        ap->cb(gc, ap->ctx, err); /* after destroy: finds no group */
    }
    free(ap);
    sl_group_coord_unref_unlock(gc);
}

/* Hand one record to the store. Without a store (or when out of memory),
 * <cb> runs now, with SL_OK or SL_ERR__NOMEM. */
static void
sl_group_append(sl_group_coord_t *gc, int32_t partition, const uint8_t *key,
                size_t key_len, const uint8_t *value, size_t value_len,
                sl_group_applied_cb cb, void *ctx)
{
    sl_group_append_t *ap;

    if (gc->store.append == NULL) {
        if (cb != NULL) {
            cb(gc, ctx, SL_OK);
        }
        return;
    }
    if ((ap = malloc(sizeof(*ap))) == NULL) {
        if (cb != NULL) {
            cb(gc, ctx, SL_ERR__NOMEM);
        }
        return;
    }
    ap->gc = gc;
    ap->cb = cb;
    ap->ctx = ctx;
    gc->refs++;
    gc->store.append(gc->store.ctx, partition, key, key_len, value, value_len,
                     sl_group_append_done, ap);
}

/* Encode "int16 version + struct" with the generated size/encode pair. */
#define SL_GROUP_ENCODE(buf, len, ver, msg, fn)                                \
    do {                                                                       \
        sl_wr_t wr_;                                                           \
        (len) = 2 + fn##_size((msg), (ver));                                   \
        (buf) = malloc(len);                                                   \
        if ((buf) != NULL) {                                                   \
            sl_wr_init(&wr_, (buf), (len));                                    \
            sl_wr_i16(&wr_, (ver));                                            \
            if (fn##_encode(&wr_, (ver), (msg)) != SL_OK) {                    \
                free(buf);                                                     \
                (buf) = NULL;                                                  \
            }                                                                  \
        }                                                                      \
    } while (0)

void
sl_group_persist_group(sl_group_coord_t *gc, sl_group_t *g, bool tomb,
                       int64_t now_ms, sl_group_applied_cb cb, void *ctx)
{
    sl_msg_group_metadata_key_t k;
    sl_msg_group_metadata_value_t v;
    sl_msg_group_metadata_value_member_metadata_t *mm = NULL;
    uint8_t *kb = NULL, *vb = NULL;
    size_t kl = 0, vl = 0;
    int32_t i, j;

    sl_msg_group_metadata_key_init(&k);
    k.group = sl_gstr_view(&g->id);
    SL_GROUP_ENCODE(kb, kl, SL_GROUP_KEY_GROUP, &k, sl_msg_group_metadata_key);
    if (kb == NULL) {
        goto nomem;
    }
    if (!tomb) {
        sl_msg_group_metadata_value_init(&v);
        v.protocol_type = sl_gstr_view(&g->protocol_type);
        if (v.protocol_type.len < 0) {
            v.protocol_type.ptr = "";
            v.protocol_type.len = 0;
        }
        v.generation = g->generation;
        v.protocol = sl_gstr_view(&g->protocol_name);
        v.leader = sl_gstr_view(&g->leader);
        v.current_state_timestamp = now_ms;
        mm = calloc((size_t)g->members_count + 1, sizeof(*mm));
        if (mm == NULL) {
            goto nomem;
        }
        for (i = 0; i < g->members_count; i++) {
            const sl_gmember_t *m = g->members[i];
            sl_bytes_t none = {(const uint8_t *)"", 0};

            sl_msg_group_metadata_value_member_metadata_init(&mm[i]);
            mm[i].member_id = sl_gstr_view(&m->id);
            mm[i].group_instance_id = sl_gstr_view(&m->instance_id);
            mm[i].client_id = sl_gstr_view(&m->client_id);
            mm[i].client_host = sl_gstr_view(&m->client_host);
            mm[i].rebalance_timeout = m->rebalance_timeout_ms;
            mm[i].session_timeout = m->session_timeout_ms;
            mm[i].subscription = none;
            for (j = 0; j < m->protocols_count; j++) {
                if (sl_gstr_eq(&m->protocols[j].name,
                               sl_gstr_view(&g->protocol_name))) {
                    mm[i].subscription =
                        sl_gstr_bytes(&m->protocols[j].metadata);
                }
            }
            mm[i].assignment = m->assignment.ptr != NULL
                                   ? sl_gstr_bytes(&m->assignment)
                                   : none;
        }
        v.members = mm;
        v.members_count = g->members_count;
        SL_GROUP_ENCODE(vb, vl, 3, &v, sl_msg_group_metadata_value);
        free(mm);
        if (vb == NULL) {
            goto nomem;
        }
    }
    sl_group_append(gc, g->partition, kb, kl, vb, vl, cb, ctx);
    free(kb);
    free(vb);
    return;
nomem:
    free(kb);
    if (cb != NULL) {
        cb(gc, ctx, SL_ERR__NOMEM);
    }
}

void
sl_group_persist_offset(sl_group_coord_t *gc, const sl_group_t *g,
                        sl_str_t topic, int32_t partition,
                        const sl_goffset_t *o, sl_group_applied_cb cb,
                        void *ctx)
{
    sl_msg_offset_commit_key_t k;
    sl_msg_offset_commit_value_t v;
    uint8_t *kb = NULL, *vb = NULL;
    size_t kl = 0, vl = 0;
    int16_t ver;

    sl_msg_offset_commit_key_init(&k);
    k.group = sl_gstr_view(&g->id);
    k.topic = topic;
    k.partition = partition;
    SL_GROUP_ENCODE(kb, kl, SL_GROUP_KEY_OFFSET, &k, sl_msg_offset_commit_key);
    if (kb == NULL) {
        goto nomem;
    }
    if (o != NULL) {
        sl_msg_offset_commit_value_init(&v);
        v.offset = o->offset;
        v.leader_epoch = o->leader_epoch;
        v.metadata = sl_gstr_view(&o->metadata);
        if (v.metadata.len < 0) {
            v.metadata.ptr = "";
            v.metadata.len = 0;
        }
        v.commit_timestamp = o->commit_ts;
        v.expire_timestamp = o->expire_ts;
        ver = o->expire_ts >= 0 ? 1 : 3;
        SL_GROUP_ENCODE(vb, vl, ver, &v, sl_msg_offset_commit_value);
        if (vb == NULL) {
            goto nomem;
        }
    }
    sl_group_append(gc, g->partition, kb, kl, vb, vl, cb, ctx);
    free(kb);
    free(vb);
    return;
nomem:
    free(kb);
    if (cb != NULL) {
        cb(gc, ctx, SL_ERR__NOMEM);
    }
}

/* ---- loading ------------------------------------------------------------ */

static sl_err_t
sl_group_load_offset(sl_group_coord_t *gc, sl_arena_t *a, sl_rd_t *kr,
                     int16_t kv, const uint8_t *value, size_t value_len)
{
    sl_msg_offset_commit_key_t k;
    sl_msg_offset_commit_value_t v;
    sl_goffset_t *o, *n;
    sl_group_t *g;
    sl_rd_t vr;
    int16_t vv;

    if (sl_msg_offset_commit_key_decode(kr, kv, a, &k) != SL_OK) {
        return SL_CORRUPT();
    }
    if (value != NULL) {
        sl_rd_init(&vr, value, value_len);
        sl_rd_i16(&vr, &vv);
        if (sl_rd_error(&vr) != SL_OK || vv < 0 || vv > 4 ||
            sl_msg_offset_commit_value_decode(&vr, vv, a, &v) != SL_OK) {
            return SL_CORRUPT();
        }
    }
    g = sl_group_find(gc, k.group);
    if (value == NULL) {
        if (g != NULL && (o = sl_group_offset_find(g, k.topic, k.partition))) {
            sl_gstr_free(&o->topic);
            sl_gstr_free(&o->metadata);
            *o = g->offsets[--g->offsets_count];
        }
        return SL_OK;
    }
    if (g == NULL && (g = sl_group_create(gc, k.group)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if ((o = sl_group_offset_find(g, k.topic, k.partition)) == NULL) {
        n = realloc(g->offsets, ((size_t)g->offsets_count + 1) * sizeof(*n));
        if (n == NULL) {
            return SL_ERR__NOMEM;
        }
        g->offsets = n;
        o = &g->offsets[g->offsets_count];
        memset(o, 0, sizeof(*o));
        if (sl_gstr_set(&o->topic, k.topic.ptr,
                        k.topic.len < 0 ? 0 : k.topic.len) != SL_OK) {
            return SL_ERR__NOMEM;
        }
        o->partition = k.partition;
        g->offsets_count++;
    }
    o->offset = v.offset;
    o->leader_epoch = vv >= 3 ? v.leader_epoch : -1;
    sl_gstr_set(&o->metadata, v.metadata.ptr,
                v.metadata.len < 0 ? 0 : v.metadata.len);
    o->commit_ts = v.commit_timestamp;
    o->expire_ts = vv == 1 ? v.expire_timestamp : -1;
    return SL_OK;
}

static sl_err_t
sl_group_load_member(sl_group_t *g,
                     const sl_msg_group_metadata_value_member_metadata_t *mm,
                     int64_t now_ms)
{
    sl_gmember_t *m = calloc(1, sizeof(*m));
    sl_str_t id = mm->member_id;
    sl_err_t err = SL_ERR__NOMEM;

    if (m == NULL) {
        return err;
    }
    m->instance_id.len = -1;
    if ((m->protocols = calloc(1, sizeof(*m->protocols))) == NULL) {
        goto fail;
    }
    m->protocols_count = 1;
    if (sl_gstr_set(&m->id, id.ptr, id.len < 0 ? 0 : id.len) != SL_OK ||
        sl_gstr_set(&m->instance_id, mm->group_instance_id.ptr,
                    mm->group_instance_id.len) != SL_OK ||
        sl_gstr_set(&m->client_id, mm->client_id.ptr,
                    mm->client_id.len < 0 ? 0 : mm->client_id.len) != SL_OK ||
        sl_gstr_set(&m->client_host, mm->client_host.ptr,
                    mm->client_host.len < 0 ? 0 : mm->client_host.len) !=
            SL_OK ||
        sl_gstr_set(&m->protocols[0].name, g->protocol_name.ptr,
                    g->protocol_name.len < 0 ? 0 : g->protocol_name.len) !=
            SL_OK ||
        sl_gstr_set(&m->protocols[0].metadata, mm->subscription.ptr,
                    mm->subscription.len < 0 ? 0 : mm->subscription.len) !=
            SL_OK ||
        sl_gstr_set(&m->assignment, mm->assignment.ptr,
                    mm->assignment.len < 0 ? 0 : mm->assignment.len) != SL_OK) {
        goto fail;
    }
    m->session_timeout_ms = mm->session_timeout;
    m->rebalance_timeout_ms =
        mm->rebalance_timeout < 0 ? mm->session_timeout : mm->rebalance_timeout;
    m->session_deadline = now_ms + m->session_timeout_ms;
    g->members[g->members_count++] = m;
    return SL_OK;
fail:
    sl_group_member_free(m);
    return err;
}

static sl_err_t
sl_group_load_group(sl_group_coord_t *gc, sl_arena_t *a, sl_rd_t *kr,
                    int64_t now_ms, const uint8_t *value, size_t value_len)
{
    sl_msg_group_metadata_key_t k;
    sl_msg_group_metadata_value_t v;
    sl_group_t *g;
    sl_rd_t vr;
    int16_t vv;
    int32_t i;

    if (sl_msg_group_metadata_key_decode(kr, SL_GROUP_KEY_GROUP, a, &k) !=
        SL_OK) {
        return SL_CORRUPT();
    }
    g = sl_group_find(gc, k.group);
    if (value == NULL) {
        if (g != NULL) {
            sl_group_remove(gc, g);
        }
        return SL_OK;
    }
    sl_rd_init(&vr, value, value_len);
    sl_rd_i16(&vr, &vv);
    if (sl_rd_error(&vr) != SL_OK || vv < 0 || vv > 4 ||
        sl_msg_group_metadata_value_decode(&vr, vv, a, &v) != SL_OK ||
        v.members_count < 0) {
        return SL_CORRUPT();
    }
    if (g == NULL && (g = sl_group_create(gc, k.group)) == NULL) {
        return SL_ERR__NOMEM;
    }
    /* The newest record replaces the membership of older ones. */
    sl_group_fail_parked(gc, g, SL_ERR_COORDINATOR_NOT_AVAILABLE);
    for (i = 0; i < g->members_count; i++) {
        sl_group_member_free(g->members[i]);
    }
    g->members_count = 0;
    free(g->members);
    g->members = calloc((size_t)v.members_count + 1, sizeof(*g->members));
    if (g->members == NULL) {
        return SL_ERR__NOMEM;
    }
    g->generation = v.generation;
    sl_gstr_set(&g->protocol_type, v.protocol_type.ptr, v.protocol_type.len);
    sl_gstr_set(&g->protocol_name, v.protocol.ptr, v.protocol.len);
    sl_gstr_set(&g->leader, v.leader.ptr, v.leader.len);
    for (i = 0; i < v.members_count; i++) {
        if (sl_group_load_member(g, &v.members[i], now_ms) != SL_OK) {
            return SL_ERR__NOMEM;
        }
    }
    g->join_deadline = g->sync_deadline = INT64_MAX;
    sl_group_set_state(
        g, g->members_count > 0 ? SL_GROUP_STATE_STABLE : SL_GROUP_STATE_EMPTY,
        vv >= 2 && v.current_state_timestamp >= 0 ? v.current_state_timestamp
                                                  : now_ms);
    return SL_OK;
}

sl_err_t
sl_group_coord_load(sl_group_coord_t *gc, int64_t now_ms, const uint8_t *key,
                    size_t key_len, const uint8_t *value, size_t value_len)
{
    sl_arena_t *a;
    sl_rd_t kr;
    int16_t type;
    sl_err_t err;

    sl_rd_init(&kr, key, key_len);
    sl_rd_i16(&kr, &type);
    if (sl_rd_error(&kr) != SL_OK || type < 0) {
        return SL_CORRUPT();
    }
    if (type > SL_GROUP_KEY_GROUP) {
        return type <= 15 ? SL_ERR__UNSUPPORTED : SL_CORRUPT();
    }
    /* Decoded arrays are bounded by the bytes that hold them; the cap makes
     * that explicit. */
    a = sl_arena_create(4096, 64 * (key_len + value_len) + 65536);
    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_group_coord_lock(gc);
    if (type == SL_GROUP_KEY_GROUP) {
        err = sl_group_load_group(gc, a, &kr, now_ms, value, value_len);
    } else {
        err = sl_group_load_offset(gc, a, &kr, type, value, value_len);
    }
    sl_group_coord_unlock(gc);
    sl_arena_destroy(a);
    return err;
}
