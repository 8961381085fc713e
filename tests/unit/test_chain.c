/* SPDX-License-Identifier: Apache-2.0 */
/* Chain rules: heads, sequence numbers (replay), chain ids, roles,
 * revocation, and the stored chain tree. */
#include "config.h"

#include <sysexits.h>

#include "alerts.h"
#include "consent.h"
#include "fixture.h"
#include "merkle.h"

TestSuite(chain, .init = fx_setup, .fini = fx_teardown);

struct head_ctx { struct mc_head h; };

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, &((struct head_ctx *)vctx)->h, err);
}

static struct mc_head head(void)
{
	struct head_ctx c;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, head_txn, &c, &err), 0, "%s", err.msg);
	return c.h;
}

static int enroll(const struct mc_key *author, const char *name, uint32_t roles,
		  struct mc_key **out, struct mc_err *err)
{
	struct mc_enroll e = { .roles = roles };
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	if (mc_key_generate(false, out, err) != 0)
		return -1;
	memcpy(e.pk, (*out)->pk, MC_PK_LEN);
	e.name = (const uint8_t *)name;
	e.name_len = strlen(name);
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_IDENTITY_ENROLL, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

Test(chain, genesis_sets_the_chain_id_to_the_genesis_hash)
{
	struct mc_head h = head();

	cr_assert_not(h.empty);
	cr_assert_eq(h.height, 0);
	cr_assert_arr_eq(h.chain_id, h.hash, MC_HASH_LEN);
}

Test(chain, each_submit_makes_one_block_linked_to_the_last)
{
	struct mc_key *k = NULL;
	struct mc_err err = { 0 };
	struct mc_head before = head(), after;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &k, &err), 0, "%s", err.msg);
	after = head();
	cr_assert_eq(after.height, before.height + 1);
	cr_assert_arr_neq(after.hash, before.hash, MC_HASH_LEN);
	mc_key_free(k);
}

Test(chain, a_non_admin_cannot_enroll_and_nothing_is_committed)
{
	struct mc_key *clin = NULL, *k = NULL;
	struct mc_err err = { 0 };

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &clin, &err), 0);
	uint64_t h = head().height;
	cr_assert_eq(enroll(clin, "Dr B", MC_ROLE_CLINICIAN, &k, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "a want of permission is EX_NOPERM");
	cr_assert_not_null(strstr(err.msg, "roles"), "%s", err.msg);
	cr_assert_eq(head().height, h, "a refused tx commits nothing");
	mc_key_free(clin);
	mc_key_free(k);
}

Test(chain, a_revoked_identity_cannot_act)
{
	struct mc_key *clin = NULL;
	struct mc_err err = { 0 };
	struct mc_revoke r = { .reason = (const uint8_t *)"left", .reason_len = 4 };
	struct mc_buf b;
	struct mc_produced p;
	uint8_t id[MC_RECORD_ID_LEN], subj[MC_HASH_LEN];
	struct mc_sealed s;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &clin, &err), 0);
	memcpy(r.pk, clin->pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_revoke_encode(&r, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_REVOKE, b.data, b.len, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_REVOKE, b.data, b.len, &p, &err), -1,
		     "revoking twice is refused");
	mc_buf_release(&b);
	cr_assert_eq(mc_org_subject(fx.o, "P", 1, subj, &err), 0);
	mc_random(id, sizeof(id));
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", "x", 1, &s, &err), 0);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, clin, fx.o, &s, 1, &p, &err), -1);
	cr_assert_not_null(strstr(err.msg, "revoked"), "%s", err.msg);
	mc_sealed_release(&s);
	mc_key_free(clin);
}

Test(chain, an_admin_cannot_revoke_itself)
{
	struct mc_revoke r = { .reason = (const uint8_t *)"x", .reason_len = 1 };
	struct mc_buf b;
	struct mc_produced p;
	struct mc_err err = { 0 };

	memcpy(r.pk, fx.admin->pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_revoke_encode(&r, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_REVOKE, b.data, b.len, &p, &err), -1);
	mc_buf_release(&b);
}

/* Applies a prepared tx directly, as a block builder would. */
struct raw_ctx { const uint8_t *enc; size_t n; };

static int raw_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct raw_ctx *c = vctx;

	return mc_builder_add(t, b, c->enc, c->n, err);
}

