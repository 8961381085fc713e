/* SPDX-License-Identifier: Apache-2.0 */
/* chainstate.h - the chain's own state rows: the head, the chain id and the
 * store's format marker (meta), the stored blocks, the validator set in
 * force (meta "valset", "valset_epoch", "leader", "view" and VALSETS, which
 * valset.c's rules write), the committed anchors and the content height.
 *
 * Reads and plain writes only: no rule runs here. Every module of the core
 * that applies or reads the chain sits above this one.
 */
#ifndef MC_CHAINSTATE_H
#define MC_CHAINSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"

/* The meta keys of the validator set (valset.c writes them). */
#define MC_META_VALSET "valset"
#define MC_META_VALSET_EPOCH "valset_epoch"
#define MC_META_LEADER "leader"
#define MC_META_VIEW "view"

/* meta "head": height u64 | block hash | timestamp u64 */
struct mc_head {
	bool empty;                 /* no genesis yet */
	uint64_t height;
	uint8_t hash[MC_HASH_LEN];
	uint64_t timestamp_ms;
	uint8_t chain_id[MC_HASH_LEN];
};

int mc_chain_head(struct mc_txn *t, struct mc_head *head, struct mc_err *err);
/* The store's format marker is the one this build writes; EX_DATAERR if not. */
int mc_chain_format_check(struct mc_txn *t, struct mc_err *err);

/* Payloads and wrapped keys are stored under their record version's place
 * in the chain, so bulk writes append: location = height u64 || tx index
 * u32 || entry index u32 (wrapped keys add the org key). */
#define MC_LOC_LEN 16
void mc_loc_key(uint8_t out[MC_LOC_LEN], uint64_t height, uint32_t tx_index, uint32_t entry_index);

/* The validator set in force (meta "valset", sorted keys). */
int mc_chain_validators(struct mc_txn *t, uint8_t (*out)[MC_PK_LEN], size_t *n,
			struct mc_err *err);
/* The current leader and view (meta "leader" and "view"; a store older than
 * them: the first validator, view 0). */
int mc_chain_leader(struct mc_txn *t, uint8_t leader[MC_PK_LEN], uint64_t *view,
		    struct mc_err *err);
/* Set changes so far (meta "valset_epoch"; 0 when absent). */
int mc_chain_valset_epoch(struct mc_txn *t, uint64_t *epoch, struct mc_err *err);
/* The validator set in force at block `height` (sorted keys; out has room
 * for MC_MAX_VALIDATORS): the VALSETS row with the greatest key <= height,
 * or meta "valset" in a store older than VALSETS. */
int mc_chain_validators_at(struct mc_txn *t, uint64_t height, uint8_t (*out)[MC_PK_LEN],
			   size_t *n, struct mc_err *err);

/* Stores a block whose txs are applied: the block row (header and
 * certificate), its chain tree leaf and the new head. */
int mc_chain_store_block(struct mc_txn *t, const struct mc_header *h, const struct mc_cert *c,
			 const uint8_t hash[MC_HASH_LEN], struct mc_err *err);

/* A genesis block received from another node: the store's format marker,
 * and the chain id (the genesis block's hash) once the block is stored. */
int mc_chain_mark_format(struct mc_txn *t, struct mc_err *err);
int mc_chain_set_id(struct mc_txn *t, const uint8_t id[MC_HASH_LEN], struct mc_err *err);
/* The head as mc_chain_store_block stores it (verify's replay writes the
 * metadata a node writes, so that the two compare key for key). */
int mc_chain_set_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN], uint64_t ts,
		      struct mc_err *err);

/* The first height whose block time is >= ms (block times never go back);
 * head + 1 when none is. O(log n) block reads. */
int mc_chain_height_at(struct mc_txn *t, uint64_t ms, uint64_t *height, struct mc_err *err);

/* Loads block `height`: header and certificate. */
int mc_chain_block(struct mc_txn *t, uint64_t height, struct mc_header *h, struct mc_cert *c,
		   struct mc_err *err);

/* The height of the last block holding a tx other than ANCHOR_COMMIT (a
 * block of anchor commits alone calls for no new anchor): 0 or MC_NOTFOUND. */
int mc_chain_content_height(struct mc_txn *t, uint64_t *height, struct mc_err *err);
/* Records height as the content height (mc_chain_apply_tx, for every tx
 * but an ANCHOR_COMMIT). */
int mc_chain_set_content_height(struct mc_txn *t, uint64_t height, struct mc_err *err);

/* A committed anchor: where its ANCHOR_COMMIT is and what it says. */
struct mc_anchored {
	uint64_t height;
	uint32_t tx_index;
	struct mc_anchor_commit a;
};
/* The first committed anchor whose tree size is >= size_at_least
 * (UINT64_MAX: the last one): 0, MC_NOTFOUND or -1. */
int mc_chain_anchored(struct mc_txn *t, uint64_t size_at_least, struct mc_anchored *out,
		      struct mc_err *err);

/* The current time in ms (CLOCK_REALTIME). */
uint64_t mc_now_ms(void);

#endif
