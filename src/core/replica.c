/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "merkle.h"
#include "orgrot.h"
#include "rectx.h"
#include "replica.h"
#include "valset.h"

#define SIDE_VALUE_MAX (MC_PAYLOAD_MAX + 1024u)

/* ---- collecting a stored tx's side rows ------------------------------ */

struct collect {
	struct mc_txn *t;
	struct mc_buf *out;
	uint32_t count;
	bool partial;
	struct mc_err *err;
};

static void row_head(struct collect *c, uint8_t kind)
{
	mc_put_u8(c->out, kind);
	c->count++;
}

static int collect_kek(struct collect *c, const uint8_t org[MC_PK_LEN], uint32_t epoch)
{
	uint8_t key[MC_KEK_KEY_LEN];
	const void *v;
	size_t vn;
	int rc = mc_kek_get(c->t, org, epoch, key, &v, &vn, c->err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(c->err, EX_DATAERR, _("a key-encryption key named by the chain is missing"));
	row_head(c, MC_SIDE_KEK);
	mc_put_raw(c->out, key, sizeof(key));
	mc_put_bytes(c->out, v, vn);
	return 0;
}

static int collect_put(struct collect *c, uint64_t height, uint32_t index, const struct mc_tx *tx)
{
	struct mc_put put;
	uint8_t key[MC_LOC_LEN + MC_PK_LEN];
	const void *v;
	size_t vn;
	int rc;

	if (mc_put_decode(tx->body, tx->body_len, &put, c->err) != 0)
		return -1;
	if (collect_kek(c, put.org, put.epoch) != 0)
		return -1;
	for (uint32_t e = 0; e < put.count; e++) {
		mc_loc_key(key, height, index, e);
		rc = mc_txn_get(c->t, MC_DB_PAYLOADS, key, MC_LOC_LEN, &v, &vn, c->err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			row_head(c, MC_SIDE_PAYLOAD);
			mc_put_u32(c->out, e);
			mc_put_bytes(c->out, v, vn);
		} else {
			c->partial = true;
		}
		memcpy(key + MC_LOC_LEN, put.org, MC_PK_LEN);
		rc = mc_txn_get(c->t, MC_DB_KEYWRAP, key, sizeof(key), &v, &vn, c->err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			row_head(c, MC_SIDE_WRAPPED);
			mc_put_u32(c->out, e);
			mc_put_bytes(c->out, v, vn);
		} else {
			c->partial = true;
		}
	}
	return 0;
}

static int collect_share(struct collect *c, const struct mc_tx *tx)
{
	struct mc_grant g;
	struct mc_share sh;

	if (mc_grant_decode(tx->body, tx->body_len, &g, c->err) != 0)
		return -1;
	if (g.share_len != MC_HASH_LEN)
		return 0;
	if (mc_share_decode(tx->attach, tx->attach_len, &sh, c->err) != 0 ||
	    collect_kek(c, sh.org, sh.epoch) != 0)
		return -1;
	for (uint32_t i = 0; i < sh.count; i++) {
		const uint8_t *it = sh.items + (size_t)i * MC_SHARE_ITEM_LEN;
		struct mc_record_state rs;
		uint8_t key[MC_LOC_LEN + MC_PK_LEN];
		const void *v;
		size_t vn;
		int rc = mc_record_version(c->t, it, mc_from_be32(it + MC_RECORD_ID_LEN), &rs, c->err);

		if (rc < 0)
			return -1;
		if (rc == 0) {
			mc_loc_key(key, rs.height, rs.tx_index, rs.entry_index);
			memcpy(key + MC_LOC_LEN, sh.org, MC_PK_LEN);
			rc = mc_txn_get(c->t, MC_DB_KEYWRAP, key, sizeof(key), &v, &vn, c->err);
			if (rc < 0)
				return -1;
		}
		if (rc != 0) {
			c->partial = true;
			continue;
		}
		row_head(c, MC_SIDE_SHARED);
		mc_put_raw(c->out, key, sizeof(key));
		mc_put_bytes(c->out, v, vn);
	}
	return 0;
}

static int collect_genesis_org(struct collect *c, const struct mc_tx *tx)
{
	struct mc_enroll e;
	uint8_t key[MC_PK_LEN + 4];
	const void *v;
	size_t vn;
	int rc;

	if (mc_enroll_decode(tx->body, tx->body_len, &e, c->err) != 0)
		return -1;
	if (!(e.roles & MC_ROLE_ORG))
		return 0;
	memcpy(key, e.pk, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, 0);
	rc = mc_txn_get(c->t, MC_DB_KEKS, key, sizeof(key), &v, &vn, c->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return collect_kek(c, e.pk, 0);
}

/* The new organization's first KEK (epoch 0), drawn with its rotation. */
static int collect_rotated_org(struct collect *c, const struct mc_tx *tx)
{
	struct mc_org_rotate r;
	uint8_t key[MC_PK_LEN + 4];
	const void *v;
	size_t vn;
	int rc;

	if (mc_org_rotate_decode(tx->body, tx->body_len, &r, c->err) != 0)
		return -1;
	memcpy(key, r.new_pk, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, 0);
	rc = mc_txn_get(c->t, MC_DB_KEKS, key, sizeof(key), &v, &vn, c->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return collect_kek(c, r.new_pk, 0);
}

int mc_side_collect(struct mc_txn *t, uint64_t height, uint32_t index, const struct mc_tx *tx,
		    struct mc_buf *side, struct mc_err *err)
{
	struct collect c = { t, side, 0, false, err };
	size_t at = side->len;
	int rc = 0;

	mc_put_u32(side, 0);
	switch (tx->type) {
	case MC_TX_RECORD_PUT:
		rc = collect_put(&c, height, index, tx);
		break;
	case MC_TX_CONSENT_GRANT:
		rc = collect_share(&c, tx);
		break;
	case MC_TX_IDENTITY_ENROLL:
		if (height == 0)
			rc = collect_genesis_org(&c, tx);
		break;
	case MC_TX_ORG_ROTATE:
		rc = collect_rotated_org(&c, tx);
		break;
	default:
		break;
	}
	if (rc != 0)
		return -1;
	if (c.partial)
		row_head(&c, MC_SIDE_PARTIAL);
	if (mc_buf_failed(side))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_be32(side->data + at, c.count);
	return 0;
}

/* ---- reading side rows -------------------------------------------------- */

struct side_row {
	uint8_t kind;
	uint32_t entry;
	uint8_t loc[MC_LOC_LEN];
	uint8_t org[MC_PK_LEN];
	uint32_t epoch;
	const uint8_t *v;
	size_t vn;
};

static int side_next(struct mc_rd *r, struct side_row *row, struct mc_err *err)
{
	memset(row, 0, sizeof(*row));
	row->kind = mc_get_u8(r);
	switch (row->kind) {
	case MC_SIDE_PAYLOAD:
	case MC_SIDE_WRAPPED:
		row->entry = mc_get_u32(r);
		break;
	case MC_SIDE_SHARED:
		mc_get_raw(r, row->loc, MC_LOC_LEN);
		mc_get_raw(r, row->org, MC_PK_LEN);
		break;
	case MC_SIDE_KEK:
		mc_get_raw(r, row->org, MC_PK_LEN);
		row->epoch = mc_get_u32(r);
		break;
	case MC_SIDE_PARTIAL:
		return mc_rd_ok(r) ? 0 : mc_err_set(err, EX_DATAERR, _("truncated side rows"));
	default:
		return mc_err_set(err, EX_DATAERR, _("unknown side row kind %u"), row->kind);
	}
	row->v = mc_get_bytes(r, SIDE_VALUE_MAX, &row->vn);
	if (!mc_rd_ok(r))
		return mc_err_set(err, EX_DATAERR, _("truncated or oversized side rows"));
	return 0;
}

int mc_side_check(const uint8_t *p, size_t n, struct mc_err *err)
{
	struct mc_rd r;
	uint32_t count;

	mc_rd_init(&r, p, n);
	count = mc_get_u32(&r);
	if (!mc_rd_ok(&r) || count > MC_SIDE_MAX_ROWS)
		return mc_err_set(err, EX_DATAERR, _("malformed side rows"));
	for (uint32_t i = 0; i < count; i++) {
		struct side_row row;

		if (side_next(&r, &row, err) != 0)
			return -1;
	}
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("trailing bytes after the side rows"));
	return 0;
}

/* ---- writing side rows where the tx commits to them ------------------ */

/* Inserts a row that must be new, or already stored with the same bytes. */
static int put_same(struct mc_txn *t, enum mc_db db, const uint8_t *k, size_t kn,
		    const uint8_t *v, size_t vn, struct mc_err *err)
{
	const void *old;
	size_t on;
	int rc = mc_txn_put_new(t, db, k, kn, v, vn, err);

	if (rc != MC_EXISTS)
		return rc;
	rc = mc_txn_get(t, db, k, kn, &old, &on, err);
	if (rc < 0)
		return -1;
	if (rc != 0 || on != vn || memcmp(old, v, vn) != 0)
		return mc_err_set(err, EX_DATAERR, _("a side row would replace different stored data"));
	return 0;
}

struct side_scope {
	uint64_t height;
	uint32_t index;
	bool has_put, has_share, has_org;
	struct mc_put put;
	struct mc_share sh;
	uint8_t org[MC_PK_LEN];   /* an organization the (genesis) tx enrolls */
};

static int scope_load(struct side_scope *sc, const struct mc_tx *tx, struct mc_err *err)
{
	if (tx->type == MC_TX_IDENTITY_ENROLL && sc->height == 0) {
		struct mc_enroll e;

		if (mc_enroll_decode(tx->body, tx->body_len, &e, err) != 0)
			return -1;
		sc->has_org = (e.roles & MC_ROLE_ORG) != 0;
		memcpy(sc->org, e.pk, MC_PK_LEN);
	} else if (tx->type == MC_TX_ORG_ROTATE) {
		struct mc_org_rotate r;

		if (mc_org_rotate_decode(tx->body, tx->body_len, &r, err) != 0)
			return -1;
		sc->has_org = true;   /* the new organization's epoch 0 */
		memcpy(sc->org, r.new_pk, MC_PK_LEN);
	} else if (tx->type == MC_TX_RECORD_PUT) {
		if (mc_put_decode(tx->body, tx->body_len, &sc->put, err) != 0)
			return -1;
		sc->has_put = true;
	} else if (tx->type == MC_TX_CONSENT_GRANT) {
		struct mc_grant g;

		if (mc_grant_decode(tx->body, tx->body_len, &g, err) != 0)
			return -1;
		if (g.share_len == MC_HASH_LEN) {
			if (mc_share_decode(tx->attach, tx->attach_len, &sc->sh, err) != 0)
				return -1;
			sc->has_share = true;
		}
	}
	return 0;
}

/* A shared key's location must be that of one of the share's records. */
static int shared_loc_ok(struct mc_txn *t, const struct side_scope *sc, const uint8_t loc[MC_LOC_LEN],
			 struct mc_err *err)
{
	for (uint32_t i = 0; i < sc->sh.count; i++) {
		const uint8_t *it = sc->sh.items + (size_t)i * MC_SHARE_ITEM_LEN;
		struct mc_record_state rs;
		uint8_t k[MC_LOC_LEN];
		int rc = mc_record_version(t, it, mc_from_be32(it + MC_RECORD_ID_LEN), &rs, err);

		if (rc < 0)
			return -1;
		if (rc != 0)
			continue;
		mc_loc_key(k, rs.height, rs.tx_index, rs.entry_index);
		if (memcmp(k, loc, MC_LOC_LEN) == 0)
			return 1;
	}
	return 0;
}

static int write_row(struct mc_txn *t, const struct side_scope *sc, const struct side_row *row,
		     struct mc_err *err)
{
	uint8_t key[MC_LOC_LEN + MC_PK_LEN];
	int rc;

	switch (row->kind) {
	case MC_SIDE_PAYLOAD:
	case MC_SIDE_WRAPPED:
		if (!sc->has_put || row->entry >= sc->put.count)
			return mc_err_set(err, EX_DATAERR, _("a side row names no entry of its transaction"));
		mc_loc_key(key, sc->height, sc->index, row->entry);
		if (row->kind == MC_SIDE_PAYLOAD) {
			rc = mc_txn_put_new(t, MC_DB_PAYLOADS, key, MC_LOC_LEN, row->v, row->vn, err);
		} else {
			memcpy(key + MC_LOC_LEN, sc->put.org, MC_PK_LEN);
			rc = mc_txn_put_new(t, MC_DB_KEYWRAP, key, sizeof(key), row->v, row->vn, err);
		}
		return rc == MC_EXISTS ? mc_err_set(err, EX_DATAERR, _("a side row is given twice")) : rc;
	case MC_SIDE_SHARED:
		if (!sc->has_share || memcmp(row->org, sc->sh.org, MC_PK_LEN) != 0)
			return mc_err_set(err, EX_DATAERR, _("a shared key does not belong to its grant"));
		rc = shared_loc_ok(t, sc, row->loc, err);
		if (rc <= 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("a shared key names no record of its grant"));
		memcpy(key, row->loc, MC_LOC_LEN);
		memcpy(key + MC_LOC_LEN, row->org, MC_PK_LEN);
		return put_same(t, MC_DB_KEYWRAP, key, sizeof(key), row->v, row->vn, err);
	case MC_SIDE_KEK:
		if (!((sc->has_put && memcmp(row->org, sc->put.org, MC_PK_LEN) == 0 && row->epoch == sc->put.epoch) ||
		      (sc->has_share && memcmp(row->org, sc->sh.org, MC_PK_LEN) == 0 && row->epoch == sc->sh.epoch) ||
		      (sc->has_org && memcmp(row->org, sc->org, MC_PK_LEN) == 0 && row->epoch == 0)))
			return mc_err_set(err, EX_DATAERR, _("a key-encryption key is not named by its transaction"));
		memcpy(key, row->org, MC_PK_LEN);
		mc_be32(key + MC_PK_LEN, row->epoch);
		return put_same(t, MC_DB_KEKS, key, MC_PK_LEN + 4, row->v, row->vn, err);
	default:
		return 0;
	}
}

int mc_side_write(struct mc_txn *t, uint64_t height, uint32_t index, const struct mc_tx *tx,
		  const uint8_t *p, size_t n, bool *partial, struct mc_err *err)
{
	struct side_scope sc;
	struct mc_rd r;
	uint32_t count;

	*partial = false;
	memset(&sc, 0, sizeof(sc));
	sc.height = height;
	sc.index = index;
	mc_rd_init(&r, p, n);
	count = mc_get_u32(&r);
	if (!mc_rd_ok(&r) || count > MC_SIDE_MAX_ROWS)
		return mc_err_set(err, EX_DATAERR, _("malformed side rows"));
	if (count && scope_load(&sc, tx, err) != 0)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		struct side_row row;

		if (side_next(&r, &row, err) != 0)
			return -1;
		if (row.kind == MC_SIDE_PARTIAL)
			*partial = true;
		else if (write_row(t, &sc, &row, err) != 0)
			return -1;
	}
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("trailing bytes after the side rows"));
	return 0;
}

