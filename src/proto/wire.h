/*
 * proto/wire.h: the Kafka wire primitives that generated codecs call.
 *
 * A reader (sl_rd_t) walks an input buffer with a cursor and an end. It keeps
 * the FIRST error it meets; every later read is a no-op that stores zero
 * values, so generated decoders are straight-line code that checks
 * sl_rd_error() once at the end (franz-go kbin style).
 *
 * A writer (sl_wr_t) fills a caller buffer whose length is the message's
 * size(). Every write is bounds-checked; overflow is an error, never a write
 * past the end.
 *
 * Ownership of decoded data:
 *   - strings, bytes, records and unknown tagged-field payloads are ZERO COPY:
 *     they point into the input buffer, which must outlive the decoded
 *     message (the pinned receive buffer of the request).
 *   - arrays (of structs, integers, uuids or strings) and the unknown-tag
 *     tables are allocated from the arena passed to the decoder. Every count
 *     is checked against the bytes left before allocating (an array of N
 *     elements needs at least N bytes, N * width for fixed-width elements),
 *     and the arena's cap bounds the total.
 *
 * Null versus empty: sl_str_t/sl_bytes_t use len == -1 for null; arrays use
 * count == -1 for null (ptr NULL) and count == 0 for empty.
 *
 * Also here: helpers for the generated eq() and random_fill() functions
 * (tests and fuzzers only, but cheap enough to keep in the library).
 *
 * Owns: nothing. Thread-safe: readers and writers belong to their caller.
 */
#ifndef SL_PROTO_WIRE_H
#define SL_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"

/* Longest string the protocol allows (int16 length). */
#define SL_WIRE_STR_MAX 32767

typedef struct sl_str_s {
    const char *ptr;
    int32_t len; /* -1 = null */
} sl_str_t;

typedef struct sl_bytes_s {
    const uint8_t *ptr;
    int32_t len; /* -1 = null */
} sl_bytes_t;

typedef struct sl_uuid_s {
    uint8_t b[16];
} sl_uuid_t;

/* One tagged field the decoder did not know: raw tag and payload. */
typedef struct sl_tag_s {
    uint32_t tag;
    sl_bytes_t data;
} sl_tag_t;

/* Unknown tagged fields of one struct, in the order they were read. */
typedef struct sl_tags_s {
    sl_tag_t *items;
    int32_t count;
} sl_tags_t;

/* Element kinds of primitive arrays ([]int32, []string, ...). */
typedef enum sl_pt_e {
    SL_PT_BOOL,
    SL_PT_I8,
    SL_PT_I16,
    SL_PT_U16,
    SL_PT_I32,
    SL_PT_U32,
    SL_PT_I64,
    SL_PT_F64,
    SL_PT_UUID,
    SL_PT_STRING,
} sl_pt_e;

typedef struct sl_rd_s {
    const uint8_t *p;
    const uint8_t *end;
    sl_err_t err; /* first error, SL_OK while all reads succeeded */
} sl_rd_t;

typedef struct sl_wr_s {
    uint8_t *start;
    uint8_t *p;
    uint8_t *end;
    sl_err_t err;
    /* External bytes (see sl_wire_external): the writer emits the length
     * prefix, calls external(ext_arg, offset, len) with the output offset
     * where the bytes belong, and does not write them. */
    void (*external)(void *ext_arg, size_t offset, int32_t len);
    void *ext_arg;
    size_t ext_total;
} sl_wr_t;

/*
 * A bytes or records value whose ptr is sl_wire_external is "external":
 * size() counts its len, but encode() leaves it to the writer's external
 * callback (Fetch sends log data with sendfile between encoded pieces).
 * Without a callback, encoding one is SL_ERR__INVAL.
 */
extern const uint8_t sl_wire_external[1];

/* ---- reader ---------------------------------------------------------- */

void sl_rd_init(sl_rd_t *rd, const void *buf, size_t len);

/* Bytes not yet consumed (Kafka ignores trailing bytes; callers may not). */
size_t sl_rd_remaining(const sl_rd_t *rd);

