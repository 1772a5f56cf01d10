/*
 * coordd/api/register.c: exactly-once registration (REGISTER_CLIENT, the
 * rules are coordd/fsm/fsm.h's) and the leader's periodic expiry of idle
 * clients from the table.
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
/* Exactly-once registration (coordd/fsm/fsm.h). */

static void register_done(void *ctx, int code, const uint8_t *reply,
			  size_t len)
{
	struct req *q = ctx;
	struct client *cl = q->cl;
	struct proto_reply rp;
	struct proto_response r;

	if (code == COORD_OK) {
		proto_arena_reset(&cl->net->arena);
		code = proto_reply_decode(reply, len, &cl->net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	if (code == COORD_ECLIENTSFULL)
		log_warn("client addr=%s: REGISTER_CLIENT refused: the client "
			 "table is full of clients active within "
			 "client-retry-horizon-ms",
			 cl->conn != NULL ? cl->conn->addr : "-");
	if (code != COORD_OK) {
		api_send_error(cl, q->kind, q->request_id, code);
	} else {
		api_reply_start(cl, q->kind, q->request_id, &r);
		r.u.register_client.client_id = rp.u.register_client.client_id;
		api_send(cl, &r);
	}
	api_req_free(q);
}

/* One token per registration: COORD_CLIENT_REGISTER_BURST at once, then
 * COORD_CLIENT_REGISTERS_PER_S, per connection, so that no connection
 * can flood the table (it still cannot evict a recent client: the fsm
 * refuses with COORD_ECLIENTSFULL instead). */
static bool register_token_take(struct client *cl)
{
	const uint64_t per = 1000u / COORD_CLIENT_REGISTERS_PER_S;
	const uint64_t cap = COORD_CLIENT_REGISTER_BURST * per;
	uint64_t now = net_now_ms();

	if (cl->reg_last_ms == 0)
		cl->reg_tokens_ms = cap;
	else
		cl->reg_tokens_ms += now - cl->reg_last_ms;
	if (cl->reg_tokens_ms > cap)
		cl->reg_tokens_ms = cap;
	cl->reg_last_ms = now;
	if (cl->reg_tokens_ms < per)
		return false;
	cl->reg_tokens_ms -= per;
	return true;
}

void register_client(struct client *cl, const struct proto_request *rq)
{
	struct proto_cmd cmd;
	int rc;

	if (!raft_is_leader(node_raft(cl->net->node)) || cl->net->stopping) {
		api_send_error(cl, rq->kind, rq->request_id,
			   api_not_leader_code(cl->net));
		return;
	}
	if (!register_token_take(cl)) {
		log_warn("client addr=%s: REGISTER_CLIENT refused: more than "
			 "%d at once or %d/s on one connection",
			 cl->conn->addr, COORD_CLIENT_REGISTER_BURST,
			 COORD_CLIENT_REGISTERS_PER_S);
		api_send_error(cl, rq->kind, rq->request_id, COORD_EREGISTERRATE);
		return;
	}
	/* The request is not mutating: the entry has no client id. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.type = PROTO_CMD_REGISTER_CLIENT;
	cmd.u.register_client.horizon_ms =
		cl->net->cfg->client_retry_horizon_ms;
	rc = api_propose(cl, rq, &cmd, register_done);
	if (rc != COORD_OK)
		api_send_error(cl, rq->kind, rq->request_id, rc);
}

void clients_propose_expire(struct net *net)
{
	struct proto_entry en;

	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_CLIENTS_EXPIRE;
	en.cmd.u.clients_expire.now_ms = en.now_ms;
	en.cmd.u.clients_expire.idle_ms = net->cfg->client_idle_ms;
	net_propose_internal(net, &en);
}

