/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9162 Merkle trees: the RFC 6962 reference vectors, a naive reference
 * implementation compared exhaustively, proof tampering, hostile verifier
 * arguments, O(log n) reads from a stored tree, failing reads, appends.
 *
 * Self-contained on purpose: it needs only mc_sha256* from crypto.h and the
 * functions of merkle.h. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "merkle.h"
#include "util.h"

#define HL MC_HASH_LEN
#define MAXP MC_MERKLE_MAX_PROOF
#define CP(p) ((const uint8_t (*)[HL])(p))

/* ---- helpers ----------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	cr_assert(strlen(s) % 2 == 0 && n <= cap, "bad vector %s", s);
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		cr_assert(hi >= 0 && lo >= 0, "bad vector %s", s);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

static void unhex32(const char *s, uint8_t out[HL])
{
	cr_assert_eq(unhex(s, out, HL), HL, "not a hash: %s", s);
}

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Leaf hashes of the 8-byte big-endian numbers 0 .. n-1. */
static uint8_t (*make_leaves(size_t n))[HL]
{
	uint8_t (*ls)[HL] = calloc(n ? n : 1, HL);

	cr_assert_not_null(ls);
	for (size_t i = 0; i < n; i++) {
		uint8_t d[8];

		be64(d, i);
		mc_merkle_leaf_hash(d, sizeof(d), ls[i]);
	}
	return ls;
}

/* ---- a naive reference, transcribed from RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1 */

static size_t ref_k(size_t n)
{
	size_t k = 1;

	while (2 * k < n)
		k *= 2;
	return k;
}

static void ref_mth(const uint8_t (*d)[HL], size_t n, uint8_t out[HL])
{
	uint8_t l[HL], r[HL];
	size_t k;

	if (n == 0) {
		mc_sha256("", 0, out);
		return;
	}
	if (n == 1) {
		memcpy(out, d[0], HL);
		return;
	}
	k = ref_k(n);
	ref_mth(d, k, l);
	ref_mth(d + k, n - k, r);
	mc_merkle_node_hash(l, r, out);
}

static void ref_path(size_t m, const uint8_t (*d)[HL], size_t n, uint8_t p[][HL], size_t *len)
{
	size_t k;

	if (n <= 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, p, len);
		ref_mth(d + k, n - k, p[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, p, len);
		ref_mth(d, k, p[(*len)++]);
	}
}

static void ref_subproof(size_t m, const uint8_t (*d)[HL], size_t n, bool b, uint8_t p[][HL],
			 size_t *len)
{
	size_t k;

	if (m == n) {
		if (!b)
			ref_mth(d, n, p[(*len)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, p, len);
		ref_mth(d + k, n - k, p[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, p, len);
		ref_mth(d, k, p[(*len)++]);
	}
}

/* Proof lengths only, for trees far too big to build (cross-checked with a
 * Python transcription of the same recursion). */
static uint64_t big_k(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

static unsigned ref_path_len(uint64_t m, uint64_t n)
{
	unsigned len = 0;

	while (n > 1) {
		uint64_t k = big_k(n);

		if (m < k) {
			n = k;
		} else {
			m -= k;
			n -= k;
		}
		len++;
	}
	return len;
}

static unsigned ref_subproof_len(uint64_t m, uint64_t n)
{
	unsigned len = 0;
	bool b = true;

	if (m == n)
		return 0;
	while (m != n) {
		uint64_t k = big_k(n);

		if (m <= k) {
			n = k;
		} else {
			m -= k;
			n -= k;
			b = false;
		}
		len++;
	}
	return len + (b ? 0 : 1);
}

/* ---- sources ----------------------------------------------------------- */

/* A stored tree built by hand, bottom-up: lvl[l][i] for every complete
 * perfect subtree of the first n leaves. */
#define TMAX 300
#define TLEVELS 9 /* 2^8 = 256 <= 300 < 2^9 */

struct table {
	uint8_t h[TLEVELS][TMAX][HL];
	bool have[TLEVELS][TMAX];
	unsigned long misses;
};

static int table_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct table *t = ctx;

	if (level >= TLEVELS || index >= TMAX || !t->have[level][index]) {
		t->misses++;
		return -1;
	}
	memcpy(out, t->h[level][index], HL);
	return 0;
}

static struct table *table_build(const uint8_t (*ls)[HL], size_t n)
{
	struct table *t = calloc(1, sizeof(*t));

	cr_assert_not_null(t);
	cr_assert_leq(n, TMAX);
	for (size_t i = 0; i < n; i++) {
		memcpy(t->h[0][i], ls[i], HL);
		t->have[0][i] = true;
	}
	for (unsigned l = 1; l < TLEVELS; l++)
		for (size_t i = 0; ((i + 1) << l) <= n; i++) {
			mc_merkle_node_hash(t->h[l - 1][2 * i], t->h[l - 1][2 * i + 1], t->h[l][i]);
			t->have[l][i] = true;
		}
	return t;
}

/* A synthetic stored tree of any size: node (level, index) hashes to
 * SHA-256(level || be64(index)). Counts reads and flags any read of a
 * subtree that is not complete within `size` leaves. */
struct synth {
	uint64_t size;
	unsigned long calls;
	unsigned long fail_at; /* fail the n-th read (1-based); 0: never */
	int fail_rc;
	bool out_of_range;
};

static int synth_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct synth *s = ctx;
	uint8_t d[9];

	s->calls++;
	if (level >= 64 || index >= (s->size >> level))
		s->out_of_range = true;
	if (s->fail_at && s->calls == s->fail_at)
		return s->fail_rc;
	d[0] = (uint8_t)level;
	be64(d + 1, index);
	mc_sha256(d, sizeof(d), out);
	return 0;
}

/* A real, consistent Merkle tree of any size, cheap to read: every leaf is
 * the leaf hash of "a" except leaf `special`, the leaf hash of "b". Perfect
 * subtrees not holding it all have the same hash per level; the ones holding
 * it are folded along one path. */
struct lone {
	uint64_t size, special;
	bool out_of_range;
};

static void lone_leaf(uint64_t i, const struct lone *t, uint8_t out[HL])
{
	mc_merkle_leaf_hash(i == t->special ? "b" : "a", 1, out);
}

static void lone_node(const struct lone *t, unsigned level, uint64_t index, uint8_t out[HL])
{
	uint8_t l[HL], r[HL];

	if (level == 0) {
		lone_leaf(index, t, out);
		return;
	}
	if ((t->special >> level) != index) {
		/* uniform: any index without the special leaf will do */
		lone_node(t, level - 1, (t->special >> (level - 1)) ^ 1, l);
		mc_merkle_node_hash(l, l, out);
		return;
	}
	lone_node(t, level - 1, 2 * index, l);
	lone_node(t, level - 1, 2 * index + 1, r);
	mc_merkle_node_hash(l, r, out);
}

static int lone_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HL])
{
	struct lone *t = ctx;

	if (level >= 64 || index >= (t->size >> level))
		t->out_of_range = true;
	lone_node(t, level, index, out);
	return 0;
}

