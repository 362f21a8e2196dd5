/*
 * test_golden.c: golden vectors captured from librdkafka 2.0.2 (see
 * tests/golden/capture.sh and tests/data/golden/README.md).
 *
 * Owns the checks that real client bytes survive our codecs:
 *   - every frame in tests/data/golden/ parses (request header v1/v2,
 *     response header v0/v1 chosen from the paired request), decodes with
 *     the generated codec, re-encodes byte for byte, and every strict prefix
 *     of it is rejected without a crash;
 *   - field checks on a few frames (client id, Metadata topics, Produce
 *     topic and codec, JoinGroup group id and protocol type, OffsetCommit
 *     offset);
 *   - tests/data/batches/rdkafka_<codec>.bin are well-formed v2 record
 *     batches (lengths, magic, CRC32C, codec bits, sequences, 100 records),
 *     and the uncompressed one holds exactly the records the capture sent.
 *
 * Does not own: the codecs (src/proto/gen/, generated), the capture tooling.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/varint.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/data.h"
#include "proto/gen/end_txn.h"
#include "proto/gen/fetch.h"
#include "proto/gen/find_coordinator.h"
#include "proto/gen/headers.h"
#include "proto/gen/init_producer_id.h"
#include "proto/gen/join_group.h"
#include "proto/gen/metadata.h"
#include "proto/gen/offset_commit.h"
#include "proto/gen/produce.h"
#include "proto/gen/sync_group.h"
#include "proto/gen/txn_offset_commit.h"
#include "proto/wire.h"

#define SL_GOLDEN_DIR SL_TEST_DATA_DIR "/golden"
#define SL_BATCHES_DIR SL_TEST_DATA_DIR "/batches"
#define SL_GOLDEN_MAX_FILES 256
#define SL_GOLDEN_NREC 100
#define SL_GOLDEN_ARENA_CAP (4u << 20)

static const char *sl_golden_codecs[] = {"none", "gzip", "snappy", "lz4",
                                         "zstd"};

/* ---- file helpers ------------------------------------------------------ */

/* Read a whole file into a malloc'd buffer; fails the test if unreadable. */
static uint8_t *
sl_golden_read(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    uint8_t *buf;
    long n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int
sl_golden_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of the *.bin names in the golden directory. */
static size_t
sl_golden_list(char **names, size_t max)
{
    DIR *d = opendir(SL_GOLDEN_DIR);
    struct dirent *e;
    size_t n = 0;

    if (d == NULL) {
        fail_msg("cannot open %s", SL_GOLDEN_DIR);
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0) {
            assert_true(n < max);
            names[n] = strdup(e->d_name);
            assert_non_null(names[n]);
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), sl_golden_cmp_names);
    return n;
}

static void
sl_golden_free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
}

static uint16_t
sl_golden_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
sl_golden_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
sl_golden_be64(const uint8_t *p)
{
    return ((uint64_t)sl_golden_be32(p) << 32) | sl_golden_be32(p + 4);
}

/*
 * A golden file name: NNNN-<req|resp>-<api>-v<version>[-<tag>].bin.
 * Fills the fields; returns 0 when the name does not parse.
 */
typedef struct sl_golden_name_s {
    int seq;
    int is_req;
    char api[48];
    int version;
    char tag[16];
} sl_golden_name_t;

static int
sl_golden_parse_name(const char *name, sl_golden_name_t *out)
{
    char dir[8], rest[96], *v, *dash;
    int n = 0;

    memset(out, 0, sizeof(*out));
    if (sscanf(name, "%4d-%7[a-z]-%95s%n", &out->seq, dir, rest, &n) != 3) {
        return 0;
    }
    out->is_req = strcmp(dir, "req") == 0;
    if (!out->is_req && strcmp(dir, "resp") != 0) {
        return 0;
    }
    /* rest: <api>-v<version>[-<tag>].bin */
    v = strstr(rest, "-v");
    if (v == NULL || (size_t)(v - rest) >= sizeof(out->api)) {
        return 0;
    }
    memcpy(out->api, rest, (size_t)(v - rest));
    out->version = atoi(v + 2);
    dash = strchr(v + 2, '-');
    if (dash != NULL) {
        size_t tl = strcspn(dash + 1, ".");

        if (tl >= sizeof(out->tag)) {
            return 0;
        }
        memcpy(out->tag, dash + 1, tl);
    }
    return 1;
}

/* Api keys of the names the capture writes (tests/golden/proxy.py). */
static int
sl_golden_api_key(const char *api)
{
    static const struct {
        const char *name;
        int key;
    } map[] = {
        {"produce", 0},
        {"fetch", 1},
        {"list_offsets", 2},
        {"metadata", 3},
        {"offset_commit", 8},
        {"offset_fetch", 9},
        {"find_coordinator", 10},
        {"join_group", 11},
        {"heartbeat", 12},
        {"leave_group", 13},
        {"sync_group", 14},
        {"api_versions", 18},
        {"init_producer_id", 22},
        {"add_partitions_to_txn", 24},
        {"add_offsets_to_txn", 25},
        {"end_txn", 26},
        {"txn_offset_commit", 28},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].name, api) == 0) {
            return map[i].key;
        }
    }
    return -1;
}

/*
 * The captured set is complete and consistent: names parse, every request
 * has its response under the same number, the header bytes agree with the
 * name (api key, version; correlation id shared by the pair), and the APIs
 * the capture is meant to cover are all there.
 */
