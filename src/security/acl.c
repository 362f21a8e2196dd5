/*
 * security/acl.c: the ACL authoriser and its store (see acl.h for the
 * rules); the store's file is acl_file.c's.
 *
 * Owns: the binding table (one malloc'd copy of each string), its index,
 * the super-user list, the file path. A check looks at the literal ACLs of
 * its resource name (a hash index by type and name, rebuilt on every
 * change) and at the prefixed and "*" ones (a list); the by-type check and
 * the filters scan the table.
 */
#include "security/acl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "security/acl_int.h"

/* ---- class names ------------------------------------------------------- */

sl_err_t
sl_acl_parse_class(const char *class_name, bool *enabled)
{
    *enabled = false;
    if (class_name == NULL || class_name[0] == '\0') {
        return SL_OK;
    }
    if (strcmp(class_name,
               "org.apache.kafka.metadata.authorizer.StandardAuthorizer") ==
            0 ||
        strcmp(class_name, "kafka.security.authorizer.AclAuthorizer") == 0 ||
        strcmp(class_name, "sluice") == 0) {
        *enabled = true;
        return SL_OK;
    }
    return SL_ERR__INVAL;
}

/* ---- matching ---------------------------------------------------------- */

/* Does the pattern of <a> cover resource <name>? */
static bool
sl_acl_pattern_covers(const sl_acl_t *a, const char *name)
{
    if (a->pattern_type == SL_ACL_PAT_LITERAL) {
        return strcmp(a->name, "*") == 0 || strcmp(a->name, name) == 0;
    }
    if (a->pattern_type == SL_ACL_PAT_PREFIXED) {
        return strncmp(a->name, name, strlen(a->name)) == 0;
    }
    return false;
}

/* Does ACL principal <ap> ("User:alice", "User:*") cover <principal>? */
static bool
sl_acl_principal_covers(const char *ap, const char *principal)
{
    size_t n = strlen(ap);

    if (strcmp(ap, principal) == 0) {
        return true;
    }
    /* "<Type>:*" covers every principal of that type. */
    return n >= 2 && ap[n - 1] == '*' && ap[n - 2] == ':' &&
           strncmp(ap, principal, n - 1) == 0;
}

static bool
sl_acl_host_covers(const char *ah, const char *host)
{
    return strcmp(ah, "*") == 0 || (host != NULL && strcmp(ah, host) == 0);
}

/* Does an ALLOW for <granted> allow <op>? */
static bool
sl_acl_op_implies(int8_t granted, sl_acl_op_e op)
{
    if (granted == SL_ACL_OP_ALL || granted == (int8_t)op) {
        return true;
    }
    if (op == SL_ACL_OP_DESCRIBE) {
        return granted == SL_ACL_OP_READ || granted == SL_ACL_OP_WRITE ||
               granted == SL_ACL_OP_DELETE || granted == SL_ACL_OP_ALTER;
    }
    if (op == SL_ACL_OP_DESCRIBE_CONFIGS) {
        return granted == SL_ACL_OP_ALTER_CONFIGS;
    }
    return false;
}

bool
sl_acl_is_super(sl_acl_store_t *s, const char *principal)
{
    for (size_t i = 0; i < s->nsupers; i++) {
        if (strcmp(s->supers[i], principal) == 0) {
            return true;
        }
    }
    return false;
}

/* FNV-1a of the resource type and name. */
static uint32_t
sl_acl_hash(int8_t rtype, const char *name)
{
    uint32_t h = 2166136261u ^ (uint8_t)rtype;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h;
}

static bool
sl_acl_is_indexed_literal(const sl_acl_t *a)
{
    return a->pattern_type == SL_ACL_PAT_LITERAL && strcmp(a->name, "*") != 0;
}

/* Rebuild the index (write lock held, or not yet shared). Out of memory
 * leaves the store unindexed: checks then scan, still correct. */
static void
sl_acl_reindex(sl_acl_store_t *s)
{
    size_t nb = 16, i;

    free(s->head);
    free(s->next);
    free(s->wide);
    s->head = s->next = s->wide = NULL;
    s->indexed = false;
    s->nwide = 0;
    while (nb < 2 * s->n) {
        nb *= 2;
    }
    s->head = malloc(nb * sizeof(*s->head));
    s->next = malloc((s->n + 1) * sizeof(*s->next));
    s->wide = malloc((s->n + 1) * sizeof(*s->wide));
    if (s->head == NULL || s->next == NULL || s->wide == NULL) {
        return;
    }
    s->mask = nb - 1;
    for (i = 0; i < nb; i++) {
        s->head[i] = -1;
    }
    for (i = s->n; i-- > 0;) { /* chains in table order */
        const sl_acl_t *a = &s->v[i].a;

        if (sl_acl_is_indexed_literal(a)) {
            size_t b = sl_acl_hash(a->resource_type, a->name) & s->mask;

            s->next[i] = s->head[b];
            s->head[b] = (int32_t)i;
        }
    }
    for (i = 0; i < s->n; i++) {
        if (!sl_acl_is_indexed_literal(&s->v[i].a)) {
            s->wide[s->nwide++] = (int32_t)i;
        }
    }
    s->indexed = true;
}

