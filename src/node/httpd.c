/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "codec.h"
#include "httpd.h"
#include "i18n.h"
#include "metrics.h"
#include "peerauth.h"

/* Connections: each tracked from accept to close, so that one arriving
 * when all slots are taken can push out the oldest that never
 * authenticated, and none sits unauthenticated for long. */
#define UNAUTH_TIMEOUT_S 5u          /* MHD's idle timeout before auth */
#define UNAUTH_DEADLINE_MS 10000     /* and the whole time allowed for it */
#define AUTH_TIMEOUT_S 60u           /* idle timeout once authenticated */
#define HARD_EXTRA 32u               /* MHD's own limit: the soft one + this */

struct conn {
	struct conn *prev, *next;    /* oldest first */
	int fd;
	uint64_t opened_ms;
	bool authed, evicted;
};

#define KEYS_INFLIGHT 64            /* keys with bytes in flight, at most */

struct mc_httpd {
	struct MHD_Daemon *d;
	struct mc_engine *e;
	size_t tx_max, block_max;    /* body limits of the large paths */
	unsigned soft_limit;
	pthread_mutex_t mu;          /* the list and the in-flight bytes */
	struct conn *oldest, *newest;
	size_t nconns;
	size_t inflight, inflight_max, key_share;
	struct {                     /* in flight by key: one cannot take it all */
		uint8_t pk[MC_PK_LEN];
		size_t bytes;
	} keys[KEYS_INFLIGHT];
	char *cert, *key;
};

struct req {
	char *target;             /* raw path and query, as signed */
	struct mc_buf body;
	struct mc_peer_sig sg;
	size_t expect;            /* Content-Length */
	size_t reserved;          /* bytes counted in h->inflight, for sg.pk */
	bool started, overflow;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void evict(struct conn *c)
{
	c->evicted = true;
	shutdown(c->fd, SHUT_RDWR);   /* MHD's thread sees the end and closes it */
}

/* A new connection: unauthenticated ones past their deadline go, and
 * when the slots are full the oldest unauthenticated one goes too.
 * h->mu held. */
static void admit(struct mc_httpd *h, struct conn *c)
{
	size_t live = 0;
	struct conn *victim = NULL;

	for (struct conn *x = h->oldest; x; x = x->next) {
		if (!x->authed && !x->evicted && c->opened_ms - x->opened_ms > UNAUTH_DEADLINE_MS)
			evict(x);
		if (!x->evicted) {
			live++;
			if (!x->authed && !victim)
				victim = x;
		}
	}
	if (live >= h->soft_limit && victim) {
		evict(victim);
		mc_metrics_refusal(MC_REFUSAL_SLOTS);
		mc_engine_log_refusal(h->e, NULL, "CONNECT", "-",
				      _("every connection slot is taken: the oldest unauthenticated connection is closed"));
	}
	c->prev = h->newest;
	if (h->newest)
		h->newest->next = c;
	else
		h->oldest = c;
	h->newest = c;
	h->nconns++;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct mc_httpd *h = cls;
	struct conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (!ci || !(c = calloc(1, sizeof(*c))))
			return;
		c->fd = ci->connect_fd;
		c->opened_ms = now_ms();
		pthread_mutex_lock(&h->mu);
		admit(h, c);
		pthread_mutex_unlock(&h->mu);
		mc_metrics_connection(1);
		*socket_context = c;
		MHD_set_connection_option(con, MHD_CONNECTION_OPTION_TIMEOUT, UNAUTH_TIMEOUT_S);
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&h->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->oldest = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->newest = c->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->mu);
	mc_metrics_connection(-1);
	free(c);
	*socket_context = NULL;
}

static void mark_authed(struct mc_httpd *h, struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *c = ci ? ci->socket_context : NULL;

	if (c) {
		pthread_mutex_lock(&h->mu);
		c->authed = true;
		pthread_mutex_unlock(&h->mu);
	}
	MHD_set_connection_option(con, MHD_CONNECTION_OPTION_TIMEOUT, AUTH_TIMEOUT_S);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct req *rq = calloc(1, sizeof(*rq));

	(void)cls;
	(void)con;
	if (!rq)
		return NULL;
	rq->target = strdup(uri ? uri : "");
	mc_buf_init(&rq->body);
	return rq;
}

/* Counts n more bytes in flight for pk: false (nothing counted) when they
 * would pass the node's budget or the key's share of it. */
