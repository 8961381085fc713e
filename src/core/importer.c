/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>     /* malloc_trim */
#endif

#include "i18n.h"
#include "importer.h"

/* Record ids and sealing randomness are drawn this many at a time. */
#define IDS_CHUNK 256
/* The fewest slots of the duplicate set (`seen`). */
#define SEEN_MIN 4096
/* The filter of the duplicate keys this import stored (`bloom`): its bits
 * (1 MiB) and the bits a key sets. At 1M keys about 2% of the keys it does
 * not hold are found in it anyway (and looked up on the chain, as all were
 * before it). */
#define BLOOM_BITS (1u << 23)
#define BLOOM_K 4

struct slot {
	struct mc_sealed *recs;
	unsigned long *tags;
	size_t n;
	size_t bytes;              /* ciphertext in the batch */
	double touched[3];         /* index leaf pages its keys are expected to land in */
	uint64_t gen;              /* the batch's number in this import */
	uint8_t (*keys)[MC_HASH_LEN];  /* the duplicate keys its records put in `seen` */
	size_t nkeys;
	size_t nfresh;             /* its records of version 1: new duplicate key rows */
	uint8_t fresh_id[MC_RECORD_ID_LEN];  /* the first of them */
};

struct mc_importer {
	struct mc_store *s;
	const struct mc_key *node, *author;
	const struct mc_org *org;
	size_t cap;
	mc_import_commit_fn on_commit;
	void *ctx;

	struct slot slots[2];
	int filling;               /* the slot the caller fills */
	bool ready;                /* the other slot holds a batch to commit */
	bool done;                 /* no more batches will come */
	bool failed;               /* the committer hit an error */
	struct mc_err err;         /* the committer's first error */
	unsigned long long committed;
	enum mc_dup_mode dup;
	/* The duplicate keys of this import's batches not yet known durable
	 * (open addressing): once a batch's commit is durable, its keys are
	 * found on the chain and leave `seen` (the check pass of MC_DUP_ERROR
	 * keeps every key until mc_importer_checked). */
	struct seen *seen;
	size_t seen_cap, seen_n;
	uint8_t *ids;              /* the next IDS_CHUNK record ids (draw_ids) */
	uint64_t id_ms;            /* the time in those ids */
	uint8_t *rnd;              /* and their sealing randomness (guarded memory) */
	size_t drawn;              /* how many of them are used */
	uint64_t gen;              /* batches handed over so far */
	uint64_t stored;           /* records on the chain at the start, then added */
	struct mc_txn *snap;       /* the lookups' read txn, one per batch (or NULL) */
	/* the organizations the custodian succeeded (key rotations), whose
	 * duplicate keys are its own (mc_custody_predecessors) */
	uint8_t (*preds)[MC_PK_LEN];
	size_t npreds;
	/* Lookups skipped (issue 18): while `alone` holds, the chain holds no
	 * duplicate key of this custodian but those this import stored, all
	 * of them in `bloom`, and a key not in it is not looked up. It holds
	 * when the store has no key of the custodian at the start and, at
	 * each batch's read txn, the duplicate key rows are those at the start
	 * and one per record of version 1 this import committed (rows are
	 * never deleted: another writer's new row breaks it for good). */
	bool alone;
	uint64_t *bloom;
	uint64_t dk_rows;          /* the rows expected: the start's and the committed batches' */
	size_t inflight_fresh;     /* the batch being committed: its new rows, */
	uint8_t inflight_id[MC_RECORD_ID_LEN];  /* and the first of their records */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

/* A duplicate key met in this import: the record it names and that
 * record's newest version here (leaf: its entry's leaf hash). */
struct seen {
	bool used;
	bool erased;
	uint8_t key[MC_HASH_LEN];
	uint8_t ckey[MC_HASH_LEN];     /* the content of its newest version */
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;
	uint8_t leaf[MC_HASH_LEN];
	uint64_t gen;                  /* the batch holding that version */
};

static struct seen *seen_find(struct mc_importer *im, const uint8_t key[MC_HASH_LEN])
{
	size_t mask = im->seen_cap - 1, i;

