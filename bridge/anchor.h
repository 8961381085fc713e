/* SPDX-License-Identifier: Apache-2.0 */
/* anchor.h - what goes on the public chain, and the key that pays for it.
 *
 * Payload (calldata of one plain transaction, 77 bytes):
 *   magic "MDC1" | version u8 (1) | chain id (32) | chain tree size u64 |
 *   chain tree root (32)
 * The anchor key is a secp256k1 secret kept in a key file like the others
 * (a raw secret: keystore flag bit 1) whose public id is the Ethereum
 * address, left-aligned in 32 bytes. */
#ifndef MC_ANCHOR_H
#define MC_ANCHOR_H

#include <stdint.h>

#include "err.h"
#include "keystore.h"

#define MC_ANCHOR_PAYLOAD_LEN (4 + 1 + 32 + 8 + 32)

void mc_anchor_payload(const uint8_t chain_id[32], uint64_t size, const uint8_t root[32],
		       uint8_t out[MC_ANCHOR_PAYLOAD_LEN]);
/* EX_DATAERR unless p is exactly one payload of this version. */
int mc_anchor_payload_parse(const uint8_t *p, size_t n, uint8_t chain_id[32], uint64_t *size,
			    uint8_t root[32], struct mc_err *err);

/* A new anchor key (guarded memory) and its address. */
int mc_anchor_keygen(struct mc_key **out, uint8_t addr[20], struct mc_err *err);
/* Checks a loaded anchor key against the address its file records. */
int mc_anchor_key_address(const struct mc_key *k, uint8_t addr[20], struct mc_err *err);

#endif
