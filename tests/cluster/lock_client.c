/*
 * tests/cluster/lock_client.c: sessions and locks for the lock tests of
 * tests/cluster/ (lock_queued.sh, lock_retry.sh, lock_fifo.sh,
 * lock_badinput.sh, lock_failover.sh, lock_churn.sh). One mode per run;
 * each prints one line per outcome for the shell test to grep:
 *
 *   hold ENDPOINTS NAME TTL_MS GO_FILE
 *       libcoord: opens a session ("session ID"), acquires NAME waiting
 *       in its queue ("granted token=T" or "acquire code=NAME"); a
 *       holder keeps its session alive until GO_FILE exists ("lost"
 *       if the lock is lost meanwhile), then releases ("released
 *       code=NAME").
 *   cycle ENDPOINTS NAME TTL_MS STOP_FILE
 *       libcoord, until STOP_FILE exists: acquire NAME -> a fenced put
 *       of NAME/data = "SESSION:TOKEN" -> release, one line per cycle:
 *       "cycle session=S token=T acq_us=A put=CODE put_us=P rel_us=R
 *       rel=CODE" (times on CLOCK_MONOTONIC, comparable between
 *       processes: A when the acquire returned, P when the put
 *       returned, R just before the release was sent); a failed acquire
 *       is "acquire code=NAME" (and is tried again), the end of the
 *       session "lost code=NAME" (exit 1).
 *   rawwait HOST PORT NAME TTL_MS
 *       the wire by hand: opens a session and queues on NAME ("queued
 *       session=S"), keeps the session alive (every TTL/3, until the
 *       process is stopped), and prints what the server pushes for it:
 *       "pushed GRANT token=T" or "pushed SESSION_LOST code=NAME" (then
 *       exits), or "silent" after 120 s.
 *   expiry HOST PORT,PORT... TTL_MS
 *       opens a session (on the port that leads) and sends it no
 *       keepalive: prints "expired after_ms=N opened_rt_ms=T
 *       code=NAME" when the server pushes SESSION_LOST, N counted from
 *       the SESSION_OPEN's reply (the server started its TTL before
 *       that), T that reply's CLOCK_REALTIME in ms, or "silent" after
 *       60 s.
 *   leader HOST PORT,PORT...
 *       prints the place (1, 2...) in the list of the port whose node
 *       leads (STATUS), waiting up to 60 s ("none" then).
 *   status HOST PORT NAME
 *       LOCK_STATUS: "status code=NAME holders=H waiters=W", then
 *       "holder session=S token=T" and "waiter session=S" lines.
 *   retry HOST PORT NAME
 *       an acquire whose reply is never read: a holder session takes
 *       NAME, another session's LOCK_ACQUIRE (wait) is sent, seen
 *       applied (LOCK_STATUS from a second connection), and its
 *       connection closed unread; a third connection attaches that
 *       session and sends the same (client id, sequence) again. The same
 *       for NAME/free, a free lock. Prints the replies and statuses.
 *   jobretry HOST PORT QUEUE
 *       the same for a JOB_ENQUEUE, then a JOB_CLAIM, then a
 *       JOB_COMPLETE of one session (each seen applied by the revision
 *       moving); prints each retry's reply and whether the revision
 *       moved, then the complete once more after the session was closed, from
 *       a connection it was never attached to, then the queue's counts
 *       (job_retry.sh).
 *   retry-elect HOST PORT NAME
 *       the same with an election: CAMPAIGN, RESIGN, and ELECTION_LEADER
 *       (its candidates) as the status.
 *   fifo HOST PORT NAME N TTL_MS
 *       N sessions on one connection queue on NAME behind a holder; on
 *       each PUSH_GRANT the grantee releases at once. Prints "fifo
 *       granted=G in_order=0|1 twice=D tokens_rising=0|1".
 *   bad HOST PORT
 *       the refused requests of lock_badinput.sh (and elections' and
 *       job queues' names and values), each printed as
 *       "CASE code=NAME changed=0|1" (changed: the revision or the
 *       status of lock "L" moved); a SESSION_KEEPALIVE_MANY also as
 *       "CASE results=CODE/TTL,..." (one per session).
 *   semretry HOST PORT NAME
 *       retry on semaphore NAME of 1 permit (SEM_ACQUIRE, SEM_RELEASE,
 *       SEM_STATUS in place of the lock's requests): sem_basic.sh.
 *   semlib ENDPOINTS NAME
 *       libcoord's semaphore calls on semaphore NAME of 2 permits, one
 *       line each "WHAT code=NAME ...": two permits, a try and a timed
 *       wait that fail (and leave no waiter), a mismatched N, N = 0, a
 *       fenced put through a permit, an async acquire granted on a
 *       release, the status.
 *   sembad HOST PORT
 *       the refused semaphore requests of sem_basic.sh on semaphore "L"
 *       of 2 permits, printed as bad's.
 * Exit status 0 when the mode ran to its end, 1 otherwise.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/wire.h"
#include "tests/cluster/raw_io.h"

/* A reply may wait for a slow fsync on a busy machine. */
#define LC_REPLY_MS 30000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	printf("error: %s\n", what);
	fflush(stdout);
	exit(1);
}

static void set_server(const char *host, const char *port);

/* ---------------------------------------------------------------------- */
/* The wire by hand. */

struct conn {
	int fd;
	uint64_t next_id;
	uint64_t cid;               /* REGISTER_CLIENT's id */
	uint64_t seq;               /* the last sequence sent */
	uint64_t acked;             /* every sequence <= this was answered */
};

/* One decoded frame from the server. */
struct msg {
	bool push;
	struct proto_response r;
	struct proto_push p;
	struct proto_arena arena;
	uint8_t *body;
};

static struct sockaddr_in server;

/* Non-zero: acquire, release and status work on the semaphore of that
 * name with this many permits instead of the lock (semretry, sembad). */
static uint64_t sem_permits;

static void msg_free(struct msg *m)
{
	proto_arena_close(&m->arena);
	free(m->body);
	m->body = NULL;
}

/* Reads one frame within timeout_ms: 1, or 0 when closed or silent. */
static int conn_recv(struct conn *c, struct msg *m, int timeout_ms)
{
	uint8_t hdr[PROTO_FRAME_HEADER_BYTES];
	size_t len;
	uint32_t kind;

	memset(m, 0, sizeof(*m));
	proto_arena_init(&m->arena, NULL);
	if (raw_read_exact(c->fd, hdr, sizeof(hdr), timeout_ms) <= 0)
		return 0;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	      (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > COORD_RESPONSE_FRAME_BYTES_MAX ||
	    (m->body = malloc(len)) == NULL)
		die("bad frame length");
	if (raw_read_exact(c->fd, m->body, len, LC_REPLY_MS) <= 0)
		die("truncated frame");
	if (proto_server_msg_kind(m->body, len, &kind) != COORD_OK)
		die("undecodable frame");
	m->push = kind >= PROTO_PUSH_FIRST;
	if (m->push ? proto_push_decode(m->body, len, &m->arena, &m->p)
		    : proto_response_decode(m->body, len, &m->arena, &m->r))
		die("undecodable message");
	return 1;
}

static void conn_send_bytes(struct conn *c, const struct proto_buf *b)
{
	if (raw_send_all(c->fd, b->data, b->len) != 0)
		die("send");
}

/* Gives rq its request id and, for a mutating kind without a client id
 * of its own, the next sequence. */
static void conn_stamp(struct conn *c, struct proto_request *rq)
{
	rq->request_id = c->next_id++;
	if (proto_kind_is_mutating(rq->kind) && rq->client_id == 0) {
		rq->client_id = c->cid;
		rq->sequence = ++c->seq;
		rq->ack = c->acked + 1;
	}
}

/* Sends rq, stamped; returns the request id. */
static uint64_t conn_send(struct conn *c, struct proto_request *rq)
{
	struct proto_buf b;

	conn_stamp(c, rq);
	if (raw_request_frame(rq, &b) != COORD_OK)
		die("encoding a request");
	conn_send_bytes(c, &b);
	proto_buf_close(&b);
	return rq->request_id;
}

