/*
 * tests/cluster/fake_coordd.c: a stand-in coord server for the tests of
 * libcoord's sessions and locks and of coordctl lock, while the real
 * server's handlers are not there (tests/cluster/lock_local.sh,
 * tests/unit/test_libcoord.c). One process, one node, no Raft, no
 * storage: it speaks the client protocol (proto/wire.h) and keeps, in
 * memory, what the contract of docs/protocol.md says of sessions (TTL
 * from the last keepalive, owned by the connections that opened or
 * attached them, PUSH_SESSION_LOST when they end), exclusive and shared
 * locks with a FIFO queue, tokens from one rising revision, PUSH_GRANT,
 * cancel by token 0, and fences on PUT/DELETE (COORD_EFENCED), and leases
 * without keys. It answers a retried (client id, sequence) with its
 * first reply.
 *
 *   fake_coordd PORT     listens on 127.0.0.1:PORT (0: a port the kernel
 *                        picks); prints "ready PORT" with the port it
 *                        listens on; runs until killed.
 *
 * An ELECTION_CAMPAIGN is a waiting exclusive acquire of a lock of the
 * election's name, ELECTION_RESIGN its release; ELECTION_PROCLAIM checks
 * the session and token only; ELECTION_LEADER answers that lock's holder
 * (session 0: none). LOCK_RELEASE_PUT releases and answers a
 * new revision (the put is not kept).
 * Locks (and elections) named race* make a cancel race a grant
 * (race_cancel()). A PUT of
 * the key "drop" closes its connection without an answer, once
 * (the client's reconnect and re-attach). A PUT of "old-server" makes it
 * answer SESSION_KEEPALIVE_MANY with COORD_EUNKNOWNMSG from then on, as
 * a server of before that kind. A PUT of "slow-attach" makes it answer
 * each later ATTACH only after the next LOCK_RELEASE or SESSION_CLOSE on
 * its connection (or a second), as the real server may; a PUT of
 * "unbind" takes every session from its connection (COORD_ESESSION
 * until an ATTACH); after one of "no-register", REGISTER_CLIENT is never
 * answered. Each session event is printed
 * on stdout as one line ("grant NAME
 * session=S token=T", "expire session=S", ...) for the tests to wait on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/arena.h"
#include "proto/buf.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/wire.h"

#define CONNS_MAX 32
#define SESSIONS_MAX 256
#define LOCKS_MAX 64
#define WAITERS_MAX 64
#define CACHE_MAX 4096

struct conn {
	int fd;
	uint8_t in[1 << 16];
	size_t in_len;
};

struct session {
	uint64_t id;
	uint64_t ttl_ms;
	uint64_t deadline_ms;
	uint32_t owners;            /* bit per connection slot */
	int ended;                  /* 0, or the code it ended with */
};

struct waiter {
	uint64_t session;
	uint8_t mode;
	int conn;
	uint32_t kind;
	uint64_t request_id;
	uint64_t since_ms;
};

struct holder {
	uint64_t session;
	uint64_t token;
	uint8_t mode;
	uint64_t since_ms;
};

struct lock {
	char name[COORD_NAME_BYTES_MAX + 1];
	size_t name_len;
	struct holder holders[WAITERS_MAX];
	size_t n_holders;
	struct waiter queue[WAITERS_MAX];
	size_t n_queue;
};

struct cached {
	uint64_t client_id;
	uint64_t sequence;
	struct proto_buf reply;     /* the encoded reply body */
};

static struct conn conns[CONNS_MAX];
static struct session sessions[SESSIONS_MAX];
static size_t n_sessions;
static struct lock locks[LOCKS_MAX];
static size_t n_locks;
static struct cached cache[CACHE_MAX];
static size_t n_cache;
static uint64_t revision = 1, next_client = 1;
static bool dropped;
static bool old_server;     /* PUT "old-server": no KEEPALIVE_MANY */
/* PUT "slow-attach": an ATTACH is answered only after the next
 * LOCK_RELEASE or SESSION_CLOSE of its connection (or HOLD_MS), as the
 * real server answers its linearizable read after requests that follow
 * it. */
#define HOLD_MS 1000
static bool slow_attach;
static bool no_register;
static struct held {
	uint8_t *frame;             /* NULL: none */
	size_t len;
	uint64_t since_ms;
	bool replaying;             /* answering it now */
} held[CONNS_MAX];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The secret of a session: derived from its id (a test double). */
static void secret_of(uint64_t id, uint8_t out[16])
{
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)((id * 131 + (uint64_t)i * 7) & 0xff);
}

