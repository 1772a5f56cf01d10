/*
 * libcoord/session.c: leases, and sessions kept alive by the library
 * (coord.h, "Sessions"): keepalives every ttl/3 with jitter, the state
 * by the rules of liveness.h, re-attach on every new connection, and
 * the servers' word (PUSH_SESSION_LOST, a keepalive's code). Locks are
 * in lock.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>

#include "libcoord/session_int.h"

/* A keepalive waits at most this long for its answer: later than a
 * third of the TTL, the next one is due anyway. */
static unsigned keepalive_timeout_ms(uint64_t ttl_ms)
{
	uint64_t t = ttl_ms / 3;

	return t < 100 ? 100 : t > 60000 ? 60000 : (unsigned)t;
}

static uint32_t rnd32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)lc_now_ms() * 2654435761u;
	return r;
}

struct coord_session *lc_session_find(struct coord_client *c, uint64_t id)
{
	for (struct coord_session *s = *lc_sessions(c); s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* A request's context: the session by id, so that an answer arriving
 * after the handle went finds nothing instead of freed memory. */
struct sess_ctx {
	uint64_t id;
	uint64_t send_ms;
};

static struct sess_ctx *ctx_new(const struct coord_session *s)
{
	struct sess_ctx *x = malloc(sizeof(*x));

	if (x != NULL) {
		x->id = s->id;
		x->send_ms = lc_now_ms();
	}
	return x;
}

static void session_arm(struct coord_session *s);
static void keepalive_send(struct coord_session *s);

/* Tells the callback of a change of state; false when the client went
 * (freed by the callback). s may be gone after the call: look it up
 * again by id. */
static bool session_report(struct coord_session *s, int why)
{
	struct coord_client *c = s->c;
	enum coord_session_state st = lc_liveness_state(&s->live, lc_now_ms());

	if (st == s->reported)
		return true;
	s->reported = st;
	if (s->fn == NULL)
		return true;
	lc_dispatch_enter(c);
	s->fn(s->arg, s, st, why);
	return lc_dispatch_leave(c);
}

/* SESSION_CLOSE nobody waits for. */
static void close_send(struct coord_client *c, uint64_t id)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_CLOSE;
	rq.u.session.session = id;
	lc_call_async(c, &rq, 0, lc_done_free, NULL);
}

void lc_session_lose(struct coord_session *s, int code)
{
	struct coord_client *c = s->c;
	uint64_t id = s->id;
	bool ours = !s->live.ended;

	if (s->lost_code != COORD_OK)
		return;     /* already */
	s->lost_code = code;
	lc_liveness_end(&s->live);
	if (s->timer != NULL)
		evtimer_del(s->timer);
	/* The library gave up on it by its own clock: the servers may still
	 * think it alive; closing it hands its locks on now instead of at
	 * its expiry. (A failed close changes nothing: it expires.) */
	if (ours && code == COORD_ETIMEDOUT)
		close_send(c, id);
	/* Acquires still running fail; their callbacks may close s. */
	lc_locks_on_lost(s, code);
	if ((s = lc_session_find(c, id)) != NULL)
		session_report(s, code);
}

static void attach_done(struct coord_client *c, void *arg, int code,
			const struct proto_response *r)
{
	struct sess_ctx *x = arg;
	struct coord_session *s = lc_session_find(c, x->id);

	(void)r;
	free(x);
	if (s == NULL)
		return;
	s->attach_inflight = false;
	if (code == COORD_OK) {
		/* Only now does the server take the session's requests on
		 * this connection: a keepalive at once (those due meanwhile
		 * were held back), and the waiting acquires again. */
		keepalive_send(s);
		lc_locks_on_ready(s);
		return;
	}
	if (code == COORD_ESESSION || code == COORD_ESESSION_EXPIRED ||
	    code == COORD_EPERM) {
		lc_errf(c, "session %016" PRIx64 " is gone: %s", s->id,
			coord_strerror(code));
		lc_session_lose(s, code);
		return;
	}
	/* No answer (failover, no leader): the timer sends another. */
	s->attach_gen = 0;
}

static void attach_send(struct coord_session *s)
{
	struct proto_request rq;
	struct sess_ctx *x;

	if (s->attach_inflight || s->lost_code != COORD_OK)
		return;
	x = ctx_new(s);
	if (x == NULL)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_ATTACH;
	rq.u.session_attach.session = s->id;
	rq.u.session_attach.secret = proto_bytes_make(s->secret, s->secret_len);
	s->attach_gen = lc_conn_gen(s->c);
	s->attach_inflight = true;
	if (lc_call_async(s->c, &rq, 0, attach_done, x) != COORD_OK) {
		s->attach_inflight = false;
		free(x);
	}
}

void lc_session_reattach(struct coord_session *s)
{
	attach_send(s);
}

static void keepalive_done(struct coord_client *c, void *arg, int code,
			   const struct proto_response *r)
{
	struct sess_ctx *x = arg;
	struct coord_session *s = lc_session_find(c, x->id);
	uint64_t send_ms = x->send_ms;

	free(x);
	if (s == NULL || s->lost_code != COORD_OK)
		return;
	if (code == COORD_OK) {
		lc_liveness_ack(&s->live, send_ms, r->u.session.ttl_ms);
		if (s->live.ended) {
			lc_session_lose(s, COORD_ESESSION_EXPIRED);
			return;
		}
		session_report(s, COORD_OK);   /* JEOPARDY -> ALIVE */
		return;
	}
	if (code == COORD_ESESSION_EXPIRED) {
		lc_session_lose(s, code);
		return;
	}
	if (code == COORD_ESESSION)
		attach_send(s);     /* gone, or unknown to this connection */
	/* Else no answer in time: the next keepalive is due soon. */
}

static void keepalive_send(struct coord_session *s)
{
	struct proto_request rq;
	struct sess_ctx *x;

	/* Sent before the ATTACH is answered, it would be refused
	 * (COORD_ESESSION: an ATTACH is a linearizable read, answered after
	 * what follows it): attach_done() sends it. */
	if (s->attach_inflight)
		return;
	x = ctx_new(s);
	if (x == NULL)
		return;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE;
	rq.u.session.session = s->id;
	if (lc_call_async(s->c, &rq, keepalive_timeout_ms(s->live.ttl_ms),
			  keepalive_done, x) != COORD_OK)
		free(x);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_session *s = arg;
	struct coord_client *c = s->c;
	uint64_t id = s->id, now = lc_now_ms();

	(void)fd;
	(void)what;
	if (lc_liveness_state(&s->live, now) == COORD_SESSION_LOST) {
		lc_session_lose(s, COORD_ETIMEDOUT);
		return;
	}
	if (!session_report(s, COORD_OK) || (s = lc_session_find(c, id)) == NULL)
		return;
	if (s->attach_gen != lc_conn_gen(c))
		attach_send(s);
	if (now >= s->next_keepalive_ms) {
		keepalive_send(s);
		s->next_keepalive_ms =
			now + lc_keepalive_interval_ms(s->live.ttl_ms, rnd32());
	}
	session_arm(s);
}

/* The timer at the next keepalive or change of state. */
static void session_arm(struct coord_session *s)
{
	uint64_t now = lc_now_ms();
	uint64_t at = lc_liveness_next_change_ms(&s->live, now);
	struct timeval tv;

	if (s->lost_code != COORD_OK || s->timer == NULL)
		return;
	if (s->next_keepalive_ms < at)
		at = s->next_keepalive_ms;
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	evtimer_add(s->timer, &tv);
}

/* The handle of a session the servers answered for (OPEN or ATTACH)
 * with the request sent at send_ms. */
static int session_new(struct coord_client *c,
		       const struct proto_session_reply *sr, uint64_t send_ms,
		       struct coord_session **out)
{
	struct coord_session *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL || sr->ttl_ms == 0 ||
	    sr->secret.len > sizeof(s->secret)) {
		free(s);
		lc_errf(c, "cannot keep the session: out of memory or a bad "
			"answer");
		return s == NULL ? COORD_ENOMEM : COORD_EMALFORMED;
	}
	s->c = c;
	s->id = sr->session;
	s->lease = sr->lease;
	if (sr->secret.len > 0)
		memcpy(s->secret, sr->secret.data, sr->secret.len);
	s->secret_len = sr->secret.len;
	lc_liveness_init(&s->live, sr->ttl_ms, send_ms);
	s->reported = COORD_SESSION_ALIVE;
	s->attach_gen = lc_conn_gen(c);
	s->next_keepalive_ms =
		send_ms + lc_keepalive_interval_ms(sr->ttl_ms, rnd32());
	s->timer = evtimer_new(lc_base(c), session_timer_cb, s);
	if (s->timer == NULL) {
		free(s);
		return COORD_ENOMEM;
	}
	s->next = *lc_sessions(c);
	*lc_sessions(c) = s;
	session_arm(s);
	*out = s;
	return COORD_OK;
}

