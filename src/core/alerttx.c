/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "alerttx.h"
#include "i18n.h"

/* ALERT_ACK: an admin acknowledges an alert once (docs/formats.md). The
 * chain knows nothing of the alert itself (its facts are partly this
 * node's own); it keeps who acknowledged which id, and when. */
int mc_alerttx_ack(struct mc_txn *t, const struct mc_apply_ctx *ax,
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
	return mc_rules_audit_index(t, ax, tx, NULL, 0, err);
}
