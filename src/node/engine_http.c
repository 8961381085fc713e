/* SPDX-License-Identifier: Apache-2.0 */
/* engine_http.c - the peer API's requests, as the engine answers them
 * (httpd.c does the HTTP). */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "engine_int.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "identity.h"
#include "util.h"
#include "valset.h"

/* ---- requests ------------------------------------------------------------------ */

void eng_http_reply_text(struct mc_reply *r, unsigned status, const char *msg)
{
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, msg, strlen(msg));
	mc_put_raw(&r->body, "\n", 1);
}

void eng_http_reply_json(struct mc_reply *r, unsigned status, cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	if (!text) {
		eng_http_reply_text(r, 500, _("out of memory"));
		return;
	}
	r->status = status;
	r->ctype = "application/json";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, text, strlen(text));
	free(text);
}

struct member_ctx {
	const uint8_t *pk;
	bool ok;
};

struct removed_ctx {
	const uint8_t *pk;
	bool removed;
};

static int removed_visit(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url, void *ctx)
{
	struct removed_ctx *c = ctx;

	(void)added;
	(void)url;
	if (memcmp(pk, c->pk, MC_PK_LEN) == 0) {
		c->removed = removed != 0;
		return 1;
	}
	return 0;
}

/* A reader: an enrolled, unrevoked node identity that NODE_REMOVE has not
 * taken out of the set (a removed validator gets no new blocks, payloads
 * or keys). */
static int member_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct member_ctx *m = vctx;
	struct removed_ctx rc2 = { m->pk, false };
	struct mc_identity id;
	int rc = mc_identity_get(t, m->pk, &id, err);

	if (rc < 0)
		return -1;
	m->ok = rc == 0 && id.revoked == MC_NOT_REVOKED && (id.roles & MC_ROLE_NODE);
	if (m->ok) {
		rc = mc_nodes_each(t, removed_visit, &rc2, err);
		if (rc < 0)
			return -1;
		m->ok = !rc2.removed;
	}
	return 0;
}

static bool rate_ok(struct mc_engine *e, const uint8_t pk[MC_PK_LEN], uint64_t now)
{
	struct rate *slot = NULL, *oldest = &e->rates[0];

	for (size_t i = 0; i < PEERS_MAX; i++) {
		if (memcmp(e->rates[i].pk, pk, MC_PK_LEN) == 0) {
			slot = &e->rates[i];
			break;
		}
		if (e->rates[i].at_ms < oldest->at_ms)
			oldest = &e->rates[i];
	}
	if (!slot) {
		slot = oldest;
		memcpy(slot->pk, pk, MC_PK_LEN);
		slot->tokens = RATE_BURST;
		slot->at_ms = now;
	}
	slot->tokens += (double)(now - slot->at_ms) * RATE_PER_S / 1000.0;
	if (slot->tokens > RATE_BURST)
		slot->tokens = RATE_BURST;
	slot->at_ms = now;
	if (slot->tokens < 1.0)
		return false;
	slot->tokens -= 1.0;
	return true;
}

/* The same refusal of the same key again and again (a node polling before
 * it is added) is logged once in 10 s, with the count of those not logged
 * in between; and refusals of every key together pass a token bucket
 * (LOG_PER_S a second), so random keys cannot flood the log either. */
void mc_engine_log_refusal(struct mc_engine *e, const uint8_t *pk, const char *method, const char *path,
			   const char *why)
{
	static const uint8_t nobody[MC_PK_LEN];
	const size_t n = MC_ARRAY_LEN(e->logged);
	uint64_t now = eng_now(e), dropped = 0;
	uint8_t h[MC_HASH_LEN];
	long long quiet = 0;
	char who[17];
	bool known = false;

	if (!pk)
		pk = nobody;
	mc_sha256(why, strlen(why), h);
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < n && !known; i++) {
		if (memcmp(e->logged[i].pk, pk, MC_PK_LEN) != 0 || memcmp(e->logged[i].why, h, 8) != 0)
			continue;
		known = true;
		if (now - e->logged[i].at_ms < 10000) {
			e->logged[i].quiet++;
			pthread_mutex_unlock(&e->mu);
			return;
		}
		quiet = (long long)e->logged[i].quiet;
		e->logged[i].at_ms = now;
		e->logged[i].quiet = 0;
	}
	e->log_tokens += (double)(now - e->log_at_ms) * LOG_PER_S / 1000.0;
	if (e->log_tokens > LOG_BURST)
		e->log_tokens = LOG_BURST;
	e->log_at_ms = now;
	if (e->log_tokens < 1.0) {
		e->log_dropped++;
		pthread_mutex_unlock(&e->mu);
		return;
	}
	e->log_tokens -= 1.0;
	dropped = e->log_dropped;
	e->log_dropped = 0;
	if (!known) {
		size_t k = e->logged_next++ % n;

		memcpy(e->logged[k].pk, pk, MC_PK_LEN);
		memcpy(e->logged[k].why, h, 8);
		e->logged[k].at_ms = now;
		e->logged[k].quiet = 0;
	}
	pthread_mutex_unlock(&e->mu);
	if (pk == nobody)
		snprintf(who, sizeof(who), "?");
	else
		eng_short_pk(pk, who);
	if (quiet > 0 || dropped > 0)
		mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", who }, { "REASON", why }), "refused %s %.200s from %s: %s (and %lld times more since it was last logged, %llu other refusals not logged)",
			      method, path, who, why, quiet, (unsigned long long)dropped);
	else
		mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", who }, { "REASON", why }), "refused %s %.200s from %s: %s", method, path, who, why);
}

