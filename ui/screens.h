/* SPDX-License-Identifier: Apache-2.0 */
/* screens.h - the screens: one file per screen (scr_*.c), each listed once
 * in MC_SCREENS (screen_list.h). Each screen loads its model when entered
 * or refreshed, draws it between the title bar and the message line, and
 * handles its own keys and the jobs it started. */
#ifndef MC_UI_SCREENS_H
#define MC_UI_SCREENS_H

#include <stdbool.h>
#include <stddef.h>

#include "actions.h"
#include "app.h"

struct mc_screen_ops {
	void (*load)(struct mc_app *app);          /* (re)load the model */
	void (*draw)(struct mc_app *app, int y, int h);
	/* a is an enum mc_action or one of the screen's own (>= MC_ACT_OWN) */
	bool (*act)(struct mc_app *app, int a);    /* handled? */
	void (*tick)(struct mc_app *app);          /* each refresh interval; may be NULL */
	/* a job it started (j->owner) has ended; may be NULL */
	void (*job_done)(struct mc_app *app, struct mc_job *j);
	const struct mc_action_def *keys;          /* its own keys, in Help's order */
	size_t nkeys;
};

/* A row of MC_SCREENS (screen_list.h). */
struct mc_screen {
	const struct mc_screen_ops *ops;
	int key;                   /* shown on its tab */
	const char *title;         /* N_() */
};

#define MC_X_OPS(name, ops, key, key_name, title, key_help) extern const struct mc_screen_ops ops;
MC_SCREENS(MC_X_OPS)
#undef MC_X_OPS
/* The screens, indexed by enum mc_screen_id. */
extern const struct mc_screen mc_screens[MC_SCR__COUNT];

/* Draws everything again (after a modal widget or a resize). */
void mc_screen_redraw(struct mc_app *app);
/* The rows a list may use on the current screen size. */
int mc_screen_body_rows(void);

#endif
