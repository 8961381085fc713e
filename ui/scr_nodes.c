/* SPDX-License-Identifier: Apache-2.0 */
/* Nodes: every validator in force and its live status (state, height, lag
 * behind this node, last seen, version), as `medchain node list` shows it.
 * The model reads the chain and the status file `medchain serve` writes;
 * the screen reloads it every refresh tick, so the states are live. */
#include "config.h"

#include <curses.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "model_nodes.h"
#include "screens.h"
#include "widgets.h"

/* A URL column narrower than this is left out (the detail pane shows it). */
#define URL_MIN 16
#define NCOLS 9

static struct mc_nodes g_nodes;
static struct mc_list g_list;
static char g_err[MC_ERR_MSG_MAX];
static int g_cols[NCOLS];
static int g_ncols;

static void load(struct mc_app *app)
{
	struct mc_err err = { 0 };
	char path[PATH_MAX];

	mc_cli_path(app->cli, path, sizeof(path), "serve.status.json");
	mc_ui_load_err(g_err, sizeof(g_err),
		       mc_nodes_load(app->cli->store, app->node->pk, app->cli->conf.node_name, path, mc_now_ms(),
				     &g_nodes, &err), &err);
	g_list.count = (int)g_nodes.n;
}

static void tick(struct mc_app *app)
{
	load(app);
}

/* The state word, translated. The msgids carry a context before "|" (the
 * keys' "up" and "down" are other words): a catalog translates the whole
 * msgid, and what is left untranslated loses its context here. */
static const char *state_word(enum mc_node_state st)
{
	/* L10N: a node's state in the Nodes list: translate only the word after
	 * "|" (keep it short: it fills a narrow column) */
	const char *s = st == MC_NODE_UP ? _("node state|up") : st == MC_NODE_DOWN ? _("node state|down")
										  : _("node state|unknown");
	const char *bar = strchr(s, '|');

	return bar ? bar + 1 : s;
}

static int max_width(int w, const char *s)
{
	int x = mc_ui_width(s);

	return x > w ? x : w;
}

/* Column widths for width w: mark, key, name, state, height, lag, seen,
 * version and, when there is room, the URL. */
static void layout(int w)
{
	char a[32], b[32];
	int used = 0;

	mc_ui_age(119000, a, sizeof(a));
	mc_ui_age(7199000, b, sizeof(b));
	g_cols[0] = 2;
	g_cols[1] = 12;
	g_cols[2] = 12;
	g_cols[3] = max_width(max_width(max_width(max_width(5, _("STATE")), state_word(MC_NODE_UP)),
					state_word(MC_NODE_DOWN)), state_word(MC_NODE_UNKNOWN));
	g_cols[4] = -max_width(7, _("HEIGHT"));
	g_cols[5] = -max_width(5, _("LAG"));
	g_cols[6] = max_width(max_width(max_width(7, _("SEEN")), a), b);
	g_cols[7] = max_width(7, _("VERSION"));
	g_cols[8] = 0;
	for (int i = 0; i < 8; i++)
		used += abs(g_cols[i]) + 1;
	g_ncols = w - used >= URL_MIN ? 9 : 8;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_node_row *r = &g_nodes.rows[i];
	char hex[2 * MC_PK_LEN + 1], mark[3], height[24] = "-", lag[24] = "-", seen[32] = "-";
	const char *cells[NCOLS];

	(void)ctx;
	mc_hex(r->pk, MC_PK_LEN, hex);
	mark[0] = r->self ? '>' : ' ';
	mark[1] = r->leader ? '*' : ' ';
	mark[2] = '\0';
	if (r->has_height) {
		snprintf(height, sizeof(height), "%llu", (unsigned long long)r->height);
		snprintf(lag, sizeof(lag), "%lld", (long long)r->lag);
	}
	if (r->seen)
		mc_ui_age(r->seen_age_ms, seen, sizeof(seen));
	cells[0] = mark;
	cells[1] = hex;
	cells[2] = r->name[0] ? r->name : "-";
	cells[3] = state_word(r->state);
	cells[4] = height;
	cells[5] = lag;
	cells[6] = seen;
	cells[7] = r->version[0] ? r->version : "-";
	cells[8] = r->url[0] ? r->url : r->self ? _("(this node)") : "-";
	mc_ui_row(buf, n, g_cols, cells, g_ncols);
	if (r->state == MC_NODE_DOWN)
		*st = MC_STYLE_BAD;
	else if (r->state == MC_NODE_UNKNOWN)
		*st = MC_STYLE_DIM;
}

