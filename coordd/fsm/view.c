/*
 * coordd/fsm/view.c: the fsm's key layout, its overlay of pending writes,
 * and iterators over the backend merged with that overlay (see
 * fsm_int.h and the layout in backend.h).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/assert.h"
#include "proto/errors.h"

/*
 * Scratch buffers.
 */

int fsm_kbuf_reserve(struct fsm *f, struct fsm_kbuf *k, size_t more)
{
	size_t cap = k->cap == 0 ? 64 : k->cap;
	uint8_t *p;

	if (more > SIZE_MAX / 4 - k->len)
		return COORD_ENOMEM;
	if (k->len + more <= k->cap)
		return COORD_OK;
	while (cap < k->len + more)
		cap *= 2;
	p = coord_realloc(f->cfg.alloc, k->data, cap);
	if (p == NULL)
		return COORD_ENOMEM;
	k->data = p;
	k->cap = cap;
	return COORD_OK;
}

int fsm_kbuf_append(struct fsm *f, struct fsm_kbuf *k, const uint8_t *p,
		    size_t n)
{
	int rc;

	if (n == 0)
		return COORD_OK;
	rc = fsm_kbuf_reserve(f, k, n);
	if (rc != COORD_OK)
		return rc;
	memcpy(k->data + k->len, p, n);
	k->len += n;
	return COORD_OK;
}

int fsm_kbuf_set(struct fsm *f, struct fsm_kbuf *k, const uint8_t *p,
		 size_t n)
{
	k->len = 0;
	return fsm_kbuf_append(f, k, p, n);
}

int fsm_kbuf_append_u64(struct fsm *f, struct fsm_kbuf *k, uint64_t v)
{
	uint8_t be[8];

	fsm_be64_put(be, v);
	return fsm_kbuf_append(f, k, be, sizeof(be));
}

void fsm_kbuf_free(struct fsm *f, struct fsm_kbuf *k)
{
	coord_free(f->cfg.alloc, k->data);
	k->data = NULL;
	k->len = 0;
	k->cap = 0;
}

/*
 * Key layout.
 */

void fsm_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t fsm_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

