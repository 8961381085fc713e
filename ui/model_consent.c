/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "model_consent.h"

struct load {
	const struct mc_consent_filter *f;
	struct mc_consent_rows *out;
};

static int add(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g,
	       void *vctx, struct mc_err *err)
{
	struct load *l = vctx;
	const char *status;
	bool active, expiring, grantee_active;
	struct mc_grant_row *r;
	struct mc_identity who;

	if (mc_grant_grantee(t, g, &who, &grantee_active, err) != 0)
		return -1;
	status = mc_grant_status(gs, g, grantee_active, l->f->now_ms);
	active = strcmp(status, "active") == 0;
	expiring = active && g->not_after != MC_TIME_OPEN && g->not_after <= l->f->now_ms + l->f->expiring_window_ms;
	if ((l->f->active_only && !active) || (l->f->expiring_only && !expiring))
		return 0;
	if (expiring)
		l->out->expiring++;
	if (l->out->n == MC_CONSENT_ROWS_MAX) {
		l->out->truncated = true;
		return 0;
	}
	r = &l->out->rows[l->out->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, g->id, MC_GRANT_ID_LEN);
	memcpy(r->subject, g->subject, MC_HASH_LEN);
	memcpy(r->grantee, g->grantee, MC_PK_LEN);
	memcpy(r->grantee_name, who.name, sizeof(r->grantee_name));
	snprintf(r->status, sizeof(r->status), "%s", status);
	r->purpose = g->purpose;
	mc_grant_scope_text(g, r->scope, sizeof(r->scope));
	r->from_ms = g->not_before ? g->not_before : gs->granted_at;
	r->until_ms = g->not_after;
	r->height = gs->height;
	r->expiring = expiring;
	return 0;
}

static int rows_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct load *l = vctx;

	return mc_grants_each(t, l->f->subject, l->f->grantee, add, l, err);
}

int mc_consent_rows_load(struct mc_store *s, const struct mc_consent_filter *f,
			 struct mc_consent_rows *out, struct mc_err *err)
{
	struct mc_consent_filter ff = *f;
	struct load l = { &ff, out };

	if (!ff.expiring_window_ms)
		ff.expiring_window_ms = 7ULL * 24 * 3600 * 1000;
	memset(out, 0, sizeof(*out));
	return mc_store_read(s, rows_txn, &l, err);
}
