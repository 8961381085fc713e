/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "anchor.h"
#include "anchorrun.h"
#include "anchorwatch.h"
#include "chain.h"
#include "ethtx.h"
#include "i18n.h"
#include "rpc.h"

enum progress { P_PENDING, P_CONFIRMED, P_SUPERSEDED };
enum sent { SENT_OK, SENT_NONCE_USED, SENT_UNDERPRICED, SENT_FEE_LOW };

struct run {
	struct mc_store *s;
	const struct mc_anchor_opts *o;
	struct mc_rpc *rpc;
	struct mc_anchor_result *res;
	uint8_t addr[20];
	uint64_t chain_id;                  /* public */
	uint8_t priv_chain_id[MC_HASH_LEN];
};

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct run *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!r->o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->o->note(msg, r->o->note_ctx);
}

static uint64_t now_ms(void)
{
	return mc_now_ms();
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

uint64_t mc_anchor_intrinsic_gas(const uint8_t *data, size_t n)
{
	uint64_t zero = 0, nz = 0, standard, floor;

	for (size_t i = 0; i < n; i++) {
		if (data[i])
			nz++;
		else
			zero++;
	}
	standard = 21000 + 4 * zero + 16 * nz;
	floor = 21000 + 10 * (zero + 4 * nz);
	return standard > floor ? standard : floor;
}

/* ---- the journal through the store ------------------------------------ */

struct jctx {
	struct mc_anchor_entry *e;
	int found;
};

static int last_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct jctx *c = vctx;
	int rc = mc_journal_last(t, c->e, err);

	if (rc < 0)
		return -1;
	c->found = rc == 0;
	return 0;
}

static int journal_last(struct mc_store *s, struct mc_anchor_entry *e, bool *found,
			struct mc_err *err)
{
	struct jctx c = { e, 0 };

	if (mc_store_read(s, last_txn, &c, err) != 0)
		return -1;
	*found = c.found;
	return 0;
}

static int put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_journal_put(t, vctx, err);
}

/* Durable: mc_store_write commits with fsync before it returns. */
static int journal_write(struct run *r, struct mc_anchor_entry *e, struct mc_err *err)
{
	return mc_store_write(r->s, put_txn, e, err);
}

static bool pending_state(unsigned st)
{
	return st == MC_ANCHOR_PLANNED || st == MC_ANCHOR_BROADCAST || st == MC_ANCHOR_MINED;
}

/* ---- signing and sending ------------------------------------------------ */

static int sign_attempt(struct run *r, const struct mc_anchor_entry *e, uint64_t max_fee,
			uint64_t tip, struct mc_anchor_attempt *a, struct mc_err *err)
{
	uint8_t payload[MC_ANCHOR_PAYLOAD_LEN];
	struct mc_eth_tx tx;
	struct mc_buf raw;
	int rc;

	mc_anchor_payload(r->priv_chain_id, e->tree_size, e->root, payload);
	memset(&tx, 0, sizeof(tx));
	tx.legacy = e->legacy;
	tx.chain_id = e->public_chain_id;
	tx.nonce = e->nonce;
	tx.max_fee = max_fee;
	tx.max_priority_fee = tip;
	tx.gas_price = max_fee;
	tx.gas_limit = e->gas_limit;
	memcpy(tx.to, e->address, 20);   /* to itself: value 0, no contract */
	tx.data = payload;
	tx.data_len = sizeof(payload);
	mc_buf_init(&raw);
	rc = mc_eth_sign(&tx, r->o->anchor_key->sk, &raw, a->hash, err);
	if (rc == 0 && raw.len > MC_ANCHOR_RAW_MAX)
		rc = mc_err_set(err, EX_SOFTWARE, _("the signed anchor transaction is too large"));
	if (rc == 0) {
		memcpy(a->raw, raw.data, raw.len);
		a->raw_len = raw.len;
		a->max_fee = max_fee;
		a->tip = tip;
		a->time_ms = now_ms();
	}
	mc_buf_release(&raw);
	return rc;
}

