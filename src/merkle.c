#include "config.h"

#include <string.h>

#include "merkle.h"

void mc_merkle_leaf_hash(const void *data, size_t n, uint8_t out[MC_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, &prefix, 1);
	mc_sha256_update(&h, data, n);
	mc_sha256_final(&h, out);
}

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

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static unsigned log2_exact(uint64_t n)
{
	unsigned l = 0;

	while ((1ULL << l) < n)
		l++;
	return l;
}

static bool is_pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* Hash of leaves [start, start + n). Perfect aligned ranges come straight
 * from the source; others split RFC 9162's way. O(log n) source reads. */
static int range_hash(const struct mc_mtree_src *src, uint64_t start, uint64_t n,
		      uint8_t out[MC_HASH_LEN])
{
	uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];
	uint64_t k;

	if (n == 0) {
		mc_sha256("", 0, out);
		return 0;
	}
	if (is_pow2(n) && (start & (n - 1)) == 0)
		return src->get(src->ctx, log2_exact(n), start >> log2_exact(n), out);
	k = split_point(n);
	if (range_hash(src, start, k, l) != 0 || range_hash(src, start + k, n - k, r) != 0)
		return -1;
	mc_merkle_node_hash(l, r, out);
	return 0;
}

int mc_mtree_root(const struct mc_mtree_src *src, uint64_t size, uint8_t out[MC_HASH_LEN])
{
	return range_hash(src, 0, size, out);
}

/* RFC 9162 2.1.3.1 PATH(m, D[start:start+n]), appended bottom-up. */
static int path(const struct mc_mtree_src *src, uint64_t m, uint64_t start, uint64_t n,
		uint8_t p[][MC_HASH_LEN], size_t *len)
{
	uint64_t k;

	if (n <= 1)
		return 0;
	k = split_point(n);
	if (m < k) {
		if (path(src, m, start, k, p, len) != 0)
			return -1;
		if (*len >= MC_MERKLE_MAX_PROOF)
			return -1;
		return range_hash(src, start + k, n - k, p[(*len)++]);
	}
	if (path(src, m - k, start + k, n - k, p, len) != 0)
		return -1;
	if (*len >= MC_MERKLE_MAX_PROOF)
		return -1;
	return range_hash(src, start, k, p[(*len)++]);
}

int mc_mtree_inclusion(const struct mc_mtree_src *src, uint64_t index, uint64_t size,
		       uint8_t p[][MC_HASH_LEN], size_t *len)
{
	*len = 0;
	if (index >= size)
		return -1;
	return path(src, index, 0, size, p, len);
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[start:start+n], b). */
static int subproof(const struct mc_mtree_src *src, uint64_t m, uint64_t start, uint64_t n,
		    bool b, uint8_t p[][MC_HASH_LEN], size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (b)
			return 0;
		if (*len >= MC_MERKLE_MAX_PROOF)
			return -1;
		return range_hash(src, start, n, p[(*len)++]);
	}
	k = split_point(n);
	if (m <= k) {
		if (subproof(src, m, start, k, b, p, len) != 0)
			return -1;
		if (*len >= MC_MERKLE_MAX_PROOF)
			return -1;
		return range_hash(src, start + k, n - k, p[(*len)++]);
	}
	if (subproof(src, m - k, start + k, n - k, false, p, len) != 0)
		return -1;
	if (*len >= MC_MERKLE_MAX_PROOF)
		return -1;
	return range_hash(src, start, k, p[(*len)++]);
}

int mc_mtree_consistency(const struct mc_mtree_src *src, uint64_t size1, uint64_t size2,
			 uint8_t p[][MC_HASH_LEN], size_t *len)
{
	*len = 0;
	if (size1 == 0 || size1 > size2)
		return -1;
	if (size1 == size2)
		return 0;
	return subproof(src, size1, 0, size2, true, p, len);
}

/* In-memory source: perfect subtree hashes computed from the leaves. */
struct mem_src {
	const uint8_t (*leaves)[MC_HASH_LEN];
	size_t n;
};

static int mem_get(void *ctx, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN])
{
	struct mem_src *m = ctx;
	uint64_t start, count;
	uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];

	if (level >= 64)
		return -1;
	count = 1ULL << level;
	start = index << level;
	if (start >= m->n || count > m->n - start)
		return -1;
	if (level == 0) {
		memcpy(out, m->leaves[start], MC_HASH_LEN);
		return 0;
	}
	if (mem_get(ctx, level - 1, index * 2, l) != 0 || mem_get(ctx, level - 1, index * 2 + 1, r) != 0)
		return -1;
	mc_merkle_node_hash(l, r, out);
	return 0;
}

void mc_merkle_root(const uint8_t (*leaves)[MC_HASH_LEN], size_t n, uint8_t out[MC_HASH_LEN])
{
	struct mem_src m = { leaves, n };
	struct mc_mtree_src src = { mem_get, &m };

	if (mc_mtree_root(&src, n, out) != 0)
		memset(out, 0, MC_HASH_LEN);  /* unreachable: every range is in bounds */
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

/* RFC 9162 2.1.3.2 */
int mc_merkle_verify_inclusion(const uint8_t leaf[MC_HASH_LEN], uint64_t index, uint64_t size,
			       const uint8_t p[][MC_HASH_LEN], size_t len,
			       const uint8_t root[MC_HASH_LEN])
{
	uint64_t fn = index, sn = size - 1;
	uint8_t r[MC_HASH_LEN];

	if (index >= size || len > MC_MERKLE_MAX_PROOF)
		return -1;
	memcpy(r, leaf, MC_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			mc_merkle_node_hash(p[i], r, r);
			if (!(fn & 1)) {
				while (fn && !(fn & 1)) {
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

/* RFC 9162 2.1.4.2 */
int mc_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[MC_HASH_LEN], const uint8_t root2[MC_HASH_LEN],
				 const uint8_t p[][MC_HASH_LEN], size_t len)
{
	uint8_t fr[MC_HASH_LEN], sr[MC_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (size1 == 0 || size1 > size2 || len > MC_MERKLE_MAX_PROOF)
		return -1;
	if (size1 == size2)
		return len == 0 && memcmp(root1, root2, MC_HASH_LEN) == 0 ? 0 : -1;
	if (len == 0)
		return -1;
	/* If size1 is a power of two, the first root is the first node. */
	fn = size1 - 1;
	sn = size2 - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	if (is_pow2(size1)) {
		memcpy(fr, root1, MC_HASH_LEN);
		memcpy(sr, root1, MC_HASH_LEN);
	} else {
		memcpy(fr, p[0], MC_HASH_LEN);
		memcpy(sr, p[0], MC_HASH_LEN);
		i = 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) || fn == sn) {
			mc_merkle_node_hash(p[i], fr, fr);
			mc_merkle_node_hash(p[i], sr, sr);
			if (!(fn & 1)) {
				while (fn && !(fn & 1)) {
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

unsigned mc_mtree_completed(uint64_t size, unsigned levels[65], uint64_t indexes[65])
{
	unsigned n = 0;
	uint64_t i = size;

	levels[n] = 0;
	indexes[n++] = size;
	for (unsigned l = 1; (i & 1) && l < 64; l++) {
		i >>= 1;
		levels[n] = l;
		indexes[n++] = i;
	}
	return n;
}
