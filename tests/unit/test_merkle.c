/* RFC 9162 Merkle trees: the RFC 6962 reference vectors, exhaustive proof
 * properties, hostile proofs, O(log n) reads from a stored tree, appends. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "merkle.h"

static const char *const leaves_hex[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
/* Roots of the first n leaves, RFC 6962 test vectors (cross-checked with an
 * independent Python recomputation). */
static const char *const roots_hex[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static uint8_t L[8][MC_HASH_LEN];

static void setup(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
	for (int i = 0; i < 8; i++) {
		uint8_t raw[16];
		size_t n = strlen(leaves_hex[i]) / 2;

		if (n)
			cr_assert_eq(mc_unhex(leaves_hex[i], raw, n), 0);
		mc_merkle_leaf_hash(raw, n, L[i]);
	}
}

TestSuite(merkle, .init = setup);

static void unhex32(const char *s, uint8_t out[MC_HASH_LEN])
{
	cr_assert_eq(mc_unhex(s, out, MC_HASH_LEN), 0);
}

Test(merkle, empty_tree_is_the_hash_of_the_empty_string)
{
	uint8_t r[32], want[32];

	mc_merkle_root(NULL, 0, r);
	unhex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	cr_assert_arr_eq(r, want, 32);
}

Test(merkle, rfc6962_roots_for_sizes_1_to_8)
{
	for (int n = 1; n <= 8; n++) {
		uint8_t r[32], want[32];

		mc_merkle_root((const uint8_t (*)[32])L, (size_t)n, r);
		unhex32(roots_hex[n - 1], want);
		cr_assert_arr_eq(r, want, 32, "root of size %d", n);
	}
}

Test(merkle, rfc6962_inclusion_proof_of_leaf_0_in_8)
{
	static const char *const want[] = {
		"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	uint8_t p[MC_MERKLE_MAX_PROOF][32], w[32], root[32];
	size_t len;

	cr_assert_eq(mc_merkle_inclusion((const uint8_t (*)[32])L, 8, 0, p, &len), 0);
	cr_assert_eq(len, 3);
	for (size_t i = 0; i < 3; i++) {
		unhex32(want[i], w);
		cr_assert_arr_eq(p[i], w, 32, "path[%zu]", i);
	}
	unhex32(roots_hex[7], root);
	cr_assert_eq(mc_merkle_verify_inclusion(L[0], 0, 8, (const uint8_t (*)[32])p, len, root), 0);
}

Test(merkle, rfc6962_consistency_proofs)
{
	static const char *const p68[] = {
		"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	};
	uint8_t p[MC_MERKLE_MAX_PROOF][32], w[32], r1[32], r2[32];
	size_t len;

	cr_assert_eq(mc_merkle_consistency((const uint8_t (*)[32])L, 1, 1, p, &len), 0);
	cr_assert_eq(len, 0, "1 -> 1 is empty");
	cr_assert_eq(mc_merkle_consistency((const uint8_t (*)[32])L, 1, 8, p, &len), 0);
	cr_assert_eq(len, 3, "1 -> 8 has 3 hashes");
	cr_assert_eq(mc_merkle_consistency((const uint8_t (*)[32])L, 2, 5, p, &len), 0);
	cr_assert_eq(len, 2, "2 -> 5 has 2 hashes");
	cr_assert_eq(mc_merkle_consistency((const uint8_t (*)[32])L, 6, 8, p, &len), 0);
	cr_assert_eq(len, 3);
	for (size_t i = 0; i < 3; i++) {
		unhex32(p68[i], w);
		cr_assert_arr_eq(p[i], w, 32, "6->8 path[%zu]", i);
	}
	unhex32(roots_hex[5], r1);
	unhex32(roots_hex[7], r2);
	cr_assert_eq(mc_merkle_verify_consistency(6, 8, r1, r2, (const uint8_t (*)[32])p, len), 0);
}

static uint8_t (*make_leaves(size_t n))[MC_HASH_LEN]
{
	uint8_t (*ls)[MC_HASH_LEN] = calloc(n ? n : 1, MC_HASH_LEN);

	for (size_t i = 0; i < n; i++) {
		uint8_t d[8];

		mc_be64(d, i * 2654435761u);
		mc_merkle_leaf_hash(d, sizeof(d), ls[i]);
	}
	return ls;
}

Test(merkle, every_inclusion_proof_up_to_70_verifies_and_any_change_breaks_it)
{
	uint8_t (*ls)[MC_HASH_LEN] = make_leaves(70);

	for (size_t n = 1; n <= 70; n++) {
		uint8_t root[32];

		mc_merkle_root((const uint8_t (*)[32])ls, n, root);
		for (size_t i = 0; i < n; i++) {
			uint8_t p[MC_MERKLE_MAX_PROOF][32];
			size_t len;

			cr_assert_eq(mc_merkle_inclusion((const uint8_t (*)[32])ls, n, i, p, &len), 0);
			cr_assert_eq(mc_merkle_verify_inclusion(ls[i], i, n, (const uint8_t (*)[32])p, len, root), 0,
				     "leaf %zu of %zu", i, n);
			if (n > 1)
				cr_assert_neq(mc_merkle_verify_inclusion(ls[i], (i + 1) % n, n, (const uint8_t (*)[32])p, len, root), 0);
			for (size_t k = 0; k < len; k++) {
				p[k][k % 32] ^= 0x10;
				cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, (const uint8_t (*)[32])p, len, root), 0);
				p[k][k % 32] ^= 0x10;
			}
			if (len)
				cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, (const uint8_t (*)[32])p, len - 1, root), 0,
					      "a short proof fails");
		}
	}
	free(ls);
}