/* The row under the cursor in full: its key, URL, organization and what
 * serve last had to say about it. */
static void detail(int y, int w)
{
	const struct mc_node_row *r;
	char hex[2 * MC_PK_LEN + 1], title[512];
	const char *labels[3], *values[3];

	if (g_list.cursor < 0 || g_list.cursor >= (int)g_nodes.n)
		return;
	r = &g_nodes.rows[g_list.cursor];
	mc_hex(r->pk, MC_PK_LEN, hex);
	if (r->org[0])
		/* L10N: the detail of the selected validator: its name, its organization,
		 * the block its NODE_ADD is in (0: it made the chain), then ", this node"
		 * or nothing; the next one is the same without an organization */
		snprintf(title, sizeof(title), _("%s (%s), validator since block %llu%s"), r->name[0] ? r->name : "-",
			 r->org, (unsigned long long)r->added, r->self ? _(", this node") : "");
	else
		snprintf(title, sizeof(title), _("%s, validator since block %llu%s"), r->name[0] ? r->name : "-",
			 (unsigned long long)r->added, r->self ? _(", this node") : "");
	labels[0] = _("key");
	values[0] = hex;
	labels[1] = _("URL");
	values[1] = r->url[0] ? r->url : (r->self ? _("(this node)") : "-");
	labels[2] = _("last error");
	values[2] = r->error[0] ? r->error
		  : g_nodes.live && !r->listed ? _("none: it is not among the [node] peers serve asks")
		  : "-";
	mc_detail_draw(y, 1, 4, w, title, labels, values, 3);
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[512];
	int w = COLS - 2, lh = h - 6 > 3 ? h - 6 : 3;

	(void)app;
	if (g_err[0]) {
		mc_ui_put(y + 1, 1, w, MC_STYLE_BAD, g_err);
		return;
	}
	if (g_nodes.live)
		mc_ui_putf(y, 1, w, MC_STYLE_HEAD, _("Validators in force at height %llu: %u, %u up (view %llu)"),
			   (unsigned long long)g_nodes.height, g_nodes.n, g_nodes.up, (unsigned long long)g_nodes.view);
	else
		mc_ui_putf(y, 1, w, MC_STYLE_WARN,
			   _("Validators in force at height %llu: %u; serve not running, states unknown"),
			   (unsigned long long)g_nodes.height, g_nodes.n);
	layout(w);
	{
		/* L10N: column heads of the Nodes list: the node's public key, its name, up/down,
		 * its chain height, how many blocks it is behind this node, when serve last heard
		 * from it, the medchain version it runs, its URL */
		const char *heads[NCOLS] = { "", _("NODE KEY"), _("NAME"), _("STATE"), _("HEIGHT"), _("LAG"),
					     _("SEEN"), _("VERSION"), _("URL") };

		mc_ui_row(head, sizeof(head), g_cols, heads, g_ncols);
	}
	mc_list_draw(&g_list, y + 1, 1, lh, w, head, row, NULL);
	if (h >= 10)
		detail(y + h - 5, w);
	mc_ui_put(y + h - 1, 1, w, MC_STYLE_DIM, _("> this node, * leader; r reload (live status comes from medchain serve)"));
}

static bool act(struct mc_app *app, int a)
{
	(void)app;
	return mc_list_action(&g_list, a, mc_screen_body_rows() - 7);
}

const struct mc_screen_ops mc_scr_nodes = {
	.load = load, .draw = draw, .act = act, .tick = tick
};
