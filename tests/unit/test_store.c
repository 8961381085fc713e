/* SPDX-License-Identifier: Apache-2.0 */
/* store.c: first under threads: the map grows (LMDB remaps it) while other
 * threads of the process read, as in `medchain serve`, where the peer
 * API's threads read while a block is written. No reader may fault or see
 * a torn value. */
#include "config.h"

#include <criterion/criterion.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "codec.h"
#include "crypto.h"
#include "store.h"
#include "tmpdir.h"

static char dir[64];
static struct mc_store *st;
static atomic_int stop, reads, bad;

static void setup(void)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	tmpdir_make(dir, sizeof(dir), "store");
	cr_assert_eq(mc_store_open(dir, MC_STORE_CREATE, &st, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	mc_store_close(st);
	tmpdir_remove(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

/* Walks every value written so far; each must be whole (all its bytes
 * equal its first). */
static int scan_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	(void)vctx;
	if (mc_cursor_open(t, MC_DB_PAYLOADS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		const uint8_t *p = v;

		if (vn == 0 || p[vn - 1] != p[0] || p[vn / 2] != p[0])
			atomic_fetch_add(&bad, 1);
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct mc_err err = { 0 };

		if (mc_store_read(st, scan_txn, NULL, &err) != 0)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

struct put_ctx {
	uint32_t i;
	uint8_t *val;
	size_t len;
};

static int put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct put_ctx *c = vctx;
	uint8_t key[4];

	mc_be32(key, c->i);
	return mc_txn_put(t, MC_DB_PAYLOADS, key, sizeof(key), c->val, c->len, err);
}

Test(store, the_map_grows_while_other_threads_read)
{
	enum { READERS = 3, VALUES = 160 };
	pthread_t th[READERS];
	struct mc_err err = { 0 };
	uint64_t before = mc_store_mapsize(st);
	struct put_ctx pc = { 0, malloc(1 << 20), 1 << 20 };

	cr_assert_not_null(pc.val);
	for (int i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, reader, NULL), 0);
	for (pc.i = 0; pc.i < VALUES; pc.i++) {
		memset(pc.val, (int)(pc.i & 0xff), pc.len);
		cr_assert_eq(mc_store_write(st, put_txn, &pc, &err), 0, "%s", err.msg);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	free(pc.val);
	cr_assert_gt(mc_store_mapsize(st), 2 * before, "the map grew (%llu to %llu bytes)",
		     (unsigned long long)before, (unsigned long long)mc_store_mapsize(st));
	cr_assert_gt(atomic_load(&reads), READERS, "the readers read meanwhile");
	cr_assert_eq(atomic_load(&bad), 0, "no read failed or saw a torn value");
}

/* ---- The API on one thread: open and create, transactions, rollback,
 * growth inside one transaction, read-only, the reader slots, the tables. */

struct kv {
	enum mc_db db;
	const char *k, *v;
};

static int put_kv_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	const struct kv *c = vctx;

	return mc_txn_put(t, c->db, c->k, strlen(c->k), c->v, strlen(c->v), err);
}

struct got {
	enum mc_db db;
	const char *k;
	char v[64];
	int rc;
};

static int get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct got *g = vctx;
	const void *v;
	size_t vn;

	g->v[0] = '\0';
	g->rc = mc_txn_get(t, g->db, g->k, strlen(g->k), &v, &vn, err);
	if (g->rc == 0)
		snprintf(g->v, sizeof(g->v), "%.*s", (int)vn, (const char *)v);
	return g->rc < 0 ? -1 : 0;
}

/* The value of k in db ("" when absent). */
static const char *get(struct mc_store *s, enum mc_db db, const char *k)
{
	static struct got g;
	struct mc_err err = { 0 };

	g.db = db;
	g.k = k;
	cr_assert_eq(mc_store_read(s, get_txn, &g, &err), 0, "%s", err.msg);
	return g.v;
}

static void put(struct mc_store *s, enum mc_db db, const char *k, const char *v)
{
	struct kv c = { db, k, v };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_write(s, put_kv_txn, &c, &err), 0, "%s", err.msg);
}

Test(store, a_created_store_reopens_with_what_was_committed)
{
	struct mc_err err = { 0 };

	put(st, MC_DB_META, "format", "7");
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mc_store_open(dir, 0, &st, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_META, "format"), "7");
	cr_assert_str_eq(get(st, MC_DB_META, "chain_id"), "", "absent: MC_NOTFOUND");
}

