/* Nodes: the validator set in force on the chain. Live peer status comes
 * with the Nodes issue's peer API; until then it says "not configured". */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "model_nodes.h"
#include "screens.h"
#include "widgets.h"

static const int NODE_COLS[] = { 20, 16, 20, 10, 0 };

static struct mc_nodes g_nodes;
static struct mc_list g_list;
static char g_err[MC_ERR_MSG_MAX];

static void load(struct mc_app *app)
{
	struct mc_err err = { 0 };

	g_err[0] = '\0';
	if (mc_nodes_load(app->cli->store, app->node->pk, &g_nodes, &err) != 0)
		mc_ui_copy(g_err, sizeof(g_err), err.msg);
	g_list.count = (int)g_nodes.n;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_node_row *r = &g_nodes.rows[i];
	char hex[65];

	(void)ctx;
	mc_hex(r->pk, MC_PK_LEN, hex);
	{
		char key[32];
		const char *cells[] = { r->name, r->org, key, r->revoked ? _("revoked") : _("active"),
					r->self ? _("this node, leader") : _("peer") };

		snprintf(key, sizeof(key), "%.16s...", hex);
		mc_ui_row(buf, n, NODE_COLS, cells, 5);
	}
	if (r->revoked)
		*st = MC_STYLE_BAD;
}

static void draw(struct mc_app *app, int y, int h)
{
	char head[160];

	(void)app;
	if (g_err[0]) {
		mc_ui_put(y + 1, 1, COLS - 2, MC_STYLE_BAD, g_err);
		return;
	}
	mc_ui_putf(y, 1, COLS - 2, MC_STYLE_HEAD, _("Validators in force at height %llu: %u (a quorum is more than two thirds)"),
		   (unsigned long long)g_nodes.height, g_nodes.n);
	/* L10N: column heads of the validator list; NODE KEY is its public key */
	{
		const char *heads[] = { _("NAME"), _("ORGANIZATION"), _("NODE KEY"), _("STATE"), _("ROLE") };

		mc_ui_row(head, sizeof(head), NODE_COLS, heads, 5);
	}
	mc_list_draw(&g_list, y + 1, 1, h - 5 > 3 ? h - 5 : 3, COLS - 2, head, row, NULL);
	mc_ui_put(y + h - 3, 1, COLS - 2, MC_STYLE_HEAD, _("Peers"));
	mc_ui_put(y + h - 2, 2, COLS - 3, MC_STYLE_DIM,
		  app->cli->conf.peers[0]
			  ? _("not configured: peers are listed in medchain.conf, but this build has no peer API yet")
			  : _("not configured: this node runs alone (no [node] peers)"));
}

static bool act(struct mc_app *app, enum mc_action a)
{
	(void)app;
	return mc_list_action(&g_list, a, mc_screen_body_rows() - 6);
}

const struct mc_screen_ops mc_scr_nodes = { N_("Nodes"), '2', load, draw, act, NULL, NULL };
