/*
 * tests/unit/test_libcoord.c: libcoord's sessions and locks.
 *
 * Suite liveness: the session clock rules of libcoord/liveness.h with an
 * injected clock (jeopardy at ttl/2 and lost at ttl after the send time
 * of the latest acknowledged keepalive; never later than a server that
 * counts from when it applied the keepalive).
 *
 * Suite session_lock: the library against tests/cluster/fake_coordd (a
 * stand-in server, started per test on a port of its own): acquire, try,
 * the wait for a grant, the timeout's cancel, fenced writes through a
 * handle refused locally once the lock is known lost (by the clock, by
 * PUSH_SESSION_LOST, by a release), and a session that survives a broken
 * connection (re-attached).
 */
#include <check.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libcoord/coord.h"
#include "libcoord/liveness.h"
#include "proto/exit.h"
#include "proto/limits.h"
#include "tests/unit/check_util.h"

/* ---------------------------------------------------------------------- */
/* liveness */

START_TEST(alive_until_half_ttl_then_jeopardy_then_lost)
{
	struct lc_liveness l;

	lc_liveness_init(&l, 1000, 5000);
	ck_assert_int_eq(lc_liveness_state(&l, 5000), COORD_SESSION_ALIVE);
	ck_assert_int_eq(lc_liveness_state(&l, 5499), COORD_SESSION_ALIVE);
	ck_assert_int_eq(lc_liveness_state(&l, 5500), COORD_SESSION_JEOPARDY);
	ck_assert_int_eq(lc_liveness_state(&l, 5999), COORD_SESSION_JEOPARDY);
	ck_assert_int_eq(lc_liveness_state(&l, 6000), COORD_SESSION_LOST);
	ck_assert_uint_eq(lc_liveness_next_change_ms(&l, 5100), 5500);
	ck_assert_uint_eq(lc_liveness_next_change_ms(&l, 5600), 6000);
	ck_assert_uint_eq(lc_liveness_next_change_ms(&l, 6000), UINT64_MAX);
}
END_TEST

START_TEST(ack_counts_from_the_send_time_and_never_moves_back)
{
	struct lc_liveness l;

	lc_liveness_init(&l, 1000, 0);
	/* Sent at 300, answered at 900: alive until 300 + 500. */
	lc_liveness_ack(&l, 300, 1000);
	ck_assert_int_eq(lc_liveness_state(&l, 799), COORD_SESSION_ALIVE);
	ck_assert_int_eq(lc_liveness_state(&l, 800), COORD_SESSION_JEOPARDY);
	ck_assert_int_eq(lc_liveness_state(&l, 1299), COORD_SESSION_JEOPARDY);
	ck_assert_int_eq(lc_liveness_state(&l, 1300), COORD_SESSION_LOST);
	/* An older keepalive answered late proves less: T stays 300. */
	lc_liveness_ack(&l, 100, 1000);
	ck_assert_uint_eq(l.acked_send_ms, 300);
	/* Jeopardy ends with a newer ack. */
	lc_liveness_ack(&l, 1000, 1000);
	ck_assert_int_eq(lc_liveness_state(&l, 1200), COORD_SESSION_ALIVE);
}
END_TEST

START_TEST(lost_is_final)
{
	struct lc_liveness l;

	lc_liveness_init(&l, 1000, 0);
	/* An ack sent after the clock said lost revives nothing. */
	lc_liveness_ack(&l, 1000, 1000);
	ck_assert_int_eq(lc_liveness_state(&l, 1100), COORD_SESSION_LOST);
	lc_liveness_init(&l, 1000, 0);
	lc_liveness_ack(&l, 100, 0);       /* the server: gone */
	ck_assert_int_eq(lc_liveness_state(&l, 100), COORD_SESSION_LOST);
	lc_liveness_ack(&l, 200, 1000);
	ck_assert_int_eq(lc_liveness_state(&l, 200), COORD_SESSION_LOST);
	lc_liveness_init(&l, 1000, 0);
	lc_liveness_end(&l);
	ck_assert_int_eq(lc_liveness_state(&l, 0), COORD_SESSION_LOST);
}
END_TEST

/* Random sends, delays to the leader's apply and back, lost replies: the
 * client never says ALIVE or JEOPARDY at a time the server may already
 * have expired the session (the server's deadline: apply + ttl of the
 * latest applied keepalive). */
START_TEST(never_more_optimistic_than_the_server)
{
	unsigned seed = 12345 + (unsigned)_i;
	struct lc_liveness l;
	uint64_t ttl = 100 + rand_r(&seed) % 900, t = 0;
	uint64_t server_deadline = ttl;

	lc_liveness_init(&l, ttl, 0);
	for (int k = 0; k < 200; k++) {
		uint64_t send = t, apply = send + rand_r(&seed) % (ttl / 2 + 1);
		uint64_t answer = apply + rand_r(&seed) % (ttl / 2 + 1);

		/* The leader applies it only while the session lives. */
		if (apply < server_deadline)
			server_deadline = apply + ttl;
		if (apply < server_deadline && rand_r(&seed) % 4 != 0) {
			for (uint64_t now = t; now < answer; now++)
				cu_require(lc_liveness_state(&l, now) ==
						   COORD_SESSION_LOST ||
					   now < server_deadline,
					   "alive at %" PRIu64 ", server "
					   "deadline %" PRIu64, now,
					   server_deadline);
			lc_liveness_ack(&l, send, ttl);
		}
		t = answer;
		cu_require(lc_liveness_state(&l, t) == COORD_SESSION_LOST ||
			   t < server_deadline, "alive past the server");
	}
}
END_TEST

START_TEST(keepalives_every_third_of_the_ttl_with_jitter)
{
	for (uint32_t r = 0; r < 5000; r += 7) {
		uint64_t v = lc_keepalive_interval_ms(3000, r * 2654435761u);

		cu_require(v <= 1000 && v >= 750, "interval %" PRIu64, v);
	}
	ck_assert_uint_eq(lc_keepalive_interval_ms(1, 5), 1);
	ck_assert_uint_eq(lc_keepalive_interval_ms(3, 0), 1);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* session_lock, against fake_coordd */

static pid_t fake_pid;
static char fake_ep[64];
static char fake_log[256];

/* The first line of the fake's log that starts with WHAT (in LINE), or
 * false. */
static bool log_line(const char *what, char *line, size_t size)
{
	bool found = false;
	FILE *f = fopen(fake_log, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, (int)size, f) != NULL)
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

static bool log_has(const char *what)
{
	char line[256];

	return log_line(what, line, sizeof(line));
}

/* Lines of the fake's log starting with prefix; *sum: the sum of the
 * numbers after "n=" on them. */
static int log_count(const char *prefix, uint64_t *sum)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(fake_log, "r");

	*sum = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p;

		if (strncmp(line, prefix, strlen(prefix)) != 0)
			continue;
		n++;
		if ((p = strstr(line, "n=")) != NULL)
			*sum += strtoull(p + 2, NULL, 10);
	}
	fclose(f);
	return n;
}

/* The fake listens on a port the kernel picks (port 0) and says which in
 * its "ready PORT" line: no range shared with the cluster tests' ports. */
static void fake_start(void)
{
	const char *dir = getenv("top_builddir");
	char prog[512], line[256];
	int port = 0;

	snprintf(prog, sizeof(prog), "%s/tests/cluster/fake_coordd",
		 dir != NULL ? dir : ".");
	snprintf(fake_log, sizeof(fake_log), "/tmp/fake_coordd.%d.log",
		 (int)getpid());
	unlink(fake_log);
	fake_pid = fork();
	ck_assert_int_ge(fake_pid, 0);
	if (fake_pid == 0) {
		if (freopen(fake_log, "w", stdout) == NULL)
			_exit(126);
		execl(prog, prog, "0", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 2000 && !log_line("ready ", line, sizeof(line)); i++)
		usleep(10000);
	ck_assert_msg(log_line("ready ", line, sizeof(line)) &&
			      sscanf(line, "ready %d", &port) == 1 && port > 0,
		      "fake_coordd (%s) did not start", prog);
	snprintf(fake_ep, sizeof(fake_ep), "127.0.0.1:%d", port);
}

static void fake_stop(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGKILL);
		waitpid(fake_pid, NULL, 0);
		fake_pid = 0;
	}
	unlink(fake_log);
}

