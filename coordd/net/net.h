/*
 * coordd/net/net.h: coordd's network layer -- the only code of the server
 * that calls libevent and OpenSSL. It owns the event loop's sources: the
 * client, peer and HTTP listeners, the client and peer connections (one
 * framing for both: proto/frame.h), the Raft tick timer, and the flush
 * event that runs the node's Ready loop once per loop turn.
 *
 * Group commit: every callback that feeds the node (a client request, a
 * peer message, a tick) only marks the node dirty; the flush event has the
 * lowest priority, so it runs after every other active event of the turn,
 * and one node_flush() -- one fdatasync -- serves all of them.
 */
#ifndef COORD_COORDD_NET_NET_H
#define COORD_COORDD_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordd/config.h"
#include "coordd/node.h"

struct event_base;
struct net;

/* Logging, shared by the whole server: one line per event, to stderr. */
void coordd_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void coordd_log_init(const char *name, int min_level);

/* Raft ticks per heartbeat (net_new() ticks every heartbeat_ms / 10). */
#define NET_TICKS_PER_HEARTBEAT 10

/* Creates the event base, the TLS contexts and binds the listeners (so a
 * port in use fails here, before anything is opened). */
int net_new(const struct config *cfg, struct net **out, char *err,
	    size_t errlen);

/* The transport the node sends through (node_config.transport). */
struct node_transport net_transport(struct net *net);

/* node_config.on_members: the member table or the configuration changed
 * (ctx is the struct net). */
void net_members_changed(void *ctx);
/* node_config.replies_flush (ctx: the net): writes now what every
 * client connection was given since the last call. */
void net_replies_flush(void *ctx);
/* node_config.on_applied (ctx: the net): the lease and lock state this
 * node keeps besides the fsm follows every applied entry. */
struct fsm_entry_result;
void leases_applied(void *ctx, uint64_t index,
		    const struct fsm_entry_result *r);

/* Starts serving node: accepts connections, dials peers, ticks. */
void net_attach(struct net *net, struct node *node);

/* Runs the loop until a stop (SIGTERM, SIGINT) is complete. Returns the
 * exit status: 0 after a graceful stop, 1 when the store failed. */
int net_run(struct net *net);

void net_free(struct net *net);

#endif /* COORD_COORDD_NET_NET_H */
