/*
 * tests/fuzz/fuzz_txn.c: arbitrary bytes as a stream of transaction
 * coordinator events (raw __transaction_state records loaded at start,
 * InitProducerId, AddPartitions, AddOffsets, verify, EndTxn for TV1 and
 * TV2, describe, list, clock jumps, and late or failing appends and marker
 * writes), over two transactional ids and four clients.
 *
 * Checks, besides ASan/UBSan: every request is answered exactly once (at the
 * latest when the coordinator is destroyed and the fakes drained), and
 * marker writes name a producer id and at least one partition.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "txn/txn.h"

#define SL_FZ_MAX_REQ 1024
#define SL_FZ_MAX_PEND 1024

typedef struct sl_fz_client_s {
    int64_t pid;
    int16_t epoch;
} sl_fz_client_t;

typedef struct sl_fz_req_s {
    int calls;
    int kind; /* 0 init, 1 add, 2 end */
    sl_fz_client_t *cl;
} sl_fz_req_t;

typedef struct sl_fz_pend_s {
    sl_txn_done_cb done;
    void *arg;
} sl_fz_pend_t;

typedef struct sl_fz_s {
    sl_fz_req_t req[SL_FZ_MAX_REQ];
    int nreq;
    sl_fz_pend_t spend[SL_FZ_MAX_PEND];
    int nspend;
    sl_fz_pend_t mpend[SL_FZ_MAX_PEND];
    int nmpend;
    sl_fz_client_t cl[4];
    int64_t next_pid;
    const uint8_t *p;
    size_t left;
} sl_fz_t;

static const char *const sl_fz_ids[] = {"t0", "txn-1"};
static const char *const sl_fz_topics[] = {"a", "bb"};

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
    sl_str_t r = {s, (int32_t)strlen(s)};
    return r;
}

static void
sl_fz_append(void *ctx, int32_t partition, const uint8_t *key, size_t key_len,
             const uint8_t *value, size_t value_len, sl_txn_done_cb done,
             void *done_arg)
{
    sl_fz_t *z = ctx;

    (void)partition;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    if (z->nspend == SL_FZ_MAX_PEND) {
        abort();
    }
    z->spend[z->nspend].done = done;
    z->spend[z->nspend].arg = done_arg;
    z->nspend++;
}

static void
sl_fz_write(void *ctx, int64_t pid, int16_t epoch, bool commit,
            int32_t coordinator_epoch, const sl_txn_tp_t *parts, int32_t n,
            sl_txn_done_cb done, void *done_arg)
{
    sl_fz_t *z = ctx;

    (void)epoch;
    (void)commit;
    (void)coordinator_epoch;
    if (pid < 0 || n <= 0 || parts[0].topic.len < 0 ||
        z->nmpend == SL_FZ_MAX_PEND) {
        abort();
    }
    z->mpend[z->nmpend].done = done;
    z->mpend[z->nmpend].arg = done_arg;
    z->nmpend++;
}

static sl_err_t
sl_fz_pid(void *ctx, int64_t *out)
{
    sl_fz_t *z = ctx;

    *out = z->next_pid++;
    return SL_OK;
}

static bool
sl_fz_complete(sl_fz_pend_t *q, int *n, sl_err_t err)
{
    sl_fz_pend_t p;

    if (*n == 0) {
        return false;
    }
    p = q[0];
    memmove(&q[0], &q[1], (size_t)(*n - 1) * sizeof(p));
    (*n)--;
    p.done(p.arg, err);
    return true;
}

static void
sl_fz_cb(void *arg, sl_err_t err, int64_t pid, int16_t epoch)
{
    sl_fz_req_t *r = arg;

    r->calls++;
    if (r->calls > 1) {
        abort();
    }
    /* The client goes on with what it was given (InitProducerId, and
     * EndTxn under TV2 which answers the next epoch). */
    if (err == SL_OK && pid >= 0 && r->kind != 1) {
        r->cl->pid = pid;
        r->cl->epoch = epoch;
    }
}

