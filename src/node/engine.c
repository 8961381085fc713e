/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "engine_int.h"
#include "i18n.h"
#include "identity.h"
#include "metrics.h"
#include "log.h"
#include "util.h"

static const char LOCK_KEY[] = "lock";
static const char JOIN_KEY[] = "join";
static const char EVIDENCE_PREFIX[] = "evidence";


void eng_short_pk(const uint8_t pk[MC_PK_LEN], char out[17])
{
	mc_hex(pk, 8, out);
}

cJSON *eng_add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	mc_hex(p, n, hex);
	return cJSON_AddStringToObject(o, k, hex);
}

/* ---- chain state cache --------------------------------------------------- */

struct cache_ctx {
	struct mc_engine *e;
};

static int cache_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = ((struct cache_ctx *)vctx)->e;
	struct mc_head head;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty) {
		const void *v;
		size_t vn;
		int rc = mc_txn_get(t, MC_DB_CONSENSUS, JOIN_KEY, sizeof(JOIN_KEY) - 1, &v, &vn, err);

		/* joining: requests are signed for the chain it joins */
		if (rc < 0)
			return -1;
		if (rc == 0 && vn == MC_HASH_LEN)
			memcpy(e->chain_id, v, MC_HASH_LEN);
		e->have_chain = false;
		return 0;
	}
	if (mc_chain_validators(t, e->vals, &e->nval, err) != 0 ||
	    mc_chain_leader(t, e->leader, &e->view, err) != 0 ||
	    mc_chain_valset_epoch(t, &e->epoch, err) != 0)
		return -1;
	e->have_chain = true;
	memcpy(e->chain_id, head.chain_id, MC_HASH_LEN);
	e->height = head.height;
	memcpy(e->head, head.hash, MC_HASH_LEN);
	e->timestamp_ms = head.timestamp_ms;
	{
		/* the head's certificate: what a peer checks before it believes
		 * this node is ahead of it */
		struct mc_header h;
		struct mc_cert cert;

		if (mc_chain_block(t, head.height, &h, &cert, err) != 0)
			return -1;
		mc_buf_reset(&e->head_cert);
		mc_header_encode(&h, &e->head_cert);
		mc_cert_encode(&cert, &e->head_cert);
	}
	return 0;
}

/* Reloads the cached head, set and leader; call with mu held. */
int eng_cache_load(struct mc_engine *e, struct mc_err *err)
{
	struct cache_ctx c = { e };

	return mc_store_read(e->s, cache_txn, &c, err);
}

