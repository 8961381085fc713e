/* SPDX-License-Identifier: Apache-2.0 */
/* Chain rules: heads, sequence numbers (replay), chain ids, roles,
 * revocation, and the stored chain tree. */
#include "config.h"

#include <sysexits.h>

#include <unistd.h>

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

/* ---- custody (block version 3) ------------------------------------------ */

static int enroll_in(const struct mc_key *author, const char *name, uint32_t roles, const char *org,
		     bool x25519, struct mc_key **out, struct mc_err *err)
{
	struct mc_enroll e = { .roles = roles };
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	if (mc_key_generate(x25519, out, err) != 0)
		return -1;
	memcpy(e.pk, (*out)->pk, MC_PK_LEN);
	e.name = (const uint8_t *)name;
	e.name_len = strlen(name);
	e.org = (const uint8_t *)org;
	e.org_len = strlen(org);
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_IDENTITY_ENROLL, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

struct id_ctx {
	const uint8_t *pk;
	struct mc_identity id;
	int rc;
};

static int id_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct id_ctx *c = vctx;

	c->rc = mc_identity_get(t, c->pk, &c->id, err);
	return c->rc < 0 ? -1 : 0;
}

/* Submits an IDENTITY_ROTATE of old_pk to new_signer's key by author; the
 * statement is signed for chain `chain` by new_signer and (kind 1) by
 * old_signer. */
static int rotate(const struct mc_key *author, const uint8_t *old_pk, const uint8_t *new_pk,
		  const struct mc_key *new_signer, const struct mc_key *old_signer, uint8_t kind,
		  const uint8_t chain[MC_HASH_LEN], struct mc_err *err)
{
	struct mc_rotate r;
	struct mc_buf b;
	struct mc_produced p;
	uint8_t st[MC_HASH_LEN];
	int rc;

	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, old_pk, MC_PK_LEN);
	memcpy(r.new_pk, new_pk, MC_PK_LEN);
	r.kind = kind;
	mc_rotate_statement(chain, r.old_pk, r.new_pk, kind, st);
	mc_sign(new_signer->sk, st, sizeof(st), r.new_sig);
	if (kind == MC_ROTATE_HOLDER) {
		r.has_old_sig = true;
		mc_sign(old_signer->sk, st, sizeof(st), r.old_sig);
	} else {
		r.reason = (const uint8_t *)"lost";
		r.reason_len = 4;
	}
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_IDENTITY_ROTATE, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

/* One tx signed by author, applied as a replay (no side rows needed) in a
 * block of the given version, then rolled back. */
struct rule_try {
	const struct mc_key *author;
	uint8_t type;
	const struct mc_buf *body, *attach;
	uint8_t version;
	int rc;
	struct mc_err err;
};

static int rule_try_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct rule_try *c = vctx;
	struct mc_head h;
	struct mc_tx tx;
	struct mc_buf enc;

	if (mc_chain_head(t, &h, err) != 0)
		return -1;
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = c->type;
	memcpy(tx.author, c->author->pk, MC_PK_LEN);
	tx.timestamp_ms = mc_now_ms();
	if (mc_builder_next_seq(t, c->author->pk, &tx.seq, err) != 0)
		return -1;
	tx.body = c->body->data;
	tx.body_len = c->body->len;
	if (c->attach) {
		tx.attach = c->attach->data;
		tx.attach_len = c->attach->len;
	}
	mc_tx_sign(&tx, h.chain_id, c->author->sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	{
		struct mc_apply_ctx ax = { .height = h.height + 1, .block_time_ms = tx.timestamp_ms,
					   .replay = true, .block_version = c->version };

		memcpy(ax.chain_id, h.chain_id, MC_HASH_LEN);
		c->rc = mc_chain_apply_tx(t, &ax, &tx, enc.data, enc.len, &c->err);
	}
	mc_buf_release(&enc);
	return mc_err_set(err, EX_TEMPFAIL, "rolled back");
}

/* Applies the tx in a version 2 block (must pass: older chains replay) and
 * in a version 3 block and one this build makes (must be refused as
 * EX_NOPERM with `why` in the message). */
