/*
 * tests/unit/test_node.c: coordd/node.c -- the Ready loop over raft,
 * store (LevelDB in mktemp dirs) and fsm -- driven as a cluster of nodes
 * in one process with an in-memory transport: proposals complete with the
 * fsm's reply, linearizable reads wait for the read index, a restarted
 * node recovers, a node behind the compacted log catches up by a snapshot
 * streamed in chunks, and every node converges to the same state hash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/node.h"
#include "coordd/store/store.h"
#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/msg.h"

#define N_MAX 5
#define Q_MAX 65536

struct qmsg {
	struct raft_message m;
	uint8_t **datas;
};

struct cluster {
	size_t n;
	char *dirs[N_MAX + 1];
	struct node *nodes[N_MAX + 1];
	bool cut[N_MAX + 1];
	struct qmsg *q;
	size_t nq;
	uint64_t voters[N_MAX];
	uint64_t snapshot_entries;
	/* transport.flush: at its first call while watch_index != 0, the
	 * APPENDs queued from watch_node that carry watch_index, and that
	 * node's last index on disk. */
	uint64_t watch_node, watch_index;
	size_t flushes;
	size_t appends_at_flush;
	uint64_t stored_at_flush;
	/* node_config.on_applied: entries applied, and of those, applied
	 * on a node whose log did not hold them yet (must stay 0). */
	struct node_ref {
		struct cluster *c;
		uint64_t id;
	} refs[N_MAX + 1];
	size_t applies;
	size_t applied_unstored;
	/* node_config.replies_flush: calls, and watch_node's last index
	 * on disk at the first call from watch_node while watch_index != 0. */
	size_t replies_flushes;
	uint64_t stored_at_replies;
	/* node_config.async_log: leaders write on the store's writer
	 * thread; cl_deliver() waits for those writes and reports them
	 * (node_log_progress()), except on a node held. durable: the last
	 * index reported so; applied_undurable: entries a node applied
	 * above it while it was leader (must stay 0). */
	bool async;
	bool hold[N_MAX + 1];
	uint64_t durable[N_MAX + 1];
	size_t applied_undurable;
};

static struct cluster *g_cl;   /* the transport's context */

