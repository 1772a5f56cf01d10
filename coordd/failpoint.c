/*
 * coordd/failpoint.c: the fault-injection hooks' configuration and
 * triggers (failpoint.h). Compiled only with --enable-failpoints. It
 * reads the environment once, at start, from main(); the hooks run on
 * the event loop's thread only.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coordd/failpoint.h"
#include "proto/errors.h"
#include "proto/exit.h"

static const struct {
	const char *name;
	unsigned actions;   /* bit (1 << action) for each one it has */
} points[FAILPOINT_N] = {
	[FAILPOINT_STORE_SYNC] = { "store.sync",
		1u << FAILPOINT_CRASH | 1u << FAILPOINT_ERROR },
	[FAILPOINT_NODE_AFTER_PERSIST] = { "node.after_persist",
		1u << FAILPOINT_CRASH },
	[FAILPOINT_NODE_AFTER_SEND] = { "node.after_send",
		1u << FAILPOINT_CRASH },
	[FAILPOINT_SNAPSHOT_INSTALL] = { "snapshot.install",
		1u << FAILPOINT_CRASH },
	[FAILPOINT_NET_SEND] = { "net.send",
		1u << FAILPOINT_CRASH | 1u << FAILPOINT_DROP },
};

static const char *const action_names[] = {
	[FAILPOINT_OFF] = "off",
	[FAILPOINT_CRASH] = "crash",
	[FAILPOINT_ERROR] = "error",
	[FAILPOINT_DROP] = "drop",
};

/* The longest item of a spec (a point, an action, a trigger). */
#define FAILPOINT_ITEM_MAX 64

const char *failpoint_name(enum failpoint_id id)
{
	return id < FAILPOINT_N ? points[id].name : "?";
}

/* splitmix64: small, and the same sequence from the same seed. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* "P" of @P%: digits, an optional '.' and up to four more; in ppm. */
static bool parse_percent(const char *s, size_t n, uint32_t *ppm)
{
	uint64_t v = 0;
	size_t i = 0, frac = 0;
	bool dot = false, digits = false;

	for (; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (dot && ++frac > 4)
			return false;
		digits = true;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > 100u * 10000u * 10u)
			return false;
	}
	for (; frac < 4; frac++)
		v *= 10;
	if (!digits || v == 0 || v > 100u * 10000u)
		return false;
	*ppm = (uint32_t)v;
	return true;
}

static bool parse_count(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0)
		return false;
	*out = v;
	return true;
}

/* One POINT=ACTION[TRIGGER] of n bytes at s. */
static int parse_item(struct failpoint_table *t, const char *s, size_t n,
		      char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', n);
	const char *act, *trig;
	size_t pn, an, tn;
	int id = -1, a = -1;

	if (n == 0) {
		snprintf(err, errlen, "COORD_FAILPOINTS: an empty item");
		return COORD_EINVAL;
	}
	if (eq == NULL) {
		snprintf(err, errlen, "COORD_FAILPOINTS: '%.*s' is not "
			 "POINT=ACTION[@P%%|#N]", (int)n, s);
		return COORD_EINVAL;
	}
	pn = (size_t)(eq - s);
	for (int i = 0; i < FAILPOINT_N; i++)
		if (strlen(points[i].name) == pn &&
		    memcmp(points[i].name, s, pn) == 0)
			id = i;
	if (id < 0) {
		snprintf(err, errlen, "COORD_FAILPOINTS: unknown point '%.*s' "
			 "(store.sync, node.after_persist, node.after_send, "
			 "snapshot.install, net.send)", (int)pn, s);
		return COORD_EINVAL;
	}
	if (t->p[id].action != FAILPOINT_OFF) {
		snprintf(err, errlen, "COORD_FAILPOINTS: point %s given twice",
			 points[id].name);
		return COORD_EINVAL;
	}
	act = eq + 1;
	trig = act;
	while (trig < s + n && *trig != '@' && *trig != '#')
		trig++;
	an = (size_t)(trig - act);
	tn = (size_t)(s + n - trig);
	for (int i = FAILPOINT_CRASH; i <= FAILPOINT_DROP; i++)
		if (strlen(action_names[i]) == an &&
		    memcmp(action_names[i], act, an) == 0)
			a = i;
	if (a < 0) {
		snprintf(err, errlen, "COORD_FAILPOINTS: unknown action '%.*s' "
			 "for %s (crash, error, drop)", (int)an, act,
			 points[id].name);
		return COORD_EINVAL;
	}
	if (!(points[id].actions & (1u << a))) {
		snprintf(err, errlen, "COORD_FAILPOINTS: %s cannot %s",
			 points[id].name, action_names[a]);
		return COORD_EINVAL;
	}
	if (tn > 0 && trig[0] == '@') {
		if (tn < 3 || trig[tn - 1] != '%' ||
		    !parse_percent(trig + 1, tn - 2, &t->p[id].ppm)) {
			snprintf(err, errlen, "COORD_FAILPOINTS: bad trigger "
				 "'%.*s' for %s (@P%% with 0 < P <= 100, up to "
				 "four decimals)", (int)tn, trig,
				 points[id].name);
			return COORD_EINVAL;
		}
	} else if (tn > 0) {
		if (!parse_count(trig + 1, tn - 1, &t->p[id].nth)) {
			snprintf(err, errlen, "COORD_FAILPOINTS: bad trigger "
				 "'%.*s' for %s (#N with N >= 1)", (int)tn,
				 trig, points[id].name);
			return COORD_EINVAL;
		}
	}
	t->p[id].action = (enum failpoint_action)a;
	return COORD_OK;
}

