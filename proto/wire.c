/*
 * proto/wire.c: the codec of the client protocol (proto/wire.h).
 *
 * Each kind is a row of a table: its flags and the fields of its request,
 * reply body and push, each field a type, an offset into the message
 * struct and the bounds of its value. One encoder and one decoder walk
 * the rows, so every kind gets the same strictness and a new kind is a
 * new row, not new code.
 */
#include "proto/wire.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/wire_io.h"

enum wfield_type {
	WF_U64,         /* uint64_t in [min, max] */
	WF_U32,         /* uint32_t in [min, max] */
	WF_U8,          /* uint8_t in [min, max] */
	WF_CODE,        /* int, a COORD_* code: [0, INT_MAX] */
	WF_BOOL,        /* bool */
	WF_BYTES,       /* struct proto_bytes of at most max bytes */
	WF_U64S,        /* struct proto_u64_list of at most max */
	WF_BYTESS,      /* struct proto_bytes_list, each <= COORD_KEY_BYTES_MAX */
	WF_MEMBERS,     /* struct proto_member_list */
	WF_TXN,         /* struct proto_cmd of type PROTO_CMD_TXN */
	WF_KVREPLY,     /* struct proto_reply of type min */
	WF_EVENTS,      /* struct proto_event_list */
	WF_HOLDERS,     /* struct proto_lock_holder_list */
	WF_WAITERS,     /* struct proto_lock_waiter_list of at most max */
	WF_JOBS,        /* struct proto_job_item_list of at most max */
};

struct wfield {
	uint8_t type;
	size_t off;
	uint64_t min;
	uint64_t max;
};

#define F_(type, base, field, lo, hi) { (type), offsetof(base, field), (lo), (hi) }
#define RQ(t, f, lo, hi) F_(t, struct proto_request, u.f, lo, hi)
#define RP(t, f, lo, hi) F_(t, struct proto_response, u.f, lo, hi)
#define PU(t, f, lo, hi) F_(t, struct proto_push, u.f, lo, hi)
#define ANY UINT64_MAX
#define NAME_ COORD_NAME_BYTES_MAX
#define VALUE_ COORD_VALUE_BYTES_MAX
#define LIST_(a) (a), sizeof(a) / sizeof((a)[0])

/* Keys and values of KV requests are bounded only by the frame: the fsm
 * answers an oversized one with COORD_EKEYTOOBIG / COORD_EVALUETOOBIG,
 * which says more than COORD_EMALFORMED. */