static void
test_golden_inventory(void **state)
{
    static const char *required[] = {
        "api_versions", "metadata",         "produce",      "fetch",
        "list_offsets", "find_coordinator", "join_group",   "sync_group",
        "heartbeat",    "offset_commit",    "offset_fetch", "init_producer_id",
    };
    char *names[SL_GOLDEN_MAX_FILES];
    size_t n = sl_golden_list(names, SL_GOLDEN_MAX_FILES);
    int produce_codecs = 0;

    (void)state;
    assert_true(n >= 2 * sizeof(required) / sizeof(required[0]));
    for (size_t i = 0; i < n; i++) {
        sl_golden_name_t nm, rn;
        uint8_t *req, *resp;
        size_t req_len, resp_len;
        char resp_name[128];

        assert_true(sl_golden_parse_name(names[i], &nm));
        if (!nm.is_req) {
            /* its request sorts just before it */
            assert_true(i > 0);
            assert_true(sl_golden_parse_name(names[i - 1], &rn));
            assert_true(rn.is_req);
            assert_int_equal(rn.seq, nm.seq);
            continue;
        }
        assert_true(sl_golden_api_key(nm.api) >= 0);
        snprintf(resp_name, sizeof(resp_name), "%04d-resp-%s", nm.seq,
                 names[i] + 9);
        assert_true(i + 1 < n);
        assert_string_equal(names[i + 1], resp_name);

        req = sl_golden_read(SL_GOLDEN_DIR, names[i], &req_len);
        resp = sl_golden_read(SL_GOLDEN_DIR, names[i + 1], &resp_len);
        assert_true(req_len >= 10 && resp_len >= 4);
        assert_int_equal(sl_golden_be16(req), sl_golden_api_key(nm.api));
        assert_int_equal(sl_golden_be16(req + 2), nm.version);
        assert_int_equal(sl_golden_be32(req + 4), sl_golden_be32(resp));
        free(req);
        free(resp);
        if (strcmp(nm.api, "produce") == 0) {
            for (int c = 0; c < 5; c++) {
                if (strcmp(nm.tag, sl_golden_codecs[c]) == 0) {
                    produce_codecs |= 1 << c;
                }
            }
        }
    }
    for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
        int found = 0;

        for (size_t i = 0; i < n && !found; i++) {
            sl_golden_name_t nm;

            found = sl_golden_parse_name(names[i], &nm) &&
                    strcmp(nm.api, required[r]) == 0;
        }
        if (!found) {
            fail_msg("no golden frame for %s", required[r]);
        }
    }
    assert_int_equal(produce_codecs, 0x1f);
    sl_golden_free_list(names, n);
}

/* ---- record batches ---------------------------------------------------- */

/* Bitwise CRC32C (Castagnoli, reflected 0x82F63B78): slow and obviously
 * right, independent of the broker's own implementation. */
static uint32_t
sl_golden_crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void
test_crc32c_known_value(void **state)
{
    (void)state;
    /* The standard check value of CRC-32C. */
    assert_int_equal(sl_golden_crc32c((const uint8_t *)"123456789", 9),
                     0xE3069283u);
}

/*
 * Batch header (v2), offsets from the batch start:
 *   0 base_offset i64 | 8 batch_length i32 | 12 leader_epoch i32 |
 *  16 magic i8 | 17 crc u32 | 21 attributes i16 | 23 last_offset_delta i32 |
 *  27 base_ts i64 | 35 max_ts i64 | 43 producer_id i64 |
 *  51 producer_epoch i16 | 53 base_sequence i32 | 57 records_count i32 |
 *  61 records. batch_length counts from offset 12; the CRC covers 21..end.
 */
#define SL_GOLDEN_BATCH_HDR 61

/*
 * Check the v2 batch at <b> (with <avail> bytes from b on): whole, magic 2,
 * CRC32C right, a positive record count matching last_offset_delta.
 * @returns batch_length (the batch spans 12 + batch_length bytes).
 */
static uint32_t
sl_golden_check_batch(const uint8_t *b, size_t avail)
{
    uint32_t blen;

    assert_true(avail >= SL_GOLDEN_BATCH_HDR);
    blen = sl_golden_be32(b + 8);
    assert_true(blen >= SL_GOLDEN_BATCH_HDR - 12);
    assert_true(blen <= avail - 12);
    assert_int_equal(b[16], 2); /* magic */
    assert_int_equal(sl_golden_be32(b + 17),
                     sl_golden_crc32c(b + 21, blen + 12 - 21));
    assert_true((int32_t)sl_golden_be32(b + 57) > 0);
    assert_int_equal((int32_t)sl_golden_be32(b + 23) + 1,
                     (int32_t)sl_golden_be32(b + 57));
    return blen;
}

static void
test_batches_well_formed(void **state)
{
    (void)state;
    for (int c = 0; c < 5; c++) {
        char name[64];
        size_t len, pos = 0;
        uint8_t *buf;
        int32_t total = 0, next_seq = 0, nbatches = 0;

        snprintf(name, sizeof(name), "rdkafka_%s.bin", sl_golden_codecs[c]);
        buf = sl_golden_read(SL_BATCHES_DIR, name, &len);
        assert_true(len >= SL_GOLDEN_BATCH_HDR);
        while (pos < len) {
            const uint8_t *b = buf + pos;
            uint32_t blen;
            int32_t count;

            blen = sl_golden_check_batch(b, len - pos);
            /* codec bits match the topic; not transactional, not control */
            assert_int_equal(sl_golden_be16(b + 21) & 0x7, c);
            assert_int_equal(sl_golden_be16(b + 21) & 0x30, 0);
            count = (int32_t)sl_golden_be32(b + 57);
            /* idempotent producer: sequences continue across batches */
            assert_true((int64_t)sl_golden_be64(b + 43) >= 0);
            assert_int_equal((int32_t)sl_golden_be32(b + 53), next_seq);
            next_seq += count;
            total += count;
            nbatches++;
            pos += 12 + blen;
        }
        assert_int_equal(pos, len);
        assert_int_equal(total, SL_GOLDEN_NREC);
        assert_true(nbatches >= 1);
        free(buf);
    }
}

