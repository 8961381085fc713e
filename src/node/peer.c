/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chain.h"
#include "codec.h"
#include "i18n.h"
#include "peer.h"
#include "peerauth.h"

struct mc_peer_client {
	CURL *curl;
	char *ca_file;
};

int mc_peer_client_new(const char *ca_file, struct mc_peer_client **out, struct mc_err *err)
{
	struct mc_peer_client *c = calloc(1, sizeof(*c));

	if (!c || !(c->curl = curl_easy_init()) || (ca_file && *ca_file && !(c->ca_file = strdup(ca_file)))) {
		mc_peer_client_free(c);
		return mc_err_set(err, EX_OSERR, _("cannot start an HTTP client"));
	}
	*out = c;
	return 0;
}

void mc_peer_client_free(struct mc_peer_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->ca_file);
	free(c);
}

void mc_peer_resp_release(struct mc_peer_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

struct sink {
	struct mc_buf b;  /* the body */
	size_t max;
	bool over;
	char key[MC_PEER_KEY_HEX], time[MC_PEER_TIME_DEC], sig[MC_PEER_SIG_HEX];
	bool has_key, has_time, has_sig;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (n > s->max - s->b.len) {
		s->over = true;
		return 0;
	}
	return mc_buf_append(&s->b, ptr, n) ? n : 0;
}

/* Copies one of our response headers' value (trimmed) if it fits. */
static void take_header(const char *line, size_t n, const char *name, char *out, size_t cap, bool *has)
{
	size_t nl = strlen(name);

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	line += nl + 1;
	n -= nl + 1;
	while (n && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	if (n >= cap)
		return;
	memcpy(out, line, n);
	out[n] = 0;
	*has = true;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	take_header(ptr, n, MC_PEER_HDR_KEY, s->key, sizeof(s->key), &s->has_key);
	take_header(ptr, n, MC_PEER_HDR_TIME, s->time, sizeof(s->time), &s->has_time);
	take_header(ptr, n, MC_PEER_HDR_SIG, s->sig, sizeof(s->sig), &s->has_sig);
	return n;
}

static struct curl_slist *sig_headers(const struct mc_peer_sig *sg)
{
	char key[MC_PEER_KEY_HEX], tm[MC_PEER_TIME_DEC], nonce[MC_PEER_NONCE_HEX], sig[MC_PEER_SIG_HEX];
	char body[MC_PEER_BODY_HEX], line[256];
	struct curl_slist *h = NULL, *n;

	mc_peer_sig_headers(sg, key, tm, nonce, sig);
	mc_peer_body_header(sg, body);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_KEY, key);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_TIME, tm);
	if (h && (n = curl_slist_append(h, line)))
		h = n;
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_NONCE, nonce);
	if (h && (n = curl_slist_append(h, line)))
		h = n;
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_SIG, sig);
	if (h && (n = curl_slist_append(h, line)))
		h = n;
	/* the body's hash: the server checks the signature before the body */
	snprintf(line, sizeof(line), "%s: %s", MC_PEER_HDR_BODY, body);
	if (h && (n = curl_slist_append(h, line)))
		h = n;
	if (h && (n = curl_slist_append(h, "Content-Type: application/octet-stream")))
		h = n;
	if (h && (n = curl_slist_append(h, "Expect:")))
		h = n;
	return h;
}

int mc_peer_call(struct mc_peer_client *c, const uint8_t chain_id[MC_HASH_LEN],
		 const struct mc_key *node, const char *base_url, const char *method,
		 const char *path, const void *body, size_t len, const uint8_t *expect_pk,
		 long timeout_ms, size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err)
{
	struct mc_peer_sig sg, rs;
	struct curl_slist *hdrs;
	struct sink s;
	char url[1024];
	CURLcode cc;
	long status = 0;
	int rc;

	memset(resp, 0, sizeof(*resp));
	memset(&s, 0, sizeof(s));
	s.max = max_resp;
	if (snprintf(url, sizeof(url), "%s%s", base_url, path) >= (int)sizeof(url))
		return mc_err_set(err, EX_USAGE, _("the peer's URL is too long"));
	if (mc_peer_sign_request(chain_id, node, method, path, body, len, mc_now_ms(), &sg, err) != 0)
		return -1;
	if (!(hdrs = sig_headers(&sg)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, len ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	if (c->ca_file)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, c->ca_file);
	cc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	if (s.over) {
		mc_buf_release(&s.b);
		return mc_err_set(err, EX_PROTOCOL, _("%s: the answer is larger than %zu bytes"), base_url, max_resp);
	}
	if (cc != CURLE_OK) {
		mc_buf_release(&s.b);
		return mc_err_set(err, EX_UNAVAILABLE, _("%s: %s"), base_url, curl_easy_strerror(cc));
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	rc = mc_peer_resp_parse(s.has_key ? s.key : NULL, s.has_time ? s.time : NULL,
				s.has_sig ? s.sig : NULL, sg.nonce, &rs, err);
	if (rc == 0)
		rc = mc_peer_check_response(chain_id, &rs, expect_pk, sg.nonce, (uint16_t)status,
					    s.b.data, s.b.len, mc_now_ms(), err);
	if (rc != 0) {
		mc_buf_release(&s.b);
		if (err)
			err->code = EX_PROTOCOL;
		return mc_err_wrap(err, _("%s: the answer is not signed by the node"), base_url);
	}
	resp->status = status;
	resp->body = s.b.data ? s.b.data : calloc(1, 1);
	resp->len = s.b.len;
	memcpy(resp->pk, rs.pk, MC_PK_LEN);
	if (!resp->body)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	return 0;
}

/* ---- the engine's transport over HTTP ----------------------------------- */

static int http_open(void *ctx, void **client, struct mc_err *err)
{
	struct mc_peer_client *c = NULL;

	if (mc_peer_client_new(ctx, &c, err) != 0)
		return -1;
	*client = c;
	return 0;
}

static void http_close(void *ctx, void *client)
{
	(void)ctx;
	mc_peer_client_free(client);
}

static int http_send(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
		     const char *base_url, const char *path, const void *body, size_t len, const uint8_t *expect_pk,
		     long timeout_ms, size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err)
{
	return mc_peer_call(client, chain_id, node, base_url, "POST", path, body, len, expect_pk, timeout_ms, max_resp,
			    resp, err);
}

static int http_fetch(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
		      const char *base_url, const char *path, const uint8_t *expect_pk, long timeout_ms,
		      size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err)
{
	return mc_peer_call(client, chain_id, node, base_url, "GET", path, NULL, 0, expect_pk, timeout_ms, max_resp,
			    resp, err);
}

void mc_peer_http_transport(const char *ca_file, struct mc_peer_transport *out)
{
	out->open = http_open;
	out->close = http_close;
	out->send = http_send;
	out->fetch = http_fetch;
	out->ctx = (void *)(uintptr_t)ca_file;   /* read only: handed back to open */
}