	/* the key is a keyed hash: its first bytes are uniform */
	for (i = mc_from_be32(key) & mask; im->seen[i].used; i = (i + 1) & mask)
		if (memcmp(im->seen[i].key, key, MC_HASH_LEN) == 0)
			return &im->seen[i];
	return &im->seen[i];
}

/* Moves `seen` to a table of cap slots (a power of two above twice its
 * keys): 0, or -1 with the table as it was. */
static int seen_rehash(struct mc_importer *im, size_t cap)
{
	struct seen *old = im->seen;
	size_t oldcap = im->seen_cap;

	im->seen = calloc(cap, sizeof(*im->seen));
	if (!im->seen) {
		im->seen = old;
		return -1;
	}
	im->seen_cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].used)
			*seen_find(im, old[i].key) = old[i];
	free(old);
	return 0;
}

/* The slot for a new key (grown to stay at most half full). */
static struct seen *seen_insert(struct mc_importer *im, const uint8_t key[MC_HASH_LEN],
				struct mc_err *err)
{
	struct seen *sl;

	if (2 * (im->seen_n + 1) > im->seen_cap &&
	    seen_rehash(im, im->seen_cap ? 2 * im->seen_cap : SEEN_MIN) != 0) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		return NULL;
	}
	sl = seen_find(im, key);
	if (!sl->used) {
		memset(sl, 0, sizeof(*sl));
		sl->used = true;
		memcpy(sl->key, key, MC_HASH_LEN);
		im->seen_n++;
	}
	return sl;
}

/* Removes a key (backward shift: the keys after it in its run move up to
 * where a lookup starting at their home slot still finds them). */
static void seen_remove(struct mc_importer *im, struct seen *sl)
{
	size_t mask = im->seen_cap - 1, i = (size_t)(sl - im->seen), j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!im->seen[j].used)
			break;
		home = mc_from_be32(im->seen[j].key) & mask;
		/* it stays unless the hole at i lies between its home and j */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			im->seen[i] = im->seen[j];
			i = j;
		}
	}
	memset(&im->seen[i], 0, sizeof(im->seen[i]));
	im->seen_n--;
}

/* After the durable commit of the batch in sl: its keys leave `seen`
 * (unless a later batch holds a newer version); the chain answers for
 * them from now on. */
static void seen_evict(struct mc_importer *im, struct slot *sl)
{
	for (size_t i = 0; i < sl->nkeys; i++) {
		struct seen *e = seen_find(im, sl->keys[i]);

		if (e->used && e->gen == sl->gen)
			seen_remove(im, e);
	}
	sl->nkeys = 0;
	/* shrunk once an eighth full: the batches of a large store are smaller
	 * than the first ones (MC_IMPORT_DIRTY_BYTES), and every slot of the
	 * table is resident (issue 18); kept as it is if memory is short */
	if (im->seen_cap > SEEN_MIN && 8 * im->seen_n < im->seen_cap)
		(void)seen_rehash(im, im->seen_cap / 2);
}

/* The key's bits in `bloom` (the key is a keyed hash: uniform; bytes 4 on,
 * as `seen` takes the first four). */
static uint32_t bloom_bit(const uint8_t key[MC_HASH_LEN], int i)
{
	return mc_from_be32(key + 4 + 4 * i) & (BLOOM_BITS - 1);
}

static void bloom_add(struct mc_importer *im, const uint8_t key[MC_HASH_LEN])
{
	for (int i = 0; i < BLOOM_K; i++) {
		uint32_t b = bloom_bit(key, i);

		im->bloom[b / 64] |= (uint64_t)1 << (b % 64);
	}
}

static bool bloom_has(const struct mc_importer *im, const uint8_t key[MC_HASH_LEN])
{
	for (int i = 0; i < BLOOM_K; i++) {
		uint32_t b = bloom_bit(key, i);

		if (!(im->bloom[b / 64] & ((uint64_t)1 << (b % 64))))
			return false;
	}
	return true;
}

