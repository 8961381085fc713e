/* SPDX-License-Identifier: Apache-2.0 */
/* Replication (replica.c): the codec of block bundles, tx bundles and side
 * rows; side rows collected from one store and written into a second that
 * replays the same blocks (the replica ends byte-identical and verifies);
 * what mc_side_write refuses; what mc_block_apply refuses (side rows that do
 * not match the hashes the txs commit to, headers that break a chain rule,
 * certificates short of a quorum or forged); how mc_block_build picks txs;
 * and mc_block_apply_genesis. */
#include "config.h"

#include "fixture.h"
#include "consent.h"
#include "merkle.h"
#include "blocks.h"
#include "replica.h"
#include "util.h"
#include "valset.h"
#include "verify.h"

static const uint8_t no_side[4];   /* a sidecar of no rows */

/* ---- side rows as documented in replica.h, written and read here ------ */

struct row {
	uint8_t kind;
	uint32_t entry;
	uint8_t loc[MC_LOC_LEN];
	uint8_t org[MC_PK_LEN];
	uint32_t epoch;
	const uint8_t *v;
	size_t vn;
};

static void side_begin(struct mc_buf *b)
{
	mc_buf_init(b);
	mc_put_u32(b, 0);
}

static void side_count(struct mc_buf *b)
{
	mc_be32(b->data, mc_from_be32(b->data) + 1);
}

static void side_add(struct mc_buf *b, const struct row *r)
{
	mc_put_u8(b, r->kind);
	switch (r->kind) {
	case MC_SIDE_PAYLOAD:
	case MC_SIDE_WRAPPED:
		mc_put_u32(b, r->entry);
		break;
	case MC_SIDE_SHARED:
		mc_put_raw(b, r->loc, MC_LOC_LEN);
		mc_put_raw(b, r->org, MC_PK_LEN);
		break;
	case MC_SIDE_KEK:
		mc_put_raw(b, r->org, MC_PK_LEN);
		mc_put_u32(b, r->epoch);
		break;
	default:
		break;
	}
	if (r->kind >= MC_SIDE_PAYLOAD && r->kind <= MC_SIDE_KEK)
		mc_put_bytes(b, r->v, r->vn);
	side_count(b);
}

static void side_entry(struct mc_buf *b, uint8_t kind, uint32_t entry, const void *v, size_t n)
{
	struct row r = { .kind = kind, .entry = entry, .v = v, .vn = n };

	side_add(b, &r);
}

static void side_shared(struct mc_buf *b, const uint8_t loc[MC_LOC_LEN], const uint8_t org[MC_PK_LEN],
			const void *v, size_t n)
{
	struct row r = { .kind = MC_SIDE_SHARED, .v = v, .vn = n };

	memcpy(r.loc, loc, MC_LOC_LEN);
	memcpy(r.org, org, MC_PK_LEN);
	side_add(b, &r);
}

static void side_kek(struct mc_buf *b, const uint8_t org[MC_PK_LEN], uint32_t epoch, const void *v, size_t n)
{
	struct row r = { .kind = MC_SIDE_KEK, .epoch = epoch, .v = v, .vn = n };

	memcpy(r.org, org, MC_PK_LEN);
	side_add(b, &r);
}

static void side_partial(struct mc_buf *b)
{
	struct row r = { .kind = MC_SIDE_PARTIAL };

	side_add(b, &r);
}

/* Reads a well-formed sidecar into rows (borrowing the values). */
static size_t side_parse(const uint8_t *p, size_t n, struct row *rows, size_t max)
{
	struct mc_rd r;
	uint32_t count;

	mc_rd_init(&r, p, n);
	count = mc_get_u32(&r);
	cr_assert_leq(count, max);
	for (uint32_t i = 0; i < count; i++) {
		struct row *w = &rows[i];

		memset(w, 0, sizeof(*w));
		w->kind = mc_get_u8(&r);
		if (w->kind == MC_SIDE_PAYLOAD || w->kind == MC_SIDE_WRAPPED) {
			w->entry = mc_get_u32(&r);
		} else if (w->kind == MC_SIDE_SHARED) {
			mc_get_raw(&r, w->loc, MC_LOC_LEN);
			mc_get_raw(&r, w->org, MC_PK_LEN);
		} else if (w->kind == MC_SIDE_KEK) {
			mc_get_raw(&r, w->org, MC_PK_LEN);
			w->epoch = mc_get_u32(&r);
		} else {
			cr_assert_eq(w->kind, MC_SIDE_PARTIAL, "row %u: kind %u", i, w->kind);
			continue;
		}
		w->v = mc_get_bytes(&r, SIZE_MAX, &w->vn);
	}
	cr_assert(mc_rd_finish(&r), "the sidecar is exactly its rows");
	return count;
}

static void side_encode(const struct row *rows, size_t n, struct mc_buf *b)
{
	side_begin(b);
	for (size_t i = 0; i < n; i++)
		side_add(b, &rows[i]);
}

/* ---- a second store: the replica ---------------------------------------- */

struct replica {
	char dir[64];
	struct mc_store *s;
};

static struct replica rp;

static void rp_setup(void)
{
	struct mc_err err = { 0 };

	fx_setup();
	strcpy(rp.dir, "/tmp/mc-replica-XXXXXX");
	cr_assert_not_null(mkdtemp(rp.dir));
	cr_assert_eq(mc_store_open(rp.dir, MC_STORE_CREATE, &rp.s, &err), 0, "%s", err.msg);
}

static void rp_teardown(void)
{
	mc_store_close(rp.s);
	nftw(rp.dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
	memset(&rp, 0, sizeof(rp));
	fx_teardown();
}

/* ---- store helpers ------------------------------------------------------ */

struct head_ctx { struct mc_head h; };

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, &((struct head_ctx *)vctx)->h, err);
}

static struct mc_head head_of(struct mc_store *s)
{
	struct head_ctx c;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(s, head_txn, &c, &err), 0, "%s", err.msg);
	return c.h;
}

struct rows_ctx { enum mc_db db; uint64_t n; struct mc_buf *dump; };

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct rows_ctx *c = vctx;
	struct mc_cursor *cur;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (!c->dump)
		return mc_txn_count(t, c->db, &c->n, err);
	if (mc_cursor_open(t, c->db, &cur, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(cur, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(cur, &k, &kn, &v, &vn, err)) {
		mc_put_bytes(c->dump, k, kn);
		mc_put_bytes(c->dump, v, vn);
		c->n++;
	}
	mc_cursor_close(cur);
	return rc < 0 ? -1 : 0;
}

static uint64_t rows(struct mc_store *s, enum mc_db db)
{
	struct rows_ctx c = { db, 0, NULL };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(s, rows_txn, &c, &err), 0, "%s", err.msg);
	return c.n;
}

/* Every key and value of db, in key order. */
static uint64_t dump(struct mc_store *s, enum mc_db db, struct mc_buf *out)
{
	struct rows_ctx c = { db, 0, out };
	struct mc_err err = { 0 };

	mc_buf_init(out);
	cr_assert_eq(mc_store_read(s, rows_txn, &c, &err), 0, "%s", err.msg);
	return c.n;
}

static uint64_t count_in(struct mc_txn *t, enum mc_db db)
{
	uint64_t n = 0;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_txn_count(t, db, &n, &err), 0, "%s", err.msg);
	return n;
}

struct load_ctx { uint64_t height; struct mc_buf *out; };

static int load_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load_ctx *c = vctx;

	mc_buf_reset(c->out);
	return mc_bundle_load(t, c->height, c->out, err);
}

/* The stored block at height as a bundle (out initialised here). */
static void load(struct mc_store *s, uint64_t height, struct mc_buf *out)
{
	struct load_ctx c = { height, out };
	struct mc_err err = { 0 };

	mc_buf_init(out);
	cr_assert_eq(mc_store_read(s, load_txn, &c, &err), 0, "block %llu: %s",
		     (unsigned long long)height, err.msg);
}

/* One stored tx row, copied out (and decoded from the copy). */
struct stored_tx {
	struct mc_buf enc;
	struct mc_tx tx;
};

struct tx_ctx { uint64_t height; uint32_t index; struct stored_tx *out; };

static int tx_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct tx_ctx *c = vctx;
	uint8_t key[12];
	const void *v;
	size_t vn;
	int rc;

	mc_be64(key, c->height);
	mc_be32(key + 8, c->index);
	rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_NOINPUT, "no tx");
	mc_buf_reset(&c->out->enc);
	mc_put_raw(&c->out->enc, v, vn);
	return 0;
}

static void read_tx(struct mc_store *s, uint64_t height, uint32_t index, struct stored_tx *out)
{
	struct tx_ctx c = { height, index, out };
	struct mc_err err = { 0 };

	mc_buf_init(&out->enc);
	cr_assert_eq(mc_store_read(s, tx_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_tx_decode(out->enc.data, out->enc.len, &out->tx, &err), 0, "%s", err.msg);
}

struct collect_ctx { uint64_t height; uint32_t index; struct mc_buf *side; };

static int collect_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct collect_ctx *c = vctx;
	struct stored_tx st;
	struct tx_ctx tc = { c->height, c->index, &st };
	int rc;

	mc_buf_init(&st.enc);
	rc = tx_txn(t, &tc, err);
	if (rc == 0)
		rc = mc_tx_decode(st.enc.data, st.enc.len, &st.tx, err);
	if (rc == 0) {
		mc_buf_reset(c->side);
		rc = mc_side_collect(t, c->height, c->index, &st.tx, c->side, err);
	}
	mc_buf_release(&st.enc);
	return rc;
}

/* mc_side_collect on the stored tx at (height, index). */
static void collect(struct mc_store *s, uint64_t height, uint32_t index, struct mc_buf *side)
{
	struct collect_ctx c = { height, index, side };
	struct mc_err err = { 0 };

	mc_buf_init(side);
	cr_assert_eq(mc_store_read(s, collect_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_side_check(side->data, side->len, &err), 0, "a collected sidecar is well formed: %s",
		     err.msg);
}

/* ---- applying bundles --------------------------------------------------- */

struct apply_ctx {
	const uint8_t *p;
	size_t n;
	unsigned flags;
	uint64_t now;
	bool keep;
	int rc;
};

static int apply_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct apply_ctx *c = vctx;
	struct mc_bundle b;

	c->rc = mc_bundle_decode(c->p, c->n, &b, err);
	if (c->rc != 0)
		return -1;
	c->rc = mc_block_apply(t, &b, c->flags, c->now, err);
	mc_bundle_release(&b);
	return c->rc == 0 && c->keep ? 0 : -1;
}

/* mc_block_apply of the encoded bundle in a write txn, committed when the
 * block applies and keep is set, aborted otherwise. Returns its result. */
static int apply_bytes(struct mc_store *s, const struct mc_buf *bundle, unsigned flags, uint64_t now,
		       bool keep, struct mc_err *err)
{
	struct apply_ctx c = { bundle->data, bundle->len, flags, now, keep, -2 };
	int rc = mc_store_write(s, apply_txn, &c, err);

	cr_assert_neq(c.rc, -2, "the write txn began: %s", err->msg);
	if (c.rc == 0 && keep)
		cr_assert_eq(rc, 0, "committed: %s", err->msg);
	return c.rc;
}

static void commit_bytes(struct mc_store *s, const struct mc_buf *bundle)
{
	struct mc_err err = { 0 };

	cr_assert_eq(apply_bytes(s, bundle, MC_APPLY_COMMIT, mc_now_ms(), true, &err), 0, "%s", err.msg);
}

struct genesis_ctx { const struct mc_buf *bundle; const uint8_t *expect; int rc; };

static int genesis_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct genesis_ctx *c = vctx;
	struct mc_bundle b;

	c->rc = mc_bundle_decode(c->bundle->data, c->bundle->len, &b, err);
	if (c->rc != 0)
		return -1;
	c->rc = mc_block_apply_genesis(t, &b, c->expect, err);
	mc_bundle_release(&b);
	return c->rc;
}

static int apply_genesis(struct mc_store *s, const struct mc_buf *bundle, const uint8_t expect[MC_HASH_LEN],
			 struct mc_err *err)
{
	struct genesis_ctx c = { bundle, expect, -2 };
	int rc = mc_store_write(s, genesis_txn, &c, err);

	cr_assert_neq(c.rc, -2, "the write txn began: %s", err->msg);
	if (c.rc == 0)
		cr_assert_eq(rc, 0, "committed: %s", err->msg);
	return c.rc;
}

/* The replica takes the source's genesis block and every block up to and
 * including height `to`, each as mc_bundle_load gives it. */