Test(merkle, every_consistency_proof_up_to_70_verifies_and_any_change_breaks_it)
{
	uint8_t (*ls)[MC_HASH_LEN] = make_leaves(70);

	for (size_t n2 = 1; n2 <= 70; n2++) {
		uint8_t r2[32];

		mc_merkle_root((const uint8_t (*)[32])ls, n2, r2);
		for (size_t n1 = 1; n1 <= n2; n1++) {
			uint8_t p[MC_MERKLE_MAX_PROOF][32], r1[32];
			size_t len;

			mc_merkle_root((const uint8_t (*)[32])ls, n1, r1);
			cr_assert_eq(mc_merkle_consistency((const uint8_t (*)[32])ls, n1, n2, p, &len), 0);
			cr_assert_eq(mc_merkle_verify_consistency(n1, n2, r1, r2, (const uint8_t (*)[32])p, len), 0,
				     "%zu -> %zu", n1, n2);
			for (size_t k = 0; k < len; k++) {
				p[k][3] ^= 1;
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, (const uint8_t (*)[32])p, len), 0);
				p[k][3] ^= 1;
			}
			if (n1 < n2) {
				r1[0] ^= 1;
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, (const uint8_t (*)[32])p, len), 0,
					      "a different old root fails");
				r1[0] ^= 1;
			}
		}
	}
	free(ls);
}

Test(merkle, hostile_arguments_are_refused_without_reading_past_the_proof)
{
	uint8_t p[1][32] = { { 0 } }, r[32] = { 0 }, leaf[32] = { 0 };

	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 0, 0, (const uint8_t (*)[32])p, 1, r), 0);
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 5, 5, (const uint8_t (*)[32])p, 1, r), 0);
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 0, 1, (const uint8_t (*)[32])p, 1, r), 0,
		      "a proof for a one-leaf tree is empty");
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, UINT64_MAX - 1, UINT64_MAX, (const uint8_t (*)[32])p, 1, r), 0);
	cr_assert_neq(mc_merkle_verify_consistency(0, 4, r, r, (const uint8_t (*)[32])p, 1), 0);
	cr_assert_neq(mc_merkle_verify_consistency(5, 4, r, r, (const uint8_t (*)[32])p, 1), 0);
	cr_assert_neq(mc_merkle_verify_consistency(3, 3, r, r, (const uint8_t (*)[32])p, 1), 0,
		      "equal sizes need an empty proof");
	cr_assert_neq(mc_merkle_verify_consistency(3, 7, r, r, (const uint8_t (*)[32])p, 0), 0);
	cr_assert_neq(mc_merkle_verify_consistency(3, 7, r, r, (const uint8_t (*)[32])p, MC_MERKLE_MAX_PROOF + 1), 0);
}

/* A synthetic stored tree: subtree hashes are a function of (level,index). */
struct count_src { unsigned long calls; };

static int synth_get(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	uint8_t d[9];

	((struct count_src *)ctx)->calls++;
	d[0] = (uint8_t)level;
	mc_be64(d + 1, index);
	mc_sha256(d, sizeof(d), out);
	return 0;
}

Test(merkle, stored_tree_operations_make_logarithmic_reads)
{
	struct count_src c = { 0 };
	struct mc_mtree_src src = { synth_get, &c };
	uint64_t size = (1ULL << 40) + 12345;
	uint8_t root[32], p[MC_MERKLE_MAX_PROOF][32];
	size_t len;

	cr_assert_eq(mc_mtree_root(&src, size, root), 0);
	cr_assert_leq(c.calls, 64, "root: %lu reads", c.calls);
	c.calls = 0;
	cr_assert_eq(mc_mtree_inclusion(&src, size / 3, size, p, &len), 0);
	cr_assert_leq(c.calls, 2 * 64 + 2, "inclusion: %lu reads", c.calls);
	c.calls = 0;
	cr_assert_eq(mc_mtree_consistency(&src, size / 2 + 7, size, p, &len), 0);
	cr_assert_leq(c.calls, 2 * 64 + 2, "consistency: %lu reads", c.calls);
}

/* Appending while storing completed subtrees reproduces the roots. */
struct table_src { uint8_t (*h)[65][32]; };

static int table_get(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	struct table_src *t = ctx;

	memcpy(out, t->h[index][level], 32);
	return 0;
}

Test(merkle, appends_with_completed_subtrees_reproduce_in_memory_roots)
{
	enum { N = 300 };
	uint8_t (*ls)[MC_HASH_LEN] = make_leaves(N);
	uint8_t (*h)[65][32] = calloc(N, sizeof(*h));
	struct table_src t = { h };
	struct mc_mtree_src src = { table_get, &t };
	unsigned levels[65];
	uint64_t idx[65];

	cr_assert_eq(mc_mtree_completed(0, levels, idx), 1);
	cr_assert_eq(mc_mtree_completed(3, levels, idx), 3);
	cr_assert_eq(levels[2], 2);
	cr_assert_eq(idx[2], 0);
	cr_assert_eq(mc_mtree_completed(6, levels, idx), 1);
	for (uint64_t i = 0; i < N; i++) {
		unsigned n = mc_mtree_completed(i, levels, idx);
		uint8_t want[32], got[32];

		for (unsigned k = 0; k < n; k++) {
			if (levels[k] == 0)
				memcpy(h[idx[k]][0], ls[i], 32);
			else
				mc_merkle_node_hash(h[idx[k] * 2][levels[k] - 1], h[idx[k] * 2 + 1][levels[k] - 1],
						    h[idx[k]][levels[k]]);
		}
		mc_merkle_root((const uint8_t (*)[32])ls, i + 1, want);
		cr_assert_eq(mc_mtree_root(&src, i + 1, got), 0);
		cr_assert_arr_eq(got, want, 32, "size %llu", (unsigned long long)i + 1);
	}
	free(h);
	free(ls);
}
