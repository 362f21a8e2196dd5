/*
 * security/acl_int.h: what acl.c (rules, table, index) and acl_file.c (the
 * store file) share: the store's layout. Not for other modules.
 */
#ifndef SL_SECURITY_ACL_INT_H
#define SL_SECURITY_ACL_INT_H

#include <pthread.h>

#include "security/acl.h"

#define SL_ACL_SUBDIR "__sluice_metadata"
#define SL_ACL_FILE "acls"
#define SL_ACL_MAX_FILE (64u << 20)
#define SL_ACL_MAX_STR 32767 /* a wire string */

typedef struct sl_acl_entry_s {
    sl_acl_t a; /* strings owned */
} sl_acl_entry_t;

struct sl_acl_store_s {
    pthread_rwlock_t lock;
    char *path; /* NULL: in memory */
    sl_acl_entry_t *v;
    size_t n, cap;
    /* Index over v: literal names (not "*") hashed by type and name into
     * chains (head[hash & mask], next[i], -1 ends), the rest in wide[].
     * Without an index (out of memory) checks scan v. */
    int32_t *head, *next, *wide;
    size_t nwide, mask;
    bool indexed;
    char **supers;
    size_t nsupers;
    bool allow_everyone;
};

/* Free an entry's strings. */
void sl_acl_entry_free(sl_acl_entry_t *e);
/* Append a copy of <a> (lock held). @returns SL_OK or SL_ERR__NOMEM. */
sl_err_t sl_acl_push(sl_acl_store_t *s, const sl_acl_t *a);

/* ---- acl_file.c ---- */

/* Write the entries v[i] whose keep[i] is set (keep NULL: all) to s->path
 * (nothing for an in-memory store): temporary file, fsync, rename, fsync of
 * the directory. @locks the store's lock held. @returns SL_OK, SL_ERR__IO,
 * SL_ERR__NOMEM */
sl_err_t sl_acl_save(sl_acl_store_t *s, const bool *keep);
/* Read s->path into the (not yet shared) table; a missing file is empty.
 * @returns SL_OK, SL_ERR__CORRUPT (logged), SL_ERR__IO, SL_ERR__NOMEM */
sl_err_t sl_acl_load(sl_acl_store_t *s);

#endif
