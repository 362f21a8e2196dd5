/*
 * txn/records.c: the transaction coordinator's records in
 * __transaction_state, in Kafka's formats, and rebuilding state from them.
 *
 * Record layout (Kafka's TransactionLog):
 *   key   = int16 key version (0), then TransactionLogKey v0:
 *             string transactional_id
 *   value = int16 value version (0, or 1 once transaction.version >= 1),
 *           then TransactionLogValue:
 *             int64  producer_id
 *             int16  producer_epoch
 *             int32  transaction_timeout_ms
 *             int8   transaction_status    (sl_txn_state_e: 0 Empty ..
 *                                           5 CompleteAbort)
 *             array  transaction_partitions (null when Empty), per topic:
 *                      string topic, array int32 partition_ids
 *             int64  transaction_last_update_timestamp_ms
 *             int64  transaction_start_timestamp_ms
 *             v1 tagged fields: 0 previous_producer_id, 1 next_producer_id,
 *                               2 client_transaction_version
 *   absent value = tombstone (the transactional id expired)
 *
 * lastProducerEpoch is not in the record: a loaded transaction has none
 * (-1), as in Kafka.
 *
 * Owns: nothing beyond the buffers it returns. sl_txn_coord_load() takes
 * the coordinator lock.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/gen/data.h"
#include "txn/txn_int.h"

#define SL_TXN_KEY_VERSION 0

/* Group <m>'s partitions by topic into a malloc'd schema array (they are
 * sorted, so each topic's partitions are adjacent). */
static sl_err_t
sl_txn_group_parts(const sl_tmeta_t *m,
                   sl_msg_transaction_log_value_partitions_schema_t **out,
                   int32_t *out_n, int32_t **ids_out)
{
    sl_msg_transaction_log_value_partitions_schema_t *ps, *cur = NULL;
    int32_t *ids;
    int32_t i, n = 0;

    ps = calloc((size_t)m->parts_count + 1, sizeof(*ps));
    ids = calloc((size_t)m->parts_count + 1, sizeof(*ids));
    if (ps == NULL || ids == NULL) {
        free(ps);
        free(ids);
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < m->parts_count; i++) {
        const sl_ttp_t *p = &m->parts[i];

        if (cur == NULL || cur->topic.len != p->topic_len ||
            memcmp(cur->topic.ptr, p->topic, (size_t)p->topic_len) != 0) {
            cur = &ps[n++];
            sl_msg_transaction_log_value_partitions_schema_init(cur);
            cur->topic.ptr = p->topic;
            cur->topic.len = p->topic_len;
            cur->partition_ids = &ids[i];
        }
        ids[i] = p->partition;
        cur->partition_ids_count++;
    }
    *out = ps;
    *out_n = n;
    *ids_out = ids;
    return SL_OK;
}

sl_err_t
sl_txn_record_encode(sl_str_t id, const sl_tmeta_t *m, int16_t value_version,
                     uint8_t **key, size_t *key_len, uint8_t **value,
                     size_t *value_len)
{
    sl_msg_transaction_log_key_t k;
    sl_msg_transaction_log_value_t v;
    sl_msg_transaction_log_value_partitions_schema_t *ps = NULL;
    int32_t *ids = NULL;
    sl_wr_t wr;
    size_t len;
    uint8_t *buf;
    sl_err_t err;

    *key = *value = NULL;
    *key_len = *value_len = 0;
    sl_msg_transaction_log_key_init(&k);
    k.transactional_id = id;
    len = 2 + sl_msg_transaction_log_key_size(&k, SL_TXN_KEY_VERSION);
    if ((buf = malloc(len)) == NULL) {
        return SL_ERR__NOMEM;
    }
    sl_wr_init(&wr, buf, len);
    sl_wr_i16(&wr, SL_TXN_KEY_VERSION);
    if ((err = sl_msg_transaction_log_key_encode(&wr, SL_TXN_KEY_VERSION,
                                                 &k)) != SL_OK) {
        free(buf);
        return err;
    }
    *key = buf;
    *key_len = len;
    if (m == NULL) {
        return SL_OK;
    }
    sl_msg_transaction_log_value_init(&v);
    v.producer_id = m->producer_id;
    v.previous_producer_id = m->prev_producer_id;
    v.next_producer_id = m->next_producer_id;
    v.producer_epoch = m->producer_epoch;
    v.transaction_timeout_ms = m->timeout_ms;
    v.transaction_status = (int8_t)m->state;
    v.transaction_partitions_count = -1;
    if (m->state != SL_TXN_STATE_EMPTY) {
        if ((err = sl_txn_group_parts(m, &ps, &v.transaction_partitions_count,
                                      &ids)) != SL_OK) {
            goto fail;
        }
        v.transaction_partitions = ps;
    }
    v.transaction_last_update_timestamp_ms = m->update_ts;
    v.transaction_start_timestamp_ms = m->start_ts;
    v.client_transaction_version = m->client_tv;
    len = 2 + sl_msg_transaction_log_value_size(&v, value_version);
    if ((buf = malloc(len)) == NULL) {
        err = SL_ERR__NOMEM;
        goto fail;
    }
    sl_wr_init(&wr, buf, len);
    sl_wr_i16(&wr, value_version);
    if ((err = sl_msg_transaction_log_value_encode(&wr, value_version, &v)) !=
        SL_OK) {
        free(buf);
        goto fail;
    }
    free(ps);
    free(ids);
    *value = buf;
    *value_len = len;
    return SL_OK;
fail:
    free(ps);
    free(ids);
    free(*key);
    *key = NULL;
    return err;
}

