/* SPDX-License-Identifier: Apache-2.0 */
/* store.h - the node's LMDB environment.
 *
 * One environment per node (<datadir>/db), opened once per process, never
 * used across fork(). Named databases are listed in enum mc_db. Writes go
 * through mc_store_write(), which runs a callback inside one write
 * transaction and, when the map is full (from mdb_put or mdb_txn_commit),
 * aborts, grows the map with no transaction open, and runs the callback
 * again from the start: callbacks must be re-runnable. Readers never block
 * the writer; one writer at a time across processes (LMDB's lock: a second
 * writer waits).
 *
 * The node's data is opened without MDB_NOSYNC, MDB_MAPASYNC, MDB_WRITEMAP
 * and MDB_NOMEMINIT. A failed commit with EIO/ENOSPC is reported as EX_IOERR
 * and never retried.
 *
 * This header does not expose LMDB: ui/ may include it.
 */
#ifndef MC_STORE_H
#define MC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum mc_db {
	MC_DB_META,        /* "chain_id", "format", ... -> value */
	MC_DB_BLOCKS,      /* height u64 -> block header || certificate */
	MC_DB_TXS,         /* height u64 || index u32 -> tx encoding */
	MC_DB_TXIDX,       /* tx hash -> height u64 || index u32 */
	MC_DB_CTREE,       /* level u8 || index u64 -> chain tree subtree hash */
	MC_DB_PAYLOADS,    /* location (height || tx || entry) -> ciphertext */
	MC_DB_KEYWRAP,     /* location || org pk -> wrapped data key */
	MC_DB_KEKS,        /* org pk || epoch u32 -> sealed KEK */
	MC_DB_RECORDS,     /* record id || version u32 -> record state */
	MC_DB_SUBJECTS,    /* subject || record id -> (empty) */
	MC_DB_IDENTITIES,  /* pk -> identity state */
	MC_DB_SEQS,        /* author pk -> last sequence u64 */
	MC_DB_GRANTS,      /* grant id -> grant state */
	MC_DB_GRANTIDX,    /* subject || grantee || grant id -> (empty) */
	MC_DB_AUDIT_SUBJECT, /* subject || height u64 || tx u32 -> type u8 | outcome u8 */
	MC_DB_AUDIT_ACTOR, /* actor pk || height u64 || tx u32 -> type u8 | outcome u8 */
	MC_DB_AUDIT_OUTCOME, /* outcome u8 || height u64 || tx u32 -> (empty) */
	MC_DB_ANCHORED,    /* tree size u64 -> height u64 | tx u32 | ANCHOR_COMMIT body */
	MC_DB_CHAINSTATE,  /* "content" -> height u64 of the last block holding a
			    * tx other than ANCHOR_COMMIT */
	MC_DB_NODES,       /* validator pk -> added height u64 | removed height u64
			    * (0 while in the set) | url (valset.h) */
	MC_DB_VALSETS,     /* first height u64 a validator set applies to ->
			    * its sorted keys (valset.h) */
	MC_DB_JOURNAL,     /* this node's anchor journal (not derived from the
			    * chain, not replicated): seq u64 -> anchor */
	MC_DB_CONSENSUS,   /* this node's consensus state (not derived, not
			    * replicated): "lock", "join", proposals (engine.h) */
	MC_DB_DUPKEYS,     /* duplicate key (32) -> record id (16): derived from
			    * keyed RECORD_PUT entries (records.h) */
	MC_DB_ORGKEKS,     /* holder org pk || origin org pk || epoch u32 -> KEK of
			    * origin's epoch sealed to holder: derived from
			    * ORG_ROTATE (orgrot.h) */
	MC_DB_ORGSUCC,     /* old org pk -> new org pk || height u64: derived
			    * from ORG_ROTATE (orgrot.h) */
	MC_DB_ROTATIONS,   /* new pk -> old pk (32) | kind u8 | height u64 |
			    * tx u32 | author pk (32): derived from
			    * IDENTITY_ROTATE (chain.h) */
	MC_DB_ALERT_ACKS,  /* alert id (8) -> kind u8 | height u64 | tx u32 |
			    * author pk: derived from ALERT_ACK (alerts.h) */
	MC_DB__COUNT
};

