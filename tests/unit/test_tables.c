/* SPDX-License-Identifier: Apache-2.0 */
/* The one table per concept is complete: every transaction type of tx.h's
 * MC_TX_TYPES has a name and a rule, every LMDB table of store.h's MC_DBS a
 * name and a label, and verify finds a tampered row in each table marked
 * derived and names the table. */
#include "config.h"

#include <sysexits.h>

#include "fixture.h"
#include "tx.h"
#include "verify.h"

Test(tables, every_transaction_type_has_a_name_and_an_apply_function)
{
	for (unsigned t = 1; t < MC_TX__END; t++) {
		const char *name = mc_tx_type_name(t);

		cr_assert(name && *name, "type %u has no name (a gap in MC_TX_TYPES?)", t);
		cr_assert_not_null(mc_chain_tx_apply_fn(t), "%s has no apply function", name);
		for (unsigned u = 1; u < t; u++)
			cr_assert_str_neq(mc_tx_type_name(u), name, "types %u and %u share a name", u, t);
	}
	cr_assert_null(mc_tx_type_name(0));
	cr_assert_null(mc_tx_type_name(MC_TX__END));
	cr_assert_null(mc_chain_tx_apply_fn(0));
	cr_assert_null(mc_chain_tx_apply_fn(MC_TX__END));
	cr_assert_not(mc_tx_type_attach(MC_TX__END));
	cr_assert_not(mc_tx_type_audited(MC_TX__END));
}

Test(tables, every_lmdb_table_has_a_name_a_label_and_a_kind)
{
	for (unsigned db = 0; db < MC_DB__COUNT; db++) {
		const struct mc_db_info *d = mc_db_info(db);

		cr_assert(d && d->name && *d->name, "table %u has no name", db);
		cr_assert(d->label && *d->label, "%s has no label", d->name);
		cr_assert(d->kind == MC_DBK_DERIVED || d->kind == MC_DBK_PRIMARY || d->kind == MC_DBK_LOCAL,
			  "%s has no kind", d->name);
		for (unsigned e = 0; e < db; e++) {
			cr_assert_str_neq(mc_db_info(e)->name, d->name, "two tables named %s", d->name);
			cr_assert_str_neq(mc_db_info(e)->label, d->label, "two tables labelled %s", d->label);
		}
	}
	cr_assert_null(mc_db_info(MC_DB__COUNT));
}

/* An extra row in db: a key no table holds (33 bytes of 0xff sort last). */
static int tamper_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	uint8_t key[33];

	memset(key, 0xff, sizeof(key));
	return mc_txn_put(t, *(const enum mc_db *)ctx, key, sizeof(key), "tampered", 8, err);
}

Test(tables, verify_finds_and_names_a_row_added_to_each_derived_table)
{
	unsigned checked = 0;

	for (unsigned db = 0; db < MC_DB__COUNT; db++) {
		const struct mc_db_info *d = mc_db_info(db);
		struct mc_verify_report rep;
		struct mc_err err = { 0 };
		uint8_t id[MC_RECORD_ID_LEN];
		enum mc_db which = db;

		if (d->kind != MC_DBK_DERIVED)
			continue;
		fx_setup();
		cr_assert_eq(fx_put("P1", "a note", id, &err), 0, "%s", err.msg);
		mc_store_close(fx.s);
		fx.s = NULL;
		cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "untouched: %s", err.msg);
		cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
		cr_assert_eq(mc_store_write(fx.s, tamper_txn, &which, &err), 0, "%s", err.msg);
		mc_store_close(fx.s);
		fx.s = NULL;
		cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0,
			      "a row added to %s goes unnoticed", d->name);
		cr_assert_eq(err.code, EX_DATAERR, "%s: %s", d->name, err.msg);
		cr_assert_not_null(strstr(err.msg, d->label), "a row added to %s: \"%s\" does not name \"%s\"",
				   d->name, err.msg, d->label);
		fx_teardown();
		checked++;
	}
	cr_assert_gt(checked, 0);
}