int mc_engine_auth(struct mc_engine *e, const struct mc_peer_sig *sig, const char *method,
		   const char *path, bool write, struct mc_err *err)
{
	uint8_t chain[MC_HASH_LEN];
	uint64_t now = eng_now(e), started;
	bool member, have;
	enum mc_refusal why;
	int rc;

	pthread_mutex_lock(&e->mu);
	have = e->have_chain;
	started = e->started_ms;
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	member = eng_is_validator(e, sig->pk) || memcmp(sig->pk, e->node->pk, MC_PK_LEN) == 0;
	pthread_mutex_unlock(&e->mu);
	if (!have) {
		mc_metrics_refusal(MC_REFUSAL_NO_CHAIN);
		return mc_err_set(err, EX_UNAVAILABLE, _("this node has no chain yet"));
	}
	rc = mc_peer_check_request_head(chain, sig, method, path, now, err);
	why = MC_REFUSAL_SIGNATURE;
	/* The replay cache lives as long as the process: a request signed
	 * before it started could be a replay it no longer knows. */
	if (rc == 0 && sig->time_ms < started && (why = MC_REFUSAL_REPLAY))
		rc = mc_err_set(err, EX_NOPERM, _("the request was signed before this node started (sign it again)"));
	if (rc == 0 && !member && !write) {
		struct member_ctx m = { sig->pk, false };

		if (mc_store_read(e->s, member_txn, &m, err) != 0)
			return -1;
		member = m.ok;
	}
	if (rc == 0 && !member && (why = MC_REFUSAL_NOT_MEMBER))
		rc = mc_err_set(err, EX_NOPERM, _("the key is not in the validator set"));
	if (rc == 0) {
		int seen = mc_replay_check(e->replay, sig->pk, sig->nonce, now);

		why = seen == MC_EXISTS ? MC_REFUSAL_REPLAY : MC_REFUSAL_RATE;
		if (seen == MC_EXISTS)
			rc = mc_err_set(err, EX_NOPERM, _("the request's nonce was already used (a replay)"));
		else if (seen == MC_REPLAY_BUSY)
			rc = mc_err_set(err, EX_TEMPFAIL, _("too many requests from this key in the replay window"));
	}
	if (rc == 0) {
		pthread_mutex_lock(&e->mu);
		if (!rate_ok(e, sig->pk, now) && (why = MC_REFUSAL_RATE))
			rc = mc_err_set(err, EX_TEMPFAIL, _("too many requests from this key"));
		pthread_mutex_unlock(&e->mu);
	}
	if (rc != 0) {
		mc_metrics_refusal(why);
		mc_engine_log_refusal(e, sig->pk, method, path, err->msg);
	}
	return rc;
}

void mc_engine_on_status(struct mc_engine *e, struct mc_reply *r)
{
	cJSON *j;

	pthread_mutex_lock(&e->mu);
	j = eng_peers_status_json(e);
	if (j)
		cJSON_AddItemToObject(j, "peers", eng_peers_json(e));
	pthread_mutex_unlock(&e->mu);
	eng_http_reply_json(r, 200, j);
}

struct blocks_ctx {
	uint64_t from, max;
	struct mc_buf *out;
};

static int blocks_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct blocks_ctx *c = vctx;
	struct mc_head head;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	for (uint64_t h = c->from; !head.empty && h <= head.height && h < c->from + c->max; h++) {
		if (mc_bundle_load(t, h, c->out, err) != 0)
			return -1;
		if (c->out->len >= MC_ENGINE_SYNC_BYTES)
			break;
	}
	return 0;
}

void mc_engine_on_blocks(struct mc_engine *e, uint64_t from, uint64_t max, struct mc_reply *r)
{
	struct blocks_ctx c = { from, max ? (max < SYNC_BATCH ? max : SYNC_BATCH) : 1, &r->body };
	struct mc_err err = { 0 };

	mc_buf_reset(&r->body);
	if (mc_store_read(e->s, blocks_txn, &c, &err) != 0) {
		eng_http_reply_text(r, 500, err.msg);
		return;
	}
	r->status = 200;
	r->ctype = "application/octet-stream";
}

/* ---- txs ---------------------------------------------------------------- */

struct seen_ctx {
	const uint8_t (*hashes)[MC_HASH_LEN];
	size_t n;
	uint64_t *heights;   /* 0: not committed */
};

static int seen_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seen_ctx *c = vctx;

	for (size_t i = 0; i < c->n; i++) {
		const void *v;
		size_t vn;
		int rc = mc_txn_get(t, MC_DB_TXIDX, c->hashes[i], MC_HASH_LEN, &v, &vn, err);

		if (rc < 0)
			return -1;
		c->heights[i] = rc == 0 && vn == 12 ? mc_from_be64(v) : 0;
	}
	return 0;
}

/* The leader's URL, if we know it. mu held. */
static bool leader_url(struct mc_engine *e, char url[MC_URL_MAX + 1])
{
	for (size_t i = 0; i < e->npeers; i++)
		if (!e->peers[i]->gone && e->peers[i]->pk_known &&
		    memcmp(e->peers[i]->pk, e->leader, MC_PK_LEN) == 0) {
			snprintf(url, MC_URL_MAX + 1, "%s", e->peers[i]->url);
			return true;
		}
	return false;
}

