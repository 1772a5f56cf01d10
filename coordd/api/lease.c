/*
 * coordd/api/lease.c: leases and sessions -- the requests (grant,
 * keepalive, revoke, time-to-live, list; session open, keepalive, close,
 * attach) and the node's lease timer.
 *
 * Time never crosses machines (DESIGN.md, Leases). Every replica keeps,
 * per lease, the local monotonic time at which it applied the lease's
 * latest keepalive (leases_applied(), from the node's apply hook). The
 * leader alone expires: once TTL plus the drift allowance has passed
 * since that time on its own clock, it proposes LEASE_EXPIRE naming the
 * keepalive (its Raft index) the decision rests on; the fsm ignores it if
 * a newer keepalive committed in between. A follower that becomes leader
 * already holds the times at which it applied every keepalive, so it
 * neither expires early (every acknowledged keepalive was applied on it
 * before it could win) nor hands out a fresh TTL; a leader that steps
 * down stops expiring as soon as it knows, since its tick and its
 * due-time timer propose only while it leads (and raft refuses any
 * other proposal). After a restart or a snapshot install the node knows only
 * the leases, not when their keepalives came: it counts each from the
 * moment it learnt of it (later, never earlier).
 *
 * Keepalives are batched: those that arrive before the next flush go in
 * one LEASE_KEEPALIVE command (at most COORD_KEEPALIVE_BATCH_MAX), and
 * each is answered once that command applied. A SESSION_KEEPALIVE_MANY
 * puts all its sessions (those bound to its connection) in one batch and
 * is answered, one result per session, when that batch applied.
 *
 * Sessions are bound to the connection that opened or attached them on
 * this node: only that connection may keep them alive, close them or
 * queue on locks with them (COORD_ESESSION otherwise), and the pushes
 * for them (grants, session lost) go there.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* Expiry proposals per tick at most (the rest on the next tick). */
#define LEASE_EXPIRES_PER_TICK 1024
/* Bytes of a session's secret. */
#define LEASE_SECRET_BYTES 16

struct leases {
	struct lease_ent **buckets;
	size_t n_buckets;           /* a power of two */
	size_t n;
	struct lease_ent **heap;    /* by due_ms */
	size_t heap_cap;
	uint64_t generation;        /* node_fsm_generation() it reflects */
	/* Keepalives waiting for the next flush. */
	struct ka_item *pending;
	size_t n_pending;
	size_t cap_pending;
	size_t n_pending_ids;       /* leases in them */
	struct ka_batch *batches;   /* proposed, not applied yet */
	/* The leader's expiry, at the due time between two ticks. */
	struct event *expire_ev;
};

/* A SESSION_KEEPALIVE_MANY's sessions and results; codes[i] KA_IN_BATCH
 * until its batch applied. */
struct ka_many {
	size_t n;
	uint64_t *ids;
	uint64_t *codes;
	uint64_t *ttls;
};

#define KA_IN_BATCH UINT64_MAX

/* A keepalive request in a batch: m NULL: one lease (q->arg). */
struct ka_item {
	struct req *q;
	struct ka_many *m;
};

struct ka_batch {
	struct node_waiter w;
	struct net *net;
	struct ka_batch *next;
	struct ka_batch *prev;
	size_t n;
	struct ka_item items[];
};

static void ka_many_free(struct ka_many *m)
{
	if (m == NULL)
		return;
	free(m->ids);
	free(m->codes);
	free(m->ttls);
	free(m);
}

/* ---------------------------------------------------------------------- */
/* The table: a hash by id and a heap by due time. */

/* The bucket of id among n_buckets (a power of two). */
static size_t bucket_of(size_t n_buckets, uint64_t id)
{
	id ^= id >> 33;
	id *= UINT64_C(0xff51afd7ed558ccd);
	id ^= id >> 33;
	return (size_t)id & (n_buckets - 1);
}

struct lease_ent *lease_find(struct net *net, uint64_t id)
{
	struct leases *ls = net->leases;

	for (struct lease_ent *e = ls->buckets[bucket_of(ls->n_buckets, id)];
	     e != NULL; e = e->hnext)
		if (e->id == id)
			return e;
	return NULL;
}

static void heap_swap(struct leases *ls, size_t a, size_t b)
{
	struct lease_ent *t = ls->heap[a];

	ls->heap[a] = ls->heap[b];
	ls->heap[b] = t;
	ls->heap[a]->heap_i = a;
	ls->heap[b]->heap_i = b;
}

