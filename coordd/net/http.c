/*
 * coordd/net/http.c: GET /health and GET /metrics (evhttp).
 *
 * /health: 200 when this node knows a leader and has applied everything
 * up to its own commit index, and that commit index is within
 * HEALTH_LAG_MAX entries of what the node last heard from the leader
 * (its commit index is the leader's as of the last heartbeat); 503
 * otherwise. The body is JSON naming the reason.
 *
 * /metrics: the Prometheus text format (version 0.0.4).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "coordd/net/net_int.h"
#include "coordd/store/store.h"
#include "proto/errors.h"
#include "proto/wire.h"
#include "raft/raft.h"

#define HEALTH_LAG_MAX 1000

static void health_cb(struct evhttp_request *req, void *arg)
{
	struct net *net = arg;
	struct raft *r = node_raft(net->node);
	struct evbuffer *b = evbuffer_new();
	uint64_t applied = fsm_applied_index(node_fsm(net->node));
	uint64_t raft_applied = raft_applied_index(r);
	uint64_t commit = raft_commit_index(r);
	const char *why = NULL;

	if (raft_applied > applied)
		applied = raft_applied;
	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	if (raft_leader(r) == 0)
		why = "no leader known";
	else if (commit > applied + HEALTH_LAG_MAX)
		why = "applying behind the commit index";
	else if (net->stopping)
		why = "stopping";
	evbuffer_add_printf(
		b,
		"{\"health\":%s,\"reason\":\"%s\",\"leader\":\"%016" PRIx64
		"\",\"term\":%" PRIu64 ",\"commit_index\":%" PRIu64
		",\"applied_index\":%" PRIu64 "}\n",
		why == NULL ? "true" : "false", why == NULL ? "" : why,
		raft_leader(r), raft_term(r), commit, applied);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evhttp_send_reply(req, why == NULL ? 200 : 503,
			  why == NULL ? "OK" : "Service Unavailable", b);
	evbuffer_free(b);
}

static void metric(struct evbuffer *b, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
			    name, help, name, type, name, v);
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct net *net = arg;
	struct raft *r = node_raft(net->node);
	const struct node_stats *st = node_stats(net->node);
	struct evbuffer *b = evbuffer_new();
	uint64_t cum = 0;

	if (b == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	metric(b, "coord_raft_term", "gauge", "Current Raft term.",
	       raft_term(r));
	metric(b, "coord_raft_is_leader", "gauge",
	       "1 when this node is the leader.", raft_is_leader(r) ? 1 : 0);
	metric(b, "coord_raft_leader_changes_total", "counter",
	       "Leader changes seen by this node.", st->leader_changes);
	metric(b, "coord_raft_commit_index", "gauge", "Raft commit index.",
	       raft_commit_index(r));
	metric(b, "coord_raft_applied_index", "gauge",
	       "Last index applied to the state machine.",
	       raft_applied_index(r));
	metric(b, "coord_fsm_revision", "gauge", "Keyspace revision.",
	       fsm_revision(node_fsm(net->node)));
	metric(b, "coord_proposals_committed_total", "counter",
	       "Proposals of this node applied with their term.",
	       st->proposals_committed);
	metric(b, "coord_proposals_failed_total", "counter",
	       "Proposals of this node lost to another leader or timed out.",
	       st->proposals_failed);
	metric(b, "coord_snapshots_made_total", "counter",
	       "Log compactions.", st->snapshots_made);
	metric(b, "coord_snapshots_installed_total", "counter",
	       "Snapshots received and installed.", st->snapshots_installed);
	evbuffer_add_printf(b,
			    "# HELP coord_fsync_seconds Time of one synced store "
			    "write (one per Ready).\n"
			    "# TYPE coord_fsync_seconds histogram\n");
	for (int i = 0; i < 16; i++) {
		cum += st->fsync_hist[i];
		evbuffer_add_printf(b,
				    "coord_fsync_seconds_bucket{le=\"%.6f\"} %" PRIu64
				    "\n",
				    (double)(2u << i) / 1e6, cum);
	}
	evbuffer_add_printf(b,
			    "coord_fsync_seconds_bucket{le=\"+Inf\"} %" PRIu64
			    "\ncoord_fsync_seconds_sum %.6f\n"
			    "coord_fsync_seconds_count %" PRIu64 "\n",
			    st->fsyncs, (double)st->fsync_ns_total / 1e9,
			    st->fsyncs);
	metric(b, "coord_ready_batches_total", "counter",
	       "Readies processed.", st->readies);
	metric(b, "coord_ready_entries_total", "counter",
	       "Log entries persisted, summed over Readies.",
	       st->ready_entries);
	metric(b, "coord_ready_batch_entries_max", "gauge",
	       "Most entries persisted in one Ready.", st->ready_batch_max);
	evbuffer_add_printf(b, "# HELP coord_ready_batch_entries Entries "
			       "persisted per Ready (group commit).\n# TYPE "
			       "coord_ready_batch_entries histogram\n");
	cum = 0;
	for (int i = 0; i < 11; i++) {
		cum += st->ready_batch_hist[i];
		evbuffer_add_printf(b,
				    "coord_ready_batch_entries_bucket{le=\"%u\"} %" PRIu64
				    "\n",
				    1u << i, cum);
	}
	cum += st->ready_batch_hist[11];
	evbuffer_add_printf(b,
			    "coord_ready_batch_entries_bucket{le=\"+Inf\"} %" PRIu64
			    "\ncoord_ready_batch_entries_sum %" PRIu64
			    "\ncoord_ready_batch_entries_count %" PRIu64 "\n",
			    cum, st->ready_entries, cum);
	metric(b, "coord_client_connections", "gauge",
	       "Open client connections.", net->n_clients);
	metric(b, "coord_client_connections_total", "counter",
	       "Client connections accepted.", net->client_conns_total);
	evbuffer_add_printf(b, "# HELP coord_requests_total Client requests by "
			       "kind.\n# TYPE coord_requests_total counter\n");
	for (uint32_t k = 1; k <= PROTO_KIND_LAST; k++)
		evbuffer_add_printf(b,
				    "coord_requests_total{kind=\"%s\"} %" PRIu64
				    "\n",
				    proto_kind_name(k), net->requests_by_kind[k]);
	evbuffer_add_printf(b, "# HELP coord_request_errors_total Error "
			       "replies by code.\n# TYPE "
			       "coord_request_errors_total counter\n");
	for (int c = 1; c < 32; c++) {
		if (net->errors_by_code[c] == 0)
			continue;
		evbuffer_add_printf(b,
				    "coord_request_errors_total{code=\"%s\"} %" PRIu64
				    "\n",
				    coord_error_name(c), net->errors_by_code[c]);
	}
	{
		uint64_t hash = 0;

		if (fsm_hash(node_fsm(net->node), &hash) == COORD_OK) {
			evbuffer_add_printf(
				b,
				"# HELP coord_state_hash hash of the fsm state "
				"at coord_fsm_applied_index (kept at apply: "
				"O(1)).\n"
				"# TYPE coord_state_hash gauge\n"
				"coord_state_hash{hex=\"%016" PRIx64 "\"} 1\n"
				"coord_fsm_applied_index %" PRIu64 "\n",
				hash, fsm_applied_index(node_fsm(net->node)));
		}
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void other_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "try /health or /metrics");
}

int http_init(struct net *net, char *err, size_t errlen)
{
	char host[CONFIG_STR_MAX];
	unsigned port;

	if (net->cfg->http_addr[0] == '\0' ||
	    strcmp(net->cfg->http_addr, "off") == 0)
		return 0;
	if (!config_split_addr(net->cfg->http_addr, host, sizeof(host),
			       &port)) {
		snprintf(err, errlen, "--http-addr \"%s\": not host:port",
			 net->cfg->http_addr);
		return -1;
	}
	net->http = evhttp_new(net->base);
	if (net->http == NULL ||
	    evhttp_bind_socket(net->http, host, (ev_uint16_t)port) != 0) {
		snprintf(err, errlen, "http listener on %s: cannot bind",
			 net->cfg->http_addr);
		return -1;
	}
	evhttp_set_allowed_methods(net->http, EVHTTP_REQ_GET);
	evhttp_set_cb(net->http, "/health", health_cb, net);
	evhttp_set_cb(net->http, "/metrics", metrics_cb, net);
	evhttp_set_gencb(net->http, other_cb, net);
	return 0;
}
