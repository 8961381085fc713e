/* SPDX-License-Identifier: Apache-2.0 */
/* engine_int.h - the consensus engine's shared state, for its own files
 * only (engine.c: the chain cache, the vote lock, the leader, catching up,
 * the engine thread; engine_peers.c: the peers' threads and the status;
 * engine_vc.c: view changes; engine_http.c: the peer API's requests).
 * Everything else uses engine.h. A name's prefix finds its file: eng_ is
 * engine.c's, eng_peer_ and eng_peers_ engine_peers.c's, eng_vc_
 * engine_vc.c's, eng_http_ engine_http.c's; mc_engine_ is engine.h's. */
#ifndef MC_ENGINE_INT_H
#define MC_ENGINE_INT_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "block.h"
#include "engine.h"
#include "hset.h"
#include "sigcache.h"
#include "peer.h"
#include "replica.h"
#include "valset.h"

#define PEERS_MAX (MC_MAX_VALIDATORS + 16)
#define REFUSALS 4096
#define VOTE_WAIT_MS 3000
#define PEER_TIMEOUT_MS 3000
#define POLL_MS 500
#define SYNC_BATCH 256
#define CLAIM_RETRY_MS 5000      /* a height claim that gave no blocks: not tried again before */
#define CERT_HINT_TTL_MS 10000   /* a certified height no peer delivers: given up after */
#define LOG_PER_S 5.0            /* refusals logged a second, across all keys */
#define FWD_MAX 256              /* txs handed to the leader, watched until committed */
#define FWD_IDLE_MAX 4           /* idle forward clients kept (each one connection) */
#define HANDOVER_WAIT_S "2000"     /* what a node hands a new leader: answered within */
#define HANDOVER_WAIT_MS 2000
#define FWD_BYTES_MAX (8u * 1024 * 1024)
#define LOG_BURST 20.0
#define ROUND_LOG_MS 10000     /* a failing round's message, at most this often */
#define RATE_PER_S 500.0
#define RATE_BURST 1000.0

struct mp_item {
	uint8_t *bytes;               /* tx || side rows */
	size_t tx_len, side_len;
	uint8_t hash[MC_HASH_LEN];
	uint8_t status;
	uint64_t added_ms;
};

/* A tx this node handed to the leader and has not seen committed: a leader
 * that answers but commits nothing is as good as silent. */
struct fwd {
	uint8_t hash[MC_HASH_LEN];
	uint64_t at_ms;
	uint8_t *bundle;              /* the tx as a one-tx bundle, to relay; or NULL */
	size_t len;
	bool relayed;
	bool resend;                  /* the leader changed: hand it to the new one */
};

struct refusal {
	uint8_t hash[MC_HASH_LEN];
	char msg[240];
	bool stale;                   /* its sequence number went to another tx */
};

struct rate {
	uint8_t pk[MC_PK_LEN];
	double tokens;
	uint64_t at_ms;
};

struct peer {
	struct mc_engine *e;
	pthread_t th;
	bool started, stop, gone;
	char url[MC_URL_MAX + 1];
	bool pk_known;
	uint8_t pk[MC_PK_LEN];
	uint64_t sent_prop, sent_commit;
	bool commit_failed;   /* the last commit sent to it did not arrive */
	/* what its status said, and when; a height it claims but does not
	 * deliver blocks for is not asked for again before claim_retry_ms */
	bool up;
	uint64_t height, view, last_seen_ms, claim_retry_ms, claim_logged;
	uint8_t head[MC_HASH_LEN], leader[MC_PK_LEN];
	char version[32], name[MC_NAME_MAX + 1], error[160];
};

