/*
 * tests/unit/proto/test_batch.c: record batch v2 build -> parse -> iterate
 * for every codec, CRC and structure checks, truncation at every length,
 * lying lengths, in-place rewrites, batch sequences with a partial tail,
 * control records, and batches captured from librdkafka (tests/data/batches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/crc32c.h"
#include "proto/batch.h"

#define NREC 100

static const int codecs[] = {SL_CODEC_NONE, SL_CODEC_GZIP, SL_CODEC_SNAPPY,
                             SL_CODEC_LZ4, SL_CODEC_ZSTD};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

typedef struct {
    char key[32];
    char value[128];
    char idx[16];
    sl_header_in_t hdr[2];
    sl_record_in_t rec[NREC];
} fixture_t;

/* Records i: key "key-<i>" (null for i == 7), value "value-<i>" (null for
 * i == 9), headers idx=<i> and, for odd i, "odd" with a null value. */
static void
fixture_init(fixture_t *f, char keys[NREC][16], char vals[NREC][32],
             char idxs[NREC][8], sl_header_in_t hdrs[NREC][2])
{
    int i;

    memset(f, 0, sizeof(*f));
    for (i = 0; i < NREC; i++) {
        snprintf(keys[i], 16, "key-%d", i);
        snprintf(vals[i], 32, "value-%d", i);
        snprintf(idxs[i], 8, "%d", i);
        hdrs[i][0] = (sl_header_in_t){"idx", 3, (const uint8_t *)idxs[i],
                                      strlen(idxs[i])};
        hdrs[i][1] = (sl_header_in_t){"odd", 3, NULL, 0};
        f->rec[i].key = i == 7 ? NULL : (const uint8_t *)keys[i];
        f->rec[i].key_len = strlen(keys[i]);
        f->rec[i].value = i == 9 ? NULL : (const uint8_t *)vals[i];
        f->rec[i].value_len = strlen(vals[i]);
        f->rec[i].timestamp = 1700000000000 + i * 3 - (i == 50 ? 1000 : 0);
        f->rec[i].headers = hdrs[i];
        f->rec[i].headers_count = (i % 2) ? 2 : 1;
    }
}

static char g_keys[NREC][16], g_vals[NREC][32], g_idxs[NREC][8];
static sl_header_in_t g_hdrs[NREC][2];
static fixture_t g_fix;

static int
setup(void **state)
{
    (void)state;
    fixture_init(&g_fix, g_keys, g_vals, g_idxs, g_hdrs);
    return 0;
}

static void
check_records(const sl_batch_t *b, const fixture_t *f)
{
    const uint8_t *recs;
    uint8_t *owned;
    size_t len;
    sl_record_iter_t it;
    sl_record_t r;
    sl_header_iter_t hi;
    sl_record_header_t h;
    int i = 0;
    sl_err_t err;

    assert_int_equal(sl_batch_records(b, 1 << 20, &recs, &len, &owned), SL_OK);
    sl_record_iter_init(&it, recs, len, b->records_count);
    while ((err = sl_record_iter_next(&it, &r)) == SL_OK) {
        const sl_record_in_t *in = &f->rec[i];
        assert_int_equal(r.offset_delta, i);
        assert_int_equal(b->base_timestamp + r.timestamp_delta, in->timestamp);
        if (in->key == NULL) {
            assert_int_equal(r.key_len, -1);
            assert_null(r.key);
        } else {
            assert_int_equal(r.key_len, (int32_t)in->key_len);
            assert_memory_equal(r.key, in->key, in->key_len);
        }
        if (in->value == NULL) {
            assert_int_equal(r.value_len, -1);
        } else {
            assert_int_equal(r.value_len, (int32_t)in->value_len);
            assert_memory_equal(r.value, in->value, in->value_len);
        }
        assert_int_equal(r.headers_count, (int32_t)in->headers_count);
        sl_header_iter_init(&hi, &r);
        assert_int_equal(sl_header_iter_next(&hi, &h), SL_OK);
        assert_int_equal(h.key_len, 3);
        assert_memory_equal(h.key, "idx", 3);
        assert_int_equal(h.value_len, (int32_t)in->headers[0].value_len);
        assert_memory_equal(h.value, in->headers[0].value, h.value_len);
        if (in->headers_count == 2) {
            assert_int_equal(sl_header_iter_next(&hi, &h), SL_OK);
            assert_memory_equal(h.key, "odd", 3);
            assert_int_equal(h.value_len, -1);
            assert_null(h.value);
        }
        assert_int_equal(sl_header_iter_next(&hi, &h), SL_ERR__NOENT);
        i++;
    }
    assert_int_equal(err, SL_ERR__NOENT);
    assert_int_equal(i, NREC);
    free(owned);
}

