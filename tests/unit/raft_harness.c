/*
 * tests/unit/raft_harness.c: the in-memory cluster of the raft unit tests
 * (see raft_harness.h). Failures are reported with Check assertions, so the
 * harness runs only inside a Check test.
 */
#include "tests/unit/raft_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check's ck_assert_* record every passing call (a message to the parent
 * process); the harness checks a lot in hot loops, so it only calls into
 * Check when something fails. */
#define H_ASSERT(x)                                                          \
	do {                                                                 \
		if (!(x))                                                    \
			ck_abort_msg("harness: %s (%s:%d)", #x, __FILE__,    \
				     __LINE__);                              \
	} while (0)
#define H_ASSERT_MSG(x, ...)                                                 \
	do {                                                                 \
		if (!(x))                                                    \
			ck_abort_msg(__VA_ARGS__);                           \
	} while (0)
#define H_ASSERT_OP(a, op, b)                                                \
	do {                                                                 \
		uint64_t a_ = (a), b_ = (b);                                 \
		if (!(a_ op b_))                                             \
			ck_abort_msg("harness: %s %s %s: %llu vs %llu "      \
				     "(%s:%d)", #a, #op, #b,                 \
				     (unsigned long long)a_,                 \
				     (unsigned long long)b_, __FILE__,       \
				     __LINE__);                              \
	} while (0)

static void *h_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	H_ASSERT_MSG(p != NULL, "harness out of memory");
	return p;
}

static void *h_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	H_ASSERT_MSG(p != NULL, "harness out of memory");
	return p;
}

static uint8_t *h_memdup(const void *src, size_t len)
{
	uint8_t *p;

	if (len == 0)
		return NULL;
	p = h_xmalloc(len);
	memcpy(p, src, len);
	return p;
}

