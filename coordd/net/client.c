/*
 * coordd/net/client.c: client connections -- the HELLO exchange, the KV
 * requests (put, range, delete, txn, compact) with exactly-once, watches,
 * status and leadership transfer.
 *
 * Writes are served by the leader only: a follower answers
 * COORD_ENOTLEADER with the leader's node id as leader_hint, and the
 * client goes there (libcoord maps node ids to endpoints through the
 * HELLO replies). Each write becomes one proto_entry [client_id,
 * sequence, now_ms, cmd] proposed to Raft; its reply is the fsm's, so a
 * retry of the same (client_id, sequence) gets the first reply.
 * Reads are linearizable through ReadIndex on any node (a follower asks
 * the leader), or serializable from the local state on request.
 *
 * Watches are served by the node the client is connected to: after every
 * flush, each watch reads the events from its next revision out of the
 * fsm's history (fsm_events_read()), in revision order, and pushes them.
 * So a watch that starts in the past and one that follows live writes
 * are the same code, and none can skip or repeat a revision.
 *
 * Requests of the coordination API (leases, sessions, locks, semaphores,
 * elections, job queues) are defined in proto/wire.h but not served by
 * this version: they get COORD_EUNKNOWNMSG with a log line.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"

/* Events read per watch per flush, so one busy watch cannot starve the
 * loop (the rest come after the next flush). */
#define WATCH_EVENTS_PER_FLUSH 1000
/* Bytes of one watch's push per flush: fewer events when they would pass
 * it (a single revision larger than this still goes, in a push up to
 * COORD_RESPONSE_FRAME_BYTES_MAX). With CONN_OUT_STALL checked before
 * every push, one flush adds at most CONN_OUT_STALL plus one push to a
 * connection's output. */
#define WATCH_PUSH_BYTES (256u << 10)
/* Events a watch reads at first (see watch_catch_up()). */
#define WATCH_BATCH_FIRST 4

struct req;

struct watch {
	struct client *cl;
	struct widx_entry ix;       /* in net->watch_idx while synced */
	bool synced;                /* next_rev is net->watch_rev + 1 */
	uint64_t id;
	uint64_t next_rev;
	uint32_t flags;
	bool prev_kv;
	uint8_t *key;
	size_t key_len;
	uint8_t *end;
	size_t end_len;
	size_t batch;               /* events per read (watch_catch_up()) */
	struct watch *next;
};

struct client {
	struct net *net;
	struct conn *conn;          /* NULL once closed */
	struct client *next;
	struct client *prev;
	bool hello;
	struct req *reqs;           /* waiting on the node */
	size_t n_reqs;
	struct watch *watches;
	size_t n_watches;
	size_t n_unsynced;          /* watches not in net->watch_idx */
	uint64_t watch_id_next;
	bool wants_leader_pushes;
	/* REGISTER_CLIENT token bucket (proto/limits.h). */
	uint64_t reg_tokens_ms;     /* tokens, in ms of refill time */
	uint64_t reg_last_ms;
};

struct req {
	struct client *cl;
	struct node_waiter w;
	uint32_t kind;
	uint64_t request_id;
	struct proto_range range;   /* reads: bounds copied below */
	uint8_t *bounds;
	uint64_t member_id;         /* MEMBER_ADD / REMOVE: the member */
	struct req *next;
	struct req *prev;
};

static void expire_done(void *ctx, int code, const uint8_t *reply,
			size_t len);

/* ---------------------------------------------------------------------- */
/* Replies. */

/* Every error code has its counter in net->errors_by_code[]. */
#define NET_ERROR_CODE_FITS_(name, value, message)                            \
	_Static_assert((value) >= 0 && (value) < 64, #name " has no counter");
COORD_ERRORS(NET_ERROR_CODE_FITS_)
#undef NET_ERROR_CODE_FITS_

static void count_error(struct net *net, int code)
{
	if (code >= 0 && (size_t)code < sizeof(net->errors_by_code) /
						  sizeof(net->errors_by_code[0]))
		net->errors_by_code[code]++;
}

static uint64_t leader_hint(struct net *net)
{
	return raft_leader(node_raft(net->node));
}

/* Why a write is refused here: COORD_ENOTLEADER with the leader's id in
 * leader_hint, or COORD_ENOLEADER while no leader is known (an election
 * in progress, or no quorum): either way nothing was proposed. */
static int not_leader_code(struct net *net)
{
	return leader_hint(net) != 0 ? COORD_ENOTLEADER : COORD_ENOLEADER;
}

static void send_response(struct client *cl, const struct proto_response *r)
{
	struct conn *c = cl->conn;
	size_t mark;
	int rc;

	if (c == NULL)
		return;
	if (r->code != COORD_OK)
		count_error(cl->net, r->code);
	rc = conn_frame_begin(c, &mark);
	if (rc == COORD_OK)
		rc = proto_response_encode(r, &c->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(c, mark, COORD_RESPONSE_FRAME_BYTES_MAX);
	if (rc == COORD_EFRAMETOOBIG && r->code == COORD_OK) {
		/* A reply over the frame limit (a range of many large
		 * values): the client gets the error, not a closed link it
		 * would retry into the same wall. */
		struct proto_response e;

		log_warn("client addr=%s: reply to %s over %u bytes: "
			 "answered COORD_EFRAMETOOBIG (use a limit)",
			 c->addr, proto_kind_name(r->kind),
			 (unsigned)COORD_RESPONSE_FRAME_BYTES_MAX);
		memset(&e, 0, sizeof(e));
		e.kind = r->kind;
		e.request_id = r->request_id;
		e.code = COORD_EFRAMETOOBIG;
		e.leader_hint = r->leader_hint;
		send_response(cl, &e);
		return;
	}
	if (rc != COORD_OK) {
		log_warn("client addr=%s: reply to %s not sent: %s: closing",
			 c->addr, proto_kind_name(r->kind), coord_strerror(rc));
		conn_close(c, "reply not sendable");
	}
}

static void send_error(struct client *cl, uint32_t kind, uint64_t request_id,
		       int code)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.request_id = request_id;
	r.code = code;
	r.leader_hint = leader_hint(cl->net);
	/* Success of a kind whose reply body is empty ([]). */
	r.has_body = code == COORD_OK;
	send_response(cl, &r);
}

static void send_kv(struct client *cl, uint32_t kind, uint64_t request_id,
		    const struct proto_reply *reply)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.request_id = request_id;
	r.code = reply->code;
	r.leader_hint = leader_hint(cl->net);
	r.has_body = true;
	r.u.kv = *reply;
	send_response(cl, &r);
}

/* ---------------------------------------------------------------------- */
/* Requests waiting on the node. */

static struct req *req_new(struct client *cl, const struct proto_request *rq)
{
	struct req *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->cl = cl;
	q->kind = rq->kind;
	q->request_id = rq->request_id;
	q->next = cl->reqs;
	if (cl->reqs != NULL)
		cl->reqs->prev = q;
	cl->reqs = q;
	cl->n_reqs++;
	return q;
}

