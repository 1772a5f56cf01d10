/*
 * libcoord/client.c: the client library (coord.h): connection, HELLO,
 * request pipelining, failover with exactly-once retries, watches that
 * resume without gaps, and the synchronous API over a private loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "libcoord/client_int.h"
#include "libcoord/coord.h"
#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"

#define EP_MAX 16
/* The tick (tick_cb_inner()) runs every TICK_MS while a request waits
 * to go out or the client is not connected; once every request is on the
 * wire, only their deadlines are left to watch, and it runs at the
 * earliest one, at most TICK_QUIET_MS apart: a thread blocked in a call
 * is not woken 50 times a second for nothing (docs/performance.md,
 * run 13). */
#define TICK_MS 20
#define TICK_QUIET_MS 250
#define RETRY_DELAY_MS 50

enum req_state { RQ_QUEUED, RQ_SENT };

enum conn_state { CS_NONE, CS_CONNECTING, CS_HELLO, CS_READY };

struct creq;
typedef void (*creq_done_fn)(struct coord_client *c, struct creq *q, int code,
			     const struct proto_response *r);

struct creq {
	struct creq *next;
	struct creq *prev;
	uint32_t kind;
	uint64_t request_id;
	struct proto_buf frame;     /* the whole frame, as sent each time */
	uint64_t deadline_ms;
	uint64_t not_before_ms;     /* a retry waits until then */
	bool once;                  /* mutating: exactly-once */
	uint64_t once_id;           /* client id it is stamped with, 0: not
				     * yet (it waits for a registration or
				     * for room in the window) */
	uint64_t sequence;          /* under once_id */
	bool refused;               /* its registration was refused */
	unsigned sends;             /* times it went out */
	bool ambiguous;             /* a send whose outcome is unknown (its
				     * connection broke, or the server
				     * timed out on it): it may have been
				     * applied */
	bool no_leader;             /* the last server it reached knew no
				     * leader (and applied nothing) */
	bool awaits_lookup;         /* held until leader_lookup_done() */
	enum req_state state;
	creq_done_fn done;
	void *fn;                   /* the user's callback */
	void *arg;
	/* Synchronous calls. */
	bool finished;
	int code;
	void *result;
	uint64_t u64a, u64b;
	struct coord_status *status_out;
	/* Requests of session.c and lock.c (client_int.h). */
	lc_done_fn lc_fn;
	void *lc_arg;
	uint64_t session;           /* bound to it (lc_session_attaching) */
	bool session_retried;       /* refused COORD_ESESSION once */
};

struct coord_watch {
	struct coord_watch *next;
	uint64_t server_id;         /* on the current connection; 0: none */
	uint64_t create_req;        /* request id of its WATCH_CREATE */
	uint64_t next_rev;          /* 0: not known yet */
	uint8_t *key;
	size_t key_len;
	unsigned flags;
	bool prev_kv;
	coord_watch_fn fn;
	coord_observe_fn ofn;       /* an election's observe: key is its name */
	void *arg;
	bool ended;
	bool canceled;              /* waits for its create reply to cancel */
};

struct coord_client {
	struct event_base *base;
	bool own_base;
	char eps[EP_MAX][128];
	uint64_t ep_id[EP_MAX];     /* node id behind each endpoint, 0: unknown */
	uint64_t cluster_id;        /* from the last HELLO answered; 0: none */
	size_t n_eps;
	size_t cur;                 /* endpoint of the connection */
	struct bufferevent *bev;
	enum conn_state cs;
	uint64_t hello_req;
	uint64_t leader_hint;
	struct creq *reqs;          /* every unfinished request */
	uint64_t next_req_id;
	/* Exactly-once: one registered id (REGISTER_CLIENT) for every
	 * mutating request of this client, each with its sequence and the
	 * lowest sequence still unanswered (the ack). */
	uint64_t client_id;         /* 0: none (not yet, or forgotten) */
	uint64_t seq_next;          /* the next sequence under client_id */
	bool registering;           /* a REGISTER_CLIENT is in flight */
	uint64_t register_not_before_ms;    /* after a refusal */
	struct coord_watch *watches;
	struct event *tick_ev;
	unsigned tick_ms;           /* the tick's period now */
	uint64_t tick_due_ms;       /* when it runs next (at the latest) */
	struct event *dial_ev;
	unsigned dial_failures;     /* in a row, since the last HELLO */
	char ep_err[EP_MAX][160];   /* each endpoint's last failure */
	uint64_t lookup_req;        /* a MEMBER_LIST for the leader's
				     * client address in flight, 0: none */
	SSL_CTX *tls;
	struct coord_options opts;
	char name[64];
	struct proto_arena arena;
	bool stop;
	bool in_free;
	unsigned depth;             /* dispatches in progress (callbacks) */
	unsigned loop_depth;        /* library loops running (run, waits) */
	bool free_pending;          /* coord_client_free() from a callback */
	char errmsg[EP_MAX * 192];
	/* Sessions and their locks (session.c, lock.c). */
	struct coord_session *sessions;
	uint64_t conn_gen;          /* connections that reached READY */
	struct lc_ka *ka;           /* session.c's keepalive batching */
};

static void conn_start(struct coord_client *c);
static void watch_free(struct coord_client *c, struct coord_watch *w);

/* The watch (or observe) ended with code: its callback hears it. */
static void watch_end(struct coord_watch *w, int code)
{
	if (w->ofn != NULL)
		w->ofn(w->arg, code, NULL);
	else
		w->fn(w->arg, code, NULL, 0);
}
static void send_untracked(struct coord_client *c, struct proto_request *rq);
static void client_destroy(struct coord_client *c);
static void conn_drop(struct coord_client *c, const char *why);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void dial_cb(evutil_socket_t fd, short what, void *arg);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void errf(struct coord_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void errf(struct coord_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
}

const char *coord_errmsg(const struct coord_client *c)
{
	return c->errmsg;
}

/* ---------------------------------------------------------------------- */
/* Exactly-once: the client's registered id, and the sequence and ack of
 * each mutating request (docs/protocol.md, "Exactly once"). */

/* The lowest sequence under the current id of a request not finished:
 * the server may drop every reply below it. */
static uint64_t once_ack(const struct coord_client *c)
{
	uint64_t ack = c->seq_next;

	for (const struct creq *q = c->reqs; q != NULL; q = q->next)
		if (q->once && q->once_id == c->client_id && q->sequence < ack)
			ack = q->sequence;
	return ack;
}

/* Encodes rq into q's frame (replacing it). */
static int req_encode(struct creq *q, const struct proto_request *rq)
{
	struct proto_buf nb;
	size_t mark;
	int rc;

	proto_buf_init(&nb, NULL);
	rc = proto_frame_begin(&nb, &mark);
	if (rc == COORD_OK)
		rc = proto_request_encode(rq, &nb);
	if (rc == COORD_OK)
		rc = proto_frame_end(&nb, mark, COORD_REQUEST_FRAME_BYTES_MAX);
	if (rc != COORD_OK) {
		proto_buf_close(&nb);
		return rc;
	}
	proto_buf_close(&q->frame);
	q->frame = nb;
	return COORD_OK;
}

/* Whether a new sequence fits the server's window: sequence - ack stays
 * below COORD_CLIENT_WINDOW_MAX (the server refuses past it). */
static bool once_window_open(const struct coord_client *c)
{
	return c->seq_next - once_ack(c) < COORD_CLIENT_WINDOW_MAX;
}

/* Gives rq (q's request) the next sequence under the current id. */
static void once_stamp(struct coord_client *c, struct creq *q,
		       struct proto_request *rq)
{
	/* The ack before the sequence is taken: at most q's own. */
	rq->ack = once_ack(c);
	q->once_id = c->client_id;
	q->sequence = c->seq_next++;
	rq->client_id = q->once_id;
	rq->sequence = q->sequence;
}

/* Stamps an unstamped request of q's frame now, when there is an id and
 * room: false while it must wait. */
static bool once_stamp_frame(struct coord_client *c, struct creq *q)
{
	struct proto_request rq;

	if (c->client_id == 0 || !once_window_open(c))
		return false;
	proto_arena_reset(&c->arena);
	if (proto_request_decode(proto_frame_body(q->frame.data),
				 q->frame.len - PROTO_FRAME_HEADER_BYTES,
				 &c->arena, &rq) != COORD_OK)
		return false;
	once_stamp(c, q, &rq);
	if (req_encode(q, &rq) != COORD_OK) {
		q->once_id = 0;
		return false;
	}
	return true;
}

static void register_send(struct coord_client *c);
static void send_queued(struct coord_client *c);

/* ---------------------------------------------------------------------- */
/* Requests. */

static void req_unlink(struct coord_client *c, struct creq *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		c->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
}

/* Finishes q: the callback runs, then q is freed (async) or marked for
 * the waiting synchronous call. */
static void req_finish(struct coord_client *c, struct creq *q, int code,
		       const struct proto_response *r)
{
	bool window = q->once && q->once_id != 0;

	req_unlink(c, q);
	q->code = code;
	q->finished = true;
	q->done(c, q, code, r);
	proto_buf_close(&q->frame);
	if (q->fn != NULL || q->arg == NULL)
		free(q);
	/* else: a synchronous call owns q (arg == q, fn == NULL). */
	if (window && !c->in_free && c->client_id != 0)
		send_queued(c);     /* the window may have room again */
}

static struct creq *req_new(struct coord_client *c, struct proto_request *rq,
			    creq_done_fn done)
{
	struct creq *q = calloc(1, sizeof(*q));
	size_t mark;
	int rc;

	if (q == NULL) {
		errf(c, "out of memory");
		return NULL;
	}
	rq->request_id = ++c->next_req_id;
	q->request_id = rq->request_id;
	q->kind = rq->kind;
	q->done = done;
	q->once = proto_kind_is_mutating(rq->kind);
	/* Stamped now when it can be (the usual case); else encoded
	 * without an identity and stamped before it goes out. */
	if (q->once && c->client_id != 0 && once_window_open(c))
		once_stamp(c, q, rq);
	proto_buf_init(&q->frame, NULL);
	rc = proto_frame_begin(&q->frame, &mark);
	if (rc == COORD_OK)
		rc = proto_request_encode(rq, &q->frame);
	if (rc == COORD_OK)
		rc = proto_frame_end(&q->frame, mark,
				     COORD_REQUEST_FRAME_BYTES_MAX);
	if (rc != COORD_OK) {
		errf(c, "cannot encode the request: %s", coord_strerror(rc));
		if (q->once_id != 0 && q->sequence == c->seq_next - 1)
			c->seq_next--;
		proto_buf_close(&q->frame);
		free(q);
		return NULL;
	}
	q->deadline_ms = now_ms() + c->opts.request_timeout_ms;
	q->state = RQ_QUEUED;
	q->next = c->reqs;
	if (c->reqs != NULL)
		c->reqs->prev = q;
	c->reqs = q;
	return q;
}

static void tick_set(struct coord_client *c, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };

	c->tick_ms = ms;
	c->tick_due_ms = now_ms() + ms;
	event_del(c->tick_ev);
	event_add(c->tick_ev, &tv);
}

