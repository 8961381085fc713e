/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "i18n.h"
#include "peerauth.h"

static const char req_domain[] = "medchain/peer-req/v1";
static const char resp_domain[] = "medchain/peer-resp/v1";

/* ---- what is signed ------------------------------------------------- */

static void req_digest(const uint8_t chain_id[MC_HASH_LEN], const char *method, size_t mlen,
		       const char *path, size_t plen, uint64_t time_ms,
		       const uint8_t nonce[MC_PEER_NONCE_LEN],
		       const uint8_t body_hash[MC_HASH_LEN], uint8_t out[MC_HASH_LEN])
{
	uint8_t len8 = (uint8_t)mlen, len16[2] = { (uint8_t)(plen >> 8), (uint8_t)plen };
	uint8_t t[8];
	struct mc_sha256 h;

	mc_be64(t, time_ms);
	mc_sha256_init(&h);
	mc_sha256_update(&h, req_domain, sizeof(req_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, &len8, 1);
	mc_sha256_update(&h, method, mlen);
	mc_sha256_update(&h, len16, 2);
	mc_sha256_update(&h, path, plen);
	mc_sha256_update(&h, t, 8);
	mc_sha256_update(&h, nonce, MC_PEER_NONCE_LEN);
	mc_sha256_update(&h, body_hash, MC_HASH_LEN);
	mc_sha256_final(&h, out);
}

static void resp_digest(const uint8_t chain_id[MC_HASH_LEN],
			const uint8_t req_nonce[MC_PEER_NONCE_LEN], uint16_t status,
			uint64_t time_ms, const void *body, size_t body_len,
			uint8_t out[MC_HASH_LEN])
{
	uint8_t st[2] = { (uint8_t)(status >> 8), (uint8_t)status };
	uint8_t t[8], body_hash[MC_HASH_LEN];
	struct mc_sha256 h;

	mc_sha256(body_len ? body : "", body_len, body_hash);
	mc_be64(t, time_ms);
	mc_sha256_init(&h);
	mc_sha256_update(&h, resp_domain, sizeof(resp_domain) - 1);
	mc_sha256_update(&h, chain_id, MC_HASH_LEN);
	mc_sha256_update(&h, req_nonce, MC_PEER_NONCE_LEN);
	mc_sha256_update(&h, st, 2);
	mc_sha256_update(&h, t, 8);
	mc_sha256_update(&h, body_hash, MC_HASH_LEN);
	mc_sha256_final(&h, out);
}

/* ---- signing -------------------------------------------------------- */

static int check_node_key(const struct mc_key *node, struct mc_err *err)
{
	if (node->raw)
		return mc_err_set(err, EX_USAGE,
				  _("the node key is not an Ed25519 identity and cannot sign peer messages"));
	return 0;
}

int mc_peer_sign_request(const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
			 const char *method, const char *path,
			 const void *body, size_t body_len, uint64_t now_ms,
			 struct mc_peer_sig *out, struct mc_err *err)
{
	size_t mlen = strlen(method), plen = strlen(path);
	uint8_t digest[MC_HASH_LEN];

	memset(out, 0, sizeof(*out));
	if (check_node_key(node, err) != 0)
		return -1;
	if (mlen == 0 || mlen > MC_PEER_METHOD_MAX)
		return mc_err_set(err, EX_USAGE, _("the request method must have 1 to %d characters"),
				  MC_PEER_METHOD_MAX);
	if (plen > MC_PEER_PATH_MAX)
		return mc_err_set(err, EX_USAGE, _("the request path must have at most %d characters"),
				  MC_PEER_PATH_MAX);
	memcpy(out->pk, node->pk, MC_PK_LEN);
	out->time_ms = now_ms;
	mc_random(out->nonce, MC_PEER_NONCE_LEN);
	mc_sha256(body_len ? body : "", body_len, out->body_hash);
	req_digest(chain_id, method, mlen, path, plen, now_ms, out->nonce, out->body_hash, digest);
	mc_sign(node->sk, digest, sizeof(digest), out->sig);
	return 0;
}

int mc_peer_sign_response(const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
			  const uint8_t req_nonce[MC_PEER_NONCE_LEN], uint16_t status,
			  const void *body, size_t body_len, uint64_t now_ms,
			  struct mc_peer_sig *out, struct mc_err *err)
{
	uint8_t digest[MC_HASH_LEN];

	memset(out, 0, sizeof(*out));
	if (check_node_key(node, err) != 0)
		return -1;
	memcpy(out->pk, node->pk, MC_PK_LEN);
	out->time_ms = now_ms;
	memcpy(out->nonce, req_nonce, MC_PEER_NONCE_LEN);
	resp_digest(chain_id, req_nonce, status, now_ms, body, body_len, digest);
	mc_sign(node->sk, digest, sizeof(digest), out->sig);
	return 0;
}

/* ---- header values -------------------------------------------------- */

static void format_u64(uint64_t v, char out[MC_PEER_TIME_DEC])
{
	char tmp[MC_PEER_TIME_DEC];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

void mc_peer_sig_headers(const struct mc_peer_sig *s, char key[MC_PEER_KEY_HEX],
			 char time[MC_PEER_TIME_DEC], char nonce[MC_PEER_NONCE_HEX],
			 char sig[MC_PEER_SIG_HEX])
{
	mc_hex(s->pk, MC_PK_LEN, key);
	format_u64(s->time_ms, time);
	if (nonce)
		mc_hex(s->nonce, MC_PEER_NONCE_LEN, nonce);
	mc_hex(s->sig, MC_SIG_LEN, sig);
}

void mc_peer_body_header(const struct mc_peer_sig *s, char body[MC_PEER_BODY_HEX])
{
	mc_hex(s->body_hash, MC_HASH_LEN, body);
}

/* A hex header of exactly n bytes. */
static int parse_hex(const char *name, const char *v, void *out, size_t n, struct mc_err *err)
{
	size_t len;

	if (!v)
		return mc_err_set(err, EX_NOPERM, _("header %s is missing"), name);
	len = strnlen(v, 2 * n + 1);
	if (len != 2 * n)
		return mc_err_set(err, EX_DATAERR, _("header %s must hold %zu hex digits"),
				  name, 2 * n);
	if (mc_unhex(v, out, n) != 0)
		return mc_err_set(err, EX_DATAERR, _("header %s holds a character that is not a hex digit"),
				  name);
	return 0;
}

static int parse_time(const char *v, uint64_t *out, struct mc_err *err)
{
	uint64_t t = 0;
	size_t i;

	*out = 0;
	if (!v)
		return mc_err_set(err, EX_NOPERM, _("header %s is missing"), MC_PEER_HDR_TIME);
	for (i = 0; v[i]; i++) {
		unsigned d = (unsigned)(v[i] - '0');

		if (v[i] < '0' || v[i] > '9')
			return mc_err_set(err, EX_DATAERR,
					  _("header %s must be milliseconds since 1970 in decimal digits"),
					  MC_PEER_HDR_TIME);
		if (i > 0 && t == 0)
			return mc_err_set(err, EX_DATAERR, _("header %s has a leading zero"),
					  MC_PEER_HDR_TIME);
		if (t > (UINT64_MAX - d) / 10)
			return mc_err_set(err, EX_DATAERR, _("header %s is too large"),
					  MC_PEER_HDR_TIME);
		t = t * 10 + d;
	}
	if (i == 0)
		return mc_err_set(err, EX_DATAERR,
				  _("header %s must be milliseconds since 1970 in decimal digits"),
				  MC_PEER_HDR_TIME);
	*out = t;
	return 0;
}

int mc_peer_sig_parse(const char *key, const char *time, const char *nonce,
		      const char *sig, struct mc_peer_sig *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	if (parse_hex(MC_PEER_HDR_KEY, key, out->pk, MC_PK_LEN, err) != 0 ||
	    parse_time(time, &out->time_ms, err) != 0 ||
	    parse_hex(MC_PEER_HDR_NONCE, nonce, out->nonce, MC_PEER_NONCE_LEN, err) != 0 ||
	    parse_hex(MC_PEER_HDR_SIG, sig, out->sig, MC_SIG_LEN, err) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int mc_peer_body_parse(const char *body, struct mc_peer_sig *s, struct mc_err *err)
{
	if (!body) {
		mc_sha256("", 0, s->body_hash);
		return 0;
	}
	return parse_hex(MC_PEER_HDR_BODY, body, s->body_hash, MC_HASH_LEN, err);
}

int mc_peer_resp_parse(const char *key, const char *time, const char *sig,
		       const uint8_t req_nonce[MC_PEER_NONCE_LEN],
		       struct mc_peer_sig *out, struct mc_err *err)
{
	memset(out, 0, sizeof(*out));
	if (parse_hex(MC_PEER_HDR_KEY, key, out->pk, MC_PK_LEN, err) != 0 ||
	    parse_time(time, &out->time_ms, err) != 0 ||
	    parse_hex(MC_PEER_HDR_SIG, sig, out->sig, MC_SIG_LEN, err) != 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	memcpy(out->nonce, req_nonce, MC_PEER_NONCE_LEN);
	return 0;
}

/* ---- checking ------------------------------------------------------- */

/* The time window; is_req picks the wording. Differences are shown in
 * seconds with milliseconds, so that 30.001 s reads as more than 30 s. */
static int check_time(bool is_req, uint64_t t, uint64_t now_ms, struct mc_err *err)
{
	uint64_t d;
	unsigned long long s;
	unsigned ms;

	if (t <= now_ms && now_ms - t <= MC_PEER_SKEW_MS)
		return 0;
	if (t > now_ms && t - now_ms <= MC_PEER_SKEW_MS)
		return 0;
	d = t <= now_ms ? now_ms - t : t - now_ms;
	s = (unsigned long long)(d / 1000);
	ms = (unsigned)(d % 1000);
	if (t <= now_ms)
		return is_req
			? mc_err_set(err, EX_NOPERM,
				     _("the request is %llu.%03u s old, more than the %d s allowed (check the clocks)"),
				     s, ms, MC_PEER_SKEW_MS / 1000)
			: mc_err_set(err, EX_NOPERM,
				     _("the response is %llu.%03u s old, more than the %d s allowed (check the clocks)"),
				     s, ms, MC_PEER_SKEW_MS / 1000);
	return is_req
		? mc_err_set(err, EX_NOPERM,
			     _("the request is dated %llu.%03u s ahead of this node's clock, more than the %d s allowed (check the clocks)"),
			     s, ms, MC_PEER_SKEW_MS / 1000)
		: mc_err_set(err, EX_NOPERM,
			     _("the response is dated %llu.%03u s ahead of this node's clock, more than the %d s allowed (check the clocks)"),
			     s, ms, MC_PEER_SKEW_MS / 1000);
}

int mc_peer_check_request(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			  const char *method, const char *path,
			  const void *body, size_t body_len, uint64_t now_ms,
			  struct mc_err *err)
{
	struct mc_peer_sig with = *s;

	mc_sha256(body_len ? body : "", body_len, with.body_hash);
	return mc_peer_check_request_head(chain_id, &with, method, path, now_ms, err);
}

bool mc_peer_body_matches(const struct mc_peer_sig *s, const void *body, size_t len)
{
	uint8_t h[MC_HASH_LEN];

	mc_sha256(len ? body : "", len, h);
	return memcmp(h, s->body_hash, MC_HASH_LEN) == 0;
}

int mc_peer_check_request_head(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			       const char *method, const char *path, uint64_t now_ms,
			       struct mc_err *err)
{
	size_t mlen = strnlen(method, MC_PEER_METHOD_MAX + 1);
	size_t plen = strnlen(path, MC_PEER_PATH_MAX + 1);
	uint8_t digest[MC_HASH_LEN];

	if (mlen == 0 || mlen > MC_PEER_METHOD_MAX)
		return mc_err_set(err, EX_DATAERR, _("the request method must have 1 to %d characters"),
				  MC_PEER_METHOD_MAX);
	if (plen > MC_PEER_PATH_MAX)
		return mc_err_set(err, EX_DATAERR, _("the request path must have at most %d characters"),
				  MC_PEER_PATH_MAX);
	req_digest(chain_id, method, mlen, path, plen, s->time_ms, s->nonce, s->body_hash, digest);
	if (mc_sign_verify(s->pk, digest, sizeof(digest), s->sig) != 0)
		return mc_err_set(err, EX_NOPERM, _("the request's signature does not verify"));
	/* After the signature: a time the sender did not sign says nothing. */
	return check_time(true, s->time_ms, now_ms, err);
}

int mc_peer_check_response(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			   const uint8_t expected_pk[MC_PK_LEN],
			   const uint8_t req_nonce[MC_PEER_NONCE_LEN], uint16_t status,
			   const void *body, size_t body_len, uint64_t now_ms,
			   struct mc_err *err)
{
	uint8_t digest[MC_HASH_LEN];

	if (expected_pk && memcmp(expected_pk, s->pk, MC_PK_LEN) != 0)
		return mc_err_set(err, EX_NOPERM, _("the response is signed by another node than the one asked"));
	resp_digest(chain_id, req_nonce, status, s->time_ms, body, body_len, digest);
	if (mc_sign_verify(s->pk, digest, sizeof(digest), s->sig) != 0)
		return mc_err_set(err, EX_NOPERM,
				  _("the response's signature does not verify (or it answers another request)"));
	return check_time(false, s->time_ms, now_ms, err);
}

/* ---- replay cache --------------------------------------------------- *
 *
 * A ring of entries in the order they were first seen (the oldest at
 * head) and an open-addressing index over it (linear probing, at most half
 * full, backward-shift deletion so no tombstones). Entries leave at the
 * head: once expired, or when the ring is full. The index hashes with a
 * random per-cache key, so nonces cannot be chosen to collide. */

#define SLOT_EMPTY UINT32_MAX

struct replay_entry {
	uint8_t pk[MC_PK_LEN];
	uint8_t nonce[MC_PEER_NONCE_LEN];
	uint64_t expires_ms;
	uint32_t hash;
};

/* How many entries each key holds (keys with none give their slot up). */
#define REPLAY_KEYS 256

struct replay_key {
	uint8_t pk[MC_PK_LEN];
	uint32_t count;
};

struct mc_replay {
	pthread_mutex_t lock;
	struct replay_entry *ring;
	uint32_t cap, head, count;
	struct replay_key keys[REPLAY_KEYS];
	uint32_t *slots;          /* ring index or SLOT_EMPTY */
	uint32_t mask;            /* number of slots - 1 (a power of two) */
	uint8_t key[32];
};

int mc_replay_new(size_t capacity, struct mc_replay **out, struct mc_err *err)
{
	struct mc_replay *r;
	size_t nslots = 2;

	*out = NULL;
	if (capacity == 0 || capacity > MC_REPLAY_MAX)
		return mc_err_set(err, EX_USAGE, _("the replay cache must hold 1 to %u entries"),
				  MC_REPLAY_MAX);
	while (nslots < 2 * capacity)
		nslots *= 2;
	r = calloc(1, sizeof(*r));
	if (!r)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	r->ring = calloc(capacity, sizeof(*r->ring));
	r->slots = malloc(nslots * sizeof(*r->slots));
	if (!r->ring || !r->slots) {
		free(r->ring);
		free(r->slots);
		free(r);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r->ring);
		free(r->slots);
		free(r);
		return mc_err_set(err, EX_OSERR, _("cannot create the replay cache's lock"));
	}
	memset(r->slots, 0xff, nslots * sizeof(*r->slots));
	r->cap = (uint32_t)capacity;
	r->mask = (uint32_t)(nslots - 1);
	mc_random(r->key, sizeof(r->key));
	*out = r;
	return 0;
}

void mc_replay_free(struct mc_replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->ring);
	free(r->slots);
	free(r);
}

static uint32_t entry_hash(const struct mc_replay *r, const uint8_t pk[MC_PK_LEN],
			   const uint8_t nonce[MC_PEER_NONCE_LEN])
{
	uint8_t in[MC_PK_LEN + MC_PEER_NONCE_LEN], h[MC_HASH_LEN];

	memcpy(in, pk, MC_PK_LEN);
	memcpy(in + MC_PK_LEN, nonce, MC_PEER_NONCE_LEN);
	mc_blake2b_keyed(r->key, in, sizeof(in), h);
	return mc_from_be32(h);
}

/* The key's counter; with add, a free one is taken for a new key (NULL
 * when none is free). */
static struct replay_key *key_slot(struct mc_replay *r, const uint8_t pk[MC_PK_LEN], bool add)
{
	struct replay_key *free_slot = NULL;

	for (size_t i = 0; i < REPLAY_KEYS; i++) {
		if (r->keys[i].count && memcmp(r->keys[i].pk, pk, MC_PK_LEN) == 0)
			return &r->keys[i];
		if (!r->keys[i].count && !free_slot)
			free_slot = &r->keys[i];
	}
	if (!add || !free_slot)
		return NULL;
	memcpy(free_slot->pk, pk, MC_PK_LEN);
	return free_slot;
}

/* Removes the head entry from the index and the ring. */
static void evict_head(struct mc_replay *r)
{
	uint32_t e = r->head, i = r->ring[e].hash & r->mask, j;
	struct replay_key *k = key_slot(r, r->ring[e].pk, false);

	if (k)
		k->count--;

	while (r->slots[i] != e)
		i = (i + 1) & r->mask;
	/* Backward shift: move later members of the cluster into the hole when
	 * their home slot is not cyclically within (hole, their slot]. */
	j = i;
	for (;;) {
		uint32_t home;

		j = (j + 1) & r->mask;
		if (r->slots[j] == SLOT_EMPTY)
			break;
		home = r->ring[r->slots[j]].hash & r->mask;
		if (((j - home) & r->mask) >= ((j - i) & r->mask)) {
			r->slots[i] = r->slots[j];
			i = j;
		}
	}
	r->slots[i] = SLOT_EMPTY;
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

int mc_replay_check(struct mc_replay *r, const uint8_t pk[MC_PK_LEN],
		    const uint8_t nonce[MC_PEER_NONCE_LEN], uint64_t now_ms)
{
	uint32_t hash = entry_hash(r, pk, nonce), i, e;
	struct replay_entry *x;
	struct replay_key *k;

	pthread_mutex_lock(&r->lock);
	/* Seen before? Kept entries count even when past their expiry (the
	 * clock may have stepped). */
	for (i = hash & r->mask; r->slots[i] != SLOT_EMPTY; i = (i + 1) & r->mask) {
		x = &r->ring[r->slots[i]];
		if (x->hash == hash && memcmp(x->nonce, nonce, MC_PEER_NONCE_LEN) == 0 &&
		    memcmp(x->pk, pk, MC_PK_LEN) == 0) {
			pthread_mutex_unlock(&r->lock);
			return MC_EXISTS;
		}
	}
	while (r->count > 0 && r->ring[r->head].expires_ms < now_ms)
		evict_head(r);
	/* Full, or this key holds its share: refuse this request rather than
	 * forget a nonce that could still be replayed. */
	k = key_slot(r, pk, true);
	if (r->count == r->cap || !k || k->count >= r->cap / MC_REPLAY_KEY_SHARE + (r->cap < MC_REPLAY_KEY_SHARE)) {
		pthread_mutex_unlock(&r->lock);
		return MC_REPLAY_BUSY;
	}
	k->count++;
	e = (r->head + r->count) % r->cap;
	x = &r->ring[e];
	memcpy(x->pk, pk, MC_PK_LEN);
	memcpy(x->nonce, nonce, MC_PEER_NONCE_LEN);
	x->expires_ms = now_ms > UINT64_MAX - 2 * MC_PEER_SKEW_MS
		? UINT64_MAX : now_ms + 2 * MC_PEER_SKEW_MS;
	x->hash = hash;
	r->count++;
	/* Evictions may have shifted the cluster: probe afresh. */
	for (i = hash & r->mask; r->slots[i] != SLOT_EMPTY; i = (i + 1) & r->mask)
		;
	r->slots[i] = e;
	pthread_mutex_unlock(&r->lock);
	return 0;
}