bool eng_is_validator(const struct mc_engine *e, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < e->nval; i++)
		if (memcmp(e->vals[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

bool eng_am_leader(const struct mc_engine *e)
{
	return e->have_chain && memcmp(e->leader, e->node->pk, MC_PK_LEN) == 0;
}

/* ---- the vote lock -------------------------------------------------------- */

struct lock_ctx {
	struct lock *l;
	const uint8_t *bundle;
	size_t len;
};

static int lock_get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct lock *l = ((struct lock_ctx *)vctx)->l;
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CONSENSUS, LOCK_KEY, sizeof(LOCK_KEY) - 1, &v, &vn, err);

	memset(l, 0, sizeof(*l));
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (vn < 16 + MC_HASH_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed vote lock"));
	l->height = mc_from_be64(v);
	l->view = mc_from_be64((const uint8_t *)v + 8);
	memcpy(l->hash, (const uint8_t *)v + 16, MC_HASH_LEN);
	l->len = vn - 16 - MC_HASH_LEN;
	if (!(l->bundle = malloc(l->len ? l->len : 1)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(l->bundle, (const uint8_t *)v + 16 + MC_HASH_LEN, l->len);
	l->has = true;
	return 0;
}

int eng_lock_get(struct mc_engine *e, struct lock *l, struct mc_err *err)
{
	struct lock_ctx c = { l, NULL, 0 };

	return mc_store_read(e->s, lock_get_txn, &c, err);
}

void eng_lock_release(struct lock *l)
{
	free(l->bundle);
	memset(l, 0, sizeof(*l));
}

/* One block a height (docs/decisions.md): a lock at the same height on
 * another block is never replaced, whoever asks (a follower voting, the
 * leader signing its own proposal or a locked block it finishes). The
 * check is in the txn that writes the lock, so nothing races it. */
static int lock_put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct lock_ctx *c = vctx;
	const void *v;
	size_t vn;
	void *p;
	int rc = mc_txn_get(t, MC_DB_CONSENSUS, LOCK_KEY, sizeof(LOCK_KEY) - 1, &v, &vn, err);

	if (rc < 0)
		return -1;
	if (rc == 0 && vn >= 16 + MC_HASH_LEN && mc_from_be64(v) == c->l->height &&
	    memcmp((const uint8_t *)v + 16, c->l->hash, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_TEMPFAIL, _("this node voted for another block at height %llu"),
				  (unsigned long long)c->l->height);
	if (mc_txn_reserve(t, MC_DB_CONSENSUS, LOCK_KEY, sizeof(LOCK_KEY) - 1,
			   16 + MC_HASH_LEN + c->len, &p, err) != 0)
		return -1;
	mc_be64(p, c->l->height);
	mc_be64((uint8_t *)p + 8, c->l->view);
	memcpy((uint8_t *)p + 16, c->l->hash, MC_HASH_LEN);
	memcpy((uint8_t *)p + 16 + MC_HASH_LEN, c->bundle, c->len);
	return 0;
}

/* Durable before anything is signed: LMDB commits with fsync. */
int eng_lock_put(struct mc_engine *e, uint64_t height, uint64_t view, const uint8_t hash[MC_HASH_LEN],
		    const uint8_t *bundle, size_t len, struct mc_err *err)
{
	struct lock l = { true, height, view, { 0 }, NULL, 0 };
	struct lock_ctx c = { &l, bundle, len };

	memcpy(l.hash, hash, MC_HASH_LEN);
	return mc_store_write(e->s, lock_put_txn, &c, err);
}

/* ---- evidence of equivocation -------------------------------------------- */

struct evidence_ctx {
	const uint8_t *ev;
	size_t len;
	const struct mc_header *h;
};

static int evidence_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct evidence_ctx *c = vctx;
	uint8_t key[sizeof(EVIDENCE_PREFIX) - 1 + 8 + MC_PK_LEN];
	int rc;

	memcpy(key, EVIDENCE_PREFIX, sizeof(EVIDENCE_PREFIX) - 1);
	mc_be64(key + sizeof(EVIDENCE_PREFIX) - 1, c->h->height);
	memcpy(key + sizeof(EVIDENCE_PREFIX) - 1 + 8, c->h->proposer, MC_PK_LEN);
	rc = mc_txn_put_new(t, MC_DB_CONSENSUS, key, sizeof(key), c->ev, c->len, err);
	return rc < 0 ? -1 : 0;   /* MC_EXISTS: the first pair is kept */
}

int eng_evidence(struct mc_engine *e, const uint8_t *ev, size_t len, bool relay, struct mc_err *err)
{
	struct mc_header a, b;
	struct evidence_ctx c = { ev, len, &a };

	if (mc_evidence_check(ev, len, &a, &b, err) != 0)
		return -1;
	if (mc_store_write(e->s, evidence_txn, &c, err) != 0)
		return -1;
	pthread_mutex_lock(&e->mu);
	if (memcmp(a.proposer, e->leader, MC_PK_LEN) == 0 && a.view == e->view && !e->leader_equivocated) {
		/* a proven equivocator leads no longer: its twins could race
		 * small blocks past every honest proposal */
		e->leader_equivocated = true;
		e->equivocated_view = e->view;
		if (relay) {   /* the other validators see it for themselves */
			mc_buf_reset(&e->ev_out);
			mc_put_raw(&e->ev_out, ev, len);
		}
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	return 0;
}

/* Sends the evidence this node found to the other validators. mu held
 * (released during the calls). */
static void evidence_send(struct mc_engine *e, void *cl)
{
	struct { char url[MC_URL_MAX + 1]; uint8_t pk[MC_PK_LEN]; } to[PEERS_MAX];
	uint8_t chain[MC_HASH_LEN];
	struct mc_buf ev;
	size_t nto = 0;

	for (size_t k = 0; k < e->npeers && nto < PEERS_MAX; k++) {
		struct peer *p = e->peers[k];

		if (p->gone || !eng_peer_is_validator(e, p) || memcmp(p->pk, e->leader, MC_PK_LEN) == 0)
			continue;
		snprintf(to[nto].url, sizeof(to[nto].url), "%s", p->url);
		memcpy(to[nto++].pk, p->pk, MC_PK_LEN);
	}
	ev = e->ev_out;
	mc_buf_init(&e->ev_out);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	for (size_t k = 0; k < nto; k++) {
		struct mc_peer_resp r;
		struct mc_err err = { 0 };

		if (e->tr.send(cl, chain, e->node, to[k].url, "/v1/evidence", ev.data, ev.len, to[k].pk,
				 PEER_TIMEOUT_MS, 4096, &r, &err) == 0)
			mc_peer_resp_release(&r);
	}
	mc_buf_release(&ev);
	pthread_mutex_lock(&e->mu);
}

/* ---- applying blocks --------------------------------------------------------- */

struct apply_ctx {
	struct mc_engine *e;
	const struct mc_bundle *b;
	unsigned flags;
	bool check_only, checked;
	const uint8_t *sig_ok;
};

static int apply_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct apply_ctx *c = vctx;

	c->checked = false;
	if (mc_block_apply_sigs(t, c->b, c->flags, c->sig_ok, eng_now(c->e), err) != 0)
		return -1;
	if (c->check_only) {
		c->checked = true;
		return -1;   /* abort: a proposal is checked, never stored */
	}
	return 0;
}

/* Checks (check_only) or commits one block; call with chain_mu held. */
int eng_apply_block(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, bool check_only,
		       struct mc_err *err)
{
	return eng_apply_block_sigs(e, b, flags, NULL, check_only, err);
}

/* eng_apply_block with the txs whose signature this node verified
 * (mc_block_apply_sigs); call with chain_mu held. */
int eng_apply_block_sigs(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, const uint8_t *sig_ok,
			 bool check_only, struct mc_err *err)
{
	struct apply_ctx c = { e, b, flags, check_only, false, sig_ok };
	int rc = mc_store_write(e->s, apply_txn, &c, err);

	if (check_only)
		return c.checked ? 0 : -1;
	return rc;
}

/* The refusals are a ring of REFUSALS slots; ref_set maps a hash to its
 * live slot (msg[0] set), so a hash has one refusal at most: the newest. */
static void refusal_clear(struct mc_engine *e, struct refusal *r)
{
	if (r->msg[0] && mc_hset_get(&e->ref_set, r->hash) == r)
		mc_hset_del(&e->ref_set, r->hash);
	r->msg[0] = 0;
}

void eng_remember_refusal(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN], const char *msg, bool stale)
{
	struct refusal *r = &e->refusals[e->ref_next++ % REFUSALS], *old = mc_hset_get(&e->ref_set, hash);

	refusal_clear(e, r);
	if (old)
		refusal_clear(e, old);
	memcpy(r->hash, hash, MC_HASH_LEN);
	snprintf(r->msg, sizeof(r->msg), "%.230s", msg);
	r->stale = stale;
	if (mc_hset_put(&e->ref_set, r->hash, r) != 0)
		r->msg[0] = 0;   /* out of memory: not remembered (the tx may be sent again) */
}

static struct refusal *refusal_find(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	return mc_hset_get(&e->ref_set, hash);
}

const char *eng_refusal_of(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	struct refusal *r = refusal_find(e, hash);

	return r ? r->msg : NULL;
}

const char *eng_refusal_stale(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN], bool *stale)
{
	struct refusal *r = refusal_find(e, hash);

	*stale = r && r->stale;
	return r ? r->msg : NULL;
}

void eng_forget_refusal(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	struct refusal *r = refusal_find(e, hash);

	if (r)
		refusal_clear(e, r);
}

struct gone_ctx {
	struct mc_engine *e;
};

struct fwd_seen_ctx {
	struct mc_engine *e;
};

static int fwd_seen_txn(struct mc_txn *t, void *vctx, struct mc_err *err);
static void fwd_drop(struct mc_engine *e, size_t i);

int eng_pool_init(struct mc_engine *e)
{
	if (mc_hset_init(&e->mp_set) == 0 && mc_hset_init(&e->ref_set) == 0 &&
	    mc_sigcache_init(&e->sigs, MC_SIGCACHE_ENTRIES) == 0 && mc_par_new(2, &e->par) == 0)
		return 0;
	eng_pool_fini(e);
	return -1;
}

/* Safe on what eng_pool_init left half made (the engine is calloc'd). */
void eng_pool_fini(struct mc_engine *e)
{
	mc_par_free(e->par);
	e->par = NULL;
	mc_sigcache_free(&e->sigs);
	mc_hset_free(&e->mp_set);
	mc_hset_free(&e->ref_set);
}

void eng_pool_free(struct mc_engine *e, struct mp_item *it)
{
	if (mc_hset_get(&e->mp_set, it->hash) == it)
		mc_hset_del(&e->mp_set, it->hash);
	e->mp_bytes -= it->tx_len + it->side_len;
	free(it->bytes);
	free(it);
}

static void pool_drop(struct mc_engine *e, size_t i)
{
	eng_pool_free(e, e->mp[i]);
}

static bool in_pool(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	return mc_hset_get(&e->mp_set, hash) != NULL;
}

/* Evicts the oldest pending txs until `more` bytes and one more tx fit;
 * false when they cannot (the engine is building a block from the pool,
 * or the tx alone is over the limit). Logged once a second at most, with
 * the count. mu held. */
static bool pool_make_room(struct mc_engine *e, size_t more)
{
	size_t k = 0, drop = 0;
	uint64_t now;

	if (more > e->c.mempool_bytes)
		return false;
	if (e->mp_n + 1 <= e->c.mempool_max && e->mp_bytes + more <= e->c.mempool_bytes)
		return true;
	if (e->building)
		return false;
	while (drop < e->mp_n && (e->mp_n - drop + 1 > e->c.mempool_max || e->mp_bytes + more > e->c.mempool_bytes)) {
		eng_remember_refusal(e, e->mp[drop]->hash, _("evicted from a full pending pool (send it again)"), false);
		eng_pool_free(e, e->mp[drop]);
		drop++;
	}
	for (size_t i = drop; i < e->mp_n; i++)
		e->mp[k++] = e->mp[i];
	e->mp_n = k;
	e->evicted += drop;
	now = eng_now(e);
	if (now - e->evicted_logged_ms >= 1000) {
		mc_log(LOG_WARNING, NULL, "the pending pool is full (%zu txs, %zu bytes at most): %llu oldest txs evicted",
			      e->c.mempool_max, e->c.mempool_bytes, (unsigned long long)e->evicted);
		e->evicted = 0;
		e->evicted_logged_ms = now;
	}
	pthread_cond_broadcast(&e->cv);   /* their waiters learn it */
	return true;
}

int eng_pool_add(struct mc_engine *e, const struct mc_txin *in, const uint8_t hash[MC_HASH_LEN])
{
	struct mp_item *it;
	size_t bytes = in->tx_len + in->side_len;

	if (in_pool(e, hash))
		return 0;
	if (!pool_make_room(e, bytes))
		return -1;
	if (e->mp_n == e->mp_cap) {
		size_t cap = e->mp_cap ? e->mp_cap * 2 : 1024;
		void *p = realloc(e->mp, cap * sizeof(*e->mp));

		if (!p)
			return -1;
		e->mp = p;
		e->mp_cap = cap;
	}
	if (!(it = calloc(1, sizeof(*it))) || !(it->bytes = malloc(bytes + 1))) {
		free(it);
		return -1;
	}
	memcpy(it->bytes, in->tx, in->tx_len);
	memcpy(it->bytes + in->tx_len, in->side, in->side_len);
	it->tx_len = in->tx_len;
	it->side_len = in->side_len;
	memcpy(it->hash, hash, MC_HASH_LEN);
	if (mc_hset_put(&e->mp_set, it->hash, it) != 0) {
		free(it->bytes);
		free(it);
		return -1;
	}
	it->status = MC_TXIN_PENDING;
	it->added_ms = eng_now(e);
	e->mp[e->mp_n++] = it;   /* in arrival order: the oldest are evicted first */
	e->mp_bytes += bytes;
	return 0;
}

/* After blocks this node did not see the txs of (caught up, or made by
 * the CLI): every pending tx is looked up among the committed ones. */
static int drop_committed_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = ((struct gone_ctx *)vctx)->e;
	size_t k = 0;

	for (size_t i = 0; i < e->mp_n; i++) {
		const void *v;
		size_t vn;
		int rc = mc_txn_get(t, MC_DB_TXIDX, e->mp[i]->hash, MC_HASH_LEN, &v, &vn, err);

		if (rc < 0)
			return -1;
		if (rc == 0 || e->mp[i]->status == MC_TXIN_REFUSED)
			pool_drop(e, i);
		else
			e->mp[k++] = e->mp[i];
	}
	e->mp_n = k;
	return 0;
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MC_HASH_LEN);
}

/* After one block whose txs are at hand: drops those from the pool (a
 * sorted list of its tx hashes, no store reads for the rest of the pool). */
static void drop_block_txs(struct mc_engine *e, const struct mc_bundle *b)
{
	uint8_t (*h)[MC_HASH_LEN] = b->count ? malloc(b->count * MC_HASH_LEN) : NULL;
	size_t n = 0, k = 0;

	for (size_t i = 0; h && i < b->count; i++) {
		struct mc_tx tx;

		if (mc_tx_decode(b->txs[i].tx, b->txs[i].tx_len, &tx, NULL) == 0)
			mc_tx_hash(&tx, h[n++]);
	}
	if (h)
		qsort(h, n, MC_HASH_LEN, hash_cmp);
	for (size_t i = 0; i < e->mp_n; i++) {
		if (e->mp[i]->status == MC_TXIN_REFUSED ||
		    (h && bsearch(e->mp[i]->hash, h, n, MC_HASH_LEN, hash_cmp)))
			pool_drop(e, i);
		else
			e->mp[k++] = e->mp[i];
	}
	e->mp_n = k;
	free(h);
}

