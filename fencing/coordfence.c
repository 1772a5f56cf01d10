/*
 * fencing/coordfence.c: libcoordfence's fence store (see coordfence.h).
 *
 * In memory: a hash table of resource name -> highest admitted token.
 * On disk, in the store's directory:
 *
 *   LOCK    empty; held with flock(LOCK_EX) while a handle is open.
 *   FENCE   the 8-byte magic "CFENCE1\n", then records, one per token
 *           raise: crc32c (4 bytes, of the rest of the record) | name
 *           length (2) | token (8) | name. Integers little-endian.
 *
 * An admit that raises a token appends its record and fdatasync()s the
 * log before it answers; an admit of an equal token writes nothing (the
 * token is on disk already). The log is created and rewritten (when it
 * passes twice its live size plus FENCE_COMPACT_SLACK) as FENCE.tmp,
 * synced, renamed over FENCE, and the directory synced: FENCE always
 * holds every admitted token. Only the last record can be torn (each
 * append is synced before the next begins), so open drops a torn last
 * record and refuses any other damage.
 *
 * This file never talks to coordd: the online check of (lock, token)
 * belongs to libcoord (coord_lock_check()).
 */
#include "fencing/coordfence.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "proto/errors.h"

/* The codes shared with coord's table keep its numbers. */
_Static_assert((int)COORDFENCE_EINVAL == (int)COORD_EINVAL, "EINVAL");
_Static_assert((int)COORDFENCE_ENOMEM == (int)COORD_ENOMEM, "ENOMEM");
_Static_assert((int)COORDFENCE_EIO == (int)COORD_EIO, "EIO");
_Static_assert((int)COORDFENCE_ECORRUPT == (int)COORD_ECORRUPT, "ECORRUPT");
_Static_assert((int)COORDFENCE_ESTALE == (int)COORD_EFENCED, "ESTALE is EFENCED");
_Static_assert((int)COORDFENCE_ENOTFOUND == (int)COORD_ENOTFOUND, "ENOTFOUND");
_Static_assert(COORDFENCE_RESOURCE_MAX <= UINT16_MAX, "length field");

#define FENCE_MAGIC "CFENCE1\n"
#define FENCE_MAGIC_LEN 8
#define FENCE_REC_HDR 14 /* crc 4 + length 2 + token 8 */
#define FENCE_REC_MAX (FENCE_REC_HDR + COORDFENCE_RESOURCE_MAX)
/* Bytes of dead records the log may carry beyond its live size before a
 * rewrite: a rewrite costs the live size, so rewriting at 2 x live +
 * slack keeps the cost per admit constant. */
#define FENCE_COMPACT_SLACK 4096
#define FENCE_ERRMSG_MAX 256

struct fence_entry {
	struct fence_entry *next;
	uint64_t token;
	uint16_t len;
	unsigned char name[];
};

