/* SPDX-License-Identifier: Apache-2.0 */
/* anchorrun.h - one headless anchoring run (medchain anchor).
 *
 * Resumes the journaled anchor if one is pending (rebroadcasting the very
 * same signed bytes, bumping the fee at the same nonce when it waits too
 * long, noticing a drop or a reorg), records it on the private chain with an
 * ANCHOR_COMMIT once final, then plans, journals (durably) and broadcasts a
 * new anchor when blocks other than anchor commits arrived since the last
 * one. With a wait, it polls until that anchor is confirmed.
 *
 * The caller holds the anchor lock and has verified the local chain.
 */
#ifndef MC_ANCHORRUN_H
#define MC_ANCHORRUN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "journal.h"
#include "keystore.h"
#include "store.h"

struct mc_anchor_opts {
	const char *rpc_url;
	uint64_t chain_id;            /* [anchor] chain_id: required, never the node's */
	uint32_t confirmations;       /* depth when the node has no "finalized" block */
	uint64_t max_fee_wei;         /* cap on maxFeePerGas (gas price for legacy) */
	uint32_t bump_after_s;        /* replace a tx unmined this long, same nonce */
	uint32_t min_interval_s;      /* no new anchor sooner after the last one */
	long wait_ms;                 /* < 0: do not wait for confirmation */
	long poll_ms;                 /* between polls while waiting */
	long nonce_recheck_ms;        /* pause before reading a nonce jump again */
	bool dry_run;
	const struct mc_key *anchor_key;   /* secp256k1 (raw) */
	const struct mc_key *node_key;     /* signs ANCHOR_COMMIT */
	const char *datadir;          /* records the balance seen (anchorwatch.h); NULL: not */
	/* Test hook (docs/decisions.md): kill the process right after the
	 * journal write, before the broadcast. */
	bool crash_after_journal;
	/* Progress messages for the operator (may be NULL). */
	void (*note)(const char *msg, void *ctx);
	void *note_ctx;
};

enum mc_anchor_outcome {
	MC_ANCHOR_NOTHING_NEW,
	MC_ANCHOR_NOT_DUE,            /* min_interval has not passed */
	MC_ANCHOR_PLANNED_DRY,        /* --dry-run: what would be sent */
	MC_ANCHOR_SENT,               /* a new anchor is on its way */
	MC_ANCHOR_PENDING,            /* still waiting for the public chain */
	MC_ANCHOR_DONE,               /* confirmed and committed */
};

struct mc_anchor_result {
	enum mc_anchor_outcome outcome;
	bool have;                    /* entry is set */
	struct mc_anchor_entry entry; /* the anchor this run acted on last */
	uint64_t depth;               /* confirmations seen (pending) */
	uint64_t final_block;         /* the node's finalized block, if any */
	bool resumed;                 /* a journaled anchor was confirmed this run */
	uint64_t resumed_seq;
};

/* A node's next nonce more than this above the journal's is read again
 * before it is believed (docs/decisions.md). */
#define MC_ANCHOR_NONCE_JUMP 8

/* 0 with res filled (the exit code is the caller's), or -1 with err set:
 * EX_UNAVAILABLE (unreachable, nothing pending), EX_TEMPFAIL (unreachable
 * or fee cap while an anchor is pending, or the wait ran out), EX_CONFIG
 * (wrong chain id, unfunded key), EX_PROTOCOL, EX_DATAERR. */
int mc_anchor_run(struct mc_store *s, const struct mc_anchor_opts *o, struct mc_anchor_result *res,
		  struct mc_err *err);

/* Gas a plain call with this calldata uses (EIP-2028 and the EIP-7623
 * floor): the gas limit of an anchor. */
uint64_t mc_anchor_intrinsic_gas(const uint8_t *data, size_t n);

#endif