/* After a commit: the cache, the mempool, and everyone waiting. b: the
 * block committed, or NULL after several or unknown ones. mu held. */
/* This node's key left the set: a rotation's new key takes over (before
 * the peers are read again, so that this node is not its own peer). */
static void take_new_key(struct mc_engine *e)
{
	struct mc_key *key = NULL;
	struct mc_err err = { 0 };
	char was[17], now[17];

	if (!e->c.rekey)
		return;
	if (e->c.rekey(e->c.rekey_ctx, e->node->pk, &key, &err) != 0) {
		mc_log(LOG_ERR, NULL, "this node's key left the validator set, and its new key cannot be taken: %s", err.msg);
		return;
	}
	if (!key)
		return;
	if (!eng_is_validator(e, key->pk) || e->nrotated == MC_ARRAY_LEN(e->rotated)) {
		eng_short_pk(key->pk, now);
		mc_log(LOG_WARNING, NULL,
		       "keys/node.key (%s) is not a validator's key: restart serve once the chain has its rotation", now);
		mc_key_free(key);
		return;
	}
	eng_short_pk(e->node->pk, was);
	eng_short_pk(key->pk, now);
	e->rotated[e->nrotated++] = key;
	e->node = key;
	mc_log(LOG_NOTICE, NULL, "this node's key was rotated at block %llu: it signs with %s from now on (%s is retired)",
	       (unsigned long long)e->height, now, was);
}

void eng_after_commit(struct mc_engine *e, const struct mc_bundle *b)
{
	struct mc_err err = { 0 };
	struct gone_ctx g = { e };
	uint64_t old_epoch = e->epoch;

	uint64_t before = e->height, old_view = e->view;

	if (eng_cache_load(e, &err) != 0)
		mc_log(LOG_ERR, NULL, "cannot read the chain: %s", err.msg);
	if (e->view != old_view) {
		e->leader_equivocated = false;
		/* what the old leader was handed and did not commit goes to the
		 * new one: the writers need not send it again */
		for (size_t i = 0; i < e->nfwd;) {
			if (!e->fwd[i].bundle) {
				fwd_drop(e, i);
				continue;
			}
			e->fwd[i].resend = true;
			e->fwd[i].relayed = false;
			e->fwd[i].at_ms = eng_now(e);
			i++;
		}
	}
	if (e->height > before && e->cert_hint > e->height)
		e->cert_hint_ms = eng_now(e);   /* catching up: not stalled */
	if (e->height != before)
		e->last_commit_ms = eng_now(e);
	if (e->height > before) {
		uint64_t now = eng_now(e);

		/* the latency of one block just committed; not of a batch caught up */
		mc_metrics_commits(e->height - before, e->height - before == 1 && b
				   ? (now > e->timestamp_ms ? (double)(now - e->timestamp_ms) / 1000.0 : 0.0) : -1.0);
	}
	if (e->building)
		;   /* the builder owns the pool now; it drops what is committed */
	else if (b && b->count)
		drop_block_txs(e, b);
	else if (!b && e->mp_n && mc_store_read(e->s, drop_committed_txn, &g, &err) != 0)
		mc_log(LOG_ERR, NULL, "cannot tidy the pending txs: %s", err.msg);
	if (e->nfwd) {
		struct fwd_seen_ctx fc = { e };

		if (mc_store_read(e->s, fwd_seen_txn, &fc, &err) != 0)
			mc_log(LOG_ERR, NULL, "cannot read the chain: %s", err.msg);
	}
	e->leader_seen_ms = eng_now(e);   /* the chain moves: its leader lives */
	if (e->epoch != old_epoch) {
		mc_log(LOG_INFO, NULL, "the validator set changed: %zu validators", e->nval);
		if (!eng_is_validator(e, e->node->pk))
			take_new_key(e);
		eng_peers_refresh(e);
	}
	pthread_cond_broadcast(&e->cv);
}

void eng_set_commit(struct mc_engine *e, const struct mc_bundle *b, const struct mc_cert *cert, bool ours)
{
	mc_buf_reset(&e->commit);
	mc_bundle_encode(&b->h, cert, b->txs, b->count, &e->commit);
	e->commit_height = b->h.height;
	e->commit_ms = eng_now(e);
	e->commit_ours = ours;
}

/* ---- the leader ---------------------------------------------------------- */

#define DEFER_MAX_MS 60000

/* Drops refused txs, and txs whose sequence gap has not closed in a
 * minute. mu held; only the engine thread removes. */
static void purge_pool(struct mc_engine *e)
{
	uint64_t now = eng_now(e);
	size_t k = 0;

	for (size_t i = 0; i < e->mp_n; i++) {
		struct mp_item *it = e->mp[i];

		if (it->status == MC_TXIN_DEFERRED && now - it->added_ms > DEFER_MAX_MS) {
			eng_remember_refusal(e, it->hash, _("an earlier sequence number of its author never arrived"), false);
			it->status = MC_TXIN_REFUSED;
		}
		if (it->status == MC_TXIN_REFUSED) {
			eng_pool_free(e, it);
		} else {
			e->mp[k++] = it;
		}
	}
	if (k != e->mp_n)
		pthread_cond_broadcast(&e->cv);
	e->mp_n = k;
}

struct build_ctx {
	struct mc_engine *e;
	struct mc_txin *in;
	uint8_t *status;
	char **why;               /* a refused tx's reason, malloc'd */
	bool *stale;              /* refused only because its sequence number is used */
	size_t n;
	struct mc_header h;
	struct mc_buf *out;
	size_t max;               /* txs in the block at most */
	size_t applied;           /* after a refusal: the txs applied before it */
	bool built;
	bool sole;                /* may commit at once when this node is the whole set */
	bool stored;              /* it did: the block is committed here */
};

/* Called without mu: the reason is kept in the build's own array. */
static void on_refused(size_t index, const struct mc_err *why, void *ctx)
{
	struct build_ctx *c = ctx;

	free(c->why[index]);
	c->why[index] = strdup(why->msg);
	c->stale[index] = why->code == EX_TEMPFAIL;
}

/* Whether this node alone is the validator set in force for the block h
 * (its header names the set before the block's own txs change it). */
static bool build_sole(struct mc_engine *e, const struct mc_header *h)
{
	const struct mc_key *me = e->node;
	uint8_t one[1][MC_PK_LEN], hash[MC_HASH_LEN];

	memcpy(one[0], me->pk, MC_PK_LEN);
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])one, 1, hash);
	return memcmp(hash, h->valset_hash, MC_HASH_LEN) == 0;
}

static int build_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct build_ctx *c = vctx;
	int rc;

	c->built = c->stored = false;
	rc = mc_block_build(t, c->e->node->pk, c->in, c->n, c->status, c->max, eng_now(c->e), on_refused, c,
			    &c->h, err);
	if (rc == MC_BUILD_RETRY) {
		c->applied = 0;
		for (size_t i = 0; i < c->n; i++)
			c->applied += c->status[i] == MC_TXIN_IN;
		return rc;
	}
	if (rc != 0)
		return -1;
	if (c->h.tx_count) {
		struct mc_txin *picked = malloc(c->h.tx_count * sizeof(*picked));
		uint8_t hash[MC_HASH_LEN];
		struct mc_cert none;
		size_t k = 0;

		if (!picked)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		for (size_t i = 0; i < c->n; i++)
			if (c->status[i] == MC_TXIN_IN)
				picked[k++] = c->in[i];
		/* A proposal carries the proposer's own vote: its signature on
		 * the block, which also convicts a proposer of equivocation. */
		memset(&none, 0, sizeof(none));
		mc_block_hash(&c->h, hash);
		none.count = 1;
		{
			const struct mc_key *me = c->e->node;   /* one key for both halves */

			mc_vote_sign(hash, me->sk, me->pk, &none.votes[0]);
		}
		mc_buf_reset(c->out);
		mc_bundle_encode(&c->h, &none, picked, k, c->out);
		free(picked);
		if (c->sole && build_sole(c->e, &c->h)) {
			/* the whole set signed it: certified, so stored in this
			 * very txn (decisions.md "A sole validator commits as it
			 * builds") */
			if (mc_chain_store_block(t, &c->h, &none, hash, err) != 0)
				return -1;
			c->stored = c->built = true;
			return 0;
		}
	}
	c->built = true;
	return -1;   /* never stored here: the block is stored with its certificate */
}

static void build_free(struct build_ctx *c)
{
	for (size_t i = 0; c->why && i < c->n; i++)
		free(c->why[i]);
	free(c->in);
	free(c->status);
	free(c->why);
	free(c->stale);
}

/* The build's input: first (or nothing), then the oldest pending txs
 * while the block's bundle stays within what a validator takes in one
 * body (txs past the byte cap wait for the next block). mu held. */
static int build_prepare(struct mc_engine *e, struct build_ctx *c, const struct mc_txin *first, size_t k,
			 struct mc_err *err)
{
	size_t n = e->mp_n, bytes = first ? first->tx_len + first->side_len : 0, keep = 0;

