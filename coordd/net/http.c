/*
 * coordd/net/http.c: GET /health and GET /metrics over plain HTTP/1.x.
 *
 * /health: 200 when this node knows a leader and has applied everything
 * up to its own commit index, and that commit index is within
 * HEALTH_LAG_MAX entries of what the node last heard from the leader
 * (its commit index is the leader's as of the last heartbeat); 503
 * otherwise. The body is JSON naming the reason.
 *
 * /metrics: the Prometheus text format (version 0.0.4); with
 * --metrics-no-state, without the state hash and the per-kind counters.
 *
 * The listener is for a scraper on a trusted network (bind it to
 * loopback, docs/security.md), and it is bounded as if it were not: one
 * request per connection, its head at most HTTP_HEAD_BYTES_MAX bytes
 * (431 above), no body (413 for a request that announces one), GET only
 * (405), the whole exchange within --http-timeout-ms, and at most
 * --max-http-connections at once (more are closed at accept). That is
 * why it is a few lines of its own rather than evhttp, which has no
 * connection cap.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "coordd/net/net_int.h"
#include "coordd/store/store.h"
#include "proto/errors.h"
#include "proto/wire.h"
#include "raft/raft.h"

/* The request line and headers together. */
#define HTTP_HEAD_BYTES_MAX 8192

#define HEALTH_LAG_MAX 1000

/* The body of /health into b; returns the status (200 or 503). */
static int health_body(struct net *net, struct evbuffer *b)
{
	struct raft *r = node_raft(net->node);
	uint64_t applied = fsm_applied_index(node_fsm(net->node));
	uint64_t raft_applied = raft_applied_index(r);
	uint64_t commit = raft_commit_index(r);
	const char *why = NULL;

	if (raft_applied > applied)
		applied = raft_applied;
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
	return why == NULL ? 200 : 503;
}

static void metric(struct evbuffer *b, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
			    name, help, name, type, name, v);
}

/* The metrics of the connection budgets and limits (issues 12 and 14). */
static void metrics_limits(struct net *net, struct evbuffer *b)
{
	metric(b, "coord_client_input_buffered_bytes", "gauge",
	       "Client input buffered in unfinished frames, node-wide.",
	       net->in_bytes);
	metric(b, "coord_client_output_buffered_bytes", "gauge",
	       "Client output not yet read by the clients, node-wide.",
	       net->out_bytes);
	metric(b, "coord_client_input_paused_connections", "gauge",
	       "Client connections not read now: input budget spent.",
	       net->in_paused);
	metric(b, "coord_client_input_paused_total", "counter",
	       "Client connections paused for the input budget.",
	       net->in_paused_total);
	metric(b, "coord_client_frame_timeouts_total", "counter",
	       "Client connections closed for a frame unfinished after "
	       "--frame-timeout-ms.", net->frame_timeouts_total);
	metric(b, "coord_client_output_budget_closed_total", "counter",
	       "Client connections closed as the slowest readers when the "
	       "output budget was spent.", net->out_budget_closed_total);
	metric(b, "coord_client_slow_reader_closed_total", "counter",
	       "Client connections closed for output unread over "
	       "--slow-reader-ms.", net->slow_reader_closed_total);
	metric(b, "coord_client_hello_frame_refused_total", "counter",
	       "Client connections closed for a frame over the HELLO size "
	       "before HELLO.", net->hello_frame_refused_total);
	metric(b, "coord_client_idle_closed_total", "counter",
	       "HELLO'd client connections closed after --conn-idle-ms.",
	       net->client_idle_closed_total);
	metric(b, "coord_watches", "gauge", "Watches on this node.",
	       net->n_watches);
	metric(b, "coord_watch_reads_total", "counter",
	       "History reads for one watch (a watch a commit may match, "
	       "or one catching up).", net->watch_reads_total);
	metric(b, "coord_accept_errors_total", "counter",
	       "Failed accepts (EMFILE, ENFILE...) on the client and peer "
	       "listeners.", net->accept_errors_total);
	metric(b, "coord_peer_refused_total", "counter",
	       "Peer connections closed at accept: too many open.",
	       net->peer_refused_total);
	metric(b, "coord_http_refused_total", "counter",
	       "HTTP connections closed at accept: --max-http-connections.",
	       net->http_refused_total);
}

