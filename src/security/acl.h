/*
 * security/acl.h: the ACL authoriser, in Kafka's model.
 *
 * An ACL binds a resource pattern (resource type, name, pattern type
 * LITERAL or PREFIXED; the LITERAL name "*" matches every resource of its
 * type) to an entry (principal such as "User:alice" or "User:*", host "*"
 * or an exact IP, operation, ALLOW or DENY). A request by <principal> from
 * <host> for <operation> on a resource is:
 *   - allowed for a super user (super.users, ';'-separated principals);
 *   - otherwise, when no ACL at all matches the resource: allowed only if
 *     allow.everyone.if.no.acl.found;
 *   - denied when a matching DENY names the operation or ALL;
 *   - allowed when a matching ALLOW names the operation, ALL, or an
 *     operation that implies it (READ, WRITE, DELETE, ALTER imply DESCRIBE;
 *     ALTER_CONFIGS implies DESCRIBE_CONFIGS);
 *   - denied otherwise.
 * Enum values are Kafka's wire codes.
 *
 * Store file (<data dir>/__sluice_metadata/acls), ASCII, lines end with
 * '\n', fields separated by one space, strings as 'x' followed by the hex
 * of their bytes (so "x" is the empty string):
 *   sluice-acls 1
 *   acl <resource type> <pattern type> <operation> <permission>
 *       <name> <principal> <host>             (one line per ACL)
 *   end <count>
 * Written whole to a temporary file, fsynced, renamed, directory fsynced.
 * Any deviation on load is SL_ERR__CORRUPT.
 *
 * Owns: the store's ACL table and policy (under its rwlock).
 * Thread: any; every function takes the lock it needs.
 */
#ifndef SL_SECURITY_ACL_H
#define SL_SECURITY_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Kafka's ResourceType codes. */
typedef enum sl_acl_res_e {
    SL_ACL_RES_UNKNOWN = 0,
    SL_ACL_RES_ANY = 1,
    SL_ACL_RES_TOPIC = 2,
    SL_ACL_RES_GROUP = 3,
    SL_ACL_RES_CLUSTER = 4,
    SL_ACL_RES_TRANSACTIONAL_ID = 5,
    SL_ACL_RES_DELEGATION_TOKEN = 6,
    SL_ACL_RES_USER = 7,
} sl_acl_res_e;

/* Kafka's PatternType codes. */
typedef enum sl_acl_pat_e {
    SL_ACL_PAT_UNKNOWN = 0,
    SL_ACL_PAT_ANY = 1,
    SL_ACL_PAT_MATCH = 2,
    SL_ACL_PAT_LITERAL = 3,
    SL_ACL_PAT_PREFIXED = 4,
} sl_acl_pat_e;

/* Kafka's AclOperation codes. */
typedef enum sl_acl_op_e {
    SL_ACL_OP_UNKNOWN = 0,
    SL_ACL_OP_ANY = 1,
    SL_ACL_OP_ALL = 2,
    SL_ACL_OP_READ = 3,
    SL_ACL_OP_WRITE = 4,
    SL_ACL_OP_CREATE = 5,
    SL_ACL_OP_DELETE = 6,
    SL_ACL_OP_ALTER = 7,
    SL_ACL_OP_DESCRIBE = 8,
    SL_ACL_OP_CLUSTER_ACTION = 9,
    SL_ACL_OP_DESCRIBE_CONFIGS = 10,
    SL_ACL_OP_ALTER_CONFIGS = 11,
    SL_ACL_OP_IDEMPOTENT_WRITE = 12,
    SL_ACL_OP_CREATE_TOKENS = 13,
    SL_ACL_OP_DESCRIBE_TOKENS = 14,
} sl_acl_op_e;

/* Kafka's AclPermissionType codes. */
typedef enum sl_acl_perm_e {
    SL_ACL_PERM_UNKNOWN = 0,
    SL_ACL_PERM_ANY = 1,
    SL_ACL_PERM_DENY = 2,
    SL_ACL_PERM_ALLOW = 3,
} sl_acl_perm_e;

/* The name of the one CLUSTER resource. */
#define SL_ACL_CLUSTER_NAME "kafka-cluster"

/* One ACL binding, or (with NULL strings meaning "any") a filter. Strings
 * are NUL-terminated; the caller owns them. */
