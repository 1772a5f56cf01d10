/*
 * libcoord/election.c: election handles (coord.h, "Elections"). A
 * handle is a lock handle of queue kind PROTO_QUEUE_ELECTION (lock.c):
 * the campaign is an acquire that always waits, the leadership a grant,
 * so the timeout's cancel, a grant nobody waits for, the state that
 * follows the session's and the fenced writes are lock.c's. This file
 * adds what only elections have: the value, proclaim, resign, the
 * "lost" callback, the leader read; the observe is a watch (client.c).
 */
#include <stdlib.h>
#include <string.h>

#include "libcoord/session_int.h"

static struct coord_lock *L(struct coord_election *e)
{
	return (struct coord_lock *)(void *)e;
}

static const struct coord_lock *CL(const struct coord_election *e)
{
	return (const struct coord_lock *)(const void *)e;
}

struct campaign_ctx {
	coord_election_fn fn;
	void *arg;
};

static void campaign_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct campaign_ctx x = *(struct campaign_ctx *)arg;

	free(arg);
	x.fn(x.arg, code, (struct coord_election *)(void *)l);
}

coord_err_t coord_election_campaign_async(struct coord_session *s,
					  const void *name, size_t name_len,
					  const void *value, size_t value_len,
					  unsigned timeout_ms,
					  coord_election_fn fn, void *arg)
{
	struct coord_lock_opts opts = { .wait = true,
					.timeout_ms = timeout_ms };
	struct campaign_ctx *x = malloc(sizeof(*x));
	int rc;

	if (x == NULL)
		return COORD_ENOMEM;
	x->fn = fn;
	x->arg = arg;
	rc = lc_queue_acquire_async(s, PROTO_QUEUE_ELECTION, name, name_len,
				    value, value_len, 0, &opts, campaign_cb, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

struct campaign_wait {
	bool done;
	int code;
	struct coord_election *e;
};

static void campaign_wait_cb(void *arg, coord_err_t code,
			     struct coord_election *e)
{
	struct campaign_wait *w = arg;

	w->done = true;
	w->code = code;
	w->e = e;
}

coord_err_t coord_election_campaign(struct coord_session *s, const void *name,
				    size_t name_len, const void *value,
				    size_t value_len, unsigned timeout_ms,
				    struct coord_election **out)
{
	struct campaign_wait w = { false, COORD_OK, NULL };
	struct coord_client *c = s->c;
	int rc;

	*out = NULL;
	if (lc_in_callback(c)) {
		lc_errf(c, "a synchronous call from inside a libcoord callback");
		return COORD_EINVAL;
	}
	rc = coord_election_campaign_async(s, name, name_len, value,
					   value_len, timeout_ms,
					   campaign_wait_cb, &w);
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;  /* client freed */
	*out = w.e;
	return w.code;
}

uint64_t coord_election_token(const struct coord_election *e)
{
	return CL(e)->token;
}

enum coord_election_state coord_election_state(const struct coord_election *e)
{
	switch (coord_lock_state(CL(e))) {
	case COORD_LOCK_HELD:
		return COORD_ELECTION_LEADER;
	case COORD_LOCK_JEOPARDY:
		return COORD_ELECTION_JEOPARDY;
	default:
		return COORD_ELECTION_LOST;
	}
}

void coord_election_set_lost_callback(struct coord_election *e,
				      coord_election_lost_fn fn, void *arg)
{
	L(e)->lost_fn = fn;
	L(e)->lost_arg = arg;
}

coord_err_t coord_election_proclaim(struct coord_election *e,
				    const void *value, size_t value_len)
{
	struct coord_lock *l = L(e);
	struct proto_request rq;
	uint8_t *v;
	int rc;

	if (coord_election_state(e) == COORD_ELECTION_LOST) {
		l->lost = true;
		lc_errf(l->s->c, "election %.*s: the leadership is lost",
			(int)l->name_len, (const char *)l->name);
		return COORD_ENOTELECTED;
	}
	if (value_len > COORD_ELECTION_VALUE_BYTES_MAX)
		return COORD_EVALUETOOBIG;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ELECTION_PROCLAIM;
	rq.u.proclaim.name = proto_bytes_make(l->name, l->name_len);
	rq.u.proclaim.session = l->s->id;
	rq.u.proclaim.token = l->token;
	rq.u.proclaim.value = proto_bytes_make(value, value_len);
	rc = lc_call(l->s->c, &rq, lc_done_free, NULL);
	if (rc == COORD_ENOTELECTED)
		l->lost = true;
	if (rc != COORD_OK)
		return rc;
	/* A campaign sent again after a reconnect carries the new value. */
	v = malloc(value_len + 1);
	if (v != NULL) {
		if (value_len > 0)
			memcpy(v, value, value_len);
		free(l->value);
		l->value = v;
		l->value_len = value_len;
	}
	return COORD_OK;
}

coord_err_t coord_election_resign(struct coord_election *e)
{
	return e == NULL ? COORD_OK : coord_lock_release(L(e));
}

coord_err_t coord_election_put(struct coord_election *e, const void *key,
			       size_t key_len, const void *value,
			       size_t value_len, uint64_t *revision)
{
	return coord_lock_put(L(e), key, key_len, value, value_len, revision);
}

/*
 * ELECTION_LEADER.
 */

static int leader_copy(struct coord_leader *out, uint64_t session,
		       uint64_t token, uint64_t revision,
		       struct proto_bytes value)
{
	uint8_t *v = malloc(value.len + 1);

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return COORD_ENOMEM;
	if (value.len > 0)
		memcpy(v, value.data, value.len);
	out->session = session;
	out->token = token;
	out->revision = revision;
	out->value = v;
	out->value_len = value.len;
	return COORD_OK;
}

struct leader_result {
	int code;
	struct coord_leader l;
};

static void leader_done(struct coord_client *c, void *arg, int code,
			const struct proto_response *r)
{
	struct leader_result *res = arg;

	(void)c;
	if (code == COORD_OK)
		res->code = leader_copy(&res->l, r->u.leader.session,
					r->u.leader.token,
					r->u.leader.revision,
					r->u.leader.value);
	res->l.candidates = r->u.leader.candidates;
}

coord_err_t coord_election_leader(struct coord_client *c, const void *name,
				  size_t name_len, struct coord_leader *out)
{
	struct leader_result res = { COORD_OK, { 0, 0, 0, NULL, 0, 0 } };
	struct proto_request rq;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ELECTION_LEADER;
	rq.u.election.name = proto_bytes_make(name, name_len);
	rc = lc_call(c, &rq, leader_done, &res);
	if (rc == COORD_OK)
		rc = res.code;
	if (rc == COORD_OK)
		*out = res.l;
	return rc;
}

void coord_leader_clear(struct coord_leader *l)
{
	free((void *)l->value);
	memset(l, 0, sizeof(*l));
}

/* After a timed-out campaign's cancel found no waiting candidacy: the
 * leader read says whether the session leads (the election raced the
 * cancel); lc_lock_give_up_end() then resigns it. */
struct probe_ctx {
	uint64_t session;
	uint64_t lock;
};

static void probe_done(struct coord_client *c, void *arg, int code,
		       const struct proto_response *r)
{
	struct probe_ctx *x = arg;
	struct coord_session *s = lc_session_find(c, x->session);
	struct coord_lock *l = NULL;

	for (l = s != NULL ? s->locks : NULL; l != NULL; l = l->next)
		if (l->local_id == x->lock)
			break;
	free(x);
	if (l == NULL || l->finished)
		return;
	if (code == COORD_OK && r->u.leader.session == l->s->id &&
	    !l->held) {
		l->held = true;
		l->token = r->u.leader.token;
	}
	lc_lock_give_up_end(l);
}

void lc_election_probe(struct coord_lock *l)
{
	struct probe_ctx *x = malloc(sizeof(*x));
	struct proto_request rq;

	if (x != NULL) {
		x->session = l->s->id;
		x->lock = l->local_id;
		memset(&rq, 0, sizeof(rq));
		rq.kind = PROTO_ELECTION_LEADER;
		rq.u.election.name = proto_bytes_make(l->name, l->name_len);
		if (lc_call_async(l->s->c, &rq, 0, probe_done, x) == COORD_OK)
			return;
		free(x);
	}
	lc_lock_give_up_end(l);
}