static void heap_fix(struct leases *ls, size_t i)
{
	while (i > 0 && ls->heap[(i - 1) / 2]->due_ms > ls->heap[i]->due_ms) {
		heap_swap(ls, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < ls->n && ls->heap[l]->due_ms < ls->heap[m]->due_ms)
			m = l;
		if (l + 1 < ls->n && ls->heap[l + 1]->due_ms < ls->heap[m]->due_ms)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(ls, i, m);
		i = m;
	}
}

static int table_grow(struct leases *ls)
{
	size_t nb = ls->n_buckets * 2;
	struct lease_ent **b = calloc(nb, sizeof(*b));
	struct lease_ent **h = realloc(ls->heap, nb * sizeof(*h));

	if (h != NULL)
		ls->heap = h;
	if (b == NULL || h == NULL) {
		free(b);
		return COORD_ENOMEM;
	}
	ls->heap_cap = nb;
	for (size_t i = 0; i < ls->n_buckets; i++) {
		struct lease_ent *e = ls->buckets[i];

		while (e != NULL) {
			struct lease_ent *next = e->hnext;
			size_t k = bucket_of(nb, e->id);

			e->hnext = b[k];
			b[k] = e;
			e = next;
		}
	}
	free(ls->buckets);
	ls->buckets = b;
	ls->n_buckets = nb;
	return COORD_OK;
}

/* The drift allowance added to a TTL before the leader expires a lease
 * (the fsm's rule, fsm_lease_drift(); docs/consistency.md). */
static uint64_t drift_ms(const struct net *net, uint64_t ttl_ms)
{
	return fsm_lease_drift(net->cfg->lease_drift_ms,
			       net->cfg->lease_drift_ppm, ttl_ms);
}

/* Records that the lease's keepalive ka_index applied here now. */
static int lease_touch(struct net *net, uint64_t id, uint64_t ka_index,
		       uint64_t ttl_ms)
{
	struct leases *ls = net->leases;
	struct lease_ent *e = lease_find(net, id);
	uint64_t now = net_now_ms();

	if (e == NULL) {
		size_t k;

		if (ls->n + 1 > ls->n_buckets && table_grow(ls) != COORD_OK)
			return COORD_ENOMEM;
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return COORD_ENOMEM;
		e->id = id;
		{
			struct fsm_lease_info info;

			e->session = fsm_lease_get(node_fsm(net->node), id,
						   &info) == COORD_OK &&
				     info.session;
		}
		k = bucket_of(ls->n_buckets, id);
		e->hnext = ls->buckets[k];
		ls->buckets[k] = e;
		e->heap_i = ls->n;
		ls->heap[ls->n++] = e;
	}
	e->ka_index = ka_index;
	e->ttl_ms = ttl_ms;
	e->applied_ms = now;
	e->due_ms = now + ttl_ms + drift_ms(net, ttl_ms);
	heap_fix(ls, e->heap_i);
	return COORD_OK;
}

static void lease_unbind(struct lease_ent *e)
{
	struct client *cl = e->bound;

	if (cl == NULL)
		return;
	if (e->bprev != NULL)
		e->bprev->bnext = e->bnext;
	else
		cl->bound = e->bnext;
	if (e->bnext != NULL)
		e->bnext->bprev = e->bprev;
	e->bound = NULL;
	e->bnext = e->bprev = NULL;
}

static void lease_bind(struct lease_ent *e, struct client *cl)
{
	if (e->bound == cl)
		return;
	lease_unbind(e);
	e->bound = cl;
	e->bnext = cl->bound;
	if (cl->bound != NULL)
		cl->bound->bprev = e;
	cl->bound = e;
}

