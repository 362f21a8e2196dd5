/*
 * proto/wire.c: Kafka wire primitives (readers, writers, sizes) for the
 * generated codecs in proto/gen/, plus eq and random helpers for tests.
 *
 * Every read checks the bytes left first and records the first error in the
 * reader; every write checks the room left. Nothing here allocates except
 * through the caller's arena. See wire.h for zero-copy rules.
 *
 * Owns: nothing. Thread-safe.
 */
#include "proto/wire.h"

#include <string.h>

#include "core/varint.h"

/* ---- reader ---------------------------------------------------------- */

void
sl_rd_init(sl_rd_t *rd, const void *buf, size_t len)
{
    rd->p = buf;
    rd->end = len > 0 ? rd->p + len : rd->p; /* NULL + 0 is undefined */
    rd->err = SL_OK;
}

size_t
sl_rd_remaining(const sl_rd_t *rd)
{
    return (size_t)(rd->end - rd->p);
}

sl_err_t
sl_rd_error(const sl_rd_t *rd)
{
    return rd->err;
}

void
sl_rd_fail(sl_rd_t *rd, sl_err_t err)
{
    if (rd->err == SL_OK) {
        rd->err = err;
    }
    rd->p = rd->end;
}

/* Return a pointer to the next <n> bytes and consume them, or NULL (and
 * record SL_ERR__PROTO) when fewer remain or an error is already set. */
static const uint8_t *
sl_rd_take(sl_rd_t *rd, size_t n)
{
    const uint8_t *p;

    if (rd->err != SL_OK) {
        return NULL;
    }
    if (sl_rd_remaining(rd) < n) {
        sl_rd_fail(rd, SL_ERR__PROTO);
        return NULL;
    }
    p = rd->p;
    rd->p += n;
    return p;
}

static uint64_t
sl_rd_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

void
sl_rd_bool(sl_rd_t *rd, bool *out)
{
    const uint8_t *p = sl_rd_take(rd, 1);

    *out = p != NULL && p[0] != 0;
}

void
sl_rd_i8(sl_rd_t *rd, int8_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 1);

    *out = p != NULL ? (int8_t)p[0] : 0;
}

void
sl_rd_i16(sl_rd_t *rd, int16_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 2);

    *out = p != NULL ? (int16_t)(uint16_t)sl_rd_be(p, 2) : 0;
}

void
sl_rd_u16(sl_rd_t *rd, uint16_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 2);

    *out = p != NULL ? (uint16_t)sl_rd_be(p, 2) : 0;
}

void
sl_rd_i32(sl_rd_t *rd, int32_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 4);

    *out = p != NULL ? (int32_t)(uint32_t)sl_rd_be(p, 4) : 0;
}

void
sl_rd_u32(sl_rd_t *rd, uint32_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 4);

    *out = p != NULL ? (uint32_t)sl_rd_be(p, 4) : 0;
}

void
sl_rd_i64(sl_rd_t *rd, int64_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 8);

    *out = p != NULL ? (int64_t)sl_rd_be(p, 8) : 0;
}

void
sl_rd_f64(sl_rd_t *rd, double *out)
{
    const uint8_t *p = sl_rd_take(rd, 8);
    uint64_t u = p != NULL ? sl_rd_be(p, 8) : 0;

    memcpy(out, &u, sizeof(*out));
}

void
sl_rd_uuid(sl_rd_t *rd, sl_uuid_t *out)
{
    const uint8_t *p = sl_rd_take(rd, 16);

    if (p != NULL) {
        memcpy(out->b, p, 16);
    } else {
        memset(out->b, 0, 16);
    }
}

void
sl_rd_uvarint(sl_rd_t *rd, uint32_t *out)
{
    size_t n;

    *out = 0;
    if (rd->err != SL_OK) {
        return;
    }
    n = sl_varint_dec_u32(rd->p, rd->end, out);
    if (n == 0) {
        sl_rd_fail(rd, SL_ERR__PROTO);
        *out = 0;
        return;
    }
    rd->p += n;
}

