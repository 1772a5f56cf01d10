/*
 * tests/unit/check_util.c: the failing allocator of check_util.h.
 */
#include "tests/unit/check_util.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Bytes held: live_bytes and its high-water mark peak_bytes. */
static void cu_bytes_add(struct cu_alloc *t, void *p)
{
	t->live_bytes += malloc_usable_size(p);
	if (t->live_bytes > t->peak_bytes)
		t->peak_bytes = t->live_bytes;
}

static bool cu_alloc_fails(struct cu_alloc *t)
{
	t->calls++;
	if (t->fail_at != 0 &&
	    (t->calls == t->fail_at || (t->fail_every && t->calls > t->fail_at))) {
		t->failures++;
		return true;
	}
	return false;
}

static void *cu_malloc(void *ctx, size_t size)
{
	struct cu_alloc *t = ctx;
	void *p;

	if (cu_alloc_fails(t))
		return NULL;
	p = malloc(size == 0 ? 1 : size);
	if (p != NULL) {
		t->live++;
		cu_bytes_add(t, p);
	}
	return p;
}

static void *cu_realloc(void *ctx, void *ptr, size_t size)
{
	struct cu_alloc *t = ctx;
	void *p;
	size_t old = ptr != NULL ? malloc_usable_size(ptr) : 0;

	if (cu_alloc_fails(t))
		return NULL;
	p = realloc(ptr, size == 0 ? 1 : size);
	if (p != NULL && ptr == NULL)
		t->live++;
	if (p != NULL) {
		t->live_bytes -= old;
		cu_bytes_add(t, p);
	}
	return p;
}

static void cu_free(void *ctx, void *ptr)
{
	struct cu_alloc *t = ctx;

	if (ptr == NULL)
		return;
	cu_require(t->live > 0, "free of a block never allocated");
	t->live--;
	t->live_bytes -= malloc_usable_size(ptr);
	free(ptr);
}

void cu_alloc_init(struct cu_alloc *t)
{
	memset(t, 0, sizeof(*t));
	t->a.malloc = cu_malloc;
	t->a.realloc = cu_realloc;
	t->a.free = cu_free;
	t->a.ctx = t;
}
