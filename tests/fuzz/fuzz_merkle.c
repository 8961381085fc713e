/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: Merkle proof verification with hostile sizes and paths. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_rd r;
	uint64_t a, b;
	uint8_t leaf[32], root[32], root2[32];
	size_t len;

	mc_rd_init(&r, data, size);
	a = mc_get_u64(&r);
	b = mc_get_u64(&r);
	mc_get_raw(&r, leaf, 32);
	mc_get_raw(&r, root, 32);
	mc_get_raw(&r, root2, 32);
	if (!mc_rd_ok(&r))
		return 0;
	len = r.left / 32;
	if (mc_merkle_verify_inclusion(leaf, a, b, (const uint8_t (*)[32])r.p, len, root) == 0)
		leaf[0] ^= 1;
	if (mc_merkle_verify_consistency(a, b, root, root2, (const uint8_t (*)[32])r.p, len) == 0)
		root[0] ^= 1;
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	uint8_t leaves[8][32], p[MC_MERKLE_MAX_PROOF][32], root[32], root1[32];
	size_t len;

	if (k > 1)
		return false;
	for (int i = 0; i < 8; i++)
		mc_merkle_leaf_hash(&i, sizeof(i), leaves[i]);
	mc_merkle_root((const uint8_t (*)[32])leaves, 7, root);
	mc_merkle_root((const uint8_t (*)[32])leaves, 3, root1);
	if (k == 0) {
		if (mc_merkle_inclusion((const uint8_t (*)[32])leaves, 7, 5, p, &len) != 0)
			return false;
		mc_put_u64(out, 5);
		mc_put_u64(out, 7);
		mc_put_raw(out, leaves[5], 32);
		mc_put_raw(out, root, 32);
		mc_put_raw(out, root, 32);
	} else {
		if (mc_merkle_consistency((const uint8_t (*)[32])leaves, 3, 7, p, &len) != 0)
			return false;
		mc_put_u64(out, 3);
		mc_put_u64(out, 7);
		mc_put_raw(out, leaves[0], 32);
		mc_put_raw(out, root1, 32);
		mc_put_raw(out, root, 32);
	}
	mc_put_raw(out, p, len * 32);
	return true;
}