/* The tick every ms from now (from its own run: the period it runs at). */
static void tick_arm(struct coord_client *c, unsigned ms)
{
	if (c->tick_ev == NULL)
		return;
	if (c->tick_ms == ms) {
		c->tick_due_ms = now_ms() + ms;
		return;
	}
	tick_set(c, ms);
}

static void run_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;      /* only ends the loop's wait */
}

/* A timer at end_ms (NULL: no memory; the tick then ends the wait), so
 * that a run with a deadline returns on time, not at the next tick. */
static struct event *run_wake_new(struct coord_client *c, uint64_t end_ms)
{
	struct event *ev = evtimer_new(c->base, run_wake_cb, NULL);
	uint64_t t = now_ms(), ms = end_ms > t ? end_ms - t + 1 : 1;
	struct timeval tv = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000 };

	if (ev != NULL)
		evtimer_add(ev, &tv);
	return ev;
}

/* A request just sent: its deadline is watched in time even if the
 * quiet tick was set before it existed. */
static void tick_cover(struct coord_client *c, uint64_t deadline_ms)
{
	uint64_t t = now_ms();

	if (c->tick_ev == NULL || c->tick_ms == TICK_MS ||
	    deadline_ms >= c->tick_due_ms)
		return;
	tick_set(c, deadline_ms > t + TICK_MS ? (unsigned)(deadline_ms - t)
					      : TICK_MS);
}

/* A request waits to go out: the tick at its full rate (TICK_MS). */
static void tick_fast(struct coord_client *c)
{
	tick_arm(c, TICK_MS);
}

/* False: q waits (for a connection, a pause, an id, room in the window,
 * its session's ATTACH, a leader lookup). */
static bool req_try_send(struct coord_client *c, struct creq *q)
{
	if (c->cs != CS_READY || q->not_before_ms > now_ms() ||
	    q->awaits_lookup ||
	    (q->session != 0 && lc_session_attaching(c, q->session)))
		return false;
	if (q->once && q->once_id == 0 && !once_stamp_frame(c, q)) {
		if (c->client_id == 0 && !c->registering &&
		    c->register_not_before_ms <= now_ms())
			register_send(c);
		return false;   /* waits for the id, or for room */
	}
	if (evbuffer_add(bufferevent_get_output(c->bev), q->frame.data,
			 q->frame.len) != 0)
		return false;
	q->state = RQ_SENT;
	q->sends++;
	tick_cover(c, q->deadline_ms);
	return true;
}

static void req_send(struct coord_client *c, struct creq *q)
{
	if (!req_try_send(c, q))
		tick_fast(c);
}

/* Oldest first (the list is newest first): requests that waited for a
 * registration get their sequences, and go out, in the order they were
 * made. A registration req_send() starts goes at the head: not visited. */
static void send_queued(struct coord_client *c)
{
	struct creq *q = c->reqs;
	bool no_room = false;

	while (q != NULL && q->next != NULL)
		q = q->next;
	for (; q != NULL; q = q->prev) {
		bool unstamped = q->once && q->once_id == 0;

		if (q->state != RQ_QUEUED || (unstamped && no_room))
			continue;
		req_send(c, q);
		/* One that found no id or no room in the window: neither
		 * will the later ones in this pass (each check walks every
		 * request: thousands queued would cost their square). */
		if (unstamped && q->once_id == 0 &&
		    q->not_before_ms <= now_ms() && !q->awaits_lookup)
			no_room = true;
	}
}

/* The answer to REGISTER_CLIENT: the id every mutating request is
 * stamped with from now on. A refusal (COORD_ECLIENTSFULL,
 * COORD_EREGISTERRATE...) fails the requests that wait for an id, which
 * were never sent; a timeout lets the next send register again. */
static void register_done(struct coord_client *c, struct creq *q, int code,
			  const struct proto_response *r)
{
	(void)q;
	c->registering = false;
	if (c->in_free)
		return;
	if (code == COORD_OK) {
		c->client_id = r->u.register_client.client_id;
		c->seq_next = 1;
		send_queued(c);
		return;
	}
	if (code == COORD_ETIMEDOUT || code == COORD_ECANCELED ||
	    code == COORD_EIO)
		return;
	errf(c, "the server refused a client id: %s", coord_strerror(code));
	/* Not again at once: the server said why. */
	c->register_not_before_ms = now_ms() + RETRY_DELAY_MS * 10;
	/* Those waiting now fail; requests their callbacks start wait for
	 * the next registration. */
	for (struct creq *w = c->reqs; w != NULL; w = w->next)
		w->refused = w->once && w->once_id == 0;
	for (struct creq *w = c->reqs; w != NULL;) {
		if (w->refused) {
			req_finish(c, w, code, NULL);
			w = c->reqs;        /* the list may have changed */
		} else {
			w = w->next;
		}
	}
}

static void register_send(struct coord_client *c)
{
	struct proto_request rq;
	struct creq *q;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_REGISTER_CLIENT;
	q = req_new(c, &rq, register_done);
	if (q == NULL)
		return;     /* the next send tries again */
	c->registering = true;
	req_send(c, q);
}

/* Submits q; a connection is started if there is none. */
static coord_err_t req_submit(struct coord_client *c, struct creq *q)
{
	if (c->cs == CS_NONE && c->dial_failures >= c->n_eps &&
	    event_pending(c->dial_ev, EV_TIMEOUT, NULL)) {
		/* Every endpoint failed last time and the client is backing
		 * off: a new request gets a fresh round of dials now, so that
		 * it, too, learns within the dial timeout (tick_cb_inner()). */
		evtimer_del(c->dial_ev);
		c->dial_failures = 0;
	}
	if (c->cs == CS_NONE && !event_pending(c->dial_ev, EV_TIMEOUT, NULL))
		conn_start(c);
	req_send(c, q);
	return COORD_OK;
}

/* A synchronous call: runs the loop until q is finished. */
static coord_err_t req_wait(struct coord_client *c, struct creq *q)
{
	int code;

	if (c->depth > 0) {
		/* From a callback: the loop is running; re-entering it
		 * would spin. Synchronous calls belong outside callbacks. */
		errf(c, "a synchronous call from inside a libcoord callback");
		req_unlink(c, q);
		proto_buf_close(&q->frame);
		q->code = COORD_EINVAL;
		return COORD_EINVAL;
	}
	q->arg = q;   /* marks it synchronous: req_finish keeps it */
	req_submit(c, q);
	c->loop_depth++;
	while (!q->finished && !c->free_pending) {
		if (event_base_loop(c->base, EVLOOP_ONCE) < 0) {
			errf(c, "the event loop failed");
			req_finish(c, q, COORD_EINVAL, NULL);
			break;
		}
	}
	c->loop_depth--;
	if (c->free_pending && c->depth == 0 && c->loop_depth == 0) {
		/* A callback freed the client: q is finished with it. */
		client_destroy(c);
		return q->finished ? q->code : COORD_ECANCELED;
	}
	code = q->code;
	return code;
}

/* A synchronous call whose callback left a result in q->result: waits,
 * hands the result over (NULL on error) and frees q. */
static coord_err_t req_wait_result(struct coord_client *c, struct creq *q,
				   void **out)
{
	int code;

	*out = NULL;
	if (q == NULL)
		return COORD_EINVAL;
	code = req_wait(c, q);
	*out = q->result;
	free(q);
	return code;
}

/* A synchronous call with no result beyond its code: waits, frees q. */
static coord_err_t req_wait_free(struct coord_client *c, struct creq *q)
{
	int code;

	if (q == NULL)
		return COORD_EINVAL;
	code = req_wait(c, q);
	free(q);
	return code;
}

/* An async call: the user's callback goes on q, which is submitted. */
static coord_err_t req_async(struct coord_client *c, struct creq *q, void *fn,
			     void *arg)
{
	if (q == NULL)
		return COORD_EINVAL;
	q->fn = fn;
	q->arg = arg;
	return req_submit(c, q);
}

/* ---------------------------------------------------------------------- */
/* Connection. */

static size_t ep_of_node(const struct coord_client *c, uint64_t id)
{
	for (size_t i = 0; i < c->n_eps; i++)
		if (c->ep_id[i] == id)
			return i;
	return EP_MAX;
}

static void requeue_sent(struct coord_client *c, uint64_t delay_ms)
{
	uint64_t t = now_ms() + delay_ms;

	for (struct creq *q = c->reqs; q != NULL; q = q->next) {
		if (q->state == RQ_SENT || q->kind == PROTO_HELLO) {
			if (q->state == RQ_SENT)
				q->ambiguous = true;
			q->state = RQ_QUEUED;
			q->not_before_ms = t;
		}
	}
	tick_fast(c);
}

static void conn_drop(struct coord_client *c, const char *why)
{
	struct creq *q = c->reqs;

	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (why != NULL) {
		errf(c, "%s: %s", c->eps[c->cur], why);
		snprintf(c->ep_err[c->cur], sizeof(c->ep_err[0]), "%s", why);
	}
	c->cs = CS_NONE;
	/* The HELLO of the dead connection goes with it. */
	while (q != NULL) {
		struct creq *next = q->next;

		if (q->kind == PROTO_HELLO)
			req_finish(c, q, COORD_EIO, NULL);
		q = next;
	}
	for (struct coord_watch *w = c->watches, *next; w != NULL; w = next) {
		next = w->next;
		w->server_id = 0;
		w->create_req = 0;
		if (w->canceled)    /* its server side died with the link */
			watch_free(c, w);
	}
	requeue_sent(c, 0);
}

/* Moves to endpoint ep (or the next one) after a delay. */
static void conn_switch(struct coord_client *c, size_t ep, unsigned delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000 };

	conn_drop(c, NULL);
	c->cur = ep < c->n_eps ? ep : (c->cur + 1) % c->n_eps;
	if (c->reqs != NULL || c->watches != NULL)
		evtimer_add(c->dial_ev, &tv);
}

