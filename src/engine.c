#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "chain.h"
#include "engine.h"
#include "i18n.h"
#include "identity.h"
#include "peer.h"
#include "replica.h"
#include "valset.h"

#define PEERS_MAX (MC_MAX_VALIDATORS + 16)
#define REFUSALS 4096
#define VOTE_WAIT_MS 3000
#define PEER_TIMEOUT_MS 3000
#define POLL_MS 500
#define SYNC_BATCH 256
#define SYNC_BYTES_MAX (32u * 1024 * 1024)
#define RATE_PER_S 500.0
#define RATE_BURST 1000.0

static const char LOCK_KEY[] = "lock";
static const char JOIN_KEY[] = "join";

struct mp_item {
	uint8_t *bytes;               /* tx || side rows */
	size_t tx_len, side_len;
	uint8_t hash[MC_HASH_LEN];
	uint8_t status;
	uint64_t added_ms;
};

struct refusal {
	uint8_t hash[MC_HASH_LEN];
	char msg[240];
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
	/* what its status said, and when */
	bool up;
	uint64_t height, view, last_seen_ms;
	uint8_t head[MC_HASH_LEN], leader[MC_PK_LEN];
	char version[32], name[MC_NAME_MAX + 1], error[160];
};

struct mc_engine {
	struct mc_engine_conf c;
	struct mc_store *s;
	const struct mc_key *node;
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
	uint64_t sync_hint;            /* the highest height a peer has shown */

	struct mp_item **mp;
	size_t mp_n, mp_cap;
	struct refusal refusals[REFUSALS];
	size_t ref_next;

	/* the leader's proposal in flight */
	uint64_t prop_seq;
	struct mc_buf prop;
	uint8_t prop_hash[MC_HASH_LEN];
	uint64_t prop_height, prop_view;
	bool prop_relay;              /* another proposer's locked block, finished by us */
	struct mc_vote votes[MC_MAX_VALIDATORS];
	size_t nvotes;
	/* the newest committed block, for the peers */
	struct mc_buf commit;
	uint64_t commit_height;
	/* a validator's last checked proposal */
	uint8_t checked[MC_HASH_LEN];
	bool has_checked;

	/* view changes: the highest view this node voted to move to, and a
	 * change this node was handed as the new leader */
	uint64_t vc_voted;
	uint8_t vc_voted_leader[MC_PK_LEN];
	struct mc_buf vc_body, vc_relay;
	uint64_t vc_view;
	uint64_t leader_seen_ms, last_vc_try_ms;
	int test_crash;               /* MEDCHAIN_TEST_CRASH: 1 leader-after-votes,
				       * 2 leader-after-commit (tests only) */

	struct peer *peers[PEERS_MAX];
	size_t npeers;
	struct rate rates[PEERS_MAX];
	struct mc_replay *replay;
	uint64_t last_status_write;
};

static void peers_refresh(struct mc_engine *e);
static void reply_text(struct mc_reply *r, unsigned status, const char *msg);

void mc_engine_log(const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ medchain serve: ", ts, now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void short_pk(const uint8_t pk[MC_PK_LEN], char out[17])
{
	mc_hex(pk, 8, out);
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
	return 0;
}

/* Reloads the cached head, set and leader; call with mu held. */
static int cache_load(struct mc_engine *e, struct mc_err *err)
{
	struct cache_ctx c = { e };

	return mc_store_read(e->s, cache_txn, &c, err);
}

static bool is_validator(const struct mc_engine *e, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < e->nval; i++)
		if (memcmp(e->vals[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

static bool am_leader(const struct mc_engine *e)
{
	return e->have_chain && memcmp(e->leader, e->node->pk, MC_PK_LEN) == 0;
}

/* ---- the vote lock -------------------------------------------------------- */

struct lock {
	bool has;
	uint64_t height, view;
	uint8_t hash[MC_HASH_LEN];
	uint8_t *bundle;   /* malloc'd */
	size_t len;
};

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

static int lock_get(struct mc_engine *e, struct lock *l, struct mc_err *err)
{
	struct lock_ctx c = { l, NULL, 0 };

	return mc_store_read(e->s, lock_get_txn, &c, err);
}

static void lock_release(struct lock *l)
{
	free(l->bundle);
	memset(l, 0, sizeof(*l));
}

static int lock_put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct lock_ctx *c = vctx;
	void *p;

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
static int lock_put(struct mc_engine *e, uint64_t height, uint64_t view, const uint8_t hash[MC_HASH_LEN],
		    const uint8_t *bundle, size_t len, struct mc_err *err)
{
	struct lock l = { true, height, view, { 0 }, NULL, 0 };
	struct lock_ctx c = { &l, bundle, len };

	memcpy(l.hash, hash, MC_HASH_LEN);
	return mc_store_write(e->s, lock_put_txn, &c, err);
}

/* ---- applying blocks --------------------------------------------------------- */

struct apply_ctx {
	const struct mc_bundle *b;
	unsigned flags;
	bool check_only, checked;
};

static int apply_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct apply_ctx *c = vctx;

	c->checked = false;
	if (mc_block_apply(t, c->b, c->flags, mc_now_ms(), err) != 0)
		return -1;
	if (c->check_only) {
		c->checked = true;
		return -1;   /* abort: a proposal is checked, never stored */
	}
	return 0;
}

/* Checks (check_only) or commits one block; call with chain_mu held. */
static int apply_block(struct mc_engine *e, const struct mc_bundle *b, unsigned flags, bool check_only,
		       struct mc_err *err)
{
	struct apply_ctx c = { b, flags, check_only, false };
	int rc = mc_store_write(e->s, apply_txn, &c, err);

	if (check_only)
		return c.checked ? 0 : -1;
	return rc;
}

static void remember_refusal(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN], const char *msg)
{
	struct refusal *r = &e->refusals[e->ref_next++ % REFUSALS];

	memcpy(r->hash, hash, MC_HASH_LEN);
	snprintf(r->msg, sizeof(r->msg), "%.230s", msg);
}

static const char *refusal_of(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	for (size_t i = 0; i < REFUSALS; i++)
		if (e->refusals[i].msg[0] && memcmp(e->refusals[i].hash, hash, MC_HASH_LEN) == 0)
			return e->refusals[i].msg;
	return NULL;
}

struct gone_ctx {
	struct mc_engine *e;
};

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
		if (rc == 0 || e->mp[i]->status == MC_TXIN_REFUSED) {
			free(e->mp[i]->bytes);
			free(e->mp[i]);
		} else {
			e->mp[k++] = e->mp[i];
		}
	}
	e->mp_n = k;
	return 0;
}

/* After a commit: the cache, the mempool, and everyone waiting. mu held. */
static void after_commit(struct mc_engine *e)
{
	struct mc_err err = { 0 };
	struct gone_ctx g = { e };
	uint64_t old_epoch = e->epoch;

	if (cache_load(e, &err) != 0)
		mc_engine_log("cannot read the chain: %s", err.msg);
	if (mc_store_read(e->s, drop_committed_txn, &g, &err) != 0)
		mc_engine_log("cannot tidy the pending txs: %s", err.msg);
	e->leader_seen_ms = mc_now_ms();   /* the chain moves: its leader lives */
	if (e->epoch != old_epoch) {
		mc_engine_log("the validator set changed: %zu validators", e->nval);
		peers_refresh(e);
	}
	pthread_cond_broadcast(&e->cv);
}

static void set_commit(struct mc_engine *e, const struct mc_bundle *b, const struct mc_cert *cert)
{
	mc_buf_reset(&e->commit);
	mc_bundle_encode(&b->h, cert, b->txs, b->count, &e->commit);
	e->commit_height = b->h.height;
}

/* ---- peers --------------------------------------------------------------- */

static void *peer_main(void *arg);

static struct peer *peer_find_url(struct mc_engine *e, const char *url)
{
	for (size_t i = 0; i < e->npeers; i++)
		if (strcmp(e->peers[i]->url, url) == 0)
			return e->peers[i];
	return NULL;
}

static void peer_add(struct mc_engine *e, const char *url, const uint8_t *pk)
{
	struct peer *p = NULL;

	if (!*url || (p = peer_find_url(e, url))) {
		if (p && pk && !p->pk_known) {
			memcpy(p->pk, pk, MC_PK_LEN);
			p->pk_known = true;
		}
		return;
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
	if (pthread_create(&p->th, NULL, peer_main, p) == 0)
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
	if (removed == 0 && memcmp(pk, e->node->pk, MC_PK_LEN) != 0 && url && *url)
		peer_add(e, url, pk);
	return 0;
}

static int peers_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = ((struct peers_ctx *)vctx)->e;

	return mc_nodes_each(t, add_node_peer, e, err);
}

