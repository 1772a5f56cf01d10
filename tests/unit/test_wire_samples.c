/*
 * tests/unit/test_wire_samples.c: the sample messages of
 * test_wire_samples.h.
 */
#include "tests/unit/test_wire_samples.h"

#include <string.h>

#include "proto/errors.h"

#define B(s) proto_bytes_make((s), sizeof(s) - 1)

static const struct proto_fence fences[] = {
	{ { (const uint8_t *)"lock-a", 6 }, 41, PROTO_QUEUE_LOCK },
	{ { (const uint8_t *)"sem-b", 5 }, 1ull << 40, PROTO_QUEUE_SEM },
	{ { (const uint8_t *)"elect-a", 7 }, 43, PROTO_QUEUE_ELECTION },
};

static const struct proto_compare compares[] = {
	{ { (const uint8_t *)"k", 1 }, PROTO_CMP_VERSION, PROTO_CMP_GREATER, 3,
	  { NULL, 0 } },
};

static const struct proto_op ops[] = {
	{ .type = PROTO_CMD_PUT,
	  .u.put = { { (const uint8_t *)"k", 1 }, { (const uint8_t *)"v", 1 },
		     7, true } },
	{ .type = PROTO_CMD_RANGE,
	  .u.range = { { (const uint8_t *)"a", 1 }, { (const uint8_t *)"z", 1 },
		       PROTO_RANGE_KEYS_ONLY, 10, 5, PROTO_SORT_DESCEND,
		       PROTO_SORT_MOD } },
};

static const struct proto_kv kvs[] = {
	{ { (const uint8_t *)"key1", 4 }, { (const uint8_t *)"value1", 6 },
	  2, 9, 3, 77 },
	{ { (const uint8_t *)"key2", 4 }, { NULL, 0 }, 4, 4, 1, 0 },
};

static const struct proto_op_reply op_replies[] = {
	{ .type = PROTO_CMD_PUT, .u.put = { true, { { (const uint8_t *)"k", 1 },
						    { (const uint8_t *)"old", 3 },
						    1, 2, 1, 0 } } },
	{ .type = PROTO_CMD_RANGE, .u.range = { kvs, 2, 5, true } },
};

static const struct proto_event events[] = {
	{ PROTO_EVENT_PUT, { { (const uint8_t *)"key1", 4 },
			     { (const uint8_t *)"value1", 6 }, 2, 9, 3, 77 },
	  true, { { (const uint8_t *)"key1", 4 }, { (const uint8_t *)"v0", 2 },
		  2, 8, 2, 77 } },
	{ PROTO_EVENT_DELETE, { { (const uint8_t *)"key2", 4 }, { NULL, 0 },
				0, 10, 0, 0 },
	  false, { { NULL, 0 }, { NULL, 0 }, 0, 0, 0, 0 } },
};

static const struct proto_lock_holder holders[] = {
	{ 301, 512, PROTO_LOCK_SHARED, 40 },
	{ 302, 513, PROTO_LOCK_SHARED, 1ull << 36 },
};
static const struct proto_lock_waiter waiters[] = {
	{ 303, PROTO_LOCK_EXCLUSIVE, 17, 9000 },
	{ 304, PROTO_LOCK_SHARED, 0, 1ull << 34 },
};

static const struct proto_job_item job_items[] = {
	{ 4, 0, 301, 88 },
	{ 7, 2, 302, 1ull << 40 },
};
static const uint64_t leases[] = { 1, 1ull << 33, UINT64_MAX };
static const uint64_t many_codes[] = { COORD_OK, COORD_ESESSION,
				       COORD_ESESSION_EXPIRED };