static void signed_revoke(struct mc_buf *enc, struct mc_buf *body, uint64_t seq, const uint8_t *chain_id)
{
	struct mc_revoke r = { .reason = (const uint8_t *)"x", .reason_len = 1 };
	struct mc_tx tx;

	memset(r.pk, 0x55, MC_PK_LEN);
	mc_buf_init(body);
	mc_buf_init(enc);
	mc_revoke_encode(&r, body);
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = MC_TX_IDENTITY_REVOKE;
	memcpy(tx.author, fx.admin->pk, MC_PK_LEN);
	tx.seq = seq;
	tx.body = body->data;
	tx.body_len = body->len;
	mc_tx_sign(&tx, chain_id, fx.admin->sk);
	mc_tx_encode(&tx, enc);
}

Test(chain, a_replayed_or_skipped_sequence_number_is_refused)
{
	struct mc_head h = head();
	struct mc_buf enc, body;
	struct mc_produced p;
	struct mc_err err = { 0 };

	/* admin's genesis enrollment used seq 1; seq 1 again is a replay */
	signed_revoke(&enc, &body, 1, h.chain_id);
	struct raw_ctx c = { enc.data, enc.len };
	cr_assert_eq(mc_chain_produce(fx.s, fx.node, raw_build, &c, &p, &err), -1);
	cr_assert_not_null(strstr(err.msg, "sequence"), "%s", err.msg);
	mc_buf_release(&enc);
	mc_buf_release(&body);
	signed_revoke(&enc, &body, 3, h.chain_id);
	c.enc = enc.data;
	c.n = enc.len;
	cr_assert_eq(mc_chain_produce(fx.s, fx.node, raw_build, &c, &p, &err), -1, "a gap is refused");
	mc_buf_release(&enc);
	mc_buf_release(&body);
	cr_assert_eq(head().height, h.height);
}

Test(chain, a_tx_signed_for_another_chain_is_refused)
{
	uint8_t other[MC_HASH_LEN] = { 9 };
	struct mc_buf enc, body;
	struct mc_produced p;
	struct mc_err err = { 0 };

	signed_revoke(&enc, &body, 2, other);
	struct raw_ctx c = { enc.data, enc.len };
	cr_assert_eq(mc_chain_produce(fx.s, fx.node, raw_build, &c, &p, &err), -1);
	cr_assert_not_null(strstr(err.msg, "signature"), "%s", err.msg);
	mc_buf_release(&enc);
	mc_buf_release(&body);
}

struct ctree_ctx { uint64_t n; uint8_t (*hashes)[MC_HASH_LEN]; uint8_t root[MC_HASH_LEN]; };

static int ctree_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct ctree_ctx *c = vctx;

	for (uint64_t h = 0; h < c->n; h++) {
		struct mc_header hd;
		struct mc_cert ce;

		if (mc_chain_block(t, h, &hd, &ce, err) != 0)
			return -1;
		mc_block_hash(&hd, c->hashes[h]);
	}
	return mc_ctree_root(t, c->n, c->root, err);
}

Test(chain, the_stored_chain_tree_root_matches_a_recomputation_at_every_size)
{
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];

	for (int i = 1; i <= 21; i++) {
		struct ctree_ctx c;
		uint8_t (*leaves)[MC_HASH_LEN];
		uint8_t want[MC_HASH_LEN];

		cr_assert_eq(fx_put("P", "x", id, &err), 0, "%s", err.msg);
		c.n = head().height + 1;
		c.hashes = calloc(c.n, MC_HASH_LEN);
		leaves = calloc(c.n, MC_HASH_LEN);
		cr_assert_eq(mc_store_read(fx.s, ctree_txn, &c, &err), 0, "%s", err.msg);
		for (uint64_t k = 0; k < c.n; k++)
			mc_merkle_leaf_hash(c.hashes[k], MC_HASH_LEN, leaves[k]);
		mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, c.n, want);
		cr_assert_arr_eq(c.root, want, MC_HASH_LEN, "size %llu", (unsigned long long)c.n);
		free(c.hashes);
		free(leaves);
	}
}

/* ---- ANCHOR_COMMIT ------------------------------------------------------- */

struct root_ctx { uint64_t size; uint8_t root[MC_HASH_LEN]; uint64_t content; struct mc_anchored last; int last_rc; };

