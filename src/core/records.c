/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "consent.h"
#include "merkle.h"
#include "orgrot.h"
#include "records.h"
#include "text.h"

struct mc_org {
	uint8_t pk[MC_PK_LEN];
	uint32_t epoch;
	uint8_t kek_hash[MC_HASH_LEN];
	uint8_t *secret;  /* guarded: KEK (32) || pseudonym key (32) || Ed25519 sk (64),
			   * the key opening KEKs sealed to this organization */
};

int mc_subject_pseudonym(const uint8_t key[32], const char *id, size_t n,
			 uint8_t out[MC_HASH_LEN], struct mc_err *err)
{
	while (n > 0 && (*id == ' ' || *id == '\t' || *id == '\r' || *id == '\n')) {
		id++;
		n--;
	}
	while (n > 0 && (id[n - 1] == ' ' || id[n - 1] == '\t' || id[n - 1] == '\r' ||
			 id[n - 1] == '\n'))
		n--;
	if (n == 0)
		return mc_err_set(err, EX_DATAERR, _("empty patient identifier"));
	if (n > MC_SUBJECT_MAX)
		return mc_err_set(err, EX_DATAERR, _("patient identifier longer than %u bytes"),
				  MC_SUBJECT_MAX);
	if (!mc_text_clean(id, n))
		return mc_err_set(err, EX_DATAERR,
				  _("patient identifier is not UTF-8 text without control characters"));
	mc_blake2b_keyed(key, id, n, out);
	return 0;
}

static void kek_key(uint8_t key[MC_PK_LEN + 4], const uint8_t org[MC_PK_LEN], uint32_t epoch)
{
	memcpy(key, org, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, epoch);
}

int mc_kek_create(struct mc_txn *t, const uint8_t org_pk[MC_PK_LEN], uint32_t epoch,
		  struct mc_err *err)
{
	uint8_t key[MC_PK_LEN + 4], sealed[MC_SEALED_KEK_LEN];
	uint8_t *kek = mc_secure_alloc(MC_AEAD_KEY_LEN);
	int rc;

	if (!kek)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	mc_random(kek, MC_AEAD_KEY_LEN);
	rc = mc_seal(org_pk, kek, MC_AEAD_KEY_LEN, sealed);
	mc_secure_free(kek);
	if (rc != 0)
		return mc_err_set(err, EX_SOFTWARE, _("cannot seal the key-encryption key"));
	kek_key(key, org_pk, epoch);
	return mc_txn_put(t, MC_DB_KEKS, key, sizeof(key), sealed, sizeof(sealed), err);
}

struct org_open_ctx {
	const struct mc_key *orgkey;
	struct mc_org *org;
};

static int org_open_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct org_open_ctx *c = vctx;
	uint8_t key[MC_PK_LEN + 4];
	struct mc_cursor *cur;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	/* The newest epoch: the last key with this org's prefix. */
	kek_key(key, c->orgkey->pk, UINT32_MAX);
	if (mc_cursor_open(t, MC_DB_KEKS, &cur, err) != 0)
		return -1;
	rc = mc_cursor_seek(cur, key, sizeof(key), &k, &kn, &v, &vn, err);
	if (rc == 0 && memcmp(k, key, sizeof(key)) != 0)
		rc = mc_cursor_prev(cur, &k, &kn, &v, &vn, err);
	else if (rc == MC_NOTFOUND)
		rc = mc_cursor_last(cur, &k, &kn, &v, &vn, err);
	if (rc == 0 && (kn != sizeof(key) || memcmp(k, c->orgkey->pk, MC_PK_LEN) != 0))
		rc = MC_NOTFOUND;
	if (rc == 0 && vn != MC_SEALED_KEK_LEN)
		rc = mc_err_set(err, EX_DATAERR, _("malformed sealed key-encryption key"));
	if (rc == 0) {
		c->org->epoch = mc_from_be32((const uint8_t *)k + MC_PK_LEN);
		mc_sha256(v, vn, c->org->kek_hash);
		if (mc_seal_open(c->orgkey->sk, v, vn, c->org->secret) != 0)
			rc = mc_err_set(err, EX_DATAERR,
					_("the organization's key-encryption key does not open with its key"));
	}
	mc_cursor_close(cur);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_DATAERR, _("the organization has no key-encryption key"));
	return rc;
}

int mc_org_open(struct mc_store *s, const struct mc_key *orgkey, struct mc_org **out,
		struct mc_err *err)
{
	struct mc_org *org = calloc(1, sizeof(*org));
	struct org_open_ctx c = { orgkey, org };

	*out = NULL;
	if (!org)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (!orgkey->has_pseudo) {
		free(org);
		return mc_err_set(err, EX_DATAERR, _("the organization key has no pseudonym key"));
	}
	org->secret = mc_secure_alloc(2 * 32 + MC_SK_LEN);
	if (!org->secret) {
		free(org);
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	}
	memcpy(org->pk, orgkey->pk, MC_PK_LEN);
	memcpy(org->secret + 32, orgkey->pseudo, 32);
	memcpy(org->secret + 64, orgkey->sk, MC_SK_LEN);
	if (mc_store_read(s, org_open_txn, &c, err) != 0) {
		mc_org_free(org);
		return -1;
	}
	*out = org;
	return 0;
}

