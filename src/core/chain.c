/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts.h"
#include "chain.h"
#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "merkle.h"
#include "orgrot.h"
#include "valset.h"
#include "replica.h"
#include "text.h"

static const char META_HEAD[] = "head";
static const char META_CHAIN_ID[] = "chain_id";
static const char META_VALSET[] = "valset";
static const char META_FORMAT[] = "format";
static const char FORMAT_V1[] = "medchain-store-2";


void mc_loc_key(uint8_t out[MC_LOC_LEN], uint64_t height, uint32_t tx_index, uint32_t entry_index)
{
	mc_be64(out, height);
	mc_be32(out + 8, tx_index);
	mc_be32(out + 12, entry_index);
}

uint64_t mc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int mc_chain_head(struct mc_txn *t, struct mc_head *head, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc;

	memset(head, 0, sizeof(*head));
	rc = mc_txn_get(t, MC_DB_META, META_HEAD, sizeof(META_HEAD) - 1, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND) {
		head->empty = true;
		return 0;
	}
	if (vn != 8 + MC_HASH_LEN + 8)
		return mc_err_set(err, EX_DATAERR, _("malformed chain head"));
	head->height = mc_from_be64(v);
	memcpy(head->hash, (const uint8_t *)v + 8, MC_HASH_LEN);
	head->timestamp_ms = mc_from_be64((const uint8_t *)v + 8 + MC_HASH_LEN);
	rc = mc_txn_get(t, MC_DB_META, META_CHAIN_ID, sizeof(META_CHAIN_ID) - 1, &v, &vn, err);
	if (rc != 0 || vn != MC_HASH_LEN)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("missing chain id"));
	memcpy(head->chain_id, v, MC_HASH_LEN);
	return 0;
}

int mc_chain_format_check(struct mc_txn *t, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_FORMAT, sizeof(META_FORMAT) - 1, &v, &vn, err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || vn != sizeof(FORMAT_V1) - 1 || memcmp(v, FORMAT_V1, vn) != 0)
		return mc_err_set(err, EX_DATAERR, _("the store's format marker is missing or unknown"));
	return 0;
}

static int put_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN],
		    uint64_t ts, struct mc_err *err)
{
	uint8_t v[8 + MC_HASH_LEN + 8];

	mc_be64(v, height);
	memcpy(v + 8, hash, MC_HASH_LEN);
	mc_be64(v + 8 + MC_HASH_LEN, ts);
	return mc_txn_put(t, MC_DB_META, META_HEAD, sizeof(META_HEAD) - 1, v, sizeof(v), err);
}

int mc_chain_validators(struct mc_txn *t, uint8_t (*out)[MC_PK_LEN], size_t *n,
			struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_META, META_VALSET, sizeof(META_VALSET) - 1, &v, &vn, err);

	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("missing validator set"));
	if (vn == 0 || vn % MC_PK_LEN || vn / MC_PK_LEN > MC_MAX_VALIDATORS)
		return mc_err_set(err, EX_DATAERR, _("malformed validator set"));
	*n = vn / MC_PK_LEN;
	memcpy(out, v, vn);
	return 0;
}

/* ---- record state ----------------------------------------------------- */

static void record_key(uint8_t key[MC_RECORD_ID_LEN + 4], const uint8_t id[MC_RECORD_ID_LEN],
		       uint32_t version)
{
	memcpy(key, id, MC_RECORD_ID_LEN);
	mc_be32(key + MC_RECORD_ID_LEN, version);
}

#define REC_ROW_LEN (8 + 4 + 4 + 4 + 8 + MC_HASH_LEN)