/* Reads up to the reply to request id (pushes before it are dropped);
 * its sequence, if the oldest in flight, is answered. */
static void conn_await(struct conn *c, const struct proto_request *rq,
		       struct msg *m)
{
	for (;;) {
		if (!conn_recv(c, m, LC_REPLY_MS))
			die("no reply");
		if (!m->push && m->r.request_id == rq->request_id)
			break;
		msg_free(m);
	}
	if (rq->sequence != 0 && rq->sequence == c->acked + 1)
		c->acked = rq->sequence;
}

/* Sends rq and reads up to its reply. */
static void conn_call(struct conn *c, struct proto_request *rq,
		      struct msg *m)
{
	conn_send(c, rq);
	conn_await(c, rq, m);
}

/* Connects c to the server and says HELLO: 0, or -1 when the server
 * cannot be reached. */
static int conn_try_open(struct conn *c)
{
	struct proto_request rq;
	struct msg m;

	memset(c, 0, sizeof(*c));
	c->next_id = 1;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket");
	if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_HELLO;
	rq.u.hello.version = PROTO_VERSION;
	rq.u.hello.client_name = proto_bytes_make("lock_client", 11);
	conn_call(c, &rq, &m);
	if (m.r.code != COORD_OK)
		die("HELLO refused");
	msg_free(&m);
	return 0;
}

static void conn_open(struct conn *c)
{
	if (conn_try_open(c) != 0)
		die("connect");
}

static void conn_register(struct conn *c)
{
	struct proto_request rq;
	struct msg m;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_REGISTER_CLIENT;
	conn_call(c, &rq, &m);
	if (m.r.code != COORD_OK)
		die("REGISTER_CLIENT refused");
	c->cid = m.r.u.register_client.client_id;
	msg_free(&m);
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
}

static void session_open_init(struct proto_request *rq, uint64_t ttl_ms)
{
	memset(rq, 0, sizeof(*rq));
	rq->kind = PROTO_SESSION_OPEN;
	rq->u.session_open.ttl_ms = ttl_ms;
}

/* SESSION_OPEN: the code; *session and the secret (into secret, *slen)
 * when COORD_OK. */
static int session_open(struct conn *c, uint64_t ttl_ms, uint64_t *session,
			uint8_t *secret, size_t *slen)
{
	struct proto_request rq;
	struct msg m;
	int code;

	session_open_init(&rq, ttl_ms);
	conn_call(c, &rq, &m);
	code = m.r.code;
	if (code == COORD_OK) {
		*session = m.r.u.session.session;
		if (secret != NULL) {
			*slen = m.r.u.session.secret.len;
			memcpy(secret, m.r.u.session.secret.data, *slen);
		}
	}
	msg_free(&m);
	return code;
}

/* retry-elect: the requests are an election's (CAMPAIGN, RESIGN,
 * ELECTION_LEADER) instead of a lock's. */
static bool elect_mode;

static void acquire_init(struct proto_request *rq, const char *name,
			 uint64_t session, bool wait)
{
	memset(rq, 0, sizeof(*rq));
	if (elect_mode) {
		rq->kind = PROTO_ELECTION_CAMPAIGN;
		rq->u.campaign.name = proto_bytes_make(name, strlen(name));
		rq->u.campaign.session = session;
		rq->u.campaign.value = proto_bytes_make("v", 1);
		return;
	}
	if (sem_permits != 0) {
		rq->kind = PROTO_SEM_ACQUIRE;
		rq->u.sem_acquire.name = proto_bytes_make(name, strlen(name));
		rq->u.sem_acquire.session = session;
		rq->u.sem_acquire.permits = sem_permits;
		rq->u.sem_acquire.wait = wait;
		return;
	}
	rq->kind = PROTO_LOCK_ACQUIRE;
	rq->u.lock_acquire.name = proto_bytes_make(name, strlen(name));
	rq->u.lock_acquire.session = session;
	rq->u.lock_acquire.mode = PROTO_LOCK_EXCLUSIVE;
	rq->u.lock_acquire.wait = wait;
}

/* LOCK_ACQUIRE: the code; *granted and *token when COORD_OK. */
static int acquire(struct conn *c, const char *name, uint64_t session,
		   bool wait, bool *granted, uint64_t *token)
{
	struct proto_request rq;
	struct msg m;
	int code;

	acquire_init(&rq, name, session, wait);
	conn_call(c, &rq, &m);
	code = m.r.code;
	if (code == COORD_OK) {
		*granted = m.r.u.grant.granted;
		*token = m.r.u.grant.token;
	}
	msg_free(&m);
	return code;
}

static void release_init(struct proto_request *rq, const char *name,
			 uint64_t session, uint64_t token)
{
	memset(rq, 0, sizeof(*rq));
	if (elect_mode)
		rq->kind = PROTO_ELECTION_RESIGN;
	else
		rq->kind = sem_permits != 0 ? PROTO_SEM_RELEASE
					    : PROTO_LOCK_RELEASE;
	rq->u.release.name = proto_bytes_make(name, strlen(name));
	rq->u.release.session = session;
	rq->u.release.token = token;
}

/* Sends rq, returns its reply's code. */
static int call_code(struct conn *c, struct proto_request *rq)
{
	struct msg m;
	int code;

	conn_call(c, rq, &m);
	code = m.r.code;
	msg_free(&m);
	return code;
}

static int release(struct conn *c, const char *name, uint64_t session,
		   uint64_t token)
{
	struct proto_request rq;

	release_init(&rq, name, session, token);
	return call_code(c, &rq);
}

/* A lock's state in a few numbers, to see whether a request changed it. */
struct lock_state {
	int code;
	size_t holders;
	uint64_t waiters;
	uint64_t holder;            /* the first holder's session */
	uint64_t token;             /* and token */
	uint64_t first_waiter;
	uint64_t permits;           /* a semaphore's N */
};

static struct lock_state lock_status(struct conn *c, const char *name,
				     bool print)
{
	struct proto_request rq;
	struct msg m;
	struct lock_state s;
	struct proto_lock_status_reply st;

	memset(&rq, 0, sizeof(rq));
	memset(&s, 0, sizeof(s));
	if (elect_mode) {
		/* The leader, and how many candidates queue behind it. */
		rq.kind = PROTO_ELECTION_LEADER;
		rq.u.election.name = proto_bytes_make(name, strlen(name));
		conn_call(c, &rq, &m);
		s.code = m.r.code;
		if (s.code == COORD_OK && m.r.u.leader.session != 0) {
			s.holders = 1;
			s.holder = m.r.u.leader.session;
			s.token = m.r.u.leader.token;
		}
		if (s.code == COORD_OK)
			s.waiters = m.r.u.leader.candidates;
		if (print) {
			printf("status code=%s holders=%zu waiters=%" PRIu64
			       "\n", coord_error_name(s.code), s.holders,
			       s.waiters);
			if (s.holders > 0)
				printf("holder session=%" PRIu64 " token=%" PRIu64
				       "\n", s.holder, s.token);
		}
		msg_free(&m);
		return s;
	}
	memset(&st, 0, sizeof(st));
	rq.kind = sem_permits != 0 ? PROTO_SEM_STATUS : PROTO_LOCK_STATUS;
	rq.u.lock_status.name = proto_bytes_make(name, strlen(name));
	conn_call(c, &rq, &m);
	s.code = m.r.code;
	if (s.code == COORD_OK && rq.kind == PROTO_SEM_STATUS) {
		st.holders = m.r.u.sem_status.holders;
		st.waiters = m.r.u.sem_status.waiters;
		st.n_waiters = m.r.u.sem_status.n_waiters;
		s.permits = m.r.u.sem_status.permits;
	} else if (s.code == COORD_OK) {
		st = m.r.u.lock_status;
	}
	s.holders = st.holders.n;
	s.waiters = st.n_waiters;
	if (st.holders.n > 0) {
		s.holder = st.holders.v[0].session;
		s.token = st.holders.v[0].token;
	}
	if (st.waiters.n > 0)
		s.first_waiter = st.waiters.v[0].session;
	if (print) {
		printf("status code=%s holders=%zu waiters=%" PRIu64 "\n",
		       coord_error_name(s.code), s.holders, s.waiters);
		for (size_t i = 0; i < st.holders.n; i++)
			printf("holder session=%" PRIu64 " token=%" PRIu64 "\n",
			       st.holders.v[i].session,
			       st.holders.v[i].token);
		for (size_t i = 0; i < st.waiters.n; i++)
			printf("waiter session=%" PRIu64 "\n",
			       st.waiters.v[i].session);
	}
	msg_free(&m);
	return s;
}

