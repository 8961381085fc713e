/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "i18n.h"
#include "journal.h"
#include "util.h"

#define JOURNAL_VERSION 1

const char *mc_anchor_state_name(unsigned state)
{
	static const char *const names[] = { NULL, "planned", "broadcast", "mined", "confirmed",
					     "superseded" };

	return state < MC_ARRAY_LEN(names) ? names[state] : NULL;
}

void mc_journal_encode(const struct mc_anchor_entry *e, struct mc_buf *b)
{
	mc_put_u8(b, JOURNAL_VERSION);
	mc_put_u8(b, e->state);
	mc_put_u64(b, e->tree_size);
	mc_put_raw(b, e->root, MC_HASH_LEN);
	mc_put_u64(b, e->public_chain_id);
	mc_put_raw(b, e->address, 20);
	mc_put_u64(b, e->nonce);
	mc_put_u64(b, e->created_ms);
	mc_put_u8(b, e->legacy ? 1 : 0);
	mc_put_u64(b, e->gas_limit);
	mc_put_u64(b, e->prev_size);
	mc_put_u8(b, (uint8_t)e->proof_len);
	for (size_t i = 0; i < e->proof_len; i++)
		mc_put_raw(b, e->proof[i], MC_HASH_LEN);
	mc_put_u64(b, e->mined_block);
	mc_put_raw(b, e->mined_block_hash, 32);
	mc_put_raw(b, e->mined_tx, 32);
	mc_put_u64(b, e->commit_height);
	mc_put_u8(b, (uint8_t)e->nattempts);
	for (unsigned i = 0; i < e->nattempts; i++) {
		const struct mc_anchor_attempt *a = &e->attempts[i];

		mc_put_u64(b, a->max_fee);
		mc_put_u64(b, a->tip);
		mc_put_u64(b, a->time_ms);
		mc_put_raw(b, a->hash, 32);
		mc_put_bytes(b, a->raw, a->raw_len);
	}
}

int mc_journal_decode(const uint8_t *p, size_t n, struct mc_anchor_entry *e, struct mc_err *err)
{
	struct mc_rd r;
	uint8_t version, legacy;
	uint64_t seq = e->seq;

	memset(e, 0, sizeof(*e));
	e->seq = seq;
	mc_rd_init(&r, p, n);
	version = mc_get_u8(&r);
	e->state = mc_get_u8(&r);
	e->tree_size = mc_get_u64(&r);
	mc_get_raw(&r, e->root, MC_HASH_LEN);
	e->public_chain_id = mc_get_u64(&r);
	mc_get_raw(&r, e->address, 20);
	e->nonce = mc_get_u64(&r);
	e->created_ms = mc_get_u64(&r);
	legacy = mc_get_u8(&r);
	e->legacy = legacy == 1;
	e->gas_limit = mc_get_u64(&r);
	e->prev_size = mc_get_u64(&r);
	e->proof_len = mc_get_u8(&r);
	if (e->proof_len > MC_MERKLE_MAX_PROOF)
		goto bad;
	for (size_t i = 0; i < e->proof_len; i++)
		mc_get_raw(&r, e->proof[i], MC_HASH_LEN);
	e->mined_block = mc_get_u64(&r);
	mc_get_raw(&r, e->mined_block_hash, 32);
	mc_get_raw(&r, e->mined_tx, 32);
	e->commit_height = mc_get_u64(&r);
	e->nattempts = mc_get_u8(&r);
	if (e->nattempts == 0 || e->nattempts > MC_ANCHOR_ATTEMPTS_MAX)
		goto bad;
	for (unsigned i = 0; i < e->nattempts; i++) {
		struct mc_anchor_attempt *a = &e->attempts[i];
		const uint8_t *raw;

		a->max_fee = mc_get_u64(&r);
		a->tip = mc_get_u64(&r);
		a->time_ms = mc_get_u64(&r);
		mc_get_raw(&r, a->hash, 32);
		raw = mc_get_bytes(&r, MC_ANCHOR_RAW_MAX, &a->raw_len);
		if (raw)
			memcpy(a->raw, raw, a->raw_len);
	}
	if (!mc_rd_finish(&r) || version != JOURNAL_VERSION || legacy > 1 ||
	    !mc_anchor_state_name(e->state) || e->tree_size == 0 || e->prev_size >= e->tree_size)
		goto bad;
	return 0;
bad:
	return mc_err_set(err, EX_DATAERR, _("a malformed anchor journal entry"));
}

