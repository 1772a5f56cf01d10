/*
 * proto/arena.c: the bump allocator of proto/arena.h.
 */
#include "proto/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_CHUNK_BYTES_DEFAULT (16 * 1024)

struct proto_arena_chunk {
	struct proto_arena_chunk *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

void proto_arena_init(struct proto_arena *a, const struct coord_allocator *alloc)
{
	a->alloc = alloc;
	a->chunks = NULL;
	a->bigs = NULL;
	a->chunk_bytes = ARENA_CHUNK_BYTES_DEFAULT;
}

static void arena_chunks_free(struct proto_arena *a, struct proto_arena_chunk *c)
{
	while (c != NULL) {
		struct proto_arena_chunk *next = c->next;

		coord_free(a->alloc, c);
		c = next;
	}
}

void proto_arena_close(struct proto_arena *a)
{
	arena_chunks_free(a, a->chunks);
	arena_chunks_free(a, a->bigs);
	a->chunks = NULL;
	a->bigs = NULL;
}

void proto_arena_reset(struct proto_arena *a)
{
	arena_chunks_free(a, a->bigs);
	a->bigs = NULL;
	if (a->chunks != NULL) {
		arena_chunks_free(a, a->chunks->next);
		a->chunks->next = NULL;
		a->chunks->used = 0;
	}
}

static struct proto_arena_chunk *arena_chunk_new(struct proto_arena *a,
						 size_t size)
{
	struct proto_arena_chunk *c;

	c = coord_malloc(a->alloc, sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void *proto_arena_alloc(struct proto_arena *a, size_t size)
{
	struct proto_arena_chunk *c;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	/* Large allocations get a chunk of their own, so that they neither
	 * waste the rest of the current chunk nor stay around after reset. */
	if (size > a->chunk_bytes / 4) {
		c = arena_chunk_new(a, size);
		if (c == NULL)
			return NULL;
		c->used = size;
		c->next = a->bigs;
		a->bigs = c;
		return c->data;
	}
	c = a->chunks;
	if (c == NULL || c->size - c->used < size) {
		c = arena_chunk_new(a, a->chunk_bytes);
		if (c == NULL)
			return NULL;
		c->next = a->chunks;
		a->chunks = c;
	}
	p = (unsigned char *)c->data + c->used;
	c->used += size;
	return p;
}

void *proto_arena_dup(struct proto_arena *a, const void *src, size_t size)
{
	void *p = proto_arena_alloc(a, size);

	if (p != NULL && size > 0)
		memcpy(p, src, size);
	return p;
}

void *proto_arena_grow(struct proto_arena *a, const void *old, size_t n,
		       size_t new_n, size_t elem_size)
{
	void *p;

	if (elem_size != 0 && new_n > SIZE_MAX / 2 / elem_size)
		return NULL;
	p = proto_arena_alloc(a, new_n * elem_size);
	if (p != NULL && n > 0)
		memcpy(p, old, n * elem_size);
	return p;
}