/* The validators' URLs from the chain, and the configured bootstrap URLs.
 * mu held. */
static void peers_refresh(struct mc_engine *e)
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
		mc_engine_log("cannot read the node list: %s", err.msg);
}

static bool peer_is_validator(struct mc_engine *e, const struct peer *p)
{
	return p->pk_known && is_validator(e, p->pk);
}

static void peer_status_parse(struct peer *p, const struct mc_peer_resp *r)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->len);
	const cJSON *x;

	if (!j) {
		snprintf(p->error, sizeof(p->error), "%s", _("malformed status"));
		return;
	}
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

/* Sends the current proposal to p and adds its vote. mu held on entry and
 * exit; released during the call. */
static void peer_propose(struct peer *p, struct mc_peer_client *cl)
{
	struct mc_engine *e = p->e;
	uint64_t seq = e->prop_seq;
	uint8_t hash[MC_HASH_LEN], chain[MC_HASH_LEN];
	size_t len = e->prop.len;
	uint8_t *copy = malloc(len ? len : 1);
	struct mc_peer_resp r;
	struct mc_err err = { 0 };
	int rc;

	p->sent_prop = seq;
	if (!copy)
		return;
	memcpy(copy, e->prop.data, len);
	memcpy(hash, e->prop_hash, MC_HASH_LEN);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	rc = mc_peer_call(cl, chain, e->node, p->url, "POST", "/v1/propose", copy, len, p->pk,
			  PEER_TIMEOUT_MS, 4096, &r, &err);
	free(copy);
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		snprintf(p->error, sizeof(p->error), "%.150s", err.msg);
		p->up = false;
		return;
	}
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
	}
	mc_peer_resp_release(&r);
}

static void peer_send_commit(struct peer *p, struct mc_peer_client *cl)
{
	struct mc_engine *e = p->e;
	uint64_t h = e->commit_height;
	size_t len = e->commit.len;
	uint8_t *copy = malloc(len ? len : 1), chain[MC_HASH_LEN];
	struct mc_peer_resp r;
	struct mc_err err = { 0 };
	int rc;

	p->sent_commit = h;
	if (!copy)
		return;
	memcpy(copy, e->commit.data, len);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	rc = mc_peer_call(cl, chain, e->node, p->url, "POST", "/v1/commit", copy, len, p->pk,
			  PEER_TIMEOUT_MS, 4096, &r, &err);
	free(copy);
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		snprintf(p->error, sizeof(p->error), "%.150s", err.msg);
		p->up = false;
		return;
	}
	if (r.status == 200 && p->height < h)
		p->height = h;
	mc_peer_resp_release(&r);
}

static void peer_poll(struct peer *p, struct mc_peer_client *cl)
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
	rc = mc_peer_call(cl, chain, e->node, p->url, "GET", "/v1/status", NULL, 0, known ? pk : NULL,
			  PEER_TIMEOUT_MS, 1u << 20, &r, &err);
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		if (p->up || !p->error[0])
			mc_engine_log("peer %s: %s", p->url, err.msg);
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
			mc_engine_log("peer %s is up", p->url);
		p->up = true;
		p->last_seen_ms = mc_now_ms();
		if (memcmp(p->pk, e->leader, MC_PK_LEN) == 0)
			e->leader_seen_ms = p->last_seen_ms;
		peer_status_parse(p, &r);
		if (p->height > e->sync_hint) {
			e->sync_hint = p->height;
			pthread_cond_broadcast(&e->cv);
		}
	} else {
		snprintf(p->error, sizeof(p->error), "HTTP %ld: %.*s", r.status,
			 (int)(r.len < 120 ? r.len : 120), (const char *)r.body);
		p->up = false;
	}
	mc_peer_resp_release(&r);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct mc_engine *e = p->e;
	struct mc_peer_client *cl = NULL;
	struct mc_err err = { 0 };
	uint64_t next_poll = 0;

	if (mc_peer_client_new(e->c.ca_file, &cl, &err) != 0) {
		mc_engine_log("%s", err.msg);
		return NULL;
	}
	pthread_mutex_lock(&e->mu);
	while (!e->stop && !p->stop) {
		uint64_t now = mc_now_ms();

		/* The last commit goes before the next proposal: a validator
		 * checks a proposal only on top of the block before it. */
		if (p->pk_known && e->commit_height > p->sent_commit && e->commit.len &&
		    (!p->up || p->height < e->commit_height)) {
			peer_send_commit(p, cl);
		} else if (p->pk_known && peer_is_validator(e, p) && e->prop_seq > p->sent_prop && e->prop.len) {
			peer_propose(p, cl);
		} else if (now >= next_poll) {
			peer_poll(p, cl);
			next_poll = mc_now_ms() + POLL_MS;
		} else {
			struct timespec ts;
			uint64_t until = next_poll;

			ts.tv_sec = (time_t)(until / 1000);
			ts.tv_nsec = (long)(until % 1000) * 1000000L;
			pthread_cond_timedwait(&e->cv, &e->mu, &ts);
		}
	}
	pthread_mutex_unlock(&e->mu);
	mc_peer_client_free(cl);
	return NULL;
}

/* ---- the leader ---------------------------------------------------------- */

#define DEFER_MAX_MS 60000

/* Drops refused txs, and txs whose sequence gap has not closed in a
 * minute. mu held; only the engine thread removes. */
static void purge_pool(struct mc_engine *e)
{
	uint64_t now = mc_now_ms();
	size_t k = 0;

	for (size_t i = 0; i < e->mp_n; i++) {
		struct mp_item *it = e->mp[i];

		if (it->status == MC_TXIN_DEFERRED && now - it->added_ms > DEFER_MAX_MS) {
			remember_refusal(e, it->hash, _("an earlier sequence number of its author never arrived"));
			it->status = MC_TXIN_REFUSED;
		}
		if (it->status == MC_TXIN_REFUSED) {
			free(it->bytes);
			free(it);
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
	size_t n;
	struct mc_header h;
	struct mc_buf *out;
	bool built;
};

/* Called without mu: the reason is kept in the build's own array. */
static void on_refused(size_t index, const struct mc_err *why, void *ctx)
{
	struct build_ctx *c = ctx;

	free(c->why[index]);
	c->why[index] = strdup(why->msg);
}

static int build_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct build_ctx *c = vctx;
	int rc;

	c->built = false;
	do {
		rc = mc_block_build(t, c->e->node->pk, c->in, c->n, c->status, c->e->c.max_block_txs,
				    mc_now_ms(), on_refused, c, &c->h, err);
		if (rc == MC_BUILD_RETRY)
			return MC_BUILD_RETRY;
	} while (0);
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
		mc_vote_sign(hash, c->e->node->sk, c->e->node->pk, &none.votes[0]);
		mc_buf_reset(c->out);
		mc_bundle_encode(&c->h, &none, picked, k, c->out);
		free(picked);
	}
	c->built = true;
	return -1;   /* never stored here: the block is stored with its certificate */
}

/* Builds a proposal from the pending txs into e->prop. mu held (released
 * while building). 0 with a proposal, 1 when there is nothing to propose. */
