/*
 * proto/peer.c: the codec of the peer protocol (proto/peer.h).
 */
#include "proto/peer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/wire_io.h"

_Static_assert(COORD_MEMBERS_MAX == RAFT_NODES_MAX,
	       "a member list holds one raft configuration");

/* [term, index, type, bin""]: the least an entry takes on the wire. */
#define MIN_ENTRY_BYTES 6
#define RAFT_FIELDS 16
#define HELLO_FIELDS 5
#define CHUNK_FIELDS 6
#define PUBLISH_FIELDS 5

int proto_peer_hello_encode(const struct proto_peer_hello *h,
			    struct proto_buf *out)
{
	struct wio_out w;

	wio_out_init(&w, out);
	if (h->from == 0 || h->to == 0)
		wio_put_fail(&w, COORD_EINVAL);
	wio_put_array(&w, HELLO_FIELDS);
	wio_put_uint(&w, PROTO_PEER_HELLO);
	wio_put_uint(&w, h->version);
	wio_put_uint(&w, h->cluster_id);
	wio_put_uint(&w, h->from);
	wio_put_uint(&w, h->to);
	return wio_out_finish(&w);
}

static void put_ids(struct wio_out *w, const uint64_t *ids, uint32_t n)
{
	if (n > RAFT_NODES_MAX) {
		wio_put_fail(w, COORD_EINVAL);
		return;
	}
	wio_put_array(w, n);
	for (uint32_t i = 0; i < n; i++)
		wio_put_uint(w, ids[i]);
}

int proto_peer_raft_encode(const struct raft_message *m, struct proto_buf *out)
{
	bool snap = m->type == RAFT_MSG_SNAPSHOT;
	struct wio_out w;

	wio_out_init(&w, out);
	if (m->type < RAFT_MSG_APPEND || m->type > RAFT_MSG_TYPE_MAX ||
	    m->from == 0 || m->to == 0 || (m->n_entries > 0 && m->entries == NULL))
		wio_put_fail(&w, COORD_EINVAL);
	wio_put_array(&w, RAFT_FIELDS);
	wio_put_uint(&w, PROTO_PEER_RAFT);
	wio_put_uint(&w, m->type);
	wio_put_uint(&w, m->from);
	wio_put_uint(&w, m->to);
	wio_put_uint(&w, m->term);
	wio_put_uint(&w, m->log_term);
	wio_put_uint(&w, m->index);
	wio_put_uint(&w, m->commit);
	wio_put_uint(&w, m->reject_hint);
	wio_put_uint(&w, m->hint_term);
	wio_put_uint(&w, m->context);
	wio_put_bool(&w, m->reject);
	wio_put_bool(&w, m->transfer);
	wio_put_array(&w, m->n_entries);
	for (size_t i = 0; i < m->n_entries && w.err == COORD_OK; i++) {
		const struct raft_entry *e = &m->entries[i];

		if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_CONF)
			wio_put_fail(&w, COORD_EINVAL);
		wio_put_array(&w, 4);
		wio_put_uint(&w, e->term);
		wio_put_uint(&w, e->index);
		wio_put_uint(&w, e->type);
		/* The one copy of the data: into out. */
		wio_put_bytes(&w, proto_bytes_make(e->data, e->len), UINT32_MAX);
	}
	if (snap) {
		wio_put_array(&w, 4);
		wio_put_uint(&w, m->snapshot.index);
		wio_put_uint(&w, m->snapshot.term);
		put_ids(&w, m->snapshot.conf.voters, m->snapshot.conf.n_voters);
		put_ids(&w, m->snapshot.conf.learners, m->snapshot.conf.n_learners);
		wio_put_uint(&w, m->snapshot_len);
	} else {
		wio_put_nil(&w);
		wio_put_uint(&w, 0);
	}
	return wio_out_finish(&w);
}

int proto_peer_chunk_encode(const struct proto_snapshot_chunk *c,
			    struct proto_buf *out)
{
	struct wio_out w;

