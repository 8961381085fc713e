/* SPDX-License-Identifier: Apache-2.0 */
/* blocks.h - blocks between nodes: checking and applying a block a peer
 * sent (its txs by the chain's rules, chain.h's mc_chain_apply_tx, with the
 * side rows replica.h carries), building the leader's block from pending
 * txs, and a genesis block received from another node. The consensus
 * engine (src/node) and `verify` call these; they sit above chain.c.
 */
#ifndef MC_BLOCKS_H
#define MC_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "err.h"
#include "replica.h"
#include "store.h"

#define MC_BLOCK_SKEW_MS 10000   /* a proposal's time may run this far ahead */

enum {
	MC_APPLY_COMMIT = 1 << 0,       /* check the certificate and store the block */
	MC_APPLY_SIGS_CHECKED = 1 << 1, /* the tx signatures were checked already */
	MC_APPLY_PROPOSAL = 1 << 2,     /* a proposal: its time must not run ahead */
};

/* Checks a block against the chain in t and applies it: height, previous
 * hash, chain id, time, validator-set hash, proposer and view (the leader
 * in force after the block's txs), every tx and side row by the chain's
 * rules, tx count and root; with MC_APPLY_COMMIT also the certificate
 * against the validator set in force, and stores it. EX_DATAERR (or
 * EX_NOPERM) naming what is wrong; the caller aborts the transaction. */
int mc_block_apply(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, uint64_t now_ms,
		   struct mc_err *err);
/* The checks of mc_block_apply that read no tx beyond a first VIEW_CHANGE
 * (chain, version, height and prev, time, validator set, the certificate
 * with MC_APPLY_COMMIT, the proposer): a caller runs them in a read txn
 * before it spends a signature check on each tx of a block a peer sent.
 * 0, or -1 with err set as mc_block_apply would. */
int mc_block_precheck(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, uint64_t now_ms,
		      struct mc_err *err);
/* mc_block_apply with sig_ok: NULL, or b->count flags, the caller's: a
 * nonzero flag says the caller itself verified that tx's author signature
 * under the block's chain id, so it is not verified again (what
 * MC_APPLY_SIGS_CHECKED says of every tx). A tx whose flag is 0 is
 * verified as mc_block_apply does. */
int mc_block_apply_sigs(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, const uint8_t *sig_ok,
			uint64_t now_ms, struct mc_err *err);

/* The leader's block: applies pending txs in order (a tx whose sequence
 * number is ahead of its author's next is deferred) and fills the header.
 * status[i]: MC_TXIN_PENDING on entry; MC_TXIN_IN, _DEFERRED or _REFUSED
 * on return. When a tx is refused the transaction holds half of it: the
 * function returns MC_BUILD_RETRY and the caller aborts and calls again
 * (refused txs are skipped). Returns 0 with *included txs in the header, or
 * -1. The caller commits this transaction only when the proposer alone is
 * the set in force (h->valset_hash), after storing the block with the
 * proposer's vote as its certificate (mc_chain_store_block). */
enum { MC_TXIN_PENDING, MC_TXIN_IN, MC_TXIN_DEFERRED, MC_TXIN_REFUSED };
#define MC_BUILD_RETRY 3
/* why->code is EX_TEMPFAIL when the tx was refused only because its
 * author's sequence number went to another tx (its author signs it again). */
typedef void (*mc_refused_fn)(size_t index, const struct mc_err *why, void *ctx);
int mc_block_build(struct mc_txn *t, const uint8_t proposer[MC_PK_LEN], const struct mc_txin *in,
		   size_t n, uint8_t *status, size_t max_txs, uint64_t now_ms, mc_refused_fn refused,
		   void *rctx, struct mc_header *h, struct mc_err *err);

/* Applies and stores a genesis block received from another node into an
 * empty store: its hash must be `expect` (the chain id the operator gave),
 * its certificate the proposer's own, its txs self-signed enrolments. */
int mc_block_apply_genesis(struct mc_txn *t, const struct mc_bundle *b,
			   const uint8_t expect[MC_HASH_LEN], struct mc_err *err);

#endif
