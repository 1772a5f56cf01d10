/*
 * tests/unit/test_config.c: coordd's settings (coordd/config.c) -- flags,
 * COORDD_* variables, defaults, --help, and every refusal with the text
 * that names the culprit. config.c does no I/O beyond getenv, so it is
 * linked here directly; the fixture clears every COORDD_* variable.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordd/config.h"
#include "proto/limits.h"
#include "proto/wire.h"

extern char **environ;

static struct config cfg;
static char err[1024];

/* Drops every COORDD_* variable, so the host's cannot leak in. */
static void env_clear(void)
{
	for (;;) {
		char name[128];
		const char *eq;
		size_t n;
		bool found = false;

		for (char **e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, "COORDD_", 7) != 0)
				continue;
			eq = strchr(*e, '=');
			n = eq != NULL ? (size_t)(eq - *e) : strlen(*e);
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, *e, n);
			name[n] = '\0';
			found = true;
			break;
		}
		if (!found)
			return;
		unsetenv(name);
	}
}

static void setup(void)
{
	env_clear();
	memset(&cfg, 0xa5, sizeof(cfg));
	err[0] = '\0';
}

static void teardown(void)
{
	env_clear();
}

/* config_parse over "coordd" and the NULL-terminated arguments. */
static int parse(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"coordd";
	va_start(ap, first);
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	return config_parse(&cfg, argc, argv, err, sizeof(err));
}

/* Asserts a refusal whose message contains `want`. */
#define refused(want, ...)                                                   \
	do {                                                                 \
		err[0] = '\0';                                               \
		ck_assert_int_eq(parse(__VA_ARGS__, NULL), -1);              \
		ck_assert_msg(strstr(err, (want)) != NULL,                   \
			      "error \"%s\" lacks \"%s\"", err, (want));     \
	} while (0)

