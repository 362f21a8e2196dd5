/*
 * net/out.h: a response as a list of chunks, each either bytes in memory or
 * a range of a file, so that Fetch can send log data with sendfile() between
 * the bytes of the response it encodes.
 *
 * Owns: its memory chunks; file chunks hold whatever reference their
 * release callback drops (a segment reference). Not thread-safe: one owner
 * at a time (the worker building it, then the connection writing it).
 */
#ifndef SL_NET_OUT_H
#define SL_NET_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef void (*sl_out_release_cb)(void *arg);

typedef struct sl_out_chunk_s {
    struct sl_out_chunk_s *next;
    int fd;           /* >= 0: a file range; -1: memory */
    int64_t file_off; /* next file byte to send */
    sl_out_release_cb release;
    void *release_arg;
    size_t len; /* bytes in the chunk (memory or file) */
    size_t off; /* bytes already sent */
    size_t cap; /* memory chunks: bytes allocated in data[] */
    uint8_t data[];
} sl_out_chunk_t;

typedef struct sl_out_s {
    sl_out_chunk_t *head, *tail;
    size_t total; /* bytes not yet sent, all chunks */
} sl_out_t;

void sl_out_init(sl_out_t *o);
/* Free every chunk and run file release callbacks. */
void sl_out_free(sl_out_t *o);
/* Writable space of exactly <n> bytes at the end; NULL when out of memory.
 * The bytes count as queued at once: fill them before the output is sent. */
uint8_t *sl_out_reserve(sl_out_t *o, size_t n);
sl_err_t sl_out_append(sl_out_t *o, const void *p, size_t n);
/* Append a file range; <release>(<arg>) runs once it is sent or freed. */
sl_err_t sl_out_append_file(sl_out_t *o, int fd, int64_t off, size_t len,
                            sl_out_release_cb release, void *arg);
/* Move every chunk of <src> to the end of <dst>; src becomes empty. */
void sl_out_move(sl_out_t *dst, sl_out_t *src);

/*
 * Send as much as the socket takes (writev for memory, sendfile for files).
 * @returns SL_OK when all was sent, SL_ERR__AGAIN when the socket is full,
 * SL_ERR__IO on a socket or file error (logged by the caller).
 */
sl_err_t sl_out_send(sl_out_t *o, int sock);

/*
 * Write <len> bytes at <p> through a stream that cannot take file
 * descriptors (TLS). @returns the bytes taken (> 0), or SL_ERR__AGAIN /
 * SL_ERR__IO. A call after AGAIN repeats the same bytes.
 */
typedef long (*sl_out_write_cb)(void *arg, const uint8_t *p, size_t len);

/*
 * sl_out_send() through <wr>: memory chunks are written as they are, file
 * ranges are read (pread) into a buffer of up to 16 KiB first, since
 * sendfile() cannot go through TLS. Same results as sl_out_send().
 */
sl_err_t sl_out_send_with(sl_out_t *o, sl_out_write_cb wr, void *arg);

#endif
