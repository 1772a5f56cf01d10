/*
 * coordd/net/net.c: the event loop -- listeners, the tick timer, the
 * flush event (group commit once per loop turn), signals and the graceful
 * stop -- and the server's log.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent_ssl.h>
#include <event2/thread.h>

#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "raft/raft.h"

/* ---------------------------------------------------------------------- */
/* Log. */

static char log_name[64] = "coordd";
static int log_min = LOG_INFO_;

void coordd_log_init(const char *name, int min_level)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
	log_min = min_level;
}

void coordd_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };
	char msg[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr,
		"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s node=%s %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level & 3],
		log_name, msg);
}

/* ---------------------------------------------------------------------- */
/* Clock. */

uint64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * fsm.h, Time: a leader proposes the cluster clock as of when it took
 * office plus what elapsed since on its own monotonic clock. The base is
 * taken whenever this node is not leader, so it is current at the
 * moment it wins.
 */
uint64_t net_cluster_now_ms(struct net *net)
{
	return net->cluster_now_base_ms + net_now_ms();
}

/* ---------------------------------------------------------------------- */
/* The loop. */

void net_kick(struct net *net)
{
	if (!event_pending(net->flush_ev, EV_TIMEOUT, NULL)) {
		event_active(net->flush_ev, EV_TIMEOUT, 0);
		net->kick_ms = net_now_ms();
	}
}

static void stop_now(struct net *net, const char *why)
{
	log_info("stopping: %s", why);
	event_base_loopbreak(net->base);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;
	uint64_t leader_before = raft_leader(node_raft(net->node));
	uint64_t term_before = raft_term(node_raft(net->node));
	int rc;

	(void)fd;
	(void)what;
	leases_before_flush(net);
	rc = node_flush(net->node);
	if (rc != COORD_OK) {
		log_error("the store failed (%s): stopping; restart recovers "
			  "from what was synced", coord_strerror(rc));
		net->exit_status = 1;
		stop_now(net, "store failure");
		return;
	}
	if (!raft_is_leader(node_raft(net->node))) {
		uint64_t clock = fsm_clients_clock_ms(node_fsm(net->node));

		net->cluster_now_base_ms = clock - net_now_ms();
	}
	watches_after_flush(net);
	if (raft_leader(node_raft(net->node)) != leader_before ||
	    raft_term(node_raft(net->node)) != term_before)
		clients_leader_changed(net, raft_leader(node_raft(net->node)),
				       raft_term(node_raft(net->node)));
	if (node_has_ready(net->node))
		net_kick(net);
}

/* The log writer made a leader's entries durable: Raft may commit them. */
static void log_written_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;

	(void)fd;
	(void)what;
	if (node_log_progress(net->node) != COORD_OK) {
		log_error("the store failed writing the log: stopping; restart "
			  "recovers from what was synced");
		net->exit_status = 1;
		stop_now(net, "store failure");
		return;
	}
	if (node_has_ready(net->node))
		net_kick(net);
}

static bool stop_done(struct net *net)
{
	struct raft *r = node_raft(net->node);

	if (net->tick_count >= net->stop_deadline_tick)
		return true;
	if (clients_in_flight(net) > 0)
		return false;
	/* A leader waits for its transfer to finish (or give up). */
	return !raft_is_leader(r) || raft_transfer_target(r) == 0 ||
	       raft_conf(r)->n_voters <= 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;

	(void)fd;
	(void)what;
	{
		/* A loop turn long enough to cost a heartbeat: say so (the
		 * budgets exist to keep this from happening). */
		uint64_t now = net_now_ms();

		if (net->tick_last_ms != 0 &&
		    now - net->tick_last_ms > net->cfg->heartbeat_ms * 2u)
			log_warn("event loop stalled: %" PRIu64 " ms between "
				 "ticks of %u ms", now - net->tick_last_ms,
				 net->tick_ms);
		net->tick_last_ms = now;
	}
	net->tick_count++;
	node_tick(net->node);
	/* The flush has the lowest priority: a storm of client events (every
	 * turn some are active) would starve it, and with it the heartbeats.
	 * The tick has the highest and runs within NET_DISPATCH_MAX
	 * callbacks: a flush waiting longer than two ticks runs from here. */
	if (event_pending(net->flush_ev, EV_TIMEOUT, NULL) &&
	    net_now_ms() - net->kick_ms >= 2u * net->tick_ms) {
		event_del(net->flush_ev);
		flush_cb(-1, 0, net);
	}
	if (raft_is_leader(node_raft(net->node)) &&
	    net->tick_count >= net->expire_next_tick) {
		net->expire_next_tick =
			net->tick_count +
			COORD_CLIENT_EXPIRE_INTERVAL_MS / net->tick_ms;
		clients_propose_expire(net);
	}
	if (raft_is_leader(node_raft(net->node)) && net->tick_count % 10 == 0)
		members_promote(net);
	leases_tick(net);
	locks_tick(net);
	quota_tick(net);
	members_publish(net);
	net_kick(net);
	if (net->stopping && stop_done(net)) {
		node_flush(net->node);
		stop_now(net, "graceful stop complete");
	}
}