/* ---- RFC 6962 reference vectors ---------------------------------------- */

/* The Certificate Transparency reference leaves and roots (RFC 6962 test
 * data, as in transparency-dev/merkle proof/verify_test.go and
 * google/certificate-transparency merkle_tree_test.cc), re-derived with an
 * independent Python hashlib transcription of RFC 9162 before being copied. */
static const char *const ct_leaves[8] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

static const char *const ct_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct vec {
	uint64_t a, b;          /* (index, size) or (size1, size2) */
	size_t len;
	const char *p[3];
};

static const struct vec ct_inclusion[] = {
	{ 0, 1, 0, { NULL } },
	{ 0, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 5, 8, 3, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 3, 1, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 1, 5, 3, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
};

static const struct vec ct_consistency[] = {
	{ 1, 1, 0, { NULL } },
	{ 1, 8, 3, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, 2, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, 3, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

static void ct_leaf_hashes(uint8_t L[8][HL])
{
	for (int i = 0; i < 8; i++) {
		uint8_t raw[16];
		size_t n = unhex(ct_leaves[i], raw, sizeof(raw));

		mc_merkle_leaf_hash(raw, n, L[i]);
	}
}

Test(merkle, leaf_and_node_hashes_use_the_rfc6962_prefixes)
{
	uint8_t L[8][HL], h[HL], w[HL], pre[1 + 2 * HL];

	ct_leaf_hashes(L);
	unhex32(ct_roots[0], w);
	cr_assert_arr_eq(L[0], w, HL, "leaf hash of the empty string");
	pre[0] = 0x01;
	memcpy(pre + 1, L[0], HL);
	memcpy(pre + 1 + HL, L[1], HL);
	mc_sha256(pre, sizeof(pre), w);
	mc_merkle_node_hash(L[0], L[1], h);
	cr_assert_arr_eq(h, w, HL, "node = SHA-256(0x01 || left || right)");
	unhex32(ct_roots[1], w);
	cr_assert_arr_eq(h, w, HL);
	memcpy(h, L[0], HL);
	mc_merkle_node_hash(h, L[1], h);
	cr_assert_arr_eq(h, w, HL, "the output may alias an input");
}

Test(merkle, empty_tree_root_is_sha256_of_the_empty_string)
{
	uint8_t r[HL], want[HL];
	struct synth s = { .size = 0 };
	struct mc_mtree_src src = { synth_get, &s };

	unhex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	mc_merkle_root(NULL, 0, r);
	cr_assert_arr_eq(r, want, HL);
	memset(r, 0, HL);
	cr_assert_eq(mc_mtree_root(&src, 0, r), 0);
	cr_assert_arr_eq(r, want, HL);
	cr_assert_eq(s.calls, 0, "the empty tree reads nothing");
}

Test(merkle, rfc6962_roots_for_sizes_1_to_8)
{
	uint8_t L[8][HL];
	struct table *t;

	ct_leaf_hashes(L);
	t = table_build(CP(L), 8);
	for (size_t n = 1; n <= 8; n++) {
		uint8_t r[HL], want[HL];
		struct mc_mtree_src src = { table_get, t };

		unhex32(ct_roots[n - 1], want);
		mc_merkle_root(CP(L), n, r);
		cr_assert_arr_eq(r, want, HL, "in-memory root of size %zu", n);
		cr_assert_eq(mc_mtree_root(&src, n, r), 0);
		cr_assert_arr_eq(r, want, HL, "stored root of size %zu", n);
	}
	cr_assert_eq(t->misses, 0);
	free(t);
}

Test(merkle, rfc6962_inclusion_proofs)
{
	uint8_t L[8][HL];
	struct table *t;

	ct_leaf_hashes(L);
	t = table_build(CP(L), 8);
	for (size_t v = 0; v < MC_ARRAY_LEN(ct_inclusion); v++) {
		const struct vec *e = &ct_inclusion[v];
		struct mc_mtree_src src = { table_get, t };
		uint8_t p[MAXP][HL], q[MAXP][HL], w[HL], root[HL];
		size_t len, qlen;

		cr_assert_eq(mc_merkle_inclusion(CP(L), e->b, e->a, p, &len), 0);
		cr_assert_eq(len, e->len, "leaf %llu of %llu: %zu hashes", (unsigned long long)e->a,
			     (unsigned long long)e->b, len);
		for (size_t i = 0; i < len; i++) {
			unhex32(e->p[i], w);
			cr_assert_arr_eq(p[i], w, HL, "leaf %llu of %llu: path[%zu]",
					 (unsigned long long)e->a, (unsigned long long)e->b, i);
		}
		cr_assert_eq(mc_mtree_inclusion(&src, e->a, e->b, q, &qlen), 0);
		cr_assert_eq(qlen, len);
		cr_assert_arr_eq(q, p, len * HL);
		unhex32(ct_roots[e->b - 1], root);
		cr_assert_eq(mc_merkle_verify_inclusion(L[e->a], e->a, e->b, CP(p), len, root), 0);
	}
	free(t);
}

Test(merkle, rfc6962_consistency_proofs_1_1_1_8_6_8_2_5_6_7)
{
	uint8_t L[8][HL];
	struct table *t;

	ct_leaf_hashes(L);
	t = table_build(CP(L), 8);
	for (size_t v = 0; v < MC_ARRAY_LEN(ct_consistency); v++) {
		const struct vec *e = &ct_consistency[v];
		struct mc_mtree_src src = { table_get, t };
		uint8_t p[MAXP][HL], q[MAXP][HL], w[HL], r1[HL], r2[HL];
		size_t len, qlen;

		cr_assert_eq(mc_merkle_consistency(CP(L), e->a, e->b, p, &len), 0);
		cr_assert_eq(len, e->len, "%llu -> %llu: %zu hashes", (unsigned long long)e->a,
			     (unsigned long long)e->b, len);
		for (size_t i = 0; i < len; i++) {
			unhex32(e->p[i], w);
			cr_assert_arr_eq(p[i], w, HL, "%llu -> %llu: path[%zu]",
					 (unsigned long long)e->a, (unsigned long long)e->b, i);
		}
		cr_assert_eq(mc_mtree_consistency(&src, e->a, e->b, q, &qlen), 0);
		cr_assert_eq(qlen, len);
		cr_assert_arr_eq(q, p, len * HL);
		unhex32(ct_roots[e->a - 1], r1);
		unhex32(ct_roots[e->b - 1], r2);
		cr_assert_eq(mc_merkle_verify_consistency(e->a, e->b, r1, r2, CP(p), len), 0);
	}
	free(t);
}

/* ---- exhaustive properties up to 70 leaves ------------------------------ */

#define PN 70   /* trees of 1 .. PN leaves */
#define PX 72   /* sizes tried as wrong claims: 1 .. PX */

Test(merkle, in_memory_and_stored_trees_match_a_naive_rfc_transcription_up_to_70)
{
	uint8_t (*ls)[HL] = make_leaves(PN);
	struct table *t = table_build(CP(ls), PN);
	struct mc_mtree_src src = { table_get, t };

	for (size_t n = 0; n <= PN; n++) {
		uint8_t want[HL], got[HL];

		ref_mth(CP(ls), n, want);
		mc_merkle_root(CP(ls), n, got);
		cr_assert_arr_eq(got, want, HL, "in-memory root %zu", n);
		cr_assert_eq(mc_mtree_root(&src, n, got), 0);
		cr_assert_arr_eq(got, want, HL, "stored root %zu", n);
	}
	for (size_t n = 1; n <= PN; n++) {
		for (size_t i = 0; i < n; i++) {
			uint8_t w[MAXP][HL], a[MAXP][HL], b[MAXP][HL];
			size_t wl = 0, al, bl;

			ref_path(i, CP(ls), n, w, &wl);
			cr_assert_eq(mc_merkle_inclusion(CP(ls), n, i, a, &al), 0);
			cr_assert_eq(mc_mtree_inclusion(&src, i, n, b, &bl), 0);
			cr_assert(al == wl && bl == wl, "leaf %zu of %zu", i, n);
			cr_assert_arr_eq(a, w, wl * HL, "in-memory path %zu of %zu", i, n);
			cr_assert_arr_eq(b, w, wl * HL, "stored path %zu of %zu", i, n);
			cr_assert_eq(wl, ref_path_len(i, n));
		}
		for (size_t m = 1; m <= n; m++) {
			uint8_t w[MAXP][HL], a[MAXP][HL], b[MAXP][HL];
			size_t wl = 0, al, bl;

			if (m < n)
				ref_subproof(m, CP(ls), n, true, w, &wl);
			cr_assert_eq(mc_merkle_consistency(CP(ls), m, n, a, &al), 0);
			cr_assert_eq(mc_mtree_consistency(&src, m, n, b, &bl), 0);
			cr_assert(al == wl && bl == wl, "%zu -> %zu", m, n);
			cr_assert_arr_eq(a, w, wl * HL, "in-memory proof %zu -> %zu", m, n);
			cr_assert_arr_eq(b, w, wl * HL, "stored proof %zu -> %zu", m, n);
			cr_assert_eq(wl, ref_subproof_len(m, n));
		}
	}
	cr_assert_eq(t->misses, 0, "only complete stored subtrees are read");
	free(t);
	free(ls);
}

/* Wrong claims are checked against the root of the claimed size: RFC 9162
 * verification binds a proof to a root, and a (leaf, root) pair can be
 * legitimately reachable under several claimed sizes with the same shape
 * (leaf 0 of 3 and of 4 both fold as H(H(l, a), b)). */
Test(merkle, every_inclusion_proof_up_to_70_verifies_and_any_change_breaks_it)
{
	uint8_t (*ls)[HL] = make_leaves(PX);
	uint8_t roots[PX + 1][HL];

	for (size_t n = 0; n <= PX; n++)
		mc_merkle_root(CP(ls), n, roots[n]);
	for (size_t n = 1; n <= PN; n++) {
		for (size_t i = 0; i < n; i++) {
			uint8_t p[MAXP + 1][HL];
			size_t len;

			cr_assert_eq(mc_merkle_inclusion(CP(ls), n, i, p, &len), 0);
			cr_assert_eq(mc_merkle_verify_inclusion(ls[i], i, n, CP(p), len, roots[n]), 0,
				     "leaf %zu of %zu", i, n);
			for (size_t k = 0; k < len; k++)
				for (size_t byte = 0; byte < HL; byte++) {
					p[k][byte] ^= (uint8_t)(1u << (byte % 8));
					if (mc_merkle_verify_inclusion(ls[i], i, n, CP(p), len, roots[n]) == 0)
						cr_assert_fail("leaf %zu of %zu: flipped path[%zu][%zu] verified", i, n, k, byte);
					p[k][byte] ^= (uint8_t)(1u << (byte % 8));
				}
			for (size_t j = 0; j < n + 2; j++)
				if (j != i && mc_merkle_verify_inclusion(ls[i], j, n, CP(p), len, roots[n]) == 0)
					cr_assert_fail("leaf %zu of %zu verified as index %zu", i, n, j);
			for (size_t m = 1; m <= PX; m++)
				if (m != n && mc_merkle_verify_inclusion(ls[i], i, m, CP(p), len, roots[m]) == 0)
					cr_assert_fail("leaf %zu of %zu verified in size %zu", i, n, m);
			if (n > 1)
				cr_assert_neq(mc_merkle_verify_inclusion(ls[(i + 1) % n], i, n, CP(p), len, roots[n]), 0,
					      "another leaf fails");
			cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, CP(p), len, roots[n - 1]), 0,
				      "another root fails");
			if (len) {
				cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, CP(p), len - 1, roots[n]), 0,
					      "a truncated proof fails");
				cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, CP(p + 1), len - 1, roots[n]), 0,
					      "a proof missing its first hash fails");
			}
			memcpy(p[len], roots[n], HL);
			cr_assert_neq(mc_merkle_verify_inclusion(ls[i], i, n, CP(p), len + 1, roots[n]), 0,
				      "trailing garbage fails");
		}
	}
	free(ls);
}

