/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's encoders against vectors made by cast, independently of
 * our code: keccak-256, RLP, EIP-1559 and EIP-155 transactions, addresses. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anchor.h"
#include "crypto.h"
#include "eth_vectors.h"
#include "ethtx.h"
#include "keccak.h"
#include "keystore.h"
#include "rlp.h"
#include "util.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	cr_assert_eq(mc_unhex(s, out, n), 0, "bad hex %s", s);
}

static void assert_hex(const uint8_t *p, size_t n, const char *want, const char *what)
{
	char got[4096];

	cr_assert_lt(2 * n, sizeof(got));
	mc_hex(p, n, got);
	cr_assert_str_eq(got, want, "%s", what);
}

static const char PK[] = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char DATA[] = "414e434801000000000000000000000100000000000003e8000000006553f1000000000000000000ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Test(keccak, known_answers_including_a_block_boundary)
{
	uint8_t h[32], in[200];

	mc_keccak256("", 0, h);
	assert_hex(h, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", "empty");
	mc_keccak256("abc", 3, h);
	assert_hex(h, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45", "abc");
	for (int i = 0; i < 200; i++)
		in[i] = (uint8_t)i;
	mc_keccak256(in, 200, h);
	assert_hex(h, 32, "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890", "200 bytes");
}

Test(keccak, every_vector_hash_is_the_keccak_of_its_bytes)
{
	for (size_t i = 0; i < MC_ARRAY_LEN(eth_vectors); i++) {
		const struct eth_vector *v = &eth_vectors[i];
		size_t un = strlen(v->unsigned_hex) / 2, rn = strlen(v->raw_hex) / 2;
		uint8_t u[512], r[512], h[32];

		unhex(v->unsigned_hex, u, un);
		unhex(v->raw_hex, r, rn);
		mc_keccak256(u, un, h);
		assert_hex(h, 32, v->hash_hex, v->name);
		mc_keccak256(r, rn, h);
		assert_hex(h, 32, v->txhash_hex, v->name);
	}
}

Test(rlp, reference_examples)
{
	struct mc_buf items, out;
	static const uint8_t s0400[] = { 0x04, 0x00 }, s80[] = { 0x80 };

	mc_buf_init(&items);
	mc_buf_init(&out);
	mc_rlp_list(&out, &items);
	assert_hex(out.data, out.len, "c0", "[]");
	mc_buf_reset(&out);
	mc_rlp_bytes(&items, "", 0);
	mc_rlp_uint(&items, 1);
	mc_rlp_uint(&items, 0x7f);
	mc_rlp_bytes(&items, s80, 1);
	mc_rlp_uint_be(&items, s0400, 2);
	mc_rlp_list(&out, &items);
	assert_hex(out.data, out.len, "c880017f8180820400", "[0x,0x01,0x7f,0x80,0x0400]");
	mc_buf_reset(&out);
	mc_rlp_uint(&out, 0);
	assert_hex(out.data, out.len, "80", "integer zero is the empty string");
	mc_buf_release(&items);
	mc_buf_release(&out);
}

Test(rlp, long_strings_and_lists_take_length_of_length_headers)
{
	uint8_t big[300];
	struct mc_buf out, items;

	memset(big, 0xab, sizeof(big));
	mc_buf_init(&out);
	mc_buf_init(&items);
	mc_rlp_bytes(&out, big, 56);
	cr_assert_eq(out.data[0], 0xb8);
	cr_assert_eq(out.data[1], 56);
	mc_buf_reset(&out);
	mc_rlp_bytes(&out, big, 300);
	cr_assert_eq(out.data[0], 0xb9);
	cr_assert_eq(out.data[1], 0x01);
	cr_assert_eq(out.data[2], 0x2c);
	cr_assert_eq(out.len, 303);
	mc_buf_reset(&out);
	mc_rlp_bytes(&items, big, 60);
	mc_rlp_list(&out, &items);
	cr_assert_eq(out.data[0], 0xf8);
	cr_assert_eq(out.data[1], 62);
	mc_buf_release(&out);
	mc_buf_release(&items);
}

struct fields {
	const char *name;
	bool legacy;
	uint64_t chain, nonce, tip, max, price, gas, value;
	const char *to, *data, *key;
};

static const char DEAD[] = "000000000000000000000000000000000000dead";
static const char ME[] = "f39fd6e51aad88f6f4ce6ab8827279cfffb92266";
static const char K7[] = "4646464646464646464646464646464646464646464646464646464646464646";

static const struct fields cases[] = {
	{ "V1", false, 31337, 0, 1000000000, 3000000000, 0, 30000, 0, DEAD, DATA, PK },
	{ "V2", false, 11155111, 301, 1500000000, 40000000000, 0, 25000, 0, ME, DATA, PK },
	{ "V3", true, 31337, 1, 0, 0, 2000000000, 30000, 0, DEAD, DATA, PK },
	{ "V3b", true, 31337, 3, 0, 0, 2000000000, 30000, 0, DEAD, DATA, PK },
	{ "V4", false, 31337, 138, 1000000000, 3000000000, 0, 30000, 0, DEAD, DATA, PK },
	{ "V5", false, 31337, 27, 1000000000, 3000000000, 0, 30000, 0, DEAD, DATA, PK },
	{ "V6", false, 1, 0, 0, 1, 0, 21000, 0, ME, "", PK },
	{ "V7", true, 1, 9, 0, 0, 20000000000, 21000, 1000000000000000000ULL,
	  "3535353535353535353535353535353535353535", "", K7 },
};

Test(ethtx, every_vector_encodes_signs_and_hashes_byte_for_byte)
{
	cr_assert_eq(mc_crypto_init(), 0);
	for (size_t i = 0; i < MC_ARRAY_LEN(cases); i++) {
		const struct fields *f = &cases[i];
		const struct eth_vector *v = NULL;
		struct mc_eth_tx tx;
		uint8_t data[128], key[32], hash[32];
		struct mc_buf u, raw;
		struct mc_err err = { 0 };

		for (size_t k = 0; k < MC_ARRAY_LEN(eth_vectors); k++)
			if (strcmp(eth_vectors[k].name, f->name) == 0)
				v = &eth_vectors[k];
		cr_assert_not_null(v, "vector %s", f->name);
		memset(&tx, 0, sizeof(tx));
		tx.legacy = f->legacy;
		tx.chain_id = f->chain;
		tx.nonce = f->nonce;
		tx.max_priority_fee = f->tip;
		tx.max_fee = f->max;
		tx.gas_price = f->price;
		tx.gas_limit = f->gas;
		tx.value = f->value;
		unhex(f->to, tx.to, 20);
		tx.data_len = strlen(f->data) / 2;
		if (tx.data_len)
			unhex(f->data, data, tx.data_len);
		tx.data = data;
		unhex(f->key, key, 32);
		mc_buf_init(&u);
		mc_buf_init(&raw);
		mc_eth_unsigned(&tx, &u);
		assert_hex(u.data, u.len, v->unsigned_hex, f->name);
		mc_eth_signing_hash(&tx, hash);
		assert_hex(hash, 32, v->hash_hex, f->name);
		cr_assert_eq(mc_eth_sign(&tx, key, &raw, hash, &err), 0, "%s: %s", f->name, err.msg);
		assert_hex(raw.data, raw.len, v->raw_hex, f->name);
		assert_hex(hash, 32, v->txhash_hex, f->name);
		mc_buf_release(&u);
		mc_buf_release(&raw);
	}
}

Test(ethtx, the_address_of_the_test_key)
{
	uint8_t key[32], addr[20], zero[32] = { 0 };
	struct mc_err err = { 0 };

	unhex(PK, key, 32);
	cr_assert_eq(mc_eth_address(key, addr, &err), 0);
	assert_hex(addr, 20, ME, "address");
	cr_assert_eq(mc_eth_address(zero, addr, &err), -1, "the zero key is refused");
	cr_assert_eq(err.code, EX_DATAERR);
}

Test(anchor, payload_round_trip_and_refusals)
{
	uint8_t cid[32], root[32], p[MC_ANCHOR_PAYLOAD_LEN], c2[32], r2[32];
	uint64_t size;

	memset(cid, 0x11, 32);
	memset(root, 0xab, 32);
	mc_anchor_payload(cid, 1024, root, p);
	/* the sample payload of shared/reference/ethereum.md */
	assert_hex(p, sizeof(p),
		   "4d444331011111111111111111111111111111111111111111111111111111111111111111"
		   "0000000000000400abababababababababababababababababababababababababababababababab",
		   "payload layout");
	cr_assert_eq(mc_anchor_payload_parse(p, sizeof(p), c2, &size, r2, NULL), 0);
	cr_assert_eq(size, 1024);
	cr_assert_arr_eq(r2, root, 32);
	cr_assert_eq(mc_anchor_payload_parse(p, sizeof(p) - 1, c2, &size, r2, NULL), -1, "short");
	p[4] = 2;
	cr_assert_eq(mc_anchor_payload_parse(p, sizeof(p), c2, &size, r2, NULL), -1, "version");
	p[4] = 1;
	p[0] = 'X';
	cr_assert_eq(mc_anchor_payload_parse(p, sizeof(p), c2, &size, r2, NULL), -1, "magic");
}

Test(anchor, a_generated_key_round_trips_through_a_sealed_key_file)
{
	struct mc_key *k, *back;
	struct mc_kdf_cost fast;
	uint8_t addr[20], addr2[20];
	char dir[] = "/tmp/mc-anchor-XXXXXX", path[64];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/anchor.key", dir);
	cr_assert_eq(mc_anchor_keygen(&k, addr, &err), 0, "%s", err.msg);
	mc_kdf_min(&fast);
	cr_assert_eq(mc_key_save(path, k, "pw", 2, &fast, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_load(path, "pw", 2, &back, &err), 0, "%s", err.msg);
	cr_assert(back->raw);
	cr_assert_eq(mc_anchor_key_address(back, addr2, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(addr, addr2, 20);
	back->pk[3] ^= 1;
	cr_assert_eq(mc_anchor_key_address(back, addr2, &err), -1, "a key whose recorded address differs");
	cr_assert_eq(err.code, EX_DATAERR);
	mc_key_free(k);
	mc_key_free(back);
	unlink(path);
	rmdir(dir);
}

Test(anchor, an_identity_key_is_not_an_anchor_key)
{
	struct mc_key *k;
	uint8_t addr[20];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	cr_assert_eq(mc_anchor_key_address(k, addr, &err), -1);
	cr_assert_eq(err.code, EX_CONFIG);
	mc_key_free(k);
}
