/* SPDX-License-Identifier: Apache-2.0 */
/* Peer API signatures: round trips, every single-bit change refused, the
 * time window to the millisecond both ways, responses bound to their
 * request, header parsing (missing, lengths, digits, overflow), and the
 * replay cache (eviction order, expiry, a reference model, 8 threads). */
#include "config.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "peerauth.h"
#include "util.h"

#define NOW 1764500000000ULL

static struct mc_key *node, *other;
static uint8_t chain[32];
static const char body[] = "{\"height\":12,\"txs\":[\"00ff\"]}";

static void setup(void)
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_key_generate(false, &node, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &other, &err), 0, "%s", err.msg);
	for (int i = 0; i < 32; i++)
		chain[i] = (uint8_t)(0xc0 + i);
}

static void teardown(void)
{
	mc_key_free(node);
	mc_key_free(other);
}

TestSuite(peerauth, .init = setup, .fini = teardown);

static struct mc_peer_sig sign_req(const char *method, const char *path, uint64_t t)
{
	struct mc_peer_sig s;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_peer_sign_request(chain, node, method, path, body, sizeof(body) - 1,
					  t, &s, &err), 0, "%s", err.msg);
	return s;
}

static int check_req(const struct mc_peer_sig *s, const char *method, const char *path,
		     const void *b, size_t n, uint64_t now, struct mc_err *err)
{
	mc_err_clear(err);
	return mc_peer_check_request(chain, s, method, path, b, n, now, err);
}

static void assert_sig_fails(int rc, const struct mc_err *err, const char *what)
{
	cr_assert_eq(rc, -1, "%s: accepted", what);
	cr_assert_eq(err->code, EX_NOPERM, "%s", what);
	cr_assert(strstr(err->msg, "signature does not verify"), "%s: %s", what, err->msg);
}

/* ---- requests ---------------------------------------------------------- */