Test(merkle, every_consistency_proof_up_to_70_verifies_and_any_change_breaks_it)
{
	uint8_t (*ls)[HL] = make_leaves(PX);
	uint8_t roots[PX + 1][HL];

	for (size_t n = 0; n <= PX; n++)
		mc_merkle_root(CP(ls), n, roots[n]);
	for (size_t n2 = 1; n2 <= PN; n2++) {
		for (size_t n1 = 1; n1 <= n2; n1++) {
			const uint8_t *r1 = roots[n1], *r2 = roots[n2];
			uint8_t p[MAXP + 2][HL], bad[HL];
			size_t len;

			cr_assert_eq(mc_merkle_consistency(CP(ls), n1, n2, p + 1, &len), 0);
			cr_assert_eq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), len), 0,
				     "%zu -> %zu", n1, n2);
			cr_assert_eq(len == 0, n1 == n2, "only equal sizes have an empty proof");
			for (size_t k = 1; k <= len; k++)
				for (size_t byte = 0; byte < HL; byte++) {
					p[k][byte] ^= (uint8_t)(1u << (byte % 8));
					if (mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), len) == 0)
						cr_assert_fail("%zu -> %zu: flipped path[%zu][%zu] verified", n1, n2, k - 1, byte);
					p[k][byte] ^= (uint8_t)(1u << (byte % 8));
				}
			for (size_t m = 1; m <= n2; m++)
				if (m != n1 && mc_merkle_verify_consistency(m, n2, roots[m], r2, CP(p + 1), len) == 0)
					cr_assert_fail("%zu -> %zu verified as %zu -> %zu", n1, n2, m, n2);
			for (size_t m = 1; m <= PX; m++)
				if (m != n2 && mc_merkle_verify_consistency(n1, m, r1, roots[m], CP(p + 1), len) == 0)
					cr_assert_fail("%zu -> %zu verified as %zu -> %zu", n1, n2, n1, m);
			if (n1 < n2) {
				memcpy(bad, r1, HL);
				bad[0] ^= 1;
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, bad, r2, CP(p + 1), len), 0,
					      "a wrong old root fails");
				memcpy(bad, r2, HL);
				bad[31] ^= 0x80;
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, bad, CP(p + 1), len), 0,
					      "a wrong new root fails");
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r2, r1, CP(p + 1), len), 0,
					      "swapped roots fail");
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), 0), 0,
					      "an empty proof fails");
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), len - 1), 0,
					      "a truncated proof fails");
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 2), len - 1), 0,
					      "a proof missing its first hash fails");
				memcpy(p[0], r1, HL);
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p), len + 1), 0,
					      "a prepended old root fails");
				memcpy(p[len + 1], r2, HL);
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), len + 1), 0,
					      "a trailing new root fails");
			} else {
				memcpy(p[1], r1, HL);
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, r1, r2, CP(p + 1), 1), 0,
					      "equal sizes with a non-empty proof fail");
				memcpy(bad, r1, HL);
				bad[5] ^= 4;
				cr_assert_neq(mc_merkle_verify_consistency(n1, n2, bad, r2, CP(p + 1), 0), 0,
					      "equal sizes with different roots fail");
			}
		}
	}
	free(ls);
}

