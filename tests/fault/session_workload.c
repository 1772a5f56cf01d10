/*
 * tests/fault/session_workload.c: the session workload of the fault
 * suite (docs/fault-testing.md). Client processes open sessions, keep
 * them alive and hold locks with them; an observer watches the servers
 * end them. check_session.py judges the history against the session
 * promises of docs/locks-and-fencing.md.
 *
 *   session_workload ENDPOINTS OUT [--clients N] [--locks N]
 *                    [--duration-ms N] [--timeout-ms N] [--ttl-ms N]
 *                    [--pause-pct N] [--seed N] [--expiry-slack-ms N]
 *
 * The observer (process 0) watches the prefix "sk/" and records each
 * DELETE of a key "sk/<session id>" when it arrives: the servers ended
 * that session (expired, revoked or closed) before that moment.
 *
 * A client (libcoord's synchronous API, so its keepalives go out only
 * while it is inside a call): open a session (TTL --ttl-ms) if it has
 * none and put "sk/<id>" attached to it (coord_put_lease); acquire one of
 * --locks locks "sl<k>" (wait, at most --timeout-ms); hold it 0.2-0.6 s,
 * running the client's loop in steps of 50 ms and sampling the session
 * after each: its state (coord_session_state()) and its deadline by this
 * process's clock (coord_session_deadline_ms()); with probability
 * --pause-pct sleep 1.5 TTL instead (no keepalives: the servers expire
 * the session, and the lock goes to the next waiter); release. A client
 * whose session is LOST closes it and continues as a new process number.
 *
 * History: one JSON object a line, {"us": CLOCK_MONOTONIC microseconds,
 * "p": process, "f": ..., "session"} with
 *   "t": "invoke" | "ok" | "fail" | "info" for "open", "acquire" (with
 *        "lock" and "token"), "release" and "close";
 *   "f": "state": "state" ("alive" | "jeopardy" | "lost") and "deadline"
 *        (us); its "us" is taken before the state is read;
 *   "f": "ended" (the observer, p 0): the DELETE of the session's key;
 *   "f": "pause": the client stops its keepalives (its sleep begins).
 * With --expiry-slack-ms N (run.sh churn: 2 election timeouts), a line
 * {"f": "config", "expiry_slack_ms": N, "observed_until": the observer's
 * last moment}: the checker then also demands that a paused client's
 * session is seen ended within N ms of its deadline and that no session
 * of a client that never paused is ended unasked.
 * Lines are written by each process into OUT.N, then concatenated.
 *
 * Exit: 0 when the history was written, 1 when the workload could not
 * run (no cluster, no watch).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcoord/coord.h"
#include "tests/fault/wl_util.h"

#define CLIENTS_MAX 32
#define KEY_PREFIX "sk/"
#define STEP_MS 50
#define OBSERVE_AFTER_MS 2000

static const char *endpoints;
static unsigned timeout_ms = 5000;
static unsigned duration_ms = 10000;
static unsigned ttl_ms = 2000;
static unsigned pause_pct = 10;
static unsigned n_clients = 6;
static unsigned n_locks = 2;
static unsigned seed = 1;
static unsigned expiry_slack_ms;
static uint64_t rng = 1;
static uint64_t end_us;
static FILE *out;

static const char *error_type(coord_err_t code)
{
	switch (code) {
	case COORD_ENOLEADER:
	case COORD_EUNAVAILABLE:
	case COORD_ENOTHOLDER:
	case COORD_ESESSION_EXPIRED:
		return "fail";
	default:
		return "info";
	}
}

static void rec(uint64_t p, const char *t, const char *f, uint64_t session,
		unsigned lock, uint64_t token, coord_err_t code)
{
	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"t\":\"%s\","
		"\"f\":\"%s\",\"session\":%" PRIu64 ",\"lock\":%u,"
		"\"token\":%" PRIu64 ",\"code\":\"%s\"}\n", wl_now_us(), p, t,
		f, session, lock, token, coord_error_name(code));
	fflush(out);
}

/* Samples s: the time first, then what the library says. */
static enum coord_session_state sample(uint64_t p, struct coord_session *s)
{
	static const char *const names[] = { "alive", "jeopardy", "lost" };
	uint64_t us = wl_now_us();
	enum coord_session_state st = coord_session_state(s);

