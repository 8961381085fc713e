/* engine.h - a node's consensus engine: the mempool, the leader's
 * proposals, the validators' votes, commits, catch-up, and the peers.
 *
 * One leader per view (meta "leader", valset.h) makes a block from pending
 * txs every block_interval (sooner when max_block_txs are waiting), stores
 * its own vote lock, and sends the proposal to every validator. A validator
 * checks the block fully (mc_block_apply without storing it), durably
 * stores its vote lock (height, view, block hash and the block) BEFORE it
 * answers, never votes for two blocks at one height and view, and returns
 * its signature. With more than two thirds of the set's signatures the
 * leader stores the block with its certificate and sends it to every peer.
 * A node that learns of a higher block (a commit, a proposal, a peer's
 * status) pulls the blocks it lacks from that peer and checks each
 * certificate against the validator set of its height. Txs sent to a node
 * that is not the leader are forwarded to the leader.
 *
 * One thread runs the engine; one thread per peer delivers proposals and
 * commits and polls the peer's status; the HTTP server's threads call the
 * mc_engine_on_* functions. MC_DB_CONSENSUS holds the node's local state:
 *   "lock" -> height u64 | view u64 | block hash (32) | the block bundle
 *   "join" -> the chain id given to `init --join` (until genesis arrives)
 */
#ifndef MC_ENGINE_H
#define MC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "peerauth.h"
#include "store.h"

#define MC_ENGINE_BODY_MAX (64u * 1024 * 1024)

struct mc_engine_conf {
	struct mc_store *s;
	const struct mc_key *node;
	const char *name;             /* [node] name, for status */
	const char *status_file;      /* written every second for the console */
	const char *peers;            /* comma-separated bootstrap URLs */
	const char *ca_file;          /* TLS trust for https peers, or NULL */
	unsigned block_interval_ms;
	unsigned max_block_txs;
	size_t mempool_max;
	unsigned leader_timeout_ms;   /* silence from the leader before an
				       * automatic view change; 0: manual only */
};

struct mc_engine;

int mc_engine_start(const struct mc_engine_conf *c, struct mc_engine **out, struct mc_err *err);
/* Stops every thread and frees the engine. */
void mc_engine_stop(struct mc_engine *e);
/* The chain id (zeros until a joining node has its genesis block). */
void mc_engine_chain_id(struct mc_engine *e, uint8_t out[MC_HASH_LEN]);
const struct mc_key *mc_engine_node(struct mc_engine *e);

/* An answer to a peer API request. */
struct mc_reply {
	unsigned status;
	const char *ctype;            /* "application/json" or octet-stream */
	struct mc_buf body;
};

/* Authenticates a request: its signature (for this chain), its time, that
 * the key is a validator (or, for reads, any enrolled node), that its nonce
 * is new, and the key's request rate. Refusals are logged. */
int mc_engine_auth(struct mc_engine *e, const struct mc_peer_sig *sig, const char *method,
		   const char *path, const void *body, size_t len, bool write, struct mc_err *err);

void mc_engine_on_status(struct mc_engine *e, struct mc_reply *r);
void mc_engine_on_blocks(struct mc_engine *e, uint64_t from, uint64_t max, struct mc_reply *r);
/* Txs (a tx bundle) from `from`; wait_ms > 0: answer once they are
 * committed here, refused, or the wait is over. */
void mc_engine_on_txs(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
		      size_t len, unsigned wait_ms, struct mc_reply *r);
void mc_engine_on_propose(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			  size_t len, struct mc_reply *r);
void mc_engine_on_commit(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			 size_t len, struct mc_reply *r);

/* View changes: a vote asked of this validator (why=timeout: only if it
 * too has lost the leader), a quorum's VIEW_CHANGE handed to this node as
 * the new leader, and an operator's `node promote` (the local CLI). */
void mc_engine_on_view_vote(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const char *view,
			    const char *leader, bool timeout, struct mc_reply *r);
void mc_engine_on_view_change(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			      size_t len, struct mc_reply *r);
void mc_engine_on_promote(struct mc_engine *e, const char *leader, struct mc_reply *r);

/* One line to the log (stderr, which systemd keeps): never secrets or
 * health data. */
void mc_engine_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