/* ---- stored trees ------------------------------------------------------ */

Test(merkle, stored_tree_operations_make_logarithmic_reads)
{
	static const uint64_t sizes[] = {
		1, 2, 3, 1000, (1ULL << 40) + 12345, (1ULL << 63) - 1, 1ULL << 63,
		(1ULL << 63) + 1, UINT64_MAX,
	};
	const unsigned long bound = 2 * 64 + 2;

	for (size_t z = 0; z < MC_ARRAY_LEN(sizes); z++) {
		uint64_t size = sizes[z];
		uint64_t idx[] = { 0, 1, size / 3, size / 2, size - 2, size - 1 };
		uint64_t old[] = { 1, 2, 3, size / 3, size / 2 + 7, size - 1, size };
		struct synth s = { .size = size };
		struct mc_mtree_src src = { synth_get, &s };
		uint8_t root[HL], p[MAXP][HL];
		size_t len;

		cr_assert_eq(mc_mtree_root(&src, size, root), 0);
		cr_assert_leq(s.calls, 64, "root of %llu: %lu reads", (unsigned long long)size, s.calls);
		cr_assert_eq(s.calls, (unsigned long)__builtin_popcountll(size),
			     "a root reads one subtree per bit of the size");
		for (size_t j = 0; j < MC_ARRAY_LEN(idx); j++) {
			if (idx[j] >= size)
				continue;
			s.calls = 0;
			cr_assert_eq(mc_mtree_inclusion(&src, idx[j], size, p, &len), 0);
			cr_assert_leq(s.calls, bound, "inclusion %llu of %llu: %lu reads",
				      (unsigned long long)idx[j], (unsigned long long)size, s.calls);
			cr_assert_eq(len, ref_path_len(idx[j], size));
		}
		for (size_t j = 0; j < MC_ARRAY_LEN(old); j++) {
			unsigned want;
			int rc;

			if (old[j] == 0 || old[j] > size)
				continue;
			want = ref_subproof_len(old[j], size);
			s.calls = 0;
			rc = mc_mtree_consistency(&src, old[j], size, p, &len);
			cr_assert_leq(s.calls, bound, "consistency %llu -> %llu: %lu reads",
				      (unsigned long long)old[j], (unsigned long long)size, s.calls);
			if (want > MAXP) {
				cr_assert_eq(rc, -1, "%llu -> %llu needs %u hashes: refused",
					     (unsigned long long)old[j], (unsigned long long)size, want);
				cr_assert_eq(len, 0);
				continue;
			}
			cr_assert_eq(rc, 0);
			cr_assert_eq(len, want);
		}
		cr_assert_not(s.out_of_range, "no read beyond the %llu leaves", (unsigned long long)size);
	}
}