void mc_org_free(struct mc_org *org)
{
	if (!org)
		return;
	mc_secure_free(org->secret);
	free(org);
}

const uint8_t *mc_org_pk(const struct mc_org *org)
{
	return org->pk;
}

int mc_org_subject(const struct mc_org *org, const char *id, size_t n,
		   uint8_t out[MC_HASH_LEN], struct mc_err *err)
{
	return mc_subject_pseudonym(org->secret + 32, id, n, out, err);
}

static int dupkey_hash(const struct mc_org *org, uint8_t form, const uint8_t subject[MC_HASH_LEN],
		       const void *a, size_t an, const void *b, size_t bn, uint8_t out[MC_HASH_LEN],
		       struct mc_err *err)
{
	static const char domain[] = "medchain/dupkey/v1";
	struct mc_buf m;

	mc_buf_init(&m);
	mc_put_raw(&m, domain, sizeof(domain) - 1);
	mc_put_u8(&m, form);
	mc_put_raw(&m, subject, MC_HASH_LEN);
	mc_put_raw(&m, a, an);
	if (b)
		mc_put_raw(&m, b, bn);
	if (mc_buf_failed(&m)) {
		mc_buf_release(&m);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	mc_blake2b_keyed(org->secret + 32, m.data, m.len, out);
	mc_wipe(m.data, m.len);
	mc_buf_release(&m);
	return 0;
}

int mc_org_dupkey(const struct mc_org *org, const uint8_t subject[MC_HASH_LEN], const char *ref,
		  const char *category, const void *payload, size_t n, uint8_t dupkey[MC_HASH_LEN],
		  uint8_t ckey[MC_HASH_LEN], struct mc_err *err)
{
	uint8_t h[1 + MC_HASH_LEN];

	/* category || 0x00 || SHA-256(payload) */
	h[0] = 0;
	mc_sha256(payload, n, h + 1);
	if (dupkey_hash(org, 2, subject, category, strlen(category), h, sizeof(h), ckey, err) != 0)
		return -1;
	if (!ref) {
		memcpy(dupkey, ckey, MC_HASH_LEN);
		return 0;
	}
	return dupkey_hash(org, 1, subject, ref, strlen(ref), NULL, 0, dupkey, err);
}

/* The associated data of a record version's sealed parts: record id ||
 * version || the subject (the payload's) or the org key (a wrapped data
 * key's); both are 32 bytes. */
#define AD_LEN (MC_RECORD_ID_LEN + 4 + 32)
_Static_assert(MC_HASH_LEN == 32 && MC_PK_LEN == 32, "a subject and an org key are 32 bytes");

static void version_ad(uint8_t ad[AD_LEN], const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		       const uint8_t tail[32])
{
	memcpy(ad, id, MC_RECORD_ID_LEN);
	mc_be32(ad + MC_RECORD_ID_LEN, version);
	memcpy(ad + MC_RECORD_ID_LEN + 4, tail, 32);
}

int mc_record_seal(const struct mc_org *org, const uint8_t id[MC_RECORD_ID_LEN],
		   uint32_t version, const uint8_t prev[MC_HASH_LEN],
		   const uint8_t subject[MC_HASH_LEN], const char *category, const char *ctype,
		   const void *payload, size_t n, struct mc_sealed *out, struct mc_err *err)
{
	uint8_t rnd[MC_SEAL_RANDOM];

	int rc;

	mc_random(rnd, sizeof(rnd));
	rc = mc_record_seal_rnd(org, id, version, prev, subject, category, ctype, payload, n, rnd,
				out, err);
	mc_wipe(rnd, sizeof(rnd));
	return rc;
}

int mc_record_seal_rnd(const struct mc_org *org, const uint8_t id[MC_RECORD_ID_LEN],
		       uint32_t version, const uint8_t prev[MC_HASH_LEN],
		       const uint8_t subject[MC_HASH_LEN], const char *category, const char *ctype,
		       const void *payload, size_t n, uint8_t rnd[MC_SEAL_RANDOM],
		       struct mc_sealed *out, struct mc_err *err)
{
	uint8_t *dk = rnd;
	uint8_t ad[MC_RECORD_ID_LEN + 4 + MC_HASH_LEN];
	uint8_t wad[MC_RECORD_ID_LEN + 4 + MC_PK_LEN];
	size_t clen = strlen(category), tlen = strlen(ctype);

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return mc_err_set(err, EX_DATAERR, _("empty payload"));
	if (n > MC_PAYLOAD_MAX)
		return mc_err_set(err, EX_DATAERR, _("payload of %zu bytes is over the limit of %u bytes"),
				  n, MC_PAYLOAD_MAX);
	if (!mc_token_valid(category, clen, MC_CATEGORY_MAX))
		return mc_err_set(err, EX_DATAERR,
				  _("invalid category: use 1 to %d of a-z, 0-9, '.', '_' and '-'"),
				  MC_CATEGORY_MAX);
	if (!mc_mime_valid(ctype, tlen, MC_CTYPE_MAX))
		return mc_err_set(err, EX_DATAERR, _("invalid content type"));
	if (version == 0)
		return mc_err_set(err, EX_SOFTWARE, _("record versions start at 1"));