static int broadcast(struct run *r, const struct mc_anchor_attempt *a, enum sent *out,
		     struct mc_err *err)
{
	uint8_t h[32];

	if (mc_rpc_send_raw(r->rpc, a->raw, a->raw_len, h, err) == 0) {
		if (memcmp(h, a->hash, 32) != 0)
			return mc_err_set(err, EX_PROTOCOL,
					  _("the node answered another hash for our transaction"));
		*out = SENT_OK;
		return 0;
	}
	if (mc_rpc_error_is(err, "already known") || mc_rpc_error_is(err, "already imported"))
		*out = SENT_OK;
	else if (mc_rpc_error_is(err, "nonce too low"))
		*out = SENT_NONCE_USED;
	else if (mc_rpc_error_is(err, "underpriced"))
		*out = SENT_UNDERPRICED;
	else if (mc_rpc_error_is(err, "less than block base fee") || mc_rpc_error_is(err, "fee too low") ||
		 mc_rpc_error_is(err, "feecap"))
		*out = SENT_FEE_LOW;
	else if (mc_rpc_error_is(err, "insufficient funds")) {
		char hex[41];

		mc_hex(r->addr, 20, hex);
		return mc_err_set(err, EX_CONFIG,
				  _("the anchor key 0x%s cannot pay for the transaction: fund it"), hex);
	} else
		return -1;
	memset(err, 0, sizeof(*err));
	return 0;
}

/* ---- fees ---------------------------------------------------------------- */

static uint64_t bumped(uint64_t v)
{
	return v + (v + 7) / 8;   /* at least 12.5 % more: geth wants 10 % */
}

static int fresh_fees(struct run *r, bool *legacy, uint64_t *max_fee, uint64_t *tip,
		      uint64_t *base, struct mc_err *err)
{
	struct mc_rpc_fees f;

	if (mc_rpc_fees(r->rpc, &f, err) != 0)
		return -1;
	*legacy = f.legacy;
	if (f.legacy) {
		*max_fee = f.gas_price;
		*tip = 0;
		*base = f.gas_price;
	} else {
		*tip = f.tip;
		*max_fee = 2 * f.base_fee + f.tip;
		*base = f.base_fee;
	}
	return 0;
}

static int bump(struct run *r, struct mc_anchor_entry *e, struct mc_err *err)
{
	const struct mc_anchor_attempt *old = &e->attempts[e->nattempts - 1];
	struct mc_anchor_attempt *a;
	uint64_t mf, tip, base, nf, nt;
	bool legacy;
	enum sent sent;

	if (memcmp(r->addr, e->address, 20) != 0) {
		note(r, _("the anchor key changed since anchor %llu was signed: it cannot be re-priced"),
		     (unsigned long long)e->seq);
		return 0;
	}
	if (e->nattempts == MC_ANCHOR_ATTEMPTS_MAX) {
		note(r, _("anchor %llu has been re-priced %u times: waiting"), (unsigned long long)e->seq,
		     MC_ANCHOR_ATTEMPTS_MAX - 1);
		return 0;
	}
	if (fresh_fees(r, &legacy, &mf, &tip, &base, err) != 0)
		return -1;
	nt = e->legacy ? 0 : (bumped(old->tip) > tip ? bumped(old->tip) : tip);
	nf = bumped(old->max_fee) > mf ? bumped(old->max_fee) : mf;
	if (!e->legacy && nf < base + nt)
		nf = base + nt;
	if (nf > r->o->max_fee_wei)
		nf = r->o->max_fee_wei;
	if (nt > nf)
		nt = nf;
	if (nf <= old->max_fee) {
		note(r, _("anchor %llu waits at the fee cap (max_fee_gwei)"), (unsigned long long)e->seq);
		return 0;
	}
	a = &e->attempts[e->nattempts];
	if (sign_attempt(r, e, nf, nt, a, err) != 0)
		return -1;
	e->nattempts++;
	if (journal_write(r, e, err) != 0)
		return -1;
	note(r, _("anchor %llu: fee raised to %llu wei per gas at nonce %llu"), (unsigned long long)e->seq,
	     (unsigned long long)nf, (unsigned long long)e->nonce);
	return broadcast(r, a, &sent, err);
}

