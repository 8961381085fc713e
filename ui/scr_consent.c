/* SPDX-License-Identifier: Apache-2.0 */
/* Consent: grants (all, one patient's, one grantee's, active only, ending
 * soon), a grant form, and revocation with a reason. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "model_consent.h"
#include "ops.h"
#include "screens.h"
#include "text.h"
#include "util.h"
#include "widgets.h"

/* Consent is given by the patient or recorded by staff who record consent
 * forms; a grantee (a clinician) may give up their own grant. */
#define GRANTERS (MC_ROLE_ADMIN | MC_ROLE_REGISTRAR | MC_ROLE_PATIENT)
#define REVOKERS (GRANTERS | MC_ROLE_CLINICIAN)

/* this screen's own actions (its keys: keys[] below) */
enum { ACT_GRANT = MC_ACT_OWN, ACT_REVOKE, ACT_ACTIVE, ACT_EXPIRING };

/* the grantee last, as "name (key prefix)" in the rest of the width (15
 * columns at 80: the name is cut to fit, never the key prefix); the status
 * as wide as its longest, "grantee-revoked" */
static const int GRANT_COLS[] = { 8, 15, 9, 7, 10, 8, 0 };

static struct {
	struct mc_consent_rows *rows;
	struct mc_list list;
	struct mc_consent_filter f;
	uint8_t subject[MC_HASH_LEN], grantee[MC_PK_LEN];
	char subject_text[MC_SUBJECT_MAX + 1], grantee_text[MC_NAME_MAX + 1];
	char grantee_who[MC_WHO_MAX];   /* the grantee filtered on, as shown */
	char err[MC_ERR_MSG_MAX];
} C;

static void load(struct mc_app *app)
{
	struct mc_err err = { 0 };

	if (!C.rows && !(C.rows = calloc(1, sizeof(*C.rows))))
		return;
	C.f.now_ms = mc_now_ms();
	mc_ui_load_err(C.err, sizeof(C.err), mc_consent_rows_load(app->cli->store, &C.f, C.rows, &err), &err);
	C.list.count = (int)C.rows->n;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_grant_row *r = &C.rows->rows[i];
	char id[33], until[32], subj[65], who[MC_WHO_MAX];
	int rest = COLS - 2;

	(void)ctx;
	for (size_t k = 0; k + 1 < MC_ARRAY_LEN(GRANT_COLS); k++)
		rest -= GRANT_COLS[k] + 1;
	mc_ui_who(who, sizeof(who), r->grantee_name, r->grantee, rest);
	mc_hex(r->id, MC_GRANT_ID_LEN, id);
	mc_hex(r->subject, MC_HASH_LEN, subj);
	if (r->until_ms == MC_TIME_OPEN)
		mc_ui_copy(until, sizeof(until), _("no end"));
	else
		mc_time_format(r->until_ms, until, sizeof(until));
	{
		const char *cells[] = { id, r->status, mc_purpose_name(r->purpose), r->scope, until, subj + 56, who };

		mc_ui_row(buf, n, GRANT_COLS, cells, 7);
	}
	if (strcmp(r->status, "active") != 0)
		*st = MC_STYLE_DIM;
	else if (r->expiring)
		*st = MC_STYLE_WARN;
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[256];

	(void)app;
	mc_ui_putf(y, 1, COLS - 2, MC_STYLE_HEAD, _("Consent grants%s%s%s%s%s%s: %u shown, %u ending within 7 days"),
		   C.subject_text[0] ? _(" of patient ") : "", C.subject_text, C.grantee_who[0] ? _(" to ") : "",
		   C.grantee_who, C.f.active_only ? _(", active only") : "",
		   C.f.expiring_only ? _(", ending soon only") : "", C.rows ? C.rows->n : 0,
		   C.rows ? C.rows->expiring : 0);
	if (C.err[0]) {
		mc_ui_put(y + 2, 1, COLS - 2, MC_STYLE_BAD, C.err);
		return;
	}
	/* L10N: column heads of the grants list: keep each as short as the English */
	{
		const char *heads[] = { _("GRANT"), _("STATUS"), _("PURPOSE"), _("SCOPE"), _("UNTIL"), _("PATIENT"),
					_("GRANTEE") };

		mc_ui_row(head, sizeof(head), GRANT_COLS, heads, 7);
	}
	mc_list_body(&C.list, y + 1, y + h - 1, head, row, _("no grants"),
		     _("g grant, x revoke, / filter, a active only, e ending soon"));
}

