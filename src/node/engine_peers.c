/* SPDX-License-Identifier: Apache-2.0 */
/* engine_peers.c - one thread per peer: it delivers the leader's proposals
 * and commits, and polls the peer's status; and the status this node
 * shows (GET /v1/status, serve.status.json). */
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
#include "fileio.h"
#include "i18n.h"
#include "log.h"
#include "identity.h"

/* ---- peers --------------------------------------------------------------- */

/* The peer at url: a live one first, else one that is gone. */
static struct peer *peer_find_url(struct mc_engine *e, const char *url)
{
	struct peer *gone = NULL;

	for (size_t i = 0; i < e->npeers; i++)
		if (strcmp(e->peers[i]->url, url) == 0) {
			if (!e->peers[i]->gone)
				return e->peers[i];
			gone = gone ? gone : e->peers[i];
		}
	return gone;
}

static void peer_add(struct mc_engine *e, const char *url, const uint8_t *pk)
{
	struct peer *p = NULL;

	if (!*url)
		return;
	if ((p = peer_find_url(e, url))) {
		if (pk && p->pk_known && memcmp(p->pk, pk, MC_PK_LEN) != 0) {
			/* another key at this address (NODE_ROTATE): a new peer
			 * thread for it; the old key's ends */
			p->gone = p->stop = true;
		} else {
			if (pk && !p->pk_known) {
				memcpy(p->pk, pk, MC_PK_LEN);
				p->pk_known = true;
			}
			return;
		}
	}
	if (e->npeers == PEERS_MAX || !(p = calloc(1, sizeof(*p))))
		return;
	p->e = e;
	snprintf(p->url, sizeof(p->url), "%s", url);
	if (pk) {
		memcpy(p->pk, pk, MC_PK_LEN);
		p->pk_known = true;
	}
	e->peers[e->npeers++] = p;
	if (pthread_create(&p->th, NULL, eng_peer_main, p) == 0)
		p->started = true;
}

struct peers_ctx {
	struct mc_engine *e;
};

static int add_node_peer(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed,
			 const char *url, void *ctx)
{
	struct mc_engine *e = ctx;

	(void)added;
	if (removed == 0 && memcmp(pk, e->node->pk, MC_PK_LEN) != 0 && url && *url) {
		peer_add(e, url, pk);
	} else if (removed) {
		/* a removed validator is no peer of ours any more */
		for (size_t i = 0; i < e->npeers; i++)
			if (e->peers[i]->pk_known && memcmp(e->peers[i]->pk, pk, MC_PK_LEN) == 0)
				e->peers[i]->gone = e->peers[i]->stop = true;
	}
	return 0;
}

static int peers_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = ((struct peers_ctx *)vctx)->e;

	return mc_nodes_each(t, add_node_peer, e, err);
}

/* The validators' URLs from the chain, and the configured bootstrap URLs.
 * mu held. */