static int lock_status_print(const char *name)
{
	struct conn c;

	conn_open(&c);
	lock_status(&c, name, true);
	conn_close(&c);
	return 0;
}

static uint64_t revision(struct conn *c)
{
	struct proto_request rq;
	struct msg m;
	uint64_t rev;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_STATUS;
	conn_call(c, &rq, &m);
	if (m.r.code != COORD_OK)
		die("STATUS refused");
	rev = m.r.u.status.revision;
	msg_free(&m);
	return rev;
}

/* ---------------------------------------------------------------------- */
/* hold: a libcoord client. */

static uint64_t t_start;

/* Each change of a libcoord session's state: "state NAME why=CODE
 * at_ms=T last_error=TEXT" (T since the session opened; the client's
 * last error message). */
static void session_state_cb(void *arg, struct coord_session *s,
			     enum coord_session_state state, coord_err_t why)
{
	static const char *names[] = { "ALIVE", "JEOPARDY", "LOST" };

	(void)s;
	printf("state %s why=%s at_ms=%" PRIu64 " last_error=%s\n",
	       names[state], coord_error_name(why), now_ms() - t_start,
	       coord_errmsg(arg));
}

/* A libcoord client (*c) and a session of it, printed as "session ID";
 * NULL after printing "session code=NAME". */
static struct coord_session *session_new(const char *endpoints, uint64_t ttl,
					 struct coord_client **c)
{
	struct coord_session *s;
	int rc;

	if (coord_client_new(endpoints, NULL, c) != COORD_OK)
		die("coord_client_new");
	rc = coord_session_open(*c, ttl, &s);
	if (rc != COORD_OK) {
		printf("session code=%s\n", coord_error_name(rc));
		coord_client_free(*c);
		return NULL;
	}
	printf("session %" PRIu64 "\n", coord_session_id(s));
	t_start = now_ms();
	coord_session_set_callback(s, session_state_cb, *c);
	return s;
}

