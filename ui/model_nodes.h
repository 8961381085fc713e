/* SPDX-License-Identifier: Apache-2.0 */
/* model_nodes.h - the Nodes screen's data (no curses): the validator set in
 * force on the chain, joined with the live status `medchain serve` writes
 * to <datadir>/serve.status.json about once a second. The same facts as
 * `medchain node list`: each validator's state, height, lag behind this
 * node, last seen, version, and which is the leader and which this node.
 *
 * A peer entry of the status file belongs to a validator by its "node" key,
 * or, while the peer's key is not known yet, by its URL. A status file that
 * is missing, unreadable, malformed, or written more than
 * MC_NODES_FRESH_MS before now says nothing live: every state is
 * MC_NODE_UNKNOWN and live is false ("serve not running"). */
#ifndef MC_MODEL_NODES_H
#define MC_MODEL_NODES_H

#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "err.h"
#include "store.h"
#include "tx.h"
#include "valset.h"

#define MC_NODES_FRESH_MS 5000

enum mc_node_state {
	MC_NODE_UNKNOWN,              /* no fresh status file */
	MC_NODE_UP,
	MC_NODE_DOWN,                 /* serve runs but does not reach it */
};

struct mc_node_row {
	uint8_t pk[MC_PK_LEN];
	char name[MC_NAME_MAX + 1];   /* the peer's own [node] name, else its enrolled name */
	char org[MC_NAME_MAX + 1];    /* its enrolled organization ("" when none) */
	char url[MC_URL_MAX + 1];     /* from its NODE_ADD ("" for the genesis node) */
	uint64_t added;               /* the height of its NODE_ADD (0: genesis) */
	bool self;                    /* this node */
	bool leader;                  /* the leader of the current view, on chain */
	enum mc_node_state state;
	bool listed;                  /* live, and serve has a peer entry for it
				       * (false: not among its [node] peers) */
	bool has_height;              /* height and lag known */
	uint64_t height;
	int64_t lag;                  /* this node's head height minus height */
	bool seen;                    /* seen_age_ms known */
	uint64_t seen_age_ms;         /* now minus when serve last heard from it */
	char version[32];             /* "" when unknown */
	char error[160];              /* serve's last error reaching it, "" when none */
};

struct mc_nodes {
	unsigned n;                   /* rows in key order */
	struct mc_node_row rows[MC_MAX_VALIDATORS];
	uint64_t height;              /* this node's head */
	uint64_t view;                /* the current view, on chain */
	bool live;                    /* a fresh status file: serve is running */
	unsigned up;                  /* rows in state MC_NODE_UP */
};

/* The validator set in force (store), joined with the status file at
 * status_path (may be NULL: no live status) as of now_ms (wall clock, ms).
 * self: this node's key; self_name: its [node] name (may be NULL or "").
 * An unusable status file is not an error: see above. */
int mc_nodes_load(struct mc_store *s, const uint8_t self[MC_PK_LEN], const char *self_name,
		  const char *status_path, uint64_t now_ms, struct mc_nodes *out, struct mc_err *err);

/* The join alone: fills the live fields of n's rows (pk, url, self and
 * n->height set by the caller; name may be preset and is replaced by a
 * non-empty name from the status file) from the status file at path, and
 * sets n->live and n->up. Reads nothing else; never fails. */
void mc_nodes_join_status(struct mc_nodes *n, const char *path, uint64_t now_ms);

/* The machine name of a state ("up", "down", "unknown"), as `node list`
 * prints it. */
const char *mc_node_state_name(enum mc_node_state st);

#endif
