/*
 * libcoord/session.c: leases, and sessions kept alive by the library
 * (coord.h, "Sessions"): keepalives every ttl/3 with jitter, the state
 * by the rules of liveness.h, re-attach on every new connection, and
 * the servers' word (PUSH_SESSION_LOST, a keepalive's code). Locks are
 * in lock.c.
 *
 * Keepalives go in batches: when a session's keepalive is due, one
 * SESSION_KEEPALIVE_MANY carries it and every other session of the
 * client due within the next ttl/6 (at most COORD_KEEPALIVE_SESSIONS_MAX
 * a request), so that a client with thousands of sessions sends about
 * one request per period instead of one per session. Each session's
 * clock still counts from the send time of the request that carried its
 * last acknowledged keepalive. A server that does not know the kind
 * (COORD_EUNKNOWNMSG) gets one SESSION_KEEPALIVE per session.
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
static void ka_due(struct coord_session *s);
static void sreq_send_parked(struct coord_session *s);
static void sreq_end_parked(struct coord_session *s, int code);

/* Tells the callback of a change of state; false when the client went
 * (freed by the callback). s may be gone after the call: look it up
 * again by id. */
static bool session_report(struct coord_session *s, int why)
{
	struct coord_client *c = s->c;
	enum coord_session_state st = lc_liveness_state(&s->live, lc_now_ms());

	uint64_t id = s->id;

	if (st == s->reported)
		return true;
	s->reported = st;
	/* Election handles hear of a worse state first. */
	if (st != COORD_SESSION_ALIVE && !lc_locks_on_state(s, st))
		return false;
	if ((s = lc_session_find(c, id)) == NULL || s->fn == NULL)
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
	/* Releases and a close waiting for an ATTACH: the session is gone,
	 * and so is what they would have released. */
	sreq_end_parked(s, code);
	/* Acquires still running fail; their callbacks may close s. */
	if ((s = lc_session_find(c, id)) == NULL)
		return;
	lc_locks_on_lost(s, code);
	if ((s = lc_session_find(c, id)) != NULL)
		lc_jobs_on_lost(s, code);
	if ((s = lc_session_find(c, id)) != NULL)
		session_report(s, code);
}

static void attach_done(struct coord_client *c, void *arg, int code,
			const struct proto_response *r)
{
	struct sess_ctx *x = arg;
	uint64_t x_id = x->id;
	struct coord_session *s = lc_session_find(c, x_id);

	(void)r;
	free(x);
	if (s == NULL)
		return;
	s->attach_inflight = false;
	/* The session's requests held for the ATTACH go (refused again if
	 * it failed: they end with that). Only then: a walk of the queue
	 * per ATTACH would be quadratic in sessions re-attached at once. */
	if (s->reqs_held) {
		s->reqs_held = false;
		lc_send_queued(c);
	}
	if (code == COORD_OK) {
		/* Only now does the server take the session's requests on
		 * this connection: a keepalive at once (those due meanwhile
		 * were held back), and the waiting acquires again. */
		ka_due(s);
		sreq_send_parked(s);
		if ((s = lc_session_find(c, x_id)) != NULL)
			lc_locks_on_ready(s);
		if (s != NULL)
			lc_jobs_on_ready(s);
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

bool lc_session_attaching(struct coord_client *c, uint64_t id)
{
	struct coord_session *s = lc_session_find(c, id);

	if (s == NULL || !s->attach_inflight)
		return false;
	s->reqs_held = true;
	return true;
}

bool lc_session_refused(struct coord_client *c, uint64_t id)
{
	struct coord_session *s = lc_session_find(c, id);

	if (s == NULL || s->lost_code != COORD_OK)
		return false;
	attach_send(s);
	if (!s->attach_inflight)
		return false;
	s->reqs_held = true;
	return true;
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
		ka_due(s);
		s->next_keepalive_ms =
			now + lc_keepalive_interval_ms(s->live.ttl_ms, rnd32());
	}
	session_arm(s);
}

/* ---------------------------------------------------------------------- */
/* Requests of a session that only its own connection may make (release,
 * close): after a reconnect the server takes them only once the ATTACH
 * is answered (it is a linearizable read, answered after what follows
 * it on the connection). So one asked for while the ATTACH is out waits
 * for its answer, and one that the server refused with COORD_ESESSION
 * (sent before the new connection's ATTACH, or the binding got lost)
 * waits for an ATTACH and goes once more. */

struct sreq {
	struct sreq *next;          /* parked on its session */
	uint64_t session;
	uint32_t kind;              /* LOCK_RELEASE or SESSION_CLOSE */
	uint64_t token;
	bool retried;               /* refused once already */
	lc_done_fn fn;              /* NULL: nobody waits */
	void *arg;
	size_t name_len;
	uint8_t name[];
};

static void sreq_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r);

