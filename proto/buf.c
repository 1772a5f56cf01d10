/*
 * proto/buf.c: the growable byte buffer of proto/buf.h.
 */
#include "proto/buf.h"

#include <stdint.h>
#include <string.h>

#include "proto/errors.h"

void proto_buf_init(struct proto_buf *b, const struct coord_allocator *alloc)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->alloc = alloc;
}

void proto_buf_close(struct proto_buf *b)
{
	coord_free(b->alloc, b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int proto_buf_reserve(struct proto_buf *b, size_t more)
{
	size_t cap = b->cap == 0 ? 256 : b->cap;
	uint8_t *p;

	if (more > SIZE_MAX / 4 - b->len)
		return COORD_ENOMEM;
	if (b->len + more <= b->cap)
		return COORD_OK;
	while (cap < b->len + more)
		cap *= 2;
	p = coord_realloc(b->alloc, b->data, cap);
	if (p == NULL)
		return COORD_ENOMEM;
	b->data = p;
	b->cap = cap;
	return COORD_OK;
}

int proto_buf_append(struct proto_buf *b, const void *src, size_t n)
{
	int rc;

	if (n == 0)
		return COORD_OK;
	rc = proto_buf_reserve(b, n);
	if (rc != COORD_OK)
		return rc;
	memcpy(b->data + b->len, src, n);
	b->len += n;
	return COORD_OK;
}