static const struct wfield rq_hello[] = {
	RQ(WF_U64, hello.version, 0, ANY),
	RQ(WF_BYTES, hello.client_name, 0, NAME_),
	RQ(WF_U64, hello.cluster_id, 0, ANY),
};
static const struct wfield rq_put[] = {
	RQ(WF_BYTES, put.key, 0, ANY),
	RQ(WF_BYTES, put.value, 0, ANY),
	RQ(WF_U64, put.lease, 0, ANY),
	RQ(WF_BOOL, put.prev_kv, 0, 0),
};
static const struct wfield rq_range[] = {
	RQ(WF_BYTES, range.range.key, 0, ANY),
	RQ(WF_BYTES, range.range.end, 0, ANY),
	RQ(WF_U32, range.range.flags, 0, PROTO_RANGE_FLAGS_ALL),
	RQ(WF_U64, range.range.limit, 0, ANY),
	RQ(WF_U64, range.range.revision, 0, ANY),
	RQ(WF_U8, range.range.sort_order, 0, PROTO_SORT_ORDER_LAST),
	RQ(WF_U8, range.range.sort_target, 0, PROTO_SORT_TARGET_LAST),
	RQ(WF_BOOL, range.serializable, 0, 0),
};
static const struct wfield rq_delete[] = {
	RQ(WF_BYTES, del.key, 0, ANY),
	RQ(WF_BYTES, del.end, 0, ANY),
	RQ(WF_U32, del.flags, 0, PROTO_DELETE_FLAGS_ALL),
	RQ(WF_BOOL, del.prev_kv, 0, 0),
};
static const struct wfield rq_txn[] = {
	RQ(WF_TXN, txn, PROTO_CMD_TXN, PROTO_CMD_TXN),
};
static const struct wfield rq_compact[] = {
	RQ(WF_U64, compact.revision, 0, ANY),
};
static const struct wfield rq_watch_create[] = {
	RQ(WF_BYTES, watch_create.key, 0, ANY),
	RQ(WF_BYTES, watch_create.end, 0, ANY),
	RQ(WF_U32, watch_create.flags, 0, PROTO_DELETE_FLAGS_ALL),
	RQ(WF_U64, watch_create.start_revision, 0, ANY),
	RQ(WF_BOOL, watch_create.prev_kv, 0, 0),
};
static const struct wfield rq_watch_cancel[] = {
	RQ(WF_U64, watch_cancel.watch_id, 0, ANY),
};
static const struct wfield rq_lease_grant[] = {
	RQ(WF_U64, lease_grant.lease, 0, ANY),
	RQ(WF_U64, lease_grant.ttl_ms, 1, ANY),
};
static const struct wfield rq_lease[] = {
	RQ(WF_U64, lease.lease, 0, ANY),
};
static const struct wfield rq_lease_ttl[] = {
	RQ(WF_U64, lease_ttl.lease, 0, ANY),
	RQ(WF_BOOL, lease_ttl.keys, 0, 0),
	RQ(WF_BYTES, lease_ttl.after, 0, ANY),
};
static const struct wfield rq_session_open[] = {
	RQ(WF_U64, session_open.ttl_ms, 1, ANY),
};
static const struct wfield rq_session[] = {
	RQ(WF_U64, session.session, 0, ANY),
};
static const struct wfield rq_session_attach[] = {
	RQ(WF_U64, session_attach.session, 0, ANY),
	RQ(WF_BYTES, session_attach.secret, 0, COORD_SECRET_BYTES_MAX),
};
static const struct wfield rq_session_many[] = {
	RQ(WF_U64S, session_many.sessions, 0, COORD_KEEPALIVE_SESSIONS_MAX),
};
static const struct wfield rq_lock_acquire[] = {
	RQ(WF_BYTES, lock_acquire.name, 0, NAME_),
	RQ(WF_U64, lock_acquire.session, 0, ANY),
	RQ(WF_U8, lock_acquire.mode, 0, PROTO_LOCK_MODE_LAST),
	RQ(WF_BOOL, lock_acquire.wait, 0, 0),
	RQ(WF_U64, lock_acquire.timeout_ms, 0, ANY),
	RQ(WF_U64, lock_acquire.lock_delay_ms, 0, ANY),
};
static const struct wfield rq_release[] = {
	RQ(WF_BYTES, release.name, 0, NAME_),
	RQ(WF_U64, release.session, 0, ANY),
	RQ(WF_U64, release.token, 0, ANY),
};
static const struct wfield rq_release_put[] = {
	RQ(WF_BYTES, release_put.name, 0, NAME_),
	RQ(WF_U64, release_put.session, 0, ANY),
	RQ(WF_U64, release_put.token, 1, ANY),
	RQ(WF_BYTES, release_put.key, 0, ANY),
	RQ(WF_BYTES, release_put.value, 0, ANY),
	RQ(WF_U64, release_put.lease, 0, ANY),
};
static const struct wfield rq_lock_check[] = {
	RQ(WF_BYTES, lock_check.name, 0, NAME_),
	RQ(WF_U64, lock_check.token, 0, ANY),
};
static const struct wfield rq_lock_status[] = {
	RQ(WF_BYTES, lock_status.name, 0, NAME_),
};
static const struct wfield rq_sem_acquire[] = {
	RQ(WF_BYTES, sem_acquire.name, 0, NAME_),
	RQ(WF_U64, sem_acquire.session, 0, ANY),
	RQ(WF_U64, sem_acquire.permits, 0, ANY),  /* the fsm: EPERMITS */
	RQ(WF_BOOL, sem_acquire.wait, 0, 0),
	RQ(WF_U64, sem_acquire.timeout_ms, 0, ANY),
};
static const struct wfield rq_campaign[] = {
	RQ(WF_BYTES, campaign.name, 0, NAME_),
	RQ(WF_U64, campaign.session, 0, ANY),
	RQ(WF_BYTES, campaign.value, 0, VALUE_),
	RQ(WF_U64, campaign.timeout_ms, 0, ANY),
};
static const struct wfield rq_election[] = {
	RQ(WF_BYTES, election.name, 0, NAME_),
};
static const struct wfield rq_observe[] = {
	RQ(WF_BYTES, election.name, 0, NAME_),
	RQ(WF_U64, election.start_revision, 0, ANY),
};
static const struct wfield rq_proclaim[] = {
	RQ(WF_BYTES, proclaim.name, 0, NAME_),
	RQ(WF_U64, proclaim.session, 0, ANY),
	RQ(WF_U64, proclaim.token, 0, ANY),
	RQ(WF_BYTES, proclaim.value, 0, VALUE_),
};
static const struct wfield rq_job_enqueue[] = {
	RQ(WF_BYTES, job_enqueue.queue, 0, NAME_),
	RQ(WF_BYTES, job_enqueue.job, 0, ANY),
	RQ(WF_BYTES, job_enqueue.unique_key, 0, COORD_JOB_UNIQUE_BYTES_MAX),
	RQ(WF_U32, job_enqueue.max_attempts, 0, UINT32_MAX),
};
static const struct wfield rq_job_claim[] = {
	RQ(WF_BYTES, job_claim.queue, 0, NAME_),
	RQ(WF_U64, job_claim.session, 0, ANY),
	RQ(WF_BOOL, job_claim.wait, 0, 0),
	RQ(WF_U64, job_claim.timeout_ms, 0, ANY),
};
static const struct wfield rq_job_complete[] = {
	RQ(WF_BYTES, job_complete.queue, 0, NAME_),
	RQ(WF_U64, job_complete.job_id, 0, ANY),
	RQ(WF_U64, job_complete.token, 0, ANY),
	RQ(WF_BYTES, job_complete.result, 0, ANY),
	RQ(WF_U64, job_complete.session, 0, ANY),
};
static const struct wfield rq_job_fail[] = {
	RQ(WF_BYTES, job_complete.queue, 0, NAME_),
	RQ(WF_U64, job_complete.job_id, 0, ANY),
	RQ(WF_U64, job_complete.token, 0, ANY),
	RQ(WF_U64, job_complete.session, 0, ANY),
	RQ(WF_BOOL, job_complete.to_tail, 0, 0),
};
static const struct wfield rq_job_list[] = {
	RQ(WF_BYTES, job_list.queue, 0, NAME_),
	RQ(WF_U8, job_list.state, PROTO_JOB_PENDING, PROTO_JOB_STATE_LAST),
	RQ(WF_U64, job_list.cursor, 0, ANY),
	RQ(WF_U64, job_list.limit, 0, COORD_JOB_LIST_MAX),
};
static const struct wfield rq_job_inspect[] = {
	RQ(WF_BYTES, job_inspect.queue, 0, NAME_),
	RQ(WF_U64, job_inspect.job_id, 0, ANY),
};
static const struct wfield rq_member_add[] = {
	RQ(WF_U64, member_add.member.id, 1, ANY),
	RQ(WF_BYTES, member_add.member.name, 0, NAME_),
	RQ(WF_BYTES, member_add.member.peer_addr, 0, COORD_ADDR_BYTES_MAX),
	RQ(WF_BYTES, member_add.member.client_addr, 0, COORD_ADDR_BYTES_MAX),
	RQ(WF_BOOL, member_add.member.learner, 0, 0),
};
static const struct wfield rq_member[] = {
	RQ(WF_U64, member.id, 0, ANY),
};

