/*
 * tools/coordctl.c: the command-line client of coord, on libcoord.
 *
 *   coordctl [global flags] put KEY VALUE
 *   coordctl get KEY [--prefix] [--from-key] [--rev R] [--limit N]
 *                    [--keys-only] [--count-only] [--serializable]
 *   coordctl del KEY [--prefix] [--from-key]
 *   coordctl txn                      (reads the txn from stdin)
 *   coordctl watch KEY [--prefix] [--rev R] [--prev-kv]
 *   coordctl member list
 *   coordctl member add NAME PEER_ADDR [--client-addr A] [--learner]
 *   coordctl member remove NAME|ID
 *   coordctl member promote NAME|ID
 *   coordctl status                   (every endpoint)
 *   coordctl endpoint health          (every endpoint)
 *
 * Global flags: --endpoints host:port,... (default 127.0.0.1:2479),
 * --json, --timeout-ms MS, --cacert FILE, --cert FILE, --key FILE.
 *
 * txn syntax (as etcdctl's): compares, a blank line, then-ops, a blank
 * line, else-ops; one per line:
 *   compares:  value("k") = "v"      version("k") > 3
 *              create("k") = 0       mod("k") < 10      lease("k") = 0
 *   ops:       put k v      get k [--prefix]      del k [--prefix]
 * Quotes are optional around keys and values without spaces.
 *
 * Exit status: 0 success, 1 the request failed, 2 bad usage.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcoord/coord.h"

#define DEFAULT_ENDPOINTS "127.0.0.1:2479"

struct gopts {
	const char *endpoints;
	bool json;
	struct coord_options co;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coordctl [--endpoints host:port,...] [--json] [--timeout-ms MS]\n"
		"                [--cacert FILE] [--cert FILE] [--key FILE] COMMAND ...\n"
		"commands:\n"
		"  put KEY VALUE\n"
		"  get KEY [--prefix] [--from-key] [--rev R] [--limit N] [--keys-only]\n"
		"          [--count-only] [--serializable]\n"
		"  del KEY [--prefix] [--from-key]\n"
		"  txn                      read a transaction from stdin (see the man page)\n"
		"  watch KEY [--prefix] [--rev R] [--prev-kv]\n"
		"  member list | add NAME PEER_ADDR [--client-addr A] [--learner]\n"
		"         | remove NAME|ID | promote NAME|ID\n"
		"  status                   leader, term, revision, indexes of every endpoint\n"
		"  endpoint health          whether every endpoint answers\n"
		"default endpoints: %s\n",
		DEFAULT_ENDPOINTS);
}

static void die_usage(const char *msg)
{
	fprintf(stderr, "coordctl: %s\n", msg);
	usage(stderr);
	exit(2);
}

static int fail(struct coord_client *c, const char *what, int code)
{
	/* The code's name too: a script tells "not applied"
	 * (COORD_EUNAVAILABLE, COORD_ENOLEADER) from "outcome unknown"
	 * (COORD_ETIMEDOUT) without parsing the message. */
	fprintf(stderr, "coordctl: %s: %s [%s] (%s)\n", what,
		coord_strerror(code), coord_error_name(code),
		c != NULL ? coord_errmsg(c) : "");
	return 1;
}

/* Prints bytes as a JSON string body or raw text. */
static void print_bytes(const uint8_t *p, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = p[i];

		if (!json) {
			putchar(ch);
		} else if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
		} else if (ch < 0x20 || ch >= 0x7f) {
			printf("\\u%04x", ch);
		} else {
			putchar(ch);
		}
	}
}

static void print_kv_json(const struct coord_kv *kv)
{
	printf("{\"key\":\"");
	print_bytes(kv->key, kv->key_len, true);
	printf("\",\"value\":\"");
	print_bytes(kv->value, kv->value_len, true);
	printf("\",\"create_revision\":%" PRIu64 ",\"mod_revision\":%" PRIu64
	       ",\"version\":%" PRIu64 ",\"lease\":%" PRIu64 "}",
	       kv->create_revision, kv->mod_revision, kv->version, kv->lease);
}