void fsm_be32_put(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint32_t fsm_be32_get(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}

int fsm_kkey_build(struct fsm *f, struct fsm_kbuf *k, const uint8_t *key,
		   size_t key_len, bool terminated)
{
	uint8_t *p;
	int rc;

	k->len = 0;
	/* Room for the worst case, the terminator and a revision. */
	if (key_len > SIZE_MAX / 4)
		return COORD_ENOMEM;
	rc = fsm_kbuf_reserve(f, k, 1 + 2 * key_len + 2 + 8);
	if (rc != COORD_OK)
		return rc;
	p = k->data;
	*p++ = FSM_KIND_KEY;
	for (size_t i = 0; i < key_len; i++) {
		*p++ = key[i];
		if (key[i] == 0x00)
			*p++ = 0xff;
	}
	if (terminated) {
		*p++ = 0x00;
		*p++ = 0x01;
	}
	k->len = (size_t)(p - k->data);
	return COORD_OK;
}

int fsm_kkey_parse(struct fsm *f, const uint8_t *k, size_t len,
		   struct fsm_kbuf *ukey, size_t *group_len, uint64_t *rev)
{
	size_t i = 1;
	uint8_t *u;
	int rc;

	if (len < 1 + 2 + 8 || k[0] != FSM_KIND_KEY)
		return COORD_ECORRUPT;
	ukey->len = 0;
	rc = fsm_kbuf_reserve(f, ukey, len);
	if (rc != COORD_OK)
		return rc;
	u = ukey->data;
	for (;;) {
		if (i + 8 >= len)
			return COORD_ECORRUPT;  /* no terminator before rev */
		if (k[i] != 0x00) {
			*u++ = k[i++];
		} else if (k[i + 1] == 0xff) {
			*u++ = 0x00;
			i += 2;
		} else if (k[i + 1] == 0x01) {
			i += 2;
			break;
		} else {
			return COORD_ECORRUPT;
		}
	}
	if (len - i != 8)
		return COORD_ECORRUPT;
	*rev = ~fsm_be64_get(k + i);
	if (*rev == 0)
		return COORD_ECORRUPT;
	ukey->len = (size_t)(u - ukey->data);
	*group_len = i;
	return COORD_OK;
}

int fsm_krec_parse(const uint8_t *v, size_t len, struct fsm_krec *rec)
{
	if (len < FSM_KREC_HDR_BYTES || (v[0] & ~FSM_KREC_TOMBSTONE) != 0)
		return COORD_ECORRUPT;
	rec->tombstone = (v[0] & FSM_KREC_TOMBSTONE) != 0;
	rec->create_revision = fsm_be64_get(v + 1);
	rec->version = fsm_be64_get(v + 9);
	rec->lease = fsm_be64_get(v + 17);
	rec->sub = fsm_be32_get(v + 25);
	rec->value = v + FSM_KREC_HDR_BYTES;
	rec->value_len = len - FSM_KREC_HDR_BYTES;
	/* A tombstone carries nothing; a live version was created. */
	if (rec->tombstone) {
		if (rec->create_revision != 0 || rec->version != 0 ||
		    rec->lease != 0 || rec->value_len != 0)
			return COORD_ECORRUPT;
	} else if (rec->create_revision == 0 || rec->version == 0) {
		return COORD_ECORRUPT;
	}
	return COORD_OK;
}

uint8_t *fsm_krec_build(struct fsm *f, const struct fsm_krec *rec, size_t *len)
{
	uint8_t *v;

	v = proto_arena_alloc(&f->arena, FSM_KREC_HDR_BYTES + rec->value_len);
	if (v == NULL)
		return NULL;
	v[0] = rec->tombstone ? FSM_KREC_TOMBSTONE : 0;
	fsm_be64_put(v + 1, rec->create_revision);
	fsm_be64_put(v + 9, rec->version);
	fsm_be64_put(v + 17, rec->lease);
	fsm_be32_put(v + 25, rec->sub);
	if (rec->value_len > 0)
		memcpy(v + FSM_KREC_HDR_BYTES, rec->value, rec->value_len);
	*len = FSM_KREC_HDR_BYTES + rec->value_len;
	return v;
}

/*
 * The overlay: a skip list in arena memory, reset with the arena.
 */

static int ov_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
		  size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n == 0 ? 0 : memcmp(a, b, n);

	if (c != 0)
		return c;
	return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

void fsm_ov_reset(struct fsm_overlay *ov)
{
	memset(ov->head, 0, sizeof(ov->head));
	ov->n = 0;
	ov->rng = 0x9e3779b97f4a7c15ull;
}

/* Each level holds a quarter of the one below. */
static unsigned ov_levels_pick(struct fsm_overlay *ov)
{
	uint64_t x = ov->rng;
	unsigned levels = 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	ov->rng = x;
	while (levels < FSM_OV_LEVELS && (x & 3) == 0) {
		levels++;
		x >>= 2;
	}
	return levels;
}

/* Fills update[l] with the link at level l that precedes key. */
static void ov_search(struct fsm_overlay *ov, const uint8_t *key,
		      size_t key_len, struct fsm_ov_node ***update)
{
	struct fsm_ov_node **links = ov->head;

	for (int l = FSM_OV_LEVELS - 1; l >= 0; l--) {
		while (links[l] != NULL &&
		       ov_cmp(links[l]->key, links[l]->key_len, key, key_len) < 0)
			links = links[l]->next;
		update[l] = &links[l];
	}
}

const struct fsm_ov_node *fsm_ov_find(struct fsm_overlay *ov,
				      const uint8_t *key, size_t key_len)
{
	struct fsm_ov_node **update[FSM_OV_LEVELS];
	struct fsm_ov_node *n;

	ov_search(ov, key, key_len, update);
	n = *update[0];
	return n != NULL && ov_cmp(n->key, n->key_len, key, key_len) == 0
		       ? n
		       : NULL;
}

static int ov_write(struct fsm *f, const uint8_t *key, size_t key_len,
		    const uint8_t *value, size_t value_len, bool deleted)
{
	struct fsm_overlay *ov = &f->ov;
	struct fsm_ov_node **update[FSM_OV_LEVELS];
	struct fsm_ov_node *n;
	const uint8_t *v = NULL;
	unsigned levels;

	if (value_len > 0) {
		v = proto_arena_dup(&f->arena, value, value_len);
		if (v == NULL)
			return COORD_ENOMEM;
	}
	ov_search(ov, key, key_len, update);
	n = *update[0];
	if (n != NULL && ov_cmp(n->key, n->key_len, key, key_len) == 0) {
		n->value = v;
		n->value_len = value_len;
		n->deleted = deleted;
		return COORD_OK;
	}
	levels = ov_levels_pick(ov);
	n = proto_arena_alloc(&f->arena,
			      sizeof(*n) + levels * sizeof(n->next[0]));
	if (n == NULL)
		return COORD_ENOMEM;
	n->key = proto_arena_dup(&f->arena, key, key_len);
	if (n->key == NULL)
		return COORD_ENOMEM;
	n->key_len = key_len;
	n->value = v;
	n->value_len = value_len;
	n->deleted = deleted;
	n->levels = levels;
	for (unsigned l = 0; l < levels; l++) {
		n->next[l] = *update[l];
		*update[l] = n;
	}
	ov->n++;
	return COORD_OK;
}

/*
 * The state hash. Each record (but the meta record) adds
 * fmix64(FNV-1a(len key, key, len value, value)) to a sum modulo 2^64, so
 * a write moves the sum by what it adds minus what it replaces, and the
 * sum is a function of the set of records alone, whatever the order of
 * the writes that made it (fsm_hash_scan() recomputes it from scratch).
 */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

uint64_t fsm_hash_mix(uint64_t h, uint64_t v)
{
	uint8_t be[8];

	fsm_be64_put(be, v);
	return fnv_bytes(h, be, sizeof(be));
}

/* MurmurHash3's finalizer: spreads every input bit over the output, so
 * that sums of record hashes do not cancel as plain FNV values could. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

uint64_t fsm_hash_record(const uint8_t *key, size_t key_len,
			 const uint8_t *value, size_t value_len)
{
	uint64_t h = FNV_OFFSET;

	if (key_len > 0 && key[0] == FSM_KIND_META)
		return 0;
	h = fsm_hash_mix(h, key_len);
	h = fnv_bytes(h, key, key_len);
	h = fsm_hash_mix(h, value_len);
	h = fnv_bytes(h, value, value_len);
	return fmix64(h);
}

int fsm_ov_put(struct fsm *f, const uint8_t *key, size_t key_len,
	       const uint8_t *value, size_t value_len)
{
	int rc = ov_write(f, key, key_len, value, value_len, false);

	if (rc == COORD_OK) {
		f->hash_new += fsm_hash_record(key, key_len, value, value_len);
		fsm_bytes_move(f, key, key_len, value, value_len, 1);
	}
	return rc;
}

int fsm_ov_replace(struct fsm *f, const uint8_t *key, size_t key_len,
		   const uint8_t *value, size_t value_len, const uint8_t *old,
		   size_t old_len)
{
	/* Before the write: old may point into the node it overwrites. */
	uint64_t h_old = fsm_hash_record(key, key_len, old, old_len);
	int rc = ov_write(f, key, key_len, value, value_len, false);

	if (rc == COORD_OK) {
		f->hash_new += fsm_hash_record(key, key_len, value,
					       value_len) - h_old;
		fsm_bytes_move(f, key, key_len, NULL, old_len, -1);
		fsm_bytes_move(f, key, key_len, value, value_len, 1);
	}
	return rc;
}

