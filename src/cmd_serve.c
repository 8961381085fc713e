/* cmd_serve.c - `medchain serve`: the peer API and block production, and
 * the CLI's way to write on a chain of several validators (through the
 * node's own serve). */
#include "config.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "engine.h"
#include "httpd.h"
#include "i18n.h"
#include "peer.h"
#include "valset.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* The URL the CLI reaches this node's serve at. */
static void local_url(const struct mc_cli *cli, char *out, size_t n)
{
	const char *l = *cli->conf.listen ? cli->conf.listen : "127.0.0.1:7400";
	const char *scheme = *cli->conf.tls_cert ? "https" : "http";

	if (strncmp(l, "0.0.0.0:", 8) == 0)
		snprintf(out, n, "%s://127.0.0.1%s", scheme, l + 7);
	else if (strncmp(l, "[::]:", 5) == 0)
		snprintf(out, n, "%s://[::1]%s", scheme, l + 4);
	else
		snprintf(out, n, "%s://%s", scheme, l);
}

int cmd_serve(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_err err = { 0 };
	struct mc_key *node = NULL;
	struct mc_engine *e = NULL;
	struct mc_httpd *h = NULL;
	struct mc_engine_conf ec;
	struct mc_httpd_conf hc;
	char status_file[4200];
	struct sigaction sa;
	char *pos[1];
	int npos, rc = -1;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (!*cli->conf.listen) {
		mc_err_set(&err, EX_CONFIG, _("serve needs [node] listen (host:port) in medchain.conf or MEDCHAIN_LISTEN"));
		return mc_cli_fail(&err);
	}
	if (mc_cli_open(cli, 0, &err) != 0 || mc_cli_load_role_key(cli, "node", &node, &err) != 0)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		mc_err_set(&err, EX_SOFTWARE, _("cannot start libcurl"));
		goto out;
	}
	mc_cli_path(cli, status_file, sizeof(status_file), "serve.status.json");
	memset(&ec, 0, sizeof(ec));
	ec.s = cli->store;
	ec.node = node;
	ec.name = *cli->conf.node_name ? cli->conf.node_name : "";
	ec.status_file = status_file;
	ec.peers = cli->conf.peers;
	ec.ca_file = *cli->conf.ca_file ? cli->conf.ca_file : NULL;
	ec.block_interval_ms = cli->conf.block_interval_ms;
	ec.max_block_txs = cli->conf.max_block_txs;
	ec.leader_timeout_ms = cli->conf.leader_timeout_ms;
	memset(&hc, 0, sizeof(hc));
	hc.listen = cli->conf.listen;
	hc.tls_cert = *cli->conf.tls_cert ? cli->conf.tls_cert : NULL;
	hc.tls_key = *cli->conf.tls_key ? cli->conf.tls_key : NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (mc_engine_start(&ec, &e, &err) != 0 || mc_httpd_start(&hc, e, &h, &err) != 0)
		goto out;
	mc_engine_log("listening on %s", cli->conf.listen);
	while (!stop_signal)
		pause();
	mc_engine_log("stopping (signal %d)", (int)stop_signal);
	rc = 0;
out:
	mc_httpd_stop(h);
	mc_engine_stop(e);
	mc_key_free(node);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- writes through the node's serve --------------------------------------- */

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

/* Reads serve's answer: every tx committed (the highest height), or the
 * first refusal's reason. */
static int txs_answer(const struct mc_peer_resp *r, uint64_t *height, size_t *n, struct mc_err *err)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->len);
	const cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "txs") : NULL, *o;
	int rc = 0;

	*height = 0;
	*n = 0;
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(j);
		return mc_err_set(err, r->status >= 500 ? EX_UNAVAILABLE : EX_PROTOCOL,
				  _("medchain serve answered HTTP %ld: %.200s"), r->status, (const char *)r->body);
	}
	cJSON_ArrayForEach(o, a) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "state");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "height");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "error");

		(*n)++;
		if (rc != 0 || !cJSON_IsString(st))
			continue;
		if (strcmp(st->valuestring, "committed") == 0 && cJSON_IsNumber(h)) {
			if ((uint64_t)h->valuedouble > *height)
				*height = (uint64_t)h->valuedouble;
		} else if (strcmp(st->valuestring, "refused") == 0) {
			rc = mc_err_set(err, EX_DATAERR, "%s", cJSON_IsString(why) ? why->valuestring : "refused");
		} else {
			rc = mc_err_set(err, EX_TEMPFAIL, _("not committed yet: the leader may be down (try again)"));
		}
	}
	cJSON_Delete(j);
	return rc;
}

static int remote_submit(const uint8_t *txs, size_t len, struct mc_produced *out, void *ctx,
			 struct mc_err *err)
{
	struct mc_cli *cli = ctx;
	struct mc_key *node = NULL;
	struct mc_peer_client *cl = NULL;
	struct mc_peer_resp r;
	struct head_ctx hc;
	char url[700];
	size_t n = 0;
	int rc;

