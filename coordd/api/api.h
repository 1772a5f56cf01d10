/*
 * coordd/api/api.h: the meaning of client requests, one file per request
 * family, and what net/ and those files share.
 *
 * net/client.c owns a client's connection: framing, TLS, the HELLO
 * exchange, its budgets and timeouts. Every decoded request after HELLO
 * goes to api_request() (dispatch.c), which hands it to its family:
 *   keys.c      put, delete, txn, compact, range
 *   watch.c     watch create / cancel, and the pushing of events
 *   members.c   status, member list / add / remove / promote, transfer
 *   register.c  exactly-once registration, idle client expiry
 * and reply.c holds what they share: answers, pushes, the requests
 * waiting on the node, proposals under a request's exactly-once identity.
 */
#ifndef COORD_COORDD_API_API_H
#define COORD_COORDD_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/net/net_int.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"

struct lock_wait;
struct req;
struct watch;

struct client {
	struct net *net;
	struct conn *conn;          /* NULL once closed */
	struct client *next;
	struct client *prev;
	bool hello;
	struct req *reqs;           /* waiting on the node */
	size_t n_reqs;
	struct watch *watches;
	size_t n_watches;
	size_t n_unsynced;          /* watches not in net->watch_idx */
	uint64_t watch_id_next;
	bool wants_leader_pushes;
	struct lease_ent *bound;    /* sessions it uses (lease.c) */
	struct lock_wait *waits;    /* its queued acquires (lock.c) */
	/* REGISTER_CLIENT token bucket (proto/limits.h). */
	uint64_t reg_tokens_ms;     /* tokens, in ms of refill time */
	uint64_t reg_last_ms;
};

struct req {
	struct client *cl;
	struct node_waiter w;
	uint32_t kind;
	uint64_t request_id;
	struct proto_range range;   /* reads: bounds copied below */
	uint8_t *bounds;
	uint64_t member_id;         /* MEMBER_ADD / REMOVE: the member */
	uint64_t arg;               /* a lease, session or token */
	uint64_t arg2;              /* JOB_LIST: the page's limit */
	uint8_t name[COORD_NAME_BYTES_MAX];     /* a lock's */
	size_t name_len;
	uint8_t secret[COORD_SECRET_BYTES_MAX]; /* SESSION_ATTACH */
	size_t secret_len;
	struct req *next;
	struct req *prev;
};

/* dispatch.c: serves one decoded request (HELLO excepted: net/client.c
 * answers it). */
void api_request(struct client *cl, const struct proto_request *rq);

/* reply.c: answers. api_send_error() with COORD_OK answers an empty
 * body ([]). */
uint64_t api_leader_hint(struct net *net);
/* COORD_ENOTLEADER with a known leader, COORD_ENOLEADER without. */
int api_not_leader_code(struct net *net);
void api_send(struct client *cl, const struct proto_response *r);
/* A success reply to (kind, request_id) with an empty body, to fill. */
void api_reply_start(struct client *cl, uint32_t kind, uint64_t request_id,
		     struct proto_response *r);
void api_send_error(struct client *cl, uint32_t kind, uint64_t request_id,
		    int code);
void api_send_kv(struct client *cl, uint32_t kind, uint64_t request_id,
		 const struct proto_reply *reply);
/* One push frame: COORD_OK, or the encoder's or the frame's error. */
int api_send_push(struct client *cl, const struct proto_push *p);

/* reply.c: requests waiting on the node (linked into cl->reqs). */
struct req *api_req_new(struct client *cl, const struct proto_request *rq);
void api_req_free(struct req *q);
/* A node_done_fn that answers the fsm's reply as a key-value reply. */
void api_write_done(void *ctx, int code, const uint8_t *reply, size_t len);
/* A node_done_fn for internal proposals (ctx: a malloc'd waiter). */
void api_internal_done(void *ctx, int code, const uint8_t *reply,
		       size_t len);
/* Proposes cmd under rq's exactly-once identity (none for a kind that
 * is not mutating); done gets the fsm's reply. Leader only: else
 * api_not_leader_code(). */
int api_propose(struct client *cl, const struct proto_request *rq,
		const struct proto_cmd *cmd, node_done_fn done);
/* The same, and *out the request waiting on it. */
int api_propose_req(struct client *cl, const struct proto_request *rq,
		    const struct proto_cmd *cmd, node_done_fn done,
		    struct req **out);
int api_propose_cmd(struct client *cl, const struct proto_request *rq,
		    const struct proto_cmd *cmd);

/* A node_done_fn that answers the fsm's reply code with an empty body. */
void api_empty_done(void *ctx, int code, const uint8_t *reply, size_t len);

/* lease.c: what this node knows of each lease besides the fsm: when it
 * applied the lease's latest keepalive, on its own clock, and which
 * connection here uses it (a session). */
