/* SPDX-License-Identifier: Apache-2.0 */
/* nodekey.h - this node's own key across a rotation (NODE_ROTATE), on disk.
 *
 * keys/node.key       the key the node signs with
 * keys/node.next.key  the key a rotation in progress moves to, sealed like
 *                     node.key; made by `node rotate-key`, kept until the
 *                     chain has the rotation
 * keys/node.retired-<16 hex digits of its key>.key
 *                     a key a rotation retired (a hard link to the old
 *                     node.key, never deleted by medchain)
 *
 * The switch is two steps, each durable before the next (the directory is
 * fsynced): node.key is linked to its retired name, then node.next.key is
 * renamed over node.key. A crash anywhere leaves either the old node.key
 * with node.next.key beside it (the switch is done again) or the new
 * node.key; the old key always has a name. See docs/decisions.md.
 */
#ifndef MC_NODEKEY_H
#define MC_NODEKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "store.h"

enum mc_nodekey_state {
	MC_NODEKEY_CURRENT,    /* no rotation in progress */
	MC_NODEKEY_PENDING,    /* node.next.key waits for the chain */
	MC_NODEKEY_SWITCHED,   /* node.key is the new key now (switched here) */
};

/* keys/node.next.key under keysdir, into out. */
void mc_nodekey_next_path(const char *keysdir, char *out, size_t n);

/* Brings keysdir in line with the chain in s: when node.next.key exists
 * and its key is a validator node on the chain (it has a NODES row: the
 * rotation is committed here), node.key is retired and node.next.key takes
 * its place. Runs under an exclusive lock on keysdir (flock), so that serve
 * and a command settling at once do it once. EX_IOERR when a step fails
 * (nothing is lost: the next call goes on from there). */
int mc_nodekey_settle(const char *keysdir, struct mc_store *s, enum mc_nodekey_state *state,
		      struct mc_err *err);

/* In a test build (./configure --enable-test-hooks) only: the process
 * kills itself (SIGKILL) at point when MEDCHAIN_TEST_CRASH names it
 * ("rotate-before-submit", "rotate-after-commit", "rotate-after-link"), so
 * that the tests can stop a rotation at each step. A no-op otherwise. */
void mc_nodekey_test_crash(const char *point);

#endif
