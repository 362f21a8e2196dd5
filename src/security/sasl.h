/*
 * security/sasl.h: SASL mechanisms on the broker side, independent of the
 * wire: the PLAIN users of a listener (from Kafka's PlainLoginModule JAAS
 * line) and the parsing and checking of PLAIN tokens (RFC 4616).
 *
 * Owns: the user table (sl_sasl_users_t), immutable once parsed, so any
 * thread may read it.
 */
#ifndef SL_SECURITY_SASL_H
#define SL_SECURITY_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct sl_sasl_users_s sl_sasl_users_t;

/*
 * Parse a JAAS configuration line of PlainLoginModule, e.g.
 *   org.apache.kafka.common.security.plain.PlainLoginModule required
 *   username="admin" password="admin-secret" user_admin="admin-secret"
 *   user_alice="alice-secret";
 * Every user_<name>="<password>" option is a user; other options are
 * ignored. Values are double-quoted with \" and \\ escapes, or bare words.
 * @returns the table (possibly empty), or NULL with *why set when the line
 * is malformed or memory runs out.
 */
sl_sasl_users_t *sl_sasl_users_parse(const char *jaas, const char **why);

void sl_sasl_users_free(sl_sasl_users_t *u);

/* Number of users in the table. */
size_t sl_sasl_users_count(const sl_sasl_users_t *u);

/*
 * Whether <user> exists with password <pw> (<pwlen> bytes). The password
 * comparison takes the same time whatever the bytes.
 */
bool sl_sasl_users_check(const sl_sasl_users_t *u, const char *user,
                         const uint8_t *pw, size_t pwlen);

/*
 * The value of option <name> of the JAAS line <jaas> (any login module,
 * e.g. keyTab and principal of Krb5LoginModule) into <out>.
 * @returns false when absent, malformed or longer than <cap> - 1.
 */
bool sl_sasl_jaas_option(const char *jaas, const char *name, char *out,
                         size_t cap);

/* The parts of a PLAIN message: authzid NUL authcid NUL passwd. */
typedef struct sl_sasl_plain_s {
    char authzid[256];
    char authcid[256];
    const uint8_t *passwd; /* into the parsed bytes */
    size_t passwd_len;
} sl_sasl_plain_t;

/*
 * Parse the client's PLAIN message <p>/<len> (hostile bytes). The authcid
 * must be non-empty, every part at most 255 bytes and free of NULs beyond
 * the two separators, and the password non-empty.
 * @returns SL_OK, or SL_ERR__PROTO with *why set.
 */
sl_err_t sl_sasl_plain_parse(const uint8_t *p, size_t len, sl_sasl_plain_t *out,
                             const char **why);

#endif
