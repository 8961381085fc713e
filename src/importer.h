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
 */
#ifndef MC_IMPORTER_H
#define MC_IMPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "err.h"
#include "keystore.h"
#include "records.h"
#include "store.h"

/* A batch is committed when it holds this much ciphertext (a record of
 * MC_PAYLOAD_MAX goes alone), so that its tx fits one peer API request. */
#define MC_IMPORT_BATCH_BYTES (8u * 1024 * 1024)

struct mc_importer;

/* Called after each commit with the batch's records (their entries carry
 * the record ids) and the caller's tags (line numbers). */
typedef void (*mc_import_commit_fn)(void *ctx, const struct mc_sealed *recs,
				    const unsigned long *tags, size_t n,
				    const struct mc_produced *block);

int mc_importer_start(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, size_t batch, mc_import_commit_fn on_commit,
		      void *ctx, struct mc_importer **out, struct mc_err *err);

/* Seals one payload as a new record (version 1) for the patient identifier
 * `subject`, tagged for the report. */
int mc_importer_add(struct mc_importer *im, const char *subject, const char *category,
		    const char *ctype, const void *payload, size_t n, unsigned long tag,
		    struct mc_err *err);

/* Commits what is left, waits for the committer, and frees everything.
 * abandon: drop the partial batch instead (after an input error). Returns
 * the first error. *committed: records reported. */
int mc_importer_finish(struct mc_importer *im, int abandon, unsigned long long *committed,
		       struct mc_err *err);

#endif
