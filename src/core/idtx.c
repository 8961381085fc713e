/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "idtx.h"
#include "rotation.h"
#include "text.h"

int mc_idtx_enroll(struct mc_txn *t, const struct mc_apply_ctx *ax,
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
	if (id.has_subject && (id.roles & MC_ROLE_PATIENT) && mc_rules_consent_v2(ax)) {
		rc = mc_identity_patient_of(t, id.subject, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return mc_refuse(err, ax, _("the patient already has an active identity: revoke it before enrolling another"));
	}
	/* From block version 3 on, no two active identities share a display
	 * name: lists, audits and alerts show names, and "Dr A" must be one
	 * person. A revoked identity's name is free again. */
	if (ax->height > 0 && mc_rules_insider_v3(ax) && mc_rules_name_free(t, ax, e.name, e.name_len, err) != 0)
		return -1;
	return mc_identity_put(t, &id, err);
}

int mc_idtx_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax,
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

/* IDENTITY_ROTATE: an admin moves a person's identity to a new key its
 * holder made and signed for. The new key takes the name, roles,
 * organization and (a patient's) subject; the old key is revoked in the
 * same tx, so one active patient identity per subject holds throughout;
 * active grants to the old key name the new one; grants the old key gave
 * stay as they are. A new tx type: older chains hold none, so the rule
 * applies to every chain as it is. */
int mc_idtx_rotate(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		   struct mc_err *err)
{
	struct mc_rotate r;
	struct mc_identity old, nw;
	uint8_t st[MC_HASH_LEN];
	struct mc_rotation rot;
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
		rc = mc_identity_patient_of(t, nw.subject, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return mc_refuse(err, ax, _("the patient already has another active identity"));
	}
	if (mc_identity_put(t, &nw, err) != 0 || mc_consent_move_grants(t, ax, r.old_pk, r.new_pk, err) != 0)
		return -1;
	memcpy(rot.new_pk, r.new_pk, MC_PK_LEN);
	memcpy(rot.old_pk, r.old_pk, MC_PK_LEN);
	rot.kind = r.kind;
	rot.height = ax->height;
	rot.tx_index = ax->tx_index;
	memcpy(rot.author, tx->author, MC_PK_LEN);
	rc = mc_rotation_put(t, &rot, err);
	if (rc < 0)
		return -1;
	if (rc == MC_EXISTS)
		return mc_refuse(err, ax, _("the new key was rotated to before"));
	return mc_rules_audit_index(t, ax, tx, nw.has_subject ? nw.subject : NULL, 0, err);
}
