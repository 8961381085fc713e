/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "consent.h"
#include "i18n.h"
#include "model_audit.h"
#include "util.h"

void mc_audit_event_what(const struct mc_audit_event *e, char *out, size_t n)
{
	char a[65], b[65];

	if (!n)
		return;
	if (e->type == MC_TX_ACCESS) {
		mc_hex(e->acc.record, MC_RECORD_ID_LEN, a);
		snprintf(out, n, "%.8s v%u %s %s%s%s", a, e->acc.version, mc_purpose_name(e->acc.purpose),
			 mc_outcome_name(e->acc.outcome), e->acc.outcome == MC_OUTCOME_DENY ? " " : "",
			 e->acc.outcome == MC_OUTCOME_DENY ? mc_deny_name(e->acc.reason) : "");
	} else if (e->type == MC_TX_ALERT_ACK) {
		mc_hex(e->alert_id, MC_ALERT_ID_LEN, a);
		/* L10N: an acknowledgement in the Audit list: the alert's kind
		 * (a machine name), its id and the reason given */
		snprintf(out, n, _("ack %s %s \"%s\""), mc_alert_name(e->alert_kind), a, e->ack_reason);
	} else if (e->type == MC_TX_IDENTITY_ROTATE) {
		mc_hex(e->rot_old, MC_PK_LEN, a);
		mc_hex(e->rot_new, MC_PK_LEN, b);
		/* L10N: a key rotation in the Audit list: the old and new keys'
		 * prefixes and its kind (lost-key or holder, machine names) */
		snprintf(out, n, _("rotate %.8s -> %.8s %s"), a, b,
			 e->rot_kind == MC_ROTATE_LOST_KEY ? "lost-key" : "holder");
	} else if (e->type == MC_TX_ORG_ROTATE) {
		mc_hex(e->old_org, MC_PK_LEN, a);
		mc_hex(e->new_org, MC_PK_LEN, b);
		snprintf(out, n, _("org key %.8s -> %.8s"), a, b);
	} else if (e->has_grant) {
		mc_hex(e->grant, MC_GRANT_ID_LEN, a);
		snprintf(out, n, "%s %.8s%s%s", e->type == MC_TX_CONSENT_GRANT ? _("grant") : _("revoke"), a,
			 e->purpose ? " " : "", e->purpose ? mc_purpose_name(e->purpose) : "");
	} else {
		const char *name = mc_tx_type_name(e->type);

		snprintf(out, n, "%s", name ? name : "?");
	}
}

struct load {
	struct mc_audit_filter f;
	struct mc_audit_rows *out;
};

static int add(const struct mc_audit_event *e, void *vctx)
{
	struct load *l = vctx;

	l->out->rows[l->out->n++] = *e;
	return 0;
}

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;

	return mc_audit_query(t, &l->f, add, l, &l->out->page, err);
}

int mc_audit_rows_load(struct mc_store *s, const struct mc_audit_filter *f, struct mc_audit_rows *out,
		       struct mc_err *err)
{
	struct load l = { *f, out };

	if (!l.f.limit || l.f.limit > MC_AUDIT_PAGE_MAX)
		l.f.limit = MC_AUDIT_PAGE_MAX;
	out->n = 0;
	memset(&out->page, 0, sizeof(out->page));
	return mc_store_read(s, rows_txn, &l, err);
}
