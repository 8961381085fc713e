/* SPDX-License-Identifier: Apache-2.0 */
/* peer.h - calling another node's peer API: signed requests over libcurl,
 * signed responses checked.
 *
 * One client (a curl handle, so connections are kept) per thread. Redirects
 * are never followed; only http and https; https checks the peer's
 * certificate (against [node] ca_file when set, else the system's CAs).
 */
#ifndef MC_PEER_H
#define MC_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "keystore.h"

struct mc_peer_client;

struct mc_peer_resp {
	long status;
	uint8_t *body;            /* malloc'd, NUL-terminated (not counted in len) */
	size_t len;
	uint8_t pk[MC_PK_LEN];    /* who signed the response */
};

/* ca_file may be NULL. */
int mc_peer_client_new(const char *ca_file, struct mc_peer_client **out, struct mc_err *err);
void mc_peer_client_free(struct mc_peer_client *c);

/* Calls base_url + path ("/v1/...") with method ("GET" or "POST"), the
 * request signed by node for chain_id. The response must be signed by
 * expect_pk (NULL: by anyone; the caller checks resp->pk) and at most
 * max_resp bytes. EX_UNAVAILABLE when the peer cannot be reached or times
 * out, EX_PROTOCOL for an unsigned, badly signed or oversized answer. Any
 * HTTP status is returned in resp (the caller decides). */
int mc_peer_call(struct mc_peer_client *c, const uint8_t chain_id[MC_HASH_LEN],
		 const struct mc_key *node, const char *base_url, const char *method,
		 const char *path, const void *body, size_t len, const uint8_t *expect_pk,
		 long timeout_ms, size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err);
void mc_peer_resp_release(struct mc_peer_resp *r);

/* How the consensus engine reaches its peers: one client per thread
 * (open/close), a signed POST (send) and a signed GET (fetch), each as
 * mc_peer_call answers (the response in resp, released with
 * mc_peer_resp_release: body malloc'd). serve's engine uses the HTTP one
 * (mc_peer_http_transport); a test links engines in memory. ctx is the
 * transport's own, given to open and close. */
struct mc_peer_transport {
	int (*open)(void *ctx, void **client, struct mc_err *err);
	void (*close)(void *ctx, void *client);
	int (*send)(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
		    const char *base_url, const char *path, const void *body, size_t len,
		    const uint8_t *expect_pk, long timeout_ms, size_t max_resp, struct mc_peer_resp *resp,
		    struct mc_err *err);
	int (*fetch)(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node,
		     const char *base_url, const char *path, const uint8_t *expect_pk, long timeout_ms,
		     size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err);
	void *ctx;
};

/* The HTTP transport (libcurl, mc_peer_call); ca_file (or NULL) must
 * outlive it. */
void mc_peer_http_transport(const char *ca_file, struct mc_peer_transport *out);

#endif