static struct coord_client *client(void)
{
	struct coord_client *c;

	ck_assert_int_eq(coord_client_new(fake_ep, NULL, &c), COORD_OK);
	return c;
}

static struct coord_session *session(struct coord_client *c, uint64_t ttl)
{
	struct coord_session *s;

	cu_code_eq(coord_session_open(c, ttl, &s), COORD_OK);
	return s;
}

START_TEST(acquire_try_and_fenced_writes_through_the_handle)
{
	struct coord_client *a = client(), *b = client();
	struct coord_session *sa = session(a, 20000), *sb = session(b, 20000);
	struct coord_lock_opts try_ = { .wait = false };
	struct coord_lock *la, *lb;
	uint64_t tok, rev;
	bool current;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	tok = coord_lock_token(la);
	ck_assert_uint_gt(tok, 0);
	ck_assert_int_eq(coord_lock_state(la), COORD_LOCK_HELD);
	ck_assert_ptr_eq(coord_lock_session(la), sa);
	cu_code_eq(coord_lock_acquire(sb, "L", 1, &try_, &lb), COORD_EBUSY);
	ck_assert_ptr_null(lb);
	cu_code_eq(coord_lock_put(la, "k", 1, "v", 1, &rev), COORD_OK);
	cu_code_eq(coord_lock_check(b, "L", 1, tok, &current, NULL), COORD_OK);
	ck_assert(current);
	cu_code_eq(coord_lock_release(la), COORD_OK);
	cu_code_eq(coord_lock_check(b, "L", 1, tok, &current, NULL), COORD_OK);
	ck_assert(!current);
	/* The stale token from elsewhere: refused by the server. */
	cu_code_eq(coord_put_fenced(b, &(struct coord_fence){ "L", 1, tok, COORD_FENCE_LOCK }, 1,
				    "k", 1, "v", 1, NULL), COORD_EFENCED);
	cu_code_eq(coord_lock_acquire(sb, "L", 1, &try_, &lb), COORD_OK);
	ck_assert_uint_gt(coord_lock_token(lb), tok);
	cu_code_eq(coord_lock_delete(lb, "k", 1, 0, NULL, NULL), COORD_OK);
	cu_code_eq(coord_session_close(sb), COORD_OK);
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
	coord_client_free(b);
}
END_TEST

/* A lock of a session whose keepalives went unanswered for its TTL (this
 * process did not run the loop: a pause) is lost by the library's own
 * clock; a write through it is refused without being sent. */
START_TEST(lock_lost_by_the_clock_refuses_writes_locally)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 300);
	struct coord_txn_result *tr;
	struct coord_lock *la;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	usleep(350 * 1000);
	ck_assert_int_eq(coord_session_state(sa), COORD_SESSION_LOST);
	ck_assert_int_eq(coord_lock_state(la), COORD_LOCK_LOST);
	cu_code_eq(coord_lock_put(la, "k", 1, "v", 1, NULL), COORD_ELOCK_LOST);
	cu_code_eq(coord_lock_delete(la, "k", 1, 0, NULL, NULL),
		   COORD_ELOCK_LOST);
	cu_code_eq(coord_lock_txn(la, NULL, 0, NULL, 0, NULL, 0, &tr),
		   COORD_ELOCK_LOST);
	ck_assert(!log_has("fenced"));
	ck_assert(!log_has("write"));
	cu_code_eq(coord_lock_release(la), COORD_OK);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

struct states {
	enum coord_session_state last;
	int why;
	int calls;
};

static void state_cb(void *arg, struct coord_session *s,
		     enum coord_session_state st, coord_err_t why)
{
	struct states *x = arg;

	(void)s;
	x->last = st;
	x->why = why;
	x->calls++;
}

/* The servers say the session ended (closed from another connection):
 * PUSH_SESSION_LOST makes every lock of it lost, and the callback says
 * so. */
START_TEST(session_lost_push_loses_every_lock)
{
	struct coord_client *a = client(), *b = client();
	struct coord_session *sa = session(a, 20000), *sb, *again;
	struct coord_lock *l1, *l2;
	struct states st = { COORD_SESSION_ALIVE, 0, 0 };
	const uint8_t *secret;
	size_t n;

	coord_session_set_callback(sa, state_cb, &st);
	cu_code_eq(coord_lock_acquire(sa, "L1", 2, NULL, &l1), COORD_OK);
	cu_code_eq(coord_lock_acquire(sa, "L2", 2, NULL, &l2), COORD_OK);
	secret = coord_session_secret(sa, &n);
	cu_code_eq(coord_session_attach(b, coord_session_id(sa), secret, n,
					&sb), COORD_OK);
	cu_code_eq(coord_session_attach(b, coord_session_id(sa), secret, n,
					&again), COORD_EEXISTS);
	ck_assert_ptr_null(again);
	cu_code_eq(coord_session_close(sb), COORD_OK);
	for (int i = 0; i < 500 && st.calls == 0; i++)
		coord_client_run(a, 10);
	ck_assert_int_eq(st.last, COORD_SESSION_LOST);
	ck_assert_int_ne(st.why, COORD_OK);
	ck_assert_int_eq(coord_lock_state(l1), COORD_LOCK_LOST);
	ck_assert_int_eq(coord_lock_state(l2), COORD_LOCK_LOST);
	cu_code_eq(coord_lock_put(l2, "k", 1, "v", 1, NULL), COORD_ELOCK_LOST);
	/* A lost session acquires nothing. */
	cu_code_eq(coord_lock_acquire(sa, "L3", 2, NULL, &l1), COORD_ESESSION);
	coord_session_close(sa);
	coord_client_free(a);
	coord_client_free(b);
}
END_TEST

/* The calling thread's voluntary context switches so far (each sleep of
 * the loop in epoll_wait that something then ended). */
static long thread_sleeps(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	return ru.ru_nvcsw;
}

/* A call whose request is on the wire wakes its thread at its deadline,
 * not every TICK_MS (20 ms): a waiter blocked for 1 s sleeps a few
 * times, not 50 (libcoord/client.c tick_next_ms()). The timeout still
 * ends the wait on time. */
START_TEST(blocked_call_is_not_woken_every_tick)
{
	struct coord_client *a = client(), *b = client();
	struct coord_session *sa = session(a, 60000), *sb = session(b, 60000);
	struct coord_lock_opts o = { .wait = true, .timeout_ms = 1000 };
	struct coord_lock *la, *lb;
	struct timespec t0, t1;
	long sleeps;
	double ms;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sleeps = thread_sleeps();
	cu_code_eq(coord_lock_acquire(sb, "L", 1, &o, &lb), COORD_ETIMEDOUT);
	sleeps = thread_sleeps() - sleeps;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms >= 990, "timed out after %.0f ms, before 1000", ms);
	ck_assert_msg(sleeps <= 25, "%ld wakeups in a %.0f ms wait", sleeps,
		      ms);
	coord_session_close(sa);
	coord_session_close(sb);
	coord_client_free(a);
	coord_client_free(b);
}
END_TEST

/* A client with nothing to do is not woken every TICK_MS either when it
 * has no connection: here its only endpoint refuses, and for 1 s it
 * only redials, with backoff (tick_next_ms()). */