/* What config_usage() prints, as a heap string. */
static char *usage_text(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	config_usage(f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

START_TEST(no_flags_give_a_single_node_cluster_on_loopback)
{
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(cfg.name, "default");
	ck_assert_str_eq(cfg.data_dir, "coordd.data");
	ck_assert_str_eq(cfg.client_addr, COORDD_DEFAULT_CLIENT_ADDR);
	ck_assert_str_eq(cfg.peer_addr, COORDD_DEFAULT_PEER_ADDR);
	ck_assert_str_eq(cfg.http_addr, COORDD_DEFAULT_HTTP_ADDR);
	ck_assert_uint_eq(cfg.n_members, 1);
	ck_assert_str_eq(cfg.members[0].name, "default");
	ck_assert_str_eq(cfg.members[0].peer_addr, COORDD_DEFAULT_PEER_ADDR);
	ck_assert_uint_eq(cfg.members[0].id, config_member_id("default"));
	ck_assert(!cfg.join);
	ck_assert_uint_eq(cfg.heartbeat_ms, 100);
	ck_assert_uint_eq(cfg.election_ms, 1000);
	ck_assert_uint_eq(cfg.snapshot_entries, 10000);
	ck_assert_uint_eq(cfg.max_frame_bytes, 2u << 20);
	ck_assert_uint_eq(cfg.max_key_bytes, COORD_KEY_BYTES_MAX);
	ck_assert_uint_eq(cfg.max_value_bytes, COORD_VALUE_BYTES_MAX);
	ck_assert_uint_eq(cfg.max_txn_ops, COORD_TXN_OPS_MAX);
	ck_assert_uint_eq(cfg.max_connections, 10000);
	ck_assert_uint_eq(cfg.max_watches_per_conn, 1000);
	ck_assert_uint_eq(cfg.client_idle_ms, 3600u * 1000u);
	ck_assert_int_eq(cfg.log_level, 1);
	ck_assert_uint_eq(cfg.shutdown_ms, 5000);
	ck_assert_str_eq(cfg.cert_file, "");
	ck_assert(!cfg.client_cert_auth);
	ck_assert_str_eq(cfg.peer_cert_file, "");
}
END_TEST

START_TEST(flags_take_a_value_after_equals_or_as_the_next_argument)
{
	ck_assert_int_eq(parse("--name", "n2", "--data-dir=/tmp/d2",
			       "--client-addr", "127.0.0.1:7001",
			       "--peer-addr=[::1]:7002", "--http-addr", "off",
			       "--heartbeat-ms=50", "--election-ms", "100",
			       "--snapshot-entries", "18446744073709551615",
			       "--max-frame-bytes=1024", "--max-key-bytes", "1",
			       "--max-value-bytes=0", "--max-txn-ops", "3",
			       "--max-connections=1", "--max-watches-per-conn",
			       "1000000", "--client-idle-ms=1000",
			       "--log-level", "error", "--shutdown-ms=600000",
			       NULL), 0);
	ck_assert_str_eq(cfg.name, "n2");
	ck_assert_str_eq(cfg.data_dir, "/tmp/d2");
	ck_assert_str_eq(cfg.client_addr, "127.0.0.1:7001");
	ck_assert_str_eq(cfg.peer_addr, "[::1]:7002");
	ck_assert_str_eq(cfg.http_addr, "off");
	ck_assert_uint_eq(cfg.heartbeat_ms, 50);
	ck_assert_uint_eq(cfg.election_ms, 100);
	ck_assert_uint_eq(cfg.snapshot_entries, UINT64_MAX);
	ck_assert_uint_eq(cfg.max_frame_bytes, 1024);
	ck_assert_uint_eq(cfg.max_key_bytes, 1);
	ck_assert_uint_eq(cfg.max_value_bytes, 0);
	ck_assert_uint_eq(cfg.max_txn_ops, 3);
	ck_assert_uint_eq(cfg.max_connections, 1);
	ck_assert_uint_eq(cfg.max_watches_per_conn, 1000000);
	ck_assert_uint_eq(cfg.client_idle_ms, 1000);
	ck_assert_int_eq(cfg.log_level, 3);
	ck_assert_uint_eq(cfg.shutdown_ms, 600000);
	/* Without --initial-cluster the member is itself, at --peer-addr. */
	ck_assert_uint_eq(cfg.n_members, 1);
	ck_assert_str_eq(cfg.members[0].name, "n2");
	ck_assert_str_eq(cfg.members[0].peer_addr, "[::1]:7002");
	ck_assert_uint_eq(cfg.members[0].id, config_member_id("n2"));
}
END_TEST

START_TEST(empty_value_after_equals_clears_a_string)
{
	ck_assert_int_eq(parse("--http-addr=", NULL), 0);
	ck_assert_str_eq(cfg.http_addr, "");
}
END_TEST

START_TEST(log_level_takes_each_of_its_four_names)
{
	static const char *const names[] = { "debug", "info", "warn", "error" };

	for (int i = 0; i < 4; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--log-level=%s", names[i]);
		ck_assert_int_eq(parse(flag, NULL), 0);
		ck_assert_int_eq(cfg.log_level, i);
	}
	refused("--log-level: use debug, info, warn or error",
		"--log-level=verbose");
	refused("--log-level: use debug", "--log-level");
	refused("--log-level: use debug", "--log-level=INFO");
}
END_TEST

START_TEST(bool_flags_are_bare_or_take_true_false_1_0)
{
	ck_assert_int_eq(parse("--join", NULL), 0);
	ck_assert(cfg.join);
	ck_assert_int_eq(parse("--join=true", NULL), 0);
	ck_assert(cfg.join);
	ck_assert_int_eq(parse("--join=1", NULL), 0);
	ck_assert(cfg.join);
	ck_assert_int_eq(parse("--join=false", NULL), 0);
	ck_assert(!cfg.join);
	ck_assert_int_eq(parse("--join=0", NULL), 0);
	ck_assert(!cfg.join);
	refused("--join: \"yes\" is not true or false", "--join=yes");
	/* A bare bool never swallows the next argument. */
	refused("unexpected argument \"true\"", "--join", "true");
}
END_TEST

START_TEST(numbers_are_checked_against_their_range)
{
	refused("--heartbeat-ms: \"0\" is not a number in [1, 60000]",
		"--heartbeat-ms=0");
	refused("--heartbeat-ms: \"60001\" is not a number in [1, 60000]",
		"--heartbeat-ms=60001", "--election-ms=600000");
	refused("--election-ms: \"600001\"", "--election-ms=600001");
	refused("--snapshot-entries: \"0\"", "--snapshot-entries=0");
	refused("--snapshot-entries: \"18446744073709551616\"",
		"--snapshot-entries=18446744073709551616");
	refused("--max-frame-bytes: \"1023\"", "--max-frame-bytes=1023");
	refused("--max-frame-bytes: \"67108865\"",
		"--max-frame-bytes=67108865");
	ck_assert_int_eq(parse("--max-frame-bytes=67108864", NULL), 0);
	ck_assert_uint_eq(cfg.max_frame_bytes, 64u << 20);
	refused("--max-key-bytes: \"0\"", "--max-key-bytes=0");
	{
		char flag[64];

		snprintf(flag, sizeof(flag), "--max-key-bytes=%llu",
			 (unsigned long long)COORD_KEY_BYTES_MAX + 1);
		refused("--max-key-bytes", flag);
		snprintf(flag, sizeof(flag), "--max-value-bytes=%llu",
			 (unsigned long long)COORD_VALUE_BYTES_MAX + 1);
		refused("--max-value-bytes", flag);
		snprintf(flag, sizeof(flag), "--max-txn-ops=%llu",
			 (unsigned long long)COORD_TXN_OPS_MAX + 1);
		refused("--max-txn-ops", flag);
	}
	refused("--client-idle-ms: \"999\"", "--client-idle-ms=999");
	refused("--shutdown-ms: \"99\"", "--shutdown-ms=99");
	refused("--max-connections: \"0\"", "--max-connections=0");
	refused("--max-watches-per-conn: \"1000001\"",
		"--max-watches-per-conn=1000001");
}
END_TEST

START_TEST(numbers_refuse_signs_junk_and_a_missing_value)
{
	refused("--heartbeat-ms: needs a number", "--heartbeat-ms=-1");
	refused("--heartbeat-ms: needs a number", "--heartbeat-ms=+5");
	refused("--heartbeat-ms: needs a number", "--heartbeat-ms= 5");
	refused("--heartbeat-ms: needs a number", "--heartbeat-ms=");
	refused("--heartbeat-ms: \"5ms\" is not a number",
		"--heartbeat-ms=5ms");
	refused("--heartbeat-ms: \"1e3\" is not a number",
		"--heartbeat-ms=1e3");
	/* The last flag with no argument after it. */
	refused("--heartbeat-ms: needs a number", "--heartbeat-ms");
	refused("--snapshot-entries: needs a number", "--snapshot-entries");
}
END_TEST

START_TEST(strings_refuse_a_missing_or_too_long_value)
{
	char name[80], dir[CONFIG_STR_MAX + 16];

	refused("--data-dir: needs a value", "--data-dir");
	/* name is char[64]: 63 bytes fit, 64 do not. */
	snprintf(name, sizeof(name), "--name=%063d", 7);
	ck_assert_int_eq(parse(name, NULL), 0);
	ck_assert_uint_eq(strlen(cfg.name), 63);
	snprintf(name, sizeof(name), "--name=%064d", 7);
	refused("--name: too long", name);
	memset(dir, 'd', sizeof(dir));
	memcpy(dir, "--data-dir=", 11);
	dir[11 + CONFIG_STR_MAX] = '\0';
	refused("--data-dir: too long", dir);
	dir[11 + CONFIG_STR_MAX - 1] = '\0';
	ck_assert_int_eq(parse(dir, NULL), 0);
	ck_assert_uint_eq(strlen(cfg.data_dir), CONFIG_STR_MAX - 1);
}
END_TEST

START_TEST(unknown_flags_and_bare_words_are_refused)
{
	refused("unknown flag \"--bogus\" (see --help)", "--bogus");
	refused("unknown flag \"--data=x\"", "--data=x");
	refused("unknown flag \"--data-dirx\"", "--data-dirx", "x");
	refused("unknown flag \"--\"", "--");
	refused("unexpected argument \"data\" (see --help)", "data");
	refused("unexpected argument \"-n\"", "-n", "x");
	/* A refusal stops before --help is seen. */
	refused("unknown flag", "--nope", "--help");
}
END_TEST

START_TEST(election_must_be_at_least_two_heartbeats)
{
	refused("--election-ms (199) must be at least twice --heartbeat-ms (100)",
		"--election-ms=199");
	ck_assert_int_eq(parse("--election-ms=200", NULL), 0);
	ck_assert_uint_eq(cfg.election_ms, 200);
	refused("--election-ms (1000) must be at least twice --heartbeat-ms (501)",
		"--heartbeat-ms=501");
}
END_TEST

START_TEST(initial_cluster_lists_members_with_ids)
{
	ck_assert_int_eq(parse("--name", "b", "--initial-cluster",
			       "a=127.0.0.1:1,b=localhost:2,c=[::1]:3,",
			       NULL), 0);
	ck_assert_uint_eq(cfg.n_members, 3);
	ck_assert_str_eq(cfg.members[0].name, "a");
	ck_assert_str_eq(cfg.members[0].peer_addr, "127.0.0.1:1");
	ck_assert_str_eq(cfg.members[1].name, "b");
	ck_assert_str_eq(cfg.members[1].peer_addr, "localhost:2");
	ck_assert_str_eq(cfg.members[2].name, "c");
	ck_assert_str_eq(cfg.members[2].peer_addr, "[::1]:3");
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(cfg.members[i].id,
				  config_member_id(cfg.members[i].name));
	ck_assert_uint_ne(cfg.members[0].id, cfg.members[1].id);
	ck_assert_uint_ne(cfg.members[1].id, cfg.members[2].id);
}
END_TEST

START_TEST(initial_cluster_refuses_malformed_entries)
{
	refused("--initial-cluster: empty", "--initial-cluster=");
	refused("--initial-cluster: needs a value", "--initial-cluster");
	refused("--initial-cluster: \"a\" is not name=host:port",
		"--initial-cluster=a");
	refused("--initial-cluster: \"=h:1\" is not name=host:port",
		"--initial-cluster==h:1");
	refused("--initial-cluster: \"\" is not name=host:port",
		"--initial-cluster=,default=h:1");
	refused("--initial-cluster: bad address \"h\" for default",
		"--initial-cluster=default=h");
	refused("--initial-cluster: bad address \"h:99999\" for default",
		"--initial-cluster=default=h:99999");
	refused("--initial-cluster: bad address \":1\" for default",
		"--initial-cluster=default=:1");
	refused("--initial-cluster: default given twice",
		"--initial-cluster=default=h:1,default=h:2");
	refused("--name default is not in --initial-cluster (use --join",
		"--initial-cluster=a=h:1,b=h:2");
}
END_TEST

START_TEST(initial_cluster_holds_at_most_members_max)
{
	char list[CONFIG_MEMBERS_MAX * 16 + 64];
	size_t n = 0;

	for (int i = 0; i < CONFIG_MEMBERS_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%sm%d=h:%d",
				      i ? "," : "--initial-cluster=", i, i + 1);
	ck_assert_int_eq(parse("--name=m0", list, NULL), 0);
	ck_assert_uint_eq(cfg.n_members, CONFIG_MEMBERS_MAX);
	snprintf(list + n, sizeof(list) - n, ",extra=h:9");
	refused("--initial-cluster: more than 16 members", "--name=m0", list);
}
END_TEST

START_TEST(initial_cluster_refuses_too_long_entries)
{
	char list[CONFIG_STR_MAX * 2];
	int n;

	/* A name of 64 bytes does not fit char[64]. */
	n = snprintf(list, sizeof(list), "--initial-cluster=");
	memset(list + n, 'x', 64);
	snprintf(list + n + 64, sizeof(list) - (size_t)n - 64, "=h:1");
	refused("--initial-cluster: entry too long", list);
	/* An address of CONFIG_STR_MAX bytes does not fit either. */
	n = snprintf(list, sizeof(list), "--initial-cluster=default=");
	memset(list + n, 'h', CONFIG_STR_MAX - 2);
	snprintf(list + n + CONFIG_STR_MAX - 2, sizeof(list) - (size_t)n -
		 CONFIG_STR_MAX + 2, ":1");
	refused("--initial-cluster: entry too long", list);
}
END_TEST

START_TEST(join_allows_a_name_outside_the_initial_cluster)
{
	ck_assert_int_eq(parse("--name=n4", "--join",
			       "--initial-cluster=n1=h:1,n2=h:2", NULL), 0);
	ck_assert(cfg.join);
	ck_assert_uint_eq(cfg.n_members, 2);
}
END_TEST

START_TEST(a_later_initial_cluster_replaces_an_earlier_one)
{
	ck_assert_int_eq(parse("--initial-cluster=a=h:1,default=h:2",
			       "--initial-cluster=default=h:3", NULL), 0);
	ck_assert_uint_eq(cfg.n_members, 1);
	ck_assert_str_eq(cfg.members[0].peer_addr, "h:3");
}
END_TEST

START_TEST(tls_files_must_come_in_their_sets)
{
	refused("--cert-file and --key-file go together", "--cert-file=c");
	refused("--cert-file and --key-file go together", "--key-file=k");
	refused("--client-cert-auth needs --trusted-ca-file", "--cert-file=c",
		"--key-file=k", "--client-cert-auth");
	refused("peer TLS needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file",
		"--peer-cert-file=c", "--peer-key-file=k");
	refused("peer TLS needs", "--peer-cert-file=c",
		"--peer-trusted-ca-file=a");
	/* Issue 14 §12: the sets that used to fail open. */
	refused("--trusted-ca-file without --cert-file and --key-file: the client listener would be plaintext",
		"--client-cert-auth", "--trusted-ca-file=a");
	refused("--trusted-ca-file without --cert-file", "--trusted-ca-file=a");
	refused("--trusted-ca-file without --client-cert-auth: client certificates would not be checked",
		"--cert-file=c", "--key-file=k", "--trusted-ca-file=a");
	refused("peer TLS needs", "--peer-key-file=k",
		"--peer-trusted-ca-file=a");
	refused("peer TLS needs", "--peer-trusted-ca-file=a");
	refused("peer TLS needs", "--peer-key-file=k");
	ck_assert_int_eq(parse("--cert-file=c", "--key-file=k",
			       "--trusted-ca-file=a", "--client-cert-auth",
			       "--peer-cert-file=pc", "--peer-key-file=pk",
			       "--peer-trusted-ca-file=pa", NULL), 0);
	ck_assert_str_eq(cfg.cert_file, "c");
	ck_assert_str_eq(cfg.key_file, "k");
	ck_assert_str_eq(cfg.trusted_ca_file, "a");
	ck_assert(cfg.client_cert_auth);
	ck_assert_str_eq(cfg.peer_cert_file, "pc");
	ck_assert_str_eq(cfg.peer_key_file, "pk");
	ck_assert_str_eq(cfg.peer_trusted_ca_file, "pa");
}
END_TEST

START_TEST(environment_sets_what_flags_do_not)
{
	ck_assert_int_eq(setenv("COORDD_DATA_DIR", "/env/dir", 1), 0);
	ck_assert_int_eq(setenv("COORDD_HEARTBEAT_MS", "20", 1), 0);
	ck_assert_int_eq(setenv("COORDD_JOIN", "true", 1), 0);
	ck_assert_int_eq(setenv("COORDD_LOG_LEVEL", "debug", 1), 0);
	ck_assert_int_eq(setenv("COORDD_INITIAL_CLUSTER",
				"x=h:1,default=h:2", 1), 0);
	ck_assert_int_eq(setenv("COORDD_MAX_WATCHES_PER_CONN", "7", 1), 0);
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(cfg.data_dir, "/env/dir");
	ck_assert_uint_eq(cfg.heartbeat_ms, 20);
	ck_assert(cfg.join);
	ck_assert_int_eq(cfg.log_level, 0);
	ck_assert_uint_eq(cfg.n_members, 2);
	ck_assert_str_eq(cfg.members[0].name, "x");
	ck_assert_uint_eq(cfg.max_watches_per_conn, 7);
}
END_TEST

START_TEST(a_flag_wins_over_its_variable)
{
	ck_assert_int_eq(setenv("COORDD_DATA_DIR", "/env/dir", 1), 0);
	ck_assert_int_eq(setenv("COORDD_JOIN", "1", 1), 0);
	ck_assert_int_eq(setenv("COORDD_INITIAL_CLUSTER", "x=h:1", 1), 0);
	ck_assert_int_eq(parse("--data-dir", "/flag/dir", "--join=false",
			       "--initial-cluster=default=h:5", NULL), 0);
	ck_assert_str_eq(cfg.data_dir, "/flag/dir");
	ck_assert(!cfg.join);
	ck_assert_uint_eq(cfg.n_members, 1);
	ck_assert_str_eq(cfg.members[0].peer_addr, "h:5");
}
END_TEST

START_TEST(a_bad_variable_is_refused_by_its_name)
{
	ck_assert_int_eq(setenv("COORDD_ELECTION_MS", "soon", 1), 0);
	refused("COORDD_ELECTION_MS: needs a number", "--name=x");
	ck_assert_int_eq(unsetenv("COORDD_ELECTION_MS"), 0);
	ck_assert_int_eq(setenv("COORDD_CLIENT_CERT_AUTH", "", 1), 0);
	refused("COORDD_CLIENT_CERT_AUTH: \"\" is not true or false",
		"--name=x");
	ck_assert_int_eq(unsetenv("COORDD_CLIENT_CERT_AUTH"), 0);
	ck_assert_int_eq(setenv("COORDD_INITIAL_CLUSTER", "", 1), 0);
	refused("--initial-cluster: empty", "--name=x");
	ck_assert_int_eq(unsetenv("COORDD_INITIAL_CLUSTER"), 0);
	ck_assert_int_eq(setenv("COORDD_LOG_LEVEL", "loud", 1), 0);
	refused("COORDD_LOG_LEVEL: use debug", "--name=x");
}
END_TEST

START_TEST(help_prints_every_flag_with_its_variable_and_default)
{
	char *u = usage_text();

	ck_assert_ptr_nonnull(strstr(u, "usage: coordd [flags]"));
	ck_assert_ptr_nonnull(strstr(u, "clients at " COORDD_DEFAULT_CLIENT_ADDR));
	ck_assert_ptr_nonnull(strstr(u, "--data-dir [COORDD_DATA_DIR]"));
	ck_assert_ptr_nonnull(strstr(u, "(default: coordd.data)"));
	ck_assert_ptr_nonnull(strstr(u, "--max-watches-per-conn [COORDD_MAX_WATCHES_PER_CONN]"));
	ck_assert_ptr_nonnull(strstr(u, "--heartbeat-ms [COORDD_HEARTBEAT_MS]\n\t\tleader heartbeat interval (default: 100)"));
	ck_assert_ptr_nonnull(strstr(u, "(default: 10000)"));           /* u64 */
	ck_assert_ptr_nonnull(strstr(u, "(default: 2097152)"));         /* size */
	ck_assert_ptr_nonnull(strstr(u, "--join [COORDD_JOIN]"));
	ck_assert_ptr_nonnull(strstr(u, "(default: false)"));
	ck_assert_ptr_nonnull(strstr(u, "debug, info, warn or error (default: info)"));
	ck_assert_ptr_nonnull(strstr(u, "--initial-cluster [COORDD_INITIAL_CLUSTER]"));
	ck_assert_ptr_nonnull(strstr(u, "--help\n\t\tthis text\n"));
	/* Every flag the parser knows is in the text, and the reverse. */
	for (const char *p = u; (p = strstr(p, "\n  --")) != NULL; p += 5) {
		char flag[64];
		size_t n = strcspn(p + 3, " \n");

		ck_assert_uint_lt(n, sizeof(flag) - 8);
		memcpy(flag, p + 3, n);
		flag[n] = '\0';
		if (strcmp(flag, "--help") == 0)
			continue;
		if (strcmp(flag, "--join") == 0 ||
		    strcmp(flag, "--client-cert-auth") == 0)
			strcat(flag, "=0");
		else if (strcmp(flag, "--log-level") == 0)
			strcat(flag, "=info");
		else if (strcmp(flag, "--initial-cluster") == 0)
			strcat(flag, "=default=h:1");
		else
			strcat(flag, "=1000");
		ck_assert_msg(parse("--heartbeat-ms=1", flag, NULL) == 0 ||
			      strstr(err, "unknown flag") == NULL,
			      "%s printed by --help but unknown", flag);
	}
	free(u);
}
END_TEST

/* Runs config_parse with stdout sent to a file; returns what it printed. */
static char *parse_capturing_stdout(const char *flag, int *rc)
{
	char path[] = "/tmp/test_config.XXXXXX";
	int fd = mkstemp(path);
	int saved;
	char *out;
	long n;
	FILE *f;

	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	saved = dup(1);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fd, 1), 1);
	*rc = parse("--data-dir=x", flag, "--bogus-after-help", NULL);
	fflush(stdout);
	ck_assert_int_eq(dup2(saved, 1), 1);
	close(saved);
	close(fd);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	out = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return out;
}