/* Waits until every tx is committed here or refused, or until deadline.
 * mu held. */
static void wait_txs(struct mc_engine *e, const uint8_t (*hashes)[MC_HASH_LEN], size_t n,
		     uint64_t *heights, uint64_t deadline)
{
	struct seen_ctx sc = { hashes, n, heights };
	struct mc_err err = { 0 };

	for (;;) {
		size_t done = 0;

		if (mc_store_read(e->s, seen_txn, &sc, &err) != 0)
			return;
		for (size_t i = 0; i < n; i++)
			done += heights[i] != 0 || eng_refusal_of(e, hashes[i]) != NULL;
		if (done == n || e->stop || eng_now(e) >= deadline)
			return;
		eng_wait_until(e, deadline);
	}
}

/* Why txs are still pending after the wait, for the operator: what is
 * missing, as seen from here. mu held. */
static void pending_why(struct mc_engine *e, const char *forward_err, bool leader_said_committed, char *out,
			size_t n)
{
	size_t up = eng_is_validator(e, e->node->pk) ? 1 : 0, quorum = mc_quorum(e->nval);
	bool leader_up = eng_am_leader(e);

	for (size_t i = 0; i < e->npeers; i++) {
		const struct peer *p = e->peers[i];

		if (p->gone || !p->up || !eng_peer_is_validator(e, p))
			continue;
		up++;
		leader_up = leader_up || memcmp(p->pk, e->leader, MC_PK_LEN) == 0;
	}
	if (up < quorum)
		snprintf(out, n, _("no quorum: %zu of %zu validators answer, %zu needed"), up, e->nval, quorum);
	else if (forward_err)
		snprintf(out, n, _("the leader does not answer: %.200s"), forward_err);
	else if (!leader_up)
		snprintf(out, n, "%s", _("the leader does not answer"));
	else if (leader_said_committed)
		snprintf(out, n, "%s",
			 _("the leader says it is committed, but no certified block holding it has reached this node"));
	else
		snprintf(out, n, "%s", _("the validators answer, but it was not committed within the wait"));
}

/* The answer, from this node's own store: committed only what is in a
 * block here with a certificate this node checked. */
static cJSON *txs_result(struct mc_engine *e, const uint8_t (*hashes)[MC_HASH_LEN], size_t n,
			 const uint64_t *heights, const char *why, unsigned *status)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "txs");
	size_t committed = 0, refused = 0;

	for (size_t i = 0; a && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		bool stale = false;
		const char *msg = heights[i] ? NULL : eng_refusal_stale(e, hashes[i], &stale);

		if (!o)
			break;
		eng_add_hex(o, "hash", hashes[i], MC_HASH_LEN);
		if (heights[i]) {
			cJSON_AddStringToObject(o, "state", "committed");
			cJSON_AddNumberToObject(o, "height", (double)heights[i]);
			committed++;
		} else if (msg) {
			cJSON_AddStringToObject(o, "state", "refused");
			cJSON_AddStringToObject(o, "error", msg);
			if (stale)   /* its sequence number went to another tx: sign again */
				cJSON_AddBoolToObject(o, "stale", true);
			refused++;
		} else {
			cJSON_AddStringToObject(o, "state", "pending");
		}
		cJSON_AddItemToArray(a, o);
	}
	if (committed + refused < n && why)
		cJSON_AddStringToObject(j, "why", why);
	*status = refused ? 422 : committed == n ? 200 : 202;
	return j;
}

/* A client for one forward: one kept idle by an earlier forward (its
 * connection to the leader still open, so no new TCP or TLS handshake),
 * or a new one. mu held. 0, or -1 with err set. */
static int fwd_client_take(struct mc_engine *e, void **cl, struct mc_err *err)
{
	if (e->nfwd_idle) {
		*cl = e->fwd_idle[--e->nfwd_idle];
		return 0;
	}
	return e->tr.open(e->tr.ctx, cl, err);
}

/* Back after a forward: kept when the call went through and a slot is
 * free, else closed. mu held. */
static void fwd_client_give(struct mc_engine *e, void *cl, bool ok)
{
	if (!cl)
		return;
	if (ok && !e->stop && e->nfwd_idle < FWD_IDLE_MAX)
		e->fwd_idle[e->nfwd_idle++] = cl;
	else
		e->tr.close(e->tr.ctx, cl);
}

/* Forwards txs to the leader. Its word is taken for refusals only (they
 * release nothing); what it says is committed counts once the block is
 * here. mu held (released during the call). */