START_TEST(idle_client_without_a_connection_sleeps)
{
	struct coord_client *a;
	long sleeps;

	cu_code_eq(coord_client_new("127.0.0.1:1", NULL, &a), COORD_OK);
	cu_code_eq(coord_client_run(a, 100), COORD_OK);
	sleeps = thread_sleeps();
	cu_code_eq(coord_client_run(a, 1000), COORD_OK);
	sleeps = thread_sleeps() - sleeps;
	ck_assert_msg(sleeps <= 25, "%ld wakeups in 1 s with nothing to do",
		      sleeps);
	coord_client_free(a);
}
END_TEST

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* coord_client_run(c, ms) returns after about ms even when the tick is
 * quiet (every request answered: it runs only every 250 ms then). */
START_TEST(client_run_returns_on_time)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 60000);
	struct timespec t0;
	double ms;

	cu_code_eq(coord_client_run(a, 300), COORD_OK);   /* the tick is quiet */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10; i++)
		cu_code_eq(coord_client_run(a, 10), COORD_OK);
	ms = ms_since(&t0);
	ck_assert_msg(ms >= 100 && ms < 1000, "10 runs of 10 ms took %.0f ms",
		      ms);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

/* A request sent while the tick is quiet times out at its own deadline,
 * not at the tick set before it (the server is stopped: no answer). */
START_TEST(short_timeout_kept_while_the_tick_is_quiet)
{
	struct coord_options o = { .request_timeout_ms = 40 };
	struct coord_client *a;
	struct timespec t0;
	double ms;

	cu_code_eq(coord_client_new(fake_ep, &o, &a), COORD_OK);
	cu_code_eq(coord_put(a, "k", 1, "v", 1, NULL), COORD_OK);
	cu_code_eq(coord_client_run(a, 60), COORD_OK);    /* the tick is quiet */
	ck_assert_int_eq(kill(fake_pid, SIGSTOP), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cu_code_eq(coord_put(a, "k", 1, "w", 1, NULL), COORD_ETIMEDOUT);
	ms = ms_since(&t0);
	ck_assert_int_eq(kill(fake_pid, SIGCONT), 0);
	ck_assert_msg(ms >= 39 && ms < 160, "timed out after %.0f ms, not 40",
		      ms);
	coord_client_free(a);
}
END_TEST

/* A waiter's timeout cancels its place in the queue (LOCK_RELEASE token
 * 0) while its session lives on. */
START_TEST(timed_out_acquire_leaves_the_queue)
{
	struct coord_client *a = client(), *b = client();
	struct coord_session *sa = session(a, 20000), *sb = session(b, 20000);
	struct coord_lock_opts o = { .wait = true, .timeout_ms = 200 };
	struct coord_lock_status *st;
	struct coord_lock *la, *lb;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	cu_code_eq(coord_lock_acquire(sb, "L", 1, &o, &lb), COORD_ETIMEDOUT);
	ck_assert(log_has("cancel L"));
	cu_code_eq(coord_lock_status(b, "L", 1, &st), COORD_OK);
	ck_assert_uint_eq(st->n_holders, 1);
	ck_assert_uint_eq(st->holders[0].token, coord_lock_token(la));
	ck_assert_uint_eq(st->n_waiters, 0);
	coord_lock_status_free(st);
	ck_assert_int_eq(coord_session_state(sb), COORD_SESSION_ALIVE);
	coord_session_close(sa);
	coord_session_close(sb);
	coord_client_free(a);
	coord_client_free(b);
}
END_TEST

/* The grant races the timeout's cancel (fake_coordd's race* locks grant
 * the waiter just before its cancel arrives, and answer it
 * COORD_ENOTFOUND): the library learns of the grant (by the push, or by
 * asking again) and releases it, so that nothing is held that the caller
 * does not know of. */
static void cancel_race(const char *name, bool election)
{
	struct coord_client *a = client(), *b = client();
	struct coord_session *sa = session(a, 20000), *sb = session(b, 20000);
	struct coord_lock_opts o = { .wait = true, .timeout_ms = 200 };
	struct coord_lock_status *st;
	struct coord_lock *la, *lb;
	struct coord_election *ea, *eb = (struct coord_election *)&eb;
	char released[64];

	if (election) {
		cu_code_eq(coord_election_campaign(sa, name, strlen(name), "a",
						   1, 0, &ea), COORD_OK);
		cu_code_eq(coord_election_campaign(sb, name, strlen(name), "b",
						   1, 200, &eb),
			   COORD_ETIMEDOUT);
		ck_assert_ptr_null(eb);
	} else {
		cu_code_eq(coord_lock_acquire(sa, name, strlen(name), NULL,
					      &la), COORD_OK);
		cu_code_eq(coord_lock_acquire(sb, name, strlen(name), &o, &lb),
			   COORD_ETIMEDOUT);
	}
	snprintf(released, sizeof(released), "release %s session=%" PRIu64,
		 name, coord_session_id(sb));
	ck_assert_msg(log_has(released), "no \"%s\"", released);
	cu_code_eq(coord_lock_status(a, name, strlen(name), &st), COORD_OK);
	ck_assert_uint_eq(st->n_holders, 0);
	ck_assert_uint_eq(st->n_waiters, 0);
	coord_lock_status_free(st);
	coord_session_close(sa);
	coord_session_close(sb);
	coord_client_free(a);
	coord_client_free(b);
}

START_TEST(grant_pushed_before_the_cancel_is_released)
{
	cancel_race("race-push", false);
}
END_TEST

START_TEST(grant_learned_after_the_cancel_is_released)
{
	cancel_race("race-silent", false);
}
END_TEST

/* The same race for a campaign, whose cancel is a resign with token 0:
 * when it finds no candidacy, the library reads the election's leader
 * (the elected session raced the cancel), and resigns what it learns it
 * won, before the caller hears COORD_ETIMEDOUT. */
START_TEST(election_pushed_before_the_cancel_is_resigned)
{
	cancel_race("race-push", true);
}
END_TEST

START_TEST(election_learned_by_the_leader_read_is_resigned)
{
	cancel_race("race-silent", true);
}
END_TEST

/* Synchronous calls from inside a libcoord callback (the loop is
 * running; nothing can be waited for there) are COORD_EINVAL with a
 * message, and send nothing; the asynchronous ones work there, and a
 * release or a session close is sent without waiting. */
struct in_cb {
	struct coord_client *c;
	struct coord_session *s;
	int codes[9];
	char msg[256];
	bool done;
};

static void in_cb_lock(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct in_cb *x = arg;

	x->codes[4] = code;
	if (code == COORD_OK) {
		x->codes[5] = coord_lock_put_release(l, "k", 1, "v", 1, NULL);
		snprintf(x->msg, sizeof(x->msg), "%s", coord_errmsg(x->c));
		/* From a callback: sent, not waited for. */
		x->codes[7] = coord_lock_session(l) == x->s ? COORD_OK
							    : COORD_EINVAL;
		x->codes[6] = coord_lock_release(l);
		x->codes[8] = coord_session_close(x->s);
	}
	x->done = true;
}

static void in_cb_open(void *arg, coord_err_t code, struct coord_session *s)
{
	struct in_cb *x = arg;
	struct coord_lock *l = (struct coord_lock *)x;
	struct coord_election *e = (struct coord_election *)x;
	struct coord_job *j = (struct coord_job *)x;
	struct coord_session *s2 = (struct coord_session *)x;

	if (code != COORD_OK) {
		x->codes[0] = code;
		x->done = true;
		return;
	}
	x->s = s;
	x->codes[0] = coord_lock_acquire(s, "L", 1, NULL, &l);
	x->codes[1] = coord_election_campaign(s, "E", 1, "v", 1, 0, &e);
	x->codes[2] = coord_job_claim(s, "q", 1, NULL, &j);
	x->codes[3] = coord_session_open(x->c, 20000, &s2);
	if (l != NULL || e != NULL || j != NULL ||
	    coord_lock_acquire_async(s, "L", 1, NULL, in_cb_lock, x) !=
		    COORD_OK)
		x->done = true;
}

START_TEST(sync_calls_from_a_callback_are_refused)
{
	struct in_cb x = { .c = client(), .codes = { -1, -1, -1, -1, -1, -1,
						     -1, -1, -1 } };
	struct coord_lock_status *st;
	uint64_t sum;

	cu_code_eq(coord_session_open_async(x.c, 20000, in_cb_open, &x),
		   COORD_OK);
	for (int i = 0; i < 2000 && !x.done; i++)
		coord_client_run(x.c, 10);
	ck_assert(x.done);
	for (int i = 0; i < 4; i++)
		cu_code_eq(x.codes[i], COORD_EINVAL);
	cu_code_eq(x.codes[4], COORD_OK);       /* the async acquire */
	cu_code_eq(x.codes[5], COORD_EINVAL);   /* put_release, sync */
	cu_code_eq(x.codes[6], COORD_OK);       /* release, async */
	cu_code_eq(x.codes[7], COORD_OK);       /* the lock's session */
	cu_code_eq(x.codes[8], COORD_OK);       /* session close, async */
	ck_assert_msg(strstr(x.msg, "from inside a libcoord callback") != NULL,
		      "%s", x.msg);
	/* Nothing of the refused calls reached the server: one session,
	 * no campaign, no write; the async release went out. */
	ck_assert(!log_has("write PUT"));
	cu_code_eq(coord_lock_status(x.c, "E", 1, &st), COORD_OK);
	ck_assert_uint_eq(st->n_holders + st->n_waiters, 0);
	coord_lock_status_free(st);
	for (int i = 0; i < 1000 && !log_has("release L "); i++)
		coord_client_run(x.c, 10);
	ck_assert(log_has("release L "));
	for (int i = 0; i < 1000 && !log_has("close session="); i++)
		coord_client_run(x.c, 10);
	ck_assert(log_has("close session="));
	cu_code_eq(coord_lock_status(x.c, "L", 1, &st), COORD_OK);
	ck_assert_uint_eq(st->n_holders + st->n_waiters, 0);
	coord_lock_status_free(st);
	coord_client_free(x.c);
	ck_assert_int_eq(log_count("open session=", &sum), 1);
}
END_TEST

/* A queued acquire is granted by PUSH_GRANT when the holder releases
 * (the waiter in a child process: both calls are synchronous). */
START_TEST(queued_acquire_is_granted_on_release)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);
	struct coord_lock_status *st = NULL;
	struct coord_lock *la;
	uint64_t tok_a, tok_b = 0;
	int fds[2], status;
	pid_t pid;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	tok_a = coord_lock_token(la);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct coord_client *b;
		struct coord_session *sb;
		struct coord_lock *lb;
		uint64_t t = 0;

		close(fds[0]);
		if (coord_client_new(fake_ep, NULL, &b) == COORD_OK &&
		    coord_session_open(b, 20000, &sb) == COORD_OK &&
		    coord_lock_acquire(sb, "L", 1, NULL, &lb) == COORD_OK)
			t = coord_lock_token(lb);
		if (write(fds[1], &t, sizeof(t)) != sizeof(t))
			coord_exit_now(2);
		coord_exit_now(0);
	}
	close(fds[1]);
	for (int i = 0; i < 1000; i++) {
		coord_lock_status_free(st);
		cu_code_eq(coord_lock_status(a, "L", 1, &st), COORD_OK);
		if (st->n_waiters == 1)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st->n_waiters, 1);
	coord_lock_status_free(st);
	cu_code_eq(coord_lock_release(la), COORD_OK);
	ck_assert_int_eq(read(fds[0], &tok_b, sizeof(tok_b)),
			 (ssize_t)sizeof(tok_b));
	ck_assert_uint_gt(tok_b, tok_a);
	waitpid(pid, &status, 0);
	close(fds[0]);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

