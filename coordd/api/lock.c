/*
 * coordd/api/lock.c: locks -- acquire (now, or queued with the grant
 * pushed later), release, check, status -- and fenced writes' fences.
 * Semaphores (api/sem.c) share all of it but their own request: a wait
 * is per (session, kind, name), SEM_RELEASE and SEM_STATUS are served
 * here.
 *
 * What a lock means is the fsm's (coordd/fsm/lock.c): FIFO queues,
 * grants re-verified against the waiter's session on the cluster clock,
 * tokens. This file connects it to connections: a queued acquire leaves a
 * wait here, on the node the client is connected to, and the grant
 * arrives through the node's apply hook (locks_applied()) as a
 * PUSH_GRANT on that connection.
 *
 * A grant is never reported to a session whose TTL has run out on this
 * node's clock: if the grantee is overdue here when its grant applies
 * (the fsm judged it on the cluster clock when the command was
 * proposed), the push is held back and, on the leader, the session is
 * expired at once -- which releases the lock to the next waiter. Should
 * a keepalive of that session commit first (the expire is then stale and
 * changes nothing), the held grant is pushed when that keepalive applies.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/limits.h"

struct lock_wait {
	uint64_t session;
	uint8_t qkind;              /* FSM_QUEUE_LOCK, _SEM, _ELECTION, _JOB */
	uint8_t name[COORD_NAME_BYTES_MAX];
	size_t name_len;
	struct client *cl;
	uint32_t kind;              /* the request's */
	uint64_t request_id;
	uint64_t held_token;        /* granted, not reported yet */
	uint64_t held_job;          /* FSM_QUEUE_JOB: the job of held_token, */
	uint8_t *held_payload;      /* its payload (malloc'd) */
	size_t held_payload_len;
	uint32_t held_attempts;
	struct lock_wait *snext;    /* in the session's list (lease_ent) */
	struct lock_wait *sprev;
	struct lock_wait *cnext;    /* in the client's list */
	struct lock_wait *cprev;
};

static struct lock_wait *wait_find(struct lease_ent *e, uint8_t kind,
				   struct proto_bytes name)
{
	for (struct lock_wait *w = e->waits; w != NULL; w = w->snext)
		if (w->qkind == kind && w->name_len == name.len &&
		    memcmp(w->name, name.data, name.len) == 0)
			return w;
	return NULL;
}

/* Takes w out of its client's list (if it is in one). */
static void wait_client_unlink(struct lock_wait *w)
{
	if (w->cl == NULL)
		return;
	if (w->cprev != NULL)
		w->cprev->cnext = w->cnext;
	else
		w->cl->waits = w->cnext;
	if (w->cnext != NULL)
		w->cnext->cprev = w->cprev;
	w->cl = NULL;
	w->cnext = w->cprev = NULL;
}

static void wait_free(struct lease_ent *e, struct lock_wait *w)
{
	if (w->sprev != NULL)
		w->sprev->snext = w->snext;
	else
		e->waits = w->snext;
	if (w->snext != NULL)
		w->snext->sprev = w->sprev;
	wait_client_unlink(w);
	free(w->held_payload);
	free(w);
}

/* A job claim's grant carries its job (job_id 0: a lock's). */
static void push_grant(struct lock_wait *w, uint64_t token, uint64_t job_id,
		       struct proto_bytes job, uint32_t attempts)
{
	struct proto_push p;

	memset(&p, 0, sizeof(p));
	p.u.grant.job_id = job_id;
	p.u.grant.job = job;
	p.u.grant.attempts = attempts;
	p.kind = PROTO_PUSH_GRANT;
	p.u.grant.request_kind = w->kind;
	p.u.grant.request_id = w->request_id;
	p.u.grant.name = proto_bytes_make(w->name, w->name_len);
	p.u.grant.session = w->session;
	p.u.grant.token = token;
	if (w->cl != NULL && w->cl->conn != NULL)
		api_send_push(w->cl, &p);
}

