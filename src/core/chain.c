/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alerttx.h"
#include "anchortx.h"
#include "chain.h"
#include "consent.h"
#include "i18n.h"
#include "idtx.h"
#include "rectx.h"
#include "merkle.h"
#include "orgrot.h"
#include "replica.h"
#include "valset.h"

/* Each type's rule, from the one list of types (tx.h). */
static const mc_tx_apply_fn tx_apply[MC_TX__END] = {
#define TX_APPLY(name, number, apply, attach, audited) [number] = apply,
	MC_TX_TYPES(TX_APPLY)
#undef TX_APPLY
};

mc_tx_apply_fn mc_chain_tx_apply_fn(unsigned type)
{
	return type < MC_TX__END ? tx_apply[type] : NULL;
}

int mc_chain_apply_tx(struct mc_txn *t, const struct mc_apply_ctx *ax,
		      const struct mc_tx *tx, const uint8_t *enc, size_t enc_len,
		      struct mc_err *err)
{
	mc_tx_apply_fn apply;
	uint8_t hash[MC_HASH_LEN], loc[12], seqv[8];
	uint64_t last = 0;
	const void *v;
	size_t vn;
	int rc;

	if (!ax->sig_checked && mc_tx_verify_sig(tx, ax->chain_id) != 0)
		return mc_refuse(err, ax, _("bad signature"));
	rc = mc_txn_get(t, MC_DB_SEQS, tx->author, MC_PK_LEN, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (vn != 8)
			return mc_err_set(err, EX_DATAERR, _("malformed sequence number"));
		last = mc_from_be64(v);
	}
	if (tx->seq != last + 1)
		return mc_refuse(err, ax, _("out-of-order sequence number (a replay?)"));
	mc_be64(seqv, tx->seq);
	if (mc_txn_put(t, MC_DB_SEQS, tx->author, MC_PK_LEN, seqv, 8, err) != 0)
		return -1;

	/* The tx row goes in first: record states of this very tx (an
	 * amendment in the same batch, say) read their entries from it. A
	 * refusal aborts the whole write transaction. */
	mc_be64(loc, ax->height);
	mc_be32(loc + 8, ax->tx_index);
	if (mc_txn_put(t, MC_DB_TXS, loc, sizeof(loc), enc, enc_len, err) != 0)
		return -1;
	mc_tx_hash(tx, hash);
	/* Verify's replay never reads the index back: its rows go to a sort
	 * (store.h, mc_store_divert), where verify finds a duplicate and
	 * refuses it as here, naming the later tx. Keyed on the divert, not on
	 * the replay: an index that is there is always checked. */
	if (!mc_txn_diverted(t, MC_DB_TXIDX)) {
		rc = mc_txn_get(t, MC_DB_TXIDX, hash, MC_HASH_LEN, &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return mc_refuse(err, ax, _("duplicate transaction"));
	}
	if (mc_txn_put(t, MC_DB_TXIDX, hash, MC_HASH_LEN, loc, sizeof(loc), err) != 0)
		return -1;

	apply = mc_chain_tx_apply_fn(tx->type);
	rc = apply ? apply(t, ax, tx, err)
		   : mc_refuse(err, ax, _("this transaction type is not enabled on this chain"));
	if (rc != 0)
		return -1;
	if (tx->type != MC_TX_ANCHOR_COMMIT) {
		if (mc_chain_set_content_height(t, ax->height, err) != 0)
			return -1;
	}
	if (ax->height > 0 && !mc_tx_type_attach(tx->type) && tx->attach_len != 0)
		return mc_refuse(err, ax, _("unexpected attachment"));
	return 0;
}

struct mc_builder {
	uint64_t height;
	uint64_t time_ms;
	uint8_t chain_id[MC_HASH_LEN];
	uint8_t (*leaves)[MC_HASH_LEN];
	size_t count, cap;
};

const uint8_t *mc_builder_chain_id(const struct mc_builder *b)
{
	return b->chain_id;
}

uint64_t mc_builder_height(const struct mc_builder *b)
{
	return b->height;
}

uint64_t mc_builder_time(const struct mc_builder *b)
{
	return b->time_ms;
}

uint32_t mc_builder_tx_index(const struct mc_builder *b)
{
	return (uint32_t)b->count;
}

int mc_builder_next_seq(struct mc_txn *t, const uint8_t author[MC_PK_LEN], uint64_t *seq,
			struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_SEQS, author, MC_PK_LEN, &v, &vn, err);

