/*
 * tools/coordctl.c: the command-line client of coord, on libcoord.
 *
 *   coordctl [global flags] put [--fence LOCK=TOKEN]...
 *                   [--sem-fence SEM=TOKEN]...
 *                   [--fence-election ELECTION=TOKEN]... KEY VALUE
 *   coordctl [global flags] put --lease ID KEY VALUE
 *   coordctl get KEY [--prefix] [--from-key] [--rev R] [--limit N]
 *                    [--keys-only] [--count-only] [--serializable]
 *   coordctl del KEY [--prefix] [--from-key]
 *   coordctl txn                      (reads the txn from stdin)
 *   coordctl watch KEY [--prefix] [--rev R] [--prev-kv]   (until SIGTERM or
 *                   SIGINT: exit 0)
 *   coordctl member list
 *   coordctl member add NAME PEER_ADDR [--client-addr A] [--learner]
 *   coordctl member remove NAME|ID
 *   coordctl member promote NAME|ID
 *   coordctl status                   (every endpoint)
 *   coordctl endpoint health          (every endpoint)
 *   coordctl lease grant TTL_S | keepalive ID [--once] | revoke ID | ttl ID [--keys]
 *   coordctl session open [--ttl S] | close ID SECRET
 *   coordctl lock NAME [--shared] [--ttl S] [--timeout S] [--lock-delay S]
 *                 [--release-put KEY VALUE]
 *                 -- CMD [ARG...]
 *   coordctl lock status NAME
 *   coordctl job ...       (tools/coordctl_job.c)
 *   coordctl elect [--ttl S] [--timeout S] NAME VALUE [-- CMD [ARG...]]
 *   coordctl elect --leader NAME
 *   coordctl elect --observe NAME [--rev R] [--count N]
 *   coordctl sem NAME N [--ttl S] [--timeout S] -- CMD [ARG...]
 *   coordctl sem status NAME
 *
 * Global flags: --endpoints host:port,... (default 127.0.0.1:2479),
 * --json, --timeout-ms MS, --dial-timeout-ms MS, --cacert FILE,
 * --cert FILE, --key FILE.
 *
 * txn syntax (as etcdctl's): compares, a blank line, then-ops, a blank
 * line, else-ops; one per line:
 *   compares:  value("k") = "v"      version("k") > 3
 *              create("k") = 0       mod("k") < 10      lease("k") = 0
 *   ops:       put k v [--lease ID]      get k [--prefix]      del k [--prefix]
 * Quotes are optional around keys and values without spaces.
 *
 * Exit status: 0 success, 1 the request failed, 2 bad usage; lock runs
 * CMD and exits with its status (see cmd_lock()), so does elect with a
 * CMD (see cmd_elect()).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libcoord/coord.h"
#include "tools/coordctl.h"

#define DEFAULT_ENDPOINTS "127.0.0.1:2479"

struct gopts {
	const char *endpoints;
	bool json;
	struct coord_options co;
};

/* --cluster-id: 1 to 16 hex digits, as coordctl status prints it. */
static uint64_t parse_cluster_id(const char *v)
{
	char *end;
	unsigned long long id;

	errno = 0;
	id = strtoull(v, &end, 16);
	if (errno != 0 || *end != '\0' || end == v || strlen(v) > 16 ||
	    id == 0)
		die_usage("--cluster-id wants 1 to 16 hex digits, not all zero");
	return (uint64_t)id;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: coordctl [--endpoints host:port,...] [--json] [--timeout-ms MS]\n"
		"                [--dial-timeout-ms MS]\n"
		"                [--cacert FILE] [--cert FILE] [--key FILE]\n"
		"                [--cluster-id HEX] COMMAND ...\n"
		"commands:\n"
		"  put [--fence LOCK=TOKEN]... [--sem-fence SEM=TOKEN]...\n"
		"      [--fence-election ELECTION=TOKEN]... KEY VALUE\n"
		"                           (fenced: applied only if TOKEN is LOCK's\n"
		"                           current grant, a held permit of SEM, or\n"
		"                           ELECTION's leader's)\n"
		"  put --lease ID KEY VALUE the key is deleted when the lease ends\n"
		"  get KEY [--prefix] [--from-key] [--rev R] [--limit N] [--keys-only]\n"
		"          [--count-only] [--serializable]\n"
		"  del KEY [--prefix] [--from-key]\n"
		"  txn                      read a transaction from stdin (see the man page)\n"
		"  watch KEY [--prefix] [--rev R] [--prev-kv]\n"
		"  member list | add NAME PEER_ADDR [--client-addr A] [--learner]\n"
		"         | remove NAME|ID | promote NAME|ID\n"
		"  status                   leader, term, revision, indexes of every endpoint\n"
		"  endpoint health          whether every endpoint answers\n"
		"  lease grant TTL_S | keepalive ID [--once] | revoke ID | ttl ID [--keys]\n"
		"  session open [--ttl S] | close ID SECRET\n"
		"  lock NAME [--shared] [--ttl S] [--timeout S] [--lock-delay S]\n"
		"       [--release-put KEY VALUE] -- CMD [ARG...]\n"
		"                           run CMD holding the lock (COORD_LOCK and\n"
		"                           COORD_FENCING_TOKEN in its environment)\n"
		"  lock status NAME         holders, lock-delay left and the queue\n"
		"  job enqueue|claim|complete|fail|list|inspect QUEUE ...\n"
		"  job worker QUEUE [--ttl S] [--max-jobs N] [--until-empty] -- CMD [ARG...]\n"
		"                           (coordctl job --help: the job queue commands)\n"
		"  elect [--ttl S] [--timeout S] NAME VALUE [-- CMD [ARG...]]\n"
		"                           campaign; once elected hold the leadership\n"
		"                           (proclaiming stdin's lines) until killed, or\n"
		"                           run CMD as leader (COORD_ELECTION and\n"
		"                           COORD_FENCING_TOKEN in its environment)\n"
		"  elect --leader NAME      the leader: session, token, revision, value\n"
		"  elect --observe NAME [--rev R] [--count N]\n"
		"                           every change of the leader, from revision R\n"
		"  sem NAME N [--ttl S] [--timeout S] -- CMD [ARG...]\n"
		"                           run CMD holding one of N permits (at most\n"
		"                           N such CMDs at once; COORD_SEM and\n"
		"                           COORD_FENCING_TOKEN in its environment)\n"
		"  sem status NAME          permits, holders and the queue\n"
		"  alarm list | disarm      the storage quotas' NOSPACE alarm (disarm:\n"
		"                           an admin's)\n"
		"default endpoints: %s\n",
		DEFAULT_ENDPOINTS);
}

