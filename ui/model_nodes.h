/* model_nodes.h - the Nodes screen's data: the validator set in force on
 * the chain, each validator's enrolled name and organization, and which is
 * this node. Live peer status (height, lag, last seen) comes with the
 * Nodes issue's peer API; until then the screen says "not configured". */
#ifndef MC_MODEL_NODES_H
#define MC_MODEL_NODES_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "err.h"
#include "identity.h"
#include "store.h"

struct mc_node_row {
	uint8_t pk[MC_PK_LEN];
	char name[MC_NAME_MAX + 1];
	char org[MC_NAME_MAX + 1];
	uint64_t enrolled;
	bool revoked;
	bool self;
	bool validator;
};

struct mc_nodes {
	unsigned n;
	struct mc_node_row rows[MC_MAX_VALIDATORS];
	uint64_t height;
};

/* self: this node's key (keys/node.key). */
int mc_nodes_load(struct mc_store *s, const uint8_t self[MC_PK_LEN], struct mc_nodes *out,
		  struct mc_err *err);

#endif
