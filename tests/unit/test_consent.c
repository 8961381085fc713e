/* SPDX-License-Identifier: Apache-2.0 */
/* consent_check over a table of cases, and the consent codecs. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "consent.h"

#define T0 1700000000000ULL
#define DAY 86400000ULL

static const uint8_t REC[16] = { 0xaa };
static const uint8_t OTHER_REC[16] = { 0xbb };

static struct mc_grant_view grant(uint8_t id, uint8_t purpose, uint64_t nbf, uint64_t naf,
				  const char *cat, uint64_t revoked_at)
{
	struct mc_grant_view v;

	memset(&v, 0, sizeof(v));
	v.g.id[0] = id;
	v.g.purpose = purpose;
	v.g.not_before = nbf;
	v.g.not_after = naf;
	if (strcmp(cat, "*") == 0) {
		v.g.all_categories = true;
	} else if (strcmp(cat, "record") == 0) {
		v.g.nrec = 1;
		v.g.recs = REC;
	} else {
		v.g.ncat = 1;
		v.g.cat[0] = (const uint8_t *)cat;
		v.g.cat_len[0] = strlen(cat);
	}
	v.g.attest_kind = MC_ATTEST_CONSENT_FORM;
	v.granted_at = id;      /* later ids were granted later */
	v.revoked_at = revoked_at;
	return v;
}

static struct mc_access_req req(uint64_t t, uint8_t purpose, const char *cat)
{
	struct mc_access_req r;

	memset(&r, 0, sizeof(r));
	r.actor_roles = MC_ROLE_CLINICIAN;
	r.actor_active = true;
	memcpy(r.record, REC, 16);
	r.category = (const uint8_t *)cat;
	r.category_len = strlen(cat);
	r.purpose = purpose;
	r.time_ms = t;
	return r;
}

static struct mc_decision check(const struct mc_grant_view *g, size_t n, struct mc_access_req r)
{
	struct mc_decision d;

	mc_consent_check(g, n, &r, &d);
	return d;
}

#define TREAT MC_PURPOSE_TREATMENT
#define OPEN MC_TIME_OPEN

Test(consent_check, no_grant_denies)
{
	struct mc_decision d = check(NULL, 0, req(T0, TREAT, "lab"));

	cr_assert_eq(d.outcome, MC_OUTCOME_DENY);
	cr_assert_eq(d.reason, MC_DENY_NO_GRANT);
}

