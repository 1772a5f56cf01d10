/*
 * tools/coordctl_job.c: coordctl job -- the job queue commands:
 *
 *   coordctl job enqueue QUEUE PAYLOAD|-|--lines [--unique KEY] [--max-attempts N]
 *   coordctl job claim QUEUE [--wait] [--timeout S] [--ttl S]
 *   coordctl job complete QUEUE JOB TOKEN --session ID --secret HEX
 *                         [--result TEXT]
 *   coordctl job fail QUEUE JOB TOKEN --session ID --secret HEX [--tail]
 *   coordctl job list QUEUE [--state pending|claimed|dead|done]
 *                      [--limit N] [--cursor C]
 *   coordctl job inspect QUEUE JOB
 *   coordctl job worker QUEUE [--ttl S] [--max-jobs N] [--until-empty]
 *                      [--tail] -- CMD [ARG...]
 *
 * claim opens a session of --ttl (default 60 s) and leaves it open when
 * it exits: it prints the session's id and secret, which complete and
 * fail attach to (the claim lasts while the session lives; a complete
 * after that is refused, COORD_ESTALECLAIM or COORD_ESESSION).
 *
 * worker claims jobs one by one on a session of its own and runs CMD for
 * each: the payload on its stdin, COORD_JOB_QUEUE, COORD_JOB_ID,
 * COORD_JOB_ATTEMPTS and COORD_FENCING_TOKEN (the claim token) in its
 * environment. Exit 0: the job is completed with CMD's stdout as its
 * result (the first COORD_JOB_RESULT_BYTES_MAX bytes); otherwise it is
 * failed (back to the head, --tail: the tail; dead at its max attempts).
 * It prints "job ID token T completed" (or "failed", "dead") per job. As
 * soon as the session is in jeopardy CMD gets SIGTERM (SIGKILL ttl/4
 * later) as under coordctl lock, and the worker says "claim lost" and
 * exits 1: the job goes back to the queue when the session ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/limits.h"
#include "tools/coordctl.h"

#define JOB_USAGE                                                             \
	"job enqueue QUEUE PAYLOAD|-|--lines [--unique KEY] [--max-attempts N]\n" \
	"  | claim QUEUE [--wait] [--timeout S] [--ttl S]\n"                  \
	"  | complete QUEUE JOB TOKEN --session ID --secret HEX [--result T]\n" \
	"  | fail QUEUE JOB TOKEN --session ID --secret HEX [--tail]\n"       \
	"  | list QUEUE [--state pending|claimed|dead|done] [--limit N] "     \
	"[--cursor C]\n"                                                      \
	"  | inspect QUEUE JOB\n"                                             \
	"  | worker QUEUE [--ttl S] [--max-jobs N] [--until-empty] [--tail] "  \
	"-- CMD [ARG...]"

static const char *state_names[] = { "?", "pending", "claimed", "done",
				     "dead" };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads all of stdin (at most max bytes). */
static uint8_t *read_stdin(size_t max, size_t *len)
{
	uint8_t *buf = malloc(max + 1);
	size_t n = 0;
	ssize_t r;

	if (buf == NULL)
		return NULL;
	while (n <= max && (r = read(0, buf + n, max + 1 - n)) > 0)
		n += (size_t)r;
	*len = n;
	return buf;
}

/* --lines: one job per line of stdin (without its newline), its id
 * printed per line, in order; stops at the first refusal. */
static int enqueue_lines(struct coord_client *c, bool json,
			 const char *queue,
			 const struct coord_job_enqueue_opts *o)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t id;
	bool existed;
	int code = COORD_OK;

	while (code == COORD_OK && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		code = coord_job_enqueue(c, queue, strlen(queue), line,
					 (size_t)n, o, &id, &existed);
		if (code == COORD_OK)
			printf(json ? "{\"job\":%" PRIu64 "}\n" : "%" PRIu64 "\n",
			       id);
	}
	free(line);
	return code == COORD_OK ? 0 : fail(c, "job enqueue", code);
}

