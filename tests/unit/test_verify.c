/* SPDX-License-Identifier: Apache-2.0 */
/* verify.c over a chain of several chunks (a scratch transaction replays
 * 512 blocks): the next chunk is loaded while one is replayed, and the
 * records checked at the end go through a scratch file. A clean chain
 * verifies with every block, record and signature counted; a damaged later
 * chunk is named as before, and so is a payload altered far down the
 * chain. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "fixture.h"
#include "util.h"
#include "verify.h"

#define BLOCKS 1100 /* genesis + 1099 one-record blocks: three chunks */

struct edit {
	enum mc_db db;
	uint8_t key[64];
	size_t kn;
	bool del;      /* delete the row; else flip the first byte of its value */
	bool copy;     /* or: put a copy of the row under key2 */
	uint8_t key2[64];
};

static int edit_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	const struct edit *e = vctx;
	const void *v;
	size_t vn;
	uint8_t buf[16384];
	int rc;

	if (e->del)
		return mc_txn_del(t, e->db, e->key, e->kn, err) == 0 ? 0 : -1;
	rc = mc_txn_get(t, e->db, e->key, e->kn, &v, &vn, err);
	if (rc != 0 || vn > sizeof(buf))
		return mc_err_set(err, EX_SOFTWARE, "no row to edit");
	memcpy(buf, v, vn);
	if (e->copy)
		return mc_txn_put(t, e->db, e->key2, e->kn, buf, vn, err);
	buf[0] ^= 0x5a;
	return mc_txn_put(t, e->db, e->key, e->kn, buf, vn, err);
}

static void edit(struct edit *e)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_write(fx.s, edit_txn, e, &err), 0, "%s", err.msg);
	mc_store_close(fx.s);
	fx.s = NULL;
}

static void build(void)
{
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];

	fx_setup();
	for (int i = 1; i < BLOCKS; i++)
		cr_assert_eq(fx_put(i % 2 ? "P1" : "P2", "a note", id, &err), 0, "%s", err.msg);
	mc_store_close(fx.s);
	fx.s = NULL;
}

Test(verify, a_chain_of_several_chunks_verifies_whole, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(rep.blocks, BLOCKS);
	cr_assert_eq(rep.records, BLOCKS - 1, "every record version, across chunks: %llu",
		     (unsigned long long)rep.records);
	cr_assert_eq(rep.payloads, BLOCKS - 1);
	/* one vote per block, and every tx (genesis holds three enrollments) */
	cr_assert_eq(rep.signatures, rep.blocks + rep.txs);
	cr_assert_eq(rep.txs, BLOCKS - 1 + 3);
}

/* The blocks the replay reported done, and how often one was reported
 * again (a scratch transaction run again from its checkpoint). */
struct seen {
	uint64_t last, again;
};

static void note_progress(uint64_t done, uint64_t total, void *ctx)
{
	struct seen *s = ctx;

	(void)total;
	if (done <= s->last)
		s->again++;
	s->last = done;
}

/* The scratch map started at 256 KiB: the replay fills it over and over
 * (MDB_MAP_FULL on a put or at the commit), and each time the scratch
 * transaction is aborted, the map grown and the transaction run again from
 * its checkpoint: the height, the previous block, the report's counts, the
 * refs and the spooled rows (mc_spool_rollback) as they were before it.
 * The outcome is the default map's to the count; a rollback that kept any
 * of them would count twice, skip blocks or spool a tx hash twice
 * ("duplicate transaction"). */
Test(verify, a_scratch_map_that_fills_is_grown_and_the_transaction_run_again_from_its_checkpoint, .init = build,
     .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report want, got;
	struct mc_err err = { 0 };
	struct seen seen = { 0 };

	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &want, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_verify_scratch_map(fx.dir, "/tmp", 256u << 10, note_progress, &seen, &got, &err), 0, "%s",
		     err.msg);
	cr_assert_gt(seen.again, 0, "no scratch transaction was run again: the map never filled");
	cr_assert_eq(seen.last, BLOCKS);
	cr_assert_eq(got.blocks, want.blocks);
	cr_assert_eq(got.txs, want.txs);
	cr_assert_eq(got.records, want.records);
	cr_assert_eq(got.payloads, want.payloads);
	cr_assert_eq(got.signatures, want.signatures);
}

/* Damage is still named when the map fills on the way: a payload altered
 * far down the chain, checked at the end through the refs that each
 * scratch transaction run again must have kept once. */
