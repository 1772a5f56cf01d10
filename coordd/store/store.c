/*
 * coordd/store/store.c: opening, recovering and writing the store (see
 * store.h for the layout and the guarantees). Never interprets entry data
 * or fsm records.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/failpoint.h"
#include "coordd/store/store_int.h"
#include "proto/assert.h"
#include "proto/errors.h"

void store_options_default(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->create_if_missing = true;
	o->compression = true;
	o->snapshot_chunk_bytes = STORE_SNAPSHOT_CHUNK_BYTES;
}

void store_errf(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

void store_logf(struct store *s, enum store_log_level level, const char *fmt,
		...)
{
	char line[STORE_ERRMSG_MAX];
	va_list ap;

	if (s->opts.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->opts.log(s->opts.log_ctx, level, line);
}

int store_leveldb_error(struct store *s, char *err, const char *what)
{
	size_t n = strlen(err);
	int code = COORD_EIO;

	if (strncmp(err, "Corruption", 10) == 0)
		code = COORD_ECORRUPT;
	else if (strncmp(err, "Invalid argument", 16) == 0)
		code = COORD_EINVAL;
	/* LevelDB reads its tables through mmap and reports a read past the
	 * end of the file -- a table shorter than its own index says, a
	 * truncated file -- as EINVAL: damage, not a failing disk. */
	else if (strncmp(err, "IO error", 8) == 0 && n > 16 &&
		 strcmp(err + n - 16, "Invalid argument") == 0)
		code = COORD_ECORRUPT;
	store_errf(s, "%s: %s", what, err);
	leveldb_free(err);
	return code;
}

int store_batch_write(struct store *s, leveldb_writebatch_t *batch, bool sync,
		      const char *what)
{
	char *err = NULL;

	if (s->failed) {
		store_errf(s, "%s: the store failed earlier (a write error); "
			      "close and reopen it", what);
		return COORD_EIO;
	}
	if (sync && FAILPOINT(FAILPOINT_STORE_SYNC) == FAILPOINT_ERROR) {
		/* The failpoint: a synced write whose sync failed. */
		s->failed = true;
		store_errf(s, "%s: IO error: %s", what, strerror(EIO));
		return COORD_EIO;
	}
	leveldb_write(s->db, sync ? s->wsync : s->wnosync, batch, &err);
	if (err != NULL) {
		s->failed = true;
		return store_leveldb_error(s, err, what);
	}
	return COORD_OK;
}

int store_buf_reserve(const struct coord_allocator *a, uint8_t **buf,
		      size_t *cap, size_t n)
{
	size_t c = *cap > 0 ? *cap : 64;
	uint8_t *p;

	if (n <= *cap)
		return COORD_OK;
	while (c < n) {
		if (c > SIZE_MAX / 2)
			return COORD_ENOMEM;
		c *= 2;
	}
	p = coord_realloc(a, *buf, c);
	if (p == NULL)
		return COORD_ENOMEM;
	*buf = p;
	*cap = c;
	return COORD_OK;
}

/* An iterator over the current state with checksum verification. */
static leveldb_iterator_t *iter_new(struct store *s)
{
	return leveldb_create_iterator(s->db, s->ropts);
}

/* COORD_OK, or the iterator's error mapped into s->errmsg. */
static int iter_status(struct store *s, leveldb_iterator_t *it,
		       const char *what)
{
	char *err = NULL;

	leveldb_iter_get_error(it, &err);
	return err == NULL ? COORD_OK : store_leveldb_error(s, err, what);
}