/* Read a length prefix: classic int16/int32 (-1 null) or compact uvarint
 * N+1 (0 null). Returns -1 for null, -2 on error (already recorded). */
static int64_t
sl_rd_len(sl_rd_t *rd, bool flex, bool wide, bool nullable)
{
    int64_t n;

    if (flex) {
        uint32_t u;

        sl_rd_uvarint(rd, &u);
        n = (int64_t)u - 1;
    } else if (wide) {
        int32_t i;

        sl_rd_i32(rd, &i);
        n = i;
    } else {
        int16_t i;

        sl_rd_i16(rd, &i);
        n = i;
    }
    if (rd->err != SL_OK) {
        return -2;
    }
    if (n < -1 || (n == -1 && !nullable)) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return -2;
    }
    return n;
}

void
sl_rd_string(sl_rd_t *rd, bool flex, bool nullable, sl_str_t *out)
{
    int64_t n = sl_rd_len(rd, flex, false, nullable);
    const uint8_t *p;

    out->ptr = NULL;
    out->len = n == -1 ? -1 : 0;
    if (n <= 0) {
        return;
    }
    if (n > SL_WIRE_STR_MAX) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return;
    }
    p = sl_rd_take(rd, (size_t)n);
    if (p != NULL) {
        out->ptr = (const char *)p;
        out->len = (int32_t)n;
    }
}

void
sl_rd_bytes(sl_rd_t *rd, bool flex, bool nullable, sl_bytes_t *out)
{
    int64_t n = sl_rd_len(rd, flex, true, nullable);
    const uint8_t *p;

    out->ptr = NULL;
    out->len = n == -1 ? -1 : 0;
    if (n <= 0) {
        return;
    }
    if (n > INT32_MAX) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return;
    }
    p = sl_rd_take(rd, (size_t)n);
    if (p != NULL) {
        out->ptr = p;
        out->len = (int32_t)n;
    }
}

int32_t
sl_rd_array_len(sl_rd_t *rd, bool flex, bool nullable)
{
    int64_t n = sl_rd_len(rd, flex, true, nullable);

    if (n == -2) {
        return 0;
    }
    /* Every element takes at least one byte. */
    if (n > (int64_t)sl_rd_remaining(rd) || n > INT32_MAX) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return 0;
    }
    return (int32_t)n;
}

bool
sl_rd_struct_marker(sl_rd_t *rd)
{
    int8_t m;

    sl_rd_i8(rd, &m);
    return m >= 0;
}

void *
sl_rd_alloc(sl_rd_t *rd, sl_arena_t *a, int32_t n, size_t size)
{
    void *p;

    if (rd->err != SL_OK || n <= 0) {
        return NULL;
    }
    p = sl_arena_calloc(a, (size_t)n, size);
    if (p == NULL) {
        sl_rd_fail(rd, SL_ERR__NOMEM);
    }
    return p;
}

static size_t
sl_pt_width(sl_pt_e kind)
{
    switch (kind) {
    case SL_PT_BOOL:
    case SL_PT_I8:
        return 1;
    case SL_PT_I16:
    case SL_PT_U16:
        return 2;
    case SL_PT_I32:
    case SL_PT_U32:
        return 4;
    case SL_PT_I64:
    case SL_PT_F64:
        return 8;
    case SL_PT_UUID:
        return 16;
    case SL_PT_STRING:
        return 1; /* minimum on the wire */
    }
    return 1;
}

static size_t
sl_pt_csize(sl_pt_e kind)
{
    switch (kind) {
    case SL_PT_BOOL:
        return sizeof(bool);
    case SL_PT_I8:
        return 1;
    case SL_PT_I16:
    case SL_PT_U16:
        return 2;
    case SL_PT_I32:
    case SL_PT_U32:
        return 4;
    case SL_PT_I64:
        return 8;
    case SL_PT_F64:
        return sizeof(double);
    case SL_PT_UUID:
        return sizeof(sl_uuid_t);
    case SL_PT_STRING:
        return sizeof(sl_str_t);
    }
    return 1;
}

