#include "config.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chain.h"
#include "httpd.h"
#include "i18n.h"
#include "peerauth.h"

struct mc_httpd {
	struct MHD_Daemon *d;
	struct mc_engine *e;
	size_t body_max;
	char *cert, *key;
};

struct req {
	char *target;             /* raw path and query, as signed */
	struct mc_buf body;
	bool started, too_big;
};

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

static void on_done(void *cls, struct MHD_Connection *con, void **req_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *req_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (!rq)
		return;
	free(rq->target);
	mc_buf_release(&rq->body);
	free(rq);
	*req_cls = NULL;
}

static enum MHD_Result send_reply(struct mc_httpd *h, struct MHD_Connection *con,
				  const uint8_t nonce[MC_PEER_NONCE_LEN], struct mc_reply *r)
{
	struct MHD_Response *resp;
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };
	uint8_t chain[MC_HASH_LEN];
	char key[MC_PEER_KEY_HEX], tm[MC_PEER_TIME_DEC], sig[MC_PEER_SIG_HEX];
	enum MHD_Result ret;

	mc_engine_chain_id(h->e, chain);
	if (mc_buf_failed(&r->body)) {
		mc_buf_reset(&r->body);
		r->status = 500;
	}
	resp = MHD_create_response_from_buffer(r->body.len, r->body.data, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "text/plain; charset=utf-8");
	if (mc_peer_sign_response(chain, mc_engine_node(h->e), nonce, (uint16_t)r->status, r->body.data,
				  r->body.len, mc_now_ms(), &sg, &err) == 0) {
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
				       why && strcmp(why, "timeout") == 0, r);
	} else if (post && strcmp(url, "/v1/view-change") == 0) {
		mc_engine_on_view_change(h->e, sg->pk, rq->body.data, rq->body.len, r);
	} else if (post && strcmp(url, "/v1/promote") == 0) {
		/* the operator's own node only */
		if (memcmp(sg->pk, mc_engine_node(h->e)->pk, MC_PK_LEN) != 0) {
			r->status = 403;
			mc_put_raw(&r->body, "promote: this node's own key only\n", 34);
			return;
		}
		mc_engine_on_promote(h->e, MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "leader"), r);
	} else {
		r->status = 404;
		mc_put_raw(&r->body, "not found\n", 10);
	}
}

/* 413, logged: the body is over the limit. */
static enum MHD_Result refuse_too_big(struct mc_httpd *h, struct MHD_Connection *con, const char *method,
				      struct req *rq)
{
	static const uint8_t none[MC_PEER_NONCE_LEN];
	struct mc_reply r = { 413, NULL, { NULL, 0, 0, false } };
	const char *k = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_KEY);
	enum MHD_Result ret;

	rq->too_big = true;
	mc_engine_log("refused %s %s from %.16s: the body is larger than %zu bytes", method, rq->target,
		      k ? k : "?", h->body_max);
	mc_buf_init(&r.body);
	mc_put_raw(&r.body, "request body too large\n", 23);
	ret = send_reply(h, con, none, &r);
	mc_buf_release(&r.body);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct mc_httpd *h = cls;
	struct req *rq = *req_cls;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_peer_sig sg;
	struct mc_err err = { 0 };
	enum MHD_Result ret;

	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started) {
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");

		rq->started = true;
		/* refused before a byte of the body is read */
		if (cl && strtoull(cl, NULL, 10) > h->body_max)
			return refuse_too_big(h, con, method, rq);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->body.len + *upload_size <= h->body_max)
			mc_put_raw(&rq->body, upload, *upload_size);
		else
			rq->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big || mc_buf_failed(&rq->body))   /* a body without a length, grown too large */
		return refuse_too_big(h, con, method, rq);
	memset(&sg, 0, sizeof(sg));
	mc_buf_init(&r.body);
	if (mc_peer_sig_parse(MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_KEY),
				     MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_TIME),
				     MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_NONCE),
				     MHD_lookup_connection_value(con, MHD_HEADER_KIND, MC_PEER_HDR_SIG),
				     &sg, &err) != 0 ||
		   mc_engine_auth(h->e, &sg, method, rq->target, rq->body.data, rq->body.len,
				  strcmp(method, "GET") != 0, &err) != 0) {
		r.status = status_of(err.code);
		mc_put_raw(&r.body, err.msg, strlen(err.msg));
		mc_put_raw(&r.body, "\n", 1);
	} else {
		route(h, con, url, method, &sg, rq, &r);
	}
	ret = send_reply(h, con, sg.nonce, &r);
	mc_buf_release(&r.body);
	return ret;
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len,
			struct mc_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	unsigned long port;
	char *end;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return mc_err_set(err, EX_CONFIG, _("[node] listen: expected host:port, got '%s'"), listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return mc_err_set(err, EX_CONFIG, _("[node] listen: bad port in '%s'"), listen);
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = 0;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return mc_err_set(err, EX_CONFIG, _("[node] listen: bad address in '%s'"), listen);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &a->sin_addr) != 1)
			return mc_err_set(err, EX_CONFIG, _("[node] listen: bad address in '%s' (use an IP address)"),
					  listen);
		*len = sizeof(*a);
	}
	return 0;
}

static char *slurp(const char *path, struct mc_err *err)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int c;

	if (!f) {
		mc_err_set(err, EX_CONFIG, _("cannot read '%s'"), path);
		return NULL;
	}
	while ((c = fgetc(f)) != EOF) {
		if (n + 2 > cap) {
			char *p = realloc(buf, cap ? cap * 2 : 4096);

			if (!p || cap > (1u << 20)) {
				free(p ? p : buf);
				fclose(f);
				mc_err_set(err, EX_CONFIG, _("'%s' is too large"), path);
				return NULL;
			}
			buf = p;
			cap = cap ? cap * 2 : 4096;
		}
		buf[n++] = (char)c;
	}
	fclose(f);
	if (!buf && !(buf = calloc(1, 1)))
		return NULL;
	buf[n] = 0;
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
	h->body_max = c->body_max ? c->body_max : MC_ENGINE_BODY_MAX;
	if (parse_listen(c->listen, &ss, &sl, err) != 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		struct MHD_OptionItem opts[] = {
			{ MHD_OPTION_SOCK_ADDR, 0, &ss },
			{ MHD_OPTION_CONNECTION_LIMIT, c->max_connections ? c->max_connections : 256u, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->per_ip ? c->per_ip : 64u, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL },
			{ MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, NULL },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_done, NULL },
			{ MHD_OPTION_END, 0, NULL },   /* TLS: the certificate here */
			{ MHD_OPTION_END, 0, NULL },   /* and its key */
			{ MHD_OPTION_END, 0, NULL },
		};

		if (c->tls_cert && *c->tls_cert) {
			if (!(h->cert = slurp(c->tls_cert, err)) || !(h->key = slurp(c->tls_key ? c->tls_key : "", err)))
				goto fail;
			flags |= MHD_USE_TLS;
			opts[6] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert };
			opts[7] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, h->key };
		}
		h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	}
	if (!h->d) {
		mc_err_set(err, EX_UNAVAILABLE, _("cannot listen on %s (in use, or TLS files unusable)"), c->listen);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	if (h->key)
		sodium_memzero(h->key, strlen(h->key));
	free(h->cert);
	free(h->key);
	free(h);
	return -1;
}

void mc_httpd_stop(struct mc_httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->cert);
	if (h->key)
		sodium_memzero(h->key, strlen(h->key));
	free(h->key);
	free(h);
}