/* ---- bundles ------------------------------------------------------------ */

static void put_txins(const struct mc_txin *txs, size_t n, struct mc_buf *b)
{
	mc_put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		mc_put_bytes(b, txs[i].tx, txs[i].tx_len);
		mc_put_bytes(b, txs[i].side, txs[i].side_len);
	}
}

static int get_txins(struct mc_rd *r, uint32_t max, struct mc_txin **out, size_t *count,
		     struct mc_err *err)
{
	uint32_t n = mc_get_u32(r);
	struct mc_txin *txs;

	*out = NULL;
	*count = 0;
	if (!mc_rd_ok(r) || n > max)
		return mc_err_set(err, EX_DATAERR, _("malformed transaction list"));
	/* every tx takes at least 8 bytes: no allocation beyond the input */
	if ((uint64_t)n * 8 > r->left)
		return mc_err_set(err, EX_DATAERR, _("truncated transaction list"));
	txs = calloc(n ? n : 1, sizeof(*txs));
	if (!txs)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (uint32_t i = 0; i < n; i++) {
		txs[i].tx = mc_get_bytes(r, MC_TX_ATTACH_MAX + MC_TX_BODY_MAX + 1024, &txs[i].tx_len);
		txs[i].side = mc_get_bytes(r, MC_BUNDLE_MAX, &txs[i].side_len);
	}
	if (!mc_rd_ok(r)) {
		free(txs);
		return mc_err_set(err, EX_DATAERR, _("truncated transaction list"));
	}
	*out = txs;
	*count = n;
	return 0;
}