	memset(c, 0, sizeof(*c));
	c->e = e;
	c->n = n + k;
	c->in = calloc(n + k, sizeof(*c->in));
	c->status = calloc(n + k, 1);
	c->why = calloc(n + k, sizeof(*c->why));
	c->stale = calloc(n + k, sizeof(*c->stale));
	c->out = &e->prop;
	if (!c->in || !c->status || !c->why || !c->stale) {
		build_free(c);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	if (first) {
		/* a VIEW_CHANGE goes first: the new leader's first block */
		c->in[0] = *first;
		c->status[0] = MC_TXIN_PENDING;
	}
	while (keep < n) {
		size_t more = e->mp[keep]->tx_len + e->mp[keep]->side_len + 8;

		if (keep > 0 && bytes + more > MC_ENGINE_BLOCK_BYTES - 4096)
			break;
		bytes += more;
		keep++;
	}
	c->n = keep + k;
	for (size_t i = 0; i < keep; i++) {
		c->in[k + i].tx = e->mp[i]->bytes;
		c->in[k + i].tx_len = e->mp[i]->tx_len;
		c->in[k + i].side = e->mp[i]->bytes + e->mp[i]->tx_len;
		c->in[k + i].side_len = e->mp[i]->side_len;
		c->status[k + i] = e->mp[i]->status == MC_TXIN_DEFERRED ? MC_TXIN_DEFERRED : MC_TXIN_PENDING;
	}
	return 0;
}

/* Builds until a block is made (refused txs left out). mu held (released
 * while building). */
static void build_run(struct mc_engine *e, struct build_ctx *c, struct mc_err *err)
{
	/* Items are only removed by this thread, and by no one while it
	 * builds, so the snapshot stays valid while others append. */
	e->building = true;
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->chain_mu);
	c->max = e->c.max_block_txs;
	for (int attempt = 0; attempt < 1000; attempt++) {
		mc_err_clear(err);
		if (mc_store_write(e->s, build_txn, c, err) != 0 && c->stored) {
			/* a sole validator's commit failed (a sync, the map):
			 * nothing is stored, so nothing is announced and the
			 * txs stay pending for the next round */
			c->stored = c->built = false;
			if (!err->code)
				mc_err_set(err, EX_IOERR, _("cannot commit"));
		}
		if (c->built || err->code)
			break;
		/* A refused tx: build again without it. Many refusals in one
		 * round (a flood of txs that break the rules) would mean many
		 * rebuilds of a large block: after a few, the block stops
		 * before the last refusal, and the rest waits for the next. */
		if (attempt >= 8 && c->applied)
			c->max = c->applied;
	}
	pthread_mutex_unlock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
}

/* What the build said of each pending tx, kept and logged; false when the
 * tx put first was refused. mu held. */
static bool build_note(struct mc_engine *e, const struct build_ctx *c, const struct mc_txin *first, size_t k)
{
	bool first_ok = true;

	if (first && c->status[0] != MC_TXIN_IN) {
		first_ok = false;
		mc_log(LOG_WARNING, NULL, "the view change was refused: %s", c->why[0] ? c->why[0] : "");
	}
	for (size_t i = 0; i + k < c->n; i++) {
		e->mp[i]->status = c->status[k + i];
		if (c->status[k + i] == MC_TXIN_REFUSED) {
			char hex[17];

			mc_hex(e->mp[i]->hash, 8, hex);
			eng_remember_refusal(e, e->mp[i]->hash, c->why[k + i] ? c->why[k + i] : _("refused"),
					     c->stale[k + i]);
			mc_log(LOG_WARNING, MC_LOG_FIELDS({ "TX", hex }, { "REASON", c->why[k + i] }), "tx %s refused: %s",
			       hex, c->why[k + i] ? c->why[k + i] : "");
		}
	}
	return first_ok;
}

/* Builds a proposal from the pending txs into e->prop. mu held (released
 * while building). 0 with a proposal, 1 when there is nothing to propose. */
/* After a sole validator's block was committed as it was built: what a
 * round's commit does (eng_run_proposal). 2, or -1 with err set. mu held. */
static int sole_committed(struct mc_engine *e, struct mc_err *err)
{
	struct mc_bundle b;

	if (mc_bundle_decode(e->prop.data, e->prop.len, &b, err) != 0) {
		mc_buf_reset(&e->prop);
		return -1;
	}
	eng_set_commit(e, &b, &b.cert, true);
	mc_buf_reset(&e->prop);
	eng_after_commit(e, &b);
	mc_bundle_release(&b);
	return 2;
}

int eng_make_proposal(struct mc_engine *e, const struct mc_txin *first, struct mc_err *err)
{
	struct build_ctx c;
	size_t k = first ? 1 : 0;
	bool first_ok;

	if (e->mp_n + k == 0)
		return 1;
	if (build_prepare(e, &c, first, k, err) != 0)
		return -1;
	c.sole = !first;
	build_run(e, &c, err);
	first_ok = build_note(e, &c, first, k);
	build_free(&c);
	e->building = false;
	purge_pool(e);
	if (!first_ok) {
		mc_buf_reset(&e->prop);
		return -1;
	}
	if (!c.built) {
		mc_buf_reset(&e->prop);
		return err->code ? -1 : 1;
	}
	if (c.h.tx_count == 0) {
		mc_buf_reset(&e->prop);
		pthread_cond_broadcast(&e->cv);  /* refusals reach their waiters */
		return 1;
	}
	mc_block_hash(&c.h, e->prop_hash);
	e->prop_height = c.h.height;
	e->prop_view = c.h.view;
	if (c.stored)
		return sole_committed(e, err);
	return 0;
}

/* Sends e->prop to the validators, waits for a quorum, commits. mu held. */
int eng_run_proposal(struct mc_engine *e, struct mc_err *err)
{
	struct mc_bundle b;
	struct mc_cert cert;
	struct mc_vote own;
	uint64_t until;
	size_t quorum = e->nval * 2 / 3 + 1;
	int rc;

	if (eng_lock_put(e, e->prop_height, e->prop_view, e->prop_hash, e->prop.data, e->prop.len, err) != 0)
		return -1;
	{
		const struct mc_key *me = e->node;   /* one key for both halves */

		mc_vote_sign(e->prop_hash, me->sk, me->pk, &own);
	}
	e->votes[0] = own;
	e->nvotes = 1;
	e->nrefused = 0;
	e->prop_seq++;
	pthread_cond_broadcast(&e->cv);
	until = eng_now(e) + VOTE_WAIT_MS;
	/* until a quorum voted, or so many refused that none can (another
	 * block holds their votes at this height: a twin, a missed commit) */
	while (e->nvotes < quorum && e->nval - e->nrefused >= quorum && !e->stop && eng_now(e) < until) {
		eng_wait_until(e, until);
	}
	if (e->prop_height != e->height + 1) {
		mc_log(LOG_WARNING, NULL, "block %llu: the chain moved to %llu meanwhile; not committed here",
			      (unsigned long long)e->prop_height, (unsigned long long)e->height);
		return 1;
	}
	if (e->nvotes < quorum && e->nval - e->nrefused < quorum) {
		mc_log(LOG_WARNING, NULL, "block %llu: %zu of %zu validators refused it, no quorum can vote for it",
			      (unsigned long long)e->prop_height, e->nrefused, e->nval);
		return 1;
	}
	if (e->nvotes < quorum) {
		mc_log(LOG_INFO, NULL, "block %llu: %zu of %zu votes, %zu needed; proposing it again",
			      (unsigned long long)e->prop_height, e->nvotes, e->nval, quorum);
		return 1;
	}
	/* the certificate: the votes in key order */
	memset(&cert, 0, sizeof(cert));
	for (size_t i = 0; i < e->nvotes; i++) {
		size_t j = cert.count;

		while (j > 0 && memcmp(cert.votes[j - 1].pk, e->votes[i].pk, MC_PK_LEN) > 0) {
			cert.votes[j] = cert.votes[j - 1];
			j--;
		}
		cert.votes[j] = e->votes[i];
		cert.count++;
	}
	if (e->test_crash == 1) {
		mc_log(LOG_WARNING, NULL, "test: exiting with a quorum of votes and nothing committed");
		_exit(137);
	}
	if (mc_bundle_decode(e->prop.data, e->prop.len, &b, err) != 0)
		return -1;
	b.cert = cert;
	/* Certified, so decided: the peers get it while this node's own
	 * commit is synced (decisions.md "The commit leaves before the
	 * leader's own sync"); the crash hook 2 keeps a block sent nowhere. */
	if (e->test_crash != 2) {
		eng_set_commit(e, &b, &cert, true);
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->chain_mu);
	rc = eng_apply_block(e, &b, MC_APPLY_COMMIT | MC_APPLY_SIGS_CHECKED, false, err);
	pthread_mutex_unlock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	if (rc == 0 && e->test_crash == 2) {
		mc_log(LOG_WARNING, NULL, "test: exiting with a block committed here and sent nowhere");
		_exit(137);
	}
	if (rc == 0) {
		if (e->commit_height != b.h.height)
			eng_set_commit(e, &b, &cert, true);
		mc_buf_reset(&e->prop);
		eng_after_commit(e, &b);
	}
	mc_bundle_release(&b);
	return rc;
}

/* ---- catching up ------------------------------------------------------------ */

struct sync_ctx {
	struct mc_engine *e;
	const uint8_t *p;
	size_t n;
	const uint8_t *expect;  /* joining: the genesis hash */
	uint64_t applied;
	uint8_t bad_peer;
};