static char *dir_new(void)
{
	char tmpl[] = "/tmp/coord-node-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

static void dir_free(char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	ck_assert_int_eq(system(cmd), 0);
	free(d);
}

/* The transport: copies the message, and streams the snapshot's chunks
 * ahead of a RAFT_MSG_SNAPSHOT straight into the receiver. */
static void t_send(void *ctx, const struct raft_message *m)
{
	struct cluster *c = ctx;
	struct qmsg *q;

	if (c->cut[m->from] || c->cut[m->to] || c->nodes[m->to] == NULL)
		return;
	ck_assert_uint_lt(c->nq, Q_MAX);
	q = &c->q[c->nq++];
	q->m = *m;
	q->datas = NULL;
	if (m->n_entries > 0) {
		struct raft_entry *e = calloc(m->n_entries, sizeof(*e));

		for (size_t i = 0; i < m->n_entries; i++) {
			e[i] = m->entries[i];
			e[i].data = malloc(e[i].len + 1);
			if (e[i].len > 0)
				memcpy(e[i].data, m->entries[i].data,
				       e[i].len);
		}
		q->m.entries = e;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		struct store_snapshot_reader *r;
		struct node *from = c->nodes[m->from];
		struct node *to = c->nodes[m->to];
		bool last = false;

		ck_assert_int_eq(store_snapshot_reader_new(node_store(from), &r),
				 COORD_OK);
		ck_assert_uint_eq(store_snapshot_reader_meta(r)->index,
				  m->snapshot.index);
		uint64_t off = 0;

		while (!last) {
			const uint8_t *chunk;
			size_t len;
			struct node_chunk ch;

			ck_assert_int_eq(store_snapshot_reader_next_chunk(
						 r, &chunk, &len, &last),
					 COORD_OK);
			ch.from = m->from;
			ch.index = m->snapshot.index;
			ch.term = m->snapshot.term;
			ch.offset = off;
			ch.data = chunk;
			ch.len = len;
			ch.last = last;
			ck_assert_int_eq(node_snapshot_chunk(to, &ch), COORD_OK);
			off += len;
		}
		store_snapshot_reader_free(r);
		node_snapshot_sent(from, m->to, true);
	}
}

static void q_free(struct qmsg *q)
{
	for (size_t i = 0; i < q->m.n_entries; i++)
		free(q->m.entries[i].data);
	free(q->m.entries);
}

static void t_flush(void *ctx)
{
	struct cluster *c = ctx;

	if (c->watch_index == 0 || c->flushes++ > 0)
		return;
	for (size_t i = 0; i < c->nq; i++) {
		const struct raft_message *m = &c->q[i].m;

		if (m->from == c->watch_node && m->type == RAFT_MSG_APPEND &&
		    m->index < c->watch_index &&
		    m->index + m->n_entries >= c->watch_index)
			c->appends_at_flush++;
	}
	c->stored_at_flush = store_last_index(node_store(c->nodes[c->watch_node]));
}

static uint64_t stored_last(struct cluster *c, uint64_t id)
{
	return store_last_index(node_store(c->nodes[id]));
}

static void t_applied(void *ctx, uint64_t index,
		      const struct fsm_entry_result *r)
{
	struct node_ref *ref = ctx;
	struct cluster *c = ref->c;

	(void)r;
	if (c->nodes[ref->id] == NULL)
		return;
	c->applies++;
	if (index > stored_last(c, ref->id))
		c->applied_unstored++;
	if (c->async && raft_is_leader(node_raft(c->nodes[ref->id])) &&
	    index > c->durable[ref->id])
		c->applied_undurable++;
}

static void t_replies_flush(void *ctx)
{
	struct node_ref *ref = ctx;
	struct cluster *c = ref->c;

	if (c->watch_index != 0 && ref->id == c->watch_node &&
	    c->replies_flushes++ == 0)
		c->stored_at_replies = stored_last(c, ref->id);
}

/* Warnings and errors only, so that a failing test's output is short. */
static void t_log(void *ctx, enum node_log_level level, const char *msg)
{
	(void)ctx;
	if (level >= NODE_LOG_WARN)
		fprintf(stderr, "node: %s\n", msg);
}

static void node_start(struct cluster *c, uint64_t id)
{
	struct node_config cfg;
	char err[512];
	char name[16];

	snprintf(name, sizeof(name), "n%llu", (unsigned long long)id);
	node_config_default(&cfg);
	cfg.name = name;
	cfg.id = id;
	cfg.data_dir = c->dirs[id];
	cfg.voters = c->voters;
	cfg.n_voters = c->n;
	cfg.seed = id * 7919;
	cfg.snapshot_entries = c->snapshot_entries;
	cfg.transport.send = t_send;
	cfg.transport.flush = t_flush;
	cfg.transport.ctx = c;
	cfg.async_log = c->async;
	c->refs[id].c = c;
	c->refs[id].id = id;
	cfg.on_applied = t_applied;
	cfg.replies_flush = t_replies_flush;
	cfg.applied_ctx = &c->refs[id];
	cfg.log = t_log;
	ck_assert_msg(node_open(&cfg, &c->nodes[id], err, sizeof(err)) ==
			      COORD_OK,
		      "node_open: %s", err);
	c->durable[id] = stored_last(c, id);
}

static void cl_init_async(struct cluster *c, size_t n,
			  uint64_t snapshot_entries, bool async)
{
	memset(c, 0, sizeof(*c));
	c->async = async;
	c->n = n;
	c->snapshot_entries = snapshot_entries;
	c->q = calloc(Q_MAX, sizeof(*c->q));
	for (size_t i = 0; i < n; i++)
		c->voters[i] = i + 1;
	for (uint64_t id = 1; id <= n; id++) {
		c->dirs[id] = dir_new();
		node_start(c, id);
	}
	g_cl = c;
}

static void cl_init(struct cluster *c, size_t n, uint64_t snapshot_entries)
{
	cl_init_async(c, n, snapshot_entries, false);
}

/* The leaders' background writes, waited for and reported (but not a
 * held node's): true when that gave some node more to do. */
static bool cl_log_progress(struct cluster *c)
{
	bool more = false;

	for (uint64_t id = 1; id <= c->n && c->async; id++) {
		struct node *n = c->nodes[id];

		if (n == NULL || c->hold[id])
			continue;
		ck_assert_int_eq(store_log_drain(node_store(n)), COORD_OK);
		c->durable[id] = stored_last(c, id);
		ck_assert_int_eq(node_log_progress(n), COORD_OK);
		more = more || node_has_ready(n);
	}
	return more;
}

static void cl_close(struct cluster *c)
{
	for (size_t i = 0; i < c->nq; i++)
		q_free(&c->q[i]);
	for (uint64_t id = 1; id <= c->n; id++) {
		node_close(c->nodes[id]);
		dir_free(c->dirs[id]);
	}
	free(c->q);
}

static void cl_flush(struct cluster *c)
{
	for (uint64_t id = 1; id <= c->n; id++) {
		if (c->nodes[id] == NULL)
			continue;
		ck_assert_int_eq(node_flush(c->nodes[id]), COORD_OK);
		/* Any other Ready is written before node_flush() returns,
		 * after the background writes before it. */
		if (!raft_is_leader(node_raft(c->nodes[id])))
			c->durable[id] = stored_last(c, id);
	}
}

/* Delivers everything queued (and what it causes). */
static void cl_deliver(struct cluster *c)
{
	cl_flush(c);
	while (c->nq > 0 || cl_log_progress(c)) {
		size_t n = c->nq;
		struct qmsg *batch = malloc(n * sizeof(*batch));

		memcpy(batch, c->q, n * sizeof(*batch));
		c->nq = 0;
		for (size_t i = 0; i < n; i++) {
			struct node *to = c->nodes[batch[i].m.to];

			if (to != NULL && !c->cut[batch[i].m.to])
				node_step(to, &batch[i].m);
			q_free(&batch[i]);
		}
		free(batch);
		cl_flush(c);
	}
}

static void cl_tick(struct cluster *c, unsigned times)
{
	for (unsigned t = 0; t < times; t++) {
		for (uint64_t id = 1; id <= c->n; id++)
			if (c->nodes[id] != NULL && !c->cut[id])
				node_tick(c->nodes[id]);
		cl_deliver(c);
	}
}

static uint64_t cl_leader(struct cluster *c)
{
	for (int t = 0; t < 400; t++) {
		for (uint64_t id = 1; id <= c->n; id++)
			if (c->nodes[id] != NULL && !c->cut[id] &&
			    raft_is_leader(node_raft(c->nodes[id])))
				return id;
		cl_tick(c, 1);
	}
	ck_abort_msg("no leader");
	return 0;
}

struct done {
	int calls;
	int code;
	uint64_t stored_at_done;    /* g_cl's watch_node's log, when called */
	struct proto_reply reply;
	struct proto_arena arena;
	uint8_t bytes[4096];
};

static void on_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct done *d = ctx;

	d->calls++;
	d->code = code;
	if (g_cl != NULL && g_cl->watch_node != 0)
		d->stored_at_done = stored_last(g_cl, g_cl->watch_node);
	if (reply != NULL) {
		ck_assert_uint_le(len, sizeof(d->bytes));
		memcpy(d->bytes, reply, len);
		proto_arena_init(&d->arena, NULL);
		ck_assert_int_eq(proto_reply_decode(d->bytes, len, &d->arena,
						    &d->reply),
				 COORD_OK);
	}
}