/* Picks, for the transfer, the voter other than us that we can reach and
 * whose log is the most complete (0: none reachable). */
uint64_t net_transfer_target(struct net *net)
{
	struct raft *r = node_raft(net->node);
	const struct raft_conf *conf = raft_conf(r);
	uint64_t best = 0, best_match = 0;

	for (uint32_t i = 0; i < conf->n_voters; i++) {
		uint64_t id = conf->voters[i], match = 0;

		if (id == net->id || !peer_is_up(net, id) ||
		    raft_progress_match(r, id, &match) != RAFT_OK)
			continue;
		if (best == 0 || match > best_match) {
			best = id;
			best_match = match;
		}
	}
	return best;
}

static void stop_begin(struct net *net, const char *sig)
{
	struct raft *r = node_raft(net->node);

	if (net->stopping) {
		stop_now(net, "second signal");
		return;
	}
	net->stopping = true;
	net->stop_deadline_tick =
		net->tick_count + net->cfg->shutdown_ms / net->tick_ms + 1;
	log_info("%s: stopping gracefully (at most %u ms)", sig,
		 net->cfg->shutdown_ms);
	if (net->client_lis != NULL)
		evconnlistener_disable(net->client_lis);
	if (net->accept_retry_ev != NULL)
		event_del(net->accept_retry_ev);
	clients_stop(net);
	if (raft_is_leader(r) && raft_conf(r)->n_voters > 1) {
		uint64_t to = net_transfer_target(net);

		if (to != 0 && node_transfer_leadership(net->node, to) == 0)
			log_info("transferring leadership to=%016" PRIx64, to);
		net_kick(net);
	}
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	stop_begin(arg, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---------------------------------------------------------------------- */
/* Listeners. */

static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%u", host, port);
}

static struct bufferevent *accept_bev(struct net *net, evutil_socket_t fd,
				      SSL_CTX *tls)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	if (tls != NULL) {
		SSL *ssl = SSL_new(tls);

		if (ssl == NULL) {
			evutil_closesocket(fd);
			return NULL;
		}
		return bufferevent_openssl_socket_new(
			net->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
	}
	return bufferevent_socket_new(net->base, fd, opts);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct net *net = arg;
	bool client = lis == net->client_lis;
	struct bufferevent *bev;
	char addr[96];

	(void)salen;
	addr_text(sa, addr, sizeof(addr));
	if (client && (net->n_clients >= net->max_clients ||
		       net->stopping)) {
		log_warn("refused client addr=%s: %s", addr,
			 net->stopping ? "stopping" : "max-connections reached");
		evutil_closesocket(fd);
		return;
	}
	if (!client && net->n_peer_ins >= NET_PEER_INS_MAX) {
		uint64_t now = net_now_ms();

		net->peer_refused_total++;
		if (now - net->peer_refused_log_ms >= NET_ACCEPT_LOG_MS) {
			log_warn("refused peer addr=%s: %d peer connections "
				 "open (%" PRIu64 " refused so far)", addr,
				 NET_PEER_INS_MAX, net->peer_refused_total);
			net->peer_refused_log_ms = now;
		}
		evutil_closesocket(fd);
		return;
	}
	bev = accept_bev(net, fd, client ? net->client_tls
					 : net->peer_server_tls);
	if (bev == NULL)
		return;
	if (client)
		client_accept(net, bev, addr);
	else
		peer_accept(net, bev, addr);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;

	(void)fd;
	(void)what;
	if (!net->stopping)
		evconnlistener_enable(net->client_lis);
	evconnlistener_enable(net->peer_lis);
	if (net->http_lis != NULL)
		evconnlistener_enable(net->http_lis);
}

/*
 * Out of descriptors, the connection stays in the backlog and the
 * listener is readable again at once: without a rest it would spin. So
 * both listeners rest NET_ACCEPT_RETRY_MS, and the log says it at most
 * once per NET_ACCEPT_LOG_MS with the count of failures in between.
 */
static void listener_error_cb(struct evconnlistener *lis, void *arg)
{
	struct net *net = arg;
	int err = EVUTIL_SOCKET_ERROR();
	uint64_t now = net_now_ms();

	net->accept_errors_total++;
	if (now - net->accept_log_ms >= NET_ACCEPT_LOG_MS ||
	    net->accept_log_ms == 0) {
		log_warn("accept failed: %s (%" PRIu64 " more failures not "
			 "logged); listeners rest %u ms",
			 evutil_socket_error_to_string(err),
			 net->accept_log_quiet, (unsigned)NET_ACCEPT_RETRY_MS);
		net->accept_log_ms = now;
		net->accept_log_quiet = 0;
	} else {
		net->accept_log_quiet++;
	}
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		struct timeval tv = { 0, NET_ACCEPT_RETRY_MS * 1000 };

		evconnlistener_disable(net->client_lis);
		evconnlistener_disable(net->peer_lis);
		if (net->http_lis != NULL)
			evconnlistener_disable(net->http_lis);
		evtimer_add(net->accept_retry_ev, &tv);
	}
	(void)lis;
}

