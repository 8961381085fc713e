/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "block.h"
#include "i18n.h"

static const char block_domain[] = "medchain/block/v1";
static const char vote_domain[] = "medchain/vote/v1";

void mc_header_encode(const struct mc_header *h, struct mc_buf *b)
{
	mc_put_u8(b, h->version);
	mc_put_raw(b, h->chain_id, MC_HASH_LEN);
	mc_put_u64(b, h->height);
	mc_put_raw(b, h->prev, MC_HASH_LEN);
	mc_put_u64(b, h->timestamp_ms);
	mc_put_raw(b, h->proposer, MC_PK_LEN);
	mc_put_raw(b, h->tx_root, MC_HASH_LEN);
	mc_put_u32(b, h->tx_count);
	mc_put_raw(b, h->valset_hash, MC_HASH_LEN);
	mc_put_u64(b, h->view);
}

int mc_header_decode(struct mc_rd *r, struct mc_header *h, struct mc_err *err)
{
	memset(h, 0, sizeof(*h));
	h->version = mc_get_u8(r);
	mc_get_raw(r, h->chain_id, MC_HASH_LEN);
	h->height = mc_get_u64(r);
	mc_get_raw(r, h->prev, MC_HASH_LEN);
	h->timestamp_ms = mc_get_u64(r);
	mc_get_raw(r, h->proposer, MC_PK_LEN);
	mc_get_raw(r, h->tx_root, MC_HASH_LEN);
	h->tx_count = mc_get_u32(r);
	mc_get_raw(r, h->valset_hash, MC_HASH_LEN);
	h->view = mc_get_u64(r);
	if (!mc_rd_ok(r))
		return mc_err_set(err, EX_DATAERR, _("malformed block header"));
	if (h->version < MC_BLOCK_VERSION_MIN || h->version > MC_BLOCK_VERSION)
		return mc_err_set(err, EX_DATAERR, _("unknown block version %u"), (unsigned)h->version);
	if (h->tx_count > MC_BLOCK_MAX_TXS)
		return mc_err_set(err, EX_DATAERR, _("block holds too many transactions"));
	return 0;
}

void mc_block_hash(const struct mc_header *h, uint8_t out[MC_HASH_LEN])
{
	uint8_t tmp[MC_HEADER_LEN + 8];
	struct mc_buf b = { .data = tmp, .cap = sizeof(tmp) };
	struct mc_sha256 s;

	/* Fixed-size header: the stack buffer is always large enough. */
	mc_header_encode(h, &b);
	mc_sha256_init(&s);
	mc_sha256_update(&s, block_domain, sizeof(block_domain) - 1);
	mc_sha256_update(&s, b.data, b.len);
	mc_sha256_final(&s, out);
}

void mc_cert_encode(const struct mc_cert *c, struct mc_buf *b)
{
	mc_put_u16(b, c->count);
	for (unsigned i = 0; i < c->count && i < MC_MAX_VALIDATORS; i++) {
		mc_put_raw(b, c->votes[i].pk, MC_PK_LEN);
		mc_put_raw(b, c->votes[i].sig, MC_SIG_LEN);
	}
}

int mc_cert_decode(struct mc_rd *r, struct mc_cert *c, struct mc_err *err)
{
	memset(c, 0, sizeof(*c));
	c->count = mc_get_u16(r);
	if (!mc_rd_ok(r) || c->count == 0 || c->count > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("malformed quorum certificate"));
	for (unsigned i = 0; i < c->count; i++) {
		mc_get_raw(r, c->votes[i].pk, MC_PK_LEN);
		mc_get_raw(r, c->votes[i].sig, MC_SIG_LEN);
	}
	if (!mc_rd_ok(r))
		return mc_err_set(err, EX_DATAERR, _("malformed quorum certificate"));
	return 0;
}

_Static_assert(sizeof(vote_domain) - 1 == 16, "vote domain length");

void mc_vote_message(const uint8_t block_hash[MC_HASH_LEN], uint8_t out[MC_VOTE_MSG_LEN])
{
	memcpy(out, vote_domain, sizeof(vote_domain) - 1);
	memcpy(out + sizeof(vote_domain) - 1, block_hash, MC_HASH_LEN);
}

void mc_vote_sign(const uint8_t block_hash[MC_HASH_LEN], const uint8_t sk[MC_SK_LEN],
		  const uint8_t pk[MC_PK_LEN], struct mc_vote *v)
{
	uint8_t msg[MC_VOTE_MSG_LEN];

	mc_vote_message(block_hash, msg);
	memcpy(v->pk, pk, MC_PK_LEN);
	mc_sign(sk, msg, sizeof(msg), v->sig);
}

size_t mc_quorum(size_t n)
{
	/* more than two thirds: 3 * votes > 2 * n */
	return 2 * n / 3 + 1;
}

int mc_cert_check_quorum(const struct mc_cert *c, const uint8_t (*validators)[MC_PK_LEN],
			 size_t nval, struct mc_err *err)
{
	if (nval == 0)
		return mc_err_set(err, EX_DATAERR, _("empty validator set"));
	for (unsigned i = 0; i < c->count; i++) {
		bool member = false;

		if (i > 0 && memcmp(c->votes[i - 1].pk, c->votes[i].pk, MC_PK_LEN) >= 0)
			return mc_err_set(err, EX_DATAERR,
					  _("certificate votes are not in key order or repeat a key"));
		for (size_t k = 0; k < nval && !member; k++)
			member = memcmp(validators[k], c->votes[i].pk, MC_PK_LEN) == 0;
		if (!member)
			return mc_err_set(err, EX_DATAERR, _("certificate carries a vote from a non-validator"));
	}
	if (c->count < mc_quorum(nval))
		return mc_err_set(err, EX_DATAERR, _("certificate has %u of %zu votes, short of a quorum"),
				  (unsigned)c->count, nval);
	return 0;
}

int mc_cert_check(const struct mc_cert *c, const uint8_t block_hash[MC_HASH_LEN],
		  const uint8_t (*validators)[MC_PK_LEN], size_t nval, struct mc_err *err)
{
	uint8_t msg[MC_VOTE_MSG_LEN];

	if (mc_cert_check_quorum(c, validators, nval, err) != 0)
		return -1;
	mc_vote_message(block_hash, msg);
	for (unsigned i = 0; i < c->count; i++)
		if (mc_sign_verify(c->votes[i].pk, msg, sizeof(msg), c->votes[i].sig) != 0)
			return mc_err_set(err, EX_DATAERR, _("certificate carries a forged vote"));
	return 0;
}
