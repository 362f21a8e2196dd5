/*
 * log/cleaner.c: compaction of one partition log (Kafka's log cleaner
 * rules, written from its documentation and behaviour).
 *
 * A pass:
 *   1. Under the partition lock, take references to the sealed segments and
 *      note the active segment's base and the high watermark.
 *   2. The dirty section starts at the cleaner checkpoint
 *      (cleaner-offset-checkpoint, default the log start). The cleanable
 *      end is the base of the first segment from there that is the active
 *      one, reaches the high watermark, or holds a record younger than
 *      min.compaction.lag.ms. A pass is due when dirty bytes / (clean +
 *      dirty bytes) >= min.cleanable.dirty.ratio, when the oldest dirty
 *      record is older than max.compaction.lag.ms, when a delete horizon
 *      in the cleaned section passed (or is unknown after a start), or
 *      when forced.
 *   3. Read the dirty section once: key -> offset of its newest record in
 *      a map of 128-bit key hashes (bounded by
 *      log.cleaner.dedupe.buffer.size; when it fills, the section ends at
 *      the last segment that fitted whole).
 *   4. Rewrite the segments [log start, end) in groups that fit one
 *      segment (segment.bytes, 32-bit relative offsets): a record stays if
 *      it has a key and the map has no newer offset for it; a tombstone
 *      (null value) stays until its batch's delete horizon. A batch that
 *      keeps everything is copied byte for byte; otherwise the retained
 *      records are re-encoded into a batch with the same base offset, last
 *      offset delta (so offsets keep their gaps), producer id, epoch,
 *      base sequence, leader epoch and codec. A batch that keeps no record
 *      is dropped. Batches holding tombstones, and control batches, get a
 *      delete horizon (attributes bit 6, base_timestamp = now +
 *      delete.retention.ms, record timestamp deltas rebased on it, as
 *      KIP-534) the first time they are cleaned; once it passed, the
 *      tombstones and control batches go.
 *      Transactions (Kafka's rules): the cleanable end never passes the
 *      last stable offset; batches of aborted transactions (the
 *      aborted-transaction index, taken at the start of the pass) are
 *      dropped; a COMMIT marker stays past its horizon while a batch of
 *      its transaction was seen before it in this pass (otherwise a
 *      rebuild of the producer state would find the transaction open);
 *      ABORT markers are kept (Sluice's choice: their index entries stay
 *      valid, a client never sees an aborted transaction without its
 *      marker). Not done: the last batch of a producer is not kept for
 *      its sequence numbers.
 *   5. Swap each group, crash-safe (Kafka's .cleaned/.swap protocol):
 *        a. write <B>.log|index|timeindex.cleaned, fdatasync all three;
 *        b. rename them to .swap (indexes first, .log.swap last: the
 *           commit point), fsync the directory;
 *        c. under the partition lock: check the group is still in the
 *           list, rename the old segments' files to .deleted, rename the
 *           .swap files to their final names, replace the group in the
 *           list (microseconds: renames only);
 *        d. fsync the directory, unlink the .deleted files.
 *      Recovery (sl_cleaner_recover_dir, cleaner_recover.c, before the
 *      log opens): a <B>.log.swap completes the swap (deletes segments
 *      with bases in (B, last offset of the swap] and the old <B> files,
 *      renames the .swap files); .cleaned, orphan .swap index files and
 *      .deleted files are removed by the open. So a crash leaves either
 *      the old or the new segments, never a mix.
 *   The checkpoint (the end of the cleaned section) is written before the
 *   first swap: the partition log's open reads it (see partlog.c,
 *   sl_partlog_drop_empty_tail).
 *
 * Readers keep references to old segments and keep reading their (renamed
 * or unlinked) files. Offsets never change and the log start offset does
 * not move: a group keeps its first segment's base, even when empty.
 *
 * Owns: nothing beyond one call. Uses struct sl_partlog_s (partlog_int.h)
 * for the snapshot and the swap, under its lock.
 */
#include "log/cleaner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/varint.h"
#include "log/ckpt.h"
#include "log/file.h"
#include "log/partlog_int.h"
#include "proto/batch.h"

#define SL_CL_READ_BUF (1 << 20)
#define SL_CL_OUT_FLUSH (1 << 20)
#define SL_CL_MAX_RECORDS ((size_t)256 << 20) /* decompressed bytes */
#define SL_CL_SLOT_BYTES 24                   /* 128-bit hash + offset */

void
sl_cleaner_opts_init(sl_cleaner_opts_t *o)
{
    o->dedupe_buffer_size = (int64_t)128 << 20;
    o->force = false;
}

/* ---- key map ------------------------------------------------------------ */

typedef struct sl_cl_slot_s {
    uint64_t h1, h2;
    int64_t off; /* -1: empty */
} sl_cl_slot_t;

typedef struct sl_cl_map_s {
    sl_cl_slot_t *s;
    size_t cap; /* power of two */
    size_t n;
    size_t max_slots; /* from the dedupe buffer size */
} sl_cl_map_t;

static uint64_t
sl_cl_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Two independent 64-bit hashes of the key: a 128-bit fingerprint. */
static void
sl_cl_hash(const uint8_t *k, size_t n, uint64_t *h1, uint64_t *h2)
{
    uint64_t a = 0x9e3779b97f4a7c15ULL ^ n, b = 0x632be59bd9b4e019ULL + n, w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, k + i, 8);
        a = sl_cl_mix(a ^ w) + 0x9e3779b97f4a7c15ULL;
        b = (b ^ sl_cl_mix(w + 0x2545f4914f6cdd1dULL)) * 0x100000001b3ULL;
    }
    w = 0;
    if (i < n) {
        memcpy(&w, k + i, n - i);
    }
    a = sl_cl_mix(a ^ w ^ 0xa0761d6478bd642fULL);
    b = sl_cl_mix(b ^ (w * 0xe7037ed1a0b428dbULL) ^ n);
    *h1 = a;
    *h2 = b;
}