static void replicate(uint64_t to)
{
	struct mc_head src = head_of(fx.s), dst = head_of(rp.s);
	struct mc_buf b;
	struct mc_err err = { 0 };

	if (dst.empty) {
		load(fx.s, 0, &b);
		cr_assert_eq(apply_genesis(rp.s, &b, src.chain_id, &err), 0, "%s", err.msg);
		mc_buf_release(&b);
		dst = head_of(rp.s);
	}
	for (uint64_t h = dst.height + 1; h <= to; h++) {
		load(fx.s, h, &b);
		commit_bytes(rp.s, &b);
		mc_buf_release(&b);
	}
}

/* The bundle with tx i's sidecar replaced. */
static void with_side(const struct mc_buf *bundle, uint32_t i, const struct mc_buf *side, struct mc_buf *out)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	struct mc_txin *in;

	cr_assert_eq(mc_bundle_decode(bundle->data, bundle->len, &b, &err), 0, "%s", err.msg);
	cr_assert_lt(i, b.count);
	in = calloc(b.count, sizeof(*in));
	memcpy(in, b.txs, b.count * sizeof(*in));
	in[i].side = side->data;
	in[i].side_len = side->len;
	mc_buf_init(out);
	mc_bundle_encode(&b.h, &b.cert, in, b.count, out);
	free(in);
	mc_bundle_release(&b);
}

/* Tx i's sidecar in a bundle, parsed. */
static size_t bundle_side(const struct mc_buf *bundle, uint32_t i, struct row *out, size_t max)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	size_t n;

	cr_assert_eq(mc_bundle_decode(bundle->data, bundle->len, &b, &err), 0, "%s", err.msg);
	cr_assert_lt(i, b.count);
	n = side_parse(b.txs[i].side, b.txs[i].side_len, out, max);
	mc_bundle_release(&b);
	return n;
}

/* ---- making txs and blocks ---------------------------------------------- */

/* An encoded tx by author, signed for chain_id (out initialised here). */
static void make_tx(struct mc_buf *out, const struct mc_key *author, unsigned type, uint64_t seq,
		    const struct mc_buf *body, const uint8_t chain_id[MC_HASH_LEN])
{
	struct mc_tx tx;

	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)type;
	memcpy(tx.author, author->pk, MC_PK_LEN);
	tx.timestamp_ms = mc_now_ms();
	tx.seq = seq;
	tx.body = body->data;
	tx.body_len = body->len;
	mc_tx_sign(&tx, chain_id, author->sk);
	mc_buf_init(out);
	mc_tx_encode(&tx, out);
}

static void enroll_body(struct mc_buf *b, const uint8_t pk[MC_PK_LEN], uint32_t roles, const char *name,
			const char *org)
{
	struct mc_enroll e = { .roles = roles };

	memcpy(e.pk, pk, MC_PK_LEN);
	e.name = (const uint8_t *)name;
	e.name_len = strlen(name);
	e.org = (const uint8_t *)org;
	e.org_len = strlen(org);
	mc_buf_init(b);
	mc_enroll_encode(&e, b);
}

/* The admin's tx with sequence number seq enrolling a fresh clinician (a
 * key derived from tag). */
static void enroll_tx(struct mc_buf *out, uint64_t seq, uint8_t tag)
{
	uint8_t seed[MC_SEED_LEN], pk[MC_PK_LEN], sk[MC_SK_LEN];
	char name[32];
	struct mc_buf body;

	memset(seed, tag, sizeof(seed));
	mc_sign_seed_keypair(seed, pk, sk);
	snprintf(name, sizeof(name), "Dr %u", (unsigned)tag);
	enroll_body(&body, pk, MC_ROLE_CLINICIAN, name, "Org");
	make_tx(out, fx.admin, MC_TX_IDENTITY_ENROLL, seq, &body, head_of(fx.s).chain_id);
	mc_buf_release(&body);
}

static struct mc_txin txin(const struct mc_buf *tx)
{
	struct mc_txin in = { tx->data, tx->len, no_side, sizeof(no_side) };

	return in;
}

/* mc_block_build in a write txn that is always aborted. */
struct build_ctx {
	const uint8_t *proposer;
	const struct mc_txin *in;
	size_t n, max;
	uint8_t *status;
	uint64_t now;
	struct mc_header h;
	int rc;
	size_t nrefused;
	size_t refused[8];
	char why[8][MC_ERR_MSG_MAX];
	uint64_t seqs_before, seqs_after;
};

static void on_refused(size_t index, const struct mc_err *why, void *vctx)
{
	struct build_ctx *c = vctx;

	cr_assert_lt(c->nrefused, 8);
	c->refused[c->nrefused] = index;
	snprintf(c->why[c->nrefused], MC_ERR_MSG_MAX, "%s", why->msg);
	c->nrefused++;
}

static int build_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct build_ctx *c = vctx;

	c->seqs_before = count_in(t, MC_DB_TXS);
	c->rc = mc_block_build(t, c->proposer, c->in, c->n, c->status, c->max, c->now, on_refused, c,
			       &c->h, err);
	return -1;   /* the caller of mc_block_build never commits */
}

static int build(struct mc_store *s, const struct mc_key *proposer, const struct mc_txin *in, size_t n,
		 uint8_t *status, size_t max, uint64_t now, struct build_ctx *c, struct mc_err *err)
{
	memset(c, 0, sizeof(*c));
	c->proposer = proposer->pk;
	c->in = in;
	c->n = n;
	c->max = max;
	c->status = status;
	c->now = now;
	c->rc = -2;
	(void)mc_store_write(s, build_txn, c, err);
	cr_assert_neq(c->rc, -2, "the write txn began");
	return c->rc;
}

/* A certificate over h by signers (votes in key order). */
static void seal(const struct mc_header *h, const struct mc_key *const *signers, size_t n, struct mc_cert *c)
{
	const struct mc_key *order[MC_MAX_VALIDATORS];
	uint8_t hash[MC_HASH_LEN];

	mc_block_hash(h, hash);
	for (size_t i = 0; i < n; i++) {
		size_t at = i;

		while (at > 0 && memcmp(order[at - 1]->pk, signers[i]->pk, MC_PK_LEN) > 0) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = signers[i];
	}
	memset(c, 0, sizeof(*c));
	c->count = (uint16_t)n;
	for (size_t i = 0; i < n; i++)
		mc_vote_sign(hash, order[i]->sk, order[i]->pk, &c->votes[i]);
}

/* The bundle of h, c and the txs build took (status IN, in order). */
static void encode_block(const struct mc_header *h, const struct mc_cert *c, const struct mc_txin *in,
			 const uint8_t *status, size_t n, struct mc_buf *out)
{
	struct mc_txin taken[16];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (status[i] == MC_TXIN_IN) {
			cr_assert_lt(k, 16);
			taken[k++] = in[i];
		}
	mc_buf_init(out);
	mc_bundle_encode(h, c, taken, k, out);
}

/* h sealed by signers, encoded with the txs taken, applied. */
static int try_block(const struct mc_header *h, const struct mc_key *const *signers, size_t nsig,
		     const struct mc_txin *in, const uint8_t *status, size_t n, unsigned flags, uint64_t now,
		     bool keep, struct mc_err *err)
{
	struct mc_cert c;
	struct mc_buf b;
	int rc;

	seal(h, signers, nsig, &c);
	encode_block(h, &c, in, status, n, &b);
	rc = apply_bytes(fx.s, &b, flags, now, keep, err);
	mc_buf_release(&b);
	return rc;
}

static void expect_refused(int rc, const struct mc_err *err, int code, const char *rule)
{
	cr_assert_eq(rc, -1, "refused: %s", rule);
	cr_assert_eq(err->code, code, "code %d for '%s': %s", err->code, rule, err->msg);
	cr_assert_not_null(strstr(err->msg, rule), "the refusal names '%s': %s", rule, err->msg);
}

/* ---- a source chain with records and a shared grant ---------------------- */

struct world {
	struct mc_key *orgb, *clinb, *clina;
	uint8_t rec[2][MC_RECORD_ID_LEN];
	uint64_t put_height, grant_height, plain_grant_height;
	size_t shared;
};

static struct world w;

static void submit(const struct mc_key *author, unsigned type, struct mc_buf *body)
{
	struct mc_produced p;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_chain_submit(fx.s, fx.node, author, type, body->data, body->len, &p, &err), 0, "%s",
		     err.msg);
	mc_buf_release(body);
}

static void grant_of(struct mc_grant *g, const char *patient, const uint8_t grantee[MC_PK_LEN])
{
	struct mc_err err = { 0 };

	memset(g, 0, sizeof(*g));
	mc_random(g->id, sizeof(g->id));
	cr_assert_eq(mc_org_subject(fx.o, patient, strlen(patient), g->subject, &err), 0);
	memcpy(g->grantee, grantee, MC_PK_LEN);
	g->purpose = MC_PURPOSE_TREATMENT;
	g->not_after = mc_now_ms() + 86400000ULL;
	g->all_categories = true;
	g->attest_kind = MC_ATTEST_CONSENT_FORM;
	g->attest = (const uint8_t *)"form";
	g->attest_len = 4;
}

struct share_build_ctx { struct mc_grant *g; const struct mc_share_prep *prep; };

/* The grant tx with its share, as `consent grant` makes it for a grantee of
 * another organization. */
static int share_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct share_build_ctx *c = vctx;
	struct mc_buf body, attach;
	uint8_t share[MC_HASH_LEN];
	int rc;

	mc_buf_init(&body);
	mc_buf_init(&attach);
	rc = mc_share_store(t, c->prep, &attach, err);
	if (rc == 0) {
		mc_sha256(attach.data, attach.len, share);
		c->g->share = share;
		c->g->share_len = MC_HASH_LEN;
		mc_grant_encode(c->g, &body);
		rc = mc_builder_add_new(t, b, fx.admin, MC_TX_CONSENT_GRANT, body.data, body.len, attach.data,
					attach.len, err);
		c->g->share = NULL;
		c->g->share_len = 0;
	}
	mc_buf_release(&body);
	mc_buf_release(&attach);
	return rc;
}

/* Blocks 1..: OrgB, Dr B (OrgB), Dr A (Org) enrolled; two records of P1 in
 * one RECORD_PUT; a grant to Dr B sharing both with OrgB; a grant to Dr A
 * (no share). */
static void world(void)
{
	struct mc_err err = { 0 };
	struct mc_buf body;
	struct mc_sealed recs[2];
	struct mc_produced p;
	struct mc_grant g;
	struct mc_share_prep prep;
	struct share_build_ctx sc;
	uint8_t subj[MC_HASH_LEN];

	memset(&w, 0, sizeof(w));
	cr_assert_eq(mc_key_generate(true, &w.orgb, &err), 0);
	cr_assert_eq(mc_key_generate(false, &w.clinb, &err), 0);
	cr_assert_eq(mc_key_generate(false, &w.clina, &err), 0);
	enroll_body(&body, w.orgb->pk, MC_ROLE_ORG, "OrgB", "OrgB");
	submit(fx.admin, MC_TX_IDENTITY_ENROLL, &body);
	enroll_body(&body, w.clinb->pk, MC_ROLE_CLINICIAN, "Dr B", "OrgB");
	submit(fx.admin, MC_TX_IDENTITY_ENROLL, &body);
	enroll_body(&body, w.clina->pk, MC_ROLE_CLINICIAN, "Dr A", "Org");
	submit(fx.admin, MC_TX_IDENTITY_ENROLL, &body);

	cr_assert_eq(mc_org_subject(fx.o, "P1", 2, subj, &err), 0);
	for (int i = 0; i < 2; i++) {
		mc_random(w.rec[i], MC_RECORD_ID_LEN);
		cr_assert_eq(mc_record_seal(fx.o, w.rec[i], 1, NULL, subj, "note", "text/plain",
					    i ? "second note" : "first note", i ? 11 : 10, &recs[i], &err), 0,
			     "%s", err.msg);
	}
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, recs, 2, &p, &err), 0, "%s", err.msg);
	w.put_height = p.height;
	mc_sealed_release(&recs[0]);
	mc_sealed_release(&recs[1]);

	grant_of(&g, "P1", w.clinb->pk);
	cr_assert_eq(mc_share_prepare(fx.s, fx.o, w.orgb->pk, &g, &prep, &err), 0, "%s", err.msg);
	w.shared = prep.n;
	cr_assert_eq(w.shared, 2, "both records are shared with OrgB");
	sc.g = &g;
	sc.prep = &prep;
	cr_assert_eq(mc_chain_produce(fx.s, fx.node, share_build, &sc, &p, &err), 0, "%s", err.msg);
	w.grant_height = p.height;
	mc_share_release(&prep);

	grant_of(&g, "P1", w.clina->pk);
	mc_buf_init(&body);
	mc_grant_encode(&g, &body);
	submit(fx.admin, MC_TX_CONSENT_GRANT, &body);
	w.plain_grant_height = head_of(fx.s).height;
}

