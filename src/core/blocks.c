/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "chain.h"
#include "i18n.h"
#include "merkle.h"
#include "valset.h"

struct leafs {
	uint8_t (*v)[MC_HASH_LEN];
	size_t n, cap;
};

static int leafs_add(struct leafs *l, const struct mc_tx *tx, struct mc_err *err)
{
	uint8_t h[MC_HASH_LEN];

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * MC_HASH_LEN);

		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		l->v = p;
		l->cap = cap;
	}
	mc_tx_hash(tx, h);
	mc_merkle_leaf_hash(h, MC_HASH_LEN, l->v[l->n++]);
	return 0;
}

/* Applies one tx with its side rows at (height, index). */
static int apply_txin(struct mc_txn *t, const struct mc_head *head, uint8_t version, uint64_t height,
		      uint32_t index, uint64_t time_ms, const struct mc_txin *in, bool sigs_checked,
		      struct mc_tx *tx, struct mc_err *err)
{
	struct mc_apply_ctx ax;

	memset(&ax, 0, sizeof(ax));
	ax.block_version = version;
	ax.height = height;
	ax.tx_index = index;
	ax.block_time_ms = time_ms;
	memcpy(ax.chain_id, head->chain_id, MC_HASH_LEN);
	ax.sig_checked = sigs_checked;
	ax.untrusted = true;
	if (mc_tx_decode(in->tx, in->tx_len, tx, err) != 0 ||
	    mc_side_write(t, height, index, tx, in->side, in->side_len, &ax.partial, err) != 0)
		return mc_err_wrap(err, _("block %llu, tx %u"), (unsigned long long)height, index);
	return mc_chain_apply_tx(t, &ax, tx, in->tx, in->tx_len, err);
}

static int valset_now(struct mc_txn *t, uint8_t (*vals)[MC_PK_LEN], size_t *nval,
		      uint8_t hash[MC_HASH_LEN], struct mc_err *err)
{
	if (mc_chain_validators(t, vals, nval, err) != 0)
		return -1;
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vals, *nval, hash);
	return 0;
}


/* Before a single tx is applied: the proposer leads the block's view now,
 * or the block's first tx is a VIEW_CHANGE naming it the leader of that
 * view (its votes are checked when it is applied). */
static int leader_precheck(struct mc_txn *t, const struct mc_bundle *b, struct mc_err *err)
{
	uint8_t leader[MC_PK_LEN];
	uint64_t view;
	struct mc_tx tx;
	struct mc_view_change vc;

	if (mc_chain_leader(t, leader, &view, err) != 0)
		return -1;
	if (memcmp(b->h.proposer, leader, MC_PK_LEN) == 0 && b->h.view == view)
		return 0;
	if (b->count && mc_tx_decode(b->txs[0].tx, b->txs[0].tx_len, &tx, NULL) == 0 &&
	    tx.type == MC_TX_VIEW_CHANGE && mc_view_change_decode(tx.body, tx.body_len, &vc, NULL) == 0 &&
	    vc.view == b->h.view && vc.view > view && memcmp(vc.leader, b->h.proposer, MC_PK_LEN) == 0)
		return 0;
	return mc_err_set(err, EX_NOPERM, _("block %llu was not proposed by the leader of its view"),
			  (unsigned long long)b->h.height);
}

/* The block holds a NODE_ROTATE of its proposer's key to leader: the
 * leader's own rotation, proposed under the key it retires. */
static bool rotated_leader(const struct mc_bundle *b, const uint8_t leader[MC_PK_LEN])
{
	for (uint32_t i = 0; i < b->count; i++) {
		struct mc_tx tx;
		struct mc_node_rotate ro;

		if (mc_tx_decode(b->txs[i].tx, b->txs[i].tx_len, &tx, NULL) == 0 && tx.type == MC_TX_NODE_ROTATE &&
		    mc_node_rotate_decode(tx.body, tx.body_len, &ro, NULL) == 0 &&
		    memcmp(ro.old_pk, b->h.proposer, MC_PK_LEN) == 0 && memcmp(ro.new_pk, leader, MC_PK_LEN) == 0)
			return true;
	}
	return false;
}

int mc_block_apply(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, uint64_t now_ms,
		   struct mc_err *err)
{
	return mc_block_apply_sigs(t, b, flags, NULL, now_ms, err);
}

/* What a block must be before any of its txs is looked at: of this chain,
 * of a version not older than the head's, next after the head, in time, of
 * the validator set in force, certified by it (a commit), proposed by the
 * leader of its view (or naming itself in a first VIEW_CHANGE). The head in
 * *head. */
