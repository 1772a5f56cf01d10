/*
 * coordd/api/job.c: job queues -- enqueue, claim (now, or queued with
 * the claim pushed later), complete, fail, list, inspect.
 *
 * What a job queue means is the fsm's (coordd/fsm/job.c). A queued claim
 * is a wait of lock.c's machinery (queue_wait_add(), kind FSM_QUEUE_JOB):
 * its grant arrives through locks_applied() as a PUSH_GRANT carrying the
 * job, and is withheld like a lock's while the claimer is overdue on this
 * node's clock. LIST and INSPECT are linearizable reads (node_read()).
 */
#include <stdlib.h>
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* Decodes the fsm's reply into rp; the reply's own code if it has one. */
static int reply_of(struct client *cl, int code, const uint8_t *reply,
		    size_t len, struct proto_reply *rp)
{
	if (code != COORD_OK)
		return code;
	proto_arena_reset(&cl->net->arena);
	code = proto_reply_decode(reply, len, &cl->net->arena, rp);
	return code == COORD_OK ? rp->code : code;
}

static void send_claim(struct client *cl, const struct req *q,
		       const struct proto_job_claim_cmd_reply *c)
{
	struct proto_response r;

	api_reply_start(cl, q->kind, q->request_id, &r);
	r.u.job_claim.granted = c->granted;
	r.u.job_claim.job_id = c->job_id;
	r.u.job_claim.token = c->token;
	r.u.job_claim.job = c->payload;
	r.u.job_claim.attempts = c->attempts;
	api_send(cl, &r);
}

static void claim_done(void *ctx, int code, const uint8_t *reply,
		       size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_job_claim_cmd_reply c;
	struct fsm_job_info j;
	struct proto_reply rp;

	code = reply_of(cl, code, reply, len, &rp);
	if (code == COORD_OK && cl->conn == NULL)
		code = COORD_ECANCELED;
	if (code == COORD_OK && rp.u.job_claim.granted) {
		send_claim(cl, q, &rp.u.job_claim);
	} else if (code == COORD_OK &&
		   fsm_job_claimed_by(node_fsm(cl->net->node),
				      proto_bytes_make(q->name, q->name_len),
				      q->arg, &j) == COORD_OK) {
		/* Queued -- and, for a retry answered from the client
		 * table, claimed since: that claim now. */
		memset(&c, 0, sizeof(c));
		c.granted = true;
		c.job_id = j.id;
		c.token = j.token;
		c.attempts = j.attempts;
		c.payload = j.payload;
		send_claim(cl, q, &c);
	} else if (code == COORD_OK) {
		code = queue_wait_add(cl, q, FSM_QUEUE_JOB);
		if (code == COORD_OK) {
			memset(&c, 0, sizeof(c));
			send_claim(cl, q, &c);
		}
	}
	if (code != COORD_OK)
		api_send_error(cl, q->kind, q->request_id, code);
	api_req_free(q);
}

/* ENQUEUE, COMPLETE and FAIL. */
static void write_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	struct proto_reply rp;

	code = reply_of(cl, code, reply, len, &rp);
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		if (q->kind == PROTO_JOB_ENQUEUE) {
			r.u.job_enqueue.job_id = rp.u.job_enqueue.job_id;
			r.u.job_enqueue.existed = rp.u.job_enqueue.existed;
		} else if (q->kind == PROTO_JOB_FAIL) {
			r.u.job_fail.dead = rp.u.job_fail.dead;
		}
		api_send(cl, &r);
	}
	api_req_free(q);
}

static void inspect_read_done(void *ctx, int code, const uint8_t *reply,
			      size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	struct fsm_job_info j;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		code = fsm_job_inspect(node_fsm(cl->net->node),
				       proto_bytes_make(q->name, q->name_len),
				       q->arg, &j);
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.job_inspect.state = j.state;
		r.u.job_inspect.attempts = j.attempts;
		r.u.job_inspect.max_attempts = j.max_attempts;
		r.u.job_inspect.session = j.session;
		r.u.job_inspect.token = j.token;
		r.u.job_inspect.job = j.payload;
		r.u.job_inspect.result = j.result;
		r.u.job_inspect.unique_key = j.unique_key;
		api_send(cl, &r);
	}
	api_req_free(q);
}

