/*
 * tests/unit/store_test.c: helpers of the coordd/store/ unit tests (see
 * store_test.h).
 */
#include "tests/unit/store_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"

char *st_dir_new(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	dir = malloc(strlen(tmp) + 32);
	ck_assert_ptr_nonnull(dir);
	sprintf(dir, "%s/coord-store-XXXXXX", tmp);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	return dir;
}

static void rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			char sub[4096];

			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

void st_dir_free(char *dir)
{
	if (dir == NULL)
		return;
	rm_tree(dir);
	free(dir);
}

void st_dir_copy(const char *src, const char *dst)
{
	char **names = st_dir_names(src, "");

	mkdir(dst, 0755);
	for (char **n = names; *n != NULL; n++) {
		char from[4096], to[4096], buf[65536];
		int in, out;
		ssize_t r;

		snprintf(from, sizeof(from), "%s/%s", src, *n);
		snprintf(to, sizeof(to), "%s/%s", dst, *n);
		in = open(from, O_RDONLY);
		ck_assert_int_ge(in, 0);
		out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ck_assert_int_ge(out, 0);
		while ((r = read(in, buf, sizeof(buf))) > 0)
			ck_assert_int_eq(write(out, buf, (size_t)r), r);
		close(in);
		close(out);
	}
	st_names_free(names);
	/* The raft log's directory, if any. */
	{
		char from[4096], to[4096];
		struct stat st;

		snprintf(from, sizeof(from), "%s/" STORE_LOG_DIR, src);
		snprintf(to, sizeof(to), "%s/" STORE_LOG_DIR, dst);
		if (stat(from, &st) == 0 && S_ISDIR(st.st_mode))
			st_dir_copy(from, to);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **st_dir_names(const char *dir, const char *ext)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = calloc(1, sizeof(*names));
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), elen = strlen(ext);
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    len < elen || strcmp(de->d_name + len - elen, ext) != 0)
			continue;
		names = realloc(names, (n + 2) * sizeof(*names));
		names[n++] = strdup(de->d_name);
		names[n] = NULL;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	return names;
}

void st_names_free(char **names)
{
	for (char **n = names; *n != NULL; n++)
		free(*n);
	free(names);
}

size_t st_file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

void st_file_flip(const char *path, size_t offset, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)offset), 1);
	b ^= mask;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)offset), 1);
	close(fd);
}

void st_file_truncate(const char *path, size_t len)
{
	ck_assert_int_eq(truncate(path, (off_t)len), 0);
}

void st_log_cb(void *ctx, enum store_log_level level, const char *msg)
{
	struct st_log *l = ctx;
	size_t used = strlen(l->text);

	if (level == STORE_LOG_WARN)
		l->n_warn++;
	else
		l->n_info++;
	snprintf(l->text + used, sizeof(l->text) - used, "%s\n", msg);
}

size_t st_segment_bytes = 4096;

void st_options(struct store_options *o, struct st_log *log)
{
	store_options_default(o);
	o->write_buffer_bytes = 64 * 1024;
	o->max_file_bytes = 64 * 1024;
	o->cache_bytes = 1 << 20;
	o->snapshot_chunk_bytes = 4096;
	o->segment_bytes = st_segment_bytes;
	if (log != NULL) {
		memset(log, 0, sizeof(*log));
		o->log = st_log_cb;
		o->log_ctx = log;
	}
}

struct store *st_open(const char *dir, const struct store_options *o,
		      struct store_restore *rs)
{
	struct store *s;
	int rv = store_open(dir, o, &s, rs);

	ck_assert_msg(rv == COORD_OK, "store_open: %s: %s",
		      coord_error_name(rv), rs->errmsg);
	return s;
}

