/*
 * api/produce.c: Produce (key 0). ApiVersions advertises 0-12 but v0-2 are
 * refused (the connection is closed), as Apache Kafka 4.0 does: old
 * librdkafka releases test compression support against Produce v0
 * (KAFKA-18659).
 *
 * Per partition: the topic and partition must exist; the records field must
 * hold one or more whole v2 batches (CRC, structure, every record walked,
 * decompressed within socket.request.max.bytes), each at most
 * max.message.bytes; CreateTime timestamps must lie within
 * message.timestamp.before.max.ms / after.max.ms of the broker's clock.
 * Then the batches are appended with offsets assigned in place.
 *
 * Transactional batches: the partition must be in the producer's ongoing
 * transaction (api/txn_apis.c verifies it). From v12 (transactions v2,
 * KIP-890 part 2) the broker adds it first: the request parks until the
 * coordinator has the partition durably in the transaction
 * (api/produce_txn.c, which also keeps a producer's requests in order).
 *
 * acks=0: no response (a failed partition closes the connection, so the
 * client notices); acks=1: answered once appended; acks=-1: parked until
 * the flusher has made every appended partition durable (group commit).
 * Fetches waiting on a partition are woken after each append.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "proto/batch.h"
#include "proto/gen/produce.h"

typedef sl_msg_produce_resp_partition_produce_response_t sl_pr_part_t;
typedef sl_msg_produce_resp_batch_index_and_error_message_t sl_pr_rec_err_t;

/* Kafka's message for a keyless record on a compacted topic; the handler
 * appends " in topic partition <topic>-<p>." */
static const char sl_produce_nokey[] =
    "Compacted topic cannot accept message without key";

/* The index of the first keyless record of <b> (-1: none). */
static int32_t
sl_produce_keyless(const sl_batch_t *b, size_t max_out)
{
    const uint8_t *recs;
    uint8_t *owned;
    size_t n;
    sl_record_iter_t it;
    sl_record_t rec;
    int32_t i = 0;

    if (sl_batch_records(b, max_out, &recs, &n, &owned) != SL_OK) {
        return -1; /* validated before: cannot happen */
    }
    sl_record_iter_init(&it, recs, n, b->records_count);
    while (sl_record_iter_next(&it, &rec) == SL_OK) {
        if (rec.key == NULL) {
            free(owned);
            return i;
        }
        i++;
    }
    free(owned);
    return -1;
}
typedef sl_msg_produce_resp_topic_produce_response_t sl_pr_topic_t;

/* State of an acks=-1 request waiting for the disk. */
typedef struct sl_produce_wait_s {
    sl_api_req_t *r;
    atomic_int pending; /* partitions not yet durable, + 1 while issuing */
} sl_produce_wait_t;

typedef struct sl_produce_slot_s {
    sl_produce_wait_t *w;
    sl_pr_part_t *part;
} sl_produce_slot_t;

static void
sl_produce_wait_release(sl_produce_wait_t *w)
{
    if (atomic_fetch_sub(&w->pending, 1) == 1) {
        sl_api_finish(w->r, SL_OK);
    }
}

/* @thread flusher */
static void
sl_produce_durable_cb(void *arg, sl_err_t err, int64_t durable)
{
    sl_produce_slot_t *s = arg;

    (void)durable;
    if (err != SL_OK) {
        s->part->error_code = (int16_t)SL_ERR_KAFKA_STORAGE_ERROR;
        s->part->base_offset = -1;
        s->part->log_append_time_ms = -1;
    }
    sl_produce_wait_release(s->w);
}

/*
 * Validate the batches of one partition: structure, CRC, records,
 * timestamps, size. @returns SL_OK or the partition's Kafka error.
 */
