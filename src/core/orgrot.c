/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "orgrot.h"

static const char orgrot_domain[] = "medchain/org-rotate/v1";

void mc_org_rotate_encode(const struct mc_org_rotate *r, struct mc_buf *b)
{
	mc_put_raw(b, r->old_pk, MC_PK_LEN);
	mc_put_raw(b, r->new_pk, MC_PK_LEN);
	mc_put_u32(b, r->count);
	mc_put_raw(b, r->keks_hash, MC_HASH_LEN);
	mc_put_raw(b, r->old_sig, MC_SIG_LEN);
	mc_put_raw(b, r->new_sig, MC_SIG_LEN);
}

int mc_org_rotate_decode(const uint8_t *p, size_t n, struct mc_org_rotate *r, struct mc_err *err)
{
	struct mc_rd rd;

	memset(r, 0, sizeof(*r));
	mc_rd_init(&rd, p, n);
	mc_get_raw(&rd, r->old_pk, MC_PK_LEN);
	mc_get_raw(&rd, r->new_pk, MC_PK_LEN);
	r->count = mc_get_u32(&rd);
	mc_get_raw(&rd, r->keks_hash, MC_HASH_LEN);
	mc_get_raw(&rd, r->old_sig, MC_SIG_LEN);
	mc_get_raw(&rd, r->new_sig, MC_SIG_LEN);
	if (!mc_rd_finish(&rd) || r->count > MC_ORGROT_MAX ||
	    memcmp(r->old_pk, r->new_pk, MC_PK_LEN) == 0)
		return mc_err_set(err, EX_DATAERR, _("malformed %s body"), "ORG_ROTATE");
	return 0;
}

int mc_org_rotate_items(const uint8_t *p, size_t n, uint32_t count, const uint8_t **items,
			struct mc_err *err)
{
	*items = NULL;
	if (count > MC_ORGROT_MAX || n != (size_t)count * MC_ORGROT_ITEM_LEN)
		return mc_err_set(err, EX_DATAERR,
				  _("the resealed key-encryption keys are not the %u the rotation announces"),
				  (unsigned)count);
	for (uint32_t i = 1; i < count; i++) {
		const uint8_t *a = p + (size_t)(i - 1) * MC_ORGROT_ITEM_LEN;

		if (memcmp(a, a + MC_ORGROT_ITEM_LEN, MC_PK_LEN + 4) >= 0)
			return mc_err_set(err, EX_DATAERR,
					  _("the resealed key-encryption keys are not in ascending order"));
	}
	*items = count ? p : NULL;
	return 0;
}

void mc_org_rotate_keks_hash(const uint8_t *items, uint32_t count, uint8_t out[MC_HASH_LEN])
{
	struct mc_sha256 h;

	mc_sha256_init(&h);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *it = items + (size_t)i * MC_ORGROT_ITEM_LEN;
		uint8_t sh[MC_HASH_LEN];

		mc_sha256(it + MC_PK_LEN + 4, MC_ORGROT_SEALED_LEN, sh);
		mc_sha256_update(&h, it, MC_PK_LEN + 4);
		mc_sha256_update(&h, sh, MC_HASH_LEN);
	}
	mc_sha256_final(&h, out);
}