static void conn_failed(struct coord_client *c, const char *why)
{
	unsigned delay = c->dial_failures < c->n_eps
				 ? 0
				 : RETRY_DELAY_MS << (c->dial_failures / c->n_eps < 5
							      ? c->dial_failures / c->n_eps
							      : 5);
	/* A connection that broke after its HELLO was no failed dial: the
	 * next endpoint is dialed at once, and only failed dials count
	 * towards "every endpoint failed" (tick_cb_inner()). */
	bool was_ready = c->cs == CS_READY;

	conn_drop(c, why);
	if (!was_ready)
		c->dial_failures++;
	conn_switch(c, EP_MAX, delay);
}

static void watch_send_create(struct coord_client *c, struct coord_watch *w);

static void on_hello(struct coord_client *c, struct creq *q, int code,
		     const struct proto_response *r)
{
	(void)q;
	if (c->in_free || c->bev == NULL)
		return;
	if (code != COORD_OK) {
		if (r != NULL && code == COORD_EPROTOVERSION)
			errf(c, "%s speaks protocol version %" PRIu64
			     ", this library %d", c->eps[c->cur],
			     r->u.hello.version, PROTO_VERSION);
		conn_failed(c, coord_strerror(code));
		return;
	}
	c->ep_id[c->cur] = r->u.hello.node_id;
	c->cluster_id = r->u.hello.cluster_id;
	c->cs = CS_READY;
	c->dial_failures = 0;
	c->ep_err[c->cur][0] = '\0';
	c->conn_gen++;
	/* Sessions are re-attached before anything queued goes out. */
	lc_sessions_on_ready(c);
	for (struct coord_watch *w = c->watches; w != NULL; w = w->next)
		if (!w->ended && !w->canceled)
			watch_send_create(c, w);
	send_queued(c);
}

static void hello_send(struct coord_client *c)
{
	struct proto_request rq;
	struct creq *q;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_HELLO;
	rq.u.hello.version = PROTO_VERSION;
	rq.u.hello.client_name = proto_bytes_make(c->name, strlen(c->name));
	rq.u.hello.cluster_id = c->opts.cluster_id;
	q = req_new(c, &rq, on_hello);
	if (q == NULL) {
		conn_failed(c, "cannot send hello");
		return;
	}
	c->hello_req = q->request_id;
	q->deadline_ms = now_ms() + c->opts.dial_timeout_ms;
	evbuffer_add(bufferevent_get_output(c->bev), q->frame.data,
		     q->frame.len);
	q->state = RQ_SENT;
}

static void handle_push(struct coord_client *c, const uint8_t *body,
			size_t len);
static bool leader_lookup(struct coord_client *c, uint64_t leader);
static void handle_response(struct coord_client *c, const uint8_t *body,
			    size_t len);

static void conn_read_cb_inner(struct bufferevent *bev, void *arg)
{
	struct coord_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (c->bev == bev && !c->free_pending) {
		size_t avail = evbuffer_get_length(in), frame_len;
		uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
		const uint8_t *frame;
		uint32_t kind;
		int rc;

		if (avail < sizeof(hdr))
			return;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = proto_frame_check(hdr, sizeof(hdr),
				       COORD_RESPONSE_FRAME_BYTES_MAX,
				       &frame_len);
		if (rc != PROTO_FRAME_MORE && rc != COORD_OK) {
			/* Before the HELLO reply: something else listens. */
			conn_failed(c, c->cs == CS_HELLO
					       ? "not a coord server (its first "
						 "answer is no coord frame)"
					       : coord_strerror(rc));
			return;
		}
		if (avail < frame_len)
			return;
		frame = evbuffer_pullup(in, (ssize_t)frame_len);
		if (frame == NULL) {
			conn_failed(c, "out of memory");
			return;
		}
		rc = proto_server_msg_kind(proto_frame_body(frame),
					   frame_len - sizeof(hdr), &kind);
		if (rc != COORD_OK) {
			conn_failed(c, "undecodable message from the server");
			return;
		}
		if (kind >= PROTO_PUSH_FIRST)
			handle_push(c, proto_frame_body(frame),
				    frame_len - sizeof(hdr));
		else
			handle_response(c, proto_frame_body(frame),
					frame_len - sizeof(hdr));
		if (c->bev == bev)
			evbuffer_drain(in, frame_len);
	}
}

static void conn_event_cb_inner(struct bufferevent *bev, short what, void *arg)
{
	struct coord_client *c = arg;
	char why[160];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		evutil_socket_t fd = bufferevent_getfd(c->bev);
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->cs = CS_HELLO;
		hello_send(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why), "connection closed by the server");
	} else if ((what & BEV_EVENT_TIMEOUT) && c->cs == CS_CONNECTING) {
		snprintf(why, sizeof(why), "no connection within %u ms",
			 c->opts.dial_timeout_ms);
	} else {
		unsigned long e = bufferevent_get_openssl_error(c->bev);

		if (e != 0) {
			char buf[128];

			ERR_error_string_n(e, buf, sizeof(buf));
			snprintf(why, sizeof(why), "TLS: %s", buf);
		} else {
			snprintf(why, sizeof(why), "%s",
				 evutil_socket_error_to_string(
					 EVUTIL_SOCKET_ERROR()));
		}
	}
	conn_failed(c, why);
}

static int resolve(const char *addr, struct sockaddr_storage *ss, int *len)
{
	char host[128];
	const char *colon = strrchr(addr, ':');
	struct evutil_addrinfo hints, *ai = NULL;
	size_t hl;

	if (colon == NULL || colon == addr)
		return -1;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2 && colon[-1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (evutil_getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = (int)ai->ai_addrlen;
	evutil_freeaddrinfo(ai);
	return 0;
}

/* The certificate must name host: its IP address (a SAN of type IP) or
 * its DNS name. Returns 0, or -1 when OpenSSL cannot record it. */
static int tls_expect_host(SSL *ssl, const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	struct in6_addr a6;
	struct in_addr a4;

	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, addr, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
						     host) == 1
			       ? 0
			       : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

static void conn_start(struct coord_client *c)
{
	struct sockaddr_storage ss;
	int sslen;
	int opts = BEV_OPT_CLOSE_ON_FREE;
	struct timeval tv = { c->opts.dial_timeout_ms / 1000,
			      (long)(c->opts.dial_timeout_ms % 1000) * 1000 };

	if (resolve(c->eps[c->cur], &ss, &sslen) != 0) {
		conn_failed(c, "cannot resolve the address");
		return;
	}
	if (c->tls != NULL) {
		SSL *ssl = SSL_new(c->tls);

		if (ssl != NULL && tls_expect_host(ssl, c->eps[c->cur]) != 0) {
			SSL_free(ssl);
			conn_failed(c, "TLS: cannot check the server's name");
			return;
		}
		c->bev = ssl == NULL ? NULL
				     : bufferevent_openssl_socket_new(
					       c->base, -1, ssl,
					       BUFFEREVENT_SSL_CONNECTING,
					       opts);
	} else {
		c->bev = bufferevent_socket_new(c->base, -1, opts);
	}
	if (c->bev == NULL) {
		conn_failed(c, "out of memory");
		return;
	}
	bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->cs = CS_CONNECTING;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sslen) !=
	    0)
		conn_failed(c, "connect failed");
}

static void dial_cb_inner(evutil_socket_t fd, short what, void *arg)
{
	struct coord_client *c = arg;

	(void)fd;
	(void)what;
	if (c->cs == CS_NONE)
		conn_start(c);
}

/* What endpoint I is doing when it has no failure to report. */
static const char *ep_state(const struct coord_client *c, size_t i)
{
	if (i != c->cur)
		return "not tried";
	switch (c->cs) {
	case CS_CONNECTING:
		return "still connecting";
	case CS_HELLO:
		return "no answer to HELLO yet";
	case CS_READY:
		return "connected";
	default:
		return "not tried";
	}
}

/* "no endpoint could be reached: ep: why; ep: why" into errmsg. */
static void errf_endpoints(struct coord_client *c, const char *what)
{
	size_t at;

	errf(c, "%s: no endpoint could be reached:", what);
	for (size_t i = 0; i < c->n_eps; i++) {
		const char *why = c->ep_err[i];

		/* The endpoint being dialled has no failure of its own yet:
		 * the request's time ran out while it was connecting or
		 * waiting for the answer to its HELLO. */
		if (why[0] == '\0')
			why = ep_state(c, i);
		at = strlen(c->errmsg);
		snprintf(c->errmsg + at, sizeof(c->errmsg) - at, "%s %s: %s",
			 i > 0 ? ";" : "", c->eps[i], why);
	}
}

/* Whether the REGISTER_CLIENT in flight was last told there is no leader:
 * the requests waiting for its id then fail as it would. */
static bool register_no_leader(const struct coord_client *c)
{
	for (const struct creq *w = c->reqs; w != NULL; w = w->next)
		if (w->kind == PROTO_REGISTER_CLIENT && w->no_leader)
			return true;
	return false;
}

/*
 * A request's outcome once it can wait no longer: COORD_ETIMEDOUT only
 * when a send of it may have been applied (it went out and no answer
 * came, or its connection broke, or the server timed out on it); else
 * nothing was applied, and the code says why: COORD_ENOLEADER (the
 * servers it reached knew no leader) or COORD_EUNAVAILABLE (no server
 * that could serve it was reached).
 */
static int req_give_up(struct coord_client *c, struct creq *q)
{
	const char *what = proto_kind_name(q->kind);

	if (q->ambiguous || q->state == RQ_SENT) {
		errf(c, "%s: no answer within %u ms%s", what,
		     c->opts.request_timeout_ms,
		     q->once ? " (it may have been applied)" : "");
		return COORD_ETIMEDOUT;
	}
	if (q->no_leader || (q->once && q->once_id == 0 &&
			     register_no_leader(c))) {
		errf(c, "%s: no leader within %u ms: an election is in "
		     "progress or a quorum of members is down (%s said so; "
		     "not applied)", what, c->opts.request_timeout_ms,
		     c->eps[c->cur]);
		return COORD_ENOLEADER;
	}
	if (q->sends == 0 && q->once && q->once_id == 0 &&
	    c->cs == CS_READY) {
		errf(c, "%s: %s was reached, but the client's registration "
		     "(REGISTER_CLIENT) was not answered within %u ms: never "
		     "sent, not applied", what, c->eps[c->cur],
		     c->opts.request_timeout_ms);
		return COORD_EUNAVAILABLE;
	}
	if (q->sends > 0) {
		errf(c, "%s: the leader (%016" PRIx64 ") could not be reached "
		     "within %u ms: no endpoint of it is known (not applied)",
		     what, c->leader_hint, c->opts.request_timeout_ms);
		return COORD_EUNAVAILABLE;
	}
	errf_endpoints(c, what);
	return COORD_EUNAVAILABLE;
}

