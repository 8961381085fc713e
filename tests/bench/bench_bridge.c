/* SPDX-License-Identifier: Apache-2.0 */
/* bench_bridge - the Bridge issue's in-process measurements.
 *
 *   grow DATADIR N [K] appends N blocks (K IDENTITY_ENROLLs each, default 1,
 *                      by the node's admin, each a name of its own) to a
 *                      data dir made by `medchain init --no-passphrase`: a
 *                      long chain, or many identities, to measure on; prints
 *                      the enrolment rate
 *   proof DATADIR      builds the proof bundle of every record many times:
 *                      microseconds per proof, and its size (binary and
 *                      JSON) beside the budget 32 x (log2(blocks) +
 *                      log2(txs in the block)) + 1 KiB
 *
 * Prints figures; never fails on a budget.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "keystore.h"
#include "proof.h"
#include "records.h"
#include "store.h"
#include "tx.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct mc_key *load(const char *dir, const char *name)
{
	char path[4096];
	struct mc_key *k = NULL;
	struct mc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/keys/%s.key", dir, name);
	if (mc_key_load(path, NULL, 0, &k, &err) != 0) {
		fprintf(stderr, "bench_bridge: %s\n", err.msg);
		exit(1);
	}
	return k;
}

struct grow {
	const struct mc_key *admin;
	uint64_t i, per_block;
	uint32_t tag;   /* names differ from another run's on the same dir */
};

static int grow_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct grow *g = vctx;
	int rc = 0;

	for (uint64_t k = 0; k < g->per_block && rc == 0; k++) {
		struct mc_enroll e;
		struct mc_buf body;
		char name[48];

		memset(&e, 0, sizeof(e));
		mc_random(e.pk, sizeof(e.pk));
		e.roles = MC_ROLE_AUDITOR;
		snprintf(name, sizeof(name), "bench-%08x-%llu", (unsigned)g->tag,
			 (unsigned long long)(g->i * g->per_block + k));
		e.name = (const uint8_t *)name;
		e.name_len = strlen(name);
		mc_buf_init(&body);
		mc_enroll_encode(&e, &body);
		rc = mc_builder_add_new(t, b, g->admin, MC_TX_IDENTITY_ENROLL, body.data, body.len, NULL, 0, err);
		mc_buf_release(&body);
	}
	return rc;
}

static int cmd_grow(const char *dir, uint64_t n, uint64_t per_block)
{
	char db[4096];
	struct mc_store *s;
	struct mc_err err = { 0 };
	struct mc_key *node = load(dir, "node"), *admin = load(dir, "admin");
	struct grow g = { admin, 0, per_block, 0 };
	double t0 = now_s(), dt;

	mc_random(&g.tag, sizeof(g.tag));
	snprintf(db, sizeof(db), "%s/db", dir);
	if (mc_store_open(db, 0, &s, &err) != 0) {
		fprintf(stderr, "bench_bridge: %s\n", err.msg);
		return 1;
	}
	for (g.i = 0; g.i < n; g.i++) {
		struct mc_produced out;

		if (mc_chain_produce(s, node, grow_build, &g, &out, &err) != 0) {
			fprintf(stderr, "bench_bridge: %s\n", err.msg);
			return 1;
		}
	}
	dt = now_s() - t0;
	printf("  appended %llu blocks in %.1f s (%.0f enrolments/s)\n", (unsigned long long)n, dt,
	       dt > 0 ? (double)(n * per_block) / dt : 0.0);
	mc_store_close(s);
	mc_key_free(node);
	mc_key_free(admin);
	return 0;
}

struct ids {
	uint8_t (*id)[MC_RECORD_ID_LEN];
	size_t n, cap;
	uint64_t blocks;
};

static int ids_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct ids *ids = vctx;
	struct mc_cursor *c;
	struct mc_head head;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (mc_chain_head(t, &head, err) != 0 || mc_cursor_open(t, MC_DB_RECORDS, &c, err) != 0)
		return -1;
	ids->blocks = head.height + 1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0 && ids->n < ids->cap;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err))
		memcpy(ids->id[ids->n++], k, MC_RECORD_ID_LEN);
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