START_TEST(help_and_h_print_usage_to_stdout_and_return_1)
{
	static const char *const flags[] = { "--help", "-h" };

	for (int i = 0; i < 2; i++) {
		int rc = 0;
		char *out = parse_capturing_stdout(flags[i], &rc);
		char *u = usage_text();

		ck_assert_int_eq(rc, 1);
		ck_assert_str_eq(out, u);
		free(out);
		free(u);
	}
}
END_TEST

START_TEST(split_addr_takes_host_port_and_bracketed_v6)
{
	char host[64];
	unsigned port = 0;

	ck_assert(config_split_addr("127.0.0.1:2479", host, sizeof(host), &port));
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 2479);
	ck_assert(config_split_addr("[::1]:0", host, sizeof(host), &port));
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	ck_assert(config_split_addr("localhost:65535", host, sizeof(host), &port));
	ck_assert_str_eq(host, "localhost");
	ck_assert_uint_eq(port, 65535);
	/* The last colon splits, so an unbracketed v6 host is taken whole. */
	ck_assert(config_split_addr("::1:80", host, sizeof(host), &port));
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 80);
}
END_TEST

START_TEST(split_addr_refuses_malformed_addresses)
{
	char host[8];
	unsigned port = 12345;

	ck_assert(!config_split_addr("localhost", host, sizeof(host), &port));
	ck_assert(!config_split_addr(":80", host, sizeof(host), &port));
	ck_assert(!config_split_addr("h:", host, sizeof(host), &port));
	ck_assert(!config_split_addr("h:65536", host, sizeof(host), &port));
	ck_assert(!config_split_addr("h:80x", host, sizeof(host), &port));
	ck_assert(!config_split_addr("h:99999999999999999999999", host,
				     sizeof(host), &port));
	ck_assert(!config_split_addr("[::1:80", host, sizeof(host), &port));
	ck_assert(!config_split_addr("[]:80", host, sizeof(host), &port));
	/* host[8] holds 7 bytes and the NUL. */
	ck_assert(!config_split_addr("abcdefgh:1", host, sizeof(host), &port));
	ck_assert_uint_eq(port, 12345);
	ck_assert(config_split_addr("abcdefg:1", host, sizeof(host), &port));
	ck_assert_str_eq(host, "abcdefg");
}
END_TEST

