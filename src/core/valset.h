/* SPDX-License-Identifier: Apache-2.0 */
/* valset.h - the validator set on chain: NODE_ADD, NODE_REMOVE and
 * VIEW_CHANGE, their bodies, approvals and votes, the rules that apply them,
 * and the state they derive (see docs/formats.md).
 *
 * Bodies (u16 lengths and counts, big-endian):
 *   approvals   = count u16 (1..MC_MAX_VALIDATORS) |
 *                 count x (validator pk (32) | signature (64)), keys ascending
 *   NODE_ADD    = pk (32) | name (u16 len, 1..MC_NAME_MAX, clean UTF-8) |
 *                 url (u16 len, 1..MC_URL_MAX, http:// or https://, printable
 *                 ASCII without spaces) | valset epoch u64 | approvals
 *   NODE_REMOVE = pk (32) | valset epoch u64 | approvals
 *   NODE_ROTATE = old pk (32) | new pk (32) | valset epoch u64 |
 *                 new key's signature (64) | approvals
 *   VIEW_CHANGE = view u64 | leader pk (32) | count u16 (1..MC_MAX_VALIDATORS) |
 *                 count x (validator pk (32) | locked height u64 |
 *                 locked view u64 | locked block hash (32) | signature (64)),
 *                 keys ascending
 * An approval is an Ed25519 signature over mc_node_change_digest(); a
 * view-change vote one over mc_view_change_digest().
 *
 * Derived state (rebuilt and compared by `verify`):
 *   meta "valset" (sorted keys), "valset_epoch" u64 (absent: 0; +1 on every
 *   set change), "leader" (32) and "view" u64 (absent in stores older than
 *   them: the first validator and view 0);
 *   MC_DB_NODES   pk -> added height u64 | removed height u64 (0 while in
 *                 the set) | url;
 *   MC_DB_VALSETS first height u64 the set applies to -> sorted keys. A set
 *                 change in block h takes effect from block h + 1.
 *
 * Decoded structs borrow from the input buffer: keep it alive.
 */
#ifndef MC_VALSET_H
#define MC_VALSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chainstate.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "rules.h"
#include "store.h"
#include "tx.h"

#define MC_URL_MAX 256

enum mc_node_op {
	MC_NODE_OP_ADD = 1,
	MC_NODE_OP_REMOVE = 2,
	MC_NODE_OP_PROMOTE = 3,   /* a promote token (cmd_node.c), never a tx */
	MC_NODE_OP_ROTATE = 4,    /* a NODE_ROTATE token */
};

/* ---- approvals of a set change ---------------------------------------- */

struct mc_approval {
	uint8_t pk[MC_PK_LEN];
	uint8_t sig[MC_SIG_LEN];
};

struct mc_approvals {
	uint16_t count;
	struct mc_approval a[MC_MAX_VALIDATORS];
};

/* The 32-byte message a validator signs to consent to a set change:
 * SHA-256("medchain/node-change/v1" || chain id || op u8 || pk ||
 * SHA-256(name) || SHA-256(url) || valset epoch u64). A removal hashes an
 * empty name and url. */
void mc_node_change_digest(const uint8_t chain_id[MC_HASH_LEN], unsigned op,
			   const uint8_t pk[MC_PK_LEN], const uint8_t *name, size_t name_len,
			   const uint8_t *url, size_t url_len, uint64_t epoch,
			   uint8_t out[MC_HASH_LEN]);
void mc_approval_sign(const uint8_t digest[MC_HASH_LEN], const uint8_t sk[MC_SK_LEN],
		      const uint8_t pk[MC_PK_LEN], struct mc_approval *a);
/* 0 when a->sig is a->pk's signature over digest. */
int mc_approval_verify(const uint8_t digest[MC_HASH_LEN], const struct mc_approval *a)
	__attribute__((warn_unused_result));
/* Inserts a in key order (a validator approving twice replaces its first
 * approval). EX_DATAERR when the list is full. */
