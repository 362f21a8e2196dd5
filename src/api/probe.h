/*
 * api/probe.h: a minimal Kafka client that asks a broker for its API
 * versions (one ApiVersions exchange), for health checks
 * (`sluice --probe host:port`, the container image's HEALTHCHECK).
 *
 * Owns: nothing beyond one call's socket and arena. Thread-safe: no shared
 * state.
 */
#ifndef SL_API_PROBE_H
#define SL_API_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Largest ApiVersions response the probe reads; larger ones are refused. */
#define SL_PROBE_MAX_RESPONSE (1 << 20)

typedef struct sl_probe_result_s {
    int32_t api_keys;   /* APIs the broker advertised */
    int16_t error_code; /* ApiVersions error code (0 on success) */
} sl_probe_result_t;

/*
 * Split "host:port" or "[v6addr]:port" into <host> (NUL-terminated, at most
 * hostlen bytes with the NUL) and <port> (1..65535).
 * @thread any    @returns SL_OK, SL_ERR__INVAL (with a reason in *why)
 */
sl_err_t sl_probe_parse_addr(const char *addr, char *host, size_t hostlen,
                             uint16_t *port, const char **why);

/*
 * Connect to <addr> ("host:port"), send ApiVersions v3 and read and decode
 * the response, all within <timeout_ms>. SL_OK when the broker answered with
 * error code 0 and at least one API; *res says what it answered. On failure
 * a one-line reason goes to <why> (whylen bytes).
 * @thread any (blocks)
 * @returns SL_OK, SL_ERR__INVAL (bad address), SL_ERR__IO (resolve, connect,
 *          send or receive failed, or timed out), SL_ERR__CLOSED (peer
 *          closed early), SL_ERR__PROTO (malformed or mismatched response),
 *          SL_ERR__TOOBIG (response over SL_PROBE_MAX_RESPONSE), or the
 *          broker's Kafka error code
 */
sl_err_t sl_probe_run(const char *addr, int timeout_ms, sl_probe_result_t *res,
                      char *why, size_t whylen);

#endif
