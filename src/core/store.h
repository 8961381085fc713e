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
 * and never retried. The one exception is MC_STORE_SCRATCH below: a new,
 * throwaway store (verify's replay) that never holds a node's data.
 *
 * This header does not expose LMDB: ui/ may include it.
 */
#ifndef MC_STORE_H
#define MC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* What verify does with a table (mc_db_info):
 * MC_DBK_DERIVED  written by applying the chain: verify replays the chain
 *                 into a scratch store and compares the table key for key;
 * MC_DBK_PRIMARY  what the chain holds or commits to (block headers and
 *                 certificates, payloads, wrapped keys, KEKs): verify checks
 *                 it against the hashes in the chain;
 * MC_DBK_LOCAL    this node's own, not derived from the chain, not
 *                 replicated: verify leaves it. */
enum mc_db_kind { MC_DBK_DERIVED, MC_DBK_PRIMARY, MC_DBK_LOCAL };

/* Flags of a table (mc_db_info). */
enum {
	/* a store written by an older build lacks it until its first write
	 * (which creates it): opened read-only, such a store reads it as empty */
	MC_DBF_OPTIONAL = 1 << 0,
	/* from the validator-set tables on: a store older than them has had one
	 * set since genesis, which the getters give, so verify does not compare
	 * it there */
	MC_DBF_VALSET = 1 << 1,
	/* an index of another derived table that a store older than it lacks:
	 * its writer builds it whole, with a marker row, in the first write
	 * transaction that changes the table it indexes; until then it is
	 * empty (or absent) and its readers scan instead, so verify compares
	 * it only when the store's holds a row */
	MC_DBF_INDEX = 1 << 2,
};

/* The named databases: the one list a new table is added to. Each row:
 *   X(ID, name, label, kind, flags)
 * ID gives MC_DB_ID; name is LMDB's; label names it in messages (verify's
 * "<label>: entry <key>: ..."), marked for translation; kind and flags as
 * above. A table of kind MC_DBK_DERIVED is compared by verify: nothing more
 * to add. */
#define MC_DBS(X)                                                                                \
	/* "chain_id", "format", ... -> value */                                                 \
	X(META, "meta", N_("chain metadata"), MC_DBK_DERIVED, MC_DBF_VALSET)                     \
	/* height u64 -> block header || certificate */                                          \
	X(BLOCKS, "blocks", N_("blocks"), MC_DBK_PRIMARY, 0)                                     \
	/* height u64 || index u32 -> tx encoding */                                             \
	X(TXS, "txs", N_("transactions"), MC_DBK_DERIVED, 0)                                     \
	/* tx hash -> height u64 || index u32 */                                                 \
	X(TXIDX, "txidx", N_("transaction index"), MC_DBK_DERIVED, 0)                            \
	/* level u8 || index u64 -> chain tree subtree hash */                                   \
	X(CTREE, "ctree", N_("chain tree"), MC_DBK_DERIVED, 0)                                   \
	/* location (height || tx || entry) -> ciphertext */                                     \
	X(PAYLOADS, "payloads", N_("payloads"), MC_DBK_PRIMARY, 0)                               \
	/* location || org pk -> wrapped data key */                                             \
	X(KEYWRAP, "keywrap", N_("wrapped keys"), MC_DBK_PRIMARY, 0)                             \
	/* org pk || epoch u32 -> sealed KEK */                                                  \
	X(KEKS, "keks", N_("key-encryption keys"), MC_DBK_PRIMARY, 0)                            \
	/* record id || version u32 -> record state */                                           \
	X(RECORDS, "records", N_("records"), MC_DBK_DERIVED, 0)                                  \
	/* subject || record id -> (empty) */                                                    \
	X(SUBJECTS, "subjects", N_("subject index"), MC_DBK_DERIVED, 0)                          \
	/* pk -> identity state */                                                               \
	X(IDENTITIES, "identities", N_("identities"), MC_DBK_DERIVED, 0)                         \
	/* author pk -> last sequence u64 */                                                     \
	X(SEQS, "seqs", N_("sequence numbers"), MC_DBK_DERIVED, 0)                               \
	/* grant id -> grant state */                                                            \
	X(GRANTS, "grants", N_("consent grants"), MC_DBK_DERIVED, 0)                             \
	/* subject || grantee || grant id -> (empty) */                                          \
	X(GRANTIDX, "grantidx", N_("grant index"), MC_DBK_DERIVED, 0)                            \
	/* subject || height u64 || tx u32 -> type u8 | outcome u8 */                            \
	X(AUDIT_SUBJECT, "audit_subject", N_("audit index by subject"), MC_DBK_DERIVED, 0)       \
	/* actor pk || height u64 || tx u32 -> type u8 | outcome u8 */                           \
	X(AUDIT_ACTOR, "audit_actor", N_("audit index by actor"), MC_DBK_DERIVED, 0)             \
	/* outcome u8 || height u64 || tx u32 -> (empty) */                                      \
	X(AUDIT_OUTCOME, "audit_outcome", N_("audit index by outcome"), MC_DBK_DERIVED, 0)       \
	/* tree size u64 -> height u64 | tx u32 | ANCHOR_COMMIT body */                          \
	X(ANCHORED, "anchored", N_("committed anchors"), MC_DBK_DERIVED, 0)                      \
	/* "content" -> height u64 of the last block holding a tx other than                     \
	 * ANCHOR_COMMIT */                                                                      \
	X(CHAINSTATE, "chainstate", N_("chain state"), MC_DBK_DERIVED, 0)                        \
	/* validator pk -> added height u64 | removed height u64 (0 while in the                 \
	 * set) | url (valset.h) */                                                              \
	X(NODES, "nodes", N_("validator nodes"), MC_DBK_DERIVED, MC_DBF_OPTIONAL | MC_DBF_VALSET) \
	/* first height u64 a validator set applies to -> its sorted keys                        \
	 * (valset.h) */                                                                         \
	X(VALSETS, "valsets", N_("validator sets by height"), MC_DBK_DERIVED,                    \
	  MC_DBF_OPTIONAL | MC_DBF_VALSET)                                                       \
	/* this node's anchor journal: seq u64 -> anchor */                                      \
	X(JOURNAL, "journal", N_("anchor journal"), MC_DBK_LOCAL, 0)                             \
	/* this node's consensus state: "lock", "join", proposals (engine.h) */                  \
	X(CONSENSUS, "consensus", N_("consensus state"), MC_DBK_LOCAL, MC_DBF_OPTIONAL)          \
	/* duplicate key (32) -> record id (16): from keyed RECORD_PUT entries                   \
	 * (records.h) */                                                                        \
	X(DUPKEYS, "dupkeys", N_("duplicate key index"), MC_DBK_DERIVED, MC_DBF_OPTIONAL)        \
	/* holder org pk || origin org pk || epoch u32 -> KEK of origin's epoch                  \
	 * sealed to holder: from ORG_ROTATE (orgrot.h) */                                       \
	X(ORGKEKS, "orgkeks", N_("key-encryption keys held from other organizations"),           \
	  MC_DBK_DERIVED, MC_DBF_OPTIONAL)                                                       \
	/* old org pk -> new org pk || height u64: from ORG_ROTATE (orgrot.h) */                 \
	X(ORGSUCC, "orgsucc", N_("organization successions"), MC_DBK_DERIVED, MC_DBF_OPTIONAL)   \
	/* new pk -> old pk (32) | kind u8 | height u64 | tx u32 | author pk (32):               \
	 * from IDENTITY_ROTATE (rotation.h) */                                                  \
	X(ROTATIONS, "rotations", N_("key rotations"), MC_DBK_DERIVED, MC_DBF_OPTIONAL)          \
	/* alert id (8) -> kind u8 | height u64 | tx u32 | author pk: from                       \
	 * ALERT_ACK (alerts.h) */                                                               \
	X(ALERT_ACKS, "alert_acks", N_("alert acknowledgements"), MC_DBK_DERIVED, MC_DBF_OPTIONAL)  \
	/* active identities by display name and active patient identities by                    \
	 * subject: 0x00 -> (empty) once built; 'n' | name | 0x00 | pk -> (empty);               \
	 * 's' | subject (32) | pk -> (empty) (identity.h) */                                    \
	X(IDINDEX, "idindex", N_("identity index"), MC_DBK_DERIVED, MC_DBF_OPTIONAL | MC_DBF_INDEX) \
	/* every audited tx in chain order: 0x00 -> skipped u64 once built; height                 \
	 * u64 || tx u32 -> type u8 | outcome u8 (rules.h) */                                    \
	X(AUDIT_CHAIN, "audit_chain", N_("audit index in chain order"), MC_DBK_DERIVED,          \
	  MC_DBF_OPTIONAL | MC_DBF_INDEX)

enum mc_db {
#define MC_DB_ENUM(id, name, label, kind, flags) MC_DB_##id,
	MC_DBS(MC_DB_ENUM)
#undef MC_DB_ENUM
	MC_DB__COUNT
};

struct mc_db_info {
	const char *name;   /* LMDB's */
	const char *label;  /* untranslated: pass it through _() */
	enum mc_db_kind kind;
	unsigned flags;     /* MC_DBF_* */
};

/* The row of db in MC_DBS; NULL if db is out of range. */
const struct mc_db_info *mc_db_info(unsigned db);

#define MC_NOTFOUND 1

struct mc_store;
struct mc_txn;
struct mc_cursor;

enum {
	MC_STORE_CREATE = 1 << 0,  /* create the environment if missing */
	MC_STORE_RDONLY = 1 << 1,  /* open read-only (verify, status) */
	/* A throwaway store: commits are not fsynced (MDB_NOSYNC). Only for
	 * verify's scratch replay, which is deleted when verify ends and is
	 * rebuilt from the chain if a crash cuts it short. It never applies to
	 * a node's store: it needs MC_STORE_CREATE, not MC_STORE_RDONLY, and a
	 * directory holding no environment yet; mc_store_open refuses it
	 * otherwise (EX_SOFTWARE). */
	MC_STORE_SCRATCH = 1 << 2,
	/* Reads jump about (the console's pages): no readahead on the map
	 * (MDB_NORDAHEAD). Where the disk's readahead is large (8 MB on the
	 * build machine) a page fault otherwise reads that much around each
	 * page touched. Read advice only: commits and fsync are as without it. */
	MC_STORE_RANDOM = 1 << 3,
};

/* Opens (or with MC_STORE_CREATE, creates) the environment in dir. Clears
 * stale reader slots. */
int mc_store_open(const char *dir, unsigned flags, struct mc_store **out, struct mc_err *err);
void mc_store_close(struct mc_store *s);

typedef int (*mc_store_fn)(struct mc_txn *txn, void *ctx, struct mc_err *err);

/* How this handle's writes reach the block maker when this node is not the
 * chain's only validator (chain.h, mc_chain_produce): the txs a build made
 * (each with its side rows, as a tx bundle, see replica.h) are handed to fn,
 * which returns once they are committed and fills out. The session that
 * opened the store sets it (the CLI and the console: this node's `medchain
 * serve`); a handle without one fails such writes with EX_UNAVAILABLE. */
struct mc_produced;
typedef int (*mc_remote_fn)(const uint8_t *txbundle, size_t len, unsigned attempt, struct mc_produced *out,
			    void *ctx, struct mc_err *err);
/* fn NULL: none. ctx is borrowed: it must outlive the handle or the next call. */
void mc_store_set_remote(struct mc_store *s, mc_remote_fn fn, void *ctx);
/* The submitter set on s (NULL: none), and its ctx in *ctx. */
mc_remote_fn mc_store_remote(const struct mc_store *s, void **ctx);

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
/* As mc_txn_put_new, appending when the key is greater than every key in
 * db: 0, MC_EXISTS, or -1. */
int mc_txn_append_new(struct mc_txn *t, enum mc_db db, const void *k, size_t kn,
		      const void *v, size_t vn, struct mc_err *err);

/* 0 deleted, MC_NOTFOUND, -1 error. */
int mc_txn_del(struct mc_txn *t, enum mc_db db, const void *k, size_t kn, struct mc_err *err);
/* Empties db in t (mdb_drop, keeping the table): its pages go to the free
 * list in one pass instead of one descent a row. A borrowed table holding a
 * row is refused (EX_DATAERR), as a delete of that row is. 0 or -1. */
int mc_txn_clear(struct mc_txn *t, enum mc_db db, struct mc_err *err);
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

/* Verify's replay: from now on every transaction of the scratch store s
 * reads table db (gets, cursors, counts) from the transaction `from` of
 * another store, which must outlive them and be used on the same thread; a
 * put there of the very row `from` holds writes nothing, and any other
 * write to db is refused (EX_DATAERR). Only for a store opened with
 * MC_STORE_SCRATCH (EX_SOFTWARE otherwise); `from` NULL ends it. */
int mc_store_borrow(struct mc_store *s, enum mc_db db, struct mc_txn *from, struct mc_err *err);

/* Verify's replay: from now on a put (mc_txn_put, mc_txn_append) to table
 * db of the scratch store s goes to fn, with ctx, instead of the store, and
 * every other use of db in s (a get, a cursor, a count, any other write) is
 * refused (EX_SOFTWARE): a table the replay's rules only write (its
 * random-keyed indexes), which verify sorts and compares on its own. Only
 * for a store opened with MC_STORE_SCRATCH (EX_SOFTWARE otherwise); fn
 * NULL ends it. */
typedef int (*mc_store_sink_fn)(void *ctx, enum mc_db db, const void *k, size_t kn, const void *v, size_t vn,
				struct mc_err *err);
int mc_store_divert(struct mc_store *s, enum mc_db db, mc_store_sink_fn fn, void *ctx, struct mc_err *err);
/* Whether db's puts in t go to a sink (mc_store_divert): nothing of it can
 * be read back in t. */
bool mc_txn_diverted(const struct mc_txn *t, enum mc_db db);

/* A scratch store's map, with no transaction of it open, set to size
 * bytes (at least what its data holds; it grows by doubling from there,
 * its transactions run again after MDB_MAP_FULL as every store's do):
 * tests of verify start it small, so that a short chain fills it. Only for
 * a store opened with MC_STORE_SCRATCH (EX_SOFTWARE otherwise). */
int mc_store_scratch_map(struct mc_store *s, uint64_t size, struct mc_err *err);

/* Drops this process's mapped pages of the environment (madvise
 * MADV_DONTNEED): the data stays in the file and the page cache and is
 * faulted back on the next read. Long scans (verify) call it so that their
 * resident set does not grow with the store. Pointers into the map stay
 * valid. */
void mc_store_trim(struct mc_store *s);

/* mc_store_trim of s, and of also unless NULL, if the process's
 * file-backed resident set has passed above bytes (or cannot be read). */
void mc_store_trim_above(struct mc_store *s, struct mc_store *also, size_t above);

/* A scratch store's long transactions (verify's replay of a block that
 * writes a great many rows) map pages of both stores, the kernel up to 16
 * around each one read: every MC_STORE_TRIM_OPS gets and puts in a
 * transaction of s, mc_store_trim_above(s, also, above) runs. above 0 ends
 * it. A no-op on a store not opened with MC_STORE_SCRATCH; also must
 * outlive s's use of it. Set it before the threads that use s start, or
 * after they end. */
#define MC_STORE_TRIM_OPS 64
void mc_store_autotrim(struct mc_store *s, struct mc_store *also, size_t above);
/* The same for any store, with no other store, checked every `every` gets
 * and puts of a txn (bulk import: in the caller's read txn of duplicate
 * lookups and in the committer's write txn; right after a trim each one
 * maps the 64 KiB around each page of its path again). Here above is an
 * allowance over the process's file-backed resident set when it is set
 * (its libraries' pages, which a trim cannot drop: a bound of the whole set
 * would trim at every check in a process whose libraries hold more), so
 * set it with the map's pages dropped (mc_store_trim). Set it as
 * mc_store_autotrim. */
void mc_store_autotrim_shared(struct mc_store *s, size_t above, unsigned every);

/* Current map size in bytes (for status). */
uint64_t mc_store_mapsize(struct mc_store *s);

/* A read transaction held across calls (bulk import: one per batch for its
 * duplicate lookups instead of one per record). It holds the map's resize
 * lock shared: end it before waiting on a writer of the same store handle,
 * which may need to grow the map. Returns 0 or -1; *out is freed by
 * mc_store_read_end (NULL is allowed). */
int mc_store_read_begin(struct mc_store *s, struct mc_txn **out, struct mc_err *err);
void mc_store_read_end(struct mc_txn *t);

#endif
