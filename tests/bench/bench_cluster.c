/* SPDX-License-Identifier: Apache-2.0 */
/* bench_cluster - load for a cluster of `medchain serve` processes: signed
 * ACCESS txs (audit events of reads, decided by the consent rules) from many
 * authors, sent to every node, as fast as the cluster commits them or at a
 * fixed rate with each batch waiting for its commit.
 *
 *   bench_cluster DATADIR setup AUTHORS URL
 *       enrolls AUTHORS clinicians (signed by DATADIR's admin)
 *   bench_cluster DATADIR max SECONDS THREADS BATCH URL...
 *       committed tx/s at full load: prints "committed N seconds S rate R
 *       busy B", B the share of all the machine's cores busy (any process:
 *       the nodes, this client, anything else running) from the window's
 *       start to the last commit, from /proc/stat (-1 where it cannot be
 *       read)
 *   bench_cluster DATADIR latency RATE SECONDS THREADS URL...
 *       commit latency at RATE tx/s: prints "sent N p50 MS p99 MS max MS"
 *       (each thread 20 batches a second; the threads' first sends are
 *       spread over one period, so the load is a steady stream, not a
 *       burst from every thread at once 20 times a second)
 *   bench_cluster DATADIR rtt N URL
 *       GET /v1/status of a serve N times, signed as the CLI's calls are:
 *       on a new connection each time (as each CLI run), then on one kept
 *       alive: prints "new p50 MS p90 MS keepalive p50 MS p90 MS"
 *   bench_cluster DATADIR etcd-max SECONDS THREADS BATCH URL...
 *   bench_cluster DATADIR etcd-latency RATE SECONDS THREADS URL...
 *       the same load against an etcd cluster (the peer): each batch is one
 *       txn of BATCH puts through etcd's v3 JSON gateway (POST /v3/kv/txn),
 *       over 1,024 keys (one per author), each value as long as the
 *       encoded ACCESS tx; a txn is committed when etcd answers it, so
 *       max counts answered puts; prints as max and latency do
 *
 * The load's txs are signed before the timed window (max: enough for
 * MC_BENCH_PRESIGN_RATE tx/s, default 60,000, plus the backlog; latency:
 * RATE plus 10%), so the figures are the cluster's, not the signing of this
 * client on the same cores.
 *
 * DATADIR is a node's data dir: its node key signs requests, its store
 * gives the chain id, a record to read and the count of committed txs.
 * The authors' keys are derived from a fixed seed, so setup and load agree.
 */
#include "config.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "consent.h"
#include "crypto.h"
#include "keystore.h"
#include "peer.h"
#include "records.h"
#include "replica.h"
#include "store.h"

#define MAX_AUTHORS 4096
#define MAX_URLS 16

static struct mc_store *store;
static struct mc_key *node;
static uint8_t chain_id[MC_HASH_LEN];
static const char *urls[MAX_URLS];
static int nurls;

struct author {
	uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN];
	uint64_t seq;
};
static struct author authors[MAX_AUTHORS];
static size_t nauthors;
static uint8_t access_body[512];
static size_t access_len;
static atomic_ullong committed_now;
static atomic_int stop_flag;
static atomic_int load_failed;   /* a batch was refused: the load did not run */
/* etcd modes: the peer's URLs take the load; puts answered so far */
static bool etcd_mode;
static atomic_ullong etcd_done;
static char *etcd_keys[MAX_AUTHORS];
static char *etcd_value;

/* A number argument in [lo, hi], or exit 64 naming it. */
static double num_arg(const char *s, const char *what, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "bench_cluster: %s must be a number from %g to %g, not '%s'\n", what, lo, hi, s);
		exit(64);
	}
	return v;
}

static void die(const char *what, const struct mc_err *err)
{
	fprintf(stderr, "bench_cluster: %s: %s\n", what, err ? err->msg : "");
	exit(70);
}

static void derive_authors(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t seed[MC_SEED_LEN];

		memset(seed, 0, sizeof(seed));
		memcpy(seed, "bench-author", 12);
		seed[30] = (uint8_t)(i >> 8);
		seed[31] = (uint8_t)i;
		mc_sign_seed_keypair(seed, authors[i].pk, authors[i].sk);
	}
	nauthors = n;
}

struct state_ctx {
	struct mc_head head;
	uint64_t txs;
};

static int state_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct state_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	return mc_txn_count(t, MC_DB_TXIDX, &c->txs, err);
}