static void
test_batch_roundtrip_codecs(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len, c;
    sl_batch_t b;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        bp.base_offset = 1000;
        bp.producer_id = 4242;
        bp.producer_epoch = 3;
        bp.base_sequence = 77;
        bp.transactional = c % 2 == 1;
        assert_int_equal(sl_batch_build(&bp, g_fix.rec, NREC, &buf, &len),
                         SL_OK);
        assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b),
                         SL_OK);
        assert_int_equal(b.base_offset, 1000);
        assert_int_equal(b.batch_length, (int32_t)len - 12);
        assert_int_equal(b.partition_leader_epoch, -1);
        assert_int_equal(b.magic, 2);
        assert_int_equal(sl_batch_codec(&b), codecs[c]);
        assert_int_equal(sl_batch_is_transactional(&b), c % 2 == 1);
        assert_false(sl_batch_is_control(&b));
        assert_int_equal(b.last_offset_delta, NREC - 1);
        assert_int_equal(b.records_count, NREC);
        assert_int_equal(b.base_timestamp, 1700000000000);
        assert_int_equal(b.max_timestamp, 1700000000000 + 99 * 3);
        assert_int_equal(b.producer_id, 4242);
        assert_int_equal(b.producer_epoch, 3);
        assert_int_equal(b.base_sequence, 77);
        assert_int_equal(b.crc, sl_crc32c(0, buf + 21, len - 21));
        assert_int_equal(
            sl_batch_validate_records(&b, 1 << 20, SL_BATCH_F_PRODUCE), SL_OK);
        check_records(&b, &g_fix);
        /* Too small an output bound for the compressed records. */
        if (codecs[c] != SL_CODEC_NONE) {
            assert_int_equal(sl_batch_validate_records(&b, 100, 0),
                             SL_ERR__TOOBIG);
        }
        free(buf);
    }
}

static void
test_batch_empty(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len;
    sl_batch_t b;

    (void)state;
    sl_batch_params_init(&bp);
    assert_int_equal(sl_batch_build(&bp, NULL, 0, &buf, &len), SL_OK);
    assert_int_equal(len, SL_BATCH_HEADER_SIZE);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
    assert_int_equal(b.records_count, 0);
    assert_int_equal(b.base_timestamp, -1);
    assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0), SL_OK);
    /* Producers may not send empty batches. */
    assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b),
                     SL_ERR_INVALID_RECORD);
    free(buf);
}

static void
test_batch_crc_mismatch(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len, i, c;
    sl_batch_t b;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        assert_int_equal(sl_batch_build(&bp, g_fix.rec, 5, &buf, &len), SL_OK);
        for (i = 0; i < len; i++) {
            buf[i] ^= 0x10;
            if (i < 8 || (i >= 12 && i < 16)) {
                /* base offset and leader epoch are outside the CRC */
                assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
            } else {
                assert_int_equal(sl_batch_parse(buf, len, 0, &b),
                                 SL_ERR_CORRUPT_MESSAGE);
            }
            buf[i] ^= 0x10;
        }
        /* NOCRC skips only the checksum. */
        buf[len - 1] ^= 1;
        assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_NOCRC, &b), SL_OK);
        free(buf);
    }
}

static void
test_batch_truncated_every_length(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len, cut, partial, c;
    sl_batch_t b;
    sl_batch_seq_t seq;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        assert_int_equal(sl_batch_build(&bp, g_fix.rec, 20, &buf, &len), SL_OK);
        for (cut = 0; cut < len; cut++) {
            /* Copy so ASan sees reads past the cut. */
            uint8_t *t = malloc(cut > 0 ? cut : 1);
            memcpy(t, buf, cut);
            assert_int_equal(sl_batch_parse(t, cut, 0, &b),
                             SL_ERR_CORRUPT_MESSAGE);
            sl_batch_seq_init(&seq, t, cut, 0);
            if (cut == 0) {
                assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                                 SL_ERR__NOENT);
            } else {
                assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                                 SL_ERR__AGAIN);
                assert_int_equal(partial, cut);
            }
            free(t);
        }
        free(buf);
    }
}

