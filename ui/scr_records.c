/* SPDX-License-Identifier: Apache-2.0 */
/* Records: the newest version of each record (one patient's, one
 * category), a record's history, and reading one: the purpose is asked
 * (or a break-glass reason), consent is checked on chain and the read is
 * audited before any plaintext is shown. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "i18n.h"
#include "model_records.h"
#include "ops.h"
#include "screens.h"
#include "text.h"
#include "util.h"
#include "widgets.h"

/* this screen's own actions (its keys: keys[] below) */
enum { ACT_OPEN = MC_ACT_OWN, ACT_BREAK_GLASS, ACT_HISTORY };

#define PAGE 200

static const int RECORD_COLS[] = { 12, 4, 12, 21, -7, -6, 0 };
#define DEPTH 256

static struct {
	struct mc_records_page *page;
	struct mc_list list;
	bool has_subject;
	uint8_t subject[MC_HASH_LEN];
	char subject_text[MC_SUBJECT_MAX + 1];
	char category[MC_CATEGORY_MAX + 1];
	uint8_t starts[DEPTH][MC_RECORD_ID_LEN];   /* the "after" of each page */
	int depth;                                 /* page number (0: first) */
	bool history;
	uint8_t history_id[MC_RECORD_ID_LEN];
	char err[MC_ERR_MSG_MAX];
} R;

static void load_page(struct mc_app *app)
{
	struct mc_err err = { 0 };

	if (!R.page && !(R.page = calloc(1, sizeof(*R.page))))
		return;
	mc_ui_load_err(R.err, sizeof(R.err),
		       R.history ? mc_records_history_load(app->cli->store, R.history_id, R.page, &err)
				 : mc_records_page_load(app->cli->store, R.has_subject ? R.subject : NULL, R.category,
							R.depth ? R.starts[R.depth] : NULL, PAGE, R.page, &err),
		       &err);
	R.list.count = (int)R.page->n;
}

static void load(struct mc_app *app)
{
	load_page(app);
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_record_info *r = &R.page->rows[i];
	char id[33], subj[65];

	(void)ctx;
	mc_hex(r->id, MC_RECORD_ID_LEN, id);
	mc_hex(r->subject, MC_HASH_LEN, subj);
	char ver[16], size[24], blk[24], pat[32];
	const char *cells[7];

	snprintf(ver, sizeof(ver), "v%u", r->version);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)r->size);
	snprintf(blk, sizeof(blk), "%llu", (unsigned long long)r->height);
	snprintf(pat, sizeof(pat), " %.8s%s", subj, r->erased ? _(" erased") : "");
	cells[0] = id, cells[1] = ver, cells[2] = r->category, cells[3] = r->ctype;
	cells[4] = size, cells[5] = blk, cells[6] = pat;
	mc_ui_row(buf, n, RECORD_COLS, cells, 7);
	if (r->erased)
		*st = MC_STYLE_DIM;
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[256], title[256];

	(void)app;
	if (R.history) {
		char id[33];

		mc_hex(R.history_id, MC_RECORD_ID_LEN, id);
		snprintf(title, sizeof(title), _("History of record %s (Esc: back to the list)"), id);
	} else {
		snprintf(title, sizeof(title), _("Records%s%s%s%s, page %d%s"), R.has_subject ? _(" of patient ") : "",
			 R.has_subject ? R.subject_text : "", R.category[0] ? _(" in ") : "", R.category, R.depth + 1,
			 R.page && R.page->more ? _(" (PgDn at the end: next page)") : "");
	}
	mc_ui_put(y, 1, COLS - 2, MC_STYLE_HEAD, title);
	if (R.err[0]) {
		mc_ui_put(y + 2, 1, COLS - 2, MC_STYLE_BAD, R.err);
		return;
	}
	/* L10N: column heads of the Records list; each column is as wide as
	 * the English word or a little wider: keep them as short */
	{
		const char *cells[] = { _("RECORD"), _("VER"), _("CATEGORY"), _("TYPE"), _("BYTES"), _("BLOCK"), "" };
		char pat[64];

		snprintf(pat, sizeof(pat), " %s", _("PATIENT"));
		cells[6] = pat;
		mc_ui_row(head, sizeof(head), RECORD_COLS, cells, 7);
	}
	mc_list_body(&R.list, y + 1, y + h - 1, head, row, _("no records"),
		     _("Enter read, b break-glass, h history, / filter, PgUp/PgDn pages"));
}

