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
	int log_level;              /* 0 debug .. 3 error */
	unsigned shutdown_ms;       /* bound on a graceful stop */
	/* Exactly-once: the client table (equal on every member). */
	uint64_t max_clients;
	unsigned client_retry_horizon_ms;
};

/* Parses argv after the environment over the defaults. Returns 0, 1 when
 * --help was printed (exit 0), or -1 with a message in err (exit 2). */
int config_parse(struct config *c, int argc, char **argv, char *err,
		 size_t errlen);

void config_usage(FILE *f);

/* The node id of a member name: FNV-1a 64 of the name, never 0. */
uint64_t config_member_id(const char *name);

/* Splits "host:port" (host may be [v6]); false when malformed. */
bool config_split_addr(const char *addr, char *host, size_t hostlen,
		       unsigned *port);

#endif /* COORD_COORDD_CONFIG_H */