static void world_free(void)
{
	mc_key_free(w.orgb);
	mc_key_free(w.clinb);
	mc_key_free(w.clina);
	memset(&w, 0, sizeof(w));
	rp_teardown();
}

/* The sealed KEK stored for (org, epoch) (out initialised here). */
struct kek_ctx { const uint8_t *org; uint32_t epoch; struct mc_buf *out; };

static int kek_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct kek_ctx *c = vctx;
	uint8_t key[MC_PK_LEN + 4];
	const void *v;
	size_t vn;
	int rc;

	memcpy(key, c->org, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, c->epoch);
	rc = mc_txn_get(t, MC_DB_KEKS, key, sizeof(key), &v, &vn, err);
	if (rc == 0)
		mc_put_raw(c->out, v, vn);
	return rc;
}

static void stored_kek(struct mc_store *s, const uint8_t org[MC_PK_LEN], uint32_t epoch, struct mc_buf *out)
{
	struct kek_ctx c = { org, epoch, out };
	struct mc_err err = { 0 };

	mc_buf_init(out);
	cr_assert_eq(mc_store_read(s, kek_txn, &c, &err), 0, "%s", err.msg);
}

static void same_rows(enum mc_db db, const char *name, uint64_t want)
{
	struct mc_buf a, b;
	uint64_t na = dump(fx.s, db, &a), nb = dump(rp.s, db, &b);

	cr_assert_eq(na, want, "%s: the source holds %llu rows", name, (unsigned long long)na);
	cr_assert_eq(nb, na, "%s: the replica holds %llu rows, the source %llu", name,
		     (unsigned long long)nb, (unsigned long long)na);
	cr_assert_eq(b.len, a.len, "%s", name);
	cr_assert_arr_eq(b.data, a.data, a.len, "%s: byte-identical rows", name);
	mc_buf_release(&a);
	mc_buf_release(&b);
}

/* Full verify of the replica (closed for it, reopened after). */
static int verify_replica(struct mc_verify_report *rep, struct mc_err *err)
{
	int rc;

	mc_store_close(rp.s);
	rp.s = NULL;
	rc = mc_verify(rp.dir, "/tmp", NULL, NULL, rep, err);
	cr_assert_eq(mc_store_open(rp.dir, 0, &rp.s, err), 0, "%s", err->msg);
	return rc;
}

/* ======================================================================== */
/* 1. codec                                                                 */
/* ======================================================================== */

static void codec_init(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
}

TestSuite(replica_codec, .init = codec_init);

static void sample_header(struct mc_header *h, uint32_t count)
{
	memset(h, 0, sizeof(*h));
	h->version = MC_BLOCK_VERSION;
	memset(h->chain_id, 0x11, MC_HASH_LEN);
	h->height = 0x0102030405060708ULL;
	memset(h->prev, 0x22, MC_HASH_LEN);
	h->timestamp_ms = 1700000000123ULL;
	memset(h->proposer, 0x33, MC_PK_LEN);
	memset(h->tx_root, 0x44, MC_HASH_LEN);
	h->tx_count = count;
	memset(h->valset_hash, 0x55, MC_HASH_LEN);
	h->view = 9;
}

static void sample_cert(struct mc_cert *c, const struct mc_header *h)
{
	uint8_t hash[MC_HASH_LEN], seed[MC_SEED_LEN], pk[MC_PK_LEN], sk[MC_SK_LEN];

	mc_block_hash(h, hash);
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < 2; i++) {
		memset(seed, i + 1, sizeof(seed));
		mc_sign_seed_keypair(seed, pk, sk);
		mc_vote_sign(hash, sk, pk, &c->votes[c->count++]);
	}
}

/* Three txins: varied tx bytes and sidecars, one of each empty. */
static const uint8_t tx_a[] = "tx-a bytes", tx_b[] = "b", side_b[] = { 0, 0, 0, 1, MC_SIDE_PARTIAL };
static const struct mc_txin sample_in[3] = {
	{ tx_a, sizeof(tx_a), no_side, sizeof(no_side) },
	{ tx_b, sizeof(tx_b), side_b, sizeof(side_b) },
	{ tx_a, 0, side_b, 0 },
};

static void same_txins(const struct mc_txin *got, const struct mc_txin *want, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(got[i].tx_len, want[i].tx_len, "tx %zu", i);
		cr_assert_eq(got[i].side_len, want[i].side_len, "tx %zu", i);
		if (want[i].tx_len)
			cr_assert_arr_eq(got[i].tx, want[i].tx, want[i].tx_len, "tx %zu", i);
		if (want[i].side_len)
			cr_assert_arr_eq(got[i].side, want[i].side, want[i].side_len, "tx %zu", i);
	}
}

Test(replica_codec, block_bundle_round_trips_and_hashes_its_header)
{
	struct mc_header h;
	struct mc_cert c;
	struct mc_bundle d;
	struct mc_buf b, again;
	struct mc_err err = { 0 };
	uint8_t hash[MC_HASH_LEN];

	sample_header(&h, 3);
	sample_cert(&c, &h);
	mc_buf_init(&b);
	mc_bundle_encode(&h, &c, sample_in, 3, &b);
	cr_assert_eq(mc_bundle_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.count, 3);
	same_txins(d.txs, sample_in, 3);
	mc_block_hash(&h, hash);
	cr_assert_arr_eq(d.hash, hash, MC_HASH_LEN, "the decoder gives the header's block hash");
	cr_assert_eq(d.cert.count, 2);
	cr_assert_arr_eq(&d.cert.votes[0], &c.votes[0], 2 * sizeof(c.votes[0]));
	mc_buf_init(&again);
	mc_bundle_encode(&d.h, &d.cert, d.txs, d.count, &again);
	cr_assert_eq(again.len, b.len);
	cr_assert_arr_eq(again.data, b.data, b.len, "decode then encode gives the same bytes");
	cr_assert(d.txs[0].tx >= b.data && d.txs[0].tx < b.data + b.len, "the txs are borrowed from the input");
	mc_bundle_release(&d);
	cr_assert_null(d.txs);
	cr_assert_eq(d.count, 0);
	mc_buf_release(&b);
	mc_buf_release(&again);
}

Test(replica_codec, block_bundle_refuses_every_truncation_and_a_trailing_byte)
{
	struct mc_header h;
	struct mc_cert c;
	struct mc_bundle d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	sample_header(&h, 3);
	sample_cert(&c, &h);
	mc_buf_init(&b);
	mc_bundle_encode(&h, &c, sample_in, 3, &b);
	for (size_t n = 0; n < b.len; n++) {
		err.code = 0;
		cr_assert_neq(mc_bundle_decode(b.data, n, &d, &err), 0, "a truncation to %zu of %zu bytes is refused",
			      n, b.len);
		cr_assert_eq(err.code, EX_DATAERR, "at %zu: %s", n, err.msg);
		cr_assert_null(d.txs, "nothing to release after a refusal");
	}
	mc_put_u8(&b, 0);
	cr_assert_neq(mc_bundle_decode(b.data, b.len, &d, &err), 0, "a trailing byte is refused");
	cr_assert_not_null(strstr(err.msg, "trailing"), "%s", err.msg);
	cr_assert_null(d.txs);
	mc_buf_release(&b);
}

Test(replica_codec, block_bundle_refuses_a_tx_count_other_than_its_headers)
{
	char want[64];
	struct mc_header h;
	struct mc_cert c;
	struct mc_bundle d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	for (uint32_t says = 0; says <= 4; says++) {
		if (says == 3)
			continue;
		sample_header(&h, says);
		sample_cert(&c, &h);
		mc_buf_init(&b);
		mc_bundle_encode(&h, &c, sample_in, 3, &b);
		cr_assert_neq(mc_bundle_decode(b.data, b.len, &d, &err), 0, "header says %u, list holds 3", says);
		cr_assert_eq(err.code, EX_DATAERR);
		snprintf(want, sizeof(want), "where its header says %u", says);
		cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
		cr_assert_null(d.txs);
		mc_buf_release(&b);
	}
}

/* Fails today: see the report. mc_bundle_read releases the bundle (which
 * zeroes count) before formatting the message, so it always says "holds 0
 * txs". */
Test(replica_codec, block_bundle_count_refusal_names_how_many_txs_the_list_holds)
{
	struct mc_header h;
	struct mc_cert c;
	struct mc_bundle d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	sample_header(&h, 1);
	sample_cert(&c, &h);
	mc_buf_init(&b);
	mc_bundle_encode(&h, &c, sample_in, 3, &b);
	cr_assert_neq(mc_bundle_decode(b.data, b.len, &d, &err), 0);
	cr_assert_not_null(strstr(err.msg, "holds 3 txs where its header says 1"), "%s", err.msg);
	mc_buf_release(&b);
}

Test(replica_codec, block_bundles_back_to_back_read_one_at_a_time)
{
	struct mc_header h1, h2;
	struct mc_cert c;
	struct mc_bundle d;
	struct mc_buf b;
	struct mc_rd r;
	struct mc_err err = { 0 };

	sample_header(&h1, 3);
	sample_header(&h2, 0);
	h2.height = h1.height + 1;
	sample_cert(&c, &h1);
	mc_buf_init(&b);
	mc_bundle_encode(&h1, &c, sample_in, 3, &b);
	mc_bundle_encode(&h2, &c, NULL, 0, &b);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_bundle_read(&r, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.h.height, h1.height);
	cr_assert_eq(d.count, 3);
	mc_bundle_release(&d);
	cr_assert_eq(mc_bundle_read(&r, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(d.h.height, h2.height);
	cr_assert_eq(d.count, 0, "an empty block");
	mc_bundle_release(&d);
	cr_assert(mc_rd_finish(&r));
	mc_buf_release(&b);
}

Test(replica_codec, tx_bundle_round_trips_and_refuses_truncation_trailing_and_a_wrong_count)
{
	struct mc_buf b;
	struct mc_txin *d = NULL;
	size_t n = 99;
	struct mc_err err = { 0 };

	mc_buf_init(&b);
	mc_txbundle_encode(sample_in, 3, &b);
	cr_assert_eq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 3);
	same_txins(d, sample_in, 3);
	free(d);
	for (size_t k = 0; k < b.len; k++) {
		cr_assert_neq(mc_txbundle_decode(b.data, k, &d, &n, &err), 0, "a truncation to %zu of %zu is refused",
			      k, b.len);
		cr_assert_eq(err.code, EX_DATAERR);
		cr_assert_null(d);
	}
	/* the count says one more, or one fewer, than the list holds */
	mc_be32(b.data, 4);
	cr_assert_neq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0, "a count above the list is refused");
	cr_assert_null(d);
	mc_be32(b.data, 2);
	cr_assert_neq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0, "a count below the list is refused");
	cr_assert_null(d);
	mc_be32(b.data, 3);
	mc_put_u8(&b, 0);
	cr_assert_neq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0, "a trailing byte is refused");
	cr_assert_not_null(strstr(err.msg, "trailing"), "%s", err.msg);
	cr_assert_null(d);
	mc_buf_release(&b);
	/* no txs at all */
	mc_buf_init(&b);
	mc_txbundle_encode(NULL, 0, &b);
	cr_assert_eq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 0);
	free(d);
	mc_buf_release(&b);
}

Test(replica_codec, tx_bundle_takes_at_most_the_limit_and_never_allocates_beyond_its_input)
{
	struct mc_buf b;
	struct mc_txin *d = NULL;
	size_t n;
	struct mc_err err = { 0 };

	/* MC_TXBUNDLE_MAX_TXS txs of empty bytes: accepted; one more: refused */
	for (uint32_t count = MC_TXBUNDLE_MAX_TXS; count <= MC_TXBUNDLE_MAX_TXS + 1; count++) {
		mc_buf_init(&b);
		mc_put_u32(&b, count);
		for (uint32_t i = 0; i < 2 * count; i++)
			mc_put_u32(&b, 0);
		cr_assert_eq(mc_txbundle_decode(b.data, b.len, &d, &n, &err) == 0, count == MC_TXBUNDLE_MAX_TXS,
			     "%u txs: %s", count, err.msg);
		free(d);
		d = NULL;
		mc_buf_release(&b);
	}
	/* a count the input cannot hold is refused before any allocation */
	mc_buf_init(&b);
	mc_put_u32(&b, 1000);
	mc_put_u32(&b, 0);
	mc_put_u32(&b, 0);
	cr_assert_neq(mc_txbundle_decode(b.data, b.len, &d, &n, &err), 0);
	cr_assert_not_null(strstr(err.msg, "truncated"), "%s", err.msg);
	mc_buf_release(&b);
}

/* A sidecar with one row of each kind. */
static void every_kind(struct mc_buf *b)
{
	uint8_t loc[MC_LOC_LEN], org[MC_PK_LEN];

	memset(loc, 7, sizeof(loc));
	memset(org, 8, sizeof(org));
	side_begin(b);
	side_entry(b, MC_SIDE_PAYLOAD, 0, "ciphertext", 10);
	side_entry(b, MC_SIDE_WRAPPED, 3, "wrapped", 7);
	side_shared(b, loc, org, "shared", 6);
	side_kek(b, org, 2, "kek", 3);
	side_partial(b);
}