static sl_err_t
sl_cl_map_init(sl_cl_map_t *m, int64_t bytes)
{
    size_t i;

    memset(m, 0, sizeof(*m));
    m->max_slots = bytes > SL_CL_SLOT_BYTES * 1024
                       ? (size_t)(bytes / SL_CL_SLOT_BYTES)
                       : 1024;
    m->cap = 1024;
    if ((m->s = malloc(m->cap * sizeof(*m->s))) == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < m->cap; i++) {
        m->s[i].off = -1;
    }
    return SL_OK;
}

static sl_cl_slot_t *
sl_cl_map_slot(sl_cl_slot_t *s, size_t cap, uint64_t h1, uint64_t h2)
{
    size_t i = (size_t)h1 & (cap - 1);

    while (s[i].off >= 0 && (s[i].h1 != h1 || s[i].h2 != h2)) {
        i = (i + 1) & (cap - 1);
    }
    return &s[i];
}

/* Grow to twice the size. @returns SL_OK, SL_ERR__TOOBIG (the dedupe
 * buffer is full), SL_ERR__NOMEM */
static sl_err_t
sl_cl_map_grow(sl_cl_map_t *m)
{
    size_t c = m->cap * 2, i;
    sl_cl_slot_t *s, *d;

    if (c > m->max_slots) {
        return SL_ERR__TOOBIG;
    }
    if ((s = malloc(c * sizeof(*s))) == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < c; i++) {
        s[i].off = -1;
    }
    for (i = 0; i < m->cap; i++) {
        if (m->s[i].off >= 0) {
            d = sl_cl_map_slot(s, c, m->s[i].h1, m->s[i].h2);
            *d = m->s[i];
        }
    }
    free(m->s);
    m->s = s;
    m->cap = c;
    return SL_OK;
}

static sl_err_t
sl_cl_map_put(sl_cl_map_t *m, const uint8_t *k, size_t n, int64_t off)
{
    uint64_t h1, h2;
    sl_cl_slot_t *s;
    sl_err_t err;

    sl_cl_hash(k, n, &h1, &h2);
    s = sl_cl_map_slot(m->s, m->cap, h1, h2);
    if (s->off < 0) {
        /* load factor 0.75 */
        if ((m->n + 1) * 4 > m->cap * 3) {
            if ((err = sl_cl_map_grow(m)) != SL_OK) {
                return err;
            }
            s = sl_cl_map_slot(m->s, m->cap, h1, h2);
        }
        s->h1 = h1;
        s->h2 = h2;
        m->n++;
    }
    if (off > s->off) {
        s->off = off;
    }
    return SL_OK;
}

/* The newest offset of the key in the dirty section, or -1. */
static int64_t
sl_cl_map_get(const sl_cl_map_t *m, const uint8_t *k, size_t n)
{
    uint64_t h1, h2;

    if (m->n == 0) {
        return -1;
    }
    sl_cl_hash(k, n, &h1, &h2);
    return sl_cl_map_slot(m->s, m->cap, h1, h2)->off;
}

/* ---- segment reader ----------------------------------------------------- */

typedef struct sl_cl_reader_s {
    sl_segment_t *seg;
    int64_t limit; /* committed size when the pass started */
    int64_t pos;   /* file position of buf[0] */
    uint8_t *buf;
    size_t cap, len, at;
    int64_t *bytes_read;
} sl_cl_reader_t;

static void
sl_cl_reader_init(sl_cl_reader_t *r, sl_segment_t *seg, uint8_t **buf,
                  size_t *cap, int64_t *bytes_read)
{
    memset(r, 0, sizeof(*r));
    r->seg = seg;
    r->limit = sl_segment_size(seg);
    r->buf = *buf;
    r->cap = *cap;
    r->bytes_read = bytes_read;
}

/* Have <need> bytes from r->at in the buffer. */
static sl_err_t
sl_cl_reader_fill(sl_cl_reader_t *r, size_t need, uint8_t **buf, size_t *cap)
{
    size_t want, got;
    uint8_t *p;
    sl_err_t err;

    if (r->len > r->at) {
        memmove(r->buf, r->buf + r->at, r->len - r->at);
    }
    r->pos += (int64_t)r->at;
    r->len -= r->at;
    r->at = 0;
    if (need > r->cap) {
        size_t c = need < SL_CL_READ_BUF ? SL_CL_READ_BUF : need;

        if ((p = realloc(r->buf, c)) == NULL) {
            return SL_ERR__NOMEM;
        }
        r->buf = *buf = p;
        r->cap = *cap = c;
    }
    want = r->cap - r->len;
    if ((int64_t)want > r->limit - r->pos - (int64_t)r->len) {
        want = (size_t)(r->limit - r->pos - (int64_t)r->len);
    }
    err = sl_file_read_at(sl_segment_fd(r->seg), r->buf + r->len, want,
                          r->pos + (int64_t)r->len, &got);
    if (err != SL_OK) {
        return err;
    }
    r->len += got;
    *r->bytes_read += (int64_t)got;
    return r->len >= need ? SL_OK : SL_CORRUPT();
}