/* The tick's next period: TICK_MS while anything waits to go out, or
 * waits for a connection; else until the earliest deadline, within
 * [TICK_MS, TICK_QUIET_MS]. A client with no request at all is quiet,
 * connected or not (dials have their own timer, dial_ev; sessions
 * theirs). */
static unsigned tick_next_ms(const struct coord_client *c, uint64_t t)
{
	uint64_t next = TICK_QUIET_MS;

	if (c->cs != CS_READY && c->reqs != NULL)
		return TICK_MS;
	for (const struct creq *q = c->reqs; q != NULL; q = q->next) {
		if (q->state != RQ_SENT)
			return TICK_MS;
		if (q->deadline_ms < t + next)
			next = q->deadline_ms > t ? q->deadline_ms - t : 0;
	}
	return next < TICK_MS ? TICK_MS : (unsigned)next;
}

/* Every TICK_MS (or less often: tick_next_ms()): deadlines, delayed
 * retries, an idle connection's write timeout switched off once
 * connected. */
static void tick_cb_inner(evutil_socket_t fd, short what, void *arg)
{
	struct coord_client *c = arg;
	uint64_t t = now_ms();
	struct creq *q = c->reqs;
	/* Fail fast: every endpoint failed in a row (refused, unreachable,
	 * no connection within the dial timeout, TLS or HELLO refused), so
	 * the requests that never went out -- certainly not applied -- end
	 * now with each endpoint's reason. Those that may have been applied
	 * keep trying until their deadline, to learn their outcome. */
	bool none_reachable = c->cs == CS_NONE && c->dial_failures >= c->n_eps;

	(void)fd;
	(void)what;
	while (q != NULL) {
		struct creq *next = q->next;

		if (q->kind == PROTO_HELLO) {
			if (t >= q->deadline_ms) {
				conn_failed(c, "no answer to HELLO");
				return;   /* the list changed */
			}
		} else if (t >= q->deadline_ms) {
			int code = req_give_up(c, q);

			req_finish(c, q, code, NULL);
		} else if (none_reachable && !q->ambiguous &&
			   q->state == RQ_QUEUED) {
			errf_endpoints(c, proto_kind_name(q->kind));
			req_finish(c, q, COORD_EUNAVAILABLE, NULL);
		}
		q = next;
	}
	if (c->cs == CS_READY) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		send_queued(c);
	}
	tick_arm(c, tick_next_ms(c, t));
}

/* ---------------------------------------------------------------------- */
/* Dispatch: every entry from the event loop goes through these, so that a
 * callback may free the client (the free waits until the dispatch is
 * over) and a synchronous call from a callback is refused instead of
 * re-entering the loop. */

static void client_destroy(struct coord_client *c);

static void dispatch_enter(struct coord_client *c)
{
	c->depth++;
}

/* False when the client is gone. */
static bool dispatch_leave(struct coord_client *c)
{
	if (--c->depth == 0 && c->free_pending && c->loop_depth == 0) {
		client_destroy(c);
		return false;
	}
	return true;
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct coord_client *c = arg;

	dispatch_enter(c);
	conn_read_cb_inner(bev, arg);
	dispatch_leave(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct coord_client *c = arg;

	dispatch_enter(c);
	conn_event_cb_inner(bev, what, arg);
	dispatch_leave(c);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_client *c = arg;

	dispatch_enter(c);
	tick_cb_inner(fd, what, arg);
	dispatch_leave(c);
}

static void dial_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coord_client *c = arg;

	dispatch_enter(c);
	dial_cb_inner(fd, what, arg);
	dispatch_leave(c);
}

/* ---------------------------------------------------------------------- */
/* Incoming. */

static void handle_response(struct coord_client *c, const uint8_t *body,
			    size_t len)
{
	struct proto_response r;
	struct creq *q;
	int rc;

	proto_arena_reset(&c->arena);
	rc = proto_response_decode(body, len, &c->arena, &r);
	if (rc != COORD_OK) {
		conn_failed(c, "undecodable reply from the server");
		return;
	}
	for (q = c->reqs; q != NULL; q = q->next)
		if (q->request_id == r.request_id && q->state == RQ_SENT)
			break;
	if (q == NULL) {
		/* A watch create, or the answer to a request that timed
		 * out already. */
		for (struct coord_watch *w = c->watches; w != NULL;
		     w = w->next) {
			if (w->create_req == 0 || w->create_req != r.request_id)
				continue;
			if (w->canceled) {
				/* Cancelled before the server named it. */
				if (r.code == COORD_OK) {
					struct proto_request cr;

					memset(&cr, 0, sizeof(cr));
					cr.kind = PROTO_WATCH_CANCEL;
					cr.u.watch_cancel.watch_id =
						r.u.watch.watch_id;
					send_untracked(c, &cr);
				}
				watch_free(c, w);
			} else if (r.code == COORD_OK) {
				w->server_id = r.u.watch.watch_id;
				if (w->next_rev == 0)   /* anchored now */
					w->next_rev = r.u.watch.start_revision;
			} else if (!w->ended) {
				w->ended = true;
				watch_end(w, r.code);
			}
			break;  /* request ids are unique; w may be gone */
		}
		return;
	}
	if (r.leader_hint != 0)
		c->leader_hint = r.leader_hint;
	if (r.code == COORD_ETIMEDOUT && q->once_id != 0) {
		/* The server proposed it and heard nothing in time: it may
		 * still be applied. Sent again with the same identity, it is
		 * applied at most once. */
		q->ambiguous = true;
		q->state = RQ_QUEUED;
		q->not_before_ms = now_ms() + RETRY_DELAY_MS;
		tick_fast(c);
		return;
	}
	if ((r.code == COORD_ENOTLEADER || r.code == COORD_ENOLEADER) &&
	    q->kind != PROTO_HELLO && q->kind != PROTO_STATUS) {
		/* Go to the leader if we know where it is, else try the
		 * next endpoint; the request goes again, same sequence. */
		size_t ep = r.leader_hint != 0 ? ep_of_node(c, r.leader_hint)
					       : EP_MAX;

		q->state = RQ_QUEUED;
		q->no_leader = r.leader_hint == 0;
		tick_fast(c);
		if (ep == c->cur || (ep == EP_MAX && c->n_eps == 1 &&
				     r.leader_hint == 0)) {
			/* The leader is here after all, or there is none and
			 * nowhere else to ask: again after a pause. */
			q->not_before_ms = now_ms() + RETRY_DELAY_MS;
			return;
		}
		if (ep == EP_MAX && r.leader_hint != 0 &&
		    leader_lookup(c, r.leader_hint)) {
			/* Its client address comes from this server's member
			 * table; leader_lookup_done() moves there. Held until
			 * then: not sent again to this follower meanwhile. */
			q->awaits_lookup = true;
			return;
		}
		/* Straight to a known leader; otherwise not faster than
		 * RETRY_DELAY_MS per hop (every endpoint may be a follower
		 * naming a leader we have no endpoint for). */
		conn_switch(c, ep, ep < c->n_eps ? 0 : RETRY_DELAY_MS);
		return;
	}
	if (r.code == COORD_ECLIENTGONE && q->once_id != 0) {
		/* The server forgot the id (idle past --client-idle-ms, or
		 * evicted): nothing of it is applied from now on, since ids
		 * are never reused. The client registers again. A request
		 * with a send of unknown outcome may have been applied before
		 * the id went: "outcome unknown", never sent again under the
		 * new id. One whose every send was answered was not applied:
		 * it goes again under the new id. */
		if (q->once_id == c->client_id)
			c->client_id = 0;
		if (q->ambiguous) {
			errf(c, "%s: outcome unknown: the server forgot this "
			     "client while the request was in doubt",
			     proto_kind_name(q->kind));
			req_finish(c, q, COORD_ETIMEDOUT, NULL);
			return;
		}
		q->once_id = 0;
		q->state = RQ_QUEUED;
		req_send(c, q);
		return;
	}
	if (r.code == COORD_ESESSION && q->session != 0 &&
	    !q->session_retried && lc_session_refused(c, q->session)) {
		/* Not bound to this connection yet (sent before its ATTACH
		 * was taken, or the binding got lost): once more after the
		 * ATTACH. Refused, so not applied: the same sequence. */
		q->session_retried = true;
		q->state = RQ_QUEUED;
		tick_fast(c);
		return;
	}
	req_finish(c, q, r.code, &r);
}

/* The endpoint of addr, added to the client's endpoints if it is new
 * (EP_MAX: no room). */
static size_t ep_add(struct coord_client *c, const char *addr)
{
	for (size_t i = 0; i < c->n_eps; i++)
		if (strcmp(c->eps[i], addr) == 0)
			return i;
	if (c->n_eps == EP_MAX || strlen(addr) >= sizeof(c->eps[0]))
		return EP_MAX;
	snprintf(c->eps[c->n_eps], sizeof(c->eps[0]), "%s", addr);
	c->ep_id[c->n_eps] = 0;
	c->ep_err[c->n_eps][0] = '\0';
	return c->n_eps++;
}

/* The requests held for the lookup go again, after delay_ms. */
static void lookup_release(struct coord_client *c, unsigned delay_ms)
{
	uint64_t t = now_ms() + delay_ms;

	for (struct creq *w = c->reqs; w != NULL; w = w->next) {
		if (w->awaits_lookup) {
			w->awaits_lookup = false;
			w->not_before_ms = t;
		}
	}
}

