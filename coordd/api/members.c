/*
 * coordd/api/members.c: the cluster's own requests -- status, the member
 * list, adding, removing and promoting members, leadership transfer --
 * and the leader's promotion of caught-up learners.
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

void members_status(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct raft *raft = node_raft(net->node);
	struct fsm *f = node_fsm(net->node);
	struct proto_response r;
	uint64_t hash = 0;
	int rc = fsm_hash(f, &hash);

	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.code = rc;
	r.leader_hint = raft_leader(raft);
	r.has_body = rc == COORD_OK;
	r.u.status.version = PROTO_VERSION;
	r.u.status.node_id = net->id;
	r.u.status.cluster_id = net->cfg->cluster_id;
	r.u.status.node_name = proto_bytes_make(net->cfg->name,
						strlen(net->cfg->name));
	r.u.status.leader = raft_leader(raft);
	r.u.status.term = raft_term(raft);
	r.u.status.revision = fsm_revision(f);
	r.u.status.applied_index = fsm_applied_index(f);
	r.u.status.commit_index = raft_commit_index(raft);
	r.u.status.state_hash = hash;
	r.u.status.alarms = quota_alarms(net);
	api_send(cl, &r);
}

void members_list(struct client *cl, const struct proto_request *rq)
{
	static struct fsm_member table[COORD_MEMBERS_MAX];
	struct net *net = cl->net;
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	struct proto_member ms[2 * RAFT_NODES_MAX];
	struct proto_response r;
	size_t n = 0, n_table = 0;
	int rc;

	rc = fsm_members(node_fsm(net->node), table, COORD_MEMBERS_MAX,
			 &n_table);
	if (rc != COORD_OK) {
		api_send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	/* Every member of the configuration, with its addresses from the
	 * member table, else from --initial-cluster. */
	for (uint32_t pass = 0; pass < 2; pass++) {
		const uint64_t *ids = pass == 0 ? conf->voters : conf->learners;
		uint32_t count = pass == 0 ? conf->n_voters : conf->n_learners;

		for (uint32_t i = 0; i < count; i++) {
			struct proto_member *m = &ms[n++];
			const char *name = "", *peer = "", *client = "";
			const char *http = "";

			for (size_t k = 0; k < n_table; k++) {
				if (table[k].id == ids[i]) {
					name = table[k].name;
					peer = table[k].peer_addr;
					client = table[k].client_addr;
					http = table[k].http_addr;
				}
			}
			for (size_t k = 0; k < net->cfg->n_members && !*name;
			     k++) {
				const struct config_member *c =
					&net->cfg->members[k];

				if (c->id == ids[i]) {
					name = c->name;
					peer = c->peer_addr;
				}
			}
			if (ids[i] == net->id)
				client = net->cfg->client_addr;
			m->id = ids[i];
			m->name = proto_bytes_make(name, strlen(name));
			m->peer_addr = proto_bytes_make(peer, strlen(peer));
			m->client_addr = proto_bytes_make(client, strlen(client));
			m->http_addr = proto_bytes_make(http, strlen(http));
			m->learner = pass == 1;
		}
	}
	api_reply_start(cl, rq->kind, rq->request_id, &r);
	r.u.member_list.members.v = ms;
	r.u.member_list.members.n = n;
	api_send(cl, &r);
}


/* Whether the learner id holds the committed log but for at most slack
 * entries (the leader's view), as promotion requires; a learner that has
 * acknowledged nothing never has. */
static bool learner_caught_up(struct raft *r, uint64_t id, uint64_t slack)
{
	uint64_t match;

	return raft_progress_match(r, id, &match) == RAFT_OK && match > 0 &&
	       match + slack >= raft_commit_index(r);
}

/* etcd's strict reconfiguration check: after the change (op on id), a
 * quorum of the voters is reachable now -- this node and the members
 * whose peer connection is up. COORD_EUNSAFE otherwise. */
