/*
 * coordfence.h: libcoordfence, resource-side fencing for the owners of
 * resources guarded by coord locks.
 *
 * A resource (a storage service, a job runner) that accepts writes from
 * lock holders keeps a fence store: for each resource name, the highest
 * fencing token it has accepted. coordfence_admit() accepts a write's
 * token when it is at least that highest (an equal token is the same
 * holder writing again) and records it; a smaller token comes from a
 * holder whose lock has since been granted to someone else, and is
 * refused with COORDFENCE_ESTALE. The store is
 *
 *   - durable: the accepted token is written and fdatasync()ed to the
 *     store's log before coordfence_admit() returns, so a token once
 *     admitted is never forgotten, even across kill -9 or power loss
 *     (test: tests/unit/test_fence.c, killed_admitter_loses_no_token);
 *   - atomic: one mutex per store serializes admits from the threads of
 *     a process (test: racing_threads_never_admit_lower_after_higher),
 *     and an exclusive flock() on DIR/LOCK refuses a second process (or
 *     a second open in the same process) with COORDFENCE_ELOCKED (test:
 *     second_process_is_refused).
 *
 * The store is a directory: DIR/LOCK (the lock file) and DIR/FENCE (an
 * append-only log of CRC32C-checked records, rewritten compactly when it
 * grows past twice its live size). A torn last record (a crash inside an
 * admit that had not returned) is dropped at open; damage anywhere else
 * is COORDFENCE_ECORRUPT.
 *
 * Tokens are coord's fencing tokens: grant revisions, 1 and up; token 0
 * is COORDFENCE_EINVAL. Resource names are byte strings of 1 to
 * COORDFENCE_RESOURCE_MAX bytes; a store holds at most
 * coordfence_options.resources_max names, after which a new name is
 * COORDFENCE_EFULL (known names are still admitted). Bad input changes
 * nothing.
 *
 * The error codes keep the numbers of coord's table (proto/errors.h,
 * installed as coord_errors.h), so a resource can pass them on:
 * COORDFENCE_ESTALE is COORD_EFENCED (7). The two codes that exist only
 * here (ELOCKED, EFULL) are numbered from 1000 on, outside that table,
 * and never travel on coord's wire.
 *
 * Online check: a resource that also wants coordd's word that (lock,
 * token) is still the lock's current grant -- not only that no newer
 * token was seen here -- uses coordfence_check_online() or
 * coordfence_admit_online() with a libcoord client (fencing/online.c
 * says what that adds; test: tests/cluster/fence_online.sh).
 */
#ifndef COORDFENCE_H
#define COORDFENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(COORD_BUILDING_LIBCOORDFENCE) && defined(__GNUC__)
#define COORDFENCE_API __attribute__((visibility("default")))
#else
#define COORDFENCE_API
#endif

/* The longest resource name, in bytes. */
#define COORDFENCE_RESOURCE_MAX 1024
/* The default of coordfence_options.resources_max. */
#define COORDFENCE_RESOURCES_MAX_DEFAULT 100000

enum coordfence_error {
	COORDFENCE_OK = 0,
	COORDFENCE_EINVAL = 1,    /* COORD_EINVAL: bad argument */
	COORDFENCE_ENOMEM = 2,    /* COORD_ENOMEM */
	COORDFENCE_EIO = 3,       /* COORD_EIO: the store's I/O failed */
	COORDFENCE_ECORRUPT = 4,  /* COORD_ECORRUPT: the log is damaged */
	COORDFENCE_ESTALE = 7,    /* COORD_EFENCED: token < highest */
	COORDFENCE_ENOTFOUND = 13, /* COORD_ENOTFOUND: no token yet */
	COORDFENCE_ELOCKED = 1000, /* another open holds the store */
	COORDFENCE_EFULL = 1001,  /* resources_max names already */
};

struct coordfence;

struct coordfence_options {
	/* The most resource names the store holds (0: the default). */
	size_t resources_max;
};

/* Fills o with the defaults. */
COORDFENCE_API void coordfence_options_init(struct coordfence_options *o);

/*
 * Opens (creating it and its directory if needed; a new directory's
 * parent is synced) the fence store in directory dir and locks it for
 * this handle. o may be NULL (defaults).
 * On success *out is the handle (free with coordfence_close()); on
 * failure *out is NULL and, when err is not NULL, err (err_len bytes)
 * holds a message. Codes: COORDFENCE_EINVAL (NULL dir or out),
 * COORDFENCE_ELOCKED (another process or handle has it open),
 * COORDFENCE_EIO, COORDFENCE_ECORRUPT, COORDFENCE_ENOMEM.
 */
COORDFENCE_API int coordfence_open(const char *dir,
				   const struct coordfence_options *o,
				   struct coordfence **out, char *err,
				   size_t err_len);

/* Closes the store and releases its lock; NULL does nothing. Every
 * admitted token is already on disk. No other call on f may be running
 * or start. */
COORDFENCE_API void coordfence_close(struct coordfence *f);

/*
 * Admits token for resource (res_len bytes): 0 when token >= the highest
 * token admitted for it (recorded, on disk, before this returns);
 * COORDFENCE_ESTALE when it is smaller. COORDFENCE_EINVAL for a NULL
 * handle or resource, a length of 0 or over COORDFENCE_RESOURCE_MAX, or
 * token 0; COORDFENCE_EFULL for a new name beyond resources_max;
 * COORDFENCE_EIO when the write or sync failed -- the store then refuses
 * every further admit with COORDFENCE_EIO (whether the record reached
 * the disk is unknown until the store is reopened). Thread-safe.
 */
COORDFENCE_API int coordfence_admit(struct coordfence *f, const void *res,
				    size_t res_len, uint64_t token);

/* The highest token admitted for resource in *token: 0, or
 * COORDFENCE_ENOTFOUND (none yet), COORDFENCE_EINVAL (as admit).
 * Thread-safe. */
COORDFENCE_API int coordfence_highest(struct coordfence *f, const void *res,
				      size_t res_len, uint64_t *token);

/* The number of resource names in the store (0 for NULL). Thread-safe. */
COORDFENCE_API size_t coordfence_count(struct coordfence *f);

/* The message of the last failed call on f, copied into buf (len bytes,
 * always terminated); "" when none failed or f is NULL. Thread-safe. */
COORDFENCE_API void coordfence_errmsg(struct coordfence *f, char *buf,
				      size_t len);

struct coord_client;

/*
 * Asks coordd, through the libcoord client c (coord.h), whether token is
 * the current grant of lock (lock_len bytes): COORDFENCE_OK when it is,
 * COORDFENCE_ESTALE when it is not (released, expired, granted on),
 * COORDFENCE_EINVAL for bad arguments, else libcoord's code
 * (COORD_ENOLEADER, COORD_EUNAVAILABLE, COORD_ETIMEDOUT...: coordd could
 * not say; the caller decides -- refusing is the safe choice). A
 * linearizable read: true at some moment during the call.
 */
COORDFENCE_API int coordfence_check_online(struct coord_client *c,
					   const void *lock, size_t lock_len,
					   uint64_t token);

/* coordfence_check_online(), then, only if the token is current,
 * coordfence_admit(f, res, res_len, token). */
COORDFENCE_API int coordfence_admit_online(struct coordfence *f,
					   struct coord_client *c,
					   const void *lock, size_t lock_len,
					   const void *res, size_t res_len,
					   uint64_t token);

/* The message of a code; "unknown error" for others. Static storage. */
COORDFENCE_API const char *coordfence_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* COORDFENCE_H */
