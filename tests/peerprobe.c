/* peerprobe - a misbehaving peer, for the integration tests: sends a node
 * requests that `medchain serve` must refuse, and prints the HTTP status of
 * each answer on one line.
 *
 *   peerprobe DATADIR URL outsider          signed by a key outside the set
 *   peerprobe DATADIR URL replay            one signed request sent twice
 *   peerprobe DATADIR URL stale             signed 60 s ago
 *   peerprobe DATADIR URL oversize BYTES    a body of BYTES
 *   peerprobe DATADIR URL equivocate        two blocks at one height and view,
 *                                           both signed by DATADIR's node (the leader)
 *   peerprobe DATADIR URL forged-commit     a block whose certificate holds forged votes
 *   peerprobe DATADIR URL missing-vote      a block whose certificate lacks a quorum
 *   peerprobe DATADIR URL enroll N          N enrolments signed by DATADIR's admin,
 *                                           sent at once; prints the answer's HTTP status
 *   peerprobe DATADIR URL flood N           N signed GETs of /v1/status on one connection,
 *                                           as fast as they go: "answered A limited L other O"
 *   peerprobe DATADIR URL fetch PATH        a signed GET; the answer's body on stdout
 *   peerprobe DATADIR - txbundle N          the enrolments' tx bundle on stdout (fuzz seeds)
 *
 * DATADIR is a node's data dir: its keys/node.key signs, its store gives the
 * chain's head.
 */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "crypto.h"
#include "keystore.h"
#include "peerauth.h"
#include "replica.h"
#include "store.h"
#include "valset.h"

static uint8_t chain_id[MC_HASH_LEN];

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return s * n;
}

/* Sends one request with the given signature headers; returns the status.
 * The answer's body goes to out (NULL: nowhere). */
static long send_to(const char *url, const char *method, const char *path, const void *body,
		    size_t len, const struct mc_peer_sig *sg, FILE *out)
{
	char k[MC_PEER_KEY_HEX], t[MC_PEER_TIME_DEC], n[MC_PEER_NONCE_HEX], s[MC_PEER_SIG_HEX];
	char b[MC_PEER_BODY_HEX], line[300], full[1024];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	mc_peer_sig_headers(sg, k, t, n, s);
	mc_peer_body_header(sg, b);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_BODY, b);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_KEY, k);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_TIME, t);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_NONCE, n);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_SIG, s);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	snprintf(full, sizeof(full), "%s%s", url, path);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (out)
		curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	else
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 150L);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
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
		fprintf(stderr, "peerprobe: %s\n", err.msg);
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
		fprintf(stderr, "peerprobe: cannot build a block: %s\n", err.msg);
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

/* N IDENTITY_ENROLL txs of fresh keys, signed by admin, as one tx bundle. */
static void enrolments(struct mc_store *s, const struct mc_key *admin, size_t n, struct mc_buf *out)
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
		e.name = (const uint8_t *)name;
		e.name_len = strlen(name);
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

struct vals_ctx {
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t n;
	struct mc_head head;
};

static int vals_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct vals_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	return mc_chain_validators(t, c->vals, &c->n, err);
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
		fprintf(stderr, "usage: peerprobe DATADIR URL outsider|replay|stale|oversize BYTES|equivocate|forged-commit|missing-vote\n");
		return 64;
	}
	url = argv[2];
	what = argv[3];
	if (mc_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 70;
	snprintf(path, sizeof(path), "%s/db", argv[1]);
	if (mc_store_open(path, 0, &s, &err) != 0 || mc_store_read(s, vals_txn, &vc, &err) != 0) {
		fprintf(stderr, "peerprobe: %s\n", err.msg);
		return 66;
	}
	memcpy(chain_id, vc.head.chain_id, MC_HASH_LEN);
	snprintf(path, sizeof(path), "%s/keys/node.key", argv[1]);
	if (mc_key_load(path, NULL, 0, &node, &err) != 0) {
		fprintf(stderr, "peerprobe: %s\n", err.msg);
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
		printf("%ld\n", send_signed(url, node, "POST", "/v1/tx", body, n, mc_now_ms()));
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
			fprintf(stderr, "peerprobe: %s\n", err.msg);
			return 66;
		}
		mc_buf_init(&txs);
		enrolments(s, admin, strtoul(argv[4], NULL, 10), &txs);
		printf("%ld\n", send_signed(url, node, "POST", "/v1/tx?wait=120000", txs.data, txs.len, mc_now_ms()));
		mc_buf_release(&txs);
		mc_key_free(admin);
	} else if (strcmp(what, "flood") == 0 && argc > 4) {
		unsigned long n = strtoul(argv[4], NULL, 10), ok = 0, limited = 0, other = 0;

		for (unsigned long i = 0; i < n; i++) {
			long st = send_signed(url, node, "GET", "/v1/status", NULL, 0, mc_now_ms());

			ok += st == 200;
			limited += st == 429;
			other += st != 200 && st != 429;
		}
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
	} else {
		fprintf(stderr, "peerprobe: unknown probe '%s'\n", what);
		return 64;
	}
	mc_key_free(node);
	mc_store_close(s);
	return 0;
}