START_TEST(member_id_is_fnv_of_the_name_and_never_0)
{
	ck_assert_uint_eq(config_member_id("n1"), proto_member_id("n1", 2));
	ck_assert_uint_ne(config_member_id("n1"), 0);
	ck_assert_uint_ne(config_member_id(""), 0);
	ck_assert_uint_ne(config_member_id("n1"), config_member_id("n2"));
	ck_assert_uint_eq(config_member_id("n1"), config_member_id("n1"));
}
END_TEST

START_TEST(admin_flags_are_checked_at_start)
{
	ck_assert_int_eq(parse(NULL), 0);
	ck_assert_str_eq(cfg.admin_addrs, "loopback");
	ck_assert_str_eq(cfg.admin_names, "");
	ck_assert_uint_eq(cfg.transfer_interval_ms, 10000);
	ck_assert_int_eq(parse("--admin-addrs", "10.0.0.1,::1,loopback,any",
			       "--transfer-interval-ms", "0", NULL), 0);
	refused("--admin-addrs 10.0.0: want IP addresses", "--admin-addrs",
		"10.0.0");
	refused("--admin-addrs a,,b", "--admin-addrs", "a,,b");
	refused("--admin-names needs --client-cert-auth", "--admin-names",
		"ops");
}
END_TEST

