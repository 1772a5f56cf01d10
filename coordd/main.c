/*
 * coordd/main.c: coordd, one member of a coord cluster. Parses the
 * settings (coordd/config.h), binds the listeners, opens the node and runs
 * the event loop until SIGTERM or SIGINT (net.c: graceful stop).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/config.h"
#include "coordd/failpoint.h"
#include "coordd/net/net.h"
#include "coordd/node.h"
#include "proto/errors.h"

static void node_log_cb(void *ctx, enum node_log_level level, const char *msg)
{
	(void)ctx;
	coordd_log((int)level, "%s", msg);
}

/* The data dir holds the keyspace and the Raft log: only coordd's user
 * may read it (issue 14 §15). Everything coordd creates from here on --
 * LevelDB's files included, which it creates 0644 -- is 0600, and the
 * dir 0700 (coordd/store); a dir that already lets others in is left as
 * it is, with a warning. */
static void data_dir_private(const char *dir)
{
	struct stat st;

	umask(077);
	if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0)
		coordd_log(2, "data dir %s is open to group or others (mode %03o): chmod 700 it",
			   dir, (unsigned)(st.st_mode & 0777));
}

/* Writes the cluster id to path, whole or not at all: a temporary file,
 * synced, renamed into place, the directory synced. */
static int cluster_id_write(const char *dir, const char *path, uint64_t id,
			    char *err, size_t errlen)
{
	char tmp[CONFIG_STR_MAX + 32], text[32];
	int fd, n = snprintf(text, sizeof(text), "%016" PRIx64 "\n", id);
	bool ok;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the data dir %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok = fd >= 0 && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	ok = ok && rename(tmp, path) == 0;
	if (ok) {
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		ok = fd >= 0 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
	}
	if (!ok)
		snprintf(err, errlen, "cannot write %s: %s", path,
			 strerror(errno));
	return ok ? 0 : -1;
}

/*
 * The cluster id (issue 14 §1(d)) belongs to the data dir: the first
 * start stores it there (a founder's derived one, or a joiner's
 * --cluster-id) and every later start takes it from there, whatever the
 * flags derive. A --cluster-id that differs from the stored one, a
 * damaged file, or a --join with neither refuses to start.
 */