static const struct wfield rp_hello[] = {
	RP(WF_U64, hello.version, 0, ANY),
	RP(WF_U64, hello.node_id, 0, ANY),
	RP(WF_BYTES, hello.node_name, 0, NAME_),
	RP(WF_U64, hello.cluster_id, 0, ANY),
};
static const struct wfield rp_put[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_PUT, 0),
};
static const struct wfield rp_range[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_RANGE, 0),
};
static const struct wfield rp_delete[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_DELETE, 0),
};
static const struct wfield rp_txn[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_TXN, 0),
};
static const struct wfield rp_compact[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_COMPACT, 0),
};
/* quota13 */
static const struct wfield rp_alarm_list[] = {
	RP(WF_U64, alarm.alarms, 0, ANY),
	RP(WF_U64, alarm.alarm_index, 0, ANY),
	RP(WF_U64, alarm.quota_bytes, 0, ANY),
	RP(WF_U64, alarm.kv_bytes, 0, ANY),
	RP(WF_U64, alarm.coord_quota_bytes, 0, ANY),
	RP(WF_U64, alarm.coord_bytes, 0, ANY),
};
static const struct wfield rp_alarm_disarm[] = {
	RP(WF_KVREPLY, kv, PROTO_CMD_ALARM_DISARM, 0),
};
static const struct wfield rp_watch[] = {
	RP(WF_U64, watch.watch_id, 0, ANY),
	RP(WF_U64, watch.start_revision, 0, ANY),
};
static const struct wfield rp_lease[] = {
	RP(WF_U64, lease.lease, 0, ANY),
	RP(WF_U64, lease.ttl_ms, 0, ANY),
};
static const struct wfield rp_lease_ttl[] = {
	RP(WF_U64, lease_ttl.lease, 0, ANY),
	RP(WF_U64, lease_ttl.ttl_ms, 0, ANY),
	RP(WF_U64, lease_ttl.granted_ttl_ms, 0, ANY),
	RP(WF_BYTESS, lease_ttl.keys, 0, ANY),
	RP(WF_BOOL, lease_ttl.more, 0, 0),
};
static const struct wfield rp_lease_list[] = {
	RP(WF_U64S, lease_list.leases, 0, ANY),
};
static const struct wfield rp_session[] = {
	RP(WF_U64, session.session, 0, ANY),
	RP(WF_BYTES, session.secret, 0, COORD_SECRET_BYTES_MAX),
	RP(WF_U64, session.lease, 0, ANY),
	RP(WF_U64, session.ttl_ms, 0, ANY),
};
static const struct wfield rp_session_many[] = {
	RP(WF_U64S, session_many.codes, 0, COORD_KEEPALIVE_SESSIONS_MAX),
	RP(WF_U64S, session_many.ttls, 0, COORD_KEEPALIVE_SESSIONS_MAX),
};
static const struct wfield rp_grant[] = {
	RP(WF_BOOL, grant.granted, 0, 0),
	RP(WF_U64, grant.token, 0, ANY),
};
static const struct wfield rp_lock_check[] = {
	RP(WF_BOOL, lock_check.current, 0, 0),
	RP(WF_U64, lock_check.token, 0, ANY),
};
static const struct wfield rp_lock_status[] = {
	RP(WF_U64, lock_status.delay_left_ms, 0, ANY),
	RP(WF_HOLDERS, lock_status.holders, 0, ANY),
	RP(WF_WAITERS, lock_status.waiters, 0, COORD_STATUS_WAITERS_MAX),
	RP(WF_U64, lock_status.n_waiters, 0, ANY),
};
static const struct wfield rp_sem_status[] = {
	RP(WF_U64, sem_status.permits, 0, ANY),
	RP(WF_HOLDERS, sem_status.holders, 0, ANY),
	RP(WF_WAITERS, sem_status.waiters, 0, COORD_STATUS_WAITERS_MAX),
	RP(WF_U64, sem_status.n_waiters, 0, ANY),
};
static const struct wfield rp_leader[] = {
	RP(WF_U64, leader.session, 0, ANY),
	RP(WF_U64, leader.token, 0, ANY),
	RP(WF_BYTES, leader.value, 0, VALUE_),
	RP(WF_U64, leader.revision, 0, ANY),
	RP(WF_U64, leader.candidates, 0, ANY),
};
static const struct wfield rp_job_enqueue[] = {
	RP(WF_U64, job_enqueue.job_id, 0, ANY),
	RP(WF_BOOL, job_enqueue.existed, 0, 0),
};
static const struct wfield rp_job_fail[] = {
	RP(WF_BOOL, job_fail.dead, 0, 0),
};
static const struct wfield rp_job_list[] = {
	RP(WF_U64, job_list.pending, 0, ANY),
	RP(WF_U64, job_list.claimed, 0, ANY),
	RP(WF_U64, job_list.dead, 0, ANY),
	RP(WF_U64, job_list.done, 0, ANY),
	RP(WF_JOBS, job_list.jobs, 0, COORD_JOB_LIST_MAX),
	RP(WF_U64, job_list.next, 0, ANY),
};
static const struct wfield rp_job_inspect[] = {
	RP(WF_U8, job_inspect.state, PROTO_JOB_PENDING, PROTO_JOB_STATE_LAST),
	RP(WF_U64, job_inspect.attempts, 0, ANY),
	RP(WF_U64, job_inspect.max_attempts, 0, ANY),
	RP(WF_U64, job_inspect.session, 0, ANY),
	RP(WF_U64, job_inspect.token, 0, ANY),
	RP(WF_BYTES, job_inspect.job, 0, COORD_JOB_PAYLOAD_BYTES_MAX),
	RP(WF_BYTES, job_inspect.result, 0, COORD_JOB_RESULT_BYTES_MAX),
	RP(WF_BYTES, job_inspect.unique_key, 0, COORD_JOB_UNIQUE_BYTES_MAX),
};
static const struct wfield rp_register_client[] = {
	RP(WF_U64, register_client.client_id, 1, ANY),
};
static const struct wfield rp_job_claim[] = {
	RP(WF_BOOL, job_claim.granted, 0, 0),
	RP(WF_U64, job_claim.job_id, 0, ANY),
	RP(WF_U64, job_claim.token, 0, ANY),
	RP(WF_BYTES, job_claim.job, 0, VALUE_),
	RP(WF_U64, job_claim.attempts, 0, ANY),
};
static const struct wfield rp_member_list[] = {
	RP(WF_MEMBERS, member_list.members, 0, COORD_MEMBERS_MAX),
};
static const struct wfield rp_status[] = {
	RP(WF_U64, status.version, 0, ANY),
	RP(WF_U64, status.node_id, 0, ANY),
	RP(WF_BYTES, status.node_name, 0, NAME_),
	RP(WF_U64, status.cluster_id, 0, ANY),
	RP(WF_U64, status.leader, 0, ANY),
	RP(WF_U64, status.term, 0, ANY),
	RP(WF_U64, status.revision, 0, ANY),
	RP(WF_U64, status.applied_index, 0, ANY),
	RP(WF_U64, status.commit_index, 0, ANY),
	RP(WF_U64, status.state_hash, 0, ANY),
	RP(WF_U64, status.alarms, 0, ANY),
};

static const struct wfield pu_watch_events[] = {
	PU(WF_U64, watch_events.watch_id, 0, ANY),
	PU(WF_EVENTS, watch_events.events, 0, 0),
};
static const struct wfield pu_watch_canceled[] = {
	PU(WF_U64, watch_canceled.watch_id, 0, ANY),
	PU(WF_CODE, watch_canceled.code, 0, INT_MAX),
	PU(WF_U64, watch_canceled.compact_revision, 0, ANY),
};
static const struct wfield pu_grant[] = {
	PU(WF_U32, grant.request_kind, 1, PROTO_KIND_LAST),
	PU(WF_U64, grant.request_id, 0, ANY),
	PU(WF_BYTES, grant.name, 0, NAME_),
	PU(WF_U64, grant.session, 0, ANY),
	PU(WF_U64, grant.token, 0, ANY),
	PU(WF_U64, grant.job_id, 0, ANY),
	PU(WF_BYTES, grant.job, 0, VALUE_),
	PU(WF_U64, grant.attempts, 0, ANY),
};
static const struct wfield pu_session_lost[] = {
	PU(WF_U64, session_lost.session, 0, ANY),
	PU(WF_CODE, session_lost.code, 0, INT_MAX),
};
static const struct wfield pu_leader_change[] = {
	PU(WF_U64, leader_change.leader, 0, ANY),
	PU(WF_U64, leader_change.term, 0, ANY),
};
static const struct wfield pu_election[] = {
	PU(WF_U64, election.watch_id, 0, ANY),
	PU(WF_BYTES, election.name, 0, NAME_),
	PU(WF_U64, election.session, 0, ANY),
	PU(WF_U64, election.token, 0, ANY),
	PU(WF_BYTES, election.value, 0, VALUE_),
	PU(WF_U64, election.revision, 0, ANY),
};

#define K_MUT 1u        /* carries client_id, sequence, ack */
#define K_FENCED 2u     /* carries fences */
#define K_OPEN 4u       /* may carry fields a newer version added */

struct wkind {
	const char *name;
	unsigned flags;
	const struct wfield *req;
	size_t n_req;
	const struct wfield *rep;
	size_t n_rep;
};

#define NONE_ NULL, 0

