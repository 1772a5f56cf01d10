/*
 * fencing/online.c: the online check of a fencing token against coordd,
 * for resources that want coord's word as well as their fence store's.
 *
 * coordfence_admit() alone refuses any token older than one the
 * resource has seen: enough when every holder writes to it. But a holder
 * whose lock moved on to a successor that has not written yet still has
 * the newest token this resource knows. Asking coordd whether the token
 * is still the lock's current grant (LOCK_CHECK, a linearizable read)
 * closes that gap up to the moment of the answer; the admit that follows
 * then keeps every older token out for good. What remains -- the lock
 * moving between the check and the write -- is bounded by the next
 * holder's first write, which the admit orders after this one.
 */
#include "fencing/coordfence.h"

#include "libcoord/coord.h"

int coordfence_check_online(struct coord_client *c, const void *lock,
			    size_t lock_len, uint64_t token)
{
	uint64_t current_token = 0;
	bool current = false;
	int rc;

	if (c == NULL || lock == NULL || lock_len == 0 || token == 0)
		return COORDFENCE_EINVAL;
	rc = coord_lock_check(c, lock, lock_len, token, &current,
			      &current_token);
	if (rc != COORD_OK)
		return rc;
	return current ? COORDFENCE_OK : COORDFENCE_ESTALE;
}

int coordfence_admit_online(struct coordfence *f, struct coord_client *c,
			    const void *lock, size_t lock_len,
			    const void *res, size_t res_len, uint64_t token)
{
	int rc = coordfence_check_online(c, lock, lock_len, token);

	return rc == COORDFENCE_OK ? coordfence_admit(f, res, res_len, token)
				   : rc;
}
