/* SPDX-License-Identifier: Apache-2.0 */
/* Records: pseudonyms, sealing, reading back, amendments, erasure, and the
 * map growing under a large write. */
#include "config.h"

#include "fixture.h"

TestSuite(records, .init = fx_setup, .fini = fx_teardown);

Test(records, pseudonyms_ignore_surrounding_whitespace_and_depend_on_the_key)
{
	uint8_t k1[32] = { 1 }, k2[32] = { 2 }, a[32], b[32], c[32];

	cr_assert_eq(mc_subject_pseudonym(k1, "MRN-1", 5, a, NULL), 0);
	cr_assert_eq(mc_subject_pseudonym(k1, "  MRN-1\n", 8, b, NULL), 0);
	cr_assert_arr_eq(a, b, 32);
	cr_assert_eq(mc_subject_pseudonym(k2, "MRN-1", 5, c, NULL), 0);
	cr_assert_arr_neq(a, c, 32);
	cr_assert_eq(mc_subject_pseudonym(k1, "MRN-2", 5, c, NULL), 0);
	cr_assert_arr_neq(a, c, 32);
}

Test(records, pseudonym_refuses_empty_long_and_binary_identifiers)
{
	uint8_t k[32] = { 0 }, out[32];
	char big[MC_SUBJECT_MAX + 2];

	memset(big, 'a', sizeof(big));
	cr_assert_eq(mc_subject_pseudonym(k, "", 0, out, NULL), -1);
	cr_assert_eq(mc_subject_pseudonym(k, "   ", 3, out, NULL), -1);
	cr_assert_eq(mc_subject_pseudonym(k, big, sizeof(big), out, NULL), -1);
	cr_assert_eq(mc_subject_pseudonym(k, "a\xff", 2, out, NULL), -1);
	cr_assert_eq(mc_subject_pseudonym(k, "a\x01b", 3, out, NULL), -1);
}

Test(records, a_committed_record_reads_back_identical)
{
	uint8_t id[MC_RECORD_ID_LEN], *p;
	size_t n;
	struct mc_record_info info;
	struct mc_err err = { 0 };

	cr_assert_eq(fx_put("MRN-1", "hello world", id, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 11);
	cr_assert_arr_eq(p, "hello world", 11);
	cr_assert_eq(info.version, 1);
	cr_assert_str_eq(info.category, "note");
	mc_payload_free(p, n);
}

Test(records, seal_refuses_empty_oversized_and_badly_labelled_payloads)
{
	uint8_t id[16] = { 0 }, subj[32] = { 0 };
	struct mc_sealed s;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", "", 0, &s, &err), -1);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", "x", MC_PAYLOAD_MAX + 1, &s, &err), -1);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "No Spaces", "text/plain", "x", 1, &s, &err), -1);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "textplain", "x", 1, &s, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
}

Test(records, an_unknown_record_is_no_input)
{
	uint8_t id[16] = { 1 }, *p;
	size_t n;
	struct mc_record_info info;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), -1);
	cr_assert_eq(err.code, EX_NOINPUT);
}

Test(records, a_duplicate_record_id_in_one_batch_is_refused_and_nothing_commits)
{
	uint8_t id[16], subj[32];
	struct mc_sealed s[2];
	struct mc_produced out;
	struct mc_err err = { 0 };

	mc_random(id, sizeof(id));
	cr_assert_eq(mc_org_subject(fx.o, "P", 1, subj, &err), 0);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", "a", 1, &s[0], &err), 0);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, "note", "text/plain", "b", 1, &s[1], &err), 0);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, s, 2, &out, &err), -1);
	cr_assert_not_null(strstr(err.msg, "already in use"), "%s", err.msg);
	mc_sealed_release(&s[0]);
	mc_sealed_release(&s[1]);
	uint8_t *p;
	size_t n;
	struct mc_record_info info;
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), -1, "nothing of the batch committed");
}