	wio_out_init(&w, out);
	wio_put_array(&w, CHUNK_FIELDS);
	wio_put_uint(&w, PROTO_PEER_SNAPSHOT_CHUNK);
	wio_put_uint(&w, c->index);
	wio_put_uint(&w, c->term);
	wio_put_uint(&w, c->offset);
	wio_put_bytes(&w, c->data, COORD_SNAPSHOT_CHUNK_BYTES_MAX);
	wio_put_bool(&w, c->last);
	return wio_out_finish(&w);
}

int proto_peer_publish_encode(const struct proto_peer_publish *p,
			      struct proto_buf *out)
{
	struct wio_out w;

	wio_out_init(&w, out);
	if (p->id == 0)
		wio_put_fail(&w, COORD_EINVAL);
	wio_put_array(&w, PUBLISH_FIELDS);
	wio_put_uint(&w, PROTO_PEER_PUBLISH);
	wio_put_uint(&w, p->id);
	wio_put_bytes(&w, p->name, COORD_NAME_BYTES_MAX);
	wio_put_bytes(&w, p->client_addr, COORD_ADDR_BYTES_MAX);
	wio_put_bytes(&w, p->http_addr, COORD_ADDR_BYTES_MAX);
	return wio_out_finish(&w);
}

static bool get_u64(struct wio_in *r, uint64_t *v)
{
	return wio_get_uint(r, 0, UINT64_MAX, v);
}

static bool get_ids(struct wio_in *r, uint64_t *ids, uint32_t *n)
{
	if (!wio_get_array(r, n))
		return false;
	if (*n > RAFT_NODES_MAX)
		return wio_fail(r, COORD_EMALFORMED);
	for (uint32_t i = 0; i < *n; i++)
		if (!get_u64(r, &ids[i]))
			return false;
	return true;
}

static bool get_entries(struct wio_in *r, struct raft_message *m)
{
	struct raft_entry *v;
	struct proto_bytes data;
	uint64_t type;

	if (!wio_get_list(r, SIZE_MAX, sizeof(*v), MIN_ENTRY_BYTES, (void **)&v,
			  &m->n_entries))
		return false;
	m->entries = v;
	for (size_t i = 0; i < m->n_entries; i++) {
		if (!(wio_get_array_len(r, 4) && get_u64(r, &v[i].term) &&
		      get_u64(r, &v[i].index) &&
		      wio_get_uint(r, RAFT_ENTRY_NORMAL, RAFT_ENTRY_CONF, &type) &&
		      wio_get_bytes(r, UINT32_MAX, &data)))
			return false;
		v[i].type = (uint32_t)type;
		v[i].len = (uint32_t)data.len;
		/* Zero copy: the entry points into the frame. raft_entry's
		 * data is not const, but nobody writes through it. */
		v[i].data = (uint8_t *)(uintptr_t)data.data;
	}
	return true;
}

static bool get_raft(struct wio_in *r, uint32_t n, struct raft_message *m)
{
	uint64_t type;
	bool snap;

	if (n != RAFT_FIELDS)
		return wio_fail(r, COORD_EMALFORMED);
	if (!(wio_get_uint(r, RAFT_MSG_APPEND, RAFT_MSG_TYPE_MAX, &type) &&
	      wio_get_uint(r, 1, UINT64_MAX, &m->from) &&
	      wio_get_uint(r, 1, UINT64_MAX, &m->to) && get_u64(r, &m->term) &&
	      get_u64(r, &m->log_term) && get_u64(r, &m->index) &&
	      get_u64(r, &m->commit) && get_u64(r, &m->reject_hint) &&
	      get_u64(r, &m->hint_term) && get_u64(r, &m->context) &&
	      wio_get_bool(r, &m->reject) && wio_get_bool(r, &m->transfer) &&
	      get_entries(r, m)))
		return false;
	m->type = (uint32_t)type;
	snap = type == RAFT_MSG_SNAPSHOT;
	if (!snap) {
		return (wio_get_nil(r) || wio_fail(r, COORD_EMALFORMED)) &&
		       wio_get_uint(r, 0, 0, &type);
	}
	if (!(wio_get_array_len(r, 4) && get_u64(r, &m->snapshot.index) &&
	      get_u64(r, &m->snapshot.term) &&
	      get_ids(r, m->snapshot.conf.voters, &m->snapshot.conf.n_voters) &&
	      get_ids(r, m->snapshot.conf.learners,
		      &m->snapshot.conf.n_learners) &&
	      wio_get_uint(r, 0, SIZE_MAX, &type)))
		return false;
	m->snapshot_len = (size_t)type;
	return true;
}

