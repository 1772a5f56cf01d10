/*
 * coordd/fsm/backend_mem.c: the in-memory fsm backend (see backend.h).
 *
 * State is an immutable sorted array of refcounted records (a table). A
 * write builds the next table and drops the backend's reference to the old
 * one; snapshots and iterators keep the table they started on alive. No
 * I/O, no globals.
 */
#include "coordd/fsm/backend.h"

#include <stdlib.h>
#include <string.h>

#include "proto/assert.h"
#include "proto/errors.h"

struct mem_rec {
	size_t refs;
	size_t key_len;
	size_t value_len;
	uint8_t bytes[];            /* key, then value */
};

struct mem_table {
	size_t refs;
	size_t n;
	struct mem_rec *recs[];
};

struct mem_backend {
	struct fsm_backend base;
	const struct coord_allocator *alloc;
	struct mem_table *cur;
	/* The value of the last get, a copy freed by the next get: the
	 * contract of LevelDB's backend, kept here so that the fsm's tests
	 * catch a value used after the backend moved on. */
	uint8_t *got;
};

struct mem_snap {
	struct fsm_backend_snap base;
	struct mem_table *table;
};

struct mem_iter {
	struct fsm_backend_iter base;
	struct mem_table *table;
	size_t pos;
};

static struct mem_backend *mem_of(struct fsm_backend *b)
{
	return (struct mem_backend *)b;
}