/* Whether addr (a literal) matches the --admin-addrs list. */
static bool admin_match(const char *list, const char *addr)
{
	uint8_t ip[16];
	bool m;
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

	ck_assert_int_eq(inet_pton(family, addr, ip), 1);
	ck_assert_int_eq(config_admin_addrs_match(list, family, ip, &m), 0);
	return m;
}

START_TEST(admin_addrs_match_loopback_any_and_exact_addresses)
{
	ck_assert(admin_match("loopback", "127.0.0.1"));
	ck_assert(admin_match("loopback", "127.1.2.3"));
	ck_assert(admin_match("loopback", "::1"));
	ck_assert(!admin_match("loopback", "10.0.0.1"));
	ck_assert(!admin_match("loopback", "::2"));
	ck_assert(admin_match("any", "10.0.0.1"));
	ck_assert(admin_match("127.0.0.2,10.0.0.1", "10.0.0.1"));
	ck_assert(!admin_match("127.0.0.2", "127.0.0.1"));
	ck_assert(admin_match("fe80::1", "fe80::1"));
	ck_assert(!admin_match("10.0.0.1", "::ffff:10.0.0.1"));
	ck_assert(config_list_has("a.example,admin.example", "admin.example",
				  13));
	ck_assert(!config_list_has("admin.example", "admin", 5));
	ck_assert(!config_list_has("", "", 0));
}
END_TEST