int fsm_ov_del(struct fsm *f, const uint8_t *key, size_t key_len,
	       const uint8_t *old, size_t old_len)
{
	uint64_t h_old = fsm_hash_record(key, key_len, old, old_len);
	int rc = ov_write(f, key, key_len, NULL, 0, true);

	if (rc == COORD_OK) {
		f->hash_new -= h_old;
		fsm_bytes_move(f, key, key_len, NULL, old_len, -1);
	}
	return rc;
}

const struct fsm_ov_node *fsm_ov_first(const struct fsm_overlay *ov)
{
	return ov->head[0];
}

/*
 * View iterators.
 */

enum {
	VIEW_NONE = 0,
	VIEW_BACKEND,
	VIEW_OVERLAY,
};

int fsm_view_open(struct fsm *f, struct fsm_view_iter *it)
{
	it->f = f;
	it->on = NULL;
	it->src = VIEW_NONE;
	it->shadow = false;
	it->bit = NULL;
	return f->b->ops->iter_new(f->b, NULL, &it->bit);
}

void fsm_view_close(struct fsm_view_iter *it)
{
	if (it->bit != NULL)
		it->f->b->ops->iter_free(it->bit);
	it->bit = NULL;
}

/* Picks the smaller of the two cursors; an overlay entry hides the
 * backend's record of the same key, and a deleted one is skipped. */