/* A fetched block at a height this node has already stored (a commit that
 * landed during the fetch): 0 when it is the very block stored there (it
 * is skipped), -1 when it is another (refused). */
static int sync_known(struct mc_txn *t, const struct mc_bundle *b, struct mc_err *err)
{
	struct mc_header h;
	struct mc_cert cert;
	uint8_t ours[MC_HASH_LEN], theirs[MC_HASH_LEN];
	int rc = mc_chain_block(t, b->h.height, &h, &cert, err);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		mc_block_hash(&h, ours);
		mc_block_hash(&b->h, theirs);
		if (memcmp(ours, theirs, MC_HASH_LEN) == 0)
			return 0;
	}
	return mc_err_set(err, EX_DATAERR, _("a block at height %llu is not the one stored there"),
			  (unsigned long long)b->h.height);
}

static int sync_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct sync_ctx *c = vctx;
	struct mc_rd r;

	c->applied = 0;
	mc_rd_init(&r, c->p, c->n);
	while (r.left) {
		struct mc_bundle b;
		struct mc_head head;
		int rc;

		if (mc_bundle_read(&r, &b, err) != 0)
			return -1;
		if (mc_chain_head(t, &head, err) != 0) {
			mc_bundle_release(&b);
			return -1;
		}
		if (!head.empty && b.h.height <= head.height) {
			/* the fetch raced a commit: the blocks this node stored
			 * meanwhile are skipped when they are the same blocks,
			 * and what follows them is applied */
			rc = sync_known(t, &b, err);
			mc_bundle_release(&b);
			if (rc != 0)
				return -1;
			continue;
		}
		if (head.empty)
			rc = c->expect ? mc_block_apply_genesis(t, &b, c->expect, err)
				       : mc_err_set(err, EX_DATAERR, _("no chain id to join"));
		else
			rc = mc_block_apply(t, &b, MC_APPLY_COMMIT, eng_now(c->e), err);
		mc_bundle_release(&b);
		if (rc != 0)
			return -1;
		c->applied++;
	}
	return 0;
}

struct join_ctx {
	uint8_t id[MC_HASH_LEN];
	bool has;
};

static int join_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct join_ctx *j = vctx;
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CONSENSUS, JOIN_KEY, sizeof(JOIN_KEY) - 1, &v, &vn, err);

	if (rc < 0)
		return -1;
	j->has = rc == 0 && vn == MC_HASH_LEN;
	if (j->has)
		memcpy(j->id, v, MC_HASH_LEN);
	return 0;
}

/* Pulls the blocks after our head from a peer whose status claims them,
 * or, when a checked certificate shows this node behind, from any peer up.
 * Every block is checked as it is applied (mc_block_apply with its
 * certificate). A peer that claims more than it gives is not asked again
 * for CLAIM_RETRY_MS, and the claim never holds up anything else. mu held. */
void eng_sync_from_peers(struct mc_engine *e, void *cl)
{
	struct join_ctx j = { { 0 }, false };
	struct mc_err err = { 0 };
	bool behind;

	if (!e->have_chain && (mc_store_read(e->s, join_txn, &j, &err) != 0 || !j.has))
		return;
	behind = eng_behind(e, eng_now(e));
	for (size_t i = 0; i < e->npeers && !e->stop; i++) {
		struct peer *p = e->peers[i];
		uint64_t from = e->have_chain ? e->height + 1 : 0, now = eng_now(e);
		char path[96], url[MC_URL_MAX + 1];
		uint8_t chain[MC_HASH_LEN], pk[MC_PK_LEN];
		bool known = p->pk_known;
		struct mc_peer_resp r;
		struct sync_ctx sc;
		int rc;

		if (p->gone || !p->up || (p->height < from && !behind) || now < p->claim_retry_ms)
			continue;
		snprintf(path, sizeof(path), "/v1/blocks?from=%llu&max=%u", (unsigned long long)from, SYNC_BATCH);
		snprintf(url, sizeof(url), "%s", p->url);
		memcpy(chain, e->have_chain ? e->chain_id : j.id, MC_HASH_LEN);
		memcpy(pk, p->pk, MC_PK_LEN);
		memset(&sc, 0, sizeof(sc));
		pthread_mutex_unlock(&e->mu);
		rc = e->tr.fetch(cl, chain, e->node, url, path, known ? pk : NULL, 30000,
				  MC_ENGINE_SYNC_BYTES + MC_ENGINE_BLOCK_BODY_MAX, &r, &err);
		if (rc == 0 && (r.status == 401 || r.status == 403) && e->c.pending) {
			/* refused under the node's key: its rotation may be on the chain */
			mc_peer_resp_release(&r);
			rc = e->tr.fetch(cl, chain, e->c.pending, url, path, known ? pk : NULL, 30000,
					  MC_ENGINE_SYNC_BYTES + MC_ENGINE_BLOCK_BODY_MAX, &r, &err);
		}
		if (rc == 0 && r.status == 200) {
			sc.e = e;
			sc.p = r.body;
			sc.n = r.len;
			sc.expect = e->have_chain ? NULL : j.id;
			pthread_mutex_lock(&e->chain_mu);
			rc = mc_store_write(e->s, sync_txn, &sc, &err);
			pthread_mutex_unlock(&e->chain_mu);
			if (rc != 0)
				mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", url }, { "REASON", err.msg }), "blocks from %s refused: %s",
				       url, err.msg);
			else if (sc.applied)
				mc_log(LOG_INFO, MC_LOG_FIELDS({ "PEER", url }), "caught up %llu blocks from %s",
				       (unsigned long long)sc.applied, url);
		} else if (rc == 0) {
			rc = -1;
		}
		mc_peer_resp_release(&r);
		pthread_mutex_lock(&e->mu);
		if (rc == 0 && sc.applied) {
			eng_after_commit(e, NULL);
			return;
		}
		if (rc == 0 && e->have_chain && e->height >= p->height)
			continue;   /* its blocks were all stored here meanwhile (commits that
				     * landed during the fetch), and it claims no more: nothing
				     * to hold against it. A peer that failed, sent a block
				     * refused on its merits, or claims more than it gave waits
				     * CLAIM_RETRY_MS */
		/* it gave nothing past our head: its claim waits */
		p->claim_retry_ms = eng_now(e) + CLAIM_RETRY_MS;
		if (p->height >= from && p->claim_logged != p->height) {
			p->claim_logged = p->height;
			mc_log(LOG_WARNING, NULL, "peer %s claims height %llu but gave no block after %llu: not asked again for %d s",
				      url, (unsigned long long)p->height, (unsigned long long)(from ? from - 1 : 0),
				      CLAIM_RETRY_MS / 1000);
		}
	}
}

/* ---- txs handed to the leader ---------------------------------------------- */

static void fwd_drop(struct mc_engine *e, size_t i)
{
	e->fwd_bytes -= e->fwd[i].len;
	free(e->fwd[i].bundle);
	memmove(&e->fwd[i], &e->fwd[i + 1], (e->nfwd - i - 1) * sizeof(e->fwd[0]));
	e->nfwd--;
}

void eng_fwd_watch(struct mc_engine *e, const struct mc_txin *in, const uint8_t (*hashes)[MC_HASH_LEN],
		   const uint64_t *heights, size_t n)
{
	uint64_t now = eng_now(e);

	for (size_t i = 0; i < n; i++) {
		struct fwd *f;
		bool known = false;

		if (heights[i] || eng_refusal_of(e, hashes[i]))
			continue;
		for (size_t j = 0; j < e->nfwd && !known; j++)
			known = memcmp(e->fwd[j].hash, hashes[i], MC_HASH_LEN) == 0;
		if (known)
			continue;
		if (e->nfwd == FWD_MAX)
			fwd_drop(e, 0);
		f = &e->fwd[e->nfwd++];
		memset(f, 0, sizeof(*f));
		memcpy(f->hash, hashes[i], MC_HASH_LEN);
		f->at_ms = now;
		/* kept to relay while the bytes kept stay small */
		if (e->fwd_bytes + in[i].tx_len + in[i].side_len + 16 <= FWD_BYTES_MAX) {
			struct mc_buf b;

			mc_buf_init(&b);
			mc_txbundle_encode(&in[i], 1, &b);
			if (!mc_buf_failed(&b)) {
				f->bundle = b.data;
				f->len = b.len;
				e->fwd_bytes += b.len;
			} else {
				mc_buf_release(&b);
			}
		}
	}
}

uint64_t eng_fwd_oldest_ms(const struct mc_engine *e, uint64_t now)
{
	return e->nfwd && now > e->fwd[0].at_ms ? now - e->fwd[0].at_ms : 0;
}

bool eng_leader_silent(const struct mc_engine *e, uint64_t now, uint64_t ms)
{
	return now - e->leader_seen_ms >= ms ||
	       (eng_fwd_oldest_ms(e, now) >= ms && now - e->last_commit_ms >= ms / 2) ||
	       (e->leader_equivocated && e->equivocated_view == e->view);
}

/* Txs handed to the leader that are now committed here, or refused, are
 * no longer watched. mu held. */