#define MC_NOTFOUND 1

struct mc_store;
struct mc_txn;
struct mc_cursor;

enum {
	MC_STORE_CREATE = 1 << 0,  /* create the environment if missing */
	MC_STORE_RDONLY = 1 << 1,  /* open read-only (verify, status) */
};

/* Opens (or with MC_STORE_CREATE, creates) the environment in dir. Clears
 * stale reader slots. */
int mc_store_open(const char *dir, unsigned flags, struct mc_store **out, struct mc_err *err);
void mc_store_close(struct mc_store *s);

typedef int (*mc_store_fn)(struct mc_txn *txn, void *ctx, struct mc_err *err);

/* Runs fn in a write transaction and commits when fn returns 0. */
int mc_store_write(struct mc_store *s, mc_store_fn fn, void *ctx, struct mc_err *err);
/* Runs fn in a read transaction. */
int mc_store_read(struct mc_store *s, mc_store_fn fn, void *ctx, struct mc_err *err);

/* 0 found (v points into the map, valid until the txn ends), MC_NOTFOUND,
 * or -1 with err set. */
int mc_txn_get(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
	       const void **v, size_t *vn, struct mc_err *err);
int mc_txn_put(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
	       const void *v, size_t vn, struct mc_err *err);
/* Inserts only if the key is absent: 0, MC_EXISTS, or -1. */
#define MC_EXISTS 2
int mc_txn_put_new(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		   const void *v, size_t vn, struct mc_err *err);
/* Reserves vn bytes for the value and returns where to write them. */
int mc_txn_reserve(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		   size_t vn, void **v, struct mc_err *err);
/* As mc_txn_reserve for a key greater than every key in db (bulk appends
 * fill pages fully); falls back to an ordinary insert if it is not. */
int mc_txn_append_reserve(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
			  size_t vn, void **v, struct mc_err *err);
int mc_txn_append(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		  const void *v, size_t vn, struct mc_err *err);

/* 0 deleted, MC_NOTFOUND, -1 error. */
int mc_txn_del(struct mc_txn *t, enum mc_db db, const void *k, size_t kn, struct mc_err *err);
/* Number of entries in db. */
int mc_txn_count(struct mc_txn *t, enum mc_db db, uint64_t *n, struct mc_err *err);

/* Cursors: every positioning call returns 0 (k/v set, borrowed until the
 * txn ends), MC_NOTFOUND, or -1. */
int mc_cursor_open(struct mc_txn *t, enum mc_db db, struct mc_cursor **c, struct mc_err *err);
void mc_cursor_close(struct mc_cursor *c);
/* First key >= k (k NULL: the first key). */
int mc_cursor_seek(struct mc_cursor *c, const void *k, size_t kn,
		   const void **key, size_t *keyn, const void **v, size_t *vn, struct mc_err *err);
int mc_cursor_next(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err);
int mc_cursor_prev(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err);
int mc_cursor_last(struct mc_cursor *c, const void **key, size_t *keyn,
		   const void **v, size_t *vn, struct mc_err *err);
/* Deletes the entry under the cursor. */
int mc_cursor_del(struct mc_cursor *c, struct mc_err *err);

/* A consistent, compacted copy of the whole environment into the existing,
 * empty directory dir (mdb_env_copy2 with MDB_CP_COMPACT: one read
 * transaction, so writers go on meanwhile). */
int mc_store_copy(struct mc_store *s, const char *dir, struct mc_err *err);

/* Current map size in bytes (for status). */
uint64_t mc_store_mapsize(struct mc_store *s);

#endif
