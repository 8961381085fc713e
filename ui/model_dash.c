/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "anchorwatch.h"
#include "journal.h"
#include "model_dash.h"
#include "valset.h"

struct load {
	struct mc_dash *d;
	uint64_t now;
	const char *datadir;
	const struct mc_config *conf;
};

static int on_alert(const struct mc_alert *a, void *vctx)
{
	struct mc_dash *d = vctx;

	if (a->kind == MC_ALERT_BREAK_GLASS)
		d->break_glass++;
	else if (a->kind == MC_ALERT_DENY_BURST)
		d->deny_bursts++;
	else if (a->kind == MC_ALERT_STAFF_GRANT || a->kind == MC_ALERT_ENROLLER_GRANT ||
		 a->kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT)
		d->staff_grants++;
	else if (a->kind == MC_ALERT_LOST_KEY_ROTATION)
		d->lost_key_rotations++;
	else if (a->kind == MC_ALERT_VERIFY_FAILED)
		d->verify_failed = true;
	else if (a->kind == MC_ALERT_VERIFY_OVERDUE)
		d->verify_overdue = true;
	else if (a->kind >= MC_ALERT_SERVE_DOWN)
		d->node_states++;
	else
		d->expiring++;
	if (d->nalerts < MC_DASH_ALERTS)
		d->alerts[d->nalerts++] = *a;
	return 0;
}

static int dash_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;
	struct mc_dash *d = l->d;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval = 0;
	uint64_t prev = 0;
	struct mc_alert_params ap;
	struct mc_anchor_entry *e;
	int rc;

	if (mc_chain_head(t, &d->head, err) != 0)
		return -1;
	if (d->head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	if (mc_txn_count(t, MC_DB_IDENTITIES, &d->identities, err) != 0 ||
	    mc_txn_count(t, MC_DB_RECORDS, &d->record_versions, err) != 0 ||
	    mc_txn_count(t, MC_DB_TXIDX, &d->txs, err) != 0 ||
	    mc_chain_validators(t, vals, &nval, err) != 0 ||
	    mc_chain_leader(t, d->leader, &d->view, err) != 0)
		return -1;
	d->validators = (unsigned)nval;
	/* blocks per hour: the first height at each hour boundary, O(log n) each */
	for (int i = 0; i <= MC_DASH_HOURS; i++) {
		uint64_t at = l->now - (uint64_t)(MC_DASH_HOURS - i) * 3600000ULL, h;

		if (i == MC_DASH_HOURS)
			h = d->head.height + 1;
		else if (mc_chain_height_at(t, at, &h, err) != 0)
			return -1;
		if (i > 0)
			d->per_hour[i - 1] = h - prev;
		prev = h;
	}
	rc = mc_chain_anchored(t, UINT64_MAX, &d->last, err);
	if (rc < 0)
		return -1;
	d->anchored = rc == 0;
	if (d->anchored) {
		struct mc_header hd;
		struct mc_cert c;

		if (mc_chain_block(t, d->last.height, &hd, &c, err) != 0)
			return -1;
		d->last_anchor_ms = hd.timestamp_ms;
	}
	if (!(e = malloc(sizeof(*e))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = mc_journal_last(t, e, err);
	if (rc == 0 && e->state != MC_ANCHOR_CONFIRMED && e->state != MC_ANCHOR_SUPERSEDED) {
		d->pending = true;
		d->pending_seq = e->seq;
		d->pending_size = e->tree_size;
		snprintf(d->pending_state, sizeof(d->pending_state), "%s", mc_anchor_state_name(e->state));
	}
	free(e);
	if (rc < 0)
		return -1;
	mc_alert_defaults(&ap, l->now);
	if (l->datadir && l->conf) {
		if (mc_alert_gather(t, l->datadir, l->conf, &ap, err) != 0)
			return -1;
	} else {
		ap.check_verify = l->datadir != NULL;
		ap.verify_ran = d->verify_ran;
		ap.verify = d->verify;
	}
	return mc_alerts(t, &ap, on_alert, d, err);
}

int mc_dash_load(struct mc_store *s, const char *datadir, const struct mc_config *conf, uint64_t now_ms,
		 struct mc_dash *d, struct mc_err *err)
{
	struct load l = { d, now_ms, datadir, conf };
	int rc;

	memset(d, 0, sizeof(*d));
	if (datadir) {
		rc = mc_vlast_load(datadir, &d->verify, err);
		if (rc < 0)
			return -1;
		d->verify_ran = rc == 0;
	}
	return mc_store_read(s, dash_txn, &l, err);
}
