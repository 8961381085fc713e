/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "consent.h"
#include "i18n.h"
#include "merkle.h"
#include "orgrot.h"
#include "records.h"
#include "spool.h"
#include "store.h"
#include "util.h"
#include "valset.h"
#include "verify.h"

#define SCRATCH_BLOCKS_PER_TXN 512 /* blocks loaded at a time (a chunk) */
/* A chunk is replayed in scratch transactions of at most this much work
 * (or one block), so that the transaction's dirty pages, in memory until it
 * commits, do not grow with the chain's tables. A block weighs 1 + its txs
 * + a unit per TXN_UNIT_BYTES of its txs' encodings: a tx writes rows in
 * proportion to its size (a RECORD_PUT one per entry), and a chain of
 * large txs (an import's) must not replay in one transaction. */
#define TXN_MAX_WORK 256
#define TXN_UNIT_BYTES 1024
/* Long scans drop the pages they have read from the maps (mc_store_trim)
 * once the process's file-backed resident set passes TRIM_ABOVE, so that
 * memory stays flat in the chain's length. The kernel maps up to 16 cached
 * pages around each one read (fault-around), so lookups of random keys map
 * far more than they read: the size is looked at after every few. */
#define TRIM_ABOVE (24ul << 20)
#define TRIM_BYTES (256u << 10) /* the table comparison: every so many bytes */
#define TRIM_WORK 16    /* the replay: after a block, once blocks + txs reach it */
#define TRIM_REFS 32    /* the payload check: every so many records */
#define REFS_READ 4096  /* refs read back from the scratch file at a time */
/* The replay's random-keyed tables that no rule reads back (the tx index,
 * by tx hash; the subject index, by pseudonym and record id): inserted at
 * random into the scratch map, they outgrew what stays mapped on long
 * chains, and each block's rows faulted cold pages in and wrote them back.
 * Their rows go to a spool instead (store.h, mc_store_divert), sorted in
 * chunks of SPOOL_MEM bytes, and are merged against the node's table, key
 * for key, at the end. */
static const enum mc_db spooled[] = { MC_DB_TXIDX, MC_DB_SUBJECTS };
#define SPOOL_MEM (2u << 20)

struct wrap_ref {
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t org[MC_PK_LEN];
	bool shared;                    /* re-wrapped for another organization by a grant */
	uint8_t hash[MC_HASH_LEN];      /* for shared keys: the committed hash;
					 * for a put's: its entry's ct_hash */
	/* A RECORD_PUT's ref: the version's state as the put wrote it (where,
	 * and its entry's hashes), which is its state at the end when no tx
	 * replayed after it can change a stored version (vstate.states_kept) */
	uint64_t height;
	uint32_t tx_index, entry_index;
	uint64_t ct_size;
	uint8_t wrap_hash[MC_HASH_LEN];
};

struct sigpool;
struct chunk;

struct vstate {
	struct mc_store *real, *scratch;
	struct mc_txn *rt;              /* the long read transaction on the real store */
	struct mc_head head;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN]; /* the set in force at vs->next */
	size_t nval;
	uint8_t valset_hash[MC_HASH_LEN];
	bool legacy_valset;             /* a store older than the nodes and valsets
					 * tables, with no set change since genesis */
	uint64_t next;                  /* next height to replay */
	uint8_t prev[MC_HASH_LEN];
	uint64_t prev_time;
	uint8_t prev_version;           /* block versions never go down */
	/* every tx replayed is of a type that never changes the state of a
	 * stored record version (states_kept_by): the refs' own states are
	 * the end's, and the side walk need not look them up */
	bool states_kept;
	struct wrap_ref *refs;          /* the refs of the scratch transaction */
	size_t nrefs, caprefs;          /* under way; once it commits they go */
	FILE *refs_file;                /* to refs_file, in the scratch directory, */
	uint64_t refs_total;            /* which holds refs_total of them */
	struct chunk *cur;              /* the chunk replay_some replays */
	struct mc_spool *spool[MC_DB__COUNT]; /* the spooled tables' rows */
	struct sigpool *pool;
	struct mc_verify_report *rep;
	struct {                        /* where a scratch transaction started: */
		uint64_t next;          /* it is re-run from here if the scratch */
		uint8_t prev[MC_HASH_LEN]; /* map has to grow */
		uint64_t prev_time;
		uint8_t prev_version;
		struct mc_verify_report rep;
	} ck;
	mc_verify_progress_fn progress;
	void *pctx;
};

/* Records and shared keys to check at the end, in chain order: kept in
 * memory for one scratch transaction, then appended to refs_file, so that
 * memory does not grow with the chain. */
static int add_ref(struct vstate *vs, const uint8_t id[MC_RECORD_ID_LEN], uint32_t version,
		   const uint8_t org[MC_PK_LEN], struct mc_err *err)
{
	if (vs->nrefs == vs->caprefs) {
		size_t cap = vs->caprefs ? vs->caprefs * 2 : 1024;
		void *p = realloc(vs->refs, cap * sizeof(*vs->refs));

		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		vs->refs = p;
		vs->caprefs = cap;
	}
	memset(&vs->refs[vs->nrefs], 0, sizeof(*vs->refs));
	memcpy(vs->refs[vs->nrefs].id, id, MC_RECORD_ID_LEN);
	vs->refs[vs->nrefs].version = version;
	memcpy(vs->refs[vs->nrefs].org, org, MC_PK_LEN);
	vs->refs[vs->nrefs].shared = false;
	vs->nrefs++;
	return 0;
}

/* Both maps' pages dropped if the file-backed resident set has passed
 * TRIM_ABOVE. */
static void trim_maps(struct vstate *vs)
{
	mc_store_trim_above(vs->real, vs->scratch, TRIM_ABOVE);
}

static int refs_io_err(struct mc_err *err)
{
	return mc_err_set(err, EX_IOERR, _("cannot write verify's scratch files: %s"), strerror(errno));
}

/* After the scratch transaction committed: its refs go to the file. */
static int refs_flush(struct vstate *vs, struct mc_err *err)
{
	if (vs->nrefs && fwrite(vs->refs, sizeof(*vs->refs), vs->nrefs, vs->refs_file) != vs->nrefs)
		return refs_io_err(err);
	vs->refs_total += vs->nrefs;
	vs->nrefs = 0;
	return 0;
}

/* A put to a spooled table, in the scratch transaction under way. */
static int spool_sink(void *ctx, enum mc_db db, const void *k, size_t kn, const void *v, size_t vn,
		      struct mc_err *err)
{
	struct vstate *vs = ctx;

	return mc_spool_add(vs->spool[db], k, kn, v, vn, err);
}

/* After the scratch transaction committed (commit) or before it is run
 * again (rollback): the spooled rows it added are kept, or dropped. */
static int spools_commit(struct vstate *vs, bool commit, struct mc_err *err)
{
	for (size_t i = 0; i < MC_ARRAY_LEN(spooled); i++) {
		struct mc_spool *sp = vs->spool[spooled[i]];

		if (!sp)
			continue;
		if (!commit)
			mc_spool_rollback(sp);
		else if (mc_spool_commit(sp, err) != 0)
			return -1;
	}
	return 0;
}

static int bad_block(struct mc_err *err, uint64_t h, const char *why);

/* A grant's shared keys: the KEK it names must be the one stored, and each
 * key is checked (while its record lives) at the end. */
static int check_grant_side(struct vstate *vs, uint64_t h, const struct mc_tx *tx,
			    struct mc_err *err)
{
	struct mc_grant g;
	struct mc_share sh;
	uint8_t key[MC_PK_LEN + 4], hh[MC_HASH_LEN];
	const void *v = NULL;
	size_t vn = 0;
	int rc;

