/*
 * coord.h: libcoord, the client library of coord.
 *
 * A struct coord_client talks to a cluster through one connection at a
 * time, to one of its endpoints; it fails over by itself. Two ways to
 * use it:
 *
 *   - synchronous: coord_client_new(), then coord_put(), coord_get()...
 *     each call returns when its answer is there (or its timeout passed).
 *     The client runs a private event loop inside each call.
 *   - asynchronous: coord_client_new_async() on your event_base; the
 *     coord_*_async() calls return at once and call you back from that
 *     loop. Requests are pipelined on the connection.
 *
 * Failover and exactly once. A client registers one id with the cluster
 * (a committed REGISTER_CLIENT, on its first mutating request) and every
 * mutating request carries a (client id, sequence) pair and the lowest
 * sequence still unanswered; the servers apply a pair at most once and
 * answer a retry with the first answer (docs/protocol.md, "Exactly
 * once"). If the servers forgot the id (idle for an hour, or evicted from
 * a full table), the client registers again: a request whose earlier send
 * had an unknown outcome then fails with COORD_ETIMEDOUT -- it may have
 * been applied -- and is never sent under the new id; the others go
 * again. A refused registration (COORD_ECLIENTSFULL, COORD_EREGISTERRATE)
 * fails the requests waiting for it. When a connection breaks, or a server says
 * it is not the leader, the request is sent again -- with the same pair --
 * to the leader if its endpoint is known (servers name the leader in
 * their answers; HELLO tells which node each endpoint is), else to the
 * next endpoint, until it is answered or its timeout passes. A leader
 * the client has no endpoint for is looked up in the member table of the
 * server that named it (every member publishes its client address
 * there) and added to the client's endpoints (at most 16 in all): one
 * endpoint of any member is enough. So a put acknowledged once was
 * applied once, even across a leader crash.
 *
 * When a request fails, its code says whether it may have been applied:
 *
 *   COORD_EUNAVAILABLE  never sent: every endpoint failed in a row
 *                       (refused, unreachable, no connection within
 *                       dial_timeout_ms, TLS refused, not a coord
 *                       server); coord_errmsg() names each endpoint's
 *                       reason. Reported as soon as the round of dials
 *                       has failed, not at the request timeout. Also
 *                       when the leader was named but no endpoint of it
 *                       could be found before the timeout. Not applied.
 *   COORD_ENOLEADER     the servers reached knew no leader until the
 *                       timeout (an election in progress, or a quorum of
 *                       members down). Not applied.
 *   COORD_ETIMEDOUT     sent, and no answer in time (or its connection
 *                       broke, or the server itself timed out on it):
 *                       it may or may not have been applied.
 *
 * Safe to retry with new state (a new request, a new read of what it
 * depends on): COORD_EUNAVAILABLE, COORD_ENOLEADER -- nothing happened.
 * After COORD_ETIMEDOUT read the state first: a retry of a
 * non-idempotent write (a txn, a put whose revision matters) may apply
 * it a second time. Codes that answer the request itself (COORD_EINVAL,
 * COORD_EKEYTOOBIG, COORD_EFENCED, COORD_ECOMPACTED...) were not applied
 * and fail again unchanged.
 *
 * Reads are linearizable by default (the server confirms its read point
 * with a quorum); COORD_SERIALIZABLE reads the connected node's state as
 * it is, possibly stale, without a round to the leader.
 *
 * Watches deliver every event of their keys once, in revision order,
 * from their start revision on. If the connection breaks, the client
 * re-creates each watch on the next connection from the revision after
 * the last one it delivered, so the callback sees no gap and no
 * duplicate. A start revision older than the cluster's compaction ends
 * the watch with COORD_ECOMPACTED.
 *
 * Ownership. Every pointer argument is borrowed for the duration of the
 * call. Results (struct coord_kvs, struct coord_status...) are allocated
 * by the library and freed with their _free() function; callbacks' results
 * are valid during the callback only. Strings returned by coord_errmsg()
 * and coord_strerror() are owned by the library.
 *
 * Errors are coord_err_t codes (the same numbers the servers send; the
 * table is in coord_errors.h); coord_strerror() names them, and
 * coord_errmsg(client) holds the detail of the last failure.
 *
 * Callbacks may start asynchronous requests, cancel watches and free the
 * client (the free completes when the callback returns). A synchronous
 * call from inside a callback fails with COORD_EINVAL: the loop it would
 * need is the one running the callback.
 *
 * Threads: a client is used by one thread at a time.
 */
#ifndef COORD_H
#define COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(COORD_BUILDING_LIBCOORD)
#define COORD_API __attribute__((visibility("default")))
#else
#define COORD_API
#endif

typedef int coord_err_t;

struct event_base;
struct coord_client;

struct coord_options {
	unsigned request_timeout_ms;    /* per request, retries included;
					 * 0: 10000 */
	unsigned dial_timeout_ms;       /* per connection attempt (and
					 * HELLO); 0: 2000 */
	const char *cacert;             /* TLS: CA of the servers; enables TLS */
	const char *cert;               /* TLS: client certificate (with key,
					 * and only with cacert: else
					 * coord_client_new() fails with
					 * COORD_EINVAL, never plaintext) */
	const char *key;                /* TLS: its key */
	const char *name;               /* sent in HELLO; NULL: "libcoord" */
	uint64_t cluster_id;            /* the cluster expected (coordctl status
					 * prints it); a server of another is
					 * refused (COORD_ECLUSTER, the next
					 * endpoint is tried); 0: any */
};

/* endpoints: "host:port[,host:port...]" (at most 16; leaders found
 * through the member table are added up to 16 in all). */
COORD_API coord_err_t coord_client_new(const char *endpoints,
				       const struct coord_options *opts,
				       struct coord_client **out);
COORD_API coord_err_t coord_client_new_async(struct event_base *base,
					     const char *endpoints,
					     const struct coord_options *opts,
					     struct coord_client **out);