/* The next whole batch: *p, *n. @returns SL_OK, SL_ERR__NOENT (end),
 * SL_ERR__CORRUPT, SL_ERR__IO, SL_ERR__NOMEM */
static sl_err_t
sl_cl_reader_next(sl_cl_reader_t *r, uint8_t **buf, size_t *cap,
                  const uint8_t **p, size_t *n)
{
    sl_seg_batch_t b;
    int64_t room = r->limit - r->pos - (int64_t)r->at;
    sl_err_t err;

    if (room <= 0) {
        return SL_ERR__NOENT;
    }
    if (room < SL_BATCH_HEADER_SIZE) {
        return SL_CORRUPT();
    }
    if (r->len - r->at < SL_BATCH_HEADER_SIZE &&
        (err = sl_cl_reader_fill(r, SL_BATCH_HEADER_SIZE, buf, cap)) != SL_OK) {
        return err;
    }
    err = sl_segment_decode_header(r->buf + r->at, room, &b);
    if (err != SL_OK) {
        return err == SL_ERR__NOENT ? SL_CORRUPT() : err;
    }
    if (r->len - r->at < (size_t)b.size &&
        (err = sl_cl_reader_fill(r, (size_t)b.size, buf, cap)) != SL_OK) {
        return err;
    }
    *p = r->buf + r->at;
    *n = (size_t)b.size;
    r->at += (size_t)b.size;
    return SL_OK;
}

/* ---- one pass's state --------------------------------------------------- */

typedef struct sl_cl_pass_s {
    sl_partlog_t *pl;
    sl_log_config_t cfg;
    int64_t now_ms;
    sl_segment_t **segs; /* sealed segments, one reference each */
    size_t nsegs;
    int64_t active_base, hwm;
    sl_cl_map_t map;
    uint8_t *rbuf; /* reader buffer */
    size_t rcap;
    uint8_t *out; /* cleaned batches waiting to be appended */
    size_t olen, ocap;
    uint8_t *rec; /* one re-encoded records block */
    size_t rlen, rcap2;
    int64_t min_horizon; /* earliest delete horizon written */
    sl_cleaner_stats_t *st;
    /* transactions: aborted ones by first offset, those started at the
     * current batch, producers with a batch since their last marker */
    sl_txn_aborted_t *ab, *open;
    size_t nab, abk, nopen;
    int64_t *seen;
    size_t nseen, cseen;
} sl_cl_pass_t;

static sl_err_t
sl_cl_reserve(uint8_t **p, size_t *cap, size_t len, size_t more)
{
    size_t c = *cap ? *cap : 4096;
    uint8_t *q;

    if (len + more <= *cap) {
        return SL_OK;
    }
    while (c < len + more) {
        c *= 2;
    }
    if ((q = realloc(*p, c)) == NULL) {
        return SL_ERR__NOMEM;
    }
    *p = q;
    *cap = c;
    return SL_OK;
}

static void
sl_cl_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
sl_cl_put64(uint8_t *p, uint64_t v)
{
    sl_cl_put32(p, (uint32_t)(v >> 32));
    sl_cl_put32(p + 4, (uint32_t)v);
}

/* ---- map building ------------------------------------------------------- */

/* Add the keys of segment <seg> at offsets >= <from> to the map.
 * SL_ERR__TOOBIG when the map is full. */
static sl_err_t
sl_cl_map_segment(sl_cl_pass_t *c, sl_segment_t *seg, int64_t from)
{
    sl_cl_reader_t r;
    const uint8_t *p, *recs;
    uint8_t *owned;
    size_t n, rlen;
    sl_batch_t b;
    sl_record_iter_t it;
    sl_record_t rec;
    sl_err_t err;

    sl_cl_reader_init(&r, seg, &c->rbuf, &c->rcap, &c->st->bytes_read);
    while ((err = sl_cl_reader_next(&r, &c->rbuf, &c->rcap, &p, &n)) == SL_OK) {
        if ((err = sl_batch_parse(p, n, SL_BATCH_F_NOCRC, &b)) != SL_OK) {
            return SL_ERR__CORRUPT;
        }
        if (sl_batch_is_control(&b) ||
            b.base_offset + b.last_offset_delta < from) {
            continue;
        }
        err = sl_batch_records(&b, SL_CL_MAX_RECORDS, &recs, &rlen, &owned);
        if (err != SL_OK) {
            return SL_ERR__CORRUPT;
        }
        sl_record_iter_init(&it, recs, rlen, b.records_count);
        while ((err = sl_record_iter_next(&it, &rec)) == SL_OK) {
            int64_t off = b.base_offset + rec.offset_delta;

            if (rec.key == NULL || off < from) {
                continue;
            }
            err = sl_cl_map_put(&c->map, rec.key, (size_t)rec.key_len, off);
            if (err != SL_OK) {
                break;
            }
        }
        free(owned);
        if (err != SL_ERR__NOENT) {
            return err == SL_ERR_INVALID_RECORD ? SL_ERR__CORRUPT : err;
        }
    }
    return err == SL_ERR__NOENT ? SL_OK : err;
}

/* ---- rewriting ---------------------------------------------------------- */

