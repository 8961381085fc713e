/* SPDX-License-Identifier: Apache-2.0 */
/* Help: every key of the key tables, where it works and whether the
 * operator's roles offer it. Made from the tables, so it cannot drift: the
 * keys that work everywhere first (those that reach a screen, from
 * MC_SCREENS, then mc_actions), wrapped, then each screen's own keys. */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "screens.h"
#include "util.h"
#include "widgets.h"

static const int HELP_COLS[] = { 6, 10, 0 };

/* Help's list: each screen's own keys, screen by screen */
static struct mc_list g_list;
static struct {
	const struct mc_action_def *def;
	int screen;
} g_rows[64];
static struct mc_app *g_app;

static void load(struct mc_app *app)
{
	int n = 0;

	g_app = app;
	for (int s = 0; s < MC_SCR__COUNT; s++) {
		const struct mc_screen_ops *o = mc_screens[s].ops;

		for (size_t i = 0; i < o->nkeys && n < (int)MC_ARRAY_LEN(g_rows); i++)
			if (o->keys[i].key_name) {
				g_rows[n].def = &o->keys[i];
				g_rows[n++].screen = s;
			}
	}
	g_list.count = n;
}

static void row(void *ctx, int i, char *buf, size_t n, enum mc_ui_style *st)
{
	const struct mc_action_def *d = g_rows[i].def;
	bool ok = mc_app_allowed(g_app, d->roles);

	(void)ctx;
	{
		char what[512];
		const char *cells[] = { d->key_name, _(mc_screens[g_rows[i].screen].title), what };

		snprintf(what, sizeof(what), "%s%s", _(d->help), ok ? "" : _(" (not your role)"));
		mc_ui_row(buf, n, HELP_COLS, cells, 3);
	}
	if (!ok)
		*st = MC_STYLE_DIM;
}

/* Adds the listed keys of t to the wrapped "Everywhere" lines: line holds
 * l bytes so far; a full line is put at *r. */
static size_t everywhere(const struct mc_action_def *t, size_t nt, char *line, size_t cap, size_t l, int *r, int w)
{
	char item[160];

	for (size_t i = 0; i < nt; i++) {
		const struct mc_action_def *d = &t[i];
		int iw;

		if (!d->key_name)
			continue;
		snprintf(item, sizeof(item), "%s %s", d->key_name, _(d->help));
		iw = mc_ui_width(item);
		if (l && mc_ui_width(line) + 3 + iw > w - 1) {
			mc_ui_put((*r)++, 2, w - 1, MC_STYLE_NORMAL, line);
			line[0] = '\0';
			l = 0;
		}
		l += (size_t)snprintf(line + l, cap - l, "%s%s", l ? " | " : "", item);
	}
	return l;
}

static void draw(struct mc_app *app, int y, int h)
{
	char line[512], head[128];
	int r = y, w = COLS - 2;
	size_t l;

	(void)app;
	mc_ui_put(r++, 1, w, MC_STYLE_HEAD, _("Everywhere"));
	line[0] = '\0';
	l = everywhere(mc_screen_keys, MC_SCR__COUNT, line, sizeof(line), 0, &r, w);
	l = everywhere(mc_actions, mc_nactions, line, sizeof(line), l, &r, w);
	if (l)
		mc_ui_put(r++, 2, w - 1, MC_STYLE_NORMAL, line);
	/* L10N: KEY is a key of the keyboard here */
	{
		const char *heads[] = { _("KEY"), _("SCREEN"), _("WHAT IT DOES") };

		mc_ui_row(head, sizeof(head), HELP_COLS, heads, 3);
	}
	mc_list_draw(&g_list, r, 1, y + h - r, w, head, row, NULL);
}

static bool act(struct mc_app *app, int a)
{
	(void)app;
	return mc_list_action(&g_list, a, mc_screen_body_rows() - 8);
}

const struct mc_screen_ops mc_scr_help = { .load = load, .draw = draw, .act = act };