/* Outstanding async requests and live watches are called back with
 * COORD_ECANCELED; NULL does nothing. */
COORD_API void coord_client_free(struct coord_client *c);

COORD_API const char *coord_errmsg(const struct coord_client *c);

/* The cluster id of the server the client last completed a HELLO with
 * (0: none yet). It came over that connection, verified with TLS, so
 * after coord_member_add() it is what to start the new member with
 * (--cluster-id). */
COORD_API uint64_t coord_cluster_id(const struct coord_client *c);

/* One key-value version. Bytes are NUL-terminated for convenience (the
 * terminator is not counted in the length). */
struct coord_kv {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t value_len;
	uint64_t create_revision;
	uint64_t mod_revision;
	uint64_t version;
	uint64_t lease;
};

/* A read's result; free with coord_kvs_free(). */
struct coord_kvs {
	struct coord_kv *kvs;
	size_t n;
	uint64_t count;             /* keys in the range, regardless of limit */
	bool more;                  /* limit left some out */
	uint64_t revision;          /* of the keyspace the read saw */
};
COORD_API void coord_kvs_free(struct coord_kvs *r);

/* Range flags (as proto/msg.h's PROTO_RANGE_*). */
#define COORD_PREFIX (1u << 0)      /* every key starting with key */
#define COORD_FROM_KEY (1u << 1)    /* every key >= key */
#define COORD_KEYS_ONLY (1u << 2)
#define COORD_COUNT_ONLY (1u << 3)
#define COORD_SERIALIZABLE (1u << 16)   /* a local, maybe stale read */

struct coord_get_opts {
	unsigned flags;             /* COORD_PREFIX... COORD_SERIALIZABLE */
	const uint8_t *end;         /* [key, end) when end_len > 0 */
	size_t end_len;
	uint64_t limit;             /* 0: none */
	uint64_t revision;          /* 0: the current one */
};

/* Sets key to value. *revision (may be NULL) gets the revision of the
 * write. */
COORD_API coord_err_t coord_put(struct coord_client *c, const void *key,
				size_t key_len, const void *value,
				size_t value_len, uint64_t *revision);
/* coord_put() attaching key to a lease (a granted lease, or a session's:
 * coord_session_id()): the key is deleted when the lease ends. A lease
 * that does not exist or has ended: COORD_ELEASE, nothing written. 0:
 * no lease (as coord_put()). */
COORD_API coord_err_t coord_put_lease(struct coord_client *c, const void *key,
				      size_t key_len, const void *value,
				      size_t value_len, uint64_t lease,
				      uint64_t *revision);
/* Reads key (or the range opts names; opts may be NULL). */
COORD_API coord_err_t coord_get(struct coord_client *c, const void *key,
				size_t key_len,
				const struct coord_get_opts *opts,
				struct coord_kvs **out);
/* Deletes key (flags: COORD_PREFIX or COORD_FROM_KEY for many);
 * *deleted (may be NULL) counts them. */
COORD_API coord_err_t coord_delete(struct coord_client *c, const void *key,
				   size_t key_len, unsigned flags,
				   uint64_t *deleted, uint64_t *revision);

/* Transactions: if every compare holds, the then-ops run, else the
 * else-ops; all in one revision. */
enum coord_cmp_target { COORD_CMP_VALUE = 0, COORD_CMP_VERSION,
			COORD_CMP_CREATE, COORD_CMP_MOD, COORD_CMP_LEASE };
enum coord_cmp_op { COORD_CMP_EQUAL = 0, COORD_CMP_NOT_EQUAL,
		    COORD_CMP_LESS, COORD_CMP_GREATER };
enum coord_op_type { COORD_OP_PUT = 1, COORD_OP_DELETE = 2,
		     COORD_OP_GET = 3 };

struct coord_compare {
	const void *key;
	size_t key_len;
	enum coord_cmp_target target;
	enum coord_cmp_op op;
	uint64_t number;            /* VERSION, CREATE, MOD, LEASE */
	const void *value;          /* VALUE */
	size_t value_len;
};

struct coord_op {
	enum coord_op_type type;
	const void *key;
	size_t key_len;
	const void *value;          /* PUT */
	size_t value_len;
	unsigned flags;             /* DELETE, GET: COORD_PREFIX... */
	uint64_t lease;             /* PUT: attach to this lease (0: none) */
};

/* The outcome; free with coord_txn_result_free(). results[i] is the
 * answer to the i-th op of the branch that ran (a GET's kvs; a PUT's or
 * DELETE's revision in the struct's revision). */
struct coord_txn_result {
	bool succeeded;
	uint64_t revision;
	struct coord_kvs *results;
	size_t n_results;
};
COORD_API void coord_txn_result_free(struct coord_txn_result *r);

COORD_API coord_err_t coord_txn(struct coord_client *c,
				const struct coord_compare *cmps, size_t n_cmps,
				const struct coord_op *then_ops, size_t n_then,
				const struct coord_op *else_ops, size_t n_else,
				struct coord_txn_result **out);

/* Status of the node behind one endpoint (not of the cluster). */
struct coord_status {
	char endpoint[128];
	char name[128];
	uint64_t node_id;
	uint64_t leader;            /* 0: unknown */
	uint64_t term;
	uint64_t revision;
	uint64_t applied_index;
	uint64_t commit_index;
	uint64_t state_hash;
	uint64_t cluster_id;        /* docs/security.md, "The cluster id" */
	uint64_t alarms;            /* quota13: 1: NOSPACE raised */
};
/* Asks the node at endpoint (one of the client's, or any other). */
COORD_API coord_err_t coord_status(struct coord_client *c,
				   const char *endpoint,
				   struct coord_status *out);

/* Members as the connected node knows them; free with
 * coord_members_free(). */
struct coord_member {
	uint64_t id;
	char name[128];
	char peer_addr[256];
	char client_addr[256];
	bool learner;
	char http_addr[256];        /* /health, /metrics ("": none known) */
};
COORD_API coord_err_t coord_member_list(struct coord_client *c,
					struct coord_member **out, size_t *n);
