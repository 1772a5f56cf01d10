/*
 * libcoord/session_int.h: the session and lock handles, shared by
 * session.c (sessions, keepalives, leases) and lock.c (locks, fenced
 * writes through them). Internal: not installed.
 */
#ifndef COORD_LIBCOORD_SESSION_INT_H
#define COORD_LIBCOORD_SESSION_INT_H

#include <event2/event.h>

#include "libcoord/client_int.h"
#include "libcoord/liveness.h"
#include "proto/limits.h"

struct sreq;

/* A lock handle, or an election handle (qkind PROTO_QUEUE_ELECTION:
 * a campaign, then the leadership; the same acquire, cancel, grant and
 * loss machinery, other requests: election.c). */
struct coord_lock {
	struct coord_lock *next;    /* in its session's list */
	struct coord_session *s;
	uint64_t local_id;          /* names it in requests' contexts */
	uint8_t qkind;              /* PROTO_QUEUE_LOCK, _SEM or _ELECTION */
	uint8_t *name;
	size_t name_len;
	uint8_t *value;             /* an election's campaign value */
	size_t value_len;
	/* An election's "leadership lost" callback: told once per worse
	 * state (JEOPARDY, then LOST) while it leads. */
	coord_election_lost_fn lost_fn;
	void *lost_arg;
	enum coord_session_state lost_told;
	bool shared;
	uint64_t lock_delay_ms;
	uint64_t permits;           /* a semaphore's N (0: a lock) */
	uint64_t token;             /* of the grant; 0: none yet */
	bool held;                  /* granted */
	bool failed;                /* the acquire failed: fail_code */
	int fail_code;
	bool lost;                  /* released, fenced out, or its session
				     * ended */
	/* The acquire, until its outcome is told (lock_finish()). */
	coord_lock_fn fn;
	void *arg;
	struct event *timer;        /* its timeout, NULL: none */
	bool giving_up;             /* timed out: cancelling */
	bool finished;              /* fn was called */
	bool releasing;             /* a put and release is out */
};

/* A claim of a job queue: its request until granted, then the job. */
struct coord_job {
	struct coord_job *next;     /* in its session's list */
	struct coord_session *s;
	uint64_t local_id;
	uint8_t *queue;
	size_t queue_len;
	uint64_t id, token;
	uint32_t attempts;
	uint8_t *payload;
	size_t payload_len;
	bool held, failed, finished, giving_up;
	int fail_code;
	coord_job_fn fn;
	void *arg;
	struct event *timer;
};

struct coord_session {
	struct coord_session *next; /* in the client's list */
	struct coord_client *c;
	uint64_t id;
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	size_t secret_len;
	uint64_t lease;
	struct lc_liveness live;
	enum coord_session_state reported;  /* last told to fn */
	coord_session_fn fn;
	void *arg;
	struct event *timer;
	uint64_t next_keepalive_ms;
	uint64_t attach_gen;        /* connection an ATTACH was sent on */
	bool attach_inflight;
	bool reqs_held;             /* requests of it wait for the ATTACH
				     * (lc_session_attaching) */
	bool ka_now;                /* due: in the next batch */
	int lost_code;
	struct coord_lock *locks;
	uint64_t next_lock_id;
	struct coord_job *jobs;     /* job.c: its claims */
	bool freeing;               /* in session_free(): callbacks of its
				     * acquires may try to close it */
	bool closing;               /* its SESSION_CLOSE is on its way */
	struct sreq *parked;        /* releases, close: wait for the ATTACH */
};

/* The session of id on c (NULL: none, e.g. closed meanwhile). */
struct coord_session *lc_session_find(struct coord_client *c, uint64_t id);
/* The servers said the session ended (code why), or the library's clock
 * ran out (COORD_ETIMEDOUT): every lock of it is lost, the callback is
 * told. */
void lc_session_lose(struct coord_session *s, int code);
/* A request of s answered COORD_ESESSION: the session may only be
 * unknown to this connection; an ATTACH decides. */
void lc_session_reattach(struct coord_session *s);