int failpoint_parse(struct failpoint_table *t, const char *spec,
		    uint64_t seed, char *err, size_t errlen)
{
	const char *s = spec;

	memset(t, 0, sizeof(*t));
	t->rng = seed;
	if (spec == NULL || spec[0] == '\0')
		return COORD_OK;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
		int rc;

		if (n > FAILPOINT_ITEM_MAX * 3) {
			snprintf(err, errlen, "COORD_FAILPOINTS: an item of "
				 "%zu bytes (at most %d)", n,
				 FAILPOINT_ITEM_MAX * 3);
			rc = COORD_EINVAL;
		} else {
			rc = parse_item(t, s, n, err, errlen);
		}
		if (rc != COORD_OK) {
			memset(t, 0, sizeof(*t));
			return rc;
		}
		if (end == NULL)
			return COORD_OK;
		s = end + 1;
	}
}

enum failpoint_action failpoint_eval(struct failpoint_table *t,
				     enum failpoint_id id)
{
	bool fire;

	if (id >= FAILPOINT_N || t->p[id].action == FAILPOINT_OFF)
		return FAILPOINT_OFF;
	t->p[id].hits++;
	if (t->p[id].nth != 0)
		fire = t->p[id].hits == t->p[id].nth;
	else if (t->p[id].ppm != 0)
		fire = rng_next(&t->rng) % 1000000u < t->p[id].ppm;
	else
		fire = true;
	if (!fire)
		return FAILPOINT_OFF;
	t->p[id].fired++;
	return t->p[id].action;
}

/* ---------------------------------------------------------------------- */
/* The process's table. */

static struct failpoint_table table;
static failpoint_log_fn logger;

int failpoint_setup_env(failpoint_log_fn log, char *err, size_t errlen)
{
	const char *spec = getenv("COORD_FAILPOINTS");
	const char *seed_s = getenv("COORD_FAILPOINTS_SEED");
	uint64_t seed = (uint64_t)getpid();
	int rc;

	logger = log;
	if (seed_s != NULL && seed_s[0] != '\0') {
		char *end;

		errno = 0;
		seed = strtoull(seed_s, &end, 10);
		if (errno != 0 || *end != '\0' || seed_s[0] == '-') {
			snprintf(err, errlen, "COORD_FAILPOINTS_SEED: '%s' is "
				 "not a decimal number", seed_s);
			return COORD_EINVAL;
		}
	}
	rc = failpoint_parse(&table, spec, seed, err, errlen);
	if (rc != COORD_OK)
		return rc;
	if (spec != NULL && spec[0] != '\0' && logger != NULL)
		logger(2, "failpoints on: %s seed=%llu", spec,
		       (unsigned long long)seed);
	return COORD_OK;
}

enum failpoint_action failpoint_hit(enum failpoint_id id)
{
	enum failpoint_action a = failpoint_eval(&table, id);

	if (a == FAILPOINT_OFF)
		return a;
	if (logger != NULL)
		logger(a == FAILPOINT_DROP ? 0 : 3,
		       "failpoint point=%s action=%s hit=%llu%s",
		       points[id].name, action_names[a],
		       (unsigned long long)table.p[id].hits,
		       a == FAILPOINT_CRASH ? ": exiting at once, nothing "
					      "flushed" : "");
	if (a == FAILPOINT_CRASH)
		coord_exit_now(FAILPOINT_CRASH_STATUS);
	return a;
}
