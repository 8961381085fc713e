/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the IDENTITY_ROTATE body decoder. What it accepts encodes
 * back to the very bytes it read (one encoding per rotation), names two
 * different keys, and carries the old key's signature exactly when its
 * holder asked for the rotation. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_rotate r;
	struct mc_buf b;
	uint8_t st[MC_HASH_LEN], zero[MC_HASH_LEN] = { 0 };

	fuzz_init();
	if (mc_rotate_decode(data, size, &r, NULL) != 0)
		return 0;
	if (memcmp(r.old_pk, r.new_pk, MC_PK_LEN) == 0 ||
	    r.has_old_sig != (r.kind == MC_ROTATE_HOLDER) ||
	    (r.kind == MC_ROTATE_LOST_KEY && r.reason_len == 0))
		__builtin_trap();
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	if (mc_buf_failed(&b) || b.len != size || memcmp(b.data, data, size) != 0)
		__builtin_trap();
	mc_buf_release(&b);
	mc_rotate_statement(zero, r.old_pk, r.new_pk, r.kind, st);
	if (mc_sign_verify(r.new_pk, st, sizeof(st), r.new_sig) == 0)
		__builtin_trap();   /* no seed signs with a real key */
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	struct mc_rotate r;

	if (k > 1)
		return false;
	memset(&r, 0, sizeof(r));
	memset(r.old_pk, 0x11, MC_PK_LEN);
	memset(r.new_pk, 0x22, MC_PK_LEN);
	memset(r.new_sig, 0x33, MC_SIG_LEN);
	if (k == 0) {
		r.kind = MC_ROTATE_HOLDER;
		r.has_old_sig = true;
		memset(r.old_sig, 0x44, MC_SIG_LEN);
	} else {
		r.kind = MC_ROTATE_LOST_KEY;
		r.reason = (const uint8_t *)"laptop stolen";
		r.reason_len = 13;
	}
	mc_rotate_encode(&r, out);
	return true;
}
