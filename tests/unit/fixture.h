/* SPDX-License-Identifier: Apache-2.0 */
/* A node on a temporary LMDB store, for unit tests of chain and records. */
#ifndef MC_TEST_FIXTURE_H
#define MC_TEST_FIXTURE_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "crypto.h"
#include "identity.h"
#include "keystore.h"
#include "records.h"
#include "store.h"

struct fx {
	char dir[64];
	struct mc_store *s;
	struct mc_key *node, *admin, *org;
	struct mc_org *o;
};

static struct fx fx;

static int fx_rm(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

static int fx_kek(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	(void)ctx;
	return mc_kek_create(t, fx.org->pk, 0, err);
}

static void fx_setup(void)
{
	struct mc_err err = { 0 };
	struct mc_produced out;

	cr_assert_eq(mc_crypto_init(), 0);
	strcpy(fx.dir, "/tmp/mc-unit-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	cr_assert_eq(mc_store_open(fx.dir, MC_STORE_CREATE, &fx.s, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &fx.node, &err), 0);
	cr_assert_eq(mc_key_generate(false, &fx.admin, &err), 0);
	cr_assert_eq(mc_key_generate(true, &fx.org, &err), 0);
	struct mc_genesis_identity ids[] = {
		{ fx.node, MC_ROLE_NODE, "n1", "Org" },
		{ fx.admin, MC_ROLE_ADMIN, "admin", "Org" },
		{ fx.org, MC_ROLE_ORG, "Org", "Org" },
	};
	cr_assert_eq(mc_chain_genesis(fx.s, fx.node, ids, 3, fx_kek, NULL, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.height, 0);
	cr_assert_eq(mc_org_open(fx.s, fx.org, &fx.o, &err), 0, "%s", err.msg);
}

static void fx_teardown(void)
{
	mc_org_free(fx.o);
	mc_key_free(fx.node);
	mc_key_free(fx.admin);
	mc_key_free(fx.org);
	mc_store_close(fx.s);
	nftw(fx.dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
	memset(&fx, 0, sizeof(fx));
}

/* Seals and commits one record; returns its id in id. */
static inline int fx_put(const char *subject, const char *payload, uint8_t id[MC_RECORD_ID_LEN],
			 struct mc_err *err)
{
	uint8_t subj[MC_HASH_LEN];
	struct mc_sealed s;
	struct mc_produced out;
	int rc;

	if (mc_org_subject(fx.o, subject, strlen(subject), subj, err) != 0)
		return -1;
	mc_random(id, MC_RECORD_ID_LEN);
	if (mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", payload, strlen(payload),
			   &s, err) != 0)
		return -1;
	rc = mc_records_commit(fx.s, fx.node, fx.admin, fx.o, &s, 1, &out, err);
	mc_sealed_release(&s);
	return rc;
}

/* One tx of type with body, signed by author, applied straight into the
 * store as tx 0 of block `height` (no block made: for rules tests that need
 * no certificate). */
struct fx_apply_ctx {
	const struct mc_key *author;
	unsigned type;
	const uint8_t *body;
	size_t len;
	uint64_t height;
};

static inline int fx_apply_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct fx_apply_ctx *c = vctx;
	struct mc_head h;
	struct mc_tx tx, dec;
	struct mc_apply_ctx ax;
	struct mc_buf enc;
	int rc;

	if (mc_chain_head(t, &h, err) != 0)
		return -1;
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)c->type;
	memcpy(tx.author, c->author->pk, MC_PK_LEN);
	tx.timestamp_ms = mc_now_ms();
	if (mc_builder_next_seq(t, c->author->pk, &tx.seq, err) != 0)
		return -1;
	tx.body = c->body;
	tx.body_len = c->len;
	mc_tx_sign(&tx, h.chain_id, c->author->sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &dec, err), 0);
	memset(&ax, 0, sizeof(ax));
	ax.height = c->height;
	ax.block_time_ms = tx.timestamp_ms;
	memcpy(ax.chain_id, h.chain_id, MC_HASH_LEN);
	rc = mc_chain_apply_tx(t, &ax, &dec, enc.data, enc.len, err);
	mc_buf_release(&enc);
	return rc;
}

static inline int fx_apply_tx(struct mc_store *s, const struct mc_key *author, unsigned type,
			      const uint8_t *body, size_t len, uint64_t height, struct mc_err *err)
{
	struct fx_apply_ctx c = { author, type, body, len, height };

	return mc_store_write(s, fx_apply_txn, &c, err);
}

#endif