/* FNV-1a, enough to tell two state machine histories apart. */
static uint64_t h_hash_bytes(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t h_hash_entry(uint64_t h, const struct raft_entry *e)
{
	h = h_hash_bytes(h, &e->index, sizeof(e->index));
	h = h_hash_bytes(h, &e->term, sizeof(e->term));
	h = h_hash_bytes(h, &e->type, sizeof(e->type));
	if (e->len > 0)
		h = h_hash_bytes(h, e->data, e->len);
	return h;
}

void h_snap_encode(uint8_t out[H_SNAP_LEN], uint64_t index, uint64_t hash,
		   uint64_t count)
{
	const uint64_t magic = 0x504e534855ULL; /* "UHSNP" */

	memcpy(out, &magic, 8);
	memcpy(out + 8, &index, 8);
	memcpy(out + 16, &hash, 8);
	memcpy(out + 24, &count, 8);
}

static void h_snap_decode(const uint8_t *in, size_t len, uint64_t *index,
			  uint64_t *hash, uint64_t *count)
{
	const uint64_t magic = 0x504e534855ULL;
	uint64_t m;

	H_ASSERT_OP(len, ==, H_SNAP_LEN);
	H_ASSERT(in != NULL);
	memcpy(&m, in, 8);
	H_ASSERT_MSG(m == magic, "snapshot data is not ours");
	memcpy(index, in + 8, 8);
	memcpy(hash, in + 16, 8);
	memcpy(count, in + 24, 8);
}

struct h_node *h_node(struct harness *h, uint64_t id)
{
	H_ASSERT_MSG(id >= 1 && id <= h->n, "no node %llu",
		     (unsigned long long)id);
	return &h->nodes[id];
}

struct raft *h_raft(struct harness *h, uint64_t id)
{
	struct h_node *n = h_node(h, id);

	H_ASSERT_MSG(n->r != NULL, "node %llu is down", (unsigned long long)id);
	return n->r;
}

void h_init(struct harness *h, size_t n)
{
	H_ASSERT_OP(n, <=, H_NODES_MAX);
	memset(h, 0, sizeof(*h));
	h->n = n;
	for (uint64_t id = 1; id <= n; id++) {
		struct h_node *nd = &h->nodes[id];

		nd->id = id;
		raft_config_default(&nd->cfg, id, 1000 + id);
		nd->cfg.election_ticks = 10;
		nd->cfg.heartbeat_ticks = 1;
	}
}

static void h_msg_free(struct raft_message *m)
{
	for (size_t i = 0; i < m->n_entries; i++)
		free(m->entries[i].data);
	free(m->entries);
	free((void *)m->snapshot_data);
	m->entries = NULL;
	m->n_entries = 0;
	m->snapshot_data = NULL;
}

static void h_log_free(struct h_node *n)
{
	for (size_t i = 0; i < n->n_log; i++)
		free(n->log[i].data);
	n->n_log = 0;
}

static void h_hist_truncate(struct h_node *n, uint64_t index)
{
	while (n->n_hist > 0 && n->hist[n->n_hist - 1].index > index) {
		free(n->hist[n->n_hist - 1].data);
		n->n_hist--;
	}
}

void h_close(struct harness *h)
{
	for (uint64_t id = 1; id <= h->n; id++) {
		struct h_node *n = &h->nodes[id];

		raft_free(n->r);
		n->r = NULL;
		h_log_free(n);
		free(n->log);
		h_hist_truncate(n, 0);
		free(n->hist);
		free(n->snap_data);
		free(n->reads);
	}
	for (size_t i = 0; i < h->n_queue; i++)
		h_msg_free(&h->queue[i].m);
	free(h->queue);
	memset(h, 0, sizeof(*h));
}

uint64_t h_log_last(const struct h_node *n)
{
	if (n->n_log > 0)
		return n->log[n->n_log - 1].index;
	return n->has_snap ? n->snap.index : 0;
}

const struct raft_entry *h_log_at(const struct h_node *n, uint64_t index)
{
	uint64_t first = (n->has_snap ? n->snap.index : 0) + 1;

	if (index < first || index > h_log_last(n))
		return NULL;
	return &n->log[index - first];
}

static uint64_t h_log_term(const struct h_node *n, uint64_t index)
{
	const struct raft_entry *e;

	if (index == 0)
		return 0;
	if (n->has_snap && index == n->snap.index)
		return n->snap.term;
	e = h_log_at(n, index);
	return e ? e->term : 0;
}

void h_restore_fill(struct harness *h, uint64_t id, struct raft_restore *rs)
{
	struct h_node *n = h_node(h, id);

	memset(rs, 0, sizeof(*rs));
	rs->hard_state = n->hs;
	rs->snapshot = n->has_snap ? &n->snap : NULL;
	rs->entries = n->log;
	rs->n_entries = n->n_log;
	rs->applied = n->applied;
}

void h_start(struct harness *h, uint64_t id)
{
	struct h_node *n = h_node(h, id);
	struct raft_restore rs;
	bool empty;
	int rc;

	H_ASSERT_MSG(n->r == NULL, "node %llu already running",
		     (unsigned long long)id);
	empty = n->hs.term == 0 && n->hs.vote == 0 && n->hs.commit == 0 &&
		!n->has_snap && n->n_log == 0;
	h_restore_fill(h, id, &rs);
	rc = raft_new(&n->cfg, empty ? NULL : &rs, &n->r);
	H_ASSERT_MSG(rc == 0, "raft_new(%llu): %s", (unsigned long long)id,
		     raft_strerror(rc));
	H_ASSERT(n->r != NULL);
}

void h_crash(struct harness *h, uint64_t id, bool lose_sm)
{
	struct h_node *n = h_node(h, id);

	raft_free(n->r);
	n->r = NULL;
	if (!lose_sm)
		return;
	if (n->has_snap) {
		uint64_t index;

		h_snap_decode(n->snap_data, n->snap_len, &index, &n->sm_hash,
			      &n->sm_count);
		H_ASSERT_OP(index, ==, n->snap.index);
		n->applied = n->snap.index;
	} else {
		n->applied = 0;
		n->sm_hash = 0;
		n->sm_count = 0;
	}
	h_hist_truncate(n, n->applied);
}

void h_bootstrap(struct harness *h, size_t n_voters)
{
	uint64_t voters[H_NODES_MAX];

	H_ASSERT_OP(n_voters, <=, h->n);
	for (size_t i = 0; i < n_voters; i++)
		voters[i] = i + 1;
	for (uint64_t id = 1; id <= h->n; id++) {
		h_start(h, id);
		if (id <= n_voters) {
			int rc = raft_bootstrap(h->nodes[id].r, voters,
						n_voters);

			H_ASSERT_MSG(rc == 0, "bootstrap: %s",
				     raft_strerror(rc));
		}
	}
	h_ready_all(h);
}

void h_boot_node(struct harness *h, uint64_t id, size_t n_voters)
{
	uint64_t voters[H_NODES_MAX];
	int rc;

	for (size_t i = 0; i < n_voters; i++)
		voters[i] = i + 1;
	h_start(h, id);
	rc = raft_bootstrap(h_raft(h, id), voters, n_voters);
	H_ASSERT_MSG(rc == 0, "bootstrap: %s", raft_strerror(rc));
	h_ready_all(h);
}

static void h_log_append(struct h_node *n, const struct raft_entry *e);

void h_preload(struct harness *h, uint64_t id, size_t n_voters,
	       const uint64_t *terms, size_t n_terms, uint64_t term,
	       uint64_t vote)
{
	struct h_node *n = h_node(h, id);
	uint64_t index = 0;

	H_ASSERT_MSG(n->r == NULL, "preload of a running node");
	h_log_free(n);
	h_hist_truncate(n, 0);
	n->has_snap = false;
	for (size_t i = 0; i < n_voters; i++) {
		struct raft_conf_change cc = { RAFT_CONF_ADD_VOTER, i + 1 };
		uint8_t buf[RAFT_CONF_CHANGE_LEN];
		struct raft_entry e = { 1, ++index, RAFT_ENTRY_CONF,
					RAFT_CONF_CHANGE_LEN, buf };

		raft_conf_change_encode(&cc, buf);
		h_log_append(n, &e);
	}
	for (size_t i = 0; i < n_terms; i++) {
		char buf[32];
		struct raft_entry e;

		index++;
		snprintf(buf, sizeof(buf), "e%llu", (unsigned long long)index);
		e.term = terms[i];
		e.index = index;
		e.type = RAFT_ENTRY_NORMAL;
		e.len = (uint32_t)strlen(buf);
		e.data = (uint8_t *)buf;
		h_log_append(n, &e);
	}
	n->hs.term = term;
	n->hs.vote = vote;
	n->hs.commit = n_voters;
	n->applied = 0;
	n->sm_hash = 0;
	n->sm_count = 0;
	n->term_seen = 0;
	n->commit_seen = 0;
}

static void h_queue_push(struct harness *h, const struct raft_message *src,
			 const struct h_node *from)
{
	struct raft_message *m;

	if (h->n_queue == h->cap_queue) {
		h->cap_queue = h->cap_queue ? 2 * h->cap_queue : 64;
		h->queue = h_xrealloc(h->queue,
				      h->cap_queue * sizeof(*h->queue));
	}
	m = &h->queue[h->n_queue++].m;
	*m = *src;
	m->entries = NULL;
	m->snapshot_data = NULL;
	m->snapshot_len = 0;
	if (src->n_entries > 0) {
		H_ASSERT(src->entries != NULL);
		m->entries = h_xmalloc(src->n_entries * sizeof(*m->entries));
		for (size_t i = 0; i < src->n_entries; i++) {
			m->entries[i] = src->entries[i];
			m->entries[i].data = h_memdup(src->entries[i].data,
						      src->entries[i].len);
		}
	}
	if (src->type == RAFT_MSG_SNAPSHOT) {
		/* The application attaches the data of the snapshot it
		 * compacted to. */
		H_ASSERT_MSG(from->has_snap, "snapshot sent without one");
		H_ASSERT_OP(src->snapshot.index, ==, from->snap.index);
		H_ASSERT_OP(src->snapshot.term, ==, from->snap.term);
		m->snapshot_data = h_memdup(from->snap_data, from->snap_len);
		m->snapshot_len = from->snap_len;
	}
}

static void h_log_append(struct h_node *n, const struct raft_entry *e)
{
	if (n->n_log == n->cap_log) {
		n->cap_log = n->cap_log ? 2 * n->cap_log : 64;
		n->log = h_xrealloc(n->log, n->cap_log * sizeof(*n->log));
	}
	n->log[n->n_log] = *e;
	n->log[n->n_log].data = h_memdup(e->data, e->len);
	n->n_log++;
}

static void h_persist_entries(struct h_node *n, const struct raft_ready *rd)
{
	uint64_t first = (n->has_snap ? n->snap.index : 0) + 1;
	uint64_t start;

	if (rd->n_entries == 0)
		return;
	H_ASSERT(rd->entries != NULL);
	start = rd->entries[0].index;
	/* No gap and nothing at or below the snapshot. */
	H_ASSERT_MSG(start >= first, "entries start at %llu below %llu",
		     (unsigned long long)start, (unsigned long long)first);
	H_ASSERT_MSG(start <= h_log_last(n) + 1,
		     "entries start at %llu after a gap (last %llu)",
		     (unsigned long long)start,
		     (unsigned long long)h_log_last(n));
	for (size_t i = 0; i < rd->n_entries; i++) {
		const struct raft_entry *e = &rd->entries[i];

		H_ASSERT_OP(e->index, ==, start + i);
		H_ASSERT_OP(e->term, >=, 1);
		H_ASSERT_OP(e->term, <=, rd->term);
		if (e->len > 0)
			H_ASSERT(e->data != NULL);
	}
	/* Committed entries are never overwritten. */
	H_ASSERT_MSG(start > n->hs.commit,
		     "node %llu overwrites committed index %llu (commit %llu)",
		     (unsigned long long)n->id, (unsigned long long)start,
		     (unsigned long long)n->hs.commit);
	/* Truncate the stored log from start, then append. */
	while (n->n_log > 0 && n->log[n->n_log - 1].index >= start) {
		free(n->log[n->n_log - 1].data);
		n->n_log--;
	}
	H_ASSERT_OP(rd->entries[0].term, >=, h_log_term(n, start - 1));
	for (size_t i = 0; i < rd->n_entries; i++) {
		if (i > 0)
			H_ASSERT_OP(rd->entries[i].term, >=,
				    rd->entries[i - 1].term);
		h_log_append(n, &rd->entries[i]);
	}
	(void)first;
}

static void h_install_snapshot(struct h_node *n, const struct raft_ready *rd)
{
	const struct raft_snapshot_meta *s = rd->snapshot;
	uint64_t index;

	H_ASSERT_MSG(s->index > n->commit_seen,
		     "node %llu installs snapshot %llu at or below its commit %llu",
		     (unsigned long long)n->id, (unsigned long long)s->index,
		     (unsigned long long)n->commit_seen);
	H_ASSERT_OP(s->term, >=, 1);
	H_ASSERT_OP(s->conf.n_voters, >=, 1);
	/* The stored log is replaced by the snapshot. */
	h_log_free(n);
	n->has_snap = true;
	n->snap = *s;
	free(n->snap_data);
	n->snap_data = h_memdup(rd->snapshot_data, rd->snapshot_len);
	n->snap_len = rd->snapshot_len;
	/* Restore the state machine from the data. */
	h_snap_decode(rd->snapshot_data, rd->snapshot_len, &index, &n->sm_hash,
		      &n->sm_count);
	H_ASSERT_OP(index, ==, s->index);
	h_hist_truncate(n, 0);
	n->applied = s->index;
	n->n_installed++;
}

static void h_check_message(struct h_node *n, const struct raft_ready *rd,
			    const struct raft_message *m)
{
	H_ASSERT_OP(m->from, ==, n->id);
	H_ASSERT_MSG(m->to != 0 && m->to != n->id,
		     "node %llu sends type %s to %llu",
		     (unsigned long long)n->id, raft_msg_type_name(m->type),
		     (unsigned long long)m->to);
	H_ASSERT_MSG(m->type >= 1 && m->type <= RAFT_MSG_TYPE_MAX,
		     "bad message type %u", m->type);
	switch (m->type) {
	case RAFT_MSG_VOTE_RESP:
		/* Raft figure 2: the vote is on disk before it is granted. */
		if (!m->reject) {
			H_ASSERT_MSG(n->hs.vote == m->to &&
					     n->hs.term == m->term,
				     "node %llu grants a vote to %llu term %llu "
				     "with hard state vote %llu term %llu",
				     (unsigned long long)n->id,
				     (unsigned long long)m->to,
				     (unsigned long long)m->term,
				     (unsigned long long)n->hs.vote,
				     (unsigned long long)n->hs.term);
		}
		break;
	case RAFT_MSG_APPEND_RESP:
		/* An acknowledged index is on disk. */
		if (!m->reject)
			H_ASSERT_MSG(m->index <= h_log_last(n),
				     "node %llu acks %llu, persisted %llu",
				     (unsigned long long)n->id,
				     (unsigned long long)m->index,
				     (unsigned long long)h_log_last(n));
		break;
	case RAFT_MSG_APPEND:
		/* A leader sends only what it has persisted. */
		if (m->n_entries > 0)
			H_ASSERT_OP(m->entries[m->n_entries - 1].index, <=,
				    h_log_last(n));
		break;
	default:
		break;
	}
	/* Messages of the current or an older term only (a PREVOTE asks
	 * for the next term; a PREVOTE_RESP may echo the asker's). */
	if (m->type != RAFT_MSG_PREVOTE_RESP)
		H_ASSERT_OP(m->term, <=, rd->term + 1);
}

static void h_apply(struct h_node *n, const struct raft_entry *e)
{
	const struct raft_entry *stored = h_log_at(n, e->index);
	struct h_applied *a;

	H_ASSERT_MSG(e->index == n->applied + 1,
		     "node %llu applies %llu after %llu",
		     (unsigned long long)n->id, (unsigned long long)e->index,
		     (unsigned long long)n->applied);
	H_ASSERT_MSG(e->index <= n->hs.commit,
		     "node %llu applies %llu above commit %llu",
		     (unsigned long long)n->id, (unsigned long long)e->index,
		     (unsigned long long)n->hs.commit);
	H_ASSERT_MSG(stored != NULL, "node %llu applies %llu not persisted",
		     (unsigned long long)n->id, (unsigned long long)e->index);
	H_ASSERT_OP(stored->term, ==, e->term);
	H_ASSERT_OP(stored->type, ==, e->type);
	H_ASSERT_OP(stored->len, ==, e->len);
	if (e->len > 0)
		H_ASSERT(memcmp(stored->data, e->data, e->len) == 0);

	n->sm_hash = h_hash_entry(n->sm_hash, e);
	n->sm_count++;
	n->applied = e->index;
	if (n->n_hist == n->cap_hist) {
		n->cap_hist = n->cap_hist ? 2 * n->cap_hist : 64;
		n->hist = h_xrealloc(n->hist, n->cap_hist * sizeof(*n->hist));
	}
	a = &n->hist[n->n_hist++];
	a->index = e->index;
	a->term = e->term;
	a->type = e->type;
	a->len = e->len;
	a->data = h_memdup(e->data, e->len);
	a->hash = n->sm_hash;
}

void h_ready_process(struct harness *h, uint64_t id, struct raft_ready *rd)
{
	struct h_node *n = h_node(h, id);

	if (h->on_ready)
		h->on_ready(h->on_ready_ctx, id, rd);
	n->n_ready++;

	/* Soft state. */
	H_ASSERT_OP(rd->term, >=, n->term_seen);
	n->term_seen = rd->term;
	if (rd->role == RAFT_LEADER)
		H_ASSERT_OP(rd->leader, ==, id);

	/* 1. Persist: snapshot, entries, hard state. */
	if (rd->snapshot)
		h_install_snapshot(n, rd);
	h_persist_entries(n, rd);
	if (rd->hard_state_changed) {
		const struct raft_hard_state *hs = &rd->hard_state;

		H_ASSERT_OP(hs->term, >=, n->hs.term);
		H_ASSERT_OP(hs->term, <=, rd->term);
		/* Raft figure 2: at most one vote per term. */
		if (hs->term == n->hs.term && n->hs.vote != 0)
			H_ASSERT_MSG(hs->vote == n->hs.vote,
				     "node %llu changes its vote in term %llu "
				     "from %llu to %llu",
				     (unsigned long long)id,
				     (unsigned long long)hs->term,
				     (unsigned long long)n->hs.vote,
				     (unsigned long long)hs->vote);
		H_ASSERT_MSG(hs->commit >= n->hs.commit,
			     "node %llu commit goes back from %llu to %llu",
			     (unsigned long long)id,
			     (unsigned long long)n->hs.commit,
			     (unsigned long long)hs->commit);
		n->hs = *hs;
	}
	H_ASSERT_MSG(n->hs.commit <= h_log_last(n),
		     "node %llu commit %llu beyond its log %llu",
		     (unsigned long long)id, (unsigned long long)n->hs.commit,
		     (unsigned long long)h_log_last(n));

	/* 2. Send. */
	for (size_t i = 0; i < rd->n_messages; i++) {
		h_check_message(n, rd, &rd->messages[i]);
		h_queue_push(h, &rd->messages[i], n);
	}

	/* 3. Apply. */
	for (size_t i = 0; i < rd->n_committed; i++)
		h_apply(n, &rd->committed[i]);

	/* 4. Reads. */
	for (size_t i = 0; i < rd->n_reads; i++) {
		if (n->n_reads == n->cap_reads) {
			n->cap_reads = n->cap_reads ? 2 * n->cap_reads : 16;
			n->reads = h_xrealloc(n->reads, n->cap_reads *
							   sizeof(*n->reads));
		}
		n->reads[n->n_reads++] = rd->reads[i];
	}

	n->commit_seen = n->hs.commit;
	raft_advance(n->r, rd);
}

bool h_ready(struct harness *h, uint64_t id)
{
	struct h_node *n = h_node(h, id);
	struct raft_ready rd;

	if (n->r == NULL || !raft_has_ready(n->r))
		return false;
	memset(&rd, 0xa5, sizeof(rd));
	raft_ready(n->r, &rd);
	h_ready_process(h, id, &rd);
	return true;
}

void h_ready_all(struct harness *h)
{
	bool any;
	unsigned rounds = 0;

	do {
		any = false;
		for (uint64_t id = 1; id <= h->n; id++)
			while (h_ready(h, id)) {
				any = true;
				H_ASSERT_MSG(++rounds < 100000,
					     "Readies never end");
			}
	} while (any);
}

void h_tick(struct harness *h, uint64_t id, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		raft_tick(h_raft(h, id));
		h_ready_all(h);
	}
}