Test(merkle, the_one_odd_leaf_tree_used_below_is_a_real_merkle_tree)
{
	uint8_t (*ls)[HL] = calloc(PN, HL);

	cr_assert_not_null(ls);
	for (uint64_t n = 1; n <= PN; n++)
		for (uint64_t sp = 0; sp < n + 1; sp++) {
			struct lone t = { .size = n, .special = sp };
			struct mc_mtree_src src = { lone_get, &t };
			uint8_t want[HL], got[HL];

			for (uint64_t i = 0; i < n; i++)
				lone_leaf(i, &t, ls[i]);
			mc_merkle_root(CP(ls), n, want);
			cr_assert_eq(mc_mtree_root(&src, n, got), 0);
			cr_assert_arr_eq(got, want, HL, "size %llu, odd leaf %llu", (unsigned long long)n,
					 (unsigned long long)sp);
			cr_assert_not(t.out_of_range);
		}
	free(ls);
}

Test(merkle, proofs_from_huge_stored_trees_verify)
{
	static const uint64_t sizes[] = {
		1000, (1ULL << 40) + 12345, (1ULL << 63) - 1, 1ULL << 63, (1ULL << 63) + 1,
		UINT64_MAX,
	};

	for (size_t z = 0; z < MC_ARRAY_LEN(sizes); z++) {
		uint64_t size = sizes[z];
		uint64_t pos[] = { 0, 1, 2, size / 3, size / 2, size / 2 + 7, size - 2, size - 1 };

		for (size_t j = 0; j < MC_ARRAY_LEN(pos); j++) {
			struct lone t = { .size = size, .special = pos[j] };
			struct mc_mtree_src src = { lone_get, &t };
			uint8_t root[HL], r1[HL], leaf[HL], p[MAXP][HL];
			uint64_t m = pos[j] + 1;   /* the old tree ends with the odd leaf */
			size_t len;

			cr_assert_eq(mc_mtree_root(&src, size, root), 0);
			lone_leaf(pos[j], &t, leaf);
			cr_assert_eq(mc_mtree_inclusion(&src, pos[j], size, p, &len), 0);
			cr_assert_eq(mc_merkle_verify_inclusion(leaf, pos[j], size, CP(p), len, root), 0,
				     "leaf %llu of %llu", (unsigned long long)pos[j], (unsigned long long)size);
			cr_assert_neq(mc_merkle_verify_inclusion(leaf, pos[j] ^ 1, size, CP(p), len, root), 0);
			p[len / 2][7] ^= 2;
			cr_assert_neq(mc_merkle_verify_inclusion(leaf, pos[j], size, CP(p), len, root), 0);

			cr_assert_eq(mc_mtree_root(&src, m, r1), 0);
			if (ref_subproof_len(m, size) > MAXP) {
				cr_assert_eq(mc_mtree_consistency(&src, m, size, p, &len), -1);
				continue;
			}
			cr_assert_eq(mc_mtree_consistency(&src, m, size, p, &len), 0);
			cr_assert_eq(mc_merkle_verify_consistency(m, size, r1, root, CP(p), len), 0,
				     "%llu -> %llu", (unsigned long long)m, (unsigned long long)size);
			if (len) {
				p[len - 1][0] ^= 1;
				cr_assert_neq(mc_merkle_verify_consistency(m, size, r1, root, CP(p), len), 0);
			}
			cr_assert_not(t.out_of_range);
		}
	}
}