static void forward_txs(struct mc_engine *e, const uint8_t *body, size_t len, unsigned wait_ms,
			const uint8_t (*hashes)[MC_HASH_LEN], size_t n, char *ferr, size_t ferr_n, bool *said_committed)
{
	char url[MC_URL_MAX + 1], path[64];
	uint8_t chain[MC_HASH_LEN];
	void *cl = NULL;
	struct mc_peer_resp resp;
	struct mc_err err = { 0 };
	uint8_t leader[MC_PK_LEN];
	int rc;

	*said_committed = false;
	if (!leader_url(e, url)) {
		snprintf(ferr, ferr_n, "%s", _("its address is not known yet"));
		return;
	}
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	memcpy(leader, e->leader, MC_PK_LEN);
	snprintf(path, sizeof(path), "/v1/tx?wait=%u", wait_ms);
	if (fwd_client_take(e, &cl, &err) != 0) {
		snprintf(ferr, ferr_n, "%.250s", err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	rc = e->tr.send(cl, chain, e->node, url, path, body, len, leader, (long)wait_ms + 5000, 16u << 20, &resp,
			&err);
	pthread_mutex_lock(&e->mu);
	fwd_client_give(e, cl, rc == 0);
	if (rc != 0) {
		snprintf(ferr, ferr_n, "%.250s", err.msg);
		return;
	}
	if (!eng_http_note_answer(e, resp.body, resp.len, hashes, n, said_committed) && resp.status >= 400)
		snprintf(ferr, ferr_n, "HTTP %ld: %.200s", resp.status, (const char *)resp.body);
	mc_peer_resp_release(&resp);
	pthread_cond_broadcast(&e->cv);
}

bool eng_http_note_answer(struct mc_engine *e, const uint8_t *body, size_t len,
			  const uint8_t (*hashes)[MC_HASH_LEN], size_t n, bool *said_committed)
{
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	const cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "txs") : NULL, *o;
	bool parsed = cJSON_IsArray(a);

	*said_committed = false;
	cJSON_ArrayForEach(o, a) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hash");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "error");
		uint8_t hash[MC_HASH_LEN];
		bool ours = false;

		if (!cJSON_IsString(st) || !cJSON_IsString(h) || strlen(h->valuestring) != 2 * MC_HASH_LEN ||
		    mc_unhex(h->valuestring, hash, MC_HASH_LEN) != 0)
			continue;
		for (size_t i = 0; i < n && !ours; i++)   /* only what was asked */
			ours = memcmp(hashes[i], hash, MC_HASH_LEN) == 0;
		if (!ours)
			continue;
		if (strcmp(st->valuestring, "committed") == 0)
			*said_committed = true;
		else if (strcmp(st->valuestring, "refused") == 0)
			eng_remember_refusal(e, hash, cJSON_IsString(why) ? why->valuestring : _("refused by the leader"),
					     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stale")));
	}
	cJSON_Delete(j);
	return parsed;
}

struct admit_ctx {
	const struct mc_txin *in;
	const uint8_t (*hashes)[MC_HASH_LEN];
	size_t n;
	uint64_t *heights;
	char (*why)[160];         /* a refusal, or "" */
	bool *stale;
};

/* Committed already (a retry of the same bytes), or admitted: the author
 * is an enrolled, unrevoked identity and its sequence number is not used. */
static int admit_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct admit_ctx *c = vctx;

	for (size_t i = 0; i < c->n; i++) {
		struct mc_identity id;
		struct mc_tx tx;
		const void *v;
		size_t vn;
		uint64_t next;
		int rc = mc_txn_get(t, MC_DB_TXIDX, c->hashes[i], MC_HASH_LEN, &v, &vn, err);

		c->why[i][0] = 0;
		c->stale[i] = false;
		if (rc < 0)
			return -1;
		c->heights[i] = rc == 0 && vn == 12 ? mc_from_be64(v) : 0;
		if (c->heights[i] || mc_tx_decode(c->in[i].tx, c->in[i].tx_len, &tx, NULL) != 0)
			continue;
		rc = mc_identity_get(t, tx.author, &id, err);
		if (rc < 0 || mc_builder_next_seq(t, tx.author, &next, err) != 0)
			return -1;
		if (rc != 0 || id.revoked != MC_NOT_REVOKED) {
			snprintf(c->why[i], sizeof(c->why[i]), "%s", _("its author is not an enrolled, active identity"));
		} else if (tx.seq < next) {
			snprintf(c->why[i], sizeof(c->why[i]), "%s", _("the sequence number is already used"));
			c->stale[i] = true;
		}
	}
	return 0;
}

/* A request's txs and what is known of each. */
struct txs_req {
	struct mc_txin *in;
	size_t n;
	uint8_t (*hashes)[MC_HASH_LEN];
	uint64_t *heights;        /* committed at, or 0 */
	char (*why)[160];         /* a refusal, or "" */
	bool *stale;
};

static void txs_req_free(struct txs_req *q)
{
	free(q->in);
	free(q->hashes);
	free(q->heights);
	free(q->why);
	free(q->stale);
}

/* Decodes the bundle and checks each tx's form and signature; false after
 * answering in r. */
