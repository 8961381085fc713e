/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sigcache.h"

int mc_sigcache_init(struct mc_sigcache *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	if (!cap || !(c->ring = calloc(cap, MC_HASH_LEN)))
		return -1;
	if (mc_hset_init(&c->set) != 0) {
		free(c->ring);
		c->ring = NULL;   /* mc_sigcache_free then does nothing */
		return -1;
	}
	c->cap = cap;
	pthread_mutex_init(&c->mu, NULL);
	return 0;
}

void mc_sigcache_free(struct mc_sigcache *c)
{
	if (!c->ring)
		return;
	mc_hset_free(&c->set);
	free(c->ring);
	c->ring = NULL;
	pthread_mutex_destroy(&c->mu);
}

bool mc_sigcache_has(struct mc_sigcache *c, const uint8_t chain_id[MC_HASH_LEN], const uint8_t hash[MC_HASH_LEN])
{
	bool has;

	if (!c->ring)
		return false;
	pthread_mutex_lock(&c->mu);
	has = c->has_chain && memcmp(c->chain_id, chain_id, MC_HASH_LEN) == 0 && mc_hset_get(&c->set, hash) != NULL;
	pthread_mutex_unlock(&c->mu);
	return has;
}

void mc_sigcache_add(struct mc_sigcache *c, const uint8_t chain_id[MC_HASH_LEN], const uint8_t hash[MC_HASH_LEN])
{
	uint8_t *slot;
	bool full;

	if (!c->ring)
		return;
	pthread_mutex_lock(&c->mu);
	if (!c->has_chain || memcmp(c->chain_id, chain_id, MC_HASH_LEN) != 0) {
		/* another chain: what was checked under the old one goes */
		for (size_t i = 0; i < c->n; i++)
			mc_hset_del(&c->set, c->ring[i]);
		c->n = c->next = 0;
		memcpy(c->chain_id, chain_id, MC_HASH_LEN);
		c->has_chain = true;
	}
	if (mc_hset_get(&c->set, hash)) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	slot = c->ring[c->next];
	full = c->n == c->cap;
	if (full)
		mc_hset_del(&c->set, slot);   /* the oldest */
	memcpy(slot, hash, MC_HASH_LEN);
	if (mc_hset_put(&c->set, slot, slot) != 0) {
		/* out of memory: not cached (it is verified again); the slot
		 * holds no key of the set and is the next one taken */
		memset(slot, 0, MC_HASH_LEN);
	} else {
		c->n += !full;
		c->next = (c->next + 1) % c->cap;
	}
	pthread_mutex_unlock(&c->mu);
}
