/*
 * tests/unit/test_store_crc.c: CRC32C against the standard test vectors
 * (RFC 3720 appendix B.4 and the usual check value), both
 * implementations, chaining, and LevelDB's masking.
 */
#include <stdlib.h>
#include <string.h>

#include "coordd/store/crc32c.h"
#include "tests/unit/store_test.h"
#include "tests/unit/test_store.h"

/* Checks one vector with the portable, hardware and dispatching paths,
 * whole and split at every point. */
static void vector(const void *data, size_t len, uint32_t want)
{
	const uint8_t *p = data;

	ck_assert_uint_eq(store_crc32c_extend_sw(0, data, len), want);
	ck_assert_uint_eq(store_crc32c_extend_hw(0, data, len), want);
	ck_assert_uint_eq(store_crc32c(data, len), want);
	for (size_t i = 0; i <= len; i++)
		ck_assert_uint_eq(store_crc32c_extend(store_crc32c(p, i),
						      p + i, len - i),
				  want);
}

START_TEST(crc32c_matches_standard_vectors)
{
	uint8_t buf[32];
	static const uint8_t iscsi_read[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};

	vector("", 0, 0);
	vector("123456789", 9, 0xe3069283u);
	memset(buf, 0, sizeof(buf));
	vector(buf, sizeof(buf), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	vector(buf, sizeof(buf), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	vector(buf, sizeof(buf), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	vector(buf, sizeof(buf), 0x113fdb5cu);
	vector(iscsi_read, sizeof(iscsi_read), 0xd9963a56u);
}
END_TEST

START_TEST(crc32c_paths_agree_at_every_alignment)
{
	uint8_t *buf = malloc(4096 + 16);
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < 4096 + 16; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len < 300; len += 1 + len / 8)
			ck_assert_uint_eq(
				store_crc32c_extend_sw(7, buf + off, len),
				store_crc32c_extend_hw(7, buf + off, len));
	ck_assert_uint_eq(store_crc32c_extend_sw(0, buf, 4096),
			  store_crc32c_extend_hw(0, buf, 4096));
	free(buf);
}
END_TEST

START_TEST(crc32c_detects_every_single_bit_flip)
{
	uint8_t buf[64];
	uint32_t good;

	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)(i * 7);
	good = store_crc32c(buf, sizeof(buf));
	for (int i = 0; i < 64 * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_uint_ne(store_crc32c(buf, sizeof(buf)), good);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}
END_TEST

START_TEST(crc32c_mask_round_trips_like_leveldb)
{
	uint32_t crc = store_crc32c("foo", 3);

	ck_assert_uint_ne(store_crc32c_mask(crc), crc);
	ck_assert_uint_ne(store_crc32c_mask(store_crc32c_mask(crc)), crc);
	ck_assert_uint_eq(store_crc32c_unmask(store_crc32c_mask(crc)), crc);
	ck_assert_uint_eq(store_crc32c_unmask(store_crc32c_mask(
				  store_crc32c_mask(crc))),
			  store_crc32c_mask(crc));
}
END_TEST

Suite *store_crc_suite(void)
{
	Suite *s = suite_create("store_crc");

	ST_ADD(s, crc32c_matches_standard_vectors);
	ST_ADD(s, crc32c_paths_agree_at_every_alignment);
	ST_ADD(s, crc32c_detects_every_single_bit_flip);
	ST_ADD(s, crc32c_mask_round_trips_like_leveldb);
	return s;
}
