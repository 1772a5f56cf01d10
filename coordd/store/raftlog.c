/*
 * coordd/store/raftlog.c: the segment files of the Raft log (see the
 * layout and the durability argument in store.h): framing, creating and
 * preallocating segments, appending with fdatasync, scanning them back
 * with torn-tail detection, and dropping whole segments. It knows the
 * frames, not what the records mean (store.c replays them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/failpoint.h"
#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "proto/assert.h"
#include "proto/errors.h"

static const uint8_t frame_trailer[STORE_FRAME_TRAILER] = {
	0xc0, 0x0d, 0x5e, 0x9e
};

_Static_assert(STORE_FRAME_TRAILER == 4, "");

/* The frame header: crc:4 len:4 lcrc:4 -- crc (masked CRC32C) over len
 * and the body, lcrc over len alone, so that a damaged length is told
 * from a record cut short. */
static uint32_t len_crc(const uint8_t *len4)
{
	return store_crc32c_mask(store_crc32c(len4, 4)) ^ 0xa5a5a5a5u;
}

size_t store_frame_seal(uint8_t *frame, size_t body_len)
{
	uint32_t crc;

	COORD_ASSERT(body_len >= 1);
	COORD_ASSERT(body_len <= STORE_FRAME_BODY_MAX);
	store_put_be32(frame + 4, (uint32_t)body_len);
	store_put_be32(frame + 8, len_crc(frame + 4));
	crc = store_crc32c_extend(store_crc32c(frame + 4, 4),
				  frame + STORE_FRAME_HEADER, body_len);
	store_put_be32(frame, store_crc32c_mask(crc));
	memcpy(frame + STORE_FRAME_HEADER + body_len, frame_trailer,
	       STORE_FRAME_TRAILER);
	return STORE_FRAME_HEADER + body_len + STORE_FRAME_TRAILER;
}

/* Are the n bytes at p all zero? */
static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* A write cut short leaves a prefix of its bytes and zeros after them (the
 * segment was preallocated with zeros): is everything from the first zero
 * byte in [from, to) on, to the end of the segment, zero -- with such a
 * byte present? */
static bool cut_short(const uint8_t *buf, size_t size, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (buf[i] == 0)
			return all_zero(buf + i, size - i);
	return false;
}

/* One past the last non-zero byte of [from, to) (from when none). */
static size_t nonzero_end(const uint8_t *buf, size_t from, size_t to)
{
	while (to > from && buf[to - 1] == 0)
		to--;
	return to;
}

int store_frame_check(const uint8_t *buf, size_t size, size_t off,
		      struct store_frame *f)
{
	size_t left = size - off;
	uint32_t len;

	memset(f, 0, sizeof(*f));
	f->offset = off;
	f->end = size;
	if (all_zero(buf + off, left < STORE_FRAME_HEADER ? left
							 : STORE_FRAME_HEADER))
		return all_zero(buf + off, left) ? STORE_FRAME_END
						 : STORE_FRAME_BAD;
	if (left < STORE_FRAME_HEADER ||
	    store_get_be32(buf + off + 8) != len_crc(buf + off + 4)) {
		if (!cut_short(buf, size, off, off + STORE_FRAME_HEADER))
			return STORE_FRAME_BAD;
		f->end = nonzero_end(buf, off, size);
		return STORE_FRAME_TORN;
	}
	len = store_get_be32(buf + off + 4);
	if (len == 0 || len > left - STORE_FRAME_HEADER ||
	    left - STORE_FRAME_HEADER - len < STORE_FRAME_TRAILER)
		return STORE_FRAME_BAD;
	f->body = buf + off + STORE_FRAME_HEADER;
	f->len = len;
	f->end = off + STORE_FRAME_HEADER + len + STORE_FRAME_TRAILER;
	if (memcmp(buf + f->end - STORE_FRAME_TRAILER, frame_trailer,
		   STORE_FRAME_TRAILER) != 0) {
		/* The end of the frame never reached the file: a write cut
		 * short, if only zeros follow. */
		if (all_zero(buf + f->end - STORE_FRAME_TRAILER,
			     size - f->end + STORE_FRAME_TRAILER)) {
			f->end = nonzero_end(buf, off, f->end);
			return STORE_FRAME_TORN;
		}
		return STORE_FRAME_BAD;
	}
	if (store_crc32c_unmask(store_get_be32(buf + off)) !=
	    store_crc32c_extend(store_crc32c(buf + off + 4, 4), f->body, len))
		return STORE_FRAME_BAD;
	return STORE_FRAME_OK;
}