static int job_enqueue(struct coord_client *c, bool json, int argc,
		       char **argv)
{
	struct coord_job_enqueue_opts o = { NULL, 0, 0 };
	const char *queue = NULL, *payload = NULL;
	uint8_t *in = NULL;
	size_t plen = 0;
	uint64_t id;
	bool existed, lines = false;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--lines") == 0) {
			lines = true;
		} else if (strcmp(argv[i], "--unique") == 0 && i + 1 < argc) {
			o.unique_key = argv[++i];
			o.unique_key_len = strlen(argv[i]);
		} else if (strcmp(argv[i], "--max-attempts") == 0 &&
			   i + 1 < argc) {
			o.max_attempts = (uint32_t)parse_u64(
				argv[++i], "--max-attempts N");
		} else if (queue == NULL) {
			queue = argv[i];
		} else if (payload == NULL) {
			payload = argv[i];
		} else {
			die_usage(JOB_USAGE);
		}
	}
	if (lines && queue != NULL && payload == NULL)
		return enqueue_lines(c, json, queue, &o);
	if (queue == NULL || payload == NULL)
		die_usage(JOB_USAGE);
	if (strcmp(payload, "-") == 0) {
		in = read_stdin(COORD_JOB_PAYLOAD_BYTES_MAX, &plen);
		if (in == NULL)
			return fail(c, "job enqueue", COORD_ENOMEM);
		payload = (const char *)in;
	} else {
		plen = strlen(payload);
	}
	code = coord_job_enqueue(c, queue, strlen(queue), payload, plen, &o,
				 &id, &existed);
	free(in);
	if (code != COORD_OK)
		return fail(c, "job enqueue", code);
	if (json)
		printf("{\"job\":%" PRIu64 ",\"existed\":%s}\n", id,
		       existed ? "true" : "false");
	else
		printf("%" PRIu64 "%s\n", id, existed ? " (existed)" : "");
	return 0;
}

static int job_claim(struct coord_client *c, bool json, int argc,
		     char **argv)
{
	struct coord_job_claim_opts o = { false, 0 };
	struct coord_session *s;
	struct coord_job *j;
	const char *queue = NULL;
	const uint8_t *p, *secret;
	uint64_t ttl = 60000;
	size_t plen, slen;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--wait") == 0)
			o.wait = true;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			o.timeout_ms = (unsigned)parse_secs_ms(argv[++i],
							       "--timeout S");
		else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = parse_secs_ms(argv[++i], "--ttl S");
		else if (queue == NULL && argv[i][0] != '-')
			queue = argv[i];
		else
			die_usage(JOB_USAGE);
	}
	if (queue == NULL)
		die_usage(JOB_USAGE);
	code = coord_session_open(c, ttl, &s);
	if (code != COORD_OK)
		return fail(c, "session open", code);
	code = coord_job_claim(s, queue, strlen(queue), &o, &j);
	if (code != COORD_OK) {
		fail(c, "job claim", code);
		coord_session_close(s);
		return 1;
	}
	p = coord_job_payload(j, &plen);
	secret = coord_session_secret(s, &slen);
	if (json) {
		printf("{\"job\":%" PRIu64 ",\"token\":%" PRIu64
		       ",\"attempts\":%u,\"session\":%" PRIu64 ",\"secret\":\"",
		       coord_job_id(j), coord_job_token(j),
		       coord_job_attempts(j), coord_session_id(s));
		print_hex(secret, slen);
		printf("\",\"payload\":\"");
		print_bytes(p, plen, true);
		printf("\"}\n");
	} else {
		printf("job %" PRIu64 " token %" PRIu64 " attempts %u session %"
		       PRIu64 " secret ", coord_job_id(j), coord_job_token(j),
		       coord_job_attempts(j), coord_session_id(s));
		print_hex(secret, slen);
		printf("\n");
		print_bytes(p, plen, false);
		printf("\n");
	}
	/* The session stays open (no close): complete and fail attach. */
	return 0;
}

static int job_done_cmd(struct coord_client *c, bool json, bool complete,
			int argc, char **argv)
{
	const char *pos[3] = { NULL, NULL, NULL }, *result = "";
	uint8_t secret[COORD_SECRET_BYTES_MAX];
	size_t slen = 0, npos = 0;
	uint64_t session = 0, job, token;
	struct coord_session *s;
	bool to_tail = false, dead = false;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			session = parse_u64(argv[++i], "--session ID");
		else if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
			slen = parse_hex(argv[++i], secret, sizeof(secret));
		else if (complete && strcmp(argv[i], "--result") == 0 &&
			 i + 1 < argc)
			result = argv[++i];
		else if (!complete && strcmp(argv[i], "--tail") == 0)
			to_tail = true;
		else if (npos < 3 && argv[i][0] != '-')
			pos[npos++] = argv[i];
		else
			die_usage(JOB_USAGE);
	}
	if (npos != 3 || session == 0 || slen == 0)
		die_usage(JOB_USAGE);
	job = parse_u64(pos[1], "JOB is a number");
	token = parse_u64(pos[2], "TOKEN is a number");
	code = coord_session_attach(c, session, secret, slen, &s);
	if (code != COORD_OK)
		return fail(c, "session attach", code);
	code = complete ? coord_job_complete_by(s, pos[0], strlen(pos[0]), job,
						token, result, strlen(result))
			: coord_job_fail_by(s, pos[0], strlen(pos[0]), job,
					    token, to_tail, &dead);
	if (code != COORD_OK)
		return fail(c, complete ? "job complete" : "job fail", code);
	if (json)
		printf(complete ? "{}\n" : "{\"dead\":%s}\n",
		       dead ? "true" : "false");
	else
		printf("job %" PRIu64 " %s\n", job,
		       complete ? "completed" : dead ? "dead" : "failed");
	return 0;
}

