/* SPDX-License-Identifier: Apache-2.0 */
/* peerauth.h - signed peer API requests and responses, and a replay cache.
 *
 * Pure code: the HTTP server and client hand in header values as strings.
 *
 * A request carries five headers (machine names, never translated):
 *   X-Medchain-Key    64 hex: the sender's Ed25519 node key
 *   X-Medchain-Time   decimal ms since the epoch
 *   X-Medchain-Nonce  32 hex: 16 random bytes
 *   X-Medchain-Body   64 hex: SHA-256 of the body (may be left out when
 *                     the body is empty)
 *   X-Medchain-Sig    128 hex: Ed25519 over the SHA-256 of
 *     "medchain/peer-req/v1" || chain id (32) || u8 len || method ||
 *     u16 len || path (with the query string) || time u64 || nonce (16) ||
 *     SHA-256(body)
 * A response carries Key, Time and Sig, the signature over the SHA-256 of
 *     "medchain/peer-resp/v1" || chain id (32) || request nonce (16) ||
 *     status u16 || time u64 || SHA-256(body)
 * so that it answers one request only. Integers are big-endian.
 *
 * Because the body's hash travels in a header, a server checks the
 * signature, the time, the key and the nonce from the headers alone, before
 * it reads a byte of the body (mc_peer_check_request_head), and compares
 * the body with the signed hash once it has it (mc_peer_body_matches).
 *
 * Checking a signature does not check that the key belongs to a validator:
 * the caller does that, then asks the replay cache about the nonce.
 */
#ifndef MC_PEERAUTH_H
#define MC_PEERAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "keystore.h"
#include "store.h"   /* MC_EXISTS */

#define MC_PEER_HDR_KEY "X-Medchain-Key"
#define MC_PEER_HDR_TIME "X-Medchain-Time"
#define MC_PEER_HDR_NONCE "X-Medchain-Nonce"
#define MC_PEER_HDR_SIG "X-Medchain-Sig"
#define MC_PEER_HDR_BODY "X-Medchain-Body"

#define MC_PEER_SKEW_MS 30000      /* allowed clock difference either way */
#define MC_PEER_NONCE_LEN 16
#define MC_PEER_METHOD_MAX 255     /* fits the u8 length */
#define MC_PEER_PATH_MAX 65535     /* fits the u16 length */

/* Buffer sizes of the header values, NUL included. */
#define MC_PEER_KEY_HEX (2 * MC_PK_LEN + 1)
#define MC_PEER_TIME_DEC 21
#define MC_PEER_NONCE_HEX (2 * MC_PEER_NONCE_LEN + 1)
#define MC_PEER_SIG_HEX (2 * MC_SIG_LEN + 1)
#define MC_PEER_BODY_HEX (2 * MC_HASH_LEN + 1)

struct mc_peer_sig {
	uint8_t pk[MC_PK_LEN];
	uint64_t time_ms;
	uint8_t nonce[MC_PEER_NONCE_LEN];  /* a response: its request's nonce */
	uint8_t sig[MC_SIG_LEN];
	uint8_t body_hash[MC_HASH_LEN];    /* a request: SHA-256 of its body */
};

/* Signs a request as node at now_ms with a fresh random nonce. EX_USAGE if
 * node is not an Ed25519 key, the method is empty or longer than
 * MC_PEER_METHOD_MAX, or the path longer than MC_PEER_PATH_MAX. body may be
 * NULL when body_len is 0. */
int mc_peer_sign_request(const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
			 const char *method, const char *path,
			 const void *body, size_t body_len, uint64_t now_ms,
			 struct mc_peer_sig *out, struct mc_err *err)
	__attribute__((warn_unused_result));

/* Signs the response with HTTP status to the request whose nonce is
 * req_nonce. EX_USAGE if node is not an Ed25519 key. */
int mc_peer_sign_response(const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
			  const uint8_t req_nonce[MC_PEER_NONCE_LEN], uint16_t status,
			  const void *body, size_t body_len, uint64_t now_ms,
			  struct mc_peer_sig *out, struct mc_err *err)
	__attribute__((warn_unused_result));

/* The header values, lowercase hex and decimal, NUL-terminated. nonce may
 * be NULL (a response sends none). */
void mc_peer_sig_headers(const struct mc_peer_sig *s, char key[MC_PEER_KEY_HEX],
			 char time[MC_PEER_TIME_DEC], char nonce[MC_PEER_NONCE_HEX],
			 char sig[MC_PEER_SIG_HEX]);

