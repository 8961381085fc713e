/* SPDX-License-Identifier: Apache-2.0 */
/* app.h - the console's state, shared by the app loop, the widgets and the
 * screens. One console per process. */
#ifndef MC_UI_APP_H
#define MC_UI_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "identity.h"
#include "jobs.h"
#include "keystore.h"
#include "model_dash.h"
#include "screen_list.h"

/* The screens, from MC_SCREENS (screen_list.h). */
enum mc_screen_id {
#define MC_X_ENUM(name, ops, key, key_name, title, key_help) MC_SCR_##name,
	MC_SCREENS(MC_X_ENUM)
#undef MC_X_ENUM
	MC_SCR__COUNT
};

struct mc_app {
	struct mc_cli *cli;
	struct screen *scr;              /* the curses screen */
	struct mc_key *node;             /* signs the blocks the console writes */
	struct mc_key *actor;            /* the operator's identity */
	struct mc_identity me;
	enum mc_screen_id screen;
	bool quit;
	bool color, ascii;
	int rows, cols;
	bool too_small;
	char msg[512];                   /* the message line: results and errors */
	bool msg_err;
	struct mc_job job;               /* at most one long-running job */
	uint64_t last_tick_ms;
	/* the status line's figures, refreshed each tick */
	uint64_t height;
	uint64_t anchor_age_ms;
	bool anchored;
	unsigned alerts;
	bool verify_failed;
	struct mc_dash *dash;            /* the Dashboard's data, loaded with the status */
	char dash_err[MC_ERR_MSG_MAX];
};

void mc_app_msg(struct mc_app *app, bool is_err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reloads the status line's figures and the Dashboard's data. */
void mc_app_refresh(struct mc_app *app);
/* Whether the operator's roles allow an action needing any of roles (0: anyone). */
bool mc_app_allowed(const struct mc_app *app, uint32_t roles);
/* The console driven from outside the key loop (the app loop, and the
 * benchmark on a pseudo-terminal): open unlocks the operator's key and
 * takes the terminal; paint draws the current screen; key acts on one key. */
struct mc_app *mc_console_open(struct mc_cli *cli, FILE *out, FILE *in, struct mc_err *err);
void mc_console_paint(struct mc_app *app);
void mc_console_key(struct mc_app *app, int key);
void mc_console_close(struct mc_app *app);

/* Starts `medchain GLOBAL-OPTIONS args...` (args NULL-terminated) as the
 * console's job, owned by screen owner, of kind (a tag of the owner's own);
 * with_pass hands it the operator's passphrase. 0 started; -1 it could not
 * start; 1 no path to this binary (nothing started). */
int mc_app_job(struct mc_app *app, const char *label, enum mc_screen_id owner, int kind,
	       const char *const *args, bool with_pass);
/* Whether a job is running; if so, says so on the message line. */
bool mc_app_busy(struct mc_app *app);

#endif
