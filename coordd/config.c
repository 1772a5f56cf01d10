/*
 * coordd/config.c: flags and COORDD_* environment variables (config.h).
 * One table describes every setting: its flag, its variable, its help
 * line and how to parse it, so the three can never disagree.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "coordd/config.h"
#include "coordd/node.h"
#include "proto/limits.h"
#include "proto/wire.h"

enum opt_kind {
	OPT_STR,        /* char[CONFIG_STR_MAX] or char[64] (size in off2) */
	OPT_UINT,       /* unsigned */
	OPT_U64,        /* uint64_t */
	OPT_SIZE,       /* size_t */
	OPT_BOOL,       /* bool: a bare flag, or =true/false */
	OPT_CLUSTER,    /* --initial-cluster */
	OPT_LEVEL,      /* --log-level */
};

struct opt {
	const char *flag;           /* without the leading "--" */
	enum opt_kind kind;
	size_t off;
	size_t size;                /* OPT_STR: buffer size */
	uint64_t min, max;          /* numbers */
	const char *help;
};

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct opt opts[] = {
	{ "name", OPT_STR, F(name), 0, 0,
	  "this member's name (its node id is derived from it)" },
	{ "data-dir", OPT_STR, F(data_dir), 0, 0,
	  "where the store lives (created if missing)" },
	{ "client-addr", OPT_STR, F(client_addr), 0, 0,
	  "host:port the client listener binds" },
	{ "peer-addr", OPT_STR, F(peer_addr), 0, 0,
	  "host:port the peer listener binds (and others dial)" },
	{ "http-addr", OPT_STR, F(http_addr), 0, 0,
	  "host:port of /health and /metrics; \"off\" for none" },
	{ "initial-cluster", OPT_CLUSTER, 0, 0, 0, 0,
	  "name=host:port,... every founding member's peer address\n"
	  "\t\t(default: this member alone, at --peer-addr)" },
	{ "join", OPT_BOOL, F(join), 0, 1,
	  "join an existing cluster: never bootstrap; wait to be added\n"
	  "\t\t(coordctl member add) and sent the log" },
	{ "heartbeat-ms", OPT_UINT, F(heartbeat_ms), 1, 60000,
	  "leader heartbeat interval" },
	{ "election-ms", OPT_UINT, F(election_ms), 2, 600000,
	  "election timeout base (randomized in [x, 2x)); >= 2 heartbeats" },
	{ "snapshot-entries", OPT_U64, F(snapshot_entries), 1, UINT64_MAX,
	  "compact the Raft log after this many applied entries" },
	{ "max-snapshot-bytes", OPT_U64, F(max_snapshot_bytes),
	  COORD_SNAPSHOT_CHUNK_BYTES_MAX, UINT64_MAX,
	  "largest snapshot stream staged from the leader (dropped above;\n"
	  "\t\tmust exceed the keyspace's snapshot)" },
	{ "max-frame-bytes", OPT_SIZE, F(max_frame_bytes), 1024,
	  (64u << 20), "largest client frame accepted" },
	{ "max-key-bytes", OPT_SIZE, F(max_key_bytes), 1, COORD_KEY_BYTES_MAX,
	  "largest key (COORD_EKEYTOOBIG above)" },
	{ "max-value-bytes", OPT_SIZE, F(max_value_bytes), 0,
	  COORD_VALUE_BYTES_MAX, "largest value (COORD_EVALUETOOBIG above)" },
	{ "max-txn-ops", OPT_SIZE, F(max_txn_ops), 1, COORD_TXN_OPS_MAX,
	  "compares, then-ops and else-ops per txn, each" },
	{ "max-connections", OPT_SIZE, F(max_connections), 1, 1000000,
	  "client connections at once (more are closed at accept)" },
	{ "max-watches-per-conn", OPT_SIZE, F(max_watches_per_conn), 1,
	  1000000, "watches one client connection may hold" },
	{ "client-idle-ms", OPT_UINT, F(client_idle_ms), 1000, 86400000,
	  "exactly-once state of a client idle this long is dropped" },
	{ "cert-file", OPT_STR, F(cert_file), 0, 0,
	  "client TLS: server certificate (PEM); enables TLS" },
	{ "key-file", OPT_STR, F(key_file), 0, 0,
	  "client TLS: its private key (PEM)" },
	{ "trusted-ca-file", OPT_STR, F(trusted_ca_file), 0, 0,
	  "client TLS: CA that signs client certificates" },
	{ "client-cert-auth", OPT_BOOL, F(client_cert_auth), 0, 1,
	  "client TLS: require a client certificate signed by that CA" },
	{ "peer-cert-file", OPT_STR, F(peer_cert_file), 0, 0,
	  "peer TLS: this member's certificate; enables peer TLS" },
	{ "peer-key-file", OPT_STR, F(peer_key_file), 0, 0,
	  "peer TLS: its private key" },
	{ "peer-trusted-ca-file", OPT_STR, F(peer_trusted_ca_file), 0, 0,
	  "peer TLS: CA of the members' certificates (always verified)" },
	{ "admin-names", OPT_STR, F(admin_names), 0, 0,
	  "with --client-cert-auth: certificate names (subject CN or DNS\n"
	  "\t\tSAN), comma-separated, allowed admin requests (member\n"
	  "\t\tadd/remove/promote, transfer-leader, compact); default none" },
	{ "admin-addrs", OPT_STR, F(admin_addrs), 0, 0,
	  "without --client-cert-auth: client IPs, comma-separated, allowed\n"
	  "\t\tadmin requests; \"loopback\" or \"any\"" },
	{ "transfer-interval-ms", OPT_UINT, F(transfer_interval_ms), 0,
	  3600000, "least time between two leadership transfers asked by\n"
	  "\t\tclients of this node (COORD_ERATELIMITED); 0: no limit" },
	/* Budgets and deadlines of connections (docs/protocol.md, Limits). */
	{ "max-input-buffer-bytes", OPT_SIZE, F(max_input_buffer_bytes),
	  1u << 20, SIZE_MAX / 2,
	  "node-wide input of unfinished client frames; above it reading\n"
	  "\t\tpauses on the connections holding the most" },
	{ "max-output-buffer-bytes", OPT_SIZE, F(max_output_buffer_bytes),
	  1u << 20, SIZE_MAX / 2,
	  "node-wide unread client output; above it the slowest readers\n"
	  "\t\tare closed" },
	{ "frame-timeout-ms", OPT_UINT, F(frame_timeout_ms), 100, 3600000,
	  "a client frame unfinished this long closes its connection" },
	{ "slow-reader-ms", OPT_UINT, F(slow_reader_ms), 100, 3600000,
	  "a client leaving over 4 MiB of output unread this long is closed" },
	{ "conn-idle-ms", OPT_UINT, F(conn_idle_ms), 0, 86400000,
	  "a HELLO'd client connection without requests, watches or\n"
	  "\t\treplies in flight this long is closed (0: never)" },
	{ "peer-idle-ms", OPT_UINT, F(peer_idle_ms), 0, 86400000,
	  "an accepted peer connection silent this long is closed\n"
	  "\t\t(the member dials again when it has something to send; 0: never)" },
	{ "max-watches", OPT_SIZE, F(max_watches), 1, 100000000,
	  "watches on this node, all connections together" },
	{ "max-range-keys", OPT_SIZE, F(max_range_keys), 1, 100000000,
	  "keys in one RANGE reply when the request asks for more or for\n"
	  "\t\tno limit (the reply says more)" },
	{ "max-http-connections", OPT_SIZE, F(max_http_connections), 1,
	  100000, "HTTP connections at once (more are closed at accept)" },
	{ "http-timeout-ms", OPT_UINT, F(http_timeout_ms), 100, 600000,
	  "an HTTP connection must send its request within this" },
	{ "leader-log-inline", OPT_BOOL, F(leader_log_inline), 0, 1,
	  "a leader writes and syncs its log in the event loop instead of\n"
	  "\t\ton a writer thread (slower commits; for comparison)" },
	{ "metrics-no-state", OPT_BOOL, F(metrics_no_state), 0, 1,
	  "/metrics without the state hash and the per-kind counters" },
	{ "log-level", OPT_LEVEL, F(log_level), 0, 3,
	  "debug, info, warn or error" },
	{ "shutdown-ms", OPT_UINT, F(shutdown_ms), 100, 600000,
	  "SIGTERM: bound on transferring leadership and draining" },
	/* Exactly-once (coordd/fsm/fsm.h): equal on every member. */
	{ "max-clients", OPT_U64, F(max_clients), 1, UINT64_MAX,
	  "exactly-once client table entries (same on every member)" },
	{ "client-retry-horizon-ms", OPT_UINT, F(client_retry_horizon_ms), 0,
	  86400000, "a full client table never evicts a client active\n"
	  "\t\tthis recently: registrations get COORD_ECLIENTSFULL" },
	/* Leases, sessions and locks (docs/locks-and-fencing.md). */
	{ "lease-ttl-min-ms", OPT_UINT, F(lease_ttl_min_ms), 0, 86400000,
	  "shortest lease or session TTL (COORD_ETTL below); at least,\n"
	  "\t\tand by default, 2 x --election-ms: a keepalive cannot commit\n"
	  "\t\tduring an election" },
	{ "lease-ttl-max-ms", OPT_UINT, F(lease_ttl_max_ms), 1,
	  COORD_LEASE_TTL_MS_MAX,
	  "longest lease or session TTL (COORD_ETTL above)" },
	{ "lease-drift-ms", OPT_UINT, F(lease_drift_ms), 0, 60000,
	  "the fixed part of the drift allowance: the leader expires a\n"
	  "\t\tlease this long plus --lease-drift-ppm of its TTL after the\n"
	  "\t\tTTL (same on every member)" },
	{ "lease-drift-ppm", OPT_UINT, F(lease_drift_ppm), 0, 1000000,
	  "the rate part of the drift allowance, in millionths of the TTL:\n"
	  "\t\tthe bound on how much faster a member's clock may run than\n"
	  "\t\ta client's (default 10000: 1%; same on every member)" },
	{ "max-leases", OPT_U64, F(max_leases), 1, UINT64_MAX,
	  "leases, sessions included (COORD_ETOOMANYLEASES; same on every\n"
	  "\t\tmember)" },
	{ "max-sessions", OPT_U64, F(max_sessions), 1, UINT64_MAX,
	  "sessions (COORD_ETOOMANYSESSIONS; same on every member)" },
	{ "max-waiters-per-lock", OPT_U64, F(max_waiters_per_lock), 1,
	  UINT64_MAX, "queued acquires of one lock (COORD_ETOOMANYWAITERS;\n"
	  "\t\tsame on every member)" },
	{ "max-locks-per-session", OPT_U64, F(max_locks_per_session), 1,
	  UINT64_MAX, "locks one session holds or awaits\n"
	  "\t\t(COORD_ETOOMANYLOCKS; same on every member)" },
	/* Job queues (coordd/fsm/job.c). */
	{ "max-jobs-per-queue", OPT_U64, F(max_jobs_per_queue), 1,
	  UINT64_MAX, "jobs one queue holds pending, claimed or dead\n"
	  "\t\t(COORD_EQUEUEFULL; same on every member)" },
	{ "max-job-queues", OPT_U64, F(max_job_queues), 1, UINT64_MAX,
	  "job queues holding jobs (COORD_ETOOMANYQUEUES; same on\n"
	  "\t\tevery member)" },
	{ "job-done-kept", OPT_U64, F(job_done_kept), 1, UINT64_MAX,
	  "completed jobs a queue keeps for inspect and unique-key\n"
	  "\t\tdedup; the oldest goes beyond (same on every member)" },
	/* The cluster id (docs/security.md, "The cluster id"). */
	{ "initial-cluster-token", OPT_STR, F(initial_cluster_token), 0, 0,
	  "founders: a token unique to this cluster; with --initial-cluster\n"
	  "\t\tit derives the cluster id every founder shares" },
	{ "cluster-id", OPT_STR, F(cluster_id_hex), 0, 0,
	  "the cluster id (hex), as coordctl member add prints it: needed\n"
	  "\t\twith --join; a data dir of another cluster refuses to start" },
	/* quota13: storage quotas (docs/quota.md). */
	{ "quota-bytes", OPT_U64, F(quota_bytes), 0, UINT64_MAX,
	  "keyspace quota in bytes (keys, values, history until\n"
	  "\t\tcompaction); a value past it: COORD_ENOSPACE and the\n"
	  "\t\tNOSPACE alarm; 0: none (the leader's value is in force)" },
	{ "coord-quota-bytes", OPT_U64, F(coord_quota_bytes), 0, UINT64_MAX,
	  "budget of coordination state in bytes (sessions, leases,\n"
	  "\t\tqueues, jobs); growth past it: COORD_ECOORDSPACE; 0: none" },
};

