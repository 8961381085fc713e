/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_serve.c - `medchain serve`: the peer API and block production, and
 * the CLI's way to write on a chain of several validators (through the
 * node's own serve). */
#include "config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "engine.h"
#include "httpd.h"
#include "metrics.h"
#include "i18n.h"
#include "log.h"
#include "nodekey.h"
#include "notify.h"
#include "peer.h"
#include "replica.h"
#include "valset.h"


/* ---- this node's address on the chain ---------------------------------------- */

/* [node] url, else the listen address when it names one. */
static bool advertised_url(const struct mc_cli *cli, char *out, size_t n)
{
	const char *l = cli->conf.listen;

	if (*cli->conf.url) {
		snprintf(out, n, "%.256s", cli->conf.url);
		return true;
	}
	if (strncmp(l, "0.0.0.0:", 8) == 0 || strncmp(l, "[::]:", 5) == 0 || *l == ':')
		return false;
	mc_cli_serve_url(cli, out, n);
	return true;
}

struct addr_ctx {
	const uint8_t *pk;
	struct mc_head head;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	uint64_t epoch;
	bool member;
	char url[MC_URL_MAX + 1];
};

static int addr_visit(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url, void *ctx)
{
	struct addr_ctx *c = ctx;

	(void)added;
	if (memcmp(pk, c->pk, MC_PK_LEN) == 0 && !removed)
		snprintf(c->url, sizeof(c->url), "%s", url);
	return 0;
}

static int addr_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct addr_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	if (c->head.empty)
		return 0;
	if (mc_chain_validators(t, c->vals, &c->nval, err) != 0 || mc_chain_valset_epoch(t, &c->epoch, err) != 0 ||
	    mc_nodes_each(t, addr_visit, c, err) != 0)
		return -1;
	for (size_t i = 0; i < c->nval; i++)
		c->member = c->member || memcmp(c->vals[i], c->pk, MC_PK_LEN) == 0;
	return 0;
}

struct announce_ctx {
	const struct mc_key *node;
	const struct mc_buf *body;
};

static int announce_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct announce_ctx *c = vctx;

	return mc_builder_add_new(t, b, c->node, MC_TX_NODE_ADD, c->body->data, c->body->len, NULL, 0, err);
}

/* The chain holds every validator's address, the first one's too: a node
 * whose [node] peers names any validator finds the leader. A sole
 * validator records its own (its approval is a quorum); one of several
 * says how to change it. */
static int announce_url(struct mc_cli *cli, const struct mc_key *node, struct mc_err *err)
{
	struct addr_ctx c;
	char url[MC_URL_MAX + 1];
	struct mc_node_add add;
	struct mc_approval mine;
	struct announce_ctx ac;
	struct mc_produced out;
	struct mc_buf body;
	uint8_t d[MC_HASH_LEN];
	const char *name = *cli->conf.node_name ? cli->conf.node_name : "node";
	int rc;

	memset(&c, 0, sizeof(c));
	c.pk = node->pk;
	if (mc_store_read(cli->store, addr_txn, &c, err) != 0)
		return -1;
	if (c.head.empty || !c.member)
		return 0;
	if (!advertised_url(cli, url, sizeof(url))) {
		if (!*c.url)
			mc_log(LOG_WARNING, NULL, "this node has no address on the chain and listens on every address: set [node] url so that other nodes can reach it");
		return 0;
	}
	if (strcmp(url, c.url) == 0)
		return 0;
	if (!mc_node_url_valid((const uint8_t *)url, strlen(url)))
		return mc_err_set(err, EX_CONFIG, _("[node] url: '%s' is not an http:// or https:// URL"), url);
	if (c.nval != 1) {
		mc_log(LOG_WARNING, NULL, "this node's address on the chain is '%s' but it is reached at '%s': a quorum of validators changes it with `medchain node add %s KEY`",
			      c.url, url, url);
		return 0;
	}
	memset(&add, 0, sizeof(add));
	memcpy(add.pk, node->pk, MC_PK_LEN);
	add.name = (const uint8_t *)name;
	add.name_len = strlen(name);
	add.url = (const uint8_t *)url;
	add.url_len = strlen(url);
	add.epoch = c.epoch;
	mc_node_change_digest(c.head.chain_id, MC_NODE_OP_ADD, add.pk, add.name, add.name_len, add.url, add.url_len,
			      add.epoch, d);
	mc_approval_sign(d, node->sk, node->pk, &mine);
	if (mc_approvals_add(&add.approvals, &mine, err) != 0)
		return -1;
	mc_buf_init(&body);
	mc_node_add_encode(&add, &body);
	ac.node = node;
	ac.body = &body;
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_chain_produce(cli->store, node, announce_build, &ac, &out, err);
	mc_buf_release(&body);
	if (rc == 0)
		mc_log(LOG_INFO, NULL, "this node's address on the chain is now %s (block %llu)", url,
			      (unsigned long long)out.height);
	return rc;
}