static bool inflight_take(struct mc_httpd *h, const uint8_t pk[MC_PK_LEN], size_t n)
{
	size_t at = KEYS_INFLIGHT;
	bool ok;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < KEYS_INFLIGHT && at == KEYS_INFLIGHT; i++)
		if (h->keys[i].bytes && memcmp(h->keys[i].pk, pk, MC_PK_LEN) == 0)
			at = i;
	for (size_t i = 0; i < KEYS_INFLIGHT && at == KEYS_INFLIGHT; i++)
		if (!h->keys[i].bytes) {
			at = i;
			memcpy(h->keys[i].pk, pk, MC_PK_LEN);
		}
	ok = at < KEYS_INFLIGHT && h->inflight + n <= h->inflight_max && h->keys[at].bytes + n <= h->key_share;
	if (ok) {
		h->inflight += n;
		h->keys[at].bytes += n;
	}
	pthread_mutex_unlock(&h->mu);
	return ok;
}

static void inflight_give(struct mc_httpd *h, const uint8_t pk[MC_PK_LEN], size_t n)
{
	pthread_mutex_lock(&h->mu);
	h->inflight -= n;
	for (size_t i = 0; i < KEYS_INFLIGHT; i++)
		if (h->keys[i].bytes && memcmp(h->keys[i].pk, pk, MC_PK_LEN) == 0) {
			h->keys[i].bytes -= n;
			break;
		}
	pthread_mutex_unlock(&h->mu);
}

static void on_done(void *cls, struct MHD_Connection *con, void **req_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct mc_httpd *h = cls;
	struct req *rq = *req_cls;

	(void)con;
	(void)toe;
	if (!rq)
		return;
	if (rq->reserved)
		inflight_give(h, rq->sg.pk, rq->reserved);
	free(rq->target);
	mc_buf_release(&rq->body);
	free(rq);
	*req_cls = NULL;
}

/* Sends r (its body handed over to MHD, no copy), signed over the
 * request's nonce. */
static enum MHD_Result send_reply(struct mc_httpd *h, struct MHD_Connection *con, const char *path,
				  const uint8_t nonce[MC_PEER_NONCE_LEN], struct mc_reply *r)
{
	struct MHD_Response *resp;
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };
	uint8_t chain[MC_HASH_LEN];
	char key[MC_PEER_KEY_HEX], tm[MC_PEER_TIME_DEC], sig[MC_PEER_SIG_HEX];
	enum MHD_Result ret;
	bool signed_ok;

	mc_engine_chain_id(h->e, chain);
	if (mc_buf_failed(&r->body)) {
		mc_buf_reset(&r->body);
		r->status = 500;
	}
	mc_metrics_request(path, r->status);
	signed_ok = mc_peer_sign_response(chain, mc_engine_node(h->e), nonce, (uint16_t)r->status, r->body.data,
					  r->body.len, mc_now_ms(), &sg, &err) == 0;
	resp = r->body.len ? MHD_create_response_from_buffer(r->body.len, r->body.data, MHD_RESPMEM_MUST_FREE)
			   : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (r->body.len)
		mc_buf_init(&r->body);   /* MHD owns the bytes now */
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "text/plain; charset=utf-8");
	if (signed_ok) {
		mc_peer_sig_headers(&sg, key, tm, NULL, sig);
		MHD_add_response_header(resp, MC_PEER_HDR_KEY, key);
		MHD_add_response_header(resp, MC_PEER_HDR_TIME, tm);
		MHD_add_response_header(resp, MC_PEER_HDR_SIG, sig);
	}
	ret = MHD_queue_response(con, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static unsigned status_of(int code)
{
	switch (code) {
	case EX_NOPERM: return 403;
	case EX_TEMPFAIL: return 429;
	case EX_UNAVAILABLE: return 503;
	default: return 400;
	}
}

static bool u64_arg(struct MHD_Connection *con, const char *name, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, name);
	char *end;
	unsigned long long x;

	if (!v)
		return false;
	if (!*v || *v < '0' || *v > '9')
		return false;
	x = strtoull(v, &end, 10);
	if (*end)
		return false;
	*out = x;
	return true;
}

/* The largest body a path takes: blocks and txs are large, the rest small. */
static size_t body_limit(const struct mc_httpd *h, const char *method, const char *url)
{
	if (strcmp(method, "POST") != 0)
		return 0;
	if (strcmp(url, "/v1/tx") == 0)
		return h->tx_max;
	if (strcmp(url, "/v1/propose") == 0 || strcmp(url, "/v1/commit") == 0 || strcmp(url, "/v1/view-change") == 0)
		return h->block_max;
	return MC_ENGINE_SMALL_BODY_MAX;
}