static void send_frame(int ci, const struct proto_buf *body)
{
	struct proto_buf f;
	size_t mark;

	if (ci < 0 || conns[ci].fd < 0)
		return;
	proto_buf_init(&f, NULL);
	if (proto_frame_begin(&f, &mark) == COORD_OK &&
	    proto_buf_append(&f, body->data, body->len) == COORD_OK &&
	    proto_frame_end(&f, mark, COORD_RESPONSE_FRAME_BYTES_MAX) ==
		    COORD_OK) {
		size_t off = 0;

		while (off < f.len) {
			ssize_t n = write(conns[ci].fd, f.data + off,
					  f.len - off);

			if (n <= 0 && errno != EINTR)
				break;
			if (n > 0)
				off += (size_t)n;
		}
	}
	proto_buf_close(&f);
}

static void send_push(int ci, const struct proto_push *p)
{
	struct proto_buf b;

	proto_buf_init(&b, NULL);
	if (proto_push_encode(p, &b) == COORD_OK)
		send_frame(ci, &b);
	proto_buf_close(&b);
}

static struct session *session_get(uint64_t id)
{
	for (size_t i = 0; i < n_sessions; i++)
		if (sessions[i].id == id)
			return &sessions[i];
	return NULL;
}

static struct lock *lock_get(struct proto_bytes name, int create)
{
	for (size_t i = 0; i < n_locks; i++)
		if (locks[i].name_len == name.len &&
		    memcmp(locks[i].name, name.data, name.len) == 0)
			return &locks[i];
	if (!create || n_locks == LOCKS_MAX)
		return NULL;
	memset(&locks[n_locks], 0, sizeof(locks[0]));
	memcpy(locks[n_locks].name, name.data, name.len);
	locks[n_locks].name_len = name.len;
	return &locks[n_locks++];
}

static bool compatible(const struct lock *l, uint8_t mode)
{
	if (l->n_holders == 0)
		return true;
	return mode == PROTO_LOCK_SHARED &&
	       l->holders[0].mode == PROTO_LOCK_SHARED;
}

static uint64_t grant(struct lock *l, uint64_t session, uint8_t mode)
{
	struct holder *h = &l->holders[l->n_holders++];

	h->session = session;
	h->token = ++revision;
	h->mode = mode;
	h->since_ms = now_ms();
	printf("grant %s session=%" PRIu64 " token=%" PRIu64 "\n", l->name,
	       session, h->token);
	fflush(stdout);
	return h->token;
}

/* The head of the queue, while compatible, gets the lock (PUSH_GRANT). */
static void grant_next(struct lock *l)
{
	while (l->n_queue > 0 && compatible(l, l->queue[0].mode)) {
		struct waiter w = l->queue[0];
		struct proto_push p;

		memmove(&l->queue[0], &l->queue[1],
			--l->n_queue * sizeof(l->queue[0]));
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_GRANT;
		p.u.grant.request_kind = w.kind;
		p.u.grant.request_id = w.request_id;
		p.u.grant.name = proto_bytes_make(l->name, l->name_len);
		p.u.grant.session = w.session;
		p.u.grant.token = grant(l, w.session, w.mode);
		send_push(w.conn, &p);
	}
}

static void holder_remove(struct lock *l, size_t i)
{
	memmove(&l->holders[i], &l->holders[i + 1],
		(--l->n_holders - i) * sizeof(l->holders[0]));
}

/* Everything s holds or waits for goes; the next waiters are granted;
 * its other connections (not by, which closed it) get PUSH_SESSION_LOST. */
static void session_end(struct session *s, int code, int by)
{
	s->ended = code;
	printf("%s session=%" PRIu64 "\n",
	       code == COORD_ESESSION_EXPIRED ? "expire" : "close", s->id);
	fflush(stdout);
	for (size_t i = 0; i < n_locks; i++) {
		struct lock *l = &locks[i];

		for (size_t j = 0; j < l->n_queue;) {
			if (l->queue[j].session == s->id)
				memmove(&l->queue[j], &l->queue[j + 1],
					(--l->n_queue - j) *
						sizeof(l->queue[0]));
			else
				j++;
		}
		for (size_t j = 0; j < l->n_holders;) {
			if (l->holders[j].session == s->id)
				holder_remove(l, j);
			else
				j++;
		}
		grant_next(l);
	}
	for (int ci = 0; ci < CONNS_MAX; ci++) {
		struct proto_push p;

		if (!(s->owners & (1u << ci)) || ci == by)
			continue;
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_SESSION_LOST;
		p.u.session_lost.session = s->id;
		p.u.session_lost.code = code;
		send_push(ci, &p);
	}
}

