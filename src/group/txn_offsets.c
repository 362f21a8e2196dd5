/*
 * group/txn_offsets.c: pending transactional offsets (TxnOffsetCommit).
 *
 * Owns the table of offsets that producers committed inside a transaction
 * which has not ended yet: a list of entries (producer id, group, topic,
 * partition, offset, leader epoch, metadata) under its own mutex. The
 * transaction coordinator's txn_complete hook calls sl_group_txn_complete(),
 * which commits them to the group coordinator (COMMIT) or forgets them
 * (ABORT); OffsetFetch's require_stable asks sl_group_txn_pending_has().
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
        if (e->producer_id == producer_id && e->partition == partition &&
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
        n += e->producer_id == producer_id;
    }
    pthread_mutex_unlock(&p->lock);
    return n;
}

static void
sl_gtp_commit_done(void *arg, const sl_err_t *errors, int32_t count)
{
    int32_t i;

    (void)arg;
    for (i = 0; i < count; i++) {
        if (errors[i] != SL_OK) {
            sl_log_warn("group", "transactional offset not committed err=%s",
                        sl_err_name(errors[i]));
            break;
        }
    }
}

/* Commit the entries of <list> that belong to the group of <list> (the
 * first entry), unlink them from *listp and free them. */
static void
sl_gtp_commit_group(sl_group_coord_t *gc, int64_t now_ms,
                    sl_gtp_entry_t **listp)
{
    sl_gtp_entry_t *first = *listp, **pp, *e;
    sl_str_t gid = {first->group, first->group_len};
    sl_group_commit_part_t *parts;
    sl_group_commit_req_t req;
    int32_t n = 0, i = 0;

    for (e = first; e != NULL; e = e->next) {
        n += sl_gtp_eq(e->group, e->group_len, gid);
    }
    parts = calloc((size_t)n, sizeof(*parts));
    if (parts != NULL) {
        for (e = first; e != NULL; e = e->next) {
            if (sl_gtp_eq(e->group, e->group_len, gid)) {
                parts[i].topic = (sl_str_t){e->topic, e->topic_len};
                parts[i].partition = e->partition;
                parts[i].offset = e->offset;
                parts[i].leader_epoch = e->leader_epoch;
                parts[i].metadata =
                    e->metadata != NULL
                        ? (sl_str_t){e->metadata, e->metadata_len}
                        : (sl_str_t){NULL, -1};
                i++;
            }
        }
        memset(&req, 0, sizeof(req));
        req.group_id = gid;
        req.member_id = (sl_str_t){"", 0};
        req.group_instance_id = (sl_str_t){NULL, -1};
        req.generation_id = -1;
        req.retention_ms = -1;
        req.parts = parts;
        req.parts_count = n;
        sl_group_offset_commit_txn(gc, now_ms, &req, sl_gtp_commit_done, NULL);
        free(parts);
    } else {
        sl_log_warn("group", "out of memory committing transactional offsets");
    }
    /* the coordinator copied what it needs: drop this group's entries,
     * the group id (owned by <first>) last */
    pp = &first->next;
    while ((e = *pp) != NULL) {
        if (sl_gtp_eq(e->group, e->group_len, gid)) {
            *pp = e->next;
            sl_gtp_free(e);
        } else {
            pp = &e->next;
        }
    }
    *listp = first->next;
    sl_gtp_free(first);
}

void
sl_group_txn_complete(sl_group_txn_pending_t *p, sl_group_coord_t *gc,
                      int64_t now_ms, int64_t producer_id, bool commit)
{
    sl_gtp_entry_t **pp, *e, *mine = NULL;

    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->lock);
    pp = &p->head;
    while ((e = *pp) != NULL) {
        if (e->producer_id == producer_id) {
            *pp = e->next;
            e->next = mine;
            mine = e;
        } else {
            pp = &e->next;
        }
    }
    /* unlocked before committing: OffsetFetch calls _has() with the group
     * lock held, so holding ours into the group coordinator would invert
     * the order */
    pthread_mutex_unlock(&p->lock);
    if (commit && gc != NULL) {
        while (mine != NULL) {
            sl_gtp_commit_group(gc, now_ms, &mine);
        }
    }
    for (; mine != NULL; mine = e) {
        e = mine->next;
        sl_gtp_free(mine);
    }
}