static void route(struct mc_httpd *h, struct MHD_Connection *con, const char *url, const char *method,
		  const struct mc_peer_sig *sg, struct req *rq, struct mc_reply *r)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;

	if (get && strcmp(url, "/v1/status") == 0) {
		mc_engine_on_status(h->e, r);
	} else if (get && strcmp(url, "/v1/blocks") == 0) {
		uint64_t from = 0, max = 64;

		if (!u64_arg(con, "from", &from) ||
		    (MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "max") && !u64_arg(con, "max", &max))) {
			r->status = 400;
			mc_put_raw(&r->body, "from=HEIGHT&max=N\n", 18);
			return;
		}
		/* a batch of blocks is built in memory: it counts as in flight */
		if (!inflight_take(h, sg->pk, MC_ENGINE_SYNC_BYTES)) {
			r->status = 503;
			mc_put_raw(&r->body, "busy\n", 5);
			return;
		}
		rq->reserved += MC_ENGINE_SYNC_BYTES;
		mc_engine_on_blocks(h->e, from, max, r);
	} else if (post && strcmp(url, "/v1/tx") == 0) {
		uint64_t wait = 0;

		if (MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "wait") && !u64_arg(con, "wait", &wait)) {
			r->status = 400;
			mc_put_raw(&r->body, "wait=MS\n", 8);
			return;
		}
		mc_engine_on_txs(h->e, sg->pk, rq->body.data, rq->body.len,
				 (unsigned)(wait > 120000 ? 120000 : wait), r);
	} else if (post && strcmp(url, "/v1/propose") == 0) {
		mc_engine_on_propose(h->e, sg->pk, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/commit") == 0) {
		mc_engine_on_commit(h->e, sg->pk, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/view-vote") == 0) {
		const char *why = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "why");

		mc_engine_on_view_vote(h->e, sg->pk, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "view"),
				       MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "leader"),
				       why, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/evidence") == 0) {
		mc_engine_on_evidence(h->e, sg->pk, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/view-change") == 0) {
		mc_engine_on_view_change(h->e, sg->pk, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/promote") == 0) {
		/* the operator's own node only */
		if (memcmp(sg->pk, mc_engine_node(h->e)->pk, MC_PK_LEN) != 0) {
			r->status = 403;
			mc_put_raw(&r->body, "promote: this node's own key only\n", 34);
			return;
		}
		mc_engine_on_promote(h->e, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "leader"),
				     rq->body.data, rq->body.len, r);
	} else {
		r->status = 404;
		mc_put_raw(&r->body, "not found\n", 10);
	}
}

/* A refusal before the body is read (MHD then closes the connection
 * without reading it), logged at a bounded rate. */
static enum MHD_Result refuse(struct mc_httpd *h, struct MHD_Connection *con, const char *method, struct req *rq,
			      const uint8_t *pk, unsigned status, enum mc_refusal why, const char *msg, bool log)
{
	static const uint8_t none[MC_PEER_NONCE_LEN];
	struct mc_reply r = { status, NULL, { NULL, 0, 0, false } };
	enum MHD_Result ret;

	rq->overflow = true;
	if (log)
		mc_metrics_refusal(why);   /* else counted where it was logged */
	if (log)
		mc_engine_log_refusal(h->e, pk, method, rq->target, msg);
	mc_buf_init(&r.body);
	mc_put_raw(&r.body, msg, strlen(msg));
	mc_put_raw(&r.body, "\n", 1);
	ret = send_reply(h, con, rq->target, rq->sg.time_ms ? rq->sg.nonce : none, &r);
	mc_buf_release(&r.body);
	return ret;
}

/* The headers alone: the signature over the body's signed hash, the key,
 * the time, the nonce and the rate, the path's body limit and the bytes
 * in flight. Nothing of the body is read before all of them pass. */