/* Encode record <r> with timestamp delta <tsd> at c->rec. */
static sl_err_t
sl_cl_encode_record(sl_cl_pass_t *c, const sl_record_t *r, int64_t tsd)
{
    size_t body, need;
    uint8_t *w;

    body = 1 + sl_varint_size_s64(tsd) + sl_varint_size_s32(r->offset_delta) +
           sl_varint_size_s32(r->key_len) +
           (r->key_len > 0 ? (size_t)r->key_len : 0) +
           sl_varint_size_s32(r->value_len) +
           (r->value_len > 0 ? (size_t)r->value_len : 0) +
           sl_varint_size_s32(r->headers_count) + r->headers_size;
    need = body + 5;
    if (sl_cl_reserve(&c->rec, &c->rcap2, c->rlen, need) != SL_OK) {
        return SL_ERR__NOMEM;
    }
    w = c->rec + c->rlen;
    w += sl_varint_enc_s32(w, (int32_t)body);
    *w++ = (uint8_t)r->attributes;
    w += sl_varint_enc_s64(w, tsd);
    w += sl_varint_enc_s32(w, r->offset_delta);
    w += sl_varint_enc_s32(w, r->key_len);
    if (r->key_len > 0) {
        memcpy(w, r->key, (size_t)r->key_len);
        w += r->key_len;
    }
    w += sl_varint_enc_s32(w, r->value_len);
    if (r->value_len > 0) {
        memcpy(w, r->value, (size_t)r->value_len);
        w += r->value_len;
    }
    w += sl_varint_enc_s32(w, r->headers_count);
    if (r->headers_size > 0) {
        memcpy(w, r->headers, r->headers_size);
        w += r->headers_size;
    }
    c->rlen = (size_t)(w - c->rec);
    return SL_OK;
}

/* Append a batch like <b> holding the records block c->rec (kept records),
 * with <horizon> (-1: keep b's base timestamp and flag) to c->out. */
static sl_err_t
sl_cl_emit_rebuilt(sl_cl_pass_t *c, const sl_batch_t *b, int32_t kept,
                   int64_t horizon)
{
    const uint8_t *blk = c->rec;
    uint8_t *z = NULL, *h;
    size_t blen = c->rlen, n;
    int16_t attrs = b->attributes;
    sl_err_t err;

    if (sl_batch_codec(b) != SL_CODEC_NONE) {
        err = sl_compress(sl_batch_codec(b), c->rec, c->rlen, &z, &blen);
        if (err != SL_OK) {
            return err;
        }
        blk = z;
    }
    n = SL_BATCH_HEADER_SIZE + blen;
    if (n > INT32_MAX ||
        sl_cl_reserve(&c->out, &c->ocap, c->olen, n) != SL_OK) {
        free(z);
        return SL_ERR__NOMEM;
    }
    if (horizon >= 0) {
        attrs = (int16_t)(attrs | SL_BATCH_ATTR_DELETE_HORIZON);
    }
    h = c->out + c->olen;
    sl_cl_put64(h, (uint64_t)b->base_offset);
    sl_cl_put32(h + 8, (uint32_t)(n - SL_BATCH_LOG_OVERHEAD));
    sl_cl_put32(h + 12, (uint32_t)b->partition_leader_epoch);
    h[16] = SL_BATCH_MAGIC;
    h[21] = (uint8_t)((uint16_t)attrs >> 8);
    h[22] = (uint8_t)attrs;
    sl_cl_put32(h + 23, (uint32_t)b->last_offset_delta);
    sl_cl_put64(h + 27, (uint64_t)(horizon >= 0 ? horizon : b->base_timestamp));
    sl_cl_put64(h + 35, (uint64_t)b->max_timestamp);
    sl_cl_put64(h + 43, (uint64_t)b->producer_id);
    h[51] = (uint8_t)((uint16_t)b->producer_epoch >> 8);
    h[52] = (uint8_t)b->producer_epoch;
    sl_cl_put32(h + 53, (uint32_t)b->base_sequence);
    sl_cl_put32(h + 57, (uint32_t)kept);
    memcpy(h + SL_BATCH_HEADER_SIZE, blk, blen);
    sl_batch_update_crc(h, n);
    c->olen += n;
    free(z);
    return SL_OK;
}

/* Whether the transactional batch <b> belongs to an aborted transaction.
 * Batches come in offset order within a pass. */
static bool
sl_cl_txn_aborted(sl_cl_pass_t *c, const sl_batch_t *b)
{
    bool aborted = false;
    size_t i = 0;

    while (c->abk < c->nab && c->ab[c->abk].first_offset <= b->base_offset) {
        c->open[c->nopen++] = c->ab[c->abk++];
    }
    while (i < c->nopen) {
        if (c->open[i].last_offset < b->base_offset) {
            c->open[i] = c->open[--c->nopen];
            continue;
        }
        if (c->open[i].producer_id == b->producer_id) {
            aborted = true;
        }
        i++;
    }
    return aborted;
}

/* Note (add) or take (remove; @returns whether it was there) a producer
 * with a transactional batch since its last marker. */
static bool
sl_cl_seen(sl_cl_pass_t *c, int64_t pid, bool add, sl_err_t *err)
{
    size_t i;

    for (i = 0; i < c->nseen; i++) {
        if (c->seen[i] == pid) {
            if (!add) {
                c->seen[i] = c->seen[--c->nseen];
            }
            return true;
        }
    }
    if (add) {
        if (c->nseen == c->cseen) {
            size_t n = c->cseen ? c->cseen * 2 : 16;
            int64_t *v = realloc(c->seen, n * sizeof(*v));

            if (v == NULL) {
                *err = SL_ERR__NOMEM;
                return false;
            }
            c->seen = v;
            c->cseen = n;
        }
        c->seen[c->nseen++] = pid;
    }
    return false;
}