/* Begins the batch's read txn and sees whether `alone` still holds in it:
 * the batch being committed is in it when its first new record is. */
static int snap_begin(struct mc_importer *im, struct mc_err *err)
{
	uint8_t key[MC_RECORD_ID_LEN + 4];
	uint64_t rows, want = im->dk_rows;
	const void *v;
	size_t vn;
	int rc;

	if (mc_store_read_begin(im->s, &im->snap, err) != 0)
		return -1;
	if (!im->alone)
		return 0;
	if (im->inflight_fresh) {
		memcpy(key, im->inflight_id, MC_RECORD_ID_LEN);
		mc_be32(key + MC_RECORD_ID_LEN, 1);
		rc = mc_txn_get(im->snap, MC_DB_RECORDS, key, sizeof(key), &v, &vn, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			want += im->inflight_fresh;
	}
	if (mc_txn_count(im->snap, MC_DB_DUPKEYS, &rows, err) != 0)
		return -1;
	if (rows != want)
		im->alone = false;
	return 0;
}

/* The committed record a duplicate key (custodian pk || dupkey) names, at
 * its newest version, in the batch's read txn: 1 found, 0 not, -1 error.
 * Not found under the custodian's key, it is looked for under the keys the
 * custodian succeeded, newest first: an import run again after an org
 * rotate-key finds what the earlier key stored (erased records included). */
static int lookup_chain(struct mc_importer *im, uint8_t *ik, struct seen *out, struct mc_err *err)
{
	struct mc_record_state rs;
	const void *v;
	size_t vn;
	int rc;

	if (!im->snap && snap_begin(im, err) != 0)
		return -1;
	/* not on the chain: alone, and not one of this import's keys */
	if (im->alone && !bloom_has(im, ik + MC_PK_LEN))
		return 0;
	rc = mc_txn_get(im->snap, MC_DB_DUPKEYS, ik, MC_PK_LEN + MC_HASH_LEN, &v, &vn, err);
	for (size_t i = 0; rc == MC_NOTFOUND && i < im->npreds; i++) {
		memcpy(ik, im->preds[i], MC_PK_LEN);
		rc = mc_txn_get(im->snap, MC_DB_DUPKEYS, ik, MC_PK_LEN + MC_HASH_LEN, &v, &vn, err);
	}
	if (rc != 0)
		return rc == MC_NOTFOUND ? 0 : -1;
	if (vn != MC_RECORD_ID_LEN + MC_HASH_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed duplicate key index"));
	memset(out, 0, sizeof(*out));
	memcpy(out->id, v, MC_RECORD_ID_LEN);
	memcpy(out->ckey, (const uint8_t *)v + MC_RECORD_ID_LEN, MC_HASH_LEN);
	rc = mc_record_latest(im->snap, out->id, &rs, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("the duplicate key index names a missing record"));
	out->version = rs.entry.version;
	out->erased = rs.erased != 0;
	memcpy(out->leaf, rs.leaf, MC_HASH_LEN);
	return 1;
}

/* The subject's pseudonym and the record's duplicate key, and what it
 * names (*hit, NULL if nothing): this import's entry for it in `seen`, or
 * else what the chain holds, copied into *chain (not kept: the chain
 * answers the same next time). */
static int dup_lookup(struct mc_importer *im, const char *subject, const char *ref,
		      const char *category, const void *payload, size_t n,
		      uint8_t subj[MC_HASH_LEN], uint8_t key[MC_HASH_LEN], uint8_t ckey[MC_HASH_LEN],
		      struct seen *chain, struct seen **hit, struct mc_err *err)
{
	struct seen *sl;
	uint8_t ik[MC_PK_LEN + MC_HASH_LEN];
	int rc;

	*hit = NULL;
	if (mc_org_subject(im->org, subject, strlen(subject), subj, err) != 0 ||
	    mc_org_dupkey(im->org, subj, ref, category, payload, n, key, ckey, err) != 0)
		return -1;
	memcpy(ik, mc_org_pk(im->org), MC_PK_LEN);
	memcpy(ik + MC_PK_LEN, key, MC_HASH_LEN);
	sl = seen_find(im, key);
	if (sl->used) {
		*hit = sl;
		return 0;
	}
	rc = lookup_chain(im, ik, chain, err);
	if (rc < 0)
		return -1;
	if (rc > 0)
		*hit = chain;
	return 0;
}

static int dup_error(const struct seen *sl, struct mc_err *err)
{
	char hex[2 * MC_RECORD_ID_LEN + 1];

	mc_hex(sl->id, MC_RECORD_ID_LEN, hex);
	if (!sl->version)
		return mc_err_set(err, EX_DATAERR, _("a duplicate of an earlier record of this import"));
	return mc_err_set(err, EX_DATAERR, _("a duplicate of record %s"), hex);
}

int mc_importer_check(struct mc_importer *im, const char *subject, const char *ref,
		      const char *category, const void *payload, size_t n, struct mc_err *err)
{
	uint8_t subj[MC_HASH_LEN], key[MC_HASH_LEN], ckey[MC_HASH_LEN];
	struct seen chain, *hit;

	if (dup_lookup(im, subject, ref, category, payload, n, subj, key, ckey, &chain, &hit, err) != 0)
		return -1;
	if (hit)
		return dup_error(hit, err);
	return seen_insert(im, key, err) ? 0 : -1;   /* version 0: met in this check */
}

void mc_importer_checked(struct mc_importer *im)
{
	mc_store_read_end(im->snap);
	im->snap = NULL;
	if (im->seen)
		memset(im->seen, 0, im->seen_cap * sizeof(*im->seen));
	im->seen_n = 0;
}

static void slot_clear(struct slot *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		mc_sealed_release(&sl->recs[i]);
	sl->n = 0;
	sl->bytes = 0;
	memset(sl->touched, 0, sizeof(sl->touched));
}

static void *committer(void *arg)
{
	struct mc_importer *im = arg;

	pthread_mutex_lock(&im->mu);
	for (;;) {
		struct slot *sl;
		struct mc_produced out;
		struct mc_err err = { 0 };
		int rc;

		while (!im->ready && !im->done)
			pthread_cond_wait(&im->cv, &im->mu);
		if (!im->ready)
			break;
		sl = &im->slots[1 - im->filling];
		pthread_mutex_unlock(&im->mu);

		rc = mc_records_commit(im->s, im->node, im->author, im->org, sl->recs, sl->n, &out, &err);
		if (rc == 0)
			im->on_commit(im->ctx, sl->recs, sl->tags, sl->n, &out);

		pthread_mutex_lock(&im->mu);
		if (rc == 0) {
			im->committed += sl->n;
		} else if (!im->failed) {
			im->failed = true;
			im->err = err;
		}
		slot_clear(sl);
		im->ready = false;
		pthread_cond_broadcast(&im->cv);
		if (im->failed)
			break;
#ifdef __GLIBC__
		/* the batch's memory freed above and in the commit goes back to
		 * the system, not kept in the threads' malloc arenas between
		 * two batches (issue 18: 3 MiB of a 1M import's RSS); outside
		 * the lock, which the filling thread waits for */
		pthread_mutex_unlock(&im->mu);
		malloc_trim(0);
		pthread_mutex_lock(&im->mu);
#endif
	}
	pthread_mutex_unlock(&im->mu);
	return NULL;
}

/* At the start: the records stored, the duplicate key rows, and whether
 * none of them is the custodian's (`alone`). */
static int start_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_importer *im = vctx;
	const uint8_t *pk = mc_org_pk(im->org);
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc = 0;

	free(im->preds);   /* a txn run again */
	im->preds = NULL;
	/* before any lookup: who may not store records under this custodian
	 * learns nothing of what it holds (found in an attack, session 12: an
	 * auditor's and a patient's imports answered "duplicate" and
	 * "changed" for records they may not read) */
	if (mc_custody_may_store(t, im->author->pk, pk, err) != 0 ||
	    mc_custody_predecessors(t, pk, &im->preds, &im->npreds, err) != 0)
		return -1;
	if (mc_txn_count(t, MC_DB_RECORDS, &im->stored, err) != 0 ||
	    mc_txn_count(t, MC_DB_DUPKEYS, &im->dk_rows, err) != 0 ||
	    mc_cursor_open(t, MC_DB_DUPKEYS, &c, err) != 0)
		return -1;
	/* alone: no key of the custodian, nor of a key it succeeded (whose
	 * keys are its own: lookup_chain) */
	im->alone = true;
	for (size_t i = 0; im->alone && i <= im->npreds; i++) {
		const uint8_t *who = i == 0 ? pk : im->preds[i - 1];

		rc = mc_cursor_seek(c, who, MC_PK_LEN, &k, &kn, NULL, NULL, err);
		if (rc < 0)
			break;
		im->alone = rc == MC_NOTFOUND || kn < MC_PK_LEN || memcmp(k, who, MC_PK_LEN) != 0;
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* The committer: 0, or -1 with nothing left running. */
static int start_threads(struct mc_importer *im)
{
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cv, NULL);
	if (pthread_create(&im->thread, NULL, committer, im) == 0)
		return 0;
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cv);
	return -1;
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MC_RECORD_ID_LEN);
}