void mc_bundle_encode(const struct mc_header *h, const struct mc_cert *c,
		      const struct mc_txin *txs, size_t n, struct mc_buf *b)
{
	mc_header_encode(h, b);
	mc_cert_encode(c, b);
	put_txins(txs, n, b);
}

int mc_bundle_read(struct mc_rd *r, struct mc_bundle *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	if (mc_header_decode(r, &out->h, err) != 0 || mc_cert_decode(r, &out->cert, err) != 0)
		return mc_err_wrap(err, _("block bundle"));
	if (get_txins(r, MC_BLOCK_MAX_TXS, &out->txs, &out->count, err) != 0)
		return -1;
	if (out->count != out->h.tx_count) {
		size_t n = out->count;

		mc_bundle_release(out);
		return mc_err_set(err, EX_DATAERR, _("a block bundle holds %zu txs where its header says %u"),
				  n, (unsigned)out->h.tx_count);
	}
	mc_block_hash(&out->h, out->hash);
	return 0;
}

int mc_bundle_decode(const uint8_t *p, size_t n, struct mc_bundle *out, struct mc_err *err)
{
	struct mc_rd r;

	mc_rd_init(&r, p, n);
	if (mc_bundle_read(&r, out, err) != 0)
		return -1;
	if (!mc_rd_finish(&r)) {
		mc_bundle_release(out);
		return mc_err_set(err, EX_DATAERR, _("trailing bytes after a block bundle"));
	}
	return 0;
}

