/* SPDX-License-Identifier: Apache-2.0 */
/* Anchors: the anchor journal with public tx, block, attempts and state,
 * each confirmed anchor's consistency proof checked from the one before;
 * "anchor now" and "verify a proof" run in the background. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "i18n.h"
#include "model_anchors.h"
#include "screens.h"
#include "text.h"
#include "util.h"
#include "widgets.h"

/* this screen's own actions (its keys: keys[] below) */
enum { ACT_ANCHOR_NOW = MC_ACT_OWN, ACT_VERIFY_PROOF };

/* the kinds of job it starts (struct mc_job's kind; its owner is MC_SCR_ANCHORS) */
enum { JOB_ANCHOR, JOB_PROOF, JOB_CONF };

#define CONF_MAX 256

static const int ANCHOR_COLS[] = { -4, 10, -8, -5, 16, -7, -5, -2, 0 };

static struct {
	struct mc_anchor_rows *rows;
	struct mc_list list;
	/* confirmations on the public chain, fetched in the background */
	uint64_t conf_seq[CONF_MAX], conf_n[CONF_MAX];
	bool conf_final[CONF_MAX];
	unsigned nconf;
	uint64_t conf_at;                 /* when they were fetched (monotonic ms) */
	char err[MC_ERR_MSG_MAX];
	char proof_path[256];
} N;

static void fetch_confirmations(struct mc_app *app)
{
	static const char *const args[] = { "--json", "anchor", "list", "--public", NULL };
	uint64_t now = mc_now_ms_mono();
	int rc;

	if (!app->cli->conf.rpc_url[0] || mc_job_running(&app->job))
		return;
	rc = mc_app_job(app, _("asking the public chain for confirmations"), MC_SCR_ANCHORS, JOB_CONF, args, false);
	if (rc == 0) {
		N.conf_at = now;
		app->job.background = true;
	} else if (rc < 0) {
		N.conf_at = 0;
	}
}

static void load(struct mc_app *app)
{
	struct mc_err err = { 0 };

	if (!N.rows && !(N.rows = calloc(1, sizeof(*N.rows))))
		return;
	mc_ui_load_err(N.err, sizeof(N.err), mc_anchor_rows_load(app->cli->store, N.rows, &err), &err);
	N.list.count = (int)N.rows->n;
	/* at most every 30 s, off the input path */
	if (N.rows->n && (!N.conf_at || mc_now_ms_mono() - N.conf_at > 30000))
		fetch_confirmations(app);
}

static const char *conf_of(uint64_t seq, char *buf, size_t n)
{
	for (unsigned i = 0; i < N.nconf; i++)
		if (N.conf_seq[i] == seq) {
			snprintf(buf, n, "%llu%s", (unsigned long long)N.conf_n[i], N.conf_final[i] ? "F" : "");
			return buf;
		}
	return "-";
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_anchor_row *r = &N.rows->rows[i];
	char tx[65], conf[32];

	(void)ctx;
	mc_hex(r->tx, 32, tx);
	{
		char seq[24], size[24], nonce[24], txs[24], blk[24], att[8];
		const char *cells[] = { seq, r->state, size, nonce, txs, blk, conf_of(r->seq, conf, sizeof(conf)), att,
					r->consistency > 0 ? _("ok") : r->consistency == 0 ? "-" : _("FAILED") };

		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)r->seq);
		snprintf(size, sizeof(size), "%llu", (unsigned long long)r->tree_size);
		snprintf(nonce, sizeof(nonce), "%llu", (unsigned long long)r->nonce);
		snprintf(txs, sizeof(txs), "0x%.12s..", tx);
		snprintf(blk, sizeof(blk), "%llu", (unsigned long long)r->block);
		snprintf(att, sizeof(att), "%u", r->attempts);
		mc_ui_row(buf, n, ANCHOR_COLS, cells, 9);
	}
	if (r->consistency < 0)
		*st = MC_STYLE_BAD;
	else if (strcmp(r->state, "confirmed") != 0 && strcmp(r->state, "superseded") != 0)
		*st = MC_STYLE_WARN;
	else if (strcmp(r->state, "superseded") == 0)
		*st = MC_STYLE_DIM;
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[160], tx[65];

	if (N.err[0]) {
		mc_ui_put(y + 1, 1, COLS - 2, MC_STYLE_BAD, N.err);
		return;
	}
	if (N.rows->anchored) {
		mc_hex(N.rows->last.a.tx_hash, 32, tx);
		mc_ui_putf(y, 1, COLS - 2, MC_STYLE_HEAD,
			   _("Last committed anchor: tree size %llu of %llu blocks, chain %llu, tx 0x%.16s..., private block %llu"),
			   (unsigned long long)N.rows->last.a.tree_size, (unsigned long long)N.rows->chain_height + 1,
			   (unsigned long long)N.rows->last.a.public_chain_id, tx, (unsigned long long)N.rows->last.height);
	} else {
		mc_ui_put(y, 1, COLS - 2, MC_STYLE_WARN, _("No anchor is committed yet"));
	}
	mc_ui_putf(y + 1, 1, COLS - 2, MC_STYLE_DIM, _("public chain: %s"),
		   app->cli->conf.rpc_url[0] ? app->cli->conf.rpc_url : _("not configured ([anchor] rpc_url)"));
	/* L10N: column heads of the anchor journal: keep each as short as the
	 * English; CONF is the number of confirmations, TX the attempts */
	{
		const char *heads[] = { _("SEQ"), _("STATE"), _("SIZE"), _("NONCE"), _("PUBLIC TX"), _("BLOCK"), _("CONF"),
					_("TX"), _("CHECK") };

		mc_ui_row(head, sizeof(head), ANCHOR_COLS, heads, 9);
	}
	mc_list_body(&N.list, y + 2, y + h - 1, head, row, _("the anchor journal is empty"),
		     _("a anchor now, v verify a proof bundle"));
}

