/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hset.h"

static size_t slot_of(const struct mc_hset *h, const uint8_t *key)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, key, MC_HASH_LEN, h->sip);
	memcpy(&v, out, sizeof(v));
	return (size_t)v & (h->cap - 1);
}

static int alloc_slots(struct mc_hset *h, size_t cap)
{
	struct mc_hset_slot *old = h->s;
	size_t ocap = h->cap;

	if (!(h->s = calloc(cap, sizeof(*h->s)))) {
		h->s = old;
		return -1;
	}
	h->cap = cap;
	h->n = 0;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			(void)mc_hset_put(h, old[i].key, old[i].val);   /* fits: no growth */
	free(old);
	return 0;
}

int mc_hset_init(struct mc_hset *h)
{
	memset(h, 0, sizeof(*h));
	mc_random(h->sip, sizeof(h->sip));
	return alloc_slots(h, 64);
}

void mc_hset_free(struct mc_hset *h)
{
	free(h->s);
	h->s = NULL;
	h->cap = h->n = 0;
}

void *mc_hset_get(const struct mc_hset *h, const uint8_t key[MC_HASH_LEN])
{
	if (!h->cap)
		return NULL;
	for (size_t i = slot_of(h, key);; i = (i + 1) & (h->cap - 1)) {
		if (!h->s[i].key)
			return NULL;
		if (memcmp(h->s[i].key, key, MC_HASH_LEN) == 0)
			return h->s[i].val;
	}
}

int mc_hset_put(struct mc_hset *h, const uint8_t key[MC_HASH_LEN], void *val)
{
	size_t i;

	if (!h->cap || ((h->n + 1) * 2 > h->cap && alloc_slots(h, h->cap ? h->cap * 2 : 64) != 0))
		return -1;
	for (i = slot_of(h, key); h->s[i].key; i = (i + 1) & (h->cap - 1))
		if (memcmp(h->s[i].key, key, MC_HASH_LEN) == 0)
			break;
	if (!h->s[i].key)
		h->n++;
	h->s[i].key = key;
	h->s[i].val = val;
	return 0;
}

void mc_hset_del(struct mc_hset *h, const uint8_t key[MC_HASH_LEN])
{
	size_t mask = h->cap - 1, i, j;

	if (!h->cap)
		return;
	for (i = slot_of(h, key);; i = (i + 1) & mask) {
		if (!h->s[i].key)
			return;
		if (memcmp(h->s[i].key, key, MC_HASH_LEN) == 0)
			break;
	}
	/* backward shift: move each later entry of the run into the hole when
	 * its home slot does not lie cyclically in (hole, its slot] */
	for (j = (i + 1) & mask; h->s[j].key; j = (j + 1) & mask) {
		size_t home = slot_of(h, h->s[j].key);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->s[i] = h->s[j];
			i = j;
		}
	}
	h->s[i].key = NULL;
	h->s[i].val = NULL;
	h->n--;
}