	memset(&hc, 0, sizeof(hc));
	memset(&r, 0, sizeof(r));
	local_url(cli, url, sizeof(url));
	if (mc_store_read(cli->store, head_txn, &hc, err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &node, err) != 0 ||
	    mc_peer_client_new(*cli->conf.ca_file ? cli->conf.ca_file : NULL, &cl, err) != 0) {
		mc_key_free(node);
		return -1;
	}
	{
		/* MEDCHAIN_COMMIT_TIMEOUT: seconds to wait for the commit (default 60) */
		const char *env = getenv("MEDCHAIN_COMMIT_TIMEOUT");
		long secs = env && *env ? strtol(env, NULL, 10) : 60;
		char path[64];

		if (secs < 1 || secs > 120)
			secs = 60;
		snprintf(path, sizeof(path), "/v1/tx?wait=%ld", secs * 1000);
		rc = mc_peer_call(cl, hc.head.chain_id, node, url, "POST", path, txs, len, node->pk,
				  secs * 1000 + 10000, 16u << 20, &r, err);
	}
	if (rc != 0 && err->code == EX_UNAVAILABLE)
		mc_err_wrap(err, _("this chain has several validators and writes go through `medchain serve` at %s"),
			    url);
	if (rc == 0)
		rc = txs_answer(&r, &hc.height, &n, err);
	mc_peer_resp_release(&r);
	mc_peer_client_free(cl);
	mc_key_free(node);
	if (rc != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->height = hc.height;
	out->tx_count = (uint32_t)n;
	if (mc_store_read(cli->store, head_txn, &hc, err) != 0)
		return -1;
	memcpy(out->hash, hc.hash, MC_HASH_LEN);
	return 0;
}

void mc_cli_use_serve(struct mc_cli *cli)
{
	mc_chain_set_remote(remote_submit, cli);
}

/* ---- node promote ------------------------------------------------------------ */

struct leader_ctx {
	uint8_t leader[MC_PK_LEN];
	uint64_t view;
	struct mc_head head;
};

static int leader_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct leader_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	return mc_chain_leader(t, c->leader, &c->view, err);
}

int cmd_node_promote(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1], url[700], path[200];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_key *node = NULL;
	struct mc_peer_client *cl = NULL;
	struct mc_peer_resp r;
	struct leader_ctx lc;
	uint8_t want[MC_PK_LEN];
	uint64_t until;

	if (mc_cli_parse(a, NULL, 0, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || strlen(pos[0]) != 2 * MC_PK_LEN || mc_unhex(pos[0], want, MC_PK_LEN) != 0)
		return mc_cli_usage(_("node promote needs the new leader's key: 64 hex digits (`node list` shows them)"));
	memset(&r, 0, sizeof(r));
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0 || mc_store_read(cli->store, leader_txn, &lc, &err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &node, &err) != 0 ||
	    mc_peer_client_new(*cli->conf.ca_file ? cli->conf.ca_file : NULL, &cl, &err) != 0)
		goto out;
	if (memcmp(lc.leader, want, MC_PK_LEN) == 0) {
		mc_err_set(&err, EX_DATAERR, _("that node is the leader already (view %llu)"), (unsigned long long)lc.view);
		goto out;
	}
	local_url(cli, url, sizeof(url));
	snprintf(path, sizeof(path), "/v1/promote?leader=%s", pos[0]);
	if (mc_peer_call(cl, lc.head.chain_id, node, url, "POST", path, NULL, 0, node->pk, 30000, 4096, &r, &err) != 0)
		goto out;
	if (r.status != 202) {
		mc_err_set(&err, r.status == 503 ? EX_TEMPFAIL : EX_DATAERR, "%.300s", (const char *)r.body);
		goto out;
	}
	/* the change is done when this node has the VIEW_CHANGE block */
	for (until = mc_now_ms() + 30000; mc_now_ms() < until; usleep(100000)) {
		if (mc_store_read(cli->store, leader_txn, &lc, &err) != 0)
			goto out;
		if (memcmp(lc.leader, want, MC_PK_LEN) == 0)
			break;
	}
	if (memcmp(lc.leader, want, MC_PK_LEN) != 0) {
		mc_err_set(&err, EX_TEMPFAIL, _("the validators agreed, but the new leader has not taken over yet"));
		goto out;
	}
	if (cli->json)
		printf("{\"leader\":\"%s\",\"view\":%llu,\"height\":%llu}\n", pos[0], (unsigned long long)lc.view,
		       (unsigned long long)lc.head.height);
	else if (!cli->quiet)
		printf(_("%.16s leads view %llu from block %llu\n"), pos[0], (unsigned long long)lc.view,
		       (unsigned long long)lc.head.height);
	rc = 0;
out:
	mc_peer_resp_release(&r);
	mc_peer_client_free(cl);
	mc_key_free(node);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
