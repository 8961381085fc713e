#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "journal.h"
#include "model_anchors.h"

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_anchor_rows *out = vctx;
	struct mc_anchor_entry *e = malloc(sizeof(*e));
	struct mc_cursor *c = NULL;
	struct mc_head head;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (!e)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = mc_chain_head(t, &head, err);
	if (rc == 0) {
		out->chain_height = head.height;
		rc = mc_chain_anchored(t, UINT64_MAX, &out->last, err);
		out->anchored = rc == 0;
		rc = rc < 0 ? -1 : 0;
	}
	if (rc == 0)
		rc = mc_txn_count(t, MC_DB_JOURNAL, &out->total, err);
	if (rc == 0)
		rc = mc_cursor_open(t, MC_DB_JOURNAL, &c, err);
	for (rc = rc == 0 ? mc_cursor_last(c, &k, &kn, &v, &vn, err) : -1;
	     rc == 0 && out->n < MC_ANCHOR_ROWS_MAX; rc = mc_cursor_prev(c, &k, &kn, &v, &vn, err)) {
		struct mc_anchor_row *r = &out->rows[out->n];
		int ck;

		if (kn != 8) {
			rc = mc_err_set(err, EX_DATAERR, _("a malformed anchor journal key"));
			break;
		}
		e->seq = mc_from_be64(k);
		if (mc_journal_decode(v, vn, e, err) != 0 || (ck = mc_journal_consistency(t, e, err)) == -2) {
			rc = -1;
			break;
		}
		memset(r, 0, sizeof(*r));
		r->seq = e->seq;
		snprintf(r->state, sizeof(r->state), "%s", mc_anchor_state_name(e->state));
		r->tree_size = e->tree_size;
		memcpy(r->root, e->root, MC_HASH_LEN);
		r->public_chain_id = e->public_chain_id;
		r->nonce = e->nonce;
		memcpy(r->tx, e->state == MC_ANCHOR_MINED || e->state == MC_ANCHOR_CONFIRMED
				      ? e->mined_tx : e->attempts[e->nattempts - 1].hash, 32);
		r->block = e->mined_block;
		r->attempts = e->nattempts;
		r->created_ms = e->created_ms;
		r->commit_height = e->commit_height;
		r->consistency = ck;
		out->n++;
	}
	if (c)
		mc_cursor_close(c);
	free(e);
	return rc < 0 ? -1 : 0;
}

int mc_anchor_rows_load(struct mc_store *s, struct mc_anchor_rows *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	return mc_store_read(s, rows_txn, out, err);
}