/* The connection breaks: the session is attached to the next one before
 * its requests, keepalives go on, and the lock stays held. */
START_TEST(session_survives_a_broken_connection)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 1000);
	struct coord_lock *la;
	struct timespec t0, t1;

	cu_code_eq(coord_lock_acquire(sa, "L", 1, NULL, &la), COORD_OK);
	cu_code_eq(coord_put(a, "drop", 4, "x", 1, NULL), COORD_OK);
	ck_assert(log_has("drop"));
	ck_assert(log_has("attach session="));
	/* Two TTLs of keepalives on the new connection. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		coord_client_run(a, 50);
		ck_assert_int_eq(coord_session_state(sa), COORD_SESSION_ALIVE);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 2);
	ck_assert(!log_has("expire"));
	cu_code_eq(coord_lock_put(la, "k", 1, "v", 1, NULL), COORD_OK);
	cu_code_eq(coord_lock_release(la), COORD_OK);
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
}
END_TEST

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* coord_session_deadline_ms(): the OPEN's send time + TTL, then moved on
 * by each acknowledged keepalive, never past the last one's send + TTL;
 * the state follows it (tests/fault's session checker relies on it). */
START_TEST(session_deadline_is_the_last_acked_send_plus_ttl)
{
	struct coord_client *a = client();
	uint64_t before = mono_ms(), after, d0, d, now;
	struct coord_session *sa = session(a, 1200);

	after = mono_ms();
	d0 = coord_session_deadline_ms(sa);
	ck_assert_uint_ge(d0, before + 1200);
	ck_assert_uint_le(d0, after + 1200);
	/* Keepalives every ttl/3 for about one TTL move it on. */
	do {
		enum coord_session_state st;
		uint64_t later;

		coord_client_run(a, 50);
		now = mono_ms();
		d = coord_session_deadline_ms(sa);
		st = coord_session_state(sa);
		later = mono_ms();
		ck_assert_uint_le(d, now + 1200);
		if (later < d - 600)
			ck_assert_int_eq(st, COORD_SESSION_ALIVE);
		else if (now >= d - 600 && later < d)
			ck_assert_int_eq(st, COORD_SESSION_JEOPARDY);
	} while (now < after + 1200);
	ck_assert_uint_gt(d, d0 + 300);
	/* Without the loop no keepalive goes out: lost at the deadline. */
	while (mono_ms() < d)
		usleep(20000);
	ck_assert_int_eq(coord_session_state(sa), COORD_SESSION_LOST);
	ck_assert_uint_eq(coord_session_deadline_ms(sa), d);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

/* The asynchronous API on the caller's event_base: open, acquire,
 * release from the callbacks. */
struct async_run {
	struct event_base *base;
	struct coord_session *s;
	uint64_t token;
	int code;
	int steps;
};

static void async_lock_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct async_run *x = arg;

	x->steps++;
	x->code = code;
	if (code == COORD_OK) {
		x->token = coord_lock_token(l);
		/* From a callback: sent, not waited for. */
		cu_code_eq(coord_lock_release(l), COORD_OK);
	}
	event_base_loopbreak(x->base);
}

static void async_open_cb(void *arg, coord_err_t code, struct coord_session *s)
{
	struct async_run *x = arg;

	x->steps++;
	x->code = code;
	x->s = s;
	if (code != COORD_OK ||
	    coord_lock_acquire_async(s, "A", 1, NULL, async_lock_cb, x) !=
		    COORD_OK)
		event_base_loopbreak(x->base);
}