/* The engine's rekey: a rotation of this node's key committed. The key
 * files follow the chain (nodekey.h), and the new node.key is loaded with
 * the passphrase serve started with (it stays in guarded memory). */
static int rekey(void *ctx, const uint8_t current[MC_PK_LEN], struct mc_key **key, struct mc_err *err)
{
	struct mc_cli *cli = ctx;
	enum mc_nodekey_state st;
	char keys[PATH_MAX];
	uint8_t pk[MC_PK_LEN];
	bool sealed;

	*key = NULL;
	mc_cli_path(cli, keys, sizeof(keys), "keys");
	if (mc_nodekey_settle(keys, cli->store, &st, err) != 0)
		return -1;
	/* switched here, or by a command that loaded the node key first */
	mc_cli_path(cli, keys, sizeof(keys), "keys/node.key");
	if (mc_key_peek(keys, pk, &sealed, err) != 0)
		return -1;
	if (memcmp(pk, current, MC_PK_LEN) == 0)
		return 0;
	return mc_cli_load_key_file(cli, keys, key, err);
}

/* The chain's head; with height set, the hash of that block too. */
struct head_ctx {
	struct mc_head head;
	uint64_t height;
	uint8_t hash[MC_HASH_LEN];
};

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct head_ctx *c = vctx;
	struct mc_header h;
	struct mc_cert cert;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	if (c->height && mc_chain_block(t, c->height, &h, &cert, err) == 0)
		mc_block_hash(&h, c->hash);
	return 0;
}

/* The height in the store (for the READY=1 status; 0 when unknown). */
static uint64_t serve_height(struct mc_cli *cli)
{
	struct head_ctx hc;
	struct mc_err err = { 0 };

	memset(&hc, 0, sizeof(hc));   /* height 0: the head alone */
	if (mc_store_read(cli->store, head_txn, &hc, &err) != 0 || hc.head.empty)
		return 0;
	return hc.head.height;
}

/* A rotation under way (the node key is settled when it is loaded): its
 * next key too, or NULL. */
static int serve_pending_key(struct mc_cli *cli, struct mc_key **pending, struct mc_err *err)
{
	char next[PATH_MAX], keys[PATH_MAX];

	mc_cli_path(cli, keys, sizeof(keys), "keys");
	mc_nodekey_next_path(keys, next, sizeof(next));
	if (access(next, F_OK) != 0)
		return 0;
	if (mc_cli_load_key_file(cli, next, pending, err) != 0)
		return -1;
	mc_log(LOG_NOTICE, NULL, "a rotation of this node's key is under way (keys/node.next.key): it is taken once the chain has it");
	return 0;
}

/* The engine's and the peer API's configuration from medchain.conf. */
static void serve_confs(struct mc_cli *cli, struct mc_key *node, struct mc_key *pending, const char *status_file,
			struct mc_engine_conf *ec, struct mc_httpd_conf *hc)
{
	memset(ec, 0, sizeof(*ec));
	ec->s = cli->store;
	ec->node = node;
	ec->name = *cli->conf.node_name ? cli->conf.node_name : "";
	ec->status_file = status_file;
	ec->peers = cli->conf.peers;
	ec->ca_file = *cli->conf.ca_file ? cli->conf.ca_file : NULL;
	ec->block_interval_ms = cli->conf.block_interval_ms;
	ec->max_block_txs = cli->conf.max_block_txs;
	ec->mempool_max = cli->conf.pool_txs;
	ec->mempool_bytes = (size_t)cli->conf.pool_mib * 1024 * 1024;
	ec->leader_timeout_ms = cli->conf.leader_timeout_ms;
	ec->tick = mc_notify_tick;
	ec->rekey = rekey;
	ec->rekey_ctx = cli;
	ec->pending = pending;
	memset(hc, 0, sizeof(*hc));
	hc->listen = cli->conf.listen;
	hc->tls_cert = *cli->conf.tls_cert ? cli->conf.tls_cert : NULL;
	hc->tls_key = *cli->conf.tls_key ? cli->conf.tls_key : NULL;
}

