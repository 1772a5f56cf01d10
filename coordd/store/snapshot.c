/*
 * coordd/store/snapshot.c: streaming the fsm keyspace out of a LevelDB
 * snapshot in bounded chunks, and installing such a stream atomically.
 *
 * A chunk (all integers big-endian):
 *
 *   0  magic "CSNK"         16 snapshot index:8
 *   4  version 1            24 snapshot term:8
 *   5  flags (bit 0: last)  32 body length:4
 *   6  zero:2               36 CRC32C of bytes 0..35 and the body
 *   8  sequence:4 (0, 1...) 40 body: records key_len:4 value_len:4 key
 *  12  records:4                  value, keys strictly ascending over
 *                                 the whole stream
 *
 * The receiver stages records in the generation after the live one (keys
 * 'F' gen+1 key) and switches generations in one synced batch; until then
 * the live keyspace is untouched, and store_open() removes a staging a
 * crash left behind.
 */
#include <inttypes.h>
#include <string.h>

#include "coordd/failpoint.h"
#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "proto/assert.h"
#include "proto/errors.h"

#define CHUNK_MAGIC "CSNK"
#define CHUNK_VERSION 1
#define CHUNK_LAST 0x01u
#define CHUNK_RECORD_HEADER 8

_Static_assert(STORE_SNAPSHOT_CHUNK_HEADER == 40, "chunk header layout");

struct store_snapshot_reader {
	struct store *s;
	const leveldb_snapshot_t *snap;
	leveldb_readoptions_t *ro;
	leveldb_iterator_t *it;
	uint8_t prefix[STORE_FSM_PREFIX_LEN];
	struct raft_snapshot_meta meta;
	uint32_t seq;
	bool done;
	int failed;                 /* the error that broke the stream */
	uint8_t *buf;
	size_t cap;
};

int store_snapshot_reader_new(struct store *s,
			      struct store_snapshot_reader **out)
{
	struct store_snapshot_reader *r;
	int rv;

	*out = NULL;
	/* It reads LevelDB: the fsm's waiting writes go there first. */
	rv = store_backend_flush(&s->backend);
	if (rv != COORD_OK)
		return rv;
	r = coord_malloc(s->alloc, sizeof(*r));
	if (r == NULL) {
		store_errf(s, "out of memory for a snapshot reader");
		return COORD_ENOMEM;
	}
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->meta = s->snap;
	store_fsm_prefix(r->prefix, s->gen);
	r->snap = leveldb_create_snapshot(s->db);
	r->ro = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(r->ro, 1);
	leveldb_readoptions_set_fill_cache(r->ro, 0);
	leveldb_readoptions_set_snapshot(r->ro, r->snap);
	r->it = leveldb_create_iterator(s->db, r->ro);
	leveldb_iter_seek(r->it, (const char *)r->prefix, sizeof(r->prefix));
	s->n_readers++;
	*out = r;
	return COORD_OK;
}

const struct raft_snapshot_meta *
store_snapshot_reader_meta(const struct store_snapshot_reader *r)
{
	return &r->meta;
}

/* The iterator's current record, when it is one of the keyspace's. */
static bool reader_at(struct store_snapshot_reader *r, const char **k,
		      size_t *klen)
{
	if (!leveldb_iter_valid(r->it))
		return false;
	*k = leveldb_iter_key(r->it, klen);
	return *klen >= STORE_FSM_PREFIX_LEN &&
	       memcmp(*k, r->prefix, STORE_FSM_PREFIX_LEN) == 0;
}