static bool txs_decode(struct mc_engine *e, const uint8_t *body, size_t len, struct txs_req *q, struct mc_reply *r)
{
	uint8_t chain[MC_HASH_LEN];
	struct mc_err err = { 0 };
	size_t n;

	pthread_mutex_lock(&e->mu);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	if (mc_txbundle_decode(body, len, &q->in, &q->n, &err) != 0) {
		eng_http_reply_text(r, 400, err.msg);
		return false;
	}
	n = q->n;
	q->hashes = calloc(n ? n : 1, sizeof(*q->hashes));
	q->heights = calloc(n ? n : 1, sizeof(*q->heights));
	q->why = calloc(n ? n : 1, sizeof(*q->why));
	q->stale = calloc(n ? n : 1, sizeof(*q->stale));
	if (!q->hashes || !q->heights || !q->why || !q->stale) {
		eng_http_reply_text(r, 503, _("out of memory"));
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		struct mc_tx tx;

		bool cached = false;
		int drc = mc_tx_decode(q->in[i].tx, q->in[i].tx_len, &tx, &err);

		if (drc == 0) {
			mc_tx_hash(&tx, q->hashes[i]);
			cached = mc_sigcache_has(&e->sigs, chain, q->hashes[i]);
		}
		if (drc != 0 || mc_side_check(q->in[i].side, q->in[i].side_len, &err) != 0 ||
		    (!cached && mc_tx_verify_sig(&tx, chain) != 0 &&
		     mc_err_set(&err, EX_DATAERR, _("bad signature")) != 0)) {
			char msg[300];

			snprintf(msg, sizeof(msg), _("tx %zu: %s"), i, err.msg);
			eng_http_reply_text(r, 400, msg);
			return false;
		}
		if (!cached)   /* verified here, just now */
			mc_sigcache_add(&e->sigs, chain, q->hashes[i]);
	}
	return true;
}

/* A block's txs whose signature is still to check: each is looked up in
 * this node's cache of its own checks and the others are verified, on the
 * engine's 2 threads, before the serial apply. ok[i] is set only for a tx
 * whose signature verified here, now or before; a tx that fails is left
 * at 0, and the apply verifies it again and refuses the block with its
 * usual message. Once one fails, the others are left to the apply too
 * (which stops at the first bad one, as before), so a block of bad
 * signatures costs no more than it did. */
struct block_sigs {
	struct mc_engine *e;
	const struct mc_bundle *b;
	uint8_t *ok;
	size_t *todo;
	uint8_t (*hashes)[MC_HASH_LEN];
	atomic_bool failed;
};

static void block_sig_check(size_t k, void *vctx)
{
	struct block_sigs *c = vctx;
	size_t i = c->todo[k];
	struct mc_tx tx;

	if (atomic_load(&c->failed))
		return;
	if (mc_tx_decode(c->b->txs[i].tx, c->b->txs[i].tx_len, &tx, NULL) == 0 &&
	    mc_tx_verify_sig(&tx, c->b->h.chain_id) == 0) {
		c->ok[i] = 1;
		mc_sigcache_add(&c->e->sigs, c->b->h.chain_id, c->hashes[i]);
	} else {
		atomic_store(&c->failed, true);
	}
}

struct precheck_ctx {
	struct mc_engine *e;
	const struct mc_bundle *b;
	unsigned flags;
};

static int precheck_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct precheck_ctx *c = vctx;

	return mc_block_precheck(t, c->b, c->flags, eng_now(c->e), err);
}

int eng_block_precheck(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, struct mc_err *err)
{
	struct precheck_ctx pc = { e, b, flags };

	return mc_store_read(e->s, precheck_txn, &pc, err);
}

/* The flags for eng_apply_block_sigs (malloc'd, b->count of them), or
 * NULL: out of memory, or the block fails a check that needs no tx
 * (mc_block_precheck: another chain, not next, not of the leader, a
 * certificate that does not check), which the apply then refuses before
 * any signature is spent on it. The cache is filled only under this
 * node's chain id, never one a peer chose. */
static uint8_t *block_sigs_check(struct mc_engine *e, const struct mc_bundle *b, unsigned flags)
{
	struct mc_err perr = { 0 };
	struct block_sigs c = { e, b, NULL, NULL, NULL, false };
	size_t n = 0;

	if (eng_block_precheck(e, b, flags, &perr) != 0)
		return NULL;
	c.ok = calloc(b->count ? b->count : 1, 1);
	c.todo = calloc(b->count ? b->count : 1, sizeof(size_t));
	c.hashes = calloc(b->count ? b->count : 1, MC_HASH_LEN);
	if (!c.ok || !c.todo || !c.hashes) {
		free(c.ok);
		c.ok = NULL;
		goto out;
	}
	for (size_t i = 0; i < b->count; i++) {
		struct mc_tx tx;

		if (mc_tx_decode(b->txs[i].tx, b->txs[i].tx_len, &tx, NULL) != 0)
			continue;   /* the apply refuses it */
		mc_tx_hash(&tx, c.hashes[i]);
		if (mc_sigcache_has(&e->sigs, b->h.chain_id, c.hashes[i]))
			c.ok[i] = 1;
		else
			c.todo[n++] = i;
	}
	mc_par_run(e->par, n, block_sig_check, &c);
out:
	free(c.todo);
	free(c.hashes);
	return c.ok;
}