static void sreq_finish(struct coord_client *c, struct sreq *x, int code,
			const struct proto_response *r)
{
	if (x->fn != NULL)
		x->fn(c, x->arg, code, r);
	free(x);
}

static void sreq_send(struct coord_client *c, struct sreq *x)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = x->kind;
	if (x->kind == PROTO_SESSION_CLOSE) {
		rq.u.session.session = x->session;
	} else {
		rq.u.release.name = proto_bytes_make(x->name, x->name_len);
		rq.u.release.session = x->session;
		rq.u.release.token = x->token;
	}
	if (lc_call_async(c, &rq, 0, sreq_done, x) != COORD_OK)
		sreq_finish(c, x, COORD_ENOMEM, NULL);
}

/* x waits on s for the ATTACH's answer. */
static void sreq_park(struct coord_session *s, struct sreq *x)
{
	x->next = s->parked;
	s->parked = x;
}

static void sreq_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r)
{
	struct sreq *x = arg;
	struct coord_session *s = lc_session_find(c, x->session);

	if (code == COORD_ESESSION && !x->retried && s != NULL &&
	    s->lost_code == COORD_OK) {
		x->retried = true;
		attach_send(s);
		if (s->attach_inflight) {
			sreq_park(s, x);
			return;
		}
	}
	sreq_finish(c, x, code, r);
}

static void sreq_send_parked(struct coord_session *s)
{
	struct sreq *x = s->parked;

	s->parked = NULL;
	while (x != NULL) {
		struct sreq *next = x->next;

		sreq_send(s->c, x);
		x = next;
	}
}

/* The session is gone (code) or going: the parked requests end. */
static void sreq_end_parked(struct coord_session *s, int code)
{
	struct coord_client *c = s->c;
	struct sreq *x = s->parked;

	s->parked = NULL;
	while (x != NULL) {
		struct sreq *next = x->next;

		sreq_finish(c, x, code, NULL);
		x = next;
	}
}

int lc_wait_check(struct coord_session *s, size_t name_len, const char *what)
{
	if (coord_session_state(s) == COORD_SESSION_LOST) {
		lc_errf(s->c, "session %016" PRIx64 " is lost", s->id);
		return s->lost_code == COORD_ESESSION ? COORD_ESESSION
						      : COORD_ESESSION_EXPIRED;
	}
	if (name_len == 0 || name_len > COORD_NAME_BYTES_MAX) {
		lc_errf(s->c, "%s has 1 to %d bytes", what,
			COORD_NAME_BYTES_MAX);
		return COORD_EINVAL;
	}
	return COORD_OK;
}

int lc_wait_timer(struct coord_client *c, unsigned timeout_ms,
		  event_callback_fn cb, void *arg, struct event **timer)
{
	struct timeval tv = { timeout_ms / 1000,
			      (suseconds_t)(timeout_ms % 1000) * 1000 };

	*timer = NULL;
	if (timeout_ms == 0)
		return COORD_OK;
	*timer = evtimer_new(lc_base(c), cb, arg);
	if (*timer == NULL)
		return COORD_ENOMEM;
	evtimer_add(*timer, &tv);
	return COORD_OK;
}