static void v2_passes_v3_refuses(const struct mc_key *author, uint8_t type, const struct mc_buf *body,
				 const struct mc_buf *attach, const char *why)
{
	struct mc_err err = { 0 };

	for (uint8_t v = 0; v <= 3; v++) {
		struct rule_try c = { author, type, body, attach, v, 0, { 0 } };

		if (v == 1)
			continue;
		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		if (v == 2) {
			cr_assert_eq(c.rc, 0, "a version 2 block keeps its rule: %s", c.err.msg);
		} else {
			cr_assert_eq(c.rc, -1, "block version %u: refused", v);
			cr_assert_eq(c.err.code, EX_NOPERM, "%s", c.err.msg);
			cr_assert_not_null(strstr(c.err.msg, why), "%s", c.err.msg);
		}
	}
}

/* A RECORD_PUT body and attachment holding one entry. */
static void one_entry_put(const uint8_t org[MC_PK_LEN], const struct mc_entry *e, struct mc_buf *body,
			  struct mc_buf *attach)
{
	struct mc_put put;
	uint8_t leaf[1][MC_HASH_LEN];

	memset(&put, 0, sizeof(put));
	memcpy(put.org, org, MC_PK_LEN);
	put.count = 1;
	mc_entry_leaf(e, leaf[0]);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaf, 1, put.entries_root);
	mc_buf_init(body);
	mc_buf_init(attach);
	mc_put_encode(&put, body);
	mc_entry_encode(e, attach);
}

static void fresh_entry(struct mc_entry *e, uint8_t fill)
{
	memset(e, 0, sizeof(*e));
	mc_random(e->id, MC_RECORD_ID_LEN);
	e->version = 1;
	memset(e->subject, fill, MC_HASH_LEN);
	e->category = (const uint8_t *)"note";
	e->category_len = 4;
	e->ctype = (const uint8_t *)"text/plain";
	e->ctype_len = 10;
	e->ct_size = 64;
}

Test(chain, a_put_by_staff_of_no_organization_is_refused_from_block_version_3)
{
	struct mc_key *clin = NULL;
	struct mc_err err = { 0 };
	struct mc_entry e;
	struct mc_buf body, attach;

	cr_assert_eq(enroll(fx.admin, "Dr None", MC_ROLE_CLINICIAN, &clin, &err), 0, "%s", err.msg);
	fresh_entry(&e, 0x41);
	one_entry_put(fx.org->pk, &e, &body, &attach);
	v2_passes_v3_refuses(clin, MC_TX_RECORD_PUT, &body, &attach, "organization");
	mc_buf_release(&body);
	mc_buf_release(&attach);
	mc_key_free(clin);
}

/* The custodian's earlier key (before an ORG_ROTATE: its ORGSUCC row)
 * holds a duplicate key for record `id`. */
struct succ_rows {
	uint8_t old[MC_PK_LEN], dupkey[MC_HASH_LEN], id[MC_RECORD_ID_LEN];
};

static int succ_rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct succ_rows *c = vctx;
	uint8_t succ[MC_PK_LEN + 8] = { 0 }, ik[MC_PK_LEN + MC_HASH_LEN], iv[MC_RECORD_ID_LEN + MC_HASH_LEN] = { 0 };

	memcpy(succ, fx.org->pk, MC_PK_LEN);
	memcpy(ik, c->old, MC_PK_LEN);
	memcpy(ik + MC_PK_LEN, c->dupkey, MC_HASH_LEN);
	memcpy(iv, c->id, MC_RECORD_ID_LEN);
	if (mc_txn_put(t, MC_DB_ORGSUCC, c->old, MC_PK_LEN, succ, sizeof(succ), err) != 0)
		return -1;
	return mc_txn_put(t, MC_DB_DUPKEYS, ik, sizeof(ik), iv, sizeof(iv), err);
}

static int dupkey_row_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct succ_rows *c = vctx;
	uint8_t ik[MC_PK_LEN + MC_HASH_LEN], iv[MC_RECORD_ID_LEN + MC_HASH_LEN] = { 0 };

	memcpy(ik, c->old, MC_PK_LEN);
	memcpy(ik + MC_PK_LEN, c->dupkey, MC_HASH_LEN);
	memcpy(iv, c->id, MC_RECORD_ID_LEN);
	return mc_txn_put(t, MC_DB_DUPKEYS, ik, sizeof(ik), iv, sizeof(iv), err);
}

static int dupkey_row_del_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct succ_rows *c = vctx;
	uint8_t ik[MC_PK_LEN + MC_HASH_LEN];

	memcpy(ik, c->old, MC_PK_LEN);
	memcpy(ik + MC_PK_LEN, c->dupkey, MC_HASH_LEN);
	return mc_txn_del(t, MC_DB_DUPKEYS, ik, sizeof(ik), err) == 0 ? 0 : -1;
}

