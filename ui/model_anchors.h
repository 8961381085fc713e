/* SPDX-License-Identifier: Apache-2.0 */
/* model_anchors.h - the Anchors screen's data: this node's anchor journal,
 * newest first (state, tree size, nonce, public tx and block, attempts),
 * with each confirmed anchor's consistency proof checked from the one
 * before, and the last committed anchor on the chain. */
#ifndef MC_MODEL_ANCHORS_H
#define MC_MODEL_ANCHORS_H

#include <stdbool.h>
#include <stdint.h>

#include "chain.h"
#include "err.h"
#include "store.h"

#define MC_ANCHOR_ROWS_MAX 256

struct mc_anchor_row {
	uint64_t seq;
	char state[16];
	uint64_t tree_size;
	uint8_t root[MC_HASH_LEN];
	uint64_t public_chain_id;
	uint64_t nonce;
	uint8_t tx[32];                      /* the mined tx, else the newest attempt */
	uint64_t block;                      /* public block (0 until mined) */
	unsigned attempts;
	uint64_t created_ms;
	uint64_t commit_height;
	int consistency;                     /* 1 ok, 0 none (first), -1 fails */
};

struct mc_anchor_rows {
	unsigned n;
	uint64_t total;
	uint64_t chain_height;
	bool anchored;
	struct mc_anchored last;
	struct mc_anchor_row rows[MC_ANCHOR_ROWS_MAX];
};

int mc_anchor_rows_load(struct mc_store *s, struct mc_anchor_rows *out, struct mc_err *err);

#endif
