/*
 * tests/unit/test_wire_util.c: the msgpack builder of test_wire.h, and
 * main().
 */
#include "tests/unit/test_wire.h"

#include <stdlib.h>
#include <string.h>

void tw_mp_raw(struct tw_mp *m, const void *p, size_t n)
{
	cu_require(m->n + n <= sizeof(m->b), "tw_mp overflow");
	if (n > 0)
		memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void tw_mp_be(struct tw_mp *m, uint8_t type, uint64_t v, unsigned n)
{
	uint8_t b[9];

	b[0] = type;
	for (unsigned i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	tw_mp_raw(m, b, 1 + n);
}

void tw_mp_arr(struct tw_mp *m, uint32_t n)
{
	if (n < 16)
		tw_mp_be(m, (uint8_t)(0x90 | n), 0, 0);
	else
		tw_mp_be(m, 0xdd, n, 4);
}

void tw_mp_uint(struct tw_mp *m, uint64_t v)
{
	if (v < 128)
		tw_mp_be(m, (uint8_t)v, 0, 0);
	else
		tw_mp_be(m, 0xcf, v, 8);
}

void tw_mp_bin(struct tw_mp *m, const char *s)
{
	size_t n = strlen(s);

	if (n < 256)
		tw_mp_be(m, 0xc4, n, 1);
	else
		tw_mp_be(m, 0xc5, n, 2);
	tw_mp_raw(m, s, n);
}

void tw_mp_bool(struct tw_mp *m, bool v)
{
	tw_mp_be(m, v ? 0xc3 : 0xc2, 0, 0);
}

void tw_mp_nil(struct tw_mp *m)
{
	tw_mp_be(m, 0xc0, 0, 0);
}

int main(void)
{
	SRunner *sr = srunner_create(wire_frame_suite());
	int failed;

	srunner_add_suite(sr, wire_client_suite());
	srunner_add_suite(sr, wire_peer_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