static void view_settle(struct fsm_view_iter *it)
{
	const struct fsm_backend_ops *ops = it->f->b->ops;

	for (;;) {
		bool bv = ops->iter_valid(it->bit);
		int c = 1;

		it->shadow = false;
		if (it->on == NULL) {
			it->src = bv ? VIEW_BACKEND : VIEW_NONE;
			return;
		}
		if (bv) {
			size_t len;
			const uint8_t *k = ops->iter_key(it->bit, &len);

			c = ov_cmp(k, len, it->on->key, it->on->key_len);
		}
		if (c < 0) {
			it->src = VIEW_BACKEND;
			return;
		}
		if (it->on->deleted) {
			if (c == 0)
				ops->iter_next(it->bit);
			it->on = it->on->next[0];
			continue;
		}
		it->src = VIEW_OVERLAY;
		it->shadow = c == 0;
		return;
	}
}

void fsm_view_seek(struct fsm_view_iter *it, const uint8_t *key,
		   size_t key_len)
{
	struct fsm_ov_node **update[FSM_OV_LEVELS];

	it->f->b->ops->iter_seek(it->bit, key, key_len);
	ov_search(&it->f->ov, key, key_len, update);
	it->on = *update[0];
	view_settle(it);
}

bool fsm_view_valid(const struct fsm_view_iter *it)
{
	return it->src != VIEW_NONE;
}

void fsm_view_next(struct fsm_view_iter *it)
{
	COORD_ASSERT(it->src != VIEW_NONE);
	if (it->src == VIEW_OVERLAY) {
		if (it->shadow)
			it->f->b->ops->iter_next(it->bit);
		it->on = it->on->next[0];
	} else {
		it->f->b->ops->iter_next(it->bit);
	}
	view_settle(it);
}

const uint8_t *fsm_view_key(const struct fsm_view_iter *it, size_t *len)
{
	COORD_ASSERT(it->src != VIEW_NONE);
	if (it->src == VIEW_OVERLAY) {
		*len = it->on->key_len;
		return it->on->key;
	}
	return it->f->b->ops->iter_key(it->bit, len);
}

const uint8_t *fsm_view_value(const struct fsm_view_iter *it, size_t *len)
{
	COORD_ASSERT(it->src != VIEW_NONE);
	if (it->src == VIEW_OVERLAY) {
		*len = it->on->value_len;
		return it->on->value;
	}
	return it->f->b->ops->iter_value(it->bit, len);
}

int fsm_view_status(const struct fsm_view_iter *it)
{
	return it->f->b->ops->iter_status(it->bit);
}