static int make_proposal(struct mc_engine *e, const struct mc_txin *first, struct mc_err *err)
{
	struct build_ctx c;
	size_t n = e->mp_n, k = first ? 1 : 0;
	bool first_refused = false;
	int rc;

	if (n + k == 0)
		return 1;
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.n = n + k;
	c.in = calloc(n + k, sizeof(*c.in));
	c.status = calloc(n + k, 1);
	c.why = calloc(n + k, sizeof(*c.why));
	c.out = &e->prop;
	if (!c.in || !c.status || !c.why) {
		free(c.in);
		free(c.status);
		free(c.why);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	if (first) {
		/* a VIEW_CHANGE goes first: the new leader's first block */
		c.in[0] = *first;
		c.status[0] = MC_TXIN_PENDING;
	}
	for (size_t i = 0; i < n; i++) {
		c.in[k + i].tx = e->mp[i]->bytes;
		c.in[k + i].tx_len = e->mp[i]->tx_len;
		c.in[k + i].side = e->mp[i]->bytes + e->mp[i]->tx_len;
		c.in[k + i].side_len = e->mp[i]->side_len;
		c.status[k + i] = e->mp[i]->status == MC_TXIN_DEFERRED ? MC_TXIN_DEFERRED : MC_TXIN_PENDING;
	}
	/* Items are only removed by this thread, so the snapshot stays valid
	 * while others append. */
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->chain_mu);
	for (int attempt = 0; attempt < 1000; attempt++) {
		mc_err_clear(err);
		rc = mc_store_write(e->s, build_txn, &c, err);
		if (c.built)
			break;
		/* a refused tx: build again without it */
		if (err->code)
			break;
	}
	pthread_mutex_unlock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	if (first && c.status[0] != MC_TXIN_IN) {
		first_refused = true;
		mc_engine_log("the view change was refused: %s", c.why[0] ? c.why[0] : "");
	}
	for (size_t i = 0; i < n; i++) {
		e->mp[i]->status = c.status[k + i];
		if (c.status[k + i] == MC_TXIN_REFUSED) {
			char hex[17];

			mc_hex(e->mp[i]->hash, 8, hex);
			remember_refusal(e, e->mp[i]->hash, c.why[k + i] ? c.why[k + i] : _("refused"));
			mc_engine_log("tx %s refused: %s", hex, c.why[k + i] ? c.why[k + i] : "");
		}
	}
	for (size_t i = 0; i < n + k; i++)
		free(c.why[i]);
	free(c.in);
	free(c.status);
	free(c.why);
	purge_pool(e);
	if (first_refused) {
		mc_buf_reset(&e->prop);
		return -1;
	}
	if (!c.built)
		return err->code ? -1 : 1;
	(void)rc;
	if (c.h.tx_count == 0) {
		mc_buf_reset(&e->prop);
		pthread_cond_broadcast(&e->cv);  /* refusals reach their waiters */
		return 1;
	}
	mc_block_hash(&c.h, e->prop_hash);
	e->prop_height = c.h.height;
	e->prop_view = c.h.view;
	e->prop_relay = false;
	return 0;
}

/* Sends e->prop to the validators, waits for a quorum, commits. mu held. */
static int run_proposal(struct mc_engine *e, struct mc_err *err)
{
	struct mc_bundle b;
	struct mc_cert cert;
	struct mc_vote own;
	struct timespec ts;
	uint64_t until;
	size_t quorum = e->nval * 2 / 3 + 1;
	int rc;

	if (lock_put(e, e->prop_height, e->prop_view, e->prop_hash, e->prop.data, e->prop.len, err) != 0)
		return -1;
	mc_vote_sign(e->prop_hash, e->node->sk, e->node->pk, &own);
	e->votes[0] = own;
	e->nvotes = 1;
	e->prop_seq++;
	pthread_cond_broadcast(&e->cv);
	until = mc_now_ms() + VOTE_WAIT_MS;
	while (e->nvotes < quorum && !e->stop && mc_now_ms() < until) {
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
	if (e->nvotes < quorum) {
		mc_engine_log("block %llu: %zu of %zu votes, %zu needed; proposing it again",
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
		mc_engine_log("test: exiting with a quorum of votes and nothing committed");
		_exit(137);
	}
	if (mc_bundle_decode(e->prop.data, e->prop.len, &b, err) != 0)
		return -1;
	b.cert = cert;
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&e->chain_mu);
	rc = apply_block(e, &b, MC_APPLY_COMMIT | MC_APPLY_SIGS_CHECKED, false, err);
	pthread_mutex_unlock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	if (rc == 0 && e->test_crash == 2) {
		mc_engine_log("test: exiting with a block committed here and sent nowhere");
		_exit(137);
	}
	if (rc == 0) {
		set_commit(e, &b, &cert);
		mc_buf_reset(&e->prop);
		after_commit(e);
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
		if (head.empty)
			rc = c->expect ? mc_block_apply_genesis(t, &b, c->expect, err)
				       : mc_err_set(err, EX_DATAERR, _("no chain id to join"));
		else
			rc = mc_block_apply(t, &b, MC_APPLY_COMMIT, mc_now_ms(), err);
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

/* Pulls the blocks after our head from a peer that has them. mu held. */
static void sync_from_peers(struct mc_engine *e, struct mc_peer_client *cl)
{
	struct join_ctx j = { { 0 }, false };
	struct mc_err err = { 0 };

	if (!e->have_chain && (mc_store_read(e->s, join_txn, &j, &err) != 0 || !j.has))
		return;
	for (size_t i = 0; i < e->npeers && !e->stop; i++) {
		struct peer *p = e->peers[i];
		uint64_t from = e->have_chain ? e->height + 1 : 0;
		char path[96], url[MC_URL_MAX + 1];
		uint8_t chain[MC_HASH_LEN];
		struct mc_peer_resp r;
		struct sync_ctx sc;
		int rc;

		if (p->gone || !p->up || p->height < from)
			continue;
		snprintf(path, sizeof(path), "/v1/blocks?from=%llu&max=%u", (unsigned long long)from, SYNC_BATCH);
		snprintf(url, sizeof(url), "%s", p->url);
		memcpy(chain, e->have_chain ? e->chain_id : j.id, MC_HASH_LEN);
		pthread_mutex_unlock(&e->mu);
		rc = mc_peer_call(cl, chain, e->node, url, "GET", path, NULL, 0, NULL, 30000,
				  SYNC_BYTES_MAX + (64u << 20), &r, &err);
		if (rc == 0 && r.status == 200) {
			memset(&sc, 0, sizeof(sc));
			sc.e = e;
			sc.p = r.body;
			sc.n = r.len;
			sc.expect = e->have_chain ? NULL : j.id;
			pthread_mutex_lock(&e->chain_mu);
			rc = mc_store_write(e->s, sync_txn, &sc, &err);
			pthread_mutex_unlock(&e->chain_mu);
			if (rc != 0)
				mc_engine_log("blocks from %s refused: %s", url, err.msg);
			else if (sc.applied)
				mc_engine_log("caught up %llu blocks from %s", (unsigned long long)sc.applied, url);
		} else if (rc == 0) {
			rc = -1;
		}
		mc_peer_resp_release(&r);
		pthread_mutex_lock(&e->mu);
		if (rc == 0) {
			after_commit(e);
			return;
		}
	}
}

/* ---- view changes -------------------------------------------------------------
 * A validator asked to move to view V under leader L votes once per view,
 * durably ("vc" -> view u64 | leader), with its lock at the next height (so
 * the new leader can finish that block first), and for an automatic change
 * only when it, too, has not heard from the leader for half the timeout.
 * The one who asked gathers a quorum of votes into a VIEW_CHANGE and hands
 * it, with the highest locked block, to L; L finishes that block, then
 * proposes a block whose first tx is the VIEW_CHANGE: applying it makes L
 * the leader of view V on every node. */

static const char VC_KEY[] = "vc";

struct next_seq_ctx {
	const uint8_t *pk;
	uint64_t *seq;
};

static int next_seq_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct next_seq_ctx *c = vctx;

	return mc_builder_next_seq(t, c->pk, c->seq, err);
}
#define VC_VOTE_LEN (MC_PK_LEN + 8 + 8 + MC_HASH_LEN + MC_SIG_LEN)

struct vc_put_ctx {
	uint64_t view;
	const uint8_t *leader;
};

static int vc_put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct vc_put_ctx *c = vctx;
	uint8_t v[8 + MC_PK_LEN];

	mc_be64(v, c->view);
	memcpy(v + 8, c->leader, MC_PK_LEN);
	return mc_txn_put(t, MC_DB_CONSENSUS, VC_KEY, sizeof(VC_KEY) - 1, v, sizeof(v), err);
}

static int vc_get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = vctx;
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CONSENSUS, VC_KEY, sizeof(VC_KEY) - 1, &v, &vn, err);

	if (rc != 0 || vn != 8 + MC_PK_LEN)
		return rc < 0 ? -1 : 0;
	e->vc_voted = mc_from_be64(v);
	memcpy(e->vc_voted_leader, (const uint8_t *)v + 8, MC_PK_LEN);
	return 0;
}

/* This node's vote for view `view` under `leader`: appended to out (the
 * vote, then the locked block's bundle when the lock is at the next
 * height). mu held. */