Test(merkle, the_exact_read_bound_at_2_40_plus_12345)
{
	uint64_t size = (1ULL << 40) + 12345;
	struct synth s = { .size = size };
	struct mc_mtree_src src = { synth_get, &s };
	uint8_t p[MAXP][HL];
	unsigned long worst_incl = 0, worst_cons = 0;
	size_t len;

	/* every 2^k-ish position and its neighbours */
	for (unsigned b = 0; b < 41; b++)
		for (uint64_t d = 0; d < 3; d++) {
			uint64_t i = (1ULL << b) - 1 + d;

			if (i < size) {
				s.calls = 0;
				cr_assert_eq(mc_mtree_inclusion(&src, i, size, p, &len), 0);
				worst_incl = s.calls > worst_incl ? s.calls : worst_incl;
			}
			if (i + 1 <= size) {
				s.calls = 0;
				cr_assert_eq(mc_mtree_consistency(&src, i + 1, size, p, &len), 0);
				cr_assert_eq(len, ref_subproof_len(i + 1, size));
				worst_cons = s.calls > worst_cons ? s.calls : worst_cons;
			}
		}
	cr_assert_leq(worst_incl, 2 * 64 + 2, "inclusion: %lu reads", worst_incl);
	cr_assert_leq(worst_cons, 2 * 64 + 2, "consistency: %lu reads", worst_cons);
	cr_assert_not(s.out_of_range);
}

Test(merkle, every_failed_source_read_fails_the_operation)
{
	static const uint64_t sizes[] = { 1, 2, 3, 5, 8, 13, 37, 64, 1000, (1ULL << 40) + 12345 };

	for (size_t z = 0; z < MC_ARRAY_LEN(sizes); z++) {
		uint64_t size = sizes[z];
		struct synth s = { .size = size, .fail_rc = -1 };
		struct mc_mtree_src src = { synth_get, &s };
		uint8_t out[HL], p[MAXP][HL];
		unsigned long c_root, c_incl, c_cons;
		uint64_t i = size / 3, m = size / 2 + 1;
		size_t len;

		cr_assert_eq(mc_mtree_root(&src, size, out), 0);
		c_root = s.calls;
		s.calls = 0;
		cr_assert_eq(mc_mtree_inclusion(&src, i, size, p, &len), 0);
		c_incl = s.calls;
		s.calls = 0;
		cr_assert_eq(mc_mtree_consistency(&src, m, size, p, &len), 0);
		c_cons = s.calls;
		for (int rc = -1; rc <= 1; rc += 2) {
			s.fail_rc = rc;
			for (unsigned long k = 1; k <= c_root; k++) {
				s.calls = 0;
				s.fail_at = k;
				cr_assert_eq(mc_mtree_root(&src, size, out), -1, "root %llu, read %lu fails",
					     (unsigned long long)size, k);
			}
			for (unsigned long k = 1; k <= c_incl; k++) {
				s.calls = 0;
				s.fail_at = k;
				cr_assert_eq(mc_mtree_inclusion(&src, i, size, p, &len), -1);
				cr_assert_eq(len, 0);
			}
			for (unsigned long k = 1; k <= c_cons; k++) {
				s.calls = 0;
				s.fail_at = k;
				cr_assert_eq(mc_mtree_consistency(&src, m, size, p, &len), -1);
				cr_assert_eq(len, 0);
			}
		}
	}
}

Test(merkle, proof_generation_refuses_bad_arguments)
{
	uint8_t (*ls)[HL] = make_leaves(8);
	struct synth s = { .size = UINT64_MAX };
	struct mc_mtree_src src = { synth_get, &s }, nosrc = { NULL, NULL };
	uint8_t p[MAXP][HL], out[HL];
	size_t len = 99;

	cr_assert_eq(mc_merkle_inclusion(CP(ls), 8, 8, p, &len), -1);
	cr_assert_eq(len, 0);
	cr_assert_eq(mc_merkle_inclusion(CP(ls), 0, 0, p, &len), -1);
	cr_assert_eq(mc_merkle_inclusion(CP(ls), 8, SIZE_MAX, p, &len), -1);
	cr_assert_eq(mc_merkle_consistency(CP(ls), 0, 8, p, &len), -1, "size1 == 0");
	cr_assert_eq(mc_merkle_consistency(CP(ls), 0, 0, p, &len), -1);
	cr_assert_eq(mc_merkle_consistency(CP(ls), 5, 4, p, &len), -1, "size1 > size2");
	cr_assert_eq(mc_mtree_inclusion(&src, 5, 5, p, &len), -1);
	cr_assert_eq(mc_mtree_inclusion(&src, UINT64_MAX, UINT64_MAX, p, &len), -1);
	cr_assert_eq(mc_mtree_inclusion(&src, 0, 0, p, &len), -1);
	cr_assert_eq(mc_mtree_consistency(&src, 0, 5, p, &len), -1);
	cr_assert_eq(mc_mtree_consistency(&src, 6, 5, p, &len), -1);
	cr_assert_eq(mc_mtree_consistency(&src, UINT64_MAX, 1, p, &len), -1);
	cr_assert_eq(mc_mtree_inclusion(&nosrc, 0, 2, p, &len), -1, "a source without get");
	cr_assert_eq(mc_mtree_root(&nosrc, 2, out), -1);
	/* the longest proofs: 64 hashes are fine, 65 are refused */
	cr_assert_eq(mc_mtree_inclusion(&src, 0, UINT64_MAX, p, &len), 0);
	cr_assert_eq(len, 64);
	cr_assert_eq(mc_mtree_consistency(&src, 1, UINT64_MAX, p, &len), 0);
	cr_assert_eq(len, 64);
	cr_assert_eq(ref_subproof_len(3, UINT64_MAX), 65);
	cr_assert_eq(mc_mtree_consistency(&src, 3, UINT64_MAX, p, &len), -1, "65 hashes");
	cr_assert_eq(len, 0);
	cr_assert_eq(mc_mtree_consistency(&src, 3, (1ULL << 63) + 1, p, &len), -1, "65 hashes");
	cr_assert_not(s.out_of_range);
	free(ls);
}

