/* SPDX-License-Identifier: Apache-2.0 */
/* Proof bundles: the sample (a real bundle exported from a chain anchored
 * on anvil) parses and passes every offline step; every changed byte
 * either fails offline, or changes the public anchor fields that the online
 * steps check; the canonical rendering round-trips. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "proof.h"

static char *sample(size_t *n)
{
	const char *src = getenv("MC_SRCDIR");
	char path[4096];
	FILE *f;
	char *buf = malloc(MC_PROOF_MAX);

	snprintf(path, sizeof(path), "%s/tests/data/proof-sample.json", src ? src : ".");
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	*n = fread(buf, 1, MC_PROOF_MAX, f);
	fclose(f);
	return buf;
}

static bool same_public(const struct mc_proof *a, const struct mc_proof *b)
{
	return a->public_chain_id == b->public_chain_id && a->anchor_block == b->anchor_block &&
	       memcmp(a->anchor_tx, b->anchor_tx, 32) == 0 &&
	       memcmp(a->anchor_block_hash, b->anchor_block_hash, 32) == 0 &&
	       memcmp(a->anchor_address, b->anchor_address, 20) == 0;
}

Test(proof, the_sample_bundle_passes_every_offline_step_and_renders_to_the_same_bytes)
{
	size_t n;
	char *text = sample(&n);
	struct mc_proof *p = mc_proof_new();
	struct mc_err err = { 0 };
	struct mc_buf b;

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_proof_parse(text, n, p, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_proof_check(p, &err), 0, "%s", err.msg);
	mc_buf_init(&b);
	mc_proof_render(p, &b);
	cr_assert_eq(b.len, n);
	cr_assert_arr_eq(b.data, text, n);
	mc_buf_release(&b);
	mc_proof_free(p);
	free(text);
}

Test(proof, every_changed_byte_fails_offline_or_changes_what_the_public_chain_checks)
{
	size_t n;
	char *text = sample(&n);
	struct mc_proof *good = mc_proof_new(), *p = mc_proof_new();
	struct mc_err err = { 0 };
	unsigned offline = 0, public = 0;
	static const uint8_t deltas[] = { 0x01, 0x02, 0x04, 0x20, 0x7f };

	cr_assert_eq(mc_crypto_init(), 0);
	cr_assert_eq(mc_proof_parse(text, n, good, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		for (size_t d = 0; d < sizeof(deltas); d++) {
			char saved = text[i];

			text[i] = (char)(saved ^ deltas[d]);
			memset(&err, 0, sizeof(err));
			if (mc_proof_parse(text, n, p, &err) != 0 || mc_proof_check(p, &err) != 0) {
				cr_assert_eq(err.code, EX_DATAERR);
				cr_assert(strstr(err.msg, "fails at step"), "%s", err.msg);
				offline++;
			} else {
				cr_assert_not(same_public(p, good), "byte %zu ^ %#x passed unchanged", i, deltas[d]);
				public++;
			}
			text[i] = saved;
		}
	}
	cr_assert_gt(offline, 0);
	cr_log_info("%u changes fail offline, %u change the public anchor fields", offline, public);
	mc_proof_free(good);
	mc_proof_free(p);
	free(text);
}

Test(proof, truncations_and_garbage_fail_at_step_format)
{
	size_t n;
	char *text = sample(&n);
	struct mc_proof *p = mc_proof_new();
	struct mc_err err = { 0 };

	cr_assert_eq(mc_crypto_init(), 0);
	for (size_t k = 0; k < n; k += 7) {
		memset(&err, 0, sizeof(err));
		cr_assert_neq(mc_proof_parse(text, k, p, &err), 0, "a bundle cut at %zu", k);
		cr_assert(strstr(err.msg, "'format'"), "%s", err.msg);
	}
	cr_assert_neq(mc_proof_parse("<html>502</html>", 16, p, &err), 0);
	mc_proof_free(p);
	free(text);
}