COORD_API void coord_members_free(struct coord_member *m);

/* Adds a member: its addresses go into the replicated member table and
 * it joins the Raft configuration as a learner; unless learner, the
 * leader makes it a voter once it has caught up. Start the new node with
 * --join, --cluster-id (coord_cluster_id() after this call) and an
 * --initial-cluster naming every member, itself included.
 * *id (may be NULL) gets its node id (derived from name). */
COORD_API coord_err_t coord_member_add(struct coord_client *c,
				       const char *name, const char *peer_addr,
				       const char *client_addr, bool learner,
				       uint64_t *id);
/* Removes member id from the configuration (and its table entry). */
COORD_API coord_err_t coord_member_remove(struct coord_client *c, uint64_t id);
/* Makes learner id a voter now. */
COORD_API coord_err_t coord_member_promote(struct coord_client *c, uint64_t id);

/* quota13: the storage quotas and their alarm (docs/quota.md), as the
 * connected node has applied them. */
struct coord_alarms {
	bool nospace;               /* the NOSPACE alarm is raised */
	uint64_t alarm_index;       /* the entry that raised it */
	uint64_t quota_bytes;       /* keyspace quota in force (0: none) */
	uint64_t kv_bytes;          /* bytes it counts */
	uint64_t coord_quota_bytes; /* coordination budget (0: none) */
	uint64_t coord_bytes;       /* bytes it counts */
};
COORD_API coord_err_t coord_alarm_list(struct coord_client *c,
				       struct coord_alarms *out);
/* Clears the NOSPACE alarm (an admin request: COORD_EPERM otherwise); a
 * later value past the quota raises it again. */
COORD_API coord_err_t coord_alarm_disarm(struct coord_client *c);
/* The node id of a member name (as the servers derive it). */
COORD_API uint64_t coord_member_id(const char *name);

/* Watches. */
enum coord_event_type { COORD_EVENT_PUT = 1, COORD_EVENT_DELETE = 2 };

struct coord_event {
	enum coord_event_type type;
	struct coord_kv kv;         /* a DELETE: key and mod_revision */
	bool has_prev_kv;
	struct coord_kv prev_kv;
};

/* Called with the events of one or more whole revisions, in order; or,
 * once, with code != COORD_OK (n 0) when the watch ended (compacted
 * start, or the client is freed). */
typedef void (*coord_watch_fn)(void *arg, coord_err_t code,
			       const struct coord_event *events, size_t n);

struct coord_watch;

/* Watches key (flags: COORD_PREFIX or COORD_FROM_KEY) from revision
 * start_revision, or from the next change (0): the server anchors such a
 * watch at the revision after the one current when it takes the request
 * -- before any request this client sends afterwards on the same
 * connection -- and says which, so that a reconnect resumes exactly
 * there. (If the connection breaks before that answer arrives, the watch
 * is anchored anew on the next connection.) prev_kv: events carry the
 * version before. The callback runs from the client's loop: inside
 * coord_client_run() for a synchronous client. */
COORD_API coord_err_t coord_watch_create(struct coord_client *c,
					 const void *key, size_t key_len,
					 unsigned flags,
					 uint64_t start_revision, bool prev_kv,
					 coord_watch_fn fn, void *arg,
					 struct coord_watch **out);
COORD_API void coord_watch_cancel(struct coord_client *c,
				  struct coord_watch *w);

/* Synchronous client: runs its loop for at most ms milliseconds (0:
 * until coord_client_stop() is called from a callback). */
COORD_API coord_err_t coord_client_run(struct coord_client *c, unsigned ms);
COORD_API void coord_client_stop(struct coord_client *c);

/* Asynchronous calls: the callback gets the code and, with COORD_OK, the
 * result (valid during the callback only). */
typedef void (*coord_put_fn)(void *arg, coord_err_t code, uint64_t revision);
typedef void (*coord_get_fn)(void *arg, coord_err_t code,
			     const struct coord_kvs *r);
typedef void (*coord_txn_fn)(void *arg, coord_err_t code,
			     const struct coord_txn_result *r);

COORD_API coord_err_t coord_put_async(struct coord_client *c, const void *key,
				      size_t key_len, const void *value,
				      size_t value_len, coord_put_fn fn,
				      void *arg);
COORD_API coord_err_t coord_get_async(struct coord_client *c, const void *key,
				      size_t key_len,
				      const struct coord_get_opts *opts,
				      coord_get_fn fn, void *arg);
COORD_API coord_err_t coord_txn_async(struct coord_client *c,
				      const struct coord_compare *cmps,
				      size_t n_cmps,
				      const struct coord_op *then_ops,
				      size_t n_then,
				      const struct coord_op *else_ops,
				      size_t n_else, coord_txn_fn fn,
				      void *arg);

/*
 * Fenced writes. A fence names a lock and the token of a grant of it;
 * the write is applied only if every fence's token is its lock's current
 * grant, else it fails with COORD_EFENCED and nothing is written. At most
 * 16 fences (COORD_FENCES_MAX; more: COORD_EINVAL, nothing sent). A fence
 * of kind COORD_FENCE_SEM names a semaphore and the token of one of its
 * permits: it holds while that permit is held; of kind
 * COORD_FENCE_ELECTION an election, and token must be its current
 * leader's (coord_election_token()).
 */
enum coord_fence_kind {
	COORD_FENCE_LOCK = 0,
	COORD_FENCE_SEM = 2,
	COORD_FENCE_ELECTION = 3,
};
struct coord_fence {
	const void *lock;           /* the lock's, semaphore's or election's
				     * name */
	size_t lock_len;
	uint64_t token;
	int kind;                   /* enum coord_fence_kind; 0: a lock */
};
COORD_API coord_err_t coord_put_fenced(struct coord_client *c,
				       const struct coord_fence *fences,
				       size_t n_fences, const void *key,
				       size_t key_len, const void *value,
				       size_t value_len, uint64_t *revision);