Test(store, opening_what_is_not_a_store_says_so)
{
	char empty[96], file[128];
	struct mc_store *s = NULL;
	struct mc_err err = { 0 };
	FILE *f;

	cr_assert_eq(mc_store_open("/nonexistent-mc-dir", 0, &s, &err), -1);
	cr_assert_eq(err.code, EX_NOINPUT, "a missing directory without create: %s", err.msg);
	cr_assert_null(s);

	snprintf(empty, sizeof(empty), "%s/empty", dir);
	cr_assert_eq(mkdir(empty, 0700), 0);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(empty, MC_STORE_RDONLY, &s, &err), -1);
	cr_assert_eq(err.code, EX_NOINPUT, "an empty directory: %s", err.msg);
	cr_assert_not_null(strstr(err.msg, "no chain database"), "%s", err.msg);

	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open("/nonexistent-mc-dir/a/b", MC_STORE_CREATE, &s, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT, "%s", err.msg);

	snprintf(file, sizeof(file), "%s/data.mdb", empty);
	cr_assert_not_null(f = fopen(file, "w"));
	fputs("not an LMDB file, but long enough to look at................................", f);
	fclose(f);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(empty, MC_STORE_RDONLY, &s, &err), -1, "garbage is refused");
	cr_assert_neq(err.code, 0);
	cr_assert_null(s);
}

struct two_then_fail {
	int code;
};

static int two_then_fail_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct two_then_fail *c = vctx;

	if (mc_txn_put(t, MC_DB_META, "a", 1, "1", 1, err) != 0 ||
	    mc_txn_put(t, MC_DB_RECORDS, "b", 1, "2", 1, err) != 0 || mc_txn_del(t, MC_DB_META, "keep", 4, err) != 0)
		return -1;
	return c->code ? mc_err_set(err, c->code, "refused") : 0;
}

Test(store, a_write_whose_callback_fails_leaves_nothing_of_it)
{
	struct two_then_fail c = { EX_DATAERR };
	struct mc_err err = { 0 };

	put(st, MC_DB_META, "keep", "yes");
	cr_assert_eq(mc_store_write(st, two_then_fail_txn, &c, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR, "the callback's error comes back");
	cr_assert_str_eq(err.msg, "refused");
	cr_assert_str_eq(get(st, MC_DB_META, "a"), "");
	cr_assert_str_eq(get(st, MC_DB_RECORDS, "b"), "");
	cr_assert_str_eq(get(st, MC_DB_META, "keep"), "yes", "the delete was rolled back too");
	c.code = 0;
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_write(st, two_then_fail_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_META, "a"), "1");
	cr_assert_str_eq(get(st, MC_DB_META, "keep"), "");
}

static int ops_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	uint64_t n;
	const void *v;
	size_t vn;
	void *w;

	(void)vctx;
	cr_assert_eq(mc_txn_put_new(t, MC_DB_SEQS, "k", 1, "one", 3, err), 0);
	cr_assert_eq(mc_txn_put_new(t, MC_DB_SEQS, "k", 1, "two", 3, err), MC_EXISTS);
	cr_assert_eq(mc_txn_get(t, MC_DB_SEQS, "k", 1, &v, &vn, err), 0);
	cr_assert_eq(memcmp(v, "one", 3), 0, "put_new left the first value");
	cr_assert_eq(mc_txn_reserve(t, MC_DB_SEQS, "r", 1, 4, &w, err), 0);
	memcpy(w, "rsvd", 4);
	cr_assert_eq(mc_txn_append(t, MC_DB_SEQS, "z", 1, "last", 4, err), 0);
	cr_assert_eq(mc_txn_append(t, MC_DB_SEQS, "m", 1, "mid", 3, err), 0,
		     "an append out of order falls back to an insert");
	cr_assert_eq(mc_txn_count(t, MC_DB_SEQS, &n, err), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(mc_txn_del(t, MC_DB_SEQS, "m", 1, err), 0);
	cr_assert_eq(mc_txn_del(t, MC_DB_SEQS, "m", 1, err), MC_NOTFOUND);
	cr_assert_eq(mc_txn_get(t, MC_DB_SEQS, "m", 1, &v, &vn, err), MC_NOTFOUND);
	return 0;
}

