/*
 * log/segment.c: one segment's files, indexes, scans and lookups.
 *
 * Owns: the segment's three file descriptors and the in-memory copies of
 * its two indexes. It knows record batches only by their 61-byte headers
 * (plus CRC-32C for recovery); record contents are proto/batch.c's.
 *
 * Files of a segment with base offset B in <dir> (B as 20 decimal digits):
 *
 *   B.log        record batches v2, back to back, exactly as stored by
 *                Kafka (see proto/batch.h for the batch layout).
 *
 *   B.index      offset index, 8-byte entries, big-endian, no header:
 *                  offset size field
 *                       0    4 relative offset  int32 = last offset of the
 *                                               batch - B
 *                       4    4 position         int32 = file position of
 *                                               that batch in B.log
 *                One entry whenever more than index.interval.bytes were
 *                appended since the last entry. Strictly increasing in both
 *                fields.
 *
 *   B.timeindex  time index, 12-byte entries, big-endian, no header:
 *                  offset size field
 *                       0    8 timestamp        int64 = max timestamp so
 *                                               far in the segment
 *                       8    4 relative offset  int32 = last offset of the
 *                                               batch holding it - B
 *                Added beside an offset index entry when the max
 *                timestamp grew, and once more when the segment is sealed
 *                (rolled), so its last entry is the segment's max
 *                timestamp. Timestamps strictly increase.
 *
 * The index files are not preallocated: they grow by one entry at a time
 * and their size is always a whole number of entries (anything else makes
 * the index "corrupt" and it is rebuilt from the log). segment.index.bytes
 * caps them; a full index makes the partition roll.
 *
 * Thread safety: the committed log size is an atomic published after the
 * bytes and index entries are written; the index arrays are guarded by
 * ilock (readers binary-search them under it). Everything else is written
 * only under the owning partition's lock.
 */
#include "log/segment.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/log.h"
#include "log/file.h"

#define SL_SEG_HDR 61
#define SL_SEG_OIDX_SIZE 8
#define SL_SEG_TIDX_SIZE 12
#define SL_SEG_PATH_MAX 4096
#define SL_SEG_SCAN_BUF 65536
#define SL_SEG_STRIDE 64 /* index entries per in-memory sample, compact */

typedef struct sl_oidx_entry_s {
    int32_t rel;
    int32_t pos;
} sl_oidx_entry_t;

typedef struct sl_tidx_entry_s {
    int64_t ts;
    int32_t rel;
} sl_tidx_entry_t;

struct sl_segment_s {
    atomic_int refs;
    int64_t base;
    char *dir;
    char sfx[16]; /* file name suffix ("" or cleaner's ".cleaned"...) */
    int log_fd, oidx_fd, tidx_fd;
    _Atomic int64_t size; /* committed bytes of the .log */

    pthread_mutex_t ilock; /* guards the arrays and counts below */
    sl_oidx_entry_t *oidx;
    size_t noidx, coidx;
    sl_tidx_entry_t *tidx;
    size_t ntidx, ctidx;

    /* under the partition lock */
    size_t oidx_max, tidx_max;
    int32_t interval;
    int64_t bytes_since_index;
    int64_t next_offset;
    int64_t max_ts, max_ts_offset;
    int64_t first_ts;
    int64_t mtime_ms;
    bool indexes_ok;
    /* compact: a sealed segment keeps every SL_SEG_STRIDE-th entry of each
     * index in memory (oidx/tidx hold those samples) and reads the block
     * between two samples from the file when it needs it */
    bool compact;          /* under ilock */
    size_t nofile, ntfile; /* entries in the files when compact */
};

/* ---- byte helpers ------------------------------------------------------ */

static uint32_t
sl_segment_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static uint64_t
sl_segment_get64(const uint8_t *p)
{
    return ((uint64_t)sl_segment_get32(p) << 32) | sl_segment_get32(p + 4);
}

static void
sl_segment_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
sl_segment_put64(uint8_t *p, uint64_t v)
{
    sl_segment_put32(p, (uint32_t)(v >> 32));
    sl_segment_put32(p + 4, (uint32_t)v);
}

bool
sl_segment_path(char *buf, size_t cap, const char *dir, int64_t base,
                const char *ext)
{
    int n = snprintf(buf, cap, "%s/%020lld%s", dir, (long long)base, ext);

    return n > 0 && (size_t)n < cap;
}

sl_err_t
sl_segment_decode_header(const uint8_t *p, int64_t room, sl_seg_batch_t *b)
{
    int32_t len = (int32_t)sl_segment_get32(p + 8);
    int32_t lod = (int32_t)sl_segment_get32(p + 23);

    b->base_offset = (int64_t)sl_segment_get64(p);
    b->leader_epoch = (int32_t)sl_segment_get32(p + 12);
    b->attributes = (int16_t)((p[21] << 8) | p[22]);
    b->base_ts = (int64_t)sl_segment_get64(p + 27);
    b->max_ts = (int64_t)sl_segment_get64(p + 35);
    b->records_count = (int32_t)sl_segment_get32(p + 57);
    b->producer_id = (int64_t)sl_segment_get64(p + 43);
    b->producer_epoch = (int16_t)((p[51] << 8) | p[52]);
    b->base_sequence = (int32_t)sl_segment_get32(p + 53);
    if (len < SL_SEG_HDR - 12 || p[16] != 2) {
        return SL_CORRUPT();
    }
    b->size = (int64_t)len + 12;
    if (b->base_offset < 0 || lod < 0 || b->records_count < 0 ||
        (b->records_count > 0 && lod < b->records_count - 1) ||
        (b->attributes & 0x07) > 4 || b->base_offset > INT64_MAX - lod) {
        return SL_CORRUPT();
    }
    b->last_offset = b->base_offset + lod;
    if (b->size > room) {
        return SL_ERR__NOENT;
    }
    return SL_OK;
}

