/* SPDX-License-Identifier: Apache-2.0 */
/* The consensus engine's state machine without sockets: four engines, each
 * on its own temporary store, linked by an in-memory transport (peer.h)
 * that hands each request to the other engine's mc_engine_on_* function,
 * and sharing a clock the test moves forward (real time plus an offset:
 * the engines' threads keep running, and a jump past the leader timeout is
 * the leader's silence). A view change after the leader goes silent, a
 * block locked by a quorum's votes that the new leader must finish, and a
 * leader that proposes as soon as no round is in flight. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "engine_int.h"
#include "fixture.h"
#include "replica.h"
#include "tx.h"
#include "util.h"
#include "valset.h"

#define N 4
#define TIMEOUT_MS 60000u          /* the leader timeout: only a jump reaches it */
#define WAIT_S 40                  /* what the test waits for a state, in real time */

/* ---- the clock ---------------------------------------------------------- */

static _Atomic uint64_t skew;
static unsigned block_ms;          /* the engines' block_interval_ms; 0: the default */

static uint64_t test_now(void *ctx)
{
	(void)ctx;
	return mc_now_ms() + atomic_load(&skew);
}

/* ---- the cluster and its in-memory transport ----------------------------- */

enum { LIVE, SILENT, VOTES_LOST };  /* a node's link: all calls, none, its proposals' answers lost */

static struct {
	char dir[N][64];
	struct mc_store *s[N];
	struct mc_key *k[N];
	struct mc_engine *_Atomic e[N];
	_Atomic int link[N];
	_Atomic int inflight;
	_Atomic bool closing;
	_Atomic int overlap;        /* node whose catch-up fetches start a block early, or -1 */
	_Atomic int deaf0;          /* mask of nodes that hear nothing of node 0 but its votes */
	struct mc_peer_transport tr;
} cl;

static int node_at(const char *url)
{
	int i;

	return sscanf(url, "http://n%d.test", &i) == 1 && i >= 0 && i < N ? i : -1;
}

static int node_of(const uint8_t pk[MC_PK_LEN])
{
	for (int i = 0; i < N; i++)
		if (memcmp(cl.k[i]->pk, pk, MC_PK_LEN) == 0)
			return i;
	return -1;
}

static int mem_open(void *ctx, void **client, struct mc_err *err)
{
	(void)err;
	*client = ctx;
	return 0;
}

static void mem_close(void *ctx, void *client)
{
	(void)ctx;
	(void)client;
}

/* A query argument of path ("name=value"), copied into out. */
static const char *arg(const char *path, const char *name, char *out, size_t n)
{
	const char *q = strchr(path, '?');
	size_t len = strlen(name);

	while (q && *q) {
		q++;
		if (strncmp(q, name, len) == 0 && q[len] == '=') {
			size_t v = strcspn(q + len + 1, "&");

			snprintf(out, n, "%.*s", (int)v, q + len + 1);
			return out;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

static bool at(const char *path, const char *route)
{
	size_t n = strlen(route);

	return strncmp(path, route, n) == 0 && (path[n] == 0 || path[n] == '?');
}

/* What httpd.c's route() does, minus HTTP and the request's signature. */
static void dispatch(struct mc_engine *e, const uint8_t from[MC_PK_LEN], bool post, const char *path,
		     const void *body, size_t len, struct mc_reply *r)
{
	char a[160], b[160];

	if (!post && at(path, "/v1/status")) {
		mc_engine_on_status(e, r);
	} else if (!post && at(path, "/v1/blocks")) {
		mc_engine_on_blocks(e, strtoull(arg(path, "from", a, sizeof(a)) ? a : "0", NULL, 10),
				    strtoull(arg(path, "max", b, sizeof(b)) ? b : "64", NULL, 10), r);
	} else if (post && at(path, "/v1/tx")) {
		mc_engine_on_txs(e, from, body, len, (unsigned)strtoul(arg(path, "wait", a, sizeof(a)) ? a : "0", NULL, 10),
				 r);
	} else if (post && at(path, "/v1/propose")) {
		mc_engine_on_propose(e, from, body, len, r);
	} else if (post && at(path, "/v1/commit")) {
		mc_engine_on_commit(e, from, body, len, r);
	} else if (post && at(path, "/v1/evidence")) {
		mc_engine_on_evidence(e, from, body, len, r);
	} else if (post && at(path, "/v1/view-vote")) {
		char w[16];
		const char *why = arg(path, "why", w, sizeof(w));

		mc_engine_on_view_vote(e, from, arg(path, "view", a, sizeof(a)), arg(path, "leader", b, sizeof(b)),
				       why, body, len, r);
	} else if (post && at(path, "/v1/view-change")) {
		mc_engine_on_view_change(e, from, body, len, r);
	} else {
		r->status = 404;
	}
}

static int mem_call(const struct mc_key *node, const char *url, bool post, const char *path, const void *body,
		    size_t len, const uint8_t *expect_pk, size_t max_resp, struct mc_peer_resp *resp,
		    struct mc_err *err)
{
	int from = node_of(node->pk), to = node_at(url);
	struct mc_engine *e;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	int rc = 0;

	memset(resp, 0, sizeof(*resp));
	atomic_fetch_add(&cl.inflight, 1);
	if (from < 0 || to < 0 || atomic_load(&cl.closing) || atomic_load(&cl.link[from]) == SILENT ||
	    atomic_load(&cl.link[to]) == SILENT || !(e = atomic_load(&cl.e[to])) ||
	    (((from == 0 && (atomic_load(&cl.deaf0) >> to & 1)) || (to == 0 && (atomic_load(&cl.deaf0) >> from & 1))) &&
	     !at(path, "/v1/view-vote"))) {
		atomic_fetch_sub(&cl.inflight, 1);
		return mc_err_set(err, EX_UNAVAILABLE, "%s: unreachable", url);
	}
	mc_buf_init(&r.body);
	{
		/* a fetch that raced a commit: its first block is one the
		 * node stored meanwhile */
		char early[96];
		unsigned long long h;
		unsigned mx;

		if (!post && from == atomic_load(&cl.overlap) &&
		    sscanf(path, "/v1/blocks?from=%llu&max=%u", &h, &mx) == 2 && h > 1) {
			snprintf(early, sizeof(early), "/v1/blocks?from=%llu&max=%u", h - 1, mx);
			dispatch(e, node->pk, post, early, body, len, &r);
		} else {
			dispatch(e, node->pk, post, path, body, len, &r);
		}
	}
	if (atomic_load(&cl.link[from]) == VOTES_LOST && at(path, "/v1/propose"))
		rc = mc_err_set(err, EX_UNAVAILABLE, "%s: the answer was lost", url);
	else if (r.body.len > max_resp || (expect_pk && memcmp(expect_pk, cl.k[to]->pk, MC_PK_LEN) != 0))
		rc = mc_err_set(err, EX_PROTOCOL, "%s: not the answer asked for", url);
	if (rc == 0) {
		resp->status = r.status;
		resp->len = r.body.len;
		if (!(resp->body = malloc(r.body.len + 1)))
			abort();
		memcpy(resp->body, r.body.data, r.body.len);
		resp->body[r.body.len] = 0;
		memcpy(resp->pk, cl.k[to]->pk, MC_PK_LEN);
	}
	mc_buf_release(&r.body);
	atomic_fetch_sub(&cl.inflight, 1);
	return rc;
}

static int mem_send(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node, const char *url,
		    const char *path, const void *body, size_t len, const uint8_t *expect_pk, long timeout_ms,
		    size_t max_resp, struct mc_peer_resp *resp, struct mc_err *err)
{
	(void)client;
	(void)chain_id;
	(void)timeout_ms;
	return mem_call(node, url, true, path, body, len, expect_pk, max_resp, resp, err);
}

static int mem_fetch(void *client, const uint8_t chain_id[MC_HASH_LEN], const struct mc_key *node, const char *url,
		     const char *path, const uint8_t *expect_pk, long timeout_ms, size_t max_resp,
		     struct mc_peer_resp *resp, struct mc_err *err)
{
	(void)client;
	(void)chain_id;
	(void)timeout_ms;
	return mem_call(node, url, false, path, NULL, 0, expect_pk, max_resp, resp, err);
}

/* ---- the chain they share ------------------------------------------------ */

/* A tx of type with body by author, as the next of its sequence on s, as a
 * tx and its (empty) side rows in out. */
struct seq_ctx { const uint8_t *pk; uint64_t seq; struct mc_head head; };

static int seq_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seq_ctx *c = vctx;

	return mc_chain_head(t, &c->head, err) != 0 ? -1 : mc_builder_next_seq(t, c->pk, &c->seq, err);
}

static void make_tx(struct mc_store *s, const struct mc_key *author, unsigned type, const struct mc_buf *body,
		    struct mc_buf *out, struct mc_txin *in)
{
	struct seq_ctx c = { author->pk, 0, { 0 } };
	struct mc_err err = { 0 };
	struct mc_tx t;

	cr_assert_eq(mc_store_read(s, seq_txn, &c, &err), 0, "%s", err.msg);
	memset(&t, 0, sizeof(t));
	t.version = MC_TX_VERSION;
	t.type = (uint8_t)type;
	memcpy(t.author, author->pk, MC_PK_LEN);
	t.timestamp_ms = test_now(NULL);
	t.seq = c.seq;
	t.body = body->data;
	t.body_len = body->len;
	mc_tx_sign(&t, c.head.chain_id, author->sk);
	mc_buf_init(out);
	mc_tx_encode(&t, out);
	mc_put_u32(out, 0);   /* no side rows */
	in->tx = out->data;
	in->tx_len = out->len - 4;
	in->side = out->data + out->len - 4;
	in->side_len = 4;
}

struct blk_ctx {
	const struct mc_txin *in;
	uint8_t status;
	struct mc_header h;
	const struct mc_bundle *b;
};

static void blk_refused(size_t index, const struct mc_err *why, void *ctx)
{
	(void)index;
	(void)ctx;
	cr_assert_fail("refused: %s", why->msg);
}

static int blk_build_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct blk_ctx *c = vctx;

	c->status = MC_TXIN_PENDING;
	cr_assert_eq(mc_block_build(t, cl.k[0]->pk, c->in, 1, &c->status, 1, mc_now_ms(), blk_refused, c, &c->h, err),
		     0, "%s", err->msg);
	return -1;   /* the header only */
}

static int blk_apply_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_block_apply(t, ((struct blk_ctx *)vctx)->b, MC_APPLY_COMMIT, mc_now_ms(), err);
}