static void client_maybe_free(struct client *cl);

static void req_free(struct req *q)
{
	struct client *cl = q->cl;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		cl->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	cl->n_reqs--;
	free(q->bounds);
	free(q);
	client_maybe_free(cl);
}

static void write_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct net *net = cl->net;
	struct proto_reply rp;

	if (code != COORD_OK) {
		send_error(cl, q->kind, q->request_id, code);
	} else {
		proto_arena_reset(&net->arena);
		code = proto_reply_decode(reply, len, &net->arena, &rp);
		if (code == COORD_OK)
			send_kv(cl, q->kind, q->request_id, &rp);
		else
			send_error(cl, q->kind, q->request_id, code);
	}
	req_free(q);
}

/* Room in a response frame for the envelope of a range reply. */
#define RANGE_ENVELOPE_BYTES 1024

/*
 * A RANGE reply that fits (docs/protocol.md, Limits): at most
 * --max-range-keys keys however many the request asks for (0: all), and
 * no more keys than fit a COORD_RESPONSE_FRAME_BYTES_MAX frame; either
 * cut sets `more`. The fsm copies at most the limit's keys (a sorted range
 * compares them all first).
 */
static void range_serve(struct client *cl, uint32_t kind, uint64_t request_id,
			const struct proto_range *req)
{
	struct proto_range r = *req;
	struct proto_reply rp;
	int rc;

	if (r.limit == 0 || r.limit > cl->net->cfg->max_range_keys)
		r.limit = cl->net->cfg->max_range_keys;
	rc = fsm_range(node_fsm(cl->net->node), &r, &rp);
	if (rc != COORD_OK && rp.code == COORD_OK) {
		send_error(cl, kind, request_id, rc);
		return;
	}
	if (rc == COORD_OK) {
		struct proto_range_reply *rr = &rp.u.range;
		size_t used = 0;

		for (size_t i = 0; i < rr->n_kvs; i++) {
			/* Each kv: its bytes and at most 64 of msgpack. */
			used += 64 + rr->kvs[i].key.len + rr->kvs[i].value.len;
			if (used > COORD_RESPONSE_FRAME_BYTES_MAX -
					   RANGE_ENVELOPE_BYTES) {
				rr->n_kvs = i;
				rr->more = true;
				break;
			}
		}
	}
	send_kv(cl, kind, request_id, &rp);
}

static void read_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		range_serve(cl, q->kind, q->request_id, &q->range);
	else
		send_error(cl, q->kind, q->request_id, code);
	req_free(q);
}

/* ---------------------------------------------------------------------- */
/* Handlers. */

static void on_hello(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct proto_response r;
	char why[256];

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_HELLO;
	r.request_id = rq->request_id;
	r.code = proto_hello_check(rq->u.hello.version, rq->u.hello.cluster_id,
				   PROTO_VERSION, 0, why, sizeof(why));
	r.leader_hint = leader_hint(net);
	r.has_body = true;
	r.u.hello.version = PROTO_VERSION;
	r.u.hello.node_id = net->id;
	r.u.hello.node_name = proto_bytes_make(net->cfg->name,
					       strlen(net->cfg->name));
	r.u.hello.cluster_id = 0;
	if (r.code != COORD_OK) {
		log_warn("client addr=%s: hello refused: %s", cl->conn->addr,
			 why);
	} else {
		cl->hello = true;
		conn_hello_deadline(cl->conn, false);
		/* Identified: frames up to --max-frame-bytes from now on, and
		 * an idle timeout instead of the HELLO deadline. */
		cl->conn->body_max = net->cfg->max_frame_bytes;
		conn_idle_timeout(cl->conn, net->cfg->conn_idle_ms);
	}
	send_response(cl, &r);
}

/* Proposes cmd under rq's exactly-once identity (none for a kind that
 * is not mutating); done gets the fsm's reply. */
static int propose_entry(struct client *cl, const struct proto_request *rq,
			 const struct proto_cmd *cmd, node_done_fn done)
{
	struct net *net = cl->net;
	struct proto_entry en;
	struct req *q;
	int rc;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping)
		return not_leader_code(net);
	en.client_id = rq->client_id;
	en.sequence = rq->sequence;
	en.ack = rq->ack;
	en.now_ms = net_cluster_now_ms(net);
	en.cmd = *cmd;
	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(&en, &net->scratch);
	if (rc != COORD_OK)
		return rc;
	q = req_new(cl, rq);
	if (q == NULL)
		return COORD_ENOMEM;
	rc = node_propose(net->node, net->scratch.data, net->scratch.len,
			  &q->w, done, q);
	if (rc != COORD_OK) {
		req_free(q);
		return rc;
	}
	net_kick(net);
	return COORD_OK;
}

static int propose_cmd(struct client *cl, const struct proto_request *rq,
		       const struct proto_cmd *cmd)
{
	return propose_entry(cl, rq, cmd, write_done);
}

/*
 * The limits of --max-key-bytes, --max-value-bytes and --max-txn-ops,
 * checked before a command is proposed: the fsm would refuse it the same
 * way (deterministically, on every replica), but a request that cannot
 * succeed should neither cost a log entry nor go unlogged.
 */
static int op_limits(const struct config *cfg, uint8_t type,
		     const struct proto_put *put, const struct proto_delete *del,
		     const struct proto_range *range)
{
	switch (type) {
	case PROTO_CMD_PUT:
		if (put->key.len > cfg->max_key_bytes)
			return COORD_EKEYTOOBIG;
		if (put->value.len > cfg->max_value_bytes)
			return COORD_EVALUETOOBIG;
		return COORD_OK;
	case PROTO_CMD_DELETE:
		return del->key.len > cfg->max_key_bytes ||
				       del->end.len > cfg->max_key_bytes
			       ? COORD_EKEYTOOBIG
			       : COORD_OK;
	case PROTO_CMD_RANGE:
		return range->key.len > cfg->max_key_bytes ||
				       range->end.len > cfg->max_key_bytes
			       ? COORD_EKEYTOOBIG
			       : COORD_OK;
	default:
		return COORD_OK;
	}
}

static int cmd_limits(const struct config *cfg, const struct proto_cmd *cmd)
{
	const struct proto_txn *t = &cmd->u.txn;
	int rc;

	if (cmd->type != PROTO_CMD_TXN)
		return op_limits(cfg, cmd->type, &cmd->u.put, &cmd->u.del,
				 &cmd->u.range);
	if (t->n_compares > cfg->max_txn_ops ||
	    t->n_success > cfg->max_txn_ops || t->n_failure > cfg->max_txn_ops)
		return COORD_ETXNTOOBIG;
	for (size_t i = 0; i < t->n_compares; i++)
		if (t->compares[i].key.len > cfg->max_key_bytes)
			return COORD_EKEYTOOBIG;
	for (size_t b = 0; b < 2; b++) {
		const struct proto_op *ops = b == 0 ? t->success : t->failure;
		size_t n = b == 0 ? t->n_success : t->n_failure;

		for (size_t i = 0; i < n; i++) {
			rc = op_limits(cfg, ops[i].type, &ops[i].u.put,
				       &ops[i].u.del, &ops[i].u.range);
			if (rc != COORD_OK)
				return rc;
		}
	}
	return COORD_OK;
}