/* Read one zigzag varint or fail the test. */
static int64_t
sl_golden_zz(const uint8_t **p, const uint8_t *end)
{
    int64_t v = 0;
    size_t n = sl_varint_dec_s64(*p, end, &v);

    assert_true(n > 0);
    *p += n;
    return v;
}

/* Read a varint-length byte string and compare it with <want>. */
static void
sl_golden_expect_bytes(const uint8_t **p, const uint8_t *end, const char *want)
{
    int64_t n = sl_golden_zz(p, end);

    assert_int_equal(n, (int64_t)strlen(want));
    assert_true(n <= end - *p);
    assert_memory_equal(*p, want, (size_t)n);
    *p += n;
}

/* The uncompressed batches hold exactly the records the capture produced. */
static void
test_batches_none_records(void **state)
{
    size_t len, pos = 0;
    uint8_t *buf = sl_golden_read(SL_BATCHES_DIR, "rdkafka_none.bin", &len);
    int i = 0;

    (void)state;
    while (pos < len) {
        const uint8_t *b = buf + pos;
        uint32_t blen = sl_golden_be32(b + 8);
        int32_t count = (int32_t)sl_golden_be32(b + 57);
        const uint8_t *p = b + SL_GOLDEN_BATCH_HDR, *end = b + 12 + blen;

        for (int32_t r = 0; r < count; r++, i++) {
            char key[32], value[256], idx[16];
            const uint8_t *rec_end;
            int64_t rlen;
            size_t vlen = 0;

            snprintf(key, sizeof(key), "key-%d", i);
            snprintf(idx, sizeof(idx), "%d", i);
            for (int k = 0; k < 10; k++) {
                vlen += (size_t)snprintf(value + vlen, sizeof(value) - vlen,
                                         "value-%d", i);
            }
            rlen = sl_golden_zz(&p, end);
            assert_true(rlen > 0 && rlen <= end - p);
            rec_end = p + rlen;
            assert_int_equal(*p++, 0);       /* attributes */
            (void)sl_golden_zz(&p, rec_end); /* timestamp delta */
            assert_int_equal(sl_golden_zz(&p, rec_end), r); /* offset delta */
            sl_golden_expect_bytes(&p, rec_end, key);
            sl_golden_expect_bytes(&p, rec_end, value);
            assert_int_equal(sl_golden_zz(&p, rec_end), 1); /* headers */
            sl_golden_expect_bytes(&p, rec_end, "idx");
            sl_golden_expect_bytes(&p, rec_end, idx);
            assert_ptr_equal(p, rec_end);
        }
        assert_ptr_equal(p, end);
        pos += 12 + blen;
    }
    assert_int_equal(i, SL_GOLDEN_NREC);
    free(buf);
}

/* ---- generated codec round trip --------------------------------------- */

/*
 * One golden frame decoded with the generated codecs. key and version come
 * from the request (for a response: the paired request).
 */
typedef struct sl_golden_frame_s {
    sl_golden_name_t nm;
    uint8_t *buf;
    size_t len;
    int16_t key;
    int16_t version;
    int16_t hdr_version;
    int mock_quirk; /* not decoded: see sl_golden_is_mock_quirk() */
    const sl_msg_codec_t *codec; /* body codec */
    sl_msg_request_header_t req_hdr;
    sl_msg_response_header_t resp_hdr;
    void *body; /* arena */
} sl_golden_frame_t;

/*
 * librdkafka's mock answers an ApiVersions request of an unsupported version
 * (2.0.2 sends v3 first; the mock supports 0-2) with a hand-made body that
 * is neither Kafka's v0 fallback nor valid v3: error code, a one-byte raw
 * (not N+1) array count, entries without tagged fields, throttle time, no
 * tagged-field section. Those frames are not Kafka wire format, so they are
 * checked by bytes only (sl_golden_check_mock_quirk), never decoded.
 */
static int
sl_golden_is_mock_quirk(int16_t key, int16_t version, int is_req,
                        const uint8_t *buf, size_t len)
{
    /* header v0 is the 4-byte correlation id */
    return !is_req && key == 18 && version >= 3 && len >= 6 &&
           (int16_t)sl_golden_be16(buf + 4) == SL_ERR_UNSUPPORTED_VERSION;
}

/*
 * Decode the header and body of buf[0, len) as frame <f> (whose key,
 * version, header version and codec are set; f->version is used for the
 * body). Returns the first error;
 * on SL_OK the whole input was consumed.
 */
static sl_err_t
sl_golden_decode(sl_golden_frame_t *f, const uint8_t *buf, size_t len,
                 sl_arena_t *a)
{
    sl_rd_t rd;
    sl_err_t err;

    sl_rd_init(&rd, buf, len);
    if (f->nm.is_req) {
        sl_msg_request_header_init(&f->req_hdr);
        err = sl_msg_request_header_decode(&rd, f->hdr_version, a, &f->req_hdr);
    } else {
        sl_msg_response_header_init(&f->resp_hdr);
        err =
            sl_msg_response_header_decode(&rd, f->hdr_version, a, &f->resp_hdr);
    }
    if (err != SL_OK) {
        return err;
    }
    f->body = sl_arena_zalloc(a, f->codec->struct_size);
    if (f->body == NULL) {
        return SL_ERR__NOMEM;
    }
    f->codec->init(f->body);
    err = f->codec->decode(&rd, f->version, a, f->body);
    if (err == SL_OK && sl_rd_remaining(&rd) != 0) {
        err = SL_ERR__PROTO; /* trailing bytes: the codec missed a field */
    }
    return err;
}