/* The cluster id (issue 14 §1(d)): every founder derives the same one
 * from the same member list and token, whatever the list's order; another
 * token or member list gives another; --cluster-id is taken as given, in
 * hex; a --join without it has none (its data dir must hold it). */
START_TEST(founders_derive_one_cluster_id_that_the_token_changes)
{
	uint64_t a, b;

	ck_assert_int_eq(parse("--name", "n1", "--initial-cluster",
			       "n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:3",
			       "--initial-cluster-token", "prod", NULL), 0);
	a = cfg.cluster_id;
	ck_assert_uint_ne(a, 0);
	ck_assert_uint_eq(a, config_cluster_id_derive(&cfg));
	/* Another founder, the list in another order. */
	ck_assert_int_eq(parse("--name", "n3", "--initial-cluster",
			       "n3=127.0.0.1:3,n1=127.0.0.1:1,n2=127.0.0.1:2",
			       "--initial-cluster-token", "prod", NULL), 0);
	ck_assert_uint_eq(cfg.cluster_id, a);
	/* Same names and addresses, another token: another cluster. */
	ck_assert_int_eq(parse("--name", "n1", "--initial-cluster",
			       "n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:3",
			       "--initial-cluster-token", "staging", NULL), 0);
	b = cfg.cluster_id;
	ck_assert_uint_ne(b, a);
	/* Same names, another address, no token. */
	ck_assert_int_eq(parse("--name", "n1", "--initial-cluster",
			       "n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:4",
			       NULL), 0);
	ck_assert_uint_ne(cfg.cluster_id, a);
	ck_assert_uint_ne(cfg.cluster_id, b);
	/* A token is not a member: "a" + "b=" cannot pass for "ab" + "=". */
	ck_assert_int_eq(parse("--name", "n1", "--initial-cluster",
			       "n1=127.0.0.1:1", "--initial-cluster-token", "x",
			       NULL), 0);
	a = cfg.cluster_id;
	ck_assert_int_eq(parse("--name", "n1", "--initial-cluster",
			       "n1=127.0.0.1:1", "--initial-cluster-token", "xn1",
			       NULL), 0);
	ck_assert_uint_ne(cfg.cluster_id, a);
}
END_TEST

