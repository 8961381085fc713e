/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <string.h>

#include "crypto.h"
#include "ethtx.h"
#include "i18n.h"
#include "keccak.h"
#include "rlp.h"

/* The fields every form starts with, in the order of its form. */
static void fields(const struct mc_eth_tx *tx, struct mc_buf *p)
{
	if (!tx->legacy) {
		mc_rlp_uint(p, tx->chain_id);
		mc_rlp_uint(p, tx->nonce);
		mc_rlp_uint(p, tx->max_priority_fee);
		mc_rlp_uint(p, tx->max_fee);
	} else {
		mc_rlp_uint(p, tx->nonce);
		mc_rlp_uint(p, tx->gas_price);
	}
	mc_rlp_uint(p, tx->gas_limit);
	mc_rlp_bytes(p, tx->to, sizeof(tx->to));
	mc_rlp_uint(p, tx->value);
	mc_rlp_bytes(p, tx->data, tx->data_len);
	if (!tx->legacy) {
		struct mc_buf empty;

		mc_buf_init(&empty);
		mc_rlp_list(p, &empty);   /* accessList: [] */
	}
}

void mc_eth_unsigned(const struct mc_eth_tx *tx, struct mc_buf *out)
{
	struct mc_buf p;

	mc_buf_init(&p);
	fields(tx, &p);
	if (tx->legacy) {
		mc_rlp_uint(&p, tx->chain_id);   /* EIP-155: chainId, 0, 0 */
		mc_rlp_uint(&p, 0);
		mc_rlp_uint(&p, 0);
	} else {
		mc_put_u8(out, 0x02);            /* EIP-2718 type, outside the RLP */
	}
	mc_rlp_list(out, &p);
	mc_buf_release(&p);
}

void mc_eth_signing_hash(const struct mc_eth_tx *tx, uint8_t hash[32])
{
	struct mc_buf u;

	mc_buf_init(&u);
	mc_eth_unsigned(tx, &u);
	mc_keccak256(u.data, u.len, hash);
	mc_buf_release(&u);
}

void mc_eth_encode_signed(const struct mc_eth_tx *tx, int recid, const uint8_t r[32],
			  const uint8_t s[32], struct mc_buf *raw)
{
	struct mc_buf p;

	mc_buf_init(&p);
	fields(tx, &p);
	if (tx->legacy)
		mc_rlp_uint(&p, (uint64_t)recid + 35 + 2 * tx->chain_id);
	else
		mc_rlp_uint(&p, (uint64_t)recid);
	mc_rlp_uint_be(&p, r, 32);
	mc_rlp_uint_be(&p, s, 32);
	mc_buf_reset(raw);
	if (!tx->legacy)
		mc_put_u8(raw, 0x02);
	mc_rlp_list(raw, &p);
	mc_buf_release(&p);
}

int mc_eth_recover(const struct mc_eth_tx *tx, int recid, const uint8_t r[32], const uint8_t s[32],
		   uint8_t addr[20], struct mc_err *err)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	secp256k1_ecdsa_recoverable_signature sig;
	secp256k1_pubkey pub;
	uint8_t hash[32], rs[64], ser[65], h[32];
	size_t len = sizeof(ser);
	int ok;

	if (!ctx)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(rs, r, 32);
	memcpy(rs + 32, s, 32);
	mc_eth_signing_hash(tx, hash);
	ok = (recid == 0 || recid == 1) &&
	     secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, rs, recid) &&
	     secp256k1_ecdsa_recover(ctx, &pub, &sig, hash) &&
	     secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED) && len == 65;
	secp256k1_context_destroy(ctx);
	if (!ok)
		return mc_err_set(err, EX_DATAERR, _("the transaction's signature recovers no key"));
	mc_keccak256(ser + 1, 64, h);
	memcpy(addr, h + 12, 20);
	return 0;
}

int mc_eth_sign(const struct mc_eth_tx *tx, const uint8_t seckey[32], struct mc_buf *raw,
		uint8_t txhash[32], struct mc_err *err)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	secp256k1_ecdsa_recoverable_signature sig;
	uint8_t hash[32], rs[64];
	int recid = 0;

	if (!ctx)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_eth_signing_hash(tx, hash);
	if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash, seckey, NULL, NULL)) {
		secp256k1_context_destroy(ctx);
		return mc_err_set(err, EX_DATAERR, _("the anchor key is not a valid secp256k1 key"));
	}
	secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, rs, &recid, &sig);
	secp256k1_context_destroy(ctx);
	mc_eth_encode_signed(tx, recid, rs, rs + 32, raw);
	mc_wipe(rs, sizeof(rs));
	if (mc_buf_failed(raw))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_keccak256(raw->data, raw->len, txhash);
	return 0;
}

int mc_eth_address(const uint8_t seckey[32], uint8_t addr[20], struct mc_err *err)
{
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	secp256k1_pubkey pub;
	uint8_t ser[65], h[32];
	size_t len = sizeof(ser);
	int ok;

	if (!ctx)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	ok = secp256k1_ec_pubkey_create(ctx, &pub, seckey) &&
	     secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pub, SECP256K1_EC_UNCOMPRESSED);
	secp256k1_context_destroy(ctx);
	if (!ok || len != 65)
		return mc_err_set(err, EX_DATAERR, _("the anchor key is not a valid secp256k1 key"));
	mc_keccak256(ser + 1, 64, h);
	memcpy(addr, h + 12, 20);
	return 0;
}