static void done_close(struct done *d)
{
	if (d->calls > 0 && d->code == COORD_OK && d->reply.type != 0)
		proto_arena_close(&d->arena);
}

static int propose_put(struct cluster *c, uint64_t id, const char *key,
		       const char *value, struct node_waiter *w,
		       struct done *d)
{
	struct proto_entry en;
	struct proto_buf b;
	int rc;

	memset(&en, 0, sizeof(en));
	en.cmd.type = PROTO_CMD_PUT;
	en.cmd.u.put.key = proto_bytes_make(key, strlen(key));
	en.cmd.u.put.value = proto_bytes_make(value, strlen(value));
	proto_buf_init(&b, NULL);
	ck_assert_int_eq(proto_entry_encode(&en, &b), COORD_OK);
	memset(d, 0, sizeof(*d));
	rc = node_propose(c->nodes[id], b.data, b.len, w, on_done, d);
	proto_buf_close(&b);
	return rc;
}

/* n puts k000, k001, ... = "v" on node id, each to succeed. */
static void propose_keys(struct cluster *c, uint64_t id, int n,
			 struct node_waiter *w, struct done *d)
{
	char key[16];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		ck_assert_int_eq(propose_put(c, id, key, "v", &w[i], &d[i]),
				 COORD_OK);
	}
}

/* The value of key on node id (a serializable read of its fsm). */
static bool get(struct cluster *c, uint64_t id, const char *key, char *out)
{
	struct proto_range rq;
	struct proto_reply rp;

	memset(&rq, 0, sizeof(rq));
	rq.key = proto_bytes_make(key, strlen(key));
	ck_assert_int_eq(fsm_range(node_fsm(c->nodes[id]), &rq, &rp),
			 COORD_OK);
	if (rp.u.range.n_kvs == 0)
		return false;
	memcpy(out, rp.u.range.kvs[0].value.data,
	       rp.u.range.kvs[0].value.len);
	out[rp.u.range.kvs[0].value.len] = '\0';
	return true;
}

static uint64_t hash_of(struct cluster *c, uint64_t id)
{
	uint64_t h;

	ck_assert_int_eq(fsm_hash(node_fsm(c->nodes[id]), &h), COORD_OK);
	return h;
}

