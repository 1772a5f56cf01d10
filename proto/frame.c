/*
 * proto/frame.c: the 4-byte length framing of proto/frame.h.
 */
#include "proto/frame.h"

#include "proto/assert.h"
#include "proto/errors.h"

int proto_frame_check(const uint8_t *buf, size_t avail, size_t body_max,
		      size_t *frame_len)
{
	uint32_t body;

	if (avail < PROTO_FRAME_HEADER_BYTES) {
		*frame_len = PROTO_FRAME_HEADER_BYTES;
		return PROTO_FRAME_MORE;
	}
	body = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	       (uint32_t)buf[2] << 8 | (uint32_t)buf[3];
	/* Compare before adding the header so nothing can wrap. */
	if (body > body_max)
		return COORD_EFRAMETOOBIG;
	if (body == 0)
		return COORD_EMALFORMED;
	*frame_len = (size_t)body + PROTO_FRAME_HEADER_BYTES;
	return avail >= *frame_len ? COORD_OK : PROTO_FRAME_MORE;
}

int proto_frame_begin(struct proto_buf *out, size_t *mark)
{
	static const uint8_t zero[PROTO_FRAME_HEADER_BYTES];
	int rc;

	*mark = out->len;
	rc = proto_buf_append(out, zero, sizeof(zero));
	return rc;
}

void proto_frame_abort(struct proto_buf *out, size_t mark)
{
	COORD_ASSERT(mark <= out->len);
	out->len = mark;
}

int proto_frame_end(struct proto_buf *out, size_t mark, size_t body_max)
{
	size_t body;
	uint8_t *h;

	COORD_ASSERT(mark + PROTO_FRAME_HEADER_BYTES <= out->len);
	body = out->len - mark - PROTO_FRAME_HEADER_BYTES;
	if (body == 0 || body > body_max || body > UINT32_MAX) {
		out->len = mark;
		return body == 0 ? COORD_EMALFORMED : COORD_EFRAMETOOBIG;
	}
	h = out->data + mark;
	h[0] = (uint8_t)(body >> 24);
	h[1] = (uint8_t)(body >> 16);
	h[2] = (uint8_t)(body >> 8);
	h[3] = (uint8_t)body;
	return COORD_OK;
}
