/*
 * tests/unit/proto/test_codec_golden.c: request frames captured from a real
 * client (librdkafka 2.0.2 via kcat, frames without the size prefix) must
 * decode to the expected values and re-encode byte for byte.
 *
 * Captured by pointing `kcat -P -t t` and `kcat -C -t t -o beginning` at a
 * stub broker built on these codecs. librdkafka also accepted the stub's
 * ApiVersions v3, Metadata v4, Produce v7, ListOffsets v2 and Fetch v11
 * responses: the message was delivered and consumed back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "proto/gen/api_table.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/fetch.h"
#include "proto/gen/list_offsets.h"
#include "proto/gen/headers.h"
#include "proto/gen/metadata.h"
#include "proto/gen/produce.h"
#include "proto/wire.h"

static const uint8_t sl_golden_k18_v3[] = {
    0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0x00, 0x0b, 0x6c, 0x69, 0x62, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0x06, 0x32, 0x2e, 0x30, 0x2e, 0x32, 0x00,
};
static const uint8_t sl_golden_k3_v4[] = {
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x07, 0x72, 0x64, 0x6b, 0x61, 0x66, 0x6b, 0x61, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x74, 0x01,
};
static const uint8_t sl_golden_k0_v7[] = {
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00, 0x07, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75,
    0x30, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x49, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x8e, 0xd5, 0x30, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0xa2, 0x08, 0x9e, 0x01, 0x8b, 0x00, 0x00, 0x01, 0xa2, 0x08,
    0x9e, 0x01, 0x8b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x16, 0x00, 0x00,
    0x00, 0x01, 0x0a, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
};

static const uint8_t sl_golden_k2_v2[] = {
    0x00, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x07, 0x72, 0x64,
    0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
};
static const uint8_t sl_golden_k1_v11[] = {
    0x00, 0x01, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x05, 0x00, 0x07, 0x72,
    0x64, 0x6b, 0x61, 0x66, 0x6b, 0x61, 0xff, 0xff, 0xff, 0xff, 0x00,
    0x00, 0x01, 0xf4, 0x00, 0x00, 0x00, 0x01, 0x03, 0x20, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x01, 0x74, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Decode header and body of <frame>, check the body decodes completely and
 * that header + body re-encode to the same bytes. The decoded body is left
 * in *body (allocated from <a>). */
static void
sl_golden_check(const uint8_t *frame, size_t len, sl_arena_t *a,
                sl_msg_request_header_t *h, void **body)
{
    const sl_api_codec_t *api;
    int16_t key = (int16_t)((frame[0] << 8) | frame[1]);
    int16_t ver = (int16_t)((frame[2] << 8) | frame[3]);
    int16_t hv = sl_msg_request_header_version(key, ver);
    size_t hn, bn;
    uint8_t *out;
    sl_rd_t rd;
    sl_wr_t wr;

    api = sl_api_codec(key);
    assert_non_null(api);
    sl_rd_init(&rd, frame, len);
    assert_int_equal(sl_msg_request_header_decode(&rd, hv, a, h), SL_OK);
    assert_int_equal(h->request_api_key, key);
    assert_int_equal(h->request_api_version, ver);
    assert_int_equal(h->client_id.len, 7);
    assert_memory_equal(h->client_id.ptr, "rdkafka", 7);

    *body = sl_arena_zalloc(a, api->req.struct_size);
    assert_int_equal(api->req.decode(&rd, ver, a, *body), SL_OK);
    assert_int_equal(sl_rd_remaining(&rd), 0);

    hn = sl_msg_request_header_size(h, hv);
    bn = api->req.size(*body, ver);
    assert_int_equal(hn + bn, len);
    out = malloc(len);
    sl_wr_init(&wr, out, len);
    assert_int_equal(sl_msg_request_header_encode(&wr, hv, h), SL_OK);
    assert_int_equal(api->req.encode(&wr, ver, *body), SL_OK);
    assert_int_equal(sl_wr_written(&wr), len);
    assert_memory_equal(out, frame, len);
    free(out);
}