#undef F

/* One entry of --admin-addrs against an address (family AF_UNSPEC: only
 * checks the entry). -1 when the entry is none of "loopback", "any" or
 * an IP address. */
static int admin_addr_entry(const char *e, int family, const void *addr,
			    bool *match)
{
	uint8_t ip[16];
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	*match = false;
	if (strcmp(e, "any") == 0) {
		*match = family != AF_UNSPEC;
		return 0;
	}
	if (strcmp(e, "loopback") == 0) {
		if (family == AF_INET)
			*match = ((const uint8_t *)addr)[0] == 127;
		else if (family == AF_INET6)
			*match = memcmp(addr, v6_loopback, 16) == 0;
		return 0;
	}
	if (inet_pton(AF_INET, e, ip) == 1) {
		*match = family == AF_INET && memcmp(addr, ip, 4) == 0;
		return 0;
	}
	if (inet_pton(AF_INET6, e, ip) == 1) {
		*match = family == AF_INET6 && memcmp(addr, ip, 16) == 0;
		return 0;
	}
	return -1;
}

int config_admin_addrs_match(const char *list, int family, const void *addr,
			     bool *match)
{
	char entry[CONFIG_STR_MAX];
	const char *p = list;

	*match = false;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		bool m;

		if (n == 0 || n >= sizeof(entry))
			return -1;
		memcpy(entry, p, n);
		entry[n] = '\0';
		if (admin_addr_entry(entry, family, addr, &m) != 0)
			return -1;
		*match = *match || m;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

bool config_list_has(const char *list, const char *name, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* --admin-addrs well formed; --admin-names only with client certificates
 * (without them there is no name to match). */
static int config_admin_check(const struct config *c, char *err,
			      size_t errlen)
{
	bool match;

	if (config_admin_addrs_match(c->admin_addrs, AF_UNSPEC, NULL,
				     &match) != 0) {
		snprintf(err, errlen,
			 "--admin-addrs %s: want IP addresses, \"loopback\" or \"any\", comma-separated",
			 c->admin_addrs);
		return -1;
	}
	if (c->admin_names[0] != '\0' && !c->client_cert_auth) {
		snprintf(err, errlen,
			 "--admin-names needs --client-cert-auth (names come from client certificates)");
		return -1;
	}
	return 0;
}

static void defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "default");
	snprintf(c->data_dir, sizeof(c->data_dir), "coordd.data");
	snprintf(c->client_addr, sizeof(c->client_addr), "%s",
		 COORDD_DEFAULT_CLIENT_ADDR);
	snprintf(c->peer_addr, sizeof(c->peer_addr), "%s",
		 COORDD_DEFAULT_PEER_ADDR);
	snprintf(c->http_addr, sizeof(c->http_addr), "%s",
		 COORDD_DEFAULT_HTTP_ADDR);
	c->heartbeat_ms = 100;
	c->election_ms = 1000;
	c->snapshot_entries = 10000;
	c->max_snapshot_bytes = NODE_SNAPSHOT_BYTES_MAX_DEFAULT;
	c->max_frame_bytes = 2u << 20;
	c->max_key_bytes = COORD_KEY_BYTES_MAX;
	c->max_value_bytes = COORD_VALUE_BYTES_MAX;
	c->max_txn_ops = COORD_TXN_OPS_MAX;
	c->max_connections = 10000;
	c->max_watches_per_conn = 1000;
	c->client_idle_ms = 3600 * 1000;
	c->log_level = 1;
	c->shutdown_ms = 5000;
	snprintf(c->admin_addrs, sizeof(c->admin_addrs), "loopback");
	c->transfer_interval_ms = 10000;
	c->max_input_buffer_bytes = 64u << 20;
	c->max_output_buffer_bytes = 256u << 20;
	c->frame_timeout_ms = 10000;
	c->slow_reader_ms = 30000;
	c->conn_idle_ms = 600000;
	c->peer_idle_ms = 600000;
	c->max_watches = 100000;
	c->max_range_keys = 10000;
	c->max_http_connections = 16;
	c->http_timeout_ms = 5000;
	c->max_clients = COORD_CLIENTS_MAX;
	c->client_retry_horizon_ms = COORD_CLIENT_RETRY_HORIZON_MS;
	c->lease_ttl_min_ms = 0;    /* 2 x election_ms */
	c->lease_ttl_max_ms = COORD_LEASE_TTL_MS_MAX;
	c->lease_drift_ms = COORD_LEASE_DRIFT_MS;
	c->lease_drift_ppm = COORD_LEASE_DRIFT_PPM;
	c->max_leases = COORD_LEASES_MAX;
	c->max_sessions = COORD_SESSIONS_MAX;
	c->max_waiters_per_lock = COORD_WAITERS_MAX;
	c->max_locks_per_session = COORD_LOCKS_PER_SESSION_MAX;
	c->max_jobs_per_queue = COORD_JOB_QUEUE_LEN_MAX;
	c->max_job_queues = COORD_JOB_QUEUES_MAX;
	c->job_done_kept = COORD_JOB_DONE_KEPT;
	c->quota_bytes = COORD_QUOTA_BYTES_DEFAULT;
	c->coord_quota_bytes = COORD_COORD_QUOTA_BYTES_DEFAULT;
}

