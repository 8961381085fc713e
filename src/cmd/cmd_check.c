/* SPDX-License-Identifier: Apache-2.0 */
/* medchain check - a Nagios/Icinga plugin (Monitoring Plugins guidelines):
 * one line "MEDCHAIN STATE - text | perfdata" on stdout, exit 0 OK,
 * 1 WARNING, 2 CRITICAL, 3 UNKNOWN. These exit codes are the plugin
 * convention, not sysexits.h (documented in medchain(1)). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alerts.h"
#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "i18n.h"
#include "vlast.h"

enum { CK_OK = 0, CK_WARNING = 1, CK_CRITICAL = 2, CK_UNKNOWN = 3 };

/* serve rewrites serve.status.json every second */
#define CK_STALE_S 10

/* A threshold: unset, or alert when the value is above it. */
struct thr {
	bool set;
	double v;
};

struct limits {
	struct thr lag, anchor, verify, glass;   /* blocks, seconds, hours, reads */
};

struct out {
	int state;
	char text[2048];
	char perf[1024];
};

static const char *state_name(int s)
{
	static const char *const n[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

	return n[s];
}

static void part(struct out *o, int state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void part(struct out *o, int state, const char *fmt, ...)
{
	size_t n = strlen(o->text);
	va_list ap;

	if (state > o->state)
		o->state = state;
	if (n && n + 2 < sizeof(o->text)) {
		memcpy(o->text + n, ", ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(o->text + n, sizeof(o->text) - n, fmt, ap);
	va_end(ap);
}

static void thr_str(const struct thr *t, double scale, char *buf, size_t n)
{
	if (t->set)
		snprintf(buf, n, "%.0f", t->v * scale);
	else
		buf[0] = '\0';
}

/* 'label'=value[unit];warn;crit;min */
static void perf(struct out *o, const char *label, const char *value, const char *unit,
		 const struct thr *w, const struct thr *c, double scale)
{
	size_t n = strlen(o->perf);
	char ws[32], cs[32];

	thr_str(w, scale, ws, sizeof(ws));
	thr_str(c, scale, cs, sizeof(cs));
	snprintf(o->perf + n, sizeof(o->perf) - n, "%s'%s'=%s%s;%s;%s;0", n ? " " : "", label, value,
		 unit, ws, cs);
}

static int level(const struct thr *w, const struct thr *c, double v)
{
	if (c->set && v > c->v)
		return CK_CRITICAL;
	if (w->set && v > w->v)
		return CK_WARNING;
	return CK_OK;
}

static int finish(const struct out *o)
{
	printf("MEDCHAIN %s - %s | %s\n", state_name(o->state), o->text, o->perf);
	return o->state;
}

static int unknown(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int unknown(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '|')
			*p = ' ';
	printf("MEDCHAIN UNKNOWN - %s\n", msg);
	return CK_UNKNOWN;
}

/* "lag=5,anchor=7200,verify=36,break-glass=0" */
static int parse_limits(const char *s, struct limits *l, char *bad, size_t nbad)
{
	char buf[256], *save = NULL, *tok;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf) || !*buf) {
		snprintf(bad, nbad, "%s", s);
		return -1;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		struct thr *t;
		unsigned long long v;

		if (!eq)
			goto bad;
		*eq = '\0';
		if (strcmp(tok, "lag") == 0)
			t = &l->lag;
		else if (strcmp(tok, "anchor") == 0)
			t = &l->anchor;
		else if (strcmp(tok, "verify") == 0)
			t = &l->verify;
		else if (strcmp(tok, "break-glass") == 0)
			t = &l->glass;
		else
			goto bad;
		if (!eq[1] || eq[1] == '-' || eq[1] == '+')
			goto bad;
		v = strtoull(eq + 1, &end, 10);
		if (*end || v > 1000000000ULL)
			goto bad;
		t->set = true;
		t->v = (double)v;
		continue;
bad:
		if (eq)
			*eq = '=';
		snprintf(bad, nbad, "%s", tok);
		return -1;
	}
	return 0;
}

struct chainfacts {
	uint64_t height;
	bool anchored;
	uint64_t since_ms;        /* the last anchor's block time, else genesis */
	unsigned glass;
};

static int count_glass(const struct mc_alert *a, void *vctx)
{
	struct chainfacts *f = vctx;

	if (a->kind != MC_ALERT_BREAK_GLASS)
		return 1;   /* break-glass reads come first: the rest is not needed */
	f->glass++;
	return 0;
}

static int facts_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct chainfacts *f = vctx;
	struct mc_head head;
	struct mc_anchor_age ag;
	struct mc_alert_params p;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	f->height = head.height;
	/* the anchor-overdue alert measures from the same point */
	if (mc_anchor_age(t, &ag, err) != 0)
		return -1;
	f->anchored = ag.anchored;
	f->since_ms = ag.since_ms;
	/* acknowledged break-glass reads are left out, as `alerts` does */
	mc_alert_defaults(&p, mc_now_ms());
	return mc_alerts(t, &p, count_glass, f, err);
}

/* serve counted as down: why, and serve_up 0 */
static void serve_down(struct out *o, const char *why)
{
	part(o, CK_CRITICAL, "%s", why);
	perf(o, "serve_up", "0", "", &(struct thr){ 0 }, &(struct thr){ 0 }, 1);
}

/* serve.status.json, fresh, of a live process and with a height; else
 * NULL, serve reported down. */
static cJSON *serve_status(struct mc_cli *cli, struct out *o)
{
	char path[PATH_MAX], why[256];
	struct stat st;
	unsigned char *text = NULL;
	size_t n = 0;
	struct mc_err err = { 0 };
	cJSON *j = NULL;
	const cJSON *pid;
	time_t now = time(NULL);

	mc_cli_path(cli, path, sizeof(path), "serve.status.json");
	why[0] = '\0';
	if (stat(path, &st) != 0)
		snprintf(why, sizeof(why), "%s", _("serve is not running (no status file)"));
	else if (now - st.st_mtime > CK_STALE_S)
		snprintf(why, sizeof(why), _("serve is not running (status %lld s old)"), (long long)(now - st.st_mtime));
	else if (st.st_mtime - now > CK_STALE_S)
		snprintf(why, sizeof(why), _("serve is not running (status dated %lld s ahead of the clock)"),
			 (long long)(st.st_mtime - now));
	if (why[0]) {
		serve_down(o, why);
		return NULL;
	}
	if (mc_cli_read_all(path, 4u << 20, &text, &n, &err) == 0)
		j = cJSON_ParseWithLength((const char *)text, n);
	free(text);
	pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	/* killed (SIGKILL, a crash) leaves the file behind: its process is gone
	 * at once, while the file only goes stale after CK_STALE_S (EPERM: it
	 * runs as another user, so it is there) */
	if (cJSON_IsNumber(pid) && pid->valuedouble > 0 &&
	    (pid->valuedouble > INT_MAX || (kill((pid_t)pid->valuedouble, 0) != 0 && errno == ESRCH)))
		snprintf(why, sizeof(why), _("serve is not running (process %.0f is gone)"), pid->valuedouble);
	else if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "height")))
		snprintf(why, sizeof(why), "%s", _("serve status file unreadable"));
	if (why[0]) {
		serve_down(o, why);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static void check_serve(struct mc_cli *cli, const struct limits *w, const struct limits *c, struct out *o)
{
	char v[32];
	cJSON *j;
	const cJSON *peers, *p;
	double mine, top;

	if (!*cli->conf.listen) {
		part(o, CK_OK, _("no serve configured"));
		return;
	}
	if (!(j = serve_status(cli, o)))
		return;
	perf(o, "serve_up", "1", "", &(struct thr){ 0 }, &(struct thr){ 0 }, 1);
	/* the highest height this node knows of: its own, or a peer's that is up */
	mine = top = cJSON_GetObjectItemCaseSensitive(j, "height")->valuedouble;
	peers = cJSON_GetObjectItemCaseSensitive(j, "peers");
	cJSON_ArrayForEach(p, peers) {
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(p, "height");

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "up")) && cJSON_IsNumber(ph) &&
		    ph->valuedouble > top)
			top = ph->valuedouble;
	}
	cJSON_Delete(j);
	if (mine < 0) {
		part(o, CK_CRITICAL, _("serve up, still joining (no chain yet)"));
		return;
	}
	part(o, level(&w->lag, &c->lag, top - mine), _("serve up, lag %.0f blocks"), top - mine);
	snprintf(v, sizeof(v), "%.0f", top - mine);
	perf(o, "lag", v, "", &w->lag, &c->lag, 1);
}

