/* SPDX-License-Identifier: Apache-2.0 */
/* chain.h - applying transactions to the chain state, and producing
 * blocks on a node.
 *
 * All state (identities, sequence numbers, record versions, the subject
 * index, the tx index and the chain tree) is derived from the blocks by
 * mc_chain_apply_tx(), the single set of rules used both when a node makes a
 * block and when `verify` replays the chain into a scratch store. It
 * dispatches each tx to its family's rule through tx.h's MC_TX_TYPES.
 *
 * The top of the core's chain modules (HACKING.md has the map): it includes
 * the headers below it, so that a caller outside the core finds the chain
 * state (chainstate.h), the chain tree (ctree.h), the rule helpers
 * (rules.h), record, rotation and consent state (rectx.h, rotation.h,
 * consent.h) here as before. No module below includes this header.
 */
#ifndef MC_CHAIN_H
#define MC_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chainstate.h"
#include "codec.h"
#include "consent.h"
#include "crypto.h"
#include "ctree.h"
#include "err.h"
#include "keystore.h"
#include "rectx.h"
#include "rotation.h"
#include "rules.h"
#include "store.h"
#include "tx.h"
#include "valset.h"

/* Checks one decoded tx against the rules and the state in t, and applies it
 * (state rows, the tx row and the tx index). EX_DATAERR naming the rule on
 * refusal; the caller aborts the write transaction. */
int mc_chain_apply_tx(struct mc_txn *t, const struct mc_apply_ctx *ax,
		      const struct mc_tx *tx, const uint8_t *enc, size_t enc_len,
		      struct mc_err *err);
/* The rule of one transaction type (its apply in tx.h's MC_TX_TYPES); NULL
 * for a number no type has. */
mc_tx_apply_fn mc_chain_tx_apply_fn(unsigned type);

/* Writes by a node that is not the chain's only validator go through the
 * node's `medchain serve` (the leader makes the block): mc_chain_produce
 * hands the txs a build made to the store handle's submitter
 * (mc_store_set_remote, store.h), which the session that opened the store
 * sets. Without one, such writes fail with EX_UNAVAILABLE. */
/* What the submitter returns when a tx was refused only because its
 * author's sequence number went to another tx meanwhile (a concurrent
 * writer): the build runs again (attempt + 1) and the new txs go, up to
 * MC_REMOTE_ATTEMPTS. */
#define MC_REMOTE_STALE 2
#define MC_REMOTE_ATTEMPTS 64

/* ---- block production on one node (a validator set of one) ---------- */

struct mc_builder;

/* Called inside the block's write transaction; adds txs with
 * mc_builder_add(). Must be re-runnable (the transaction may be retried
 * after the map grows). */
typedef int (*mc_build_fn)(struct mc_txn *t, struct mc_builder *b, void *ctx,
			   struct mc_err *err);

/* The chain id and next sequence number of an author, for building txs. */
const uint8_t *mc_builder_chain_id(const struct mc_builder *b);
uint64_t mc_builder_height(const struct mc_builder *b);
uint64_t mc_builder_time(const struct mc_builder *b);
/* The index the next added tx will have in the block. */
uint32_t mc_builder_tx_index(const struct mc_builder *b);
int mc_builder_next_seq(struct mc_txn *t, const uint8_t author[MC_PK_LEN], uint64_t *seq,
			struct mc_err *err);
/* Makes the author's next tx of `type` (sequence number and block time
 * filled in), signs it for this chain and adds it. attach may be NULL. */
int mc_builder_add_new(struct mc_txn *t, struct mc_builder *b, const struct mc_key *author,
		       unsigned type, const uint8_t *body, size_t body_len,
		       const uint8_t *attach, size_t attach_len, struct mc_err *err);
/* Applies an encoded, signed tx as the next tx of the block. */
int mc_builder_add(struct mc_txn *t, struct mc_builder *b, const uint8_t *enc, size_t n,
		   struct mc_err *err);

struct mc_produced {
	uint64_t height;
	uint8_t hash[MC_HASH_LEN];
	uint32_t tx_count;
};

/* One block: begins a write transaction, runs build, seals the block with
 * the node key's vote (quorum 1 of 1), appends it to the chain tree and
 * commits durably. A build that adds nothing commits nothing. When this
 * node is not the only validator, the built txs go to s's submitter
 * (mc_store_set_remote) instead. */
int mc_chain_produce(struct mc_store *s, const struct mc_key *node, mc_build_fn build,
		     void *ctx, struct mc_produced *out, struct mc_err *err);

/* One tx of `type` with `body`, signed by author, as one block. */
int mc_chain_submit(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		    unsigned type, const uint8_t *body, size_t body_len,
		    struct mc_produced *out, struct mc_err *err);

/* The genesis block: enrolls each identity (self-signed), sets the
 * validator set to {node} and writes the chain id. `extra` runs in the same
 * transaction (init stores the first sealed KEK there). */
struct mc_genesis_identity {
	const struct mc_key *key;
	uint32_t roles;
	const char *name;
	const char *org;
};
int mc_chain_genesis(struct mc_store *s, const struct mc_key *node,
		     const struct mc_genesis_identity *ids, size_t n,
		     mc_store_fn extra, void *extra_ctx, struct mc_produced *out,
		     struct mc_err *err);

#endif
