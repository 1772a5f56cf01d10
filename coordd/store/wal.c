/*
 * coordd/store/wal.c: checks LevelDB's own files before LevelDB opens
 * them.
 *
 * LevelDB recovers from its write-ahead logs (NNNNNN.log) on open. Its
 * reader treats an incomplete record at the end of a log -- cut short, or
 * a zero-filled header -- as the end of the log and drops it silently: the
 * write that was being made when the process or machine died. That is the
 * torn tail of store.h, and this file finds it first so that it is
 * logged. Everything else LevelDB would either refuse (a checksum
 * mismatch, with paranoid_checks) or, worse, accept silently: a zeroed
 * header in the middle of a log makes LevelDB skip the rest of that 32 KiB
 * block and read on, and a missing log makes it recover without the
 * writes it held. Those are refused here, naming the file and offset.
 *
 * The formats are LevelDB's documented ones (doc/log_format.md: 32 KiB
 * blocks of records with a masked CRC32C, a 16-bit length and a type
 * FULL/FIRST/MIDDLE/LAST; the MANIFEST is a log of VersionEdits). We read
 * only; LevelDB stays the only writer of its files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "proto/errors.h"

#define WAL_BLOCK 32768
#define WAL_HEADER 7

enum {
	WAL_ZERO = 0,
	WAL_FULL = 1,
	WAL_FIRST = 2,
	WAL_MIDDLE = 3,
	WAL_LAST = 4,
};

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Appends to the reassembly buffer. */
static int frag_append(uint8_t **buf, size_t *cap, size_t *len,
		       const uint8_t *p, size_t n,
		       const struct coord_allocator *alloc)
{
	int rv = store_buf_reserve(alloc, buf, cap, *len + n);

	if (rv != COORD_OK)
		return rv;
	if (n > 0)
		memcpy(*buf + *len, p, n);
	*len += n;
	return COORD_OK;
}

int store_wal_scan(const uint8_t *buf, size_t len, struct store_wal_scan *out,
		   int (*rec)(void *ctx, const uint8_t *data, size_t len),
		   void *ctx, uint8_t **scratch, size_t *scratch_cap,
		   const struct coord_allocator *alloc)
{
	size_t pos = 0, frag_start = 0, frag_len = 0;
	bool in_frag = false;
	int rv;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		size_t left = WAL_BLOCK - pos % WAL_BLOCK;
		size_t avail = len - pos < left ? len - pos : left;
		const uint8_t *h = buf + pos;
		size_t n;
		unsigned type;
		const uint8_t *data;

		if (left < WAL_HEADER) {
			/* A block's trailer: skipped, as LevelDB does. */
			pos += avail;
			continue;
		}
		if (avail < WAL_HEADER) {
			/* A header cut short by the end of the file. */
			out->torn_bytes = len - (in_frag ? frag_start : pos);
			return COORD_OK;
		}
		n = (size_t)h[4] | (size_t)h[5] << 8;
		type = h[6];
		if (type == WAL_ZERO && n == 0) {
			if (all_zero(h, len - pos)) {
				/* A zero-filled tail: space the file system
				 * allocated for a write that never landed. */
				out->torn_bytes =
					len - (in_frag ? frag_start : pos);
				return COORD_OK;
			}
			out->bad_offset = pos;
			out->bad_reason = "zeroed record header before the end "
					  "of the log (LevelDB would skip the "
					  "rest of the block)";
			return COORD_OK;
		}
		if (WAL_HEADER + n > avail) {
			if (avail < left) {
				/* The last record, cut short by the end of the
				 * file: a torn write. */
				out->torn_bytes =
					len - (in_frag ? frag_start : pos);
				return COORD_OK;
			}
			out->bad_offset = pos;
			out->bad_reason = "bad record length";
			return COORD_OK;
		}
		if (store_crc32c_unmask(h[0] | (uint32_t)h[1] << 8 |
					(uint32_t)h[2] << 16 |
					(uint32_t)h[3] << 24) !=
		    store_crc32c(h + 6, 1 + n)) {
			out->bad_offset = pos;
			out->bad_reason = "checksum mismatch";
			return COORD_OK;
		}
		data = h + WAL_HEADER;
		switch (type) {
		case WAL_FULL:
		case WAL_FIRST:
			/* An empty FIRST left by old writers at a block's end
			 * may precede a FULL or FIRST; anything else may not. */
			if (in_frag && frag_len > 0) {
				out->bad_offset = frag_start;
				out->bad_reason = "partial record without end";
				return COORD_OK;
			}
			if (type == WAL_FULL) {
				in_frag = false;
				out->records++;
				out->good_bytes = pos + WAL_HEADER + n;
				if (rec != NULL && (rv = rec(ctx, data, n)) != 0)
					return rv;
				break;
			}
			in_frag = true;
			frag_start = pos;
			frag_len = 0;
			rv = frag_append(scratch, scratch_cap, &frag_len, data,
					 n, alloc);
			if (rv != COORD_OK)
				return rv;
			break;
		case WAL_MIDDLE:
		case WAL_LAST:
			if (!in_frag) {
				out->bad_offset = pos;
				out->bad_reason =
					"missing start of fragmented record";
				return COORD_OK;
			}
			rv = frag_append(scratch, scratch_cap, &frag_len, data,
					 n, alloc);
			if (rv != COORD_OK)
				return rv;
			if (type == WAL_MIDDLE)
				break;
			in_frag = false;
			out->records++;
			out->good_bytes = pos + WAL_HEADER + n;
			if (rec != NULL &&
			    (rv = rec(ctx, *scratch, frag_len)) != 0)
				return rv;
			break;
		default:
			out->bad_offset = pos;
			out->bad_reason = "unknown record type";
			return COORD_OK;
		}
		pos += WAL_HEADER + n;
	}
	if (in_frag)
		out->torn_bytes = len - frag_start;
	return COORD_OK;
}

