/*
 * tests/unit/test_wire_frame.c: the 4-byte length framing
 * (proto/frame.h): partial frames, back-to-back frames, lengths over the
 * limit (a 4 GiB prefix included) refused before anything is allocated,
 * and the writer patching the length in place.
 */
#include <string.h>

#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/wire.h"
#include "tests/unit/test_wire.h"
#include "tests/unit/test_wire_samples.h"

START_TEST(check_waits_for_the_header_then_the_body)
{
	const uint8_t f[] = { 0, 0, 0, 3, 0x92, 1, 2 };
	size_t len = 99;

	ck_assert_int_eq(proto_frame_check(NULL, 0, 100, &len), PROTO_FRAME_MORE);
	ck_assert_uint_eq(len, PROTO_FRAME_HEADER_BYTES);
	for (size_t n = 1; n < PROTO_FRAME_HEADER_BYTES; n++) {
		ck_assert_int_eq(proto_frame_check(f, n, 100, &len),
				 PROTO_FRAME_MORE);
		ck_assert_uint_eq(len, PROTO_FRAME_HEADER_BYTES);
	}
	for (size_t n = PROTO_FRAME_HEADER_BYTES; n < sizeof(f); n++) {
		ck_assert_int_eq(proto_frame_check(f, n, 100, &len),
				 PROTO_FRAME_MORE);
		ck_assert_uint_eq(len, sizeof(f));
	}
	cu_code_eq(proto_frame_check(f, sizeof(f), 100, &len), COORD_OK);
	ck_assert_uint_eq(len, sizeof(f));
	ck_assert_ptr_eq(proto_frame_body(f), f + 4);
}
END_TEST

START_TEST(check_finds_one_frame_among_several)
{
	const uint8_t f[] = { 0, 0, 0, 1, 0xc0, 0, 0, 0, 2, 0x91, 1 };
	size_t len;

	cu_code_eq(proto_frame_check(f, sizeof(f), 3, &len), COORD_OK);
	ck_assert_uint_eq(len, 5);
	cu_code_eq(proto_frame_check(f + 5, sizeof(f) - 5, 3, &len), COORD_OK);
	ck_assert_uint_eq(len, 6);
}
END_TEST

START_TEST(check_refuses_a_4gib_length_without_waiting_for_it)
{
	const uint8_t f[] = { 0xff, 0xff, 0xff, 0xff, 0x90 };
	const uint8_t g[] = { 0x00, 0x20, 0x00, 0x01 };
	size_t len = 0;

	cu_code_eq(proto_frame_check(f, sizeof(f),
				     COORD_REQUEST_FRAME_BYTES_MAX, &len),
		   COORD_EFRAMETOOBIG);
	cu_code_eq(proto_frame_check(f, 4, COORD_PEER_FRAME_BYTES_MAX, &len),
		   COORD_EFRAMETOOBIG);
	/* One byte over the limit, and exactly at it. */
	cu_code_eq(proto_frame_check(g, sizeof(g), 0x200000, &len),
		   COORD_EFRAMETOOBIG);
	ck_assert_int_eq(proto_frame_check(g, sizeof(g), 0x200001, &len),
			 PROTO_FRAME_MORE);
	ck_assert_uint_eq(len, 0x200005);
	/* No limit: the size is reported, no arithmetic wraps. */
	ck_assert_int_eq(proto_frame_check(f, sizeof(f), SIZE_MAX, &len),
			 PROTO_FRAME_MORE);
	ck_assert_uint_eq(len, (size_t)UINT32_MAX + 4);
}
END_TEST

START_TEST(check_refuses_an_empty_body)
{
	const uint8_t f[] = { 0, 0, 0, 0, 0xc0 };
	size_t len;

	cu_code_eq(proto_frame_check(f, sizeof(f), 100, &len), COORD_EMALFORMED);
}
END_TEST

START_TEST(writer_patches_the_length_over_the_encoded_body)
{
	struct proto_request req;
	struct proto_buf b;
	size_t mark1, mark2, len, first;

	proto_buf_init(&b, NULL);
	tw_sample_request(PROTO_PUT, &req);
	cu_code_eq(proto_frame_begin(&b, &mark1), COORD_OK);
	ck_assert_uint_eq(mark1, 0);
	cu_code_eq(proto_request_encode(&req, &b), COORD_OK);
	cu_code_eq(proto_frame_end(&b, mark1, COORD_REQUEST_FRAME_BYTES_MAX),
		   COORD_OK);
	first = b.len;
	cu_code_eq(proto_frame_begin(&b, &mark2), COORD_OK);
	ck_assert_uint_eq(mark2, first);
	cu_code_eq(proto_request_encode(&req, &b), COORD_OK);
	cu_code_eq(proto_frame_end(&b, mark2, COORD_REQUEST_FRAME_BYTES_MAX),
		   COORD_OK);
	ck_assert_uint_eq(b.len, 2 * first);
	cu_code_eq(proto_frame_check(b.data, b.len, COORD_REQUEST_FRAME_BYTES_MAX,
				     &len), COORD_OK);
	ck_assert_uint_eq(len, first);
	ck_assert_uint_eq(b.data[3], (uint8_t)(first - 4));
	ck_assert_mem_eq(b.data, b.data + first, first);
	proto_buf_close(&b);
}
END_TEST

START_TEST(writer_refuses_oversized_and_empty_bodies)
{
	struct proto_buf b;
	size_t mark;

	proto_buf_init(&b, NULL);
	cu_code_eq(proto_buf_append(&b, "abc", 3), COORD_OK);
	cu_code_eq(proto_frame_begin(&b, &mark), COORD_OK);
	cu_code_eq(proto_frame_end(&b, mark, 10), COORD_EMALFORMED);
	ck_assert_uint_eq(b.len, 3);
	cu_code_eq(proto_frame_begin(&b, &mark), COORD_OK);
	cu_code_eq(proto_buf_append(&b, "0123456789x", 11), COORD_OK);
	cu_code_eq(proto_frame_end(&b, mark, 10), COORD_EFRAMETOOBIG);
	ck_assert_uint_eq(b.len, 3);
	cu_code_eq(proto_frame_begin(&b, &mark), COORD_OK);
	cu_code_eq(proto_buf_append(&b, "x", 1), COORD_OK);
	proto_frame_abort(&b, mark);
	ck_assert_uint_eq(b.len, 3);
	proto_buf_close(&b);
}
END_TEST

START_TEST(writer_reports_enomem_and_leaves_the_buffer)
{
	struct cu_alloc a;
	struct proto_buf b;
	size_t mark;

	cu_alloc_init(&a);
	a.fail_at = 1;
	proto_buf_init(&b, &a.a);
	cu_code_eq(proto_frame_begin(&b, &mark), COORD_ENOMEM);
	ck_assert_uint_eq(b.len, 0);
	proto_buf_close(&b);
	ck_assert_uint_eq(a.live, 0);
}
END_TEST

Suite *wire_frame_suite(void)
{
	Suite *s = suite_create("wire_frame");

	TW_ADD(s, check_waits_for_the_header_then_the_body);
	TW_ADD(s, check_finds_one_frame_among_several);
	TW_ADD(s, check_refuses_a_4gib_length_without_waiting_for_it);
	TW_ADD(s, check_refuses_an_empty_body);
	TW_ADD(s, writer_patches_the_length_over_the_encoded_body);
	TW_ADD(s, writer_refuses_oversized_and_empty_bodies);
	TW_ADD(s, writer_reports_enomem_and_leaves_the_buffer);
	return s;
}