struct mc_engine {
	struct mc_engine_conf c;        /* c.now is set (mc_now_ms by default) */
	struct mc_peer_transport tr;    /* the peers' calls (c.transport, or HTTP) */
	struct mc_store *s;
	/* This node's key: swapped under mu (eng_after_commit, whichever
	 * thread committed) when a NODE_ROTATE of it commits; read anywhere,
	 * mu held or not, once per use (a function signing with sk and naming
	 * pk takes one snapshot). The keys swapped in stay until stop. */
	const struct mc_key *_Atomic node;
	struct mc_key *rotated[8];      /* keys the engine took over, freed at stop */
	size_t nrotated;
	pthread_mutex_t mu;           /* everything below */
	pthread_cond_t cv;            /* any change: txs, votes, commits, stop */
	pthread_mutex_t chain_mu;     /* one chain-changing step at a time */
	pthread_t th;
	bool stop;
	uint64_t started_ms;

	bool have_chain;
	uint8_t chain_id[MC_HASH_LEN];
	uint64_t height, view, epoch, timestamp_ms;
	uint8_t head[MC_HASH_LEN], leader[MC_PK_LEN];
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	struct mc_buf head_cert;        /* the head's header and certificate, for status */
	/* How far behind this node is: only a certificate it checked moves
	 * it (a commit, or a peer's status showing its head's certificate).
	 * Heights peers merely claim start a fetch, never stop production. */
	uint64_t cert_hint, cert_hint_ms;

	struct mp_item **mp;
	size_t mp_n, mp_cap, mp_bytes;   /* mp in arrival order */
	struct mc_hset mp_set;         /* mp by hash (keys: the items' hashes) */
	bool building;                 /* the engine thread builds from a snapshot of mp */
	uint64_t evicted, evicted_logged_ms;
	struct refusal refusals[REFUSALS];
	size_t ref_next;
	struct mc_hset ref_set;        /* the live refusals by hash (one per hash, the newest) */
	/* The txs whose signature this node checked (at receipt, or in a
	 * block it checked): not verified again (sigcache.h). Locked inside. */
	struct mc_sigcache sigs;
	struct mc_par *par;            /* a block's signatures left to check: 2 threads */

	/* the leader's proposal in flight */
	uint64_t prop_seq;
	struct mc_buf prop;
	uint8_t prop_hash[MC_HASH_LEN];
	uint64_t prop_height, prop_view;
	struct mc_vote votes[MC_MAX_VALIDATORS];
	size_t nvotes;
	size_t nrefused;              /* validators that refused it (409, 4xx) */
	/* the newest committed block, for the peers: sent to each at once by
	 * the node that gathered its certificate (commit_ours); a node that
	 * received it relays it only to a peer whose status, polled after
	 * commit_ms, shows it behind (else every node would send every block
	 * to every other one) */
	struct mc_buf commit;
	uint64_t commit_height, commit_ms;
	bool commit_ours;
	/* a validator's last checked proposal */
	uint8_t checked[MC_HASH_LEN];
	bool has_checked;

	/* view changes: the highest view this node voted to move to, and a
	 * change this node was handed as the new leader */
	uint64_t vc_voted, vc_seen;    /* vc_seen: the highest a peer said it voted */
	uint8_t vc_voted_leader[MC_PK_LEN];
	uint64_t vc_voted_ms;          /* when this process gave that vote (0: not) */
	uint64_t vc_adopted_ms;        /* when this node was handed vc_view */
	struct mc_buf vc_body, vc_relay;
	uint64_t vc_view;
	uint64_t leader_seen_ms, last_vc_try_ms;
	uint64_t last_commit_ms;       /* when the chain last moved here */
	bool leader_equivocated;       /* the leader of this view signed two blocks
					* at one height: it leads no longer */
	uint64_t equivocated_view;
	struct mc_buf ev_out;          /* evidence to send the other validators */
	struct fwd fwd[FWD_MAX];       /* oldest first */
	size_t nfwd, fwd_bytes;
	int test_crash;               /* MEDCHAIN_TEST_CRASH: 1 leader-after-votes,
				       * 2 leader-after-commit (tests only) */