static int cursor_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;

	(void)vctx;
	cr_assert_eq(mc_cursor_open(t, MC_DB_SEQS, &c, err), 0);
	cr_assert_eq(mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(memcmp(k, "k", 1), 0, "the first key");
	cr_assert_eq(mc_cursor_seek(c, "l", 1, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(memcmp(k, "r", 1), 0, "the first key >= l");
	cr_assert_eq(memcmp(v, "rsvd", 4), 0, "what was written into the reservation");
	cr_assert_eq(mc_cursor_next(c, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(memcmp(k, "z", 1), 0);
	cr_assert_eq(mc_cursor_next(c, &k, &kn, &v, &vn, err), MC_NOTFOUND);
	cr_assert_eq(mc_cursor_last(c, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(mc_cursor_prev(c, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(memcmp(k, "r", 1), 0);
	cr_assert_eq(mc_cursor_seek(c, "zz", 2, &k, &kn, &v, &vn, err), MC_NOTFOUND);
	mc_cursor_close(c);
	return 0;
}

static int cursor_del_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;

	(void)vctx;
	cr_assert_eq(mc_cursor_open(t, MC_DB_SEQS, &c, err), 0);
	cr_assert_eq(mc_cursor_seek(c, "r", 1, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(mc_cursor_del(c, err), 0);
	mc_cursor_close(c);
	return 0;
}

Test(store, puts_gets_deletes_and_cursors_keep_key_order)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_write(st, ops_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(st, cursor_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_write(st, cursor_del_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_SEQS, "r"), "");
	cr_assert_str_eq(get(st, MC_DB_SEQS, "z"), "last");
}

static int clear_seqs_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	uint64_t n = 1;

	cr_assert_eq(mc_txn_clear(t, MC_DB_SEQS, err), 0, "%s", err->msg);
	cr_assert_eq(mc_txn_count(t, MC_DB_SEQS, &n, err), 0, "%s", err->msg);
	cr_assert_eq(n, 0, "empty within the txn");
	cr_assert_eq(mc_txn_put(t, MC_DB_SEQS, "n", 1, "new", 3, err), 0, "%s", err->msg);
	/* vctx set: the callback fails after the clear */
	return vctx ? mc_err_set(err, EX_SOFTWARE, "fail after the clear") : 0;
}

/* mc_txn_clear (the audit index rebuilt whole): it empties the one table,
 * and the table is usable in the same txn; like any write, a clear in a txn
 * that fails leaves every row where it was. */
Test(store, a_clear_empties_its_table_alone_and_a_failed_txn_keeps_every_row)
{
	struct mc_err err = { 0 };
	int fail = 1;

	cr_assert_eq(mc_store_write(st, ops_txn, NULL, &err), 0, "%s", err.msg);
	put(st, MC_DB_RECORDS, "r1", "v1");
	cr_assert_eq(mc_store_write(st, clear_seqs_txn, &fail, &err), -1);
	cr_assert_str_eq(get(st, MC_DB_SEQS, "z"), "last", "a failed txn's clear leaves the rows");
	cr_assert_str_eq(get(st, MC_DB_SEQS, "n"), "");
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_write(st, clear_seqs_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_SEQS, "z"), "", "cleared");
	cr_assert_str_eq(get(st, MC_DB_SEQS, "n"), "new", "written after the clear");
	cr_assert_str_eq(get(st, MC_DB_RECORDS, "r1"), "v1", "another table is untouched");
}

struct big {
	unsigned runs, values;
	uint8_t *val;
	size_t len;
};

static int big_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct big *c = vctx;
	uint8_t key[4];

	c->runs++;
	for (uint32_t i = 0; i < c->values; i++) {
		mc_be32(key, i);
		c->val[0] = (uint8_t)i;
		if (mc_txn_put(t, MC_DB_PAYLOADS, key, sizeof(key), c->val, c->len, err) != 0)
			return -1;
	}
	return 0;
}

static int count_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_txn_count(t, MC_DB_PAYLOADS, vctx, err);
}

Test(store, one_transaction_larger_than_the_map_grows_it_and_is_run_again_whole)
{
	struct big c = { 0, 96, calloc(1, 1 << 20), 1 << 20 };
	struct mc_err err = { 0 };
	uint64_t before = mc_store_mapsize(st), n = 0;

	cr_assert_not_null(c.val);
	cr_assert_lt((uint64_t)c.values * c.len, 2 * before, "one doubling is enough...");
	cr_assert_gt((uint64_t)c.values * c.len, before, "...and more than the initial map");
	cr_assert_eq(mc_store_write(st, big_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_geq(c.runs, 2, "the callback ran again after the map grew");
	cr_assert_gt(mc_store_mapsize(st), before);
	cr_assert_eq(mc_store_read(st, count_txn, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n, c.values, "every value once, none from the aborted run twice");
	free(c.val);
}

Test(store, a_store_opened_read_only_reads_and_refuses_every_write)
{
	struct mc_store *ro = NULL;
	struct mc_err err = { 0 };
	struct kv c = { MC_DB_META, "x", "y" };

	put(st, MC_DB_META, "format", "7");
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mc_store_open(dir, MC_STORE_RDONLY, &ro, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(ro, MC_DB_META, "format"), "7");
	cr_assert_eq(mc_store_write(ro, put_kv_txn, &c, &err), -1);
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "read-only"), "%s", err.msg);
	mc_store_close(ro);
	cr_assert_eq(mc_store_open(dir, 0, &st, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_META, "x"), "", "nothing was written");
}

/* Readers that hold their transaction until told. */
static atomic_int held, refused, release;

static int hold_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	(void)t;
	(void)vctx;
	(void)err;
	atomic_fetch_add(&held, 1);
	while (!atomic_load(&release))
		usleep(1000);
	return 0;
}

static void *holder(void *arg)
{
	struct mc_err err = { 0 };

	(void)arg;
	if (mc_store_read(st, hold_txn, NULL, &err) != 0) {
		cr_assert_eq(err.code, EX_TEMPFAIL, "a reader over the limit: %d %s", err.code, err.msg);
		atomic_fetch_add(&refused, 1);
	}
	return NULL;
}

Test(store, readers_over_the_slot_limit_are_told_to_try_again_and_the_slots_come_back)
{
	enum { N = 140 };
	pthread_t th[N];
	int i;

	for (i = 0; i < N; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, holder, NULL), 0);
	for (int w = 0; w < 10000 && atomic_load(&held) + atomic_load(&refused) < N; w++)
		usleep(1000);
	cr_assert_eq(atomic_load(&held) + atomic_load(&refused), N, "every reader began or was refused");
	cr_assert_gt(atomic_load(&refused), 0, "more readers than slots: some refused");
	cr_assert_geq(atomic_load(&held), 100, "a hundred readers at once are fine (%d)", atomic_load(&held));
	atomic_store(&release, 1);
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	put(st, MC_DB_META, "after", "1");
	cr_assert_str_eq(get(st, MC_DB_META, "after"), "1", "the slots were given back");
}

static int fill_tables_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	(void)vctx;
	for (int db = 0; db < MC_DB__COUNT; db++) {
		uint8_t v = (uint8_t)db;

		if (mc_txn_put(t, (enum mc_db)db, "key", 3, &v, 1, err) != 0)
			return -1;
	}
	return 0;
}

static int check_tables_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	(void)vctx;
	for (int db = 0; db < MC_DB__COUNT; db++) {
		const void *v;
		size_t vn;
		uint64_t n;

		cr_assert_eq(mc_txn_get(t, (enum mc_db)db, "key", 3, &v, &vn, err), 0, "table %d", db);
		cr_assert_eq(vn, 1);
		cr_assert_eq(*(const uint8_t *)v, db, "table %d is a table of its own", db);
		cr_assert_eq(mc_txn_count(t, (enum mc_db)db, &n, err), 0);
		cr_assert_eq(n, 1, "table %d", db);
	}
	return 0;
}

Test(store, every_table_in_the_list_exists_and_is_distinct_read_write_and_read_only)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_write(st, fill_tables_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(st, check_tables_txn, NULL, &err), 0, "%s", err.msg);
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mc_store_open(dir, MC_STORE_RDONLY, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(st, check_tables_txn, NULL, &err), 0, "%s", err.msg);
}

Test(store, a_copy_holds_the_committed_data)
{
	char copy[128];
	struct mc_store *c = NULL;
	struct mc_err err = { 0 };

	put(st, MC_DB_RECORDS, "r1", "v1");
	snprintf(copy, sizeof(copy), "%s/copy", dir);
	cr_assert_eq(mkdir(copy, 0700), 0);
	cr_assert_eq(mc_store_copy(st, copy, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_open(copy, MC_STORE_RDONLY, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(c, MC_DB_RECORDS, "r1"), "v1");
	mc_store_close(c);
}

/* MC_STORE_SCRATCH (no fsync) is for verify's throwaway replay alone: a
 * directory that holds a store already (a node's) is refused, and so is the
 * flag without MC_STORE_CREATE or with MC_STORE_RDONLY. A new directory
 * opens, takes writes and reads them back. */
Test(store, only_a_new_store_opens_without_fsync)
{
	char fresh[128];
	struct mc_store *s = NULL;
	struct mc_err err = { 0 };

	put(st, MC_DB_META, "format", "7");
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mc_store_open(dir, MC_STORE_CREATE | MC_STORE_SCRATCH, &s, &err), -1, "an existing store");
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	cr_assert_null(s);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(dir, MC_STORE_SCRATCH, &s, &err), -1, "without create");
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);

	snprintf(fresh, sizeof(fresh), "%s/scratch", dir);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_RDONLY | MC_STORE_SCRATCH, &s, &err), -1,
		     "read-only");
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_SCRATCH, &s, &err), 0, "%s", err.msg);
	put(s, MC_DB_RECORDS, "r1", "v1");
	mc_store_trim(s);
	cr_assert_str_eq(get(s, MC_DB_RECORDS, "r1"), "v1", "read back after the map's pages were dropped");
	mc_store_close(s);
	cr_assert_eq(mc_store_open(dir, 0, &st, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(st, MC_DB_META, "format"), "7", "the refused open left the store as it was");
}

