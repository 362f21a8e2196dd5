/*
 * group/consumer_assign.c: the server-side assignors of the consumer group
 * protocol, and what a member subscribes to.
 *
 * "uniform" (the default): every subscribed partition goes to exactly one
 * member subscribed to its topic; members keep the partitions they had in
 * the previous target (sticky) unless that leaves the group unbalanced;
 * the rest go to the least loaded eligible member; then partitions move
 * from a member to an eligible member with at least two fewer until no such
 * move exists. With one subscription shared by all members (Kafka's
 * homogeneous case) the result is balanced to within one partition, and a
 * member that joins or leaves moves only the partitions it must. With
 * different subscriptions (heterogeneous) it is balanced as far as single
 * moves allow; Kafka's general builder also considers chains of moves.
 *
 * "range": per topic, like Kafka's server-side RangeAssignor: members keep
 * their previous partitions up to the quota (partitions / members, one
 * more for the first partitions % members), the others get contiguous
 * ranges of what is left, members taken in member id order.
 *
 * Regex subscriptions use POSIX extended regular expressions (regcomp), an
 * approximation of Kafka's RE2/J syntax, matched against the whole name.
 *
 * Owns: nothing beyond the call; runs with the coordinator lock held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/consumer_int.h"

sl_err_t
sl_cgroup_regex_compile(sl_str_t regex, regex_t **out)
{
    regex_t *re;
    char *s;
    int32_t i;

    *out = NULL;
    if (regex.len <= 0) {
        return SL_OK;
    }
    if (memchr(regex.ptr, '\0', (size_t)regex.len) != NULL) {
        return SL_ERR_INVALID_REGULAR_EXPRESSION;
    }
    /* No backreferences: glibc matches them in exponential time. */
    for (i = 0; i + 1 < regex.len; i++) {
        if (regex.ptr[i] == '\\') {
            if (regex.ptr[i + 1] >= '1' && regex.ptr[i + 1] <= '9') {
                return SL_ERR_INVALID_REGULAR_EXPRESSION;
            }
            i++;
        }
    }
    if ((s = malloc((size_t)regex.len + 8)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if ((re = malloc(sizeof(*re))) == NULL) {
        free(s);
        return SL_ERR__NOMEM;
    }
    snprintf(s, (size_t)regex.len + 8, "^(%.*s)$", (int)regex.len, regex.ptr);
    if (regcomp(re, s, REG_EXTENDED | REG_NOSUB) != 0) {
        free(s);
        free(re);
        return SL_ERR_INVALID_REGULAR_EXPRESSION;
    }
    free(s);
    *out = re;
    return SL_OK;
}

void
sl_cgroup_regex_free(regex_t *re)
{
    if (re != NULL) {
        regfree(re);
        free(re);
    }
}

sl_err_t
sl_cmember_set_regex(sl_cmember_t *m, sl_str_t regex)
{
    regex_t *re;
    sl_err_t err = sl_cgroup_regex_compile(regex, &re);

    if (err != SL_OK) {
        return err;
    }
    if (sl_gstr_set(&m->regex, regex.ptr, regex.len) != SL_OK) {
        sl_cgroup_regex_free(re);
        return SL_ERR__NOMEM;
    }
    sl_cgroup_regex_free(m->re);
    m->re = re;
    return SL_OK;
}

bool
sl_cmember_subscribes(const sl_cmember_t *m, sl_str_t name)
{
    char buf[256];
    int32_t i;

    for (i = 0; i < m->topics_count; i++) {
        if (sl_gstr_eq(&m->topics[i], name)) {
            return true;
        }
    }
    if (m->re == NULL || name.len < 0 || name.len >= (int32_t)sizeof(buf)) {
        return false; /* topic names are at most 249 bytes */
    }
    memcpy(buf, name.ptr, (size_t)name.len);
    buf[name.len] = '\0';
    return regexec(m->re, buf, 0, NULL, 0) == 0;
}

bool
sl_cgroup_assignor_known(sl_str_t name)
{
    return sl_str_eq(name, (sl_str_t){"uniform", 7}) ||
           sl_str_eq(name, (sl_str_t){"range", 5});
}

/* Eligibility matrix: elig[i * nt + j] when member i subscribes to topic j.
 * Internal topics count only when named. */
static bool *
sl_cgroup_eligibility(const sl_cgroup_t *g)
{
    int32_t nm = g->members_count, nt = g->topics_count, i, j;
    bool *e = calloc((size_t)(nm > 0 ? nm : 1) * (size_t)(nt > 0 ? nt : 1),
                     sizeof(*e));

    for (i = 0; e != NULL && i < nm; i++) {
        for (j = 0; j < nt; j++) {
            e[i * nt + j] = sl_cmember_subscribes(
                g->members[i], sl_gstr_view(&g->topics[j].name));
        }
    }
    return e;
}

static int
sl_cgroup_cmp_member_id(const void *x, const void *y)
{
    const sl_cmember_t *a = *(sl_cmember_t *const *)x;
    const sl_cmember_t *b = *(sl_cmember_t *const *)y;
    int32_t l = a->id.len < b->id.len ? a->id.len : b->id.len;
    int c = memcmp(a->id.ptr, b->id.ptr, (size_t)l);

    return c != 0 ? c : (a->id.len > b->id.len) - (a->id.len < b->id.len);
}

/* Kafka's server-side range: per topic, the subscribed members (sorted by
 * member id here) each keep up to the minimum quota of their previous
 * partitions, lowest first, plus one more while the extra partitions last;
 * then the members below quota get the unassigned partitions in ranges. */
static sl_err_t
sl_cgroup_assign_range(sl_cgroup_t *g, const bool *elig, const sl_ctps_t *prev)
{
    int32_t nm = g->members_count, nt = g->topics_count, i, j, k, p;
    int32_t *subs = calloc((size_t)(nm > 0 ? nm : 1), sizeof(*subs));
    int32_t *rem = calloc((size_t)(nm > 0 ? nm : 1), sizeof(*rem));
    sl_cmember_t **sorted = calloc((size_t)(nm > 0 ? nm : 1), sizeof(*sorted));
    bool *taken = NULL;
    sl_err_t err = SL_OK;

    if (sorted == NULL || subs == NULL || rem == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    memcpy(sorted, g->members, (size_t)nm * sizeof(*sorted));
    qsort(sorted, (size_t)nm, sizeof(*sorted), sl_cgroup_cmp_member_id);
    for (j = 0; j < nt && err == SL_OK; j++) {
        const sl_uuid_t *tid = &g->topics[j].id;
        int32_t np = g->topics[j].partitions, n = 0, quota, extra, next = 0;

        for (k = 0; k < nm; k++) {
            for (i = 0; i < nm; i++) {
                if (g->members[i] == sorted[k] && elig[i * nt + j]) {
                    subs[n++] = i;
                }
            }
        }
        if (n == 0 || np <= 0) {
            continue;
        }
        free(taken);
        if ((taken = calloc((size_t)np, sizeof(*taken))) == NULL) {
            err = SL_ERR__NOMEM;
            break;
        }
        quota = np / n;
        extra = np % n;
        for (k = 0; k < n && err == SL_OK; k++) {
            const sl_ctps_t *pv = &prev[subs[k]];
            int32_t had = 0, kept = 0;

            /* prev is sorted by (topic, partition): lowest first. */
            for (p = 0; p < pv->n && err == SL_OK; p++) {
                if (!sl_uuid_eq(&pv->v[p].topic, tid) || pv->v[p].p < 0 ||
                    pv->v[p].p >= np) {
                    continue;
                }
                had++;
                if (taken[pv->v[p].p]) {
                    continue; /* claimed twice (bad input): first wins */
                }
                if (kept < quota ||
                    (kept == quota && had > quota && extra > 0 && kept < had)) {
                    if (kept == quota) {
                        extra--;
                    }
                    taken[pv->v[p].p] = true;
                    kept++;
                    err = sl_ctps_add(&g->members[subs[k]]->target, tid,
                                      pv->v[p].p);
                }
            }
            rem[k] = kept > quota ? -1 : quota - kept;
        }
        for (k = 0; k < n && err == SL_OK; k++) {
            int32_t want = rem[k];

            if (want < 0) {
                continue; /* kept an extra one already */
            }
            if (extra > 0) {
                want++;
                extra--;
            }
            while (want > 0 && next < np && err == SL_OK) {
                if (!taken[next]) {
                    taken[next] = true;
                    err = sl_ctps_add(&g->members[subs[k]]->target, tid, next);
                    want--;
                }
                next++;
            }
        }
    }
out:
    free(sorted);
    free(subs);
    free(rem);
    free(taken);
    return err;
}

static sl_err_t
sl_cgroup_assign_uniform(sl_cgroup_t *g, const bool *elig,
                         const sl_ctps_t *prev)
{
    int32_t nm = g->members_count, nt = g->topics_count, i, j, k, np = 0;
    int32_t *base, *owner = NULL, *count = NULL, *topic_of = NULL;
    sl_err_t err = SL_OK;
    bool moved;

    base = calloc((size_t)nt + 1, sizeof(*base));
    if (base == NULL) {
        return SL_ERR__NOMEM;
    }
    for (j = 0; j < nt; j++) {
        base[j] = np;
        np += g->topics[j].partitions;
    }
    base[nt] = np;
    owner = malloc((size_t)(np > 0 ? np : 1) * sizeof(*owner));
    topic_of = malloc((size_t)(np > 0 ? np : 1) * sizeof(*topic_of));
    count = calloc((size_t)(nm > 0 ? nm : 1), sizeof(*count));
    if (owner == NULL || topic_of == NULL || count == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (j = 0; j < nt; j++) {
        for (k = base[j]; k < base[j + 1]; k++) {
            owner[k] = -1;
            topic_of[k] = j;
        }
    }
    /* Sticky: keep what the previous target gave, where still valid. */
    for (i = 0; i < nm; i++) {
        for (k = 0; k < prev[i].n; k++) {
            const sl_ctp_t *tp = &prev[i].v[k];

            for (j = 0; j < nt; j++) {
                if (sl_uuid_eq(&g->topics[j].id, &tp->topic)) {
                    break;
                }
            }
            if (j < nt && tp->p >= 0 && tp->p < g->topics[j].partitions &&
                elig[i * nt + j] && owner[base[j] + tp->p] < 0) {
                owner[base[j] + tp->p] = i;
                count[i]++;
            }
        }
    }
    /* The rest to the least loaded eligible member (first joined wins). */
    for (k = 0; k < np; k++) {
        int32_t best = -1;

        if (owner[k] >= 0) {
            continue;
        }
        for (i = 0; i < nm; i++) {
            if (elig[i * nt + topic_of[k]] &&
                (best < 0 || count[i] < count[best])) {
                best = i;
            }
        }
        if (best >= 0) {
            owner[k] = best;
            count[best]++;
        }
    }
    /* Balance: move from a member to an eligible one with two fewer. Each
     * move lowers the sum of squared counts, so this ends. */
    do {
        moved = false;
        for (k = np - 1; k >= 0; k--) {
            int32_t a = owner[k], best = -1;

            if (a < 0) {
                continue;
            }
            for (i = 0; i < nm; i++) {
                if (elig[i * nt + topic_of[k]] &&
                    (best < 0 || count[i] < count[best])) {
                    best = i;
                }
            }
            if (best >= 0 && count[a] - count[best] > 1) {
                owner[k] = best;
                count[a]--;
                count[best]++;
                moved = true;
            }
        }
    } while (moved);
    for (k = 0; k < np && err == SL_OK; k++) {
        if (owner[k] >= 0) {
            err =
                sl_ctps_add(&g->members[owner[k]]->target,
                            &g->topics[topic_of[k]].id, k - base[topic_of[k]]);
        }
    }
out:
    free(base);
    free(owner);
    free(topic_of);
    free(count);
    return err;
}

sl_err_t
sl_cgroup_assign(sl_cgroup_t *g, sl_str_t assignor)
{
    int32_t nm = g->members_count, i;
    sl_ctps_t *prev = calloc((size_t)(nm > 0 ? nm : 1), sizeof(*prev));
    bool *elig = sl_cgroup_eligibility(g);
    sl_err_t err = SL_OK;

    if (prev == NULL || elig == NULL) {
        err = SL_ERR__NOMEM;
        goto out;
    }
    for (i = 0; i < nm; i++) {
        /* The member's old target moves to prev[i]; target starts empty. */
        prev[i] = g->members[i]->target;
        memset(&g->members[i]->target, 0, sizeof(g->members[i]->target));
    }
    if (sl_str_eq(assignor, (sl_str_t){"range", 5})) {
        err = sl_cgroup_assign_range(g, elig, prev);
    } else {
        err = sl_cgroup_assign_uniform(g, elig, prev);
    }
    if (err != SL_OK) {
        for (i = 0; i < nm; i++) {
            sl_ctps_free(&g->members[i]->target);
            g->members[i]->target = prev[i];
            memset(&prev[i], 0, sizeof(prev[i]));
        }
    }
out:
    for (i = 0; prev != NULL && i < nm; i++) {
        sl_ctps_free(&prev[i]);
    }
    free(prev);
    free(elig);
    return err;
}
