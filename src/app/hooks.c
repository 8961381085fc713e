/* SPDX-License-Identifier: Apache-2.0 */
/* hooks.c - the test builds' environment hooks for the core (hooks.h).
 * Self-contained (keystore.h alone) so that
 * tests/integration/release_ignores_test_hooks.sh can compile it with the
 * key store in both configurations. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hooks.h"

void mc_hooks_kdf(struct mc_kdf_cost *c)
{
	mc_kdf_default(c);
#ifdef MC_TEST_HOOKS /* a test build only: a release build never reads it */
	{
		const char *k = getenv("MEDCHAIN_KDF");

		if (k && strcmp(k, "fast") == 0)
			mc_kdf_min(c);
	}
#endif
}