Test(replica_codec, side_check_accepts_every_kind_alone_and_together)
{
	struct mc_buf b;
	struct mc_err err = { 0 };
	struct row r[8];

	every_kind(&b);
	cr_assert_eq(mc_side_check(b.data, b.len, &err), 0, "%s", err.msg);
	cr_assert_eq(side_parse(b.data, b.len, r, 8), 5);
	mc_buf_release(&b);
	for (uint8_t kind = MC_SIDE_PAYLOAD; kind <= MC_SIDE_PARTIAL; kind++) {
		struct row one = { .kind = kind, .v = (const uint8_t *)"", .vn = 0 };

		side_begin(&b);
		side_add(&b, &one);
		cr_assert_eq(mc_side_check(b.data, b.len, &err), 0, "kind %u alone (empty value): %s", kind, err.msg);
		mc_buf_release(&b);
	}
	cr_assert_eq(mc_side_check(no_side, sizeof(no_side), &err), 0, "no rows: %s", err.msg);
}

Test(replica_codec, side_check_refuses_unknown_kinds)
{
	static const uint8_t kinds[] = { 0, 6, 7, 0x80, 0xff };
	struct mc_buf b;
	struct mc_err err = { 0 };

	for (size_t i = 0; i < sizeof(kinds); i++) {
		/* alone, and after valid rows */
		for (int after = 0; after < 2; after++) {
			if (after) {
				every_kind(&b);
			} else {
				side_begin(&b);
			}
			mc_put_u8(&b, kinds[i]);
			mc_put_u32(&b, 0);
			mc_put_u32(&b, 0);
			side_count(&b);
			cr_assert_neq(mc_side_check(b.data, b.len, &err), 0, "kind %u is refused", kinds[i]);
			cr_assert_eq(err.code, EX_DATAERR);
			cr_assert_not_null(strstr(err.msg, "unknown side row kind"), "%s", err.msg);
			mc_buf_release(&b);
		}
	}
}

Test(replica_codec, side_check_refuses_every_truncation_and_a_trailing_byte)
{
	struct mc_buf b;
	struct mc_err err = { 0 };

	every_kind(&b);
	for (size_t n = 0; n < b.len; n++) {
		err.code = 0;
		cr_assert_neq(mc_side_check(b.data, n, &err), 0, "a truncation to %zu of %zu bytes is refused", n, b.len);
		cr_assert_eq(err.code, EX_DATAERR);
	}
	mc_put_u8(&b, MC_SIDE_PARTIAL);
	cr_assert_neq(mc_side_check(b.data, b.len, &err), 0, "a row beyond the count is refused");
	cr_assert_not_null(strstr(err.msg, "trailing"), "%s", err.msg);
	mc_buf_release(&b);
}

Test(replica_codec, side_check_takes_at_most_the_row_and_value_limits)
{
	struct mc_buf b;
	struct mc_err err = { 0 };
	/* SIDE_VALUE_MAX in replica.c: a payload and some room */
	const size_t value_max = MC_PAYLOAD_MAX + 1024u;
	uint8_t *big;

	/* MC_SIDE_MAX_ROWS rows (all "partial", one byte each): accepted; one more: refused */
	for (uint32_t count = MC_SIDE_MAX_ROWS; count <= MC_SIDE_MAX_ROWS + 1; count++) {
		mc_buf_init(&b);
		mc_put_u32(&b, count);
		for (uint32_t i = 0; i < count; i++)
			mc_put_u8(&b, MC_SIDE_PARTIAL);
		cr_assert_eq(mc_side_check(b.data, b.len, &err) == 0, count == MC_SIDE_MAX_ROWS, "%u rows: %s", count,
			     err.msg);
		mc_buf_release(&b);
	}
	/* a value of the largest size: accepted; one byte more: refused */
	big = calloc(1, value_max + 1);
	cr_assert_not_null(big);
	for (size_t n = value_max; n <= value_max + 1; n++) {
		side_begin(&b);
		side_entry(&b, MC_SIDE_PAYLOAD, 0, big, n);
		cr_assert_eq(mc_side_check(b.data, b.len, &err) == 0, n == value_max, "a value of %zu bytes: %s", n,
			     err.msg);
		mc_buf_release(&b);
	}
	free(big);
}

/* ======================================================================== */
/* 2. replication: side rows collected, written into a replica               */
/* ======================================================================== */

TestSuite(replica, .init = rp_setup, .fini = world_free);

Test(replica, collect_gives_the_puts_kek_payloads_and_wrapped_keys_the_grants_shared_keys_and_genesis_kek)
{
	struct mc_buf side, kek;
	struct row r[16];
	size_t n;

	world();
	/* genesis: node, admin, org; only the org's enrolment carries its KEK */
	collect(fx.s, 0, 0, &side);
	cr_assert_eq(side_parse(side.data, side.len, r, 16), 0, "a node's enrolment has no side rows");
	mc_buf_release(&side);
	collect(fx.s, 0, 2, &side);
	cr_assert_eq(side_parse(side.data, side.len, r, 16), 1);
	stored_kek(fx.s, fx.org->pk, 0, &kek);
	cr_assert_eq(r[0].kind, MC_SIDE_KEK);
	cr_assert_arr_eq(r[0].org, fx.org->pk, MC_PK_LEN);
	cr_assert_eq(r[0].epoch, 0);
	cr_assert_eq(r[0].vn, kek.len);
	cr_assert_arr_eq(r[0].v, kek.data, kek.len, "the genesis org's sealed KEK");
	mc_buf_release(&side);
	mc_buf_release(&kek);

	/* the RECORD_PUT: its KEK, then payload and wrapped key of each entry */
	collect(fx.s, w.put_height, 0, &side);
	n = side_parse(side.data, side.len, r, 16);
	cr_assert_eq(n, 5);
	cr_assert_eq(r[0].kind, MC_SIDE_KEK);
	cr_assert_arr_eq(r[0].org, fx.org->pk, MC_PK_LEN);
	for (uint32_t e = 0; e < 2; e++) {
		cr_assert_eq(r[1 + 2 * e].kind, MC_SIDE_PAYLOAD);
		cr_assert_eq(r[1 + 2 * e].entry, e);
		cr_assert_eq(r[2 + 2 * e].kind, MC_SIDE_WRAPPED);
		cr_assert_eq(r[2 + 2 * e].entry, e);
		cr_assert_eq(r[2 + 2 * e].vn, MC_WRAPPED_LEN);
	}
	mc_buf_release(&side);

	/* the shared grant: OrgB's new KEK and one re-wrapped key per record */
	collect(fx.s, w.grant_height, 0, &side);
	n = side_parse(side.data, side.len, r, 16);
	cr_assert_eq(n, 3);
	stored_kek(fx.s, w.orgb->pk, 0, &kek);
	cr_assert_eq(r[0].kind, MC_SIDE_KEK);
	cr_assert_arr_eq(r[0].org, w.orgb->pk, MC_PK_LEN);
	cr_assert_eq(r[0].vn, kek.len);
	cr_assert_arr_eq(r[0].v, kek.data, kek.len);
	{
		/* one row at each record's location (in the share's order,
		 * which follows the random record ids) */
		bool seen[2] = { false, false };

		for (int i = 1; i < 3; i++) {
			cr_assert_eq(r[i].kind, MC_SIDE_SHARED);
			cr_assert_arr_eq(r[i].org, w.orgb->pk, MC_PK_LEN);
			for (uint32_t e = 0; e < 2; e++) {
				uint8_t loc[MC_LOC_LEN];

				mc_loc_key(loc, w.put_height, 0, e);
				if (memcmp(r[i].loc, loc, MC_LOC_LEN) == 0)
					seen[e] = true;
			}
		}
		cr_assert(seen[0] && seen[1], "the shared keys sit at the records' locations");
	}
	mc_buf_release(&side);
	mc_buf_release(&kek);

	/* a grant without a share, and an enrolment after genesis: none */
	collect(fx.s, w.plain_grant_height, 0, &side);
	cr_assert_eq(side_parse(side.data, side.len, r, 16), 0);
	mc_buf_release(&side);
	collect(fx.s, 1, 0, &side);
	cr_assert_eq(side_parse(side.data, side.len, r, 16), 0, "OrgB's enrolment after genesis names no KEK");
	mc_buf_release(&side);
}

Test(replica, a_replica_replaying_the_blocks_with_their_side_rows_holds_identical_payloads_keys_and_keks_and_verifies)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct mc_head src, dst;

	world();
	src = head_of(fx.s);
	replicate(src.height);
	dst = head_of(rp.s);
	cr_assert_eq(dst.height, src.height);
	cr_assert_arr_eq(dst.hash, src.hash, MC_HASH_LEN, "the same head");
	cr_assert_arr_eq(dst.chain_id, src.chain_id, MC_HASH_LEN, "the same chain id");
	same_rows(MC_DB_PAYLOADS, "PAYLOADS", 2);
	same_rows(MC_DB_KEYWRAP, "KEYWRAP", 4);    /* 2 for Org, 2 shared with OrgB */
	same_rows(MC_DB_KEKS, "KEKS", 2);          /* Org's (genesis), OrgB's (the share) */
	same_rows(MC_DB_RECORDS, "RECORDS", 2);
	same_rows(MC_DB_GRANTS, "GRANTS", 2);
	cr_assert_eq(verify_replica(&rep, &err), 0, "verify passes on the replica: %s", err.msg);
	cr_assert_eq(rep.blocks, src.height + 1);
	cr_assert_eq(rep.payloads, 2, "both payloads checked against their hashes");
}

Test(replica, a_record_erased_at_the_source_replicates_as_a_partial_row_and_the_replica_still_verifies)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct mc_produced p;
	struct mc_buf side;
	struct row r[16];
	size_t n;

	world();
	cr_assert_eq(mc_record_erase(fx.s, fx.node, fx.admin, w.rec[0], "request", &p, &err), 0, "%s", err.msg);
	/* the put now gives its KEK, entry 1's rows and a partial row */
	collect(fx.s, w.put_height, 0, &side);
	n = side_parse(side.data, side.len, r, 16);
	cr_assert_eq(n, 4);
	cr_assert_eq(r[1].kind, MC_SIDE_PAYLOAD);
	cr_assert_eq(r[1].entry, 1);
	cr_assert_eq(r[2].kind, MC_SIDE_WRAPPED);
	cr_assert_eq(r[2].entry, 1);
	cr_assert_eq(r[3].kind, MC_SIDE_PARTIAL);
	mc_buf_release(&side);
	/* the grant: KEK, record 1's shared key, partial */
	collect(fx.s, w.grant_height, 0, &side);
	n = side_parse(side.data, side.len, r, 16);
	cr_assert_eq(n, 3);
	cr_assert_eq(r[1].kind, MC_SIDE_SHARED);
	cr_assert_eq(r[2].kind, MC_SIDE_PARTIAL);
	mc_buf_release(&side);

	replicate(head_of(fx.s).height);
	same_rows(MC_DB_PAYLOADS, "PAYLOADS", 1);
	same_rows(MC_DB_KEYWRAP, "KEYWRAP", 2);
	same_rows(MC_DB_KEKS, "KEKS", 2);
	same_rows(MC_DB_RECORDS, "RECORDS", 2);
	cr_assert_eq(verify_replica(&rep, &err), 0, "verify passes on the replica: %s", err.msg);
	cr_assert_eq(rep.payloads, 1, "the live record's payload");
}

/* ======================================================================== */
/* 3. mc_side_write refusals                                                */
/* ======================================================================== */

struct write_ctx {
	const struct mc_tx *tx;
	uint64_t height;
	const struct mc_buf *side;
	bool keep;
	int rc;
	bool partial;
	uint64_t before[3], after[3];
};

static const enum mc_db side_dbs[3] = { MC_DB_PAYLOADS, MC_DB_KEYWRAP, MC_DB_KEKS };

static int write_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct write_ctx *c = vctx;

	for (int i = 0; i < 3; i++)
		c->before[i] = count_in(t, side_dbs[i]);
	c->rc = mc_side_write(t, c->height, 0, c->tx, c->side->data, c->side->len, &c->partial, err);
	for (int i = 0; i < 3; i++)
		c->after[i] = count_in(t, side_dbs[i]);
	return c->rc == 0 && c->keep ? 0 : -1;
}

/* mc_side_write of side for tx (about to be tx 0 of block `height`) on the
 * source store; committed only when accepted and keep is set. */
static int side_write(const struct mc_tx *tx, uint64_t height, const struct mc_buf *side, bool keep,
		      struct write_ctx *c, struct mc_err *err)
{
	uint64_t stored[3];

