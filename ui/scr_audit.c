/* SPDX-License-Identifier: Apache-2.0 */
/* Audit: every read, grant and revocation, newest first; filters by
 * patient, actor, outcome and time; a follow mode; export to a file. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chain.h"
#include "consent.h"
#include "records.h"
#include "i18n.h"
#include "model_audit.h"
#include "screens.h"
#include "text.h"
#include "util.h"
#include "widgets.h"

/* this screen's own actions (its keys: keys[] below) */
enum { ACT_FOLLOW = MC_ACT_OWN, ACT_EXPORT };

#define DEPTH 256

/* 80 columns: the time to the minute (the detail pane has it to the ms),
 * the actor as "name (key prefix)" with the name cut to fit, the event
 * as before (an access's record, version, purpose and outcome) */
#define ACTOR_COLS 17
static const int AUDIT_COLS[] = { 16, 9, ACTOR_COLS, 0 };

static struct {
	struct mc_audit_rows *rows;
	struct mc_list list;
	struct mc_audit_filter f;
	uint8_t subject[MC_HASH_LEN], actor[MC_PK_LEN];
	char subject_text[MC_SUBJECT_MAX + 1], actor_text[MC_NAME_MAX + 1], outcome_text[16];
	char actor_who[MC_WHO_MAX], actor_hex[2 * MC_PK_LEN + 1];   /* the actor filtered on, as shown; its key */
	char since_text[64], until_text[64];
	bool follow;
	/* page starts: a cursor (h, t) per page; page 0 has none */
	uint64_t start_h[DEPTH];
	uint32_t start_t[DEPTH];
	int depth;
	char err[MC_ERR_MSG_MAX];
} A;

static void load(struct mc_app *app)
{
	struct mc_err err = { 0 };
	struct mc_audit_filter f;

	if (!A.rows) {
		if (!(A.rows = calloc(1, sizeof(*A.rows))))
			return;
		mc_audit_filter_init(&A.f);
	}
	f = A.f;
	f.newest_first = true;
	f.limit = 200;
	if (A.depth > 0) {
		f.have_after = true;
		f.after_h = A.start_h[A.depth];
		f.after_t = A.start_t[A.depth];
	}
	mc_ui_load_err(A.err, sizeof(A.err), mc_audit_rows_load(app->cli->store, &f, A.rows, &err), &err);
	A.list.count = (int)A.rows->n;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_audit_event *e = &A.rows->rows[i];
	char when[32], what[MC_REASON_MAX + 128], who[MC_WHO_MAX];

	(void)ctx;
	mc_time_format(e->ts, when, sizeof(when));
	mc_audit_event_what(e, what, sizeof(what));
	if (e->type == MC_TX_ACCESS && e->acc.outcome == MC_OUTCOME_DENY)
		*st = MC_STYLE_WARN;
	else if (e->type == MC_TX_ACCESS && e->acc.outcome == MC_OUTCOME_BREAK_GLASS)
		*st = MC_STYLE_BAD;
	when[10] = ' ';
	when[16] = '\0';
	mc_ui_who(who, sizeof(who), e->actor_name, e->actor, ACTOR_COLS);
	{
		char bt[32];
		const char *cells[] = { when, bt, who, what };

		snprintf(bt, sizeof(bt), "%5llu.%-3u", (unsigned long long)e->h, e->ti);
		mc_ui_row(buf, n, AUDIT_COLS, cells, 4);
	}
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[160];

	(void)app;
	mc_ui_putf(y, 1, COLS - 2, MC_STYLE_HEAD, _("Audit trail, newest first%s%s%s%s%s%s%s%s, page %d%s"),
		   A.subject_text[0] ? _(", patient ") : "", A.subject_text, A.actor_who[0] ? _(", actor ") : "",
		   A.actor_who, A.outcome_text[0] ? _(", outcome ") : "", A.outcome_text,
		   A.since_text[0] || A.until_text[0] ? _(", time-bounded") : "", "", A.depth + 1,
		   A.follow ? _("  [FOLLOWING]") : "");
	if (A.err[0]) {
		mc_ui_put(y + 2, 1, COLS - 2, MC_STYLE_BAD, A.err);
		return;
	}
	/* L10N: column heads of the audit trail: keep each as short as the English */
	{
		const char *heads[] = { _("TIME (UTC)"), _("BLOCK.TX"), _("ACTOR"), _("EVENT") };

		mc_ui_row(head, sizeof(head), AUDIT_COLS, heads, 4);
	}
	mc_list_draw(&A.list, y + 1, 1, h - 9, COLS - 2, head, row, NULL);
	if (A.list.count) {
		/* the selected event in full */
		const struct mc_audit_event *e = &A.rows->rows[A.list.cursor];
		char when[32], rec[64] = "-", subj[65] = "-", gid[33] = "-", actor[65];
		const char *labels[] = { _("Time"), _("Record"), _("Patient"), _("Grant"), _("Actor"), _("Actor key"),
					 _("Break-glass") };
		const char *values[] = { when, rec, subj, gid, e->actor_name, actor, e->glass[0] ? e->glass : "-" };

		mc_time_format(e->ts, when, sizeof(when));
		if (e->type == MC_TX_ACCESS) {
			char hex[33];

			mc_hex(e->acc.record, MC_RECORD_ID_LEN, hex);
			snprintf(rec, sizeof(rec), "%s v%u", hex, e->acc.version);
		}
		if (e->has_subject)
			mc_hex(e->subject, MC_HASH_LEN, subj);
		if (e->has_grant)
			mc_hex(e->grant, MC_GRANT_ID_LEN, gid);
		mc_hex(e->actor, MC_PK_LEN, actor);
		mc_detail_draw(y + h - 8, 1, 7, COLS - 2, NULL, labels, values, 7);
	}
	if (!A.list.count)
		mc_ui_put(y + 3, 2, COLS - 3, MC_STYLE_DIM, _("no events"));
	mc_ui_put(y + h - 1, 1, COLS - 2, MC_STYLE_DIM, _("/ filter, f follow, e export, PgUp/PgDn pages"));
}

