/*
 * libcoord/client_int.h: what client.c (connection, requests, exactly
 * once) offers the session and lock code (session.c, lock.c), and the
 * hooks of theirs it calls. Internal: not installed.
 */
#ifndef COORD_LIBCOORD_CLIENT_INT_H
#define COORD_LIBCOORD_CLIENT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "libcoord/coord.h"
#include "proto/wire.h"

struct coord_session;

/* Called once a request is over: code and, with a reply, r (valid during
 * the call only; r is NULL when no reply came). */
typedef void (*lc_done_fn)(struct coord_client *c, void *arg, int code,
			   const struct proto_response *r);

/* Sends rq (its request_id is set; exactly once for mutating kinds, with
 * failover and retries as every request). timeout_ms 0: the client's
 * request timeout. fn is always called later from the loop, never from
 * this call, unless this call fails (COORD_EINVAL, COORD_ENOMEM: fn is
 * not called). */
int lc_call_async(struct coord_client *c, struct proto_request *rq,
		  unsigned timeout_ms, lc_done_fn fn, void *arg);
/* The same, waiting: runs the loop until fn has been called, returns its
 * code. COORD_EINVAL from inside a callback. */
int lc_call(struct coord_client *c, struct proto_request *rq, lc_done_fn fn,
	    void *arg);
/* Runs the loop until *done (1), or deadline_ms (0: none) passes (0);
 * -1: called from a callback (nothing run), or the client was freed by
 * a callback (it is gone, and so is *done). */
int lc_run_until(struct coord_client *c, const bool *done,
		 uint64_t deadline_ms);
/* Inside a libcoord callback (a synchronous call would fail). */
bool lc_in_callback(const struct coord_client *c);
/* lc_call_async() on a ready connection puts a non-mutating request on
 * the wire at once, ahead of those still queued: on_ready's
 * SESSION_ATTACH goes before the session's requests. */

/* Requests bound to a session that have no resend of their own
 * (ELECTION_PROCLAIM, LOCK_RELEASE_PUT, JOB_COMPLETE, JOB_FAIL): held
 * while the session's ATTACH is out after a reconnect (the server takes
 * a session's requests on a connection only once it is attached there),
 * and one the server refuses COORD_ESESSION while the session lives goes
 * once more after an ATTACH. session.c says: */
/* whether the ATTACH of session id is out (hold its requests: the
 * ATTACH's answer sends them); */
bool lc_session_attaching(struct coord_client *c, uint64_t id);
/* a request of session id was refused COORD_ESESSION: true if the
 * session lives and an ATTACH is now out (the request waits for it). */
bool lc_session_refused(struct coord_client *c, uint64_t id);
/* Sends what is queued and may go (an ATTACH was answered). */
void lc_send_queued(struct coord_client *c);

/* A done fn that only frees arg (NULL: does nothing): for requests
 * whose code alone matters, or nobody waits for. */
void lc_done_free(struct coord_client *c, void *arg, int code,
		  const struct proto_response *r);

/* A read's result out of a range reply (NULL: out of memory). */
struct coord_kvs *lc_kvs_from(const struct proto_range_reply *rr,
			      uint64_t revision);

struct event_base *lc_base(struct coord_client *c);
/* A monotonic clock in milliseconds. */
uint64_t lc_now_ms(void);
/* Connections so far that reached READY (a new one after each
 * reconnect). */
uint64_t lc_conn_gen(const struct coord_client *c);
/* The client's list of live sessions (session.c owns the entries). */
struct coord_session **lc_sessions(struct coord_client *c);
/* The client's keepalive batching state (session.c owns it; NULL until
 * the first session). */
struct lc_ka;
struct lc_ka **lc_keepalives(struct coord_client *c);
void lc_errf(struct coord_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Around a callback into the user from a libcoord event of its own: the
 * user may free the client inside; false: it is gone. */
void lc_dispatch_enter(struct coord_client *c);
bool lc_dispatch_leave(struct coord_client *c);

/* session.c's hooks. A new connection is ready (before the requests
 * that waited for it go out): re-attach sessions, re-send waiting
 * acquires. */
void lc_sessions_on_ready(struct coord_client *c);
/* PUSH_GRANT and PUSH_SESSION_LOST. */
void lc_sessions_on_push(struct coord_client *c, const struct proto_push *p);
/* coord_client_free(): every session and lock handle goes (no request is
 * sent; the servers expire the sessions). */
void lc_sessions_free_all(struct coord_client *c);

#endif /* COORD_LIBCOORD_CLIENT_INT_H */