	out->ct_len = MC_AEAD_NONCE_LEN + n + MC_AEAD_TAG_LEN;
	out->ct = malloc(out->ct_len);
	if (!out->ct)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(out->ct, rnd + MC_AEAD_KEY_LEN, MC_AEAD_NONCE_LEN);
	version_ad(ad, id, version, subject);
	mc_aead_encrypt(dk, out->ct, ad, sizeof(ad), payload, n, out->ct + MC_AEAD_NONCE_LEN);
	memcpy(out->wrapped, rnd + MC_AEAD_KEY_LEN + MC_AEAD_NONCE_LEN, MC_AEAD_NONCE_LEN);
	version_ad(wad, id, version, org->pk);
	mc_aead_encrypt(org->secret, out->wrapped, wad, sizeof(wad), dk, MC_AEAD_KEY_LEN,
			out->wrapped + MC_AEAD_NONCE_LEN);
	mc_wipe(rnd, MC_SEAL_RANDOM);

	memcpy(out->category, category, clen);
	memcpy(out->ctype, ctype, tlen);
	memcpy(out->entry.id, id, MC_RECORD_ID_LEN);
	out->entry.version = version;
	memcpy(out->entry.subject, subject, MC_HASH_LEN);
	out->entry.category = out->category;
	out->entry.category_len = clen;
	out->entry.ctype = out->ctype;
	out->entry.ctype_len = tlen;
	mc_sha256(out->ct, out->ct_len, out->entry.ct_hash);
	out->entry.ct_size = out->ct_len;
	if (prev)
		memcpy(out->entry.prev, prev, MC_HASH_LEN);
	mc_sha256(out->wrapped, sizeof(out->wrapped), out->entry.wrap_hash);
	return 0;
}

void mc_sealed_release(struct mc_sealed *s)
{
	if (!s)
		return;
	free(s->ct);
	s->ct = NULL;
}

int mc_batch_prepare(struct mc_batch *b, struct mc_sealed *recs, size_t n, struct mc_err *err)
{
	uint8_t (*leaves)[MC_HASH_LEN];

	memset(b, 0, sizeof(*b));
	mc_buf_init(&b->attach);
	if (n == 0 || n > MC_BATCH_MAX)
		return mc_err_set(err, EX_SOFTWARE, _("a batch holds 1 to %u records"), MC_BATCH_MAX);
	leaves = malloc(n * MC_HASH_LEN);
	if (!leaves)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (size_t i = 0; i < n; i++) {
		mc_entry_encode(&recs[i].entry, &b->attach);
		if (recs[i].has_leaf)
			memcpy(leaves[i], recs[i].leaf, MC_HASH_LEN);
		else
			mc_entry_leaf(&recs[i].entry, leaves[i]);
	}
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, n, b->root);
	free(leaves);
	if (mc_buf_failed(&b->attach)) {
		mc_buf_release(&b->attach);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	b->recs = recs;
	b->n = n;
	return 0;
}

void mc_batch_release(struct mc_batch *b)
{
	if (!b)
		return;
	mc_buf_release(&b->attach);
}

int mc_batch_add(struct mc_txn *t, struct mc_builder *bld, const struct mc_batch *b,
		 const struct mc_org *org, const struct mc_key *author, struct mc_err *err)
{
	struct mc_put put;
	struct mc_buf body;
	int rc;

	uint32_t txi = mc_builder_tx_index(bld);

	for (size_t i = 0; i < b->n; i++) {
		const struct mc_sealed *r = &b->recs[i];
		uint8_t wkey[MC_LOC_LEN + MC_PK_LEN];
		void *dst;

		mc_loc_key(wkey, mc_builder_height(bld), txi, (uint32_t)i);
		if (mc_txn_append_reserve(t, MC_DB_PAYLOADS, wkey, MC_LOC_LEN, r->ct_len, &dst, err) != 0)
			return -1;
		memcpy(dst, r->ct, r->ct_len);
		memcpy(wkey + MC_LOC_LEN, org->pk, MC_PK_LEN);
		if (mc_txn_append(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), r->wrapped, sizeof(r->wrapped),
			       err) != 0)
			return -1;
	}
	memset(&put, 0, sizeof(put));
	memcpy(put.org, org->pk, MC_PK_LEN);
	put.epoch = org->epoch;
	memcpy(put.kek_hash, org->kek_hash, MC_HASH_LEN);
	put.count = (uint32_t)b->n;
	memcpy(put.entries_root, b->root, MC_HASH_LEN);