static void
test_batch_lying_batch_length(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len, partial;
    sl_batch_t b;
    sl_batch_seq_t seq;

    (void)state;
    sl_batch_params_init(&bp);
    assert_int_equal(sl_batch_build(&bp, g_fix.rec, 3, &buf, &len), SL_OK);
    /* Larger than the bytes. */
    buf[11] = (uint8_t)(buf[11] + 1);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_ERR_CORRUPT_MESSAGE);
    sl_batch_seq_init(&seq, buf, len, 0);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_ERR__AGAIN);
    assert_int_equal(partial, len);
    /* Smaller than the bytes: as a sequence, the CRC catches it. */
    buf[11] = (uint8_t)(buf[11] - 2);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_ERR_CORRUPT_MESSAGE);
    sl_batch_seq_init(&seq, buf, len, 0);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                     SL_ERR_CORRUPT_MESSAGE);
    /* ... and the error sticks. */
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                     SL_ERR_CORRUPT_MESSAGE);
    /* Below the header size, and negative. */
    memset(buf + 8, 0, 4);
    buf[11] = 48;
    sl_batch_seq_init(&seq, buf, len, 0);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                     SL_ERR_CORRUPT_MESSAGE);
    memset(buf + 8, 0xff, 4);
    sl_batch_seq_init(&seq, buf, len, 0);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial),
                     SL_ERR_CORRUPT_MESSAGE);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_ERR_CORRUPT_MESSAGE);
    free(buf);
}

/* A batch whose records block is <recs> (uncompressed) with header fields
 * count and last_offset_delta given; CRC made valid. */
static uint8_t *
mk_raw(const uint8_t *recs, size_t n, int32_t count, int32_t lod,
       size_t *out_len)
{
    sl_batch_params_t bp;
    uint8_t *hdr, *buf;
    size_t hlen, len = SL_BATCH_HEADER_SIZE + n;

    sl_batch_params_init(&bp);
    assert_int_equal(sl_batch_build(&bp, NULL, 0, &hdr, &hlen), SL_OK);
    buf = malloc(len);
    memcpy(buf, hdr, SL_BATCH_HEADER_SIZE);
    memcpy(buf + SL_BATCH_HEADER_SIZE, recs, n);
    free(hdr);
    buf[8] = (uint8_t)((len - 12) >> 24);
    buf[9] = (uint8_t)((len - 12) >> 16);
    buf[10] = (uint8_t)((len - 12) >> 8);
    buf[11] = (uint8_t)(len - 12);
    buf[23] = (uint8_t)((uint32_t)lod >> 24);
    buf[24] = (uint8_t)((uint32_t)lod >> 16);
    buf[25] = (uint8_t)((uint32_t)lod >> 8);
    buf[26] = (uint8_t)lod;
    buf[57] = (uint8_t)((uint32_t)count >> 24);
    buf[58] = (uint8_t)((uint32_t)count >> 16);
    buf[59] = (uint8_t)((uint32_t)count >> 8);
    buf[60] = (uint8_t)count;
    sl_batch_update_crc(buf, len);
    *out_len = len;
    return buf;
}

static sl_err_t
check_raw(const uint8_t *recs, size_t n, int32_t count, int32_t lod)
{
    size_t len;
    uint8_t *buf = mk_raw(recs, n, count, lod, &len);
    sl_batch_t b;
    sl_err_t err = sl_batch_parse(buf, len, 0, &b);

    if (err == SL_OK) {
        err = sl_batch_validate_records(&b, 1 << 20, 0);
    }
    free(buf);
    return err;
}