static sl_err_t
sl_produce_validate(sl_api_t *api, const uint8_t *data, size_t len,
                    const sl_log_config_t *lc, int64_t before_max,
                    int64_t after_max, int64_t now, const char **why,
                    int32_t *bad_record)
{
    size_t max_out =
        (size_t)sl_config_int(api->cfg, "socket.request.max.bytes");
    sl_batch_seq_t it;
    sl_batch_t b;
    size_t partial;
    sl_err_t err;
    int n = 0;

    sl_batch_seq_init(&it, data, len, SL_BATCH_F_PRODUCE);
    for (;;) {
        /* Produce v3+ carries only magic 2 batches (Kafka: INVALID_RECORD
         * for older message formats). */
        if ((size_t)(it.end - it.p) > 16 && it.p[16] != SL_BATCH_MAGIC) {
            *why = "produce v3+ requires record batch magic 2";
            return SL_ERR_INVALID_RECORD;
        }
        if ((err = sl_batch_seq_next(&it, &b, &partial)) != SL_OK) {
            break;
        }
        n++;
        if (b.size > (size_t)lc->max_message_bytes) {
            *why = "batch larger than max.message.bytes";
            return SL_ERR_MESSAGE_TOO_LARGE;
        }
        if (sl_batch_is_control(&b)) {
            *why = "control batches cannot be produced";
            return SL_ERR_INVALID_RECORD;
        }
        err = sl_batch_validate_records(&b, max_out, SL_BATCH_F_PRODUCE);
        if (err != SL_OK) {
            *why = "invalid records";
            return err == SL_ERR__TOOBIG || err < 0 ? SL_ERR_CORRUPT_MESSAGE
                                                    : err;
        }
        if (lc->compact &&
            (*bad_record = sl_produce_keyless(&b, max_out)) >= 0) {
            *why = sl_produce_nokey;
            return SL_ERR_INVALID_RECORD;
        }
        if (!lc->log_append_time && b.records_count > 0 &&
            ((b.max_timestamp > now && b.max_timestamp - now > after_max) ||
             (b.base_timestamp >= 0 && b.base_timestamp < now &&
              now - b.base_timestamp > before_max))) {
            *why = "timestamp out of the range the topic accepts";
            return SL_ERR_INVALID_TIMESTAMP;
        }
    }
    if (err == SL_ERR__AGAIN) {
        *why = "truncated batch";
        return SL_ERR_CORRUPT_MESSAGE;
    }
    if (err != SL_ERR__NOENT) {
        *why = err == SL_ERR_CORRUPT_MESSAGE ? "CRC or structure mismatch"
                                             : "invalid batch";
        return err < 0 ? SL_ERR_CORRUPT_MESSAGE : err;
    }
    if (n == 0) {
        *why = "no record batch";
        return SL_ERR_CORRUPT_MESSAGE;
    }
    return SL_OK;
}

/* Whether <data> (validated) holds a transactional batch: its producer. */
static bool
sl_produce_txn_batch(const uint8_t *data, size_t len, int64_t *pid,
                     int16_t *epoch)
{
    sl_batch_seq_t it;
    sl_batch_t b;

    sl_batch_seq_init(&it, data, len, SL_BATCH_F_NOCRC);
    while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
        if (sl_batch_is_transactional(&b)) {
            *pid = b.producer_id;
            *epoch = b.producer_epoch;
            return true;
        }
    }
    return false;
}