void die_usage(const char *msg)
{
	fprintf(stderr, "coordctl: %s\n", msg);
	usage(stderr);
	exit(2);
}

int fail(struct coord_client *c, const char *what, int code)
{
	/* The code's name too: a script tells "not applied"
	 * (COORD_EUNAVAILABLE, COORD_ENOLEADER) from "outcome unknown"
	 * (COORD_ETIMEDOUT) without parsing the message. */
	const char *detail = c != NULL ? coord_errmsg(c) : "";

	fprintf(stderr, "coordctl: %s: %s [%s]%s%s%s\n", what,
		coord_strerror(code), coord_error_name(code),
		*detail != '\0' ? " (" : "", detail, *detail != '\0' ? ")" : "");
	return 1;
}

/* Prints bytes as a JSON string body or raw text. */
void print_bytes(const uint8_t *p, size_t n, bool json)
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

uint64_t parse_u64(const char *s, const char *flag)
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

/* "LOCK=TOKEN" (the last '=' splits: a lock name may hold one); kind:
 * COORD_FENCE_LOCK, COORD_FENCE_SEM (--sem-fence SEM=TOKEN) or
 * COORD_FENCE_ELECTION (--fence-election ELECTION=TOKEN). */
static void parse_fence(char *s, struct coord_fence *f, int kind)
{
	char *eq = strrchr(s, '=');

	if (eq == NULL || eq == s)
		die_usage("--fence wants LOCK=TOKEN");
	*eq = '\0';
	f->lock = s;
	f->lock_len = strlen(s);
	f->token = parse_u64(eq + 1, "--fence wants LOCK=TOKEN (a number)");
	f->kind = kind;
}

static int cmd_put(struct coord_client *c, const struct gopts *g, int argc,
		   char **argv)
{
	struct coord_fence fences[16];
	const char *kv[2];
	size_t n_fences = 0, n_kv = 0;
	uint64_t rev, lease = 0;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc) {
			lease = parse_u64(argv[++i], "--lease wants a lease id");
		} else if ((strcmp(argv[i], "--fence") == 0 ||
			    strcmp(argv[i], "--sem-fence") == 0 ||
			    strcmp(argv[i], "--fence-election") == 0) &&
			   i + 1 < argc) {
			if (n_fences == sizeof(fences) / sizeof(fences[0]))
				die_usage("put: at most 16 fences");
			parse_fence(argv[i + 1], &fences[n_fences++],
				    strcmp(argv[i], "--fence") == 0
					    ? COORD_FENCE_LOCK
					    : strcmp(argv[i], "--sem-fence") == 0
						      ? COORD_FENCE_SEM
						      : COORD_FENCE_ELECTION);
			i++;
		} else if (n_kv < 2) {
			kv[n_kv++] = argv[i];
		} else {
			die_usage("put [--fence LOCK=TOKEN]... | [--lease ID] KEY VALUE");
		}
	}
	if (n_kv != 2 || (lease != 0 && n_fences > 0))
		die_usage("put [--fence LOCK=TOKEN]... | [--lease ID] KEY VALUE");
	if (lease != 0)
		code = coord_put_lease(c, kv[0], strlen(kv[0]), kv[1],
				       strlen(kv[1]), lease, &rev);
	else
		code = coord_put_fenced(c, fences, n_fences, kv[0],
					strlen(kv[0]), kv[1], strlen(kv[1]),
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
		while (*p == ' ')
			p++;
		if (strncmp(p, "--lease ", 8) == 0) {
			char *end;

			errno = 0;
			op->lease = strtoull(p + 8, &end, 10);
			if (errno != 0 || end == p + 8 || *end != '\0')
				return -1;
		} else if (*p != '\0') {
			return -1;
		}
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

static void run_until_signal(struct coord_client *c, const int *code,
			     const bool *done);

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
	run_until_signal(c, &w.code, NULL);
	/* Before w goes: the client's end would call it back. */
	coord_watch_cancel(c, h);
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
		/* The joiner cannot learn the id from its peers before it
		 * may talk to them: the operator hands it over. */
		printf("start it with: --name %s --peer-addr %s --join --cluster-id %016" PRIx64 "\n",
		       argv[1], argv[2], coord_cluster_id(c));
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

/* quota13: alarm list | disarm (docs/quota.md). */
static int cmd_alarm(struct coord_client *c, const struct gopts *g, int argc,
		     char **argv)
{
	struct coord_alarms a;
	int code;

	if (argc == 1 && strcmp(argv[0], "disarm") == 0) {
		code = coord_alarm_disarm(c);
		if (code != COORD_OK)
			return fail(c, "alarm disarm", code);
		printf("disarmed\n");
		return 0;
	}
	if (argc != 1 || strcmp(argv[0], "list") != 0)
		die_usage("alarm list | disarm");
	code = coord_alarm_list(c, &a);
	if (code != COORD_OK)
		return fail(c, "alarm list", code);
	if (g->json)
		printf("{\"alarms\":[%s],\"alarm_index\":%" PRIu64
		       ",\"quota_bytes\":%" PRIu64 ",\"keyspace_bytes\":%" PRIu64
		       ",\"coord_quota_bytes\":%" PRIu64
		       ",\"coord_state_bytes\":%" PRIu64 "}\n",
		       a.nospace ? "\"NOSPACE\"" : "", a.alarm_index,
		       a.quota_bytes, a.kv_bytes, a.coord_quota_bytes,
		       a.coord_bytes);
	else if (a.nospace)
		printf("alarm:NOSPACE index=%" PRIu64 " keyspace_bytes=%" PRIu64
		       " quota_bytes=%" PRIu64 "\n",
		       a.alarm_index, a.kv_bytes, a.quota_bytes);
	return 0;
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
		printf("%-22s %-16s %-10s %-16s %6s %9s %9s %9s %-16s %-16s\n",
		       "ENDPOINT", "ID", "NAME", "LEADER", "TERM", "REVISION",
		       "APPLIED", "COMMIT", "STATE HASH", "CLUSTER");
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
				       ",\"state_hash\":\"%016" PRIx64 "\""
				       ",\"cluster_id\":\"%016" PRIx64 "\""
				       ",\"alarms\":[%s]",
				       s.node_id, s.name, s.leader, s.term,
				       s.revision, s.applied_index,
				       s.commit_index, s.state_hash,
				       s.cluster_id,
				       s.alarms ? "\"NOSPACE\"" : "");
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
			       " %9" PRIu64 " %016" PRIx64 " %016" PRIx64 "%s%s\n",
			       eps[i], s.node_id, s.name, s.leader, s.term,
			       s.revision, s.applied_index, s.commit_index,
			       s.state_hash, s.cluster_id,
			       s.leader == s.node_id ? "  (leader)" : "",
			       s.alarms ? "  alarm:NOSPACE" : "");
		} else {
			printf("%-22s unreachable: %s\n", eps[i],
			       coord_errmsg(c));
		}
	}
	if (g->json)
		printf("]\n");
	return status;
}