int proto_peer_decode(const uint8_t *data, size_t len,
		      struct proto_arena *arena, struct proto_peer_msg *msg)
{
	const uint8_t *start;
	struct wio_in r;
	uint64_t kind;
	size_t skipped;
	uint32_t n;
	bool ok;

	memset(msg, 0, sizeof(*msg));
	wio_in_init(&r, data, len, arena);
	if (!(wio_get_array(&r, &n) && (n >= 1 || wio_fail(&r, COORD_EMALFORMED)) &&
	      wio_get_uint(&r, 0, UINT32_MAX, &kind)))
		return wio_in_finish(&r, false);
	msg->kind = (uint32_t)kind;
	switch (kind) {
	case PROTO_PEER_HELLO: {
		struct proto_peer_hello *h = &msg->u.hello;

		ok = (n >= HELLO_FIELDS || wio_fail(&r, COORD_EMALFORMED)) &&
		     get_u64(&r, &h->version) && get_u64(&r, &h->cluster_id) &&
		     wio_get_uint(&r, 1, UINT64_MAX, &h->from) &&
		     wio_get_uint(&r, 1, UINT64_MAX, &h->to);
		/* A newer version's fields. */
		for (uint32_t i = HELLO_FIELDS; ok && i < n; i++)
			ok = wio_skip(&r, &start, &skipped);
		break;
	}
	case PROTO_PEER_RAFT:
		ok = get_raft(&r, n, &msg->u.raft);
		break;
	case PROTO_PEER_SNAPSHOT_CHUNK: {
		struct proto_snapshot_chunk *c = &msg->u.chunk;

		ok = (n == CHUNK_FIELDS || wio_fail(&r, COORD_EMALFORMED)) &&
		     get_u64(&r, &c->index) && get_u64(&r, &c->term) &&
		     get_u64(&r, &c->offset) &&
		     wio_get_bytes(&r, COORD_SNAPSHOT_CHUNK_BYTES_MAX, &c->data) &&
		     wio_get_bool(&r, &c->last);
		break;
	}
	case PROTO_PEER_PUBLISH: {
		struct proto_peer_publish *p = &msg->u.publish;

		ok = (n == PUBLISH_FIELDS || wio_fail(&r, COORD_EMALFORMED)) &&
		     wio_get_uint(&r, 1, UINT64_MAX, &p->id) &&
		     wio_get_bytes(&r, COORD_NAME_BYTES_MAX, &p->name) &&
		     wio_get_bytes(&r, COORD_ADDR_BYTES_MAX, &p->client_addr) &&
		     wio_get_bytes(&r, COORD_ADDR_BYTES_MAX, &p->http_addr);
		break;
	}
	default:
		return COORD_EUNKNOWNMSG;
	}
	return wio_in_finish(&r, ok);
}

int proto_peer_hello_check(const struct proto_peer_hello *theirs,
			   uint64_t version, uint64_t cluster_id,
			   uint64_t self_id, char *msg, size_t msg_size)
{
	char dummy[1];

	if (msg_size == 0) {
		msg = dummy;
		msg_size = sizeof(dummy);
	}
	msg[0] = '\0';
	if (theirs->version != version) {
		snprintf(msg, msg_size, "peer protocol version mismatch: peer %" PRIu64 " speaks version %" PRIu64 ", we speak version %" PRIu64,
			 theirs->from, theirs->version, version);
		return COORD_EPROTOVERSION;
	}
	if (theirs->cluster_id != cluster_id) {
		snprintf(msg, msg_size, "cluster id mismatch: peer %" PRIu64 " is in cluster %016" PRIx64 ", we are in %016" PRIx64,
			 theirs->from, theirs->cluster_id, cluster_id);
		return COORD_ECLUSTER;
	}
	if (theirs->to != self_id || theirs->from == self_id) {
		snprintf(msg, msg_size, "peer %" PRIu64 " means to reach node %" PRIu64 ", we are node %" PRIu64,
			 theirs->from, theirs->to, self_id);
		return COORD_EINVAL;
	}
	return COORD_OK;
}