/* The next IDS_CHUNK record ids and their sealing randomness, one draw a
 * chunk instead of a few system calls a record (and not a whole batch's
 * worth, MC_BATCH_MAX, whatever the batch holds). An id is the chunk's
 * time in ms (48 bits, big-endian) and 80 random bits, the chunk's ids in
 * ascending order and above the previous chunk's: the records table (keyed
 * by id) then grows at its end, a batch dirtying only the pages it fills
 * instead of one old leaf page a record (docs/decisions.md). */
static void draw_ids(struct mc_importer *im)
{
	uint64_t ms = mc_now_ms();
	uint8_t be[8];

	/* and above the previous chunk's, drawn in the same ms or before a
	 * step back of the clock */
	if (ms <= im->id_ms)
		ms = im->id_ms + 1;
	im->id_ms = ms;

	/* each from a seed of the system's generator (a system call every
	 * 256 bytes otherwise) */
	mc_random_expand(im->ids, IDS_CHUNK * MC_RECORD_ID_LEN);
	mc_random_expand(im->rnd, IDS_CHUNK * MC_SEAL_RANDOM);
	mc_be64(be, ms);
	for (size_t i = 0; i < IDS_CHUNK; i++)
		memcpy(im->ids + i * MC_RECORD_ID_LEN, be + 2, 6);
	qsort(im->ids, IDS_CHUNK, MC_RECORD_ID_LEN, id_cmp);
	im->drawn = 0;
}