/* The lease ended (why: COORD_ESESSION_EXPIRED or COORD_ESESSION). */
static void lease_gone(struct net *net, uint64_t id, int why)
{
	struct leases *ls = net->leases;
	struct lease_ent *e = lease_find(net, id);
	struct lease_ent **pp;
	size_t i;

	if (e == NULL)
		return;
	locks_session_gone(net, e);
	if (e->bound != NULL && e->session && e->bound->conn != NULL) {
		struct proto_push p;

		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_SESSION_LOST;
		p.u.session_lost.session = id;
		p.u.session_lost.code = why;
		api_send_push(e->bound, &p);
	}
	lease_unbind(e);
	pp = &ls->buckets[bucket_of(ls->n_buckets, id)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	i = e->heap_i;
	ls->n--;
	if (i != ls->n) {
		heap_swap(ls, i, ls->n);
		heap_fix(ls, i);
	}
	free(e);
}

bool lease_overdue(struct net *net, const struct lease_ent *e)
{
	(void)net;
	return net_now_ms() > e->applied_ms + e->ttl_ms;
}

uint64_t lease_ttl_left_ms(struct net *net, const struct lease_ent *e)
{
	uint64_t now = net_now_ms(), end = e->applied_ms + e->ttl_ms;

	(void)net;
	return now >= end ? 0 : end - now;
}

/* ---------------------------------------------------------------------- */
/* Keeping the table in step with the fsm. */

void leases_applied(void *ctx, uint64_t index,
		    const struct fsm_entry_result *r)
{
	struct net *net = ctx;
	const struct fsm_result *res = &r->res;

	(void)index;
	if (net->leases == NULL)
		return;
	for (size_t i = 0; i < res->n_touched; i++) {
		const struct fsm_lease_touch *t = &res->touched[i];

		if (lease_touch(net, t->lease, t->ka_index, t->ttl_ms) !=
		    COORD_OK)
			log_error("lease %" PRIu64 ": no memory to track "
				  "its keepalive", t->lease);
		else
			locks_session_touched(net, lease_find(net, t->lease));
	}
	for (size_t i = 0; i < res->n_gone; i++)
		lease_gone(net, res->gone[i].lease, res->gone[i].why);
	locks_applied(net, res);
}

static int reset_each(void *ctx, const struct fsm_lease_info *l)
{
	struct net *net = ctx;
	struct lease_ent *e = lease_find(net, l->id);

	if (e != NULL && e->ka_index == l->ka_index) {
		e->seen = true;
		return 0;
	}
	if (lease_touch(net, l->id, l->ka_index, l->ttl_ms) != COORD_OK)
		return COORD_ENOMEM;
	lease_find(net, l->id)->seen = true;
	return 0;
}

/* The fsm was reopened (start, snapshot install): the table follows it.
 * Leases the fsm no longer has are gone (their sessions told); new ones
 * count from now. */
static void leases_resync(struct net *net)
{
	struct leases *ls = net->leases;
	uint64_t gen = node_fsm_generation(net->node);
	size_t i;
	int rc;

	if (gen == ls->generation)
		return;
	ls->generation = gen;
	for (i = 0; i < ls->n; i++)
		ls->heap[i]->seen = false;
	rc = fsm_leases_each(node_fsm(net->node), reset_each, net);
	if (rc != COORD_OK)
		log_error("rebuilding the lease table: %s", coord_strerror(rc));
	for (i = 0; i < ls->n;) {
		if (!ls->heap[i]->seen) {
			lease_gone(net, ls->heap[i]->id, COORD_ESESSION);
		} else {
			locks_session_resync(net, ls->heap[i]);
			i++;
		}
	}
}

int leases_init(struct net *net)
{
	struct leases *ls = calloc(1, sizeof(*ls));

	if (ls == NULL)
		return COORD_ENOMEM;
	ls->n_buckets = 64;
	ls->buckets = calloc(ls->n_buckets, sizeof(*ls->buckets));
	ls->heap = calloc(ls->n_buckets, sizeof(*ls->heap));
	ls->heap_cap = ls->n_buckets;
	if (ls->buckets == NULL || ls->heap == NULL) {
		free(ls->buckets);
		free(ls->heap);
		free(ls);
		return COORD_ENOMEM;
	}
	/* Built from the fsm at the first tick (leases_resync()). */
	ls->generation = UINT64_MAX;
	net->leases = ls;
	return COORD_OK;
}

void leases_free(struct net *net)
{
	struct leases *ls = net->leases;

	if (ls == NULL)
		return;
	if (ls->expire_ev != NULL)
		event_free(ls->expire_ev);
	while (ls->batches != NULL) {
		struct ka_batch *b = ls->batches;

		node_waiter_cancel(net->node, &b->w);
		ls->batches = b->next;
		for (size_t i = 0; i < b->n; i++)
			ka_many_free(b->items[i].m);
		free(b);
	}
	for (size_t i = 0; i < ls->n_pending; i++)
		ka_many_free(ls->pending[i].m);
	for (size_t i = 0; i < ls->n; i++) {
		locks_session_gone(net, ls->heap[i]);
		free(ls->heap[i]);
	}
	free(ls->heap);
	free(ls->buckets);
	free(ls->pending);
	free(ls);
	net->leases = NULL;
}

/* LEASE_EXPIRE for every lease past TTL + drift since its last keepalive
 * applied here, on the leader. A proposal that does not take effect (lost
 * in a leader change, or stale) is made again after an election timeout
 * if the lease is still due. */
static unsigned leases_expire_due(struct net *net)
{
	struct leases *ls = net->leases;
	uint64_t now = net_now_ms();
	unsigned n = 0;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping)
		return 0;
	while (ls->n > 0 && ls->heap[0]->due_ms <= now &&
	       n < LEASE_EXPIRES_PER_TICK) {
		struct lease_ent *e = ls->heap[0];
		struct proto_entry en;

		memset(&en, 0, sizeof(en));
		en.now_ms = net_cluster_now_ms(net);
		en.cmd.type = PROTO_CMD_LEASE_EXPIRE;
		en.cmd.u.lease_expire.lease = e->id;
		en.cmd.u.lease_expire.ka_index = e->ka_index;
		if (net_propose_internal(net, &en) != COORD_OK)
			break;
		net->expires_total++;
		log_debug("lease %" PRIu64 ": expiring (ka_index=%" PRIu64
			  ", ttl=%" PRIu64 " ms)", e->id, e->ka_index,
			  e->ttl_ms);
		e->due_ms = now + net->cfg->election_ms;
		heap_fix(ls, 0);
		n++;
	}
	if (n > 0)
		net_kick(net);
	return n;
}