static int root_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct root_ctx *c = vctx;

	if (mc_ctree_root(t, c->size, c->root, err) != 0 || mc_chain_content_height(t, &c->content, err) != 0)
		return -1;
	c->last_rc = mc_chain_anchored(t, UINT64_MAX, &c->last, err);
	return c->last_rc < 0 ? -1 : 0;
}

static struct root_ctx chain_root(uint64_t size)
{
	struct root_ctx c = { .size = size };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, root_txn, &c, &err), 0, "%s", err.msg);
	return c;
}

static int commit_anchor(const struct mc_key *author, uint64_t size, const uint8_t root[MC_HASH_LEN],
			 struct mc_err *err)
{
	struct mc_anchor_commit a = { .tree_size = size, .public_chain_id = 31337, .block_number = 5 };
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	memcpy(a.root, root, MC_HASH_LEN);
	a.tx_hash[0] = 0xaa;
	mc_buf_init(&b);
	mc_anchor_commit_encode(&a, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_ANCHOR_COMMIT, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

Test(chain, an_anchor_commit_must_carry_this_chains_root_at_a_size_that_exists_and_grows)
{
	struct mc_key *k = NULL;
	struct mc_err err = { 0 };
	uint8_t bad[MC_HASH_LEN];
	struct root_ctx r;
	uint64_t h;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &k, &err), 0, "%s", err.msg);
	h = head().height;                                   /* blocks 0..h exist */
	r = chain_root(h + 1);
	cr_assert_eq(r.content, h, "the enrollment's block is content");
	cr_assert_eq(r.last_rc, MC_NOTFOUND);
	memcpy(bad, r.root, MC_HASH_LEN);
	bad[0] ^= 1;
	cr_assert_neq(commit_anchor(fx.node, h + 1, bad, &err), 0, "another root is refused");
	cr_assert(strstr(err.msg, "not this chain's root"), "%s", err.msg);
	cr_assert_neq(commit_anchor(fx.node, h + 3, r.root, &err), 0, "a size beyond the chain is refused");
	cr_assert_neq(commit_anchor(fx.admin, h + 1, r.root, &err), 0, "an admin is not the node or anchor role");
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_eq(head().height, h, "no refused commit made a block");
	cr_assert_eq(commit_anchor(fx.node, h + 1, r.root, &err), 0, "%s", err.msg);
	r = chain_root(h + 1);
	cr_assert_eq(r.last_rc, 0);
	cr_assert_eq(r.last.a.tree_size, h + 1);
	cr_assert_eq(r.last.height, h + 1);
	cr_assert_eq(r.content, h, "a block of ANCHOR_COMMIT alone is not content");
	cr_assert_neq(commit_anchor(fx.node, h + 1, r.root, &err), 0, "the same size again is refused");
	cr_assert(strstr(err.msg, "more blocks"), "%s", err.msg);
	r = chain_root(h + 2);
	cr_assert_eq(commit_anchor(fx.node, h + 2, r.root, &err), 0, "a larger anchor is taken: %s", err.msg);
	mc_key_free(k);
}

/* A clinician's grant to themself, signed and applied directly in a block of
 * the given version, then rolled back. */
struct grant_try { const struct mc_key *clin; uint8_t version; int rc; struct mc_err err; };

static int grant_try_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct grant_try *c = vctx;
	struct mc_head h;
	struct mc_grant g;
	struct mc_tx tx;
	struct mc_buf body, enc;

	if (mc_chain_head(t, &h, err) != 0)
		return -1;
	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	memset(g.subject, 0x77, MC_HASH_LEN);
	memcpy(g.grantee, c->clin->pk, MC_PK_LEN);
	g.purpose = MC_PURPOSE_TREATMENT;
	g.not_after = MC_TIME_OPEN;
	g.all_categories = true;
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)"form";
	g.attest_len = 4;
	mc_buf_init(&body);
	mc_buf_init(&enc);
	mc_grant_encode(&g, &body);
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = MC_TX_CONSENT_GRANT;
	memcpy(tx.author, c->clin->pk, MC_PK_LEN);
	tx.seq = 1;
	tx.body = body.data;
	tx.body_len = body.len;
	mc_tx_sign(&tx, h.chain_id, c->clin->sk);
	mc_tx_encode(&tx, &enc);
	{
		struct mc_apply_ctx ax = { .height = h.height + 1, .block_time_ms = mc_now_ms(),
					   .block_version = c->version };

		memcpy(ax.chain_id, h.chain_id, MC_HASH_LEN);
		c->rc = mc_chain_apply_tx(t, &ax, &tx, enc.data, enc.len, &c->err);
	}
	mc_buf_release(&body);
	mc_buf_release(&enc);
	/* never commit: each try starts from the same state */
	return mc_err_set(err, EX_TEMPFAIL, "rolled back");
}