static void
test_batch_lying_records(void **state)
{
    /* len 8: attr, ts 0, off 0, key "k", value "v", 0 headers */
    const uint8_t ok[] = {0x10, 0, 0, 0, 2, 'k', 2, 'v', 0};
    uint8_t r[sizeof(ok) + 2];
    const uint8_t two[] = {0x10, 0, 0, 0, 2, 'k', 2, 'v', 0,
                           0x10, 0, 0, 2, 2, 'k', 2, 'v', 0};
    const uint8_t overflow32[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t overflow64[] = {0x18, 0,    0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0};
    const uint8_t hdr_ok[] = {0x12, 0, 0, 0, 1, 1, 2, 2, 'h', 1};
    const uint8_t hdr_nullkey[] = {0x12, 0, 0, 0, 1, 1, 2, 1, 2, 'h'};

    (void)state;
    assert_int_equal(check_raw(ok, sizeof(ok), 1, 0), SL_OK);
    assert_int_equal(check_raw(two, sizeof(two), 2, 1), SL_OK);
    assert_int_equal(check_raw(hdr_ok, sizeof(hdr_ok), 1, 0), SL_OK);
#define MUT(i, v, err)                                                         \
    do {                                                                       \
        memcpy(r, ok, sizeof(ok));                                             \
        r[i] = (v);                                                            \
        assert_int_equal(check_raw(r, sizeof(ok), 1, 0), err);                 \
    } while (0)
    MUT(0, 0x12, SL_ERR_INVALID_RECORD); /* record length past the end */
    MUT(0, 0x0e, SL_ERR_INVALID_RECORD); /* shorter than its fields */
    MUT(0, 0x01, SL_ERR_INVALID_RECORD); /* negative record length */
    MUT(4, 0x03, SL_ERR_INVALID_RECORD); /* key length -2 */
    MUT(4, 0x0a, SL_ERR_INVALID_RECORD); /* key past the record */
    MUT(6, 0x7f, SL_ERR_INVALID_RECORD); /* value length -64 */
    MUT(8, 0x01, SL_ERR_INVALID_RECORD); /* header count -1 */
    MUT(8, 0x02, SL_ERR_INVALID_RECORD); /* one header, no bytes */
    MUT(4, 0x80, SL_ERR_INVALID_RECORD); /* varint continues past record */
#undef MUT
    /* Overlong varints. */
    assert_int_equal(check_raw(overflow32, sizeof(overflow32), 1, 0),
                     SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(overflow64, sizeof(overflow64), 1, 0),
                     SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(hdr_nullkey, sizeof(hdr_nullkey), 1, 0),
                     SL_ERR_INVALID_RECORD);
    /* Counts that do not match the records. */
    assert_int_equal(check_raw(ok, sizeof(ok), 2, 1), SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(two, sizeof(two), 1, 1), SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(ok, sizeof(ok), 0, 0), SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(ok, sizeof(ok), -1, 0), SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(two, sizeof(two), 2, 0),
                     SL_ERR_INVALID_RECORD); /* lod < count - 1 */
    assert_int_equal(check_raw(ok, sizeof(ok), 1, -1), SL_ERR_INVALID_RECORD);
    assert_int_equal(check_raw(ok, sizeof(ok), 0x7fffffff, 0x7fffffff),
                     SL_ERR_INVALID_RECORD);
    /* Trailing junk after the last record. */
    memcpy(r, ok, sizeof(ok));
    r[sizeof(ok)] = 0;
    assert_int_equal(check_raw(r, sizeof(ok) + 1, 1, 0), SL_ERR_INVALID_RECORD);
    /* Offset deltas: a hole is fine for a compacted log, a repeat is not. */
    memcpy(r, two, 0);
    {
        uint8_t t[sizeof(two)];
        memcpy(t, two, sizeof(two));
        t[12] = 6; /* second offset delta 3 */
        assert_int_equal(check_raw(t, sizeof(t), 2, 3), SL_OK);
        assert_int_equal(check_raw(t, sizeof(t), 2, 2), SL_ERR_INVALID_RECORD);
        t[12] = 0; /* second offset delta 0 */
        assert_int_equal(check_raw(t, sizeof(t), 2, 1), SL_ERR_INVALID_RECORD);
    }
}

static void
test_batch_header_fields(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len;
    sl_batch_t b;

    (void)state;
    sl_batch_params_init(&bp);
    assert_int_equal(sl_batch_build(&bp, g_fix.rec, 2, &buf, &len), SL_OK);
    /* Codec 5..7. */
    buf[22] = (uint8_t)((buf[22] & ~7) | 5);
    sl_batch_update_crc(buf, len);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b),
                     SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
    buf[22] = (uint8_t)(buf[22] & ~7);
    sl_batch_update_crc(buf, len);
    /* Magic 1 and 3. */
    buf[16] = 1;
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_ERR_CORRUPT_MESSAGE);
    buf[16] = 3;
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_ERR_CORRUPT_MESSAGE);
    buf[16] = 2;
    assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b), SL_OK);
    /* A producer id without a sequence is refused on produce only. */
    memset(buf + 43, 0, 8);
    buf[50] = 1; /* producer id 1 */
    sl_batch_update_crc(buf, len);
    assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b),
                     SL_ERR_INVALID_RECORD);
    assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
    free(buf);
    /* Transactional without a producer id. */
    bp.transactional = true;
    assert_int_equal(sl_batch_build(&bp, g_fix.rec, 2, &buf, &len), SL_OK);
    assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b),
                     SL_ERR_INVALID_RECORD);
    free(buf);
    /* Unknown codec in the builder. */
    bp.codec = 6;
    assert_int_equal(sl_batch_build(&bp, g_fix.rec, 2, &buf, &len),
                     SL_ERR_UNSUPPORTED_COMPRESSION_TYPE);
}