static void
sl_rd_pelem(sl_rd_t *rd, bool flex, sl_pt_e kind, void *arr, int32_t i)
{
    switch (kind) {
    case SL_PT_BOOL:
        sl_rd_bool(rd, (bool *)arr + i);
        break;
    case SL_PT_I8:
        sl_rd_i8(rd, (int8_t *)arr + i);
        break;
    case SL_PT_I16:
        sl_rd_i16(rd, (int16_t *)arr + i);
        break;
    case SL_PT_U16:
        sl_rd_u16(rd, (uint16_t *)arr + i);
        break;
    case SL_PT_I32:
        sl_rd_i32(rd, (int32_t *)arr + i);
        break;
    case SL_PT_U32:
        sl_rd_u32(rd, (uint32_t *)arr + i);
        break;
    case SL_PT_I64:
        sl_rd_i64(rd, (int64_t *)arr + i);
        break;
    case SL_PT_F64:
        sl_rd_f64(rd, (double *)arr + i);
        break;
    case SL_PT_UUID:
        sl_rd_uuid(rd, (sl_uuid_t *)arr + i);
        break;
    case SL_PT_STRING:
        /* Elements of []string are never null in Kafka's definitions. */
        sl_rd_string(rd, flex, false, (sl_str_t *)arr + i);
        break;
    }
}

void *
sl_rd_parr(sl_rd_t *rd, bool flex, bool nullable, sl_arena_t *a, sl_pt_e kind,
           int32_t *count)
{
    int64_t n = sl_rd_len(rd, flex, true, nullable);
    void *arr;
    int32_t i;

    *count = n == -1 ? -1 : 0;
    if (n <= 0) {
        return NULL;
    }
    if ((uint64_t)n > sl_rd_remaining(rd) / sl_pt_width(kind)) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return NULL;
    }
    arr = sl_rd_alloc(rd, a, (int32_t)n, sl_pt_csize(kind));
    if (arr == NULL) {
        return NULL;
    }
    for (i = 0; i < (int32_t)n && rd->err == SL_OK; i++) {
        sl_rd_pelem(rd, flex, kind, arr, i);
    }
    *count = (int32_t)n;
    return arr;
}

uint32_t
sl_rd_tags_begin(sl_rd_t *rd, sl_arena_t *a, sl_tags_t *tags)
{
    uint32_t n;

    tags->items = NULL;
    tags->count = 0;
    sl_rd_uvarint(rd, &n);
    if (n == 0 || rd->err != SL_OK) {
        return 0;
    }
    /* Each tagged field takes at least two bytes (tag, size). */
    if (n > sl_rd_remaining(rd) / 2) {
        sl_rd_fail(rd, SL_PROTO_ERR());
        return 0;
    }
    tags->items = sl_rd_alloc(rd, a, (int32_t)n, sizeof(sl_tag_t));
    return tags->items != NULL ? n : 0;
}

void
sl_rd_tag(sl_rd_t *rd, uint32_t *tag, sl_rd_t *sub)
{
    uint32_t size;
    const uint8_t *p;

    sl_rd_uvarint(rd, tag);
    sl_rd_uvarint(rd, &size);
    p = sl_rd_take(rd, size);
    if (p == NULL) {
        sl_rd_init(sub, rd->end, 0);
        sub->err = rd->err;
        return;
    }
    sl_rd_init(sub, p, size);
}

void
sl_rd_tag_unknown(sl_tags_t *tags, uint32_t tag, const sl_rd_t *sub)
{
    sl_tag_t *t;

    if (sub->err != SL_OK || tags->items == NULL) {
        return;
    }
    t = &tags->items[tags->count++];
    t->tag = tag;
    t->data.ptr = sub->p;
    t->data.len = (int32_t)sl_rd_remaining(sub);
}

void
sl_rd_tag_end(sl_rd_t *rd, const sl_rd_t *sub)
{
    if (sub->err != SL_OK) {
        sl_rd_fail(rd, sub->err);
    }
}

/* ---- sizes ----------------------------------------------------------- */

size_t
sl_size_uvarint(uint32_t v)
{
    return sl_varint_size_u64(v);
}