/* ---- lifetime ---------------------------------------------------------- */

static void
sl_segment_caps(sl_segment_t *seg, const sl_log_config_t *cfg)
{
    int32_t ib = cfg->segment_index_bytes;

    seg->interval =
        cfg->index_interval_bytes > 0 ? cfg->index_interval_bytes : 4096;
    if (ib < SL_SEG_TIDX_SIZE) {
        ib = SL_SEG_TIDX_SIZE;
    }
    seg->oidx_max = (size_t)ib / SL_SEG_OIDX_SIZE;
    seg->tidx_max = (size_t)ib / SL_SEG_TIDX_SIZE;
}

void
sl_segment_set_config(sl_segment_t *seg, const sl_log_config_t *cfg)
{
    sl_segment_caps(seg, cfg);
}

static sl_segment_t *
sl_segment_alloc(const char *dir, int64_t base, const sl_log_config_t *cfg)
{
    sl_segment_t *seg = calloc(1, sizeof(*seg));

    if (seg == NULL) {
        return NULL;
    }
    if ((seg->dir = strdup(dir)) == NULL) {
        free(seg);
        return NULL;
    }
    atomic_init(&seg->refs, 1);
    atomic_init(&seg->size, 0);
    pthread_mutex_init(&seg->ilock, NULL);
    seg->base = base;
    seg->log_fd = seg->oidx_fd = seg->tidx_fd = -1;
    seg->next_offset = base;
    seg->max_ts = -1;
    seg->max_ts_offset = -1;
    seg->first_ts = -1;
    seg->indexes_ok = true;
    sl_segment_caps(seg, cfg);
    return seg;
}

static void
sl_segment_free(sl_segment_t *seg)
{
    sl_file_close(&seg->log_fd);
    sl_file_close(&seg->oidx_fd);
    sl_file_close(&seg->tidx_fd);
    pthread_mutex_destroy(&seg->ilock);
    free(seg->oidx);
    free(seg->tidx);
    free(seg->dir);
    free(seg);
}

static sl_err_t
sl_segment_open_files(sl_segment_t *seg, int flags)
{
    char p[SL_SEG_PATH_MAX];
    static const char *const ext[3] = {".log", ".index", ".timeindex"};
    int *fds[3] = {&seg->log_fd, &seg->oidx_fd, &seg->tidx_fd};
    sl_err_t err;
    int i;

    for (i = 0; i < 3; i++) {
        if (!sl_segment_path(p, sizeof(p), seg->dir, seg->base, ext[i]) ||
            strlen(p) + strlen(seg->sfx) >= sizeof(p)) {
            return SL_ERR__INVAL;
        }
        strcat(p, seg->sfx);
        err = sl_file_open(p, O_RDWR | (i == 0 ? flags : O_CREAT | flags),
                           fds[i]);
        if (err != SL_OK) {
            return err;
        }
    }
    return SL_OK;
}

sl_err_t
sl_segment_create(const char *dir, int64_t base, const sl_log_config_t *cfg,
                  sl_segment_t **out)
{
    return sl_segment_create_sfx(dir, base, "", cfg, out);
}

sl_err_t
sl_segment_create_sfx(const char *dir, int64_t base, const char *sfx,
                      const sl_log_config_t *cfg, sl_segment_t **out)
{
    sl_segment_t *seg;
    sl_err_t err;

    if (strlen(sfx) >= sizeof(seg->sfx)) {
        return SL_ERR__INVAL;
    }
    if ((seg = sl_segment_alloc(dir, base, cfg)) == NULL) {
        return SL_ERR__NOMEM;
    }
    strcpy(seg->sfx, sfx);
    err = sl_segment_open_files(seg, O_CREAT | O_TRUNC);
    if (err == SL_OK) {
        int64_t size; /* mtime: retention's clock for batches without one */

        err = sl_file_size(seg->log_fd, &size, &seg->mtime_ms);
    }
    if (err != SL_OK) {
        sl_segment_free(seg);
        return err == SL_ERR__NOENT ? SL_ERR__IO : err;
    }
    *out = seg;
    return SL_OK;
}

void
sl_segment_ref(sl_segment_t *seg)
{
    atomic_fetch_add(&seg->refs, 1);
}

void
sl_segment_unref(sl_segment_t *seg)
{
    if (seg != NULL && atomic_fetch_sub(&seg->refs, 1) == 1) {
        sl_segment_free(seg);
    }
}

sl_err_t
sl_segment_unlink(sl_segment_t *seg)
{
    char p[SL_SEG_PATH_MAX];
    static const char *const ext[3] = {".log", ".index", ".timeindex"};
    sl_err_t err, first = SL_OK;
    int i;

    for (i = 0; i < 3; i++) {
        if (!sl_segment_path(p, sizeof(p), seg->dir, seg->base, ext[i]) ||
            strlen(p) + strlen(seg->sfx) >= sizeof(p)) {
            return SL_ERR__INVAL;
        }
        strcat(p, seg->sfx);
        err = sl_file_unlink(p);
        if (err != SL_OK && err != SL_ERR__NOENT && first == SL_OK) {
            first = err;
        }
    }
    return first;
}