static void expire_cb(evutil_socket_t fd, short what, void *arg);

/* A lease due before the next tick is expired at its due time, not at
 * that tick (up to a tick later): a one-shot timer. Nothing falls due
 * between ticks except what was already in the heap at this one (a
 * keepalive only moves a due time later, a new lease is a TTL away). */
static void expire_arm(struct net *net)
{
	struct leases *ls = net->leases;
	uint64_t now = net_now_ms(), due;
	struct timeval tv;

	if (ls->expire_ev == NULL) {
		ls->expire_ev = evtimer_new(net->base, expire_cb, net);
		if (ls->expire_ev == NULL)
			return;     /* the ticks still expire */
		event_priority_set(ls->expire_ev, 0);
	}
	if (ls->n == 0 || !raft_is_leader(node_raft(net->node)) ||
	    net->stopping)
		return;
	due = ls->heap[0]->due_ms;
	if (due <= now || due - now >= net->tick_ms)
		return;
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)((due - now) * 1000u);
	evtimer_add(ls->expire_ev, &tv);
}

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;

	(void)fd;
	(void)what;
	net->expires_timed_total += leases_expire_due(net);
	expire_arm(net);
}

/* Every tick: the table follows the fsm; the leader expires what is due
 * and times what falls due before the next tick. */
void leases_tick(struct net *net)
{
	leases_resync(net);
	leases_expire_due(net);
	expire_arm(net);
}

/* Proposes the keepalives gathered since the last flush as one command. */
static void batch_done(void *ctx, int code, const uint8_t *reply,
		       size_t len);

void leases_before_flush(struct net *net)
{
	struct leases *ls = net->leases;
	struct ka_batch *b;
	struct proto_entry en;
	uint64_t *ids;
	size_t n = ls->n_pending, n_ids = ls->n_pending_ids, k = 0;
	int rc;

	if (n == 0)
		return;
	b = calloc(1, sizeof(*b) + n * sizeof(b->items[0]));
	ids = calloc(n_ids, sizeof(*ids));
	if (b == NULL || ids == NULL) {
		rc = COORD_ENOMEM;
		goto fail;
	}
	b->net = net;
	b->n = n;
	for (size_t i = 0; i < n; i++) {
		const struct ka_many *m = ls->pending[i].m;

		b->items[i] = ls->pending[i];
		if (m == NULL) {
			ids[k++] = ls->pending[i].q->arg;
			continue;
		}
		for (size_t j = 0; j < m->n; j++)
			if (m->codes[j] == KA_IN_BATCH)
				ids[k++] = m->ids[j];
	}
	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_LEASE_KEEPALIVE;
	en.cmd.u.lease_keepalive.leases = ids;
	en.cmd.u.lease_keepalive.n_leases = n_ids;
	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(&en, &net->scratch);
	if (rc == COORD_OK)
		rc = node_propose(net->node, net->scratch.data,
				  net->scratch.len, &b->w, batch_done, b);
	free(ids);
	ids = NULL;
	if (rc != COORD_OK)
		goto fail;
	net->ka_batches_total++;
	net->ka_total += n_ids;
	b->next = ls->batches;
	if (ls->batches != NULL)
		ls->batches->prev = b;
	ls->batches = b;
	ls->n_pending = 0;
	ls->n_pending_ids = 0;
	return;
fail:
	free(b);
	free(ids);
	for (size_t i = 0; i < n; i++) {
		struct req *q = ls->pending[i].q;

		api_send_error(q->cl, q->kind, q->request_id,
			       rc == COORD_ENOTLEADER ? api_not_leader_code(net)
						      : rc);
		ka_many_free(ls->pending[i].m);
		api_req_free(q);
	}
	ls->n_pending = 0;
	ls->n_pending_ids = 0;
}