	if (mc_grant_decode(tx->body, tx->body_len, &g, err) != 0)
		return bad_block(err, h, _("malformed CONSENT_GRANT"));
	if (g.share_len == 0)
		return 0;
	if (mc_share_decode(tx->attach, tx->attach_len, &sh, err) != 0)
		return bad_block(err, h, _("malformed share"));
	memcpy(key, sh.org, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, sh.epoch);
	rc = mc_txn_get(vs->rt, MC_DB_KEKS, key, sizeof(key), &v, &vn, err);
	if (rc < 0)
		return -1;
	mc_sha256(v, rc == 0 ? vn : 0, hh);
	if (rc == MC_NOTFOUND || memcmp(hh, sh.kek_hash, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("the shared key-encryption key it names is missing or differs"));
	for (uint32_t i = 0; i < sh.count; i++) {
		const uint8_t *it = sh.items + (size_t)i * MC_SHARE_ITEM_LEN;

		if (add_ref(vs, it, mc_from_be32(it + MC_RECORD_ID_LEN), sh.org, err) != 0)
			return -1;
		vs->refs[vs->nrefs - 1].shared = true;
		memcpy(vs->refs[vs->nrefs - 1].hash, it + MC_RECORD_ID_LEN + 4, MC_HASH_LEN);
	}
	return 0;
}

static int bad_block(struct mc_err *err, uint64_t h, const char *why)
{
	return mc_err_set(err, EX_DATAERR, _("block %llu: %s"), (unsigned long long)h, why);
}

/* What the put of entry e (entry_index of tx tx_index of block h) writes
 * as the version's state (rectx.c, apply_entry): its location and entry. */
static void put_ref_state(struct wrap_ref *ref, uint64_t h, uint32_t tx_index, uint32_t entry_index,
			  const struct mc_entry *e)
{
	ref->height = h;
	ref->tx_index = tx_index;
	ref->entry_index = entry_index;
	ref->ct_size = e->ct_size;
	memcpy(ref->hash, e->ct_hash, MC_HASH_LEN);
	memcpy(ref->wrap_hash, e->wrap_hash, MC_HASH_LEN);
}

/* The types whose rules never change the state of a stored record version
 * (MC_DB_RECORDS): RECORD_PUT adds new versions only (a version that exists
 * is refused), the others do not write the table. RECORD_ERASE marks
 * versions erased; a type not named here (a new one) counts as changing
 * them, so the side walk looks every state up, as it always did.
 * tests/integration/verify_states_kept.sh fails when the table's writers
 * change (a new writer must be weighed here). */
static bool states_kept_by(unsigned type)
{
	switch (type) {
	case MC_TX_IDENTITY_ENROLL:
	case MC_TX_IDENTITY_REVOKE:
	case MC_TX_RECORD_PUT:
	case MC_TX_CONSENT_GRANT:
	case MC_TX_CONSENT_REVOKE:
	case MC_TX_ACCESS:
	case MC_TX_NODE_ADD:
	case MC_TX_NODE_REMOVE:
	case MC_TX_VIEW_CHANGE:
	case MC_TX_ANCHOR_COMMIT:
	case MC_TX_NODE_ROTATE:
	case MC_TX_ORG_ROTATE:
	case MC_TX_IDENTITY_ROTATE:
	case MC_TX_ALERT_ACK:
		return true;
	default:
		return false;
	}
}

/* The sealed KEK a RECORD_PUT names must be the one stored. */
static int check_put_side(struct vstate *vs, uint64_t h, uint32_t tx_index, const struct mc_tx *tx,
			  struct mc_err *err)
{
	struct mc_put put;
	struct mc_rd r;
	uint8_t key[MC_PK_LEN + 4], hh[MC_HASH_LEN];
	const void *v;
	size_t vn;
	int rc;