/* Parses a request's four header values (NULL: the header is missing).
 * A missing header is EX_NOPERM (not authenticated), a malformed one
 * EX_DATAERR; the message names the header. Hex digits may be in either
 * case; the time is 1 to 20 decimal digits without sign, spaces or leading
 * zeros, at most UINT64_MAX. */
int mc_peer_sig_parse(const char *key, const char *time, const char *nonce,
		      const char *sig, struct mc_peer_sig *out, struct mc_err *err)
	__attribute__((warn_unused_result));

/* The body hash header of a request (lowercase hex, NUL-terminated). */
void mc_peer_body_header(const struct mc_peer_sig *s, char body[MC_PEER_BODY_HEX]);

/* Parses X-Medchain-Body into s->body_hash. NULL (the header is missing)
 * stands for an empty body. EX_DATAERR when malformed. */
int mc_peer_body_parse(const char *body, struct mc_peer_sig *s, struct mc_err *err)
	__attribute__((warn_unused_result));

/* As mc_peer_sig_parse for a response's three headers; out->nonce is set to
 * req_nonce so the result goes straight to mc_peer_check_response. */
int mc_peer_resp_parse(const char *key, const char *time, const char *sig,
		       const uint8_t req_nonce[MC_PEER_NONCE_LEN],
		       struct mc_peer_sig *out, struct mc_err *err)
	__attribute__((warn_unused_result));

/* Checks a request's signature and that |now_ms - s->time_ms| <=
 * MC_PEER_SKEW_MS: 0, or -1 with EX_NOPERM (EX_DATAERR for a method or
 * path too long to have been signed). Not membership, not replays. */
int mc_peer_check_request(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			  const char *method, const char *path,
			  const void *body, size_t body_len, uint64_t now_ms,
			  struct mc_err *err)
	__attribute__((warn_unused_result));

/* As mc_peer_check_request, with the body's hash from s->body_hash (the
 * X-Medchain-Body header): nothing of the body is needed. */
int mc_peer_check_request_head(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			       const char *method, const char *path, uint64_t now_ms,
			       struct mc_err *err)
	__attribute__((warn_unused_result));

/* Whether body hashes to s->body_hash. */
bool mc_peer_body_matches(const struct mc_peer_sig *s, const void *body, size_t len);

/* Checks a response to the request whose nonce was req_nonce: the signer is
 * expected_pk (NULL: any key, the caller checks s->pk), the signature
 * verifies, and the time is within MC_PEER_SKEW_MS of now_ms. 0, or -1 with
 * EX_NOPERM. s->nonce is ignored. */
int mc_peer_check_response(const uint8_t chain_id[MC_HASH_LEN], const struct mc_peer_sig *s,
			   const uint8_t expected_pk[MC_PK_LEN],
			   const uint8_t req_nonce[MC_PEER_NONCE_LEN], uint16_t status,
			   const void *body, size_t body_len, uint64_t now_ms,
			   struct mc_err *err)
	__attribute__((warn_unused_result));

/* ---- replay cache ---------------------------------------------------- */

/* Remembers (key, nonce) pairs for 2 * MC_PEER_SKEW_MS after they were
 * first seen, which covers every time a request can carry and still pass
 * the time check. Thread-safe. Memory is fixed at creation. An entry is
 * never forgotten inside its window: when the cache is full, or when one
 * key already holds its share (MC_REPLAY_KEY_SHARE of the capacity), the
 * new request is refused (MC_REPLAY_BUSY) rather than an older one
 * forgotten, so one key's volume cannot flush another's nonces. */
struct mc_replay;

#define MC_REPLAY_DEFAULT 65536
#define MC_REPLAY_MAX (1u << 24)
#define MC_REPLAY_KEY_SHARE 4      /* one key holds at most 1/4 of the cache */
#define MC_REPLAY_BUSY 3           /* full: refuse the request, try later */

/* capacity: 1 to MC_REPLAY_MAX entries (EX_USAGE otherwise); EX_OSERR when
 * memory or the mutex cannot be had. Free with mc_replay_free(). */
int mc_replay_new(size_t capacity, struct mc_replay **out, struct mc_err *err)
	__attribute__((warn_unused_result));
/* NULL is fine. */
void mc_replay_free(struct mc_replay *r);

/* 0 the first time (the pair is now remembered), MC_EXISTS if it was seen
 * within the window, MC_REPLAY_BUSY if it cannot be remembered without
 * forgetting a pair still inside its window (the request must be refused).
 * Call it only for requests that passed mc_peer_check_request at now_ms. */
int mc_replay_check(struct mc_replay *r, const uint8_t pk[MC_PK_LEN],
		    const uint8_t nonce[MC_PEER_NONCE_LEN], uint64_t now_ms)
	__attribute__((warn_unused_result));

#endif
