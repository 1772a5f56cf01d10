/*
 * coordd/config.h: coordd's settings, from flags and COORDD_* environment
 * variables (a flag wins over its variable: --data-dir over
 * COORDD_DATA_DIR). `coordd --help` prints every setting with its default
 * (config_usage()).
 */
#ifndef COORD_COORDD_CONFIG_H
#define COORD_COORDD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_MEMBERS_MAX 16
#define CONFIG_STR_MAX 256

#define COORDD_DEFAULT_CLIENT_ADDR "127.0.0.1:2479"
#define COORDD_DEFAULT_PEER_ADDR "127.0.0.1:2480"
#define COORDD_DEFAULT_HTTP_ADDR "127.0.0.1:2481"

struct config_member {
	char name[64];
	char peer_addr[CONFIG_STR_MAX];   /* host:port */
	uint64_t id;                      /* config_member_id(name) */
};

struct config {
	char name[64];
	char data_dir[CONFIG_STR_MAX];
	char client_addr[CONFIG_STR_MAX];
	char peer_addr[CONFIG_STR_MAX];
	char http_addr[CONFIG_STR_MAX];     /* "" or "off": no HTTP */
	struct config_member members[CONFIG_MEMBERS_MAX];
	size_t n_members;
	bool join;                  /* --join: no bootstrap, wait for the log */
	unsigned heartbeat_ms;
	unsigned election_ms;
	uint64_t snapshot_entries;
	uint64_t max_snapshot_bytes;    /* a staged snapshot stream */
	/* Limits. */
	size_t max_frame_bytes;
	size_t max_key_bytes;
	size_t max_value_bytes;
	size_t max_txn_ops;
	size_t max_connections;
	size_t max_watches_per_conn;
	unsigned client_idle_ms;    /* exactly-once entries of idle clients */
	/* TLS. */
	char cert_file[CONFIG_STR_MAX];
	char key_file[CONFIG_STR_MAX];
	char trusted_ca_file[CONFIG_STR_MAX];
	bool client_cert_auth;
	char peer_cert_file[CONFIG_STR_MAX];
	char peer_key_file[CONFIG_STR_MAX];
	char peer_trusted_ca_file[CONFIG_STR_MAX];
	/* Admin requests (MEMBER_ADD/REMOVE/PROMOTE, TRANSFER_LEADER,
	 * COMPACT): with --client-cert-auth, from certificates whose
	 * subject CN or a DNS SAN is in admin_names (comma-separated; empty:
	 * none); otherwise from the addresses of admin_addrs (comma-separated
	 * IPs, "loopback" or "any"; default "loopback"). */
	char admin_names[CONFIG_STR_MAX];
	char admin_addrs[CONFIG_STR_MAX];
	unsigned transfer_interval_ms;  /* between TRANSFER_LEADERs; 0: any */
	/* Budgets and deadlines of client, peer and HTTP connections
	 * (coordd/net/conn.c, net.c, http.c; docs/protocol.md, Limits). */
	size_t max_input_buffer_bytes;
	size_t max_output_buffer_bytes;
	unsigned frame_timeout_ms;
	unsigned slow_reader_ms;
	unsigned conn_idle_ms;      /* HELLO'd client connections; 0: none */
	unsigned peer_idle_ms;      /* accepted peer connections; 0: none */
	size_t max_watches;         /* node-wide */
	size_t max_range_keys;      /* server-side RANGE limit */
	size_t max_http_connections;
	unsigned http_timeout_ms;
	bool metrics_no_state;      /* /metrics without hash and kinds */
	bool leader_log_inline;     /* no log writer thread */
	int log_level;              /* 0 debug .. 3 error */
	unsigned shutdown_ms;       /* bound on a graceful stop */
	/* Exactly-once: the client table (equal on every member). */
	uint64_t max_clients;
	unsigned client_retry_horizon_ms;
	/* Leases, sessions and locks (the max_* and drift: equal on every
	 * member, like max_clients: the fsm applies them). */
	unsigned lease_ttl_min_ms;
	unsigned lease_ttl_max_ms;
	unsigned lease_drift_ms;
	unsigned lease_drift_ppm;
	uint64_t max_leases;
	uint64_t max_sessions;
	uint64_t max_waiters_per_lock;
	uint64_t max_locks_per_session;
	/* Job queues. */
	uint64_t max_jobs_per_queue;
	uint64_t max_job_queues;
	uint64_t job_done_kept;
	/* The cluster id, in both peer HELLOs, the client HELLO and STATUS
	 * (docs/security.md, "The cluster id"). config_parse() sets
	 * cluster_id from --cluster-id, or for a founder derives it from
	 * --initial-cluster and --initial-cluster-token (0: a --join
	 * without --cluster-id); coordd then settles it against the one
	 * its data dir holds (main.c). */
	char initial_cluster_token[CONFIG_STR_MAX];
	char cluster_id_hex[32];        /* --cluster-id as given */
	uint64_t cluster_id;
	/* quota13: the quotas the leader proposes (QUOTA_SET); 0: none. */
	uint64_t quota_bytes;
	uint64_t coord_quota_bytes;
};

/* Parses argv after the environment over the defaults. Returns 0, 1 when
 * --help was printed (exit 0), or -1 with a message in err (exit 2). */
int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen);

void config_usage(FILE *f);

/* The node id of a member name: FNV-1a 64 of the name, never 0. */
uint64_t config_member_id(const char *name);

/* The cluster id founders derive alike: a hash of --initial-cluster-token
 * and the --initial-cluster members (name and peer address, in name
 * order), never 0. */
uint64_t config_cluster_id_derive(const struct config *c);

/* Splits "host:port" (host may be [v6]); false when malformed. */
bool config_split_addr(const char *addr, char *host, size_t hostlen,
		       unsigned *port);

/* Whether the IP addr (family AF_INET: 4 bytes, AF_INET6: 16) is in the
 * --admin-addrs list; -1 when the list is malformed (AF_UNSPEC: only
 * checks it). */
int config_admin_addrs_match(const char *list, int family, const void *addr,
			     bool *match);

/* Whether the comma-separated list holds name (len bytes) exactly. */
bool config_list_has(const char *list, const char *name, size_t len);

#endif /* COORD_COORDD_CONFIG_H */