/* Load golden file <name> and decode it (unless it is a mock quirk); fails
 * the test on any error. */
static void
sl_golden_load(const char *name, sl_arena_t *a, sl_golden_frame_t *f)
{
    const sl_api_codec_t *api;
    sl_err_t err;

    memset(f, 0, sizeof(*f));
    assert_true(sl_golden_parse_name(name, &f->nm));
    f->buf = sl_golden_read(SL_GOLDEN_DIR, name, &f->len);
    if (f->nm.is_req) {
        assert_true(f->len >= 4);
        f->key = (int16_t)sl_golden_be16(f->buf);
        f->version = (int16_t)sl_golden_be16(f->buf + 2);
    } else {
        char req_name[128];
        size_t req_len;
        uint8_t *req;

        /* "NNNN-resp-" -> "NNNN-req-" */
        snprintf(req_name, sizeof(req_name), "%.4s-req-%s", name, name + 10);
        req = sl_golden_read(SL_GOLDEN_DIR, req_name, &req_len);
        assert_true(req_len >= 4);
        f->key = (int16_t)sl_golden_be16(req);
        f->version = (int16_t)sl_golden_be16(req + 2);
        free(req);
    }
    api = sl_api_codec(f->key);
    if (api == NULL) {
        fail_msg("%s: no codec for api key %d", name, f->key);
    }
    f->codec = f->nm.is_req ? &api->req : &api->resp;
    assert_true(f->version >= f->codec->min_version);
    assert_true(f->version <= f->codec->max_version);
    f->hdr_version = f->nm.is_req
                         ? sl_msg_request_header_version(f->key, f->version)
                         : sl_msg_response_header_version(f->key, f->version);
    f->mock_quirk = sl_golden_is_mock_quirk(f->key, f->version, f->nm.is_req,
                                            f->buf, f->len);
    if (f->mock_quirk) {
        return;
    }
    err = sl_golden_decode(f, f->buf, f->len, a);
    if (err != SL_OK) {
        fail_msg("%s: decode (key %d v%d, header v%d) failed: %s", name, f->key,
                 f->version, f->hdr_version, sl_err_name(err));
    }
}

/* Size and encode header + body of a decoded frame into a new buffer. */
static uint8_t *
sl_golden_encode(const sl_golden_frame_t *f, size_t *len, sl_err_t *err)
{
    size_t n;
    uint8_t *out;
    sl_wr_t wr;

    n = f->nm.is_req
            ? sl_msg_request_header_size(&f->req_hdr, f->hdr_version)
            : sl_msg_response_header_size(&f->resp_hdr, f->hdr_version);
    n += f->codec->size(f->body, f->version);
    out = malloc(n + 1);
    assert_non_null(out);
    sl_wr_init(&wr, out, n);
    *err =
        f->nm.is_req
            ? sl_msg_request_header_encode(&wr, f->hdr_version, &f->req_hdr)
            : sl_msg_response_header_encode(&wr, f->hdr_version, &f->resp_hdr);
    if (*err == SL_OK) {
        *err = f->codec->encode(&wr, f->version, f->body);
    }
    if (*err == SL_OK && sl_wr_written(&wr) != n) {
        *err = SL_ERR__INVAL; /* size() and encode() disagree */
    }
    *len = n;
    return out;
}

/* Headers of two decoded frames of the same direction are equal. */
static bool
sl_golden_hdr_eq(const sl_golden_frame_t *x, const sl_golden_frame_t *y)
{
    if (x->nm.is_req) {
        return sl_msg_request_header_eq(&x->req_hdr, &y->req_hdr,
                                        x->hdr_version);
    }
    return sl_msg_response_header_eq(&x->resp_hdr, &y->resp_hdr,
                                     x->hdr_version);
}

/* Every golden frame decodes and re-encodes to the same bytes. */
static void
test_golden_roundtrip(void **state)
{
    char *names[SL_GOLDEN_MAX_FILES];
    size_t n = sl_golden_list(names, SL_GOLDEN_MAX_FILES);
    sl_arena_t *a = sl_arena_create(64 * 1024, SL_GOLDEN_ARENA_CAP);
    size_t quirks = 0;

    (void)state;
    assert_non_null(a);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        sl_golden_frame_t f;
        size_t out_len;
        uint8_t *out;
        sl_err_t err;

        sl_golden_load(names[i], a, &f);
        if (f.mock_quirk) {
            quirks++;
            free(f.buf);
            continue;
        }
        out = sl_golden_encode(&f, &out_len, &err);
        if (err != SL_OK) {
            fail_msg("%s: encode failed: %s", names[i], sl_err_name(err));
        }
        if (out_len != f.len) {
            fail_msg("%s: re-encoded %zu bytes, captured %zu", names[i],
                     out_len, f.len);
        }
        for (size_t b = 0; b < f.len; b++) {
            if (out[b] != f.buf[b]) {
                fail_msg("%s: byte %zu differs: 0x%02x, captured 0x%02x",
                         names[i], b, out[b], f.buf[b]);
            }
        }
        free(out);
        free(f.buf);
        sl_arena_reset(a);
    }
    /* only the ApiVersions v3 answers may be skipped, never most frames */
    assert_true(quirks <= 2);
    sl_arena_destroy(a);
    sl_golden_free_list(names, n);
}

/*
 * Hostile input built from real frames: every strict prefix of every golden
 * frame is rejected (a full decode consumes every byte, so some read must
 * run past the end), and flipping any one byte never crashes; when the
 * flipped frame still decodes, it re-encodes with size() == written, and
 * that encoding decodes to an equal message (eq()).
 */