	mc_buf_init(&body);
	mc_put_encode(&put, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_builder_add_new(t, bld, author, MC_TX_RECORD_PUT, body.data, body.len,
						       b->attach.data, b->attach.len, err);
	mc_buf_release(&body);
	return rc;
}

struct commit_ctx {
	const struct mc_batch *batch;
	const struct mc_org *org;
	const struct mc_key *author;
};

static int commit_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct commit_ctx *c = vctx;

	return mc_batch_add(t, b, c->batch, c->org, c->author, err);
}

int mc_records_commit(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, struct mc_sealed *recs, size_t n,
		      struct mc_produced *out, struct mc_err *err)
{
	struct mc_batch batch;
	struct commit_ctx c = { &batch, org, author };
	int rc;

	if (mc_batch_prepare(&batch, recs, n, err) != 0)
		return -1;
	rc = mc_chain_produce(s, node, commit_build, &c, out, err);
	mc_batch_release(&batch);
	return rc;
}

void mc_record_info_from_state(const struct mc_record_state *rs, struct mc_record_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->id, rs->entry.id, MC_RECORD_ID_LEN);
	info->version = rs->entry.version;
	memcpy(info->subject, rs->entry.subject, MC_HASH_LEN);
	memcpy(info->category, rs->entry.category, rs->entry.category_len);
	memcpy(info->ctype, rs->entry.ctype, rs->entry.ctype_len);
	info->size = rs->entry.ct_size >= MC_AEAD_NONCE_LEN + MC_AEAD_TAG_LEN
			     ? rs->entry.ct_size - MC_AEAD_NONCE_LEN - MC_AEAD_TAG_LEN
			     : 0;
	info->height = rs->height;
	info->erased = rs->erased;
	memcpy(info->leaf, rs->leaf, MC_HASH_LEN);
}

int mc_record_id_parse(const char *s, uint8_t id[MC_RECORD_ID_LEN], struct mc_err *err)
{
	if (strlen(s) != 2 * MC_RECORD_ID_LEN || mc_unhex(s, id, MC_RECORD_ID_LEN) != 0)
		return mc_err_set(err, EX_USAGE, _("'%s' is not a record id (32 hex digits)"), s);
	return 0;
}

/* Where an organization finds the data key of a record version: its own
 * custody (wrapped under its newest KEK), a key shared with it (under a KEK
 * sealed to it), or, after an organization key rotation, either of these
 * of an organization it succeeded (under that organization's KEK of the
 * epoch, resealed to this one: MC_DB_ORGKEKS). */
struct keyref {
	uint8_t wrapped[MC_WRAPPED_LEN];
	uint8_t wrap_org[MC_PK_LEN];            /* the org the wrap's associated data names */
	bool custody;                           /* the custodian's own copy */
	bool has_kek;                           /* else: the organization's newest KEK */
	uint8_t sealed_kek[MC_SEALED_KEK_LEN];  /* sealed to the organization */
};

/* The KEK epoch the RECORD_PUT of a record version names, and its custodian. */
static int put_epoch(struct mc_txn *t, const struct mc_record_state *rs, const uint8_t owner[MC_PK_LEN],
		     uint32_t *epoch, struct mc_err *err)
{
	struct mc_tx tx;
	struct mc_put put;
	int rc = mc_record_tx(t, rs, &tx, &put, err);

	if (rc < 0 || rc == MC_NOTFOUND)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("a record's transaction is missing"));
	if (rc != 0 || memcmp(put.org, owner, MC_PK_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("a record's transaction does not name its custodian"));
	*epoch = put.epoch;
	return 0;
}

static int take_wrap(struct mc_txn *t, const uint8_t holder[MC_PK_LEN], const uint8_t owner[MC_PK_LEN],
		     bool rotated, const uint8_t *v, size_t vn, const struct mc_record_state *rs,
		     struct keyref *ref, struct mc_err *err)
{
	uint8_t key[MC_ORGKEKS_KEY_LEN];
	const void *kv;
	size_t kvn;
	uint32_t epoch = 0;
	int rc;

	memset(ref, 0, sizeof(*ref));
	memcpy(ref->wrap_org, owner, MC_PK_LEN);
	if (vn == MC_WRAPPED_LEN) {
		ref->custody = true;
		memcpy(ref->wrapped, v, MC_WRAPPED_LEN);
		if (!rotated)
			return 0;
		if (put_epoch(t, rs, owner, &epoch, err) != 0)
			return -1;
	} else if (vn == 4 + MC_WRAPPED_LEN) {
		epoch = mc_from_be32(v);
		memcpy(ref->wrapped, (const uint8_t *)v + 4, MC_WRAPPED_LEN);
	} else {
		return mc_err_set(err, EX_DATAERR, _("malformed wrapped key"));
	}
	ref->has_kek = true;
	if (rotated) {
		memcpy(key, holder, MC_PK_LEN);
		memcpy(key + MC_PK_LEN, owner, MC_PK_LEN);
		mc_be32(key + 2 * MC_PK_LEN, epoch);
		rc = mc_txn_get(t, MC_DB_ORGKEKS, key, sizeof(key), &kv, &kvn, err);
	} else {
		kek_key(key, holder, epoch);
		rc = mc_txn_get(t, MC_DB_KEKS, key, MC_PK_LEN + 4, &kv, &kvn, err);
	}
	if (rc < 0)
		return -1;
	if (rc != 0 || kvn != MC_SEALED_KEK_LEN)
		return mc_err_set(err, EX_DATAERR, _("the key-encryption key of a record's data key is missing"));
	memcpy(ref->sealed_kek, kv, kvn);
	return 0;
}