/* What every waited acquire (lock, semaphore permit, campaign, job
 * claim) checks before it starts: s not lost (COORD_ESESSION,
 * COORD_ESESSION_EXPIRED) and a name of 1 to COORD_NAME_BYTES_MAX bytes
 * (COORD_EINVAL; what names it in the message: "a queue name"). */
int lc_wait_check(struct coord_session *s, size_t name_len, const char *what);
/* The caller's timeout of a waited acquire: cb(arg) after timeout_ms on
 * the client's base; *timer stays NULL for 0. COORD_ENOMEM. */
int lc_wait_timer(struct coord_client *c, unsigned timeout_ms,
		  event_callback_fn cb, void *arg, struct event **timer);

/* A LOCK_RELEASE (name, token) or SESSION_CLOSE of s, sent once s is
 * attached to the connection: held while its ATTACH is out, and sent
 * once more after an ATTACH if the server answers COORD_ESESSION (it
 * had not bound the session to this connection yet). fn (NULL: none)
 * gets the final code; COORD_OK: started, else fn is not called. */
int lc_session_send(struct coord_session *s, uint32_t kind,
		    const uint8_t *name, size_t name_len, uint64_t token,
		    lc_done_fn fn, void *arg);

/* Someone waiting for a release or close: a synchronous call (done,
 * code, on its stack) or an asynchronous one's fn (lc_wait_new()). */
struct lc_wait {
	uint64_t session;
	coord_done_fn fn;
	void *arg;
	bool done;
	int code;
	bool owned;                 /* malloc'd: freed once told */
};
struct lc_wait *lc_wait_new(uint64_t session, coord_done_fn fn, void *arg);
/* An lc_done_fn for lc_session_send() that tells its lc_wait (a session
 * that ended meanwhile: COORD_OK, its locks went with it). */
void lc_wait_done(struct coord_client *c, void *arg, int code,
		  const struct proto_response *r);

/* lock.c's part of the hooks. */
void lc_locks_on_ready(struct coord_session *s);
void lc_locks_on_grant(struct coord_session *s,
		       const struct proto_push_grant *g);
void lc_locks_on_lost(struct coord_session *s, int code);
void lc_lock_free(struct coord_lock *l);
/* The session's state worsened to st: the "leadership lost" callbacks
 * of its election handles are told. false: the client went. */
bool lc_locks_on_state(struct coord_session *s, enum coord_session_state st);
/* An acquire of queue kind qkind (a lock; a semaphore's permit, of N
 * permits; with value a campaign). */
int lc_queue_acquire_async(struct coord_session *s, uint8_t qkind,
			   const void *name, size_t name_len,
			   const void *value, size_t value_len,
			   uint64_t permits, const struct coord_lock_opts *opts,
			   coord_lock_fn fn, void *arg);
/* The release request kind of l: LOCK_RELEASE, SEM_RELEASE,
 * ELECTION_RESIGN. */
uint32_t lc_lock_release_kind(const struct coord_lock *l);
/* Fills rq as the release of l's kind (LOCK_RELEASE, ELECTION_RESIGN)
 * of token (0: cancel the waiting acquire). */
void lc_lock_release_rq(const struct coord_lock *l, uint64_t token,
			struct proto_request *rq);
/* The give-up of a timed-out acquire is over (lock.c). */
void lc_lock_give_up_end(struct coord_lock *l);
/* election.c: after a cancel found no waiting campaign, whether the
 * session leads now (then that leadership is given up too). */
void lc_election_probe(struct coord_lock *l);

/* job.c's part of the hooks (the same moments as the locks'). */
void lc_jobs_on_ready(struct coord_session *s);
void lc_jobs_on_grant(struct coord_session *s,
		      const struct proto_push_grant *g);
void lc_jobs_on_lost(struct coord_session *s, int code);
/* Unlinks and frees j (a claim still running hears COORD_ECANCELED). */
void lc_job_free(struct coord_job *j);

#endif /* COORD_LIBCOORD_SESSION_INT_H */