START_TEST(async_open_and_acquire_on_the_callers_loop)
{
	struct async_run x = { event_base_new(), NULL, 0, -1, 0 };
	struct coord_client *c;

	ck_assert_ptr_nonnull(x.base);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &c), COORD_OK);
	cu_code_eq(coord_session_open_async(c, 20000, async_open_cb, &x),
		   COORD_OK);
	event_base_dispatch(x.base);
	cu_code_eq(x.code, COORD_OK);
	ck_assert_int_eq(x.steps, 2);
	ck_assert_uint_gt(x.token, 0);
	/* An acquire still waiting when the client goes: COORD_ECANCELED. */
	x.steps = 0;
	cu_code_eq(coord_lock_acquire_async(x.s, "A", 1, NULL, async_lock_cb,
					    &x), COORD_OK);
	coord_client_free(c);
	ck_assert_int_eq(x.steps, 1);
	cu_code_eq(x.code, COORD_ECANCELED);
	event_base_free(x.base);
}
END_TEST

/* coord_lock_put_release_async() from a grant's callback: one at a
 * time on a handle; with COORD_OK the handle is gone, the revision is
 * the release's, and the lock is free for the next session. */
struct pr_run {
	struct event_base *base;
	uint64_t token, rev;
	int code, second, steps;
};

static void pr_done(void *arg, coord_err_t code, uint64_t revision)
{
	struct pr_run *x = arg;

	x->steps++;
	x->code = code;
	x->rev = revision;
	event_base_loopbreak(x->base);
}

static void pr_lock_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct pr_run *x = arg;

	x->steps++;
	x->code = code;
	if (code != COORD_OK) {
		event_base_loopbreak(x->base);
		return;
	}
	x->token = coord_lock_token(l);
	x->code = coord_lock_put_release_async(l, "pk", 2, "pv", 2, pr_done,
					       x);
	x->second = coord_lock_put_release_async(l, "pk", 2, "pv", 2, pr_done,
						 x);
	if (x->code != COORD_OK)
		event_base_loopbreak(x->base);
}

static void pr_open_cb(void *arg, coord_err_t code, struct coord_session *s)
{
	struct pr_run *x = arg;

	x->steps++;
	x->code = code;
	if (code != COORD_OK ||
	    coord_lock_acquire_async(s, "PR", 2, NULL, pr_lock_cb, x) !=
		    COORD_OK)
		event_base_loopbreak(x->base);
}

START_TEST(async_put_release_from_a_grants_callback)
{
	struct pr_run x = { event_base_new(), 0, 0, -1, -1, 0 };
	struct coord_lock_opts try = { .wait = false };
	struct coord_client *c, *b = client();
	struct coord_session *sb = session(b, 20000);
	struct coord_lock *lb;

	ck_assert_ptr_nonnull(x.base);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &c), COORD_OK);
	cu_code_eq(coord_session_open_async(c, 20000, pr_open_cb, &x),
		   COORD_OK);
	event_base_dispatch(x.base);
	cu_code_eq(x.code, COORD_OK);
	cu_code_eq(x.second, COORD_EINVAL);
	ck_assert_int_eq(x.steps, 3);
	ck_assert_uint_gt(x.token, 0);
	ck_assert_uint_gt(x.rev, x.token);
	/* Released: another session takes it at once. */
	cu_code_eq(coord_lock_acquire(sb, "PR", 2, &try, &lb), COORD_OK);
	cu_code_eq(coord_lock_release(lb), COORD_OK);
	cu_code_eq(coord_session_close(sb), COORD_OK);
	coord_client_free(b);
	coord_client_free(c);
	event_base_free(x.base);
}
END_TEST

static void queued_cb(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct async_run *x = arg;

	(void)l;
	x->steps++;
	x->code = code;
	/* What an application may well do when its wait fails. */
	if (code != COORD_OK)
		coord_session_close(x->s);
}

static void queued_open_cb(void *arg, coord_err_t code,
			   struct coord_session *s)
{
	struct async_run *x = arg;

	x->s = s;
	if (code == COORD_OK)
		coord_lock_acquire_async(s, "Q", 1, NULL, queued_cb, x);
}

/* A queued acquire ends with COORD_ECANCELED when the client is freed,
 * and its callback may close the session that is going. */
START_TEST(cancelled_waiter_may_close_its_session)
{
	struct async_run x = { event_base_new(), NULL, 0, -1, 0 };
	struct coord_client *a = client(), *b;
	struct coord_session *sa = session(a, 20000);
	struct coord_lock *la;

	cu_code_eq(coord_lock_acquire(sa, "Q", 1, NULL, &la), COORD_OK);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &b), COORD_OK);
	cu_code_eq(coord_session_open_async(b, 20000, queued_open_cb, &x),
		   COORD_OK);
	for (int i = 0; i < 500 && !log_has("queue Q"); i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(x.base, &tv);
		event_base_dispatch(x.base);
	}
	ck_assert(log_has("queue Q"));
	ck_assert_int_eq(x.steps, 0);
	coord_client_free(b);
	ck_assert_int_eq(x.steps, 1);
	cu_code_eq(x.code, COORD_ECANCELED);
	event_base_free(x.base);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

/* The session of a queued acquire ends (closed from elsewhere: the
 * push): the acquire fails with the servers' code, and its callback may
 * close the session meanwhile. */
START_TEST(waiter_of_a_lost_session_fails_and_may_close_it)
{
	struct async_run x = { event_base_new(), NULL, 0, -1, 0 };
	struct coord_client *a = client(), *b;
	struct coord_session *sa = session(a, 20000), *sb;
	struct coord_lock *la;
	const uint8_t *secret;
	size_t n;

	cu_code_eq(coord_lock_acquire(sa, "Q", 1, NULL, &la), COORD_OK);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &b), COORD_OK);
	cu_code_eq(coord_session_open_async(b, 20000, queued_open_cb, &x),
		   COORD_OK);
	for (int i = 0; i < 500 && !log_has("queue Q"); i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(x.base, &tv);
		event_base_dispatch(x.base);
	}
	ck_assert(log_has("queue Q"));
	secret = coord_session_secret(x.s, &n);
	cu_code_eq(coord_session_attach(a, coord_session_id(x.s), secret, n,
					&sb), COORD_OK);
	cu_code_eq(coord_session_close(sb), COORD_OK);
	for (int i = 0; i < 500 && x.steps == 0; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(x.base, &tv);
		event_base_dispatch(x.base);
	}
	ck_assert_int_eq(x.steps, 1);
	cu_code_eq(x.code, COORD_ESESSION);
	coord_client_free(b);
	event_base_free(x.base);
	coord_session_close(sa);
	coord_client_free(a);
}
END_TEST

#define MANY_SESSIONS 40

