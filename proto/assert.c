/*
 * proto/assert.c: the failure path of COORD_ASSERT.
 */
#include "proto/assert.h"

#include <stdio.h>
#include <stdlib.h>

void coord_assert_fail(const char *expr, const char *file, int line)
{
	/* The only output of the libraries: the process is about to die. */
	fprintf(stderr, "coord: assertion failed: %s (%s:%d)\n", expr, file,
		line);
	abort();
}