/* The state of one decision. */
typedef struct sl_acl_verdict_s {
    bool any;     /* some ACL matches the resource */
    bool allowed; /* a matching ALLOW covers the operation */
    bool denied;  /* a matching DENY names it: final */
} sl_acl_verdict_t;

static void
sl_acl_apply(const sl_acl_t *a, const char *principal, const char *host,
             sl_acl_op_e op, sl_acl_res_e rtype, const char *name,
             sl_acl_verdict_t *v)
{
    if (a->resource_type != (int8_t)rtype || !sl_acl_pattern_covers(a, name)) {
        return;
    }
    v->any = true;
    if (!sl_acl_principal_covers(a->principal, principal) ||
        !sl_acl_host_covers(a->host, host)) {
        return;
    }
    if (a->permission == SL_ACL_PERM_DENY) {
        if (a->operation == SL_ACL_OP_ALL || a->operation == (int8_t)op) {
            v->denied = true; /* deny wins */
        }
    } else if (sl_acl_op_implies(a->operation, op)) {
        v->allowed = true;
    }
}

/* The decision, lock held. */
static bool
sl_acl_decide(sl_acl_store_t *s, const char *principal, const char *host,
              sl_acl_op_e op, sl_acl_res_e rtype, const char *name)
{
    sl_acl_verdict_t v = {false, false, false};
    size_t i;
    int32_t k;

    if (!s->indexed) {
        for (i = 0; i < s->n && !v.denied; i++) {
            sl_acl_apply(&s->v[i].a, principal, host, op, rtype, name, &v);
        }
    } else {
        k = s->head[sl_acl_hash((int8_t)rtype, name) & s->mask];
        for (; k >= 0 && !v.denied; k = s->next[k]) {
            sl_acl_apply(&s->v[k].a, principal, host, op, rtype, name, &v);
        }
        for (i = 0; i < s->nwide && !v.denied; i++) {
            sl_acl_apply(&s->v[s->wide[i]].a, principal, host, op, rtype, name,
                         &v);
        }
    }
    if (v.denied) {
        return false;
    }
    return v.any ? v.allowed : s->allow_everyone;
}

bool
sl_acl_authorize(sl_acl_store_t *s, const char *principal, const char *host,
                 sl_acl_op_e op, sl_acl_res_e rtype, const char *name)
{
    bool ok;

    if (sl_acl_is_super(s, principal)) {
        return true;
    }
    pthread_rwlock_rdlock(&s->lock);
    ok = sl_acl_decide(s, principal, host, op, rtype, name);
    pthread_rwlock_unlock(&s->lock);
    return ok;
}

/* Does DENY <d> cover every resource ALLOW <a> names? */
static bool
sl_acl_deny_dominates(const sl_acl_t *d, const sl_acl_t *a)
{
    if (d->pattern_type == SL_ACL_PAT_LITERAL) {
        return strcmp(d->name, "*") == 0 ||
               (a->pattern_type == SL_ACL_PAT_LITERAL &&
                strcmp(d->name, a->name) == 0);
    }
    /* A prefixed deny covers names (and prefixes) it is a prefix of. */
    return strncmp(d->name, a->name, strlen(d->name)) == 0 &&
           strcmp(a->name, "*") != 0;
}

bool
sl_acl_authorize_any(sl_acl_store_t *s, const char *principal, const char *host,
                     sl_acl_op_e op, sl_acl_res_e rtype)
{
    bool ok = false, any = false;

    if (sl_acl_is_super(s, principal)) {
        return true;
    }
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n && !ok; i++) {
        const sl_acl_t *a = &s->v[i].a;
        bool denied = false;

        if (a->resource_type != (int8_t)rtype) {
            continue;
        }
        any = true;
        if (a->permission != SL_ACL_PERM_ALLOW ||
            !sl_acl_principal_covers(a->principal, principal) ||
            !sl_acl_host_covers(a->host, host) ||
            !sl_acl_op_implies(a->operation, op)) {
            continue;
        }
        for (size_t j = 0; j < s->n && !denied; j++) {
            const sl_acl_t *d = &s->v[j].a;

            denied =
                d->resource_type == (int8_t)rtype &&
                d->permission == SL_ACL_PERM_DENY &&
                (d->operation == SL_ACL_OP_ALL || d->operation == (int8_t)op) &&
                sl_acl_principal_covers(d->principal, principal) &&
                sl_acl_host_covers(d->host, host) &&
                sl_acl_deny_dominates(d, a);
        }
        ok = !denied;
    }
    if (!any) {
        ok = s->allow_everyone;
    }
    pthread_rwlock_unlock(&s->lock);
    return ok;
}

