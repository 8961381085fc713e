/* SPDX-License-Identifier: Apache-2.0 */
/* replica.h - what travels between nodes with a block: side rows and block
 * bundles.
 *
 * A tx's side rows are the stored data it commits to by hash but does not
 * carry: a RECORD_PUT's ciphertexts and wrapped data keys, a shared grant's
 * re-wrapped keys, the key-encryption keys they name. They are encoded
 * relative to the tx (entry indexes, not chain locations), so the same bytes
 * serve a client's submission, a proposal and a committed block:
 *
 *   sidecar = count u32 | count x row
 *   row     = kind u8 | fields
 *     1 payload     entry u32 | bytes (u32 length)      -> PAYLOADS at loc(h, i, entry)
 *     2 wrapped key entry u32 | bytes                   -> KEYWRAP at loc(h, i, entry) || custodian
 *     3 shared key  location (16) | org (32) | bytes    -> KEYWRAP at location || org
 *     4 KEK         org (32) | epoch u32 | bytes        -> KEKS at org || epoch
 *     5 partial     (none): some rows were erased after this tx (RECORD_ERASE);
 *                   a node catching up applies the tx without them
 *
 * A receiving node writes rows only where the tx commits to them (see
 * mc_side_write) and never over a different stored value; the apply rules
 * then check every hash (struct mc_apply_ctx.untrusted).
 *
 *   block bundle = header | certificate | count u32 | count x (tx bytes | sidecar bytes)
 *   tx bundle    = count u32 | count x (tx bytes | sidecar bytes)
 * (byte strings u32-length-prefixed). Decoders borrow from the input.
 */
#ifndef MC_REPLICA_H
#define MC_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chainstate.h"
#include "rectx.h"
#include "rules.h"
#include "codec.h"
#include "err.h"
#include "store.h"
#include "tx.h"

#define MC_SIDE_PAYLOAD 1
#define MC_SIDE_WRAPPED 2
#define MC_SIDE_SHARED 3
#define MC_SIDE_KEK 4
#define MC_SIDE_PARTIAL 5

#define MC_SIDE_MAX_ROWS (2u * 65536u + 4u)
#define MC_BUNDLE_MAX (256u * 1024 * 1024)   /* one block bundle, bytes */
#define MC_TXBUNDLE_MAX_TXS 100000u

/* One tx and its side rows (both borrowed). */
struct mc_txin {
	const uint8_t *tx;
	size_t tx_len;
	const uint8_t *side;
	size_t side_len;
};

struct mc_bundle {
	struct mc_header h;
	struct mc_cert cert;
	uint8_t hash[MC_HASH_LEN];
	struct mc_txin *txs;      /* malloc'd array; the bytes are borrowed */
	size_t count;
};

/* Collects the side rows of the stored tx at (height, index) from the store
 * into side (a sidecar encoding). Rows a RECORD_ERASE removed are replaced
 * by one "partial" row. */
int mc_side_collect(struct mc_txn *t, uint64_t height, uint32_t index, const struct mc_tx *tx,
		    struct mc_buf *side, struct mc_err *err);
/* Checks the sidecar's structure (limits, kinds, no trailing bytes). */
int mc_side_check(const uint8_t *p, size_t n, struct mc_err *err);
/* Writes the side rows of tx (about to be applied at (height, index)) into
 * the store, refusing any row the tx does not commit to and any row that
 * would replace a different stored value. *partial is set when the sender
 * marked rows as erased. */
int mc_side_write(struct mc_txn *t, uint64_t height, uint32_t index, const struct mc_tx *tx,
		  const uint8_t *p, size_t n, bool *partial, struct mc_err *err);

void mc_bundle_encode(const struct mc_header *h, const struct mc_cert *c,
		      const struct mc_txin *txs, size_t n, struct mc_buf *b);
/* Decodes one block bundle filling exactly n bytes. */
int mc_bundle_decode(const uint8_t *p, size_t n, struct mc_bundle *out, struct mc_err *err);
/* As mc_bundle_decode, from a reader holding several bundles back to back. */
int mc_bundle_read(struct mc_rd *r, struct mc_bundle *out, struct mc_err *err);
void mc_bundle_release(struct mc_bundle *b);

void mc_txbundle_encode(const struct mc_txin *txs, size_t n, struct mc_buf *b);
/* *txs is malloc'd (free it); the bytes are borrowed from p. */
int mc_txbundle_decode(const uint8_t *p, size_t n, struct mc_txin **txs, size_t *count,
		       struct mc_err *err);

/* The first count txs stored at height, with their side rows, as a tx
 * list (count u32 | count x (tx | sidecar)) appended to b: a tx bundle. */
int mc_txins_load(struct mc_txn *t, uint64_t height, uint32_t count, struct mc_buf *b,
		  struct mc_err *err);
/* The stored block at height as a bundle (header, certificate, txs and
 * their side rows), appended to b. */
int mc_bundle_load(struct mc_txn *t, uint64_t height, struct mc_buf *b, struct mc_err *err);


/* ---- evidence of equivocation ------------------------------------------ *
 * Two blocks one proposer signed at one height and view:
 *   evidence = header | certificate | header | certificate
 * each certificate the proposer's own vote alone (a proposal's). Anyone can
 * check it: it proves the proposer broke the one-block-a-height rule. */
void mc_evidence_encode(const struct mc_header *a, const struct mc_cert *ca, const struct mc_header *b,
			const struct mc_cert *cb, struct mc_buf *out);
/* 0 when p is evidence (fills a and b): both decode with nothing after,
 * one height, one view, one proposer whose valid signature each carries,
 * two different blocks. EX_DATAERR otherwise. */
int mc_evidence_check(const uint8_t *p, size_t n, struct mc_header *a, struct mc_header *b, struct mc_err *err)
	__attribute__((warn_unused_result));

/* Applying and building a block from these: blocks.h. */

#endif
