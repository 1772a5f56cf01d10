/*
 * tests/fault/wl_util.h: what the fault suite's workload programs share
 * (workload.c, lock_workload.c): a monotonic clock, the seeded choices,
 * number arguments.
 */
#ifndef COORD_TESTS_FAULT_WL_UTIL_H
#define COORD_TESTS_FAULT_WL_UTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds: one clock for every process of the
 * machine, so histories of several processes interleave by it. */
uint64_t wl_now_us(void);

/* xorshift64* on *state (non-zero): choices replayable from a seed. */
uint64_t wl_rnd(uint64_t *state);

/* s as a number in [lo, hi]; otherwise a message naming prog and exit 2. */
unsigned wl_arg_uint(const char *prog, const char *s, unsigned lo,
		     unsigned hi);

#endif /* COORD_TESTS_FAULT_WL_UTIL_H */