	for (int i = 0; i < 3; i++)
		stored[i] = rows(fx.s, side_dbs[i]);
	memset(c, 0, sizeof(*c));
	c->tx = tx;
	c->height = height;
	c->side = side;
	c->keep = keep;
	c->rc = -2;
	(void)mc_store_write(fx.s, write_txn, c, err);
	cr_assert_neq(c->rc, -2);
	if (c->rc != 0 || !keep)
		for (int i = 0; i < 3; i++)
			cr_assert_eq(rows(fx.s, side_dbs[i]), stored[i], "nothing stored in db %d", (int)side_dbs[i]);
	return c->rc;
}

/* A refused single-row sidecar: EX_DATAERR naming rule, the row not
 * written even inside the transaction. */
static void refused_row(const struct mc_tx *tx, uint64_t height, struct mc_buf *side, const char *rule)
{
	struct write_ctx c;
	struct mc_err err = { 0 };

	expect_refused(side_write(tx, height, side, false, &c, &err), &err, EX_DATAERR, rule);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(c.after[i], c.before[i], "'%s': no row of db %d written", rule, (int)side_dbs[i]);
	mc_buf_release(side);
}

Test(replica, side_write_refuses_payload_and_wrapped_rows_outside_the_puts_entries_or_on_other_txs)
{
	struct stored_tx put, grant, enroll;
	struct mc_buf side;
	struct write_ctx c;
	struct mc_err err = { 0 };
	uint64_t next;

	world();
	next = head_of(fx.s).height + 1;
	read_tx(fx.s, w.put_height, 0, &put);
	read_tx(fx.s, w.grant_height, 0, &grant);
	read_tx(fx.s, 1, 0, &enroll);
	/* the put has 2 entries: 0 and 1 are accepted, 2 and beyond are not */
	side_begin(&side);
	side_entry(&side, MC_SIDE_PAYLOAD, 1, "ct", 2);
	side_entry(&side, MC_SIDE_WRAPPED, 1, "wk", 2);
	cr_assert_eq(side_write(&put.tx, next, &side, false, &c, &err), 0, "entry 1 of 2: %s", err.msg);
	cr_assert_eq(c.after[0], c.before[0] + 1);
	cr_assert_eq(c.after[1], c.before[1] + 1);
	cr_assert_not(c.partial);
	mc_buf_release(&side);
	for (uint8_t kind = MC_SIDE_PAYLOAD; kind <= MC_SIDE_WRAPPED; kind++) {
		static const uint32_t bad[] = { 2, 3, UINT32_MAX };

		for (size_t i = 0; i < 3; i++) {
			side_begin(&side);
			side_entry(&side, kind, bad[i], "ct", 2);
			refused_row(&put.tx, next, &side, "names no entry");
		}
		/* on a grant, and on an enrolment */
		side_begin(&side);
		side_entry(&side, kind, 0, "ct", 2);
		refused_row(&grant.tx, next, &side, "names no entry");
		side_begin(&side);
		side_entry(&side, kind, 0, "ct", 2);
		refused_row(&enroll.tx, next, &side, "names no entry");
	}
	/* a good row then a bad one: refused as a whole (the caller aborts) */
	side_begin(&side);
	side_entry(&side, MC_SIDE_PAYLOAD, 0, "ct", 2);
	side_entry(&side, MC_SIDE_PAYLOAD, 2, "ct", 2);
	expect_refused(side_write(&put.tx, next, &side, false, &c, &err), &err, EX_DATAERR, "names no entry");
	mc_buf_release(&side);
	/* the same entry twice */
	side_begin(&side);
	side_entry(&side, MC_SIDE_PAYLOAD, 0, "ct", 2);
	side_entry(&side, MC_SIDE_PAYLOAD, 0, "ct", 2);
	expect_refused(side_write(&put.tx, next, &side, false, &c, &err), &err, EX_DATAERR, "given twice");
	mc_buf_release(&side);
	mc_buf_release(&put.enc);
	mc_buf_release(&grant.enc);
	mc_buf_release(&enroll.enc);
}

Test(replica, side_write_refuses_a_kek_its_tx_does_not_name)
{
	struct stored_tx put, grant, plain, genesis_org, later_enroll;
	struct mc_buf side, kek, kekb;
	struct write_ctx c;
	struct mc_err err = { 0 };
	uint64_t next;

	world();
	next = head_of(fx.s).height + 1;
	read_tx(fx.s, w.put_height, 0, &put);
	read_tx(fx.s, w.grant_height, 0, &grant);
	read_tx(fx.s, w.plain_grant_height, 0, &plain);
	read_tx(fx.s, 0, 2, &genesis_org);
	read_tx(fx.s, 1, 0, &later_enroll);
	stored_kek(fx.s, fx.org->pk, 0, &kek);
	stored_kek(fx.s, w.orgb->pk, 0, &kekb);
	/* the put names (Org, 0): the stored value is accepted */
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	cr_assert_eq(side_write(&put.tx, next, &side, false, &c, &err), 0, "%s", err.msg);
	mc_buf_release(&side);
	/* another org, another epoch */
	side_begin(&side);
	side_kek(&side, w.orgb->pk, 0, kekb.data, kekb.len);
	refused_row(&put.tx, next, &side, "not named by its transaction");
	side_begin(&side);
	side_kek(&side, fx.org->pk, 1, kek.data, kek.len);
	refused_row(&put.tx, next, &side, "not named by its transaction");
	/* the shared grant names (OrgB, 0), not (Org, 0) nor (OrgB, 1) */
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	refused_row(&grant.tx, next, &side, "not named by its transaction");
	side_begin(&side);
	side_kek(&side, w.orgb->pk, 1, kekb.data, kekb.len);
	refused_row(&grant.tx, next, &side, "not named by its transaction");
	/* a grant without a share names none */
	side_begin(&side);
	side_kek(&side, w.orgb->pk, 0, kekb.data, kekb.len);
	refused_row(&plain.tx, next, &side, "not named by its transaction");
	/* an enrolment names none after genesis */
	side_begin(&side);
	side_kek(&side, w.orgb->pk, 0, kekb.data, kekb.len);
	refused_row(&later_enroll.tx, 1, &side, "not named by its transaction");
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	refused_row(&genesis_org.tx, next, &side, "not named by its transaction");
	/* the genesis org's own enrolment at height 0 carries its epoch-0 KEK */
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	cr_assert_eq(side_write(&genesis_org.tx, 0, &side, false, &c, &err), 0, "%s", err.msg);
	mc_buf_release(&side);
	side_begin(&side);
	side_kek(&side, fx.org->pk, 1, kek.data, kek.len);
	refused_row(&genesis_org.tx, 0, &side, "not named by its transaction");
	mc_buf_release(&kek);
	mc_buf_release(&kekb);
	mc_buf_release(&put.enc);
	mc_buf_release(&grant.enc);
	mc_buf_release(&plain.enc);
	mc_buf_release(&genesis_org.enc);
	mc_buf_release(&later_enroll.enc);
}

/* Fails today: see the report. At height 0 replica.c (write_row, the
 * MC_SIDE_KEK case) accepts a KEK row for ANY org at epoch 0 on ANY
 * enrolment, where mc_side_collect sends only the enrolled org's own. */
Test(replica, side_write_at_genesis_refuses_a_kek_of_an_org_other_than_the_enrolled_one)
{
	struct stored_tx node_enroll, genesis_org;
	struct mc_buf side;
	uint8_t other[MC_PK_LEN];

	world();
	read_tx(fx.s, 0, 0, &node_enroll);
	read_tx(fx.s, 0, 2, &genesis_org);
	memset(other, 0x5a, sizeof(other));
	side_begin(&side);
	side_kek(&side, other, 0, "planted", 7);
	refused_row(&node_enroll.tx, 0, &side, "not named by its transaction");
	side_begin(&side);
	side_kek(&side, other, 0, "planted", 7);
	refused_row(&genesis_org.tx, 0, &side, "not named by its transaction");
	mc_buf_release(&node_enroll.enc);
	mc_buf_release(&genesis_org.enc);
}

Test(replica, side_write_refuses_a_shared_key_outside_its_grants_share)
{
	struct stored_tx grant, plain, put;
	struct mc_buf side;
	uint8_t loc0[MC_LOC_LEN], loc1[MC_LOC_LEN], elsewhere[MC_LOC_LEN], other[MC_PK_LEN];
	uint64_t next;

	world();
	next = head_of(fx.s).height + 1;
	read_tx(fx.s, w.grant_height, 0, &grant);
	read_tx(fx.s, w.plain_grant_height, 0, &plain);
	read_tx(fx.s, w.put_height, 0, &put);
	mc_loc_key(loc0, w.put_height, 0, 0);
	mc_loc_key(loc1, w.put_height, 0, 1);
	mc_loc_key(elsewhere, w.put_height, 0, 2);
	memset(other, 0x77, sizeof(other));
	/* on a grant without a share; on a put */
	side_begin(&side);
	side_shared(&side, loc0, w.orgb->pk, "wk", 2);
	refused_row(&plain.tx, next, &side, "does not belong to its grant");
	side_begin(&side);
	side_shared(&side, loc0, w.orgb->pk, "wk", 2);
	refused_row(&put.tx, next, &side, "does not belong to its grant");
	/* for an org other than the share's (the custodian's own, or a stranger) */
	side_begin(&side);
	side_shared(&side, loc0, fx.org->pk, "wk", 2);
	refused_row(&grant.tx, next, &side, "does not belong to its grant");
	side_begin(&side);
	side_shared(&side, loc0, other, "wk", 2);
	refused_row(&grant.tx, next, &side, "does not belong to its grant");
	/* at a location that is not one of the share's records */
	side_begin(&side);
	side_shared(&side, elsewhere, w.orgb->pk, "wk", 2);
	refused_row(&grant.tx, next, &side, "names no record of its grant");
	mc_loc_key(elsewhere, 0, 0, 0);
	side_begin(&side);
	side_shared(&side, elsewhere, w.orgb->pk, "wk", 2);
	refused_row(&grant.tx, next, &side, "names no record of its grant");
	/* at the share's own location, for its org: a different value than
	 * the stored one is refused (put_same) */
	side_begin(&side);
	side_shared(&side, loc1, w.orgb->pk, "wk", 2);
	refused_row(&grant.tx, next, &side, "would replace different stored data");
	mc_buf_release(&grant.enc);
	mc_buf_release(&plain.enc);
	mc_buf_release(&put.enc);
}

Test(replica, side_write_never_replaces_a_stored_kek_and_takes_the_same_value_again)
{
	struct stored_tx put;
	struct mc_buf side, kek, other;
	struct write_ctx c;
	struct mc_err err = { 0 };
	uint64_t next, keks;

	world();
	next = head_of(fx.s).height + 1;
	read_tx(fx.s, w.put_height, 0, &put);
	stored_kek(fx.s, fx.org->pk, 0, &kek);
	keks = rows(fx.s, MC_DB_KEKS);
	/* one byte different, or another length */
	mc_buf_init(&other);
	mc_put_raw(&other, kek.data, kek.len);
	other.data[0] ^= 1;
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, other.data, other.len);
	refused_row(&put.tx, next, &side, "would replace different stored data");
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len - 1);
	refused_row(&put.tx, next, &side, "would replace different stored data");
	/* the same value, twice in one sidecar: accepted, committed, no new row */
	side_begin(&side);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	side_kek(&side, fx.org->pk, 0, kek.data, kek.len);
	cr_assert_eq(side_write(&put.tx, next, &side, true, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.after[2], c.before[2]);
	cr_assert_eq(rows(fx.s, MC_DB_KEKS), keks, "the KEK is stored once");
	mc_buf_release(&side);
	mc_buf_release(&other);
	stored_kek(fx.s, fx.org->pk, 0, &other);
	cr_assert_eq(other.len, kek.len);
	cr_assert_arr_eq(other.data, kek.data, kek.len, "and unchanged");
	mc_buf_release(&other);
	mc_buf_release(&kek);
	mc_buf_release(&put.enc);
}

Test(replica, side_write_reports_a_partial_row_and_writes_nothing_for_it)
{
	struct stored_tx put;
	struct mc_buf side;
	struct write_ctx c;
	struct mc_err err = { 0 };

	world();
	read_tx(fx.s, w.put_height, 0, &put);
	side_begin(&side);
	side_partial(&side);
	cr_assert_eq(side_write(&put.tx, head_of(fx.s).height + 1, &side, false, &c, &err), 0, "%s", err.msg);
	cr_assert(c.partial);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(c.after[i], c.before[i]);
	mc_buf_release(&side);
	mc_buf_release(&put.enc);
}

/* ======================================================================== */
/* 4. side rows against the hashes the txs commit to (untrusted apply)      */
/* ======================================================================== */