Test(peerauth, request_round_trip_and_fresh_nonces)
{
	struct mc_peer_sig a = sign_req("POST", "/v1/tx?wait=1", NOW);
	struct mc_peer_sig b = sign_req("POST", "/v1/tx?wait=1", NOW);
	struct mc_err err = { 0 };

	cr_assert_eq(check_req(&a, "POST", "/v1/tx?wait=1", body, sizeof(body) - 1, NOW, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(memcmp(a.pk, node->pk, 32), 0);
	cr_assert_eq(a.time_ms, NOW);
	cr_assert_neq(memcmp(a.nonce, b.nonce, 16), 0, "a fresh nonce each time");
}

Test(peerauth, request_with_an_empty_body_and_an_empty_path)
{
	struct mc_peer_sig s;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_peer_sign_request(chain, node, "GET", "", NULL, 0, NOW, &s, &err), 0);
	cr_assert_eq(check_req(&s, "GET", "", NULL, 0, NOW, &err), 0, "%s", err.msg);
	cr_assert_eq(check_req(&s, "GET", "", "", 0, NOW, &err), 0, "NULL and \"\" are one body");
	assert_sig_fails(check_req(&s, "GET", "/", NULL, 0, NOW, &err), &err, "path added");
	assert_sig_fails(check_req(&s, "GET", "", "\0", 1, NOW, &err), &err, "body added");
}

Test(peerauth, every_bit_of_method_path_and_body_counts)
{
	const char *method = "POST", *path = "/v1/blocks/12?from=peer";
	struct mc_peer_sig s = sign_req(method, path, NOW);
	struct mc_err err = { 0 };
	char m[8], p[64], b[sizeof(body)];

	for (size_t i = 0; i < strlen(method) * 8; i++) {
		strcpy(m, method);
		m[i / 8] ^= (char)(1 << (i % 8));
		assert_sig_fails(check_req(&s, m, path, body, sizeof(body) - 1, NOW, &err), &err, m);
	}
	for (size_t i = 0; i < strlen(path) * 8; i++) {
		strcpy(p, path);
		p[i / 8] ^= (char)(1 << (i % 8));
		assert_sig_fails(check_req(&s, method, p, body, sizeof(body) - 1, NOW, &err), &err, p);
	}
	for (size_t i = 0; i < (sizeof(body) - 1) * 8; i++) {
		memcpy(b, body, sizeof(body));
		b[i / 8] ^= (char)(1 << (i % 8));
		assert_sig_fails(check_req(&s, method, path, b, sizeof(body) - 1, NOW, &err), &err,
				 "body bit");
	}
	/* a byte more or less, and the method's case */
	assert_sig_fails(check_req(&s, method, path, body, sizeof(body) - 2, NOW, &err), &err, "short");
	assert_sig_fails(check_req(&s, method, path, body, sizeof(body), NOW, &err), &err, "long");
	assert_sig_fails(check_req(&s, "post", path, body, sizeof(body) - 1, NOW, &err), &err, "case");
	/* the length prefixes keep method and path apart */
	assert_sig_fails(check_req(&s, "POST/", path + 1, body, sizeof(body) - 1, NOW, &err), &err,
			 "boundary");
}

Test(peerauth, every_bit_of_time_nonce_key_chain_and_signature_counts)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW), t;
	struct mc_err err = { 0 };
	const size_t n = sizeof(body) - 1;

	for (int i = 0; i < 64; i++) {
		t = s;
		t.time_ms ^= 1ULL << i;
		/* checked at the altered time, so that only the signature can fail */
		assert_sig_fails(check_req(&t, "GET", "/v1/status", body, n, t.time_ms, &err), &err,
				 "time bit");
	}
	for (int i = 0; i < 16 * 8; i++) {
		t = s;
		t.nonce[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_sig_fails(check_req(&t, "GET", "/v1/status", body, n, NOW, &err), &err, "nonce");
	}
	for (int i = 0; i < 32 * 8; i++) {
		t = s;
		t.pk[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_sig_fails(check_req(&t, "GET", "/v1/status", body, n, NOW, &err), &err, "key");
	}
	for (int i = 0; i < 64 * 8; i++) {
		t = s;
		t.sig[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_sig_fails(check_req(&t, "GET", "/v1/status", body, n, NOW, &err), &err, "sig");
	}
	for (int i = 0; i < 32 * 8; i++) {
		chain[i / 8] ^= (uint8_t)(1 << (i % 8));
		assert_sig_fails(check_req(&s, "GET", "/v1/status", body, n, NOW, &err), &err, "chain");
		chain[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	/* another node's key in the header */
	t = s;
	memcpy(t.pk, other->pk, 32);
	assert_sig_fails(check_req(&t, "GET", "/v1/status", body, n, NOW, &err), &err, "other key");
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW, &err), 0, "%s", err.msg);
}

Test(peerauth, time_window_to_the_millisecond_both_ways)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW);
	struct mc_err err = { 0 };
	const size_t n = sizeof(body) - 1;

	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW + MC_PEER_SKEW_MS, &err), 0);
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW - MC_PEER_SKEW_MS, &err), 0);
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW + 1234, &err), 0);

	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW + MC_PEER_SKEW_MS + 1, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_str_eq(err.msg,
			 "the request is 30.001 s old, more than the 30 s allowed (check the clocks)");
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW - MC_PEER_SKEW_MS - 1, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_str_eq(err.msg, "the request is dated 30.001 s ahead of this node's clock, "
			 "more than the 30 s allowed (check the clocks)");
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, NOW + 75000, &err), -1);
	cr_assert(strstr(err.msg, "75.000 s old"), "%s", err.msg);
	/* the extremes of u64 do not wrap */
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, 0, &err), -1);
	cr_assert_eq(check_req(&s, "GET", "/v1/status", body, n, UINT64_MAX, &err), -1);
}

Test(peerauth, a_bad_signature_is_reported_before_a_bad_time)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW);
	struct mc_err err = { 0 };

	s.sig[0] ^= 1;
	assert_sig_fails(check_req(&s, "GET", "/v1/status", body, sizeof(body) - 1, NOW + 99999999,
				   &err), &err, "stale and forged");
}