void h_tick_all(struct harness *h, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		for (uint64_t id = 1; id <= h->n; id++)
			if (h->nodes[id].r)
				raft_tick(h->nodes[id].r);
		h_ready_all(h);
	}
}

int h_step(struct harness *h, const struct raft_message *m)
{
	int rc = raft_step(h_raft(h, m->to), m);

	h_ready_all(h);
	return rc;
}

void h_remove_at(struct harness *h, size_t i)
{
	H_ASSERT_OP(i, <, h->n_queue);
	h_msg_free(&h->queue[i].m);
	memmove(&h->queue[i], &h->queue[i + 1],
		(h->n_queue - i - 1) * sizeof(*h->queue));
	h->n_queue--;
}

static struct raft_message h_take(struct harness *h, size_t i)
{
	struct raft_message m;

	H_ASSERT_OP(i, <, h->n_queue);
	m = h->queue[i].m;
	memmove(&h->queue[i], &h->queue[i + 1],
		(h->n_queue - i - 1) * sizeof(*h->queue));
	h->n_queue--;
	return m;
}

int h_deliver_at(struct harness *h, size_t i)
{
	struct raft_message m = h_take(h, i);
	int rc = 0;

	if (m.to >= 1 && m.to <= h->n && h->nodes[m.to].r) {
		rc = raft_step(h->nodes[m.to].r, &m);
		h->n_delivered++;
	} else {
		h->n_dropped++;
	}
	h_msg_free(&m);
	h_ready_all(h);
	return rc;
}

