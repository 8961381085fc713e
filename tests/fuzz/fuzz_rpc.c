/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: JSON-RPC responses and quantities. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *res = NULL;
	uint64_t q;

	fuzz_init();
	if (mc_rpc_parse((const char *)data, size, 1, &res, NULL) == 0) {
		(void)mc_rpc_quantity(res, &q, NULL);
		cJSON_Delete(res);
	}
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const seeds[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"nonce too low\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"0x1\",\"blockNumber\":\"0x10\"}}",
	};

	if (k >= 3)
		return false;
	mc_put_raw(out, seeds[k], strlen(seeds[k]));
	return true;
}