void eng_peers_refresh(struct mc_engine *e)
{
	struct peers_ctx c = { e };
	struct mc_err err = { 0 };
	const char *p = e->c.peers;

	while (p && *p) {
		char url[MC_URL_MAX + 1];
		size_t n = strcspn(p, ",");
		size_t a = 0;

		while (a < n && p[a] == ' ')
			a++;
		if (n - a > 0 && n - a <= MC_URL_MAX) {
			memcpy(url, p + a, n - a);
			url[n - a] = 0;
			while (*url && url[strlen(url) - 1] == ' ')
				url[strlen(url) - 1] = 0;
			while (*url && url[strlen(url) - 1] == '/')
				url[strlen(url) - 1] = 0;
			peer_add(e, url, NULL);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (e->have_chain && mc_store_read(e->s, peers_txn, &c, &err) != 0)
		mc_log(LOG_ERR, NULL, "cannot read the node list: %s", err.msg);
}

bool eng_peer_is_validator(struct mc_engine *e, const struct peer *p)
{
	return p->pk_known && eng_is_validator(e, p->pk);
}

/* A peer's head, with its certificate: checked against the set in force
 * here, it shows how far behind this node really is. A claim that does not
 * check (a lie, or a set changed since) only starts a fetch. mu held. */
static void peer_head_cert(struct mc_engine *e, const char *hex)
{
	size_t n = strlen(hex);
	uint8_t *raw, hash[MC_HASH_LEN];
	struct mc_header h;
	struct mc_cert cert;
	struct mc_rd rd;

	if (n == 0 || n % 2 || n > 2 * (MC_HEADER_LEN + 2 + MC_MAX_VALIDATORS * 96) || !(raw = malloc(n / 2)))
		return;
	if (mc_unhex(hex, raw, n / 2) == 0) {
		mc_rd_init(&rd, raw, n / 2);
		if (mc_header_decode(&rd, &h, NULL) == 0 && mc_cert_decode(&rd, &cert, NULL) == 0 && mc_rd_finish(&rd) &&
		    h.height > e->height && memcmp(h.chain_id, e->chain_id, MC_HASH_LEN) == 0) {
			mc_block_hash(&h, hash);
			if (mc_cert_check(&cert, hash, (const uint8_t (*)[MC_PK_LEN])e->vals, e->nval, NULL) == 0)
				eng_note_certified(e, h.height);
		}
	}
	free(raw);
}

static void peer_status_parse(struct peer *p, const struct mc_peer_resp *r)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->len);
	const cJSON *x;

	if (!j) {
		snprintf(p->error, sizeof(p->error), "%s", _("malformed status"));
		return;
	}
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "head_cert")) && cJSON_IsString(x) && p->e->have_chain)
		peer_head_cert(p->e, x->valuestring);
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "height")) && cJSON_IsNumber(x) && x->valuedouble >= 0)
		p->height = (uint64_t)x->valuedouble;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "view")) && cJSON_IsNumber(x) && x->valuedouble >= 0)
		p->view = (uint64_t)x->valuedouble;
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "head")) && cJSON_IsString(x) &&
	    strlen(x->valuestring) == 2 * MC_HASH_LEN && mc_unhex(x->valuestring, p->head, MC_HASH_LEN) != 0)
		memset(p->head, 0, MC_HASH_LEN);
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "leader")) && cJSON_IsString(x) &&
	    strlen(x->valuestring) == 2 * MC_PK_LEN && mc_unhex(x->valuestring, p->leader, MC_PK_LEN) != 0)
		memset(p->leader, 0, MC_PK_LEN);
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "version")) && cJSON_IsString(x))
		snprintf(p->version, sizeof(p->version), "%s", x->valuestring);
	if ((x = cJSON_GetObjectItemCaseSensitive(j, "name")) && cJSON_IsString(x))
		snprintf(p->name, sizeof(p->name), "%s", x->valuestring);
	cJSON_Delete(j);
	p->error[0] = 0;
}

/* POSTs a copy of buf (the engine's, which may change meanwhile) to p with
 * mu released during the call. 0 with *r to release, or -1 (the peer
 * marked down). mu held on entry and exit. */
static int peer_post(struct peer *p, void *cl, const char *path, const struct mc_buf *buf,
		     struct mc_peer_resp *r)
{
	struct mc_engine *e = p->e;
	size_t len = buf->len;
	uint8_t *copy = malloc(len ? len : 1), chain[MC_HASH_LEN];
	struct mc_err err = { 0 };
	int rc;

	if (!copy)
		return -1;
	memcpy(copy, buf->data, len);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	rc = e->tr.send(cl, chain, e->node, p->url, path, copy, len, p->pk, PEER_TIMEOUT_MS, 4096, r,
			  &err);
	free(copy);
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		snprintf(p->error, sizeof(p->error), "%.150s", err.msg);
		p->up = false;
	}
	return rc;
}

/* Whether p is sent the newest commit now: it is behind as far as this
 * node knows, and either this node gathered the block's certificate (sent
 * again, once p answers a poll, when the send failed) or a status of p
 * polled since this node committed still shows it behind. mu held. */
static bool commit_due(const struct peer *p)
{
	const struct mc_engine *e = p->e;

	if (!p->pk_known || !e->commit.len)
		return false;
	if (e->commit_ours && e->commit_height <= p->sent_commit)   /* the last send failed: again once p answers */
		return p->commit_failed && p->up && p->height < e->commit_height;
	if (e->commit_height <= p->sent_commit)
		return false;
	if (e->commit_ours)
		return !p->up || p->height < e->commit_height;
	return p->up && p->last_seen_ms > e->commit_ms && p->height < e->commit_height;
}

/* Sends the current proposal to p and adds its vote. mu held on entry and
 * exit; released during the call. */
static void peer_propose(struct peer *p, void *cl)
{
	struct mc_engine *e = p->e;
	uint64_t seq = e->prop_seq;
	uint8_t hash[MC_HASH_LEN];
	struct mc_peer_resp r;

	p->sent_prop = seq;
	memcpy(hash, e->prop_hash, MC_HASH_LEN);
	if (peer_post(p, cl, "/v1/propose", &e->prop, &r) != 0)
		return;
	if (r.status == 200 && r.len == MC_PK_LEN + MC_SIG_LEN && seq == e->prop_seq &&
	    memcmp(r.body, p->pk, MC_PK_LEN) == 0) {
		struct mc_vote v;
		uint8_t msg[MC_VOTE_MSG_LEN];
		bool dup = false;

		memcpy(v.pk, r.body, MC_PK_LEN);
		memcpy(v.sig, r.body + MC_PK_LEN, MC_SIG_LEN);
		mc_vote_message(hash, msg);
		for (size_t i = 0; i < e->nvotes; i++)
			dup = dup || memcmp(e->votes[i].pk, v.pk, MC_PK_LEN) == 0;
		if (!dup && mc_sign_verify(v.pk, msg, sizeof(msg), v.sig) == 0 && e->nvotes < MC_MAX_VALIDATORS) {
			e->votes[e->nvotes++] = v;
			pthread_cond_broadcast(&e->cv);
		}
	} else if (r.status != 200) {
		snprintf(p->error, sizeof(p->error), "%.*s", (int)(r.len < 150 ? r.len : 150), (const char *)r.body);
		if (r.status == 409)
			p->sent_prop = seq;   /* it is behind or has moved on: it will sync */
		if (r.status >= 400 && r.status < 500 && seq == e->prop_seq) {
			e->nrefused++;   /* this proposal will not get its vote */
			pthread_cond_broadcast(&e->cv);
		}
	}
	mc_peer_resp_release(&r);
}