/* ---- the state machine --------------------------------------------------- */

struct commit_ctx {
	struct run *r;
	struct mc_anchor_entry *e;
};

static int commit_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct commit_ctx *c = vctx;
	struct mc_anchor_commit ac;
	struct mc_anchor_entry cur;
	struct mc_buf body;
	int rc;

	/* The journal row as it is now, inside this very transaction. */
	rc = mc_journal_get(t, c->e->seq, &cur, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_SOFTWARE, _("the journal lost anchor %llu"),
						(unsigned long long)c->e->seq);
	if (cur.state == MC_ANCHOR_CONFIRMED)
		return 0;   /* nothing to add: the block is not made */
	{
		/* Committed already, through the leader, before this node's
		 * journal said so (a chain of several validators): just say so. */
		struct mc_anchored an;

		rc = mc_chain_anchored(t, c->e->tree_size, &an, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && an.a.tree_size == c->e->tree_size && memcmp(an.a.tx_hash, c->e->mined_tx, 32) == 0) {
			c->e->state = MC_ANCHOR_CONFIRMED;
			c->e->commit_height = an.height;
			return mc_journal_put(t, c->e, err);
		}
	}
	memset(&ac, 0, sizeof(ac));
	ac.tree_size = c->e->tree_size;
	memcpy(ac.root, c->e->root, MC_HASH_LEN);
	ac.public_chain_id = c->e->public_chain_id;
	memcpy(ac.address, c->e->address, 20);
	memcpy(ac.tx_hash, c->e->mined_tx, 32);
	ac.block_number = c->e->mined_block;
	memcpy(ac.block_hash, c->e->mined_block_hash, 32);
	mc_buf_init(&body);
	mc_anchor_commit_encode(&ac, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_builder_add_new(t, b, c->r->o->node_key, MC_TX_ANCHOR_COMMIT,
						       body.data, body.len, NULL, 0, err);
	mc_buf_release(&body);
	if (rc != 0)
		return -1;
	c->e->state = MC_ANCHOR_CONFIRMED;
	c->e->commit_height = mc_builder_height(b);
	return mc_journal_put(t, c->e, err);
}

static int confirm_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct commit_ctx *c = vctx;
	struct mc_anchor_entry cur;
	int rc = mc_journal_get(t, c->e->seq, &cur, err);

	if (rc != 0 || cur.state == MC_ANCHOR_CONFIRMED)
		return rc < 0 ? -1 : 0;
	return mc_journal_put(t, c->e, err);
}

static int commit(struct run *r, struct mc_anchor_entry *e, struct mc_err *err)
{
	struct commit_ctx c = { r, e };
	struct mc_produced out;

	if (mc_chain_produce(r->s, r->o->node_key, commit_build, &c, &out, err) != 0)
		return -1;
	/* On a chain of several validators the leader made the block and this
	 * node's journal was not written with it: write it now (a crash in
	 * between is mended by commit_build, which finds the commit). */
	if (out.height && e->state == MC_ANCHOR_CONFIRMED) {
		e->commit_height = out.height;
		return mc_store_write(r->s, confirm_txn, &c, err);
	}
	return 0;
}

/* Attempt `mined` is in the block its receipt names: journal a move into
 * (or within) a block, then commit once final (or deep enough). */
