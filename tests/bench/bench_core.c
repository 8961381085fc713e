/* SPDX-License-Identifier: Apache-2.0 */
/* bench_core - measures the core against the machine's own limits, in one
 * run, and prints ratios (never a pass/fail: budgets are read by people).
 *
 *   ed25519 verifications/s on one core (the limit for verify)
 *   group commit: single-record signed RECORD_PUT txs, many per block
 *   verify of a chain of single-signed txs, as a ratio of the limit, and
 *     its peak RSS (VmHWM, reset just before the verify)
 *
 * usage: bench_core SCRATCH_DIR [N_TXS]
 */
#include "config.h"

#include <ftw.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "crypto.h"
#include "identity.h"
#include "keystore.h"
#include "records.h"
#include "store.h"
#include "verify.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ed25519_rate(void)
{
	uint8_t seed[32] = { 1 }, pk[32], sk[64], msg[32] = { 2 }, sig[64];
	int n = 20000, ok = 0;
	double t0;

	mc_sign_seed_keypair(seed, pk, sk);
	mc_sign(sk, msg, sizeof(msg), sig);
	t0 = now_s();
	for (int i = 0; i < n; i++)
		ok += mc_sign_verify(pk, msg, sizeof(msg), sig) == 0;
	if (ok != n)
		abort();
	return n / (now_s() - t0);
}

/* Resets this process's peak RSS (VmHWM) to its current RSS (Linux 4.0),
 * after giving back the heap it freed. */
static void hwm_reset(void)
{
	FILE *f;

	malloc_trim(0);
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* VmHWM in KiB, or 0 if unknown. */
static long hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static struct mc_key *g_org;

static int kek(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return mc_kek_create(t, g_org->pk, 0, err);
}

struct group {
	struct mc_batch *batches;
	size_t first, count;
	const struct mc_org *org;
	const struct mc_key *author;
};

static int group_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct group *g = vctx;

	for (size_t i = 0; i < g->count; i++)
		if (mc_batch_add(t, b, &g->batches[g->first + i], g->org, g->author, err) != 0)
			return -1;
	return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

int main(int argc, char **argv)
{
	const char *scratch = argc > 1 ? argv[1] : "/tmp";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 50000;
	size_t group = 500;
	char dir[4096];
	struct mc_store *s;
	struct mc_key *node, *admin;
	struct mc_org *org;
	struct mc_err err = { 0 };
	struct mc_produced out;
	struct mc_sealed *recs;
	struct mc_batch *batches;
	char payload[1024];
	double rate, t0, t_commit, t_verify;
	struct mc_verify_report rep;

	if (mc_crypto_init() != 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/bench-core-XXXXXX", scratch);
	if (!mkdtemp(dir))
		return 1;
	rate = ed25519_rate();
	if (mc_store_open(dir, MC_STORE_CREATE, &s, &err) != 0 ||
	    mc_key_generate(false, &node, &err) != 0 || mc_key_generate(false, &admin, &err) != 0 ||
	    mc_key_generate(true, &g_org, &err) != 0)
		goto fail;
	{
		struct mc_genesis_identity ids[] = {
			{ node, MC_ROLE_NODE, "n", "o" },
			{ admin, MC_ROLE_ADMIN, "a", "o" },
			{ g_org, MC_ROLE_ORG, "o", "o" },
		};
		if (mc_chain_genesis(s, node, ids, 3, kek, NULL, &out, &err) != 0 ||
		    mc_org_open(s, g_org, &org, &err) != 0)
			goto fail;
	}
	memset(payload, 'x', sizeof(payload));
	recs = calloc(n, sizeof(*recs));
	batches = calloc(n, sizeof(*batches));
	for (size_t i = 0; i < n; i++) {
		uint8_t id[16], subj[32];
		char who[32];
		int len = snprintf(who, sizeof(who), "MRN-%zu", i % 1000);

		mc_random(id, sizeof(id));
		if (mc_org_subject(org, who, (size_t)len, subj, &err) != 0 ||
		    mc_record_seal(org, id, 1, NULL, subj, "observation", "application/fhir+json",
				   payload, sizeof(payload), &recs[i], &err) != 0 ||
		    mc_batch_prepare(&batches[i], &recs[i], 1, &err) != 0)
			goto fail;
	}
	/* Group commit: each tx is signed on its own (one record, one
	 * signature), `group` of them share a block and an fsync. */
	t0 = now_s();
	for (size_t i = 0; i < n; i += group) {
		struct group g = { batches, i, n - i < group ? n - i : group, org, admin };

		if (mc_chain_produce(s, node, group_build, &g, &out, &err) != 0)
			goto fail;
	}
	t_commit = now_s() - t0;
	mc_store_close(s);
	for (size_t i = 0; i < n; i++) {
		mc_batch_release(&batches[i]);
		mc_sealed_release(&recs[i]);
	}
	free(batches);
	free(recs);

	hwm_reset();
	t0 = now_s();
	{
		char db[4200];

		snprintf(db, sizeof(db), "%s", dir);
		if (mc_verify(db, scratch, NULL, NULL, &rep, &err) != 0)
			goto fail;
	}
	t_verify = now_s() - t0;

	printf("ed25519 verify, one core:        %10.0f /s   (the limit for verify)\n", rate);
	printf("group commit, signed single puts: %10.0f tx/s (%zu txs, %zu per block; budget 5000 tx/s: %.2fx)\n",
	       n / t_commit, n, group, n / t_commit / 5000.0);
	printf("verify of %llu txs:               %10.0f tx/s = %.2fx one core's ed25519 rate (budget >= 1.8: %.2f of it;"
	       " peak RSS %ld MiB)\n",
	       (unsigned long long)rep.txs, rep.txs / t_verify, rep.txs / t_verify / rate,
	       rep.txs / t_verify / rate / 1.8, hwm_kib() / 1024);
	mc_org_free(org);
	mc_key_free(node);
	mc_key_free(admin);
	mc_key_free(g_org);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
fail:
	fprintf(stderr, "bench_core: %s\n", err.msg);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 1;
}
