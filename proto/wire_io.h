/*
 * proto/wire_io.h: internal to proto/ -- the msgpack writer and the strict
 * reading cursor that proto/wire.c and proto/peer.c share. Not installed,
 * not for use outside proto/.
 *
 * The writer packs into a proto_buf through msgpack-c's packer and keeps
 * the first error (COORD_EINVAL for a value the wire cannot carry,
 * COORD_ENOMEM when the buffer cannot grow). The reader never reads past
 * its end, checks each type where it reads it, and keeps the first error
 * (COORD_EMALFORMED, or COORD_ENOMEM from the arena); every wio_get_*
 * returns false once an error is recorded, so a decoder is a chain of &&.
 */
#ifndef COORD_PROTO_WIRE_IO_H
#define COORD_PROTO_WIRE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/msg.h"

struct wio_out {
	msgpack_packer pk;
	struct proto_buf *buf;
	size_t len_before;
	int err;
};

void wio_out_init(struct wio_out *w, struct proto_buf *buf);
/* Records err unless an error is already recorded. */
void wio_put_fail(struct wio_out *w, int err);
void wio_put_array(struct wio_out *w, size_t n);
void wio_put_uint(struct wio_out *w, uint64_t v);
void wio_put_bool(struct wio_out *w, bool v);
void wio_put_nil(struct wio_out *w);
/* COORD_EINVAL when b.len > max. */
void wio_put_bytes(struct wio_out *w, struct proto_bytes b, size_t max);
/* The result; on error cuts the buffer back to its length at init. */
int wio_out_finish(struct wio_out *w);

struct wio_in {
	const uint8_t *p;
	const uint8_t *end;
	struct proto_arena *arena;
	int err;
};

void wio_in_init(struct wio_in *r, const uint8_t *data, size_t len,
		 struct proto_arena *arena);
/* Records err (unless one is recorded) and returns false. */
bool wio_fail(struct wio_in *r, int err);
size_t wio_left(const struct wio_in *r);
/* An array header; n is at most the bytes left (each element takes one). */
bool wio_get_array(struct wio_in *r, uint32_t *n);
bool wio_get_array_len(struct wio_in *r, uint32_t want);
/* An unsigned integer in [min, max]. */
bool wio_get_uint(struct wio_in *r, uint64_t min, uint64_t max, uint64_t *v);
bool wio_get_bool(struct wio_in *r, bool *v);
/* A bin of at most max bytes; points into the input (NULL when empty). */
bool wio_get_bytes(struct wio_in *r, size_t max, struct proto_bytes *b);
/* Consumes a nil if the next value is one. */
bool wio_get_nil(struct wio_in *r);
/* Skips one msgpack value of any type, returning where it lies. Iterative:
 * no recursion depth an attacker could choose. */
bool wio_skip(struct wio_in *r, const uint8_t **start, size_t *len);
/* A list header of n elements of min_bytes encoded bytes at least, and
 * zeroed room for them in the arena (NULL when n is 0): bounded by the
 * input left, never by the claimed count alone. */
bool wio_get_list(struct wio_in *r, size_t max_n, size_t elem_size,
		  size_t min_bytes, void **elems, size_t *n);
/* COORD_OK when ok and every byte was read; else the recorded error. */
int wio_in_finish(struct wio_in *r, bool ok);

#endif /* COORD_PROTO_WIRE_IO_H */
