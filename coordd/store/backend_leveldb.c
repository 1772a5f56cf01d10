/*
 * coordd/store/backend_leveldb.c: the fsm's struct fsm_backend on LevelDB.
 *
 * A thin adapter: every fsm key is stored as 'F' gen:4 key (gen: the live
 * generation when the call, snapshot or iterator was made), so the fsm's
 * memcmp order is LevelDB's order within the prefix. Writes are one
 * WriteBatch with sync=false: the synced Raft log is the durable record,
 * and replaying it restores an fsm write a crash lost. Most writes wait
 * in the read cache for the next flush (write-back, store_int.h). Reads
 * verify LevelDB's block checksums. Snapshots are LevelDB snapshots; an
 * iterator reads through its snapshot, or through LevelDB's implicit one
 * taken when it is created (both after a flush).
 */
#include <stdlib.h>
#include <string.h>

#include "coordd/store/store_int.h"
#include "proto/assert.h"
#include "proto/errors.h"

struct store_backend_snap {
	struct fsm_backend_snap base;
	const leveldb_snapshot_t *snap;
	uint32_t gen;
};

struct store_backend_iter {
	struct fsm_backend_iter base;
	leveldb_iterator_t *it;
	leveldb_readoptions_t *ro;
	uint8_t prefix[STORE_FSM_PREFIX_LEN];
	uint8_t *key;               /* prefix + the key sought */
	size_t key_cap;
	int status;
};

static struct store_backend *backend_of(struct fsm_backend *b)
{
	return (struct store_backend *)b;
}

int store_backend_key_reserve(struct store_backend *b, size_t n)
{
	return store_buf_reserve(b->s->alloc, &b->key, &b->key_cap, n);
}

/* b->key = 'F' gen key. */
static int full_key(struct store_backend *b, const uint8_t *key, size_t len)
{
	int rv = store_backend_key_reserve(b, STORE_FSM_PREFIX_LEN + len);

	if (rv != COORD_OK) {
		store_errf(b->s, "out of memory building an fsm key");
		return rv;
	}
	store_fsm_prefix(b->key, b->s->gen);
	if (len > 0)
		memcpy(b->key + STORE_FSM_PREFIX_LEN, key, len);
	return COORD_OK;
}

static void drop_got(struct store_backend *b)
{
	if (b->got != NULL)
		leveldb_free(b->got);
	b->got = NULL;
}

/*
 * The read cache (store_int.h).
 */

/* Drops every slot, dirty ones too: called when their writes are lost
 * anyway (a failed write fails the store, which then refuses reads) or
 * belong to a generation no longer live. */
static void cache_clear(struct store_backend *b)
{
	if (b->cache == NULL)
		return;
	for (size_t i = 0; i < STORE_CACHE_SLOTS; i++) {
		coord_free(b->s->alloc, b->cache[i].buf);
		memset(&b->cache[i], 0, sizeof(b->cache[i]));
	}
	b->n_dirty = 0;
	b->cache_gen = b->s->gen;
}

/* The slot key would take (FNV-1a), the table first dropped if the live
 * generation is no longer its own. NULL: no table. */
static struct store_cache_slot *cache_slot(struct store_backend *b,
					   const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u;

	if (b->cache == NULL)
		return NULL;
	if (b->cache_gen != b->s->gen)
		cache_clear(b);
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return &b->cache[h & (STORE_CACHE_SLOTS - 1)];
}

static bool slot_holds(const struct store_cache_slot *c, const uint8_t *key,
		       size_t len)
{
	return c->buf != NULL && c->key_len == len &&
	       (len == 0 || memcmp(c->buf, key, len) == 0);
}

/* Slot c (its buffer allocated, the record fitting) now holds key and
 * says (found, value). */
static void slot_put(struct store_cache_slot *c, const uint8_t *key,
		     size_t len, bool found, const uint8_t *value,
		     size_t value_len)
{
	if (len > 0)
		memcpy(c->buf, key, len);
	if (found && value_len > 0)
		memcpy(c->buf + len, value, value_len);
	c->key_len = (uint32_t)len;
	c->value_len = found ? (uint32_t)value_len : 0;
	c->found = found;
}

/* The slot of key now says (found, value); a record too large for a slot
 * only empties the slot if it held the key. A dirty slot of another key
 * stays as it is (a read leaves it; a write flushes first). */
