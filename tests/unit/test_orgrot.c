/* SPDX-License-Identifier: Apache-2.0 */
/* ORG_ROTATE's chain rule: what a rotation must carry to be applied, and
 * what it leaves: the old organization revoked, the new one under its name,
 * every record readable with the new key alone. */
#include "config.h"

#include "fixture.h"
#include "orgrot.h"

TestSuite(orgrot, .init = fx_setup, .fini = fx_teardown);

enum flaw { GOOD, NEW_UNSIGNED, KEK_LEFT_OUT, KEK_CHANGED, OTHER_CHAIN };

struct rot {
	const struct mc_key *author, *oldk, *newk;
	enum flaw flaw;
};

static int rot_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct rot *c = vctx;
	uint8_t item[MC_ORGROT_ITEM_LEN], key[MC_PK_LEN + 4], kek[MC_AEAD_KEY_LEN], d[MC_HASH_LEN];
	static const uint8_t other[MC_HASH_LEN] = { 7 };
	struct mc_org_rotate r;
	struct mc_buf body;
	const void *v;
	size_t vn;
	int rc;

	/* the old key's one KEK (epoch 0), resealed to the new key */
	memcpy(key, c->oldk->pk, MC_PK_LEN);
	mc_be32(key + MC_PK_LEN, 0);
	cr_assert_eq(mc_txn_get(t, MC_DB_KEKS, key, sizeof(key), &v, &vn, err), 0);
	cr_assert_eq(mc_seal_open(c->oldk->sk, v, vn, kek), 0);
	memcpy(item, key, sizeof(key));
	cr_assert_eq(mc_seal(c->newk->pk, kek, sizeof(kek), item + sizeof(key)), 0);
	mc_wipe(kek, sizeof(kek));
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, c->oldk->pk, MC_PK_LEN);
	memcpy(r.new_pk, c->newk->pk, MC_PK_LEN);
	r.count = c->flaw == KEK_LEFT_OUT ? 0 : 1;
	mc_org_rotate_keks_hash(item, r.count, r.keks_hash);
	if (c->flaw == KEK_CHANGED)
		item[sizeof(key) + 5] ^= 1;
	mc_org_rotate_digest(c->flaw == OTHER_CHAIN ? other : mc_builder_chain_id(b), &r, d);
	mc_sign(c->oldk->sk, d, sizeof(d), r.old_sig);
	mc_sign(c->flaw == NEW_UNSIGNED ? c->oldk->sk : c->newk->sk, d, sizeof(d), r.new_sig);
	mc_buf_init(&body);
	mc_org_rotate_encode(&r, &body);
	rc = mc_kek_create(t, c->newk->pk, 0, err);
	if (rc == 0)
		rc = mc_builder_add_new(t, b, c->author, MC_TX_ORG_ROTATE, body.data, body.len, item,
					(size_t)r.count * MC_ORGROT_ITEM_LEN, err);
	mc_buf_release(&body);
	return rc;
}

static int rotate(const struct mc_key *author, const struct mc_key *newk, enum flaw flaw,
		  struct mc_err *err)
{
	struct rot c = { author, fx.org, newk, flaw };
	struct mc_produced out;

	return mc_chain_produce(fx.s, fx.node, rot_build, &c, &out, err);
}

static int ids_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_identity *ids = vctx;
	uint8_t next[MC_PK_LEN], a[MC_PK_LEN], b[MC_PK_LEN];

	memcpy(a, ids[0].pk, MC_PK_LEN);
	memcpy(b, ids[1].pk, MC_PK_LEN);
	if (mc_identity_get(t, a, &ids[0], err) != 0 || mc_identity_get(t, b, &ids[1], err) != 0)
		return -1;
	cr_assert_eq(mc_org_successor(t, a, next, NULL, err), 0);
	cr_assert_eq(memcmp(next, b, MC_PK_LEN), 0);
	return 0;
}

Test(orgrot, a_flawed_rotation_is_refused_and_changes_nothing)
{
	struct mc_err err = { 0 };
	struct mc_key *newk;
	struct mc_head h0, h1;

	cr_assert_eq(mc_key_generate(true, &newk, &err), 0);
	cr_assert_eq(mc_store_read(fx.s, (mc_store_fn)mc_chain_head, &h0, &err), 0);
	cr_assert_eq(rotate(fx.admin, newk, NEW_UNSIGNED, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_eq(rotate(fx.admin, newk, OTHER_CHAIN, &err), -1);
	cr_assert_eq(rotate(fx.admin, newk, KEK_LEFT_OUT, &err), -1);
	cr_assert(strstr(err.msg, "leaves out"), "%s", err.msg);
	cr_assert_eq(rotate(fx.admin, newk, KEK_CHANGED, &err), -1);
	cr_assert(strstr(err.msg, "hash"), "%s", err.msg);
	/* the organization cannot author its own replacement: an admin does */
	cr_assert_eq(rotate(fx.org, newk, GOOD, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM, "%s", err.msg);
	/* a key already enrolled cannot be the new one */
	cr_assert_eq(rotate(fx.admin, fx.admin, GOOD, &err), -1);
	cr_assert_eq(mc_store_read(fx.s, (mc_store_fn)mc_chain_head, &h1, &err), 0);
	cr_assert_eq(h0.height, h1.height);
	mc_key_free(newk);
}

Test(orgrot, a_rotation_hands_the_name_and_every_record_to_the_new_key)
{
	struct mc_err err = { 0 };
	struct mc_key *newk;
	struct mc_org *no;
	struct mc_identity ids[2];
	struct mc_record_info info;
	uint8_t id[MC_RECORD_ID_LEN], id2[MC_RECORD_ID_LEN], *p;
	size_t n;

	cr_assert_eq(fx_put("MRN-1", "before the rotation", id, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(true, &newk, &err), 0);
	memcpy(newk->pseudo, fx.org->pseudo, sizeof(newk->pseudo));
	cr_assert_eq(rotate(fx.admin, newk, GOOD, &err), 0, "%s", err.msg);
	memcpy(ids[0].pk, fx.org->pk, MC_PK_LEN);
	memcpy(ids[1].pk, newk->pk, MC_PK_LEN);
	cr_assert_eq(mc_store_read(fx.s, ids_txn, ids, &err), 0, "%s", err.msg);
	cr_assert_neq(ids[0].revoked, MC_NOT_REVOKED);
	cr_assert_eq(ids[1].revoked, MC_NOT_REVOKED);
	cr_assert_eq(ids[1].roles, MC_ROLE_ORG);
	cr_assert_str_eq(ids[1].name, ids[0].name);
	/* the old organization is gone as a custodian */
	cr_assert_eq(fx_put("MRN-1", "under the old key", id2, &err), -1);
	cr_assert(strstr(err.msg, "custodian"), "%s", err.msg);
	/* the record reads with the new key alone */
	cr_assert_eq(mc_org_open(fx.s, newk, &no, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_record_read(fx.s, no, id, 0, &p, &n, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(n, strlen("before the rotation"));
	cr_assert_eq(memcmp(p, "before the rotation", n), 0);
	mc_payload_free(p, n);
	/* a second rotation of the same (now revoked) key is refused */
	cr_assert_eq(rotate(fx.admin, fx.node, GOOD, &err), -1);
	mc_org_free(no);
	mc_key_free(newk);
}
