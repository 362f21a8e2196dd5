/*
 * api/produce_txn.c: the transactions v2 side of Produce v12+ (KIP-890
 * part 2): the implicit add of the request's partitions to the producer's
 * transaction, and the per-transactional-id gate that keeps a producer's
 * Produce requests in order while one of them waits for that add.
 *
 * Implicit add: before anything is appended, the partitions of the
 * request's transactional batches are added to the transaction with
 * sl_txn_add_partitions(client_tv 2), what AddPartitionsToTxn does, so the
 * end's markers reach them (durably in __transaction_state, also after
 * kill -9). The coordinator answers at once when they are in the ongoing
 * transaction already; otherwise the request parks and its completion runs
 * the handler again (sl_api_produce_handle), which then verifies and
 * appends as below v12. Kafka's AddPartitionsToTxnManager is the model.
 *
 * Gate: the network layer hands a connection's next request to a worker as
 * soon as a handler parks, and Kafka serves one request per connection at
 * a time. A producer pipelines Produce requests; the second must not be
 * appended before the first, which waits for its add (its sequence numbers
 * would be out of order). So each transactional id with a v12 Produce in
 * progress has a gate entry: the request holding it runs, the others of
 * that id queue behind it, and the holder's release runs the next one (on
 * the releasing thread, iteratively: a queue never nests handler calls).
 *
 * Owns: the gate (sl_produce_gate_t, one per broker: api->produce_gate),
 * its entries (malloc'd, freed when their queue empties) and the
 * per-request state in r->user (in the request's arena).
 * Locking: the gate's mutex guards its entries and queues; it is never held
 * while a handler or the coordinator runs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "proto/gen/produce.h"

#define SL_PGATE_BUCKETS 256

#define SL_PTXN_ADD_NONE 0    /* not asked (yet) */
#define SL_PTXN_ADD_ISSUING 1 /* sl_txn_add_partitions() running */
#define SL_PTXN_ADD_PARKED 2  /* the handler returned; completion reruns */
#define SL_PTXN_ADD_DONE 3    /* answered; err holds the answer */

typedef struct sl_pgate_entry_s sl_pgate_entry_t;

/* A v12 Produce with a transactional id: r->user. */
typedef struct sl_ptxn_s {
    sl_api_req_t *r;
    struct sl_ptxn_s *next;  /* in its gate entry's queue */
    sl_pgate_entry_t *entry; /* the entry it holds, NULL while queued */
    atomic_int add_state;
    sl_err_t err; /* the coordinator's answer to the add */
} sl_ptxn_t;

struct sl_pgate_entry_s {
    sl_pgate_entry_t *next; /* hash chain */
    char *id;
    int32_t id_len;
    uint32_t hash;
    sl_ptxn_t *head, *tail; /* queued requests */
    bool draining;          /* a release is running queued handlers */
    bool released;          /* the holder released (seen by draining) */
};

struct sl_produce_gate_s {
    pthread_mutex_t lock;
    sl_pgate_entry_t *buckets[SL_PGATE_BUCKETS];
};

