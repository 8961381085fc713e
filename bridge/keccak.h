/* SPDX-License-Identifier: Apache-2.0 */
/* keccak.h - Ethereum's keccak-256 (the original Keccak padding 0x01..0x80,
 * rate 136 bytes; not SHA3-256), on nettle's Keccak-f[1600] permutation. */
#ifndef MC_KECCAK_H
#define MC_KECCAK_H

#include <stddef.h>
#include <stdint.h>

void mc_keccak256(const void *p, size_t n, uint8_t out[32]);

#endif