static void expire_sessions(void)
{
	uint64_t t = now_ms();

	for (size_t i = 0; i < n_sessions; i++)
		if (!sessions[i].ended && t >= sessions[i].deadline_ms)
			session_end(&sessions[i], COORD_ESESSION_EXPIRED, -1);
}

/* The session a request names, usable from connection ci: its code. */
static int session_use(uint64_t id, int ci, struct session **out)
{
	struct session *s = session_get(id);

	*out = s;
	if (s == NULL)
		return COORD_ESESSION;
	if (s->ended)
		return s->ended == COORD_ESESSION_EXPIRED
			       ? COORD_ESESSION_EXPIRED
			       : COORD_ESESSION;
	if (!(s->owners & (1u << ci)))
		return COORD_ESESSION;
	return COORD_OK;
}

static bool fences_hold(const struct proto_fence_list *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct lock *l = lock_get(f->v[i].lock, 0);
		bool ok = false;

		for (size_t j = 0; l != NULL && j < l->n_holders; j++)
			ok = ok || l->holders[j].token == f->v[i].token;
		if (!ok)
			return false;
	}
	return true;
}

static void session_reply(struct proto_response *r, const struct session *s,
			  uint8_t secret[16], bool with_secret)
{
	secret_of(s->id, secret);
	r->u.session.session = s->id;
	r->u.session.secret = proto_bytes_make(secret, with_secret ? 16 : 0);
	r->u.session.lease = s->id + 1000;
	r->u.session.ttl_ms = s->ttl_ms;
}

static void lock_acquire(const struct proto_request *rq, int ci,
			 struct proto_response *r)
{
	const struct proto_lock_acquire *a = &rq->u.lock_acquire;
	struct session *s;
	struct lock *l;

	r->code = session_use(a->session, ci, &s);
	if (r->code != COORD_OK)
		return;
	l = lock_get(a->name, 1);
	if (l == NULL) {
		r->code = COORD_ETOOMANYLOCKS;
		return;
	}
	r->has_body = true;
	for (size_t i = 0; i < l->n_holders; i++) {
		if (l->holders[i].session == a->session) {
			r->u.grant.granted = true;
			r->u.grant.token = l->holders[i].token;
			return;
		}
	}
	for (size_t i = 0; i < l->n_queue; i++) {
		if (l->queue[i].session == a->session) {
			/* Never queued twice: the grant goes where the
			 * latest ask came from. */
			l->queue[i].conn = ci;
			l->queue[i].request_id = rq->request_id;
			return;
		}
	}
	if (l->n_queue == 0 && compatible(l, a->mode)) {
		r->u.grant.granted = true;
		r->u.grant.token = grant(l, a->session, a->mode);
		return;
	}
	if (!a->wait) {
		r->code = COORD_EBUSY;
		r->has_body = false;
		return;
	}
	if (l->n_queue == WAITERS_MAX) {
		r->code = COORD_ETOOMANYWAITERS;
		r->has_body = false;
		return;
	}
	l->queue[l->n_queue++] = (struct waiter){ a->session, a->mode, ci,
						  rq->kind, rq->request_id,
						  now_ms() };
	printf("queue %s session=%" PRIu64 "\n", l->name, a->session);
	fflush(stdout);
}

/* An election is a lock whose acquire always waits (the grant is the
 * leadership); its value is not kept. */
static void campaign(const struct proto_request *rq, int ci,
		     struct proto_response *r)
{
	struct proto_request a = *rq;

	a.u.lock_acquire = (struct proto_lock_acquire){
		.name = rq->u.campaign.name,
		.session = rq->u.campaign.session,
		.mode = PROTO_LOCK_EXCLUSIVE,
		.wait = true,
	};
	lock_acquire(&a, ci, r);
}

/* A proclaim: the session bound to this connection, its token the
 * leader's (else COORD_ENOTELECTED). */
static void proclaim(const struct proto_proclaim *p, int ci,
		     struct proto_response *r)
{
	struct session *s;
	struct lock *l;