static sl_fz_req_t *
sl_fz_req(sl_fz_t *z, int client, int kind)
{
    sl_fz_req_t *r;

    if (z->nreq == SL_FZ_MAX_REQ) {
        return NULL;
    }
    r = &z->req[z->nreq++];
    r->cl = &z->cl[client];
    r->kind = kind;
    return r;
}

/* Raw records first: <len16 key><len16 value or 0xffff>, while loading. */
static void
sl_fz_load(sl_fz_t *z, sl_txn_coord_t *tc)
{
    int n = sl_fz_byte(z) % 8;

    for (int i = 0; i < n && z->left > 4; i++) {
        size_t kl = (size_t)sl_fz_byte(z) << 8 | sl_fz_byte(z);
        size_t vl = (size_t)sl_fz_byte(z) << 8 | sl_fz_byte(z);
        const uint8_t *k, *v = NULL;

        kl = kl > z->left ? z->left : kl;
        k = z->p;
        z->p += kl;
        z->left -= kl;
        if (vl != 0xffff) {
            vl = vl > z->left ? z->left : vl;
            v = z->p;
            z->p += vl;
            z->left -= vl;
        } else {
            vl = 0;
        }
        (void)sl_txn_coord_load(tc, k, kl, v, vl);
    }
}

static void
sl_fz_step(sl_fz_t *z, sl_txn_coord_t *tc, int64_t *now)
{
    uint8_t op = sl_fz_byte(z);
    uint8_t a = sl_fz_byte(z);
    int c = a & 3;
    sl_str_t id = sl_fz_s(sl_fz_ids[c & 1]);
    sl_fz_client_t *cl = &z->cl[c];
    sl_fz_req_t *r;
    sl_txn_tp_t tp[3];
    sl_txn_add_req_t add;
    sl_err_t errs[3];
    int n = 1 + (a >> 2) % 3;

    for (int i = 0; i < n; i++) {
        uint8_t b = sl_fz_byte(z);

        tp[i].topic = sl_fz_s(sl_fz_topics[b & 1]);
        tp[i].partition = (b >> 1) % 4;
    }
    memset(&add, 0, sizeof(add));
    add.transactional_id = id;
    add.producer_id = cl->pid;
    add.producer_epoch = cl->epoch;
    add.parts = tp;
    add.parts_count = n;
    add.client_tv = (a & 0x20) ? 2 : 1;
    if ((a & 0x40) != 0) {
        add.producer_epoch++; /* a wrong epoch now and then */
    }
    switch (op % 12) {
    case 0: {
        sl_txn_init_req_t q;

        if ((r = sl_fz_req(z, c, 0)) == NULL) {
            return;
        }
        q.transactional_id = id;
        q.timeout_ms = (a & 0x80) ? 0 : 1000 + (int32_t)(a & 0x1f) * 100;
        q.producer_id = (a & 0x10) ? cl->pid : -1;
        q.producer_epoch = (a & 0x10) ? cl->epoch : -1;
        sl_txn_init_producer_id(tc, *now, &q, sl_fz_cb, r);
        break;
    }
    case 1:
    case 2:
        if ((r = sl_fz_req(z, c, 1)) != NULL) {
            sl_txn_add_partitions(tc, *now, &add, sl_fz_cb, r);
        }
        break;
    case 3:
        if ((r = sl_fz_req(z, c, 1)) != NULL) {
            sl_txn_add_offsets(tc, *now, id, add.producer_id,
                               add.producer_epoch, sl_fz_s("grp"),
                               add.client_tv, sl_fz_cb, r);
        }
        break;
    case 4: {
        sl_txn_end_req_t q;

        if ((r = sl_fz_req(z, c, 2)) == NULL) {
            return;
        }
        q.transactional_id = id;
        q.producer_id = add.producer_id;
        q.producer_epoch = add.producer_epoch;
        q.commit = (a & 0x80) != 0;
        q.client_tv = add.client_tv;
        sl_txn_end(tc, *now, &q, sl_fz_cb, r);
        break;
    }
    case 5:
        (void)sl_txn_verify_partitions(tc, &add, errs);
        break;
    case 6: {
        sl_arena_t *ar = sl_arena_create(1024, 0);
        sl_txn_desc_t d;
        sl_txn_list_req_t lq;
        sl_txn_list_t l;
        sl_str_t st = sl_fz_s((a & 1) ? "Ongoing" : "Nope");

        if (ar == NULL) {
            return;
        }
        if (sl_txn_describe(tc, id, ar, &d) == SL_OK) {
            cl->pid = d.producer_id; /* learn the current producer */
            cl->epoch = d.producer_epoch;
        }
        memset(&lq, 0, sizeof(lq));
        lq.states = &st;
        lq.n_states = (a & 2) ? 1 : 0;
        lq.duration_ms = (a & 4) ? 500 : -1;
        (void)sl_txn_list(tc, *now, &lq, ar, &l);
        sl_arena_destroy(ar);
        break;
    }
    case 7:
        *now += (int64_t)a * 50;
        sl_txn_coord_tick(tc, *now);
        break;
    case 8:
    case 9:
        sl_fz_complete(z->spend, &z->nspend, (a & 7) == 0 ? SL_ERR__IO : SL_OK);
        break;
    default:
        sl_fz_complete(z->mpend, &z->nmpend,
                       (a & 7) == 0 ? SL_ERR_NOT_LEADER_OR_FOLLOWER : SL_OK);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_fz_t *z = calloc(1, sizeof(*z));
    sl_txn_config_t cfg;
    sl_txn_store_t st = {0};
    sl_txn_markers_t mk = {0};
    sl_txn_pid_source_t ps = {0};
    sl_txn_coord_t *tc;
    int64_t now = 1000;

    if (z == NULL) {
        return 0;
    }
    z->p = data;
    z->left = size;
    z->next_pid = 100;
    for (int i = 0; i < 4; i++) {
        z->cl[i].pid = -1;
        z->cl[i].epoch = -1;
    }
    sl_txn_config_defaults(&cfg);
    cfg.transaction_version = (int16_t)(sl_fz_byte(z) % 3);
    cfg.end_waits_markers = (sl_fz_byte(z) & 1) == 0;
    cfg.id_expiration_ms = 20000;
    st.ctx = mk.ctx = ps.ctx = z;
    st.append = sl_fz_append;
    mk.write = sl_fz_write;
    ps.next = sl_fz_pid;
    tc = sl_txn_coord_create(&cfg, &st, &mk, &ps);
    if (tc == NULL) {
        free(z);
        return 0;
    }
    sl_fz_load(z, tc);
    sl_txn_coord_load_done(tc, now);
    for (int i = 0; i < 4; i++) {
        sl_arena_t *ar = sl_arena_create(1024, 0);
        sl_txn_desc_t d;

        if (ar != NULL &&
            sl_txn_describe(tc, sl_fz_s(sl_fz_ids[i & 1]), ar, &d) == SL_OK) {
            z->cl[i].pid = d.producer_id;
            z->cl[i].epoch = d.producer_epoch;
        }
        sl_arena_destroy(ar);
    }
    while (z->left > 0) {
        sl_fz_step(z, tc, &now);
    }
    sl_txn_coord_destroy(tc);
    while (sl_fz_complete(z->spend, &z->nspend, SL_OK) ||
           sl_fz_complete(z->mpend, &z->nmpend, SL_OK)) {
    }
    for (int i = 0; i < z->nreq; i++) {
        if (z->req[i].calls != 1) {
            abort();
        }
    }
    free(z);
    return 0;
}
