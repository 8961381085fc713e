/* SPDX-License-Identifier: Apache-2.0 */
/* ethtx.h - Ethereum transactions for anchoring: EIP-1559 (type 2) and
 * legacy EIP-155, signed with libsecp256k1's recoverable ECDSA (RFC 6979
 * nonces, low s). Amounts in wei fit 64 bits for every fee medchain pays. */
#ifndef MC_ETHTX_H
#define MC_ETHTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

struct mc_eth_tx {
	bool legacy;                 /* EIP-155 instead of EIP-1559 */
	uint64_t chain_id;
	uint64_t nonce;
	uint64_t max_priority_fee;   /* wei per gas (type 2) */
	uint64_t max_fee;            /* wei per gas (type 2) */
	uint64_t gas_price;          /* wei per gas (legacy) */
	uint64_t gas_limit;
	uint8_t to[20];
	uint64_t value;              /* wei */
	const uint8_t *data;
	size_t data_len;
};

/* The bytes that are hashed for signing, and their keccak-256. */
void mc_eth_unsigned(const struct mc_eth_tx *tx, struct mc_buf *out);
void mc_eth_signing_hash(const struct mc_eth_tx *tx, uint8_t hash[32]);

/* Signs with a 32-byte secp256k1 secret key: the raw transaction for
 * eth_sendRawTransaction, and its hash. The key should be in guarded memory. */
int mc_eth_sign(const struct mc_eth_tx *tx, const uint8_t seckey[32], struct mc_buf *raw,
		uint8_t txhash[32], struct mc_err *err) __attribute__((warn_unused_result));

/* The raw signed transaction (recid 0 or 1; r and s big-endian) as
 * eth_sendRawTransaction takes it; its keccak-256 is the tx hash. */
void mc_eth_encode_signed(const struct mc_eth_tx *tx, int recid, const uint8_t r[32],
			  const uint8_t s[32], struct mc_buf *raw);

/* The address that signed tx with (recid, r, s): recovered from the
 * signature over its signing hash. EX_DATAERR when the signature is
 * malformed or recovers no key. */
int mc_eth_recover(const struct mc_eth_tx *tx, int recid, const uint8_t r[32], const uint8_t s[32],
		   uint8_t addr[20], struct mc_err *err) __attribute__((warn_unused_result));

/* The address of a secret key: the last 20 bytes of keccak-256 of the
 * uncompressed public key without its 0x04 prefix. */
int mc_eth_address(const uint8_t seckey[32], uint8_t addr[20], struct mc_err *err)
	__attribute__((warn_unused_result));

#endif
