/*
 * security/json.h: a small reader of the JSON that tokens and key sets are
 * made of (JWT headers and claims, JWKS files): the members of one object,
 * the elements of one array, and base64url. Hostile input: every read is
 * bounded by the given length, nesting is capped, nothing is allocated.
 *
 * Owns: nothing; all state is the caller's.
 */
#ifndef SL_SECURITY_JSON_H
#define SL_SECURITY_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sl_json_kind_e {
    SL_JSON_ABSENT = 0,
    SL_JSON_STRING = 1, /* a string that fits str[] */
    SL_JSON_NUMBER = 2,
    SL_JSON_OTHER = 3,    /* object, array, true, false, null */
    SL_JSON_LONG_STR = 4, /* a string longer than str[] holds: see raw */
} sl_json_kind_e;

/* A member asked for by key; filled by sl_json_object(). */
typedef struct sl_json_member_s {
    const char *key;
    sl_json_kind_e kind;
    char str[256];   /* SL_JSON_STRING: the decoded value */
    double num;      /* SL_JSON_NUMBER */
    const char *raw; /* any kind: the value's text (strings with quotes) */
    size_t rawlen;
} sl_json_member_t;

/*
 * Read the object <s>/<n> (one object and white space, nothing else),
 * filling the <nm> members asked for in <m> (kind SL_JSON_ABSENT when
 * missing). @returns false on malformed JSON or a duplicate member asked
 * for.
 */
bool sl_json_object(const char *s, size_t n, sl_json_member_t *m, int nm);

/*
 * Step through the array <s>/<n>: *pos starts at NULL; each call that
 * returns true sets *elem and *elen to the next element's text; false at the
 * end, with *ok telling whether the array was well formed.
 */
bool sl_json_array_next(const char *s, size_t n, const char **pos,
                        const char **elem, size_t *elen, bool *ok);

/* The string value <s>/<n> (with its quotes) decoded into <out>.
 * @returns false when it is not a string or does not fit. */
bool sl_json_str(const char *s, size_t n, char *out, size_t cap);

/* base64url (padding tolerated) into <out>. @returns the length, or -1
 * on a bad character or when <cap> is too small. */
long sl_json_b64url(const char *s, size_t n, uint8_t *out, size_t cap);

#endif
