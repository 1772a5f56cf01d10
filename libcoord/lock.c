/*
 * libcoord/lock.c: lock handles of a session (coord.h, "Locks"):
 * acquire with wait, try, timeout with a cancel that never leaves a grant
 * behind, release, the state that follows the session's, fenced writes
 * that refuse locally once the lock is known lost; LOCK_CHECK and
 * LOCK_STATUS. A semaphore permit (coord.h, "Semaphores") is a lock
 * handle with permits N != 0: the same handle and state, sent as
 * SEM_ACQUIRE / SEM_RELEASE and fenced with kind PROTO_QUEUE_SEM.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libcoord/session_int.h"

/* A request's context: the lock by (session id, local id), so that an
 * answer after the handle went finds nothing. */
struct lock_ctx {
	uint64_t session;
	uint64_t lock;
	bool resend;                /* a re-send after a reconnect */
};

static struct coord_lock *lock_find(struct coord_client *c,
				    const struct lock_ctx *x)
{
	struct coord_session *s = lc_session_find(c, x->session);

	if (s == NULL)
		return NULL;
	for (struct coord_lock *l = s->locks; l != NULL; l = l->next)
		if (l->local_id == x->lock)
			return l;
	return NULL;
}

static struct lock_ctx *ctx_of(const struct coord_lock *l)
{
	struct lock_ctx *x = malloc(sizeof(*x));

	if (x != NULL) {
		x->session = l->s->id;
		x->lock = l->local_id;
		x->resend = false;
	}
	return x;
}

static void lock_finish(struct coord_lock *l, int code);

