/* SPDX-License-Identifier: Apache-2.0 */
/* adversary - a misbehaving peer for the integration tests, holding a real
 * validator's key (DATADIR's keys/node.key) or none: it sends a node what
 * `medchain serve` must refuse, and prints the HTTP status of each answer
 * on one line; or it serves a validator's address and lies.
 *
 * Requests (URL: the node attacked):
 *   adversary DATADIR URL outsider          signed by a key outside the set
 *   adversary DATADIR URL outsiders N       N requests, each by a new random key
 *   adversary DATADIR URL replay            one signed request sent twice
 *   adversary DATADIR URL replay-save FILE  a signed GET /v1/status, sent once; its
 *                                           headers kept in FILE
 *   adversary DATADIR URL replay-load FILE  those headers sent again
 *   adversary DATADIR URL replay-flood N    a request, then N with new nonces from
 *                                           the same key, then the first again:
 *                                           "first S flood A ok L limited replay R"
 *   adversary DATADIR URL stale             signed 60 s ago
 *   adversary DATADIR URL oversize BYTES [PATH]
 *                                           a body of BYTES (signed) to PATH (/v1/tx)
 *   adversary DATADIR URL equivocate        two blocks at one height and view,
 *                                           both signed by DATADIR's node (the leader)
 *   adversary DATADIR URL forged-commit     a block whose certificate holds forged votes
 *   adversary DATADIR URL missing-vote      a block whose certificate lacks a quorum
 *   adversary DATADIR URL commit-height H   a commit of a block claiming height H,
 *                                           its certificate forged
 *   adversary DATADIR URL propose-height H  a proposal claiming height H
 *   adversary DATADIR URL nonleader-propose a proposal for the next height by
 *                                           DATADIR's node (not the leader) holding a
 *                                           tx with a bad signature: prints the status
 *                                           and the answer's first line
 *   adversary DATADIR URL view-vote V [timeout]
 *                                           asks for a vote to move to view V under
 *                                           DATADIR's node: the status, and the
 *                                           answer's first line
 *   adversary DATADIR URL junk N BYTES      N txs at once, each from a new unenrolled
 *                                           key with an attachment of BYTES: each
 *                                           answer's status ("closed": none came)
 *   adversary DATADIR URL enroll N          N enrolments signed by DATADIR's admin,
 *                                           sent at once; prints the answer's HTTP status
 *   adversary DATADIR URL enroll-named NAME an enrolment named NAME signed by
 *                                           DATADIR's admin; the answer's HTTP status
 *   adversary DATADIR URL flood N           N signed GETs of /v1/status on one connection,
 *                                           as fast as they go: "answered A limited L other O"
 *   adversary DATADIR URL fetch PATH        a signed GET; the answer's body on stdout
 *   adversary DATADIR URL get PATH          a signed GET; its status
 *   adversary DATADIR URL cert-with KEY DATADIR2
 *                                           a commit of an empty block at head + 1 by
 *                                           DATADIR's node (the leader), its certificate
 *                                           the votes of DATADIR's node, DATADIR2's node
 *                                           and the key file KEY (a retired key): the
 *                                           status, and the answer's first line
 *   adversary DATADIR - txbundle N          the enrolments' tx bundle on stdout (fuzz seeds)
 * Connections (no key):
 *   adversary DATADIR URL halfopen N        N connections from 127.0.0.2-5, each
 *                                           sending half a request and holding it;
 *                                           then a signed GET /v1/status from
 *                                           DATADIR's node: "status S in MS ms"
 *   adversary DATADIR URL bigbody N BYTES   N unauthenticated connections at once, each
 *                                           sending headers for a body of BYTES, the
 *                                           body after 2 s unanswered: each one's status
 *                                           and the slowest answer: "403 403 ... in MS ms"
 * A validator's address:
 *   adversary DATADIR LISTEN liar HEIGHT    serves LISTEN (host:port) as DATADIR's
 *                                           node: its status claims HEIGHT (with a
 *                                           forged head certificate), its blocks are
 *                                           none, every tx is "committed" and dropped,
 *                                           proposals get 409
 *
 * DATADIR is a node's data dir: its keys/node.key signs (or the key file
 * $MC_ADVERSARY_KEY names: a retired key, say), its store gives the
 * chain's head.
 */
#include "config.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "crypto.h"
#include "keystore.h"
#include "merkle.h"
#include "peerauth.h"
#include "blocks.h"
#include "replica.h"
#include "store.h"
#include "util.h"
#include "valset.h"

static uint8_t chain_id[MC_HASH_LEN];

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

/* One request on c with the given signature headers; returns the status
 * (also when a refusal closed the connection while the body still went).
 * The answer's body goes to out (NULL: nowhere). */
static long perform(CURL *c, const char *url, const char *method, const char *path, const void *body, size_t len,
		    const struct mc_peer_sig *sg, FILE *out)
{
	char k[MC_PEER_KEY_HEX], t[MC_PEER_TIME_DEC], n[MC_PEER_NONCE_HEX], s[MC_PEER_SIG_HEX];
	char b[MC_PEER_BODY_HEX], line[300], full[1024];
	const char *hv[][2] = { { MC_PEER_HDR_KEY, k }, { MC_PEER_HDR_TIME, t }, { MC_PEER_HDR_NONCE, n },
				{ MC_PEER_HDR_SIG, s }, { MC_PEER_HDR_BODY, b } };
	struct curl_slist *h = NULL;
	long status = 0;

	mc_peer_sig_headers(sg, k, t, n, s);
	mc_peer_body_header(sg, b);
	for (size_t i = 0; i < MC_ARRAY_LEN(hv); i++) {
		snprintf(line, sizeof(line), "%s: %s", hv[i][0], hv[i][1]);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	snprintf(full, sizeof(full), "%s%s", url, path);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, out ? NULL : sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 150L);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return status;
}