Test(verify, damage_is_named_as_before_when_the_scratch_map_fills, .init = build, .fini = fx_teardown,
     .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit pay = { .db = MC_DB_PAYLOADS, .kn = MC_LOC_LEN };

	mc_loc_key(pay.key, 1050, 0, 0);
	edit(&pay);
	cr_assert_neq(mc_verify_scratch_map(fx.dir, "/tmp", 256u << 10, NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "(block 1050): payload does not match its hash"), "%s", err.msg);
}

Test(verify, a_payload_altered_in_the_last_chunk_is_named, .init = build, .fini = fx_teardown,
     .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .db = MC_DB_PAYLOADS, .kn = MC_LOC_LEN };

	mc_loc_key(e.key, 1050, 0, 0);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "(block 1050): payload does not match its hash"), "%s", err.msg);
}

/* On a chain no tx of which can change a stored record version's state
 * (no erasure here), the end's check takes each version's location and
 * hashes from its put, without looking its state up: an altered wrapped
 * key is still named with its block. */
Test(verify, a_wrapped_key_altered_in_the_last_chunk_is_named, .init = build, .fini = fx_teardown,
     .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .db = MC_DB_KEYWRAP, .kn = MC_LOC_LEN + MC_PK_LEN };

	mc_loc_key(e.key, 1050, 0, 0);
	memcpy(e.key + MC_LOC_LEN, fx.org->pk, MC_PK_LEN);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "(block 1050): wrapped key does not match its hash"), "%s", err.msg);
}

/* 20 records in blocks 1 to 20, the fifth erased in block 21 (its payload
 * and wrapped key deleted). */
static void build_erased(void)
{
	struct mc_err err = { 0 };
	struct mc_produced out;
	uint8_t id[MC_RECORD_ID_LEN], gone[MC_RECORD_ID_LEN];

	fx_setup();
	for (int i = 1; i <= 20; i++) {
		cr_assert_eq(fx_put("P1", "a note", id, &err), 0, "%s", err.msg);
		if (i == 5)
			memcpy(gone, id, sizeof(gone));
	}
	cr_assert_eq(mc_record_erase(fx.s, fx.node, fx.admin, gone, "asked", &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.height, 21);
	mc_store_close(fx.s);
	fx.s = NULL;
}

/* After an erasure the versions' states are looked up at the end, as the
 * replay left them: the erased one is not asked for its payload, and an
 * altered payload of another is still named. */
Test(verify, after_an_erasure_each_state_is_the_replayed_one, .init = build_erased, .fini = fx_teardown,
     .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .db = MC_DB_PAYLOADS, .kn = MC_LOC_LEN };

	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(rep.records, 20);
	cr_assert_eq(rep.payloads, 19);
	mc_loc_key(e.key, 10, 0, 0);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "(block 10): payload does not match its hash"), "%s", err.msg);
}

/* A chain of 40 records of 6 KiB: payloads this large are hashed on the
 * pool. */
static void build_large(void)
{
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	static char big[6 * 1024 + 1];

	memset(big, 'x', sizeof(big) - 1);
	fx_setup();
	for (int i = 1; i <= 40; i++)
		cr_assert_eq(fx_put("P1", big, id, &err), 0, "%s", err.msg);
	mc_store_close(fx.s);
	fx.s = NULL;
}

/* Large payloads' hashes are checked on the pool, in batches, while the
 * main thread looks rows up: a payload missing further down (found by the
 * lookup at once) is not reported over an altered one before it (found
 * by its hash later): the first damage in chain order is named. */
Test(verify, of_two_damaged_payloads_the_first_in_chain_order_is_named, .init = build_large,
     .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit alter = { .db = MC_DB_PAYLOADS, .kn = MC_LOC_LEN };
	struct edit gone = { .db = MC_DB_PAYLOADS, .kn = MC_LOC_LEN, .del = true };

	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(rep.payloads, 40);
	mc_loc_key(alter.key, 10, 0, 0);
	edit(&alter);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_not_null(strstr(err.msg, "(block 10): payload does not match its hash"), "%s", err.msg);
	mc_loc_key(gone.key, 30, 0, 0);
	edit(&gone);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "(block 10): payload does not match its hash"), "%s", err.msg);
}

Test(verify, a_tx_missing_from_a_later_chunk_is_named, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .db = MC_DB_TXS, .kn = 12, .del = true };

	mc_be64(e.key, 700);
	mc_be32(e.key + 8, 0);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, "block 700: tx 0 is missing");
}