/* The first error met, or SL_OK. */
sl_err_t sl_rd_error(const sl_rd_t *rd);

/* Record <err> unless an error is already recorded; stop further reads. */
void sl_rd_fail(sl_rd_t *rd, sl_err_t err);

void sl_rd_bool(sl_rd_t *rd, bool *out);
void sl_rd_i8(sl_rd_t *rd, int8_t *out);
void sl_rd_i16(sl_rd_t *rd, int16_t *out);
void sl_rd_u16(sl_rd_t *rd, uint16_t *out);
void sl_rd_i32(sl_rd_t *rd, int32_t *out);
void sl_rd_u32(sl_rd_t *rd, uint32_t *out);
void sl_rd_i64(sl_rd_t *rd, int64_t *out);
void sl_rd_f64(sl_rd_t *rd, double *out);
void sl_rd_uuid(sl_rd_t *rd, sl_uuid_t *out);
/* Unsigned varint of at most 5 bytes and at most UINT32_MAX. */
void sl_rd_uvarint(sl_rd_t *rd, uint32_t *out);

/* Classic (int16 length) or compact (uvarint N+1) string; zero copy. Null
 * where !nullable, a negative classic length below -1, or a length above
 * SL_WIRE_STR_MAX or the bytes left is SL_ERR__PROTO. */
void sl_rd_string(sl_rd_t *rd, bool flex, bool nullable, sl_str_t *out);

/* Classic (int32 length) or compact bytes/records; zero copy. */
void sl_rd_bytes(sl_rd_t *rd, bool flex, bool nullable, sl_bytes_t *out);

/* Array count: -1 for null (only when nullable), else 0..remaining bytes. */
int32_t sl_rd_array_len(sl_rd_t *rd, bool flex, bool nullable);

/* Nullable-struct marker (int8): false for null (< 0), true otherwise. */
bool sl_rd_struct_marker(sl_rd_t *rd);

/* Arena allocation of <n> zeroed elements of <size>; NULL and
 * SL_ERR__NOMEM recorded when the arena refuses. */
void *sl_rd_alloc(sl_rd_t *rd, sl_arena_t *a, int32_t n, size_t size);

/* A whole primitive array: count (checked against n * width bytes) then the
 * elements into an arena array. Returns the array (NULL when null, empty or
 * on error) and stores the count (-1 for null) in *count. */
void *sl_rd_parr(sl_rd_t *rd, bool flex, bool nullable, sl_arena_t *a,
                 sl_pt_e kind, int32_t *count);

/* Start a tagged-field section: read the count and make room in <tags> for
 * that many unknown fields. Returns the count (0 on error). */
uint32_t sl_rd_tags_begin(sl_rd_t *rd, sl_arena_t *a, sl_tags_t *tags);

/* Read one tag header (tag, size) and set <sub> to its payload; <rd> moves
 * past the payload. */
void sl_rd_tag(sl_rd_t *rd, uint32_t *tag, sl_rd_t *sub);

/* Keep the payload in <sub> as an unknown tag (its bytes, zero copy). */
void sl_rd_tag_unknown(sl_tags_t *tags, uint32_t tag, const sl_rd_t *sub);

/* Copy an error of the payload reader <sub> to <rd>. */
void sl_rd_tag_end(sl_rd_t *rd, const sl_rd_t *sub);

/* ---- sizes ----------------------------------------------------------- */

size_t sl_size_uvarint(uint32_t v);
size_t sl_size_string(bool flex, bool nullable, sl_str_t s);
size_t sl_size_bytes(bool flex, bool nullable, sl_bytes_t b);
/* Size of an array count prefix. */
size_t sl_size_array_len(bool flex, bool nullable, int32_t count);
/* Size of a whole primitive array. */
size_t sl_size_parr(bool flex, bool nullable, sl_pt_e kind, const void *arr,
                    int32_t count);
/* Size of the unknown tag entries (tag, size, payload), without the count. */
size_t sl_size_tags(const sl_tags_t *tags);

/* ---- writer ---------------------------------------------------------- */

