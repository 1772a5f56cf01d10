/*
 * fencing/examples/fenced_kv.c: an example resource guarded by coord
 * locks -- a small file-backed key-value store over TCP that applies a
 * write only when libcoordfence admits the write's fencing token.
 *
 * Usage: fenced_kv DIR [PORT [ENDPOINTS]]
 *   Listens on 127.0.0.1:PORT (default 0: a free port) and prints
 *   "fenced_kv listening port=N" on stdout once it accepts connections.
 *   DIR/fence is the fence store (coordfence_open()), DIR/kv the values.
 *   With ENDPOINTS (coordd's client addresses, "host:port,..."), every
 *   write is first checked online: RESOURCE is taken as the lock's name
 *   and coordd is asked whether TOKEN is its current grant
 *   (coordfence_admit_online()).
 *   SIGTERM: closes the connections and the fence store, exits 0.
 *
 * Protocol: lines of text ending in '\n'; fields separated by one space;
 * a field is 1 or more bytes, none of them a space or a control byte.
 *
 *   WRITE RESOURCE TOKEN KEY VALUE
 *       -> "OK"            admitted (coordfence_admit(RESOURCE, TOKEN)
 *                          returned 0) and KEY = VALUE is on disk
 *       -> "STALE HIGHEST" TOKEN is older than HIGHEST, the newest token
 *                          admitted for RESOURCE: nothing written
 *       -> "NOTCURRENT"    (with ENDPOINTS) coordd says TOKEN is not the
 *                          lock's current grant: nothing written
 *       -> "ERR REASON"    bad input or a limit (nothing written), or
 *                          the disk failed
 *   READ KEY
 *       -> "VALUE VALUE" or "NOTFOUND"
 *
 * RESOURCE is the lock's name (one store may guard several locks) and
 * TOKEN its fencing token in decimal (the COORD_FENCING_TOKEN that
 * `coordctl lock` exports). Reads are not fenced.
 *
 * Limits (bad input and limits get "ERR ..." and change nothing):
 *   FKV_LINE_MAX   a longer line: "ERR line too long", connection closed
 *   FKV_KEY_MAX, FKV_VALUE_MAX   bytes of a key and of a value
 *   FKV_KEYS_MAX   keys in the store; a new key beyond it is refused
 *   FKV_CONNS_MAX  open connections; one more gets
 *                  "ERR too many connections" and is closed
 * Replies are sent without blocking; a client that does not read them
 * (its socket buffer full) is disconnected.
 *
 * Durability: the token is on disk before the value (coordfence_admit()
 * syncs it), and the value file is rewritten to DIR/kv.tmp, synced and
 * renamed before "OK". A crash between the two leaves the token admitted
 * and the write not done; the writer, having no "OK", writes again with
 * the same token, which is admitted (equal tokens are).
 *
 * One thread, poll(): writes are applied one at a time in the order
 * their lines arrive.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/coordfence.h"
#include "libcoord/coord.h"

#define FKV_LINE_MAX 2048
#define FKV_KEY_MAX 128
#define FKV_VALUE_MAX 1024
#define FKV_KEYS_MAX 1024
#define FKV_CONNS_MAX 32

struct fkv_conn {
	int fd;
	size_t len;
	char buf[FKV_LINE_MAX];
};

struct fkv_pair {
	char key[FKV_KEY_MAX + 1];
	char value[FKV_VALUE_MAX + 1];
};

struct fkv {
	struct coordfence *fence;
	struct coord_client *coord;     /* the online check; NULL: none */
	int dir_fd;
	struct fkv_pair *pairs; /* FKV_KEYS_MAX of them */
	size_t n;
	struct fkv_conn conns[FKV_CONNS_MAX];
	size_t conns_n;
};