static void
test_golden_truncated_and_flipped(void **state)
{
    char *names[SL_GOLDEN_MAX_FILES];
    size_t n = sl_golden_list(names, SL_GOLDEN_MAX_FILES);
    sl_arena_t *a = sl_arena_create(64 * 1024, SL_GOLDEN_ARENA_CAP);

    (void)state;
    assert_non_null(a);
    for (size_t i = 0; i < n; i++) {
        sl_golden_frame_t f, g, h;
        uint8_t *copy;

        sl_golden_load(names[i], a, &f);
        sl_arena_reset(a);
        if (f.mock_quirk) {
            free(f.buf);
            continue;
        }
        copy = malloc(f.len);
        assert_non_null(copy);
        for (size_t cut = 0; cut < f.len; cut++) {
            /* the prefix ends where the allocation ends: ASan sees any
             * read past it */
            uint8_t *tail = copy + (f.len - cut);

            memcpy(tail, f.buf, cut);
            g = f;
            if (sl_golden_decode(&g, tail, cut, a) == SL_OK) {
                fail_msg("%s: prefix of %zu bytes decoded", names[i], cut);
            }
            sl_arena_reset(a);
        }
        free(copy);
        copy = malloc(f.len);
        assert_non_null(copy);
        for (size_t k = 0; k < 2 * f.len; k++) {
            /* each byte inverted, then each byte's low bit flipped (which
             * moves lengths and counts by one) */
            size_t pos = k % f.len;

            memcpy(copy, f.buf, f.len);
            copy[pos] ^= k < f.len ? 0xFF : 0x01;
            g = f;
            if (sl_golden_decode(&g, copy, f.len, a) == SL_OK) {
                size_t out_len;
                sl_err_t err;
                uint8_t *out = sl_golden_encode(&g, &out_len, &err);

                if (err != SL_OK) {
                    fail_msg("%s: flipped byte %zu decodes but encode "
                             "fails: %s",
                             names[i], pos, sl_err_name(err));
                }
                /* what we encode must decode back to the same message */
                h = f;
                err = sl_golden_decode(&h, out, out_len, a);
                if (err != SL_OK) {
                    fail_msg("%s: flipped byte %zu: re-encoded frame does "
                             "not decode: %s",
                             names[i], pos, sl_err_name(err));
                }
                if (!g.codec->eq(g.body, h.body, g.version) ||
                    !sl_golden_hdr_eq(&g, &h)) {
                    fail_msg("%s: flipped byte %zu: decode(encode(m)) != m",
                             names[i], pos);
                }
                free(out);
            }
            sl_arena_reset(a);
        }
        free(copy);
        free(f.buf);
    }
    sl_arena_destroy(a);
    sl_golden_free_list(names, n);
}

/* ---- field checks ------------------------------------------------------ */

static int
sl_golden_str_is(sl_str_t s, const char *want)
{
    return s.len >= 0 && (size_t)s.len == strlen(want) &&
           memcmp(s.ptr, want, (size_t)s.len) == 0;
}

static void
sl_golden_assert_str(sl_str_t s, const char *want)
{
    if (!sl_golden_str_is(s, want)) {
        fail_msg("expected \"%s\", got \"%.*s\" (len %d)", want,
                 s.len > 0 ? (int)s.len : 0, s.len > 0 ? s.ptr : "", s.len);
    }
}

/* Codec index (0..4) of topic "golden-<codec>" in <s>, 5 for golden-txn,
 * -1 for any other name. */
static int
sl_golden_codec_of(sl_str_t s)
{
    char name[32];

    for (int c = 0; c < 5; c++) {
        snprintf(name, sizeof(name), "golden-%s", sl_golden_codecs[c]);
        if (sl_golden_str_is(s, name)) {
            return c;
        }
    }
    return sl_golden_str_is(s, "golden-txn") ? 5 : -1;
}

/*
 * <compared>: codecs whose batches file was already compared; the first
 * Produce per codec in file order is from the "latest" run, whose records
 * open tests/data/batches/rdkafka_<codec>.bin.
 */
static void
sl_golden_check_produce(const sl_golden_frame_t *f, int *compared)
{
    char topic[32];

    snprintf(topic, sizeof(topic), "golden-%s", f->nm.tag);
    if (f->nm.is_req) {
        const sl_msg_produce_req_t *m = f->body;
        const sl_msg_produce_req_partition_produce_data_t *pd;
        int codec;

        assert_int_equal(m->acks, -1); /* idempotence needs acks=all */
        assert_int_equal(m->topic_data_count, 1);
        sl_golden_assert_str(m->topic_data[0].name, topic);
        assert_int_equal(m->topic_data[0].partition_data_count, 1);
        pd = &m->topic_data[0].partition_data[0];
        assert_int_equal(pd->index, 0);
        assert_true(pd->records.len > SL_GOLDEN_BATCH_HDR);
        assert_int_equal(pd->records.ptr[16], 2); /* magic */
        if (strcmp(f->nm.tag, "txn") == 0) {
            sl_golden_assert_str(m->transactional_id, "sluice-golden-txn");
            assert_int_equal(sl_golden_be16(pd->records.ptr + 21) & 0x10,
                             0x10); /* transactional batch */
            return;
        }
        assert_int_equal(m->transactional_id.len, -1);
        codec = sl_golden_codec_of(m->topic_data[0].name);
        if (f->version >= 7) {
            assert_int_equal(sl_golden_be16(pd->records.ptr + 21) & 0x7, codec);
        } else {
            /* against the mock capped at Produce v3 librdkafka 2.0.2 sent
             * every batch uncompressed */
            assert_int_equal(sl_golden_be16(pd->records.ptr + 21) & 0x7, 0);
        }
        if ((*compared & (1 << codec)) == 0) {
            char name[64];
            size_t blen;
            uint8_t *batches;

            snprintf(name, sizeof(name), "rdkafka_%s.bin", f->nm.tag);
            batches = sl_golden_read(SL_BATCHES_DIR, name, &blen);
            assert_true((size_t)pd->records.len <= blen);
            assert_memory_equal(pd->records.ptr, batches,
                                (size_t)pd->records.len);
            free(batches);
            *compared |= 1 << codec;
        }
    } else {
        const sl_msg_produce_resp_t *m = f->body;

        assert_int_equal(m->responses_count, 1);
        sl_golden_assert_str(m->responses[0].name, topic);
        assert_int_equal(m->responses[0].partition_responses_count, 1);
        assert_int_equal(m->responses[0].partition_responses[0].error_code, 0);
        assert_int_equal(m->responses[0].partition_responses[0].base_offset,
                         0); /* first Produce to a fresh topic */
    }
}