/* The tx table is read from the node's store, not copied into the
 * scratch (store.h's mc_store_borrow): a row no block accounts for (a copy
 * of block 700's one tx as its second) is still found, by the count. */
Test(verify, a_tx_row_no_block_accounts_for_is_found, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .db = MC_DB_TXS, .kn = 12, .copy = true };

	mc_be64(e.key, 700);
	mc_be32(e.key + 8, 0);
	mc_be64(e.key2, 700);
	mc_be32(e.key2 + 8, 1);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, "transactions: 1103 entries where the chain has 1102");
}

struct nth {
	enum mc_db db;
	size_t n;
	uint8_t key[64];
	size_t kn;
};

static int nth_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct nth *q = vctx;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (mc_cursor_open(t, q->db, &c, err) != 0)
		return -1;
	rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err);
	for (size_t i = 0; rc == 0 && i < q->n; i++)
		rc = mc_cursor_next(c, &k, &kn, &v, &vn, err);
	if (rc == 0 && kn <= sizeof(q->key)) {
		memcpy(q->key, k, kn);
		q->kn = kn;
	}
	mc_cursor_close(c);
	return rc == 0 ? 0 : mc_err_set(err, EX_SOFTWARE, "no row %zu", q->n);
}

/* The n-th row of db in the node's store, as an edit of it; and the
 * message verify names it by (hex of its first 40 bytes). */
static void nth_row(enum mc_db db, size_t n, struct edit *e, const char *label, const char *what, char *msg,
		    size_t msgn)
{
	struct nth q = { db, n, { 0 }, 0 };
	struct mc_err err = { 0 };
	char hex[81];

	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, nth_txn, &q, &err), 0, "%s", err.msg);
	mc_store_close(fx.s);
	fx.s = NULL;
	e->db = db;
	memcpy(e->key, q.key, q.kn);
	e->kn = q.kn;
	mc_hex(q.key, q.kn > 40 ? 40 : q.kn, hex);
	snprintf(msg, msgn, "%s: entry %s: %s", label, hex, what);
}

/* The tx index and the subject index are not replayed into the scratch
 * store: their rows are sorted on the side and merged against the node's
 * tables (verify.c, spooled). A row altered, missing or that no tx
 * accounts for is named as the scratch's comparison named it. */
Test(verify, a_tx_index_row_altered_is_named, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { 0 };
	char want[256];

	nth_row(MC_DB_TXIDX, 500, &e, "transaction index", "differs from what the chain gives", want, sizeof(want));
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, want);
}

Test(verify, a_tx_index_row_missing_is_named, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .del = true };
	char want[256];

	nth_row(MC_DB_TXIDX, 1000, &e, "transaction index", "is missing", want, sizeof(want));
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, want);
}

Test(verify, a_subject_index_row_missing_is_named, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .del = true };
	char want[256];

	nth_row(MC_DB_SUBJECTS, 300, &e, "subject index", "is missing", want, sizeof(want));
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, want);
}

/* A copy of a subject row under a record id no put names (its last byte
 * changed): a row the chain does not back. */
Test(verify, a_subject_index_row_no_record_accounts_for_is_named, .init = build, .fini = fx_teardown,
     .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	struct edit e = { .copy = true };
	char want[256], hex[81];

	nth_row(MC_DB_SUBJECTS, 700, &e, "subject index", "is not backed by the chain", want, sizeof(want));
	memcpy(e.key2, e.key, e.kn);
	e.key2[e.kn - 1] ^= 1;
	mc_hex(e.key2, 40, hex);
	snprintf(want, sizeof(want), "subject index: entry %s: is not backed by the chain", hex);
	edit(&e);
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_str_eq(err.msg, want);
}

static void die_at_block_600(uint64_t done, uint64_t total, void *ctx)
{
	(void)total;
	(void)ctx;
	if (done == 600)
		raise(SIGKILL);
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "%s", path);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* The verify child killed part way (as a damaged page can kill it): the
 * damage is reported, and the scratch store and its files are gone from
 * the scratch parent all the same. */
Test(verify, a_killed_verify_leaves_no_scratch_behind, .init = build, .fini = fx_teardown, .timeout = 300)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	char parent[4200];

	snprintf(parent, sizeof(parent), "%s/scratch-parent", fx.dir);
	cr_assert_eq(mkdir(parent, 0700), 0);
	cr_assert_neq(mc_verify_isolated(fx.dir, parent, die_at_block_600, NULL, &rep, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "signal 9"), "%s", err.msg);
	cr_assert_eq(count_entries(parent), 0, "the scratch directory is left in %s", parent);
}
