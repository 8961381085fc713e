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

/* cJSON ends a decoded string at U+0000: a subject "A\u0000B" would be
 * filed under A, two identifiers that differ after it would be one. */
Test(ingest, ndjson_string_holding_nul_is_refused_anywhere_without_its_value)
{
	static const char *bad[] = {
		"{\"subject\":\"SECRET\\u0000MRN-1\",\"category\":\"lab\",\"payload\":\"a\"}",
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":{\"resourceType\":\"Observation\","
		"\"identifier\":[{\"system\":\"s\",\"value\":\"SECRET\\u0000A\"}]}}",
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":\"SECRET\\u0000rest\"}",
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":{\"k\\u0000SECRET\":1}}",
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":\"a\\\\\\u0000\"}",
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		struct mc_ingest_item it;
		struct mc_err err = { 0 };

		cr_assert_eq(line(bad[i], &it, &err), -1, "case %zu accepted", i);
		cr_assert_eq(err.code, EX_DATAERR, "case %zu", i);
		cr_assert_not_null(strstr(err.msg, "U+0000"), "case %zu: %s", i, err.msg);
		cr_assert_null(strstr(err.msg, "SECRET"), "case %zu leaks a value: %s", i, err.msg);
	}
}

Test(ingest, ndjson_nul_byte_in_the_line_is_refused)
{
	static const char l[] = "{\"subject\":\"A\0B\",\"category\":\"lab\",\"payload\":\"a\"}";
	struct mc_ingest_item it;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_ingest_ndjson_line(l, sizeof(l) - 1, &it, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
}

Test(ingest, ndjson_escaped_backslash_before_u0000_is_text_not_nul)
{
	struct mc_ingest_item it;

	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"lab\",\"payload\":\"a\\\\u0000b\"}", &it, NULL), 0);
	cr_assert_eq(it.payload_len, 8);
	cr_assert_arr_eq(it.payload, "a\\u0000b", 8);
	mc_ingest_item_release(&it);
}

/* record put refuses a JSON type's payload that is not UTF-8; so does import */
Test(ingest, ndjson_json_type_with_non_utf8_payload_is_refused)
{
	struct mc_ingest_item it;
	struct mc_err err = { 0 };

	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"lab\",\"type\":\"application/fhir+json\","
			  "\"payload_base64\":\"/wD+\"}", &it, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"lab\",\"type\":\"image/png\","
			  "\"payload_base64\":\"/wD+\"}", &it, NULL), 0, "a binary type takes any bytes");
	mc_ingest_item_release(&it);
}

/* Found in review: a MIME type is case-insensitive. */
Test(ingest, ndjson_json_type_in_capitals_with_non_utf8_payload_is_refused)
{
	struct mc_ingest_item it;
	struct mc_err err = { 0 };

	cr_assert_eq(line("{\"subject\":\"S\",\"category\":\"lab\",\"type\":\"application/JSON\","
			  "\"payload_base64\":\"/w==\"}", &it, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
}

/* Found in review: cJSON takes a raw control character in a string (JSON
 * escapes them) and prints it back as six bytes, so a Bundle of them grew
 * eight times in memory and the stored payload was not the input. Refused,
 * the value not echoed; an escaped one is text, and a tab between tokens is
 * whitespace. */
Test(ingest, a_raw_control_character_in_a_string_is_refused_without_its_value)
{
	static const char *bad[] = {
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":\"SECRET\x01\"}",
		"{\"subject\":\"S\tSECRET\",\"category\":\"lab\",\"payload\":\"a\"}",
		"{\"subject\":\"S\",\"category\":\"lab\",\"payload\":{\"k\x1fSECRET\":1}}",
	};
	const char *doc = "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
			  "\"id\":\"p\",\"note\":\"SECRET\x01\"}}]}";
	struct mc_ingest_item it, *items = NULL;
	size_t n = 0;
	struct mc_err err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		cr_assert_eq(line(bad[i], &it, &err), -1, "case %zu accepted", i);
		cr_assert_eq(err.code, EX_DATAERR, "case %zu", i);
		cr_assert_not_null(strstr(err.msg, "control character"), "case %zu: %s", i, err.msg);
		cr_assert_null(strstr(err.msg, "SECRET"), "case %zu leaks a value: %s", i, err.msg);
	}
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, &err), -1);
	cr_assert_not_null(strstr(err.msg, "control character"), "%s", err.msg);
	cr_assert_eq(line("{\"subject\":\"S\",\t\"category\":\"lab\",\"payload\":\"a\\u0001\\t\"}", &it, &err), 0,
		     "escaped, and a tab between tokens: %s", err.msg);
	mc_ingest_item_release(&it);
}