static int fwd_seen_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = ((struct fwd_seen_ctx *)vctx)->e;

	for (size_t i = 0; i < e->nfwd;) {
		const void *v;
		size_t vn;
		int rc = mc_txn_get(t, MC_DB_TXIDX, e->fwd[i].hash, MC_HASH_LEN, &v, &vn, err);

		if (rc < 0)
			return -1;
		if (rc == 0 || eng_refusal_of(e, e->fwd[i].hash))
			fwd_drop(e, i);
		else
			i++;
	}
	return 0;
}

/* After a view change: the txs the old leader sat on go to the new one
 * (into this node's own pool when it leads now). mu held (released). */
static void fwd_resend(struct mc_engine *e, void *cl)
{
	char url[MC_URL_MAX + 1] = "";
	uint8_t chain[MC_HASH_LEN], leader[MC_PK_LEN];
	size_t sent = 0;

	memcpy(chain, e->chain_id, MC_HASH_LEN);
	memcpy(leader, e->leader, MC_PK_LEN);
	for (size_t k = 0; k < e->npeers; k++)
		if (!e->peers[k]->gone && e->peers[k]->pk_known && memcmp(e->peers[k]->pk, leader, MC_PK_LEN) == 0)
			snprintf(url, sizeof(url), "%s", e->peers[k]->url);
	for (size_t i = 0; i < e->nfwd; i++) {
		struct fwd *f = &e->fwd[i];
		struct mc_txin *in = NULL;
		struct mc_peer_resp r;
		struct mc_err err = { 0 };
		uint8_t *copy, hash[MC_HASH_LEN];
		size_t n = 0, len = f->len;
		bool ok;

		if (!f->resend)
			continue;
		f->resend = false;
		if (eng_am_leader(e)) {
			if (mc_txbundle_decode(f->bundle, f->len, &in, &n, NULL) == 0 && n == 1 &&
			    eng_pool_add(e, &in[0], f->hash) == 0)
				sent++;
			free(in);
			continue;
		}
		if (!*url || !(copy = malloc(len)))
			continue;
		memcpy(copy, f->bundle, len);
		memcpy(hash, f->hash, MC_HASH_LEN);
		pthread_mutex_unlock(&e->mu);
		memset(&r, 0, sizeof(r));
		ok = e->tr.send(cl, chain, e->node, url, "/v1/tx?wait=" HANDOVER_WAIT_S, copy, len, leader,
				  HANDOVER_WAIT_MS + PEER_TIMEOUT_MS, 1u << 20, &r, &err) == 0;
		free(copy);
		pthread_mutex_lock(&e->mu);
		if (ok) {
			bool said;

			eng_http_note_answer(e, r.body, r.len, (const uint8_t (*)[MC_HASH_LEN])&hash, 1, &said);
			mc_peer_resp_release(&r);
			sent++;
		}
		if (memcmp(leader, e->leader, MC_PK_LEN) != 0)
			break;   /* yet another leader: the next round */
	}
	if (sent) {
		mc_log(LOG_WARNING, NULL, "%zu txs the old leader did not commit handed to the new one", sent);
		pthread_cond_broadcast(&e->cv);
	}
}

/* A node that led and leads no longer (a view change) hands its pending
 * pool to the new leader, a request of up to 1 MiB at a time, so that the
 * txs its writers wait for are not stranded. mu held (released). */
static void pool_handover(struct mc_engine *e, void *cl)
{
	char url[MC_URL_MAX + 1] = "";
	uint8_t chain[MC_HASH_LEN], leader[MC_PK_LEN], (*hashes)[MC_HASH_LEN];
	struct mc_txin *in;
	struct mc_buf b;
	struct mc_peer_resp r;
	size_t n = 0, bytes = 0, k = 0;
	int rc = -1;

	for (size_t i = 0; i < e->npeers; i++)
		if (!e->peers[i]->gone && e->peers[i]->pk_known && memcmp(e->peers[i]->pk, e->leader, MC_PK_LEN) == 0)
			snprintf(url, sizeof(url), "%s", e->peers[i]->url);
	if (!*url || !(in = calloc(e->mp_n, sizeof(*in))))
		return;
	if (!(hashes = calloc(e->mp_n, MC_HASH_LEN))) {
		free(in);
		return;
	}
	while (n < e->mp_n && (n == 0 || bytes + e->mp[n]->tx_len + e->mp[n]->side_len <= (1u << 20))) {
		memcpy(hashes[n], e->mp[n]->hash, MC_HASH_LEN);
		in[n].tx = e->mp[n]->bytes;
		in[n].tx_len = e->mp[n]->tx_len;
		in[n].side = e->mp[n]->bytes + e->mp[n]->tx_len;
		in[n].side_len = e->mp[n]->side_len;
		bytes += e->mp[n]->tx_len + e->mp[n]->side_len;
		n++;
	}
	mc_buf_init(&b);
	mc_txbundle_encode(in, n, &b);
	free(in);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	memcpy(leader, e->leader, MC_PK_LEN);
	e->building = true;   /* the pool stays as it is meanwhile */
	pthread_mutex_unlock(&e->mu);
	memset(&r, 0, sizeof(r));
	if (!mc_buf_failed(&b)) {
		struct mc_err err = { 0 };

		/* a short wait: its refusals (a sequence number a twin took, say)
		 * reach the writers waiting here */
		rc = e->tr.send(cl, chain, e->node, url, "/v1/tx?wait=" HANDOVER_WAIT_S, b.data, b.len,
				  leader, HANDOVER_WAIT_MS + PEER_TIMEOUT_MS, 1u << 20, &r, &err);
	}
	mc_buf_release(&b);
	pthread_mutex_lock(&e->mu);
	e->building = false;
	if (rc != 0) {
		free(hashes);
		return;   /* the next round tries again */
	}
	{
		bool said;

		eng_http_note_answer(e, r.body, r.len, (const uint8_t (*)[MC_HASH_LEN])hashes, n, &said);
		mc_peer_resp_release(&r);
		free(hashes);
		pthread_cond_broadcast(&e->cv);
	}
	for (size_t i = 0; i < e->mp_n; i++)
		if (i < n)
			eng_pool_free(e, e->mp[i]);
		else
			e->mp[k++] = e->mp[i];
	e->mp_n = k;
	mc_log(LOG_INFO, NULL, "%zu pending txs handed to the new leader", n);
}

/* Whether the leader's answer about a tx is a refusal. */
static bool answer_refused(const struct mc_peer_resp *r, char *why, size_t n)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->len);
	const cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "txs") : NULL;
	const cJSON *o = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, 0) : NULL;
	const cJSON *st = o ? cJSON_GetObjectItemCaseSensitive(o, "state") : NULL;
	const cJSON *e = o ? cJSON_GetObjectItemCaseSensitive(o, "error") : NULL;
	bool refused = cJSON_IsString(st) && strcmp(st->valuestring, "refused") == 0;

	if (refused)
		snprintf(why, n, "%s", cJSON_IsString(e) ? e->valuestring : "refused");
	cJSON_Delete(j);
	return refused;
}

/* A tx the leader has sat on for a quarter of the timeout: the leader is
 * asked about it again (a refusal after it answered "pending" ends the
 * watch: only the leader's refusal counts, a peer's could hide a stall);
 * else it goes to every other validator too, which hands it to the leader
 * itself and so sees for itself whether the leader commits it. mu held
 * (released during calls). */
static void fwd_relay(struct mc_engine *e, void *cl, uint64_t now)
{
	uint64_t after = (e->c.leader_timeout_ms ? e->c.leader_timeout_ms : 10000u) / 4;

	for (size_t i = 0; i < e->nfwd; i++) {
		struct fwd *f = &e->fwd[i];
		uint8_t chain[MC_HASH_LEN], hash[MC_HASH_LEN], leader[MC_PK_LEN], *copy;
		struct { char url[MC_URL_MAX + 1]; uint8_t pk[MC_PK_LEN]; } to[PEERS_MAX];
		size_t nto = 0, len = f->len;
		ssize_t lead = -1;
		char why[240] = "";
		bool refused = false;
		uint64_t waited = now - f->at_ms;

		/* a leader that commits blocks is busy, not stalled */
		if (f->relayed || !f->bundle || now - f->at_ms < after || now - e->last_commit_ms < after)
			continue;
		f->relayed = true;
		for (size_t k = 0; k < e->npeers && nto < PEERS_MAX; k++) {
			struct peer *p = e->peers[k];

			if (p->gone || !eng_peer_is_validator(e, p))
				continue;
			if (memcmp(p->pk, e->leader, MC_PK_LEN) == 0)
				lead = (ssize_t)nto;
			snprintf(to[nto].url, sizeof(to[nto].url), "%s", p->url);
			memcpy(to[nto++].pk, p->pk, MC_PK_LEN);
		}
		if (!nto || !(copy = malloc(len)))
			continue;
		memcpy(copy, f->bundle, len);
		memcpy(hash, f->hash, MC_HASH_LEN);
		memcpy(chain, e->chain_id, MC_HASH_LEN);
		memcpy(leader, e->leader, MC_PK_LEN);
		pthread_mutex_unlock(&e->mu);
		for (size_t pass = 0; pass < 2 && !refused; pass++)
			for (size_t k = 0; k < nto && !refused; k++) {
				struct mc_peer_resp r;
				struct mc_err err = { 0 };

				/* the leader first, the others then */
				if ((pass == 0) != ((ssize_t)k == lead))
					continue;
				if (e->tr.send(cl, chain, e->node, to[k].url, "/v1/tx?wait=0", copy, len, to[k].pk,
						 PEER_TIMEOUT_MS, 1u << 20, &r, &err) != 0)
					continue;
				refused = pass == 0 && memcmp(to[k].pk, leader, MC_PK_LEN) == 0 &&
					  answer_refused(&r, why, sizeof(why));
				mc_peer_resp_release(&r);
			}
		free(copy);
		pthread_mutex_lock(&e->mu);
		if (refused) {
			eng_remember_refusal(e, hash, why, false);
			for (size_t k = 0; k < e->nfwd; k++)
				if (memcmp(e->fwd[k].hash, hash, MC_HASH_LEN) == 0) {
					fwd_drop(e, k);
					break;
				}
		} else {
			mc_log(LOG_WARNING, NULL, "a tx handed to the leader is not committed after %llu ms: sent to the other validators too",
				      (unsigned long long)waited);
		}
		return;   /* one at a time: the list may have changed */
	}
}

