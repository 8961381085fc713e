/* SPDX-License-Identifier: Apache-2.0 */
/* sigcache.h - the hashes of the txs whose author signature this node
 * checked itself, so that a tx verified at receipt is not verified again
 * when the block holding it is checked and committed (issue 18).
 *
 * A tx's hash covers its signature (and every other byte of the tx), so a
 * tx found here is, byte for byte, one whose signature verified; a tx
 * altered in any byte has another hash and is verified as if never seen.
 * Entries are kept under the chain id their signature was checked with: a
 * lookup under another chain id finds nothing, and an add under a new one
 * empties the cache. Only this node's own checks go in (mc_sigcache_add
 * after mc_tx_verify_sig returned 0), never a peer's word. Bounded: the
 * oldest entry goes when it is full. Locked inside; owned by the engine
 * (made at start, freed at stop). */
#ifndef MC_SIGCACHE_H
#define MC_SIGCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "hset.h"

#define MC_SIGCACHE_ENTRIES 131072u

struct mc_sigcache {
	pthread_mutex_t mu;
	uint8_t chain_id[MC_HASH_LEN];
	bool has_chain;
	uint8_t (*ring)[MC_HASH_LEN];  /* the keys, oldest at next once full */
	size_t cap, n, next;
	struct mc_hset set;            /* keys point into ring */
};

/* 0, or -1 out of memory. */
int mc_sigcache_init(struct mc_sigcache *c, size_t cap);
void mc_sigcache_free(struct mc_sigcache *c);
/* True when this node checked the signature of the tx with this hash under
 * chain_id. */
bool mc_sigcache_has(struct mc_sigcache *c, const uint8_t chain_id[MC_HASH_LEN], const uint8_t hash[MC_HASH_LEN]);
/* Records that the tx with this hash verified under chain_id (call only
 * after mc_tx_verify_sig returned 0 for it, here). */
void mc_sigcache_add(struct mc_sigcache *c, const uint8_t chain_id[MC_HASH_LEN], const uint8_t hash[MC_HASH_LEN]);

#endif
