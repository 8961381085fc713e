/* SPDX-License-Identifier: Apache-2.0 */
/* Dashboard: the chain at a glance. */
#include "config.h"

#include <curses.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include "i18n.h"
#include "model_dash.h"
#include "model_nodes.h"
#include "ops.h"
#include "screens.h"
#include "text.h"
#include "util.h"
#include "widgets.h"

/* this screen's own actions (its keys: keys[] below) */
enum { ACT_VERIFY = MC_ACT_OWN, ACT_ACK_ALERT };

/* The validators and how many are up: the Nodes screen's model, reloaded
 * with the rest every tick (the status file serve writes is live). */
static struct mc_nodes g_nodes;
static bool g_nodes_ok;
/* the selected alert, for ACT_ACK_ALERT */
static unsigned g_sel;

static void nodes_load(struct mc_app *app)
{
	struct mc_err err = { 0 };
	char path[PATH_MAX];

	mc_cli_path(app->cli, path, sizeof(path), "serve.status.json");
	g_nodes_ok = mc_nodes_load(app->cli->store, app->node->pk, app->cli->conf.node_name, path, mc_now_ms(),
				   &g_nodes, &err) == 0;
}

/* The data is the app's: loaded once a tick for the status line and here. */
static void load(struct mc_app *app)
{
	mc_app_refresh(app);
	nodes_load(app);
}

static void tick(struct mc_app *app)
{
	nodes_load(app);
}

static void sparkline(struct mc_app *app, const uint64_t *v, int n, char *out, size_t cap)
{
	static const char *const blocks[] = { " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
					      "\u2587", "\u2588" };
	static const char ascii[] = " .:-=+*#@";
	uint64_t max = 0;
	size_t o = 0;

	for (int i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	for (int i = 0; i < n && o + 4 < cap; i++) {
		int lvl = max ? (int)((v[i] * 8 + max - 1) / max) : 0;

		if (app->ascii) {
			out[o++] = ascii[lvl];
		} else {
			size_t l = strlen(blocks[lvl]);

			memcpy(out + o, blocks[lvl], l);
			o += l;
		}
	}
	out[o] = '\0';
}

/* The leader's name, or its short key. */
static const char *leader_name(char *buf, size_t n)
{
	for (unsigned i = 0; i < g_nodes.n; i++) {
		const struct mc_node_row *v = &g_nodes.rows[i];
		char hex[2 * MC_PK_LEN + 1];

		if (!v->leader)
			continue;
		mc_hex(v->pk, MC_PK_LEN, hex);
		if (v->self)
			snprintf(buf, n, _("%s (this node)"), v->name[0] ? v->name : hex);
		else
			snprintf(buf, n, "%.*s", v->name[0] ? 64 : 12, v->name[0] ? v->name : hex);
		return buf;
	}
	return "-";
}

/* The left column: the chain's head and counts. */
static void draw_chain(const struct mc_dash *d, int y, int w)
{
	char b[128], hex[65];
	int r = y + 1;

	mc_ui_put(y, 1, w, MC_STYLE_HEAD, _("Chain"));
	mc_hex(d->head.hash, MC_HASH_LEN, hex);
	mc_time_format(d->head.timestamp_ms, b, sizeof(b));
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("height        %llu"), (unsigned long long)d->head.height);
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("head          %.16s..."), hex);
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("last block    %s"), b);
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("transactions  %llu"), (unsigned long long)d->txs);
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("identities    %llu"), (unsigned long long)d->identities);
	mc_ui_putf(r++, 2, w, MC_STYLE_NORMAL, _("record versions %llu"), (unsigned long long)d->record_versions);
}

/* The right column's first part: the last and pending anchors, the last
 * verify. Returns the next row. */
