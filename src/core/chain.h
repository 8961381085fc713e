/* SPDX-License-Identifier: Apache-2.0 */
/* chain.h - applying transactions and blocks to the chain state, and
 * producing blocks on a node.
 *
 * All state (identities, sequence numbers, record versions, the subject
 * index, the tx index and the chain tree) is derived from the blocks by
 * mc_chain_apply_tx(), the single set of rules used both when a node makes a
 * block and when `verify` replays the chain into a scratch store.
 */
#ifndef MC_CHAIN_H
#define MC_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "store.h"
#include "tx.h"

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

/* Record state row (MC_DB_RECORDS, key id || version), small so that
 * random-key inserts touch few pages:
 *   height u64 | tx index u32 | entry index u32 | offset of the entry in
 *   the tx's attachment u32 | erased height u64 (0: live) | entry leaf (32)
 * The entry itself is read from the tx. */
struct mc_record_state {
	uint64_t height;
	uint32_t tx_index;
	uint32_t entry_index;
	uint32_t offset;
	uint64_t erased;            /* height of the RECORD_ERASE, 0 while live */
	uint8_t leaf[MC_HASH_LEN];
	struct mc_entry entry;      /* borrows from the tx row: valid until the
				     * next write or the end of the txn */
};
/* The newest version of a record: 0, MC_NOTFOUND or -1. */
int mc_record_latest(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
		     struct mc_record_state *rs, struct mc_err *err);
int mc_record_version(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		      struct mc_record_state *rs, struct mc_err *err);

/* Payloads and wrapped keys are stored under their record version's place
 * in the chain, so bulk writes append: location = height u64 || tx index
 * u32 || entry index u32 (wrapped keys add the org key). */
#define MC_LOC_LEN 16
void mc_loc_key(uint8_t out[MC_LOC_LEN], uint64_t height, uint32_t tx_index, uint32_t entry_index);

/* Grant state row (MC_DB_GRANTS, key grant id):
 *   granted height u64 | granted at u64 (block time) | revoked height u64 |
 *   revoked at u64 (MC_TIME_OPEN while active) | grantor pk (32) | grant body */
struct mc_grant_state {
	uint64_t height, granted_at, revoked_height, revoked_at;
	uint8_t grantor[MC_PK_LEN];
	const uint8_t *body;         /* borrowed from the row */
	size_t body_len;
};
int mc_grant_state_get(struct mc_txn *t, const uint8_t id[16], struct mc_grant_state *gs,
		       struct mc_err *err);
#define MC_GRANTS_PER_PAIR_MAX 256

/* Key rotation row (MC_DB_ROTATIONS, key the new pk): what IDENTITY_ROTATE
 * left behind, for the alerts (a lost-key rotation), the enroller of a
 * rotated identity and a record's author reading it back with a new key.
 *   old pk (32) | kind u8 | height u64 | tx index u32 | author pk (32) */
struct mc_rotation {
	uint8_t new_pk[MC_PK_LEN];
	uint8_t old_pk[MC_PK_LEN];
	uint8_t kind;                /* enum mc_rotate_kind */
	uint64_t height;
	uint32_t tx_index;
	uint8_t author[MC_PK_LEN];   /* the admin who submitted it */
};
#define MC_ROTATION_ROW_LEN (MC_PK_LEN + 1 + 8 + 4 + MC_PK_LEN)
int mc_rotation_decode(const uint8_t new_pk[MC_PK_LEN], const void *p, size_t n, struct mc_rotation *r,
		       struct mc_err *err);
/* The rotation that made new_pk: 0, MC_NOTFOUND or -1. */
int mc_rotation_get(struct mc_txn *t, const uint8_t new_pk[MC_PK_LEN], struct mc_rotation *r,
		    struct mc_err *err);
/* How many rotations a key's line may hold (a bound for walking it back). */
#define MC_ROTATIONS_MAX 64
/* One person's keys: pk, then the key its identity was rotated from, and
 * so on back (at most MC_ROTATIONS_MAX + 1 keys; a longer line is cut). */
struct mc_key_line {
	uint8_t pk[MC_ROTATIONS_MAX + 1][MC_PK_LEN];
	size_t n;
};
int mc_key_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_key_line *l, struct mc_err *err);
bool mc_key_line_has(const struct mc_key_line *l, const uint8_t pk[MC_PK_LEN]);

/* Audit index entries: where, what, and the outcome of an ACCESS. */
struct mc_audit_ref {
	uint64_t height;
	uint32_t tx_index;
	uint8_t type;
	uint8_t outcome;   /* 0 for events other than ACCESS */
};