/* Found in review: a line is parsed whole, and a 24 MiB line of "0," held
 * a gigabyte of cJSON's nodes; it holds at most MC_INGEST_VALUES_MAX. */
Test(ingest, a_line_of_more_json_values_than_the_cap_is_refused_before_parsing)
{
	const char *head = "{\"subject\":\"S\",\"category\":\"lab\",\"payload\":[";
	size_t hn = strlen(head), n = hn + 2 * (size_t)MC_INGEST_VALUES_MAX + 2;
	char *l = malloc(n + 1);
	struct mc_ingest_item it;
	struct mc_err err = { 0 };

	cr_assert_not_null(l);
	memcpy(l, head, hn);
	for (size_t i = 0; i < MC_INGEST_VALUES_MAX; i++)
		memcpy(l + hn + 2 * i, "0,", 2);
	memcpy(l + n - 2, "0]", 2);
	l[n] = '}';
	cr_assert_eq(mc_ingest_ndjson_line(l, n + 1, &it, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_not_null(strstr(err.msg, "JSON values"), "%s", err.msg);
	free(l);
}

Test(ingest, bundle_string_holding_nul_is_refused_without_its_value)
{
	const char *doc = "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\","
			  "\"id\":\"p\",\"identifier\":[{\"value\":\"SECRET\\u0000B\"}]}}]}";
	struct mc_ingest_item *items = NULL;
	size_t n = 0;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_null(strstr(err.msg, "SECRET"), "%s", err.msg);
}

Test(ingest, bundle_error_names_the_entry_not_its_resource_type)
{
	const char *doc = "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"SecretType\"}}]}";
	struct mc_ingest_item *items = NULL;
	size_t n = 0;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, &err), -1);
	cr_assert_not_null(strstr(err.msg, "entry 1"), "%s", err.msg);
	cr_assert_null(strstr(err.msg, "ecret"), "%s", err.msg);
}

/* The Bundle's Patients are found through an index built once: the same
 * subjects as a scan of every entry (the first Patient the Bundle names
 * by a fullUrl or by Patient/<id>, else the id referenced). */
Test(ingest, bundle_references_resolve_as_a_scan_of_every_entry_would)
{
	const char *doc =
		"{\"resourceType\":\"Bundle\",\"entry\":["
		/* 1 */ "{\"fullUrl\":\"urn:uuid:aa\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
		"\"identifier\":[{\"value\":\"MRN-1\"}]}},"
		/* 2 */ "{\"fullUrl\":\"http://h/fhir/Patient/p2\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p2\"}},"
		/* 3: a second Patient with id p1: the first one wins */
		"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\",\"identifier\":[{\"value\":\"MRN-LATE\"}]}},"
		/* 4: an Observation whose id is p3 is no Patient */
		"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"p3\",\"subject\":{\"reference\":\"Patient/p2\"}}},"
		/* 5: fullUrl "Patient/p4" of the entry after one whose id is p4: the id's entry comes first */
		"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p4\",\"identifier\":[{\"value\":\"MRN-4-ID\"}]}},"
		"{\"fullUrl\":\"Patient/p4\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"q\","
		"\"identifier\":[{\"value\":\"MRN-4-URL\"}]}},"
		/* 7.. references */
		"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"urn:uuid:aa\"}}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/p1\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"http://h/fhir/Patient/p2\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/p3\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/p4\"}}},"
		"{\"resource\":{\"resourceType\":\"AllergyIntolerance\",\"patient\":{\"reference\":\"Patient/elsewhere\"}}}]}";
	static const char *want[] = { "MRN-1", "p2", "MRN-LATE", "p2", "MRN-4-ID", "MRN-4-URL",
				      "MRN-1", "MRN-1", "p2", "p3", "MRN-4-ID", "elsewhere" };
	struct mc_ingest_item *items;
	size_t n;

	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, NULL), 0);
	cr_assert_eq(n, MC_ARRAY_LEN(want));
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(items[i].subject, want[i], "entry %zu", i + 1);
	for (size_t i = 0; i < n; i++)
		mc_ingest_item_release(&items[i]);
	free(items);
	/* an urn:uuid the Bundle does not hold names no Patient */
	doc = "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"resourceType\":\"Observation\","
	      "\"subject\":{\"reference\":\"urn:uuid:none\"}}}]}";
	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &n, NULL), -1);
}
