/*
 * tests/fuzz/fuzz.h: what the libFuzzer targets share. Each target feeds
 * its input to one decoder; whatever decodes must re-encode, and the
 * re-encoding must decode and encode again to the same bytes (a fixed
 * point). Any break of that, and any sanitizer report, is a crash.
 */
#ifndef COORD_TESTS_FUZZ_FUZZ_H
#define COORD_TESTS_FUZZ_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run: libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			abort();                                             \
	} while (0)

/*
 * A decoder/encoder pair over one message type T: decode(data, len,
 * arena, &msg) and encode(&msg, buf). Defines fuzz_round_trip_<name>().
 */
#define FUZZ_ROUND_TRIP(name, T, decode, encode)                             \
	static int fuzz_round_trip_##name(const uint8_t *data, size_t size)  \
	{                                                                    \
		struct proto_arena ar;                                       \
		struct proto_buf b1, b2;                                     \
		T msg;                                                       \
		int rc;                                                      \
                                                                             \
		proto_arena_init(&ar, NULL);                                 \
		proto_buf_init(&b1, NULL);                                   \
		proto_buf_init(&b2, NULL);                                   \
		rc = decode(data, size, &ar, &msg);                          \
		FUZZ_CHECK(rc == COORD_OK || rc == COORD_EMALFORMED ||       \
			   rc == COORD_EUNKNOWNMSG);                         \
		if (rc == COORD_OK) {                                        \
			FUZZ_CHECK(encode(&msg, &b1) == COORD_OK);           \
			FUZZ_CHECK(decode(b1.data, b1.len, &ar, &msg) ==     \
				   COORD_OK);                                \
			FUZZ_CHECK(encode(&msg, &b2) == COORD_OK);           \
			FUZZ_CHECK(b1.len == b2.len &&                       \
				   memcmp(b1.data, b2.data, b1.len) == 0);   \
		}                                                            \
		proto_buf_close(&b1);                                        \
		proto_buf_close(&b2);                                        \
		proto_arena_close(&ar);                                      \
		return rc;                                                   \
	}

#endif /* COORD_TESTS_FUZZ_FUZZ_H */