/* Whether a transaction marker must stay past its delete horizon. */
static bool
sl_cl_marker_stays(sl_cl_pass_t *c, const sl_batch_t *b)
{
    sl_record_iter_t it;
    sl_record_t r;
    int16_t type;
    bool had;

    had = sl_cl_seen(c, b->producer_id, false, NULL);
    sl_record_iter_init(&it, b->records, b->records_size, b->records_count);
    if (sl_batch_codec(b) != 0 || sl_record_iter_next(&it, &r) != SL_OK ||
        sl_control_parse_key(&r, &type) != SL_OK) {
        return true; /* not one we understand: keep */
    }
    if (type == SL_CONTROL_ABORT) {
        return true;
    }
    return type == SL_CONTROL_COMMIT && had;
}

/* Whether record <r> of batch <b> stays; <expired>: b's delete horizon
 * passed. Markers of control batches are decided per batch. */
static bool
sl_cl_keep(const sl_cl_pass_t *c, const sl_batch_t *b, const sl_record_t *r,
           bool expired)
{
    if (sl_batch_is_control(b)) {
        return true;
    }
    if (r->key == NULL) {
        return false; /* keyless records have no place here */
    }
    if (sl_cl_map_get(&c->map, r->key, (size_t)r->key_len) >
        b->base_offset + r->offset_delta) {
        return false; /* a newer value of the key follows */
    }
    return r->value != NULL || !expired; /* a tombstone until its time */
}

/*
 * Clean one batch into c->out. *changed is set when the output differs
 * from the input.
 */
static sl_err_t
sl_cl_clean_batch(sl_cl_pass_t *c, const uint8_t *p, size_t n, bool *changed)
{
    sl_batch_t b;
    sl_record_iter_t it;
    sl_record_t r;
    const uint8_t *recs;
    uint8_t *owned = NULL;
    size_t rlen;
    bool has_h, set_h, control, expired, tomb = false;
    int64_t horizon, old_h;
    int32_t kept = 0;
    sl_err_t err;

    if (sl_batch_parse(p, n, SL_BATCH_F_NOCRC, &b) != SL_OK) {
        return SL_CORRUPT();
    }
    has_h = (b.attributes & SL_BATCH_ATTR_DELETE_HORIZON) != 0;
    old_h = has_h ? b.base_timestamp : -1;
    expired = has_h && c->now_ms >= old_h;
    control = sl_batch_is_control(&b);
    c->st->records_read += b.records_count;
    if (b.producer_id >= 0 && sl_batch_is_transactional(&b)) {
        if (control && sl_cl_marker_stays(c, &b)) {
            expired = false;
        } else if (!control && sl_cl_txn_aborted(c, &b)) {
            *changed = true; /* an aborted transaction's batch */
            return SL_OK;
        } else if (!control) {
            err = SL_OK;
            (void)sl_cl_seen(c, b.producer_id, true, &err);
            if (err != SL_OK) {
                return err;
            }
        }
    }
    if (control && expired) {
        /* markers go once their horizon passed; until then, keep as is */
        *changed = true;
        return SL_OK;
    }
    err = sl_batch_records(&b, SL_CL_MAX_RECORDS, &recs, &rlen, &owned);
    if (err != SL_OK) {
        return SL_CORRUPT();
    }
    /* first pass over the records: what stays */
    sl_record_iter_init(&it, recs, rlen, b.records_count);
    while ((err = sl_record_iter_next(&it, &r)) == SL_OK) {
        if (sl_cl_keep(c, &b, &r, expired)) {
            tomb = tomb || (!control && r.value == NULL);
            kept++;
        }
    }
    if (err != SL_ERR__NOENT) {
        free(owned);
        return SL_CORRUPT();
    }
    set_h = !has_h && (tomb || control) && kept > 0;
    horizon = set_h ? c->now_ms + c->cfg.delete_retention_ms : old_h;
    if ((tomb || control) && kept > 0 && horizon < c->min_horizon) {
        c->min_horizon = horizon;
    }
    if (kept == b.records_count && !set_h) {
        free(owned);
        c->st->records_kept += kept;
        if (sl_cl_reserve(&c->out, &c->ocap, c->olen, n) != SL_OK) {
            return SL_ERR__NOMEM;
        }
        memcpy(c->out + c->olen, p, n);
        c->olen += n;
        return SL_OK;
    }
    *changed = true;
    if (kept == 0) {
        /* Kafka keeps an empty batch when it holds a producer's last
         * sequence; producer state is not built from the log here yet */
        free(owned);
        return SL_OK;
    }
    /* never launder a damaged batch into one with a fresh checksum */
    if (sl_batch_parse(p, n, 0, &b) != SL_OK) {
        free(owned);
        return SL_CORRUPT();
    }
    c->rlen = 0;
    sl_record_iter_init(&it, recs, rlen, b.records_count);
    while (sl_record_iter_next(&it, &r) == SL_OK) {
        int64_t ts = b.base_timestamp + r.timestamp_delta;

        if (!sl_cl_keep(c, &b, &r, expired)) {
            continue;
        }
        err = sl_cl_encode_record(c, &r,
                                  set_h ? ts - horizon : r.timestamp_delta);
        if (err != SL_OK) {
            free(owned);
            return err;
        }
    }
    free(owned);
    c->st->records_kept += kept;
    return sl_cl_emit_rebuilt(c, &b, kept, set_h || has_h ? horizon : -1);
}

/* Append c->out to the cleaned segment. */
static sl_err_t
sl_cl_flush_out(sl_cl_pass_t *c, sl_segment_t *cs)
{
    bool broken;
    sl_err_t err;

    if (c->olen == 0) {
        return SL_OK;
    }
    err = sl_segment_append(cs, c->out, c->olen, &broken);
    c->st->bytes_written += (int64_t)c->olen;
    c->olen = 0;
    return err;
}

