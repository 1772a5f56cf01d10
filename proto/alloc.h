/*
 * proto/alloc.h: the injectable allocator of coord's libraries.
 *
 * raft/ has its own (struct raft_allocator, same shape); proto/ and
 * coordd/fsm/ take this one, so tests can fail the Nth allocation. A NULL
 * allocator means libc; a non-NULL one must set all three functions, and
 * its realloc must accept a NULL ptr (then it allocates), as libc's does.
 */
#ifndef COORD_PROTO_ALLOC_H
#define COORD_PROTO_ALLOC_H

#include <stddef.h>
#include <stdlib.h>

struct coord_allocator {
	void *(*malloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
};

static inline void *coord_malloc(const struct coord_allocator *a, size_t size)
{
	return a == NULL ? malloc(size) : a->malloc(a->ctx, size);
}

static inline void *coord_realloc(const struct coord_allocator *a, void *ptr,
				  size_t size)
{
	return a == NULL ? realloc(ptr, size) : a->realloc(a->ctx, ptr, size);
}

static inline void coord_free(const struct coord_allocator *a, void *ptr)
{
	if (ptr == NULL)
		return;
	if (a == NULL)
		free(ptr);
	else
		a->free(a->ctx, ptr);
}

#endif /* COORD_PROTO_ALLOC_H */