static void cache_fill(struct store_backend *b, const uint8_t *key,
		       size_t len, bool found, const uint8_t *value,
		       size_t value_len)
{
	struct store_cache_slot *c = cache_slot(b, key, len);
	size_t need = len + (found ? value_len : 0);

	if (c == NULL)
		return;
	if (c->dirty && !slot_holds(c, key, len))
		return;                 /* another key's write waits in it */
	if (need > STORE_CACHE_RECORD_MAX) {
		if (slot_holds(c, key, len)) {
			COORD_ASSERT(!c->dirty);
			coord_free(b->s->alloc, c->buf);
			memset(c, 0, sizeof(*c));
		}
		return;
	}
	if (c->buf == NULL) {
		/* Room for any record: a slot is allocated once. */
		c->buf = coord_malloc(b->s->alloc, STORE_CACHE_RECORD_MAX);
		if (c->buf == NULL)
			return;
	}
	slot_put(c, key, len, found, value, value_len);
}

void store_writeback_stats(const struct store *s, uint64_t *deferred,
			   uint64_t *flushes)
{
	*deferred = s->backend.writes_deferred;
	*flushes = s->backend.flushes;
}

int store_backend_flush(struct store_backend *b)
{
	return store_backend_flush_with(b, NULL);
}

int store_backend_flush_with(struct store_backend *b,
			     leveldb_writebatch_t *extra)
{
	int rv = COORD_OK;

	/* Records of a generation no longer live are not written under
	 * the live one's prefix: the install that replaced it made them
	 * moot. */
	if (b->n_dirty > 0 && b->cache_gen != b->s->gen)
		cache_clear(b);
	if (b->n_dirty == 0)
		return extra == NULL ? COORD_OK
				     : store_batch_write(b->s, extra, false,
							 "writing fsm records");
	leveldb_writebatch_clear(b->batch);
	for (size_t i = 0; i < b->n_dirty && rv == COORD_OK; i++) {
		const struct store_cache_slot *c = &b->cache[b->dirty[i]];

		COORD_ASSERT(c->dirty);
		rv = full_key(b, c->buf, c->key_len);
		if (rv != COORD_OK)
			break;
		if (c->found)
			leveldb_writebatch_put(b->batch, (const char *)b->key,
					       STORE_FSM_PREFIX_LEN + c->key_len,
					       (const char *)c->buf + c->key_len,
					       c->value_len);
		else
			leveldb_writebatch_delete(b->batch,
						  (const char *)b->key,
						  STORE_FSM_PREFIX_LEN +
							  c->key_len);
	}
	if (rv == COORD_OK && extra != NULL)
		leveldb_writebatch_append(b->batch, extra);
	if (rv == COORD_OK)
		rv = store_batch_write(b->s, b->batch, false,
				       "writing fsm records");
	if (rv != COORD_OK) {
		/* The store has failed (or is out of memory): the records
		 * are lost (the Raft log has them), and so is the cache's
		 * claim to them; reads are refused from now on (failed()). */
		b->s->failed = true;
		cache_clear(b);
		return rv;
	}
	for (size_t i = 0; i < b->n_dirty; i++)
		b->cache[b->dirty[i]].dirty = false;
	b->n_dirty = 0;
	b->flushes++;
	return COORD_OK;
}

/* Whether write() may leave writes[] in the slots alone: every record
 * fits a slot, each slot holds no other key's dirty record, and no two
 * of these keys share a slot. Stamps the slots with this call. */
static bool defer_ok(struct store_backend *b,
		     const struct fsm_backend_write *writes, size_t n)
{
	/* A failed store refuses writes at once (store_batch_write()). */
	if (b->cache == NULL || b->s->failed)
		return false;
	/* Wrapped: a slot's stamp from 2^32 calls ago would pass for this
	 * call's, its stamp_at maybe past writes[n). */
	if (++b->stamp == 0) {
		for (size_t i = 0; i < STORE_CACHE_SLOTS; i++)
			b->cache[i].stamp = 0;
		b->stamp = 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fsm_backend_write *w = &writes[i];
		struct store_cache_slot *c = cache_slot(b, w->key, w->key_len);
		size_t need = w->key_len +
			      (w->type == FSM_BACKEND_PUT ? w->value_len : 0);

		if (w->type != FSM_BACKEND_PUT &&
		    w->type != FSM_BACKEND_DELETE)
			return false;
		if (need > STORE_CACHE_RECORD_MAX)
			return false;
		if (c->dirty && !slot_holds(c, w->key, w->key_len))
			return false;
		if (c->stamp == b->stamp) {
			const struct fsm_backend_write *o = &writes[c->stamp_at];

			if (o->key_len != w->key_len ||
			    (w->key_len > 0 &&
			     memcmp(o->key, w->key, w->key_len) != 0))
				return false;
		}
		if (c->buf == NULL) {
			/* Allocated here so that filling cannot fail; a
			 * key_len no key has keeps it empty until then. */
			c->buf = coord_malloc(b->s->alloc,
					      STORE_CACHE_RECORD_MAX);
			if (c->buf == NULL)
				return false;
			c->key_len = UINT32_MAX;
		}
		c->stamp = b->stamp;
		c->stamp_at = (uint32_t)i;
	}
	return true;
}

