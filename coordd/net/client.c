/*
 * coordd/net/client.c: client connections -- accepting them, the HELLO
 * exchange, decoding each request and handing it to coordd/api/ (which
 * says what it means), leader-change pushes, and closing.
 *
 * Writes are served by the leader only: a follower answers
 * COORD_ENOTLEADER with the leader's node id as leader_hint, and the
 * client goes there (libcoord maps node ids to endpoints through the
 * HELLO replies). Each write becomes one proto_entry [client_id,
 * sequence, ack, now_ms, cmd] proposed to Raft; its reply is the fsm's,
 * so a retry of the same (client_id, sequence) gets the first reply.
 * Reads are linearizable through ReadIndex on any node (a follower asks
 * the leader), or serializable from the local state on request.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordd/api/api.h"
#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/frame.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/wire.h"

/* ---------------------------------------------------------------------- */
/* Handlers. */

static void on_hello(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct proto_response r;
	char why[256];

	memset(&r, 0, sizeof(r));
	r.kind = PROTO_HELLO;
	r.request_id = rq->request_id;
	r.code = proto_hello_check(rq->u.hello.version, rq->u.hello.cluster_id,
				   PROTO_VERSION, net->cfg->cluster_id, why,
				   sizeof(why));
	r.leader_hint = api_leader_hint(net);
	r.has_body = true;
	r.u.hello.version = PROTO_VERSION;
	r.u.hello.node_id = net->id;
	r.u.hello.node_name = proto_bytes_make(net->cfg->name,
					       strlen(net->cfg->name));
	r.u.hello.cluster_id = net->cfg->cluster_id;
	if (r.code != COORD_OK) {
		log_warn("client addr=%s: hello refused: %s", cl->conn->addr,
			 why);
	} else {
		cl->hello = true;
		conn_hello_deadline(cl->conn, false);
		/* Identified: frames up to --max-frame-bytes from now on, and
		 * an idle timeout instead of the HELLO deadline. */
		cl->conn->body_max = net->cfg->max_frame_bytes;
		conn_idle_timeout(cl->conn, net->cfg->conn_idle_ms);
	}
	api_send(cl, &r);
}

static int client_frame(struct conn *c, const uint8_t *body, size_t len)
{
	struct client *cl = c->ctx;
	struct net *net = cl->net;
	struct proto_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	proto_arena_reset(&net->arena);
	rc = proto_request_decode(body, len, &net->arena, &rq);
	if (rq.kind < sizeof(net->requests_by_kind) /
			      sizeof(net->requests_by_kind[0]))
		net->requests_by_kind[rq.kind]++;
	if (rc != COORD_OK) {
		log_warn("client addr=%s: bad request kind=%" PRIu32 ": %s",
			 c->addr, rq.kind, coord_strerror(rc));
		api_send_error(cl, rq.kind, rq.request_id, rc);
		return 0;
	}
	if (!cl->hello && rq.kind != PROTO_HELLO) {
		log_warn("client addr=%s: %s before HELLO: closing", c->addr,
			 proto_kind_name(rq.kind));
		api_send_error(cl, rq.kind, rq.request_id, COORD_EPROTOVERSION);
		return 1;
	}
	if (rq.kind == PROTO_HELLO)
		on_hello(cl, &rq);
	else
		api_request(cl, &rq);
	return 0;
}

void clients_leader_changed(struct net *net, uint64_t leader, uint64_t term)
{
	for (struct client *cl = net->clients; cl != NULL; cl = cl->next) {
		struct proto_push p;

		if (cl->conn == NULL || !cl->hello || cl->n_watches == 0)
			continue;
		memset(&p, 0, sizeof(p));
		p.kind = PROTO_PUSH_LEADER_CHANGE;
		p.u.leader_change.leader = leader;
		p.u.leader_change.term = term;
		api_send_push(cl, &p);
	}
}

/* ---------------------------------------------------------------------- */
/* Connections. */

void client_maybe_free(struct client *cl)
{
	struct net *net = cl->net;

	if (cl->conn != NULL || cl->n_reqs > 0)
		return;
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		net->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	net->n_clients--;
	free(cl);
}

static void client_closed(struct conn *c, const char *why)
{
	struct client *cl = c->ctx;

	log_debug("client addr=%s closed: %s", c->addr, why);
	cl->conn = NULL;
	watches_close(cl);
	locks_client_closed(cl);
	leases_client_closed(cl);
	/* Requests in flight complete into the void (their entries may
	 * still commit: exactly-once makes the client's retry safe). */
	client_maybe_free(cl);
}

/* Idle but holding watches or waiting on the node: not idle. */
static bool client_idle_keep(struct conn *c)
{
	const struct client *cl = c->ctx;

	return cl->n_watches > 0 || cl->n_reqs > 0 || conn_output_len(c) > 0;
}

/* The output drained below its low mark: watches held back by a full
 * output go on with the next flush. */
static void client_drained(struct conn *c)
{
	const struct client *cl = c->ctx;

	if (cl->n_watches > 0)
		net_kick(cl->net);
}

static const struct conn_ops client_ops = { client_frame, client_closed,
					    client_drained, NULL };

void client_accept(struct net *net, struct bufferevent *bev,
		   const char *addr)
{
	struct client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL) {
		bufferevent_free(bev);
		return;
	}
	cl->net = net;
	/* Until HELLO: a HELLO-sized frame at most (proto/limits.h). */
	cl->conn = conn_new(net, bev, &client_ops, cl,
			    COORD_HELLO_FRAME_BYTES_MAX, addr);
	if (cl->conn == NULL) {
		free(cl);
		return;
	}
	conn_budget_join(cl->conn);
	cl->conn->idle_keep = client_idle_keep;
	conn_hello_deadline(cl->conn, true);
	cl->next = net->clients;
	if (net->clients != NULL)
		net->clients->prev = cl;
	net->clients = cl;
	net->n_clients++;
	net->client_conns_total++;
}

size_t clients_in_flight(const struct net *net)
{
	size_t n = 0;

	for (const struct client *cl = net->clients; cl != NULL; cl = cl->next)
		n += cl->n_reqs;
	return n;
}

void clients_stop(struct net *net)
{
	struct client *cl = net->clients;

	while (cl != NULL) {
		struct client *next = cl->next;   /* cl may be freed */

		if (cl->conn != NULL && cl->n_reqs == 0)
			conn_close_after_flush(cl->conn);
		cl = next;
	}
}

void clients_free(struct net *net)
{
	while (net->clients != NULL) {
		struct client *cl = net->clients;

		while (cl->reqs != NULL) {
			struct req *q = cl->reqs;

			node_waiter_cancel(net->node, &q->w);
			cl->reqs = q->next;
			free(q->bounds);
			free(q);
		}
		cl->n_reqs = 0;
		if (cl->conn != NULL)
			conn_close(cl->conn, "shutting down");
		else
			client_maybe_free(cl);
	}
}