uint64_t config_member_id(const char *name)
{
	return proto_member_id(name, strlen(name));
}

/* FNV-1a 64 over b, from h. */
static uint64_t fnv_add(uint64_t h, const void *b, size_t len)
{
	const unsigned char *p = b;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Every founder hashes the same bytes: a version tag, the token and the
 * members in name order (the order of --initial-cluster does not
 * matter), NUL-separated; splitmix64's finaliser spreads the result. */
uint64_t config_cluster_id_derive(const struct config *c)
{
	bool used[CONFIG_MEMBERS_MAX] = { false };
	uint64_t h = fnv_add(14695981039346656037ull, "coord-cluster-id-1",
			     sizeof("coord-cluster-id-1"));

	h = fnv_add(h, c->initial_cluster_token,
		    strlen(c->initial_cluster_token) + 1);
	for (size_t n = 0; n < c->n_members; n++) {
		size_t min = c->n_members;

		for (size_t i = 0; i < c->n_members; i++)
			if (!used[i] && (min == c->n_members ||
					 strcmp(c->members[i].name,
						c->members[min].name) < 0))
				min = i;
		used[min] = true;
		h = fnv_add(h, c->members[min].name,
			    strlen(c->members[min].name) + 1);
		h = fnv_add(h, c->members[min].peer_addr,
			    strlen(c->members[min].peer_addr) + 1);
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h == 0 ? 1 : h;
}

/* cfg->cluster_id from --cluster-id, or derived for a founder (a joiner
 * without --cluster-id keeps 0: only its data dir can tell it). */
static int config_cluster_id(struct config *c, char *err, size_t errlen)
{
	const char *s = c->cluster_id_hex;
	char *end;
	unsigned long long v;

	if (s[0] == '\0') {
		c->cluster_id = c->join ? 0 : config_cluster_id_derive(c);
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno != 0 || *end != '\0' || strlen(s) > 16 || v == 0 ||
	    !isxdigit((unsigned char)s[0])) {
		snprintf(err, errlen,
			 "--cluster-id %s: want 1 to 16 hex digits, not all zero",
			 s);
		return -1;
	}
	c->cluster_id = (uint64_t)v;
	return 0;
}

bool config_split_addr(const char *addr, char *host, size_t hostlen,
		       unsigned *port)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hl;
	char *end;
	unsigned long p;

	if (colon == NULL || colon == addr)
		return false;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (colon[-1] != ']')
			return false;
		h = addr + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return false;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p > 65535)
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return true;
}