int32_t
sl_acl_authorized_ops(sl_acl_store_t *s, const char *principal,
                      const char *host, sl_acl_res_e rtype, const char *name)
{
    static const int8_t topic_ops[] = {SL_ACL_OP_READ,
                                       SL_ACL_OP_WRITE,
                                       SL_ACL_OP_CREATE,
                                       SL_ACL_OP_DELETE,
                                       SL_ACL_OP_ALTER,
                                       SL_ACL_OP_DESCRIBE,
                                       SL_ACL_OP_DESCRIBE_CONFIGS,
                                       SL_ACL_OP_ALTER_CONFIGS};
    static const int8_t group_ops[] = {SL_ACL_OP_READ, SL_ACL_OP_DELETE,
                                       SL_ACL_OP_DESCRIBE};
    static const int8_t cluster_ops[] = {
        SL_ACL_OP_CREATE,           SL_ACL_OP_CLUSTER_ACTION,
        SL_ACL_OP_DESCRIBE_CONFIGS, SL_ACL_OP_ALTER_CONFIGS,
        SL_ACL_OP_IDEMPOTENT_WRITE, SL_ACL_OP_ALTER,
        SL_ACL_OP_DESCRIBE};
    const int8_t *ops;
    size_t n;
    int32_t bits = 0;
    bool super = sl_acl_is_super(s, principal);

    switch (rtype) {
    case SL_ACL_RES_TOPIC:
        ops = topic_ops, n = sizeof(topic_ops);
        break;
    case SL_ACL_RES_GROUP:
        ops = group_ops, n = sizeof(group_ops);
        break;
    case SL_ACL_RES_CLUSTER:
        ops = cluster_ops, n = sizeof(cluster_ops);
        break;
    default:
        return 0;
    }
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        if (super || sl_acl_decide(s, principal, host, (sl_acl_op_e)ops[i],
                                   rtype, name)) {
            bits |= (int32_t)1 << ops[i];
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return bits;
}

/* ---- validation and filters -------------------------------------------- */

sl_err_t
sl_acl_validate(const sl_acl_t *acl, const char **why)
{
    const char *colon;

    *why = NULL;
    if (acl->resource_type <= SL_ACL_RES_ANY ||
        acl->resource_type > SL_ACL_RES_USER) {
        *why = "Invalid resource type";
    } else if (acl->pattern_type != SL_ACL_PAT_LITERAL &&
               acl->pattern_type != SL_ACL_PAT_PREFIXED) {
        *why = "Invalid pattern type: only LITERAL and PREFIXED ACLs can be "
               "created";
    } else if (acl->operation <= SL_ACL_OP_ANY ||
               acl->operation > SL_ACL_OP_DESCRIBE_TOKENS) {
        *why = "Invalid operation";
    } else if (acl->permission != SL_ACL_PERM_DENY &&
               acl->permission != SL_ACL_PERM_ALLOW) {
        *why = "Invalid permission type";
    } else if (acl->name == NULL || acl->name[0] == '\0') {
        *why = "Invalid empty resource name specified";
    } else if (acl->resource_type == SL_ACL_RES_CLUSTER &&
               strcmp(acl->name, SL_ACL_CLUSTER_NAME) != 0) {
        *why = "The only valid name for the CLUSTER resource is "
               "kafka-cluster";
    } else if (acl->principal == NULL ||
               (colon = strchr(acl->principal, ':')) == NULL ||
               colon == acl->principal || colon[1] == '\0') {
        *why = "Invalid principal: expected <type>:<name>";
    } else if (acl->host == NULL || acl->host[0] == '\0') {
        *why = "Invalid host";
    }
    return *why == NULL ? SL_OK : SL_ERR_INVALID_REQUEST;
}

sl_err_t
sl_acl_filter_validate(const sl_acl_t *f, const char **why)
{
    *why = NULL;
    if (f->resource_type <= SL_ACL_RES_UNKNOWN ||
        f->resource_type > SL_ACL_RES_USER) {
        *why = "Invalid resource type filter";
    } else if (f->pattern_type <= SL_ACL_PAT_UNKNOWN ||
               f->pattern_type > SL_ACL_PAT_PREFIXED) {
        *why = "Invalid pattern type filter";
    } else if (f->operation <= SL_ACL_OP_UNKNOWN ||
               f->operation > SL_ACL_OP_DESCRIBE_TOKENS) {
        *why = "Invalid operation filter";
    } else if (f->permission <= SL_ACL_PERM_UNKNOWN ||
               f->permission > SL_ACL_PERM_ALLOW) {
        *why = "Invalid permission type filter";
    }
    return *why == NULL ? SL_OK : SL_ERR_INVALID_REQUEST;
}

bool
sl_acl_filter_matches(const sl_acl_t *f, const sl_acl_t *acl)
{
    if (f->resource_type != SL_ACL_RES_ANY &&
        f->resource_type != acl->resource_type) {
        return false;
    }
    if (f->pattern_type != SL_ACL_PAT_ANY &&
        f->pattern_type != SL_ACL_PAT_MATCH &&
        f->pattern_type != acl->pattern_type) {
        return false;
    }
    if (f->name != NULL) {
        if (f->pattern_type == SL_ACL_PAT_MATCH) {
            if (!sl_acl_pattern_covers(acl, f->name)) {
                return false;
            }
        } else if (strcmp(f->name, acl->name) != 0) {
            return false;
        }
    }
    if (f->principal != NULL && strcmp(f->principal, acl->principal) != 0) {
        return false;
    }
    if (f->host != NULL && strcmp(f->host, acl->host) != 0) {
        return false;
    }
    if (f->operation != SL_ACL_OP_ANY && f->operation != acl->operation) {
        return false;
    }
    return f->permission == SL_ACL_PERM_ANY || f->permission == acl->permission;
}

/* ---- table ------------------------------------------------------------- */

void
sl_acl_entry_free(sl_acl_entry_t *e)
{
    free((char *)e->a.name);
    free((char *)e->a.principal);
    free((char *)e->a.host);
}

static bool
sl_acl_same(const sl_acl_t *x, const sl_acl_t *y)
{
    return x->resource_type == y->resource_type &&
           x->pattern_type == y->pattern_type && x->operation == y->operation &&
           x->permission == y->permission && strcmp(x->name, y->name) == 0 &&
           strcmp(x->principal, y->principal) == 0 &&
           strcmp(x->host, y->host) == 0;
}

/* Append a copy of <a> (lock held). */
sl_err_t
sl_acl_push(sl_acl_store_t *s, const sl_acl_t *a)
{
    sl_acl_entry_t *e;

    if (s->n == s->cap) {
        size_t cap = s->cap != 0 ? s->cap * 2 : 16;
        sl_acl_entry_t *v = realloc(s->v, cap * sizeof(*v));

        if (v == NULL) {
            return SL_ERR__NOMEM;
        }
        s->v = v;
        s->cap = cap;
    }
    e = &s->v[s->n];
    e->a = *a;
    e->a.name = strdup(a->name);
    e->a.principal = strdup(a->principal);
    e->a.host = strdup(a->host);
    if (e->a.name == NULL || e->a.principal == NULL || e->a.host == NULL) {
        sl_acl_entry_free(e);
        return SL_ERR__NOMEM;
    }
    s->n++;
    return SL_OK;
}

/* Split super.users into s->supers. */
static sl_err_t
sl_acl_parse_supers(sl_acl_store_t *s, const char *list)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        const char *e = strchr(p, ';');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        const char *b = p;
        char **v;

        while (n > 0 && (*b == ' ' || *b == '\t')) {
            b++, n--;
        }
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t')) {
            n--;
        }
        if (n > 0) {
            v = realloc(s->supers, (s->nsupers + 1) * sizeof(*v));
            if (v == NULL) {
                return SL_ERR__NOMEM;
            }
            s->supers = v;
            s->supers[s->nsupers] = strndup(b, n);
            if (s->supers[s->nsupers] == NULL) {
                return SL_ERR__NOMEM;
            }
            s->nsupers++;
        }
        p = e != NULL ? e + 1 : NULL;
    }
    return SL_OK;
}