static void peer_send_commit(struct peer *p, void *cl)
{
	struct mc_engine *e = p->e;
	uint64_t h = e->commit_height;
	struct mc_peer_resp r;

	p->sent_commit = h;
	p->commit_failed = true;
	if (peer_post(p, cl, "/v1/commit", &e->commit, &r) != 0)
		return;
	p->commit_failed = false;
	if (r.status == 200 && p->height < h)
		p->height = h;
	mc_peer_resp_release(&r);
}

static void peer_poll(struct peer *p, void *cl)
{
	struct mc_engine *e = p->e;
	uint8_t chain[MC_HASH_LEN];
	struct mc_peer_resp r;
	struct mc_err err = { 0 };
	bool known = p->pk_known;
	uint8_t pk[MC_PK_LEN];
	int rc;

	memcpy(pk, p->pk, MC_PK_LEN);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	rc = e->tr.fetch(cl, chain, e->node, p->url, "/v1/status", known ? pk : NULL,
			  PEER_TIMEOUT_MS, 1u << 20, &r, &err);
	if (rc == 0 && (r.status == 401 || r.status == 403) && e->c.pending) {
		/* refused under the node's key: its rotation may be on the chain */
		mc_peer_resp_release(&r);
		rc = e->tr.fetch(cl, chain, e->c.pending, p->url, "/v1/status", known ? pk : NULL,
				  PEER_TIMEOUT_MS, 1u << 20, &r, &err);
	}
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		if (p->up || !p->error[0])
			mc_log(LOG_WARNING, MC_LOG_FIELDS({ "PEER", p->url }, { "REASON", err.msg }), "peer %s: %s", p->url,
			       err.msg);
		snprintf(p->error, sizeof(p->error), "%.150s", err.msg);
		p->up = false;
		return;
	}
	if (memcmp(r.pk, e->node->pk, MC_PK_LEN) == 0) {
		p->gone = p->stop = true;   /* our own address in [node] peers */
		mc_peer_resp_release(&r);
		return;
	}
	if (r.status == 200) {
		if (!p->pk_known) {
			memcpy(p->pk, r.pk, MC_PK_LEN);
			p->pk_known = true;
		}
		if (!p->up)
			mc_log(LOG_NOTICE, MC_LOG_FIELDS({ "PEER", p->url }), "peer %s is up", p->url);
		p->up = true;
		p->last_seen_ms = eng_now(e);
		if (memcmp(p->pk, e->leader, MC_PK_LEN) == 0)
			e->leader_seen_ms = p->last_seen_ms;
		peer_status_parse(p, &r);
		if (p->height > e->height)
			pthread_cond_broadcast(&e->cv);   /* a claim: the engine may fetch */
	} else {
		snprintf(p->error, sizeof(p->error), "HTTP %ld: %.*s", r.status,
			 (int)(r.len < 120 ? r.len : 120), (const char *)r.body);
		p->up = false;
	}
	mc_peer_resp_release(&r);
}

void *eng_peer_main(void *arg)
{
	struct peer *p = arg;
	struct mc_engine *e = p->e;
	void *cl = NULL;
	uint64_t next_poll = 0;

	if (!(cl = eng_client_open(e)))
		return NULL;
	pthread_mutex_lock(&e->mu);
	while (!e->stop && !p->stop) {
		uint64_t now = eng_now(e);

		/* The last commit goes before the next proposal: a validator
		 * checks a proposal only on top of the block before it. */
		if (commit_due(p)) {
			peer_send_commit(p, cl);
		} else if (p->pk_known && eng_peer_is_validator(e, p) && e->prop_seq > p->sent_prop && e->prop.len) {
			peer_propose(p, cl);
		} else if (now >= next_poll) {
			peer_poll(p, cl);
			next_poll = eng_now(e) + POLL_MS;
		} else {
			eng_wait_until(e, next_poll);
		}
	}
	pthread_mutex_unlock(&e->mu);
	eng_client_close(e, cl);
	return NULL;
}

