/* SPDX-License-Identifier: Apache-2.0 */
/* verify.h - recompute everything the node stores and compare.
 *
 * Replays every block into a scratch store with the same rules that made
 * them (checking hash links, quorum certificates, signatures, sequence
 * numbers, tx roots and entries roots), then compares every derived table
 * (identities, sequence numbers, records, the subject index, the tx index,
 * the chain tree, the head) with the node's, and checks every payload,
 * wrapped data key and sealed KEK against the hashes the chain commits to.
 *
 * mc_verify_isolated() runs it in a child process, so a corrupted page that
 * crashes LMDB is reported as damage (EX_DATAERR), never as our crash.
 */
#ifndef MC_VERIFY_H
#define MC_VERIFY_H

#include <stdint.h>

#include "err.h"

struct mc_verify_report {
	uint64_t blocks;
	uint64_t txs;
	uint64_t records;
	uint64_t payloads;
	uint64_t signatures;  /* checked: txs' and certificates' votes (full verify) */
};

/* dbdir: the LMDB environment directory; scratch_parent: where to make
 * the temporary scratch store. progress may be NULL; it is called with the
 * block just checked and the total. */
typedef void (*mc_verify_progress_fn)(uint64_t done, uint64_t total, void *ctx);

int mc_verify(const char *dbdir, const char *scratch_parent, mc_verify_progress_fn progress,
	      void *pctx, struct mc_verify_report *rep, struct mc_err *err);
/* As mc_verify, the scratch store's map starting at scratch_map bytes (0:
 * the store's default, 64 MiB), for tests: a short chain fills a small
 * map, so that scratch transactions meet MDB_MAP_FULL and are run again
 * from their checkpoint. */
int mc_verify_scratch_map(const char *dbdir, const char *scratch_parent, uint64_t scratch_map,
			  mc_verify_progress_fn progress, void *pctx, struct mc_verify_report *rep,
			  struct mc_err *err);
int mc_verify_isolated(const char *dbdir, const char *scratch_parent,
		       mc_verify_progress_fn progress, void *pctx,
		       struct mc_verify_report *rep, struct mc_err *err);

/* The quick check before an anchor (`[anchor] verify = recent`): the
 * stored chain tree still gives the last committed anchor's root, and every
 * block after that anchor is well formed, linked, certified by the
 * validators, holds txs signed by their authors that give its tx root, and
 * is the chain tree's leaf at its height, whose new subtree hashes hold.
 * O(blocks since the last anchor); it replays no state and checks no
 * payload: the full verify does (run it from a timer). In a child process
 * like the full one. */
int mc_verify_recent(const char *dbdir, struct mc_verify_report *rep, struct mc_err *err);
int mc_verify_recent_isolated(const char *dbdir, struct mc_verify_report *rep, struct mc_err *err);

#endif