COORD_API coord_err_t coord_delete_fenced(struct coord_client *c,
					  const struct coord_fence *fences,
					  size_t n_fences, const void *key,
					  size_t key_len, unsigned flags,
					  uint64_t *deleted, uint64_t *revision);
COORD_API coord_err_t coord_txn_fenced(struct coord_client *c,
				       const struct coord_fence *fences,
				       size_t n_fences,
				       const struct coord_compare *cmps,
				       size_t n_cmps,
				       const struct coord_op *then_ops,
				       size_t n_then,
				       const struct coord_op *else_ops,
				       size_t n_else,
				       struct coord_txn_result **out);

/*
 * Leases: a TTL the servers count down; keys written with the lease go
 * when it ends. ttl_ms out of the servers' range: COORD_ETTL.
 */
/* *lease and *ttl_ms (either may be NULL) get the lease id and its TTL. */
COORD_API coord_err_t coord_lease_grant(struct coord_client *c,
					uint64_t ttl_ms, uint64_t *lease,
					uint64_t *ttl_ms_out);
/* One keepalive, answered once it is committed: *ttl_ms the fresh TTL
 * (0: the lease is gone). */
COORD_API coord_err_t coord_lease_keepalive_once(struct coord_client *c,
						 uint64_t lease,
						 uint64_t *ttl_ms);
COORD_API coord_err_t coord_lease_revoke(struct coord_client *c,
					 uint64_t lease);
/* *ttl_ms: left; *granted_ttl_ms: as granted (either may be NULL). */
COORD_API coord_err_t coord_lease_ttl(struct coord_client *c, uint64_t lease,
				      uint64_t *ttl_ms,
				      uint64_t *granted_ttl_ms);
/* The same, asynchronously: fn gets, from the client's loop, the code
 * and, with COORD_OK, the lease id and TTL (grant, keepalive: the TTL
 * granted; ttl: the TTL left, and granted_ttl_ms as granted, else 0).
 * COORD_OK when it started (else fn is not called). Revoke tells a
 * coord_done_fn (coord_session_close_async()'s type) its code alone.
 * (test: tests/unit/test_libcoord.c, lease_calls_on_the_callers_loop) */
typedef void (*coord_lease_fn)(void *arg, coord_err_t code, uint64_t lease,
			       uint64_t ttl_ms, uint64_t granted_ttl_ms);
typedef void (*coord_done_fn)(void *arg, coord_err_t code);
COORD_API coord_err_t coord_lease_grant_async(struct coord_client *c,
					      uint64_t ttl_ms,
					      coord_lease_fn fn, void *arg);
COORD_API coord_err_t coord_lease_keepalive_async(struct coord_client *c,
						  uint64_t lease,
						  coord_lease_fn fn,
						  void *arg);
COORD_API coord_err_t coord_lease_revoke_async(struct coord_client *c,
					       uint64_t lease,
					       coord_done_fn fn, void *arg);
COORD_API coord_err_t coord_lease_ttl_async(struct coord_client *c,
					    uint64_t lease, coord_lease_fn fn,
					    void *arg);

/* A page of the keys attached to lease, in key order, starting after the
 * key `after` (after_len 0: from the first). (*out)->more: the page was
 * cut (at the server's --max-range-keys keys, or what fits one reply);
 * ask again after its last key. Each kv has its key and lease only.
 * Free with coord_kvs_free(). No such lease: COORD_ELEASE. */
COORD_API coord_err_t coord_lease_keys(struct coord_client *c, uint64_t lease,
				       const void *after, size_t after_len,
				       struct coord_kvs **out);

/*
 * Sessions. A session is a lease the library keeps alive: a keepalive
 * every ttl/3 (less a random part of up to a quarter of that, so that
 * many clients spread out), to the leader, across failovers (after a
 * reconnect the session is attached to the new connection before
 * anything else of it goes out: its keepalives, waiting acquires,
 * releases, close, proclaims, put-and-releases and job completes and
 * fails follow the ATTACH's answer; tests:
 * tests/cluster/lock_churn.sh, tests/cluster/lock_failover.sh,
 * tests/unit/test_libcoord.c). The keepalives of a client's sessions
 * travel together: when one is due, one SESSION_KEEPALIVE_MANY carries
 * it and every other session of the client due within the next ttl/6
 * (up to 1,024 a request), so a client holding thousands of sessions
 * sends about one request per period (test: test_libcoord.c,
 * keepalives_of_many_sessions_share_one_request). Open them with
 * coord_session_open_async() and run the loop: no thread per session.
 *
 * The library judges the session by the clock of this process, never
 * more optimistically than the servers can: a keepalive sent at time T
 * and acknowledged (it was committed) proves the session alive until at
 * least T + ttl on the leader, which started counting after T. So:
 *
 *   COORD_SESSION_ALIVE     until T + ttl/2,
 *   COORD_SESSION_JEOPARDY  from T + ttl/2 (keepalives are not being
 *                           acknowledged: stop what the session
 *                           protects, or be ready to),
 *   COORD_SESSION_LOST      from T + ttl, or as soon as the servers say
 *                           it ended (PUSH_SESSION_LOST, a keepalive or
 *                           attach answered COORD_ESESSION /
 *                           COORD_ESESSION_EXPIRED / COORD_EPERM);
 *
 * T being the send time of the latest acknowledged keepalive (or of the
 * SESSION_OPEN/ATTACH). LOST is final: the library stops its keepalives
 * and asks the servers to close the session (so that its locks go to the
 * next waiters at once); open a new session.
 *
 * The event loop. Keepalives and the state callback run from the
 * client's event loop: on an asynchronous client, from your event_base;
 * on a synchronous client only while the library's loop runs -- inside
 * any synchronous call and inside coord_client_run(). A synchronous
 * program that holds a session and has nothing to ask must call
 * coord_client_run() at least every ttl/3 (coordctl lock does so while
 * its command runs). coord_session_state() reads the clock itself, so it
 * is right whether the loop ran or not.
 */