/* ---------------------------------------------------------------------- */
/* Leases, sessions, locks */

/* Seconds (a decimal, "2.5") as milliseconds, at least 1. */
uint64_t parse_secs_ms(const char *s, const char *flag)
{
	char *end;
	double v;

	if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		die_usage(flag);
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0' || errno != 0 || v <= 0 || v > 1e9)
		die_usage(flag);
	return v * 1000 < 1 ? 1 : (uint64_t)(v * 1000);
}

/* Every key attached to lease id, a page at a time (each page a
 * linearizable read of its own), one per line or as the rest of a JSON
 * object whose "keys":[ is already printed. */
static int lease_keys_print(struct coord_client *c, uint64_t id, bool json)
{
	struct coord_kvs *page = NULL;
	uint8_t *after = NULL;
	size_t after_len = 0, n = 0;
	int code;

	do {
		code = coord_lease_keys(c, id, after, after_len, &page);
		if (code != COORD_OK)
			break;
		for (size_t i = 0; i < page->n; i++, n++) {
			const struct coord_kv *kv = &page->kvs[i];

			if (json)
				printf("%s\"", n > 0 ? "," : "");
			print_bytes(kv->key, kv->key_len, json);
			printf(json ? "\"" : "\n");
		}
		free(after);
		after = NULL;
		after_len = 0;
		if (page->more && page->n > 0) {
			const struct coord_kv *last = &page->kvs[page->n - 1];

			after = malloc(last->key_len + 1);
			if (after == NULL) {
				code = COORD_ENOMEM;
			} else {
				memcpy(after, last->key, last->key_len);
				after_len = last->key_len;
			}
		}
		coord_kvs_free(page);
	} while (code == COORD_OK && after != NULL);
	free(after);
	if (json)
		printf("]}\n");
	return code == COORD_OK ? 0 : fail(c, "lease ttl --keys", code);
}

static int cmd_lease(struct coord_client *c, const struct gopts *g, int argc,
		     char **argv)
{
	uint64_t id, ttl = 0, granted = 0;
	int code;

	if (argc >= 2 && strcmp(argv[0], "grant") == 0) {
		code = coord_lease_grant(c, parse_secs_ms(argv[1],
					 "lease grant TTL_S (seconds)"),
					 &id, &ttl);
		if (code != COORD_OK)
			return fail(c, "lease grant", code);
		if (g->json)
			printf("{\"lease\":%" PRIu64 ",\"ttl_ms\":%" PRIu64
			       "}\n", id, ttl);
		else
			printf("lease %" PRIu64 " granted with TTL %" PRIu64
			       " ms\n", id, ttl);
		return 0;
	}
	if (argc < 2)
		die_usage("lease grant TTL_S | keepalive ID [--once] | revoke ID | ttl ID [--keys]");
	id = parse_u64(argv[1], "lease: ID is a number");
	if (strcmp(argv[0], "revoke") == 0) {
		code = coord_lease_revoke(c, id);
		if (code != COORD_OK)
			return fail(c, "lease revoke", code);
		printf(g->json ? "{}\n" : "lease %" PRIu64 " revoked\n", id);
		return 0;
	}
	if (strcmp(argv[0], "ttl") == 0) {
		bool keys = argc >= 3 && strcmp(argv[2], "--keys") == 0;

		code = coord_lease_ttl(c, id, &ttl, &granted);
		if (code != COORD_OK)
			return fail(c, "lease ttl", code);
		if (g->json)
			printf("{\"lease\":%" PRIu64 ",\"ttl_ms\":%" PRIu64
			       ",\"granted_ttl_ms\":%" PRIu64 "%s", id, ttl,
			       granted, keys ? ",\"keys\":[" : "}\n");
		else
			printf("lease %" PRIu64 ": %" PRIu64 " ms left of %"
			       PRIu64 "\n", id, ttl, granted);
		return keys ? lease_keys_print(c, id, g->json) : 0;
	}
	if (strcmp(argv[0], "keepalive") != 0)
		die_usage("lease grant | keepalive | revoke | ttl");
	/* Until the lease is gone (or forever): one keepalive per third of
	 * its TTL, each answered once committed. */
	for (;;) {
		code = coord_lease_keepalive_once(c, id, &ttl);
		if (code != COORD_OK)
			return fail(c, "lease keepalive", code);
		if (ttl == 0) {
			fprintf(stderr, "coordctl: lease %" PRIu64
				" is gone\n", id);
			return 1;
		}
		printf("lease %" PRIu64 " kept alive, TTL %" PRIu64 " ms\n",
		       id, ttl);
		fflush(stdout);
		if (argc >= 3 && strcmp(argv[2], "--once") == 0)
			return 0;
		coord_client_run(c, (unsigned)(ttl / 3 > 0 ? ttl / 3 : 1));
	}
}