sl_err_t
sl_segment_rename_sfx(sl_segment_t *seg, const char *sfx)
{
    char from[SL_SEG_PATH_MAX], to[SL_SEG_PATH_MAX];
    static const char *const ext[3] = {".index", ".timeindex", ".log"};
    bool log_first = strcmp(sfx, ".deleted") == 0;
    sl_err_t err;
    int i, k;

    if (strlen(sfx) >= sizeof(seg->sfx)) {
        return SL_ERR__INVAL;
    }
    for (k = 0; k < 3; k++) {
        i = log_first ? (k + 2) % 3 : k;
        if (!sl_segment_path(from, sizeof(from), seg->dir, seg->base, ext[i]) ||
            !sl_segment_path(to, sizeof(to), seg->dir, seg->base, ext[i]) ||
            strlen(from) + strlen(seg->sfx) >= sizeof(from) ||
            strlen(to) + strlen(sfx) >= sizeof(to)) {
            return SL_ERR__INVAL;
        }
        strcat(from, seg->sfx);
        strcat(to, sfx);
        if ((err = sl_file_rename(from, to)) != SL_OK) {
            return err;
        }
    }
    strcpy(seg->sfx, sfx);
    return SL_OK;
}

/* ---- indexes ----------------------------------------------------------- */

/* Make room for <n> more entries in each array. @locks ilock */
static sl_err_t
sl_segment_reserve(sl_segment_t *seg, size_t n)
{
    size_t want;
    void *p;

    if (seg->noidx + n > seg->coidx) {
        want = seg->coidx ? seg->coidx * 2 : 64;
        while (want < seg->noidx + n) {
            want *= 2;
        }
        if ((p = realloc(seg->oidx, want * sizeof(*seg->oidx))) == NULL) {
            return SL_ERR__NOMEM;
        }
        seg->oidx = p;
        seg->coidx = want;
    }
    if (seg->ntidx + n > seg->ctidx) {
        want = seg->ctidx ? seg->ctidx * 2 : 64;
        while (want < seg->ntidx + n) {
            want *= 2;
        }
        if ((p = realloc(seg->tidx, want * sizeof(*seg->tidx))) == NULL) {
            return SL_ERR__NOMEM;
        }
        seg->tidx = p;
        seg->ctidx = want;
    }
    return SL_OK;
}

/* Read an index file into memory with sanity checks; false when it is not
 * usable (the caller rebuilds). */
static bool
sl_segment_load_oidx(sl_segment_t *seg, int64_t log_size)
{
    int64_t fsize;
    size_t n, i, got;
    uint8_t *buf;
    bool ok = true;

    if (sl_file_size(seg->oidx_fd, &fsize, NULL) != SL_OK ||
        fsize % SL_SEG_OIDX_SIZE != 0 ||
        (size_t)fsize / SL_SEG_OIDX_SIZE > seg->oidx_max + 1) {
        return false;
    }
    n = (size_t)fsize / SL_SEG_OIDX_SIZE;
    if (n == 0) {
        return true;
    }
    if ((buf = malloc((size_t)fsize)) == NULL) {
        return false;
    }
    if (sl_file_read_at(seg->oidx_fd, buf, (size_t)fsize, 0, &got) != SL_OK ||
        got != (size_t)fsize) {
        free(buf);
        return false;
    }
    pthread_mutex_lock(&seg->ilock);
    if (sl_segment_reserve(seg, n) != SL_OK) {
        ok = false;
    }
    for (i = 0; ok && i < n; i++) {
        int32_t rel = (int32_t)sl_segment_get32(buf + i * 8);
        int32_t pos = (int32_t)sl_segment_get32(buf + i * 8 + 4);

        if (rel < 0 || pos < 0 || pos >= log_size ||
            (i > 0 &&
             (rel <= seg->oidx[i - 1].rel || pos <= seg->oidx[i - 1].pos))) {
            ok = false;
            break;
        }
        seg->oidx[i].rel = rel;
        seg->oidx[i].pos = pos;
    }
    seg->noidx = ok ? n : 0;
    pthread_mutex_unlock(&seg->ilock);
    free(buf);
    return ok;
}

static bool
sl_segment_load_tidx(sl_segment_t *seg)
{
    int64_t fsize;
    size_t n, i, got;
    uint8_t *buf;
    bool ok = true;

    if (sl_file_size(seg->tidx_fd, &fsize, NULL) != SL_OK ||
        fsize % SL_SEG_TIDX_SIZE != 0 ||
        (size_t)fsize / SL_SEG_TIDX_SIZE > seg->tidx_max + 1) {
        return false;
    }
    n = (size_t)fsize / SL_SEG_TIDX_SIZE;
    if (n == 0) {
        return true;
    }
    if ((buf = malloc((size_t)fsize)) == NULL) {
        return false;
    }
    if (sl_file_read_at(seg->tidx_fd, buf, (size_t)fsize, 0, &got) != SL_OK ||
        got != (size_t)fsize) {
        free(buf);
        return false;
    }
    pthread_mutex_lock(&seg->ilock);
    if (sl_segment_reserve(seg, n) != SL_OK) {
        ok = false;
    }
    for (i = 0; ok && i < n; i++) {
        int64_t ts = (int64_t)sl_segment_get64(buf + i * 12);
        int32_t rel = (int32_t)sl_segment_get32(buf + i * 12 + 8);

        if (rel < 0 || (i > 0 && (ts <= seg->tidx[i - 1].ts ||
                                  rel < seg->tidx[i - 1].rel))) {
            ok = false;
            break;
        }
        seg->tidx[i].ts = ts;
        seg->tidx[i].rel = rel;
    }
    seg->ntidx = ok ? n : 0;
    if (ok) {
        seg->max_ts = seg->tidx[n - 1].ts;
        seg->max_ts_offset = seg->base + seg->tidx[n - 1].rel;
    }
    pthread_mutex_unlock(&seg->ilock);
    free(buf);
    return ok;
}

