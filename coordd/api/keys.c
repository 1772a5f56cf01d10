/*
 * coordd/api/keys.c: the key-value requests -- put, delete, txn and
 * compact (writes, served by the leader through Raft) and range (a
 * linearizable read through ReadIndex on any node, or a serializable one
 * from the local state).
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

/* Room in a response frame for the envelope of a range reply. */
#define RANGE_ENVELOPE_BYTES 1024

/*
 * A RANGE reply that fits (docs/protocol.md, Limits): at most
 * --max-range-keys keys however many the request asks for (0: all), and
 * no more keys than fit a COORD_RESPONSE_FRAME_BYTES_MAX frame; either
 * cut sets `more`. The fsm copies at most the limit's keys (a sorted range
 * compares them all first).
 */
static void range_serve(struct client *cl, uint32_t kind, uint64_t request_id,
			const struct proto_range *req)
{
	struct proto_range r = *req;
	struct proto_reply rp;
	int rc;

	if (r.limit == 0 || r.limit > cl->net->cfg->max_range_keys)
		r.limit = cl->net->cfg->max_range_keys;
	rc = fsm_range(node_fsm(cl->net->node), &r, &rp);
	if (rc != COORD_OK && rp.code == COORD_OK) {
		api_send_error(cl, kind, request_id, rc);
		return;
	}
	if (rc == COORD_OK) {
		struct proto_range_reply *rr = &rp.u.range;
		size_t used = 0;

		for (size_t i = 0; i < rr->n_kvs; i++) {
			/* Each kv: its bytes and at most 64 of msgpack. */
			used += 64 + rr->kvs[i].key.len + rr->kvs[i].value.len;
			if (used > COORD_RESPONSE_FRAME_BYTES_MAX -
					   RANGE_ENVELOPE_BYTES) {
				rr->n_kvs = i;
				rr->more = true;
				break;
			}
		}
	}
	api_send_kv(cl, kind, request_id, &rp);
}

static void read_done(void *ctx, int code, const uint8_t *reply, size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;

	(void)reply;
	(void)len;
	if (code == COORD_OK)
		range_serve(cl, q->kind, q->request_id, &q->range);
	else
		api_send_error(cl, q->kind, q->request_id, code);
	api_req_free(q);
}


/*
 * The limits of --max-key-bytes, --max-value-bytes and --max-txn-ops,
 * checked before a command is proposed: the fsm would refuse it the same
 * way (deterministically, on every replica), but a request that cannot
 * succeed should neither cost a log entry nor go unlogged.
 */
static int op_limits(const struct config *cfg, uint8_t type,
		     const struct proto_put *put, const struct proto_delete *del,
		     const struct proto_range *range)
{
	switch (type) {
	case PROTO_CMD_PUT:
		if (put->key.len > cfg->max_key_bytes)
			return COORD_EKEYTOOBIG;
		if (put->value.len > cfg->max_value_bytes)
			return COORD_EVALUETOOBIG;
		return COORD_OK;
	case PROTO_CMD_DELETE:
		return del->key.len > cfg->max_key_bytes ||
				       del->end.len > cfg->max_key_bytes
			       ? COORD_EKEYTOOBIG
			       : COORD_OK;
	case PROTO_CMD_RANGE:
		return range->key.len > cfg->max_key_bytes ||
				       range->end.len > cfg->max_key_bytes
			       ? COORD_EKEYTOOBIG
			       : COORD_OK;
	default:
		return COORD_OK;
	}
}

static int cmd_limits(const struct config *cfg, const struct proto_cmd *cmd)
{
	const struct proto_txn *t = &cmd->u.txn;
	int rc;

	if (cmd->type != PROTO_CMD_TXN)
		return op_limits(cfg, cmd->type, &cmd->u.put, &cmd->u.del,
				 &cmd->u.range);
	if (t->n_compares > cfg->max_txn_ops ||
	    t->n_success > cfg->max_txn_ops || t->n_failure > cfg->max_txn_ops)
		return COORD_ETXNTOOBIG;
	for (size_t i = 0; i < t->n_compares; i++)
		if (t->compares[i].key.len > cfg->max_key_bytes)
			return COORD_EKEYTOOBIG;
	for (size_t b = 0; b < 2; b++) {
		const struct proto_op *ops = b == 0 ? t->success : t->failure;
		size_t n = b == 0 ? t->n_success : t->n_failure;

		for (size_t i = 0; i < n; i++) {
			rc = op_limits(cfg, ops[i].type, &ops[i].u.put,
				       &ops[i].u.del, &ops[i].u.range);
			if (rc != COORD_OK)
				return rc;
		}
	}
	return COORD_OK;
}

bool keys_limits_ok(struct client *cl, const struct proto_request *rq,
		    const struct proto_cmd *cmd)
{
	int rc = cmd_limits(cl->net->cfg, cmd);

	if (rc == COORD_OK)
		return true;
	log_warn("client addr=%s: %s refused: %s (%s)", cl->conn->addr,
		 proto_kind_name(rq->kind), coord_strerror(rc),
		 coord_error_name(rc));
	api_send_error(cl, rq->kind, rq->request_id, rc);
	return false;
}

void keys_write(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	switch (rq->kind) {
	case PROTO_PUT:
		cmd.type = PROTO_CMD_PUT;
		cmd.u.put = rq->u.put;
		break;
	case PROTO_DELETE:
		cmd.type = PROTO_CMD_DELETE;
		cmd.u.del = rq->u.del;
		break;
	case PROTO_TXN:
		cmd = rq->u.txn;
		break;
	default:
		cmd.type = PROTO_CMD_COMPACT;
		cmd.u.compact = rq->u.compact;
		break;
	}
	if (!keys_limits_ok(cl, rq, &cmd))
		return;
	if (rq->fences.n > 0) {
		/* Applied only if every (lock, token) is the lock's current
		 * grant (coordd/fsm/fence.c), checked where it is applied. */
		struct proto_cmd inner = cmd;

		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_FENCED;
		cmd.u.fenced.fences = rq->fences.v;
		cmd.u.fenced.n_fences = rq->fences.n;
		cmd.u.fenced.cmd = &inner;
		rc = api_propose_cmd(cl, rq, &cmd);
		if (rc != COORD_OK)
			api_send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	rc = api_propose_cmd(cl, rq, &cmd);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

/* Copies b into *dst at *at. */
static struct proto_bytes bounds_copy(uint8_t *base, size_t *at,
				      struct proto_bytes b)
{
	struct proto_bytes out = { base + *at, b.len };

	if (b.len > 0)
		memcpy(base + *at, b.data, b.len);
	*at += b.len;
	return out;
}

void keys_range(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	const struct proto_range_req *r = &rq->u.range;
	struct req *q;
	size_t at = 0;

	{
		struct proto_cmd cmd;

		cmd.type = PROTO_CMD_RANGE;
		cmd.u.range = r->range;
		if (!keys_limits_ok(cl, rq, &cmd))
			return;
	}
	if (r->serializable) {
		range_serve(cl, rq->kind, rq->request_id, &r->range);
		return;
	}
	if (net->stopping) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOTLEADER);
		return;
	}
	q = api_req_new(cl, rq);
	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	/* The frame goes away: the bounds travel with the request. */
	q->range = r->range;
	q->bounds = malloc(r->range.key.len + r->range.end.len + 1);
	if (q->bounds == NULL) {
		api_req_free(q);
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	q->range.key = bounds_copy(q->bounds, &at, r->range.key);
	q->range.end = bounds_copy(q->bounds, &at, r->range.end);
	node_read(net->node, &q->w, read_done, q);
	net_kick(net);
}

