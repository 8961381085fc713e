/* SPDX-License-Identifier: Apache-2.0 */
/* bench_consent - the Consent and audit issue's budgets, printed:
 *   consent_check over a subject with 100 grants (pure function), checks/s
 *   consented reads (check + signed ACCESS tx + decrypt) through group commit
 *   `medchain audit list --subject X --limit 50` over N audit events
 * It builds a real data dir (keys/ and db/) so the last figure is the real
 * binary, end to end.   usage: bench_consent MEDCHAIN_BIN SCRATCH [EVENTS]
 */
#include "config.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "consent.h"
#include "crypto.h"
#include "identity.h"
#include "keystore.h"
#include "records.h"
#include "store.h"

#define SUBJECTS 1000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct mc_key *g_org;

static int kek(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return mc_kek_create(t, g_org->pk, 0, err);
}

#include "bench_reads.h"

struct grants {
	const struct mc_key *author;
	const uint8_t *grantee;
	const struct mc_org *org;
};

static int grants_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct grants *gc = vctx;

	for (int s = 0; s < SUBJECTS; s++) {
		struct mc_grant g;
		struct mc_buf body;
		char who[32];
		int n = snprintf(who, sizeof(who), "MRN-%06d", s), rc;

		memset(&g, 0, sizeof(g));
		mc_random(g.id, sizeof(g.id));
		if (mc_org_subject(gc->org, who, (size_t)n, g.subject, err) != 0)
			return -1;
		memcpy(g.grantee, gc->grantee, MC_PK_LEN);
		g.purpose = MC_PURPOSE_TREATMENT;
		g.not_after = MC_TIME_OPEN;
		g.all_categories = true;
		g.attest_kind = MC_ATTEST_CONSENT_FORM;
		g.attest = (const uint8_t *)"bench form";
		g.attest_len = 10;
		mc_buf_init(&body);
		mc_grant_encode(&g, &body);
		rc = mc_builder_add_new(t, b, gc->author, MC_TX_CONSENT_GRANT, body.data, body.len, NULL, 0, err);
		mc_buf_release(&body);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int enroll_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	const struct mc_key **k = vctx;   /* k[0] author, k[1] new clinician */
	struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr Bench", .name_len = 8 };
	struct mc_buf body;
	int rc;

	memcpy(e.pk, k[1]->pk, MC_PK_LEN);
	mc_buf_init(&body);
	mc_enroll_encode(&e, &body);
	rc = mc_builder_add_new(t, b, k[0], MC_TX_IDENTITY_ENROLL, body.data, body.len, NULL, 0, err);
	mc_buf_release(&body);
	return rc;
}

static void pure_check_bench(void)
{
	struct mc_grant_view views[100];
	struct mc_access_req req;
	struct mc_decision d;
	static const char *const cats[] = { "lab", "imaging", "note", "observation" };
	long n = 2000000, permits = 0;
	double t0, dt;

	memset(views, 0, sizeof(views));
	for (int i = 0; i < 100; i++) {
		views[i].g.id[0] = (uint8_t)i;
		views[i].g.purpose = (uint8_t)(1 + i % 6);
		views[i].g.ncat = 1;
		views[i].g.cat[0] = (const uint8_t *)cats[i % 4];
		views[i].g.cat_len[0] = strlen(cats[i % 4]);
		views[i].g.not_before = 1000;
		views[i].g.not_after = i == 99 ? MC_TIME_OPEN : 5000;
		views[i].revoked_at = MC_TIME_OPEN;
		views[i].granted_at = (uint64_t)i;
	}
	/* the one grant that permits is the last: every check scans all 100 */
	views[99].g.purpose = MC_PURPOSE_TREATMENT;
	views[99].g.cat[0] = (const uint8_t *)"observation";
	views[99].g.cat_len[0] = 11;
	memset(&req, 0, sizeof(req));
	req.actor_roles = MC_ROLE_CLINICIAN;
	req.actor_active = true;
	req.category = (const uint8_t *)"observation";
	req.category_len = 11;
	req.purpose = MC_PURPOSE_TREATMENT;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		req.time_ms = 4000 + (uint64_t)(i & 4095);   /* some permit, some expired */
		mc_consent_check(views, 100, &req, &d);
		permits += d.outcome == MC_OUTCOME_PERMIT;
	}
	dt = now_s() - t0;
	printf("consent_check, a subject with 100 grants: %10.0f checks/s (%.2fx the 1,000,000/s budget; %ld permits)\n",
	       n / dt, n / dt / 1e6, permits);
}

