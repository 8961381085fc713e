/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: FHIR R4 Consent resources as consent import reads them. */
#include "config.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "fhir.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root;
	struct mc_fhir_consent_in in;

	fuzz_init();
	root = cJSON_ParseWithLength((const char *)data, size);
	if (!root)
		return 0;
	if (cJSON_IsObject(root)) {
		const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry"), *e;

		if (cJSON_IsArray(entries)) {
			cJSON_ArrayForEach(e, entries)
				(void)mc_fhir_consent_read(cJSON_GetObjectItemCaseSensitive(e, "resource"), &in, NULL);
		} else {
			(void)mc_fhir_consent_read(root, &in, NULL);
		}
	}
	cJSON_Delete(root);
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	static const char *const seed =
		"{\"resourceType\":\"Consent\",\"status\":\"active\",\"scope\":{\"coding\":[{\"system\":"
		"\"http://terminology.hl7.org/CodeSystem/consentscope\",\"code\":\"patient-privacy\"}]},"
		"\"category\":[{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"59284-0\"}]}],"
		"\"patient\":{\"identifier\":{\"system\":\"urn:medchain:subject\",\"value\":\"MRN-1\"}},"
		"\"provision\":{\"type\":\"permit\",\"period\":{\"start\":\"2026-01-01T00:00:00Z\"},"
		"\"actor\":[{\"reference\":{\"identifier\":{\"system\":\"urn:medchain:identity\",\"value\":\"Dr A\"}}}],"
		"\"purpose\":[{\"code\":\"TREAT\"}],\"class\":[{\"code\":\"lab\"}]}}";

	if (k > 0)
		return false;
	mc_put_raw(out, seed, strlen(seed));
	return true;
}