static void print_kvs(const struct coord_kvs *r, bool json, bool keys_only,
		      bool count_only)
{
	if (json) {
		printf("{\"revision\":%" PRIu64 ",\"count\":%" PRIu64
		       ",\"more\":%s,\"kvs\":[",
		       r->revision, r->count, r->more ? "true" : "false");
		for (size_t i = 0; i < r->n; i++) {
			if (i > 0)
				putchar(',');
			print_kv_json(&r->kvs[i]);
		}
		printf("]}\n");
		return;
	}
	if (count_only) {
		printf("%" PRIu64 "\n", r->count);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		print_bytes(r->kvs[i].key, r->kvs[i].key_len, false);
		putchar('\n');
		if (!keys_only) {
			print_bytes(r->kvs[i].value, r->kvs[i].value_len,
				    false);
			putchar('\n');
		}
	}
}

static uint64_t parse_u64(const char *s, const char *flag)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		die_usage(flag);
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		die_usage(flag);
	return (uint64_t)v;
}

static int cmd_put(struct coord_client *c, const struct gopts *g, int argc,
		   char **argv)
{
	uint64_t rev;
	int code;

	if (argc != 2)
		die_usage("put KEY VALUE");
	code = coord_put(c, argv[0], strlen(argv[0]), argv[1], strlen(argv[1]),
			 &rev);
	if (code != COORD_OK)
		return fail(c, "put", code);
	if (g->json)
		printf("{\"revision\":%" PRIu64 "}\n", rev);
	else
		printf("OK\n");
	return 0;
}

static int cmd_get(struct coord_client *c, const struct gopts *g, int argc,
		   char **argv)
{
	struct coord_get_opts o;
	struct coord_kvs *r;
	const char *key = NULL;
	int code;

	memset(&o, 0, sizeof(o));
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--prefix") == 0)
			o.flags |= COORD_PREFIX;
		else if (strcmp(argv[i], "--from-key") == 0)
			o.flags |= COORD_FROM_KEY;
		else if (strcmp(argv[i], "--keys-only") == 0)
			o.flags |= COORD_KEYS_ONLY;
		else if (strcmp(argv[i], "--count-only") == 0)
			o.flags |= COORD_COUNT_ONLY;
		else if (strcmp(argv[i], "--serializable") == 0)
			o.flags |= COORD_SERIALIZABLE;
		else if (strcmp(argv[i], "--rev") == 0 && i + 1 < argc)
			o.revision = parse_u64(argv[++i], "--rev needs a number");
		else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			o.limit = parse_u64(argv[++i], "--limit needs a number");
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			die_usage("get: unknown flag");
		else if (key == NULL)
			key = argv[i];
		else
			die_usage("get: one KEY");
	}
	if (key == NULL)
		die_usage("get KEY");
	code = coord_get(c, key, strlen(key), &o, &r);
	if (code != COORD_OK)
		return fail(c, "get", code);
	print_kvs(r, g->json, (o.flags & COORD_KEYS_ONLY) != 0,
		  (o.flags & COORD_COUNT_ONLY) != 0);
	coord_kvs_free(r);
	return 0;
}

static int cmd_del(struct coord_client *c, const struct gopts *g, int argc,
		   char **argv)
{
	unsigned flags = 0;
	const char *key = NULL;
	uint64_t deleted, rev;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--prefix") == 0)
			flags |= COORD_PREFIX;
		else if (strcmp(argv[i], "--from-key") == 0)
			flags |= COORD_FROM_KEY;
		else if (key == NULL)
			key = argv[i];
		else
			die_usage("del KEY [--prefix]");
	}
	if (key == NULL)
		die_usage("del KEY [--prefix]");
	code = coord_delete(c, key, strlen(key), flags, &deleted, &rev);
	if (code != COORD_OK)
		return fail(c, "del", code);
	if (g->json)
		printf("{\"deleted\":%" PRIu64 ",\"revision\":%" PRIu64 "}\n",
		       deleted, rev);
	else
		printf("%" PRIu64 "\n", deleted);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* txn */

#define TXN_LINES_MAX 128
#define TXN_LINE_MAX 8192

/* Reads the next token: a quoted string (with \" and \\) or a run of
 * non-space characters not in stop. Returns its length or -1. */