/* Behind: a certificate this node checked shows a block it lacks, and
 * fetching it has not stalled for CERT_HINT_TTL_MS. mu held. */
bool eng_behind(const struct mc_engine *e, uint64_t now)
{
	return e->have_chain && e->cert_hint > e->height && now - e->cert_hint_ms < CERT_HINT_TTL_MS;
}

/* A block at `height` whose certificate this node checked. mu held. */
void eng_note_certified(struct mc_engine *e, uint64_t height)
{
	if (height <= e->height || height <= e->cert_hint)
		return;
	e->cert_hint = height;
	e->cert_hint_ms = eng_now(e);
	pthread_cond_broadcast(&e->cv);
}

/* Some peer claims a height above ours, and is due to be asked. mu held. */
static bool claims_due(const struct mc_engine *e, uint64_t now)
{
	uint64_t from = e->have_chain ? e->height + 1 : 0;

	for (size_t i = 0; i < e->npeers; i++) {
		const struct peer *p = e->peers[i];

		if (!p->gone && p->up && p->height >= from && now >= p->claim_retry_ms)
			return true;
	}
	return false;
}

/* ---- the engine thread ------------------------------------------------------ */


struct moved_ctx {
	struct mc_head head;
};

static int moved_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, &((struct moved_ctx *)vctx)->head, err);
}

static bool head_moved(struct mc_engine *e)
{
	struct moved_ctx c;
	struct mc_err err = { 0 };

	if (mc_store_read(e->s, moved_txn, &c, &err) != 0)
		return false;
	return !c.head.empty && (!e->have_chain || c.head.height != e->height);
}

/* The loop's steps, in the order of one pass; mu held. A step that
 * returns true has done something after which the pass starts again. */

/* The status file, the watchdog, blocks made elsewhere, a stale hint. */
static void loop_chores(struct mc_engine *e, uint64_t now)
{
	if (now - e->last_status_write >= 1000) {
		eng_peers_write_status(e);
		e->last_status_write = now;
	}
	if (e->c.tick)
		e->c.tick(e->c.tick_ctx, e->height);
	if (head_moved(e))   /* a block this process did not make (the CLI on a sole validator) */
		eng_after_commit(e, NULL);
	if (e->cert_hint > e->height && now - e->cert_hint_ms >= CERT_HINT_TTL_MS) {
		mc_log(LOG_WARNING, NULL, "block %llu is certified, but no peer gave it for %d s: going on",
			      (unsigned long long)e->cert_hint, CERT_HINT_TTL_MS / 1000);
		e->cert_hint = 0;
	}
}

/* Catching up: true when blocks came. */
static bool loop_catch_up(struct mc_engine *e, void *cl, bool behind, uint64_t now)
{
	uint64_t before = e->height;
	bool had = e->have_chain;

	if (e->have_chain && !behind && !claims_due(e, now))
		return false;
	eng_sync_from_peers(e, cl);
	if (!had && e->have_chain)
		eng_peers_refresh(e);
	return e->have_chain && e->height > before;
}

/* A view change handed to this node as the new leader: true when one is. */
static bool loop_take_over(struct mc_engine *e, bool behind)
{
	struct mc_err err = { 0 };

	if (!e->have_chain || e->vc_view <= e->view || behind)
		return false;
	if (eng_now(e) - e->vc_adopted_ms > eng_vc_window_ms(e)) {
		/* its first block never gathered a quorum: another change may */
		mc_log(LOG_WARNING, NULL, "the view change to %llu did not complete in %llu ms: given up",
		       (unsigned long long)e->vc_view, (unsigned long long)eng_vc_window_ms(e));
		e->vc_view = 0;
		return true;
	}
	if (eng_vc_take_over(e, &err) < 0) {
		mc_log(LOG_WARNING, NULL, "the view change did not complete: %s", err.msg);
		e->vc_view = 0;
	} else if (e->vc_view > e->view && e->prop.len && e->nval - e->nrefused < mc_quorum(e->nval)) {
		/* refused by too many to commit: not again at once */
		uint64_t h = e->height, wake = eng_now(e) + POLL_MS;

		while (!e->stop && e->height == h && eng_now(e) < wake)
			eng_wait_until(e, wake);
	}
	return true;
}

/* Evidence to the validators, and txs to the leader. */
static void loop_hand_over(struct mc_engine *e, void *cl, uint64_t now)
{
	if (e->ev_out.len)
		evidence_send(e, cl);
	if (e->have_chain && e->mp_n && !eng_am_leader(e))
		pool_handover(e, cl);
	if (e->have_chain && e->nfwd) {
		fwd_resend(e, cl);
		if (!eng_am_leader(e))
			fwd_relay(e, cl, now);
	}
}

/* The leader silent past the timeout: this node, when it is the candidate,
 * asks the validators to move to the next view. True when it was. */
static bool loop_leader_timeout(struct mc_engine *e, uint64_t now)
{
	struct mc_err err = { 0 };
	uint8_t cand[MC_PK_LEN];
	uint64_t view = 0;

	if (!e->have_chain || !e->c.leader_timeout_ms || eng_am_leader(e) || !eng_is_validator(e, e->node->pk) ||
	    !eng_leader_silent(e, now, e->c.leader_timeout_ms) || now - e->last_vc_try_ms <= e->c.leader_timeout_ms)
		return false;
	e->last_vc_try_ms = now;
	if (!eng_vc_candidate(e, cand) || memcmp(cand, e->node->pk, MC_PK_LEN) != 0)
		return true;
	if (!eng_vc_next_view(e, &view)) {
		mc_log(LOG_WARNING, NULL, "no view number is left for a view change");
		return true;
	}
	if (e->leader_equivocated && e->equivocated_view == e->view)
		mc_log(LOG_WARNING, NULL, "the leader signed two blocks at one height: asking to lead view %llu",
			      (unsigned long long)view);
	else if (eng_fwd_oldest_ms(e, now) >= e->c.leader_timeout_ms)
		mc_log(LOG_WARNING, NULL, "the leader has not committed a tx it was handed %llu ms ago: asking to lead view %llu",
			      (unsigned long long)eng_fwd_oldest_ms(e, now), (unsigned long long)view);
	else
		mc_log(LOG_WARNING, NULL, "no word from the leader for %u ms: asking to lead view %llu",
			      e->c.leader_timeout_ms, (unsigned long long)view);
	if (eng_vc_start(e, view, cand, true, NULL, &err) != 0)
		mc_log(LOG_WARNING, NULL, "view change to %llu: %s", (unsigned long long)view, err.msg);
	return true;
}

/* A block this node locked and proposed but did not commit comes first. */
static void lead_locked_first(struct mc_engine *e)
{
	struct mc_err err = { 0 };
	struct lock l = { 0 };

	/* of this view, or of a later one: a change's first block whose
	 * change was given up, which one block a height leaves the only one
	 * this node can sign at that height */
	if (eng_lock_get(e, &l, &err) == 0 && l.has && l.height == e->height + 1 && l.view >= e->view &&
	    !e->prop.len) {
		mc_buf_reset(&e->prop);
		mc_put_raw(&e->prop, l.bundle, l.len);
		memcpy(e->prop_hash, l.hash, MC_HASH_LEN);
		e->prop_height = l.height;
		e->prop_view = l.view;
		mc_log(LOG_INFO, NULL, "proposing locked block %llu again", (unsigned long long)l.height);
	}
	eng_lock_release(&l);
}

/* A failed round of the leader's, logged: a message that repeats the last
 * one (the same failure, as a full disk gives every round) at most once in
 * ROUND_LOG_MS, with the count of those left out. */
static void log_round_failure(struct mc_engine *e, int prio, const char *what, uint64_t height)
{
	uint64_t now = eng_now(e);
	char at[48] = "";

	if (strcmp(what, e->round_log.what) == 0 && now - e->round_log.at_ms < ROUND_LOG_MS) {
		e->round_log.quiet++;
		return;
	}
	if (height)
		snprintf(at, sizeof(at), " (block %llu)", (unsigned long long)height);
	if (e->round_log.quiet)
		mc_log(prio, NULL, "%s%s (and %llu times more in the last %d s)", what, at,
		       (unsigned long long)e->round_log.quiet, ROUND_LOG_MS / 1000);
	else
		mc_log(prio, NULL, "%s%s", what, at);
	snprintf(e->round_log.what, sizeof(e->round_log.what), "%s", what);
	e->round_log.at_ms = now;
	e->round_log.quiet = 0;
}