static uint64_t committed(void)
{
	struct state_ctx c;
	struct mc_err err = { 0 };

	if (etcd_mode)
		return atomic_load(&etcd_done);
	if (mc_store_read(store, state_txn, &c, &err) != 0)
		die("read", &err);
	return c.txs;
}

struct seqs_ctx {
	size_t n;
};

static int seqs_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	(void)vctx;
	for (size_t i = 0; i < nauthors; i++)
		if (mc_builder_next_seq(t, authors[i].pk, &authors[i].seq, err) != 0)
			return -1;
	return 0;
}

/* The ACCESS every author sends: a read of the first record for
 * treatment, decided by the consent rules (no grant: denied). */
static int access_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	struct mc_access acc;
	struct mc_decision d;
	struct mc_buf b;

	(void)vctx;
	if (mc_cursor_open(t, MC_DB_RECORDS, &c, err) != 0)
		return -1;
	if (mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err) != 0) {
		mc_cursor_close(c);
		return mc_err_set(err, EX_NOINPUT, "no record to read: put one first");
	}
	memset(&acc, 0, sizeof(acc));
	memcpy(acc.record, k, MC_RECORD_ID_LEN);
	mc_cursor_close(c);
	acc.version = 1;
	acc.purpose = MC_PURPOSE_TREATMENT;
	if (mc_access_decide(t, authors[0].pk, acc.record, 1, acc.purpose, false, mc_now_ms(), acc.subject, &d,
			     err) != 0)
		return -1;
	acc.outcome = d.outcome;
	acc.reason = d.reason;
	memcpy(acc.grant, d.grant, MC_GRANT_ID_LEN);
	mc_buf_init(&b);
	mc_access_encode(&acc, &b);
	if (b.len > sizeof(access_body))
		return mc_err_set(err, EX_SOFTWARE, "access body too long");
	memcpy(access_body, b.data, b.len);
	access_len = b.len;
	mc_buf_release(&b);
	return 0;
}

static void add_tx(struct mc_buf *out, unsigned type, const uint8_t *author_pk, const uint8_t *author_sk,
		   uint64_t seq, const uint8_t *body, size_t len)
{
	static const uint8_t empty_side[4];
	struct mc_tx tx;
	struct mc_buf enc;

	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)type;
	memcpy(tx.author, author_pk, MC_PK_LEN);
	tx.timestamp_ms = mc_now_ms();
	tx.seq = seq;
	tx.body = body;
	tx.body_len = len;
	mc_tx_sign(&tx, chain_id, author_sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	mc_put_bytes(out, enc.data, enc.len);
	mc_put_bytes(out, empty_side, sizeof(empty_side));
	mc_buf_release(&enc);
}

