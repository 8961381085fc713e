/* SPDX-License-Identifier: Apache-2.0 */
/* This node's key files across a rotation (nodekey.h): nothing happens
 * without keys/node.next.key; a next key the chain does not have yet stays
 * pending with node.key untouched; once the chain has it, node.key is
 * retired under its own name and the next key takes its place; a switch
 * stopped between its two steps is finished; a retired name taken by
 * another file stops the switch with nothing lost. */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "hooks.h"
#include "nodekey.h"
#include "valset.h"

TestSuite(nodekey);

static char keys[200];

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", keys, name);
}

static void save(const char *name, const struct mc_key *k)
{
	char p[300];
	struct mc_err err = { 0 };

	path(p, sizeof(p), name);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, NULL, &err), 0, "%s", err.msg);
}

static bool pk_is(const char *name, const struct mc_key *k)
{
	char p[300];
	uint8_t pk[MC_PK_LEN];
	bool sealed;

	path(p, sizeof(p), name);
	return mc_key_peek(p, pk, &sealed, NULL) == 0 && memcmp(pk, k->pk, MC_PK_LEN) == 0;
}

static bool exists(const char *name)
{
	char p[300];

	path(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static void retired_name(const struct mc_key *k, char *out, size_t n)
{
	char hex[17];

	mc_hex(k->pk, 8, hex);
	snprintf(out, n, "node.retired-%s.key", hex);
}

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, vctx, err);
}

/* the chain's rotation of fx.node (the sole validator) to nw */
static void rotate_on_chain(const struct mc_key *nw)
{
	struct mc_node_rotate r;
	struct mc_head head;
	struct mc_err err = { 0 };
	struct mc_buf b;
	uint8_t d[MC_HASH_LEN];

	cr_assert_eq(mc_store_read(fx.s, head_txn, &head, &err), 0, "%s", err.msg);
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, fx.node->pk, MC_PK_LEN);
	memcpy(r.new_pk, nw->pk, MC_PK_LEN);
	mc_node_rotate_digest(head.chain_id, r.old_pk, r.new_pk, 0, d);
	mc_sign(nw->sk, d, MC_HASH_LEN, r.new_sig);
	r.approvals.count = 1;
	mc_approval_sign(d, fx.node->sk, fx.node->pk, &r.approvals.a[0]);
	mc_buf_init(&b);
	mc_node_rotate_encode(&r, &b);
	cr_assert_eq(fx_apply_tx(fx.s, fx.node, MC_TX_NODE_ROTATE, b.data, b.len, head.height + 1, &err), 0,
		     "%s", err.msg);
	mc_buf_release(&b);
}

static struct mc_key *nw;

static void setup(void)
{
	struct mc_err err = { 0 };

	fx_setup();
	snprintf(keys, sizeof(keys), "%s/keys", fx.dir);
	cr_assert_eq(mkdir(keys, 0700), 0);
	save("node.key", fx.node);
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
}

static void teardown(void)
{
	mc_key_free(nw);
	nw = NULL;
	fx_teardown();
}

static enum mc_nodekey_state settle(int want_rc, struct mc_err *err)
{
	enum mc_nodekey_state st = MC_NODEKEY_SWITCHED;

	cr_assert_eq(mc_nodekey_settle(keys, fx.s, &st, err), want_rc, "%s", err->msg);
	return st;
}

Test(nodekey, without_a_next_key_nothing_moves, .init = setup, .fini = teardown)
{
	struct mc_err err = { 0 };

	cr_assert_eq(settle(0, &err), MC_NODEKEY_CURRENT);
	cr_assert(pk_is("node.key", fx.node));
}

Test(nodekey, a_next_key_the_chain_lacks_stays_pending, .init = setup, .fini = teardown)
{
	struct mc_err err = { 0 };

	save("node.next.key", nw);
	cr_assert_eq(settle(0, &err), MC_NODEKEY_PENDING);
	cr_assert(pk_is("node.key", fx.node), "node.key is untouched");
	cr_assert(pk_is("node.next.key", nw));
}

Test(nodekey, once_the_chain_has_it_the_next_key_takes_over_and_the_old_is_kept,
     .init = setup, .fini = teardown)
{
	struct mc_err err = { 0 };
	char ret[64];

	save("node.next.key", nw);
	rotate_on_chain(nw);
	cr_assert_eq(settle(0, &err), MC_NODEKEY_SWITCHED);
	cr_assert(pk_is("node.key", nw));
	cr_assert_not(exists("node.next.key"));
	retired_name(fx.node, ret, sizeof(ret));
	cr_assert(pk_is(ret, fx.node), "the old key is kept as %s", ret);
	cr_assert_eq(settle(0, &err), MC_NODEKEY_CURRENT, "a second call finds nothing to do");
}

Test(nodekey, a_switch_stopped_between_its_steps_is_finished, .init = setup, .fini = teardown)
{
	struct mc_err err = { 0 };
	char ret[64], a[300], b[300];

	save("node.next.key", nw);
	rotate_on_chain(nw);
	/* the first step only: node.key linked to its retired name */
	retired_name(fx.node, ret, sizeof(ret));
	path(a, sizeof(a), "node.key");
	path(b, sizeof(b), ret);
	cr_assert_eq(link(a, b), 0);
	cr_assert_eq(settle(0, &err), MC_NODEKEY_SWITCHED);
	cr_assert(pk_is("node.key", nw));
	cr_assert(pk_is(ret, fx.node));
}

Test(nodekey, a_retired_name_taken_by_another_file_stops_the_switch_losing_nothing,
     .init = setup, .fini = teardown)
{
	struct mc_err err = { 0 };
	struct mc_key *other = NULL;
	char ret[64];

	save("node.next.key", nw);
	rotate_on_chain(nw);
	cr_assert_eq(mc_key_generate(false, &other, &err), 0);
	retired_name(fx.node, ret, sizeof(ret));
	save(ret, other);
	settle(-1, &err);
	cr_assert_eq(err.code, EX_CANTCREAT);
	cr_assert_not_null(strstr(err.msg, ret), "%s", err.msg);
	cr_assert(pk_is("node.key", fx.node), "the old key is still node.key");
	cr_assert(pk_is("node.next.key", nw), "the new key is still there");
	cr_assert(pk_is(ret, other), "the other file is untouched");
	mc_key_free(other);
}

/* The test builds' fast KDF is read here in the app layer, not by the key
 * store: only exactly "fast", and only in a test build. */
Test(nodekey, the_fast_kdf_hook_is_the_app_layers_and_a_test_builds_only)
{
	struct mc_kdf_cost c, def, min;

	mc_kdf_default(&def);
	mc_kdf_min(&min);
	setenv("MEDCHAIN_KDF", "fast", 1);
	mc_hooks_kdf(&c);
#ifdef MC_TEST_HOOKS
	cr_assert(c.opslimit == min.opslimit && c.memlimit == min.memlimit);
#else
	cr_assert(c.opslimit == def.opslimit && c.memlimit == def.memlimit, "a release build ignores MEDCHAIN_KDF");
#endif
	setenv("MEDCHAIN_KDF", "Fast", 1);
	mc_hooks_kdf(&c);
	cr_assert(c.opslimit == def.opslimit && c.memlimit == def.memlimit, "only exactly \"fast\"");
	unsetenv("MEDCHAIN_KDF");
	mc_hooks_kdf(&c);
	cr_assert(c.opslimit == def.opslimit && c.memlimit == def.memlimit);
}