int lc_session_send(struct coord_session *s, uint32_t kind,
		    const uint8_t *name, size_t name_len, uint64_t token,
		    lc_done_fn fn, void *arg)
{
	struct sreq *x = malloc(sizeof(*x) + name_len);

	if (x == NULL)
		return COORD_ENOMEM;
	*x = (struct sreq){ .session = s->id, .kind = kind, .token = token,
			    .fn = fn, .arg = arg, .name_len = name_len };
	if (name_len > 0)
		memcpy(x->name, name, name_len);
	if (s->attach_inflight)
		sreq_park(s, x);
	else
		sreq_send(s->c, x);
	return COORD_OK;
}

/* ---------------------------------------------------------------------- */
/* Keepalives in batches: one SESSION_KEEPALIVE_MANY for the due ones. */

struct lc_ka {
	struct event *flush;        /* zero timeout: ka_flush_cb() */
	bool single;                /* the server has no KEEPALIVE_MANY */
};

/* A SESSION_KEEPALIVE_MANY's context: its sessions sorted by id, each
 * with its place in the request. */
struct ka_slot {
	uint64_t id;
	size_t i;
};

struct ka_ctx {
	uint64_t send_ms;
	size_t n;
	struct ka_slot slots[];
};

static int slot_cmp(const void *a, const void *b)
{
	const struct ka_slot *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct ka_slot *slot_find(const struct ka_ctx *x, uint64_t id)
{
	struct ka_slot key = { id, 0 };

	return bsearch(&key, x->slots, x->n, sizeof(key), slot_cmp);
}

/* What a session's result asks for once the reply's pass is over: the
 * callbacks run then (they may close sessions or free the client). */
struct ka_action {
	uint64_t id;
	int code;                   /* COORD_OK: report a change of state */
};

/* One session's result of a batch: the state is updated at once; what
 * calls back into the user is appended to acts. */
static void ka_result(struct coord_session *s, uint64_t send_ms, int code,
		      uint64_t ttl_ms, struct ka_action *acts, size_t *n_acts)
{
	if (s->lost_code != COORD_OK)
		return;
	if (code == COORD_OK) {
		lc_liveness_ack(&s->live, send_ms, ttl_ms);
		if (s->live.ended)
			acts[(*n_acts)++] = (struct ka_action){
				s->id, COORD_ESESSION_EXPIRED };
		else if (lc_liveness_state(&s->live, lc_now_ms()) !=
			 s->reported)
			acts[(*n_acts)++] = (struct ka_action){ s->id,
								COORD_OK };
		session_arm(s);
		return;
	}
	if (code == COORD_ESESSION_EXPIRED)
		acts[(*n_acts)++] = (struct ka_action){ s->id, code };
	else if (code == COORD_ESESSION)
		attach_send(s);     /* gone, or unknown to this connection */
	/* Else: the next keepalive is due soon. */
}

static void ka_many_done(struct coord_client *c, void *arg, int code,
			 const struct proto_response *r)
{
	struct ka_ctx *x = arg;
	struct ka_action *acts = NULL;
	size_t n_acts = 0;
	struct lc_ka *ka = *lc_keepalives(c);

	if (code == COORD_EUNKNOWNMSG && ka != NULL && !ka->single) {
		/* An older server: one SESSION_KEEPALIVE each from now on. */
		ka->single = true;
		for (size_t i = 0; i < x->n; i++) {
			struct coord_session *s =
				lc_session_find(c, x->slots[i].id);

			if (s != NULL && s->lost_code == COORD_OK)
				keepalive_send(s);
		}
	}
	if (code != COORD_OK || r->u.session_many.codes.n != x->n) {
		if (code == COORD_OK)
			lc_errf(c, "a SESSION_KEEPALIVE_MANY reply with %zu "
				"results for %zu sessions",
				r->u.session_many.codes.n, x->n);
		free(x);
		return;
	}
	acts = malloc((x->n + 1) * sizeof(*acts));
	if (acts == NULL) {
		free(x);
		return;
	}
	/* One pass over the client's sessions, no callbacks. */
	for (struct coord_session *s = *lc_sessions(c); s != NULL;
	     s = s->next) {
		const struct ka_slot *k = slot_find(x, s->id);
		uint64_t rc;

		if (k == NULL)
			continue;
		rc = r->u.session_many.codes.v[k->i];
		ka_result(s, x->send_ms, rc > INT32_MAX ? COORD_EMALFORMED
							: (int)rc,
			  r->u.session_many.ttls.v[k->i], acts, &n_acts);
	}
	free(x);
	for (size_t i = 0; i < n_acts; i++) {
		struct coord_session *s = lc_session_find(c, acts[i].id);

		if (s == NULL)
			continue;
		if (acts[i].code != COORD_OK)
			lc_session_lose(s, acts[i].code);
		else if (!session_report(s, COORD_OK))
			break;      /* the client went */
	}
	free(acts);
}

/* Sends one SESSION_KEEPALIVE_MANY for ids[0..n). */
static void ka_send_many(struct coord_client *c, const uint64_t *ids,
			 size_t n, uint64_t min_ttl_ms, uint64_t now)
{
	struct ka_ctx *x = malloc(sizeof(*x) + n * sizeof(x->slots[0]));
	struct proto_request rq;

	if (x == NULL)
		return;
	x->send_ms = now;
	x->n = n;
	for (size_t i = 0; i < n; i++)
		x->slots[i] = (struct ka_slot){ ids[i], i };
	qsort(x->slots, n, sizeof(x->slots[0]), slot_cmp);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE_MANY;
	rq.u.session_many.sessions.v = ids;
	rq.u.session_many.sessions.n = n;
	if (lc_call_async(c, &rq, keepalive_timeout_ms(min_ttl_ms),
			  ka_many_done, x) != COORD_OK)
		free(x);
}

/* Can carry a keepalive now: alive, attached (the ATTACH answers
 * first), not going. */
static bool ka_ready(const struct coord_session *s)
{
	return s->lost_code == COORD_OK && !s->attach_inflight && !s->freeing;
}

static void ka_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_client *c = arg;
	struct lc_ka *ka = *lc_keepalives(c);
	uint64_t ids[COORD_KEEPALIVE_SESSIONS_MAX], min_ttl = UINT64_MAX;
	uint64_t now = lc_now_ms();
	size_t n = 0;

	(void)fd;
	(void)what;
	for (struct coord_session *s = *lc_sessions(c); s != NULL;
	     s = s->next) {
		bool due = s->ka_now;

		if (!ka_ready(s))
			continue;
		/* Due within the next ttl/6: it goes now too, so that the
		 * sessions of a client fall into step. */
		if (!due && s->next_keepalive_ms <= now + s->live.ttl_ms / 6) {
			due = true;
			s->next_keepalive_ms = now + lc_keepalive_interval_ms(
							     s->live.ttl_ms,
							     rnd32());
			session_arm(s);
		}
		if (!due)
			continue;
		s->ka_now = false;
		if (ka->single) {
			keepalive_send(s);
			continue;
		}
		ids[n++] = s->id;
		if (s->live.ttl_ms < min_ttl)
			min_ttl = s->live.ttl_ms;
		if (n == COORD_KEEPALIVE_SESSIONS_MAX) {
			ka_send_many(c, ids, n, min_ttl, now);
			n = 0;
			min_ttl = UINT64_MAX;
		}
	}
	if (n > 0)
		ka_send_many(c, ids, n, min_ttl, now);
}