static void
test_batch_rewrites(void **state)
{
    sl_batch_params_t bp;
    uint8_t *buf;
    size_t len, c;
    sl_batch_t b;
    uint32_t crc;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        assert_int_equal(sl_batch_build(&bp, g_fix.rec, 10, &buf, &len), SL_OK);
        assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
        crc = b.crc;
        sl_batch_set_base_offset(buf, 0x0123456789abLL);
        sl_batch_set_leader_epoch(buf, 17);
        assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
        assert_int_equal(b.base_offset, 0x0123456789abLL);
        assert_int_equal(b.partition_leader_epoch, 17);
        assert_int_equal(b.crc, crc);
        sl_batch_set_log_append_time(buf, len, 1800000000123LL);
        assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
        assert_true(b.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME);
        assert_int_equal(sl_batch_codec(&b), codecs[c]);
        assert_int_equal(b.max_timestamp, 1800000000123LL);
        assert_int_not_equal(b.crc, crc);
        assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0), SL_OK);
        free(buf);
    }
}

static void
test_batch_sequence(void **state)
{
    sl_batch_params_t bp;
    uint8_t *bufs[NCODECS], *all;
    size_t lens[NCODECS], total = 0, c, partial, off;
    sl_batch_seq_t seq;
    sl_batch_t b;

    (void)state;
    for (c = 0; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        bp.base_offset = (int64_t)c * 10;
        assert_int_equal(
            sl_batch_build(&bp, g_fix.rec + c * 10, 10, &bufs[c], &lens[c]),
            SL_OK);
        total += lens[c];
    }
    all = malloc(total);
    for (c = 0, off = 0; c < NCODECS; c++) {
        memcpy(all + off, bufs[c], lens[c]);
        off += lens[c];
    }
    sl_batch_seq_init(&seq, all, total, SL_BATCH_F_PRODUCE);
    for (c = 0; c < NCODECS; c++) {
        assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_OK);
        assert_int_equal(b.base_offset, (int64_t)c * 10);
        assert_int_equal(sl_batch_codec(&b), codecs[c]);
        assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0), SL_OK);
    }
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_ERR__NOENT);
    /* A Fetch-style tail: the last batch cut short. */
    sl_batch_seq_init(&seq, all, total - 5, 0);
    for (c = 0; c + 1 < NCODECS; c++) {
        assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_OK);
    }
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_ERR__AGAIN);
    assert_int_equal(partial, lens[NCODECS - 1] - 5);
    /* Fewer than 12 bytes left. */
    sl_batch_seq_init(&seq, all, lens[0] + 7, 0);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_OK);
    assert_int_equal(sl_batch_seq_next(&seq, &b, &partial), SL_ERR__AGAIN);
    assert_int_equal(partial, 7);
    for (c = 0; c < NCODECS; c++) {
        free(bufs[c]);
    }
    free(all);
}