void lc_lock_free(struct coord_lock *l)
{
	/* An acquire still running ends (the session or client goes). */
	if (!l->finished && l->fn != NULL) {
		l->finished = true;
		lc_dispatch_enter(l->s->c);
		l->fn(l->arg, COORD_ECANCELED, NULL);
		lc_dispatch_leave(l->s->c);
	}
	for (struct coord_lock **pp = &l->s->locks; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
	if (l->timer != NULL)
		event_free(l->timer);
	free(l->name);
	free(l->value);
	free(l);
}

/* The release request of a queue kind's hold (or, token 0, wait). */
static uint32_t release_kind(uint8_t qkind)
{
	switch (qkind) {
	case PROTO_QUEUE_SEM:
		return PROTO_SEM_RELEASE;
	case PROTO_QUEUE_ELECTION:
		return PROTO_ELECTION_RESIGN;
	}
	return PROTO_LOCK_RELEASE;
}

uint32_t lc_lock_release_kind(const struct coord_lock *l)
{
	return release_kind(l->qkind);
}

void lc_lock_release_rq(const struct coord_lock *l, uint64_t token,
			struct proto_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->kind = lc_lock_release_kind(l);
	rq->u.release.name = proto_bytes_make(l->name, l->name_len);
	rq->u.release.session = l->s->id;
	rq->u.release.token = token;
}

bool lc_locks_on_state(struct coord_session *s, enum coord_session_state st)
{
	struct coord_client *c = s->c;
	uint64_t id = s->id;

	/* A callback may free handles or the session: look again. */
	for (;;) {
		struct coord_lock *l;

		if ((s = lc_session_find(c, id)) == NULL)
			return true;
		for (l = s->locks; l != NULL; l = l->next)
			if (l->lost_fn != NULL && l->held && st > l->lost_told)
				break;
		if (l == NULL)
			return true;
		l->lost_told = st;
		lc_dispatch_enter(c);
		l->lost_fn(l->lost_arg, (struct coord_election *)(void *)l,
			   st == COORD_SESSION_LOST ? COORD_ELECTION_LOST
						    : COORD_ELECTION_JEOPARDY);
		if (!lc_dispatch_leave(c))
			return false;
	}
}

static void give_up_end(struct coord_lock *l);

/* An acquire's outcome is known: the caller is told (unless it is
 * giving up, which ends by itself). */
static void lock_settle(struct coord_lock *l)
{
	if (l->finished || l->giving_up)
		return;
	if (l->held)
		lock_finish(l, COORD_OK);
	else if (l->failed)
		lock_finish(l, l->fail_code);
}

static void lock_fail(struct coord_lock *l, int code)
{
	if (l->held || l->failed)
		return;
	l->failed = true;
	l->fail_code = code;
	lock_settle(l);
}

static void lock_grant(struct coord_lock *l, uint64_t token)
{
	if (l->failed || l->lost)
		return;
	l->held = true;
	l->token = token;
	lock_settle(l);
}

/* Whether code says nothing about the acquire itself (no answer, no
 * leader, the client going): a re-send's such failure changes nothing,
 * the first send or the next re-send decides. */
static bool code_transient(int code)
{
	return code == COORD_ETIMEDOUT || code == COORD_ENOLEADER ||
	       code == COORD_EUNAVAILABLE || code == COORD_ECANCELED;
}

static void acquire_done(struct coord_client *c, void *arg, int code,
			 const struct proto_response *r)
{
	struct lock_ctx *x = arg;
	struct coord_lock *l = lock_find(c, x);
	bool resend = x->resend;

	free(x);
	if (l == NULL || l->finished)
		return;
	if (l->giving_up) {
		/* The probe after a cancel that found no waiter: a grant
		 * that raced the cancel shows here. */
		if (code == COORD_OK && r->u.grant.granted && !l->held) {
			l->held = true;
			l->token = r->u.grant.token;
		}
		give_up_end(l);
		return;
	}
	if (l->held || l->failed)
		return;
	if (code == COORD_OK) {
		if (r->u.grant.granted)
			lock_grant(l, r->u.grant.token);
		return;     /* queued: the grant comes as PUSH_GRANT */
	}
	if (code == COORD_ESESSION) {
		/* Gone, or not attached to this connection yet (after a
		 * reconnect the ATTACH is a linearizable read: the server
		 * answers requests sent behind it before it): the ATTACH
		 * tells. Attached, the acquire goes again
		 * (lc_locks_on_ready); gone, it fails with the ATTACH's code
		 * (lc_locks_on_lost). */
		lc_session_reattach(l->s);
		return;
	}
	if (resend && code_transient(code))
		return;
	lock_fail(l, code);
}

static int acquire_send(struct coord_lock *l, bool wait, bool resend)
{
	struct proto_request rq;
	struct lock_ctx *x = ctx_of(l);
	int rc;

	if (x == NULL)
		return COORD_ENOMEM;
	x->resend = resend;
	memset(&rq, 0, sizeof(rq));
	if (l->qkind == PROTO_QUEUE_ELECTION) {
		/* A campaign always waits; the library enforces the
		 * caller's timeout as for a lock. */
		rq.kind = PROTO_ELECTION_CAMPAIGN;
		rq.u.campaign.name = proto_bytes_make(l->name, l->name_len);
		rq.u.campaign.session = l->s->id;
		rq.u.campaign.value = proto_bytes_make(l->value, l->value_len);
		goto send;
	}
	if (l->qkind == PROTO_QUEUE_SEM) {
		/* The library enforces the timeout here too. */
		rq.kind = PROTO_SEM_ACQUIRE;
		rq.u.sem_acquire.name = proto_bytes_make(l->name, l->name_len);
		rq.u.sem_acquire.session = l->s->id;
		rq.u.sem_acquire.permits = l->permits;
		rq.u.sem_acquire.wait = wait;
		goto send;
	}
	rq.kind = PROTO_LOCK_ACQUIRE;
	rq.u.lock_acquire.name = proto_bytes_make(l->name, l->name_len);
	rq.u.lock_acquire.session = l->s->id;
	rq.u.lock_acquire.mode = l->shared ? PROTO_LOCK_SHARED
					   : PROTO_LOCK_EXCLUSIVE;
	rq.u.lock_acquire.wait = wait;
	/* The library enforces the caller's timeout (and cancels): the
	 * server keeps the waiter while the session lives. */
	rq.u.lock_acquire.timeout_ms = 0;
	rq.u.lock_acquire.lock_delay_ms = l->lock_delay_ms;
send:
	rc = lc_call_async(l->s->c, &rq, 0, acquire_done, x);
	if (rc != COORD_OK)
		free(x);
	return rc;
}

void lc_locks_on_ready(struct coord_session *s)
{
	/* Once the session is attached to a new connection, a waiter
	 * queued on the old one asks again (a new sequence), so that the
	 * grant is pushed here: the server never queues a session twice,
	 * and answers "held, token T" if the grant came in between. */
	for (struct coord_lock *l = s->locks; l != NULL; l = l->next)
		if (!l->held && !l->failed && !l->lost)
			acquire_send(l, true, true);
}

/* A release (LOCK_RELEASE, ELECTION_RESIGN) nobody waits for (after the
 * session's ATTACH, when one is out: lc_session_send()). */
static void release_send_async(struct coord_session *s, uint32_t kind,
			       const uint8_t *name, size_t name_len,
			       uint64_t token)
{
	lc_session_send(s, kind, name, name_len, token, NULL, NULL);
}

void lc_locks_on_grant(struct coord_session *s,
		       const struct proto_push_grant *g)
{
	struct coord_lock *waiting = NULL;
	uint8_t qkind = proto_request_queue_kind(g->request_kind);

	for (struct coord_lock *l = s->locks; l != NULL; l = l->next) {
		if (l->qkind != qkind || l->name_len != g->name.len ||
		    (l->name_len > 0 &&
		     memcmp(l->name, g->name.data, l->name_len) != 0))
			continue;
		if (l->held && l->token == g->token && !l->lost)
			return;     /* known already (a reply said so) */
		if (!l->held && !l->failed && !l->lost)
			waiting = l;
	}
	if (waiting != NULL) {
		lock_grant(waiting, g->token);
		return;
	}
	/* A grant nobody waits for any more (its acquire timed out and
	 * was cancelled while the grant was on its way): never hold a lock
	 * the caller does not know about. */
	release_send_async(s, release_kind(qkind), g->name.data, g->name.len,
			   g->token);
}

void lc_locks_on_lost(struct coord_session *s, int code)
{
	struct coord_client *c = s->c;
	uint64_t id = s->id;
	struct coord_lock *l;

	for (l = s->locks; l != NULL; l = l->next)
		l->lost = true;
	/* Each acquire still running fails; its callback may change the
	 * list, or close the session: look again from the start. */
	for (;;) {
		if ((s = lc_session_find(c, id)) == NULL)
			return;
		for (l = s->locks; l != NULL; l = l->next)
			if (!l->finished && !l->held && !l->failed)
				break;
		if (l == NULL)
			return;
		l->giving_up = false;
		lock_fail(l, code == COORD_ETIMEDOUT ? COORD_ESESSION_EXPIRED
						     : code);
	}
}

/* The caller learns the outcome; a failed acquire's handle goes. */
static void lock_finish(struct coord_lock *l, int code)
{
	struct coord_client *c = l->s->c;
	coord_lock_fn fn = l->fn;
	void *arg = l->arg;

	l->finished = true;
	if (l->timer != NULL)
		evtimer_del(l->timer);
	if (code != COORD_OK) {
		const char *what = l->qkind == PROTO_QUEUE_ELECTION
					   ? "campaign"
					   : "lock acquire";

		if (code == COORD_ETIMEDOUT)
			lc_errf(c, "%s: not granted in time (it left the "
				"queue)", what);
		else
			lc_errf(c, "%s: %s", what, coord_strerror(code));
		lc_lock_free(l);
		l = NULL;
	}
	lc_dispatch_enter(c);
	fn(arg, code, l);
	lc_dispatch_leave(c);
}

static void give_up_released(struct coord_client *c, void *arg, int code,
			     const struct proto_response *r)
{
	struct coord_lock *l = lock_find(c, arg);

	(void)code;
	(void)r;
	free(arg);
	if (l != NULL && !l->finished)
		lock_finish(l, COORD_ETIMEDOUT);
}

/* The give-up is over: a grant that raced it is released (nobody knows
 * of it) before the caller hears COORD_ETIMEDOUT, so that a synchronous
 * caller returns with nothing held. */
static void give_up_end(struct coord_lock *l)
{
	struct proto_request rq;
	struct lock_ctx *x;

	if (l->held && !l->lost && (x = ctx_of(l)) != NULL) {
		l->lost = true;
		lc_lock_release_rq(l, l->token, &rq);
		if (lc_call_async(l->s->c, &rq, 0, give_up_released, x) ==
		    COORD_OK)
			return;
		free(x);
	}
	lock_finish(l, COORD_ETIMEDOUT);
}

void lc_lock_give_up_end(struct coord_lock *l)
{
	if (!l->finished)
		give_up_end(l);
}

static void cancel_done(struct coord_client *c, void *arg, int code,
			const struct proto_response *r)
{
	struct lock_ctx *x = arg;
	struct coord_lock *l = lock_find(c, x);

	(void)r;
	free(x);
	if (l == NULL || l->finished)
		return;
	/* No waiter to cancel: the grant may have happened in between.
	 * Acquiring a lock the session holds answers its token; for an
	 * election, the leader read tells (a campaign always queues). */
	if (code == COORD_ENOTFOUND && !l->held &&
	    l->qkind == PROTO_QUEUE_ELECTION) {
		lc_election_probe(l);
		return;
	}
	if (code == COORD_ENOTFOUND && !l->held &&
	    acquire_send(l, false, false) == COORD_OK)
		return;     /* acquire_done() ends it */
	give_up_end(l);
}

/*
 * The timeout passed while queued: leave the queue (LOCK_RELEASE with
 * token 0). If the cancel finds no waiter (COORD_ENOTFOUND), the grant
 * may have happened in between: an acquire without wait then answers
 * with the token if the session holds it, and that grant is released,
 * so that the caller never holds a lock it does not know of.
 */
static void acquire_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_lock *l = arg;
	struct proto_request rq;
	struct lock_ctx *x;

	(void)fd;
	(void)what;
	if (l->finished || l->held || l->failed)
		return;
	l->giving_up = true;
	x = ctx_of(l);
	if (x != NULL) {
		lc_lock_release_rq(l, 0, &rq);
		if (lc_call_async(l->s->c, &rq, 0, cancel_done, x) ==
		    COORD_OK)
			return;
		free(x);
	}
	give_up_end(l);
}