/* Monotonic microseconds, for the stats only. */
static int64_t
sl_cl_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Swap the group segs[from, to) for the committed (.swap) segment <cs>.
 * @returns SL_OK, SL_ERR__AGAIN (the list changed meanwhile), SL_ERR__IO */
static sl_err_t
sl_cl_swap(sl_cl_pass_t *c, size_t from, size_t to, sl_segment_t *cs)
{
    sl_partlog_t *pl = c->pl;
    size_t i, k, n = to - from;
    int64_t t0;
    sl_err_t err = SL_OK;

    pthread_mutex_lock(&pl->lock);
    t0 = sl_cl_mono_us();
    i = sl_partlog_find_seg(pl, sl_segment_base(c->segs[from]));
    if (atomic_load(&pl->offline) || i + n >= pl->nsegs) {
        pthread_mutex_unlock(&pl->lock);
        return SL_ERR__AGAIN;
    }
    for (k = 0; k < n; k++) {
        if (pl->segs[i + k].seg != c->segs[from + k]) {
            pthread_mutex_unlock(&pl->lock);
            return SL_ERR__AGAIN;
        }
    }
    for (k = 0; k < n && err == SL_OK; k++) {
        err = sl_segment_rename_sfx(c->segs[from + k], ".deleted");
    }
    if (err == SL_OK) {
        err = sl_segment_rename_sfx(cs, "");
    }
    if (err != SL_OK) {
        /* the swap is committed on disk; the next open completes it. Until
         * then the old segments serve reads from their open files */
        pthread_mutex_unlock(&pl->lock);
        sl_log_error("log.cleaner",
                     "swap failed topic=%s partition=%d base=%lld err=%s",
                     pl->topic, (int)pl->partition,
                     (long long)sl_segment_base(cs), sl_err_name(err));
        return SL_ERR__IO;
    }
    sl_segment_compact(cs);
    sl_segment_ref(cs);
    pl->segs[i].seg = cs;
    pl->segs[i].index_synced = true;
    memmove(&pl->segs[i + 1], &pl->segs[i + n],
            (pl->nsegs - i - n) * sizeof(pl->segs[0]));
    pl->nsegs -= n - 1;
    pl->dir_dirty = true;
    t0 = sl_cl_mono_us() - t0;
    pthread_mutex_unlock(&pl->lock);
    if (t0 > c->st->lock_us_max) {
        c->st->lock_us_max = t0;
    }

    /* the list's references to the old segments are now ours */
    err = sl_file_sync_dir(pl->dir);
    for (k = 0; k < n; k++) {
        (void)sl_segment_unlink(c->segs[from + k]);
        sl_segment_unref(c->segs[from + k]);
    }
    c->st->segments_removed += (int32_t)n;
    c->st->groups_swapped++;
    return err;
}

/* Copy the batches of <seg> below file position <upto> unchanged into the
 * cleaned segment <cs> (the part before a single segment's first
 * change). */
static sl_err_t
sl_cl_copy_prefix(sl_cl_pass_t *c, sl_segment_t *seg, int64_t upto,
                  sl_segment_t *cs)
{
    sl_cl_reader_t r;
    uint8_t *buf = NULL, *out = NULL;
    size_t cap = 0, ocap = 0, olen = 0, n;
    const uint8_t *p;
    bool broken;
    sl_err_t err;

    sl_cl_reader_init(&r, seg, &buf, &cap, &c->st->bytes_read);
    r.limit = upto;
    while ((err = sl_cl_reader_next(&r, &buf, &cap, &p, &n)) == SL_OK) {
        if ((err = sl_cl_reserve(&out, &ocap, olen, n)) != SL_OK) {
            break;
        }
        memcpy(out + olen, p, n);
        olen += n;
        if (olen >= SL_CL_OUT_FLUSH) {
            err = sl_segment_append(cs, out, olen, &broken);
            c->st->bytes_written += (int64_t)olen;
            olen = 0;
            if (err != SL_OK) {
                break;
            }
        }
    }
    if (err == SL_ERR__NOENT) {
        err = SL_OK;
        if (olen > 0) {
            err = sl_segment_append(cs, out, olen, &broken);
            c->st->bytes_written += (int64_t)olen;
        }
    }
    free(buf);
    free(out);
    return err;
}

/*
 * Rewrite segs[from, to) into one cleaned segment and swap it in. A single
 * segment that nothing changes is left alone, and its cleaned copy is only
 * started at its first change (the bytes before are copied then).
 */