static int vc_vote(struct mc_engine *e, uint64_t view, const uint8_t leader[MC_PK_LEN], bool timeout,
		   struct mc_buf *out, struct mc_err *err)
{
	struct vc_put_ctx pc = { view, leader };
	struct mc_vc_vote v;
	struct lock l;
	uint64_t now = mc_now_ms();

	if (!e->have_chain || !is_validator(e, e->node->pk))
		return mc_err_set(err, EX_NOPERM, _("this node is not a validator"));
	if (!is_validator(e, leader))
		return mc_err_set(err, EX_DATAERR, _("the proposed leader is not a validator"));
	if (view <= e->view)
		return mc_err_set(err, EX_DATAERR, _("view %llu is not after the current view %llu"),
				  (unsigned long long)view, (unsigned long long)e->view);
	if (view < e->vc_voted || (view == e->vc_voted && memcmp(leader, e->vc_voted_leader, MC_PK_LEN) != 0))
		return mc_err_set(err, EX_DATAERR, _("this node already voted for another leader of view %llu"),
				  (unsigned long long)view);
	if (timeout && !am_leader(e) && now - e->leader_seen_ms < e->c.leader_timeout_ms / 2)
		return mc_err_set(err, EX_TEMPFAIL, _("the leader is alive as seen from here"));
	if (mc_store_write(e->s, vc_put_txn, &pc, err) != 0)   /* durable before the vote leaves */
		return -1;
	e->vc_voted = view;
	memcpy(e->vc_voted_leader, leader, MC_PK_LEN);
	memset(&v, 0, sizeof(v));
	if (lock_get(e, &l, err) != 0)
		return -1;
	if (l.has && l.height == e->height + 1) {
		v.locked_height = l.height;
		v.locked_view = l.view;
		memcpy(v.locked_hash, l.hash, MC_HASH_LEN);
	}
	mc_vc_vote_sign(e->chain_id, view, leader, e->node->sk, e->node->pk, &v);
	mc_put_raw(out, v.pk, MC_PK_LEN);
	mc_put_u64(out, v.locked_height);
	mc_put_u64(out, v.locked_view);
	mc_put_raw(out, v.locked_hash, MC_HASH_LEN);
	mc_put_raw(out, v.sig, MC_SIG_LEN);
	if (v.locked_height)
		mc_put_raw(out, l.bundle, l.len);
	lock_release(&l);
	mc_engine_log("voted to move to view %llu", (unsigned long long)view);
	return 0;
}

static int parse_view_query(const char *view_s, const char *leader_s, uint64_t *view, uint8_t leader[MC_PK_LEN])
{
	char *end;

	if (!view_s || !leader_s || !*view_s || *view_s < '0' || *view_s > '9')
		return -1;
	*view = strtoull(view_s, &end, 10);
	if (*end || strlen(leader_s) != 2 * MC_PK_LEN || mc_unhex(leader_s, leader, MC_PK_LEN) != 0)
		return -1;
	return 0;
}