struct coord_session;

enum coord_session_state {
	COORD_SESSION_ALIVE = 0,
	COORD_SESSION_JEOPARDY = 1,
	COORD_SESSION_LOST = 2,
};

/* Called from the loop when the session's state changes; why: the code
 * that ended it (LOST: COORD_ETIMEDOUT when the library's clock ran out,
 * else the servers' code). */
typedef void (*coord_session_fn)(void *arg, struct coord_session *s,
				 enum coord_session_state state,
				 coord_err_t why);

/* Opens a session of ttl_ms (COORD_ETTL when out of the servers' range).
 * Synchronous. */
COORD_API coord_err_t coord_session_open(struct coord_client *c,
					 uint64_t ttl_ms,
					 struct coord_session **out);
/* The same, asynchronously: fn gets the outcome and, with COORD_OK, the
 * session (yours until coord_session_close()), from the client's loop.
 * Returns COORD_OK when it started (else fn is not called). */
typedef void (*coord_session_open_fn)(void *arg, coord_err_t code,
				      struct coord_session *s);
COORD_API coord_err_t coord_session_open_async(struct coord_client *c,
					       uint64_t ttl_ms,
					       coord_session_open_fn fn,
					       void *arg);
/* Takes over a session by its id and secret (from coord_session_id()
 * and coord_session_secret() of another process, say one that
 * restarted): COORD_ESESSION when it is gone, COORD_EPERM on a wrong
 * secret. */
COORD_API coord_err_t coord_session_attach(struct coord_client *c,
					   uint64_t id, const void *secret,
					   size_t secret_len,
					   struct coord_session **out);
/* The same, asynchronously (fn as coord_session_open_async()'s). */
COORD_API coord_err_t coord_session_attach_async(struct coord_client *c,
						 uint64_t id,
						 const void *secret,
						 size_t secret_len,
						 coord_session_open_fn fn,
						 void *arg);
/* Closes it on the servers (every lock of it is released) and frees the
 * handle and its locks' handles. Returns the close's code (a lost
 * session: COORD_OK without a request). NULL does nothing. */
COORD_API coord_err_t coord_session_close(struct coord_session *s);
/* The same, asynchronously: the handle and its locks' handles go now
 * (waiting acquires: COORD_ECANCELED), fn (NULL: none) gets the close's
 * code from the client's loop. COORD_OK when it started; else fn is not
 * called: COORD_EINVAL (NULL, or closed already), or for a session
 * known lost the code that ended it (the handle is freed, nothing sent).
 * After a reconnect, the close (like a release) waits for the session's
 * ATTACH to be answered (test: tests/unit/test_libcoord.c,
 * close_behind_a_reconnects_attach_waits_for_it). */
COORD_API coord_err_t coord_session_close_async(struct coord_session *s,
						coord_done_fn fn, void *arg);
COORD_API void coord_session_set_callback(struct coord_session *s,
					  coord_session_fn fn, void *arg);
COORD_API enum coord_session_state coord_session_state(
	const struct coord_session *s);
COORD_API uint64_t coord_session_id(const struct coord_session *s);
COORD_API uint64_t coord_session_ttl_ms(const struct coord_session *s);
/* The session's deadline by this process's clock: the send time of the
 * request that carried its latest acknowledged keepalive (or its OPEN or
 * ATTACH) plus its TTL, in milliseconds of CLOCK_MONOTONIC
 * (clock_gettime()). The servers do not end the session before it;
 * coord_session_state() says LOST from it on (or earlier, when the
 * servers said the session ended). */
COORD_API uint64_t coord_session_deadline_ms(const struct coord_session *s);
/* The secret (*len bytes, owned by the handle). */
COORD_API const uint8_t *coord_session_secret(const struct coord_session *s,
					      size_t *len);

/*
 * Locks. A lock handle is one grant of a named lock to a session, with
 * its fencing token (the grant's revision: strictly rising per lock).
 * Its state follows its session's (ALIVE: HELD, JEOPARDY: JEOPARDY,
 * LOST: LOST); it is LOST as well once released or once the servers
 * said the session ended. Fenced writes through a handle carry its token
 * and are refused without being sent (COORD_ELOCK_LOST) once it is lost.
 */
struct coord_lock;

enum coord_lock_state {
	COORD_LOCK_HELD = 0,
	COORD_LOCK_JEOPARDY = 1,
	COORD_LOCK_LOST = 2,
};

struct coord_lock_opts {
	bool shared;                /* else exclusive */
	bool wait;                  /* queue (FIFO) while held; else
				     * COORD_EBUSY at once */
	unsigned timeout_ms;        /* wait at most this long (0: while the
				     * session lives): then COORD_ETIMEDOUT,
				     * and the library has left the queue
				     * and holds nothing */
	unsigned lock_delay_ms;     /* after a holder's session expires,
				     * no grant for this long */
};

/* Acquires name for session s (opts NULL: exclusive, wait, no timeout,
 * no lock-delay); synchronous: returns once granted (*out: the handle)
 * or failed: COORD_EBUSY (no wait), COORD_ETIMEDOUT, COORD_ESESSION /
 * COORD_ESESSION_EXPIRED (the session ended; also when it is known lost
 * here), COORD_ETOOMANYWAITERS, COORD_ETOOMANYLOCKS... Acquiring a lock
 * the session holds returns the same token. */
COORD_API coord_err_t coord_lock_acquire(struct coord_session *s,
					 const void *name, size_t name_len,
					 const struct coord_lock_opts *opts,
					 struct coord_lock **out);
/* The same, asynchronously: fn is called from the client's loop with the
 * outcome and, with COORD_OK, the handle (yours until
 * coord_lock_release()); COORD_ECANCELED when the session is closed or
 * the client freed first. Returns COORD_OK when it started (else fn is
 * not called). */