/* A lock's (permits 0) or a semaphore permit's acquire. */
static int acquire_start(struct coord_session *s, const void *name,
			 size_t name_len, uint64_t permits,
			 const struct coord_lock_opts *opts, coord_lock_fn fn,
			 void *arg)
{
	return lc_queue_acquire_async(
		s, permits != 0 ? PROTO_QUEUE_SEM : PROTO_QUEUE_LOCK, name,
		name_len, NULL, 0, permits, opts, fn, arg);
}

int lc_queue_acquire_async(struct coord_session *s, uint8_t qkind,
			   const void *name, size_t name_len,
			   const void *value, size_t value_len,
			   uint64_t permits, const struct coord_lock_opts *opts,
			   coord_lock_fn fn, void *arg)
{
	static const struct coord_lock_opts dflt = { .wait = true };
	struct coord_client *c = s->c;
	struct coord_lock *l;
	int rc;

	if (opts == NULL)
		opts = &dflt;
	rc = lc_wait_check(s, name_len, "a lock, semaphore or election name");
	if (rc != COORD_OK)
		return rc;
	if (value_len > COORD_ELECTION_VALUE_BYTES_MAX) {
		lc_errf(c, "an election value has at most %d bytes",
			COORD_ELECTION_VALUE_BYTES_MAX);
		return COORD_EVALUETOOBIG;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->name = malloc(name_len)) == NULL ||
	    (l->value = malloc(value_len + 1)) == NULL) {
		if (l != NULL)
			free(l->name);
		free(l);
		return COORD_ENOMEM;
	}
	memcpy(l->name, name, name_len);
	l->name_len = name_len;
	l->qkind = qkind;
	if (value_len > 0)
		memcpy(l->value, value, value_len);
	l->value_len = value_len;
	l->s = s;
	l->local_id = ++s->next_lock_id;
	l->shared = opts->shared;
	l->lock_delay_ms = opts->lock_delay_ms;
	l->permits = permits;
	l->fn = fn;
	l->arg = arg;
	l->next = s->locks;
	s->locks = l;
	if (lc_wait_timer(c, opts->wait ? opts->timeout_ms : 0,
			  acquire_timeout_cb, l, &l->timer) != COORD_OK) {
		l->fn = NULL;
		lc_lock_free(l);
		return COORD_ENOMEM;
	}
	rc = acquire_send(l, opts->wait, false);
	if (rc != COORD_OK) {
		l->fn = NULL;       /* not called: the call fails */
		lc_lock_free(l);
	}
	return rc;
}

