/*
 * coordd/store/logwriter.c: the raft log's writer thread, for a leader's
 * asynchronous appends (raft.h, persist_async; Raft thesis 10.2.1).
 *
 * The event loop frames a Ready's entries as store_ready_persist() does
 * and hands the frame to this thread, which writes and syncs it while the
 * loop goes on: a leader then hears its followers' acknowledgements, and
 * sends new entries, during its own fsync. Frames reach the disk in the
 * order they were queued, contiguous in one segment; the ones queued
 * while a write is in flight go together in the next (a group commit).
 *
 * What the thread owns: the buffer it is writing, and nothing of the
 * store. The loop keeps everything else (the segments, the in-memory
 * log metadata, the allocator, the failpoints) and waits for the thread
 * (store_log_drain()) before anything else touches the log's files.
 * A write that fails fails the store, and nothing queued after it is
 * written: the log on disk never has a hole.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "coordd/failpoint.h"
#include "coordd/store/store_int.h"
#include "proto/alloc.h"
#include "proto/assert.h"
#include "proto/errors.h"

/* Sync times kept for store_log_poll() between two polls; older ones are
 * only counted. */
#define WRITER_TIMES 32

struct store_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;        /* the loop to the thread */
	pthread_cond_t done;        /* the thread to the loop */
	int efd;                    /* readable after each write */

	/* Queued by the loop, not yet taken: frames for [off, off + len). */
	uint8_t *next;
	size_t next_len, next_cap;
	int next_fd;
	size_t next_off;
	uint64_t next_index, next_term;   /* the last entry in them */
	bool next_fail;             /* the store.sync failpoint fired */

	/* Being written. */
	uint8_t *cur;
	size_t cur_cap;
	bool busy;
	bool stop;

	/* Written. */
	uint64_t done_index, done_term;
	uint64_t done_writes;
	int err;                    /* errno of the write that failed */
	uint64_t times[WRITER_TIMES];
	uint64_t n_times;           /* ever recorded */
	uint64_t n_times_read;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int write_sync(int fd, const uint8_t *buf, size_t len, size_t off,
		      bool fail)
{
	if (fail) {
		errno = EIO;
		return -1;
	}
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len) {
		if (errno == 0)
			errno = ENOSPC;   /* a short write */
		return -1;
	}
	return fdatasync(fd);
}

static void *writer_main(void *arg)
{
	struct store_writer *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint8_t *buf;
		size_t len, off, cap;
		uint64_t index, term, t0;
		bool fail;
		int fd, rc, e;

		while (!w->stop && w->next_len == 0)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->next_len == 0)
			break;
		/* Take the queued frames; the loop fills the other buffer. */
		buf = w->next;
		cap = w->next_cap;
		w->next = w->cur;
		w->next_cap = w->cur_cap;
		w->cur = buf;
		w->cur_cap = cap;
		len = w->next_len;
		off = w->next_off;
		fd = w->next_fd;
		index = w->next_index;
		term = w->next_term;
		fail = w->next_fail;
		w->next_len = 0;
		w->next_fail = false;
		w->busy = true;
		pthread_mutex_unlock(&w->mu);

		t0 = mono_ns();
		errno = 0;
		rc = w->err != 0 ? -1 : write_sync(fd, buf, len, off, fail);
		e = errno;

		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (rc == 0) {
			w->done_index = index;
			w->done_term = term;
			w->done_writes++;
			w->times[w->n_times % WRITER_TIMES] = mono_ns() - t0;
			w->n_times++;
		} else if (w->err == 0) {
			w->err = e != 0 ? e : EIO;
		}
		pthread_cond_broadcast(&w->done);
		pthread_mutex_unlock(&w->mu);
		/* Wakes the loop; a full counter still wakes it. */
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: already readable. */
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int store_log_writer_start(struct store *s)
{
	struct store_writer *w;

	if (s->writer != NULL)
		return COORD_OK;
	w = coord_malloc(s->alloc, sizeof(*w));
	if (w == NULL) {
		store_errf(s, "out of memory starting the log writer");
		return COORD_ENOMEM;
	}
	memset(w, 0, sizeof(*w));
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		store_errf(s, "starting the log writer: eventfd: %s",
			   strerror(errno));
		coord_free(s->alloc, w);
		return COORD_EIO;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->done, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		store_errf(s, "starting the log writer: no thread");
		pthread_cond_destroy(&w->done);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->mu);
		close(w->efd);
		coord_free(s->alloc, w);
		return COORD_EIO;
	}
	s->writer = w;
	return COORD_OK;
}

