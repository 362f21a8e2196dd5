/*
 * core/crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of Kafka record batches v2.
 *
 * sl_crc32c() picks, once, the SSE4.2 crc32 instruction when the CPU has it
 * and a portable slice-by-8 table otherwise. Both give identical results.
 *
 * Owns: the slice-by-8 tables (built once, read-only after). Thread-safe.
 */
#ifndef SL_CORE_CRC32C_H
#define SL_CORE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Extend <crc> (0 to start) with <n> bytes at <p>. Chaining works:
 * sl_crc32c(sl_crc32c(0, a, na), b, nb) == CRC of a followed by b.
 * sl_crc32c(0, "123456789", 9) == 0xE3069283. p may be NULL when n is 0.
 * @thread any
 */
uint32_t sl_crc32c(uint32_t crc, const void *p, size_t n);

/* The portable slice-by-8 path, same contract (for tests and benchmarks). */
uint32_t sl_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* Whether the CPU has SSE4.2, i.e. whether sl_crc32c_hw() may be called. */
bool sl_crc32c_hw_available(void);

/* The SSE4.2 path, same contract; call only if sl_crc32c_hw_available().
 * On non-x86 builds it falls back to sl_crc32c_sw(). */
uint32_t sl_crc32c_hw(uint32_t crc, const void *p, size_t n);

#endif