static enum MHD_Result on_headers(struct mc_httpd *h, struct MHD_Connection *con, const char *url,
				  const char *method, struct req *rq)
{
	const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
	const char *te = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Transfer-Encoding");
	const char *bh = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_BODY);
	size_t limit = body_limit(h, method, url);
	struct mc_err err = { 0 };
	char msg[160];
	char *end;
	unsigned long long n = 0;

	rq->started = true;
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		return refuse(h, con, method, rq, NULL, 405, MC_REFUSAL_METHOD, _("only GET and POST are served"), true);
	if (te || (cl && (!*cl || *cl < '0' || *cl > '9' || (n = strtoull(cl, &end, 10), *end))))
		return refuse(h, con, method, rq, NULL, 411, MC_REFUSAL_LENGTH, _("a request body needs a plain Content-Length"), true);
	if (!cl && strcmp(method, "POST") == 0)
		return refuse(h, con, method, rq, NULL, 411, MC_REFUSAL_LENGTH, _("a request body needs a plain Content-Length"), true);
	if (mc_peer_sig_parse(MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_KEY),
			      MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_TIME),
			      MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_NONCE),
			      MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_SIG), &rq->sg, &err) != 0 ||
	    ((n > 0 && !bh) ? mc_err_set(&err, EX_NOPERM, _("header %s is missing"), MC_PEER_HDR_BODY)
			    : mc_peer_body_parse(bh, &rq->sg, &err)) != 0) {
		memset(&rq->sg, 0, sizeof(rq->sg));
		return refuse(h, con, method, rq, NULL, status_of(err.code), MC_REFUSAL_SIGNATURE, err.msg, true);
	}
	if (n > limit) {
		snprintf(msg, sizeof(msg), _("the body is larger than the %zu bytes %s takes"), limit, url);
		return refuse(h, con, method, rq, rq->sg.pk, 413, MC_REFUSAL_TOO_LARGE, msg, true);
	}
	if (mc_engine_auth(h->e, &rq->sg, method, rq->target, strcmp(method, "GET") != 0, &err) != 0)
		return refuse(h, con, method, rq, NULL, status_of(err.code), MC_REFUSAL_N, err.msg, false);   /* logged there */
	mark_authed(h, con);
	if (n) {
		if (!inflight_take(h, rq->sg.pk, n))
			return refuse(h, con, method, rq, rq->sg.pk, 503, MC_REFUSAL_BUSY,
				      _("too many large requests in flight: try again"), true);
		rq->reserved = n;
		if (!mc_buf_reserve(&rq->body, n))
			return refuse(h, con, method, rq, rq->sg.pk, 503, MC_REFUSAL_BUSY, _("out of memory"), true);
	}
	rq->expect = n;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct mc_httpd *h = cls;
	struct req *rq = *req_cls;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	enum MHD_Result ret;

	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started)
		return on_headers(h, con, url, method, rq);
	if (rq->overflow)   /* refused already; MHD drops what still comes */
		return MHD_NO;
	if (*upload_size) {
		if (rq->body.len + *upload_size <= rq->expect)
			mc_put_raw(&rq->body, upload, *upload_size);
		else
			rq->overflow = true;
		*upload_size = 0;
		return MHD_YES;
	}
	mc_buf_init(&r.body);
	if (rq->overflow || rq->body.len != rq->expect || mc_buf_failed(&rq->body)) {
		r.status = 400;
		mc_put_raw(&r.body, "the body does not have its Content-Length\n", 42);
	} else if (!mc_peer_body_matches(&rq->sg, rq->body.data, rq->body.len)) {
		mc_metrics_refusal(MC_REFUSAL_BODY);
		mc_engine_log_refusal(h->e, rq->sg.pk, method, rq->target, _("the body does not match its signed hash"));
		r.status = 400;
		mc_put_raw(&r.body, "the body does not match X-Medchain-Body\n", 40);
	} else {
		route(h, con, url, method, &rq->sg, rq, &r);
	}
	ret = send_reply(h, con, url, rq->sg.nonce, &r);
	mc_buf_release(&r.body);
	return ret;
}

int mc_httpd_parse_listen(const char *key, const char *listen, struct sockaddr_storage *ss, socklen_t *len,
			  struct mc_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	char *end;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return mc_err_set(err, EX_CONFIG, _("%s: expected host:port, got '%s'"), key, listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return mc_err_set(err, EX_CONFIG, _("%s: bad port in '%s'"), key, listen);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = 0;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return mc_err_set(err, EX_CONFIG, _("%s: bad address in '%s'"), key, listen);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &a->sin_addr) != 1)
			return mc_err_set(err, EX_CONFIG, _("%s: bad address in '%s' (use an IP address)"),
					  key, listen);
		*len = sizeof(*a);
	}
	return 0;
}

#define CERT_FILE_MAX (2u << 20)
static char *slurp(const char *path, struct mc_err *err)
{
	FILE *f = fopen(path, "r");
	struct mc_buf b;
	char chunk[4096];
	size_t r;

	if (!f) {
		mc_err_set(err, EX_CONFIG, _("cannot read '%s'"), path);
		return NULL;
	}
	mc_buf_init(&b);
	mc_buf_append(&b, "", 0);   /* an empty file is "" */
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + r > CERT_FILE_MAX) {
			mc_err_set(err, EX_CONFIG, _("'%s' is too large"), path);
			goto fail;
		}
		mc_buf_append(&b, chunk, r);
	}
	if (ferror(f)) {
		mc_err_set(err, EX_CONFIG, _("cannot read '%s'"), path);
		goto fail;
	}
	if (b.failed) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		goto fail;
	}
	fclose(f);
	return (char *)b.data;