/* ---------------------------------------------------------------------- */
/* Files. */

void store_seg_name(char *out, size_t size, uint64_t seq)
{
	snprintf(out, size, STORE_LOG_DIR "/%016" PRIx64 ".seg", seq);
}

static int io_error(struct store *s, const char *what, const char *name)
{
	store_errf(s, "IO error: %s %s: %s", what, name, strerror(errno));
	return COORD_EIO;
}

/* fdatasync(), through the store.sync failpoint (a failing disk: EIO). */
static int rlog_sync(int fd)
{
	if (FAILPOINT(FAILPOINT_STORE_SYNC) == FAILPOINT_ERROR) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static int fsync_dir(struct store *s)
{
	if (fsync(s->log_dirfd) != 0)
		return io_error(s, "syncing the directory", STORE_LOG_DIR);
	return COORD_OK;
}

int store_rlog_dir_open(struct store *s, const char *dir, bool create)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/" STORE_LOG_DIR, dir);
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return io_error(s, "creating", path);
	s->log_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->log_dirfd < 0) {
		if (errno == ENOENT) {
			store_errf(s, "the raft log directory " STORE_LOG_DIR
				      "/ is missing");
			return COORD_ECORRUPT;
		}
		return io_error(s, "opening", path);
	}
	return COORD_OK;
}

static int segs_reserve(struct store *s, size_t n)
{
	struct store_seg *p;
	size_t c = s->cap_segs > 0 ? s->cap_segs : 16;

	if (n <= s->cap_segs)
		return COORD_OK;
	while (c < n)
		c *= 2;
	p = coord_realloc(s->alloc, s->segs, c * sizeof(*p));
	if (p == NULL) {
		store_errf(s, "out of memory listing the raft log segments");
		return COORD_ENOMEM;
	}
	s->segs = p;
	s->cap_segs = c;
	return COORD_OK;
}

static int seq_cmp(const void *a, const void *b)
{
	const struct store_seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Fills s->segs with the segment files, sorted; removes a temp file left
 * by a crash during rotation. */
static int list_segments(struct store *s)
{
	int fd = dup(s->log_dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int rv = COORD_OK;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return io_error(s, "listing", STORE_LOG_DIR);
	}
	rewinddir(d);
	s->n_segs = 0;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char *end;
		uint64_t seq;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (strcmp(n, STORE_SEG_TMP) == 0) {
			if (unlinkat(s->log_dirfd, n, 0) != 0)
				rv = io_error(s, "removing", STORE_SEG_TMP);
			if (rv != COORD_OK)
				break;
			continue;
		}
		errno = 0;
		seq = strtoull(n, &end, 16);
		if (strlen(n) != 20 || end != n + 16 || strcmp(end, ".seg") != 0 ||
		    errno != 0 || seq == 0) {
			store_errf(s, "an unknown file " STORE_LOG_DIR "/%s in "
				      "the raft log directory", n);
			rv = COORD_ECORRUPT;
			break;
		}
		rv = segs_reserve(s, s->n_segs + 1);
		if (rv != COORD_OK)
			break;
		s->segs[s->n_segs].seq = seq;
		s->segs[s->n_segs].last_index = 0;
		s->n_segs++;
	}
	closedir(d);
	if (rv == COORD_OK && s->n_segs > 1)
		qsort(s->segs, s->n_segs, sizeof(*s->segs), seq_cmp);
	return rv;
}

/* Reports a bad frame: names the file and the offset; an entries record
 * whose frame still holds, or whose run parses far enough, names the
 * index too. */