/* Leases, sessions and locks (issue 8): the fsm's counts, which every
 * member reports alike, and this node's own counters. */
static void metrics_locks(struct net *net, struct evbuffer *b)
{
	struct fsm *f = node_fsm(net->node);

	metric(b, "coord_leases", "gauge", "Live leases, sessions included.",
	       fsm_leases_count(f));
	metric(b, "coord_sessions", "gauge", "Live sessions.",
	       fsm_sessions_count(f));
	metric(b, "coord_lock_holds", "gauge",
	       "Lock grants held (a shared lock counts each holder; "
	       "semaphore permits count too).",
	       fsm_holds_count(f));
	metric(b, "coord_lock_waiters", "gauge",
	       "Acquires queued on locks and semaphores, all together.",
	       fsm_waiters_count(f));
	metric(b, "coord_keepalive_commands_total", "counter",
	       "LEASE_KEEPALIVE commands this node proposed (each a batch).",
	       net->ka_batches_total);
	metric(b, "coord_keepalives_total", "counter",
	       "Lease and session keepalives in those commands.",
	       net->ka_total);
	metric(b, "coord_lease_expires_total", "counter",
	       "LEASE_EXPIREs this node proposed as leader.",
	       net->expires_total);
	metric(b, "coord_lease_expires_timed_total", "counter",
	       "Of those, proposed at the lease's due time by the timer set "
	       "between two ticks.", net->expires_timed_total);
	metric(b, "coord_lock_grants_pushed_total", "counter",
	       "Grants of queued acquires pushed to this node's clients.",
	       net->grants_pushed_total);
	metric(b, "coord_lock_grants_withheld_total", "counter",
	       "Grants not reported: the session was past its TTL on this "
	       "node's clock (it is expired instead).",
	       net->grants_withheld_total);
	metric(b, "coord_sem_grants_pushed_total", "counter",
	       "Of those pushed grants: semaphore permits.",
	       net->sem_grants_pushed_total);
	metric(b, "coord_queue_kicks_total", "counter",
	       "QUEUE_KICKs this node proposed (lock-delays ended, waiter "
	       "deadlines passed).", net->kicks_total);
	metric(b, "coord_queue_wake_scans_total", "counter",
	       "Reads of every queue for the QUEUE_KICK times: one each "
	       "time this node becomes leader (applied commands keep them "
	       "after that).", locks_kick_scans(net));
}

/* quota13: the storage quotas (docs/quota.md), replicated state. */
static void metrics_quota(struct net *net, struct evbuffer *b)
{
	struct fsm_quota_info q;

	fsm_quota(node_fsm(net->node), &q);
	metric(b, "coord_alarm_nospace", "gauge",
	       "1 while the NOSPACE alarm is raised (values refused).",
	       q.alarm ? 1 : 0);
	metric(b, "coord_quota_bytes", "gauge",
	       "Keyspace quota in force (replicated; 0: none).",
	       q.quota_bytes);
	metric(b, "coord_keyspace_bytes", "gauge",
	       "Bytes the keyspace quota counts (keys, values, history).",
	       q.kv_bytes);
	metric(b, "coord_coord_quota_bytes", "gauge",
	       "Coordination state budget in force (replicated; 0: none).",
	       q.coord_quota_bytes);
	metric(b, "coord_coord_state_bytes", "gauge",
	       "Bytes of sessions, leases, queues and jobs.", q.coord_bytes);
}