void mc_engine_on_view_vote(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const char *view_s,
			    const char *leader_s, bool timeout, struct mc_reply *r)
{
	uint64_t view;
	uint8_t leader[MC_PK_LEN];
	struct mc_err err = { 0 };
	char who[17];

	short_pk(from, who);
	if (parse_view_query(view_s, leader_s, &view, leader) != 0) {
		reply_text(r, 400, "view=N&leader=HEX");
		return;
	}
	pthread_mutex_lock(&e->mu);
	mc_buf_reset(&r->body);
	if (vc_vote(e, view, leader, timeout, &r->body, &err) != 0) {
		pthread_mutex_unlock(&e->mu);
		mc_engine_log("view change to %llu asked by %s refused: %s", (unsigned long long)view, who, err.msg);
		reply_text(r, err.code == EX_TEMPFAIL ? 409 : 422, err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	r->status = 200;
	r->ctype = "application/octet-stream";
}

/* Hands a quorum's VIEW_CHANGE (and the locked block to finish first) to
 * this node, the new leader. mu held. */
static int vc_adopt(struct mc_engine *e, const uint8_t *body, size_t len, struct mc_err *err)
{
	struct mc_view_change vc;
	struct mc_rd rd;
	const uint8_t *vcb, *relay;
	size_t vcn, relayn;
	const struct mc_vc_vote *best = NULL;

	mc_rd_init(&rd, body, len);
	vcb = mc_get_bytes(&rd, MC_TX_BODY_MAX, &vcn);
	relay = mc_get_bytes(&rd, MC_BUNDLE_MAX, &relayn);
	if (!mc_rd_finish(&rd) || mc_view_change_decode(vcb, vcn, &vc, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("malformed view change"));
	if (memcmp(vc.leader, e->node->pk, MC_PK_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("the view change names another leader"));
	if (vc.view <= e->view)
		return mc_err_set(err, EX_DATAERR, _("the view change is not after the current view"));
	if (mc_view_change_check(&vc, e->chain_id, (const uint8_t (*)[MC_PK_LEN])e->vals, e->nval, err) != 0)
		return -1;
	for (uint16_t i = 0; i < vc.count; i++)
		if (vc.votes[i].locked_height == e->height + 1 &&
		    (!best || vc.votes[i].locked_view > best->locked_view))
			best = &vc.votes[i];
	mc_buf_reset(&e->vc_relay);
	if (best) {
		struct mc_bundle b;

		if (mc_bundle_decode(relay, relayn, &b, err) != 0)
			return mc_err_wrap(err, _("the locked block"));
		if (memcmp(b.hash, best->locked_hash, MC_HASH_LEN) != 0) {
			mc_bundle_release(&b);
			return mc_err_set(err, EX_DATAERR, _("the block given is not the highest locked block"));
		}
		mc_bundle_release(&b);
		mc_put_raw(&e->vc_relay, relay, relayn);
	}
	mc_buf_reset(&e->vc_body);
	mc_put_raw(&e->vc_body, vcb, vcn);
	e->vc_view = vc.view;
	mc_engine_log("taking over as leader of view %llu%s", (unsigned long long)vc.view,
		      best ? _(" (finishing a locked block first)") : "");
	pthread_cond_broadcast(&e->cv);
	return 0;
}

void mc_engine_on_view_change(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			      size_t len, struct mc_reply *r)
{
	struct mc_err err = { 0 };
	char who[17];

	short_pk(from, who);
	pthread_mutex_lock(&e->mu);
	if (vc_adopt(e, body, len, &err) != 0) {
		pthread_mutex_unlock(&e->mu);
		mc_engine_log("view change from %s refused: %s", who, err.msg);
		reply_text(r, 422, err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	reply_text(r, 202, "ok");
}

/* Asks every validator to move to `view` under `leader`, and hands a
 * quorum's VIEW_CHANGE to the leader. mu held (released during calls). */
static int start_view_change(struct mc_engine *e, uint64_t view, const uint8_t leader[MC_PK_LEN],
			     bool timeout, struct mc_err *err)
{
	struct mc_view_change vc;
	struct mc_buf mine, relay, body, msg;
	uint8_t chain[MC_HASH_LEN], lhex[2 * MC_PK_LEN + 1];
	uint64_t relay_view = 0;
	size_t quorum = mc_quorum(e->nval);
	struct mc_peer_client *cl = NULL;
	struct target { char url[MC_URL_MAX + 1]; uint8_t pk[MC_PK_LEN]; } *tg;
	size_t nt = 0;
	int rc = 0;

	memset(&vc, 0, sizeof(vc));
	vc.view = view;
	memcpy(vc.leader, leader, MC_PK_LEN);
	mc_buf_init(&mine);
	mc_buf_init(&relay);
	mc_buf_init(&body);
	mc_buf_init(&msg);
	if (!(tg = calloc(PEERS_MAX, sizeof(*tg))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	/* our own vote first */
	if (vc_vote(e, view, leader, timeout, &mine, err) != 0) {
		free(tg);
		return -1;
	}
	for (size_t i = 0; i < e->npeers; i++)
		if (!e->peers[i]->gone && peer_is_validator(e, e->peers[i])) {
			snprintf(tg[nt].url, sizeof(tg[nt].url), "%s", e->peers[i]->url);
			memcpy(tg[nt].pk, e->peers[i]->pk, MC_PK_LEN);
			nt++;
		}
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	mc_hex(leader, MC_PK_LEN, (char *)lhex);
	pthread_mutex_unlock(&e->mu);
	rc = mc_peer_client_new(e->c.ca_file, &cl, err);
	for (size_t i = 0; rc == 0 && i <= nt && vc.count < MC_MAX_VALIDATORS; i++) {
		struct mc_peer_resp resp;
		const uint8_t *p;
		size_t n;
		struct mc_rd rd;
		struct mc_vc_vote v;
		char path[200];

		memset(&resp, 0, sizeof(resp));
		if (i == nt) {
			p = mine.data;
			n = mine.len;
		} else {
			snprintf(path, sizeof(path), "/v1/view-vote?view=%llu&leader=%s%s", (unsigned long long)view,
				 (const char *)lhex, timeout ? "&why=timeout" : "");
			if (mc_peer_call(cl, chain, e->node, tg[i].url, "POST", path, NULL, 0, tg[i].pk, PEER_TIMEOUT_MS,
					 MC_BUNDLE_MAX, &resp, err) != 0 || resp.status != 200) {
				if (resp.status)
					mc_engine_log("view change: %s: HTTP %ld: %.150s", tg[i].url, resp.status,
						      (const char *)resp.body);
				mc_peer_resp_release(&resp);
				mc_err_clear(err);
				continue;
			}
			p = resp.body;
			n = resp.len;
		}
		mc_rd_init(&rd, p, n);
		mc_get_raw(&rd, v.pk, MC_PK_LEN);
		v.locked_height = mc_get_u64(&rd);
		v.locked_view = mc_get_u64(&rd);
		mc_get_raw(&rd, v.locked_hash, MC_HASH_LEN);
		mc_get_raw(&rd, v.sig, MC_SIG_LEN);
		if (mc_rd_ok(&rd) && mc_vc_vote_verify(chain, view, leader, &v) == 0) {
			size_t j = vc.count;

			while (j > 0 && memcmp(vc.votes[j - 1].pk, v.pk, MC_PK_LEN) > 0) {
				vc.votes[j] = vc.votes[j - 1];
				j--;
			}
			vc.votes[j] = v;
			vc.count++;
			if (v.locked_height && rd.left && (relay.len == 0 || v.locked_view > relay_view)) {
				mc_buf_reset(&relay);
				mc_put_raw(&relay, rd.p, rd.left);
				relay_view = v.locked_view;
			}
		}
		mc_peer_resp_release(&resp);
	}
	if (rc == 0 && vc.count < quorum)
		rc = mc_err_set(err, EX_TEMPFAIL, _("%u of %zu validators agreed to view %llu; %zu needed"),
				(unsigned)vc.count, e->nval, (unsigned long long)view, quorum);
	if (rc == 0) {
		mc_view_change_encode(&vc, &body);
		mc_put_bytes(&msg, body.data, body.len);
		mc_put_bytes(&msg, relay.data, relay.len);
	}
	pthread_mutex_lock(&e->mu);
	if (rc == 0 && memcmp(leader, e->node->pk, MC_PK_LEN) == 0) {
		rc = vc_adopt(e, msg.data, msg.len, err);
	} else if (rc == 0) {
		char url[MC_URL_MAX + 1] = "";
		struct mc_peer_resp resp;

		for (size_t i = 0; i < nt; i++)
			if (memcmp(tg[i].pk, leader, MC_PK_LEN) == 0)
				snprintf(url, sizeof(url), "%s", tg[i].url);
		pthread_mutex_unlock(&e->mu);
		memset(&resp, 0, sizeof(resp));
		rc = !*url ? mc_err_set(err, EX_UNAVAILABLE, _("the new leader's address is not known"))
			   : mc_peer_call(cl, chain, e->node, url, "POST", "/v1/view-change", msg.data, msg.len, leader,
					  PEER_TIMEOUT_MS, 4096, &resp, err);
		if (rc == 0 && resp.status != 202)
			rc = mc_err_set(err, EX_PROTOCOL, _("the new leader refused the view change: %.200s"),
					(const char *)resp.body);
		mc_peer_resp_release(&resp);
		pthread_mutex_lock(&e->mu);
	}
	mc_peer_client_free(cl);
	mc_buf_release(&mine);
	mc_buf_release(&relay);
	mc_buf_release(&body);
	mc_buf_release(&msg);
	free(tg);
	return rc;
}

void mc_engine_on_promote(struct mc_engine *e, const char *leader_s, struct mc_reply *r)
{
	uint8_t leader[MC_PK_LEN];
	struct mc_err err = { 0 };
	uint64_t view;
	char msg[300];

	if (!leader_s || strlen(leader_s) != 2 * MC_PK_LEN || mc_unhex(leader_s, leader, MC_PK_LEN) != 0) {
		reply_text(r, 400, "leader=HEX");
		return;
	}
	pthread_mutex_lock(&e->mu);
	view = (e->vc_voted > e->view ? e->vc_voted : e->view) + 1;
	if (start_view_change(e, view, leader, false, &err) != 0) {
		pthread_mutex_unlock(&e->mu);
		mc_engine_log("promotion to view %llu failed: %s", (unsigned long long)view, err.msg);
		reply_text(r, err.code == EX_TEMPFAIL ? 503 : 422, err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	snprintf(msg, sizeof(msg), "{\"view\":%llu}", (unsigned long long)view);
	r->status = 202;
	r->ctype = "application/json";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, msg, strlen(msg));
}

/* The candidate after a silent leader: the first validator after it (in
 * key order) that this node sees up, itself included. mu held. */
static bool auto_candidate(struct mc_engine *e, uint8_t out[MC_PK_LEN])
{
	size_t at = 0;

	for (size_t i = 0; i < e->nval; i++)
		if (memcmp(e->vals[i], e->leader, MC_PK_LEN) == 0)
			at = i;
	for (size_t k = 1; k < e->nval; k++) {
		const uint8_t *pk = e->vals[(at + k) % e->nval];

		if (memcmp(pk, e->node->pk, MC_PK_LEN) == 0) {
			memcpy(out, pk, MC_PK_LEN);
			return true;
		}
		for (size_t i = 0; i < e->npeers; i++)
			if (!e->peers[i]->gone && e->peers[i]->up && e->peers[i]->pk_known &&
			    memcmp(e->peers[i]->pk, pk, MC_PK_LEN) == 0) {
				memcpy(out, pk, MC_PK_LEN);
				return true;
			}
	}
	return false;
}

/* The new leader's work: finish the locked block, then the VIEW_CHANGE
 * block. mu held. 0 while there is more to do, 1 when done. */
static int vc_take_over(struct mc_engine *e, struct mc_err *err)
{
	struct mc_txin first;
	struct mc_buf tx;
	int rc;

	if (e->vc_view <= e->view) {
		e->vc_view = 0;
		return 1;
	}
	if (e->vc_relay.len) {
		struct mc_bundle b;

		if (mc_bundle_decode(e->vc_relay.data, e->vc_relay.len, &b, err) != 0)
			return -1;
		if (b.h.height == e->height + 1) {
			mc_buf_reset(&e->prop);
			mc_put_raw(&e->prop, e->vc_relay.data, e->vc_relay.len);
			memcpy(e->prop_hash, b.hash, MC_HASH_LEN);
			e->prop_height = b.h.height;
			e->prop_view = b.h.view;
			e->prop_relay = true;
			mc_bundle_release(&b);
			mc_engine_log("finishing locked block %llu", (unsigned long long)e->prop_height);
			rc = run_proposal(e, err);
			if (rc != 0)
				return rc < 0 ? -1 : 0;
		} else {
			mc_bundle_release(&b);
		}
		mc_buf_reset(&e->vc_relay);
	}
	/* the VIEW_CHANGE as this node's next tx, first in the block */
	{
		uint64_t seq = 1;
		struct next_seq_ctx nc = { e->node->pk, &seq };
		struct mc_tx t;

		mc_buf_init(&tx);
		if (mc_store_read(e->s, next_seq_txn, &nc, err) != 0) {
			mc_buf_release(&tx);
			return -1;
		}
		memset(&t, 0, sizeof(t));
		t.version = MC_TX_VERSION;
		t.type = MC_TX_VIEW_CHANGE;
		memcpy(t.author, e->node->pk, MC_PK_LEN);
		t.timestamp_ms = mc_now_ms();
		t.seq = seq;
		t.body = e->vc_body.data;
		t.body_len = e->vc_body.len;
		mc_tx_sign(&t, e->chain_id, e->node->sk);
		mc_tx_encode(&t, &tx);
		mc_put_u32(&tx, 0);   /* no side rows */
	}
	first.tx = tx.data;
	first.tx_len = tx.len - 4;
	first.side = tx.data + tx.len - 4;
	first.side_len = 4;
	rc = make_proposal(e, &first, err);
	mc_buf_release(&tx);
	if (rc != 0) {
		e->vc_view = 0;   /* refused: the next timeout tries again */
		return -1;
	}
	rc = run_proposal(e, err);
	if (rc == 0) {
		mc_engine_log("leader of view %llu", (unsigned long long)e->view);
		e->vc_view = 0;
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

/* ---- the engine thread ------------------------------------------------------ */

static void write_status_file(struct mc_engine *e);

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

static void *engine_main(void *arg)
{
	struct mc_engine *e = arg;
	struct mc_peer_client *cl = NULL;
	struct mc_err err = { 0 };
	uint64_t last_block = 0;

	if (mc_peer_client_new(e->c.ca_file, &cl, &err) != 0) {
		mc_engine_log("%s", err.msg);
		return NULL;
	}
	pthread_mutex_lock(&e->mu);
	while (!e->stop) {
		uint64_t now = mc_now_ms();
		struct timespec ts;
		uint64_t until;

		if (now - e->last_status_write >= 1000) {
			write_status_file(e);
			e->last_status_write = now;
		}
		if (head_moved(e))   /* a block this process did not make (the CLI on a sole validator) */
			after_commit(e);
		if (!e->have_chain || e->sync_hint > e->height) {
			uint64_t before = e->height;
			bool had = e->have_chain;

			sync_from_peers(e, cl);
			if (!had && e->have_chain)
				peers_refresh(e);
			if (e->have_chain && e->height > before)
				continue;
		}
		if (e->have_chain && e->vc_view > e->view && e->sync_hint <= e->height) {
			if (vc_take_over(e, &err) < 0) {
				mc_engine_log("the view change did not complete: %s", err.msg);
				e->vc_view = 0;
			}
			continue;
		}
		if (e->have_chain && e->c.leader_timeout_ms && !am_leader(e) && is_validator(e, e->node->pk) &&
		    now - e->leader_seen_ms > e->c.leader_timeout_ms &&
		    now - e->last_vc_try_ms > e->c.leader_timeout_ms) {
			uint8_t cand[MC_PK_LEN];

			e->last_vc_try_ms = now;
			if (auto_candidate(e, cand) && memcmp(cand, e->node->pk, MC_PK_LEN) == 0) {
				uint64_t view = (e->vc_voted > e->view ? e->vc_voted : e->view) + 1;

				mc_engine_log("no word from the leader for %u ms: asking to lead view %llu",
					      e->c.leader_timeout_ms, (unsigned long long)view);
				if (start_view_change(e, view, cand, true, &err) != 0)
					mc_engine_log("view change to %llu: %s", (unsigned long long)view, err.msg);
			}
			continue;
		}
		if (e->have_chain && e->sync_hint <= e->height && am_leader(e)) {
			struct lock l;

			/* A block we locked and proposed but did not commit comes first. */
			if (lock_get(e, &l, &err) == 0 && l.has && l.height == e->height + 1 && l.view == e->view &&
			    !e->prop.len) {
				mc_buf_reset(&e->prop);
				mc_put_raw(&e->prop, l.bundle, l.len);
				memcpy(e->prop_hash, l.hash, MC_HASH_LEN);
				e->prop_height = l.height;
				e->prop_view = l.view;
				e->prop_relay = false;
				mc_engine_log("proposing locked block %llu again", (unsigned long long)l.height);
			}
			lock_release(&l);
			if (!e->prop.len && e->mp_n && (now - last_block >= e->c.block_interval_ms ||
							 e->mp_n >= e->c.max_block_txs)) {
				int rc = make_proposal(e, NULL, &err);

				if (rc < 0)
					mc_engine_log("cannot make a block: %s", err.msg);
			}
			if (e->prop.len) {
				int rc = run_proposal(e, &err);

				if (rc < 0) {
					mc_engine_log("block %llu not committed: %s",
						      (unsigned long long)e->prop_height, err.msg);
					mc_buf_reset(&e->prop);
				}
				last_block = mc_now_ms();
				continue;
			}
		}
		until = mc_now_ms() + (e->mp_n && am_leader(e) ? e->c.block_interval_ms : 200);
		ts.tv_sec = (time_t)(until / 1000);
		ts.tv_nsec = (long)(until % 1000) * 1000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
	pthread_mutex_unlock(&e->mu);
	mc_peer_client_free(cl);
	return NULL;
}

/* ---- requests ------------------------------------------------------------------ */

static void reply_text(struct mc_reply *r, unsigned status, const char *msg)
{
	r->status = status;
	r->ctype = "text/plain; charset=utf-8";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, msg, strlen(msg));
	mc_put_raw(&r->body, "\n", 1);
}

static void reply_json(struct mc_reply *r, unsigned status, cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	if (!text) {
		reply_text(r, 500, _("out of memory"));
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

static int member_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct member_ctx *m = vctx;
	struct mc_identity id;
	int rc = mc_identity_get(t, m->pk, &id, err);

	if (rc < 0)
		return -1;
	m->ok = rc == 0 && id.revoked == MC_NOT_REVOKED && (id.roles & MC_ROLE_NODE);
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

int mc_engine_auth(struct mc_engine *e, const struct mc_peer_sig *sig, const char *method,
		   const char *path, const void *body, size_t len, bool write, struct mc_err *err)
{
	uint8_t chain[MC_HASH_LEN];
	uint64_t now = mc_now_ms();
	bool member, have;
	char who[17];
	int rc;

	short_pk(sig->pk, who);
	pthread_mutex_lock(&e->mu);
	have = e->have_chain;
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	member = is_validator(e, sig->pk) || memcmp(sig->pk, e->node->pk, MC_PK_LEN) == 0;
	pthread_mutex_unlock(&e->mu);
	if (!have)
		return mc_err_set(err, EX_UNAVAILABLE, _("this node has no chain yet"));
	rc = mc_peer_check_request(chain, sig, method, path, body, len, now, err);
	if (rc == 0 && !member && !write) {
		struct member_ctx m = { sig->pk, false };

		if (mc_store_read(e->s, member_txn, &m, err) != 0)
			return -1;
		member = m.ok;
	}
	if (rc == 0 && !member)
		rc = mc_err_set(err, EX_NOPERM, _("the key is not in the validator set"));
	if (rc == 0 && mc_replay_check(e->replay, sig->pk, sig->nonce, now) == MC_EXISTS)
		rc = mc_err_set(err, EX_NOPERM, _("the request's nonce was already used (a replay)"));
	if (rc == 0) {
		pthread_mutex_lock(&e->mu);
		if (!rate_ok(e, sig->pk, now))
			rc = mc_err_set(err, EX_TEMPFAIL, _("too many requests from this key"));
		pthread_mutex_unlock(&e->mu);
	}
	if (rc != 0)
		mc_engine_log("refused %s %s from %s: %s", method, path, who, err->msg);
	return rc;
}

static cJSON *add_hex(cJSON *o, const char *k, const uint8_t *p, size_t n)
{
	char hex[2 * 64 + 1];

	mc_hex(p, n, hex);
	return cJSON_AddStringToObject(o, k, hex);
}

/* The node's own status as JSON (machine names, never translated). mu held. */
static cJSON *status_json(struct mc_engine *e)
{
	cJSON *j = cJSON_CreateObject();

	if (!j)
		return NULL;
	cJSON_AddStringToObject(j, "name", e->c.name ? e->c.name : "");
	cJSON_AddStringToObject(j, "version", PACKAGE_VERSION);
	add_hex(j, "node", e->node->pk, MC_PK_LEN);
	add_hex(j, "chain_id", e->chain_id, MC_HASH_LEN);
	cJSON_AddNumberToObject(j, "height", e->have_chain ? (double)e->height : -1);
	add_hex(j, "head", e->head, MC_HASH_LEN);
	cJSON_AddNumberToObject(j, "view", (double)e->view);
	add_hex(j, "leader", e->leader, MC_PK_LEN);
	cJSON_AddBoolToObject(j, "validator", is_validator(e, e->node->pk));
	cJSON_AddNumberToObject(j, "validators", (double)e->nval);
	cJSON_AddNumberToObject(j, "pending", (double)e->mp_n);
	cJSON_AddNumberToObject(j, "uptime_s", (double)((mc_now_ms() - e->started_ms) / 1000));
	cJSON_AddNumberToObject(j, "time_ms", (double)mc_now_ms());
	return j;
}

static cJSON *peers_json(struct mc_engine *e)
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
			add_hex(o, "node", p->pk, MC_PK_LEN);
		cJSON_AddStringToObject(o, "name", p->name);
		cJSON_AddBoolToObject(o, "up", p->up);
		cJSON_AddNumberToObject(o, "height", (double)p->height);
		add_hex(o, "head", p->head, MC_HASH_LEN);
		cJSON_AddNumberToObject(o, "view", (double)p->view);
		add_hex(o, "leader", p->leader, MC_PK_LEN);
		cJSON_AddStringToObject(o, "version", p->version);
		cJSON_AddNumberToObject(o, "last_seen_ms", (double)p->last_seen_ms);
		cJSON_AddStringToObject(o, "error", p->error);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void mc_engine_on_status(struct mc_engine *e, struct mc_reply *r)
{
	cJSON *j;

	pthread_mutex_lock(&e->mu);
	j = status_json(e);
	if (j)
		cJSON_AddItemToObject(j, "peers", peers_json(e));
	pthread_mutex_unlock(&e->mu);
	reply_json(r, 200, j);
}

/* The console reads this file: it never talks to the network itself. */
static void write_status_file(struct mc_engine *e)
{
	char tmp[4096 + 8];
	cJSON *j;
	char *text;
	FILE *f;

	if (!e->c.status_file || snprintf(tmp, sizeof(tmp), "%s.tmp", e->c.status_file) >= (int)sizeof(tmp))
		return;
	j = status_json(e);
	if (!j)
		return;
	cJSON_AddItemToObject(j, "peers", peers_json(e));
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text)
		return;
	f = fopen(tmp, "w");
	if (f) {
		bool ok = fputs(text, f) >= 0;

		ok = fclose(f) == 0 && ok;
		if (!ok || rename(tmp, e->c.status_file) != 0)
			unlink(tmp);
	}
	free(text);
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
		if (c->out->len >= SYNC_BYTES_MAX)
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
		reply_text(r, 500, err.msg);
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

static bool in_pool(struct mc_engine *e, const uint8_t hash[MC_HASH_LEN])
{
	for (size_t i = 0; i < e->mp_n; i++)
		if (memcmp(e->mp[i]->hash, hash, MC_HASH_LEN) == 0)
			return true;
	return false;
}

static int pool_add(struct mc_engine *e, const struct mc_txin *in, const uint8_t hash[MC_HASH_LEN])
{
	struct mp_item *it;

	if (in_pool(e, hash))
		return 0;
	if (e->mp_n >= e->c.mempool_max)
		return -1;
	if (e->mp_n == e->mp_cap) {
		size_t cap = e->mp_cap ? e->mp_cap * 2 : 1024;
		void *p = realloc(e->mp, cap * sizeof(*e->mp));

		if (!p)
			return -1;
		e->mp = p;
		e->mp_cap = cap;
	}
	if (!(it = calloc(1, sizeof(*it))) || !(it->bytes = malloc(in->tx_len + in->side_len + 1))) {
		free(it);
		return -1;
	}
	memcpy(it->bytes, in->tx, in->tx_len);
	memcpy(it->bytes + in->tx_len, in->side, in->side_len);
	it->tx_len = in->tx_len;
	it->side_len = in->side_len;
	memcpy(it->hash, hash, MC_HASH_LEN);
	it->status = MC_TXIN_PENDING;
	it->added_ms = mc_now_ms();
	e->mp[e->mp_n++] = it;
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
		struct timespec ts;

		if (mc_store_read(e->s, seen_txn, &sc, &err) != 0)
			return;
		for (size_t i = 0; i < n; i++)
			done += heights[i] != 0 || refusal_of(e, hashes[i]) != NULL;
		if (done == n || e->stop || mc_now_ms() >= deadline)
			return;
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
}

static cJSON *txs_result(struct mc_engine *e, const uint8_t (*hashes)[MC_HASH_LEN], size_t n,
			 const uint64_t *heights, unsigned *status)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "txs");
	size_t committed = 0, refused = 0;

	for (size_t i = 0; a && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		const char *why = heights[i] ? NULL : refusal_of(e, hashes[i]);

		if (!o)
			break;
		add_hex(o, "hash", hashes[i], MC_HASH_LEN);
		if (heights[i]) {
			cJSON_AddStringToObject(o, "state", "committed");
			cJSON_AddNumberToObject(o, "height", (double)heights[i]);
			committed++;
		} else if (why) {
			cJSON_AddStringToObject(o, "state", "refused");
			cJSON_AddStringToObject(o, "error", why);
			refused++;
		} else {
			cJSON_AddStringToObject(o, "state", "pending");
		}
		cJSON_AddItemToArray(a, o);
	}
	*status = refused ? 422 : committed == n ? 200 : 202;
	return j;
}

/* Forwards txs to the leader and relays its answer. mu held (released). */
static void forward_txs(struct mc_engine *e, const uint8_t *body, size_t len, unsigned wait_ms,
			struct mc_reply *r)
{
	char url[MC_URL_MAX + 1], path[64];
	uint8_t chain[MC_HASH_LEN];
	struct mc_peer_client *cl = NULL;
	struct mc_peer_resp resp;
	struct mc_err err = { 0 };
	uint8_t leader[MC_PK_LEN];
	int rc;

	if (!leader_url(e, url)) {
		reply_text(r, 503, _("the leader's address is not known yet"));
		return;
	}
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	memcpy(leader, e->leader, MC_PK_LEN);
	snprintf(path, sizeof(path), "/v1/tx?wait=%u", wait_ms);
	pthread_mutex_unlock(&e->mu);
	rc = mc_peer_client_new(e->c.ca_file, &cl, &err);
	if (rc == 0)
		rc = mc_peer_call(cl, chain, e->node, url, "POST", path, body, len, leader,
				  (long)wait_ms + 5000, 16u << 20, &resp, &err);
	mc_peer_client_free(cl);
	pthread_mutex_lock(&e->mu);
	if (rc != 0) {
		reply_text(r, 503, err.msg);
		return;
	}
	r->status = (unsigned)resp.status;
	r->ctype = "application/json";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, resp.body, resp.len);
	mc_peer_resp_release(&resp);
}

void mc_engine_on_txs(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
		      size_t len, unsigned wait_ms, struct mc_reply *r)
{
	struct mc_txin *in = NULL;
	uint8_t (*hashes)[MC_HASH_LEN] = NULL;
	uint64_t *heights = NULL;
	uint8_t chain[MC_HASH_LEN];
	struct mc_err err = { 0 };
	size_t n = 0;
	unsigned status;

	(void)from;
	if (wait_ms > 120000)
		wait_ms = 120000;
	pthread_mutex_lock(&e->mu);
	memcpy(chain, e->chain_id, MC_HASH_LEN);
	pthread_mutex_unlock(&e->mu);
	if (mc_txbundle_decode(body, len, &in, &n, &err) != 0) {
		reply_text(r, 400, err.msg);
		return;
	}
	hashes = calloc(n ? n : 1, sizeof(*hashes));
	heights = calloc(n ? n : 1, sizeof(*heights));
	if (!hashes || !heights) {
		reply_text(r, 503, _("out of memory"));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct mc_tx tx;

		if (mc_tx_decode(in[i].tx, in[i].tx_len, &tx, &err) != 0 ||
		    mc_side_check(in[i].side, in[i].side_len, &err) != 0 ||
		    (mc_tx_verify_sig(&tx, chain) != 0 &&
		     mc_err_set(&err, EX_DATAERR, _("bad signature")) != 0)) {
			char msg[300];

			snprintf(msg, sizeof(msg), _("tx %zu: %s"), i, err.msg);
			reply_text(r, 400, msg);
			goto out;
		}
		mc_tx_hash(&tx, hashes[i]);
	}
	pthread_mutex_lock(&e->mu);
	if (!am_leader(e)) {
		forward_txs(e, body, len, wait_ms, r);
		if (r->status == 200 && wait_ms)   /* and here too, before answering */
			wait_txs(e, (const uint8_t (*)[MC_HASH_LEN])hashes, n, heights, mc_now_ms() + wait_ms);
		pthread_mutex_unlock(&e->mu);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (pool_add(e, &in[i], hashes[i]) != 0) {
			pthread_mutex_unlock(&e->mu);
			reply_text(r, 503, _("too many pending transactions: try again later"));
			goto out;
		}
	pthread_cond_broadcast(&e->cv);
	if (wait_ms)
		wait_txs(e, (const uint8_t (*)[MC_HASH_LEN])hashes, n, heights, mc_now_ms() + wait_ms);
	reply_json(r, 0, txs_result(e, (const uint8_t (*)[MC_HASH_LEN])hashes, n, heights, &status));
	r->status = wait_ms ? status : 202;
	pthread_mutex_unlock(&e->mu);
out:
	free(in);
	free(hashes);
	free(heights);
}

/* ---- proposals and commits ------------------------------------------------------ */

void mc_engine_on_propose(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			  size_t len, struct mc_reply *r)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	struct lock l;
	struct mc_vote v;
	char who[17], msg[400];
	uint64_t height;

	short_pk(from, who);
	if (mc_bundle_decode(body, len, &b, &err) != 0) {
		mc_engine_log("proposal from %s refused: %s", who, err.msg);
		reply_text(r, 400, err.msg);
		return;
	}
	{
		uint8_t vmsg[MC_VOTE_MSG_LEN];

		mc_vote_message(b.hash, vmsg);
		/* Signed by its proposer. Another validator may bring it: the
		 * new leader of a view change finishing a locked block. */
		if (b.cert.count != 1 || memcmp(b.cert.votes[0].pk, b.h.proposer, MC_PK_LEN) != 0 ||
		    mc_sign_verify(b.h.proposer, vmsg, sizeof(vmsg), b.cert.votes[0].sig) != 0) {
			mc_engine_log("proposal from %s refused: it is not signed by its proposer", who);
			reply_text(r, 403, _("the proposal is not signed by its proposer"));
			goto out;
		}
	}
	pthread_mutex_lock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	height = e->height;
	if (b.h.height > height + 1 && b.h.height > e->sync_hint) {
		e->sync_hint = b.h.height - 1;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	if (b.h.height != height + 1) {
		snprintf(msg, sizeof(msg), _("this node is at height %llu"), (unsigned long long)height);
		reply_text(r, 409, msg);
		goto unlock;
	}
	if (lock_get(e, &l, &err) != 0) {
		reply_text(r, 500, err.msg);
		goto unlock;
	}
	/* One block a height: a validator locked on a block votes for no
	 * other at its height, in any view (the new leader of a view change
	 * finishes the highest locked block first). */
	if (l.has && l.height == b.h.height && memcmp(l.hash, b.hash, MC_HASH_LEN) != 0) {
		struct mc_header lh;
		struct mc_rd rd;

		mc_rd_init(&rd, l.bundle, l.len);
		if (mc_header_decode(&rd, &lh, NULL) == 0 && lh.view == b.h.view &&
		    memcmp(lh.proposer, b.h.proposer, MC_PK_LEN) == 0)
			mc_engine_log("proposal from %s refused: its proposer signed a second block at height %llu, view %llu (equivocation)",
				      who, (unsigned long long)b.h.height, (unsigned long long)b.h.view);
		else
			mc_engine_log("proposal from %s refused: this node is locked on another block at height %llu",
				      who, (unsigned long long)b.h.height);
		lock_release(&l);
		reply_text(r, 409, _("this node voted for another block at this height"));
		goto unlock;
	}
	lock_release(&l);
	if (apply_block(e, &b, MC_APPLY_PROPOSAL, true, &err) != 0) {
		mc_engine_log("proposal %llu from %s refused: %s", (unsigned long long)b.h.height, who, err.msg);
		reply_text(r, 422, err.msg);
		goto unlock;
	}
	/* The lock is on disk before the vote leaves. */
	if (lock_put(e, b.h.height, b.h.view, b.hash, body, len, &err) != 0) {
		mc_engine_log("cannot store the vote lock: %s", err.msg);
		reply_text(r, 500, err.msg);
		goto unlock;
	}
	mc_vote_sign(b.hash, e->node->sk, e->node->pk, &v);
	pthread_mutex_lock(&e->mu);
	memcpy(e->checked, b.hash, MC_HASH_LEN);
	e->has_checked = true;
	pthread_mutex_unlock(&e->mu);
	r->status = 200;
	r->ctype = "application/octet-stream";
	mc_buf_reset(&r->body);
	mc_put_raw(&r->body, v.pk, MC_PK_LEN);
	mc_put_raw(&r->body, v.sig, MC_SIG_LEN);
unlock:
	pthread_mutex_unlock(&e->chain_mu);
out:
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

void mc_engine_on_commit(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			 size_t len, struct mc_reply *r)
{
	struct mc_bundle b;
	struct mc_err err = { 0 };
	char who[17];
	uint64_t height;
	bool checked;

	short_pk(from, who);
	if (mc_bundle_decode(body, len, &b, &err) != 0) {
		mc_engine_log("commit from %s refused: %s", who, err.msg);
		reply_text(r, 400, err.msg);
		return;
	}
	pthread_mutex_lock(&e->chain_mu);
	pthread_mutex_lock(&e->mu);
	height = e->height;
	checked = e->has_checked && memcmp(e->checked, b.hash, MC_HASH_LEN) == 0;
	if (b.h.height > height + 1 && b.h.height > e->sync_hint) {
		e->sync_hint = b.h.height;
		pthread_cond_broadcast(&e->cv);
	}
	pthread_mutex_unlock(&e->mu);
	if (b.h.height <= height) {
		struct hash_at_ctx c = { b.h.height, { 0 }, false };

		if (mc_store_read(e->s, hash_at_txn, &c, &err) == 0 && c.found &&
		    memcmp(c.hash, b.hash, MC_HASH_LEN) != 0) {
			mc_engine_log("commit from %s refused: another block at height %llu than ours (a fork)",
				      who, (unsigned long long)b.h.height);
			reply_text(r, 409, _("this node committed another block at that height"));
		} else {
			reply_text(r, 200, "ok");
		}
	} else if (b.h.height > height + 1) {
		reply_text(r, 202, _("behind: catching up"));
	} else if (apply_block(e, &b, MC_APPLY_COMMIT | (checked ? MC_APPLY_SIGS_CHECKED : 0), false, &err) != 0) {
		mc_engine_log("commit %llu from %s refused: %s", (unsigned long long)b.h.height, who, err.msg);
		reply_text(r, 422, err.msg);
	} else {
		pthread_mutex_lock(&e->mu);
		set_commit(e, &b, &b.cert);
		after_commit(e);
		pthread_mutex_unlock(&e->mu);
		reply_text(r, 200, "ok");
	}
	pthread_mutex_unlock(&e->chain_mu);
	mc_bundle_release(&b);
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
	struct mc_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	e->c = *c;
	e->s = c->s;
	e->node = c->node;
	if (!e->c.block_interval_ms)
		e->c.block_interval_ms = 50;
	if (!e->c.max_block_txs)
		e->c.max_block_txs = 5000;
	if (!e->c.mempool_max)
		e->c.mempool_max = 200000;
	e->started_ms = mc_now_ms();
	e->leader_seen_ms = e->started_ms;
	{
		const char *tc = getenv("MEDCHAIN_TEST_CRASH");

		e->test_crash = !tc ? 0 : strcmp(tc, "leader-after-votes") == 0 ? 1
				  : strcmp(tc, "leader-after-commit") == 0 ? 2 : 0;
	}
	mc_buf_init(&e->prop);
	mc_buf_init(&e->vc_body);
	mc_buf_init(&e->vc_relay);
	mc_buf_init(&e->commit);
	pthread_mutex_init(&e->mu, NULL);
	pthread_mutex_init(&e->chain_mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	if (mc_replay_new(MC_REPLAY_DEFAULT, &e->replay, err) != 0 || cache_load(e, err) != 0 ||
	    mc_store_read(e->s, vc_get_txn, e, err) != 0) {
		mc_replay_free(e->replay);
		free(e);
		return -1;
	}
	pthread_mutex_lock(&e->mu);
	peers_refresh(e);
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
	for (size_t i = 0; i < e->mp_n; i++) {
		free(e->mp[i]->bytes);
		free(e->mp[i]);
	}
	free(e->mp);
	mc_buf_release(&e->prop);
	mc_buf_release(&e->commit);
	mc_buf_release(&e->vc_body);
	mc_buf_release(&e->vc_relay);
	mc_replay_free(e->replay);
	if (e->c.status_file)
		unlink(e->c.status_file);
	free(e);
}
