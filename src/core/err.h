/*
 * core/err.h: the one error type of Sluice.
 *
 * sl_err_t is an int32. 0 (SL_OK) is success. Positive values are Kafka wire
 * error codes, generated from protocol/errors.def into
 * src/proto/gen/error_codes.def (SL_ERR_<NAME>). Negative values are local
 * and are never sent on the wire; sl_err_to_wire() maps them.
 *
 * Owns: nothing. Thread-safe: all functions are pure.
 */
#ifndef SL_CORE_ERR_H
#define SL_CORE_ERR_H

#include <stdbool.h>
#include <stdint.h>

typedef int32_t sl_err_t;

#define SL_OK 0

/* Kafka wire codes: SL_ERR_<NAME> = code (UNKNOWN_SERVER_ERROR is -1 on the
 * wire; it is the only negative wire code and is mapped specially). */
enum sl_err_wire_e {
#define SL_ERRCODE(code, name, retriable) SL_ERR_##name = (code),
#include "proto/gen/error_codes.def"
#undef SL_ERRCODE
};

/* Local errors: never on the wire. Kept well below -1 so that they cannot
 * collide with UNKNOWN_SERVER_ERROR (-1). */
enum sl_err_local_e {
    SL_ERR__AGAIN = -1000,   /* try again later (would block) */
    SL_ERR__NOMEM = -1001,   /* allocation failed or arena cap reached */
    SL_ERR__IO = -1002,      /* file or socket I/O failed */
    SL_ERR__CORRUPT = -1003, /* bytes on disk or in a batch are inconsistent */
    SL_ERR__PROTO = -1004,   /* malformed wire bytes */
    SL_ERR__CLOSED = -1005,  /* peer closed or object shut down */
    SL_ERR__INVAL = -1006,   /* invalid argument from a caller */
    SL_ERR__NOENT = -1007,   /* not found */
    SL_ERR__TOOBIG = -1008,  /* a size limit was exceeded */
    SL_ERR__UNSUPPORTED = -1009, /* codec or feature not available */
};

/* Name of an error, wire or local ("NONE" for 0, "UNKNOWN" otherwise). */
const char *sl_err_name(sl_err_t err);

/* Whether Kafka marks a wire error as retriable. False for local errors. */
bool sl_err_retriable(sl_err_t err);

/*
 * Map an error to the int16 Kafka puts in error_code fields. Local errors map
 * to the nearest Kafka code: __IO to KAFKA_STORAGE_ERROR, __CORRUPT to
 * CORRUPT_MESSAGE, __TOOBIG to MESSAGE_TOO_LARGE, others to
 * UNKNOWN_SERVER_ERROR.
 */
int16_t sl_err_to_wire(sl_err_t err);

/* Breakpoint target for SL_CORRUPT()/SL_PROTO_ERR(): set a breakpoint here to
 * stop at the origin of bad-input errors. */
void sl_err_trap(const char *file, int line, sl_err_t err);

#define SL_CORRUPT()                                                           \
    (sl_err_trap(__FILE__, __LINE__, SL_ERR__CORRUPT), SL_ERR__CORRUPT)
#define SL_PROTO_ERR()                                                         \
    (sl_err_trap(__FILE__, __LINE__, SL_ERR__PROTO), SL_ERR__PROTO)

#endif
