/*
 * proto/limits.h: default limits of coord, each checked on entry by the
 * code that owns it and documented in docs/. Servers may configure other
 * values; these are what they get by default.
 */
#ifndef COORD_PROTO_LIMITS_H
#define COORD_PROTO_LIMITS_H

/* Bytes in one key (fsm: COORD_EKEYTOOBIG). Applies to every key a
 * command names: put keys, range and delete bounds, compare keys. */
#define COORD_KEY_BYTES_MAX 4096

/* Bytes in one value (fsm: COORD_EVALUETOOBIG). */
#define COORD_VALUE_BYTES_MAX (512 * 1024)

/* Entries in each list of a txn: compares, then-ops and else-ops are each
 * limited to this many (fsm: COORD_ETXNTOOBIG), as in etcd's
 * --max-txn-ops. */
#define COORD_TXN_OPS_MAX 128

/* Bytes in one encoded command, the unit the server proposes to Raft;
 * matches raft_config_default()'s max_entry_bytes. */
#define COORD_CMD_BYTES_MAX (1024 * 1024)

/* One put of the largest key and value must fit in one command. */
_Static_assert(COORD_KEY_BYTES_MAX + COORD_VALUE_BYTES_MAX + 64 <=
		       COORD_CMD_BYTES_MAX,
	       "a maximal put must fit in one command");

/*
 * Exactly-once: the fsm's client table (coordd/fsm/fsm.h).
 *
 * COORD_CLIENT_IDLE_MS: the leader proposes CLIENTS_EXPIRE with this
 * idle_ms, so a client's entry (its last sequence and reply) is forgotten
 * once it has sent no applied request for this long, measured in cluster
 * time. A client must not retry a request after this long (libcoord gives
 * up on a request well before); after it, start over with a new client id.
 * COORD_CLIENT_EXPIRE_INTERVAL_MS: how often the leader proposes it.
 * COORD_CLIENTS_MAX: entries kept; a new client beyond it evicts the least
 * recently active one (fsm: config clients_max, equal on every replica).
 */
#define COORD_CLIENT_IDLE_MS (60u * 60u * 1000u)
#define COORD_CLIENT_EXPIRE_INTERVAL_MS (60u * 1000u)
#define COORD_CLIENTS_MAX 65536

_Static_assert(COORD_CLIENT_EXPIRE_INTERVAL_MS < COORD_CLIENT_IDLE_MS,
	       "clients are expired more often than they may idle");

#endif /* COORD_PROTO_LIMITS_H */