/* The process's setup for a long life: memory given back, a peer gone away
 * is an error on its socket, and SIGTERM and SIGINT blocked in this thread
 * before any other starts, so that every thread inherits the block and the
 * signals stay pending for serve_wait. (With a handler instead, the kernel
 * may run it on any thread: the flag was set while the main thread slept on
 * in pause(), and serve never stopped.) */
static void serve_process(sigset_t *stops)
{
	/* Large bodies come and go: each in its own mapping, given back to
	 * the system when freed, so that memory follows what is in flight. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stops);
	sigaddset(stops, SIGTERM);
	sigaddset(stops, SIGINT);
	pthread_sigmask(SIG_BLOCK, stops, NULL);
}

/* Until SIGTERM or SIGINT, whichever thread it was sent to; returns it. */
static int serve_wait(const sigset_t *stops)
{
	int sig = 0;

	while (sigwait(stops, &sig) != 0)
		;
	return sig;
}

int cmd_serve(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_metrics_conf mcf = { 0 };
	struct mc_err err = { 0 };
	struct mc_key *pending = NULL;
	struct mc_engine *e = NULL;
	struct mc_httpd *h = NULL;
	struct mc_metrics *m = NULL;
	struct mc_engine_conf ec;
	struct mc_httpd_conf hc;
	char status_file[PATH_MAX];
	char *pos[1];
	sigset_t stops;
	int npos, sig, rc = -1;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	mc_log_open("serve");
	if (!*cli->conf.listen) {
		mc_err_set(&err, EX_CONFIG, _("serve needs [node] listen (host:port) in medchain.conf or MEDCHAIN_LISTEN"));
		return mc_cli_fail(&err);
	}
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || serve_pending_key(cli, &pending, &err) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		mc_err_set(&err, EX_SOFTWARE, _("cannot start libcurl"));
		goto out;
	}
	mc_cli_path(cli, status_file, sizeof(status_file), "serve.status.json");
	serve_confs(cli, cli->node_key, pending, status_file, &ec, &hc);
	mc_notify_init();
	serve_process(&stops);
	mcf.listen = cli->conf.metrics_listen;
	mcf.s = cli->store;
	mcf.datadir = cli->datadir;
	if (mc_serve_metrics_hooks(&mcf, cli->datadir, &cli->conf, &err) != 0)
		goto out;
	if (mc_engine_start(&ec, &e, &err) != 0 || mc_httpd_start(&hc, e, &h, &err) != 0 ||
	    (*cli->conf.metrics_listen && (mcf.e = e, mc_metrics_start(&mcf, &m, &err)) != 0) ||
	    announce_url(cli, cli->node_key, &err) != 0)   /* once it is reachable there */
		goto out;
	mc_log(LOG_INFO, NULL, "listening on %s", cli->conf.listen);
	if (m)
		mc_log(LOG_INFO, NULL, "/healthz and /metrics on %s", cli->conf.metrics_listen);
	mc_notify_ready(cli->conf.listen, serve_height(cli));
	sig = serve_wait(&stops);
	mc_log(LOG_INFO, NULL, "stopping (signal %d)", sig);
	rc = 0;
out:
	mc_notify_stopping();
	mc_metrics_stop(m);
	mc_serve_metrics_hooks_free(&mcf);
	mc_httpd_stop(h);
	mc_engine_stop(e);
	mc_key_free(pending);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- writes through the node's serve --------------------------------------- */

/* What serve said of a submission. */
enum answer { ANS_COMMITTED, ANS_STALE, ANS_REFUSED, ANS_PENDING };

/* Reads serve's answer: every tx committed (the highest height), a tx
 * refused only for its sequence number (stale: its author's number went to
 * another writer), another refusal, or still pending (with why). */
static enum answer txs_answer(const struct mc_peer_resp *r, uint64_t *height, size_t *n, struct mc_err *err)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->len);
	const cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "txs") : NULL, *o;
	const cJSON *why = j ? cJSON_GetObjectItemCaseSensitive(j, "why") : NULL;
	enum answer ans = ANS_COMMITTED;

	*height = 0;
	*n = 0;
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(j);
		mc_err_set(err, r->status >= 500 ? EX_UNAVAILABLE : EX_PROTOCOL,
			   _("medchain serve answered HTTP %ld: %.200s"), r->status, (const char *)r->body);
		return r->status >= 500 ? ANS_PENDING : ANS_REFUSED;
	}
	cJSON_ArrayForEach(o, a) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "height");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");

		(*n)++;
		if (!cJSON_IsString(st) || ans == ANS_REFUSED)
			continue;
		if (strcmp(st->valuestring, "committed") == 0 && cJSON_IsNumber(h)) {
			if ((uint64_t)h->valuedouble > *height)
				*height = (uint64_t)h->valuedouble;
		} else if (strcmp(st->valuestring, "refused") == 0 &&
			   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stale"))) {
			ans = ANS_STALE;
		} else if (strcmp(st->valuestring, "refused") == 0) {
			mc_err_set(err, EX_DATAERR, "%s", cJSON_IsString(e) ? e->valuestring : "refused");
			ans = ANS_REFUSED;
		} else if (ans == ANS_COMMITTED) {
			ans = ANS_PENDING;
		}
	}
	if (ans == ANS_PENDING)
		mc_err_set(err, EX_TEMPFAIL, _("not committed yet: %s (try again: the same command is the same write)"),
			   cJSON_IsString(why) ? why->valuestring : _("no answer in time"));
	cJSON_Delete(j);
	return ans;
}

