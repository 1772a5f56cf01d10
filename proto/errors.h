/*
 * proto/errors.h: the error codes of coord, one table for the whole system.
 *
 * The same numbers travel on the wire, so an entry's value never changes
 * and a retired code is never reused: add new codes at the end.
 * COORD_ERRORS(X) is an X-macro: X(name, value, message).
 */
#ifndef COORD_PROTO_ERRORS_H
#define COORD_PROTO_ERRORS_H

#define COORD_ERRORS(X)                                                      \
	X(COORD_OK, 0, "success")                                            \
	X(COORD_EINVAL, 1, "invalid argument")                               \
	X(COORD_ENOMEM, 2, "out of memory")                                  \
	X(COORD_EIO, 3, "storage I/O error")                                 \
	X(COORD_ECORRUPT, 4, "stored data is corrupt")                       \
	X(COORD_EMALFORMED, 5, "malformed message")                          \
	X(COORD_ENOTLEADER, 6, "not the leader")                             \
	X(COORD_EFENCED, 7, "fencing token is not the current grant")        \
	X(COORD_EKEYTOOBIG, 8, "key too large")                              \
	X(COORD_EVALUETOOBIG, 9, "value too large")                          \
	X(COORD_ETXNTOOBIG, 10, "too many operations in one transaction")    \
	X(COORD_ECOMPACTED, 11, "revision has been compacted")               \
	X(COORD_EFUTUREREV, 12, "revision is in the future")                 \
	X(COORD_ENOTFOUND, 13, "not found")                                  \
	X(COORD_ELEASE, 14, "lease not found")                               \
	X(COORD_EDUPKEY, 15, "a key is written twice in one transaction")    \
	X(COORD_EPROTOVERSION, 16, "protocol version mismatch")              \
	X(COORD_EFRAMETOOBIG, 17, "frame too large")                         \
	X(COORD_EUNKNOWNMSG, 18, "unknown message kind")                     \
	X(COORD_ECLUSTER, 19, "cluster id mismatch")                         \
	X(COORD_ETIMEDOUT, 20, "no answer in time")                          \
	X(COORD_ECANCELED, 21, "canceled")                                   \
	X(COORD_ESTALESEQ, 22,                                               \
	  "a newer request of this client was applied; this reply is gone")  \
	X(COORD_ECLIENTGONE, 23,                                             \
	  "the server no longer remembers this client id; use a new one")    \
	X(COORD_EREPLYTOOBIG, 24,                                            \
	  "the key-values one write would return exceed the reply limit")    \
	X(COORD_EPERM, 25, "not allowed: an admin request from a non-admin") \
	X(COORD_EUNSAFE, 26,                                                 \
	  "refused: the change could leave the cluster without a quorum")    \
	X(COORD_ERATELIMITED, 27, "too soon after the last one; retry later") \
	X(COORD_ETOOMANYWATCHES, 28, "too many watches on this node")       \
	X(COORD_EUNAVAILABLE, 29,                                            \
	  "no endpoint could be reached; the request was not applied")       \
	X(COORD_ENOLEADER, 30,                                               \
	  "no leader (an election in progress, or no quorum); not applied") \
	X(COORD_EWINDOW, 31,                                                 \
	  "too many requests of this client in flight (exactly-once window)") \
	X(COORD_ECLIENTSFULL, 32,                                            \
	  "the client table is full of recently active clients; retry later") \
	X(COORD_EREGISTERRATE, 33,                                           \
	  "too many client registrations on this connection; slow down")   \
	X(COORD_ETTL, 34, "lease TTL out of range")                          \
	X(COORD_EEXISTS, 35, "already exists")                               \
	X(COORD_ESESSION, 36,                                                \
	  "session not found (closed, revoked or never opened)")             \
	X(COORD_ESESSION_EXPIRED, 37, "session expired")                     \
	X(COORD_EBUSY, 38, "held by another session")                        \
	X(COORD_ENOTHOLDER, 39,                                              \
	  "not the holder of this grant (wrong session or stale token)")     \
	X(COORD_ETOOMANYLEASES, 40, "too many leases")                       \
	X(COORD_ETOOMANYSESSIONS, 41, "too many sessions")                   \
	X(COORD_ETOOMANYWAITERS, 42, "too many waiters on this lock")        \
	X(COORD_ETOOMANYLOCKS, 43,                                           \
	  "too many locks held or awaited by this session")                  \
	X(COORD_ELOCK_LOST, 44,                                              \
	  "the lock is known lost (libcoord refuses locally)")               \
	X(COORD_ESEMPERMITS, 45,                                             \
	  "the semaphore is in use with a different number of permits")      \
	X(COORD_EPERMITS, 46,                                                \
	  "semaphore permits out of range (0, or above the limit)")          \
	X(COORD_EKEYRESERVED, 48,                                            \
	  "key in the server's reserved key space (read-only)")              \
	X(COORD_ENOTELECTED, 49,                                             \
	  "not the election's current leader (wrong session or stale token)") \
	X(COORD_ENOJOB, 52, "no such job in this queue")                     \
	X(COORD_ENOJOBS, 53, "no job pending in this queue")                 \
	X(COORD_EJOBSTATE, 54,                                               \
	  "the job is not claimed (pending, done or dead)")                  \
	X(COORD_ESTALECLAIM, 55,                                             \
	  "stale claim: the token is not the job's current claim")           \
	X(COORD_EQUEUEFULL, 56, "job queue full")                            \
	X(COORD_ETOOMANYQUEUES, 57, "too many job queues")                   \
	/* quota13: 63-66 */                                                 \
	X(COORD_ENOSPACE, 63,                                                \
	  "keyspace quota reached (NOSPACE alarm): writes of values refused")\
	X(COORD_ECOORDSPACE, 64,                                             \
	  "coordination state budget reached (--coord-quota-bytes)")

enum coord_error {
#define COORD_ERROR_ENUM_(name, value, message) name = (value),
	COORD_ERRORS(COORD_ERROR_ENUM_)
#undef COORD_ERROR_ENUM_
};

/* The message of an error code; "unknown error" for a code not in the
 * table (a newer peer may send one). Never NULL, static storage. */
const char *coord_strerror(int code);

/* The symbolic name of an error code ("COORD_EINVAL"), for logs and
 * tests; "COORD_E?" for an unknown code. */
const char *coord_error_name(int code);

#endif /* COORD_PROTO_ERRORS_H */