static bool h_dropped(const struct harness *h, const struct raft_message *m)
{
	if (m->to < 1 || m->to > h->n || h->nodes[m->to].r == NULL)
		return true;
	if (m->from >= 1 && m->from <= h->n && h->cut[m->from][m->to])
		return true;
	return h->filter && h->filter(h->filter_ctx, m);
}

size_t h_deliver_all(struct harness *h)
{
	size_t stepped = 0;

	for (;;) {
		struct raft_message m;
		int rc;

		h_ready_all(h);
		if (h->n_queue == 0)
			break;
		m = h_take(h, 0);
		if (h_dropped(h, &m)) {
			h->n_dropped++;
			h_msg_free(&m);
			continue;
		}
		rc = raft_step(h->nodes[m.to].r, &m);
		H_ASSERT_MSG(rc == 0 || rc == RAFT_ENOMEM,
			     "step of a %s from %llu to %llu: %s",
			     raft_msg_type_name(m.type),
			     (unsigned long long)m.from,
			     (unsigned long long)m.to, raft_strerror(rc));
		h_msg_free(&m);
		h->n_delivered++;
		H_ASSERT_MSG(++stepped < H_DELIVER_MAX, "messages never stop");
	}
	return stepped;
}

size_t h_deliver_types(struct harness *h, uint32_t mask)
{
	size_t stepped = 0;

	for (;;) {
		size_t i;

		h_ready_all(h);
		for (i = 0; i < h->n_queue; i++)
			if (h->queue[i].m.type < 32 &&
			    (mask & (1u << h->queue[i].m.type)))
				break;
		if (i == h->n_queue)
			break;
		if (h_dropped(h, &h->queue[i].m)) {
			h_remove_at(h, i);
			h->n_dropped++;
			continue;
		}
		h_deliver_at(h, i);
		H_ASSERT_MSG(++stepped < H_DELIVER_MAX, "messages never stop");
	}
	return stepped;
}