/* Found in review (session 12): a re-run of an import after org rotate-key
 * stored every record again. From block version 4 a duplicate key the
 * custodian's earlier key holds is in use: a new record under it is
 * refused; the record it names may take it (its next version). A version 3
 * block replays as it was (the put passes). */
Test(chain, a_duplicate_key_held_by_the_custodians_earlier_key_is_in_use_from_block_version_4)
{
	struct mc_key *clin = NULL;
	struct mc_err err = { 0 };
	struct succ_rows rows;
	struct mc_entry e;
	struct mc_buf body, attach;

	cr_assert_eq(enroll_in(fx.admin, "Dr K", MC_ROLE_CLINICIAN, "Org", false, &clin, &err), 0, "%s", err.msg);
	mc_random(rows.old, MC_PK_LEN);
	mc_random(rows.dupkey, MC_HASH_LEN);
	mc_random(rows.id, MC_RECORD_ID_LEN);
	cr_assert_eq(mc_store_write(fx.s, succ_rows_txn, &rows, &err), 0, "%s", err.msg);
	fresh_entry(&e, 0x42);
	e.keyed = true;
	memcpy(e.dupkey, rows.dupkey, MC_HASH_LEN);
	one_entry_put(fx.org->pk, &e, &body, &attach);
	for (uint8_t v = 0; v <= 4; v++) {
		struct rule_try c = { clin, MC_TX_RECORD_PUT, &body, &attach, v, 0, { 0 } };

		if (v == 1 || v == 2)
			continue;
		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		if (v == 3) {
			cr_assert_eq(c.rc, 0, "a version 3 block keeps its rule: %s", c.err.msg);
		} else {
			cr_assert_eq(c.rc, -1, "block version %u: refused", v);
			cr_assert_eq(c.err.code, EX_DATAERR, "%s", c.err.msg);
			cr_assert_not_null(strstr(c.err.msg, "same duplicate key"), "%s", c.err.msg);
		}
	}
	mc_buf_release(&body);
	mc_buf_release(&attach);
	/* a resource stored twice before version 4 (under the old key as
	 * rows.id, under the new as `again`): the new key's row answers, so
	 * `again` takes its next version and rows.id does not (found in
	 * review: the old key's row answered first, and neither could) */
	{
		struct succ_rows cur = rows;
		uint8_t again[MC_RECORD_ID_LEN];

		mc_random(again, MC_RECORD_ID_LEN);
		memcpy(cur.old, fx.org->pk, MC_PK_LEN);   /* a DUPKEYS row under the custodian */
		memcpy(cur.id, again, MC_RECORD_ID_LEN);
		cr_assert_eq(mc_store_write(fx.s, dupkey_row_txn, &cur, &err), 0, "%s", err.msg);
		for (int which = 0; which < 2; which++) {
			struct rule_try c = { clin, MC_TX_RECORD_PUT, &body, &attach, 4, 0, { 0 } };

			memcpy(e.id, which ? rows.id : again, MC_RECORD_ID_LEN);
			one_entry_put(fx.org->pk, &e, &body, &attach);
			c.body = &body;
			c.attach = &attach;
			cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
			if (which == 0)
				cr_assert_eq(c.rc, 0, "the new key's record: %s", c.err.msg);
			else
				cr_assert_eq(c.rc, -1, "the old key's record, whose key the new key's row holds");
			mc_buf_release(&body);
			mc_buf_release(&attach);
		}
		cr_assert_eq(mc_store_write(fx.s, dupkey_row_del_txn, &cur, &err), 0, "%s", err.msg);
	}
	/* the record the earlier key's row names takes its key */
	memcpy(e.id, rows.id, MC_RECORD_ID_LEN);
	one_entry_put(fx.org->pk, &e, &body, &attach);
	{
		struct rule_try c = { clin, MC_TX_RECORD_PUT, &body, &attach, 4, 0, { 0 } };

		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		cr_assert_eq(c.rc, 0, "the named record: %s", c.err.msg);
	}
	mc_buf_release(&body);
	mc_buf_release(&attach);
	mc_key_free(clin);
}

struct succ_chain {
	uint8_t k[6][MC_PK_LEN];   /* A B C, D E, and X */
};

