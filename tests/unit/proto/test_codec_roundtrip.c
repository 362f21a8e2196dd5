/*
 * tests/unit/proto/test_codec_roundtrip.c: the generated codecs, every API
 * key, request and response, every version; headers and data messages.
 *
 * random_fill -> size -> encode (bytes written == size) -> decode -> eq,
 * plus truncation at every byte, out-of-range versions, huge counts and the
 * header-version helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "proto/gen/api_table.h"
#include "proto/wire.h"

#define SL_TEST_SEEDS 12

/* Encode <m> with <c> at <v> into a fresh malloc'd buffer; checks that
 * encode writes exactly size() bytes. */
static uint8_t *
sl_test_encode(const sl_msg_codec_t *c, const void *m, int16_t v, size_t *len)
{
    size_t n = c->size(m, v);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    sl_wr_t wr;

    assert_non_null(buf);
    sl_wr_init(&wr, buf, n);
    assert_int_equal(c->encode(&wr, v, m), SL_OK);
    assert_int_equal(sl_wr_written(&wr), n);
    *len = n;
    return buf;
}

/* One round trip; returns the number of bytes of the encoding. */
static size_t
sl_test_roundtrip(const sl_msg_codec_t *c, int16_t v, uint64_t seed,
                  bool truncate)
{
    sl_arena_t *a = sl_arena_create(4096, 64 << 20);
    void *m = calloc(1, c->struct_size), *d = calloc(1, c->struct_size);
    uint8_t *buf;
    size_t len, cut;
    sl_rd_t rd;
    sl_err_t err;

    assert_non_null(a);
    c->init(m);
    c->random_fill(m, v, a, &seed);
    buf = sl_test_encode(c, m, v, &len);

    sl_rd_init(&rd, buf, len);
    err = c->decode(&rd, v, a, d);
    if (err != SL_OK || !c->eq(m, d, v)) {
        fail_msg("%s v%d seed %llu: decode %d, eq %d", c->name, v,
                 (unsigned long long)seed, err, err == SL_OK && c->eq(m, d, v));
    }
    assert_int_equal(sl_rd_remaining(&rd), 0);

    if (truncate) {
        /* Every byte the encoder wrote is needed: any prefix must fail. */
        for (cut = 0; cut < len; cut++) {
            uint8_t *part = malloc(cut > 0 ? cut : 1);

            memcpy(part, buf, cut);
            sl_rd_init(&rd, part, cut);
            err = c->decode(&rd, v, a, d);
            if (err == SL_OK) {
                fail_msg("%s v%d: truncated at %zu of %zu decoded", c->name, v,
                         cut, len);
            }
            free(part);
        }
    }
    free(buf);
    free(m);
    free(d);
    sl_arena_destroy(a);
    return len;
}

static void
test_all_apis_all_versions(void **state)
{
    int k, v, s, n = 0;
    size_t bytes = 0;

    (void)state;
    for (k = 0; k <= SL_API_KEY_MAX; k++) {
        const sl_api_codec_t *api = sl_api_codec((int16_t)k);

        if (api == NULL) {
            continue;
        }
        for (v = api->req.min_version; v <= api->req.max_version; v++) {
            for (s = 0; s < SL_TEST_SEEDS; s++) {
                bytes +=
                    sl_test_roundtrip(&api->req, (int16_t)v,
                                      (uint64_t)(k * 1000 + v * 31 + s), false);
                bytes +=
                    sl_test_roundtrip(&api->resp, (int16_t)v,
                                      (uint64_t)(k * 7000 + v * 17 + s), false);
                n += 2;
            }
        }
    }
    print_message("%d round trips, %zu bytes encoded\n", n, bytes);
    assert_true(n > 2000);
    assert_true(bytes > (size_t)n * 16); /* random_fill is not trivial */
}

/* eq() must tell apart messages whose encodings differ. */
static void
sl_test_eq_discriminates(const sl_msg_codec_t *c, int16_t v, uint64_t seed,
                         size_t *differing)
{
    sl_arena_t *a = sl_arena_create(4096, 64 << 20);
    void *m1 = calloc(1, c->struct_size), *m2 = calloc(1, c->struct_size);
    uint8_t *b1, *b2;
    size_t n1, n2;

    c->init(m1);
    c->init(m2);
    c->random_fill(m1, v, a, &seed);
    c->random_fill(m2, v, a, &seed);
    b1 = sl_test_encode(c, m1, v, &n1);
    b2 = sl_test_encode(c, m2, v, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0) {
        (*differing)++;
        if (c->eq(m1, m2, v)) {
            fail_msg("%s v%d: different encodings but eq", c->name, v);
        }
    } else if (!c->eq(m1, m2, v)) {
        fail_msg("%s v%d: same encoding but not eq", c->name, v);
    }
    assert_true(c->eq(m1, m1, v));
    free(b1);
    free(b2);
    free(m1);
    free(m2);
    sl_arena_destroy(a);
}