static int parse_cluster(struct config *c, const char *v, char *err,
			 size_t errlen)
{
	const char *p = v;

	c->n_members = 0;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		struct config_member *m;
		size_t nl, al;
		char host[CONFIG_STR_MAX];
		unsigned port;

		if (c->n_members == CONFIG_MEMBERS_MAX) {
			snprintf(err, errlen,
				 "--initial-cluster: more than %d members",
				 CONFIG_MEMBERS_MAX);
			return -1;
		}
		m = &c->members[c->n_members];
		if (eq == NULL || eq == p) {
			snprintf(err, errlen,
				 "--initial-cluster: \"%.*s\" is not name=host:port",
				 (int)len, p);
			return -1;
		}
		nl = (size_t)(eq - p);
		al = len - nl - 1;
		if (nl >= sizeof(m->name) || al >= sizeof(m->peer_addr)) {
			snprintf(err, errlen, "--initial-cluster: entry too long");
			return -1;
		}
		memcpy(m->name, p, nl);
		m->name[nl] = '\0';
		memcpy(m->peer_addr, eq + 1, al);
		m->peer_addr[al] = '\0';
		if (!config_split_addr(m->peer_addr, host, sizeof(host), &port)) {
			snprintf(err, errlen,
				 "--initial-cluster: bad address \"%s\" for %s",
				 m->peer_addr, m->name);
			return -1;
		}
		m->id = config_member_id(m->name);
		for (size_t i = 0; i < c->n_members; i++) {
			if (c->members[i].id == m->id) {
				snprintf(err, errlen,
					 "--initial-cluster: %s given twice",
					 m->name);
				return -1;
			}
		}
		c->n_members++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (c->n_members == 0) {
		snprintf(err, errlen, "--initial-cluster: empty");
		return -1;
	}
	return 0;
}