void st_work_build(const char *dir, uint64_t seed, uint64_t steps,
		   uint64_t reopen_every, uint64_t compact_every,
		   uint64_t compact_at)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;
	struct st_work w;

	st_options(&o, NULL);
	st_work_init(&w, seed);
	s = st_open(dir, &o, &rs);
	store_restore_close(&rs);
	while (w.step < steps) {
		st_work_step(&w);
		st_code_eq(st_work_persist(&w, s), COORD_OK);
		st_code_eq(st_work_apply(&w, s), COORD_OK);
		if ((compact_every > 0 && w.step % compact_every == 0) ||
		    w.step == compact_at)
			st_code_eq(st_work_compact(&w, s), COORD_OK);
		if (reopen_every > 0 && w.step % reopen_every == 0) {
			store_close(s);
			s = st_open(dir, &o, &rs);
			store_restore_close(&rs);
		}
	}
	store_close(s);
	st_work_close(&w);
}

void st_peek(const char *dir, uint64_t *first, uint64_t *last,
	     uint64_t *term)
{
	struct store_options o;
	struct store_restore rs;
	struct store *s;

	st_options(&o, NULL);
	s = st_open(dir, &o, &rs);
	if (first != NULL)
		*first = store_first_index(s);
	if (last != NULL)
		*last = store_last_index(s);
	if (term != NULL)
		*term = store_hard_state(s).term;
	store_restore_close(&rs);
	store_close(s);
}

size_t st_segs(const char *dir, uint64_t *seqs, size_t max)
{
	char path[4096];
	char **names;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/" STORE_LOG_DIR, dir);
	names = st_dir_names(path, ".seg");
	for (char **p = names; *p != NULL && n < max; p++)
		seqs[n++] = strtoull(*p, NULL, 16);
	st_names_free(names);
	return n;
}

void st_seg_path(const char *dir, uint64_t seq, char *out, size_t size)
{
	char name[64];

	store_seg_name(name, sizeof(name), seq);
	snprintf(out, size, "%s/%s", dir, name);
}

uint8_t *st_file_read(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	uint8_t *buf;

	ck_assert_int_ge(fd, 0);
	*len = st_file_size(path);
	buf = malloc(*len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

size_t st_seg_frames(const char *path, size_t *offs, size_t max, size_t *end)
{
	size_t len, off = 0, n = 0;
	uint8_t *buf = st_file_read(path, &len);
	struct store_frame f;

	while (store_frame_check(buf, len, off, &f) == STORE_FRAME_OK) {
		if (n < max)
			offs[n++] = off;
		off = f.end;
	}
	free(buf);
	*end = off;
	return n;
}

void st_file_write(const char *path, size_t off, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, p, len, (off_t)off), (ssize_t)len);
	close(fd);
}

size_t st_seg_append(const char *dir, const uint8_t *body, size_t blen,
		     size_t *len)
{
	uint64_t seqs[4096];
	size_t n = st_segs(dir, seqs, 4096), end, offs[1];
	uint8_t *frame = malloc(blen + STORE_FRAME_OVERHEAD);
	char path[4096];

	ck_assert_uint_gt(n, 0);
	st_seg_path(dir, seqs[n - 1], path, sizeof(path));
	st_seg_frames(path, offs, 1, &end);
	memcpy(frame + STORE_FRAME_HEADER, body, blen);
	*len = store_frame_seal(frame, blen);
	ck_assert_uint_le(end + *len, st_file_size(path));
	st_file_write(path, end, frame, *len);
	free(frame);
	return end;
}

void st_seg_unappend(const char *dir, size_t off, size_t len)
{
	uint64_t seqs[4096];
	size_t n = st_segs(dir, seqs, 4096);
	uint8_t *zeros = calloc(1, len);
	char path[4096];

	st_seg_path(dir, seqs[n - 1], path, sizeof(path));
	st_file_write(path, off, zeros, len);
	free(zeros);
}

size_t st_chunk_seal(uint8_t *out, size_t len)
{
	store_put_be32(out + 32, (uint32_t)(len - STORE_SNAPSHOT_CHUNK_HEADER));
	store_put_be32(out + 36,
		       store_crc32c_extend(store_crc32c(out, 36),
					   out + STORE_SNAPSHOT_CHUNK_HEADER,
					   len - STORE_SNAPSHOT_CHUNK_HEADER));
	return len;
}

leveldb_t *st_raw_open(const char *dir)
{
	leveldb_options_t *o = leveldb_options_create();
	char *err = NULL;
	leveldb_t *db;

	db = leveldb_open(o, dir, &err);
	leveldb_options_destroy(o);
	ck_assert_msg(err == NULL, "raw open: %s", err);
	return db;
}

