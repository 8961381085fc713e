/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "codec.h"
#include "ctree.h"
#include "i18n.h"
#include "merkle.h"

static void ctree_key(uint8_t key[9], unsigned level, uint64_t index)
{
	key[0] = (uint8_t)level;
	mc_be64(key + 1, index);
}

struct ctree_src_ctx {
	struct mc_txn *t;
	struct mc_err *err;
};

static int ctree_get(void *ctx, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN])
{
	struct ctree_src_ctx *c = ctx;
	uint8_t key[9];
	const void *v;
	size_t vn;
	int rc;

	ctree_key(key, level, index);
	rc = mc_txn_get(c->t, MC_DB_CTREE, key, sizeof(key), &v, &vn, c->err);
	if (rc != 0 || vn != MC_HASH_LEN) {
		if (rc >= 0)
			mc_err_set(c->err, EX_DATAERR, _("chain tree node %u/%llu is missing"),
				   level, (unsigned long long)index);
		return -1;
	}
	memcpy(out, v, MC_HASH_LEN);
	return 0;
}

int mc_ctree_node(struct mc_txn *t, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN],
		  struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };

	return ctree_get(&sc, level, index, out);
}

int mc_ctree_append(struct mc_txn *t, uint64_t height, const uint8_t block_hash[MC_HASH_LEN],
		    struct mc_err *err)
{
	unsigned levels[65];
	uint64_t indexes[65];
	unsigned n = mc_mtree_completed(height, levels, indexes);
	struct ctree_src_ctx sc = { t, err };
	uint8_t h[MC_HASH_LEN], key[9];

	for (unsigned i = 0; i < n; i++) {
		if (levels[i] == 0) {
			mc_merkle_leaf_hash(block_hash, MC_HASH_LEN, h);
		} else {
			uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];

			if (ctree_get(&sc, levels[i] - 1, indexes[i] * 2, l) != 0 ||
			    ctree_get(&sc, levels[i] - 1, indexes[i] * 2 + 1, r) != 0)
				return -1;
			mc_merkle_node_hash(l, r, h);
		}
		ctree_key(key, levels[i], indexes[i]);
		if (mc_txn_put(t, MC_DB_CTREE, key, sizeof(key), h, MC_HASH_LEN, err) != 0)
			return -1;
	}
	return 0;
}

int mc_ctree_root(struct mc_txn *t, uint64_t size, uint8_t out[MC_HASH_LEN], struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (mc_mtree_root(&src, size, out) != 0)
		return err && err->code ? -1 : mc_err_set(err, EX_DATAERR, _("cannot compute the chain tree root"));
	return 0;
}

int mc_ctree_inclusion(struct mc_txn *t, uint64_t index, uint64_t size,
		       uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (index >= size || mc_mtree_inclusion(&src, index, size, path, len) != 0)
		return err && err->code ? -1 : mc_err_set(err, EX_DATAERR, _("cannot compute a chain tree path"));
	return 0;
}

int mc_ctree_consistency(struct mc_txn *t, uint64_t size1, uint64_t size2,
			 uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (size1 == 0 || size1 > size2 || mc_mtree_consistency(&src, size1, size2, path, len) != 0)
		return err && err->code ? -1
					: mc_err_set(err, EX_DATAERR, _("cannot compute a chain tree consistency proof"));
	return 0;
}
