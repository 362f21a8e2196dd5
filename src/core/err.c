/*
 * core/err.c: error names, retriability and the wire mapping.
 * Owns: the static name table. Thread-safe.
 */
#include "core/err.h"

#include <stddef.h>

#include "core/log.h"

typedef struct {
    sl_err_t code;
    const char *name;
    bool retriable;
} sl_err_desc_t;

static const sl_err_desc_t sl_err_descs[] = {
#define SL_ERRCODE(code, name, retriable) {(code), #name, (retriable)},
#include "proto/gen/error_codes.def"
#undef SL_ERRCODE
};

static const sl_err_desc_t *
sl_err_find(sl_err_t err)
{
    size_t i;

    for (i = 0; i < sizeof(sl_err_descs) / sizeof(sl_err_descs[0]); i++) {
        if (sl_err_descs[i].code == err) {
            return &sl_err_descs[i];
        }
    }
    return NULL;
}

const char *
sl_err_name(sl_err_t err)
{
    const sl_err_desc_t *d;

    switch (err) {
    case SL_ERR__AGAIN:
        return "_AGAIN";
    case SL_ERR__NOMEM:
        return "_NOMEM";
    case SL_ERR__IO:
        return "_IO";
    case SL_ERR__CORRUPT:
        return "_CORRUPT";
    case SL_ERR__PROTO:
        return "_PROTO";
    case SL_ERR__CLOSED:
        return "_CLOSED";
    case SL_ERR__INVAL:
        return "_INVAL";
    case SL_ERR__NOENT:
        return "_NOENT";
    case SL_ERR__TOOBIG:
        return "_TOOBIG";
    case SL_ERR__UNSUPPORTED:
        return "_UNSUPPORTED";
    default:
        break;
    }
    d = sl_err_find(err);
    return d != NULL ? d->name : "UNKNOWN";
}

bool
sl_err_retriable(sl_err_t err)
{
    const sl_err_desc_t *d = sl_err_find(err);

    return d != NULL && d->retriable;
}

int16_t
sl_err_to_wire(sl_err_t err)
{
    if (err >= -1 && err <= INT16_MAX) {
        return (int16_t)err;
    }
    switch (err) {
    case SL_ERR__IO:
        return (int16_t)SL_ERR_KAFKA_STORAGE_ERROR;
    case SL_ERR__CORRUPT:
        return (int16_t)SL_ERR_CORRUPT_MESSAGE;
    case SL_ERR__TOOBIG:
        return (int16_t)SL_ERR_MESSAGE_TOO_LARGE;
    default:
        return (int16_t)SL_ERR_UNKNOWN_SERVER_ERROR;
    }
}

void
sl_err_trap(const char *file, int line, sl_err_t err)
{
    sl_log_debug("err", "bad input origin=%s:%d err=%s", file, line,
                 sl_err_name(err));
}
