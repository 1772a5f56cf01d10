/*
 * tests/fault/wl_util.c: see wl_util.h.
 */
#include "tests/fault/wl_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t wl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t wl_rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

unsigned wl_arg_uint(const char *prog, const char *s, unsigned lo,
		     unsigned hi)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);

	if (*s == '\0' || *e != '\0' || v < lo || v > hi) {
		fprintf(stderr, "%s: %s: not a number in [%u, %u]\n", prog, s,
			lo, hi);
		exit(2);
	}
	return (unsigned)v;
}