static int job_list(struct coord_client *c, bool json, int argc, char **argv)
{
	enum coord_job_state st = COORD_JOB_PENDING;
	struct coord_job_list *l;
	const char *queue = NULL;
	uint64_t cursor = 0;
	unsigned limit = 0;
	int code;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
			i++;
			for (st = COORD_JOB_PENDING; st <= COORD_JOB_DEAD; st++)
				if (strcmp(argv[i], state_names[st]) == 0)
					break;
			if (st > COORD_JOB_DEAD)
				die_usage(JOB_USAGE);
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			limit = (unsigned)parse_u64(argv[++i], "--limit N");
		} else if (strcmp(argv[i], "--cursor") == 0 && i + 1 < argc) {
			cursor = parse_u64(argv[++i], "--cursor C");
		} else if (queue == NULL && argv[i][0] != '-') {
			queue = argv[i];
		} else {
			die_usage(JOB_USAGE);
		}
	}
	if (queue == NULL)
		die_usage(JOB_USAGE);
	code = coord_job_list(c, queue, strlen(queue), st, cursor, limit, &l);
	if (code != COORD_OK)
		return fail(c, "job list", code);
	if (json) {
		printf("{\"pending\":%" PRIu64 ",\"claimed\":%" PRIu64
		       ",\"dead\":%" PRIu64 ",\"done\":%" PRIu64 ",\"jobs\":[",
		       l->pending, l->claimed, l->dead, l->done);
		for (size_t i = 0; i < l->n_jobs; i++)
			printf("%s{\"job\":%" PRIu64 ",\"attempts\":%u,"
			       "\"session\":%" PRIu64 ",\"token\":%" PRIu64 "}",
			       i > 0 ? "," : "", l->jobs[i].id,
			       l->jobs[i].attempts, l->jobs[i].session,
			       l->jobs[i].token);
		printf("],\"next\":%" PRIu64 "}\n", l->next);
	} else {
		printf("queue %s: %" PRIu64 " pending, %" PRIu64 " claimed, %"
		       PRIu64 " dead, %" PRIu64 " done\n", queue, l->pending,
		       l->claimed, l->dead, l->done);
		for (size_t i = 0; i < l->n_jobs; i++)
			printf("  job %" PRIu64 " %s attempts %u session %"
			       PRIu64 " token %" PRIu64 "\n", l->jobs[i].id,
			       state_names[st], l->jobs[i].attempts,
			       l->jobs[i].session, l->jobs[i].token);
		if (l->next != 0)
			printf("  more: --cursor %" PRIu64 "\n", l->next);
	}
	coord_job_list_free(l);
	return 0;
}

static int job_inspect(struct coord_client *c, bool json, int argc,
		       char **argv)
{
	struct coord_job_info *ji;
	int code;

	if (argc != 2)
		die_usage(JOB_USAGE);
	code = coord_job_inspect(c, argv[0], strlen(argv[0]),
				 parse_u64(argv[1], "JOB is a number"), &ji);
	if (code != COORD_OK)
		return fail(c, "job inspect", code);
	if (json) {
		printf("{\"job\":%" PRIu64 ",\"state\":\"%s\",\"attempts\":%u,"
		       "\"max_attempts\":%u,\"session\":%" PRIu64
		       ",\"token\":%" PRIu64 ",\"payload\":\"", ji->id,
		       state_names[ji->state], ji->attempts, ji->max_attempts,
		       ji->session, ji->token);
		print_bytes(ji->payload, ji->payload_len, true);
		printf("\",\"result\":\"");
		print_bytes(ji->result, ji->result_len, true);
		printf("\",\"unique_key\":\"");
		print_bytes(ji->unique_key, ji->unique_key_len, true);
		printf("\"}\n");
	} else {
		printf("job %" PRIu64 " %s attempts %u/%u session %" PRIu64
		       " token %" PRIu64 "\npayload: ", ji->id,
		       state_names[ji->state], ji->attempts, ji->max_attempts,
		       ji->session, ji->token);
		print_bytes(ji->payload, ji->payload_len, false);
		printf("\nresult: ");
		print_bytes(ji->result, ji->result_len, false);
		printf("\n");
	}
	coord_job_info_free(ji);
	return 0;
}