static void leader_lookup_done(struct coord_client *c, struct creq *q,
			       int code, const struct proto_response *r)
{
	size_t ep = EP_MAX;

	c->lookup_req = 0;
	if (code != COORD_OK || c->in_free || c->bev == NULL) {
		lookup_release(c, RETRY_DELAY_MS);
		return;
	}
	for (size_t i = 0; i < r->u.member_list.members.n; i++) {
		const struct proto_member *m = &r->u.member_list.members.v[i];
		char addr[sizeof(c->eps[0])];

		if (m->id != q->u64a || m->client_addr.len == 0 ||
		    m->client_addr.len >= sizeof(addr))
			continue;
		memcpy(addr, m->client_addr.data, m->client_addr.len);
		addr[m->client_addr.len] = '\0';
		ep = ep_add(c, addr);
	}
	if (ep == EP_MAX || ep == c->cur) {
		/* The leader published no client address (or there is no
		 * room for it): the next endpoint, as without a lookup. */
		lookup_release(c, RETRY_DELAY_MS);
		if (ep == EP_MAX && c->n_eps > 1)
			conn_switch(c, EP_MAX, RETRY_DELAY_MS);
		return;
	}
	/* Named by the leader's own published entry; its HELLO confirms. */
	lookup_release(c, 0);
	c->ep_id[ep] = q->u64a;
	conn_switch(c, ep, 0);
}

/*
 * The leader named in a reply has no endpoint here (the client was given
 * one member, or not that one): ask the connected server's member table
 * for its client address, which every member publishes (coordd/net/
 * publish.c). False when no lookup can be sent.
 */
static bool leader_lookup(struct coord_client *c, uint64_t leader)
{
	struct proto_request rq;
	struct creq *q;

	if (c->lookup_req != 0)
		return true;
	if (c->n_eps == EP_MAX || c->cs != CS_READY)
		return false;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_MEMBER_LIST;
	q = req_new(c, &rq, leader_lookup_done);
	if (q == NULL)
		return false;
	q->u64a = leader;
	q->deadline_ms = now_ms() + c->opts.dial_timeout_ms;
	c->lookup_req = q->request_id;
	req_send(c, q);
	return true;
}

static void kv_copy(struct coord_kv *dst, const struct proto_kv *src,
		    uint8_t **mem)
{
	dst->key = *mem;
	memcpy(*mem, src->key.data, src->key.len);
	(*mem)[src->key.len] = '\0';
	*mem += src->key.len + 1;
	dst->key_len = src->key.len;
	dst->value = *mem;
	if (src->value.len > 0)
		memcpy(*mem, src->value.data, src->value.len);
	(*mem)[src->value.len] = '\0';
	*mem += src->value.len + 1;
	dst->value_len = src->value.len;
	dst->create_revision = src->create_revision;
	dst->mod_revision = src->mod_revision;
	dst->version = src->version;
	dst->lease = src->lease;
}

static size_t kv_bytes(const struct proto_kv *kv)
{
	return kv->key.len + kv->value.len + 2;
}

static void handle_push(struct coord_client *c, const uint8_t *body,
			size_t len)
{
	struct proto_push p;
	struct coord_watch *w;

	proto_arena_reset(&c->arena);
	if (proto_push_decode(body, len, &c->arena, &p) != COORD_OK) {
		conn_failed(c, "undecodable push from the server");
		return;
	}
	if (p.kind == PROTO_PUSH_LEADER_CHANGE) {
		c->leader_hint = p.u.leader_change.leader;
		return;
	}
	if (p.kind == PROTO_PUSH_GRANT || p.kind == PROTO_PUSH_SESSION_LOST) {
		lc_sessions_on_push(c, &p);
		return;
	}
	if (p.kind != PROTO_PUSH_WATCH_EVENTS &&
	    p.kind != PROTO_PUSH_WATCH_CANCELED &&
	    p.kind != PROTO_PUSH_ELECTION)
		return;
	for (w = c->watches; w != NULL; w = w->next)
		if (w->server_id != 0 &&
		    w->server_id == (p.kind == PROTO_PUSH_WATCH_EVENTS
					     ? p.u.watch_events.watch_id
				     : p.kind == PROTO_PUSH_ELECTION
					     ? p.u.election.watch_id
					     : p.u.watch_canceled.watch_id))
			break;
	if (w == NULL || w->ended)
		return;
	if (p.kind == PROTO_PUSH_WATCH_CANCELED) {
		w->ended = true;
		errf(c, "watch ended: %s (compact revision %" PRIu64 ")",
		     coord_strerror(p.u.watch_canceled.code),
		     p.u.watch_canceled.compact_revision);
		watch_end(w, p.u.watch_canceled.code);
		return;
	}
	if (p.kind == PROTO_PUSH_ELECTION) {
		struct coord_leader l = { p.u.election.session,
					  p.u.election.token,
					  p.u.election.revision,
					  p.u.election.value.data,
					  p.u.election.value.len, 0 };

		/* Delivered already before a reconnect: skipped. */
		if (w->ofn == NULL || (w->next_rev != 0 &&
				       l.revision < w->next_rev))
			return;
		w->next_rev = l.revision + 1;
		w->ofn(w->arg, COORD_OK, &l);
		return;
	}
	{
		size_t n = p.u.watch_events.events.n, bytes = 0, k = 0;
		const struct proto_event *pe = p.u.watch_events.events.v;
		struct coord_event *ev;
		uint8_t *mem, *at;

		for (size_t i = 0; i < n; i++)
			bytes += kv_bytes(&pe[i].kv) +
				 (pe[i].has_prev_kv ? kv_bytes(&pe[i].prev_kv)
						    : 0);
		ev = calloc(n + 1, sizeof(*ev));
		mem = malloc(bytes + 1);
		if (ev == NULL || mem == NULL) {
			free(ev);
			free(mem);
			conn_failed(c, "out of memory");
			return;
		}
		at = mem;
		for (size_t i = 0; i < n; i++) {
			/* Already delivered before a reconnect: skip. */
			if (w->next_rev != 0 &&
			    pe[i].kv.mod_revision < w->next_rev)
				continue;
			ev[k].type = pe[i].type == PROTO_EVENT_PUT
					     ? COORD_EVENT_PUT
					     : COORD_EVENT_DELETE;
			kv_copy(&ev[k].kv, &pe[i].kv, &at);
			ev[k].has_prev_kv = pe[i].has_prev_kv;
			if (pe[i].has_prev_kv)
				kv_copy(&ev[k].prev_kv, &pe[i].prev_kv, &at);
			k++;
		}
		if (k > 0) {
			w->next_rev = ev[k - 1].kv.mod_revision + 1;
			w->fn(w->arg, COORD_OK, ev, k);
		}
		free(ev);
		free(mem);
	}
}

/* ---------------------------------------------------------------------- */
/* Life cycle. */

static int parse_endpoints(struct coord_client *c, const char *endpoints)
{
	const char *p = endpoints;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (len == 0 || len >= sizeof(c->eps[0]) || c->n_eps == EP_MAX)
			return -1;
		memcpy(c->eps[c->n_eps], p, len);
		c->eps[c->n_eps][len] = '\0';
		c->n_eps++;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return c->n_eps > 0 ? 0 : -1;
}

/* TLS options come as a set: a client certificate (cert and key, both)
 * only with cacert, which is what turns TLS on -- else the client would
 * connect in plaintext with a certificate it believes it uses (issue 14
 * §12). Empty strings count as given. */
static int tls_options_check(struct coord_client *c)
{
	const struct coord_options *o = &c->opts;

	if ((o->cert != NULL) != (o->key != NULL)) {
		errf(c, "a client certificate needs both cert and key");
		return -1;
	}
	if (o->cert != NULL && o->cacert == NULL) {
		errf(c, "a client certificate without cacert: the connection would be plaintext (give cacert to use TLS)");
		return -1;
	}
	return 0;
}

static int tls_setup(struct coord_client *c)
{
	c->tls = SSL_CTX_new(TLS_client_method());
	if (c->tls == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(c->tls, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(c->tls, c->opts.cacert, NULL) != 1) {
		errf(c, "cannot load CA %s", c->opts.cacert);
		return -1;
	}
	SSL_CTX_set_verify(c->tls, SSL_VERIFY_PEER, NULL);
	if (c->opts.cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(c->tls, c->opts.cert) !=
			    1 ||
		    SSL_CTX_use_PrivateKey_file(c->tls, c->opts.key,
						SSL_FILETYPE_PEM) != 1) {
			errf(c, "cannot load certificate %s / key %s",
			     c->opts.cert, c->opts.key ? c->opts.key : "(none)");
			return -1;
		}
	}
	return 0;
}

static coord_err_t client_new(struct event_base *base, bool own,
			      const char *endpoints,
			      const struct coord_options *opts,
			      struct coord_client **out)
{
	struct coord_client *c = calloc(1, sizeof(*c));
	struct timeval tick = { 0, TICK_MS * 1000 };

	*out = NULL;
	if (c == NULL)
		return COORD_ENOMEM;
	if (opts != NULL)
		c->opts = *opts;
	if (c->opts.request_timeout_ms == 0)
		c->opts.request_timeout_ms = 10000;
	if (c->opts.dial_timeout_ms == 0)
		c->opts.dial_timeout_ms = 2000;
	snprintf(c->name, sizeof(c->name), "%s",
		 c->opts.name != NULL ? c->opts.name : "libcoord");
	c->base = base;
	c->own_base = own;
	proto_arena_init(&c->arena, NULL);
	if (parse_endpoints(c, endpoints) != 0) {
		errf(c, "endpoints \"%s\": want host:port[,host:port...]",
		     endpoints ? endpoints : "");
		*out = c;
		return COORD_EINVAL;
	}
	if (tls_options_check(c) != 0 ||
	    (c->opts.cacert != NULL && tls_setup(c) != 0)) {
		*out = c;
		return COORD_EINVAL;
	}
	c->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, c);
	c->dial_ev = evtimer_new(base, dial_cb, c);
	if (c->tick_ev == NULL || c->dial_ev == NULL) {
		*out = c;
		return COORD_ENOMEM;
	}
	event_add(c->tick_ev, &tick);
	c->tick_ms = TICK_MS;
	c->tick_due_ms = now_ms() + TICK_MS;
	*out = c;
	return COORD_OK;
}

coord_err_t coord_client_new(const char *endpoints,
			     const struct coord_options *opts,
			     struct coord_client **out)
{
	struct event_base *base = event_base_new();

	if (base == NULL) {
		*out = NULL;
		return COORD_ENOMEM;
	}
	return client_new(base, true, endpoints, opts, out);
}

coord_err_t coord_client_new_async(struct event_base *base,
				   const char *endpoints,
				   const struct coord_options *opts,
				   struct coord_client **out)
{
	return client_new(base, false, endpoints, opts, out);
}

void coord_client_free(struct coord_client *c)
{
	if (c == NULL)
		return;
	if (c->depth > 0) {
		c->free_pending = true;
		return;
	}
	client_destroy(c);
}

