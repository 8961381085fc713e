/* SPDX-License-Identifier: Apache-2.0 */
/* spool.h - rows of (key, value) written once and read back in key order,
 * in bounded memory (verify's replay of its random-keyed index tables).
 *
 * Rows are added to a chunk in memory; at a commit point, once the chunk
 * holds `mem` bytes or more, it is sorted and written to the spool's file
 * as a run. mc_spool_sorted() writes the last run and merges the runs (at
 * most MC_SPOOL_FANIN at a time: more are first merged into longer runs in
 * the same file), and mc_spool_next() gives every row in key order, the
 * order of LMDB's default comparison (memcmp of the common length, then
 * the shorter key first), rows of equal keys in the order they were added.
 * Memory: the chunk (mem, plus a pointer a row while it is sorted), then
 * MC_SPOOL_READ bytes a run being merged. Disk: the rows' bytes; a merge
 * gives back the blocks of the runs it has read (where the file system
 * can), so a pass over more than MC_SPOOL_FANIN runs does not double it.
 *
 * A commit point (mc_spool_commit) is where the rows added so far are
 * kept: mc_spool_rollback() drops the rows added since, so that a caller
 * whose transaction is run again (store.h's mc_store_write) adds them
 * again once. A run is written only at a commit point.
 */
#ifndef MC_SPOOL_H
#define MC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MC_SPOOL_FANIN 64
#define MC_SPOOL_READ (16u << 10)

struct mc_spool;

/* A new spool whose runs go to the file path, which must not exist (it is
 * created, and removed by mc_spool_close). */
int mc_spool_open(const char *path, size_t mem, struct mc_spool **out, struct mc_err *err);
void mc_spool_close(struct mc_spool *sp);

/* Adds a row (in memory: 0, or -1 out of memory). */
int mc_spool_add(struct mc_spool *sp, const void *k, size_t kn, const void *v, size_t vn, struct mc_err *err);
/* Keeps the rows added so far, and writes the chunk as a run if it holds
 * mem bytes or more. */
int mc_spool_commit(struct mc_spool *sp, struct mc_err *err);
/* Drops the rows added since the last commit point. */
void mc_spool_rollback(struct mc_spool *sp);
/* Rows kept (at commit points). */
uint64_t mc_spool_count(const struct mc_spool *sp);

/* Ends adding (the rows since the last commit point are dropped) and
 * readies the rows in key order. Once: the rows are read once, the blocks
 * read given back as the merge goes, so a second call (or an add after
 * it) is refused (EX_SOFTWARE). */
int mc_spool_sorted(struct mc_spool *sp, struct mc_err *err);
/* The next row in key order: 0 (k and v valid until the next call), 1 at
 * the end, or -1. */
int mc_spool_next(struct mc_spool *sp, const void **k, size_t *kn, const void **v, size_t *vn,
		  struct mc_err *err);

#endif
