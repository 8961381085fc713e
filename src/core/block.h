/* SPDX-License-Identifier: Apache-2.0 */
/* block.h - block headers and quorum certificates.
 *
 * header = version u8 | chain id (32) | height u64 | prev (32) |
 *          timestamp_ms u64 | proposer (32) | tx root (32) | tx count u32 |
 *          validator-set hash (32) | view u64
 * block hash = SHA-256("medchain/block/v1" || header)
 * certificate = count u16 | count x (validator pk (32) | signature (64)),
 *          each an Ed25519 signature over "medchain/vote/v1" || block hash,
 *          validators in ascending key order, no duplicates.
 * The genesis block has height 0, a zero prev and a zero chain id; the
 * chain id of every later block is the genesis block's hash.
 */
#ifndef MC_BLOCK_H
#define MC_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"

/* Version 3 (this build's): blocks whose records follow the custody rules
 * against insiders; version 2: blocks whose consent grants follow the
 * authorship rules (docs/formats.md). Version 1 and 2 blocks of older
 * chains are still read and replayed under the rules of their time; a
 * chain's block versions never go down. */
#define MC_BLOCK_VERSION 4
#define MC_BLOCK_VERSION_MIN 1
#define MC_HEADER_LEN (1 + 32 + 8 + 32 + 8 + 32 + 32 + 4 + 32 + 8)
#define MC_MAX_VALIDATORS 64
#define MC_BLOCK_MAX_TXS 1000000u

struct mc_header {
	uint8_t version;
	uint8_t chain_id[MC_HASH_LEN];
	uint64_t height;
	uint8_t prev[MC_HASH_LEN];
	uint64_t timestamp_ms;
	uint8_t proposer[MC_PK_LEN];
	uint8_t tx_root[MC_HASH_LEN];
	uint32_t tx_count;
	uint8_t valset_hash[MC_HASH_LEN];
	uint64_t view;
};

struct mc_vote {
	uint8_t pk[MC_PK_LEN];
	uint8_t sig[MC_SIG_LEN];
};

struct mc_cert {
	uint16_t count;
	struct mc_vote votes[MC_MAX_VALIDATORS];
};

void mc_header_encode(const struct mc_header *h, struct mc_buf *b);
int mc_header_decode(struct mc_rd *r, struct mc_header *h, struct mc_err *err);
void mc_block_hash(const struct mc_header *h, uint8_t out[MC_HASH_LEN]);

void mc_cert_encode(const struct mc_cert *c, struct mc_buf *b);
int mc_cert_decode(struct mc_rd *r, struct mc_cert *c, struct mc_err *err);
void mc_vote_sign(const uint8_t block_hash[MC_HASH_LEN], const uint8_t sk[MC_SK_LEN],
		  const uint8_t pk[MC_PK_LEN], struct mc_vote *v);
/* The message a validator signs: "medchain/vote/v1" || block hash. */
#define MC_VOTE_MSG_LEN (16 + MC_HASH_LEN)
void mc_vote_message(const uint8_t block_hash[MC_HASH_LEN], uint8_t out[MC_VOTE_MSG_LEN]);
/* The smallest count that is more than two thirds of n validators:
 * floor(2n/3) + 1 (1 of 1, 2 of 2, 3 of 3, 3 of 4). Certificates,
 * validator-set approvals and view changes all need it. */
size_t mc_quorum(size_t n);
/* The certificate's structure without its signatures: votes in key order,
 * no repeats, all from the validator set, more than two thirds of it. */
int mc_cert_check_quorum(const struct mc_cert *c, const uint8_t (*validators)[MC_PK_LEN],
			 size_t nval, struct mc_err *err) __attribute__((warn_unused_result));
/* Checks every vote against the validator set (sorted pks) and that more
 * than two thirds of it signed. 0 when the certificate holds. */
int mc_cert_check(const struct mc_cert *c, const uint8_t block_hash[MC_HASH_LEN],
		  const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
	__attribute__((warn_unused_result));
/* The header's valset_hash is valset.h's mc_valset_hash. */

#endif