static int mem_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b,
		       size_t b_len)
{
	size_t n = a_len < b_len ? a_len : b_len;
	int c = n == 0 ? 0 : memcmp(a, b, n);

	if (c != 0)
		return c;
	return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static void mem_rec_release(struct mem_backend *m, struct mem_rec *r)
{
	COORD_ASSERT(r->refs > 0);
	if (--r->refs == 0)
		coord_free(m->alloc, r);
}

static void mem_table_release(struct mem_backend *m, struct mem_table *t)
{
	COORD_ASSERT(t->refs > 0);
	if (--t->refs > 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		mem_rec_release(m, t->recs[i]);
	coord_free(m->alloc, t);
}

static struct mem_table *mem_table_new(struct mem_backend *m, size_t n)
{
	struct mem_table *t;

	if (n > (SIZE_MAX - sizeof(*t)) / sizeof(t->recs[0]))
		return NULL;
	t = coord_malloc(m->alloc, sizeof(*t) + n * sizeof(t->recs[0]));
	if (t == NULL)
		return NULL;
	t->refs = 1;
	t->n = 0;
	return t;
}

/* The first position in t whose key is >= key. */
static size_t mem_lower_bound(const struct mem_table *t, const uint8_t *key,
			      size_t key_len)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mem_rec *r = t->recs[mid];

		if (mem_key_cmp(r->bytes, r->key_len, key, key_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int mem_get(struct fsm_backend *b, const uint8_t *key, size_t key_len,
		   const uint8_t **value, size_t *value_len)
{
	struct mem_backend *m = mem_of(b);
	struct mem_table *t = m->cur;
	size_t i = mem_lower_bound(t, key, key_len);
	const struct mem_rec *r;

	coord_free(m->alloc, m->got);
	m->got = NULL;
	if (i == t->n)
		return COORD_ENOTFOUND;
	r = t->recs[i];
	if (mem_key_cmp(r->bytes, r->key_len, key, key_len) != 0)
		return COORD_ENOTFOUND;
	m->got = coord_malloc(m->alloc, r->value_len > 0 ? r->value_len : 1);
	if (m->got == NULL)
		return COORD_ENOMEM;
	memcpy(m->got, r->bytes + r->key_len, r->value_len);
	*value = m->got;
	*value_len = r->value_len;
	return COORD_OK;
}

/* Sorts batch positions by key, equal keys by position; qsort has no
 * context argument, so the batch travels in the element. */
struct mem_order {
	const struct fsm_backend_write *w;
	size_t pos;
};

static int mem_order_cmp(const void *pa, const void *pb)
{
	const struct mem_order *a = pa, *b = pb;
	int c = mem_key_cmp(a->w->key, a->w->key_len, b->w->key, b->w->key_len);

	if (c != 0)
		return c;
	return a->pos < b->pos ? -1 : a->pos > b->pos ? 1 : 0;
}

static int mem_write(struct fsm_backend *b,
		     const struct fsm_backend_write *writes, size_t n)
{
	struct mem_backend *m = mem_of(b);
	struct mem_table *old = m->cur, *t = NULL;
	struct mem_order *order = NULL;
	struct mem_rec **fresh = NULL;
	size_t n_unique = 0, i, j;
	int rc = COORD_ENOMEM;

	/* A write ends the last get's value too, as with LevelDB. */
	coord_free(m->alloc, m->got);
	m->got = NULL;
	if (n == 0)
		return COORD_OK;
	for (i = 0; i < n; i++) {
		if (writes[i].type != FSM_BACKEND_PUT &&
		    writes[i].type != FSM_BACKEND_DELETE)
			return COORD_EINVAL;
	}
	if (n > SIZE_MAX / sizeof(*order) || n > SIZE_MAX - old->n)
		return COORD_ENOMEM;
	order = coord_malloc(m->alloc, n * sizeof(*order));
	fresh = coord_malloc(m->alloc, n * sizeof(*fresh));
	if (order == NULL || fresh == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		order[i].w = &writes[i];
		order[i].pos = i;
		fresh[i] = NULL;
	}
	qsort(order, n, sizeof(*order), mem_order_cmp);
	/* Keep the last write of each key. */
	for (i = 0; i < n; i++) {
		if (i + 1 < n && mem_key_cmp(order[i].w->key, order[i].w->key_len,
					     order[i + 1].w->key,
					     order[i + 1].w->key_len) == 0)
			continue;
		order[n_unique++] = order[i];
	}
	/* Allocate everything before touching any refcount. */
	for (i = 0; i < n_unique; i++) {
		const struct fsm_backend_write *w = order[i].w;
		struct mem_rec *r;

		if (w->type != FSM_BACKEND_PUT)
			continue;
		if (w->key_len > SIZE_MAX / 4 || w->value_len > SIZE_MAX / 4)
			goto out;
		r = coord_malloc(m->alloc,
				 sizeof(*r) + w->key_len + w->value_len);
		if (r == NULL)
			goto out;
		r->refs = 1;
		r->key_len = w->key_len;
		r->value_len = w->value_len;
		if (w->key_len > 0)
			memcpy(r->bytes, w->key, w->key_len);
		if (w->value_len > 0)
			memcpy(r->bytes + w->key_len, w->value, w->value_len);
		fresh[i] = r;
	}
	t = mem_table_new(m, old->n + n_unique);
	if (t == NULL)
		goto out;
	/* Merge the old table with the sorted, unique batch. */
	i = 0;
	j = 0;
	while (i < old->n || j < n_unique) {
		int c;

		if (j == n_unique) {
			c = -1;
		} else if (i == old->n) {
			c = 1;
		} else {
			c = mem_key_cmp(old->recs[i]->bytes,
					old->recs[i]->key_len, order[j].w->key,
					order[j].w->key_len);
		}
		if (c < 0) {
			old->recs[i]->refs++;
			t->recs[t->n++] = old->recs[i++];
			continue;
		}
		if (c == 0)
			i++;        /* replaced or deleted */
		if (fresh[j] != NULL) {
			t->recs[t->n++] = fresh[j];
			fresh[j] = NULL;
		}
		j++;
	}
	m->cur = t;
	mem_table_release(m, old);
	rc = COORD_OK;
out:
	if (fresh != NULL) {
		for (i = 0; i < n_unique; i++)
			if (fresh[i] != NULL)
				mem_rec_release(m, fresh[i]);
	}
	coord_free(m->alloc, fresh);
	coord_free(m->alloc, order);
	return rc;
}

static int mem_snap_new(struct fsm_backend *b, struct fsm_backend_snap **out)
{
	struct mem_backend *m = mem_of(b);
	struct mem_snap *s = coord_malloc(m->alloc, sizeof(*s));

	if (s == NULL)
		return COORD_ENOMEM;
	s->base.backend = b;
	s->table = m->cur;
	s->table->refs++;
	*out = &s->base;
	return COORD_OK;
}

static void mem_snap_free(struct fsm_backend_snap *snap)
{
	struct mem_snap *s = (struct mem_snap *)snap;
	struct mem_backend *m;

	if (snap == NULL)
		return;
	m = mem_of(snap->backend);
	mem_table_release(m, s->table);
	coord_free(m->alloc, s);
}

static int mem_iter_new(struct fsm_backend *b, struct fsm_backend_snap *snap,
			struct fsm_backend_iter **out)
{
	struct mem_backend *m = mem_of(b);
	struct mem_iter *it = coord_malloc(m->alloc, sizeof(*it));

	if (it == NULL)
		return COORD_ENOMEM;
	it->base.backend = b;
	it->table = snap != NULL ? ((struct mem_snap *)snap)->table : m->cur;
	it->table->refs++;
	it->pos = it->table->n;     /* unpositioned */
	*out = &it->base;
	return COORD_OK;
}

static void mem_iter_free(struct fsm_backend_iter *iter)
{
	struct mem_iter *it = (struct mem_iter *)iter;
	struct mem_backend *m;

	if (iter == NULL)
		return;
	m = mem_of(iter->backend);
	mem_table_release(m, it->table);
	coord_free(m->alloc, it);
}

static void mem_iter_seek(struct fsm_backend_iter *iter, const uint8_t *key,
			  size_t key_len)
{
	struct mem_iter *it = (struct mem_iter *)iter;

	it->pos = mem_lower_bound(it->table, key, key_len);
}

static bool mem_iter_valid(const struct fsm_backend_iter *iter)
{
	const struct mem_iter *it = (const struct mem_iter *)iter;

	return it->pos < it->table->n;
}

static void mem_iter_next(struct fsm_backend_iter *iter)
{
	struct mem_iter *it = (struct mem_iter *)iter;

	COORD_ASSERT(it->pos < it->table->n);
	it->pos++;
}

static const uint8_t *mem_iter_key(const struct fsm_backend_iter *iter,
				   size_t *len)
{
	const struct mem_iter *it = (const struct mem_iter *)iter;
	const struct mem_rec *r;

	COORD_ASSERT(it->pos < it->table->n);
	r = it->table->recs[it->pos];
	*len = r->key_len;
	return r->bytes;
}

static const uint8_t *mem_iter_value(const struct fsm_backend_iter *iter,
				     size_t *len)
{
	const struct mem_iter *it = (const struct mem_iter *)iter;
	const struct mem_rec *r;

	COORD_ASSERT(it->pos < it->table->n);
	r = it->table->recs[it->pos];
	*len = r->value_len;
	return r->bytes + r->key_len;
}

static int mem_iter_status(const struct fsm_backend_iter *iter)
{
	(void)iter;
	return COORD_OK;
}

static const struct fsm_backend_ops mem_ops = {
	.get = mem_get,
	.write = mem_write,
	.snap_new = mem_snap_new,
	.snap_free = mem_snap_free,
	.iter_new = mem_iter_new,
	.iter_free = mem_iter_free,
	.iter_seek = mem_iter_seek,
	.iter_valid = mem_iter_valid,
	.iter_next = mem_iter_next,
	.iter_key = mem_iter_key,
	.iter_value = mem_iter_value,
	.iter_status = mem_iter_status,
};

int fsm_backend_mem_new(const struct coord_allocator *alloc,
			struct fsm_backend **out)
{
	struct mem_backend *m = coord_malloc(alloc, sizeof(*m));

	if (m == NULL)
		return COORD_ENOMEM;
	m->base.ops = &mem_ops;
	m->alloc = alloc;
	m->got = NULL;
	m->cur = mem_table_new(m, 0);
	if (m->cur == NULL) {
		coord_free(alloc, m);
		return COORD_ENOMEM;
	}
	*out = &m->base;
	return COORD_OK;
}

void fsm_backend_mem_free(struct fsm_backend *b)
{
	struct mem_backend *m;

	if (b == NULL)
		return;
	m = mem_of(b);
	/* Snapshots and iterators must be gone: the table is ours alone. */
	COORD_ASSERT(m->cur->refs == 1);
	mem_table_release(m, m->cur);
	coord_free(m->alloc, m->got);
	coord_free(m->alloc, m);
}

size_t fsm_backend_mem_count(const struct fsm_backend *b)
{
	const struct mem_backend *m = (const struct mem_backend *)b;

	return m->cur->n;
}
