/*
 * proto/wire_io.c: the msgpack writer and strict reader of
 * proto/wire_io.h.
 */
#include "proto/wire_io.h"

#include <string.h>

#include "proto/errors.h"

/*
 * Writing.
 */

static int wio_write_cb(void *data, const char *bytes, size_t len)
{
	struct wio_out *w = data;

	if (w->err != COORD_OK)
		return -1;
	if (proto_buf_append(w->buf, bytes, len) != COORD_OK) {
		w->err = COORD_ENOMEM;
		return -1;
	}
	return 0;
}

void wio_out_init(struct wio_out *w, struct proto_buf *buf)
{
	w->buf = buf;
	w->len_before = buf->len;
	w->err = COORD_OK;
	msgpack_packer_init(&w->pk, w, wio_write_cb);
}

void wio_put_fail(struct wio_out *w, int err)
{
	if (w->err == COORD_OK)
		w->err = err;
}

void wio_put_array(struct wio_out *w, size_t n)
{
	if (n > UINT32_MAX)
		wio_put_fail(w, COORD_EINVAL);
	else
		msgpack_pack_array(&w->pk, n);
}

void wio_put_uint(struct wio_out *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
}

void wio_put_bool(struct wio_out *w, bool v)
{
	(void)(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void wio_put_nil(struct wio_out *w)
{
	msgpack_pack_nil(&w->pk);
}

void wio_put_bytes(struct wio_out *w, struct proto_bytes b, size_t max)
{
	if (b.len > max || b.len > UINT32_MAX || (b.len > 0 && b.data == NULL)) {
		wio_put_fail(w, COORD_EINVAL);
		return;
	}
	/* Header, then the bytes straight from the caller: one copy. */
	msgpack_pack_bin(&w->pk, b.len);
	msgpack_pack_bin_body(&w->pk, b.data, b.len);
}

int wio_out_finish(struct wio_out *w)
{
	if (w->err != COORD_OK)
		w->buf->len = w->len_before;
	return w->err;
}

/*
 * Reading.
 */

void wio_in_init(struct wio_in *r, const uint8_t *data, size_t len,
		 struct proto_arena *arena)
{
	r->p = data;
	r->end = data == NULL ? data : data + len;
	r->arena = arena;
	r->err = COORD_OK;
}

bool wio_fail(struct wio_in *r, int err)
{
	if (r->err == COORD_OK)
		r->err = err;
	return false;
}

size_t wio_left(const struct wio_in *r)
{
	return (size_t)(r->end - r->p);
}

/* n big-endian bytes at p. */
static uint64_t wio_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

/* Reads the type byte and a big-endian argument of n bytes after it. */
static bool wio_take(struct wio_in *r, size_t n, uint64_t *v)
{
	if (r->err != COORD_OK || wio_left(r) < n + 1)
		return wio_fail(r, COORD_EMALFORMED);
	*v = wio_be(r->p + 1, n);
	r->p += n + 1;
	return true;
}

bool wio_get_array(struct wio_in *r, uint32_t *n)
{
	uint64_t v = 0;
	bool ok;

	if (r->err != COORD_OK || wio_left(r) == 0)
		return wio_fail(r, COORD_EMALFORMED);
	switch (*r->p) {
	case 0xdc:
		ok = wio_take(r, 2, &v);
		break;
	case 0xdd:
		ok = wio_take(r, 4, &v);
		break;
	default:
		if ((*r->p & 0xf0) != 0x90)
			return wio_fail(r, COORD_EMALFORMED);
		ok = wio_take(r, 0, &v);
		v = r->p[-1] & 0x0f;
	}
	if (!ok || v > wio_left(r))
		return wio_fail(r, COORD_EMALFORMED);
	*n = (uint32_t)v;
	return true;
}

bool wio_get_array_len(struct wio_in *r, uint32_t want)
{
	uint32_t n;

	return wio_get_array(r, &n) && (n == want || wio_fail(r, COORD_EMALFORMED));
}

bool wio_get_uint(struct wio_in *r, uint64_t min, uint64_t max, uint64_t *v)
{
	uint8_t t;

	if (r->err != COORD_OK || wio_left(r) == 0)
		return wio_fail(r, COORD_EMALFORMED);
	t = *r->p;
	if (t < 0x80) {
		*v = t;
		r->p++;
	} else if (t >= 0xcc && t <= 0xcf) {
		if (!wio_take(r, (size_t)1 << (t - 0xcc), v))
			return false;
	} else if (t >= 0xd0 && t <= 0xd3) {
		/* A signed encoding of a non-negative value is accepted. */
		if (wio_left(r) < 2 || (r->p[1] & 0x80) != 0)
			return wio_fail(r, COORD_EMALFORMED);
		if (!wio_take(r, (size_t)1 << (t - 0xd0), v))
			return false;
	} else {
		return wio_fail(r, COORD_EMALFORMED);
	}
	return (*v >= min && *v <= max) || wio_fail(r, COORD_EMALFORMED);
}

bool wio_get_bool(struct wio_in *r, bool *v)
{
	if (r->err != COORD_OK || wio_left(r) == 0 ||
	    (*r->p != 0xc2 && *r->p != 0xc3))
		return wio_fail(r, COORD_EMALFORMED);
	*v = *r->p++ == 0xc3;
	return true;
}

bool wio_get_bytes(struct wio_in *r, size_t max, struct proto_bytes *b)
{
	uint64_t len;
	uint8_t t;

	if (r->err != COORD_OK || wio_left(r) == 0)
		return wio_fail(r, COORD_EMALFORMED);
	t = *r->p;
	if (t < 0xc4 || t > 0xc6)
		return wio_fail(r, COORD_EMALFORMED);
	if (!wio_take(r, (size_t)1 << (t - 0xc4), &len))
		return false;
	if (len > wio_left(r) || len > max)
		return wio_fail(r, COORD_EMALFORMED);
	b->data = len == 0 ? NULL : r->p;
	b->len = (size_t)len;
	r->p += len;
	return true;
}

bool wio_get_nil(struct wio_in *r)
{
	if (r->err != COORD_OK || wio_left(r) == 0 || *r->p != 0xc0)
		return false;
	r->p++;
	return true;
}

/*
 * The shape of one msgpack value from its first byte: how many header
 * bytes carry its length (len_bytes), how many payload bytes follow
 * besides (fixed), and whether the length counts bytes, or elements
 * (arrays: 1 per element, maps: 2).
 */
struct wio_shape {
	uint8_t len_bytes;
	uint8_t fixed;
	uint8_t per_elem;   /* 0: length counts bytes */
	uint8_t inline_len; /* fix* types: the length in the type byte */
	bool has_inline;
};

static bool wio_shape_of(uint8_t t, struct wio_shape *s)
{
	memset(s, 0, sizeof(*s));
	if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
		return true;                    /* fixint, nil, bool */
	if (t <= 0x8f || (t >= 0x90 && t <= 0x9f) || (t >= 0xa0 && t <= 0xbf)) {
		s->has_inline = true;
		s->inline_len = t <= 0x9f ? (t & 0x0f) : (t & 0x1f);
		s->per_elem = t <= 0x8f ? 2 : t <= 0x9f ? 1 : 0;
		return true;                    /* fixmap, fixarray, fixstr */
	}
	switch (t) {
	case 0xc4: case 0xc5: case 0xc6:    /* bin 8/16/32 */
		s->len_bytes = (uint8_t)(1u << (t - 0xc4));
		return true;
	case 0xc7: case 0xc8: case 0xc9:    /* ext 8/16/32: length, type */
		s->len_bytes = (uint8_t)(1u << (t - 0xc7));
		s->fixed = 1;
		return true;
	case 0xca: s->fixed = 4; return true;
	case 0xcb: s->fixed = 8; return true;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		s->fixed = (uint8_t)(1u << (t - 0xcc));
		return true;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		s->fixed = (uint8_t)(1u << (t - 0xd0));
		return true;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		s->fixed = (uint8_t)(1 + (1u << (t - 0xd4)));  /* fixext */
		return true;
	case 0xd9: case 0xda: case 0xdb:    /* str 8/16/32 */
		s->len_bytes = (uint8_t)(1u << (t - 0xd9));
		return true;
	case 0xdc: case 0xdd:
		s->len_bytes = (uint8_t)(t == 0xdc ? 2 : 4);
		s->per_elem = 1;
		return true;
	case 0xde: case 0xdf:
		s->len_bytes = (uint8_t)(t == 0xde ? 2 : 4);
		s->per_elem = 2;
		return true;
	}
	return false;                           /* 0xc1: never used */
}

bool wio_skip(struct wio_in *r, const uint8_t **start, size_t *len)
{
	uint64_t pending = 1;
	struct wio_shape s;
	uint64_t n;

	if (r->err != COORD_OK)
		return false;
	*start = r->p;
	while (pending > 0) {
		pending--;
		if (wio_left(r) == 0 || !wio_shape_of(*r->p, &s))
			return wio_fail(r, COORD_EMALFORMED);
		if (s.has_inline) {
			n = s.inline_len;
			r->p++;
		} else if (!wio_take(r, s.len_bytes, &n)) {
			return false;
		}
		if (s.per_elem != 0) {
			/* Every element takes a byte: pending stays below the
			 * input length, so it cannot wrap. */
			if (n * s.per_elem > wio_left(r))
				return wio_fail(r, COORD_EMALFORMED);
			pending += n * s.per_elem;
			continue;
		}
		if (s.len_bytes == 0 && !s.has_inline)
			n = 0;
		if (n > wio_left(r) || s.fixed > wio_left(r) - n)
			return wio_fail(r, COORD_EMALFORMED);
		r->p += n + s.fixed;
	}
	*len = (size_t)(r->p - *start);
	return true;
}

bool wio_get_list(struct wio_in *r, size_t max_n, size_t elem_size,
		  size_t min_bytes, void **elems, size_t *n)
{
	uint32_t count;

	*elems = NULL;
	*n = 0;
	if (!wio_get_array(r, &count))
		return false;
	if (count > max_n || count > wio_left(r) / min_bytes)
		return wio_fail(r, COORD_EMALFORMED);
	if (count == 0)
		return true;
	*elems = proto_arena_alloc(r->arena, (size_t)count * elem_size);
	if (*elems == NULL)
		return wio_fail(r, COORD_ENOMEM);
	memset(*elems, 0, (size_t)count * elem_size);
	*n = count;
	return true;
}

int wio_in_finish(struct wio_in *r, bool ok)
{
	if (ok && r->p != r->end)
		return COORD_EMALFORMED;    /* trailing bytes */
	if (!ok && r->err == COORD_OK)
		return COORD_EMALFORMED;
	return r->err;
}