Test(chain, a_clinicians_self_grant_is_refused_from_block_version_2_and_replays_in_older_blocks)
{
	struct mc_key *clin = NULL;
	struct mc_err err = { 0 };
	struct grant_try old = { .version = 1 }, now = { .version = 2 }, built = { .version = 0 };

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &clin, &err), 0, "%s", err.msg);
	old.clin = now.clin = built.clin = clin;
	cr_assert_eq(mc_store_write(fx.s, grant_try_txn, &old, &err), -1);
	cr_assert_eq(old.rc, 0, "a version 1 block (an older chain) keeps its rule: %s", old.err.msg);
	cr_assert_eq(mc_store_write(fx.s, grant_try_txn, &now, &err), -1);
	cr_assert_eq(now.rc, -1);
	cr_assert_eq(now.err.code, EX_NOPERM, "%s", now.err.msg);
	cr_assert_not_null(strstr(now.err.msg, "itself"), "%s", now.err.msg);
	cr_assert_eq(mc_store_write(fx.s, grant_try_txn, &built, &err), -1);
	cr_assert_eq(built.rc, -1, "a block this build makes follows the new rule");
	mc_key_free(clin);
}

static int submit_ack(const struct mc_key *author, uint8_t kind, uint8_t idbyte, const char *reason,
		      struct mc_err *err)
{
	struct mc_alert_ack a = { .kind = kind };
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	memset(a.id, idbyte, MC_ALERT_ID_LEN);
	a.reason = (const uint8_t *)reason;
	a.reason_len = strlen(reason);
	mc_buf_init(&b);
	mc_alert_ack_encode(&a, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_ALERT_ACK, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

struct ack_look {
	uint8_t id[MC_ALERT_ID_LEN];
	struct mc_alert a;
	int rc;
};

static int ack_look_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct ack_look *l = vctx;

	l->rc = mc_alert_ack_get(t, l->id, &l->a, err);
	return l->rc < 0 ? -1 : 0;
}

Test(chain, an_alert_ack_needs_an_active_admin_and_acknowledges_an_id_once)
{
	struct mc_key *clin = NULL;
	struct mc_err err = { 0 };
	struct ack_look l;
	uint64_t h;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &clin, &err), 0, "%s", err.msg);
	h = head().height;
	/* the chain refuses what the CLI refuses first */
	cr_assert_eq(submit_ack(clin, 1, 0x11, "it was me", &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "a clinician: EX_NOPERM (%s)", err.msg);
	cr_assert_eq(head().height, h, "nothing committed");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, 1, 0x11, "", &err), -1, "no reason");
	cr_assert_eq(err.code, EX_DATAERR);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, 0, 0x11, "kind 0", &err), -1, "kind 0");
	cr_assert_eq(head().height, h, "nothing committed");

	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, 1, 0x11, "called the ER", &err), 0, "%s", err.msg);
	cr_assert_eq(head().height, h + 1);
	memset(&l, 0, sizeof(l));
	memset(l.id, 0x11, MC_ALERT_ID_LEN);
	cr_assert_eq(mc_store_read(fx.s, ack_look_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.rc, 0, "acknowledged");
	cr_assert_arr_eq(l.a.ack_by, fx.admin->pk, MC_PK_LEN);
	cr_assert_eq(l.a.ack_height, h + 1);
	cr_assert_str_eq(l.a.ack_reason, "called the ER");
	cr_assert_eq(submit_ack(fx.admin, 1, 0x11, "again", &err), -1, "an id is acknowledged once");
	cr_assert_not_null(strstr(err.msg, "already acknowledged"), "%s", err.msg);
	memset(l.id, 0x22, MC_ALERT_ID_LEN);
	cr_assert_eq(mc_store_read(fx.s, ack_look_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.rc, MC_NOTFOUND, "another id is not acknowledged");
	mc_key_free(clin);
}