static long post(struct mc_peer_client *cl, const char *url, const struct mc_buf *txs, unsigned wait_ms)
{
	struct mc_peer_resp r;
	struct mc_err err = { 0 };
	char path[64];
	long st;

	snprintf(path, sizeof(path), "/v1/tx?wait=%u", wait_ms);
	if (mc_peer_call(cl, chain_id, node, url, "POST", path, txs->data, txs->len, NULL, wait_ms + 30000,
			 16u << 20, &r, &err) != 0) {
		fprintf(stderr, "bench_cluster: %s\n", err.msg);
		return -1;
	}
	st = r.status;
	if (st != 200 && st != 202)
		fprintf(stderr, "bench_cluster: HTTP %ld: %.300s\n", st, (const char *)r.body);
	mc_peer_resp_release(&r);
	return st;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct worker {
	pthread_t th;
	CURL *etcd;                 /* etcd modes: this thread's connection */
	int id, nthreads;
	size_t batch;
	double rate_per_thread;     /* latency mode: txs a second; 0: as fast as possible */
	double until;
	uint64_t sent;
	double *lat;                /* latency mode: one per batch */
	size_t nlat, caplat;
	uint64_t backlog_max;
	uint64_t base;
	atomic_ullong *total_sent;
	struct mc_buf *pre;         /* batches signed before the timed window */
	size_t npre, ipre;
	size_t next;                /* the next tx's index (author_of) */
};

/* The author of a thread's n-th tx: id, id + nthreads, ... */
static size_t author_of(const struct worker *w, size_t n)
{
	return (size_t)w->id + (n % (nauthors / (size_t)w->nthreads)) * (size_t)w->nthreads;
}

/* A base64 copy of n bytes (etcd's JSON gateway takes bytes so). */
static char *b64(const void *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (!s)
		abort();
	return sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/* The etcd peer's batch: one txn of w->batch puts, each to its author's
 * key, as JSON in out. */
static void etcd_txn(const struct worker *w, struct mc_buf *out, size_t *next)
{
	cJSON *txn = cJSON_CreateObject(), *ops = cJSON_AddArrayToObject(txn, "success");
	char *js;

	for (size_t i = 0; i < w->batch; i++) {
		cJSON *op = cJSON_CreateObject(), *put = cJSON_AddObjectToObject(op, "requestPut");

		cJSON_AddStringToObject(put, "key", etcd_keys[author_of(w, (*next)++)]);
		cJSON_AddStringToObject(put, "value", etcd_value);
		cJSON_AddItemToArray(ops, op);
	}
	js = cJSON_PrintUnformatted(txn);
	if (!js)
		abort();
	mc_put_raw(out, js, strlen(js));
	free(js);
	cJSON_Delete(txn);
}

static size_t etcd_body(char *p, size_t size, size_t n, void *ctx)
{
	mc_put_raw(ctx, p, size * n);
	return size * n;
}

/* POSTs a txn to an etcd member: 200 once it is committed (the answer says
 * it succeeded), or the HTTP status (-1 if none) after a message. */
static long etcd_post(struct worker *w, const char *url, const struct mc_buf *txn)
{
	char full[512];
	struct mc_buf resp;
	long st = -1;
	cJSON *j, *ok;

	snprintf(full, sizeof(full), "%s/v3/kv/txn", url);
	mc_buf_init(&resp);
	curl_easy_setopt(w->etcd, CURLOPT_URL, full);
	curl_easy_setopt(w->etcd, CURLOPT_POSTFIELDS, (const char *)txn->data);
	curl_easy_setopt(w->etcd, CURLOPT_POSTFIELDSIZE, (long)txn->len);
	curl_easy_setopt(w->etcd, CURLOPT_WRITEFUNCTION, etcd_body);
	curl_easy_setopt(w->etcd, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(w->etcd, CURLOPT_TIMEOUT_MS, 30000L);
	if (curl_easy_perform(w->etcd) == CURLE_OK)
		curl_easy_getinfo(w->etcd, CURLINFO_RESPONSE_CODE, &st);
	mc_put_raw(&resp, "", 1);
	j = cJSON_Parse((const char *)resp.data);
	ok = cJSON_GetObjectItemCaseSensitive(j, "succeeded");
	if (st == 200 && !cJSON_IsTrue(ok))
		st = 500;
	if (st != 200)
		fprintf(stderr, "bench_cluster: etcd HTTP %ld: %.300s\n", st, (const char *)resp.data);
	else
		atomic_fetch_add(&etcd_done, w->batch);
	cJSON_Delete(j);
	mc_buf_release(&resp);
	return st;
}

/* One batch of w->batch ACCESS txs, each signed by its author now. */
static void sign_batch(struct worker *w, struct mc_buf *txs)
{
	mc_put_u32(txs, (uint32_t)w->batch);
	for (size_t i = 0; i < w->batch; i++) {
		size_t a = author_of(w, w->next++);

		add_tx(txs, MC_TX_ACCESS, authors[a].pk, authors[a].sk, authors[a].seq++, access_body, access_len);
	}
}

/* Signs the worker's w->npre batches before the timed window, so the
 * figure is the cluster's and not this client's signing (which would
 * share the cores with the nodes). */
static void *presign_main(void *arg)
{
	struct worker *w = arg;

	w->pre = calloc(w->npre ? w->npre : 1, sizeof(*w->pre));
	if (!w->pre)
		abort();
	for (size_t i = 0; i < w->npre; i++) {
		mc_buf_init(&w->pre[i]);
		sign_batch(w, &w->pre[i]);
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mc_peer_client *cl = NULL;
	struct mc_err err = { 0 };
	struct mc_buf txs;
	/* latency: the threads' sends spread over a period, not all at once */
	double t_next = now_s() + (w->rate_per_thread > 0 ? (double)w->id * ((double)w->batch / w->rate_per_thread) /
							   (double)w->nthreads : 0.0);

	if (etcd_mode ? !(w->etcd = curl_easy_init()) : mc_peer_client_new(NULL, &cl, &err) != 0)
		die("client", &err);
	mc_buf_init(&txs);
	while (!atomic_load(&stop_flag) && now_s() < w->until) {
		const char *url = urls[(w->id + (int)(w->sent / w->batch)) % nurls];
		double t0;
		long st;

		if (w->rate_per_thread > 0) {
			double now = now_s();

			if (now < t_next) {
				usleep((useconds_t)((t_next - now) * 1e6));
				continue;
			}
			t_next += (double)w->batch / w->rate_per_thread;
		} else {
			/* keep the backlog bounded: the cluster's rate, not the mempool's */
			uint64_t sent = atomic_load(w->total_sent), done = atomic_load(&committed_now) - w->base;

			if (sent > done + w->backlog_max) {
				usleep(2000);
				continue;
			}
		}
		mc_buf_reset(&txs);
		if (etcd_mode)
			etcd_txn(w, &txs, &w->next);
		else if (w->ipre == w->npre)   /* the signed ones ran out: sign here */
			sign_batch(w, &txs);
		t0 = now_s();
		if (w->ipre < w->npre)
			st = post(cl, url, &w->pre[w->ipre++], w->rate_per_thread > 0 ? 30000 : 0);
		else
			st = etcd_mode ? etcd_post(w, url, &txs) : post(cl, url, &txs, w->rate_per_thread > 0 ? 30000 : 0);
		if (st != 200 && st != 202) {
			atomic_store(&load_failed, 1);
			atomic_store(&stop_flag, 1);
			break;
		}
		w->sent += w->batch;
		atomic_fetch_add(w->total_sent, w->batch);
		if (w->rate_per_thread > 0) {
			if (w->nlat == w->caplat) {
				w->caplat = w->caplat ? w->caplat * 2 : 1024;
				w->lat = realloc(w->lat, w->caplat * sizeof(double));
			}
			w->lat[w->nlat++] = (now_s() - t0) * 1000.0;
		}
	}
	mc_buf_release(&txs);
	for (size_t i = 0; i < w->npre; i++)
		mc_buf_release(&w->pre[i]);
	free(w->pre);
	if (cl)
		mc_peer_client_free(cl);
	if (w->etcd)
		curl_easy_cleanup(w->etcd);
	return NULL;
}

static void *monitor_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_flag)) {
		atomic_store(&committed_now, committed());
		usleep(5000);
	}
	return NULL;
}

/* The machine's CPU time so far, in ticks: all of it and the idle part
 * (idle and iowait), from /proc/stat's first line; both 0 where it cannot
 * be read. */
static void cpu_ticks(unsigned long long *all, unsigned long long *idle)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8];

	*all = *idle = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		   &v[7]) == 8) {
		for (int i = 0; i < 8; i++)
			*all += v[i];
		*idle = v[3] + v[4];
	}
	fclose(f);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Signs every worker's txs before the timed window, a thread each: at a
 * fixed rate, 10% more than it sends; at full load, what
 * MC_BENCH_PRESIGN_RATE tx/s (default 60,000) for seconds needs, plus the
 * backlog. */
