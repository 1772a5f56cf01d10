/*
 * coordd/fsm/sem.c: semaphores -- N permits handed to sessions in FIFO
 * order, on the queue of queue.c (kind FSM_QUEUE_SEM), one file over the
 * one mechanism locks use. Only the policy is this file's: a waiter may
 * be granted while fewer than N sessions hold a permit.
 *
 * N is part of the semaphore while anyone holds or waits: every holder
 * and waiter carries the N it asked with (the queue entry's 8 bytes a
 * lock uses for its lock-delay), an acquire naming another N is refused
 * with COORD_ESEMPERMITS and changes nothing. Once the last holder and
 * waiter are gone the queue's record is gone too (queue.c), and the next
 * acquire may name a new N.
 *
 * A session holds at most one permit of a semaphore (a second acquire
 * returns the same token). Each permit's token is the revision of its
 * grant, so tokens are unique and, per semaphore, rise grant by grant; a
 * fenced write naming (semaphore, token) is accepted while that permit is
 * held (fence.c). When a holder's session ends its permit returns in the
 * same command and the next waiters are granted (lease.c, queue.c).
 */
#include <string.h>

#include "coordd/fsm/fsm_int.h"
#include "proto/errors.h"
#include "proto/limits.h"

uint64_t fsm_sem_permits(const struct fsm_queue *q)
{
	if (q->n_holders > 0)
		return q->holders[0].permits;
	return q->n_waiters > 0 ? q->waiters[0].permits : 0;
}

/* A free permit: fewer holders than N. */
static bool sem_grantable(const struct fsm *f, const struct fsm_queue *q,
			  uint8_t mode)
{
	(void)f;
	(void)mode;
	return q->n_holders < fsm_sem_permits(q);
}

/* A permit has no lock-delay: it simply returns. */
static void sem_hold_lost(struct fsm *f, struct fsm_queue *q,
			  const struct fsm_qentry *h, bool expired)
{
	(void)f;
	(void)q;
	(void)h;
	(void)expired;
}

const struct fsm_queue_policy fsm_sem_policy = {
	.grantable = sem_grantable,
	.hold_lost = sem_hold_lost,
};

int fsm_cmd_sem_acquire(struct fsm *f, const struct proto_sem_acquire_cmd *a,
			struct proto_lock_acquire_reply *out)
{
	struct fsm_qentry e = { .session = a->session,
				.deadline_ms = a->deadline_ms,
				.permits = a->permits };
	struct fsm_queue q;
	uint64_t n;
	bool now, done;
	int rc = fsm_queue_check_name(a->name);

	memset(out, 0, sizeof(*out));
	if (rc == COORD_OK &&
	    (a->permits == 0 || a->permits > COORD_SEM_PERMITS_MAX))
		rc = COORD_EPERMITS;
	if (rc == COORD_OK)
		rc = fsm_queue_session_ok(f, a->session);
	if (rc == COORD_OK)
		rc = fsm_queue_load(f, FSM_QUEUE_SEM, a->name, &q);
	if (rc != COORD_OK)
		return rc;
	n = fsm_sem_permits(&q);
	if (n != 0 && n != a->permits)
		return COORD_ESEMPERMITS;
	/* FIFO: nothing is granted past a waiter. */
	now = q.n_waiters == 0 && q.n_holders < a->permits;
	rc = fsm_queue_join_check(f, &q, &e, now, a->wait, &done, out);
	if (rc != COORD_OK || done)
		return rc;
	return fsm_queue_join(f, &q, &e, now, out);
}

int fsm_cmd_sem_release(struct fsm *f, const struct proto_lock_release *r)
{
	int rc = fsm_queue_check_name(r->name);

	return rc == COORD_OK
		       ? fsm_queue_release(f, FSM_QUEUE_SEM, r->name,
					   r->session, r->token,
					   COORD_ENOTHOLDER)
		       : rc;
}
