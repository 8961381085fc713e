/* SPDX-License-Identifier: Apache-2.0 */
/* importer.h - bulk ingest with parsing and sealing overlapped with commits.
 *
 * The caller's thread seals records into a batch (mc_importer_add); full
 * batches go to a committer thread, which commits each as one RECORD_PUT tx
 * in one block and then reports it through on_commit (called on the
 * committer thread, in commit order). Two batches are in flight at most: one
 * being filled, one being committed.
 *
 * A record is reported only after its batch is durably committed. After the
 * first error everything stops: batches not yet committed are dropped.
 *
 * Duplicates are looked up in the import's own set, then on the chain; a
 * key is not looked up on the chain while the store holds no duplicate key
 * of the custodian but those this import stored (checked at the start and
 * at each batch's read txn), unless this import stored it (a Bloom filter).
 *
 * While it runs, the store is under mc_store_autotrim_shared: the index
 * tables are read at random places (the caller's duplicate lookups, the
 * committer's puts), and each page fault maps 64 KiB of the file or more
 * around it, so the mapped pages would otherwise grow to the size of the
 * indexes; they are dropped whenever the process's file-backed resident
 * set passes MC_IMPORT_TRIM_ABOVE, looked at every MC_IMPORT_TRIM_EVERY
 * gets and puts of a thread's txn.
 */
#ifndef MC_IMPORTER_H
#define MC_IMPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "err.h"
#include "keystore.h"
#include "records.h"
#include "store.h"

/* A batch is committed when it holds this much ciphertext (a record of
 * MC_PAYLOAD_MAX goes alone), so that its tx fits one peer API request and
 * the two batches in flight, their ciphertexts held until their commit,
 * fit the import's memory (issue 18: under 64 MiB at 1M records). */
#define MC_IMPORT_BATCH_BYTES (4u * 1024 * 1024)
/* ... or when the pages its commit is expected to dirty reach this: LMDB
 * holds a write txn's dirty pages in memory until the commit (and keeps
 * them for reuse), the ciphertexts and entries, the records table's new
 * pages (an import's ids are time-ordered: it appends), and the leaf pages
 * of the duplicate keys and subjects tables that the batch's random keys
 * land in, estimated from the number of records stored. This
 * bounds the import's resident set whatever the store's size (issue 18:
 * under 64 MiB at 1M records, 56 MiB measured; the resident set grows by
 * about 1.5 times this, LMDB keeping the pages of its largest txn for
 * reuse). More is fewer commits (16 MiB: 32 instead of 44 for 100k
 * records) and a higher peak (1M records: 50 MiB at 12, 56 at 16, 60 at
 * 18). */
#define MC_IMPORT_DIRTY_BYTES (16u * 1024 * 1024)
/* How far the process's file-backed resident set may grow past what it was
 * at the import's start (its libraries' pages, about 8 MiB here) before the
 * store's mapped pages are dropped, looked at every this many gets and puts
 * of a thread's txn (after a drop, each of them maps 64 KiB around each
 * page of its path again). */
#define MC_IMPORT_TRIM_ABOVE (6u * 1024 * 1024)
#define MC_IMPORT_TRIM_EVERY 16

struct mc_importer;

/* What an import does with a record whose duplicate key (records.h) names
 * a record of this organization already on the chain or earlier in the
 * same import. The same content (ckey) is never stored twice; a resource
 * whose content changed is never dropped unsaid. */
enum mc_dup_mode {
	MC_DUP_SKIP,      /* not stored again; a changed one is reported as such */
	MC_DUP_VERSION,   /* a changed one is stored as the next version of that record */
	MC_DUP_ERROR,     /* EX_DATAERR naming the record */
};

/* A record not stored because it is a duplicate. */
struct mc_import_dup {
	uint8_t id[MC_RECORD_ID_LEN];   /* the record it duplicates */
	bool erased;                    /* that record is erased: never stored again */
	bool changed;                   /* same resource, other content (MC_DUP_SKIP) */
};

/* Called after each commit with the batch's records (their entries carry
 * the record ids) and the caller's tags (line numbers). */
typedef void (*mc_import_commit_fn)(void *ctx, const struct mc_sealed *recs,
				    const unsigned long *tags, size_t n,
				    const struct mc_produced *block);

int mc_importer_start(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, size_t batch, enum mc_dup_mode dup,
		      mc_import_commit_fn on_commit, void *ctx, struct mc_importer **out,
		      struct mc_err *err);

/* Seals one payload for the patient identifier `subject` (ref: what names
 * the resource, ingest.h, or NULL), tagged for the report: a new record
 * (version 1) carrying its duplicate key, or, for a duplicate, what the
 * mode says. Returns 0 when the record was added to the import, 1 when it
 * was not stored because it is a duplicate (*dup says of what; always so
 * for a duplicate of an erased record: an import never brings erased data
 * back), -1 on error (EX_DATAERR for a duplicate under MC_DUP_ERROR). */
int mc_importer_add(struct mc_importer *im, const char *subject, const char *ref,
		    const char *category, const char *ctype, const void *payload, size_t n,
		    unsigned long tag, struct mc_import_dup *dup, struct mc_err *err);

/* The check pass of MC_DUP_ERROR: whether the record would be a duplicate
 * (EX_DATAERR naming what it duplicates), sealing and storing nothing. Call
 * mc_importer_checked() after the last check and before the first add. */
int mc_importer_check(struct mc_importer *im, const char *subject, const char *ref,
		      const char *category, const void *payload, size_t n, struct mc_err *err);
void mc_importer_checked(struct mc_importer *im);

/* Commits what is left, waits for the committer, and frees everything.
 * abandon: drop the partial batch instead (after an input error). Returns
 * the first error. *committed: records reported. */
int mc_importer_finish(struct mc_importer *im, int abandon, unsigned long long *committed,
		       struct mc_err *err);

#endif