static void
test_eq_discriminates(void **state)
{
    size_t differing = 0, total = 0;
    int k, v, s;

    (void)state;
    for (k = 0; k <= SL_API_KEY_MAX; k++) {
        const sl_api_codec_t *api = sl_api_codec((int16_t)k);

        if (api == NULL) {
            continue;
        }
        for (v = api->req.min_version; v <= api->req.max_version; v++) {
            for (s = 0; s < 4; s++) {
                sl_test_eq_discriminates(&api->req, (int16_t)v,
                                         (uint64_t)(k * 11 + v + s * 977),
                                         &differing);
                sl_test_eq_discriminates(&api->resp, (int16_t)v,
                                         (uint64_t)(k * 13 + v + s * 997),
                                         &differing);
                total += 2;
            }
        }
    }
    /* random_fill must produce varied messages, not defaults. */
    assert_true(differing * 10 > total * 9);
}

static void
test_truncation_every_byte(void **state)
{
    int k;

    (void)state;
    /* Every key at every version, one message each. */
    for (k = 0; k <= SL_API_KEY_MAX; k++) {
        const sl_api_codec_t *api = sl_api_codec((int16_t)k);
        int v;

        if (api == NULL) {
            continue;
        }
        for (v = api->req.min_version; v <= api->req.max_version; v++) {
            sl_test_roundtrip(&api->req, (int16_t)v, (uint64_t)(k + v), true);
            sl_test_roundtrip(&api->resp, (int16_t)v, (uint64_t)(k - v), true);
        }
    }
}

static void
test_headers_and_data(void **state)
{
    size_t i;
    int v, s;

    (void)state;
    for (i = 0; i < 2; i++) {
        const sl_msg_codec_t *c = &sl_msg_header_codecs[i];

        for (v = c->min_version; v <= c->max_version; v++) {
            for (s = 0; s < SL_TEST_SEEDS; s++) {
                sl_test_roundtrip(c, (int16_t)v, (uint64_t)s, s == 0);
            }
        }
    }
    assert_true(SL_MSG_DATA_COUNT >= 40);
    for (i = 0; i < SL_MSG_DATA_COUNT; i++) {
        const sl_msg_codec_t *c = &sl_msg_data_codecs[i];

        for (v = c->min_version; v <= c->max_version; v++) {
            for (s = 0; s < SL_TEST_SEEDS; s++) {
                sl_test_roundtrip(c, (int16_t)v, (uint64_t)(i * 100 + s),
                                  s == 0);
            }
        }
    }
}

static void
test_unsupported_version(void **state)
{
    uint8_t buf[64] = {0};
    sl_arena_t *a = sl_arena_create(4096, 1 << 20);
    int k;

    (void)state;
    for (k = 0; k <= SL_API_KEY_MAX; k++) {
        const sl_api_codec_t *api = sl_api_codec((int16_t)k);
        void *m;
        sl_rd_t rd;

        if (api == NULL) {
            continue;
        }
        m = calloc(1, api->req.struct_size);
        sl_rd_init(&rd, buf, sizeof(buf));
        assert_int_equal(
            api->req.decode(&rd, (int16_t)(api->req.max_version + 1), a, m),
            SL_ERR_UNSUPPORTED_VERSION);
        sl_rd_init(&rd, buf, sizeof(buf));
        assert_int_equal(api->req.decode(&rd, -1, a, m),
                         SL_ERR_UNSUPPORTED_VERSION);
        free(m);
        m = calloc(1, api->resp.struct_size);
        sl_rd_init(&rd, buf, sizeof(buf));
        assert_int_equal(
            api->resp.decode(&rd, (int16_t)(api->resp.max_version + 1), a, m),
            SL_ERR_UNSUPPORTED_VERSION);
        free(m);
    }
    assert_null(sl_api_codec(-1));
    assert_null(sl_api_codec(SL_API_KEY_MAX + 1));
    sl_arena_destroy(a);
}

static void
test_header_versions(void **state)
{
    (void)state;
    assert_int_equal(sl_msg_request_header_version(0, 8), 1); /* Produce */
    assert_int_equal(sl_msg_request_header_version(0, 9), 2);
    assert_int_equal(sl_msg_request_header_version(7, 0), 0); /* CtrlShut */
    assert_int_equal(sl_msg_request_header_version(7, 1), 1);
    assert_int_equal(sl_msg_request_header_version(18, 3), 2); /* ApiVers */
    assert_int_equal(sl_msg_response_header_version(18, 3), 0);
    assert_int_equal(sl_msg_response_header_version(18, 0), 0);
    assert_int_equal(sl_msg_response_header_version(3, 9), 1); /* Metadata */
    assert_int_equal(sl_msg_response_header_version(3, 8), 0);
    assert_int_equal(sl_msg_request_header_version(17, 1), 1); /* SaslHs */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_apis_all_versions),
        cmocka_unit_test(test_eq_discriminates),
        cmocka_unit_test(test_truncation_every_byte),
        cmocka_unit_test(test_headers_and_data),
        cmocka_unit_test(test_unsupported_version),
        cmocka_unit_test(test_header_versions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
