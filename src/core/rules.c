/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "rules.h"
#include "text.h"

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

/* Blocks from version 2 on follow the consent authorship and custodian
 * rules; a version 1 block (an older chain's) is replayed as it was. */
bool mc_rules_consent_v2(const struct mc_apply_ctx *ax)
{
	return ax->block_version == 0 || ax->block_version >= 2;
}

/* Blocks from version 3 on follow the custody rules against insiders: a
 * RECORD_PUT's custodian is its author's organization (an author of no
 * organization stores nothing), and only that organization's staff amend
 * or erase its records. Older blocks replay as they were. */
bool mc_rules_insider_v3(const struct mc_apply_ctx *ax)
{
	return ax->block_version == 0 || ax->block_version >= 3;
}

bool mc_rules_succession_v4(const struct mc_apply_ctx *ax)
{
	return ax->block_version == 0 || ax->block_version >= 4;
}

/* No two active identities share a display name: lists, audits and alerts
 * show names, and "Dr A" must be one person. A revoked identity's name is
 * free again. */
int mc_rules_name_free(struct mc_txn *t, const struct mc_apply_ctx *ax, const void *name, size_t len,
		       struct mc_err *err)
{
	uint8_t holder[MC_PK_LEN];
	char hex[2 * MC_PK_LEN + 1], why[256];
	int rc;

	/* names that print alike are one name: no spaces at an end or
	 * doubled, no other whitespace, nothing invisible */
	if (!mc_name_plain(name, len))
		return mc_refuse(err, ax, _("a name has no space at either end, no two spaces in a row, and no other space or invisible character: it would print like another name"));
	rc = mc_identity_named(t, name, len, holder, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;
	mc_hex(holder, MC_PK_LEN, hex);
	/* by key prefix, not by the name: serve logs refusals, and a patient
	 * identity's name is a patient identifier */
	snprintf(why, sizeof(why),
		 _("an active identity already has this display name (key %.8s): give this one a name of its own"),
		 hex);
	return mc_refuse(err, ax, why);
}

/* ---- the audit index in chain order (MC_DB_AUDIT_CHAIN, store.h) ----
 * height u64 || tx u32 -> type u8 | outcome u8, every audited tx, as in
 * audit_actor; 0x00 -> skipped u64: the marker that it is built (one byte:
 * below every 12-byte key, so a walk of the 12-byte keys never meets it),
 * with the audit_actor rows of another key length the build left out
 * (damage verify reports in audit_actor; none in a sound store). A store
 * older than it has neither until its first audited tx (or the engine's
 * start, mc_rules_audit_chain_ensure) builds it whole from audit_actor,
 * which holds every audited tx once under its author; so does one whose row
 * count has left audit_actor's (an older build's writer went on after a
 * newer one built it). */
static const uint8_t chain_marker[1] = { 0x00 };

int mc_rules_audit_chain_built(struct mc_txn *t, struct mc_err *err)
{
	const void *v;
	size_t vn;
	uint64_t nc, na, skipped;
	int rc = mc_txn_get(t, MC_DB_AUDIT_CHAIN, chain_marker, sizeof(chain_marker), &v, &vn, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (vn != 8)
		return 0; /* not a marker this build wrote: built again */
	skipped = mc_from_be64(v);
	/* in step: one row an audit_actor row the build took, and the marker
	 * (an older build's writer, still running after a newer one built it,
	 * adds to audit_actor alone) */
	if (mc_txn_count(t, MC_DB_AUDIT_CHAIN, &nc, err) != 0 || mc_txn_count(t, MC_DB_AUDIT_ACTOR, &na, err) != 0)
		return -1;
	return na >= skipped && nc == na - skipped + 1;
}

/* Copies every audit_actor row into the chain index, keyed without the
 * actor; *skipped: the rows of another key length, left out. 0 or -1. */
static int chain_copy(struct mc_txn *t, uint64_t *skipped, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	*skipped = 0;
	if (mc_cursor_open(t, MC_DB_AUDIT_ACTOR, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		/* a key of another length is damage verify reports in
		 * audit_actor: nothing here names an event; counted in the
		 * marker, so the index stays in step (one such row must not
		 * make every audited write build it again) */
		if (kn != MC_PK_LEN + 12) {
			(*skipped)++;
			continue;
		}
		if (mc_txn_put(t, MC_DB_AUDIT_CHAIN, (const uint8_t *)k + MC_PK_LEN, 12, v, vn, err) != 0) {
			rc = -1;
			break;
		}
	}
	mc_cursor_close(c);
	return rc == MC_NOTFOUND ? 0 : -1;
}

/* Builds the chain index unless it is built and in step: whatever rows it
 * holds go first, then one row per audit_actor row, then the marker. Called
 * with an audited tx to index (the replay of a chain holds the marker from
 * its first audited tx on), or by the ensure when audit_actor holds a row.
 * 0 or -1. */
static int chain_ready(struct mc_txn *t, struct mc_err *err)
{
	uint64_t skipped;
	uint8_t mark[8];
	int rc = mc_rules_audit_chain_built(t, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (mc_txn_clear(t, MC_DB_AUDIT_CHAIN, err) != 0 || chain_copy(t, &skipped, err) != 0)
		return -1;
	mc_be64(mark, skipped);
	return mc_txn_put(t, MC_DB_AUDIT_CHAIN, chain_marker, sizeof(chain_marker), mark, sizeof(mark), err);
}

static int chain_built_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	int rc = mc_rules_audit_chain_built(t, err);
	uint64_t n = 0;

	if (rc < 0 || (rc == 0 && mc_txn_count(t, MC_DB_AUDIT_ACTOR, &n, err) != 0))
		return -1;
	/* nothing to build: built, or no audited tx yet */
	*(bool *)ctx = rc == 1 || n == 0;
	return 0;
}

static int chain_ready_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return chain_ready(t, err);
}

int mc_rules_audit_chain_ensure(struct mc_store *s, struct mc_err *err)
{
	bool done = false;

	if (mc_store_read(s, chain_built_txn, &done, err) != 0)
		return -1;
	if (done)
		return 0;
	if (mc_store_write(s, chain_ready_txn, NULL, err) != 0)
		return -1;
	/* the build read all of audit_actor: the map's pages it faulted in
	 * (most of the file at a million events) leave the process's RSS */
	mc_store_trim(s);
	return 1;
}

int mc_rules_audit_index(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			 const uint8_t *subject, uint8_t outcome, struct mc_err *err)
{
	uint8_t key[MC_PK_LEN + 12], val[2] = { tx->type, outcome };

	/* the chain index first: built from audit_actor as it was before tx */
	if (chain_ready(t, err) != 0)
		return -1;
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
	/* applied in chain order: a key above every other, appended */
	if (mc_txn_append(t, MC_DB_AUDIT_CHAIN, key + MC_PK_LEN, 12, val, 2, err) != 0)
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
