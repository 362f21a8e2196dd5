/*
 * core/crc32c.c: CRC-32C with SSE4.2 and slice-by-8 implementations.
 *
 * Owns: sl_crc32c_table (8 x 256 entries), built on first use under
 * pthread_once, read-only afterwards. No other state.
 */
#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

#define SL_CRC32C_POLY 0x82F63B78u

static uint32_t sl_crc32c_table[8][256];
static pthread_once_t sl_crc32c_once = PTHREAD_ONCE_INIT;

static void
sl_crc32c_table_init(void)
{
    uint32_t i, j, c;

    for (i = 0; i < 256; i++) {
        c = i;
        for (j = 0; j < 8; j++) {
            c = (c & 1) ? (c >> 1) ^ SL_CRC32C_POLY : c >> 1;
        }
        sl_crc32c_table[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        c = sl_crc32c_table[0][i];
        for (j = 1; j < 8; j++) {
            c = sl_crc32c_table[0][c & 0xff] ^ (c >> 8);
            sl_crc32c_table[j][i] = c;
        }
    }
}

static inline uint32_t
sl_crc32c_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t
sl_crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t c = ~crc, lo, hi;

    pthread_once(&sl_crc32c_once, sl_crc32c_table_init);

    /* Byte at a time until 8-byte aligned, then 8 bytes per step. */
    while (n > 0 && ((uintptr_t)b & 7) != 0) {
        c = sl_crc32c_table[0][(c ^ *b++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        lo = sl_crc32c_load_le32(b) ^ c;
        hi = sl_crc32c_load_le32(b + 4);
        c = sl_crc32c_table[7][lo & 0xff] ^
            sl_crc32c_table[6][(lo >> 8) & 0xff] ^
            sl_crc32c_table[5][(lo >> 16) & 0xff] ^
            sl_crc32c_table[4][lo >> 24] ^ sl_crc32c_table[3][hi & 0xff] ^
            sl_crc32c_table[2][(hi >> 8) & 0xff] ^
            sl_crc32c_table[1][(hi >> 16) & 0xff] ^
            sl_crc32c_table[0][hi >> 24];
        b += 8;
        n -= 8;
    }
    while (n > 0) {
        c = sl_crc32c_table[0][(c ^ *b++) & 0xff] ^ (c >> 8);
        n--;
    }
    return ~c;
}

#if defined(__x86_64__)

#include <nmmintrin.h>

bool
sl_crc32c_hw_available(void)
{
    return __builtin_cpu_supports("sse4.2") != 0;
}

__attribute__((target("sse4.2"))) uint32_t
sl_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t c = ~crc;
    uint64_t w;

    while (n > 0 && ((uintptr_t)b & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *b++);
        n--;
    }
    while (n >= 8) {
        memcpy(&w, b, 8);
        c = _mm_crc32_u64(c, w);
        b += 8;
        n -= 8;
    }
    while (n > 0) {
        c = _mm_crc32_u8((uint32_t)c, *b++);
        n--;
    }
    return ~(uint32_t)c;
}

#else

bool
sl_crc32c_hw_available(void)
{
    return false;
}

uint32_t
sl_crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    return sl_crc32c_sw(crc, p, n);
}

#endif

typedef uint32_t (*sl_crc32c_fn)(uint32_t, const void *, size_t);

static sl_crc32c_fn sl_crc32c_impl;
static pthread_once_t sl_crc32c_pick_once = PTHREAD_ONCE_INIT;

static void
sl_crc32c_pick(void)
{
    sl_crc32c_impl = sl_crc32c_hw_available() ? sl_crc32c_hw : sl_crc32c_sw;
}

uint32_t
sl_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&sl_crc32c_pick_once, sl_crc32c_pick);
    return sl_crc32c_impl(crc, p, n);
}