static int mined_progress(struct run *r, struct mc_anchor_entry *e, int mined,
			  const struct mc_rpc_receipt *rc_, enum progress *out, struct mc_err *err)
{
	struct mc_rpc_block fin, latest;
	bool confirmed;

	if (e->state != MC_ANCHOR_MINED || e->mined_block != rc_->block_number ||
	    memcmp(e->mined_block_hash, rc_->block_hash, 32) != 0) {
		if (e->state == MC_ANCHOR_MINED)
			note(r, _("anchor %llu moved from public block %llu to %llu (reorg)"),
			     (unsigned long long)e->seq, (unsigned long long)e->mined_block,
			     (unsigned long long)rc_->block_number);
		e->state = MC_ANCHOR_MINED;
		e->mined_block = rc_->block_number;
		memcpy(e->mined_block_hash, rc_->block_hash, 32);
		memcpy(e->mined_tx, e->attempts[mined].hash, 32);
		if (journal_write(r, e, err) != 0)
			return -1;
	}
	if (mc_rpc_block(r->rpc, "finalized", 0, &fin, err) != 0 ||
	    mc_rpc_block(r->rpc, "latest", 0, &latest, err) != 0)
		return -1;
	r->res->depth = latest.found && latest.number >= e->mined_block
				? latest.number - e->mined_block + 1 : 0;
	r->res->final_block = fin.found ? fin.number : 0;
	confirmed = fin.found ? fin.number >= e->mined_block
			      : r->res->depth >= r->o->confirmations;
	if (!confirmed)
		return 0;
	if (commit(r, e, err) != 0)
		return -1;
	*out = P_CONFIRMED;
	return 0;
}

/* The nonce is used. Ours, with its receipt not served yet? Only when no
 * attempt of ours is in a block is it another tx: the anchor is
 * superseded. */
static int nonce_taken(struct run *r, struct mc_anchor_entry *e, enum progress *out,
		       struct mc_err *err)
{
	for (unsigned i = 0; i < e->nattempts; i++) {
		struct mc_rpc_txinfo ti;

		if (mc_rpc_tx(r->rpc, e->attempts[i].hash, &ti, err) != 0)
			return -1;
		if (ti.found && ti.mined)
			return 0;   /* the next poll finds its receipt */
	}
	/* A mined tx took the nonce, and none of ours is mined. */
	note(r, _("anchor %llu: another transaction took nonce %llu; a new anchor replaces it"),
	     (unsigned long long)e->seq, (unsigned long long)e->nonce);
	e->state = MC_ANCHOR_SUPERSEDED;
	if (journal_write(r, e, err) != 0)
		return -1;
	*out = P_SUPERSEDED;
	return 0;
}

/* No attempt in a block: the nonce taken by another tx, the bytes sent
 * again when the node forgot them, a bump when the last one is old. */
static int unmined_progress(struct run *r, struct mc_anchor_entry *e, enum progress *out,
			    struct mc_err *err)
{
	uint64_t used;
	bool known = false;
	const struct mc_anchor_attempt *last = &e->attempts[e->nattempts - 1];
	enum sent sent = SENT_OK;

	if (mc_rpc_nonce_at(r->rpc, e->address, "latest", &used, err) != 0)
		return -1;
	if (used > e->nonce)
		return nonce_taken(r, e, out, err);
	for (unsigned i = 0; i < e->nattempts && !known; i++) {
		struct mc_rpc_txinfo ti;

		if (mc_rpc_tx(r->rpc, e->attempts[i].hash, &ti, err) != 0)
			return -1;
		known = ti.found;
	}
	if (!known) {
		if (e->state != MC_ANCHOR_PLANNED)
			note(r, _("anchor %llu is no longer known to the node: sending the same bytes again"),
			     (unsigned long long)e->seq);
		if (broadcast(r, last, &sent, err) != 0)
			return -1;
		if (sent == SENT_FEE_LOW)
			return bump(r, e, err);
	}
	if (e->state == MC_ANCHOR_PLANNED && (sent == SENT_OK || sent == SENT_UNDERPRICED)) {
		e->state = MC_ANCHOR_BROADCAST;
		if (journal_write(r, e, err) != 0)
			return -1;
	}
	if (now_ms() >= last->time_ms + (uint64_t)r->o->bump_after_s * 1000)
		return bump(r, e, err);
	return 0;
}

/* One poll of the anchor: where its attempts are on the public chain,
 * and the step that follows from it. */
static int progress(struct run *r, struct mc_anchor_entry *e, enum progress *out,
		    struct mc_err *err)
{
	struct mc_rpc_receipt rc_;
	struct mc_rpc_block blk;
	int mined = -1;