static sl_err_t
sl_cl_clean_group(sl_cl_pass_t *c, size_t from, size_t to)
{
    sl_segment_t *cs = NULL;
    sl_cl_reader_t r;
    const uint8_t *p;
    size_t n, k;
    bool changed = to - from > 1;
    sl_err_t err = SL_OK;

    c->olen = 0;
    for (k = from; k < to && err == SL_OK; k++) {
        sl_cl_reader_init(&r, c->segs[k], &c->rbuf, &c->rcap,
                          &c->st->bytes_read);
        while ((err = sl_cl_reader_next(&r, &c->rbuf, &c->rcap, &p, &n)) ==
               SL_OK) {
            err = sl_cl_clean_batch(c, p, n, &changed);
            if (err == SL_OK && !changed) {
                c->olen = 0; /* identical so far: nothing to write yet */
                continue;
            }
            if (err == SL_OK && cs == NULL) {
                err = sl_segment_create_sfx(c->pl->dir,
                                            sl_segment_base(c->segs[from]),
                                            ".cleaned", &c->cfg, &cs);
                if (err == SL_OK && to - from == 1) {
                    /* this batch starts at pos + at - n */
                    err = sl_cl_copy_prefix(
                        c, c->segs[k], r.pos + (int64_t)r.at - (int64_t)n, cs);
                }
            }
            if (err == SL_OK && c->olen >= SL_CL_OUT_FLUSH) {
                err = sl_cl_flush_out(c, cs);
            }
            if (err != SL_OK) {
                break;
            }
        }
        if (err == SL_ERR__NOENT) {
            err = SL_OK;
        }
    }
    if (cs == NULL) {
        return err; /* nothing to gain, or failed before writing */
    }
    if (err == SL_OK) {
        err = sl_cl_flush_out(c, cs);
    }
    if (err == SL_OK) {
        sl_segment_seal(cs);
        err = sl_segment_sync(cs, true);
    }
    if (err == SL_OK) {
        err = sl_segment_rename_sfx(cs, ".swap");
    }
    if (err == SL_OK) {
        err = sl_file_sync_dir(c->pl->dir);
    }
    if (err == SL_OK) {
        err = sl_cl_swap(c, from, to, cs);
        if (err == SL_OK) {
            sl_segment_unref(cs);
            return SL_OK;
        }
        if (err != SL_ERR__AGAIN) {
            sl_segment_unref(cs);
            return err;
        }
        err = SL_OK; /* the list changed: forget this group */
    }
    (void)sl_segment_unlink(cs);
    sl_segment_unref(cs);
    return err;
}

/* ---- the pass ----------------------------------------------------------- */

static void
sl_cl_pass_free(sl_cl_pass_t *c)
{
    size_t i;

    for (i = 0; i < c->nsegs; i++) {
        sl_segment_unref(c->segs[i]);
    }
    free(c->segs);
    free(c->map.s);
    free(c->rbuf);
    free(c->out);
    free(c->rec);
    free(c->ab);
    free(c->open);
    free(c->seen);
}

static int
sl_cl_cmp_first(const void *a, const void *b)
{
    int64_t x = ((const sl_txn_aborted_t *)a)->first_offset;
    int64_t y = ((const sl_txn_aborted_t *)b)->first_offset;

    return x < y ? -1 : x > y;
}

/* The aborted transactions, by first offset. @locks lock */
static sl_err_t
sl_cl_take_aborted(sl_cl_pass_t *c)
{
    sl_partlog_t *pl = c->pl;
    size_t n;

    if (pl->txnidx == NULL ||
        (n = sl_txnidx_collect(pl->txnidx, 0, INT64_MAX, NULL, 0)) == 0) {
        return SL_OK;
    }
    c->ab = malloc(n * sizeof(*c->ab));
    c->open = malloc(n * sizeof(*c->open));
    if (c->ab == NULL || c->open == NULL) {
        return SL_ERR__NOMEM;
    }
    c->nab = sl_txnidx_collect(pl->txnidx, 0, INT64_MAX, c->ab, n);
    qsort(c->ab, c->nab, sizeof(*c->ab), sl_cl_cmp_first);
    return SL_OK;
}

/* Take references to the sealed segments. */
static sl_err_t
sl_cl_snapshot(sl_cl_pass_t *c)
{
    sl_partlog_t *pl = c->pl;
    size_t i;

    pthread_mutex_lock(&pl->lock);
    c->cfg = pl->cfg;
    if (!c->cfg.compact) {
        pthread_mutex_unlock(&pl->lock);
        return SL_OK; /* not ours: no references taken */
    }
    c->nsegs = pl->nsegs - 1;
    c->active_base = sl_segment_base(pl->segs[pl->nsegs - 1].seg);
    c->hwm = pl->hwm;
    if (pl->first_unstable >= 0 && pl->first_unstable < c->hwm) {
        c->hwm = pl->first_unstable; /* never clean an open transaction */
    }
    if (sl_cl_take_aborted(c) != SL_OK) {
        pthread_mutex_unlock(&pl->lock);
        c->nsegs = 0;
        return SL_ERR__NOMEM;
    }
    if (atomic_load(&pl->offline)) {
        pthread_mutex_unlock(&pl->lock);
        c->nsegs = 0;
        return SL_ERR__IO;
    }
    c->segs = calloc(c->nsegs + 1, sizeof(*c->segs));
    if (c->segs == NULL) {
        pthread_mutex_unlock(&pl->lock);
        c->nsegs = 0;
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < c->nsegs; i++) {
        c->segs[i] = pl->segs[i].seg;
        sl_segment_ref(c->segs[i]);
    }
    pthread_mutex_unlock(&pl->lock);
    return SL_OK;
}

/* Where sealed segment i ends: the next one's base (a sealed segment's own
 * next offset is not loaded by a clean open, and compaction leaves gaps). */
static int64_t
sl_cl_seg_end(const sl_cl_pass_t *c, size_t i)
{
    return i + 1 < c->nsegs ? sl_segment_base(c->segs[i + 1]) : c->active_base;
}

/* Pick the dirty section [segs[*di], segs[*ei]) and say whether a pass is
 * due. */