/* A synchronous call's answer, copied out of the reply. */
struct sess_result {
	struct proto_session_reply sr;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	struct proto_lease_reply lr;
	struct proto_lease_ttl_reply tr;
};

static void sess_result_done(struct coord_client *c, void *arg, int code,
			     const struct proto_response *r)
{
	struct sess_result *res = arg;

	(void)c;
	if (code != COORD_OK || r == NULL)
		return;
	switch (r->kind) {
	case PROTO_SESSION_OPEN:
	case PROTO_SESSION_ATTACH:
		res->sr = r->u.session;
		if (res->sr.secret.len > sizeof(res->secret))
			res->sr.secret.len = sizeof(res->secret);
		if (res->sr.secret.len > 0)
			memcpy(res->secret, r->u.session.secret.data,
			       res->sr.secret.len);
		res->sr.secret.data = res->secret;
		break;
	case PROTO_LEASE_GRANT:
	case PROTO_LEASE_KEEPALIVE:
		res->lr = r->u.lease;
		break;
	case PROTO_LEASE_TTL:
		res->tr = r->u.lease_ttl;
		res->tr.keys.v = NULL;
		res->tr.keys.n = 0;
		break;
	default:
		break;
	}
}

static int sess_call(struct coord_client *c, struct proto_request *rq,
		     struct sess_result *res)
{
	memset(res, 0, sizeof(*res));
	return lc_call(c, rq, sess_result_done, res);
}

