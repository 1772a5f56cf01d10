/*
 * libcoord/session_int.h: the session and lock handles, shared by
 * session.c (sessions, keepalives, leases) and lock.c (locks, fenced
 * writes through them). Internal: not installed.
 */
#ifndef COORD_LIBCOORD_SESSION_INT_H
#define COORD_LIBCOORD_SESSION_INT_H

#include "libcoord/client_int.h"
#include "libcoord/liveness.h"
#include "proto/limits.h"

struct event;

struct coord_lock {
	struct coord_lock *next;    /* in its session's list */
	struct coord_session *s;
	uint64_t local_id;          /* names it in requests' contexts */
	uint8_t *name;
	size_t name_len;
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
	int lost_code;
	struct coord_lock *locks;
	uint64_t next_lock_id;
	bool freeing;               /* in session_free(): callbacks of its
				     * acquires may try to close it */
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

/* lock.c's part of the hooks. */
void lc_locks_on_ready(struct coord_session *s);
void lc_locks_on_grant(struct coord_session *s,
		       const struct proto_push_grant *g);
void lc_locks_on_lost(struct coord_session *s, int code);
void lc_lock_free(struct coord_lock *l);

#endif /* COORD_LIBCOORD_SESSION_INT_H */
