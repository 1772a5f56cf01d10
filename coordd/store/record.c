/*
 * coordd/store/record.c: the values of the store's own records (see the
 * layout in store.h). Each starts with a CRC32C (big-endian) over the
 * record's key and the rest of the value (a run record: a CRC of its
 * header, then one per entry); decoders check length and CRC before they
 * trust a byte.
 */
#include <string.h>

#include "coordd/store/crc32c.h"
#include "coordd/store/store_int.h"
#include "proto/errors.h"

/* CRC over the key, then the value after its CRC field. */
static uint32_t rec_crc(const uint8_t *key, size_t key_len, const uint8_t *v,
			size_t len)
{
	uint32_t c = store_crc32c(key, key_len);

	return store_crc32c_extend(c, v + STORE_CRC_LEN, len - STORE_CRC_LEN);
}

static void rec_seal(char tag, uint8_t *v, size_t len)
{
	uint8_t key = (uint8_t)tag;

	store_put_be32(v, rec_crc(&key, 1, v, len));
}

static bool rec_sound(char tag, const uint8_t *v, size_t len)
{
	uint8_t key = (uint8_t)tag;

	return len >= STORE_CRC_LEN &&
	       store_get_be32(v) == rec_crc(&key, 1, v, len);
}

size_t store_rec_version_encode(uint8_t out[STORE_VERSION_LEN])
{
	memcpy(out + STORE_CRC_LEN, STORE_FORMAT_MAGIC, 11);
	store_put_be32(out + STORE_CRC_LEN + 11, STORE_FORMAT_VERSION);
	rec_seal(STORE_TAG_VERSION, out, STORE_VERSION_LEN);
	return STORE_VERSION_LEN;
}

int store_rec_version_decode(const uint8_t *v, size_t len, uint32_t *version)
{
	if (len != STORE_VERSION_LEN || !rec_sound(STORE_TAG_VERSION, v, len) ||
	    memcmp(v + STORE_CRC_LEN, STORE_FORMAT_MAGIC, 11) != 0)
		return COORD_ECORRUPT;
	*version = store_get_be32(v + STORE_CRC_LEN + 11);
	return COORD_OK;
}

int store_rec_meta_encode(uint8_t out[STORE_META_MAX],
			  const struct raft_snapshot_meta *m, size_t *len)
{
	const struct raft_conf *c = &m->conf;
	uint8_t *p = out + STORE_CRC_LEN;

	if (c->n_voters > RAFT_NODES_MAX || c->n_learners > RAFT_NODES_MAX)
		return COORD_EINVAL;
	store_put_be64(p, m->index);
	store_put_be64(p + 8, m->term);
	store_put_be32(p + 16, c->n_voters);
	store_put_be32(p + 20, c->n_learners);
	p += 24;
	for (uint32_t i = 0; i < c->n_voters; i++, p += 8)
		store_put_be64(p, c->voters[i]);
	for (uint32_t i = 0; i < c->n_learners; i++, p += 8)
		store_put_be64(p, c->learners[i]);
	*len = (size_t)(p - out);
	rec_seal(STORE_TAG_META, out, *len);
	return COORD_OK;
}

int store_rec_meta_decode(const uint8_t *v, size_t len,
			  struct raft_snapshot_meta *m)
{
	const uint8_t *p = v + STORE_CRC_LEN;
	uint32_t nv, nl;

	if (len < STORE_META_MIN || len > STORE_META_MAX ||
	    !rec_sound(STORE_TAG_META, v, len))
		return COORD_ECORRUPT;
	nv = store_get_be32(p + 16);
	nl = store_get_be32(p + 20);
	if (nv > RAFT_NODES_MAX || nl > RAFT_NODES_MAX ||
	    len != STORE_META_MIN + ((size_t)nv + nl) * 8)
		return COORD_ECORRUPT;
	memset(m, 0, sizeof(*m));
	m->index = store_get_be64(p);
	m->term = store_get_be64(p + 8);
	m->conf.n_voters = nv;
	m->conf.n_learners = nl;
	p += 24;
	for (uint32_t i = 0; i < nv; i++, p += 8)
		m->conf.voters[i] = store_get_be64(p);
	for (uint32_t i = 0; i < nl; i++, p += 8)
		m->conf.learners[i] = store_get_be64(p);
	return COORD_OK;
}

size_t store_rec_u64_encode(uint8_t out[STORE_APPLIED_LEN], char tag,
			    uint64_t value)
{
	store_put_be64(out + STORE_CRC_LEN, value);
	rec_seal(tag, out, STORE_APPLIED_LEN);
	return STORE_APPLIED_LEN;
}

