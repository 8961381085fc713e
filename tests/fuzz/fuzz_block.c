/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: block headers and quorum certificates. */
#include "config.h"

#include <string.h>

#include "block.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_rd r;
	struct mc_header h;
	struct mc_cert c;
	uint8_t hash[MC_HASH_LEN], vals[2][MC_PK_LEN] = { { 1 }, { 2 } };

	mc_rd_init(&r, data, size);
	if (mc_header_decode(&r, &h, NULL) != 0)
		return 0;
	mc_block_hash(&h, hash);
	if (mc_cert_decode(&r, &c, NULL) != 0)
		return 0;
	if (mc_cert_check(&c, hash, (const uint8_t (*)[MC_PK_LEN])vals, 2, NULL) == 0)
		hash[0] ^= 1;
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	struct mc_header h;
	struct mc_cert c;
	uint8_t seed[32] = { 3 }, pk[32], sk[64], hash[32];

	if (k > 0)
		return false;
	memset(&h, 0, sizeof(h));
	h.version = MC_BLOCK_VERSION;
	h.height = 9;
	h.tx_count = 2;
	mc_block_hash(&h, hash);
	mc_sign_seed_keypair(seed, pk, sk);
	memset(&c, 0, sizeof(c));
	c.count = 1;
	mc_vote_sign(hash, sk, pk, &c.votes[0]);
	mc_header_encode(&h, out);
	mc_cert_encode(&c, out);
	return true;
}