typedef void (*coord_lock_fn)(void *arg, coord_err_t code,
			      struct coord_lock *l);
COORD_API coord_err_t coord_lock_acquire_async(struct coord_session *s,
					       const void *name,
					       size_t name_len,
					       const struct coord_lock_opts *opts,
					       coord_lock_fn fn, void *arg);
/* Releases the grant (COORD_ENOTHOLDER when it was no longer the
 * current grant) and frees the handle. NULL does nothing. From a
 * libcoord callback (where nothing can be waited for) the release is sent
 * and COORD_OK returned at once; coord_session_close() likewise. */
COORD_API coord_err_t coord_lock_release(struct coord_lock *l);
/* The same, asynchronously: the handle goes now, fn (NULL: none) gets
 * the release's code from the client's loop. COORD_OK when it started;
 * else fn is not called: COORD_EINVAL (NULL), COORD_ELOCK_LOST (the lock
 * is known lost: nothing sent, the handle is freed). */
COORD_API coord_err_t coord_lock_release_async(struct coord_lock *l,
					       coord_done_fn fn, void *arg);
/* The holder's last write and the release in one command (one commit,
 * where coord_lock_put() + coord_lock_release() take two in a row): puts
 * key = value, fenced by l's token, then releases l and grants the next
 * waiters, all at one revision (*revision, if not NULL). With COORD_OK
 * the handle is freed. On any error nothing was written and the handle
 * stays yours: COORD_ELOCK_LOST (nothing sent) or COORD_EFENCED (the
 * servers know a newer grant) mark it lost; after another error the lock
 * may still be held -- coord_lock_release() it. Not from a libcoord
 * callback (COORD_EINVAL). */
COORD_API coord_err_t coord_lock_put_release(struct coord_lock *l,
					     const void *key, size_t key_len,
					     const void *value,
					     size_t value_len,
					     uint64_t *revision);
/* The same, asynchronously: fn gets the code and, with COORD_OK, the
 * revision, from the client's loop. The handle stays valid until then
 * (one put and release at a time: COORD_EINVAL for a second); with
 * COORD_OK it is freed before fn is called, on an error it stays yours
 * as above (or went with its session). COORD_OK when it started; else fn
 * is not called: COORD_ELOCK_LOST (nothing sent), COORD_EINVAL,
 * COORD_ENOMEM. */
COORD_API coord_err_t coord_lock_put_release_async(struct coord_lock *l,
						   const void *key,
						   size_t key_len,
						   const void *value,
						   size_t value_len,
						   coord_put_fn fn,
						   void *arg);
COORD_API uint64_t coord_lock_token(const struct coord_lock *l);
COORD_API enum coord_lock_state coord_lock_state(const struct coord_lock *l);
COORD_API struct coord_session *coord_lock_session(const struct coord_lock *l);

/* Fenced writes carrying l's token: COORD_ELOCK_LOST, nothing sent, when
 * l is lost; COORD_EFENCED when the servers know a newer grant. */
COORD_API coord_err_t coord_lock_put(struct coord_lock *l, const void *key,
				     size_t key_len, const void *value,
				     size_t value_len, uint64_t *revision);
COORD_API coord_err_t coord_lock_delete(struct coord_lock *l, const void *key,
					size_t key_len, unsigned flags,
					uint64_t *deleted, uint64_t *revision);
COORD_API coord_err_t coord_lock_txn(struct coord_lock *l,
				     const struct coord_compare *cmps,
				     size_t n_cmps,
				     const struct coord_op *then_ops,
				     size_t n_then,
				     const struct coord_op *else_ops,
				     size_t n_else,
				     struct coord_txn_result **out);

/* Is token the current grant of lock name? *current and *current_token
 * (the current grant's, 0: none; either may be NULL). */
COORD_API coord_err_t coord_lock_check(struct coord_client *c,
				       const void *name, size_t name_len,
				       uint64_t token, bool *current,
				       uint64_t *current_token);

/* A lock's holders and queue; free with coord_lock_status_free(). */
struct coord_lock_holder {
	uint64_t session;
	uint64_t token;
	bool shared;
	uint64_t held_ms;
};
struct coord_lock_waiter {
	uint64_t session;
	bool shared;
	uint64_t waited_ms;
	uint64_t ttl_left_ms;
};
struct coord_lock_status {
	uint64_t delay_left_ms;     /* lock-delay left before the next grant */
	struct coord_lock_holder *holders;
	size_t n_holders;
	struct coord_lock_waiter *waiters;  /* the first ones, FIFO order */
	size_t n_waiters_listed;
	uint64_t n_waiters;         /* all of them */
};
COORD_API coord_err_t coord_lock_status(struct coord_client *c,
					const void *name, size_t name_len,
					struct coord_lock_status **out);
COORD_API void coord_lock_status_free(struct coord_lock_status *st);

/*
 * Job queues (docs/jobs.md). enqueue(queue, payload) -> job id; a worker's
 * session claims jobs FIFO (one at a time per session and queue), each
 * claim with a token that fences its COMPLETE or FAIL: a claim whose
 * session ended (its job went back to the head of the queue, perhaps to
 * another worker) is refused with COORD_ESTALECLAIM.
 */
struct coord_job;

struct coord_job_enqueue_opts {
	const void *unique_key;     /* NULL: none; else an enqueue naming a
				     * key the queue keeps returns that job
				     * (*existed true) and adds nothing */
	size_t unique_key_len;      /* <= 256 */
	uint32_t max_attempts;      /* 0: unlimited; then: dead letter */
};

/* opts may be NULL. job_id, existed may be NULL. Errors:
 * COORD_EVALUETOOBIG (payload > 64 KiB), COORD_EQUEUEFULL,
 * COORD_ETOOMANYQUEUES, COORD_EINVAL. */
COORD_API coord_err_t coord_job_enqueue(struct coord_client *c,
					const void *queue, size_t queue_len,
					const void *payload,
					size_t payload_len,
					const struct coord_job_enqueue_opts *opts,
					uint64_t *job_id, bool *existed);