static bool limits_ok(struct client *cl, const struct proto_request *rq,
		      const struct proto_cmd *cmd)
{
	int rc = cmd_limits(cl->net->cfg, cmd);

	if (rc == COORD_OK)
		return true;
	log_warn("client addr=%s: %s refused: %s (%s)", cl->conn->addr,
		 proto_kind_name(rq->kind), coord_strerror(rc),
		 coord_error_name(rc));
	send_error(cl, rq->kind, rq->request_id, rc);
	return false;
}

static void on_write(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	if (rq->fences.n > 0) {
		/* No lock holds a grant in this version: a fence can never
		 * name the current one (DESIGN.md, Fenced writes). */
		send_error(cl, rq->kind, rq->request_id, COORD_EFENCED);
		return;
	}
	memset(&cmd, 0, sizeof(cmd));
	switch (rq->kind) {
	case PROTO_PUT:
		cmd.type = PROTO_CMD_PUT;
		cmd.u.put = rq->u.put;
		break;
	case PROTO_DELETE:
		cmd.type = PROTO_CMD_DELETE;
		cmd.u.del = rq->u.del;
		break;
	case PROTO_TXN:
		cmd = rq->u.txn;
		break;
	default:
		cmd.type = PROTO_CMD_COMPACT;
		cmd.u.compact = rq->u.compact;
		break;
	}
	if (!limits_ok(cl, rq, &cmd))
		return;
	rc = propose_cmd(cl, rq, &cmd);
	if (rc != COORD_OK)
		send_error(cl, rq->kind, rq->request_id, rc);
}

/* Copies b into *dst at *at. */
static struct proto_bytes bounds_copy(uint8_t *base, size_t *at,
				      struct proto_bytes b)
{
	struct proto_bytes out = { base + *at, b.len };

	if (b.len > 0)
		memcpy(base + *at, b.data, b.len);
	*at += b.len;
	return out;
}