int store_snapshot_reader_next_chunk(struct store_snapshot_reader *r,
				     const uint8_t **chunk, size_t *len,
				     bool *last)
{
	struct store *s = r->s;
	size_t max = s->opts.snapshot_chunk_bytes;
	size_t n = STORE_SNAPSHOT_CHUNK_HEADER;
	uint32_t records = 0;
	const char *k;
	size_t klen;
	char *err = NULL;
	uint8_t *h;
	int rv;

	if (r->done || r->failed != COORD_OK) {
		store_errf(s, "the snapshot stream has %s",
			   r->done ? "ended" : "failed: free the reader");
		return COORD_EINVAL;
	}
	rv = store_buf_reserve(s->alloc, &r->buf, &r->cap, n);
	if (rv != COORD_OK)
		goto nomem;
	while (reader_at(r, &k, &klen)) {
		size_t vlen, rec;
		const char *v = leveldb_iter_value(r->it, &vlen);

		klen -= STORE_FSM_PREFIX_LEN;
		rec = CHUNK_RECORD_HEADER + klen + vlen;
		if (records > 0 && n + rec > max)
			break;
		rv = store_buf_reserve(s->alloc, &r->buf, &r->cap, n + rec);
		if (rv != COORD_OK)
			goto nomem;
		store_put_be32(r->buf + n, (uint32_t)klen);
		store_put_be32(r->buf + n + 4, (uint32_t)vlen);
		memcpy(r->buf + n + CHUNK_RECORD_HEADER,
		       k + STORE_FSM_PREFIX_LEN, klen);
		if (vlen > 0)
			memcpy(r->buf + n + CHUNK_RECORD_HEADER + klen, v,
			       vlen);
		n += rec;
		records++;
		leveldb_iter_next(r->it);
	}
	leveldb_iter_get_error(r->it, &err);
	if (err != NULL) {
		r->failed = store_leveldb_error(s, err,
						"reading the fsm snapshot");
		return r->failed;
	}
	*last = !reader_at(r, &k, &klen);
	h = r->buf;
	memcpy(h, CHUNK_MAGIC, 4);
	h[4] = CHUNK_VERSION;
	h[5] = *last ? CHUNK_LAST : 0;
	h[6] = 0;
	h[7] = 0;
	store_put_be32(h + 8, r->seq);
	store_put_be32(h + 12, records);
	store_put_be64(h + 16, r->meta.index);
	store_put_be64(h + 24, r->meta.term);
	store_put_be32(h + 32, (uint32_t)(n - STORE_SNAPSHOT_CHUNK_HEADER));
	store_put_be32(h + 36,
		       store_crc32c_extend(store_crc32c(h, 36),
					   h + STORE_SNAPSHOT_CHUNK_HEADER,
					   n - STORE_SNAPSHOT_CHUNK_HEADER));
	r->seq++;
	r->done = *last;
	*chunk = r->buf;
	*len = n;
	return COORD_OK;
nomem:
	/* Records of this chunk were consumed: the stream cannot go on. */
	store_errf(s, "out of memory building a snapshot chunk");
	r->failed = rv;
	return rv;
}

void store_snapshot_reader_free(struct store_snapshot_reader *r)
{
	if (r == NULL)
		return;
	leveldb_iter_destroy(r->it);
	leveldb_readoptions_destroy(r->ro);
	leveldb_release_snapshot(r->s->db, r->snap);
	COORD_ASSERT(r->s->n_readers > 0);
	r->s->n_readers--;
	coord_free(r->s->alloc, r->buf);
	coord_free(r->s->alloc, r);
}

/* ---------------------------------------------------------------------- */
/* Installing. */

struct store_snapshot_install {
	struct store *s;
	uint32_t gen;               /* the staging generation */
	uint32_t seq;               /* the next chunk's */
	uint64_t index;
	uint64_t term;
	bool last;                  /* the last chunk arrived */
	bool broken;                /* a chunk was refused */
	uint8_t *prev;              /* the last key staged */
	size_t prev_len;
	size_t prev_cap;
	uint8_t *key;               /* prefix + key */
	size_t key_cap;
	uint64_t records;
	leveldb_writebatch_t *batch;
};

static void install_free(struct store_snapshot_install *in)
{
	struct store *s = in->s;

	leveldb_writebatch_destroy(in->batch);
	coord_free(s->alloc, in->prev);
	coord_free(s->alloc, in->key);
	coord_free(s->alloc, in);
	s->installing = false;
}

int store_snapshot_install_begin(struct store *s,
				 struct store_snapshot_install **out)
{
	struct store_snapshot_install *in;
	uint64_t n;
	int rv;

