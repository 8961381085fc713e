/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <nettle/sha3.h>
#include <string.h>

#include "keccak.h"

#define RATE 136

static void absorb(struct sha3_state *st, const uint8_t *block)
{
	for (unsigned i = 0; i < RATE / 8; i++) {
		uint64_t w = 0;

		for (unsigned b = 0; b < 8; b++)
			w |= (uint64_t)block[8 * i + b] << (8 * b);   /* little-endian lanes */
		st->a[i] ^= w;
	}
	nettle_sha3_permute(st);
}

void mc_keccak256(const void *p, size_t n, uint8_t out[32])
{
	const uint8_t *in = p;
	struct sha3_state st;
	uint8_t last[RATE];

	memset(&st, 0, sizeof(st));
	while (n >= RATE) {
		absorb(&st, in);
		in += RATE;
		n -= RATE;
	}
	memset(last, 0, sizeof(last));
	if (n)
		memcpy(last, in, n);
	last[n] |= 0x01;          /* Keccak padding, not SHA-3's 0x06 */
	last[RATE - 1] |= 0x80;
	absorb(&st, last);
	for (unsigned i = 0; i < 32; i++)
		out[i] = (uint8_t)(st.a[i / 8] >> (8 * (i % 8)));
}
