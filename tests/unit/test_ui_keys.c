/* SPDX-License-Identifier: Apache-2.0 */
/* The console's key tables, without a terminal: every screen of
 * MC_SCREENS has its ops and the key that reaches it; no key is bound
 * twice where it works, and no screen's own key hides a key that reaches
 * a screen or works everywhere; the lookup answers in that order. */
#include "config.h"

#include <criterion/criterion.h>
#include <curses.h>

#include "actions.h"
#include "screens.h"

static bool bound(const struct mc_action_def *t, size_t n, int key)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].key == key)
			return true;
	return false;
}

Test(ui_keys, every_screen_has_its_ops_title_and_the_key_that_reaches_it)
{
	for (int s = 0; s < MC_SCR__COUNT; s++) {
		const struct mc_screen *sc = &mc_screens[s];

		cr_assert_not_null(sc->ops, "screen %d", s);
		cr_assert(sc->ops->load && sc->ops->draw && sc->ops->act, "screen %d: load, draw and act", s);
		cr_assert_not_null(sc->title, "screen %d", s);
		cr_assert_eq(mc_screen_keys[s].key, sc->key, "screen %d", s);
		cr_assert_eq(mc_screen_keys[s].action, MC_ACT_SCREEN, "screen %d", s);
		cr_assert(mc_screen_keys[s].key_name && mc_screen_keys[s].help, "screen %d: listed in Help", s);
		cr_assert(sc->ops->nkeys == 0 || sc->ops->keys, "screen %d", s);
	}
}

Test(ui_keys, no_key_is_bound_twice_where_it_works)
{
	for (int s = 0; s < MC_SCR__COUNT; s++) {
		const struct mc_screen_ops *o = mc_screens[s].ops;

		cr_assert_not(bound(mc_actions, mc_nactions, mc_screens[s].key), "screen %d's key works everywhere", s);
		cr_assert_not(bound(mc_screen_keys, (size_t)s, mc_screens[s].key), "screen %d's key reaches another", s);
		for (size_t i = 0; i < o->nkeys; i++) {
			int k = o->keys[i].key;

			cr_assert_not(bound(o->keys, i, k), "screen %d binds key %d twice", s, k);
			cr_assert_not(bound(mc_screen_keys, MC_SCR__COUNT, k), "screen %d's own key %d hides a screen", s, k);
			cr_assert_not(bound(mc_actions, mc_nactions, k), "screen %d's own key %d hides a global key", s, k);
			cr_assert(o->keys[i].action >= MC_ACT_OWN || o->keys[i].action == MC_ACT_FILTER,
				  "screen %d's key %d: its own action or a shared one", s, k);
			cr_assert(!o->keys[i].key_name || o->keys[i].help, "screen %d's key %d: Help says what it does", s, k);
		}
	}
	for (size_t i = 0; i < mc_nactions; i++)
		cr_assert_not(bound(mc_actions, i, mc_actions[i].key), "global key %d bound twice", mc_actions[i].key);
}

Test(ui_keys, a_key_finds_its_screens_own_action_then_a_screen_then_a_global_one)
{
	int to = -1;
	const struct mc_action_def *d;

	d = mc_action_find(MC_SCR_DASHBOARD, '3', &to);
	cr_assert(d && d->action == MC_ACT_SCREEN && to == MC_SCR_RECORDS);
	d = mc_action_find(MC_SCR_RECORDS, '?', &to);
	cr_assert(d && d->action == MC_ACT_SCREEN && to == MC_SCR_HELP);
	d = mc_action_find(MC_SCR_ANCHORS, 'a', &to);
	cr_assert(d && d->action >= MC_ACT_OWN, "a is Anchors' own (anchor now)");
	d = mc_action_find(MC_SCR_CONSENT, 'a', &to);
	cr_assert(d && d->action >= MC_ACT_OWN && d->roles == MC_ROLES_ANY, "a is Consent's own (active only)");
	d = mc_action_find(MC_SCR_NODES, 'a', &to);
	cr_assert_null(d, "Nodes has no a");
	d = mc_action_find(MC_SCR_AUDIT, KEY_DOWN, &to);
	cr_assert(d && d->action == MC_ACT_DOWN);
	d = mc_action_find(MC_SCR_HELP, 'q', &to);
	cr_assert(d && d->action == MC_ACT_QUIT);
}
