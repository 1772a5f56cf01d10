/*
 * tests/unit/test_wire.h: what the suites of tests/unit/test_wire (the
 * framing, client and peer codecs) share: a hand-written msgpack builder
 * for inputs the encoders refuse to make. The failing allocator and the
 * assertion helpers are check_util.h's.
 */
#ifndef COORD_TESTS_UNIT_TEST_WIRE_H
#define COORD_TESTS_UNIT_TEST_WIRE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/errors.h"
#include "tests/unit/check_util.h"

/* Seconds a test may take (sanitizer builds are slow). */
#define TW_TIMEOUT 120
#define TW_ADD(s, fn) CU_ADD((s), fn, TW_TIMEOUT)

/* A msgpack builder: each call appends one header or value. */
struct tw_mp {
	uint8_t b[8192];
	size_t n;
};

void tw_mp_raw(struct tw_mp *m, const void *p, size_t n);
void tw_mp_arr(struct tw_mp *m, uint32_t n);    /* fixarray or array32 */
void tw_mp_uint(struct tw_mp *m, uint64_t v);   /* fixint or uint64 */
void tw_mp_bin(struct tw_mp *m, const char *s); /* bin8 or bin16 */
void tw_mp_bool(struct tw_mp *m, bool v);
void tw_mp_nil(struct tw_mp *m);

Suite *wire_frame_suite(void);
Suite *wire_client_suite(void);
Suite *wire_peer_suite(void);

#endif /* COORD_TESTS_UNIT_TEST_WIRE_H */
