/* SPDX-License-Identifier: Apache-2.0 */
/* bench_core - measures the core against the machine's own limits, in one
 * run, and prints ratios (never a pass/fail: budgets are read by people).
 *
 *   ed25519 verifications/s on one core (the limit for verify)
 *   group commit: single-record signed RECORD_PUT txs, many per block
 *   full verify of that chain, and of chains of BLOCKS blocks of one tx
 *   each: signatures checked per second (txs' and votes') as a ratio of
 *   one core's rate (the budget: >= 1.8 on 2 cores), the verify
 *   process's peak resident set (VmHWM), which must not grow with the
 *   chain's length, and its CPU time (whether a core idled, and the
 *   share of it the signatures alone would take)
 *
 * Verify runs in a process of its own (this program, re-run with --verify)
 * so that its VmHWM is its own. The chains of BLOCKS blocks are built on
 * /dev/shm when there is one (fsync there costs nothing, and the build is
 * not what is measured), then copied to SCRATCH_DIR: verify reads them
 * from there, on disk, with the shipped flags.
 *
 * usage: bench_core SCRATCH_DIR [N_TXS [BLOCKS...]]
 *        (defaults: 50000 txs; chains of 100000 and 1000000 blocks)
 *        bench_core --chain DIR BLOCKS | --group DIR N_TXS
 *        (builds one such chain in DIR and keeps it, for timing
 *        `medchain verify` on it from outside, build against build)
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Verifications per second of wall time on one core; *cpu_each (unless
 * NULL) gets the CPU seconds one took, which a load on the machine does
 * not inflate as it does the wall time. */
static double ed25519_rate_cpu(double *cpu_each)
{
	uint8_t seed[32] = { 1 }, pk[32], sk[64], msg[32] = { 2 }, sig[64];
	int n = 20000, ok = 0;
	double t0, c0;

	mc_sign_seed_keypair(seed, pk, sk);
	mc_sign(sk, msg, sizeof(msg), sig);
	t0 = now_s();
	c0 = thread_cpu_s();
	for (int i = 0; i < n; i++)
		ok += mc_sign_verify(pk, msg, sizeof(msg), sig) == 0;
	if (ok != n)
		abort();
	if (cpu_each)
		*cpu_each = (thread_cpu_s() - c0) / n;
	return n / (now_s() - t0);
}