fail:
	fclose(f);
	mc_buf_release(&b);
	return NULL;
}

/* The TLS private key (PEM), read like the other key files (keystore.c): a
 * regular file (a symbolic link is followed: certbot's live/ names are
 * links; its target is checked) that neither group nor others can access,
 * else EX_NOPERM. Read into guarded memory (sodium_malloc: locked,
 * NUL-terminated); the caller sodium_free()s it, which wipes it. */
#define TLS_KEY_MAX (64u << 10)
static char *read_tls_key(const char *path, struct mc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0) {
		int e = errno;

		mc_err_set(err, e == EACCES || e == EPERM ? EX_NOPERM : EX_CONFIG,
			   _("cannot read the TLS key '%s': %s"), path, strerror(e));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		mc_err_set(err, EX_NOPERM, _("the TLS key '%s' is not a regular file"), path);
		return NULL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		mc_err_set(err, EX_NOPERM,
			   _("the TLS key '%s' is accessible to other users: refusing it (chmod 600 '%s')"), path,
			   path);
		return NULL;
	}
	if (st.st_size <= 0 || (unsigned long long)st.st_size >= TLS_KEY_MAX) {
		close(fd);
		mc_err_set(err, EX_CONFIG, _("the TLS key '%s' is empty or too large"), path);
		return NULL;
	}
	if (!(buf = sodium_malloc((size_t)st.st_size + 1))) {
		close(fd);
		mc_err_set(err, EX_OSERR, _("out of memory"));
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got != (size_t)st.st_size || memchr(buf, 0, got)) {
		sodium_free(buf);
		mc_err_set(err, EX_CONFIG, _("cannot read the TLS key '%s'"), path);
		return NULL;
	}
	buf[got] = '\0';
	return buf;
}

int mc_httpd_start(const struct mc_httpd_conf *c, struct mc_engine *e, struct mc_httpd **out,
		   struct mc_err *err)
{
	struct mc_httpd *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

	if (!h)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	h->e = e;
	h->tx_max = c->tx_max ? c->tx_max : MC_ENGINE_TX_BODY_MAX;
	h->block_max = c->block_max ? c->block_max : MC_ENGINE_BLOCK_BODY_MAX;
	h->inflight_max = c->inflight_max ? c->inflight_max : MC_ENGINE_INFLIGHT_MAX;
	if (h->inflight_max < h->block_max)
		h->inflight_max = h->block_max;
	h->key_share = h->inflight_max / 2 > h->block_max ? h->inflight_max / 2 : h->block_max;
	h->soft_limit = c->max_connections ? c->max_connections : 256u;
	pthread_mutex_init(&h->mu, NULL);
	if (mc_httpd_parse_listen("[node] listen", c->listen, &ss, &sl, err) != 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_SOCK_ADDR, 0, &ss },
			{ MHD_OPTION_CONNECTION_LIMIT, h->soft_limit + HARD_EXTRA, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip ? c->per_ip : 64u, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, AUTH_TIMEOUT_S, NULL },
			{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_done, h },
			{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h },
			{ MHD_OPTION_END, 0, NULL },   /* TLS: the certificate here */
			{ MHD_OPTION_END, 0, NULL },   /* and its key */
			{ MHD_OPTION_END, 0, NULL },
		};

		if (c->tls_cert && *c->tls_cert) {
			if (!(h->cert = slurp(c->tls_cert, err)) || !(h->key = read_tls_key(c->tls_key ? c->tls_key : "", err)))
				goto fail;
			flags |= MHD_USE_TLS;
			opts[7] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert };
			opts[8] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key };
		}
		h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
		/* MHD reads the PEM only inside MHD_start_daemon (its TLS setup
		 * hands it to gnutls_certificate_set_x509_key_mem2, which parses
		 * and keeps its own copy in the credentials): ours is wiped now. */
		sodium_free(h->key);
		h->key = NULL;
	}
	if (!h->d) {
		mc_err_set(err, EX_UNAVAILABLE, _("cannot listen on %s (in use, or TLS files unusable)"), c->listen);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	sodium_free(h->key);
	free(h->cert);
	pthread_mutex_destroy(&h->mu);
	free(h);
	return -1;
}

void mc_httpd_stop(struct mc_httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->cert);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