sl_err_t
sl_acl_store_open(const char *data_dir, const char *super_users,
                  bool allow_everyone_if_no_acl, sl_acl_store_t **out)
{
    sl_acl_store_t *s = calloc(1, sizeof(*s));
    sl_err_t err;

    *out = NULL;
    if (s == NULL) {
        return SL_ERR__NOMEM;
    }
    pthread_rwlock_init(&s->lock, NULL);
    s->allow_everyone = allow_everyone_if_no_acl;
    err = sl_acl_parse_supers(s, super_users);
    if (err == SL_OK && data_dir != NULL) {
        size_t n =
            strlen(data_dir) + sizeof(SL_ACL_SUBDIR) + sizeof(SL_ACL_FILE) + 2;

        s->path = malloc(n);
        if (s->path == NULL) {
            err = SL_ERR__NOMEM;
        } else {
            snprintf(s->path, n, "%s/%s", data_dir, SL_ACL_SUBDIR);
            if (mkdir(s->path, 0755) != 0 && errno != EEXIST) {
                sl_log_error("acl", "cannot create dir=%s errno=%d", s->path,
                             errno);
                err = SL_ERR__IO;
            }
            snprintf(s->path, n, "%s/%s/%s", data_dir, SL_ACL_SUBDIR,
                     SL_ACL_FILE);
        }
        if (err == SL_OK) {
            err = sl_acl_load(s);
        }
    }
    if (err != SL_OK) {
        sl_acl_store_close(s);
        return err;
    }
    sl_acl_reindex(s);
    *out = s;
    return SL_OK;
}