static void
sl_golden_check_metadata(const sl_golden_frame_t *f, int *named)
{
    if (f->nm.is_req) {
        const sl_msg_metadata_req_t *m = f->body;

        /* empty: brokers only (v1+) or all topics (v0); never null here */
        assert_true(m->topics_count >= 0);
        for (int32_t t = 0; t < m->topics_count; t++) {
            int c = sl_golden_codec_of(m->topics[t].name);

            assert_true(c >= 0);
            *named |= 1 << c;
        }
    } else {
        const sl_msg_metadata_resp_t *m = f->body;

        assert_int_equal(m->brokers_count, 1);
        sl_golden_assert_str(m->brokers[0].host, "127.0.0.1");
        assert_true(m->brokers[0].port > 0);
        assert_int_equal(m->brokers[0].node_id,
                         1); /* mock broker ids start at 1 */
        assert_true(m->topics_count >= 0);
        for (int32_t t = 0; t < m->topics_count; t++) {
            assert_int_equal(m->topics[t].error_code, 0);
            assert_true(sl_golden_codec_of(m->topics[t].name) >= 0);
            assert_int_equal(m->topics[t].partitions_count, 1);
            assert_int_equal(m->topics[t].partitions[0].leader_id,
                             m->brokers[0].node_id);
        }
    }
}

static void
sl_golden_check_join_group(const sl_golden_frame_t *f)
{
    if (f->nm.is_req) {
        const sl_msg_join_group_req_t *m = f->body;

        sl_golden_assert_str(m->group_id, "sluice-golden-group");
        sl_golden_assert_str(m->protocol_type, "consumer");
        assert_int_equal(m->session_timeout_ms, 6000);
        assert_true(m->protocols_count >= 1);
        sl_golden_assert_str(m->protocols[0].name, "range");
    } else {
        const sl_msg_join_group_resp_t *m = f->body;

        assert_int_equal(m->error_code, 0);
        assert_true(m->member_id.len > 0);
        assert_true(m->generation_id >= 0);
    }
}

static void
sl_golden_check_offset_commit(const sl_golden_frame_t *f)
{
    if (f->nm.is_req) {
        const sl_msg_offset_commit_req_t *m = f->body;
        int seen = 0;

        sl_golden_assert_str(m->group_id, "sluice-golden-group");
        /* five codec topics; four in the "oldest" run (no zstd) */
        assert_true(m->topics_count == 5 || m->topics_count == 4);
        for (int32_t t = 0; t < m->topics_count; t++) {
            int c = sl_golden_codec_of(m->topics[t].name);

            assert_true(c >= 0);
            seen |= 1 << c;
            assert_int_equal(m->topics[t].partitions_count, 1);
            assert_int_equal(m->topics[t].partitions[0].partition_index, 0);
            assert_int_equal(m->topics[t].partitions[0].committed_offset,
                             SL_GOLDEN_NREC);
        }
        assert_int_equal(seen, (1 << m->topics_count) - 1);
    } else {
        const sl_msg_offset_commit_resp_t *m = f->body;

        assert_true(m->topics_count == 5 || m->topics_count == 4);
        for (int32_t t = 0; t < m->topics_count; t++) {
            assert_int_equal(m->topics[t].partitions[0].error_code, 0);
        }
    }
}

static void
sl_golden_check_txn(const sl_golden_frame_t *f)
{
    if (f->key == 28 && f->nm.is_req) {
        const sl_msg_txn_offset_commit_req_t *m = f->body;

        sl_golden_assert_str(m->transactional_id, "sluice-golden-txn");
        sl_golden_assert_str(m->group_id, "sluice-golden-txn-group");
        assert_true(m->producer_id >= 0);
        assert_int_equal(m->topics_count, 1);
        sl_golden_assert_str(m->topics[0].name, "golden-none");
        assert_int_equal(m->topics[0].partitions[0].committed_offset, 7);
    } else if (f->key == 26 && f->nm.is_req) {
        const sl_msg_end_txn_req_t *m = f->body;

        sl_golden_assert_str(m->transactional_id, "sluice-golden-txn");
        assert_true(m->committed);
    } else if (f->key == 22 && !f->nm.is_req) {
        const sl_msg_init_producer_id_resp_t *m = f->body;

        assert_int_equal(m->error_code, 0);
        assert_true(m->producer_id >= 0);
    }
}

/*
 * Records of a Fetch response: whole, valid v2 batches (the mock never
 * truncates). Counts in <same> the batches that are byte for byte (from the
 * magic byte on: offsets and leader epoch may be the broker's) a batch of a
 * tests/data/batches file, i.e. what the capture produced.
 */