	r->code = session_use(p->session, ci, &s);
	if (r->code != COORD_OK)
		return;
	l = lock_get(p->name, 0);
	if (l == NULL || l->n_holders == 0 ||
	    l->holders[0].session != p->session ||
	    l->holders[0].token != p->token)
		r->code = COORD_ENOTELECTED;
}

/*
 * The race of a cancel with a grant, made to happen (locks named race*):
 * the holders go, the cancelling waiter is granted "just before" its
 * cancel arrives, and the cancel answers COORD_ENOTFOUND. For race-push
 * the grant is pushed ahead of that answer; for other race* names the
 * push is lost (as on a connection that broke), so the client learns of
 * the grant only by asking again.
 */
static void race_cancel(struct lock *l, uint64_t session,
			struct proto_response *r)
{
	struct waiter w;
	size_t i;

	r->code = COORD_ENOTFOUND;
	r->has_body = false;
	for (i = 0; i < l->n_queue && l->queue[i].session != session; i++)
		;
	if (i == l->n_queue)
		return;
	w = l->queue[i];
	memmove(&l->queue[i], &l->queue[i + 1],
		(--l->n_queue - i) * sizeof(l->queue[0]));
	l->n_holders = 0;
	if (strcmp(l->name, "race-push") == 0) {
		l->queue[l->n_queue++] = w;
		grant_next(l);
	} else {
		grant(l, w.session, w.mode);
	}
}

static void lock_release(const struct proto_release *rl, int ci,
			 struct proto_response *r)
{
	struct session *s;
	struct lock *l;

	r->code = session_use(rl->session, ci, &s);
	if (r->code != COORD_OK)
		return;
	l = lock_get(rl->name, 0);
	r->code = rl->token == 0 ? COORD_ENOTFOUND : COORD_ENOTHOLDER;
	if (l != NULL && rl->token == 0 && strncmp(l->name, "race", 4) == 0) {
		race_cancel(l, rl->session, r);
		return;
	}
	for (size_t i = 0; l != NULL && rl->token == 0 && i < l->n_queue; i++) {
		if (l->queue[i].session == rl->session) {
			memmove(&l->queue[i], &l->queue[i + 1],
				(--l->n_queue - i) * sizeof(l->queue[0]));
			r->code = COORD_OK;
			printf("cancel %s session=%" PRIu64 "\n", l->name,
			       rl->session);
			break;
		}
	}
	for (size_t i = 0; l != NULL && rl->token != 0 && i < l->n_holders;
	     i++) {
		if (l->holders[i].session == rl->session &&
		    l->holders[i].token == rl->token) {
			holder_remove(l, i);
			r->code = COORD_OK;
			printf("release %s session=%" PRIu64 " token=%" PRIu64
			       "\n", l->name, rl->session, rl->token);
			grant_next(l);
			break;
		}
	}
	fflush(stdout);
	r->has_body = r->code == COORD_OK;
}

/* Leases (no keys): grant, keepalive, revoke, time-to-live. */
#define LEASES_MAX 64
static struct {
	uint64_t id;
	uint64_t ttl_ms;
	uint64_t deadline_ms;
} leases[LEASES_MAX];
static size_t n_leases;

static int lease_find(uint64_t id)
{
	for (size_t i = 0; i < n_leases; i++)
		if (leases[i].id == id && now_ms() < leases[i].deadline_ms)
			return (int)i;
	return -1;
}

static void lease_handle(const struct proto_request *rq,
			 struct proto_response *r)
{
	int i;

	switch (rq->kind) {
	case PROTO_LEASE_GRANT:
		if (rq->u.lease_grant.ttl_ms < 100 ||
		    n_leases == LEASES_MAX) {
			r->code = n_leases == LEASES_MAX ? COORD_ETOOMANYLEASES
							  : COORD_ETTL;
			return;
		}
		i = (int)n_leases++;
		leases[i].id = 5000 + (uint64_t)i;
		leases[i].ttl_ms = rq->u.lease_grant.ttl_ms;
		leases[i].deadline_ms = now_ms() + leases[i].ttl_ms;
		break;
	case PROTO_LEASE_TTL:
		if ((i = lease_find(rq->u.lease_ttl.lease)) < 0) {
			r->code = COORD_ELEASE;
			return;
		}
		r->u.lease_ttl.lease = leases[i].id;
		r->u.lease_ttl.ttl_ms = leases[i].deadline_ms - now_ms();
		r->u.lease_ttl.granted_ttl_ms = leases[i].ttl_ms;
		return;
	default:
		if ((i = lease_find(rq->u.lease.lease)) < 0) {
			r->code = COORD_ELEASE;
			return;
		}
		if (rq->kind == PROTO_LEASE_REVOKE) {
			leases[i].deadline_ms = 0;
			printf("revoke lease=%" PRIu64 "\n", leases[i].id);
			fflush(stdout);
			return;
		}
		leases[i].deadline_ms = now_ms() + leases[i].ttl_ms;
	}
	r->u.lease.lease = leases[i].id;
	r->u.lease.ttl_ms = leases[i].ttl_ms;
}