/* The leader expires e at once (a grant to it found it overdue). */
static void expire_now(struct net *net, struct lease_ent *e)
{
	struct proto_entry en;

	if (!raft_is_leader(node_raft(net->node)))
		return;
	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_LEASE_EXPIRE;
	en.cmd.u.lease_expire.lease = e->id;
	en.cmd.u.lease_expire.ka_index = e->ka_index;
	if (net_propose_internal(net, &en) == COORD_OK) {
		net->expires_total++;
		log_info("session %" PRIu64 ": granted a lock while overdue "
			 "on this node's clock: grant withheld, expiring it",
			 e->id);
		net_kick(net);
	}
}

/* A grant of the fsm: pushed to the waiting connection, or held back
 * while the session is overdue here. */
static void grant_report(struct net *net, const struct fsm_grant *g)
{
	struct lease_ent *e = lease_find(net, g->session);
	struct lock_wait *w;

	if (e == NULL || (w = wait_find(e, g->kind, g->name)) == NULL)
		return;
	if (lease_overdue(net, e)) {
		/* Kept for a keepalive that may still commit first: the
		 * fsm's memory of g is gone by then. */
		if (g->job.len > 0) {
			free(w->held_payload);
			w->held_payload = malloc(g->job.len);
			if (w->held_payload == NULL)
				return;     /* never pushed: the claim ends */
			memcpy(w->held_payload, g->job.data, g->job.len);
		}
		net->grants_withheld_total++;
		w->held_token = g->token;
		w->held_job = g->job_id;
		w->held_payload_len = g->job.len;
		w->held_attempts = g->attempts;
		expire_now(net, e);
		return;
	}
	net->grants_pushed_total++;
	if (g->kind == FSM_QUEUE_SEM)
		net->sem_grants_pushed_total++;
	push_grant(w, g->token, g->job_id, g->job, g->attempts);
	wait_free(e, w);
}

static void kicks_update(struct net *net, const struct fsm_queue_wake *w);

void locks_applied(struct net *net, const struct fsm_result *res)
{
	for (size_t i = 0; i < res->n_wakes; i++)
		kicks_update(net, &res->wakes[i]);
	for (size_t i = 0; i < res->n_grants; i++)
		grant_report(net, &res->grants[i]);
}

void locks_session_touched(struct net *net, struct lease_ent *e)
{
	struct lock_wait *w, *next;

	(void)net;
	if (e == NULL)
		return;
	for (w = e->waits; w != NULL; w = next) {
		next = w->snext;
		if (w->held_token != 0) {
			push_grant(w, w->held_token, w->held_job,
				   proto_bytes_make(w->held_payload,
						    w->held_payload_len),
				   w->held_attempts);
			wait_free(e, w);
		}
	}
}

void locks_session_gone(struct net *net, struct lease_ent *e)
{
	(void)net;
	while (e->waits != NULL)
		wait_free(e, e->waits);
}

uint64_t queue_held_token(struct net *net, uint8_t kind, uint64_t session,
			  struct proto_bytes name)
{
	struct fsm_queue_status st;

	if (fsm_queue_status(node_fsm(net->node), kind, name, 0, &st) !=
	    COORD_OK)
		return 0;
	for (size_t i = 0; i < st.n_holders; i++)
		if (st.holders[i].session == session)
			return st.holders[i].token;
	return 0;
}

/* A grant made in entries a snapshot covered: pushed now, with the job
 * of a claim. */
static void push_resynced(struct net *net, struct lock_wait *w,
			  uint64_t token)
{
	struct fsm_job_info j;

	if (w->qkind == FSM_QUEUE_JOB &&
	    fsm_job_claimed_by(node_fsm(net->node),
			       proto_bytes_make(w->name, w->name_len),
			       w->session, &j) == COORD_OK)
		push_grant(w, token, j.id, j.payload, j.attempts);
	else
		push_grant(w, token, 0, proto_bytes_make(NULL, 0), 0);
}