/* A scratch store's map may be set small (tests of verify fill it with a
 * short chain); a node store's may not. */
Test(store, only_a_scratch_stores_map_is_set_small)
{
	char fresh[128];
	struct mc_store *s = NULL;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_scratch_map(st, 1u << 20, &err), -1);
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	snprintf(fresh, sizeof(fresh), "%s/scratch", dir);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_SCRATCH, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_scratch_map(s, 256u << 10, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_mapsize(s), 256u << 10);
	put(s, MC_DB_RECORDS, "r1", "v1");
	cr_assert_str_eq(get(s, MC_DB_RECORDS, "r1"), "v1");
	mc_store_close(s);
}

/* Closes the test's store and opens its environment with LMDB alone, as
 * something outside medchain would, in a write transaction. */
static void raw_begin(MDB_env **env, MDB_txn **txn)
{
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mdb_env_create(env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(*env, 64), 0);
	cr_assert_eq(mdb_env_open(*env, dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(*env, NULL, 0, txn), 0);
}

/* A table recreated outside medchain with other LMDB flags (here an integer
 * key, as one flipped byte in its record can make it) would order and
 * compare its rows by another rule: opening the store refuses it, naming
 * the table, read-only (as verify opens it) or for writing. The tamper
 * campaign found such a byte in an empty table passing verify. */
Test(store, a_table_whose_lmdb_flags_were_altered_is_refused_by_name)
{
	struct mc_err err = { 0 };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	raw_begin(&env, &txn);
	cr_assert_eq(mdb_dbi_open(txn, "subjects", 0, &dbi), 0);
	cr_assert_eq(mdb_drop(txn, dbi, 1), 0);
	cr_assert_eq(mdb_dbi_open(txn, "subjects", MDB_CREATE | MDB_INTEGERKEY, &dbi), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	cr_assert_neq(mc_store_open(dir, MC_STORE_RDONLY, &st, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%d %s", err.code, err.msg);
	cr_assert(strstr(err.msg, "subject index") && strstr(err.msg, "flags"), "%s", err.msg);
	err = (struct mc_err){ 0 };
	cr_assert_neq(mc_store_open(dir, 0, &st, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%d %s", err.code, err.msg);
	st = NULL;
}

/* A table name changed by one flipped byte: the optional table it named
 * reads as absent (empty) and a stray table stands beside it. Opening the
 * store refuses any table MC_DBS does not name. */
Test(store, a_table_medchain_does_not_know_is_refused)
{
	struct mc_err err = { 0 };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	raw_begin(&env, &txn);
	cr_assert_eq(mdb_dbi_open(txn, "orgkekr", MDB_CREATE, &dbi), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	cr_assert_neq(mc_store_open(dir, MC_STORE_RDONLY, &st, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%d %s", err.code, err.msg);
	cr_assert(strstr(err.msg, "does not know"), "%s", err.msg);
	st = NULL;
}

struct borrow_ctx {
	struct mc_store *scratch;
	int put_same, put_other, put_new, counted, cleared;
	uint64_t n;
	char seen[16];
};

static int borrow_write_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct borrow_ctx *b = vctx;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;

	b->put_same = mc_txn_put(t, MC_DB_TXS, "t1", 2, "row1", 4, err);
	b->put_other = mc_txn_put(t, MC_DB_TXS, "t1", 2, "rowX", 4, err);
	b->put_new = mc_txn_put_new(t, MC_DB_TXS, "t2", 2, "row2", 4, err);
	b->counted = mc_txn_count(t, MC_DB_TXS, &b->n, err);
	b->cleared = mc_txn_clear(t, MC_DB_TXS, err);
	cr_assert_eq(mc_cursor_open(t, MC_DB_TXS, &c, err), 0, "%s", err->msg);
	cr_assert_eq(mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err), 0, "%s", err->msg);
	snprintf(b->seen, sizeof(b->seen), "%.*s=%.*s", (int)kn, (const char *)k, (int)vn, (const char *)v);
	mc_cursor_close(c);
	return mc_txn_put(t, MC_DB_RECORDS, "r1", 2, "v1", 2, err);
}

static int borrow_txn(struct mc_txn *from, void *vctx, struct mc_err *err)
{
	struct borrow_ctx *b = vctx;

	if (mc_store_borrow(b->scratch, MC_DB_TXS, from, err) != 0)
		return -1;
	cr_assert_str_eq(get(b->scratch, MC_DB_TXS, "t1"), "row1", "a get reads the other store");
	return mc_store_write(b->scratch, borrow_write_txn, b, err);
}

/* mc_store_borrow (verify's replay reads the tx table from the node's
 * store): only a scratch store may borrow; gets, cursors and counts read
 * the other store; a put of the very row it holds writes nothing, a put of
 * other bytes or a new row is refused; once ended, the table is the
 * scratch's own again, and it holds nothing. */
Test(store, a_scratch_store_reads_a_borrowed_table_from_the_other_store)
{
	char fresh[128];
	struct borrow_ctx b = { 0 };
	struct mc_err err = { 0 };

	put(st, MC_DB_TXS, "t1", "row1");
	cr_assert_eq(mc_store_borrow(st, MC_DB_TXS, NULL, &err), -1, "a node's store");
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	snprintf(fresh, sizeof(fresh), "%s/scratch", dir);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_SCRATCH, &b.scratch, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(st, borrow_txn, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(b.put_same, 0, "the row it holds");
	cr_assert_eq(b.put_other, -1, "other bytes");
	cr_assert_eq(b.put_new, -1, "a new row");
	cr_assert_eq(b.cleared, -1, "a clear of the rows the other store holds");
	cr_assert_eq(b.counted, 0);
	cr_assert_eq(b.n, 1);
	cr_assert_str_eq(b.seen, "t1=row1");
	cr_assert_eq(mc_store_borrow(b.scratch, MC_DB_TXS, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(b.scratch, MC_DB_TXS, "t1"), "", "nothing was written to the scratch's own table");
	cr_assert_str_eq(get(b.scratch, MC_DB_RECORDS, "r1"), "v1");
	mc_store_close(b.scratch);
}

struct sink_ctx {
	char seen[256];
	int get, put_new, del, count, cursor, reserve;
};

static int sink(void *vctx, enum mc_db db, const void *k, size_t kn, const void *v, size_t vn,
		struct mc_err *err)
{
	struct sink_ctx *c = vctx;
	size_t at = strlen(c->seen);

	(void)err;
	snprintf(c->seen + at, sizeof(c->seen) - at, "%s%d:%.*s=%.*s", at ? " " : "", (int)db, (int)kn,
		 (const char *)k, (int)vn, (const char *)v);
	return 0;
}

/* Every use of a diverted table but a put, each refused. */
static int divert_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct sink_ctx *c = vctx;
	struct mc_cursor *cur = NULL;
	const void *v;
	size_t vn;
	uint64_t n;
	void *w;

	if (mc_txn_put(t, MC_DB_TXIDX, "h1", 2, "loc1", 4, err) != 0 ||
	    mc_txn_append(t, MC_DB_TXIDX, "h2", 2, "loc2", 4, err) != 0 ||
	    mc_txn_put(t, MC_DB_RECORDS, "r1", 2, "v1", 2, err) != 0)
		return -1;
	c->get = mc_txn_get(t, MC_DB_TXIDX, "h1", 2, &v, &vn, err);
	c->put_new = mc_txn_put_new(t, MC_DB_TXIDX, "h3", 2, "x", 1, err);
	c->reserve = mc_txn_reserve(t, MC_DB_TXIDX, "h4", 2, 1, &w, err);
	c->del = mc_txn_del(t, MC_DB_TXIDX, "h1", 2, err);
	c->count = mc_txn_count(t, MC_DB_TXIDX, &n, err);
	c->cursor = mc_cursor_open(t, MC_DB_TXIDX, &cur, err);
	mc_cursor_close(cur);
	return 0;
}

/* Verify's replay hands the puts of its random-keyed index tables to a
 * sort (mc_store_divert): they reach the sink, nothing reaches the table,
 * any other use fails closed, and a node's store cannot divert. */
Test(store, a_diverted_table_hands_its_puts_over_and_refuses_every_other_use)
{
	char fresh[128];
	struct mc_store *scratch;
	struct sink_ctx c = { 0 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_divert(st, MC_DB_TXIDX, sink, &c, &err), -1, "a node's store");
	cr_assert_eq(err.code, EX_SOFTWARE, "%s", err.msg);
	snprintf(fresh, sizeof(fresh), "%s/scratch", dir);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_SCRATCH, &scratch, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_divert(scratch, MC_DB_TXIDX, sink, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_write(scratch, divert_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.seen, "3:h1=loc1 3:h2=loc2");
	cr_assert_eq(c.get, -1, "a get");
	cr_assert_eq(c.put_new, -1, "a put of a new key (it would need a get)");
	cr_assert_eq(c.reserve, -1, "a reserve");
	cr_assert_eq(c.del, -1, "a delete");
	cr_assert_eq(c.count, -1, "a count");
	cr_assert_eq(c.cursor, -1, "a cursor");
	cr_assert_eq(mc_store_divert(scratch, MC_DB_TXIDX, NULL, NULL, &err), 0, "%s", err.msg);
	cr_assert_str_eq(get(scratch, MC_DB_TXIDX, "h1"), "", "nothing was written to the table");
	cr_assert_str_eq(get(scratch, MC_DB_RECORDS, "r1"), "v1", "other tables as before");
	mc_store_close(scratch);
}

/* The process's file-backed resident set, in KiB (statm's third field). */
static unsigned long file_rss_kb(void)
{
	unsigned long size = 0, res = 0, shared = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu %lu %lu", &size, &res, &shared), 3);
	fclose(f);
	return shared * (unsigned long)(sysconf(_SC_PAGESIZE) / 1024);
}

struct trim_ctx {
	uint32_t n;
	unsigned long peak_kb;
};

/* Reads every 8 KiB value back (each in overflow pages of its own), the
 * file-backed resident set looked at every 16. */
static int read_all_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct trim_ctx *c = vctx;
	volatile uint8_t sum = 0;

	for (uint32_t i = 0; i < c->n; i++) {
		uint8_t key[4];
		const void *v;
		size_t vn;

		mc_be32(key, i);
		if (mc_txn_get(t, MC_DB_PAYLOADS, key, sizeof(key), &v, &vn, err) != 0)
			return -1;
		for (size_t j = 0; j < vn; j += 4096)
			sum += ((const uint8_t *)v)[j];
		if (i % 16 == 0 && file_rss_kb() > c->peak_kb)
			c->peak_kb = file_rss_kb();
	}
	return 0;
}

/* mc_store_autotrim (verify's replay of a block that reads and writes a
 * great many rows): a long transaction that reads 32 MiB of a scratch store
 * keeps the store's pages it maps to a few MiB above the bound; a node's
 * store is not affected. */
Test(store, a_scratch_store_under_autotrim_keeps_its_mapped_pages_bounded)
{
	char fresh[128];
	struct mc_store *s = NULL;
	struct mc_err err = { 0 };
	struct big w = { 0, 4096, calloc(1, 8192), 8192 };
	struct trim_ctx c = { 4096, 0 };
	unsigned long base;

	cr_assert_not_null(w.val);
	snprintf(fresh, sizeof(fresh), "%s/scratch", dir);
	cr_assert_eq(mc_store_open(fresh, MC_STORE_CREATE | MC_STORE_SCRATCH, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_write(s, big_txn, &w, &err), 0, "%s", err.msg);
	free(w.val);
	mc_store_trim(s);
	base = file_rss_kb();
	mc_store_autotrim(s, st, (base + 4096) * 1024);
	cr_assert_eq(mc_store_write(s, read_all_txn, &c, &err), 0, "%s", err.msg);
	cr_assert_lt(c.peak_kb, base + 8192, "peak %lu KiB over a base of %lu", c.peak_kb, base);
	mc_store_close(s);
}

static void *read_all_thread(void *arg)
{
	struct mc_err err = { 0 };

	return mc_store_read(st, read_all_txn, arg, &err) == 0 ? arg : NULL;
}

/* mc_store_autotrim_shared (bulk import): a node's store read by two
 * threads at once, each a long read txn over 32 MiB, keeps the store's
 * pages it maps to a few MiB above the bound, an allowance over the
 * process's file-backed pages when it is set. */
Test(store, a_store_under_shared_autotrim_keeps_its_mapped_pages_bounded_across_threads)
{
	struct mc_err err = { 0 };
	struct big w = { 0, 4096, calloc(1, 8192), 8192 };
	struct trim_ctx c[2] = { { 4096, 0 }, { 4096, 0 } };
	pthread_t th;
	void *ok = NULL;
	unsigned long base;

	cr_assert_not_null(w.val);
	cr_assert_eq(mc_store_write(st, big_txn, &w, &err), 0, "%s", err.msg);
	free(w.val);
	mc_store_trim(st);
	base = file_rss_kb();
	mc_store_autotrim_shared(st, 4096 * 1024, 16);
	cr_assert_eq(pthread_create(&th, NULL, read_all_thread, &c[1]), 0);
	cr_assert_eq(mc_store_read(st, read_all_txn, &c[0], &err), 0, "%s", err.msg);
	pthread_join(th, &ok);
	mc_store_autotrim_shared(st, 0, 0);
	cr_assert_not_null(ok);
	for (int i = 0; i < 2; i++)
		cr_assert_lt(c[i].peak_kb, base + 8192, "thread %d: peak %lu KiB over a base of %lu", i,
			     c[i].peak_kb, base);
}

/* Whether this process maps dir's data.mdb with the random-read advice
 * (VmFlags "rr" in /proc/self/smaps): -1 when it is not mapped. */
static int mapped_random(const char *d)
{
	char path[128], line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	int in = 0, rr = -1;

	cr_assert_not_null(f);
	snprintf(path, sizeof(path), "%s/data.mdb", d);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
			in = strstr(line, path) != NULL;
		else if (in && strncmp(line, "VmFlags:", 8) == 0)
			rr = strstr(line, " rr") != NULL;
	}
	fclose(f);
	return rr;
}

Test(store, a_store_opened_for_random_reads_maps_without_readahead_and_reads_and_writes_as_any)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mapped_random(dir), 0, "the default keeps the kernel's readahead");
	put(st, MC_DB_META, "format", "7");
	mc_store_close(st);
	st = NULL;
	cr_assert_eq(mc_store_open(dir, MC_STORE_RANDOM, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(mapped_random(dir), 1, "MADV_RANDOM on the map");
	cr_assert_str_eq(get(st, MC_DB_META, "format"), "7");
	put(st, MC_DB_META, "format", "8");
	cr_assert_str_eq(get(st, MC_DB_META, "format"), "8");
}
