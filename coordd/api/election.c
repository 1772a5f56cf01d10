/*
 * coordd/api/election.c: elections -- campaign (elected now, or queued
 * with the election pushed later as PUSH_GRANT), proclaim, resign, and
 * the leader as a linearizable read. ELECTION_OBSERVE is a watch
 * (watch.c, watch_observe()).
 *
 * What an election means is the fsm's (coordd/fsm/election.c): a queue
 * of candidates whose one holder is the leader. A queued campaign waits
 * here exactly as a queued lock acquire does (lock.c: one wait per
 * session and queue, PUSH_GRANT, the grant held back while the session
 * is overdue on this node's clock, QUEUE_KICK for deadlines).
 */
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/limits.h"

void election_campaign(struct client *cl, const struct proto_request *rq)
{
	const struct proto_campaign *c = &rq->u.campaign;
	struct proto_cmd cmd;

	if (!session_ok(cl, rq, c->session))
		return;
	/* The fsm judges name and value (COORD_EINVAL, _EVALUETOOBIG);
	 * what the command codec cannot carry is refused here. */
	if (c->name.len == 0 || c->value.len > COORD_ELECTION_VALUE_BYTES_MAX) {
		api_send_error(cl, rq->kind, rq->request_id,
			       c->name.len == 0 ? COORD_EINVAL
						: COORD_EVALUETOOBIG);
		return;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_ELECTION_CAMPAIGN;
	cmd.u.campaign.name = c->name;
	cmd.u.campaign.session = c->session;
	cmd.u.campaign.value = c->value;
	cmd.u.campaign.deadline_ms =
		lock_deadline_ms(cl->net, true, c->timeout_ms);
	lock_propose_acquire(cl, rq, &cmd, c->session, c->name);
}

void election_write(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	uint64_t session;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	if (rq->kind == PROTO_ELECTION_PROCLAIM) {
		session = rq->u.proclaim.session;
		cmd.type = PROTO_CMD_ELECTION_PROCLAIM;
		cmd.u.proclaim.name = rq->u.proclaim.name;
		cmd.u.proclaim.session = session;
		cmd.u.proclaim.token = rq->u.proclaim.token;
		cmd.u.proclaim.value = rq->u.proclaim.value;
		if (rq->u.proclaim.value.len > COORD_ELECTION_VALUE_BYTES_MAX) {
			api_send_error(cl, rq->kind, rq->request_id,
				       COORD_EVALUETOOBIG);
			return;
		}
	} else {
		session = rq->u.release.session;
		cmd.type = PROTO_CMD_ELECTION_RESIGN;
		cmd.u.resign.name = rq->u.release.name;
		cmd.u.resign.session = session;
		cmd.u.resign.token = rq->u.release.token;
	}
	if (!session_ok(cl, rq, session))
		return;
	rc = api_propose(cl, rq, &cmd, api_empty_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

static void leader_read_done(void *ctx, int code, const uint8_t *reply,
			     size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	struct fsm_leader l;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		code = fsm_election_leader(
			node_fsm(cl->net->node),
			proto_bytes_make(q->name, q->name_len), &l);
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.leader.session = l.session;
		r.u.leader.token = l.token;
		r.u.leader.value = l.value;
		r.u.leader.revision = l.revision;
		r.u.leader.candidates = l.candidates;
		api_send(cl, &r);
	}
	api_req_free(q);
}

/* ELECTION_LEADER: a linearizable read (ReadIndex, as LOCK_CHECK). */
void election_leader(struct client *cl, const struct proto_request *rq)
{
	struct proto_bytes name = rq->u.election.name;
	struct req *q;

	if (name.len == 0) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	q = api_req_new(cl, rq);
	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	memcpy(q->name, name.data, name.len);
	q->name_len = name.len;
	node_read(cl->net->node, &q->w, leader_read_done, q);
	net_kick(cl->net);
}