/* After the fsm was reopened (a snapshot installed): a grant made in the
 * entries the snapshot covered is pushed now; the other waits stay. */
void locks_session_resync(struct net *net, struct lease_ent *e)
{
	struct lock_wait *w, *next;

	for (w = e->waits; w != NULL; w = next) {
		struct proto_bytes name = proto_bytes_make(w->name, w->name_len);
		uint64_t token = queue_held_token(net, w->qkind, w->session,
						  name);

		next = w->snext;
		if (token != 0) {
			push_resynced(net, w, token);
			wait_free(e, w);
		}
	}
}

/* A wait lives in its session's list as long as the session (lease_gone()
 * frees them): the client's waits all have their lease entry. */
void locks_client_closed(struct client *cl)
{
	while (cl->waits != NULL) {
		struct lock_wait *w = cl->waits;

		wait_free(lease_find(cl->net, w->session), w);
	}
}

static void send_grant(struct client *cl, const struct req *q, bool granted,
		       uint64_t token)
{
	struct proto_response r;

	api_reply_start(cl, q->kind, q->request_id, &r);
	r.u.grant.granted = granted;
	r.u.grant.token = token;
	api_send(cl, &r);
}

int queue_wait_add(struct client *cl, const struct req *q, uint8_t kind)
{
	struct lease_ent *e = lease_find(cl->net, q->arg);
	struct proto_bytes name = proto_bytes_make(q->name, q->name_len);
	struct lock_wait *w;

	if (e == NULL)
		return COORD_ESESSION;
	w = wait_find(e, kind, name);
	if (w == NULL) {
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return COORD_ENOMEM;
		w->session = q->arg;
		w->qkind = kind;
		memcpy(w->name, q->name, q->name_len);
		w->name_len = q->name_len;
		w->snext = e->waits;
		if (e->waits != NULL)
			e->waits->sprev = w;
		e->waits = w;
	} else {
		wait_client_unlink(w);
	}
	w->kind = q->kind;
	w->request_id = q->request_id;
	w->cl = cl;
	w->cnext = cl->waits;
	if (cl->waits != NULL)
		cl->waits->cprev = w;
	cl->waits = w;
	return COORD_OK;
}

