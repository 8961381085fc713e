/* SPDX-License-Identifier: Apache-2.0 */
/* medchain org rotate-key: a new key for the node's organization.
 *
 * The order makes a kill at any instant leave the old or the new state:
 *   1. the new key is written (sealed as keys/org.key is) to
 *      keys/<new key>.key: a spare file until the chain names it;
 *   2. one write transaction reseals every KEK the old key holds to the
 *      new one, draws the new organization's first KEK and commits the
 *      ORG_ROTATE (the old key's KEKs and every wrapped key stay);
 *   3. keys/org.key is kept as keys/retired/<old key>.key and the new key
 *      renamed over it (mc_key_promote). Any command that loads the
 *      organization key finishes step 3 if a kill stopped it
 *      (mc_cli_org_finish in cli.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "crypto.h"
#include "i18n.h"
#include "identity.h"
#include "nodekey.h"
#include "orgrot.h"
#include "records.h"

struct rot_ctx {
	const struct mc_key *author, *oldk, *newk;
	uint8_t *items;       /* count x MC_ORGROT_ITEM_LEN */
	uint32_t count, cap;
	struct mc_buf body;
};

static int item_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MC_PK_LEN + 4);
}

/* Reseals one KEK (sealed to the old key) to the new key as an item. */
static int reseal(struct rot_ctx *c, const uint8_t origin[MC_PK_LEN], uint32_t epoch,
		  const void *sealed, size_t n, struct mc_err *err)
{
	uint8_t *kek, *it;
	int rc = 0;

	if (n != MC_ORGROT_SEALED_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed sealed key-encryption key"));
	if (c->count == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 16;
		void *p;

		if (c->count >= MC_ORGROT_MAX)
			return mc_err_set(err, EX_DATAERR,
					  _("the organization holds more than %u key-encryption keys"),
					  MC_ORGROT_MAX);
		p = realloc(c->items, (size_t)cap * MC_ORGROT_ITEM_LEN);
		if (!p)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		c->items = p;
		c->cap = cap;
	}
	kek = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!kek)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	it = c->items + (size_t)c->count * MC_ORGROT_ITEM_LEN;
	memcpy(it, origin, MC_PK_LEN);
	mc_be32(it + MC_PK_LEN, epoch);
	if (mc_seal_open(c->oldk->sk, sealed, n, kek) != 0)
		rc = mc_err_set(err, EX_DATAERR,
				_("a key-encryption key of the organization does not open with its key"));
	else if (mc_seal(c->newk->pk, kek, MC_AEAD_KEY_LEN, it + MC_PK_LEN + 4) != 0)
		rc = mc_err_set(err, EX_SOFTWARE, _("cannot seal the key-encryption key"));
	mc_secure_free(kek);
	if (rc == 0)
		c->count++;
	return rc;
}

/* Every KEK the old key holds: its own epochs (MC_DB_KEKS) and those it
 * holds from organizations it succeeded (MC_DB_ORGKEKS). */
static int reseal_all(struct mc_txn *t, struct rot_ctx *c, struct mc_err *err)
{
	static const enum mc_db dbs[] = { MC_DB_KEKS, MC_DB_ORGKEKS };
	const uint8_t *old = c->oldk->pk;

	for (size_t d = 0; d < 2; d++) {
		size_t want = dbs[d] == MC_DB_KEKS ? MC_PK_LEN + 4 : MC_ORGKEKS_KEY_LEN;
		struct mc_cursor *cur;
		const void *k, *v;
		size_t kn, vn;
		int rc, vr = 0;

		if (mc_cursor_open(t, dbs[d], &cur, err) != 0)
			return -1;
		for (rc = mc_cursor_seek(cur, old, MC_PK_LEN, &k, &kn, &v, &vn, err);
		     rc == 0 && vr == 0 && kn >= MC_PK_LEN && memcmp(k, old, MC_PK_LEN) == 0;
		     rc = mc_cursor_next(cur, &k, &kn, &v, &vn, err)) {
			const uint8_t *key = k;

			if (kn != want)
				continue;
			if (dbs[d] == MC_DB_KEKS)
				vr = reseal(c, old, mc_from_be32(key + MC_PK_LEN), v, vn, err);
			else
				vr = reseal(c, key + MC_PK_LEN, mc_from_be32(key + 2 * MC_PK_LEN), v, vn, err);
		}
		mc_cursor_close(cur);
		if (rc < 0 || vr != 0)
			return -1;
	}
	if (c->count > 1)
		qsort(c->items, c->count, MC_ORGROT_ITEM_LEN, item_cmp);
	return 0;
}

static int rot_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct rot_ctx *c = vctx;
	struct mc_org_rotate r;
	uint8_t digest[MC_HASH_LEN];

	/* read inside the write transaction: what is resealed is what the
	 * rotation's rule checks */
	c->count = 0;
	if (reseal_all(t, c, err) != 0)
		return -1;
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, c->oldk->pk, MC_PK_LEN);
	memcpy(r.new_pk, c->newk->pk, MC_PK_LEN);
	r.count = c->count;
	mc_org_rotate_keks_hash(c->items, c->count, r.keks_hash);
	mc_org_rotate_digest(mc_builder_chain_id(b), &r, digest);
	mc_sign(c->oldk->sk, digest, sizeof(digest), r.old_sig);
	mc_sign(c->newk->sk, digest, sizeof(digest), r.new_sig);
	mc_buf_reset(&c->body);
	mc_org_rotate_encode(&r, &c->body);
	if (mc_buf_failed(&c->body))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	/* the new organization's first KEK: new records go under it */
	if (mc_kek_create(t, c->newk->pk, 0, err) != 0)
		return -1;
	return mc_builder_add_new(t, b, c->author, MC_TX_ORG_ROTATE, c->body.data, c->body.len,
				  c->items, (size_t)c->count * MC_ORGROT_ITEM_LEN, err);
}