static int conf_change_safe(struct net *net, enum raft_conf_op op,
			    uint64_t id)
{
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	size_t voters = 0, up = 0;

	for (uint32_t i = 0; i < conf->n_voters; i++) {
		uint64_t v = conf->voters[i];

		if (op == RAFT_CONF_REMOVE && v == id)
			continue;
		voters++;
		up += v == net->id || peer_is_up(net, v);
	}
	if (op == RAFT_CONF_ADD_VOTER && !raft_conf_is_voter(conf, id)) {
		voters++;
		up += id == net->id || peer_is_up(net, id);
	}
	return voters > 0 && up >= voters / 2 + 1 ? COORD_OK : COORD_EUNSAFE;
}

/* The checks of a client's MEMBER_PROMOTE or MEMBER_REMOVE before
 * anything is proposed: COORD_OK or COORD_EUNSAFE, logged. */
static int member_change_check(struct client *cl, uint32_t kind, uint64_t id)
{
	struct net *net = cl->net;
	struct raft *r = node_raft(net->node);
	const struct raft_conf *conf = raft_conf(r);
	const char *why = NULL;

	if (kind == PROTO_MEMBER_PROMOTE && raft_conf_is_learner(conf, id)) {
		if (!peer_is_up(net, id))
			why = "the learner is not connected";
		else if (!learner_caught_up(r, id, NET_PROMOTE_LAG_ENTRIES))
			why = "the learner has not caught up";
		else if (conf_change_safe(net, RAFT_CONF_ADD_VOTER, id) !=
			 COORD_OK)
			why = "too few voters would be reachable";
	} else if (kind == PROTO_MEMBER_REMOVE && raft_conf_is_voter(conf, id) &&
		   conf_change_safe(net, RAFT_CONF_REMOVE, id) != COORD_OK) {
		why = "too few voters would be reachable";
	}
	if (why == NULL)
		return COORD_OK;
	log_warn("client addr=%s: %s of %016" PRIx64 " refused: %s",
		 cl->conn->addr, proto_kind_name(kind), id, why);
	return COORD_EUNSAFE;
}

/* --transfer-interval-ms between two transfers asked of this node. */
static bool transfer_rate_ok(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	uint64_t now = net_now_ms();
	unsigned interval = net->cfg->transfer_interval_ms;

	if (interval == 0 || net->transfer_last_ms == 0 ||
	    now - net->transfer_last_ms >= interval)
		return true;
	log_warn("client addr=%s: TRANSFER_LEADER refused: the last one was "
		 "%" PRIu64 " ms ago (--transfer-interval-ms %u)",
		 cl->conn->addr, now - net->transfer_last_ms, interval);
	api_send_error(cl, rq->kind, rq->request_id, COORD_ERATELIMITED);
	return false;
}

/*
 * MEMBER_ADD: the member's addresses go into the replicated member table
 * first (so that every node dials it), then a Raft configuration change
 * makes it a learner; with promote (not asked for as a learner) the
 * leader makes it a voter once it has caught up (members_promote()).
 * MEMBER_REMOVE: the table entry goes, then the configuration change.
 * MEMBER_PROMOTE: ADD_VOTER at once (Raft refuses while another change is
 * pending: COORD_EINVAL, retry).
 */
static void member_conf_done(void *ctx, int code, const uint8_t *reply,
			     size_t len)
{
	struct req *q = ctx;

	(void)reply;
	(void)len;
	api_send_error(q->cl, q->kind, q->request_id, code);
	api_req_free(q);
}

static int member_conf_change(struct client *cl, struct req *q,
			      enum raft_conf_op op)
{
	const struct raft_conf *conf = raft_conf(node_raft(cl->net->node));
	bool present = raft_conf_is_voter(conf, q->member_id) ||
		       raft_conf_is_learner(conf, q->member_id);
	int rc;