static void acquire_done(void *ctx, int code, const uint8_t *reply,
			 size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct net *net = cl->net;
	struct proto_reply rp;

	if (code == COORD_OK) {
		proto_arena_reset(&net->arena);
		code = proto_reply_decode(reply, len, &net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	if (code == COORD_OK && cl->conn == NULL)
		code = COORD_ECANCELED;
	if (code == COORD_OK && rp.u.lock_acquire.granted) {
		send_grant(cl, q, true, rp.u.lock_acquire.token);
	} else if (code == COORD_OK) {
		/* Queued -- or, for a retry answered from the client table,
		 * granted since: then the token now. */
		uint64_t token = queue_held_token(
			net, proto_request_queue_kind(q->kind), q->arg,
			proto_bytes_make(q->name, q->name_len));

		if (token != 0) {
			send_grant(cl, q, true, token);
		} else {
			code = queue_wait_add(cl, q, proto_request_queue_kind(q->kind));
			if (code == COORD_OK)
				send_grant(cl, q, false, 0);
		}
	}
	if (code != COORD_OK)
		api_send_error(cl, q->kind, q->request_id, code);
	api_req_free(q);
}

uint64_t lock_deadline_ms(struct net *net, bool wait, uint64_t timeout_ms)
{
	return wait && timeout_ms != 0 ? net_cluster_now_ms(net) + timeout_ms
				       : 0;
}

void lock_propose_acquire(struct client *cl, const struct proto_request *rq,
			  const struct proto_cmd *cmd, uint64_t session,
			  struct proto_bytes name)
{
	struct req *q;
	int rc;

	if (!session_ok(cl, rq, session))
		return;
	if (name.len == 0) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	rc = api_propose_req(cl, rq, cmd, acquire_done, &q);
	if (rc != COORD_OK) {
		api_send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	q->arg = session;
	memcpy(q->name, name.data, name.len);
	q->name_len = name.len;
}

void lock_acquire(struct client *cl, const struct proto_request *rq)
{
	const struct proto_lock_acquire *a = &rq->u.lock_acquire;
	struct proto_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_LOCK_ACQUIRE;
	cmd.u.lock_acquire.name = a->name;
	cmd.u.lock_acquire.session = a->session;
	cmd.u.lock_acquire.mode = a->mode;
	cmd.u.lock_acquire.wait = a->wait;
	cmd.u.lock_acquire.deadline_ms =
		lock_deadline_ms(cl->net, a->wait, a->timeout_ms);
	cmd.u.lock_acquire.lock_delay_ms = a->lock_delay_ms;
	lock_propose_acquire(cl, rq, &cmd, a->session, a->name);
}

/* LOCK_RELEASE and SEM_RELEASE: the fsm commands share their fields. */
void lock_release(struct client *cl, const struct proto_request *rq)
{
	const struct proto_release *r = &rq->u.release;
	struct proto_cmd cmd;
	int rc;

	if (!session_ok(cl, rq, r->session))
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = rq->kind == PROTO_SEM_RELEASE ? PROTO_CMD_SEM_RELEASE
						 : PROTO_CMD_LOCK_RELEASE;
	cmd.u.lock_release.name = r->name;
	cmd.u.lock_release.session = r->session;
	cmd.u.lock_release.token = r->token;
	rc = api_propose(cl, rq, &cmd, api_empty_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

/* LOCK_RELEASE_PUT: one command (coordd/fsm/lock.c,
 * fsm_cmd_lock_release_write()); answered as a PUT. */
void lock_release_put(struct client *cl, const struct proto_request *rq)
{
	const struct proto_release_put *r = &rq->u.release_put;
	struct proto_cmd cmd, put;
	int rc;

	if (!session_ok(cl, rq, r->session))
		return;
	memset(&put, 0, sizeof(put));
	put.type = PROTO_CMD_PUT;
	put.u.put.key = r->key;
	put.u.put.value = r->value;
	put.u.put.lease = r->lease;
	if (!keys_limits_ok(cl, rq, &put))
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_LOCK_RELEASE_WRITE;
	cmd.u.lock_release_write.name = r->name;
	cmd.u.lock_release_write.session = r->session;
	cmd.u.lock_release_write.token = r->token;
	cmd.u.lock_release_write.cmd = &put;
	rc = api_propose_cmd(cl, rq, &cmd);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

static void check_read_done(void *ctx, int code, const uint8_t *reply,
			    size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	bool current = false;
	uint64_t token = 0;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		code = fsm_lock_check(node_fsm(cl->net->node),
				      proto_bytes_make(q->name, q->name_len),
				      q->arg, &current, &token);
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.lock_check.current = current;
		r.u.lock_check.token = token;
		api_send(cl, &r);
	}
	api_req_free(q);
}

static void status_read_done(void *ctx, int code, const uint8_t *reply,
			     size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct net *net = cl->net;
	struct fsm_queue_status st;
	struct proto_response r;
	struct proto_lock_holder *hs = NULL;
	struct proto_lock_waiter *ws = NULL;
	uint64_t now = net_cluster_now_ms(net);

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		code = fsm_queue_status(node_fsm(net->node),
					q->kind == PROTO_SEM_STATUS
						? FSM_QUEUE_SEM
						: FSM_QUEUE_LOCK,
					proto_bytes_make(q->name, q->name_len),
					COORD_STATUS_WAITERS_MAX, &st);
	if (code == COORD_OK &&
	    ((hs = calloc(st.n_holders + 1, sizeof(*hs))) == NULL ||
	     (ws = calloc(st.n_waiters + 1, sizeof(*ws))) == NULL))
		code = COORD_ENOMEM;
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
		goto out;
	}
	for (size_t i = 0; i < st.n_holders; i++) {
		hs[i].session = st.holders[i].session;
		hs[i].token = st.holders[i].token;
		hs[i].mode = st.holders[i].mode;
		hs[i].held_ms = now > st.holders[i].since_ms
					? now - st.holders[i].since_ms
					: 0;
	}
	for (size_t i = 0; i < st.n_waiters; i++) {
		struct lease_ent *e = lease_find(net, st.waiters[i].session);

		ws[i].session = st.waiters[i].session;
		ws[i].mode = st.waiters[i].mode;
		ws[i].waited_ms = now > st.waiters[i].since_ms
					  ? now - st.waiters[i].since_ms
					  : 0;
		ws[i].ttl_left_ms = e != NULL ? lease_ttl_left_ms(net, e) : 0;
	}
	api_reply_start(cl, q->kind, q->request_id, &r);
	if (q->kind == PROTO_SEM_STATUS) {
		r.u.sem_status.permits = st.permits;
		r.u.sem_status.holders.v = hs;
		r.u.sem_status.holders.n = st.n_holders;
		r.u.sem_status.waiters.v = ws;
		r.u.sem_status.waiters.n = st.n_waiters;
		r.u.sem_status.n_waiters = st.waiters_total;
		api_send(cl, &r);
		goto out;
	}
	r.u.lock_status.delay_left_ms =
		st.delay_until_ms > now ? st.delay_until_ms - now : 0;
	r.u.lock_status.holders.v = hs;
	r.u.lock_status.holders.n = st.n_holders;
	r.u.lock_status.waiters.v = ws;
	r.u.lock_status.waiters.n = st.n_waiters;
	r.u.lock_status.n_waiters = st.waiters_total;
	api_send(cl, &r);
out:
	free(hs);
	free(ws);
	api_req_free(q);
}

/* LOCK_CHECK, LOCK_STATUS and SEM_STATUS: linearizable reads. */
void lock_read(struct client *cl, const struct proto_request *rq)
{
	struct proto_bytes name = rq->kind == PROTO_LOCK_CHECK
					  ? rq->u.lock_check.name
					  : rq->u.lock_status.name;
	struct req *q = api_req_new(cl, rq);

	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	memcpy(q->name, name.data, name.len);
	q->name_len = name.len;
	if (rq->kind == PROTO_LOCK_CHECK) {
		q->arg = rq->u.lock_check.token;
		node_read(cl->net->node, &q->w, check_read_done, q);
	} else {
		node_read(cl->net->node, &q->w, status_read_done, q);
	}
	net_kick(cl->net);
}

/* ---------------------------------------------------------------------- */
/* QUEUE_KICK: nothing else grants when a lock-delay ends or a waiter's
 * deadline passes, so the leader proposes a kick then. It learns when
 * from fsm_queues_each() once, on becoming leader, and from then on from
 * the wake time of every queue each applied command stores
 * (fsm_result.wakes, through locks_applied()). Reading every queue again
 * after each command instead cost a LevelDB scan that steps over every
 * overwritten version of the queue records still in the memtable: under
 * one contended lock, a quarter of the leader's CPU. */

struct lock_kick {
	uint8_t kind;
	uint8_t name[COORD_NAME_BYTES_MAX];
	size_t name_len;
	uint64_t wake_ms;           /* cluster time */
	uint64_t sent_ms;           /* local time of our last kick; 0: none */
};

struct lock_kicks {
	struct lock_kick *v;        /* queues with a wake time, any order */
	size_t n;
	size_t cap;
	bool dirty;                 /* read fsm_queues_each() again */
	uint64_t scans;             /* fsm_queues_each() reads, for tests */
};

int locks_init(struct net *net)
{
	net->kicks = calloc(1, sizeof(*net->kicks));
	if (net->kicks == NULL)
		return COORD_ENOMEM;
	net->kicks->dirty = true;
	return COORD_OK;
}

void locks_free(struct net *net)
{
	if (net->kicks == NULL)
		return;
	free(net->kicks->v);
	free(net->kicks);
	net->kicks = NULL;
}

uint64_t locks_kick_scans(const struct net *net)
{
	return net->kicks != NULL ? net->kicks->scans : 0;
}

static struct lock_kick *kick_find(struct lock_kicks *k, uint8_t kind,
				   struct proto_bytes name)
{
	for (size_t i = 0; i < k->n; i++) {
		struct lock_kick *e = &k->v[i];

		if (e->kind == kind && e->name_len == name.len &&
		    memcmp(e->name, name.data, name.len) == 0)
			return e;
	}
	return NULL;
}

static int kick_collect(void *ctx, const struct fsm_queue_wake *w)
{
	struct lock_kicks *k = ctx;
	struct lock_kick *e;

	if (w->name.len > sizeof(e->name))
		return COORD_ECORRUPT;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct lock_kick *v = realloc(k->v, cap * sizeof(*v));

		if (v == NULL)
			return COORD_ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	e = &k->v[k->n++];
	e->kind = w->kind;
	e->name_len = w->name.len;
	memcpy(e->name, w->name.data, w->name.len);
	e->wake_ms = w->wake_ms;
	e->sent_ms = 0;
	return 0;
}

/* A queue stored by an applied command: its new wake time (0: none). A
 * kick that changed nothing stores nothing, so it keeps its sent_ms and
 * is tried again only after an election timeout. */
static void kicks_update(struct net *net, const struct fsm_queue_wake *w)
{
	struct lock_kicks *k = net->kicks;
	struct lock_kick *e;

	if (k == NULL || k->dirty)
		return;                 /* read afresh on becoming leader */
	e = kick_find(k, w->kind, w->name);
	if (e == NULL) {
		if (w->wake_ms != 0 && kick_collect(k, w) != COORD_OK)
			k->dirty = true;    /* no memory: read all again */
		return;
	}
	if (w->wake_ms == 0) {
		*e = k->v[--k->n];
		return;
	}
	if (e->wake_ms != w->wake_ms) {
		e->wake_ms = w->wake_ms;
		e->sent_ms = 0;
	}
}

/* Leader, every tick: a kick for each queue whose wake time passed (again
 * after an election timeout if it changed nothing). */
void locks_tick(struct net *net)
{
	struct lock_kicks *k = net->kicks;
	uint64_t cnow, now;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping) {
		k->dirty = true;    /* a new leader reads them afresh */
		return;
	}
	if (k->dirty) {
		k->n = 0;
		k->scans++;
		if (fsm_queues_each(node_fsm(net->node), kick_collect, k) !=
		    COORD_OK)
			return;
		k->dirty = false;
	}
	cnow = net_cluster_now_ms(net);
	now = net_now_ms();
	for (size_t i = 0; i < k->n; i++) {
		struct lock_kick *e = &k->v[i];
		struct proto_entry en;

		if (e->wake_ms > cnow ||
		    (e->sent_ms != 0 && now - e->sent_ms < net->cfg->election_ms))
			continue;
		memset(&en, 0, sizeof(en));
		en.now_ms = cnow;
		en.cmd.type = PROTO_CMD_QUEUE_KICK;
		en.cmd.u.queue_kick.kind = e->kind;
		en.cmd.u.queue_kick.name = proto_bytes_make(e->name, e->name_len);
		if (net_propose_internal(net, &en) != COORD_OK)
			return;
		e->sent_ms = now;
		net->kicks_total++;
		net_kick(net);
	}
}
