/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz.h - every fuzz target defines LLVMFuzzerTestOneInput and fuzz_seed.
 *
 * Built with clang -fsanitize=fuzzer (make fuzz), libFuzzer drives the
 * target. Built with driver.c (make check), a deterministic mutator feeds
 * it mutations of the seeds fuzz_seed() makes: valid encodings, so that
 * mutations reach deep into the decoders. */
#ifndef MC_FUZZ_H
#define MC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer has its own main(): targets call this first. */
static inline void fuzz_init(void)
{
	static bool done;

	if (!done) {
		if (mc_crypto_init() != 0)
			__builtin_trap();
		done = true;
	}
}
/* Writes seed number k into out; false when there is no seed k. */
bool fuzz_seed(int k, struct mc_buf *out);

#endif