struct open_ctx {
	coord_session_open_fn fn;
	void *arg;
	uint64_t send_ms;
};

static void open_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r)
{
	struct open_ctx x = *(struct open_ctx *)arg;
	struct coord_session *s = NULL;

	free(arg);
	if (code == COORD_OK)
		code = session_new(c, &r->u.session, x.send_ms, &s);
	x.fn(x.arg, code, s);
}

coord_err_t coord_session_open_async(struct coord_client *c, uint64_t ttl_ms,
				     coord_session_open_fn fn, void *arg)
{
	struct proto_request rq;
	struct open_ctx *x;
	int rc;

	if (ttl_ms == 0) {
		lc_errf(c, "a session needs a TTL");
		return COORD_ETTL;
	}
	x = malloc(sizeof(*x));
	if (x == NULL)
		return COORD_ENOMEM;
	*x = (struct open_ctx){ fn, arg, lc_now_ms() };
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_OPEN;
	rq.u.session_open.ttl_ms = ttl_ms;
	rc = lc_call_async(c, &rq, 0, open_done, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

/* A synchronous open's outcome, from its callback. */
struct open_wait {
	bool done;
	int code;
	struct coord_session *s;
};

static void open_wait_cb(void *arg, coord_err_t code, struct coord_session *s)
{
	struct open_wait *w = arg;

	w->done = true;
	w->code = code;
	w->s = s;
}

coord_err_t coord_session_open(struct coord_client *c, uint64_t ttl_ms,
			       struct coord_session **out)
{
	struct open_wait w = { false, COORD_OK, NULL };
	int rc;

	*out = NULL;
	if (lc_in_callback(c)) {
		lc_errf(c, "a synchronous call from inside a libcoord callback");
		return COORD_EINVAL;
	}
	rc = coord_session_open_async(c, ttl_ms, open_wait_cb, &w);
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;
	*out = w.s;
	return w.code;
}

coord_err_t coord_session_attach(struct coord_client *c, uint64_t id,
				 const void *secret, size_t secret_len,
				 struct coord_session **out)
{
	struct proto_request rq;
	struct sess_result res;
	uint64_t send_ms = lc_now_ms();
	int code;

	*out = NULL;
	if (lc_session_find(c, id) != NULL) {
		lc_errf(c, "session %016" PRIx64 " is attached already", id);
		return COORD_EEXISTS;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_ATTACH;
	rq.u.session_attach.session = id;
	rq.u.session_attach.secret = proto_bytes_make(secret, secret_len);
	code = sess_call(c, &rq, &res);
	if (code != COORD_OK)
		return code;
	/* The reply's secret may be empty: keep the one that worked. */
	if (res.sr.secret.len == 0 && secret_len <= sizeof(res.secret)) {
		if (secret_len > 0)
			memcpy(res.secret, secret, secret_len);
		res.sr.secret = proto_bytes_make(res.secret, secret_len);
	}
	return session_new(c, &res.sr, send_ms, out);
}

/* Unlinks and frees s and its locks' handles; sends nothing. */
static void session_free(struct coord_session *s)
{
	struct coord_session **pp = lc_sessions(s->c);

	s->freeing = true;
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	while (s->locks != NULL)
		lc_lock_free(s->locks);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

coord_err_t coord_session_close(struct coord_session *s)
{
	struct coord_client *c;
	struct proto_request rq;
	uint64_t id;
	bool lost;

	if (s == NULL || s->freeing)
		return COORD_OK;
	c = s->c;
	id = s->id;
	lost = s->lost_code != COORD_OK;
	session_free(s);
	if (lost)
		return COORD_OK;
	if (lc_in_callback(c)) {
		close_send(c, id);      /* nobody can wait here */
		return COORD_OK;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_CLOSE;
	rq.u.session.session = id;
	return lc_call(c, &rq, lc_done_free, NULL);
}

void coord_session_set_callback(struct coord_session *s, coord_session_fn fn,
				void *arg)
{
	s->fn = fn;
	s->arg = arg;
}

enum coord_session_state coord_session_state(const struct coord_session *s)
{
	return lc_liveness_state(&s->live, lc_now_ms());
}

uint64_t coord_session_id(const struct coord_session *s)
{
	return s->id;
}

uint64_t coord_session_ttl_ms(const struct coord_session *s)
{
	return s->live.ttl_ms;
}

const uint8_t *coord_session_secret(const struct coord_session *s,
				    size_t *len)
{
	*len = s->secret_len;
	return s->secret;
}

/* Hooks from client.c. */

void lc_sessions_on_ready(struct coord_client *c)
{
	for (struct coord_session *s = *lc_sessions(c); s != NULL;
	     s = s->next) {
		if (s->lost_code != COORD_OK)
			continue;
		s->attach_inflight = false;     /* its connection died */
		attach_send(s);     /* then its waiting acquires again */
	}
}

void lc_sessions_on_push(struct coord_client *c, const struct proto_push *p)
{
	struct coord_session *s;

	if (p->kind == PROTO_PUSH_SESSION_LOST) {
		s = lc_session_find(c, p->u.session_lost.session);
		if (s != NULL)
			lc_session_lose(s, p->u.session_lost.code != COORD_OK
						   ? p->u.session_lost.code
						   : COORD_ESESSION);
		return;
	}
	s = lc_session_find(c, p->u.grant.session);
	if (s != NULL && (p->u.grant.request_kind == PROTO_LOCK_ACQUIRE ||
			  p->u.grant.request_kind == PROTO_SEM_ACQUIRE))
		lc_locks_on_grant(s, &p->u.grant);
}

void lc_sessions_free_all(struct coord_client *c)
{
	while (*lc_sessions(c) != NULL)
		session_free(*lc_sessions(c));
}

/*
 * Leases.
 */

coord_err_t coord_lease_grant(struct coord_client *c, uint64_t ttl_ms,
			      uint64_t *lease, uint64_t *ttl_ms_out)
{
	struct proto_request rq;
	struct sess_result res;
	int code;

	if (ttl_ms == 0) {
		lc_errf(c, "a lease needs a TTL");
		return COORD_ETTL;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_GRANT;
	rq.u.lease_grant.ttl_ms = ttl_ms;
	code = sess_call(c, &rq, &res);
	if (lease != NULL)
		*lease = res.lr.lease;
	if (ttl_ms_out != NULL)
		*ttl_ms_out = res.lr.ttl_ms;
	return code;
}

coord_err_t coord_lease_keepalive_once(struct coord_client *c, uint64_t lease,
				       uint64_t *ttl_ms)
{
	struct proto_request rq;
	struct sess_result res;
	int code;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_KEEPALIVE;
	rq.u.lease.lease = lease;
	code = sess_call(c, &rq, &res);
	if (ttl_ms != NULL)
		*ttl_ms = res.lr.ttl_ms;
	return code;
}

coord_err_t coord_lease_revoke(struct coord_client *c, uint64_t lease)
{
	struct proto_request rq;
	struct sess_result res;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_REVOKE;
	rq.u.lease.lease = lease;
	return sess_call(c, &rq, &res);
}

coord_err_t coord_lease_ttl(struct coord_client *c, uint64_t lease,
			    uint64_t *ttl_ms, uint64_t *granted_ttl_ms)
{
	struct proto_request rq;
	struct sess_result res;
	int code;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_TTL;
	rq.u.lease_ttl.lease = lease;
	code = sess_call(c, &rq, &res);
	if (ttl_ms != NULL)
		*ttl_ms = res.tr.ttl_ms;
	if (granted_ttl_ms != NULL)
		*granted_ttl_ms = res.tr.granted_ttl_ms;
	return code;
}
