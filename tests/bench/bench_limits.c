/* SPDX-License-Identifier: Apache-2.0 */
/* bench_limits - the machine's limits, measured in the same run as the
 * figures `make bench` compares with them (tests/bench/limits prints them).
 * Never a pass/fail: each mode prints one line of numbers.
 *
 *   bench_limits verify THREADS SECONDS
 *       Ed25519 verifications a second, THREADS threads at once, summed:
 *       prints "verify-rate R"
 *   bench_limits fdatasync DIR N
 *       a 4 KiB pwrite then fdatasync, N times, in a file of DIR:
 *       prints "p50 MS p90 MS p99 MS"
 *   bench_limits commit DIR N
 *       one durable commit of medchain's store (as a node opens it: fsync
 *       on) putting one small row, N times, in a new store under DIR:
 *       prints "p50 MS p90 MS p99 MS"
 *   bench_limits spawn N PROGRAM ARGS...
 *       start PROGRAM and wait for its exit, N times (its output goes to
 *       /dev/null): prints "p50 MS p90 MS p99 MS"
 */
#include "config.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "store.h"

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Prints the percentiles of n samples (ms), sorting them. */
static void print_pct(double *ms, size_t n)
{
	qsort(ms, n, sizeof(double), cmp_d);
	printf("p50 %.3f p90 %.3f p99 %.3f\n", ms[n / 2], ms[(n * 90) / 100], ms[(n * 99) / 100]);
}

static long count_arg(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "bench_limits: %s must be a number from %ld to %ld, not '%s'\n", what, lo, hi, s);
		exit(64);
	}
	return v;
}

struct vthread {
	pthread_t th;
	double seconds;
	unsigned long n;
};

static void *verify_main(void *arg)
{
	struct vthread *v = arg;
	uint8_t seed[MC_SEED_LEN] = { 1 }, pk[MC_PK_LEN], sk[MC_SK_LEN], msg[32] = { 2 }, sig[MC_SIG_LEN];
	double t0;

	mc_sign_seed_keypair(seed, pk, sk);
	mc_sign(sk, msg, sizeof(msg), sig);
	t0 = now_s();
	while (now_s() - t0 < v->seconds)
		for (int i = 0; i < 100; i++)
			v->n += mc_sign_verify(pk, msg, sizeof(msg), sig) == 0;
	return NULL;
}

static int verify_rate(int threads, double seconds)
{
	struct vthread *v = calloc((size_t)threads, sizeof(*v));
	double t0 = now_s(), total = 0;

	for (int i = 0; i < threads; i++) {
		v[i].seconds = seconds;
		pthread_create(&v[i].th, NULL, verify_main, &v[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(v[i].th, NULL);
		total += (double)v[i].n;
	}
	printf("verify-rate %.0f\n", total / (now_s() - t0));
	free(v);
	return 0;
}

static int fdatasync_lat(const char *dir, size_t n)
{
	char path[4200], block[4096];
	double *ms = calloc(n, sizeof(double));
	int fd;

	snprintf(path, sizeof(path), "%s/bench-fdatasync.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !ms) {
		perror(path);
		return 1;
	}
	memset(block, 'x', sizeof(block));
	/* the file exists at its full size first: each sync is of data only */
	for (size_t i = 0; i < 256; i++)
		if (pwrite(fd, block, sizeof(block), (off_t)(i * sizeof(block))) != (ssize_t)sizeof(block))
			goto fail;
	if (fsync(fd) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();

		block[0] = (char)i;
		if (pwrite(fd, block, sizeof(block), (off_t)((i % 256) * sizeof(block))) != (ssize_t)sizeof(block) ||
		    fdatasync(fd) != 0)
			goto fail;
		ms[i] = (now_s() - t0) * 1000.0;
	}
	close(fd);
	unlink(path);
	print_pct(ms, n);
	free(ms);
	return 0;
fail:
	perror(path);
	close(fd);
	unlink(path);
	return 1;
}

static int put_row(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	static const char key[] = "bench-limits";
	uint8_t v[256];

	memset(v, (int)*(size_t *)ctx, sizeof(v));
	return mc_txn_put(t, MC_DB_CONSENSUS, key, sizeof(key) - 1, v, sizeof(v), err);
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

static int commit_lat(const char *dir, size_t n)
{
	char path[4200];
	struct mc_store *s = NULL;
	struct mc_err err = { 0 };
	double *ms = calloc(n, sizeof(double));
	int rc = 1;

	snprintf(path, sizeof(path), "%s/bench-commit-XXXXXX", dir);
	if (!ms || !mkdtemp(path)) {
		perror(path);
		return 1;
	}
	if (mc_store_open(path, MC_STORE_CREATE, &s, &err) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();

		if (mc_store_write(s, put_row, &i, &err) != 0)
			goto out;
		ms[i] = (now_s() - t0) * 1000.0;
	}
	print_pct(ms, n);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_limits: %s\n", err.msg);
	if (s)
		mc_store_close(s);
	nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(ms);
	return rc;
}

static int spawn_lat(size_t n, char **argv)
{
	posix_spawn_file_actions_t fa;
	double *ms = calloc(n, sizeof(double));

	if (!ms)
		return 1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (size_t i = 0; i < n; i++) {
		double t0 = now_s();
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0 || waitpid(pid, &st, 0) != pid ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_limits: %s did not run\n", argv[0]);
			return 1;
		}
		ms[i] = (now_s() - t0) * 1000.0;
	}
	posix_spawn_file_actions_destroy(&fa);
	print_pct(ms, n);
	free(ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (mc_crypto_init() != 0)
		return 70;
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return verify_rate((int)count_arg(argv[2], "THREADS", 1, 256),
				   (double)count_arg(argv[3], "SECONDS", 1, 600));
	if (argc == 4 && strcmp(argv[1], "fdatasync") == 0)
		return fdatasync_lat(argv[2], (size_t)count_arg(argv[3], "N", 1, 1000000));
	if (argc == 4 && strcmp(argv[1], "commit") == 0)
		return commit_lat(argv[2], (size_t)count_arg(argv[3], "N", 1, 1000000));
	if (argc >= 4 && strcmp(argv[1], "spawn") == 0)
		return spawn_lat((size_t)count_arg(argv[2], "N", 1, 1000000), argv + 3);
	fprintf(stderr, "usage: bench_limits verify THREADS SECONDS | fdatasync DIR N | commit DIR N |"
			" spawn N PROGRAM ARGS...\n");
	return 64;
}