/*
 * --max-connections within RLIMIT_NOFILE: the soft limit is raised to the
 * hard one, NET_FDS_RESERVED descriptors are kept for everything else,
 * and the client cap is lowered to what remains (logged). Fewer than 16
 * for clients refuses to start.
 */
static int fds_check(struct net *net, char *err, size_t errlen)
{
	struct rlimit rl;
	size_t avail;

	net->max_clients = net->cfg->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	avail = rl.rlim_cur > NET_FDS_RESERVED + 16
			? (size_t)(rl.rlim_cur - NET_FDS_RESERVED) : 0;
	if (avail < 16) {
		snprintf(err, errlen,
			 "RLIMIT_NOFILE is %llu: coordd needs at least %d "
			 "descriptors (ulimit -n)",
			 (unsigned long long)rl.rlim_cur,
			 NET_FDS_RESERVED + 16);
		return -1;
	}
	if (net->max_clients > avail) {
		log_warn("--max-connections %zu does not fit RLIMIT_NOFILE "
			 "%llu (%d kept for the store, peers and HTTP): "
			 "serving at most %zu client connections",
			 net->max_clients, (unsigned long long)rl.rlim_cur,
			 NET_FDS_RESERVED, avail);
		net->max_clients = avail;
	}
	return 0;
}

/* Resolves host:port (numeric or a name) into ss. */
int net_resolve(const char *addr, struct sockaddr_storage *ss, int *sslen)
{
	char host[CONFIG_STR_MAX];
	unsigned port;
	struct evutil_addrinfo hints, *ai = NULL;
	char ports[8];

	if (!config_split_addr(addr, host, sizeof(host), &port))
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ports, sizeof(ports), "%u", port);
	if (evutil_getaddrinfo(host, ports, &hints, &ai) != 0 || ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = (int)ai->ai_addrlen;
	evutil_freeaddrinfo(ai);
	return 0;
}

struct evconnlistener *net_listen(struct net *net, const char *addr,
				  evconnlistener_cb cb, char *err,
				  size_t errlen, const char *what)
{
	struct sockaddr_storage ss;
	int sslen;
	struct evconnlistener *lis;

	if (net_resolve(addr, &ss, &sslen) != 0) {
		snprintf(err, errlen, "%s address \"%s\": not host:port", what,
			 addr);
		return NULL;
	}
	lis = evconnlistener_new_bind(
		net->base, cb, net,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		1024, (struct sockaddr *)&ss, sslen);
	if (lis == NULL) {
		snprintf(err, errlen, "%s listener on %s: %s", what, addr,
			 strerror(errno));
		return NULL;
	}
	evconnlistener_set_error_cb(lis, listener_error_cb);
	return lis;
}

/* ---------------------------------------------------------------------- */
/* Life cycle. */

