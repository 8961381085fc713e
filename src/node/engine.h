/* SPDX-License-Identifier: Apache-2.0 */
/* engine.h - a node's consensus engine: the mempool, the leader's
 * proposals, the validators' votes, commits, catch-up, and the peers.
 *
 * One leader per view (meta "leader", valset.h) makes a block from pending
 * txs as soon as no round of its own is in flight (block_interval_ms: how
 * soon it tries again when it could make none), stores
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
 *   "vc"   -> the view this validator last voted to move to, its leader,
 *             and when it first gave that vote
 *   "evidence" || height u64 || proposer (32) -> two blocks that proposer
 *            signed at one height and view (replica.h: mc_evidence_check)
 */
#ifndef MC_ENGINE_H
#define MC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocks.h"
#include "codec.h"
#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "peer.h"
#include "peerauth.h"
#include "store.h"

/* Body limits of the peer API, and the memory a node lets requests hold. */
#define MC_ENGINE_TX_BODY_MAX (17u * 1024 * 1024)       /* a tx bundle: one record
							 * of MC_PAYLOAD_MAX fits */
#define MC_ENGINE_BLOCK_BYTES (24u * 1024 * 1024)       /* a leader's block bundle */
#define MC_ENGINE_BLOCK_BODY_MAX (MC_ENGINE_BLOCK_BYTES + 1024u * 1024)
#define MC_ENGINE_SMALL_BODY_MAX (64u * 1024)           /* every other path */
#define MC_ENGINE_SYNC_BYTES (8u * 1024 * 1024)         /* one GET /v1/blocks batch */
#define MC_ENGINE_INFLIGHT_MAX (40u * 1024 * 1024)      /* bodies and batches at once;
							 * one key holds at most half,
							 * or one block's body */
#define MC_ENGINE_POOL_BYTES (32u * 1024 * 1024)        /* pending txs, default */
#define MC_ENGINE_POOL_TXS 200000u

struct mc_engine_conf {
	struct mc_store *s;
	const struct mc_key *node;
	const char *name;             /* [node] name, for status */
	const char *status_file;      /* written every second for the console */
	const char *peers;            /* comma-separated bootstrap URLs */
	const char *ca_file;          /* TLS trust for https peers, or NULL */
	unsigned block_interval_ms;   /* retry period, txs pending and no block made */
	unsigned max_block_txs;
	size_t mempool_max;           /* pending txs at most (count) */
	size_t mempool_bytes;         /* and in bytes; the oldest go first */
	unsigned leader_timeout_ms;   /* silence from the leader before an
				       * automatic view change; 0: manual only */
	/* Called by the engine's thread on every pass of its loop (at least
	 * every 200 ms while it is alive), with the height: a watchdog's
	 * heartbeat. Must be quick. NULL: none. */
	void (*tick)(void *ctx, uint64_t height);
	void *tick_ctx;
	/* Called by the engine (mu held) once a committed block has taken this
	 * node's key out of the set (a NODE_ROTATE): *key is then the node's
	 * key now (keys/node.key, switched: nodekey.h), which the engine owns
	 * from then on and signs with; NULL when it is still current (a
	 * removed node, or a rotation not made here). NULL: never. */
	int (*rekey)(void *ctx, const uint8_t current[MC_PK_LEN], struct mc_key **key, struct mc_err *err);
	void *rekey_ctx;
	/* The key a rotation under way moves to (keys/node.next.key), or NULL
	 * (not owned). A read a peer refuses under the node's key (a status
	 * poll, a block fetch) is asked again under it: a node whose rotation
	 * committed while it was down fetches that block with the key the
	 * chain knows it by now. */
	const struct mc_key *pending;
	/* The engine's clock: every time it reads, compares or stamps (block
	 * and tx times, the leader's silence, timeouts, request times) comes
	 * from now(now_ctx), in mc_now_ms's base (ms since the epoch, real
	 * time: times on the chain and in peers' requests are compared with
	 * it). Its waits last until the time asked for on this clock. NULL:
	 * mc_now_ms. */
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	/* How the engine reaches its peers (peer.h): proposals, votes, view
	 * changes, commits, txs handed to the leader, status polls and block
	 * fetches. NULL: HTTP (mc_peer_http_transport with ca_file). Copied:
	 * its ctx must outlive the engine. */
	const struct mc_peer_transport *transport;
};

