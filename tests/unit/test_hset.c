/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's hash table (src/node/hset.c) against a plain array: random
 * puts, gets and deletes, including deletes in the middle of probe runs
 * (a small table with many entries forces the runs). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hset.h"

#define KEYS 5000

static uint8_t keys[KEYS][MC_HASH_LEN];
static bool in[KEYS];

static void check_all(const struct mc_hset *h)
{
	size_t n = 0;

	for (size_t i = 0; i < KEYS; i++) {
		void *v = mc_hset_get(h, keys[i]);

		cr_assert_eq(v, in[i] ? (void *)&keys[i] : NULL, "key %zu: %p, expected %s", i, v,
			     in[i] ? "its value" : "none");
		n += in[i];
	}
	cr_assert_eq(h->n, n);
}

Test(hset, matches_an_array)
{
	struct mc_hset h;

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_hset_init(&h), 0);
	mc_random(keys, sizeof(keys));
	memset(in, 0, sizeof(in));
	srand(7);
	for (int round = 0; round < 40000; round++) {
		size_t i = (size_t)rand() % KEYS;

		if (rand() % 3) {
			cr_assert_eq(mc_hset_put(&h, keys[i], &keys[i]), 0);
			in[i] = true;
		} else {
			mc_hset_del(&h, keys[i]);
			in[i] = false;
		}
		if (round % 5000 == 0)
			check_all(&h);
	}
	check_all(&h);
	for (size_t i = 0; i < KEYS; i++) {   /* empty it: every delete finds its key */
		mc_hset_del(&h, keys[i]);
		in[i] = false;
	}
	check_all(&h);
	cr_assert_eq(h.n, 0);
	mc_hset_free(&h);
}

Test(hset, a_key_put_twice_is_one_entry)
{
	struct mc_hset h;
	uint8_t k[MC_HASH_LEN], k2[MC_HASH_LEN], other[MC_HASH_LEN];
	int a, b;

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_hset_init(&h), 0);
	mc_random(k, sizeof(k));
	memcpy(k2, k, sizeof(k));
	cr_assert_eq(mc_hset_put(&h, k, &a), 0);
	cr_assert_eq(mc_hset_put(&h, k2, &b), 0);
	cr_assert_eq(h.n, 1);
	cr_assert_eq(mc_hset_get(&h, k), &b);
	/* a key one bit away, in a buffer of its own: the table holds k2's
	 * pointer, which must stay unchanged (hset.h); flipping k2 itself
	 * found the entry whenever the new key hashed to the same slot, about
	 * one run in 64 */
	memcpy(other, k, sizeof(k));
	other[31] ^= 1;
	cr_assert_null(mc_hset_get(&h, other));
	mc_hset_free(&h);
}