/* The body of /metrics into b. */
static void metrics_body(struct net *net, struct evbuffer *b)
{
	struct raft *r = node_raft(net->node);
	const struct node_stats *st = node_stats(net->node);
	uint64_t cum = 0, cache_hits, cache_misses, wb_deferred, wb_flushes;
	bool state = !net->cfg->metrics_no_state;

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
			    "write (one per Ready with entries or a new term "
			    "or vote).\n"
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
	store_cache_stats(node_store(net->node), &cache_hits, &cache_misses);
	metric(b, "coord_store_cache_hits_total", "counter",
	       "State machine record reads answered by the read cache.",
	       cache_hits);
	metric(b, "coord_store_cache_misses_total", "counter",
	       "State machine record reads that went to LevelDB.",
	       cache_misses);
	store_writeback_stats(node_store(net->node), &wb_deferred, &wb_flushes);
	metric(b, "coord_store_writes_deferred_total", "counter",
	       "State machine commands whose writes waited in the read "
	       "cache for the next flush.", wb_deferred);
	metric(b, "coord_store_flushes_total", "counter",
	       "Batches of waiting state machine writes written to LevelDB.",
	       wb_flushes);
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
	metrics_limits(net, b);
	metrics_locks(net, b);
	metrics_quota(net, b);
	if (state) {
		evbuffer_add_printf(b, "# HELP coord_requests_total Client "
				       "requests by kind.\n# TYPE "
				       "coord_requests_total counter\n");
		for (uint32_t k = 1; k <= PROTO_KIND_LAST; k++) {
			/* A number with no kind (yet): no series. */
			if (proto_kind_name(k)[0] == '?')
				continue;
			evbuffer_add_printf(
				b, "coord_requests_total{kind=\"%s\"} %" PRIu64
				   "\n",
				proto_kind_name(k), net->requests_by_kind[k]);
		}
	}
	evbuffer_add_printf(b, "# HELP coord_request_errors_total Error "
			       "replies by code.\n# TYPE "
			       "coord_request_errors_total counter\n");
	for (int c = 1; c < (int)(sizeof(net->errors_by_code) /
				   sizeof(net->errors_by_code[0])); c++) {
		if (net->errors_by_code[c] == 0)
			continue;
		evbuffer_add_printf(b,
				    "coord_request_errors_total{code=\"%s\"} %" PRIu64
				    "\n",
				    coord_error_name(c), net->errors_by_code[c]);
	}
	if (state) {
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
}

/* ---------------------------------------------------------------------- */
/* The listener. */

struct http_conn {
	struct net *net;
	struct bufferevent *bev;
	struct http_conn *next;
	struct http_conn *prev;
	bool replied;               /* close once the output is written */
	bool eof;                   /* the client is done sending */
};

static void http_conn_free(struct http_conn *h)
{
	struct net *net = h->net;

	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		net->http_conns = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	net->n_http--;
	bufferevent_free(h->bev);
	free(h);
}

static void http_reply(struct http_conn *h, int status, const char *reason,
		       const char *ctype, struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(h->bev);

	evbuffer_add_printf(out,
			    "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			    status, reason, ctype,
			    body != NULL ? evbuffer_get_length(body) : 0);
	if (body != NULL)
		evbuffer_add_buffer(out, body);
	h->replied = true;
}

static void http_error(struct http_conn *h, int status, const char *reason)
{
	struct evbuffer *b = evbuffer_new();

	if (b != NULL)
		evbuffer_add_printf(b, "%d %s\n", status, reason);
	http_reply(h, status, reason, "text/plain", b);
	evbuffer_free(b);
}

/* A header line "Name: value" naming a body (Content-Length other than 0,
 * or Transfer-Encoding). */
static bool http_has_body(const char *line)
{
	if (strncasecmp(line, "transfer-encoding:", 18) == 0)
		return true;
	if (strncasecmp(line, "content-length:", 15) == 0) {
		const char *v = line + 15;

		while (*v == ' ' || *v == '\t')
			v++;
		while (*v == '0')
			v++;
		return *v != '\0' && *v != '\r';
	}
	return false;
}

/* The whole head is in head (NUL-terminated): answer it. */
static void http_serve(struct http_conn *h, char *head)
{
	struct net *net = h->net;
	char *line, *save = NULL, *method, *path, *q;
	struct evbuffer *b;
	bool first = true, body = false;

	method = path = NULL;
	for (line = strtok_r(head, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (first) {
			char *sp;

			first = false;
			method = line;
			sp = strchr(line, ' ');
			if (sp == NULL)
				break;
			*sp = '\0';
			path = sp + 1;
			sp = strchr(path, ' ');
			if (sp != NULL)
				*sp = '\0';
			continue;
		}
		body = body || http_has_body(line);
	}
	if (method == NULL || path == NULL) {
		http_error(h, 400, "Bad Request");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		http_error(h, 405, "Method Not Allowed");
		return;
	}
	if (body) {
		http_error(h, 413, "Payload Too Large");
		return;
	}
	q = strchr(path, '?');
	if (q != NULL)
		*q = '\0';
	if (strcmp(path, "/health") != 0 && strcmp(path, "/metrics") != 0) {
		http_error(h, 404, "Not Found (try /health or /metrics)");
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		http_error(h, 500, "Internal Server Error");
		return;
	}
	if (strcmp(path, "/health") == 0) {
		int status = health_body(net, b);

		http_reply(h, status,
			   status == 200 ? "OK" : "Service Unavailable",
			   "application/json", b);
	} else {
		metrics_body(net, b);
		http_reply(h, 200, "OK", "text/plain; version=0.0.4", b);
	}
	evbuffer_free(b);
}

static void http_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	size_t len = evbuffer_get_length(in);
	char head[HTTP_HEAD_BYTES_MAX + 1];

	if (h->replied) {
		/* One request per connection: the rest is dropped. */
		evbuffer_drain(in, len);
		return;
	}
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0 || (size_t)end.pos > HTTP_HEAD_BYTES_MAX) {
		if (len > HTTP_HEAD_BYTES_MAX) {
			log_warn("http connection: request head over %d bytes: "
				 "answered 431", HTTP_HEAD_BYTES_MAX);
			http_error(h, 431, "Request Header Fields Too Large");
		}
		return;
	}
	evbuffer_remove(in, head, (size_t)end.pos);
	head[end.pos] = '\0';
	http_serve(h, head);
}

