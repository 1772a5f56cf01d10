/*
 * coordd/failpoint.h: compile-time fault-injection hooks for the fault
 * suite (docs/fault-testing.md, "Failpoints"). Built only with
 * `./configure --enable-failpoints` (which defines
 * COORD_FAILPOINTS_ENABLED); otherwise FAILPOINT() is the constant
 * FAILPOINT_OFF, every hook folds away, no code is linked and the
 * environment is never read.
 *
 * With them, coordd reads COORD_FAILPOINTS once at start:
 *
 *   COORD_FAILPOINTS="store.sync=crash@5%,net.send=drop@1%,node.after_persist=crash#3"
 *
 * a comma-separated list of POINT=ACTION[TRIGGER], each point at most
 * once. TRIGGER: @P% (each hit with probability P, 0 < P <= 100, up to
 * four decimals), #N (the Nth hit only, N >= 1), or nothing (every hit).
 * The probabilities draw from a PRNG seeded with COORD_FAILPOINTS_SEED
 * (a decimal), else with the pid; the seed is logged.
 */
#ifndef COORD_COORDD_FAILPOINT_H
#define COORD_COORDD_FAILPOINT_H

#include <stddef.h>
#include <stdint.h>

/* The hook points. */
enum failpoint_id {
	/* Before the fdatasync of a Raft log write or a synced LevelDB
	 * write: crash, or error (the sync fails with EIO). */
	FAILPOINT_STORE_SYNC,
	/* After a Ready was persisted, before its messages are sent:
	 * crash. */
	FAILPOINT_NODE_AFTER_PERSIST,
	/* After a Ready's messages were sent (written to the sockets),
	 * before its committed entries are applied: crash. */
	FAILPOINT_NODE_AFTER_SEND,
	/* Installing a received snapshot, after the synced batch that
	 * switches the keyspace and before the log is reset: crash. */
	FAILPOINT_SNAPSHOT_INSTALL,
	/* An outgoing peer message: drop (not sent), or crash. */
	FAILPOINT_NET_SEND,
	FAILPOINT_N
};

enum failpoint_action {
	FAILPOINT_OFF = 0,
	FAILPOINT_CRASH,
	FAILPOINT_ERROR,
	FAILPOINT_DROP
};

/* The exit status of a crash: _exit() at once, no flush, no atexit (a
 * coverage build writes its line counts first: proto/exit.h). */
#define FAILPOINT_CRASH_STATUS 86

#ifdef COORD_FAILPOINTS_ENABLED

/* One configuration: what each point does and when, with its PRNG. */
struct failpoint_table {
	struct {
		enum failpoint_action action;
		uint32_t ppm;       /* @P%: parts per million; 0: not @ */
		uint64_t nth;       /* #N; 0: not # */
		uint64_t hits;      /* times the point was reached */
		uint64_t fired;     /* times its action was taken */
	} p[FAILPOINT_N];
	uint64_t rng;
};

/* The point's name ("store.sync"). */
const char *failpoint_name(enum failpoint_id id);

/* Parses spec into t (cleared first; NULL or "": nothing on), the PRNG
 * seeded with seed. COORD_EINVAL, with err naming the culprit, for bad
 * syntax, an unknown point or action, an action the point does not
 * have, or a point given twice. */
int failpoint_parse(struct failpoint_table *t, const char *spec,
		    uint64_t seed, char *err, size_t errlen);

/* A hit of point id in t: the action to take now (FAILPOINT_OFF: none).
 * Counts the hit; does not crash (the caller does). */
enum failpoint_action failpoint_eval(struct failpoint_table *t,
				     enum failpoint_id id);

/* The logger coordd_log() is (level 0-3: debug .. error). */
typedef void (*failpoint_log_fn)(int level, const char *fmt, ...);

/* Reads COORD_FAILPOINTS and COORD_FAILPOINTS_SEED into the process's
 * table, once, and logs what is on (nothing when the variable is unset
 * or empty). COORD_EINVAL with err on a bad value: coordd refuses to
 * start. */
int failpoint_setup_env(failpoint_log_fn log, char *err, size_t errlen);

/* A hit of point id in the process's table. A crash is taken here: the
 * hit is logged (level=error) and the process _exit()s with
 * FAILPOINT_CRASH_STATUS. Returns FAILPOINT_OFF, _ERROR or _DROP. */
enum failpoint_action failpoint_hit(enum failpoint_id id);

#define FAILPOINT(id) failpoint_hit(id)

#else

#define FAILPOINT(id) FAILPOINT_OFF

#endif

#endif