static void release(struct mc_importer *im)
{
	for (int i = 0; i < 2; i++) {
		slot_clear(&im->slots[i]);
		free(im->slots[i].recs);
		free(im->slots[i].tags);
		free(im->slots[i].keys);
	}
	free(im->ids);
	free(im->seen);
	free(im->preds);
	free(im->bloom);
	mc_secure_free(im->rnd);
	free(im);
}

int mc_importer_start(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, size_t batch, enum mc_dup_mode dup,
		      mc_import_commit_fn on_commit, void *ctx, struct mc_importer **out,
		      struct mc_err *err)
{
	struct mc_importer *im = calloc(1, sizeof(*im));

	*out = NULL;
	if (!im)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (batch == 0 || batch > MC_BATCH_MAX)
		batch = MC_BATCH_MAX;
	im->s = s;
	im->node = node;
	im->author = author;
	im->org = org;
	im->cap = batch;
	im->dup = dup;
	im->on_commit = on_commit;
	im->ctx = ctx;
	for (int i = 0; i < 2; i++) {
		im->slots[i].recs = calloc(batch, sizeof(struct mc_sealed));
		im->slots[i].tags = calloc(batch, sizeof(unsigned long));
		im->slots[i].keys = malloc(batch * MC_HASH_LEN);
	}
	im->slots[0].gen = im->gen = 1;
	im->seen_cap = SEEN_MIN;
	im->seen = calloc(im->seen_cap, sizeof(*im->seen));
	im->ids = malloc(IDS_CHUNK * MC_RECORD_ID_LEN);
	im->rnd = mc_secure_alloc(IDS_CHUNK * MC_SEAL_RANDOM);
	im->bloom = calloc(BLOOM_BITS / 64, sizeof(uint64_t));
	if (!im->slots[0].recs || !im->slots[1].recs || !im->slots[0].tags || !im->slots[1].tags ||
	    !im->slots[0].keys || !im->slots[1].keys || !im->ids || !im->rnd || !im->seen || !im->bloom)
		goto oom;
	draw_ids(im);
	if (mc_store_read(s, start_txn, im, err) != 0) {
		release(im);
		return -1;
	}
	/* before the committer starts: it reads the setting; measured from the
	 * process's file-backed pages with none of the map's */
	mc_store_trim(s);
	mc_store_autotrim_shared(s, MC_IMPORT_TRIM_ABOVE, MC_IMPORT_TRIM_EVERY);
	if (start_threads(im) != 0)
		goto oom;
	*out = im;
	return 0;
oom:
	mc_store_autotrim_shared(s, 0, 0);
	release(im);
	return mc_err_set(err, EX_OSERR, _("out of memory"));
}