/* Indexed by enum proto_kind. */
static const struct wkind kinds[PROTO_KIND_LAST + 1] = {
	[PROTO_HELLO] = { "HELLO", K_OPEN, LIST_(rq_hello), LIST_(rp_hello) },
	[PROTO_PUT] = { "PUT", K_MUT | K_FENCED, LIST_(rq_put), LIST_(rp_put) },
	[PROTO_RANGE] = { "RANGE", 0, LIST_(rq_range), LIST_(rp_range) },
	[PROTO_DELETE] = { "DELETE", K_MUT | K_FENCED, LIST_(rq_delete),
			   LIST_(rp_delete) },
	[PROTO_TXN] = { "TXN", K_MUT | K_FENCED, LIST_(rq_txn), LIST_(rp_txn) },
	[PROTO_COMPACT] = { "COMPACT", K_MUT, LIST_(rq_compact),
			    LIST_(rp_compact) },
	[PROTO_WATCH_CREATE] = { "WATCH_CREATE", 0, LIST_(rq_watch_create),
				 LIST_(rp_watch) },
	[PROTO_WATCH_CANCEL] = { "WATCH_CANCEL", 0, LIST_(rq_watch_cancel),
				 NONE_ },
	[PROTO_LEASE_GRANT] = { "LEASE_GRANT", K_MUT, LIST_(rq_lease_grant),
				LIST_(rp_lease) },
	[PROTO_LEASE_KEEPALIVE] = { "LEASE_KEEPALIVE", 0, LIST_(rq_lease),
				    LIST_(rp_lease) },
	[PROTO_LEASE_REVOKE] = { "LEASE_REVOKE", K_MUT, LIST_(rq_lease),
				 NONE_ },
	[PROTO_LEASE_TTL] = { "LEASE_TTL", 0, LIST_(rq_lease_ttl),
			      LIST_(rp_lease_ttl) },
	[PROTO_LEASE_LIST] = { "LEASE_LIST", 0, NONE_, LIST_(rp_lease_list) },
	[PROTO_SESSION_OPEN] = { "SESSION_OPEN", K_MUT, LIST_(rq_session_open),
				 LIST_(rp_session) },
	[PROTO_SESSION_KEEPALIVE] = { "SESSION_KEEPALIVE", 0,
				      LIST_(rq_session), LIST_(rp_session) },
	[PROTO_SESSION_CLOSE] = { "SESSION_CLOSE", K_MUT, LIST_(rq_session),
				  NONE_ },
	[PROTO_SESSION_ATTACH] = { "SESSION_ATTACH", 0,
				   LIST_(rq_session_attach), LIST_(rp_session) },
	[PROTO_LOCK_ACQUIRE] = { "LOCK_ACQUIRE", K_MUT, LIST_(rq_lock_acquire),
				 LIST_(rp_grant) },
	[PROTO_LOCK_RELEASE] = { "LOCK_RELEASE", K_MUT, LIST_(rq_release),
				 NONE_ },
	[PROTO_LOCK_CHECK] = { "LOCK_CHECK", 0, LIST_(rq_lock_check),
			       LIST_(rp_lock_check) },
	[PROTO_SEM_ACQUIRE] = { "SEM_ACQUIRE", K_MUT, LIST_(rq_sem_acquire),
				LIST_(rp_grant) },
	[PROTO_SEM_RELEASE] = { "SEM_RELEASE", K_MUT, LIST_(rq_release),
				NONE_ },
	[PROTO_ELECTION_CAMPAIGN] = { "ELECTION_CAMPAIGN", K_MUT,
				      LIST_(rq_campaign), LIST_(rp_grant) },
	[PROTO_ELECTION_LEADER] = { "ELECTION_LEADER", 0, LIST_(rq_election),
				    LIST_(rp_leader) },
	[PROTO_ELECTION_OBSERVE] = { "ELECTION_OBSERVE", 0,
				     LIST_(rq_observe), LIST_(rp_watch) },
	[PROTO_ELECTION_PROCLAIM] = { "ELECTION_PROCLAIM", K_MUT,
				      LIST_(rq_proclaim), NONE_ },
	[PROTO_ELECTION_RESIGN] = { "ELECTION_RESIGN", K_MUT,
				    LIST_(rq_release), NONE_ },
	[PROTO_JOB_ENQUEUE] = { "JOB_ENQUEUE", K_MUT, LIST_(rq_job_enqueue),
				LIST_(rp_job_enqueue) },
	[PROTO_JOB_CLAIM] = { "JOB_CLAIM", K_MUT, LIST_(rq_job_claim),
			      LIST_(rp_job_claim) },
	[PROTO_JOB_COMPLETE] = { "JOB_COMPLETE", K_MUT,
				 LIST_(rq_job_complete), NONE_ },
	[PROTO_MEMBER_LIST] = { "MEMBER_LIST", 0, NONE_,
				LIST_(rp_member_list) },
	[PROTO_MEMBER_ADD] = { "MEMBER_ADD", K_MUT, LIST_(rq_member_add),
			       NONE_ },
	[PROTO_MEMBER_REMOVE] = { "MEMBER_REMOVE", K_MUT, LIST_(rq_member),
				  NONE_ },
	[PROTO_MEMBER_PROMOTE] = { "MEMBER_PROMOTE", K_MUT, LIST_(rq_member),
				   NONE_ },
	[PROTO_STATUS] = { "STATUS", 0, NONE_, LIST_(rp_status) },
	[PROTO_TRANSFER_LEADER] = { "TRANSFER_LEADER", 0, LIST_(rq_member),
				    NONE_ },
	[PROTO_REGISTER_CLIENT] = { "REGISTER_CLIENT", 0, NONE_,
				    LIST_(rp_register_client) },
	[PROTO_LOCK_STATUS] = { "LOCK_STATUS", 0, LIST_(rq_lock_status),
				LIST_(rp_lock_status) },
	[PROTO_SESSION_KEEPALIVE_MANY] = { "SESSION_KEEPALIVE_MANY", 0,
					   LIST_(rq_session_many),
					   LIST_(rp_session_many) },
	[PROTO_LOCK_RELEASE_PUT] = { "LOCK_RELEASE_PUT", K_MUT,
				     LIST_(rq_release_put), LIST_(rp_put) },
	[PROTO_JOB_FAIL] = { "JOB_FAIL", K_MUT, LIST_(rq_job_fail),
			     LIST_(rp_job_fail) },
	[PROTO_JOB_LIST] = { "JOB_LIST", 0, LIST_(rq_job_list),
			     LIST_(rp_job_list) },
	[PROTO_JOB_INSPECT] = { "JOB_INSPECT", 0, LIST_(rq_job_inspect),
				LIST_(rp_job_inspect) },
	[PROTO_SEM_STATUS] = { "SEM_STATUS", 0, LIST_(rq_lock_status),
			       LIST_(rp_sem_status) },
	/* quota13 */
	[PROTO_ALARM_LIST] = { "ALARM_LIST", 0, NONE_, LIST_(rp_alarm_list) },
	[PROTO_ALARM_DISARM] = { "ALARM_DISARM", K_MUT, NONE_,
				 LIST_(rp_alarm_disarm) },
};