/* ---- appends ----------------------------------------------------------- */

Test(merkle, completed_subtrees_for_a_few_sizes)
{
	unsigned lv[65];
	uint64_t ix[65];

	cr_assert_eq(mc_mtree_completed(0, lv, ix), 1);
	cr_assert(lv[0] == 0 && ix[0] == 0);
	cr_assert_eq(mc_mtree_completed(1, lv, ix), 2);
	cr_assert(lv[0] == 0 && ix[0] == 1 && lv[1] == 1 && ix[1] == 0);
	cr_assert_eq(mc_mtree_completed(6, lv, ix), 1);
	cr_assert(lv[0] == 0 && ix[0] == 6);
	cr_assert_eq(mc_mtree_completed(7, lv, ix), 4);
	for (unsigned k = 0; k < 4; k++)
		cr_assert(lv[k] == k && ix[k] == 7u >> k, "(%u, %llu)", lv[k], (unsigned long long)ix[k]);
	cr_assert_eq(mc_mtree_completed(11, lv, ix), 3);  /* 0b1011 */
	cr_assert(lv[2] == 2 && ix[2] == 2);
	cr_assert_eq(mc_mtree_completed((1ULL << 40) - 1, lv, ix), 41);
	cr_assert(lv[40] == 40 && ix[40] == 0);
	cr_assert_eq(mc_mtree_completed(UINT64_MAX, lv, ix), 65, "the 2^64 tree");
	for (unsigned k = 0; k < 65; k++)
		cr_assert(lv[k] == k && ix[k] == (k < 64 ? UINT64_MAX >> k : 0));
}

Test(merkle, appends_with_completed_subtrees_reproduce_in_memory_roots_1_to_300)
{
	uint8_t (*ls)[HL] = make_leaves(TMAX);
	struct table *t = calloc(1, sizeof(*t));
	struct mc_mtree_src src = { table_get, t };

	cr_assert_not_null(t);
	for (uint64_t i = 0; i < TMAX; i++) {
		unsigned lv[65], n;
		uint64_t ix[65];
		uint8_t want[HL], got[HL], a[MAXP][HL], b[MAXP][HL];
		size_t al, bl;

		n = mc_mtree_completed(i, lv, ix);
		cr_assert_eq(n, 1 + (unsigned)__builtin_ctzll(~i), "1 + trailing ones of %llu",
			     (unsigned long long)i);
		for (unsigned k = 0; k < n; k++) {
			cr_assert(lv[k] == k && ix[k] == i >> k);
			cr_assert_lt(lv[k], TLEVELS);
			if (lv[k] == 0) {
				memcpy(t->h[0][ix[k]], ls[i], HL);
			} else {
				cr_assert(t->have[lv[k] - 1][2 * ix[k]] && t->have[lv[k] - 1][2 * ix[k] + 1],
					  "children stored before (%u, %llu)", lv[k], (unsigned long long)ix[k]);
				mc_merkle_node_hash(t->h[lv[k] - 1][2 * ix[k]], t->h[lv[k] - 1][2 * ix[k] + 1],
						    t->h[lv[k]][ix[k]]);
			}
			t->have[lv[k]][ix[k]] = true;
		}
		mc_merkle_root(CP(ls), i + 1, want);
		cr_assert_eq(mc_mtree_root(&src, i + 1, got), 0);
		cr_assert_arr_eq(got, want, HL, "size %llu", (unsigned long long)i + 1);
		cr_assert_eq(mc_merkle_inclusion(CP(ls), i + 1, i / 2, a, &al), 0);
		cr_assert_eq(mc_mtree_inclusion(&src, i / 2, i + 1, b, &bl), 0);
		cr_assert(al == bl && memcmp(a, b, al * HL) == 0);
		cr_assert_eq(mc_merkle_consistency(CP(ls), i / 3 + 1, i + 1, a, &al), 0);
		cr_assert_eq(mc_mtree_consistency(&src, i / 3 + 1, i + 1, b, &bl), 0);
		cr_assert(al == bl && memcmp(a, b, al * HL) == 0);
	}
	cr_assert_eq(t->misses, 0, "the stored tree was never asked for an incomplete subtree");
	free(t);
	free(ls);
}

/* ---- hostile verifier arguments ----------------------------------------- */

/* Each proof lives in a heap block of exactly len hashes, so valgrind (or
 * ASan) flags any read past path[len - 1]. */