	if (rc < 0)
		return -1;
	*seq = 1;
	if (rc == 0) {
		if (vn != 8)
			return mc_err_set(err, EX_DATAERR, _("malformed sequence number"));
		*seq = mc_from_be64(v) + 1;
	}
	return 0;
}

int mc_builder_add(struct mc_txn *t, struct mc_builder *b, const uint8_t *enc, size_t n,
		   struct mc_err *err)
{
	struct mc_apply_ctx ax = { .height = b->height, .block_time_ms = b->time_ms };
	struct mc_tx tx;
	uint8_t hash[MC_HASH_LEN];

	if (b->count >= MC_BLOCK_MAX_TXS)
		return mc_err_set(err, EX_SOFTWARE, _("block is full"));
	if (mc_tx_decode(enc, n, &tx, err) != 0)
		return -1;
	ax.tx_index = (uint32_t)b->count;
	memcpy(ax.chain_id, b->chain_id, MC_HASH_LEN);
	if (mc_chain_apply_tx(t, &ax, &tx, enc, n, err) != 0)
		return -1;
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		void *p = realloc(b->leaves, cap * MC_HASH_LEN);

		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		b->leaves = p;
		b->cap = cap;
	}
	mc_tx_hash(&tx, hash);
	mc_merkle_leaf_hash(hash, MC_HASH_LEN, b->leaves[b->count]);
	b->count++;
	return 0;
}

static int seal_block(struct mc_txn *t, struct mc_builder *b, const struct mc_key *node,
		      const uint8_t prev[MC_HASH_LEN], const uint8_t header_chain_id[MC_HASH_LEN],
		      struct mc_produced *out, struct mc_err *err)
{
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval = 0;
	bool member = false;
	struct mc_header h;
	struct mc_cert cert;

	/* the set in force at this height: a change in this block takes
	 * effect from the next one */
	if (mc_chain_validators_at(t, b->height, vals, &nval, err) != 0)
		return -1;
	for (size_t i = 0; i < nval; i++)
		member = member || memcmp(vals[i], node->pk, MC_PK_LEN) == 0;
	if (!member)
		return mc_err_set(err, EX_NOPERM, _("this node is not a validator"));
	if (nval != 1)
		return mc_err_set(err, EX_SOFTWARE, _("a block of several validators cannot be sealed alone"));
	memset(&h, 0, sizeof(h));
	h.version = MC_BLOCK_VERSION;
	memcpy(h.chain_id, header_chain_id, MC_HASH_LEN);
	h.height = b->height;
	memcpy(h.prev, prev, MC_HASH_LEN);
	h.timestamp_ms = b->time_ms;
	memcpy(h.proposer, node->pk, MC_PK_LEN);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])b->leaves, b->count, h.tx_root);
	h.tx_count = (uint32_t)b->count;
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vals, nval, h.valset_hash);
	h.view = 0;
	mc_block_hash(&h, out->hash);
	memset(&cert, 0, sizeof(cert));
	cert.count = 1;
	mc_vote_sign(out->hash, node->sk, node->pk, &cert.votes[0]);

	if (mc_chain_store_block(t, &h, &cert, out->hash, err) != 0)
		return -1;
	out->height = b->height;
	out->tx_count = h.tx_count;
	return 0;
}