static int draw_anchoring(const struct mc_dash *d, int r, int x2, int w)
{
	char a[128], hex[65];

	mc_ui_put(r++, x2, w, MC_STYLE_HEAD, _("Anchoring"));
	if (d->anchored) {
		mc_ui_age(mc_now_ms() > d->last_anchor_ms ? mc_now_ms() - d->last_anchor_ms : 0, a, sizeof(a));
		mc_hex(d->last.a.tx_hash, 32, hex);
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_OK, _("last anchor   tree size %llu, %s"),
			   (unsigned long long)d->last.a.tree_size, a);
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_NORMAL, _("public tx     0x%.12s... block %llu"), hex,
			   (unsigned long long)d->last.a.block_number);
	} else {
		mc_ui_put(r++, x2 + 1, w, MC_STYLE_WARN, _("last anchor   none yet"));
		r++;
	}
	if (d->pending)
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_WARN, _("pending       anchor %llu (%s), tree size %llu"),
			   (unsigned long long)d->pending_seq, d->pending_state, (unsigned long long)d->pending_size);
	else
		mc_ui_put(r++, x2 + 1, w, MC_STYLE_NORMAL, _("pending       none"));
	if (!d->verify_ran) {
		mc_ui_put(r++, x2 + 1, w, d->verify_overdue ? MC_STYLE_WARN : MC_STYLE_NORMAL,
			  _("last verify   never run"));
	} else {
		mc_ui_age(mc_now_ms() > d->verify.time_ms ? mc_now_ms() - d->verify.time_ms : 0, a, sizeof(a));
		if (d->verify.ok)
			mc_ui_putf(r++, x2 + 1, w, d->verify_overdue ? MC_STYLE_WARN : MC_STYLE_OK,
				   _("last verify   ok, %s"), a);
		else
			mc_ui_putf(r++, x2 + 1, w, MC_STYLE_BAD, _("last verify   DAMAGED, %s"), a);
	}
	return r;
}

/* The right column's second part: the validators and the leader. */
static void draw_nodes(const struct mc_dash *d, int r, int x2, int w)
{
	char a[128];

	mc_ui_put(r++, x2, w, MC_STYLE_HEAD, _("Nodes"));
	if (!g_nodes_ok) {
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_NORMAL, _("validators    %u"), d->validators);
	} else if (g_nodes.live) {
		mc_ui_putf(r++, x2 + 1, w, g_nodes.up < g_nodes.n ? MC_STYLE_WARN : MC_STYLE_OK,
			   _("validators    %u, %u up"), g_nodes.n, g_nodes.up);
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_NORMAL, _("leader        %s"), leader_name(a, sizeof(a)));
	} else {
		mc_ui_putf(r++, x2 + 1, w, MC_STYLE_NORMAL, _("validators    %u"), g_nodes.n);
		mc_ui_put(r++, x2 + 1, w, MC_STYLE_WARN, _("serve not running: states unknown"));
	}
}

/* The blocks per hour and the alert counts, full width from row r.
 * Returns the next row. */
static int draw_activity(struct mc_app *app, const struct mc_dash *d, int r)
{
	char spark[256], bg[64], db[64], ex[64], sg[64];
	uint64_t max = 0;

	for (int i = 0; i < MC_DASH_HOURS; i++)
		if (d->per_hour[i] > max)
			max = d->per_hour[i];
	sparkline(app, d->per_hour, MC_DASH_HOURS, spark, sizeof(spark));
	mc_ui_putf(r++, 1, COLS - 2, MC_STYLE_HEAD, _("Blocks per hour, last 24 hours (peak %llu)"),
		   (unsigned long long)max);
	mc_ui_putf(r++, 2, COLS - 3, MC_STYLE_OK, "[%s]", spark);
	r++;
	snprintf(bg, sizeof(bg), P_("%u break-glass read (24 h)", "%u break-glass reads (24 h)", d->break_glass),
		 d->break_glass);
	snprintf(db, sizeof(db), P_("%u burst of denials", "%u bursts of denials", d->deny_bursts), d->deny_bursts);
	snprintf(ex, sizeof(ex), P_("%u grant ending in 7 days", "%u grants ending in 7 days", d->expiring),
		 d->expiring);
	snprintf(sg, sizeof(sg), P_("%u grant recorded by staff", "%u grants recorded by staff", d->staff_grants),
		 d->staff_grants);
	/* L10N: the four parts are the counts above */
	mc_ui_putf(r++, 1, COLS - 2, d->nalerts ? MC_STYLE_WARN : MC_STYLE_HEAD, _("Alerts: %s, %s, %s, %s"), bg, db,
		   ex, sg);
	return r;
}

/* An alert's line (after its id) and its style. */
static enum mc_ui_style alert_text(const struct mc_alert *al, char *text, size_t n)
{
	char when[32], rec[33], gid[33], addr[41];

