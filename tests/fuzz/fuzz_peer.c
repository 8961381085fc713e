/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the peer API's signature headers (mc_peer_sig_parse,
 * mc_peer_body_parse and mc_peer_resp_parse). The input is up to five
 * lines: X-Medchain-Key, -Time, -Nonce, -Sig and -Body; a line that is not
 * there is a missing header.
 * What parses must print back to the same values and go through the
 * signature check without harm. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "peerauth.h"

#define LINES 5

static const uint8_t chain_id[MC_HASH_LEN] = { 0x6d, 0x63 };

static void check_round_trip(const struct mc_peer_sig *s, const char *key, const char *time,
			     const char *nonce, const char *sig)
{
	char k[MC_PEER_KEY_HEX], t[MC_PEER_TIME_DEC], n[MC_PEER_NONCE_HEX], g[MC_PEER_SIG_HEX];
	struct mc_peer_sig back;
	struct mc_err err = { 0 };

	mc_peer_sig_headers(s, k, t, nonce ? n : NULL, g);
	/* hex comes back in lower case, the time exactly as it came */
	if (strcasecmp(k, key) != 0 || strcmp(t, time) != 0 || strcasecmp(g, sig) != 0 ||
	    (nonce && strcasecmp(n, nonce) != 0))
		__builtin_trap();
	if (nonce) {
		if (mc_peer_sig_parse(k, t, n, g, &back, &err) != 0 ||
		    memcmp(&back, s, sizeof(back)) != 0)
			__builtin_trap();
		/* no seed signs this body: passing would be a forgery */
		if (mc_peer_check_request(chain_id, s, "POST", "/v1/tx", time, strlen(time),
					  s->time_ms, &err) == 0)
			__builtin_trap();
	} else if (mc_peer_check_response(chain_id, s, NULL, s->nonce, 200, NULL, 0, s->time_ms,
					  &err) == 0) {
		__builtin_trap();  /* no seed is a response signature */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *line[LINES] = { NULL };
	struct mc_peer_sig s;
	struct mc_err err = { 0 };
	size_t at = 0;
	static const uint8_t req_nonce[MC_PEER_NONCE_LEN] = { 1, 2, 3 };

	fuzz_init();
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < LINES && at <= size && size > 0; i++) {
		char *nl = memchr(copy + at, '\n', size - at);

		line[i] = copy + at;
		if (!nl)
			break;
		*nl = '\0';
		at = (size_t)(nl - copy) + 1;
	}
	if (mc_peer_sig_parse(line[0], line[1], line[2], line[3], &s, &err) == 0) {
		check_round_trip(&s, line[0], line[1], line[2], line[3]);
		mc_err_clear(&err);
		if (mc_peer_body_parse(line[4], &s, &err) == 0) {
			char b[MC_PEER_BODY_HEX];

			mc_peer_body_header(&s, b);
			if (line[4] && strcasecmp(b, line[4]) != 0)
				__builtin_trap();
			/* no seed signs this path: passing would be a forgery */
			if (mc_peer_check_request_head(chain_id, &s, "POST", "/v1/other", s.time_ms, &err) == 0)
				__builtin_trap();
		} else if (err.code != EX_DATAERR) {
			__builtin_trap();
		}
	}
	else if (err.code != EX_NOPERM && err.code != EX_DATAERR)
		__builtin_trap();
	/* the response's three headers: key, time, sig */
	mc_err_clear(&err);
	if (mc_peer_resp_parse(line[0], line[1], line[3], req_nonce, &s, &err) == 0)
		check_round_trip(&s, line[0], line[1], NULL, line[3]);
	else if (err.code != EX_NOPERM && err.code != EX_DATAERR)
		__builtin_trap();
	free(copy);
	return 0;
}

/* Seeds: a signed request's headers as a server sees them (seed 2: a
 * response's, seed 3: the largest time). */
static void put_headers(struct mc_buf *out, const struct mc_peer_sig *s, bool upper,
			bool with_nonce)
{
	char k[MC_PEER_KEY_HEX], t[MC_PEER_TIME_DEC], n[MC_PEER_NONCE_HEX], g[MC_PEER_SIG_HEX];

	mc_peer_sig_headers(s, k, t, n, g);
	if (upper)
		for (char *c = k; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 'a' + 'A');
	mc_put_raw(out, k, strlen(k));
	mc_put_raw(out, "\n", 1);
	mc_put_raw(out, t, strlen(t));
	mc_put_raw(out, "\n", 1);
	/* a response has no nonce: its line stays empty */
	if (with_nonce)
		mc_put_raw(out, n, strlen(n));
	mc_put_raw(out, "\n", 1);
	mc_put_raw(out, g, strlen(g));
	if (with_nonce) {   /* a request's body hash */
		char b[MC_PEER_BODY_HEX];

		mc_peer_body_header(s, b);
		mc_put_raw(out, "\n", 1);
		mc_put_raw(out, b, strlen(b));
	}
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const uint8_t seed[MC_SEED_LEN] = { 0x70, 0x65, 0x65, 0x72 };
	struct mc_key key = { .raw = false };
	struct mc_peer_sig s;
	struct mc_err err = { 0 };

	if (k >= 4)
		return false;
	mc_sign_seed_keypair(seed, key.pk, key.sk);
	if (mc_peer_sign_request(chain_id, &key, "POST", "/v1/tx", "{}", 2,
				 1764500000000ULL, &s, &err) != 0)
		__builtin_trap();
	if (k == 3)
		s.time_ms = UINT64_MAX;
	put_headers(out, &s, k == 1, k != 2);
	mc_wipe(&key, sizeof(key));
	return true;
}
