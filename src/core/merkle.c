/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "merkle.h"

/* merkle.c - RFC 9162 Merkle trees.
 *
 * Every range the RFC 9162 recursion visits, starting from [0, n), is
 * aligned: the left part of [s, s + n) is [s, s + k) with k the largest power
 * of two below n and s a multiple of 2k, and the right part [s + k, s + n) has
 * fewer than k leaves and starts on a multiple of k. So a range's hash is the
 * RFC fold of the perfect aligned subtrees given by the bits of its size, and
 * a whole proof needs at most popcount(n) + depth source reads. */

void mc_merkle_leaf_hash(const void *data, size_t n, uint8_t out[MC_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, &prefix, 1);
	mc_sha256_update(&h, data, n);
	mc_sha256_final(&h, out);
}

/* out may alias left or right: both are absorbed before out is written. */
void mc_merkle_node_hash(const uint8_t left[MC_HASH_LEN], const uint8_t right[MC_HASH_LEN],
			 uint8_t out[MC_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, &prefix, 1);
	mc_sha256_update(&h, left, MC_HASH_LEN);
	mc_sha256_update(&h, right, MC_HASH_LEN);
	mc_sha256_final(&h, out);
}

static bool is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* Largest power of two strictly smaller than n (n >= 2), overflow-free for
 * every n up to UINT64_MAX. */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k < n - k)
		k <<= 1;
	return k;
}

/* log2 of a power of two. */
static unsigned log2_pow2(uint64_t n)
{
	unsigned l = 0;

	while (n > 1) {
		n >>= 1;
		l++;
	}
	return l;
}

static bool src_ok(const struct mc_mtree_src *src)
{
	return src != NULL && src->get != NULL;
}

/* MTH(D[start:start + n]) for n >= 1: perfect aligned ranges come straight
 * from the source, others split RFC 9162's way. */
static int range_hash(const struct mc_mtree_src *src, uint64_t start, uint64_t n,
		      uint8_t out[MC_HASH_LEN])
{
	uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];
	uint64_t k;

	if (is_pow2(n) && (start & (n - 1)) == 0) {
		unsigned level = log2_pow2(n);

		return src->get(src->ctx, level, start >> level, out) == 0 ? 0 : -1;
	}
	k = split_point(n);
	if (range_hash(src, start, k, l) != 0 || range_hash(src, start + k, n - k, r) != 0)
		return -1;
	mc_merkle_node_hash(l, r, out);
	return 0;
}

int mc_mtree_root(const struct mc_mtree_src *src, uint64_t size, uint8_t out[MC_HASH_LEN])
{
	if (size == 0) {
		mc_sha256("", 0, out);
		return 0;
	}
	if (!src_ok(src))
		return -1;
	return range_hash(src, 0, size, out);
}

/* Appends MTH(D[start:start + n]) to the proof, refusing to go past
 * MC_MERKLE_MAX_PROOF hashes. */
static int push(const struct mc_mtree_src *src, uint64_t start, uint64_t n,
		uint8_t p[][MC_HASH_LEN], size_t *len)
{
	if (*len >= MC_MERKLE_MAX_PROOF)
		return -1;
	if (range_hash(src, start, n, p[*len]) != 0)
		return -1;
	(*len)++;
	return 0;
}

/* RFC 9162 2.1.3.1 PATH(m, D[start:start + n]), written bottom-up. */
static int incl_path(const struct mc_mtree_src *src, uint64_t m, uint64_t start, uint64_t n,
		     uint8_t p[][MC_HASH_LEN], size_t *len)
{
	uint64_t k;

	if (n <= 1)
		return 0;
	k = split_point(n);
	if (m < k) {
		if (incl_path(src, m, start, k, p, len) != 0)
			return -1;
		return push(src, start + k, n - k, p, len);
	}
	if (incl_path(src, m - k, start + k, n - k, p, len) != 0)
		return -1;
	return push(src, start, k, p, len);
}

int mc_mtree_inclusion(const struct mc_mtree_src *src, uint64_t index, uint64_t size,
		       uint8_t p[][MC_HASH_LEN], size_t *len)
{
	*len = 0;
	if (!src_ok(src) || index >= size)
		return -1;
	if (incl_path(src, index, 0, size, p, len) != 0) {
		*len = 0;
		return -1;
	}
	return 0;
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[start:start + n], b), written bottom-up. */
static int subproof(const struct mc_mtree_src *src, uint64_t m, uint64_t start, uint64_t n,
		    bool b, uint8_t p[][MC_HASH_LEN], size_t *len)
{
	uint64_t k;

	if (m == n)
		return b ? 0 : push(src, start, n, p, len);
	k = split_point(n);
	if (m <= k) {
		if (subproof(src, m, start, k, b, p, len) != 0)
			return -1;
		return push(src, start + k, n - k, p, len);
	}
	if (subproof(src, m - k, start + k, n - k, false, p, len) != 0)
		return -1;
	return push(src, start, k, p, len);
}

int mc_mtree_consistency(const struct mc_mtree_src *src, uint64_t size1, uint64_t size2,
			 uint8_t p[][MC_HASH_LEN], size_t *len)
{
	*len = 0;
	if (!src_ok(src) || size1 == 0 || size1 > size2)
		return -1;
	if (size1 == size2)
		return 0;
	if (subproof(src, size1, 0, size2, true, p, len) != 0) {
		*len = 0;
		return -1;
	}
	return 0;
}