struct coord_job_claim_opts {
	bool wait;                  /* queue behind other claimers */
	unsigned timeout_ms;        /* with wait: COORD_ETIMEDOUT after it
				     * (the claim leaves the queue); 0:
				     * while the session lives */
};

/* Claims the head job of queue for session s (opts NULL: wait, no
 * timeout); *out: the claim (free it with complete, fail or
 * coord_job_free()). COORD_ENOJOBS without wait on an empty queue,
 * COORD_ETIMEDOUT, COORD_ESESSION / COORD_ESESSION_EXPIRED when the
 * session ends first, COORD_ETOOMANYWAITERS. A session holding a claim
 * on queue gets that claim again. */
COORD_API coord_err_t coord_job_claim(struct coord_session *s,
				      const void *queue, size_t queue_len,
				      const struct coord_job_claim_opts *opts,
				      struct coord_job **out);
/* The same, asynchronously: fn gets the outcome from the client's loop
 * (COORD_ECANCELED if the session or client goes first). A claim
 * granted while its timeout's cancel was on its way is returned
 * (COORD_OK), never left held unknown; a grant pushed for a claim
 * nobody waits for any more is failed back to the head of the queue.
 * After a reconnect a waiting claim is sent again (the server answers
 * with the claim if it was granted meanwhile). */
typedef void (*coord_job_fn)(void *arg, coord_err_t code,
			     struct coord_job *j);
COORD_API coord_err_t coord_job_claim_async(
	struct coord_session *s, const void *queue, size_t queue_len,
	const struct coord_job_claim_opts *opts, coord_job_fn fn, void *arg);

COORD_API uint64_t coord_job_id(const struct coord_job *j);
COORD_API uint64_t coord_job_token(const struct coord_job *j);
COORD_API uint32_t coord_job_attempts(const struct coord_job *j);
COORD_API const uint8_t *coord_job_payload(const struct coord_job *j,
					   size_t *len);

/* Completes the claimed job with result (<= 64 KiB), fenced by its
 * token: COORD_ESTALECLAIM when the claim is no longer current (nothing
 * changes), COORD_EJOBSTATE. Frees the handle whatever the outcome. */
COORD_API coord_err_t coord_job_complete(struct coord_job *j,
					 const void *result,
					 size_t result_len);
/* Gives the job back: to the head of the queue (to_tail: the tail) with
 * one attempt more, or to the dead list at its max attempts (*dead,
 * may be NULL). Fenced as complete. Frees the handle. */
COORD_API coord_err_t coord_job_fail(struct coord_job *j, bool to_tail,
				     bool *dead);
/* The same by (job id, claim token) of session s, for a claim made by
 * another process of the session (coordctl job claim, then attach). */
COORD_API coord_err_t coord_job_complete_by(struct coord_session *s,
					    const void *queue,
					    size_t queue_len, uint64_t job_id,
					    uint64_t token, const void *result,
					    size_t result_len);
COORD_API coord_err_t coord_job_fail_by(struct coord_session *s,
					const void *queue, size_t queue_len,
					uint64_t job_id, uint64_t token,
					bool to_tail, bool *dead);
/* Frees the handle only (the claim stays until its session ends).
 * coord_session_close() frees the handles of its claims too. */
COORD_API void coord_job_free(struct coord_job *j);

enum coord_job_state {
	COORD_JOB_PENDING = 1,
	COORD_JOB_CLAIMED = 2,
	COORD_JOB_DONE = 3,
	COORD_JOB_DEAD = 4,
};

struct coord_job_info {
	uint64_t id;
	enum coord_job_state state;
	uint32_t attempts;
	uint32_t max_attempts;
	uint64_t session;           /* claimed / done: its (last) claimer */
	uint64_t token;
	uint8_t *payload;           /* inspect only */
	size_t payload_len;
	uint8_t *result;            /* inspect only, done */
	size_t result_len;
	uint8_t *unique_key;        /* inspect only */
	size_t unique_key_len;
};

/* One job (COORD_ENOJOB): free with coord_job_info_free(). */
COORD_API coord_err_t coord_job_inspect(struct coord_client *c,
					const void *queue, size_t queue_len,
					uint64_t job_id,
					struct coord_job_info **out);
COORD_API void coord_job_info_free(struct coord_job_info *ji);

struct coord_job_list {
	uint64_t pending, claimed, dead, done;  /* counts of the queue */
	struct coord_job_info *jobs;    /* id, attempts, session, token */
	size_t n_jobs;
	uint64_t next;                  /* cursor of the next page; 0: none */
};

/* A page of the jobs of queue in state from cursor (0: the start), at
 * most limit (0: 1000). Free with coord_job_list_free(). */
COORD_API coord_err_t coord_job_list(struct coord_client *c,
				     const void *queue, size_t queue_len,
				     enum coord_job_state state,
				     uint64_t cursor, unsigned limit,
				     struct coord_job_list **out);
COORD_API void coord_job_list_free(struct coord_job_list *l);

/*
 * Elections. A session campaigns for an election (a name) with a value;
 * candidates are elected one at a time in FIFO order, and the leader's
 * token (the revision of its election) rises strictly per election. An
 * election handle is one candidacy of a session and then its
 * leadership: campaign returns it once elected, with an error (never
 * success) if the session ends, the timeout passes or the client goes
 * first (a leadership that raced the timeout is resigned before the
 * caller hears COORD_ETIMEDOUT). The leader's session ending elects the
 * next candidate on the servers in the same command. Its state follows
 * the session's (LEADER, JEOPARDY, LOST), as a lock's does; the "lost"
 * callback hears each worse state once, while the handle leads. Writes
 * through the handle are fenced by its token and refused locally
 * (COORD_ELOCK_LOST) once it is lost; a proclaim after losing is refused
 * by the servers (COORD_ENOTELECTED). (Tests: tests/unit/test_libcoord.c,
 * tests/cluster/election_*.sh.)
 */
