/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "identity.h"
#include "rules.h"

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

int mc_rules_audit_index(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
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
