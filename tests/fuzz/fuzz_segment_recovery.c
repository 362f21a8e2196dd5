/*
 * tests/fuzz/fuzz_segment_recovery.c: arbitrary bytes as a partition
 * directory, opened and read like after a crash (sqlite fuzzes database
 * files this way).
 *
 * Input: byte 0 = flags (bit 0: open as after a clean shutdown, bit 1: the
 * input also carries an offset index, bit 2: a time index, bit 3: split
 * the log bytes in two segments), bytes 1-2 = big-endian length of that
 * index part; then the index part, then the rest as
 * 00000000000000000000.log (and with bit 3 its second half as a segment
 * named after the base offset its first 8 bytes claim). The harness opens the
 * partition log, reads every batch from the log start to the end checking that
 * offsets only increase, asks ListOffsets and OffsetForLeaderEpoch questions,
 * appends a batch, closes cleanly, reopens and checks the end offset
 * survived. Files live in a directory under /dev/shm when it exists.
 * Seeds: tests/fuzz/corpus/segment_recovery/: logs written by the partition
 * log itself (one record; six batches of three with leader epochs 0-2;
 * gzip and lz4 batches; LogAppendTime), each with the flag combinations
 * (v<variant>_f<flags>), and the six-batch log split into two segments at
 * a batch boundary (v1_split*).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "log/file.h"
#include "log/partlog.h"
#include "proto/batch.h"

static char sl_fuzz_root[256];
static char sl_fuzz_dir[512];

static void
sl_fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant failed: %s\n", what);
        abort();
    }
}

static void
sl_fuzz_put(const char *name, const uint8_t *p, size_t n)
{
    char path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", sl_fuzz_dir, name);
    f = fopen(path, "wb");
    if (f == NULL) {
        abort();
    }
    if (n > 0 && fwrite(p, 1, n, f) != n) {
        abort();
    }
    fclose(f);
}

static sl_partlog_t *
sl_fuzz_open(const sl_log_config_t *cfg, bool clean)
{
    sl_partlog_opts_t o;
    sl_partlog_t *pl = NULL;

    memset(&o, 0, sizeof(o));
    o.dir = sl_fuzz_dir;
    o.topic = "f";
    o.cfg = cfg;
    o.clean = clean;
    o.create = true;
    o.now_ms = 1700000000000LL;
    if (sl_partlog_open(&o, &pl, NULL) != SL_OK) {
        return NULL;
    }
    return pl;
}

/* Read everything; offsets must increase and cover each request. */
static void
sl_fuzz_read_all(sl_partlog_t *pl, bool trusted)
{
    static uint8_t buf[1 << 20];
    int64_t off = sl_partlog_log_start(pl), end = sl_partlog_end_offset(pl);
    int64_t prev = -1;
    size_t len;
    int rounds = 0;

    sl_fuzz_check(off <= end, "log start <= end");
    while (off < end && rounds++ < 100000) {
        sl_batch_seq_t it;
        sl_batch_t b;
        sl_err_t err;

        err = sl_partlog_read_copy(pl, off, true, -1, buf, sizeof(buf), &len);
        if (err == SL_ERR__TOOBIG) {
            return; /* a huge batch: fine, stop */
        }
        if (trusted && (err == SL_ERR__CORRUPT || (err == SL_OK && len == 0))) {
            /* a log trusted because of the clean marker is not
             * re-validated: bad bytes give errors or gaps, not crashes */
            return;
        }
        sl_fuzz_check(err == SL_OK, "read ok");
        sl_fuzz_check(len > 0, "progress");
        /* after recovery every batch has passed its CRC; a log trusted
         * because of the clean marker is only checked for structure */
        sl_batch_seq_init(&it, buf, len, trusted ? SL_BATCH_F_NOCRC : 0);
        if (sl_batch_seq_next(&it, &b, NULL) != SL_OK) {
            sl_fuzz_check(trusted, "recovered batches parse");
            return;
        }
        sl_batch_seq_init(&it, buf, len, trusted ? SL_BATCH_F_NOCRC : 0);
        while (sl_batch_seq_next(&it, &b, NULL) == SL_OK) {
            if (trusted && b.base_offset <= prev) {
                return; /* not re-validated: only "no crash" holds */
            }
            sl_fuzz_check(b.base_offset > prev, "offsets increase");
            sl_fuzz_check(b.base_offset + b.last_offset_delta >= off,
                          "batch covers the offset asked for");
            prev = b.base_offset + b.last_offset_delta;
            off = prev + 1;
        }
    }
    sl_fuzz_check(off >= end || trusted, "read to the end");
}

