/* SPDX-License-Identifier: Apache-2.0 */
/* spool.c: rows written in any order come back in the order LMDB keeps
 * them (checked against a real LMDB table of the same rows), across more
 * runs than one merge takes, equal keys in the order added; a rollback
 * drops what was added since the last commit point; a damaged run file is
 * refused; a merge gives back the disk of the runs it has read. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "spool.h"
#include "store.h"
#include "tmpdir.h"

static char dir[64], path[128];

static void setup(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
	tmpdir_make(dir, sizeof(dir), "spool");
	snprintf(path, sizeof(path), "%s/rows", dir);
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(spool, .init = setup, .fini = teardown);

#define NROWS 6000

/* Row i: a key of 5 to 41 bytes whose first 4 are a bijection of i (so
 * every key differs), every 50th row also under those 4 bytes alone (a
 * prefix of another key: the shorter first); values of 0 to 60 bytes, and
 * a few longer than a merge's read buffer and a run's write buffer. */
static size_t row_key(uint32_t i, bool prefix, uint8_t key[64])
{
	uint8_t h[MC_HASH_LEN];
	size_t n = prefix ? 4 : 5 + i % 37;

	mc_be32(key, i * 2654435761u);
	mc_sha256(key, 4, h);
	memcpy(key + 4, h, n - 4);
	return n;
}

static size_t row_val(uint32_t i, uint8_t *v)
{
	size_t n = i % 1000 == 7 ? 70000 : i % 300 == 5 ? 20000 : i % 61;

	for (size_t j = 0; j < n; j++)
		v[j] = (uint8_t)(i + j);
	return n;
}

struct both {
	struct mc_spool *sp;
	uint8_t *val;
	size_t rows;
};

static int fill_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct both *b = vctx;

	for (uint32_t i = 0; i < NROWS; i++)
		for (int p = 0; p < (i % 50 == 0 ? 2 : 1); p++) {
			uint8_t key[64];
			size_t kn = row_key(i, p == 1, key), vn = row_val(i, b->val);

			if (mc_txn_put(t, MC_DB_RECORDS, key, kn, b->val, vn, err) != 0 ||
			    mc_spool_add(b->sp, key, kn, b->val, vn, err) != 0 || mc_spool_commit(b->sp, err) != 0)
				return -1;
			b->rows++;
		}
	return 0;
}

static int walk_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct both *b = vctx;
	struct mc_cursor *c;
	const void *k, *v, *sk, *sv;
	size_t kn, vn, skn, svn, n = 0;
	int rc;

	cr_assert_eq(mc_cursor_open(t, MC_DB_RECORDS, &c, err), 0);
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err), n++) {
		cr_assert_eq(mc_spool_next(b->sp, &sk, &skn, &sv, &svn, err), 0, "row %zu: %s", n, err->msg);
		cr_assert_eq(skn, kn, "row %zu", n);
		cr_assert_eq(memcmp(sk, k, kn), 0, "row %zu", n);
		cr_assert_eq(svn, vn, "row %zu", n);
		cr_assert_eq(memcmp(sv, v, vn), 0, "row %zu", n);
	}
	mc_cursor_close(c);
	cr_assert_eq(rc, MC_NOTFOUND);
	cr_assert_eq(mc_spool_next(b->sp, &sk, &skn, &sv, &svn, err), 1, "no row after the last");
	cr_assert_eq(n, b->rows);
	return 0;
}

/* Chunks of 4 KiB: about a hundred runs, more than MC_SPOOL_FANIN, so
 * some are merged into longer runs first. */