static int token(const char **p, char *out, size_t cap, const char *stop)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '"') {
		s++;
		while (*s != '\0' && *s != '"') {
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (n + 1 >= cap)
				return -1;
			out[n++] = *s++;
		}
		if (*s != '"')
			return -1;
		s++;
	} else {
		while (*s != '\0' && *s != ' ' && *s != '\t' &&
		       strchr(stop, *s) == NULL) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *s++;
		}
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*p = s;
	return (int)n;
}

struct txn_mem {
	char buf[TXN_LINES_MAX * 2][TXN_LINE_MAX];
	size_t used;
};

static char *txn_slot(struct txn_mem *m)
{
	if (m->used == TXN_LINES_MAX * 2)
		return NULL;
	return m->buf[m->used++];
}

static int parse_compare(const char *line, struct coord_compare *cmp,
			 struct txn_mem *m)
{
	static const struct {
		const char *name;
		enum coord_cmp_target t;
	} targets[] = { { "value", COORD_CMP_VALUE },
			{ "version", COORD_CMP_VERSION },
			{ "create", COORD_CMP_CREATE },
			{ "mod", COORD_CMP_MOD },
			{ "lease", COORD_CMP_LEASE } };
	const char *p = line;
	char *key = txn_slot(m), *val = txn_slot(m);
	size_t i;
	int kl, vl;

	if (key == NULL || val == NULL)
		return -1;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		size_t n = strlen(targets[i].name);

		if (strncmp(p, targets[i].name, n) == 0 && p[n] == '(')
			break;
	}
	if (i == sizeof(targets) / sizeof(targets[0]))
		return -1;
	cmp->target = targets[i].t;
	p += strlen(targets[i].name) + 1;
	kl = token(&p, key, TXN_LINE_MAX, ")");
	if (kl < 0 || *p != ')')
		return -1;
	p++;
	while (*p == ' ')
		p++;
	switch (*p) {
	case '=':
		cmp->op = COORD_CMP_EQUAL;
		break;
	case '!':
		cmp->op = COORD_CMP_NOT_EQUAL;
		p++;
		break;
	case '<':
		cmp->op = COORD_CMP_LESS;
		break;
	case '>':
		cmp->op = COORD_CMP_GREATER;
		break;
	default:
		return -1;
	}
	p++;
	vl = token(&p, val, TXN_LINE_MAX, "");
	if (vl < 0)
		return -1;
	cmp->key = key;
	cmp->key_len = (size_t)kl;
	if (cmp->target == COORD_CMP_VALUE) {
		cmp->value = val;
		cmp->value_len = (size_t)vl;
	} else {
		char *end;

		cmp->number = strtoull(val, &end, 10);
		if (*end != '\0')
			return -1;
	}
	return 0;
}

static int parse_op(const char *line, struct coord_op *op, struct txn_mem *m)
{
	const char *p = line;
	char verb[16];
	char *key = txn_slot(m), *val = txn_slot(m);
	int kl, vl;

	if (key == NULL || val == NULL || token(&p, verb, sizeof(verb), "") < 0)
		return -1;
	kl = token(&p, key, TXN_LINE_MAX, "");
	if (kl < 0)
		return -1;
	memset(op, 0, sizeof(*op));
	op->key = key;
	op->key_len = (size_t)kl;
	if (strcmp(verb, "put") == 0) {
		vl = token(&p, val, TXN_LINE_MAX, "");
		if (vl < 0)
			return -1;
		op->type = COORD_OP_PUT;
		op->value = val;
		op->value_len = (size_t)vl;
	} else if (strcmp(verb, "get") == 0 || strcmp(verb, "del") == 0) {
		op->type = verb[0] == 'g' ? COORD_OP_GET : COORD_OP_DELETE;
		while (*p == ' ')
			p++;
		if (strcmp(p, "--prefix") == 0)
			op->flags = COORD_PREFIX;
		else if (*p != '\0')
			return -1;
	} else {
		return -1;
	}
	return 0;
}