static int succ_chain_rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct succ_chain *c = vctx;
	/* orgsucc rows old -> new: X -> A -> B -> C, and D -> E */
	static const int rows[][2] = { { 0, 1 }, { 1, 2 }, { 3, 4 }, { 5, 0 } };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t v[MC_PK_LEN + 8] = { 0 };

		memcpy(v, c->k[rows[i][1]], MC_PK_LEN);
		if (mc_txn_put(t, MC_DB_ORGSUCC, c->k[rows[i][0]], MC_PK_LEN, v, sizeof(v), err) != 0)
			return -1;
	}
	return 0;
}

struct preds_ctx {
	const uint8_t *org;
	uint8_t (*p)[MC_PK_LEN];
	size_t n;
};

static int preds_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct preds_ctx *c = vctx;

	return mc_custody_predecessors(t, c->org, &c->p, &c->n, err);
}

/* mc_custody_predecessors follows the rotations back, newest first, each
 * organization's own chain only, and ends on a table whose rows loop. */
Test(chain, the_keys_an_organization_succeeded_are_found_newest_first)
{
	struct succ_chain sc;
	struct mc_err err = { 0 };
	struct preds_ctx c = { 0 };

	for (int i = 0; i < 6; i++)
		mc_random(sc.k[i], MC_PK_LEN);
	c.org = sc.k[2];
	cr_assert_eq(mc_store_read(fx.s, preds_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 0, "no rotation: none");
	cr_assert_eq(mc_store_write(fx.s, succ_chain_rows_txn, &sc, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, preds_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 3, "C succeeded B, B A, A X");
	cr_assert_eq(memcmp(c.p[0], sc.k[1], MC_PK_LEN), 0, "B first");
	cr_assert_eq(memcmp(c.p[1], sc.k[0], MC_PK_LEN), 0, "then A");
	cr_assert_eq(memcmp(c.p[2], sc.k[5], MC_PK_LEN), 0, "then X");
	free(c.p);
	c.org = sc.k[4];
	cr_assert_eq(mc_store_read(fx.s, preds_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 1, "E succeeded D only");
	cr_assert_eq(memcmp(c.p[0], sc.k[3], MC_PK_LEN), 0);
	free(c.p);
	c.org = sc.k[5];
	cr_assert_eq(mc_store_read(fx.s, preds_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 0, "X succeeded no one");
	/* damage: rows C -> B and X -> C beside B -> C make a loop; the walk
	 * ends */
	{
		struct succ_chain loop = sc;

		memcpy(loop.k[0], sc.k[2], MC_PK_LEN);   /* rows C -> B -> C ... */
		cr_assert_eq(mc_store_write(fx.s, succ_chain_rows_txn, &loop, &err), 0, "%s", err.msg);
		c.org = sc.k[2];
		cr_assert_eq(mc_store_read(fx.s, preds_txn, &c, &err), 0, "%s", err.msg);
		cr_assert(c.n <= 6, "a loop ends: %zu", c.n);
		free(c.p);
	}
}

struct latest_ctx { uint8_t id[MC_RECORD_ID_LEN]; uint8_t subject[MC_HASH_LEN], leaf[MC_HASH_LEN]; };

static int latest_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct latest_ctx *c = vctx;
	struct mc_record_state rs;

	if (mc_record_latest(t, c->id, &rs, err) != 0)
		return -1;
	memcpy(c->subject, rs.entry.subject, MC_HASH_LEN);
	memcpy(c->leaf, rs.leaf, MC_HASH_LEN);
	return 0;
}

Test(chain, only_the_custodians_staff_amend_or_erase_a_record_from_block_version_3)
{
	struct mc_key *orgb = NULL, *drb = NULL, *adminb = NULL;
	struct mc_err err = { 0 };
	struct latest_ctx l;
	struct mc_entry e;
	struct mc_buf body, attach;

	cr_assert_eq(fx_put("MRN-1", "first", l.id, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, latest_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(enroll_in(fx.admin, "B Hospital", MC_ROLE_ORG, "B Hospital", true, &orgb, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(enroll_in(fx.admin, "Dr B", MC_ROLE_CLINICIAN, "B Hospital", false, &drb, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(enroll_in(fx.admin, "Admin B", MC_ROLE_ADMIN, "B Hospital", false, &adminb, &err), 0,
		     "%s", err.msg);

	/* Dr B amends Org's record naming their own organization as custodian:
	 * version 2's custodian rule holds, the record is not theirs. */
	fresh_entry(&e, 0);
	memcpy(e.id, l.id, MC_RECORD_ID_LEN);
	e.version = 2;
	memcpy(e.subject, l.subject, MC_HASH_LEN);
	memcpy(e.prev, l.leaf, MC_HASH_LEN);
	one_entry_put(orgb->pk, &e, &body, &attach);
	v2_passes_v3_refuses(drb, MC_TX_RECORD_PUT, &body, &attach, "custodian");
	mc_buf_release(&body);
	mc_buf_release(&attach);

	/* B's admin erases Org's record. */
	{
		struct mc_erase er = { .reason = (const uint8_t *)"gone", .reason_len = 4 };

		memcpy(er.id, l.id, MC_RECORD_ID_LEN);
		mc_buf_init(&body);
		mc_erase_encode(&er, &body);
		v2_passes_v3_refuses(adminb, MC_TX_RECORD_ERASE, &body, NULL, "custodian");
		mc_buf_release(&body);
	}

	/* Org's own admin still amends and erases it. */
	{
		struct mc_erase er = { .reason = (const uint8_t *)"gone", .reason_len = 4 };
		struct rule_try c = { fx.admin, MC_TX_RECORD_PUT, &body, &attach, 3, 0, { 0 } };

		one_entry_put(fx.org->pk, &e, &body, &attach);
		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		cr_assert_eq(c.rc, 0, "the custodian's admin amends: %s", c.err.msg);
		mc_buf_release(&body);
		mc_buf_release(&attach);
		memcpy(er.id, l.id, MC_RECORD_ID_LEN);
		mc_buf_init(&body);
		mc_erase_encode(&er, &body);
		c.type = MC_TX_RECORD_ERASE;
		c.attach = NULL;
		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		cr_assert_eq(c.rc, 0, "the custodian's admin erases: %s", c.err.msg);
		mc_buf_release(&body);
	}
	mc_key_free(orgb);
	mc_key_free(drb);
	mc_key_free(adminb);
}

Test(chain, an_active_identitys_display_name_is_refused_to_a_new_enrolment_from_block_version_3)
{
	struct mc_key *a = NULL, *b = NULL;
	struct mc_err err = { 0 };
	struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr A", .name_len = 4 };
	struct mc_buf body;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &b, &err), 0);
	memcpy(e.pk, b->pk, MC_PK_LEN);
	mc_buf_init(&body);
	mc_enroll_encode(&e, &body);
	for (uint8_t v = 2; v <= 3; v++) {
		struct rule_try c = { fx.admin, MC_TX_IDENTITY_ENROLL, &body, NULL, v, 0, { 0 } };

		cr_assert_eq(mc_store_write(fx.s, rule_try_txn, &c, &err), -1);
		if (v == 2) {
			cr_assert_eq(c.rc, 0, "a version 2 block keeps its rule: %s", c.err.msg);
		} else {
			cr_assert_eq(c.rc, -1);
			cr_assert_eq(c.err.code, EX_DATAERR, "%s", c.err.msg);
			cr_assert_not_null(strstr(c.err.msg, "already has this display name"), "%s", c.err.msg);
		}
	}
	mc_buf_release(&body);
	mc_key_free(a);
	mc_key_free(b);
}

/* ---- enroller-colleague-grant ------------------------------------------- */

struct colleague_ctx { struct mc_alert_params p; unsigned n; uint64_t after_ms; };

static int count_colleague(const struct mc_alert *a, void *vctx)
{
	struct colleague_ctx *c = vctx;

	if (a->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		c->n++;
		c->after_ms = a->after_ms;
	}
	return 0;
}

static int colleague_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct colleague_ctx *c = vctx;

	return mc_alerts(t, &c->p, count_colleague, c, err);
}

Test(chain, a_new_patient_identitys_grant_to_its_enrollers_colleague_is_flagged_within_the_window_only)
{
	struct mc_key *dr = NULL, *pat = NULL;
	struct mc_err err = { 0 };
	struct mc_enroll e = { .roles = MC_ROLE_PATIENT, .name = (const uint8_t *)"Pat", .name_len = 3,
			       .org = (const uint8_t *)"", .org_len = 0 };
	struct mc_grant g;
	struct mc_buf b;
	struct mc_produced p;
	uint8_t subj[MC_HASH_LEN];
	struct colleague_ctx in = { .n = 0 }, out = { .n = 0 };

	cr_assert_eq(enroll_in(fx.admin, "Dr A", MC_ROLE_CLINICIAN, "Org", false, &dr, &err), 0, "%s", err.msg);
	memset(subj, 0x51, sizeof(subj));
	cr_assert_eq(mc_key_generate(false, &pat, &err), 0);
	memcpy(e.pk, pat->pk, MC_PK_LEN);
	e.subject = subj;
	e.subject_len = MC_HASH_LEN;
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_ENROLL, b.data, b.len, &p, &err), 0,
		     "%s", err.msg);
	usleep(20000);   /* the grant's block is later than the enrolment's */
	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	memcpy(g.subject, subj, MC_HASH_LEN);
	memcpy(g.grantee, dr->pk, MC_PK_LEN);
	g.purpose = MC_PURPOSE_TREATMENT;
	g.not_after = MC_TIME_OPEN;
	g.all_categories = true;
	g.attest_kind = MC_ATTEST_PATIENT_SIGNATURE;
	g.attest = (const uint8_t *)"signed";
	g.attest_len = 6;
	mc_buf_reset(&b);
	mc_grant_encode(&g, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, pat, MC_TX_CONSENT_GRANT, b.data, b.len, &p, &err), 0,
		     "%s", err.msg);
	mc_buf_release(&b);

	mc_alert_defaults(&in.p, mc_now_ms());
	cr_assert_eq(mc_store_read(fx.s, colleague_txn, &in, &err), 0, "%s", err.msg);
	cr_assert_eq(in.n, 1, "within 24 hours of the enrolment: flagged");
	cr_assert_geq(in.after_ms, 20, "the delay from enrolment to grant: %llu ms", (unsigned long long)in.after_ms);
	out.p = in.p;
	out.p.enrolment_window_ms = in.after_ms - 1;
	cr_assert_eq(mc_store_read(fx.s, colleague_txn, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.n, 0, "a grant made after the window is a patient's ordinary grant");
	mc_key_free(dr);
	mc_key_free(pat);
}

Test(chain, a_rotation_needs_both_holder_signatures_for_this_chain_an_admin_and_a_fresh_key)
{
	struct mc_key *a = NULL, *b = NULL, *fresh = NULL, *other = NULL;
	struct mc_err err = { 0 };
	struct mc_head h0 = head();
	uint8_t elsewhere[MC_HASH_LEN] = { 5 };
	uint64_t h;

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(enroll(fx.admin, "Dr B", MC_ROLE_CLINICIAN, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &fresh, &err), 0);
	cr_assert_eq(mc_key_generate(false, &other, &err), 0);
	h = head().height;
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, other, a, MC_ROTATE_HOLDER, h0.chain_id, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "a new-key signature by another key: %s", err.msg);
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, other, MC_ROTATE_HOLDER, h0.chain_id, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "an old-key signature by another key: %s", err.msg);
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, a, MC_ROTATE_HOLDER, elsewhere, &err), -1,
		     "signatures made for another chain");
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, a, MC_ROTATE_LOST_KEY, elsewhere, &err), -1,
		     "a lost-key rotation's new-key signature for another chain");
	cr_assert_eq(rotate(b, a->pk, fresh->pk, fresh, a, MC_ROTATE_HOLDER, h0.chain_id, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "a clinician as author: %s", err.msg);
	cr_assert_eq(rotate(fx.admin, a->pk, b->pk, b, a, MC_ROTATE_HOLDER, h0.chain_id, &err), -1,
		     "a key already enrolled");
	cr_assert_eq(rotate(fx.admin, fx.node->pk, fresh->pk, fresh, fx.node, MC_ROTATE_HOLDER, h0.chain_id, &err),
		     -1, "a node key");
	cr_assert_eq(rotate(fx.admin, fx.admin->pk, fresh->pk, fresh, NULL, MC_ROTATE_LOST_KEY, h0.chain_id, &err),
		     -1, "an admin declaring lost the key it signs with");
	cr_assert_eq(head().height, h, "refused rotations commit nothing");

	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, a, MC_ROTATE_HOLDER, h0.chain_id, &err), 0, "%s",
		     err.msg);
	{
		struct id_ctx o = { .pk = a->pk }, n = { .pk = fresh->pk };

		cr_assert_eq(mc_store_read(fx.s, id_txn, &o, &err), 0);
		cr_assert_eq(mc_store_read(fx.s, id_txn, &n, &err), 0);
		cr_assert_eq(o.rc, 0);
		cr_assert_eq(n.rc, 0);
		cr_assert_neq(o.id.revoked, MC_NOT_REVOKED, "the old key is revoked");
		cr_assert_eq(n.id.revoked, MC_NOT_REVOKED, "the new key is active");
		cr_assert_eq(n.id.roles, MC_ROLE_CLINICIAN);
		cr_assert_str_eq(n.id.name, "Dr A");
		cr_assert_eq(n.id.enrolled, o.id.revoked, "one tx: enrolled where the old was revoked");
	}
	cr_assert_eq(rotate(fx.admin, a->pk, other->pk, other, a, MC_ROTATE_HOLDER, h0.chain_id, &err), -1,
		     "the old key, now revoked, rotates no more");
	mc_key_free(a);
	mc_key_free(b);
	mc_key_free(fresh);
	mc_key_free(other);
}