/* s's keepalive is due: it goes out with the others due in this turn of
 * the loop. */
static void ka_due(struct coord_session *s)
{
	struct lc_ka **pka = lc_keepalives(s->c);
	struct timeval zero = { 0, 0 };

	if (*pka == NULL) {
		struct lc_ka *ka = calloc(1, sizeof(*ka));

		if (ka != NULL)
			ka->flush = evtimer_new(lc_base(s->c), ka_flush_cb,
						s->c);
		if (ka == NULL || ka->flush == NULL) {
			free(ka);
			keepalive_send(s);  /* unbatched, but sent */
			return;
		}
		*pka = ka;
	}
	s->ka_now = true;
	if (!evtimer_pending((*pka)->flush, NULL))
		evtimer_add((*pka)->flush, &zero);
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

/* Inside a callback nothing can be waited for. */
static bool sync_ok(struct coord_client *c)
{
	if (!lc_in_callback(c))
		return true;
	lc_errf(c, "a synchronous call from inside a libcoord callback");
	return false;
}

/* Waits for the open or attach that rc started into w: its code, *out
 * its session. */
static int open_wait_run(struct coord_client *c, int rc, struct open_wait *w,
			 struct coord_session **out)
{
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w->done, 0) < 0)
		return w->done ? w->code : COORD_ECANCELED;
	*out = w->s;
	return w->code;
}