static int cmd_txn(struct coord_client *c, const struct gopts *g)
{
	static struct txn_mem mem;
	static struct coord_compare cmps[TXN_LINES_MAX];
	static struct coord_op ops[2][TXN_LINES_MAX];
	size_t n_cmps = 0, n_ops[2] = { 0, 0 };
	char line[TXN_LINE_MAX];
	int section = 0, lineno = 0, code;
	struct coord_txn_result *r;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0) {
			if (++section > 2)
				break;
			continue;
		}
		if (section == 0) {
			if (n_cmps == TXN_LINES_MAX ||
			    parse_compare(line, &cmps[n_cmps], &mem) != 0) {
				fprintf(stderr,
					"coordctl: txn line %d: bad compare \"%s\"\n",
					lineno, line);
				return 2;
			}
			n_cmps++;
		} else {
			size_t *n = &n_ops[section - 1];

			if (*n == TXN_LINES_MAX ||
			    parse_op(line, &ops[section - 1][*n], &mem) != 0) {
				fprintf(stderr,
					"coordctl: txn line %d: bad operation \"%s\"\n",
					lineno, line);
				return 2;
			}
			(*n)++;
		}
	}
	code = coord_txn(c, cmps, n_cmps, ops[0], n_ops[0], ops[1], n_ops[1],
			 &r);
	if (code != COORD_OK)
		return fail(c, "txn", code);
	if (g->json) {
		printf("{\"succeeded\":%s,\"revision\":%" PRIu64
		       ",\"responses\":[",
		       r->succeeded ? "true" : "false", r->revision);
		for (size_t i = 0; i < r->n_results; i++) {
			if (i > 0)
				putchar(',');
			printf("{\"count\":%" PRIu64 ",\"kvs\":[",
			       r->results[i].count);
			for (size_t k = 0; k < r->results[i].n; k++) {
				if (k > 0)
					putchar(',');
				print_kv_json(&r->results[i].kvs[k]);
			}
			printf("]}");
		}
		printf("]}\n");
	} else {
		const struct coord_op *branch = r->succeeded ? ops[0] : ops[1];

		printf("%s\n", r->succeeded ? "SUCCESS" : "FAILURE");
		for (size_t i = 0; i < r->n_results; i++) {
			putchar('\n');
			if (branch[i].type == COORD_OP_GET)
				print_kvs(&r->results[i], false, false, false);
			else if (branch[i].type == COORD_OP_PUT)
				printf("OK\n");
			else
				printf("%" PRIu64 "\n", r->results[i].count);
		}
	}
	coord_txn_result_free(r);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* watch */

struct watch_ctx {
	struct coord_client *c;
	bool json;
	int code;
};

static void on_events(void *arg, coord_err_t code,
		      const struct coord_event *ev, size_t n)
{
	struct watch_ctx *w = arg;

	if (code != COORD_OK) {
		fprintf(stderr, "coordctl: watch ended: %s (%s)\n",
			coord_strerror(code), coord_errmsg(w->c));
		w->code = code;
		coord_client_stop(w->c);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *t = ev[i].type == COORD_EVENT_PUT ? "PUT" : "DELETE";

		if (w->json) {
			printf("{\"type\":\"%s\",\"kv\":", t);
			print_kv_json(&ev[i].kv);
			if (ev[i].has_prev_kv) {
				printf(",\"prev_kv\":");
				print_kv_json(&ev[i].prev_kv);
			}
			printf("}\n");
		} else {
			printf("%s\n", t);
			print_bytes(ev[i].kv.key, ev[i].kv.key_len, false);
			putchar('\n');
			if (ev[i].type == COORD_EVENT_PUT) {
				print_bytes(ev[i].kv.value,
					    ev[i].kv.value_len, false);
				putchar('\n');
			}
		}
	}
	fflush(stdout);
}

static int cmd_watch(struct coord_client *c, const struct gopts *g, int argc,
		     char **argv)
{
	unsigned flags = 0;
	uint64_t rev = 0;
	bool prev = false;
	const char *key = NULL;
	struct watch_ctx w = { c, g->json, COORD_OK };
	struct coord_watch *h;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--prefix") == 0)
			flags |= COORD_PREFIX;
		else if (strcmp(argv[i], "--prev-kv") == 0)
			prev = true;
		else if (strcmp(argv[i], "--rev") == 0 && i + 1 < argc)
			rev = parse_u64(argv[++i], "--rev needs a number");
		else if (key == NULL)
			key = argv[i];
		else
			die_usage("watch KEY [--prefix] [--rev R]");
	}
	if (key == NULL)
		die_usage("watch KEY [--prefix] [--rev R]");
	code = coord_watch_create(c, key, strlen(key), flags, rev, prev,
				  on_events, &w, &h);
	if (code != COORD_OK)
		return fail(c, "watch", code);
	coord_client_run(c, 0);
	return w.code == COORD_OK ? 0 : 1;
}