/*
 * job worker.
 */

static volatile sig_atomic_t worker_signal;

static void worker_signal_handler(int sig)
{
	worker_signal = sig;
}

struct worker_watch {
	bool lost;
	int why;
	bool done;                  /* the claim's outcome is in */
	int code;
	struct coord_job *j;
};

static void worker_session_cb(void *arg, struct coord_session *s,
			      enum coord_session_state st, coord_err_t why)
{
	struct worker_watch *w = arg;

	(void)s;
	if (st == COORD_SESSION_LOST && !w->lost) {
		w->lost = true;
		w->why = why;
	}
}

static void worker_claim_cb(void *arg, coord_err_t code, struct coord_job *j)
{
	struct worker_watch *w = arg;

	w->done = true;
	w->code = code;
	w->j = j;
}

/* Runs CMD for job j; *out, *out_len: its stdout (bounded). Returns its
 * wait status; *lost when the session left ALIVE while it ran. */
static int worker_run(struct coord_client *c, struct coord_session *s,
		      struct coord_job *j, const char *queue, uint64_t ttl,
		      char **cmd, uint8_t *out, size_t *out_len, bool *lost)
{
	char id[32], token[32], attempts[16];
	const uint8_t *payload;
	size_t plen;
	uint64_t term_at = 0;
	int fds[2], wstatus = 0;
	FILE *in = tmpfile();
	pid_t pid;

	*out_len = 0;
	*lost = false;
	payload = coord_job_payload(j, &plen);
	if (in == NULL || pipe(fds) != 0) {
		fprintf(stderr, "coordctl: job worker: %s\n", strerror(errno));
		if (in != NULL)
			fclose(in);
		return 1 << 8;
	}
	if (plen > 0)
		fwrite(payload, 1, plen, in);
	fflush(in);
	rewind(in);
	snprintf(id, sizeof(id), "%" PRIu64, coord_job_id(j));
	snprintf(token, sizeof(token), "%" PRIu64, coord_job_token(j));
	snprintf(attempts, sizeof(attempts), "%u", coord_job_attempts(j));
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(in), 0);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("COORD_JOB_QUEUE", queue, 1);
		setenv("COORD_JOB_ID", id, 1);
		setenv("COORD_JOB_ATTEMPTS", attempts, 1);
		setenv("COORD_FENCING_TOKEN", token, 1);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "coordctl: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	fclose(in);
	close(fds[1]);
	if (pid < 0) {
		fprintf(stderr, "coordctl: fork: %s\n", strerror(errno));
		close(fds[0]);
		return 1 << 8;
	}
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	for (;;) {
		uint8_t sink[4096];
		ssize_t r;
		pid_t w = waitpid(pid, &wstatus, WNOHANG);
		uint64_t now;

		/* Its stdout: kept up to the result limit, the rest read
		 * and dropped (so that CMD never blocks on a full pipe). */
		do {
			size_t room = COORD_JOB_RESULT_BYTES_MAX - *out_len;

			r = read(fds[0], room > 0 ? out + *out_len : sink,
				 room > 0 ? room : sizeof(sink));
			if (r > 0 && room > 0)
				*out_len += (size_t)r;
		} while (r > 0);
		if (w == pid)
			break;
		/* Keepalives and the session's callback run in here. */
		coord_client_run(c, 10);
		now = now_ms();
		if (worker_signal != 0) {
			kill(pid, worker_signal);
			worker_signal = 0;
		}
		if (coord_session_state(s) != COORD_SESSION_ALIVE && !*lost) {
			*lost = true;
			fprintf(stderr, "coordctl: job %s (token %s) in "
				"jeopardy: stopping the command\n", id, token);
			kill(pid, SIGTERM);
			term_at = now;
		}
		if (term_at != 0 && now >= term_at + ttl / 4) {
			kill(pid, SIGKILL);
			term_at = 0;
		}
	}
	close(fds[0]);
	return wstatus;
}