	mc_time_format(al->time_ms, when, sizeof(when));
	mc_hex(al->record, 16, rec);
	mc_hex(al->grant, 16, gid);
	mc_hex(al->address, 20, addr);
	switch (al->kind) {
	case MC_ALERT_VERIFY_FAILED:
		snprintf(text, n, _("%s  verify failed: %s"), when, al->message);
		return MC_STYLE_BAD;
	case MC_ALERT_VERIFY_OVERDUE:
		snprintf(text, n,
			 al->never ? _("%s  verify has never run on this node (chain started then)")
				   : _("%s  verify has not run since"), when);
		return MC_STYLE_WARN;
	case MC_ALERT_SERVE_DOWN:
		snprintf(text, n, "%s", _("serve is not running: validator states unknown"));
		return MC_STYLE_BAD;
	case MC_ALERT_VALIDATOR_DOWN:
		snprintf(text, n, _("%s  validator %s has not been heard from since"), when, al->message);
		return MC_STYLE_BAD;
	case MC_ALERT_VALIDATOR_LAGGING:
		snprintf(text, n, _("%s  validator %s lacks block %llu, made then (%u blocks behind)"), when,
			 al->message, (unsigned long long)al->height, al->count);
		return MC_STYLE_WARN;
	case MC_ALERT_ANCHOR_OVERDUE:
		snprintf(text, n, _("%s  no anchor since: past [anchor] overdue_after"), when);
		return MC_STYLE_WARN;
	case MC_ALERT_ANCHOR_STUCK:
		snprintf(text, n, _("%s  anchor %llu still %s since: past 3 x [anchor] bump_after"), when,
			 (unsigned long long)al->seq, al->message);
		return MC_STYLE_WARN;
	case MC_ALERT_BALANCE_LOW:
		snprintf(text, n, _("%s  the anchor key 0x%.12s... cannot pay %d more anchors"), when, addr, 20);
		return MC_STYLE_WARN;
	case MC_ALERT_BREAK_GLASS:
		snprintf(text, n, _("%s  break-glass read of record %.12s... (block %llu)"), when, rec,
			 (unsigned long long)al->height);
		return MC_STYLE_BAD;
	case MC_ALERT_DENY_BURST:
		snprintf(text, n, _("%s  %u denied reads by one reader in an hour"), when, al->count);
		return MC_STYLE_WARN;
	case MC_ALERT_LOST_KEY_ROTATION:
		snprintf(text, n, _("%s  an identity moved to a new key without its old key's signature (block %llu)"),
			 when, (unsigned long long)al->height);
		return MC_STYLE_BAD;
	case MC_ALERT_ENROLLER_GRANT:
		snprintf(text, n, _("%s  grant %.12s... signed by a patient identity its grantee enrolled"), when, gid);
		return MC_STYLE_BAD;
	case MC_ALERT_ENROLLER_COLLEAGUE_GRANT:
		snprintf(text, n, _("%s  grant %.12s... signed by a new patient identity to its enroller's colleague"),
			 when, gid);
		return MC_STYLE_BAD;
	case MC_ALERT_STAFF_GRANT:
		snprintf(text, n, _("%s  grant %.12s... recorded by staff, not the patient"), when, gid);
		return MC_STYLE_NORMAL;
	default:
		snprintf(text, n, _("%s  grant %.12s... ends"), when, gid);
		return MC_STYLE_NORMAL;
	}
}

/* The alerts, one a line from row r to the body's end, the selected one
 * highlighted; then the hint line. */
static void draw_alerts(const struct mc_dash *d, int r, int y, int h)
{
	if (g_sel >= d->nalerts)
		g_sel = d->nalerts ? d->nalerts - 1 : 0;
	for (unsigned i = 0; i < d->nalerts && r < y + h; i++) {
		const struct mc_alert *al = &d->alerts[i];
		char id[2 * MC_ALERT_ID_LEN + 1], text[768];
		enum mc_ui_style st = alert_text(al, text, sizeof(text));

		mc_hex(al->id, MC_ALERT_ID_LEN, id);
		mc_ui_putf(r++, 2, COLS - 3, i == g_sel ? MC_STYLE_CURRENT : st, "%s  %s", id, text);
	}
	if (!d->nalerts && r < y + h)
		mc_ui_put(r++, 2, COLS - 3, MC_STYLE_DIM, _("no alerts"));
	if (r < y + h - 1)
		mc_ui_put(y + h - 1, 1, COLS - 2, MC_STYLE_DIM, _("V verify the chain, a acknowledge the selected alert, r reload, ? every key"));
}