typedef struct sl_acl_s {
    int8_t resource_type;
    int8_t pattern_type;
    int8_t operation;
    int8_t permission;
    const char *name;
    const char *principal;
    const char *host;
} sl_acl_t;

typedef struct sl_acl_store_s sl_acl_store_t;

/*
 * Is <class_name> (authorizer.class.name) an authoriser we provide? Empty
 * or NULL: no authorisation (*enabled = false). Kafka's StandardAuthorizer
 * and AclAuthorizer class names and "sluice": *enabled = true.
 * @returns SL_OK, or SL_ERR__INVAL for any other name.
 */
sl_err_t sl_acl_parse_class(const char *class_name, bool *enabled);

/*
 * Open (or create empty) the store under <data_dir> (NULL: in memory only,
 * for tests). <super_users> is super.users (';'-separated, may be NULL).
 * @returns SL_OK, SL_ERR__CORRUPT (damaged file, logged), SL_ERR__IO,
 * SL_ERR__NOMEM. @thread main
 */
sl_err_t sl_acl_store_open(const char *data_dir, const char *super_users,
                           bool allow_everyone_if_no_acl, sl_acl_store_t **out);
void sl_acl_store_close(sl_acl_store_t *s);

/* Is <principal> in super.users? */
bool sl_acl_is_super(sl_acl_store_t *s, const char *principal);

/*
 * May <principal> from <host> (numeric IP) perform <op> on resource
 * <rtype>/<name>? See the file head for the rules.
 */
bool sl_acl_authorize(sl_acl_store_t *s, const char *principal,
                      const char *host, sl_acl_op_e op, sl_acl_res_e rtype,
                      const char *name);

/*
 * May <principal> perform <op> on at least one resource of type <rtype>
 * (Kafka's authorizeByResourceType, used for IDEMPOTENT_WRITE): an ALLOW
 * for it that no DENY covers, or no ACL of that type at all when
 * allow.everyone.if.no.acl.found.
 */
bool sl_acl_authorize_any(sl_acl_store_t *s, const char *principal,
                          const char *host, sl_acl_op_e op, sl_acl_res_e rtype);

/* Bit set (1 << op) of the operations of <rtype>'s kind that <principal>
 * may perform on <rtype>/<name> (the authorized-operations fields). */
int32_t sl_acl_authorized_ops(sl_acl_store_t *s, const char *principal,
                              const char *host, sl_acl_res_e rtype,
                              const char *name);

/* Is <acl> a valid binding to create (definite types, LITERAL or
 * PREFIXED, "Type:name" principal, non-empty name, kafka-cluster for
 * CLUSTER)? @returns SL_OK or SL_ERR_INVALID_REQUEST with *why set. */
sl_err_t sl_acl_validate(const sl_acl_t *acl, const char **why);
/* Is <f> a valid filter (no UNKNOWN field)? @returns SL_OK or
 * SL_ERR_INVALID_REQUEST with *why set. */
sl_err_t sl_acl_filter_validate(const sl_acl_t *f, const char **why);
/* Does filter <f> match binding <acl> (Kafka's AclBindingFilter)? */
bool sl_acl_filter_matches(const sl_acl_t *f, const sl_acl_t *acl);

/*
 * Add <n> validated bindings (existing identical ones are kept once) and
 * persist. @returns SL_OK, or SL_ERR__IO / __NOMEM with nothing changed.
 */
sl_err_t sl_acl_store_add(sl_acl_store_t *s, const sl_acl_t *acls, size_t n);

/* Call <cb> for every binding matching <f>, under the read lock. */
void sl_acl_store_each(sl_acl_store_t *s, const sl_acl_t *f,
                       void (*cb)(void *arg, const sl_acl_t *acl), void *arg);

/*
 * Remove every binding matching any of the <n> filters and persist; once
 * that succeeded, <cb> gets each removed binding with the index of every
 * filter that matched it (once per filter), under the write lock.
 * @returns SL_OK, or SL_ERR__IO / __NOMEM with nothing removed.
 */
sl_err_t
sl_acl_store_remove(sl_acl_store_t *s, const sl_acl_t *filters, size_t n,
                    void (*cb)(void *arg, size_t filter, const sl_acl_t *acl),
                    void *arg);

/* Number of bindings. */
size_t sl_acl_store_count(sl_acl_store_t *s);

#endif