static void
test_batch_control(void **state)
{
    uint8_t *buf;
    size_t len;
    sl_batch_t b;
    sl_record_iter_t it;
    sl_record_t r;
    int16_t type;
    int32_t epoch;
    int commit;

    (void)state;
    for (commit = 0; commit < 2; commit++) {
        assert_int_equal(
            sl_control_build(555, 7, commit, 42, 1700000000000, &buf, &len),
            SL_OK);
        assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
        assert_true(sl_batch_is_control(&b));
        assert_true(sl_batch_is_transactional(&b));
        assert_int_equal(sl_batch_codec(&b), SL_CODEC_NONE);
        assert_int_equal(b.producer_id, 555);
        assert_int_equal(b.producer_epoch, 7);
        assert_int_equal(b.base_sequence, -1);
        assert_int_equal(b.records_count, 1);
        /* Clients may not produce markers. */
        assert_int_equal(sl_batch_parse(buf, len, SL_BATCH_F_PRODUCE, &b),
                         SL_ERR_INVALID_RECORD);
        sl_record_iter_init(&it, b.records, b.records_size, b.records_count);
        assert_int_equal(sl_record_iter_next(&it, &r), SL_OK);
        assert_int_equal(sl_control_parse_key(&r, &type), SL_OK);
        assert_int_equal(type, commit ? SL_CONTROL_COMMIT : SL_CONTROL_ABORT);
        assert_int_equal(sl_control_parse_marker(&r, &epoch), SL_OK);
        assert_int_equal(epoch, 42);
        assert_int_equal(sl_record_iter_next(&it, &r), SL_ERR__NOENT);
        free(buf);
    }
    /* Key and value checks. */
    {
        uint8_t key[4] = {0, 1, 0, 1}, val[6] = {0, 0, 0, 0, 0, 9};
        sl_record_t c = {0};
        c.key = key;
        c.key_len = 4;
        c.value = val;
        c.value_len = 6;
        assert_int_equal(sl_control_parse_key(&c, &type), SL_OK); /* v1 */
        assert_int_equal(type, 1);
        key[0] = 0x80; /* negative version */
        assert_int_equal(sl_control_parse_key(&c, &type),
                         SL_ERR_INVALID_RECORD);
        key[0] = 0;
        c.key_len = 3;
        assert_int_equal(sl_control_parse_key(&c, &type),
                         SL_ERR_INVALID_RECORD);
        c.key = NULL;
        c.key_len = -1;
        assert_int_equal(sl_control_parse_key(&c, &type),
                         SL_ERR_INVALID_RECORD);
        assert_int_equal(sl_control_parse_marker(&c, &epoch), SL_OK);
        assert_int_equal(epoch, 9);
        c.value_len = 5;
        assert_int_equal(sl_control_parse_marker(&c, &epoch),
                         SL_ERR_INVALID_RECORD);
        c.value_len = 6;
        val[0] = 0xff;
        assert_int_equal(sl_control_parse_marker(&c, &epoch),
                         SL_ERR_INVALID_RECORD);
    }
}

static void
test_batch_compressed_bomb(void **state)
{
    sl_batch_params_t bp;
    sl_record_in_t r = {0};
    uint8_t *zeros = calloc(1, 4 << 20), *buf;
    size_t len, c;
    sl_batch_t b;

    (void)state;
    r.value = zeros;
    r.value_len = 4 << 20;
    for (c = 1; c < NCODECS; c++) {
        sl_batch_params_init(&bp);
        bp.codec = codecs[c];
        assert_int_equal(sl_batch_build(&bp, &r, 1, &buf, &len), SL_OK);
        assert_true(len < (1 << 20));
        assert_int_equal(sl_batch_parse(buf, len, 0, &b), SL_OK);
        assert_int_equal(sl_batch_validate_records(&b, 1 << 20, 0),
                         SL_ERR__TOOBIG);
        assert_int_equal(sl_batch_validate_records(&b, 5 << 20, 0), SL_OK);
        free(buf);
    }
    free(zeros);
}