/* Reads a whole file into allocator memory. -ENOENT-like: COORD_ENOTFOUND. */
static int file_read(struct store *s, const char *path, uint8_t **out,
		     size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	int fd, rv = COORD_OK;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return COORD_ENOTFOUND;
		store_errf(s, "cannot open %s: %s", path, strerror(errno));
		return COORD_EIO;
	}
	if (fstat(fd, &st) != 0) {
		store_errf(s, "cannot stat %s: %s", path, strerror(errno));
		rv = COORD_EIO;
		goto out;
	}
	rv = store_buf_reserve(s->alloc, &buf, &cap, (size_t)st.st_size + 1);
	if (rv != COORD_OK) {
		store_errf(s, "out of memory reading %s", path);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			rv = store_buf_reserve(s->alloc, &buf, &cap, cap * 2);
			if (rv != COORD_OK) {
				store_errf(s, "out of memory reading %s", path);
				goto out;
			}
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			store_errf(s, "cannot read %s: %s", path,
				   strerror(errno));
			rv = COORD_EIO;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	buf = NULL;
out:
	coord_free(s->alloc, buf);
	close(fd);
	return rv;
}

/* "NNNNNN.ext" -> number; false for anything else. */
static bool file_number(const char *name, const char *ext, uint64_t *num)
{
	size_t n = strlen(name), e = strlen(ext);
	uint64_t v = 0;

	if (n <= e || strcmp(name + n - e, ext) != 0)
		return false;
	for (size_t i = 0; i < n - e; i++) {
		if (name[i] < '0' || name[i] > '9' || v > UINT64_MAX / 10 - 1)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*num = v;
	return true;
}

/* A cursor over a VersionEdit. */
struct edit_cursor {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static uint64_t edit_varint(struct edit_cursor *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (c->p >= c->end) {
			c->bad = true;
			return 0;
		}
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return v;
	}
	c->bad = true;
	return 0;
}

static void edit_slice(struct edit_cursor *c)
{
	uint64_t n = edit_varint(c);

	if (c->bad || n > (uint64_t)(c->end - c->p)) {
		c->bad = true;
		return;
	}
	c->p += n;
}

struct manifest_state {
	uint64_t log_number;
	bool bad;
};

/* One VersionEdit of the MANIFEST: we need only the log number (the
 * oldest write-ahead log LevelDB still needs); the rest is skipped, with
 * its shape checked. */
static int manifest_edit(void *ctx, const uint8_t *data, size_t len)
{
	struct manifest_state *m = ctx;
	struct edit_cursor c = { data, data + len, false };

	while (!c.bad && c.p < c.end) {
		uint64_t tag = edit_varint(&c);

		switch (tag) {
		case 1: /* comparator */
			edit_slice(&c);
			break;
		case 2: /* log number */
			m->log_number = edit_varint(&c);
			break;
		case 3: /* next file number */
		case 4: /* last sequence */
		case 9: /* previous log number */
			edit_varint(&c);
			break;
		case 5: /* compact pointer */
			edit_varint(&c);
			edit_slice(&c);
			break;
		case 6: /* deleted file */
			edit_varint(&c);
			edit_varint(&c);
			break;
		case 7: /* new file */
			edit_varint(&c);
			edit_varint(&c);
			edit_varint(&c);
			edit_slice(&c);
			edit_slice(&c);
			break;
		default:
			c.bad = true;
			break;
		}
	}
	m->bad = m->bad || c.bad;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct dir_files {
	bool current;
	size_t tables;              /* .ldb and .sst */
	uint64_t *logs;
	size_t n_logs;
	size_t cap_logs;
};

static int dir_list(struct store *s, const char *dir, struct dir_files *f,
		    bool *missing)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rv = COORD_OK;

	*missing = false;
	if (d == NULL) {
		if (errno == ENOENT) {
			*missing = true;
			return COORD_OK;
		}
		store_errf(s, "cannot read the data dir %s: %s", dir,
			   strerror(errno));
		return COORD_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t num;

		if (strcmp(de->d_name, "CURRENT") == 0) {
			f->current = true;
		} else if (file_number(de->d_name, ".ldb", &num) ||
			   file_number(de->d_name, ".sst", &num)) {
			f->tables++;
		} else if (file_number(de->d_name, ".log", &num)) {
			size_t cap = f->cap_logs;
			uint8_t *p = (uint8_t *)f->logs;

			rv = store_buf_reserve(s->alloc, &p, &cap,
					       (f->n_logs + 1) * sizeof(num));
			if (rv != COORD_OK) {
				store_errf(s, "out of memory listing %s", dir);
				break;
			}
			f->logs = (uint64_t *)(void *)p;
			f->cap_logs = cap;
			f->logs[f->n_logs++] = num;
		}
	}
	closedir(d);
	if (f->n_logs > 1)
		qsort(f->logs, f->n_logs, sizeof(*f->logs), u64_cmp);
	return rv;
}

/* Reads CURRENT and the MANIFEST it names; sets *log_number. */
static int manifest_check(struct store *s, const char *dir,
			  uint64_t *log_number, uint8_t **scratch,
			  size_t *scratch_cap)
{
	char path[4096], name[64];
	uint8_t *buf = NULL;
	size_t len, n;
	struct store_wal_scan scan;
	struct manifest_state m = { 0, false };
	uint64_t num;
	int rv;

	snprintf(path, sizeof(path), "%s/CURRENT", dir);
	rv = file_read(s, path, &buf, &len);
	if (rv == COORD_ENOTFOUND) {
		store_errf(s, "LevelDB's CURRENT file vanished from %s", dir);
		return COORD_ECORRUPT;
	}
	if (rv != COORD_OK)
		return rv;
	n = len;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (len == 0 || buf[len - 1] != '\n' || n >= sizeof(name)) {
		store_errf(s, "LevelDB's CURRENT file in %s is damaged "
			      "(%zu bytes, not a MANIFEST name)", dir, len);
		coord_free(s->alloc, buf);
		return COORD_ECORRUPT;
	}
	memcpy(name, buf, n);
	name[n] = '\0';
	coord_free(s->alloc, buf);
	buf = NULL;
	if (strncmp(name, "MANIFEST-", 9) != 0 ||
	    !file_number(name + 9, "", &num) || strchr(name, '/') != NULL) {
		store_errf(s, "LevelDB's CURRENT file in %s is damaged "
			      "(it names \"%s\")", dir, name);
		return COORD_ECORRUPT;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rv = file_read(s, path, &buf, &len);
	if (rv == COORD_ENOTFOUND) {
		store_errf(s, "LevelDB's CURRENT names %s, which is missing "
			      "from %s", name, dir);
		return COORD_ECORRUPT;
	}
	if (rv != COORD_OK)
		return rv;
	rv = store_wal_scan(buf, len, &scan, manifest_edit, &m, scratch,
			    scratch_cap, s->alloc);
	coord_free(s->alloc, buf);
	if (rv != COORD_OK) {
		store_errf(s, "out of memory reading %s", name);
		return rv;
	}
	if (scan.bad_reason != NULL) {
		store_errf(s, "%s/%s is damaged at offset %" PRIu64 ": %s",
			   dir, name, scan.bad_offset, scan.bad_reason);
		return COORD_ECORRUPT;
	}
	if (m.bad || scan.records == 0) {
		store_errf(s, "%s/%s is damaged: %s", dir, name,
			   m.bad ? "a version edit does not parse"
				 : "it holds no version edit");
		return COORD_ECORRUPT;
	}
	if (scan.torn_bytes > 0)
		store_logf(s, STORE_LOG_INFO,
			   "torn manifest tail file=%s offset=%" PRIu64
			   " bytes=%" PRIu64
			   ": an unfinished version edit, ignored by LevelDB",
			   name, scan.good_bytes, scan.torn_bytes);
	*log_number = m.log_number;
	return COORD_OK;
}

int store_wal_check(struct store *s, const char *dir, bool *exists,
		    uint64_t *torn_bytes)
{
	struct dir_files f = { false, 0, NULL, 0, 0 };
	uint8_t *scratch = NULL, *buf = NULL;
	size_t scratch_cap = 0;
	uint64_t log_number = 0;
	bool missing, found = false;
	int rv;

	*exists = false;
	*torn_bytes = 0;
	rv = dir_list(s, dir, &f, &missing);
	if (rv != COORD_OK || missing)
		goto out;
	if (!f.current) {
		if (f.n_logs == 0 && f.tables == 0)
			goto out;   /* nothing written yet: a new store */
		store_errf(s, "LevelDB's CURRENT file is missing from %s, "
			      "which holds %zu log and %zu table files",
			   dir, f.n_logs, f.tables);
		rv = COORD_ECORRUPT;
		goto out;
	}
	*exists = true;
	rv = manifest_check(s, dir, &log_number, &scratch, &scratch_cap);
	if (rv != COORD_OK)
		goto out;
	for (size_t i = 0; i < f.n_logs; i++)
		found = found || f.logs[i] == log_number;
	if (log_number > 0 && !found) {
		store_errf(s, "the write-ahead log %06" PRIu64 ".log that the "
			      "MANIFEST names is missing from %s: the writes "
			      "it held are lost", log_number, dir);
		rv = COORD_ECORRUPT;
		goto out;
	}
	for (size_t i = 0; i < f.n_logs; i++) {
		char path[4096];
		size_t len;
		struct store_wal_scan scan;

		if (f.logs[i] < log_number)
			continue;   /* obsolete: LevelDB ignores and removes it */
		snprintf(path, sizeof(path), "%s/%06" PRIu64 ".log", dir,
			 f.logs[i]);
		rv = file_read(s, path, &buf, &len);
		if (rv == COORD_ENOTFOUND) {
			store_errf(s, "%s vanished while the store opened",
				   path);
			rv = COORD_EIO;
		}
		if (rv != COORD_OK)
			goto out;
		rv = store_wal_scan(buf, len, &scan, NULL, NULL, &scratch,
				    &scratch_cap, s->alloc);
		coord_free(s->alloc, buf);
		buf = NULL;
		if (rv != COORD_OK) {
			store_errf(s, "out of memory reading %s", path);
			goto out;
		}
		if (scan.bad_reason != NULL) {
			store_errf(s, "write-ahead log %s is damaged at offset "
				      "%" PRIu64 ": %s", path, scan.bad_offset,
				   scan.bad_reason);
			rv = COORD_ECORRUPT;
			goto out;
		}
		if (scan.torn_bytes > 0) {
			*torn_bytes += scan.torn_bytes;
			store_logf(s, STORE_LOG_WARN,
				   "torn tail file=%06" PRIu64 ".log offset=%"
				   PRIu64 " bytes=%" PRIu64
				   ": an incomplete write that was never synced "
				   "(a crash while it was written) is dropped",
				   f.logs[i], scan.good_bytes, scan.torn_bytes);
		}
	}
out:
	coord_free(s->alloc, scratch);
	coord_free(s->alloc, f.logs);
	return rv;
}
