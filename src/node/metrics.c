/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "chain.h"
#include "httpd.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "vlast.h"

#define IDLE_TIMEOUT_S 5u
#define PER_IP 4u

/* ---- the counters ---------------------------------------------------------- */

static const char *const refusal_names[MC_REFUSAL_N] = {
	[MC_REFUSAL_METHOD] = "method",
	[MC_REFUSAL_LENGTH] = "content_length",
	[MC_REFUSAL_SIGNATURE] = "signature",
	[MC_REFUSAL_TOO_LARGE] = "too_large",
	[MC_REFUSAL_NO_CHAIN] = "no_chain",
	[MC_REFUSAL_NOT_MEMBER] = "not_validator",
	[MC_REFUSAL_REPLAY] = "replay",
	[MC_REFUSAL_RATE] = "rate",
	[MC_REFUSAL_BUSY] = "busy",
	[MC_REFUSAL_SLOTS] = "connection_slots",
	[MC_REFUSAL_BODY] = "body_hash",
};

/* The peer API's paths; anything else counts as "other". */
static const char *const paths[] = {
	"/v1/status", "/v1/blocks", "/v1/tx", "/v1/propose", "/v1/commit", "/v1/view-vote",
	"/v1/view-change", "/v1/evidence", "/v1/promote", "other",
};
#define NPATHS (MC_ARRAY_LEN(paths))
/* The statuses it answers; any other counts under 0 ("other"). */
static const unsigned statuses[] = { 200, 202, 400, 403, 404, 405, 409, 411, 413, 429, 500, 503, 0 };
#define NSTATUS (MC_ARRAY_LEN(statuses))

/* Commit latency buckets, in seconds (upper bounds; +Inf after them). */
static const double buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NBUCKETS (MC_ARRAY_LEN(buckets))

static atomic_uint_fast64_t refusals[MC_REFUSAL_N];
static atomic_uint_fast64_t requests[NPATHS][NSTATUS];
static atomic_uint_fast64_t commits;
static atomic_uint_fast64_t latency_n[NBUCKETS + 1];   /* per bucket, not cumulative */
static atomic_uint_fast64_t latency_count, latency_sum_us;
static atomic_int peer_conns;
static atomic_uint_fast64_t health_requests[2], metrics_requests;

void mc_metrics_refusal(enum mc_refusal why)
{
	if ((unsigned)why < MC_REFUSAL_N)
		atomic_fetch_add(&refusals[why], 1);
}

void mc_metrics_request(const char *path, unsigned status)
{
	size_t p = NPATHS - 1, s = NSTATUS - 1, len = path ? strcspn(path, "?") : 0;

	for (size_t i = 0; i + 1 < NPATHS; i++)
		if (strlen(paths[i]) == len && strncmp(paths[i], path, len) == 0)
			p = i;
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (statuses[i] == status)
			s = i;
	atomic_fetch_add(&requests[p][s], 1);
}

void mc_metrics_commits(uint64_t n, double latency_s)
{
	size_t b = 0;

	atomic_fetch_add(&commits, n);
	if (latency_s < 0)
		return;
	while (b < NBUCKETS && latency_s > buckets[b])
		b++;
	atomic_fetch_add(&latency_n[b], 1);
	atomic_fetch_add(&latency_count, 1);
	atomic_fetch_add(&latency_sum_us, (uint_fast64_t)(latency_s * 1e6));
}

void mc_metrics_connection(int delta)
{
	atomic_fetch_add(&peer_conns, delta);
}

/* ---- what is read from the store and the data directory, cached ---------- */

