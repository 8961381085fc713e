/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: what peers send each other (replica.h): block bundles
 * (proposals, commits, GET /v1/blocks answers), tx bundles (POST /v1/tx),
 * side rows and evidence of equivocation (POST /v1/evidence). The first
 * byte picks the decoder: 0 block bundles back to back, 1 a tx bundle, 2
 * side rows, 3 evidence. Every decoded tx and sidecar is decoded and
 * checked in turn, as the engine does before it touches the store. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "replica.h"

static void check_txins(const struct mc_txin *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mc_tx tx;
		struct mc_err err = { 0 };

		if (mc_tx_decode(in[i].tx, in[i].tx_len, &tx, &err) == 0 && tx.body_len > MC_TX_BODY_MAX)
			__builtin_trap();
		(void)mc_side_check(in[i].side, in[i].side_len, &err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_err err = { 0 };

	fuzz_init();
	if (size < 1)
		return 0;
	if (data[0] == 0) {
		struct mc_rd r;

		mc_rd_init(&r, data + 1, size - 1);
		while (r.left) {
			struct mc_bundle b;

			if (mc_bundle_read(&r, &b, &err) != 0)
				break;
			if (b.count != b.h.tx_count)
				__builtin_trap();
			check_txins(b.txs, b.count);
			mc_bundle_release(&b);
		}
	} else if (data[0] == 1) {
		struct mc_txin *in = NULL;
		size_t n = 0;

		if (mc_txbundle_decode(data + 1, size - 1, &in, &n, &err) == 0) {
			check_txins(in, n);
			free(in);
		}
	} else if (data[0] == 3) {
		struct mc_header a, b;

		/* evidence needs two signatures of one key over two blocks */
		if (mc_evidence_check(data + 1, size - 1, &a, &b, &err) == 0 &&
		    (a.height != b.height || memcmp(a.proposer, b.proposer, MC_PK_LEN) != 0))
			__builtin_trap();
	} else {
		(void)mc_side_check(data + 1, size - 1, &err);
	}
	return 0;
}

/* Valid encodings: a block bundle with a signed tx and side rows of every
 * kind, a tx bundle, and the side rows alone. */
bool fuzz_seed(int k, struct mc_buf *out)
{
	static const uint8_t seed[32] = { 7 };
	uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN], blob[40];
	struct mc_header h;
	struct mc_cert c;
	struct mc_tx tx;
	struct mc_buf txe, side;
	struct mc_txin in;

	if (k >= 4)
		return false;
	mc_sign_seed_keypair(seed, pk, sk);
	if (k == 3) {
		/* evidence: two blocks at height 9, view 0, both signed by pk */
		struct mc_header h2;
		struct mc_cert c2;
		uint8_t hash[MC_HASH_LEN];

		memset(&h, 0, sizeof(h));
		h.version = MC_BLOCK_VERSION;
		h.height = 9;
		h.timestamp_ms = 1764500000000ull;
		memcpy(h.proposer, pk, MC_PK_LEN);
		h2 = h;
		h2.timestamp_ms++;
		memset(&c, 0, sizeof(c));
		memset(&c2, 0, sizeof(c2));
		mc_block_hash(&h, hash);
		mc_vote_sign(hash, sk, pk, &c.votes[c.count++]);
		mc_block_hash(&h2, hash);
		mc_vote_sign(hash, sk, pk, &c2.votes[c2.count++]);
		mc_put_u8(out, 3);
		mc_evidence_encode(&h, &c, &h2, &c2, out);
		return true;
	}
	memset(blob, 0x5a, sizeof(blob));
	mc_buf_init(&side);
	mc_put_u32(&side, 5);
	mc_put_u8(&side, MC_SIDE_PAYLOAD);
	mc_put_u32(&side, 0);
	mc_put_bytes(&side, blob, sizeof(blob));
	mc_put_u8(&side, MC_SIDE_WRAPPED);
	mc_put_u32(&side, 0);
	mc_put_bytes(&side, blob, 32);
	mc_put_u8(&side, MC_SIDE_SHARED);
	mc_put_raw(&side, blob, 16);
	mc_put_raw(&side, pk, MC_PK_LEN);
	mc_put_bytes(&side, blob, 36);
	mc_put_u8(&side, MC_SIDE_KEK);
	mc_put_raw(&side, pk, MC_PK_LEN);
	mc_put_u32(&side, 0);
	mc_put_bytes(&side, blob, 40);
	mc_put_u8(&side, MC_SIDE_PARTIAL);
	if (k == 2) {
		mc_put_u8(out, 2);
		mc_put_raw(out, side.data, side.len);
		mc_buf_release(&side);
		return true;
	}
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = MC_TX_ACCESS;
	memcpy(tx.author, pk, MC_PK_LEN);
	tx.timestamp_ms = 1764500000000ull;
	tx.seq = 1;
	tx.body = blob;
	tx.body_len = sizeof(blob);
	mc_tx_sign(&tx, seed, sk);
	mc_buf_init(&txe);
	mc_tx_encode(&tx, &txe);
	in.tx = txe.data;
	in.tx_len = txe.len;
	in.side = side.data;
	in.side_len = side.len;
	if (k == 1) {
		mc_put_u8(out, 1);
		mc_txbundle_encode(&in, 1, out);
	} else {
		memset(&h, 0, sizeof(h));
		h.version = MC_BLOCK_VERSION;
		h.height = 9;
		h.timestamp_ms = 1764500000000ull;
		memcpy(h.proposer, pk, MC_PK_LEN);
		h.tx_count = 1;
		memset(&c, 0, sizeof(c));
		c.count = 1;
		memcpy(c.votes[0].pk, pk, MC_PK_LEN);
		mc_put_u8(out, 0);
		mc_bundle_encode(&h, &c, &in, 1, out);
	}
	mc_buf_release(&txe);
	mc_buf_release(&side);
	return true;
}