void mc_bundle_release(struct mc_bundle *b)
{
	free(b->txs);
	b->txs = NULL;
	b->count = 0;
}

void mc_txbundle_encode(const struct mc_txin *txs, size_t n, struct mc_buf *b)
{
	put_txins(txs, n, b);
}

int mc_txbundle_decode(const uint8_t *p, size_t n, struct mc_txin **txs, size_t *count,
		       struct mc_err *err)
{
	struct mc_rd r;

	mc_rd_init(&r, p, n);
	if (get_txins(&r, MC_TXBUNDLE_MAX_TXS, txs, count, err) != 0)
		return -1;
	if (!mc_rd_finish(&r)) {
		free(*txs);
		*txs = NULL;
		return mc_err_set(err, EX_DATAERR, _("trailing bytes after the transactions"));
	}
	return 0;
}

int mc_txins_load(struct mc_txn *t, uint64_t height, uint32_t count, struct mc_buf *b,
		  struct mc_err *err)
{
	struct mc_buf side;
	uint8_t key[12];
	int rc = 0;

	mc_put_u32(b, count);
	mc_buf_init(&side);
	for (uint32_t i = 0; i < count && rc == 0; i++) {
		struct mc_tx tx;
		const void *v;
		size_t vn;

		mc_be64(key, height);
		mc_be32(key + 8, i);
		rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
		if (rc != 0) {
			rc = rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("block %llu: tx %u is missing"),
						      (unsigned long long)height, i);
			break;
		}
		mc_buf_reset(&side);
		if (mc_tx_decode(v, vn, &tx, err) != 0 || mc_side_collect(t, height, i, &tx, &side, err) != 0) {
			rc = mc_err_wrap(err, _("block %llu, tx %u"), (unsigned long long)height, i);
			break;
		}
		mc_put_bytes(b, v, vn);
		mc_put_bytes(b, side.data, side.len);
	}
	mc_buf_release(&side);
	if (rc == 0 && mc_buf_failed(b))
		rc = mc_err_set(err, EX_OSERR, _("out of memory"));
	return rc;
}

