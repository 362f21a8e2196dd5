/*
 * log/producer_state.c: per-partition producer state (see
 * producer_state.h): an open-addressing hash map from producer id to its
 * entry, the duplicate / sequence / epoch checks of a client append with
 * an undo log, replay from the log, expiry and snapshot files.
 *
 * Snapshot file <dir>/<20-digit offset>.snapshot: the state after every
 * batch below <offset>. Kafka's layout (version 1), big-endian:
 *
 *   off  size  field
 *   0    2     version (1)
 *   2    4     CRC-32C of bytes [6, end)
 *   6    4     entry count N
 *   10   46*N  entries:
 *              0  int64 producer id
 *              8  int16 producer epoch
 *              10 int32 last sequence
 *              14 int64 last offset
 *              22 int32 offset delta (last offset - first offset)
 *              26 int64 timestamp
 *              34 int32 coordinator epoch
 *              38 int64 current transaction first offset (-1: none)
 *
 * The current transaction first offset is what makes the last stable
 * offset survive a restart (log/txnindex.h).
 *
 * Kafka writes one entry per producer (its last batch). Sluice writes one
 * entry per remembered batch, oldest first, so that all five survive a
 * restart; a reader that keeps the last entry per producer id (Kafka's)
 * still gets the newest batch. An entry with last offset -1 has no batch.
 *
 * Owns: the map and its entries. Locks: none (the partition lock).
 */
#include "log/producer_state.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/log.h"
#include "log/file.h"

#define SL_PSTATE_VERSION 1
#define SL_PSTATE_HDR 10
#define SL_PSTATE_ENTRY 46
/* A snapshot larger than this is not ours (a hostile or broken file). */
#define SL_PSTATE_MAX_FILE ((int64_t)256 << 20)
#define SL_PSTATE_PATH 4096

/* An opened transaction, in the queue of open ones. */
typedef struct sl_pstate_open_s {
    int64_t producer_id;
    int64_t first_offset;
} sl_pstate_open_t;

struct sl_pstate_s {
    sl_pstate_entry_t *slots; /* producer_id < 0: free */
    size_t cap;               /* power of two, 0 when empty */
    size_t n;
    /* Transactions in the order they opened, which is offset order (a
     * transaction opens at the log end). Entries whose producer no longer
     * has that transaction open (ended, rolled back) are dropped when they
     * reach the front, so the front is the first unstable offset. */
    sl_pstate_open_t *q;
    size_t qhead, qlen, qcap; /* live: q[qhead, qlen) */
};

/* ---- map ---------------------------------------------------------------- */

