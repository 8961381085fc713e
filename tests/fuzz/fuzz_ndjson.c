/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: one NDJSON import line. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "ingest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_ingest_item it;

	if (mc_ingest_ndjson_line((const char *)data, size, &it, NULL) == 0)
		mc_ingest_item_release(&it);
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const seeds[] = {
		"{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"hello\"}",
		"{\"subject\":\"S\",\"category\":\"observation\",\"type\":\"application/fhir+json\","
		"\"payload\":{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":7.5}}}",
		"{\"subject\":\"S\",\"category\":\"img\",\"payload_base64\":\"AAECAwQF\\/w==\"}",
		"{\"subject\":\"\\u00e9t\\u00e9\",\"category\":\"note\",\"payload\":[1,\"x\",null,true]}",
	};

	if (k >= (int)(MC_ARRAY_LEN(seeds)))
		return false;
	mc_put_raw(out, seeds[k], strlen(seeds[k]));
	return true;
}