/* Two columns (the chain; anchoring and nodes), then the activity and the
 * alerts across the width. */
static void draw(struct mc_app *app, int y, int h)
{
	const struct mc_dash *d = app->dash;
	int w = COLS / 2 - 1, x2 = COLS / 2 + 1;

	if (!d || app->dash_err[0]) {
		mc_ui_put(y + 1, 1, COLS - 2, MC_STYLE_BAD, app->dash_err[0] ? app->dash_err : _("out of memory"));
		return;
	}
	draw_chain(d, y, w);
	draw_nodes(d, draw_anchoring(d, y, x2, w), x2, w);
	draw_alerts(d, draw_activity(app, d, y + 8), y, h);
}

/* Acknowledges the selected alert with a reason, on the chain. */
static void ack(struct mc_app *app)
{
	const struct mc_dash *d = app->dash;
	struct mc_alert al;
	struct mc_form_field f[1];
	struct mc_err err = { 0 };
	char id[2 * MC_ALERT_ID_LEN + 1];
	uint64_t height;

	if (!d || g_sel >= d->nalerts) {
		mc_app_msg(app, true, _("no alert to acknowledge"));
		return;
	}
	al = d->alerts[g_sel];
	mc_hex(al.id, MC_ALERT_ID_LEN, id);
	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Reason"), _("recorded on the chain: no health data"), NULL);
	{
		char title[128];

		/* L10N: the form's title: the alert's kind (its machine name) and id */
		snprintf(title, sizeof(title), _("Acknowledge %s %s"), mc_alert_name(al.kind), id);
		if (!mc_form_run(app, title, f, 1))
			return;
	}
	if (mc_op_alert_ack(app->cli, app->node, app->actor, al.kind, al.id, f[0].value, &height, &err) != 0) {
		mc_app_msg(app, true, "%s", err.msg);
		return;
	}
	mc_app_msg(app, false, _("alert %s acknowledged in block %llu"), id, (unsigned long long)height);
	load(app);
}

static bool act(struct mc_app *app, int a)
{
	static const char *const args[] = { "--json", "verify", NULL };

	if (a == ACT_ACK_ALERT) {
		ack(app);
		return true;
	}
	if (a == MC_ACT_UP || a == MC_ACT_DOWN) {
		unsigned na = app->dash ? app->dash->nalerts : 0;

		if (a == MC_ACT_UP && g_sel > 0)
			g_sel--;
		else if (a == MC_ACT_DOWN && g_sel + 1 < na)
			g_sel++;
		return true;
	}
	if (a != ACT_VERIFY)
		return false;
	if (!mc_app_busy(app) && mc_app_job(app, _("verifying the chain"), MC_SCR_DASHBOARD, 0, args, true) < 0)
		mc_app_msg(app, true, _("cannot start the verification"));
	return true;
}

static void job_done(struct mc_app *app, struct mc_job *j)
{
	cJSON *o = j->out ? cJSON_Parse(j->out) : NULL;
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(o, "blocks");

	if (j->exit_code == 0 && cJSON_IsNumber(blocks)) {
		app->verify_failed = false;
		mc_app_msg(app, false, _("verify: ok, %.0f blocks checked"), blocks->valuedouble);
	} else {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "error");

		app->verify_failed = j->exit_code == 65;
		mc_app_msg(app, true, _("verify failed (exit %d): %s"), j->exit_code,
			   cJSON_IsString(m) ? m->valuestring : j->last_line);
	}
	cJSON_Delete(o);
}

/* L10N: Help's explanations of this screen's keys; key names stay as they are */
static const struct mc_action_def keys[] = {
	{ ACT_VERIFY, 'V', "V", N_("verify the whole chain, in the background"), MC_ROLES_ANY },
	{ ACT_ACK_ALERT, 'a', "a",
	  N_("acknowledge the selected alert (Up/Down select it), with a reason; recorded on the chain"),
	  MC_ROLE_ADMIN },
};

const struct mc_screen_ops mc_scr_dashboard = {
	.load = load, .draw = draw, .act = act, .tick = tick, .job_done = job_done, .keys = keys,
	.nkeys = MC_ARRAY_LEN(keys)
};