void store_cache_stats(const struct store *s, uint64_t *hits,
		       uint64_t *misses)
{
	*hits = s->backend.cache_hits;
	*misses = s->backend.cache_misses;
}

/* A failed store answers no read: LevelDB may lack writes the fsm
 * made (a failed flush drops them), and a read of the older state
 * would contradict what the node has acknowledged. */
static int failed(struct store_backend *b, const char *what)
{
	if (!b->s->failed)
		return COORD_OK;
	store_errf(b->s, "%s: the store failed earlier (a write error); "
			 "close and reopen it", what);
	return COORD_EIO;
}

static int be_get(struct fsm_backend *fb, const uint8_t *key, size_t key_len,
		  const uint8_t **value, size_t *value_len)
{
	struct store_backend *b = backend_of(fb);
	struct store *s = b->s;
	const struct store_cache_slot *c;
	char *err = NULL;
	int rv;

	drop_got(b);
	rv = failed(b, "reading an fsm record");
	if (rv != COORD_OK)
		return rv;
	c = cache_slot(b, key, key_len);
	if (c != NULL && slot_holds(c, key, key_len)) {
		b->cache_hits++;
		if (!c->found)
			return COORD_ENOTFOUND;
		*value = c->buf + c->key_len;
		*value_len = c->value_len;
		return COORD_OK;
	}
	b->cache_misses++;
	rv = full_key(b, key, key_len);
	if (rv != COORD_OK)
		return rv;
	b->got = leveldb_get(s->db, s->ropts, (const char *)b->key,
			     STORE_FSM_PREFIX_LEN + key_len, value_len, &err);
	if (err != NULL)
		return store_leveldb_error(s, err, "reading an fsm record");
	cache_fill(b, key, key_len, b->got != NULL, (const uint8_t *)b->got,
		   b->got != NULL ? *value_len : 0);
	if (b->got == NULL)
		return COORD_ENOTFOUND;
	*value = (const uint8_t *)b->got;
	return COORD_OK;
}

static int be_write(struct fsm_backend *fb,
		    const struct fsm_backend_write *writes, size_t n)
{
	struct store_backend *b = backend_of(fb);
	int rv;

	drop_got(b);
	if (defer_ok(b, writes, n)) {
		for (size_t i = 0; i < n; i++) {
			const struct fsm_backend_write *w = &writes[i];
			struct store_cache_slot *c =
				cache_slot(b, w->key, w->key_len);

			/* defer_ok() allocated the slot; the record fits. */
			if (!c->dirty)
				b->dirty[b->n_dirty++] =
					(uint32_t)(c - b->cache);
			slot_put(c, w->key, w->key_len,
				 w->type == FSM_BACKEND_PUT, w->value,
				 w->value_len);
			c->dirty = true;
		}
		b->writes_deferred++;
		return COORD_OK;
	}
	/* Through to LevelDB, after what waits: the order of writes. */
	rv = store_backend_flush(b);
	if (rv != COORD_OK)
		return rv;
	leveldb_writebatch_clear(b->batch);
	for (size_t i = 0; i < n; i++) {
		const struct fsm_backend_write *w = &writes[i];

		if (w->type != FSM_BACKEND_PUT &&
		    w->type != FSM_BACKEND_DELETE) {
			store_errf(b->s, "fsm write %zu has type %u", i,
				   w->type);
			return COORD_EINVAL;
		}
		rv = full_key(b, w->key, w->key_len);
		if (rv != COORD_OK)
			return rv;
		if (w->type == FSM_BACKEND_PUT)
			leveldb_writebatch_put(b->batch, (const char *)b->key,
					       STORE_FSM_PREFIX_LEN + w->key_len,
					       (const char *)w->value,
					       w->value_len);
		else
			leveldb_writebatch_delete(b->batch,
						  (const char *)b->key,
						  STORE_FSM_PREFIX_LEN +
							  w->key_len);
	}
	rv = store_batch_write(b->s, b->batch, false, "writing fsm records");
	if (rv != COORD_OK) {
		cache_clear(b);
		return rv;
	}
	for (size_t i = 0; i < n; i++)
		cache_fill(b, writes[i].key, writes[i].key_len,
			   writes[i].type == FSM_BACKEND_PUT, writes[i].value,
			   writes[i].value_len);
	return COORD_OK;
}

