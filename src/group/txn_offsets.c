/*
 * group/txn_offsets.c: pending transactional offsets (TxnOffsetCommit).
 *
 * Owns the table of offsets that producers committed inside a transaction
 * which has not ended yet: a list of entries (producer id, group, topic,
 * partition, offset, leader epoch, metadata) under its own mutex. The
 * transaction coordinator's txn_complete hook calls sl_group_txn_complete(),
 * which commits them to the group coordinator (COMMIT) or forgets them
 * (ABORT); OffsetFetch's require_stable asks sl_group_txn_pending_has().
 * A committed entry stays in the table (marked committing, still pending
 * for require_stable) until the group coordinator has applied it, so a
 * reader never finds an offset neither pending nor committed.
 *
 * The table is memory only: offsets of a transaction whose broker stops
 * between TxnOffsetCommit and the marker are lost (the transaction is then
 * aborted by the restarted coordinator unless EndTxn(commit) was already
 * logged; see docs/transactions.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "group/group.h"

typedef struct sl_gtp_entry_s {
    struct sl_gtp_entry_s *next;
    int64_t producer_id;
    char *group;
    int32_t group_len;
    char *topic;
    int32_t topic_len;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    char *metadata; /* NULL: null metadata */
    int32_t metadata_len;
    /* the transaction committed; the offset is being written to the group
     * coordinator and still counts as pending until it is applied */
    bool committing;
} sl_gtp_entry_t;

struct sl_group_txn_pending_s {
    pthread_mutex_t lock;
    sl_gtp_entry_t *head;
};

static bool
sl_gtp_eq(const char *p, int32_t len, sl_str_t s)
{
    int32_t sl = s.len < 0 ? 0 : s.len;

    return len == sl && (len == 0 || memcmp(p, s.ptr, (size_t)len) == 0);
}

static char *
sl_gtp_dup(sl_str_t s, int32_t *len)
{
    int32_t n = s.len < 0 ? 0 : s.len;
    char *p = malloc((size_t)n + 1);

    if (p != NULL) {
        if (n > 0) {
            memcpy(p, s.ptr, (size_t)n);
        }
        p[n] = '\0';
    }
    *len = n;
    return p;
}

static void
sl_gtp_free(sl_gtp_entry_t *e)
{
    free(e->group);
    free(e->topic);
    free(e->metadata);
    free(e);
}

sl_group_txn_pending_t *
sl_group_txn_pending_create(void)
{
    sl_group_txn_pending_t *p = calloc(1, sizeof(*p));

    if (p != NULL) {
        pthread_mutex_init(&p->lock, NULL);
    }
    return p;
}

