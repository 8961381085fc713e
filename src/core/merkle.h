/* SPDX-License-Identifier: Apache-2.0 */
/* merkle.h - RFC 9162 (RFC 6962) Merkle tree hashing and proofs.
 *
 * leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right),
 * the empty tree's hash is SHA-256("").
 *
 * Two ways to see a tree:
 *  - in memory, over an array of leaf hashes (a block's tx tree, a batch's
 *    entries tree): mc_merkle_root(), mc_merkle_inclusion() etc.
 *  - through a "perfect subtree" source (the chain tree, whose full subtree
 *    hashes are stored in LMDB): struct mc_mtree_src gives the hash of the
 *    perfect subtree of 2^level leaves starting at leaf index << level. All
 *    proof and root functions then cost O(log n) source reads.
 *
 * Proofs are arrays of 32-byte hashes in RFC 9162 order. The max depth is 64.
 */
#ifndef MC_MERKLE_H
#define MC_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define MC_MERKLE_MAX_PROOF 64

void mc_merkle_leaf_hash(const void *data, size_t n, uint8_t out[MC_HASH_LEN]);
void mc_merkle_node_hash(const uint8_t left[MC_HASH_LEN],
			 const uint8_t right[MC_HASH_LEN], uint8_t out[MC_HASH_LEN]);

/* A source of perfect-subtree hashes: get(ctx, level, index, out) gives the
 * root of leaves [index << level, (index + 1) << level). Returns 0 or -1. */
struct mc_mtree_src {
	int (*get)(void *ctx, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN]);
	void *ctx;
};

/* Root of the first `size` leaves. size 0 gives SHA-256(""). */
int mc_mtree_root(const struct mc_mtree_src *src, uint64_t size, uint8_t out[MC_HASH_LEN]);
/* Inclusion proof of leaf `index` in the tree of `size` leaves. *len is the
 * number of hashes written to path (at most MC_MERKLE_MAX_PROOF). */
int mc_mtree_inclusion(const struct mc_mtree_src *src, uint64_t index, uint64_t size,
		       uint8_t path[][MC_HASH_LEN], size_t *len);
/* Consistency proof from size1 to size2 (0 < size1 <= size2). */
int mc_mtree_consistency(const struct mc_mtree_src *src, uint64_t size1, uint64_t size2,
			 uint8_t path[][MC_HASH_LEN], size_t *len);

/* In-memory trees over n leaf hashes (already leaf-hashed). */
void mc_merkle_root(const uint8_t (*leaves)[MC_HASH_LEN], size_t n, uint8_t out[MC_HASH_LEN]);
int mc_merkle_inclusion(const uint8_t (*leaves)[MC_HASH_LEN], size_t n, size_t index,
			uint8_t path[][MC_HASH_LEN], size_t *len);
int mc_merkle_consistency(const uint8_t (*leaves)[MC_HASH_LEN], size_t n1, size_t n2,
			  uint8_t path[][MC_HASH_LEN], size_t *len);

/* Verification (RFC 9162 section 2.1.3.2 and 2.1.4.2). 0 when the proof holds. */
int mc_merkle_verify_inclusion(const uint8_t leaf[MC_HASH_LEN], uint64_t index, uint64_t size,
			       const uint8_t path[][MC_HASH_LEN], size_t len,
			       const uint8_t root[MC_HASH_LEN]) __attribute__((warn_unused_result));
int mc_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[MC_HASH_LEN], const uint8_t root2[MC_HASH_LEN],
				 const uint8_t path[][MC_HASH_LEN], size_t len)
	__attribute__((warn_unused_result));

/* Appending to a stored tree: the (level, index) pairs whose perfect subtree
 * becomes complete when leaf number `size` (0-based) is appended, from level
 * 0 upward. Used by the store to write new subtree hashes: after appending
 * leaf i, the subtrees completed are (0,i), (1,i>>1) while i's low bits are
 * 1, ... Returns the count (1 + number of trailing one bits of size). */
unsigned mc_mtree_completed(uint64_t size, unsigned levels[65], uint64_t indexes[65]);

#endif