coord_err_t coord_session_open(struct coord_client *c, uint64_t ttl_ms,
			       struct coord_session **out)
{
	struct open_wait w = { false, COORD_OK, NULL };

	*out = NULL;
	if (!sync_ok(c))
		return COORD_EINVAL;
	return open_wait_run(c, coord_session_open_async(c, ttl_ms,
							 open_wait_cb, &w),
			     &w, out);
}

/* An ATTACH of coord_session_attach_async(): the secret that worked is
 * kept when the reply's is empty. */
struct attach_ctx {
	coord_session_open_fn fn;
	void *arg;
	uint64_t send_ms;
	size_t secret_len;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
};

static void attach_async_done(struct coord_client *c, void *arg, int code,
			      const struct proto_response *r)
{
	struct attach_ctx *x = arg;
	struct coord_session *s = NULL;

	if (code == COORD_OK) {
		struct proto_session_reply sr = r->u.session;

		if (sr.secret.len == 0)
			sr.secret = proto_bytes_make(x->secret, x->secret_len);
		code = session_new(c, &sr, x->send_ms, &s);
	}
	lc_dispatch_enter(c);
	x->fn(x->arg, code, s);
	lc_dispatch_leave(c);
	free(x);
}

coord_err_t coord_session_attach_async(struct coord_client *c, uint64_t id,
				       const void *secret, size_t secret_len,
				       coord_session_open_fn fn, void *arg)
{
	struct proto_request rq;
	struct attach_ctx *x;
	int rc;

	if (lc_session_find(c, id) != NULL) {
		lc_errf(c, "session %016" PRIx64 " is attached already", id);
		return COORD_EEXISTS;
	}
	if (secret_len > COORD_SECRET_BYTES_MAX) {
		lc_errf(c, "a session secret has at most %d bytes",
			COORD_SECRET_BYTES_MAX);
		return COORD_EINVAL;
	}
	x = malloc(sizeof(*x));
	if (x == NULL)
		return COORD_ENOMEM;
	x->fn = fn;
	x->arg = arg;
	x->send_ms = lc_now_ms();
	x->secret_len = secret_len;
	if (secret_len > 0)
		memcpy(x->secret, secret, secret_len);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_ATTACH;
	rq.u.session_attach.session = id;
	rq.u.session_attach.secret = proto_bytes_make(secret, secret_len);
	rc = lc_call_async(c, &rq, 0, attach_async_done, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

coord_err_t coord_session_attach(struct coord_client *c, uint64_t id,
				 const void *secret, size_t secret_len,
				 struct coord_session **out)
{
	struct open_wait w = { false, COORD_OK, NULL };

	*out = NULL;
	if (!sync_ok(c))
		return COORD_EINVAL;
	return open_wait_run(c, coord_session_attach_async(c, id, secret,
							   secret_len,
							   open_wait_cb, &w),
			     &w, out);
}

/* Unlinks and frees s and its locks' and claims' handles; sends
 * nothing. */
static void session_free(struct coord_session *s)
{
	struct coord_session **pp = lc_sessions(s->c);

	s->freeing = true;
	sreq_end_parked(s, COORD_ECANCELED);
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	while (s->locks != NULL)
		lc_lock_free(s->locks);
	while (s->jobs != NULL)
		lc_job_free(s->jobs);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

/* The code a caller gets: a session that ended meanwhile took its
 * locks with it, which is what a release or close asked for. */
static int done_code(struct coord_client *c, uint64_t session, int code)
{
	struct coord_session *s = lc_session_find(c, session);

	if (code != COORD_OK && s != NULL && s->lost_code != COORD_OK)
		return COORD_OK;
	return code;
}

static void lc_wait_tell(struct coord_client *c, struct lc_wait *w, int code)
{
	w->done = true;
	w->code = code;
	if (w->fn != NULL) {
		lc_dispatch_enter(c);
		w->fn(w->arg, code);
		lc_dispatch_leave(c);
	}
	if (w->owned)
		free(w);
}

struct lc_wait *lc_wait_new(uint64_t session, coord_done_fn fn, void *arg)
{
	struct lc_wait *w = calloc(1, sizeof(*w));

	if (w != NULL)
		*w = (struct lc_wait){ .session = session, .fn = fn,
				       .arg = arg, .owned = true };
	return w;
}

void lc_wait_done(struct coord_client *c, void *arg, int code,
		  const struct proto_response *r)
{
	struct lc_wait *w = arg;

	(void)r;
	lc_wait_tell(c, w, done_code(c, w->session, code));
}

/* The close is over: the handle goes (unless the client is freeing
 * it). */
static void close_done(struct coord_client *c, void *arg, int code,
		       const struct proto_response *r)
{
	struct lc_wait *w = arg;
	struct coord_session *s = lc_session_find(c, w->session);

	(void)r;
	code = done_code(c, w->session, code);
	if (s != NULL && !s->freeing)
		session_free(s);
	lc_wait_tell(c, w, code);
}

/* Starts closing s: its locks' handles go, it tells nothing more, and
 * the SESSION_CLOSE goes once the session is attached to the connection
 * (w told; COORD_OK: started). */
static int close_start(struct coord_session *s, struct lc_wait *w)
{
	uint64_t id = s->id;
	struct coord_client *c = s->c;
	int rc;

	s->closing = true;
	s->fn = NULL;
	while (s->locks != NULL)
		lc_lock_free(s->locks);     /* acquires: COORD_ECANCELED */
	if ((s = lc_session_find(c, id)) == NULL || s->freeing)
		return COORD_ECANCELED;
	rc = lc_session_send(s, PROTO_SESSION_CLOSE, NULL, 0, 0, close_done,
			     w);
	if (rc != COORD_OK)
		session_free(s);
	return rc;
}

coord_err_t coord_session_close(struct coord_session *s)
{
	struct coord_client *c;
	struct lc_wait w;
	int rc;

	if (s == NULL || s->freeing || s->closing)
		return COORD_OK;
	c = s->c;
	if (s->lost_code != COORD_OK) {
		session_free(s);
		return COORD_OK;
	}
	if (lc_in_callback(c))      /* nobody can wait here */
		return coord_session_close_async(s, NULL, NULL);
	w = (struct lc_wait){ .session = s->id };
	rc = close_start(s, &w);
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;
	return w.code;
}

coord_err_t coord_session_close_async(struct coord_session *s,
				      coord_done_fn fn, void *arg)
{
	struct lc_wait *w;
	int rc;

	if (s == NULL || s->freeing || s->closing)
		return COORD_EINVAL;
	if (s->lost_code != COORD_OK) {
		rc = s->lost_code;
		session_free(s);
		return rc;      /* fn is not called */
	}
	w = lc_wait_new(s->id, fn, arg);
	if (w == NULL)
		return COORD_ENOMEM;
	rc = close_start(s, w);
	if (rc != COORD_OK)
		free(w);
	return rc;
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

uint64_t coord_session_deadline_ms(const struct coord_session *s)
{
	return s->live.acked_send_ms + s->live.ttl_ms;
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
			  p->u.grant.request_kind == PROTO_SEM_ACQUIRE ||
			  p->u.grant.request_kind == PROTO_ELECTION_CAMPAIGN))
		lc_locks_on_grant(s, &p->u.grant);
	if (s != NULL && p->u.grant.request_kind == PROTO_JOB_CLAIM)
		lc_jobs_on_grant(s, &p->u.grant);
}

void lc_sessions_free_all(struct coord_client *c)
{
	struct lc_ka **pka = lc_keepalives(c);

	while (*lc_sessions(c) != NULL)
		session_free(*lc_sessions(c));
	if (*pka != NULL) {
		event_free((*pka)->flush);
		free(*pka);
		*pka = NULL;
	}
}

/*
 * Leases.
 */

/* A lease request's caller: fn, or a done fn taking the code alone. */
struct lease_ctx {
	coord_lease_fn fn;
	coord_done_fn done;
	void *arg;
};

static void lease_done(struct coord_client *c, void *arg, int code,
		       const struct proto_response *r)
{
	struct lease_ctx *x = arg;
	uint64_t lease = 0, ttl = 0, granted = 0;

	if (code == COORD_OK && r->kind == PROTO_LEASE_TTL) {
		lease = r->u.lease_ttl.lease;
		ttl = r->u.lease_ttl.ttl_ms;
		granted = r->u.lease_ttl.granted_ttl_ms;
	} else if (code == COORD_OK && r->kind != PROTO_LEASE_REVOKE) {
		lease = r->u.lease.lease;
		ttl = r->u.lease.ttl_ms;
	}
	lc_dispatch_enter(c);
	if (x->fn != NULL)
		x->fn(x->arg, code, lease, ttl, granted);
	else
		x->done(x->arg, code);
	lc_dispatch_leave(c);
	free(x);
}

static int lease_send(struct coord_client *c, struct proto_request *rq,
		      coord_lease_fn fn, coord_done_fn done, void *arg)
{
	struct lease_ctx *x = malloc(sizeof(*x));
	int rc;

	if (x == NULL)
		return COORD_ENOMEM;
	*x = (struct lease_ctx){ fn, done, arg };
	rc = lc_call_async(c, rq, 0, lease_done, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

coord_err_t coord_lease_grant_async(struct coord_client *c, uint64_t ttl_ms,
				    coord_lease_fn fn, void *arg)
{
	struct proto_request rq;

	if (ttl_ms == 0) {
		lc_errf(c, "a lease needs a TTL");
		return COORD_ETTL;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_GRANT;
	rq.u.lease_grant.ttl_ms = ttl_ms;
	return lease_send(c, &rq, fn, NULL, arg);
}

coord_err_t coord_lease_keepalive_async(struct coord_client *c,
					uint64_t lease, coord_lease_fn fn,
					void *arg)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_KEEPALIVE;
	rq.u.lease.lease = lease;
	return lease_send(c, &rq, fn, NULL, arg);
}

coord_err_t coord_lease_revoke_async(struct coord_client *c, uint64_t lease,
				     coord_done_fn fn, void *arg)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_REVOKE;
	rq.u.lease.lease = lease;
	return lease_send(c, &rq, NULL, fn, arg);
}

coord_err_t coord_lease_ttl_async(struct coord_client *c, uint64_t lease,
				  coord_lease_fn fn, void *arg)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_TTL;
	rq.u.lease_ttl.lease = lease;
	return lease_send(c, &rq, fn, NULL, arg);
}

/* A synchronous lease call's outcome, from its callback. */
struct lease_wait {
	bool done;
	int code;
	uint64_t lease, ttl_ms, granted_ttl_ms;
};

static void lease_wait_cb(void *arg, coord_err_t code, uint64_t lease,
			  uint64_t ttl_ms, uint64_t granted_ttl_ms)
{
	struct lease_wait *w = arg;

	*w = (struct lease_wait){ true, code, lease, ttl_ms, granted_ttl_ms };
}

static void lease_wait_done(void *arg, coord_err_t code)
{
	lease_wait_cb(arg, code, 0, 0, 0);
}

/* A synchronous lease call: kind on arg (LEASE_GRANT: the TTL, else
 * the lease), waited for. */
static int lease_sync(struct coord_client *c, uint32_t kind, uint64_t arg,
		      struct lease_wait *w)
{
	int rc;

	*w = (struct lease_wait){ false, COORD_OK, 0, 0, 0 };
	if (!sync_ok(c))
		return COORD_EINVAL;
	switch (kind) {
	case PROTO_LEASE_GRANT:
		rc = coord_lease_grant_async(c, arg, lease_wait_cb, w);
		break;
	case PROTO_LEASE_KEEPALIVE:
		rc = coord_lease_keepalive_async(c, arg, lease_wait_cb, w);
		break;
	case PROTO_LEASE_REVOKE:
		rc = coord_lease_revoke_async(c, arg, lease_wait_done, w);
		break;
	default:
		rc = coord_lease_ttl_async(c, arg, lease_wait_cb, w);
		break;
	}
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w->done, 0) < 0)
		return w->done ? w->code : COORD_ECANCELED;
	return w->code;
}