/* Hex of the session secret, for "session close" or a re-attach. */
void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	unsigned v;

	if (strlen(s) % 2 != 0 || n > cap)
		die_usage("SECRET is hex, as session open prints it");
	for (size_t i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			die_usage("SECRET is hex, as session open prints it");
		out[i] = (uint8_t)v;
	}
	return n;
}

static int cmd_session(struct coord_client *c, const struct gopts *g,
		       int argc, char **argv)
{
	struct coord_session *s;
	uint8_t secret[64];
	const uint8_t *sec;
	uint64_t ttl = 10000;
	size_t n;
	int code;

	if (argc >= 1 && strcmp(argv[0], "open") == 0) {
		if (argc == 3 && strcmp(argv[1], "--ttl") == 0)
			ttl = parse_secs_ms(argv[2], "--ttl S (seconds)");
		else if (argc != 1)
			die_usage("session open [--ttl S]");
		code = coord_session_open(c, ttl, &s);
		if (code != COORD_OK)
			return fail(c, "session open", code);
		sec = coord_session_secret(s, &n);
		/* It lives its TTL after this process ends. */
		printf(g->json ? "{\"session\":%" PRIu64 ",\"secret\":\""
			       : "session %" PRIu64 " secret ",
		       coord_session_id(s));
		print_hex(sec, n);
		printf(g->json ? "\",\"ttl_ms\":%" PRIu64 "}\n"
			       : " ttl_ms %" PRIu64 "\n",
		       coord_session_ttl_ms(s));
		return 0;
	}
	if (argc != 3 || strcmp(argv[0], "close") != 0)
		die_usage("session open [--ttl S] | close ID SECRET");
	n = parse_hex(argv[2], secret, sizeof(secret));
	code = coord_session_attach(c, parse_u64(argv[1], "session: ID"),
				    secret, n, &s);
	if (code != COORD_OK)
		return fail(c, "session attach", code);
	code = coord_session_close(s);
	if (code != COORD_OK)
		return fail(c, "session close", code);
	printf(g->json ? "{}\n" : "session closed\n");
	return 0;
}

static int cmd_lock_status(struct coord_client *c, const struct gopts *g,
			   const char *name)
{
	struct coord_lock_status *st;
	int code = coord_lock_status(c, name, strlen(name), &st);

	if (code != COORD_OK)
		return fail(c, "lock status", code);
	if (g->json) {
		printf("{\"lock\":\"");
		print_bytes((const uint8_t *)name, strlen(name), true);
		printf("\",\"delay_left_ms\":%" PRIu64 ",\"holders\":[",
		       st->delay_left_ms);
		for (size_t i = 0; i < st->n_holders; i++)
			printf("%s{\"session\":%" PRIu64 ",\"token\":%" PRIu64
			       ",\"shared\":%s,\"held_ms\":%" PRIu64 "}",
			       i > 0 ? "," : "", st->holders[i].session,
			       st->holders[i].token,
			       st->holders[i].shared ? "true" : "false",
			       st->holders[i].held_ms);
		printf("],\"waiters\":[");
		for (size_t i = 0; i < st->n_waiters_listed; i++)
			printf("%s{\"session\":%" PRIu64 ",\"shared\":%s,"
			       "\"waited_ms\":%" PRIu64 ",\"ttl_left_ms\":%"
			       PRIu64 "}", i > 0 ? "," : "",
			       st->waiters[i].session,
			       st->waiters[i].shared ? "true" : "false",
			       st->waiters[i].waited_ms,
			       st->waiters[i].ttl_left_ms);
		printf("],\"n_waiters\":%" PRIu64 "}\n", st->n_waiters);
	} else {
		printf("lock %s: %zu holder(s), %" PRIu64 " waiter(s), "
		       "lock-delay left %" PRIu64 " ms\n", name, st->n_holders,
		       st->n_waiters, st->delay_left_ms);
		for (size_t i = 0; i < st->n_holders; i++)
			printf("  holder session %" PRIu64 " token %" PRIu64
			       " %s, held %" PRIu64 " ms\n",
			       st->holders[i].session, st->holders[i].token,
			       st->holders[i].shared ? "shared" : "exclusive",
			       st->holders[i].held_ms);
		for (size_t i = 0; i < st->n_waiters_listed; i++)
			printf("  waiter session %" PRIu64 " %s, waiting %"
			       PRIu64 " ms, session TTL left %" PRIu64 " ms\n",
			       st->waiters[i].session,
			       st->waiters[i].shared ? "shared" : "exclusive",
			       st->waiters[i].waited_ms,
			       st->waiters[i].ttl_left_ms);
	}
	coord_lock_status_free(st);
	return 0;
}

/* What ended the session of a lock, from its callback. */
struct lock_watch {
	bool lost;
	int why;
};

static void lock_session_cb(void *arg, struct coord_session *s,
			    enum coord_session_state st, coord_err_t why)
{
	struct lock_watch *w = arg;

	(void)s;
	if (st == COORD_SESSION_LOST && !w->lost) {
		w->lost = true;
		w->why = why;
	}
}

static volatile sig_atomic_t lock_signal;

static void lock_signal_handler(int sig)
{
	lock_signal = sig;
}

/* Runs the client's loop for a watch or an observe until it ends
 * (*code set, or *done when done is not NULL) or SIGTERM or SIGINT
 * comes: the end the user asked for, a normal one (exit 0 then). */