void
sl_acl_store_close(sl_acl_store_t *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        sl_acl_entry_free(&s->v[i]);
    }
    for (size_t i = 0; i < s->nsupers; i++) {
        free(s->supers[i]);
    }
    free(s->supers);
    free(s->v);
    free(s->path);
    free(s->head);
    free(s->next);
    free(s->wide);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

sl_err_t
sl_acl_store_add(sl_acl_store_t *s, const sl_acl_t *acls, size_t n)
{
    size_t before;
    sl_err_t err = SL_OK;

    pthread_rwlock_wrlock(&s->lock);
    before = s->n;
    for (size_t i = 0; i < n && err == SL_OK; i++) {
        bool dup = false;

        for (size_t j = 0; j < s->n && !dup; j++) {
            dup = sl_acl_same(&s->v[j].a, &acls[i]);
        }
        if (!dup) {
            err = sl_acl_push(s, &acls[i]);
        }
    }
    if (err == SL_OK && s->n != before) {
        err = sl_acl_save(s, NULL);
    }
    if (err != SL_OK) {
        while (s->n > before) {
            sl_acl_entry_free(&s->v[--s->n]);
        }
    }
    sl_acl_reindex(s);
    pthread_rwlock_unlock(&s->lock);
    return err;
}

void
sl_acl_store_each(sl_acl_store_t *s, const sl_acl_t *f,
                  void (*cb)(void *arg, const sl_acl_t *acl), void *arg)
{
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (sl_acl_filter_matches(f, &s->v[i].a)) {
            cb(arg, &s->v[i].a);
        }
    }
    pthread_rwlock_unlock(&s->lock);
}

sl_err_t
sl_acl_store_remove(sl_acl_store_t *s, const sl_acl_t *filters, size_t n,
                    void (*cb)(void *arg, size_t filter, const sl_acl_t *acl),
                    void *arg)
{
    bool *keep;
    size_t i, j, w, removed = 0;
    sl_err_t err = SL_OK;

    pthread_rwlock_wrlock(&s->lock);
    keep = malloc((s->n + 1) * sizeof(*keep));
    if (keep == NULL) {
        pthread_rwlock_unlock(&s->lock);
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < s->n; i++) {
        keep[i] = true;
        for (j = 0; j < n && keep[i]; j++) {
            keep[i] = !sl_acl_filter_matches(&filters[j], &s->v[i].a);
        }
        removed += keep[i] ? 0 : 1;
    }
    if (removed > 0) {
        err = sl_acl_save(s, keep);
    }
    if (err == SL_OK) {
        for (j = 0; j < n && cb != NULL; j++) {
            for (i = 0; i < s->n; i++) {
                if (!keep[i] &&
                    sl_acl_filter_matches(&filters[j], &s->v[i].a)) {
                    cb(arg, j, &s->v[i].a);
                }
            }
        }
        for (i = 0, w = 0; i < s->n; i++) {
            if (keep[i]) {
                s->v[w++] = s->v[i];
            } else {
                sl_acl_entry_free(&s->v[i]);
            }
        }
        s->n = w;
        sl_acl_reindex(s);
    }
    free(keep);
    pthread_rwlock_unlock(&s->lock);
    return err;
}

size_t
sl_acl_store_count(sl_acl_store_t *s)
{
    size_t n;

    pthread_rwlock_rdlock(&s->lock);
    n = s->n;
    pthread_rwlock_unlock(&s->lock);
    return n;
}