static int set_opt(struct config *c, const struct opt *o, const char *v,
		   const char *src, char *err, size_t errlen)
{
	char *base = (char *)c;
	unsigned long long n;
	char *end;

	switch (o->kind) {
	case OPT_STR:
		if (v == NULL || strlen(v) >= o->size) {
			snprintf(err, errlen, "%s: %s", src,
				 v == NULL ? "needs a value" : "too long");
			return -1;
		}
		snprintf(base + o->off, o->size, "%s", v);
		return 0;
	case OPT_BOOL:
		if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)(base + o->off) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)(base + o->off) = false;
		else {
			snprintf(err, errlen, "%s: \"%s\" is not true or false",
				 src, v);
			return -1;
		}
		return 0;
	case OPT_CLUSTER:
		if (v == NULL) {
			snprintf(err, errlen, "%s: needs a value", src);
			return -1;
		}
		return parse_cluster(c, v, err, errlen);
	case OPT_LEVEL: {
		static const char *const names[] = { "debug", "info", "warn",
						     "error" };

		for (int i = 0; i < 4 && v != NULL; i++) {
			if (strcmp(v, names[i]) == 0) {
				c->log_level = i;
				return 0;
			}
		}
		snprintf(err, errlen, "%s: use debug, info, warn or error", src);
		return -1;
	}
	default:
		break;
	}
	if (v == NULL || !isdigit((unsigned char)v[0])) {
		snprintf(err, errlen, "%s: needs a number", src);
		return -1;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < o->min || n > o->max) {
		snprintf(err, errlen, "%s: \"%s\" is not a number in [%" PRIu64
			 ", %" PRIu64 "]", src, v, o->min, o->max);
		return -1;
	}
	switch (o->kind) {
	case OPT_UINT:
		*(unsigned *)(base + o->off) = (unsigned)n;
		break;
	case OPT_U64:
		*(uint64_t *)(base + o->off) = (uint64_t)n;
		break;
	default:
		*(size_t *)(base + o->off) = (size_t)n;
		break;
	}
	return 0;
}