/* Runs c for ms, every session of ss staying ALIVE. */
static void run_all_alive(struct coord_client *c, struct coord_session **ss,
			  int n, long ms)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		coord_client_run(c, 20);
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(coord_session_state(ss[i]),
					 COORD_SESSION_ALIVE);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 +
			 (t1.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* Many sessions of one client: their keepalives travel together, about
 * one SESSION_KEEPALIVE_MANY per period (ttl/3) for all of them, never
 * one request per session; every session stays alive. */
START_TEST(keepalives_of_many_sessions_share_one_request)
{
	struct coord_client *a = client();
	struct coord_session *ss[MANY_SESSIONS];
	uint64_t sum, sum0;
	int n, n0;

	for (int i = 0; i < MANY_SESSIONS; i++)
		ss[i] = session(a, 1500);
	n0 = log_count("keepalive_many ", &sum0);
	/* Three TTLs: a period is 375..500 ms, a batch goes at the first
	 * due session and takes those due within ttl/6 (250 ms) along. */
	run_all_alive(a, ss, MANY_SESSIONS, 4500);
	n = log_count("keepalive_many ", &sum) - n0;
	sum -= sum0;
	/* Every session was kept alive at least every ttl/3... */
	ck_assert_uint_ge(sum, (uint64_t)MANY_SESSIONS * 4500 / 500);
	/* ...by at most a request per 125 ms, not one per session (which
	 * would be 40 times as many), and none of them single. */
	ck_assert_int_ge(n, 4500 / 500);
	ck_assert_int_le(n, 4500 / 125 + 2);
	ck_assert_int_eq(log_count("keepalive session=", &sum), 0);
	for (int i = 0; i < MANY_SESSIONS; i++)
		cu_code_eq(coord_session_close(ss[i]), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* A server of before SESSION_KEEPALIVE_MANY answers it
 * COORD_EUNKNOWNMSG: the library keeps every session alive with one
 * SESSION_KEEPALIVE each. */
START_TEST(keepalives_fall_back_to_one_per_session_on_an_older_server)
{
	struct coord_client *a = client();
	struct coord_session *ss[4];
	uint64_t sum;
	int n;

	for (int i = 0; i < 4; i++)
		ss[i] = session(a, 1200);
	cu_code_eq(coord_put(a, "old-server", 10, "x", 1, NULL), COORD_OK);
	run_all_alive(a, ss, 4, 3000);
	n = log_count("keepalive session=", &sum);
	ck_assert_int_ge(n, 4 * 3000 / 400 - 4);
	for (int i = 0; i < 4; i++)
		cu_code_eq(coord_session_close(ss[i]), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* The connection breaks, and the fake holds the ATTACH of the next one
 * until a release or close comes behind it (or a second). */
static void reconnect_with_a_slow_attach(struct coord_client *a)
{
	cu_code_eq(coord_put(a, "slow-attach", 11, "x", 1, NULL), COORD_OK);
	cu_code_eq(coord_put(a, "drop", 4, "x", 1, NULL), COORD_OK);
	ck_assert(log_has("hold attach session="));
}

/* After a reconnect, the session's ATTACH goes first, and the server
 * answers it after what follows it (the fake, told "slow-attach", holds
 * it until the next release or close): a release sent behind it would be
 * refused (COORD_ESESSION). The library holds the release until the
 * ATTACH is answered. */
START_TEST(release_behind_a_reconnects_attach_waits_for_it)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);
	struct coord_lock *la;

	cu_code_eq(coord_lock_acquire(sa, "R", 1, NULL, &la), COORD_OK);
	reconnect_with_a_slow_attach(a);
	cu_code_eq(coord_lock_release(la), COORD_OK);
	ck_assert(log_has("LOCK_RELEASE code=0"));
	ck_assert(!log_has("LOCK_RELEASE code=36"));
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* The same for a close. */
START_TEST(close_behind_a_reconnects_attach_waits_for_it)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);

	reconnect_with_a_slow_attach(a);
	cu_code_eq(coord_session_close(sa), COORD_OK);
	ck_assert(log_has("SESSION_CLOSE code=0"));
	ck_assert(log_has("close session="));
	coord_client_free(a);
}
END_TEST

/* A client whose registration is never answered: its first write never
 * goes out, and the message says the server was reached but did not
 * register the client (not "no endpoint could be reached"). */
START_TEST(unanswered_registration_is_said)
{
	struct coord_client *a = client(), *b;
	struct coord_options o = { .request_timeout_ms = 500 };

	cu_code_eq(coord_put(a, "no-register", 11, "x", 1, NULL), COORD_OK);
	ck_assert_int_eq(coord_client_new(fake_ep, &o, &b), COORD_OK);
	cu_code_eq(coord_put(b, "k", 1, "v", 1, NULL), COORD_EUNAVAILABLE);
	ck_assert_msg(strstr(coord_errmsg(b), "registration (REGISTER_CLIENT) "
					      "was not answered") != NULL,
		      "%s", coord_errmsg(b));
	coord_client_free(b);
	coord_client_free(a);
}
END_TEST

/* A proclaim right after a reconnect waits for the session's ATTACH as a
 * release does (election_failover.sh's proclaim after its node's kill
 * failed COORD_ESESSION); one the server refuses COORD_ESESSION while
 * the session lives goes again after an ATTACH. */
START_TEST(proclaim_behind_a_reconnects_attach_waits_for_it)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);
	struct coord_election *e;

	cu_code_eq(coord_election_campaign(sa, "E", 1, "v1", 2, 0, &e),
		   COORD_OK);
	reconnect_with_a_slow_attach(a);
	cu_code_eq(coord_election_proclaim(e, "v2", 2), COORD_OK);
	ck_assert(log_has("ELECTION_PROCLAIM code=0"));
	ck_assert(!log_has("ELECTION_PROCLAIM code=36"));
	cu_code_eq(coord_put(a, "unbind", 6, "x", 1, NULL), COORD_OK);
	cu_code_eq(coord_election_proclaim(e, "v3", 2), COORD_OK);
	ck_assert(log_has("ELECTION_PROCLAIM code=36"));
	cu_code_eq(coord_election_resign(e), COORD_OK);
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* The same for a put-and-release (LOCK_RELEASE_PUT): the lock's last
 * fenced write after a failover is not refused for the connection. */
START_TEST(put_release_behind_a_reconnects_attach_waits_for_it)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);
	struct coord_lock *la;
	uint64_t rev = 0;

	cu_code_eq(coord_lock_acquire(sa, "P", 1, NULL, &la), COORD_OK);
	reconnect_with_a_slow_attach(a);
	cu_code_eq(coord_lock_put_release(la, "k", 1, "v", 1, &rev), COORD_OK);
	ck_assert_uint_gt(rev, 0);
	ck_assert(log_has("LOCK_RELEASE_PUT code=0"));
	ck_assert(!log_has("LOCK_RELEASE_PUT code=36"));
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* A release the server refuses with COORD_ESESSION while the session
 * lives (it is not bound to this connection: sent before the ATTACH was
 * taken, or the binding got lost): the library attaches the session and
 * sends it once more. */
START_TEST(release_refused_for_the_connection_goes_again_after_attach)
{
	struct coord_client *a = client();
	struct coord_session *sa = session(a, 20000);
	struct coord_lock *la;

	cu_code_eq(coord_lock_acquire(sa, "R", 1, NULL, &la), COORD_OK);
	cu_code_eq(coord_put(a, "unbind", 6, "x", 1, NULL), COORD_OK);
	cu_code_eq(coord_lock_release(la), COORD_OK);
	ck_assert(log_has("LOCK_RELEASE code=36"));
	ck_assert(log_has("attach session="));
	ck_assert(log_has("LOCK_RELEASE code=0"));
	ck_assert_int_eq(coord_session_state(sa), COORD_SESSION_ALIVE);
	cu_code_eq(coord_session_close(sa), COORD_OK);
	coord_client_free(a);
}
END_TEST

/* The asynchronous lease calls, chained on the caller's loop: grant,
 * keepalive, time-to-live, revoke, then time-to-live of the revoked
 * lease. */
struct lease_run {
	struct event_base *base;
	struct coord_client *c;
	int step;
	int codes[5];
	uint64_t lease, ttl[5], granted;
};

static void lease_step(void *arg, coord_err_t code, uint64_t lease,
		       uint64_t ttl_ms, uint64_t granted_ttl_ms);

static void lease_revoked(void *arg, coord_err_t code)
{
	lease_step(arg, code, 0, 0, 0);
}

static void lease_step(void *arg, coord_err_t code, uint64_t lease,
		       uint64_t ttl_ms, uint64_t granted_ttl_ms)
{
	struct lease_run *x = arg;
	int rc = COORD_OK;

	x->codes[x->step] = code;
	x->ttl[x->step] = ttl_ms;
	if (x->step == 0)
		x->lease = lease;
	if (x->step == 2)
		x->granted = granted_ttl_ms;
	switch (x->step++) {
	case 0:
		rc = coord_lease_keepalive_async(x->c, x->lease, lease_step, x);
		break;
	case 1:
		rc = coord_lease_ttl_async(x->c, x->lease, lease_step, x);
		break;
	case 2:
		rc = coord_lease_revoke_async(x->c, x->lease, lease_revoked, x);
		break;
	case 3:
		rc = coord_lease_ttl_async(x->c, x->lease, lease_step, x);
		break;
	default:
		event_base_loopbreak(x->base);
	}
	if (rc != COORD_OK)
		event_base_loopbreak(x->base);
}

