/*
 * tests/unit/proto/test_codec_wire.c: byte-level checks of the generated
 * codecs and proto/wire.c: known encodings, null versus empty, unknown tagged
 * fields kept byte for byte, and hostile counts and lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "proto/gen/api_versions.h"
#include "proto/gen/describe_topic_partitions.h"
#include "proto/gen/headers.h"
#include "proto/gen/metadata.h"
#include "proto/gen/produce.h"
#include "proto/wire.h"

static sl_arena_t *sl_test_arena;

static int
sl_test_setup(void **state)
{
    (void)state;
    sl_test_arena = sl_arena_create(4096, 1 << 20);
    return sl_test_arena == NULL;
}

static int
sl_test_teardown(void **state)
{
    (void)state;
    sl_arena_destroy(sl_test_arena);
    return 0;
}

static sl_str_t
S(const char *s)
{
    return sl_str_lit(s);
}

static void
test_request_header_v2_bytes(void **state)
{
    static const uint8_t want[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00,
                                   0x00, 0x01, 0x00, 0x01, 'c',  0x00};
    sl_msg_request_header_t h, d;
    uint8_t buf[64];
    sl_wr_t wr;
    sl_rd_t rd;

    (void)state;
    sl_msg_request_header_init(&h);
    h.request_api_key = 18;
    h.request_api_version = 3;
    h.correlation_id = 1;
    h.client_id = S("c");
    /* client_id stays a classic int16 string even in header v2. */
    assert_int_equal(sl_msg_request_header_size(&h, 2), sizeof(want));
    sl_wr_init(&wr, buf, sizeof(want));
    assert_int_equal(sl_msg_request_header_encode(&wr, 2, &h), SL_OK);
    assert_memory_equal(buf, want, sizeof(want));

    sl_rd_init(&rd, want, sizeof(want));
    assert_int_equal(sl_msg_request_header_decode(&rd, 2, sl_test_arena, &d),
                     SL_OK);
    assert_int_equal(d.correlation_id, 1);
    assert_int_equal(d.client_id.len, 1);

    /* v1 with a null client id: int16 -1, no tag section. */
    h.client_id.len = -1;
    h.client_id.ptr = NULL;
    assert_int_equal(sl_msg_request_header_size(&h, 1), 10);
    sl_wr_init(&wr, buf, 10);
    assert_int_equal(sl_msg_request_header_encode(&wr, 1, &h), SL_OK);
    assert_int_equal(buf[8], 0xff);
    assert_int_equal(buf[9], 0xff);
    /* v0 has no client id at all. */
    assert_int_equal(sl_msg_request_header_size(&h, 0), 8);
}

static void
test_api_versions_request_v3_bytes(void **state)
{
    static const uint8_t want[] = {0x02, 'a', 0x02, '1', 0x00};
    sl_msg_api_versions_req_t m;
    uint8_t buf[16];
    sl_wr_t wr;
    sl_rd_t rd;
    static const uint8_t null_name[] = {0x00, 0x02, '1', 0x00};

    (void)state;
    sl_msg_api_versions_req_init(&m);
    m.client_software_name = S("a");
    m.client_software_version = S("1");
    assert_int_equal(sl_msg_api_versions_req_size(&m, 3), sizeof(want));
    sl_wr_init(&wr, buf, sizeof(want));
    assert_int_equal(sl_msg_api_versions_req_encode(&wr, 3, &m), SL_OK);
    assert_memory_equal(buf, want, sizeof(want));
    /* v0-v2 have an empty body. */
    assert_int_equal(sl_msg_api_versions_req_size(&m, 2), 0);

    /* A null in a non-nullable compact string is malformed. */
    sl_rd_init(&rd, null_name, sizeof(null_name));
    assert_int_equal(sl_msg_api_versions_req_decode(&rd, 3, sl_test_arena, &m),
                     SL_ERR__PROTO);
}

