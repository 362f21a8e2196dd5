/*
 * tests/fuzz/fuzz_record_batch.c: arbitrary bytes as a sequence of record
 * batches v2: split and validate every batch (with and without the CRC, so
 * mutations reach the records), decompress with a 4 MiB bound, iterate every
 * record and header, read control records, and rewrite a copy in place.
 * Seeds: tests/fuzz/corpus/record_batch/
 * (tests/tools/gen_record_batch_corpus.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/batch.h"

#define SL_FUZZ_MAX_OUT ((size_t)4 << 20)

static void
sl_fuzz_records(const sl_batch_t *b)
{
    const uint8_t *recs;
    uint8_t *owned;
    size_t len;
    sl_record_iter_t it;
    sl_record_t r;
    sl_header_iter_t hi;
    sl_record_header_t h;
    volatile uint32_t sink = 0;
    int16_t type;
    int32_t epoch;

    if (sl_batch_records(b, SL_FUZZ_MAX_OUT, &recs, &len, &owned) != SL_OK) {
        return;
    }
    sl_record_iter_init(&it, recs, len, b->records_count);
    while (sl_record_iter_next(&it, &r) == SL_OK) {
        /* Touch every byte the views claim, so ASan checks them. */
        if (r.key_len > 0) {
            sink += r.key[0] + r.key[r.key_len - 1];
        }
        if (r.value_len > 0) {
            sink += r.value[0] + r.value[r.value_len - 1];
        }
        sl_header_iter_init(&hi, &r);
        while (sl_header_iter_next(&hi, &h) == SL_OK) {
            if (h.key_len > 0) {
                sink += h.key[h.key_len - 1];
            }
            if (h.value_len > 0) {
                sink += h.value[h.value_len - 1];
            }
        }
        if (sl_batch_is_control(b) &&
            sl_control_parse_key(&r, &type) == SL_OK &&
            sl_control_parse_marker(&r, &epoch) == SL_OK) {
            sink += (uint32_t)type + (uint32_t)epoch;
        }
    }
    (void)sink;
    free(owned);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_batch_seq_t seq;
    sl_batch_t b, b2;
    size_t partial;
    uint8_t *copy;

    sl_batch_seq_init(&seq, data, size, SL_BATCH_F_NOCRC);
    while (sl_batch_seq_next(&seq, &b, &partial) == SL_OK) {
        if (sl_batch_parse(b.data, b.size, SL_BATCH_F_PRODUCE, &b2) == SL_OK) {
            (void)sl_batch_validate_records(&b2, SL_FUZZ_MAX_OUT,
                                            SL_BATCH_F_PRODUCE);
        }
        (void)sl_batch_validate_records(&b, SL_FUZZ_MAX_OUT, 0);
        sl_fuzz_records(&b);
        /* In-place rewrites keep a batch valid. */
        copy = malloc(b.size);
        if (copy != NULL) {
            memcpy(copy, b.data, b.size);
            sl_batch_set_base_offset(copy, 42);
            sl_batch_set_leader_epoch(copy, 7);
            sl_batch_set_log_append_time(copy, b.size, 1234);
            if (sl_batch_parse(copy, b.size, 0, &b2) != SL_OK) {
                abort();
            }
            free(copy);
        }
    }
    return 0;
}
