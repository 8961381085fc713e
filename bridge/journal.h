/* SPDX-License-Identifier: Apache-2.0 */
/* journal.h - the anchor journal: one row per anchor in this node's LMDB
 * (MC_DB_JOURNAL, key seq u64), rewritten at each step of its state
 * machine and committed durably BEFORE the step's side effect (a signed
 * transaction is journaled before it is broadcast).
 *
 *   planned    the tx is signed and journaled; it may or may not have
 *              reached the public chain
 *   broadcast  a node accepted it (or already knew it)
 *   mined      a receipt names its block
 *   confirmed  its block is final (the node's "finalized" block, else the
 *              configured depth) and the ANCHOR_COMMIT that records it is
 *              on the private chain, in the same LMDB transaction
 *   superseded another transaction took its nonce; a later anchor covers
 *              its blocks
 *
 * Encoding (docs/formats.md): version u8 (1) | state u8 | tree size u64 |
 * root (32) | public chain id u64 | address (20) | nonce u64 | created u64 |
 * legacy u8 | gas limit u64 | previous anchor size u64 | consistency proof
 * (count u8, count x 32) | mined block u64 | mined block hash (32) | mined
 * tx hash (32) | commit height u64 | attempts (count u8, each: max fee u64 |
 * tip u64 | time u64 | tx hash (32) | raw (u32 length + bytes)).
 *
 * One more row, under the one-byte key 0x00 (it sorts before every seq and
 * is skipped by mc_journal_each): the operator's nonce floor reset
 * (`medchain anchor reset-nonce`), local state like the rest of the
 * journal: version u8 (1) | after seq u64 | public chain id u64 |
 * address (20) | next nonce u64 | time u64. It applies to the anchor
 * planned right after anchor `after seq` by that key on that chain: that
 * anchor's nonce floor is `next nonce` instead of the last nonce + 1.
 */
#ifndef MC_JOURNAL_H
#define MC_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "merkle.h"
#include "store.h"

enum mc_anchor_state {
	MC_ANCHOR_PLANNED = 1,
	MC_ANCHOR_BROADCAST = 2,
	MC_ANCHOR_MINED = 3,
	MC_ANCHOR_CONFIRMED = 4,
	MC_ANCHOR_SUPERSEDED = 5,
};
/* Machine name ("planned"); never translated. */
const char *mc_anchor_state_name(unsigned state);

#define MC_ANCHOR_ATTEMPTS_MAX 16
#define MC_ANCHOR_RAW_MAX 512

struct mc_anchor_attempt {
	uint64_t max_fee;            /* wei per gas; the gas price for legacy */
	uint64_t tip;
	uint64_t time_ms;            /* when it was journaled */
	uint8_t hash[32];
	uint8_t raw[MC_ANCHOR_RAW_MAX];
	size_t raw_len;
};

struct mc_anchor_entry {
	uint64_t seq;                /* the key */
	uint8_t state;
	uint64_t tree_size;
	uint8_t root[MC_HASH_LEN];
	uint64_t public_chain_id;
	uint8_t address[20];
	uint64_t nonce;
	uint64_t created_ms;
	bool legacy;
	uint64_t gas_limit;
	uint64_t prev_size;          /* the last confirmed anchor's; 0 for none */
	uint8_t proof[MC_MERKLE_MAX_PROOF][MC_HASH_LEN];
	size_t proof_len;            /* consistency proof prev_size -> tree_size */
	uint64_t mined_block;
	uint8_t mined_block_hash[32];
	uint8_t mined_tx[32];
	uint64_t commit_height;
	unsigned nattempts;
	struct mc_anchor_attempt attempts[MC_ANCHOR_ATTEMPTS_MAX];
};

void mc_journal_encode(const struct mc_anchor_entry *e, struct mc_buf *b);
/* EX_DATAERR on any malformation (fuzzed). */
int mc_journal_decode(const uint8_t *p, size_t n, struct mc_anchor_entry *e, struct mc_err *err);

/* Writes e under e->seq in t. */
int mc_journal_put(struct mc_txn *t, const struct mc_anchor_entry *e, struct mc_err *err);
/* The entry with key seq: 0, MC_NOTFOUND or -1. */
int mc_journal_get(struct mc_txn *t, uint64_t seq, struct mc_anchor_entry *e, struct mc_err *err);
/* Each entry, oldest or newest first; fn returns 0 to go on, 1 to stop, -1
 * on error (err set). e is valid during the call only. */
typedef int (*mc_journal_fn)(struct mc_txn *t, const struct mc_anchor_entry *e, void *ctx,
			     struct mc_err *err);
int mc_journal_each(struct mc_txn *t, bool newest_first, mc_journal_fn fn, void *ctx, struct mc_err *err);
/* The newest entry: 0, MC_NOTFOUND or -1. */
int mc_journal_last(struct mc_txn *t, struct mc_anchor_entry *e, struct mc_err *err);

struct mc_nonce_reset {
	uint64_t after_seq;          /* the journal's last seq when it was made */
	uint64_t public_chain_id;
	uint8_t address[20];
	uint64_t next_nonce;         /* the floor for the anchor after after_seq */
	uint64_t time_ms;
};
/* Writes (replaces) the reset row. */
int mc_journal_reset_put(struct mc_txn *t, const struct mc_nonce_reset *r, struct mc_err *err);
/* The reset row: 0, MC_NOTFOUND or -1 (EX_DATAERR when malformed). */
int mc_journal_reset_get(struct mc_txn *t, struct mc_nonce_reset *r, struct mc_err *err);

/* What serve's /metrics shows of the journal, kept between calls and
 * brought up to date by reading only the rows it has not yet counted for
 * good: a confirmed or superseded row never changes again, so every row
 * up to final_seq (all final) is read once. Gas: an anchor is a plain
 * transaction to the key's own address with no value and no contract, so
 * it spends exactly its gas limit (the intrinsic gas); a confirmed row's
 * gas limit is gas spent. Start from a zeroed struct. */
struct mc_journal_summary {
	uint64_t final_seq;          /* rows up to it are final and counted */
	uint64_t final_gas;          /* gas of the confirmed rows up to it */
	uint64_t gas;                /* final_gas + confirmed rows after it */
	uint64_t final_rows;         /* rows up to final_seq */
	uint64_t rows;               /* anchors in the journal */
	unsigned last_state;         /* the newest row's state; 0: none */
};
int mc_journal_summarise(struct mc_txn *t, struct mc_journal_summary *s, struct mc_err *err);

/* The consistency proof stored with e, checked from the committed anchor
 * of its previous size: 1 holds, 0 nothing to check (the first anchor), -1
 * fails, -2 error (err set). */
int mc_journal_consistency(struct mc_txn *t, const struct mc_anchor_entry *e, struct mc_err *err);

#endif