/* Hands the filling slot to the committer (waiting while it is busy). The
 * slot the caller fills next holds a batch whose commit is durable: its
 * keys leave `seen`, and the next lookup takes a read txn that sees it. */
static int hand_over(struct mc_importer *im, struct mc_err *err)
{
	int rc = 0;

	/* the committer may need to grow the map, which waits for readers */
	mc_store_read_end(im->snap);
	im->snap = NULL;
	pthread_mutex_lock(&im->mu);
	while (im->ready && !im->failed)
		pthread_cond_wait(&im->cv, &im->mu);
	if (im->failed) {
		*err = im->err;
		rc = -1;
	} else {
		/* the batch committed before is durable; this one goes */
		im->dk_rows += im->inflight_fresh;
		im->inflight_fresh = im->slots[im->filling].nfresh;
		memcpy(im->inflight_id, im->slots[im->filling].fresh_id, MC_RECORD_ID_LEN);
		im->filling = 1 - im->filling;
		im->ready = true;
		pthread_cond_broadcast(&im->cv);
	}
	pthread_mutex_unlock(&im->mu);
	if (rc == 0) {
		struct slot *sl = &im->slots[im->filling];

		seen_evict(im, sl);
		sl->gen = ++im->gen;
		sl->nfresh = 0;
	}
	return rc;
}

/* The bytes of a record's row in each index table it is put in (key, value
 * and LMDB's node header, rounded up), and the bytes of a leaf page they
 * fill on average with random keys (about 69% of 4 KiB). */
static const double index_row[3] = { 96, 112, 64 };
#define LEAF_FILL 2826.0
#define ENTRY_BYTES 256.0   /* an entry in the tx's attachment, and its leaf */

/* Counts the record just added to sl (fresh: a new id, which the records
 * table appends: draw_ids); returns what the commit of the batch is
 * expected to dirty: its ciphertexts and entries, the records table's new
 * pages, and for each random key the distinct leaf pages those keys land
 * in: each new key adds the chance that its page is not one of those
 * already touched (1 - touched / pages). */
static double dirty_add(const struct mc_importer *im, struct slot *sl, bool fresh)
{
	double pages = 0;

	for (int t = 0; t < 3; t++) {
		double p = (double)im->stored * index_row[t] / LEAF_FILL;

		if (p < 1)
			p = 1;
		if (t == 0 && fresh)
			sl->touched[t] += index_row[t] / 4096;
		else
			sl->touched[t] += 1 - (sl->touched[t] < p ? sl->touched[t] / p : 1);
		pages += sl->touched[t];
	}
	return (double)sl->bytes + ENTRY_BYTES * (double)sl->n + 4096 * pages;
}