	*out = NULL;
	if (s->installing || s->gen == UINT32_MAX) {
		store_errf(s, "%s", s->installing
					    ? "a snapshot install is already "
					      "in progress"
					    : "fsm generations exhausted");
		return COORD_EINVAL;
	}
	in = coord_malloc(s->alloc, sizeof(*in));
	if (in == NULL) {
		store_errf(s, "out of memory for a snapshot install");
		return COORD_ENOMEM;
	}
	memset(in, 0, sizeof(*in));
	in->s = s;
	in->gen = s->gen + 1;
	in->batch = leveldb_writebatch_create();
	s->installing = true;
	/* Leftovers of an aborted install whose cleanup failed. */
	rv = store_gen_delete(s, in->gen, &n);
	if (rv != COORD_OK) {
		install_free(in);
		return rv;
	}
	*out = in;
	return COORD_OK;
}

static int chunk_bad(struct store_snapshot_install *in, int code,
		     const char *what)
{
	in->broken = true;
	store_errf(in->s, "snapshot chunk %" PRIu32 " refused: %s", in->seq,
		   what);
	return code;
}

/* memcmp order, a proper prefix first. */
static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
		   size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

int store_snapshot_install_add_chunk(struct store_snapshot_install *in,
				     const uint8_t *chunk, size_t len)
{
	struct store *s = in->s;
	const uint8_t *p, *end;
	uint32_t records, body;
	int rv;

	if (in->broken) {
		store_errf(s, "the snapshot install failed earlier: abort it");
		return COORD_EINVAL;
	}
	if (in->last)
		return chunk_bad(in, COORD_EMALFORMED,
				 "data after the last chunk");
	if (len < STORE_SNAPSHOT_CHUNK_HEADER ||
	    memcmp(chunk, CHUNK_MAGIC, 4) != 0 || chunk[4] != CHUNK_VERSION ||
	    (chunk[5] & ~CHUNK_LAST) != 0 || chunk[6] != 0 || chunk[7] != 0)
		return chunk_bad(in, COORD_EMALFORMED, "not a chunk header");
	body = store_get_be32(chunk + 32);
	if (body != len - STORE_SNAPSHOT_CHUNK_HEADER)
		return chunk_bad(in, COORD_EMALFORMED,
				 "body length does not match the chunk");
	if (store_get_be32(chunk + 36) !=
	    store_crc32c_extend(store_crc32c(chunk, 36),
				chunk + STORE_SNAPSHOT_CHUNK_HEADER, body))
		return chunk_bad(in, COORD_ECORRUPT, "checksum mismatch");
	if (store_get_be32(chunk + 8) != in->seq)
		return chunk_bad(in, COORD_EMALFORMED, "out of sequence");
	if (in->seq == 0) {
		in->index = store_get_be64(chunk + 16);
		in->term = store_get_be64(chunk + 24);
	} else if (store_get_be64(chunk + 16) != in->index ||
		   store_get_be64(chunk + 24) != in->term) {
		return chunk_bad(in, COORD_EMALFORMED,
				 "from another snapshot stream");
	}
	records = store_get_be32(chunk + 12);
	p = chunk + STORE_SNAPSHOT_CHUNK_HEADER;
	end = p + body;
	leveldb_writebatch_clear(in->batch);
	for (uint32_t i = 0; i < records; i++) {
		size_t klen, vlen;

		if ((size_t)(end - p) < CHUNK_RECORD_HEADER)
			return chunk_bad(in, COORD_EMALFORMED,
					 "record header past the body");
		klen = store_get_be32(p);
		vlen = store_get_be32(p + 4);
		p += CHUNK_RECORD_HEADER;
		if (klen > (size_t)(end - p) ||
		    vlen > (size_t)(end - p) - klen)
			return chunk_bad(in, COORD_EMALFORMED,
					 "record past the body");
		if (in->records + i > 0 &&
		    key_cmp(in->prev, in->prev_len, p, klen) >= 0)
			return chunk_bad(in, COORD_EMALFORMED,
					 "keys out of order");
		rv = store_buf_reserve(s->alloc, &in->prev, &in->prev_cap,
				       klen);
		if (rv == COORD_OK)
			rv = store_buf_reserve(s->alloc, &in->key,
					       &in->key_cap,
					       STORE_FSM_PREFIX_LEN + klen);
		if (rv != COORD_OK) {
			in->broken = true;
			store_errf(s, "out of memory staging a snapshot");
			return rv;
		}
		if (klen > 0)
			memcpy(in->prev, p, klen);
		in->prev_len = klen;
		store_fsm_prefix(in->key, in->gen);
		if (klen > 0)
			memcpy(in->key + STORE_FSM_PREFIX_LEN, p, klen);
		leveldb_writebatch_put(in->batch, (const char *)in->key,
				       STORE_FSM_PREFIX_LEN + klen,
				       (const char *)p + klen, vlen);
		p += klen + vlen;
	}
	if (p != end)
		return chunk_bad(in, COORD_EMALFORMED,
				 "bytes after the last record");
	if (records > 0) {
		rv = store_batch_write(s, in->batch, false,
				       "staging a snapshot chunk");
		if (rv != COORD_OK) {
			in->broken = true;
			return rv;
		}
	}
	in->records += records;
	in->seq++;
	in->last = (chunk[5] & CHUNK_LAST) != 0;
	return COORD_OK;
}