static int block_head_check(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, uint64_t now_ms,
			    struct mc_head *head, struct mc_err *err)
{
	const struct mc_header *h = &b->h;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN], vhash[MC_HASH_LEN];
	size_t nval;

	if (mc_chain_head(t, head, err) != 0)
		return -1;
	if (head->empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	if (memcmp(h->chain_id, head->chain_id, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu is not of this chain"),
				  (unsigned long long)h->height);
	{
		/* A chain's block versions never go down: once a block of this
		 * build's version is in, the rules of older ones are over. */
		struct mc_header ph;
		struct mc_cert pc;

		if (mc_chain_block(t, head->height, &ph, &pc, err) != 0)
			return -1;
		if (h->version < ph.version || ((flags & MC_APPLY_PROPOSAL) && h->version != MC_BLOCK_VERSION))
			return mc_err_set(err, EX_DATAERR, _("block %llu: its version is older than the previous block's"),
					  (unsigned long long)h->height);
	}
	if (h->height != head->height + 1 || memcmp(h->prev, head->hash, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu does not follow the head (%llu)"),
				  (unsigned long long)h->height, (unsigned long long)head->height);
	if (h->timestamp_ms < head->timestamp_ms ||
	    ((flags & MC_APPLY_PROPOSAL) && h->timestamp_ms > now_ms + MC_BLOCK_SKEW_MS))
		return mc_err_set(err, EX_DATAERR, _("block %llu: its time is out of order"),
				  (unsigned long long)h->height);
	/* The set in force for this block: before its own txs change it. */
	if (valset_now(t, vals, &nval, vhash, err) != 0)
		return -1;
	if (memcmp(vhash, h->valset_hash, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu names another validator set"),
				  (unsigned long long)h->height);
	if ((flags & MC_APPLY_COMMIT) &&
	    mc_cert_check(&b->cert, b->hash, (const uint8_t (*)[MC_PK_LEN])vals, nval, err) != 0)
		return mc_err_wrap(err, _("block %llu"), (unsigned long long)h->height);
	return leader_precheck(t, b, err);
}

int mc_block_precheck(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, uint64_t now_ms,
		      struct mc_err *err)
{
	struct mc_head head;

	return block_head_check(t, b, flags, now_ms, &head, err);
}

int mc_block_apply_sigs(struct mc_txn *t, const struct mc_bundle *b, unsigned flags, const uint8_t *sig_ok,
			uint64_t now_ms, struct mc_err *err)
{
	const struct mc_header *h = &b->h;
	uint8_t root[MC_HASH_LEN];
	uint8_t leader[MC_PK_LEN];
	uint64_t view;
	struct mc_head head;
	struct leafs l = { NULL, 0, 0 };
	int rc = 0;

	if (block_head_check(t, b, flags, now_ms, &head, err) != 0)
		return -1;
	for (uint32_t i = 0; i < b->count && rc == 0; i++) {
		struct mc_tx tx;

		rc = apply_txin(t, &head, h->version, h->height, i, h->timestamp_ms, &b->txs[i],
				(flags & MC_APPLY_SIGS_CHECKED) != 0 || (sig_ok && sig_ok[i]), &tx, err);
		if (rc == 0)
			rc = leafs_add(&l, &tx, err);
	}
	if (rc == 0) {
		mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])l.v, l.n, root);
		if (memcmp(root, h->tx_root, MC_HASH_LEN) != 0 || l.n != h->tx_count)
			rc = mc_err_set(err, EX_DATAERR, _("block %llu: its txs do not match its tx root"),
					(unsigned long long)h->height);
	}
	free(l.v);
	if (rc != 0)
		return -1;
	/* The leader and view in force once the block's txs (a VIEW_CHANGE
	 * first of all) are applied. */
	if (mc_chain_leader(t, leader, &view, err) != 0)
		return -1;
	if ((memcmp(h->proposer, leader, MC_PK_LEN) != 0 && !rotated_leader(b, leader)) || h->view != view)
		return mc_err_set(err, EX_NOPERM, _("block %llu was not proposed by the leader of its view"),
				  (unsigned long long)h->height);
	if (flags & MC_APPLY_COMMIT)
		return mc_chain_store_block(t, h, &b->cert, b->hash, err);
	return 0;
}