static void list_read_done(void *ctx, int code, const uint8_t *reply,
			   size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_response r;
	struct fsm_job_counts n;
	struct fsm_job_info *items;
	struct proto_job_item *v = NULL;
	size_t cnt = 0;
	uint64_t next = 0;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		code = fsm_job_list(node_fsm(cl->net->node),
				    proto_bytes_make(q->name, q->name_len),
				    (uint8_t)q->member_id, q->arg,
				    (size_t)q->arg2, &n, &items, &cnt, &next);
	if (code == COORD_OK &&
	    (v = calloc(cnt + 1, sizeof(*v))) == NULL)
		code = COORD_ENOMEM;
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		v[i].job_id = items[i].id;
		v[i].attempts = items[i].attempts;
		v[i].session = items[i].session;
		v[i].token = items[i].token;
	}
	api_reply_start(cl, q->kind, q->request_id, &r);
	r.u.job_list.pending = n.pending;
	r.u.job_list.claimed = n.claimed;
	r.u.job_list.dead = n.dead;
	r.u.job_list.done = n.done;
	r.u.job_list.jobs.v = v;
	r.u.job_list.jobs.n = cnt;
	r.u.job_list.next = next;
	api_send(cl, &r);
out:
	free(v);
	api_req_free(q);
}

static void job_read(struct client *cl, const struct proto_request *rq)
{
	struct req *q = api_req_new(cl, rq);
	struct proto_bytes name = rq->kind == PROTO_JOB_LIST
					  ? rq->u.job_list.queue
					  : rq->u.job_inspect.queue;

	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	memcpy(q->name, name.data, name.len);
	q->name_len = name.len;
	if (rq->kind == PROTO_JOB_LIST) {
		q->member_id = rq->u.job_list.state;
		q->arg = rq->u.job_list.cursor;
		/* limit 0: a page of the most a reply lists. */
		q->arg2 = rq->u.job_list.limit != 0 ? rq->u.job_list.limit
						    : COORD_JOB_LIST_MAX;
		node_read(cl->net->node, &q->w, list_read_done, q);
	} else {
		q->arg = rq->u.job_inspect.job_id;
		node_read(cl->net->node, &q->w, inspect_read_done, q);
	}
	net_kick(cl->net);
}

void job_request(struct client *cl, const struct proto_request *rq)
{
	const struct proto_job_complete *d = &rq->u.job_complete;
	struct proto_cmd cmd;
	struct proto_bytes name;
	uint64_t session = 0;
	node_done_fn done = write_done;
	struct req *q;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	switch (rq->kind) {
	case PROTO_JOB_LIST:
	case PROTO_JOB_INSPECT:
		job_read(cl, rq);
		return;
	case PROTO_JOB_ENQUEUE:
		cmd.type = PROTO_CMD_JOB_ENQUEUE;
		cmd.u.job_enqueue.queue = rq->u.job_enqueue.queue;
		cmd.u.job_enqueue.payload = rq->u.job_enqueue.job;
		cmd.u.job_enqueue.unique_key = rq->u.job_enqueue.unique_key;
		cmd.u.job_enqueue.max_attempts = rq->u.job_enqueue.max_attempts;
		name = rq->u.job_enqueue.queue;
		break;
	case PROTO_JOB_CLAIM:
		session = rq->u.job_claim.session;
		cmd.type = PROTO_CMD_JOB_CLAIM;
		cmd.u.job_claim.queue = rq->u.job_claim.queue;
		cmd.u.job_claim.session = session;
		cmd.u.job_claim.wait = rq->u.job_claim.wait;
		cmd.u.job_claim.deadline_ms =
			rq->u.job_claim.wait && rq->u.job_claim.timeout_ms != 0
				? net_cluster_now_ms(cl->net) +
					  rq->u.job_claim.timeout_ms
				: 0;
		name = rq->u.job_claim.queue;
		done = claim_done;
		break;
	default:        /* JOB_COMPLETE, JOB_FAIL */
		session = d->session;
		cmd.type = rq->kind == PROTO_JOB_COMPLETE ? PROTO_CMD_JOB_COMPLETE
							  : PROTO_CMD_JOB_FAIL;
		cmd.u.job_done.queue = d->queue;
		cmd.u.job_done.job_id = d->job_id;
		cmd.u.job_done.session = session;
		cmd.u.job_done.token = d->token;
		cmd.u.job_done.result = d->result;
		cmd.u.job_done.to_tail = d->to_tail;
		name = d->queue;
		break;
	}
	if (rq->kind != PROTO_JOB_ENQUEUE && !session_ok(cl, rq, session))
		return;
	if (name.len == 0) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
		return;
	}
	rc = api_propose_req(cl, rq, &cmd, done, &q);
	if (rc != COORD_OK) {
		api_send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	q->arg = session;
	memcpy(q->name, name.data, name.len);
	q->name_len = name.len;
}