static int submit_ack_id(const struct mc_key *author, uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN],
			 const char *reason, struct mc_err *err)
{
	struct mc_alert_ack a = { .kind = kind };
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	memcpy(a.id, id, MC_ALERT_ID_LEN);
	a.reason = (const uint8_t *)reason;
	a.reason_len = strlen(reason);
	mc_buf_init(&b);
	mc_alert_ack_encode(&a, &b);
	rc = mc_chain_submit(fx.s, fx.node, author, MC_TX_ALERT_ACK, b.data, b.len, &p, err);
	mc_buf_release(&b);
	return rc;
}

static int submit_ack(const struct mc_key *author, uint8_t kind, uint8_t idbyte, const char *reason,
		      struct mc_err *err)
{
	uint8_t id[MC_ALERT_ID_LEN];

	memset(id, idbyte, sizeof(id));
	return submit_ack_id(author, kind, id, reason, err);
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
	cr_assert_eq(submit_ack(clin, MC_ALERT_SERVE_DOWN, 0x11, "it was me", &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "a clinician: EX_NOPERM (%s)", err.msg);
	cr_assert_eq(head().height, h, "nothing committed");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, MC_ALERT_SERVE_DOWN, 0x11, "", &err), -1, "no reason");
	cr_assert_eq(err.code, EX_DATAERR);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, 0, 0x11, "kind 0", &err), -1, "kind 0");
	cr_assert_eq(head().height, h, "nothing committed");

	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack(fx.admin, MC_ALERT_SERVE_DOWN, 0x11, "called the ER", &err), 0, "%s", err.msg);
	cr_assert_eq(head().height, h + 1);
	memset(&l, 0, sizeof(l));
	memset(l.id, 0x11, MC_ALERT_ID_LEN);
	cr_assert_eq(mc_store_read(fx.s, ack_look_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.rc, 0, "acknowledged");
	cr_assert_arr_eq(l.a.ack_by, fx.admin->pk, MC_PK_LEN);
	cr_assert_eq(l.a.ack_height, h + 1);
	cr_assert_str_eq(l.a.ack_reason, "called the ER");
	cr_assert_eq(submit_ack(fx.admin, MC_ALERT_SERVE_DOWN, 0x11, "again", &err), -1, "an id is acknowledged once");
	cr_assert_not_null(strstr(err.msg, "already acknowledged"), "%s", err.msg);
	memset(l.id, 0x22, MC_ALERT_ID_LEN);
	cr_assert_eq(mc_store_read(fx.s, ack_look_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.rc, MC_NOTFOUND, "another id is not acknowledged");
	mc_key_free(clin);
}

struct lost_find {
	struct mc_alert_params p;
	uint8_t id[MC_ALERT_ID_LEN];
	unsigned n;
};

static int lost_find_fn(const struct mc_alert *al, void *vctx)
{
	struct lost_find *l = vctx;

	if (al->kind == MC_ALERT_LOST_KEY_ROTATION) {
		memcpy(l->id, al->id, MC_ALERT_ID_LEN);
		l->n++;
	}
	return 0;
}

static int lost_find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct lost_find *l = vctx;

	return mc_alerts(t, &l->p, lost_find_fn, l, err);
}