int mc_journal_put(struct mc_txn *t, const struct mc_anchor_entry *e, struct mc_err *err)
{
	struct mc_buf b;
	uint8_t key[8];
	int rc;

	mc_be64(key, e->seq);
	mc_buf_init(&b);
	mc_journal_encode(e, &b);
	rc = mc_buf_failed(&b) ? mc_err_set(err, EX_OSERR, _("out of memory"))
			       : mc_txn_put(t, MC_DB_JOURNAL, key, 8, b.data, b.len, err);
	mc_buf_release(&b);
	return rc;
}

int mc_journal_get(struct mc_txn *t, uint64_t seq, struct mc_anchor_entry *e, struct mc_err *err)
{
	uint8_t key[8];
	const void *v;
	size_t vn;
	int rc;

	mc_be64(key, seq);
	rc = mc_txn_get(t, MC_DB_JOURNAL, key, 8, &v, &vn, err);
	if (rc != 0)
		return rc;
	e->seq = seq;
	return mc_journal_decode(v, vn, e, err);
}

static const uint8_t reset_key[1] = { 0 };
#define RESET_VERSION 1

int mc_journal_reset_put(struct mc_txn *t, const struct mc_nonce_reset *r, struct mc_err *err)
{
	struct mc_buf b;
	int rc;

	mc_buf_init(&b);
	mc_put_u8(&b, RESET_VERSION);
	mc_put_u64(&b, r->after_seq);
	mc_put_u64(&b, r->public_chain_id);
	mc_put_raw(&b, r->address, 20);
	mc_put_u64(&b, r->next_nonce);
	mc_put_u64(&b, r->time_ms);
	rc = mc_buf_failed(&b) ? mc_err_set(err, EX_OSERR, _("out of memory"))
			       : mc_txn_put(t, MC_DB_JOURNAL, reset_key, sizeof(reset_key), b.data, b.len, err);
	mc_buf_release(&b);
	return rc;
}

int mc_journal_reset_get(struct mc_txn *t, struct mc_nonce_reset *r, struct mc_err *err)
{
	const void *v;
	size_t vn;
	struct mc_rd rd;
	uint8_t version;
	int rc = mc_txn_get(t, MC_DB_JOURNAL, reset_key, sizeof(reset_key), &v, &vn, err);

	if (rc != 0)
		return rc;
	memset(r, 0, sizeof(*r));
	mc_rd_init(&rd, v, vn);
	version = mc_get_u8(&rd);
	r->after_seq = mc_get_u64(&rd);
	r->public_chain_id = mc_get_u64(&rd);
	mc_get_raw(&rd, r->address, 20);
	r->next_nonce = mc_get_u64(&rd);
	r->time_ms = mc_get_u64(&rd);
	if (!mc_rd_finish(&rd) || version != RESET_VERSION)
		return mc_err_set(err, EX_DATAERR, _("a malformed nonce reset in the anchor journal"));
	return 0;
}

static int row(const void *k, size_t kn, const void *v, size_t vn, struct mc_anchor_entry *e,
	       struct mc_err *err)
{
	if (kn != 8)
		return mc_err_set(err, EX_DATAERR, _("a malformed anchor journal key"));
	e->seq = mc_from_be64(k);
	return mc_journal_decode(v, vn, e, err);
}

/* The walk under mc_journal_each and mc_journal_summarise: from the first
 * entry (from NULL), the one at or after the 8-byte key from, or the last
 * (newest_first), each anchor decoded and handed to fn until fn returns
 * other than 0. */