/* Indexed by kind - PROTO_PUSH_FIRST; the fields are in rep. */
static const struct wkind pushes[PROTO_PUSH_LAST - PROTO_PUSH_FIRST + 1] = {
	{ "PUSH_WATCH_EVENTS", 0, NONE_, LIST_(pu_watch_events) },
	{ "PUSH_WATCH_CANCELED", 0, NONE_, LIST_(pu_watch_canceled) },
	{ "PUSH_GRANT", 0, NONE_, LIST_(pu_grant) },
	{ "PUSH_SESSION_LOST", 0, NONE_, LIST_(pu_session_lost) },
	{ "PUSH_LEADER_CHANGE", 0, NONE_, LIST_(pu_leader_change) },
	{ "PUSH_ELECTION", 0, NONE_, LIST_(pu_election) },
};

static const struct wkind *kind_of(uint64_t kind)
{
	/* Kinds are reserved in ranges per primitive: a number of a range
	 * with no row (yet) is unknown. */
	if (kind >= 1 && kind <= PROTO_KIND_LAST && kinds[kind].name != NULL)
		return &kinds[kind];
	return NULL;
}

static const struct wkind *push_of(uint64_t kind)
{
	if (kind >= PROTO_PUSH_FIRST && kind <= PROTO_PUSH_LAST)
		return &pushes[kind - PROTO_PUSH_FIRST];
	return NULL;
}

bool proto_kind_is_mutating(uint32_t kind)
{
	const struct wkind *k = kind_of(kind);

	return k != NULL && (k->flags & K_MUT) != 0;
}

bool proto_kind_is_fenced(uint32_t kind)
{
	const struct wkind *k = kind_of(kind);

	return k != NULL && (k->flags & K_FENCED) != 0;
}

uint8_t proto_request_queue_kind(uint32_t request_kind)
{
	switch (request_kind) {
	case PROTO_SEM_ACQUIRE:
		return PROTO_QUEUE_SEM;
	case PROTO_ELECTION_CAMPAIGN:
		return PROTO_QUEUE_ELECTION;
	}
	return PROTO_QUEUE_LOCK;
}

const char *proto_kind_name(uint32_t kind)
{
	const struct wkind *k = kind_of(kind);

	if (k == NULL)
		k = push_of(kind);
	return k == NULL ? "?" : k->name;
}

/*
 * Fields.
 */

/* The minimum encoded bytes of a list element, to bound allocations. */
#define MIN_FENCE_BYTES 4       /* [bin"", 0] */
#define MIN_MEMBER_BYTES 9      /* [1, bin"", bin"", bin"", false] */
#define MIN_HOLDER_BYTES 5      /* [0, 0, 0, 0] */
#define MIN_JOB_ITEM_BYTES 5    /* [0, 0, 0, 0] */
#define MIN_WAITER_BYTES 5      /* [0, 0, 0, 0] */

#define AT(base, f, type) ((type *)(void *)((char *)(base) + (f)->off))
#define AT_C(base, f, type) \
	((const type *)(const void *)((const char *)(base) + (f)->off))

static void put_member(struct wio_out *w, const struct proto_member *m)
{
	if (m->id == 0)
		wio_put_fail(w, COORD_EINVAL);
	wio_put_array(w, 6);
	wio_put_uint(w, m->id);
	wio_put_bytes(w, m->name, NAME_);
	wio_put_bytes(w, m->peer_addr, COORD_ADDR_BYTES_MAX);
	wio_put_bytes(w, m->client_addr, COORD_ADDR_BYTES_MAX);
	wio_put_bool(w, m->learner);
	wio_put_bytes(w, m->http_addr, COORD_ADDR_BYTES_MAX);
}

static bool get_member(struct wio_in *r, struct proto_member *m)
{
	uint64_t id;
	uint32_t n;

	/* 5 fields: a server from before http_addr. */
	m->http_addr = proto_bytes_make(NULL, 0);
	if (!(wio_get_array(r, &n) &&
	      (n == 5 || n == 6 || wio_fail(r, COORD_EMALFORMED)) &&
	      wio_get_uint(r, 1, ANY, &id) &&
	      wio_get_bytes(r, NAME_, &m->name) &&
	      wio_get_bytes(r, COORD_ADDR_BYTES_MAX, &m->peer_addr) &&
	      wio_get_bytes(r, COORD_ADDR_BYTES_MAX, &m->client_addr) &&
	      wio_get_bool(r, &m->learner) &&
	      (n == 5 || wio_get_bytes(r, COORD_ADDR_BYTES_MAX, &m->http_addr))))
		return false;
	m->id = id;
	return true;
}

/* LOCK_STATUS entries: [session, token, mode, held_ms] and [session,
 * mode, waited_ms, ttl_left_ms]. */
static void put_holder(struct wio_out *w, const struct proto_lock_holder *h)
{
	if (h->mode > PROTO_LOCK_MODE_LAST)
		wio_put_fail(w, COORD_EINVAL);
	wio_put_array(w, 4);
	wio_put_uint(w, h->session);
	wio_put_uint(w, h->token);
	wio_put_uint(w, h->mode);
	wio_put_uint(w, h->held_ms);
}

static void put_waiter(struct wio_out *w, const struct proto_lock_waiter *q)
{
	if (q->mode > PROTO_LOCK_MODE_LAST)
		wio_put_fail(w, COORD_EINVAL);
	wio_put_array(w, 4);
	wio_put_uint(w, q->session);
	wio_put_uint(w, q->mode);
	wio_put_uint(w, q->waited_ms);
	wio_put_uint(w, q->ttl_left_ms);
}

static void put_job_item(struct wio_out *w, const struct proto_job_item *j)
{
	wio_put_array(w, 4);
	wio_put_uint(w, j->job_id);
	wio_put_uint(w, j->attempts);
	wio_put_uint(w, j->session);
	wio_put_uint(w, j->token);
}

static bool get_job_item(struct wio_in *r, struct proto_job_item *j)
{
	return wio_get_array_len(r, 4) && wio_get_uint(r, 0, ANY, &j->job_id) &&
	       wio_get_uint(r, 0, ANY, &j->attempts) &&
	       wio_get_uint(r, 0, ANY, &j->session) &&
	       wio_get_uint(r, 0, ANY, &j->token);
}

static bool get_mode(struct wio_in *r, uint8_t *mode)
{
	uint64_t v;

	if (!wio_get_uint(r, 0, PROTO_LOCK_MODE_LAST, &v))
		return false;
	*mode = (uint8_t)v;
	return true;
}

static bool get_holder(struct wio_in *r, struct proto_lock_holder *h)
{
	return wio_get_array_len(r, 4) && wio_get_uint(r, 0, ANY, &h->session) &&
	       wio_get_uint(r, 0, ANY, &h->token) && get_mode(r, &h->mode) &&
	       wio_get_uint(r, 0, ANY, &h->held_ms);
}

static bool get_waiter(struct wio_in *r, struct proto_lock_waiter *q)
{
	return wio_get_array_len(r, 4) && wio_get_uint(r, 0, ANY, &q->session) &&
	       get_mode(r, &q->mode) && wio_get_uint(r, 0, ANY, &q->waited_ms) &&
	       wio_get_uint(r, 0, ANY, &q->ttl_left_ms);
}