void mc_engine_on_txs(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
		      size_t len, unsigned wait_ms, struct mc_reply *r)
{
	struct txs_req q = { 0 };
	struct mc_err err = { 0 };
	size_t n, open = 0;
	unsigned status;
	char ferr[300] = "", pending[400] = "";
	bool said = false, full = false;

	(void)from;
	if (wait_ms > 120000)
		wait_ms = 120000;
	if (!txs_decode(e, body, len, &q, r))
		goto out;
	n = q.n;
	{
		struct admit_ctx ac = { q.in, (const uint8_t (*)[MC_HASH_LEN])q.hashes, n, q.heights, q.why, q.stale };

		if (mc_store_read(e->s, admit_txn, &ac, &err) != 0) {
			eng_http_reply_text(r, 503, err.msg);
			goto out;
		}
	}
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < n; i++) {
		eng_forget_refusal(e, q.hashes[i]);   /* sent again: decided afresh */
		if (q.why[i][0])
			eng_remember_refusal(e, q.hashes[i], q.why[i], q.stale[i]);
		open += !q.heights[i] && !q.why[i][0];
	}
	if (open && !eng_am_leader(e)) {
		forward_txs(e, body, len, wait_ms, (const uint8_t (*)[MC_HASH_LEN])q.hashes, n, ferr, sizeof(ferr), &said);
	} else {
		for (size_t i = 0; i < n && !full; i++)
			if (!q.heights[i] && !q.why[i][0] && eng_pool_add(e, &q.in[i], q.hashes[i]) != 0)
				full = true;
		if (full) {
			pthread_mutex_unlock(&e->mu);
			eng_http_reply_text(r, 503, _("too many pending transactions: try again later"));
			goto out;
		}
		pthread_cond_broadcast(&e->cv);
	}
	/* answered from this node's own store, never on the leader's word */
	if (wait_ms)
		wait_txs(e, (const uint8_t (*)[MC_HASH_LEN])q.hashes, n, q.heights, eng_now(e) + wait_ms);
	if (open && !eng_am_leader(e) && !ferr[0])   /* the leader took them: watch that it commits them */
		eng_fwd_watch(e, q.in, (const uint8_t (*)[MC_HASH_LEN])q.hashes, q.heights, n);
	pending_why(e, ferr[0] ? ferr : NULL, said, pending, sizeof(pending));
	eng_http_reply_json(r, 0, txs_result(e, (const uint8_t (*)[MC_HASH_LEN])q.hashes, n, q.heights, pending, &status));
	r->status = wait_ms || status == 422 ? status : 202;
	pthread_mutex_unlock(&e->mu);
out:
	txs_req_free(&q);
}

/* ---- proposals and commits ------------------------------------------------------ */

struct block_at_ctx {
	uint64_t height;
	struct mc_header h;
	struct mc_cert cert;
	bool found;
};

static int block_at_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct block_at_ctx *c = vctx;
	int rc = mc_chain_block(t, c->height, &c->h, &c->cert, err);

	if (rc < 0)
		return -1;
	c->found = rc == 0;
	return 0;
}

/* A proposal for a height this node committed already: when the committed
 * block is another one by the same proposer in the same view, the proposer
 * signed two blocks at that height (a twin racing small blocks past it
 * commits before the other arrives): evidence. chain_mu held. */
static void committed_twin(struct mc_engine *e, const struct mc_bundle *b, const char *who)
{
	struct block_at_ctx *c = calloc(1, sizeof(*c));
	struct mc_err err = { 0 };
	uint8_t hash[MC_HASH_LEN];

	if (!c)
		return;
	c->height = b->h.height;
	if (mc_store_read(e->s, block_at_txn, c, &err) == 0 && c->found)
		mc_block_hash(&c->h, hash);
	if (c->found && c->h.view == b->h.view && memcmp(c->h.proposer, b->h.proposer, MC_PK_LEN) == 0 &&
	    memcmp(hash, b->hash, MC_HASH_LEN) != 0) {
		struct mc_cert own;
		struct mc_buf ev;

		/* the proposer's own vote on the committed block, alone */
		memset(&own, 0, sizeof(own));
		for (uint16_t i = 0; i < c->cert.count; i++)
			if (memcmp(c->cert.votes[i].pk, c->h.proposer, MC_PK_LEN) == 0)
				own.votes[own.count++] = c->cert.votes[i];
		mc_buf_init(&ev);
		mc_evidence_encode(&c->h, &own, &b->h, &b->cert, &ev);
		if (own.count == 1 && eng_evidence(e, ev.data, ev.len, true, &err) == 0)
			mc_log(LOG_WARNING, NULL, "proposal from %s refused: its proposer signed another block at committed height %llu, view %llu (equivocation), kept as evidence",
				      who, (unsigned long long)b->h.height, (unsigned long long)b->h.view);
		mc_buf_release(&ev);
	}
	free(c);
}

/* Signed by its proposer. Another validator may bring it: the new leader
 * of a view change finishing a locked block. */
bool eng_proposal_signed(const struct mc_bundle *b)
{
	uint8_t vmsg[MC_VOTE_MSG_LEN];

	mc_vote_message(b->hash, vmsg);
	return b->cert.count == 1 && memcmp(b->cert.votes[0].pk, b->h.proposer, MC_PK_LEN) == 0 &&
	       mc_sign_verify(b->h.proposer, vmsg, sizeof(vmsg), b->cert.votes[0].sig) == 0;
}

/* The proposal is another block at the height of the lock l, by the same
 * proposer in the same view: both are kept as evidence. */
static void proposal_equivocates(struct mc_engine *e, const struct lock *l, const struct mc_bundle *b,
				 const char *who)
{
	struct mc_err err = { 0 };
	char ph[17], ha[17], hb[17];
	struct mc_bundle lb;
	struct mc_buf ev;

	eng_short_pk(b->h.proposer, ph);
	mc_hex(l->hash, 8, ha);
	mc_hex(b->hash, 8, hb);
	mc_buf_init(&ev);
	if (mc_bundle_decode(l->bundle, l->len, &lb, &err) == 0) {
		mc_evidence_encode(&lb.h, &lb.cert, &b->h, &b->cert, &ev);
		mc_bundle_release(&lb);
		if (eng_evidence(e, ev.data, ev.len, true, &err) != 0)
			mc_log(LOG_ERR, NULL, "cannot keep the evidence: %s", err.msg);
	}
	mc_buf_release(&ev);
	mc_log(LOG_WARNING, NULL, "proposal from %s refused: proposer %s signed two blocks at height %llu, view %llu (equivocation): %s and %s, both kept as evidence",
		      who, ph, (unsigned long long)b->h.height, (unsigned long long)b->h.view, ha, hb);
}