static int journal_walk(struct mc_txn *t, const uint8_t *from, bool newest_first, mc_journal_fn fn,
			void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	struct mc_anchor_entry *e = malloc(sizeof(*e));
	int rc, vr = 0;

	if (!e)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (mc_cursor_open(t, MC_DB_JOURNAL, &c, err) != 0) {
		free(e);
		return -1;
	}
	for (rc = newest_first ? mc_cursor_last(c, &k, &kn, &v, &vn, err)
			       : mc_cursor_seek(c, from, from ? 8 : 0, &k, &kn, &v, &vn, err);
	     rc == 0 && vr == 0;
	     rc = newest_first ? mc_cursor_prev(c, &k, &kn, &v, &vn, err)
			       : mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		if (kn == sizeof(reset_key) && memcmp(k, reset_key, kn) == 0)
			continue;   /* the nonce floor reset, not an anchor */
		if (row(k, kn, v, vn, e, err) != 0) {
			vr = -1;
			break;
		}
		vr = fn(t, e, ctx, err);
	}
	mc_cursor_close(c);
	free(e);
	return rc < 0 || vr < 0 ? -1 : 0;
}

int mc_journal_each(struct mc_txn *t, bool newest_first, mc_journal_fn fn, void *ctx, struct mc_err *err)
{
	return journal_walk(t, NULL, newest_first, fn, ctx, err);
}

struct last_ctx {
	struct mc_anchor_entry *out;
	bool found;
};

static int take_last(struct mc_txn *t, const struct mc_anchor_entry *e, void *vctx, struct mc_err *err)
{
	struct last_ctx *l = vctx;

	(void)t;
	(void)err;
	*l->out = *e;
	l->found = true;
	return 1;
}

int mc_journal_last(struct mc_txn *t, struct mc_anchor_entry *e, struct mc_err *err)
{
	struct last_ctx l = { e, false };

	if (mc_journal_each(t, true, take_last, &l, err) != 0)
		return -1;
	return l.found ? 0 : MC_NOTFOUND;
}

int mc_journal_consistency(struct mc_txn *t, const struct mc_anchor_entry *e, struct mc_err *err)
{
	struct mc_anchored prev;
	int rc;

	if (e->prev_size == 0)
		return 0;
	rc = mc_chain_anchored(t, e->prev_size, &prev, err);
	if (rc < 0)
		return -2;
	if (rc == MC_NOTFOUND || prev.a.tree_size != e->prev_size)
		return -1;
	return mc_merkle_verify_consistency(e->prev_size, e->tree_size, prev.a.root, e->root,
					    (const uint8_t (*)[MC_HASH_LEN])e->proof, e->proof_len) == 0 ? 1 : -1;
}

struct summary_ctx {
	struct mc_journal_summary n;
	uint64_t gas, rows;
	bool contiguous;
};

static int summarise_one(struct mc_txn *t, const struct mc_anchor_entry *e, void *vctx, struct mc_err *err)
{
	struct summary_ctx *c = vctx;
	bool final = e->state == MC_ANCHOR_CONFIRMED || e->state == MC_ANCHOR_SUPERSEDED;

	(void)t;
	(void)err;
	c->rows++;
	if (e->state == MC_ANCHOR_CONFIRMED)
		c->gas += e->gas_limit;
	if (c->contiguous && final) {
		c->n.final_seq = e->seq;
		c->n.final_gas = c->gas;
		c->n.final_rows = c->rows;
	} else
		c->contiguous = false;
	c->n.last_state = e->state;
	return 0;
}

int mc_journal_summarise(struct mc_txn *t, struct mc_journal_summary *s, struct mc_err *err)
{
	struct summary_ctx c = { *s, s->final_gas, s->final_rows, true };
	uint8_t from[8];

	mc_be64(from, s->final_seq + 1);
	if (journal_walk(t, from, false, summarise_one, &c, err) != 0)
		return -1;
	c.n.gas = c.gas;
	c.n.rows = c.rows;
	*s = c.n;
	return 0;
}