static void put_in_range(struct wio_out *w, uint64_t v, const struct wfield *f)
{
	if (v < f->min || v > f->max)
		wio_put_fail(w, COORD_EINVAL);
	wio_put_uint(w, v);
}

/* Runs a msg.h encoder in the middle of a message: the packer writes
 * through to the buffer, so the nested value lands in place. */
static void put_nested(struct wio_out *w, int rc)
{
	if (rc != COORD_OK)
		wio_put_fail(w, rc);
}

static void put_field(struct wio_out *w, const void *base,
		      const struct wfield *f)
{
	if (w->err != COORD_OK)
		return;
	switch (f->type) {
	case WF_U64:
		put_in_range(w, *AT_C(base, f, uint64_t), f);
		break;
	case WF_U32:
		put_in_range(w, *AT_C(base, f, uint32_t), f);
		break;
	case WF_U8:
		put_in_range(w, *AT_C(base, f, uint8_t), f);
		break;
	case WF_CODE: {
		int code = *AT_C(base, f, int);

		if (code < 0)
			wio_put_fail(w, COORD_EINVAL);
		wio_put_uint(w, (uint64_t)(unsigned)code);
		break;
	}
	case WF_BOOL:
		wio_put_bool(w, *AT_C(base, f, bool));
		break;
	case WF_BYTES:
		wio_put_bytes(w, *AT_C(base, f, struct proto_bytes), f->max);
		break;
	case WF_U64S: {
		const struct proto_u64_list *l = AT_C(base, f, struct proto_u64_list);

		if (l->n > f->max)
			wio_put_fail(w, COORD_EINVAL);
		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n; i++)
			wio_put_uint(w, l->v[i]);
		break;
	}
	case WF_BYTESS: {
		const struct proto_bytes_list *l =
			AT_C(base, f, struct proto_bytes_list);

		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n; i++)
			wio_put_bytes(w, l->v[i], COORD_KEY_BYTES_MAX);
		break;
	}
	case WF_MEMBERS: {
		const struct proto_member_list *l =
			AT_C(base, f, struct proto_member_list);

		if (l->n > f->max)
			wio_put_fail(w, COORD_EINVAL);
		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n && w->err == COORD_OK; i++)
			put_member(w, &l->v[i]);
		break;
	}
	case WF_HOLDERS: {
		const struct proto_lock_holder_list *l =
			AT_C(base, f, struct proto_lock_holder_list);

		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n && w->err == COORD_OK; i++)
			put_holder(w, &l->v[i]);
		break;
	}
	case WF_WAITERS: {
		const struct proto_lock_waiter_list *l =
			AT_C(base, f, struct proto_lock_waiter_list);

		if (l->n > f->max)
			wio_put_fail(w, COORD_EINVAL);
		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n && w->err == COORD_OK; i++)
			put_waiter(w, &l->v[i]);
		break;
	}
	case WF_JOBS: {
		const struct proto_job_item_list *l =
			AT_C(base, f, struct proto_job_item_list);

		if (l->n > f->max)
			wio_put_fail(w, COORD_EINVAL);
		wio_put_array(w, l->n);
		for (size_t i = 0; i < l->n && w->err == COORD_OK; i++)
			put_job_item(w, &l->v[i]);
		break;
	}
	case WF_TXN: {
		const struct proto_cmd *c = AT_C(base, f, struct proto_cmd);

		if (c->type != f->min)
			wio_put_fail(w, COORD_EINVAL);
		else
			put_nested(w, proto_cmd_encode(c, w->buf));
		break;
	}
	case WF_KVREPLY: {
		const struct proto_reply *rp = AT_C(base, f, struct proto_reply);

		if (rp->type != f->min)
			wio_put_fail(w, COORD_EINVAL);
		else
			put_nested(w, proto_reply_encode(rp, w->buf));
		break;
	}
	case WF_EVENTS: {
		const struct proto_event_list *l =
			AT_C(base, f, struct proto_event_list);

		put_nested(w, proto_events_encode(l->v, l->n, w->buf));
		break;
	}
	}
}

static bool get_uint_field(struct wio_in *r, const struct wfield *f,
			   uint64_t *v)
{
	return wio_get_uint(r, f->min, f->max, v);
}

static bool get_field(struct wio_in *r, void *base, const struct wfield *f)
{
	const uint8_t *start;
	uint64_t v;
	size_t len;
	int rc;

	switch (f->type) {
	case WF_U64:
		return get_uint_field(r, f, AT(base, f, uint64_t));
	case WF_U32:
		if (!get_uint_field(r, f, &v))
			return false;
		*AT(base, f, uint32_t) = (uint32_t)v;
		return true;
	case WF_U8:
		if (!get_uint_field(r, f, &v))
			return false;
		*AT(base, f, uint8_t) = (uint8_t)v;
		return true;
	case WF_CODE:
		if (!get_uint_field(r, f, &v))
			return false;
		*AT(base, f, int) = (int)v;
		return true;
	case WF_BOOL:
		return wio_get_bool(r, AT(base, f, bool));
	case WF_BYTES:
		return wio_get_bytes(r, f->max, AT(base, f, struct proto_bytes));
	case WF_U64S: {
		struct proto_u64_list *l = AT(base, f, struct proto_u64_list);
		uint64_t *v64;

		if (!wio_get_list(r, f->max < SIZE_MAX ? (size_t)f->max
						       : SIZE_MAX,
				  sizeof(*v64), 1, (void **)&v64, &l->n))
			return false;
		l->v = v64;
		for (size_t i = 0; i < l->n; i++)
			if (!wio_get_uint(r, 0, ANY, &v64[i]))
				return false;
		return true;
	}
	case WF_BYTESS: {
		struct proto_bytes_list *l = AT(base, f, struct proto_bytes_list);
		struct proto_bytes *b;

		if (!wio_get_list(r, SIZE_MAX, sizeof(*b), 2, (void **)&b, &l->n))
			return false;
		l->v = b;
		for (size_t i = 0; i < l->n; i++)
			if (!wio_get_bytes(r, COORD_KEY_BYTES_MAX, &b[i]))
				return false;
		return true;
	}
	case WF_MEMBERS: {
		struct proto_member_list *l = AT(base, f, struct proto_member_list);
		struct proto_member *m;

		if (!wio_get_list(r, f->max, sizeof(*m), MIN_MEMBER_BYTES,
				  (void **)&m, &l->n))
			return false;
		l->v = m;
		for (size_t i = 0; i < l->n; i++)
			if (!get_member(r, &m[i]))
				return false;
		return true;
	}
	case WF_HOLDERS: {
		struct proto_lock_holder_list *l =
			AT(base, f, struct proto_lock_holder_list);
		struct proto_lock_holder *h;

		if (!wio_get_list(r, SIZE_MAX, sizeof(*h), MIN_HOLDER_BYTES,
				  (void **)&h, &l->n))
			return false;
		l->v = h;
		for (size_t i = 0; i < l->n; i++)
			if (!get_holder(r, &h[i]))
				return false;
		return true;
	}
	case WF_WAITERS: {
		struct proto_lock_waiter_list *l =
			AT(base, f, struct proto_lock_waiter_list);
		struct proto_lock_waiter *q;

		if (!wio_get_list(r, f->max, sizeof(*q), MIN_WAITER_BYTES,
				  (void **)&q, &l->n))
			return false;
		l->v = q;
		for (size_t i = 0; i < l->n; i++)
			if (!get_waiter(r, &q[i]))
				return false;
		return true;
	}
	case WF_JOBS: {
		struct proto_job_item_list *l =
			AT(base, f, struct proto_job_item_list);
		struct proto_job_item *j;

		if (!wio_get_list(r, f->max, sizeof(*j), MIN_JOB_ITEM_BYTES,
				  (void **)&j, &l->n))
			return false;
		l->v = j;
		for (size_t i = 0; i < l->n; i++)
			if (!get_job_item(r, &j[i]))
				return false;
		return true;
	}
	}
	/* The nested msg.h values: find their extent, decode in place. */
	if (!wio_skip(r, &start, &len))
		return false;
	switch (f->type) {
	case WF_TXN: {
		struct proto_cmd *c = AT(base, f, struct proto_cmd);

		rc = proto_cmd_decode(start, len, r->arena, c);
		if (rc == COORD_OK && c->type != f->min)
			rc = COORD_EMALFORMED;
		break;
	}
	case WF_KVREPLY: {
		struct proto_reply *rp = AT(base, f, struct proto_reply);

		rc = proto_reply_decode(start, len, r->arena, rp);
		if (rc == COORD_OK && rp->type != f->min)
			rc = COORD_EMALFORMED;
		break;
	}
	default: {
		struct proto_event_list *l = AT(base, f, struct proto_event_list);

		rc = proto_events_decode(start, len, r->arena, &l->v, &l->n);
		break;
	}
	}
	return rc == COORD_OK || wio_fail(r, rc);
}