static void assert_converged(struct cluster *c)
{
	uint64_t h1 = hash_of(c, 1);

	for (uint64_t id = 2; id <= c->n; id++) {
		ck_assert_uint_eq(fsm_revision(node_fsm(c->nodes[id])),
				  fsm_revision(node_fsm(c->nodes[1])));
		ck_assert_uint_eq(hash_of(c, id), h1);
	}
}

START_TEST(proposal_completes_with_fsm_reply_on_every_node)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	char v[64];
	uint64_t l;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	ck_assert_int_eq(propose_put(&c, l, "k", "v1", &w, &d), COORD_OK);
	ck_assert_int_eq(d.calls, 0);
	cl_deliver(&c);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.code, COORD_OK);
	ck_assert_int_eq(d.reply.type, PROTO_CMD_PUT);
	ck_assert_int_eq(d.reply.code, COORD_OK);
	ck_assert_uint_eq(d.reply.revision, 1);
	done_close(&d);
	cl_tick(&c, 2);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert(get(&c, id, "k", v));
		ck_assert_str_eq(v, "v1");
	}
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

/* The leader's appends are put on the wire (transport.flush) before its
 * own disk write, so that the followers' writes run beside it: at the
 * first flush of the Ready, an APPEND carrying the new entry is queued
 * to each follower and the leader's log does not hold it yet. */
START_TEST(leader_appends_leave_before_its_own_write)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	ck_assert_int_eq(propose_put(&c, l, "k", "v1", &w, &d), COORD_OK);
	c.watch_node = l;
	c.watch_index = w.index;
	ck_assert_int_eq(node_flush(c.nodes[l]), COORD_OK);
	ck_assert_uint_gt(c.flushes, 0);
	ck_assert_uint_eq(c.appends_at_flush, 2);
	ck_assert_uint_lt(c.stored_at_flush, w.index);
	ck_assert_uint_ge(store_last_index(node_store(c.nodes[l])), w.index);
	c.watch_index = 0;
	cl_deliver(&c);
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.code, COORD_OK);
	done_close(&d);
	cl_close(&c);
}
END_TEST

/* Steps what is queued into its receivers, without flushing them. */
static void cl_step_queued(struct cluster *c)
{
	size_t n = c->nq;
	struct qmsg *batch = malloc(n * sizeof(*batch));

	memcpy(batch, c->q, n * sizeof(*batch));
	c->nq = 0;
	for (size_t i = 0; i < n; i++) {
		if (c->nodes[batch[i].m.to] != NULL && !c->cut[batch[i].m.to])
			node_step(c->nodes[batch[i].m.to], &batch[i].m);
		q_free(&batch[i]);
	}
	free(batch);
}

/* A Ready that commits k1 and brings k2 to write: k1's proposal
 * completes, and replies_flush() puts its reply on the wire, before k2
 * is written -- the reply does not wait for an unrelated fsync. */
START_TEST(committed_reply_leaves_before_the_next_write)
{
	struct cluster c;
	struct node_waiter w1, w2;
	struct done d1, d2;
	uint64_t l;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	cl_deliver(&c);
	ck_assert_int_eq(propose_put(&c, l, "k1", "v1", &w1, &d1), COORD_OK);
	ck_assert_int_eq(node_flush(c.nodes[l]), COORD_OK);
	/* The followers store k1 and acknowledge; the leader hears them. */
	cl_step_queued(&c);
	for (uint64_t id = 1; id <= 3; id++)
		if (id != l)
			ck_assert_int_eq(node_flush(c.nodes[id]), COORD_OK);
	cl_step_queued(&c);
	ck_assert_int_eq(d1.calls, 0);
	ck_assert_int_eq(propose_put(&c, l, "k2", "v2", &w2, &d2), COORD_OK);
	c.watch_node = l;
	c.watch_index = w2.index;
	ck_assert_int_eq(node_flush(c.nodes[l]), COORD_OK);
	ck_assert_int_eq(d1.calls, 1);
	ck_assert_int_eq(d1.code, COORD_OK);
	ck_assert_uint_lt(d1.stored_at_done, w2.index);
	ck_assert_uint_gt(c.replies_flushes, 0);
	ck_assert_uint_lt(c.stored_at_replies, w2.index);
	ck_assert_uint_ge(stored_last(&c, l), w2.index);
	c.watch_node = 0;
	c.watch_index = 0;
	cl_deliver(&c);
	ck_assert_int_eq(d2.calls, 1);
	ck_assert_int_eq(d2.code, COORD_OK);
	done_close(&d1);
	done_close(&d2);
	ck_assert_uint_eq(c.applied_unstored, 0);
	cl_close(&c);
}
END_TEST