START_TEST(lease_calls_on_the_callers_loop)
{
	struct lease_run x = { .base = event_base_new() };
	struct coord_client *a;
	uint64_t lease, ttl;

	ck_assert_ptr_nonnull(x.base);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &x.c),
		   COORD_OK);
	cu_code_eq(coord_lease_grant_async(x.c, 0, lease_step, &x), COORD_ETTL);
	cu_code_eq(coord_lease_grant_async(x.c, 30000, lease_step, &x),
		   COORD_OK);
	event_base_dispatch(x.base);
	ck_assert_int_eq(x.step, 5);
	cu_code_eq(x.codes[0], COORD_OK);
	ck_assert_uint_gt(x.lease, 0);
	ck_assert_uint_eq(x.ttl[0], 30000);
	cu_code_eq(x.codes[1], COORD_OK);
	ck_assert_uint_eq(x.ttl[1], 30000);
	cu_code_eq(x.codes[2], COORD_OK);
	ck_assert_uint_le(x.ttl[2], 30000);
	ck_assert_uint_gt(x.ttl[2], 0);
	ck_assert_uint_eq(x.granted, 30000);
	cu_code_eq(x.codes[3], COORD_OK);
	ck_assert(log_has("revoke lease="));
	cu_code_eq(x.codes[4], COORD_ELEASE);
	coord_client_free(x.c);
	event_base_free(x.base);
	/* The synchronous forms, on top of them. */
	a = client();
	cu_code_eq(coord_lease_grant(a, 20000, &lease, &ttl), COORD_OK);
	ck_assert_uint_eq(ttl, 20000);
	cu_code_eq(coord_lease_keepalive_once(a, lease, &ttl), COORD_OK);
	ck_assert_uint_eq(ttl, 20000);
	cu_code_eq(coord_lease_revoke(a, lease), COORD_OK);
	cu_code_eq(coord_lease_ttl(a, lease, &ttl, NULL), COORD_ELEASE);
	coord_client_free(a);
}
END_TEST

/* Attach, release and close asynchronously, chained on the caller's
 * loop: another client's session is attached, a lock taken with it and
 * released, and the session closed. */
struct attach_run {
	struct event_base *base;
	struct coord_session *s;
	int codes[4];
	int step;
};

static void attach_run_step(struct attach_run *x, int code)
{
	x->codes[x->step++] = code;
	if (code != COORD_OK)
		event_base_loopbreak(x->base);
}

static void ar_closed(void *arg, coord_err_t code)
{
	struct attach_run *x = arg;

	attach_run_step(x, code);
	event_base_loopbreak(x->base);
}

static void ar_released(void *arg, coord_err_t code)
{
	struct attach_run *x = arg;

	attach_run_step(x, code);
	if (code == COORD_OK &&
	    coord_session_close_async(x->s, ar_closed, x) != COORD_OK)
		event_base_loopbreak(x->base);
}

static void ar_locked(void *arg, coord_err_t code, struct coord_lock *l)
{
	struct attach_run *x = arg;

	attach_run_step(x, code);
	if (code == COORD_OK &&
	    coord_lock_release_async(l, ar_released, x) != COORD_OK)
		event_base_loopbreak(x->base);
}

static void ar_attached(void *arg, coord_err_t code, struct coord_session *s)
{
	struct attach_run *x = arg;

	x->s = s;
	attach_run_step(x, code);
	if (code == COORD_OK &&
	    coord_lock_acquire_async(s, "AR", 2, NULL, ar_locked, x) !=
		    COORD_OK)
		event_base_loopbreak(x->base);
}

START_TEST(attach_release_and_close_on_the_callers_loop)
{
	struct attach_run x = { .base = event_base_new() };
	struct coord_client *a = client(), *b, *c2;
	struct coord_session *sa = session(a, 20000), *sb, *s2;
	struct coord_lock *la;
	const uint8_t *secret;
	size_t n;

	ck_assert_ptr_nonnull(x.base);
	secret = coord_session_secret(sa, &n);
	cu_code_eq(coord_client_new_async(x.base, fake_ep, NULL, &b), COORD_OK);
	cu_code_eq(coord_session_attach_async(b, coord_session_id(sa), secret,
					      n, ar_attached, &x), COORD_OK);
	event_base_dispatch(x.base);
	ck_assert_int_eq(x.step, 4);
	for (int i = 0; i < 4; i++)
		cu_code_eq(x.codes[i], COORD_OK);
	ck_assert(log_has("LOCK_RELEASE code=0"));
	ck_assert(log_has("SESSION_CLOSE code=0"));
	/* The first client hears its session closed elsewhere: closing or
	 * releasing what is known lost sends nothing. */
	for (int i = 0; i < 500 && coord_session_state(sa) != COORD_SESSION_LOST;
	     i++)
		coord_client_run(a, 10);
	ck_assert_int_eq(coord_session_state(sa), COORD_SESSION_LOST);
	cu_code_eq(coord_session_close_async(sa, ar_closed, &x), COORD_ESESSION);
	/* Releasing a lock known lost (its session closed elsewhere): the
	 * handle goes, nothing is sent. */
	sb = session(a, 20000);
	cu_code_eq(coord_lock_acquire(sb, "AR2", 3, NULL, &la), COORD_OK);
	c2 = client();
	secret = coord_session_secret(sb, &n);
	cu_code_eq(coord_session_attach(c2, coord_session_id(sb), secret, n,
					&s2), COORD_OK);
	cu_code_eq(coord_session_close(s2), COORD_OK);
	for (int i = 0; i < 500 && coord_session_state(sb) != COORD_SESSION_LOST;
	     i++)
		coord_client_run(a, 10);
	cu_code_eq(coord_lock_release_async(la, ar_released, &x),
		   COORD_ELOCK_LOST);
	cu_code_eq(coord_session_close(sb), COORD_OK);
	/* Refused before sending, or by the servers. */
	cu_code_eq(coord_session_attach(c2, 999999, "x", 1, &s2), COORD_ESESSION);
	cu_code_eq(coord_session_attach_async(c2, 1, secret,
					      COORD_SECRET_BYTES_MAX + 1,
					      ar_attached, &x), COORD_EINVAL);
	coord_client_free(c2);
	coord_client_free(b);
	event_base_free(x.base);
	coord_client_free(a);
}
END_TEST

/* Thousands of writes asked for at once: the exactly-once window (256
 * sequences) lets a few hundred out, the rest wait for room. Each answer
 * lets the next go: finding that costs a walk of the requests, not one
 * per waiting request (that was their square per answer: a client
 * opening thousands of sessions at once stalled for minutes). */
#define QUEUED_WRITES 5000

static void queued_put_cb(void *arg, coord_err_t code, uint64_t revision)
{
	int *n = arg;

	(void)revision;
	if (code == COORD_OK)
		(*n)++;
}