static void run_until_signal(struct coord_client *c, const int *code,
			     const bool *done)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lock_signal_handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (*code == COORD_OK && (done == NULL || !*done) &&
	       lock_signal == 0)
		coord_client_run(c, 100);
}

/* The exit status of a child as a shell gives it. */
int exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

/* Why a lock was lost, in words a script can grep: "no leader" when the
 * keepalives went unanswered (the library's clock ran out, or the
 * servers reached had no leader), else the servers' word. */
const char *lost_reason(int why)
{
	if (why == COORD_ETIMEDOUT || why == COORD_ENOLEADER ||
	    why == COORD_EUNAVAILABLE)
		return "no keepalive acknowledged within the TTL (this process "
		       "was paused, or there was no leader or no server "
		       "reachable)";
	return coord_strerror(why);
}

/* The end of a held lock: with --release-put KEY VALUE and CMD's exit
 * status 0, the put fenced by the lock's token and the release in one
 * command (coord_lock_put_release()); otherwise a plain release. A
 * refused put leaves nothing written, and the lock is released. */
static int release_put(struct coord_lock *l, const char *key,
		       const char *value, int wstatus)
{
	int code;

	if (key == NULL || exit_status(wstatus) != 0)
		return coord_lock_release(l);
	code = coord_lock_put_release(l, key, strlen(key), value,
				      strlen(value), NULL);
	if (code != COORD_OK)
		coord_lock_release(l);  /* nothing was written: let go */
	return code;
}

/* A command run while something is held (a lock, an election's
 * leadership): its environment, and how to tell it is still held. */
struct guard {
	const char *what;           /* "lock", "leadership of" */
	const char *name;
	const char *name_env;       /* COORD_LOCK, COORD_ELECTION */
	const char *token;          /* COORD_FENCING_TOKEN */
	uint64_t ttl;
	bool (*held)(void *arg);
	void *arg;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs cmdv with the guard's environment while keeping the client's
 * loop (keepalives) running: SIGTERM to it once the guard is no longer
 * held (jeopardy), SIGKILL ttl/4 later; SIGTERM and SIGINT to coordctl
 * are passed on. *wstatus: its status. -1: it could not be started. */
static int run_guarded(struct coord_client *c, const struct guard *gd,
		       char **cmdv, int *wstatus)
{
	struct sigaction sa;
	uint64_t term_at = 0;
	bool warned = false;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lock_signal_handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "coordctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		setenv(gd->name_env, gd->name, 1);
		setenv("COORD_FENCING_TOKEN", gd->token, 1);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(cmdv[0], cmdv);
		fprintf(stderr, "coordctl: %s: %s\n", cmdv[0],
			strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, wstatus, WNOHANG);
		uint64_t now;

		if (r == pid)
			return 0;
		/* Keepalives and the session's callback run in here. */
		coord_client_run(c, 10);
		now = mono_ms();
		if (lock_signal != 0) {
			kill(pid, lock_signal);
			lock_signal = 0;
		}
		if (!gd->held(gd->arg) && !warned) {
			warned = true;
			fprintf(stderr, "coordctl: %s %s (token %s) in "
				"jeopardy: stopping the command\n", gd->what,
				gd->name, gd->token);
			kill(pid, SIGTERM);
			term_at = now;
		}
		if (term_at != 0 && now >= term_at + gd->ttl / 4) {
			kill(pid, SIGKILL);
			term_at = 0;
		}
	}
}

static bool lock_held(void *arg)
{
	return coord_lock_state(arg) == COORD_LOCK_HELD;
}

/* A lock or a semaphore permit that coordctl holds while CMD runs. */
struct hold {
	const char *what;           /* "lock" or "sem" */
	const char *name;
	const char *env;            /* COORD_LOCK or COORD_SEM */
	uint64_t ttl;
	const char *rp_key;         /* lock --release-put KEY VALUE */
	const char *rp_value;
};

/* The session of a hold; 1 (said why) when it cannot be had. */
static int hold_session(struct coord_client *c, const struct hold *h,
			struct lock_watch *w, struct coord_session **s)
{
	int code = coord_session_open(c, h->ttl, s);

	if (code != COORD_OK) {
		if (code == COORD_ENOLEADER)
			fprintf(stderr, "coordctl: %s %s: no leader\n", h->what,
				h->name);
		return fail(c, "session open", code);
	}
	coord_session_set_callback(*s, lock_session_cb, w);
	return 0;
}

/* After the acquire (code): on failure closes the session, says why and
 * returns 1; else 0. */
static int hold_acquired(struct coord_client *c, const struct hold *h,
			 struct coord_session *s, int code)
{
	if (code == COORD_OK)
		return 0;
	if (code == COORD_ENOLEADER)
		fprintf(stderr, "coordctl: %s %s: no leader\n", h->what,
			h->name);
	fail(c, h->what, code);
	coord_session_close(s);
	return 1;
}

/*
 * Runs cmdv holding l (a lock, or a semaphore's permit) with h->env and
 * COORD_FENCING_TOKEN in its environment (run_guarded(): stopped at
 * jeopardy), releases it (a lock's with --release-put: with the put, one
 * command) and returns CMD's status. As soon as l is in jeopardy (no
 * keepalive acknowledged for ttl/2), CMD gets SIGTERM, and SIGKILL ttl/4
 * later if it still runs: so it is gone by 3/4 of the TTL after the last
 * acknowledged keepalive was sent, before any server can have expired
 * the session (which counts the TTL from later than that send). Then
 * coordctl says "lock lost" (or "sem lost") and why, and returns CMD's
 * status (143 or 137 for the signals). SIGTERM or SIGINT to coordctl is
 * passed on to CMD.
 */