Test(spool, rows_come_back_in_lmdb_key_order_across_more_runs_than_one_merge_takes)
{
	struct mc_store *s;
	struct mc_err err = { 0 };
	struct both b = { 0 };
	char sdir[128];

	snprintf(sdir, sizeof(sdir), "%s/store", dir);
	cr_assert_eq(mc_store_open(sdir, MC_STORE_CREATE, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_spool_open(path, 4096, &b.sp, &err), 0, "%s", err.msg);
	b.val = malloc(70000);
	cr_assert_not_null(b.val);
	cr_assert_eq(mc_store_write(s, fill_txn, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_spool_count(b.sp), b.rows);
	cr_assert_eq(mc_spool_sorted(b.sp, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(s, walk_txn, &b, &err), 0, "%s", err.msg);
	mc_spool_close(b.sp);
	cr_assert_eq(access(path, F_OK), -1, "the file goes with the spool");
	mc_store_close(s);
	free(b.val);
}

static void add(struct mc_spool *sp, const char *k, const char *v)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_spool_add(sp, k, strlen(k), v, strlen(v), &err), 0, "%s", err.msg);
}

static void expect(struct mc_spool *sp, const char *k, const char *v)
{
	struct mc_err err = { 0 };
	const void *gk, *gv;
	size_t gkn, gvn;

	cr_assert_eq(mc_spool_next(sp, &gk, &gkn, &gv, &gvn, &err), 0, "%s", err.msg);
	cr_assert(gkn == strlen(k) && memcmp(gk, k, gkn) == 0, "key %.*s, not %s", (int)gkn, (const char *)gk, k);
	cr_assert(gvn == strlen(v) && memcmp(gv, v, gvn) == 0, "value %.*s, not %s", (int)gvn, (const char *)gv, v);
}

Test(spool, equal_keys_come_back_in_the_order_they_were_added_within_and_across_runs)
{
	struct mc_spool *sp;
	struct mc_err err = { 0 };
	const void *k, *v;
	size_t kn, vn;

	cr_assert_eq(mc_spool_open(path, 40, &sp, &err), 0, "%s", err.msg);
	add(sp, "k", "1");
	add(sp, "b", "x");
	add(sp, "k", "2");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);   /* a run */
	add(sp, "k", "3");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);   /* under 40 bytes: kept in memory */
	add(sp, "a", "y");
	add(sp, "k", "4");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);   /* a second run */
	add(sp, "k", "5");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_spool_count(sp), 7);
	cr_assert_eq(mc_spool_sorted(sp, &err), 0, "%s", err.msg);
	expect(sp, "a", "y");
	expect(sp, "b", "x");
	expect(sp, "k", "1");
	expect(sp, "k", "2");
	expect(sp, "k", "3");
	expect(sp, "k", "4");
	expect(sp, "k", "5");
	cr_assert_eq(mc_spool_next(sp, &k, &kn, &v, &vn, &err), 1);
	mc_spool_close(sp);
}

/* A scratch transaction run again (the map grew) adds its rows again:
 * those of the first attempt go. */
Test(spool, a_rollback_drops_the_rows_added_since_the_last_commit_point)
{
	struct mc_spool *sp;
	struct mc_err err = { 0 };
	const void *k, *v;
	size_t kn, vn;

	cr_assert_eq(mc_spool_open(path, 1 << 20, &sp, &err), 0, "%s", err.msg);
	add(sp, "a", "1");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	add(sp, "b", "first attempt");
	mc_spool_rollback(sp);
	add(sp, "b", "2");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	add(sp, "c", "never committed");
	cr_assert_eq(mc_spool_count(sp), 2);
	cr_assert_eq(mc_spool_sorted(sp, &err), 0, "%s", err.msg);
	expect(sp, "a", "1");
	expect(sp, "b", "2");
	cr_assert_eq(mc_spool_next(sp, &k, &kn, &v, &vn, &err), 1);
	mc_spool_close(sp);
}

/* The merge gives back the blocks it read: the rows are read once. A
 * second sort (it would read the given-back blocks as zeros: empty rows)
 * and an add after the sort are refused. */