/* COORDD_DATA_DIR for "data-dir". */
static void env_name(const struct opt *o, char *out, size_t len)
{
	size_t i = 0;

	i += (size_t)snprintf(out, len, "COORDD_");
	for (const char *p = o->flag; *p && i + 1 < len; p++)
		out[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	out[i] = '\0';
}

void config_usage(FILE *f)
{
	struct config d;

	defaults(&d);
	fprintf(f,
		"usage: coordd [flags]\n"
		"\n"
		"Starts one member of a coord cluster. With no flags: a single-node\n"
		"cluster on loopback (clients at %s), data in ./coordd.data.\n"
		"Every flag can also be set with its environment variable (shown\n"
		"in brackets); a flag wins over its variable.\n\n",
		COORDD_DEFAULT_CLIENT_ADDR);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		char env[64];
		char def[CONFIG_STR_MAX + 32] = "";
		const char *base = (const char *)&d;

		env_name(o, env, sizeof(env));
		switch (o->kind) {
		case OPT_STR:
			snprintf(def, sizeof(def), "%s", base + o->off);
			break;
		case OPT_UINT:
			snprintf(def, sizeof(def), "%u",
				 *(const unsigned *)(base + o->off));
			break;
		case OPT_U64:
			snprintf(def, sizeof(def), "%" PRIu64,
				 *(const uint64_t *)(base + o->off));
			break;
		case OPT_SIZE:
			snprintf(def, sizeof(def), "%zu",
				 *(const size_t *)(base + o->off));
			break;
		case OPT_BOOL:
			snprintf(def, sizeof(def), "false");
			break;
		case OPT_LEVEL:
			snprintf(def, sizeof(def), "info");
			break;
		default:
			break;
		}
		fprintf(f, "  --%s [%s]\n\t\t%s%s%s%s\n", o->flag, env, o->help,
			def[0] ? " (default: " : "", def, def[0] ? ")" : "");
	}
	fprintf(f, "  --help\n\t\tthis text\n");
}