/* Where and how a tx is applied. */
struct mc_apply_ctx {
	uint64_t height;
	uint32_t tx_index;
	uint64_t block_time_ms;
	uint8_t chain_id[MC_HASH_LEN];  /* zeros at genesis */
	bool replay;                    /* verify's scratch replay: the store holds
					 * no payloads, wrapped keys or KEKs */
	bool sig_checked;               /* signature already verified by the caller */
	bool untrusted;                 /* side rows came from another node: check
					 * every payload, wrapped key and KEK hash */
	bool partial;                   /* the sender left out side rows that a later
					 * RECORD_ERASE removed: apply without them */
	uint8_t block_version;          /* the block's header version; 0: a block
					 * this build makes (MC_BLOCK_VERSION) */
	struct mc_txn *blocks;          /* where earlier blocks are (verify: the
					 * real store); NULL: the txn applied to */
};

/* A rule's refusal: EX_DATAERR (mc_refuse_perm: EX_NOPERM) naming the
 * block, the tx and the rule; mc_refuse_body prefixes a body decoder's
 * message. All return -1. */
int mc_refuse(struct mc_err *err, const struct mc_apply_ctx *ax, const char *why);
int mc_refuse_body(struct mc_err *err, const struct mc_apply_ctx *ax);
int mc_refuse_perm(struct mc_err *err, const struct mc_apply_ctx *ax, const char *why);
/* The author pk is an enrolled, unrevoked identity holding one of the
 * roles need_any (0: any role); else a refusal (EX_NOPERM). */
int mc_author_active(struct mc_txn *t, const struct mc_apply_ctx *ax, const uint8_t pk[MC_PK_LEN],
		     uint32_t need_any, struct mc_err *err);

/* Checks one decoded tx against the rules and the state in t, and applies it
 * (state rows, the tx row and the tx index). EX_DATAERR naming the rule on
 * refusal; the caller aborts the write transaction. */
int mc_chain_apply_tx(struct mc_txn *t, const struct mc_apply_ctx *ax,
		      const struct mc_tx *tx, const uint8_t *enc, size_t enc_len,
		      struct mc_err *err);
/* The rule of one transaction type (its apply in tx.h's MC_TX_TYPES); NULL
 * for a number no type has. */
typedef int (*mc_tx_apply_fn)(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			      struct mc_err *err);
mc_tx_apply_fn mc_chain_tx_apply_fn(unsigned type);

/* The grants a subject gave one grantee, as mc_consent_check() wants them.
 * views: room for max. Borrowed from the store: valid until the next write. */
struct mc_grant_view;
struct mc_decision;
int mc_consent_load(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN],
		    const uint8_t grantee[MC_PK_LEN], struct mc_grant_view *views, size_t max,
		    size_t *n, struct mc_err *err);
/* The decision for actor reading record/version for purpose at time_ms,
 * from the chain state in t (also gives the record's subject). */
int mc_access_decide(struct mc_txn *t, const uint8_t actor[MC_PK_LEN],
		     const uint8_t record[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
		     bool break_glass, uint64_t time_ms, uint8_t subject_out[MC_HASH_LEN],
		     struct mc_decision *d, struct mc_err *err);

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

/* The validator set in force (meta "valset", sorted keys). */
int mc_chain_validators(struct mc_txn *t, uint8_t (*out)[MC_PK_LEN], size_t *n,
			struct mc_err *err);

/* Stores a block whose txs are applied: the block row (header and
 * certificate), its chain tree leaf and the new head. */
int mc_chain_store_block(struct mc_txn *t, const struct mc_header *h, const struct mc_cert *c,
			 const uint8_t hash[MC_HASH_LEN], struct mc_err *err);

/* A genesis block received from another node: the store's format marker,
 * and the chain id (the genesis block's hash) once the block is stored. */
int mc_chain_mark_format(struct mc_txn *t, struct mc_err *err);
int mc_chain_set_id(struct mc_txn *t, const uint8_t id[MC_HASH_LEN], struct mc_err *err);
/* The head as put_head stores it (verify's replay writes the metadata a
 * node writes, so that the two compare key for key). */
int mc_chain_set_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN], uint64_t ts,
		      struct mc_err *err);

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

/* The first height whose block time is >= ms (block times never go back);
 * head + 1 when none is. O(log n) block reads. */
int mc_chain_height_at(struct mc_txn *t, uint64_t ms, uint64_t *height, struct mc_err *err);

/* Loads block `height`: header and certificate. */
int mc_chain_block(struct mc_txn *t, uint64_t height, struct mc_header *h, struct mc_cert *c,
		   struct mc_err *err);

/* The height of the last block holding a tx other than ANCHOR_COMMIT (a
 * block of anchor commits alone calls for no new anchor): 0 or MC_NOTFOUND. */
int mc_chain_content_height(struct mc_txn *t, uint64_t *height, struct mc_err *err);

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