	/* Only a member can be promoted. */
	if (op == RAFT_CONF_ADD_VOTER && !present)
		return COORD_ENOTFOUND;
	/* Already done (a retry after a failover): nothing to change. */
	if ((op == RAFT_CONF_ADD_LEARNER && present) ||
	    (op == RAFT_CONF_REMOVE && !present) ||
	    (op == RAFT_CONF_ADD_VOTER && raft_conf_is_voter(conf, q->member_id))) {
		member_conf_done(q, COORD_OK, NULL, 0);
		return COORD_OK;
	}
	rc = node_conf_change(cl->net->node, op, q->member_id, &q->w,
			      member_conf_done, q);
	if (rc != COORD_OK)
		return rc;
	net_kick(cl->net);
	return COORD_OK;
}

/* The member table changed (MEMBER_PUT for an add, MEMBER_DEL for a
 * remove -- the table entry goes first, so that no leader change between
 * the two steps can leave an entry of a removed member that everybody
 * keeps dialing): now the configuration. */
static void member_put_done(void *ctx, int code, const uint8_t *reply,
			    size_t len)
{
	struct req *q = ctx;
	struct proto_reply rp;

	if (code == COORD_OK) {
		proto_arena_reset(&q->cl->net->arena);
		code = proto_reply_decode(reply, len, &q->cl->net->arena, &rp);
		if (code == COORD_OK)
			code = rp.code;
	}
	if (code == COORD_OK)
		code = member_conf_change(q->cl, q,
					  q->kind == PROTO_MEMBER_ADD
						  ? RAFT_CONF_ADD_LEARNER
						  : RAFT_CONF_REMOVE);
	if (code != COORD_OK) {
		api_send_error(q->cl, q->kind, q->request_id, code);
		api_req_free(q);
	}
}

/* The member table's entry, proposed under the request's exactly-once
 * identity; member_put_done() goes on with the configuration. */
static int member_table_propose(struct net *net,
				const struct proto_request *rq,
				const struct proto_cmd *cmd, struct req *q)
{
	struct proto_entry en;
	int rc;

	en.client_id = rq->client_id;
	en.sequence = rq->sequence;
	en.ack = rq->ack;
	en.now_ms = net_cluster_now_ms(net);
	en.cmd = *cmd;
	proto_buf_clear(&net->scratch);
	rc = proto_entry_encode(&en, &net->scratch);
	if (rc == COORD_OK)
		rc = node_propose(net->node, net->scratch.data,
				  net->scratch.len, &q->w, member_put_done, q);
	if (rc == COORD_OK)
		net_kick(net);
	return rc;
}

