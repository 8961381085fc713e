/* SPDX-License-Identifier: Apache-2.0 */
/* outbox.c: a write's key, the ids it derives, and the outbox that keeps
 * a write whose outcome is unknown. */
#include "config.h"

#include <criterion/criterion.h>

#include "fixture.h"
#include "outbox.h"

TestSuite(outbox, .init = fx_setup, .fini = fx_teardown);

static char w0[] = "record", w1[] = "put", w2[] = "--subject", w3[] = "P-1", w4[] = "--category", w5[] = "note";
static char *argv_put[] = { w0, w1, w2, w3, w4, w5 };

Test(outbox, the_key_is_the_command_line_the_identity_the_input_and_the_write_index)
{
	struct mc_request a, b;
	uint8_t ka[MC_HASH_LEN], kb[MC_HASH_LEN];

	mc_request_begin(&a, true, NULL, "Dr A", 6, argv_put);
	mc_request_add(&a, "payload", 7);
	mc_request_begin(&b, true, NULL, "Dr A", 6, argv_put);
	mc_request_add(&b, "payload", 7);
	mc_request_key(&a, ka);
	mc_request_key(&b, kb);
	cr_assert_arr_eq(ka, kb, MC_HASH_LEN, "the same command, identity and input: the same write");

	mc_request_begin(&b, true, NULL, "Dr B", 6, argv_put);
	mc_request_add(&b, "payload", 7);
	mc_request_key(&b, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN, "another identity");

	mc_request_begin(&b, true, NULL, "Dr A", 6, argv_put);
	mc_request_add(&b, "payloae", 7);
	mc_request_key(&b, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN, "another input");

	mc_request_begin(&b, true, NULL, "Dr A", 5, argv_put);
	mc_request_add(&b, "payload", 7);
	mc_request_key(&b, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN, "another command line");

	/* the arguments' boundaries count: "ab" "c" is not "a" "bc" */
	{
		char ab[] = "ab", c[] = "c", a1[] = "a", bc[] = "bc";
		char *x[] = { ab, c }, *y[] = { a1, bc };

		mc_request_begin(&a, true, NULL, NULL, 2, x);
		mc_request_begin(&b, true, NULL, NULL, 2, y);
		mc_request_key(&a, ka);
		mc_request_key(&b, kb);
		cr_assert_arr_neq(ka, kb, MC_HASH_LEN);
	}

	/* the next write of one command has another key */
	mc_request_begin(&a, true, NULL, "Dr A", 6, argv_put);
	mc_request_key(&a, ka);
	mc_request_done(&a);
	mc_request_key(&a, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN, "write 1 is not write 0");
}

Test(outbox, an_idempotency_key_names_the_write_and_the_command_line_and_input_are_its_content)
{
	struct mc_request a, b;
	uint8_t ka[MC_HASH_LEN], kb[MC_HASH_LEN], ca[MC_HASH_LEN], cb[MC_HASH_LEN];

	mc_request_begin(&a, true, "order-4711", "Dr A", 6, argv_put);
	mc_request_add(&a, "one", 3);
	mc_request_begin(&b, true, "order-4711", "Dr A", 2, argv_put);
	mc_request_add(&b, "two", 3);
	mc_request_key(&a, ka);
	mc_request_key(&b, kb);
	cr_assert_arr_eq(ka, kb, MC_HASH_LEN, "the key names the write");
	mc_request_content(&a, ca);
	mc_request_content(&b, cb);
	cr_assert_arr_neq(ca, cb, MC_HASH_LEN, "another command line and input: another content");

	mc_request_begin(&b, true, "order-4711", "Dr A", 6, argv_put);
	mc_request_add(&b, "two", 3);
	mc_request_content(&b, cb);
	cr_assert_arr_neq(ca, cb, MC_HASH_LEN, "the same command line, another input: another content");
	mc_request_begin(&b, true, "order-4711", "Dr A", 6, argv_put);
	mc_request_add(&b, "one", 3);
	mc_request_content(&b, cb);
	cr_assert_arr_eq(ca, cb, MC_HASH_LEN, "the same write, the same content");

	mc_request_begin(&b, true, "order-4712", "Dr A", 6, argv_put);
	mc_request_key(&b, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN);
	mc_request_begin(&b, true, "order-4711", "Dr B", 6, argv_put);
	mc_request_key(&b, kb);
	cr_assert_arr_neq(ka, kb, MC_HASH_LEN, "one key, two identities: two writes");
}