/* SESSION_KEEPALIVE_MANY: a result per session, in the reply's static
 * lists (valid until the next one). */
static void keepalive_many(const struct proto_u64_list *ids, int ci,
			   struct proto_response *r)
{
	static uint64_t codes[COORD_KEEPALIVE_SESSIONS_MAX];
	static uint64_t ttls[COORD_KEEPALIVE_SESSIONS_MAX];
	struct session *s;

	for (size_t i = 0; i < ids->n; i++) {
		int code = session_use(ids->v[i], ci, &s);

		codes[i] = (uint64_t)code;
		ttls[i] = 0;
		if (code == COORD_OK) {
			s->deadline_ms = now_ms() + s->ttl_ms;
			ttls[i] = s->ttl_ms;
		}
	}
	r->u.session_many.codes = (struct proto_u64_list){ codes, ids->n };
	r->u.session_many.ttls = (struct proto_u64_list){ ttls, ids->n };
	printf("keepalive_many n=%zu\n", ids->n);
	fflush(stdout);
}

/* Answers rq into r; the bytes of r's byte strings live in scratch. */
static void handle(const struct proto_request *rq, int ci,
		   struct proto_response *r, uint8_t scratch[16],
		   struct proto_lock_holder *hs, struct proto_lock_waiter *ws)
{
	struct session *s;
	struct lock *l;

