/* SPDX-License-Identifier: Apache-2.0 */
/* screens.h - the screen-ops table: one file per screen (scr_*.c). Each
 * screen loads its model when entered or refreshed, draws it between the
 * title bar and the message line, and handles its actions. */
#ifndef MC_UI_SCREENS_H
#define MC_UI_SCREENS_H

#include <stdbool.h>

#include "actions.h"
#include "app.h"

struct mc_screen_ops {
	const char *name;          /* N_() */
	int key;                   /* '1'..'6', '?' */
	void (*load)(struct mc_app *app);          /* (re)load the model */
	void (*draw)(struct mc_app *app, int y, int h);
	bool (*act)(struct mc_app *app, enum mc_action a);   /* handled? */
	void (*tick)(struct mc_app *app);          /* each refresh interval; may be NULL */
	void (*job_done)(struct mc_app *app, struct mc_job *j);  /* may be NULL */
};

extern const struct mc_screen_ops mc_scr_dashboard, mc_scr_nodes, mc_scr_records, mc_scr_consent,
	mc_scr_audit, mc_scr_anchors, mc_scr_help;
extern const struct mc_screen_ops *const mc_screens[MC_SCR__COUNT];

/* Draws everything again (after a modal widget or a resize). */
void mc_screen_redraw(struct mc_app *app);
/* The rows a list may use on the current screen size. */
int mc_screen_body_rows(void);

#endif
