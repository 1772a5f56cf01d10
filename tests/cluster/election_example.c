/*
 * tests/cluster/election_example.c: the C program of docs/recipes.md,
 * "Leader election for a service": campaign, then, as leader, write
 * through the leadership (a put fenced by its token) and serve until
 * told to stop or until the leadership is in jeopardy; resign on the way
 * out. Run by tests/cluster/election_example.sh.
 *
 *   election_example ENDPOINTS NAME VALUE
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "libcoord/coord.h"

static volatile sig_atomic_t stop;
static bool leading = true;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Told once per worse state while leading: stop serving at JEOPARDY,
 * before any server can have elected someone else. */
static void on_lost(void *arg, struct coord_election *e,
		    enum coord_election_state st)
{
	(void)arg;
	(void)e;
	printf("%s\n", st == COORD_ELECTION_JEOPARDY ? "jeopardy" : "lost");
	fflush(stdout);
	leading = false;
}

int main(int argc, char **argv)
{
	struct coord_client *c;
	struct coord_session *s;
	struct coord_election *e;
	char key[300];
	int rc;

	if (argc != 4)
		return 2;
	signal(SIGTERM, on_signal);
	rc = coord_client_new(argv[1], NULL, &c);
	if (rc == COORD_OK)
		rc = coord_session_open(c, 5000, &s);
	if (rc == COORD_OK)
		rc = coord_election_campaign(s, argv[2], strlen(argv[2]),
					     argv[3], strlen(argv[3]), 0, &e);
	if (rc != COORD_OK) {
		fprintf(stderr, "campaign: %s\n", coord_strerror(rc));
		coord_client_free(c);
		return 1;
	}
	coord_election_set_lost_callback(e, on_lost, NULL);
	printf("leader token %llu\n",
	       (unsigned long long)coord_election_token(e));
	fflush(stdout);
	/* Writes as leader carry its token: refused once it is not. */
	snprintf(key, sizeof(key), "%s/owner", argv[2]);
	rc = coord_election_put(e, key, strlen(key), argv[3], strlen(argv[3]),
				NULL);
	printf("put %s\n", coord_error_name(rc));
	fflush(stdout);
	while (!stop && leading)
		coord_client_run(c, 100);   /* keepalives run in here */
	rc = coord_election_resign(e);
	printf("resigned %s\n", coord_error_name(rc));
	coord_session_close(s);
	coord_client_free(c);
	return leading ? 0 : 1;
}