struct coordfence {
	pthread_mutex_t mu;
	int dir_fd;
	int lock_fd;
	int log_fd;
	struct fence_entry **buckets;
	size_t buckets_n;            /* a power of 2 */
	size_t count;
	size_t resources_max;
	uint64_t log_bytes;          /* FENCE's size */
	uint64_t live_bytes;         /* the records of the live entries */
	bool broken;                 /* a write or sync failed */
	char errmsg[FENCE_ERRMSG_MAX];
};

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* FNV-1a. */
static uint64_t fence_hash(const void *name, size_t len)
{
	const unsigned char *p = name;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct fence_entry **fence_slot(struct coordfence *f,
				       const void *name, size_t len)
{
	struct fence_entry **e =
		&f->buckets[fence_hash(name, len) & (f->buckets_n - 1)];

	while (*e != NULL &&
	       ((*e)->len != len || memcmp((*e)->name, name, len) != 0))
		e = &(*e)->next;
	return e;
}

/* Doubles the table when it is full; only memory, nothing changes on
 * failure. */
static int fence_grow(struct coordfence *f)
{
	size_t n = f->buckets_n * 2;
	struct fence_entry **b;

	if (f->count < f->buckets_n)
		return COORDFENCE_OK;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return COORDFENCE_ENOMEM;
	for (size_t i = 0; i < f->buckets_n; i++) {
		struct fence_entry *e = f->buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t j = fence_hash(e->name, e->len) & (n - 1);

			next = e->next;
			e->next = b[j];
			b[j] = e;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->buckets_n = n;
	return COORDFENCE_OK;
}

/* A new entry at slot (which fence_slot() found empty for name). The
 * caller has grown the table first. */
static struct fence_entry *fence_entry_new(const void *name, size_t len,
					   uint64_t token)
{
	struct fence_entry *e = malloc(sizeof(*e) + len);

	if (e == NULL)
		return NULL;
	e->next = NULL;
	e->token = token;
	e->len = (uint16_t)len;
	memcpy(e->name, name, len);
	return e;
}

static size_t fence_rec_encode(unsigned char *p, const void *name,
			       size_t len, uint64_t token)
{
	put_le(p + 4, len, 2);
	put_le(p + 6, token, 8);
	memcpy(p + FENCE_REC_HDR, name, len);
	put_le(p, store_crc32c(p + 4, FENCE_REC_HDR - 4 + len), 4);
	return FENCE_REC_HDR + len;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, unsigned char *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, p + done, n - done, (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* shorter than fstat said */
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
fence_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * Writes every live entry to FENCE.tmp, syncs it, renames it over FENCE
 * and syncs the directory; the new file becomes the log. Before the
 * rename, a failure leaves the old log as it was (COORDFENCE_EIO, the
 * store still usable); a failed directory sync after it breaks the
 * store (which name survives a crash is unknown, and both hold every
 * token so far, but a later append to the new one might be lost).
 */
static int fence_log_rewrite(struct coordfence *f)
{
	size_t cap = FENCE_MAGIC_LEN + (size_t)f->live_bytes, n;
	unsigned char *buf = malloc(cap);
	const char *what = "write";
	int fd = -1, rv = COORDFENCE_EIO;

	if (buf == NULL) {
		fence_msg(f->errmsg, sizeof(f->errmsg), "log rewrite: %s",
			  strerror(ENOMEM));
		return COORDFENCE_ENOMEM;
	}
	memcpy(buf, FENCE_MAGIC, FENCE_MAGIC_LEN);
	n = FENCE_MAGIC_LEN;
	for (size_t i = 0; i < f->buckets_n; i++)
		for (struct fence_entry *e = f->buckets[i]; e; e = e->next)
			n += fence_rec_encode(buf + n, e->name, e->len,
					      e->token);
	fd = openat(f->dir_fd, "FENCE.tmp",
		    O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0 || write_all(fd, buf, n) != 0 ||
	    (what = "sync", fdatasync(fd) != 0) ||
	    (what = "rename", renameat(f->dir_fd, "FENCE.tmp", f->dir_fd,
				       "FENCE") != 0)) {
		fence_msg(f->errmsg, sizeof(f->errmsg),
			  "log rewrite: %s FENCE.tmp: %s", what,
			  strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlinkat(f->dir_fd, "FENCE.tmp", 0);
		}
		goto out;
	}
	if (f->log_fd >= 0)
		close(f->log_fd);
	f->log_fd = fd;
	f->log_bytes = n;
	if (fsync(f->dir_fd) != 0) {
		fence_msg(f->errmsg, sizeof(f->errmsg),
			  "log rewrite: sync of the directory: %s",
			  strerror(errno));
		f->broken = true;
		goto out;
	}
	rv = COORDFENCE_OK;
out:
	free(buf);
	return rv;
}

/* Replays the log of buf (n bytes) into the table. A bad record that can
 * only be a torn last append sets *good to where it begins; any other
 * damage is COORDFENCE_ECORRUPT. */
static int fence_replay(struct coordfence *f, const unsigned char *buf,
			size_t n, size_t *good, char *err, size_t err_len)
{
	size_t pos = FENCE_MAGIC_LEN;

	if (n < FENCE_MAGIC_LEN || memcmp(buf, FENCE_MAGIC, FENCE_MAGIC_LEN)) {
		fence_msg(err, err_len, "FENCE is not a fence log (no magic)");
		return COORDFENCE_ECORRUPT;
	}
	while (pos < n) {
		size_t left = n - pos, len;
		uint64_t token;
		struct fence_entry **slot;

		len = left >= FENCE_REC_HDR ? get_le(buf + pos + 4, 2) : 0;
		if (left < FENCE_REC_HDR || len == 0 ||
		    len > COORDFENCE_RESOURCE_MAX ||
		    FENCE_REC_HDR + len > left ||
		    get_le(buf + pos, 4) !=
			    store_crc32c(buf + pos + 4,
					 FENCE_REC_HDR - 4 + len)) {
			/* A torn append: the last record, whose length (if
			 * garbage) cannot reach past one record's worth. */
			bool torn = (len >= 1 && len <= COORDFENCE_RESOURCE_MAX)
					    ? FENCE_REC_HDR + len >= left
					    : left <= FENCE_REC_MAX;
			if (!torn) {
				fence_msg(err, err_len,
					  "FENCE: bad record at offset %zu of "
					  "%zu",
					  pos, n);
				return COORDFENCE_ECORRUPT;
			}
			break;
		}
		token = get_le(buf + pos + 6, 8);
		slot = fence_slot(f, buf + pos + FENCE_REC_HDR, len);
		if (token == 0 || (*slot != NULL && token <= (*slot)->token)) {
			fence_msg(err, err_len,
				  "FENCE: token %llu at offset %zu does not "
				  "raise its resource's",
				  (unsigned long long)token, pos);
			return COORDFENCE_ECORRUPT;
		}
		if (*slot != NULL) {
			(*slot)->token = token;
		} else {
			if (fence_grow(f) != COORDFENCE_OK)
				return COORDFENCE_ENOMEM;
			slot = fence_slot(f, buf + pos + FENCE_REC_HDR, len);
			*slot = fence_entry_new(buf + pos + FENCE_REC_HDR, len,
						token);
			if (*slot == NULL)
				return COORDFENCE_ENOMEM;
			f->count++;
			f->live_bytes += FENCE_REC_HDR + len;
		}
		pos += FENCE_REC_HDR + len;
	}
	*good = pos;
	return COORDFENCE_OK;
}

/* Opens FENCE (creating an empty one) and replays it. */
static int fence_log_open(struct coordfence *f, char *err, size_t err_len)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t good = 0;
	int rv = COORDFENCE_EIO;

	f->log_fd = openat(f->dir_fd, "FENCE", O_RDWR | O_APPEND | O_CLOEXEC);
	if (f->log_fd < 0 && errno == ENOENT) {
		rv = fence_log_rewrite(f);
		if (rv != COORDFENCE_OK || f->broken) {
			fence_msg(err, err_len, "%s", f->errmsg);
			rv = rv != COORDFENCE_OK ? rv : COORDFENCE_EIO;
		}
		return rv;
	}
	if (f->log_fd < 0 || fstat(f->log_fd, &st) != 0) {
		fence_msg(err, err_len, "open FENCE: %s", strerror(errno));
		return COORDFENCE_EIO;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rv = COORDFENCE_ENOMEM;
		goto out;
	}
	if (read_all(f->log_fd, buf, (size_t)st.st_size) != 0) {
		fence_msg(err, err_len, "read FENCE: %s", strerror(errno));
		goto out;
	}
	rv = fence_replay(f, buf, (size_t)st.st_size, &good, err, err_len);
	if (rv != COORDFENCE_OK)
		goto out;
	/* Drop a torn last record, durably, before appending after it. */
	if (good < (size_t)st.st_size &&
	    (ftruncate(f->log_fd, (off_t)good) != 0 ||
	     fdatasync(f->log_fd) != 0)) {
		fence_msg(err, err_len, "truncate the torn end of FENCE: %s",
			  strerror(errno));
		rv = COORDFENCE_EIO;
		goto out;
	}
	f->log_bytes = good;
out:
	free(buf);
	return rv;
}

/* fsync()s the directory that holds dir (the one path names last). */
static int fence_sync_parent(const char *dir, char *err, size_t err_len)
{
	const char *slash = strrchr(dir, '/');
	char *parent;
	int fd, rv = COORDFENCE_OK;

	while (slash != NULL && slash > dir && slash[1] == '\0')
		slash = memrchr(dir, '/', (size_t)(slash - dir)); /* "a/b/" */
	if (slash == NULL)
		parent = strdup(".");
	else
		parent = strndup(dir, slash == dir ? 1 : (size_t)(slash - dir));
	if (parent == NULL)
		return COORDFENCE_ENOMEM;
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		fence_msg(err, err_len, "sync %s: %s", parent, strerror(errno));
		rv = COORDFENCE_EIO;
	}
	if (fd >= 0)
		close(fd);
	free(parent);
	return rv;
}

void coordfence_options_init(struct coordfence_options *o)
{
	o->resources_max = COORDFENCE_RESOURCES_MAX_DEFAULT;
}

int coordfence_open(const char *dir, const struct coordfence_options *o,
		    struct coordfence **out, char *err, size_t err_len)
{
	struct coordfence *f = NULL;
	int rv = COORDFENCE_EIO;

	fence_msg(err, err_len, "%s", "");
	if (out != NULL)
		*out = NULL;
	if (dir == NULL || out == NULL) {
		fence_msg(err, err_len, "no directory or no handle pointer");
		return COORDFENCE_EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL || (f->buckets = calloc(16, sizeof(*f->buckets))) == NULL) {
		free(f);
		return COORDFENCE_ENOMEM;
	}
	f->buckets_n = 16;
	f->dir_fd = f->lock_fd = f->log_fd = -1;
	f->resources_max = o != NULL && o->resources_max > 0
				   ? o->resources_max
				   : COORDFENCE_RESOURCES_MAX_DEFAULT;
	pthread_mutex_init(&f->mu, NULL);
	if (mkdir(dir, 0777) == 0) {
		/* A new store: its name must survive a crash as its tokens
		 * do, so the parent directory is synced. */
		rv = fence_sync_parent(dir, err, err_len);
		if (rv != COORDFENCE_OK)
			goto out;
		rv = COORDFENCE_EIO;
	} else if (errno != EEXIST) {
		fence_msg(err, err_len, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	f->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->dir_fd < 0) {
		fence_msg(err, err_len, "open %s: %s", dir, strerror(errno));
		goto out;
	}
	f->lock_fd = openat(f->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC,
			    0666);
	if (f->lock_fd < 0) {
		fence_msg(err, err_len, "open %s/LOCK: %s", dir,
			  strerror(errno));
		goto out;
	}
	if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			rv = COORDFENCE_ELOCKED;
		fence_msg(err, err_len, "lock %s/LOCK: %s", dir,
			  errno == EWOULDBLOCK ? "the store is open elsewhere"
					       : strerror(errno));
		goto out;
	}
	rv = fence_log_open(f, err, err_len);
out:
	if (rv != COORDFENCE_OK) {
		coordfence_close(f);
		return rv;
	}
	*out = f;
	return COORDFENCE_OK;
}

void coordfence_close(struct coordfence *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->buckets_n; i++) {
		struct fence_entry *e = f->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(f->buckets);
	if (f->log_fd >= 0)
		close(f->log_fd);
	if (f->lock_fd >= 0)
		close(f->lock_fd); /* releases the flock */
	if (f->dir_fd >= 0)
		close(f->dir_fd);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static bool fence_name_ok(const void *res, size_t len)
{
	return res != NULL && len >= 1 && len <= COORDFENCE_RESOURCE_MAX;
}

int coordfence_admit(struct coordfence *f, const void *res, size_t res_len,
		     uint64_t token)
{
	unsigned char rec[FENCE_REC_MAX];
	struct fence_entry **slot, *fresh = NULL;
	size_t n;
	int rv;

	if (f == NULL || !fence_name_ok(res, res_len) || token == 0)
		return COORDFENCE_EINVAL;
	pthread_mutex_lock(&f->mu);
	if (f->broken) {
		rv = COORDFENCE_EIO;
		goto out;
	}
	slot = fence_slot(f, res, res_len);
	if (*slot != NULL && token <= (*slot)->token) {
		rv = token == (*slot)->token ? COORDFENCE_OK : COORDFENCE_ESTALE;
		goto out;
	}
	if (*slot == NULL) {
		/* Everything that can fail in memory fails before the
		 * write: a token on disk is always the one in the table. */
		if (f->count >= f->resources_max) {
			fence_msg(f->errmsg, sizeof(f->errmsg),
				  "the store holds resources_max=%zu names",
				  f->resources_max);
			rv = COORDFENCE_EFULL;
			goto out;
		}
		rv = fence_grow(f);
		fresh = fence_entry_new(res, res_len, token);
		if (rv != COORDFENCE_OK || fresh == NULL) {
			rv = COORDFENCE_ENOMEM;
			goto out;
		}
		slot = fence_slot(f, res, res_len);
	}
	n = fence_rec_encode(rec, res, res_len, token);
	if (write_all(f->log_fd, rec, n) != 0 || fdatasync(f->log_fd) != 0) {
		fence_msg(f->errmsg, sizeof(f->errmsg),
			  "append to FENCE: %s", strerror(errno));
		f->broken = true;
		rv = COORDFENCE_EIO;
		goto out;
	}
	f->log_bytes += n;
	if (fresh != NULL) {
		*slot = fresh;
		fresh = NULL;
		f->count++;
		f->live_bytes += n;
	} else {
		(*slot)->token = token;
	}
	rv = COORDFENCE_OK;
	/* The token is durable: a failed rewrite leaves the old log (and
	 * its message), it does not fail this admit. */
	if (f->log_bytes > 2 * f->live_bytes + FENCE_COMPACT_SLACK)
		(void)fence_log_rewrite(f);
out:
	pthread_mutex_unlock(&f->mu);
	free(fresh);
	return rv;
}

int coordfence_highest(struct coordfence *f, const void *res, size_t res_len,
		       uint64_t *token)
{
	struct fence_entry *e;

	if (f == NULL || token == NULL || !fence_name_ok(res, res_len))
		return COORDFENCE_EINVAL;
	pthread_mutex_lock(&f->mu);
	e = *fence_slot(f, res, res_len);
	if (e != NULL)
		*token = e->token;
	pthread_mutex_unlock(&f->mu);
	return e != NULL ? COORDFENCE_OK : COORDFENCE_ENOTFOUND;
}

size_t coordfence_count(struct coordfence *f)
{
	size_t n;

	if (f == NULL)
		return 0;
	pthread_mutex_lock(&f->mu);
	n = f->count;
	pthread_mutex_unlock(&f->mu);
	return n;
}

void coordfence_errmsg(struct coordfence *f, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return;
	if (f == NULL) {
		buf[0] = '\0';
		return;
	}
	pthread_mutex_lock(&f->mu);
	fence_msg(buf, len, "%s", f->errmsg);
	pthread_mutex_unlock(&f->mu);
}

const char *coordfence_strerror(int code)
{
	switch (code) {
	case COORDFENCE_OK:
		return "success";
	case COORDFENCE_EINVAL:
		return "invalid argument";
	case COORDFENCE_ENOMEM:
		return "out of memory";
	case COORDFENCE_EIO:
		return "fence store I/O error";
	case COORDFENCE_ECORRUPT:
		return "fence store is corrupt";
	case COORDFENCE_ESTALE:
		return "stale token: a newer one was admitted";
	case COORDFENCE_ENOTFOUND:
		return "no token admitted for this resource";
	case COORDFENCE_ELOCKED:
		return "fence store is open in another process or handle";
	case COORDFENCE_EFULL:
		return "fence store holds its maximum of resources";
	default:
		return "unknown error";
	}
}
