/* SPDX-License-Identifier: Apache-2.0 */
/* rules.h - what every transaction family's rule shares: where and how a
 * tx is applied (struct mc_apply_ctx), the shape of a rule
 * (mc_tx_apply_fn), the refusals, the author check, the block versions
 * that switched rules on, and the audit index a rule writes.
 *
 * The rules themselves live with their family (idtx, rectx, consent,
 * valset, orgrot, anchortx, alerttx); chain.c's dispatcher calls them from
 * tx.h's MC_TX_TYPES. This module calls only the identity rows below it.
 */
#ifndef MC_RULES_H
#define MC_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "store.h"
#include "tx.h"

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

/* The rule of one transaction type (its apply in tx.h's MC_TX_TYPES):
 * checks the decoded tx against the state in t and writes the state rows
 * it derives. */
typedef int (*mc_tx_apply_fn)(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			      struct mc_err *err);

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

/* Blocks from version 2 on follow the consent authorship and custodian
 * rules; a version 1 block (an older chain's) is replayed as it was. */
bool mc_rules_consent_v2(const struct mc_apply_ctx *ax);
/* Blocks from version 3 on follow the custody rules against insiders: a
 * RECORD_PUT's custodian is its author's organization (an author of no
 * organization stores nothing), and only that organization's staff amend
 * or erase its records. Older blocks replay as they were. */
bool mc_rules_insider_v3(const struct mc_apply_ctx *ax);
/* Blocks from version 4 on follow the succession rules: a duplicate key
 * stored under an organization's earlier key (before an ORG_ROTATE) is in
 * use for its successor too, and a NODE_ADD's new identity takes a display
 * name as an IDENTITY_ENROLL does (mc_rules_name_free). Older blocks replay
 * as they were. */
bool mc_rules_succession_v4(const struct mc_apply_ctx *ax);
/* An IDENTITY_ENROLL's rule for a new display name (after genesis, from
 * block version 3): it prints as itself (mc_name_plain) and no active
 * identity holds it; else a refusal (EX_DATAERR) naming the holder by key
 * prefix only. 0 or -1. */
int mc_rules_name_free(struct mc_txn *t, const struct mc_apply_ctx *ax, const void *name, size_t len,
		       struct mc_err *err);

/* Audit index entries: where, what, and the outcome of an ACCESS. */
struct mc_audit_ref {
	uint64_t height;
	uint32_t tx_index;
	uint8_t type;
	uint8_t outcome;   /* 0 for events other than ACCESS */
};
/* Indexes tx on the audit trail: by its subject (when not NULL), by its
 * author, in chain order (audit_chain) and, for an ACCESS, by its outcome
 * (0: none). A store older than audit_chain gets it whole in the first
 * call (in the caller's write transaction: a crash leaves no index or a
 * whole one) unless the engine gave it at its start
 * (mc_rules_audit_chain_ensure). */
int mc_rules_audit_index(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			 const uint8_t *subject, uint8_t outcome, struct mc_err *err);
/* 1 when audit_chain is built (its marker row is there) and in step with
 * audit_actor (one row each, the marker besides: it names every audited
 * tx), 0 when not (a store older than it, or written since by an older
 * build: read audit_actor), -1. */
int mc_rules_audit_chain_built(struct mc_txn *t, struct mc_err *err);
/* Builds audit_chain in a store older than it that holds audited txs, in
 * a write transaction of its own that commits (nothing when it is built or
 * there is no audited tx): called by the engine before its first round, so
 * that no transaction aborted by design (a proposal's build or check) pays
 * for the build. 0 when there was nothing to build, 1 when it was built
 * now, -1. */
int mc_rules_audit_chain_ensure(struct mc_store *s, struct mc_err *err);

#endif