/* ---- librdkafka captures
 * ----------------------------------------------------- */

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void
check_rdkafka_file(int codec)
{
    char path[512], want[256];
    uint8_t *data, *owned;
    const uint8_t *recs;
    size_t len = 0, rlen, partial, wl;
    sl_batch_seq_t seq;
    sl_batch_t b;
    sl_record_iter_t it;
    sl_record_t r;
    sl_header_iter_t hi;
    sl_record_header_t h;
    int i = 0, k, batches = 0;
    sl_err_t err;

    snprintf(path, sizeof(path), "%s/batches/rdkafka_%s.bin", SL_TEST_DATA_DIR,
             sl_codec_name(codec));
    data = read_file(path, &len);
    if (data == NULL) {
        print_message("missing %s\n", path);
        skip();
    }
    sl_batch_seq_init(&seq, data, len, SL_BATCH_F_PRODUCE);
    while ((err = sl_batch_seq_next(&seq, &b, &partial)) == SL_OK) {
        batches++;
        assert_int_equal(sl_batch_codec(&b), codec);
        assert_int_equal(
            sl_batch_validate_records(&b, 16 << 20, SL_BATCH_F_PRODUCE), SL_OK);
        assert_int_equal(sl_batch_records(&b, 16 << 20, &recs, &rlen, &owned),
                         SL_OK);
        sl_record_iter_init(&it, recs, rlen, b.records_count);
        while ((err = sl_record_iter_next(&it, &r)) == SL_OK) {
            snprintf(want, sizeof(want), "key-%d", i);
            assert_int_equal(r.key_len, (int32_t)strlen(want));
            assert_memory_equal(r.key, want, strlen(want));
            for (k = 0, wl = 0; k < 10; k++) {
                wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "value-%d",
                                       i);
            }
            assert_int_equal(r.value_len, (int32_t)wl);
            assert_memory_equal(r.value, want, wl);
            assert_int_equal(r.headers_count, 1);
            sl_header_iter_init(&hi, &r);
            assert_int_equal(sl_header_iter_next(&hi, &h), SL_OK);
            assert_int_equal(h.key_len, 3);
            assert_memory_equal(h.key, "idx", 3);
            snprintf(want, sizeof(want), "%d", i);
            assert_int_equal(h.value_len, (int32_t)strlen(want));
            assert_memory_equal(h.value, want, strlen(want));
            i++;
        }
        assert_int_equal(err, SL_ERR__NOENT);
        free(owned);
    }
    assert_int_equal(err, SL_ERR__NOENT);
    assert_true(batches >= 1);
    assert_int_equal(i, 100);
    free(data);
}

static void
test_batch_rdkafka_none(void **state)
{
    (void)state;
    check_rdkafka_file(SL_CODEC_NONE);
}

static void
test_batch_rdkafka_gzip(void **state)
{
    (void)state;
    check_rdkafka_file(SL_CODEC_GZIP);
}

static void
test_batch_rdkafka_snappy(void **state)
{
    (void)state;
    check_rdkafka_file(SL_CODEC_SNAPPY);
}

static void
test_batch_rdkafka_lz4(void **state)
{
    (void)state;
    check_rdkafka_file(SL_CODEC_LZ4);
}

static void
test_batch_rdkafka_zstd(void **state)
{
    (void)state;
    check_rdkafka_file(SL_CODEC_ZSTD);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_roundtrip_codecs),
        cmocka_unit_test(test_batch_empty),
        cmocka_unit_test(test_batch_crc_mismatch),
        cmocka_unit_test(test_batch_truncated_every_length),
        cmocka_unit_test(test_batch_lying_batch_length),
        cmocka_unit_test(test_batch_lying_records),
        cmocka_unit_test(test_batch_header_fields),
        cmocka_unit_test(test_batch_rewrites),
        cmocka_unit_test(test_batch_sequence),
        cmocka_unit_test(test_batch_control),
        cmocka_unit_test(test_batch_compressed_bomb),
        cmocka_unit_test(test_batch_rdkafka_none),
        cmocka_unit_test(test_batch_rdkafka_gzip),
        cmocka_unit_test(test_batch_rdkafka_snappy),
        cmocka_unit_test(test_batch_rdkafka_lz4),
        cmocka_unit_test(test_batch_rdkafka_zstd),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
