/*
 * coordd/api/quota.c: the storage quotas on the server (quota13,
 * docs/quota.md) -- ALARM_LIST and ALARM_DISARM, the leader's QUOTA_SET
 * when the replicated quotas differ from its flags, and the log lines
 * of the NOSPACE alarm. The rules themselves are the fsm's
 * (coordd/fsm/quota.c): every replica judges on replicated values.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "coordd/api/api.h"
#include "proto/errors.h"
#include "proto/msg.h"
#include "proto/wire.h"

/* Ticks between two looks at the replicated quotas (leader) and at the
 * alarm (every node). */
#define QUOTA_TICKS 10

uint64_t quota_alarms(struct net *net)
{
	struct fsm_quota_info q;

	fsm_quota(node_fsm(net->node), &q);
	return q.alarm ? PROTO_ALARM_NOSPACE : 0;
}

void quota_request(struct client *cl, const struct proto_request *rq)
{
	struct proto_response r;
	struct fsm_quota_info q;
	struct proto_cmd cmd;
	int rc;

	if (rq->kind == PROTO_ALARM_DISARM) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.type = PROTO_CMD_ALARM_DISARM;
		log_info("client addr=%s: ALARM_DISARM", cl->conn->addr);
		rc = api_propose_cmd(cl, rq, &cmd);
		if (rc != COORD_OK)
			api_send_error(cl, rq->kind, rq->request_id, rc);
		return;
	}
	fsm_quota(node_fsm(cl->net->node), &q);
	memset(&r, 0, sizeof(r));
	r.kind = rq->kind;
	r.request_id = rq->request_id;
	r.code = COORD_OK;
	r.leader_hint = api_leader_hint(cl->net);
	r.has_body = true;
	r.u.alarm.alarms = q.alarm ? PROTO_ALARM_NOSPACE : 0;
	r.u.alarm.alarm_index = q.alarm_index;
	r.u.alarm.quota_bytes = q.quota_bytes;
	r.u.alarm.kv_bytes = q.kv_bytes;
	r.u.alarm.coord_quota_bytes = q.coord_quota_bytes;
	r.u.alarm.coord_bytes = q.coord_bytes;
	api_send(cl, &r);
}

void quota_tick(struct net *net)
{
	const struct config *cfg = net->cfg;
	struct fsm_quota_info q;
	struct proto_entry en;

	if (net->tick_count % QUOTA_TICKS != 0)
		return;
	fsm_quota(node_fsm(net->node), &q);
	/* Once per change, on every node: the operator's signal. */
	if (q.alarm != net->quota_alarm_logged) {
		net->quota_alarm_logged = q.alarm;
		if (q.alarm)
			log_warn("alarm NOSPACE raised index=%" PRIu64
				 " kv_bytes=%" PRIu64 " quota_bytes=%" PRIu64
				 ": writes of values are refused "
				 "(COORD_ENOSPACE) until compaction frees "
				 "space or an admin disarms it",
				 q.alarm_index, q.kv_bytes, q.quota_bytes);
		else
			log_info("alarm NOSPACE cleared kv_bytes=%" PRIu64
				 " quota_bytes=%" PRIu64,
				 q.kv_bytes, q.quota_bytes);
	}
	if (!raft_is_leader(node_raft(net->node)) || net->stopping)
		return;
	if (q.quota_bytes == cfg->quota_bytes &&
	    q.coord_quota_bytes == cfg->coord_quota_bytes &&
	    (q.set || (cfg->quota_bytes == 0 && cfg->coord_quota_bytes == 0)))
		return;
	/* A retry of one still in flight applies the same values again:
	 * harmless. */
	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_QUOTA_SET;
	en.cmd.u.quota_set.quota_bytes = cfg->quota_bytes;
	en.cmd.u.quota_set.coord_quota_bytes = cfg->coord_quota_bytes;
	if (net_propose_internal(net, &en) == COORD_OK)
		log_info("QUOTA_SET proposed quota_bytes=%" PRIu64
			 " coord_quota_bytes=%" PRIu64 " (was %" PRIu64
			 " and %" PRIu64 ")",
			 cfg->quota_bytes, cfg->coord_quota_bytes,
			 q.quota_bytes, q.coord_quota_bytes);
}
