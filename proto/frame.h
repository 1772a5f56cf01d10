/*
 * proto/frame.h: the framing of every coord connection, client and peer
 * alike: a 4-byte big-endian body length, then the body, one msgpack
 * value of exactly that many bytes (a request, reply, push or peer
 * message; proto/wire.h and proto/peer.h).
 *
 * The reader asks proto_frame_check() whether the bytes it has hold a
 * whole frame; it learns the length from the first 4 bytes and refuses a
 * length over its limit before reading (or allocating) anything more.
 * The writer reserves the 4 bytes, encodes the body straight after them
 * in the same proto_buf and patches the length in: the body is never
 * copied. This module never allocates on the read side and never reads
 * past the bytes it is given.
 */
#ifndef COORD_PROTO_FRAME_H
#define COORD_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"

#define PROTO_FRAME_HEADER_BYTES 4

/* proto_frame_check(): the bytes so far are a proper prefix of a frame. */
#define PROTO_FRAME_MORE (-1)

/*
 * Looks at the avail bytes at buf (the start of a frame).
 *   COORD_OK: a whole frame is there; *frame_len = its length, header
 *     included; the body is the *frame_len - PROTO_FRAME_HEADER_BYTES
 *     bytes at buf + PROTO_FRAME_HEADER_BYTES (proto_frame_body()).
 *   PROTO_FRAME_MORE: not yet; *frame_len = the bytes the frame needs in
 *     all when the header is there, else PROTO_FRAME_HEADER_BYTES.
 *   COORD_EFRAMETOOBIG: the body length is over body_max (say
 *     COORD_REQUEST_FRAME_BYTES_MAX); the stream cannot be resynchronised,
 *     close the connection.
 *   COORD_EMALFORMED: a body length of 0 (a msgpack value has at least
 *     one byte).
 * buf may be NULL when avail is 0.
 */
int proto_frame_check(const uint8_t *buf, size_t avail, size_t body_max,
		      size_t *frame_len);

/* The body of a frame that proto_frame_check() found complete. */
static inline const uint8_t *proto_frame_body(const uint8_t *frame)
{
	return frame + PROTO_FRAME_HEADER_BYTES;
}

/*
 * Writing a frame: proto_frame_begin() appends the 4 header bytes to out
 * and sets *mark; the caller appends exactly one encoded message; then
 * proto_frame_end() writes the body length into the header.
 *   proto_frame_begin: COORD_ENOMEM (out unchanged).
 *   proto_frame_end: COORD_EFRAMETOOBIG when the body is over body_max,
 *     COORD_EMALFORMED when it is empty; on error out is cut back to its
 *     length before proto_frame_begin().
 * Frames may be written one after another into the same buffer.
 */
int proto_frame_begin(struct proto_buf *out, size_t *mark);
int proto_frame_end(struct proto_buf *out, size_t mark, size_t body_max);

/* Cuts out back to mark (to drop a frame whose body failed to encode). */
void proto_frame_abort(struct proto_buf *out, size_t mark);

#endif /* COORD_PROTO_FRAME_H */