/* The put block as the source sends it, its sidecar rows, the replica one
 * block behind it. */
static void put_block(struct mc_buf *bundle, struct row *r, size_t *n)
{
	world();
	replicate(w.put_height - 1);
	load(fx.s, w.put_height, bundle);
	*n = bundle_side(bundle, 0, r, 16);
	cr_assert_eq(*n, 5);
}

static uint8_t *flipped(const struct row *r)
{
	uint8_t *v = malloc(r->vn);

	memcpy(v, r->v, r->vn);
	v[r->vn / 2] ^= 0x01;
	return v;
}

static void refused_sides(const struct mc_buf *bundle, uint32_t tx, const struct row *r, size_t n,
			  uint64_t height, const char *rule)
{
	struct mc_buf side, bad;
	struct mc_err err = { 0 };
	char where[64];

	side_encode(r, n, &side);
	with_side(bundle, tx, &side, &bad);
	expect_refused(apply_bytes(rp.s, &bad, MC_APPLY_COMMIT, mc_now_ms(), true, &err), &err, EX_DATAERR, rule);
	snprintf(where, sizeof(where), "block %llu, tx %u", (unsigned long long)height, tx);
	cr_assert_not_null(strstr(err.msg, where), "the refusal names %s: %s", where, err.msg);
	cr_assert_eq(head_of(rp.s).height, height - 1, "the replica did not move");
	mc_buf_release(&side);
	mc_buf_release(&bad);
}

Test(replica, apply_refuses_a_payload_or_wrapped_key_with_one_byte_flipped)
{
	struct mc_buf bundle;
	struct row r[16];
	size_t n;
	uint8_t *v;

	put_block(&bundle, r, &n);
	/* same length, other bytes: the payloads of entries 0 and 1, and
	 * entry 0's wrapped key */
	{
		static const struct { size_t row; const char *rule; } flips[] = {
			{ 1, "ciphertext is missing or does not match its hash" },
			{ 3, "ciphertext is missing or does not match its hash" },
			{ 2, "wrapped key is missing or does not match its hash" },
		};

		for (size_t k = 0; k < MC_ARRAY_LEN(flips); k++) {
			struct row keep = r[flips[k].row];

			v = flipped(&r[flips[k].row]);
			r[flips[k].row].v = v;
			refused_sides(&bundle, 0, r, n, w.put_height, flips[k].rule);
			r[flips[k].row] = keep;
			free(v);
		}
	}
	/* untouched, the same block applies */
	commit_bytes(rp.s, &bundle);
	mc_buf_release(&bundle);
}

Test(replica, apply_refuses_a_missing_payload_or_wrapped_key_unless_a_partial_row_says_it_was_erased)
{
	struct mc_buf bundle, side, ok;
	struct row r[16], cut[16];
	size_t n, k = 0;

	put_block(&bundle, r, &n);
	/* without entry 1's payload */
	for (size_t i = 0; i < n; i++)
		if (i != 3)
			cut[k++] = r[i];
	refused_sides(&bundle, 0, cut, k, w.put_height, "ciphertext is missing");
	/* without entry 1's wrapped key */
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (i != 4)
			cut[k++] = r[i];
	refused_sides(&bundle, 0, cut, k, w.put_height, "wrapped key is missing");
	/* without entry 1's payload but with a partial row: applied */
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (i != 3)
			cut[k++] = r[i];
	cut[k++] = (struct row){ .kind = MC_SIDE_PARTIAL };
	side_encode(cut, k, &side);
	with_side(&bundle, 0, &side, &ok);
	commit_bytes(rp.s, &ok);
	cr_assert_eq(head_of(rp.s).height, w.put_height);
	cr_assert_eq(rows(rp.s, MC_DB_PAYLOADS), 1, "the replica holds entry 0's payload only");
	cr_assert_eq(rows(rp.s, MC_DB_RECORDS), 2, "both records are on its chain");
	mc_buf_release(&side);
	mc_buf_release(&ok);
	mc_buf_release(&bundle);
}

Test(replica, apply_refuses_a_different_kek_for_a_put_or_a_share_and_a_different_shared_key)
{
	struct mc_buf bundle, side, bad;
	struct row r[16];
	size_t n;
	uint8_t *v;
	struct mc_err err = { 0 };

	/* the put's KEK is on the replica since genesis: another value is refused */
	put_block(&bundle, r, &n);
	v = flipped(&r[0]);
	r[0].v = v;
	refused_sides(&bundle, 0, r, n, w.put_height, "would replace different stored data");
	free(v);
	mc_buf_release(&bundle);

	/* the share's KEK and shared keys arrive with the grant */
	replicate(w.grant_height - 1);
	load(fx.s, w.grant_height, &bundle);
	n = bundle_side(&bundle, 0, r, 16);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		struct row keep = r[i];

		v = flipped(&r[i]);
		r[i].v = v;
		side_encode(r, n, &side);
		with_side(&bundle, 0, &side, &bad);
		expect_refused(apply_bytes(rp.s, &bad, MC_APPLY_COMMIT, mc_now_ms(), true, &err), &err, EX_DATAERR,
			       i == 0 ? "shared key-encryption key is missing or differs"
				      : "shared key is missing or differs from the grant");
		r[i] = keep;
		free(v);
		mc_buf_release(&side);
		mc_buf_release(&bad);
	}
	/* a share missing one key, without a partial row */
	side_encode(r, 2, &side);
	with_side(&bundle, 0, &side, &bad);
	expect_refused(apply_bytes(rp.s, &bad, MC_APPLY_COMMIT, mc_now_ms(), true, &err), &err, EX_DATAERR,
		       "shared key is missing");
	mc_buf_release(&side);
	mc_buf_release(&bad);
	commit_bytes(rp.s, &bundle);
	mc_buf_release(&bundle);
}

/* ======================================================================== */
/* 5. mc_block_apply: header and certificate rules                          */
/* ======================================================================== */

TestSuite(replica_apply, .init = fx_setup, .fini = fx_teardown);

/* The leader's next block: one enrolment by the admin. */
struct next {
	struct mc_buf tx;
	struct mc_txin in;
	uint8_t status;
	struct mc_header h;
	uint64_t now;
	struct mc_head head;
};

static void next_block(struct next *b, uint64_t seq, uint8_t tag)
{
	struct build_ctx c;
	struct mc_err err = { 0 };

	b->head = head_of(fx.s);
	b->now = mc_now_ms();
	if (b->now <= b->head.timestamp_ms)
		b->now = b->head.timestamp_ms + 1;
	enroll_tx(&b->tx, seq, tag);
	b->in = txin(&b->tx);
	b->status = MC_TXIN_PENDING;
	cr_assert_eq(build(fx.s, fx.node, &b->in, 1, &b->status, 16, b->now, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(b->status, MC_TXIN_IN);
	b->h = c.h;
}

static const struct mc_key *const *node_only(void)
{
	static const struct mc_key *one[1];

	one[0] = fx.node;
	return one;
}

/* h (altered from b's) sealed by the node, applied as a commit. */
static int commit_altered(const struct next *b, const struct mc_header *h, struct mc_err *err)
{
	return try_block(h, node_only(), 1, &b->in, &b->status, 1, MC_APPLY_COMMIT, b->now, true, err);
}

/* After the refusals: the chain did not move, and the unaltered block
 * commits. */
static void unaltered_commits(struct next *b)
{
	struct mc_err err = { 0 };
	struct mc_head after = head_of(fx.s);

	cr_assert_eq(after.height, b->head.height, "no refusal moved the head");
	cr_assert_arr_eq(after.hash, b->head.hash, MC_HASH_LEN);
	cr_assert_eq(commit_altered(b, &b->h, &err), 0, "the unaltered block commits: %s", err.msg);
	cr_assert_eq(head_of(fx.s).height, b->head.height + 1);
	mc_buf_release(&b->tx);
}

Test(replica_apply, apply_refuses_a_block_not_at_head_plus_one)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };

	next_block(&b, 2, 1);
	cr_assert_eq(b.h.height, b.head.height + 1);
	for (int d = -1; d <= 2; d++) {
		if (d == 1)
			continue;
		h = b.h;
		h.height = b.head.height + (uint64_t)(int64_t)d;
		expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "does not follow the head");
	}
	h = b.h;
	h.height = UINT64_MAX;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "does not follow the head");
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_a_wrong_previous_hash)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };

	next_block(&b, 2, 1);
	cr_assert_arr_eq(b.h.prev, b.head.hash, MC_HASH_LEN);
	for (size_t at = 0; at < MC_HASH_LEN; at += 31) {
		h = b.h;
		h.prev[at] ^= 0x80;
		expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "does not follow the head");
	}
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_another_chain_id_or_block_version)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };

	next_block(&b, 2, 1);
	h = b.h;
	h.chain_id[0] ^= 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "is not of this chain");
	memset(h.chain_id, 0, MC_HASH_LEN);
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "is not of this chain");
	/* another version is refused already by the bundle's decoder */
	h = b.h;
	h.version = MC_BLOCK_VERSION + 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "block version");
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_a_time_before_the_heads_and_takes_the_same_time)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };

	next_block(&b, 2, 1);
	h = b.h;
	h.timestamp_ms = b.head.timestamp_ms - 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "time is out of order");
	h.timestamp_ms = 0;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "time is out of order");
	h.timestamp_ms = b.head.timestamp_ms;
	cr_assert_eq(try_block(&h, node_only(), 1, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, false, &err), 0,
		     "the head's own time is not before it: %s", err.msg);
	unaltered_commits(&b);
}

Test(replica_apply, a_proposal_more_than_the_skew_ahead_of_the_clock_is_refused_a_commit_is_not_judged_by_it)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };
	const unsigned prop = MC_APPLY_PROPOSAL;

	next_block(&b, 2, 1);
	h = b.h;
	h.timestamp_ms = b.now + MC_BLOCK_SKEW_MS + 1;
	expect_refused(try_block(&h, node_only(), 1, &b.in, &b.status, 1, prop, b.now, false, &err), &err,
		       EX_DATAERR, "time is out of order");
	h.timestamp_ms = b.now + MC_BLOCK_SKEW_MS;
	cr_assert_eq(try_block(&h, node_only(), 1, &b.in, &b.status, 1, prop, b.now, false, &err), 0,
		     "exactly the skew ahead: %s", err.msg);
	h.timestamp_ms = b.now + MC_BLOCK_SKEW_MS + 1;
	cr_assert_eq(try_block(&h, node_only(), 1, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, false, &err), 0,
		     "a certified block is not judged by this node's clock: %s", err.msg);
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_a_wrong_validator_set_hash)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };
	uint8_t two[2][MC_PK_LEN];

	next_block(&b, 2, 1);
	h = b.h;
	h.valset_hash[5] ^= 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "names another validator set");
	memcpy(two[0], fx.node->pk, MC_PK_LEN);
	memcpy(two[1], fx.admin->pk, MC_PK_LEN);
	h = b.h;
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])two, 2, h.valset_hash);
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "names another validator set");
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_a_wrong_tx_root)
{
	struct next b, other;
	struct mc_header h;
	struct mc_err err = { 0 };
	uint8_t none[MC_HASH_LEN];

	next_block(&b, 2, 1);
	h = b.h;
	h.tx_root[0] ^= 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "do not match its tx root");
	/* the root of no txs */
	mc_merkle_root(NULL, 0, none);
	memcpy(h.tx_root, none, MC_HASH_LEN);
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "do not match its tx root");
	/* another block's root (the same author and seq, another enrolment) */
	next_block(&other, 2, 9);
	h = b.h;
	memcpy(h.tx_root, other.h.tx_root, MC_HASH_LEN);
	expect_refused(commit_altered(&b, &h, &err), &err, EX_DATAERR, "do not match its tx root");
	mc_buf_release(&other.tx);
	unaltered_commits(&b);
}