static int cluster_id_settle(struct config *cfg, char *err, size_t errlen)
{
	char path[CONFIG_STR_MAX + 16], text[64], *end;
	FILE *f;
	size_t n;
	unsigned long long v;

	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, "cluster-id");
	f = fopen(path, "r");
	if (f == NULL && errno != ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (f == NULL) {
		if (cfg->cluster_id == 0) {
			snprintf(err, errlen,
				 "--join needs --cluster-id (coordctl member add and coordctl status print it)");
			return -1;
		}
		if (cluster_id_write(cfg->data_dir, path, cfg->cluster_id,
				     err, errlen) != 0)
			return -1;
		coordd_log(1, "cluster_id=%016" PRIx64 " stored in %s",
			   cfg->cluster_id, path);
		return 0;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	errno = 0;
	v = strtoull(text, &end, 16);
	if (n != 17 || end != text + 16 || *end != '\n' || errno != 0 ||
	    v == 0) {
		snprintf(err, errlen,
			 "%s is damaged (want 16 hex digits and a newline)",
			 path);
		return -1;
	}
	if (cfg->cluster_id_hex[0] != '\0' && cfg->cluster_id != v) {
		snprintf(err, errlen,
			 "data dir %s belongs to cluster %016llx, not to --cluster-id %016" PRIx64,
			 cfg->data_dir, v, cfg->cluster_id);
		return -1;
	}
	if (cfg->cluster_id != 0 && cfg->cluster_id != v)
		coordd_log(1, "cluster_id=%016llx from %s (the flags derive %016" PRIx64 ": the data dir wins)",
			   v, path, cfg->cluster_id);
	else
		coordd_log(1, "cluster_id=%016llx from %s", v, path);
	cfg->cluster_id = (uint64_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct config cfg;
	struct node_config nc;
	struct net *net = NULL;
	struct node *node = NULL;
	uint64_t voters[CONFIG_MEMBERS_MAX];
	char err[1024];
	int rc, status;

	rc = config_parse(&cfg, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "coordd: %s\n", err);
		return 2;
	}
	coordd_log_init(cfg.name, cfg.log_level);
#ifdef COORD_FAILPOINTS_ENABLED
	/* Read once, before anything could reach a hook. */
	if (failpoint_setup_env(coordd_log, err, sizeof(err)) != COORD_OK) {
		coordd_log(3, "cannot start: %s", err);
		return 2;
	}
#endif
	data_dir_private(cfg.data_dir);
	if (net_new(&cfg, &net, err, sizeof(err)) != COORD_OK) {
		coordd_log(3, "cannot start: %s", err);
		return 1;
	}
	node_config_default(&nc);
	nc.name = cfg.name;
	nc.id = config_member_id(cfg.name);
	nc.data_dir = cfg.data_dir;
	for (size_t i = 0; i < cfg.n_members; i++)
		voters[i] = cfg.members[i].id;
	nc.voters = cfg.join ? NULL : voters;
	nc.n_voters = cfg.join ? 0 : cfg.n_members;
	nc.heartbeat_ticks = cfg.heartbeat_ms >= 10 ? NET_TICKS_PER_HEARTBEAT : 1;
	nc.election_ticks = cfg.election_ms /
			    (cfg.heartbeat_ms >= 10 ? cfg.heartbeat_ms / 10 : 1);
	nc.seed = nc.id ^ (uint64_t)getpid();
	nc.snapshot_entries = cfg.snapshot_entries;
	nc.async_log = !cfg.leader_log_inline;
	nc.snapshot_bytes_max = cfg.max_snapshot_bytes;
	/* Requests give up after two election timeouts. */
	nc.request_ticks = 2 * nc.election_ticks;
	nc.fsm.key_bytes_max = cfg.max_key_bytes;
	nc.fsm.value_bytes_max = cfg.max_value_bytes;
	nc.fsm.txn_ops_max = cfg.max_txn_ops;
	nc.fsm.clients_max = cfg.max_clients;
	nc.fsm.leases_max = cfg.max_leases;
	nc.fsm.sessions_max = cfg.max_sessions;
	nc.fsm.waiters_max = cfg.max_waiters_per_lock;
	nc.fsm.locks_per_session_max = cfg.max_locks_per_session;
	nc.fsm.job_queue_len_max = cfg.max_jobs_per_queue;
	nc.fsm.job_queues_max = cfg.max_job_queues;
	nc.fsm.job_done_kept = cfg.job_done_kept;
	nc.fsm.lease_drift_ms = cfg.lease_drift_ms;
	nc.fsm.lease_drift_ppm = cfg.lease_drift_ppm;
	nc.transport = net_transport(net);
	nc.on_members = net_members_changed;
	nc.members_ctx = net;
	nc.on_applied = leases_applied;
	nc.applied_ctx = net;
	nc.replies_flush = net_replies_flush;
	nc.log = node_log_cb;
	rc = node_open(&nc, &node, err, sizeof(err));
	if (rc != COORD_OK) {
		coordd_log(3, "cannot open the node: %s", err);
		net_free(net);
		return 1;
	}
	/* After the store: it has checked and locked the data dir. Nothing
	 * speaks to a peer or client before net_run(). */
	if (cluster_id_settle(&cfg, err, sizeof(err)) != 0) {
		coordd_log(3, "cannot start: %s", err);
		node_close(node);
		net_free(net);
		return 1;
	}
	net_attach(net, node);
	status = net_run(net);
	net_free(net);
	node_close(node);
	coordd_log(1, "exited status=%d", status);
	return status;
}
