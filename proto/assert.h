/*
 * proto/assert.h: assertions shared by coord's libraries.
 *
 * COORD_ASSERT stays on in release builds: cheap invariants of our own
 * state. COORD_DEBUG_ASSERT is for O(n) checks and is compiled only with
 * -DCOORD_DEBUG. Input from clients, peers or disk never reaches either:
 * it gets an error code.
 */
#ifndef COORD_PROTO_ASSERT_H
#define COORD_PROTO_ASSERT_H

#define COORD_ASSERT(x)                                                      \
	do {                                                                 \
		if (!(x))                                                    \
			coord_assert_fail(#x, __FILE__, __LINE__);           \
	} while (0)

#ifdef COORD_DEBUG
#define COORD_DEBUG_ASSERT(x) COORD_ASSERT(x)
#else
#define COORD_DEBUG_ASSERT(x) ((void)sizeof(!(x)))
#endif

/* Prints the failed expression and where to stderr, then aborts. */
void coord_assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn));

#endif /* COORD_PROTO_ASSERT_H */