coord_err_t coord_lock_acquire_async(struct coord_session *s,
				     const void *name, size_t name_len,
				     const struct coord_lock_opts *opts,
				     coord_lock_fn fn, void *arg)
{
	return acquire_start(s, name, name_len, 0, opts, fn, arg);
}

/* A synchronous acquire's outcome, from its callback. */
struct acquire_wait {
	bool done;
	int code;
	struct coord_lock *l;
};

static void acquire_wait_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct acquire_wait *w = arg;

	w->done = true;
	w->code = code;
	w->l = l;
}

/* The synchronous acquire of a lock or a semaphore permit. */
static int acquire_sync(struct coord_session *s, const void *name,
			size_t name_len, uint64_t permits,
			const struct coord_lock_opts *opts,
			struct coord_lock **out)
{
	struct acquire_wait w = { false, COORD_OK, NULL };
	struct coord_client *c = s->c;
	int rc;

	*out = NULL;
	if (lc_in_callback(c)) {
		lc_errf(c, "a synchronous call from inside a libcoord callback");
		return COORD_EINVAL;
	}
	rc = acquire_start(s, name, name_len, permits, opts, acquire_wait_cb,
			   &w);
	if (rc != COORD_OK)
		return rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;  /* client freed */
	*out = w.l;
	return w.code;
}