static void audit_filter(struct mc_app *app)
{
	const char *outcomes[MC_OUTCOME_MAX + 1] = { "any" };
	struct mc_form_field f[5];
	struct mc_err err = { 0 };
	struct mc_identity who;
	uint64_t now = mc_now_ms();

	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Patient"), _("empty: every patient"), A.subject_text);
	mc_form_text(&f[1], _("Actor"), _("a name or key; empty: everyone"), A.actor_text);
	f[2].label = _("Outcome");
	for (unsigned i = 1; i <= MC_OUTCOME_MAX; i++)
		outcomes[i] = mc_outcome_name(i);
	f[2].choices = outcomes;
	f[2].nchoices = MC_OUTCOME_MAX + 1;
	f[2].choice = A.f.outcome;
	mc_form_text(&f[3], _("Since"), _("RFC 3339 or relative (12h); empty: the start"), A.since_text);
	mc_form_text(&f[4], _("Until"), _("RFC 3339 or relative; empty: now"), A.until_text);
	if (!mc_form_run(app, _("Filter the audit trail"), f, 5))
		return;
	mc_audit_filter_init(&A.f);
	A.subject_text[0] = A.actor_text[0] = A.outcome_text[0] = A.since_text[0] = A.until_text[0] = '\0';
	A.actor_who[0] = A.actor_hex[0] = '\0';
	if (f[0].value[0]) {
		if (mc_cli_subject(app->cli, f[0].value, A.subject, &err) != 0)
			goto bad;
		A.f.subject = A.subject;
		mc_ui_copy(A.subject_text, sizeof(A.subject_text), f[0].value);
	}
	if (f[1].value[0]) {
		if (mc_cli_find_identity(app->cli, f[1].value, &who, &err) != 0)
			goto bad;
		memcpy(A.actor, who.pk, MC_PK_LEN);
		A.f.actor = A.actor;
		mc_ui_copy(A.actor_text, sizeof(A.actor_text), f[1].value);
		mc_identity_who(who.name, who.pk, A.actor_who, sizeof(A.actor_who));
		mc_hex(who.pk, MC_PK_LEN, A.actor_hex);
	}
	A.f.outcome = (uint8_t)f[2].choice;
	if (f[2].choice)
		mc_ui_copy(A.outcome_text, sizeof(A.outcome_text), outcomes[f[2].choice]);
	if (f[3].value[0]) {
		if (mc_time_parse(f[3].value, now, -1, &A.f.since) != 0) {
			mc_app_msg(app, true, _("Since: not a time"));
			return;
		}
		mc_ui_copy(A.since_text, sizeof(A.since_text), f[3].value);
	}
	if (f[4].value[0]) {
		if (mc_time_parse(f[4].value, now, -1, &A.f.until) != 0) {
			mc_app_msg(app, true, _("Until: not a time"));
			return;
		}
		mc_ui_copy(A.until_text, sizeof(A.until_text), f[4].value);
	}
	A.depth = 0;
	A.list.cursor = A.list.top = 0;
	load(app);
	return;
bad:
	mc_app_msg(app, true, "%s", err.msg);
}