static bool busy(struct mc_app *app)
{
	/* asking for confirmations gives way to what the operator asked for */
	if (mc_job_running(&app->job) && app->job.owner == MC_SCR_ANCHORS && app->job.kind == JOB_CONF)
		mc_job_clear(&app->job);
	return mc_app_busy(app);
}

static void anchor_now(struct mc_app *app)
{
	static const char *const args[] = { "--json", "anchor", NULL };

	if (busy(app))
		return;
	if (!app->cli->conf.rpc_url[0]) {
		mc_app_msg(app, true, _("no public chain is configured: set rpc_url in [anchor] of medchain.conf"));
		return;
	}
	if (mc_app_job(app, _("anchoring"), MC_SCR_ANCHORS, JOB_ANCHOR, args, true) < 0)
		mc_app_msg(app, true, _("cannot start the anchor run"));
}

static void verify_proof(struct mc_app *app)
{
	struct mc_form_field f[1];
	const char *args[] = { "--json", "proof", "verify", N.proof_path, NULL };

	if (busy(app))
		return;
	memset(f, 0, sizeof(f));
	mc_form_text(&f[0], _("Bundle file"),
		     _("made by medchain proof export; checked against the public chain when rpc_url is set"), N.proof_path);
	if (!mc_form_run(app, _("Verify a proof bundle"), f, 1) || !f[0].value[0])
		return;
	mc_ui_copy(N.proof_path, sizeof(N.proof_path), f[0].value);
	if (mc_app_job(app, _("verifying the proof"), MC_SCR_ANCHORS, JOB_PROOF, args, false) < 0)
		mc_app_msg(app, true, _("cannot start the proof check"));
}

static void job_done(struct mc_app *app, struct mc_job *j)
{
	cJSON *o = j->out ? cJSON_Parse(j->out) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");

	if (j->kind == JOB_CONF) {
		const cJSON *it;

		N.nconf = 0;
		if (j->exit_code != 0 || !cJSON_IsArray(o)) {
			mc_app_msg(app, true, _("confirmations: the public chain did not answer (%s)"), j->last_line);
		} else {
			cJSON_ArrayForEach(it, o) {
				const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "seq");
				const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "confirmations");
				const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "final");

				if (N.nconf < CONF_MAX && cJSON_IsNumber(seq) && cJSON_IsNumber(c)) {
					N.conf_seq[N.nconf] = (uint64_t)seq->valuedouble;
					N.conf_n[N.nconf] = (uint64_t)c->valuedouble;
					N.conf_final[N.nconf++] = cJSON_IsTrue(f);
				}
			}
			mc_app_msg(app, false, _("confirmations from the public chain: F marks a final block"));
		}
	} else if (j->kind == JOB_PROOF) {
		const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
		const cJSON *pub = cJSON_GetObjectItemCaseSensitive(o, "public_chain_checked");

		if (cJSON_IsTrue(ok))
			mc_app_msg(app, false, _("the proof holds%s"),
				   cJSON_IsTrue(pub) ? _(", and the public chain carries its root")
						     : _(" offline (no public chain configured)"));
		else
			mc_app_msg(app, true, _("the proof fails (exit %d): %s"), j->exit_code,
				   cJSON_IsString(m) ? m->valuestring : j->last_line);
	} else {
		mc_app_msg(app, j->exit_code != 0 && j->exit_code != 75, _("anchor (exit %d): %s"), j->exit_code,
			   cJSON_IsString(m) ? m->valuestring : j->last_line);
	}
	cJSON_Delete(o);
}

static bool act(struct mc_app *app, int a)
{
	switch (a) {
	case ACT_ANCHOR_NOW:
		anchor_now(app);
		return true;
	case ACT_VERIFY_PROOF:
		verify_proof(app);
		return true;
	default:
		return mc_list_action(&N.list, a, mc_screen_body_rows() - 5);
	}
}

static void tick(struct mc_app *app)
{
	if (mc_job_running(&app->job))
		load(app);
}

/* L10N: Help's explanations of this screen's keys; key names stay as they are */
static const struct mc_action_def keys[] = {
	{ ACT_ANCHOR_NOW, 'a', "a", N_("anchor now (in the background)"), MC_ROLE_ADMIN | MC_ROLE_NODE | MC_ROLE_ANCHOR },
	{ ACT_VERIFY_PROOF, 'v', "v", N_("verify a proof bundle file"), MC_ROLES_ANY },
};

const struct mc_screen_ops mc_scr_anchors = {
	.load = load, .draw = draw, .act = act, .tick = tick, .job_done = job_done, .keys = keys,
	.nkeys = MC_ARRAY_LEN(keys)
};