/* 0 with *ref filled, MC_NOTFOUND when the organization holds no key to
 * the record version, -1 on error. */
static int find_key(struct mc_txn *t, const uint8_t holder[MC_PK_LEN], const struct mc_record_state *rs,
		    struct keyref *ref, struct mc_err *err)
{
	uint8_t wkey[MC_LOC_LEN + MC_PK_LEN], last[MC_PK_LEN];
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	bool have = false;
	int rc, found = MC_NOTFOUND;

	mc_loc_key(wkey, rs->height, rs->tx_index, rs->entry_index);
	memcpy(wkey + MC_LOC_LEN, holder, MC_PK_LEN);
	rc = mc_txn_get(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return take_wrap(t, holder, holder, false, v, vn, rs, ref, err);
	/* the organizations this one succeeded: the origins of its resealed KEKs */
	if (mc_cursor_open(t, MC_DB_ORGKEKS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, holder, MC_PK_LEN, &k, &kn, NULL, NULL, err);
	     rc == 0 && found == MC_NOTFOUND && kn == MC_ORGKEKS_KEY_LEN && memcmp(k, holder, MC_PK_LEN) == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		const uint8_t *origin = (const uint8_t *)k + MC_PK_LEN;

		if (have && memcmp(last, origin, MC_PK_LEN) == 0)
			continue;
		memcpy(last, origin, MC_PK_LEN);
		have = true;
		memcpy(wkey + MC_LOC_LEN, origin, MC_PK_LEN);
		rc = mc_txn_get(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
		if (rc < 0)
			break;
		if (rc == 0)
			found = take_wrap(t, holder, last, true, v, vn, rs, ref, err);
		rc = 0;
	}
	mc_cursor_close(c);
	if (rc < 0)
		return -1;
	return found;
}

/* The data key (guarded, MC_AEAD_KEY_LEN) from a key reference. */
static int open_key(const struct mc_org *org, const struct keyref *ref, const uint8_t id[MC_RECORD_ID_LEN],
		    uint32_t version, uint8_t *dk, struct mc_err *err)
{
	uint8_t wad[MC_RECORD_ID_LEN + 4 + MC_PK_LEN];
	uint8_t *kek = NULL;
	int rc = 0;

	if (ref->has_kek) {
		kek = mc_secure_alloc(MC_AEAD_KEY_LEN);
		if (!kek)
			return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
		if (mc_seal_open(org->secret + 64, ref->sealed_kek, sizeof(ref->sealed_kek), kek) != 0) {
			mc_secure_free(kek);
			return mc_err_set(err, EX_DATAERR,
					  _("the shared key-encryption key does not open with this organization's key"));
		}
	}
	version_ad(wad, id, version, ref->wrap_org);
	if (mc_aead_decrypt(kek ? kek : org->secret, ref->wrapped, wad, sizeof(wad),
			    ref->wrapped + MC_AEAD_NONCE_LEN, MC_AEAD_KEY_LEN + MC_AEAD_TAG_LEN, dk) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("the record's data key does not authenticate"));
	mc_secure_free(kek);
	return rc;
}

struct read_ctx {
	const struct mc_org *org;
	const uint8_t *id;
	uint32_t version;
	struct mc_record_info *info;
	uint8_t *ct;
	size_t ct_len;
	struct keyref ref;
};

static int read_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct read_ctx *c = vctx;
	struct mc_record_state rs;
	uint8_t wkey[MC_LOC_LEN + MC_PK_LEN], ch[MC_HASH_LEN];
	char hex[2 * MC_RECORD_ID_LEN + 1];
	const void *v;
	size_t vn;
	int rc;

	mc_hex(c->id, MC_RECORD_ID_LEN, hex);
	rc = c->version ? mc_record_version(t, c->id, c->version, &rs, err)
			: mc_record_latest(t, c->id, &rs, err);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_NOINPUT, _("no record '%s'"), hex);
	if (rc != 0)
		return -1;
	mc_record_info_from_state(&rs, c->info);
	if (rs.erased)
		return mc_err_set(err, EX_NOINPUT, _("record '%s' was erased in block %llu"), hex,
				  (unsigned long long)rs.erased);
	mc_loc_key(wkey, rs.height, rs.tx_index, rs.entry_index);
	rc = mc_txn_get(t, MC_DB_PAYLOADS, wkey, MC_LOC_LEN, &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("record '%s': ciphertext missing"), hex);
	mc_sha256(v, vn, ch);
	if (vn < MC_AEAD_NONCE_LEN + MC_AEAD_TAG_LEN + 1 || vn != rs.entry.ct_size ||
	    memcmp(ch, rs.entry.ct_hash, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("record '%s': ciphertext damaged"), hex);
	c->ct = malloc(vn);
	if (!c->ct)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(c->ct, v, vn);
	c->ct_len = vn;
	rc = find_key(t, c->org->pk, &rs, &c->ref, err);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_NOPERM, _("record '%s': no data key for this organization"), hex);
	return rc;
}

