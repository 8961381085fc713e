/* SPDX-License-Identifier: Apache-2.0 */
/* screen_list.h - the console's screens: the one list a new screen is added
 * to, an X-macro like src/core/tx.h's MC_TX_TYPES. Each row:
 *   X(NAME, ops, key, key_name, title, key_help)
 * NAME      gives MC_SCR_NAME (enum mc_screen_id, app.h); rows in tab order;
 * ops       its struct mc_screen_ops, defined in its scr_*.c: load, draw,
 *           act, tick, job_done, and its own keys (the rows Help lists
 *           under its title) and actions;
 * key       the key that reaches it from anywhere, key_name as Help shows it;
 * title     its tab in the title bar (N_());
 * key_help  what Help says of its key in "Everywhere" (N_()).
 * From it come the screen enum, the ops table mc_screens[] (app.c), the tab
 * bar (widgets.c), the keys that reach each screen and their Help lines
 * (actions.c, scr_help.c), and the dispatch of a finished job to the
 * screen that started it (app.c: a job names its owner screen and its kind,
 * a tag of the owner's own, in two fields of struct mc_job).
 * Owned by the console (ui/); nothing outside ui/ includes it. */
#ifndef MC_UI_SCREEN_LIST_H
#define MC_UI_SCREEN_LIST_H

/* L10N: the first six are the screens' names, shown as tabs in the title
 * bar: keep them short (all seven tabs share 70 columns) */
#define MC_SCREENS(X)                                                            \
	X(DASHBOARD, mc_scr_dashboard, '1', "1", N_("Dashboard"), N_("Dashboard")) \
	X(NODES, mc_scr_nodes, '2', "2", N_("Nodes"), N_("Nodes"))                 \
	X(RECORDS, mc_scr_records, '3', "3", N_("Records"), N_("Records"))         \
	X(CONSENT, mc_scr_consent, '4', "4", N_("Consent"), N_("Consent"))         \
	X(AUDIT, mc_scr_audit, '5', "5", N_("Audit"), N_("Audit"))                 \
	X(ANCHORS, mc_scr_anchors, '6', "6", N_("Anchors"), N_("Anchors"))         \
	X(HELP, mc_scr_help, '?', "?", N_("Help"), N_("help"))

#endif
