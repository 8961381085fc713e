/* SPDX-License-Identifier: Apache-2.0 */
/* The anchor journal as serve's /metrics sums it (mc_journal_summarise):
 * the newest row's state, the gas of the confirmed rows only, the nonce
 * reset row skipped, and rows already final never read again (a damaged
 * final row does not stop an up-to-date summary; a summary from scratch
 * says it is damaged). */
#include "config.h"

#include "fixture.h"
#include "journal.h"

TestSuite(journal, .init = fx_setup, .fini = fx_teardown);

static int put_entry(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_journal_put(t, ctx, err);
}

static void put(struct mc_anchor_entry *e, uint64_t seq, unsigned state, uint64_t gas)
{
	struct mc_err err = { 0 };

	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->state = (uint8_t)state;
	e->tree_size = seq + 1;
	e->public_chain_id = 31337;
	e->nonce = seq - 1;
	e->gas_limit = gas;
	e->nattempts = 1;
	cr_assert_eq(mc_store_write(fx.s, put_entry, e, &err), 0, "%s", err.msg);
}

static int summarise(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_journal_summarise(t, ctx, err);
}

static int put_reset(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_journal_reset_put(t, ctx, err);
}

static int damage_row_1(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	static const uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };

	(void)ctx;
	return mc_txn_put(t, MC_DB_JOURNAL, key, sizeof(key), "junk", 4, err);
}

Test(journal, summary_of_an_empty_journal_is_zero)
{
	struct mc_journal_summary s = { 0 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, summarise, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.last_state, 0);
	cr_assert_eq(s.gas, 0);
	cr_assert_eq(s.rows, 0);
}

Test(journal, summary_counts_confirmed_gas_and_reads_final_rows_once)
{
	struct mc_anchor_entry *e = calloc(1, sizeof(*e));
	struct mc_journal_summary s = { 0 }, fresh = { 0 };
	struct mc_nonce_reset r = { .after_seq = 2, .public_chain_id = 31337, .next_nonce = 9, .time_ms = 1 };
	struct mc_err err = { 0 };

	cr_assert_not_null(e);
	put(e, 1, MC_ANCHOR_CONFIRMED, 23000);
	put(e, 2, MC_ANCHOR_SUPERSEDED, 22000);
	put(e, 3, MC_ANCHOR_MINED, 24000);
	cr_assert_eq(mc_store_write(fx.s, put_reset, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, summarise, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.gas, 23000, "a superseded or mined row spent nothing yet: %llu", (unsigned long long)s.gas);
	cr_assert_eq(s.last_state, MC_ANCHOR_MINED);
	cr_assert_eq(s.rows, 3, "the reset row is no anchor");
	cr_assert_eq(s.final_seq, 2);

	/* row 3 confirmed, row 4 planned; row 1, final, damaged meanwhile */
	put(e, 3, MC_ANCHOR_CONFIRMED, 24000);
	put(e, 4, MC_ANCHOR_PLANNED, 25000);
	cr_assert_eq(mc_store_write(fx.s, damage_row_1, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, summarise, &s, &err), 0, "row 1 was read again: %s", err.msg);
	cr_assert_eq(s.gas, 47000);
	cr_assert_eq(s.last_state, MC_ANCHOR_PLANNED);
	cr_assert_eq(s.rows, 4);
	cr_assert_eq(s.final_seq, 3);
	/* and again, with nothing new: the same */
	cr_assert_eq(mc_store_read(fx.s, summarise, &s, &err), 0, "%s", err.msg);
	cr_assert_eq(s.gas, 47000);
	cr_assert_eq(s.rows, 4);
	/* from scratch, the damaged row is found */
	cr_assert_neq(mc_store_read(fx.s, summarise, &fresh, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR);
	free(e);
}