	struct peer *peers[PEERS_MAX];
	size_t npeers;
	struct rate rates[PEERS_MAX];
	struct {                       /* refusals logged lately: a key and reason */
		uint8_t pk[MC_PK_LEN], why[8];
		uint64_t at_ms, quiet;     /* when logged; refused since, unlogged */
	} logged[64];
	size_t logged_next;
	double log_tokens;             /* all refusals: a token bucket */
	uint64_t log_at_ms, log_dropped;
	struct {                       /* the leader's last failed round, logged: the
					* same failure again (a full or failing disk
					* fails every round) once in ROUND_LOG_MS */
		char what[sizeof(((struct mc_err *)0)->msg) + 64];
		uint64_t at_ms, quiet;
	} round_log;
	struct mc_replay *replay;
	uint64_t last_status_write;
	/* forward clients kept between forwards, their connections to the
	 * leader kept alive (engine_http.c forward_txs); closed at stop */
	void *fwd_idle[FWD_IDLE_MAX];
	size_t nfwd_idle;
};

struct lock {
	bool has;
	uint64_t height, view;
	uint8_t hash[MC_HASH_LEN];
	uint8_t *bundle;   /* malloc'd */
	size_t len;
};


/* engine.c: the clock and the transport. */
/* The engine's time (mc_engine_conf.now). */
static inline uint64_t eng_now(const struct mc_engine *e)
{
	return e->c.now(e->c.now_ctx);
}
/* Waits on e->cv (mu held) until `until` on the engine's clock, or a
 * signal: at most until - now of real time. */
void eng_wait_until(struct mc_engine *e, uint64_t until);
/* A peer client for the calling thread: NULL after logging why. */
void *eng_client_open(struct mc_engine *e);
void eng_client_close(struct mc_engine *e, void *cl);

/* engine.c: the chain cache, the vote lock, blocks, the leader, catching up.
 * Unless said otherwise, call with e->mu held. */
void eng_short_pk(const uint8_t pk[MC_PK_LEN], char out[17]);   /* 16 hex, for logs */
int eng_cache_load(struct mc_engine *e, struct mc_err *err);
bool eng_is_validator(const struct mc_engine *e, const uint8_t pk[MC_PK_LEN]);
bool eng_am_leader(const struct mc_engine *e);
int eng_lock_get(struct mc_engine *e, struct lock *l, struct mc_err *err);
void eng_lock_release(struct lock *l);
/* Evidence of equivocation (replica.h), found here or sent by a peer:
 * checked, kept (MC_DB_CONSENSUS "evidence" || height u64 || proposer ->
 * the evidence), and when its proposer leads this view, the leader counts
 * as silent from now on (relay: and the other validators are sent it).
 * mu not held. */
int eng_evidence(struct mc_engine *e, const uint8_t *ev, size_t len, bool relay, struct mc_err *err);
/* durable (LMDB commits with fsync) before anything is signed */
int eng_lock_put(struct mc_engine *e, uint64_t height, uint64_t view, const uint8_t hash[MC_HASH_LEN],
		 const uint8_t *bundle, size_t len, struct mc_err *err);
/* checks (check_only: in a transaction then aborted) or commits one
 * block; call with e->chain_mu held */
int eng_apply_block(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, bool check_only,
		    struct mc_err *err);
/* the same, not verifying again the txs whose sig_ok flag is set
 * (mc_block_apply_sigs: NULL, or b->count flags) */
int eng_apply_block_sigs(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, const uint8_t *sig_ok,
			 bool check_only, struct mc_err *err);
void eng_remember_refusal(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN], const char *msg, bool stale);
const char *eng_refusal_of(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN]);
const char *eng_refusal_stale(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN], bool *stale);
/* A tx sent again: what was said of it before no longer stands. */
void eng_forget_refusal(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN]);
/* b: the block just committed, or NULL after several or unknown ones */
void eng_after_commit(struct mc_engine *e, const struct mc_bundle *b);
void eng_set_commit(struct mc_engine *e, const struct mc_bundle *b, const struct mc_cert *cert, bool ours);
/* the leader: a proposal from pending txs (first: a tx to put before them),
 * then sent, voted and committed. 0: e->prop holds it; 1: no block; 2 (first
 * NULL only): this node alone is the validator set, and the block was
 * committed as it was built; -1 with err set. */
