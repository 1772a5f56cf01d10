/*
 * coordd/fsm/lock.c: locks -- acquire, release, QUEUE_KICK, lock-delay,
 * and the lock's grant policy (exclusive and shared) for the queue of
 * queue.c. What happens when a lock is released: fsm_cmd_lock_release()
 * drops the hold and lets the queue grant its next waiters in the same
 * command (fsm_queue_grant(): deadlines, liveness, FIFO). When a holder's
 * session ends, lease.c takes it off the queue the same way, and
 * lock_hold_lost() sets the lock-delay if the session expired.
 *
 * Tokens are the revision of the granting command: per lock they only
 * rise, across leader changes, snapshots and compaction, because the
 * revision does.
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

/* Exclusive: no holders; shared: only shared holders; neither while a
 * lock-delay is in force. */
static bool lock_grantable(const struct fsm *f, const struct fsm_queue *q,
			   uint8_t mode)
{
	if (f->clock_new < q->delay_until_ms)
		return false;
	if (q->n_holders == 0)
		return true;
	if (mode != PROTO_LOCK_SHARED)
		return false;
	for (size_t i = 0; i < q->n_holders; i++)
		if (q->holders[i].mode != PROTO_LOCK_SHARED)
			return false;
	return true;
}

/* Chubby's lock-delay: only after an expiry, never a clean end. */
static void lock_hold_lost(struct fsm *f, struct fsm_queue *q,
			   const struct fsm_qentry *h, bool expired)
{
	uint64_t until = f->clock_new + h->lock_delay_ms;

	if (!expired || h->lock_delay_ms == 0)
		return;
	if (until < f->clock_new)
		until = UINT64_MAX;
	if (until > q->delay_until_ms)
		q->delay_until_ms = until;
}

const struct fsm_queue_policy fsm_lock_policy = {
	.grantable = lock_grantable,
	.hold_lost = lock_hold_lost,
};

int fsm_cmd_lock_acquire(struct fsm *f, const struct proto_lock_acquire_cmd *a,
			 struct proto_lock_acquire_reply *out)
{
	struct fsm_qentry e = { .session = a->session, .mode = a->mode,
				.deadline_ms = a->deadline_ms,
				.lock_delay_ms = a->lock_delay_ms };
	struct fsm_queue q;
	bool now, done;
	int rc = fsm_queue_check_name(a->name);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK && a->mode > PROTO_LOCK_MODE_LAST)
		rc = COORD_EINVAL;
	if (rc == COORD_OK)
		rc = fsm_queue_session_ok(f, a->session);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_LOCK, a->name, &q);
	if (rc != COORD_OK)
		return rc;
	now = q.n_waiters == 0 && lock_grantable(f, &q, a->mode);
	rc = fsm_queue_join_check(f, &q, &e, now, a->wait, &done, out);
	if (rc != COORD_OK || done)
		return rc;
	return fsm_queue_join(f, &q, &e, now, out);
}

int fsm_cmd_lock_release(struct fsm *f, const struct proto_lock_release *r)
{
	int rc = fsm_queue_check_name(r->name);

	return rc == COORD_OK
		       ? fsm_queue_release(f, FSM_QUEUE_LOCK, r->name,
					   r->session, r->token,
					   COORD_ENOTHOLDER)
		       : rc;
}

/*
 * The holder's last write and its release, one command: everything is
 * checked before the first write (the hold, then the write's own checks
 * in fsm_cmd_fenced()), so a refused command changes nothing; the write
 * and the grants that follow the release share one revision.
 */
int fsm_cmd_lock_release_write(struct fsm *f,
			       const struct proto_lock_release_write *w,
			       struct proto_reply *reply)
{
	struct proto_fence fc = { w->name, w->token, FSM_QUEUE_LOCK };
	struct proto_fenced fd = { &fc, 1, w->cmd };
	struct proto_lock_release rel = { w->name, w->session, w->token };
	struct fsm_queue q;
	long i;
	int rc = fsm_queue_check_name(w->name);

	if (rc == COORD_OK && (w->token == 0 || w->cmd == NULL))
		rc = COORD_EINVAL;
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_LOCK, w->name, &q);
	if (rc != COORD_OK)
		return rc;
	/* Not this session's current hold: the write is refused as any
	 * fenced write with a stale token would be. */
	i = fsm_queue_find(q.holders, q.n_holders, w->session);
	if (i < 0 || q.holders[i].token != w->token)
		return COORD_EFENCED;
	rc = fsm_cmd_fenced(f, &fd, reply);
	return rc == COORD_OK ? fsm_cmd_lock_release(f, &rel) : rc;
}

int fsm_cmd_queue_kick(struct fsm *f, const struct proto_queue_kick *k,
		       struct proto_queue_kick_reply *out)
{
	const struct fsm_queue_policy *pol = fsm_queue_policy_of(k->kind);
	struct fsm_queue q;
	bool changed = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (pol == NULL)
		return COORD_EINVAL;
	rc = fsm_queue_check_name(k->name);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, k->kind, k->name, &q);
	/* Waiters past their deadline go, wherever they are in the queue. */
	for (size_t i = 0; rc == COORD_OK && i < q.n_waiters;) {
		if (q.waiters[i].deadline_ms != 0 &&
		    f->clock_new > q.waiters[i].deadline_ms) {
			rc = fsm_queue_unwait(f, &q, i);
			changed = true;
		} else {
			i++;
		}
	}
	/* A lock-delay that is over goes (fsm_queue_grant()): a change,
	 * even when no one can be granted yet. */
	if (rc == COORD_OK && fsm_queue_delay_over(f, &q))
		changed = true;
	if (rc == COORD_OK)
		rc = fsm_queue_grant(f, &q, pol, &out->granted);
	if (rc != COORD_OK)
		return rc;
	/* Nothing to do: no write, no revision. A queue dropped by an
	 * expiry the grant found is changed too (f->sub). */
	if (!changed && out->granted == 0 && f->sub == 0)
		return COORD_OK;
	rc = fsm_queue_store(f, &q);
	return rc == COORD_OK ? fsm_leases_end_doomed(f) : rc;
}