static void client_destroy(struct coord_client *c)
{
	c->in_free = true;
	c->depth++;     /* a callback freeing it again only marks it */
	while (c->reqs != NULL)
		req_finish(c, c->reqs, COORD_ECANCELED, NULL);
	lc_sessions_free_all(c);
	while (c->watches != NULL) {
		struct coord_watch *w = c->watches;

		c->watches = w->next;
		if (!w->ended && !w->canceled)
			watch_end(w, COORD_ECANCELED);
		free(w->key);
		free(w);
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->tick_ev != NULL)
		event_free(c->tick_ev);
	if (c->dial_ev != NULL)
		event_free(c->dial_ev);
	if (c->tls != NULL)
		SSL_CTX_free(c->tls);
	if (c->own_base && c->base != NULL)
		event_base_free(c->base);
	proto_arena_close(&c->arena);
	free(c);
}

coord_err_t coord_client_run(struct coord_client *c, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	struct event *wake = ms != 0 ? run_wake_new(c, end) : NULL;

	c->stop = false;
	c->loop_depth++;
	while (!c->stop && !c->free_pending && (ms == 0 || now_ms() < end))
		event_base_loop(c->base, EVLOOP_ONCE);
	c->loop_depth--;
	if (wake != NULL)
		event_free(wake);
	if (c->free_pending && c->depth == 0 && c->loop_depth == 0)
		client_destroy(c);     /* freed by a callback */
	return COORD_OK;
}

void coord_client_stop(struct coord_client *c)
{
	c->stop = true;
}

/* ---------------------------------------------------------------------- */
/* Results. */

struct coord_kvs *lc_kvs_from(const struct proto_range_reply *rr,
			      uint64_t revision)
{
	size_t bytes = 1;
	struct coord_kvs *r = calloc(1, sizeof(*r));
	uint8_t *mem;

	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < rr->n_kvs; i++)
		bytes += kv_bytes(&rr->kvs[i]);
	/* One block: the array, then the bytes. */
	r->kvs = malloc(rr->n_kvs * sizeof(*r->kvs) + bytes);
	if (r->kvs == NULL) {
		free(r);
		return NULL;
	}
	mem = (uint8_t *)(r->kvs + rr->n_kvs);
	for (size_t i = 0; i < rr->n_kvs; i++)
		kv_copy(&r->kvs[i], &rr->kvs[i], &mem);
	r->n = rr->n_kvs;
	r->count = rr->count;
	r->more = rr->more;
	r->revision = revision;
	return r;
}

void coord_kvs_free(struct coord_kvs *r)
{
	if (r == NULL)
		return;
	free(r->kvs);
	free(r);
}

void coord_txn_result_free(struct coord_txn_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_results; i++)
		free(r->results[i].kvs);
	free(r->results);
	free(r);
}

static struct coord_txn_result *txn_from(const struct proto_reply *rp)
{
	struct coord_txn_result *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->succeeded = rp->u.txn.succeeded;
	t->revision = rp->revision;
	t->n_results = rp->u.txn.n_replies;
	t->results = calloc(t->n_results + 1, sizeof(*t->results));
	if (t->results == NULL) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < t->n_results; i++) {
		const struct proto_op_reply *o = &rp->u.txn.replies[i];

		if (o->type == PROTO_CMD_RANGE) {
			struct coord_kvs *k = lc_kvs_from(&o->u.range,
						       rp->revision);

			if (k == NULL) {
				t->n_results = i;
				coord_txn_result_free(t);
				return NULL;
			}
			t->results[i] = *k;
			free(k);
		} else {
			t->results[i].revision = rp->revision;
			t->results[i].count = o->type == PROTO_CMD_DELETE
						      ? o->u.del.deleted
						      : 1;
		}
	}
	return t;
}

/* ---------------------------------------------------------------------- */
/* Requests of the API. */

static void put_done(struct coord_client *c, struct creq *q, int code,
		     const struct proto_response *r)
{
	uint64_t rev = 0;

	(void)c;
	if (code == COORD_OK)
		rev = r->u.kv.revision;
	q->u64a = rev;
	if (q->fn != NULL)
		((coord_put_fn)q->fn)(q->arg, code, rev);
}

/* fences: the (lock, token) pairs a fenced write carries (n 0: none). */
static int fences_to_proto(struct coord_client *c,
			   const struct coord_fence *fences, size_t n,
			   struct proto_fence *out, struct proto_request *rq)
{
	if (n > COORD_FENCES_MAX) {
		errf(c, "more than %d fences on one write", COORD_FENCES_MAX);
		return COORD_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (fences[i].kind != COORD_FENCE_LOCK &&
		    fences[i].kind != COORD_FENCE_SEM &&
		    fences[i].kind != COORD_FENCE_ELECTION) {
			errf(c, "fence %zu: an unknown kind %d", i,
			     fences[i].kind);
			return COORD_EINVAL;
		}
		out[i].lock = proto_bytes_make(fences[i].lock,
					       fences[i].lock_len);
		out[i].token = fences[i].token;
		switch (fences[i].kind) {
		case COORD_FENCE_SEM:
			out[i].kind = PROTO_QUEUE_SEM;
			break;
		case COORD_FENCE_ELECTION:
			out[i].kind = PROTO_QUEUE_ELECTION;
			break;
		default:
			out[i].kind = PROTO_QUEUE_LOCK;
		}
	}
	rq->fences.v = out;
	rq->fences.n = n;
	return COORD_OK;
}

static struct creq *put_req_fenced(struct coord_client *c,
				   const struct coord_fence *fences,
				   size_t n_fences, const void *key,
				   size_t key_len, const void *value,
				   size_t value_len, uint64_t lease)
{
	struct proto_fence pf[COORD_FENCES_MAX];
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	if (fences_to_proto(c, fences, n_fences, pf, &rq) != COORD_OK)
		return NULL;
	rq.kind = PROTO_PUT;
	rq.u.put.key = proto_bytes_make(key, key_len);
	rq.u.put.value = proto_bytes_make(value, value_len);
	rq.u.put.lease = lease;
	return req_new(c, &rq, put_done);
}

static struct creq *put_req(struct coord_client *c, const void *key,
			    size_t key_len, const void *value,
			    size_t value_len)
{
	return put_req_fenced(c, NULL, 0, key, key_len, value, value_len, 0);
}

coord_err_t coord_put(struct coord_client *c, const void *key,
		      size_t key_len, const void *value, size_t value_len,
		      uint64_t *revision)
{
	return coord_put_fenced(c, NULL, 0, key, key_len, value, value_len,
				revision);
}

static coord_err_t put_wait(struct coord_client *c, struct creq *q,
			    uint64_t *revision)
{
	int code;

	if (q == NULL)
		return COORD_EINVAL;
	code = req_wait(c, q);
	if (revision != NULL)
		*revision = q->u64a;
	free(q);
	return code;
}

coord_err_t coord_put_fenced(struct coord_client *c,
			     const struct coord_fence *fences, size_t n_fences,
			     const void *key, size_t key_len, const void *value,
			     size_t value_len, uint64_t *revision)
{
	return put_wait(c, put_req_fenced(c, fences, n_fences, key, key_len,
					  value, value_len, 0),
			revision);
}

coord_err_t coord_put_lease(struct coord_client *c, const void *key,
			    size_t key_len, const void *value,
			    size_t value_len, uint64_t lease,
			    uint64_t *revision)
{
	return put_wait(c, put_req_fenced(c, NULL, 0, key, key_len, value,
					  value_len, lease),
			revision);
}

coord_err_t coord_put_async(struct coord_client *c, const void *key,
			    size_t key_len, const void *value,
			    size_t value_len, coord_put_fn fn, void *arg)
{
	return req_async(c, put_req(c, key, key_len, value, value_len), (void *)fn,
			 arg);
}

static void get_done(struct coord_client *c, struct creq *q, int code,
		     const struct proto_response *r)
{
	struct coord_kvs *k = NULL;

	(void)c;
	if (code == COORD_OK) {
		k = lc_kvs_from(&r->u.kv.u.range, r->u.kv.revision);
		if (k == NULL)
			code = COORD_ENOMEM;
	}
	if (q->fn != NULL) {
		((coord_get_fn)q->fn)(q->arg, code, k);
		coord_kvs_free(k);
	} else {
		q->code = code;
		q->result = k;
	}
}

static struct creq *get_req(struct coord_client *c, const void *key,
			    size_t key_len, const struct coord_get_opts *o)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_RANGE;
	rq.u.range.range.key = proto_bytes_make(key, key_len);
	if (o != NULL) {
		rq.u.range.range.flags = o->flags & PROTO_RANGE_FLAGS_ALL;
		rq.u.range.range.end = proto_bytes_make(o->end, o->end_len);
		rq.u.range.range.limit = o->limit;
		rq.u.range.range.revision = o->revision;
		rq.u.range.serializable = (o->flags & COORD_SERIALIZABLE) != 0;
	}
	return req_new(c, &rq, get_done);
}

coord_err_t coord_get(struct coord_client *c, const void *key,
		      size_t key_len, const struct coord_get_opts *opts,
		      struct coord_kvs **out)
{
	return req_wait_result(c, get_req(c, key, key_len, opts),
			       (void **)out);
}

coord_err_t coord_get_async(struct coord_client *c, const void *key,
			    size_t key_len, const struct coord_get_opts *opts,
			    coord_get_fn fn, void *arg)
{
	return req_async(c, get_req(c, key, key_len, opts), (void *)fn,
			 arg);
}

static void delete_done(struct coord_client *c, struct creq *q, int code,
			const struct proto_response *r)
{
	(void)c;
	if (code == COORD_OK) {
		q->u64a = r->u.kv.u.del.deleted;
		q->u64b = r->u.kv.revision;
	}
}

coord_err_t coord_delete(struct coord_client *c, const void *key,
			 size_t key_len, unsigned flags, uint64_t *deleted,
			 uint64_t *revision)
{
	return coord_delete_fenced(c, NULL, 0, key, key_len, flags, deleted,
				   revision);
}