/* One block a height: a validator locked on a block votes for no other at
 * its height, in any view (the new leader of a view change finishes the
 * highest locked block first). True when the lock refuses b (answered in
 * r). chain_mu held. */
static bool proposal_lock_refuses(struct mc_engine *e, const struct mc_bundle *b, const char *who,
				  struct mc_reply *r)
{
	struct mc_err err = { 0 };
	struct lock l;

	if (eng_lock_get(e, &l, &err) != 0) {
		eng_http_reply_text(r, 500, err.msg);
		return true;
	}
	if (l.has && l.height == b->h.height && memcmp(l.hash, b->hash, MC_HASH_LEN) != 0) {
		struct mc_header lh;
		struct mc_rd rd;

		mc_rd_init(&rd, l.bundle, l.len);
		if (mc_header_decode(&rd, &lh, NULL) == 0 && lh.view == b->h.view &&
		    memcmp(lh.proposer, b->h.proposer, MC_PK_LEN) == 0)
			proposal_equivocates(e, &l, b, who);
		else
			mc_log(LOG_WARNING, NULL, "proposal from %s refused: this node is locked on another block at height %llu",
				      who, (unsigned long long)b->h.height);
		eng_lock_release(&l);
		eng_http_reply_text(r, 409, _("this node voted for another block at this height"));
		return true;
	}
	eng_lock_release(&l);
	return false;
}

/* Checks the proposal b fully, stores the lock, and answers with this
 * validator's vote. chain_mu held. */
static void proposal_vote(struct mc_engine *e, const struct mc_bundle *b, const uint8_t *body, size_t len,
			  const char *who, struct mc_reply *r)
{
	struct mc_err err = { 0 };
	struct mc_vote v;

	uint8_t *sig_ok = block_sigs_check(e, b, MC_APPLY_PROPOSAL);
	int rc = eng_apply_block_sigs(e, b, MC_APPLY_PROPOSAL, sig_ok, true, &err);

	free(sig_ok);
	if (rc != 0) {
		char hs[24];

		snprintf(hs, sizeof(hs), "%llu", (unsigned long long)b->h.height);
		mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", who }, { "HEIGHT", hs }, { "REASON", err.msg }),
		       "proposal %llu from %s refused: %s", (unsigned long long)b->h.height, who, err.msg);
		eng_http_reply_text(r, err.code == EX_NOPERM ? 403 : 422, err.msg);
		return;
	}
	/* The lock is on disk before the vote leaves. */
	if (eng_lock_put(e, b->h.height, b->h.view, b->hash, body, len, &err) != 0) {
		/* TEMPFAIL: locked on another block meanwhile (a refusal) */
		mc_log(err.code == EX_TEMPFAIL ? LOG_WARNING : LOG_ERR, NULL, "cannot store the vote lock: %s", err.msg);
		eng_http_reply_text(r, err.code == EX_TEMPFAIL ? 409 : 500, err.msg);
		return;
	}
	{
		const struct mc_key *me = e->node;   /* one key for both halves */

		mc_vote_sign(b->hash, me->sk, me->pk, &v);
	}
	pthread_mutex_lock(&e->mu);
	memcpy(e->checked, b->hash, MC_HASH_LEN);
	e->has_checked = true;
	pthread_mutex_unlock(&e->mu);
	r->status = 200;
	r->ctype = "application/octet-stream";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, v.pk, MC_PK_LEN);
	mc_put_raw(&r->body, v.sig, MC_SIG_LEN);
}

void mc_engine_on_propose(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			  size_t len, struct mc_reply *r)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	char who[17], msg[400];
	uint64_t height, left = 0;

	eng_short_pk(from, who);
	if (mc_bundle_decode(body, len, &b, &err) != 0) {
		mc_log(LOG_WARNING, NULL, "proposal from %s refused: %s", who, err.msg);
		eng_http_reply_text(r, 400, err.msg);
		return;
	}
	if (!eng_proposal_signed(&b)) {
		mc_log(LOG_WARNING, NULL, "proposal from %s refused: it is not signed by its proposer", who);
		eng_http_reply_text(r, 403, _("the proposal is not signed by its proposer"));
		mc_bundle_release(&b);
		return;
	}
	pthread_mutex_lock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	height = e->height;   /* a proposal's height proves nothing: it moves no hint */
	if (eng_vc_left_view(e, b.h.view, from, eng_now(e)))
		left = e->vc_voted;
	pthread_mutex_unlock(&e->mu);
	if (b.h.height != height + 1) {
		if (b.h.height <= height)
			committed_twin(e, &b, who);
		snprintf(msg, sizeof(msg), _("this node is at height %llu"), (unsigned long long)height);
		eng_http_reply_text(r, 409, msg);
	} else if (proposal_lock_refuses(e, &b, who, r)) {
		;   /* answered, and any evidence kept */
	} else if (left) {
		/* the lock would be missing from the vote this node gave */
		mc_log(LOG_INFO, NULL, "proposal %llu from %s refused: this node voted to move to view %llu",
		       (unsigned long long)b.h.height, who, (unsigned long long)left);
		snprintf(msg, sizeof(msg), _("this node voted to move to view %llu"), (unsigned long long)left);
		eng_http_reply_text(r, 409, msg);
	} else {
		proposal_vote(e, &b, body, len, who, r);
	}
	pthread_mutex_unlock(&e->chain_mu);
	mc_bundle_release(&b);
}