/* Encode a produce request at <v> and return the first bytes. */
static void
sl_test_produce_txn_id(int16_t v, sl_str_t id, const uint8_t *want, size_t wn)
{
    sl_msg_produce_req_t m, d;
    uint8_t buf[64];
    size_t n;
    sl_wr_t wr;
    sl_rd_t rd;

    sl_msg_produce_req_init(&m);
    m.transactional_id = id;
    n = sl_msg_produce_req_size(&m, v);
    assert_true(n <= sizeof(buf));
    sl_wr_init(&wr, buf, n);
    assert_int_equal(sl_msg_produce_req_encode(&wr, v, &m), SL_OK);
    assert_memory_equal(buf, want, wn);
    sl_rd_init(&rd, buf, n);
    assert_int_equal(sl_msg_produce_req_decode(&rd, v, sl_test_arena, &d),
                     SL_OK);
    assert_int_equal(d.transactional_id.len, id.len);
    assert_true(sl_msg_produce_req_eq(&m, &d, v));
}

static void
test_null_versus_empty(void **state)
{
    static const uint8_t c_null[] = {0xff, 0xff}, c_empty[] = {0x00, 0x00};
    static const uint8_t f_null[] = {0x00}, f_empty[] = {0x01};
    static const uint8_t a_null[] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t a_empty[] = {0x00, 0x00, 0x00, 0x00};
    sl_str_t null = {NULL, -1};
    sl_msg_metadata_req_t m, d;
    uint8_t buf[64];
    sl_wr_t wr;
    sl_rd_t rd;
    int16_t v;

    (void)state;
    sl_test_produce_txn_id(3, null, c_null, 2);
    sl_test_produce_txn_id(3, S(""), c_empty, 2);
    sl_test_produce_txn_id(9, null, f_null, 1);
    sl_test_produce_txn_id(9, S(""), f_empty, 1);

    /* Metadata topics: null means "all topics" from v1; v0 cannot say it. */
    for (v = 1; v <= 12; v++) {
        int32_t counts[2] = {-1, 0};
        int i;

        for (i = 0; i < 2; i++) {
            size_t n;

            sl_msg_metadata_req_init(&m);
            m.topics_count = counts[i];
            n = sl_msg_metadata_req_size(&m, v);
            sl_wr_init(&wr, buf, n);
            assert_int_equal(sl_msg_metadata_req_encode(&wr, v, &m), SL_OK);
            if (v == 1) {
                assert_memory_equal(buf, i == 0 ? a_null : a_empty, 4);
            }
            sl_rd_init(&rd, buf, n);
            assert_int_equal(
                sl_msg_metadata_req_decode(&rd, v, sl_test_arena, &d), SL_OK);
            assert_int_equal(d.topics_count, counts[i]);
        }
    }
    sl_msg_metadata_req_init(&m);
    m.topics_count = -1;
    sl_wr_init(&wr, buf, sl_msg_metadata_req_size(&m, 0));
    assert_int_equal(sl_msg_metadata_req_encode(&wr, 0, &m), SL_OK);
    assert_memory_equal(buf, a_empty, 4);
}

static void
test_nullable_struct_marker(void **state)
{
    sl_msg_describe_topic_partitions_req_t m, d;
    uint8_t buf[64];
    size_t n;
    sl_wr_t wr;
    sl_rd_t rd;

    (void)state;
    sl_msg_describe_topic_partitions_req_init(&m);
    assert_false(m.cursor_present); /* default null */
    assert_int_equal(m.response_partition_limit, 2000);
    n = sl_msg_describe_topic_partitions_req_size(&m, 0);
    /* topics(1) + limit(4) + cursor marker(1) + tags(1) */
    assert_int_equal(n, 7);
    sl_wr_init(&wr, buf, n);
    assert_int_equal(sl_msg_describe_topic_partitions_req_encode(&wr, 0, &m),
                     SL_OK);
    assert_int_equal(buf[5], 0xff);

    m.cursor_present = true;
    m.cursor.topic_name = S("t");
    m.cursor.partition_index = 3;
    n = sl_msg_describe_topic_partitions_req_size(&m, 0);
    sl_wr_init(&wr, buf, n);
    assert_int_equal(sl_msg_describe_topic_partitions_req_encode(&wr, 0, &m),
                     SL_OK);
    assert_int_equal(buf[5], 0x01);
    sl_rd_init(&rd, buf, n);
    assert_int_equal(
        sl_msg_describe_topic_partitions_req_decode(&rd, 0, sl_test_arena, &d),
        SL_OK);
    assert_true(d.cursor_present);
    assert_int_equal(d.cursor.partition_index, 3);
    assert_true(sl_msg_describe_topic_partitions_req_eq(&m, &d, 0));
}