uint64_t h_run_until_leader(struct harness *h, uint64_t min_term,
			    unsigned max_ticks)
{
	for (unsigned t = 0; t < max_ticks; t++) {
		uint64_t l;

		h_tick_all(h, 1);
		h_deliver_all(h);
		l = h_leader(h);
		if (l != 0 && raft_term(h->nodes[l].r) > min_term)
			return l;
	}
	return 0;
}

static bool h_match(const struct raft_message *m, uint32_t type, uint64_t from,
		    uint64_t to)
{
	return (type == 0 || m->type == type) &&
	       (from == 0 || m->from == from) && (to == 0 || m->to == to);
}

long h_find(const struct harness *h, uint32_t type, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < h->n_queue; i++)
		if (h_match(&h->queue[i].m, type, from, to))
			return (long)i;
	return -1;
}

size_t h_count(const struct harness *h, uint32_t type, uint64_t from,
	       uint64_t to)
{
	size_t c = 0;

	for (size_t i = 0; i < h->n_queue; i++)
		if (h_match(&h->queue[i].m, type, from, to))
			c++;
	return c;
}

bool h_deliver_first(struct harness *h, uint32_t type, uint64_t from,
		     uint64_t to)
{
	long i = h_find(h, type, from, to);

	if (i < 0)
		return false;
	h_deliver_at(h, (size_t)i);
	return true;
}

