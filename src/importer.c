/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "importer.h"

struct slot {
	struct mc_sealed *recs;
	unsigned long *tags;
	size_t n;
	size_t bytes;              /* ciphertext in the batch */
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
	uint8_t *ids;              /* random record ids for the filling slot */
	uint8_t *rnd;              /* and its sealing randomness (guarded memory) */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void slot_clear(struct slot *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		mc_sealed_release(&sl->recs[i]);
	sl->n = 0;
	sl->bytes = 0;
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
	}
	pthread_mutex_unlock(&im->mu);
	return NULL;
}

int mc_importer_start(struct mc_store *s, const struct mc_key *node, const struct mc_key *author,
		      const struct mc_org *org, size_t batch, mc_import_commit_fn on_commit,
		      void *ctx, struct mc_importer **out, struct mc_err *err)
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
	im->on_commit = on_commit;
	im->ctx = ctx;
	for (int i = 0; i < 2; i++) {
		im->slots[i].recs = calloc(batch, sizeof(struct mc_sealed));
		im->slots[i].tags = calloc(batch, sizeof(unsigned long));
	}
	im->ids = malloc(batch * MC_RECORD_ID_LEN);
	im->rnd = mc_secure_alloc(batch * MC_SEAL_RANDOM);
	if (!im->slots[0].recs || !im->slots[1].recs || !im->slots[0].tags || !im->slots[1].tags ||
	    !im->ids || !im->rnd)
		goto oom;
	/* One draw a batch instead of a few system calls a record. */
	mc_random(im->ids, batch * MC_RECORD_ID_LEN);
	mc_random(im->rnd, batch * MC_SEAL_RANDOM);
	pthread_mutex_init(&im->mu, NULL);
	pthread_cond_init(&im->cv, NULL);
	if (pthread_create(&im->thread, NULL, committer, im) != 0) {
		pthread_mutex_destroy(&im->mu);
		pthread_cond_destroy(&im->cv);
		goto oom;
	}
	*out = im;
	return 0;
oom:
	for (int i = 0; i < 2; i++) {
		free(im->slots[i].recs);
		free(im->slots[i].tags);
	}
	free(im->ids);
	mc_secure_free(im->rnd);
	free(im);
	return mc_err_set(err, EX_OSERR, _("out of memory"));
}

/* Hands the filling slot to the committer (waiting while it is busy). */
static int hand_over(struct mc_importer *im, struct mc_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&im->mu);
	while (im->ready && !im->failed)
		pthread_cond_wait(&im->cv, &im->mu);
	if (im->failed) {
		*err = im->err;
		rc = -1;
	} else {
		im->filling = 1 - im->filling;
		im->ready = true;
		pthread_cond_broadcast(&im->cv);
	}
	pthread_mutex_unlock(&im->mu);
	if (rc == 0) {
		mc_random(im->ids, im->cap * MC_RECORD_ID_LEN);
		mc_random(im->rnd, im->cap * MC_SEAL_RANDOM);
	}
	return rc;
}

int mc_importer_add(struct mc_importer *im, const char *subject, const char *category,
		    const char *ctype, const void *payload, size_t n, unsigned long tag,
		    struct mc_err *err)
{
	struct slot *sl = &im->slots[im->filling];
	uint8_t subj[MC_HASH_LEN];

	if (mc_org_subject(im->org, subject, strlen(subject), subj, err) != 0 ||
	    mc_record_seal_rnd(im->org, im->ids + sl->n * MC_RECORD_ID_LEN, 1, NULL, subj, category,
			       ctype, payload, n, im->rnd + sl->n * MC_SEAL_RANDOM, &sl->recs[sl->n],
			       err) != 0)
		return -1;
	sl->tags[sl->n] = tag;
	sl->bytes += sl->recs[sl->n].ct_len;
	sl->n++;
	/* full in count, or in bytes: one tx a batch must fit what a node
	 * takes in one request (MC_IMPORT_BATCH_BYTES) */
	if (sl->n == im->cap || sl->bytes >= MC_IMPORT_BATCH_BYTES)
		return hand_over(im, err);
	return 0;
}

int mc_importer_finish(struct mc_importer *im, int abandon, unsigned long long *committed,
		       struct mc_err *err)
{
	int rc = 0;

	if (!abandon && im->slots[im->filling].n > 0)
		rc = hand_over(im, err);
	pthread_mutex_lock(&im->mu);
	im->done = true;
	pthread_cond_broadcast(&im->cv);
	pthread_mutex_unlock(&im->mu);
	pthread_join(im->thread, NULL);
	if (rc == 0 && im->failed) {
		*err = im->err;
		rc = -1;
	}
	*committed = im->committed;
	for (int i = 0; i < 2; i++) {
		slot_clear(&im->slots[i]);
		free(im->slots[i].recs);
		free(im->slots[i].tags);
	}
	free(im->ids);
	mc_secure_free(im->rnd);
	pthread_mutex_destroy(&im->mu);
	pthread_cond_destroy(&im->cv);
	free(im);
	return rc;
}