/* Sends one request on a new connection; returns the status. */
static long send_to(const char *url, const char *method, const char *path, const void *body,
		    size_t len, const struct mc_peer_sig *sg, FILE *out)
{
	CURL *c = curl_easy_init();
	long status = perform(c, url, method, path, body, len, sg, out);

	curl_easy_cleanup(c);
	return status;
}

static long send_raw(const char *url, const char *method, const char *path, const void *body,
		     size_t len, const struct mc_peer_sig *sg)
{
	return send_to(url, method, path, body, len, sg, NULL);
}

static long send_signed(const char *url, const struct mc_key *key, const char *method, const char *path,
			const void *body, size_t len, uint64_t time_ms)
{
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };

	if (mc_peer_sign_request(chain_id, key, method, path, body, len, time_ms, &sg, &err) != 0) {
		fprintf(stderr, "adversary: %s\n", err.msg);
		exit(70);
	}
	return send_raw(url, method, path, body, len, &sg);
}

struct build {
	const struct mc_key *node;
	uint64_t time_ms;
	struct mc_header h;
	bool built;
};

static int build_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct build *b = vctx;

	if (mc_block_build(t, b->node->pk, NULL, 0, NULL, 0, b->time_ms, NULL, NULL, &b->h, err) != 0)
		return -1;
	b->built = true;
	return -1;   /* never stored */
}

/* An empty block at head + 1 proposed by node at time_ms, with cert. */
static void block_bundle(struct mc_store *s, const struct mc_key *node, uint64_t time_ms,
			 const struct mc_cert *extra, struct mc_buf *out, bool own_vote)
{
	struct build b = { node, time_ms, { 0 }, false };
	struct mc_err err = { 0 };
	struct mc_cert cert;
	uint8_t hash[MC_HASH_LEN];

	mc_store_write(s, build_txn, &b, &err);
	if (!b.built) {
		fprintf(stderr, "adversary: cannot build a block: %s\n", err.msg);
		exit(70);
	}
	mc_block_hash(&b.h, hash);
	memset(&cert, 0, sizeof(cert));
	if (extra)
		cert = *extra;
	if (own_vote) {
		size_t j = cert.count;

		mc_vote_sign(hash, node->sk, node->pk, &cert.votes[j]);
		cert.count++;
		/* keep key order */
		while (j > 0 && memcmp(cert.votes[j - 1].pk, cert.votes[j].pk, MC_PK_LEN) > 0) {
			struct mc_vote v = cert.votes[j];

			cert.votes[j] = cert.votes[j - 1];
			cert.votes[j - 1] = v;
			j--;
		}
	}
	mc_bundle_encode(&b.h, &cert, NULL, 0, out);
}

struct seq_ctx {
	const uint8_t *pk;
	uint64_t next;
};

static int seq_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seq_ctx *c = vctx;
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_SEQS, c->pk, MC_PK_LEN, &v, &vn, err);

	if (rc < 0)
		return -1;
	c->next = rc == 0 && vn == 8 ? mc_from_be64(v) + 1 : 1;
	return 0;
}

/* N IDENTITY_ENROLL txs of fresh keys, signed by admin, as one tx bundle,
 * named bulk-I, or all `named` (NULL: bulk-I). */
static void enrolments_named(struct mc_store *s, const struct mc_key *admin, size_t n, const char *named,
			     struct mc_buf *out)
{
	struct seq_ctx sc = { admin->pk, 1 };
	struct mc_err err = { 0 };
	static const uint8_t empty_side[4];

	mc_store_read(s, seq_txn, &sc, &err);
	mc_put_u32(out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		struct mc_enroll e;
		struct mc_tx tx;
		struct mc_buf body, enc;
		char name[32];

		memset(&e, 0, sizeof(e));
		mc_random(e.pk, MC_PK_LEN);
		e.roles = MC_ROLE_CLINICIAN;
		snprintf(name, sizeof(name), "bulk-%zu", i);
		e.name = (const uint8_t *)(named ? named : name);
		e.name_len = strlen((const char *)e.name);
		mc_buf_init(&body);
		mc_enroll_encode(&e, &body);
		memset(&tx, 0, sizeof(tx));
		tx.version = MC_TX_VERSION;
		tx.type = MC_TX_IDENTITY_ENROLL;
		memcpy(tx.author, admin->pk, MC_PK_LEN);
		tx.timestamp_ms = mc_now_ms();
		tx.seq = sc.next + i;
		tx.body = body.data;
		tx.body_len = body.len;
		mc_tx_sign(&tx, chain_id, admin->sk);
		mc_buf_init(&enc);
		mc_tx_encode(&tx, &enc);
		mc_put_bytes(out, enc.data, enc.len);
		mc_put_bytes(out, empty_side, sizeof(empty_side));
		mc_buf_release(&enc);
		mc_buf_release(&body);
	}
}

static void enrolments(struct mc_store *s, const struct mc_key *admin, size_t n, struct mc_buf *out)
{
	enrolments_named(s, admin, n, NULL, out);
}