static sl_err_t
sl_produce_serve(sl_api_req_t *r, const sl_msg_produce_req_t *req,
                 sl_msg_produce_resp_t *resp)
{
    sl_api_t *api = r->api;
    sl_produce_wait_t *w = NULL;
    int64_t now = sl_clock_wall_ms();
    bool any_error = false;
    int32_t ti, pi;
    sl_err_t err, added = sl_api_produce_txn_added(r);

    if (req->acks == -1) {
        w = sl_arena_zalloc(r->arena, sizeof(*w));
        if (w == NULL) {
            return SL_ERR__NOMEM;
        }
        w->r = r;
        atomic_init(&w->pending, 1);
    }
    r->no_response = req->acks == 0;
    resp->responses = sl_arena_calloc(
        r->arena,
        (size_t)(req->topic_data_count > 0 ? req->topic_data_count : 0),
        sizeof(sl_pr_topic_t));
    if (resp->responses == NULL && req->topic_data_count > 0) {
        return SL_ERR__NOMEM;
    }
    resp->responses_count =
        req->topic_data_count > 0 ? req->topic_data_count : 0;

    for (ti = 0; ti < resp->responses_count; ti++) {
        const sl_msg_produce_req_topic_produce_data_t *td =
            &req->topic_data[ti];
        sl_pr_topic_t *tr = &resp->responses[ti];
        int32_t np =
            td->partition_data_count > 0 ? td->partition_data_count : 0;
        sl_topic_config_map_t *cfgmap = NULL;
        sl_topic_info_t info;
        sl_log_config_t lc;
        int64_t before_max = INT64_MAX, after_max = INT64_MAX;
        sl_err_t topic_err = SL_OK;
        char *name;

        sl_msg_produce_resp_topic_produce_response_init(tr);
        tr->name = td->name;
        tr->partition_responses =
            sl_arena_calloc(r->arena, (size_t)np, sizeof(sl_pr_part_t));
        if (tr->partition_responses == NULL && np > 0) {
            return SL_ERR__NOMEM;
        }
        tr->partition_responses_count = np;
        name = sl_api_cstr(r->arena, td->name);
        if (name == NULL ||
            sl_metastore_get(api->meta, name, r->arena, &info) != SL_OK) {
            topic_err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        } else {
            cfgmap = &info.configs;
            sl_api_log_config(api, cfgmap, &lc);
            before_max = sl_topic_config_long(
                api->cfg, cfgmap, "message.timestamp.before.max.ms");
            after_max = sl_topic_config_long(api->cfg, cfgmap,
                                             "message.timestamp.after.max.ms");
        }
        /* ACLs: WRITE on the transactional id of a transactional
         * producer, then on the topic (before its existence, as Kafka) */
        err = req->transactional_id.len >= 0
                  ? sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id)
                  : SL_OK;
        if (err == SL_OK) {
            err = sl_api_auth_topic(r, SL_ACL_OP_WRITE, td->name);
        }
        topic_err = err != SL_OK ? err : topic_err;
        if (req->acks != -1 && req->acks != 0 && req->acks != 1) {
            topic_err = SL_ERR_INVALID_REQUIRED_ACKS;
        }

        for (pi = 0; pi < np; pi++) {
            const sl_msg_produce_req_partition_produce_data_t *pd =
                &td->partition_data[pi];
            sl_pr_part_t *pr = &tr->partition_responses[pi];
            const char *why = NULL;
            int32_t bad_record = -1;
            sl_append_info_t ai;
            sl_partlog_t *pl;
            int64_t txn_pid = -1;
            int16_t txn_epoch = -1;

            sl_msg_produce_resp_partition_produce_response_init(pr);
            pr->index = pd->index;
            pr->base_offset = -1;
            err = topic_err;
            if (err == SL_OK &&
                (pd->index < 0 || pd->index >= info.partitions)) {
                err = SL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            }
            if (err == SL_OK && (pd->records.len <= 0)) {
                err = SL_ERR_CORRUPT_MESSAGE;
                why = "no records";
            }
            if (err == SL_OK) {
                err = sl_produce_validate(
                    api, pd->records.ptr, (size_t)pd->records.len, &lc,
                    before_max, after_max, now, &why, &bad_record);
            }
            if (err == SL_OK &&
                sl_produce_txn_batch(pd->records.ptr, (size_t)pd->records.len,
                                     &txn_pid, &txn_epoch)) {
                /* Kafka 4.0: the partition must be in the producer's
                 * ongoing transaction (api/txn_apis.c) */
                err = added != SL_OK
                          ? sl_api_txn_produce_error(added, r->version)
                          : sl_api_txn_verify_produce(
                                api, r->version, req->transactional_id, txn_pid,
                                txn_epoch, td->name, pd->index);
                if (err != SL_OK) {
                    why = "partition not in the ongoing transaction";
                }
            }
            if (err == SL_OK) {
                sl_api_plock_rd(api);
                pl = sl_api_partition(api, td->name.ptr, td->name.len,
                                      pd->index, &err);
                if (pl != NULL) {
                    /* The frame is ours and writable: offsets are
                     * assigned in place. */
                    err = sl_partlog_append(
                        pl, (uint8_t *)(uintptr_t)pd->records.ptr,
                        (size_t)pd->records.len, info.leader_epochs[pd->index],
                        SL_PARTLOG_F_CRC_CHECKED, now, &ai);
                    if (err == SL_OK) {
                        sl_api_metrics_topic_in(
                            api, td->name.ptr, td->name.len,
                            ai.duplicate ? 0 : (uint64_t)pd->records.len,
                            ai.duplicate ? 0 : (uint64_t)ai.records);
                        pr->base_offset = ai.base_offset;
                        pr->log_append_time_ms = ai.log_append_time;
                        pr->log_start_offset = sl_partlog_log_start(pl);
                        if (w != NULL) {
                            sl_produce_slot_t *slot =
                                sl_arena_zalloc(r->arena, sizeof(*slot));
                            if (slot == NULL) {
                                err = SL_ERR__NOMEM;
                            } else {
                                slot->w = w;
                                slot->part = pr;
                                atomic_fetch_add(&w->pending, 1);
                                err = sl_flusher_wait(
                                    api->flusher, pl, ai.last_offset,
                                    sl_produce_durable_cb, slot);
                                if (err != SL_OK) {
                                    atomic_fetch_sub(&w->pending, 1);
                                }
                            }
                        } else {
                            sl_flusher_kick(api->flusher, pl);
                        }
                    }
                }
                sl_api_punlock(api);
                if (err == SL_OK) {
                    sl_purgatory_check(api->fetch_purgatory,
                                       sl_purgatory_key_tp(td->name.ptr,
                                                           td->name.len,
                                                           pd->index));
                } else if (err == SL_ERR__IO || err == SL_ERR__NOMEM ||
                           err == SL_ERR__NOENT) {
                    sl_log_warn("api",
                                "append failed topic=%s partition=%d "
                                "err=%s",
                                name, (int)pd->index, sl_err_name(err));
                    err = err == SL_ERR__IO ? SL_ERR_KAFKA_STORAGE_ERROR
                                            : SL_ERR_UNKNOWN_SERVER_ERROR;
                } else if (err < 0) {
                    err = SL_ERR_CORRUPT_MESSAGE;
                }
            }
            if (err != SL_OK) {
                any_error = true;
                pr->error_code = sl_err_to_wire(err);
                pr->base_offset = -1;
                pr->log_append_time_ms = -1;
                if (why == sl_produce_nokey) {
                    /* Kafka 4: "... without key in topic partition t-p.",
                     * as the partition's and the record's error */
                    size_t cap = strlen(why) + (size_t)td->name.len + 48;
                    char *m = sl_arena_alloc(r->arena, cap);
                    sl_pr_rec_err_t *re =
                        sl_arena_zalloc(r->arena, sizeof(*re));

                    if (m != NULL && re != NULL) {
                        snprintf(m, cap, "%s in topic partition %.*s-%d.", why,
                                 (int)td->name.len, td->name.ptr,
                                 (int)pd->index);
                        why = m;
                        sl_msg_produce_resp_batch_index_and_error_message_init(
                            re);
                        re->batch_index = bad_record;
                        re->batch_index_error_message.ptr = m;
                        re->batch_index_error_message.len = (int32_t)strlen(m);
                        pr->record_errors = re;
                        pr->record_errors_count = 1;
                    }
                }
                if (why != NULL && r->version >= 8) {
                    pr->error_message.ptr = why;
                    pr->error_message.len = (int32_t)strlen(why);
                }
                sl_log_debug("api",
                             "produce rejected topic=%.*s partition=%d "
                             "err=%s why=%s",
                             (int)td->name.len, td->name.ptr, (int)pd->index,
                             sl_err_name(err), why ? why : "-");
            }
        }
    }
    if (r->no_response && any_error) {
        sl_log_info("api",
                    "closing connection: acks=0 produce failed "
                    "peer=%s",
                    sl_conn_peer(r->req->conn));
        return SL_ERR__CLOSED;
    }
    if (w != NULL) {
        /* Drop the issuing reference: finishes now if all were durable
         * already (or none was appended). */
        if (atomic_fetch_sub(&w->pending, 1) == 1) {
            return SL_OK;
        }
        return SL_ERR__AGAIN;
    }
    return SL_OK;
}

sl_err_t
sl_api_produce_handle(sl_api_req_t *r, const void *reqp, void *respp)
{
    struct sl_pgate_entry_s *held;
    sl_err_t err;

    /* Produce v12+ of a transactional id: the gate and the implicit add
     * (api/produce_txn.c); may park, and then runs this again. */
    err = sl_api_produce_txn_begin(r, reqp, &held);
    if (err != SL_OK) {
        return err;
    }
    err = sl_produce_serve(r, reqp, respp);
    sl_api_produce_txn_end(r->api, held); /* r may be finished: not used */
    return err;
}