void sl_wr_init(sl_wr_t *wr, void *buf, size_t len);
sl_err_t sl_wr_error(const sl_wr_t *wr);
size_t sl_wr_written(const sl_wr_t *wr);
void sl_wr_fail(sl_wr_t *wr, sl_err_t err);

void sl_wr_bool(sl_wr_t *wr, bool v);
void sl_wr_i8(sl_wr_t *wr, int8_t v);
void sl_wr_i16(sl_wr_t *wr, int16_t v);
void sl_wr_u16(sl_wr_t *wr, uint16_t v);
void sl_wr_i32(sl_wr_t *wr, int32_t v);
void sl_wr_u32(sl_wr_t *wr, uint32_t v);
void sl_wr_i64(sl_wr_t *wr, int64_t v);
void sl_wr_f64(sl_wr_t *wr, double v);
void sl_wr_uuid(sl_wr_t *wr, const sl_uuid_t *v);
void sl_wr_uvarint(sl_wr_t *wr, uint32_t v);
void sl_wr_raw(sl_wr_t *wr, const void *p, size_t n);

/* A null value where !nullable is written as empty. A string longer than
 * SL_WIRE_STR_MAX is SL_ERR__INVAL. */
void sl_wr_string(sl_wr_t *wr, bool flex, bool nullable, sl_str_t s);
void sl_wr_bytes(sl_wr_t *wr, bool flex, bool nullable, sl_bytes_t b);
void sl_wr_array_len(sl_wr_t *wr, bool flex, bool nullable, int32_t count);
void sl_wr_parr(sl_wr_t *wr, bool flex, bool nullable, sl_pt_e kind,
                const void *arr, int32_t count);

/* Write the unknown tags from index *next on whose tag is below <limit>
 * (all the rest when limit > UINT32_MAX), advancing *next: merges unknown
 * tags in read order with the known ones written in ascending order. */
void sl_wr_tags_upto(sl_wr_t *wr, const sl_tags_t *tags, int32_t *next,
                     uint64_t limit);

/* ---- eq helpers ------------------------------------------------------ */

bool sl_str_eq(sl_str_t x, sl_str_t y);
bool sl_bytes_eq(sl_bytes_t x, sl_bytes_t y);
bool sl_uuid_eq(const sl_uuid_t *x, const sl_uuid_t *y);
bool sl_f64_eq(double x, double y); /* bitwise, so NaN equals itself */
bool sl_tags_eq(const sl_tags_t *x, const sl_tags_t *y);
bool sl_parr_eq(sl_pt_e kind, const void *x, int32_t xn, const void *y,
                int32_t yn);
/* A NUL-terminated constant as an sl_str_t (for defaults). */
sl_str_t sl_str_lit(const char *s);

/* ---- random values for tests and fuzz seeds --------------------------- */

/* splitmix64 step. */
uint64_t sl_rand_u64(uint64_t *seed);
/* An int64 biased towards edge values (0, -1, small, extremes). */
int64_t sl_rand_int(uint64_t *seed);
double sl_rand_f64(uint64_t *seed);
void sl_rand_uuid(uint64_t *seed, sl_uuid_t *out);
void sl_rand_string(sl_arena_t *a, uint64_t *seed, bool nullable,
                    sl_str_t *out);
void sl_rand_bytes(sl_arena_t *a, uint64_t *seed, bool nullable,
                   sl_bytes_t *out);
/* Array of 0..2 zeroed elements of <size> (or null when nullable); returns
 * the array and stores the count. */
void *sl_rand_array(sl_arena_t *a, uint64_t *seed, bool nullable, size_t size,
                    int32_t *count);
/* Sometimes (one time in four) 1-2 unknown tagged fields with tags >= 1000
 * (unused by Kafka) in ascending order and random payloads; else none. */
void sl_rand_tags(sl_arena_t *a, uint64_t *seed, sl_tags_t *tags);
void *sl_rand_parr(sl_arena_t *a, uint64_t *seed, bool nullable, sl_pt_e kind,
                   int32_t *count);

#endif