sl_err_t
sl_api_produce_gate_create(sl_api_t *api)
{
    sl_produce_gate_t *g = calloc(1, sizeof(*g));

    if (g == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_mutex_init(&g->lock, NULL);
    api->produce_gate = g;
    return SL_OK;
}

void
sl_api_produce_gate_destroy(sl_api_t *api)
{
    sl_produce_gate_t *g = api->produce_gate;
    sl_pgate_entry_t *e, *next;
    int i;

    if (g == NULL) {
        return;
    }
    /* Every request is done by now (the server stopped first); entries
     * left would be of requests that never finished. */
    for (i = 0; i < SL_PGATE_BUCKETS; i++) {
        for (e = g->buckets[i]; e != NULL; e = next) {
            next = e->next;
            free(e->id);
            free(e);
        }
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
    api->produce_gate = NULL;
}

static uint32_t
sl_pgate_hash(sl_str_t id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    int32_t i;

    for (i = 0; i < id.len; i++) {
        h = (h ^ (uint8_t)id.ptr[i]) * 16777619u;
    }
    return h;
}

/* Take the gate of <id> for <x>, or queue <x> behind its holder.
 * @returns SL_OK (held), SL_ERR__AGAIN (queued) or SL_ERR__NOMEM. */
static sl_err_t
sl_pgate_enter(sl_produce_gate_t *g, sl_str_t id, sl_ptxn_t *x)
{
    uint32_t h = sl_pgate_hash(id);
    sl_pgate_entry_t *e;

    pthread_mutex_lock(&g->lock);
    for (e = g->buckets[h % SL_PGATE_BUCKETS]; e != NULL; e = e->next) {
        if (e->hash == h && e->id_len == id.len &&
            memcmp(e->id, id.ptr, (size_t)id.len) == 0) {
            break;
        }
    }
    if (e != NULL) {
        x->next = NULL;
        if (e->tail != NULL) {
            e->tail->next = x;
        } else {
            e->head = x;
        }
        e->tail = x;
        pthread_mutex_unlock(&g->lock);
        return SL_ERR__AGAIN;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->id = malloc((size_t)id.len + 1)) == NULL) {
        free(e);
        pthread_mutex_unlock(&g->lock);
        return SL_ERR__NOMEM;
    }
    memcpy(e->id, id.ptr, (size_t)id.len);
    e->id[id.len] = '\0';
    e->id_len = id.len;
    e->hash = h;
    e->next = g->buckets[h % SL_PGATE_BUCKETS];
    g->buckets[h % SL_PGATE_BUCKETS] = e;
    x->entry = e;
    pthread_mutex_unlock(&g->lock);
    return SL_OK;
}

/* @locks g->lock held */
static void
sl_pgate_unlink(sl_produce_gate_t *g, sl_pgate_entry_t *e)
{
    sl_pgate_entry_t **pp = &g->buckets[e->hash % SL_PGATE_BUCKETS];

    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
}

/*
 * The holder of <e> is done with it: the next queued request takes it and
 * its handler runs here; one that completes at once hands on to the next,
 * and so on. A release from inside such a run (or from a completion on
 * another thread meanwhile) only marks the entry released for the loop.
 * @thread any
 */
static void
sl_pgate_leave(sl_api_t *api, sl_pgate_entry_t *e)
{
    sl_produce_gate_t *g = api->produce_gate;
    sl_ptxn_t *x;
    sl_api_req_t *r;
    sl_err_t err;

    pthread_mutex_lock(&g->lock);
    if (e->draining) {
        e->released = true;
        pthread_mutex_unlock(&g->lock);
        return;
    }
    e->draining = true;
    for (;;) {
        if ((x = e->head) == NULL) {
            sl_pgate_unlink(g, e);
            pthread_mutex_unlock(&g->lock);
            free(e->id);
            free(e);
            return;
        }
        e->head = x->next;
        if (e->head == NULL) {
            e->tail = NULL;
        }
        x->next = NULL;
        x->entry = e;
        e->released = false;
        pthread_mutex_unlock(&g->lock);
        r = x->r;
        err = sl_api_produce_handle(r, r->body, r->resp);
        if (err != SL_ERR__AGAIN) {
            sl_api_finish(r, err);
        }
        pthread_mutex_lock(&g->lock);
        if (!e->released) {
            /* it parked holding the gate: its own release goes on */
            e->draining = false;
            pthread_mutex_unlock(&g->lock);
            return;
        }
    }
}

/* @thread any: the coordinator's answer to the implicit add */
static void
sl_ptxn_added(void *arg, sl_err_t err, int64_t producer_id,
              int16_t producer_epoch)
{
    sl_ptxn_t *x = arg;
    int issuing = SL_PTXN_ADD_ISSUING;
    sl_api_req_t *r = x->r;

    (void)producer_id;
    (void)producer_epoch;
    x->err = err;
    if (atomic_compare_exchange_strong(&x->add_state, &issuing,
                                       SL_PTXN_ADD_DONE)) {
        return; /* answered inside the call: the handler goes on */
    }
    atomic_store(&x->add_state, SL_PTXN_ADD_DONE);
    err = sl_api_produce_handle(r, r->body, r->resp);
    if (err != SL_ERR__AGAIN) {
        sl_api_finish(r, err);
    }
}

/* Whether <data> holds a transactional batch: its producer. Hostile bytes
 * are fine (every length is checked); validation comes later. */
static bool
sl_ptxn_batch(const uint8_t *data, size_t len, int64_t *pid, int16_t *epoch)
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

/*
 * Ask the coordinator to add the partitions of <req>'s transactional
 * batches (of existing, non-internal topics the principal may WRITE, and
 * only when it may WRITE the transactional id, as Kafka authorises before
 * it verifies; those of another producer than the first batch's are left
 * to the verification, which refuses them). @returns SL_OK (answered, or
 * nothing to add), SL_ERR__AGAIN (parked) or SL_ERR__NOMEM.
 */
static sl_err_t
sl_ptxn_add(sl_api_req_t *r, const sl_msg_produce_req_t *req, sl_ptxn_t *x)
{
    sl_api_t *api = r->api;
    sl_txn_add_req_t add;
    sl_txn_tp_t *parts;
    bool *allowed;
    int32_t ti, pi, total = 0, n = 0;
    int64_t pid = -1, first_pid = -1;
    int16_t epoch = -1, first_epoch = -1;
    int issuing = SL_PTXN_ADD_ISSUING;

    atomic_store(&x->add_state, SL_PTXN_ADD_DONE);
    x->err = SL_OK;
    if (api->txn == NULL) {
        return SL_OK; /* verification answers COORDINATOR_NOT_AVAILABLE */
    }
    for (ti = 0; ti < req->topic_data_count; ti++) {
        if (req->topic_data[ti].partition_data_count > 0) {
            total += req->topic_data[ti].partition_data_count;
        }
    }
    parts = sl_arena_calloc(r->arena, (size_t)(total > 0 ? total : 1),
                            sizeof(*parts));
    allowed = sl_arena_calloc(
        r->arena,
        (size_t)(req->topic_data_count > 0 ? req->topic_data_count : 1),
        sizeof(*allowed));
    if (parts == NULL || allowed == NULL) {
        return SL_ERR__NOMEM;
    }
    /* ACLs first (not under the registry lock): the append loop refuses
     * what they refuse, and nothing of it joins the transaction */
    if (sl_api_auth_txn(r, SL_ACL_OP_WRITE, req->transactional_id) != SL_OK) {
        return SL_OK;
    }
    for (ti = 0; ti < req->topic_data_count; ti++) {
        allowed[ti] = sl_api_auth_topic(r, SL_ACL_OP_WRITE,
                                        req->topic_data[ti].name) == SL_OK;
    }
    sl_api_plock_rd(api);
    for (ti = 0; ti < req->topic_data_count; ti++) {
        const sl_msg_produce_req_topic_produce_data_t *td =
            &req->topic_data[ti];
        sl_ptopic_t *t = sl_api_ptopic(api, td->name.ptr, td->name.len);

        if (!allowed[ti] || t == NULL || sl_metastore_is_internal(t->name)) {
            continue; /* refused later, never added */
        }
        for (pi = 0; pi < td->partition_data_count; pi++) {
            const sl_msg_produce_req_partition_produce_data_t *pd =
                &td->partition_data[pi];

            if (pd->index < 0 || pd->index >= t->n || pd->records.len <= 0 ||
                !sl_ptxn_batch(pd->records.ptr, (size_t)pd->records.len, &pid,
                               &epoch)) {
                continue;
            }
            if (n == 0) {
                first_pid = pid;
                first_epoch = epoch;
            } else if (pid != first_pid || epoch != first_epoch) {
                continue;
            }
            parts[n].topic = td->name;
            parts[n].partition = pd->index;
            n++;
        }
    }
    sl_api_punlock(api);
    if (n == 0) {
        return SL_OK;
    }
    memset(&add, 0, sizeof(add));
    add.transactional_id = req->transactional_id;
    add.producer_id = first_pid;
    add.producer_epoch = first_epoch;
    add.parts = parts;
    add.parts_count = n;
    add.client_tv = 2;
    atomic_store(&x->add_state, SL_PTXN_ADD_ISSUING);
    sl_txn_add_partitions(api->txn, sl_clock_wall_ms(), &add, sl_ptxn_added, x);
    if (atomic_compare_exchange_strong(&x->add_state, &issuing,
                                       SL_PTXN_ADD_PARKED)) {
        return SL_ERR__AGAIN;
    }
    return SL_OK;
}

sl_err_t
sl_api_produce_txn_begin(sl_api_req_t *r, const sl_msg_produce_req_t *req,
                         struct sl_pgate_entry_s **held)
{
    sl_ptxn_t *x = r->user;
    sl_err_t err;

    *held = NULL;
    if (r->version < 12 || req->transactional_id.len <= 0) {
        return SL_OK;
    }
    if (x == NULL) {
        if ((x = sl_arena_zalloc(r->arena, sizeof(*x))) == NULL) {
            return SL_ERR__NOMEM;
        }
        x->r = r;
        atomic_init(&x->add_state, SL_PTXN_ADD_NONE);
        r->user = x;
        err = r->api->produce_gate == NULL
                  ? SL_OK /* no gate (a broker context built by hand) */
                  : sl_pgate_enter(r->api->produce_gate, req->transactional_id,
                                   x);
        if (err != SL_OK) {
            return err; /* queued: a release runs the handler again */
        }
    }
    if (atomic_load(&x->add_state) == SL_PTXN_ADD_NONE) {
        err = sl_ptxn_add(r, req, x);
        if (err == SL_ERR__NOMEM && x->entry != NULL) {
            sl_pgate_leave(r->api, x->entry);
            x->entry = NULL;
        }
        if (err != SL_OK) {
            return err; /* parked holding the gate, or out of memory */
        }
    }
    *held = x->entry;
    return SL_OK;
}

sl_err_t
sl_api_produce_txn_added(const sl_api_req_t *r)
{
    const sl_ptxn_t *x = r->version >= 12 ? r->user : NULL;

    return x != NULL ? x->err : SL_OK;
}

void
sl_api_produce_txn_end(sl_api_t *api, struct sl_pgate_entry_s *held)
{
    if (held != NULL) {
        sl_pgate_leave(api, held);
    }
}