static void grant(struct mc_app *app)
{
	const char *purposes[MC_PURPOSE_MAX];
	struct mc_form_field f[5];
	struct mc_grant g;
	struct mc_identity grantee;
	struct mc_op_grant res;
	struct mc_err err = { 0 };
	char cats[MC_SCOPE_CATS_MAX * MC_CATEGORY_MAX], hex[33], who[MC_WHO_MAX];
	uint64_t now = mc_now_ms();

	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Patient"), _("the hospital's patient identifier"), C.subject_text);
	mc_form_text(&f[1], _("Grantee"), _("an enrolled identity: its name or key"), NULL);
	f[2].label = _("Purpose");
	for (unsigned i = 0; i < MC_PURPOSE_MAX; i++)
		purposes[i] = mc_purpose_name(MC_PURPOSE_TREATMENT + i);
	f[2].choices = purposes;
	f[2].nchoices = MC_PURPOSE_MAX;
	mc_form_text(&f[3], _("Scope"), _("categories, comma separated; empty: every category"), NULL);
	mc_form_text(&f[4], _("Until"), _("RFC 3339 or relative (30d); empty: no end"), NULL);
	if (!mc_form_run(app, _("New consent grant"), f, 5))
		return;
	memset(&g, 0, sizeof(g));
	if (!f[0].value[0] || !f[1].value[0]) {
		mc_app_msg(app, true, _("a grant needs a patient and a grantee"));
		return;
	}
	g.purpose = (uint8_t)(MC_PURPOSE_TREATMENT + f[2].choice);
	if (mc_grant_scope_parse(f[3].value, &g, cats, sizeof(cats), &err) != 0) {
		mc_app_msg(app, true, "%s", err.msg);
		return;
	}
	g.all_categories = g.all_categories || g.ncat == 0;
	g.not_before = 0;
	g.not_after = MC_TIME_OPEN;
	if (f[4].value[0] && mc_time_parse(f[4].value, now, +1, &g.not_after) != 0) {
		mc_app_msg(app, true, _("Until: not a time (RFC 3339 such as 2026-11-22T10:00:00Z, or relative such as 30d)"));
		return;
	}
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)"signed consent form on file";
	g.attest_len = strlen("signed consent form on file");
	if (mc_cli_find_identity(app->cli, f[1].value, &grantee, &err) != 0 ||
	    mc_cli_subject(app->cli, f[0].value, g.subject, &err) != 0 ||
	    mc_op_grant(app->cli, app->node, app->actor, &g, &grantee, &res, &err) != 0) {
		mc_app_msg(app, true, "%s", err.msg);
		return;
	}
	mc_hex(res.id, MC_GRANT_ID_LEN, hex);
	mc_identity_who(grantee.name, grantee.pk, who, sizeof(who));
	mc_app_msg(app, false, _("grant %s to %s made in block %llu"), hex, who, (unsigned long long)res.height);
	load(app);
}