coord_err_t coord_delete_fenced(struct coord_client *c,
				const struct coord_fence *fences,
				size_t n_fences, const void *key,
				size_t key_len, unsigned flags,
				uint64_t *deleted, uint64_t *revision)
{
	struct proto_fence pf[COORD_FENCES_MAX];
	struct proto_request rq;
	struct creq *q;
	int code;

	memset(&rq, 0, sizeof(rq));
	if (fences_to_proto(c, fences, n_fences, pf, &rq) != COORD_OK)
		return COORD_EINVAL;
	rq.kind = PROTO_DELETE;
	rq.u.del.key = proto_bytes_make(key, key_len);
	rq.u.del.flags = flags & PROTO_DELETE_FLAGS_ALL;
	q = req_new(c, &rq, delete_done);
	if (q == NULL)
		return COORD_EINVAL;
	code = req_wait(c, q);
	if (deleted != NULL)
		*deleted = q->u64a;
	if (revision != NULL)
		*revision = q->u64b;
	free(q);
	return code;
}

static void txn_done(struct coord_client *c, struct creq *q, int code,
		     const struct proto_response *r)
{
	struct coord_txn_result *t = NULL;

	(void)c;
	if (code == COORD_OK) {
		t = txn_from(&r->u.kv);
		if (t == NULL)
			code = COORD_ENOMEM;
	}
	if (q->fn != NULL) {
		((coord_txn_fn)q->fn)(q->arg, code, t);
		coord_txn_result_free(t);
	} else {
		q->code = code;
		q->result = t;
	}
}

static void op_to_proto(const struct coord_op *o, struct proto_op *p)
{
	memset(p, 0, sizeof(*p));
	switch (o->type) {
	case COORD_OP_PUT:
		p->type = PROTO_CMD_PUT;
		p->u.put.key = proto_bytes_make(o->key, o->key_len);
		p->u.put.value = proto_bytes_make(o->value, o->value_len);
		p->u.put.lease = o->lease;
		break;
	case COORD_OP_DELETE:
		p->type = PROTO_CMD_DELETE;
		p->u.del.key = proto_bytes_make(o->key, o->key_len);
		p->u.del.flags = o->flags & PROTO_DELETE_FLAGS_ALL;
		break;
	default:
		p->type = PROTO_CMD_RANGE;
		p->u.range.key = proto_bytes_make(o->key, o->key_len);
		p->u.range.flags = o->flags & PROTO_RANGE_FLAGS_ALL;
		break;
	}
}

static struct creq *txn_req_fenced(struct coord_client *c,
				   const struct coord_fence *fences,
				   size_t n_fences,
				   const struct coord_compare *cmps,
				   size_t n_cmps,
				   const struct coord_op *then_ops,
				   size_t n_then,
				   const struct coord_op *else_ops,
				   size_t n_else)
{
	struct proto_fence pf[COORD_FENCES_MAX];
	struct proto_request rq;
	struct proto_compare *pc;
	struct proto_op *pt, *pe;
	struct creq *q;

	memset(&rq, 0, sizeof(rq));
	if (fences_to_proto(c, fences, n_fences, pf, &rq) != COORD_OK)
		return NULL;

	if (n_cmps > COORD_TXN_OPS_MAX || n_then > COORD_TXN_OPS_MAX ||
	    n_else > COORD_TXN_OPS_MAX) {
		errf(c, "more than %d operations in a txn list",
		     COORD_TXN_OPS_MAX);
		return NULL;
	}
	pc = calloc(n_cmps + 1, sizeof(*pc));
	pt = calloc(n_then + 1, sizeof(*pt));
	pe = calloc(n_else + 1, sizeof(*pe));
	if (pc == NULL || pt == NULL || pe == NULL) {
		free(pc);
		free(pt);
		free(pe);
		errf(c, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n_cmps; i++) {
		pc[i].key = proto_bytes_make(cmps[i].key, cmps[i].key_len);
		pc[i].target = (uint8_t)cmps[i].target;
		pc[i].result = (uint8_t)cmps[i].op;
		pc[i].number = cmps[i].number;
		pc[i].value = proto_bytes_make(cmps[i].value,
					       cmps[i].value_len);
	}
	for (size_t i = 0; i < n_then; i++)
		op_to_proto(&then_ops[i], &pt[i]);
	for (size_t i = 0; i < n_else; i++)
		op_to_proto(&else_ops[i], &pe[i]);
	rq.kind = PROTO_TXN;
	rq.u.txn.type = PROTO_CMD_TXN;
	rq.u.txn.u.txn.compares = pc;
	rq.u.txn.u.txn.n_compares = n_cmps;
	rq.u.txn.u.txn.success = pt;
	rq.u.txn.u.txn.n_success = n_then;
	rq.u.txn.u.txn.failure = pe;
	rq.u.txn.u.txn.n_failure = n_else;
	q = req_new(c, &rq, txn_done);
	free(pc);
	free(pt);
	free(pe);
	return q;
}

static struct creq *txn_req(struct coord_client *c,
			    const struct coord_compare *cmps, size_t n_cmps,
			    const struct coord_op *then_ops, size_t n_then,
			    const struct coord_op *else_ops, size_t n_else)
{
	return txn_req_fenced(c, NULL, 0, cmps, n_cmps, then_ops, n_then,
			      else_ops, n_else);
}

coord_err_t coord_txn(struct coord_client *c, const struct coord_compare *cmps,
		      size_t n_cmps, const struct coord_op *then_ops,
		      size_t n_then, const struct coord_op *else_ops,
		      size_t n_else, struct coord_txn_result **out)
{
	return coord_txn_fenced(c, NULL, 0, cmps, n_cmps, then_ops, n_then,
				else_ops, n_else, out);
}

coord_err_t coord_txn_fenced(struct coord_client *c,
			     const struct coord_fence *fences, size_t n_fences,
			     const struct coord_compare *cmps, size_t n_cmps,
			     const struct coord_op *then_ops, size_t n_then,
			     const struct coord_op *else_ops, size_t n_else,
			     struct coord_txn_result **out)
{
	return req_wait_result(c,
			       txn_req_fenced(c, fences, n_fences, cmps, n_cmps,
					      then_ops, n_then, else_ops,
					      n_else),
			       (void **)out);
}

coord_err_t coord_txn_async(struct coord_client *c,
			    const struct coord_compare *cmps, size_t n_cmps,
			    const struct coord_op *then_ops, size_t n_then,
			    const struct coord_op *else_ops, size_t n_else,
			    coord_txn_fn fn, void *arg)
{
	return req_async(c, txn_req(c, cmps, n_cmps, then_ops, n_then, else_ops,
					 n_else), (void *)fn,
			 arg);
}

/* Status of one endpoint: a short-lived client of its own, so that the
 * answer comes from that node and no other. */
static void status_done(struct coord_client *c, struct creq *q, int code,
			const struct proto_response *r)
{
	struct coord_status *s = q->status_out;
	const struct proto_status_reply *st;

	(void)c;
	if (code != COORD_OK || s == NULL)
		return;
	st = &r->u.status;
	snprintf(s->name, sizeof(s->name), "%.*s", (int)st->node_name.len,
		 (const char *)st->node_name.data);
	s->node_id = st->node_id;
	s->leader = st->leader;
	s->term = st->term;
	s->revision = st->revision;
	s->applied_index = st->applied_index;
	s->commit_index = st->commit_index;
	s->state_hash = st->state_hash;
	s->cluster_id = st->cluster_id;
	s->alarms = st->alarms;
}

uint64_t coord_cluster_id(const struct coord_client *c)
{
	return c->cluster_id;
}

coord_err_t coord_status(struct coord_client *c, const char *endpoint,
			 struct coord_status *out)
{
	struct coord_client *one;
	struct proto_request rq;
	struct creq *q;
	int code;

	memset(out, 0, sizeof(*out));
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", endpoint);
	code = coord_client_new(endpoint, &c->opts, &one);
	if (code != COORD_OK) {
		errf(c, "%s", one != NULL ? one->errmsg : "out of memory");
		coord_client_free(one);
		return code;
	}
	/* A node that is down answers nothing: do not wait long. */
	one->opts.request_timeout_ms = c->opts.dial_timeout_ms;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_STATUS;
	q = req_new(one, &rq, status_done);
	if (q == NULL) {
		coord_client_free(one);
		return COORD_ENOMEM;
	}
	q->status_out = out;
	code = req_wait(one, q);
	if (code != COORD_OK)
		errf(c, "%s", one->errmsg);
	free(q);
	coord_client_free(one);
	return code;
}

static void members_done(struct coord_client *c, struct creq *q, int code,
			 const struct proto_response *r)
{
	const struct proto_member_list *ml;
	struct coord_member *m;

	(void)c;
	if (code != COORD_OK)
		return;
	ml = &r->u.member_list.members;
	m = calloc(ml->n + 1, sizeof(*m));
	if (m == NULL) {
		q->code = COORD_ENOMEM;
		return;
	}
	for (size_t i = 0; i < ml->n; i++) {
		const struct proto_member *pm = &ml->v[i];

		m[i].id = pm->id;
		snprintf(m[i].name, sizeof(m[i].name), "%.*s",
			 (int)pm->name.len, (const char *)pm->name.data);
		snprintf(m[i].peer_addr, sizeof(m[i].peer_addr), "%.*s",
			 (int)pm->peer_addr.len,
			 (const char *)pm->peer_addr.data);
		snprintf(m[i].client_addr, sizeof(m[i].client_addr), "%.*s",
			 (int)pm->client_addr.len,
			 (const char *)pm->client_addr.data);
		snprintf(m[i].http_addr, sizeof(m[i].http_addr), "%.*s",
			 (int)pm->http_addr.len,
			 (const char *)pm->http_addr.data);
		m[i].learner = pm->learner;
	}
	q->result = m;
	q->u64a = ml->n;
}

coord_err_t coord_member_list(struct coord_client *c,
			      struct coord_member **out, size_t *n)
{
	struct proto_request rq;
	struct creq *q;
	int code;

	*out = NULL;
	*n = 0;
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_MEMBER_LIST;
	q = req_new(c, &rq, members_done);
	code = req_wait_result(c, q, (void **)out);
	if (*out != NULL)
		for (const struct coord_member *m = *out; m->id != 0; m++)
			(*n)++;
	return code;
}

void coord_members_free(struct coord_member *m)
{
	free(m);
}

uint64_t coord_member_id(const char *name)
{
	return proto_member_id(name, strlen(name));
}

static void code_done(struct coord_client *c, struct creq *q, int code,
		      const struct proto_response *r)
{
	(void)c;
	(void)q;
	(void)code;
	(void)r;
}

static coord_err_t member_call(struct coord_client *c,
			       struct proto_request *rq)
{
	return req_wait_free(c, req_new(c, rq, code_done));
}

coord_err_t coord_member_add(struct coord_client *c, const char *name,
			     const char *peer_addr, const char *client_addr,
			     bool learner, uint64_t *id)
{
	struct proto_request rq;
	struct proto_member *m = &rq.u.member_add.member;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_MEMBER_ADD;
	m->id = coord_member_id(name);
	m->name = proto_bytes_make(name, strlen(name));
	m->peer_addr = proto_bytes_make(peer_addr, strlen(peer_addr));
	m->client_addr = proto_bytes_make(client_addr ? client_addr : "",
					  client_addr ? strlen(client_addr) : 0);
	m->learner = learner;
	if (id != NULL)
		*id = m->id;
	return member_call(c, &rq);
}

coord_err_t coord_member_remove(struct coord_client *c, uint64_t id)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_MEMBER_REMOVE;
	rq.u.member.id = id;
	return member_call(c, &rq);
}