struct hash_at_ctx {
	uint64_t height;
	uint8_t hash[MC_HASH_LEN];
	bool found;
};

static int hash_at_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct hash_at_ctx *c = vctx;
	struct mc_header h;
	struct mc_cert cert;
	int rc = mc_chain_block(t, c->height, &h, &cert, err);

	if (rc < 0)
		return -1;
	c->found = rc == 0;
	if (c->found)
		mc_block_hash(&h, c->hash);
	return 0;
}

/* Commits b: its signatures were all checked with the proposal when this
 * node voted for the same block (checked); otherwise each is looked up or
 * verified first (block_sigs_check). chain_mu held. */
static int commit_apply(struct mc_engine *e, const struct mc_bundle *b, bool checked, struct mc_err *err)
{
	uint8_t *sig_ok = checked ? NULL : block_sigs_check(e, b, MC_APPLY_COMMIT);
	int rc = eng_apply_block_sigs(e, b, MC_APPLY_COMMIT | (checked ? MC_APPLY_SIGS_CHECKED : 0), sig_ok, false,
				      err);

	free(sig_ok);
	return rc;
}

void mc_engine_on_commit(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			 size_t len, struct mc_reply *r)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	char who[17];
	uint64_t height;
	bool checked, ahead_ok = false;

	eng_short_pk(from, who);
	if (mc_bundle_decode(body, len, &b, &err) != 0) {
		mc_log(LOG_WARNING, NULL, "commit from %s refused: %s", who, err.msg);
		eng_http_reply_text(r, 400, err.msg);
		return;
	}
	pthread_mutex_lock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	height = e->height;
	checked = e->has_checked && memcmp(e->checked, b.hash, MC_HASH_LEN) == 0;
	/* A block ahead of us moves how far behind we think we are only
	 * when its certificate checks against the set we know. */
	if (b.h.height > height + 1 && memcmp(b.h.chain_id, e->chain_id, MC_HASH_LEN) == 0 &&
	    mc_cert_check(&b.cert, b.hash, (const uint8_t (*)[MC_PK_LEN])e->vals, e->nval, &err) == 0) {
		eng_note_certified(e, b.h.height);
		ahead_ok = true;
	}
	pthread_mutex_unlock(&e->mu);
	if (b.h.height <= height) {
		struct hash_at_ctx c = { b.h.height, { 0 }, false };

		if (mc_store_read(e->s, hash_at_txn, &c, &err) == 0 && c.found &&
		    memcmp(c.hash, b.hash, MC_HASH_LEN) != 0) {
			mc_log(LOG_WARNING, NULL, "commit from %s refused: another block at height %llu than ours (a fork)",
				      who, (unsigned long long)b.h.height);
			eng_http_reply_text(r, 409, _("this node committed another block at that height"));
		} else {
			eng_http_reply_text(r, 200, "ok");
		}
	} else if (b.h.height > height + 1 && ahead_ok) {
		eng_http_reply_text(r, 202, _("behind: catching up"));
	} else if (b.h.height > height + 1) {
		/* a height nobody certified: it moves nothing here */
		mc_log(LOG_WARNING, NULL, "commit %llu from %s refused: %s", (unsigned long long)b.h.height, who,
			      err.msg[0] ? err.msg : _("another chain"));
		eng_http_reply_text(r, 422, err.msg[0] ? err.msg : _("another chain"));
	} else if (commit_apply(e, &b, checked, &err) != 0) {
		char hs[24];

		snprintf(hs, sizeof(hs), "%llu", (unsigned long long)b.h.height);
		mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", who }, { "HEIGHT", hs }, { "REASON", err.msg }),
		       "commit %llu from %s refused: %s", (unsigned long long)b.h.height, who, err.msg);
		eng_http_reply_text(r, 422, err.msg);
	} else {
		pthread_mutex_lock(&e->mu);
		eng_set_commit(e, &b, &b.cert, false);
		eng_after_commit(e, &b);
		pthread_mutex_unlock(&e->mu);
		eng_http_reply_text(r, 200, "ok");
	}
	pthread_mutex_unlock(&e->chain_mu);
	mc_bundle_release(&b);
}


void mc_engine_on_evidence(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body, size_t len,
			   struct mc_reply *r)
{
	struct mc_err err = { 0 };
	char who[17];

	eng_short_pk(from, who);
	if (eng_evidence(e, body, len, false, &err) != 0) {
		mc_log(LOG_WARNING, NULL, "evidence from %s refused: %s", who, err.msg);
		eng_http_reply_text(r, 422, err.msg);
		return;
	}
	mc_log(LOG_WARNING, NULL, "evidence of equivocation from %s checked and kept", who);
	eng_http_reply_text(r, 200, "ok");
}