static void revoke(struct mc_app *app)
{
	const struct mc_grant_row *r;
	struct mc_form_field f[1];
	struct mc_err err = { 0 };
	char q[256], hex[33], who[MC_WHO_MAX];
	uint64_t height;

	if (!C.list.count)
		return;
	r = &C.rows->rows[C.list.cursor];
	mc_hex(r->id, MC_GRANT_ID_LEN, hex);
	if (strcmp(r->status, "revoked") == 0) {
		mc_app_msg(app, true, _("grant %s is already revoked"), hex);
		return;
	}
	mc_identity_who(r->grantee_name, r->grantee, who, sizeof(who));
	/* L10N: the grant's id, its grantee (a name and its key prefix) and purpose */
	snprintf(q, sizeof(q), _("Revoke grant %.12s... to %s for %s?"), hex, who, mc_purpose_name(r->purpose));
	if (!mc_confirm(app, q))
		return;
	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Reason"), _("recorded on the chain: no health data"), NULL);
	if (!mc_form_run(app, _("Revoke a grant"), f, 1))
		return;
	if (mc_op_revoke(app->cli, app->node, app->actor, r->id, f[0].value, &height, &err) != 0) {
		mc_app_msg(app, true, "%s", err.msg);
		return;
	}
	mc_app_msg(app, false, _("grant %s revoked in block %llu"), hex, (unsigned long long)height);
	load(app);
}

static void consent_filter(struct mc_app *app)
{
	struct mc_form_field f[2];
	struct mc_err err = { 0 };
	struct mc_identity who;

	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Patient"), _("empty: every patient"), C.subject_text);
	mc_form_text(&f[1], _("Grantee"), _("a name or key; empty: every grantee"), C.grantee_text);
	if (!mc_form_run(app, _("Filter grants"), f, 2))
		return;
	C.f.subject = NULL;
	C.f.grantee = NULL;
	C.subject_text[0] = C.grantee_text[0] = C.grantee_who[0] = '\0';
	if (f[0].value[0]) {
		if (mc_cli_subject(app->cli, f[0].value, C.subject, &err) != 0) {
			mc_app_msg(app, true, "%s", err.msg);
			return;
		}
		C.f.subject = C.subject;
		mc_ui_copy(C.subject_text, sizeof(C.subject_text), f[0].value);
	}
	if (f[1].value[0]) {
		if (mc_cli_find_identity(app->cli, f[1].value, &who, &err) != 0) {
			mc_app_msg(app, true, "%s", err.msg);
			return;
		}
		memcpy(C.grantee, who.pk, MC_PK_LEN);
		C.f.grantee = C.grantee;
		mc_ui_copy(C.grantee_text, sizeof(C.grantee_text), f[1].value);   /* as typed: a name may be reused */
		mc_identity_who(who.name, who.pk, C.grantee_who, sizeof(C.grantee_who));
	}
	C.list.cursor = C.list.top = 0;
	load(app);
}

static bool act(struct mc_app *app, int a)
{
	switch (a) {
	case ACT_GRANT:
		grant(app);
		return true;
	case ACT_REVOKE:
		revoke(app);
		return true;
	case MC_ACT_FILTER:
		consent_filter(app);
		return true;
	case ACT_ACTIVE:
		C.f.active_only = !C.f.active_only;
		load(app);
		return true;
	case ACT_EXPIRING:
		C.f.expiring_only = !C.f.expiring_only;
		load(app);
		return true;
	default:
		return mc_list_action(&C.list, a, mc_screen_body_rows() - 4);
	}
}

/* L10N: Help's explanations of this screen's keys; key names stay as they are */
static const struct mc_action_def keys[] = {
	{ ACT_GRANT, 'g', "g", N_("new grant (a form)"), GRANTERS },
	{ ACT_REVOKE, 'x', "x", N_("revoke the grant, with a reason"), REVOKERS },
	{ MC_ACT_FILTER, '/', "/", N_("filter by patient and grantee"), MC_ROLES_ANY },
	{ ACT_ACTIVE, 'a', "a", N_("active grants only, or all"), MC_ROLES_ANY },
	{ ACT_EXPIRING, 'e', "e", N_("grants ending within 7 days, or all"), MC_ROLES_ANY },
};

const struct mc_screen_ops mc_scr_consent = {
	.load = load, .draw = draw, .act = act, .keys = keys, .nkeys = MC_ARRAY_LEN(keys)
};
