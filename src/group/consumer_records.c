/*
 * group/consumer_records.c: the consumer group protocol's records in
 * __consumer_offsets, in Kafka's formats, and rebuilding state from them.
 *
 * Record layout (Kafka's CoordinatorRecordSerde, as group/records.c):
 *   key   = int16 record type, then the key struct at version = type
 *   value = int16 value version (0), then the value struct; absent =
 *           tombstone
 *
 *   type 3  ConsumerGroupMetadataKey {group}            value {epoch}
 *   type 4  ConsumerGroupPartitionMetadataKey {group}   value {topics[id,
 *           name, partitions]} (rack data not kept)
 *   type 5  ConsumerGroupMemberMetadataKey {group, member}  value {instance,
 *           rack, client id/host, subscribed names, regex, rebalance
 *           timeout, server assignor}
 *   type 6  ConsumerGroupTargetAssignmentMetadataKey {group}  value
 *           {assignment epoch}
 *   type 7  ConsumerGroupTargetAssignmentMemberKey {group, member}  value
 *           {topic partitions}
 *   type 8  ConsumerGroupCurrentMemberAssignmentKey {group, member}  value
 *           {epoch, previous epoch, state, assigned, pending revocation}
 *
 * Loading creates groups and members on the first record that names them,
 * whatever its type, since compaction may reorder a member's records. A
 * tombstone of type 3 removes the group, of type 5 the member.
 *
 * Owns: the append-completion glue; runs with the coordinator lock held
 * (appends complete without it).
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "group/consumer_int.h"
#include "proto/gen/data.h"

enum {
    SL_CREC_GROUP = 3,
    SL_CREC_TOPICS = 4,
    SL_CREC_MEMBER = 5,
    SL_CREC_TARGET_EPOCH = 6,
    SL_CREC_TARGET = 7,
    SL_CREC_CURRENT = 8,
};

static void
sl_cgroup_append_done(void *arg, sl_err_t err)
{
    if (arg != NULL) {
        sl_cop_release(arg, err);
    } else if (err != SL_OK) {
        sl_log_warn("group", "consumer group record not stored err=%s",
                    sl_err_name(err));
    }
}

static void
sl_cgroup_append(sl_cgroup_coord_t *cc, const sl_cgroup_t *g, uint8_t *kb,
                 size_t kl, uint8_t *vb, size_t vl, bool tomb, sl_cop_t *op)
{
    if (kb == NULL || (!tomb && vb == NULL)) {
        if (op != NULL) {
            sl_cop_hold(op);
            sl_cop_release(op, SL_ERR__NOMEM);
        }
    } else if (cc->store.append != NULL) {
        if (op != NULL) {
            sl_cop_hold(op);
        }
        cc->store.append(cc->store.ctx, g->partition, kb, kl, tomb ? NULL : vb,
                         tomb ? 0 : vl, sl_cgroup_append_done, op);
    }
    free(kb);
    free(vb);
}

#define SL_CREC_ENCODE(buf, len, ver, msg, fn)                                 \
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

/* Key of the group's own records (types 3, 4, 6: one field, group_id). */
static uint8_t *
sl_cgroup_group_key(const sl_cgroup_t *g, int16_t type, size_t *kl)
{
    uint8_t *kb = NULL;

    if (type == SL_CREC_GROUP) {
        sl_msg_consumer_group_metadata_key_t k;

        sl_msg_consumer_group_metadata_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        SL_CREC_ENCODE(kb, *kl, type, &k, sl_msg_consumer_group_metadata_key);
    } else if (type == SL_CREC_TOPICS) {
        sl_msg_consumer_group_partition_metadata_key_t k;

        sl_msg_consumer_group_partition_metadata_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        SL_CREC_ENCODE(kb, *kl, type, &k,
                       sl_msg_consumer_group_partition_metadata_key);
    } else {
        sl_msg_consumer_group_target_assignment_metadata_key_t k;

        sl_msg_consumer_group_target_assignment_metadata_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        SL_CREC_ENCODE(kb, *kl, type, &k,
                       sl_msg_consumer_group_target_assignment_metadata_key);
    }
    return kb;
}

