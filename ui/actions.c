/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <curses.h>

#include "actions.h"
#include "app.h"
#include "i18n.h"
#include "screens.h"
#include "util.h"

/* L10N: the Help screen's explanations of each key; key names stay as they are */
const struct mc_action_def mc_actions[] = {
	{ MC_ACT_QUIT, 'q', "q", N_("quit"), MC_ROLES_ANY },
	{ MC_ACT_UP, KEY_UP, "Up/k", N_("up"), MC_ROLES_ANY },
	{ MC_ACT_UP, 'k', NULL, NULL, MC_ROLES_ANY },
	{ MC_ACT_DOWN, KEY_DOWN, "Down/j", N_("down"), MC_ROLES_ANY },
	{ MC_ACT_DOWN, 'j', NULL, NULL, MC_ROLES_ANY },
	{ MC_ACT_PGUP, KEY_PPAGE, "PgUp", N_("page up"), MC_ROLES_ANY },
	{ MC_ACT_PGDN, KEY_NPAGE, "PgDn", N_("page down"), MC_ROLES_ANY },
	{ MC_ACT_HOME, KEY_HOME, "Home", N_("first"), MC_ROLES_ANY },
	{ MC_ACT_END, KEY_END, "End", N_("last"), MC_ROLES_ANY },
	{ MC_ACT_REFRESH, 'r', "r", N_("reload"), MC_ROLES_ANY },
	{ MC_ACT_CANCEL, 27, "Esc", N_("cancel a job, close"), MC_ROLES_ANY },
};
const size_t mc_nactions = MC_ARRAY_LEN(mc_actions);

const struct mc_action_def mc_screen_keys[] = {
#define MC_X_KEY(name, ops, key, key_name, title, key_help) { MC_ACT_SCREEN, key, key_name, key_help, MC_ROLES_ANY },
	MC_SCREENS(MC_X_KEY)
#undef MC_X_KEY
};

static const struct mc_action_def *find(const struct mc_action_def *t, size_t n, int key)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].key == key)
			return &t[i];
	return NULL;
}

const struct mc_action_def *mc_action_find(int screen, int key, int *to)
{
	const struct mc_screen_ops *own = mc_screens[screen].ops;
	const struct mc_action_def *d = find(own->keys, own->nkeys, key);

	if (d)
		return d;
	if ((d = find(mc_screen_keys, MC_SCR__COUNT, key)) != NULL) {
		*to = (int)(d - mc_screen_keys);
		return d;
	}
	return find(mc_actions, mc_nactions, key);
}