/* Every tx of the bundle is in this node's own store (applied from a
 * block whose certificate this node checked): serve's word is not taken
 * for it. */
struct mine_ctx {
	const uint8_t *txs;
	size_t len;
	bool all;
	/* after a stale refusal: the first stale author and number */
	uint8_t author[MC_PK_LEN];
	uint64_t seq, next;
};

static int mine_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mine_ctx *c = vctx;
	struct mc_txin *in = NULL;
	size_t n = 0;

	c->all = false;
	if (mc_txbundle_decode(c->txs, c->len, &in, &n, err) != 0)
		return -1;
	c->all = true;
	for (size_t i = 0; i < n && c->all; i++) {
		struct mc_tx tx;
		uint8_t h[MC_HASH_LEN];
		const void *v;
		size_t vn;
		int rc;

		if (mc_tx_decode(in[i].tx, in[i].tx_len, &tx, err) != 0) {
			free(in);
			return -1;
		}
		mc_tx_hash(&tx, h);
		rc = mc_txn_get(t, MC_DB_TXIDX, h, MC_HASH_LEN, &v, &vn, err);
		if (rc < 0) {
			free(in);
			return -1;
		}
		if (rc != 0) {
			c->all = false;
			memcpy(c->author, tx.author, MC_PK_LEN);
			c->seq = tx.seq;
			if (mc_builder_next_seq(t, tx.author, &c->next, err) != 0) {
				free(in);
				return -1;
			}
		}
	}
	free(in);
	return 0;
}

/* Hands txs to the node's serve and reads the answer. */
static enum answer send_txs(struct mc_cli *cli, const struct mc_key *node, const struct head_ctx *hc,
			    const uint8_t *txs, size_t len, uint64_t *height, size_t *n, struct mc_err *err)
{
	struct mc_peer_client *cl = NULL;
	struct mc_peer_resp r;
	char url[700], path[64];
	/* MEDCHAIN_COMMIT_TIMEOUT: seconds to wait for the commit (default 60) */
	const char *env = getenv("MEDCHAIN_COMMIT_TIMEOUT");
	long secs = env && *env ? strtol(env, NULL, 10) : 60;
	enum answer ans;

	memset(&r, 0, sizeof(r));
	mc_cli_serve_url(cli, url, sizeof(url));
	if (secs < 1 || secs > 120)
		secs = 60;
	snprintf(path, sizeof(path), "/v1/tx?wait=%ld", secs * 1000);
	if (mc_peer_client_new(*cli->conf.ca_file ? cli->conf.ca_file : NULL, &cl, err) != 0)
		return ANS_REFUSED;
	if (mc_peer_call(cl, hc->head.chain_id, node, url, "POST", path, txs, len, node->pk, secs * 1000 + 10000,
			 16u << 20, &r, err) != 0) {
		if (err->code == EX_UNAVAILABLE)
			mc_err_wrap(err, _("this chain has several validators and writes go through `medchain serve` at %s"),
				    url);
		ans = ANS_PENDING;
	} else {
		ans = txs_answer(&r, height, n, err);
	}
	mc_peer_resp_release(&r);
	mc_peer_client_free(cl);
	if (ans == ANS_COMMITTED) {
		/* this node's own store, never serve's (or a leader's) word */
		struct mine_ctx mc = { txs, len, false, { 0 }, 0, 0 };

		if (mc_store_read(cli->store, mine_txn, &mc, err) != 0)
			return ANS_PENDING;
		if (!mc.all) {
			mc_err_set(err, EX_TEMPFAIL,
				   _("medchain serve answered committed, but the tx is not in this node's store: try again"));
			return ANS_PENDING;
		}
	}
	return ans;
}

