/*
 * tests/unit/backend_check.c: see backend_check.h.
 */
#include "tests/unit/backend_check.h"

#include <stdbool.h>
#include <string.h>

#include "tests/unit/check_util.h"

void bc_put(struct fsm_backend_write *w, const char *k, const char *v)
{
	w->type = FSM_BACKEND_PUT;
	w->key = (const uint8_t *)k;
	w->key_len = strlen(k);
	w->value = (const uint8_t *)v;
	w->value_len = strlen(v);
}

void bc_del(struct fsm_backend_write *w, const char *k)
{
	w->type = FSM_BACKEND_DELETE;
	w->key = (const uint8_t *)k;
	w->key_len = strlen(k);
	w->value = NULL;
	w->value_len = 0;
}

const char *bc_get(struct fsm_backend *b, const char *key, char *buf)
{
	const uint8_t *v;
	size_t len;
	int rc = b->ops->get(b, (const uint8_t *)key, strlen(key), &v, &len);

	if (rc == COORD_ENOTFOUND)
		return NULL;
	cu_code_eq(rc, COORD_OK);
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

static void scan(struct fsm_backend *b, struct fsm_backend_snap *snap,
		 const char *from, char *out, bool values)
{
	struct fsm_backend_iter *it;

	out[0] = '\0';
	cu_code_eq(b->ops->iter_new(b, snap, &it), COORD_OK);
	ck_assert(!b->ops->iter_valid(it));     /* unpositioned */
	for (b->ops->iter_seek(it, (const uint8_t *)from, strlen(from));
	     b->ops->iter_valid(it); b->ops->iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = b->ops->iter_key(it, &kl);
		const uint8_t *v = b->ops->iter_value(it, &vl);

		strncat(out, (const char *)k, kl);
		if (values) {
			strcat(out, "=");
			strncat(out, (const char *)v, vl);
		}
		strcat(out, ",");
	}
	cu_code_eq(b->ops->iter_status(it), COORD_OK);
	b->ops->iter_free(it);
}

void bc_scan(struct fsm_backend *b, struct fsm_backend_snap *snap,
	     const char *from, char *out)
{
	scan(b, snap, from, out, true);
}

void bc_scan_keys(struct fsm_backend *b, struct fsm_backend_snap *snap,
		  const char *from, char *out)
{
	scan(b, snap, from, out, false);
}