/* Sends l's LOCK_RELEASE, told to w, and frees the handle; a lost lock
 * went with its session (or was fenced out): COORD_ELOCK_LOST, nothing
 * sent. */
static int release_start(struct coord_lock *l, struct lc_wait *w)
{
	int rc = COORD_ELOCK_LOST;

	if (!l->lost && l->s->lost_code == COORD_OK)
		rc = lc_session_send(l->s, lc_lock_release_kind(l), l->name,
				     l->name_len, l->token, lc_wait_done, w);
	lc_lock_free(l);
	return rc;
}

coord_err_t coord_lock_acquire(struct coord_session *s, const void *name,
			       size_t name_len,
			       const struct coord_lock_opts *opts,
			       struct coord_lock **out)
{
	return acquire_sync(s, name, name_len, 0, opts, out);
}

/* Semaphores: opts' shared and lock_delay_ms do not apply. */
static int sem_args(struct coord_session *s, uint64_t permits,
		    const struct coord_sem_opts *opts,
		    struct coord_lock_opts *lo)
{
	memset(lo, 0, sizeof(*lo));
	lo->wait = opts == NULL || opts->wait;
	lo->timeout_ms = opts != NULL ? opts->timeout_ms : 0;
	if (permits == 0 || permits > COORD_SEM_PERMITS_MAX) {
		lc_errf(s->c, "a semaphore has 1 to %d permits",
			COORD_SEM_PERMITS_MAX);
		return COORD_EPERMITS;
	}
	return COORD_OK;
}

coord_err_t coord_sem_acquire(struct coord_session *s, const void *name,
			      size_t name_len, uint64_t permits,
			      const struct coord_sem_opts *opts,
			      struct coord_lock **out)
{
	struct coord_lock_opts lo;
	int rc = sem_args(s, permits, opts, &lo);

	*out = NULL;
	return rc == COORD_OK ? acquire_sync(s, name, name_len, permits, &lo,
					     out)
			      : rc;
}

coord_err_t coord_sem_acquire_async(struct coord_session *s,
				    const void *name, size_t name_len,
				    uint64_t permits,
				    const struct coord_sem_opts *opts,
				    coord_lock_fn fn, void *arg)
{
	struct coord_lock_opts lo;
	int rc = sem_args(s, permits, opts, &lo);

	return rc == COORD_OK ? acquire_start(s, name, name_len, permits, &lo,
					      fn, arg)
			      : rc;
}

uint64_t coord_lock_permits(const struct coord_lock *l)
{
	return l->permits;
}