void members_change(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	struct proto_cmd cmd;
	struct req *q;
	int rc;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping) {
		api_send_error(cl, rq->kind, rq->request_id, api_not_leader_code(net));
		return;
	}
	if (rq->kind != PROTO_MEMBER_ADD) {
		rc = member_change_check(cl, rq->kind, rq->u.member.id);
		if (rc != COORD_OK) {
			api_send_error(cl, rq->kind, rq->request_id, rc);
			return;
		}
	}
	q = api_req_new(cl, rq);
	if (q == NULL) {
		api_send_error(cl, rq->kind, rq->request_id, COORD_ENOMEM);
		return;
	}
	if (rq->kind == PROTO_MEMBER_ADD) {
		const struct proto_member *m = &rq->u.member_add.member;
		const struct raft_conf *conf = raft_conf(node_raft(net->node));
		const char *addr = peer_addr_of(net, m->id);

		/* A member again with the address it has: a retry, fine;
		 * with another address (or a name clash): refused -- remove
		 * it first. */
		if (m->id == net->id ||
		    ((raft_conf_is_voter(conf, m->id) ||
		      raft_conf_is_learner(conf, m->id)) &&
		     (strlen(addr) != m->peer_addr.len ||
		      memcmp(addr, m->peer_addr.data, m->peer_addr.len) != 0))) {
			log_warn("client addr=%s: MEMBER_ADD of %.*s refused: "
				 "already a member at another address",
				 cl->conn->addr, (int)m->name.len,
				 (const char *)m->name.data);
			api_req_free(q);
			api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
			return;
		}
		if (!raft_conf_is_voter(conf, m->id) &&
		    !raft_conf_is_learner(conf, m->id) &&
		    conf->n_voters + conf->n_learners >= RAFT_NODES_MAX) {
			/* Refused before the member table grows: Raft would
			 * refuse the configuration change anyway. */
			log_warn("client addr=%s: MEMBER_ADD refused: %d "
				 "members already", cl->conn->addr,
				 RAFT_NODES_MAX);
			api_req_free(q);
			api_send_error(cl, rq->kind, rq->request_id, COORD_EINVAL);
			return;
		}
		q->member_id = m->id;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_MEMBER_PUT;
		cmd.u.member_put.id = m->id;
		cmd.u.member_put.name = m->name;
		cmd.u.member_put.peer_addr = m->peer_addr;
		cmd.u.member_put.client_addr = m->client_addr;
		cmd.u.member_put.promote = !m->learner;
		rc = member_table_propose(net, rq, &cmd, q);
	} else if (rq->kind == PROTO_MEMBER_REMOVE) {
		q->member_id = rq->u.member.id;
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_MEMBER_DEL;
		cmd.u.member_del.id = q->member_id;
		rc = member_table_propose(net, rq, &cmd, q);
	} else {
		q->member_id = rq->u.member.id;
		rc = member_conf_change(cl, q, RAFT_CONF_ADD_VOTER);
		if (rc == COORD_OK)
			return;
	}
	if (rc != COORD_OK) {
		api_send_error(cl, rq->kind, rq->request_id, rc);
		api_req_free(q);
	}
}

bool clients_member_removing(const struct net *net, uint64_t id)
{
	for (const struct client *cl = net->clients; cl != NULL; cl = cl->next)
		for (const struct req *q = cl->reqs; q != NULL; q = q->next)
			if (q->kind == PROTO_MEMBER_REMOVE && q->member_id == id)
				return true;
	return false;
}

/* Leader: learners marked promote become voters once they hold the whole
 * committed log. One change at a time: Raft refuses the next while one
 * is pending, and the next tick tries again. */
void members_promote(struct net *net)
{
	static struct fsm_member table[COORD_MEMBERS_MAX];
	struct raft *r = node_raft(net->node);
	const struct raft_conf *conf = raft_conf(r);
	size_t n = 0;

	if (conf->n_learners == 0 ||
	    fsm_members(node_fsm(net->node), table, COORD_MEMBERS_MAX, &n) !=
		    COORD_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		struct node_waiter *w;

		if (!table[i].promote || !raft_conf_is_learner(conf, table[i].id) ||
		    !learner_caught_up(r, table[i].id, 0) ||
		    conf_change_safe(net, RAFT_CONF_ADD_VOTER, table[i].id) !=
			    COORD_OK)
			continue;
		w = calloc(1, sizeof(*w));
		if (w == NULL)
			return;
		if (node_conf_change(net->node, RAFT_CONF_ADD_VOTER,
				     table[i].id, w, api_internal_done, w) != COORD_OK) {
			free(w);
			return;
		}
		log_info("promoting learner %s (%016" PRIx64 ") to voter",
			 table[i].name, table[i].id);
		net_kick(net);
		return;
	}
}

void members_transfer(struct client *cl, const struct proto_request *rq)
{
	struct net *net = cl->net;
	uint64_t to = rq->u.member.id;
	const struct raft_conf *conf = raft_conf(node_raft(net->node));
	int rc;

	(void)conf;
	if (!transfer_rate_ok(cl, rq))
		return;
	if (to == 0)
		to = net_transfer_target(net);
	rc = node_transfer_leadership(net->node, to);
	if (rc == COORD_OK) {
		net->transfer_last_ms = net_now_ms();
		net_kick(net);
	}
	api_send_error(cl, rq->kind, rq->request_id, rc);
}