	r->kind = rq->kind;
	r->request_id = rq->request_id;
	r->code = COORD_OK;
	r->has_body = true;
	switch (rq->kind) {
	case PROTO_HELLO:
		r->u.hello.version = PROTO_VERSION;
		r->u.hello.node_id = 1;
		r->u.hello.node_name = proto_bytes_make("fake", 4);
		break;
	case PROTO_REGISTER_CLIENT:
		r->u.register_client.client_id = next_client++;
		break;
	case PROTO_SESSION_OPEN:
		if (rq->u.session_open.ttl_ms < 100 ||
		    rq->u.session_open.ttl_ms > 600000 ||
		    n_sessions == SESSIONS_MAX) {
			r->code = n_sessions == SESSIONS_MAX
					  ? COORD_ETOOMANYSESSIONS
					  : COORD_ETTL;
			r->has_body = false;
			break;
		}
		s = &sessions[n_sessions++];
		memset(s, 0, sizeof(*s));
		s->id = n_sessions + 100;
		s->ttl_ms = rq->u.session_open.ttl_ms;
		s->deadline_ms = now_ms() + s->ttl_ms;
		s->owners = 1u << ci;
		printf("open session=%" PRIu64 "\n", s->id);
		fflush(stdout);
		session_reply(r, s, scratch, true);
		break;
	case PROTO_SESSION_KEEPALIVE:
		r->code = session_use(rq->u.session.session, ci, &s);
		if (r->code == COORD_OK) {
			s->deadline_ms = now_ms() + s->ttl_ms;
			session_reply(r, s, scratch, false);
			printf("keepalive session=%" PRIu64 "\n", s->id);
			fflush(stdout);
		}
		break;
	case PROTO_LEASE_GRANT:
	case PROTO_LEASE_KEEPALIVE:
	case PROTO_LEASE_REVOKE:
	case PROTO_LEASE_TTL:
		lease_handle(rq, r);
		break;
	case PROTO_SESSION_KEEPALIVE_MANY:
		if (old_server) {
			r->code = COORD_EUNKNOWNMSG;
			break;
		}
		keepalive_many(&rq->u.session_many.sessions, ci, r);
		break;
	case PROTO_SESSION_ATTACH:
		s = session_get(rq->u.session_attach.session);
		secret_of(rq->u.session_attach.session, scratch);
		if (s == NULL || s->ended) {
			r->code = s != NULL && s->ended == COORD_ESESSION_EXPIRED
					  ? COORD_ESESSION_EXPIRED
					  : COORD_ESESSION;
		} else if (rq->u.session_attach.secret.len != 16 ||
			   memcmp(rq->u.session_attach.secret.data, scratch,
				  16) != 0) {
			r->code = COORD_EPERM;
		} else {
			s->owners |= 1u << ci;
			printf("attach session=%" PRIu64 "\n", s->id);
			fflush(stdout);
			session_reply(r, s, scratch, true);
		}
		break;
	case PROTO_SESSION_CLOSE:
		r->code = session_use(rq->u.session.session, ci, &s);
		if (r->code == COORD_OK)
			session_end(s, COORD_ESESSION, ci);
		break;
	case PROTO_LOCK_ACQUIRE:
		lock_acquire(rq, ci, r);
		break;
	case PROTO_LOCK_RELEASE:
	case PROTO_ELECTION_RESIGN:
		lock_release(&rq->u.release, ci, r);
		break;
	case PROTO_LOCK_RELEASE_PUT: {
		const struct proto_release_put *rp = &rq->u.release_put;
		struct proto_release rl = { rp->name, rp->session, rp->token };

		lock_release(&rl, ci, r);
		if (r->code != COORD_OK)
			break;
		r->has_body = true;
		r->u.kv.type = PROTO_CMD_PUT;
		r->u.kv.revision = ++revision;
		break;
	}
	case PROTO_ELECTION_CAMPAIGN:
		campaign(rq, ci, r);
		break;
	case PROTO_ELECTION_PROCLAIM:
		proclaim(&rq->u.proclaim, ci, r);
		break;
	case PROTO_ELECTION_LEADER:
		l = lock_get(rq->u.election.name, 0);
		memset(&r->u.leader, 0, sizeof(r->u.leader));
		if (l != NULL && l->n_holders > 0) {
			r->u.leader.session = l->holders[0].session;
			r->u.leader.token = l->holders[0].token;
			r->u.leader.revision = l->holders[0].token;
			r->u.leader.candidates = l->n_queue;
		}
		break;
	case PROTO_LOCK_CHECK:
		l = lock_get(rq->u.lock_check.name, 0);
		r->u.lock_check.token = l != NULL && l->n_holders > 0
						? l->holders[l->n_holders - 1].token
						: 0;
		for (size_t i = 0; l != NULL && i < l->n_holders; i++)
			if (l->holders[i].token == rq->u.lock_check.token)
				r->u.lock_check.current = true;
		break;
	case PROTO_LOCK_STATUS:
		l = lock_get(rq->u.lock_status.name, 0);
		for (size_t i = 0; l != NULL && i < l->n_holders; i++)
			hs[i] = (struct proto_lock_holder){
				l->holders[i].session, l->holders[i].token,
				l->holders[i].mode,
				now_ms() - l->holders[i].since_ms };
		for (size_t i = 0; l != NULL && i < l->n_queue; i++) {
			s = session_get(l->queue[i].session);
			ws[i] = (struct proto_lock_waiter){
				l->queue[i].session, l->queue[i].mode,
				now_ms() - l->queue[i].since_ms,
				s->deadline_ms > now_ms()
					? s->deadline_ms - now_ms()
					: 0 };
		}
		r->u.lock_status.holders.v = hs;
		r->u.lock_status.holders.n = l != NULL ? l->n_holders : 0;
		r->u.lock_status.waiters.v = ws;
		r->u.lock_status.waiters.n = l != NULL ? l->n_queue : 0;
		r->u.lock_status.n_waiters = l != NULL ? l->n_queue : 0;
		break;
	case PROTO_PUT:
	case PROTO_DELETE:
		if (!fences_hold(&rq->fences)) {
			r->code = COORD_EFENCED;
			r->has_body = false;
			printf("fenced %s\n", proto_kind_name(rq->kind));
			fflush(stdout);
			break;
		}
		r->u.kv.type = rq->kind == PROTO_PUT ? PROTO_CMD_PUT
						     : PROTO_CMD_DELETE;
		r->u.kv.revision = ++revision;
		printf("write %s revision=%" PRIu64 "\n",
		       proto_kind_name(rq->kind), revision);
		fflush(stdout);
		break;
	default:
		r->code = COORD_EUNKNOWNMSG;
		r->has_body = false;
		break;
	}
	if (r->code != COORD_OK)
		r->has_body = false;
}