static int be_snap_new(struct fsm_backend *fb, struct fsm_backend_snap **out)
{
	struct store_backend *b = backend_of(fb);
	struct store_backend_snap *sn;
	int rv;

	*out = NULL;
	rv = failed(b, "an fsm snapshot");
	if (rv == COORD_OK)
		rv = store_backend_flush(b);
	if (rv != COORD_OK)
		return rv;
	sn = coord_malloc(b->s->alloc, sizeof(*sn));
	if (sn == NULL) {
		store_errf(b->s, "out of memory for an fsm snapshot");
		return COORD_ENOMEM;
	}
	sn->base.backend = fb;
	sn->snap = leveldb_create_snapshot(b->s->db);
	sn->gen = b->s->gen;
	b->n_snaps++;
	*out = &sn->base;
	return COORD_OK;
}

static void be_snap_free(struct fsm_backend_snap *fs)
{
	struct store_backend_snap *sn = (struct store_backend_snap *)fs;
	struct store_backend *b;

	if (fs == NULL)
		return;
	b = backend_of(fs->backend);
	leveldb_release_snapshot(b->s->db, sn->snap);
	COORD_ASSERT(b->n_snaps > 0);
	b->n_snaps--;
	coord_free(b->s->alloc, sn);
}

static int be_iter_new(struct fsm_backend *fb, struct fsm_backend_snap *fs,
		       struct fsm_backend_iter **out)
{
	struct store_backend *b = backend_of(fb);
	struct store_backend_snap *sn = (struct store_backend_snap *)fs;
	struct store_backend_iter *it;
	int rv;

	*out = NULL;
	rv = failed(b, "an fsm iterator");
	/* A snapshot's iterator reads what was flushed when it was made. */
	if (rv == COORD_OK && sn == NULL)
		rv = store_backend_flush(b);
	if (rv != COORD_OK)
		return rv;
	it = coord_malloc(b->s->alloc, sizeof(*it));
	if (it == NULL) {
		store_errf(b->s, "out of memory for an fsm iterator");
		return COORD_ENOMEM;
	}
	memset(it, 0, sizeof(*it));
	it->base.backend = fb;
	it->ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(it->ro, 1);
	if (sn != NULL) {
		COORD_ASSERT(fs->backend == fb);
		leveldb_readoptions_set_snapshot(it->ro, sn->snap);
		store_fsm_prefix(it->prefix, sn->gen);
	} else {
		store_fsm_prefix(it->prefix, b->s->gen);
	}
	it->it = leveldb_create_iterator(b->s->db, it->ro);
	it->status = COORD_OK;
	b->n_iters++;
	*out = &it->base;
	return COORD_OK;
}

static void be_iter_free(struct fsm_backend_iter *fi)
{
	struct store_backend_iter *it = (struct store_backend_iter *)fi;
	struct store_backend *b;

	if (fi == NULL)
		return;
	b = backend_of(fi->backend);
	leveldb_iter_destroy(it->it);
	leveldb_readoptions_destroy(it->ro);
	coord_free(b->s->alloc, it->key);
	COORD_ASSERT(b->n_iters > 0);
	b->n_iters--;
	coord_free(b->s->alloc, it);
}

/* Records LevelDB's error, if any, as the iterator's status. */
static void iter_check(struct store_backend_iter *it)
{
	struct store_backend *b = backend_of(it->base.backend);
	char *err = NULL;

	leveldb_iter_get_error(it->it, &err);
	if (err != NULL)
		it->status = store_leveldb_error(b->s, err,
						 "iterating fsm records");
}

