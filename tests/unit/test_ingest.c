/* SPDX-License-Identifier: Apache-2.0 */
/* Ingest: NDJSON lines and FHIR Bundles become records; malformed input is
 * refused with messages that carry no values. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "util.h"

static int line(const char *s, struct mc_ingest_item *it, struct mc_err *err)
{
	return mc_ingest_ndjson_line(s, strlen(s), it, err);
}

Test(ingest, ndjson_empty_and_whitespace_lines_are_refused)
{
	struct mc_ingest_item it;

	cr_assert_eq(line("", &it, NULL), -1);
	cr_assert_eq(line("   ", &it, NULL), -1);
}

Test(ingest, ndjson_string_payload_is_text)
{
	struct mc_ingest_item it;

	cr_assert_eq(line("{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"hello\"}", &it, NULL), 0);
	cr_assert_str_eq(it.subject, "MRN-1");
	cr_assert_str_eq(it.category, "note");
	cr_assert_str_eq(it.ctype, "text/plain");
	cr_assert_eq(it.payload_len, 5);
	cr_assert_arr_eq(it.payload, "hello", 5);
	mc_ingest_item_release(&it);
}

Test(ingest, ndjson_object_payload_is_compact_fhir_json)
{
	struct mc_ingest_item it;

	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"observation\",\"payload\": { \"a\" : 1 }}", &it, NULL), 0);
	cr_assert_str_eq(it.ctype, "application/fhir+json");
	cr_assert_eq(it.payload_len, 7);
	cr_assert_arr_eq(it.payload, "{\"a\":1}", 7);
	mc_ingest_item_release(&it);
}

Test(ingest, ndjson_base64_payload_and_explicit_type)
{
	struct mc_ingest_item it;

	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"img\",\"type\":\"image/png\",\"payload_base64\":\"AAEC/w==\"}", &it, NULL), 0);
	cr_assert_str_eq(it.ctype, "image/png");
	cr_assert_eq(it.payload_len, 4);
	cr_assert_eq(it.payload[3], 0xff);
	mc_ingest_item_release(&it);
}

Test(ingest, ndjson_malformed_lines_are_refused_without_values_in_messages)
{
	static const char *bad[] = {
		"{\"subject\":\"SECRET\",\"category\":\"note\"}",
		"{\"subject\":\"SECRET\",\"payload\":\"x\"}",
		"{\"category\":\"note\",\"payload\":\"x\"}",
		"{\"subject\":7,\"category\":\"note\",\"payload\":\"x\"}",
		"{\"subject\":\"SECRET\",\"category\":\"note\",\"payload\":\"x\",\"payload_base64\":\"eA==\"}",
		"{\"subject\":\"SECRET\",\"category\":\"note\",\"payload_base64\":\"!!notbase64\"}",
		"{\"subject\":\"SECRET\",\"category\":\"note\",\"payload\":12}",
		"{\"subject\":\"SECRET\",\"category\":\"note\",\"payload\":\"x\"} trailing",
		"{\"subject\":\"SECRET\",\"category\":\"note\",\"payload\":\"x\"",
		"[1,2,3]",
		"\"SECRET\"",
		"{\"subject\":\"SECRET\xff\",\"category\":\"note\",\"payload\":\"x\"}",
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		struct mc_ingest_item it;
		struct mc_err err = { 0 };

		cr_assert_eq(line(bad[i], &it, &err), -1, "case %zu accepted", i);
		cr_assert_eq(err.code, EX_DATAERR, "case %zu", i);
		cr_assert_null(strstr(err.msg, "SECRET"), "case %zu leaks a value: %s", i, err.msg);
	}
}

Test(ingest, bundle_resolves_subjects_by_reference_and_full_url)
{
	const char *doc =
		"{\"resourceType\":\"Bundle\",\"entry\":["
		"{\"fullUrl\":\"urn:uuid:1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
		"\"identifier\":[{\"value\":\"MRN-9\"}]}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/p1\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"urn:uuid:1\"}}},"
		"{\"resource\":{\"resourceType\":\"AllergyIntolerance\",\"patient\":{\"reference\":\"Patient/other\"}}}]}";
	struct mc_ingest_item *items;
	size_t n;

	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, NULL), 0);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(items[0].subject, "MRN-9");
	cr_assert_str_eq(items[0].category, "patient");
	cr_assert_str_eq(items[1].subject, "MRN-9");
	cr_assert_str_eq(items[1].category, "observation");
	cr_assert_str_eq(items[2].subject, "MRN-9");
	cr_assert_str_eq(items[3].subject, "other");
	cr_assert_str_eq(items[3].category, "allergyintolerance");
	for (size_t i = 0; i < n; i++)
		mc_ingest_item_release(&items[i]);
	free(items);
}

Test(ingest, bundle_malformed_documents_are_refused)
{
	static const char *bad[] = {
		"",
		"{",
		"{\"resourceType\":\"Patient\"}",
		"{\"resourceType\":\"Bundle\"}",
		"{\"resourceType\":\"Bundle\",\"entry\":[]}",
		"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{}}]}",
		"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Observation\"}}]}",
		"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Group/1\"}}}]}",
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		struct mc_ingest_item *items = NULL;
		size_t n = 0;
		struct mc_err err = { 0 };

		cr_assert_eq(mc_ingest_bundle(bad[i], strlen(bad[i]), &items, &n, &err), -1, "case %zu", i);
		cr_assert_eq(err.code, EX_DATAERR, "case %zu", i);
		cr_assert_null(items);
	}
}