	*out = P_PENDING;
	for (int i = (int)e->nattempts - 1; i >= 0 && mined < 0; i--) {
		if (mc_rpc_receipt(r->rpc, e->attempts[i].hash, &rc_, err) != 0)
			return -1;
		if (rc_.found)
			mined = i;
	}
	if (mined >= 0 && (mc_rpc_block(r->rpc, NULL, rc_.block_number, &blk, err) != 0))
		return -1;
	if (mined >= 0 && blk.found && memcmp(blk.hash, rc_.block_hash, 32) == 0)
		return mined_progress(r, e, mined, &rc_, out, err);

	/* Not (or no longer) in a block. */
	if (e->state == MC_ANCHOR_MINED) {
		note(r, _("anchor %llu left public block %llu (a reorg): sending it again"),
		     (unsigned long long)e->seq, (unsigned long long)e->mined_block);
		e->state = MC_ANCHOR_BROADCAST;
		e->mined_block = 0;
		memset(e->mined_block_hash, 0, 32);
		memset(e->mined_tx, 0, 32);
		if (journal_write(r, e, err) != 0)
			return -1;
	}
	return unmined_progress(r, e, out, err);
}

/* ---- planning ------------------------------------------------------------ */

struct plan_ctx {
	struct mc_head head;
	uint64_t content;
	bool have_anchored;
	struct mc_anchored last;
	struct mc_anchor_entry *e;
	bool have_reset;
	struct mc_nonce_reset reset;
};

