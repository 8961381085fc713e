/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "anchortx.h"
#include "chainstate.h"
#include "ctree.h"
#include "i18n.h"

int mc_anchortx_commit(struct mc_txn *t, const struct mc_apply_ctx *ax,
		       const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_anchor_commit a;
	struct mc_anchored last;
	uint8_t root[MC_HASH_LEN], key[8], row[12 + MC_ANCHOR_COMMIT_LEN];
	struct mc_buf b;
	int rc;

	if (mc_anchor_commit_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_NODE | MC_ROLE_ANCHOR, err) != 0)
		return -1;
	if (a.tree_size > ax->height)
		return mc_refuse(err, ax, _("the anchor covers blocks that do not exist yet"));
	rc = mc_chain_anchored(t, UINT64_MAX, &last, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && a.tree_size <= last.a.tree_size)
		return mc_refuse(err, ax, _("an anchor must cover more blocks than the one before it"));
	if (mc_ctree_root(t, a.tree_size, root, err) != 0)
		return -1;
	if (memcmp(root, a.root, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the anchored root is not this chain's root at that size"));
	mc_be64(key, a.tree_size);
	mc_be64(row, ax->height);
	mc_be32(row + 8, ax->tx_index);
	mc_buf_init(&b);
	mc_anchor_commit_encode(&a, &b);
	if (mc_buf_failed(&b) || b.len != MC_ANCHOR_COMMIT_LEN) {
		mc_buf_release(&b);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(row + 12, b.data, b.len);
	mc_buf_release(&b);
	return mc_txn_put(t, MC_DB_ANCHORED, key, 8, row, sizeof(row), err);
}