int mc_bundle_load(struct mc_txn *t, uint64_t height, struct mc_buf *b, struct mc_err *err)
{
	struct mc_header h;
	struct mc_cert c;
	int rc = mc_chain_block(t, height, &h, &c, err);

	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_NOINPUT, _("no block at height %llu"),
						(unsigned long long)height);
	mc_header_encode(&h, b);
	mc_cert_encode(&c, b);
	return mc_txins_load(t, height, h.tx_count, b, err);
}

/* ---- evidence of equivocation ---------------------------------------- */

void mc_evidence_encode(const struct mc_header *a, const struct mc_cert *ca, const struct mc_header *b,
			const struct mc_cert *cb, struct mc_buf *out)
{
	mc_header_encode(a, out);
	mc_cert_encode(ca, out);
	mc_header_encode(b, out);
	mc_cert_encode(cb, out);
}

/* The certificate is the proposer's vote on the block, alone. */
static bool proposer_signed(const struct mc_header *h, const struct mc_cert *c)
{
	uint8_t hash[MC_HASH_LEN], msg[MC_VOTE_MSG_LEN];

	if (c->count != 1 || memcmp(c->votes[0].pk, h->proposer, MC_PK_LEN) != 0)
		return false;
	mc_block_hash(h, hash);
	mc_vote_message(hash, msg);
	return mc_sign_verify(h->proposer, msg, sizeof(msg), c->votes[0].sig) == 0;
}