/* anchor age: since the last committed anchor, or since the genesis block
 * when none was ever anchored */
static void check_anchor(struct out *o, const struct limits *w, const struct limits *c,
			 const struct chainfacts *f, uint64_t now)
{
	double age;
	char v[64];

	if (!w->anchor.set && !c->anchor.set)
		return;
	age = now > f->since_ms ? (double)(now - f->since_ms) / 1000.0 : 0;
	if (f->anchored)
		part(o, level(&w->anchor, &c->anchor, age), _("last anchor %.0f s ago"), age);
	else
		part(o, level(&w->anchor, &c->anchor, age), _("never anchored (chain %.0f s old)"), age);
	snprintf(v, sizeof(v), "%.0f", age);
	perf(o, "anchor_age", v, "s", &w->anchor, &c->anchor, 1);
}

/* the last verify's outcome and age (vrc 1: never run) */
static void check_verify(struct out *o, const struct limits *w, const struct limits *c, int vrc,
			 const struct mc_verify_last *vl, uint64_t now)
{
	double age;
	char v[64];

	if (vrc == 1) {
		part(o, CK_WARNING, _("verify never run"));
		perf(o, "verify_age", "U", "", &w->verify, &c->verify, 3600);
	} else {
		age = now > vl->time_ms ? (double)(now - vl->time_ms) / 1000.0 : 0;
		if (!vl->ok) {
			char msg[sizeof(vl->message)];

			memcpy(msg, vl->message, sizeof(msg));
			for (char *p = msg; *p; p++)
				if ((unsigned char)*p < 0x20 || *p == '|')
					*p = ' ';
			part(o, CK_CRITICAL, _("verify FAILED %.1f h ago: %s"), age / 3600.0, msg);
		} else {
			part(o, level(&w->verify, &c->verify, age / 3600.0), _("verify ok %.1f h ago"), age / 3600.0);
		}
		snprintf(v, sizeof(v), "%.0f", age);
		perf(o, "verify_age", v, "s", &w->verify, &c->verify, 3600);
	}
	snprintf(v, sizeof(v), "%d", vrc == 0 && !vl->ok ? 0 : 1);
	perf(o, "verify_ok", vrc == 1 ? "U" : v, "", &(struct thr){ 0 }, &(struct thr){ 0 }, 1);
}