void store_snapshot_install_abort(struct store_snapshot_install *in)
{
	uint64_t n;

	if (in == NULL)
		return;
	/* A failure leaves garbage that store_open() removes. */
	if (store_gen_delete(in->s, in->gen, &n) != COORD_OK)
		store_logf(in->s, STORE_LOG_WARN,
			   "snapshot staging not removed: %s",
			   in->s->errmsg);
	install_free(in);
}

int store_snapshot_install_commit(struct store_snapshot_install *in,
				  const struct raft_snapshot_meta *meta)
{
	struct store *s = in->s;
	uint32_t old = s->gen;
	uint64_t n;
	int rv;

	if (in->broken || !in->last || meta->index == 0 ||
	    meta->index != in->index || meta->term != in->term ||
	    meta->index <= s->hard.hs.commit ||
	    meta->conf.n_voters > RAFT_NODES_MAX ||
	    meta->conf.n_learners > RAFT_NODES_MAX) {
		store_errf(s, "cannot commit the snapshot install: %s",
			   in->broken  ? "a chunk was refused"
			   : !in->last ? "the last chunk has not arrived"
			   : meta->index == 0 || meta->index != in->index ||
					   meta->term != in->term
				       ? "the metadata is not the stream's"
			   : meta->index <= s->hard.hs.commit
				       ? "its index is not above the commit index"
				       : "the conf has too many members");
		store_snapshot_install_abort(in);
		return COORD_EINVAL;
	}
	leveldb_writebatch_clear(s->batch);
	store_install_apply(s, s->batch, meta, in->gen);
	rv = store_batch_write(s, s->batch, true, "installing a snapshot");
	if (rv != COORD_OK) {
		store_snapshot_install_abort(in);
		return rv;
	}
	s->gen = in->gen;
	/* Half-way: the keyspace switched, the log not yet reset -- the
	 * next open completes the install. */
	(void)FAILPOINT(FAILPOINT_SNAPSHOT_INSTALL);
	rv = store_install_finish(s, meta);
	if (rv != COORD_OK) {
		/* Committed: the next open completes the reset and removes
		 * the old generation. */
		install_free(in);
		return rv;
	}
	store_logf(s, STORE_LOG_INFO,
		   "installed snapshot index=%" PRIu64 " term=%" PRIu64
		   " records=%" PRIu64, meta->index, meta->term, in->records);
	install_free(in);
	if (store_gen_delete(s, old, &n) != COORD_OK)
		store_logf(s, STORE_LOG_WARN,
			   "the replaced fsm generation was not removed: %s",
			   s->errmsg);
	return COORD_OK;
}