static const struct opt *opt_find(const char *flag, size_t len)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].flag) == len &&
		    strncmp(opts[i].flag, flag, len) == 0)
			return &opts[i];
	return NULL;
}

/*
 * TLS flags come in sets, and a set given in part is refused rather than
 * run without TLS (issue 14 §12: --client-cert-auth --trusted-ca-file
 * without --cert-file used to start a plaintext listener that
 * authenticated nobody; peer CA and key without --peer-cert-file,
 * plaintext peers). Client listener: --cert-file and --key-file; client
 * certificates: --trusted-ca-file and --client-cert-auth, and only on a
 * TLS listener. Peers: --peer-cert-file, --peer-key-file and
 * --peer-trusted-ca-file, all three or none.
 */
static int config_check_tls_sets(const struct config *c, char *err,
				 size_t errlen)
{
	bool ca = c->trusted_ca_file[0] != '\0';
	int peer = (c->peer_cert_file[0] != '\0') +
		   (c->peer_key_file[0] != '\0') +
		   (c->peer_trusted_ca_file[0] != '\0');

	if ((ca || c->client_cert_auth) && c->cert_file[0] == '\0') {
		snprintf(err, errlen,
			 "%s without --cert-file and --key-file: the client listener would be plaintext and authenticate nobody",
			 ca ? "--trusted-ca-file" : "--client-cert-auth");
		return -1;
	}
	if (ca && !c->client_cert_auth) {
		snprintf(err, errlen,
			 "--trusted-ca-file without --client-cert-auth: client certificates would not be checked");
		return -1;
	}
	if (peer != 0 && peer != 3) {
		snprintf(err, errlen,
			 "peer TLS needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file: with only some of them peers would be plaintext");
		return -1;
	}
	return 0;
}

