/* SPDX-License-Identifier: Apache-2.0 */
/* Text checks and role names: what crosses our boundary as text is
 * well-formed, clean, and named the way the CLI documents. */
#include "config.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "text.h"
#include "util.h"

Test(text, utf8_accepts_ascii_and_every_sequence_length)
{
	cr_assert(mc_utf8_valid("", 0));
	cr_assert(mc_utf8_valid("plain ascii text of some length", 31));
	cr_assert(mc_utf8_valid("\xc3\xa9", 2));          /* é */
	cr_assert(mc_utf8_valid("\xe2\x82\xac", 3));      /* € */
	cr_assert(mc_utf8_valid("\xf0\x9f\x98\x80", 4));  /* U+1F600 */
	cr_assert(mc_utf8_valid("\xf4\x8f\xbf\xbf", 4));  /* U+10FFFF */
}

Test(text, utf8_refuses_overlongs_surrogates_out_of_range_and_truncation)
{
	cr_assert_not(mc_utf8_valid("\xc0\xaf", 2), "overlong '/'");
	cr_assert_not(mc_utf8_valid("\xe0\x80\xaf", 3), "overlong 3-byte");
	cr_assert_not(mc_utf8_valid("\xf0\x80\x80\xaf", 4), "overlong 4-byte");
	cr_assert_not(mc_utf8_valid("\xed\xa0\x80", 3), "surrogate");
	cr_assert_not(mc_utf8_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
	cr_assert_not(mc_utf8_valid("\xe2\x82", 2), "truncated");
	cr_assert_not(mc_utf8_valid("abcdefgh\xe2\x82", 10), "truncated after the fast path");
	cr_assert_not(mc_utf8_valid("\x80", 1), "lone continuation");
	cr_assert_not(mc_utf8_valid("\xff", 1));
	cr_assert_not(mc_utf8_valid("\xc3\x28", 2), "bad continuation");
}

Test(text, clean_text_refuses_c0_c1_and_del)
{
	cr_assert(mc_text_clean("Dr Émile", strlen("Dr Émile")));
	cr_assert_not(mc_text_clean("a\nb", 3));
	cr_assert_not(mc_text_clean("a\x7f", 2));
	cr_assert_not(mc_text_clean("a\xc2\x85", 3), "C1 NEL");
	cr_assert_not(mc_text_clean("a\0b", 3));
}

#define S(x) x, sizeof(x) - 1
Test(text, plain_names_refuse_what_prints_like_another_name)
{
	cr_assert(mc_name_plain(S("Dr A")));
	cr_assert(mc_name_plain(S("Dr Zo\xc3\xab M\xc3\xbcller-\xe6\x9d\x8e")), "letters of any script");
	cr_assert(mc_name_plain(S("A")));
	cr_assert(mc_name_plain(S("\xf0\x9f\x98\x80 ok")), "a 4-byte sequence that is not blank");
	cr_assert_not(mc_name_plain(S("")));
	cr_assert_not(mc_name_plain(S("Dr A ")));
	cr_assert_not(mc_name_plain(S(" Dr A")));
	cr_assert_not(mc_name_plain(S("Dr  A")));
	cr_assert_not(mc_name_plain(S("Dr\xc2\xa0" "A")), "no-break space");
	cr_assert_not(mc_name_plain(S("Dr A\xc2\xad")), "soft hyphen");
	cr_assert_not(mc_name_plain(S("Dr\xe2\x80\x89" "A")), "thin space");
	cr_assert_not(mc_name_plain(S("Dr A\xe2\x80\x8b")), "zero-width space");
	cr_assert_not(mc_name_plain(S("Dr A\xe2\x80\xae")), "right-to-left override");
	cr_assert_not(mc_name_plain(S("\xef\xbb\xbf" "Dr A")), "byte order mark");
	cr_assert_not(mc_name_plain(S("Dr\xe3\x80\x80" "A")), "ideographic space");
	cr_assert_not(mc_name_plain(S("Dr A\xf3\xa0\x80\x81")), "a tag character");
	cr_assert_not(mc_name_plain(S("Dr\tA")), "a control");
	cr_assert_not(mc_name_plain(S("Dr \xc3")), "not UTF-8");
}
#undef S

Test(text, tokens_and_mime_types)
{
	cr_assert(mc_token_valid("observation", 11, 64));
	cr_assert(mc_token_valid("lab-result_v2.1", 15, 64));
	cr_assert_not(mc_token_valid("", 0, 64));
	cr_assert_not(mc_token_valid("Upper", 5, 64));
	cr_assert_not(mc_token_valid("a b", 3, 64));
	cr_assert_not(mc_token_valid("abc", 3, 2), "over the limit");
	cr_assert(mc_mime_valid("application/fhir+json", 21, 128));
	cr_assert_not(mc_mime_valid("textplain", 9, 128));
	cr_assert_not(mc_mime_valid("text/plain; charset=utf-8", 25, 128), "no spaces");
	cr_assert_not(mc_mime_valid("/plain", 6, 128));
	cr_assert_not(mc_mime_valid("a/b/c", 5, 128));
}

Test(text, lossy_utf8_keeps_valid_text_and_replaces_each_bad_byte)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "", 0, "" },
		{ "plain \"q\" \\", 11, "plain \"q\" \\" },
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
		{ "a\xff" "b", 3, "a\xef\xbf\xbd" "b" },
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },             /* overlong */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd" },             /* truncated */
		{ "a\0b", 3, "a\xef\xbf\xbd" "b" },                           /* NUL */
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(cases); i++) {
		char *o = mc_utf8_lossy(cases[i].in, cases[i].n);

		cr_assert_not_null(o);
		cr_assert_str_eq(o, cases[i].out, "case %zu", i);
		cr_assert(mc_utf8_valid(o, strlen(o)));
		free(o);
	}
}