sl_err_t
sl_segment_open(const char *dir, int64_t base, const sl_log_config_t *cfg,
                sl_segment_t **out)
{
    sl_segment_t *seg;
    sl_seg_batch_t b;
    int64_t size;
    sl_err_t err;

    if ((seg = sl_segment_alloc(dir, base, cfg)) == NULL) {
        return SL_ERR__NOMEM;
    }
    err = sl_segment_open_files(seg, 0);
    if (err == SL_OK) {
        err = sl_file_size(seg->log_fd, &size, &seg->mtime_ms);
    }
    if (err != SL_OK) {
        sl_segment_free(seg);
        return err;
    }
    atomic_store(&seg->size, size);
    seg->indexes_ok =
        sl_segment_load_oidx(seg, size) && sl_segment_load_tidx(seg);
    if (seg->indexes_ok && seg->noidx > 0) {
        /* the last entry must name the batch it points at */
        sl_oidx_entry_t e = seg->oidx[seg->noidx - 1];

        err = sl_segment_read_batch(seg, e.pos, size, &b);
        if (err == SL_ERR__IO) {
            sl_segment_free(seg);
            return err;
        }
        if (err != SL_OK || b.last_offset != base + e.rel) {
            seg->indexes_ok = false;
        }
    }
    if (!seg->indexes_ok) {
        pthread_mutex_lock(&seg->ilock);
        seg->noidx = seg->ntidx = 0;
        pthread_mutex_unlock(&seg->ilock);
        seg->max_ts = seg->max_ts_offset = -1;
    }
    *out = seg;
    return SL_OK;
}

/* Write the whole in-memory indexes to their files. */
static sl_err_t
sl_segment_write_indexes(sl_segment_t *seg)
{
    uint8_t *buf;
    size_t i, n = seg->noidx > seg->ntidx ? seg->noidx : seg->ntidx;
    sl_err_t err;

    if ((buf = malloc(n * SL_SEG_TIDX_SIZE + 1)) == NULL) {
        return SL_ERR__NOMEM;
    }
    for (i = 0; i < seg->noidx; i++) {
        sl_segment_put32(buf + i * 8, (uint32_t)seg->oidx[i].rel);
        sl_segment_put32(buf + i * 8 + 4, (uint32_t)seg->oidx[i].pos);
    }
    err = sl_file_truncate(seg->oidx_fd, 0);
    if (err == SL_OK) {
        err = sl_file_write_at(seg->oidx_fd, buf, seg->noidx * 8, 0);
    }
    for (i = 0; err == SL_OK && i < seg->ntidx; i++) {
        sl_segment_put64(buf + i * 12, (uint64_t)seg->tidx[i].ts);
        sl_segment_put32(buf + i * 12 + 8, (uint32_t)seg->tidx[i].rel);
    }
    if (err == SL_OK) {
        err = sl_file_truncate(seg->tidx_fd, 0);
    }
    if (err == SL_OK) {
        err = sl_file_write_at(seg->tidx_fd, buf, seg->ntidx * 12, 0);
    }
    free(buf);
    return err;
}

/* Account one batch at <pos>: maybe add index entries (into the reserved
 * tail when <publish> is false: the caller bumps the counts later). */