sl_err_t
sl_txn_record_decode(sl_arena_t *a, const uint8_t *key, size_t key_len,
                     const uint8_t *value, size_t value_len, sl_str_t *id,
                     bool *tomb, sl_tmeta_t *m)
{
    sl_msg_transaction_log_key_t k;
    sl_msg_transaction_log_value_t v;
    sl_txn_tp_t *tps;
    sl_rd_t rd;
    int16_t ver;
    int32_t i, j;
    size_t n = 0;
    sl_err_t err;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&rd, key, key_len);
    sl_rd_i16(&rd, &ver);
    if (sl_rd_error(&rd) != SL_OK) {
        return SL_CORRUPT();
    }
    if (ver != SL_TXN_KEY_VERSION) {
        return SL_ERR__UNSUPPORTED; /* Kafka skips unknown key versions */
    }
    if (sl_msg_transaction_log_key_decode(&rd, ver, a, &k) != SL_OK ||
        k.transactional_id.len <= 0) {
        return SL_CORRUPT();
    }
    *id = k.transactional_id;
    *tomb = value == NULL;
    if (value == NULL) {
        return SL_OK;
    }
    sl_rd_init(&rd, value, value_len);
    sl_rd_i16(&rd, &ver);
    if (sl_rd_error(&rd) != SL_OK || ver < 0 || ver > 1 ||
        sl_msg_transaction_log_value_decode(&rd, ver, a, &v) != SL_OK ||
        v.transaction_status < 0 ||
        v.transaction_status > SL_TXN_STATE_PREPARE_EPOCH_FENCE ||
        v.producer_id < 0 || v.producer_epoch < 0) {
        return SL_CORRUPT();
    }
    m->producer_id = v.producer_id;
    m->prev_producer_id = ver >= 1 ? v.previous_producer_id : SL_TXN_NO_PID;
    m->next_producer_id = ver >= 1 ? v.next_producer_id : SL_TXN_NO_PID;
    m->producer_epoch = v.producer_epoch;
    m->last_producer_epoch = SL_TXN_NO_EPOCH;
    m->timeout_ms = v.transaction_timeout_ms;
    m->state = (sl_txn_state_e)v.transaction_status;
    m->start_ts = v.transaction_start_timestamp_ms;
    m->update_ts = v.transaction_last_update_timestamp_ms;
    m->client_tv = ver >= 1 ? v.client_transaction_version : 0;
    if (m->state == SL_TXN_STATE_DEAD) {
        *tomb = true; /* never written by Kafka; means gone */
        return SL_OK;
    }
    if (m->state == SL_TXN_STATE_PREPARE_EPOCH_FENCE) {
        /* Never logged by Kafka either; it only arises from Ongoing, so
         * resume there (the timeout will abort it). */
        m->state = SL_TXN_STATE_ONGOING;
    }
    if (m->state == SL_TXN_STATE_EMPTY) {
        return SL_OK;
    }
    /* Every id was decoded from 4 bytes of <value>: the count is bounded. */
    for (i = 0; i < v.transaction_partitions_count; i++) {
        n += (size_t)v.transaction_partitions[i].partition_ids_count;
    }
    if (n == 0) {
        return SL_OK;
    }
    if ((tps = malloc(n * sizeof(*tps))) == NULL) {
        return SL_ERR__NOMEM;
    }
    n = 0;
    for (i = 0; i < v.transaction_partitions_count; i++) {
        const sl_msg_transaction_log_value_partitions_schema_t *p =
            &v.transaction_partitions[i];

        for (j = 0; j < p->partition_ids_count; j++) {
            tps[n].topic = p->topic;
            tps[n].partition = p->partition_ids[j];
            n++;
        }
    }
    err = sl_tmeta_add_parts(m, tps, (int32_t)n);
    free(tps);
    return err;
}

sl_err_t
sl_txn_coord_load(sl_txn_coord_t *tc, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    sl_arena_t *a;
    sl_tmeta_t m;
    sl_str_t id;
    sl_txn_t *t;
    bool tomb = false;
    sl_err_t err;

    if (key == NULL) {
        return SL_CORRUPT();
    }
    /* Decoded arrays are bounded by the bytes that hold them; the cap makes
     * that explicit. */
    a = sl_arena_create(4096, 64 * (key_len + value_len) + 65536);
    if (a == NULL) {
        return SL_ERR__NOMEM;
    }
    err =
        sl_txn_record_decode(a, key, key_len, value, value_len, &id, &tomb, &m);
    if (err != SL_OK) {
        sl_arena_destroy(a);
        return err;
    }
    sl_txn_coord_lock(tc);
    if (!tc->loading || tc->closed) {
        err = SL_ERR__INVAL;
    } else if ((t = sl_txn_find(tc, id)) != NULL && tomb) {
        sl_txn_remove(tc, t);
    } else if (!tomb) {
        if (t == NULL && (t = sl_txn_create(tc, id)) == NULL) {
            err = SL_ERR__NOMEM;
        } else {
            sl_tmeta_clear(&t->m);
            t->m = m;
            m.parts = NULL;
            m.parts_count = 0;
        }
    }
    sl_txn_coord_unlock(tc);
    sl_tmeta_clear(&m);
    sl_arena_destroy(a);
    return err;
}