/*
 * The reply is written: a lingering close. Closing with unread input
 * would make the kernel answer with a reset that can destroy the reply
 * before the client reads it (a 431 to an oversized head always leaves
 * input unread), so: FIN, then drop what comes until the client closes
 * or --http-timeout-ms passes.
 */
static void http_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *h = arg;

	if (!h->replied || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (h->eof) {
		http_conn_free(h);
		return;
	}
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void http_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *h = arg;

	if ((what & BEV_EVENT_EOF) && h->replied &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		/* A client that closed its side after the request: the
		 * reply still goes out (http_write_cb() closes). */
		h->eof = true;
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_info("http connection: no request within %u ms: closing",
			 h->net->cfg->http_timeout_ms);
	http_conn_free(h);
}

static void http_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
			   struct sockaddr *sa, int salen, void *arg)
{
	struct net *net = arg;
	struct http_conn *h;
	unsigned ms = net->cfg->http_timeout_ms;
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };

	(void)lis;
	(void)sa;
	(void)salen;
	if (net->n_http >= net->cfg->max_http_connections) {
		uint64_t now = net_now_ms();

		net->http_refused_total++;
		if (now - net->http_refused_log_ms >= NET_ACCEPT_LOG_MS) {
			log_warn("refused http connection: "
				 "max-http-connections (%zu) reached "
				 "(%" PRIu64 " refused so far)",
				 net->cfg->max_http_connections,
				 net->http_refused_total);
			net->http_refused_log_ms = now;
		}
		evutil_closesocket(fd);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		evutil_closesocket(fd);
		return;
	}
	h->net = net;
	h->bev = bufferevent_socket_new(net->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL) {
		evutil_closesocket(fd);
		free(h);
		return;
	}
	h->next = net->http_conns;
	if (net->http_conns != NULL)
		net->http_conns->prev = h;
	net->http_conns = h;
	net->n_http++;
	bufferevent_setcb(h->bev, http_read_cb, http_write_cb, http_event_cb, h);
	/* libevent reads no more than one byte past the largest head. */
	bufferevent_setwatermark(h->bev, EV_READ, 0, HTTP_HEAD_BYTES_MAX + 1);
	bufferevent_set_timeouts(h->bev, &tv, &tv);
	bufferevent_enable(h->bev, EV_READ | EV_WRITE);
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
	net->http_lis = net_listen(net, net->cfg->http_addr, http_accept_cb,
				   err, errlen, "http");
	return net->http_lis != NULL ? 0 : -1;
}

void http_free(struct net *net)
{
	while (net->http_conns != NULL)
		http_conn_free(net->http_conns);
	if (net->http_lis != NULL)
		evconnlistener_free(net->http_lis);
	net->http_lis = NULL;
}