static void be_iter_seek(struct fsm_backend_iter *fi, const uint8_t *key,
			 size_t key_len)
{
	struct store_backend_iter *it = (struct store_backend_iter *)fi;
	struct store_backend *b = backend_of(fi->backend);

	if (it->status != COORD_OK)
		return;
	if (store_buf_reserve(b->s->alloc, &it->key, &it->key_cap,
			      STORE_FSM_PREFIX_LEN + key_len) != COORD_OK) {
		store_errf(b->s, "out of memory seeking an fsm iterator");
		it->status = COORD_ENOMEM;
		return;
	}
	memcpy(it->key, it->prefix, STORE_FSM_PREFIX_LEN);
	if (key_len > 0)
		memcpy(it->key + STORE_FSM_PREFIX_LEN, key, key_len);
	leveldb_iter_seek(it->it, (const char *)it->key,
			  STORE_FSM_PREFIX_LEN + key_len);
	iter_check(it);
}

static bool be_iter_valid(const struct fsm_backend_iter *fi)
{
	const struct store_backend_iter *it =
		(const struct store_backend_iter *)fi;
	const char *k;
	size_t klen;

	if (it->status != COORD_OK || !leveldb_iter_valid(it->it))
		return false;
	k = leveldb_iter_key(it->it, &klen);
	return klen >= STORE_FSM_PREFIX_LEN &&
	       memcmp(k, it->prefix, STORE_FSM_PREFIX_LEN) == 0;
}

static void be_iter_next(struct fsm_backend_iter *fi)
{
	struct store_backend_iter *it = (struct store_backend_iter *)fi;

	COORD_ASSERT(be_iter_valid(fi));
	leveldb_iter_next(it->it);
	iter_check(it);
}

static const uint8_t *be_iter_key(const struct fsm_backend_iter *fi,
				  size_t *len)
{
	const struct store_backend_iter *it =
		(const struct store_backend_iter *)fi;
	size_t klen;
	const char *k = leveldb_iter_key(it->it, &klen);

	*len = klen - STORE_FSM_PREFIX_LEN;
	return (const uint8_t *)k + STORE_FSM_PREFIX_LEN;
}

static const uint8_t *be_iter_value(const struct fsm_backend_iter *fi,
				    size_t *len)
{
	const struct store_backend_iter *it =
		(const struct store_backend_iter *)fi;

	return (const uint8_t *)leveldb_iter_value(it->it, len);
}

static int be_iter_status(const struct fsm_backend_iter *fi)
{
	return ((const struct store_backend_iter *)fi)->status;
}

static const struct fsm_backend_ops store_backend_ops = {
	.get = be_get,
	.write = be_write,
	.snap_new = be_snap_new,
	.snap_free = be_snap_free,
	.iter_new = be_iter_new,
	.iter_free = be_iter_free,
	.iter_seek = be_iter_seek,
	.iter_valid = be_iter_valid,
	.iter_next = be_iter_next,
	.iter_key = be_iter_key,
	.iter_value = be_iter_value,
	.iter_status = be_iter_status,
};

void store_backend_init(struct store_backend *b, struct store *s)
{
	memset(b, 0, sizeof(*b));
	b->base.ops = &store_backend_ops;
	b->s = s;
	b->batch = leveldb_writebatch_create();
	/* Without room for the table (and the list of its dirty slots,
	 * after it), no cache: every get() reads LevelDB, every write()
	 * writes it. */
	b->cache = coord_malloc(s->alloc,
				STORE_CACHE_SLOTS * (sizeof(*b->cache) +
						     sizeof(*b->dirty)));
	if (b->cache != NULL) {
		memset(b->cache, 0, STORE_CACHE_SLOTS * sizeof(*b->cache));
		b->dirty = (uint32_t *)(b->cache + STORE_CACHE_SLOTS);
	}
	b->cache_gen = s->gen;
}

void store_backend_close(struct store_backend *b)
{
	COORD_ASSERT(b->n_iters == 0);
	COORD_ASSERT(b->n_snaps == 0);
	drop_got(b);
	/* A failure here loses what the Raft log replays. */
	(void)store_backend_flush(b);
	cache_clear(b);
	coord_free(b->s->alloc, b->cache);
	leveldb_writebatch_destroy(b->batch);
	coord_free(b->s->alloc, b->key);
}

struct fsm_backend *store_fsm_backend(struct store *s)
{
	return &s->backend.base;
}