START_TEST(cluster_id_flag_is_hex_and_join_without_it_has_none)
{
	ck_assert_int_eq(parse("--name", "n4", "--join", "--cluster-id",
			       "00c0ffee12345678", NULL), 0);
	ck_assert_uint_eq(cfg.cluster_id, 0x00c0ffee12345678ull);
	ck_assert_int_eq(parse("--name", "n4", "--join", "--cluster-id", "Ab",
			       NULL), 0);
	ck_assert_uint_eq(cfg.cluster_id, 0xab);
	/* A founder's flag wins over the derivation. */
	ck_assert_int_eq(parse("--name", "n1", "--cluster-id", "7", NULL), 0);
	ck_assert_uint_eq(cfg.cluster_id, 7);
	ck_assert_int_eq(parse("--name", "n4", "--join", NULL), 0);
	ck_assert_uint_eq(cfg.cluster_id, 0);
	refused("--cluster-id 0: want 1 to 16 hex digits", "--cluster-id", "0");
	refused("--cluster-id 12345678123456789: want", "--cluster-id",
		"12345678123456789");
	refused("--cluster-id xyz: want", "--cluster-id", "xyz");
	refused("--cluster-id -1: want", "--cluster-id", "-1");
	refused("--cluster-id  1: want", "--cluster-id", " 1");
}
END_TEST

