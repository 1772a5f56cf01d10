/*
 * coordd/net/watchidx.c: the index of synced watches by key (issue 14
 * section 9), so that a commit touches only the watches its keys may
 * match, not every watch of the node.
 *
 * A watch of one key is found by a hash of the key, a watch of a prefix
 * by a hash of each prefix length some watch uses; a watch of a range
 * (an end key, or PROTO_RANGE_FROM) is kept in a list taken by every
 * key. "May match" is enough: a taken watch reads its own events with
 * its exact filter (client.c, watch_catch_up()).
 */
#include <stdlib.h>
#include <string.h>

#include "coordd/net/net_int.h"
#include "proto/errors.h"
#include "proto/limits.h"
#include "proto/msg.h"

enum { WIDX_EXACT = 0, WIDX_PREFIX = 1 };

static uint64_t widx_hash(uint8_t kind, const uint8_t *key, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ kind) * 1099511628211ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 1099511628211ull;
	return h;
}

void widx_init(struct widx *x)
{
	memset(x, 0, sizeof(*x));
}

void widx_close(struct widx *x)
{
	free(x->buckets);
	free(x->prefix_lens);
	memset(x, 0, sizeof(*x));
}

static void widx_link(struct widx_entry **head, struct widx_entry *e)
{
	e->next = *head;
	if (*head != NULL)
		(*head)->pprev = &e->next;
	*head = e;
	e->pprev = head;
}

static void widx_unlink(struct widx_entry *e)
{
	*e->pprev = e->next;
	if (e->next != NULL)
		e->next->pprev = e->pprev;
	e->next = NULL;
	e->pprev = NULL;
}

static struct widx_entry **widx_bucket(struct widx *x, uint8_t kind,
				       const uint8_t *key, size_t len)
{
	return &x->buckets[widx_hash(kind, key, len) & (x->n_buckets - 1)];
}

/* Twice the buckets once there are more entries than buckets. */
static int widx_grow(struct widx *x)
{
	size_t nb = x->n_buckets == 0 ? 64 : x->n_buckets * 2;
	struct widx_entry **b = calloc(nb, sizeof(*b));
	struct widx_entry **old = x->buckets;
	size_t old_n = x->n_buckets;

	if (b == NULL)
		return COORD_ENOMEM;
	x->buckets = b;
	x->n_buckets = nb;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i] != NULL) {
			struct widx_entry *e = old[i];

			widx_unlink(e);
			widx_link(widx_bucket(x, e->kind, e->key, e->key_len), e);
		}
	}
	free(old);
	return COORD_OK;
}

int widx_add(struct widx *x, struct widx_entry *e, const uint8_t *key,
	     size_t key_len, size_t end_len, uint32_t flags)
{
	e->key = key;
	e->key_len = key_len;
	if ((flags & PROTO_RANGE_FROM) ||
	    (!(flags & PROTO_RANGE_PREFIX) && end_len > 0)) {
		e->kind = WIDX_RANGE;
		widx_link(&x->ranges, e);
		return COORD_OK;
	}
	e->kind = (flags & PROTO_RANGE_PREFIX) ? WIDX_PREFIX : WIDX_EXACT;
	if (e->kind == WIDX_PREFIX && x->prefix_lens == NULL) {
		x->prefix_lens = calloc(COORD_KEY_BYTES_MAX + 1,
					sizeof(*x->prefix_lens));
		if (x->prefix_lens == NULL)
			return COORD_ENOMEM;
	}
	if (e->kind == WIDX_PREFIX && key_len > COORD_KEY_BYTES_MAX)
		return COORD_EKEYTOOBIG;
	if (x->n_hashed >= x->n_buckets && widx_grow(x) != COORD_OK)
		return COORD_ENOMEM;
	widx_link(widx_bucket(x, e->kind, key, key_len), e);
	x->n_hashed++;
	if (e->kind == WIDX_PREFIX) {
		x->prefix_lens[key_len]++;
		if (key_len >= x->prefix_len_max)
			x->prefix_len_max = key_len + 1;
	}
	return COORD_OK;
}

void widx_remove(struct widx *x, struct widx_entry *e)
{
	if (e->pprev == NULL)
		return;
	widx_unlink(e);
	if (e->kind == WIDX_RANGE)
		return;
	x->n_hashed--;
	if (e->kind == WIDX_PREFIX)
		x->prefix_lens[e->key_len]--;
}

/* Takes the entries of the chain at *head that are kind and key. */
static void widx_take_chain(struct widx *x, struct widx_entry **head,
			    uint8_t kind, const uint8_t *key, size_t len,
			    void (*fn)(struct widx_entry *e, void *arg),
			    void *arg)
{
	struct widx_entry *e = *head;

	while (e != NULL) {
		struct widx_entry *next = e->next;

		if (e->kind == kind && e->key_len == len &&
		    (len == 0 || memcmp(e->key, key, len) == 0)) {
			widx_remove(x, e);
			fn(e, arg);
		}
		e = next;
	}
}

/* Every range watch may match any key. */
static void widx_take_ranges(struct widx *x,
			     void (*fn)(struct widx_entry *e, void *arg),
			     void *arg)
{
	while (x->ranges != NULL) {
		struct widx_entry *e = x->ranges;

		widx_remove(x, e);
		fn(e, arg);
	}
}

void widx_take(struct widx *x, const uint8_t *key, size_t len,
	       void (*fn)(struct widx_entry *e, void *arg), void *arg)
{
	widx_take_ranges(x, fn, arg);
	if (x->n_hashed == 0)
		return;
	widx_take_chain(x, widx_bucket(x, WIDX_EXACT, key, len), WIDX_EXACT,
			key, len, fn, arg);
	for (size_t l = 0; l < x->prefix_len_max && l <= len; l++) {
		if (x->prefix_lens[l] == 0)
			continue;
		widx_take_chain(x, widx_bucket(x, WIDX_PREFIX, key, l),
				WIDX_PREFIX, key, l, fn, arg);
	}
}

void widx_take_all(struct widx *x, void (*fn)(struct widx_entry *e, void *arg),
		   void *arg)
{
	widx_take_ranges(x, fn, arg);
	for (size_t i = 0; i < x->n_buckets && x->n_hashed > 0; i++) {
		while (x->buckets[i] != NULL) {
			struct widx_entry *e = x->buckets[i];

			widx_remove(x, e);
			fn(e, arg);
		}
	}
}