static bool
sl_cl_plan(sl_cl_pass_t *c, bool force, int64_t first_dirty, size_t *di,
           size_t *ei)
{
    int64_t clean = 0, dirty = 0, lag = c->cfg.min_compaction_lag_ms;
    int64_t first_ts;
    size_t i;
    bool due = force;

    for (i = 0; i < c->nsegs && sl_cl_seg_end(c, i) <= first_dirty; i++) {
        clean += sl_segment_size(c->segs[i]);
    }
    *di = i;
    for (; i < c->nsegs; i++) {
        sl_segment_t *s = c->segs[i];

        if (sl_cl_seg_end(c, i) > c->hwm ||
            (lag > 0 && sl_segment_max_ts(s) > c->now_ms - lag)) {
            break;
        }
        dirty += sl_segment_size(s);
    }
    *ei = i;
    if (*ei == 0) {
        return false;
    }
    if (dirty > 0 &&
        (double)dirty >= c->cfg.min_cleanable_ratio * (double)(clean + dirty)) {
        due = true;
    }
    if (*di < *ei) {
        first_ts = sl_segment_first_ts(c->segs[*di]);
        if (first_ts < 0) {
            /* not known after a clean open: its largest is later, so a
             * safe stand-in (the pass may come a little late) */
            first_ts = sl_segment_max_ts(c->segs[*di]);
        }
        if (first_ts >= 0 && c->cfg.max_compaction_lag_ms < INT64_MAX &&
            c->now_ms - first_ts > c->cfg.max_compaction_lag_ms) {
            due = true;
        }
    }
    if (c->pl->clean_horizon_ms <= c->now_ms) {
        due = true; /* a delete horizon passed, or unknown after a start */
    }
    return due;
}

sl_err_t
sl_cleaner_clean(sl_partlog_t *pl, const sl_cleaner_opts_t *o, int64_t now_ms,
                 sl_cleaner_stats_t *st)
{
    sl_cl_pass_t c;
    int64_t first_dirty, end, group_bytes;
    size_t di, ei, i, j;
    sl_err_t err;

    int64_t t0 = sl_clock_mono_ms(); /* for the log line only */

    memset(st, 0, sizeof(*st));
    memset(&c, 0, sizeof(c));
    c.pl = pl;
    c.now_ms = now_ms;
    c.st = st;
    c.min_horizon = INT64_MAX;
    if ((err = sl_cl_snapshot(&c)) != SL_OK || !c.cfg.compact) {
        sl_cl_pass_free(&c);
        return err;
    }
    if (sl_ckpt_read_offset(pl->dir, SL_CLEANER_CKPT, pl->topic, pl->partition,
                            &first_dirty) != SL_OK ||
        first_dirty > c.active_base ||
        (c.nsegs > 0 && first_dirty < sl_segment_base(c.segs[0]))) {
        first_dirty = c.nsegs > 0 ? sl_segment_base(c.segs[0]) : 0;
    }
    if (!sl_cl_plan(&c, o->force, first_dirty, &di, &ei)) {
        sl_cl_pass_free(&c);
        return SL_OK;
    }
    if ((err = sl_cl_map_init(&c.map, o->dedupe_buffer_size)) != SL_OK) {
        sl_cl_pass_free(&c);
        return err;
    }
    for (i = di; i < ei; i++) {
        err = sl_cl_map_segment(&c, c.segs[i], first_dirty);
        if (err == SL_ERR__TOOBIG && i > di) {
            /* the map holds whole segments only: stop before this one */
            sl_log_info("log.cleaner",
                        "dedupe buffer full topic=%s partition=%d keys=%zu",
                        pl->topic, (int)pl->partition, c.map.n);
            ei = i;
            err = SL_OK;
            break;
        }
        if (err != SL_OK) {
            sl_log_warn("log.cleaner",
                        "cannot build key map topic=%s partition=%d err=%s",
                        pl->topic, (int)pl->partition, sl_err_name(err));
            sl_cl_pass_free(&c);
            return err;
        }
    }
    st->map_keys = (int64_t)c.map.n;
    end = ei < c.nsegs ? sl_segment_base(c.segs[ei]) : c.active_base;
    st->cleaned = true;
    st->first_dirty = first_dirty;
    st->end = end;
    /* The checkpoint goes first: it also tells the partition log's open
     * that the segments below it may end in a gap left by compaction (an
     * empty segment after them is then a roll, not the rest of a corrupt
     * one). A pass that fails after it leaves that part less compacted,
     * never wrong. */
    if (end != first_dirty) {
        err = sl_ckpt_write_offset(pl->dir, SL_CLEANER_CKPT, pl->topic,
                                   pl->partition, end);
    }
    /* groups of consecutive segments that fit one segment */
    for (i = 0; i < ei && err == SL_OK; i = j) {
        group_bytes = sl_segment_size(c.segs[i]);
        for (j = i + 1; j < ei; j++) {
            int64_t sz = sl_segment_size(c.segs[j]);

            if (group_bytes + sz > c.cfg.segment_bytes ||
                group_bytes + sz > INT32_MAX ||
                sl_cl_seg_end(&c, j) - 1 - sl_segment_base(c.segs[i]) >
                    INT32_MAX) {
                break;
            }
            group_bytes += sz;
        }
        err = sl_cl_clean_group(&c, i, j);
    }
    if (err == SL_OK) {
        pl->clean_horizon_ms = c.min_horizon;
    }
    sl_log_info("log.cleaner",
                "cleaned topic=%s partition=%d dirty=%lld-%lld keys=%lld "
                "read=%lld written=%lld records=%lld kept=%lld groups=%d "
                "ms=%lld lock_us=%lld err=%s",
                pl->topic, (int)pl->partition, (long long)first_dirty,
                (long long)end, (long long)st->map_keys,
                (long long)st->bytes_read, (long long)st->bytes_written,
                (long long)st->records_read, (long long)st->records_kept,
                (int)st->groups_swapped, (long long)(sl_clock_mono_ms() - t0),
                (long long)st->lock_us_max, sl_err_name(err));
    sl_cl_pass_free(&c);
    return err;
}