size_t h_drop(struct harness *h, uint32_t type, uint64_t from, uint64_t to)
{
	size_t c = 0;

	for (size_t i = 0; i < h->n_queue;) {
		if (h_match(&h->queue[i].m, type, from, to)) {
			h_remove_at(h, i);
			c++;
		} else {
			i++;
		}
	}
	return c;
}

void h_isolate(struct harness *h, uint64_t id)
{
	for (uint64_t o = 1; o <= H_NODES_MAX; o++)
		if (o != id)
			h_cut(h, id, o);
}

void h_cut(struct harness *h, uint64_t a, uint64_t b)
{
	h->cut[a][b] = true;
	h->cut[b][a] = true;
}

void h_heal(struct harness *h)
{
	memset(h->cut, 0, sizeof(h->cut));
}

uint64_t h_leader(const struct harness *h)
{
	uint64_t best = 0, best_term = 0;

	for (uint64_t id = 1; id <= h->n; id++) {
		const struct raft *r = h->nodes[id].r;

		if (r && raft_is_leader(r) && raft_term(r) >= best_term) {
			best = id;
			best_term = raft_term(r);
		}
	}
	return best;
}

void h_settle(struct harness *h)
{
	uint64_t l;

	h_deliver_all(h);
	l = h_leader(h);
	if (l == 0)
		return;
	for (int round = 0; round < 3; round++) {
		if (h->nodes[l].r == NULL || !raft_is_leader(h->nodes[l].r))
			return;
		h_tick(h, l, h->nodes[l].cfg.heartbeat_ticks);
		h_deliver_all(h);
	}
}

