/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: an ORG_ROTATE as the chain reads it, body and attachment.
 * Input: body length u16 | body | attachment. The body decoder, the
 * attachment's items (length, order), the keks hash and the digest both
 * keys sign; a seed's signatures verify, a mutation's must not. */
#include "config.h"

#include <string.h>

#include "crypto.h"
#include "fuzz.h"
#include "orgrot.h"

static const uint8_t chain[MC_HASH_LEN] = { 0x42 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_org_rotate r;
	const uint8_t *items;
	uint8_t h[MC_HASH_LEN];
	size_t blen;

	fuzz_init();
	if (size < 2)
		return 0;
	blen = (size_t)data[0] << 8 | data[1];
	if (blen > size - 2)
		return 0;
	if (mc_org_rotate_decode(data + 2, blen, &r, NULL) != 0)
		return 0;
	if (r.count > MC_ORGROT_MAX || memcmp(r.old_pk, r.new_pk, MC_PK_LEN) == 0)
		__builtin_trap();   /* the decoder let through what it must refuse */
	if (mc_org_rotate_items(data + 2 + blen, size - 2 - blen, r.count, &items, NULL) != 0)
		return 0;
	if ((size_t)r.count * MC_ORGROT_ITEM_LEN != size - 2 - blen)
		__builtin_trap();
	for (uint32_t i = 1; i < r.count; i++)
		if (memcmp(items + (size_t)(i - 1) * MC_ORGROT_ITEM_LEN, items + (size_t)i * MC_ORGROT_ITEM_LEN,
			   MC_PK_LEN + 4) >= 0)
			__builtin_trap();
	mc_org_rotate_keks_hash(items, r.count, h);
	if (memcmp(h, r.keks_hash, MC_HASH_LEN) != 0)
		return 0;
	mc_org_rotate_digest(chain, &r, h);
	if (mc_sign_verify(r.old_pk, h, MC_HASH_LEN, r.old_sig) == 0 &&
	    mc_sign_verify(r.new_pk, h, MC_HASH_LEN, r.new_sig) == 0)
		h[0] ^= 1;
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	uint8_t s1[32] = { 1 }, s2[32] = { 2 }, opk[32], osk[64], npk[32], nsk[64], d[MC_HASH_LEN];
	uint8_t items[3 * MC_ORGROT_ITEM_LEN];
	struct mc_org_rotate r;
	struct mc_buf body;
	uint32_t n = (uint32_t)k;

	if (k > 3)
		return false;
	mc_sign_seed_keypair(s1, opk, osk);
	mc_sign_seed_keypair(s2, npk, nsk);
	memset(items, 0, sizeof(items));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *it = items + (size_t)i * MC_ORGROT_ITEM_LEN;

		memcpy(it, opk, MC_PK_LEN);   /* the old key's epochs 0..n-1 */
		mc_be32(it + MC_PK_LEN, i);
		memset(it + MC_PK_LEN + 4, 0x30 + (int)i, MC_ORGROT_SEALED_LEN);
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, opk, MC_PK_LEN);
	memcpy(r.new_pk, npk, MC_PK_LEN);
	r.count = n;
	mc_org_rotate_keks_hash(items, n, r.keks_hash);
	mc_org_rotate_digest(chain, &r, d);
	mc_sign(osk, d, sizeof(d), r.old_sig);
	mc_sign(nsk, d, sizeof(d), r.new_sig);
	mc_buf_init(&body);
	mc_org_rotate_encode(&r, &body);
	mc_put_u16(out, (uint16_t)body.len);
	mc_put_raw(out, body.data, body.len);
	mc_put_raw(out, items, (size_t)n * MC_ORGROT_ITEM_LEN);
	mc_buf_release(&body);
	return true;
}