struct lease_ent {
	uint64_t id;
	uint64_t ka_index;          /* Raft index of its latest keepalive */
	uint64_t ttl_ms;
	uint64_t applied_ms;        /* when that keepalive applied here */
	uint64_t due_ms;            /* the leader's next expiry check */
	size_t heap_i;
	bool session;
	bool seen;                  /* leases_resync() */
	struct client *bound;
	struct lease_ent *bnext;
	struct lease_ent *bprev;
	struct lease_ent *hnext;
	struct lock_wait *waits;    /* lock.c: its queued acquires here */
};
int leases_init(struct net *net);
struct lease_ent *lease_find(struct net *net, uint64_t id);
/* TTL (no drift) has passed since its keepalive applied here. */
bool lease_overdue(struct net *net, const struct lease_ent *e);
uint64_t lease_ttl_left_ms(struct net *net, const struct lease_ent *e);
/* A session that cl opened or attached on this node. */
bool session_is_bound(struct client *cl, uint64_t session);
/* session_is_bound(), or rq a retry whose reply the client table keeps
 * (the fsm answers it with that reply); else rq answered COORD_ESESSION
 * (false). */
bool session_ok(struct client *cl, const struct proto_request *rq,
		uint64_t session);
void leases_client_closed(struct client *cl);
/* sess8: SESSION_KEEPALIVE_MANY. */
void session_keepalive_many(struct client *cl, const struct proto_request *rq);
void lease_grant(struct client *cl, const struct proto_request *rq);
void lease_keepalive(struct client *cl, const struct proto_request *rq);
/* LEASE_REVOKE and SESSION_CLOSE. */
void lease_revoke(struct client *cl, const struct proto_request *rq);
void lease_ttl(struct client *cl, const struct proto_request *rq);
void lease_list(struct client *cl, const struct proto_request *rq);
void session_open(struct client *cl, const struct proto_request *rq);
void session_keepalive(struct client *cl, const struct proto_request *rq);
void session_attach(struct client *cl, const struct proto_request *rq);

/* lock.c */
void lock_acquire(struct client *cl, const struct proto_request *rq);
void lock_release(struct client *cl, const struct proto_request *rq);
/* perf8: LOCK_RELEASE_PUT, the holder's last write and its release. */
void lock_release_put(struct client *cl, const struct proto_request *rq);
/* LOCK_CHECK, LOCK_STATUS, SEM_STATUS. */
void lock_read(struct client *cl, const struct proto_request *rq);
void locks_applied(struct net *net, const struct fsm_result *res);
void locks_session_touched(struct net *net, struct lease_ent *e);
void locks_session_gone(struct net *net, struct lease_ent *e);
void locks_session_resync(struct net *net, struct lease_ent *e);
void locks_client_closed(struct client *cl);
/* lock.c, for every queue kind (locks, job claims): leaves a wait for the
 * grant of q's queued request (q->arg: the session, q->name: the queue's
 * name; one per session and queue: a second takes the wait over), pushed
 * as PUSH_GRANT when the fsm grants it. */
int queue_wait_add(struct client *cl, const struct req *q, uint8_t kind);
/* The token session holds on queue (kind, name), 0: none. */
uint64_t queue_held_token(struct net *net, uint8_t kind, uint64_t session,
			  struct proto_bytes name);

void job_request(struct client *cl, const struct proto_request *rq);

/* election.c */
void election_campaign(struct client *cl, const struct proto_request *rq);
/* ELECTION_PROCLAIM, ELECTION_RESIGN. */
void election_write(struct client *cl, const struct proto_request *rq);
void election_leader(struct client *cl, const struct proto_request *rq);

/* watch.c: ELECTION_OBSERVE, a watch on the election's key whose events
 * are pushed as PUSH_ELECTION. */
void watch_observe(struct client *cl, const struct proto_request *rq);
/* Shared by the acquires of locks, semaphores (sem.c) and campaigns
 * (election.c): the cluster deadline of a wait (0: none), and the
 * proposal of cmd for session and name with the wait machinery above
 * (granted now, or a wait for the PUSH_GRANT; withheld grants). */
uint64_t lock_deadline_ms(struct net *net, bool wait, uint64_t timeout_ms);
void lock_propose_acquire(struct client *cl, const struct proto_request *rq,
			  const struct proto_cmd *cmd, uint64_t session,
			  struct proto_bytes name);

/* sem.c */
void sem_acquire(struct client *cl, const struct proto_request *rq);

/* The families. */
void keys_write(struct client *cl, const struct proto_request *rq);
/* The configured key and value limits for a write; false: rq was
 * answered with the error. */
bool keys_limits_ok(struct client *cl, const struct proto_request *rq,
		    const struct proto_cmd *cmd);
void keys_range(struct client *cl, const struct proto_request *rq);
void watch_create(struct client *cl, const struct proto_request *rq);
void watch_cancel(struct client *cl, const struct proto_request *rq);
/* Ends every watch of cl (its connection closed). */
void watches_close(struct client *cl);
void members_status(struct client *cl, const struct proto_request *rq);
void members_list(struct client *cl, const struct proto_request *rq);
void members_change(struct client *cl, const struct proto_request *rq);
void members_transfer(struct client *cl, const struct proto_request *rq);
void register_client(struct client *cl, const struct proto_request *rq);
/* quota.c (quota13): ALARM_LIST / ALARM_DISARM. */
void quota_request(struct client *cl, const struct proto_request *rq);

/* net/client.c: frees cl once its connection is closed and no request
 * of it waits on the node. */
void client_maybe_free(struct client *cl);

#endif /* COORD_COORDD_API_API_H */