int mc_block_build(struct mc_txn *t, const uint8_t proposer[MC_PK_LEN], const struct mc_txin *in,
		   size_t n, uint8_t *status, size_t max_txs, uint64_t now_ms, mc_refused_fn refused,
		   void *rctx, struct mc_header *h, struct mc_err *err)
{
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	struct mc_head head;
	struct leafs l = { NULL, 0, 0 };
	uint64_t height, time_ms;
	int rc = 0;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	memset(h, 0, sizeof(*h));
	h->version = MC_BLOCK_VERSION;
	memcpy(h->chain_id, head.chain_id, MC_HASH_LEN);
	height = h->height = head.height + 1;
	memcpy(h->prev, head.hash, MC_HASH_LEN);
	time_ms = h->timestamp_ms = now_ms > head.timestamp_ms ? now_ms : head.timestamp_ms;
	memcpy(h->proposer, proposer, MC_PK_LEN);
	if (valset_now(t, vals, &nval, h->valset_hash, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)   /* an earlier attempt's picks */
		if (status[i] == MC_TXIN_IN)
			status[i] = MC_TXIN_PENDING;
	for (size_t i = 0; i < n && l.n < max_txs; i++) {
		struct mc_tx tx;
		struct mc_err e = { 0 };
		uint64_t next;

		if (status[i] != MC_TXIN_PENDING && status[i] != MC_TXIN_DEFERRED)
			continue;
		if (mc_tx_decode(in[i].tx, in[i].tx_len, &tx, &e) != 0 ||
		    mc_builder_next_seq(t, tx.author, &next, &e) != 0) {
			status[i] = MC_TXIN_REFUSED;
			refused(i, &e, rctx);
			continue;
		}
		if (tx.seq > next) {
			status[i] = MC_TXIN_DEFERRED;
			continue;
		}
		if (tx.seq < next) {
			/* EX_TEMPFAIL: its author signs it again with a new number */
			mc_err_set(&e, EX_TEMPFAIL, _("the sequence number is already used"));
			status[i] = MC_TXIN_REFUSED;
			refused(i, &e, rctx);
			continue;
		}
		rc = apply_txin(t, &head, MC_BLOCK_VERSION, height, (uint32_t)l.n, time_ms, &in[i], true, &tx, &e);
		if (rc != 0 && e.code != EX_DATAERR && e.code != EX_NOPERM) {
			/* the store failed (a full map grows and the build runs
			 * again), not the tx */
			if (err)
				*err = e;
			free(l.v);
			return -1;
		}
		if (rc != 0) {
			status[i] = MC_TXIN_REFUSED;
			refused(i, &e, rctx);
			free(l.v);
			return MC_BUILD_RETRY;
		}
		status[i] = MC_TXIN_IN;
		if (leafs_add(&l, &tx, err) != 0) {
			free(l.v);
			return -1;
		}
	}
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])l.v, l.n, h->tx_root);
	h->tx_count = (uint32_t)l.n;
	free(l.v);
	if (mc_chain_leader(t, h->proposer, &h->view, err) != 0)
		return -1;
	if (memcmp(h->proposer, proposer, MC_PK_LEN) != 0)
		return mc_err_set(err, EX_NOPERM, _("this node is not the leader"));
	return rc;
}

int mc_block_apply_genesis(struct mc_txn *t, const struct mc_bundle *b,
			   const uint8_t expect[MC_HASH_LEN], struct mc_err *err)
{
	static const uint8_t zeros[MC_HASH_LEN];
	const struct mc_header *h = &b->h;
	uint8_t one[1][MC_PK_LEN], vhash[MC_HASH_LEN], root[MC_HASH_LEN];
	struct mc_head head;
	struct leafs l = { NULL, 0, 0 };
	int rc = 0;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (!head.empty)
		return mc_err_set(err, EX_CANTCREAT, _("the chain already has a genesis block"));
	if (memcmp(b->hash, expect, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("the peer's genesis block is not the chain id given at init"));
	memcpy(one[0], h->proposer, MC_PK_LEN);
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])one, 1, vhash);
	if (h->height != 0 || memcmp(h->prev, zeros, MC_HASH_LEN) != 0 ||
	    memcmp(h->chain_id, zeros, MC_HASH_LEN) != 0 || memcmp(h->valset_hash, vhash, MC_HASH_LEN) != 0 ||
	    h->view != 0)
		return mc_err_set(err, EX_DATAERR, _("malformed genesis block"));
	if (mc_cert_check(&b->cert, b->hash, (const uint8_t (*)[MC_PK_LEN])one, 1, err) != 0)
		return mc_err_wrap(err, _("genesis block"));
	if (mc_chain_mark_format(t, err) != 0 || mc_valset_genesis(t, h->proposer, err) != 0)
		return -1;
	memset(head.chain_id, 0, MC_HASH_LEN);  /* genesis txs sign with a zero chain id */
	for (uint32_t i = 0; i < b->count && rc == 0; i++) {
		struct mc_tx tx;

		rc = apply_txin(t, &head, h->version, 0, i, h->timestamp_ms, &b->txs[i], false, &tx, err);
		if (rc == 0 && tx.type != MC_TX_IDENTITY_ENROLL)
			rc = mc_err_set(err, EX_DATAERR, _("a genesis block holds only enrolments"));
		if (rc == 0)
			rc = leafs_add(&l, &tx, err);
	}
	if (rc == 0) {
		mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])l.v, l.n, root);
		if (memcmp(root, h->tx_root, MC_HASH_LEN) != 0 || l.n != h->tx_count)
			rc = mc_err_set(err, EX_DATAERR, _("the genesis block's txs do not match its tx root"));
	}
	free(l.v);
	if (rc != 0)
		return -1;
	return mc_chain_store_block(t, h, &b->cert, b->hash, err) != 0 ? -1 : mc_chain_set_id(t, b->hash, err);
}