/* ---------------------------------------------------------------------- */
/* member, status, health */

/* A member named by its name or its hex id. */
static uint64_t member_arg(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 16);

	if (strlen(s) == 16 && *end == '\0')
		return (uint64_t)v;
	return coord_member_id(s);
}

static int cmd_member(struct coord_client *c, const struct gopts *g, int argc,
		      char **argv)
{
	struct coord_member *m;
	size_t n;
	int code;

	if (argc >= 1 && strcmp(argv[0], "add") == 0) {
		const char *client = "";
		bool learner = false;
		uint64_t id;

		if (argc < 3)
			die_usage("member add NAME PEER_ADDR [--client-addr A] [--learner]");
		for (int i = 3; i < argc; i++) {
			if (strcmp(argv[i], "--learner") == 0)
				learner = true;
			else if (strcmp(argv[i], "--client-addr") == 0 && i + 1 < argc)
				client = argv[++i];
			else
				die_usage("member add NAME PEER_ADDR [--client-addr A] [--learner]");
		}
		code = coord_member_add(c, argv[1], argv[2], client, learner, &id);
		if (code != COORD_OK)
			return fail(c, "member add", code);
		printf("added %s as %016" PRIx64 "%s\n", argv[1], id,
		       learner ? " (learner)" : " (learner, promoted when caught up)");
		return 0;
	}
	if (argc == 2 && (strcmp(argv[0], "remove") == 0 ||
			  strcmp(argv[0], "promote") == 0)) {
		uint64_t id = member_arg(argv[1]);

		code = argv[0][0] == 'r' ? coord_member_remove(c, id)
					 : coord_member_promote(c, id);
		if (code != COORD_OK)
			return fail(c, argv[0][0] == 'r' ? "member remove"
							 : "member promote",
				    code);
		printf("%s %016" PRIx64 "\n",
		       argv[0][0] == 'r' ? "removed" : "promoted", id);
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "list") != 0)
		die_usage("member list | add NAME PEER_ADDR [--client-addr A] [--learner] | remove NAME|ID | promote NAME|ID");
	code = coord_member_list(c, &m, &n);
	if (code != COORD_OK)
		return fail(c, "member list", code);
	if (g->json)
		printf("{\"members\":[");
	for (size_t i = 0; i < n; i++) {
		if (g->json)
			printf("%s{\"id\":\"%016" PRIx64 "\",\"name\":\"%s\","
			       "\"peer_addr\":\"%s\",\"client_addr\":\"%s\","
			       "\"http_addr\":\"%s\",\"learner\":%s}",
			       i > 0 ? "," : "", m[i].id, m[i].name,
			       m[i].peer_addr, m[i].client_addr,
			       m[i].http_addr, m[i].learner ? "true" : "false");
		else
			printf("%016" PRIx64 ", %s, %s, %s, %s, %s\n", m[i].id,
			       m[i].name, m[i].peer_addr, m[i].client_addr,
			       m[i].http_addr, m[i].learner ? "learner" : "voter");
	}
	if (g->json)
		printf("]}\n");
	coord_members_free(m);
	return 0;
}

static size_t split_endpoints(const char *eps, char out[][128], size_t max)
{
	size_t n = 0;
	const char *p = eps;

	while (p != NULL && *p != '\0' && n < max) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		snprintf(out[n++], 128, "%.*s", (int)len, p);
		p = comma != NULL ? comma + 1 : NULL;
	}
	return n;
}