	if (mc_put_decode(tx->body, tx->body_len, &put, err) != 0)
		return bad_block(err, h, _("malformed RECORD_PUT"));
	memcpy(key, put.org, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, put.epoch);
	rc = mc_txn_get(vs->rt, MC_DB_KEKS, key, sizeof(key), &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return bad_block(err, h, _("the key-encryption key it names is missing"));
	mc_sha256(v, vn, hh);
	if (memcmp(hh, put.kek_hash, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("the stored key-encryption key does not match its hash"));
	mc_rd_init(&r, tx->attach, tx->attach_len);
	for (uint32_t i = 0; i < put.count; i++) {
		struct mc_entry e;

		if (mc_entry_read(&r, &e, err) != 0)
			return bad_block(err, h, _("malformed record entry"));
		if (add_ref(vs, e.id, e.version, put.org, err) != 0)
			return -1;
		put_ref_state(&vs->refs[vs->nrefs - 1], h, tx_index, i, &e);
	}
	return 0;
}

/* The KEKs an ORG_ROTATE resealed must be stored as the rotation committed
 * them (the replay has checked the attachment against the body). */
static int check_rotate_side(struct vstate *vs, uint64_t h, const struct mc_tx *tx,
			     struct mc_err *err)
{
	struct mc_org_rotate r;
	const uint8_t *items;

	if (mc_org_rotate_decode(tx->body, tx->body_len, &r, err) != 0 ||
	    mc_org_rotate_items(tx->attach, tx->attach_len, r.count, &items, err) != 0)
		return bad_block(err, h, _("malformed ORG_ROTATE"));
	for (uint32_t i = 0; i < r.count; i++) {
		const uint8_t *it = items + (size_t)i * MC_ORGROT_ITEM_LEN;
		uint8_t key[MC_ORGKEKS_KEY_LEN];
		const void *v;
		size_t vn;
		int rc;

		memcpy(key, r.new_pk, MC_PK_LEN);
		memcpy(key + MC_PK_LEN, it, MC_PK_LEN + 4);
		rc = mc_txn_get(vs->rt, MC_DB_ORGKEKS, key, sizeof(key), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			return bad_block(err, h, _("a key-encryption key the organization key rotation resealed is missing"));
		if (vn != MC_ORGROT_SEALED_LEN || memcmp(v, it + MC_PK_LEN + 4, MC_ORGROT_SEALED_LEN) != 0)
			return bad_block(err, h, _("a resealed key-encryption key does not match the hash the organization key rotation committed"));
	}
	return 0;
}

/* A chunk of blocks replayed in one scratch transaction. The main thread
 * loads chunk k + 1 (every LMDB read stays on the thread of its
 * transaction) while a pool of threads, one per core, hashes and checks
 * the signatures (tx authors' and validators' votes) of the chunks loaded;
 * the main thread then replays chunk k in order, applying the rules, and
 * helps the pool while it waits for a chunk's signatures. */
struct sigjob {
	const uint8_t *pk;
	const uint8_t *sig;
	const struct mc_tx *tx;    /* a tx's: msg is its signing hash, made by the pool */
	const uint8_t *chain_id;   /* (for tx) */
	const void *data;          /* a hash job (pk NULL): the SHA-256 of data, */
	size_t data_len;           /* data_len bytes, must be msg's first MC_HASH_LEN */
	uint8_t msg[MC_VOTE_MSG_LEN];
	uint8_t len;
	uint8_t ok;
};

struct chunk {
	uint64_t first, count;
	struct mc_header *hdrs;
	struct mc_cert *certs;
	uint8_t (*hashes)[MC_HASH_LEN];
	size_t *tx_start;          /* per block: index of its first tx, count + 1 entries */
	size_t *vote_start;        /* per block: index of its first vote job */
	struct mc_tx *txs;
	const uint8_t **enc;
	size_t *enc_len;
	size_t ntx, captx;
	size_t bytes;              /* of the txs' encodings */
	struct sigjob *jobs;
	size_t njobs;
	size_t claimed, finished;  /* jobs handed out and done (under the pool's lock) */
	bool queued;               /* in the pool's queue */
	int load_rc;               /* chunk_load's result, reported when the */
	struct mc_err load_err;    /* replay reaches this chunk */
};

/* A chunk stops at the block that takes it past either bound: its txs'
 * pages (read through the map) stay resident while it is under way, two
 * chunks at a time, so their bytes, not only their count, are bounded. */
#define CHUNK_MAX_TXS 20000
#define CHUNK_MAX_BYTES (4u << 20)

static void chunk_free(struct chunk *c)
{
	free(c->hdrs);
	free(c->certs);
	free(c->hashes);
	free(c->tx_start);
	free(c->vote_start);
	free(c->txs);
	free(c->enc);
	free(c->enc_len);
	free(c->jobs);
	memset(c, 0, sizeof(*c));
}

static int chunk_grow_txs(struct chunk *c, size_t need, struct mc_err *err)
{
	size_t cap = c->captx ? c->captx : 1024;
	void *a, *b, *d;

	if (need <= c->captx)
		return 0;
	while (cap < need)
		cap *= 2;
	a = realloc(c->txs, cap * sizeof(*c->txs));
	if (a)
		c->txs = a;
	b = realloc(c->enc, cap * sizeof(*c->enc));
	if (b)
		c->enc = b;
	d = realloc(c->enc_len, cap * sizeof(*c->enc_len));
	if (d)
		c->enc_len = d;
	if (!a || !b || !d)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	c->captx = cap;
	return 0;
}

/* The txs of block k of the chunk (at height h), from the node's store. */
static int chunk_load_txs(struct vstate *vs, struct chunk *c, uint64_t h, uint32_t n, struct mc_err *err)
{
	if (chunk_grow_txs(c, c->ntx + n, err) != 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t key[12];
		const void *v;
		size_t vn;
		int rc;

		mc_be64(key, h);
		mc_be32(key + 8, i);
		rc = mc_txn_get(vs->rt, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
		if (rc != 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("block %llu: tx %u is missing"),
							 (unsigned long long)h, i);
		if (mc_tx_decode(v, vn, &c->txs[c->ntx], err) != 0) {
			err->code = EX_DATAERR;
			return mc_err_wrap(err, _("block %llu, tx %u"), (unsigned long long)h, i);
		}
		c->enc[c->ntx] = v;
		c->enc_len[c->ntx] = vn;
		c->bytes += vn;
		c->ntx++;
	}
	return 0;
}

/* The signature jobs of a loaded chunk: the votes, then the txs. */
static int chunk_jobs(struct vstate *vs, struct chunk *c, struct mc_err *err)
{
	static const uint8_t zeros[MC_HASH_LEN];
	size_t nvotes = c->vote_start[c->count];

	c->jobs = calloc(nvotes + c->ntx + 1, sizeof(*c->jobs));
	if (!c->jobs)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (uint64_t k = 0; k < c->count; k++) {
		uint8_t msg[MC_VOTE_MSG_LEN];

		mc_vote_message(c->hashes[k], msg);
		for (unsigned v = 0; v < c->certs[k].count; v++) {
			struct sigjob *j = &c->jobs[c->njobs++];

			j->pk = c->certs[k].votes[v].pk;
			j->sig = c->certs[k].votes[v].sig;
			memcpy(j->msg, msg, sizeof(msg));
			j->len = sizeof(msg);
		}
	}
	for (uint64_t k = 0; k < c->count; k++) {
		const uint8_t *cid = c->first + k ? vs->head.chain_id : zeros;

		for (size_t i = c->tx_start[k]; i < c->tx_start[k + 1]; i++) {
			struct sigjob *j = &c->jobs[c->njobs++];

			j->pk = c->txs[i].author;
			j->sig = c->txs[i].sig;
			j->tx = &c->txs[i];
			j->chain_id = cid;
			j->len = MC_HASH_LEN;
		}
	}
	return 0;
}

/* Reads blocks [first, last] (stopping early past CHUNK_MAX_*) and their
 * txs from the node's store; every pointer stays valid for the long read
 * transaction. */
static int chunk_load(struct vstate *vs, struct chunk *c, uint64_t first, uint64_t last,
		      struct mc_err *err)
{
	uint64_t max = last - first + 1;
	size_t nvotes = 0;

	memset(c, 0, sizeof(*c));
	c->first = first;
	c->hdrs = calloc(max, sizeof(*c->hdrs));
	c->certs = calloc(max, sizeof(*c->certs));
	c->hashes = calloc(max, MC_HASH_LEN);
	c->tx_start = calloc(max + 1, sizeof(size_t));
	c->vote_start = calloc(max + 1, sizeof(size_t));
	if (!c->hdrs || !c->certs || !c->hashes || !c->tx_start || !c->vote_start)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (uint64_t k = 0; k < max && (k == 0 || (c->ntx < CHUNK_MAX_TXS && c->bytes < CHUNK_MAX_BYTES)); k++) {
		uint64_t h = first + k;
		struct mc_header *hdr = &c->hdrs[k];
		int rc = mc_chain_block(vs->rt, h, hdr, &c->certs[k], err);

		if (rc == MC_NOTFOUND)
			return bad_block(err, h, _("missing"));
		if (rc != 0) {
			err->code = EX_DATAERR;
			return -1;
		}
		mc_block_hash(hdr, c->hashes[k]);
		c->tx_start[k] = c->ntx;
		c->vote_start[k] = nvotes;
		nvotes += c->certs[k].count;
		if (chunk_load_txs(vs, c, h, hdr->tx_count, err) != 0)
			return -1;
		c->count = k + 1;
	}
	c->tx_start[c->count] = c->ntx;
	c->vote_start[c->count] = nvotes;
	return chunk_jobs(vs, c, err);
}

static void run_jobs(struct sigjob *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sigjob *j = &jobs[i];

		if (!j->pk) {
			uint8_t hh[MC_HASH_LEN];

			mc_sha256(j->data, j->data_len, hh);
			j->ok = memcmp(hh, j->msg, MC_HASH_LEN) == 0;
			continue;
		}
		if (j->tx)
			mc_tx_sign_hash(j->tx, j->chain_id, j->msg);
		j->ok = mc_sign_verify(j->pk, j->msg, j->len, j->sig) == 0;
	}
}

/* The signature checkers: started once per verify, fed whole chunks. */
#define POOL_MAX_THREADS 16
#define POOL_BATCH 32
#define POOL_QUEUE 4

struct sigpool {
	pthread_mutex_t mu;
	pthread_cond_t work;       /* a chunk was queued, or stop */
	pthread_cond_t done;       /* a chunk's last job is done */
	struct chunk *q[POOL_QUEUE]; /* chunks with jobs not handed out, oldest first */
	size_t nq;
	bool stop;
	pthread_t th[POOL_MAX_THREADS];
	unsigned nth;
};

static void pool_dequeue(struct sigpool *p, struct chunk *c)
{
	for (size_t i = 0; c->queued && i < p->nq; i++)
		if (p->q[i] == c) {
			memmove(&p->q[i], &p->q[i + 1], (p->nq - i - 1) * sizeof(p->q[0]));
			p->nq--;
		}
	c->queued = false;
}

/* Under the lock: the next batch of c's jobs; c leaves the queue once all
 * are handed out. */
static size_t pool_claim(struct sigpool *p, struct chunk *c, size_t *n)
{
	size_t from = c->claimed, left = c->njobs - from;

	*n = left < POOL_BATCH ? left : POOL_BATCH;
	c->claimed += *n;
	if (c->claimed == c->njobs)
		pool_dequeue(p, c);
	return from;
}

/* Under the lock, which it drops while the jobs run. */
static void pool_run_batch(struct sigpool *p, struct chunk *c)
{
	size_t n, from = pool_claim(p, c, &n);

	pthread_mutex_unlock(&p->mu);
	run_jobs(c->jobs + from, n);
	pthread_mutex_lock(&p->mu);
	c->finished += n;
	if (c->finished == c->claimed && c->claimed == c->njobs)
		pthread_cond_broadcast(&p->done);
}

static void *pool_main(void *arg)
{
	struct sigpool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->nq == 0)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		pool_run_batch(p, p->q[0]);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pool_stop(struct sigpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* One thread per online core; with none started, the main thread checks
 * every signature itself while it waits (pool_wait). */
static int pool_start(struct sigpool **out, struct mc_err *err)
{
	struct sigpool *p = calloc(1, sizeof(*p));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = ncpu < 1 ? 1 : ncpu > POOL_MAX_THREADS ? POOL_MAX_THREADS : (unsigned)ncpu;

	*out = NULL;
	if (!p)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	while (p->nth < want && pthread_create(&p->th[p->nth], NULL, pool_main, p) == 0)
		p->nth++;
	*out = p;
	return 0;
}

static void pool_submit(struct sigpool *p, struct chunk *c)
{
	if (c->njobs == 0)
		return;
	pthread_mutex_lock(&p->mu);
	p->q[p->nq++] = c;
	c->queued = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* Returns once every job of c is done, running batches of its own while
 * some are not handed out. cancel: the jobs not handed out are dropped
 * (c is about to be freed unreplayed). */
static void pool_wait(struct sigpool *p, struct chunk *c, bool cancel)
{
	pthread_mutex_lock(&p->mu);
	if (cancel) {
		pool_dequeue(p, c);
		c->njobs = c->claimed;
	}
	while (c->finished < c->njobs) {
		if (c->claimed < c->njobs)
			pool_run_batch(p, c);
		else
			pthread_cond_wait(&p->done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
}

/* The set for the next block: the replayed state's (a change in block h
 * takes effect from block h + 1). */
static int load_vals(struct vstate *vs, struct mc_txn *st, struct mc_err *err)
{
	if (mc_chain_validators(st, vs->vals, &vs->nval, err) != 0)
		return -1;
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vs->vals, vs->nval, vs->valset_hash);
	return 0;
}

static int replay_chunk_block(struct vstate *vs, struct mc_txn *st, struct chunk *c, uint64_t k,
			      struct mc_err *err)
{
	static const uint8_t zeros[MC_HASH_LEN];
	const struct mc_header *hdr = &c->hdrs[k];
	uint64_t h = c->first + k;
	size_t first = c->tx_start[k], ntx = c->tx_start[k + 1] - first;
	size_t txjobs = c->vote_start[c->count];
	uint8_t root[MC_HASH_LEN];
	uint8_t (*leaves)[MC_HASH_LEN] = NULL;

	if (hdr->height != h)
		return bad_block(err, h, _("stored under the wrong height"));
	if (memcmp(hdr->prev, h ? vs->prev : zeros, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("does not link to the previous block"));
	if (memcmp(hdr->chain_id, h ? vs->head.chain_id : zeros, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("carries the wrong chain id"));
	if (h && hdr->timestamp_ms < vs->prev_time)
		return bad_block(err, h, _("its time goes backwards"));
	if (h && hdr->version < vs->prev_version)
		return bad_block(err, h, _("its version is older than the previous block's"));
	if (h == 0) {
		/* genesis holds the initializing node alone: its proposer */
		memcpy(vs->vals[0], hdr->proposer, MC_PK_LEN);
		vs->nval = 1;
		mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vs->vals, 1, vs->valset_hash);
		if (mc_valset_genesis(st, hdr->proposer, err) != 0 || mc_chain_mark_format(st, err) != 0 ||
		    mc_chain_set_id(st, c->hashes[k], err) != 0)
			return -1;
	}
	if (memcmp(hdr->valset_hash, vs->valset_hash, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("names the wrong validator set"));
	if (mc_cert_check_quorum(&c->certs[k], (const uint8_t (*)[MC_PK_LEN])vs->vals, vs->nval, err) != 0)
		return mc_err_wrap(err, _("block %llu"), (unsigned long long)h);
	for (size_t v = c->vote_start[k]; v < c->vote_start[k + 1]; v++)
		if (!c->jobs[v].ok)
			return bad_block(err, h, _("certificate carries a forged vote"));
	if (ntx) {
		leaves = malloc(ntx * MC_HASH_LEN);
		if (!leaves)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	for (size_t i = 0; i < ntx; i++) {
		const struct mc_tx *tx = &c->txs[first + i];
		struct mc_apply_ctx ax = { .height = h, .tx_index = (uint32_t)i,
					   .block_time_ms = hdr->timestamp_ms, .replay = true,
					   .sig_checked = true, .block_version = hdr->version,
					   .blocks = vs->rt };
		uint8_t th[MC_HASH_LEN];

		if (!c->jobs[txjobs + first + i].ok) {
			free(leaves);
			return mc_err_set(err, EX_DATAERR, _("block %llu, tx %zu: bad signature"),
					  (unsigned long long)h, i);
		}
		memcpy(ax.chain_id, h ? vs->head.chain_id : zeros, MC_HASH_LEN);
		/* the rules name the block and tx themselves */
		if (mc_chain_apply_tx(st, &ax, tx, c->enc[first + i], c->enc_len[first + i], err) != 0) {
			free(leaves);
			err->code = EX_DATAERR;
			return -1;
		}
		if (!states_kept_by(tx->type))
			vs->states_kept = false;
		if ((tx->type == MC_TX_RECORD_PUT && check_put_side(vs, h, (uint32_t)i, tx, err) != 0) ||
		    (tx->type == MC_TX_CONSENT_GRANT && check_grant_side(vs, h, tx, err) != 0) ||
		    (tx->type == MC_TX_ORG_ROTATE && check_rotate_side(vs, h, tx, err) != 0)) {
			free(leaves);
			return -1;
		}
		mc_tx_hash(tx, th);
		mc_merkle_leaf_hash(th, MC_HASH_LEN, leaves[i]);
		vs->rep->txs++;
	}
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, ntx, root);
	free(leaves);
	if (ntx != hdr->tx_count || memcmp(root, hdr->tx_root, MC_HASH_LEN) != 0)
		return bad_block(err, h, _("its transactions do not match its tx root"));
	if (mc_ctree_append(st, h, c->hashes[k], err) != 0 || load_vals(vs, st, err) != 0)
		return -1;
	memcpy(vs->prev, c->hashes[k], MC_HASH_LEN);
	vs->prev_time = hdr->timestamp_ms;
	vs->prev_version = hdr->version;
	vs->rep->blocks++;
	vs->rep->signatures += c->vote_start[k + 1] - c->vote_start[k] + ntx;
	return 0;
}

/* What replaying block k of c weighs (TXN_MAX_WORK). */
static size_t block_work(const struct chunk *c, uint64_t k)
{
	size_t w = 1, bytes = 0;

	for (size_t i = c->tx_start[k]; i < c->tx_start[k + 1]; i++)
		bytes += c->enc_len[i];
	w += c->tx_start[k + 1] - c->tx_start[k];
	return w + bytes / TXN_UNIT_BYTES;
}

/* Replays vs->cur, loaded and handed to the pool by run_in_read. */
static int replay_some(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct vstate *vs = vctx;
	struct chunk *c = vs->cur;
	size_t work = 0, txs = 0;
	uint64_t k;
	int rc = 0;

	/* Re-runnable: start from the checkpoint taken before this transaction. */
	vs->next = vs->ck.next;
	memcpy(vs->prev, vs->ck.prev, MC_HASH_LEN);
	vs->prev_time = vs->ck.prev_time;
	vs->prev_version = vs->ck.prev_version;
	vs->nrefs = 0;
	spools_commit(vs, false, NULL);
	*vs->rep = vs->ck.rep;
	if (vs->next > 0 && load_vals(vs, st, err) != 0)
		return -1;
	if (c->load_rc != 0) {
		*err = c->load_err;
		return -1;
	}
	pool_wait(vs->pool, c, false);
	for (k = vs->next - c->first; k < c->count && rc == 0; k++) {
		size_t w = block_work(c, k);

		if (txs > 0 && txs + w > TXN_MAX_WORK)
			break;
		rc = replay_chunk_block(vs, st, c, k, err);
		if (rc == 0 && vs->progress)
			vs->progress(c->first + k + 1, vs->head.height + 1, vs->pctx);
		txs += w;
		work += w;
		if (work >= TRIM_WORK) {
			trim_maps(vs);
			work = 0;
		}
	}
	vs->next = c->first + k;
	return rc;
}

/* Loads the chunk from height first and hands its signatures to the pool.
 * A failure is kept in the chunk, for when the replay reaches it. */
static void chunk_start(struct vstate *vs, struct chunk *c, uint64_t first)
{
	uint64_t last = first + SCRATCH_BLOCKS_PER_TXN - 1;

	if (last > vs->head.height)
		last = vs->head.height;
	c->load_rc = chunk_load(vs, c, first, last, &c->load_err);
	if (c->load_rc == 0) {
		pool_submit(vs->pool, c);
	} else {
		struct mc_err e = c->load_err;

		chunk_free(c);
		c->load_rc = -1;
		c->load_err = e;
	}
	trim_maps(vs);
}

static void chunk_drop(struct vstate *vs, struct chunk *c)
{
	pool_wait(vs->pool, c, true);
	chunk_free(c);
}

/* A loaded chunk, in as many scratch transactions as TXN_MAX_WORK asks (a
 * chunk that failed to load reports it in the first). */
static int replay_chunk(struct vstate *vs, struct chunk *c, struct mc_err *err)
{
	int rc;

	vs->cur = c;
	do {
		vs->ck.next = vs->next;
		memcpy(vs->ck.prev, vs->prev, MC_HASH_LEN);
		vs->ck.prev_time = vs->prev_time;
		vs->ck.prev_version = vs->prev_version;
		vs->ck.rep = *vs->rep;
		rc = mc_store_write(vs->scratch, replay_some, vs, err);
		if (rc == 0)
			rc = refs_flush(vs, err);
		if (rc == 0)
			rc = spools_commit(vs, true, err);
	} while (rc == 0 && vs->next < c->first + c->count);
	return rc;
}

/* Every block, a chunk at a time: chunk k + 1 is loaded and its signatures
 * under way before chunk k is replayed. */
static int replay_all(struct vstate *vs, struct mc_err *err)
{
	struct chunk ring[2], *cur = &ring[0], *nxt = &ring[1];
	int rc = 0;

	memset(ring, 0, sizeof(ring));
	chunk_start(vs, cur, vs->next);
	while (rc == 0 && vs->next <= vs->head.height) {
		uint64_t after = cur->first + cur->count;

		if (cur->load_rc == 0 && after <= vs->head.height)
			chunk_start(vs, nxt, after);
		rc = replay_chunk(vs, cur, err);
		chunk_drop(vs, cur);
		cur = cur == &ring[0] ? &ring[1] : &ring[0];
		nxt = nxt == &ring[0] ? &ring[1] : &ring[0];
	}
	chunk_drop(vs, cur);
	vs->cur = NULL;
	return rc;
}

static const char *db_label(enum mc_db db)
{
	return _(mc_db_info(db)->label);
}

static int diff_err(struct mc_err *err, enum mc_db db, const void *k, size_t kn, const char *what)
{
	char hex[2 * 40 + 1];

	mc_hex(k, kn > 40 ? 40 : kn, hex);
	if (db == MC_DB_RECORDS && kn == MC_RECORD_ID_LEN + 4)
		return mc_err_set(err, EX_DATAERR, _("record %.32s version %u: stored state %s"),
				  hex, mc_from_be32((const uint8_t *)k + MC_RECORD_ID_LEN), what);
	return mc_err_set(err, EX_DATAERR, _("%s: entry %s: %s"), db_label(db), hex, what);
}

/* A spooled table's replayed rows, in key order, one row a key as LMDB
 * keeps it (the last put of a key wins). A tx hash put twice is the rule's
 * refusal of a duplicate tx (chain.c), the later tx named. */
struct spooled {
	struct mc_spool *sp;
	enum mc_db db;
	int rc;                    /* the row read ahead: mc_spool_next's result */
	const void *nk, *nv;
	size_t nkn, nvn;
	uint8_t *k, *v;            /* the row given: a copy */
	size_t kn, vn, kcap, vcap;
};

static int copy_to(uint8_t **dst, size_t *cap, const void *src, size_t n, struct mc_err *err)
{
	if (n > *cap) {
		void *p = realloc(*dst, n);

		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		*dst = p;
		*cap = n;
	}
	if (n)
		memcpy(*dst, src, n);
	return 0;
}

static int spooled_start(struct spooled *q, struct mc_spool *sp, enum mc_db db, struct mc_err *err)
{
	memset(q, 0, sizeof(*q));
	q->sp = sp;
	q->db = db;
	if (mc_spool_sorted(sp, err) != 0)
		return -1;
	q->rc = mc_spool_next(sp, &q->nk, &q->nkn, &q->nv, &q->nvn, err);
	return q->rc < 0 ? -1 : 0;
}

/* As mc_cursor_next: 0 (k, v set, valid until the next call), MC_NOTFOUND,
 * or -1. */
static int spooled_next(struct spooled *q, const void **k, size_t *kn, const void **v, size_t *vn,
			struct mc_err *err)
{
	if (q->rc < 0)
		return -1;
	if (q->rc == 1)
		return MC_NOTFOUND;
	if (copy_to(&q->k, &q->kcap, q->nk, q->nkn, err) != 0 || copy_to(&q->v, &q->vcap, q->nv, q->nvn, err) != 0)
		return -1;
	q->kn = q->nkn;
	q->vn = q->nvn;
	while ((q->rc = mc_spool_next(q->sp, &q->nk, &q->nkn, &q->nv, &q->nvn, err)) == 0 &&
	       q->nkn == q->kn && memcmp(q->nk, q->k, q->kn) == 0) {
		if (q->db == MC_DB_TXIDX) {
			const uint8_t *loc = q->nv;

			if (q->nvn != 12)
				return diff_err(err, q->db, q->k, q->kn, _("differs from what the chain gives"));
			return mc_err_set(err, EX_DATAERR, _("block %llu, tx %u: %s"),
					  (unsigned long long)mc_from_be64(loc), (unsigned)mc_from_be32(loc + 8),
					  _("duplicate transaction"));
		}
		if (copy_to(&q->v, &q->vcap, q->nv, q->nvn, err) != 0)
			return -1;
		q->vn = q->nvn;
	}
	if (q->rc < 0)
		return -1;
	*k = q->k;
	*kn = q->kn;
	*v = q->v;
	*vn = q->vn;
	return 0;
}

static void spooled_end(struct spooled *q)
{
	free(q->k);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

struct cmp_ctx {
	struct vstate *vs;
	enum mc_db db;
	struct spooled *q;         /* a spooled table: its rows, not the scratch's */
};

/* The replayed table's next row (first: its first), from the scratch
 * store's cursor or the spool. */
static int replayed_row(struct cmp_ctx *cc, struct mc_cursor *b, bool first, const void **k, size_t *kn,
			const void **v, size_t *vn, struct mc_err *err)
{
	if (cc->q)
		return spooled_next(cc->q, k, kn, v, vn, err);
	return first ? mc_cursor_seek(b, NULL, 0, k, kn, v, vn, err) : mc_cursor_next(b, k, kn, v, vn, err);
}

static int compare_txn(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct cmp_ctx *cc = vctx;
	struct mc_cursor *a = NULL, *b = NULL;
	const void *ak, *av, *bk, *bv;
	size_t akn, avn, bkn, bvn;
	size_t read = 0;
	int ra, rb, rc = 0;

	if (mc_cursor_open(cc->vs->rt, cc->db, &a, err) != 0 ||
	    (!cc->q && mc_cursor_open(st, cc->db, &b, err) != 0)) {
		mc_cursor_close(a);
		return -1;
	}
	ra = mc_cursor_seek(a, NULL, 0, &ak, &akn, &av, &avn, err);
	rb = replayed_row(cc, b, true, &bk, &bkn, &bv, &bvn, err);
	while (rc == 0) {
		if (ra < 0 || rb < 0) {
			rc = -1;
			break;
		}
		if (ra == MC_NOTFOUND && rb == MC_NOTFOUND)
			break;
		if (ra == MC_NOTFOUND) {
			rc = diff_err(err, cc->db, bk, bkn, _("is missing"));
			break;
		}
		if (rb == MC_NOTFOUND) {
			rc = diff_err(err, cc->db, ak, akn, _("is not backed by the chain"));
			break;
		}
		if (akn != bkn || memcmp(ak, bk, akn) != 0) {
			int c = memcmp(ak, bk, akn < bkn ? akn : bkn);

			if (c < 0 || (c == 0 && akn < bkn))
				rc = diff_err(err, cc->db, ak, akn, _("is not backed by the chain"));
			else
				rc = diff_err(err, cc->db, bk, bkn, _("is missing"));
			break;
		}
		/* an empty value may come back from the spool as NULL */
		if (avn != bvn || (avn > 0 && memcmp(av, bv, avn) != 0)) {
			rc = diff_err(err, cc->db, ak, akn, _("differs from what the chain gives"));
			break;
		}
		ra = mc_cursor_next(a, &ak, &akn, &av, &avn, err);
		rb = replayed_row(cc, b, false, &bk, &bkn, &bv, &bvn, err);
		read += akn + avn + bkn + bvn;
		if (read >= TRIM_BYTES) {
			trim_maps(cc->vs);
			read = 0;
		}
	}
	mc_cursor_close(a);
	mc_cursor_close(b);
	trim_maps(cc->vs);
	return rc;
}

/* A table compared key for key: a spooled one against its sorted rows. */
static int compare_table(struct vstate *vs, enum mc_db db, struct mc_err *err)
{
	struct cmp_ctx cc = { vs, db, NULL };
	struct spooled q;
	int rc;

	if (!vs->spool[db])
		return mc_store_read(vs->scratch, compare_txn, &cc, err);
	if (spooled_start(&q, vs->spool[db], db, err) != 0) {
		spooled_end(&q);
		return -1;
	}
	cc.q = &q;
	rc = mc_store_read(vs->scratch, compare_txn, &cc, err);
	spooled_end(&q);
	return rc;
}

struct side_ctx {
	struct vstate *vs;
};

/* The end phase: the main thread looks up each ref's rows (every LMDB read
 * on the thread of its transaction) and hands their hashes to the pool, a
 * batch at a time, two batches under way; a failure is reported for the
 * first ref, in chain order, that fails any check, as a serial walk would. */
#define SIDE_BATCH 4096        /* hash jobs in a batch, */
#define SIDE_BATCH_BYTES (4u << 20) /* and bytes hashed: mapped until hashed */
#define SIDE_POOL_MIN 4096     /* smaller rows are hashed on the main thread */

enum side_what { SIDE_PAYLOAD, SIDE_WRAP, SIDE_SHARED };

struct side_item {             /* what a hash job's failure names */
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t what;
	uint64_t height;
};

struct side_batch {
	struct chunk c;            /* c.jobs, c.njobs: the hash jobs */
	struct side_item *items;   /* one per job */
	bool submitted;            /* to the pool, since it was last checked */
	size_t bytes;              /* hashed by its jobs */
};

static int side_batch_init(struct side_batch *b, struct mc_err *err)
{
	memset(b, 0, sizeof(*b));
	b->c.jobs = calloc(SIDE_BATCH, sizeof(*b->c.jobs));
	b->items = calloc(SIDE_BATCH, sizeof(*b->items));
	if (!b->c.jobs || !b->items)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	return 0;
}

static void side_batch_free(struct vstate *vs, struct side_batch *b)
{
	pool_wait(vs->pool, &b->c, true);
	free(b->c.jobs);
	free(b->items);
	memset(b, 0, sizeof(*b));
}

/* A hash that does not match: the error that names it. */
static int side_fail(struct mc_err *err, enum side_what what, const uint8_t id[MC_RECORD_ID_LEN],
		     uint32_t version, uint64_t height)
{
	char hex[2 * MC_RECORD_ID_LEN + 1];

	mc_hex(id, MC_RECORD_ID_LEN, hex);
	if (what == SIDE_SHARED)
		return mc_err_set(err, EX_DATAERR,
				  _("record %s version %u (block %llu): a key shared with another organization does not match its hash"),
				  hex, version, (unsigned long long)height);
	if (what == SIDE_PAYLOAD)
		return mc_err_set(err, EX_DATAERR,
				  _("record %s version %u (block %llu): payload does not match its hash"),
				  hex, version, (unsigned long long)height);
	return mc_err_set(err, EX_DATAERR,
			  _("record %s version %u (block %llu): wrapped key does not match its hash"),
			  hex, version, (unsigned long long)height);
}

/* The SHA-256 of v must be want: checked here if v is small (a job costs
 * more than the hash), else queued in b for the pool. */
static int side_hash(struct side_batch *b, const struct wrap_ref *ref, uint64_t height, enum side_what what,
		     const void *v, size_t vn, const uint8_t want[MC_HASH_LEN], struct mc_err *err)
{
	struct sigjob *j = &b->c.jobs[b->c.njobs];
	struct side_item *it = &b->items[b->c.njobs];
	uint8_t hh[MC_HASH_LEN];

	if (vn < SIDE_POOL_MIN) {
		mc_sha256(v, vn, hh);
		return memcmp(hh, want, MC_HASH_LEN) == 0 ? 0 : side_fail(err, what, ref->id, ref->version, height);
	}
	b->c.njobs++;
	memset(j, 0, sizeof(*j));
	j->data = v;
	j->data_len = vn;
	memcpy(j->msg, want, MC_HASH_LEN);
	b->bytes += vn;
	memcpy(it->id, ref->id, MC_RECORD_ID_LEN);
	it->version = ref->version;
	it->what = (uint8_t)what;
	it->height = height;
	return 0;
}

/* Waits for b's hashes; the first that does not match is the error. */
static void side_batch_submit(struct vstate *vs, struct side_batch *b)
{
	if (!b->submitted)
		pool_submit(vs->pool, &b->c);
	b->submitted = true;
}

static int side_batch_check(struct vstate *vs, struct side_batch *b, struct mc_err *err)
{
	side_batch_submit(vs, b);
	pool_wait(vs->pool, &b->c, false);
	for (size_t i = 0; i < b->c.njobs; i++) {
		const struct side_item *it = &b->items[i];

		if (!b->c.jobs[i].ok)
			return side_fail(err, it->what, it->id, it->version, it->height);
	}
	b->c.njobs = b->c.claimed = b->c.finished = 0;
	b->submitted = false;
	b->bytes = 0;
	return 0;
}

/* A put's ref when no tx replayed can have changed its state: the state
 * the put wrote (the fields side_ref reads), without a lookup. */
static bool rs_of_put(const struct vstate *vs, const struct wrap_ref *ref, struct mc_record_state *rs)
{
	if (!vs->states_kept || ref->shared)
		return false;
	memset(rs, 0, sizeof(*rs));
	rs->height = ref->height;
	rs->tx_index = ref->tx_index;
	rs->entry_index = ref->entry_index;
	rs->entry.ct_size = ref->ct_size;
	memcpy(rs->entry.ct_hash, ref->hash, MC_HASH_LEN);
	memcpy(rs->entry.wrap_hash, ref->wrap_hash, MC_HASH_LEN);
	return true;
}

/* One record version or shared key: its payload's and wrapped key's rows
 * looked up, their hashes (against the replayed chain's) added to b. */
static int side_ref(struct vstate *vs, struct mc_txn *st, const struct wrap_ref *ref, struct side_batch *b,
		    uint64_t *live, uint64_t *shared, struct mc_err *err)
{
	struct mc_record_state rs;
	uint8_t wkey[MC_LOC_LEN + MC_PK_LEN];
	char hex[2 * MC_RECORD_ID_LEN + 1];
	const void *v;
	size_t vn;
	int rc;

	mc_hex(ref->id, MC_RECORD_ID_LEN, hex);
	if (!rs_of_put(vs, ref, &rs)) {
		rc = mc_record_version(st, ref->id, ref->version, &rs, err);
		if (rc != 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_SOFTWARE, _("record %s vanished"), hex);
	}
	mc_loc_key(wkey, rs.height, rs.tx_index, rs.entry_index);
	memcpy(wkey + MC_LOC_LEN, ref->org, MC_PK_LEN);
	if (rs.erased)
		return 0;
	if (ref->shared) {
		rc = mc_txn_get(vs->rt, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND)
			return mc_err_set(err, EX_DATAERR,
					  _("record %s version %u (block %llu): a key shared with another organization is missing"),
					  hex, ref->version, (unsigned long long)rs.height);
		(*shared)++;
		return side_hash(b, ref, rs.height, SIDE_SHARED, v, vn, ref->hash, err);
	}
	(*live)++;
	rc = mc_txn_get(vs->rt, MC_DB_PAYLOADS, wkey, MC_LOC_LEN, &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_DATAERR, _("record %s version %u (block %llu): payload is missing"),
				  hex, ref->version, (unsigned long long)rs.height);
	if (vn != rs.entry.ct_size)
		return mc_err_set(err, EX_DATAERR,
				  _("record %s version %u (block %llu): payload does not match its hash"),
				  hex, ref->version, (unsigned long long)rs.height);
	if (side_hash(b, ref, rs.height, SIDE_PAYLOAD, v, vn, rs.entry.ct_hash, err) != 0)
		return -1;
	rc = mc_txn_get(vs->rt, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_DATAERR,
				  _("record %s version %u (block %llu): wrapped key is missing"),
				  hex, ref->version, (unsigned long long)rs.height);
	return side_hash(b, ref, rs.height, SIDE_WRAP, v, vn, rs.entry.wrap_hash, err);
}

/* The refs of the scratch file, in chain order, through side_ref: b[0]
 * fills while the pool hashes b[1]. A ref's failed lookup is reported once
 * the hashes of the refs before it have all matched. */
static int side_walk(struct vstate *vs, struct mc_txn *st, struct side_batch b[2], uint64_t *live,
		     uint64_t *shared, struct mc_err *err)
{
	uint64_t done = 0;
	unsigned cur = 0;

	if (fflush(vs->refs_file) != 0 || fseek(vs->refs_file, 0, SEEK_SET) != 0)
		return refs_io_err(err);
	while (done < vs->refs_total) {
		uint64_t left = vs->refs_total - done;
		size_t n = left < REFS_READ ? (size_t)left : REFS_READ;

		if (fread(vs->refs, sizeof(*vs->refs), n, vs->refs_file) != n)
			return refs_io_err(err);
		for (size_t i = 0; i < n; i++) {
			if (b[cur].c.njobs + 2 > SIDE_BATCH || b[cur].bytes >= SIDE_BATCH_BYTES) {
				side_batch_submit(vs, &b[cur]);
				cur ^= 1;
				if (side_batch_check(vs, &b[cur], err) != 0)
					return -1;
			}
			if (side_ref(vs, st, &vs->refs[i], &b[cur], live, shared, err) != 0) {
				struct mc_err e = *err;

				if (side_batch_check(vs, &b[cur ^ 1], err) != 0 ||
				    side_batch_check(vs, &b[cur], err) != 0)
					return -1;
				*err = e;
				return -1;
			}
			if (i % TRIM_REFS == TRIM_REFS - 1)
				trim_maps(vs);
		}
		done += n;
	}
	return side_batch_check(vs, &b[cur ^ 1], err) != 0 || side_batch_check(vs, &b[cur], err) != 0 ? -1 : 0;
}

/* Payloads and wrapped keys against the hashes in the (replayed) chain,
 * for every ref in the scratch file, in chain order. */
static int side_txn(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct vstate *vs = ((struct side_ctx *)vctx)->vs;
	struct side_batch b[2];
	uint64_t live = 0, shared = 0, npay = 0, nwrap = 0;
	int rc;

	if (vs->caprefs < REFS_READ) {
		void *p = realloc(vs->refs, REFS_READ * sizeof(*vs->refs));

		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		vs->refs = p;
		vs->caprefs = REFS_READ;
	}
	rc = side_batch_init(&b[0], err);
	if (rc == 0)
		rc = side_batch_init(&b[1], err);
	if (rc == 0)
		rc = side_walk(vs, st, b, &live, &shared, err);
	side_batch_free(vs, &b[0]);
	side_batch_free(vs, &b[1]);
	if (rc != 0)
		return -1;
	if (mc_txn_count(vs->rt, MC_DB_PAYLOADS, &npay, err) != 0 ||
	    mc_txn_count(vs->rt, MC_DB_KEYWRAP, &nwrap, err) != 0)
		return -1;
	if (npay != live)
		return mc_err_set(err, EX_DATAERR,
				  _("the payload store holds %llu payloads where the chain accounts for %llu"),
				  (unsigned long long)npay, (unsigned long long)live);
	if (nwrap != live + shared)
		return mc_err_set(err, EX_DATAERR,
				  _("the key-wrap store holds %llu keys where the chain accounts for %llu"),
				  (unsigned long long)nwrap, (unsigned long long)(live + shared));
	vs->rep->records = vs->refs_total;
	vs->rep->payloads = live;
	return 0;
}

static int head_txn(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct vstate *vs = vctx;
	uint8_t root[MC_HASH_LEN], root2[MC_HASH_LEN];

	(void)st;
	if (vs->head.height + 1 != vs->rep->blocks ||
	    memcmp(vs->head.hash, vs->prev, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("the stored head is not the last block"));
	{
		uint64_t nblocks = 0;

		if (mc_txn_count(vs->rt, MC_DB_BLOCKS, &nblocks, err) != 0)
			return -1;
		if (nblocks != vs->rep->blocks)
			return mc_err_set(err, EX_DATAERR,
					  _("the block table holds %llu blocks where the chain has %llu"),
					  (unsigned long long)nblocks, (unsigned long long)vs->rep->blocks);
	}
	/* The stored chain tree (already compared node by node) gives the same root. */
	if (mc_ctree_root(vs->rt, vs->rep->blocks, root, err) != 0 ||
	    mc_ctree_root(st, vs->rep->blocks, root2, err) != 0)
		return -1;
	if (memcmp(root, root2, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("the chain tree root differs"));
	return 0;
}

/* The validator set, its epoch, the leader and the view the chain gives,
 * read through the getters (which give a store older than some of these
 * keys their values since genesis). */
static int valstate_txn(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct vstate *vs = vctx;
	uint8_t (*a)[MC_PK_LEN] = malloc(2 * MC_MAX_VALIDATORS * MC_PK_LEN), (*b)[MC_PK_LEN];
	uint8_t la[MC_PK_LEN], lb[MC_PK_LEN];
	uint64_t ea, eb, va, vb, nodes = 0, sets = 0;
	size_t na, nb;
	int rc = 0;

	if (!a)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	b = a + MC_MAX_VALIDATORS;
	if (mc_chain_validators(vs->rt, a, &na, err) != 0 || mc_chain_validators(st, b, &nb, err) != 0 ||
	    mc_chain_valset_epoch(vs->rt, &ea, err) != 0 || mc_chain_valset_epoch(st, &eb, err) != 0 ||
	    mc_chain_leader(vs->rt, la, &va, err) != 0 || mc_chain_leader(st, lb, &vb, err) != 0 ||
	    mc_txn_count(vs->rt, MC_DB_NODES, &nodes, err) != 0 ||
	    mc_txn_count(vs->rt, MC_DB_VALSETS, &sets, err) != 0)
		rc = -1;
	else if (na != nb || memcmp(a, b, na * MC_PK_LEN) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("the stored validator set differs from what the chain gives"));
	else if (ea != eb)
		rc = mc_err_set(err, EX_DATAERR, _("the stored validator set epoch differs from what the chain gives"));
	else if (va != vb || memcmp(la, lb, MC_PK_LEN) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("the stored leader or view differs from what the chain gives"));
	free(a);
	if (rc == 0)
		vs->legacy_valset = nodes == 0 && sets == 0 && eb == 0;
	return rc;
}

static int scratch_head_txn(struct mc_txn *st, void *vctx, struct mc_err *err)
{
	struct vstate *vs = vctx;

	return mc_chain_set_head(st, vs->rep->blocks - 1, vs->prev, vs->prev_time, err);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int replay_compare(struct vstate *vs, struct mc_err *err);

struct run_ctx {
	struct vstate *vs;
	const char *scratch_parent;
	struct mc_err *err;
};

/* The tx table is not copied into the scratch: the replay reads it from
 * the node's store (mc_store_borrow), every row (h, i) for i below block
 * h's tx count, and checks each against its block's tx root; the rows the
 * replay would have written are those very bytes. What a row-by-row
 * comparison would add is a row no block accounts for: the count finds it. */
static int txs_count_check(struct vstate *vs, struct mc_err *err)
{
	uint64_t n = 0;

	if (mc_txn_count(vs->rt, MC_DB_TXS, &n, err) != 0)
		return -1;
	if (n != vs->rep->txs)
		return mc_err_set(err, EX_DATAERR, _("%s: %llu entries where the chain has %llu"),
				  db_label(MC_DB_TXS), (unsigned long long)n, (unsigned long long)vs->rep->txs);
	return 0;
}

static int run_in_read(struct mc_txn *rt, void *vctx, struct mc_err *err)
{
	struct vstate *vs = vctx;
	int rc;

	vs->rt = rt;
	if (mc_store_borrow(vs->scratch, MC_DB_TXS, rt, err) != 0)
		return -1;
	rc = replay_compare(vs, err);
	mc_store_borrow(vs->scratch, MC_DB_TXS, NULL, NULL);
	return rc;
}

static int replay_compare(struct vstate *vs, struct mc_err *err)
{
	struct mc_txn *rt = vs->rt;
	struct side_ctx sc = { vs };
	uint64_t n;

	if (mc_chain_head(rt, &vs->head, err) != 0)
		return -1;
	if (vs->head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	if (mc_chain_format_check(rt, err) != 0)
		return -1;
	/* the validator set of each height comes from the replay itself */
	if (replay_all(vs, err) != 0)
		return -1;
	/* the head a node writes, once, for the metadata's comparison */
	if (mc_store_write(vs->scratch, scratch_head_txn, vs, err) != 0 ||
	    mc_store_read(vs->scratch, head_txn, vs, err) != 0 ||
	    mc_store_read(vs->scratch, valstate_txn, vs, err) != 0)
		return -1;
	/* every derived table of store.h's MC_DBS, key for key */
	for (unsigned db = 0; db < MC_DB__COUNT; db++) {

		/* an older store without these tables (and meta keys) has had
		 * one set since genesis, which the getters give; every other
		 * store's metadata is what the replay writes, key for key, so
		 * an altered or unknown key is found */
		if (mc_db_info(db)->kind != MC_DBK_DERIVED ||
		    (vs->legacy_valset && (mc_db_info(db)->flags & MC_DBF_VALSET)))
			continue;
		/* an index the store has not built yet (store.h) */
		if (mc_db_info(db)->flags & MC_DBF_INDEX) {
			if (mc_txn_count(rt, db, &n, err) != 0)
				return -1;
			if (n == 0)
				continue;
		}
		if (db == MC_DB_TXS ? txs_count_check(vs, err) != 0 : compare_table(vs, db, err) != 0)
			return -1;
	}
	return mc_store_read(vs->scratch, side_txn, &sc, err);
}

/* The scratch store (a throwaway: no fsync, store.h) and the refs file, in
 * the new directory dir. */
static int scratch_open(struct vstate *vs, const char *dir, struct mc_err *err)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/refs", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return refs_io_err(err);
	}
	vs->refs_file = fopen(path, "w+xbe");
	if (!vs->refs_file)
		return refs_io_err(err);
	if (mc_store_open(dir, MC_STORE_CREATE | MC_STORE_SCRATCH, &vs->scratch, err) != 0)
		return -1;
	for (size_t i = 0; i < MC_ARRAY_LEN(spooled); i++) {
		enum mc_db db = spooled[i];

		if (snprintf(path, sizeof(path), "%s/%s.rows", dir, mc_db_info(db)->name) >= (int)sizeof(path)) {
			errno = ENAMETOOLONG;
			return refs_io_err(err);
		}
		if (mc_spool_open(path, SPOOL_MEM, &vs->spool[db], err) != 0 ||
		    mc_store_divert(vs->scratch, db, spool_sink, vs, err) != 0)
			return -1;
	}
	return 0;
}

int mc_verify(const char *dbdir, const char *scratch_parent, mc_verify_progress_fn progress,
	      void *pctx, struct mc_verify_report *rep, struct mc_err *err)
{
	return mc_verify_scratch_map(dbdir, scratch_parent, 0, progress, pctx, rep, err);
}

int mc_verify_scratch_map(const char *dbdir, const char *scratch_parent, uint64_t scratch_map,
			  mc_verify_progress_fn progress, void *pctx, struct mc_verify_report *rep,
			  struct mc_err *err)
{
	struct vstate vs;
	char tmpl[PATH_MAX];
	int rc;

	memset(&vs, 0, sizeof(vs));
	memset(rep, 0, sizeof(*rep));
	vs.states_kept = true;
	vs.rep = rep;
	vs.progress = progress;
	vs.pctx = pctx;
	if (mc_store_open(dbdir, MC_STORE_RDONLY, &vs.real, err) != 0)
		return -1;
	snprintf(tmpl, sizeof(tmpl), "%s/medchain-verify-XXXXXX", scratch_parent);
	if (!mkdtemp(tmpl)) {
		mc_store_close(vs.real);
		return mc_err_set(err, EX_CANTCREAT, _("cannot make a scratch directory in '%s': %s"),
				  scratch_parent, strerror(errno));
	}
	rc = scratch_open(&vs, tmpl, err);
	if (rc == 0 && scratch_map)
		rc = mc_store_scratch_map(vs.scratch, scratch_map, err);
	if (rc == 0) {
		/* a block's replay can read and write a great many rows */
		mc_store_autotrim(vs.scratch, vs.real, TRIM_ABOVE);
		rc = pool_start(&vs.pool, err);
	}
	if (rc == 0)
		rc = mc_store_read(vs.real, run_in_read, &vs, err);
	pool_stop(vs.pool);
	if (vs.refs_file)
		fclose(vs.refs_file);
	mc_store_close(vs.scratch);
	mc_store_close(vs.real);
	for (size_t i = 0; i < MC_ARRAY_LEN(spooled); i++)
		mc_spool_close(vs.spool[spooled[i]]);
	nftw(tmpl, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(vs.refs);
	return rc;
}

struct wire {
	int code;
	struct mc_verify_report rep;
	char msg[MC_ERR_MSG_MAX];
};

struct recent_ctx {
	struct mc_verify_report *rep;
};

static int recent_block(struct mc_txn *t, uint64_t h, const uint8_t chain_id[MC_HASH_LEN],
			const uint8_t (*vals)[MC_PK_LEN], size_t nval, const uint8_t valset[MC_HASH_LEN],
			uint8_t prev[MC_HASH_LEN], struct mc_verify_report *rep, struct mc_err *err)
{
	struct mc_header hd;
	struct mc_cert c;
	uint8_t bh[MC_HASH_LEN], leaf[MC_HASH_LEN], node[MC_HASH_LEN], root[MC_HASH_LEN];
	uint8_t (*leaves)[MC_HASH_LEN];
	unsigned levels[65];
	uint64_t indexes[65];
	unsigned nc;
	static const uint8_t zeros[MC_HASH_LEN];

	if (mc_chain_block(t, h, &hd, &c, err) != 0)
		return -1;
	mc_block_hash(&hd, bh);
	if (hd.height != h || (h > 0 && memcmp(hd.prev, prev, MC_HASH_LEN) != 0) ||
	    memcmp(hd.chain_id, h ? chain_id : zeros, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu does not link to the block before it"),
				  (unsigned long long)h);
	if (memcmp(hd.valset_hash, valset, MC_HASH_LEN) != 0 || mc_cert_check(&c, bh, vals, nval, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu: its certificate does not hold"),
				  (unsigned long long)h);
	if (!(leaves = malloc(((size_t)hd.tx_count + 1) * MC_HASH_LEN)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	for (uint32_t i = 0; i < hd.tx_count; i++) {
		uint8_t key[12], th[MC_HASH_LEN];
		const void *v;
		size_t vn;
		struct mc_tx tx;
		int rc;

		mc_be64(key, h);
		mc_be32(key + 8, i);
		rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
		if (rc != 0 || mc_tx_decode(v, vn, &tx, err) != 0 ||
		    mc_tx_verify_sig(&tx, h ? chain_id : zeros) != 0) {
			free(leaves);
			return mc_err_set(err, EX_DATAERR, _("block %llu: transaction %u is missing, malformed or forged"),
					  (unsigned long long)h, i);
		}
		mc_tx_hash(&tx, th);
		mc_merkle_leaf_hash(th, MC_HASH_LEN, leaves[i]);
		rep->txs++;
	}
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaves, hd.tx_count, root);
	free(leaves);
	if (memcmp(root, hd.tx_root, MC_HASH_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("block %llu: its transactions do not give its tx root"),
				  (unsigned long long)h);
	/* The subtree hashes appending this leaf wrote. */
	nc = mc_mtree_completed(h, levels, indexes);
	for (unsigned i = 0; i < nc; i++) {
		if (levels[i] == 0) {
			mc_merkle_leaf_hash(bh, MC_HASH_LEN, leaf);
		} else {
			uint8_t l[MC_HASH_LEN], r[MC_HASH_LEN];

			if (mc_ctree_node(t, levels[i] - 1, indexes[i] * 2, l, err) != 0 ||
			    mc_ctree_node(t, levels[i] - 1, indexes[i] * 2 + 1, r, err) != 0)
				return -1;
			mc_merkle_node_hash(l, r, leaf);
		}
		if (mc_ctree_node(t, levels[i], indexes[i], node, err) != 0)
			return -1;
		if (memcmp(node, leaf, MC_HASH_LEN) != 0)
			return mc_err_set(err, EX_DATAERR, _("block %llu: the chain tree does not hold it"),
					  (unsigned long long)h);
	}
	memcpy(prev, bh, MC_HASH_LEN);
	rep->blocks++;
	return 0;
}

static int recent_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct recent_ctx *rc_ = vctx;
	struct mc_head head;
	struct mc_anchored last;
	uint8_t (*vals)[MC_PK_LEN] = NULL, valset[MC_HASH_LEN], prev[MC_HASH_LEN], root[MC_HASH_LEN];
	size_t nval;
	uint64_t from = 0;
	int rc;

	if (mc_chain_head(t, &head, err) != 0 || mc_chain_format_check(t, err) != 0)
		return -1;
	if (head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	rc = mc_chain_anchored(t, UINT64_MAX, &last, err);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (mc_ctree_root(t, last.a.tree_size, root, err) != 0)
			return -1;
		if (memcmp(root, last.a.root, MC_HASH_LEN) != 0)
			return mc_err_set(err, EX_DATAERR,
					  _("the chain tree no longer gives the root anchored at tree size %llu"),
					  (unsigned long long)last.a.tree_size);
		from = last.a.tree_size;
	}
	if (!(vals = malloc(MC_MAX_VALIDATORS * MC_PK_LEN)))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = 0;
	if (from > 0) {
		struct mc_header hd;
		struct mc_cert c;

		rc = mc_chain_block(t, from - 1, &hd, &c, err);
		if (rc == 0)
			mc_block_hash(&hd, prev);
	}
	for (uint64_t h = from; rc == 0 && h <= head.height; h++) {
		/* each block is certified by the set in force at its height */
		rc = mc_chain_validators_at(t, h, vals, &nval, err);
		if (rc != 0)
			break;
		mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vals, nval, valset);
		rc = recent_block(t, h, head.chain_id, (const uint8_t (*)[MC_PK_LEN])vals, nval, valset, prev,
				  rc_->rep, err);
	}
	free(vals);
	if (rc == 0 && memcmp(prev, head.hash, MC_HASH_LEN) != 0)
		rc = mc_err_set(err, EX_DATAERR, _("the stored head is not the last block"));
	return rc;
}

int mc_verify_recent(const char *dbdir, struct mc_verify_report *rep, struct mc_err *err)
{
	struct mc_store *s;
	struct recent_ctx c = { rep };
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (mc_store_open(dbdir, MC_STORE_RDONLY, &s, err) != 0)
		return -1;
	rc = mc_store_read(s, recent_txn, &c, err);
	mc_store_close(s);
	return rc;
}

static int run_isolated(const char *dbdir, const char *scratch_parent, bool recent,
			mc_verify_progress_fn progress, void *pctx,
			struct mc_verify_report *rep, struct mc_err *err);
static int run_child(const char *dbdir, const char *scratch_parent, bool recent,
		     mc_verify_progress_fn progress, void *pctx,
		     struct mc_verify_report *rep, struct mc_err *err);

int mc_verify_recent_isolated(const char *dbdir, struct mc_verify_report *rep, struct mc_err *err)
{
	return run_isolated(dbdir, NULL, true, NULL, NULL, rep, err);
}

int mc_verify_isolated(const char *dbdir, const char *scratch_parent,
		       mc_verify_progress_fn progress, void *pctx,
		       struct mc_verify_report *rep, struct mc_err *err)
{
	return run_isolated(dbdir, scratch_parent, false, progress, pctx, rep, err);
}

/* The full verify's scratch directories go in a directory this process
 * makes and removes, so that a child killed while reading a damaged store
 * leaves nothing behind. */
static int run_isolated(const char *dbdir, const char *scratch_parent, bool recent,
			mc_verify_progress_fn progress, void *pctx,
			struct mc_verify_report *rep, struct mc_err *err)
{
	char outer[PATH_MAX];
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (recent)
		return run_child(dbdir, NULL, true, progress, pctx, rep, err);
	snprintf(outer, sizeof(outer), "%s/medchain-verify-XXXXXX", scratch_parent);
	if (!mkdtemp(outer))
		return mc_err_set(err, EX_CANTCREAT, _("cannot make a scratch directory in '%s': %s"),
				  scratch_parent, strerror(errno));
	rc = run_child(dbdir, outer, false, progress, pctx, rep, err);
	nftw(outer, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}

static int run_child(const char *dbdir, const char *scratch_parent, bool recent,
		     mc_verify_progress_fn progress, void *pctx,
		     struct mc_verify_report *rep, struct mc_err *err)
{
	int fds[2], status;
	pid_t pid;
	struct wire w;
	size_t got = 0;

	if (pipe(fds) != 0)
		return mc_err_set(err, EX_OSERR, _("cannot make a pipe: %s"), strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return mc_err_set(err, EX_OSERR, _("cannot fork: %s"), strerror(errno));
	}
	if (pid == 0) {
		struct mc_err cerr = { 0 };
		ssize_t wr;
		size_t off = 0;

		close(fds[0]);
		memset(&w, 0, sizeof(w));
		if ((recent ? mc_verify_recent(dbdir, &w.rep, &cerr)
			    : mc_verify(dbdir, scratch_parent, progress, pctx, &w.rep, &cerr)) != 0) {
			w.code = cerr.code ? cerr.code : EX_SOFTWARE;
			memcpy(w.msg, cerr.msg, sizeof(w.msg));
		}
		while (off < sizeof(w)) {
			wr = write(fds[1], (const char *)&w + off, sizeof(w) - off);
			if (wr <= 0)
				break;
			off += (size_t)wr;
		}
		_exit(0);
	}
	close(fds[1]);
	while (got < sizeof(w)) {
		ssize_t rd = read(fds[0], (char *)&w + got, sizeof(w) - got);

		if (rd < 0 && errno == EINTR)
			continue;
		if (rd <= 0)
			break;
		got += (size_t)rd;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		return mc_err_set(err, EX_DATAERR,
				  _("verification stopped on signal %d while reading the store: it is damaged"),
				  WTERMSIG(status));
	if (got != sizeof(w))
		return mc_err_set(err, EX_SOFTWARE, _("verification ended without a result"));
	*rep = w.rep;
	if (w.code) {
		w.msg[sizeof(w.msg) - 1] = '\0';
		return mc_err_set(err, w.code, "%s", w.msg);
	}
	return 0;
}