	fprintf(out, "{\"us\":%" PRIu64 ",\"p\":%" PRIu64 ",\"f\":\"state\","
		"\"session\":%" PRIu64 ",\"state\":\"%s\",\"deadline\":%"
		PRIu64 "}\n", us, p, coord_session_id(s), names[st],
		coord_session_deadline_ms(s) * 1000u);
	fflush(out);
	return st;
}

static struct coord_client *client(const char *name)
{
	return wl_client(endpoints, timeout_ms, name);
}

static void observe_cb(void *arg, coord_err_t code,
		       const struct coord_event *ev, size_t n)
{
	uint64_t *last_rev = arg;

	if (code != COORD_OK) {
		fprintf(stderr, "session_workload: the watch ended: %s\n",
			coord_strerror(code));
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		char key[64];
		size_t len = ev[i].kv.key_len < sizeof(key) - 1
				     ? ev[i].kv.key_len : sizeof(key) - 1;

		*last_rev = ev[i].kv.mod_revision;
		if (ev[i].type != COORD_EVENT_DELETE)
			continue;
		memcpy(key, ev[i].kv.key, len);
		key[len] = '\0';
		fprintf(out, "{\"us\":%" PRIu64 ",\"p\":0,\"f\":\"ended\","
			"\"session\":%s,\"rev\":%" PRIu64 "}\n", wl_now_us(),
			key + strlen(KEY_PREFIX), ev[i].kv.mod_revision);
	}
	fflush(out);
}

/* Watches sk/ until OBSERVE_AFTER_MS after the clients stop. A session
 * that ended before the watch was anchored is merely not observed. */
static void observer(void)
{
	struct coord_client *c = client("session-observer");
	struct coord_watch *w = NULL;
	uint64_t last_rev = 0;
	coord_err_t rc;

	rc = coord_watch_create(c, KEY_PREFIX, strlen(KEY_PREFIX),
				COORD_PREFIX, 0, false, observe_cb, &last_rev,
				&w);
	if (rc != COORD_OK) {
		fprintf(stderr, "session_workload: watch: %s\n",
			coord_strerror(rc));
		exit(1);
	}
	while (wl_now_us() < end_us + OBSERVE_AFTER_MS * 1000u)
		coord_client_run(c, 100);
	coord_watch_cancel(c, w);
	coord_client_free(c);
}

/* Opens a session for p and puts its key; NULL on failure. */
static struct coord_session *open_session(struct coord_client *c,
					  uint64_t p)
{
	struct coord_session *s = NULL;
	char key[64];
	coord_err_t rc;

	rec(p, "invoke", "open", 0, 0, 0, COORD_OK);
	rc = coord_session_open(c, ttl_ms, &s);
	if (rc != COORD_OK) {
		rec(p, error_type(rc), "open", 0, 0, 0, rc);
		return NULL;
	}
	rec(p, "ok", "open", coord_session_id(s), 0, 0, COORD_OK);
	sample(p, s);
	snprintf(key, sizeof(key), KEY_PREFIX "%" PRIu64, coord_session_id(s));
	coord_put_lease(c, key, strlen(key), "k", 1, coord_session_id(s),
			NULL);
	return s;
}

static void close_session(struct coord_session *s, uint64_t p)
{
	uint64_t id = coord_session_id(s);
	coord_err_t rc;

	rec(p, "invoke", "close", id, 0, 0, COORD_OK);
	rc = coord_session_close(s);
	rec(p, rc == COORD_OK ? "ok" : "info", "close", id, 0, 0, rc);
}

