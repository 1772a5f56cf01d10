/*
 * coordd/net/publish.c: every member publishes its own attributes -- its
 * name, client address and HTTP address -- into the replicated member table, founding
 * members included, the way etcd members publish theirs: so that any
 * member can tell a client where the leader serves clients (MEMBER_LIST,
 * libcoord's leader lookup), and `coordctl member list` is complete.
 *
 * The member itself checks its entry (members_publish(), on the tick):
 * when it is missing or differs from what it runs with, the member sends
 * a peer PUBLISH to the leader (proto/peer.h), or, being the leader,
 * proposes the entry itself. The leader (members_publish_received())
 * commits one MEMBER_PUT for it: only for a member of the Raft
 * configuration that is not being removed, named as its id says; the
 * peer address and the promote mark of an existing entry are kept (a
 * peer address changes through member remove / add, never by a publish).
 * A publish that is lost, or whose proposal fails, is sent again after
 * PUBLISH_RETRY_MS. Nothing here answers a client.
 */
#include <inttypes.h>
#include <string.h>

#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "proto/peer.h"
#include "proto/wire.h"

/* A member checks its entry this often (in ticks), and publishes at most
 * once per PUBLISH_RETRY_MS while the entry is missing or different. */
#define PUBLISH_CHECK_TICKS 10
#define PUBLISH_RETRY_MS 1000

static bool bytes_eq(const char *s, struct proto_bytes b)
{
	return strlen(s) == b.len && (b.len == 0 || memcmp(s, b.data, b.len) == 0);
}

/* The entry of id in the table (NULL: none); false when the table cannot
 * be read. */
static bool table_entry(struct net *net, uint64_t id,
			const struct fsm_member **out)
{
	static struct fsm_member table[COORD_MEMBERS_MAX];
	size_t n = 0;

	*out = NULL;
	if (fsm_members(node_fsm(net->node), table, COORD_MEMBERS_MAX, &n) !=
	    COORD_OK)
		return false;
	for (size_t i = 0; i < n; i++)
		if (table[i].id == id)
			*out = &table[i];
	return true;
}

static bool in_configuration(struct net *net, uint64_t id)
{
	const struct raft_conf *conf = raft_conf(node_raft(net->node));

	return raft_conf_is_voter(conf, id) || raft_conf_is_learner(conf, id);
}

/* Where the others dial this member: its --initial-cluster entry, else
 * its --peer-addr. */
static const char *own_peer_addr(struct net *net)
{
	for (size_t i = 0; i < net->cfg->n_members; i++)
		if (net->cfg->members[i].id == net->id)
			return net->cfg->members[i].peer_addr;
	return net->cfg->peer_addr;
}

void members_publish_received(struct net *net, uint64_t from,
			      const struct proto_peer_publish *p)
{
	const struct fsm_member *e;
	const char *peer;
	struct proto_entry en;

	if (!raft_is_leader(node_raft(net->node)) || net->stopping)
		return;     /* the member sends it again to the next leader */
	if (p->id != from ||
	    proto_member_id((const char *)p->name.data, p->name.len) != p->id) {
		log_warn("member publish from=%016" PRIx64 " refused: it names "
			 "id=%016" PRIx64 " name=%.*s", from, p->id,
			 (int)p->name.len, (const char *)p->name.data);
		return;
	}
	/* A removed member does not come back through its own publish,
	 * nor does one whose removal is under way. */
	if (!in_configuration(net, p->id) ||
	    clients_member_removing(net, p->id)) {
		log_debug("member publish of %016" PRIx64 " ignored: not a "
			  "member", p->id);
		return;
	}
	if (!table_entry(net, p->id, &e)) {
		log_warn("member publish of %016" PRIx64 ": reading the member "
			 "table failed", p->id);
		return;
	}
	if (e != NULL && bytes_eq(e->name, p->name) &&
	    bytes_eq(e->client_addr, p->client_addr) &&
	    bytes_eq(e->http_addr, p->http_addr))
		return;     /* already there (a publish sent twice) */
	peer = e != NULL ? e->peer_addr
			 : p->id == net->id ? own_peer_addr(net)
					    : peer_addr_of(net, p->id);
	if (peer[0] == '\0') {
		log_warn("member publish of %016" PRIx64 ": no peer address "
			 "known for it", p->id);
		return;
	}
	memset(&en, 0, sizeof(en));
	en.now_ms = net_cluster_now_ms(net);
	en.cmd.type = PROTO_CMD_MEMBER_PUT;
	en.cmd.u.member_put.id = p->id;
	en.cmd.u.member_put.name = p->name;
	en.cmd.u.member_put.peer_addr = proto_bytes_make(peer, strlen(peer));
	en.cmd.u.member_put.client_addr = p->client_addr;
	en.cmd.u.member_put.http_addr = p->http_addr;
	en.cmd.u.member_put.promote = e != NULL && e->promote;
	if (net_propose_internal(net, &en) != COORD_OK)
		return;     /* the member sends it again */
	log_info("member publish name=%.*s id=%016" PRIx64 " client=%.*s "
		 "http=%.*s", (int)p->name.len, (const char *)p->name.data,
		 p->id, (int)p->client_addr.len,
		 (const char *)p->client_addr.data, (int)p->http_addr.len,
		 (const char *)p->http_addr.data);
	net_kick(net);
}

/* The HTTP address this member serves ("": none). */
static const char *own_http_addr(struct net *net)
{
	const char *h = net->cfg->http_addr;

	return strcmp(h, "off") == 0 ? "" : h;
}

void members_publish(struct net *net)
{
	const struct fsm_member *e;
	struct proto_peer_publish p;
	uint64_t leader = raft_leader(node_raft(net->node));
	uint64_t now = net_now_ms();

	if (net->stopping || net->tick_count % PUBLISH_CHECK_TICKS != 0 ||
	    now < net->publish_next_ms || leader == 0 ||
	    !in_configuration(net, net->id) ||
	    !table_entry(net, net->id, &e))
		return;
	if (e != NULL && strcmp(e->name, net->cfg->name) == 0 &&
	    strcmp(e->client_addr, net->cfg->client_addr) == 0 &&
	    strcmp(e->http_addr, own_http_addr(net)) == 0)
		return;
	net->publish_next_ms = now + PUBLISH_RETRY_MS;
	p.id = net->id;
	p.name = proto_bytes_make(net->cfg->name, strlen(net->cfg->name));
	p.client_addr = proto_bytes_make(net->cfg->client_addr,
					 strlen(net->cfg->client_addr));
	p.http_addr = proto_bytes_make(own_http_addr(net),
				       strlen(own_http_addr(net)));
	log_debug("member entry %s: publishing client=%s to leader=%016" PRIx64,
		  e == NULL ? "missing" : "differs", net->cfg->client_addr,
		  leader);
	if (leader == net->id)
		members_publish_received(net, net->id, &p);
	else
		peer_publish_send(net, leader, &p);
}
