/*
 * coordd/api/reply.c: what every request family shares -- answering a
 * request (replies, errors, pushes), the requests waiting on the node,
 * and proposing a command to Raft under the request's exactly-once
 * identity (or none, for the server's own internal commands).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"

/* ---------------------------------------------------------------------- */
/* Replies. */

/* Every error code has its counter in net->errors_by_code[]. */
#define NET_ERROR_CODE_FITS_(name, value, message)                            \
	_Static_assert((value) >= 0 && (value) < 128, #name " has no counter");
COORD_ERRORS(NET_ERROR_CODE_FITS_)
#undef NET_ERROR_CODE_FITS_

static void api_count_error(struct net *net, int code)
{
	if (code >= 0 && (size_t)code < sizeof(net->errors_by_code) /
						  sizeof(net->errors_by_code[0]))
		net->errors_by_code[code]++;
}

uint64_t api_leader_hint(struct net *net)
{
	return raft_leader(node_raft(net->node));
}

/* Why a write is refused here: COORD_ENOTLEADER with the leader's id in
 * leader_hint, or COORD_ENOLEADER while no leader is known (an election
 * in progress, or no quorum): either way nothing was proposed. */
int api_not_leader_code(struct net *net)
{
	return api_leader_hint(net) != 0 ? COORD_ENOTLEADER : COORD_ENOLEADER;
}

void api_send(struct client *cl, const struct proto_response *r)
{
	struct conn *c = cl->conn;
	size_t mark;
	int rc;

	if (c == NULL)
		return;
	if (r->code != COORD_OK)
		api_count_error(cl->net, r->code);
	rc = conn_frame_begin(c, &mark);
	if (rc == COORD_OK)
		rc = proto_response_encode(r, &c->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(c, mark, COORD_RESPONSE_FRAME_BYTES_MAX);
	if (rc == COORD_EFRAMETOOBIG && r->code == COORD_OK) {
		/* A reply over the frame limit (a range of many large
		 * values): the client gets the error, not a closed link it
		 * would retry into the same wall. */
		struct proto_response e;

		log_warn("client addr=%s: reply to %s over %u bytes: "
			 "answered COORD_EFRAMETOOBIG (use a limit)",
			 c->addr, proto_kind_name(r->kind),
			 (unsigned)COORD_RESPONSE_FRAME_BYTES_MAX);
		memset(&e, 0, sizeof(e));
		e.kind = r->kind;
		e.request_id = r->request_id;
		e.code = COORD_EFRAMETOOBIG;
		e.leader_hint = r->leader_hint;
		api_send(cl, &e);
		return;
	}
	if (rc != COORD_OK) {
		log_warn("client addr=%s: reply to %s not sent: %s: closing",
			 c->addr, proto_kind_name(r->kind), coord_strerror(rc));
		conn_close(c, "reply not sendable");
	}
}

void api_reply_start(struct client *cl, uint32_t kind, uint64_t request_id,
		     struct proto_response *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->request_id = request_id;
	r->leader_hint = api_leader_hint(cl->net);
	r->has_body = true;
}

void api_send_error(struct client *cl, uint32_t kind, uint64_t request_id,
		       int code)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.request_id = request_id;
	r.code = code;
	r.leader_hint = api_leader_hint(cl->net);
	/* Success of a kind whose reply body is empty ([]). */
	r.has_body = code == COORD_OK;
	api_send(cl, &r);
}

void api_send_kv(struct client *cl, uint32_t kind, uint64_t request_id,
		    const struct proto_reply *reply)
{
	struct proto_response r;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.request_id = request_id;
	r.code = reply->code;
	r.leader_hint = api_leader_hint(cl->net);
	r.has_body = true;
	r.u.kv = *reply;
	api_send(cl, &r);
}

/* ---------------------------------------------------------------------- */
/* Requests waiting on the node. */

struct req *api_req_new(struct client *cl, const struct proto_request *rq)
{
	struct req *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->cl = cl;
	q->kind = rq->kind;
	q->request_id = rq->request_id;
	q->next = cl->reqs;
	if (cl->reqs != NULL)
		cl->reqs->prev = q;
	cl->reqs = q;
	cl->n_reqs++;
	return q;
}



void api_req_free(struct req *q)
{
	struct client *cl = q->cl;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		cl->reqs = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	cl->n_reqs--;
	free(q->bounds);
	free(q);
	client_maybe_free(cl);
}

void api_write_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct net *net = cl->net;
	struct proto_reply rp;

	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		proto_arena_reset(&net->arena);
		code = proto_reply_decode(reply, len, &net->arena, &rp);
		if (code == COORD_OK)
			api_send_kv(cl, q->kind, q->request_id, &rp);
		else
			api_send_error(cl, q->kind, q->request_id, code);
	}
	api_req_free(q);
}