int eng_make_proposal(struct mc_engine *e, const struct mc_txin *first, struct mc_err *err);
int eng_run_proposal(struct mc_engine *e, struct mc_err *err);
void eng_sync_from_peers(struct mc_engine *e, void *cl);
bool eng_behind(const struct mc_engine *e, uint64_t now);
/* Watches txs handed to the leader (in) until committed here or refused. */
void eng_fwd_watch(struct mc_engine *e, const struct mc_txin *in, const uint8_t (*hashes)[MC_HASH_LEN],
		   const uint64_t *heights, size_t n);
/* How long the oldest tx handed to the leader has waited (0: none waits). */
uint64_t eng_fwd_oldest_ms(const struct mc_engine *e, uint64_t now);
/* The leader is silent for this node: nothing heard for ms, or a tx it was
 * handed uncommitted for ms while no block came for half of it (a leader
 * that answers but commits nothing; a busy one commits blocks), or it
 * signed two blocks at one height of this view (its twins can starve the
 * honest proposals). */
bool eng_leader_silent(const struct mc_engine *e, uint64_t now, uint64_t ms);
void eng_note_certified(struct mc_engine *e, uint64_t height);
/* Adds a tx to the pending pool (evicting the oldest to make room): -1
 * when it cannot. mu held. */
int eng_pool_add(struct mc_engine *e, const struct mc_txin *in, const uint8_t hash[MC_HASH_LEN]);
/* Frees a pending tx (taken out of e->mp by the caller). */
void eng_pool_free(struct mc_engine *e, struct mp_item *it);
/* The pool's and the refusals' tables, the signature cache and the
 * signature threads: made at start, freed at stop. */
int eng_pool_init(struct mc_engine *e);
void eng_pool_fini(struct mc_engine *e);
/* o[k] = the hex of p (n bytes at most 64). */
cJSON *eng_add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n);

/* engine_peers.c: the peers' threads, and the status this node shows */
void *eng_peer_main(void *arg);
void eng_peers_refresh(struct mc_engine *e);
bool eng_peer_is_validator(struct mc_engine *e, const struct peer *p);
cJSON *eng_peers_status_json(struct mc_engine *e);
cJSON *eng_peers_json(struct mc_engine *e);
void eng_peers_write_status(struct mc_engine *e);   /* releases mu while it writes */

/* engine_vc.c: view changes */
int eng_vc_get_txn(struct mc_txn *t, void *vctx, struct mc_err *err);
int eng_vc_take_over(struct mc_engine *e, struct mc_err *err);
struct mc_promote;
int eng_vc_start(struct mc_engine *e, uint64_t view, const uint8_t leader[MC_PK_LEN], bool timeout,
		 const struct mc_promote *ap, struct mc_err *err);
/* The next view to ask for (overflow-checked): false when none is left. */
bool eng_vc_next_view(const struct mc_engine *e, uint64_t *out);
bool eng_vc_left_view(const struct mc_engine *e, uint64_t view, const uint8_t *bringer, uint64_t now);
uint64_t eng_vc_window_ms(const struct mc_engine *e);
bool eng_proposal_signed(const struct mc_bundle *b);
/* mc_block_precheck of b against this node's chain, in a read txn. */
int eng_block_precheck(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, struct mc_err *err);
bool eng_vc_candidate(struct mc_engine *e, uint8_t out[MC_PK_LEN]);

/* engine_http.c: answers */
void eng_http_reply_text(struct mc_reply *r, unsigned status, const char *msg);
void eng_http_reply_json(struct mc_reply *r, unsigned status, cJSON *j);
/* Reads a leader's answer to txs this node handed it: refusals of the txs
 * named in hashes are remembered (their waiters learn them); its word that
 * they are committed counts for nothing here (said_committed tells). False
 * when the answer is not one. mu held. */
bool eng_http_note_answer(struct mc_engine *e, const uint8_t *body, size_t len,
			  const uint8_t (*hashes)[MC_HASH_LEN], size_t n, bool *said_committed);

#endif