/* A write failed: the store with it (the caller holds no lock). */
static int writer_failed(struct store *s, int err)
{
	char name[64];

	s->failed = true;
	store_seg_name(name, sizeof(name),
		       s->n_segs > 0 ? s->segs[s->n_segs - 1].seq : 0);
	store_errf(s, "IO error: appending to %s: %s", name, strerror(err));
	return COORD_EIO;
}

int store_writer_queue(struct store *s, const uint8_t *frame, size_t len,
		       uint64_t index, uint64_t term)
{
	struct store_writer *w = s->writer;
	bool fail = FAILPOINT(FAILPOINT_STORE_SYNC) == FAILPOINT_ERROR;
	int err, rv;

	COORD_ASSERT(w != NULL);
	pthread_mutex_lock(&w->mu);
	/* A backlog over the bound waits for the write in flight: the loop
	 * runs no further ahead of the disk than that. */
	while (w->busy && w->err == 0 && w->next_len > 0 &&
	       w->next_len + len > STORE_WRITER_BACKLOG_MAX)
		pthread_cond_wait(&w->done, &w->mu);
	err = w->err;
	if (err != 0) {
		pthread_mutex_unlock(&w->mu);
		return writer_failed(s, err);
	}
	rv = store_buf_reserve(s->alloc, &w->next, &w->next_cap,
			       w->next_len + len);
	if (rv != COORD_OK) {
		pthread_mutex_unlock(&w->mu);
		store_errf(s, "out of memory queueing a log write");
		return rv;
	}
	if (w->next_len == 0) {
		w->next_fd = s->log_fd;
		w->next_off = s->log_off;
	}
	COORD_ASSERT(w->next_fd == s->log_fd &&
		     w->next_off + w->next_len == s->log_off);
	memcpy(w->next + w->next_len, frame, len);
	w->next_len += len;
	if (index != 0) {
		w->next_index = index;
		w->next_term = term;
	}
	w->next_fail = w->next_fail || fail;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	s->log_off += len;
	return COORD_OK;
}

int store_log_drain(struct store *s)
{
	struct store_writer *w = s->writer;
	int err;

	if (w == NULL)
		return COORD_OK;
	pthread_mutex_lock(&w->mu);
	while (w->err == 0 && (w->busy || w->next_len > 0))
		pthread_cond_wait(&w->done, &w->mu);
	err = w->err;
	pthread_mutex_unlock(&w->mu);
	return err != 0 ? writer_failed(s, err) : COORD_OK;
}

void store_writer_stop(struct store *s)
{
	struct store_writer *w = s->writer;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->mu);
	close(w->efd);
	coord_free(s->alloc, w->next);
	coord_free(s->alloc, w->cur);
	coord_free(s->alloc, w);
	s->writer = NULL;
}

int store_log_notify_fd(const struct store *s)
{
	return s->writer != NULL ? s->writer->efd : -1;
}

int store_log_poll(struct store *s, uint64_t *index, uint64_t *term,
		   void (*sync_ns)(void *ctx, uint64_t ns), void *ctx)
{
	struct store_writer *w = s->writer;
	uint64_t times[WRITER_TIMES], counter, writes;
	size_t n = 0;
	int err;

	*index = *term = 0;
	if (w == NULL)
		return COORD_OK;
	if (read(w->efd, &counter, sizeof(counter)) < 0) {
		/* EAGAIN: no write finished since the last poll. */
	}
	pthread_mutex_lock(&w->mu);
	*index = w->done_index;
	*term = w->done_term;
	writes = w->done_writes;
	err = w->err;
	if (w->n_times - w->n_times_read > WRITER_TIMES)
		w->n_times_read = w->n_times - WRITER_TIMES;
	while (w->n_times_read < w->n_times)
		times[n++] = w->times[w->n_times_read++ % WRITER_TIMES];
	pthread_mutex_unlock(&w->mu);
	s->log_syncs += writes - s->writer_seen;
	s->writer_seen = writes;
	if (sync_ns != NULL)
		for (size_t i = 0; i < n; i++)
			sync_ns(ctx, times[i]);
	return err != 0 ? writer_failed(s, err) : COORD_OK;
}