static int run_holding(struct coord_client *c, const struct gopts *g,
		       const struct hold *h, struct coord_session *s,
		       struct coord_lock *l, const struct lock_watch *w,
		       char **cmdv)
{
	struct guard gd;
	char token[32], what[32];
	int code, wstatus = 0;
	bool put_due;

	snprintf(token, sizeof(token), "%" PRIu64, coord_lock_token(l));
	if (!g->json)
		fprintf(stderr, "coordctl: %s %s held, fencing token %s\n",
			h->what, h->name, token);
	gd = (struct guard){ h->what, h->name, h->env, token, h->ttl,
			     lock_held, l };
	if (run_guarded(c, &gd, cmdv, &wstatus) != 0) {
		coord_lock_release(l);
		coord_session_close(s);
		return 1;
	}
	/* --release-put asked for and CMD succeeded: unless it was
	 * written, the exit status says so (1). */
	put_due = h->rp_key != NULL && exit_status(wstatus) == 0;
	if (coord_lock_state(l) == COORD_LOCK_HELD) {
		code = release_put(l, h->rp_key, h->rp_value, wstatus);
		snprintf(what, sizeof(what), "%s release", h->what);
		if (code != COORD_OK)
			fail(c, what, code);
		coord_session_close(s);
		return put_due && code != COORD_OK ? 1 : exit_status(wstatus);
	}
	/* Its state at the end: LOST for good, or JEOPARDY (the command was
	 * stopped; keepalives may come back, but nobody holds on now). */
	fprintf(stderr, "coordctl: %s lost: %s (token %s): %s\n", h->what,
		h->name, token, w->lost ? lost_reason(w->why)
				      : "keepalives unanswered for half the "
					"TTL (no leader, or no server "
					"reachable)");
	coord_lock_release(l);
	coord_session_close(s);
	return put_due ? 1 : exit_status(wstatus);
}

/* coordctl lock NAME [flags] -- CMD...: opens a session, acquires NAME
 * and runs CMD holding it (run_holding(); with --release-put KEY VALUE
 * and status 0, the release carries a put of KEY = VALUE fenced by the
 * token: one command). */
static int cmd_lock(struct coord_client *c, const struct gopts *g, int argc,
		    char **argv)
{
	struct coord_lock_opts o = { .wait = true };
	struct lock_watch w = { false, COORD_OK };
	struct hold h = { .what = "lock", .env = "COORD_LOCK", .ttl = 10000 };
	struct coord_session *s;
	struct coord_lock *l;
	int i;

	if (argc == 2 && strcmp(argv[0], "status") == 0)
		return cmd_lock_status(c, g, argv[1]);
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--shared") == 0)
			o.shared = true;
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			h.ttl = parse_secs_ms(argv[++i], "--ttl S (seconds)");
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o.timeout_ms = (unsigned)parse_secs_ms(
				argv[++i], "--timeout S (seconds)");
		else if (strcmp(argv[i], "--lock-delay") == 0 && i + 1 < argc)
			o.lock_delay_ms = (unsigned)parse_secs_ms(
				argv[++i], "--lock-delay S (seconds)");
		else if (strcmp(argv[i], "--release-put") == 0 && i + 2 < argc) {
			h.rp_key = argv[++i];
			h.rp_value = argv[++i];
		} else if (argv[i][0] == '-' || h.name != NULL)
			die_usage("lock NAME [--shared] [--ttl S] [--timeout S] [--lock-delay S] [--release-put KEY VALUE] -- CMD ...");
		else
			h.name = argv[i];
	}
	if (h.name == NULL || i + 1 >= argc)
		die_usage("lock NAME [flags] -- CMD [ARG...]");
	if (hold_session(c, &h, &w, &s) != 0)
		return 1;
	if (hold_acquired(c, &h, s,
			  coord_lock_acquire(s, h.name, strlen(h.name), &o,
					     &l)) != 0)
		return 1;
	return run_holding(c, g, &h, s, l, &w, argv + i + 1);
}

/* ---------------------------------------------------------------------- */
/* elect */

/* One line per leader: "leader NAME session S token T revision R value
 * V", or "no leader NAME token T revision R" (T: the token that ended,
 * 0 if none is known). */
static void print_leader(const char *name, const struct coord_leader *l,
			 bool json, bool candidates)
{
	if (json) {
		printf("{\"name\":\"%s\",\"session\":%" PRIu64 ",\"token\":%"
		       PRIu64 ",\"revision\":%" PRIu64, name, l->session,
		       l->token, l->revision);
		if (candidates)
			printf(",\"candidates\":%" PRIu64, l->candidates);
		printf(",\"value\":\"");
		print_bytes(l->value, l->value_len, true);
		printf("\"}\n");
	} else if (l->session == 0) {
		printf("no leader %s token %" PRIu64 " revision %" PRIu64 "\n",
		       name, l->token, l->revision);
	} else {
		printf("leader %s session %" PRIu64 " token %" PRIu64
		       " revision %" PRIu64, name, l->session, l->token,
		       l->revision);
		if (candidates)
			printf(" candidates %" PRIu64, l->candidates);
		printf(" value ");
		print_bytes(l->value, l->value_len, false);
		putchar('\n');
	}
	fflush(stdout);
}

struct observe_ctx {
	struct coord_client *c;
	const char *name;
	bool json;
	uint64_t left;              /* changes still to print; 0: no end */
	bool done;                  /* printed them */
	int code;
};

static void on_change(void *arg, coord_err_t code, const struct coord_leader *l)
{
	struct observe_ctx *o = arg;

	if (o->done)
		return;     /* the client's end cancels it */
	if (code != COORD_OK) {
		o->code = code;
		fail(o->c, "observe", code);
		coord_client_stop(o->c);
		return;
	}
	print_leader(o->name, l, o->json, false);
	if (o->left != 0 && --o->left == 0) {
		o->done = true;
		coord_client_stop(o->c);
	}
}

/* The "leadership lost" callback of a held leadership: says so. */
/* on_leadership() said "lost". */
static bool leadership_told_lost;