Test(spool, the_rows_are_read_once_a_second_sort_is_refused)
{
	struct mc_spool *sp;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_spool_open(path, 40, &sp, &err), 0, "%s", err.msg);
	add(sp, "k", "1");
	add(sp, "b", "x");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_spool_sorted(sp, &err), 0, "%s", err.msg);
	expect(sp, "b", "x");
	cr_assert_eq(mc_spool_sorted(sp, &err), -1);
	cr_assert_eq(err.code, EX_SOFTWARE);
	cr_assert_eq(mc_spool_add(sp, "a", 1, "y", 1, &err), -1);
	cr_assert_eq(err.code, EX_SOFTWARE);
	mc_spool_close(sp);
}

/* The run file cut short: the merge reports it and reads nothing past it. */
Test(spool, a_run_file_cut_short_is_reported_as_damaged)
{
	struct mc_spool *sp;
	struct mc_err err = { 0 };
	struct stat st;

	cr_assert_eq(mc_spool_open(path, 16, &sp, &err), 0, "%s", err.msg);
	add(sp, "a key", "a value long enough");
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 8);
	cr_assert_eq(truncate(path, st.st_size - 3), 0);
	cr_assert_eq(mc_spool_sorted(sp, &err), -1);
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	cr_assert_str_eq(err.msg, "verify's scratch file of sorted rows is damaged");
	mc_spool_close(sp);
}

/* The file's blocks in use, in bytes. */
static uint64_t allocated(const char *p)
{
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	return (uint64_t)st.st_blocks * 512;
}

/* 100,000 rows of 56 bytes (a subject index row's size) in runs of 64 KiB
 * and a little more: more than 64 runs, so before the last merge a pass
 * merges them 64 at a time into new runs at the end of the file (every row
 * written again: the file's length doubles). The runs a merge has read go
 * back to the file system: after the pass the file holds about the rows'
 * bytes (1.06 times them here), not twice them, and once every row is
 * read almost nothing (6%: the blocks two runs share). Where the file system cannot punch
 * holes (FALLOC_FL_PUNCH_HOLE) the test is skipped: nothing is given back
 * there. */
Test(spool, a_merge_gives_back_the_disk_of_the_runs_it_has_read)
{
	struct mc_spool *sp;
	struct mc_err err = { 0 };
	const void *k, *v;
	size_t kn, vn;
	uint64_t rows_bytes = 0, n = 0;
	char probe[128];
	int fd;
	struct stat st;

	snprintf(probe, sizeof(probe), "%s/probe", dir);
	fd = open(probe, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 65536), 0);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) != 0) {
		close(fd);
		cr_skip_test("this file system punches no holes: %s", strerror(errno));
	}
	close(fd);
	cr_assert_eq(mc_spool_open(path, 64u << 10, &sp, &err), 0, "%s", err.msg);
	for (uint32_t i = 0; i < 100000; i++) {
		uint8_t key[48];

		memset(key, 0, sizeof(key));
		mc_be32(key, i * 2654435761u);
		mc_be32(key + 44, i);
		cr_assert_eq(mc_spool_add(sp, key, sizeof(key), NULL, 0, &err), 0, "%s", err.msg);
		rows_bytes += 8 + sizeof(key);
		if (i % 100 == 99)
			cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_spool_sorted(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_geq((uint64_t)st.st_size, rows_bytes * 19 / 10, "a merge pass wrote the rows again: %lld for %llu",
		      (long long)st.st_size, (unsigned long long)rows_bytes);
	cr_assert_leq(allocated(path), rows_bytes * 12 / 10, "after the pass: %llu bytes held for %llu of rows",
		      (unsigned long long)allocated(path), (unsigned long long)rows_bytes);
	while (mc_spool_next(sp, &k, &kn, &v, &vn, &err) == 0)
		n++;
	cr_assert_eq(n, 100000);
	cr_assert_leq(allocated(path), rows_bytes / 10, "every row read: %llu bytes still held",
		      (unsigned long long)allocated(path));
	mc_spool_close(sp);
}
