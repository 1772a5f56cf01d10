/*
 * proto/arena.h: a bump allocator for memory that lives as long as one
 * message or one call: decoded lists, reply data, events.
 *
 * Everything allocated from an arena is released at once by
 * proto_arena_reset() or proto_arena_close(); there is no per-object free.
 * Memory comes from the arena's coord_allocator in chunks.
 */
#ifndef COORD_PROTO_ARENA_H
#define COORD_PROTO_ARENA_H

#include <stddef.h>

#include "proto/alloc.h"

struct proto_arena_chunk;

struct proto_arena {
	const struct coord_allocator *alloc;
	struct proto_arena_chunk *chunks;  /* small allocations, newest first */
	struct proto_arena_chunk *bigs;    /* one chunk per large allocation */
	size_t chunk_bytes;                /* size of a small-allocation chunk */
};

/* Initialises caller storage; allocates nothing until first use.
 * alloc is borrowed (NULL: libc) and must outlive the arena. */
void proto_arena_init(struct proto_arena *a, const struct coord_allocator *alloc);

/* Frees every chunk. */
void proto_arena_close(struct proto_arena *a);

/* Releases everything allocated so far; keeps one chunk for reuse. */
void proto_arena_reset(struct proto_arena *a);

/* size bytes aligned for any type, valid until reset or close; NULL when
 * the allocator fails (or size is absurd). */
void *proto_arena_alloc(struct proto_arena *a, size_t size);

/* A copy of size bytes at src (src may be NULL when size is 0). */
void *proto_arena_dup(struct proto_arena *a, const void *src, size_t size);

/* Grows an array allocated from this arena from n to new_n elements of
 * elem_size bytes: returns a new copy (the old one stays allocated until
 * reset) or NULL on failure. old may be NULL when n is 0. */
void *proto_arena_grow(struct proto_arena *a, const void *old, size_t n,
		       size_t new_n, size_t elem_size);

#endif /* COORD_PROTO_ARENA_H */