static int plan_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct plan_ctx *p = vctx;
	int rc;

	if (mc_chain_head(t, &p->head, err) != 0)
		return -1;
	if (p->head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	rc = mc_chain_content_height(t, &p->content, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		p->content = 0;
	rc = mc_chain_anchored(t, UINT64_MAX, &p->last, err);
	if (rc < 0)
		return -1;
	p->have_anchored = rc == 0;
	rc = mc_journal_reset_get(t, &p->reset, err);
	if (rc < 0)
		return -1;
	p->have_reset = rc == 0;
	p->e->tree_size = p->head.height + 1;
	if (mc_ctree_root(t, p->e->tree_size, p->e->root, err) != 0)
		return -1;
	p->e->prev_size = 0;
	p->e->proof_len = 0;
	if (p->have_anchored) {
		p->e->prev_size = p->last.a.tree_size;
		if (p->e->prev_size < p->e->tree_size &&
		    mc_ctree_consistency(t, p->e->prev_size, p->e->tree_size, p->e->proof, &p->e->proof_len,
					 err) != 0)
			return -1;
	}
	return 0;
}

/* The key's next nonce from the node ("pending"), not believed blindly:
 * an answer more than MC_ANCHOR_NONCE_JUMP above the journal's own next
 * nonce would become the floor of every later anchor (a signed, journaled
 * tx at that nonce). It is logged and read again after a pause: taken only
 * when "pending" says the same again and "latest" (mined) shows the jump
 * too; otherwise EX_PROTOCOL, nothing signed, nothing journaled. */
static int node_nonce(struct run *r, uint64_t jnext, uint64_t *out, struct mc_err *err)
{
	uint64_t first, latest, again;
	char hex[41];

	if (mc_rpc_nonce_at(r->rpc, r->addr, "pending", &first, err) != 0)
		return -1;
	*out = first;
	if (first <= jnext || first - jnext <= MC_ANCHOR_NONCE_JUMP)
		return 0;
	mc_hex(r->addr, 20, hex);
	note(r, _("the RPC node says the next nonce of 0x%s is %llu, but the journal's is %llu: reading it again"),
	     hex, (unsigned long long)first, (unsigned long long)jnext);
	sleep_ms(r->o->nonce_recheck_ms);
	if (mc_rpc_nonce_at(r->rpc, r->addr, "latest", &latest, err) != 0 ||
	    mc_rpc_nonce_at(r->rpc, r->addr, "pending", &again, err) != 0)
		return -1;
	if (again == first && latest > jnext + MC_ANCHOR_NONCE_JUMP) {
		note(r, _("the nonce of 0x%s jumped to %llu (read twice, %llu mined): another party uses this key"),
		     hex, (unsigned long long)first, (unsigned long long)latest);
		return 0;
	}
	return mc_err_set(err, EX_PROTOCOL,
			  _("the RPC node's nonces for 0x%s disagree (pending %llu, then mined %llu and pending %llu; "
			    "the journal's next is %llu): nothing was signed and the nonce floor is unchanged"),
			  hex, (unsigned long long)first, (unsigned long long)latest, (unsigned long long)again,
			  (unsigned long long)jnext);
}

/* The nonce floor from the journal: the last anchor's nonce + 1 (same key,
 * same public chain), or the operator's reset after it. */
static void nonce_floor(struct run *r, const struct mc_anchor_entry *prev, bool have_prev,
			const struct plan_ctx *p, uint64_t *jnext, bool *floor)
{
	if (have_prev && memcmp(prev->address, r->addr, 20) == 0 && prev->public_chain_id == r->chain_id) {
		*jnext = prev->nonce + 1;
		*floor = true;
	}
	if (have_prev && p->have_reset && p->reset.after_seq == prev->seq &&
	    memcmp(p->reset.address, r->addr, 20) == 0 && p->reset.public_chain_id == r->chain_id) {
		*jnext = p->reset.next_nonce;
		*floor = true;
	}
}

/* The first attempt's fees: the node's, the max fee capped at
 * max_fee_gwei (EX_TEMPFAIL when the base fee alone is above it). */
static int plan_fees(struct run *r, struct mc_anchor_entry *e, uint64_t *mf, uint64_t *tip,
		     struct mc_err *err)
{
	uint64_t base;
	bool legacy;

	if (fresh_fees(r, &legacy, mf, tip, &base, err) != 0)
		return -1;
	e->legacy = legacy;
	if (base > r->o->max_fee_wei)
		return mc_err_set(err, EX_TEMPFAIL,
				  _("the public chain's fee (%llu wei per gas) is above max_fee_gwei"),
				  (unsigned long long)base);
	if (*mf > r->o->max_fee_wei)
		*mf = r->o->max_fee_wei;
	if (*tip > *mf - (legacy ? 0 : base))
		*tip = *mf - (legacy ? 0 : base);
	return 0;
}

/* The balance seen, for `alerts` (balance-low), which reads no network;
 * a failure is noted, not fatal. */
static void record_balance(struct run *r, const struct mc_anchor_entry *e, uint64_t wei, bool big,
			   uint64_t mf)
{
	struct mc_balance_seen bs;
	struct mc_err berr = { 0 };

	memset(&bs, 0, sizeof(bs));
	bs.time_ms = now_ms();
	memcpy(bs.address, r->addr, 20);
	bs.chain_id = r->chain_id;
	bs.wei = wei;
	bs.over_64_bits = big;
	bs.fee_wei = mf;
	bs.gas = e->gas_limit;
	if (mc_balance_record(r->o->datadir, &bs, &berr) != 0)
		note(r, _("the balance is not recorded for alerts: %s"), berr.msg);
}

/* The first attempt: signed, journaled before it is sent, then sent. */
static int sign_and_send(struct run *r, struct mc_anchor_entry *e, uint64_t mf, uint64_t tip,
			 struct mc_err *err)
{
	enum sent sent;

	if (sign_attempt(r, e, mf, tip, &e->attempts[0], err) != 0)
		return -1;
	e->nattempts = 1;
	if (journal_write(r, e, err) != 0)
		return -1;
	r->res->have = true;
	if (r->o->crash_after_journal)
		raise(SIGKILL);
	r->res->outcome = MC_ANCHOR_SENT;
	if (broadcast(r, &e->attempts[0], &sent, err) != 0)
		return -1;
	if (sent == SENT_NONCE_USED) {
		e->state = MC_ANCHOR_SUPERSEDED;
		if (journal_write(r, e, err) != 0)
			return -1;
		return mc_err_set(err, EX_TEMPFAIL,
				  _("nonce %llu was taken by another transaction meanwhile: the next run anchors"),
				  (unsigned long long)e->nonce);
	}
	if (sent == SENT_OK || sent == SENT_UNDERPRICED) {
		e->state = MC_ANCHOR_BROADCAST;
		if (journal_write(r, e, err) != 0)
			return -1;
	}
	return 0;
}

/* Plans the next anchor when one is due (nothing new, not due: an
 * outcome, no anchor), then signs, journals and sends it. */
static int plan(struct run *r, const struct mc_anchor_entry *prev, bool have_prev,
		struct mc_err *err)
{
	struct mc_anchor_entry *e = &r->res->entry;
	struct plan_ctx p;
	uint64_t pending, mf, tip, wei, jnext = 0;
	bool big, floor = false;
	uint8_t payload[MC_ANCHOR_PAYLOAD_LEN];

	memset(e, 0, sizeof(*e));
	memset(&p, 0, sizeof(p));
	p.e = e;
	if (mc_store_read(r->s, plan_txn, &p, err) != 0)
		return -1;
	if (p.have_anchored && p.content < p.last.a.tree_size) {
		r->res->outcome = MC_ANCHOR_NOTHING_NEW;
		return 0;
	}
	if (have_prev && prev->state == MC_ANCHOR_CONFIRMED && r->o->min_interval_s &&
	    now_ms() < prev->created_ms + (uint64_t)r->o->min_interval_s * 1000) {
		r->res->outcome = MC_ANCHOR_NOT_DUE;
		return 0;
	}
	e->seq = have_prev ? prev->seq + 1 : 1;
	e->state = MC_ANCHOR_PLANNED;
	e->public_chain_id = r->chain_id;
	memcpy(e->address, r->addr, 20);
	e->created_ms = now_ms();
	/* The journal is the source of truth for nonces: a node's pending view
	 * can forget a tx it was sent. The operator's reset (anchor
	 * reset-nonce) replaces the last anchor's nonce + 1 as the floor. */
	nonce_floor(r, prev, have_prev, &p, &jnext, &floor);
	if (node_nonce(r, jnext, &pending, err) != 0)
		return -1;
	e->nonce = pending;
	if (floor && jnext > e->nonce)
		e->nonce = jnext;
	if (plan_fees(r, e, &mf, &tip, err) != 0)
		return -1;
	mc_anchor_payload(r->priv_chain_id, e->tree_size, e->root, payload);
	e->gas_limit = mc_anchor_intrinsic_gas(payload, sizeof(payload));
	if (mc_rpc_balance(r->rpc, r->addr, &wei, &big, err) != 0)
		return -1;
	if (r->o->datadir)
		record_balance(r, e, wei, big, mf);
	if (!big && wei / e->gas_limit < mf) {
		char hex[41];

		mc_hex(r->addr, 20, hex);
		return mc_err_set(err, EX_CONFIG,
				  _("the anchor key 0x%s holds %llu wei; an anchor may cost up to %llu wei: fund it"),
				  hex, (unsigned long long)wei, (unsigned long long)(e->gas_limit * mf));
	}
	e->attempts[0].max_fee = mf;
	e->attempts[0].tip = tip;
	if (r->o->dry_run) {
		e->nattempts = 0;
		r->res->have = true;
		r->res->outcome = MC_ANCHOR_PLANNED_DRY;
		return 0;
	}
	return sign_and_send(r, e, mf, tip, err);
}

/* ---- one run ------------------------------------------------------------- */

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_head *h = vctx;

	if (mc_chain_head(t, h, err) != 0)
		return -1;
	return h->empty ? mc_err_set(err, EX_DATAERR, _("the chain has no genesis block")) : 0;
}

