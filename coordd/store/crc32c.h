/*
 * coordd/store/crc32c.h: CRC32C (Castagnoli, polynomial 0x1EDC6F41,
 * reflected), the checksum of every record the store writes.
 *
 * Why CRC32C rather than XXH3: it detects every burst error up to 32 bits
 * and every error of up to 3-5 bits in records of our sizes (a guarantee a
 * hash like XXH3 does not give), x86-64 computes it in hardware (SSE4.2)
 * faster than the disk can deliver data, it needs no extra dependency, and
 * it is LevelDB's own checksum: the same function verifies the records of
 * LevelDB's write-ahead log and MANIFEST, which store_open() scans to tell
 * a torn tail from corruption before LevelDB opens them.
 *
 * The SSE4.2 path is chosen at run time when the CPU has it; the portable
 * path is table-driven (slicing-by-8). Both give the same values.
 */
#ifndef COORD_STORE_CRC32C_H
#define COORD_STORE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC32C of the data that gave crc, followed by len bytes at data:
 * store_crc32c_extend(0, ...) is the CRC of those bytes alone, and
 * extend(extend(0, a), b) == extend(0, a b). */
uint32_t store_crc32c_extend(uint32_t crc, const void *data, size_t len);

static inline uint32_t store_crc32c(const void *data, size_t len)
{
	return store_crc32c_extend(0, data, len);
}

/* The two implementations, for tests: the portable one always; the
 * hardware one only when store_crc32c_hw_available(). */
uint32_t store_crc32c_extend_sw(uint32_t crc, const void *data, size_t len);
uint32_t store_crc32c_extend_hw(uint32_t crc, const void *data, size_t len);
bool store_crc32c_hw_available(void);

/* LevelDB stores masked CRCs (a CRC of data that holds CRCs is weak):
 * rotate right by 15 bits and add a constant. */
static inline uint32_t store_crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t store_crc32c_unmask(uint32_t masked)
{
	uint32_t rot = masked - 0xa282ead8u;

	return (rot >> 17) | (rot << 15);
}

#endif /* COORD_STORE_CRC32C_H */
