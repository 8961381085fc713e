/* SPDX-License-Identifier: Apache-2.0 */
/* actions.h - the key tables: every key the console answers, where, what
 * it does and which roles it needs. The keys that work everywhere are here
 * (actions.c), the keys that reach a screen come from MC_SCREENS
 * (screen_list.h), and each screen's own keys are in its scr_*.c (its ops'
 * keys). The key map and the Help screen are both made from them. */
#ifndef MC_UI_ACTIONS_H
#define MC_UI_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

enum mc_action {
	MC_ACT_NONE,
	MC_ACT_QUIT,
	MC_ACT_SCREEN,          /* go to a screen: its key in MC_SCREENS */
	MC_ACT_UP, MC_ACT_DOWN, MC_ACT_PGUP, MC_ACT_PGDN, MC_ACT_HOME, MC_ACT_END,
	MC_ACT_REFRESH,
	MC_ACT_CANCEL,
	MC_ACT_FILTER,          /* records, consent, audit */
	/* A screen's own actions are numbered in its scr_*.c from here:
	 * enum { ACT_X = MC_ACT_OWN, ACT_Y, ... }. */
	MC_ACT_OWN = 64,
};

#define MC_ROLES_ANY 0u     /* an action anyone may take */

struct mc_action_def {
	int action;              /* enum mc_action, or a screen's own (>= MC_ACT_OWN) */
	int key;                 /* a curses key code or a character */
	const char *key_name;    /* as shown in Help ("Enter", "PgDn", "g"); NULL: not listed */
	const char *help;        /* N_() */
	uint32_t roles;          /* any of these roles; MC_ROLES_ANY: anyone */
};

/* The keys that work everywhere, in Help's order. */
extern const struct mc_action_def mc_actions[];
extern const size_t mc_nactions;
/* The keys that reach a screen, made from MC_SCREENS: mc_screen_keys[s]
 * reaches screen s (enum mc_screen_id). */
extern const struct mc_action_def mc_screen_keys[];

/* What key does on screen (enum mc_screen_id): the screen's own keys
 * first, then the keys that reach a screen, then the ones that work
 * everywhere. NULL: nothing. For MC_ACT_SCREEN, *to is the screen. */
const struct mc_action_def *mc_action_find(int screen, int key, int *to);

#endif
