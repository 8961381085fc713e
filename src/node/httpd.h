/* SPDX-License-Identifier: Apache-2.0 */
/* httpd.h - the peer API over HTTP (libmicrohttpd): routing, body limits,
 * connection limits, TLS, and the signatures on every request and answer.
 *
 *   GET  /v1/status                 JSON: height, head, view, leader, peers...
 *   GET  /v1/blocks?from=H&max=N    block bundles (replica.h), back to back
 *   POST /v1/tx?wait=MS             a tx bundle; JSON with each tx's state
 *   POST /v1/propose                a block bundle; the vote: pk (32) | sig (64)
 *   POST /v1/commit                 a block bundle with its certificate
 *
 * The raw request target (path and query) is what the signature covers.
 *
 * Every request is authenticated from its headers before a byte of its
 * body is read (peerauth.h: the body's hash is signed and sent as a
 * header); the body must then match that hash. Other paths take at most
 * MC_ENGINE_SMALL_BODY_MAX bytes, GETs none. A connection has 5 s of
 * silence and 10 s in all to authenticate; when every slot is taken, a new
 * connection closes the oldest one that has not.
 */
#ifndef MC_HTTPD_H
#define MC_HTTPD_H

#include <stddef.h>
#include <sys/socket.h>

#include "engine.h"
#include "err.h"

struct mc_httpd_conf {
	const char *listen;        /* host:port (IPv4 or [IPv6]) */
	const char *tls_cert;      /* PEM file, or NULL for plain HTTP */
	const char *tls_key;
	unsigned max_connections;  /* 0: 256; past it, a new connection closes
				    * the oldest one that never authenticated */
	unsigned per_ip;           /* 0: 64 */
	size_t tx_max;             /* 0: MC_ENGINE_TX_BODY_MAX */
	size_t block_max;          /* 0: MC_ENGINE_BLOCK_BODY_MAX (propose,
				    * commit, view-change) */
	size_t inflight_max;       /* 0: MC_ENGINE_INFLIGHT_MAX, all bodies
				    * being received and block batches being
				    * sent, together */
};

struct mc_httpd;

int mc_httpd_start(const struct mc_httpd_conf *c, struct mc_engine *e, struct mc_httpd **out,
		   struct mc_err *err);
void mc_httpd_stop(struct mc_httpd *h);
/* host:port (IPv4 or [IPv6]) into an address; key names the setting in
 * messages ("[node] listen"). EX_CONFIG when it is not one. */
int mc_httpd_parse_listen(const char *key, const char *listen, struct sockaddr_storage *ss, socklen_t *len,
			  struct mc_err *err);

#endif