static void worker(unsigned slot)
{
	struct coord_lock_opts lo = { .wait = true, .timeout_ms = timeout_ms };
	struct coord_client *c = client("session-client");
	struct coord_session *s = NULL;
	uint64_t p = slot;

	rng = seed + slot * 7919u;
	while (wl_now_us() < end_us) {
		struct coord_lock *l = NULL;
		unsigned k = (unsigned)(wl_rnd(&rng) % n_locks);
		char name[16];
		uint64_t id, token;
		coord_err_t rc;

		if (s == NULL && (s = open_session(c, p)) == NULL) {
			wl_sleep_ms(100);
			continue;
		}
		id = coord_session_id(s);
		snprintf(name, sizeof(name), "sl%u", k);
		rec(p, "invoke", "acquire", id, k, 0, COORD_OK);
		rc = coord_lock_acquire(s, name, strlen(name), &lo, &l);
		if (rc == COORD_OK) {
			token = coord_lock_token(l);
			rec(p, "ok", "acquire", id, k, token, COORD_OK);
			if (wl_rnd(&rng) % 100 < pause_pct) {
				rec(p, "invoke", "pause", id, k, token,
				    COORD_OK);
				wl_sleep_ms(ttl_ms * 3 / 2);
			} else {
				unsigned steps = 4 + (unsigned)(wl_rnd(&rng) % 9);

				for (unsigned i = 0; i < steps; i++) {
					coord_client_run(c, STEP_MS);
					if (sample(p, s) == COORD_SESSION_LOST)
						break;
				}
			}
			sample(p, s);
			rec(p, "invoke", "release", id, k, token, COORD_OK);
			rc = coord_lock_release(l);
			rec(p, rc == COORD_OK ? "ok" : error_type(rc),
			    "release", id, k, token, rc);
		} else {
			rec(p, error_type(rc), "acquire", id, k, 0, rc);
		}
		if (sample(p, s) == COORD_SESSION_LOST) {
			close_session(s, p);
			s = NULL;
			p += n_clients + 1;    /* a new process from here on */
		}
	}
	if (s != NULL)
		close_session(s, p);
	coord_client_free(c);
}

static void client_main(unsigned i)
{
	if (i == 0)
		observer();
	else
		worker(i);
}

static void usage(void)
{
	fprintf(stderr, "usage: session_workload ENDPOINTS OUT [--clients N] "
		"[--locks N] [--duration-ms N] [--timeout-ms N] [--ttl-ms N] "
		"[--pause-pct N] [--seed N] [--expiry-slack-ms N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct wl_opt opts[] = {
		{ "--clients", &n_clients, 1, CLIENTS_MAX },
		{ "--locks", &n_locks, 1, 64 },
		{ "--duration-ms", &duration_ms, 1, 3600000 },
		{ "--timeout-ms", &timeout_ms, 100, 600000 },
		{ "--ttl-ms", &ttl_ms, 100, 600000 },
		{ "--pause-pct", &pause_pct, 0, 100 },
		{ "--seed", &seed, 1, 4000000000u },
		{ "--expiry-slack-ms", &expiry_slack_ms, 0, 600000 },
	};
	int rc;

	if (argc < 3)
		usage();
	endpoints = argv[1];
	wl_parse_opts(argv[0], argc, argv, 3, opts,
		      sizeof(opts) / sizeof(opts[0]), usage);
	end_us = wl_now_us() + (uint64_t)duration_ms * 1000u;
	rc = wl_run_clients(n_clients + 1, argv[2], &out, client_main);
	if (expiry_slack_ms == 0)
		return rc;
	out = fopen(argv[2], "a");
	if (out == NULL) {
		perror(argv[2]);
		return 1;
	}
	fprintf(out, "{\"us\":0,\"p\":0,\"f\":\"config\",\"expiry_slack_ms\":"
		"%u,\"observed_until\":%" PRIu64 "}\n", expiry_slack_ms,
		end_us + OBSERVE_AFTER_MS * 1000u);
	return fclose(out) != 0 || rc != 0;
}
