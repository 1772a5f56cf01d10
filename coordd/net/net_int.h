/*
 * coordd/net/net_int.h: what the files of coordd/net/ share.
 */
#ifndef COORD_COORDD_NET_NET_INT_H
#define COORD_COORDD_NET_NET_INT_H

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "coordd/config.h"
#include "coordd/net/net.h"
#include "coordd/node.h"
#include "proto/arena.h"
#include "proto/buf.h"

enum { LOG_DEBUG_ = 0, LOG_INFO_ = 1, LOG_WARN_ = 2, LOG_ERROR_ = 3 };

#define log_debug(...) coordd_log(LOG_DEBUG_, __VA_ARGS__)
#define log_info(...) coordd_log(LOG_INFO_, __VA_ARGS__)
#define log_warn(...) coordd_log(LOG_WARN_, __VA_ARGS__)
#define log_error(...) coordd_log(LOG_ERROR_, __VA_ARGS__)

/* ---------------------------------------------------------------------- */
/* A framed connection (conn.c). */

struct conn;

struct conn_ops {
	/* One whole frame's body (valid during the call). Return non-zero
	 * to close the connection (after what was written is flushed when
	 * flush_first). */
	int (*frame)(struct conn *c, const uint8_t *body, size_t len);
	/* The connection is gone (why: for the log); c is freed after. */
	void (*closed)(struct conn *c, const char *why);
	/* The output fell below the low watermark (NULL: not interested). */
	void (*drained)(struct conn *c);
	/* An outgoing connection completed (NULL: not interested). */
	void (*connected)(struct conn *c);
};

struct conn {
	struct net *net;
	struct bufferevent *bev;
	const struct conn_ops *ops;
	void *ctx;
	size_t body_max;
	bool closing;               /* close once the output is flushed */
	bool in_frame;              /* inside ops->frame */
	bool dead;                  /* closed while in_frame */
	char addr[96];              /* the other side, for logs */
	const char *role;           /* "client" or "peer", for logs */
	struct proto_buf out;       /* frame scratch */
};

/* Wraps bev; the conn owns it from now on. */
struct conn *conn_new(struct net *net, struct bufferevent *bev,
		      const struct conn_ops *ops, void *ctx, size_t body_max,
		      const char *addr);
/* Closes now (ops->closed is called with why). */
void conn_close(struct conn *c, const char *why);
/* Closes once the output is written (a last error reply). */
void conn_close_after_flush(struct conn *c);
/* Starts a frame in c->out (cleared); then encode the body into c->out
 * and call conn_frame_send(). */
int conn_frame_begin(struct conn *c, size_t *mark);
int conn_frame_send(struct conn *c, size_t mark, size_t body_max);
size_t conn_output_len(const struct conn *c);
/* An accepted connection must say HELLO within CONN_HELLO_MS, or it is
 * closed (a connection slot is not held by a silent socket); on: arm,
 * off: disarm once the hello came. */
#define CONN_HELLO_MS 10000
void conn_hello_deadline(struct conn *c, bool on);

/* ---------------------------------------------------------------------- */
/* The server. */

struct peer;
struct peer_in;
struct client;

struct net {
	const struct config *cfg;
	struct event_base *base;
	struct node *node;
	struct event *tick_ev;
	struct event *flush_ev;
	struct event *sigterm_ev;
	struct event *sigint_ev;
	struct event *stop_ev;
	struct evconnlistener *client_lis;
	struct evconnlistener *peer_lis;
	struct evhttp *http;
	SSL_CTX *client_tls;
	SSL_CTX *peer_server_tls;
	SSL_CTX *peer_client_tls;
	uint64_t id;
	uint64_t tick_count;
	unsigned tick_ms;
	int exit_status;
	bool stopping;
	uint64_t stop_deadline_tick;
	/* Peers, by member index. */
	struct peer *peers[CONFIG_MEMBERS_MAX];
	size_t n_peers;
	struct peer_in *peer_ins;   /* accepted peer connections */
	/* Clients. */
	struct client *clients;     /* list of live client connections */
	size_t n_clients;
	uint64_t client_conns_total;
	uint64_t requests_by_kind[64];
	uint64_t errors_by_code[32];
	uint64_t cluster_now_base_ms;   /* for CLIENTS_EXPIRE / envelopes */
	uint64_t expire_next_tick;
	uint64_t publish_next_ms;   /* publish.c: the next try, at most */
	struct proto_buf scratch;
	struct proto_arena arena;
};