static void
test_unknown_tags_preserved(void **state)
{
    /* ApiVersions response v3: error, empty api_keys, throttle, then tags:
     * known tag 1 (FinalizedFeaturesEpoch = 7), unknown 5 ("hi"), unknown 9
     * (empty). */
    static const uint8_t in[] = {
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x08, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x05, 0x02, 'h',  'i',  0x09, 0x00};
    sl_msg_api_versions_resp_t m, d;
    uint8_t buf[64];
    size_t n;
    sl_wr_t wr;
    sl_rd_t rd;

    (void)state;
    sl_rd_init(&rd, in, sizeof(in));
    assert_int_equal(sl_msg_api_versions_resp_decode(&rd, 3, sl_test_arena, &m),
                     SL_OK);
    assert_int_equal(m.finalized_features_epoch, 7);
    assert_int_equal(m.unknown_tags.count, 2);
    assert_int_equal(m.unknown_tags.items[0].tag, 5);
    assert_int_equal(m.unknown_tags.items[0].data.len, 2);
    assert_memory_equal(m.unknown_tags.items[0].data.ptr, "hi", 2);
    assert_int_equal(m.unknown_tags.items[1].tag, 9);
    assert_int_equal(m.unknown_tags.items[1].data.len, 0);

    n = sl_msg_api_versions_resp_size(&m, 3);
    assert_int_equal(n, sizeof(in));
    sl_wr_init(&wr, buf, n);
    assert_int_equal(sl_msg_api_versions_resp_encode(&wr, 3, &m), SL_OK);
    assert_memory_equal(buf, in, sizeof(in));

    /* Unknown tags added by a handler merge with known ones in tag order. */
    sl_tag_t extra[1] = {{0, {(const uint8_t *)"", 0}}};
    sl_msg_api_versions_resp_init(&d);
    d.finalized_features_epoch = 7;
    extra[0].tag = 2000;
    d.unknown_tags.items = extra;
    d.unknown_tags.count = 1;
    n = sl_msg_api_versions_resp_size(&d, 3);
    sl_wr_init(&wr, buf, n);
    assert_int_equal(sl_msg_api_versions_resp_encode(&wr, 3, &d), SL_OK);
    assert_int_equal(buf[7], 0x02);  /* two tags */
    assert_int_equal(buf[8], 0x01);  /* known tag 1 first */
    assert_int_equal(buf[18], 0xd0); /* then 2000 = 0xd0 0x0f */
    assert_int_equal(buf[19], 0x0f);
}

