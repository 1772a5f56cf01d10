/*
 * coordd/fsm/members.c: the replicated member table -- one 'n' record per
 * cluster member with its name and addresses, so that every node (and a
 * node restored from a snapshot) knows where its peers are. The Raft
 * configuration (who votes) lives in Raft; this table only says how to
 * reach each id and whether a learner is to be promoted.
 *
 * Record: 'n' id:8 -> flags:1 (bit 0: promote) name_len:2 name
 * peer_len:2 peer_addr client_len:2 client_addr [http_len:2 http_addr]
 * (records written before the HTTP address end after client_addr).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"

#define MEMBER_PROMOTE 0x01

static void nkey_build(uint8_t *k, uint64_t id)
{
	k[0] = FSM_KIND_MEMBER;
	fsm_be64_put(k + 1, id);
}

static uint8_t *put_str(uint8_t *p, struct proto_bytes b)
{
	p[0] = (uint8_t)(b.len >> 8);
	p[1] = (uint8_t)b.len;
	if (b.len > 0)
		memcpy(p + 2, b.data, b.len);
	return p + 2 + b.len;
}

/* Puts (or deletes) an 'n' record, naming what it held for the state
 * hash: the backend's value, as the overlay holds none of this command's
 * member records before this one write. */
static int member_write(struct fsm *f, const uint8_t k[9], const uint8_t *v,
			size_t len, bool del)
{
	const uint8_t *old;
	size_t old_len;
	int rc = f->b->ops->get(f->b, k, 9, &old, &old_len);

	if (rc == COORD_ENOTFOUND)
		return del ? COORD_OK : fsm_ov_put(f, k, 9, v, len);
	if (rc != COORD_OK)
		return rc;
	if (del)
		return fsm_ov_del(f, k, 9, old, old_len);
	return fsm_ov_replace(f, k, 9, v, len, old, old_len);
}

int fsm_cmd_member_put(struct fsm *f, const struct proto_member_put *m)
{
	uint8_t k[9];
	uint8_t *v, *p;
	size_t len = 1 + 8 + m->name.len + m->peer_addr.len +
		     m->client_addr.len + m->http_addr.len;

	if (m->id == 0 || m->name.len > COORD_NAME_BYTES_MAX ||
	    m->peer_addr.len > COORD_ADDR_BYTES_MAX ||
	    m->client_addr.len > COORD_ADDR_BYTES_MAX ||
	    m->http_addr.len > COORD_ADDR_BYTES_MAX)
		return COORD_EINVAL;
	v = proto_arena_alloc(&f->arena, len);
	if (v == NULL)
		return COORD_ENOMEM;
	v[0] = m->promote ? MEMBER_PROMOTE : 0;
	p = put_str(v + 1, m->name);
	p = put_str(p, m->peer_addr);
	p = put_str(p, m->client_addr);
	put_str(p, m->http_addr);
	nkey_build(k, m->id);
	return member_write(f, k, v, len, false);
}

int fsm_cmd_member_del(struct fsm *f, const struct proto_member_del *m)
{
	uint8_t k[9];

	if (m->id == 0)
		return COORD_EINVAL;
	nkey_build(k, m->id);
	return member_write(f, k, NULL, 0, true);
}

/* Reads one length-prefixed string of a record into out (NUL-terminated);
 * false when the record is shorter or the string does not fit. */
static bool get_str(const uint8_t **p, const uint8_t *end, char *out,
		    size_t cap)
{
	size_t n;

	if (end - *p < 2)
		return false;
	n = ((size_t)(*p)[0] << 8) | (*p)[1];
	if ((size_t)(end - *p) < 2 + n || n >= cap)
		return false;
	memcpy(out, *p + 2, n);
	out[n] = '\0';
	*p += 2 + n;
	return true;
}

int fsm_members(struct fsm *f, struct fsm_member *out, size_t max, size_t *n)
{
	struct fsm_backend_iter *it;
	const uint8_t prefix = FSM_KIND_MEMBER;
	int rc;

	*n = 0;
	rc = f->b->ops->iter_new(f->b, NULL, &it);
	if (rc != COORD_OK)
		return rc;
	for (f->b->ops->iter_seek(it, &prefix, 1); f->b->ops->iter_valid(it);
	     f->b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = f->b->ops->iter_key(it, &kl);
		const uint8_t *v = f->b->ops->iter_value(it, &vl);
		const uint8_t *p = v + 1, *end = v + vl;
		struct fsm_member *m;

		if (kl == 0 || k[0] != FSM_KIND_MEMBER)
			break;
		if (*n == max)
			break;
		m = &out[*n];
		if (kl != 9 || vl < 7 ||
		    !get_str(&p, end, m->name, sizeof(m->name)) ||
		    !get_str(&p, end, m->peer_addr, sizeof(m->peer_addr)) ||
		    !get_str(&p, end, m->client_addr, sizeof(m->client_addr)) ||
		    (m->http_addr[0] = '\0', p != end &&
		     !get_str(&p, end, m->http_addr, sizeof(m->http_addr))) ||
		    p != end) {
			rc = COORD_ECORRUPT;
			break;
		}
		m->id = fsm_be64_get(k + 1);
		m->promote = (v[0] & MEMBER_PROMOTE) != 0;
		(*n)++;
	}
	if (rc == COORD_OK)
		rc = f->b->ops->iter_status(it);
	f->b->ops->iter_free(it);
	return rc;
}