/* A file as last seen: read again only when one of these changed. */
struct seen {
	bool have;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* true when path is not as last seen (and *sn now says how it is) */
static bool changed(const char *path, struct seen *sn)
{
	struct stat st;
	struct seen now = { 0 };

	if (stat(path, &st) == 0)
		now = (struct seen){ true, st.st_dev, st.st_ino, st.st_size, st.st_mtim };
	if (now.have == sn->have && now.dev == sn->dev && now.ino == sn->ino && now.size == sn->size &&
	    now.mtime.tv_sec == sn->mtime.tv_sec && now.mtime.tv_nsec == sn->mtime.tv_nsec)
		return false;
	*sn = now;
	return true;
}

#define NKINDS 256u   /* alert kinds are a u8 */

struct mc_metrics {
	struct MHD_Daemon *d;
	struct mc_metrics_conf c;
	pthread_mutex_t mu;                   /* the cache below */
	char db_path[PATH_MAX], vlast_path[PATH_MAX];
	struct seen db, vl;
	/* from the store */
	bool chain_read, anchored;
	uint64_t anchor_ms, genesis_ms;       /* block times */
	struct mc_metrics_anchor an;
	/* the last verify: 0 loaded, 1 never run, -1 unreadable */
	int vrc;
	struct mc_verify_last v;
	/* alerts by kind, and when they were computed (0: never) */
	uint64_t alerts_at_ms;
	bool alerts_ok;
	unsigned alerts[NKINDS];
};

static int chain_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_metrics *m = vctx;
	struct mc_head head;
	struct mc_header hd;
	struct mc_cert c;
	struct mc_anchored last;
	int rc;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return 0;
	if (mc_chain_block(t, 0, &hd, &c, err) != 0)
		return -1;
	m->genesis_ms = hd.timestamp_ms;
	if ((rc = mc_chain_anchored(t, UINT64_MAX, &last, err)) < 0)
		return -1;
	m->anchored = rc == 0;
	if (m->anchored) {
		if (mc_chain_block(t, last.height, &hd, &c, err) != 0)
			return -1;
		m->anchor_ms = hd.timestamp_ms;
	}
	if (m->c.anchor && m->c.anchor(t, m->c.hooks_ctx, &m->an, err) != 0)
		return -1;
	m->chain_read = true;
	return 0;
}

struct count_ctx {
	unsigned *n;
};

static int count_alert(const struct mc_alert *a, void *vctx)
{
	struct count_ctx *c = vctx;

	c->n[a->kind]++;
	return 0;
}

static int alerts_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_metrics *m = vctx;
	struct mc_alert_params p;
	unsigned n[NKINDS] = { 0 };
	struct count_ctx c = { n };

	mc_alert_defaults(&p, mc_now_ms());
	if (m->c.alert_params) {
		if (m->c.alert_params(t, m->c.hooks_ctx, &p, err) != 0)
			return -1;
	} else {
		p.check_verify = m->vrc >= 0;
		p.verify_ran = m->vrc == 0;
		p.verify = m->v;
	}
	if (mc_alerts(t, &p, count_alert, &c, err) != 0)
		return -1;
	memcpy(m->alerts, n, sizeof(n));
	return 0;
}

/* Brings the cache up to date; under m->mu. A failure is logged and the
 * last values kept. */
static void refresh(struct mc_metrics *m)
{
	struct mc_err err = { 0 };
	uint64_t now = mc_now_ms();

	if (changed(m->vlast_path, &m->vl)) {
		memset(&m->v, 0, sizeof(m->v));
		m->vrc = mc_vlast_load(m->c.datadir, &m->v, &err);
		if (m->vrc < 0)
			mc_log(LOG_WARNING, NULL, "/metrics: %s", err.msg);
		m->alerts_at_ms = 0;   /* a verify changes the verify alerts */
	}
	if ((changed(m->db_path, &m->db) || !m->chain_read) && mc_store_read(m->c.s, chain_txn, m, &err) != 0) {
		mc_log(LOG_WARNING, NULL, "/metrics: %s", err.msg);
		m->db.have = false;    /* try again next time */
	}
	if (!m->alerts_at_ms || now - m->alerts_at_ms >= MC_METRICS_ALERTS_EVERY_S * 1000ull) {
		memset(&err, 0, sizeof(err));
		m->alerts_ok = mc_store_read(m->c.s, alerts_txn, m, &err) == 0;
		if (!m->alerts_ok)
			mc_log(LOG_WARNING, NULL, "/metrics: alerts: %s", err.msg);
		m->alerts_at_ms = now;
	}
}

/* ---- the exposition --------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped, as the
 * format asks. */