static void put_fields(struct wio_out *w, const void *base,
		       const struct wfield *fs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_field(w, base, &fs[i]);
}

/* The fields of a kind; an open kind's array may hold more, skipped. */
static bool get_fields(struct wio_in *r, void *base, const struct wfield *fs,
		       size_t n, uint32_t n_wire, bool open)
{
	const uint8_t *start;
	size_t len;

	if (n_wire != n && !(open && n_wire > n))
		return wio_fail(r, COORD_EMALFORMED);
	for (size_t i = 0; i < n; i++)
		if (!get_field(r, base, &fs[i]))
			return false;
	for (size_t i = n; i < n_wire; i++)
		if (!wio_skip(r, &start, &len))
			return false;
	return true;
}

/*
 * Requests.
 */

static void put_fences(struct wio_out *w, const struct proto_fence_list *l)
{
	if (l->n > COORD_FENCES_MAX)
		wio_put_fail(w, COORD_EINVAL);
	wio_put_array(w, l->n);
	for (size_t i = 0; i < l->n && w->err == COORD_OK; i++) {
		bool lock = l->v[i].kind == 0 ||
			    l->v[i].kind == PROTO_QUEUE_LOCK;

		if (l->v[i].kind > PROTO_QUEUE_KIND_LAST)
			wio_put_fail(w, COORD_EINVAL);
		/* A lock's fence keeps its old two-element form. */
		wio_put_array(w, lock ? 2 : 3);
		wio_put_bytes(w, l->v[i].lock, NAME_);
		wio_put_uint(w, l->v[i].token);
		if (!lock)
			wio_put_uint(w, l->v[i].kind);
	}
}

/* [name, token] (a lock's) or [name, token, kind] (kind a
 * PROTO_QUEUE_*). */
static bool get_fence(struct wio_in *r, struct proto_fence *fc)
{
	uint64_t kind = PROTO_QUEUE_LOCK;
	uint32_t n;

	if (!wio_get_array(r, &n))
		return false;
	if (n != 2 && n != 3)
		return wio_fail(r, COORD_EMALFORMED);
	if (!(wio_get_bytes(r, NAME_, &fc->lock) &&
	      wio_get_uint(r, 0, ANY, &fc->token) &&
	      (n == 2 || wio_get_uint(r, 1, PROTO_QUEUE_KIND_LAST, &kind))))
		return false;
	fc->kind = (uint8_t)kind;
	return true;
}

static bool get_fences(struct wio_in *r, struct proto_fence_list *l)
{
	struct proto_fence *v;

	if (!wio_get_list(r, COORD_FENCES_MAX, sizeof(*v), MIN_FENCE_BYTES,
			  (void **)&v, &l->n))
		return false;
	l->v = v;
	for (size_t i = 0; i < l->n; i++)
		if (!get_fence(r, &v[i]))
			return false;
	return true;
}

/* The exactly-once triple: all zero, or a client id, a sequence >= 1 and
 * an ack in 1..sequence. */
static bool once_ids_ok(uint64_t client_id, uint64_t sequence, uint64_t ack)
{
	if (client_id == 0)
		return sequence == 0 && ack == 0;
	return sequence != 0 && ack != 0 && ack <= sequence;
}

/* Array elements before a kind's own fields. */
static uint32_t envelope_len(const struct wkind *k)
{
	return 2 + ((k->flags & K_MUT) ? 3 : 0) + ((k->flags & K_FENCED) ? 1 : 0);
}

int proto_request_encode(const struct proto_request *req, struct proto_buf *out)
{
	const struct wkind *k = kind_of(req->kind);
	struct wio_out w;

	wio_out_init(&w, out);
	if (k == NULL) {
		wio_put_fail(&w, COORD_EINVAL);
		return wio_out_finish(&w);
	}
	wio_put_array(&w, envelope_len(k) + k->n_req);
	wio_put_uint(&w, req->kind);
	wio_put_uint(&w, req->request_id);
	if (k->flags & K_MUT) {
		if (!once_ids_ok(req->client_id, req->sequence, req->ack))
			wio_put_fail(&w, COORD_EINVAL);
		wio_put_uint(&w, req->client_id);
		wio_put_uint(&w, req->sequence);
		wio_put_uint(&w, req->ack);
	}
	if (k->flags & K_FENCED)
		put_fences(&w, &req->fences);
	put_fields(&w, req, k->req, k->n_req);
	return wio_out_finish(&w);
}

int proto_request_decode(const uint8_t *data, size_t len,
			 struct proto_arena *arena, struct proto_request *req)
{
	const struct wkind *k;
	struct wio_in r;
	uint64_t kind;
	uint32_t n;
	bool ok;