coord_err_t coord_lock_release(struct coord_lock *l)
{
	struct coord_client *c;
	struct lc_wait w;
	int rc;

	if (l == NULL)
		return COORD_OK;
	c = l->s->c;
	if (lc_in_callback(c)) {    /* nobody can wait here */
		rc = coord_lock_release_async(l, NULL, NULL);
		return rc == COORD_ELOCK_LOST ? COORD_OK : rc;
	}
	w = (struct lc_wait){ .session = l->s->id };
	rc = release_start(l, &w);
	if (rc != COORD_OK)
		return rc == COORD_ELOCK_LOST ? COORD_OK : rc;
	if (lc_run_until(c, &w.done, 0) < 0)
		return w.done ? w.code : COORD_ECANCELED;
	return w.code;
}

coord_err_t coord_lock_release_async(struct coord_lock *l, coord_done_fn fn,
				     void *arg)
{
	struct lc_wait *w;
	int rc;

	if (l == NULL)
		return COORD_EINVAL;
	w = lc_wait_new(l->s->id, fn, arg);
	if (w == NULL)
		return COORD_ENOMEM;
	rc = release_start(l, w);
	if (rc != COORD_OK)
		free(w);
	return rc;
}

uint64_t coord_lock_token(const struct coord_lock *l)
{
	return l->token;
}

enum coord_lock_state coord_lock_state(const struct coord_lock *l)
{
	if (l->lost || !l->held)
		return COORD_LOCK_LOST;
	switch (coord_session_state(l->s)) {
	case COORD_SESSION_ALIVE:
		return COORD_LOCK_HELD;
	case COORD_SESSION_JEOPARDY:
		return COORD_LOCK_JEOPARDY;
	default:
		return COORD_LOCK_LOST;
	}
}

struct coord_session *coord_lock_session(const struct coord_lock *l)
{
	return l->s;
}

/* The fence of l for a write through it; COORD_ELOCK_LOST when l is
 * known lost (nothing is sent). */
static int lock_fence(struct coord_lock *l, struct coord_fence *f)
{
	if (coord_lock_state(l) == COORD_LOCK_LOST) {
		l->lost = true;
		lc_errf(l->s->c, "lock %.*s (token %" PRIu64 ") is lost: "
			"the write was not sent", (int)l->name_len,
			(const char *)l->name, l->token);
		return COORD_ELOCK_LOST;
	}
	f->lock = l->name;
	f->lock_len = l->name_len;
	f->token = l->token;
	switch (l->qkind) {
	case PROTO_QUEUE_ELECTION:
		f->kind = COORD_FENCE_ELECTION;
		break;
	case PROTO_QUEUE_SEM:
		f->kind = COORD_FENCE_SEM;
		break;
	default:
		f->kind = COORD_FENCE_LOCK;
	}
	return COORD_OK;
}

/* COORD_EFENCED: the servers know a newer grant; the lock is lost. */
static int lock_fenced_result(struct coord_lock *l, int rc)
{
	if (rc == COORD_EFENCED)
		l->lost = true;
	return rc;
}

coord_err_t coord_lock_put(struct coord_lock *l, const void *key,
			   size_t key_len, const void *value,
			   size_t value_len, uint64_t *revision)
{
	struct coord_fence f;
	int rc = lock_fence(l, &f);

	if (rc != COORD_OK)
		return rc;
	return lock_fenced_result(l, coord_put_fenced(l->s->c, &f, 1, key,
						      key_len, value, value_len,
						      revision));
}

coord_err_t coord_lock_delete(struct coord_lock *l, const void *key,
			      size_t key_len, unsigned flags,
			      uint64_t *deleted, uint64_t *revision)
{
	struct coord_fence f;
	int rc = lock_fence(l, &f);

	if (rc != COORD_OK)
		return rc;
	return lock_fenced_result(l, coord_delete_fenced(l->s->c, &f, 1, key,
							 key_len, flags,
							 deleted, revision));
}

coord_err_t coord_lock_txn(struct coord_lock *l,
			   const struct coord_compare *cmps, size_t n_cmps,
			   const struct coord_op *then_ops, size_t n_then,
			   const struct coord_op *else_ops, size_t n_else,
			   struct coord_txn_result **out)
{
	struct coord_fence f;
	int rc = lock_fence(l, &f);

	*out = NULL;
	if (rc != COORD_OK)
		return rc;
	return lock_fenced_result(l, coord_txn_fenced(l->s->c, &f, 1, cmps,
						      n_cmps, then_ops, n_then,
						      else_ops, n_else, out));
}