/* Key of a member's records (types 5, 7, 8: group_id, member_id). */
static uint8_t *
sl_cgroup_member_key(const sl_cgroup_t *g, sl_str_t member_id, int16_t type,
                     size_t *kl)
{
    uint8_t *kb = NULL;

    if (type == SL_CREC_MEMBER) {
        sl_msg_consumer_group_member_metadata_key_t k;

        sl_msg_consumer_group_member_metadata_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        k.member_id = member_id;
        SL_CREC_ENCODE(kb, *kl, type, &k,
                       sl_msg_consumer_group_member_metadata_key);
    } else if (type == SL_CREC_TARGET) {
        sl_msg_consumer_group_target_assignment_member_key_t k;

        sl_msg_consumer_group_target_assignment_member_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        k.member_id = member_id;
        SL_CREC_ENCODE(kb, *kl, type, &k,
                       sl_msg_consumer_group_target_assignment_member_key);
    } else {
        sl_msg_consumer_group_current_member_assignment_key_t k;

        sl_msg_consumer_group_current_member_assignment_key_init(&k);
        k.group_id = sl_gstr_view(&g->id);
        k.member_id = member_id;
        SL_CREC_ENCODE(kb, *kl, type, &k,
                       sl_msg_consumer_group_current_member_assignment_key);
    }
    return kb;
}

