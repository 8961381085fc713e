/* SPDX-License-Identifier: Apache-2.0 */
/* proof.h - a record's proof bundle: everything an outsider needs to check,
 * with no access to the private chain, that a record version is in a block
 * whose chain-tree root was anchored on a public chain. No payload, no raw
 * subject: the record's chain entry (pseudonymous), its paths and headers.
 *
 * The bundle is one line of canonical JSON (docs/proof-bundle.md lists every
 * field, its encoding and how to check it by hand). Parsing re-renders it
 * and requires the very same bytes, so any changed byte fails.
 *
 * Checks, each named in a failure (exit 65):
 *   format, entry, entry path, transaction, transaction signature,
 *   transaction path, block header, block certificate, chain tree path,
 *   then with a public chain: public chain id, public transaction,
 *   calldata, signer, finality.
 */
#ifndef MC_PROOF_H
#define MC_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "merkle.h"
#include "store.h"
#include "tx.h"

#define MC_PROOF_FORMAT "medchain-proof-1"
#define MC_PROOF_MAX (1u << 20)         /* bytes of a bundle file */
#define MC_PROOF_ENTRY_MAX 1024         /* bytes of an entry encoding */
#define MC_PROOF_TX_MAX (MC_TX_BODY_MAX + 256)

struct mc_proof {
	uint8_t chain_id[MC_HASH_LEN];          /* the private chain (genesis hash) */
	uint8_t record[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t entry[MC_PROOF_ENTRY_MAX];      /* the entry's encoding */
	size_t entry_len;
	uint32_t entry_index, entry_count;
	uint8_t entry_path[MC_MERKLE_MAX_PROOF][MC_HASH_LEN];
	size_t entry_path_len;
	uint8_t *tx;                            /* the signed tx, attachment empty */
	size_t tx_len;
	uint32_t tx_index, tx_count;
	uint8_t tx_path[MC_MERKLE_MAX_PROOF][MC_HASH_LEN];
	size_t tx_path_len;
	uint8_t header[MC_HEADER_LEN];
	uint8_t cert[2 + MC_MAX_VALIDATORS * (MC_PK_LEN + MC_SIG_LEN)];
	size_t cert_len;
	uint8_t validators[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nvalidators;
	uint64_t leaf_index, tree_size;
	uint8_t tree_path[MC_MERKLE_MAX_PROOF][MC_HASH_LEN];
	size_t tree_path_len;
	uint8_t root[MC_HASH_LEN];
	uint64_t public_chain_id;
	uint8_t anchor_tx[32];
	uint64_t anchor_block;
	uint8_t anchor_block_hash[32];
	uint8_t anchor_address[20];
};

/* New and freed bundles (tx buffer included). */
struct mc_proof *mc_proof_new(void);
void mc_proof_free(struct mc_proof *p);

/* The bundle for record id/version (0: the newest) from the node's store:
 * EX_NOINPUT for an unknown record, EX_TEMPFAIL while no confirmed anchor
 * covers its block. */
int mc_proof_build(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		   struct mc_proof *p, struct mc_err *err);

/* Canonical JSON, one line and a newline. */
void mc_proof_render(const struct mc_proof *p, struct mc_buf *out);
/* Parses a bundle; EX_DATAERR "format" unless it is exactly canonical. */
int mc_proof_parse(const char *text, size_t n, struct mc_proof *p, struct mc_err *err);

/* The offline checks (every step up to the chain tree root). */
int mc_proof_check(const struct mc_proof *p, struct mc_err *err);
/* The anchor payload the public transaction must carry. */
void mc_proof_payload(const struct mc_proof *p, uint8_t *out /* MC_ANCHOR_PAYLOAD_LEN */);

#endif