struct one {
	const uint8_t *id;
	struct mc_proof *p;
};

static int proof_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct one *o = vctx;

	free(o->p->tx);
	o->p->tx = NULL;
	return mc_proof_build(t, o->id, 0, o->p, err);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_proof(const char *dir)
{
	char db[4096];
	struct mc_store *s;
	struct mc_err err = { 0 };
	struct ids ids = { NULL, 0, 1000, 0 };
	struct mc_proof *p = mc_proof_new();
	struct one o = { NULL, p };
	size_t rounds = 20, k = 0, bin = 0, json = 0, entries = 0, txs = 0;
	double *us;

	snprintf(db, sizeof(db), "%s/db", dir);
	ids.id = malloc(ids.cap * MC_RECORD_ID_LEN);
	if (!p || !ids.id || mc_store_open(db, MC_STORE_RDONLY, &s, &err) != 0 ||
	    mc_store_read(s, ids_txn, &ids, &err) != 0) {
		fprintf(stderr, "bench_bridge: %s\n", err.msg);
		return 1;
	}
	us = malloc(ids.n * rounds * sizeof(double));
	for (size_t r = 0; r < rounds; r++) {
		for (size_t i = 0; i < ids.n; i++) {
			struct mc_buf b;
			double t0 = now_s();

			o.id = ids.id[i];
			if (mc_store_read(s, proof_txn, &o, &err) != 0) {
				fprintf(stderr, "bench_bridge: %s\n", err.msg);
				return 1;
			}
			mc_buf_init(&b);
			mc_proof_render(p, &b);
			us[k++] = (now_s() - t0) * 1e6;
			if (r == 0) {
				json += b.len;
				bin += p->entry_len + p->tx_len + MC_HEADER_LEN + p->cert_len +
				       32 * (p->entry_path_len + p->tx_path_len + p->tree_path_len +
					     p->nvalidators + 1) + 16 + 4 * 8 + 32 + 8 + 32 + 20 + 8;
				entries += p->entry_count;
				txs += p->tx_count;
			}
			mc_buf_release(&b);
		}
	}
	qsort(us, k, sizeof(double), cmp_double);
	{
		double lb = log2((double)ids.blocks), avg_entries = (double)entries / (double)ids.n;
		double budget_tx = 32 * (lb + log2((double)txs / (double)ids.n)) + 1024;
		double budget_units = 32 * (lb + log2((double)txs / (double)ids.n * avg_entries)) + 1024;

		printf("  proof export (build + render), %zu records x %zu, chain of %llu blocks:\n", ids.n, rounds,
		       (unsigned long long)ids.blocks);
		printf("    median %.0f us, p99 %.0f us a proof  (%.2fx the 1 ms budget at the median)\n",
		       us[k / 2], us[k * 99 / 100], us[k / 2] / 1000.0);
		printf("    size: %zu bytes of proof material (%zu as JSON, hex) per proof on average;\n",
		       bin / ids.n, json / ids.n);
		printf("    budget 32 x (log2 blocks + log2 txs in the block) + 1 KiB = %.0f bytes counting txs,\n"
		       "    %.0f counting the records in the block (%.0f entries per record batch): %.2fx / %.2fx\n",
		       budget_tx, budget_units, avg_entries, (double)(bin / ids.n) / budget_tx,
		       (double)(bin / ids.n) / budget_units);
	}
	free(us);
	free(ids.id);
	mc_proof_free(p);
	mc_store_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (mc_crypto_init() != 0)
		return 1;
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "grow") == 0)
		return cmd_grow(argv[2], strtoull(argv[3], NULL, 10), argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
	if (argc == 3 && strcmp(argv[1], "proof") == 0)
		return cmd_proof(argv[2]);
	fprintf(stderr, "usage: bench_bridge grow DATADIR N [K] | proof DATADIR\n");
	return 64;
}