/* A follower that learns entries and their commit in one APPEND (it was
 * cut off while they committed) applies none of them before its own
 * log holds them: on_applied never sees an index past the stored log. */
START_TEST(follower_applies_only_what_its_log_holds)
{
	struct cluster c;
	static struct node_waiter w[8];
	static struct done d[8];
	uint64_t l, f;
	char v[64];

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	f = l == 3 ? 2 : 3;
	c.cut[f] = true;
	propose_keys(&c, l, 8, w, d);
	cl_deliver(&c);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(d[i].calls, 1);
		done_close(&d[i]);
	}
	ck_assert(!get(&c, f, "k007", v));
	c.applies = 0;
	c.cut[f] = false;
	cl_tick(&c, 5);
	ck_assert(get(&c, f, "k007", v));
	ck_assert_uint_ge(c.applies, 8);
	ck_assert_uint_eq(c.applied_unstored, 0);
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

START_TEST(follower_refuses_proposal)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l, f;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	f = l == 1 ? 2 : 1;
	ck_assert_int_eq(propose_put(&c, f, "k", "v", &w, &d),
			 COORD_ENOTLEADER);
	ck_assert_int_eq(d.calls, 0);
	cl_close(&c);
}
END_TEST

START_TEST(many_proposals_share_one_ready)
{
	struct cluster c;
	static struct node_waiter w[200];
	static struct done d[200];
	uint64_t l;
	const struct node_stats *st;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	propose_keys(&c, l, 200, w, d);
	st = node_stats(c.nodes[l]);
	cl_deliver(&c);
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(d[i].calls, 1);
		ck_assert_int_eq(d[i].code, COORD_OK);
		ck_assert_uint_eq(d[i].reply.revision, (uint64_t)i + 1);
		done_close(&d[i]);
	}
	/* Group commit: the 200 proposals went to disk together. */
	ck_assert_uint_ge(st->ready_batch_max, 200);
	cl_close(&c);
}
END_TEST

/* /metrics' fsyncs are the store's synced writes: a Ready that only
 * moves the commit index writes nothing and is not counted. */
START_TEST(fsyncs_counted_are_the_stores_writes)
{
	struct cluster c;
	static struct node_waiter w[20];
	static struct done d[20];
	uint64_t l, f0[4], s0[4], r0[4];

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	for (int i = 1; i <= 3; i++) {
		f0[i] = node_stats(c.nodes[i])->fsyncs;
		r0[i] = node_stats(c.nodes[i])->readies;
		s0[i] = store_log_syncs(node_store(c.nodes[i]));
	}
	for (int i = 0; i < 20; i++) {
		propose_keys(&c, l, 1, &w[i], &d[i]);
		cl_deliver(&c);
	}
	for (int i = 1; i <= 3; i++) {
		const struct node_stats *st = node_stats(c.nodes[i]);
		uint64_t syncs = store_log_syncs(node_store(c.nodes[i])) - s0[i];

		ck_assert_uint_ge(syncs, 20);
		ck_assert_uint_eq(st->fsyncs - f0[i], syncs);
		/* Readies that only carried the commit index went by. */
		ck_assert_uint_gt(st->readies - r0[i], syncs);
	}
	for (int i = 0; i < 20; i++)
		done_close(&d[i]);
	cl_close(&c);
}
END_TEST

START_TEST(read_waits_for_read_index_on_leader_and_follower)
{
	struct cluster c;
	struct node_waiter wp, wr1, wr2;
	struct done dp, dr1, dr2;
	uint64_t l, f;
	char v[64];

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	f = l == 1 ? 2 : 1;
	ck_assert_int_eq(propose_put(&c, l, "k", "v", &wp, &dp), COORD_OK);
	cl_deliver(&c);
	ck_assert_int_eq(dp.code, COORD_OK);
	done_close(&dp);
	memset(&dr1, 0, sizeof(dr1));
	memset(&dr2, 0, sizeof(dr2));
	node_read(c.nodes[l], &wr1, on_done, &dr1);
	node_read(c.nodes[f], &wr2, on_done, &dr2);
	ck_assert_int_eq(dr1.calls + dr2.calls, 0);
	cl_deliver(&c);
	cl_tick(&c, 2);
	ck_assert_int_eq(dr1.calls, 1);
	ck_assert_int_eq(dr1.code, COORD_OK);
	ck_assert_int_eq(dr2.calls, 1);
	ck_assert_int_eq(dr2.code, COORD_OK);
	/* Served after the write: both see it. */
	ck_assert(get(&c, l, "k", v));
	ck_assert(get(&c, f, "k", v));
	cl_close(&c);
}
END_TEST