int mc_record_read(struct mc_store *s, const struct mc_org *org,
		   const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		   uint8_t **payload, size_t *n, struct mc_record_info *info, struct mc_err *err)
{
	struct read_ctx c = { .org = org, .id = id, .version = version, .info = info };
	uint8_t *dk = NULL, *out = NULL;
	uint8_t ad[MC_RECORD_ID_LEN + 4 + MC_HASH_LEN];
	size_t plen;
	int rc = -1;

	*payload = NULL;
	*n = 0;
	if (mc_store_read(s, read_txn, &c, err) != 0)
		goto done;
	dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!dk) {
		mc_err_set(err, EX_OSERR, _("out of guarded memory"));
		goto done;
	}
	if (open_key(org, &c.ref, id, info->version, dk, err) != 0)
		goto done;
	plen = c.ct_len - MC_AEAD_NONCE_LEN - MC_AEAD_TAG_LEN;
	out = malloc(plen);
	if (!out) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		goto done;
	}
	version_ad(ad, id, info->version, info->subject);
	if (mc_aead_decrypt(dk, c.ct, ad, sizeof(ad), c.ct + MC_AEAD_NONCE_LEN,
			    c.ct_len - MC_AEAD_NONCE_LEN, out) != 0) {
		mc_err_set(err, EX_DATAERR, _("the record's ciphertext does not authenticate"));
		mc_payload_free(out, plen);
		out = NULL;
		goto done;
	}
	*payload = out;
	*n = plen;
	rc = 0;
done:
	mc_secure_free(dk);
	free(c.ct);
	return rc;
}

void mc_payload_free(uint8_t *p, size_t n)
{
	if (!p)
		return;
	mc_wipe(p, n);
	free(p);
}

static int visit_latest(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], const char *category,
			mc_record_visit_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_record_state rs;
	struct mc_record_info info;
	int rc = mc_record_latest(t, id, &rs, err);

	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("subject index names a missing record"));
	mc_record_info_from_state(&rs, &info);
	if (category && strcmp(category, info.category) != 0)
		return 0;
	return fn(&info, ctx);
}

int mc_records_list(struct mc_txn *t, const uint8_t *subject, const char *category,
		    mc_record_visit_fn fn, void *ctx, struct mc_err *err)
{
	return mc_records_list_after(t, subject, category, NULL, fn, ctx, err);
}

int mc_records_list_after(struct mc_txn *t, const uint8_t *subject, const char *category,
			  const uint8_t *after, mc_record_visit_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc, vr = 0;

	if (subject) {
		if (mc_cursor_open(t, MC_DB_SUBJECTS, &c, err) != 0)
			return -1;
		uint8_t start[MC_HASH_LEN + MC_RECORD_ID_LEN];

		memcpy(start, subject, MC_HASH_LEN);
		if (after)
			memcpy(start + MC_HASH_LEN, after, MC_RECORD_ID_LEN);
		for (rc = mc_cursor_seek(c, start, after ? sizeof(start) : MC_HASH_LEN, &k, &kn, NULL, NULL, err);
		     rc == 0 && vr == 0; rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
			if (kn != MC_HASH_LEN + MC_RECORD_ID_LEN || memcmp(k, subject, MC_HASH_LEN) != 0)
				break;
			if (after && memcmp((const uint8_t *)k + MC_HASH_LEN, after, MC_RECORD_ID_LEN) == 0)
				continue;
			vr = visit_latest(t, (const uint8_t *)k + MC_HASH_LEN, category, fn, ctx, err);
		}
	} else {
		uint8_t last[MC_RECORD_ID_LEN];
		bool have = false;

		if (mc_cursor_open(t, MC_DB_RECORDS, &c, err) != 0)
			return -1;
		/* Rows are id || version: visit each id once, at its newest. */
		if (after) {
			memcpy(last, after, MC_RECORD_ID_LEN);
			have = true;
		}
		for (rc = mc_cursor_seek(c, after, after ? MC_RECORD_ID_LEN : 0, &k, &kn, NULL, NULL, err);
		     rc == 0 && vr == 0; rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
			if (kn != MC_RECORD_ID_LEN + 4)
				continue;
			if (have && memcmp(last, k, MC_RECORD_ID_LEN) == 0)
				continue;
			memcpy(last, k, MC_RECORD_ID_LEN);
			have = true;
			vr = visit_latest(t, last, category, fn, ctx, err);
		}
	}
	mc_cursor_close(c);
	if (rc < 0 || vr < 0)
		return -1;
	return 0;
}