struct coord_election;

enum coord_election_state {
	COORD_ELECTION_LEADER = 0,
	COORD_ELECTION_JEOPARDY = 1,
	COORD_ELECTION_LOST = 2,
};

typedef void (*coord_election_fn)(void *arg, coord_err_t code,
				  struct coord_election *e);
typedef void (*coord_election_lost_fn)(void *arg, struct coord_election *e,
				       enum coord_election_state state);

/* Campaigns (value: at most 64 KiB) and returns once elected (*out:
 * the handle, yours until coord_election_resign()); timeout_ms 0: waits
 * while the session lives. */
COORD_API coord_err_t coord_election_campaign(struct coord_session *s,
					      const void *name,
					      size_t name_len,
					      const void *value,
					      size_t value_len,
					      unsigned timeout_ms,
					      struct coord_election **out);
/* The same, asynchronously: fn gets the outcome from the client's loop
 * (COORD_ECANCELED when the session is closed or the client freed
 * first). Returns COORD_OK when it started (else fn is not called). */
COORD_API coord_err_t coord_election_campaign_async(
	struct coord_session *s, const void *name, size_t name_len,
	const void *value, size_t value_len, unsigned timeout_ms,
	coord_election_fn fn, void *arg);
COORD_API uint64_t coord_election_token(const struct coord_election *e);
COORD_API enum coord_election_state coord_election_state(
	const struct coord_election *e);
COORD_API void coord_election_set_lost_callback(struct coord_election *e,
						coord_election_lost_fn fn,
						void *arg);
/* Sets the leader's value (COORD_ENOTELECTED: not the leader any more;
 * the handle is then lost). */
COORD_API coord_err_t coord_election_proclaim(struct coord_election *e,
					      const void *value,
					      size_t value_len);
/* Steps down (the next candidate is elected) and frees the handle;
 * resigning a leadership that is gone already is COORD_OK. */
COORD_API coord_err_t coord_election_resign(struct coord_election *e);
/* A put fenced by the leader's token (see Fenced writes). */
COORD_API coord_err_t coord_election_put(struct coord_election *e,
					 const void *key, size_t key_len,
					 const void *value, size_t value_len,
					 uint64_t *revision);

/* The leader of an election: session 0 when there is none (token then
 * 0, revision the current one); else its session, token, value and the
 * revision of the change that made it so. */
struct coord_leader {
	uint64_t session;
	uint64_t token;
	uint64_t revision;
	const uint8_t *value;       /* owned: coord_leader_clear() */
	size_t value_len;
	uint64_t candidates;        /* coord_election_leader(): sessions
				     * queued behind the leader */
};
/* A linearizable read. */
COORD_API coord_err_t coord_election_leader(struct coord_client *c,
					    const void *name,
					    size_t name_len,
					    struct coord_leader *out);
COORD_API void coord_leader_clear(struct coord_leader *l);

/* Observes an election: fn gets every change (a new leader, a proclaim,
 * "no leader": session 0 with the token that ended) once, in revision
 * order, from start_revision (0: the next change), across reconnects
 * like a watch; or, once, code != COORD_OK (l NULL) when it ended
 * (COORD_ECOMPACTED: start_revision or the resume point was compacted).
 * The leader passed is valid during the call. End it with
 * coord_watch_cancel(). */
typedef void (*coord_observe_fn)(void *arg, coord_err_t code,
				 const struct coord_leader *l);
COORD_API coord_err_t coord_election_observe(struct coord_client *c,
					     const void *name,
					     size_t name_len,
					     uint64_t start_revision,
					     coord_observe_fn fn, void *arg,
					     struct coord_watch **out);

/*
 * Semaphores: at most N sessions hold a permit of semaphore name at once,
 * the others wait in FIFO order. A permit is a lock handle (struct
 * coord_lock) of the semaphore: coord_lock_release(), coord_lock_token()
 * (the permit's fencing token: its grant's revision, unique, rising per
 * semaphore), coord_lock_state() (HELD, JEOPARDY, LOST with the session)
 * and the fenced coord_lock_put/delete/txn() (the fence names the
 * semaphore and the permit's token) work on it as on a lock's.
 *
 * Every acquirer names the same N while anyone holds or waits
 * (COORD_ESEMPERMITS otherwise; nothing changes); once the semaphore is
 * empty it is gone and the next acquire may name a new N. N = 0 or above
 * COORD_SEM_PERMITS_MAX: COORD_EPERMITS. A session holds at most one
 * permit of a semaphore (acquiring again returns the same token).
 */
struct coord_sem_opts {
	bool wait;                  /* queue while all N are held; else
				     * COORD_EBUSY at once */
	unsigned timeout_ms;        /* as coord_lock_opts' */
};
/* opts NULL: wait, no timeout. Errors as coord_lock_acquire()'s, and
 * COORD_ESEMPERMITS, COORD_EPERMITS. */
COORD_API coord_err_t coord_sem_acquire(struct coord_session *s,
					const void *name, size_t name_len,
					uint64_t permits,
					const struct coord_sem_opts *opts,
					struct coord_lock **out);
COORD_API coord_err_t coord_sem_acquire_async(struct coord_session *s,
					      const void *name,
					      size_t name_len,
					      uint64_t permits,
					      const struct coord_sem_opts *opts,
					      coord_lock_fn fn, void *arg);
/* N of a permit's semaphore; 0 for a lock's handle. */
COORD_API uint64_t coord_lock_permits(const struct coord_lock *l);
/* A semaphore's N (*permits; 0: not in use), holders and queue (holders
 * and waiters never shared, delay_left_ms 0); free with
 * coord_lock_status_free(). */
COORD_API coord_err_t coord_sem_status(struct coord_client *c,
				       const void *name, size_t name_len,
				       uint64_t *permits,
				       struct coord_lock_status **out);

/* The message of a code; never NULL. */
COORD_API const char *coord_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* COORD_H */
