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

static int check_name(const struct fsm *f, struct proto_bytes name)
{
	(void)f;
	return name.len == 0 || name.len > COORD_NAME_BYTES_MAX ? COORD_EINVAL
								 : COORD_OK;
}

int fsm_session_live(struct fsm *f, uint64_t session)
{
	struct fsm_lease_rec l;
	bool found;
	int rc = fsm_lease_read(f, session, &found, &l);

	if (rc != COORD_OK)
		return rc;
	if (!found || !l.session)
		return COORD_ESESSION;
	/* Never granted (nor queued) past its TTL; the leader's expiry of
	 * it follows. */
	return fsm_lease_overdue(f, &l) ? COORD_ESESSION_EXPIRED : COORD_OK;
}

/* The session's own limit on holds and waits (fsm_int.h). */
int fsm_session_queues_check(struct fsm *f, uint64_t session)
{
	struct proto_bytes *names;
	uint8_t *kinds;
	size_t n;
	int rc = fsm_queue_owned(f, session, &kinds, &names, &n,
				 f->cfg.locks_per_session_max);

	if (rc == COORD_OK && n >= f->cfg.locks_per_session_max)
		rc = COORD_ETOOMANYLOCKS;
	return rc;
}

int fsm_cmd_lock_acquire(struct fsm *f, const struct proto_lock_acquire_cmd *a,
			 struct proto_lock_acquire_reply *out)
{
	struct fsm_qentry e = { .session = a->session, .mode = a->mode,
				.deadline_ms = a->deadline_ms,
				.lock_delay_ms = a->lock_delay_ms };
	struct fsm_queue q;
	bool now;
	long i;
	int rc = check_name(f, a->name);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK && a->mode > PROTO_LOCK_MODE_LAST)
		rc = COORD_EINVAL;
	if (rc == COORD_OK)
		rc = fsm_session_live(f, a->session);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_LOCK, a->name, &q);
	if (rc != COORD_OK)
		return rc;
	i = fsm_queue_find(q.holders, q.n_holders, a->session);
	if (i >= 0) {
		out->granted = true;
		out->token = q.holders[i].token;
		return COORD_OK;
	}
	/* Never queued twice. */
	if (fsm_queue_find(q.waiters, q.n_waiters, a->session) >= 0)
		return COORD_OK;
	now = q.n_waiters == 0 && lock_grantable(f, &q, a->mode);
	/* A waiter whose deadline passed already would only be dropped. */
	if (!now && (!a->wait ||
		     (a->deadline_ms != 0 && f->clock_new > a->deadline_ms)))
		return COORD_EBUSY;
	if (!now && q.n_waiters >= f->cfg.waiters_max)
		return COORD_ETOOMANYWAITERS;
	rc = fsm_session_queues_check(f, a->session);
	if (rc != COORD_OK)
		return rc;
	if (now) {
		rc = fsm_queue_hold(f, &q, &e, false);
		out->granted = true;
		out->token = f->rev_new;
	} else {
		rc = fsm_queue_wait(f, &q, &e);
	}
	return rc == COORD_OK ? fsm_queue_store(f, &q) : rc;
}

int fsm_cmd_lock_release(struct fsm *f, const struct proto_lock_release *r)
{
	struct fsm_queue q;
	uint64_t granted;
	long i;
	int rc = check_name(f, r->name);

	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_LOCK, r->name, &q);
	if (rc != COORD_OK)
		return rc;
	if (r->token != 0) {
		i = fsm_queue_find(q.holders, q.n_holders, r->session);
		if (i < 0 || q.holders[i].token != r->token)
			return COORD_ENOTHOLDER;
		rc = fsm_queue_unhold(f, &q, (size_t)i);
	} else {
		i = fsm_queue_find(q.waiters, q.n_waiters, r->session);
		if (i < 0)
			return COORD_ENOTFOUND;
		rc = fsm_queue_unwait(f, &q, (size_t)i);
	}
	if (rc == COORD_OK)
		rc = fsm_queue_grant(f, &q, &fsm_lock_policy, &granted);
	if (rc == COORD_OK)
		rc = fsm_queue_store(f, &q);
	return rc == COORD_OK ? fsm_leases_end_doomed(f) : rc;
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
	struct proto_fence fc = { w->name, w->token };
	struct proto_fenced fd = { &fc, 1, w->cmd };
	struct proto_lock_release rel = { w->name, w->session, w->token };
	struct fsm_queue q;
	long i;
	int rc = check_name(f, w->name);

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
	rc = check_name(f, k->name);
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
