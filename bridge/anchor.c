/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <secp256k1.h>
#include <string.h>

#include "anchor.h"
#include "codec.h"
#include "crypto.h"
#include "ethtx.h"
#include "i18n.h"

static const uint8_t magic[4] = { 'M', 'D', 'C', '1' };

void mc_anchor_payload(const uint8_t chain_id[32], uint64_t size, const uint8_t root[32],
		       uint8_t out[MC_ANCHOR_PAYLOAD_LEN])
{
	memcpy(out, magic, 4);
	out[4] = 1;
	memcpy(out + 5, chain_id, 32);
	mc_be64(out + 37, size);
	memcpy(out + 45, root, 32);
}

int mc_anchor_payload_parse(const uint8_t *p, size_t n, uint8_t chain_id[32], uint64_t *size,
			    uint8_t root[32], struct mc_err *err)
{
	if (n != MC_ANCHOR_PAYLOAD_LEN || memcmp(p, magic, 4) != 0 || p[4] != 1)
		return mc_err_set(err, EX_DATAERR, _("not a medchain anchor payload"));
	memcpy(chain_id, p + 5, 32);
	*size = mc_from_be64(p + 37);
	memcpy(root, p + 45, 32);
	if (*size == 0)
		return mc_err_set(err, EX_DATAERR, _("an anchor of an empty chain"));
	return 0;
}

int mc_anchor_keygen(struct mc_key **out, uint8_t addr[20], struct mc_err *err)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	struct mc_key *k = mc_secure_alloc(sizeof(*k));
	int ok = 0;

	*out = NULL;
	if (!ctx || !k) {
		if (ctx)
			secp256k1_context_destroy(ctx);
		mc_secure_free(k);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	/* a uniformly random 32-byte string is a valid key but for ~2^-128 */
	for (int i = 0; i < 16 && !ok; i++) {
		mc_random(k->sk, 32);
		ok = secp256k1_ec_seckey_verify(ctx, k->sk);
	}
	secp256k1_context_destroy(ctx);
	if (!ok || mc_eth_address(k->sk, addr, err) != 0) {
		mc_secure_free(k);
		return ok ? -1 : mc_err_set(err, EX_SOFTWARE, _("cannot draw a secp256k1 key"));
	}
	memset(k->pk, 0, MC_PK_LEN);
	memcpy(k->pk, addr, 20);
	k->raw = true;
	*out = k;
	return 0;
}

int mc_anchor_key_address(const struct mc_key *k, uint8_t addr[20], struct mc_err *err)
{
	static const uint8_t zeros[MC_PK_LEN - 20];

	if (!k->raw)
		return mc_err_set(err, EX_CONFIG, _("that key file holds an identity, not an anchor key"));
	if (mc_eth_address(k->sk, addr, err) != 0)
		return -1;
	if (memcmp(k->pk, addr, 20) != 0 || memcmp(k->pk + 20, zeros, sizeof(zeros)) != 0)
		return mc_err_set(err, EX_DATAERR, _("the anchor key file is damaged: its address does not match"));
	return 0;
}
