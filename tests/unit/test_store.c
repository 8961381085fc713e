/* SPDX-License-Identifier: Apache-2.0 */
/* store.c under threads: the map grows (LMDB remaps it) while other
 * threads of the process read, as in `medchain serve`, where the peer
 * API's threads read while a block is written. No reader may fault or see
 * a torn value. */
#include "config.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "store.h"

static char dir[64];
static struct mc_store *st;
static atomic_int stop, reads, bad;

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb;
	(void)f;
	(void)w;
	return remove(p);
}

static void setup(void)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/mc-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(mc_store_open(dir, MC_STORE_CREATE, &st, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	mc_store_close(st);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
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