int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen)
{
	bool cluster_given = false;

	defaults(c);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char env[64];
		const char *v;

		env_name(&opts[i], env, sizeof(env));
		v = getenv(env);
		if (v == NULL)
			continue;
		if (set_opt(c, &opts[i], v, env, err, errlen) != 0)
			return -1;
		if (opts[i].kind == OPT_CLUSTER)
			cluster_given = true;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		const struct opt *o;
		const char *v = NULL;
		char src[96];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			config_usage(stdout);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		o = opt_find(a, eq != NULL ? (size_t)(eq - a) : strlen(a));
		if (o == NULL) {
			snprintf(err, errlen, "unknown flag \"%s\" (see --help)",
				 argv[i]);
			return -1;
		}
		if (eq != NULL)
			v = eq + 1;
		else if (o->kind != OPT_BOOL && i + 1 < argc)
			v = argv[++i];
		snprintf(src, sizeof(src), "--%s", o->flag);
		if (set_opt(c, o, v, src, err, errlen) != 0)
			return -1;
		if (o->kind == OPT_CLUSTER)
			cluster_given = true;
	}
	if (c->election_ms < 2 * c->heartbeat_ms) {
		snprintf(err, errlen,
			 "--election-ms (%u) must be at least twice --heartbeat-ms (%u)",
			 c->election_ms, c->heartbeat_ms);
		return -1;
	}
	if (c->lease_ttl_min_ms == 0)
		c->lease_ttl_min_ms = 2 * c->election_ms;
	if (c->lease_ttl_min_ms < 2 * c->election_ms ||
	    c->lease_ttl_max_ms < c->lease_ttl_min_ms) {
		snprintf(err, errlen,
			 "--lease-ttl-min-ms (%u) must be at least twice "
			 "--election-ms (%u) and at most --lease-ttl-max-ms (%u)",
			 c->lease_ttl_min_ms, c->election_ms, c->lease_ttl_max_ms);
		return -1;
	}
	if (!cluster_given) {
		c->n_members = 1;
		snprintf(c->members[0].name, sizeof(c->members[0].name), "%s",
			 c->name);
		snprintf(c->members[0].peer_addr,
			 sizeof(c->members[0].peer_addr), "%s", c->peer_addr);
		c->members[0].id = config_member_id(c->name);
	}
	{
		bool self = false;

		for (size_t i = 0; i < c->n_members; i++)
			if (strcmp(c->members[i].name, c->name) == 0)
				self = true;
		if (!self && !c->join) {
			snprintf(err, errlen,
				 "--name %s is not in --initial-cluster (use --join to join an existing cluster)",
				 c->name);
			return -1;
		}
	}
	if ((c->cert_file[0] != '\0') != (c->key_file[0] != '\0')) {
		snprintf(err, errlen, "--cert-file and --key-file go together");
		return -1;
	}
	if (c->client_cert_auth && c->trusted_ca_file[0] == '\0') {
		snprintf(err, errlen, "--client-cert-auth needs --trusted-ca-file");
		return -1;
	}
	if (config_check_tls_sets(c, err, errlen) != 0)
		return -1;
	if (config_cluster_id(c, err, errlen) != 0)
		return -1;
	return config_admin_check(c, err, errlen);
}
