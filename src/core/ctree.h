/* SPDX-License-Identifier: Apache-2.0 */
/* ctree.h - the chain tree: a Merkle tree over the block hashes, stored
 * node by node (MC_DB_CTREE, key level u8 || index u64), and the proofs
 * over it (inclusion of a block, consistency of two sizes) that anchors and
 * `medchain proof` hand out. It reads and writes only its own table.
 */
#ifndef MC_CTREE_H
#define MC_CTREE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"

/* Appends a block hash to the stored chain tree as leaf `height`. */
int mc_ctree_append(struct mc_txn *t, uint64_t height, const uint8_t block_hash[MC_HASH_LEN],
		    struct mc_err *err);
/* One stored chain tree node: the subtree of 2^level leaves at index. */
int mc_ctree_node(struct mc_txn *t, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN],
		  struct mc_err *err);
/* The chain tree's root over the first `size` blocks (O(log n) reads). */
int mc_ctree_root(struct mc_txn *t, uint64_t size, uint8_t out[MC_HASH_LEN], struct mc_err *err);

/* Proofs over the stored chain tree (O(log n) reads; path room for
 * MC_MERKLE_MAX_PROOF hashes). */
int mc_ctree_inclusion(struct mc_txn *t, uint64_t index, uint64_t size,
		       uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err);
int mc_ctree_consistency(struct mc_txn *t, uint64_t size1, uint64_t size2,
			 uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err);

#endif