Test(chain, an_alert_on_the_chain_is_acknowledged_only_once_it_exists_and_not_by_the_admin_who_did_it)
{
	struct mc_key *admin2 = NULL, *a = NULL, *fresh = NULL;
	struct mc_err err = { 0 };
	struct lost_find l = { .n = 0 };
	uint8_t made_up[MC_ALERT_ID_LEN];
	uint64_t h;

	cr_assert_eq(enroll(fx.admin, "Admin Two", MC_ROLE_ADMIN, &admin2, &err), 0, "%s", err.msg);
	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &fresh, &err), 0);
	/* an id made up, or computed in advance for an act still to come,
	 * names no fact on the chain: it would hide the alert once it came */
	memset(made_up, 0x5a, sizeof(made_up));
	h = head().height;
	cr_assert_eq(submit_ack_id(fx.admin, MC_ALERT_LOST_KEY_ROTATION, made_up, "nothing to see", &err), -1,
		     "a pre-acknowledgement");
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_eq(submit_ack_id(fx.admin, MC_ALERT_BREAK_GLASS, made_up, "nothing to see", &err), -1,
		     "a break-glass id no read has");
	cr_assert_eq(head().height, h, "nothing committed");

	/* fx.admin moves Dr A's identity to a key of its choosing */
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, NULL, MC_ROTATE_LOST_KEY, head().chain_id, &err), 0,
		     "%s", err.msg);
	mc_alert_defaults(&l.p, mc_now_ms());
	cr_assert_eq(mc_store_read(fx.s, lost_find_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 1, "the lost-key rotation is an alert");
	h = head().height;
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack_id(fx.admin, MC_ALERT_LOST_KEY_ROTATION, l.id, "all fine", &err), -1,
		     "the admin who did it acknowledges it");
	cr_assert_eq(err.code, EX_NOPERM, "%s", err.msg);
	cr_assert_eq(submit_ack_id(fresh, MC_ALERT_LOST_KEY_ROTATION, l.id, "all fine", &err), -1,
		     "the key it went to (not an admin either)");
	cr_assert_eq(head().height, h, "nothing committed");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack_id(admin2, MC_ALERT_LOST_KEY_ROTATION, l.id, "Dr A confirmed by phone", &err), 0,
		     "another admin: %s", err.msg);
	l.n = 0;
	cr_assert_eq(mc_store_read(fx.s, lost_find_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 0, "acknowledged, so no longer listed");
	/* a node's own alert (serve, validators, anchors, verify) is no fact of
	 * the chain: the chain takes its id as given */
	memset(&err, 0, sizeof(err));
	cr_assert_eq(submit_ack_id(fx.admin, MC_ALERT_SERVE_DOWN, made_up, "restarted", &err), 0, "%s", err.msg);
	mc_key_free(admin2);
	mc_key_free(a);
	mc_key_free(fresh);
}