static void
sl_golden_check_fetched(sl_bytes_t records, int *same)
{
    size_t pos = 0, len = records.len > 0 ? (size_t)records.len : 0;

    while (pos < len) {
        const uint8_t *b = records.ptr + pos;
        uint32_t blen = sl_golden_check_batch(b, len - pos);

        for (int c = 0; c < 5; c++) {
            char name[64];
            size_t flen, fpos = 0;
            uint8_t *file;

            snprintf(name, sizeof(name), "rdkafka_%s.bin", sl_golden_codecs[c]);
            file = sl_golden_read(SL_BATCHES_DIR, name, &flen);
            while (fpos + SL_GOLDEN_BATCH_HDR <= flen) {
                uint32_t fblen = sl_golden_be32(file + fpos + 8);

                if (fblen == blen && fblen <= flen - fpos - 12 &&
                    memcmp(file + fpos + 16, b + 16, blen - 4) == 0) {
                    (*same)++;
                }
                fpos += 12 + (size_t)fblen;
            }
            free(file);
        }
        pos += 12 + blen;
    }
}

static void
sl_golden_check_misc(const sl_golden_frame_t *f, int *fetched_same)
{
    if (f->key == 18 && !f->nm.is_req) {
        const sl_msg_api_versions_resp_t *m = f->body;

        if (f->mock_quirk) {
            /* error, raw count 1, {18, 0, 2}, throttle 0 */
            static const uint8_t body[] = {0x00, 0x23, 0x01, 0x00, 0x12,
                                           0x00, 0x00, 0x00, 0x02, 0x00,
                                           0x00, 0x00, 0x00};

            assert_int_equal(f->len, 4 + sizeof(body));
            assert_memory_equal(f->buf + 4, body, sizeof(body));
        } else {
            assert_int_equal(m->error_code, 0);
            assert_true(m->api_keys_count >= 10);
            assert_int_equal(m->api_keys[0].api_key, 0);
            assert_int_equal(m->api_keys[0].max_version, 7);
        }
    } else if (f->key == 10 && f->nm.is_req) {
        const sl_msg_find_coordinator_req_t *m = f->body;

        if (strcmp(f->nm.tag, "txn") == 0) {
            assert_int_equal(m->key_type, 1);
            sl_golden_assert_str(m->key, "sluice-golden-txn");
        } else {
            assert_int_equal(m->key_type, 0);
            /* the consumer's group, or the one the txn commits to */
            assert_true(sl_golden_str_is(m->key, "sluice-golden-group") ||
                        sl_golden_str_is(m->key, "sluice-golden-txn-group"));
        }
    } else if (f->key == 10) {
        const sl_msg_find_coordinator_resp_t *m = f->body;

        assert_int_equal(m->error_code, 0);
        sl_golden_assert_str(m->host, "127.0.0.1");
    } else if (f->key == 14 && f->nm.is_req) {
        const sl_msg_sync_group_req_t *m = f->body;

        sl_golden_assert_str(m->group_id, "sluice-golden-group");
    } else if (f->key == 1 && !f->nm.is_req) {
        const sl_msg_fetch_resp_t *m = f->body;

        assert_int_equal(m->error_code, 0);
        for (int32_t t = 0; t < m->responses_count; t++) {
            assert_true(sl_golden_codec_of(m->responses[t].topic) >= 0);
            for (int32_t p = 0; p < m->responses[t].partitions_count; p++) {
                const sl_msg_fetch_resp_partition_data_t *pd =
                    &m->responses[t].partitions[p];

                assert_int_equal(pd->error_code, 0);
                sl_golden_check_fetched(pd->records, fetched_same);
            }
        }
    }
}

/*
 * Field checks on decoded frames: every request carries client id
 * sluice-golden, and the APIs the capture drives carry what it sent.
 */
static void
test_golden_fields(void **state)
{
    char *names[SL_GOLDEN_MAX_FILES];
    size_t n = sl_golden_list(names, SL_GOLDEN_MAX_FILES);
    sl_arena_t *a = sl_arena_create(64 * 1024, SL_GOLDEN_ARENA_CAP);
    int metadata_named = 0, checked_produce = 0, checked_commit = 0;
    int compared = 0, fetched_same = 0;

    (void)state;
    assert_non_null(a);
    for (size_t i = 0; i < n; i++) {
        sl_golden_frame_t f;

        sl_golden_load(names[i], a, &f);
        if (f.nm.is_req) {
            sl_golden_assert_str(f.req_hdr.client_id, "sluice-golden");
        }
        switch (f.key) {
        case 0:
            sl_golden_check_produce(&f, &compared);
            checked_produce++;
            break;
        case 3:
            sl_golden_check_metadata(&f, &metadata_named);
            break;
        case 8:
            sl_golden_check_offset_commit(&f);
            checked_commit++;
            break;
        case 11:
            sl_golden_check_join_group(&f);
            break;
        case 22:
        case 26:
        case 28:
            sl_golden_check_txn(&f);
            break;
        default:
            sl_golden_check_misc(&f, &fetched_same);
            break;
        }
        free(f.buf);
        sl_arena_reset(a);
    }
    /* the producer asks for golden-none first */
    assert_true(metadata_named & 1);
    /* latest: 5 codecs + txn, oldest: 4 codecs; request and response */
    assert_int_equal(checked_produce, 2 * (6 + 4));
    assert_int_equal(compared, 0x1f);
    /* the consumer read back at least one produced batch unchanged */
    assert_true(fetched_same >= 1);
    assert_true(checked_commit >= 2);
    sl_arena_destroy(a);
    sl_golden_free_list(names, n);
}

/* ---- consumer protocol inside JoinGroup / SyncGroup -------------------- */

