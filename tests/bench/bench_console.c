/* SPDX-License-Identifier: Apache-2.0 */
/* bench_console - the console's budgets, on a pseudo-terminal of 80x24:
 *
 *   events DATADIR N   appends N ACCESS events (the admin reading back the
 *                      records it stored, 5,000 a block) to a data dir made by
 *                      `medchain init --no-passphrase` and `record import`
 *   actors DATADIR N   enrols N clinicians (one block) and has each read the
 *                      first record once (one ACCESS each, one block): a
 *                      chain of more distinct actors than the audit trail's
 *                      merge of the actor index takes (65)
 *   measure DATADIR    opens the console (the same code as `medchain` on a
 *                      terminal) and prints: first paint of each screen (load
 *                      from the chain and draw), a key press to the updated
 *                      screen, and the process's resident memory
 *
 * Prints figures; never fails on a budget.
 */
#include "config.h"

#include <curses.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "chain.h"
#include "cli.h"
#include "consent.h"
#include "keystore.h"
#include "screens.h"
#include "store.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#include "bench_reads.h"
#include "util.h"

struct ids {
	uint8_t (*id)[MC_RECORD_ID_LEN];
	size_t n, cap;
};

static int ids_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct ids *ids = vctx;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (mc_cursor_open(t, MC_DB_RECORDS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0 && ids->n < ids->cap;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err))
		memcpy(ids->id[ids->n++], k, MC_RECORD_ID_LEN);
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

static struct mc_key *load_key(const char *dir, const char *name)
{
	char path[4096];
	struct mc_key *k = NULL;
	struct mc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/keys/%s.key", dir, name);
	if (mc_key_load(path, NULL, 0, &k, &err) != 0) {
		fprintf(stderr, "bench_console: %s\n", err.msg);
		exit(1);
	}
	return k;
}

static int cmd_events(const char *dir, size_t n)
{
	char db[4096];
	struct mc_store *s;
	struct mc_err err = { 0 };
	struct mc_key *node = load_key(dir, "node"), *admin = load_key(dir, "admin");
	struct ids ids = { calloc(10000, MC_RECORD_ID_LEN), 0, 10000 };
	double t0 = now_ms();

	snprintf(db, sizeof(db), "%s/db", dir);
	if (mc_store_open(db, 0, &s, &err) != 0 || mc_store_read(s, ids_txn, &ids, &err) != 0 || !ids.n) {
		fprintf(stderr, "bench_console: %s\n", err.msg[0] ? err.msg : "no records");
		return 1;
	}
	for (size_t done = 0; done < n;) {
		struct reads r = { admin, ids.id, done, n - done < 5000 ? n - done : 5000, ids.n, 0 };
		struct mc_produced out;

		if (mc_chain_produce(s, node, reads_build, &r, &out, &err) != 0) {
			fprintf(stderr, "bench_console: %s\n", err.msg);
			return 1;
		}
		done += r.count;
	}
	printf("  appended %zu audit events in %.1f s\n", n, (now_ms() - t0) / 1000);
	mc_store_close(s);
	mc_key_free(node);
	mc_key_free(admin);
	free(ids.id);
	return 0;
}

struct actors {
	const struct mc_key *admin;
	struct mc_key **keys;
	size_t n;
	uint8_t (*rec)[MC_RECORD_ID_LEN];
};

/* One IDENTITY_ENROLL (a clinician) for each key. */
static int enrol_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct actors *a = vctx;
	int rc = 0;

	for (size_t i = 0; i < a->n && rc == 0; i++) {
		struct mc_enroll e;
		struct mc_buf body;
		char name[48];

		memset(&e, 0, sizeof(e));
		memcpy(e.pk, a->keys[i]->pk, MC_PK_LEN);
		e.roles = MC_ROLE_CLINICIAN;
		snprintf(name, sizeof(name), "bench-clinician-%zu", i);
		e.name = (const uint8_t *)name;
		e.name_len = strlen(name);
		mc_buf_init(&body);
		mc_enroll_encode(&e, &body);
		rc = mc_builder_add_new(t, b, a->admin, MC_TX_IDENTITY_ENROLL, body.data, body.len, NULL, 0, err);
		mc_buf_release(&body);
	}
	return rc;
}

/* One read of the first record by each key. */
static int actor_reads_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct actors *a = vctx;

	for (size_t i = 0; i < a->n; i++) {
		struct reads r = { a->keys[i], a->rec, 0, 1, 1, 0 };

		if (reads_build(t, b, &r, err) != 0)
			return -1;
	}
	return 0;
}