static const struct proto_bytes lease_keys[] = {
	{ (const uint8_t *)"a", 1 }, { NULL, 0 }, { (const uint8_t *)"bc", 2 },
};
static const struct proto_member members[] = {
	{ 1, { (const uint8_t *)"n1", 2 }, { (const uint8_t *)"10.0.0.1:7001", 13 },
	  { (const uint8_t *)"10.0.0.1:7000", 13 }, false,
	  { (const uint8_t *)"10.0.0.1:7002", 13 } },
	{ 9, { (const uint8_t *)"n9", 2 }, { (const uint8_t *)"[::1]:7001", 10 },
	  { NULL, 0 }, true, { NULL, 0 } },
};

static uint8_t entry_data[3][40];
static struct raft_entry entries[3];

void tw_sample_request(uint32_t kind, struct proto_request *req)
{
	memset(req, 0, sizeof(*req));
	req->kind = kind;
	req->request_id = 1000 + kind;
	if (proto_kind_is_mutating(kind)) {
		req->client_id = 0xc0ffee;
		req->sequence = 12 + kind;
		req->ack = 3 + kind;
	}
	if (proto_kind_is_fenced(kind)) {
		req->fences.v = fences;
		req->fences.n = 2;
	}
	switch (kind) {
	case PROTO_HELLO:
		req->u.hello = (struct proto_hello){ PROTO_VERSION,
						     B("libcoord-test"), 0xc1 };
		break;
	case PROTO_PUT:
		req->u.put = (struct proto_put){ B("key"), B("value"), 5, true };
		break;
	case PROTO_RANGE:
		req->u.range.range = (struct proto_range){
			B("a"), B("b"), PROTO_RANGE_COUNT_ONLY, 100, 42,
			PROTO_SORT_ASCEND, PROTO_SORT_VALUE };
		req->u.range.serializable = true;
		break;
	case PROTO_DELETE:
		req->u.del = (struct proto_delete){ B("pre"), B(""),
						    PROTO_RANGE_PREFIX, true };
		break;
	case PROTO_TXN:
		req->u.txn.type = PROTO_CMD_TXN;
		req->u.txn.u.txn = (struct proto_txn){ compares, 1, ops, 2,
						       ops, 1 };
		break;
	case PROTO_COMPACT:
		req->u.compact.revision = 99;
		break;
	case PROTO_WATCH_CREATE:
		req->u.watch_create = (struct proto_watch_create){
			B("w/"), B(""), PROTO_RANGE_PREFIX, 17, true };
		break;
	case PROTO_WATCH_CANCEL:
		req->u.watch_cancel.watch_id = 3;
		break;
	case PROTO_LEASE_GRANT:
		req->u.lease_grant = (struct proto_lease_grant){ 8, 10000 };
		break;
	case PROTO_LEASE_KEEPALIVE:
	case PROTO_LEASE_REVOKE:
		req->u.lease.lease = 8 + kind;
		break;
	case PROTO_LEASE_TTL:
		req->u.lease_ttl = (struct proto_lease_ttl){
			8, true, proto_bytes_make("k2", 2) };
		break;
	case PROTO_LEASE_LIST:
	case PROTO_MEMBER_LIST:
	case PROTO_STATUS:
		break;
	case PROTO_SESSION_OPEN:
		req->u.session_open.ttl_ms = 15000;
		break;
	case PROTO_SESSION_KEEPALIVE:
	case PROTO_SESSION_CLOSE:
		req->u.session.session = 300 + kind;
		break;
	case PROTO_SESSION_ATTACH:
		req->u.session_attach = (struct proto_session_attach){
			301, B("0123456789abcdef") };
		break;
	case PROTO_LOCK_ACQUIRE:
		req->u.lock_acquire = (struct proto_lock_acquire){
			B("db-primary"), 301, PROTO_LOCK_SHARED, true, 2500,
			15000 };
		break;
	case PROTO_LOCK_RELEASE:
	case PROTO_SEM_RELEASE:
	case PROTO_ELECTION_RESIGN:
		req->u.release = (struct proto_release){ B("name"), 301,
							 500 + kind };
		break;
	case PROTO_LOCK_CHECK:
		req->u.lock_check = (struct proto_lock_check){ B("db-primary"),
							       512 };
		break;
	case PROTO_LOCK_STATUS:
	case PROTO_SEM_STATUS:
		req->u.lock_status.name = B("db-primary");
		break;
	case PROTO_SESSION_KEEPALIVE_MANY:
		req->u.session_many.sessions =
			(struct proto_u64_list){ leases, 3 };
		break;
	case PROTO_LOCK_RELEASE_PUT:
		req->u.release_put = (struct proto_release_put){
			B("db-primary"), 301, 512, B("k"), B("v"), 8 };
		break;
	case PROTO_SEM_ACQUIRE:
		req->u.sem_acquire = (struct proto_sem_acquire){
			B("workers"), 301, 4, true, 100 };
		break;
	case PROTO_ELECTION_CAMPAIGN:
		req->u.campaign = (struct proto_campaign){ B("cron"), 301,
							   B("host-a"), 60000 };
		break;
	case PROTO_ELECTION_LEADER:
		req->u.election.name = B("cron");
		break;
	case PROTO_ELECTION_OBSERVE:
		req->u.election.name = B("cron");
		req->u.election.start_revision = 12;
		break;
	case PROTO_ELECTION_PROCLAIM:
		req->u.proclaim = (struct proto_proclaim){ B("cron"), 301, 77,
							   B("host-b") };
		break;
	case PROTO_JOB_ENQUEUE:
		req->u.job_enqueue = (struct proto_job_enqueue){
			B("q"), B("job-1"), B("k-1"), 3 };
		break;
	case PROTO_JOB_CLAIM:
		req->u.job_claim = (struct proto_job_claim){ B("q"), 301, true,
							     30 };
		break;
	case PROTO_JOB_COMPLETE:
		req->u.job_complete = (struct proto_job_complete){
			B("q"), 4, 88, B("done"), 301, false };
		break;
	case PROTO_JOB_FAIL:
		req->u.job_complete = (struct proto_job_complete){
			B("q"), 4, 88, B(""), 301, true };
		break;
	case PROTO_JOB_LIST:
		req->u.job_list = (struct proto_job_list){ B("q"),
							   PROTO_JOB_CLAIMED, 7,
							   100 };
		break;
	case PROTO_JOB_INSPECT:
		req->u.job_inspect = (struct proto_job_inspect){ B("q"), 4 };
		break;
	case PROTO_MEMBER_ADD:
		req->u.member_add.member = members[1];
		break;
	case PROTO_MEMBER_REMOVE:
	case PROTO_MEMBER_PROMOTE:
	case PROTO_TRANSFER_LEADER:
		req->u.member.id = 2 + kind;
		break;
	}
}