static void
test_golden_api_versions_v3(void **state)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_msg_request_header_t h;
    sl_msg_api_versions_req_t *m;
    void *body;

    (void)state;
    sl_golden_check(sl_golden_k18_v3, sizeof(sl_golden_k18_v3), a, &h, &body);
    m = body;
    assert_int_equal(h.correlation_id, 1);
    assert_int_equal(m->client_software_name.len, 10);
    assert_memory_equal(m->client_software_name.ptr, "librdkafka", 10);
    assert_int_equal(m->client_software_version.len, 5);
    assert_memory_equal(m->client_software_version.ptr, "2.0.2", 5);
    sl_arena_destroy(a);
}

static void
test_golden_metadata_v4(void **state)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_msg_request_header_t h;
    sl_msg_metadata_req_t *m;
    void *body;

    (void)state;
    sl_golden_check(sl_golden_k3_v4, sizeof(sl_golden_k3_v4), a, &h, &body);
    m = body;
    assert_int_equal(m->topics_count, 1);
    assert_int_equal(m->topics[0].name.len, 1);
    assert_memory_equal(m->topics[0].name.ptr, "t", 1);
    assert_true(m->allow_auto_topic_creation);
    sl_arena_destroy(a);
}

static void
test_golden_produce_v7(void **state)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_msg_request_header_t h;
    sl_msg_produce_req_t *m;
    void *body;

    (void)state;
    sl_golden_check(sl_golden_k0_v7, sizeof(sl_golden_k0_v7), a, &h, &body);
    m = body;
    assert_int_equal(m->transactional_id.len, -1);
    assert_int_equal(m->acks, -1);
    assert_int_equal(m->timeout_ms, 30000);
    assert_int_equal(m->topic_data_count, 1);
    assert_int_equal(m->topic_data[0].partition_data_count, 1);
    assert_int_equal(m->topic_data[0].partition_data[0].index, 0);
    /* One record batch v2 (magic at offset 16) holding "hello". */
    assert_int_equal(m->topic_data[0].partition_data[0].records.len, 73);
    assert_int_equal(m->topic_data[0].partition_data[0].records.ptr[16], 2);
    sl_arena_destroy(a);
}

static void
test_golden_list_offsets_v2(void **state)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_msg_request_header_t h;
    sl_msg_list_offsets_req_t *m;
    void *body;

    (void)state;
    sl_golden_check(sl_golden_k2_v2, sizeof(sl_golden_k2_v2), a, &h, &body);
    m = body;
    assert_int_equal(m->replica_id, -1);
    assert_int_equal(m->topics_count, 1);
    assert_int_equal(m->topics[0].partitions_count, 1);
    assert_int_equal(m->topics[0].partitions[0].timestamp, -2); /* earliest */
    sl_arena_destroy(a);
}

static void
test_golden_fetch_v11(void **state)
{
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    sl_msg_request_header_t h;
    sl_msg_fetch_req_t *m;
    void *body;

    (void)state;
    sl_golden_check(sl_golden_k1_v11, sizeof(sl_golden_k1_v11), a, &h, &body);
    m = body;
    assert_int_equal(m->replica_id, -1);
    assert_int_equal(m->topics_count, 1);
    assert_int_equal(m->topics[0].topic.len, 1);
    assert_int_equal(m->topics[0].partitions_count, 1);
    assert_int_equal(m->topics[0].partitions[0].fetch_offset, 0);
    assert_int_equal(m->rack_id.len, 0);
    sl_arena_destroy(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_api_versions_v3),
        cmocka_unit_test(test_golden_metadata_v4),
        cmocka_unit_test(test_golden_produce_v7),
        cmocka_unit_test(test_golden_list_offsets_v2),
        cmocka_unit_test(test_golden_fetch_v11),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