Test(peerauth, method_and_path_lengths)
{
	static char path[MC_PEER_PATH_MAX + 2];
	char method[MC_PEER_METHOD_MAX + 2];
	struct mc_peer_sig s;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_peer_sign_request(chain, node, "", "/", NULL, 0, NOW, &s, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	memset(method, 'X', sizeof(method) - 1);
	method[MC_PEER_METHOD_MAX] = '\0';
	cr_assert_eq(mc_peer_sign_request(chain, node, method, "/", NULL, 0, NOW, &s, &err), 0);
	cr_assert_eq(check_req(&s, method, "/", NULL, 0, NOW, &err), 0, "%s", err.msg);
	method[MC_PEER_METHOD_MAX] = 'X';
	method[MC_PEER_METHOD_MAX + 1] = '\0';
	cr_assert_eq(mc_peer_sign_request(chain, node, method, "/", NULL, 0, NOW, &s, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);

	memset(path, 'p', sizeof(path) - 1);
	path[MC_PEER_PATH_MAX] = '\0';
	cr_assert_eq(mc_peer_sign_request(chain, node, "GET", path, NULL, 0, NOW, &s, &err), 0);
	cr_assert_eq(check_req(&s, "GET", path, NULL, 0, NOW, &err), 0, "%s", err.msg);
	path[MC_PEER_PATH_MAX] = 'p';
	path[MC_PEER_PATH_MAX + 1] = '\0';
	cr_assert_eq(mc_peer_sign_request(chain, node, "GET", path, NULL, 0, NOW, &s, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_eq(check_req(&s, "GET", path, NULL, 0, NOW, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_eq(check_req(&s, "", "/", NULL, 0, NOW, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
}

Test(peerauth, a_raw_key_cannot_sign)
{
	struct mc_key k = *node;
	struct mc_peer_sig s;
	struct mc_err err = { 0 };
	uint8_t n[16] = { 0 };

	k.raw = true;
	cr_assert_eq(mc_peer_sign_request(chain, &k, "GET", "/", NULL, 0, NOW, &s, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_eq(mc_peer_sign_response(chain, &k, n, 200, NULL, 0, NOW, &s, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	mc_wipe(&k, sizeof(k));
}

/* ---- responses --------------------------------------------------------- */

Test(peerauth, response_bound_to_its_request)
{
	struct mc_peer_sig req = sign_req("GET", "/v1/status", NOW), req2, resp, t;
	struct mc_err err = { 0 };
	const size_t n = sizeof(body) - 1;
	uint8_t nonce[16];

	req2 = sign_req("GET", "/v1/status", NOW);
	cr_assert_eq(mc_peer_sign_response(chain, other, req.nonce, 200, body, n, NOW + 5, &resp,
					   &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(resp.nonce, req.nonce, 16), 0);
	cr_assert_eq(mc_peer_check_response(chain, &resp, other->pk, req.nonce, 200, body, n,
					    NOW + 10, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, req.nonce, 200, body, n, NOW, &err),
		     0, "any signer");

	/* another request's nonce */
	cr_assert_eq(mc_peer_check_response(chain, &resp, other->pk, req2.nonce, 200, body, n,
					    NOW, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert(strstr(err.msg, "signature does not verify"), "%s", err.msg);
	for (int i = 0; i < 128; i++) {
		memcpy(nonce, req.nonce, 16);
		nonce[i / 8] ^= (uint8_t)(1 << (i % 8));
		cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, nonce, 200, body, n, NOW,
						    &err), -1, "nonce bit %d", i);
	}
	/* status, body, time, signature, chain */
	for (int i = 0; i < 16; i++)
		cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, req.nonce,
						    (uint16_t)(200 ^ (1 << i)), body, n, NOW, &err),
			     -1, "status bit %d", i);
	cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, req.nonce, 200, body, n - 1, NOW,
					    &err), -1);
	t = resp;
	t.time_ms ^= 1;
	cr_assert_eq(mc_peer_check_response(chain, &t, NULL, req.nonce, 200, body, n, NOW, &err), -1);
	t = resp;
	t.sig[63] ^= 0x80;
	cr_assert_eq(mc_peer_check_response(chain, &t, NULL, req.nonce, 200, body, n, NOW, &err), -1);
	chain[0] ^= 1;
	cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, req.nonce, 200, body, n, NOW, &err),
		     -1);
	chain[0] ^= 1;

	/* signed by another node than the one asked */
	cr_assert_eq(mc_peer_check_response(chain, &resp, node->pk, req.nonce, 200, body, n, NOW,
					    &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert(strstr(err.msg, "another node"), "%s", err.msg);

	/* stale */
	cr_assert_eq(mc_peer_check_response(chain, &resp, NULL, req.nonce, 200, body, n,
					    NOW + 5 + MC_PEER_SKEW_MS + 1, &err), -1);
	cr_assert(strstr(err.msg, "the response is 30.001 s old"), "%s", err.msg);
}

Test(peerauth, requests_and_responses_are_not_interchangeable)
{
	struct mc_peer_sig req = sign_req("GET", "/v1/status", NOW), resp;
	struct mc_err err = { 0 };

	/* a request signature presented as a response to itself */
	cr_assert_eq(mc_peer_check_response(chain, &req, NULL, req.nonce, 200, body,
					    sizeof(body) - 1, NOW, &err), -1);
	cr_assert_eq(mc_peer_sign_response(chain, node, req.nonce, 200, body, sizeof(body) - 1, NOW,
					   &resp, &err), 0);
	assert_sig_fails(check_req(&resp, "GET", "/v1/status", body, sizeof(body) - 1, NOW, &err),
			 &err, "response as request");
}

/* ---- headers ----------------------------------------------------------- */

struct hdrs {
	char key[MC_PEER_KEY_HEX], time[MC_PEER_TIME_DEC], nonce[MC_PEER_NONCE_HEX],
		sig[MC_PEER_SIG_HEX];
};

static void assert_lower_hex(const char *s, size_t n)
{
	cr_assert_eq(strlen(s), n, "%s", s);
	cr_assert_eq(strspn(s, "0123456789abcdef"), n, "%s", s);
}

Test(peerauth, headers_round_trip)
{
	struct mc_peer_sig s = sign_req("PUT", "/v1/vote", NOW), back;
	struct mc_err err = { 0 };
	struct hdrs h;

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	assert_lower_hex(h.key, 64);
	assert_lower_hex(h.nonce, 32);
	assert_lower_hex(h.sig, 128);
	cr_assert_str_eq(h.time, "1764500000000");
	cr_assert_eq(mc_peer_sig_parse(h.key, h.time, h.nonce, h.sig, &back, &err), 0, "%s", err.msg);
	{
		char bh[MC_PEER_BODY_HEX];

		mc_peer_body_header(&s, bh);
		assert_lower_hex(bh, 64);
		cr_assert_eq(mc_peer_body_parse(bh, &back, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(memcmp(&back, &s, sizeof(s)), 0);
	cr_assert_eq(check_req(&back, "PUT", "/v1/vote", body, sizeof(body) - 1, NOW, &err), 0);

	/* upper case hex is the same value */
	for (char *c = h.key; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	cr_assert_eq(mc_peer_sig_parse(h.key, h.time, h.nonce, h.sig, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(back.pk, s.pk, 32), 0);
}

/* The server checks a request from its headers before it reads the body:
 * the signed body hash comes in X-Medchain-Body, and the body must match
 * it afterwards. */
Test(peerauth, request_checked_from_headers_then_body_matched)
{
	struct mc_peer_sig s = sign_req("POST", "/v1/tx", NOW), back;
	struct mc_err err = { 0 };
	struct hdrs h;
	char bh[MC_PEER_BODY_HEX];

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	mc_peer_body_header(&s, bh);
	cr_assert_eq(mc_peer_sig_parse(h.key, h.time, h.nonce, h.sig, &back, &err), 0);
	cr_assert_eq(mc_peer_body_parse(bh, &back, &err), 0);
	cr_assert_eq(mc_peer_check_request_head(chain, &back, "POST", "/v1/tx", NOW, &err), 0, "%s", err.msg);
	cr_assert(mc_peer_body_matches(&back, body, sizeof(body) - 1));
	cr_assert_not(mc_peer_body_matches(&back, body, sizeof(body) - 2), "a shorter body");
	/* a body hash the sender did not sign fails before any body is read */
	bh[0] = bh[0] == '0' ? '1' : '0';
	cr_assert_eq(mc_peer_body_parse(bh, &back, &err), 0);
	cr_assert_eq(mc_peer_check_request_head(chain, &back, "POST", "/v1/tx", NOW, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	/* no header: an empty body's hash, which this signature does not cover */
	cr_assert_eq(mc_peer_body_parse(NULL, &back, &err), 0);
	cr_assert_eq(mc_peer_check_request_head(chain, &back, "POST", "/v1/tx", NOW, &err), -1);
	cr_assert(mc_peer_body_matches(&back, NULL, 0));
	/* malformed */
	cr_assert_eq(mc_peer_body_parse("abc", &back, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
}

Test(peerauth, response_headers_round_trip)
{
	struct mc_peer_sig req = sign_req("GET", "/v1/status", NOW), resp, back;
	struct mc_err err = { 0 };
	struct hdrs h;

	cr_assert_eq(mc_peer_sign_response(chain, node, req.nonce, 404, NULL, 0, NOW, &resp, &err), 0);
	mc_peer_sig_headers(&resp, h.key, h.time, NULL, h.sig);
	cr_assert_eq(mc_peer_resp_parse(h.key, h.time, h.sig, req.nonce, &back, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(memcmp(&back, &resp, sizeof(resp)), 0);
	cr_assert_eq(mc_peer_check_response(chain, &back, node->pk, req.nonce, 404, NULL, 0, NOW,
					    &err), 0, "%s", err.msg);
	cr_assert_eq(mc_peer_resp_parse(h.key, NULL, h.sig, req.nonce, &back, &err), -1);
	cr_assert_str_eq(err.msg, "header X-Medchain-Time is missing");
}

Test(peerauth, time_header_extremes_format_and_parse)
{
	struct mc_peer_sig s = { .time_ms = 0 }, back;
	struct mc_err err = { 0 };
	struct hdrs h;

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	cr_assert_str_eq(h.time, "0");
	cr_assert_eq(mc_peer_sig_parse(h.key, h.time, h.nonce, h.sig, &back, &err), 0);
	cr_assert_eq(back.time_ms, 0);
	s.time_ms = UINT64_MAX;
	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	cr_assert_str_eq(h.time, "18446744073709551615");
	cr_assert_eq(mc_peer_sig_parse(h.key, h.time, h.nonce, h.sig, &back, &err), 0);
	cr_assert_eq(back.time_ms, UINT64_MAX);
}

static void assert_refused(const char *key, const char *time,
			   const char *nonce, const char *sig, int code, const char *msg)
{
	struct mc_peer_sig out;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_peer_sig_parse(key, time, nonce, sig, &out, &err), -1,
		     "accepted, expected: %s", msg);
	cr_assert_eq(err.code, code, "%s: code %d", err.msg, err.code);
	cr_assert(strstr(err.msg, msg), "'%s' does not say '%s'", err.msg, msg);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(((uint8_t *)&out)[i], 0, "nothing half-parsed is left");
}

Test(peerauth, missing_headers_are_named)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW);
	struct hdrs h;

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	assert_refused(NULL, h.time, h.nonce, h.sig, EX_NOPERM, "header X-Medchain-Key is missing");
	assert_refused(h.key, NULL, h.nonce, h.sig, EX_NOPERM, "header X-Medchain-Time is missing");
	assert_refused(h.key, h.time, NULL, h.sig, EX_NOPERM, "header X-Medchain-Nonce is missing");
	assert_refused(h.key, h.time, h.nonce, NULL, EX_NOPERM, "header X-Medchain-Sig is missing");
	assert_refused(NULL, NULL, NULL, NULL, EX_NOPERM, "X-Medchain-Key");
}

Test(peerauth, hex_headers_with_wrong_lengths_or_characters)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW);
	struct hdrs h;
	char buf[300];
	struct { const char *name; char *v; size_t len; } f[] = {
		{ "X-Medchain-Key", h.key, 64 },
		{ "X-Medchain-Nonce", h.nonce, 32 },
		{ "X-Medchain-Sig", h.sig, 128 },
	};

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	for (size_t i = 0; i < 3; i++) {
		const char *v[3] = { h.key, h.nonce, h.sig };
		char want[64];

		snprintf(want, sizeof(want), "header %s must hold %zu hex digits", f[i].name, f[i].len);
		/* one short, one long, empty, twice as long */
		for (int k = 0; k < 4; k++) {
			size_t n = k == 0 ? f[i].len - 1 : k == 1 ? f[i].len + 1 : k == 2 ? 0 : 2 * f[i].len;

			memset(buf, 'a', n);
			buf[n] = '\0';
			v[i] = buf;
			assert_refused(v[0], h.time, v[1], v[2], EX_DATAERR, want);
		}
		snprintf(want, sizeof(want), "header %s holds a character", f[i].name);
		for (const char *bad = "g -+x\n\t:G"; *bad; bad++) {
			for (size_t at = 0; at < f[i].len; at += f[i].len - 1) {
				memcpy(buf, f[i].v, f[i].len + 1);
				buf[at] = *bad;
				v[i] = buf;
				assert_refused(v[0], h.time, v[1], v[2], EX_DATAERR, want);
			}
		}
		/* "0x" prefix of the right total length */
		memcpy(buf, f[i].v, f[i].len + 1);
		buf[0] = '0';
		buf[1] = 'x';
		v[i] = buf;
		assert_refused(v[0], h.time, v[1], v[2], EX_DATAERR, want);
	}
}

Test(peerauth, time_header_junk_and_overflow)
{
	struct mc_peer_sig s = sign_req("GET", "/v1/status", NOW);
	struct hdrs h;
	static const char *const digits[] = {
		"", "-1", "+1", " 1", "1 ", "1.5", "12a", "0x10", "1e9", "１",
		"\xd9\xa1", /* Arabic-Indic one */
	};

	mc_peer_sig_headers(&s, h.key, h.time, h.nonce, h.sig);
	for (size_t i = 0; i < MC_ARRAY_LEN(digits); i++)
		assert_refused(h.key, digits[i], h.nonce, h.sig, EX_DATAERR,
			       "header X-Medchain-Time must be milliseconds since 1970");
	assert_refused(h.key, "01764500000000", h.nonce, h.sig, EX_DATAERR, "leading zero");
	assert_refused(h.key, "00", h.nonce, h.sig, EX_DATAERR, "leading zero");
	assert_refused(h.key, "18446744073709551616", h.nonce, h.sig, EX_DATAERR,
		       "header X-Medchain-Time is too large");
	assert_refused(h.key, "99999999999999999999", h.nonce, h.sig, EX_DATAERR, "too large");
	assert_refused(h.key, "184467440737095516150", h.nonce, h.sig, EX_DATAERR, "too large");
	assert_refused(h.key, "100000000000000000000000000000000000000", h.nonce, h.sig,
		       EX_DATAERR, "too large");
}

/* ---- replay cache ------------------------------------------------------ */

static struct mc_replay *replay(size_t cap)
{
	struct mc_replay *r;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_replay_new(cap, &r, &err), 0, "%s", err.msg);
	return r;
}

static void nonce_of(uint32_t i, uint8_t n[16])
{
	memset(n, 0, 16);
	n[0] = (uint8_t)(i >> 24);
	n[1] = (uint8_t)(i >> 16);
	n[2] = (uint8_t)(i >> 8);
	n[3] = (uint8_t)i;
}

Test(peerauth, replay_first_seen_then_refused)
{
	struct mc_replay *r = replay(MC_REPLAY_DEFAULT);
	uint8_t n[16], m[16];

	nonce_of(1, n);
	nonce_of(2, m);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW), 0);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW), MC_EXISTS);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW + 2 * MC_PEER_SKEW_MS), MC_EXISTS);
	cr_assert_eq(mc_replay_check(r, node->pk, m, NOW), 0, "another nonce");
	cr_assert_eq(mc_replay_check(r, other->pk, n, NOW), 0, "another key, the same nonce");
	cr_assert_eq(mc_replay_check(r, other->pk, n, NOW), MC_EXISTS);
	mc_replay_free(r);
	mc_replay_free(NULL);
}

Test(peerauth, replay_capacity_limits)
{
	struct mc_replay *r = (struct mc_replay *)1;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_replay_new(0, &r, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_null(r);
	cr_assert_eq(mc_replay_new((size_t)MC_REPLAY_MAX + 1, &r, &err), -1);
	cr_assert_eq(mc_replay_new(1, &r, &err), 0);
	mc_replay_free(r);
}

Test(peerauth, replay_full_cache_refuses_rather_than_forget_a_nonce_in_its_window)
{
	struct mc_replay *r = replay(8);
	uint8_t n[16], pk[4][MC_PK_LEN];

	for (int k = 0; k < 4; k++)
		memset(pk[k], 0x10 + k, MC_PK_LEN);
	/* four keys, two each: full */
	for (uint32_t i = 0; i < 8; i++) {
		nonce_of(i, n);
		cr_assert_eq(mc_replay_check(r, pk[i % 4], n, NOW), 0);
	}
	nonce_of(100, n);
	cr_assert_eq(mc_replay_check(r, pk[0], n, NOW), MC_REPLAY_BUSY, "full: refused");
	for (uint32_t i = 0; i < 8; i++) {
		nonce_of(i, n);
		cr_assert_eq(mc_replay_check(r, pk[i % 4], n, NOW), MC_EXISTS, "nonce %u still known", i);
	}
	/* after the window the oldest go, and room comes back */
	nonce_of(100, n);
	cr_assert_eq(mc_replay_check(r, pk[0], n, NOW + 2 * MC_PEER_SKEW_MS + 1), 0);
	mc_replay_free(r);

	r = replay(1);
	nonce_of(7, n);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW), 0);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW), MC_EXISTS);
	nonce_of(8, n);
	cr_assert_eq(mc_replay_check(r, node->pk, n, NOW), MC_REPLAY_BUSY);
	mc_replay_free(r);
}

Test(peerauth, replay_one_key_cannot_flush_another_keys_nonces)
{
	struct mc_replay *r = replay(64);
	uint8_t n[16];
	uint32_t taken = 0;

	nonce_of(0xabc, n);
	cr_assert_eq(mc_replay_check(r, other->pk, n, NOW), 0);
	/* one key floods: it gets its share (a quarter) and then is refused */
	for (uint32_t i = 0; i < 1000; i++) {
		nonce_of(i, n);
		if (mc_replay_check(r, node->pk, n, NOW) == 0)
			taken++;
	}
	cr_assert_eq(taken, 64 / MC_REPLAY_KEY_SHARE);
	nonce_of(0xabc, n);
	cr_assert_eq(mc_replay_check(r, other->pk, n, NOW), MC_EXISTS, "the other key's nonce is still known");
	nonce_of(0xabd, n);
	cr_assert_eq(mc_replay_check(r, other->pk, n, NOW), 0, "and the other key still gets room");
	mc_replay_free(r);
}

Test(peerauth, replay_entries_expire_after_the_window)
{
	struct mc_replay *r = replay(12);   /* a key's share: 3 */
	uint8_t a[16], b[16], c[16];

	nonce_of(0xa, a);
	nonce_of(0xb, b);
	nonce_of(0xc, c);
	cr_assert_eq(mc_replay_check(r, node->pk, a, NOW), 0);
	/* at the end of a's window it is still kept */
	cr_assert_eq(mc_replay_check(r, node->pk, b, NOW + 2 * MC_PEER_SKEW_MS), 0);
	cr_assert_eq(mc_replay_check(r, node->pk, a, NOW + 2 * MC_PEER_SKEW_MS), MC_EXISTS);
	/* a millisecond later a new entry clears it out, though the key's
	 * share (a, b, c) is not used up: only expiry removed it */
	cr_assert_eq(mc_replay_check(r, node->pk, c, NOW + 2 * MC_PEER_SKEW_MS + 1), 0);
	cr_assert_eq(mc_replay_check(r, node->pk, a, NOW + 2 * MC_PEER_SKEW_MS + 1), 0);
	/* and b, c, a fill it now */
	cr_assert_eq(mc_replay_check(r, node->pk, b, NOW + 2 * MC_PEER_SKEW_MS + 1), MC_EXISTS);
	cr_assert_eq(mc_replay_check(r, node->pk, c, NOW + 2 * MC_PEER_SKEW_MS + 1), MC_EXISTS);
	mc_replay_free(r);
}

/* Against a plain model: entries in the order first seen, each kept
 * for its whole window (seen before? checked over every kept entry, even
 * one past its window), expired ones leaving from the oldest, and a new
 * pair refused when the cache is full or its key holds its share. Many
 * collisions and deletions in a small table, over five keys and a moving
 * clock, so every cluster shape and every refusal turns up. */
Test(peerauth, replay_matches_a_reference_model)
{
	enum { CAP = 16, POOL = 60, KEYS = 5, OPS = 200000 };
	struct mc_replay *r = replay(CAP);
	struct { uint32_t v; uint64_t seen; } fifo[CAP];
	uint32_t len = 0, seed = 12345, busy = 0, exists = 0;
	uint8_t n[16], pk[KEYS][MC_PK_LEN];
	uint64_t now = NOW;

	for (int k = 0; k < KEYS; k++)
		memset(pk[k], 0x40 + k, MC_PK_LEN);
	for (int op = 0; op < OPS; op++) {
		uint32_t v, k, held = 0;
		int want = 0, got;

		seed = seed * 1103515245u + 12345u;
		v = (seed >> 8) % POOL;
		seed = seed * 1103515245u + 12345u;
		now += (seed >> 8) % (2 * MC_PEER_SKEW_MS / 6);
		for (k = 0; k < len; k++)
			if (fifo[k].v == v)
				want = MC_EXISTS;
		if (want == 0) {
			while (len && fifo[0].seen + 2 * MC_PEER_SKEW_MS < now) {
				memmove(fifo, fifo + 1, (len - 1) * sizeof(fifo[0]));
				len--;
			}
			for (k = 0; k < len; k++)
				held += fifo[k].v % KEYS == v % KEYS;
			if (len == CAP || held >= CAP / MC_REPLAY_KEY_SHARE) {
				want = MC_REPLAY_BUSY;
			} else {
				fifo[len].v = v;
				fifo[len++].seen = now;
			}
		}
		busy += want == MC_REPLAY_BUSY;
		exists += want == MC_EXISTS;
		nonce_of(v, n);
		got = mc_replay_check(r, pk[v % KEYS], n, now);
		cr_assert_eq(got, want, "op %d, nonce %u: got %d, want %d", op, v, got, want);
	}
	cr_assert_gt(busy, 1000, "the model reached refusals (%u)", busy);
	cr_assert_gt(exists, 1000, "and replays (%u)", exists);
	mc_replay_free(r);
}

#define THREADS 8
#define PER_THREAD 4000

static struct mc_replay *shared;
static atomic_int accepted[PER_THREAD * 2];
static atomic_int failures;

static void *hammer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	uint8_t n[16];

	/* every thread offers every nonce, each in its own order */
	for (uint32_t i = 0; i < PER_THREAD * 2; i++) {
		uint32_t v = (uint32_t)(((uint64_t)i * 2654435761u + id * 7919u) % (PER_THREAD * 2));
		int rc;

		nonce_of(v, n);
		n[15] = 0x5a;
		rc = mc_replay_check(shared, node->pk, n, NOW + i / 100);
		if (rc == 0)
			atomic_fetch_add(&accepted[v], 1);
		else if (rc != MC_EXISTS)
			atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

Test(peerauth, replay_from_8_threads_accepts_each_nonce_once)
{
	pthread_t t[THREADS];

	shared = replay(MC_REPLAY_DEFAULT);
	for (uintptr_t i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(atomic_load(&failures), 0);
	for (int v = 0; v < PER_THREAD * 2; v++)
		cr_assert_eq(atomic_load(&accepted[v]), 1, "nonce %d accepted %d times", v,
			     atomic_load(&accepted[v]));
	mc_replay_free(shared);
}