int store_gen_delete(struct store *s, uint32_t gen, uint64_t *n)
{
	uint8_t prefix[STORE_FSM_PREFIX_LEN];
	leveldb_iterator_t *it;
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	size_t in_batch = 0;
	int rv = COORD_OK;

	*n = 0;
	store_fsm_prefix(prefix, gen);
	it = iter_new(s);
	for (leveldb_iter_seek(it, (const char *)prefix, sizeof(prefix));
	     leveldb_iter_valid(it); leveldb_iter_next(it)) {
		size_t klen;
		const char *k = leveldb_iter_key(it, &klen);

		if (klen < sizeof(prefix) || memcmp(k, prefix, sizeof(prefix)))
			break;
		leveldb_writebatch_delete(b, k, klen);
		(*n)++;
		if (++in_batch == STORE_DELETE_BATCH) {
			rv = store_batch_write(s, b, false,
					       "removing a snapshot staging");
			if (rv != COORD_OK)
				goto out;
			leveldb_writebatch_clear(b);
			in_batch = 0;
		}
	}
	rv = iter_status(s, it, "reading a snapshot staging");
	if (rv == COORD_OK && in_batch > 0)
		rv = store_batch_write(s, b, false,
				       "removing a snapshot staging");
out:
	leveldb_iter_destroy(it);
	leveldb_writebatch_destroy(b);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* Opening. */

static void put_rec(leveldb_writebatch_t *b, char tag, const uint8_t *v,
		    size_t len)
{
	leveldb_writebatch_put(b, &tag, 1, (const char *)v, len);
}

static void put_u64(leveldb_writebatch_t *b, char tag, uint64_t value)
{
	uint8_t v[STORE_APPLIED_LEN];

	put_rec(b, tag, v, store_rec_u64_encode(v, tag, value));
}

static void put_gen(leveldb_writebatch_t *b, uint32_t gen)
{
	uint8_t v[STORE_GEN_LEN];

	put_rec(b, STORE_TAG_GEN, v, store_rec_gen_encode(v, gen));
}

/* meta was validated by the caller (conf sizes). */
static void put_meta(leveldb_writebatch_t *b,
		     const struct raft_snapshot_meta *meta)
{
	uint8_t v[STORE_META_MAX];
	size_t len;
	int rv = store_rec_meta_encode(v, meta, &len);

	COORD_ASSERT(rv == COORD_OK);
	put_rec(b, STORE_TAG_META, v, len);
}

/* Reads one single-byte-key record: COORD_OK with *v (free with
 * leveldb_free) or NULL when absent. */
static int get_rec(struct store *s, char tag, char **v, size_t *len)
{
	char *err = NULL;

	*v = leveldb_get(s->db, s->ropts, &tag, 1, len, &err);
	if (err != NULL) {
		char what[64];

		snprintf(what, sizeof(what), "reading the '%c' record", tag);
		return store_leveldb_error(s, err, what);
	}
	return COORD_OK;
}

/* Sets s->errmsg to head, the formatted message and tail; returns code. */
static int fail_v(struct store *s, int code, const char *head,
		  const char *tail, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static int fail_v(struct store *s, int code, const char *head,
		  const char *tail, const char *fmt, va_list ap)
{
	char msg[STORE_ERRMSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	store_errf(s, "%s%s%s", head, msg, tail);
	return code;
}

static int refuse(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* COORD_ECORRUPT with the message and the remedy. */
static int refuse(struct store *s, const char *fmt, ...)
{
	va_list ap;
	int rv;

	va_start(ap, fmt);
	rv = fail_v(s, COORD_ECORRUPT, "corrupt store: ", " -- " STORE_REMEDY,
		    fmt, ap);
	va_end(ap);
	return rv;
}

static int leveldb_setup(struct store *s, bool create)
{
	const struct store_options *o = &s->opts;

	s->lopts = leveldb_options_create();
	s->cache = leveldb_cache_create_lru(o->cache_bytes > 0 ? o->cache_bytes
							      : 8u << 20);
	s->filter = leveldb_filterpolicy_create_bloom(10);
	s->ropts = leveldb_readoptions_create();
	s->wsync = leveldb_writeoptions_create();
	s->wnosync = leveldb_writeoptions_create();
	s->batch = leveldb_writebatch_create();
	leveldb_options_set_create_if_missing(s->lopts, create);
	leveldb_options_set_paranoid_checks(s->lopts, 1);
	leveldb_options_set_compression(s->lopts,
					o->compression
						? leveldb_snappy_compression
						: leveldb_no_compression);
	leveldb_options_set_cache(s->lopts, s->cache);
	leveldb_options_set_filter_policy(s->lopts, s->filter);
	if (o->write_buffer_bytes > 0)
		leveldb_options_set_write_buffer_size(s->lopts,
						      o->write_buffer_bytes);
	if (o->max_file_bytes > 0)
		leveldb_options_set_max_file_size(s->lopts, o->max_file_bytes);
	leveldb_readoptions_set_verify_checksums(s->ropts, 1);
	leveldb_writeoptions_set_sync(s->wsync, 1);
	leveldb_writeoptions_set_sync(s->wnosync, 0);
	return COORD_OK;
}

/*
 * The data dirs this process holds, by the identity of their LOCK file.
 * POSIX record locks belong to the process, and closing any descriptor of
 * a file drops all of them: a second store_open() of a held dir must not
 * so much as open the LOCK file, or its failure would unlock the first.
 * (LevelDB keeps a table like this one for the same reason.) Entries of
 * another pid were inherited through fork() and do not count.
 */
static pthread_mutex_t dir_locks_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store *dir_locks;

static bool dir_held(dev_t dev, ino_t ino)
{
	for (struct store *s = dir_locks; s != NULL; s = s->lock_next)
		if (s->lock_dev == dev && s->lock_ino == ino &&
		    s->lock_pid == getpid())
			return true;
	return false;
}

/* Takes LevelDB's LOCK ourselves for the checks that run before LevelDB
 * opens (so that no live process writes what we scan). The fd stays open
 * until store_close(), after LevelDB is closed. */
static int dir_lock(struct store *s, const char *dir)
{
	char path[4096];
	struct flock fl;
	struct stat st;
	int rv = COORD_EIO;

	snprintf(path, sizeof(path), "%s/LOCK", dir);
	pthread_mutex_lock(&dir_locks_mu);
	if (stat(path, &st) == 0 && dir_held(st.st_dev, st.st_ino)) {
		store_errf(s, "the data dir %s is already open in this "
			      "process", dir);
		goto out;
	}
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		store_errf(s, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(s->lock_fd, &st) != 0) {
		store_errf(s, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(s->lock_fd, F_SETLK, &fl) != 0) {
		store_errf(s, "cannot lock %s (%s): is another coordd using "
			      "this data dir?", path, strerror(errno));
		goto out;
	}
	s->lock_dev = st.st_dev;
	s->lock_ino = st.st_ino;
	s->lock_pid = getpid();
	s->lock_next = dir_locks;
	dir_locks = s;
	s->lock_held = true;
	rv = COORD_OK;
out:
	pthread_mutex_unlock(&dir_locks_mu);
	return rv;
}

static void dir_unlock(struct store *s)
{
	pthread_mutex_lock(&dir_locks_mu);
	if (s->lock_held) {
		struct store **p = &dir_locks;

		while (*p != s)
			p = &(*p)->lock_next;
		*p = s->lock_next;
		s->lock_held = false;
	}
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
	pthread_mutex_unlock(&dir_locks_mu);
}

/* A hard state record: its frame at out; returns the frame's length. */
static size_t frame_hard(uint8_t *out, const struct raft_hard_state *hs)
{
	uint8_t *b = out + STORE_FRAME_HEADER;

	b[0] = STORE_LREC_HARD;
	store_put_be64(b + 1, hs->term);
	store_put_be64(b + 9, hs->vote);
	store_put_be64(b + 17, hs->commit);
	return store_frame_seal(out, STORE_LREC_HARD_BODY);
}

static size_t frame_reset(uint8_t *out, uint64_t index, uint64_t term)
{
	uint8_t *b = out + STORE_FRAME_HEADER;

	b[0] = STORE_LREC_RESET;
	store_put_be64(b + 1, index);
	store_put_be64(b + 9, term);
	return store_frame_seal(out, STORE_LREC_RESET_BODY);
}

/* A new segment that starts with head (the hard state, after a reset
 * record when reset), and room for `need` bytes more; the store records
 * its number so that losing it is noticed. Not synced: the segment itself
 * is, and a record that lags only lets an older number be checked. */
static int new_segment(struct store *s, bool reset, size_t need)
{
	uint8_t head[2 * (STORE_FRAME_OVERHEAD + STORE_LREC_HARD_BODY)];
	leveldb_writebatch_t *b = s->batch;
	size_t len = 0;
	int rv;

	/* The frames queued go to the segment they were framed for. */
	rv = store_log_drain(s);
	if (rv != COORD_OK)
		return rv;
	if (reset)
		len = frame_reset(head, s->snap.index, s->snap.term);
	len += frame_hard(head + len, &s->hard.hs);
	rv = store_rlog_rotate(s, head, len, need);
	if (rv != COORD_OK)
		return rv;
	leveldb_writebatch_clear(b);
	put_u64(b, STORE_TAG_SEGMENT, s->segs[s->n_segs - 1].seq);
	rv = store_batch_write(s, b, false, "recording a new raft log segment");
	if (rv == COORD_OK)
		s->seg_seq_min = s->segs[s->n_segs - 1].seq;
	return rv;
}

/* A new store: the first segment, then the marker and the initial
 * records, synced (a crash before the marker leaves an empty database,
 * which is a new store again). */
static int init_new(struct store *s, const char *dir)
{
	uint8_t v[STORE_VERSION_LEN];
	leveldb_writebatch_t *b = s->batch;
	int rv;

	s->hard.first = 1;
	rv = store_rlog_dir_open(s, dir, true);
	if (rv == COORD_OK)
		rv = store_rlog_remove_all(s);
	if (rv == COORD_OK)
		rv = new_segment(s, false, 0);
	if (rv != COORD_OK)
		return rv;
	leveldb_writebatch_clear(b);
	put_rec(b, STORE_TAG_VERSION, v, store_rec_version_encode(v));
	put_u64(b, STORE_TAG_APPLIED, 0);
	put_gen(b, 0);
	put_u64(b, STORE_TAG_SEGMENT, 1);
	return store_batch_write(s, b, true, "creating the store");
}

/* Is the database empty? */
static int db_empty(struct store *s, bool *empty)
{
	leveldb_iterator_t *it = iter_new(s);
	int rv;

	leveldb_iter_seek_to_first(it);
	*empty = !leveldb_iter_valid(it);
	rv = iter_status(s, it, "reading the store");
	leveldb_iter_destroy(it);
	return rv;
}

/* Reads V, M, A, G, L. */
static int load_records(struct store *s, const char *dir, bool *fresh)
{
	char *v[5] = { NULL, NULL, NULL, NULL, NULL };
	size_t len[5];
	static const char tags[5] = { STORE_TAG_VERSION, STORE_TAG_SEGMENT,
				      STORE_TAG_META, STORE_TAG_APPLIED,
				      STORE_TAG_GEN };
	static const char *const names[5] = { "format marker",
					      "raft log segment",
					      "snapshot metadata",
					      "applied index", "generation" };
	uint32_t version;
	int rv = COORD_OK, bad = -1;

	*fresh = false;
	for (int i = 0; i < 5 && rv == COORD_OK; i++)
		rv = get_rec(s, tags[i], &v[i], &len[i]);
	if (rv != COORD_OK)
		goto out;
	if (v[0] == NULL) {
		bool empty;

		rv = db_empty(s, &empty);
		if (rv != COORD_OK)
			goto out;
		if (!empty) {
			rv = refuse(s, "the format marker record is missing: "
				       "this is not a coord store, or its "
				       "marker was lost");
			goto out;
		}
		*fresh = true;
		rv = init_new(s, dir);
		goto out;
	}
	for (int i = 0; i < 5; i++) {
		if (v[i] == NULL && tags[i] != STORE_TAG_META) {
			rv = refuse(s, "the %s record is missing", names[i]);
			goto out;
		}
	}
	if (store_rec_version_decode((uint8_t *)v[0], len[0], &version) != 0)
		bad = 0;
	else if (store_rec_u64_decode((uint8_t *)v[1], len[1],
				      STORE_TAG_SEGMENT, &s->seg_seq_min) != 0)
		bad = 1;
	else if (v[2] != NULL &&
		 store_rec_meta_decode((uint8_t *)v[2], len[2], &s->snap) != 0)
		bad = 2;
	else if (store_rec_u64_decode((uint8_t *)v[3], len[3],
				      STORE_TAG_APPLIED, &s->applied) != 0)
		bad = 3;
	else if (store_rec_gen_decode((uint8_t *)v[4], len[4], &s->gen) != 0)
		bad = 4;
	if (bad >= 0) {
		rv = refuse(s, "the %s record fails its checksum or has a bad "
			       "length (%zu bytes)", names[bad], len[bad]);
		goto out;
	}
	if (version != STORE_FORMAT_VERSION) {
		rv = refuse(s, "unknown store format version %" PRIu32
			       " (this coordd writes version %u)",
			    version, STORE_FORMAT_VERSION);
		goto out;
	}
	leveldb_free(v[0]);
	v[0] = NULL;
	rv = get_rec(s, STORE_TAG_INSTALL, &v[0], &len[0]);
	if (rv == COORD_OK && v[0] != NULL &&
	    store_rec_u64_decode((uint8_t *)v[0], len[0], STORE_TAG_INSTALL,
				 &s->installed) != 0)
		rv = refuse(s, "the install record fails its checksum or has a "
			       "bad length (%zu bytes)", len[0]);
out:
	for (int i = 0; i < 5; i++)
		if (v[i] != NULL)
			leveldb_free(v[i]);
	return rv;
}

/* Appends a copy of e to the restore's log. */
static int restore_push(struct store_restore *rs, const struct raft_entry *e,
			size_t *cap)
{
	const struct coord_allocator *a = rs->alloc_;
	struct raft_entry *copy;

	if (rs->n_entries_ == *cap) {
		size_t c = *cap > 0 ? *cap * 2 : 64;
		struct raft_entry *p;

		if (c > SIZE_MAX / sizeof(*p))
			return COORD_ENOMEM;
		p = coord_realloc(a, rs->entries_, c * sizeof(*p));
		if (p == NULL)
			return COORD_ENOMEM;
		rs->entries_ = p;
		*cap = c;
	}
	copy = &rs->entries_[rs->n_entries_];
	*copy = *e;
	copy->data = NULL;
	if (e->len > 0) {
		copy->data = coord_malloc(a, e->len);
		if (copy->data == NULL)
			return COORD_ENOMEM;
		memcpy(copy->data, e->data, e->len);
	}
	rs->n_entries_++;
	return COORD_OK;
}

/* Drops the restore's entries from position n on. */
static void restore_truncate(struct store_restore *rs, size_t n)
{
	for (size_t i = n; i < rs->n_entries_; i++)
		coord_free(rs->alloc_, rs->entries_[i].data);
	if (n < rs->n_entries_)
		rs->n_entries_ = n;
}

/* Makes room for n terms. */
static int terms_reserve(struct store *s, size_t n)
{
	size_t c = s->cap_terms > 0 ? s->cap_terms : 16;
	struct store_term *p;

	if (n <= s->cap_terms)
		return COORD_OK;
	while (c < n)
		c *= 2;
	if (c > SIZE_MAX / sizeof(*p))
		return COORD_ENOMEM;
	p = coord_realloc(s->alloc, s->terms, c * sizeof(*p));
	if (p == NULL)
		return COORD_ENOMEM;
	s->terms = p;
	s->cap_terms = c;
	return COORD_OK;
}

/* The terms of the log: a new entry at index with term. */
static int terms_push(struct store *s, uint64_t index, uint64_t term)
{
	if (s->n_terms > 0 && s->terms[s->n_terms - 1].term == term)
		return COORD_OK;
	if (terms_reserve(s, s->n_terms + 1) != COORD_OK)
		return COORD_ENOMEM;
	s->terms[s->n_terms].first = index;
	s->terms[s->n_terms].term = term;
	s->n_terms++;
	return COORD_OK;
}

/* Forgets the terms of entries from index on. */
static void terms_truncate(struct store *s, uint64_t index)
{
	while (s->n_terms > 0 && s->terms[s->n_terms - 1].first >= index)
		s->n_terms--;
}

/* Forgets the terms of entries up to index. */
static void terms_compact(struct store *s, uint64_t index)
{
	size_t n = 0;

	while (n < s->n_terms &&
	       (n + 1 < s->n_terms ? s->terms[n + 1].first <= index + 1
				   : index >= s->hard.last))
		n++;
	memmove(s->terms, s->terms + n, (s->n_terms - n) * sizeof(*s->terms));
	s->n_terms -= n;
	if (s->n_terms > 0 && s->terms[0].first <= index)
		s->terms[0].first = index + 1;
}

/* The term of the stored entry at index (snapshot index <= index <=
 * last). */
static uint64_t term_at(const struct store *s, uint64_t index)
{
	size_t lo = 0, hi = s->n_terms;

	COORD_ASSERT(index >= s->snap.index && index <= s->hard.last);
	if (index == s->snap.index)
		return s->snap.term;
	COORD_ASSERT(s->n_terms > 0 && s->terms[0].first <= index);
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->terms[mid].first <= index)
			lo = mid;
		else
			hi = mid;
	}
	return s->terms[lo].term;
}

/* The state of a replay of the raft log: the log is the restore's entries
 * after base (the snapshot index), up to last. */
struct replay {
	struct store_restore *rs;
	size_t cap;
	uint64_t last;
	bool have_hs;
	struct raft_hard_state hs;
};

static int replay_entries(struct store *s, struct replay *r, size_t seg,
			  const char *name, const struct store_frame *f)
{
	uint64_t base = s->snap.index, first;
	struct store_run_cursor c;
	struct raft_entry e;
	int rv;

	if (f->len <= STORE_LREC_ENTRIES_HEAD)
		return refuse(s, "%s offset=%zu: an entries record of %zu "
				 "bytes", name, f->offset, f->len);
	first = store_get_be64(f->body + 1);
	if (store_rec_run_open(&c, first, f->body + STORE_LREC_ENTRIES_HEAD,
			       f->len - STORE_LREC_ENTRIES_HEAD) != COORD_OK)
		return refuse(s, "%s offset=%zu: the log record of entries from "
				 "index=%" PRIu64 " fails its checksum", name,
			      f->offset, first);
	/* Raft's rule: the record replaces whatever the log held from its
	 * first index on (a record at or below the snapshot, everything
	 * after the snapshot). */
	if (first <= r->last) {
		restore_truncate(r->rs, first > base ? (size_t)(first - base - 1)
						     : 0);
		r->last = first > base ? first - 1 : base;
	}
	while ((rv = store_rec_run_next(&c, &e)) == COORD_OK) {
		if (e.index <= base)
			continue;
		if (e.index > r->last + 1) {
			if (r->last == base)
				return refuse(s, "the log starts at index=%"
						 PRIu64 ", not right after the "
						 "snapshot index=%" PRIu64
						 " (entries %" PRIu64 "..%"
						 PRIu64 " are missing; %s)",
					      e.index, base, base + 1,
					      e.index - 1, name);
			return refuse(s, "hole in the log: entries index=%"
					 PRIu64 "..%" PRIu64 " are missing (%s "
					 "offset=%zu)", r->last + 1,
				      e.index - 1, name, f->offset);
		}
		rv = restore_push(r->rs, &e, &r->cap);
		if (rv != COORD_OK) {
			store_errf(s, "out of memory reading the log at index="
				      "%" PRIu64, e.index);
			return rv;
		}
		r->last = e.index;
	}
	if (rv != COORD_ENOTFOUND)
		return refuse(s, "%s offset=%zu: log entry index=%" PRIu64
				 " fails its checksum", name, f->offset,
			      first + c.i);
	if (first + c.count - 1 > s->segs[seg].last_index)
		s->segs[seg].last_index = first + c.count - 1;
	return COORD_OK;
}

static int replay_rec(struct store *s, void *ctx, size_t seg,
		      const char *name, const struct store_frame *f)
{
	struct replay *r = ctx;
	const uint8_t *b = f->body;

	switch (b[0]) {
	case STORE_LREC_ENTRIES:
		return replay_entries(s, r, seg, name, f);
	case STORE_LREC_HARD:
		if (f->len != STORE_LREC_HARD_BODY)
			break;
		r->have_hs = true;
		r->hs.term = store_get_be64(b + 1);
		r->hs.vote = store_get_be64(b + 9);
		r->hs.commit = store_get_be64(b + 17);
		return COORD_OK;
	case STORE_LREC_RESET:
		if (f->len != STORE_LREC_RESET_BODY)
			break;
		if (store_get_be64(b + 1) > s->snap.index)
			return refuse(s, "%s offset=%zu: the log was replaced "
					 "by a snapshot at index=%" PRIu64
					 " that the snapshot metadata (index="
					 "%" PRIu64 ") does not record", name,
				      f->offset, store_get_be64(b + 1),
				      s->snap.index);
		restore_truncate(r->rs, 0);
		r->last = s->snap.index;
		return COORD_OK;
	default:
		break;
	}
	return refuse(s, "%s offset=%zu: an unknown raft log record (type "
			 "0x%02x, %zu bytes)", name, f->offset, b[0], f->len);
}

/* Reads the raft log back, verifying every record and the log's shape;
 * *reset: the snapshot metadata is newer than the log (an install whose
 * reset record never reached the log), which the log must be told. */
static int load_log(struct store *s, const char *dir,
		    struct store_restore *rs, bool *reset)
{
	struct replay r;
	uint64_t prev_term = s->snap.term, torn = 0;
	int rv;

	memset(&r, 0, sizeof(r));
	r.rs = rs;
	r.last = s->snap.index;
	*reset = false;
	rv = store_rlog_dir_open(s, dir, false);
	if (rv == COORD_OK)
		rv = store_rlog_scan(s, s->seg_seq_min, replay_rec, &r,
				     &torn);
	rs->torn_bytes += torn;
	if (rv != COORD_OK)
		return rv;
	if (!r.have_hs)
		return refuse(s, "the raft log holds no hard state record");
	s->hard.hs = r.hs;
	s->hard_written_commit = r.hs.commit;
	if (s->snap.index > r.hs.commit && s->installed != s->snap.index &&
	    s->snap.index <= r.last) {
		/* Compaction below an applied -- so committed -- index whose
		 * commit index was never written (a Ready that only moves
		 * the commit index writes nothing: store_ready_persist()). */
		store_logf(s, STORE_LOG_INFO,
			   "commit index raised from %" PRIu64 " to the "
			   "snapshot index %" PRIu64, r.hs.commit, s->snap.index);
		r.hs.commit = s->snap.index;
		s->hard.hs = r.hs;
	}
	if (s->snap.index > r.hs.commit) {
		/* Installs raise the snapshot above the commit index and
		 * replace the log (and say so in the same batch). */
		if (s->installed != s->snap.index)
			return refuse(s, "hard state commit=%" PRIu64 " is below "
					 "the snapshot index=%" PRIu64,
				      r.hs.commit, s->snap.index);
		restore_truncate(rs, 0);
		r.last = s->snap.index;
		s->hard.hs.commit = s->snap.index;
		*reset = true;
	}
	s->hard.first = s->snap.index + 1;
	s->hard.last = r.last;
	for (size_t i = 0; i < rs->n_entries_; i++) {
		const struct raft_entry *e = &rs->entries_[i];

		if (e->term < prev_term || e->term > s->hard.hs.term)
			return refuse(s, "log entry index=%" PRIu64 " has term %"
					 PRIu64 ", outside [%" PRIu64 ", %"
					 PRIu64 "] (the term before it, the "
					 "hard state's term)", e->index,
				      e->term, prev_term, s->hard.hs.term);
		rv = terms_push(s, e->index, e->term);
		if (rv != COORD_OK) {
			store_errf(s, "out of memory reading the log at index="
				      "%" PRIu64, e->index);
			return rv;
		}
		prev_term = e->term;
	}
	s->last_term = prev_term;
	return COORD_OK;
}

/* Walks every key outside the log and the live fsm generation: unknown
 * keys are corruption; other fsm generations are the staging of an
 * install that never committed, and are removed. */
static int sweep(struct store *s, uint64_t *garbage)
{
	leveldb_iterator_t *it = iter_new(s);
	leveldb_writebatch_t *b = leveldb_writebatch_create();
	size_t in_batch = 0;
	int rv = COORD_OK;

	*garbage = 0;
	leveldb_iter_seek_to_first(it);
	while (leveldb_iter_valid(it)) {
		size_t klen;
		const uint8_t *k = (const uint8_t *)leveldb_iter_key(it, &klen);
		uint8_t seek[STORE_FSM_PREFIX_LEN];

		switch (k[0]) {
		case STORE_TAG_FSM:
			if (klen < STORE_FSM_PREFIX_LEN) {
				rv = refuse(s, "an fsm key of %zu bytes", klen);
				goto out;
			}
			if (store_get_be32(k + 1) == s->gen) {
				if (s->gen == UINT32_MAX) {
					seek[0] = STORE_TAG_FSM + 1;
					leveldb_iter_seek(it,
							  (const char *)seek,
							  1);
				} else {
					store_fsm_prefix(seek, s->gen + 1);
					leveldb_iter_seek(it,
							  (const char *)seek,
							  sizeof(seek));
				}
				continue;
			}
			leveldb_writebatch_delete(b, (const char *)k, klen);
			(*garbage)++;
			if (++in_batch == STORE_DELETE_BATCH) {
				rv = store_batch_write(s, b, false,
						       "removing a snapshot "
						       "staging");
				if (rv != COORD_OK)
					goto out;
				leveldb_writebatch_clear(b);
				in_batch = 0;
			}
			break;
		case STORE_TAG_APPLIED:
		case STORE_TAG_GEN:
		case STORE_TAG_INSTALL:
		case STORE_TAG_SEGMENT:
		case STORE_TAG_META:
		case STORE_TAG_VERSION:
			if (klen == 1)
				break;
			/* fall through */
		default:
			rv = refuse(s, "an unknown record key (%zu bytes, "
				       "first byte 0x%02x)", klen, k[0]);
			goto out;
		}
		leveldb_iter_next(it);
	}
	rv = iter_status(s, it, "reading the store");
	if (rv == COORD_OK && in_batch > 0)
		rv = store_batch_write(s, b, false,
				       "removing a snapshot staging");
out:
	leveldb_iter_destroy(it);
	leveldb_writebatch_destroy(b);
	return rv;
}

/* The snapshot metadata must be sound. */
static int check_meta(struct store *s)
{
	if ((s->snap.index == 0) != (s->snap.term == 0))
		return refuse(s, "the snapshot metadata has index=%" PRIu64
				 " and term=%" PRIu64, s->snap.index,
			      s->snap.term);
	return COORD_OK;
}

/* The hard state, snapshot and applied index must agree with the log. */
static int check_state(struct store *s)
{
	const struct store_hard *h = &s->hard;
	uint64_t si = s->snap.index;

	if (h->hs.commit > h->last)
		return refuse(s, "hard state commit=%" PRIu64 " points past the "
				 "log's last index=%" PRIu64, h->hs.commit,
			      h->last);
	if (s->applied > h->last)
		return refuse(s, "applied index=%" PRIu64 " is above the log's "
				 "last index=%" PRIu64, s->applied, h->last);
	if (s->applied > h->hs.commit) {
		/* A hard state that only moved the commit index is written
		 * without a sync (store_ready_persist()), so the applied
		 * index may outlive it: what was applied was committed, and
		 * its entries were synced before that. */
		store_logf(s, STORE_LOG_INFO,
			   "commit index raised from %" PRIu64 " to the "
			   "applied index %" PRIu64, h->hs.commit, s->applied);
		s->hard.hs.commit = s->applied;
	}
	if (s->applied < si)
		return refuse(s, "applied index=%" PRIu64 " is below the "
				 "snapshot index=%" PRIu64 ": the state machine "
				 "lacks entries that are no longer in the log",
			      s->applied, si);
	return COORD_OK;
}

static int open_checked(struct store *s, const char *dir,
			struct store_restore *rs);

/* Every refusal names the remedy. */
static int open_locked(struct store *s, const char *dir,
		       struct store_restore *rs)
{
	int rv = open_checked(s, dir, rs);

	if (rv == COORD_ECORRUPT && strstr(s->errmsg, STORE_REMEDY) == NULL)
		return refuse(s, "%s", s->errmsg);
	return rv;
}

static int open_checked(struct store *s, const char *dir,
			struct store_restore *rs)
{
	struct stat st;
	bool exists, fresh, reset;
	char *err = NULL;
	uint64_t torn;
	int rv;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT) {
			store_errf(s, "cannot stat the data dir %s: %s", dir,
				   strerror(errno));
			return COORD_EIO;
		}
		if (!s->opts.create_if_missing) {
			store_errf(s, "no store in %s (it does not exist)",
				   dir);
			return COORD_ENOTFOUND;
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			store_errf(s, "cannot create the data dir %s: %s", dir,
				   strerror(errno));
			return COORD_EIO;
		}
	}
	rv = dir_lock(s, dir);
	if (rv != COORD_OK)
		return rv;
	rv = store_wal_check(s, dir, &exists, &torn);
	if (rv != COORD_OK)
		return rv;
	rs->torn_bytes = torn;
	if (!exists && !s->opts.create_if_missing) {
		store_errf(s, "no store in %s", dir);
		return COORD_ENOTFOUND;
	}
	leveldb_setup(s, !exists);
	s->db = leveldb_open(s->lopts, dir, &err);
	if (err != NULL) {
		rv = store_leveldb_error(s, err, "LevelDB refuses to open");
		/* A file LevelDB needs is gone: that is damage, not I/O. */
		if (exists && rv == COORD_EIO &&
		    strstr(s->errmsg, "No such file") != NULL)
			rv = COORD_ECORRUPT;
		return rv;
	}
	rv = load_records(s, dir, &fresh);
	if (rv != COORD_OK || fresh)
		return rv;
	rv = check_meta(s);
	if (rv != COORD_OK)
		return rv;
	rv = load_log(s, dir, rs, &reset);
	if (rv != COORD_OK)
		return rv;
	rv = check_state(s);
	if (rv != COORD_OK)
		return rv;
	rv = sweep(s, &rs->garbage_records);
	if (rv != COORD_OK)
		return rv;
	if (rs->garbage_records > 0)
		store_logf(s, STORE_LOG_WARN,
			   "removed records=%" PRIu64 " of a snapshot install "
			   "that never committed (staging generation)",
			   rs->garbage_records);
	if (reset) {
		store_logf(s, STORE_LOG_INFO,
			   "the log is replaced by the installed snapshot "
			   "index=%" PRIu64 " (the install was cut short "
			   "after it committed)", s->snap.index);
		rv = store_install_finish(s, &s->snap);
	}
	return rv;
}

int store_open(const char *dir, const struct store_options *opts,
	       struct store **out, struct store_restore *rs)
{
	struct store_options o;
	struct store *s;
	int rv;

	if (opts != NULL)
		o = *opts;
	else
		store_options_default(&o);
	memset(rs, 0, sizeof(*rs));
	rs->alloc_ = o.alloc;
	*out = NULL;
	if (o.snapshot_chunk_bytes == 0)
		o.snapshot_chunk_bytes = STORE_SNAPSHOT_CHUNK_BYTES;
	if (o.segment_bytes == 0)
		o.segment_bytes = STORE_SEGMENT_BYTES;
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > 3000 ||
	    o.snapshot_chunk_bytes < 4096 ||
	    o.snapshot_chunk_bytes > UINT32_MAX || o.segment_bytes < 4096 ||
	    o.segment_bytes > STORE_FRAME_BODY_MAX) {
		snprintf(rs->errmsg, sizeof(rs->errmsg),
			 "bad store options: %s",
			 dir == NULL || dir[0] == '\0' ? "no data dir"
			 : strlen(dir) > 3000	       ? "data dir path too long"
			 : o.segment_bytes < 4096 ||
					 o.segment_bytes > STORE_FRAME_BODY_MAX
				 ? "segment_bytes out of [4096, 2 GiB]"
				 : "snapshot_chunk_bytes out of [4096, 4 GiB)");
		return COORD_EINVAL;
	}
	s = coord_malloc(o.alloc, sizeof(*s));
	if (s == NULL) {
		snprintf(rs->errmsg, sizeof(rs->errmsg), "out of memory");
		return COORD_ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->alloc = o.alloc;
	s->opts = o;
	s->lock_fd = -1;
	s->log_fd = -1;
	s->log_dirfd = -1;
	s->seg_bytes = o.segment_bytes;
	s->hard.first = 1;
	store_backend_init(&s->backend, s);
	rv = open_locked(s, dir, rs);
	if (rv != COORD_OK) {
		snprintf(rs->errmsg, sizeof(rs->errmsg), "%s", s->errmsg);
		store_restore_close(rs);
		store_close(s);
		return rv;
	}
	rs->raft.hard_state = s->hard.hs;
	rs->snapshot = s->snap;
	rs->raft.snapshot = s->snap.index > 0 ? &rs->snapshot : NULL;
	rs->raft.entries = rs->entries_;
	rs->raft.n_entries = rs->n_entries_;
	rs->raft.applied = s->applied;
	*out = s;
	return COORD_OK;
}

void store_restore_close(struct store_restore *rs)
{
	for (size_t i = 0; i < rs->n_entries_; i++)
		coord_free(rs->alloc_, rs->entries_[i].data);
	coord_free(rs->alloc_, rs->entries_);
	rs->entries_ = NULL;
	rs->n_entries_ = 0;
	memset(&rs->raft, 0, sizeof(rs->raft));
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	COORD_ASSERT(s->n_readers == 0);
	COORD_ASSERT(!s->installing);
	/* What is queued is written: a clean stop loses nothing. */
	if (store_log_drain(s) != COORD_OK)
		store_logf(s, STORE_LOG_WARN, "closing: %s", s->errmsg);
	store_writer_stop(s);
	store_backend_close(&s->backend);
	if (s->db != NULL)
		leveldb_close(s->db);
	if (s->batch != NULL)
		leveldb_writebatch_destroy(s->batch);
	if (s->wsync != NULL)
		leveldb_writeoptions_destroy(s->wsync);
	if (s->wnosync != NULL)
		leveldb_writeoptions_destroy(s->wnosync);
	if (s->ropts != NULL)
		leveldb_readoptions_destroy(s->ropts);
	if (s->lopts != NULL)
		leveldb_options_destroy(s->lopts);
	if (s->filter != NULL)
		leveldb_filterpolicy_destroy(s->filter);
	if (s->cache != NULL)
		leveldb_cache_destroy(s->cache);
	store_rlog_close(s);
	dir_unlock(s);
	coord_free(s->alloc, s->terms);
	coord_free(s->alloc, s->scratch);
	coord_free(s->alloc, s);
}

const char *store_errmsg(const struct store *s)
{
	return s->errmsg;
}

/* ---------------------------------------------------------------------- */
/* Writing. */

/* Encodes the entries record of ents at out (store_rec_run_size() +
 * STORE_LREC_ENTRIES_HEAD + STORE_FRAME_OVERHEAD bytes) and verifies
 * it (checksums are checked when written and when read back); returns
 * the frame's length. */
static size_t frame_entries(uint8_t *out, const struct raft_entry *ents,
			    size_t n)
{
	uint8_t *b = out + STORE_FRAME_HEADER;
	size_t run = store_rec_run_size(ents, n), len;
	struct store_run_cursor c;
	struct store_frame f;
	struct raft_entry check;

	b[0] = STORE_LREC_ENTRIES;
	store_put_be64(b + 1, ents[0].index);
	COORD_ASSERT(store_rec_run_encode(b + STORE_LREC_ENTRIES_HEAD, ents,
					  n) == run);
	len = store_frame_seal(out, STORE_LREC_ENTRIES_HEAD + run);
	COORD_ASSERT(store_frame_check(out, len, 0, &f) == STORE_FRAME_OK);
	COORD_ASSERT(store_rec_run_open(&c, ents[0].index,
					b + STORE_LREC_ENTRIES_HEAD, run) ==
		     COORD_OK);
	for (size_t i = 0; i < n; i++) {
		COORD_ASSERT(store_rec_run_next(&c, &check) == COORD_OK);
		COORD_ASSERT(check.term == ents[i].term &&
			     check.len == ents[i].len);
	}
	COORD_ASSERT(store_rec_run_next(&c, &check) == COORD_ENOTFOUND);
	return len;
}

static int bad_ready(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* COORD_EINVAL: rd breaks raft.h's contract. */
static int bad_ready(struct store *s, const char *fmt, ...)
{
	va_list ap;
	int rv;

	va_start(ap, fmt);
	rv = fail_v(s, COORD_EINVAL, "Ready breaks the persistence contract: ",
		    "", fmt, ap);
	va_end(ap);
	return rv;
}

/* Checks a Ready and frames what it writes into s->scratch: *len bytes
 * (0: nothing to write), leaving the store as it was; *h and *last_term
 * are the store's once they are written. */
static int ready_frame(struct store *s, const struct raft_ready *rd,
		       struct store_hard *hp, uint64_t *last_termp,
		       size_t *lenp)
{
	const struct raft_entry *ents = rd->entries;
	struct store_hard h = s->hard;
	uint64_t last_term = s->last_term;
	bool snap = rd->snapshot != NULL && rd->snapshot->index > 0;
	size_t len = 0, cap;
	int rv;

	*hp = h;
	*last_termp = last_term;
	*lenp = 0;
	if (s->failed) {
		store_errf(s, "persisting a Ready: the store failed earlier (a "
			      "write error); close and reopen it");
		return COORD_EIO;
	}
	if (!snap && rd->n_entries == 0 && !rd->hard_state_changed)
		return COORD_OK;
	/* Installed already (store_snapshot_install_commit() replaced the
	 * log); only checked here. */
	if (snap && (rd->snapshot->index != s->snap.index ||
		     rd->snapshot->term != s->snap.term))
		return bad_ready(s, "snapshot index=%" PRIu64 " term=%" PRIu64
				    " is not the installed one (index=%" PRIu64
				    "): install its data with store_snapshot_"
				    "install_commit() first",
				 rd->snapshot->index, rd->snapshot->term,
				 s->snap.index);
	if (rd->hard_state_changed)
		h.hs = rd->hard_state;
	if (rd->n_entries > 0 && ents == NULL)
		return bad_ready(s, "n_entries=%zu with no entries",
				 rd->n_entries);
	if (rd->n_entries > 0) {
		uint64_t e0 = ents[0].index;

		if (e0 < h.first || e0 > h.last + 1)
			return bad_ready(s, "entries start at index=%" PRIu64
					    ", outside [%" PRIu64 ", %" PRIu64
					    "] (after the snapshot, no hole)",
					 e0, h.first, h.last + 1);
		if (e0 <= h.last && e0 <= s->hard.hs.commit)
			return bad_ready(s, "entries at index=%" PRIu64 " would "
					    "overwrite the committed log (commit="
					    "%" PRIu64 ")", e0,
					 s->hard.hs.commit);
		for (size_t i = 0; i < rd->n_entries; i++) {
			const struct raft_entry *e = &ents[i];

			if (e->index != e0 + i)
				return bad_ready(s, "entries are not contiguous "
						    "(index=%" PRIu64 " after %"
						    PRIu64 ")", e->index,
						 e0 + i - 1);
			if (e->len > 0 && e->data == NULL)
				return bad_ready(s, "entry index=%" PRIu64 " has "
						    "len %" PRIu32 " and no data",
						 e->index, e->len);
		}
		/* A conflicting suffix goes: replaying the log, a record
		 * from e0 cuts what was stored from e0 on. */
		last_term = term_at(s, e0 - 1);
		for (size_t i = 0; i < rd->n_entries; i++) {
			if (ents[i].term < last_term || ents[i].term > h.hs.term)
				return bad_ready(s, "entry index=%" PRIu64 " has "
						    "term %" PRIu64 ", outside [%"
						    PRIu64 ", %" PRIu64 "]",
						 ents[i].index, ents[i].term,
						 last_term, h.hs.term);
			last_term = ents[i].term;
		}
		h.last = e0 + rd->n_entries - 1;
		len = STORE_FRAME_OVERHEAD + STORE_LREC_ENTRIES_HEAD +
		      store_rec_run_size(ents, rd->n_entries);
		if (len - STORE_FRAME_OVERHEAD > STORE_FRAME_BODY_MAX)
			return bad_ready(s, "entries from index=%" PRIu64
					    " take %zu bytes, more than one "
					    "record holds", e0, len);
	}
	if (h.hs.commit > h.last || h.hs.commit < s->snap.index)
		return bad_ready(s, "commit=%" PRIu64 " is outside the log [%"
				    PRIu64 ", %" PRIu64 "]", h.hs.commit,
				 s->snap.index, h.last);
	if (h.hs.commit < s->hard.hs.commit || h.hs.term < s->hard.hs.term ||
	    (h.hs.term == s->hard.hs.term && s->hard.hs.vote != 0 &&
	     h.hs.vote != s->hard.hs.vote))
		return bad_ready(s, "the hard state goes back (term %" PRIu64
				    " -> %" PRIu64 ", vote %" PRIu64 " -> %"
				    PRIu64 ", commit %" PRIu64 " -> %" PRIu64
				    ")", s->hard.hs.term, h.hs.term,
				 s->hard.hs.vote, h.hs.vote,
				 s->hard.hs.commit, h.hs.commit);
	cap = len + STORE_FRAME_OVERHEAD + STORE_LREC_HARD_BODY;
	rv = store_buf_reserve(s->alloc, &s->scratch, &s->scratch_cap, cap);
	/* Room for every term the entries may add, so that nothing can
	 * fail once they are written. */
	if (rv == COORD_OK)
		rv = terms_reserve(s, s->n_terms + rd->n_entries);
	if (rv != COORD_OK) {
		store_errf(s, "out of memory persisting a Ready");
		return rv;
	}
	if (rd->n_entries > 0)
		COORD_ASSERT(frame_entries(s->scratch, ents, rd->n_entries) ==
			     len);
	/* The commit index alone need not be durable (Raft learns it
	 * again from a quorum): a Ready that only moves it writes nothing
	 * -- the store remembers it and writes it with the next frame.
	 * store_open() raises a commit found below the applied or snapshot
	 * index to it (those were committed). */
	if (h.hs.term != s->hard.hs.term || h.hs.vote != s->hard.hs.vote ||
	    (rd->n_entries > 0 && h.hs.commit != s->hard_written_commit))
		len += frame_hard(s->scratch + len, &h.hs);
	*hp = h;
	*last_termp = last_term;
	*lenp = len;
	return COORD_OK;
}

/* A Ready's frame, written (or queued: async) and its metadata kept. */
static int ready_persist(struct store *s, const struct raft_ready *rd,
			 bool async)
{
	const struct raft_entry *ents = rd->entries;
	struct store_hard h;
	uint64_t last_term;
	size_t len;
	int rv;

	/* A synchronous Ready comes after the queued ones (raft.h). */
	rv = async ? COORD_OK : store_log_drain(s);
	if (rv == COORD_OK)
		rv = ready_frame(s, rd, &h, &last_term, &len);
	if (rv != COORD_OK)
		return rv;
	if (len == 0) {
		s->hard.hs.commit = h.hs.commit;
		return COORD_OK;
	}
	if (s->log_off + len > s->log_size) {
		rv = new_segment(s, false, len);
		if (rv != COORD_OK)
			return rv;
	}
	if (async) {
		const struct raft_entry *last =
			rd->n_entries > 0 ? &ents[rd->n_entries - 1] : NULL;

		rv = store_writer_queue(s, s->scratch, len,
					last != NULL ? last->index : 0,
					last != NULL ? last->term : 0);
	} else {
		rv = store_rlog_append(s, s->scratch, len);
	}
	if (rv != COORD_OK)
		return rv;
	if (rd->n_entries > 0) {
		uint64_t e0 = ents[0].index;

		terms_truncate(s, e0);
		for (size_t i = 0; i < rd->n_entries; i++)
			COORD_ASSERT(terms_push(s, ents[i].index,
						ents[i].term) == COORD_OK);
		if (h.last > s->segs[s->n_segs - 1].last_index)
			s->segs[s->n_segs - 1].last_index = h.last;
	}
	s->hard = h;
	s->hard_written_commit = h.hs.commit;
	s->last_term = last_term;
	return COORD_OK;
}

int store_ready_persist(struct store *s, const struct raft_ready *rd)
{
	return ready_persist(s, rd, false);
}

int store_ready_persist_async(struct store *s, const struct raft_ready *rd)
{
	int rv;

	if (rd->snapshot != NULL && rd->snapshot->index > 0)
		return bad_ready(s, "a snapshot is never written in the "
				    "background");
	rv = store_log_writer_start(s);
	if (rv != COORD_OK)
		return rv;
	return ready_persist(s, rd, true);
}

int store_applied_set(struct store *s, uint64_t index)
{
	leveldb_writebatch_t *b = s->batch;
	int rv;

	if (index < s->applied || index > s->hard.hs.commit) {
		store_errf(s, "applied index=%" PRIu64 " is outside [%" PRIu64
			      ", %" PRIu64 "] (stored applied, commit)",
			   index, s->applied, s->hard.hs.commit);
		return COORD_EINVAL;
	}
	if (index == s->applied && !s->failed)
		return COORD_OK;
	/* With the fsm's records up to index (write-back, store_int.h), in
	 * one batch: the applied index is never ahead of what LevelDB
	 * holds. */
	leveldb_writebatch_clear(b);
	put_u64(b, STORE_TAG_APPLIED, index);
	rv = store_backend_flush_with(&s->backend, b);
	if (rv == COORD_OK)
		s->applied = index;
	return rv;
}

int store_log_compact(struct store *s, const struct raft_snapshot_meta *meta)
{
	leveldb_writebatch_t *b = s->batch;
	uint64_t term;
	int rv;

	if (meta->index == s->snap.index && meta->term == s->snap.term)
		return COORD_OK;
	/* Segments go: none with a write in flight. */
	rv = store_log_drain(s);
	if (rv != COORD_OK)
		return rv;
	if (meta->index <= s->snap.index || meta->index > s->hard.last ||
	    meta->index > s->applied) {
		store_errf(s, "cannot compact the log to index=%" PRIu64
			      ": outside (%" PRIu64 ", min(last=%" PRIu64
			      ", applied=%" PRIu64 ")]", meta->index,
			   s->snap.index, s->hard.last, s->applied);
		return COORD_EINVAL;
	}
	if (meta->conf.n_voters > RAFT_NODES_MAX ||
	    meta->conf.n_learners > RAFT_NODES_MAX) {
		store_errf(s, "snapshot conf has %" PRIu32 " voters and %"
			      PRIu32 " learners", meta->conf.n_voters,
			   meta->conf.n_learners);
		return COORD_EINVAL;
	}
	term = term_at(s, meta->index);
	if (term != meta->term) {
		store_errf(s, "cannot compact the log to index=%" PRIu64
			      " term=%" PRIu64 ": the stored entry has term %"
			      PRIu64, meta->index, meta->term, term);
		return COORD_EINVAL;
	}
	/* Synced when a segment goes: the log must never start after a
	 * snapshot the store does not have. Otherwise losing it leaves the
	 * older snapshot and the entries, which is still consistent. */
	leveldb_writebatch_clear(b);
	put_meta(b, meta);
	rv = store_batch_write(s, b, store_rlog_droppable(s, meta->index, 0) > 0,
			       "compacting the log");
	if (rv != COORD_OK)
		return rv;
	terms_compact(s, meta->index);
	s->snap = *meta;
	s->hard.first = meta->index + 1;
	if (s->hard.last == meta->index)
		s->last_term = meta->term;
	return store_rlog_drop(s, meta->index, 0);
}

struct raft_hard_state store_hard_state(const struct store *s)
{
	return s->hard.hs;
}

const struct raft_snapshot_meta *store_snapshot_meta(const struct store *s)
{
	return &s->snap;
}

uint64_t store_first_index(const struct store *s)
{
	return s->hard.first;
}

uint64_t store_last_index(const struct store *s)
{
	return s->hard.last;
}

uint64_t store_applied_index(const struct store *s)
{
	return s->applied;
}

/* Used by snapshot.c's commit: the state after an install. */
void store_install_apply(struct store *s, leveldb_writebatch_t *b,
			 const struct raft_snapshot_meta *meta, uint32_t gen)
{
	(void)s;
	put_meta(b, meta);
	put_gen(b, gen);
	put_u64(b, STORE_TAG_APPLIED, meta->index);
	put_u64(b, STORE_TAG_INSTALL, meta->index);
}

int store_install_finish(struct store *s,
			 const struct raft_snapshot_meta *meta)
{
	int rv;

	s->snap = *meta;
	s->applied = meta->index;
	s->installed = meta->index;
	s->hard.first = meta->index + 1;
	s->hard.last = meta->index;
	s->hard.hs.commit = meta->index;
	s->last_term = meta->term;
	s->n_terms = 0;
	rv = new_segment(s, true, 0);
	if (rv == COORD_OK)
		rv = store_rlog_drop(s, meta->index, s->n_segs - 1);
	return rv;
}