struct produce_ctx {
	const struct mc_key *node;
	mc_build_fn build;
	void *ctx;
	struct mc_produced *out;
	struct mc_buf *remote;      /* the built txs, when another node makes the block */
	bool collected;
};

/* The chain's only validator is this node, and stays the only one: it
 * makes blocks itself. (The set in force for the block, as seal_block
 * checks it, is this node; the set the block's txs leave has one key: the
 * same, or this node's new key after a NODE_ROTATE. A NODE_ADD goes
 * through serve, whose engine then knows the new set.) */
static int sole_validator(struct mc_txn *t, const struct mc_key *node, uint64_t height, bool *sole,
			  struct mc_err *err)
{
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval = 0, after = 0;

	if (mc_chain_validators_at(t, height, vals, &nval, err) != 0)
		return -1;
	*sole = nval == 1 && memcmp(vals[0], node->pk, MC_PK_LEN) == 0;
	if (*sole && mc_chain_validators(t, vals, &after, err) != 0)
		return -1;
	*sole = *sole && after == 1;
	return 0;
}

static int produce_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct produce_ctx *pc = vctx;
	struct mc_builder b;
	struct mc_head head;
	uint64_t now = mc_now_ms();
	bool sole = true;
	int rc;

	memset(pc->out, 0, sizeof(*pc->out));
	pc->collected = false;
	/* Height and previous hash are read inside the write transaction. */
	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	memset(&b, 0, sizeof(b));
	b.height = head.height + 1;
	b.time_ms = now > head.timestamp_ms ? now : head.timestamp_ms;
	memcpy(b.chain_id, head.chain_id, MC_HASH_LEN);
	rc = pc->build(t, &b, pc->ctx, err);
	if (rc == 0 && b.count > 0)
		rc = sole_validator(t, pc->node, b.height, &sole, err);
	if (rc == 0 && b.count > 0) {
		if (sole) {
			rc = seal_block(t, &b, pc->node, head.hash, head.chain_id, pc->out, err);
		} else {
			/* Several validators: the built txs with their side rows go
			 * to the leader, and nothing of this transaction is kept. */
			mc_buf_reset(pc->remote);
			rc = mc_txins_load(t, b.height, (uint32_t)b.count, pc->remote, err);
			if (rc == 0) {
				pc->collected = true;
				rc = -1;   /* abort */
			}
		}
	}
	free(b.leaves);
	return rc;
}

int mc_chain_produce(struct mc_store *s, const struct mc_key *node, mc_build_fn build,
		     void *ctx, struct mc_produced *out, struct mc_err *err)
{
	struct mc_buf txs;
	struct produce_ctx pc = { node, build, ctx, out, &txs, false };
	void *remote_ctx = NULL;
	mc_remote_fn remote_fn = mc_store_remote(s, &remote_ctx);
	int rc;

	mc_buf_init(&txs);
	for (unsigned attempt = 0;; attempt++) {
		rc = mc_store_write(s, produce_txn, &pc, err);
		if (!pc.collected)
			break;
		memset(out, 0, sizeof(*out));
		rc = remote_fn ? remote_fn(txs.data, txs.len, attempt, out, remote_ctx, err)
			       : mc_err_set(err, EX_UNAVAILABLE,
					    _("this chain has several validators: writes go through `medchain serve`"));
		if (rc != MC_REMOTE_STALE)
			break;
		/* another writer of the same author took the sequence number:
		 * build again (the store has that tx now) and sign anew */
		if (attempt + 1 >= MC_REMOTE_ATTEMPTS) {
			rc = mc_err_set(err, EX_TEMPFAIL,
					_("%u attempts lost their sequence number to other writers of the same identity: try again"),
					MC_REMOTE_ATTEMPTS);
			break;
		}
	}
	mc_buf_release(&txs);
	return rc;
}