static void
sl_segment_account(sl_segment_t *seg, const sl_seg_batch_t *b, size_t *no,
                   size_t *nt)
{
    int32_t rel = (int32_t)(b->last_offset - seg->base);

    if (seg->first_ts < 0 && seg->next_offset == seg->base) {
        seg->first_ts = b->max_ts;
    }
    if (b->max_ts > seg->max_ts) {
        seg->max_ts = b->max_ts;
        seg->max_ts_offset = b->last_offset;
    }
    if (seg->bytes_since_index > seg->interval && *no < seg->oidx_max &&
        (*no == 0 || seg->oidx[*no - 1].rel < rel) && b->pos <= INT32_MAX) {
        seg->oidx[*no].rel = rel;
        seg->oidx[*no].pos = (int32_t)b->pos;
        (*no)++;
        if (seg->max_ts >= 0 && *nt < seg->tidx_max &&
            (*nt == 0 || seg->tidx[*nt - 1].ts < seg->max_ts)) {
            seg->tidx[*nt].ts = seg->max_ts;
            seg->tidx[*nt].rel = (int32_t)(seg->max_ts_offset - seg->base);
            (*nt)++;
        }
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += b->size;
    seg->next_offset = b->last_offset + 1;
}

sl_err_t
sl_segment_read_batch(sl_segment_t *seg, int64_t pos, int64_t limit,
                      sl_seg_batch_t *b)
{
    uint8_t hdr[SL_SEG_HDR];
    size_t got;
    sl_err_t err;

    if (pos < 0 || limit - pos < SL_SEG_HDR) {
        return SL_ERR__NOENT;
    }
    err = sl_file_read_at(seg->log_fd, hdr, SL_SEG_HDR, pos, &got);
    if (err != SL_OK) {
        return err;
    }
    if (got < SL_SEG_HDR) {
        return SL_ERR__NOENT;
    }
    b->pos = pos;
    return sl_segment_decode_header(hdr, limit - pos, b);
}

/* CRC-32C of the batch at b->pos, streamed through a bounded buffer. */
static sl_err_t
sl_segment_check_crc(sl_segment_t *seg, const sl_seg_batch_t *b, uint8_t *buf)
{
    uint8_t c[4];
    uint32_t crc = 0;
    int64_t off = b->pos + 21, end = b->pos + b->size;
    size_t got, n;
    sl_err_t err;

    err = sl_file_read_at(seg->log_fd, c, 4, b->pos + 17, &got);
    if (err != SL_OK || got != 4) {
        return err != SL_OK ? err : SL_CORRUPT();
    }
    while (off < end) {
        n = (size_t)(end - off < SL_SEG_SCAN_BUF ? end - off : SL_SEG_SCAN_BUF);
        err = sl_file_read_at(seg->log_fd, buf, n, off, &got);
        if (err != SL_OK) {
            return err;
        }
        if (got != n) {
            return SL_CORRUPT();
        }
        crc = sl_crc32c(crc, buf, n);
        off += (int64_t)n;
    }
    return crc == sl_segment_get32(c) ? SL_OK : SL_CORRUPT();
}

static void
sl_segment_reset_state(sl_segment_t *seg)
{
    pthread_mutex_lock(&seg->ilock);
    seg->noidx = seg->ntidx = 0;
    seg->compact = false; /* the sample arrays become plain arrays again */
    pthread_mutex_unlock(&seg->ilock);
    seg->next_offset = seg->base;
    seg->max_ts = seg->max_ts_offset = -1;
    seg->first_ts = -1;
    seg->bytes_since_index = 0;
}

sl_err_t
sl_segment_scan(sl_segment_t *seg, int64_t from, int64_t min_offset, int flags,
                sl_segment_batch_cb cb, void *arg, int64_t *valid_end)
{
    uint8_t *buf = NULL;
    int64_t size, pos = from, expect = min_offset;
    sl_seg_batch_t b;
    sl_err_t err = SL_OK;
    size_t no, nt;

    err = sl_file_size(seg->log_fd, &size, NULL);
    if (err != SL_OK) {
        return err;
    }
    if (expect < seg->base) {
        expect = seg->base;
    }
    if ((flags & SL_SEG_SCAN_CRC) && (buf = malloc(SL_SEG_SCAN_BUF)) == NULL) {
        return SL_ERR__NOMEM;
    }
    if (flags & SL_SEG_SCAN_INDEX) {
        sl_segment_reset_state(seg);
    }
    for (;;) {
        *valid_end = pos;
        if (pos == size) {
            err = SL_OK;
            break;
        }
        err = sl_segment_read_batch(seg, pos, size, &b);
        if (err == SL_ERR__NOENT) {
            err = SL_CORRUPT(); /* torn tail */
        }
        if (err == SL_OK &&
            (b.base_offset < expect || b.last_offset - seg->base > INT32_MAX ||
             pos > INT32_MAX)) {
            err = SL_CORRUPT();
        }
        if (err == SL_OK && (flags & SL_SEG_SCAN_CRC)) {
            err = sl_segment_check_crc(seg, &b, buf);
        }
        if (err != SL_OK) {
            break;
        }
        pthread_mutex_lock(&seg->ilock);
        err = sl_segment_reserve(seg, 1);
        if (err == SL_OK) {
            no = seg->noidx;
            nt = seg->ntidx;
            if (!(flags & SL_SEG_SCAN_INDEX)) {
                /* account without adding entries */
                int64_t keep = seg->bytes_since_index;

                seg->bytes_since_index = 0;
                sl_segment_account(seg, &b, &no, &nt);
                seg->bytes_since_index = keep + b.size;
            } else {
                sl_segment_account(seg, &b, &no, &nt);
                seg->noidx = no;
                seg->ntidx = nt;
            }
        }
        pthread_mutex_unlock(&seg->ilock);
        if (err != SL_OK) {
            break;
        }
        if (cb != NULL) {
            cb(arg, &b);
        }
        expect = b.last_offset + 1;
        pos += b.size;
    }
    free(buf);
    return err;
}

/* Cut the log at <pos> after a scan stopped there, write indexes. */
static sl_err_t
sl_segment_cut(sl_segment_t *seg, int64_t pos, int64_t *truncated)
{
    int64_t size;
    sl_err_t err;

    err = sl_file_size(seg->log_fd, &size, NULL);
    if (err != SL_OK) {
        return err;
    }
    *truncated = size - pos;
    if (size != pos) {
        sl_log_warn("log.segment",
                    "truncating torn or corrupt tail dir=%s base=%lld "
                    "pos=%lld bytes=%lld",
                    seg->dir, (long long)seg->base, (long long)pos,
                    (long long)(size - pos));
        err = sl_file_truncate(seg->log_fd, pos);
        if (err != SL_OK) {
            return err;
        }
    }
    atomic_store(&seg->size, pos);
    err = sl_segment_write_indexes(seg);
    if (err == SL_OK) {
        seg->indexes_ok = true;
    }
    return err;
}

sl_err_t
sl_segment_recover(sl_segment_t *seg, int64_t min_offset,
                   sl_segment_batch_cb cb, void *arg, int64_t *truncated)
{
    int64_t end;
    sl_err_t err;

    err = sl_segment_scan(seg, 0, min_offset,
                          SL_SEG_SCAN_CRC | SL_SEG_SCAN_INDEX, cb, arg, &end);
    if (err != SL_OK && err != SL_ERR__CORRUPT) {
        return err;
    }
    return sl_segment_cut(seg, end, truncated);
}

sl_err_t
sl_segment_rebuild(sl_segment_t *seg, int64_t min_offset, int64_t *truncated)
{
    int64_t end;
    sl_err_t err;

    err = sl_segment_scan(seg, 0, min_offset, SL_SEG_SCAN_INDEX, NULL, NULL,
                          &end);
    if (err != SL_OK && err != SL_ERR__CORRUPT) {
        return err;
    }
    return sl_segment_cut(seg, end, truncated);
}

sl_err_t
sl_segment_load_tail(sl_segment_t *seg, int64_t min_offset)
{
    int64_t from = 0, end;

    pthread_mutex_lock(&seg->ilock);
    if (seg->noidx > 0) {
        from = seg->oidx[seg->noidx - 1].pos;
    }
    pthread_mutex_unlock(&seg->ilock);
    seg->next_offset = seg->base;
    seg->bytes_since_index = 0;
    if (from > 0) {
        sl_seg_batch_t b;
        sl_err_t err = sl_segment_read_batch(seg, 0, from, &b);

        if (err != SL_OK) {
            return err == SL_ERR__NOENT ? SL_CORRUPT() : err;
        }
        seg->first_ts = b.max_ts;
        seg->next_offset = b.last_offset + 1; /* not the base any more */
    }
    return sl_segment_scan(seg, from, min_offset, 0, NULL, NULL, &end);
}

/* ---- append, seal, truncate, sync -------------------------------------- */

sl_err_t
sl_segment_append(sl_segment_t *seg, const uint8_t *data, size_t len,
                  bool *broken)
{
    int64_t old = atomic_load(&seg->size), pos = 0;
    size_t no0, nt0, no, nt, nb = 0;
    sl_seg_batch_t b;
    uint8_t ebuf[SL_SEG_TIDX_SIZE];
    int64_t s_next = seg->next_offset, s_max = seg->max_ts;
    int64_t s_maxo = seg->max_ts_offset, s_first = seg->first_ts;
    int64_t s_since = seg->bytes_since_index;
    sl_err_t err;
    size_t i;

    *broken = false;
    /* count batches to reserve index room */
    while ((size_t)pos + SL_SEG_HDR <= len) {
        if (sl_segment_decode_header(data + pos, (int64_t)len - pos, &b) !=
            SL_OK) {
            return SL_ERR__INVAL;
        }
        pos += b.size;
        nb++;
    }
    if ((size_t)pos != len) {
        return SL_ERR__INVAL;
    }
    pthread_mutex_lock(&seg->ilock);
    err = sl_segment_reserve(seg, nb);
    no0 = no = seg->noidx;
    nt0 = nt = seg->ntidx;
    if (err == SL_OK) {
        for (pos = 0; (size_t)pos < len; pos += b.size) {
            (void)sl_segment_decode_header(data + pos, (int64_t)len - pos, &b);
            b.pos = old + pos;
            sl_segment_account(seg, &b, &no, &nt);
        }
    }
    pthread_mutex_unlock(&seg->ilock);
    if (err != SL_OK) {
        return err;
    }

    err = sl_file_write_at(seg->log_fd, data, len, old);
    for (i = no0; err == SL_OK && i < no; i++) {
        sl_segment_put32(ebuf, (uint32_t)seg->oidx[i].rel);
        sl_segment_put32(ebuf + 4, (uint32_t)seg->oidx[i].pos);
        err = sl_file_write_at(seg->oidx_fd, ebuf, 8, (int64_t)i * 8);
    }
    for (i = nt0; err == SL_OK && i < nt; i++) {
        sl_segment_put64(ebuf, (uint64_t)seg->tidx[i].ts);
        sl_segment_put32(ebuf + 8, (uint32_t)seg->tidx[i].rel);
        err = sl_file_write_at(seg->tidx_fd, ebuf, 12, (int64_t)i * 12);
    }
    if (err != SL_OK) {
        /* roll back: nothing of this append may stay visible */
        seg->next_offset = s_next;
        seg->max_ts = s_max;
        seg->max_ts_offset = s_maxo;
        seg->first_ts = s_first;
        seg->bytes_since_index = s_since;
        if (sl_file_truncate(seg->log_fd, old) != SL_OK ||
            sl_file_truncate(seg->oidx_fd, (int64_t)no0 * 8) != SL_OK ||
            sl_file_truncate(seg->tidx_fd, (int64_t)nt0 * 12) != SL_OK) {
            *broken = true;
        }
        return SL_ERR__IO;
    }
    atomic_store(&seg->size, old + (int64_t)len);
    pthread_mutex_lock(&seg->ilock);
    seg->noidx = no;
    seg->ntidx = nt;
    pthread_mutex_unlock(&seg->ilock);
    return SL_OK;
}

void
sl_segment_seal(sl_segment_t *seg)
{
    uint8_t ebuf[SL_SEG_TIDX_SIZE];
    size_t n;

    if (seg->max_ts < 0) {
        return;
    }
    pthread_mutex_lock(&seg->ilock);
    n = seg->ntidx;
    if (seg->compact || (n > 0 && seg->tidx[n - 1].ts >= seg->max_ts) ||
        sl_segment_reserve(seg, 1) != SL_OK) {
        pthread_mutex_unlock(&seg->ilock);
        return;
    }
    seg->tidx[n].ts = seg->max_ts;
    seg->tidx[n].rel = (int32_t)(seg->max_ts_offset - seg->base);
    pthread_mutex_unlock(&seg->ilock);
    sl_segment_put64(ebuf, (uint64_t)seg->max_ts);
    sl_segment_put32(ebuf + 8, (uint32_t)(seg->max_ts_offset - seg->base));
    if (sl_file_write_at(seg->tidx_fd, ebuf, 12, (int64_t)n * 12) == SL_OK) {
        pthread_mutex_lock(&seg->ilock);
        seg->ntidx = n + 1;
        pthread_mutex_unlock(&seg->ilock);
    } else {
        /* a torn entry makes the file size odd: rebuilt at next open */
        sl_log_warn("log.segment", "seal failed dir=%s base=%lld", seg->dir,
                    (long long)seg->base);
    }
}

sl_err_t
sl_segment_truncate_to(sl_segment_t *seg, int64_t offset)
{
    sl_seg_batch_t b;
    int64_t size = atomic_load(&seg->size), end, cut;
    sl_err_t err;

    err = sl_segment_find(seg, offset, size, &b);
    if (err == SL_ERR__NOENT) {
        /* nothing at or after offset; a compact segment that becomes the
         * active one again still needs its full indexes */
        b.pos = size;
        pthread_mutex_lock(&seg->ilock);
        err = seg->compact ? SL_OK : SL_ERR__NOENT;
        pthread_mutex_unlock(&seg->ilock);
        if (err == SL_ERR__NOENT) {
            return SL_OK;
        }
    }
    if (err != SL_OK) {
        return err;
    }
    if (b.pos != size &&
        (err = sl_file_truncate(seg->log_fd, b.pos)) != SL_OK) {
        return err;
    }
    atomic_store(&seg->size, b.pos);
    err =
        sl_segment_scan(seg, 0, seg->base, SL_SEG_SCAN_INDEX, NULL, NULL, &end);
    if (err != SL_OK && err != SL_ERR__CORRUPT) {
        return err;
    }
    return sl_segment_cut(seg, end, &cut);
}

sl_err_t
sl_segment_sync(sl_segment_t *seg, bool indexes)
{
    sl_err_t err = sl_file_datasync(seg->log_fd);

    if (err == SL_OK && indexes) {
        err = sl_file_datasync(seg->oidx_fd);
        if (err == SL_OK) {
            err = sl_file_datasync(seg->tidx_fd);
        }
    }
    return err;
}

/* ---- lookups ----------------------------------------------------------- */

/* Compact mode: in the file's block of entries [j * STRIDE, ...), the
 * position of the last entry with relative offset <= rel. Any doubt about
 * the block (I/O error, bytes that disagree with the sample) gives the
 * sample's own position, which is always a safe place to start a scan. */
static int64_t
sl_segment_block_pos(sl_segment_t *seg, size_t j, size_t nfile,
                     sl_oidx_entry_t sample, int64_t rel)
{
    uint8_t buf[SL_SEG_STRIDE * SL_SEG_OIDX_SIZE];
    size_t first = j * SL_SEG_STRIDE, n = nfile - first, got, i;
    int64_t pos = sample.pos;
    int32_t prel = sample.rel, ppos = sample.pos;

    if (n > SL_SEG_STRIDE) {
        n = SL_SEG_STRIDE;
    }
    if (sl_file_read_at(seg->oidx_fd, buf, n * SL_SEG_OIDX_SIZE,
                        (int64_t)(first * SL_SEG_OIDX_SIZE), &got) != SL_OK ||
        got != n * SL_SEG_OIDX_SIZE ||
        (int32_t)sl_segment_get32(buf) != sample.rel ||
        (int32_t)sl_segment_get32(buf + 4) != sample.pos) {
        return pos;
    }
    for (i = 1; i < n; i++) {
        int32_t r = (int32_t)sl_segment_get32(buf + i * 8);
        int32_t p = (int32_t)sl_segment_get32(buf + i * 8 + 4);

        if (r <= prel || p <= ppos) {
            return sample.pos; /* not what was checked at open */
        }
        if (r > rel) {
            break;
        }
        pos = p;
        prel = r;
        ppos = p;
    }
    return pos;
}

/* Position of the last offset index entry whose offset is <= <offset>. */
static int64_t
sl_segment_lookup(sl_segment_t *seg, int64_t offset)
{
    int64_t rel = offset - seg->base;
    size_t lo = 0, hi, j = 0, nfile;
    int64_t pos = 0;
    bool found = false, compact;
    sl_oidx_entry_t sample = {0, 0};

    pthread_mutex_lock(&seg->ilock);
    hi = seg->noidx;
    compact = seg->compact;
    nfile = seg->nofile;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (seg->oidx[mid].rel <= rel) {
            pos = seg->oidx[mid].pos;
            sample = seg->oidx[mid];
            j = mid;
            found = true;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    pthread_mutex_unlock(&seg->ilock);
    if (compact && found) {
        pos = sl_segment_block_pos(seg, j, nfile, sample, rel);
    }
    return pos;
}

/* Compact mode: the relative offset of the last time index entry with
 * timestamp < ts in block j; the sample's on any doubt. */
static int32_t
sl_segment_block_time(sl_segment_t *seg, size_t j, size_t nfile,
                      sl_tidx_entry_t sample, int64_t ts)
{
    uint8_t buf[SL_SEG_STRIDE * SL_SEG_TIDX_SIZE];
    size_t first = j * SL_SEG_STRIDE, n = nfile - first, got, i;
    int32_t rel = sample.rel;
    int64_t pts = sample.ts;

    if (n > SL_SEG_STRIDE) {
        n = SL_SEG_STRIDE;
    }
    if (sl_file_read_at(seg->tidx_fd, buf, n * SL_SEG_TIDX_SIZE,
                        (int64_t)(first * SL_SEG_TIDX_SIZE), &got) != SL_OK ||
        got != n * SL_SEG_TIDX_SIZE ||
        (int64_t)sl_segment_get64(buf) != sample.ts ||
        (int32_t)sl_segment_get32(buf + 8) != sample.rel) {
        return sample.rel;
    }
    for (i = 1; i < n; i++) {
        int64_t t = (int64_t)sl_segment_get64(buf + i * 12);
        int32_t r = (int32_t)sl_segment_get32(buf + i * 12 + 8);

        if (t <= pts || r < rel) {
            return sample.rel;
        }
        if (t >= ts) {
            break;
        }
        rel = r;
        pts = t;
    }
    return rel;
}

/* Compact a sealed segment's indexes (see the compact field). */
void
sl_segment_compact(sl_segment_t *seg)
{
    size_t no, nt, i;
    sl_oidx_entry_t *os;
    sl_tidx_entry_t *ts;

    pthread_mutex_lock(&seg->ilock);
    if (seg->compact ||
        (seg->noidx <= SL_SEG_STRIDE && seg->ntidx <= SL_SEG_STRIDE)) {
        pthread_mutex_unlock(&seg->ilock);
        return;
    }
    no = (seg->noidx + SL_SEG_STRIDE - 1) / SL_SEG_STRIDE;
    nt = (seg->ntidx + SL_SEG_STRIDE - 1) / SL_SEG_STRIDE;
    os = malloc((no ? no : 1) * sizeof(*os));
    ts = malloc((nt ? nt : 1) * sizeof(*ts));
    if (os == NULL || ts == NULL) {
        pthread_mutex_unlock(&seg->ilock);
        free(os);
        free(ts);
        return; /* stays as it is */
    }
    for (i = 0; i < no; i++) {
        os[i] = seg->oidx[i * SL_SEG_STRIDE];
    }
    for (i = 0; i < nt; i++) {
        ts[i] = seg->tidx[i * SL_SEG_STRIDE];
    }
    free(seg->oidx);
    free(seg->tidx);
    seg->oidx = os;
    seg->tidx = ts;
    seg->coidx = no ? no : 1;
    seg->ctidx = nt ? nt : 1;
    seg->nofile = seg->noidx;
    seg->ntfile = seg->ntidx;
    seg->noidx = no;
    seg->ntidx = nt;
    seg->compact = true;
    pthread_mutex_unlock(&seg->ilock);
}

sl_err_t
sl_segment_find(sl_segment_t *seg, int64_t offset, int64_t limit,
                sl_seg_batch_t *b)
{
    int64_t pos = sl_segment_lookup(seg, offset);
    sl_err_t err;

    for (;;) {
        err = sl_segment_read_batch(seg, pos, limit, b);
        if (err != SL_OK) {
            return err;
        }
        if (b->last_offset >= offset) {
            return SL_OK;
        }
        pos += b->size;
    }
}

sl_err_t
sl_segment_find_time(sl_segment_t *seg, int64_t ts, int64_t limit,
                     sl_seg_batch_t *b)
{
    int64_t start = seg->base, pos;
    size_t lo = 0, hi, j = 0, nfile = 0;
    sl_tidx_entry_t sample = {0, 0};
    bool found = false, compact;
    sl_err_t err;

    pthread_mutex_lock(&seg->ilock);
    hi = seg->ntidx;
    compact = seg->compact;
    nfile = seg->ntfile;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (seg->tidx[mid].ts < ts) {
            start = seg->base + seg->tidx[mid].rel;
            sample = seg->tidx[mid];
            j = mid;
            found = true;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    pthread_mutex_unlock(&seg->ilock);
    if (compact && found) {
        start = seg->base + sl_segment_block_time(seg, j, nfile, sample, ts);
    }
    pos = sl_segment_lookup(seg, start);
    for (;;) {
        err = sl_segment_read_batch(seg, pos, limit, b);
        if (err != SL_OK) {
            return err;
        }
        if (b->max_ts >= ts) {
            return SL_OK;
        }
        pos += b->size;
    }
}

/* ---- accessors --------------------------------------------------------- */

int64_t
sl_segment_base(const sl_segment_t *seg)
{
    return seg->base;
}

int64_t
sl_segment_size(sl_segment_t *seg)
{
    return atomic_load(&seg->size);
}

int
sl_segment_fd(const sl_segment_t *seg)
{
    return seg->log_fd;
}

int64_t
sl_segment_next_offset(const sl_segment_t *seg)
{
    return seg->next_offset;
}

int64_t
sl_segment_max_ts(const sl_segment_t *seg)
{
    return seg->max_ts;
}

int64_t
sl_segment_max_ts_offset(const sl_segment_t *seg)
{
    return seg->max_ts_offset;
}

int64_t
sl_segment_first_ts(const sl_segment_t *seg)
{
    return seg->first_ts;
}

int64_t
sl_segment_mtime_ms(const sl_segment_t *seg)
{
    return seg->mtime_ms;
}

bool
sl_segment_indexes_ok(const sl_segment_t *seg)
{
    return seg->indexes_ok;
}

bool
sl_segment_index_full(sl_segment_t *seg)
{
    bool full;

    pthread_mutex_lock(&seg->ilock);
    full = seg->compact || seg->noidx >= seg->oidx_max ||
           seg->ntidx >= seg->tidx_max;
    pthread_mutex_unlock(&seg->ilock);
    return full;
}

size_t
sl_segment_index_entries(sl_segment_t *seg, size_t *time_entries)
{
    size_t n;

    pthread_mutex_lock(&seg->ilock);
    n = seg->compact ? seg->nofile : seg->noidx;
    if (time_entries != NULL) {
        *time_entries = seg->compact ? seg->ntfile : seg->ntidx;
    }
    pthread_mutex_unlock(&seg->ilock);
    return n;
}