static uint8_t (*exact_proof(size_t len, uint32_t *seed))[HL]
{
	uint8_t (*p)[HL] = malloc(len ? len * HL : 1);

	cr_assert_not_null(p);
	for (size_t i = 0; i < len * HL; i++) {
		*seed = *seed * 1103515245u + 12345u;
		((uint8_t *)p)[i] = (uint8_t)(*seed >> 16);
	}
	return p;
}

Test(merkle, hostile_verify_arguments_are_refused_without_reading_past_the_proof)
{
	static const uint64_t big[] = {
		UINT64_MAX, UINT64_MAX - 1, 1ULL << 63, (1ULL << 63) + 1, (1ULL << 63) - 1,
	};
	uint64_t vals[13 + MC_ARRAY_LEN(big)];
	size_t nv = 0;
	uint8_t leaf[HL], r1[HL], r2[HL];
	uint8_t (*one)[HL];
	uint32_t seed = 1;

	for (uint64_t v = 0; v < 13; v++)
		vals[nv++] = v;
	for (size_t k = 0; k < MC_ARRAY_LEN(big); k++)
		vals[nv++] = big[k];
	memset(leaf, 0x11, HL);
	memset(r1, 0x22, HL);
	memset(r2, 0x33, HL);

	/* lengths over the maximum are refused before anything is read */
	one = exact_proof(1, &seed);
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 0, 2, CP(one), SIZE_MAX, r1), 0);
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 3, UINT64_MAX, CP(one), MAXP + 1, r1), 0);
	cr_assert_neq(mc_merkle_verify_consistency(1, 2, r1, r2, CP(one), SIZE_MAX), 0);
	cr_assert_neq(mc_merkle_verify_consistency(3, UINT64_MAX, r1, r2, CP(one), MAXP + 1), 0);
	free(one);
	/* empty proofs need no array at all */
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 0, 0, NULL, 0, leaf), 0, "size 0");
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 1, 1, NULL, 0, leaf), 0, "index == size");
	cr_assert_neq(mc_merkle_verify_inclusion(leaf, 0, 2, NULL, 0, leaf), 0, "too short");
	cr_assert_eq(mc_merkle_verify_inclusion(leaf, 0, 1, NULL, 0, leaf), 0, "one leaf is its root");
	cr_assert_neq(mc_merkle_verify_consistency(0, 0, r1, r1, NULL, 0), 0, "size1 == 0");
	cr_assert_neq(mc_merkle_verify_consistency(0, 5, r1, r1, NULL, 0), 0, "size1 == 0");
	cr_assert_neq(mc_merkle_verify_consistency(2, 1, r1, r1, NULL, 0), 0, "size1 > size2");
	cr_assert_neq(mc_merkle_verify_consistency(4, 8, r1, r2, NULL, 0), 0, "empty proof");
	cr_assert_neq(mc_merkle_verify_consistency(3, 3, r1, r2, NULL, 0), 0, "different roots");
	cr_assert_eq(mc_merkle_verify_consistency(3, 3, r1, r1, NULL, 0), 0, "same tree");
	cr_assert_neq(mc_merkle_verify_consistency(3, 8, r1, r2, NULL, 0), 0, "empty proof, no p[0]");
	cr_assert_neq(mc_merkle_verify_consistency(UINT64_MAX - 2, UINT64_MAX, r1, r2, NULL, 0), 0);

	/* an interior node passed off as a leaf, or as a root, with a proof
	 * that stops early: the hashes chain up, only the sizes object */
	{
		uint8_t (*ls)[HL] = make_leaves(4);
		uint8_t n01[HL], n23[HL], root4[HL], pr[3][HL];

		mc_merkle_node_hash(ls[0], ls[1], n01);
		mc_merkle_node_hash(ls[2], ls[3], n23);
		mc_merkle_node_hash(n01, n23, root4);
		cr_assert_neq(mc_merkle_verify_inclusion(n01, 0, 4, CP(&n23), 1, root4), 0);
		cr_assert_neq(mc_merkle_verify_inclusion(n23, 3, 4, CP(&n01), 1, root4), 0);
		/* 3 -> 4 is [l2, l3, n01]; its first two hashes fold to (l2, n23) */
		memcpy(pr[0], ls[2], HL);
		memcpy(pr[1], ls[3], HL);
		memcpy(pr[2], n01, HL);
		cr_assert_neq(mc_merkle_verify_consistency(3, 4, ls[2], n23, CP(pr), 2), 0);
		mc_merkle_node_hash(n01, ls[2], r1);
		cr_assert_eq(mc_merkle_verify_consistency(3, 4, r1, root4, CP(pr), 3), 0);
		free(ls);
	}

	/* every small or extreme (index, size, len) with random hashes */
	for (size_t a = 0; a < nv; a++)
		for (size_t b = 0; b < nv; b++)
			for (size_t len = 0; len <= MAXP; len++) {
				uint8_t (*p)[HL] = exact_proof(len, &seed);

				if (mc_merkle_verify_inclusion(leaf, vals[a], vals[b], CP(p), len, r1) == 0)
					cr_assert_fail("inclusion %llu/%llu/%zu accepted", (unsigned long long)vals[a],
						(unsigned long long)vals[b], len);
				if (mc_merkle_verify_consistency(vals[a], vals[b], r1, r2, CP(p), len) == 0)
					cr_assert_fail("consistency %llu/%llu/%zu accepted",
						(unsigned long long)vals[a], (unsigned long long)vals[b], len);
				if (len == 1) {
					/* size1 == size2 with a non-empty proof, even equal roots */
					memcpy(p[0], r1, HL);
					cr_assert_neq(mc_merkle_verify_consistency(vals[a], vals[a], r1, r1, CP(p), 1), 0);
				}
				free(p);
			}
}