static int mode_hold(const char *endpoints, const char *name, uint64_t ttl,
		     const char *go)
{
	struct coord_client *c;
	struct coord_session *s = session_new(endpoints, ttl, &c);
	struct coord_lock *l;
	int rc;

	if (s == NULL)
		return 1;
	rc = coord_lock_acquire(s, name, strlen(name), NULL, &l);
	if (rc != COORD_OK) {
		printf("acquire code=%s\n", coord_error_name(rc));
		fflush(stdout);
		coord_session_close(s);
		coord_client_free(c);
		return 0;
	}
	printf("granted token=%" PRIu64 "\n", coord_lock_token(l));
	fflush(stdout);
	while (access(go, F_OK) != 0) {
		if (coord_lock_state(l) == COORD_LOCK_LOST) {
			printf("lost\n");
			break;
		}
		coord_client_run(c, 20);
	}
	rc = coord_lock_release(l);
	printf("released code=%s\n", coord_error_name(rc));
	coord_session_close(s);
	coord_client_free(c);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* cycle: acquire -> fenced put -> release, logged for a history check. */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int mode_cycle(const char *endpoints, const char *name, uint64_t ttl,
		      const char *stop)
{
	struct coord_client *c;
	struct coord_session *s = session_new(endpoints, ttl, &c);
	char key[COORD_NAME_BYTES_MAX + 8], val[64];
	int rc, status = 0;

	if (s == NULL)
		return 1;
	snprintf(key, sizeof(key), "%s/data", name);
	while (access(stop, F_OK) != 0) {
		struct coord_lock *l;
		uint64_t acq, put, rel;
		int put_rc;

		if (coord_session_state(s) == COORD_SESSION_LOST) {
			printf("lost code=COORD_ESESSION_EXPIRED\n");
			status = 1;
			break;
		}
		rc = coord_lock_acquire(s, name, strlen(name), NULL, &l);
		if (rc == COORD_ESESSION || rc == COORD_ESESSION_EXPIRED) {
			printf("lost code=%s\n", coord_error_name(rc));
			status = 1;
			break;
		}
		if (rc != COORD_OK) {
			printf("acquire code=%s\n", coord_error_name(rc));
			continue;
		}
		acq = now_us();
		snprintf(val, sizeof(val), "%" PRIu64 ":%" PRIu64,
			 coord_session_id(s), coord_lock_token(l));
		put_rc = coord_lock_put(l, key, strlen(key), val, strlen(val),
					NULL);
		put = now_us();
		rel = now_us();
		printf("cycle session=%" PRIu64 " token=%" PRIu64
		       " acq_us=%" PRIu64 " put=%s put_us=%" PRIu64
		       " rel_us=%" PRIu64, coord_session_id(s),
		       coord_lock_token(l), acq, coord_error_name(put_rc),
		       put, rel);
		rc = coord_lock_release(l);
		printf(" rel=%s\n", coord_error_name(rc));
	}
	coord_session_close(s);
	coord_client_free(c);
	return status;
}

/* ---------------------------------------------------------------------- */
/* rawwait: a queued waiter that keeps its session alive until stopped. */

static int mode_rawwait(const char *name, uint64_t ttl)
{
	struct conn c;
	struct msg m;
	uint64_t session, token, end, last_ka;
	bool granted;
	int rc;

	conn_open(&c);
	conn_register(&c);
	rc = session_open(&c, ttl, &session, NULL, NULL);
	if (rc != COORD_OK)
		die("SESSION_OPEN refused");
	rc = acquire(&c, name, session, true, &granted, &token);
	if (rc != COORD_OK || granted) {
		printf("acquire code=%s granted=%d\n", coord_error_name(rc),
		       granted);
		return 1;
	}
	printf("queued session=%" PRIu64 "\n", session);
	fflush(stdout);
	/* Keepalives every ttl/3 for as long as this process runs: a
	 * SIGSTOP is what stops them. */
	last_ka = now_ms();
	end = now_ms() + 120000;
	while (now_ms() < end) {
		if (now_ms() - last_ka >= ttl / 3) {
			struct proto_request rq;

			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_SESSION_KEEPALIVE;
			rq.u.session.session = session;
			conn_send(&c, &rq);
			last_ka = now_ms();
		}
		if (!conn_recv(&c, &m, (int)(ttl / 6)))
			continue;
		if (m.push && m.p.kind == PROTO_PUSH_GRANT &&
		    m.p.u.grant.session == session) {
			printf("pushed GRANT token=%" PRIu64 "\n",
			       m.p.u.grant.token);
			msg_free(&m);
			return 0;
		}
		if (m.push && m.p.kind == PROTO_PUSH_SESSION_LOST &&
		    m.p.u.session_lost.session == session) {
			printf("pushed SESSION_LOST code=%s\n",
			       coord_error_name(m.p.u.session_lost.code));
			msg_free(&m);
			return 0;
		}
		msg_free(&m);
	}
	printf("silent\n");
	return 0;
}

/* ---------------------------------------------------------------------- */
/* leader: which of the ports leads. */

static int mode_leader(const char *ports)
{
	uint64_t end = now_ms() + 60000;

	while (now_ms() < end) {
		char buf[256], *save = NULL;
		int i = 0;

		snprintf(buf, sizeof(buf), "%s", ports);
		for (char *p = strtok_r(buf, ",", &save); p != NULL;
		     p = strtok_r(NULL, ",", &save)) {
			struct proto_request rq;
			struct conn c;
			struct msg m;
			bool leads;

			i++;
			set_server("127.0.0.1", p);
			if (conn_try_open(&c) != 0)
				continue;
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_STATUS;
			conn_call(&c, &rq, &m);
			leads = m.r.code == COORD_OK &&
				m.r.u.status.leader == m.r.u.status.node_id;
			msg_free(&m);
			conn_close(&c);
			if (leads) {
				printf("%d\n", i);
				return 0;
			}
		}
		usleep(20000);
	}
	printf("none\n");
	return 1;
}

/* ---------------------------------------------------------------------- */
/* expiry: how long a session without keepalives lives. */

/* Opens a session on whichever of ports (comma-separated) leads: c
 * connected to it; 0, or -1 when none took it within 30 s. */
static int open_on_leader(const char *ports, uint64_t ttl, struct conn *c,
			  uint64_t *session)
{
	uint64_t end = now_ms() + 30000;

	while (now_ms() < end) {
		char buf[256], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", ports);
		for (char *p = strtok_r(buf, ",", &save); p != NULL;
		     p = strtok_r(NULL, ",", &save)) {
			struct proto_request rq;
			struct msg m;

			set_server("127.0.0.1", p);
			conn_open(c);
			memset(&rq, 0, sizeof(rq));
			rq.kind = PROTO_REGISTER_CLIENT;
			conn_call(c, &rq, &m);
			c->cid = m.r.code == COORD_OK
					 ? m.r.u.register_client.client_id
					 : 0;
			msg_free(&m);
			if (c->cid != 0 &&
			    session_open(c, ttl, session, NULL, NULL) ==
				    COORD_OK)
				return 0;
			conn_close(c);
		}
		usleep(20000);
	}
	return -1;
}

static int mode_expiry(const char *ports, uint64_t ttl)
{
	struct conn c;
	struct msg m;
	struct timespec ts;
	uint64_t session, t0, rt0, end;

	if (open_on_leader(ports, ttl, &c, &session) != 0)
		die("no node took SESSION_OPEN");
	t0 = now_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	rt0 = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	end = t0 + 60000;
	while (now_ms() < end) {
		if (!conn_recv(&c, &m, 1000))
			continue;
		if (m.push && m.p.kind == PROTO_PUSH_SESSION_LOST &&
		    m.p.u.session_lost.session == session) {
			printf("expired after_ms=%" PRIu64 " opened_rt_ms=%"
			       PRIu64 " code=%s\n", now_ms() - t0, rt0,
			       coord_error_name(m.p.u.session_lost.code));
			msg_free(&m);
			conn_close(&c);
			return 0;
		}
		msg_free(&m);
	}
	printf("silent\n");
	conn_close(&c);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* retry: an acquire whose reply was dropped, sent again. */

static void retry_one(const char *name, uint64_t holder_session,
		      struct conn *look)
{
	struct conn c1, c2;
	struct proto_request rq, again;
	struct msg m;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	size_t slen;
	uint64_t session, end, rev;
	int rc, pushes;

	conn_open(&c1);
	conn_register(&c1);
	if (session_open(&c1, 60000, &session, secret, &slen) != COORD_OK)
		die("SESSION_OPEN refused");
	acquire_init(&rq, name, session, true);
	conn_send(&c1, &rq);
	/* Applied? The session shows up as the lock's holder or waiter. */
	end = now_ms() + LC_REPLY_MS;
	for (;;) {
		struct lock_state s = lock_status(look, name, false);

		/* (An election's status names no candidate: the only one
		 * there is this session.) */
		if (s.code == COORD_OK &&
		    (s.holder == session || s.first_waiter == session ||
		     (elect_mode && s.waiters > 0)))
			break;
		if (now_ms() > end)
			die("the acquire was not applied");
		usleep(10000);
	}
	rev = revision(look);
	conn_close(&c1);            /* its reply unread */

	conn_open(&c2);
	memset(&again, 0, sizeof(again));
	again.kind = PROTO_SESSION_ATTACH;
	again.u.session_attach.session = session;
	again.u.session_attach.secret = proto_bytes_make(secret, slen);
	conn_call(&c2, &again, &m);
	printf("%s attach code=%s\n", name, coord_error_name(m.r.code));
	msg_free(&m);
	/* The same request: client id and sequence of the first send. */
	again = rq;
	conn_call(&c2, &again, &m);
	printf("%s retry code=%s granted=%d token=%" PRIu64 "\n", name,
	       coord_error_name(m.r.code), m.r.u.grant.granted,
	       m.r.u.grant.token);
	msg_free(&m);
	printf("%s revision_moved=%" PRIu64 "\n", name, revision(look) - rev);
	printf("%s ", name);
	lock_status(look, name, true);
	if (holder_session != 0) {
		/* The holder lets go: the retried wait is granted once,
		 * pushed to the connection it was retried on. */
		rc = release(look, name, holder_session,
			     lock_status(look, name, false).token);
		printf("%s holder release code=%s\n", name,
		       coord_error_name(rc));
		pushes = 0;
		end = now_ms() + LC_REPLY_MS;
		while (now_ms() < end &&
		       lock_status(look, name, false).holder != session) {
			if (!conn_recv(&c2, &m, 100))
				continue;
			pushes += m.push && m.p.kind == PROTO_PUSH_GRANT &&
				  m.p.u.grant.session == session;
			msg_free(&m);
		}
		/* A second grant would come right after the first. */
		while (conn_recv(&c2, &m, 500)) {
			pushes += m.push && m.p.kind == PROTO_PUSH_GRANT &&
				  m.p.u.grant.session == session;
			msg_free(&m);
		}
		printf("%s pushed grants=%d\n", name, pushes);
		printf("%s ", name);
		lock_status(look, name, true);
	}
	conn_close(&c2);
}

static int mode_retry(const char *name)
{
	struct conn look;
	uint64_t holder, token;
	bool granted;
	char free_name[COORD_NAME_BYTES_MAX];

	conn_open(&look);
	conn_register(&look);
	if (session_open(&look, 60000, &holder, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN refused");
	if (acquire(&look, name, holder, false, &granted, &token) !=
	    COORD_OK || !granted)
		die("the holder's acquire");
	printf("%s holder token=%" PRIu64 "\n", name, token);
	retry_one(name, holder, &look);
	snprintf(free_name, sizeof(free_name), "%s/free", name);
	retry_one(free_name, 0, &look);
	conn_close(&look);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* jobretry: a retried JOB_ENQUEUE, JOB_CLAIM and JOB_COMPLETE -- the
 * same (client id, sequence) again on a new connection after the first
 * send was applied and its reply left unread -- apply once. */

/* Sends rq on *c, waits until it applied (the revision moves), drops *c
 * unread and sends rq again on a new connection (the session attached):
 * prints "WHAT retry code=C job=J token=T revision_moved=M". */
static void job_retry_step(struct conn *c, struct conn *look,
			   struct proto_request *rq, uint64_t session,
			   const uint8_t *secret, size_t slen,
			   const char *what, struct msg *m)
{
	struct proto_request again;
	uint64_t rev = revision(look), end = now_ms() + LC_REPLY_MS;
	struct conn c2;

	conn_send(c, rq);
	while (revision(look) == rev) {
		if (now_ms() > end)
			die("the first send was not applied");
		usleep(10000);
	}
	rev = revision(look);
	conn_close(c);              /* its reply unread */
	conn_open(&c2);
	c2.cid = c->cid;
	c2.seq = c->seq;
	c2.acked = c->acked;
	memset(&again, 0, sizeof(again));
	again.kind = PROTO_SESSION_ATTACH;
	again.u.session_attach.session = session;
	again.u.session_attach.secret = proto_bytes_make(secret, slen);
	conn_call(&c2, &again, m);
	msg_free(m);
	again = *rq;                /* client id and sequence of the first */
	conn_call(&c2, &again, m);
	printf("%s retry code=%s job=%" PRIu64 " token=%" PRIu64
	       " revision_moved=%" PRIu64 "\n", what,
	       coord_error_name(m->r.code),
	       rq->kind == PROTO_JOB_ENQUEUE ? m->r.u.job_enqueue.job_id
	       : rq->kind == PROTO_JOB_CLAIM ? m->r.u.job_claim.job_id
					     : 0,
	       rq->kind == PROTO_JOB_CLAIM ? m->r.u.job_claim.token : 0,
	       revision(look) - rev);
	*c = c2;
}

static int mode_jobretry(const char *queue)
{
	struct conn c, look, late;
	struct proto_request rq, again;
	struct msg m;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	size_t slen;
	uint64_t session, id, token, rev;
	struct proto_bytes q = proto_bytes_make(queue, strlen(queue));

	conn_open(&look);
	conn_open(&c);
	conn_register(&c);
	if (session_open(&c, 60000, &session, secret, &slen) != COORD_OK)
		die("SESSION_OPEN refused");
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_ENQUEUE;
	rq.u.job_enqueue.queue = q;
	rq.u.job_enqueue.job = proto_bytes_make("payload", 7);
	job_retry_step(&c, &look, &rq, session, secret, slen, "enqueue", &m);
	id = m.r.u.job_enqueue.job_id;
	msg_free(&m);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_CLAIM;
	rq.u.job_claim.queue = q;
	rq.u.job_claim.session = session;
	job_retry_step(&c, &look, &rq, session, secret, slen, "claim", &m);
	token = m.r.u.job_claim.token;
	if (m.r.u.job_claim.job_id != id)
		die("the retried claim names another job");
	msg_free(&m);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_COMPLETE;
	rq.u.job_complete.queue = q;
	rq.u.job_complete.job_id = id;
	rq.u.job_complete.token = token;
	rq.u.job_complete.session = session;
	rq.u.job_complete.result = proto_bytes_make("r", 1);
	job_retry_step(&c, &look, &rq, session, secret, slen, "complete", &m);
	msg_free(&m);
	/* The session ends; the complete retried once more, on a connection
	 * the session was never attached to: its first reply (COORD_OK),
	 * not COORD_ESESSION, and nothing applied. */
	c.acked = rq.sequence - 1;  /* as if its reply never came */
	memset(&again, 0, sizeof(again));
	again.kind = PROTO_SESSION_CLOSE;
	again.u.session.session = session;
	conn_call(&c, &again, &m);
	if (m.r.code != COORD_OK)
		die("SESSION_CLOSE refused");
	msg_free(&m);
	rev = revision(&look);
	conn_open(&late);
	late.cid = c.cid;
	again = rq;                 /* the complete's client id and sequence */
	conn_call(&late, &again, &m);
	printf("complete after close code=%s revision_moved=%" PRIu64 "\n",
	       coord_error_name(m.r.code), revision(&look) - rev);
	msg_free(&m);
	conn_close(&late);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_LIST;
	rq.u.job_list.queue = q;
	rq.u.job_list.state = PROTO_JOB_DONE;
	conn_call(&look, &rq, &m);
	printf("list code=%s pending=%" PRIu64 " claimed=%" PRIu64
	       " done=%" PRIu64 " done_token_matches=%d\n",
	       coord_error_name(m.r.code), m.r.u.job_list.pending,
	       m.r.u.job_list.claimed, m.r.u.job_list.done,
	       m.r.u.job_list.jobs.n == 1 &&
		       m.r.u.job_list.jobs.v[0].token == token);
	msg_free(&m);
	conn_close(&c);
	conn_close(&look);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* fifo: N sessions queued on one lock, granted once each, in order. */

/* Requests in flight at once: below the exactly-once window. */
#define FIFO_BATCH 16

/* Sends the n requests make(i) builds, FIFO_BATCH at a time, and hands
 * each reply to each(i) (pushes meanwhile are dropped). */
static void batch(struct conn *c, size_t n, void (*make)(size_t, void *,
		  struct proto_request *), void *arg, struct msg *out_each,
		  void (*each)(size_t, struct msg *, void *))
{
	for (size_t at = 0; at < n; at += FIFO_BATCH) {
		size_t k = n - at < FIFO_BATCH ? n - at : FIFO_BATCH;
		uint64_t first_id = c->next_id;
		size_t got = 0;

		for (size_t i = 0; i < k; i++) {
			struct proto_request rq;

			make(at + i, arg, &rq);
			conn_send(c, &rq);
		}
		while (got < k) {
			if (!conn_recv(c, out_each, LC_REPLY_MS))
				die("no reply in a batch");
			if (!out_each->push &&
			    out_each->r.request_id >= first_id &&
			    out_each->r.request_id < first_id + k) {
				each(at + (size_t)(out_each->r.request_id -
						   first_id), out_each, arg);
				got++;
			}
			msg_free(out_each);
		}
		c->acked = c->seq;
	}
}

struct fifo {
	const char *name;
	uint64_t ttl;
	uint64_t *sessions;
	uint64_t *granted_at;       /* grant order + 1, 0: not yet */
	size_t n_granted;
	size_t twice;
	bool rising;
	uint64_t last_token;
	bool failed;
};

static void fifo_make_open(size_t i, void *arg, struct proto_request *rq)
{
	struct fifo *f = arg;

	(void)i;
	session_open_init(rq, f->ttl);
}

static void fifo_got_open(size_t i, struct msg *m, void *arg)
{
	struct fifo *f = arg;

	if (m->r.code != COORD_OK)
		f->failed = true;
	else
		f->sessions[i] = m->r.u.session.session;
}

static void fifo_make_acquire(size_t i, void *arg, struct proto_request *rq)
{
	struct fifo *f = arg;

	acquire_init(rq, f->name, f->sessions[i], true);
}

static void fifo_got_acquire(size_t i, struct msg *m, void *arg)
{
	struct fifo *f = arg;

	(void)i;
	if (m->r.code != COORD_OK || m->r.u.grant.granted)
		f->failed = true;
}

static void fifo_make_keepalive(size_t i, void *arg, struct proto_request *rq)
{
	struct fifo *f = arg;

	memset(rq, 0, sizeof(*rq));
	rq->kind = PROTO_SESSION_KEEPALIVE;
	rq->u.session.session = f->sessions[i];
}

static void fifo_got_keepalive(size_t i, struct msg *m, void *arg)
{
	struct fifo *f = arg;

	(void)i;
	if (m->r.code != COORD_OK)
		f->failed = true;
}

static size_t fifo_index(const struct fifo *f, size_t n, uint64_t session)
{
	for (size_t i = 0; i < n; i++)
		if (f->sessions[i] == session)
			return i;
	return n;
}

static int mode_fifo(const char *name, size_t n, uint64_t ttl)
{
	struct conn c;
	struct fifo f;
	struct msg m;
	uint64_t holder, token, end, last_ka;
	bool granted, in_order = true;
	size_t released = 0;

	memset(&f, 0, sizeof(f));
	f.name = name;
	f.ttl = ttl;
	f.rising = true;
	f.sessions = calloc(n, sizeof(*f.sessions));
	f.granted_at = calloc(n, sizeof(*f.granted_at));
	if (f.sessions == NULL || f.granted_at == NULL)
		die("memory");
	conn_open(&c);
	conn_register(&c);
	if (session_open(&c, ttl, &holder, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN refused");
	if (acquire(&c, name, holder, false, &granted, &token) != COORD_OK ||
	    !granted)
		die("the holder's acquire");
	f.last_token = token;
	batch(&c, n, fifo_make_open, &f, &m, fifo_got_open);
	if (f.failed)
		die("a SESSION_OPEN was refused");
	batch(&c, n, fifo_make_acquire, &f, &m, fifo_got_acquire);
	if (f.failed)
		die("an acquire was refused or granted at once");
	printf("queued %zu\n", n);
	fflush(stdout);
	last_ka = now_ms();
	{
		struct proto_request rq;

		release_init(&rq, name, holder, token);
		conn_send(&c, &rq);
	}
	/* Each grant: its session releases at once (the release's reply is
	 * read as it comes, among the pushes). */
	end = now_ms() + 120000;
	while (released < n && now_ms() < end) {
		if (now_ms() - last_ka > ttl / 3) {
			/* Every session's keepalive, the released ones' too:
			 * all must live at the end (their replies are read
			 * below, among the pushes). */
			for (size_t i = 0; i < n; i++) {
				struct proto_request rq;

				fifo_make_keepalive(i, &f, &rq);
				conn_send(&c, &rq);
			}
			last_ka = now_ms();
		}
		if (!conn_recv(&c, &m, 1000))
			continue;
		if (m.push && m.p.kind == PROTO_PUSH_GRANT) {
			size_t i = fifo_index(&f, n, m.p.u.grant.session);
			struct proto_request rq;

			if (i == n) {
				f.failed = true;
			} else {
				if (f.granted_at[i] != 0)
					f.twice++;
				else
					f.granted_at[i] = ++f.n_granted;
				if (i != released)
					in_order = false;
				if (m.p.u.grant.token <= f.last_token)
					f.rising = false;
				f.last_token = m.p.u.grant.token;
				release_init(&rq, name, f.sessions[i],
					     m.p.u.grant.token);
				conn_send(&c, &rq);
				released++;
			}
		} else if (!m.push && m.r.kind == PROTO_LOCK_RELEASE) {
			/* Replies come in the order of the sequences. */
			c.acked++;
			if (m.r.code != COORD_OK) {
				printf("release code=%s\n",
				       coord_error_name(m.r.code));
				f.failed = true;
			}
		} else if (!m.push && m.r.code != COORD_OK) {
			printf("%s code=%s\n", proto_kind_name(m.r.kind),
			       coord_error_name(m.r.code));
			f.failed = true;
		}
		msg_free(&m);
	}
	/* Every session still lives (none expired while it waited). */
	batch(&c, n, fifo_make_keepalive, &f, &m, fifo_got_keepalive);
	printf("fifo granted=%zu in_order=%d twice=%zu tokens_rising=%d "
	       "failed=%d\n", f.n_granted, in_order, f.twice, f.rising,
	       f.failed);
	lock_status(&c, name, true);
	free(f.sessions);
	free(f.granted_at);
	conn_close(&c);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* bad: refused requests change nothing. */

struct before {
	uint64_t rev;
	struct lock_state l;
};

static struct before snap(struct conn *look)
{
	struct before b;

	b.rev = revision(look);
	b.l = lock_status(look, "L", false);
	return b;
}

static void report(struct conn *look, const char *what, int code,
		   struct before b)
{
	struct before a = snap(look);
	bool changed = a.rev != b.rev || a.l.code != b.l.code ||
		       a.l.permits != b.l.permits ||
		       a.l.holders != b.l.holders ||
		       a.l.waiters != b.l.waiters || a.l.holder != b.l.holder ||
		       a.l.token != b.l.token;

	printf("%s code=%s changed=%d\n", what, coord_error_name(code),
	       changed);
	fflush(stdout);
}

/* Sends rq on c, reports its code. */
static void bad_call(struct conn *c, struct conn *look, const char *what,
		     struct proto_request *rq)
{
	struct before b = snap(look);
	int code = call_code(c, rq);

	report(look, what, code, b);
}

/* Sends rq (whose last field must encode as the byte 5: a positive
 * fixint) with that byte replaced by last, and reports the reply. */
static void bad_patched(struct conn *c, const char *what,
			struct proto_request *rq, uint8_t last)
{
	struct proto_buf buf;
	struct before b = snap(c);
	struct msg m;
	int code;

	conn_stamp(c, rq);
	if (raw_request_frame(rq, &buf) != COORD_OK ||
	    buf.data[buf.len - 1] != 5)
		die("encoding a request to patch");
	buf.data[buf.len - 1] = last;
	conn_send_bytes(c, &buf);
	proto_buf_close(&buf);
	conn_await(c, rq, &m);
	code = m.r.code;
	msg_free(&m);
	report(c, what, code, b);
}

/* SESSION_KEEPALIVE_MANY of ids on c: prints "WHAT results=CODE/TTL,..."
 * and returns the reply's code. */
static int keepalive_many(struct conn *c, const char *what,
			  const uint64_t *ids, size_t n)
{
	struct proto_request rq;
	struct msg m;
	int code;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE_MANY;
	rq.u.session_many.sessions = (struct proto_u64_list){ ids, n };
	conn_call(c, &rq, &m);
	code = m.r.code;
	printf("%s results=", what);
	for (size_t i = 0; code == COORD_OK &&
			   i < m.r.u.session_many.codes.n; i++)
		printf("%s%s/%" PRIu64, i > 0 ? "," : "",
		       coord_error_name((int)m.r.u.session_many.codes.v[i]),
		       m.r.u.session_many.ttls.v[i]);
	printf("\n");
	msg_free(&m);
	return code;
}

/* A SESSION_KEEPALIVE_MANY of one session more than
 * COORD_KEEPALIVE_SESSIONS_MAX (the encoder refuses it: the longest is
 * patched by hand), reported. */
static void bad_keepalive_many_long(struct conn *c)
{
	static uint64_t ids[COORD_KEEPALIVE_SESSIONS_MAX];
	struct proto_request rq;
	struct proto_buf body, frame;
	struct before b = snap(c);
	size_t mark, at;
	struct msg m;

	for (size_t i = 0; i < COORD_KEEPALIVE_SESSIONS_MAX; i++)
		ids[i] = UINT64_MAX;    /* 9 bytes each */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE_MANY;
	rq.u.session_many.sessions =
		(struct proto_u64_list){ ids, COORD_KEEPALIVE_SESSIONS_MAX };
	conn_stamp(c, &rq);
	proto_buf_init(&body, NULL);
	proto_buf_init(&frame, NULL);
	if (proto_request_encode(&rq, &body) != COORD_OK)
		die("encoding SESSION_KEEPALIVE_MANY");
	/* The list is last: array16 header, then one uint64 (9 bytes) per
	 * id. */
	at = body.len - COORD_KEEPALIVE_SESSIONS_MAX * 9 - 3;
	if (body.data[at] != 0xdc)
		die("SESSION_KEEPALIVE_MANY is not encoded as expected");
	body.data[at + 1] = (uint8_t)((COORD_KEEPALIVE_SESSIONS_MAX + 1) >> 8);
	body.data[at + 2] = (uint8_t)(COORD_KEEPALIVE_SESSIONS_MAX + 1);
	if (proto_buf_append(&body, body.data + body.len - 9, 9) != COORD_OK ||
	    proto_frame_begin(&frame, &mark) != COORD_OK ||
	    proto_buf_append(&frame, body.data, body.len) != COORD_OK ||
	    proto_frame_end(&frame, mark, SIZE_MAX) != COORD_OK)
		die("framing SESSION_KEEPALIVE_MANY");
	conn_send_bytes(c, &frame);
	proto_buf_close(&body);
	proto_buf_close(&frame);
	conn_await(c, &rq, &m);
	report(c, "keepalive-many-too-long", m.r.code, b);
	msg_free(&m);
}

/* Elections' and job queues' refusals of what the codec carries but
 * the server does not take: no name, a value over
 * COORD_ELECTION_VALUE_BYTES_MAX (session s, on c). */
static void bad_names_and_values(struct conn *c, uint64_t s)
{
	static uint8_t big[COORD_ELECTION_VALUE_BYTES_MAX + 1];
	struct proto_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ELECTION_CAMPAIGN;
	rq.u.campaign.session = s;
	rq.u.campaign.value = proto_bytes_make("v", 1);
	bad_call(c, c, "campaign-no-name", &rq);
	rq.u.campaign.name = proto_bytes_make("E", 1);
	rq.u.campaign.value = proto_bytes_make(big, sizeof(big));
	bad_call(c, c, "campaign-value-too-big", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ELECTION_PROCLAIM;
	rq.u.proclaim.name = proto_bytes_make("E", 1);
	rq.u.proclaim.session = s;
	rq.u.proclaim.token = 1;
	rq.u.proclaim.value = proto_bytes_make(big, sizeof(big));
	bad_call(c, c, "proclaim-value-too-big", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_ELECTION_OBSERVE;
	bad_call(c, c, "observe-no-name", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_ENQUEUE;
	rq.u.job_enqueue.job = proto_bytes_make("j", 1);
	bad_call(c, c, "enqueue-no-queue", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_JOB_CLAIM;
	rq.u.job_claim.session = s;
	bad_call(c, c, "claim-no-queue", &rq);
}

static int mode_bad(void)
{
	struct conn c, other;
	struct proto_request rq;
	struct before b;
	struct msg m;
	uint64_t s1, s2, s3, token, extra;
	bool granted;
	int code;

	conn_open(&c);
	conn_register(&c);
	conn_open(&other);
	conn_register(&other);
	if (session_open(&c, 60000, &s1, NULL, NULL) != COORD_OK ||
	    session_open(&c, 60000, &s2, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN refused");

	/* Unknown lock. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LOCK_CHECK;
	rq.u.lock_check.name = proto_bytes_make("nolock", 6);
	rq.u.lock_check.token = 1;
	b = snap(&c);
	conn_call(&c, &rq, &m);
	printf("check-unknown code=%s current=%d token=%" PRIu64 "\n",
	       coord_error_name(m.r.code),
	       m.r.code == COORD_OK && m.r.u.lock_check.current,
	       m.r.code == COORD_OK ? m.r.u.lock_check.token : 0);
	msg_free(&m);
	report(&c, "check-unknown", COORD_OK, b);
	{
		struct lock_state s = lock_status(&c, "nolock", false);

		printf("status-unknown code=%s holders=%zu waiters=%" PRIu64
		       "\n", coord_error_name(s.code), s.holders, s.waiters);
	}
	release_init(&rq, "nolock", s1, 5);
	bad_call(&c, &c, "release-unknown", &rq);

	/* L held by s1. */
	if (acquire(&c, "L", s1, false, &granted, &token) != COORD_OK ||
	    !granted)
		die("acquire L");
	release_init(&rq, "L", s1, token + 1);
	bad_call(&c, &c, "release-wrong-token", &rq);
	release_init(&rq, "L", s1, token - 1);
	bad_call(&c, &c, "release-old-token", &rq);
	release_init(&rq, "L", s2, token);
	bad_call(&c, &c, "release-non-holder", &rq);
	release_init(&rq, "L", s2, 0);
	bad_call(&c, &c, "cancel-not-waiting", &rq);
	acquire_init(&rq, "L", s2, false);
	bad_call(&c, &c, "acquire-nowait-held", &rq);
	acquire_init(&rq, "L", 999999999, true);
	bad_call(&c, &c, "acquire-no-session", &rq);

	/* TTLs. The encoder refuses 0 and negatives: those go as a valid
	 * request whose last field (the TTL) is patched. */
	session_open_init(&rq, 5);
	bad_patched(&c, "ttl-zero", &rq, 0x00);
	session_open_init(&rq, 100);    /* below 2 x --election-ms */
	bad_call(&c, &c, "ttl-short", &rq);
	session_open_init(&rq, COORD_LEASE_TTL_MS_MAX + 1ull);
	bad_call(&c, &c, "ttl-huge", &rq);
	session_open_init(&rq, UINT64_MAX);
	bad_call(&c, &c, "ttl-max", &rq);
	session_open_init(&rq, 5);
	bad_patched(&c, "ttl-negative", &rq, 0xff);    /* -1 */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_LEASE_GRANT;
	rq.u.lease_grant.ttl_ms = 5;
	bad_patched(&c, "lease-ttl-zero", &rq, 0x00);

	/* A session of another connection. */
	acquire_init(&rq, "L", s1, true);
	bad_call(&other, &c, "foreign-acquire", &rq);
	release_init(&rq, "L", s1, token);
	bad_call(&other, &c, "foreign-release", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE;
	rq.u.session.session = s1;
	bad_call(&other, &c, "foreign-keepalive", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_CLOSE;
	rq.u.session.session = s1;
	bad_call(&other, &c, "foreign-close", &rq);
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_ATTACH;
	rq.u.session_attach.session = s1;
	rq.u.session_attach.secret = proto_bytes_make(
		"not the secret, not the secret", 30);
	bad_call(&other, &c, "attach-wrong-secret", &rq);
	/* Still not the session's connection. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = PROTO_SESSION_KEEPALIVE;
	rq.u.session.session = s1;
	bad_call(&other, &c, "keepalive-after-wrong-secret", &rq);
	/* SESSION_KEEPALIVE_MANY: the others' sessions and unknown ones
	 * are refused one by one in the reply; a list over the limit is
	 * malformed. */
	{
		uint64_t ids[] = { s1, s2, 999999999 };

		b = snap(&c);
		code = keepalive_many(&other, "keepalive-many-foreign", ids,
				      3);
		report(&c, "keepalive-many-foreign", code, b);
		code = keepalive_many(&c, "keepalive-many-own", ids, 3);
		printf("keepalive-many-own code=%s\n",
		       coord_error_name(code));
		bad_keepalive_many_long(&c);
	}
	bad_names_and_values(&c, s1);

	/* Limits (the test starts the nodes with --max-sessions 4,
	 * --max-waiters-per-lock 1, --max-locks-per-session 2). */
	if (acquire(&c, "L", s2, true, &granted, &extra) != COORD_OK ||
	    granted)
		die("s2's wait on L");
	if (session_open(&c, 60000, &s3, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN s3");
	acquire_init(&rq, "L", s3, true);
	bad_call(&c, &c, "too-many-waiters", &rq);
	if (acquire(&c, "L2", s1, false, &granted, &extra) != COORD_OK ||
	    !granted)
		die("acquire L2");
	acquire_init(&rq, "L3", s1, false);
	bad_call(&c, &c, "too-many-locks", &rq);
	if (session_open(&c, 60000, &extra, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN 4");
	session_open_init(&rq, 60000);
	bad_call(&c, &c, "too-many-sessions", &rq);
	/* Still working: the holder's release grants s2. */
	code = release(&c, "L", s1, token);
	printf("release-holder code=%s\n", coord_error_name(code));
	{
		struct lock_state s = lock_status(&c, "L", false);

		printf("after holder=%s waiters=%" PRIu64 " token_rose=%d\n",
		       s.holder == s2 ? "s2" : "other", s.waiters,
		       s.token > token);
	}
	conn_close(&other);
	conn_close(&c);
	return 0;
}

/* semlib: libcoord's semaphores. */

static void async_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct coord_lock **out = arg;

	printf("async code=%s token=%" PRIu64 "\n", coord_error_name(code),
	       l != NULL ? coord_lock_token(l) : 0);
	*out = l;
}

static void sem_status_print(struct coord_client *c, const char *name)
{
	struct coord_lock_status *st;
	uint64_t permits;
	int rc = coord_sem_status(c, name, strlen(name), &permits, &st);

	printf("status code=%s permits=%" PRIu64 " holders=%zu waiters=%"
	       PRIu64 "\n", coord_error_name(rc), permits,
	       rc == COORD_OK ? st->n_holders : 0,
	       rc == COORD_OK ? st->n_waiters : 0);
	coord_lock_status_free(st);
}

static int mode_semlib(const char *endpoints, const char *name)
{
	const struct coord_sem_opts try_ = { .wait = false };
	const struct coord_sem_opts timed = { .wait = true, .timeout_ms = 300 };
	struct coord_client *c;
	struct coord_session *s1 = session_new(endpoints, 20000, &c);
	struct coord_session *s2, *s3;
	struct coord_lock *p1, *p2, *p3 = NULL, *none;
	size_t n = strlen(name);
	int rc;

	if (s1 == NULL || coord_session_open(c, 20000, &s2) != COORD_OK ||
	    coord_session_open(c, 20000, &s3) != COORD_OK)
		die("sessions");
	rc = coord_sem_acquire(s1, name, n, 2, NULL, &p1);
	printf("p1 code=%s permits=%" PRIu64 "\n", coord_error_name(rc),
	       rc == COORD_OK ? coord_lock_permits(p1) : 0);
	rc = coord_sem_acquire(s2, name, n, 2, &try_, &p2);
	printf("p2 code=%s above=%d\n", coord_error_name(rc),
	       rc == COORD_OK && coord_lock_token(p2) > coord_lock_token(p1));
	rc = coord_sem_acquire(s3, name, n, 2, &try_, &none);
	printf("try code=%s\n", coord_error_name(rc));
	rc = coord_sem_acquire(s3, name, n, 2, &timed, &none);
	printf("timed code=%s\n", coord_error_name(rc));
	sem_status_print(c, name);
	rc = coord_sem_acquire(s3, name, n, 5, NULL, &none);
	printf("mismatched code=%s\n", coord_error_name(rc));
	rc = coord_sem_acquire(s3, name, n, 0, NULL, &none);
	printf("zero code=%s\n", coord_error_name(rc));
	rc = coord_lock_put(p1, "semlib", 6, "v", 1, NULL);
	printf("put code=%s\n", coord_error_name(rc));
	if (coord_sem_acquire_async(s3, name, n, 2, NULL, async_cb, &p3) !=
	    COORD_OK)
		die("async acquire");
	rc = coord_lock_release(p2);
	printf("release code=%s\n", coord_error_name(rc));
	for (uint64_t end = now_ms() + LC_REPLY_MS;
	     p3 == NULL && now_ms() < end;)
		coord_client_run(c, 20);
	sem_status_print(c, name);
	printf("p3 held=%d\n",
	       p3 != NULL && coord_lock_state(p3) == COORD_LOCK_HELD);
	coord_session_close(s1);
	coord_session_close(s2);
	coord_session_close(s3);
	coord_client_free(c);
	return 0;
}

/* sembad: refused semaphore requests change nothing. */

/* A PUT of "sk" fenced by (name, token, kind). */
static void fenced_put_init(struct proto_request *rq,
			    struct proto_fence *fc, const char *name,
			    uint64_t token, uint8_t kind)
{
	memset(rq, 0, sizeof(*rq));
	*fc = (struct proto_fence){ proto_bytes_make(name, strlen(name)),
				    token, kind };
	rq->kind = PROTO_PUT;
	rq->fences.v = fc;
	rq->fences.n = 1;
	rq->u.put.key = proto_bytes_make("sk", 2);
	rq->u.put.value = proto_bytes_make("v", 1);
}

static int mode_sembad(void)
{
	struct conn c, other;
	struct proto_request rq;
	struct proto_fence fc;
	uint64_t s1, s2, token;
	bool granted;
	int code;

	sem_permits = 2;
	conn_open(&c);
	conn_register(&c);
	conn_open(&other);
	conn_register(&other);
	if (session_open(&c, 60000, &s1, NULL, NULL) != COORD_OK ||
	    session_open(&c, 60000, &s2, NULL, NULL) != COORD_OK)
		die("SESSION_OPEN refused");
	acquire_init(&rq, "L", s1, true);
	rq.u.sem_acquire.permits = 0;
	bad_call(&c, &c, "sem-permits-zero", &rq);
	acquire_init(&rq, "L", s1, true);
	rq.u.sem_acquire.permits = COORD_SEM_PERMITS_MAX + 1ull;
	bad_call(&c, &c, "sem-permits-huge", &rq);
	if (acquire(&c, "L", s1, false, &granted, &token) != COORD_OK ||
	    !granted)
		die("acquire semaphore L");
	printf("sem-status permits=%" PRIu64 " holders=%zu\n",
	       lock_status(&c, "L", false).permits,
	       lock_status(&c, "L", false).holders);
	acquire_init(&rq, "L", s2, true);
	rq.u.sem_acquire.permits = 3;
	bad_call(&c, &c, "sem-mismatched-n", &rq);
	acquire_init(&rq, "L", s1, true);
	rq.u.sem_acquire.permits = 1;
	bad_call(&c, &c, "sem-mismatched-n-holder", &rq);
	release_init(&rq, "L", s1, token + 1);
	bad_call(&c, &c, "sem-release-wrong-token", &rq);
	release_init(&rq, "L", s2, token);
	bad_call(&c, &c, "sem-release-non-holder", &rq);
	release_init(&rq, "L", s2, 0);
	bad_call(&c, &c, "sem-cancel-not-waiting", &rq);
	release_init(&rq, "nosem", s1, token);
	bad_call(&c, &c, "sem-release-unknown", &rq);
	acquire_init(&rq, "L", 999999999, true);
	bad_call(&c, &c, "sem-acquire-no-session", &rq);
	acquire_init(&rq, "L", s1, true);
	bad_call(&other, &c, "sem-foreign-acquire", &rq);
	release_init(&rq, "L", s1, token);
	bad_call(&other, &c, "sem-foreign-release", &rq);
	acquire_init(&rq, "", s1, true);
	bad_call(&c, &c, "sem-empty-name", &rq);
	fenced_put_init(&rq, &fc, "L", token + 1, PROTO_QUEUE_SEM);
	bad_call(&c, &c, "sem-fence-wrong-token", &rq);
	fenced_put_init(&rq, &fc, "L", token, PROTO_QUEUE_LOCK);
	bad_call(&c, &c, "sem-fence-as-lock", &rq);
	/* The permit's own fence is accepted. */
	fenced_put_init(&rq, &fc, "L", token, PROTO_QUEUE_SEM);
	code = call_code(&c, &rq);
	printf("sem-fence-held code=%s\n", coord_error_name(code));
	code = release(&c, "L", s1, token);
	printf("sem-release-holder code=%s\n", coord_error_name(code));
	fenced_put_init(&rq, &fc, "L", token, PROTO_QUEUE_SEM);
	bad_call(&c, &c, "sem-fence-released", &rq);
	printf("sem-after permits=%" PRIu64 " holders=%zu\n",
	       lock_status(&c, "L", false).permits,
	       lock_status(&c, "L", false).holders);
	conn_close(&other);
	conn_close(&c);
	return 0;
}

/* ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: lock_client MODE ARGS... (see the source)\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	uint64_t v;

	if (raw_parse_u64(s, 10, &v) != 0)
		usage();
	return v;
}

static void set_server(const char *host, const char *port)
{
	memset(&server, 0, sizeof(server));
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)num(port));
	if (inet_pton(AF_INET, host, &server.sin_addr) != 1)
		usage();
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	raw_recv_timeout_ms = LC_REPLY_MS;
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "hold") == 0 && argc == 6)
		return mode_hold(argv[2], argv[3], num(argv[4]), argv[5]);
	if (strcmp(argv[1], "cycle") == 0 && argc == 6)
		return mode_cycle(argv[2], argv[3], num(argv[4]), argv[5]);
	if (strcmp(argv[1], "semlib") == 0 && argc == 4)
		return mode_semlib(argv[2], argv[3]);
	if (argc < 4)
		usage();
	if (strcmp(argv[1], "expiry") != 0 && strcmp(argv[1], "leader") != 0)
		set_server(argv[2], argv[3]);
	if (strcmp(argv[1], "rawwait") == 0 && argc == 6)
		rc = mode_rawwait(argv[4], num(argv[5]));
	else if (strcmp(argv[1], "leader") == 0 && argc == 4)
		rc = mode_leader(argv[3]);
	else if (strcmp(argv[1], "expiry") == 0 && argc == 5)
		rc = mode_expiry(argv[3], num(argv[4]));
	else if (strcmp(argv[1], "status") == 0 && argc == 5)
		rc = lock_status_print(argv[4]);
	else if (strcmp(argv[1], "retry") == 0 && argc == 5)
		rc = mode_retry(argv[4]);
	else if (strcmp(argv[1], "jobretry") == 0 && argc == 5)
		rc = mode_jobretry(argv[4]);
	else if (strcmp(argv[1], "retry-elect") == 0 && argc == 5)
		rc = (elect_mode = true, mode_retry(argv[4]));
	else if (strcmp(argv[1], "fifo") == 0 && argc == 7)
		rc = mode_fifo(argv[4], (size_t)num(argv[5]), num(argv[6]));
	else if (strcmp(argv[1], "bad") == 0 && argc == 4)
		rc = mode_bad();
	else if (strcmp(argv[1], "sembad") == 0 && argc == 4)
		rc = mode_sembad();
	else if (strcmp(argv[1], "semretry") == 0 && argc == 5) {
		sem_permits = 1;
		rc = mode_retry(argv[4]);
	}
	else
		usage();
	return rc;
}
