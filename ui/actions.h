/* SPDX-License-Identifier: Apache-2.0 */
/* actions.h - the one action table: every key the console answers, where,
 * what it does and which roles it needs. The key map and the Help screen
 * are both made from it. */
#ifndef MC_UI_ACTIONS_H
#define MC_UI_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

enum mc_action {
	MC_ACT_NONE,
	MC_ACT_QUIT,
	MC_ACT_HELP,
	MC_ACT_SCREEN_1, MC_ACT_SCREEN_2, MC_ACT_SCREEN_3,
	MC_ACT_SCREEN_4, MC_ACT_SCREEN_5, MC_ACT_SCREEN_6,
	MC_ACT_UP, MC_ACT_DOWN, MC_ACT_PGUP, MC_ACT_PGDN, MC_ACT_HOME, MC_ACT_END,
	MC_ACT_REFRESH,
	MC_ACT_CANCEL,
	MC_ACT_VERIFY,          /* dashboard: verify the chain */
	MC_ACT_ACK_ALERT,       /* dashboard: acknowledge the selected alert */
	MC_ACT_OPEN,            /* records: read the record (asks the purpose) */
	MC_ACT_BREAK_GLASS,     /* records: emergency read with a reason */
	MC_ACT_HISTORY,         /* records: the versions of a record */
	MC_ACT_FILTER,          /* records, consent, audit */
	MC_ACT_GRANT,           /* consent */
	MC_ACT_REVOKE,          /* consent */
	MC_ACT_ACTIVE,          /* consent: active only */
	MC_ACT_EXPIRING,        /* consent: ending soon */
	MC_ACT_FOLLOW,          /* audit */
	MC_ACT_EXPORT,          /* audit */
	MC_ACT_ANCHOR_NOW,      /* anchors */
	MC_ACT_VERIFY_PROOF,    /* anchors */
};

#define MC_SCOPE_GLOBAL (-1)

struct mc_action_def {
	enum mc_action action;
	int key;                 /* a curses key code or a character */
	const char *key_name;    /* as shown in Help ("Enter", "PgDn", "g") */
	int scope;               /* enum mc_screen_id, or MC_SCOPE_GLOBAL */
	const char *help;        /* N_() */
	uint32_t roles;          /* any of these roles; 0: anyone */
};

extern const struct mc_action_def mc_actions[];
extern const size_t mc_nactions;

/* The action of key on screen (its own keys first, then the global ones). */
enum mc_action mc_action_for(int screen, int key);

#endif