struct mc_engine;

int mc_engine_start(const struct mc_engine_conf *c, struct mc_engine **out, struct mc_err *err);
/* Stops every thread and frees the engine. */
void mc_engine_stop(struct mc_engine *e);
/* The chain id (zeros until a joining node has its genesis block). */
void mc_engine_chain_id(struct mc_engine *e, uint8_t out[MC_HASH_LEN]);
const struct mc_key *mc_engine_node(struct mc_engine *e);

/* What a monitoring system is shown (metrics.h): a copy taken under the
 * engine's lock, never more. */
struct mc_engine_health {
	bool have_chain, leader, validator;
	uint64_t height;              /* this node's */
	uint64_t certified;           /* the highest certified height it knows */
	uint64_t view;
	size_t nval, up, quorum;      /* validators, those reachable (this node
				       * counts when it is one), a quorum */
	size_t pending, pending_bytes;
	uint64_t uptime_ms;
	char name[64 + 1];
};

void mc_engine_health(struct mc_engine *e, struct mc_engine_health *out);

/* An answer to a peer API request. */
struct mc_reply {
	unsigned status;
	const char *ctype;            /* "application/json" or octet-stream */
	struct mc_buf body;
};

/* Authenticates a request from its headers alone: its signature (for this
 * chain, over the body hash it names), its time (never before this node
 * started: the replay cache does not outlive the process), that the key is
 * a validator (or, for reads, an enrolled node that was never removed from
 * the set), that its nonce is new, and the key's request rate. Refusals are
 * logged (mc_engine_log_refusal). */
int mc_engine_auth(struct mc_engine *e, const struct mc_peer_sig *sig, const char *method,
		   const char *path, bool write, struct mc_err *err);
/* A refused request, logged at a bounded rate across all keys: the same key
 * and reason once in 10 s, and at most a few lines a second in all, with a
 * count of what was left out. pk may be NULL (not yet known). */
void mc_engine_log_refusal(struct mc_engine *e, const uint8_t *pk, const char *method, const char *path,
			   const char *why);

void mc_engine_on_status(struct mc_engine *e, struct mc_reply *r);
/* Blocks from height `from` on: at most max, and past MC_ENGINE_SYNC_BYTES
 * no further block. */
void mc_engine_on_blocks(struct mc_engine *e, uint64_t from, uint64_t max, struct mc_reply *r);
/* Txs (a tx bundle) from `from`; wait_ms > 0: answer once they are
 * committed here, refused, or the wait is over. */
void mc_engine_on_txs(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
		      size_t len, unsigned wait_ms, struct mc_reply *r);
void mc_engine_on_propose(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			  size_t len, struct mc_reply *r);
void mc_engine_on_commit(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			 size_t len, struct mc_reply *r);

/* Evidence of equivocation (replica.h) a peer found: checked, kept; when
 * it convicts the leader of this view, the leader counts as silent. */
void mc_engine_on_evidence(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body, size_t len,
			   struct mc_reply *r);

/* View changes: a vote asked of this validator, a quorum's VIEW_CHANGE
 * handed to this node as the new leader, and an operator's `node promote`
 * (the local CLI). A vote is given only for the next view or a little
 * above it (MC_VIEW_AHEAD_MAX), and only when this validator too has lost
 * the leader, or when the body carries a quorum of the operators'
 * approvals of that promotion (valset.h, mc_promote_digest), or with why
 * "join" the signed votes of f + 1 validators for the same change (a
 * VIEW_CHANGE body short of a quorum). why: the query's `why` (may be
 * NULL; "timeout" is only logged). */
void mc_engine_on_view_vote(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const char *view,
			    const char *leader, const char *why, const uint8_t *body, size_t len,
			    struct mc_reply *r);
void mc_engine_on_view_change(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			      size_t len, struct mc_reply *r);
/* body: empty, or the approvals of promoting leader (a promote token's). */
void mc_engine_on_promote(struct mc_engine *e, const char *leader, const uint8_t *body, size_t len,
			  struct mc_reply *r);

#endif