int net_new(const struct config *cfg, struct net **out, char *err,
	    size_t errlen)
{
	struct net *net = calloc(1, sizeof(*net));
	struct event_config *ec;

	*out = NULL;
	if (net == NULL) {
		snprintf(err, errlen, "out of memory");
		return COORD_ENOMEM;
	}
	net->cfg = cfg;
	net->id = config_member_id(cfg->name);
	/* Ten ticks per heartbeat: timeouts land on 1/10 of a heartbeat. */
	net->tick_ms = cfg->heartbeat_ms >= 10 ? cfg->heartbeat_ms / 10 : 1;
	net->exit_status = 0;
	proto_buf_init(&net->scratch, NULL);
	proto_arena_init(&net->arena, NULL);
	widx_init(&net->watch_idx);
	if (leases_init(net) != COORD_OK || locks_init(net) != COORD_OK) {
		leases_free(net);
		snprintf(err, errlen, "out of memory");
		free(net);
		return COORD_ENOMEM;
	}
	ec = event_config_new();
	if (ec != NULL) {
		/* After NET_DISPATCH_MAX callbacks of priority 1 or 2 (client
		 * and peer connections, the flush), libevent looks for due
		 * timers again, so the tick (priority 0) is never behind a
		 * whole turn of thousands of connections. */
		struct timeval iv = { 0, NET_DISPATCH_MAX_US };

		event_config_set_max_dispatch_interval(ec, &iv,
						       NET_DISPATCH_MAX, 1);
	}
	net->base = ec != NULL ? event_base_new_with_config(ec) : NULL;
	event_config_free(ec);
	if (net->base == NULL || event_base_priority_init(net->base, 3) != 0) {
		snprintf(err, errlen, "libevent: cannot create the event base");
		net_free(net);
		return COORD_ENOMEM;
	}
	signal(SIGPIPE, SIG_IGN);
	if (tls_init(net, err, errlen) != 0) {
		net_free(net);
		return COORD_EINVAL;
	}
	if (fds_check(net, err, errlen) != 0 ||
	    conns_init(net, err, errlen) != 0) {
		net_free(net);
		return COORD_EINVAL;
	}
	net->accept_retry_ev = evtimer_new(net->base, accept_retry_cb, net);
	net->flush_ev = event_new(net->base, -1, 0, flush_cb, net);
	event_priority_set(net->flush_ev, 2);
	net->tick_ev = event_new(net->base, -1, EV_PERSIST, tick_cb, net);
	event_priority_set(net->tick_ev, 0);
	net->sigterm_ev = evsignal_new(net->base, SIGTERM, signal_cb, net);
	net->sigint_ev = evsignal_new(net->base, SIGINT, signal_cb, net);
	net->client_lis = net_listen(net, cfg->client_addr, accept_cb,
				    err, errlen, "client");
	if (net->client_lis == NULL)
		goto fail;
	evconnlistener_disable(net->client_lis);
	net->peer_lis = net_listen(net, cfg->peer_addr, accept_cb, err,
				  errlen, "peer");
	if (net->peer_lis == NULL)
		goto fail;
	evconnlistener_disable(net->peer_lis);
	if (http_init(net, err, errlen) != 0)
		goto fail;
	if (peers_init(net, err, errlen) != 0)
		goto fail;
	*out = net;
	return COORD_OK;
fail:
	net_free(net);
	return COORD_EIO;
}

void net_members_changed(void *ctx)
{
	struct net *net = ctx;

	if (net->node != NULL)
		peers_sync(net);
}

struct node_transport net_transport(struct net *net)
{
	struct node_transport t = { peer_send, peers_write_now, net };

	return t;
}

void net_attach(struct net *net, struct node *node)
{
	struct timeval tv = { net->tick_ms / 1000,
			      (long)(net->tick_ms % 1000) * 1000 };

	net->node = node;
	if (node_log_notify_fd(node) >= 0) {
		net->log_ev = event_new(net->base, node_log_notify_fd(node),
					EV_READ | EV_PERSIST, log_written_cb,
					net);
		event_priority_set(net->log_ev, 0);
		event_add(net->log_ev, NULL);
	}
	net->cluster_now_base_ms =
		fsm_clients_clock_ms(node_fsm(node)) - net_now_ms();

	evconnlistener_enable(net->client_lis);
	evconnlistener_enable(net->peer_lis);
	evtimer_add(net->tick_ev, &tv);
	evsignal_add(net->sigterm_ev, NULL);
	evsignal_add(net->sigint_ev, NULL);
	peers_start(net);
	peers_sync(net);
	net_kick(net);
	log_info("serving clients=%s peers=%s http=%s", net->cfg->client_addr,
		 net->cfg->peer_addr, net->cfg->http_addr);
}

int net_run(struct net *net)
{
	event_base_dispatch(net->base);
	return net->exit_status;
}

void net_free(struct net *net)
{
	if (net == NULL)
		return;
	leases_free(net);
	locks_free(net);
	clients_free(net);
	widx_close(&net->watch_idx);
	peers_free(net);
	http_free(net);
	conns_free(net);
	if (net->accept_retry_ev != NULL)
		event_free(net->accept_retry_ev);
	if (net->client_lis != NULL)
		evconnlistener_free(net->client_lis);
	if (net->peer_lis != NULL)
		evconnlistener_free(net->peer_lis);
	if (net->flush_ev != NULL)
		event_free(net->flush_ev);
	if (net->tick_ev != NULL)
		event_free(net->tick_ev);
	if (net->log_ev != NULL)
		event_free(net->log_ev);
	if (net->sigterm_ev != NULL)
		event_free(net->sigterm_ev);
	if (net->sigint_ev != NULL)
		event_free(net->sigint_ev);
	/* Bufferevents with deferred callbacks pending are finalized by
	 * the loop: give it a last non-blocking turn (nothing else is
	 * registered any more) so that they are freed. */
	if (net->base != NULL) {
		event_base_loop(net->base, EVLOOP_NONBLOCK);
		event_base_loop(net->base, EVLOOP_NONBLOCK);
	}
	tls_free(net);
	if (net->base != NULL)
		event_base_free(net->base);
	proto_buf_close(&net->scratch);
	proto_arena_close(&net->arena);
	free(net);
}