static void sample_kv_reply(uint32_t kind, struct proto_reply *r)
{
	r->code = COORD_OK;
	r->revision = 50;
	r->compact_revision = 3;
	switch (kind) {
	case PROTO_PUT:
	case PROTO_LOCK_RELEASE_PUT:
		r->type = PROTO_CMD_PUT;
		r->u.put.has_prev_kv = true;
		r->u.put.prev_kv = kvs[0];
		break;
	case PROTO_RANGE:
		r->type = PROTO_CMD_RANGE;
		r->u.range = (struct proto_range_reply){ kvs, 2, 7, true };
		break;
	case PROTO_DELETE:
		r->type = PROTO_CMD_DELETE;
		r->u.del = (struct proto_delete_reply){ 2, kvs, 2 };
		break;
	case PROTO_TXN:
		r->type = PROTO_CMD_TXN;
		r->u.txn = (struct proto_txn_reply){ true, op_replies, 2 };
		break;
	case PROTO_ALARM_DISARM:        /* quota13 */
		r->type = PROTO_CMD_ALARM_DISARM;
		break;
	default:
		r->type = PROTO_CMD_COMPACT;
	}
}

void tw_sample_response(uint32_t kind, struct proto_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->kind = kind;
	resp->request_id = 1000 + kind;
	resp->code = COORD_OK;
	resp->leader_hint = 3;
	resp->has_body = true;
	switch (kind) {
	case PROTO_HELLO:
		resp->u.hello = (struct proto_hello_reply){ PROTO_VERSION, 3,
							    B("node-3"), 0xc1 };
		break;
	case PROTO_PUT:
	case PROTO_RANGE:
	case PROTO_DELETE:
	case PROTO_TXN:
	case PROTO_COMPACT:
	case PROTO_LOCK_RELEASE_PUT:
	case PROTO_ALARM_DISARM:
		sample_kv_reply(kind, &resp->u.kv);
		break;
	case PROTO_WATCH_CREATE:
	case PROTO_ELECTION_OBSERVE:
		resp->u.watch.watch_id = 60 + kind;
		resp->u.watch.start_revision = 7;
		break;
	case PROTO_LEASE_GRANT:
	case PROTO_LEASE_KEEPALIVE:
		resp->u.lease = (struct proto_lease_reply){ 8, 9000 + kind };
		break;
	case PROTO_LEASE_TTL:
		resp->u.lease_ttl = (struct proto_lease_ttl_reply){
			8, 4000, 10000, { lease_keys, 3 }, true };
		break;
	case PROTO_LEASE_LIST:
		resp->u.lease_list.leases = (struct proto_u64_list){ leases, 3 };
		break;
	case PROTO_SESSION_OPEN:
	case PROTO_SESSION_KEEPALIVE:
	case PROTO_SESSION_ATTACH:
		resp->u.session = (struct proto_session_reply){
			301, B("0123456789abcdef"), 8, 15000 + kind };
		break;
	case PROTO_LOCK_ACQUIRE:
	case PROTO_SEM_ACQUIRE:
	case PROTO_ELECTION_CAMPAIGN:
		resp->u.grant = (struct proto_grant_reply){ true, 400 + kind };
		break;
	case PROTO_LOCK_CHECK:
		resp->u.lock_check = (struct proto_lock_check_reply){ true, 512 };
		break;
	case PROTO_LOCK_STATUS:
		resp->u.lock_status = (struct proto_lock_status_reply){
			1200, { holders, 2 }, { waiters, 2 }, 5 };
		break;
	case PROTO_SESSION_KEEPALIVE_MANY:
		resp->u.session_many = (struct proto_session_many_reply){
			{ many_codes, 3 }, { leases, 3 } };
		break;
	case PROTO_SEM_STATUS:
		resp->u.sem_status = (struct proto_sem_status_reply){
			4, { holders, 2 }, { waiters, 2 }, 5 };
		break;
	case PROTO_ELECTION_LEADER:
		resp->u.leader = (struct proto_leader_reply){ 301, 77,
							      B("host-a"), 76, 2 };
		break;
	case PROTO_REGISTER_CLIENT:
		resp->u.register_client.client_id = 1ull << 35;
		break;
	case PROTO_JOB_ENQUEUE:
		resp->u.job_enqueue.job_id = 4;
		resp->u.job_enqueue.existed = true;
		break;
	case PROTO_JOB_CLAIM:
		resp->u.job_claim = (struct proto_job_claim_reply){
			true, 4, 88, B("job-1"), 2 };
		break;
	case PROTO_JOB_FAIL:
		resp->u.job_fail.dead = true;
		break;
	case PROTO_JOB_LIST:
		resp->u.job_list = (struct proto_job_list_reply){
			1, 2, 0, 5, { job_items, 2 }, 9 };
		break;
	case PROTO_JOB_INSPECT:
		resp->u.job_inspect = (struct proto_job_inspect_reply){
			PROTO_JOB_DONE, 1, 3, 301, 88, B("job-1"), B("done"),
			B("k-1") };
		break;
	case PROTO_MEMBER_LIST:
		resp->u.member_list.members = (struct proto_member_list){
			members, 2 };
		break;
	case PROTO_STATUS:
		resp->u.status = (struct proto_status_reply){
			PROTO_VERSION, 3, B("node-3"), 0xc1, 1, 7, 50, 120,
			121, 0xfeedface12345678ull, PROTO_ALARM_NOSPACE };
		break;
	case PROTO_ALARM_LIST:          /* quota13 */
		resp->u.alarm = (struct proto_alarm_reply){
			PROTO_ALARM_NOSPACE, 77, 1ull << 31, 1ull << 30, 1 << 20,
			4096 };
		break;
	}
}