START_TEST(read_on_isolated_node_times_out)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	for (uint64_t id = 1; id <= 3; id++)
		if (id != l)
			c.cut[id] = true;
	memset(&d, 0, sizeof(d));
	node_read(c.nodes[l], &w, on_done, &d);
	for (int t = 0; t < 60 && d.calls == 0; t++) {
		node_tick(c.nodes[l]);
		cl_flush(&c);
	}
	ck_assert_int_eq(d.calls, 1);
	ck_assert_int_eq(d.code, COORD_ENOTLEADER);
	cl_close(&c);
}
END_TEST

START_TEST(cancelled_waiter_is_never_called)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l;

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	ck_assert_int_eq(propose_put(&c, l, "k", "v", &w, &d), COORD_OK);
	node_waiter_cancel(c.nodes[l], &w);
	cl_deliver(&c);
	ck_assert_int_eq(d.calls, 0);
	cl_close(&c);
}
END_TEST

START_TEST(restarted_node_recovers_and_converges)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l, f;
	char key[16];

	cl_init(&c, 3, 10000);
	l = cl_leader(&c);
	f = l == 3 ? 2 : 3;
	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(propose_put(&c, l, key, "v", &w, &d),
				 COORD_OK);
		cl_deliver(&c);
		ck_assert_int_eq(d.code, COORD_OK);
		done_close(&d);
	}
	node_close(c.nodes[f]);
	c.nodes[f] = NULL;
	for (int i = 20; i < 30; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(propose_put(&c, l, key, "v", &w, &d),
				 COORD_OK);
		cl_deliver(&c);
		done_close(&d);
	}
	node_start(&c, f);
	ck_assert_uint_eq(fsm_revision(node_fsm(c.nodes[f])), 20);
	cl_tick(&c, 20);
	assert_converged(&c);
	ck_assert_uint_eq(fsm_revision(node_fsm(c.nodes[f])), 30);
	cl_close(&c);
}
END_TEST

START_TEST(node_behind_compacted_log_catches_up_by_snapshot)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l, f;
	char key[16];

	cl_init(&c, 3, 16);
	l = cl_leader(&c);
	f = l == 3 ? 2 : 3;
	c.cut[f] = true;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(propose_put(&c, l, key, "value", &w, &d),
				 COORD_OK);
		cl_deliver(&c);
		ck_assert_int_eq(d.code, COORD_OK);
		done_close(&d);
	}
	ck_assert_uint_ge(node_stats(c.nodes[l])->snapshots_made, 1);
	ck_assert_uint_gt(raft_first_index(node_raft(c.nodes[l])), 20);
	c.cut[f] = false;
	cl_tick(&c, 30);
	ck_assert_uint_eq(node_stats(c.nodes[f])->snapshots_installed, 1);
	assert_converged(&c);
	/* It follows new writes, and survives a restart. */
	ck_assert_int_eq(propose_put(&c, l, "after", "x", &w, &d), COORD_OK);
	cl_deliver(&c);
	done_close(&d);
	cl_tick(&c, 3);
	node_close(c.nodes[f]);
	c.nodes[f] = NULL;
	node_start(&c, f);
	cl_tick(&c, 5);
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

/* A RAFT_MSG_SNAPSHOT whose data did not arrive whole is ignored (the
 * node does not install a snapshot it cannot fill), and a chunk that does
 * not continue the staged stream is refused. */
START_TEST(snapshot_without_its_data_is_ignored)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	struct raft_message m;
	struct node_chunk ch;
	uint64_t l, f;
	char key[16];

	cl_init(&c, 3, 16);
	l = cl_leader(&c);
	f = l == 3 ? 2 : 3;
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(propose_put(&c, l, key, "v", &w, &d), COORD_OK);
		cl_deliver(&c);
		done_close(&d);
	}
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = l;
	m.to = f;
	m.term = raft_term(node_raft(c.nodes[l]));
	m.snapshot = *raft_snapshot(node_raft(c.nodes[l]));
	m.snapshot.index += 100;   /* ahead of the follower: raft would take it */
	ck_assert_int_eq(node_step(c.nodes[f], &m), COORD_OK);
	ck_assert_int_eq(node_flush(c.nodes[f]), COORD_OK);
	ck_assert_uint_eq(node_stats(c.nodes[f])->snapshots_installed, 0);
	memset(&ch, 0, sizeof(ch));
	ch.from = l;
	ch.index = m.snapshot.index;
	ch.term = m.term;
	ch.offset = 4096;
	ch.data = (const uint8_t *)"x";
	ch.len = 1;
	ck_assert_int_eq(node_snapshot_chunk(c.nodes[f], &ch), COORD_EMALFORMED);
	/* The cluster is unharmed. */
	cl_tick(&c, 5);
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