/* One block of one tx on node 0's store, certified by validators 0..nval-1. */
static void block_of(const struct mc_txin *in, size_t nval)
{
	struct blk_ctx c = { in, 0, { 0 }, NULL };
	struct mc_err err = { 0 };
	struct mc_cert cert;
	struct mc_bundle b;
	struct mc_buf enc;
	uint8_t hash[MC_HASH_LEN];

	mc_store_write(cl.s[0], blk_build_txn, &c, &err);
	cr_assert_eq(c.status, MC_TXIN_IN);
	mc_block_hash(&c.h, hash);
	memset(&cert, 0, sizeof(cert));
	for (size_t i = 0; i < nval; i++) {   /* votes in key order */
		struct mc_vote v;
		size_t j = cert.count;

		mc_vote_sign(hash, cl.k[i]->sk, cl.k[i]->pk, &v);
		while (j > 0 && memcmp(cert.votes[j - 1].pk, v.pk, MC_PK_LEN) > 0) {
			cert.votes[j] = cert.votes[j - 1];
			j--;
		}
		cert.votes[j] = v;
		cert.count++;
	}
	mc_buf_init(&enc);
	mc_bundle_encode(&c.h, &cert, in, 1, &enc);
	cr_assert_eq(mc_bundle_decode(enc.data, enc.len, &b, &err), 0, "%s", err.msg);
	c.b = &b;
	cr_assert_eq(mc_store_write(cl.s[0], blk_apply_txn, &c, &err), 0, "%s", err.msg);
	mc_bundle_release(&b);
	mc_buf_release(&enc);
}