static double ed25519_rate(void)
{
	return ed25519_rate_cpu(NULL);
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

/* ---- a chain: one node, one admin writing, one organization ---------- */

struct kit {
	struct mc_store *s;
	struct mc_key *node, *admin, *orgkey;
	struct mc_org *org;
};

static int kek(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	const struct kit *k = ctx;

	return mc_kek_create(t, k->orgkey->pk, 0, err);
}

static int kit_open(struct kit *k, const char *dir, struct mc_err *err)
{
	struct mc_produced out;

	memset(k, 0, sizeof(*k));
	if (mc_store_open(dir, MC_STORE_CREATE, &k->s, err) != 0 ||
	    mc_key_generate(false, &k->node, err) != 0 || mc_key_generate(false, &k->admin, err) != 0 ||
	    mc_key_generate(true, &k->orgkey, err) != 0)
		return -1;
	{
		struct mc_genesis_identity ids[] = {
			{ k->node, MC_ROLE_NODE, "n", "o" },
			{ k->admin, MC_ROLE_ADMIN, "a", "o" },
			{ k->orgkey, MC_ROLE_ORG, "o", "o" },
		};
		if (mc_chain_genesis(k->s, k->node, ids, 3, kek, k, &out, err) != 0)
			return -1;
	}
	return mc_org_open(k->s, k->orgkey, &k->org, err);
}

static void kit_close(struct kit *k)
{
	mc_org_free(k->org);
	mc_key_free(k->node);
	mc_key_free(k->admin);
	mc_key_free(k->orgkey);
	mc_store_close(k->s);
	memset(k, 0, sizeof(*k));
}

/* Record i as one single-record batch. */
static int seal_one(struct kit *k, size_t i, const char *payload, size_t len, struct mc_sealed *rec,
		    struct mc_batch *b, struct mc_err *err)
{
	uint8_t id[16], subj[32];
	char who[32];
	int n = snprintf(who, sizeof(who), "MRN-%zu", i % 1000);

	mc_random(id, sizeof(id));
	if (mc_org_subject(k->org, who, (size_t)n, subj, err) != 0 ||
	    mc_record_seal(k->org, id, 1, NULL, subj, "observation", "application/fhir+json", payload, len,
			   rec, err) != 0)
		return -1;
	return mc_batch_prepare(b, rec, 1, err);
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

/* Group commit: n txs of one 1 KiB record each, sealed beforehand, each
 * signed on its own, `group` of them to a block (and an fsync). */
static int group_commit(struct kit *k, size_t n, size_t group, double *secs, struct mc_err *err)
{
	struct mc_sealed *recs = calloc(n, sizeof(*recs));
	struct mc_batch *batches = calloc(n, sizeof(*batches));
	char payload[1024];
	struct mc_produced out;
	int rc = recs && batches ? 0 : -1;
	double t0;

	memset(payload, 'x', sizeof(payload));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = seal_one(k, i, payload, sizeof(payload), &recs[i], &batches[i], err);
	t0 = now_s();
	for (size_t i = 0; rc == 0 && i < n; i += group) {
		struct group g = { batches, i, n - i < group ? n - i : group, k->org, k->admin };

		rc = mc_chain_produce(k->s, k->node, group_build, &g, &out, err);
	}
	*secs = now_s() - t0;
	for (size_t i = 0; recs && batches && i < n; i++) {
		mc_batch_release(&batches[i]);
		mc_sealed_release(&recs[i]);
	}
	free(batches);
	free(recs);
	return rc;
}

/* A chain of `blocks` blocks (genesis included) of one small record each:
 * the fastest generator here, one produce per block. */
static int block_chain(const char *dir, uint64_t blocks, struct mc_err *err)
{
	struct kit k;
	char payload[64];
	int rc = kit_open(&k, dir, err);

	memset(payload, 'y', sizeof(payload));
	for (uint64_t h = 1; rc == 0 && h < blocks; h++) {
		struct mc_sealed rec;
		struct mc_batch b;
		struct mc_produced out;

		memset(&rec, 0, sizeof(rec));
		memset(&b, 0, sizeof(b));
		rc = seal_one(&k, (size_t)h, payload, sizeof(payload), &rec, &b, err);
		if (rc == 0) {
			struct group g = { &b, 0, 1, k.org, k.admin };

			rc = mc_chain_produce(k.s, k.node, group_build, &g, &out, err);
		}
		mc_batch_release(&b);
		mc_sealed_release(&rec);
	}
	kit_close(&k);
	return rc;
}

/* ---- verify, in a process of its own --------------------------------- */

struct vres {
	unsigned long long blocks, txs, sigs;
	double secs;
	unsigned long hwm_kb;
	double cpu;    /* the verify process's user + system seconds, all threads */
	double sig_cpu; /* CPU seconds of one verification on one core, around it */
	double limit;  /* one core's ed25519 rate, measured just before and after */
};

static unsigned long vmhwm_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* This process's user + system seconds so far, all its threads. */
static double cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* bench_core --verify DB SCRATCH: one line, "blocks txs sigs secs hwm_kb
 * cpu_secs". */
static int verify_main(const char *db, const char *scratch)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	double t0, c0;

	if (mc_crypto_init() != 0)
		return 1;
	t0 = now_s();
	c0 = cpu_s();
	if (mc_verify(db, scratch, NULL, NULL, &rep, &err) != 0) {
		fprintf(stderr, "bench_core: verify: %s\n", err.msg);
		return 1;
	}
	printf("%llu %llu %llu %.6f %lu %.6f\n", (unsigned long long)rep.blocks, (unsigned long long)rep.txs,
	       (unsigned long long)rep.signatures, now_s() - t0, vmhwm_kb(), cpu_s() - c0);
	return 0;
}

static int verify_child(const char *self, const char *db, const char *scratch, struct vres *r)
{
	int fds[2], status = 1;
	pid_t pid;
	FILE *f;
	int got;

	if (pipe(fds) != 0)
		return -1;
	r->limit = ed25519_rate_cpu(&r->sig_cpu);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(self, self, "--verify", db, scratch, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	got = f ? fscanf(f, "%llu %llu %llu %lf %lu %lf", &r->blocks, &r->txs, &r->sigs, &r->secs, &r->hwm_kb,
			 &r->cpu) : 0;
	if (f)
		fclose(f);
	if (pid > 0)
		waitpid(pid, &status, 0);
	{
		double each;

		r->limit = (r->limit + ed25519_rate_cpu(&each)) / 2;
		r->sig_cpu = (r->sig_cpu + each) / 2;
	}
	return got == 6 && pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The ratio is against one core's rate measured around this verify (the
 * mean of before and after), so that a load on the machine that comes and
 * goes weighs on both alike. The CPU line says whether a core idled (cores
 * busy below the machine's) and what share of that CPU the signatures
 * alone would take at one core's rate: the rest is verify's other work. */
static void print_verify(const char *what, const struct vres *r)
{
	printf("verify of %s:\n", what);
	printf("  %llu blocks, %llu txs, %llu signatures in %.2f s: %.0f tx/s, %.0f signatures/s\n"
	       "  = %.2fx one core's ed25519 rate of %.0f/s around it (budget >= 1.80 on 2 cores); VmHWM %.1f MiB\n",
	       r->blocks, r->txs, r->sigs, r->secs, r->txs / r->secs, r->sigs / r->secs,
	       r->sigs / r->secs / r->limit, r->limit, r->hwm_kb / 1024.0);
	if (r->cpu > 0)
		printf("  CPU %.2f s: %.2f of %ld cores busy on average; the signatures alone (%.1f us of CPU each on one core) are %.0f%% of it\n",
		       r->cpu, r->cpu / r->secs, sysconf(_SC_NPROCESSORS_ONLN), r->sig_cpu * 1e6,
		       100.0 * r->sigs * r->sig_cpu / r->cpu);
}

/* A chain of `blocks` blocks built (on /dev/shm if there is one), copied
 * to scratch and verified there. */
static int verify_blocks(const char *self, const char *scratch, uint64_t blocks, struct vres *r,
			 struct mc_err *err)
{
	char build[4096], copy[4096], what[64];
	struct stat st;
	struct mc_store *s = NULL;
	int rc;

	snprintf(build, sizeof(build), "%s/bench-chain-XXXXXX",
		 stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : scratch);
	snprintf(copy, sizeof(copy), "%s/bench-copy-XXXXXX", scratch);
	if (!mkdtemp(build) || !mkdtemp(copy))
		return mc_err_set(err, 1, "mkdtemp: %s", strerror(errno));
	rc = block_chain(build, blocks, err);
	if (rc == 0)
		rc = mc_store_open(build, MC_STORE_RDONLY, &s, err);
	if (rc == 0)
		rc = mc_store_copy(s, copy, err);
	mc_store_close(s);
	nftw(build, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (rc == 0 && verify_child(self, copy, scratch, r) != 0)
		rc = mc_err_set(err, 1, "verify of the %llu-block chain failed", (unsigned long long)blocks);
	nftw(copy, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	snprintf(what, sizeof(what), "a chain of %llu blocks of one tx", (unsigned long long)blocks);
	if (rc == 0)
		print_verify(what, r);
	return rc;
}

/* bench_core --chain DIR BLOCKS, --group DIR N_TXS: the chain, kept. */
static int keep_chain(bool blocks, const char *dir, uint64_t n)
{
	struct mc_err err = { 0 };
	struct kit k;
	double secs;
	int rc;

	if (mc_crypto_init() != 0)
		return 1;
	if (blocks) {
		rc = block_chain(dir, n, &err);
	} else {
		rc = kit_open(&k, dir, &err);
		if (rc == 0)
			rc = group_commit(&k, (size_t)n, 500, &secs, &err);
		kit_close(&k);
	}
	if (rc != 0)
		fprintf(stderr, "bench_core: %s\n", err.msg);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *scratch = argc > 1 ? argv[1] : "/tmp";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 50000;
	size_t group = 500;
	char dir[4096], self[4096];
	struct kit k;
	struct mc_err err = { 0 };
	double rate, t_commit;
	struct vres r, hwm[2] = { { 0 } };
	ssize_t sl;

	if (argc == 4 && strcmp(argv[1], "--verify") == 0)
		return verify_main(argv[2], argv[3]);
	if (argc == 4 && (strcmp(argv[1], "--chain") == 0 || strcmp(argv[1], "--group") == 0))
		return keep_chain(argv[1][2] == 'c', argv[2], strtoull(argv[3], NULL, 10));
	if (mc_crypto_init() != 0)
		return 1;
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0)
		return 1;
	self[sl] = '\0';
	snprintf(dir, sizeof(dir), "%s/bench-core-XXXXXX", scratch);
	if (!mkdtemp(dir))
		return 1;
	rate = ed25519_rate();
	printf("ed25519 verify, one core:        %10.0f /s   (the limit for verify; measured again around each verify)\n",
	       rate);
	if (kit_open(&k, dir, &err) != 0 || group_commit(&k, n, group, &t_commit, &err) != 0)
		goto fail;
	kit_close(&k);
	printf("group commit, signed single puts: %10.0f tx/s (%zu txs, %zu per block; budget 5000 tx/s: %.2fx)\n",
	       n / t_commit, n, group, n / t_commit / 5000.0);
	if (verify_child(self, dir, scratch, &r) != 0) {
		snprintf(err.msg, sizeof(err.msg), "verify of the group-commit chain failed");
		goto fail;
	}
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	print_verify("the group-commit chain", &r);
	for (int i = 3; i < (argc > 3 ? argc : 5); i++) {
		uint64_t blocks = argc > 3 ? strtoull(argv[i], NULL, 10) : i == 3 ? 100000 : 1000000;

		if (verify_blocks(self, scratch, blocks, &r, &err) != 0)
			goto fail;
		hwm[i > 3] = r;
	}
	if (hwm[0].hwm_kb && hwm[1].hwm_kb)
		printf("VmHWM, %llu blocks over %llu blocks: %.2f (budget <= 1.10: flat in the chain's length)\n",
		       hwm[1].blocks, hwm[0].blocks, (double)hwm[1].hwm_kb / hwm[0].hwm_kb);
	return 0;
fail:
	fprintf(stderr, "bench_core: %s\n", err.msg);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 1;
}
