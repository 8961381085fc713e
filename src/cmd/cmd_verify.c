/* SPDX-License-Identifier: Apache-2.0 */
/* medchain verify */
#include "config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "i18n.h"
#include "text.h"
#include "verify.h"
#include "vlast.h"
#include "chain.h"

static void progress(uint64_t done, uint64_t total, void *ctx)
{
	(void)ctx;
	if (done != total && done % 256 != 0)
		return;
	/* a front-end (the console) reads machine lines from stderr */
	if (getenv("MEDCHAIN_PROGRESS_LINES"))
		fprintf(stderr, "progress %llu %llu\n", (unsigned long long)done, (unsigned long long)total);
	else
		mc_cli_progress(_("verifying"), done, total);
}

/* The outcome is kept for status, check, alerts and the console: ok, or
 * damage found (EX_DATAERR); a verify that could not run (no scratch
 * space, out of memory) says nothing about the chain and leaves the last
 * outcome as it was. */
static void verify_keep(const struct mc_cli *cli, int rc, const struct mc_err *err,
			const struct mc_verify_report *rep, uint64_t t0)
{
	struct mc_err serr = { 0 };
	struct mc_verify_last vl;

	if (rc != 0 && err->code != EX_DATAERR)
		return;
	memset(&vl, 0, sizeof(vl));
	vl.time_ms = mc_now_ms();
	vl.ok = rc == 0;
	if (rc != 0)
		snprintf(vl.message, sizeof(vl.message), "%s", err->msg);
	vl.duration_s = (double)(vl.time_ms - t0) / 1000.0;
	vl.blocks = rep->blocks;   /* up to the damage */
	/* The verdict on the chain stands either way (a read-only mount of a
	 * backup, a full disk): the monitor sees the stale outcome go
	 * overdue. */
	if (mc_vlast_save(cli->datadir, &vl, &serr) != 0)
		fprintf(stderr, _("medchain: warning: the outcome was not kept for status, check and alerts: %s\n"),
			serr.msg);
}

/* verify --json: {"ok": true, the counts}, or {"ok": false, "error"} */
static int verify_json(int rc, const struct mc_err *verr, const struct mc_verify_report *rep, struct mc_err *err)
{
	cJSON *j = cJSON_CreateObject();

	if (j && rc != 0) {
		cJSON_AddFalseToObject(j, "ok");
		mc_json_add_str(j, "error", verr->msg);
	} else if (j) {
		cJSON_AddTrueToObject(j, "ok");
		cJSON_AddNumberToObject(j, "blocks", (double)rep->blocks);
		cJSON_AddNumberToObject(j, "transactions", (double)rep->txs);
		cJSON_AddNumberToObject(j, "record_versions", (double)rep->records);
		cJSON_AddNumberToObject(j, "payloads", (double)rep->payloads);
	}
	return mc_cli_json_print(j, err);
}

int cmd_verify(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos;
	struct mc_err err = { 0 }, perr = { 0 };
	struct mc_verify_report rep;
	char db[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	uint64_t t0;
	int rc;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	mc_cli_path(cli, db, sizeof(db), "db");
	/* no key is needed: a restored store without its keys verifies too */
	if (stat(db, &st) != 0) {
		mc_err_set(&err, EX_NOINPUT, _("'%s' is not a medchain data dir"), cli->datadir);
		return mc_cli_fail(&err);
	}
	/* The store is opened only in the child: never across fork(). */
	t0 = mc_now_ms();
	rc = mc_verify_isolated(db, tmp && *tmp ? tmp : "/tmp", progress, NULL, &rep, &err);
	mc_cli_progress_end();
	verify_keep(cli, rc, &err, &rep, t0);
	if (rc != 0) {
		if (cli->json)
			verify_json(rc, &err, &rep, &perr);
		return mc_cli_fail(&err);
	}
	if (cli->json)
		return verify_json(rc, &err, &rep, &err) == 0 ? 0 : mc_cli_fail(&err);
	if (!cli->quiet)
		printf(_("ok: %llu blocks, %llu transactions, %llu record versions, %llu payloads\n"),
		       (unsigned long long)rep.blocks, (unsigned long long)rep.txs,
		       (unsigned long long)rep.records, (unsigned long long)rep.payloads);
	return 0;
}