static int job_worker(struct coord_client *c, int argc, char **argv)
{
	struct worker_watch w;
	struct coord_job_claim_opts o = { true, 0 };
	struct coord_session *s;
	struct sigaction sa;
	const char *queue = NULL;
	uint64_t ttl = 10000, max_jobs = 0, n = 0;
	bool to_tail = false;
	uint8_t *out;
	int code, i, rc = 0;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc)
			ttl = parse_secs_ms(argv[++i], "--ttl S");
		else if (strcmp(argv[i], "--max-jobs") == 0 && i + 1 < argc)
			max_jobs = parse_u64(argv[++i], "--max-jobs N");
		else if (strcmp(argv[i], "--until-empty") == 0)
			o.wait = false;
		else if (strcmp(argv[i], "--tail") == 0)
			to_tail = true;
		else if (queue == NULL && argv[i][0] != '-')
			queue = argv[i];
		else
			die_usage(JOB_USAGE);
	}
	if (queue == NULL || i + 1 >= argc)
		die_usage(JOB_USAGE);
	out = malloc(COORD_JOB_RESULT_BYTES_MAX);
	if (out == NULL)
		return fail(c, "job worker", COORD_ENOMEM);
	code = coord_session_open(c, ttl, &s);
	if (code != COORD_OK) {
		free(out);
		return fail(c, "session open", code);
	}
	memset(&w, 0, sizeof(w));
	coord_session_set_callback(s, worker_session_cb, &w);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_signal_handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (max_jobs == 0 || n < max_jobs) {
		size_t out_len;
		bool lost, dead;
		int ws;

		w.done = false;
		w.j = NULL;
		code = coord_job_claim_async(s, queue, strlen(queue), &o,
					     worker_claim_cb, &w);
		while (code == COORD_OK && !w.done && worker_signal == 0)
			coord_client_run(c, 50);
		if (code == COORD_OK && !w.done)
			break;      /* a signal: the session's close ends the
				     * waiting claim */
		if (code == COORD_OK)
			code = w.code;
		if (code == COORD_ENOJOBS && !o.wait)
			break;
		if (code != COORD_OK) {
			rc = fail(c, "job claim", code);
			break;
		}
		ws = worker_run(c, s, w.j, queue, ttl, argv + i + 1, out,
				&out_len, &lost);
		n++;
		/* Judged on this process's clock too: after a pause the
		 * callback has not run yet. */
		if (lost || w.lost ||
		    coord_session_state(s) != COORD_SESSION_ALIVE) {
			fprintf(stderr, "coordctl: claim lost: job %" PRIu64
				" (token %" PRIu64 "): %s\n", coord_job_id(w.j),
				coord_job_token(w.j),
				w.lost ? lost_reason(w.why)
				       : "keepalives unanswered for half the "
					 "TTL (no leader, or no server "
					 "reachable)");
			coord_job_free(w.j);
			rc = 1;
			break;
		}
		printf("job %" PRIu64 " token %" PRIu64 " ",
		       coord_job_id(w.j), coord_job_token(w.j));
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
			code = coord_job_complete(w.j, out, out_len);
			printf(code == COORD_OK ? "completed\n"
						: "complete refused\n");
		} else {
			code = coord_job_fail(w.j, to_tail, &dead);
			printf(code != COORD_OK ? "fail refused\n"
			       : dead		? "dead (exit %d)\n"
						: "failed (exit %d)\n",
			       exit_status(ws));
		}
		fflush(stdout);
		if (code != COORD_OK) {
			rc = fail(c, "job worker", code);
			break;
		}
	}
	free(out);
	coord_session_close(s);
	return rc;
}

int coordctl_job(struct coord_client *c, bool json, int argc, char **argv)
{
	if (argc < 1)
		die_usage(JOB_USAGE);
	if (strcmp(argv[0], "enqueue") == 0)
		return job_enqueue(c, json, argc - 1, argv + 1);
	if (strcmp(argv[0], "claim") == 0)
		return job_claim(c, json, argc - 1, argv + 1);
	if (strcmp(argv[0], "complete") == 0)
		return job_done_cmd(c, json, true, argc - 1, argv + 1);
	if (strcmp(argv[0], "fail") == 0)
		return job_done_cmd(c, json, false, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return job_list(c, json, argc - 1, argv + 1);
	if (strcmp(argv[0], "inspect") == 0)
		return job_inspect(c, json, argc - 1, argv + 1);
	if (strcmp(argv[0], "worker") == 0)
		return job_worker(c, argc - 1, argv + 1);
	die_usage(JOB_USAGE);
}