/* The thresholds: the defaults, then -w and -c. 0, or -1 with *code the
 * plugin's exit code (UNKNOWN, after its line). */
static int check_parse(const struct mc_cli *cli, struct mc_args *a, struct limits *w, struct limits *c, int *code)
{
	const char *wopt = NULL, *copt = NULL;
	struct mc_opt opts[] = {
		{ "-w", true, &wopt, NULL },
		{ "-c", true, &copt, NULL },
	};
	char *pos[1], bad[256];
	int npos;

	*code = CK_UNKNOWN;
	if (mc_cli_parse(a, opts, 2, pos, 0, &npos) != 0) {
		if (!mc_cli_probing())
			unknown(_("bad options (see medchain check --help)"));
		return -1;
	}
	memset(w, 0, sizeof(*w));
	memset(c, 0, sizeof(*c));
	w->lag = (struct thr){ true, 5 };
	c->lag = (struct thr){ true, 20 };
	if (cli->conf.overdue_after) {
		w->anchor = (struct thr){ true, cli->conf.overdue_after };
		c->anchor = (struct thr){ true, 2.0 * cli->conf.overdue_after };
	}
	w->verify = (struct thr){ true, 36 };
	w->glass = (struct thr){ true, 0 };
	if (wopt && parse_limits(wopt, w, bad, sizeof(bad)) != 0) {
		unknown(_("-w: bad threshold '%s' (lag=N,anchor=SECONDS,verify=HOURS,break-glass=N)"), bad);
		return -1;
	}
	if (copt && parse_limits(copt, c, bad, sizeof(bad)) != 0) {
		unknown(_("-c: bad threshold '%s' (lag=N,anchor=SECONDS,verify=HOURS,break-glass=N)"), bad);
		return -1;
	}
	return 0;
}

int cmd_check(struct mc_cli *cli, struct mc_args *a)
{
	char v[64];
	int vrc, code;
	struct mc_err err = { 0 };
	struct limits w, c;
	struct out o;
	struct chainfacts f;
	struct mc_verify_last vl;
	uint64_t now;

	if (check_parse(cli, a, &w, &c, &code) != 0)
		return code;
	memset(&f, 0, sizeof(f));
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || mc_store_read(cli->store, facts_txn, &f, &err) != 0)
		return unknown("%s", err.msg);
	vrc = mc_vlast_load(cli->datadir, &vl, &err);
	if (vrc < 0)
		return unknown("%s", err.msg);
	memset(&o, 0, sizeof(o));
	now = mc_now_ms();
	check_serve(cli, &w, &c, &o);
	check_anchor(&o, &w, &c, &f, now);
	check_verify(&o, &w, &c, vrc, &vl, now);
	/* every unacknowledged break-glass read of the last 24 h counts */
	part(&o, level(&w.glass, &c.glass, f.glass),
	     P_("%u break-glass read in 24 h", "%u break-glass reads in 24 h", f.glass), f.glass);
	snprintf(v, sizeof(v), "%u", f.glass);
	perf(&o, "break_glass", v, "", &w.glass, &c.glass, 1);
	return finish(&o);
}
