/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: a FHIR R4 Bundle. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_ingest_item *items;
	size_t n;

	if (mc_ingest_bundle((const char *)data, size, &items, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			mc_ingest_item_release(&items[i]);
		free(items);
	}
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const seed =
		"{\"resourceType\":\"Bundle\",\"entry\":["
		"{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
		"\"identifier\":[{\"value\":\"MRN-9\"}]}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/p1\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"urn:uuid:1\"}}},"
		"{\"resource\":{\"resourceType\":\"AllergyIntolerance\",\"patient\":{\"reference\":\"Patient/x\"}}}]}";

	if (k > 0)
		return false;
	mc_put_raw(out, seed, strlen(seed));
	return true;
}