int mc_importer_add(struct mc_importer *im, const char *subject, const char *ref,
		    const char *category, const char *ctype, const void *payload, size_t n,
		    unsigned long tag, struct mc_import_dup *dup, struct mc_err *err)
{
	struct slot *sl = &im->slots[im->filling];
	uint8_t subj[MC_HASH_LEN], key[MC_HASH_LEN], ckey[MC_HASH_LEN];
	const uint8_t *id, *prev = NULL;
	uint32_t version = 1;
	struct seen chain, *hit;
	struct mc_sealed *rec = &sl->recs[sl->n];

	if (dup_lookup(im, subject, ref, category, payload, n, subj, key, ckey, &chain, &hit, err) != 0)
		return -1;
	if (hit && im->dup == MC_DUP_ERROR && !hit->erased)
		return dup_error(hit, err);
	/* never stored again: the same content, anything of an erased record
	 * (an import never brings erased data back), and, unless asked to
	 * version it, a resource whose content changed (reported as such) */
	if (hit && (hit->erased || memcmp(hit->ckey, ckey, MC_HASH_LEN) == 0 || im->dup == MC_DUP_SKIP)) {
		memcpy(dup->id, hit->id, MC_RECORD_ID_LEN);
		dup->erased = hit->erased;
		dup->changed = !hit->erased && memcmp(hit->ckey, ckey, MC_HASH_LEN) != 0;
		return 1;
	}
	if (im->drawn == IDS_CHUNK)
		draw_ids(im);
	id = im->ids + im->drawn * MC_RECORD_ID_LEN;
	if (hit) {
		id = hit->id;
		version = hit->version + 1;
		prev = hit->leaf;
	}
	if (mc_record_seal_rnd(im->org, id, version, prev, subj, category, ctype, payload, n,
			       im->rnd + im->drawn * MC_SEAL_RANDOM, rec, err) != 0)
		return -1;
	im->drawn++;
	rec->entry.keyed = true;
	memcpy(rec->entry.dupkey, key, MC_HASH_LEN);
	memcpy(rec->entry.ckey, ckey, MC_HASH_LEN);
	if ((!hit || hit == &chain) && !(hit = seen_insert(im, key, err))) {
		mc_sealed_release(rec);
		return -1;
	}
	memcpy(hit->id, rec->entry.id, MC_RECORD_ID_LEN);
	memcpy(hit->ckey, ckey, MC_HASH_LEN);
	hit->version = version;
	hit->erased = false;
	hit->gen = sl->gen;
	mc_entry_leaf(&rec->entry, rec->leaf);
	rec->has_leaf = true;
	memcpy(hit->leaf, rec->leaf, MC_HASH_LEN);
	memcpy(sl->keys[sl->nkeys++], key, MC_HASH_LEN);
	bloom_add(im, key);
	if (version == 1 && sl->nfresh++ == 0)
		memcpy(sl->fresh_id, rec->entry.id, MC_RECORD_ID_LEN);
	sl->tags[sl->n] = tag;
	sl->bytes += rec->ct_len;
	sl->n++;
	im->stored++;
	/* full in count, or in bytes: one tx a batch must fit what a node
	 * takes in one request (MC_IMPORT_BATCH_BYTES), and its dirty pages
	 * the memory an import may use (MC_IMPORT_DIRTY_BYTES) */
	if (sl->n == im->cap || sl->bytes >= MC_IMPORT_BATCH_BYTES || dirty_add(im, sl, version == 1) >= MC_IMPORT_DIRTY_BYTES)
		return hand_over(im, err);
	return 0;
}

int mc_importer_finish(struct mc_importer *im, int abandon, unsigned long long *committed,
		       struct mc_err *err)
{
	int rc = 0;

	if (!abandon && im->slots[im->filling].n > 0)
		rc = hand_over(im, err);
	mc_store_read_end(im->snap);
	im->snap = NULL;
	pthread_mutex_lock(&im->mu);
	im->done = true;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	pthread_join(im->thread, NULL);
	mc_store_autotrim_shared(im->s, 0, 0);
	if (rc == 0 && im->failed) {
		*err = im->err;
		rc = -1;
	}
	*committed = im->committed;
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cv);
	release(im);
	return rc;
}