Test(replica_apply, apply_refuses_a_proposer_or_view_other_than_the_leaders)
{
	struct next b;
	struct mc_header h;
	struct mc_err err = { 0 };
	struct build_ctx c;
	uint8_t st = MC_TXIN_PENDING;

	next_block(&b, 2, 1);
	cr_assert_arr_eq(b.h.proposer, fx.node->pk, MC_PK_LEN);
	h = b.h;
	memcpy(h.proposer, fx.admin->pk, MC_PK_LEN);
	expect_refused(commit_altered(&b, &h, &err), &err, EX_NOPERM, "not proposed by the leader");
	h = b.h;
	h.view = 1;
	expect_refused(commit_altered(&b, &h, &err), &err, EX_NOPERM, "not proposed by the leader");
	/* and mc_block_build for a non-leader builds nothing */
	cr_assert_eq(build(fx.s, fx.admin, &b.in, 1, &st, 16, b.now, &c, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_not_null(strstr(err.msg, "not the leader"), "%s", err.msg);
	unaltered_commits(&b);
}

Test(replica_apply, apply_on_a_store_without_genesis_is_refused)
{
	struct next b;
	struct mc_buf bytes;
	struct mc_cert cert;
	struct mc_err err = { 0 };
	char dir[64];
	struct mc_store *empty;
	struct build_ctx c;
	uint8_t st = MC_TXIN_PENDING;

	next_block(&b, 2, 1);
	seal(&b.h, node_only(), 1, &cert);
	encode_block(&b.h, &cert, &b.in, &b.status, 1, &bytes);
	strcpy(dir, "/tmp/mc-empty-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(mc_store_open(dir, MC_STORE_CREATE, &empty, &err), 0, "%s", err.msg);
	expect_refused(apply_bytes(empty, &bytes, MC_APPLY_COMMIT, b.now, true, &err), &err, EX_DATAERR,
		       "no genesis block");
	cr_assert_eq(build(empty, fx.node, &b.in, 1, &st, 16, b.now, &c, &err), -1);
	cr_assert_not_null(strstr(err.msg, "no genesis block"), "%s", err.msg);
	mc_store_close(empty);
	nftw(dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
	mc_buf_release(&bytes);
	unaltered_commits(&b);
}

/* ---- certificates of a four-validator set -------------------------------- */

static struct mc_key *vk[4];

static void free_vk(void)
{
	for (size_t i = 1; i < 4; i++) {
		mc_key_free(vk[i]);
		vk[i] = NULL;
	}
	fx_teardown();
}

/* vk[0] is the genesis node; vk[1..3] join one block at a time, each
 * NODE_ADD approved and each block certified by the whole set in force,
 * through mc_block_build and mc_block_apply(MC_APPLY_COMMIT). */
static void four_validators(void)
{
	struct mc_err err = { 0 };

	vk[0] = fx.node;
	for (size_t i = 1; i < 4; i++) {
		struct mc_node_add a;
		struct mc_approvals *ap = &a.approvals;
		struct mc_head hd = head_of(fx.s);
		uint8_t digest[MC_HASH_LEN];
		char name[16], url[64];
		struct mc_buf body, tx;
		struct mc_txin in;
		uint8_t st = MC_TXIN_PENDING;
		struct build_ctx c;

		cr_assert_eq(mc_key_generate(false, &vk[i], &err), 0);
		snprintf(name, sizeof(name), "node-%zu", i);
		snprintf(url, sizeof(url), "https://node-%zu.example", i);
		memset(&a, 0, sizeof(a));
		memcpy(a.pk, vk[i]->pk, MC_PK_LEN);
		a.name = (const uint8_t *)name;
		a.name_len = strlen(name);
		a.url = (const uint8_t *)url;
		a.url_len = strlen(url);
		a.epoch = i - 1;
		mc_node_change_digest(hd.chain_id, MC_NODE_OP_ADD, a.pk, a.name, a.name_len, a.url, a.url_len,
				      a.epoch, digest);
		for (size_t k = 0; k < i; k++) {
			struct mc_approval one;

			mc_approval_sign(digest, vk[k]->sk, vk[k]->pk, &one);
			cr_assert_eq(mc_approvals_add(ap, &one, NULL), 0);
		}
		mc_buf_init(&body);
		mc_node_add_encode(&a, &body);
		make_tx(&tx, fx.node, MC_TX_NODE_ADD, 1 + i, &body, hd.chain_id);
		in = txin(&tx);
		cr_assert_eq(build(fx.s, fx.node, &in, 1, &st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
		cr_assert_eq(st, MC_TXIN_IN, "NODE_ADD %zu", i);
		cr_assert_eq(try_block(&c.h, (const struct mc_key *const *)vk, i, &in, &st, 1, MC_APPLY_COMMIT,
				       mc_now_ms(), true, &err), 0, "block adding validator %zu: %s", i, err.msg);
		mc_buf_release(&body);
		mc_buf_release(&tx);
	}
}

Test(replica_apply, commit_takes_a_quorum_of_votes_and_refuses_fewer_forged_or_foreign_ones, .fini = free_vk)
{
	struct next b;
	struct mc_err err = { 0 };
	struct mc_cert cert;
	struct mc_buf bytes;
	struct mc_key *outsider = NULL;
	const struct mc_key *three[3];
	uint8_t other_hash[MC_HASH_LEN];

	four_validators();
	cr_assert_eq(mc_quorum(4), 3);
	three[0] = vk[0];
	three[1] = vk[1];
	three[2] = vk[2];
	next_block(&b, 2, 1);
	cr_assert_eq(b.h.height, 4, "genesis and three NODE_ADD blocks");
	/* 2 of 4 */
	expect_refused(try_block(&b.h, three, 2, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, true, &err), &err,
		       EX_DATAERR, "short of a quorum");
	/* 3 of 4, one signature with a bit flipped */
	for (int k = 0; k < 3; k++) {
		seal(&b.h, three, 3, &cert);
		cert.votes[k].sig[k * 7] ^= 0x10;
		mc_buf_init(&bytes);
		mc_bundle_encode(&b.h, &cert, &b.in, 1, &bytes);
		expect_refused(apply_bytes(fx.s, &bytes, MC_APPLY_COMMIT, b.now, true, &err), &err, EX_DATAERR,
			       "forged vote");
		mc_buf_release(&bytes);
	}
	/* 3 of 4, vk[3]'s vote signed over another block's hash */
	memset(other_hash, 0xee, sizeof(other_hash));
	{
		const struct mc_key *voters[3] = { vk[0], vk[1], vk[3] };

		seal(&b.h, voters, 3, &cert);
		for (int i = 0; i < 3; i++)
			if (memcmp(cert.votes[i].pk, vk[3]->pk, MC_PK_LEN) == 0)
				mc_vote_sign(other_hash, vk[3]->sk, vk[3]->pk, &cert.votes[i]);
		mc_buf_init(&bytes);
		mc_bundle_encode(&b.h, &cert, &b.in, 1, &bytes);
		expect_refused(apply_bytes(fx.s, &bytes, MC_APPLY_COMMIT, b.now, true, &err), &err, EX_DATAERR,
			       "forged vote");
		mc_buf_release(&bytes);
	}
	/* 3 votes, one of them from a key outside the set */
	cr_assert_eq(mc_key_generate(false, &outsider, &err), 0);
	{
		const struct mc_key *with[3] = { vk[0], vk[1], outsider };

		expect_refused(try_block(&b.h, with, 3, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, true, &err),
			       &err, EX_DATAERR, "non-validator");
	}
	/* a validator that is not the leader proposing */
	{
		struct mc_header h = b.h;

		memcpy(h.proposer, vk[2]->pk, MC_PK_LEN);
		expect_refused(try_block(&h, three, 3, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, true, &err),
			       &err, EX_NOPERM, "not proposed by the leader");
	}
	cr_assert_eq(head_of(fx.s).height, b.head.height, "no refusal moved the head");
	/* 3 of 4, all genuine: committed */
	cr_assert_eq(try_block(&b.h, three, 3, &b.in, &b.status, 1, MC_APPLY_COMMIT, b.now, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(head_of(fx.s).height, b.head.height + 1);
	mc_key_free(outsider);
	mc_buf_release(&b.tx);
}

/* ======================================================================== */
/* 6. mc_block_build                                                        */
/* ======================================================================== */

TestSuite(replica_build, .init = fx_setup, .fini = fx_teardown);

static void leaf_of(const struct mc_buf *enc, uint8_t leaf[MC_HASH_LEN])
{
	struct mc_tx tx;
	uint8_t h[MC_HASH_LEN];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_tx_decode(enc->data, enc->len, &tx, &err), 0);
	mc_tx_hash(&tx, h);
	mc_merkle_leaf_hash(h, MC_HASH_LEN, leaf);
}

struct seq_ctx { const uint8_t *pk; uint64_t next; };

static int seq_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seq_ctx *c = vctx;

	return mc_builder_next_seq(t, c->pk, &c->next, err);
}

static uint64_t next_seq(const uint8_t pk[MC_PK_LEN])
{
	struct seq_ctx c = { pk, 0 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, seq_txn, &c, &err), 0, "%s", err.msg);
	return c.next;
}

Test(replica_build, build_applies_txs_in_order_fills_the_header_from_them_and_commits_nothing)
{
	struct mc_buf x, y;
	struct mc_txin in[2];
	uint8_t st[2] = { MC_TXIN_PENDING, MC_TXIN_PENDING };
	uint8_t leaves[2][MC_HASH_LEN], root[MC_HASH_LEN], vh[MC_HASH_LEN];
	struct build_ctx c;
	struct mc_err err = { 0 };
	struct mc_head before = head_of(fx.s);
	uint64_t txs = rows(fx.s, MC_DB_TXS), now = before.timestamp_ms + 5000;

	enroll_tx(&x, 2, 1);
	enroll_tx(&y, 3, 2);
	in[0] = txin(&x);
	in[1] = txin(&y);
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 16, now, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_IN);
	cr_assert_eq(st[1], MC_TXIN_IN);
	cr_assert_eq(c.nrefused, 0);
	cr_assert_eq(c.h.version, MC_BLOCK_VERSION);
	cr_assert_eq(c.h.height, before.height + 1);
	cr_assert_arr_eq(c.h.prev, before.hash, MC_HASH_LEN);
	cr_assert_arr_eq(c.h.chain_id, before.chain_id, MC_HASH_LEN);
	cr_assert_eq(c.h.timestamp_ms, now);
	cr_assert_arr_eq(c.h.proposer, fx.node->pk, MC_PK_LEN);
	cr_assert_eq(c.h.view, 0);
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])fx.node->pk, 1, vh);
	cr_assert_arr_eq(c.h.valset_hash, vh, MC_HASH_LEN);
	cr_assert_eq(c.h.tx_count, 2);
	leaf_of(&x, leaves[0]);
	leaf_of(&y, leaves[1]);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, 2, root);
	cr_assert_arr_eq(c.h.tx_root, root, MC_HASH_LEN, "the root over x then y");
	/* the build's txn was never committed */
	cr_assert_eq(head_of(fx.s).height, before.height);
	cr_assert_eq(rows(fx.s, MC_DB_TXS), txs);
	cr_assert_eq(next_seq(fx.admin->pk), 2, "the admin's sequence did not move");
	/* a clock behind the head: the head's time */
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 16, before.timestamp_ms - 1, &c, &err), 0);
	cr_assert_eq(c.h.timestamp_ms, before.timestamp_ms);
	/* max_txs 1: x only, y left pending */
	st[0] = st[1] = MC_TXIN_PENDING;
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 1, now, &c, &err), 0);
	cr_assert_eq(st[0], MC_TXIN_IN);
	cr_assert_eq(st[1], MC_TXIN_PENDING);
	cr_assert_eq(c.h.tx_count, 1);
	/* in the other order, y (seq 3) waits for x (seq 2) */
	in[0] = txin(&y);
	in[1] = txin(&x);
	st[0] = st[1] = MC_TXIN_PENDING;
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 16, now, &c, &err), 0);
	cr_assert_eq(st[0], MC_TXIN_DEFERRED);
	cr_assert_eq(st[1], MC_TXIN_IN);
	cr_assert_eq(c.h.tx_count, 1);
	/* the header built applies as the next block */
	in[0] = txin(&x);
	in[1] = txin(&y);
	st[0] = st[1] = MC_TXIN_PENDING;
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 16, now, &c, &err), 0);
	cr_assert_eq(try_block(&c.h, node_only(), 1, in, st, 2, MC_APPLY_COMMIT, now, true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(head_of(fx.s).height, before.height + 1);
	cr_assert_eq(next_seq(fx.admin->pk), 4);
	mc_buf_release(&x);
	mc_buf_release(&y);
}

Test(replica_build, build_defers_a_tx_ahead_of_its_authors_sequence_and_includes_it_once_the_gap_is_filled)
{
	struct mc_buf s2, s3;
	struct mc_txin in[2];
	uint8_t st[2] = { MC_TXIN_PENDING, MC_TXIN_PENDING };
	struct build_ctx c;
	struct mc_err err = { 0 };
	uint8_t leaf[1][MC_HASH_LEN], root[MC_HASH_LEN];

	enroll_tx(&s2, 2, 1);
	enroll_tx(&s3, 3, 2);
	/* seq 3 alone: deferred, not refused; an empty block */
	in[0] = txin(&s3);
	cr_assert_eq(build(fx.s, fx.node, in, 1, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_DEFERRED);
	cr_assert_eq(c.nrefused, 0, "a deferred tx is not reported refused");
	cr_assert_eq(c.h.tx_count, 0);
	/* seq 3 (still deferred) then seq 2: seq 2 goes in this block */
	in[1] = txin(&s2);
	cr_assert_eq(build(fx.s, fx.node, in, 2, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_DEFERRED);
	cr_assert_eq(st[1], MC_TXIN_IN);
	cr_assert_eq(c.h.tx_count, 1);
	cr_assert_eq(try_block(&c.h, node_only(), 1, in, st, 2, MC_APPLY_COMMIT, mc_now_ms(), true, &err), 0, "%s",
		     err.msg);
	/* the next block (seq 2 committed, so no longer offered) takes the
	 * deferred seq 3 */
	cr_assert_eq(build(fx.s, fx.node, in, 1, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_IN);
	cr_assert_eq(c.h.tx_count, 1);
	leaf_of(&s3, leaf[0]);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaf, 1, root);
	cr_assert_arr_eq(c.h.tx_root, root, MC_HASH_LEN);
	cr_assert_eq(try_block(&c.h, node_only(), 1, in, st, 1, MC_APPLY_COMMIT, mc_now_ms(), true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(next_seq(fx.admin->pk), 4);
	mc_buf_release(&s2);
	mc_buf_release(&s3);
}

Test(replica_build, build_refuses_a_stale_sequence_number_or_an_undecodable_tx_through_the_callback)
{
	struct mc_buf stale, good;
	struct mc_txin in[3];
	uint8_t st[3] = { MC_TXIN_PENDING, MC_TXIN_PENDING, MC_TXIN_PENDING };
	static const uint8_t junk[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct build_ctx c;
	struct mc_err err = { 0 };

	enroll_tx(&stale, 1, 1);   /* the admin's genesis enrolment used seq 1 */
	enroll_tx(&good, 2, 2);
	in[0] = txin(&stale);
	in[1] = (struct mc_txin){ junk, sizeof(junk), no_side, sizeof(no_side) };
	in[2] = txin(&good);
	cr_assert_eq(build(fx.s, fx.node, in, 3, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_REFUSED);
	cr_assert_eq(st[1], MC_TXIN_REFUSED);
	cr_assert_eq(st[2], MC_TXIN_IN);
	cr_assert_eq(c.nrefused, 2);
	cr_assert_eq(c.refused[0], 0);
	cr_assert_not_null(strstr(c.why[0], "sequence number is already used"), "%s", c.why[0]);
	cr_assert_eq(c.refused[1], 1);
	cr_assert_neq(c.why[1][0], 0, "the reason is given");
	cr_assert_eq(c.h.tx_count, 1);
	/* a later call skips them without reporting them again */
	cr_assert_eq(build(fx.s, fx.node, in, 3, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.nrefused, 0);
	cr_assert_eq(st[0], MC_TXIN_REFUSED);
	cr_assert_eq(st[2], MC_TXIN_IN);
	mc_buf_release(&stale);
	mc_buf_release(&good);
}

Test(replica_build, a_tx_that_breaks_a_rule_makes_build_retry_and_the_next_call_builds_without_it)
{
	struct mc_buf x, bad, y, body;
	struct mc_txin in[3];
	uint8_t st[3] = { MC_TXIN_PENDING, MC_TXIN_PENDING, MC_TXIN_PENDING };
	uint8_t leaves[2][MC_HASH_LEN], root[MC_HASH_LEN];
	struct mc_revoke r = { .reason = (const uint8_t *)"x", .reason_len = 1 };
	struct build_ctx c;
	struct mc_err err = { 0 };
	struct mc_head before = head_of(fx.s);

	enroll_tx(&x, 2, 1);
	/* the node (not an admin) revoking the admin: refused by the rules */
	memcpy(r.pk, fx.admin->pk, MC_PK_LEN);
	mc_buf_init(&body);
	mc_revoke_encode(&r, &body);
	make_tx(&bad, fx.node, MC_TX_IDENTITY_REVOKE, 2, &body, before.chain_id);
	mc_buf_release(&body);
	enroll_tx(&y, 3, 2);
	in[0] = txin(&x);
	in[1] = txin(&bad);
	in[2] = txin(&y);
	cr_assert_eq(build(fx.s, fx.node, in, 3, st, 16, mc_now_ms(), &c, &err), MC_BUILD_RETRY);
	cr_assert_eq(st[0], MC_TXIN_IN);
	cr_assert_eq(st[1], MC_TXIN_REFUSED);
	cr_assert_eq(st[2], MC_TXIN_PENDING, "the build stopped at the refusal");
	cr_assert_eq(c.nrefused, 1);
	cr_assert_eq(c.refused[0], 1);
	cr_assert_not_null(strstr(c.why[0], "block"), "the rule's refusal: %s", c.why[0]);
	cr_assert_eq(head_of(fx.s).height, before.height);
	/* a new write txn: x and y, without the refused tx */
	cr_assert_eq(build(fx.s, fx.node, in, 3, st, 16, mc_now_ms(), &c, &err), 0, "%s", err.msg);
	cr_assert_eq(st[0], MC_TXIN_IN);
	cr_assert_eq(st[1], MC_TXIN_REFUSED);
	cr_assert_eq(st[2], MC_TXIN_IN);
	cr_assert_eq(c.nrefused, 0);
	cr_assert_eq(c.h.tx_count, 2);
	leaf_of(&x, leaves[0]);
	leaf_of(&y, leaves[1]);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, 2, root);
	cr_assert_arr_eq(c.h.tx_root, root, MC_HASH_LEN);
	cr_assert_eq(try_block(&c.h, node_only(), 1, in, st, 3, MC_APPLY_COMMIT, mc_now_ms(), true, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(next_seq(fx.node->pk), 2, "the refused tx is not on the chain");
	cr_assert_eq(next_seq(fx.admin->pk), 4);
	mc_buf_release(&x);
	mc_buf_release(&bad);
	mc_buf_release(&y);
}

/* ======================================================================== */
/* 7. mc_block_apply_genesis                                                */
/* ======================================================================== */

TestSuite(replica_genesis, .init = rp_setup, .fini = rp_teardown);

Test(replica_genesis, a_genesis_block_that_does_not_hash_to_the_given_chain_id_is_refused)
{
	struct mc_buf b;
	struct mc_err err = { 0 };
	uint8_t expect[MC_HASH_LEN];
	struct mc_head src = head_of(fx.s), dst;

	load(fx.s, 0, &b);
	for (size_t at = 0; at < MC_HASH_LEN; at += 15) {
		memcpy(expect, src.chain_id, MC_HASH_LEN);
		expect[at] ^= 1;
		expect_refused(apply_genesis(rp.s, &b, expect, &err), &err, EX_DATAERR, "not the chain id");
		cr_assert(head_of(rp.s).empty, "the store stays empty");
		cr_assert_eq(rows(rp.s, MC_DB_KEKS), 0);
		cr_assert_eq(rows(rp.s, MC_DB_IDENTITIES), 0);
	}
	cr_assert_eq(apply_genesis(rp.s, &b, src.chain_id, &err), 0, "%s", err.msg);
	dst = head_of(rp.s);
	cr_assert_not(dst.empty);
	cr_assert_eq(dst.height, 0);
	cr_assert_arr_eq(dst.hash, src.hash, MC_HASH_LEN);
	cr_assert_arr_eq(dst.chain_id, src.chain_id, MC_HASH_LEN);
	same_rows(MC_DB_KEKS, "KEKS", 1);
	same_rows(MC_DB_IDENTITIES, "IDENTITIES", 3);
	mc_buf_release(&b);
}

Test(replica_genesis, a_genesis_block_is_refused_by_a_store_that_has_one)
{
	struct mc_buf b;
	struct mc_err err = { 0 };
	struct mc_head src = head_of(fx.s);

	load(fx.s, 0, &b);
	expect_refused(apply_genesis(fx.s, &b, src.chain_id, &err), &err, EX_CANTCREAT, "already has a genesis");
	cr_assert_eq(apply_genesis(rp.s, &b, src.chain_id, &err), 0, "%s", err.msg);
	expect_refused(apply_genesis(rp.s, &b, src.chain_id, &err), &err, EX_CANTCREAT, "already has a genesis");
	cr_assert_arr_eq(head_of(rp.s).hash, src.hash, MC_HASH_LEN);
	mc_buf_release(&b);
}

/* Fails today: see the report (the same defect as
 * side_write_at_genesis_refuses_a_kek_of_an_org_other_than_the_enrolled_one).
 * The planted row is accepted; the first grant later sharing keys with that
 * org at epoch 0 is then refused on this replica ("a side row would replace
 * different stored data") and the replica cannot follow the chain. */
Test(replica_genesis, a_genesis_bundle_carrying_a_kek_for_an_org_it_does_not_enroll_is_refused)
{
	struct mc_buf b, side, bad;
	struct mc_err err = { 0 };
	uint8_t other[MC_PK_LEN];

	load(fx.s, 0, &b);
	memset(other, 0x5a, sizeof(other));
	side_begin(&side);
	side_kek(&side, other, 0, "planted", 7);
	with_side(&b, 0, &side, &bad);   /* on the node's enrolment */
	expect_refused(apply_genesis(rp.s, &bad, head_of(fx.s).chain_id, &err), &err, EX_DATAERR,
		       "not named by its transaction");
	cr_assert(head_of(rp.s).empty);
	mc_buf_release(&side);
	mc_buf_release(&bad);
	mc_buf_release(&b);
}

Test(replica_genesis, a_genesis_block_with_a_certificate_not_its_proposers_is_refused)
{
	struct mc_buf b, bad;
	struct mc_bundle d;
	struct mc_cert c;
	struct mc_err err = { 0 };
	struct mc_head src = head_of(fx.s);

	load(fx.s, 0, &b);
	cr_assert_eq(mc_bundle_decode(b.data, b.len, &d, &err), 0);
	c = d.cert;
	c.votes[0].sig[3] ^= 1;
	mc_buf_init(&bad);
	mc_bundle_encode(&d.h, &c, d.txs, d.count, &bad);
	expect_refused(apply_genesis(rp.s, &bad, src.chain_id, &err), &err, EX_DATAERR, "forged vote");
	cr_assert(head_of(rp.s).empty);
	mc_bundle_release(&d);
	mc_buf_release(&bad);
	mc_buf_release(&b);
}

/* Evidence of equivocation: two blocks one proposer signed at one height
 * and view convict it; anything else is refused (one block twice, two
 * heights, two views, two proposers, a forged signature, trailing bytes,
 * every truncation). */
Test(replica, evidence_convicts_only_two_signed_blocks_at_one_height_and_view)
{
	struct mc_key *k = NULL, *other = NULL;
	struct mc_err err = { 0 };
	struct mc_header h1, h2, a, b;
	struct mc_cert c1, c2;
	struct mc_buf ev;
	uint8_t hash[MC_HASH_LEN];

	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	cr_assert_eq(mc_key_generate(false, &other, &err), 0);
	memset(&h1, 0, sizeof(h1));
	h1.version = MC_BLOCK_VERSION;
	h1.height = 12;
	h1.view = 3;
	h1.timestamp_ms = 1764500000000ull;
	memcpy(h1.proposer, k->pk, MC_PK_LEN);
	h2 = h1;
	h2.timestamp_ms++;
#define SIGN(h, c, key) do { memset(&(c), 0, sizeof(c)); mc_block_hash(&(h), hash); \
	mc_vote_sign(hash, (key)->sk, (key)->pk, &(c).votes[(c).count++]); } while (0)
#define EV(ha, ca, hb, cb) do { mc_buf_reset(&ev); mc_evidence_encode(&(ha), &(ca), &(hb), &(cb), &ev); } while (0)
	mc_buf_init(&ev);
	SIGN(h1, c1, k);
	SIGN(h2, c2, k);
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(a.height, 12);
	for (size_t n = 0; n < ev.len; n++)
		cr_assert_eq(mc_evidence_check(ev.data, n, &a, &b, &err), -1, "truncated at %zu", n);
	mc_put_u8(&ev, 0);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "a trailing byte");
	EV(h1, c1, h1, c1);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "one block twice");
	h2.height = 13;
	SIGN(h2, c2, k);
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "two heights");
	h2.height = 12;
	h2.view = 4;
	SIGN(h2, c2, k);
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "two views");
	h2.view = 3;
	memcpy(h2.proposer, other->pk, MC_PK_LEN);
	SIGN(h2, c2, other);
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "two proposers");
	memcpy(h2.proposer, k->pk, MC_PK_LEN);
	SIGN(h2, c2, other);   /* another key's signature on the proposer's block */
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "a signature not the proposer's");
	SIGN(h2, c2, k);
	c2.votes[0].sig[0] ^= 1;
	EV(h1, c1, h2, c2);
	cr_assert_eq(mc_evidence_check(ev.data, ev.len, &a, &b, &err), -1, "a forged signature");
	cr_assert_eq(err.code, EX_DATAERR);
#undef SIGN
#undef EV
	mc_buf_release(&ev);
	mc_key_free(k);
	mc_key_free(other);
}