static int bad_frame(struct store *s, const char *name,
		     const struct store_frame *f)
{
	if (f->body != NULL && f->len > 9 && f->body[0] == STORE_LREC_ENTRIES) {
		struct store_run_cursor c;
		struct raft_entry e;
		uint64_t first = store_get_be64(f->body + 1);
		int rv;

		if (store_rec_run_open(&c, first, f->body + 9, f->len - 9) !=
		    COORD_OK) {
			store_errf(s, "%s offset=%zu: the log record of "
				      "entries from index=%" PRIu64 " fails its "
				      "checksum", name, f->offset, first);
			return COORD_ECORRUPT;
		}
		while ((rv = store_rec_run_next(&c, &e)) == COORD_OK)
			;
		if (rv != COORD_ENOTFOUND) {
			store_errf(s, "%s offset=%zu: log entry index=%" PRIu64
				      " fails its checksum", name, f->offset,
				   first + c.i);
			return COORD_ECORRUPT;
		}
	}
	store_errf(s, "%s offset=%zu: a record fails its checksum or its "
		      "framing", name, f->offset);
	return COORD_ECORRUPT;
}

/* Cuts the torn tail [f->offset, f->end) of the last segment: zeros it,
 * synced, so that appends go on from there. */
static int cut_tail(struct store *s, int fd, const char *name,
		    const struct store_frame *f, uint64_t *torn)
{
	static const uint8_t zeros[4096];
	size_t off = f->offset;

	while (off < f->end) {
		size_t n = f->end - off < sizeof(zeros) ? f->end - off
							 : sizeof(zeros);

		if (pwrite(fd, zeros, n, (off_t)off) != (ssize_t)n)
			return io_error(s, "cutting the torn tail of", name);
		off += n;
	}
	if (fdatasync(fd) != 0)
		return io_error(s, "syncing", name);
	*torn += f->end - f->offset;
	store_logf(s, STORE_LOG_WARN,
		   "torn tail file=%s offset=%zu bytes=%zu cut (a write that "
		   "never synced)", name, f->offset, f->end - f->offset);
	return COORD_OK;
}