static void put_u64(uint64_t *out, uint64_t v)
{
	if (out != NULL)
		*out = v;
}

coord_err_t coord_lease_grant(struct coord_client *c, uint64_t ttl_ms,
			      uint64_t *lease, uint64_t *ttl_ms_out)
{
	struct lease_wait w;
	int code = lease_sync(c, PROTO_LEASE_GRANT, ttl_ms, &w);

	put_u64(lease, w.lease);
	put_u64(ttl_ms_out, w.ttl_ms);
	return code;
}

coord_err_t coord_lease_keepalive_once(struct coord_client *c, uint64_t lease,
				       uint64_t *ttl_ms)
{
	struct lease_wait w;
	int code = lease_sync(c, PROTO_LEASE_KEEPALIVE, lease, &w);

	put_u64(ttl_ms, w.ttl_ms);
	return code;
}

coord_err_t coord_lease_revoke(struct coord_client *c, uint64_t lease)
{
	struct lease_wait w;

	return lease_sync(c, PROTO_LEASE_REVOKE, lease, &w);
}

coord_err_t coord_lease_ttl(struct coord_client *c, uint64_t lease,
			    uint64_t *ttl_ms, uint64_t *granted_ttl_ms)
{
	struct lease_wait w;
	int code = lease_sync(c, PROTO_LEASE_TTL, lease, &w);

	put_u64(ttl_ms, w.ttl_ms);
	put_u64(granted_ttl_ms, w.granted_ttl_ms);
	return code;
}