/* Node i joins the set: a NODE_ADD approved and certified by 0..i-1. */
static void add_validator(size_t i)
{
	struct mc_node_add a;
	struct seq_ctx c = { cl.k[0]->pk, 0, { 0 } };
	struct mc_err err = { 0 };
	uint8_t digest[MC_HASH_LEN];
	char name[16], url[32];
	struct mc_buf body, tx;
	struct mc_txin in;

	cr_assert_eq(mc_store_read(cl.s[0], seq_txn, &c, &err), 0, "%s", err.msg);
	/* not "n1": the genesis node is named so (fixture.h), and a node takes
	 * a display name of its own (block version 4) */
	snprintf(name, sizeof(name), "validator %zu", i);
	snprintf(url, sizeof(url), "http://n%zu.test", i);
	memset(&a, 0, sizeof(a));
	memcpy(a.pk, cl.k[i]->pk, MC_PK_LEN);
	a.name = (const uint8_t *)name;
	a.name_len = strlen(name);
	a.url = (const uint8_t *)url;
	a.url_len = strlen(url);
	a.epoch = i - 1;
	mc_node_change_digest(c.head.chain_id, MC_NODE_OP_ADD, a.pk, a.name, a.name_len, a.url, a.url_len, a.epoch,
			      digest);
	for (size_t j = 0; j < i; j++) {
		struct mc_approval ap;

		mc_approval_sign(digest, cl.k[j]->sk, cl.k[j]->pk, &ap);
		cr_assert_eq(mc_approvals_add(&a.approvals, &ap, &err), 0);
	}
	mc_buf_init(&body);
	mc_node_add_encode(&a, &body);
	make_tx(cl.s[0], cl.k[0], MC_TX_NODE_ADD, &body, &tx, &in);
	block_of(&in, i);
	mc_buf_release(&tx);
	mc_buf_release(&body);
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int rc = in && out ? 0 : -1;

	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

static void start(size_t i)
{
	static const char *const names[N] = { "n0", "n1", "n2", "n3" };   /* the engine keeps them */
	struct mc_engine_conf c;
	struct mc_engine *e;
	struct mc_err err = { 0 };

	memset(&c, 0, sizeof(c));
	c.s = cl.s[i];
	c.node = cl.k[i];
	c.name = names[i];
	c.peers = "http://n0.test,http://n1.test,http://n2.test,http://n3.test";
	c.leader_timeout_ms = TIMEOUT_MS;
	c.block_interval_ms = block_ms;
	c.now = test_now;
	c.transport = &cl.tr;
	cr_assert_eq(mc_engine_start(&c, &e, &err), 0, "%s", err.msg);
	atomic_store(&cl.e[i], e);
}

/* The in-memory cluster, empty but for node 0 on fx's store and key (its
 * engine not started). */
static void cluster_reset(void)
{
	memset(&cl, 0, sizeof(cl));
	atomic_store(&cl.overlap, -1);
	atomic_store(&skew, 0);
	cl.tr = (struct mc_peer_transport){ mem_open, mem_close, mem_send, mem_fetch, &cl };
	cl.s[0] = fx.s;
	cl.k[0] = fx.node;
}

/* Node 0 makes the genesis block (fixture.h) and adds 1..3 to the set; the
 * other stores are copies of its store; then every engine starts. */
static void cluster_setup(void)
{
	struct mc_err err = { 0 };

	fx_setup();
	cluster_reset();
	for (size_t i = 1; i < N; i++)
		cr_assert_eq(mc_key_generate(false, &cl.k[i], &err), 0);
	for (size_t i = 1; i < N; i++)
		add_validator(i);
	for (size_t i = 1; i < N; i++) {
		char from[96], to[96];

		snprintf(cl.dir[i], sizeof(cl.dir[i]), "%s", "/tmp/mc-unit-XXXXXX");
		cr_assert_not_null(mkdtemp(cl.dir[i]));
		snprintf(from, sizeof(from), "%s/data.mdb", fx.dir);
		snprintf(to, sizeof(to), "%s/data.mdb", cl.dir[i]);
		cr_assert_eq(copy_file(from, to), 0, "%s", strerror(errno));
		cr_assert_eq(mc_store_open(cl.dir[i], 0, &cl.s[i], &err), 0, "%s", err.msg);
	}
	for (size_t i = 0; i < N; i++)
		start(i);
}

static void cluster_teardown(void)
{
	/* every call fails from now on; those under way end first */
	atomic_store(&cl.closing, true);
	while (atomic_load(&cl.inflight))
		usleep(10000);
	for (size_t i = 0; i < N; i++)
		mc_engine_stop(atomic_exchange(&cl.e[i], NULL));
	for (size_t i = 1; i < N; i++) {
		mc_store_close(cl.s[i]);
		mc_key_free(cl.k[i]);
		nftw(cl.dir[i], fx_rm, 8, FTW_DEPTH | FTW_PHYS);
	}
	fx_teardown();
}

/* ---- what the test sees -------------------------------------------------- */

struct seen {
	uint64_t height, view;
	uint8_t leader[MC_PK_LEN];
	struct mc_header h;      /* the block at `at`, when found */
	bool found;
	uint64_t at;
	bool locked;             /* the vote lock (engine.h: MC_DB_CONSENSUS "lock") */
	uint64_t lock_height;
	uint8_t lock_hash[MC_HASH_LEN];
};

static int seen_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seen *s = vctx;
	struct mc_head head;
	struct mc_cert cert;
	const void *v;
	size_t vn;
	int rc;

	if (mc_chain_head(t, &head, err) != 0 || mc_chain_leader(t, s->leader, &s->view, err) != 0)
		return -1;
	s->height = head.height;
	rc = s->at ? mc_chain_block(t, s->at, &s->h, &cert, err) : 1;
	if (rc < 0)
		return -1;
	s->found = rc == 0;
	rc = mc_txn_get(t, MC_DB_CONSENSUS, "lock", 4, &v, &vn, err);
	if (rc < 0)
		return -1;
	s->locked = rc == 0 && vn >= 16 + MC_HASH_LEN;
	if (s->locked) {
		s->lock_height = mc_from_be64(v);
		memcpy(s->lock_hash, (const uint8_t *)v + 16, MC_HASH_LEN);
	}
	return 0;
}

static struct seen seen(size_t i, uint64_t at)
{
	struct seen s;
	struct mc_err err = { 0 };

	memset(&s, 0, sizeof(s));
	s.at = at;
	cr_assert_eq(mc_store_read(cl.s[i], seen_txn, &s, &err), 0, "%s", err.msg);
	return s;
}

typedef bool (*cond_fn)(size_t i, const void *arg);

/* Waits until cond holds for every node in [lo, N): false after WAIT_S. */
static bool wait_all(size_t lo, cond_fn cond, const void *arg)
{
	for (int tick = 0; tick < WAIT_S * 20; tick++) {
		bool all = true;

		for (size_t i = lo; i < N && all; i++)
			all = cond(i, arg);
		if (all)
			return true;
		usleep(50000);
	}
	return false;
}

static bool all_up(size_t i, const void *arg)
{
	struct mc_engine_health h;

	(void)arg;
	mc_engine_health(atomic_load(&cl.e[i]), &h);
	return h.up == N;
}

static bool at_height(size_t i, const void *arg)
{
	return seen(i, 0).height >= *(const uint64_t *)arg;
}

static bool locked_at(size_t i, const void *arg)
{
	struct seen s = seen(i, 0);

	return s.locked && s.lock_height == *(const uint64_t *)arg;
}

static bool in_view(size_t i, const void *arg)
{
	return seen(i, 0).view >= *(const uint64_t *)arg;
}

/* A tx for a block: the admin enrolls a new identity. */
/* The body of an enrolment of a new clinician named who, into body. */
static void enroll_body(const char *who, struct mc_buf *body)
{
	struct mc_enroll en = { .roles = MC_ROLE_CLINICIAN };
	struct mc_key *k;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	memcpy(en.pk, k->pk, MC_PK_LEN);
	en.name = (const uint8_t *)who;
	en.name_len = strlen(who);
	en.org = (const uint8_t *)"Org";
	en.org_len = 3;
	mc_buf_init(body);
	mc_enroll_encode(&en, body);
	mc_key_free(k);
}

