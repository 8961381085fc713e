/* SPDX-License-Identifier: Apache-2.0 */
/* rlp.h - Ethereum's Recursive Length Prefix encoding (the encoder the
 * transaction signer needs). Lists are built by encoding their items into a
 * buffer and wrapping it with mc_rlp_list(). */
#ifndef MC_RLP_H
#define MC_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* A byte string. */
void mc_rlp_bytes(struct mc_buf *b, const void *p, size_t n);
/* An unsigned integer: big-endian, no leading zeros, zero is empty. */
void mc_rlp_uint(struct mc_buf *b, uint64_t v);
/* A big-endian integer of n bytes (r, s), leading zeros stripped. */
void mc_rlp_uint_be(struct mc_buf *b, const uint8_t *p, size_t n);
/* The list whose encoded items are payload. */
void mc_rlp_list(struct mc_buf *b, const struct mc_buf *payload);

#endif
