/* SPDX-License-Identifier: Apache-2.0 */
/* The fixture's store (fixture.h) as an older binary left it: closed, then
 * opened with LMDB itself in a write txn, so a test can drop the tables and
 * keys a newer format added. For the unit tests of stores older than a
 * table (valset, idindex). */
#ifndef MC_TEST_RAWSTORE_H
#define MC_TEST_RAWSTORE_H

#include <lmdb.h>

#include "fixture.h"

/* Closes fx.s and begins a write txn on its environment (*env). */
static inline MDB_txn *raw_begin(MDB_env **env)
{
	MDB_txn *txn;

	mc_store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(mdb_env_create(env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(*env, 64), 0);
	cr_assert_eq(mdb_env_open(*env, fx.dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(*env, NULL, 0, &txn), 0);
	return txn;
}

/* Empties and deletes the table named name. */
static inline void raw_drop(MDB_txn *txn, const char *name)
{
	MDB_dbi dbi;

	cr_assert_eq(mdb_dbi_open(txn, name, 0, &dbi), 0);
	cr_assert_eq(mdb_drop(txn, dbi, 1), 0);
}

static inline void raw_commit(MDB_env *env, MDB_txn *txn)
{
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

#endif