static int fkv_find(const struct fkv *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->pairs[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* Rewrites DIR/kv from memory: kv.tmp, fsync, rename, fsync of DIR. */
static int fkv_save(struct fkv *s)
{
	FILE *fp;
	int fd, rv = -1;

	fd = openat(s->dir_fd, "kv.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0666);
	if (fd < 0)
		return -1;
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		fprintf(fp, "%s %s\n", s->pairs[i].key, s->pairs[i].value);
	if (fflush(fp) == 0 && fsync(fd) == 0 &&
	    renameat(s->dir_fd, "kv.tmp", s->dir_fd, "kv") == 0 &&
	    fsync(s->dir_fd) == 0)
		rv = 0;
	fclose(fp);
	return rv;
}

static int fkv_load(struct fkv *s)
{
	char line[FKV_LINE_MAX + 2];
	FILE *fp;
	int fd = openat(s->dir_fd, "kv", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL && s->n < FKV_KEYS_MAX) {
		char *sp = strchr(line, ' '), *nl = strchr(line, '\n');

		if (sp == NULL || nl == NULL || (size_t)(sp - line) > FKV_KEY_MAX ||
		    (size_t)(nl - sp - 1) > FKV_VALUE_MAX)
			continue;
		*sp = *nl = '\0';
		strcpy(s->pairs[s->n].key, line);
		strcpy(s->pairs[s->n].value, sp + 1);
		s->n++;
	}
	fclose(fp);
	return 0;
}

static void fkv_drop(struct fkv *s, size_t i)
{
	close(s->conns[i].fd);
	s->conns[i] = s->conns[s->conns_n - 1];
	s->conns_n--;
}

/* Sends a reply line without blocking; false when the client is to be
 * dropped. */
static bool fkv_reply(int fd, const char *msg)
{
	char out[FKV_VALUE_MAX + 32];
	int n = snprintf(out, sizeof(out), "%s\n", msg);

	return send(fd, out, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n;
}

/* A field: 1..max bytes, no space or control byte. */
static bool fkv_field_ok(const char *p, size_t max)
{
	size_t n = 0;

	for (; p[n] != '\0'; n++)
		if ((unsigned char)p[n] <= ' ' || p[n] == 0x7f)
			return false;
	return n >= 1 && n <= max;
}

/* Splits line into at most max fields at single spaces; the count. */
static int fkv_split(char *line, char **f, int max)
{
	int n = 0;

	for (char *p = line; n < max; n++) {
		f[n] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			return n + 1;
		*p++ = '\0';
	}
	return max + 1; /* too many */
}

static void fkv_write(struct fkv *s, char **f, char *reply, size_t len)
{
	char *end = NULL;
	unsigned long long token;
	struct fkv_pair old;
	uint64_t highest = 0;
	bool fresh = false;
	int i, rv;

	errno = 0;
	token = strtoull(f[2], &end, 10);
	if (f[2][0] < '0' || f[2][0] > '9' || *end != '\0' || errno != 0 ||
	    !fkv_field_ok(f[1], COORDFENCE_RESOURCE_MAX) ||
	    !fkv_field_ok(f[3], FKV_KEY_MAX) ||
	    !fkv_field_ok(f[4], FKV_VALUE_MAX)) {
		snprintf(reply, len, "ERR bad resource, token, key or value");
		return;
	}
	i = fkv_find(s, f[3]);
	if (i < 0 && s->n >= FKV_KEYS_MAX) {
		snprintf(reply, len, "ERR too many keys");
		return;
	}
	/* Only tokens newer than any seen: a resource that also wants
	 * coordd's word that (lock, token) is still the current grant asks
	 * libcoord's coord_lock_check() before this admit. */
	rv = s->coord == NULL
		     ? coordfence_admit(s->fence, f[1], strlen(f[1]), token)
		     : coordfence_admit_online(s->fence, s->coord, f[1],
					       strlen(f[1]), f[1], strlen(f[1]),
					       token);
	if (rv == COORDFENCE_ESTALE &&
	    coordfence_highest(s->fence, f[1], strlen(f[1]), &highest) ==
		    COORDFENCE_OK &&
	    highest <= token) {
		snprintf(reply, len, "NOTCURRENT");
		return;
	}
	if (rv == COORDFENCE_ESTALE) {
		coordfence_highest(s->fence, f[1], strlen(f[1]), &highest);
		snprintf(reply, len, "STALE %llu", (unsigned long long)highest);
		return;
	}
	if (rv != COORDFENCE_OK) {
		snprintf(reply, len, "ERR %s",
			 s->coord != NULL ? coord_strerror(rv)
					 : coordfence_strerror(rv));
		return;
	}
	if (i < 0) {
		i = (int)s->n++;
		strcpy(s->pairs[i].key, f[3]);
		fresh = true;
	} else {
		old = s->pairs[i];
	}
	strcpy(s->pairs[i].value, f[4]);
	if (fkv_save(s) != 0) {
		/* Not on disk: not done (the token stays admitted). */
		if (fresh)
			s->n--;
		else
			s->pairs[i] = old;
		snprintf(reply, len, "ERR storage: %s", strerror(errno));
		return;
	}
	snprintf(reply, len, "OK");
}

/* Handles one line; false when the connection is to be closed. */
static bool fkv_line(struct fkv *s, int fd, char *line)
{
	char reply[FKV_VALUE_MAX + 16];
	char *f[6];
	int n = fkv_split(line, f, 5);

	if (n == 5 && strcmp(f[0], "WRITE") == 0) {
		fkv_write(s, f, reply, sizeof(reply));
	} else if (n == 2 && strcmp(f[0], "READ") == 0 &&
		   fkv_field_ok(f[1], FKV_KEY_MAX)) {
		int i = fkv_find(s, f[1]);

		if (i < 0)
			snprintf(reply, sizeof(reply), "NOTFOUND");
		else
			snprintf(reply, sizeof(reply), "VALUE %s",
				 s->pairs[i].value);
	} else {
		snprintf(reply, sizeof(reply), "ERR unknown or malformed request");
	}
	return fkv_reply(fd, reply);
}

/* Reads what conn i has; false when it is to be closed. */
static bool fkv_read(struct fkv *s, struct fkv_conn *c)
{
	ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *nl;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (r <= 0)
		return false;
	c->len += (size_t)r;
	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t used = (size_t)(nl - c->buf) + 1;

		*nl = '\0';
		if (memchr(c->buf, '\0', used - 1) != NULL) {
			if (!fkv_reply(c->fd, "ERR unknown or malformed request"))
				return false;
		} else if (!fkv_line(s, c->fd, c->buf)) {
			return false;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->len == sizeof(c->buf)) {
		fkv_reply(c->fd, "ERR line too long");
		return false;
	}
	return true;
}

static int fkv_listen(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("fenced_kv: listen");
		exit(1);
	}
	printf("fenced_kv listening port=%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

/* SIGTERM ends the loop (and the process, normally). */
static volatile sig_atomic_t fkv_stop;

static void fkv_on_term(int sig)
{
	(void)sig;
	fkv_stop = 1;
}

int main(int argc, char **argv)
{
	static struct fkv s;
	struct sigaction sa;
	sigset_t term, during_poll;
	struct pollfd p[FKV_CONNS_MAX + 1];
	char err[256], path[4096];
	int lfd, rv;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: fenced_kv DIR [PORT [ENDPOINTS]]\n");
		return 2;
	}
	if (argc == 4 && coord_client_new(argv[3], NULL, &s.coord) != COORD_OK) {
		fprintf(stderr, "fenced_kv: no libcoord client for %s\n",
			argv[3]);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM is let in only while ppoll() waits: none is lost
	 * between the check of fkv_stop and the wait. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fkv_on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &during_poll);
	sigdelset(&during_poll, SIGTERM);
	snprintf(path, sizeof(path), "%s/fence", argv[1]);
	s.pairs = calloc(FKV_KEYS_MAX, sizeof(*s.pairs));
	if (s.pairs == NULL || (mkdir(argv[1], 0777) != 0 && errno != EEXIST) ||
	    (s.dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fkv_load(&s) != 0) {
		fprintf(stderr, "fenced_kv: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rv = coordfence_open(path, NULL, &s.fence, err, sizeof(err));
	if (rv != COORDFENCE_OK) {
		fprintf(stderr, "fenced_kv: %s: %s (%s)\n", path,
			coordfence_strerror(rv), err);
		return 1;
	}
	lfd = fkv_listen(argc >= 3 ? atoi(argv[2]) : 0);
	while (!fkv_stop) {
		p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < s.conns_n; i++)
			p[i + 1] = (struct pollfd){.fd = s.conns[i].fd,
						   .events = POLLIN};
		if (ppoll(p, s.conns_n + 1, NULL, &during_poll) < 0) {
			if (errno == EINTR)
				continue;
			perror("fenced_kv: poll");
			return 1;
		}
		/* Connections from the end, so that a drop (which moves
		 * the last one into the hole) skips none. */
		for (size_t i = s.conns_n; i-- > 0;)
			if ((p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !fkv_read(&s, &s.conns[i]))
				fkv_drop(&s, i);
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd < 0)
				continue;
			if (s.conns_n == FKV_CONNS_MAX) {
				fkv_reply(fd, "ERR too many connections");
				close(fd);
				continue;
			}
			s.conns[s.conns_n].fd = fd;
			s.conns[s.conns_n].len = 0;
			s.conns_n++;
		}
	}
	for (size_t i = 0; i < s.conns_n; i++)
		close(s.conns[i].fd);
	close(lfd);
	coordfence_close(s.fence);
	if (s.coord != NULL)
		coord_client_free(s.coord);
	free(s.pairs);
	return 0;
}
