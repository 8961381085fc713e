/* SPDX-License-Identifier: Apache-2.0 */
/* Help: every key of the action table, where it works and whether the
 * operator's roles offer it. Made from the table, so it cannot drift: the
 * keys that work everywhere first, wrapped, then each screen's own keys. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "screens.h"
#include "widgets.h"

static const int HELP_COLS[] = { 6, 10, 0 };

static struct mc_list g_list;
static int g_rows[64];
static struct mc_app *g_app;

static void load(struct mc_app *app)
{
	int n = 0;

	g_app = app;
	for (size_t i = 0; i < mc_nactions && n < 64; i++)
		if (mc_actions[i].key_name && mc_actions[i].scope != MC_SCOPE_GLOBAL)
			g_rows[n++] = (int)i;
	g_list.count = n;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_action_def *d = &mc_actions[g_rows[i]];
	bool ok = mc_app_allowed(g_app, d->roles);

	(void)ctx;
	{
		char what[512];
		const char *cells[] = { d->key_name, _(mc_screens[d->scope]->name), what };

		snprintf(what, sizeof(what), "%s%s", _(d->help), ok ? "" : _(" (not your role)"));
		mc_ui_row(buf, n, HELP_COLS, cells, 3);
	}
	if (!ok)
		*st = MC_STYLE_DIM;
}

static void draw(struct mc_app *app, int y, int h)
{
	char line[512], item[160], head[128];
	int r = y, w = COLS - 2;
	size_t l = 0;

	(void)app;
	mc_ui_put(r++, 1, w, MC_STYLE_HEAD, _("Everywhere"));
	line[0] = '\0';
	for (size_t i = 0; i < mc_nactions; i++) {
		const struct mc_action_def *d = &mc_actions[i];
		int iw;

		if (!d->key_name || d->scope != MC_SCOPE_GLOBAL)
			continue;
		snprintf(item, sizeof(item), "%s %s", d->key_name, _(d->help));
		iw = mc_ui_width(item);
		if (l && mc_ui_width(line) + 3 + iw > w - 1) {
			mc_ui_put(r++, 2, w - 1, MC_STYLE_NORMAL, line);
			line[0] = '\0';
			l = 0;
		}
		l += (size_t)snprintf(line + l, sizeof(line) - l, "%s%s", l ? " | " : "", item);
	}
	if (l)
		mc_ui_put(r++, 2, w - 1, MC_STYLE_NORMAL, line);
	/* L10N: KEY is a key of the keyboard here */
	{
		const char *heads[] = { _("KEY"), _("SCREEN"), _("WHAT IT DOES") };

		mc_ui_row(head, sizeof(head), HELP_COLS, heads, 3);
	}
	mc_list_draw(&g_list, r, 1, y + h - r, w, head, row, NULL);
}

static bool act(struct mc_app *app, enum mc_action a)
{
	(void)app;
	return mc_list_action(&g_list, a, mc_screen_body_rows() - 8);
}

const struct mc_screen_ops mc_scr_help = { N_("Help"), '?', load, draw, act, NULL, NULL };