static struct cached *cache_find(uint64_t client_id, uint64_t sequence)
{
	for (size_t i = 0; i < n_cache; i++)
		if (cache[i].client_id == client_id &&
		    cache[i].sequence == sequence)
			return &cache[i];
	return NULL;
}

static void on_frame(int ci, const uint8_t *body, size_t len);

/* Answers the ATTACH held on ci, if any. */
static void held_answer(int ci)
{
	struct held h = held[ci];

	if (h.frame == NULL)
		return;
	held[ci].frame = NULL;
	printf("answer held attach\n");
	fflush(stdout);
	held[ci].replaying = true;
	if (conns[ci].fd >= 0)
		on_frame(ci, h.frame, h.len);
	held[ci].replaying = false;
	free(h.frame);
}

static void on_frame(int ci, const uint8_t *body, size_t len)
{
	static struct proto_lock_holder hs[WAITERS_MAX];
	static struct proto_lock_waiter ws[WAITERS_MAX];
	struct proto_request rq;
	struct proto_response r;
	struct proto_arena ar;
	struct proto_buf out;
	struct cached *c = NULL;
	uint8_t scratch[16];
	int rc;

	proto_arena_init(&ar, NULL);
	proto_buf_init(&out, NULL);
	memset(&r, 0, sizeof(r));
	rc = proto_request_decode(body, len, &ar, &rq);
	if (rc != COORD_OK) {
		r.kind = rq.kind;
		r.request_id = rq.request_id;
		r.code = rc;
	} else if (rq.client_id != 0 &&
		   (c = cache_find(rq.client_id, rq.sequence)) != NULL) {
		/* A retry: the first answer, under this request's id. */
		struct proto_arena ar2;

		proto_arena_init(&ar2, NULL);
		if (proto_response_decode(c->reply.data, c->reply.len, &ar2,
					  &r) == COORD_OK) {
			r.request_id = rq.request_id;
			proto_response_encode(&r, &out);
		}
		proto_arena_close(&ar2);
		send_frame(ci, &out);
		goto out;
	} else if (slow_attach && rq.kind == PROTO_SESSION_ATTACH &&
		   held[ci].frame == NULL && !held[ci].replaying) {
		held[ci].frame = malloc(len);
		if (held[ci].frame != NULL) {
			memcpy(held[ci].frame, body, len);
			held[ci].len = len;
			held[ci].since_ms = now_ms();
			printf("hold attach session=%" PRIu64 "\n",
			       rq.u.session_attach.session);
			fflush(stdout);
		}
		goto out;
	} else if (no_register && rq.kind == PROTO_REGISTER_CLIENT) {
		goto out;   /* never answered */
	} else if (rq.kind == PROTO_PUT && rq.u.put.key.len == 11 &&
		   memcmp(rq.u.put.key.data, "no-register", 11) == 0) {
		no_register = true;
		handle(&rq, ci, &r, scratch, hs, ws);
	} else if (rq.kind == PROTO_PUT && rq.u.put.key.len == 11 &&
		   memcmp(rq.u.put.key.data, "slow-attach", 11) == 0) {
		slow_attach = true;
		handle(&rq, ci, &r, scratch, hs, ws);
	} else if (rq.kind == PROTO_PUT && rq.u.put.key.len == 6 &&
		   memcmp(rq.u.put.key.data, "unbind", 6) == 0) {
		/* The connection's sessions are no longer its own (as on a
		 * server that lost the binding): an ATTACH brings them back. */
		for (size_t i = 0; i < n_sessions; i++)
			sessions[i].owners &= ~(1u << ci);
		handle(&rq, ci, &r, scratch, hs, ws);
	} else if (rq.kind == PROTO_PUT && rq.u.put.key.len == 10 &&
		   memcmp(rq.u.put.key.data, "old-server", 10) == 0) {
		/* From now on, a server of before SESSION_KEEPALIVE_MANY. */
		old_server = true;
		handle(&rq, ci, &r, scratch, hs, ws);
	} else if (rq.kind == PROTO_PUT && !dropped &&
		   rq.u.put.key.len == 4 &&
		   memcmp(rq.u.put.key.data, "drop", 4) == 0) {
		/* Once: the connection breaks before the answer (a test of
		 * the client's reconnect; the retry is answered). */
		dropped = true;
		printf("drop\n");
		fflush(stdout);
		close(conns[ci].fd);
		conns[ci].fd = -1;
		for (size_t i = 0; i < n_sessions; i++)
			sessions[i].owners &= ~(1u << ci);
		goto out;
	} else {
		handle(&rq, ci, &r, scratch, hs, ws);
	}
	if (proto_response_encode(&r, &out) == COORD_OK) {
		/* COORD_ESESSION is not kept: the real server refuses a
		 * session not bound to the connection before its log, and
		 * the same sequence goes again after an ATTACH. */
		if (rc == COORD_OK && rq.client_id != 0 &&
		    r.code != COORD_ESESSION && n_cache < CACHE_MAX) {
			c = &cache[n_cache++];
			c->client_id = rq.client_id;
			c->sequence = rq.sequence;
			proto_buf_init(&c->reply, NULL);
			proto_buf_append(&c->reply, out.data, out.len);
		}
		/* Logged before the answer: a test reads it once answered. */
		if (rc == COORD_OK && (rq.kind == PROTO_LOCK_RELEASE ||
				       rq.kind == PROTO_SESSION_CLOSE ||
				       rq.kind == PROTO_ELECTION_PROCLAIM ||
				       rq.kind == PROTO_LOCK_RELEASE_PUT)) {
			printf("%s code=%d\n", proto_kind_name(rq.kind),
			       r.code);
			fflush(stdout);
		}
		send_frame(ci, &out);
	}
	if (rc == COORD_OK && (rq.kind == PROTO_LOCK_RELEASE ||
			       rq.kind == PROTO_SESSION_CLOSE))
		held_answer(ci);
out:
	proto_buf_close(&out);
	proto_arena_close(&ar);
}