static void submit(size_t to, const char *who)
{
	struct mc_buf body, tx, bundle;
	struct mc_txin in;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };

	enroll_body(who, &body);
	make_tx(cl.s[to], fx.admin, MC_TX_IDENTITY_ENROLL, &body, &tx, &in);
	mc_buf_init(&bundle);
	mc_txbundle_encode(&in, 1, &bundle);
	mc_buf_init(&r.body);
	mc_engine_on_txs(atomic_load(&cl.e[to]), fx.admin->pk, bundle.data, bundle.len, 0, &r);
	cr_assert(r.status == 200 || r.status == 202, "tx refused: HTTP %u: %.*s", r.status, (int)r.body.len,
		  (const char *)r.body.data);
	mc_buf_release(&r.body);
	mc_buf_release(&bundle);
	mc_buf_release(&tx);
	mc_buf_release(&body);
}

/* The leader falls silent, and the clock runs past the leader timeout. */
static void silence_leader(void)
{
	atomic_store(&cl.link[0], SILENT);
	atomic_fetch_add(&skew, TIMEOUT_MS + 1000);
}

TestSuite(engine, .init = cluster_setup, .fini = cluster_teardown, .timeout = 180);

/* (a) The leader goes silent: the others move to the next view under a new
 * leader, which commits the VIEW_CHANGE block and then a tx's block. */
Test(engine, view_change_after_silent_leader)
{
	uint64_t h0, want;
	struct seen s;
	size_t lead = N;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	cr_assert_eq(h0, N - 1);
	cr_assert_eq(memcmp(seen(1, 0).leader, cl.k[0]->pk, MC_PK_LEN), 0);
	submit(0, "Dr A");
	want = h0 + 1;
	cr_assert(wait_all(0, at_height, &want), "the first leader committed nothing");

	silence_leader();
	want = h0 + 2;
	cr_assert(wait_all(1, at_height, &want), "no view change committed after the leader went silent");
	s = seen(1, want);
	cr_assert(s.found);
	cr_assert_geq(s.view, 1, "the view did not move");
	cr_assert_neq(memcmp(s.leader, cl.k[0]->pk, MC_PK_LEN), 0, "the silent node still leads");
	for (size_t i = 1; i < N; i++)
		if (memcmp(s.leader, cl.k[i]->pk, MC_PK_LEN) == 0)
			lead = i;
	cr_assert_lt(lead, N);
	cr_assert_eq(memcmp(s.h.proposer, s.leader, MC_PK_LEN), 0, "the VIEW_CHANGE block is not the new leader's");
	for (size_t i = 2; i < N; i++) {
		struct seen o = seen(i, want);

		cr_assert(o.found);
		cr_assert_eq(o.view, s.view);
		cr_assert_eq(memcmp(o.leader, s.leader, MC_PK_LEN), 0, "the nodes disagree on the leader");
	}

	/* the new leader goes on making blocks */
	submit(lead, "Dr B");
	want = h0 + 3;
	cr_assert(wait_all(1, at_height, &want), "the new leader committed no block of its own");
	s = seen(1, want);
	cr_assert_eq(memcmp(s.h.proposer, cl.k[lead]->pk, MC_PK_LEN), 0);
	cr_assert_eq(s.h.view, seen(1, 0).view);
}

/* (b) A block that got a quorum of votes (every other validator locked on
 * it) but that its leader never committed: after the view change, that
 * block is the one committed at its height, and the VIEW_CHANGE after it. */
Test(engine, locked_block_is_finished_after_view_change)
{
	uint64_t h0, want;
	uint8_t hash[MC_HASH_LEN];
	struct seen s;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	atomic_store(&cl.link[0], VOTES_LOST);
	submit(0, "Dr L");
	want = h0 + 1;
	cr_assert(wait_all(1, locked_at, &want), "the validators never locked the leader's block");
	s = seen(1, 0);
	memcpy(hash, s.lock_hash, MC_HASH_LEN);
	for (size_t i = 2; i < N; i++)
		cr_assert_eq(memcmp(seen(i, 0).lock_hash, hash, MC_HASH_LEN), 0, "locked on different blocks");
	cr_assert_eq(seen(0, 0).height, h0, "the leader committed without the votes");

	silence_leader();
	want = 1;
	cr_assert(wait_all(1, in_view, &want), "no view change committed after the leader went silent");
	for (size_t i = 1; i < N; i++) {
		uint8_t got[MC_HASH_LEN];

		s = seen(i, h0 + 1);
		cr_assert(s.found);
		mc_block_hash(&s.h, got);
		cr_assert_eq(memcmp(got, hash, MC_HASH_LEN), 0, "node %zu committed another block than the locked one",
			     i);
		cr_assert_eq(memcmp(s.h.proposer, cl.k[0]->pk, MC_PK_LEN), 0);
		s = seen(i, h0 + 2);
		cr_assert(s.found);
		cr_assert_geq(s.view, 1, "the view did not move");
		cr_assert_eq(memcmp(s.h.proposer, s.leader, MC_PK_LEN), 0);
	}
}

/* A block interval longer than the test waits (WAIT_S), on a clock that
 * never jumps. */
static void cluster_setup_slow_interval(void)
{
	block_ms = 60000;
	cluster_setup();
}

TestSuite(engine_ready, .init = cluster_setup_slow_interval, .fini = cluster_teardown, .timeout = 180);

/* (c) The leader proposes as soon as no round of its own is in flight:
 * a tx sent right after a block is committed at once, not block_interval_ms
 * after that block. */
Test(engine_ready, proposes_when_no_round_is_in_flight)
{
	uint64_t h0, want;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	submit(0, "Dr R");
	want = h0 + 1;
	cr_assert(wait_all(0, at_height, &want), "the first tx was not committed");
	submit(0, "Dr S");
	want = h0 + 2;
	cr_assert(wait_all(0, at_height, &want), "the next tx waited for block_interval_ms after the last block");
}

/* ---- the signature cache -------------------------------------------------- */

struct build1_ctx {
	const struct mc_txin *in;
	uint8_t status;
	struct mc_header h;
};

/* Node 0's block of one tx, built on another node's store without checking
 * the tx's signature (mc_block_build trusts the pool it is given). */
static int build1_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct build1_ctx *c = vctx;

	c->status = MC_TXIN_PENDING;
	cr_assert_eq(mc_block_build(t, cl.k[0]->pk, c->in, 1, &c->status, 1, test_now(NULL), blk_refused, c, &c->h,
				    err),
		     0, "%s", err->msg);
	return -1;
}

/* Hands txs to node i as a client would; the HTTP status, the answer in msg. */
static unsigned send_txs(size_t i, const struct mc_txin *in, char *msg, size_t n)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_buf bundle;
	unsigned st;

	mc_buf_init(&bundle);
	mc_txbundle_encode(in, 1, &bundle);
	mc_buf_init(&r.body);
	mc_engine_on_txs(atomic_load(&cl.e[i]), fx.admin->pk, bundle.data, bundle.len, 0, &r);
	snprintf(msg, n, "%.*s", (int)r.body.len, (const char *)r.body.data);
	st = r.status;
	mc_buf_release(&r.body);
	mc_buf_release(&bundle);
	return st;
}

