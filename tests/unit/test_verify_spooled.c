/* SPDX-License-Identifier: Apache-2.0 */
/* verify.c's reader of a spooled table (struct spooled): the tx index's
 * rows come back one a key, and a tx hash spooled twice is refused as the
 * rule refuses a duplicate tx, naming the later tx ("block H, tx I:
 * duplicate transaction"); the subject index's equal keys give the last
 * row, as LMDB keeps the last put. A stored chain cannot reach the
 * duplicate: the replay's sequence check refuses a tx seen before, and the
 * tx hash covers its author and sequence number. So the reader is driven
 * here on a real spool, through verify.c itself (included: the reader is
 * its own, static), not through a chain. */
#include "config.h"

#include <criterion/criterion.h>
#include <sysexits.h>

#include "tmpdir.h"
#include "verify.c"

static char dir[64], path[128];

static void setup(void)
{
	tmpdir_make(dir, sizeof(dir), "spooled");
	snprintf(path, sizeof(path), "%s/rows", dir);
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(spooled, .init = setup, .fini = teardown);

/* A tx index row: the hash (32 bytes of b) at block h, tx i. */
static void put_tx(struct mc_spool *sp, uint8_t b, uint64_t h, uint32_t i)
{
	uint8_t k[MC_HASH_LEN], loc[12];
	struct mc_err err = { 0 };

	memset(k, b, sizeof(k));
	mc_be64(loc, h);
	mc_be32(loc + 8, i);
	cr_assert_eq(mc_spool_add(sp, k, sizeof(k), loc, sizeof(loc), &err), 0, "%s", err.msg);
}

/* Reads q to its end: the rows given, and the result that ended it. */
static int drain(struct spooled *q, unsigned *rows, struct mc_err *err)
{
	const void *k, *v;
	size_t kn, vn;
	int rc;

	*rows = 0;
	while ((rc = spooled_next(q, &k, &kn, &v, &vn, err)) == 0)
		(*rows)++;
	return rc;
}

Test(spooled, a_tx_hash_spooled_twice_is_a_duplicate_transaction_naming_the_later_tx)
{
	struct mc_spool *sp;
	struct spooled q;
	struct mc_err err = { 0 };
	unsigned rows;

	cr_assert_eq(mc_spool_open(path, 1u << 20, &sp, &err), 0, "%s", err.msg);
	put_tx(sp, 0x11, 5, 0);
	put_tx(sp, 0x22, 6, 1);
	put_tx(sp, 0x33, 7, 0);
	put_tx(sp, 0x22, 9, 2);   /* block 6's tx again, in block 9 */
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(spooled_start(&q, sp, MC_DB_TXIDX, &err), 0, "%s", err.msg);
	cr_assert_eq(drain(&q, &rows, &err), -1, "a tx hash twice is refused, not given once");
	cr_assert_eq(rows, 1, "the rows before it are given");
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, "block 9, tx 2: duplicate transaction");
	spooled_end(&q);
	mc_spool_close(sp);
}

Test(spooled, distinct_tx_hashes_and_a_subject_row_put_twice_are_given_one_a_key)
{
	struct mc_spool *sp, *subj;
	struct spooled q;
	struct mc_err err = { 0 };
	unsigned rows;
	char p2[160];
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[48];

	cr_assert_eq(mc_spool_open(path, 1u << 20, &sp, &err), 0, "%s", err.msg);
	put_tx(sp, 0x11, 5, 0);
	put_tx(sp, 0x22, 6, 1);
	put_tx(sp, 0x33, 7, 0);
	cr_assert_eq(mc_spool_commit(sp, &err), 0, "%s", err.msg);
	cr_assert_eq(spooled_start(&q, sp, MC_DB_TXIDX, &err), 0, "%s", err.msg);
	cr_assert_eq(drain(&q, &rows, &err), MC_NOTFOUND, "%s", err.msg);
	cr_assert_eq(rows, 3);
	spooled_end(&q);
	mc_spool_close(sp);

	snprintf(p2, sizeof(p2), "%s/subjects", dir);
	cr_assert_eq(mc_spool_open(p2, 1u << 20, &subj, &err), 0, "%s", err.msg);
	memset(key, 0x44, sizeof(key));
	cr_assert_eq(mc_spool_add(subj, key, sizeof(key), "a", 1, &err), 0);
	cr_assert_eq(mc_spool_add(subj, key, sizeof(key), "b", 1, &err), 0);
	cr_assert_eq(mc_spool_commit(subj, &err), 0);
	cr_assert_eq(spooled_start(&q, subj, MC_DB_SUBJECTS, &err), 0, "%s", err.msg);
	cr_assert_eq(spooled_next(&q, &k, &kn, &v, &vn, &err), 0, "%s", err.msg);
	cr_assert_eq(vn, 1);
	cr_assert_eq(((const char *)v)[0], 'b', "the last put of a key wins");
	cr_assert_eq(spooled_next(&q, &k, &kn, &v, &vn, &err), MC_NOTFOUND);
	spooled_end(&q);
	mc_spool_close(subj);
}