static void
test_hostile_counts(void **state)
{
    static const uint8_t huge_classic[] = {0x7f, 0xff, 0xff, 0xff,
                                           0x00, 0x00, 0x00, 0x00};
    static const uint8_t huge_compact[] = {0xff, 0xff, 0xff, 0xff, 0x07,
                                           0x00, 0x00, 0x00, 0x00};
    static const uint8_t neg_classic[] = {0xff, 0xff, 0xff, 0xfe};
    /* produce v3: txn id null, acks, timeout, one topic "t" whose partition
     * array claims 2^30 entries. */
    static const uint8_t prod[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00,
                                   0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
                                   't',  0x40, 0x00, 0x00, 0x00, 0x00};
    /* api versions request v3 whose tag section claims 1000 tags. */
    static const uint8_t tags[] = {0x02, 'a', 0x02, '1', 0xe8, 0x07, 0x00};
    /* a compact string longer than 32767 bytes */
    static const uint8_t longstr[] = {0x81, 0x80, 0x02, 'a'};
    sl_msg_metadata_req_t m;
    sl_msg_produce_req_t p;
    sl_msg_api_versions_req_t av;
    sl_rd_t rd;

    (void)state;
    sl_arena_reset(sl_test_arena);
    sl_rd_init(&rd, huge_classic, sizeof(huge_classic));
    assert_int_equal(sl_msg_metadata_req_decode(&rd, 1, sl_test_arena, &m),
                     SL_ERR__PROTO);
    sl_rd_init(&rd, huge_compact, sizeof(huge_compact));
    assert_int_equal(sl_msg_metadata_req_decode(&rd, 9, sl_test_arena, &m),
                     SL_ERR__PROTO);
    sl_rd_init(&rd, neg_classic, sizeof(neg_classic));
    assert_int_equal(sl_msg_metadata_req_decode(&rd, 1, sl_test_arena, &m),
                     SL_ERR__PROTO);
    assert_int_equal(sl_arena_used(sl_test_arena), 0);

    sl_rd_init(&rd, prod, sizeof(prod));
    assert_int_equal(sl_msg_produce_req_decode(&rd, 3, sl_test_arena, &p),
                     SL_ERR__PROTO);
    /* Only the one-element topic array was allocated. */
    assert_true(sl_arena_used(sl_test_arena) <= 256);

    sl_arena_reset(sl_test_arena);
    sl_rd_init(&rd, tags, sizeof(tags));
    assert_int_equal(sl_msg_api_versions_req_decode(&rd, 3, sl_test_arena, &av),
                     SL_ERR__PROTO);
    assert_int_equal(sl_arena_used(sl_test_arena), 0);
    sl_rd_init(&rd, longstr, sizeof(longstr));
    assert_int_equal(sl_msg_api_versions_req_decode(&rd, 3, sl_test_arena, &av),
                     SL_ERR__PROTO);
}

static void
test_reader_sticky_error(void **state)
{
    static const uint8_t two[] = {0x01, 0x02};
    static const uint8_t overlong[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    sl_rd_t rd;
    int32_t i32;
    int16_t i16;
    uint32_t u;

    (void)state;
    sl_rd_init(&rd, two, sizeof(two));
    sl_rd_i32(&rd, &i32);
    assert_int_equal(sl_rd_error(&rd), SL_ERR__PROTO);
    assert_int_equal(i32, 0);
    sl_rd_i16(&rd, &i16); /* would fit, but the reader already failed */
    assert_int_equal(i16, 0);
    assert_int_equal(sl_rd_error(&rd), SL_ERR__PROTO);

    sl_rd_init(&rd, overlong, sizeof(overlong));
    sl_rd_uvarint(&rd, &u);
    assert_int_equal(sl_rd_error(&rd), SL_ERR__PROTO);

    sl_rd_init(&rd, two, sizeof(two));
    sl_rd_i16(&rd, &i16);
    assert_int_equal(i16, 0x0102);
    assert_int_equal(sl_rd_remaining(&rd), 0);
    assert_int_equal(sl_rd_error(&rd), SL_OK);
}

static void
test_writer_bounds(void **state)
{
    uint8_t buf[3] = {0xaa, 0xaa, 0xaa};
    sl_wr_t wr;

    (void)state;
    sl_wr_init(&wr, buf, 2);
    sl_wr_i32(&wr, 0x01020304);
    assert_int_equal(sl_wr_error(&wr), SL_ERR__TOOBIG);
    assert_int_equal(sl_wr_written(&wr), 0);
    assert_int_equal(buf[0], 0xaa);
    sl_wr_init(&wr, buf, 2);
    sl_wr_i16(&wr, -2);
    assert_int_equal(sl_wr_error(&wr), SL_OK);
    assert_int_equal(buf[0], 0xff);
    assert_int_equal(buf[1], 0xfe);
    assert_int_equal(buf[2], 0xaa);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_header_v2_bytes),
        cmocka_unit_test(test_api_versions_request_v3_bytes),
        cmocka_unit_test(test_null_versus_empty),
        cmocka_unit_test(test_nullable_struct_marker),
        cmocka_unit_test(test_unknown_tags_preserved),
        cmocka_unit_test(test_hostile_counts),
        cmocka_unit_test(test_reader_sticky_error),
        cmocka_unit_test(test_writer_bounds),
    };

    return cmocka_run_group_tests(tests, sl_test_setup, sl_test_teardown);
}