static void presign(struct worker *w, int threads, size_t batch, double seconds, double rate)
{
	const char *env = getenv("MC_BENCH_PRESIGN_RATE");
	double per_s = rate > 0 ? rate * 1.1 : (env ? num_arg(env, "MC_BENCH_PRESIGN_RATE", 0, 1e7) : 60000);
	double total = per_s * seconds + (rate > 0 ? 0 : 20000);

	for (int i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].nthreads = threads;
		w[i].batch = batch;
		w[i].npre = etcd_mode ? 0 : (size_t)(total / threads / (double)batch) + 1;
		pthread_create(&w[i].th, NULL, presign_main, &w[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(w[i].th, NULL);
}

static void load(double seconds, int threads, size_t batch, double rate)
{
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	atomic_ullong total_sent = 0;
	pthread_t mon;
	int ran_out = 0;
	uint64_t base = committed(), last;
	double t_start, t_last;
	unsigned long long all0, idle0, all1, idle1;   /* the machine's CPU ticks at t_start, t_last */
	struct mc_err err = { 0 };

	if (mc_store_read(store, seqs_txn, NULL, &err) != 0)
		die("sequence numbers", &err);
	if (rate > 0)   /* latency: 20 batches a second a thread */
		batch = (size_t)(rate / threads / 20) > 0 ? (size_t)(rate / threads / 20) : 1;
	presign(w, threads, batch, seconds, rate);
	cpu_ticks(&all0, &idle0);
	t_start = now_s();
	atomic_store(&committed_now, base);
	pthread_create(&mon, NULL, monitor_main, NULL);
	for (int i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].nthreads = threads;
		w[i].batch = batch;
		w[i].until = t_start + seconds;
		w[i].rate_per_thread = rate / threads;
		w[i].backlog_max = 20000;
		w[i].base = base;
		w[i].total_sent = &total_sent;
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		ran_out += w[i].ipre == w[i].npre && !etcd_mode;
	}
	if (ran_out)
		fprintf(stderr, "bench_cluster: %d of %d threads used up their pre-signed txs and signed more in the timed window (raise MC_BENCH_PRESIGN_RATE)\n",
			ran_out, threads);
	/* everything sent is committed, then: the time of the last commit */
	last = atomic_load(&committed_now);
	t_last = now_s();
	cpu_ticks(&all1, &idle1);
	for (int idle = 0; idle < 3000 && last - base < atomic_load(&total_sent); idle++) {
		uint64_t c;

		usleep(1000);
		c = atomic_load(&committed_now);
		if (c != last) {
			last = c;
			t_last = now_s();
			cpu_ticks(&all1, &idle1);
			idle = 0;
		}
	}
	atomic_store(&stop_flag, 1);
	pthread_join(mon, NULL);
	if (rate > 0) {
		double *all = NULL;
		size_t n = 0;

		for (int i = 0; i < threads; i++) {
			all = realloc(all, (n + w[i].nlat + 1) * sizeof(double));
			memcpy(all + n, w[i].lat, w[i].nlat * sizeof(double));
			n += w[i].nlat;
			free(w[i].lat);
		}
		qsort(all, n, sizeof(double), cmp_d);
		printf("sent %llu batches %zu p50 %.1f p99 %.1f max %.1f rate %.0f\n",
		       (unsigned long long)atomic_load(&total_sent), n, n ? all[n / 2] : 0.0,
		       n ? all[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0.0, n ? all[n - 1] : 0.0,
		       (double)(last - base) / (t_last - t_start));
		free(all);
	} else {
		printf("committed %llu seconds %.2f rate %.0f busy %.2f\n", (unsigned long long)(last - base),
		       t_last - t_start, (double)(last - base) / (t_last - t_start),
		       all1 > all0 ? 1.0 - (double)(idle1 - idle0) / (double)(all1 - all0) : -1.0);
	}
	free(w);
}

/* The etcd modes' keys (one per author) and value (as long as the
 * encoded ACCESS tx an author sends to medchain). */
static void etcd_prepare(void)
{
	struct mc_buf one;
	uint8_t *v;
	size_t len;

	mc_buf_init(&one);
	add_tx(&one, MC_TX_ACCESS, authors[0].pk, authors[0].sk, 0, access_body, access_len);
	len = one.len - 4;
	mc_buf_release(&one);
	v = malloc(len);
	if (!v)
		abort();
	randombytes_buf(v, len);
	etcd_value = b64(v, len);
	free(v);
	for (size_t i = 0; i < nauthors; i++) {
		char k[32];

		snprintf(k, sizeof(k), "mc-bench/%04zu", i);
		etcd_keys[i] = b64(k, strlen(k));
	}
	etcd_mode = true;
}

/* GET /v1/status of url n times; fresh: a new client (and connection)
 * each time. Prints "p50 MS p90 MS" after label. */
static void rtt(const char *label, const char *url, size_t n, bool fresh)
{
	struct mc_peer_client *cl = NULL;
	struct mc_err err = { 0 };
	double *ms = calloc(n, sizeof(double));

	for (size_t i = 0; i < n; i++) {
		struct mc_peer_resp r;
		double t0 = now_s();

		if ((!cl && mc_peer_client_new(NULL, &cl, &err) != 0) ||
		    mc_peer_call(cl, chain_id, node, url, "GET", "/v1/status", NULL, 0, NULL, 30000, 1u << 20, &r,
				 &err) != 0)
			die(url, &err);
		mc_peer_resp_release(&r);
		if (fresh) {
			mc_peer_client_free(cl);
			cl = NULL;
		}
		ms[i] = (now_s() - t0) * 1000.0;
	}
	if (cl)
		mc_peer_client_free(cl);
	qsort(ms, n, sizeof(double), cmp_d);
	printf("%s p50 %.3f p90 %.3f", label, ms[n / 2], ms[(n * 90) / 100]);
	free(ms);
}

int main(int argc, char **argv)
{
	char path[4200];
	struct mc_err err = { 0 };
	struct state_ctx sc;
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_cluster DATADIR setup AUTHORS URL | max SECONDS THREADS BATCH URL... |"
				" latency RATE SECONDS THREADS URL... | rtt N URL |"
				" etcd-max SECONDS THREADS BATCH URL... | etcd-latency RATE SECONDS THREADS URL...\n");
		return 64;
	}
	mode = argv[2];
	if (mc_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 70;
	snprintf(path, sizeof(path), "%s/db", argv[1]);
	if (mc_store_open(path, MC_STORE_RDONLY, &store, &err) != 0 || mc_store_read(store, state_txn, &sc, &err) != 0)
		die(path, &err);
	memcpy(chain_id, sc.head.chain_id, MC_HASH_LEN);
	snprintf(path, sizeof(path), "%s/keys/node.key", argv[1]);
	if (mc_key_load(path, NULL, 0, &node, &err) != 0)
		die(path, &err);
	if (strcmp(mode, "setup") == 0 && argc == 5) {
		size_t n = strtoul(argv[3], NULL, 10);
		struct mc_key *admin = NULL;
		struct mc_peer_client *cl = NULL;
		struct mc_buf txs;
		uint64_t seq;

		if (n < 1 || n > MAX_AUTHORS)
			return 64;
		derive_authors(n);
		snprintf(path, sizeof(path), "%s/keys/admin.key", argv[1]);
		if (mc_key_load(path, NULL, 0, &admin, &err) != 0 || mc_peer_client_new(NULL, &cl, &err) != 0)
			die(path, &err);
		authors[0].seq = 0;
		{
			struct author save = authors[0];

			memcpy(authors[0].pk, admin->pk, MC_PK_LEN);
			nauthors = 1;
			if (mc_store_read(store, seqs_txn, NULL, &err) != 0)
				die("seq", &err);
			seq = authors[0].seq;
			authors[0] = save;
			nauthors = n;
		}
		mc_buf_init(&txs);
		mc_put_u32(&txs, (uint32_t)n);
		for (size_t i = 0; i < n; i++) {
			struct mc_enroll e;
			struct mc_buf body;
			char name[32];

			memset(&e, 0, sizeof(e));
			memcpy(e.pk, authors[i].pk, MC_PK_LEN);
			e.roles = MC_ROLE_CLINICIAN;
			snprintf(name, sizeof(name), "bench-%zu", i);
			e.name = (const uint8_t *)name;
			e.name_len = strlen(name);
			mc_buf_init(&body);
			mc_enroll_encode(&e, &body);
			add_tx(&txs, MC_TX_IDENTITY_ENROLL, admin->pk, admin->sk, seq + i, body.data, body.len);
			mc_buf_release(&body);
		}
		urls[0] = argv[4];
		nurls = 1;
		return post(cl, argv[4], &txs, 60000) == 200 ? 0 : 1;
	}
	if (strcmp(mode, "rtt") == 0 && argc == 5) {
		size_t n = (size_t)num_arg(argv[3], "N", 1, 100000);

		rtt("new", argv[4], n, true);
		rtt(" keepalive", argv[4], n, false);
		printf("\n");
		return 0;
	}
	if (strncmp(mode, "etcd-", 5) == 0) {
		derive_authors(1024);
		if (mc_store_read(store, access_txn, NULL, &err) != 0)
			die("access", &err);
		etcd_prepare();
		mode += 5;
	}
	if (strcmp(mode, "max") == 0 && argc >= 7) {
		for (int i = 6; i < argc && nurls < MAX_URLS; i++)
			urls[nurls++] = argv[i];
		derive_authors(MAX_AUTHORS >= 1024 ? 1024 : MAX_AUTHORS);
		if (!etcd_mode && mc_store_read(store, access_txn, NULL, &err) != 0)
			die("access", &err);
		load(num_arg(argv[3], "SECONDS", 1, 3600), (int)num_arg(argv[4], "THREADS", 1, 1024),
		     (size_t)num_arg(argv[5], "BATCH", 1, 10000), 0);
		return atomic_load(&load_failed) ? 1 : 0;
	}
	if (strcmp(mode, "latency") == 0 && argc >= 7) {
		for (int i = 6; i < argc && nurls < MAX_URLS; i++)
			urls[nurls++] = argv[i];
		derive_authors(1024);
		if (!etcd_mode && mc_store_read(store, access_txn, NULL, &err) != 0)
			die("access", &err);
		load(num_arg(argv[4], "SECONDS", 1, 3600), (int)num_arg(argv[5], "THREADS", 1, 1024), 0,
		     num_arg(argv[3], "RATE", 1, 1e6));
		return atomic_load(&load_failed) ? 1 : 0;
	}
	fprintf(stderr, "bench_cluster: bad arguments\n");
	return 64;
}