void
sl_group_txn_pending_destroy(sl_group_txn_pending_t *p)
{
    sl_gtp_entry_t *e, *next;

    if (p == NULL) {
        return;
    }
    for (e = p->head; e != NULL; e = next) {
        next = e->next;
        sl_gtp_free(e);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The entry of <producer_id>, <group_id>, <topic>/<partition>, or NULL.
 * @locks p->lock held */
static sl_gtp_entry_t *
sl_gtp_find(sl_group_txn_pending_t *p, int64_t producer_id, sl_str_t group_id,
            sl_str_t topic, int32_t partition)
{
    sl_gtp_entry_t *e;

    for (e = p->head; e != NULL; e = e->next) {
        if (!e->committing && e->producer_id == producer_id &&
            e->partition == partition &&
            sl_gtp_eq(e->group, e->group_len, group_id) &&
            sl_gtp_eq(e->topic, e->topic_len, topic)) {
            return e;
        }
    }
    return NULL;
}

sl_err_t
sl_group_txn_pending_add(sl_group_txn_pending_t *p, int64_t producer_id,
                         sl_str_t group_id, const sl_group_commit_part_t *parts,
                         int32_t n)
{
    sl_gtp_entry_t **fresh;
    int32_t i, k = 0;
    sl_err_t err = SL_OK;

    if (n <= 0) {
        return SL_OK;
    }
    fresh = calloc((size_t)n, sizeof(*fresh));
    if (fresh == NULL) {
        return SL_ERR__NOMEM;
    }
    /* Build every new entry first, so that a failure records nothing. */
    for (i = 0; i < n && err == SL_OK; i++) {
        sl_gtp_entry_t *e = calloc(1, sizeof(*e));

        if (e == NULL) {
            err = SL_ERR__NOMEM;
            break;
        }
        fresh[k++] = e;
        e->producer_id = producer_id;
        e->partition = parts[i].partition;
        e->offset = parts[i].offset;
        e->leader_epoch = parts[i].leader_epoch;
        e->group = sl_gtp_dup(group_id, &e->group_len);
        e->topic = sl_gtp_dup(parts[i].topic, &e->topic_len);
        if (parts[i].metadata.len >= 0) {
            e->metadata = sl_gtp_dup(parts[i].metadata, &e->metadata_len);
        }
        if (e->group == NULL || e->topic == NULL ||
            (parts[i].metadata.len >= 0 && e->metadata == NULL)) {
            err = SL_ERR__NOMEM;
        }
    }
    if (err != SL_OK) {
        for (i = 0; i < k; i++) {
            sl_gtp_free(fresh[i]);
        }
        free(fresh);
        return err;
    }
    pthread_mutex_lock(&p->lock);
    for (i = 0; i < k; i++) {
        sl_gtp_entry_t *e = fresh[i];
        sl_gtp_entry_t *old =
            sl_gtp_find(p, producer_id, group_id, parts[i].topic, e->partition);

        if (old != NULL) {
            /* replace in place: swap the payload, free the new shell */
            old->offset = e->offset;
            old->leader_epoch = e->leader_epoch;
            free(old->metadata);
            old->metadata = e->metadata;
            old->metadata_len = e->metadata_len;
            e->metadata = NULL;
            sl_gtp_free(e);
        } else {
            e->next = p->head;
            p->head = e;
        }
    }
    pthread_mutex_unlock(&p->lock);
    free(fresh);
    return SL_OK;
}

bool
sl_group_txn_pending_has(sl_group_txn_pending_t *p, sl_str_t group_id,
                         sl_str_t topic, int32_t partition)
{
    sl_gtp_entry_t *e;
    bool found = false;

    pthread_mutex_lock(&p->lock);
    for (e = p->head; e != NULL && !found; e = e->next) {
        found = e->partition == partition &&
                sl_gtp_eq(e->group, e->group_len, group_id) &&
                sl_gtp_eq(e->topic, e->topic_len, topic);
    }
    pthread_mutex_unlock(&p->lock);
    return found;
}

int32_t
sl_group_txn_pending_count(sl_group_txn_pending_t *p, int64_t producer_id)
{
    sl_gtp_entry_t *e;
    int32_t n = 0;

    pthread_mutex_lock(&p->lock);
    for (e = p->head; e != NULL; e = e->next) {
        n += e->producer_id == producer_id && !e->committing;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* One group's share of a committed transaction, being written. */
typedef struct sl_gtp_commit_s {
    sl_group_txn_pending_t *p;
    sl_gtp_entry_t **entries;
    int32_t n;
} sl_gtp_commit_t;

/* The group coordinator applied (or failed) the commit: the entries stop
 * being pending. @thread any */
static void
sl_gtp_commit_done(void *arg, const sl_err_t *errors, int32_t count)
{
    sl_gtp_commit_t *c = arg;
    sl_gtp_entry_t **pp, *e;
    int32_t i;

    for (i = 0; i < count; i++) {
        if (errors[i] != SL_OK) {
            sl_log_warn("group", "transactional offset not committed err=%s",
                        sl_err_name(errors[i]));
            break;
        }
    }
    pthread_mutex_lock(&c->p->lock);
    for (i = 0; i < c->n; i++) {
        for (pp = &c->p->head; (e = *pp) != NULL; pp = &e->next) {
            if (e == c->entries[i]) {
                *pp = e->next;
                sl_gtp_free(e);
                break;
            }
        }
    }
    pthread_mutex_unlock(&c->p->lock);
    free(c->entries);
    free(c);
}

/* Commit <c>'s entries (all of one group) to <gc>. The entries stay in the
 * table, marked committing, until sl_gtp_commit_done() removes them; they
 * are not touched after the call (the callback may already have run). */
static void
sl_gtp_commit_issue(sl_group_coord_t *gc, int64_t now_ms, sl_gtp_commit_t *c)
{
    sl_gtp_entry_t *first = c->entries[0];
    sl_group_commit_part_t *parts = calloc((size_t)c->n, sizeof(*parts));
    sl_group_commit_req_t req;
    sl_err_t *errs;
    int32_t i;

    if (parts == NULL) {
        sl_log_warn("group", "out of memory committing transactional offsets");
        errs = calloc((size_t)c->n, sizeof(*errs));
        for (i = 0; errs != NULL && i < c->n; i++) {
            errs[i] = SL_ERR__NOMEM;
        }
        sl_gtp_commit_done(c, errs, errs != NULL ? c->n : 0);
        free(errs);
        return;
    }
    for (i = 0; i < c->n; i++) {
        sl_gtp_entry_t *e = c->entries[i];

        parts[i].topic = (sl_str_t){e->topic, e->topic_len};
        parts[i].partition = e->partition;
        parts[i].offset = e->offset;
        parts[i].leader_epoch = e->leader_epoch;
        parts[i].metadata = e->metadata != NULL
                                ? (sl_str_t){e->metadata, e->metadata_len}
                                : (sl_str_t){NULL, -1};
    }
    memset(&req, 0, sizeof(req));
    req.group_id = (sl_str_t){first->group, first->group_len};
    req.member_id = (sl_str_t){"", 0};
    req.group_instance_id = (sl_str_t){NULL, -1};
    req.generation_id = -1;
    req.retention_ms = -1;
    req.parts = parts;
    req.parts_count = c->n;
    sl_group_offset_commit_txn(gc, now_ms, &req, sl_gtp_commit_done, c);
    free(parts);
}

void
sl_group_txn_complete(sl_group_txn_pending_t *p, sl_group_coord_t *gc,
                      int64_t now_ms, int64_t producer_id, bool commit)
{
    sl_gtp_entry_t **pp, *e, *dropped = NULL;
    sl_gtp_commit_t **groups = NULL;
    int32_t ng = 0, cap = 0, i;

    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    pp = &p->head;
    while ((e = *pp) != NULL) {
        if (e->producer_id != producer_id || e->committing) {
            pp = &e->next;
            continue;
        }
        if (commit && gc != NULL) {
            /* add to its group's batch; on no memory, drop it */
            sl_gtp_commit_t *c = NULL;
            sl_str_t gid = {e->group, e->group_len};

            for (i = 0; i < ng && c == NULL; i++) {
                if (groups[i]->n > 0 &&
                    sl_gtp_eq(groups[i]->entries[0]->group,
                              groups[i]->entries[0]->group_len, gid)) {
                    c = groups[i];
                }
            }
            if (c == NULL && ng == cap) {
                sl_gtp_commit_t **ng2 =
                    realloc(groups, (size_t)(cap * 2 + 4) * sizeof(*groups));

                if (ng2 != NULL) {
                    groups = ng2;
                    cap = cap * 2 + 4;
                }
            }
            if (c == NULL && ng < cap && (c = calloc(1, sizeof(*c))) != NULL) {
                c->p = p;
                groups[ng++] = c;
            }
            if (c != NULL) {
                sl_gtp_entry_t **ne =
                    realloc(c->entries, (size_t)(c->n + 1) * sizeof(*ne));

                if (ne != NULL) {
                    c->entries = ne;
                    c->entries[c->n++] = e;
                    e->committing = true;
                    pp = &e->next;
                    continue;
                }
            }
            sl_log_warn("group", "out of memory: transactional offset dropped");
        }
        *pp = e->next;
        e->next = dropped;
        dropped = e;
    }
    /* unlocked before committing: OffsetFetch calls _has() with the group
     * lock held, so holding ours into the group coordinator would invert
     * the order */
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < ng; i++) {
        if (groups[i]->n == 0) {
            free(groups[i]); /* cannot happen: created with an entry */
            continue;
        }
        sl_gtp_commit_issue(gc, now_ms, groups[i]);
    }
    free(groups);
    for (; dropped != NULL; dropped = e) {
        e = dropped->next;
        sl_gtp_free(dropped);
    }
}