Test(text, json_strings_are_escaped_and_well_formed)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
	char *t;

	cr_assert_not_null(mc_json_add_str(o, "k", "x\",\"forged\":\"1\\\x01\xff"));
	cr_assert_not_null(mc_json_add_str(o, "n", NULL));
	cr_assert_not_null(mc_json_add_strn(a, NULL, "ab\xfe", 3));
	cJSON_AddItemToObject(o, "a", a);
	t = cJSON_PrintUnformatted(o);
	cr_assert_str_eq(t, "{\"k\":\"x\\\",\\\"forged\\\":\\\"1\\\\\\u0001\xef\xbf\xbd\",\"n\":null,"
			    "\"a\":[\"ab\xef\xbf\xbd\"]}");
	cr_assert(mc_utf8_valid(t, strlen(t)));
	free(t);
	cJSON_Delete(o);
}

Test(identity, roles_parse_and_format_round_trip)
{
	uint32_t r;
	char out[128];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_roles_parse("admin,clinician", &r, NULL), 0);
	cr_assert_eq(r, MC_ROLE_ADMIN | MC_ROLE_CLINICIAN);
	mc_roles_format(r, out, sizeof(out));
	cr_assert_str_eq(out, "admin,clinician");
	cr_assert_eq(mc_roles_parse("auditor,patient,node,anchor", &r, NULL), 0);
	mc_roles_format(r, out, sizeof(out));
	cr_assert_str_eq(out, "auditor,patient,node,anchor");
	cr_assert_eq(mc_roles_parse("wizard", &r, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert_not_null(strstr(err.msg, "wizard"));
	cr_assert_eq(mc_roles_parse("", &r, NULL), -1);
	cr_assert_eq(mc_roles_parse("admi", &r, NULL), -1, "no prefixes");
}

Test(identity, identity_rows_round_trip_and_refuse_damage)
{
	struct mc_identity id, back;
	struct mc_buf b;
	uint8_t pk[32] = { 7 };

	memset(&id, 0, sizeof(id));
	memcpy(id.pk, pk, 32);
	id.roles = MC_ROLE_CLINICIAN;
	id.enrolled = 4;
	id.revoked = MC_NOT_REVOKED;
	strcpy(id.name, "Dr A");
	strcpy(id.org, "St Example");
	mc_buf_init(&b);
	mc_identity_encode(&id, &b);
	cr_assert_eq(mc_identity_decode(pk, b.data, b.len, &back, NULL), 0);
	cr_assert_str_eq(back.name, "Dr A");
	cr_assert_str_eq(back.org, "St Example");
	cr_assert_eq(back.revoked, MC_NOT_REVOKED);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_eq(mc_identity_decode(pk, b.data, n, &back, NULL), -1, "truncated to %zu", n);
	mc_buf_release(&b);
}