int mc_evidence_check(const uint8_t *p, size_t n, struct mc_header *a, struct mc_header *b, struct mc_err *err)
{
	struct mc_cert ca, cb;
	struct mc_rd r;
	uint8_t ha[MC_HASH_LEN], hb[MC_HASH_LEN];

	mc_rd_init(&r, p, n);
	if (mc_header_decode(&r, a, NULL) != 0 || mc_cert_decode(&r, &ca, NULL) != 0 ||
	    mc_header_decode(&r, b, NULL) != 0 || mc_cert_decode(&r, &cb, NULL) != 0 || !mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("malformed evidence"));
	mc_block_hash(a, ha);
	mc_block_hash(b, hb);
	if (a->height != b->height || a->view != b->view || memcmp(a->proposer, b->proposer, MC_PK_LEN) != 0 ||
	    memcmp(a->chain_id, b->chain_id, MC_HASH_LEN) != 0 || memcmp(ha, hb, MC_HASH_LEN) == 0)
		return mc_err_set(err, EX_DATAERR, _("the evidence is not two blocks of one proposer at one height and view"));
	if (!proposer_signed(a, &ca) || !proposer_signed(b, &cb))
		return mc_err_set(err, EX_DATAERR, _("the evidence is not signed by its proposer"));
	return 0;
}