static void conn_read(int ci)
{
	struct conn *cn = &conns[ci];
	ssize_t n = read(cn->fd, cn->in + cn->in_len,
			 sizeof(cn->in) - cn->in_len);
	size_t off = 0;

	if (n <= 0) {
		close(cn->fd);
		cn->fd = -1;
		free(held[ci].frame);
		held[ci].frame = NULL;
		for (size_t i = 0; i < n_sessions; i++)
			sessions[i].owners &= ~(1u << ci);
		return;
	}
	cn->in_len += (size_t)n;
	for (;;) {
		size_t frame_len;
		int rc;

		if (cn->in_len - off < PROTO_FRAME_HEADER_BYTES)
			break;
		rc = proto_frame_check(cn->in + off, cn->in_len - off,
				       sizeof(cn->in) - PROTO_FRAME_HEADER_BYTES,
				       &frame_len);
		if (rc == PROTO_FRAME_MORE)
			break;
		if (rc != COORD_OK) {
			cn->in_len = off = 0;   /* garbage: dropped */
			break;
		}
		on_frame(ci, proto_frame_body(cn->in + off),
			 frame_len - PROTO_FRAME_HEADER_BYTES);
		off += frame_len;
	}
	memmove(cn->in, cn->in + off, cn->in_len - off);
	cn->in_len -= off;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int lfd, one = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: fake_coordd PORT\n");
		return 2;
	}
	for (int i = 0; i < CONNS_MAX; i++)
		conns[i].fd = -1;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0) {
		perror("fake_coordd: listen");
		return 1;
	}
	printf("ready %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd p[CONNS_MAX + 1];
		int map[CONNS_MAX + 1], n = 0;

		p[n].fd = lfd;
		p[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < CONNS_MAX; i++) {
			if (conns[i].fd < 0)
				continue;
			p[n].fd = conns[i].fd;
			p[n].events = POLLIN;
			map[n++] = i;
		}
		poll(p, (nfds_t)n, 10);
		expire_sessions();
		for (int i = 0; i < CONNS_MAX; i++)
			if (held[i].frame != NULL &&
			    now_ms() - held[i].since_ms >= HOLD_MS)
				held_answer(i);
		for (int k = 0; k < n; k++) {
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (map[k] >= 0) {
				conn_read(map[k]);
				continue;
			}
			int fd = accept(lfd, NULL, NULL);

			for (int i = 0; fd >= 0 && i < CONNS_MAX; i++) {
				if (conns[i].fd < 0) {
					conns[i].fd = fd;
					conns[i].in_len = 0;
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd);
		}
	}
}