size_t
sl_size_string(bool flex, bool nullable, sl_str_t s)
{
    int32_t n = s.len < 0 && !nullable ? 0 : s.len;

    if (flex) {
        return sl_size_uvarint((uint32_t)(n + 1)) + (size_t)(n > 0 ? n : 0);
    }
    return 2 + (size_t)(n > 0 ? n : 0);
}

size_t
sl_size_bytes(bool flex, bool nullable, sl_bytes_t b)
{
    int32_t n = b.len < 0 && !nullable ? 0 : b.len;

    if (flex) {
        return sl_size_uvarint((uint32_t)n + 1u) + (size_t)(n > 0 ? n : 0);
    }
    return 4 + (size_t)(n > 0 ? n : 0);
}

size_t
sl_size_array_len(bool flex, bool nullable, int32_t count)
{
    int32_t n = count < 0 && !nullable ? 0 : count;

    return flex ? sl_size_uvarint((uint32_t)n + 1u) : 4;
}

size_t
sl_size_parr(bool flex, bool nullable, sl_pt_e kind, const void *arr,
             int32_t count)
{
    size_t sz = sl_size_array_len(flex, nullable, count);
    int32_t i;

    if (count <= 0) {
        return sz;
    }
    if (kind != SL_PT_STRING) {
        return sz + (size_t)count * sl_pt_width(kind);
    }
    for (i = 0; i < count; i++) {
        sz += sl_size_string(flex, false, ((const sl_str_t *)arr)[i]);
    }
    return sz;
}

size_t
sl_size_tags(const sl_tags_t *tags)
{
    size_t sz = 0;
    int32_t i;

    for (i = 0; i < tags->count; i++) {
        uint32_t len = (uint32_t)tags->items[i].data.len;

        sz += sl_size_uvarint(tags->items[i].tag) + sl_size_uvarint(len) + len;
    }
    return sz;
}

/* ---- writer ---------------------------------------------------------- */

void
sl_wr_init(sl_wr_t *wr, void *buf, size_t len)
{
    wr->start = buf;
    wr->p = buf;
    wr->end = len > 0 ? wr->p + len : wr->p;
    wr->err = SL_OK;
    wr->external = NULL;
    wr->ext_arg = NULL;
    wr->ext_total = 0;
}

const uint8_t sl_wire_external[1];

sl_err_t
sl_wr_error(const sl_wr_t *wr)
{
    return wr->err;
}

size_t
sl_wr_written(const sl_wr_t *wr)
{
    return (size_t)(wr->p - wr->start);
}

void
sl_wr_fail(sl_wr_t *wr, sl_err_t err)
{
    if (wr->err == SL_OK) {
        wr->err = err;
    }
}

/* Room for <n> more bytes, or NULL (SL_ERR__TOOBIG recorded). */
static uint8_t *
sl_wr_room(sl_wr_t *wr, size_t n)
{
    uint8_t *p;

    if (wr->err != SL_OK) {
        return NULL;
    }
    if ((size_t)(wr->end - wr->p) < n) {
        sl_wr_fail(wr, SL_ERR__TOOBIG);
        return NULL;
    }
    p = wr->p;
    wr->p += n;
    return p;
}