/* After a stale refusal: waits (3 s at most) until this node's store has
 * the tx that took the number, so that the next build picks a fresh one. */
static void wait_seq_taken(struct mc_cli *cli, const uint8_t *txs, size_t len)
{
	struct mc_err err = { 0 };

	for (int i = 0; i < 600; i++) {
		struct mine_ctx mc = { txs, len, false, { 0 }, 0, 0 };

		if (mc_store_read(cli->store, mine_txn, &mc, &err) != 0 || mc.all || mc.next > mc.seq)
			break;
		usleep(5000);
	}
	/* writers that collided should not collide again in step */
	{
		uint32_t jitter;

		mc_random(&jitter, sizeof(jitter));
		usleep(1000 + jitter % 20000);
	}
}

/* This very write timed out before: its txs (kept in the outbox under
 * key) may still commit. They go first; only once they are refused can
 * new ones go. 1: they committed (at hc->height, *n of them); 0: none
 * kept, or refused; -1: an error, or still unknown (they stay in the
 * outbox). */
static int resend_kept(struct mc_cli *cli, const struct mc_key *node, struct head_ctx *hc,
		       const uint8_t key[MC_HASH_LEN], size_t *n, struct mc_err *err)
{
	struct mc_buf old;
	uint8_t seed[32], content[MC_HASH_LEN];
	enum answer ans;
	int found;

	mc_buf_init(&old);
	mc_request_content(&cli->req, content);
	/* another write's txs under this key are refused here, never sent */
	found = mc_outbox_get(cli->store, key, content, seed, &old, err);
	if (found != 0) {
		mc_buf_release(&old);
		return found < 0 ? -1 : 0;
	}
	ans = send_txs(cli, node, hc, old.data, old.len, &hc->height, n, err);
	mc_buf_release(&old);
	if (ans == ANS_COMMITTED)
		return 1;
	if (ans == ANS_PENDING)
		return -1;
	mc_err_clear(err);   /* refused: it can never commit; the new txs go */
	return 0;
}

static int remote_submit(const uint8_t *txs, size_t len, unsigned attempt, struct mc_produced *out, void *ctx,
			 struct mc_err *err)
{
	struct mc_cli *cli = ctx;
	struct mc_key *own = NULL;   /* loaded here when the command's setup did not */
	const struct mc_key *node = cli->node_key;
	struct head_ctx hc;
	uint8_t key[MC_HASH_LEN];
	bool kept = cli->req.same_write;
	size_t n = 0;
	enum answer ans;
	int rc = -1;

	memset(&hc, 0, sizeof(hc));
	if (mc_store_read(cli->store, head_txn, &hc, err) != 0 ||
	    (!node && mc_cli_load_role_key(cli, "node", &own, err) != 0)) {
		mc_key_free(own);
		return -1;
	}
	if (!node)
		node = own;
	mc_request_key(&cli->req, key);
	if (kept && attempt == 0) {
		int r = resend_kept(cli, node, &hc, key, &n, err);

		if (r < 0)
			goto out;
		if (r > 0) {
			mc_outbox_del(cli->store, key, NULL);
			goto committed;
		}
	}
	/* kept before it leaves: a timeout leaves it for the retry */
	if (kept) {
		uint8_t seed[32], content[MC_HASH_LEN];

		mc_request_content(&cli->req, content);
		if (mc_request_seed(&cli->req, cli->store, seed, err) != 0 ||
		    mc_outbox_put(cli->store, key, content, seed, txs, len, err) != 0)
			goto out;
	}
	ans = send_txs(cli, node, &hc, txs, len, &hc.height, &n, err);
	if (ans == ANS_PENDING)
		goto out;
	if (kept)   /* its txs are decided: committed or refused */
		mc_outbox_del(cli->store, key, NULL);
	if (ans == ANS_STALE) {
		wait_seq_taken(cli, txs, len);
		rc = MC_REMOTE_STALE;
		goto out;
	}
	if (ans == ANS_REFUSED) {
		mc_request_done(&cli->req);
		goto out;
	}
committed:
	mc_request_done(&cli->req);
	memset(out, 0, sizeof(*out));
	out->height = hc.height;
	out->tx_count = (uint32_t)n;
	if (mc_store_read(cli->store, head_txn, &hc, err) != 0)
		goto out;
	memcpy(out->hash, hc.hash, MC_HASH_LEN);
	rc = 0;
out:
	mc_key_free(own);
	return rc;
}

void mc_cli_use_serve(struct mc_cli *cli)
{
	mc_cli_set_remote(cli, remote_submit, cli);
}