/* The node's own status as JSON (machine names, never translated). mu held. */
cJSON *eng_peers_status_json(struct mc_engine *e)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "name", e->c.name ? e->c.name : "");
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	eng_add_hex(j, "node", e->node->pk, MC_PK_LEN);
	eng_add_hex(j, "chain_id", e->chain_id, MC_HASH_LEN);
	cJSON_AddNumberToObject(j, "height", e->have_chain ? (double)e->height : -1);
	eng_add_hex(j, "head", e->head, MC_HASH_LEN);
	if (e->head_cert.len && e->head_cert.len <= MC_HEADER_LEN + 2 + MC_MAX_VALIDATORS * 96) {
		char hex[2 * (MC_HEADER_LEN + 2 + MC_MAX_VALIDATORS * 96) + 1];

		mc_hex(e->head_cert.data, e->head_cert.len, hex);
		cJSON_AddStringToObject(j, "head_cert", hex);
	}
	cJSON_AddNumberToObject(j, "view", (double)e->view);
	eng_add_hex(j, "leader", e->leader, MC_PK_LEN);
	cJSON_AddBoolToObject(j, "validator", eng_is_validator(e, e->node->pk));
	cJSON_AddNumberToObject(j, "validators", (double)e->nval);
	cJSON_AddNumberToObject(j, "pending", (double)e->mp_n);
	cJSON_AddNumberToObject(j, "uptime_s", (double)((eng_now(e) - e->started_ms) / 1000));
	cJSON_AddNumberToObject(j, "time_ms", (double)eng_now(e));
	return j;
}

cJSON *eng_peers_json(struct mc_engine *e)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < e->npeers; i++) {
		const struct peer *p = e->peers[i];
		cJSON *o;

		if (p->gone)
			continue;
		if (!(o = cJSON_CreateObject()))
			break;
		cJSON_AddStringToObject(o, "url", p->url);
		if (p->pk_known)
			eng_add_hex(o, "node", p->pk, MC_PK_LEN);
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddBoolToObject(o, "up", p->up);
		cJSON_AddNumberToObject(o, "height", (double)p->height);
		eng_add_hex(o, "head", p->head, MC_HASH_LEN);
		cJSON_AddNumberToObject(o, "view", (double)p->view);
		eng_add_hex(o, "leader", p->leader, MC_PK_LEN);
		cJSON_AddStringToObject(o, "version", p->version);
		cJSON_AddNumberToObject(o, "last_seen_ms", (double)p->last_seen_ms);
		cJSON_AddStringToObject(o, "error", p->error);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* The console reads this file: it never talks to the network itself.
 * mu held on entry and exit; released while the file is written and
 * synced, so that no vote, proposal or tx waits on that fsync. */
void eng_peers_write_status(struct mc_engine *e)
{
	cJSON *j;
	char *text;

	if (!e->c.status_file)
		return;
	j = eng_peers_status_json(e);
	if (!j)
		return;
	cJSON_AddItemToObject(j, "peers", eng_peers_json(e));
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text)
		return;
	pthread_mutex_unlock(&e->mu);
	/* best effort: the next tick writes it again */
	(void)mc_file_write_atomic(e->c.status_file, text, strlen(text), &(struct mc_file_opts){ .mode = 0644 },
				   NULL);
	pthread_mutex_lock(&e->mu);
	free(text);
}


void mc_engine_health(struct mc_engine *e, struct mc_engine_health *out)
{
	uint64_t now = eng_now(e);

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->mu);
	out->have_chain = e->have_chain;
	out->height = e->height;
	out->certified = e->height;
	/* a certificate checked here for a higher block, while it is fresh */
	if (e->cert_hint > e->height && now - e->cert_hint_ms < CERT_HINT_TTL_MS)
		out->certified = e->cert_hint;
	out->view = e->view;
	out->leader = e->have_chain && eng_am_leader(e);
	out->validator = eng_is_validator(e, e->node->pk);
	out->nval = e->nval;
	out->quorum = e->nval ? mc_quorum(e->nval) : 0;
	for (size_t v = 0; v < e->nval; v++) {
		bool up = memcmp(e->vals[v], e->node->pk, MC_PK_LEN) == 0;

		for (size_t i = 0; i < e->npeers && !up; i++) {
			const struct peer *p = e->peers[i];

			up = !p->gone && p->up && p->pk_known && memcmp(p->pk, e->vals[v], MC_PK_LEN) == 0;
		}
		out->up += up;
	}
	out->pending = e->mp_n;
	out->pending_bytes = e->mp_bytes;
	out->uptime_ms = now - e->started_ms;
	snprintf(out->name, sizeof(out->name), "%s", e->c.name ? e->c.name : "");
	pthread_mutex_unlock(&e->mu);
}