static void audit_export(struct mc_app *app)
{
	static const char *const formats[] = { "csv", "fhir" };
	/* the filter on screen, as export's options */
	const struct {
		const char *opt, *value;
	} filter[] = { { "--subject", A.subject_text }, { "--actor", A.actor_hex }, { "--outcome", A.outcome_text },
		       { "--since", A.since_text }, { "--until", A.until_text } };
	struct mc_form_field f[2];
	const char *argv[24];
	int n = 0;

	if (mc_app_busy(app))
		return;
	memset(f, 0, sizeof(f));
	f[0].label = _("Format");
	f[0].choices = formats;
	f[0].nchoices = 2;
	mc_form_text(&f[1], _("File"),
		     _("written whole, mode 0600: it names patients' pseudonyms and readers"), NULL);
	snprintf(f[1].value, sizeof(f[1].value), "audit-export.%s", "csv");
	if (!mc_form_run(app, _("Export the audit trail (the filter applies)"), f, 2) || !f[1].value[0])
		return;
	argv[n++] = "audit";
	argv[n++] = "export";
	argv[n++] = "--format";
	argv[n++] = formats[f[0].choice];
	argv[n++] = "-o";
	argv[n++] = f[1].value;
	for (size_t i = 0; i < MC_ARRAY_LEN(filter); i++)
		if (filter[i].value[0]) {
			argv[n++] = filter[i].opt;
			argv[n++] = filter[i].value;
		}
	argv[n] = NULL;
	if (mc_app_job(app, _("exporting the audit trail"), MC_SCR_AUDIT, 0, argv, true) < 0)
		mc_app_msg(app, true, _("cannot start the export"));
}

static void job_done(struct mc_app *app, struct mc_job *j)
{
	if (j->exit_code == 0)
		mc_app_msg(app, false, _("audit trail exported"));
	else
		mc_app_msg(app, true, _("export failed (exit %d): %s"), j->exit_code, j->last_line);
}

/* To the next (older) page, which leaves follow mode, or back. */
static void turn(struct mc_app *app, bool next)
{
	if (next) {
		A.start_h[A.depth + 1] = A.rows->page.last_h;
		A.start_t[A.depth + 1] = A.rows->page.last_t;
		A.depth++;
		A.follow = false;
	} else {
		A.depth--;
	}
	load(app);
}

static bool act(struct mc_app *app, int a)
{
	int page = mc_screen_body_rows() - 4;

	switch (a) {
	case MC_ACT_FILTER:
		audit_filter(app);
		return true;
	case ACT_FOLLOW:
		A.follow = !A.follow;
		A.depth = 0;
		A.list.cursor = A.list.top = 0;
		load(app);
		mc_app_msg(app, false, A.follow ? _("following: new events appear at the top") : _("follow mode off"));
		return true;
	case ACT_EXPORT:
		audit_export(app);
		return true;
	default:
		return mc_list_paged(app, &A.list, a, page, A.rows && A.rows->page.more && A.depth + 1 < DEPTH,
				     A.depth > 0, turn);
	}
}

static void tick(struct mc_app *app)
{
	if (A.follow && A.depth == 0)
		load(app);
}

/* L10N: Help's explanations of this screen's keys; key names stay as they are */
static const struct mc_action_def keys[] = {
	{ MC_ACT_FILTER, '/', "/", N_("filter by patient, actor, outcome and time"), MC_ROLES_ANY },
	{ ACT_FOLLOW, 'f', "f", N_("follow: show new events as they come"), MC_ROLES_ANY },
	{ ACT_EXPORT, 'e', "e", N_("export what the filter shows: CSV or FHIR"), MC_ROLE_ADMIN | MC_ROLE_AUDITOR },
};

const struct mc_screen_ops mc_scr_audit = {
	.load = load, .draw = draw, .act = act, .tick = tick, .job_done = job_done, .keys = keys,
	.nkeys = MC_ARRAY_LEN(keys)
};
