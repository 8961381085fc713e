/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "journal.h"
#include "model_anchors.h"

static int add(struct mc_txn *t, const struct mc_anchor_entry *e, void *vctx, struct mc_err *err)
{
	struct mc_anchor_rows *out = vctx;
	struct mc_anchor_row *r;
	int ck;

	if (out->n == MC_ANCHOR_ROWS_MAX)
		return 1;
	if ((ck = mc_journal_consistency(t, e, err)) == -2)
		return -1;
	r = &out->rows[out->n++];
	memset(r, 0, sizeof(*r));
	r->seq = e->seq;
	snprintf(r->state, sizeof(r->state), "%s", mc_anchor_state_name(e->state));
	r->tree_size = e->tree_size;
	memcpy(r->root, e->root, MC_HASH_LEN);
	r->public_chain_id = e->public_chain_id;
	r->nonce = e->nonce;
	memcpy(r->tx, e->state == MC_ANCHOR_MINED || e->state == MC_ANCHOR_CONFIRMED ? e->mined_tx
									      : e->attempts[e->nattempts - 1].hash, 32);
	r->block = e->mined_block;
	r->attempts = e->nattempts;
	r->created_ms = e->created_ms;
	r->commit_height = e->commit_height;
	r->consistency = ck;
	return 0;
}

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_anchor_rows *out = vctx;
	struct mc_head head;
	int rc;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	out->chain_height = head.height;
	rc = mc_chain_anchored(t, UINT64_MAX, &out->last, err);
	if (rc < 0)
		return -1;
	out->anchored = rc == 0;
	if (mc_txn_count(t, MC_DB_JOURNAL, &out->total, err) != 0)
		return -1;
	return mc_journal_each(t, true, add, out, err);
}

int mc_anchor_rows_load(struct mc_store *s, struct mc_anchor_rows *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	return mc_store_read(s, rows_txn, out, err);
}