#define ADD(s, fn)                                                           \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_add_checked_fixture(tc_, setup, teardown);             \
		tcase_add_test(tc_, fn);                                     \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");

	ADD(s, no_flags_give_a_single_node_cluster_on_loopback);
	ADD(s, flags_take_a_value_after_equals_or_as_the_next_argument);
	ADD(s, empty_value_after_equals_clears_a_string);
	ADD(s, log_level_takes_each_of_its_four_names);
	ADD(s, bool_flags_are_bare_or_take_true_false_1_0);
	ADD(s, numbers_are_checked_against_their_range);
	ADD(s, numbers_refuse_signs_junk_and_a_missing_value);
	ADD(s, strings_refuse_a_missing_or_too_long_value);
	ADD(s, unknown_flags_and_bare_words_are_refused);
	ADD(s, election_must_be_at_least_two_heartbeats);
	ADD(s, initial_cluster_lists_members_with_ids);
	ADD(s, initial_cluster_refuses_malformed_entries);
	ADD(s, initial_cluster_holds_at_most_members_max);
	ADD(s, initial_cluster_refuses_too_long_entries);
	ADD(s, join_allows_a_name_outside_the_initial_cluster);
	ADD(s, a_later_initial_cluster_replaces_an_earlier_one);
	ADD(s, tls_files_must_come_in_their_sets);
	ADD(s, founders_derive_one_cluster_id_that_the_token_changes);
	ADD(s, cluster_id_flag_is_hex_and_join_without_it_has_none);
	ADD(s, environment_sets_what_flags_do_not);
	ADD(s, a_flag_wins_over_its_variable);
	ADD(s, a_bad_variable_is_refused_by_its_name);
	ADD(s, help_prints_every_flag_with_its_variable_and_default);
	ADD(s, help_and_h_print_usage_to_stdout_and_return_1);
	ADD(s, split_addr_takes_host_port_and_bracketed_v6);
	ADD(s, split_addr_refuses_malformed_addresses);
	ADD(s, member_id_is_fnv_of_the_name_and_never_0);
	ADD(s, admin_flags_are_checked_at_start);
	ADD(s, admin_addrs_match_loopback_any_and_exact_addresses);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