void st_raw_put(leveldb_t *db, const void *k, size_t klen, const void *v,
		size_t vlen)
{
	leveldb_writeoptions_t *o = leveldb_writeoptions_create();
	char *err = NULL;

	leveldb_put(db, o, k, klen, v, vlen, &err);
	leveldb_writeoptions_destroy(o);
	ck_assert_msg(err == NULL, "raw put: %s", err);
}

uint8_t *st_raw_get(leveldb_t *db, const void *k, size_t klen, size_t *vlen)
{
	leveldb_readoptions_t *o = leveldb_readoptions_create();
	char *err = NULL;
	char *v = leveldb_get(db, o, k, klen, vlen, &err);
	uint8_t *copy = NULL;

	leveldb_readoptions_destroy(o);
	ck_assert_msg(err == NULL, "raw get: %s", err);
	if (v != NULL) {
		copy = malloc(*vlen + 1);
		memcpy(copy, v, *vlen);
		leveldb_free(v);
	}
	return copy;
}

void st_raw_delete(leveldb_t *db, const void *k, size_t klen)
{
	leveldb_writeoptions_t *o = leveldb_writeoptions_create();
	char *err = NULL;

	leveldb_delete(db, o, k, klen, &err);
	leveldb_writeoptions_destroy(o);
	ck_assert_msg(err == NULL, "raw delete: %s", err);
}

size_t st_raw_count_prefix(leveldb_t *db, const void *prefix, size_t len)
{
	leveldb_readoptions_t *o = leveldb_readoptions_create();
	leveldb_iterator_t *it = leveldb_create_iterator(db, o);
	size_t n = 0;

	for (leveldb_iter_seek(it, prefix, len); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t klen;
		const char *k = leveldb_iter_key(it, &klen);

		if (klen < len || memcmp(k, prefix, len) != 0)
			break;
		n++;
	}
	leveldb_iter_destroy(it);
	leveldb_readoptions_destroy(o);
	return n;
}

void st_entry(struct raft_entry *e, uint64_t index, uint64_t term,
	      const char *data)
{
	memset(e, 0, sizeof(*e));
	e->index = index;
	e->term = term;
	e->type = RAFT_ENTRY_NORMAL;
	e->len = (uint32_t)strlen(data);
	e->data = (uint8_t *)data;
}

int st_persist(struct store *s, const struct raft_hard_state *hs,
	       const struct raft_entry *ents, size_t n)
{
	struct raft_ready rd;

	memset(&rd, 0, sizeof(rd));
	if (hs != NULL) {
		rd.hard_state_changed = true;
		rd.hard_state = *hs;
	}
	rd.entries = ents;
	rd.n_entries = n;
	return store_ready_persist(s, &rd);
}

/* ---------------------------------------------------------------------- */
/* The workload. */