static void
sl_fuzz_questions(sl_partlog_t *pl)
{
    int64_t off, ts;
    int32_t e;
    static const int64_t times[] = {SL_LOG_TS_EARLIEST, SL_LOG_TS_LATEST,
                                    SL_LOG_TS_MAX,      0,
                                    1700000000000LL,    INT64_MAX};
    size_t i;

    for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        if (sl_partlog_offset_for_time(pl, times[i], &off, &ts) == SL_OK &&
            off >= 0) {
            sl_fuzz_check(off <= sl_partlog_end_offset(pl), "list offsets");
        }
    }
    for (e = -1; e < 8; e++) {
        int32_t oe;

        sl_partlog_end_offset_for_epoch(pl, e, &oe, &off);
        sl_fuzz_check(oe <= e, "epoch found <= asked");
        sl_fuzz_check(off <= sl_partlog_end_offset(pl), "epoch end offset");
    }
}

static void
sl_fuzz_cleanup(void)
{
    (void)sl_file_remove_dir(sl_fuzz_dir);
    (void)rmdir(sl_fuzz_root);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;

    (void)argc;
    (void)argv;
    sl_log_set_level(SL_LOG_OFF);
    snprintf(sl_fuzz_root, sizeof(sl_fuzz_root), "%s/sl-fuzz-seg-XXXXXX",
             stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(sl_fuzz_root) == NULL) {
        abort();
    }
    snprintf(sl_fuzz_dir, sizeof(sl_fuzz_dir), "%s/f-0", sl_fuzz_root);
    atexit(sl_fuzz_cleanup);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_log_config_t cfg;
    sl_partlog_t *pl;
    uint8_t flags = 0, *b = NULL;
    size_t ilen = 0, blen;
    int64_t end;
    sl_append_info_t info;
    sl_record_in_t rec;
    sl_batch_params_t bp;

    if (size > 0) {
        flags = data[0];
        data++;
        size--;
    }
    if (size >= 2 && (flags & 0x06)) {
        ilen = ((size_t)data[0] << 8) | data[1];
        data += 2;
        size -= 2;
        if (ilen > size) {
            ilen = size;
        }
    }
    sl_file_remove_dir(sl_fuzz_dir);
    if (mkdir(sl_fuzz_dir, 0755) != 0) {
        abort();
    }
    if (flags & 0x02) {
        sl_fuzz_put("00000000000000000000.index", data, ilen);
    }
    if (flags & 0x04) {
        sl_fuzz_put("00000000000000000000.timeindex", data, ilen);
    }
    if ((flags & 0x08) && size - ilen >= 2) {
        /* two segments: the second named after the base offset its first
         * batch claims (so the names agree with the bytes, mostly) */
        const uint8_t *lp = data + ilen;
        size_t ln = size - ilen, half = ln / 2, i;
        uint64_t base = 0;
        char name[64];

        for (i = 0; i < 8 && half + i < ln; i++) {
            base = (base << 8) | lp[half + i];
        }
        base %= 10000000000000000000ULL;
        sl_fuzz_put("00000000000000000000.log", lp, half);
        snprintf(name, sizeof(name), "%020llu.log", (unsigned long long)base);
        sl_fuzz_put(name, lp + half, ln - half);
    } else {
        sl_fuzz_put("00000000000000000000.log", data + ilen, size - ilen);
    }

    sl_log_config_init(&cfg);
    cfg.index_interval_bytes = 64;
    cfg.max_message_bytes = 1 << 20;
    pl = sl_fuzz_open(&cfg, (flags & 0x01) != 0);
    if (pl == NULL) {
        return 0;
    }
    sl_fuzz_read_all(pl, (flags & 0x01) != 0);
    sl_fuzz_questions(pl);

    /* the recovered log takes appends and survives a clean restart */
    memset(&rec, 0, sizeof(rec));
    rec.value = (const uint8_t *)"v";
    rec.value_len = 1;
    rec.timestamp = 1700000000000LL;
    sl_batch_params_init(&bp);
    if (sl_batch_build(&bp, &rec, 1, &b, &blen) == SL_OK) {
        end = sl_partlog_end_offset(pl);
        if (sl_partlog_append(pl, b, blen, 1, 0, 1700000000000LL, &info) ==
            SL_OK) {
            sl_fuzz_check(info.base_offset == end, "append at the end");
        }
        free(b);
    }
    end = sl_partlog_end_offset(pl);
    if (sl_partlog_close(pl, 1700000000000LL) != SL_OK) {
        return 0;
    }
    pl = sl_fuzz_open(&cfg, true);
    sl_fuzz_check(pl != NULL, "reopen");
    sl_fuzz_check(sl_partlog_end_offset(pl) == end, "end survives");
    sl_fuzz_read_all(pl, (flags & 0x01) != 0);
    sl_partlog_close(pl, 1700000000000LL);
    return 0;
}
