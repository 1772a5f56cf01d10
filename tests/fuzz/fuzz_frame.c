/*
 * tests/fuzz/fuzz_frame.c: proto_frame_check() over the input as a byte
 * stream, as a connection reads it: each whole frame's body goes to the
 * request decoder (the server's side) and the reply and push decoders
 * (the client's), and is framed again by the writer, which must give
 * back the same bytes.
 */
#include "proto/frame.h"
#include "proto/wire.h"
#include "tests/fuzz/fuzz.h"

/* Small, so that the fuzzer meets the limit. */
#define BODY_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_response resp;
	struct proto_request req;
	struct proto_push push;
	struct proto_arena ar;
	struct proto_buf b;
	size_t off = 0, len, mark;
	int rc;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&b, NULL);
	for (;;) {
		rc = proto_frame_check(data + off, size - off, BODY_MAX, &len);
		if (rc != COORD_OK) {
			FUZZ_CHECK(rc == PROTO_FRAME_MORE ||
				   rc == COORD_EFRAMETOOBIG ||
				   rc == COORD_EMALFORMED);
			FUZZ_CHECK(rc != PROTO_FRAME_MORE ||
				   len > size - off);
			break;
		}
		FUZZ_CHECK(len > PROTO_FRAME_HEADER_BYTES && len <= size - off);
		const uint8_t *body = proto_frame_body(data + off);
		size_t body_len = len - PROTO_FRAME_HEADER_BYTES;

		(void)proto_request_decode(body, body_len, &ar, &req);
		(void)proto_response_decode(body, body_len, &ar, &resp);
		(void)proto_push_decode(body, body_len, &ar, &push);
		proto_arena_reset(&ar);
		proto_buf_clear(&b);
		FUZZ_CHECK(proto_frame_begin(&b, &mark) == COORD_OK);
		FUZZ_CHECK(proto_buf_append(&b, body, body_len) == COORD_OK);
		FUZZ_CHECK(proto_frame_end(&b, mark, BODY_MAX) == COORD_OK);
		FUZZ_CHECK(b.len == len && memcmp(b.data, data + off, len) == 0);
		off += len;
	}
	proto_buf_close(&b);
	proto_arena_close(&ar);
	return 0;
}