/* The leader's turn: a proposal made as soon as no round is in flight
 * and txs wait (what came during the last round goes in one block), and
 * run. True when one ran. */
static bool loop_lead(struct mc_engine *e)
{
	struct mc_err err = { 0 };
	int rc;

	lead_locked_first(e);
	rc = !e->prop.len && e->mp_n ? eng_make_proposal(e, NULL, &err) : 0;
	if (rc < 0) {
		char what[sizeof(e->round_log.what)];

		snprintf(what, sizeof(what), "cannot make a block: %s", err.msg);
		log_round_failure(e, LOG_ERR, what, 0);
	}
	if (rc == 2)
		return true;   /* a sole validator's block, committed as built */
	if (!e->prop.len)
		return false;
	rc = eng_run_proposal(e, &err);
	if (rc < 0) {
		uint64_t wake = eng_now(e) + e->c.block_interval_ms;
		char what[sizeof(e->round_log.what)];

		snprintf(what, sizeof(what), "a block was not committed: %s", err.msg);
		log_round_failure(e, LOG_WARNING, what, e->prop_height);
		mc_buf_reset(&e->prop);
		/* not at once again: a lock that cannot be stored (a full
		 * disk) would otherwise spin and flood the log */
		while (!e->stop && eng_now(e) < wake)
			eng_wait_until(e, wake);
	}
	if (rc > 0 && e->prop.len && e->nval - e->nrefused < mc_quorum(e->nval)) {
		/* refused by too many to ever commit: not again at once (another
		 * block holds their votes; the chain moves on, or the poll
		 * brings it) */
		uint64_t h = e->height, wake = eng_now(e) + POLL_MS;

		while (!e->stop && e->height == h && eng_now(e) < wake)
			eng_wait_until(e, wake);
	}
	return true;
}

static void *engine_main(void *arg)
{
	struct mc_engine *e = arg;
	void *cl = NULL;

	if (!(cl = eng_client_open(e)))
		return NULL;
	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		uint64_t now = eng_now(e);
		bool behind;

		loop_chores(e, now);
		behind = eng_behind(e, now);
		if (loop_catch_up(e, cl, behind, now) || loop_take_over(e, behind))
			continue;
		loop_hand_over(e, cl, now);
		if (loop_leader_timeout(e, now))
			continue;
		if (e->prop.len && e->prop_height != e->height + 1) {
			/* another proposer's block took that height (a twin, or a
			 * leader of a view this node missed): ours is stale */
			mc_log(LOG_WARNING, NULL, "proposal %llu dropped: the chain is at %llu", (unsigned long long)e->prop_height,
				      (unsigned long long)e->height);
			mc_buf_reset(&e->prop);
		}
		if (e->have_chain && !behind && eng_am_leader(e) && loop_lead(e))
			continue;
		/* txs the leader could not make a block of: tried again after
		 * block_interval_ms (a new tx, a vote or a commit wakes it sooner) */
		eng_wait_until(e, eng_now(e) + (e->mp_n && eng_am_leader(e) ? e->c.block_interval_ms : 200));
	}
	pthread_mutex_unlock(&e->mu);
	eng_client_close(e, cl);
	return NULL;
}

/* ---- the clock and the transport -------------------------------------------------- */

static uint64_t real_now(void *ctx)
{
	(void)ctx;
	return mc_now_ms();
}

void eng_wait_until(struct mc_engine *e, uint64_t until)
{
	uint64_t now = eng_now(e), real = e->c.now == real_now ? until : mc_now_ms() + (until > now ? until - now : 0);
	struct timespec ts;

	ts.tv_sec = (time_t)(real / 1000);
	ts.tv_nsec = (long)(real % 1000) * 1000000L;
	pthread_cond_timedwait(&e->cv, &e->mu, &ts);
}

void *eng_client_open(struct mc_engine *e)
{
	void *cl = NULL;
	struct mc_err err = { 0 };

	if (e->tr.open(e->tr.ctx, &cl, &err) != 0) {
		mc_log(LOG_WARNING, NULL, "%s", err.msg);
		return NULL;
	}
	return cl;
}

void eng_client_close(struct mc_engine *e, void *cl)
{
	if (cl)
		e->tr.close(e->tr.ctx, cl);
}

/* ---- start and stop ------------------------------------------------------------ */

void mc_engine_chain_id(struct mc_engine *e, uint8_t out[MC_HASH_LEN])
{
	pthread_mutex_lock(&e->mu);
	memcpy(out, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
}

const struct mc_key *mc_engine_node(struct mc_engine *e)
{
	return e->node;
}

int mc_engine_start(const struct mc_engine_conf *c, struct mc_engine **out, struct mc_err *err)
{
	struct mc_engine *e;
	uint64_t t0 = mc_now_ms();
	int built;

	/* A store older than the identity index gets it now, in a txn that
	 * commits: the rounds build and check in txns aborted by design,
	 * where the build would run again each round (decisions.md). */
	if ((built = mc_identity_index_ensure(c->s, err)) < 0)
		return -1;
	if (built)
		mc_log(LOG_INFO, NULL, "built the identity index of a store older than it (once): %llu ms",
		       (unsigned long long)(mc_now_ms() - t0));
	/* the same for the audit index in chain order */
	t0 = mc_now_ms();
	if ((built = mc_rules_audit_chain_ensure(c->s, err)) < 0)
		return -1;
	if (built)
		mc_log(LOG_INFO, NULL, "built the audit index in chain order of a store older than it (once): %llu ms",
		       (unsigned long long)(mc_now_ms() - t0));
	e = calloc(1, sizeof(*e));
	if (!e)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	e->c = *c;
	if (!e->c.now)
		e->c.now = real_now;
	if (c->transport)
		e->tr = *c->transport;
	else
		mc_peer_http_transport(c->ca_file, &e->tr);
	e->s = c->s;
	e->node = c->node;
	if (!e->c.block_interval_ms)
		e->c.block_interval_ms = 50;
	if (!e->c.max_block_txs)
		e->c.max_block_txs = 5000;
	if (!e->c.mempool_max)
		e->c.mempool_max = MC_ENGINE_POOL_TXS;
	if (!e->c.mempool_bytes)
		e->c.mempool_bytes = MC_ENGINE_POOL_BYTES;
	e->log_tokens = LOG_BURST;
	e->started_ms = eng_now(e);
	e->leader_seen_ms = e->started_ms;
	e->last_commit_ms = e->started_ms;
#ifdef MC_TEST_HOOKS /* a test build only (./configure --enable-test-hooks) */
	{
		const char *tc = getenv("MEDCHAIN_TEST_CRASH");

		e->test_crash = !tc ? 0 : strcmp(tc, "leader-after-votes") == 0 ? 1
				  : strcmp(tc, "leader-after-commit") == 0 ? 2 : 0;
	}
#endif
	mc_buf_init(&e->prop);
	mc_buf_init(&e->vc_body);
	mc_buf_init(&e->vc_relay);
	mc_buf_init(&e->commit);
	mc_buf_init(&e->head_cert);
	mc_buf_init(&e->ev_out);
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->chain_mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	if (eng_pool_init(e) != 0) {
		free(e);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	if (mc_replay_new(MC_REPLAY_DEFAULT, &e->replay, err) != 0 || eng_cache_load(e, err) != 0 ||
	    mc_store_read(e->s, eng_vc_get_txn, e, err) != 0) {
		mc_replay_free(e->replay);
		mc_buf_release(&e->head_cert);
		eng_pool_fini(e);
		free(e);
		return -1;
	}
	pthread_mutex_lock(&e->mu);
	eng_peers_refresh(e);
	pthread_mutex_unlock(&e->mu);
	if (pthread_create(&e->th, NULL, engine_main, e) != 0) {
		mc_engine_stop(e);
		return mc_err_set(err, EX_OSERR, _("cannot start a thread"));
	}
	*out = e;
	return 0;
}

void mc_engine_stop(struct mc_engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->mu);
	e->stop = true;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	if (e->th)
		pthread_join(e->th, NULL);
	for (size_t i = 0; i < e->npeers; i++) {
		if (e->peers[i]->started)
			pthread_join(e->peers[i]->th, NULL);
		free(e->peers[i]);
	}
	for (size_t i = 0; i < e->mp_n; i++)
		eng_pool_free(e, e->mp[i]);
	free(e->mp);
	eng_pool_fini(e);
	while (e->nfwd)
		fwd_drop(e, 0);
	while (e->nfwd_idle)
		e->tr.close(e->tr.ctx, e->fwd_idle[--e->nfwd_idle]);
	mc_buf_release(&e->prop);
	mc_buf_release(&e->commit);
	mc_buf_release(&e->head_cert);
	mc_buf_release(&e->ev_out);
	mc_buf_release(&e->vc_body);
	mc_buf_release(&e->vc_relay);
	mc_replay_free(e->replay);
	for (size_t i = 0; i < e->nrotated; i++)
		mc_key_free(e->rotated[i]);
	if (e->c.status_file)
		unlink(e->c.status_file);
	free(e);
}

