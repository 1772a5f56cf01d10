/*
 * proto/buf.h: a growable byte buffer, the output of the encoders.
 */
#ifndef COORD_PROTO_BUF_H
#define COORD_PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "proto/alloc.h"

struct proto_buf {
	uint8_t *data;      /* len bytes; NULL until something is appended */
	size_t len;
	size_t cap;
	const struct coord_allocator *alloc;
};

/* alloc is borrowed (NULL: libc). */
void proto_buf_init(struct proto_buf *b, const struct coord_allocator *alloc);
void proto_buf_close(struct proto_buf *b);

/* Empties the buffer, keeping its memory. */
static inline void proto_buf_clear(struct proto_buf *b)
{
	b->len = 0;
}

/* Makes room for more bytes; COORD_ENOMEM leaves the buffer as it was. */
int proto_buf_reserve(struct proto_buf *b, size_t more);

/* Appends n bytes; COORD_ENOMEM leaves the buffer as it was. */
int proto_buf_append(struct proto_buf *b, const void *src, size_t n);

#endif /* COORD_PROTO_BUF_H */
