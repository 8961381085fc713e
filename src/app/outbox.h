/* SPDX-License-Identifier: Apache-2.0 */
/* outbox.h - a write's identity, and the writes whose outcome is unknown.
 *
 * On a chain of several validators a write (a tx handed to the node's
 * serve) can time out with its outcome unknown: the tx may still commit.
 * Run again, the same command must not write twice. So each write of a
 * command that allows it has a content: a hash of the command and its
 * arguments, the acting identity and the input the command read; and a
 * key: that content (or the acting identity and an idempotency key the
 * caller gives) with the command's k-th write. Before its txs leave, they
 * are kept under that key in the outbox, with the content and a random
 * seed the command's ids (a record id, a grant id) are derived from. Run
 * again with the same key, the command derives the same ids, and its first
 * attempt's txs are sent again before anything new: committed, they are
 * the write's result; refused, they can never commit, and the new txs (the
 * same ids) go. A key whose entry holds another content (an idempotency
 * key reused for another write) is refused (EX_USAGE) before anything is
 * built or sent: the kept txs are never sent in another write's place.
 *
 * The outbox is this node's own state (MC_DB_CONSENSUS, "outbox" || key ->
 * created ms u64 | content (32) | seed (32) | tx bundle); an entry is
 * dropped once its write is decided, and ignored after MC_OUTBOX_TTL_MS.
 */
#ifndef MC_OUTBOX_H
#define MC_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "store.h"

#define MC_OUTBOX_TTL_MS (24ull * 3600 * 1000)
#define MC_REQUEST_KEY_MAX 256   /* --idempotency-key, bytes */

struct mc_request {
	bool same_write;              /* this command's writes are kept in the outbox */
	struct mc_sha256 h;           /* the content: the command line, the identity, the input */
	struct mc_sha256 kh;          /* keyed: the identity and the idempotency key */
	bool keyed;                   /* an idempotency key was given: it names the write */
	unsigned writes;              /* writes decided so far (the next is k) */
	uint8_t seed[32];             /* ids of write k */
	bool seed_set;
	unsigned seed_for;
};

/* Starts a command's request: same_write from the command table; key: the
 * caller's idempotency key or NULL (then the content names the write);
 * argv: the command and its arguments (not the global options). */
void mc_request_begin(struct mc_request *r, bool same_write, const char *key, const char *as, int argc,
		      char *const *argv);
/* The input the command read (a payload): part of the content, before the
 * first lookup (mc_request_ids). */
void mc_request_add(struct mc_request *r, const void *p, size_t n);
/* The content of the write: what its outbox entry must hold. */
void mc_request_content(const struct mc_request *r, uint8_t out[MC_HASH_LEN]);
/* The key of the write about to be made. */
void mc_request_key(const struct mc_request *r, uint8_t out[MC_HASH_LEN]);
/* n bytes of ids for the write about to be made, named by label: derived
 * from its seed, the one in the outbox when an earlier attempt of this
 * very write is there, else a fresh random one. */
int mc_request_ids(struct mc_request *r, struct mc_store *s, const char *label, uint8_t *out, size_t n,
		   struct mc_err *err);
/* The seed of the write about to be made (as mc_request_ids finds it). */
int mc_request_seed(struct mc_request *r, struct mc_store *s, uint8_t out[32], struct mc_err *err);
/* The write is decided (committed or refused): the next one gets a new key. */
void mc_request_done(struct mc_request *r);

/* An outbox entry of this content: 0 with its seed and txs (in txs),
 * MC_NOTFOUND (also when older than MC_OUTBOX_TTL_MS), or -1 (EX_USAGE
 * when the entry under key holds another content). */
int mc_outbox_get(struct mc_store *s, const uint8_t key[MC_HASH_LEN], const uint8_t content[MC_HASH_LEN],
		  uint8_t seed[32], struct mc_buf *txs, struct mc_err *err);
/* Keeps txs under key with their content, durably (the write commits with
 * fsync) before they are sent. Expired entries are dropped on the way. */
int mc_outbox_put(struct mc_store *s, const uint8_t key[MC_HASH_LEN], const uint8_t content[MC_HASH_LEN],
		  const uint8_t seed[32], const uint8_t *txs, size_t len, struct mc_err *err);
int mc_outbox_del(struct mc_store *s, const uint8_t key[MC_HASH_LEN], struct mc_err *err);

#endif