/* A new stream (offset 0) arriving after a SNAPSHOT was stepped but
 * before the Ready that installs it is refused: Raft's pending snapshot
 * installs the staging it was checked against (found by review: the
 * replaced staging made the store refuse the install and the node stop). */
START_TEST(restream_between_snapshot_step_and_ready)
{
	struct cluster c;
	struct node_waiter w;
	struct done d;
	uint64_t l, f;
	char key[16];
	int rc = COORD_OK;
	bool seen = false;

	cl_init(&c, 3, 16);
	l = cl_leader(&c);
	f = l == 3 ? 2 : 3;
	c.cut[f] = true;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(propose_put(&c, l, key, "value", &w, &d), COORD_OK);
		cl_deliver(&c);
		done_close(&d);
	}
	c.cut[f] = false;
	for (int t = 0; t < 60 && !seen; t++) {
		for (uint64_t id = 1; id <= c.n; id++)
			node_tick(c.nodes[id]);
		cl_flush(&c);
		while (c.nq > 0 && !seen) {
			size_t n = c.nq;
			struct qmsg *batch = malloc(n * sizeof(*batch));

			memcpy(batch, c.q, n * sizeof(*batch));
			c.nq = 0;
			for (size_t i = 0; i < n; i++) {
				struct node *to = c.nodes[batch[i].m.to];

				node_step(to, &batch[i].m);
				if (batch[i].m.type == RAFT_MSG_SNAPSHOT && batch[i].m.to == f && !seen) {
					struct store_snapshot_reader *r;
					const uint8_t *chunk;
					size_t len;
					bool last;
					struct node_chunk ch;

					seen = true;
					{	/* the leader moves on and compacts
						 * again; n_f is not flushed */
						struct node *nf = c.nodes[f];
						c.nodes[f] = NULL;
						for (int k = 0; k < 40; k++) {
							snprintf(key, sizeof(key), "z%d", k);
							ck_assert_int_eq(propose_put(&c, l, key, "value", &w, &d), COORD_OK);
							cl_deliver(&c);
							done_close(&d);
						}
						c.nodes[f] = nf;
					}
					ck_assert_int_eq(store_snapshot_reader_new(node_store(c.nodes[l]), &r), COORD_OK);
					ck_assert_int_eq(store_snapshot_reader_next_chunk(r, &chunk, &len, &last), COORD_OK);
					ch.from = l;
					ch.index = store_snapshot_reader_meta(r)->index;
					ch.term = store_snapshot_reader_meta(r)->term;
					ch.offset = 0;
					ch.data = chunk;
					ch.len = len;
					ch.last = false;
					/* Refused: the stepped snapshot keeps
					 * its staging until its Ready. */
					ck_assert_int_eq(node_snapshot_chunk(c.nodes[f], &ch),
							 COORD_EMALFORMED);
					store_snapshot_reader_free(r);
					rc = node_flush(c.nodes[f]);
				}
				q_free(&batch[i]);
			}
			free(batch);
			if (!seen)
				cl_flush(&c);
		}
	}
	ck_assert_msg(seen, "no snapshot was sent");
	ck_assert_msg(rc == COORD_OK, "node_flush failed: %s", coord_strerror(rc));
	ck_assert_uint_eq(node_stats(c.nodes[f])->snapshots_installed, 1);
	cl_tick(&c, 10);
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

/*
 * async_log (node.h; raft.h persist_async): the leader's entry commits
 * on its followers' acknowledgements while its own write is not
 * reported, but the leader applies it -- and completes the request --
 * only once node_log_progress() says it is durable there. No node ever
 * applies, as leader, an entry above what it knew durable.
 */
START_TEST(async_leader_applies_what_its_log_holds)
{
	struct cluster c;
	static struct node_waiter w[8];
	static struct done d[8];
	uint64_t l;

	cl_init_async(&c, 3, 10000, true);
	l = cl_leader(&c);
	ck_assert_int_ge(node_log_notify_fd(c.nodes[l]), 0);
	c.hold[l] = true;
	propose_keys(&c, l, 8, w, d);
	cl_deliver(&c);
	ck_assert_uint_ge(raft_commit_index(node_raft(c.nodes[l])),
			  raft_last_index(node_raft(c.nodes[l])));
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(d[i].calls, 0);
	c.hold[l] = false;
	cl_deliver(&c);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(d[i].calls, 1);
		ck_assert_int_eq(d[i].code, COORD_OK);
		done_close(&d[i]);
	}
	cl_tick(&c, 2);
	ck_assert_uint_eq(c.applied_undurable, 0);
	ck_assert_uint_eq(c.applied_unstored, 0);
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