/* The LOCK_RELEASE_PUT of l (key and value borrowed); COORD_ELOCK_LOST
 * when l is known lost. */
static int put_release_request(struct coord_lock *l, const void *key,
			       size_t key_len, const void *value,
			       size_t value_len, struct proto_request *rq)
{
	struct coord_fence f;
	int rc = lock_fence(l, &f);

	if (rc != COORD_OK)
		return rc;
	memset(rq, 0, sizeof(*rq));
	rq->kind = PROTO_LOCK_RELEASE_PUT;
	rq->u.release_put.name = proto_bytes_make(l->name, l->name_len);
	rq->u.release_put.session = l->s->id;
	rq->u.release_put.token = l->token;
	rq->u.release_put.key = proto_bytes_make(key, key_len);
	rq->u.release_put.value = proto_bytes_make(value, value_len);
	return COORD_OK;
}

static void put_release_done(struct coord_client *c, void *arg, int code,
			     const struct proto_response *r)
{
	(void)c;
	if (code == COORD_OK)
		*(uint64_t *)arg = r->u.kv.revision;
}

coord_err_t coord_lock_put_release(struct coord_lock *l, const void *key,
				   size_t key_len, const void *value,
				   size_t value_len, uint64_t *revision)
{
	struct proto_request rq;
	uint64_t rev = 0;
	int rc;

	if (lc_in_callback(l->s->c)) {
		lc_errf(l->s->c, "a synchronous call from inside a libcoord "
			"callback");
		return COORD_EINVAL;
	}
	rc = put_release_request(l, key, key_len, value, value_len, &rq);
	if (rc != COORD_OK)
		return rc;
	rc = lock_fenced_result(l, lc_call(l->s->c, &rq, put_release_done,
					   &rev));
	if (rc != COORD_OK)
		return rc;
	if (revision != NULL)
		*revision = rev;
	lc_lock_free(l);
	return COORD_OK;
}

struct put_release_ctx {
	struct lock_ctx lk;         /* the handle, found again at the end */
	coord_put_fn fn;
	void *arg;
};

static void put_release_async_done(struct coord_client *c, void *arg,
				   int code, const struct proto_response *r)
{
	struct put_release_ctx *x = arg;
	struct coord_lock *l = lock_find(c, &x->lk);
	uint64_t rev = code == COORD_OK ? r->u.kv.revision : 0;

	if (l != NULL) {
		l->releasing = false;
		if (code == COORD_OK)
			lc_lock_free(l);
		else
			(void)lock_fenced_result(l, code);
	}
	lc_dispatch_enter(c);
	x->fn(x->arg, code, rev);
	lc_dispatch_leave(c);
	free(x);
}

coord_err_t coord_lock_put_release_async(struct coord_lock *l,
					 const void *key, size_t key_len,
					 const void *value, size_t value_len,
					 coord_put_fn fn, void *arg)
{
	struct proto_request rq;
	struct put_release_ctx *x;
	int rc;

	if (l == NULL || fn == NULL)
		return COORD_EINVAL;
	if (l->releasing) {
		lc_errf(l->s->c, "lock %.*s: a put and release is already "
			"under way", (int)l->name_len, (const char *)l->name);
		return COORD_EINVAL;
	}
	rc = put_release_request(l, key, key_len, value, value_len, &rq);
	if (rc != COORD_OK)
		return rc;
	x = malloc(sizeof(*x));
	if (x == NULL)
		return COORD_ENOMEM;
	x->lk.session = l->s->id;
	x->lk.lock = l->local_id;
	x->lk.resend = false;
	x->fn = fn;
	x->arg = arg;
	rc = lc_call_async(l->s->c, &rq, 0, put_release_async_done, x);
	if (rc != COORD_OK) {
		free(x);
		return rc;
	}
	l->releasing = true;
	return COORD_OK;
}

/*
 * LOCK_CHECK and LOCK_STATUS.
 */

struct check_result {
	bool current;
	uint64_t token;             /* LOCK_CHECK's; SEM_STATUS: permits */
	struct coord_lock_status *st;
};