void h_elect(struct harness *h, uint64_t id)
{
	struct raft *r = h_raft(h, id);
	unsigned limit = 4 * h->nodes[id].cfg.election_ticks + 4;
	unsigned i;

	for (i = 0; i < limit && raft_role(r) == RAFT_FOLLOWER; i++)
		h_tick(h, id, 1);
	H_ASSERT_MSG(raft_role(r) != RAFT_FOLLOWER,
		     "node %llu never campaigned", (unsigned long long)id);
	h_deliver_all(h);
	H_ASSERT_MSG(raft_is_leader(r), "node %llu lost its election (%s)",
		     (unsigned long long)id, raft_role_name(raft_role(r)));
	h_settle(h);
}

uint64_t h_propose(struct harness *h, uint64_t id, const char *s)
{
	uint64_t index = 0, term = 0;
	int rc = raft_propose(h_raft(h, id), s, strlen(s), &index, &term);

	H_ASSERT_MSG(rc == 0, "propose on %llu: %s", (unsigned long long)id,
		     raft_strerror(rc));
	H_ASSERT_OP(term, ==, raft_term(h_raft(h, id)));
	H_ASSERT_OP(index, ==, raft_last_index(h_raft(h, id)));
	h_ready_all(h);
	return index;
}

uint64_t h_commit(struct harness *h, uint64_t leader, const char *s)
{
	uint64_t index = h_propose(h, leader, s);
	const struct h_applied *a;

	h_deliver_all(h);
	a = h_applied_at(h_node(h, leader), index);
	H_ASSERT_MSG(a != NULL, "%s (index %llu) not applied on leader %llu", s,
		     (unsigned long long)index, (unsigned long long)leader);
	H_ASSERT_OP(a->len, ==, strlen(s));
	H_ASSERT(memcmp(a->data, s, a->len) == 0);
	return index;
}

int h_compact(struct harness *h, uint64_t id, uint64_t index)
{
	struct h_node *n = h_node(h, id);
	const struct raft_snapshot_meta *meta;
	uint8_t data[H_SNAP_LEN];
	uint64_t hash, count;
	int rc;

	rc = raft_compact(h_raft(h, id), index);
	if (rc != 0)
		return rc;
	meta = raft_snapshot(n->r);
	H_ASSERT(meta != NULL);
	H_ASSERT_OP(meta->index, ==, index);
	H_ASSERT_OP(meta->term, ==, h_log_term(n, index));
	/* The state machine as of index. */
	if (n->has_snap && n->snap.index == index) {
		uint64_t i2;

		h_snap_decode(n->snap_data, n->snap_len, &i2, &hash, &count);
	} else {
		const struct h_applied *a = h_applied_at(n, index);

		H_ASSERT_MSG(a != NULL, "compact at %llu: not applied here",
			     (unsigned long long)index);
		hash = a->hash;
		count = n->sm_count - (n->applied - index);
	}
	h_snap_encode(data, index, hash, count);
	/* Durable state: the snapshot replaces the log up to index. */
	{
		uint64_t first = (n->has_snap ? n->snap.index : 0) + 1;
		size_t drop = index >= first ? (size_t)(index - first + 1) : 0;

		if (drop > n->n_log)
			drop = n->n_log;
		for (size_t i = 0; i < drop; i++)
			free(n->log[i].data);
		memmove(n->log, n->log + drop,
			(n->n_log - drop) * sizeof(*n->log));
		n->n_log -= drop;
	}
	n->has_snap = true;
	n->snap = *meta;
	free(n->snap_data);
	n->snap_data = h_memdup(data, sizeof(data));
	n->snap_len = sizeof(data);
	return 0;
}