struct genesis_ctx {
	const struct mc_key *node;
	const struct mc_genesis_identity *ids;
	size_t n;
	mc_store_fn extra;
	void *extra_ctx;
	struct mc_produced *out;
};

static int genesis_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	static const uint8_t zeros[MC_HASH_LEN];
	struct genesis_ctx *g = vctx;
	struct mc_builder b;
	struct mc_head head;
	int rc = 0;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (!head.empty)
		return mc_err_set(err, EX_CANTCREAT, _("the chain already has a genesis block"));
	/* the validator set {node}, node leading view 0 */
	if (mc_chain_mark_format(t, err) != 0 || mc_valset_genesis(t, g->node->pk, err) != 0)
		return -1;
	memset(&b, 0, sizeof(b));
	b.height = 0;
	b.time_ms = mc_now_ms();
	for (size_t i = 0; i < g->n && rc == 0; i++) {
		struct mc_enroll e;
		struct mc_buf body;

		memset(&e, 0, sizeof(e));
		memcpy(e.pk, g->ids[i].key->pk, MC_PK_LEN);
		e.roles = g->ids[i].roles;
		e.name = (const uint8_t *)g->ids[i].name;
		e.name_len = strlen(g->ids[i].name);
		e.org = (const uint8_t *)g->ids[i].org;
		e.org_len = strlen(g->ids[i].org);
		mc_buf_init(&body);
		mc_enroll_encode(&e, &body);
		/* self-signed, sequence 1, zero chain id: the builder's state here */
		rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
					  : mc_builder_add_new(t, &b, g->ids[i].key, MC_TX_IDENTITY_ENROLL,
							       body.data, body.len, NULL, 0, err);
		mc_buf_release(&body);
	}
	if (rc == 0)
		rc = seal_block(t, &b, g->node, zeros, zeros, g->out, err);
	free(b.leaves);
	if (rc == 0)
		rc = mc_chain_set_id(t, g->out->hash, err);
	if (rc == 0 && g->extra)
		rc = g->extra(t, g->extra_ctx, err);
	return rc;
}

int mc_chain_genesis(struct mc_store *s, const struct mc_key *node,
		     const struct mc_genesis_identity *ids, size_t n,
		     mc_store_fn extra, void *extra_ctx, struct mc_produced *out,
		     struct mc_err *err)
{
	struct genesis_ctx g = { node, ids, n, extra, extra_ctx, out };

	return mc_store_write(s, genesis_txn, &g, err);
}

int mc_builder_add_new(struct mc_txn *t, struct mc_builder *b, const struct mc_key *author,
		       unsigned type, const uint8_t *body, size_t body_len,
		       const uint8_t *attach, size_t attach_len, struct mc_err *err)
{
	struct mc_tx tx;
	struct mc_buf enc;
	int rc;

	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)type;
	memcpy(tx.author, author->pk, MC_PK_LEN);
	tx.timestamp_ms = b->time_ms;
	if (mc_builder_next_seq(t, author->pk, &tx.seq, err) != 0)
		return -1;
	tx.body = body;
	tx.body_len = body_len;
	tx.attach = attach;
	tx.attach_len = attach_len;
	mc_tx_sign(&tx, b->chain_id, author->sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	rc = mc_buf_failed(&enc) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				 : mc_builder_add(t, b, enc.data, enc.len, err);
	mc_buf_release(&enc);
	return rc;
}

struct submit_ctx {
	const struct mc_key *author;
	unsigned type;
	const uint8_t *body;
	size_t body_len;
};

static int submit_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct submit_ctx *c = vctx;

	return mc_builder_add_new(t, b, c->author, c->type, c->body, c->body_len, NULL, 0, err);
}

int mc_chain_submit(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		    unsigned type, const uint8_t *body, size_t body_len,
		    struct mc_produced *out, struct mc_err *err)
{
	struct submit_ctx c = { author, type, body, body_len };

	return mc_chain_produce(s, node, submit_build, &c, out, err);
}