coord_err_t coord_member_promote(struct coord_client *c, uint64_t id)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_MEMBER_PROMOTE;
	rq.u.member.id = id;
	return member_call(c, &rq);
}

/* ---------------------------------------------------------------------- */
/* quota13: the storage quotas' alarm (docs/quota.md). */

static void alarm_done(struct coord_client *c, struct creq *q, int code,
		       const struct proto_response *r)
{
	struct coord_alarms *a = q->result;

	(void)c;
	if (code != COORD_OK || a == NULL)
		return;
	a->nospace = (r->u.alarm.alarms & PROTO_ALARM_NOSPACE) != 0;
	a->alarm_index = r->u.alarm.alarm_index;
	a->quota_bytes = r->u.alarm.quota_bytes;
	a->kv_bytes = r->u.alarm.kv_bytes;
	a->coord_quota_bytes = r->u.alarm.coord_quota_bytes;
	a->coord_bytes = r->u.alarm.coord_bytes;
}

coord_err_t coord_alarm_list(struct coord_client *c, struct coord_alarms *out)
{
	struct proto_request rq;
	struct creq *q;
	int code;

	memset(out, 0, sizeof(*out));
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ALARM_LIST;
	q = req_new(c, &rq, alarm_done);
	if (q == NULL)
		return COORD_ENOMEM;
	q->result = out;
	code = req_wait(c, q);
	free(q);
	return code;
}

coord_err_t coord_alarm_disarm(struct coord_client *c)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ALARM_DISARM;
	return member_call(c, &rq);
}

/* ---------------------------------------------------------------------- */
/* Watches. */

/* Sends a request nobody waits on (watch create and cancel: their
 * answers are matched by the watch). */
static void send_untracked(struct coord_client *c, struct proto_request *rq)
{
	struct proto_buf b;
	size_t mark;

	rq->request_id = ++c->next_req_id;
	proto_buf_init(&b, NULL);
	if (proto_frame_begin(&b, &mark) == COORD_OK &&
	    proto_request_encode(rq, &b) == COORD_OK &&
	    proto_frame_end(&b, mark, COORD_REQUEST_FRAME_BYTES_MAX) == COORD_OK)
		evbuffer_add(bufferevent_get_output(c->bev), b.data, b.len);
	proto_buf_close(&b);
}

static void watch_send_create(struct coord_client *c, struct coord_watch *w)
{
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	if (w->ofn != NULL) {
		rq.kind = PROTO_ELECTION_OBSERVE;
		rq.u.election.name = proto_bytes_make(w->key, w->key_len);
		rq.u.election.start_revision = w->next_rev;
	} else {
		rq.kind = PROTO_WATCH_CREATE;
		rq.u.watch_create.key = proto_bytes_make(w->key, w->key_len);
		rq.u.watch_create.flags = w->flags & PROTO_DELETE_FLAGS_ALL;
		rq.u.watch_create.start_revision = w->next_rev;
		rq.u.watch_create.prev_kv = w->prev_kv;
	}
	w->server_id = 0;
	send_untracked(c, &rq);
	w->create_req = rq.request_id;
}

/* A watch of key, or (ofn) an observe of the election named key. */
static int watch_add(struct coord_client *c, const void *key, size_t key_len,
		     unsigned flags, uint64_t start_revision, bool prev_kv,
		     coord_watch_fn fn, coord_observe_fn ofn, void *arg,
		     struct coord_watch **out)
{
	struct coord_watch *w;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->key = malloc(key_len + 1)) == NULL) {
		free(w);
		return COORD_ENOMEM;
	}
	if (key_len > 0)
		memcpy(w->key, key, key_len);
	w->key_len = key_len;
	w->flags = flags;
	w->prev_kv = prev_kv;
	w->fn = fn;
	w->ofn = ofn;
	w->arg = arg;
	w->next_rev = start_revision;
	w->next = c->watches;
	c->watches = w;
	if (c->cs == CS_READY)
		watch_send_create(c, w);
	else if (c->cs == CS_NONE &&
		 !event_pending(c->dial_ev, EV_TIMEOUT, NULL))
		conn_start(c);
	*out = w;
	return COORD_OK;
}

coord_err_t coord_election_observe(struct coord_client *c, const void *name,
				   size_t name_len, uint64_t start_revision,
				   coord_observe_fn fn, void *arg,
				   struct coord_watch **out)
{
	*out = NULL;
	if (name_len == 0 || name_len > COORD_NAME_BYTES_MAX) {
		errf(c, "an election name has 1 to %d bytes",
		     COORD_NAME_BYTES_MAX);
		return COORD_EINVAL;
	}
	/* A watch whose create is an ELECTION_OBSERVE of name. */
	return watch_add(c, name, name_len, 0, start_revision, false, NULL,
			 fn, arg, out);
}

coord_err_t coord_watch_create(struct coord_client *c, const void *key,
			       size_t key_len, unsigned flags,
			       uint64_t start_revision, bool prev_kv,
			       coord_watch_fn fn, void *arg,
			       struct coord_watch **out)
{
	return watch_add(c, key, key_len, flags, start_revision, prev_kv, fn,
			 NULL, arg, out);
}

static void watch_free(struct coord_client *c, struct coord_watch *w)
{
	for (struct coord_watch **pp = &c->watches; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	free(w->key);
	free(w);
}

void coord_watch_cancel(struct coord_client *c, struct coord_watch *w)
{
	if (c->in_free)
		return;     /* coord_client_free() frees every watch */
	if (c->cs == CS_READY && w->server_id == 0 && w->create_req != 0 &&
	    !w->ended) {
		/* The server has not named it yet: cancel it when it does. */
		w->canceled = true;
		return;
	}
	if (c->cs == CS_READY && w->server_id != 0) {
		struct proto_request rq;

		memset(&rq, 0, sizeof(rq));
		rq.kind = PROTO_WATCH_CANCEL;
		rq.u.watch_cancel.watch_id = w->server_id;
		send_untracked(c, &rq);
	}
	watch_free(c, w);
}

/* ---------------------------------------------------------------------- */
/* For session.c and lock.c (client_int.h). */

static void lc_req_done(struct coord_client *c, struct creq *q, int code,
			const struct proto_response *r)
{
	q->lc_fn(c, q->lc_arg, code, r);
}

/* The session a request is bound to that has no resend of its own
 * (client_int.h); 0: none. Releases and closes wait for the ATTACH in
 * session.c, acquires are sent again by lock.c and job.c. */
static uint64_t bound_session(const struct proto_request *rq)
{
	switch (rq->kind) {
	case PROTO_ELECTION_PROCLAIM:
		return rq->u.proclaim.session;
	case PROTO_LOCK_RELEASE_PUT:
		return rq->u.release_put.session;
	case PROTO_JOB_COMPLETE:
	case PROTO_JOB_FAIL:
		return rq->u.job_complete.session;
	default:
		return 0;
	}
}

void lc_send_queued(struct coord_client *c)
{
	send_queued(c);
}

static struct creq *lc_req(struct coord_client *c, struct proto_request *rq,
			   unsigned timeout_ms, lc_done_fn fn, void *arg)
{
	struct creq *q = req_new(c, rq, lc_req_done);

	if (q == NULL)
		return NULL;
	q->lc_fn = fn;
	q->lc_arg = arg;
	q->session = bound_session(rq);
	if (timeout_ms != 0)
		q->deadline_ms = now_ms() + timeout_ms;
	return q;
}

int lc_call_async(struct coord_client *c, struct proto_request *rq,
		  unsigned timeout_ms, lc_done_fn fn, void *arg)
{
	struct creq *q = lc_req(c, rq, timeout_ms, fn, arg);

	if (q == NULL)
		return COORD_EINVAL;
	return req_submit(c, q);
}

int lc_call(struct coord_client *c, struct proto_request *rq, lc_done_fn fn,
	    void *arg)
{
	return req_wait_free(c, lc_req(c, rq, 0, fn, arg));
}

int lc_run_until(struct coord_client *c, const bool *done,
		 uint64_t deadline_ms)
{
	struct event *wake;

	if (c->depth > 0) {
		errf(c, "a synchronous call from inside a libcoord callback");
		return -1;
	}
	wake = deadline_ms != 0 ? run_wake_new(c, deadline_ms) : NULL;
	c->loop_depth++;
	while (!*done && !c->free_pending &&
	       (deadline_ms == 0 || now_ms() < deadline_ms))
		if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
			break;
	c->loop_depth--;
	if (wake != NULL)
		event_free(wake);
	if (c->free_pending && c->depth == 0 && c->loop_depth == 0) {
		client_destroy(c);
		return -1;
	}
	return *done ? 1 : 0;
}

bool lc_in_callback(const struct coord_client *c)
{
	return c->depth > 0;
}

void lc_done_free(struct coord_client *c, void *arg, int code,
		  const struct proto_response *r)
{
	(void)c;
	(void)code;
	(void)r;
	free(arg);
}

struct event_base *lc_base(struct coord_client *c)
{
	return c->base;
}

uint64_t lc_now_ms(void)
{
	return now_ms();
}

uint64_t lc_conn_gen(const struct coord_client *c)
{
	return c->conn_gen;
}

struct coord_session **lc_sessions(struct coord_client *c)
{
	return &c->sessions;
}

struct lc_ka **lc_keepalives(struct coord_client *c)
{
	return &c->ka;
}

void lc_errf(struct coord_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
}

void lc_dispatch_enter(struct coord_client *c)
{
	dispatch_enter(c);
}

bool lc_dispatch_leave(struct coord_client *c)
{
	return dispatch_leave(c);
}