static uint64_t work_rand(struct st_work *w)
{
	/* splitmix64 */
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void st_work_init(struct st_work *w, uint64_t seed)
{
	memset(w, 0, sizeof(*w));
	w->seed = seed;
	w->rng = seed;
	w->ready_ents = calloc(8, sizeof(*w->ready_ents));
}

void st_work_close(struct st_work *w)
{
	for (uint64_t i = 0; i < w->last; i++)
		free(w->log[i].data);
	free(w->log);
	free(w->ready_ents);
	memset(w, 0, sizeof(*w));
}

void st_work_step(struct st_work *w)
{
	uint64_t from, n, commit;

	w->step++;
	w->n_ready = 0;
	w->hs_changed = false;
	if (w->hs.term == 0 || work_rand(w) % 100 < 8) {
		w->hs.term++;
		w->hs.vote = 1 + work_rand(w) % 3;
		w->hs_changed = true;
	}
	from = w->last + 1;
	if (w->last > w->hs.commit && work_rand(w) % 100 < 15)
		from = w->hs.commit + 1 +
		       work_rand(w) % (w->last - w->hs.commit);
	n = work_rand(w) % 9;
	if (from <= w->last && n == 0)
		n = 1;
	for (uint64_t i = w->last; i >= from && i > 0; i--) {
		free(w->log[i - 1].data);
		w->log[i - 1].data = NULL;
	}
	if (from + n - 1 > w->cap) {
		w->cap = (from + n) * 2;
		w->log = realloc(w->log, w->cap * sizeof(*w->log));
	}
	for (uint64_t i = 0; i < n; i++) {
		struct st_work_entry *e = &w->log[from - 1 + i];
		size_t vlen = work_rand(w) % 200;
		int k = (int)(work_rand(w) % ST_WORK_KEYS);
		size_t len;

		e->term = w->hs.term;
		e->data = malloc(vlen + 8);
		len = (size_t)sprintf((char *)e->data, "%02d=", k);
		for (size_t j = 0; j < vlen; j++)
			e->data[len++] = (uint8_t)('a' + work_rand(w) % 26);
		e->len = (uint32_t)len;
		w->ready_ents[i].index = from + i;
		w->ready_ents[i].term = e->term;
		w->ready_ents[i].type = RAFT_ENTRY_NORMAL;
		w->ready_ents[i].len = e->len;
		w->ready_ents[i].data = e->data;
	}
	w->n_ready = (size_t)n;
	if (n > 0 || from <= w->last)
		w->last = from + n - 1;
	commit = w->hs.commit + work_rand(w) % 6;
	if (commit > w->last)
		commit = w->last;
	if (commit != w->hs.commit) {
		w->hs.commit = commit;
		w->hs_changed = true;
	}
}

int st_work_persist(struct st_work *w, struct store *s)
{
	return st_persist(s, w->hs_changed ? &w->hs : NULL, w->ready_ents,
			  w->n_ready);
}

uint64_t st_fsm_applied(struct store *s)
{
	struct fsm_backend *b = store_fsm_backend(s);
	const uint8_t *v;
	size_t len;
	int rv = b->ops->get(b, (const uint8_t *)"applied", 7, &v, &len);

	if (rv != COORD_OK || len != 8)
		return 0;
	return store_get_be64(v);
}

int st_work_apply(struct st_work *w, struct store *s)
{
	uint64_t commit = store_hard_state(s).commit;
	int rv = st_work_apply_fsm(w, s, commit);

	if (rv != COORD_OK)
		return rv;
	if (commit > store_applied_index(s))
		return store_applied_set(s, commit);
	return COORD_OK;
}

int st_work_apply_fsm(struct st_work *w, struct store *s, uint64_t upto)
{
	struct fsm_backend *b = store_fsm_backend(s);
	uint64_t applied = st_fsm_applied(s);
	int rv;

	for (uint64_t i = applied + 1; i <= upto; i++) {
		const struct st_work_entry *e = &w->log[i - 1];
		struct fsm_backend_write wr[2];
		uint8_t key[4] = { 'k', '/', e->data[0], e->data[1] };
		uint8_t idx[8];

		store_put_be64(idx, i);
		wr[0].type = FSM_BACKEND_PUT;
		wr[0].key = key;
		wr[0].key_len = sizeof(key);
		wr[0].value = e->data + 3;
		wr[0].value_len = e->len - 3;
		wr[1].type = FSM_BACKEND_PUT;
		wr[1].key = (const uint8_t *)"applied";
		wr[1].key_len = 7;
		wr[1].value = idx;
		wr[1].value_len = 8;
		rv = b->ops->write(b, wr, 2);
		if (rv != COORD_OK)
			return rv;
	}
	return COORD_OK;
}

int st_work_compact(struct st_work *w, struct store *s)
{
	struct raft_snapshot_meta m;
	uint64_t applied = store_applied_index(s);

	if (applied <= store_snapshot_meta(s)->index)
		return COORD_OK;
	memset(&m, 0, sizeof(m));
	m.index = applied;
	m.term = w->log[applied - 1].term;
	m.conf.n_voters = 1;
	m.conf.voters[0] = 1;
	return store_log_compact(s, &m);
}

void st_work_rewind(struct st_work *w, uint64_t seed, uint64_t step)
{
	if (w->step > step || w->seed != seed) {
		st_work_close(w);
		st_work_init(w, seed);
	}
	while (w->step < step)
		st_work_step(w);
}

bool st_work_matches(struct st_work *w, const struct store_restore *rs)
{
	const struct raft_restore *r = &rs->raft;
	uint64_t si = r->snapshot != NULL ? r->snapshot->index : 0;

	if (r->hard_state.term != w->hs.term ||
	    r->hard_state.vote != w->hs.vote ||
	    r->hard_state.commit != w->hs.commit ||
	    si + r->n_entries != w->last)
		return false;
	if (si > 0 && r->snapshot->term != w->log[si - 1].term)
		return false;
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct raft_entry *e = &r->entries[i];
		const struct st_work_entry *m = &w->log[e->index - 1];

		if (e->index != si + 1 + i || e->term != m->term ||
		    e->len != m->len ||
		    (e->len > 0 && memcmp(e->data, m->data, e->len) != 0))
			return false;
	}
	return true;
}