/* A leader's best transfer target: a reachable voter other than itself
 * with the most complete log; 0 when none is reachable. */
uint64_t net_transfer_target(struct net *net);

/* Marks the node dirty: node_flush() runs at the end of this turn. */
void net_kick(struct net *net);
/* A monotonic clock in milliseconds. */
uint64_t net_now_ms(void);
/* The leader's cluster time for an entry's now_ms (fsm.h: Time). */
uint64_t net_cluster_now_ms(struct net *net);

/* Resolves host:port (numeric or a name). */
int net_resolve(const char *addr, struct sockaddr_storage *ss, int *sslen);

/* peer.c */
int peers_init(struct net *net, char *err, size_t errlen);
void peers_start(struct net *net);
void peers_free(struct net *net);
void peer_send(void *ctx, const struct raft_message *m);
void peer_accept(struct net *net, struct bufferevent *bev, const char *addr);
/* Dials new members and drops removed ones (node_config.on_members). */
void peers_sync(struct net *net);
const char *peer_addr_of(struct net *net, uint64_t id);
/* Our connection to id is up (hello sent). */
bool peer_is_up(struct net *net, uint64_t id);
/* Leader: proposes ADD_VOTER for caught-up learners marked promote. */
void members_promote(struct net *net);

/* publish.c: this member's attributes in the member table. */
struct proto_peer_publish;
/* On the tick: publishes this member's entry when it is missing or
 * differs (to the leader, or proposed here on the leader). */
void members_publish(struct net *net);
/* Leader: a member's PUBLISH (from: the sender's peer connection). */
void members_publish_received(struct net *net, uint64_t from,
			      const struct proto_peer_publish *p);
/* peer.c: sends p to peer id on our connection to it (dropped while the
 * connection is down: the publisher tries again). */
void peer_publish_send(struct net *net, uint64_t id,
		       const struct proto_peer_publish *p);

/* client.c */
/* Proposes en (client id 0: the server's own command, e.g. a publish or
 * CLIENTS_EXPIRE) with a waiter of its own, freed when it is done (the
 * outcome only logged). COORD_OK or node_propose()'s code. */
struct proto_entry;
int net_propose_internal(struct net *net, const struct proto_entry *en);
/* A MEMBER_REMOVE of id is under way on this node. */
bool clients_member_removing(const struct net *net, uint64_t id);
void client_accept(struct net *net, struct bufferevent *bev,
		   const char *addr);
void clients_free(struct net *net);
/* Stop: refuse new requests, close idle connections. */
void clients_stop(struct net *net);
size_t clients_in_flight(const struct net *net);
/* After each flush: watch events of newly applied revisions. */
void clients_after_flush(struct net *net);
/* The leader's periodic CLIENTS_EXPIRE (fsm.h: Bounds). */
void clients_propose_expire(struct net *net);
/* Leader changed: tell clients with watches. */
void clients_leader_changed(struct net *net, uint64_t leader, uint64_t term);

/* http.c */
int http_init(struct net *net, char *err, size_t errlen);

/* tls.c */
int tls_init(struct net *net, char *err, size_t errlen);
void tls_free(struct net *net);
/* A peer's certificate must name the host of its address. */
int tls_expect_host(SSL *ssl, const char *addr);

#endif /* COORD_COORDD_NET_NET_INT_H */
