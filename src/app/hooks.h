/* SPDX-License-Identifier: Apache-2.0 */
/* hooks.h - the test suite's environment hooks that touch the core, read
 * here in the app layer (the core reads no environment: HACKING.md). Only a
 * test build (./configure --enable-test-hooks, MC_TEST_HOOKS) reads them; a
 * release build ignores the variables. */
#ifndef MC_HOOKS_H
#define MC_HOOKS_H

#include "keystore.h"

/* The Argon2id cost new key files are sealed at: mc_kdf_default, or, in a
 * test build with MEDCHAIN_KDF set to exactly "fast", mc_kdf_min. */
void mc_hooks_kdf(struct mc_kdf_cost *c);

#endif
