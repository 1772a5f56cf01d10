/*
 * tests/unit/check_util.h: what the Check unit tests of proto/,
 * coordd/fsm/ and coordd/store/ share -- TCase-adding macros, assertions
 * that cost nothing until they fail, and an allocator that fails its Nth
 * call. The suites keep their own short names (FT_ADD, st_code_eq ...)
 * as aliases of these.
 */
#ifndef COORD_TESTS_UNIT_CHECK_UTIL_H
#define COORD_TESTS_UNIT_CHECK_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto/alloc.h"
#include "proto/errors.h"

/* Adds test fn in a TCase of its own, named after it, with a timeout of
 * `timeout` seconds (sanitizer builds are slow). */
#define CU_ADD(s, fn, timeout)                                               \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_set_timeout(tc_, (timeout));                           \
		tcase_add_test(tc_, fn);                                     \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

/* The same for a loop test run with _i from lo to hi - 1. */
#define CU_ADD_LOOP(s, fn, lo, hi, timeout)                                  \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_set_timeout(tc_, (timeout));                           \
		tcase_add_loop_test(tc_, fn, (lo), (hi));                    \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

/*
 * Check's ck_assert_* record every passing assertion (a write to a file
 * without CK_FORK, to a pipe with it): far too slow in loops of millions.
 * These call into Check only when they fail.
 */
#define cu_require(cond, ...)                                                \
	do {                                                                 \
		if (!(cond))                                                 \
			ck_abort_msg(__VA_ARGS__);                           \
	} while (0)

/* Asserts a COORD_* code, naming both codes when it differs. */
#define cu_code_eq(got, want)                                                \
	do {                                                                 \
		int g_ = (got), w_ = (want);                                 \
		cu_require(g_ == w_, "%s: got %s, want %s", #got,            \
			   coord_error_name(g_), coord_error_name(w_));      \
	} while (0)

/*
 * An allocator that fails its fail_at-th call (1-based; 0: never) and, with
 * fail_every, every call from then on. live counts blocks not yet freed;
 * freeing more blocks than were allocated fails the test.
 */
struct cu_alloc {
	struct coord_allocator a;
	size_t calls;
	size_t fail_at;
	bool fail_every;
	size_t live;
	size_t failures;
	size_t live_bytes;          /* malloc_usable_size() of the live ones */
	size_t peak_bytes;          /* the most live_bytes has been */
};

void cu_alloc_init(struct cu_alloc *t);

#endif /* COORD_TESTS_UNIT_CHECK_UTIL_H */