const char *st_work_check(struct st_work *w, struct store *s,
			  const struct store_restore *rs, uint64_t step)
{
	return st_work_check_ahead(w, s, rs, step, 0);
}

const char *st_work_check_ahead(struct st_work *w, struct store *s,
				const struct store_restore *rs, uint64_t step,
				uint64_t fsm_max)
{
	const struct raft_restore *r = &rs->raft;
	struct fsm_backend *b = store_fsm_backend(s);
	struct fsm_backend_iter *it;
	uint64_t si = r->snapshot != NULL ? r->snapshot->index : 0;
	uint64_t applied, top, n_model = 0, n_seen = 0;
	const char *bad = NULL;
	char *want[ST_WORK_KEYS] = { NULL };
	size_t want_len[ST_WORK_KEYS] = { 0 };

	st_work_rewind(w, w->seed, step);
	if (!st_work_matches(w, rs))
		return "hard state or log differs from the model";
	if (r->applied > r->hard_state.commit || r->applied < si)
		return "applied index out of range";
	if (fsm_max < w->hs.commit)
		fsm_max = w->hs.commit;
	applied = st_fsm_applied(s);
	if (applied < si || applied > fsm_max || applied > w->last ||
	    applied < r->applied)
		return "fsm applied index out of range";
	if (st_work_apply(w, s) != COORD_OK)
		return "replay failed";
	/* The model's keyspace at the commit index, or at the fsm's own
	 * applied index when that is ahead of it. */
	top = applied > w->hs.commit ? applied : w->hs.commit;
	for (uint64_t i = 0; i < top; i++) {
		const struct st_work_entry *e = &w->log[i];
		int k = (e->data[0] - '0') * 10 + (e->data[1] - '0');

		want[k] = (char *)e->data + 3;
		want_len[k] = e->len - 3;
	}
	for (int k = 0; k < ST_WORK_KEYS; k++)
		n_model += want[k] != NULL;
	if (b->ops->iter_new(b, NULL, &it) != COORD_OK)
		return "iter_new failed";
	for (b->ops->iter_seek(it, (const uint8_t *)"", 0);
	     b->ops->iter_valid(it); b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *v = b->ops->iter_value(it, &vl);
		int key;

		if (kl == 7 && memcmp(k, "applied", 7) == 0) {
			if (vl != 8 || store_get_be64(v) != top)
				bad = "fsm applied index is not the commit";
			continue;
		}
		if (kl != 4 || k[0] != 'k' || k[1] != '/') {
			bad = "unexpected fsm key";
			continue;
		}
		key = (k[2] - '0') * 10 + (k[3] - '0');
		n_seen++;
		if (key < 0 || key >= ST_WORK_KEYS || want[key] == NULL ||
		    want_len[key] != vl ||
		    (vl > 0 && memcmp(want[key], v, vl) != 0))
			bad = "fsm value differs from the replayed model";
	}
	if (b->ops->iter_status(it) != COORD_OK)
		bad = "iteration failed";
	b->ops->iter_free(it);
	if (bad == NULL && n_seen != n_model)
		bad = "fsm key count differs from the replayed model";
	return bad;
}