static void
sl_wr_be(sl_wr_t *wr, uint64_t v, size_t n)
{
    uint8_t *p = sl_wr_room(wr, n);
    size_t i;

    if (p == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

void
sl_wr_bool(sl_wr_t *wr, bool v)
{
    sl_wr_be(wr, v ? 1 : 0, 1);
}

void
sl_wr_i8(sl_wr_t *wr, int8_t v)
{
    sl_wr_be(wr, (uint8_t)v, 1);
}

void
sl_wr_i16(sl_wr_t *wr, int16_t v)
{
    sl_wr_be(wr, (uint16_t)v, 2);
}

void
sl_wr_u16(sl_wr_t *wr, uint16_t v)
{
    sl_wr_be(wr, v, 2);
}

void
sl_wr_i32(sl_wr_t *wr, int32_t v)
{
    sl_wr_be(wr, (uint32_t)v, 4);
}

void
sl_wr_u32(sl_wr_t *wr, uint32_t v)
{
    sl_wr_be(wr, v, 4);
}

void
sl_wr_i64(sl_wr_t *wr, int64_t v)
{
    sl_wr_be(wr, (uint64_t)v, 8);
}

void
sl_wr_f64(sl_wr_t *wr, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    sl_wr_be(wr, u, 8);
}

void
sl_wr_uuid(sl_wr_t *wr, const sl_uuid_t *v)
{
    sl_wr_raw(wr, v->b, 16);
}

void
sl_wr_uvarint(sl_wr_t *wr, uint32_t v)
{
    uint8_t *p = sl_wr_room(wr, sl_size_uvarint(v));

    if (p != NULL) {
        sl_varint_enc_u64(p, v);
    }
}

void
sl_wr_raw(sl_wr_t *wr, const void *src, size_t n)
{
    uint8_t *p = sl_wr_room(wr, n);

    if (p != NULL && n > 0) {
        memcpy(p, src, n);
    }
}

/* Length prefix: classic int16/int32 or compact N+1; n == -1 is null. */
static void
sl_wr_len(sl_wr_t *wr, bool flex, bool wide, int32_t n)
{
    if (flex) {
        sl_wr_uvarint(wr, (uint32_t)n + 1u);
    } else if (wide) {
        sl_wr_i32(wr, n);
    } else {
        sl_wr_i16(wr, (int16_t)n);
    }
}

void
sl_wr_string(sl_wr_t *wr, bool flex, bool nullable, sl_str_t s)
{
    int32_t n = s.len < 0 ? (nullable ? -1 : 0) : s.len;

    if (n > SL_WIRE_STR_MAX) {
        sl_wr_fail(wr, SL_ERR__INVAL);
        return;
    }
    sl_wr_len(wr, flex, false, n);
    if (n > 0) {
        sl_wr_raw(wr, s.ptr, (size_t)n);
    }
}

void
sl_wr_bytes(sl_wr_t *wr, bool flex, bool nullable, sl_bytes_t b)
{
    int32_t n = b.len < 0 ? (nullable ? -1 : 0) : b.len;

    sl_wr_len(wr, flex, true, n);
    if (n > 0 && b.ptr == sl_wire_external) {
        if (wr->external == NULL) {
            sl_wr_fail(wr, SL_ERR__INVAL);
            return;
        }
        if (wr->err == SL_OK) {
            wr->external(wr->ext_arg, sl_wr_written(wr), n);
            wr->ext_total += (size_t)n;
        }
    } else if (n > 0) {
        sl_wr_raw(wr, b.ptr, (size_t)n);
    }
}

void
sl_wr_array_len(sl_wr_t *wr, bool flex, bool nullable, int32_t count)
{
    sl_wr_len(wr, flex, true, count < 0 ? (nullable ? -1 : 0) : count);
}

void
sl_wr_parr(sl_wr_t *wr, bool flex, bool nullable, sl_pt_e kind, const void *arr,
           int32_t count)
{
    int32_t i;

    sl_wr_array_len(wr, flex, nullable, count);
    for (i = 0; i < count; i++) {
        switch (kind) {
        case SL_PT_BOOL:
            sl_wr_bool(wr, ((const bool *)arr)[i]);
            break;
        case SL_PT_I8:
            sl_wr_i8(wr, ((const int8_t *)arr)[i]);
            break;
        case SL_PT_I16:
            sl_wr_i16(wr, ((const int16_t *)arr)[i]);
            break;
        case SL_PT_U16:
            sl_wr_u16(wr, ((const uint16_t *)arr)[i]);
            break;
        case SL_PT_I32:
            sl_wr_i32(wr, ((const int32_t *)arr)[i]);
            break;
        case SL_PT_U32:
            sl_wr_u32(wr, ((const uint32_t *)arr)[i]);
            break;
        case SL_PT_I64:
            sl_wr_i64(wr, ((const int64_t *)arr)[i]);
            break;
        case SL_PT_F64:
            sl_wr_f64(wr, ((const double *)arr)[i]);
            break;
        case SL_PT_UUID:
            sl_wr_uuid(wr, (const sl_uuid_t *)arr + i);
            break;
        case SL_PT_STRING:
            sl_wr_string(wr, flex, false, ((const sl_str_t *)arr)[i]);
            break;
        }
    }
}

void
sl_wr_tags_upto(sl_wr_t *wr, const sl_tags_t *tags, int32_t *next,
                uint64_t limit)
{
    while (*next < tags->count && tags->items[*next].tag < limit) {
        const sl_tag_t *t = &tags->items[*next];

        sl_wr_uvarint(wr, t->tag);
        sl_wr_uvarint(wr, (uint32_t)t->data.len);
        sl_wr_raw(wr, t->data.ptr, (size_t)t->data.len);
        (*next)++;
    }
}

/* ---- eq helpers ------------------------------------------------------ */

bool
sl_str_eq(sl_str_t x, sl_str_t y)
{
    if (x.len != y.len) {
        return false;
    }
    return x.len <= 0 || memcmp(x.ptr, y.ptr, (size_t)x.len) == 0;
}

bool
sl_bytes_eq(sl_bytes_t x, sl_bytes_t y)
{
    if (x.len != y.len) {
        return false;
    }
    return x.len <= 0 || memcmp(x.ptr, y.ptr, (size_t)x.len) == 0;
}

bool
sl_uuid_eq(const sl_uuid_t *x, const sl_uuid_t *y)
{
    return memcmp(x->b, y->b, 16) == 0;
}

bool
sl_f64_eq(double x, double y)
{
    return memcmp(&x, &y, sizeof(x)) == 0;
}

bool
sl_tags_eq(const sl_tags_t *x, const sl_tags_t *y)
{
    int32_t i;

    if (x->count != y->count) {
        return false;
    }
    for (i = 0; i < x->count; i++) {
        if (x->items[i].tag != y->items[i].tag ||
            !sl_bytes_eq(x->items[i].data, y->items[i].data)) {
            return false;
        }
    }
    return true;
}

bool
sl_parr_eq(sl_pt_e kind, const void *x, int32_t xn, const void *y, int32_t yn)
{
    int32_t i;

    if (xn != yn) {
        return false;
    }
    if (xn <= 0) {
        return true;
    }
    switch (kind) {
    case SL_PT_STRING:
        for (i = 0; i < xn; i++) {
            if (!sl_str_eq(((const sl_str_t *)x)[i],
                           ((const sl_str_t *)y)[i])) {
                return false;
            }
        }
        return true;
    case SL_PT_BOOL:
        for (i = 0; i < xn; i++) {
            if (((const bool *)x)[i] != ((const bool *)y)[i]) {
                return false;
            }
        }
        return true;
    default:
        return memcmp(x, y, (size_t)xn * sl_pt_csize(kind)) == 0;
    }
}

sl_str_t
sl_str_lit(const char *s)
{
    sl_str_t r = {s, (int32_t)strlen(s)};

    return r;
}

/* ---- random values --------------------------------------------------- */

uint64_t
sl_rand_u64(uint64_t *seed)
{
    uint64_t z = (*seed += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t
sl_rand_int(uint64_t *seed)
{
    uint64_t r = sl_rand_u64(seed);

    switch (r & 7) {
    case 0:
        return 0;
    case 1:
        return -1;
    case 2:
    case 3:
        return (int64_t)((r >> 8) & 0xff);
    default:
        return (int64_t)sl_rand_u64(seed);
    }
}

double
sl_rand_f64(uint64_t *seed)
{
    return (double)(int64_t)(sl_rand_u64(seed) >> 11) / 1024.0;
}

void
sl_rand_uuid(uint64_t *seed, sl_uuid_t *out)
{
    uint64_t hi = sl_rand_u64(seed), lo = sl_rand_u64(seed);

    memcpy(out->b, &hi, 8);
    memcpy(out->b + 8, &lo, 8);
}

void
sl_rand_bytes(sl_arena_t *a, uint64_t *seed, bool nullable, sl_bytes_t *out)
{
    uint64_t r = sl_rand_u64(seed);
    int32_t n = (int32_t)(r % 12);
    uint8_t *p;
    int32_t i;

    out->ptr = NULL;
    out->len = 0;
    if (nullable && (r >> 8) % 4 == 0) {
        out->len = -1;
        return;
    }
    if (n == 0 || (p = sl_arena_alloc(a, (size_t)n)) == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)sl_rand_u64(seed);
    }
    out->ptr = p;
    out->len = n;
}

void
sl_rand_string(sl_arena_t *a, uint64_t *seed, bool nullable, sl_str_t *out)
{
    uint64_t r = sl_rand_u64(seed);
    int32_t n = (int32_t)(r % 10);
    char *p;
    int32_t i;

    out->ptr = NULL;
    out->len = 0;
    if (nullable && (r >> 8) % 4 == 0) {
        out->len = -1;
        return;
    }
    if (n == 0 || (p = sl_arena_alloc(a, (size_t)n)) == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        p[i] = (char)('a' + sl_rand_u64(seed) % 26);
    }
    out->ptr = p;
    out->len = n;
}

void *
sl_rand_array(sl_arena_t *a, uint64_t *seed, bool nullable, size_t size,
              int32_t *count)
{
    uint64_t r = sl_rand_u64(seed);
    int32_t n = (int32_t)(r % 3);
    void *p;

    *count = 0;
    if (nullable && (r >> 8) % 4 == 0) {
        *count = -1;
        return NULL;
    }
    if (n == 0 || (p = sl_arena_calloc(a, (size_t)n, size)) == NULL) {
        return NULL;
    }
    *count = n;
    return p;
}

void *
sl_rand_parr(sl_arena_t *a, uint64_t *seed, bool nullable, sl_pt_e kind,
             int32_t *count)
{
    void *arr = sl_rand_array(a, seed, nullable, sl_pt_csize(kind), count);
    int32_t i;

    for (i = 0; i < *count; i++) {
        int64_t v = sl_rand_int(seed);

        switch (kind) {
        case SL_PT_BOOL:
            ((bool *)arr)[i] = (v & 1) != 0;
            break;
        case SL_PT_I8:
            ((int8_t *)arr)[i] = (int8_t)v;
            break;
        case SL_PT_I16:
            ((int16_t *)arr)[i] = (int16_t)v;
            break;
        case SL_PT_U16:
            ((uint16_t *)arr)[i] = (uint16_t)v;
            break;
        case SL_PT_I32:
            ((int32_t *)arr)[i] = (int32_t)v;
            break;
        case SL_PT_U32:
            ((uint32_t *)arr)[i] = (uint32_t)v;
            break;
        case SL_PT_I64:
            ((int64_t *)arr)[i] = v;
            break;
        case SL_PT_F64:
            ((double *)arr)[i] = sl_rand_f64(seed);
            break;
        case SL_PT_UUID:
            sl_rand_uuid(seed, (sl_uuid_t *)arr + i);
            break;
        case SL_PT_STRING:
            sl_rand_string(a, seed, false, (sl_str_t *)arr + i);
            break;
        }
    }
    return arr;
}

void
sl_rand_tags(sl_arena_t *a, uint64_t *seed, sl_tags_t *tags)
{
    uint64_t r = sl_rand_u64(seed);
    uint32_t tag = 1000;
    int32_t i, n = (int32_t)(r % 8);

    tags->items = NULL;
    tags->count = 0;
    if (n > 2) {
        return;
    }
    n = n + 1 > 2 ? 2 : n + 1;
    tags->items = sl_arena_calloc(a, (size_t)n, sizeof(sl_tag_t));
    if (tags->items == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        tag += 1 + (uint32_t)(sl_rand_u64(seed) % 300);
        tags->items[i].tag = tag;
        sl_rand_bytes(a, seed, false, &tags->items[i].data);
    }
    tags->count = n;
}