void tw_sample_push(uint32_t kind, struct proto_push *push)
{
	memset(push, 0, sizeof(*push));
	push->kind = kind;
	switch (kind) {
	case PROTO_PUSH_WATCH_EVENTS:
		push->u.watch_events.watch_id = 61;
		push->u.watch_events.events = (struct proto_event_list){
			events, 2 };
		break;
	case PROTO_PUSH_WATCH_CANCELED:
		push->u.watch_canceled = (struct proto_push_watch_canceled){
			61, COORD_ECOMPACTED, 30 };
		break;
	case PROTO_PUSH_GRANT:
		push->u.grant = (struct proto_push_grant){
			PROTO_JOB_CLAIM, 1029, B("q"), 301, 88, 4, B("job-1"),
			1 };
		break;
	case PROTO_PUSH_SESSION_LOST:
		push->u.session_lost = (struct proto_push_session_lost){
			301, COORD_ELEASE };
		break;
	case PROTO_PUSH_LEADER_CHANGE:
		push->u.leader_change = (struct proto_push_leader_change){ 2, 8 };
		break;
	case PROTO_PUSH_ELECTION:
		push->u.election = (struct proto_push_election){
			85, B("cron"), 301, 77, B("host-a"), 76 };
		break;
	}
}

void tw_sample_raft(uint32_t type, struct raft_message *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = 1;
	m->to = 2;
	m->term = 7 + type;
	m->log_term = 6;
	m->index = 100;
	m->commit = 99;
	m->reject_hint = 50;
	m->hint_term = 5;
	m->context = 0xabcdef;
	m->reject = type % 2 == 0;
	m->transfer = type == RAFT_MSG_VOTE;
	if (type == RAFT_MSG_APPEND) {
		for (uint32_t i = 0; i < 3; i++) {
			memset(entry_data[i], 'a' + (int)i, sizeof(entry_data[i]));
			entries[i] = (struct raft_entry){
				6 + i / 2, 101 + i,
				i == 1 ? RAFT_ENTRY_CONF : RAFT_ENTRY_NORMAL,
				i == 2 ? 0 : (uint32_t)(10 * (i + 1)),
				i == 2 ? NULL : entry_data[i] };
		}
		m->entries = entries;
		m->n_entries = 3;
	}
	if (type == RAFT_MSG_SNAPSHOT) {
		m->snapshot.index = 90;
		m->snapshot.term = 5;
		m->snapshot.conf.n_voters = 3;
		m->snapshot.conf.voters[0] = 1;
		m->snapshot.conf.voters[1] = 2;
		m->snapshot.conf.voters[2] = 3;
		m->snapshot.conf.n_learners = 1;
		m->snapshot.conf.learners[0] = 4;
		m->snapshot_len = 3 * 1024 * 1024 + 5;
	}
}

void tw_sample_peer_hello(struct proto_peer_hello *h)
{
	*h = (struct proto_peer_hello){ PROTO_PEER_VERSION, 0xc1, 1, 2 };
}

void tw_sample_chunk(struct proto_snapshot_chunk *c)
{
	*c = (struct proto_snapshot_chunk){ 90, 5, 1024 * 1024,
					    B("snapshot bytes"), true };
}