static void on_leadership(void *arg, struct coord_election *e,
			  enum coord_election_state st)
{
	if (st == COORD_ELECTION_LOST)
		leadership_told_lost = true;
	fprintf(stderr, "coordctl: leadership of %s (token %" PRIu64 ") %s\n",
		(const char *)arg, coord_election_token(e),
		st == COORD_ELECTION_JEOPARDY
			? "in jeopardy (keepalives unanswered for half the TTL)"
			: "lost");
}

static bool leading(void *arg)
{
	return coord_election_state(arg) == COORD_ELECTION_LEADER;
}

/* Proclaims each line of stdin (without its newline) that is there. */
static void proclaim_stdin(struct coord_client *c, struct coord_election *e,
			   bool *eof)
{
	char line[4096];
	struct pollfd pfd = { 0, POLLIN, 0 };
	size_t n;
	int code;

	while (!*eof && poll(&pfd, 1, 0) > 0) {
		if (fgets(line, sizeof(line), stdin) == NULL) {
			*eof = true;
			return;
		}
		n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		code = coord_election_proclaim(e, line, n);
		if (code != COORD_OK)
			fail(c, "proclaim", code);
		else
			fprintf(stderr, "coordctl: proclaimed %s\n", line);
	}
}

/*
 * coordctl elect [--ttl S] [--timeout S] NAME VALUE [-- CMD...]: opens a
 * session and campaigns; once elected prints "elected NAME token T
 * session S" and holds the leadership: until killed (SIGTERM, SIGINT:
 * resigns, exits 0), proclaiming each line read from stdin; with CMD,
 * while CMD runs (COORD_ELECTION and COORD_FENCING_TOKEN in its
 * environment), stopped as `coordctl lock` stops its command, exiting
 * with its status. Losing the leadership: "leadership lost", exit 1 (or
 * CMD's status). --leader NAME: the leader now; --observe NAME [--rev R]
 * [--count N]: every change from R (or the next), N of them (0: until
 * killed).
 */
static int cmd_elect(struct coord_client *c, const struct gopts *g, int argc,
		     char **argv)
{
	static const char use[] =
		"elect [--ttl S] [--timeout S] NAME VALUE [-- CMD ...] | "
		"--leader NAME | --observe NAME [--rev R] [--count N]";
	struct lock_watch w = { false, COORD_OK };
	struct observe_ctx o = { c, NULL, g->json, 0, false, COORD_OK };
	struct coord_session *s;
	struct coord_election *e;
	struct coord_watch *h;
	struct coord_leader l;
	struct guard gd;
	uint64_t ttl = 10000, rev = 0;
	unsigned timeout = 0;
	const char *name = NULL, *value = NULL, *mode = NULL;
	char token[32];
	int code, wstatus = 0, i;
	bool eof = false;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = parse_secs_ms(argv[++i], "--ttl S (seconds)");
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = (unsigned)parse_secs_ms(
				argv[++i], "--timeout S (seconds)");
		else if ((strcmp(argv[i], "--leader") == 0 ||
			  strcmp(argv[i], "--observe") == 0) && i + 1 < argc &&
			 mode == NULL)
			mode = argv[i++];
		else if (strcmp(argv[i], "--rev") == 0 && i + 1 < argc)
			rev = parse_u64(argv[++i], "--rev needs a number");
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			o.left = parse_u64(argv[++i], "--count needs a number");
		else if (argv[i][0] == '-' || value != NULL)
			die_usage(use);
		else if (name == NULL)
			name = argv[i];
		else
			value = argv[i];
		if (mode != NULL && name == NULL)
			name = argv[i];
	}
	if (name == NULL || (mode == NULL && value == NULL) ||
	    (mode != NULL && (value != NULL || i < argc)) ||
	    (i < argc && i + 1 >= argc))
		die_usage(use);
	if (mode != NULL && strcmp(mode, "--leader") == 0) {
		code = coord_election_leader(c, name, strlen(name), &l);
		if (code != COORD_OK)
			return fail(c, "elect --leader", code);
		print_leader(name, &l, g->json, true);
		coord_leader_clear(&l);
		return 0;
	}
	if (mode != NULL) {
		o.name = name;
		code = coord_election_observe(c, name, strlen(name), rev,
					      on_change, &o, &h);
		if (code != COORD_OK)
			return fail(c, "elect --observe", code);
		run_until_signal(c, &o.code, &o.done);
		/* Before o goes: the client's end would call it back. */
		coord_watch_cancel(c, h);
		return o.code == COORD_OK ? 0 : 1;
	}
	code = coord_session_open(c, ttl, &s);
	if (code != COORD_OK) {
		if (code == COORD_ENOLEADER)
			fprintf(stderr, "coordctl: elect %s: no leader\n", name);
		return fail(c, "session open", code);
	}
	coord_session_set_callback(s, lock_session_cb, &w);
	fprintf(stderr, "coordctl: campaigning for %s as session %" PRIu64
		"\n", name, coord_session_id(s));
	code = coord_election_campaign(s, name, strlen(name), value,
				       strlen(value), timeout, &e);
	if (code != COORD_OK) {
		fail(c, "campaign", code);
		coord_session_close(s);
		return 1;
	}
	snprintf(token, sizeof(token), "%" PRIu64, coord_election_token(e));
	printf("elected %s token %s session %" PRIu64 "\n", name, token,
	       coord_session_id(s));
	fflush(stdout);
	gd = (struct guard){ "leadership of", name, "COORD_ELECTION", token,
			     ttl, leading, e };
	if (i < argc) {
		if (run_guarded(c, &gd, argv + i + 1, &wstatus) != 0)
			wstatus = 1 << 8;
	} else {
		struct sigaction sa;

		coord_election_set_lost_callback(e, on_leadership,
						 (void *)name);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = lock_signal_handler;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		/* stdin's lines are proclaimed before the state is looked
		 * at: a leader that was paused tries, and is refused. */
		for (int after_lost = 0;;) {
			coord_client_run(c, 20);
			proclaim_stdin(c, e, &eof);
			if (lock_signal != 0)
				break;
			/* Lost by the clock: the callback tells it from the
			 * session's timer, which may fire a little later --
			 * let it (at most 50 more turns of 20 ms). */
			if (coord_election_state(e) == COORD_ELECTION_LOST &&
			    (leadership_told_lost || ++after_lost > 50))
				break;
		}
		wstatus = coord_election_state(e) == COORD_ELECTION_LOST
				  ? 1 << 8
				  : 0;
	}
	if (coord_election_state(e) == COORD_ELECTION_LEADER) {
		code = coord_election_resign(e);
		if (code != COORD_OK)
			fail(c, "resign", code);
		coord_session_close(s);
		return exit_status(wstatus);
	}
	fprintf(stderr, "coordctl: leadership lost: %s (token %s): %s\n",
		name, token, w.lost ? lost_reason(w.why)
				    : "keepalives unanswered for half the "
				      "TTL (no leader, or no server reachable)");
	coord_election_resign(e);
	coord_session_close(s);
	return exit_status(wstatus);
}