/* The organization's current key (cli->org_key, from keys/org.key in
 * orgpath; *sealed: whether the file is), which must be an active
 * organization's and carry its pseudonym key. */
static int org_old_key(struct mc_cli *cli, const char *orgpath, bool *sealed, char oldhex[2 * MC_PK_LEN + 1],
		       struct mc_err *err)
{
	struct mc_identity oldid;
	uint8_t filepk[MC_PK_LEN];

	if (mc_key_peek(orgpath, filepk, sealed, err) != 0)
		return -1;
	mc_hex(cli->org_key->pk, MC_PK_LEN, oldhex);
	if (mc_cli_find_identity(cli, oldhex, &oldid, err) != 0)
		return -1;
	if (!(oldid.roles & MC_ROLE_ORG) || oldid.revoked != MC_NOT_REVOKED)
		return mc_err_set(err, EX_DATAERR, _("keys/org.key is not an active organization's key"));
	if (!cli->org_key->has_pseudo)
		return mc_err_set(err, EX_DATAERR, _("the organization key has no pseudonym key"));
	return 0;
}

/* A new signing and sealing key; the pseudonym key stays, or every
 * patient would get another pseudonym (docs/decisions.md). Written to
 * newpath (keys/<new key>.key), sealed as the old one is: under the
 * node's passphrase. */
static int org_new_key(struct mc_cli *cli, const struct mc_key *oldk, bool sealed, struct mc_key **newk,
		       char newhex[2 * MC_PK_LEN + 1], char *newpath, struct mc_err *err)
{
	char rel[200];

	if (mc_key_generate(true, newk, err) != 0)
		return -1;
	memcpy((*newk)->pseudo, oldk->pseudo, sizeof((*newk)->pseudo));
	mc_hex((*newk)->pk, MC_PK_LEN, newhex);
	snprintf(rel, sizeof(rel), "keys/%s.key", newhex);
	mc_cli_path(cli, newpath, PATH_MAX, rel);
	return mc_cli_save_key(newpath, *newk, sealed ? cli->pass : NULL, sealed ? cli->passlen : 0, err);
}

/* A refusal or a local failure commits nothing: the spare key goes. With
 * several validators an unknown outcome keeps it, so that a rotation
 * committed after all can be finished. */
static void org_not_committed(const struct mc_err *err, const char *newpath)
{
	if (err->code == EX_DATAERR || err->code == EX_NOPERM || err->code == EX_USAGE ||
	    err->code == EX_OSERR || err->code == EX_SOFTWARE)
		unlink(newpath);
	else
		fprintf(stderr, _("medchain: the new key is kept as '%s' until the outcome is known\n"), newpath);
}

static int org_emit(struct mc_cli *cli, const char *oldhex, const char *newhex, const struct mc_produced *out,
		    uint32_t resealed, const char *retpath, struct mc_err *err)
{
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "old", oldhex);
			cJSON_AddStringToObject(j, "new", newhex);
			cJSON_AddNumberToObject(j, "block", (double)out->height);
			cJSON_AddNumberToObject(j, "resealed", (double)resealed);
			cJSON_AddStringToObject(j, "retired", retpath);
		}
		return mc_cli_json_print(j, err);
	}
	printf("%s\n", newhex);
	if (!cli->quiet)
		fprintf(stderr,
			_("organization key rotated in block %llu (key-encryption keys resealed: %u); the old key is kept as '%s'\n"),
			(unsigned long long)out->height, (unsigned)resealed, retpath);
	return 0;
}

int cmd_org_rotate_key(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_key *newk = NULL;
	struct rot_ctx c;
	struct mc_produced out;
	char oldhex[2 * MC_PK_LEN + 1], newhex[2 * MC_PK_LEN + 1], orgpath[PATH_MAX], newpath[PATH_MAX],
		retpath[PATH_MAX], rel[200];
	bool sealed = false;

	memset(&c, 0, sizeof(c));
	mc_buf_init(&c.body);
	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	mc_cli_path(cli, orgpath, sizeof(orgpath), "keys/org.key");
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || org_old_key(cli, orgpath, &sealed, oldhex, &err) != 0)
		goto out;
	if (org_new_key(cli, cli->org_key, sealed, &newk, newhex, newpath, &err) != 0)
		goto out;
	snprintf(rel, sizeof(rel), "keys/retired/%s.key", oldhex);
	mc_cli_path(cli, retpath, sizeof(retpath), rel);
	mc_nodekey_test_crash("org-after-keyfile");
	c.author = cli->actor_key;
	c.oldk = cli->org_key;
	c.newk = newk;
	if (mc_chain_produce(cli->store, cli->node_key, rot_build, &c, &out, &err) != 0) {
		org_not_committed(&err, newpath);
		goto out;
	}
	mc_nodekey_test_crash("org-after-commit");
	if (mc_key_promote(newpath, orgpath, retpath, &err) != 0) {
		/* committed: the next command loading the key finishes the swap */
		mc_err_wrap(&err, _("the rotation is committed in block %llu, but the new key is not in place of keys/org.key yet (the next command that loads it tries again)"),
			    (unsigned long long)out.height);
		goto out;
	}
	rc = org_emit(cli, oldhex, newhex, &out, c.count, retpath, &err);
out:
	if (c.items)
		mc_wipe(c.items, (size_t)c.cap * MC_ORGROT_ITEM_LEN);
	free(c.items);
	mc_buf_release(&c.body);
	mc_key_free(newk);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