/* Decodes a state row and reads its entry from the tx it lives in. */
static int state_load(struct mc_txn *t, const uint8_t key[MC_RECORD_ID_LEN + 4], const void *p,
		      size_t n, struct mc_record_state *rs, struct mc_err *err)
{
	const uint8_t *b = p;
	uint8_t loc[12];
	const void *v;
	size_t vn;
	struct mc_tx tx;
	struct mc_rd r;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (n != REC_ROW_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed record state"));
	rs->height = mc_from_be64(b);
	rs->tx_index = mc_from_be32(b + 8);
	rs->entry_index = mc_from_be32(b + 12);
	rs->offset = mc_from_be32(b + 16);
	rs->erased = mc_from_be64(b + 20);
	memcpy(rs->leaf, b + 28, MC_HASH_LEN);
	memcpy(loc, b, 12);
	rc = mc_txn_get(t, MC_DB_TXS, loc, sizeof(loc), &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("a record's transaction is missing"));
	if (mc_tx_decode(v, vn, &tx, err) != 0 || rs->offset > tx.attach_len)
		return mc_err_set(err, EX_DATAERR, _("malformed record state"));
	mc_rd_init(&r, tx.attach + rs->offset, tx.attach_len - rs->offset);
	if (mc_entry_read(&r, &rs->entry, err) != 0 ||
	    memcmp(rs->entry.id, key, MC_RECORD_ID_LEN) != 0 ||
	    rs->entry.version != mc_from_be32(key + MC_RECORD_ID_LEN))
		return mc_err_set(err, EX_DATAERR, _("a record's state does not match its transaction"));
	return 0;
}

int mc_record_version(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		      struct mc_record_state *rs, struct mc_err *err)
{
	uint8_t key[MC_RECORD_ID_LEN + 4];
	const void *v;
	size_t vn;
	int rc;

	record_key(key, id, version);
	rc = mc_txn_get(t, MC_DB_RECORDS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc;
	return state_load(t, key, v, vn, rs, err);
}

int mc_record_latest(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
		     struct mc_record_state *rs, struct mc_err *err)
{
	uint8_t key[MC_RECORD_ID_LEN + 4];
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	record_key(key, id, UINT32_MAX);
	if (mc_cursor_open(t, MC_DB_RECORDS, &c, err) != 0)
		return -1;
	rc = mc_cursor_seek(c, key, sizeof(key), &k, &kn, &v, &vn, err);
	if (rc == 0)
		rc = mc_cursor_prev(c, &k, &kn, &v, &vn, err);
	else if (rc == MC_NOTFOUND)
		rc = mc_cursor_last(c, &k, &kn, &v, &vn, err);
	if (rc == 0 && (kn != sizeof(key) || memcmp(k, id, MC_RECORD_ID_LEN) != 0))
		rc = MC_NOTFOUND;
	if (rc == 0) {
		uint8_t found[MC_RECORD_ID_LEN + 4];

		memcpy(found, k, sizeof(found));
		rc = state_load(t, found, v, vn, rs, err);
	}
	mc_cursor_close(c);
	return rc;
}

/* fresh: the row must not exist yet (MC_EXISTS if it does). */
static int put_record_state(struct mc_txn *t, const uint8_t id[MC_RECORD_ID_LEN],
			    uint32_t version, const struct mc_record_state *rs, bool fresh,
			    struct mc_err *err)
{
	uint8_t key[MC_RECORD_ID_LEN + 4], row[REC_ROW_LEN];

	mc_be64(row, rs->height);
	mc_be32(row + 8, rs->tx_index);
	mc_be32(row + 12, rs->entry_index);
	mc_be32(row + 16, rs->offset);
	mc_be64(row + 20, rs->erased);
	memcpy(row + 28, rs->leaf, MC_HASH_LEN);
	record_key(key, id, version);
	if (fresh)
		return mc_txn_put_new(t, MC_DB_RECORDS, key, sizeof(key), row, sizeof(row), err);
	return mc_txn_put(t, MC_DB_RECORDS, key, sizeof(key), row, sizeof(row), err);
}

/* ---- the rules -------------------------------------------------------- */

int mc_refuse(struct mc_err *err, const struct mc_apply_ctx *ax, const char *why)
{
	return mc_err_set(err, EX_DATAERR, _("block %llu, tx %u: %s"),
			  (unsigned long long)ax->height, (unsigned)ax->tx_index, why);
}

int mc_refuse_body(struct mc_err *err, const struct mc_apply_ctx *ax)
{
	if (err)
		err->code = EX_DATAERR;
	return mc_err_wrap(err, _("block %llu, tx %u"), (unsigned long long)ax->height,
			   (unsigned)ax->tx_index);
}

int mc_refuse_perm(struct mc_err *err, const struct mc_apply_ctx *ax, const char *why)
{
	mc_refuse(err, ax, why);
	if (err)
		err->code = EX_NOPERM;
	return -1;
}

int mc_author_active(struct mc_txn *t, const struct mc_apply_ctx *ax, const uint8_t pk[MC_PK_LEN],
		     uint32_t need_any, struct mc_err *err)
{
	struct mc_identity id;
	int rc = mc_identity_get(t, pk, &id, err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse_perm(err, ax, _("the author is not an enrolled identity"));
	if (id.revoked != MC_NOT_REVOKED)
		return mc_refuse_perm(err, ax, _("the author's identity is revoked"));
	if (need_any && !(id.roles & need_any))
		return mc_refuse_perm(err, ax, _("the author's roles do not allow this transaction"));
	return 0;
}

static bool consent_rules_v2(const struct mc_apply_ctx *ax);
static bool insider_rules_v3(const struct mc_apply_ctx *ax);
static int custodian_staff(struct mc_txn *t, const struct mc_apply_ctx *ax,
			   const struct mc_record_state *rs, const uint8_t author[MC_PK_LEN],
			   const char *why, struct mc_err *err);

/* 1 when an active patient identity already names this subject, 0 when
 * none does, -1 on error. A scan of the identities: enrolments are rare. */
static int is_subjects_patient(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	(void)err;
	return (id->roles & MC_ROLE_PATIENT) && id->has_subject && id->revoked == MC_NOT_REVOKED &&
	       memcmp(id->subject, ctx, MC_HASH_LEN) == 0;
}

static int patient_exists(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN], struct mc_err *err)
{
	return mc_identities_each(t, is_subjects_patient, (void *)subject, err);
}

/* 1 and holder's key when an active identity bears this display name, 0
 * when none does, -1 on error. A scan, as patient_exists. */
struct name_look {
	const uint8_t *name;
	size_t len;
	uint8_t *holder;
};

static int bears_name(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	struct name_look *l = ctx;

	(void)err;
	if (id->revoked != MC_NOT_REVOKED || strlen(id->name) != l->len || memcmp(id->name, l->name, l->len) != 0)
		return 0;
	memcpy(l->holder, id->pk, MC_PK_LEN);
	return 1;
}

static int name_taken(struct mc_txn *t, const uint8_t *name, size_t len, uint8_t holder[MC_PK_LEN],
		      struct mc_err *err)
{
	struct name_look l = { name, len, holder };

	return mc_identities_each(t, bears_name, &l, err);
}

static int apply_enroll(struct mc_txn *t, const struct mc_apply_ctx *ax,
			const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_enroll e;
	struct mc_identity id, old;
	int rc;

	if (mc_enroll_decode(tx->body, tx->body_len, &e, err) != 0)
		return mc_refuse_body(err, ax);
	if (ax->height == 0) {
		if (memcmp(tx->author, e.pk, MC_PK_LEN) != 0)
			return mc_refuse_perm(err, ax, _("genesis enrollments must be self-signed"));
	} else if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0) {
		return -1;
	}
	rc = mc_identity_get(t, e.pk, &old, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the identity is already enrolled"));
	memset(&id, 0, sizeof(id));
	memcpy(id.pk, e.pk, MC_PK_LEN);
	id.roles = e.roles;
	id.enrolled = ax->height;
	id.revoked = MC_NOT_REVOKED;
	memcpy(id.name, e.name, e.name_len);
	memcpy(id.org, e.org, e.org_len);
	id.has_subject = e.subject_len == MC_HASH_LEN;
	if (id.has_subject)
		memcpy(id.subject, e.subject, MC_HASH_LEN);
	/* From block version 2 on, one active patient identity per subject:
	 * a second one (made by staff to grant consent in the patient's
	 * name) is refused; a patient's new key follows a revocation. */
	if (id.has_subject && (id.roles & MC_ROLE_PATIENT) && consent_rules_v2(ax)) {
		rc = patient_exists(t, id.subject, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return mc_refuse(err, ax, _("the patient already has an active identity: revoke it before enrolling another"));
	}
	/* From block version 3 on, no two active identities share a display
	 * name: lists, audits and alerts show names, and "Dr A" must be one
	 * person. A revoked identity's name is free again. */
	if (ax->height > 0 && insider_rules_v3(ax)) {
		uint8_t holder[MC_PK_LEN];
		char hex[2 * MC_PK_LEN + 1], why[256];

		/* names that print alike are one name: no spaces at an end or
		 * doubled, no other whitespace, nothing invisible */
		if (!mc_name_plain(e.name, e.name_len))
			return mc_refuse(err, ax, _("a name has no space at either end, no two spaces in a row, and no other space or invisible character: it would print like another name"));
		rc = name_taken(t, e.name, e.name_len, holder, err);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			mc_hex(holder, MC_PK_LEN, hex);
			/* by key prefix, not by the name: serve logs refusals, and
			 * a patient identity's name is a patient identifier */
			snprintf(why, sizeof(why),
				 _("an active identity already has this display name (key %.8s): enrol this one under a name of its own"),
				 hex);
			return mc_refuse(err, ax, why);
		}
	}
	return mc_identity_put(t, &id, err);
}

static int apply_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax,
			const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_revoke r;
	struct mc_identity id;
	int rc;

	if (mc_revoke_decode(tx->body, tx->body_len, &r, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0)
		return -1;
	if (memcmp(r.pk, tx->author, MC_PK_LEN) == 0)
		return mc_refuse(err, ax, _("an identity cannot revoke itself"));
	rc = mc_identity_get(t, r.pk, &id, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse(err, ax, _("no such identity"));
	if (id.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the identity is already revoked"));
	id.revoked = ax->height;
	return mc_identity_put(t, &id, err);
}

static int audit_index(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		       const uint8_t *subject, uint8_t outcome, struct mc_err *err);

int mc_rotation_decode(const uint8_t new_pk[MC_PK_LEN], const void *p, size_t n, struct mc_rotation *r,
		       struct mc_err *err)
{
	const uint8_t *b = p;

	if (n != MC_ROTATION_ROW_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed key rotation row"));
	memcpy(r->new_pk, new_pk, MC_PK_LEN);
	memcpy(r->old_pk, b, MC_PK_LEN);
	r->kind = b[MC_PK_LEN];
	r->height = mc_from_be64(b + MC_PK_LEN + 1);
	r->tx_index = mc_from_be32(b + MC_PK_LEN + 9);
	memcpy(r->author, b + MC_PK_LEN + 13, MC_PK_LEN);
	return 0;
}

int mc_rotation_get(struct mc_txn *t, const uint8_t new_pk[MC_PK_LEN], struct mc_rotation *r,
		    struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_ROTATIONS, new_pk, MC_PK_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	return mc_rotation_decode(new_pk, v, vn, r, err);
}

int mc_key_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], struct mc_key_line *l, struct mc_err *err)
{
	memcpy(l->pk[0], pk, MC_PK_LEN);
	l->n = 1;
	while (l->n <= MC_ROTATIONS_MAX) {
		struct mc_rotation rot;
		int rc = mc_rotation_get(t, l->pk[l->n - 1], &rot, err);

		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			break;
		memcpy(l->pk[l->n++], rot.old_pk, MC_PK_LEN);
	}
	return 0;
}

bool mc_key_line_has(const struct mc_key_line *l, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->pk[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

/* Whether actor is pk, or pk's identity rotated (once or more) to actor. */
static int same_holder_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], const uint8_t actor[MC_PK_LEN],
			    bool *same, struct mc_err *err)
{
	struct mc_key_line l;

	*same = false;
	if (mc_key_line(t, actor, &l, err) != 0)
		return -1;
	*same = mc_key_line_has(&l, pk);
	return 0;
}

/* The grant row's body with its grantee replaced: the row holds the grant
 * as it stands (the CONSENT_GRANT tx keeps the grant as given). The grantee
 * sits at a fixed offset of the body: grant id (16) | subject (32) | grantee. */
#define GRANT_GRANTEE_OFF (MC_GRANT_ID_LEN + MC_HASH_LEN)
static int put_grant_state(struct mc_txn *t, const uint8_t id[16], const struct mc_grant_state *gs,
			   struct mc_err *err);

/* Every grant to old that is not revoked and has not ended by the block's
 * time names new from now on: its row and its index entry move. */
static int move_grants(struct mc_txn *t, const struct mc_apply_ctx *ax, const uint8_t old[MC_PK_LEN],
		       const uint8_t new_pk[MC_PK_LEN], struct mc_err *err)
{
	enum { IKEY = MC_HASH_LEN + MC_PK_LEN + MC_GRANT_ID_LEN };
	struct mc_cursor *c;
	const void *k;
	size_t kn, n = 0, cap = 0;
	uint8_t *keys = NULL;
	int rc;

	/* collect first: the index is rewritten below */
	if (mc_cursor_open(t, MC_DB_GRANTIDX, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, NULL, NULL, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		if (kn != IKEY || memcmp((const uint8_t *)k + MC_HASH_LEN, old, MC_PK_LEN) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint8_t *p = realloc(keys, ncap * IKEY);

			if (!p) {
				rc = mc_err_set(err, EX_OSERR, _("out of memory"));
				break;
			}
			keys = p;
			cap = ncap;
		}
		memcpy(keys + n * IKEY, k, IKEY);
		n++;
	}
	mc_cursor_close(c);
	if (rc < 0) {
		free(keys);
		return -1;
	}
	for (size_t i = 0; i < n && rc >= 0; i++) {
		uint8_t *ik = keys + i * IKEY;
		struct mc_grant_state gs;
		struct mc_grant g;
		struct mc_buf copy;

		if (mc_grant_state_get(t, ik + MC_HASH_LEN + MC_PK_LEN, &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &g, err) != 0) {
			rc = mc_err_set(err, EX_DATAERR, _("the grant index names a missing grant"));
			break;
		}
		if (gs.revoked_at != MC_TIME_OPEN || g.not_after < ax->block_time_ms)
			continue;
		mc_buf_init(&copy);
		mc_put_raw(&copy, gs.body, gs.body_len);
		if (mc_buf_failed(&copy)) {
			mc_buf_release(&copy);
			rc = mc_err_set(err, EX_OSERR, _("out of memory"));
			break;
		}
		memcpy(copy.data + GRANT_GRANTEE_OFF, new_pk, MC_PK_LEN);
		gs.body = copy.data;
		rc = put_grant_state(t, ik + MC_HASH_LEN + MC_PK_LEN, &gs, err);
		mc_buf_release(&copy);
		if (rc != 0 || mc_txn_del(t, MC_DB_GRANTIDX, ik, IKEY, err) != 0) {
			rc = -1;
			break;
		}
		memcpy(ik + MC_HASH_LEN, new_pk, MC_PK_LEN);
		if (mc_txn_put(t, MC_DB_GRANTIDX, ik, IKEY, "", 0, err) != 0)
			rc = -1;
	}
	free(keys);
	return rc < 0 ? -1 : 0;
}

/* IDENTITY_ROTATE: an admin moves a person's identity to a new key its
 * holder made and signed for. The new key takes the name, roles,
 * organization and (a patient's) subject; the old key is revoked in the
 * same tx, so one active patient identity per subject holds throughout;
 * active grants to the old key name the new one; grants the old key gave
 * stay as they are. A new tx type: older chains hold none, so the rule
 * applies to every chain as it is. */
static int apply_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			struct mc_err *err)
{
	struct mc_rotate r;
	struct mc_identity old, nw;
	uint8_t st[MC_HASH_LEN], row[MC_ROTATION_ROW_LEN];
	int rc;

	if (mc_rotate_decode(tx->body, tx->body_len, &r, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0)
		return -1;
	rc = mc_identity_get(t, r.old_pk, &old, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse(err, ax, _("no such identity"));
	if (old.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the identity is already revoked"));
	if (old.roles & ~(uint32_t)MC_ROLES_PEOPLE)
		return mc_refuse(err, ax, _("only a person's key is rotated this way (node, anchor and organization keys have their own rotation)"));
	/* The line stays within what a walk back from its newest key covers
	 * (same_holder_line, the alerts' enrolled_by): a key further back
	 * would lose its records' authorship and its enroller. */
	{
		struct mc_key_line line;

		if (mc_key_line(t, r.old_pk, &line, err) != 0)
			return -1;
		if (line.n > MC_ROTATIONS_MAX) {   /* n - 1 rotations already */
			char why[256];

			snprintf(why, sizeof(why),
				 _("the identity was rotated %u times, the most a key line holds: enrol a new identity for its holder"),
				 (unsigned)MC_ROTATIONS_MAX);
			return mc_refuse(err, ax, why);
		}
	}
	rc = mc_identity_get(t, r.new_pk, &nw, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the new key is already an enrolled identity's: a rotation moves to a key never enrolled"));
	if (r.kind == MC_ROTATE_LOST_KEY && memcmp(tx->author, r.old_pk, MC_PK_LEN) == 0)
		return mc_refuse(err, ax, _("an admin who signs with the key does not have it lost: rotate it with its signature"));
	mc_rotate_statement(ax->chain_id, r.old_pk, r.new_pk, r.kind, st);
	if (mc_sign_verify(r.new_pk, st, sizeof(st), r.new_sig) != 0)
		return mc_refuse_perm(err, ax, _("the new key's holder did not sign this rotation"));
	if (r.kind == MC_ROTATE_HOLDER && mc_sign_verify(r.old_pk, st, sizeof(st), r.old_sig) != 0)
		return mc_refuse_perm(err, ax, _("the old key did not sign this rotation"));
	nw = old;
	memcpy(nw.pk, r.new_pk, MC_PK_LEN);
	nw.enrolled = ax->height;
	nw.revoked = MC_NOT_REVOKED;
	old.revoked = ax->height;
	if (mc_identity_put(t, &old, err) != 0)
		return -1;
	if (nw.has_subject && (nw.roles & MC_ROLE_PATIENT)) {
		/* the subject passes on, never doubles */
		rc = patient_exists(t, nw.subject, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return mc_refuse(err, ax, _("the patient already has another active identity"));
	}
	if (mc_identity_put(t, &nw, err) != 0 || move_grants(t, ax, r.old_pk, r.new_pk, err) != 0)
		return -1;
	memcpy(row, r.old_pk, MC_PK_LEN);
	row[MC_PK_LEN] = r.kind;
	mc_be64(row + MC_PK_LEN + 1, ax->height);
	mc_be32(row + MC_PK_LEN + 9, ax->tx_index);
	memcpy(row + MC_PK_LEN + 13, tx->author, MC_PK_LEN);
	rc = mc_txn_put_new(t, MC_DB_ROTATIONS, r.new_pk, MC_PK_LEN, row, sizeof(row), err);
	if (rc < 0)
		return -1;
	if (rc == MC_EXISTS)
		return mc_refuse(err, ax, _("the new key was rotated to before"));
	return audit_index(t, ax, tx, nw.has_subject ? nw.subject : NULL, 0, err);
}

static int apply_entry(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_put *put,
		       const uint8_t author[MC_PK_LEN], const struct mc_entry *e, uint32_t index,
		       uint32_t offset, const uint8_t leaf[MC_HASH_LEN], struct mc_err *err)
{
	static const uint8_t zeros[MC_HASH_LEN];
	struct mc_record_state prev, rs;
	int rc;

	if (e->version == 1) {
		/* Versions are contiguous from 1: the id is in use exactly when
		 * its version 1 exists, which the insert below checks. */
		if (memcmp(e->prev, zeros, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("a first version must not name a previous one"));
	} else {
		rc = mc_record_latest(t, e->id, &prev, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND || prev.entry.version != e->version - 1)
			return mc_refuse(err, ax, _("an amendment must follow the newest version"));
		if (prev.erased)
			return mc_refuse(err, ax, _("the record is erased"));
		if (memcmp(prev.entry.subject, e->subject, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("an amendment must keep the record's subject"));
		if (memcmp(prev.leaf, e->prev, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("an amendment names the wrong previous version"));
		if (insider_rules_v3(ax) &&
		    custodian_staff(t, ax, &prev, author, _("only the custodian organization's staff may amend a record"), err) != 0)
			return -1;
	}
	if (!ax->replay) {
		uint8_t key[MC_LOC_LEN + MC_PK_LEN];
		const void *v;
		size_t vn;

		uint8_t h[MC_HASH_LEN];

		mc_loc_key(key, ax->height, ax->tx_index, index);
		rc = mc_txn_get(t, MC_DB_PAYLOADS, key, MC_LOC_LEN, &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && ax->untrusted)
			mc_sha256(v, vn, h);
		if (rc == MC_NOTFOUND ? !ax->partial
				      : vn != e->ct_size || (ax->untrusted && memcmp(h, e->ct_hash, MC_HASH_LEN) != 0))
			return mc_refuse(err, ax, _("a record's ciphertext is missing or does not match its hash"));
		memcpy(key + MC_LOC_LEN, put->org, MC_PK_LEN);
		rc = mc_txn_get(t, MC_DB_KEYWRAP, key, sizeof(key), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && ax->untrusted)
			mc_sha256(v, vn, h);
		if (rc == MC_NOTFOUND ? !ax->partial : ax->untrusted && memcmp(h, e->wrap_hash, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("a record's wrapped key is missing or does not match its hash"));
	}
	memset(&rs, 0, sizeof(rs));
	rs.height = ax->height;
	rs.tx_index = ax->tx_index;
	rs.entry_index = index;
	rs.offset = offset;
	rs.erased = 0;
	memcpy(rs.leaf, leaf, MC_HASH_LEN);
	rc = put_record_state(t, e->id, e->version, &rs, e->version == 1, err);
	if (rc == MC_EXISTS)
		return mc_refuse(err, ax, _("the record id is already in use"));
	if (rc != 0)
		return -1;
	if (e->keyed) {
		/* One record per duplicate key within its custodian: a resource
		 * imported again is a new version of its record, never a second
		 * record. The index is custodian || dupkey -> record id || ckey
		 * of its newest keyed version, so another organization's records
		 * never block or answer this one's. */
		uint8_t ik[MC_PK_LEN + MC_HASH_LEN], iv[MC_RECORD_ID_LEN + MC_HASH_LEN];
		const void *v;
		size_t vn;

		memcpy(ik, put->org, MC_PK_LEN);
		memcpy(ik + MC_PK_LEN, e->dupkey, MC_HASH_LEN);
		rc = mc_txn_get(t, MC_DB_DUPKEYS, ik, sizeof(ik), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == 0 && (vn != sizeof(iv) || memcmp(v, e->id, MC_RECORD_ID_LEN) != 0))
			return mc_refuse(err, ax, _("a record with the same duplicate key exists"));
		memcpy(iv, e->id, MC_RECORD_ID_LEN);
		memcpy(iv + MC_RECORD_ID_LEN, e->ckey, MC_HASH_LEN);
		if (mc_txn_put(t, MC_DB_DUPKEYS, ik, sizeof(ik), iv, sizeof(iv), err) != 0)
			return -1;
	}
	if (e->version == 1) {
		uint8_t skey[MC_HASH_LEN + MC_RECORD_ID_LEN];

		memcpy(skey, e->subject, MC_HASH_LEN);
		memcpy(skey + MC_HASH_LEN, e->id, MC_RECORD_ID_LEN);
		if (mc_txn_put(t, MC_DB_SUBJECTS, skey, sizeof(skey), "", 0, err) != 0)
			return -1;
	}
	return 0;
}

/* ---- consent and access ------------------------------------------------- */

#define GRANT_ROW_FIXED (8 + 8 + 8 + 8 + MC_PK_LEN)

int mc_grant_state_get(struct mc_txn *t, const uint8_t id[16], struct mc_grant_state *gs,
		       struct mc_err *err)
{
	const void *v;
	size_t vn;
	const uint8_t *b;
	int rc = mc_txn_get(t, MC_DB_GRANTS, id, MC_GRANT_ID_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn <= GRANT_ROW_FIXED)
		return mc_err_set(err, EX_DATAERR, _("malformed grant state"));
	b = v;
	gs->height = mc_from_be64(b);
	gs->granted_at = mc_from_be64(b + 8);
	gs->revoked_height = mc_from_be64(b + 16);
	gs->revoked_at = mc_from_be64(b + 24);
	memcpy(gs->grantor, b + 32, MC_PK_LEN);
	gs->body = b + GRANT_ROW_FIXED;
	gs->body_len = vn - GRANT_ROW_FIXED;
	return 0;
}

static int put_grant_state(struct mc_txn *t, const uint8_t id[16], const struct mc_grant_state *gs,
			   struct mc_err *err)
{
	uint8_t *row;
	int rc;

	if (mc_txn_reserve(t, MC_DB_GRANTS, id, MC_GRANT_ID_LEN, GRANT_ROW_FIXED + gs->body_len,
			   (void **)&row, err) != 0)
		return -1;
	mc_be64(row, gs->height);
	mc_be64(row + 8, gs->granted_at);
	mc_be64(row + 16, gs->revoked_height);
	mc_be64(row + 24, gs->revoked_at);
	memcpy(row + 32, gs->grantor, MC_PK_LEN);
	memmove(row + GRANT_ROW_FIXED, gs->body, gs->body_len);
	rc = 0;
	return rc;
}

static int audit_index(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		       const uint8_t *subject, uint8_t outcome, struct mc_err *err)
{
	uint8_t key[MC_PK_LEN + 12], val[2] = { tx->type, outcome };

	mc_be64(key + MC_PK_LEN, ax->height);
	mc_be32(key + MC_PK_LEN + 8, ax->tx_index);
	if (subject) {
		memcpy(key, subject, MC_HASH_LEN);
		if (mc_txn_put(t, MC_DB_AUDIT_SUBJECT, key, sizeof(key), val, 2, err) != 0)
			return -1;
	}
	memcpy(key, tx->author, MC_PK_LEN);
	if (mc_txn_put(t, MC_DB_AUDIT_ACTOR, key, sizeof(key), val, 2, err) != 0)
		return -1;
	if (outcome) {
		uint8_t okey[13];

		okey[0] = outcome;
		memcpy(okey + 1, key + MC_PK_LEN, 12);
		if (mc_txn_put(t, MC_DB_AUDIT_OUTCOME, okey, sizeof(okey), "", 0, err) != 0)
			return -1;
	}
	return 0;
}

int mc_consent_load(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN],
		    const uint8_t grantee[MC_PK_LEN], struct mc_grant_view *views, size_t max,
		    size_t *n, struct mc_err *err)
{
	uint8_t prefix[MC_HASH_LEN + MC_PK_LEN];
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc;

	*n = 0;
	memcpy(prefix, subject, MC_HASH_LEN);
	memcpy(prefix + MC_HASH_LEN, grantee, MC_PK_LEN);
	if (mc_cursor_open(t, MC_DB_GRANTIDX, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, prefix, sizeof(prefix), &k, &kn, NULL, NULL, err);
	     rc == 0 && kn == sizeof(prefix) + MC_GRANT_ID_LEN && memcmp(k, prefix, sizeof(prefix)) == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		struct mc_grant_state gs;

		if (*n >= max) {
			mc_cursor_close(c);
			return mc_err_set(err, EX_DATAERR, _("too many grants for one subject and grantee"));
		}
		if (mc_grant_state_get(t, (const uint8_t *)k + sizeof(prefix), &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &views[*n].g, err) != 0) {
			mc_cursor_close(c);
			return mc_err_set(err, EX_DATAERR, _("the grant index names a missing grant"));
		}
		views[*n].revoked_at = gs.revoked_at;
		views[*n].granted_at = gs.granted_at;
		(*n)++;
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* A grant to another organization's identity carries that organization's
 * re-wrapped data keys: every one must be a live version of the grant's
 * subject within its scope, stored as committed. */
static int check_share(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		       const struct mc_grant *g, const struct mc_identity *grantee, struct mc_err *err)
{
	struct mc_share sh;
	struct mc_identity org;
	uint8_t h[MC_HASH_LEN];
	int rc;

	if (!tx->attach_len)
		return mc_refuse(err, ax, _("a grant that shares keys must carry them"));
	mc_sha256(tx->attach, tx->attach_len, h);
	if (memcmp(h, g->share, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the shared keys do not match the grant"));
	if (mc_share_decode(tx->attach, tx->attach_len, &sh, err) != 0)
		return mc_refuse_body(err, ax);
	rc = mc_identity_get(t, sh.org, &org, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || !(org.roles & MC_ROLE_ORG) || org.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("keys may be shared only with an active organization"));
	if (strcmp(grantee->org, org.name) != 0)
		return mc_refuse(err, ax, _("the grantee does not belong to the organization the keys are shared with"));
	if (!ax->replay) {
		uint8_t kkey[MC_PK_LEN + 4];
		const void *v;
		size_t vn;

		memcpy(kkey, sh.org, MC_PK_LEN);
		mc_be32(kkey + MC_PK_LEN, sh.epoch);
		rc = mc_txn_get(t, MC_DB_KEKS, kkey, sizeof(kkey), &v, &vn, err);
		if (rc < 0)
			return -1;
		mc_sha256(v, rc == 0 ? vn : 0, h);
		if (rc == MC_NOTFOUND || memcmp(h, sh.kek_hash, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("the shared key-encryption key is missing or differs"));
	}
	for (uint32_t i = 0; i < sh.count; i++) {
		const uint8_t *it = sh.items + (size_t)i * MC_SHARE_ITEM_LEN;
		struct mc_record_state rs;

		rc = mc_record_version(t, it, mc_from_be32(it + MC_RECORD_ID_LEN), &rs, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND || rs.erased ||
		    memcmp(rs.entry.subject, g->subject, MC_HASH_LEN) != 0 ||
		    !mc_grant_covers(g, rs.entry.id, rs.entry.category, rs.entry.category_len))
			return mc_refuse(err, ax, _("a shared key is not of a live record in the grant's scope"));
		if (!ax->replay) {
			uint8_t wkey[MC_LOC_LEN + MC_PK_LEN];
			const void *v;
			size_t vn;

			mc_loc_key(wkey, rs.height, rs.tx_index, rs.entry_index);
			memcpy(wkey + MC_LOC_LEN, sh.org, MC_PK_LEN);
			rc = mc_txn_get(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
			if (rc < 0)
				return -1;
			if (rc == MC_NOTFOUND && ax->partial)
				continue;
			mc_sha256(v, rc == 0 ? vn : 0, h);
			if (rc == MC_NOTFOUND || memcmp(h, it + MC_RECORD_ID_LEN + 4, MC_HASH_LEN) != 0)
				return mc_refuse(err, ax, _("a shared key is missing or differs from the grant"));
		}
	}
	return 0;
}

/* Blocks from version 2 on follow the consent authorship and custodian
 * rules; a version 1 block (an older chain's) is replayed as it was. */
static bool consent_rules_v2(const struct mc_apply_ctx *ax)
{
	return ax->block_version == 0 || ax->block_version >= 2;
}

/* Blocks from version 3 on follow the custody rules against insiders: a
 * RECORD_PUT's custodian is its author's organization (an author of no
 * organization stores nothing), and only that organization's staff amend
 * or erase its records. Older blocks replay as they were. */
static bool insider_rules_v3(const struct mc_apply_ctx *ax)
{
	return ax->block_version == 0 || ax->block_version >= 3;
}

/* The custodian organization of a stored record version: the organization
 * its RECORD_PUT names. */
static int record_custodian(struct mc_txn *t, const struct mc_record_state *rs,
			    uint8_t org[MC_PK_LEN], struct mc_err *err)
{
	uint8_t loc[12];
	const void *v;
	size_t vn;
	struct mc_tx tx;
	struct mc_put put;
	int rc;

	mc_be64(loc, rs->height);
	mc_be32(loc + 8, rs->tx_index);
	rc = mc_txn_get(t, MC_DB_TXS, loc, sizeof(loc), &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || mc_tx_decode(v, vn, &tx, err) != 0 || tx.type != MC_TX_RECORD_PUT ||
	    mc_put_decode(tx.body, tx.body_len, &put, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("a record's transaction is missing"));
	memcpy(org, put.org, MC_PK_LEN);
	return 0;
}

/* 0 when author belongs to the organization that holds the record version
 * rs in custody (its enrollment's org is that organization's name); else
 * a refusal (EX_NOPERM) saying why. */
static int custodian_staff(struct mc_txn *t, const struct mc_apply_ctx *ax,
			   const struct mc_record_state *rs, const uint8_t author[MC_PK_LEN],
			   const char *why, struct mc_err *err)
{
	uint8_t org_pk[MC_PK_LEN];
	struct mc_identity org, who;
	int rc;

	if (record_custodian(t, rs, org_pk, err) != 0)
		return -1;
	rc = mc_identity_get(t, org_pk, &org, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_DATAERR, _("a record's custodian is not an enrolled identity"));
	if (mc_identity_get(t, author, &who, err) != 0)
		return -1;
	if (!who.org[0] || strcmp(who.org, org.name) != 0)
		return mc_refuse_perm(err, ax, why);
	return 0;
}

static int apply_grant(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		       struct mc_err *err)
{
	struct mc_grant g;
	struct mc_grant_state gs, old;
	struct mc_identity grantee;
	uint8_t ikey[MC_HASH_LEN + MC_PK_LEN + MC_GRANT_ID_LEN];
	struct mc_grant_view views[1];
	size_t n = 0;
	int rc;

	if (mc_grant_decode(tx->body, tx->body_len, &g, err) != 0)
		return mc_refuse_body(err, ax);
	/* Staff grant on the strength of a signed consent form; a patient
	 * grants for their own subject, and their signature on this tx is the
	 * attestation. From block version 2 on, consent is given by the
	 * patient or recorded for them by staff whose role records consent
	 * forms (admin, registrar): nobody grants to themself, and a clinician
	 * grants to nobody. Older blocks keep the rule of their time. */
	if (consent_rules_v2(ax)) {
		if (memcmp(g.grantee, tx->author, MC_PK_LEN) == 0)
			return mc_refuse_perm(err, ax, _("an identity cannot grant consent to itself"));
		if (mc_author_active(t, ax, tx->author, 0, err) != 0)
			return -1;
	} else if (mc_author_active(t, ax, tx->author,
				    MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT, err) != 0) {
		return -1;
	}
	{
		struct mc_identity author;
		uint32_t staff = consent_rules_v2(ax) ? MC_ROLES_CONSENT_STAFF
						     : MC_ROLE_ADMIN | MC_ROLE_CLINICIAN;

		if (mc_identity_get(t, tx->author, &author, err) != 0)
			return -1;
		if (!(author.roles & (staff | MC_ROLE_PATIENT)))
			return mc_refuse_perm(err, ax, _("only the patient, or staff who record consent forms (admin, registrar), may grant consent"));
		if (author.roles & staff) {
			if (g.attest_kind != MC_ATTEST_CONSENT_FORM)
				return mc_refuse(err, ax, _("a staff grant must reference the signed consent form"));
		} else {
			if (g.attest_kind != MC_ATTEST_PATIENT_SIGNATURE)
				return mc_refuse(err, ax, _("a patient's grant is attested by the patient's signature"));
			if (!author.has_subject || memcmp(author.subject, g.subject, MC_HASH_LEN) != 0)
				return mc_refuse_perm(err, ax, _("a patient grants only for their own records"));
		}
	}
	rc = mc_identity_get(t, g.grantee, &grantee, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || grantee.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the grantee is not an active identity"));
	rc = mc_grant_state_get(t, g.id, &old, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the grant id is already in use"));
	(void)views;
	{
		struct mc_grant_view *all = malloc(MC_GRANTS_PER_PAIR_MAX * sizeof(*all));

		if (!all)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		rc = mc_consent_load(t, g.subject, g.grantee, all, MC_GRANTS_PER_PAIR_MAX, &n, err);
		free(all);
		if (rc != 0)
			return -1;
		if (n >= MC_GRANTS_PER_PAIR_MAX)
			return mc_refuse(err, ax, _("too many grants for one subject and grantee"));
	}
	if (g.share_len == MC_HASH_LEN) {
		if (check_share(t, ax, tx, &g, &grantee, err) != 0)
			return -1;
	} else if (tx->attach_len) {
		return mc_refuse(err, ax, _("unexpected attachment"));
	}
	memset(&gs, 0, sizeof(gs));
	gs.height = ax->height;
	gs.granted_at = ax->block_time_ms;
	gs.revoked_height = MC_TIME_OPEN;
	gs.revoked_at = MC_TIME_OPEN;
	memcpy(gs.grantor, tx->author, MC_PK_LEN);
	gs.body = tx->body;
	gs.body_len = tx->body_len;
	if (put_grant_state(t, g.id, &gs, err) != 0)
		return -1;
	memcpy(ikey, g.subject, MC_HASH_LEN);
	memcpy(ikey + MC_HASH_LEN, g.grantee, MC_PK_LEN);
	memcpy(ikey + MC_HASH_LEN + MC_PK_LEN, g.id, MC_GRANT_ID_LEN);
	if (mc_txn_put(t, MC_DB_GRANTIDX, ikey, sizeof(ikey), "", 0, err) != 0)
		return -1;
	return audit_index(t, ax, tx, g.subject, 0, err);
}

static int apply_consent_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax,
				const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_consent_revoke r;
	struct mc_grant_state gs;
	struct mc_grant g;
	uint8_t subject[MC_HASH_LEN];
	struct mc_buf copy;
	int rc;

	if (mc_consent_revoke_decode(tx->body, tx->body_len, &r, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author,
			     consent_rules_v2(ax) ? 0 : MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT,
			     err) != 0)
		return -1;
	rc = mc_grant_state_get(t, r.id, &gs, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse(err, ax, _("no such grant"));
	if (gs.revoked_at != MC_TIME_OPEN)
		return mc_refuse(err, ax, _("the grant is already revoked"));
	if (mc_grant_decode(gs.body, gs.body_len, &g, err) != 0)
		return -1;
	memcpy(subject, g.subject, MC_HASH_LEN);
	{
		struct mc_identity author;

		bool own_subject;

		if (mc_identity_get(t, tx->author, &author, err) != 0)
			return -1;
		own_subject = (author.roles & MC_ROLE_PATIENT) && author.has_subject &&
			      memcmp(author.subject, subject, MC_HASH_LEN) == 0;
		if (consent_rules_v2(ax)) {
			/* The patient, staff who record consent forms, or the
			 * grantee giving up their own grant. */
			if (!(author.roles & MC_ROLES_CONSENT_STAFF) && !own_subject &&
			    memcmp(g.grantee, tx->author, MC_PK_LEN) != 0)
				return mc_refuse_perm(err, ax, _("only the patient, staff who record consent forms (admin, registrar) or the grantee may revoke a grant"));
		} else if (!(author.roles & (MC_ROLE_ADMIN | MC_ROLE_CLINICIAN)) && !own_subject) {
			return mc_refuse_perm(err, ax, _("a patient revokes only grants for their own records"));
		}
	}
	/* gs.body points into the row about to be rewritten: copy it. */
	mc_buf_init(&copy);
	mc_put_raw(&copy, gs.body, gs.body_len);
	if (mc_buf_failed(&copy)) {
		mc_buf_release(&copy);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	gs.body = copy.data;
	gs.revoked_height = ax->height;
	gs.revoked_at = ax->block_time_ms;
	rc = put_grant_state(t, r.id, &gs, err);
	mc_buf_release(&copy);
	if (rc != 0)
		return -1;
	return audit_index(t, ax, tx, subject, 0, err);
}

/* Recomputes the decision the ACCESS tx records, at this block's time. */
int mc_access_decide(struct mc_txn *t, const uint8_t actor[MC_PK_LEN],
		     const uint8_t record[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
		     bool break_glass, uint64_t time_ms, uint8_t subject_out[MC_HASH_LEN],
		     struct mc_decision *d, struct mc_err *err)
{
	struct mc_record_state rs;
	struct mc_identity id;
	struct mc_access_req req;
	struct mc_grant_view *views;
	size_t n = 0;
	int rc;

	rc = mc_record_version(t, record, version, &rs, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_NOINPUT, _("no such record version"));
	if (rs.erased)
		return mc_err_set(err, EX_NOINPUT, _("the record is erased"));
	memset(&req, 0, sizeof(req));
	rc = mc_identity_get(t, actor, &id, err);
	if (rc < 0)
		return -1;
	req.actor_active = rc == 0 && id.revoked == MC_NOT_REVOKED;
	req.actor_roles = rc == 0 ? id.roles : 0;
	memcpy(req.record, record, MC_RECORD_ID_LEN);
	memcpy(subject_out, rs.entry.subject, MC_HASH_LEN);
	{
		/* Who stored this version: the author of its RECORD_PUT. */
		uint8_t loc[12];
		const void *v;
		size_t vn;
		struct mc_tx put;

		mc_be64(loc, rs.height);
		mc_be32(loc + 8, rs.tx_index);
		rc = mc_txn_get(t, MC_DB_TXS, loc, sizeof(loc), &v, &vn, err);
		if (rc != 0 || mc_tx_decode(v, vn, &put, err) != 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("a record's transaction is missing"));
		/* the author, or the author's identity under a rotated key */
		if (same_holder_line(t, put.author, actor, &req.actor_is_author, err) != 0)
			return -1;
	}
	/* the category is copied: loading grants reads other rows */
	{
		uint8_t cat[MC_CATEGORY_MAX];
		size_t cl = rs.entry.category_len;

		memcpy(cat, rs.entry.category, cl);
		req.category = cat;
		req.category_len = cl;
		req.purpose = purpose;
		req.time_ms = time_ms;
		req.break_glass = break_glass;
		views = malloc(MC_GRANTS_PER_PAIR_MAX * sizeof(*views));
		if (!views)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		rc = mc_consent_load(t, subject_out, actor, views, MC_GRANTS_PER_PAIR_MAX, &n, err);
		if (rc == 0)
			mc_consent_check(views, n, &req, d);
		free(views);
	}
	return rc;
}

static int apply_access(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			struct mc_err *err)
{
	struct mc_access a;
	struct mc_decision d;
	struct mc_identity id;
	uint8_t subject[MC_HASH_LEN];
	int rc;

	if (mc_access_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	/* Any enrolled identity's attempt is recorded, a revoked one's too. */
	rc = mc_identity_get(t, tx->author, &id, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse_perm(err, ax, _("the author is not an enrolled identity"));
	if (mc_access_decide(t, tx->author, a.record, a.version, a.purpose, a.glass_len > 0,
			     ax->block_time_ms, subject, &d, err) != 0)
		return mc_refuse_body(err, ax);
	if (memcmp(subject, a.subject, MC_HASH_LEN) != 0 || d.outcome != a.outcome ||
	    d.reason != a.reason || memcmp(d.grant, a.grant, MC_GRANT_ID_LEN) != 0)
		return mc_refuse(err, ax, _("the access event does not match the consent rules at its block time"));
	return audit_index(t, ax, tx, subject, a.outcome, err);
}

static int apply_put(struct mc_txn *t, const struct mc_apply_ctx *ax,
		     const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_put put;
	struct mc_identity org;
	struct mc_rd r;
	uint8_t (*leaves)[MC_HASH_LEN] = NULL;
	uint8_t root[MC_HASH_LEN];
	int rc;

	if (mc_put_decode(tx->body, tx->body_len, &put, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN | MC_ROLE_CLINICIAN, err) != 0)
		return -1;
	rc = mc_identity_get(t, put.org, &org, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || !(org.roles & MC_ROLE_ORG) || org.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the custodian is not an active organization"));
	if (consent_rules_v2(ax)) {
		/* From block version 2 on, staff store records in the custody of
		 * their own organization only. An identity enrolled without an
		 * organization is not bound (docs/decisions.md). */
		struct mc_identity author;

		if (mc_identity_get(t, tx->author, &author, err) != 0)
			return -1;
		if (!author.org[0] && insider_rules_v3(ax))
			return mc_refuse_perm(err, ax, _("the author belongs to no organization: only an organization's staff store records"));
		if (author.org[0] && strcmp(author.org, org.name) != 0)
			return mc_refuse_perm(err, ax, _("the custodian is not the author's own organization"));
	}
	if (!ax->replay) {
		uint8_t key[MC_PK_LEN + 4], h[MC_HASH_LEN];
		const void *v;
		size_t vn;

		memcpy(key, put.org, MC_PK_LEN);
		mc_be32(key + MC_PK_LEN, put.epoch);
		rc = mc_txn_get(t, MC_DB_KEKS, key, sizeof(key), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			return mc_refuse(err, ax, _("the organization's key-encryption key is missing"));
		mc_sha256(v, vn, h);
		if (memcmp(h, put.kek_hash, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("the key-encryption key does not match its hash"));
	}
	leaves = malloc((size_t)put.count * MC_HASH_LEN);
	if (!leaves)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_rd_init(&r, tx->attach, tx->attach_len);
	for (uint32_t i = 0; i < put.count; i++) {
		struct mc_entry e;
		uint32_t offset = (uint32_t)(tx->attach_len - r.left);

		if (mc_entry_read(&r, &e, err) != 0) {
			free(leaves);
			return mc_refuse_body(err, ax);
		}
		mc_entry_leaf(&e, leaves[i]);
		if (apply_entry(t, ax, &put, tx->author, &e, i, offset, leaves[i], err) != 0) {
			free(leaves);
			return -1;
		}
	}
	if (!mc_rd_finish(&r)) {
		free(leaves);
		return mc_refuse(err, ax, _("the attachment does not hold exactly the announced entries"));
	}
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, put.count, root);
	free(leaves);
	if (memcmp(root, put.entries_root, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the entries do not match the signed entries root"));
	return 0;
}

static int apply_erase(struct mc_txn *t, const struct mc_apply_ctx *ax,
		       const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_erase e;
	struct mc_record_state latest;
	uint32_t newest;
	int rc;

	if (mc_erase_decode(tx->body, tx->body_len, &e, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0)
		return -1;
	rc = mc_record_latest(t, e.id, &latest, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse(err, ax, _("no such record"));
	if (latest.erased)
		return mc_refuse(err, ax, _("the record is already erased"));
	if (insider_rules_v3(ax) &&
	    custodian_staff(t, ax, &latest, tx->author, _("only the custodian organization's staff may erase a record"), err) != 0)
		return -1;
	newest = latest.entry.version;
	for (uint32_t v = 1; v <= newest; v++) {
		struct mc_record_state rs;
		uint8_t wkey[MC_LOC_LEN];
		struct mc_cursor *c;
		const void *k;
		size_t kn;

		rc = mc_record_version(t, e.id, v, &rs, err);
		if (rc != 0)
			return rc < 0 ? -1 : mc_refuse(err, ax, _("a record version is missing"));
		mc_loc_key(wkey, rs.height, rs.tx_index, rs.entry_index);
		rs.erased = ax->height;
		if (put_record_state(t, e.id, v, &rs, false, err) != 0)
			return -1;
		/* Crypto-shredding: the ciphertext and every wrapped data key go. */
		rc = mc_txn_del(t, MC_DB_PAYLOADS, wkey, sizeof(wkey), err);
		if (rc < 0)
			return -1;
		if (mc_cursor_open(t, MC_DB_KEYWRAP, &c, err) != 0)
			return -1;
		for (rc = mc_cursor_seek(c, wkey, sizeof(wkey), &k, &kn, NULL, NULL, err);
		     rc == 0 && kn > sizeof(wkey) && memcmp(k, wkey, sizeof(wkey)) == 0;
		     rc = mc_cursor_seek(c, wkey, sizeof(wkey), &k, &kn, NULL, NULL, err)) {
			if (mc_cursor_del(c, err) != 0) {
				mc_cursor_close(c);
				return -1;
			}
		}
		mc_cursor_close(c);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static const char CHAINSTATE_CONTENT[] = "content";

int mc_chain_content_height(struct mc_txn *t, uint64_t *height, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CHAINSTATE, CHAINSTATE_CONTENT, sizeof(CHAINSTATE_CONTENT) - 1,
			    &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn != 8)
		return mc_err_set(err, EX_DATAERR, _("malformed chain state"));
	*height = mc_from_be64(v);
	return 0;
}

int mc_chain_anchored(struct mc_txn *t, uint64_t size_at_least, struct mc_anchored *out,
		      struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[8];
	int rc;

	if (mc_cursor_open(t, MC_DB_ANCHORED, &c, err) != 0)
		return -1;
	if (size_at_least == UINT64_MAX) {
		rc = mc_cursor_last(c, &k, &kn, &v, &vn, err);
	} else {
		mc_be64(key, size_at_least);
		rc = mc_cursor_seek(c, key, 8, &k, &kn, &v, &vn, err);
	}
	if (rc == 0) {
		if (kn != 8 || vn != 12 + MC_ANCHOR_COMMIT_LEN)
			rc = mc_err_set(err, EX_DATAERR, _("malformed anchor row"));
		else {
			out->height = mc_from_be64(v);
			out->tx_index = mc_from_be32((const uint8_t *)v + 8);
			rc = mc_anchor_commit_decode((const uint8_t *)v + 12, MC_ANCHOR_COMMIT_LEN, &out->a, err);
		}
	}
	mc_cursor_close(c);
	return rc;
}

static int apply_anchor_commit(struct mc_txn *t, const struct mc_apply_ctx *ax,
			       const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_anchor_commit a;
	struct mc_anchored last;
	uint8_t root[MC_HASH_LEN], key[8], row[12 + MC_ANCHOR_COMMIT_LEN];
	struct mc_buf b;
	int rc;

	if (mc_anchor_commit_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_NODE | MC_ROLE_ANCHOR, err) != 0)
		return -1;
	if (a.tree_size > ax->height)
		return mc_refuse(err, ax, _("the anchor covers blocks that do not exist yet"));
	rc = mc_chain_anchored(t, UINT64_MAX, &last, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && a.tree_size <= last.a.tree_size)
		return mc_refuse(err, ax, _("an anchor must cover more blocks than the one before it"));
	if (mc_ctree_root(t, a.tree_size, root, err) != 0)
		return -1;
	if (memcmp(root, a.root, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the anchored root is not this chain's root at that size"));
	mc_be64(key, a.tree_size);
	mc_be64(row, ax->height);
	mc_be32(row + 8, ax->tx_index);
	mc_buf_init(&b);
	mc_anchor_commit_encode(&a, &b);
	if (mc_buf_failed(&b) || b.len != MC_ANCHOR_COMMIT_LEN) {
		mc_buf_release(&b);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(row + 12, b.data, b.len);
	mc_buf_release(&b);
	return mc_txn_put(t, MC_DB_ANCHORED, key, 8, row, sizeof(row), err);
}

/* ALERT_ACK: an admin acknowledges an alert once (docs/formats.md). The
 * chain knows nothing of the alert itself (its facts are partly this
 * node's own); it keeps who acknowledged which id, and when. */
static int apply_alert_ack(struct mc_txn *t, const struct mc_apply_ctx *ax,
			   const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_alert_ack a;
	struct mc_alert_fact *f;
	uint8_t row[1 + 8 + 4 + MC_PK_LEN];
	const void *v;
	size_t vn;
	bool party = false;
	int rc;

	if (mc_alert_ack_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author, MC_ROLE_ADMIN, err) != 0)
		return -1;
	rc = mc_txn_get(t, MC_DB_ALERT_ACKS, a.id, MC_ALERT_ID_LEN, &v, &vn, err);
	if (rc < 0)
		return -1;
	/* an id acknowledged under another kind (only a forged ack does that:
	 * an id hashes its kind) acknowledges nothing, and the right kind's
	 * ack takes its place */
	if (rc == 0 && vn && ((const uint8_t *)v)[0] == a.kind)
		return mc_refuse(err, ax, _("the alert is already acknowledged"));
	/* an alert about a tx on the chain: the tx is there before its ack
	 * (an id computed in advance acknowledges nothing), and the admin it
	 * is about, or who did it, leaves it to another admin */
	if (!(f = malloc(sizeof(*f))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (mc_alert_fact(t, ax, a.kind, a.id, f, err) != 0 ||
	    (f->found && mc_alert_fact_party(t, f, tx->author, &party, err) != 0)) {
		free(f);
		return -1;
	}
	rc = f->on_chain && !f->found;
	free(f);
	if (rc)
		return mc_refuse(err, ax, _("no alert of that kind has that id on the chain (an acknowledgement follows its alert)"));
	if (party)
		return mc_refuse_perm(err, ax, _("the alert is about the acknowledging admin's own act or access: another admin acknowledges it"));
	row[0] = a.kind;
	mc_be64(row + 1, ax->height);
	mc_be32(row + 9, ax->tx_index);
	memcpy(row + 13, tx->author, MC_PK_LEN);
	if (mc_txn_put(t, MC_DB_ALERT_ACKS, a.id, MC_ALERT_ID_LEN, row, sizeof(row), err) != 0)
		return -1;
	return audit_index(t, ax, tx, NULL, 0, err);
}

/* A node's key replaced: on the audit trail too (by its author). */
static int apply_node_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			     struct mc_err *err)
{
	if (mc_valset_apply_node_rotate(t, ax, tx, err) != 0)
		return -1;
	return audit_index(t, ax, tx, NULL, 0, err);
}

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
	rc = mc_txn_get(t, MC_DB_TXIDX, hash, MC_HASH_LEN, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("duplicate transaction"));
	if (mc_txn_put(t, MC_DB_TXIDX, hash, MC_HASH_LEN, loc, sizeof(loc), err) != 0)
		return -1;

	apply = mc_chain_tx_apply_fn(tx->type);
	rc = apply ? apply(t, ax, tx, err)
		   : mc_refuse(err, ax, _("this transaction type is not enabled on this chain"));
	if (rc != 0)
		return -1;
	if (tx->type != MC_TX_ANCHOR_COMMIT) {
		uint8_t hv[8];

		mc_be64(hv, ax->height);
		if (mc_txn_put(t, MC_DB_CHAINSTATE, CHAINSTATE_CONTENT, sizeof(CHAINSTATE_CONTENT) - 1,
			       hv, 8, err) != 0)
			return -1;
	}
	if (ax->height > 0 && !mc_tx_type_attach(tx->type) && tx->attach_len != 0)
		return mc_refuse(err, ax, _("unexpected attachment"));
	return 0;
}

/* ---- chain tree ------------------------------------------------------- */

static void ctree_key(uint8_t key[9], unsigned level, uint64_t index)
{
	key[0] = (uint8_t)level;
	mc_be64(key + 1, index);
}

struct ctree_src_ctx {
	struct mc_txn *t;
	struct mc_err *err;
};

static int ctree_get(void *ctx, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN])
{
	struct ctree_src_ctx *c = ctx;
	uint8_t key[9];
	const void *v;
	size_t vn;
	int rc;

	ctree_key(key, level, index);
	rc = mc_txn_get(c->t, MC_DB_CTREE, key, sizeof(key), &v, &vn, c->err);
	if (rc != 0 || vn != MC_HASH_LEN) {
		if (rc >= 0)
			mc_err_set(c->err, EX_DATAERR, _("chain tree node %u/%llu is missing"),
				   level, (unsigned long long)index);
		return -1;
	}
	memcpy(out, v, MC_HASH_LEN);
	return 0;
}

int mc_ctree_node(struct mc_txn *t, unsigned level, uint64_t index, uint8_t out[MC_HASH_LEN],
		  struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };

	return ctree_get(&sc, level, index, out);
}

int mc_ctree_append(struct mc_txn *t, uint64_t height, const uint8_t block_hash[MC_HASH_LEN],
		    struct mc_err *err)
{
	unsigned levels[65];
	uint64_t indexes[65];
	unsigned n = mc_mtree_completed(height, levels, indexes);
	struct ctree_src_ctx sc = { t, err };
	uint8_t h[MC_HASH_LEN], key[9];

	for (unsigned i = 0; i < n; i++) {
		if (levels[i] == 0) {
			mc_merkle_leaf_hash(block_hash, MC_HASH_LEN, h);
		} else {
			uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];

			if (ctree_get(&sc, levels[i] - 1, indexes[i] * 2, l) != 0 ||
			    ctree_get(&sc, levels[i] - 1, indexes[i] * 2 + 1, r) != 0)
				return -1;
			mc_merkle_node_hash(l, r, h);
		}
		ctree_key(key, levels[i], indexes[i]);
		if (mc_txn_put(t, MC_DB_CTREE, key, sizeof(key), h, MC_HASH_LEN, err) != 0)
			return -1;
	}
	return 0;
}

int mc_ctree_root(struct mc_txn *t, uint64_t size, uint8_t out[MC_HASH_LEN], struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (mc_mtree_root(&src, size, out) != 0)
		return err && err->code ? -1 : mc_err_set(err, EX_DATAERR, _("cannot compute the chain tree root"));
	return 0;
}

int mc_ctree_inclusion(struct mc_txn *t, uint64_t index, uint64_t size,
		       uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (index >= size || mc_mtree_inclusion(&src, index, size, path, len) != 0)
		return err && err->code ? -1 : mc_err_set(err, EX_DATAERR, _("cannot compute a chain tree path"));
	return 0;
}

int mc_ctree_consistency(struct mc_txn *t, uint64_t size1, uint64_t size2,
			 uint8_t path[][MC_HASH_LEN], size_t *len, struct mc_err *err)
{
	struct ctree_src_ctx sc = { t, err };
	struct mc_mtree_src src = { ctree_get, &sc };

	if (size1 == 0 || size1 > size2 || mc_mtree_consistency(&src, size1, size2, path, len) != 0)
		return err && err->code ? -1
					: mc_err_set(err, EX_DATAERR, _("cannot compute a chain tree consistency proof"));
	return 0;
}

/* ---- blocks ------------------------------------------------------------ */

int mc_chain_block(struct mc_txn *t, uint64_t height, struct mc_header *h, struct mc_cert *c,
		   struct mc_err *err)
{
	uint8_t key[8];
	const void *v;
	size_t vn;
	struct mc_rd r;
	int rc;

	mc_be64(key, height);
	rc = mc_txn_get(t, MC_DB_BLOCKS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc;
	mc_rd_init(&r, v, vn);
	if (mc_header_decode(&r, h, err) != 0 || mc_cert_decode(&r, c, err) != 0)
		return mc_err_wrap(err, _("block %llu"), (unsigned long long)height);
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("block %llu: trailing bytes"),
				  (unsigned long long)height);
	return 0;
}

int mc_chain_height_at(struct mc_txn *t, uint64_t ms, uint64_t *height, struct mc_err *err)
{
	struct mc_head head;
	uint64_t lo = 0, hi;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	hi = head.empty ? 0 : head.height + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct mc_header h;
		struct mc_cert c;

		if (mc_chain_block(t, mid, &h, &c, err) != 0)
			return -1;
		if (h.timestamp_ms < ms)
			lo = mid + 1;
		else
			hi = mid;
	}
	*height = lo;
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

int mc_chain_store_block(struct mc_txn *t, const struct mc_header *h, const struct mc_cert *c,
			 const uint8_t hash[MC_HASH_LEN], struct mc_err *err)
{
	struct mc_buf enc;
	uint8_t key[8];
	int rc;

	mc_buf_init(&enc);
	mc_header_encode(h, &enc);
	mc_cert_encode(c, &enc);
	if (mc_buf_failed(&enc)) {
		mc_buf_release(&enc);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	mc_be64(key, h->height);
	rc = mc_txn_put(t, MC_DB_BLOCKS, key, sizeof(key), enc.data, enc.len, err);
	mc_buf_release(&enc);
	if (rc != 0 || mc_ctree_append(t, h->height, hash, err) != 0 ||
	    put_head(t, h->height, hash, h->timestamp_ms, err) != 0)
		return -1;
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
	if (mc_txn_put(t, MC_DB_META, META_FORMAT, sizeof(META_FORMAT) - 1, FORMAT_V1,
		       sizeof(FORMAT_V1) - 1, err) != 0 ||
	    mc_valset_genesis(t, g->node->pk, err) != 0)
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
		rc = mc_txn_put(t, MC_DB_META, META_CHAIN_ID, sizeof(META_CHAIN_ID) - 1,
				g->out->hash, MC_HASH_LEN, err);
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

int mc_chain_mark_format(struct mc_txn *t, struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_META, META_FORMAT, sizeof(META_FORMAT) - 1, FORMAT_V1,
			  sizeof(FORMAT_V1) - 1, err);
}

int mc_chain_set_head(struct mc_txn *t, uint64_t height, const uint8_t hash[MC_HASH_LEN], uint64_t ts,
		      struct mc_err *err)
{
	return put_head(t, height, hash, ts, err);
}

int mc_chain_set_id(struct mc_txn *t, const uint8_t id[MC_HASH_LEN], struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_META, META_CHAIN_ID, sizeof(META_CHAIN_ID) - 1, id, MC_HASH_LEN, err);
}