const struct h_applied *h_applied_at(const struct h_node *n, uint64_t index)
{
	uint64_t off;

	/* The history is contiguous (h_apply checks it). */
	if (n->n_hist == 0 || index < n->hist[0].index)
		return NULL;
	off = index - n->hist[0].index;
	if (off >= n->n_hist)
		return NULL;
	H_ASSERT_OP(n->hist[off].index, ==, index);
	return &n->hist[off];
}

bool h_applied_data(const struct h_node *n, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < n->n_hist; i++)
		if (n->hist[i].len == len &&
		    (len == 0 || memcmp(n->hist[i].data, s, len) == 0))
			return true;
	return false;
}

static void h_check_pair(const struct h_node *a, const struct h_node *b)
{
	uint64_t last = h_log_last(a) < h_log_last(b) ? h_log_last(a) :
							 h_log_last(b);
	uint64_t match = 0;

	/* Log matching: find the highest index where the terms agree; all
	 * entries below it that both still hold must be identical. */
	for (uint64_t i = last; i >= 1; i--) {
		const struct raft_entry *x = h_log_at(a, i);
		const struct raft_entry *y = h_log_at(b, i);

		if (x && y && x->term == y->term) {
			match = i;
			break;
		}
	}
	for (uint64_t i = 1; i <= match; i++) {
		const struct raft_entry *x = h_log_at(a, i);
		const struct raft_entry *y = h_log_at(b, i);

		if (!x || !y)
			continue;
		H_ASSERT_MSG(x->term == y->term && x->len == y->len &&
				     (x->len == 0 ||
				      memcmp(x->data, y->data, x->len) == 0),
			     "log matching violated at %llu between %llu "
			     "and %llu",
			     (unsigned long long)i, (unsigned long long)a->id,
			     (unsigned long long)b->id);
	}
	/* State machine safety. */
	for (size_t i = 0; i < a->n_hist; i++) {
		const struct h_applied *x = &a->hist[i];
		const struct h_applied *y = h_applied_at(b, x->index);

		if (!y)
			continue;
		H_ASSERT_MSG(x->term == y->term && x->hash == y->hash,
			     "nodes %llu and %llu applied different entries "
			     "at %llu",
			     (unsigned long long)a->id,
			     (unsigned long long)b->id,
			     (unsigned long long)x->index);
	}
}

void h_check_safety(const struct harness *h)
{
	for (uint64_t i = 1; i <= h->n; i++)
		for (uint64_t j = i + 1; j <= h->n; j++)
			h_check_pair(&h->nodes[i], &h->nodes[j]);
}

size_t h_reads_with(const struct h_node *n, uint64_t context,
		    uint64_t *index)
{
	size_t c = 0;

	for (size_t i = 0; i < n->n_reads; i++)
		if (n->reads[i].context == context) {
			c++;
			if (index)
				*index = n->reads[i].index;
		}
	return c;
}

/* The counting allocator keeps the size in front of every block. */
#define H_ALLOC_HDR 16

static bool h_alloc_fail(struct h_alloc *al)
{
	al->calls++;
	if (al->fail_at != 0 &&
	    (al->calls == al->fail_at ||
	     (al->fail_after && al->calls > al->fail_at))) {
		al->failed++;
		return true;
	}
	return false;
}

static void *h_alloc_malloc(void *ctx, size_t size)
{
	struct h_alloc *al = ctx;
	char *p;

	if (h_alloc_fail(al))
		return NULL;
	p = malloc(size + H_ALLOC_HDR);
	if (p == NULL)
		return NULL;
	al->live++;
	return p + H_ALLOC_HDR;
}

static void *h_alloc_realloc(void *ctx, void *ptr, size_t size)
{
	struct h_alloc *al = ctx;
	char *p;

	if (ptr == NULL)
		return h_alloc_malloc(ctx, size);
	if (h_alloc_fail(al))
		return NULL;
	p = realloc((char *)ptr - H_ALLOC_HDR, size + H_ALLOC_HDR);
	if (p == NULL)
		return NULL;
	return p + H_ALLOC_HDR;
}

static void h_alloc_free(void *ctx, void *ptr)
{
	struct h_alloc *al = ctx;

	if (ptr == NULL)
		return;
	al->live--;
	free((char *)ptr - H_ALLOC_HDR);
}

void h_alloc_init(struct h_alloc *al)
{
	memset(al, 0, sizeof(*al));
	al->a.malloc = h_alloc_malloc;
	al->a.realloc = h_alloc_realloc;
	al->a.free = h_alloc_free;
	al->a.ctx = al;
}

struct raft_message h_msg_make(uint32_t type, uint64_t from, uint64_t to,
			       uint64_t term)
{
	struct raft_message m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.to = to;
	m.term = term;
	return m;
}