void mc_org_rotate_digest(const uint8_t chain_id[MC_HASH_LEN], const struct mc_org_rotate *r,
			  uint8_t out[MC_HASH_LEN])
{
	struct mc_sha256 h;
	uint8_t cnt[4];

	mc_be32(cnt, r->count);
	mc_sha256_init(&h);
	mc_sha256_update(&h, orgrot_domain, sizeof(orgrot_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, r->old_pk, MC_PK_LEN);
	mc_sha256_update(&h, r->new_pk, MC_PK_LEN);
	mc_sha256_update(&h, cnt, 4);
	mc_sha256_update(&h, r->keks_hash, MC_HASH_LEN);
	mc_sha256_final(&h, out);
}

/* Rows of db whose key starts with prefix (and has key length kn). */
static int count_prefix(struct mc_txn *t, enum mc_db db, const uint8_t *prefix, size_t pn,
			size_t kn_want, uint64_t *n, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc;

	*n = 0;
	if (mc_cursor_open(t, db, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, prefix, pn, &k, &kn, NULL, NULL, err);
	     rc == 0 && kn >= pn && memcmp(k, prefix, pn) == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err))
		if (kn == kn_want)
			(*n)++;
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* Who rotates what: an admin (bound to it, if bound to any) an active
 * organization's key, to a new key never enrolled and usable; both keys
 * signed the rotation; the resealed KEKs are the ones its hash names. The
 * old identity is loaded into old, the items into *items. */
static int org_rotate_check(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			    const struct mc_org_rotate *r, struct mc_identity *old, const uint8_t **items,
			    struct mc_err *err)
{
	struct mc_identity author, nid;
	uint8_t h[MC_HASH_LEN], xpk[MC_X25519_LEN];
	int rc;

	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0 ||
	    mc_identity_get(t, tx->author, &author, err) != 0)
		return -1;
	rc = mc_identity_get(t, r->old_pk, old, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || !(old->roles & MC_ROLE_ORG) || old->revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the key rotated is not an active organization's"));
	/* an admin bound to an organization rotates that one only */
	if (author.org[0] && strcmp(author.org, old->name) != 0)
		return mc_refuse_perm(err, ax, _("an admin rotates only their own organization's key"));
	rc = mc_identity_get(t, r->new_pk, &nid, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the new organization key is already enrolled"));
	if (mc_pk_to_x25519(r->new_pk, xpk) != 0)
		return mc_refuse(err, ax, _("the new organization key is not a usable Ed25519 key"));
	mc_org_rotate_digest(ax->chain_id, r, h);
	if (mc_sign_verify(r->old_pk, h, MC_HASH_LEN, r->old_sig) != 0 ||
	    mc_sign_verify(r->new_pk, h, MC_HASH_LEN, r->new_sig) != 0)
		return mc_refuse(err, ax, _("the rotation is not signed by both the old and the new organization key"));
	if (mc_org_rotate_items(tx->attach, tx->attach_len, r->count, items, err) != 0)
		return mc_refuse_body(err, ax);
	mc_org_rotate_keks_hash(*items, r->count, h);
	if (memcmp(h, r->keks_hash, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the resealed key-encryption keys do not match the rotation's hash"));
	return 0;
}

/* Every KEK the old key holds goes to the new one: those it holds from
 * organizations it succeeded are chain state (checked everywhere); its own
 * are checked by the node that writes the rotation. */
static int org_rotate_covers(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_org_rotate *r,
			     const uint8_t *items, struct mc_err *err)
{
	uint64_t own = 0, held = 0, rows;
	int rc;

	for (uint32_t i = 0; i < r->count; i++) {
		const uint8_t *it = items + (size_t)i * MC_ORGROT_ITEM_LEN;
		uint8_t key[MC_ORGKEKS_KEY_LEN];
		const void *v;
		size_t vn;

		if (memcmp(it, r->old_pk, MC_PK_LEN) == 0) {
			own++;
			if (ax->replay || ax->untrusted)
				continue;
			rc = mc_txn_get(t, MC_DB_KEKS, it, MC_PK_LEN + 4, &v, &vn, err);
		} else {
			held++;
			memcpy(key, r->old_pk, MC_PK_LEN);
			memcpy(key + MC_PK_LEN, it, MC_PK_LEN + 4);
			rc = mc_txn_get(t, MC_DB_ORGKEKS, key, sizeof(key), &v, &vn, err);
		}
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			return mc_refuse(err, ax, _("the rotation reseals a key-encryption key the organization does not hold"));
	}
	if (count_prefix(t, MC_DB_ORGKEKS, r->old_pk, MC_PK_LEN, MC_ORGKEKS_KEY_LEN, &rows, err) != 0)
		return -1;
	if (rows != held)
		return mc_refuse(err, ax, _("the rotation leaves out a key-encryption key the organization holds"));
	if (!ax->replay && !ax->untrusted) {
		if (count_prefix(t, MC_DB_KEKS, r->old_pk, MC_PK_LEN, MC_PK_LEN + 4, &rows, err) != 0)
			return -1;
		if (rows != own)
			return mc_refuse(err, ax, _("the rotation leaves out a key-encryption key the organization holds"));
	}
	return 0;
}

int mc_org_rotate_apply(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			struct mc_err *err)
{
	struct mc_org_rotate r;
	struct mc_identity old, nid;
	const uint8_t *items;
	uint8_t succ[MC_PK_LEN + 8];

	if (mc_org_rotate_decode(tx->body, tx->body_len, &r, err) != 0)
		return mc_refuse_body(err, ax);
	if (org_rotate_check(t, ax, tx, &r, &old, &items, err) != 0 ||
	    org_rotate_covers(t, ax, &r, items, err) != 0)
		return -1;
	/* The old identity is revoked; the new one takes its name. */
	old.revoked = ax->height;
	memset(&nid, 0, sizeof(nid));
	memcpy(nid.pk, r.new_pk, MC_PK_LEN);
	nid.roles = MC_ROLE_ORG;
	nid.enrolled = ax->height;
	nid.revoked = MC_NOT_REVOKED;
	memcpy(nid.name, old.name, sizeof(nid.name));
	memcpy(nid.org, old.org, sizeof(nid.org));
	if (mc_identity_put(t, &old, err) != 0 || mc_identity_put(t, &nid, err) != 0)
		return -1;
	for (uint32_t i = 0; i < r.count; i++) {
		const uint8_t *it = items + (size_t)i * MC_ORGROT_ITEM_LEN;
		uint8_t key[MC_ORGKEKS_KEY_LEN];

		memcpy(key, r.new_pk, MC_PK_LEN);
		memcpy(key + MC_PK_LEN, it, MC_PK_LEN + 4);
		if (mc_txn_put(t, MC_DB_ORGKEKS, key, sizeof(key), it + MC_PK_LEN + 4,
			       MC_ORGROT_SEALED_LEN, err) != 0)
			return -1;
	}
	memcpy(succ, r.new_pk, MC_PK_LEN);
	mc_be64(succ + MC_PK_LEN, ax->height);
	if (mc_txn_put(t, MC_DB_ORGSUCC, r.old_pk, MC_PK_LEN, succ, sizeof(succ), err) != 0)
		return -1;
	/* on the audit trail under its author, as the other audited events */
	return mc_rules_audit_index(t, ax, tx, NULL, 0, err);
}

int mc_org_successor(struct mc_txn *t, const uint8_t org[MC_PK_LEN], uint8_t next[MC_PK_LEN],
		     uint64_t *height, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_ORGSUCC, org, MC_PK_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn != MC_PK_LEN + 8)
		return mc_err_set(err, EX_DATAERR, _("malformed organization succession row"));
	memcpy(next, v, MC_PK_LEN);
	if (height)
		*height = mc_from_be64((const uint8_t *)v + MC_PK_LEN);
	return 0;
}