void
sl_cgroup_persist_epoch(sl_cgroup_coord_t *cc, sl_cgroup_t *g, sl_cop_t *op)
{
    sl_msg_consumer_group_metadata_value_t v;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;

    kb = sl_cgroup_group_key(g, SL_CREC_GROUP, &kl);
    sl_msg_consumer_group_metadata_value_init(&v);
    v.epoch = g->epoch;
    SL_CREC_ENCODE(vb, vl, 0, &v, sl_msg_consumer_group_metadata_value);
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

void
sl_cgroup_persist_topics(sl_cgroup_coord_t *cc, sl_cgroup_t *g, sl_cop_t *op)
{
    sl_msg_consumer_group_partition_metadata_value_t v;
    sl_msg_consumer_group_partition_metadata_value_topic_metadata_t *t;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;
    int32_t i;

    kb = sl_cgroup_group_key(g, SL_CREC_TOPICS, &kl);
    t = calloc((size_t)(g->topics_count > 0 ? g->topics_count : 1), sizeof(*t));
    if (t != NULL) {
        sl_msg_consumer_group_partition_metadata_value_init(&v);
        for (i = 0; i < g->topics_count; i++) {
            sl_msg_consumer_group_partition_metadata_value_topic_metadata_init(
                &t[i]);
            t[i].topic_id = g->topics[i].id;
            t[i].topic_name = sl_gstr_view(&g->topics[i].name);
            t[i].num_partitions = g->topics[i].partitions;
        }
        v.topics = t;
        v.topics_count = g->topics_count;
        SL_CREC_ENCODE(vb, vl, 0, &v,
                       sl_msg_consumer_group_partition_metadata_value);
        free(t);
    }
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

void
sl_cgroup_persist_member(sl_cgroup_coord_t *cc, sl_cgroup_t *g, sl_cmember_t *m,
                         sl_cop_t *op)
{
    sl_msg_consumer_group_member_metadata_value_t v;
    sl_str_t *names;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;
    int32_t i;

    kb = sl_cgroup_member_key(g, sl_gstr_view(&m->id), SL_CREC_MEMBER, &kl);
    names = calloc((size_t)(m->topics_count > 0 ? m->topics_count : 1),
                   sizeof(*names));
    if (names != NULL) {
        sl_msg_consumer_group_member_metadata_value_init(&v);
        for (i = 0; i < m->topics_count; i++) {
            names[i] = sl_gstr_view(&m->topics[i]);
        }
        v.instance_id = sl_gstr_view(&m->instance_id);
        v.rack_id = sl_gstr_view(&m->rack_id);
        v.client_id = sl_gstr_view(&m->client_id);
        v.client_host = sl_gstr_view(&m->client_host);
        if (v.client_id.len < 0) {
            v.client_id = (sl_str_t){"", 0};
        }
        if (v.client_host.len < 0) {
            v.client_host = (sl_str_t){"", 0};
        }
        v.subscribed_topic_names = names;
        v.subscribed_topic_names_count = m->topics_count;
        v.subscribed_topic_regex = sl_gstr_view(&m->regex);
        v.rebalance_timeout_ms = m->rebalance_timeout_ms;
        v.server_assignor = sl_gstr_view(&m->assignor);
        SL_CREC_ENCODE(vb, vl, 0, &v,
                       sl_msg_consumer_group_member_metadata_value);
        free(names);
    }
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

/* <s> grouped by topic into <out> of the generated element type <T>
 * (every assignment element type has topic_id, partitions,
 * partitions_count); <parts> backs the partition lists. Free both. */
#define SL_CREC_TPS(T, s, out, out_n, parts)                                   \
    do {                                                                       \
        int32_t i_, n_ = 0;                                                    \
        (out) = calloc((size_t)((s)->n > 0 ? (s)->n : 1), sizeof(T));          \
        (parts) = calloc((size_t)((s)->n > 0 ? (s)->n : 1), sizeof(int32_t));  \
        for (i_ = 0; (out) != NULL && (parts) != NULL && i_ < (s)->n; i_++) {  \
            if (n_ == 0 ||                                                     \
                !sl_uuid_eq(&(out)[n_ - 1].topic_id, &(s)->v[i_].topic)) {     \
                (out)[n_].topic_id = (s)->v[i_].topic;                         \
                (out)[n_].partitions = &(parts)[i_];                           \
                n_++;                                                          \
            }                                                                  \
            (parts)[i_] = (s)->v[i_].p;                                        \
            (out)[n_ - 1].partitions_count++;                                  \
        }                                                                      \
        (out_n) = n_;                                                          \
    } while (0)

typedef sl_msg_consumer_group_target_assignment_member_value_topic_partition_t
    sl_crec_target_tp_t;
typedef sl_msg_consumer_group_current_member_assignment_value_topic_partitions_t
    sl_crec_current_tp_t;

void
sl_cgroup_persist_target(sl_cgroup_coord_t *cc, sl_cgroup_t *g, sl_cmember_t *m,
                         sl_cop_t *op)
{
    sl_msg_consumer_group_target_assignment_member_value_t v;
    sl_crec_target_tp_t *tps;
    int32_t n, *parts;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;

    kb = sl_cgroup_member_key(g, sl_gstr_view(&m->id), SL_CREC_TARGET, &kl);
    SL_CREC_TPS(sl_crec_target_tp_t, &m->target, tps, n, parts);
    if (tps != NULL && parts != NULL) {
        sl_msg_consumer_group_target_assignment_member_value_init(&v);
        v.topic_partitions = tps;
        v.topic_partitions_count = n;
        SL_CREC_ENCODE(vb, vl, 0, &v,
                       sl_msg_consumer_group_target_assignment_member_value);
    }
    free(tps);
    free(parts);
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

void
sl_cgroup_persist_target_epoch(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                               sl_cop_t *op)
{
    sl_msg_consumer_group_target_assignment_metadata_value_t v;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;

    kb = sl_cgroup_group_key(g, SL_CREC_TARGET_EPOCH, &kl);
    sl_msg_consumer_group_target_assignment_metadata_value_init(&v);
    v.assignment_epoch = g->assignment_epoch;
    SL_CREC_ENCODE(vb, vl, 0, &v,
                   sl_msg_consumer_group_target_assignment_metadata_value);
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

void
sl_cgroup_persist_current(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                          sl_cmember_t *m, sl_cop_t *op)
{
    sl_msg_consumer_group_current_member_assignment_value_t v;
    sl_crec_current_tp_t *as, *rs;
    int32_t an, rn, *ap, *rp;
    uint8_t *kb, *vb = NULL;
    size_t kl = 0, vl = 0;

    kb = sl_cgroup_member_key(g, sl_gstr_view(&m->id), SL_CREC_CURRENT, &kl);
    SL_CREC_TPS(sl_crec_current_tp_t, &m->assigned, as, an, ap);
    SL_CREC_TPS(sl_crec_current_tp_t, &m->revoking, rs, rn, rp);
    if (as != NULL && ap != NULL && rs != NULL && rp != NULL) {
        sl_msg_consumer_group_current_member_assignment_value_init(&v);
        v.member_epoch = m->epoch;
        v.previous_member_epoch = m->prev_epoch;
        v.state = (int8_t)m->state;
        v.assigned_partitions = as;
        v.assigned_partitions_count = an;
        v.partitions_pending_revocation = rs;
        v.partitions_pending_revocation_count = rn;
        SL_CREC_ENCODE(vb, vl, 0, &v,
                       sl_msg_consumer_group_current_member_assignment_value);
    }
    free(as);
    free(ap);
    free(rs);
    free(rp);
    sl_cgroup_append(cc, g, kb, kl, vb, vl, false, op);
}

void
sl_cgroup_persist_member_gone(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                              sl_str_t member_id, sl_cop_t *op)
{
    static const int16_t types[] = {SL_CREC_CURRENT, SL_CREC_TARGET,
                                    SL_CREC_MEMBER};
    size_t i, kl = 0;
    uint8_t *kb;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        kb = sl_cgroup_member_key(g, member_id, types[i], &kl);
        sl_cgroup_append(cc, g, kb, kl, NULL, 0, true, op);
    }
}

void
sl_cgroup_persist_group_gone(sl_cgroup_coord_t *cc, sl_cgroup_t *g,
                             sl_cop_t *op)
{
    static const int16_t types[] = {SL_CREC_TARGET_EPOCH, SL_CREC_TOPICS,
                                    SL_CREC_GROUP};
    size_t i, kl = 0;
    uint8_t *kb;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        kb = sl_cgroup_group_key(g, types[i], &kl);
        sl_cgroup_append(cc, g, kb, kl, NULL, 0, true, op);
    }
}

/* ---- loading ----------------------------------------------------------- */

/* Replace <dst> with the partitions of a decoded assignment. */
#define SL_CREC_LOAD_TPS(dst, arr, count, err)                                 \
    do {                                                                       \
        int32_t i_, j_;                                                        \
        (dst)->n = 0;                                                          \
        for (i_ = 0; (err) == SL_OK && i_ < (count); i_++) {                   \
            for (j_ = 0; (err) == SL_OK && j_ < (arr)[i_].partitions_count;    \
                 j_++) {                                                       \
                if ((arr)[i_].partitions[j_] < 0) {                            \
                    (err) = SL_ERR__CORRUPT;                                   \
                } else {                                                       \
                    (err) = sl_ctps_add((dst), &(arr)[i_].topic_id,            \
                                        (arr)[i_].partitions[j_]);             \
                }                                                              \
            }                                                                  \
        }                                                                      \
    } while (0)

static sl_err_t
sl_crec_value(const uint8_t *value, size_t value_len, sl_rd_t *vr)
{
    int16_t ver;

    sl_rd_init(vr, value, value_len);
    sl_rd_i16(vr, &ver);
    if (sl_rd_error(vr) != SL_OK || ver != 0) {
        return SL_ERR__CORRUPT;
    }
    return SL_OK;
}

static sl_cmember_t *
sl_crec_member(sl_cgroup_coord_t *cc, sl_str_t group_id, sl_str_t member_id,
               int64_t now_ms, bool create)
{
    sl_cgroup_t *g = sl_cgroup_find(cc, group_id);
    sl_cmember_t *m;

    if (g == NULL) {
        if (!create || (g = sl_cgroup_create(cc, group_id)) == NULL) {
            return NULL;
        }
    }
    m = sl_cmember_find(g, member_id);
    if (m == NULL && create && (m = sl_cmember_add(g, member_id)) != NULL) {
        m->session_deadline = now_ms + cc->cfg.session_timeout_ms;
        m->state = SL_CMEMBER_STABLE;
    }
    return m;
}

static sl_err_t
sl_crec_load(sl_cgroup_coord_t *cc, sl_arena_t *a, int16_t type, sl_rd_t *kr,
             int64_t now_ms, const uint8_t *value, size_t value_len)
{
    bool tomb = value == NULL;
    sl_cgroup_t *g;
    sl_cmember_t *m;
    sl_rd_t vr;
    sl_err_t err = SL_OK;
    int32_t i;

    if (!tomb && sl_crec_value(value, value_len, &vr) != SL_OK) {
        return SL_ERR__CORRUPT;
    }
    if (type == SL_CREC_GROUP || type == SL_CREC_TOPICS ||
        type == SL_CREC_TARGET_EPOCH) {
        sl_msg_consumer_group_metadata_key_t k; /* same shape for 3, 4, 6 */

        if (sl_msg_consumer_group_metadata_key_decode(kr, SL_CREC_GROUP, a,
                                                      &k) != SL_OK ||
            k.group_id.len <= 0) {
            return SL_ERR__CORRUPT;
        }
        g = sl_cgroup_find(cc, k.group_id);
        if (tomb) {
            if (type == SL_CREC_GROUP && g != NULL) {
                sl_cgroup_remove(cc, g);
            }
            return SL_OK;
        }
        if (g == NULL && (g = sl_cgroup_create(cc, k.group_id)) == NULL) {
            return SL_ERR__NOMEM;
        }
        if (type == SL_CREC_GROUP) {
            sl_msg_consumer_group_metadata_value_t v;

            if (sl_msg_consumer_group_metadata_value_decode(&vr, 0, a, &v)) {
                return SL_ERR__CORRUPT;
            }
            g->epoch = v.epoch;
        } else if (type == SL_CREC_TARGET_EPOCH) {
            sl_msg_consumer_group_target_assignment_metadata_value_t v;

            if (sl_msg_consumer_group_target_assignment_metadata_value_decode(
                    &vr, 0, a, &v)) {
                return SL_ERR__CORRUPT;
            }
            g->assignment_epoch = v.assignment_epoch;
        } else {
            sl_msg_consumer_group_partition_metadata_value_t v;
            sl_ctopic_t *t;

            if (sl_msg_consumer_group_partition_metadata_value_decode(&vr, 0, a,
                                                                      &v)) {
                return SL_ERR__CORRUPT;
            }
            t = calloc((size_t)(v.topics_count > 0 ? v.topics_count : 1),
                       sizeof(*t));
            if (t == NULL) {
                return SL_ERR__NOMEM;
            }
            for (i = 0; i < v.topics_count && err == SL_OK; i++) {
                t[i].id = v.topics[i].topic_id;
                t[i].partitions = v.topics[i].num_partitions < 0
                                      ? 0
                                      : v.topics[i].num_partitions;
                err = sl_gstr_set(&t[i].name, v.topics[i].topic_name.ptr,
                                  v.topics[i].topic_name.len < 0
                                      ? 0
                                      : v.topics[i].topic_name.len);
            }
            for (i = 0; i < g->topics_count; i++) {
                sl_gstr_free(&g->topics[i].name);
            }
            free(g->topics);
            g->topics = t;
            g->topics_count = v.topics_count;
        }
        return err;
    }

    /* Member records: types 5, 7, 8 share the key shape. */
    {
        sl_msg_consumer_group_member_metadata_key_t k;

        if (sl_msg_consumer_group_member_metadata_key_decode(kr, SL_CREC_MEMBER,
                                                             a, &k) != SL_OK ||
            k.group_id.len <= 0 || k.member_id.len <= 0) {
            return SL_ERR__CORRUPT;
        }
        m = sl_crec_member(cc, k.group_id, k.member_id, now_ms, !tomb);
        if (tomb) {
            if (m != NULL && type == SL_CREC_MEMBER) {
                sl_cmember_remove(sl_cgroup_find(cc, k.group_id), m);
            } else if (m != NULL && type == SL_CREC_TARGET) {
                m->target.n = 0;
            } else if (m != NULL) {
                m->assigned.n = 0;
                m->revoking.n = 0;
            }
            return SL_OK;
        }
        if (m == NULL) {
            return SL_ERR__NOMEM;
        }
    }
    if (type == SL_CREC_MEMBER) {
        sl_msg_consumer_group_member_metadata_value_t v;
        sl_gstr_t *names;

        if (sl_msg_consumer_group_member_metadata_value_decode(&vr, 0, a, &v)) {
            return SL_ERR__CORRUPT;
        }
        names = calloc((size_t)(v.subscribed_topic_names_count > 0
                                    ? v.subscribed_topic_names_count
                                    : 1),
                       sizeof(*names));
        if (names == NULL) {
            return SL_ERR__NOMEM;
        }
        for (i = 0; i < v.subscribed_topic_names_count && err == SL_OK; i++) {
            err = sl_gstr_set(&names[i], v.subscribed_topic_names[i].ptr,
                              v.subscribed_topic_names[i].len < 0
                                  ? 0
                                  : v.subscribed_topic_names[i].len);
        }
        for (i = 0; i < m->topics_count; i++) {
            sl_gstr_free(&m->topics[i]);
        }
        free(m->topics);
        m->topics = names;
        m->topics_count = v.subscribed_topic_names_count > 0
                              ? v.subscribed_topic_names_count
                              : 0;
        if (err == SL_OK) {
            err = sl_gstr_set(&m->instance_id, v.instance_id.ptr,
                              v.instance_id.len);
        }
        if (err == SL_OK) {
            err = sl_gstr_set(&m->rack_id, v.rack_id.ptr, v.rack_id.len);
        }
        if (err == SL_OK) {
            err = sl_gstr_set(&m->client_id, v.client_id.ptr, v.client_id.len);
        }
        if (err == SL_OK) {
            err = sl_gstr_set(&m->client_host, v.client_host.ptr,
                              v.client_host.len);
        }
        if (err == SL_OK) {
            err = sl_gstr_set(&m->assignor, v.server_assignor.ptr,
                              v.server_assignor.len);
        }
        if (err == SL_OK) {
            /* A regex that no longer compiles here matches nothing. */
            if (sl_cmember_set_regex(m, v.subscribed_topic_regex) ==
                SL_ERR__NOMEM) {
                err = SL_ERR__NOMEM;
            }
        }
        m->rebalance_timeout_ms = v.rebalance_timeout_ms;
        return err;
    }
    if (type == SL_CREC_TARGET) {
        sl_msg_consumer_group_target_assignment_member_value_t v;

        if (sl_msg_consumer_group_target_assignment_member_value_decode(
                &vr, 0, a, &v)) {
            return SL_ERR__CORRUPT;
        }
        SL_CREC_LOAD_TPS(&m->target, v.topic_partitions,
                         v.topic_partitions_count, err);
        return err;
    }
    {
        sl_msg_consumer_group_current_member_assignment_value_t v;

        if (sl_msg_consumer_group_current_member_assignment_value_decode(
                &vr, 0, a, &v)) {
            return SL_ERR__CORRUPT;
        }
        m->epoch = v.member_epoch;
        m->prev_epoch = v.previous_member_epoch;
        m->state = v.state == 1   ? SL_CMEMBER_UNREVOKED_PARTITIONS
                   : v.state == 2 ? SL_CMEMBER_UNRELEASED_PARTITIONS
                   : v.state == 0 ? SL_CMEMBER_STABLE
                                  : SL_CMEMBER_UNKNOWN;
        SL_CREC_LOAD_TPS(&m->assigned, v.assigned_partitions,
                         v.assigned_partitions_count, err);
        SL_CREC_LOAD_TPS(&m->revoking, v.partitions_pending_revocation,
                         v.partitions_pending_revocation_count, err);
        if (m->state == SL_CMEMBER_UNREVOKED_PARTITIONS) {
            m->rebalance_deadline =
                now_ms +
                (m->rebalance_timeout_ms > 0 ? m->rebalance_timeout_ms : 0);
        }
        return err;
    }
}

sl_err_t
sl_cgroup_coord_load(sl_cgroup_coord_t *cc, int64_t now_ms, const uint8_t *key,
                     size_t key_len, const uint8_t *value, size_t value_len)
{
    sl_arena_t *a;
    sl_rd_t kr;
    int16_t type;
    sl_err_t err;

    sl_rd_init(&kr, key, key_len);
    sl_rd_i16(&kr, &type);
    if (sl_rd_error(&kr) != SL_OK || type < 0) {
        return SL_ERR__CORRUPT;
    }
    if (type < SL_CREC_GROUP || type > SL_CREC_CURRENT) {
        return SL_ERR__UNSUPPORTED;
    }
    a = sl_arena_create(4096, 64 * (key_len + value_len) + 65536);
    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_mutex_lock(&cc->lock);
    err = sl_crec_load(cc, a, type, &kr, now_ms, value, value_len);
    pthread_mutex_unlock(&cc->lock);
    sl_arena_destroy(a);
    return err;
}