int mc_approvals_add(struct mc_approvals *ap, const struct mc_approval *a, struct mc_err *err);
/* Every approval from the validator set (sorted keys), in key order, its
 * signature valid over digest, and at least mc_quorum(nval) of them.
 * EX_DATAERR naming what fails. */
int mc_approvals_check(const struct mc_approvals *ap, const uint8_t digest[MC_HASH_LEN],
		       const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
	__attribute__((warn_unused_result));

/* ---- bodies ------------------------------------------------------------ */

struct mc_node_add {
	uint8_t pk[MC_PK_LEN];
	const uint8_t *name; size_t name_len;   /* borrowed */
	const uint8_t *url; size_t url_len;     /* borrowed */
	uint64_t epoch;
	struct mc_approvals approvals;
};
void mc_node_add_encode(const struct mc_node_add *a, struct mc_buf *b);
int mc_node_add_decode(const uint8_t *p, size_t n, struct mc_node_add *a, struct mc_err *err);
/* An http:// or https:// URL of 1..MC_URL_MAX printable ASCII bytes, no spaces. */
bool mc_node_url_valid(const uint8_t *url, size_t n);

struct mc_node_remove {
	uint8_t pk[MC_PK_LEN];
	uint64_t epoch;
	struct mc_approvals approvals;
};
void mc_node_remove_encode(const struct mc_node_remove *r, struct mc_buf *b);
int mc_node_remove_decode(const uint8_t *p, size_t n, struct mc_node_remove *r,
			  struct mc_err *err);

/* A validator's new key in place of its old one, in one set change: the
 * new key's holder agreed (new_sig: the new key's signature over
 * mc_node_rotate_digest()) and a quorum of the set approved (approvals
 * over the same digest). */
struct mc_node_rotate {
	uint8_t old_pk[MC_PK_LEN];
	uint8_t new_pk[MC_PK_LEN];
	uint64_t epoch;
	uint8_t new_sig[MC_SIG_LEN];
	struct mc_approvals approvals;
};
/* SHA-256("medchain/node-rotate/v1" || chain id || old pk || new pk ||
 * valset epoch u64). */
void mc_node_rotate_digest(const uint8_t chain_id[MC_HASH_LEN], const uint8_t old_pk[MC_PK_LEN],
			   const uint8_t new_pk[MC_PK_LEN], uint64_t epoch, uint8_t out[MC_HASH_LEN]);
void mc_node_rotate_encode(const struct mc_node_rotate *r, struct mc_buf *b);
/* EX_DATAERR on a short or long body, equal keys, or approvals that are
 * not 1..MC_MAX_VALIDATORS in ascending key order. (Signatures are the
 * rule's: mc_valset_apply_node_rotate.) */
int mc_node_rotate_decode(const uint8_t *p, size_t n, struct mc_node_rotate *r,
			  struct mc_err *err);

/* One validator's view-change vote: its highest lock (height 0, view 0 and
 * a zero hash when it holds none) and its signature. */
struct mc_vc_vote {
	uint8_t pk[MC_PK_LEN];
	uint64_t locked_height;
	uint64_t locked_view;
	uint8_t locked_hash[MC_HASH_LEN];
	uint8_t sig[MC_SIG_LEN];
};

struct mc_view_change {
	uint64_t view;
	uint8_t leader[MC_PK_LEN];
	uint16_t count;
	struct mc_vc_vote votes[MC_MAX_VALIDATORS];
};
void mc_view_change_encode(const struct mc_view_change *v, struct mc_buf *b);
int mc_view_change_decode(const uint8_t *p, size_t n, struct mc_view_change *v,
			  struct mc_err *err);

/* SHA-256("medchain/view-change/v1" || chain id || view u64 || leader ||
 * locked height u64 || locked view u64 || locked hash). */
void mc_view_change_digest(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
			   const uint8_t leader[MC_PK_LEN], uint64_t locked_height,
			   uint64_t locked_view, const uint8_t locked_hash[MC_HASH_LEN],
			   uint8_t out[MC_HASH_LEN]);
/* Fills v->pk with pk and v->sig with the signature over v's lock (set by
 * the caller) for this view and leader. */
void mc_vc_vote_sign(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
		     const uint8_t leader[MC_PK_LEN], const uint8_t sk[MC_SK_LEN],
		     const uint8_t pk[MC_PK_LEN], struct mc_vc_vote *v);
int mc_vc_vote_verify(const uint8_t chain_id[MC_HASH_LEN], uint64_t view,
		      const uint8_t leader[MC_PK_LEN], const struct mc_vc_vote *v)
	__attribute__((warn_unused_result));
/* The leader is in the validator set (sorted keys); every vote is from it,
 * in key order, with a valid signature, and at least mc_quorum(nval) voted.
 * EX_DATAERR naming what fails. (Whether the view is higher than the
 * current one is the caller's: see mc_chain_leader().) */
int mc_view_change_check(const struct mc_view_change *v, const uint8_t chain_id[MC_HASH_LEN],
			 const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
	__attribute__((warn_unused_result));

/* ---- promotions the operators approve --------------------------------- *
 * `node promote KEY` on a live leader needs a quorum of the validators'
 * operators: each signs SHA-256("medchain/promote/v1" || chain id ||
 * from view u64 || leader), valid while the chain is in from_view.
 *   promote = from view u64 | leader (32) | approvals */
struct mc_promote {
	uint64_t from_view;
	uint8_t leader[MC_PK_LEN];
	struct mc_approvals approvals;
};
void mc_promote_digest(const uint8_t chain_id[MC_HASH_LEN], uint64_t from_view, const uint8_t leader[MC_PK_LEN],
		       uint8_t out[MC_HASH_LEN]);
void mc_promote_encode(const struct mc_promote *p, struct mc_buf *b);
int mc_promote_decode(const uint8_t *p, size_t n, struct mc_promote *out, struct mc_err *err);

/* How far above the next view a validator votes (failed attempts use view
 * numbers up; a vote further ahead is refused, so a view cannot be pushed
 * towards its end). */
#define MC_VIEW_AHEAD_MAX 4

/* ---- rules (called by mc_chain_apply_tx) -------------------------------- */

int mc_valset_apply_node_add(struct mc_txn *t, const struct mc_apply_ctx *ax,
			     const struct mc_tx *tx, struct mc_err *err);
int mc_valset_apply_node_remove(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err);
/* NODE_ROTATE: the author is a validator; the epoch is the current one;
 * the old key is a validator; the new key was never a validator nor an
 * identity; the new key's signature and a quorum's approvals hold. The
 * new key then takes the old one's place in the set from the next block
 * (VALSETS), its NODES row (the old one's address), a node identity of
 * the old one's name and organization, and the leadership when the old
 * key led (the rotating block itself is the old key's: see
 * mc_block_apply); the old key's row is marked removed and its identity
 * revoked, in this block. */
int mc_valset_apply_node_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err);
int mc_valset_apply_view_change(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err);
/* The genesis state: {node} as the validator set (meta "valset" and
 * VALSETS[0]), its NODES row (no url), node as leader in view 0. */
int mc_valset_genesis(struct mc_txn *t, const uint8_t node[MC_PK_LEN], struct mc_err *err);

/* ---- derived state ------------------------------------------------------ */

/* SHA-256 over the sorted validator keys (a block header's valset_hash). */
void mc_valset_hash(const uint8_t (*validators)[MC_PK_LEN], size_t n, uint8_t out[MC_HASH_LEN]);

/* The leader, view, epoch and set in force are read with chainstate.h's
 * mc_chain_leader, mc_chain_valset_epoch and mc_chain_validators_at. */

/* Every node that ever was a validator, in key order. url is NUL-terminated
 * and valid during the call; removed is 0 while the node is in the set. fn
 * returns 0 to go on; anything else stops the walk and is returned. */
typedef int (*mc_node_visit_fn)(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed,
				const char *url, void *ctx);
int mc_nodes_each(struct mc_txn *t, mc_node_visit_fn fn, void *ctx, struct mc_err *err);

#endif