static void send_session(struct client *cl, const struct req *q,
			 const struct lease_ent *e, const uint8_t *secret,
			 size_t secret_len)
{
	struct proto_response r;

	api_reply_start(cl, q->kind, q->request_id, &r);
	if (q->kind == PROTO_LEASE_KEEPALIVE || q->kind == PROTO_LEASE_GRANT) {
		r.u.lease.lease = e->id;
		r.u.lease.ttl_ms = e->ttl_ms;
	} else {
		r.u.session.session = e->id;
		r.u.session.secret = proto_bytes_make(secret, secret_len);
		r.u.session.lease = e->id;
		r.u.session.ttl_ms = e->ttl_ms;
	}
	api_send(cl, &r);
}

/* A SESSION_KEEPALIVE_MANY's reply: its results, one per session. */
static void send_many(struct client *cl, const struct req *q,
		      const struct ka_many *m)
{
	struct proto_response r;

	api_reply_start(cl, q->kind, q->request_id, &r);
	r.u.session_many.codes.v = m->codes;
	r.u.session_many.codes.n = m->n;
	r.u.session_many.ttls.v = m->ttls;
	r.u.session_many.ttls.n = m->n;
	api_send(cl, &r);
}

/* A batch's SESSION_KEEPALIVE_MANY: the sessions it carried get their
 * results from the table (as the single keepalives below). */
static void many_done(struct net *net, const struct req *q,
		      struct ka_many *m)
{
	for (size_t j = 0; j < m->n; j++) {
		struct lease_ent *e;

		if (m->codes[j] != KA_IN_BATCH)
			continue;
		e = lease_find(net, m->ids[j]);
		m->codes[j] = e != NULL ? COORD_OK : COORD_ESESSION;
		m->ttls[j] = e != NULL ? e->ttl_ms : 0;
	}
	send_many(q->cl, q, m);
}

/* The batch applied (or failed): every keepalive in it is answered from
 * the table, which leases_applied() brought up to date before this runs:
 * a lease still there was kept alive by this command. */
static void batch_done(void *ctx, int code, const uint8_t *reply,
		       size_t len)
{
	struct ka_batch *b = ctx;
	struct net *net = b->net;
	struct leases *ls = net->leases;

	(void)reply;
	(void)len;
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		ls->batches = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	for (size_t i = 0; i < b->n; i++) {
		struct req *q = b->items[i].q;
		struct lease_ent *e = lease_find(net, q->arg);

		if (code != COORD_OK)
			api_send_error(q->cl, q->kind, q->request_id, code);
		else if (b->items[i].m != NULL)
			many_done(net, q, b->items[i].m);
		else if (e == NULL)
			api_send_error(q->cl, q->kind, q->request_id,
				       q->kind == PROTO_LEASE_KEEPALIVE
					       ? COORD_ELEASE
					       : COORD_ESESSION);
		else
			send_session(q->cl, q, e, NULL, 0);
		ka_many_free(b->items[i].m);
		api_req_free(q);
	}
	free(b);
}

/* ---------------------------------------------------------------------- */
/* Requests. */

/* The TTL bounds of --lease-ttl-min-ms / --lease-ttl-max-ms. */
static bool ttl_ok(struct client *cl, const struct proto_request *rq,
		   uint64_t ttl_ms)
{
	const struct config *cfg = cl->net->cfg;

	if (ttl_ms >= cfg->lease_ttl_min_ms && ttl_ms <= cfg->lease_ttl_max_ms)
		return true;
	log_warn("client addr=%s: %s refused: ttl %" PRIu64 " ms outside "
		 "[%u, %u] (--lease-ttl-min-ms, --lease-ttl-max-ms)",
		 cl->conn->addr, proto_kind_name(rq->kind), ttl_ms,
		 cfg->lease_ttl_min_ms, cfg->lease_ttl_max_ms);
	api_send_error(cl, rq->kind, rq->request_id, COORD_ETTL);
	return false;
}