int mc_record_history(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
		      mc_record_visit_fn fn, void *ctx, struct mc_err *err)
{
	struct mc_record_state rs;
	struct mc_record_info info;
	char hex[2 * MC_RECORD_ID_LEN + 1];
	int rc = mc_record_latest(t, id, &rs, err);
	uint32_t newest;

	mc_hex(id, MC_RECORD_ID_LEN, hex);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_NOINPUT, _("no record '%s'"), hex);
	if (rc != 0)
		return -1;
	newest = rs.entry.version;
	for (uint32_t v = 1; v <= newest; v++) {
		rc = mc_record_version(t, id, v, &rs, err);
		if (rc != 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("record '%s': version %u missing"),
							 hex, v);
		mc_record_info_from_state(&rs, &info);
		rc = fn(&info, ctx);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
	}
	return 0;
}

int mc_record_erase(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		    const uint8_t id[MC_RECORD_ID_LEN], const char *reason,
		    struct mc_produced *out, struct mc_err *err)
{
	struct mc_erase e;
	struct mc_buf body;
	size_t n = strlen(reason);
	int rc;

	if (n == 0 || n > MC_REASON_MAX || !mc_text_clean(reason, n))
		return mc_err_set(err, EX_USAGE, _("give a reason of 1 to %d characters of text"),
				  MC_REASON_MAX);
	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, MC_RECORD_ID_LEN);
	e.reason = (const uint8_t *)reason;
	e.reason_len = n;
	mc_buf_init(&body);
	mc_erase_encode(&e, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_chain_submit(s, node, author, MC_TX_RECORD_ERASE, body.data,
						    body.len, out, err);
	mc_buf_release(&body);
	return rc;
}

/* ---- sharing with another organization ------------------------------------ */

struct share_ctx {
	const struct mc_org *org;
	const struct mc_grant *scope;
	struct mc_share_prep *p;
	uint8_t *kek;
};

static bool share_in_scope(const struct mc_grant *g, const struct mc_record_state *rs)
{
	return mc_grant_covers(g, rs->entry.id, rs->entry.category, rs->entry.category_len);
}

static int share_one(struct share_ctx *c, struct mc_txn *t, const struct mc_record_state *rs,
		     struct mc_err *err)
{
	struct mc_share_prep *p = c->p;
	struct mc_share_item *it;
	struct keyref ref;
	uint8_t wkey[MC_LOC_LEN + MC_PK_LEN], wad[MC_RECORD_ID_LEN + 4 + MC_PK_LEN];
	uint8_t *dk;
	const void *v;
	size_t vn;
	int rc;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *q = realloc(p->items, cap * sizeof(*p->items));

		if (!q || cap > MC_SHARE_MAX)
			return mc_err_set(err, EX_DATAERR, _("too many records to share in one grant"));
		p->items = q;
		p->cap = cap;
	}
	mc_loc_key(wkey, rs->height, rs->tx_index, rs->entry_index);
	memcpy(wkey + MC_LOC_LEN, p->org, MC_PK_LEN);
	rc = mc_txn_get(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;   /* already shared with that organization by an earlier grant */
	/* in this organization's custody, or that of one it succeeded */
	rc = find_key(t, c->org->pk, rs, &ref, err);
	if (rc != 0 || !ref.custody)
		return rc < 0 ? -1 : 0;   /* not in this organization's custody: not ours to share */
	dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!dk)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	if (open_key(c->org, &ref, rs->entry.id, rs->entry.version, dk, err) != 0) {
		mc_secure_free(dk);
		return mc_err_set(err, EX_DATAERR, _("a record's data key does not authenticate"));
	}
	it = &p->items[p->n++];
	memcpy(it->id, rs->entry.id, MC_RECORD_ID_LEN);
	it->version = rs->entry.version;
	it->height = rs->height;
	it->tx_index = rs->tx_index;
	it->entry_index = rs->entry_index;
	mc_random(it->wrapped, MC_AEAD_NONCE_LEN);
	version_ad(wad, rs->entry.id, rs->entry.version, p->org);
	mc_aead_encrypt(c->kek, it->wrapped, wad, sizeof(wad), dk, MC_AEAD_KEY_LEN,
			it->wrapped + MC_AEAD_NONCE_LEN);
	mc_secure_free(dk);
	return 0;
}

static int share_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct share_ctx *c = vctx;
	struct mc_cursor *cur;
	const void *k;
	size_t kn;
	int rc, vr = 0;

	if (mc_cursor_open(t, MC_DB_SUBJECTS, &cur, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(cur, c->scope->subject, MC_HASH_LEN, &k, &kn, NULL, NULL, err);
	     rc == 0 && vr == 0; rc = mc_cursor_next(cur, &k, &kn, NULL, NULL, err)) {
		uint8_t id[MC_RECORD_ID_LEN];
		struct mc_record_state rs;
		uint32_t newest;

		if (kn != MC_HASH_LEN + MC_RECORD_ID_LEN || memcmp(k, c->scope->subject, MC_HASH_LEN) != 0)
			break;
		memcpy(id, (const uint8_t *)k + MC_HASH_LEN, MC_RECORD_ID_LEN);
		if (mc_record_latest(t, id, &rs, err) != 0) {
			vr = -1;
			break;
		}
		newest = rs.entry.version;
		for (uint32_t ver = 1; ver <= newest && vr == 0; ver++) {
			if (mc_record_version(t, id, ver, &rs, err) != 0) {
				vr = -1;
				break;
			}
			if (!rs.erased && share_in_scope(c->scope, &rs))
				vr = share_one(c, t, &rs, err);
		}
	}
	mc_cursor_close(cur);
	return rc < 0 || vr < 0 ? -1 : 0;
}