/* One push frame on cl's connection: COORD_OK, or the encoder's or the
 * frame's error (COORD_EFRAMETOOBIG for one over the response limit). */
void api_empty_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_reply rp;

	if (code == COORD_OK) {
		proto_arena_reset(&cl->net->arena);
		code = proto_reply_decode(reply, len, &cl->net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	api_send_error(cl, q->kind, q->request_id, code);
	api_req_free(q);
}

int api_send_push(struct client *cl, const struct proto_push *p)
{
	size_t mark;
	int rc = conn_frame_begin(cl->conn, &mark);

	if (rc == COORD_OK)
		rc = proto_push_encode(p, &cl->conn->out);
	if (rc == COORD_OK)
		rc = conn_frame_send(cl->conn, mark,
				     COORD_RESPONSE_FRAME_BYTES_MAX);
	return rc;
}

/* Proposes cmd under rq's exactly-once identity (none for a kind that
 * is not mutating); done gets the fsm's reply. */
int api_propose_req(struct client *cl, const struct proto_request *rq,
		    const struct proto_cmd *cmd, node_done_fn done,
		    struct req **out)
{
	struct net *net = cl->net;
	struct proto_entry en;
	struct req *q;
	int rc;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping)
		return api_not_leader_code(net);
	en.client_id = rq->client_id;
	en.sequence = rq->sequence;
	en.ack = rq->ack;
	en.now_ms = net_cluster_now_ms(net);
	en.cmd = *cmd;
	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(&en, &net->scratch);
	if (rc != COORD_OK)
		return rc;
	q = api_req_new(cl, rq);
	if (q == NULL)
		return COORD_ENOMEM;
	rc = node_propose(net->node, net->scratch.data, net->scratch.len,
			  &q->w, done, q);
	if (rc != COORD_OK) {
		api_req_free(q);
		return rc;
	}
	net_kick(net);
	if (out != NULL)
		*out = q;
	return COORD_OK;
}

int api_propose(struct client *cl, const struct proto_request *rq,
		const struct proto_cmd *cmd, node_done_fn done)
{
	return api_propose_req(cl, rq, cmd, done, NULL);
}

int api_propose_cmd(struct client *cl, const struct proto_request *rq,
		       const struct proto_cmd *cmd)
{
	return api_propose(cl, rq, cmd, api_write_done);
}

/* ---------------------------------------------------------------------- */
/* Internal proposals. */

void api_internal_done(void *ctx, int code, const uint8_t *reply,
			size_t len)
{
	(void)reply;
	(void)len;
	if (code != COORD_OK)
		log_debug("internal proposal not applied: %s",
			  coord_strerror(code));
	free(ctx);
}

int net_propose_internal(struct net *net, const struct proto_entry *en)
{
	struct node_waiter *w;
	int rc;

	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(en, &net->scratch);
	if (rc != COORD_OK)
		return rc;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return COORD_ENOMEM;
	rc = node_propose(net->node, net->scratch.data, net->scratch.len, w,
			  api_internal_done, w);
	if (rc != COORD_OK)
		free(w);
	return rc;
}