/* A page of the keys attached to a lease, as a coord_kvs of keys. */
struct keys_result {
	struct coord_kvs *kvs;
	bool nomem;
};

static void keys_done(struct coord_client *c, void *arg, int code,
		      const struct proto_response *r)
{
	struct keys_result *res = arg;
	const struct proto_lease_ttl_reply *tr;
	struct proto_range_reply rr;
	struct proto_kv *kvs;

	(void)c;
	if (code != COORD_OK || r == NULL)
		return;
	tr = &r->u.lease_ttl;
	kvs = calloc(tr->keys.n + 1, sizeof(*kvs));
	if (kvs == NULL) {
		res->nomem = true;
		return;
	}
	for (size_t i = 0; i < tr->keys.n; i++) {
		kvs[i].key = tr->keys.v[i];
		kvs[i].lease = tr->lease;
	}
	rr.kvs = kvs;
	rr.n_kvs = tr->keys.n;
	rr.count = tr->keys.n;
	rr.more = tr->more;
	res->kvs = lc_kvs_from(&rr, 0);
	res->nomem = res->kvs == NULL;
	free(kvs);
}

coord_err_t coord_lease_keys(struct coord_client *c, uint64_t lease,
			     const void *after, size_t after_len,
			     struct coord_kvs **out)
{
	struct proto_request rq;
	struct keys_result res = { NULL, false };
	int code;

	*out = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_TTL;
	rq.u.lease_ttl.lease = lease;
	rq.u.lease_ttl.keys = true;
	rq.u.lease_ttl.after = proto_bytes_make(after, after_len);
	code = lc_call(c, &rq, keys_done, &res);
	if (code == COORD_OK && res.nomem)
		code = COORD_ENOMEM;
	if (code == COORD_OK)
		*out = res.kvs;
	else
		coord_kvs_free(res.kvs);
	return code;
}