static int wait_for(struct run *r, struct mc_anchor_entry *e, uint64_t deadline, enum progress *st,
		    struct mc_err *err)
{
	if (progress(r, e, st, err) != 0)
		return -1;
	while (*st == P_PENDING && r->o->wait_ms >= 0 && now_ms() < deadline) {
		sleep_ms(r->o->poll_ms > 0 ? r->o->poll_ms : 500);
		if (progress(r, e, st, err) != 0)
			return -1;
	}
	return 0;
}

static int run(struct run *r, struct mc_err *err)
{
	struct mc_anchor_entry *last = &r->res->entry;
	struct mc_anchor_entry prev;
	struct mc_head head;
	uint64_t id, deadline = now_ms() + (uint64_t)(r->o->wait_ms > 0 ? r->o->wait_ms : 0);
	bool found;
	enum progress st;

	if (mc_store_read(r->s, head_txn, &head, err) != 0)
		return -1;
	memcpy(r->priv_chain_id, head.chain_id, MC_HASH_LEN);
	if (mc_anchor_key_address(r->o->anchor_key, r->addr, err) != 0)
		return -1;
	if (!r->o->chain_id)
		return mc_err_set(err, EX_CONFIG, _("[anchor] chain_id is not set"));
	if (mc_rpc_chain_id(r->rpc, &id, err) != 0)
		return -1;
	if (id != r->o->chain_id)
		return mc_err_set(err, EX_CONFIG,
				  _("the RPC URL serves chain id %llu, but chain_id is %llu"),
				  (unsigned long long)id, (unsigned long long)r->o->chain_id);
	r->chain_id = id;
	if (journal_last(r->s, last, &found, err) != 0)
		return -1;
	if (found && pending_state(last->state)) {
		if (last->public_chain_id != id)
			return mc_err_set(err, EX_CONFIG,
					  _("anchor %llu waits on chain id %llu, but the RPC URL serves %llu"),
					  (unsigned long long)last->seq,
					  (unsigned long long)last->public_chain_id, (unsigned long long)id);
		r->res->have = true;
		if (r->o->dry_run) {
			/* a dry run only reports: no rebroadcast, no bump, no commit */
			r->res->outcome = MC_ANCHOR_PENDING;
			return 0;
		}
		if (wait_for(r, last, deadline, &st, err) != 0)
			return -1;
		if (st == P_PENDING) {
			r->res->outcome = MC_ANCHOR_PENDING;
			return 0;
		}
		if (st == P_CONFIRMED) {
			r->res->resumed = true;
			r->res->resumed_seq = last->seq;
		}
	}
	prev = *last;
	if (plan(r, &prev, found, err) != 0)
		return -1;
	if (r->res->outcome == MC_ANCHOR_NOTHING_NEW || r->res->outcome == MC_ANCHOR_NOT_DUE) {
		*last = prev;
		r->res->have = found;
		if (r->res->resumed)
			r->res->outcome = MC_ANCHOR_DONE;
		return 0;
	}
	if (r->res->outcome != MC_ANCHOR_SENT || r->o->wait_ms < 0)
		return 0;
	if (wait_for(r, last, deadline, &st, err) != 0)
		return -1;
	r->res->outcome = st == P_CONFIRMED ? MC_ANCHOR_DONE : MC_ANCHOR_PENDING;
	if (st == P_SUPERSEDED)
		return mc_err_set(err, EX_TEMPFAIL,
				  _("anchor %llu lost its nonce to another transaction: the next run anchors again"),
				  (unsigned long long)last->seq);
	return 0;
}

int mc_anchor_run(struct mc_store *s, const struct mc_anchor_opts *o, struct mc_anchor_result *res,
		  struct mc_err *err)
{
	struct run r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.o = o;
	r.res = res;
	if (mc_rpc_open(o->rpc_url, 10000, 2, &r.rpc, err) != 0)
		return -1;
	rc = run(&r, err);
	mc_rpc_close(r.rpc);
	if (rc != 0 && err->code == EX_UNAVAILABLE) {
		struct mc_anchor_entry e;
		bool found;
		struct mc_err e2 = { 0 };

		if (journal_last(s, &e, &found, &e2) == 0 && found && pending_state(e.state)) {
			char msg[sizeof(err->msg)];

			snprintf(msg, sizeof(msg), "%s", err->msg);
			mc_err_set(err, EX_TEMPFAIL, _("%s; anchor %llu is pending and the next run goes on"), msg,
				   (unsigned long long)e.seq);
		}
	}
	return rc;
}