/* (c) A tx whose good copy node 1 verified (and cached) at receipt, then
 * the same tx with one byte of its signature flipped: refused at receipt,
 * and a proposal from the leader holding it is refused too (its signature
 * is verified, not taken from the cache), with no lock taken. */
Test(engine, altered_signature_refused_after_good_copy_cached)
{
	struct mc_enroll en = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr S", .name_len = 4 };
	struct mc_key *k;
	struct mc_buf body, tx, prop;
	struct mc_txin in;
	struct mc_err err = { 0 };
	struct mc_cert cert;
	struct build1_ctx bc;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	uint8_t hash[MC_HASH_LEN];
	uint64_t h0;
	char msg[512];

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(1, 0).height;
	atomic_store(&cl.link[0], SILENT);   /* the leader takes nothing: the height stays */
	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	memcpy(en.pk, k->pk, MC_PK_LEN);
	mc_buf_init(&body);
	mc_enroll_encode(&en, &body);
	make_tx(cl.s[1], fx.admin, MC_TX_IDENTITY_ENROLL, &body, &tx, &in);
	send_txs(1, &in, msg, sizeof(msg));   /* verified and cached (the forward fails) */
	tx.data[in.tx_len - 4 - MC_SIG_LEN] ^= 0x01;   /* the signature's first byte (no attachment) */
	cr_assert_eq(send_txs(1, &in, msg, sizeof(msg)), 400, "the altered tx was taken: %s", msg);
	cr_assert(strstr(msg, "bad signature"), "%s", msg);

	bc.in = &in;
	cr_assert_eq(mc_store_write(cl.s[1], build1_txn, &bc, &err), -1);
	cr_assert_eq(bc.status, MC_TXIN_IN);
	mc_block_hash(&bc.h, hash);
	memset(&cert, 0, sizeof(cert));
	mc_vote_sign(hash, cl.k[0]->sk, cl.k[0]->pk, &cert.votes[0]);   /* signed by its proposer */
	cert.count = 1;
	mc_buf_init(&prop);
	mc_bundle_encode(&bc.h, &cert, &in, 1, &prop);
	mc_buf_init(&r.body);
	mc_engine_on_propose(atomic_load(&cl.e[1]), cl.k[0]->pk, prop.data, prop.len, &r);
	cr_assert_eq(r.status, 422, "a proposal holding the altered tx: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	cr_assert(!seen(1, 0).locked || seen(1, 0).lock_height <= h0, "node 1 locked on it");
	cr_assert_eq(seen(1, 0).height, h0);
	mc_buf_release(&r.body);
	mc_buf_release(&prop);
	mc_buf_release(&tx);
	mc_buf_release(&body);
	mc_key_free(k);
}

/* (c) A proposal that fails a check needing no tx (here: the leader's
 * block naming another validator set) costs no signature check: it is
 * refused as before (422), and the never-seen tx it carries was not verified, so it is not
 * in node 1's cache. Before the precheck, all its txs were verified on the
 * pool first: a validator could make another spend a block's worth of
 * signature checks with a block refused at its header. */
Test(engine, a_block_refused_at_its_header_costs_no_signature_check)
{
	struct mc_enroll en = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr T", .name_len = 4 };
	struct mc_key *k;
	struct mc_buf body, txb, prop;
	struct mc_txin in;
	struct mc_tx tx;
	struct mc_err err = { 0 };
	struct mc_cert cert;
	struct build1_ctx bc;
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_engine *e1;
	uint8_t hash[MC_HASH_LEN], txhash[MC_HASH_LEN];
	char msg[512];

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	atomic_store(&cl.link[0], SILENT);
	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	memcpy(en.pk, k->pk, MC_PK_LEN);
	mc_buf_init(&body);
	mc_enroll_encode(&en, &body);
	make_tx(cl.s[1], fx.admin, MC_TX_IDENTITY_ENROLL, &body, &txb, &in);
	cr_assert_eq(mc_tx_decode(in.tx, in.tx_len, &tx, &err), 0, "%s", err.msg);
	mc_tx_hash(&tx, txhash);

	bc.in = &in;
	cr_assert_eq(mc_store_write(cl.s[1], build1_txn, &bc, &err), -1);
	bc.h.valset_hash[0] ^= 0x01;
	mc_block_hash(&bc.h, hash);
	memset(&cert, 0, sizeof(cert));
	mc_vote_sign(hash, cl.k[0]->sk, cl.k[0]->pk, &cert.votes[0]);
	cert.count = 1;
	mc_buf_init(&prop);
	mc_bundle_encode(&bc.h, &cert, &in, 1, &prop);
	mc_buf_init(&r.body);
	e1 = atomic_load(&cl.e[1]);
	mc_engine_on_propose(e1, cl.k[0]->pk, prop.data, prop.len, &r);
	cr_assert_eq(r.status, 422, "a proposal naming another set: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	snprintf(msg, sizeof(msg), "%.*s", (int)r.body.len, (const char *)r.body.data);
	cr_assert(strstr(msg, "another validator set"), "%s", msg);
	cr_assert(!mc_sigcache_has(&e1->sigs, bc.h.chain_id, txhash),
		  "the tx of a block refused at its header was verified (and cached)");
	mc_buf_release(&r.body);
	mc_buf_release(&prop);
	mc_buf_release(&txb);
	mc_buf_release(&body);
	mc_key_free(k);
}

/* A catch-up batch whose first block this node already stored (a commit
 * landed during the fetch) is not refused: the stored block is skipped when
 * it is the same block, and the rest applied. Node 3 misses three blocks;
 * every fetch it makes then starts one block early. Before, such a batch
 * was refused whole (its first block does not follow the head) and the
 * peer benched for CLAIM_RETRY_MS: node 3 never caught up. */
Test(engine, a_catch_up_that_overlaps_the_head_applies_what_follows)
{
	uint64_t want;
	int tick;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	atomic_store(&cl.link[3], SILENT);
	for (int b = 0; b < 3; b++) {
		char who[16];

		snprintf(who, sizeof(who), "Dr O%d", b);
		want = seen(0, 0).height + 1;
		submit(0, who);
		for (tick = 0; tick < WAIT_S * 20 && seen(0, 0).height < want; tick++)
			usleep(50000);
		cr_assert_geq(seen(0, 0).height, want, "the three others committed nothing");
	}
	cr_assert_leq(seen(3, 0).height + 3, want, "node 3 took blocks while silent");
	atomic_store(&cl.overlap, 3);
	atomic_store(&cl.link[3], LIVE);
	for (tick = 0; tick < 10 * 20 && seen(3, 0).height < want; tick++)
		usleep(50000);
	cr_assert_geq(seen(3, 0).height, want, "node 3 did not catch up from batches that overlap its head (at %llu of %llu)",
		      (unsigned long long)seen(3, 0).height, (unsigned long long)want);
	atomic_store(&cl.overlap, -1);
}

/* ---- a sole validator -------------------------------------------------------- */

/* One block a height, on every path: a lock is never replaced by another
 * block at its height, in the same view or another (decisions.md), so no
 * path of this node's (a follower's vote, the leader's own proposal, a
 * locked block a new leader finishes) can sign two blocks at one height. */
Test(engine, a_lock_is_never_replaced_by_another_block_at_its_height)
{
	struct mc_engine *e = atomic_load(&cl.e[1]);
	struct mc_err err = { 0 };
	uint8_t a[MC_HASH_LEN], b[MC_HASH_LEN];
	static const uint8_t blk_a[] = "block a", blk_b[] = "block b";
	struct seen s;

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	/* far above the chain: the engine never looks at it */
	cr_assert_eq(eng_lock_put(e, 1000, 0, a, blk_a, sizeof(blk_a), &err), 0, "%s", err.msg);
	cr_assert_eq(eng_lock_put(e, 1000, 0, a, blk_a, sizeof(blk_a), &err), 0, "the same block again: %s", err.msg);
	cr_assert_neq(eng_lock_put(e, 1000, 0, b, blk_b, sizeof(blk_b), &err), 0, "another block, same view");
	cr_assert_eq(err.code, EX_TEMPFAIL);
	cr_assert(strstr(err.msg, "another block at height 1000"), "%s", err.msg);
	cr_assert_neq(eng_lock_put(e, 1000, 5, b, blk_b, sizeof(blk_b), &err), 0, "another block, a later view");
	s = seen(1, 0);
	cr_assert(s.locked && s.lock_height == 1000 && memcmp(s.lock_hash, a, MC_HASH_LEN) == 0,
		  "the lock was replaced");
	cr_assert_eq(eng_lock_put(e, 1001, 5, b, blk_b, sizeof(blk_b), &err), 0, "the next height: %s", err.msg);
}

/* A block at height h0 + 1 of node 0's (the view's leader), holding one
 * enrolment of name, signed by its proposer alone (a proposal), in out. */
static void proposal_of(const char *name, struct mc_buf *out, uint8_t hash[MC_HASH_LEN])
{
	struct mc_buf body, tx;
	struct mc_txin in;
	struct blk_ctx c = { &in, 0, { 0 }, NULL };
	struct mc_err err = { 0 };
	struct mc_cert cert;

	enroll_body(name, &body);
	make_tx(cl.s[0], fx.admin, MC_TX_IDENTITY_ENROLL, &body, &tx, &in);
	mc_store_write(cl.s[0], blk_build_txn, &c, &err);   /* aborted: the header only */
	cr_assert_eq(c.status, MC_TXIN_IN);
	mc_block_hash(&c.h, hash);
	memset(&cert, 0, sizeof(cert));
	mc_vote_sign(hash, cl.k[0]->sk, cl.k[0]->pk, &cert.votes[0]);
	cert.count = 1;
	mc_buf_init(out);
	mc_bundle_encode(&c.h, &cert, &in, 1, out);
	mc_buf_release(&tx);
	mc_buf_release(&body);
}

/* Hands node 1 a VIEW_CHANGE to view 1 under itself, voted by nodes 1..3:
 * the i-th of them in key order claiming lock[i] (locked height, view and
 * hash; zeros: none), with relay as the locked block; the answer in r (its
 * body initialised here). */
static void hand_over(const struct mc_vc_vote lock[N - 1], const struct mc_buf *relay, struct mc_reply *r)
{
	struct seq_ctx head = { cl.k[0]->pk, 0, { 0 } };
	struct mc_view_change vc;
	struct mc_buf body, msg;
	struct mc_err err = { 0 };
	size_t voter[N - 1] = { 1, 2, 3 };

	cr_assert_eq(mc_store_read(cl.s[0], seq_txn, &head, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < N - 1; i++)   /* votes in key order */
		for (size_t j = i + 1; j < N - 1; j++)
			if (memcmp(cl.k[voter[j]]->pk, cl.k[voter[i]]->pk, MC_PK_LEN) < 0) {
				size_t t = voter[i];

				voter[i] = voter[j];
				voter[j] = t;
			}
	memset(&vc, 0, sizeof(vc));
	vc.view = 1;
	memcpy(vc.leader, cl.k[1]->pk, MC_PK_LEN);
	for (size_t i = 0; i < N - 1; i++) {
		struct mc_vc_vote *v = &vc.votes[vc.count++];

		*v = lock[i];
		mc_vc_vote_sign(head.head.chain_id, 1, cl.k[1]->pk, cl.k[voter[i]]->sk, cl.k[voter[i]]->pk, v);
	}
	mc_buf_init(&body);
	mc_buf_init(&msg);
	mc_view_change_encode(&vc, &body);
	mc_put_bytes(&msg, body.data, body.len);
	mc_put_bytes(&msg, relay->data, relay->len);
	mc_buf_init(&r->body);
	mc_engine_on_view_change(atomic_load(&cl.e[1]), cl.k[voter[N - 2]]->pk, msg.data, msg.len, r);
	mc_buf_release(&body);
	mc_buf_release(&msg);
}

/* An equivocating leader's two blocks at one height, each locked by one
 * validator in the same view: a view change reporting both may hand the
 * new leader either one (only one of two can have been certified, and the
 * lockers of a certified one refuse the other). The new leader took only
 * the first in key order before, and refused the change when given the
 * other: a change the asker could not get past. Here it takes the second,
 * finishes it, and leads. */
Test(engine, a_view_change_may_finish_either_of_two_blocks_locked_in_one_view)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_vc_vote lock[N - 1];
	struct mc_buf blk[2];
	uint8_t hash[2][MC_HASH_LEN], got[MC_HASH_LEN];
	uint64_t h0, want;
	struct seen s;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	proposal_of("Dr Twin A", &blk[0], hash[0]);
	proposal_of("Dr Twin B", &blk[1], hash[1]);
	cr_assert_neq(memcmp(hash[0], hash[1], MC_HASH_LEN), 0);
	/* nodes 1..3 vote to move to view 1 under node 1, in key order: the
	 * first locked on block 0, the second on block 1, the third on none */
	memset(lock, 0, sizeof(lock));
	for (size_t i = 0; i < 2; i++) {
		lock[i].locked_height = h0 + 1;
		memcpy(lock[i].locked_hash, hash[i], MC_HASH_LEN);
	}
	hand_over(lock, &blk[1], &r);   /* the second in key order */
	cr_assert_eq(r.status, 202, "the new leader refused: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	mc_buf_release(&r.body);
	want = h0 + 2;
	cr_assert(wait_all(0, at_height, &want), "the new leader did not finish the block and lead");
	s = seen(1, h0 + 1);
	cr_assert(s.found);
	mc_block_hash(&s.h, got);
	cr_assert_eq(memcmp(got, hash[1], MC_HASH_LEN), 0, "another block than the one handed over");
	cr_assert_eq(seen(1, 0).view, 1);
	for (int i = 0; i < 2; i++)
		mc_buf_release(&blk[i]);
}

/* A vote's signature covers only the lock it claims: a view change whose
 * locked block does not back the claim (here a block of view 0 handed as
 * the lock of view 1000, which no validator can vote for) is refused; the
 * new leader took it before and tried to finish that block for ever. */
Test(engine, a_view_change_whose_block_does_not_back_its_lock_is_refused)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_vc_vote lock[N - 1];
	struct mc_buf blk;
	uint8_t hash[MC_HASH_LEN];

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	proposal_of("Dr Forged", &blk, hash);
	memset(lock, 0, sizeof(lock));
	lock[0].locked_height = seen(1, 0).height + 1;   /* the liar */
	lock[0].locked_view = 1000;
	memcpy(lock[0].locked_hash, hash, MC_HASH_LEN);
	hand_over(lock, &blk, &r);
	cr_assert_eq(r.status, 422, "the new leader took it: HTTP %u", r.status);
	cr_assert(strstr((const char *)r.body.data, "does not back"), "%.*s", (int)r.body.len,
		  (const char *)r.body.data);
	mc_buf_release(&r.body);
	mc_buf_release(&blk);
}

/* The leader votes for a change it is asked for without evidence (the
 * others are a quorum without it) and goes on proposing: the vote of the
 * live leader, which any validator can get, stops nothing (its proposals
 * are taken by the validators that did not vote). */
Test(engine, a_leader_that_voted_for_a_change_goes_on_proposing)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	char lhex[2 * MC_PK_LEN + 1];
	uint64_t h0, want;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	mc_hex(cl.k[3]->pk, MC_PK_LEN, lhex);
	mc_buf_init(&r.body);
	mc_engine_on_view_vote(atomic_load(&cl.e[0]), cl.k[3]->pk, "1", lhex, NULL, NULL, 0, &r);
	cr_assert_eq(r.status, 200, "the leader did not vote: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	mc_buf_release(&r.body);
	submit(1, "Dr Still");
	want = h0 + 1;
	cr_assert(wait_all(0, at_height, &want), "the leader stopped proposing");
	cr_assert_eq(seen(0, 0).view, 0);
}

/* A change asked with one validator down: the asker and one other lost
 * the leader (a blip), and the live leader's vote makes the quorum. (Had
 * the leader refused, 2 of 4 would have voted, and the two that voted
 * would refuse the old view's blocks for a while: with one down, a
 * halt.) */
Test(engine, a_change_with_one_validator_down_completes_with_the_leaders_vote)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	char lhex[2 * MC_PK_LEN + 1];
	uint64_t h0;
	bool moved = false;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	atomic_store(&cl.link[3], SILENT);                 /* one validator down */
	atomic_store(&cl.deaf0, 1 << 1 | 1 << 2);          /* 1 and 2 lose the leader */
	atomic_fetch_add(&skew, TIMEOUT_MS / 2 + 1000);
	mc_hex(cl.k[1]->pk, MC_PK_LEN, lhex);
	mc_buf_init(&r.body);
	mc_engine_on_promote(atomic_load(&cl.e[1]), lhex, NULL, 0, &r);
	cr_assert_eq(r.status, 202, "the change did not complete: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	mc_buf_release(&r.body);
	atomic_store(&cl.deaf0, 0);
	for (int tick = 0; tick < WAIT_S * 20 && !moved; tick++) {
		moved = true;
		for (size_t i = 0; i < 3; i++)
			moved = moved && seen(i, 0).view >= 1 && seen(i, 0).height > h0;
		if (!moved)
			usleep(50000);
	}
	cr_assert(moved, "nodes 0..2 did not move to view 1");
	cr_assert_eq(memcmp(seen(0, 0).leader, cl.k[1]->pk, MC_PK_LEN), 0, "node 1 does not lead");
}

/* A vote is given again (the same view and leader) only within its window:
 * after it, the validator takes the old view's blocks again, and a vote
 * given then would miss the locks it takes next. The asker is told the
 * view voted for, to ask above it. */
Test(engine, a_vote_is_not_given_again_after_its_window)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	struct mc_engine *e2;
	char lhex[2 * MC_PK_LEN + 1];

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	e2 = atomic_load(&cl.e[2]);
	atomic_store(&cl.link[0], SILENT);
	atomic_fetch_add(&skew, TIMEOUT_MS / 2 + 1000);
	mc_hex(cl.k[1]->pk, MC_PK_LEN, lhex);
	mc_buf_init(&r.body);
	mc_engine_on_view_vote(e2, cl.k[1]->pk, "1", lhex, "timeout", NULL, 0, &r);
	cr_assert_eq(r.status, 200, "no first vote: HTTP %u", r.status);
	mc_buf_reset(&r.body);
	mc_engine_on_view_vote(e2, cl.k[1]->pk, "1", lhex, "timeout", NULL, 0, &r);
	cr_assert_eq(r.status, 200, "the same vote within its window: HTTP %u", r.status);
	/* the window has passed */
	pthread_mutex_lock(&e2->mu);
	e2->vc_voted_ms -= eng_vc_window_ms(e2) + 1;
	pthread_mutex_unlock(&e2->mu);
	mc_buf_reset(&r.body);
	mc_engine_on_view_vote(e2, cl.k[1]->pk, "1", lhex, "timeout", NULL, 0, &r);
	cr_assert_eq(r.status, 409, "the same vote after its window: HTTP %u", r.status);
	cr_assert(strstr((const char *)r.body.data, "\"voted\":1"), "%.*s", (int)r.body.len,
		  (const char *)r.body.data);
	mc_buf_release(&r.body);
	atomic_store(&cl.link[0], LIVE);
}

/* A validator that voted to move to the next view locks no block of the
 * old one (for a leader timeout): its vote carried its lock, and a lock
 * taken after it would be missing from the votes the new leader gathered.
 * With twins proposing to different validators that left two validators
 * locked on two blocks at one height and the new leader's block refused by
 * both: no quorum for any block, ever (seen in cluster_adversary_twins).
 * Here node 2 votes to move while the leader is cut off; the leader comes
 * back and commits a block with the other two, which node 2 did not lock. */
Test(engine, a_validator_that_voted_to_leave_the_view_locks_none_of_its_blocks)
{
	struct mc_reply r = { 0, NULL, { NULL, 0, 0, false } };
	char lhex[2 * MC_PK_LEN + 1];
	uint64_t h0, want;
	struct seen s;

	cr_assert(wait_all(0, all_up, NULL), "the nodes never saw each other");
	h0 = seen(0, 0).height;
	/* node 2 has not heard from the leader for half its timeout */
	atomic_store(&cl.link[0], SILENT);
	atomic_fetch_add(&skew, TIMEOUT_MS / 2 + 1000);
	mc_hex(cl.k[1]->pk, MC_PK_LEN, lhex);
	mc_buf_init(&r.body);
	mc_engine_on_view_vote(atomic_load(&cl.e[2]), cl.k[1]->pk, "1", lhex, "timeout", NULL, 0, &r);
	cr_assert_eq(r.status, 200, "node 2 did not vote: HTTP %u: %.*s", r.status, (int)r.body.len,
		     (const char *)r.body.data);
	mc_buf_release(&r.body);
	atomic_store(&cl.link[0], LIVE);

	submit(0, "Dr V");
	want = h0 + 1;
	cr_assert(wait_all(0, at_height, &want), "the leader and the two others committed nothing");
	s = seen(2, 0);
	cr_assert(!s.locked || s.lock_height < want, "node 2 locked a block of the view it voted to leave");
}


/* Node 0 alone: the genesis set, no one added; its engine only. */
static void sole_setup(void)
{
	fx_setup();
	cluster_reset();
	start(0);
}

static void sole_teardown(void)
{
	atomic_store(&cl.closing, true);
	while (atomic_load(&cl.inflight))
		usleep(10000);
	mc_engine_stop(atomic_exchange(&cl.e[0], NULL));
	fx_teardown();
}

/* Every suite here has the same timeout: Criterion's parallel runner leaks
 * a timer (48 bytes, reported by the sanitizer build) when suites of one
 * binary have different ones. */
TestSuite(engine_sole, .init = sole_setup, .fini = sole_teardown, .timeout = 180);

/* (c) A sole validator commits its blocks as it builds them: each block is
 * stored with its certificate (its own vote), and no vote lock is ever
 * written, since no vote leaves it (decisions.md). */
Test(engine_sole, commits_as_it_builds_without_a_lock)
{
	uint64_t h0 = seen(0, 0).height;
	struct seen s;
	int tick;

	/* one tx at a time: the next one's sequence number is read from the
	 * store, so it is made once the first is committed */
	submit(0, "Dr U");
	for (tick = 0; tick < WAIT_S * 20 && seen(0, 0).height < h0 + 1; tick++)
		usleep(50000);
	submit(0, "Dr V");
	for (tick = 0; tick < WAIT_S * 20 && seen(0, 0).height < h0 + 2; tick++)
		usleep(50000);
	s = seen(0, h0 + 2);
	cr_assert(s.found, "the sole validator committed nothing");
	cr_assert(!s.locked, "a sole validator stored a vote lock (at height %llu)", (unsigned long long)s.lock_height);
}

/* While set, every fdatasync in this process fails with EIO (a disk that
 * stops taking writes): LMDB's commit syncs its data pages with fdatasync
 * before it writes the meta page, so a commit then fails cleanly. The
 * executable's definition is the one liblmdb binds to. */
static atomic_bool fail_syncs;
static atomic_int failed_syncs;

int fdatasync(int fd)
{
	if (atomic_load(&fail_syncs)) {
		atomic_fetch_add(&failed_syncs, 1);
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}

/* A sole validator whose commit fails (EIO at its sync) neither drops the
 * block's txs nor treats the block as committed, and logs the failure
 * repeated every round once: once the disk takes writes again the same tx
 * is committed (the review of the sole path:
 * before, the txs left the pool and the unstored block was announced to
 * the peers, so a different block followed at that height). */
Test(engine_sole, a_failed_commit_keeps_its_txs_and_announces_nothing)
{
	uint64_t h0 = seen(0, 0).height;
	struct mc_engine_health hl;
	int tick;

	char logf[] = "/tmp/mc-engine-log.XXXXXX", line[1024];
	int fd = mkstemp(logf), saved = dup(2), logged = 0;
	FILE *f;

	cr_assert(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	atomic_store(&fail_syncs, true);
	submit(0, "Dr W");
	/* many rounds, each failing at its commit */
	for (tick = 0; tick < WAIT_S * 20 && atomic_load(&failed_syncs) < 10; tick++)
		usleep(50000);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_geq(atomic_load(&failed_syncs), 10, "no commit was tried while syncs failed");
	/* the same failure every round is logged once, not once a round */
	cr_assert(f = fdopen(fd, "r"));
	rewind(f);
	while (fgets(line, sizeof(line), f))
		logged += strstr(line, "cannot make a block") != NULL;
	fclose(f);
	unlink(logf);
	cr_assert_eq(logged, 1, "a failure repeated each round was logged %d times", logged);
	mc_engine_health(atomic_load(&cl.e[0]), &hl);
	atomic_store(&fail_syncs, false);
	cr_assert_eq(seen(0, 0).height, h0, "a block was stored while every sync failed");
	cr_assert_eq(hl.pending, 1, "the tx of a block whose commit failed left the pool (%zu pending)", hl.pending);
	cr_assert_eq(atomic_load(&cl.e[0])->commit_height, 0, "a block whose commit failed was announced (height %llu)",
		     (unsigned long long)atomic_load(&cl.e[0])->commit_height);
	for (tick = 0; tick < WAIT_S * 20 && seen(0, 0).height < h0 + 1; tick++)
		usleep(50000);
	cr_assert_eq(seen(0, 0).height, h0 + 1, "the tx was not committed once syncs worked again");
}

/* ---- a store older than the identity index ------------------------------------ */

static const uint8_t idx_marker_key[1] = { 0 };   /* identity.c: the index's "built" row */

static int unmark_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return mc_txn_del(t, MC_DB_IDINDEX, idx_marker_key, sizeof(idx_marker_key), err) < 0 ? -1 : 0;
}

static int marked_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_IDINDEX, idx_marker_key, sizeof(idx_marker_key), &v, &vn, err);

	*(bool *)ctx = rc == 0;
	return rc < 0 ? -1 : 0;
}

static bool index_marked(void)
{
	struct mc_err err = { 0 };
	bool marked = false;

	cr_assert_eq(mc_store_read(fx.s, marked_txn, &marked, &err), 0, "%s", err.msg);
	return marked;
}

/* Node 0 alone on a store whose identity index is not built (a store of a
 * build older than the index: its marker row gone). */
static void unindexed_setup(void)
{
	struct mc_err err = { 0 };

	fx_setup();
	cr_assert_eq(mc_store_write(fx.s, unmark_txn, NULL, &err), 0, "%s", err.msg);
	cr_assert(!index_marked());
	cluster_reset();
}

TestSuite(engine_unindexed, .init = unindexed_setup, .fini = sole_teardown, .timeout = 180);

/* The engine builds an older store's identity index, committed, before its
 * first round: its rounds build and check proposals in txns aborted by
 * design, where the one-time build would run again on every round (5 s at
 * a million identities, past the vote deadline: the review of s9-index). */
Test(engine_unindexed, builds_the_identity_index_before_its_first_round)
{
	start(0);
	cr_assert(index_marked(), "the engine started on a store whose identity index is not built");
}