static size_t
sl_pstate_hash(int64_t pid, size_t cap)
{
    uint64_t x = (uint64_t)pid;

    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

sl_pstate_t *
sl_pstate_create(void)
{
    return calloc(1, sizeof(sl_pstate_t));
}

void
sl_pstate_destroy(sl_pstate_t *ps)
{
    if (ps != NULL) {
        free(ps->slots);
        free(ps->q);
        free(ps);
    }
}

void
sl_pstate_clear(sl_pstate_t *ps)
{
    free(ps->slots);
    ps->slots = NULL;
    ps->cap = 0;
    ps->n = 0;
    ps->qhead = ps->qlen = 0;
}

/* Queue a transaction that opened at <first>. @returns SL_OK,
 * SL_ERR__NOMEM */
static sl_err_t
sl_pstate_push_open(sl_pstate_t *ps, int64_t pid, int64_t first)
{
    if (ps->qhead > 0 && ps->qlen == ps->qcap) {
        memmove(ps->q, ps->q + ps->qhead,
                (ps->qlen - ps->qhead) * sizeof(*ps->q));
        ps->qlen -= ps->qhead;
        ps->qhead = 0;
    }
    if (ps->qlen == ps->qcap) {
        size_t c = ps->qcap ? ps->qcap * 2 : 16;
        sl_pstate_open_t *q = realloc(ps->q, c * sizeof(*q));

        if (q == NULL) {
            return SL_ERR__NOMEM;
        }
        ps->q = q;
        ps->qcap = c;
    }
    ps->q[ps->qlen].producer_id = pid;
    ps->q[ps->qlen].first_offset = first;
    ps->qlen++;
    return SL_OK;
}

size_t
sl_pstate_count(const sl_pstate_t *ps)
{
    return ps->n;
}

static sl_pstate_entry_t *
sl_pstate_find(const sl_pstate_t *ps, int64_t pid)
{
    size_t i;

    if (ps->cap == 0 || pid < 0) {
        return NULL;
    }
    for (i = sl_pstate_hash(pid, ps->cap);; i = (i + 1) & (ps->cap - 1)) {
        if (ps->slots[i].producer_id == pid) {
            return &ps->slots[i];
        }
        if (ps->slots[i].producer_id < 0) {
            return NULL;
        }
    }
}

const sl_pstate_entry_t *
sl_pstate_get(const sl_pstate_t *ps, int64_t pid)
{
    return sl_pstate_find(ps, pid);
}

static sl_err_t
sl_pstate_grow(sl_pstate_t *ps)
{
    size_t cap = ps->cap ? ps->cap * 2 : 16, i, j;
    sl_pstate_entry_t *s = malloc(cap * sizeof(*s));

    if (s == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < cap; i++) {
        s[i].producer_id = -1;
    }
    for (i = 0; i < ps->cap; i++) {
        if (ps->slots[i].producer_id < 0) {
            continue;
        }
        for (j = sl_pstate_hash(ps->slots[i].producer_id, cap);
             s[j].producer_id >= 0; j = (j + 1) & (cap - 1)) {
        }
        s[j] = ps->slots[i];
    }
    free(ps->slots);
    ps->slots = s;
    ps->cap = cap;
    return SL_OK;
}

/* The entry of pid, inserted empty (epoch -1) if missing. */
static sl_err_t
sl_pstate_upsert(sl_pstate_t *ps, int64_t pid, sl_pstate_entry_t **out)
{
    sl_pstate_entry_t *e = sl_pstate_find(ps, pid);
    size_t i;
    sl_err_t err;

    if (e == NULL) {
        if ((ps->n + 1) * 4 > ps->cap * 3 && (err = sl_pstate_grow(ps)) != 0) {
            return err;
        }
        for (i = sl_pstate_hash(pid, ps->cap); ps->slots[i].producer_id >= 0;
             i = (i + 1) & (ps->cap - 1)) {
        }
        e = &ps->slots[i];
        memset(e, 0, sizeof(*e));
        e->producer_id = pid;
        e->epoch = -1;
        e->coordinator_epoch = -1;
        e->txn_first_offset = -1;
        e->last_ts = -1;
        ps->n++;
    }
    *out = e;
    return SL_OK;
}

/* Remove slot i (backward-shift deletion keeps probe chains whole). */
static void
sl_pstate_remove_at(sl_pstate_t *ps, size_t i)
{
    size_t j = i, k;

    ps->slots[i].producer_id = -1;
    ps->n--;
    for (;;) {
        j = (j + 1) & (ps->cap - 1);
        if (ps->slots[j].producer_id < 0) {
            return;
        }
        k = sl_pstate_hash(ps->slots[j].producer_id, ps->cap);
        /* move j back to i unless its home k lies cyclically in (i, j] */
        if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        ps->slots[i] = ps->slots[j];
        ps->slots[j].producer_id = -1;
        i = j;
    }
}

static void
sl_pstate_remove(sl_pstate_t *ps, int64_t pid)
{
    sl_pstate_entry_t *e = sl_pstate_find(ps, pid);

    if (e != NULL) {
        sl_pstate_remove_at(ps, (size_t)(e - ps->slots));
    }
}

size_t
sl_pstate_list(const sl_pstate_t *ps, sl_pstate_entry_t *out, size_t cap)
{
    size_t i, k = 0;

    for (i = 0; i < ps->cap; i++) {
        if (ps->slots[i].producer_id >= 0) {
            if (k < cap) {
                out[k] = ps->slots[i];
            }
            k++;
        }
    }
    return k;
}

/* ---- sequences ---------------------------------------------------------- */

int32_t
sl_pstate_last_seq(int32_t base, int32_t delta)
{
    if (base > INT32_MAX - delta) {
        return delta - (INT32_MAX - base) - 1;
    }
    return base + delta;
}

static bool
sl_pstate_in_sequence(int32_t last, int32_t next)
{
    return (int64_t)next == (int64_t)last + 1 ||
           (next == 0 && last == INT32_MAX);
}

/* Record a batch; a different epoch forgets the older batches. */
static void
sl_pstate_add_batch(sl_pstate_entry_t *e, const sl_pstate_in_t *in,
                    int64_t first_offset)
{
    sl_pstate_batch_t *b;

    if (in->epoch != e->epoch) {
        e->epoch = in->epoch;
        e->nbatches = 0;
    }
    if (e->nbatches == SL_PSTATE_BATCHES) {
        memmove(&e->batches[0], &e->batches[1],
                (SL_PSTATE_BATCHES - 1) * sizeof(e->batches[0]));
        e->nbatches--;
    }
    b = &e->batches[e->nbatches++];
    b->first_seq = in->base_seq;
    b->last_seq = sl_pstate_last_seq(in->base_seq, in->last_offset_delta);
    b->first_offset = first_offset;
    b->last_offset = first_offset + in->last_offset_delta;
    b->timestamp = in->max_ts;
    e->last_ts = in->max_ts;
}

/* ---- client appends ----------------------------------------------------- */

void
sl_pstate_begin(sl_pstate_undo_t *u)
{
    memset(u, 0, sizeof(*u));
}

/* Save pid's entry (or its absence) once per append. */
static sl_err_t
sl_pstate_undo_save(sl_pstate_undo_t *u, const sl_pstate_entry_t *e,
                    int64_t pid)
{
    size_t i;

    for (i = 0; i < u->n; i++) {
        if (u->saved[i].producer_id == pid) {
            return SL_OK;
        }
    }
    if (u->n == u->cap) {
        size_t c = u->cap ? u->cap * 2 : 4;
        sl_pstate_entry_t *s = realloc(u->saved, c * sizeof(*s));
        bool *x;

        if (s == NULL) {
            return SL_ERR__NOMEM;
        }
        u->saved = s;
        if ((x = realloc(u->existed, c * sizeof(*x))) == NULL) {
            return SL_ERR__NOMEM;
        }
        u->existed = x;
        u->cap = c;
    }
    if (e != NULL) {
        u->saved[u->n] = *e;
    } else {
        memset(&u->saved[u->n], 0, sizeof(u->saved[0]));
        u->saved[u->n].producer_id = pid;
    }
    u->existed[u->n] = e != NULL;
    u->n++;
    return SL_OK;
}

sl_err_t
sl_pstate_check_append(sl_pstate_t *ps, sl_pstate_undo_t *u,
                       const sl_pstate_in_t *in, int64_t first_offset,
                       bool *dup, int64_t *dup_first, int64_t *dup_last)
{
    sl_pstate_entry_t *e;
    int32_t last_seq, i;
    sl_err_t err;

    *dup = false;
    if (in->producer_id < 0) {
        return SL_OK;
    }
    e = sl_pstate_find(ps, in->producer_id);
    last_seq = sl_pstate_last_seq(in->base_seq, in->last_offset_delta);
    if (e != NULL && in->epoch == e->epoch) {
        for (i = 0; i < e->nbatches; i++) {
            if (e->batches[i].first_seq == in->base_seq &&
                e->batches[i].last_seq == last_seq) {
                *dup = true;
                *dup_first = e->batches[i].first_offset;
                *dup_last = e->batches[i].last_offset;
                return SL_OK;
            }
        }
    }
    if (e != NULL && in->epoch < e->epoch) {
        return SL_ERR_INVALID_PRODUCER_EPOCH;
    }
    if (e == NULL || e->epoch < 0) {
        /* unknown producer (never seen, expired, or its state is gone):
         * only the start of a sequence is accepted */
        if (in->base_seq != 0) {
            return SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
    } else if (in->epoch != e->epoch) {
        if (in->base_seq != 0) {
            return SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
    } else {
        int32_t cur =
            e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : -1;

        if (!sl_pstate_in_sequence(cur, in->base_seq)) {
            return SL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
    }
    if (e != NULL && e->txn_first_offset >= 0 && !in->transactional) {
        /* Kafka: a non-transactional write inside an open transaction */
        return SL_ERR_INVALID_TXN_STATE;
    }
    if (in->transactional && (e == NULL || e->txn_first_offset < 0) &&
        (err = sl_pstate_push_open(ps, in->producer_id, first_offset)) !=
            SL_OK) {
        return err; /* nothing changed yet */
    }
    if ((err = sl_pstate_undo_save(u, e, in->producer_id)) != SL_OK ||
        (err = sl_pstate_upsert(ps, in->producer_id, &e)) != SL_OK) {
        u->err = err;
        return err;
    }
    sl_pstate_add_batch(e, in, first_offset);
    if (in->transactional && e->txn_first_offset < 0) {
        e->txn_first_offset = first_offset;
    }
    return SL_OK;
}

/* End e's open transaction with marker m at offset; a marker of another
 * epoch forgets the batches (Kafka's update of the entry). */
static void
sl_pstate_apply_marker(sl_pstate_entry_t *e, const sl_pstate_marker_t *m,
                       int64_t offset, sl_pstate_txn_t *done, bool *completed)
{
    *completed = e->txn_first_offset >= 0;
    if (*completed) {
        done->producer_id = e->producer_id;
        done->first_offset = e->txn_first_offset;
        done->last_offset = offset;
        done->aborted = !m->commit;
    }
    if (m->epoch != e->epoch) {
        e->epoch = m->epoch;
        e->nbatches = 0;
    }
    e->coordinator_epoch = m->coordinator_epoch;
    e->txn_first_offset = -1;
    if (m->ts > e->last_ts) {
        e->last_ts = m->ts;
    }
}

sl_err_t
sl_pstate_check_marker(sl_pstate_t *ps, sl_pstate_undo_t *u,
                       const sl_pstate_marker_t *m, int64_t offset,
                       sl_pstate_txn_t *done, bool *completed)
{
    sl_pstate_entry_t *e = sl_pstate_find(ps, m->producer_id);
    sl_err_t err;

    *completed = false;
    if (m->producer_id < 0) {
        return SL_OK;
    }
    if (e != NULL && m->epoch < e->epoch) {
        return SL_ERR_INVALID_PRODUCER_EPOCH;
    }
    if (e != NULL && m->coordinator_epoch < e->coordinator_epoch) {
        return SL_ERR_TRANSACTION_COORDINATOR_FENCED;
    }
    if ((err = sl_pstate_undo_save(u, e, m->producer_id)) != SL_OK ||
        (err = sl_pstate_upsert(ps, m->producer_id, &e)) != SL_OK) {
        u->err = err;
        return err;
    }
    sl_pstate_apply_marker(e, m, offset, done, completed);
    return SL_OK;
}

sl_err_t
sl_pstate_replay_marker(sl_pstate_t *ps, const sl_pstate_marker_t *m,
                        int64_t offset, sl_pstate_txn_t *done, bool *completed)
{
    sl_pstate_entry_t *e;
    sl_err_t err;

    *completed = false;
    if (m->producer_id < 0) {
        return SL_OK;
    }
    if ((err = sl_pstate_upsert(ps, m->producer_id, &e)) != SL_OK) {
        return err;
    }
    sl_pstate_apply_marker(e, m, offset, done, completed);
    return SL_OK;
}

int64_t
sl_pstate_first_unstable(sl_pstate_t *ps)
{
    while (ps->qhead < ps->qlen) {
        const sl_pstate_open_t *o = &ps->q[ps->qhead];
        const sl_pstate_entry_t *e = sl_pstate_find(ps, o->producer_id);

        if (e != NULL && e->txn_first_offset == o->first_offset) {
            return o->first_offset;
        }
        ps->qhead++;
    }
    ps->qhead = ps->qlen = 0;
    return -1;
}

/* Queue the open transactions of a state read from a snapshot. */
static int
sl_pstate_cmp_open(const void *a, const void *b)
{
    int64_t x = ((const sl_pstate_open_t *)a)->first_offset;
    int64_t y = ((const sl_pstate_open_t *)b)->first_offset;

    return x < y ? -1 : x > y;
}

static sl_err_t
sl_pstate_queue_open(sl_pstate_t *ps)
{
    size_t i;
    sl_err_t err;

    ps->qhead = ps->qlen = 0;
    for (i = 0; i < ps->cap; i++) {
        const sl_pstate_entry_t *e = &ps->slots[i];

        if (e->producer_id >= 0 && e->txn_first_offset >= 0 &&
            (err = sl_pstate_push_open(ps, e->producer_id,
                                       e->txn_first_offset)) != SL_OK) {
            return err;
        }
    }
    if (ps->qlen > 1) {
        qsort(ps->q, ps->qlen, sizeof(*ps->q), sl_pstate_cmp_open);
    }
    return SL_OK;
}

static void
sl_pstate_undo_free(sl_pstate_undo_t *u)
{
    free(u->saved);
    free(u->existed);
    memset(u, 0, sizeof(*u));
}

void
sl_pstate_commit(sl_pstate_t *ps, sl_pstate_undo_t *u)
{
    (void)ps;
    sl_pstate_undo_free(u);
}

void
sl_pstate_rollback(sl_pstate_t *ps, sl_pstate_undo_t *u)
{
    sl_pstate_entry_t *e;
    size_t i;

    for (i = u->n; i-- > 0;) {
        if (!u->existed[i]) {
            sl_pstate_remove(ps, u->saved[i].producer_id);
        } else if ((e = sl_pstate_find(ps, u->saved[i].producer_id)) != NULL) {
            *e = u->saved[i];
        }
    }
    sl_pstate_undo_free(u);
}

sl_err_t
sl_pstate_replay(sl_pstate_t *ps, const sl_pstate_in_t *in,
                 int64_t first_offset)
{
    sl_pstate_entry_t *e;
    sl_err_t err;

    if (in->producer_id < 0) {
        return SL_OK;
    }
    if ((err = sl_pstate_upsert(ps, in->producer_id, &e)) != SL_OK) {
        return err;
    }
    if (in->transactional && e->txn_first_offset < 0 &&
        (err = sl_pstate_push_open(ps, in->producer_id, first_offset)) !=
            SL_OK) {
        return err;
    }
    sl_pstate_add_batch(e, in, first_offset);
    if (in->transactional && e->txn_first_offset < 0) {
        e->txn_first_offset = first_offset;
    }
    return SL_OK;
}

size_t
sl_pstate_expire(sl_pstate_t *ps, int64_t now_ms, int64_t expiration_ms)
{
    size_t i = 0, n = 0;

    while (i < ps->cap) {
        sl_pstate_entry_t *e = &ps->slots[i];

        if (e->producer_id >= 0 && e->txn_first_offset < 0 &&
            now_ms - e->last_ts >= expiration_ms) {
            /* the shift may move another entry into slot i: look again */
            sl_pstate_remove_at(ps, i);
            n++;
            continue;
        }
        i++;
    }
    return n;
}

/* ---- snapshots ---------------------------------------------------------- */

static void
sl_pstate_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
sl_pstate_put32(uint8_t *p, uint32_t v)
{
    sl_pstate_put16(p, (uint16_t)(v >> 16));
    sl_pstate_put16(p + 2, (uint16_t)v);
}

static void
sl_pstate_put64(uint8_t *p, uint64_t v)
{
    sl_pstate_put32(p, (uint32_t)(v >> 32));
    sl_pstate_put32(p + 4, (uint32_t)v);
}

static uint16_t
sl_pstate_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
sl_pstate_get32(const uint8_t *p)
{
    return ((uint32_t)sl_pstate_get16(p) << 16) | sl_pstate_get16(p + 2);
}

static uint64_t
sl_pstate_get64(const uint8_t *p)
{
    return ((uint64_t)sl_pstate_get32(p) << 32) | sl_pstate_get32(p + 4);
}

static uint8_t *
sl_pstate_put_entry(uint8_t *p, const sl_pstate_entry_t *e,
                    const sl_pstate_batch_t *b)
{
    sl_pstate_put64(p, (uint64_t)e->producer_id);
    sl_pstate_put16(p + 8, (uint16_t)e->epoch);
    sl_pstate_put32(p + 10, (uint32_t)(b ? b->last_seq : -1));
    sl_pstate_put64(p + 14, (uint64_t)(b ? b->last_offset : -1));
    sl_pstate_put32(p + 22,
                    (uint32_t)(b ? b->last_offset - b->first_offset : 0));
    sl_pstate_put64(p + 26, (uint64_t)(b ? b->timestamp : e->last_ts));
    sl_pstate_put32(p + 34, (uint32_t)e->coordinator_epoch);
    sl_pstate_put64(p + 38, (uint64_t)e->txn_first_offset);
    return p + SL_PSTATE_ENTRY;
}

typedef struct sl_pstate_names_s {
    int64_t *offs;
    size_t n, cap;
    sl_err_t err;
} sl_pstate_names_t;

/* "<20 digits>.snapshot" -> offset */
static bool
sl_pstate_parse_name(const char *name, int64_t *off)
{
    uint64_t v = 0;
    int i;

    if (strlen(name) != 29 || strcmp(name + 20, ".snapshot") != 0) {
        return false;
    }
    for (i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(name[i] - '0');
        if (v > (uint64_t)INT64_MAX) {
            return false;
        }
    }
    *off = (int64_t)v;
    return true;
}

static int
sl_pstate_list_cb(void *arg, const char *name)
{
    sl_pstate_names_t *l = arg;
    int64_t off, *p;

    if (!sl_pstate_parse_name(name, &off)) {
        return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        if ((p = realloc(l->offs, l->cap * sizeof(*p))) == NULL) {
            l->err = SL_ERR__NOMEM;
            return 1;
        }
        l->offs = p;
    }
    l->offs[l->n++] = off;
    return 0;
}

static int
sl_pstate_cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

/* The snapshot offsets of <dir>, newest first. */
static sl_err_t
sl_pstate_names(const char *dir, sl_pstate_names_t *l)
{
    sl_err_t err;

    memset(l, 0, sizeof(*l));
    err = sl_file_list(dir, sl_pstate_list_cb, l);
    if (err == SL_OK) {
        err = l->err;
    }
    if (err != SL_OK) {
        free(l->offs);
        memset(l, 0, sizeof(*l));
        return err;
    }
    if (l->n > 1) {
        qsort(l->offs, l->n, sizeof(*l->offs), sl_pstate_cmp_desc);
    }
    return SL_OK;
}

static bool
sl_pstate_path(char *buf, size_t cap, const char *dir, int64_t off)
{
    int n = snprintf(buf, cap, "%s/%020" PRId64 ".snapshot", dir, off);

    return n > 0 && (size_t)n < cap;
}

sl_err_t
sl_pstate_write_snapshot(const sl_pstate_t *ps, const char *dir, int64_t offset,
                         int keep)
{
    char path[SL_PSTATE_PATH];
    sl_pstate_names_t l;
    size_t i, count = 0, len;
    uint8_t *buf, *p;
    int32_t k;
    sl_err_t err;

    if (!sl_pstate_path(path, sizeof(path), dir, offset)) {
        return SL_ERR__INVAL;
    }
    for (i = 0; i < ps->cap; i++) {
        if (ps->slots[i].producer_id >= 0) {
            count +=
                ps->slots[i].nbatches > 0 ? (size_t)ps->slots[i].nbatches : 1;
        }
    }
    len = SL_PSTATE_HDR + count * SL_PSTATE_ENTRY;
    if (count > INT32_MAX || (buf = malloc(len)) == NULL) {
        return SL_ERR__NOMEM;
    }
    p = buf + SL_PSTATE_HDR;
    for (i = 0; i < ps->cap; i++) {
        const sl_pstate_entry_t *e = &ps->slots[i];

        if (e->producer_id < 0) {
            continue;
        }
        if (e->nbatches == 0) {
            p = sl_pstate_put_entry(p, e, NULL);
        }
        for (k = 0; k < e->nbatches; k++) {
            p = sl_pstate_put_entry(p, e, &e->batches[k]);
        }
    }
    sl_pstate_put16(buf, SL_PSTATE_VERSION);
    sl_pstate_put32(buf + 6, (uint32_t)count);
    sl_pstate_put32(buf + 2, sl_crc32c(0, buf + 6, len - 6));
    err = sl_file_write_atomic(dir, path, buf, len);
    free(buf);
    if (err != SL_OK) {
        return err;
    }
    if (keep > 0 && sl_pstate_names(dir, &l) == SL_OK) {
        for (i = (size_t)keep; i < l.n; i++) {
            if (sl_pstate_path(path, sizeof(path), dir, l.offs[i])) {
                (void)sl_file_unlink(path);
            }
        }
        free(l.offs);
    }
    return SL_OK;
}

/* Parse a whole snapshot image into ps (empty on entry). */
static sl_err_t
sl_pstate_parse(sl_pstate_t *ps, const uint8_t *buf, size_t len)
{
    const uint8_t *p;
    uint32_t count, i;
    sl_pstate_entry_t *e;
    sl_err_t err;

    if (len < SL_PSTATE_HDR || sl_pstate_get16(buf) != SL_PSTATE_VERSION ||
        sl_pstate_get32(buf + 2) != sl_crc32c(0, buf + 6, len - 6)) {
        return SL_ERR__CORRUPT;
    }
    count = sl_pstate_get32(buf + 6);
    if ((len - SL_PSTATE_HDR) % SL_PSTATE_ENTRY != 0 ||
        (len - SL_PSTATE_HDR) / SL_PSTATE_ENTRY != count) {
        return SL_ERR__CORRUPT;
    }
    for (i = 0, p = buf + SL_PSTATE_HDR; i < count; i++, p += SL_PSTATE_ENTRY) {
        int64_t pid = (int64_t)sl_pstate_get64(p);
        int16_t epoch = (int16_t)sl_pstate_get16(p + 8);
        int32_t last_seq = (int32_t)sl_pstate_get32(p + 10);
        int64_t last_off = (int64_t)sl_pstate_get64(p + 14);
        int32_t delta = (int32_t)sl_pstate_get32(p + 22);
        int64_t ts = (int64_t)sl_pstate_get64(p + 26);

        if (pid < 0 || delta < 0 || (last_off >= 0 && last_off < delta)) {
            return SL_ERR__CORRUPT;
        }
        if ((err = sl_pstate_upsert(ps, pid, &e)) != SL_OK) {
            return err;
        }
        if (epoch != e->epoch) {
            e->epoch = epoch;
            e->nbatches = 0;
        }
        e->last_ts = ts;
        e->coordinator_epoch = (int32_t)sl_pstate_get32(p + 34);
        e->txn_first_offset = (int64_t)sl_pstate_get64(p + 38);
        if (e->txn_first_offset < 0) {
            e->txn_first_offset = -1;
        }
        if (last_off >= 0) {
            sl_pstate_in_t in = {pid, epoch, 0, delta, ts, false};

            /* first sequence: last - delta, wrapping below 0 */
            in.base_seq = last_seq >= delta
                              ? last_seq - delta
                              : (int32_t)((int64_t)INT32_MAX + 1 -
                                          (int64_t)(delta - last_seq));
            sl_pstate_add_batch(e, &in, last_off - delta);
        }
    }
    return SL_OK;
}

sl_err_t
sl_pstate_read_snapshot(sl_pstate_t *ps, const char *path)
{
    int fd = -1;
    int64_t size, mtime;
    size_t got;
    uint8_t *buf;
    sl_err_t err;

    sl_pstate_clear(ps);
    if ((err = sl_file_open(path, O_RDONLY, &fd)) != SL_OK) {
        return err;
    }
    err = sl_file_size(fd, &size, &mtime);
    if (err == SL_OK && (size < SL_PSTATE_HDR || size > SL_PSTATE_MAX_FILE)) {
        err = SL_ERR__CORRUPT;
    }
    if (err != SL_OK) {
        sl_file_close(&fd);
        return err;
    }
    if ((buf = malloc((size_t)size)) == NULL) {
        sl_file_close(&fd);
        return SL_ERR__NOMEM;
    }
    err = sl_file_read_at(fd, buf, (size_t)size, 0, &got);
    sl_file_close(&fd);
    if (err == SL_OK && got != (size_t)size) {
        err = SL_ERR__CORRUPT;
    }
    if (err == SL_OK) {
        err = sl_pstate_parse(ps, buf, got);
    }
    if (err == SL_OK) {
        err = sl_pstate_queue_open(ps);
    }
    free(buf);
    if (err != SL_OK) {
        sl_pstate_clear(ps);
    }
    return err;
}

sl_err_t
sl_pstate_load(sl_pstate_t *ps, const char *dir, int64_t max_offset,
               int64_t *from)
{
    char path[SL_PSTATE_PATH];
    sl_pstate_names_t l;
    size_t i;
    sl_err_t err;

    *from = -1;
    sl_pstate_clear(ps);
    if ((err = sl_pstate_names(dir, &l)) != SL_OK) {
        return err;
    }
    for (i = 0; i < l.n; i++) {
        if (!sl_pstate_path(path, sizeof(path), dir, l.offs[i])) {
            continue;
        }
        if (*from >= 0) {
            continue; /* older ones stay for truncation */
        }
        if (l.offs[i] > max_offset) {
            (void)sl_file_unlink(path);
            continue;
        }
        err = sl_pstate_read_snapshot(ps, path);
        if (err == SL_OK) {
            *from = l.offs[i];
            continue;
        }
        if (err == SL_ERR__NOMEM || err == SL_ERR__IO) {
            break;
        }
        sl_log_warn("log.pstate", "ignoring unreadable snapshot path=%s err=%s",
                    path, sl_err_name(err));
        (void)sl_file_unlink(path);
        err = SL_OK;
    }
    free(l.offs);
    return err == SL_ERR__NOMEM || err == SL_ERR__IO ? err : SL_OK;
}