static bool text_like(const char *ctype)
{
	return strncmp(ctype, "text/", 5) == 0 || strstr(ctype, "json") || strstr(ctype, "xml");
}

/* Indents JSON text for reading: a newline and two spaces per level after
 * { [ and , outside strings. Never parses into other allocations. */
static char *json_indent(const char *in, size_t n, size_t *outn)
{
	size_t cap = n * 3 + 64, o = 0;
	char *out = malloc(cap);
	int depth = 0;
	bool str = false, esc = false;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];

		if (o + 2 * (size_t)(depth + 2) + 4 >= cap) {
			char *m = malloc(cap * 2);

			if (!m) {
				mc_wipe(out, o);
				free(out);
				return NULL;
			}
			memcpy(m, out, o);
			mc_wipe(out, o);
			free(out);
			out = m;
			cap *= 2;
		}
		if (str) {
			out[o++] = c;
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				str = false;
			continue;
		}
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '}' || c == ']') {
			depth = depth > 0 ? depth - 1 : 0;
			out[o++] = '\n';
			for (int k = 0; k < 2 * depth; k++)
				out[o++] = ' ';
		}
		out[o++] = c;
		if (c == '"')
			str = true;
		else if (c == ':')
			out[o++] = ' ';
		if (c == '{' || c == '[' || c == ',') {
			if (c != ',')
				depth++;
			out[o++] = '\n';
			for (int k = 0; k < 2 * depth; k++)
				out[o++] = ' ';
		}
	}
	*outn = o;
	return out;
}

static void show(struct mc_app *app, struct mc_op_read *rd)
{
	static const uint8_t none[MC_GRANT_ID_LEN];
	char title[256], idhex[33], basis[64], gid[33];

	mc_hex(rd->info.id, MC_RECORD_ID_LEN, idhex);
	mc_hex(rd->d.grant, MC_GRANT_ID_LEN, gid);
	if (rd->d.outcome == MC_OUTCOME_BREAK_GLASS)
		mc_ui_copy(basis, sizeof(basis), _("BREAK-GLASS, flagged"));
	else if (memcmp(rd->d.grant, none, MC_GRANT_ID_LEN) != 0)
		snprintf(basis, sizeof(basis), _("permitted by grant %.8s"), gid);
	else
		mc_ui_copy(basis, sizeof(basis), _("permitted: you stored it"));
	snprintf(title, sizeof(title), _("record %.12s... v%u, %s, %s: %s, audited in block %llu"), idhex, rd->version,
		 rd->info.category, rd->info.ctype, basis, (unsigned long long)rd->height);
	if (strstr(rd->info.ctype, "json")) {
		/* FHIR resources, shown indented; the copy is wiped */
		size_t pn = 0;
		char *pretty = json_indent((const char *)rd->payload, rd->n, &pn);

		if (pretty) {
			mc_text_view(app, title, pretty, pn);
			mc_wipe(pretty, pn);
			free(pretty);
		} else {
			mc_text_view(app, title, (const char *)rd->payload, rd->n);
		}
	} else if (text_like(rd->info.ctype)) {
		mc_text_view(app, title, (const char *)rd->payload, rd->n);
	} else {
		char line[160];

		snprintf(line, sizeof(line), _("%zu bytes of %s: not shown as text (save it with medchain record get -o)"),
			 rd->n, rd->info.ctype);
		mc_text_view(app, title, line, strlen(line));
	}
}