/* A session this connection opened or attached here. */
bool session_is_bound(struct client *cl, uint64_t session)
{
	struct lease_ent *e = lease_find(cl->net, session);

	return e != NULL && e->session && e->bound == cl;
}

bool session_ok(struct client *cl, const struct proto_request *rq,
		uint64_t session)
{
	if (session_is_bound(cl, session))
		return true;
	/* A retry of a request the client table answered already: the
	 * fsm answers it again with that reply and applies nothing, even
	 * if the session has ended since (or is not attached to this
	 * connection): its first reply, not COORD_ESESSION. */
	if (rq->client_id != 0 &&
	    fsm_client_has_reply(node_fsm(cl->net->node), rq->client_id,
				 rq->sequence))
		return true;
	api_send_error(cl, rq->kind, rq->request_id, COORD_ESESSION);
	return false;
}

/* Queues a keepalive request for the next batch: one lease (id), or a
 * SESSION_KEEPALIVE_MANY's n_ids sessions (m, NULL: none; freed here on
 * failure). */
static void keepalive_enqueue_ids(struct client *cl,
				  const struct proto_request *rq, uint64_t id,
				  struct ka_many *m, size_t n_ids)
{
	struct net *net = cl->net;
	struct leases *ls = net->leases;
	struct req *q;
	int rc = COORD_ENOMEM;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping) {
		rc = api_not_leader_code(net);
		goto fail;
	}
	if (ls->n_pending == ls->cap_pending) {
		size_t cap = ls->cap_pending ? ls->cap_pending * 2 : 64;
		struct ka_item *p = realloc(ls->pending, cap * sizeof(*p));

		if (p == NULL)
			goto fail;
		ls->pending = p;
		ls->cap_pending = cap;
	}
	q = api_req_new(cl, rq);
	if (q == NULL)
		goto fail;
	q->arg = id;
	/* A request's leases go in one batch. */
	if (ls->n_pending_ids + n_ids > COORD_KEEPALIVE_BATCH_MAX)
		leases_before_flush(net);
	ls->pending[ls->n_pending++] = (struct ka_item){ q, m };
	ls->n_pending_ids += n_ids;
	if (ls->n_pending_ids >= COORD_KEEPALIVE_BATCH_MAX)
		leases_before_flush(net);
	net_kick(net);
	return;
fail:
	ka_many_free(m);
	api_send_error(cl, rq->kind, rq->request_id, rc);
}

static void keepalive_enqueue(struct client *cl, const struct proto_request *rq,
			      uint64_t id)
{
	keepalive_enqueue_ids(cl, rq, id, NULL, 1);
}

/* A reply of the fsm to a lease or session command, decoded: COORD_OK
 * and rp, or the error to send. */
static int reply_decode(struct net *net, int code, const uint8_t *reply,
			size_t len, struct proto_reply *rp)
{
	if (code != COORD_OK)
		return code;
	proto_arena_reset(&net->arena);
	code = proto_reply_decode(reply, len, &net->arena, rp);
	return code != COORD_OK ? code : rp->code;
}

static void grant_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_reply rp;
	struct lease_ent *e;

	code = reply_decode(cl->net, code, reply, len, &rp);
	if (code == COORD_OK) {
		uint64_t id = q->kind == PROTO_LEASE_GRANT
				      ? rp.u.lease_grant.lease
				      : rp.u.session_open.session;

		e = lease_find(cl->net, id);
		if (e == NULL) {
			/* Ended already (a retry of an old grant). */
			code = q->kind == PROTO_LEASE_GRANT ? COORD_ELEASE
							    : COORD_ESESSION;
		} else if (q->kind == PROTO_SESSION_OPEN) {
			if (cl->conn != NULL)
				lease_bind(e, cl);
			send_session(cl, q, e, rp.u.session_open.secret.data,
				     rp.u.session_open.secret.len);
		} else {
			send_session(cl, q, e, NULL, 0);
		}
	}
	if (code != COORD_OK)
		api_send_error(cl, q->kind, q->request_id, code);
	api_req_free(q);
}