/* ---------------------------------------------------------------------- */
/* sem */

static int cmd_sem_status(struct coord_client *c, const struct gopts *g,
			  const char *name)
{
	struct coord_lock_status *st;
	uint64_t permits;
	int code = coord_sem_status(c, name, strlen(name), &permits, &st);

	if (code != COORD_OK)
		return fail(c, "sem status", code);
	if (g->json) {
		printf("{\"sem\":\"");
		print_bytes((const uint8_t *)name, strlen(name), true);
		printf("\",\"permits\":%" PRIu64 ",\"holders\":[", permits);
		for (size_t i = 0; i < st->n_holders; i++)
			printf("%s{\"session\":%" PRIu64 ",\"token\":%" PRIu64
			       ",\"held_ms\":%" PRIu64 "}", i > 0 ? "," : "",
			       st->holders[i].session, st->holders[i].token,
			       st->holders[i].held_ms);
		printf("],\"waiters\":[");
		for (size_t i = 0; i < st->n_waiters_listed; i++)
			printf("%s{\"session\":%" PRIu64 ",\"waited_ms\":%"
			       PRIu64 ",\"ttl_left_ms\":%" PRIu64 "}",
			       i > 0 ? "," : "", st->waiters[i].session,
			       st->waiters[i].waited_ms,
			       st->waiters[i].ttl_left_ms);
		printf("],\"n_waiters\":%" PRIu64 "}\n", st->n_waiters);
	} else {
		printf("sem %s: %" PRIu64 " permit(s), %zu holder(s), %" PRIu64
		       " waiter(s)\n", name, permits, st->n_holders,
		       st->n_waiters);
		for (size_t i = 0; i < st->n_holders; i++)
			printf("  holder session %" PRIu64 " token %" PRIu64
			       ", held %" PRIu64 " ms\n",
			       st->holders[i].session, st->holders[i].token,
			       st->holders[i].held_ms);
		for (size_t i = 0; i < st->n_waiters_listed; i++)
			printf("  waiter session %" PRIu64 ", waiting %" PRIu64
			       " ms, session TTL left %" PRIu64 " ms\n",
			       st->waiters[i].session,
			       st->waiters[i].waited_ms,
			       st->waiters[i].ttl_left_ms);
	}
	coord_lock_status_free(st);
	return 0;
}

/* coordctl sem NAME N [--ttl S] [--timeout S] -- CMD...: at most N such
 * CMDs run at once across machines; as lock, with COORD_SEM. */
static int cmd_sem(struct coord_client *c, const struct gopts *g, int argc,
		   char **argv)
{
	static const char use[] =
		"sem NAME N [--ttl S] [--timeout S] -- CMD [ARG...]";
	struct coord_sem_opts o = { .wait = true };
	struct lock_watch w = { false, COORD_OK };
	struct hold h = { .what = "sem", .env = "COORD_SEM", .ttl = 10000 };
	struct coord_session *s;
	struct coord_lock *l;
	uint64_t permits = 0;
	int i;

	if (argc == 2 && strcmp(argv[0], "status") == 0)
		return cmd_sem_status(c, g, argv[1]);
	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			h.ttl = parse_secs_ms(argv[++i], "--ttl S (seconds)");
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o.timeout_ms = (unsigned)parse_secs_ms(
				argv[++i], "--timeout S (seconds)");
		else if (argv[i][0] == '-' || permits != 0)
			die_usage(use);
		else if (h.name == NULL)
			h.name = argv[i];
		else
			permits = parse_u64(argv[i], use);
	}
	if (h.name == NULL || i + 1 >= argc)
		die_usage(use);
	if (hold_session(c, &h, &w, &s) != 0)
		return 1;
	if (hold_acquired(c, &h, s,
			  coord_sem_acquire(s, h.name, strlen(h.name), permits,
					    &o, &l)) != 0)
		return 1;
	return run_holding(c, g, &h, s, l, &w, argv + i + 1);
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
		else if (strcmp(a, "--dial-timeout-ms") == 0)
			g.co.dial_timeout_ms = (unsigned)parse_u64(
				v, "--dial-timeout-ms needs a number");
		else if (strcmp(a, "--cacert") == 0)
			g.co.cacert = v;
		else if (strcmp(a, "--cert") == 0)
			g.co.cert = v;
		else if (strcmp(a, "--key") == 0)
			g.co.key = v;
		else if (strcmp(a, "--cluster-id") == 0)
			g.co.cluster_id = parse_cluster_id(v);
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
	else if (strcmp(cmd, "lease") == 0)
		rc = cmd_lease(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "session") == 0)
		rc = cmd_session(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "lock") == 0)
		rc = cmd_lock(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "job") == 0)
		rc = coordctl_job(c, g.json, argc - i, argv + i);
	else if (strcmp(cmd, "elect") == 0)
		rc = cmd_elect(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "sem") == 0)
		rc = cmd_sem(c, &g, argc - i, argv + i);
	else if (strcmp(cmd, "alarm") == 0)
		rc = cmd_alarm(c, &g, argc - i, argv + i);
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