static int cmd_actors(const char *dir, size_t n)
{
	char db[4096];
	struct mc_store *s;
	struct mc_err err = { 0 };
	struct mc_key *node = load_key(dir, "node"), *admin = load_key(dir, "admin");
	struct ids ids = { calloc(1, MC_RECORD_ID_LEN), 0, 1 };
	struct actors a = { admin, calloc(n ? n : 1, sizeof(struct mc_key *)), n, ids.id };
	struct mc_produced out;
	int rc = 0;

	snprintf(db, sizeof(db), "%s/db", dir);
	if (mc_store_open(db, 0, &s, &err) != 0 || mc_store_read(s, ids_txn, &ids, &err) != 0 || !ids.n) {
		fprintf(stderr, "bench_console: %s\n", err.msg[0] ? err.msg : "no records");
		return 1;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = mc_key_generate(false, &a.keys[i], &err);
	if (rc != 0 || mc_chain_produce(s, node, enrol_build, &a, &out, &err) != 0 ||
	    mc_chain_produce(s, node, actor_reads_build, &a, &out, &err) != 0) {
		fprintf(stderr, "bench_console: %s\n", err.msg);
		return 1;
	}
	printf("  %zu clinicians enrolled, one read each\n", n);
	mc_store_close(s);
	for (size_t i = 0; i < n; i++)
		mc_key_free(a.keys[i]);
	free(a.keys);
	mc_key_free(node);
	mc_key_free(admin);
	free(ids.id);
	return 0;
}

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* What the process has read from the disk (KiB, /proc/self/io read_bytes)
 * and its major page faults: what a screen's load cost beyond the page
 * cache. */
static void disk_reads(double *kib, long *majflt)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[256];
	unsigned long long b = 0;
	struct rusage ru;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "read_bytes: %llu", &b) == 1)
			break;
	if (f)
		fclose(f);
	*kib = (double)b / 1024;
	getrusage(RUSAGE_SELF, &ru);
	*majflt = ru.ru_majflt;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_measure(const char *dir)
{
	struct mc_cli cli;
	struct mc_err err = { 0 };
	struct winsize ws = { 24, 80, 0, 0 };
	int master, slave;
	FILE *term;
	pthread_t th;
	struct mc_app *app;
	static const int screen_keys[] = { '1', '2', '3', '4', '5', '6', '?' };
	double worst_paint = 0, lat[200];
	int nlat = 0;

	memset(&cli, 0, sizeof(cli));
	snprintf(cli.datadir, sizeof(cli.datadir), "%s", dir);
	mc_config_defaults(&cli.conf);
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0 || !(term = fdopen(slave, "r+"))) {
		perror("bench_console: openpty");
		return 1;
	}
	pthread_create(&th, NULL, drain, &master);
	setenv("TERM", "xterm-256color", 1);
	if (!(app = mc_console_open(&cli, term, term, &err))) {
		fprintf(stderr, "bench_console: %s\n", err.msg);
		return 1;
	}
	printf("  first paint of each screen (load from the chain, draw, write to the terminal):\n");
	for (size_t i = 0; i < MC_ARRAY_LEN(screen_keys); i++) {
		double t0, dt, kib0, kib1;
		long flt0, flt1;

		disk_reads(&kib0, &flt0);
		t0 = now_ms();
		mc_console_key(app, screen_keys[i]);
		mc_console_paint(app);
		dt = now_ms() - t0;
		disk_reads(&kib1, &flt1);
		if (dt > worst_paint)
			worst_paint = dt;
		printf("    %c %-10s %7.2f ms %9.0f KiB read %6ld major faults\n", screen_keys[i],
		       mc_screens[app->screen].title, dt, kib1 - kib0, flt1 - flt0);
	}
	/* key presses on the big lists: cursor moves and page turns */
	{
		static const int walk[] = { KEY_DOWN, KEY_DOWN, KEY_NPAGE, KEY_NPAGE, KEY_UP, KEY_PPAGE, KEY_END, KEY_HOME };

		for (int s = 0; s < 3; s++) {
			mc_console_key(app, s == 0 ? '3' : s == 1 ? '5' : '4');
			mc_console_paint(app);
			for (int r = 0; r < 4; r++)
				for (size_t k = 0; k < MC_ARRAY_LEN(walk) && nlat < 200; k++) {
					double t0 = now_ms();

					mc_console_key(app, walk[k]);
					mc_console_paint(app);
					lat[nlat++] = now_ms() - t0;
				}
		}
	}
	qsort(lat, (size_t)nlat, sizeof(double), cmp);
	printf("  worst first paint %.2f ms (%.2fx the 50 ms budget)\n", worst_paint, worst_paint / 50);
	printf("  a key press to the updated screen, %d presses on Records, Audit, Consent: median %.2f ms, worst %.2f ms"
	       " (%.2fx the 20 ms budget)\n", nlat, lat[nlat / 2], lat[nlat - 1], lat[nlat - 1] / 20);
	printf("  resident memory %.1f MiB (%.2fx the 32 MiB budget)\n", rss_kib() / 1024.0, rss_kib() / 1024.0 / 32);
	mc_console_close(app);
	mc_cli_close(&cli);
	return 0;
}

int main(int argc, char **argv)
{
	if (mc_crypto_init() != 0)
		return 1;
	if (argc == 4 && strcmp(argv[1], "events") == 0)
		return cmd_events(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "actors") == 0)
		return cmd_actors(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "measure") == 0)
		return cmd_measure(argv[2]);
	fprintf(stderr, "usage: bench_console events DATADIR N | actors DATADIR N | measure DATADIR\n");
	return 64;
}