struct vals_ctx {
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t n;
	struct mc_head head;
	uint8_t leader[MC_PK_LEN];
	uint64_t view;
};

static int vals_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct vals_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0 || mc_chain_leader(t, c->leader, &c->view, err) != 0)
		return -1;
	return mc_chain_validators(t, c->vals, &c->n, err);
}

/* ---- more requests ------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One request on a kept connection (c reused), signed now by key; the
 * first line of the answer in first (when not NULL). */
static long send_on(CURL *c, const char *url, const struct mc_key *key, const char *method, const char *path,
		    const void *body, size_t len, char *first, size_t first_n)
{
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };
	long status;
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem = first ? open_memstream(&text, &tlen) : NULL;

	if (mc_peer_sign_request(chain_id, key, method, path, body, len, mc_now_ms(), &sg, &err) != 0) {
		fprintf(stderr, "adversary: %s\n", err.msg);
		exit(70);
	}
	status = perform(c, url, method, path, body, len, &sg, mem);
	if (mem) {
		fclose(mem);
		snprintf(first, first_n, "%.*s", (int)strcspn(text ? text : "", "\n"), text ? text : "");
		free(text);
	}
	return status;
}

/* A block at `height` (any height: nothing of the chain is checked) by
 * node, empty, with node's own vote and forge forged votes of the others. */
static void claim_bundle(const struct vals_ctx *vc, const struct mc_key *node, uint64_t height, bool forge,
			 struct mc_buf *out)
{
	struct mc_header h;
	struct mc_cert cert;
	uint8_t hash[MC_HASH_LEN];

	memset(&h, 0, sizeof(h));
	h.version = MC_BLOCK_VERSION;
	memcpy(h.chain_id, chain_id, MC_HASH_LEN);
	h.height = height;
	mc_random(h.prev, MC_HASH_LEN);
	h.timestamp_ms = mc_now_ms();
	memcpy(h.proposer, node->pk, MC_PK_LEN);
	mc_merkle_root(NULL, 0, h.tx_root);
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vc->vals, vc->n, h.valset_hash);
	mc_block_hash(&h, hash);
	memset(&cert, 0, sizeof(cert));
	for (size_t i = 0; i < vc->n; i++) {
		if (memcmp(vc->vals[i], node->pk, MC_PK_LEN) == 0)
			mc_vote_sign(hash, node->sk, node->pk, &cert.votes[cert.count++]);
		else if (forge) {
			memcpy(cert.votes[cert.count].pk, vc->vals[i], MC_PK_LEN);
			mc_random(cert.votes[cert.count++].sig, MC_SIG_LEN);
		}
	}
	mc_bundle_encode(&h, &cert, NULL, 0, out);
}

/* One RECORD_PUT-shaped tx from a fresh key nobody enrolled, its
 * attachment `bytes` long, as a tx bundle. */