static void read_record(struct mc_app *app, bool glass)
{
	/* every purpose but emergency (the last): that is a break-glass read */
	const char *purposes[MC_PURPOSE_EMERGENCY - 1];
	struct mc_form_field f[1];
	const struct mc_record_info *r;
	struct mc_op_read rd;
	struct mc_err err = { 0 };

	if (!R.list.count)
		return;
	r = &R.page->rows[R.list.cursor];
	memset(f, 0, sizeof(f));
	if (glass) {
		mc_form_text(&f[0], _("Reason"),
			     _("the emergency; it is recorded on the chain and flagged"), NULL);
		if (!mc_form_run(app, _("Break-glass read"), f, 1))
			return;
		if (!f[0].value[0] || !mc_text_clean(f[0].value, strlen(f[0].value))) {
			mc_app_msg(app, true, _("a break-glass read needs a reason"));
			return;
		}
	} else {
		f[0].label = _("Purpose");
		for (unsigned i = 0; i < MC_ARRAY_LEN(purposes); i++)
			purposes[i] = mc_purpose_name(MC_PURPOSE_TREATMENT + i);
		f[0].choices = purposes;
		f[0].nchoices = (int)MC_ARRAY_LEN(purposes);
		f[0].hint = _("why you read it: consent grants are for a purpose");
		if (!mc_form_run(app, _("Read a record"), f, 1))
			return;
	}
	if (mc_op_read(app->cli, app->node, app->actor, r->id, R.history ? r->version : 0,
		       glass ? MC_PURPOSE_EMERGENCY : (uint8_t)(MC_PURPOSE_TREATMENT + f[0].choice), glass ? f[0].value : NULL, &rd, &err) != 0) {
		mc_app_msg(app, true, "%s", err.msg);
		return;
	}
	if (rd.d.outcome == MC_OUTCOME_DENY) {
		mc_app_msg(app, true, _("access denied: %s (recorded in block %llu)"), mc_deny_text(rd.d.reason),
			   (unsigned long long)rd.height);
	} else {
		mc_app_msg(app, rd.d.outcome == MC_OUTCOME_BREAK_GLASS, _("read audited in block %llu%s"),
			   (unsigned long long)rd.height,
			   rd.d.outcome == MC_OUTCOME_BREAK_GLASS ? _(": break-glass, flagged") : "");
		show(app, &rd);
	}
	mc_op_read_release(&rd);
	load_page(app);
}

static void records_filter(struct mc_app *app)
{
	struct mc_form_field f[2];
	struct mc_err err = { 0 };

	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Patient"),
		     _("the hospital's patient identifier; empty: every patient"), R.subject_text);
	mc_form_text(&f[1], _("Category"), _("lab, note, imaging...; empty: every category"), R.category);
	if (!mc_form_run(app, _("Filter records"), f, 2))
		return;
	R.has_subject = false;
	R.subject_text[0] = '\0';
	if (f[0].value[0]) {
		if (mc_cli_subject(app->cli, f[0].value, R.subject, &err) != 0) {
			mc_app_msg(app, true, "%s", err.msg);
			return;
		}
		R.has_subject = true;
		mc_ui_copy(R.subject_text, sizeof(R.subject_text), f[0].value);
	}
	mc_ui_copy(R.category, sizeof(R.category), f[1].value);
	R.depth = 0;
	R.history = false;
	R.list.cursor = R.list.top = 0;
	load_page(app);
}

/* To the next page (it starts after this page's last record) or back. */
static void turn(struct mc_app *app, bool next)
{
	if (next) {
		memcpy(R.starts[R.depth + 1], R.page->rows[R.page->n - 1].id, MC_RECORD_ID_LEN);
		R.depth++;
	} else {
		R.depth--;
	}
	load_page(app);
}

static bool act(struct mc_app *app, int a)
{
	int page = mc_screen_body_rows() - 4;

	switch (a) {
	case ACT_OPEN:
		read_record(app, false);
		return true;
	case ACT_BREAK_GLASS:
		read_record(app, true);
		return true;
	case MC_ACT_FILTER:
		records_filter(app);
		return true;
	case ACT_HISTORY:
		if (!R.history && R.list.count) {
			memcpy(R.history_id, R.page->rows[R.list.cursor].id, MC_RECORD_ID_LEN);
			R.history = true;
			R.list.cursor = R.list.top = 0;
			load_page(app);
		}
		return true;
	case MC_ACT_CANCEL:
		if (R.history) {
			R.history = false;
			R.list.cursor = R.list.top = 0;
			load_page(app);
			return true;
		}
		return false;
	default:
		return mc_list_paged(app, &R.list, a, page, !R.history && R.page && R.page->more && R.depth + 1 < DEPTH,
				     !R.history && R.depth > 0, turn);
	}
}

/* L10N: Help's explanations of this screen's keys; key names stay as they are */
static const struct mc_action_def keys[] = {
	{ ACT_OPEN, '\n', "Enter", N_("read it: asks the purpose; consent checked, read audited"),
	  MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT },
	{ ACT_OPEN, KEY_ENTER, NULL, NULL, MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT },
	{ ACT_BREAK_GLASS, 'b', "b", N_("emergency read with a reason; flagged"), MC_ROLE_CLINICIAN },
	{ ACT_HISTORY, 'h', "h", N_("the record's versions"), MC_ROLES_ANY },
	{ MC_ACT_FILTER, '/', "/", N_("filter by patient and category"), MC_ROLES_ANY },
};

const struct mc_screen_ops mc_scr_records = {
	.load = load, .draw = draw, .act = act, .keys = keys, .nkeys = MC_ARRAY_LEN(keys)
};
