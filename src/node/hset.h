/* SPDX-License-Identifier: Apache-2.0 */
/* hset.h - a hash table from 32-byte hashes to pointers, for the engine's
 * pending pool, its refusals and its signature cache: O(1) lookups where
 * a scan of the pool per tx cost O(pool).
 *
 * The table holds pointers to the keys, not copies: each key lives in the
 * entry it maps to (a pool item's hash, say) and must stay there, unchanged,
 * until it is deleted from the table. Open addressing with linear probing,
 * kept at most half full (it doubles), deletion by backward shift (no
 * tombstones). The slot is chosen by SipHash under a random key drawn at
 * init, so txs ground to collide cannot lengthen the probes. Not locked:
 * its owner's mutex guards it. */
#ifndef MC_HSET_H
#define MC_HSET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

struct mc_hset_slot {
	const uint8_t *key;        /* NULL: empty */
	void *val;
};

struct mc_hset {
	struct mc_hset_slot *s;    /* owned; cap slots, cap a power of 2 */
	size_t cap, n;
	uint8_t sip[16];
};

/* An empty table; 0, or -1 out of memory. */
int mc_hset_init(struct mc_hset *h);
void mc_hset_free(struct mc_hset *h);
/* The value of key, or NULL. */
void *mc_hset_get(const struct mc_hset *h, const uint8_t key[MC_HASH_LEN]);
/* Maps key to val (replacing a value it had: the key pointer too); 0, or
 * -1 out of memory (the table is unchanged). */
int mc_hset_put(struct mc_hset *h, const uint8_t key[MC_HASH_LEN], void *val);
/* Removes key if it is there. */
void mc_hset_del(struct mc_hset *h, const uint8_t key[MC_HASH_LEN]);

#endif