Test(outbox, a_key_reused_for_another_write_is_refused_and_its_kept_txs_are_not_given)
{
	struct mc_request a, b;
	struct mc_err err = { 0 };
	uint8_t key[MC_HASH_LEN], ca[MC_HASH_LEN], cb[MC_HASH_LEN], seed[32], got_seed[32], id[16];
	static const uint8_t txs[] = "the kept write's txs";
	struct mc_buf got;

	mc_request_begin(&a, true, "K", "Dr A", 6, argv_put);
	mc_request_add(&a, "one", 3);
	cr_assert_eq(mc_request_seed(&a, fx.s, seed, &err), 0, "%s", err.msg);
	mc_request_key(&a, key);
	mc_request_content(&a, ca);
	cr_assert_eq(mc_outbox_put(fx.s, key, ca, seed, txs, sizeof(txs), &err), 0, "%s", err.msg);

	/* the same key, another input */
	mc_request_begin(&b, true, "K", "Dr A", 6, argv_put);
	mc_request_add(&b, "two", 3);
	mc_request_content(&b, cb);
	mc_buf_init(&got);
	cr_assert_eq(mc_outbox_get(fx.s, key, cb, got_seed, &got, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_eq(got.len, 0, "no txs of the other write");
	mc_err_clear(&err);
	cr_assert_eq(mc_request_ids(&b, fx.s, "record id", id, sizeof(id), &err), -1, "no ids for it either");
	cr_assert_eq(err.code, EX_USAGE);

	/* the kept write itself is found */
	cr_assert_eq(mc_outbox_get(fx.s, key, ca, got_seed, &got, &err), 0);
	cr_assert_arr_eq(got_seed, seed, 32);
	cr_assert_eq(got.len, sizeof(txs));
	mc_buf_release(&got);
}

Test(outbox, a_kept_write_gives_a_retry_the_same_ids_and_its_txs)
{
	struct mc_request r;
	struct mc_err err = { 0 };
	uint8_t key[MC_HASH_LEN], content[MC_HASH_LEN], id1[16], id2[16], grant[16], seed[32], seed2[32];
	static const uint8_t txs[] = "the signed tx bundle";
	struct mc_buf got;

	/* a first attempt: fresh random ids; its txs kept before they leave */
	mc_request_begin(&r, true, NULL, "admin", 6, argv_put);
	cr_assert_eq(mc_request_ids(&r, fx.s, "record id", id1, sizeof(id1), &err), 0, "%s", err.msg);
	cr_assert_eq(mc_request_ids(&r, fx.s, "grant id", grant, sizeof(grant), &err), 0);
	cr_assert_arr_neq(id1, grant, 16, "each label its own id");
	cr_assert_eq(mc_request_seed(&r, fx.s, seed, &err), 0);
	mc_request_key(&r, key);
	mc_request_content(&r, content);
	cr_assert_eq(mc_outbox_put(fx.s, key, content, seed, txs, sizeof(txs), &err), 0, "%s", err.msg);

	/* the same command again (a new process): the same ids, the same txs */
	mc_request_begin(&r, true, NULL, "admin", 6, argv_put);
	cr_assert_eq(mc_request_ids(&r, fx.s, "record id", id2, sizeof(id2), &err), 0);
	cr_assert_arr_eq(id1, id2, 16, "a retry derives the same record id");
	mc_buf_init(&got);
	cr_assert_eq(mc_outbox_get(fx.s, key, content, seed2, &got, &err), 0);
	cr_assert_arr_eq(seed, seed2, 32);
	cr_assert_eq(got.len, sizeof(txs));
	cr_assert_arr_eq(got.data, txs, sizeof(txs));

	/* decided: gone, and the next attempt is a new write */
	cr_assert_eq(mc_outbox_del(fx.s, key, &err), 0);
	cr_assert_eq(mc_outbox_get(fx.s, key, content, seed2, &got, &err), MC_NOTFOUND);
	mc_request_begin(&r, true, NULL, "admin", 6, argv_put);
	cr_assert_eq(mc_request_ids(&r, fx.s, "record id", id2, sizeof(id2), &err), 0);
	cr_assert_arr_neq(id1, id2, 16, "a new write, new ids");
	mc_buf_release(&got);

	/* a command whose writes are not kept never looks */
	mc_request_begin(&r, false, NULL, "admin", 6, argv_put);
	cr_assert_eq(mc_request_ids(&r, fx.s, "record id", id2, sizeof(id2), &err), 0);
	cr_assert_eq(mc_request_ids(&r, fx.s, "x", id2, 33, &err), -1, "ids longer than a hash");
	cr_assert_eq(err.code, EX_SOFTWARE);
}

/* Sets the entry's time a day and a second back. */
static int age_txn(struct mc_txn *t, void *vctx, struct mc_err *e)
{
	uint8_t key[6 + MC_HASH_LEN], row[8 + MC_HASH_LEN + 32 + 1];
	const void *v;
	size_t vn;

	memcpy(key, "outbox", 6);
	memcpy(key + 6, vctx, MC_HASH_LEN);
	cr_assert_eq(mc_txn_get(t, MC_DB_CONSENSUS, key, sizeof(key), &v, &vn, e), 0);
	cr_assert_eq(vn, sizeof(row));
	memcpy(row, v, vn);
	mc_be64(row, mc_now_ms() - MC_OUTBOX_TTL_MS - 1000);
	return mc_txn_put(t, MC_DB_CONSENSUS, key, sizeof(key), row, sizeof(row), e);
}

static int count_txn(struct mc_txn *t, void *vctx, struct mc_err *e)
{
	return mc_txn_count(t, MC_DB_CONSENSUS, (uint64_t *)vctx, e);
}

Test(outbox, an_entry_is_ignored_once_expired_and_dropped_when_the_outbox_is_written)
{
	uint8_t k1[MC_HASH_LEN] = { 1 }, k2[MC_HASH_LEN] = { 2 }, seed[32] = { 9 }, content[MC_HASH_LEN] = { 7 };
	struct mc_err err = { 0 };
	struct mc_buf got;
	uint64_t n = 0;

	mc_buf_init(&got);
	cr_assert_eq(mc_outbox_put(fx.s, k1, content, seed, (const uint8_t *)"a", 1, &err), 0);
	cr_assert_eq(mc_outbox_get(fx.s, k1, content, seed, &got, &err), 0);
	cr_assert_eq(mc_store_write(fx.s, age_txn, k1, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_outbox_get(fx.s, k1, content, seed, &got, &err), MC_NOTFOUND, "expired: ignored");
	cr_assert_eq(mc_outbox_put(fx.s, k2, content, seed, (const uint8_t *)"b", 1, &err), 0);
	cr_assert_eq(mc_store_read(fx.s, count_txn, &n, &err), 0);
	cr_assert_eq(n, 1, "the expired entry went when the outbox was written");
	mc_buf_release(&got);
}