static void put_label(struct mc_buf *t, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			mc_buf_printf(t, "\\\\");
		else if (*v == '"')
			mc_buf_printf(t, "\\\"");
		else if (*v == '\n')
			mc_buf_printf(t, "\\n");
		else
			mc_buf_printf(t, "%c", *v);
	}
}

static void head(struct mc_buf *t, const char *name, const char *type, const char *help)
{
	mc_buf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(struct mc_buf *t, const char *name, const char *help, double v)
{
	head(t, name, "gauge", help);
	mc_buf_printf(t, "%s %.17g\n", name, v);
}

static void counter(struct mc_buf *t, const char *name, const char *help, uint64_t v)
{
	head(t, name, "counter", help);
	mc_buf_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

/* The /healthz verdict on one copy of the engine's state. */
static unsigned health_of(const struct mc_engine_health *h, char *msg, size_t n)
{
	if (!h->have_chain) {
		snprintf(msg, n, "%s", _("this node has no chain yet"));
		return 503;
	}
	if (h->certified - h->height > MC_HEALTH_LAG_MAX) {
		snprintf(msg, n, _("behind: height %llu, the certified height is %llu"), (unsigned long long)h->height,
			 (unsigned long long)h->certified);
		return 503;
	}
	if (h->nval > 1 && h->up < h->quorum) {
		snprintf(msg, n, _("no quorum: %zu of %zu validators reachable, %zu needed"), h->up, h->nval,
			 h->quorum);
		return 503;
	}
	snprintf(msg, n, _("ok: height %llu, %zu of %zu validators reachable"), (unsigned long long)h->height, h->up,
		 h->nval);
	return 200;
}

unsigned mc_metrics_health(struct mc_engine *e, char *msg, size_t n)
{
	struct mc_engine_health h;

	mc_engine_health(e, &h);
	return health_of(&h, msg, n);
}

/* Resident memory from /proc/self/statm (its second field, in pages). */
static double rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;
	long page = sysconf(_SC_PAGESIZE);
	bool ok;

	if (!f)
		return 0;
	ok = fscanf(f, "%lu %lu", &size, &res) == 2;
	fclose(f);
	return ok && page > 0 ? (double)res * (double)page : 0;
}

/* The series read from the store and the data directory. */
static void render_cached(struct mc_metrics *m, struct mc_buf *t)
{
	double now_s = (double)mc_now_ms() / 1000.0;

	pthread_mutex_lock(&m->mu);
	refresh(m);
	if (m->chain_read)
		gauge(t, "medchain_anchor_age_seconds",
		      "Seconds since the block holding the last committed anchor (since genesis when none).",
		      now_s - (double)(m->anchored ? m->anchor_ms : m->genesis_ms) / 1000.0);
	head(t, "medchain_anchor_state", "gauge",
	     "State of the newest anchor in this node's journal (1 for that state; all 0: none).");
	for (unsigned st = 1; m->c.anchor_state_name && m->c.anchor_state_name(st); st++)
		mc_buf_printf(t, "medchain_anchor_state{state=\"%s\"} %d\n", m->c.anchor_state_name(st),
		    m->an.last_state == st);
	counter(t, "medchain_anchor_gas_used_total", "Gas spent by this node's confirmed anchors.",
		m->an.gas_used);
	gauge(t, "medchain_verify_last_timestamp_seconds",
	      "When the last verify finished (Unix time; 0: never run).",
	      m->vrc == 0 ? (double)m->v.time_ms / 1000.0 : 0);
	gauge(t, "medchain_verify_last_ok",
	      "The last verify: 1 no damage, 0 damage found, -1 never run or its outcome unreadable.",
	      m->vrc == 0 ? (m->v.ok ? 1 : 0) : -1);
	gauge(t, "medchain_verify_last_duration_seconds", "How long the last verify took (0: never run).",
	      m->vrc == 0 ? m->v.duration_s : 0);
	gauge(t, "medchain_verify_last_blocks", "Blocks the last verify checked (0: never run).",
	      m->vrc == 0 ? (double)m->v.blocks : 0);
	if (m->alerts_ok) {
		head(t, "medchain_alerts", "gauge", "Alerts by kind, as `medchain alerts` lists them.");
		/* every kind the alerts module names, none hard-coded here */
		for (unsigned k = 1; k < NKINDS; k++)
			if (strcmp(mc_alert_name(k), "?") != 0)
				mc_buf_printf(t, "medchain_alerts{kind=\"%s\"} %u\n", mc_alert_name(k), m->alerts[k]);
		gauge(t, "medchain_alerts_age_seconds", "Seconds since the alerts were last counted.",
		      now_s - (double)m->alerts_at_ms / 1000.0);
	}
	pthread_mutex_unlock(&m->mu);
}

char *mc_metrics_render(struct mc_metrics *m)
{
	struct mc_engine *e = m->c.e;
	struct mc_engine_health h;
	struct mc_buf t = { NULL, 0, 0, false };  /* the text */
	uint64_t cum = 0;
	char msg[256];
	bool healthy;

	mc_engine_health(e, &h);
	healthy = health_of(&h, msg, sizeof(msg)) == 200;
	head(&t, "medchain_node_info", "gauge", "This node: its name and version (always 1).");
	mc_buf_printf(&t, "medchain_node_info{name=\"");
	put_label(&t, h.name);
	mc_buf_printf(&t, "\",version=\"");
	put_label(&t, PACKAGE_VERSION);
	mc_buf_printf(&t, "\"} 1\n");
	gauge(&t, "medchain_healthy", "1 when /healthz answers 200.", healthy);
	gauge(&t, "medchain_height", "Height of this node's newest block.", (double)h.height);
	gauge(&t, "medchain_certified_height", "Highest certified height this node knows.", (double)h.certified);
	gauge(&t, "medchain_lag_blocks", "Blocks this node is behind the highest certified height it knows.",
	      (double)(h.certified - h.height));
	gauge(&t, "medchain_view", "Current consensus view.", (double)h.view);
	gauge(&t, "medchain_leader", "1 when this node leads the current view.", h.leader);
	gauge(&t, "medchain_validator", "1 when this node is a validator.", h.validator);
	gauge(&t, "medchain_validators", "Validators in the set.", (double)h.nval);
	gauge(&t, "medchain_validators_up", "Validators reachable from this node (itself included).", (double)h.up);
	gauge(&t, "medchain_quorum", "Validators a certificate needs.", (double)h.quorum);
	gauge(&t, "medchain_pool_txs", "Pending transactions in the pool.", (double)h.pending);
	gauge(&t, "medchain_pool_bytes", "Bytes of the pending transactions.", (double)h.pending_bytes);
	counter(&t, "medchain_commits_total", "Blocks committed by this process.", atomic_load(&commits));
	head(&t, "medchain_commit_latency_seconds", "histogram",
	     "Time from the leader's block timestamp to its commit here.");
	for (size_t b = 0; b <= NBUCKETS; b++) {
		cum += atomic_load(&latency_n[b]);
		if (b < NBUCKETS)
			mc_buf_printf(&t, "medchain_commit_latency_seconds_bucket{le=\"%g\"} %llu\n", buckets[b],
			    (unsigned long long)cum);
		else
			mc_buf_printf(&t, "medchain_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	/* the count is the +Inf bucket's, so that the two always agree */
	mc_buf_printf(&t, "medchain_commit_latency_seconds_sum %.6f\n", (double)atomic_load(&latency_sum_us) / 1e6);
	mc_buf_printf(&t, "medchain_commit_latency_seconds_count %llu\n", (unsigned long long)cum);
	head(&t, "medchain_peer_refusals_total", "counter", "Peer API requests refused, by reason.");
	for (size_t i = 0; i < MC_REFUSAL_N; i++)
		mc_buf_printf(&t, "medchain_peer_refusals_total{reason=\"%s\"} %llu\n", refusal_names[i],
		    (unsigned long long)atomic_load(&refusals[i]));
	head(&t, "medchain_peer_requests_total", "counter", "Peer API answers, by path and status.");
	for (size_t p = 0; p < NPATHS; p++)
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t v = atomic_load(&requests[p][s]);
			char st[16];

			if (!v)
				continue;
			snprintf(st, sizeof(st), statuses[s] ? "%u" : "other", statuses[s]);
			mc_buf_printf(&t, "medchain_peer_requests_total{path=\"");
			put_label(&t, paths[p]);
			mc_buf_printf(&t, "\",status=\"%s\"} %llu\n", st, (unsigned long long)v);
		}
	gauge(&t, "medchain_peer_connections", "Open connections to the peer API.",
	      (double)atomic_load(&peer_conns));
	head(&t, "medchain_monitoring_requests_total", "counter", "Requests to this listener, by path.");
	mc_buf_printf(&t, "medchain_monitoring_requests_total{path=\"/healthz\"} %llu\n",
	    (unsigned long long)(atomic_load(&health_requests[0]) + atomic_load(&health_requests[1])));
	mc_buf_printf(&t, "medchain_monitoring_requests_total{path=\"/metrics\"} %llu\n",
	    (unsigned long long)atomic_load(&metrics_requests));
	gauge(&t, "medchain_uptime_seconds", "Seconds since serve started.", (double)h.uptime_ms / 1000.0);
	gauge(&t, "medchain_process_resident_memory_bytes", "Resident memory of the serve process.", rss_bytes());
	render_cached(m, &t);
	if (t.failed) {
		mc_buf_release(&t);
		return NULL;
	}
	return (char *)t.data;
}

/* ---- the listener ----------------------------------------------------------- */

/* body: copied; or owned (malloc'd, handed to MHD) */
static enum MHD_Result answer(struct MHD_Connection *con, unsigned status, const char *ctype, const char *body,
			      char *owned)
{
	struct MHD_Response *r = owned ? MHD_create_response_from_buffer(strlen(owned), owned, MHD_RESPMEM_MUST_FREE)
				       : MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body,
									 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r) {
		free(owned);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == 405)
		MHD_add_response_header(r, "Allow", "GET");
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	static int first;
	struct mc_metrics *m = cls;
	const char *text = "text/plain; charset=utf-8";
	bool known = strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0;
	char line[320];

	(void)version;
	(void)upload;
	if (!*req_cls) {          /* the headers: answered at once, no body read */
		*req_cls = &first;
		if (strcmp(method, "GET") == 0 && !*upload_size)
			return MHD_YES;
	}
	*upload_size = 0;
	if (!known)
		return answer(con, 404, text, "not found\n", NULL);
	if (strcmp(method, "GET") != 0)
		return answer(con, 405, text, "only GET is served\n", NULL);
	if (strcmp(url, "/healthz") == 0) {
		/* the reason, with room kept for its newline */
		unsigned st = mc_metrics_health(m->c.e, line, sizeof(line) - 1);
		size_t len = strnlen(line, sizeof(line) - 2);

		atomic_fetch_add(&health_requests[st == 200 ? 0 : 1], 1);
		line[len] = '\n';
		line[len + 1] = '\0';
		return answer(con, st, text, line, NULL);
	}
	atomic_fetch_add(&metrics_requests, 1);
	{
		char *body = mc_metrics_render(m);

		if (!body)
			return answer(con, 500, text, "out of memory\n", NULL);
		return answer(con, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body);
	}
}

int mc_metrics_start(const struct mc_metrics_conf *c, struct mc_metrics **out, struct mc_err *err)
{
	struct mc_metrics *m;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	const char *listen = c->listen;

	if (mc_httpd_parse_listen("[node] metrics_listen", listen, &ss, &sl, err) != 0)
		return -1;
	if (!(m = calloc(1, sizeof(*m))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	m->c = *c;
	m->vrc = 1;
	pthread_mutex_init(&m->mu, NULL);
	snprintf(m->db_path, sizeof(m->db_path), "%s/db/data.mdb", c->datadir);
	snprintf(m->vlast_path, sizeof(m->vlast_path), "%s/%s", c->datadir, MC_VLAST_FILE);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_LIMIT, MC_METRICS_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				PER_IP, MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!m->d) {
		pthread_mutex_destroy(&m->mu);
		free(m);
		return mc_err_set(err, EX_UNAVAILABLE, _("cannot listen on %s (in use?)"), listen);
	}
	*out = m;
	return 0;
}

void mc_metrics_stop(struct mc_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->mu);
	free(m);
}
