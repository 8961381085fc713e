/* SPDX-License-Identifier: Apache-2.0 */
/* The console's app loop: unlock the operator's key, set up the terminal,
 * then read keys (100 ms at a time, so jobs and follow mode move on), poll
 * the running job, refresh on a timer, and leave the terminal as found. */
#include "config.h"

#include <curses.h>
#include <langinfo.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "console.h"
#include "i18n.h"
#include "model_dash.h"
#include "screens.h"
#include "util.h"
#include "widgets.h"

const struct mc_screen mc_screens[MC_SCR__COUNT] = {
#define MC_X_SCREEN(name, ops, key, key_name, title, key_help) [MC_SCR_##name] = { &ops, key, title },
	MC_SCREENS(MC_X_SCREEN)
#undef MC_X_SCREEN
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

void mc_app_msg(struct mc_app *app, bool is_err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(app->msg, sizeof(app->msg), fmt, ap);
	va_end(ap);
	app->msg_err = is_err;
}

bool mc_app_allowed(const struct mc_app *app, uint32_t roles)
{
	return roles == 0 || (app->me.roles & roles) != 0;
}

int mc_app_job(struct mc_app *app, const char *label, enum mc_screen_id owner, int kind,
	       const char *const *args, bool with_pass)
{
	char self[PATH_MAX];
	const char *argv[48];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int n = 0;

	if (l <= 0)
		return 1;
	self[l] = '\0';
	argv[n++] = self;
	argv[n++] = "--datadir";
	argv[n++] = app->cli->datadir;
	if (app->cli->config_file) {
		argv[n++] = "--config";
		argv[n++] = app->cli->config_file;
	}
	if (app->cli->pass) {
		argv[n++] = "--passphrase-file";
		argv[n++] = "/dev/fd/3";
	}
	while (*args && n < (int)MC_ARRAY_LEN(argv) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return mc_job_start(&app->job, label, (int)owner, kind, argv, with_pass ? app->cli->pass : NULL,
			    with_pass ? app->cli->passlen : 0) != 0 ? -1 : 0;
}

bool mc_app_busy(struct mc_app *app)
{
	if (!mc_job_running(&app->job))
		return false;
	mc_app_msg(app, true, _("another job is running: wait, or Esc to cancel it"));
	return true;
}

int mc_screen_body_rows(void)
{
	return LINES - 3;
}

/* One load serves the status line and the Dashboard (app->dash). */
static void status_refresh(struct mc_app *app)
{
	struct mc_dash *d = app->dash;
	struct mc_err err = { 0 };

	if (!d && !(d = app->dash = malloc(sizeof(*d)))) {
		mc_ui_copy(app->dash_err, sizeof(app->dash_err), _("out of memory"));
		return;
	}
	app->dash_err[0] = '\0';
	if (mc_dash_load(app->cli->store, app->cli->datadir, &app->cli->conf, mc_now_ms(), d, &err) != 0) {
		mc_ui_copy(app->dash_err, sizeof(app->dash_err), err.msg);
		return;
	}
	app->height = d->head.height;
	app->anchored = d->anchored;
	app->anchor_age_ms = d->anchored && mc_now_ms() > d->last_anchor_ms ? mc_now_ms() - d->last_anchor_ms : 0;
	app->alerts = d->break_glass + d->deny_bursts + d->expiring + d->staff_grants + d->lost_key_rotations +
		      d->node_states;
}

void mc_app_refresh(struct mc_app *app)
{
	status_refresh(app);
}

void mc_screen_redraw(struct mc_app *app)
{
	getmaxyx(stdscr, app->rows, app->cols);
	app->too_small = app->rows < 24 || app->cols < 80;
	erase();
	if (app->too_small) {
		char line[128];
		int y = app->rows / 2 - 1;

		snprintf(line, sizeof(line), _("terminal too small: %dx%d"), app->cols, app->rows);
		mc_ui_put(y > 0 ? y : 0, 0, app->cols, MC_STYLE_WARN, line);
		if (y + 1 < app->rows)
			mc_ui_put(y + 1, 0, app->cols, MC_STYLE_NORMAL, _("needs 80x24; q quits"));
		refresh();
		return;
	}
	mc_chrome_draw(app);
	mc_screens[app->screen].ops->draw(app, 1, LINES - 3);
	refresh();
}

static void switch_to(struct mc_app *app, enum mc_screen_id s)
{
	app->screen = s;
	app->msg[0] = '\0';
	mc_screens[s].ops->load(app);
}

static void handle_key(struct mc_app *app, int key)
{
	int to = 0;
	const struct mc_action_def *def = mc_action_find((int)app->screen, key, &to);
	int a = def ? def->action : MC_ACT_NONE;

	if (app->too_small) {
		if (key == 'q')
			app->quit = true;
		return;
	}
	if (a == MC_ACT_NONE)
		return;
	if (!mc_app_allowed(app, def->roles)) {
		char need[128];

		mc_roles_format(def->roles, need, sizeof(need));
		mc_app_msg(app, true, _("your roles do not offer this: it needs %s"), need);
		return;
	}
	switch (a) {
	case MC_ACT_QUIT:
		if (mc_job_running(&app->job) && !app->job.background &&
		    !mc_confirm(app, _("a job is still running: stop it and quit?")))
			return;
		app->quit = true;
		return;
	case MC_ACT_SCREEN:
		switch_to(app, (enum mc_screen_id)to);
		return;
	case MC_ACT_CANCEL:
		if (mc_job_running(&app->job)) {
			mc_job_cancel(&app->job);
			mc_app_msg(app, false, _("%s: cancelling"), app->job.label);
			return;
		}
		break;
	case MC_ACT_REFRESH:
		status_refresh(app);
		mc_screens[app->screen].ops->load(app);
		mc_app_msg(app, false, _("reloaded from the chain"));
		return;
	default:
		break;
	}
	if (!mc_screens[app->screen].ops->act(app, a) && a == MC_ACT_CANCEL)
		app->msg[0] = '\0';
	/* an action may have written a block; moving a cursor has not (the
	 * refresh tick keeps the status line current either way) */
	if (a < MC_ACT_UP || a > MC_ACT_END)
		status_refresh(app);
}

static void job_finished(struct mc_app *app)
{
	struct mc_job *j = &app->job;
	const struct mc_screen_ops *owner = mc_screens[j->owner >= 0 && j->owner < MC_SCR__COUNT ? j->owner : 0].ops;

	if (j->cancelled)
		mc_app_msg(app, true, _("%s: cancelled"), j->label);
	else if (owner->job_done)
		owner->job_done(app, j);
	else
		mc_app_msg(app, j->exit_code != 0, _("%s: exit %d"), j->label, j->exit_code);
	mc_job_clear(j);
	status_refresh(app);
	mc_screens[app->screen].ops->load(app);
}

struct mc_app *mc_console_open(struct mc_cli *cli, FILE *out, FILE *in, struct mc_err *err)
{
	struct mc_app *app = calloc(1, sizeof(*app));
	char hex[65];
	const char *nc = getenv("NO_COLOR");

	if (!app) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		return NULL;
	}
	app->cli = cli;
	/* Before the terminal is taken: a passphrase prompt that never echoes. */
	if (mc_cli_open(cli, MC_STORE_RANDOM, err) != 0 || mc_cli_load_actor(cli, &app->actor, err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &app->node, err) != 0)
		goto fail;
	mc_hex(app->actor->pk, MC_PK_LEN, hex);
	if (mc_cli_find_identity(cli, hex, &app->me, err) != 0)
		goto fail;
	app->ascii = strcmp(nl_langinfo(CODESET), "UTF-8") != 0;
	app->scr = newterm(NULL, out, in);
	if (!app->scr) {
		mc_err_set(err, EX_UNAVAILABLE, _("cannot use this terminal (TERM=%s)"),
			   getenv("TERM") ? getenv("TERM") : "");
		goto fail;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	/* [console] colors = always wins over NO_COLOR; auto follows it */
	app->color = has_colors() && (cli->conf.colors == 1 || (cli->conf.colors == 0 && !(nc && *nc)));
	mc_ui_init_styles(app);
	/* children (verify) report progress as lines the job reader parses */
	setenv("MEDCHAIN_PROGRESS_LINES", "1", 1);
	status_refresh(app);
	switch_to(app, MC_SCR_DASHBOARD);
	app->last_tick_ms = mc_now_ms_mono();
	return app;
fail:
	mc_key_free(app->actor);
	mc_key_free(app->node);
	free(app);
	return NULL;
}

void mc_console_paint(struct mc_app *app)
{
	mc_screen_redraw(app);
}

void mc_console_key(struct mc_app *app, int key)
{
	if (key == KEY_RESIZE)
		clear();
	else
		handle_key(app, key);
}

void mc_console_close(struct mc_app *app)
{
	if (!app)
		return;
	mc_job_clear(&app->job);
	erase();
	refresh();
	endwin();
	delscreen(app->scr);
	free(app->dash);
	mc_key_free(app->actor);
	mc_key_free(app->node);
	free(app);
}

int mc_console_main(struct mc_cli *cli)
{
	struct mc_err err = { 0 };
	struct mc_app *app;
	uint64_t refresh_ms = cli->conf.refresh_ms ? cli->conf.refresh_ms : 1000;
	struct sigaction sa;

	if (!(app = mc_console_open(cli, stdout, stdin, &err)))
		return mc_cli_fail(&err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (!app->quit && !g_stop) {
		int key;

		mc_console_paint(app);
		key = mc_ui_getkey(100);
		if (key != ERR)
			mc_console_key(app, key);
		if (app->job.pid && mc_job_poll(&app->job))
			job_finished(app);
		if (mc_now_ms_mono() - app->last_tick_ms >= refresh_ms) {
			app->last_tick_ms = mc_now_ms_mono();
			status_refresh(app);
			if (mc_screens[app->screen].ops->tick)
				mc_screens[app->screen].ops->tick(app);
		}
	}
	mc_console_close(app);
	return 0;
}