	memset(req, 0, sizeof(*req));
	wio_in_init(&r, data, len, arena);
	if (!(wio_get_array(&r, &n) && (n >= 2 || wio_fail(&r, COORD_EMALFORMED)) &&
	      wio_get_uint(&r, 0, UINT32_MAX, &kind) &&
	      wio_get_uint(&r, 0, ANY, &req->request_id)))
		return wio_in_finish(&r, false);
	req->kind = (uint32_t)kind;
	k = kind_of(kind);
	if (k == NULL)
		return COORD_EUNKNOWNMSG;
	if (n < envelope_len(k))
		return COORD_EMALFORMED;
	ok = true;
	if (k->flags & K_MUT)
		ok = wio_get_uint(&r, 0, ANY, &req->client_id) &&
		     wio_get_uint(&r, 0, ANY, &req->sequence) &&
		     wio_get_uint(&r, 0, ANY, &req->ack) &&
		     (once_ids_ok(req->client_id, req->sequence, req->ack) ||
		      wio_fail(&r, COORD_EMALFORMED));
	if (ok && (k->flags & K_FENCED))
		ok = get_fences(&r, &req->fences);
	ok = ok && get_fields(&r, req, k->req, k->n_req, n - envelope_len(k),
			      (k->flags & K_OPEN) != 0);
	return wio_in_finish(&r, ok);
}

/*
 * Replies.
 */

/* What the field table cannot say: a LOCK_STATUS reply counts at least
 * the waiters it lists. */
static bool reply_consistent(const struct proto_response *resp)
{
	const struct proto_lock_status_reply *ls = &resp->u.lock_status;
	const struct proto_session_many_reply *sm = &resp->u.session_many;

	/* sess8: a SESSION_KEEPALIVE_MANY reply has a TTL per code. */
	if (resp->kind == PROTO_SESSION_KEEPALIVE_MANY && resp->has_body)
		return sm->codes.n == sm->ttls.n;
	return resp->kind != PROTO_LOCK_STATUS || !resp->has_body ||
	       ls->n_waiters >= ls->waiters.n;
}

int proto_response_encode(const struct proto_response *resp,
			  struct proto_buf *out)
{
	const struct wkind *k = kind_of(resp->kind);
	struct wio_out w;

	wio_out_init(&w, out);
	/* A kind this version does not know is answered too, with an error
	 * and no body (COORD_EUNKNOWNMSG for a request from a newer
	 * client). */
	if ((k == NULL && (resp->code == COORD_OK || resp->has_body)) ||
	    resp->code < 0 || (resp->code == COORD_OK && !resp->has_body) ||
	    !reply_consistent(resp)) {
		wio_put_fail(&w, COORD_EINVAL);
		return wio_out_finish(&w);
	}
	wio_put_array(&w, 5);
	wio_put_uint(&w, resp->kind);
	wio_put_uint(&w, resp->request_id);
	wio_put_uint(&w, (uint64_t)(unsigned)resp->code);
	wio_put_uint(&w, resp->leader_hint);
	if (resp->has_body) {
		wio_put_array(&w, k->n_rep);
		put_fields(&w, resp, k->rep, k->n_rep);
	} else {
		wio_put_nil(&w);
	}
	return wio_out_finish(&w);
}

int proto_response_decode(const uint8_t *data, size_t len,
			  struct proto_arena *arena, struct proto_response *resp)
{
	const struct wkind *k;
	struct wio_in r;
	uint64_t kind, code;
	uint32_t n;
	bool ok;

	memset(resp, 0, sizeof(*resp));
	wio_in_init(&r, data, len, arena);
	if (!(wio_get_array_len(&r, 5) &&
	      wio_get_uint(&r, 0, UINT32_MAX, &kind) &&
	      wio_get_uint(&r, 0, ANY, &resp->request_id) &&
	      wio_get_uint(&r, 0, INT_MAX, &code) &&
	      wio_get_uint(&r, 0, ANY, &resp->leader_hint)))
		return wio_in_finish(&r, false);
	resp->kind = (uint32_t)kind;
	resp->code = (int)code;
	k = kind_of(kind);
	if (k == NULL)
		return COORD_EUNKNOWNMSG;
	resp->has_body = !wio_get_nil(&r);
	if (!resp->has_body)
		ok = code != COORD_OK || wio_fail(&r, COORD_EMALFORMED);
	else
		ok = wio_get_array(&r, &n) &&
		     get_fields(&r, resp, k->rep, k->n_rep, n,
				(k->flags & K_OPEN) != 0) &&
		     (reply_consistent(resp) || wio_fail(&r, COORD_EMALFORMED));
	return wio_in_finish(&r, ok);
}

/*
 * Pushes.
 */

int proto_push_encode(const struct proto_push *push, struct proto_buf *out)
{
	const struct wkind *k = push_of(push->kind);
	struct wio_out w;

	wio_out_init(&w, out);
	if (k == NULL) {
		wio_put_fail(&w, COORD_EINVAL);
		return wio_out_finish(&w);
	}
	wio_put_array(&w, 1 + k->n_rep);
	wio_put_uint(&w, push->kind);
	put_fields(&w, push, k->rep, k->n_rep);
	return wio_out_finish(&w);
}

int proto_push_decode(const uint8_t *data, size_t len,
		      struct proto_arena *arena, struct proto_push *push)
{
	const struct wkind *k;
	struct wio_in r;
	uint64_t kind;
	uint32_t n;
	bool ok;

	memset(push, 0, sizeof(*push));
	wio_in_init(&r, data, len, arena);
	if (!(wio_get_array(&r, &n) && (n >= 1 || wio_fail(&r, COORD_EMALFORMED)) &&
	      wio_get_uint(&r, 0, UINT32_MAX, &kind)))
		return wio_in_finish(&r, false);
	push->kind = (uint32_t)kind;
	k = push_of(kind);
	if (k == NULL)
		return COORD_EUNKNOWNMSG;
	ok = get_fields(&r, push, k->rep, k->n_rep, n - 1, false);
	return wio_in_finish(&r, ok);
}

int proto_server_msg_kind(const uint8_t *data, size_t len, uint32_t *kind)
{
	struct wio_in r;
	uint64_t v;
	uint32_t n;

	wio_in_init(&r, data, len, NULL);
	if (!(wio_get_array(&r, &n) && n >= 1 &&
	      wio_get_uint(&r, 0, UINT32_MAX, &v)))
		return COORD_EMALFORMED;
	*kind = (uint32_t)v;
	return COORD_OK;
}

int proto_hello_check(uint64_t client_version, uint64_t client_cluster_id,
		      uint64_t server_version, uint64_t server_cluster_id,
		      char *msg, size_t msg_size)
{
	int rc = COORD_OK;

	if (client_version != server_version) {
		rc = COORD_EPROTOVERSION;
		if (msg_size > 0)
			snprintf(msg, msg_size,
				 "protocol version mismatch: client speaks version %" PRIu64 ", server speaks version %" PRIu64,
				 client_version, server_version);
	} else if (client_cluster_id != 0 && server_cluster_id != 0 &&
		   client_cluster_id != server_cluster_id) {
		rc = COORD_ECLUSTER;
		if (msg_size > 0)
			snprintf(msg, msg_size,
				 "cluster id mismatch: client expects %016" PRIx64 ", server is in %016" PRIx64,
				 client_cluster_id, server_cluster_id);
	} else if (msg_size > 0) {
		msg[0] = '\0';
	}
	return rc;
}

uint64_t proto_member_id(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ull;
	}
	return h == 0 ? 1 : h;
}