static void on_range(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	const struct proto_range_req *r = &rq->u.range;
	struct req *q;
	size_t at = 0;

	{
		struct proto_cmd cmd;

		cmd.type = PROTO_CMD_RANGE;
		cmd.u.range = r->range;
		if (!limits_ok(cl, rq, &cmd))
			return;
	}
	if (r->serializable) {
		range_serve(cl, rq->kind, rq->request_id, &r->range);
		return;
	}
	if (net->stopping) {
		send_error(cl, rq->kind, rq->request_id, COORD_ENOTLEADER);
		return;
	}
	q = req_new(cl, rq);
	if (q == NULL) {
		send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	/* The frame goes away: the bounds travel with the request. */
	q->range = r->range;
	q->bounds = malloc(r->range.key.len + r->range.end.len + 1);
	if (q->bounds == NULL) {
		req_free(q);
		send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	q->range.key = bounds_copy(q->bounds, &at, r->range.key);
	q->range.end = bounds_copy(q->bounds, &at, r->range.end);
	node_read(net->node, &q->w, read_done, q);
	net_kick(net);
}

static uint8_t *dup_bytes(struct proto_bytes b)
{
	uint8_t *p = malloc(b.len + 1);

	if (p != NULL && b.len > 0)
		memcpy(p, b.data, b.len);
	return p;
}

static void watch_free(struct watch *w)
{
	free(w->key);
	free(w->end);
	free(w);
}

static void on_watch_create(struct client *cl, const struct proto_request *rq)
{
	const struct proto_watch_create *wc = &rq->u.watch_create;
	struct fsm *f = node_fsm(cl->net->node);
	struct proto_response r;
	struct watch *w;

	if (cl->net->n_watches >= cl->net->cfg->max_watches) {
		log_warn("client addr=%s: watch refused: max-watches (%zu) "
			 "reached on this node", cl->conn->addr,
			 cl->net->cfg->max_watches);
		send_error(cl, rq->kind, rq->request_id,
			   COORD_ETOOMANYWATCHES);
		return;
	}
	if (cl->n_watches >= cl->net->cfg->max_watches_per_conn) {
		log_warn("client addr=%s: watch refused: max-watches-per-conn "
			 "(%zu) reached", cl->conn->addr,
			 cl->net->cfg->max_watches_per_conn);
		send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	if (wc->key.len > cl->net->cfg->max_key_bytes ||
	    wc->end.len > cl->net->cfg->max_key_bytes) {
		log_warn("client addr=%s: WATCH_CREATE refused: %s",
			 cl->conn->addr, coord_strerror(COORD_EKEYTOOBIG));
		send_error(cl, rq->kind, rq->request_id, COORD_EKEYTOOBIG);
		return;
	}
	if (wc->start_revision != 0 &&
	    wc->start_revision <= fsm_compact_revision(f)) {
		send_error(cl, rq->kind, rq->request_id, COORD_ECOMPACTED);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->key = dup_bytes(wc->key)) == NULL ||
	    (w->end = dup_bytes(wc->end)) == NULL) {
		if (w != NULL)
			watch_free(w);
		send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	w->key_len = wc->key.len;
	w->end_len = wc->end.len;
	w->flags = wc->flags;
	w->prev_kv = wc->prev_kv;
	w->id = ++cl->watch_id_next;
	w->next_rev = wc->start_revision != 0 ? wc->start_revision
					      : fsm_revision(f) + 1;
	w->cl = cl;
	w->next = cl->watches;
	cl->watches = w;
	cl->n_watches++;
	cl->n_unsynced++;
	cl->net->n_watches++;
	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.leader_hint = leader_hint(cl->net);
	r.has_body = true;
	r.u.watch.watch_id = w->id;
	r.u.watch.start_revision = w->next_rev;
	send_response(cl, &r);
	/* Events already in history go out with the next flush. */
	net_kick(cl->net);
}

/* w, already unlinked from cl->watches, goes. */
static void watch_drop(struct client *cl, struct watch *w)
{
	if (w->synced)
		widx_remove(&cl->net->watch_idx, &w->ix);
	else
		cl->n_unsynced--;
	cl->n_watches--;
	cl->net->n_watches--;
	watch_free(w);
}

static bool watch_remove(struct client *cl, uint64_t id)
{
	for (struct watch **pp = &cl->watches; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			struct watch *w = *pp;

			*pp = w->next;
			watch_drop(cl, w);
			return true;
		}
	}
	return false;
}

static void on_watch_cancel(struct client *cl, const struct proto_request *rq)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.code = watch_remove(cl, rq->u.watch_cancel.watch_id)
			 ? COORD_OK
			 : COORD_ENOTFOUND;
	r.leader_hint = leader_hint(cl->net);
	r.has_body = r.code == COORD_OK;
	send_response(cl, &r);
}

static void on_status(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct raft *raft = node_raft(net->node);
	struct fsm *f = node_fsm(net->node);
	struct proto_response r;
	uint64_t hash = 0;
	int rc = fsm_hash(f, &hash);

	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.code = rc;
	r.leader_hint = raft_leader(raft);
	r.has_body = rc == COORD_OK;
	r.u.status.version = PROTO_VERSION;
	r.u.status.node_id = net->id;
	r.u.status.node_name = proto_bytes_make(net->cfg->name,
						strlen(net->cfg->name));
	r.u.status.leader = raft_leader(raft);
	r.u.status.term = raft_term(raft);
	r.u.status.revision = fsm_revision(f);
	r.u.status.applied_index = fsm_applied_index(f);
	r.u.status.commit_index = raft_commit_index(raft);
	r.u.status.state_hash = hash;
	send_response(cl, &r);
}

static void on_member_list(struct client *cl, const struct proto_request *rq)
{
	static struct fsm_member table[COORD_MEMBERS_MAX];
	struct net *net = cl->net;
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	struct proto_member ms[2 * RAFT_NODES_MAX];
	struct proto_response r;
	size_t n = 0, n_table = 0;
	int rc;

	rc = fsm_members(node_fsm(net->node), table, COORD_MEMBERS_MAX,
			 &n_table);
	if (rc != COORD_OK) {
		send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	/* Every member of the configuration, with its addresses from the
	 * member table, else from --initial-cluster. */
	for (uint32_t pass = 0; pass < 2; pass++) {
		const uint64_t *ids = pass == 0 ? conf->voters : conf->learners;
		uint32_t count = pass == 0 ? conf->n_voters : conf->n_learners;

		for (uint32_t i = 0; i < count; i++) {
			struct proto_member *m = &ms[n++];
			const char *name = "", *peer = "", *client = "";
			const char *http = "";

			for (size_t k = 0; k < n_table; k++) {
				if (table[k].id == ids[i]) {
					name = table[k].name;
					peer = table[k].peer_addr;
					client = table[k].client_addr;
					http = table[k].http_addr;
				}
			}
			for (size_t k = 0; k < net->cfg->n_members && !*name;
			     k++) {
				const struct config_member *c =
					&net->cfg->members[k];

				if (c->id == ids[i]) {
					name = c->name;
					peer = c->peer_addr;
				}
			}
			if (ids[i] == net->id)
				client = net->cfg->client_addr;
			m->id = ids[i];
			m->name = proto_bytes_make(name, strlen(name));
			m->peer_addr = proto_bytes_make(peer, strlen(peer));
			m->client_addr = proto_bytes_make(client, strlen(client));
			m->http_addr = proto_bytes_make(http, strlen(http));
			m->learner = pass == 1;
		}
	}
	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.leader_hint = leader_hint(net);
	r.has_body = true;
	r.u.member_list.members.v = ms;
	r.u.member_list.members.n = n;
	send_response(cl, &r);
}

/* ---------------------------------------------------------------------- */
/* Admin requests (issue 14 section 4): who may make them, and the
 * configuration changes and transfers refused because they could cost
 * the cluster its quorum or its stability. */

static bool kind_is_admin(uint32_t kind)
{
	return kind == PROTO_MEMBER_ADD || kind == PROTO_MEMBER_REMOVE ||
	       kind == PROTO_MEMBER_PROMOTE || kind == PROTO_TRANSFER_LEADER ||
	       kind == PROTO_COMPACT;
}

/* Whether the client's address is in --admin-addrs (v4-mapped v6
 * addresses count as v4). */
static bool client_addr_is_admin(struct client *cl)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *list = cl->net->cfg->admin_addrs;
	bool match = false;
	int rc = -1;

	if (getpeername(bufferevent_getfd(cl->conn->bev), (struct sockaddr *)&ss,
			&len) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		rc = config_admin_addrs_match(
			list, AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			&match);
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		rc = IN6_IS_ADDR_V4MAPPED(a)
			     ? config_admin_addrs_match(list, AF_INET,
							a->s6_addr + 12, &match)
			     : config_admin_addrs_match(list, AF_INET6,
							a->s6_addr, &match);
	}
	return rc == 0 && match;
}

/* With client certificates, the certificate's names decide; without,
 * the client's address (config.h). COORD_EPERM, logged, otherwise. */
static bool admin_ok(struct client *cl, const struct proto_request *rq)
{
	const struct config *cfg = cl->net->cfg;
	bool certs = cl->net->client_tls != NULL && cfg->client_cert_auth;

	if (!kind_is_admin(rq->kind))
		return true;
	if (certs ? tls_conn_name_listed(cl->conn, cfg->admin_names)
		  : client_addr_is_admin(cl))
		return true;
	log_warn("client addr=%s: %s refused: not an admin (%s)",
		 cl->conn->addr, proto_kind_name(rq->kind),
		 certs ? "no name of its certificate is in --admin-names"
		       : "its address is not in --admin-addrs");
	send_error(cl, rq->kind, rq->request_id, COORD_EPERM);
	return false;
}

/* Whether the learner id holds the committed log but for at most slack
 * entries (the leader's view), as promotion requires; a learner that has
 * acknowledged nothing never has. */
static bool learner_caught_up(struct raft *r, uint64_t id, uint64_t slack)
{
	uint64_t match;

	return raft_progress_match(r, id, &match) == RAFT_OK && match > 0 &&
	       match + slack >= raft_commit_index(r);
}

/* etcd's strict reconfiguration check: after the change (op on id), a
 * quorum of the voters is reachable now -- this node and the members
 * whose peer connection is up. COORD_EUNSAFE otherwise. */
static int conf_change_safe(struct net *net, enum raft_conf_op op,
			    uint64_t id)
{
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	size_t voters = 0, up = 0;

	for (uint32_t i = 0; i < conf->n_voters; i++) {
		uint64_t v = conf->voters[i];

		if (op == RAFT_CONF_REMOVE && v == id)
			continue;
		voters++;
		up += v == net->id || peer_is_up(net, v);
	}
	if (op == RAFT_CONF_ADD_VOTER && !raft_conf_is_voter(conf, id)) {
		voters++;
		up += id == net->id || peer_is_up(net, id);
	}
	return voters > 0 && up >= voters / 2 + 1 ? COORD_OK : COORD_EUNSAFE;
}

/* The checks of a client's MEMBER_PROMOTE or MEMBER_REMOVE before
 * anything is proposed: COORD_OK or COORD_EUNSAFE, logged. */
static int member_change_check(struct client *cl, uint32_t kind, uint64_t id)
{
	struct net *net = cl->net;
	struct raft *r = node_raft(net->node);
	const struct raft_conf *conf = raft_conf(r);
	const char *why = NULL;

	if (kind == PROTO_MEMBER_PROMOTE && raft_conf_is_learner(conf, id)) {
		if (!peer_is_up(net, id))
			why = "the learner is not connected";
		else if (!learner_caught_up(r, id, NET_PROMOTE_LAG_ENTRIES))
			why = "the learner has not caught up";
		else if (conf_change_safe(net, RAFT_CONF_ADD_VOTER, id) !=
			 COORD_OK)
			why = "too few voters would be reachable";
	} else if (kind == PROTO_MEMBER_REMOVE && raft_conf_is_voter(conf, id) &&
		   conf_change_safe(net, RAFT_CONF_REMOVE, id) != COORD_OK) {
		why = "too few voters would be reachable";
	}
	if (why == NULL)
		return COORD_OK;
	log_warn("client addr=%s: %s of %016" PRIx64 " refused: %s",
		 cl->conn->addr, proto_kind_name(kind), id, why);
	return COORD_EUNSAFE;
}

/* --transfer-interval-ms between two transfers asked of this node. */
static bool transfer_rate_ok(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	uint64_t now = net_now_ms();
	unsigned interval = net->cfg->transfer_interval_ms;

	if (interval == 0 || net->transfer_last_ms == 0 ||
	    now - net->transfer_last_ms >= interval)
		return true;
	log_warn("client addr=%s: TRANSFER_LEADER refused: the last one was "
		 "%" PRIu64 " ms ago (--transfer-interval-ms %u)",
		 cl->conn->addr, now - net->transfer_last_ms, interval);
	send_error(cl, rq->kind, rq->request_id, COORD_ERATELIMITED);
	return false;
}

/*
 * MEMBER_ADD: the member's addresses go into the replicated member table
 * first (so that every node dials it), then a Raft configuration change
 * makes it a learner; with promote (not asked for as a learner) the
 * leader makes it a voter once it has caught up (members_promote()).
 * MEMBER_REMOVE: the table entry goes, then the configuration change.
 * MEMBER_PROMOTE: ADD_VOTER at once (Raft refuses while another change is
 * pending: COORD_EINVAL, retry).
 */
static void member_conf_done(void *ctx, int code, const uint8_t *reply,
			     size_t len)
{
	struct req *q = ctx;

	(void)reply;
	(void)len;
	send_error(q->cl, q->kind, q->request_id, code);
	req_free(q);
}

static int member_conf_change(struct client *cl, struct req *q,
			      enum raft_conf_op op)
{
	const struct raft_conf *conf = raft_conf(node_raft(cl->net->node));
	bool present = raft_conf_is_voter(conf, q->member_id) ||
		       raft_conf_is_learner(conf, q->member_id);
	int rc;

	/* Only a member can be promoted. */
	if (op == RAFT_CONF_ADD_VOTER && !present)
		return COORD_ENOTFOUND;
	/* Already done (a retry after a failover): nothing to change. */
	if ((op == RAFT_CONF_ADD_LEARNER && present) ||
	    (op == RAFT_CONF_REMOVE && !present) ||
	    (op == RAFT_CONF_ADD_VOTER && raft_conf_is_voter(conf, q->member_id))) {
		member_conf_done(q, COORD_OK, NULL, 0);
		return COORD_OK;
	}
	rc = node_conf_change(cl->net->node, op, q->member_id, &q->w,
			      member_conf_done, q);
	if (rc != COORD_OK)
		return rc;
	net_kick(cl->net);
	return COORD_OK;
}

/* The member table changed (MEMBER_PUT for an add, MEMBER_DEL for a
 * remove -- the table entry goes first, so that no leader change between
 * the two steps can leave an entry of a removed member that everybody
 * keeps dialing): now the configuration. */
static void member_put_done(void *ctx, int code, const uint8_t *reply,
			    size_t len)
{
	struct req *q = ctx;
	struct proto_reply rp;

	if (code == COORD_OK) {
		proto_arena_reset(&q->cl->net->arena);
		code = proto_reply_decode(reply, len, &q->cl->net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	if (code == COORD_OK)
		code = member_conf_change(q->cl, q,
					  q->kind == PROTO_MEMBER_ADD
						  ? RAFT_CONF_ADD_LEARNER
						  : RAFT_CONF_REMOVE);
	if (code != COORD_OK) {
		send_error(q->cl, q->kind, q->request_id, code);
		req_free(q);
	}
}

/* The member table's entry, proposed under the request's exactly-once
 * identity; member_put_done() goes on with the configuration. */
static int member_table_propose(struct net *net,
				const struct proto_request *rq,
				const struct proto_cmd *cmd, struct req *q)
{
	struct proto_entry en;
	int rc;

	en.client_id = rq->client_id;
	en.sequence = rq->sequence;
	en.ack = rq->ack;
	en.now_ms = net_cluster_now_ms(net);
	en.cmd = *cmd;
	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(&en, &net->scratch);
	if (rc == COORD_OK)
		rc = node_propose(net->node, net->scratch.data,
				  net->scratch.len, &q->w, member_put_done, q);
	if (rc == COORD_OK)
		net_kick(net);
	return rc;
}

static void on_member_change(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct proto_cmd cmd;
	struct req *q;
	int rc;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping) {
		send_error(cl, rq->kind, rq->request_id, not_leader_code(net));
		return;
	}
	if (rq->kind != PROTO_MEMBER_ADD) {
		rc = member_change_check(cl, rq->kind, rq->u.member.id);
		if (rc != COORD_OK) {
			send_error(cl, rq->kind, rq->request_id, rc);
			return;
		}
	}
	q = req_new(cl, rq);
	if (q == NULL) {
		send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	if (rq->kind == PROTO_MEMBER_ADD) {
		const struct proto_member *m = &rq->u.member_add.member;
		const struct raft_conf *conf = raft_conf(node_raft(net->node));
		const char *addr = peer_addr_of(net, m->id);

		/* A member again with the address it has: a retry, fine;
		 * with another address (or a name clash): refused -- remove
		 * it first. */
		if (m->id == net->id ||
		    ((raft_conf_is_voter(conf, m->id) ||
		      raft_conf_is_learner(conf, m->id)) &&
		     (strlen(addr) != m->peer_addr.len ||
		      memcmp(addr, m->peer_addr.data, m->peer_addr.len) != 0))) {
			log_warn("client addr=%s: MEMBER_ADD of %.*s refused: "
				 "already a member at another address",
				 cl->conn->addr, (int)m->name.len,
				 (const char *)m->name.data);
			req_free(q);
			send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
			return;
		}
		if (!raft_conf_is_voter(conf, m->id) &&
		    !raft_conf_is_learner(conf, m->id) &&
		    conf->n_voters + conf->n_learners >= RAFT_NODES_MAX) {
			/* Refused before the member table grows: Raft would
			 * refuse the configuration change anyway. */
			log_warn("client addr=%s: MEMBER_ADD refused: %d "
				 "members already", cl->conn->addr,
				 RAFT_NODES_MAX);
			req_free(q);
			send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
			return;
		}
		q->member_id = m->id;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_MEMBER_PUT;
		cmd.u.member_put.id = m->id;
		cmd.u.member_put.name = m->name;
		cmd.u.member_put.peer_addr = m->peer_addr;
		cmd.u.member_put.client_addr = m->client_addr;
		cmd.u.member_put.promote = !m->learner;
		rc = member_table_propose(net, rq, &cmd, q);
	} else if (rq->kind == PROTO_MEMBER_REMOVE) {
		q->member_id = rq->u.member.id;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_MEMBER_DEL;
		cmd.u.member_del.id = q->member_id;
		rc = member_table_propose(net, rq, &cmd, q);
	} else {
		q->member_id = rq->u.member.id;
		rc = member_conf_change(cl, q, RAFT_CONF_ADD_VOTER);
		if (rc == COORD_OK)
			return;
	}
	if (rc != COORD_OK) {
		send_error(cl, rq->kind, rq->request_id, rc);
		req_free(q);
	}
}

bool clients_member_removing(const struct net *net, uint64_t id)
{
	for (const struct client *cl = net->clients; cl != NULL; cl = cl->next)
		for (const struct req *q = cl->reqs; q != NULL; q = q->next)
			if (q->kind == PROTO_MEMBER_REMOVE && q->member_id == id)
				return true;
	return false;
}

/* Leader: learners marked promote become voters once they hold the whole
 * committed log. One change at a time: Raft refuses the next while one
 * is pending, and the next tick tries again. */
void members_promote(struct net *net)
{
	static struct fsm_member table[COORD_MEMBERS_MAX];
	struct raft *r = node_raft(net->node);
	const struct raft_conf *conf = raft_conf(r);
	size_t n = 0;

	if (conf->n_learners == 0 ||
	    fsm_members(node_fsm(net->node), table, COORD_MEMBERS_MAX, &n) !=
		    COORD_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		struct node_waiter *w;

		if (!table[i].promote || !raft_conf_is_learner(conf, table[i].id) ||
		    !learner_caught_up(r, table[i].id, 0) ||
		    conf_change_safe(net, RAFT_CONF_ADD_VOTER, table[i].id) !=
			    COORD_OK)
			continue;
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return;
		if (node_conf_change(net->node, RAFT_CONF_ADD_VOTER,
				     table[i].id, w, expire_done, w) != COORD_OK) {
			free(w);
			return;
		}
		log_info("promoting learner %s (%016" PRIx64 ") to voter",
			 table[i].name, table[i].id);
		net_kick(net);
		return;
	}
}

/* ---------------------------------------------------------------------- */
/* Exactly-once registration (coordd/fsm/fsm.h). */

static void register_done(void *ctx, int code, const uint8_t *reply,
			  size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_reply rp;
	struct proto_response r;

	if (code == COORD_OK) {
		proto_arena_reset(&cl->net->arena);
		code = proto_reply_decode(reply, len, &cl->net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	if (code == COORD_ECLIENTSFULL)
		log_warn("client addr=%s: REGISTER_CLIENT refused: the client "
			 "table is full of clients active within "
			 "client-retry-horizon-ms",
			 cl->conn != NULL ? cl->conn->addr : "-");
	if (code != COORD_OK) {
		send_error(cl, q->kind, q->request_id, code);
	} else {
		memset(&r, 0, sizeof(r));
		r.kind = q->kind;
		r.request_id = q->request_id;
		r.leader_hint = leader_hint(cl->net);
		r.has_body = true;
		r.u.register_client.client_id = rp.u.register_client.client_id;
		send_response(cl, &r);
	}
	req_free(q);
}

/* One token per registration: COORD_CLIENT_REGISTER_BURST at once, then
 * COORD_CLIENT_REGISTERS_PER_S, per connection, so that no connection
 * can flood the table (it still cannot evict a recent client: the fsm
 * refuses with COORD_ECLIENTSFULL instead). */
static bool register_token_take(struct client *cl)
{
	const uint64_t per = 1000u / COORD_CLIENT_REGISTERS_PER_S;
	const uint64_t cap = COORD_CLIENT_REGISTER_BURST * per;
	uint64_t now = net_now_ms();

	if (cl->reg_last_ms == 0)
		cl->reg_tokens_ms = cap;
	else
		cl->reg_tokens_ms += now - cl->reg_last_ms;
	if (cl->reg_tokens_ms > cap)
		cl->reg_tokens_ms = cap;
	cl->reg_last_ms = now;
	if (cl->reg_tokens_ms < per)
		return false;
	cl->reg_tokens_ms -= per;
	return true;
}

static void on_register(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	if (!raft_is_leader(node_raft(cl->net->node)) || cl->net->stopping) {
		send_error(cl, rq->kind, rq->request_id,
			   not_leader_code(cl->net));
		return;
	}
	if (!register_token_take(cl)) {
		log_warn("client addr=%s: REGISTER_CLIENT refused: more than "
			 "%d at once or %d/s on one connection",
			 cl->conn->addr, COORD_CLIENT_REGISTER_BURST,
			 COORD_CLIENT_REGISTERS_PER_S);
		send_error(cl, rq->kind, rq->request_id, COORD_EREGISTERRATE);
		return;
	}
	/* The request is not mutating: the entry has no client id. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_REGISTER_CLIENT;
	cmd.u.register_client.horizon_ms =
		cl->net->cfg->client_retry_horizon_ms;
	rc = propose_entry(cl, rq, &cmd, register_done);
	if (rc != COORD_OK)
		send_error(cl, rq->kind, rq->request_id, rc);
}

static void on_transfer(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	uint64_t to = rq->u.member.id;
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	int rc;

	(void)conf;
	if (!transfer_rate_ok(cl, rq))
		return;
	if (to == 0)
		to = net_transfer_target(net);
	rc = node_transfer_leadership(net->node, to);
	if (rc == COORD_OK) {
		net->transfer_last_ms = net_now_ms();
		net_kick(net);
	}
	send_error(cl, rq->kind, rq->request_id, rc);
}

static int client_frame(struct conn *c, const uint8_t *body, size_t len)
{
	struct client *cl = c->ctx;
	struct net *net = cl->net;
	struct proto_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	proto_arena_reset(&net->arena);
	rc = proto_request_decode(body, len, &net->arena, &rq);
	if (rq.kind < sizeof(net->requests_by_kind) /
			      sizeof(net->requests_by_kind[0]))
		net->requests_by_kind[rq.kind]++;
	if (rc != COORD_OK) {
		log_warn("client addr=%s: bad request kind=%" PRIu32 ": %s",
			 c->addr, rq.kind, coord_strerror(rc));
		send_error(cl, rq.kind, rq.request_id, rc);
		return 0;
	}
	if (!cl->hello && rq.kind != PROTO_HELLO) {
		log_warn("client addr=%s: %s before HELLO: closing", c->addr,
			 proto_kind_name(rq.kind));
		send_error(cl, rq.kind, rq.request_id, COORD_EPROTOVERSION);
		return 1;
	}
	if (!admin_ok(cl, &rq))
		return 0;
	switch (rq.kind) {
	case PROTO_HELLO:
		on_hello(cl, &rq);
		return 0;
	case PROTO_PUT:
	case PROTO_DELETE:
	case PROTO_TXN:
	case PROTO_COMPACT:
		on_write(cl, &rq);
		return 0;
	case PROTO_RANGE:
		on_range(cl, &rq);
		return 0;
	case PROTO_WATCH_CREATE:
		on_watch_create(cl, &rq);
		return 0;
	case PROTO_WATCH_CANCEL:
		on_watch_cancel(cl, &rq);
		return 0;
	case PROTO_STATUS:
		on_status(cl, &rq);
		return 0;
	case PROTO_MEMBER_LIST:
		on_member_list(cl, &rq);
		return 0;
	case PROTO_TRANSFER_LEADER:
		on_transfer(cl, &rq);
		return 0;
	case PROTO_REGISTER_CLIENT:
		on_register(cl, &rq);
		return 0;
	case PROTO_MEMBER_ADD:
	case PROTO_MEMBER_REMOVE:
	case PROTO_MEMBER_PROMOTE:
		on_member_change(cl, &rq);
		return 0;
	default:
		log_warn("client addr=%s: %s is not served by this version",
			 c->addr, proto_kind_name(rq.kind));
		send_error(cl, rq.kind, rq.request_id, COORD_EUNKNOWNMSG);
		return 0;
	}
}

/* ---------------------------------------------------------------------- */
/* Watches. */

/* One push frame on cl's connection: COORD_OK, or the encoder's or the
 * frame's error (COORD_EFRAMETOOBIG for one over the response limit). */
static int send_push(struct client *cl, const struct proto_push *p)
{
	size_t mark;
	int rc = conn_frame_begin(cl->conn, &mark);

	if (rc == COORD_OK)
		rc = proto_push_encode(p, &cl->conn->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(cl->conn, mark,
				     COORD_RESPONSE_FRAME_BYTES_MAX);
	return rc;
}

static void watch_push_canceled(struct client *cl, struct watch *w, int code,
				uint64_t compact_rev)
{
	struct proto_push p;

	memset(&p, 0, sizeof(p));
	p.kind = PROTO_PUSH_WATCH_CANCELED;
	p.u.watch_canceled.watch_id = w->id;
	p.u.watch_canceled.code = code;
	p.u.watch_canceled.compact_revision = compact_rev;
	send_push(cl, &p);
}

/* The events at the start of ev, whole revisions only, whose encoding
 * stays within bytes (estimated: keys, values and 64 bytes of envelope
 * per event), and at least the first revision's; *rev_next where the
 * rest starts. */
static size_t events_fitting(const struct fsm_events *ev, size_t bytes,
			     uint64_t *rev_next)
{
	size_t used = 0, n = 0;

	*rev_next = ev->rev_next;
	while (n < ev->n_events) {
		uint64_t rev = ev->events[n].kv.mod_revision;
		size_t end = n, sz = 0;

		while (end < ev->n_events &&
		       ev->events[end].kv.mod_revision == rev) {
			const struct proto_event *e = &ev->events[end];

			sz += 64 + e->kv.key.len + e->kv.value.len;
			if (e->has_prev_kv)
				sz += e->prev_kv.key.len + e->prev_kv.value.len;
			end++;
		}
		if (n > 0 && used + sz > bytes) {
			*rev_next = rev;
			break;
		}
		used += sz;
		n = end;
	}
	return n;
}

/*
 * Pushes what the watch has not seen yet, at most about WATCH_PUSH_BYTES
 * per call; false: the watch ended. Each watch reads w->batch events at
 * a time: it doubles while everything read fits one push and falls to
 * what did fit otherwise, so a watch over large values reads little more
 * than it sends (a flush must not copy the history once per watch).
 */
static bool watch_catch_up(struct client *cl, struct watch *w)
{
	struct fsm *f = node_fsm(cl->net->node);
	struct proto_range filter;
	struct fsm_events ev;
	struct proto_push p;
	uint64_t rev_next;
	size_t n;
	int rc;

	if (w->next_rev > fsm_revision(f))
		return true;
	if (w->batch == 0)
		w->batch = WATCH_BATCH_FIRST;
	memset(&filter, 0, sizeof(filter));
	filter.key = proto_bytes_make(w->key, w->key_len);
	filter.end = proto_bytes_make(w->end, w->end_len);
	filter.flags = w->flags;
	cl->net->watch_reads_total++;
	rc = fsm_events_read(f, w->next_rev, &filter, w->batch,
			     w->prev_kv ? FSM_EVENTS_PREV_KV : 0, &ev);
	if (rc == COORD_ECOMPACTED) {
		watch_push_canceled(cl, w, rc, fsm_compact_revision(f));
		return false;
	}
	if (rc != COORD_OK) {
		log_warn("watch id=%" PRIu64 ": reading events: %s", w->id,
			 coord_strerror(rc));
		watch_push_canceled(cl, w, rc, 0);
		return false;
	}
	n = events_fitting(&ev, WATCH_PUSH_BYTES, &rev_next);
	if (n < ev.n_events)
		w->batch = n;
	else if (ev.rev_next <= fsm_revision(f) && w->batch * 2 <=
							WATCH_EVENTS_PER_FLUSH)
		w->batch *= 2;
	if (n > 0) {
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_WATCH_EVENTS;
		p.u.watch_events.watch_id = w->id;
		p.u.watch_events.events.v = ev.events;
		p.u.watch_events.events.n = n;
		/* One revision alone may pass WATCH_PUSH_BYTES: it goes in
		 * one push up to the frame limit. */
		rc = send_push(cl, &p);
		if (rc != COORD_OK) {
			log_warn("watch id=%" PRIu64 ": events not sent: %s",
				 w->id, coord_strerror(rc));
			watch_push_canceled(cl, w, rc, 0);
			return false;
		}
	}
	w->next_rev = rev_next;
	return true;
}

/* A synced watch that a new event may match: it reads from where the
 * synced ones stood (*arg). */
static void watch_unsync_cb(struct widx_entry *e, void *arg)
{
	struct watch *w = (struct watch *)(void *)((char *)e -
						   offsetof(struct watch, ix));

	w->synced = false;
	w->next_rev = *(const uint64_t *)arg;
	w->cl->n_unsynced++;
}

/*
 * The events of the revisions applied since the last flush, read once
 * for all synced watches: each key takes out of the index only the
 * watches it may match (the others stay synced, untouched). A read that
 * fails (a snapshot past compacted history) unsyncs every watch: each
 * then meets the error on its own read.
 */
static void watches_dispatch(struct net *net)
{
	struct fsm *f = node_fsm(net->node);
	uint64_t rev = fsm_revision(f), from = net->watch_rev + 1, at = from;

	if (rev <= net->watch_rev)
		return;
	while (at <= rev && (net->watch_idx.n_hashed > 0 ||
			     net->watch_idx.ranges != NULL)) {
		struct fsm_events ev;
		int rc = fsm_events_read(f, at, NULL, WATCH_EVENTS_PER_FLUSH, 0,
					 &ev);

		if (rc != COORD_OK || ev.rev_next <= at) {
			widx_take_all(&net->watch_idx, watch_unsync_cb, &from);
			break;
		}
		for (size_t i = 0; i < ev.n_events; i++)
			widx_take(&net->watch_idx, ev.events[i].kv.key.data,
				  ev.events[i].kv.key.len, watch_unsync_cb,
				  &from);
		at = ev.rev_next;
	}
	net->watch_rev = rev;
}

void clients_after_flush(struct net *net)
{
	watches_dispatch(net);
	for (struct client *cl = net->clients; cl != NULL; cl = cl->next) {
		struct watch **pp = &cl->watches;

		while (cl->conn != NULL && cl->n_unsynced > 0 && *pp != NULL) {
			struct watch *w = *pp;

			if (w->synced) {
				pp = &w->next;
				continue;
			}
			/* Before every push: a slow reader's watches wait
			 * until its output drains (client_drained()), and
			 * none are served while the node's output budget is
			 * spent (conn.c closes the slowest readers). */
			if (conn_output_len(cl->conn) > CONN_OUT_STALL ||
			    conn_out_over_budget(net))
				break;
			if (!watch_catch_up(cl, w)) {
				*pp = w->next;
				watch_drop(cl, w);
				continue;
			}
			/* Caught up: into the index (without memory it
			 * stays unsynced, which is slower, not wrong). */
			if (w->next_rev == net->watch_rev + 1 &&
			    widx_add(&net->watch_idx, &w->ix, w->key,
				     w->key_len, w->end_len,
				     w->flags) == COORD_OK) {
				w->synced = true;
				cl->n_unsynced--;
			}
			pp = &w->next;
		}
	}
}

void clients_leader_changed(struct net *net, uint64_t leader, uint64_t term)
{
	for (struct client *cl = net->clients; cl != NULL; cl = cl->next) {
		struct proto_push p;

		if (cl->conn == NULL || !cl->hello || cl->n_watches == 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_LEADER_CHANGE;
		p.u.leader_change.leader = leader;
		p.u.leader_change.term = term;
		send_push(cl, &p);
	}
}

/* ---------------------------------------------------------------------- */
/* Internal proposals. */

static void expire_done(void *ctx, int code, const uint8_t *reply,
			size_t len)
{
	(void)reply;
	(void)len;
	if (code != COORD_OK)
		log_debug("internal proposal not applied: %s",
			  coord_strerror(code));
	free(ctx);
}

int net_propose_internal(struct net *net, const struct proto_entry *en)
{
	struct node_waiter *w;
	int rc;

	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(en, &net->scratch);
	if (rc != COORD_OK)
		return rc;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return COORD_ENOMEM;
	rc = node_propose(net->node, net->scratch.data, net->scratch.len, w,
			  expire_done, w);
	if (rc != COORD_OK)
		free(w);
	return rc;
}

void clients_propose_expire(struct net *net)
{
	struct proto_entry en;

	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_CLIENTS_EXPIRE;
	en.cmd.u.clients_expire.now_ms = en.now_ms;
	en.cmd.u.clients_expire.idle_ms = net->cfg->client_idle_ms;
	net_propose_internal(net, &en);
}

/* ---------------------------------------------------------------------- */
/* Connections. */

static void client_maybe_free(struct client *cl)
{
	struct net *net = cl->net;

	if (cl->conn != NULL || cl->n_reqs > 0)
		return;
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		net->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	net->n_clients--;
	free(cl);
}

static void client_closed(struct conn *c, const char *why)
{
	struct client *cl = c->ctx;

	log_debug("client addr=%s closed: %s", c->addr, why);
	cl->conn = NULL;
	while (cl->watches != NULL) {
		struct watch *w = cl->watches;

		cl->watches = w->next;
		watch_drop(cl, w);
	}
	/* Requests in flight complete into the void (their entries may
	 * still commit: exactly-once makes the client's retry safe). */
	client_maybe_free(cl);
}

/* Idle but holding watches or waiting on the node: not idle. */
static bool client_idle_keep(struct conn *c)
{
	const struct client *cl = c->ctx;

	return cl->n_watches > 0 || cl->n_reqs > 0 || conn_output_len(c) > 0;
}

/* The output drained below its low mark: watches held back by a full
 * output go on with the next flush. */
static void client_drained(struct conn *c)
{
	const struct client *cl = c->ctx;

	if (cl->n_watches > 0)
		net_kick(cl->net);
}

static const struct conn_ops client_ops = { client_frame, client_closed,
					    client_drained, NULL };

void client_accept(struct net *net, struct bufferevent *bev,
		   const char *addr)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL) {
		bufferevent_free(bev);
		return;
	}
	cl->net = net;
	/* Until HELLO: a HELLO-sized frame at most (proto/limits.h). */
	cl->conn = conn_new(net, bev, &client_ops, cl,
			    COORD_HELLO_FRAME_BYTES_MAX, addr);
	if (cl->conn == NULL) {
		free(cl);
		return;
	}
	conn_budget_join(cl->conn);
	cl->conn->idle_keep = client_idle_keep;
	conn_hello_deadline(cl->conn, true);
	cl->next = net->clients;
	if (net->clients != NULL)
		net->clients->prev = cl;
	net->clients = cl;
	net->n_clients++;
	net->client_conns_total++;
}

size_t clients_in_flight(const struct net *net)
{
	size_t n = 0;

	for (const struct client *cl = net->clients; cl != NULL; cl = cl->next)
		n += cl->n_reqs;
	return n;
}

void clients_stop(struct net *net)
{
	struct client *cl = net->clients;

	while (cl != NULL) {
		struct client *next = cl->next;   /* cl may be freed */

		if (cl->conn != NULL && cl->n_reqs == 0)
			conn_close_after_flush(cl->conn);
		cl = next;
	}
}

void clients_free(struct net *net)
{
	while (net->clients != NULL) {
		struct client *cl = net->clients;

		while (cl->reqs != NULL) {
			struct req *q = cl->reqs;

			node_waiter_cancel(net->node, &q->w);
			cl->reqs = q->next;
			free(q->bounds);
			free(q);
		}
		cl->n_reqs = 0;
		if (cl->conn != NULL)
			conn_close(cl->conn, "shutting down");
		else
			client_maybe_free(cl);
	}
}