/* Runs argv with stdout to /dev/null; its exit status, or -1. No shell. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

int main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "medchain";
	const char *scratch = argc > 2 ? argv[2] : "/tmp";
	size_t events = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
	char dir[4096], path[4200];
	struct mc_store *s;
	struct mc_key *node, *admin, *dr;
	struct mc_org *org;
	struct mc_err err = { 0 };
	struct mc_produced out;
	uint8_t (*ids)[MC_RECORD_ID_LEN];
	struct mc_sealed *recs;
	double t0, dt;
	const struct mc_key *en[2];

	if (mc_crypto_init() != 0)
		return 1;
	pure_check_bench();

	snprintf(dir, sizeof(dir), "%s/bench-consent-XXXXXX", scratch);
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/keys", dir);
	mkdir(path, 0700);
	if (mc_key_generate(false, &node, &err) != 0 || mc_key_generate(false, &admin, &err) != 0 ||
	    mc_key_generate(true, &g_org, &err) != 0 || mc_key_generate(false, &dr, &err) != 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/keys/node.key", dir);
	mc_key_save(path, node, NULL, 0, NULL, &err);
	snprintf(path, sizeof(path), "%s/keys/admin.key", dir);
	mc_key_save(path, admin, NULL, 0, NULL, &err);
	snprintf(path, sizeof(path), "%s/keys/org.key", dir);
	mc_key_save(path, g_org, NULL, 0, NULL, &err);
	snprintf(path, sizeof(path), "%s/db", dir);
	if (mc_store_open(path, MC_STORE_CREATE, &s, &err) != 0)
		goto fail;
	{
		struct mc_genesis_identity gi[] = {
			{ node, MC_ROLE_NODE, "n", "o" }, { admin, MC_ROLE_ADMIN, "admin", "o" },
			{ g_org, MC_ROLE_ORG, "o", "o" },
		};
		if (mc_chain_genesis(s, node, gi, 3, kek, NULL, &out, &err) != 0 ||
		    mc_org_open(s, g_org, &org, &err) != 0)
			goto fail;
	}
	en[0] = admin;
	en[1] = dr;
	if (mc_chain_produce(s, node, enroll_build, en, &out, &err) != 0)
		goto fail;
	/* one 1 KiB record per subject, and a grant for each */
	ids = calloc(SUBJECTS, MC_RECORD_ID_LEN);
	recs = calloc(SUBJECTS, sizeof(*recs));
	{
		char payload[1024];

		memset(payload, 'x', sizeof(payload));
		for (int i = 0; i < SUBJECTS; i++) {
			uint8_t subj[32];
			char who[32];
			int n = snprintf(who, sizeof(who), "MRN-%06d", i);

			mc_random(ids[i], MC_RECORD_ID_LEN);
			if (mc_org_subject(org, who, (size_t)n, subj, &err) != 0 ||
			    mc_record_seal(org, ids[i], 1, NULL, subj, "observation", "application/fhir+json",
					   payload, sizeof(payload), &recs[i], &err) != 0)
				goto fail;
		}
		if (mc_records_commit(s, node, admin, org, recs, SUBJECTS, &out, &err) != 0)
			goto fail;
	}
	{
		struct grants gc = { admin, dr->pk, org };

		if (mc_chain_produce(s, node, grants_build, &gc, &out, &err) != 0)
			goto fail;
	}
	/* consented reads through group commit: decide, sign, commit, decrypt */
	{
		size_t n = 20000, group = 500, permits = 0;

		t0 = now_s();
		for (size_t i = 0; i < n; i += group) {
			struct reads r = { dr, ids, i, group, SUBJECTS, 0 };

			if (mc_chain_produce(s, node, reads_build, &r, &out, &err) != 0)
				goto fail;
			permits += r.permits;
			for (size_t k = 0; k < group; k++) {
				uint8_t *p;
				size_t pn;
				struct mc_record_info info;

				if (mc_record_read(s, org, ids[(i + k) % SUBJECTS], 1, &p, &pn, &info, &err) != 0)
					goto fail;
				mc_payload_free(p, pn);
			}
		}
		dt = now_s() - t0;
		printf("consented reads (check + signed ACCESS tx + decrypt), %zu per block: %8.0f reads/s (%.2fx the 3,000/s budget; %zu permits)\n",
		       group, n / dt, n / dt / 3000.0, permits);
	}
	/* the audit trail grows to `events` ACCESS events */
	{
		size_t done = 20000, group = 5000;

		t0 = now_s();
		while (done < events) {
			struct reads r = { dr, ids, done, events - done < group ? events - done : group, SUBJECTS, 0 };

			if (mc_chain_produce(s, node, reads_build, &r, &out, &err) != 0)
				goto fail;
			done += r.count;
		}
		dt = now_s() - t0;
		if (events > 20000) /* the reads above made the first 20,000 */
			printf("(built %zu audit events; the last %zu at %.0f events/s)\n", events, events - 20000,
			       (events - 20000) / dt);
	}
	mc_store_close(s);
	/* audit list through the real binary, 20 runs, the median */
	{
		double times[21];
		int runs = 21;

		char *list_argv[] = { (char *)bin, (char *)"--datadir", dir, (char *)"--json", (char *)"audit",
				      (char *)"list", (char *)"--subject", (char *)"MRN-000123", (char *)"--limit",
				      (char *)"50", NULL };
		char *version_argv[] = { (char *)bin, (char *)"--version", NULL };

		for (int i = 0; i < runs; i++) {
			t0 = now_s();
			if (run(list_argv) != 0) {
				mc_err_set(&err, EX_SOFTWARE, "audit list failed");
				goto fail;
			}
			times[i] = now_s() - t0;
		}
		for (int i = 0; i < runs; i++)
			for (int j = i + 1; j < runs; j++)
				if (times[j] < times[i]) {
					double x = times[i];
					times[i] = times[j];
					times[j] = x;
				}
		t0 = now_s();
		for (int i = 0; i < 20; i++)
			if (run(version_argv) != 0)
				break;
		dt = (now_s() - t0) / 20;
		printf("medchain audit list --subject X --limit 50 over %zu events: median %.1f ms end to end (budget < 10 ms; a bare process start here takes %.1f ms)\n",
		       events, times[runs / 2] * 1e3, dt * 1e3);
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
fail:
	fprintf(stderr, "bench_consent: %s\n", err.msg);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 1;
}