/*
 * <b> is a consumer protocol blob: int16 version, then the
 * ConsumerProtocolSubscription (is_sub) or ConsumerProtocolAssignment body.
 * Decode it with the generated data codec, re-encode byte for byte, and
 * return in *topics the golden topics it names (bit per codec).
 */
static void
sl_golden_check_consumer_blob(sl_bytes_t b, int is_sub, sl_arena_t *a,
                              int *topics)
{
    sl_msg_consumer_protocol_subscription_t sub;
    sl_msg_consumer_protocol_assignment_t asg;
    uint8_t *out;
    size_t n;
    int16_t v;
    sl_rd_t rd;
    sl_wr_t wr;

    assert_true(b.len >= 2);
    v = (int16_t)sl_golden_be16(b.ptr);
    assert_true(v >= 0 && v <= 3);
    sl_rd_init(&rd, b.ptr + 2, (size_t)b.len - 2);
    if (is_sub) {
        sl_msg_consumer_protocol_subscription_init(&sub);
        assert_int_equal(
            sl_msg_consumer_protocol_subscription_decode(&rd, v, a, &sub),
            SL_OK);
        n = sl_msg_consumer_protocol_subscription_size(&sub, v);
        for (int32_t t = 0; t < sub.topics_count; t++) {
            int c = sl_golden_codec_of(sub.topics[t]);

            assert_true(c >= 0 && c < 5);
            *topics |= 1 << c;
        }
    } else {
        sl_msg_consumer_protocol_assignment_init(&asg);
        assert_int_equal(
            sl_msg_consumer_protocol_assignment_decode(&rd, v, a, &asg), SL_OK);
        n = sl_msg_consumer_protocol_assignment_size(&asg, v);
        for (int32_t t = 0; t < asg.assigned_partitions_count; t++) {
            int c = sl_golden_codec_of(asg.assigned_partitions[t].topic);

            assert_true(c >= 0 && c < 5);
            assert_int_equal(asg.assigned_partitions[t].partitions_count, 1);
            assert_int_equal(asg.assigned_partitions[t].partitions[0], 0);
            *topics |= 1 << c;
        }
    }
    assert_int_equal(sl_rd_remaining(&rd), 0);
    assert_int_equal(n + 2, (size_t)b.len);
    out = malloc(n + 1);
    assert_non_null(out);
    sl_wr_init(&wr, out, n);
    if (is_sub) {
        assert_int_equal(
            sl_msg_consumer_protocol_subscription_encode(&wr, v, &sub), SL_OK);
    } else {
        assert_int_equal(
            sl_msg_consumer_protocol_assignment_encode(&wr, v, &asg), SL_OK);
    }
    assert_int_equal(sl_wr_written(&wr), n);
    assert_memory_equal(out, b.ptr + 2, n);
    free(out);
}

/*
 * The subscriptions in JoinGroup and the assignments in SyncGroup are
 * consumer protocol blobs librdkafka wrote: they round-trip through the
 * generated data codecs and name the subscribed golden topics.
 */
static void
test_golden_consumer_protocol(void **state)
{
    char *names[SL_GOLDEN_MAX_FILES];
    size_t n = sl_golden_list(names, SL_GOLDEN_MAX_FILES);
    sl_arena_t *a = sl_arena_create(64 * 1024, SL_GOLDEN_ARENA_CAP);
    int blobs = 0;

    (void)state;
    assert_non_null(a);
    for (size_t i = 0; i < n; i++) {
        sl_golden_frame_t f;
        int topics = 0, want;

        sl_golden_load(names[i], a, &f);
        if (f.key == 11 && f.nm.is_req) {
            const sl_msg_join_group_req_t *m = f.body;

            for (int32_t p = 0; p < m->protocols_count; p++, blobs++) {
                topics = 0;
                sl_golden_check_consumer_blob(m->protocols[p].metadata, 1, a,
                                              &topics);
                /* "latest" subscribes to 5 topics, "oldest" to 4 */
                assert_true(topics == 0x1f || topics == 0x0f);
            }
        } else if (f.key == 11) {
            const sl_msg_join_group_resp_t *m = f.body;

            for (int32_t mb = 0; mb < m->members_count; mb++, blobs++) {
                topics = 0;
                sl_golden_check_consumer_blob(m->members[mb].metadata, 1, a,
                                              &topics);
                assert_true(topics == 0x1f || topics == 0x0f);
            }
        } else if (f.key == 14 && f.nm.is_req) {
            const sl_msg_sync_group_req_t *m = f.body;

            for (int32_t s = 0; s < m->assignments_count; s++, blobs++) {
                topics = 0;
                sl_golden_check_consumer_blob(m->assignments[s].assignment, 0,
                                              a, &topics);
                assert_true(topics == 0x1f || topics == 0x0f);
            }
        } else if (f.key == 14) {
            const sl_msg_sync_group_resp_t *m = f.body;

            sl_golden_check_consumer_blob(m->assignment, 0, a, &topics);
            want = f.version >= 3 ? 0x1f : 0x0f; /* which run */
            assert_int_equal(topics, want);
            blobs++;
        }
        free(f.buf);
        sl_arena_reset(a);
    }
    /* two runs, each: join req + resp (leader) + sync req + resp */
    assert_true(blobs >= 8);
    sl_arena_destroy(a);
    sl_golden_free_list(names, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_inventory),
        cmocka_unit_test(test_golden_roundtrip),
        cmocka_unit_test(test_golden_fields),
        cmocka_unit_test(test_golden_consumer_protocol),
        cmocka_unit_test(test_golden_truncated_and_flipped),
        cmocka_unit_test(test_crc32c_known_value),
        cmocka_unit_test(test_batches_well_formed),
        cmocka_unit_test(test_batches_none_records),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
