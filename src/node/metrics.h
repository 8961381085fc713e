/* SPDX-License-Identifier: Apache-2.0 */
/* metrics.h - what a monitoring system reads: `[node] metrics_listen`
 * serves, without authentication and on a listener of its own (never the
 * peer API's), two paths and nothing else:
 *
 *   GET /healthz   200 when the node serves and is in step with its quorum
 *                  (within MC_HEALTH_LAG_MAX blocks of the highest certified
 *                  height it knows, and on a chain of several validators a
 *                  quorum of them reachable); 503 otherwise. One line of
 *                  text says why.
 *   GET /metrics   the Prometheus text format (version 0.0.4), every name
 *                  prefixed medchain_.
 *
 * Other paths are 404, other methods 405. The listener is small on
 * purpose: one polling thread, MC_METRICS_CONNS connections (4 from one
 * address), 5 s of silence before a connection is closed, no request
 * body read. The counters below are process-wide atomics: counting never
 * takes a lock, and a scrape reads the engine's state under its lock only
 * for a copy (mc_engine_health).
 *
 * What is not the engine's is read from the store and the data directory,
 * read only, and cached so that a scrape costs next to nothing:
 *   - the last committed anchor's age, and this node's anchor journal (the
 *     newest anchor's state, the gas the confirmed ones spent): read again
 *     only when data.mdb's mtime or size changed, and then only the journal
 *     rows not yet final (mc_journal_summarise);
 *   - the last verify (verify.last.json): read again when its mtime or size
 *     changed;
 *   - alerts by kind: computed at most every MC_METRICS_ALERTS_EVERY_S
 *     seconds (mc_alerts walks the grant table; a scrape never does).
 */
#ifndef MC_METRICS_H
#define MC_METRICS_H

#include <stdint.h>

#include "engine.h"
#include "err.h"

#define MC_HEALTH_LAG_MAX 5u        /* blocks behind the certified height */
#define MC_METRICS_CONNS 16u
#define MC_METRICS_ALERTS_EVERY_S 60u

/* Why the peer API refused a request (the label `reason`). */
enum mc_refusal {
	MC_REFUSAL_METHOD,          /* neither GET nor POST */
	MC_REFUSAL_LENGTH,          /* no plain Content-Length */
	MC_REFUSAL_SIGNATURE,       /* signature headers missing or wrong */
	MC_REFUSAL_TOO_LARGE,       /* body over the path's limit */
	MC_REFUSAL_NO_CHAIN,        /* this node has no chain yet */
	MC_REFUSAL_NOT_MEMBER,      /* the key is not a validator */
	MC_REFUSAL_REPLAY,          /* nonce used, or signed before start */
	MC_REFUSAL_RATE,            /* too many requests from the key */
	MC_REFUSAL_BUSY,            /* bytes in flight, or memory */
	MC_REFUSAL_SLOTS,           /* every connection slot taken */
	MC_REFUSAL_BODY,            /* body does not match its signed hash */
	MC_REFUSAL_N
};

void mc_metrics_refusal(enum mc_refusal why);
/* A peer API answer: path (a query is ignored) and status. */
void mc_metrics_request(const char *path, unsigned status);
/* n blocks committed here; latency_s >= 0: the time from the leader's
 * timestamp of the one block to its commit here. */
void mc_metrics_commits(uint64_t n, double latency_s);
/* The peer API's open connections, +1 / -1. */
void mc_metrics_connection(int delta);

/* The anchor journal as /metrics shows it. The journal is the bridge's
 * (bridge -> src, never back): serve hands in a function that reads it. */
struct mc_metrics_anchor {
	unsigned last_state;        /* the newest row's state; 0: no row */
	uint64_t gas_used;          /* gas spent by the confirmed anchors */
};

struct mc_alert_params;

struct mc_metrics_conf {
	const char *listen;         /* [node] metrics_listen */
	struct mc_engine *e;
	struct mc_store *s;         /* read only */
	const char *datadir;        /* verify.last.json; the store in db/ */
	/* The hooks below get hooks_ctx, kept between calls. */
	void *hooks_ctx;
	/* Brings *out up to date from the journal in t (NULL: no journal). */
	int (*anchor)(struct mc_txn *t, void *ctx, struct mc_metrics_anchor *out, struct mc_err *err);
	/* The machine name of anchor state 1, 2, ... (NULL past the last):
	 * the fixed list of the `state` label. */
	const char *(*anchor_state_name)(unsigned state);
	/* Fills p (after mc_alert_defaults) with what the alerts read besides
	 * the chain, so that alerts by kind count what `medchain alerts` lists
	 * (NULL: the last verify only). */
	int (*alert_params)(struct mc_txn *t, void *ctx, struct mc_alert_params *p, struct mc_err *err);
};

struct mc_metrics;
/* The whole exposition, NUL-terminated, malloc'd (NULL: out of memory). */
char *mc_metrics_render(struct mc_metrics *m);
/* The /healthz answer: 200 or 503, and its line in msg. */
unsigned mc_metrics_health(struct mc_engine *e, char *msg, size_t n);

/* c and the strings and objects it points to must outlive the listener. */
int mc_metrics_start(const struct mc_metrics_conf *c, struct mc_metrics **out, struct mc_err *err);
void mc_metrics_stop(struct mc_metrics *m);

#endif