Test(records, an_amendment_must_follow_the_newest_version)
{
	uint8_t id[16], subj[32];
	struct mc_sealed s;
	struct mc_produced out;
	struct mc_err err = { 0 };
	struct mc_record_info info;
	uint8_t *p;
	size_t n;

	cr_assert_eq(fx_put("P", "v1", id, &err), 0);
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), 0);
	mc_payload_free(p, n);
	cr_assert_eq(mc_org_subject(fx.o, "P", 1, subj, &err), 0);
	/* wrong previous hash */
	uint8_t bogus[32] = { 1 };
	cr_assert_eq(mc_record_seal(fx.o, id, 2, bogus, subj, "note", "text/plain", "v2", 2, &s, &err), 0);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, &s, 1, &out, &err), -1);
	mc_sealed_release(&s);
	/* skipping a version */
	cr_assert_eq(mc_record_seal(fx.o, id, 3, info.leaf, subj, "note", "text/plain", "v3", 2, &s, &err), 0);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, &s, 1, &out, &err), -1);
	mc_sealed_release(&s);
	/* right */
	cr_assert_eq(mc_record_seal(fx.o, id, 2, info.leaf, subj, "note", "text/plain", "v2", 2, &s, &err), 0);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, &s, 1, &out, &err), 0, "%s", err.msg);
	mc_sealed_release(&s);
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), 0);
	cr_assert_eq(info.version, 2);
	cr_assert_arr_eq(p, "v2", 2);
	mc_payload_free(p, n);
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 1, &p, &n, &info, &err), 0);
	cr_assert_arr_eq(p, "v1", 2);
	mc_payload_free(p, n);
}

Test(records, erase_removes_the_data_and_refuses_a_second_erase)
{
	uint8_t id[16], *p;
	size_t n;
	struct mc_record_info info;
	struct mc_produced out;
	struct mc_err err = { 0 };

	cr_assert_eq(fx_put("P", "secret", id, &err), 0);
	cr_assert_eq(mc_record_erase(fx.s, fx.node, fx.admin, id, "request", &out, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_record_read(fx.s, fx.o, id, 0, &p, &n, &info, &err), -1);
	cr_assert_eq(err.code, EX_NOINPUT);
	cr_assert_not_null(strstr(err.msg, "erased"));
	cr_assert_eq(mc_record_erase(fx.s, fx.node, fx.admin, id, "again", &out, &err), -1);
	cr_assert_eq(mc_record_erase(fx.s, fx.node, fx.admin, id, "", &out, &err), -1);
}

Test(records, the_map_grows_when_a_batch_does_not_fit)
{
	/* 96 records of 1 MiB: more than the 64 MiB initial map. */
	enum { N = 96, SZ = 1 << 20 };
	struct mc_sealed *s = calloc(N, sizeof(*s));
	uint8_t subj[32], (*ids)[16] = calloc(N, 16);
	char *payload = malloc(SZ);
	struct mc_produced out;
	struct mc_err err = { 0 };

	memset(payload, 'z', SZ);
	cr_assert_eq(mc_org_subject(fx.o, "P", 1, subj, &err), 0);
	for (int i = 0; i < N; i++) {
		mc_random(ids[i], 16);
		cr_assert_eq(mc_record_seal(fx.o, ids[i], 1, NULL, subj, "img", "application/octet-stream",
					    payload, SZ, &s[i], &err), 0);
	}
	uint64_t before = mc_store_mapsize(fx.s);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, s, N, &out, &err), 0, "%s", err.msg);
	cr_assert_gt(mc_store_mapsize(fx.s), before);
	for (int i = 0; i < N; i++) {
		uint8_t *p;
		size_t n;
		struct mc_record_info info;

		cr_assert_eq(mc_record_read(fx.s, fx.o, ids[i], 0, &p, &n, &info, &err), 0);
		cr_assert_eq(n, SZ);
		mc_payload_free(p, n);
		mc_sealed_release(&s[i]);
	}
	free(s);
	free(ids);
	free(payload);
}
