/*
 * coordd/api/dispatch.c: which request family serves a request, and who
 * may make the admin requests.
 */
#include <inttypes.h>
#include <netinet/in.h>
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
/* Admin requests (issue 14 section 4): who may make them, and the
 * configuration changes and transfers refused because they could cost
 * the cluster its quorum or its stability. */

static bool kind_is_admin(uint32_t kind)
{
	return kind == PROTO_MEMBER_ADD || kind == PROTO_MEMBER_REMOVE ||
	       kind == PROTO_MEMBER_PROMOTE || kind == PROTO_TRANSFER_LEADER ||
	       kind == PROTO_COMPACT || kind == PROTO_ALARM_DISARM;
}

/* Whether the client's address is in --admin-addrs (v4-mapped v6
 * addresses count as v4). */
static bool client_addr_is_admin(struct client *cl)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *list = cl->net->cfg->admin_addrs;
	bool match = false;
	int rc = -1;

	if (getpeername(bufferevent_getfd(cl->conn->bev), (struct sockaddr *)&ss,
			&len) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		rc = config_admin_addrs_match(
			list, AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			&match);
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		rc = IN6_IS_ADDR_V4MAPPED(a)
			     ? config_admin_addrs_match(list, AF_INET,
							a->s6_addr + 12, &match)
			     : config_admin_addrs_match(list, AF_INET6,
							a->s6_addr, &match);
	}
	return rc == 0 && match;
}

/* With client certificates, the certificate's names decide; without,
 * the client's address (config.h). COORD_EPERM, logged, otherwise. */
static bool admin_ok(struct client *cl, const struct proto_request *rq)
{
	const struct config *cfg = cl->net->cfg;
	bool certs = cl->net->client_tls != NULL && cfg->client_cert_auth;

	if (!kind_is_admin(rq->kind))
		return true;
	if (certs ? tls_conn_name_listed(cl->conn, cfg->admin_names)
		  : client_addr_is_admin(cl))
		return true;
	log_warn("client addr=%s: %s refused: not an admin (%s)",
		 cl->conn->addr, proto_kind_name(rq->kind),
		 certs ? "no name of its certificate is in --admin-names"
		       : "its address is not in --admin-addrs");
	api_send_error(cl, rq->kind, rq->request_id, COORD_EPERM);
	return false;
}

void api_request(struct client *cl, const struct proto_request *rq)
{
	if (!admin_ok(cl, rq))
		return;
	switch (rq->kind) {
	case PROTO_PUT:
	case PROTO_DELETE:
	case PROTO_TXN:
	case PROTO_COMPACT:
		keys_write(cl, rq);
		return;
	case PROTO_RANGE:
		keys_range(cl, rq);
		return;
	case PROTO_WATCH_CREATE:
		watch_create(cl, rq);
		return;
	case PROTO_WATCH_CANCEL:
		watch_cancel(cl, rq);
		return;
	case PROTO_STATUS:
		members_status(cl, rq);
		return;
	case PROTO_MEMBER_LIST:
		members_list(cl, rq);
		return;
	case PROTO_TRANSFER_LEADER:
		members_transfer(cl, rq);
		return;
	case PROTO_REGISTER_CLIENT:
		register_client(cl, rq);
		return;
	case PROTO_MEMBER_ADD:
	case PROTO_MEMBER_REMOVE:
	case PROTO_MEMBER_PROMOTE:
		members_change(cl, rq);
		return;
	case PROTO_LEASE_GRANT:
		lease_grant(cl, rq);
		return;
	case PROTO_LEASE_KEEPALIVE:
		lease_keepalive(cl, rq);
		return;
	case PROTO_LEASE_REVOKE:
	case PROTO_SESSION_CLOSE:
		lease_revoke(cl, rq);
		return;
	case PROTO_LEASE_TTL:
		lease_ttl(cl, rq);
		return;
	case PROTO_LEASE_LIST:
		lease_list(cl, rq);
		return;
	case PROTO_SESSION_OPEN:
		session_open(cl, rq);
		return;
	case PROTO_SESSION_KEEPALIVE:
		session_keepalive(cl, rq);
		return;
	case PROTO_SESSION_KEEPALIVE_MANY:      /* sess8 */
		session_keepalive_many(cl, rq);
		return;
	case PROTO_SESSION_ATTACH:
		session_attach(cl, rq);
		return;
	case PROTO_LOCK_ACQUIRE:
		lock_acquire(cl, rq);
		return;
	case PROTO_LOCK_RELEASE:
	case PROTO_SEM_RELEASE:
		lock_release(cl, rq);
		return;
	case PROTO_LOCK_RELEASE_PUT:
		lock_release_put(cl, rq);
		return;
	case PROTO_LOCK_CHECK:
	case PROTO_LOCK_STATUS:
	case PROTO_SEM_STATUS:
		lock_read(cl, rq);
		return;
	case PROTO_JOB_ENQUEUE:
	case PROTO_JOB_CLAIM:
	case PROTO_JOB_COMPLETE:
	case PROTO_JOB_FAIL:
	case PROTO_JOB_LIST:
	case PROTO_JOB_INSPECT:
		job_request(cl, rq);
		return;
	case PROTO_ELECTION_CAMPAIGN:
		election_campaign(cl, rq);
		return;
	case PROTO_ELECTION_PROCLAIM:
	case PROTO_ELECTION_RESIGN:
		election_write(cl, rq);
		return;
	case PROTO_ELECTION_LEADER:
		election_leader(cl, rq);
		return;
	case PROTO_ELECTION_OBSERVE:
		watch_observe(cl, rq);
		return;
	case PROTO_SEM_ACQUIRE:
		sem_acquire(cl, rq);
		return;
	case PROTO_ALARM_LIST:          /* quota13 */
	case PROTO_ALARM_DISARM:
		quota_request(cl, rq);
		return;
	default:
		log_warn("client addr=%s: %s is not served by this version",
			 cl->conn->addr, proto_kind_name(rq->kind));
		api_send_error(cl, rq->kind, rq->request_id, COORD_EUNKNOWNMSG);
		return;
	}
}