Test(consent_check, exactly_at_not_before_and_not_after_permits_and_one_ms_outside_denies)
{
	struct mc_grant_view g = grant(1, TREAT, T0, T0 + DAY, "lab", OPEN);

	cr_assert_eq(check(&g, 1, req(T0, TREAT, "lab")).outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(check(&g, 1, req(T0 + DAY, TREAT, "lab")).outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(check(&g, 1, req(T0 - 1, TREAT, "lab")).reason, MC_DENY_NOT_YET);
	cr_assert_eq(check(&g, 1, req(T0 + DAY + 1, TREAT, "lab")).reason, MC_DENY_EXPIRED);
}

Test(consent_check, a_permit_names_its_grant)
{
	struct mc_grant_view g = grant(7, TREAT, T0, OPEN, "*", OPEN);
	struct mc_decision d = check(&g, 1, req(T0, TREAT, "anything"));

	cr_assert_eq(d.outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(d.grant[0], 7);
	cr_assert_eq(d.reason, MC_DENY_NONE);
}

Test(consent_check, revoked_denies_from_the_revoking_time_and_a_new_grant_permits_again)
{
	struct mc_grant_view gs[2] = {
		grant(1, TREAT, T0, OPEN, "lab", T0 + 10),
		grant(2, TREAT, T0 + 20, OPEN, "lab", OPEN),
	};

	cr_assert_eq(check(gs, 1, req(T0 + 9, TREAT, "lab")).outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(check(gs, 1, req(T0 + 10, TREAT, "lab")).reason, MC_DENY_REVOKED);
	cr_assert_eq(check(gs, 2, req(T0 + 15, TREAT, "lab")).reason, MC_DENY_NOT_YET,
		     "the newest grant's reason is named: it is not valid yet");
	struct mc_decision d = check(gs, 2, req(T0 + 20, TREAT, "lab"));
	cr_assert_eq(d.outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(d.grant[0], 2);
}

Test(consent_check, overlapping_grants_permit_by_the_lowest_grant_id)
{
	struct mc_grant_view gs[3] = {
		grant(9, TREAT, T0, OPEN, "*", OPEN),
		grant(3, TREAT, T0, T0 + DAY, "lab", OPEN),
		grant(5, TREAT, T0 - DAY, OPEN, "record", OPEN),
	};
	struct mc_decision d = check(gs, 3, req(T0 + 1, TREAT, "lab"));

	cr_assert_eq(d.outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(d.grant[0], 3);
	d = check(gs, 3, req(T0 + 2 * DAY, TREAT, "lab"));
	cr_assert_eq(d.grant[0], 5, "grant 3 expired; 5 covers the record");
}

Test(consent_check, a_denial_names_the_newest_grant_that_failed_on_time)
{
	struct mc_grant_view gs[2] = {
		grant(1, TREAT, T0, OPEN, "lab", T0 + 5),       /* revoked */
		grant(2, TREAT, T0, T0 + 10, "lab", OPEN),      /* then expired */
	};

	cr_assert_eq(check(gs, 2, req(T0 + 11, TREAT, "lab")).reason, MC_DENY_EXPIRED);
	gs[0].granted_at = 9;
	cr_assert_eq(check(gs, 2, req(T0 + 11, TREAT, "lab")).reason, MC_DENY_REVOKED);
}

Test(consent_check, the_author_of_a_record_reads_it_back_without_a_grant_and_no_one_else_does)
{
	struct mc_access_req q = req(T0, TREAT, "lab");
	struct mc_decision d;

	q.actor_roles = MC_ROLE_ADMIN;
	q.actor_is_author = true;
	d = check(NULL, 0, q);
	cr_assert_eq(d.outcome, MC_OUTCOME_PERMIT);
	cr_assert_eq(d.grant[0], 0, "no grant is named");
	q.actor_is_author = false;
	cr_assert_eq(check(NULL, 0, q).reason, MC_DENY_NO_GRANT);
	q.actor_is_author = true;
	q.actor_active = false;
	cr_assert_eq(check(NULL, 0, q).reason, MC_DENY_ACTOR_INACTIVE, "a revoked author reads nothing");
}

Test(consent_check, wrong_purpose_denies)
{
	struct mc_grant_view g = grant(1, MC_PURPOSE_RESEARCH, T0, OPEN, "*", OPEN);

	cr_assert_eq(check(&g, 1, req(T0, TREAT, "lab")).reason, MC_DENY_WRONG_PURPOSE);
}

Test(consent_check, category_out_of_scope_denies_and_record_scope_is_exact)
{
	struct mc_grant_view g = grant(1, TREAT, T0, OPEN, "lab", OPEN);
	struct mc_grant_view r = grant(2, TREAT, T0, OPEN, "record", OPEN);
	struct mc_access_req q = req(T0, TREAT, "imaging");

	cr_assert_eq(check(&g, 1, q).reason, MC_DENY_OUT_OF_SCOPE);
	cr_assert_eq(check(&r, 1, q).outcome, MC_OUTCOME_PERMIT, "the record itself is in scope");
	memcpy(q.record, OTHER_REC, 16);
	cr_assert_eq(check(&r, 1, q).reason, MC_DENY_OUT_OF_SCOPE);
	q = req(T0, TREAT, "la");
	cr_assert_eq(check(&g, 1, q).reason, MC_DENY_OUT_OF_SCOPE, "no prefix match");
}

Test(consent_check, a_revoked_grantee_is_denied_whatever_the_grants)
{
	struct mc_grant_view g = grant(1, TREAT, T0, OPEN, "*", OPEN);
	struct mc_access_req q = req(T0, TREAT, "lab");

	q.actor_active = false;
	cr_assert_eq(check(&g, 1, q).reason, MC_DENY_ACTOR_INACTIVE);
	q.break_glass = true;
	cr_assert_eq(check(&g, 1, q).outcome, MC_OUTCOME_DENY, "no break-glass for a revoked identity");
}

Test(consent_check, clock_skew_cannot_stretch_a_grant_block_time_decides)
{
	/* A node whose clock runs a day behind still decides by block time. */
	struct mc_grant_view g = grant(1, TREAT, T0, T0 + DAY, "*", OPEN);

	cr_assert_eq(check(&g, 1, req(T0 + DAY + 1, TREAT, "lab")).reason, MC_DENY_EXPIRED);
}

Test(consent_check, break_glass_is_for_clinicians_only)
{
	struct mc_access_req q = req(T0, MC_PURPOSE_EMERGENCY, "lab");

	q.break_glass = true;
	cr_assert_eq(check(NULL, 0, q).outcome, MC_OUTCOME_BREAK_GLASS);
	q.actor_roles = MC_ROLE_ADMIN;
	cr_assert_eq(check(NULL, 0, q).reason, MC_DENY_BREAK_GLASS_REFUSED);
	q.actor_roles = MC_ROLE_AUDITOR;
	cr_assert_eq(check(NULL, 0, q).reason, MC_DENY_BREAK_GLASS_REFUSED);
}

Test(consent_check, an_auditor_reads_no_record_even_with_a_grant)
{
	struct mc_grant_view g = grant(1, TREAT, T0, OPEN, "*", OPEN);
	struct mc_access_req q = req(T0, TREAT, "lab");

	q.actor_roles = MC_ROLE_AUDITOR;
	cr_assert_eq(check(&g, 1, q).reason, MC_DENY_ROLE);
	q.actor_roles = MC_ROLE_ADMIN;
	cr_assert_eq(check(&g, 1, q).outcome, MC_OUTCOME_PERMIT, "an admin reads with a grant");
	cr_assert_eq(check(NULL, 0, q).reason, MC_DENY_NO_GRANT, "and not without");
}

Test(consent_codec, grant_round_trip_and_refusals)
{
	struct mc_grant_view v = grant(4, TREAT, T0, T0 + DAY, "lab", OPEN);
	struct mc_grant back;
	struct mc_buf b;

	v.g.attest = (const uint8_t *)"form 2026-117";
	v.g.attest_len = 13;
	mc_buf_init(&b);
	mc_grant_encode(&v.g, &b);
	cr_assert_eq(mc_grant_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_eq(back.not_after, T0 + DAY);
	cr_assert_eq(back.ncat, 1);
	cr_assert_eq(back.cat_len[0], 3);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_eq(mc_grant_decode(b.data, n, &back, NULL), -1, "truncated to %zu", n);
	mc_buf_reset(&b);
	v.g.not_after = T0 - 1;
	mc_grant_encode(&v.g, &b);
	cr_assert_eq(mc_grant_decode(b.data, b.len, &back, NULL), -1, "ends before it begins");
	mc_buf_reset(&b);
	v.g.not_after = T0;
	v.g.purpose = 42;
	mc_grant_encode(&v.g, &b);
	cr_assert_eq(mc_grant_decode(b.data, b.len, &back, NULL), -1, "unknown purpose");
	mc_buf_release(&b);
}

Test(consent_codec, access_round_trip_and_refusals)
{
	struct mc_access a = { .version = 1, .purpose = TREAT, .outcome = MC_OUTCOME_DENY,
			       .reason = MC_DENY_NO_GRANT };
	struct mc_access back;
	struct mc_buf b;

	mc_buf_init(&b);
	mc_access_encode(&a, &b);
	cr_assert_eq(mc_access_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_eq(back.reason, MC_DENY_NO_GRANT);
	cr_assert_not(back.has_attempt, "an event without an attempt id (older ones) decodes");
	b.data[16 + 4 + 32 + 1] = 9;   /* outcome */
	cr_assert_eq(mc_access_decode(b.data, b.len, &back, NULL), -1);
	mc_buf_release(&b);
}

/* Two reads at one instant and sequence number on two nodes: their attempt
 * ids make them two txs. The id is optional (16 bytes or none); any other
 * trailing length is refused. */
Test(consent_codec, access_attempt_id_round_trip_and_lengths)
{
	struct mc_access a = { .version = 1, .purpose = TREAT, .outcome = MC_OUTCOME_PERMIT, .has_attempt = true };
	struct mc_access back;
	struct mc_buf b, c;

	memset(a.attempt, 0xa7, sizeof(a.attempt));
	mc_buf_init(&b);
	mc_access_encode(&a, &b);
	cr_assert_eq(mc_access_decode(b.data, b.len, &back, NULL), 0);
	cr_assert(back.has_attempt);
	cr_assert_arr_eq(back.attempt, a.attempt, MC_ACCESS_ATTEMPT_LEN);
	a.attempt[0] ^= 1;
	mc_buf_init(&c);
	mc_access_encode(&a, &c);
	cr_assert_arr_neq(b.data, c.data, b.len, "another attempt, another body");
	for (size_t cut = 1; cut < MC_ACCESS_ATTEMPT_LEN; cut++)
		cr_assert_eq(mc_access_decode(b.data, b.len - cut, &back, NULL), -1, "%zu bytes of an id", 16 - cut);
	mc_put_u8(&b, 0);
	cr_assert_eq(mc_access_decode(b.data, b.len, &back, NULL), -1, "a byte after the id");
	mc_buf_release(&b);
	mc_buf_release(&c);
}

Test(consent_names, purposes_and_outcomes_parse)
{
	uint8_t p;

	cr_assert_eq(mc_purpose_parse("patient-request", &p, NULL), 0);
	cr_assert_eq(p, MC_PURPOSE_PATIENT_REQUEST);
	cr_assert_eq(mc_purpose_parse("fun", &p, NULL), -1);
	cr_assert_eq(mc_outcome_parse("break-glass", &p, NULL), 0);
	cr_assert_eq(p, MC_OUTCOME_BREAK_GLASS);
	cr_assert_str_eq(mc_deny_name(MC_DENY_EXPIRED), "expired");
}

/* The purpose and outcome vocabulary is one table: every name and every
 * FHIR code parses back to its code, and the messages list them all. */
Test(vocabulary, every_purpose_name_and_fhir_code_round_trips_and_the_message_lists_them_all)
{
	struct mc_err err = { 0 };
	uint8_t p;

	for (unsigned i = 1; i <= MC_PURPOSE_MAX; i++) {
		cr_assert_not_null(mc_purpose_name(i));
		cr_assert_eq(mc_purpose_parse(mc_purpose_name(i), &p, NULL), 0);
		cr_assert_eq(p, i);
		cr_assert_eq(mc_purpose_from_fhir_code(mc_purpose_fhir_code(i), &p), 0);
		cr_assert_eq(p, i);
	}
	cr_assert_null(mc_purpose_name(0));
	cr_assert_null(mc_purpose_name(MC_PURPOSE_MAX + 1));
	cr_assert_str_eq(mc_purpose_fhir_code(MC_PURPOSE_EMERGENCY), "ETREAT");
	cr_assert_eq(mc_purpose_from_fhir_code("BTG", &p), -1);
	cr_assert_eq(mc_purpose_parse("marketing", &p, &err), -1);
	cr_assert_eq(err.code, EX_USAGE);
	cr_assert(strstr(err.msg, "treatment, payment, operations, research, patient-request, emergency") != NULL,
		  "%s", err.msg);
}

Test(vocabulary, every_outcome_name_round_trips_and_the_message_lists_them_all)
{
	struct mc_err err = { 0 };
	uint8_t o;

	for (unsigned i = 1; i <= MC_OUTCOME_MAX; i++) {
		cr_assert_eq(mc_outcome_parse(mc_outcome_name(i), &o, NULL), 0);
		cr_assert_eq(o, i);
	}
	cr_assert_null(mc_outcome_name(0));
	cr_assert_null(mc_outcome_name(MC_OUTCOME_MAX + 1));
	cr_assert_eq(mc_outcome_parse("maybe", &o, &err), -1);
	cr_assert(strstr(err.msg, "permit, deny, break-glass") != NULL, "%s", err.msg);
}