Test(chain, an_ack_under_another_kind_does_not_hide_an_alert_nor_block_its_own_ack)
{
	struct mc_key *a = NULL, *fresh = NULL, *admin2 = NULL;
	struct mc_err err = { 0 };
	struct lost_find l = { .n = 0 };

	cr_assert_eq(enroll(fx.admin, "Dr A", MC_ROLE_CLINICIAN, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &fresh, &err), 0);
	cr_assert_eq(rotate(fx.admin, a->pk, fresh->pk, fresh, NULL, MC_ROTATE_LOST_KEY, head().chain_id, &err), 0,
		     "%s", err.msg);
	mc_alert_defaults(&l.p, mc_now_ms());
	cr_assert_eq(mc_store_read(fx.s, lost_find_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 1);
	/* the admin who did it names its id under a kind the chain cannot
	 * look up (a node's own): the chain takes it, but it acknowledges
	 * only an alert of that kind */
	cr_assert_eq(submit_ack_id(fx.admin, MC_ALERT_SERVE_DOWN, l.id, "nothing to see", &err), 0, "%s", err.msg);
	l.n = 0;
	cr_assert_eq(mc_store_read(fx.s, lost_find_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 1, "the lost-key rotation is still listed");
	/* and it does not keep a second admin from acknowledging it */
	cr_assert_eq(enroll(fx.admin, "Admin Two", MC_ROLE_ADMIN, &admin2, &err), 0, "%s", err.msg);
	cr_assert_eq(submit_ack_id(admin2, MC_ALERT_LOST_KEY_ROTATION, l.id, "Dr A confirmed", &err), 0, "%s",
		     err.msg);
	l.n = 0;
	cr_assert_eq(mc_store_read(fx.s, lost_find_txn, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(l.n, 0, "acknowledged under its own kind");
	cr_assert_eq(submit_ack_id(admin2, MC_ALERT_LOST_KEY_ROTATION, l.id, "again", &err), -1, "once");
	mc_key_free(admin2);
	mc_key_free(a);
	mc_key_free(fresh);
}