/* ---- in memory: a source computing perfect subtrees from the leaves ---- */

struct mem_src {
	const uint8_t (*leaves)[MC_HASH_LEN];
	uint64_t n;
};

/* Root of the perfect tree over leaves[0, 2^level). */
static void perfect_hash(const uint8_t (*leaves)[MC_HASH_LEN], unsigned level,
			 uint8_t out[MC_HASH_LEN])
{
	uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];

	if (level == 0) {
		memcpy(out, leaves[0], MC_HASH_LEN);
		return;
	}
	perfect_hash(leaves, level - 1, l);
	perfect_hash(leaves + ((size_t)1 << (level - 1)), level - 1, r);
	mc_merkle_node_hash(l, r, out);
}

static int mem_get(void *ctx, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN])
{
	const struct mem_src *m = ctx;

	/* leaves [index << level, (index + 1) << level) must lie within n */
	if (level >= 64 || index >= (m->n >> level))
		return -1;
	perfect_hash(m->leaves + (size_t)(index << level), level, out);
	return 0;
}

void mc_merkle_root(const uint8_t (*leaves)[MC_HASH_LEN], size_t n, uint8_t out[MC_HASH_LEN])
{
	struct mem_src m = { leaves, n };
	struct mc_mtree_src src = { mem_get, &m };

	if (mc_mtree_root(&src, n, out) != 0)
		memset(out, 0, MC_HASH_LEN);  /* unreachable: every read is in bounds */
}

int mc_merkle_inclusion(const uint8_t (*leaves)[MC_HASH_LEN], size_t n, size_t index,
			uint8_t p[][MC_HASH_LEN], size_t *len)
{
	struct mem_src m = { leaves, n };
	struct mc_mtree_src src = { mem_get, &m };

	return mc_mtree_inclusion(&src, index, n, p, len);
}

int mc_merkle_consistency(const uint8_t (*leaves)[MC_HASH_LEN], size_t n1, size_t n2,
			  uint8_t p[][MC_HASH_LEN], size_t *len)
{
	struct mem_src m = { leaves, n2 };
	struct mc_mtree_src src = { mem_get, &m };

	return mc_mtree_consistency(&src, n1, n2, p, len);
}

/* ---- verification ------------------------------------------------------ */

/* RFC 9162 2.1.3.2. Reads p[0 .. len - 1] at most. */
int mc_merkle_verify_inclusion(const uint8_t leaf[MC_HASH_LEN], uint64_t index, uint64_t size,
			       const uint8_t p[][MC_HASH_LEN], size_t len,
			       const uint8_t root[MC_HASH_LEN])
{
	uint8_t r[MC_HASH_LEN];
	uint64_t fn, sn;

	if (index >= size || len > MC_MERKLE_MAX_PROOF)
		return -1;
	fn = index;
	sn = size - 1;
	memcpy(r, leaf, MC_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			mc_merkle_node_hash(p[i], r, r);
			if (!(fn & 1)) {
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			mc_merkle_node_hash(r, p[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;
	return memcmp(r, root, MC_HASH_LEN) == 0 ? 0 : -1;
}

/* RFC 9162 2.1.4.2, with size1 == size2 accepted for an empty proof and equal
 * roots. Reads p[0 .. len - 1] at most. */
int mc_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[MC_HASH_LEN], const uint8_t root2[MC_HASH_LEN],
				 const uint8_t p[][MC_HASH_LEN], size_t len)
{
	uint8_t fr[MC_HASH_LEN], sr[MC_HASH_LEN];
	uint64_t fn, sn;
	size_t i;

	if (size1 == 0 || size1 > size2 || len > MC_MERKLE_MAX_PROOF)
		return -1;
	if (size1 == size2)
		return len == 0 && memcmp(root1, root2, MC_HASH_LEN) == 0 ? 0 : -1;
	if (len == 0)
		return -1;
	/* A power-of-two size1 is a node of the new tree: root1 is prepended
	 * to the path instead of being sent. */
	if (is_pow2(size1)) {
		memcpy(fr, root1, MC_HASH_LEN);
		i = 0;
	} else {
		memcpy(fr, p[0], MC_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MC_HASH_LEN);
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			mc_merkle_node_hash(p[i], fr, fr);
			mc_merkle_node_hash(p[i], sr, sr);
			if (!(fn & 1)) {
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			mc_merkle_node_hash(sr, p[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -1;
	if (memcmp(fr, root1, MC_HASH_LEN) != 0 || memcmp(sr, root2, MC_HASH_LEN) != 0)
		return -1;
	return 0;
}

/* ---- appends ----------------------------------------------------------- */

unsigned mc_mtree_completed(uint64_t size, unsigned levels[65], uint64_t indexes[65])
{
	unsigned n = 0;
	uint64_t i = size;

	levels[n] = 0;
	indexes[n++] = i;
	/* Each trailing one bit closes one more level; at most 64 of them, so
	 * appending leaf 2^64 - 1 completes the 2^64 tree at (64, 0). */
	while (i & 1) {
		i >>= 1;
		levels[n] = n;
		indexes[n++] = i;
	}
	return n;
}