static int status_copy(const struct proto_lock_status_reply *ls,
		       struct coord_lock_status **out)
{
	struct coord_lock_status *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return COORD_ENOMEM;
	st->holders = calloc(ls->holders.n + 1, sizeof(*st->holders));
	st->waiters = calloc(ls->waiters.n + 1, sizeof(*st->waiters));
	if (st->holders == NULL || st->waiters == NULL) {
		coord_lock_status_free(st);
		return COORD_ENOMEM;
	}
	st->delay_left_ms = ls->delay_left_ms;
	st->n_holders = ls->holders.n;
	for (size_t i = 0; i < ls->holders.n; i++)
		st->holders[i] = (struct coord_lock_holder){
			ls->holders.v[i].session, ls->holders.v[i].token,
			ls->holders.v[i].mode == PROTO_LOCK_SHARED,
			ls->holders.v[i].held_ms };
	st->n_waiters_listed = ls->waiters.n;
	for (size_t i = 0; i < ls->waiters.n; i++)
		st->waiters[i] = (struct coord_lock_waiter){
			ls->waiters.v[i].session,
			ls->waiters.v[i].mode == PROTO_LOCK_SHARED,
			ls->waiters.v[i].waited_ms,
			ls->waiters.v[i].ttl_left_ms };
	st->n_waiters = ls->n_waiters;
	*out = st;
	return COORD_OK;
}

static void check_done(struct coord_client *c, void *arg, int code,
		       const struct proto_response *r)
{
	struct check_result *res = arg;

	(void)c;
	if (code != COORD_OK)
		return;
	if (r->kind == PROTO_LOCK_CHECK) {
		res->current = r->u.lock_check.current;
		res->token = r->u.lock_check.token;
	} else if (r->kind == PROTO_SEM_STATUS) {
		struct proto_lock_status_reply ls = {
			0, r->u.sem_status.holders, r->u.sem_status.waiters,
			r->u.sem_status.n_waiters };

		res->token = r->u.sem_status.permits;
		if (status_copy(&ls, &res->st) != COORD_OK)
			res->st = NULL;
	} else if (status_copy(&r->u.lock_status, &res->st) != COORD_OK) {
		res->st = NULL;
	}
}

coord_err_t coord_lock_check(struct coord_client *c, const void *name,
			     size_t name_len, uint64_t token, bool *current,
			     uint64_t *current_token)
{
	struct check_result res = { false, 0, NULL };
	struct proto_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LOCK_CHECK;
	rq.u.lock_check.name = proto_bytes_make(name, name_len);
	rq.u.lock_check.token = token;
	rc = lc_call(c, &rq, check_done, &res);
	if (current != NULL)
		*current = rc == COORD_OK && res.current;
	if (current_token != NULL)
		*current_token = rc == COORD_OK ? res.token : 0;
	return rc;
}

/* LOCK_STATUS or SEM_STATUS (*permits). */
static int status_call(struct coord_client *c, uint32_t kind,
		       const void *name, size_t name_len, uint64_t *permits,
		       struct coord_lock_status **out)
{
	struct check_result res = { false, 0, NULL };
	struct proto_request rq;
	int rc;

	*out = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.kind = kind;
	rq.u.lock_status.name = proto_bytes_make(name, name_len);
	rc = lc_call(c, &rq, check_done, &res);
	if (rc == COORD_OK && res.st == NULL)
		rc = COORD_ENOMEM;
	if (rc != COORD_OK) {
		coord_lock_status_free(res.st);
		return rc;
	}
	if (permits != NULL)
		*permits = res.token;
	*out = res.st;
	return COORD_OK;
}

coord_err_t coord_lock_status(struct coord_client *c, const void *name,
			      size_t name_len, struct coord_lock_status **out)
{
	return status_call(c, PROTO_LOCK_STATUS, name, name_len, NULL, out);
}

coord_err_t coord_sem_status(struct coord_client *c, const void *name,
			     size_t name_len, uint64_t *permits,
			     struct coord_lock_status **out)
{
	if (permits != NULL)
		*permits = 0;
	return status_call(c, PROTO_SEM_STATUS, name, name_len, permits,
			   out);
}

void coord_lock_status_free(struct coord_lock_status *st)
{
	if (st == NULL)
		return;
	free(st->holders);
	free(st->waiters);
	free(st);
}