/* Scans segment i; the last one stays open for appends. */
static int scan_segment(struct store *s, size_t i, store_rlog_rec_fn *fn,
			void *ctx, uint64_t *torn)
{
	struct store_seg *g = &s->segs[i];
	bool last = i + 1 == s->n_segs;
	char name[64];
	struct stat st;
	uint8_t *buf = MAP_FAILED;
	size_t off = 0, size;
	int fd, rv = COORD_OK;

	store_seg_name(name, sizeof(name), g->seq);
	fd = openat(s->log_dirfd, name + sizeof(STORE_LOG_DIR),
		    (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return io_error(s, "opening", name);
	if (fstat(fd, &st) != 0) {
		rv = io_error(s, "reading", name);
		goto out;
	}
	size = (size_t)st.st_size;
	if (size < STORE_SEG_HEAD) {
		store_errf(s, "%s is %zu bytes, shorter than a segment header",
			   name, size);
		rv = COORD_ECORRUPT;
		goto out;
	}
	buf = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (buf == MAP_FAILED) {
		rv = io_error(s, "mapping", name);
		goto out;
	}
	for (;;) {
		struct store_frame f;
		int k = store_frame_check(buf, size, off, &f);

		if (k == STORE_FRAME_END)
			break;
		if (k == STORE_FRAME_TORN && last && off > 0) {
			rv = cut_tail(s, fd, name, &f, torn);
			break;
		}
		if (k != STORE_FRAME_OK) {
			rv = bad_frame(s, name, &f);
			goto out;
		}
		if (off == 0 &&
		    (f.len != STORE_SEG_HEAD_BODY ||
		     f.body[0] != STORE_LREC_SEGMENT ||
		     memcmp(f.body + 1, STORE_SEG_MAGIC,
			    sizeof(STORE_SEG_MAGIC) - 1) != 0 ||
		     store_get_be64(f.body + sizeof(STORE_SEG_MAGIC)) !=
			     g->seq)) {
			store_errf(s, "%s does not start with its own segment "
				      "header (a foreign or misnamed file)",
				   name);
			rv = COORD_ECORRUPT;
			goto out;
		}
		/* Segments are written at their full size: one of another
		 * size was cut short or grown, by hand or by a disk. */
		if (off == 0 &&
		    store_get_be64(f.body + sizeof(STORE_SEG_MAGIC) + 8) !=
			    size) {
			store_errf(s, "%s is %zu bytes, but it was created with "
				      "%" PRIu64 " (cut short or grown)", name,
				   size,
				   store_get_be64(f.body +
						  sizeof(STORE_SEG_MAGIC) + 8));
			rv = COORD_ECORRUPT;
			goto out;
		}
		if (off > 0) {
			rv = fn(s, ctx, i, name, &f);
			if (rv != COORD_OK)
				goto out;
		}
		off = f.end;
	}
	if (last) {
		s->log_fd = fd;
		s->log_off = off;
		s->log_size = size;
		fd = -1;
	}
out:
	if (buf != MAP_FAILED)
		munmap(buf, size);
	if (fd >= 0)
		close(fd);
	return rv;
}

int store_rlog_scan(struct store *s, uint64_t seq_min,
		    store_rlog_rec_fn *fn, void *ctx, uint64_t *torn)
{
	int rv = list_segments(s);

	*torn = 0;
	if (rv != COORD_OK)
		return rv;
	if (s->n_segs == 0 || s->segs[s->n_segs - 1].seq < seq_min) {
		char name[64];

		store_seg_name(name, sizeof(name), seq_min);
		store_errf(s, "the raft log segment %s is missing (the store "
			      "recorded that it was created)", name);
		return COORD_ECORRUPT;
	}
	for (size_t i = 1; i < s->n_segs; i++) {
		if (s->segs[i].seq != s->segs[i - 1].seq + 1) {
			char name[64];

			store_seg_name(name, sizeof(name),
				       s->segs[i - 1].seq + 1);
			store_errf(s, "the raft log segment %s is missing "
				      "(segments before and after it exist)",
				   name);
			return COORD_ECORRUPT;
		}
	}
	for (size_t i = 0; i < s->n_segs && rv == COORD_OK; i++)
		rv = scan_segment(s, i, fn, ctx, torn);
	return rv;
}

int store_rlog_remove_all(struct store *s)
{
	int rv = list_segments(s);

	for (size_t i = 0; i < s->n_segs && rv == COORD_OK; i++) {
		char name[64];

		store_seg_name(name, sizeof(name), s->segs[i].seq);
		if (unlinkat(s->log_dirfd, name + sizeof(STORE_LOG_DIR), 0) !=
		    0)
			rv = io_error(s, "removing", name);
	}
	s->n_segs = 0;
	return rv;
}

/* Writes size zero bytes at the start of fd. */
static int zero_fill(int fd, size_t size)
{
	static uint8_t zeros[1 << 20];
	size_t off = 0;

	while (off < size) {
		size_t n = size - off < sizeof(zeros) ? size - off
						       : sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, (off_t)off);

		if (w <= 0)
			return w == 0 ? (errno = EIO, -1) : -1;
		off += (size_t)w;
	}
	return 0;
}

/* Fails the store for a write error. */
static int write_failed(struct store *s, const char *what, const char *name)
{
	s->failed = true;
	return io_error(s, what, name);
}

int store_rlog_rotate(struct store *s, const uint8_t *head, size_t len,
		      size_t need)
{
	uint64_t seq = s->n_segs > 0 ? s->segs[s->n_segs - 1].seq + 1 : 1;
	size_t size = s->seg_bytes, off;
	uint8_t *hdr = s->seg_head;
	char name[64];
	int fd, rv;

	COORD_ASSERT(len + STORE_SEG_HEAD <= sizeof(s->seg_head));
	if (s->failed) {
		store_errf(s, "starting a raft log segment: the store failed "
			      "earlier (a write error); close and reopen it");
		return COORD_EIO;
	}
	rv = segs_reserve(s, s->n_segs + 1);
	if (rv != COORD_OK)
		return rv;
	if (size < STORE_SEG_HEAD + len + need)
		size = STORE_SEG_HEAD + len + need;
	store_seg_name(name, sizeof(name), seq);
	hdr[STORE_FRAME_HEADER] = STORE_LREC_SEGMENT;
	memcpy(hdr + STORE_FRAME_HEADER + 1, STORE_SEG_MAGIC,
	       sizeof(STORE_SEG_MAGIC) - 1);
	store_put_be64(hdr + STORE_FRAME_HEADER + sizeof(STORE_SEG_MAGIC), seq);
	store_put_be64(hdr + STORE_FRAME_HEADER + sizeof(STORE_SEG_MAGIC) + 8,
		       size);
	off = store_frame_seal(hdr, STORE_SEG_HEAD_BODY);
	COORD_ASSERT(off == STORE_SEG_HEAD);
	memcpy(hdr + off, head, len);
	fd = openat(s->log_dirfd, STORE_SEG_TMP,
		    O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return write_failed(s, "creating", STORE_LOG_DIR "/"
					   STORE_SEG_TMP);
	/* Preallocated by writing zeros (not fallocate(), whose unwritten
	 * extents each append would convert): appends then change neither
	 * the file's size nor its extents, so fdatasync has no metadata to
	 * commit -- and a write cut short leaves zeros after it. */
	if (zero_fill(fd, size) != 0 ||
	    pwrite(fd, hdr, off + len, 0) != (ssize_t)(off + len) ||
	    rlog_sync(fd) != 0 ||
	    renameat(s->log_dirfd, STORE_SEG_TMP, s->log_dirfd,
		     name + sizeof(STORE_LOG_DIR)) != 0) {
		rv = write_failed(s, "preallocating", name);
		close(fd);
		return rv;
	}
	rv = fsync_dir(s);
	if (rv != COORD_OK) {
		s->failed = true;
		close(fd);
		return rv;
	}
	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = fd;
	s->log_off = off + len;
	s->log_size = size;
	s->segs[s->n_segs].seq = seq;
	s->segs[s->n_segs].last_index = 0;
	s->n_segs++;
	return COORD_OK;
}

uint64_t store_log_syncs(const struct store *s)
{
	return s->log_syncs;
}

int store_rlog_append(struct store *s, const uint8_t *buf, size_t len)
{
	char name[64];

	COORD_ASSERT(s->log_fd >= 0);
	COORD_ASSERT(s->log_off + len <= s->log_size);
	if (pwrite(s->log_fd, buf, len, (off_t)s->log_off) != (ssize_t)len ||
	    rlog_sync(s->log_fd) != 0) {
		store_seg_name(name, sizeof(name), s->segs[s->n_segs - 1].seq);
		return write_failed(s, "appending to", name);
	}
	s->log_off += len;
	s->log_syncs++;
	return COORD_OK;
}

size_t store_rlog_droppable(const struct store *s, uint64_t index,
			    size_t drop_min)
{
	size_t n = 0;

	/* A prefix only, never the segment being written: the segments
	 * that stay must be contiguous. */
	while (n + 1 < s->n_segs &&
	       (n < drop_min || s->segs[n].last_index <= index))
		n++;
	return n;
}

int store_rlog_drop(struct store *s, uint64_t index, size_t drop_min)
{
	size_t n = store_rlog_droppable(s, index, drop_min);

	if (n == 0)
		return COORD_OK;
	for (size_t i = 0; i < n; i++) {
		char name[64];

		store_seg_name(name, sizeof(name), s->segs[i].seq);
		if (unlinkat(s->log_dirfd, name + sizeof(STORE_LOG_DIR), 0) !=
		    0)
			return write_failed(s, "removing", name);
	}
	memmove(s->segs, s->segs + n, (s->n_segs - n) * sizeof(*s->segs));
	s->n_segs -= n;
	/* A removal that came back after a crash would leave a gap. */
	return fsync_dir(s);
}

void store_rlog_close(struct store *s)
{
	if (s->log_fd >= 0)
		close(s->log_fd);
	if (s->log_dirfd >= 0)
		close(s->log_dirfd);
	s->log_fd = -1;
	s->log_dirfd = -1;
	coord_free(s->alloc, s->segs);
	s->segs = NULL;
	s->n_segs = s->cap_segs = 0;
}