int mc_share_prepare(struct mc_store *s, const struct mc_org *custodian,
		     const uint8_t other_org[MC_PK_LEN], const struct mc_grant *scope,
		     struct mc_share_prep *out, struct mc_err *err)
{
	struct share_ctx c = { custodian, scope, out, NULL };
	int rc;

	memset(out, 0, sizeof(*out));
	memcpy(out->org, other_org, MC_PK_LEN);
	c.kek = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!c.kek)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	mc_random(c.kek, MC_AEAD_KEY_LEN);
	if (mc_seal(other_org, c.kek, MC_AEAD_KEY_LEN, out->sealed_kek) != 0) {
		mc_secure_free(c.kek);
		return mc_err_set(err, EX_DATAERR, _("cannot seal a key-encryption key to that organization"));
	}
	rc = mc_store_read(s, share_txn, &c, err);
	mc_secure_free(c.kek);
	if (rc != 0)
		mc_share_release(out);
	return rc;
}

int mc_share_store(struct mc_txn *t, const struct mc_share_prep *p, struct mc_buf *attach,
		   struct mc_err *err)
{
	uint8_t kkey[MC_PK_LEN + 4];
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	uint32_t epoch = 0;
	struct mc_share sh;
	uint8_t *items = NULL;
	int rc;

	/* the organization's next KEK epoch, read inside the write txn */
	memcpy(kkey, p->org, MC_PK_LEN);
	mc_be32(kkey + MC_PK_LEN, UINT32_MAX);
	if (mc_cursor_open(t, MC_DB_KEKS, &c, err) != 0)
		return -1;
	rc = mc_cursor_seek(c, kkey, sizeof(kkey), &k, &kn, NULL, NULL, err);
	if (rc == 0)
		rc = mc_cursor_prev(c, &k, &kn, NULL, NULL, err);
	else if (rc == MC_NOTFOUND)
		rc = mc_cursor_last(c, &k, &kn, NULL, NULL, err);
	if (rc == 0 && kn == sizeof(kkey) && memcmp(k, p->org, MC_PK_LEN) == 0)
		epoch = mc_from_be32((const uint8_t *)k + MC_PK_LEN) + 1;
	mc_cursor_close(c);
	if (rc < 0)
		return -1;
	mc_be32(kkey + MC_PK_LEN, epoch);
	if (mc_txn_put(t, MC_DB_KEKS, kkey, sizeof(kkey), p->sealed_kek, sizeof(p->sealed_kek), err) != 0)
		return -1;
	memset(&sh, 0, sizeof(sh));
	memcpy(sh.org, p->org, MC_PK_LEN);
	sh.epoch = epoch;
	mc_sha256(p->sealed_kek, sizeof(p->sealed_kek), sh.kek_hash);
	if (p->n) {
		items = malloc(p->n * MC_SHARE_ITEM_LEN);
		if (!items)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	sh.count = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct mc_share_item *it = &p->items[i];
		uint8_t wkey[MC_LOC_LEN + MC_PK_LEN], val[4 + MC_WRAPPED_LEN];
		uint8_t *row = items + (size_t)sh.count * MC_SHARE_ITEM_LEN;

		mc_loc_key(wkey, it->height, it->tx_index, it->entry_index);
		memcpy(wkey + MC_LOC_LEN, p->org, MC_PK_LEN);
		mc_be32(val, epoch);
		memcpy(val + 4, it->wrapped, MC_WRAPPED_LEN);
		/* never over another grant's committed copy */
		rc = mc_txn_put_new(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), val, sizeof(val), err);
		if (rc == MC_EXISTS)
			continue;
		if (rc != 0) {
			free(items);
			return -1;
		}
		sh.count++;
		memcpy(row, it->id, MC_RECORD_ID_LEN);
		mc_be32(row + MC_RECORD_ID_LEN, it->version);
		mc_sha256(val, sizeof(val), row + MC_RECORD_ID_LEN + 4);
	}
	sh.items = items;
	mc_buf_reset(attach);
	mc_share_encode(&sh, attach);
	free(items);
	return mc_buf_failed(attach) ? mc_err_set(err, EX_OSERR, _("out of memory")) : 0;
}

void mc_share_release(struct mc_share_prep *p)
{
	if (!p)
		return;
	if (p->items)
		mc_wipe(p->items, p->cap * sizeof(*p->items));
	free(p->items);
	p->items = NULL;
	p->n = p->cap = 0;
}