static void junk_bundle(size_t bytes, struct mc_buf *out)
{
	struct mc_key *k = NULL;
	struct mc_err err = { 0 };
	struct mc_tx tx;
	struct mc_buf enc;
	uint8_t *att = calloc(1, bytes ? bytes : 1);
	static const uint8_t body[8], empty_side[4];

	if (!att || mc_key_generate(false, &k, &err) != 0)
		exit(70);
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = MC_TX_RECORD_PUT;
	memcpy(tx.author, k->pk, MC_PK_LEN);
	tx.timestamp_ms = mc_now_ms();
	tx.seq = 1;
	tx.body = body;
	tx.body_len = sizeof(body);
	tx.attach = att;
	tx.attach_len = bytes;
	mc_tx_sign(&tx, chain_id, k->sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	mc_put_u32(out, 1);
	mc_put_bytes(out, enc.data, enc.len);
	mc_put_bytes(out, empty_side, sizeof(empty_side));
	mc_buf_release(&enc);
	mc_key_free(k);
	free(att);
}

struct par {
	pthread_t th;
	const char *url;
	const struct mc_key *key;
	size_t bytes;
	long status;
	uint64_t ms;
	int fd_port;
	const char *host;
};

static void *junk_main(void *arg)
{
	struct par *p = arg;
	struct mc_buf b;
	CURL *c = curl_easy_init();
	uint64_t t0 = mono_ms();

	mc_buf_init(&b);
	junk_bundle(p->bytes, &b);
	p->status = send_on(c, p->url, p->key, "POST", "/v1/tx", b.data, b.len, NULL, 0);
	p->ms = mono_ms() - t0;
	mc_buf_release(&b);
	curl_easy_cleanup(c);
	return NULL;
}

/* host and port of an http:// URL */
static int url_addr(const char *url, char *host, size_t hn, int *port)
{
	const char *p = strstr(url, "://"), *colon;

	if (!p)
		return -1;
	p += 3;
	colon = strrchr(p, ':');
	if (!colon || (size_t)(colon - p) >= hn)
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = 0;
	*port = (int)strtol(colon + 1, NULL, 10);
	return *port > 0 && *port < 65536 ? 0 : -1;
}

static int connect_from(const char *src, const char *host, int port)
{
	struct sockaddr_in a, b;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (src) {
		inet_pton(AF_INET, src, &a.sin_addr);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(fd);
			return -1;
		}
	}
	memset(&b, 0, sizeof(b));
	b.sin_family = AF_INET;
	b.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &b.sin_addr);
	if (connect(fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An unauthenticated POST of a BYTES body: the headers, then a wait of up
 * to 2 s for an answer before any byte of the body goes; with none, the
 * body is sent whatever comes back. The status of the answer and how long
 * it took.
 * The wait is what makes the answer readable: a node that answers from
 * the headers and closes with body bytes unread in its socket sends a
 * reset, and a reset can overtake its answer on the way in (seen once in
 * CI: status 0). A node that waited for the body instead answers after
 * the 2 s, and the test's "within a second" fails. */
static void *bigbody_main(void *arg)
{
	struct par *p = arg;
	char head[256], buf[4096];
	static char zeros[65536];
	size_t sent = 0;
	int fd = connect_from(NULL, p->host, p->fd_port);
	uint64_t t0 = mono_ms();
	bool head_sent = false;

	if (fd < 0)
		return NULL;
	snprintf(head, sizeof(head), "POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", p->bytes);
	while (mono_ms() - t0 < 60000) {
		bool body_waits = head_sent && mono_ms() - t0 < 2000;
		struct pollfd pf = { fd, POLLIN | (!head_sent || (sent < p->bytes && !body_waits) ? POLLOUT : 0), 0 };

		if (poll(&pf, 1, body_waits ? 50 : 1000) <= 0)
			continue;
		if (pf.revents & POLLIN) {
			ssize_t r = read(fd, buf, sizeof(buf) - 1);

			if (r > 12) {
				buf[r] = 0;
				p->status = strtol(buf + 9, NULL, 10);
			}
			p->ms = mono_ms() - t0;
			break;
		}
		if (pf.revents & (POLLERR | POLLHUP))
			break;
		if (!head_sent) {
			if (write(fd, head, strlen(head)) < 0)
				break;
			head_sent = true;
		} else if (sent < p->bytes) {
			size_t n = p->bytes - sent < sizeof(zeros) ? p->bytes - sent : sizeof(zeros);
			ssize_t w = write(fd, zeros, n);

			if (w <= 0)
				break;
			sent += (size_t)w;
		}
	}
	close(fd);
	return NULL;
}

/* ---- a liar at a validator's address ------------------------------------------ */

struct liar {
	const struct mc_key *key;
	uint64_t height;
	struct vals_ctx *vc;
};

struct liar_req {
	struct mc_buf body;
};

static enum MHD_Result liar_answer(struct MHD_Connection *con, const struct liar *l, unsigned status,
				   const char *ctype, const void *body, size_t len)
{
	const char *nh = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_NONCE);
	uint8_t nonce[MC_PEER_NONCE_LEN] = { 0 };
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };
	char k[MC_PEER_KEY_HEX], t[MC_PEER_TIME_DEC], g[MC_PEER_SIG_HEX];
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (nh && strlen(nh) == 2 * MC_PEER_NONCE_LEN && mc_unhex(nh, nonce, MC_PEER_NONCE_LEN) != 0)
		memset(nonce, 0, sizeof(nonce));
	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", ctype);
	if (mc_peer_sign_response(chain_id, l->key, nonce, (uint16_t)status, body, len, mc_now_ms(), &sg, &err) == 0) {
		mc_peer_sig_headers(&sg, k, t, NULL, g);
		MHD_add_response_header(r, MC_PEER_HDR_KEY, k);
		MHD_add_response_header(r, MC_PEER_HDR_TIME, t);
		MHD_add_response_header(r, MC_PEER_HDR_SIG, g);
	}
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result liar_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct liar *l = cls;
	struct liar_req *rq = *req_cls;
	enum MHD_Result ret;
	char hex[2 * 64 + 1];

	(void)version;
	if (!rq) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return MHD_NO;
		mc_buf_init(&rq->body);
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		mc_put_raw(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/status") == 0) {
		cJSON *j = cJSON_CreateObject();
		struct mc_buf hc;
		char *text, *chex;

		cJSON_AddStringToObject(j, "name", "liar");
		cJSON_AddStringToObject(j, "version", "0");
		mc_hex(l->key->pk, MC_PK_LEN, hex);
		cJSON_AddStringToObject(j, "node", hex);
		mc_hex(chain_id, MC_HASH_LEN, hex);
		cJSON_AddStringToObject(j, "chain_id", hex);
		cJSON_AddNumberToObject(j, "height", (double)l->height);
		cJSON_AddStringToObject(j, "head", hex);
		cJSON_AddNumberToObject(j, "view", 0);
		mc_hex(l->key->pk, MC_PK_LEN, hex);
		cJSON_AddStringToObject(j, "leader", hex);
		cJSON_AddBoolToObject(j, "validator", true);
		/* a head "certificate": its own vote and forged ones */
		mc_buf_init(&hc);
		claim_bundle(l->vc, l->key, l->height, true, &hc);
		/* the bundle is header | cert | count u32: keep header | cert */
		chex = malloc(2 * hc.len + 1);
		if (chex && hc.len > 4) {
			mc_hex(hc.data, hc.len - 4, chex);
			cJSON_AddStringToObject(j, "head_cert", chex);
		}
		free(chex);
		mc_buf_release(&hc);
		cJSON_AddItemToObject(j, "peers", cJSON_CreateArray());
		text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		ret = liar_answer(con, l, 200, "application/json", text, strlen(text));
		free(text);
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/blocks") == 0) {
		ret = liar_answer(con, l, 200, "application/octet-stream", "", 0);   /* nothing */
	} else if (strcmp(url, "/v1/tx") == 0) {
		/* every tx "committed", none kept */
		struct mc_txin *in = NULL;
		size_t n = 0;
		cJSON *j = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(j, "txs");
		char *text;

		if (mc_txbundle_decode(rq->body.data, rq->body.len, &in, &n, NULL) == 0) {
			for (size_t i = 0; i < n; i++) {
				struct mc_tx tx;
				uint8_t h[MC_HASH_LEN];
				cJSON *o = cJSON_CreateObject();

				if (mc_tx_decode(in[i].tx, in[i].tx_len, &tx, NULL) == 0)
					mc_tx_hash(&tx, h);
				else
					memset(h, 0, sizeof(h));
				mc_hex(h, MC_HASH_LEN, hex);
				cJSON_AddStringToObject(o, "hash", hex);
				cJSON_AddStringToObject(o, "state", "committed");
				cJSON_AddNumberToObject(o, "height", (double)l->height);
				cJSON_AddItemToArray(a, o);
			}
		}
		free(in);
		text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		fprintf(stderr, "adversary: answered %zu txs \"committed\" and dropped them\n", n);
		ret = liar_answer(con, l, 200, "application/json", text, strlen(text));
		free(text);
	} else if (strcmp(url, "/v1/commit") == 0) {
		ret = liar_answer(con, l, 200, "text/plain", "ok\n", 3);
	} else {
		ret = liar_answer(con, l, 409, "text/plain", "no\n", 3);
	}
	mc_buf_release(&rq->body);
	free(rq);
	*req_cls = NULL;
	return ret;
}

