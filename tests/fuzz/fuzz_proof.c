/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: proof bundles (parse, canonical check, every offline step)
 * and anchor journal rows. The first input byte picks which. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "journal.h"
#include "proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		struct mc_proof *p = mc_proof_new();

		if (p && mc_proof_parse((const char *)data + 1, size - 1, p, NULL) == 0)
			(void)mc_proof_check(p, NULL);
		mc_proof_free(p);
	} else {
		static struct mc_anchor_entry e;

		(void)mc_journal_decode(data + 1, size - 1, &e, NULL);
	}
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	if (k == 0) {
		/* a real bundle (tests/data/proof-sample.json), exported from a
		 * chain anchored on anvil */
		const char *src = getenv("MC_SRCDIR");
		char path[4096], buf[1 << 14];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/tests/data/proof-sample.json", src ? src : ".");
		if (!(f = fopen(path, "rb")))
			return false;
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		mc_put_u8(out, 1);
		mc_put_raw(out, buf, n);
		return true;
	}
	if (k == 1) {
		static struct mc_anchor_entry e;

		memset(&e, 0, sizeof(e));
		e.seq = 1;
		e.state = MC_ANCHOR_MINED;
		e.tree_size = 9;
		e.prev_size = 4;
		e.public_chain_id = 31337;
		e.proof_len = 3;
		e.nattempts = 2;
		e.attempts[0].raw_len = 100;
		e.attempts[1].raw_len = 120;
		mc_put_u8(out, 0);
		mc_journal_encode(&e, out);
		return true;
	}
	return false;
}