START_TEST(thousands_of_queued_writes_go_out_in_linear_time)
{
	struct coord_client *a = client();
	struct timespec t0, t1;
	int done = 0;

	for (int i = 0; i < QUEUED_WRITES; i++)
		cu_code_eq(coord_put_async(a, "k", 1, "v", 1, queued_put_cb,
					   &done), COORD_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		coord_client_run(a, 50);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (done < QUEUED_WRITES && t1.tv_sec - t0.tv_sec < 40);
	ck_assert_int_eq(done, QUEUED_WRITES);
	coord_client_free(a);
}
END_TEST

static void observe_never(void *arg, coord_err_t code,
			  const struct coord_leader *l)
{
	(void)arg;
	(void)code;
	(void)l;
	ck_abort_msg("an observe refused at the call called back");
}

START_TEST(bad_arguments_are_refused_before_sending)
{
	struct coord_client *a = client();
	struct coord_session *sa;
	struct coord_lock *l;
	struct coord_watch *w = (struct coord_watch *)&w;
	struct coord_job_list *jl = (struct coord_job_list *)&jl;
	char big[COORD_NAME_BYTES_MAX + 1];
	struct coord_fence f[COORD_FENCES_MAX + 1];

	cu_code_eq(coord_session_open(a, 0, &sa), COORD_ETTL);
	cu_code_eq(coord_lease_grant(a, 0, NULL, NULL), COORD_ETTL);
	sa = session(a, 20000);
	memset(big, 'n', sizeof(big));
	cu_code_eq(coord_lock_acquire(sa, big, sizeof(big), NULL, &l),
		   COORD_EINVAL);
	cu_code_eq(coord_lock_acquire(sa, "", 0, NULL, &l), COORD_EINVAL);
	memset(f, 0, sizeof(f));
	cu_code_eq(coord_put_fenced(a, f, COORD_FENCES_MAX + 1, "k", 1, "v",
				    1, NULL), COORD_EINVAL);
	f[0] = (struct coord_fence){ "L", 1, 5, 99 };
	cu_code_eq(coord_put_fenced(a, f, 1, "k", 1, "v", 1, NULL),
		   COORD_EINVAL);
	ck_assert_msg(strstr(coord_errmsg(a), "fence 0: an unknown kind 99"),
		      "%s", coord_errmsg(a));
	cu_code_eq(coord_election_observe(a, "", 0, 0, observe_never, NULL,
					  &w), COORD_EINVAL);
	ck_assert_ptr_null(w);
	cu_code_eq(coord_election_observe(a, big, sizeof(big), 0,
					  observe_never, NULL, &w),
		   COORD_EINVAL);
	cu_code_eq(coord_job_list(a, "q", 1, 0, 0, 10, &jl), COORD_EINVAL);
	cu_code_eq(coord_job_list(a, "q", 1, COORD_JOB_DEAD + 1, 0, 10, &jl),
		   COORD_EINVAL);
	cu_code_eq(coord_job_list(a, "q", 1, COORD_JOB_PENDING, 0,
				  COORD_JOB_LIST_MAX + 1, &jl), COORD_EINVAL);
	ck_assert_ptr_null(jl);
	cu_code_eq(coord_job_complete_by(sa, "q", 1, 0, 1, NULL, 0),
		   COORD_EINVAL);
	ck_assert_msg(strstr(coord_errmsg(a), "no job id"), "%s",
		      coord_errmsg(a));
	cu_code_eq(coord_job_fail_by(sa, "q", 1, 0, 1, false, NULL),
		   COORD_EINVAL);
	coord_session_close(sa);
	coord_client_free(a);
	/* Nothing of it was sent: no write, no watch. */
	ck_assert(!log_has("write PUT"));
	ck_assert(!log_has("fenced PUT"));
}
END_TEST

/* An endpoint that takes the connection (the kernel's backlog) but never
 * answers HELLO: the request's time runs out, and the message says where
 * each endpoint was -- the dialled one waiting for its HELLO's answer, the
 * other not tried -- rather than calling both "not tried". */
START_TEST(timed_out_dial_says_where_it_stopped)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct coord_options o = { .request_timeout_ms = 300,
				   .dial_timeout_ms = 5000 };
	struct coord_client *c;
	char eps[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(eps, sizeof(eps), "127.0.0.1:%d,127.0.0.1:1",
		 ntohs(sa.sin_port));
	ck_assert_int_eq(coord_client_new(eps, &o, &c), COORD_OK);
	cu_code_eq(coord_put(c, "k", 1, "v", 1, NULL), COORD_EUNAVAILABLE);
	ck_assert_msg(strstr(coord_errmsg(c), "no answer to HELLO yet") != NULL &&
			      strstr(coord_errmsg(c), "127.0.0.1:1: not tried") !=
				      NULL,
		      "%s", coord_errmsg(c));
	coord_client_free(c);
	close(fd);
}
END_TEST

static Suite *liveness_suite(void)
{
	Suite *s = suite_create("liveness");

	CU_ADD(s, alive_until_half_ttl_then_jeopardy_then_lost, 10);
	CU_ADD(s, ack_counts_from_the_send_time_and_never_moves_back, 10);
	CU_ADD(s, lost_is_final, 10);
	CU_ADD_LOOP(s, never_more_optimistic_than_the_server, 0, 50, 60);
	CU_ADD(s, keepalives_every_third_of_the_ttl_with_jitter, 10);
	CU_ADD(s, timed_out_dial_says_where_it_stopped, 10);
	return s;
}

#define SL_ADD(s, fn)                                                        \
	do {                                                                 \
		TCase *tc_ = tcase_create(#fn);                              \
		tcase_set_timeout(tc_, 60);                                  \
		tcase_add_checked_fixture(tc_, fake_start, fake_stop);       \
		tcase_add_test(tc_, fn);                                     \
		suite_add_tcase((s), tc_);                                   \
	} while (0)

static Suite *session_lock_suite(void)
{
	Suite *s = suite_create("session_lock");

	SL_ADD(s, acquire_try_and_fenced_writes_through_the_handle);
	SL_ADD(s, lock_lost_by_the_clock_refuses_writes_locally);
	SL_ADD(s, session_lost_push_loses_every_lock);
	SL_ADD(s, timed_out_acquire_leaves_the_queue);
	SL_ADD(s, blocked_call_is_not_woken_every_tick);
	SL_ADD(s, idle_client_without_a_connection_sleeps);
	SL_ADD(s, client_run_returns_on_time);
	SL_ADD(s, short_timeout_kept_while_the_tick_is_quiet);
	SL_ADD(s, queued_acquire_is_granted_on_release);
	SL_ADD(s, grant_pushed_before_the_cancel_is_released);
	SL_ADD(s, grant_learned_after_the_cancel_is_released);
	SL_ADD(s, election_pushed_before_the_cancel_is_resigned);
	SL_ADD(s, election_learned_by_the_leader_read_is_resigned);
	SL_ADD(s, sync_calls_from_a_callback_are_refused);
	SL_ADD(s, session_survives_a_broken_connection);
	SL_ADD(s, session_deadline_is_the_last_acked_send_plus_ttl);
	SL_ADD(s, bad_arguments_are_refused_before_sending);
	SL_ADD(s, async_open_and_acquire_on_the_callers_loop);
	SL_ADD(s, cancelled_waiter_may_close_its_session);
	SL_ADD(s, waiter_of_a_lost_session_fails_and_may_close_it);
	SL_ADD(s, keepalives_of_many_sessions_share_one_request);
	SL_ADD(s, keepalives_fall_back_to_one_per_session_on_an_older_server);
	SL_ADD(s, release_behind_a_reconnects_attach_waits_for_it);
	SL_ADD(s, close_behind_a_reconnects_attach_waits_for_it);
	SL_ADD(s, release_refused_for_the_connection_goes_again_after_attach);
	SL_ADD(s, proclaim_behind_a_reconnects_attach_waits_for_it);
	SL_ADD(s, put_release_behind_a_reconnects_attach_waits_for_it);
	SL_ADD(s, async_put_release_from_a_grants_callback);
	SL_ADD(s, unanswered_registration_is_said);
	SL_ADD(s, lease_calls_on_the_callers_loop);
	SL_ADD(s, attach_release_and_close_on_the_callers_loop);
	SL_ADD(s, thousands_of_queued_writes_go_out_in_linear_time);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(liveness_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_add_suite(sr, session_lock_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