static int run_liar(const char *listen, struct vals_ctx *vc, const struct mc_key *node, uint64_t height)
{
	struct liar l = { node, height, vc };
	struct sockaddr_in a;
	char host[64];
	const char *colon = strrchr(listen, ':');
	struct MHD_Daemon *d;
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;

	if (!colon || (size_t)(colon - listen) >= sizeof(host) || port <= 0 || port > 65535)
		return 64;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, host, &a.sin_addr);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
			     liar_request, &l, MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "adversary: cannot listen on %s\n", listen);
		return 69;
	}
	printf("listening on %s\n", listen);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	char path[4200];
	struct mc_store *s = NULL;
	struct mc_key *node = NULL;
	struct mc_err err = { 0 };
	struct vals_ctx vc;
	const char *url, *what;

	if (argc < 4) {
		fprintf(stderr, "usage: adversary DATADIR URL|LISTEN PROBE ... (see the comment at the top of tests/adversary.c)\n");
		return 64;
	}
	url = argv[2];
	what = argv[3];
	if (mc_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 70;
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/db", argv[1]);
	if (mc_store_open(path, 0, &s, &err) != 0 || mc_store_read(s, vals_txn, &vc, &err) != 0) {
		fprintf(stderr, "adversary: %s\n", err.msg);
		return 66;
	}
	memcpy(chain_id, vc.head.chain_id, MC_HASH_LEN);
	snprintf(path, sizeof(path), "%s/keys/node.key", argv[1]);
	if (getenv("MC_ADVERSARY_KEY") && *getenv("MC_ADVERSARY_KEY"))
		snprintf(path, sizeof(path), "%s", getenv("MC_ADVERSARY_KEY"));
	if (mc_key_load(path, NULL, 0, &node, &err) != 0) {
		fprintf(stderr, "adversary: %s\n", err.msg);
		return 66;
	}
	if (strcmp(what, "outsider") == 0) {
		struct mc_key *stranger = NULL;

		if (mc_key_generate(false, &stranger, &err) != 0)
			return 70;
		printf("%ld\n", send_signed(url, stranger, "GET", "/v1/status", NULL, 0, mc_now_ms()));
		mc_key_free(stranger);
	} else if (strcmp(what, "replay") == 0) {
		struct mc_peer_sig sg;

		if (mc_peer_sign_request(chain_id, node, "GET", "/v1/status", NULL, 0, mc_now_ms(), &sg, &err) != 0)
			return 70;
		printf("%ld ", send_raw(url, "GET", "/v1/status", NULL, 0, &sg));
		printf("%ld\n", send_raw(url, "GET", "/v1/status", NULL, 0, &sg));
	} else if (strcmp(what, "stale") == 0) {
		printf("%ld\n", send_signed(url, node, "GET", "/v1/status", NULL, 0, mc_now_ms() - 60000));
	} else if (strcmp(what, "oversize") == 0 && argc > 4) {
		size_t n = strtoul(argv[4], NULL, 10);
		uint8_t *body = calloc(1, n ? n : 1);

		if (!body)
			return 70;
		printf("%ld\n", send_signed(url, node, "POST", argc > 5 ? argv[5] : "/v1/tx", body, n, mc_now_ms()));
		free(body);
	} else if (strcmp(what, "equivocate") == 0) {
		struct mc_buf a, b;
		uint64_t now = mc_now_ms();

		mc_buf_init(&a);
		mc_buf_init(&b);
		block_bundle(s, node, now, NULL, &a, true);
		block_bundle(s, node, now + 1, NULL, &b, true);
		printf("%ld ", send_signed(url, node, "POST", "/v1/propose", a.data, a.len, mc_now_ms()));
		printf("%ld\n", send_signed(url, node, "POST", "/v1/propose", b.data, b.len, mc_now_ms()));
		mc_buf_release(&a);
		mc_buf_release(&b);
	} else if (strcmp(what, "forged-commit") == 0 || strcmp(what, "missing-vote") == 0) {
		struct mc_cert forged;
		struct mc_buf a;
		bool forge = strcmp(what, "forged-commit") == 0;

		memset(&forged, 0, sizeof(forged));
		for (size_t i = 0; forge && i < vc.n; i++) {
			if (memcmp(vc.vals[i], node->pk, MC_PK_LEN) == 0)
				continue;
			memcpy(forged.votes[forged.count].pk, vc.vals[i], MC_PK_LEN);
			mc_random(forged.votes[forged.count].sig, MC_SIG_LEN);
			forged.count++;
		}
		mc_buf_init(&a);
		block_bundle(s, node, mc_now_ms(), &forged, &a, true);
		printf("%ld\n", send_signed(url, node, "POST", "/v1/commit", a.data, a.len, mc_now_ms()));
		mc_buf_release(&a);
	} else if (strcmp(what, "enroll") == 0 && argc > 4) {
		struct mc_key *admin = NULL;
		struct mc_buf txs;

		snprintf(path, sizeof(path), "%s/keys/admin.key", argv[1]);
		if (mc_key_load(path, NULL, 0, &admin, &err) != 0) {
			fprintf(stderr, "adversary: %s\n", err.msg);
			return 66;
		}
		mc_buf_init(&txs);
		enrolments(s, admin, strtoul(argv[4], NULL, 10), &txs);
		printf("%ld\n", send_signed(url, node, "POST", "/v1/tx?wait=120000", txs.data, txs.len, mc_now_ms()));
		mc_buf_release(&txs);
		mc_key_free(admin);
	} else if (strcmp(what, "enroll-named") == 0 && argc > 4) {
		struct mc_key *admin = NULL;
		struct mc_buf txs;

		snprintf(path, sizeof(path), "%s/keys/admin.key", argv[1]);
		if (mc_key_load(path, NULL, 0, &admin, &err) != 0) {
			fprintf(stderr, "adversary: %s\n", err.msg);
			return 66;
		}
		mc_buf_init(&txs);
		enrolments_named(s, admin, 1, argv[4], &txs);
		printf("%ld\n", send_signed(url, node, "POST", "/v1/tx?wait=120000", txs.data, txs.len, mc_now_ms()));
		mc_buf_release(&txs);
		mc_key_free(admin);
	} else if (strcmp(what, "flood") == 0 && argc > 4) {
		unsigned long n = strtoul(argv[4], NULL, 10), ok = 0, limited = 0, other = 0;
		/* one connection kept open: a new one per request ran at about
		 * the limit's rate on a loaded machine, and nothing was limited */
		CURL *c = curl_easy_init();

		for (unsigned long i = 0; i < n; i++) {
			long st = send_on(c, url, node, "GET", "/v1/status", NULL, 0, NULL, 0);

			ok += st == 200;
			limited += st == 429;
			other += st != 200 && st != 429;
		}
		curl_easy_cleanup(c);
		printf("answered %lu limited %lu other %lu\n", ok, limited, other);
	} else if (strcmp(what, "fetch") == 0 && argc > 4) {
		struct mc_peer_sig sg;

		if (mc_peer_sign_request(chain_id, node, "GET", argv[4], NULL, 0, mc_now_ms(), &sg, &err) != 0 ||
		    send_to(url, "GET", argv[4], NULL, 0, &sg, stdout) != 200)
			return 69;
	} else if (strcmp(what, "txbundle") == 0 && argc > 4) {
		struct mc_key *admin = NULL;
		struct mc_buf txs;

		snprintf(path, sizeof(path), "%s/keys/admin.key", argv[1]);
		if (mc_key_load(path, NULL, 0, &admin, &err) != 0)
			return 66;
		mc_buf_init(&txs);
		enrolments(s, admin, strtoul(argv[4], NULL, 10), &txs);
		fwrite(txs.data, 1, txs.len, stdout);
		mc_buf_release(&txs);
		mc_key_free(admin);
	} else if (strcmp(what, "outsiders") == 0 && argc > 4) {
		unsigned long n = strtoul(argv[4], NULL, 10), refused = 0;
		CURL *c = curl_easy_init();

		for (unsigned long i = 0; i < n; i++) {
			struct mc_key *stranger = NULL;

			if (mc_key_generate(false, &stranger, &err) != 0)
				return 70;
			refused += send_on(c, url, stranger, "GET", "/v1/status", NULL, 0, NULL, 0) == 403;
			mc_key_free(stranger);
		}
		curl_easy_cleanup(c);
		printf("refused %lu of %lu\n", refused, n);
	} else if ((strcmp(what, "replay-save") == 0 || strcmp(what, "replay-load") == 0) && argc > 4) {
		struct mc_peer_sig sg;
		FILE *f;

		if (strcmp(what, "replay-save") == 0) {
			if (mc_peer_sign_request(chain_id, node, "GET", "/v1/status", NULL, 0, mc_now_ms(), &sg, &err) != 0 ||
			    !(f = fopen(argv[4], "wb")) || fwrite(&sg, sizeof(sg), 1, f) != 1 || fclose(f) != 0)
				return 73;
		} else if (!(f = fopen(argv[4], "rb")) || fread(&sg, sizeof(sg), 1, f) != 1 || fclose(f) != 0) {
			return 66;
		}
		printf("%ld\n", send_raw(url, "GET", "/v1/status", NULL, 0, &sg));
	} else if (strcmp(what, "replay-flood") == 0 && argc > 4) {
		unsigned long n = strtoul(argv[4], NULL, 10), ok = 0, limited = 0;
		struct mc_peer_sig sg;
		long first, again;
		CURL *c = curl_easy_init();

		if (mc_peer_sign_request(chain_id, node, "GET", "/v1/status", NULL, 0, mc_now_ms(), &sg, &err) != 0)
			return 70;
		first = send_raw(url, "GET", "/v1/status", NULL, 0, &sg);
		for (unsigned long i = 0; i < n; i++) {
			long st = send_on(c, url, node, "GET", "/v1/status", NULL, 0, NULL, 0);

			ok += st == 200;
			limited += st == 429;
		}
		curl_easy_cleanup(c);
		again = send_raw(url, "GET", "/v1/status", NULL, 0, &sg);
		printf("first %ld flood %lu ok %lu limited replay %ld\n", first, ok, limited, again);
	} else if ((strcmp(what, "commit-height") == 0 || strcmp(what, "propose-height") == 0) && argc > 4) {
		struct mc_buf a;
		bool commit = strcmp(what, "commit-height") == 0;
		CURL *c = curl_easy_init();

		mc_buf_init(&a);
		claim_bundle(&vc, node, strtoull(argv[4], NULL, 10), commit, &a);
		printf("%ld\n", send_on(c, url, node, "POST", commit ? "/v1/commit" : "/v1/propose", a.data, a.len, NULL, 0));
		mc_buf_release(&a);
		curl_easy_cleanup(c);
	} else if (strcmp(what, "nonleader-propose") == 0) {
		struct mc_buf txs, a;
		struct mc_txin *in = NULL;
		size_t n = 0;
		char first[300] = "";
		CURL *c = curl_easy_init();
		struct build b;
		uint8_t hash[MC_HASH_LEN];
		struct mc_cert cert;

		/* an enrolment whose signature is broken: applying it would fail
		 * on the signature; a node that checks the proposer first never
		 * gets that far */
		mc_buf_init(&txs);
		mc_buf_init(&a);
		{
			struct mc_key *admin = NULL;

			snprintf(path, sizeof(path), "%s/keys/admin.key", argv[1]);
			if (mc_key_load(path, NULL, 0, &admin, &err) != 0)
				return 66;
			enrolments(s, admin, 1, &txs);
			mc_key_free(admin);
		}
		if (mc_txbundle_decode(txs.data, txs.len, &in, &n, &err) != 0 || n != 1) {
			fprintf(stderr, "adversary: the enrolment: %s\n", err.msg);
			return 70;
		}
		((uint8_t *)in[0].tx)[in[0].tx_len - 70] ^= 1;   /* inside the signature */
		/* the next block as its leader would make it, but by this node */
		memset(&b.h, 0, sizeof(b.h));
		b.h.version = MC_BLOCK_VERSION;
		memcpy(b.h.chain_id, chain_id, MC_HASH_LEN);
		b.h.height = vc.head.height + 1;
		memcpy(b.h.prev, vc.head.hash, MC_HASH_LEN);
		b.h.timestamp_ms = mc_now_ms() > vc.head.timestamp_ms ? mc_now_ms() : vc.head.timestamp_ms;
		memcpy(b.h.proposer, node->pk, MC_PK_LEN);
		mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vc.vals, vc.n, b.h.valset_hash);
		b.h.view = vc.view;
		b.h.tx_count = 1;
		{
			struct mc_tx tx;
			uint8_t leaf[1][MC_HASH_LEN], th[MC_HASH_LEN];

			if (mc_tx_decode(in[0].tx, in[0].tx_len, &tx, &err) != 0) {
				fprintf(stderr, "adversary: the broken tx: %s\n", err.msg);
				return 70;
			}
			mc_tx_hash(&tx, th);
			mc_merkle_leaf_hash(th, MC_HASH_LEN, leaf[0]);
			mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaf, 1, b.h.tx_root);
		}
		mc_block_hash(&b.h, hash);
		memset(&cert, 0, sizeof(cert));
		mc_vote_sign(hash, node->sk, node->pk, &cert.votes[0]);
		cert.count = 1;
		mc_bundle_encode(&b.h, &cert, in, 1, &a);
		printf("%ld %s\n", send_on(c, url, node, "POST", "/v1/propose", a.data, a.len, first, sizeof(first)), first);
		free(in);
		mc_buf_release(&txs);
		mc_buf_release(&a);
		curl_easy_cleanup(c);
	} else if (strcmp(what, "view-vote") == 0 && argc > 4) {
		char p2[200], hex[2 * MC_PK_LEN + 1], first[300] = "";
		CURL *c = curl_easy_init();

		mc_hex(node->pk, MC_PK_LEN, hex);
		snprintf(p2, sizeof(p2), "/v1/view-vote?view=%s&leader=%s%s", argv[4], hex,
			 argc > 5 && strcmp(argv[5], "timeout") == 0 ? "&why=timeout" : "");
		printf("%ld %s\n", send_on(c, url, node, "POST", p2, NULL, 0, first, sizeof(first)), first);
		curl_easy_cleanup(c);
	} else if (strcmp(what, "junk") == 0 && argc > 5) {
		size_t n = strtoul(argv[4], NULL, 10);
		struct par *p = calloc(n ? n : 1, sizeof(*p));

		for (size_t i = 0; p && i < n; i++) {
			p[i].url = url;
			p[i].key = node;
			p[i].bytes = strtoul(argv[5], NULL, 10);
			pthread_create(&p[i].th, NULL, junk_main, &p[i]);
		}
		for (size_t i = 0; p && i < n; i++) {
			pthread_join(p[i].th, NULL);
			/* a refusal that closed the connection under a body still
			 * being sent may lose its answer to a reset: "closed" */
			if (p[i].status)
				printf("%s%ld", i ? " " : "", p[i].status);
			else
				printf("%sclosed", i ? " " : "");
		}
		printf("\n");
		free(p);
	} else if (strcmp(what, "halfopen") == 0 && argc > 4) {
		size_t n = strtoul(argv[4], NULL, 10), opened = 0;
		int *fds = calloc(n ? n : 1, sizeof(int)), port;
		char host[64], src[32];
		uint64_t t0;
		long st;
		CURL *c;

		if (!fds || url_addr(url, host, sizeof(host), &port) != 0)
			return 64;
		for (size_t i = 0; i < n; i++) {
			static const char half[] = "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Medchain-Key: ";

			snprintf(src, sizeof(src), "127.0.0.%zu", 2 + i % 4);
			fds[i] = connect_from(src, host, port);
			if (fds[i] >= 0 && write(fds[i], half, sizeof(half) - 1) > 0)
				opened++;
		}
		usleep(200000);   /* the server has them all */
		c = curl_easy_init();
		t0 = mono_ms();
		st = send_on(c, url, node, "GET", "/v1/status", NULL, 0, NULL, 0);
		printf("opened %zu status %ld in %llu ms\n", opened, st, (unsigned long long)(mono_ms() - t0));
		curl_easy_cleanup(c);
		for (size_t i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		free(fds);
	} else if (strcmp(what, "bigbody") == 0 && argc > 5) {
		size_t n = strtoul(argv[4], NULL, 10);
		struct par *p = calloc(n ? n : 1, sizeof(*p));
		char host[64];
		int port;
		uint64_t slowest = 0;

		if (!p || url_addr(url, host, sizeof(host), &port) != 0)
			return 64;
		for (size_t i = 0; i < n; i++) {
			p[i].host = host;
			p[i].fd_port = port;
			p[i].bytes = strtoul(argv[5], NULL, 10);
			pthread_create(&p[i].th, NULL, bigbody_main, &p[i]);
		}
		for (size_t i = 0; i < n; i++) {
			pthread_join(p[i].th, NULL);
			printf("%ld ", p[i].status);
			if (p[i].ms > slowest)
				slowest = p[i].ms;
		}
		printf("in %llu ms\n", (unsigned long long)slowest);
		free(p);
	} else if (strcmp(what, "get") == 0 && argc > 4) {
		struct mc_peer_sig sg;

		if (mc_peer_sign_request(chain_id, node, "GET", argv[4], NULL, 0, mc_now_ms(), &sg, &err) != 0)
			return 70;
		printf("%ld\n", send_to(url, "GET", argv[4], NULL, 0, &sg, NULL));
	} else if (strcmp(what, "cert-with") == 0 && argc > 5) {
		struct mc_key *k[3] = { node, NULL, NULL };
		struct mc_cert cert;
		struct build b = { node, mc_now_ms(), { 0 }, false };
		uint8_t hash[MC_HASH_LEN];
		char first[300] = "";
		struct mc_buf a;
		CURL *c = curl_easy_init();

		snprintf(path, sizeof(path), "%s/keys/node.key", argv[5]);
		if (mc_key_load(argv[4], NULL, 0, &k[1], &err) != 0 || mc_key_load(path, NULL, 0, &k[2], &err) != 0) {
			fprintf(stderr, "adversary: %s\n", err.msg);
			return 66;
		}
		mc_store_write(s, build_txn, &b, &err);
		if (!b.built) {
			fprintf(stderr, "adversary: cannot build a block: %s\n", err.msg);
			return 70;
		}
		mc_block_hash(&b.h, hash);
		/* the three votes in key order */
		for (int i = 0; i < 3; i++)
			for (int j = i + 1; j < 3; j++)
				if (memcmp(k[j]->pk, k[i]->pk, MC_PK_LEN) < 0) {
					struct mc_key *x = k[i];

					k[i] = k[j];
					k[j] = x;
				}
		memset(&cert, 0, sizeof(cert));
		for (int i = 0; i < 3; i++)
			mc_vote_sign(hash, k[i]->sk, k[i]->pk, &cert.votes[cert.count++]);
		mc_buf_init(&a);
		mc_bundle_encode(&b.h, &cert, NULL, 0, &a);
		printf("%ld", send_on(c, url, node, "POST", "/v1/commit", a.data, a.len, first, sizeof(first)));
		printf(" %s\n", first);
		mc_buf_release(&a);
		curl_easy_cleanup(c);
		for (int i = 0; i < 3; i++)
			if (k[i] != node)
				mc_key_free(k[i]);
	} else if (strcmp(what, "liar") == 0 && argc > 4) {
		return run_liar(url, &vc, node, strtoull(argv[4], NULL, 10));
	} else {
		fprintf(stderr, "adversary: unknown probe '%s'\n", what);
		return 64;
	}
	mc_key_free(node);
	mc_store_close(s);
	return 0;
}