/* A leader with writes queued and unreported that loses its leadership
 * (cut off; a new leader elected) and then hears the new term: its next
 * Ready is a follower's, written after the queued ones; the cluster
 * converges, and a restart of every node keeps every acknowledged
 * write. Without async_log: no notify descriptor. */
START_TEST(async_leader_steps_down_with_writes_queued)
{
	struct cluster c, plain;
	static struct node_waiter w[16];
	static struct done d[16];
	uint64_t l, l2;
	char v[64];

	cl_init(&plain, 1, 10000);
	ck_assert_int_eq(node_log_notify_fd(plain.nodes[1]), -1);
	cl_close(&plain);

	cl_init_async(&c, 3, 10000, true);
	l = cl_leader(&c);
	propose_keys(&c, l, 8, w, d);
	cl_deliver(&c);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(d[i].code, COORD_OK);
		done_close(&d[i]);
	}
	c.hold[l] = true;
	propose_keys(&c, l, 4, w + 8, d + 8);
	ck_assert_int_eq(node_flush(c.nodes[l]), COORD_OK);
	c.cut[l] = true;
	for (size_t i = 0; i < c.nq; i++)
		q_free(&c.q[i]);
	c.nq = 0;
	l2 = 0;
	for (int t = 0; t < 200 && l2 == 0; t++) {
		cl_tick(&c, 1);
		for (uint64_t id = 1; id <= 3; id++)
			if (id != l && raft_is_leader(node_raft(c.nodes[id])))
				l2 = id;
	}
	ck_assert_uint_ne(l2, 0);
	c.cut[l] = false;
	c.hold[l] = false;
	cl_tick(&c, 20);
	ck_assert(!raft_is_leader(node_raft(c.nodes[l])));
	ck_assert_uint_eq(c.applied_undurable, 0);
	ck_assert_uint_eq(c.applied_unstored, 0);
	assert_converged(&c);
	for (int i = 8; i < 12; i++)
		done_close(&d[i]);
	for (uint64_t id = 1; id <= 3; id++) {
		node_close(c.nodes[id]);
		c.nodes[id] = NULL;
	}
	for (uint64_t id = 1; id <= 3; id++)
		node_start(&c, id);
	cl_tick(&c, 20);
	for (uint64_t id = 1; id <= 3; id++) {
		ck_assert(get(&c, id, "k007", v));
		ck_assert_str_eq(v, "v");
	}
	assert_converged(&c);
	cl_close(&c);
}
END_TEST

START_TEST(node_open_refuses_bad_config_and_reports_store_errors)
{
	struct node_config cfg;
	struct node *n = (struct node *)1;
	char err[512];

	node_config_default(&cfg);
	cfg.transport.send = t_send;
	cfg.id = 0;
	ck_assert_int_eq(node_open(&cfg, &n, err, sizeof(err)), COORD_EINVAL);
	ck_assert_ptr_null(n);
	cfg.id = 1;
	cfg.data_dir = "/proc/coord-no-such-dir/x";
	ck_assert_int_ne(node_open(&cfg, &n, err, sizeof(err)), COORD_OK);
	ck_assert_ptr_null(n);
	ck_assert_uint_gt(strlen(err), 0);
	node_close(NULL);
}
END_TEST

static Suite *node_suite(void)
{
	Suite *s = suite_create("node");
	TCase *tc = tcase_create("node");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, proposal_completes_with_fsm_reply_on_every_node);
	tcase_add_test(tc, follower_refuses_proposal);
	tcase_add_test(tc, leader_appends_leave_before_its_own_write);
	tcase_add_test(tc, many_proposals_share_one_ready);
	tcase_add_test(tc, fsyncs_counted_are_the_stores_writes);
	tcase_add_test(tc, committed_reply_leaves_before_the_next_write);
	tcase_add_test(tc, follower_applies_only_what_its_log_holds);
	tcase_add_test(tc, read_waits_for_read_index_on_leader_and_follower);
	tcase_add_test(tc, read_on_isolated_node_times_out);
	tcase_add_test(tc, cancelled_waiter_is_never_called);
	tcase_add_test(tc, restarted_node_recovers_and_converges);
	tcase_add_test(tc, node_behind_compacted_log_catches_up_by_snapshot);
	tcase_add_test(tc, snapshot_without_its_data_is_ignored);
	tcase_add_test(tc, restream_between_snapshot_step_and_ready);
	tcase_add_test(tc, node_open_refuses_bad_config_and_reports_store_errors);
	tcase_add_test(tc, async_leader_applies_what_its_log_holds);
	tcase_add_test(tc, async_leader_steps_down_with_writes_queued);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(node_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