int store_rec_u64_decode(const uint8_t *v, size_t len, char tag,
			 uint64_t *value)
{
	if (len != STORE_APPLIED_LEN || !rec_sound(tag, v, len))
		return COORD_ECORRUPT;
	*value = store_get_be64(v + STORE_CRC_LEN);
	return COORD_OK;
}

size_t store_rec_gen_encode(uint8_t out[STORE_GEN_LEN], uint32_t gen)
{
	store_put_be32(out + STORE_CRC_LEN, gen);
	rec_seal(STORE_TAG_GEN, out, STORE_GEN_LEN);
	return STORE_GEN_LEN;
}

int store_rec_gen_decode(const uint8_t *v, size_t len, uint32_t *gen)
{
	if (len != STORE_GEN_LEN || !rec_sound(STORE_TAG_GEN, v, len))
		return COORD_ECORRUPT;
	*gen = store_get_be32(v + STORE_CRC_LEN);
	return COORD_OK;
}

size_t store_rec_run_size(const struct raft_entry *ents, size_t n)
{
	size_t len = STORE_RUN_HEADER;

	for (size_t i = 0; i < n; i++)
		len += STORE_RUN_ENTRY_HEADER + ents[i].len;
	return len;
}

/* The CRC of an entry: its index, then term, type, len and data as
 * stored after the CRC field. */
static uint32_t entry_crc(uint64_t index, const uint8_t *rec, size_t len)
{
	uint8_t idx[8];

	store_put_be64(idx, index);
	return store_crc32c_extend(store_crc32c(idx, sizeof(idx)),
				   rec + STORE_CRC_LEN, len - STORE_CRC_LEN);
}

void store_rec_run_header(uint8_t *out, uint64_t first, uint32_t count)
{
	uint8_t key[STORE_ENTRY_KEY_LEN];

	store_entry_key(key, first);
	store_put_be32(out + STORE_CRC_LEN, count);
	store_put_be32(out, rec_crc(key, sizeof(key), out, STORE_RUN_HEADER));
}

size_t store_rec_run_encode(uint8_t *out, const struct raft_entry *ents,
			    size_t n)
{
	uint8_t *p = out + STORE_RUN_HEADER;

	store_rec_run_header(out, ents[0].index, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct raft_entry *e = &ents[i];
		size_t len = STORE_RUN_ENTRY_HEADER + e->len;

		store_put_be64(p + STORE_CRC_LEN, e->term);
		store_put_be32(p + STORE_CRC_LEN + 8, e->type);
		store_put_be32(p + STORE_CRC_LEN + 12, e->len);
		if (e->len > 0)
			memcpy(p + STORE_RUN_ENTRY_HEADER, e->data, e->len);
		store_put_be32(p, entry_crc(e->index, p, len));
		p += len;
	}
	return (size_t)(p - out);
}

int store_rec_run_open(struct store_run_cursor *c, uint64_t first,
		       const uint8_t *v, size_t len)
{
	uint8_t key[STORE_ENTRY_KEY_LEN];

	store_entry_key(key, first);
	if (len < STORE_RUN_HEADER ||
	    store_get_be32(v) != rec_crc(key, sizeof(key), v,
					 STORE_RUN_HEADER) ||
	    store_get_be32(v + STORE_CRC_LEN) == 0)
		return COORD_ECORRUPT;
	c->first = first;
	c->count = store_get_be32(v + STORE_CRC_LEN);
	c->i = 0;
	c->p = v + STORE_RUN_HEADER;
	c->end = v + len;
	return COORD_OK;
}

int store_rec_run_next(struct store_run_cursor *c, struct raft_entry *e)
{
	const uint8_t *p = c->p;
	size_t left = (size_t)(c->end - p), len;

	if (c->i == c->count)
		return left == 0 ? COORD_ENOTFOUND : COORD_ECORRUPT;
	if (left < STORE_RUN_ENTRY_HEADER ||
	    store_get_be32(p + STORE_CRC_LEN + 12) >
		    left - STORE_RUN_ENTRY_HEADER)
		return COORD_ECORRUPT;
	len = STORE_RUN_ENTRY_HEADER + store_get_be32(p + STORE_CRC_LEN + 12);
	if (store_get_be32(p) != entry_crc(c->first + c->i, p, len))
		return COORD_ECORRUPT;
	e->index = c->first + c->i;
	e->term = store_get_be64(p + STORE_CRC_LEN);
	e->type = store_get_be32(p + STORE_CRC_LEN + 8);
	e->len = (uint32_t)(len - STORE_RUN_ENTRY_HEADER);
	e->data = e->len > 0 ? (uint8_t *)(p + STORE_RUN_ENTRY_HEADER) : NULL;
	c->p += len;
	c->i++;
	return COORD_OK;
}