static int cmd_status(struct coord_client *c, const struct gopts *g,
		      bool health)
{
	char eps[16][128];
	size_t n = split_endpoints(g->endpoints, eps, 16);
	int status = 0;

	if (g->json)
		printf("[");
	else if (!health)
		printf("%-22s %-16s %-10s %-16s %6s %9s %9s %9s %-16s\n",
		       "ENDPOINT", "ID", "NAME", "LEADER", "TERM", "REVISION",
		       "APPLIED", "COMMIT", "STATE HASH");
	for (size_t i = 0; i < n; i++) {
		struct coord_status s;
		int code = coord_status(c, eps[i], &s);

		if (code != COORD_OK)
			status = 1;
		if (g->json) {
			printf("%s{\"endpoint\":\"%s\",\"health\":%s", i ? "," : "",
			       eps[i], code == COORD_OK ? "true" : "false");
			if (code == COORD_OK && !health)
				printf(",\"id\":\"%016" PRIx64 "\",\"name\":\"%s\","
				       "\"leader\":\"%016" PRIx64 "\",\"term\":%" PRIu64
				       ",\"revision\":%" PRIu64
				       ",\"applied_index\":%" PRIu64
				       ",\"commit_index\":%" PRIu64
				       ",\"state_hash\":\"%016" PRIx64 "\"",
				       s.node_id, s.name, s.leader, s.term,
				       s.revision, s.applied_index,
				       s.commit_index, s.state_hash);
			else if (code != COORD_OK)
				printf(",\"error\":\"%s\"", coord_strerror(code));
			printf("}");
		} else if (health) {
			printf("%s is %s%s%s\n", eps[i],
			       code == COORD_OK ? "healthy" : "unhealthy",
			       code == COORD_OK ? "" : ": ",
			       code == COORD_OK ? "" : coord_errmsg(c));
		} else if (code == COORD_OK) {
			printf("%-22s %016" PRIx64 " %-10s %016" PRIx64
			       " %6" PRIu64 " %9" PRIu64 " %9" PRIu64
			       " %9" PRIu64 " %016" PRIx64 "%s\n",
			       eps[i], s.node_id, s.name, s.leader, s.term,
			       s.revision, s.applied_index, s.commit_index,
			       s.state_hash,
			       s.leader == s.node_id ? "  (leader)" : "");
		} else {
			printf("%-22s unreachable: %s\n", eps[i],
			       coord_errmsg(c));
		}
	}
	if (g->json)
		printf("]\n");
	return status;
}

int main(int argc, char **argv)
{
	struct gopts g;
	struct coord_client *c = NULL;
	int i, code, rc;
	const char *cmd;

	memset(&g, 0, sizeof(g));
	g.endpoints = getenv("COORDCTL_ENDPOINTS");
	if (g.endpoints == NULL)
		g.endpoints = DEFAULT_ENDPOINTS;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--json") == 0) {
			g.json = true;
			continue;
		}
		if (v == NULL)
			die_usage("a flag needs a value");
		if (strcmp(a, "--endpoints") == 0)
			g.endpoints = v;
		else if (strcmp(a, "--timeout-ms") == 0)
			g.co.request_timeout_ms =
				(unsigned)parse_u64(v, "--timeout-ms needs a number");
		else if (strcmp(a, "--cacert") == 0)
			g.co.cacert = v;
		else if (strcmp(a, "--cert") == 0)
			g.co.cert = v;
		else if (strcmp(a, "--key") == 0)
			g.co.key = v;
		else
			die_usage("unknown global flag");
		i++;
	}
	if (i >= argc)
		die_usage("no command");
	cmd = argv[i++];
	g.co.name = "coordctl";
	code = coord_client_new(g.endpoints, &g.co, &c);
	if (code != COORD_OK) {
		rc = fail(c, "connecting", code);
		coord_client_free(c);
		return rc;
	}
	if (strcmp(cmd, "put") == 0)
		rc = cmd_put(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "del") == 0)
		rc = cmd_del(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "txn") == 0)
		rc = cmd_txn(c, &g);
	else if (strcmp(cmd, "watch") == 0)
		rc = cmd_watch(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "member") == 0)
		rc = cmd_member(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(c, &g, false);
	else if (strcmp(cmd, "endpoint") == 0 && i < argc &&
		 strcmp(argv[i], "health") == 0)
		rc = cmd_status(c, &g, true);
	else {
		coord_client_free(c);
		die_usage("unknown command");
		return 2;
	}
	coord_client_free(c);
	return rc;
}