void lease_grant(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	if (!ttl_ok(cl, rq, rq->u.lease_grant.ttl_ms))
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_LEASE_GRANT;
	cmd.u.lease_grant.lease = rq->u.lease_grant.lease;
	cmd.u.lease_grant.ttl_ms = rq->u.lease_grant.ttl_ms;
	rc = api_propose(cl, rq, &cmd, grant_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

void lease_keepalive(struct client *cl, const struct proto_request *rq)
{
	keepalive_enqueue(cl, rq, rq->u.lease.lease);
}

void lease_revoke(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	if (rq->kind == PROTO_SESSION_CLOSE) {
		if (!session_ok(cl, rq, rq->u.session.session))
			return;
		cmd.type = PROTO_CMD_SESSION_CLOSE;
		cmd.u.session_close.session = rq->u.session.session;
	} else {
		cmd.type = PROTO_CMD_LEASE_REVOKE;
		cmd.u.lease_revoke.lease = rq->u.lease.lease;
	}
	rc = api_propose(cl, rq, &cmd, api_empty_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

/* Room in a response frame for a LEASE_TTL reply's envelope, and each
 * listed key's msgpack header. */
#define TTL_ENVELOPE_BYTES 1024
#define TTL_KEY_OVERHEAD_BYTES 8

static void ttl_read_done(void *ctx, int code, const uint8_t *reply,
			  size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	struct lease_ent *e = lease_find(cl->net, q->arg);
	struct fsm_lease_keys page = { 0 };

	(void)reply;
	(void)len;
	if (code == COORD_OK && e == NULL)
		code = COORD_ELEASE;
	/* One page: at most --max-range-keys keys, and what fits a frame
	 * (each key counted with its header), as a RANGE is cut. */
	if (code == COORD_OK && q->range.limit != 0) {
		const size_t room = COORD_RESPONSE_FRAME_BYTES_MAX -
				    TTL_ENVELOPE_BYTES;
		size_t keys_max = cl->net->cfg->max_range_keys;

		if (keys_max > room / 2 / TTL_KEY_OVERHEAD_BYTES)
			keys_max = room / 2 / TTL_KEY_OVERHEAD_BYTES;
		code = fsm_lease_keys(node_fsm(cl->net->node), e->id,
				      q->range.key, keys_max,
				      room - keys_max * TTL_KEY_OVERHEAD_BYTES,
				      &page);
		if (code == COORD_ENOTFOUND)
			code = COORD_ELEASE;
	}
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.lease_ttl.lease = e->id;
		r.u.lease_ttl.ttl_ms = lease_ttl_left_ms(cl->net, e);
		r.u.lease_ttl.granted_ttl_ms = e->ttl_ms;
		r.u.lease_ttl.keys.v = page.keys;
		r.u.lease_ttl.keys.n = page.n;
		r.u.lease_ttl.more = page.more;
		api_send(cl, &r);
	}
	api_req_free(q);
}

/* LEASE_TTL: a linearizable read, answered from this node's clock (the
 * time left until the leader would expire it, were this node leader);
 * with `keys`, a page of the keys attached to it out of the fsm. */
void lease_ttl(struct client *cl, const struct proto_request *rq)
{
	struct req *q = api_req_new(cl, rq);
	struct proto_bytes after = rq->u.lease_ttl.after;

	if (q != NULL && rq->u.lease_ttl.keys &&
	    (q->bounds = malloc(after.len + 1)) == NULL) {
		api_req_free(q);
		q = NULL;
	}
	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	q->arg = rq->u.lease_ttl.lease;
	if (rq->u.lease_ttl.keys) {
		/* The frame goes away: `after` travels with the request. */
		if (after.len > 0)
			memcpy(q->bounds, after.data, after.len);
		q->range.key = proto_bytes_make(q->bounds, after.len);
		q->range.limit = 1;     /* keys asked for */
	}
	node_read(cl->net->node, &q->w, ttl_read_done, q);
	net_kick(cl->net);
}

static void list_read_done(void *ctx, int code, const uint8_t *reply,
			   size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct leases *ls = cl->net->leases;
	struct proto_response r;
	uint64_t *ids = NULL;

	(void)reply;
	(void)len;
	if (code == COORD_OK && (ids = malloc((ls->n + 1) * sizeof(*ids))) ==
					NULL)
		code = COORD_ENOMEM;
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		for (size_t i = 0; i < ls->n; i++)
			ids[i] = ls->heap[i]->id;
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.lease_list.leases.v = ids;
		r.u.lease_list.leases.n = ls->n;
		api_send(cl, &r);
	}
	free(ids);
	api_req_free(q);
}

void lease_list(struct client *cl, const struct proto_request *rq)
{
	struct req *q = api_req_new(cl, rq);

	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	node_read(cl->net->node, &q->w, list_read_done, q);
	net_kick(cl->net);
}

void session_open(struct client *cl, const struct proto_request *rq)
{
	uint8_t secret[LEASE_SECRET_BYTES];
	struct proto_cmd cmd;
	int rc;

	if (!ttl_ok(cl, rq, rq->u.session_open.ttl_ms))
		return;
	if (RAND_bytes(secret, sizeof(secret)) != 1) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_EIO);
		return;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_SESSION_OPEN;
	cmd.u.session_open.ttl_ms = rq->u.session_open.ttl_ms;
	cmd.u.session_open.secret = proto_bytes_make(secret, sizeof(secret));
	rc = api_propose(cl, rq, &cmd, grant_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

void session_keepalive(struct client *cl, const struct proto_request *rq)
{
	if (session_ok(cl, rq, rq->u.session.session))
		keepalive_enqueue(cl, rq, rq->u.session.session);
}

/* SESSION_KEEPALIVE_MANY: the sessions bound to this connection go in
 * the next batch together; the others are answered COORD_ESESSION in the
 * same reply (as SESSION_KEEPALIVE would answer each). */
void session_keepalive_many(struct client *cl, const struct proto_request *rq)
{
	const struct proto_u64_list *l = &rq->u.session_many.sessions;
	struct ka_many *m = calloc(1, sizeof(*m));
	size_t n_ids = 0, n = l->n > 0 ? l->n : 1;

	if (m == NULL || (m->ids = calloc(n, sizeof(*m->ids))) == NULL ||
	    (m->codes = calloc(n, sizeof(*m->codes))) == NULL ||
	    (m->ttls = calloc(n, sizeof(*m->ttls))) == NULL) {
		ka_many_free(m);
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	m->n = l->n;
	for (size_t i = 0; i < l->n; i++) {
		m->ids[i] = l->v[i];
		if (session_is_bound(cl, l->v[i])) {
			m->codes[i] = KA_IN_BATCH;
			n_ids++;
		} else {
			m->codes[i] = COORD_ESESSION;
		}
	}
	if (n_ids == 0) {
		send_many(cl, &(struct req){ .kind = rq->kind,
					    .request_id = rq->request_id },
			  m);
		ka_many_free(m);
		return;
	}
	keepalive_enqueue_ids(cl, rq, 0, m, n_ids);
}

static void attach_read_done(void *ctx, int code, const uint8_t *reply,
			     size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct fsm_lease_info info;
	struct lease_ent *e = lease_find(cl->net, q->arg);

	(void)reply;
	(void)len;
	if (code == COORD_OK) {
		code = fsm_lease_get(node_fsm(cl->net->node), q->arg, &info);
		if (code == COORD_ENOTFOUND || (code == COORD_OK &&
						(!info.session || e == NULL)))
			code = COORD_ESESSION;
	}
	if (code == COORD_OK &&
	    (info.secret_len != q->secret_len ||
	     CRYPTO_memcmp(info.secret, q->secret, q->secret_len) != 0)) {
		log_warn("client addr=%s: SESSION_ATTACH %" PRIu64 " refused: "
			 "wrong secret", cl->conn != NULL ? cl->conn->addr : "-",
			 q->arg);
		code = COORD_EPERM;
	}
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		if (cl->conn != NULL)
			lease_bind(e, cl);
		send_session(cl, q, e, info.secret, info.secret_len);
	}
	api_req_free(q);
}

/* SESSION_ATTACH: a linearizable read of the session, then this
 * connection uses it (taking it from any other connection here). */
void session_attach(struct client *cl, const struct proto_request *rq)
{
	const struct proto_session_attach *a = &rq->u.session_attach;
	struct req *q = api_req_new(cl, rq);

	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	q->arg = a->session;
	q->secret_len = a->secret.len;
	if (a->secret.len > 0)
		memcpy(q->secret, a->secret.data, a->secret.len);
	node_read(cl->net->node, &q->w, attach_read_done, q);
	net_kick(cl->net);
}

void leases_client_closed(struct client *cl)
{
	while (cl->bound != NULL)
		lease_unbind(cl->bound);
}
