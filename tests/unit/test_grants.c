/* SPDX-License-Identifier: Apache-2.0 */
/* Grants on a real chain: mc_grants_each lists them in id order, filtered
 * by subject and grantee; a grant's status at a time (not yet valid,
 * active, expired, revoked); scopes as text and parsed back; and the
 * chain's own decision (mc_access_decide) naming each deny reason. */
#include "config.h"

#include <sysexits.h>

#include "events.h"
#include "grants.h"
#include "util.h"

TestSuite(grants, .init = fx_setup, .fini = fx_teardown);

#define DAY 86400000ULL

struct row {
	uint8_t id[MC_GRANT_ID_LEN];
	uint8_t grantor[MC_PK_LEN];
	char status[3][16];          /* at the three times asked */
	uint64_t granted_at;
};

struct list {
	unsigned n, stop_after;
	uint64_t at[3];
	struct row r[8];
	const uint8_t *subject, *grantee;
};

static int each(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g, void *vctx,
		struct mc_err *err)
{
	struct list *l = vctx;
	struct mc_identity who;
	bool active;

	cr_assert_eq(mc_grant_grantee(t, g, &who, &active, err), 0, "%s", err->msg);
	cr_assert_lt(l->n, 8);
	memcpy(l->r[l->n].id, g->id, MC_GRANT_ID_LEN);
	memcpy(l->r[l->n].grantor, gs->grantor, MC_PK_LEN);
	l->r[l->n].granted_at = gs->granted_at;
	for (int i = 0; i < 3; i++)
		snprintf(l->r[l->n].status[i], sizeof(l->r[l->n].status[i]), "%s", mc_grant_status(gs, g, active, l->at[i]));
	l->n++;
	return l->stop_after && l->n >= l->stop_after ? 1 : 0;
}

static int each_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list *l = vctx;

	return mc_grants_each(t, l->subject, l->grantee, each, l, err);
}

static void list(struct list *l)
{
	struct mc_err err = { 0 };

	l->n = 0;
	cr_assert_eq(mc_store_read(fx.s, each_txn, l, &err), 0, "%s", err.msg);
}

Test(grants, each_lists_every_grant_in_id_order_and_filters_by_subject_and_grantee)
{
	struct mc_key *a = ev_enroll("Dr A", MC_ROLE_CLINICIAN), *b = ev_enroll("Dr B", MC_ROLE_CLINICIAN);
	uint8_t g[4][MC_GRANT_ID_LEN], p1[MC_HASH_LEN];
	struct list l = { 0 };

	ev_grant("P1", a->pk, 0, MC_TIME_OPEN, g[0]);
	ev_grant("P1", b->pk, 0, MC_TIME_OPEN, g[1]);
	ev_grant("P2", a->pk, 0, MC_TIME_OPEN, g[2]);
	ev_grant("P2", b->pk, 0, MC_TIME_OPEN, g[3]);
	list(&l);
	cr_assert_eq(l.n, 4);
	for (unsigned i = 1; i < l.n; i++)
		cr_assert_gt(memcmp(l.r[i].id, l.r[i - 1].id, MC_GRANT_ID_LEN), 0, "grant id order");
	for (unsigned i = 0; i < l.n; i++)
		cr_assert_arr_eq(l.r[i].grantor, fx.admin->pk, MC_PK_LEN, "the admin recorded each");

	ev_subject("P1", p1);
	l.subject = p1;
	list(&l);
	cr_assert_eq(l.n, 2);
	for (unsigned i = 0; i < l.n; i++)
		cr_assert(memcmp(l.r[i].id, g[0], 16) == 0 || memcmp(l.r[i].id, g[1], 16) == 0);
	l.grantee = b->pk;
	list(&l);
	cr_assert_eq(l.n, 1);
	cr_assert_arr_eq(l.r[0].id, g[1], MC_GRANT_ID_LEN);
	l.subject = NULL;
	list(&l);
	cr_assert_eq(l.n, 2, "grantee b's grants, from both patients");
	for (unsigned i = 0; i < l.n; i++)
		cr_assert(memcmp(l.r[i].id, g[1], 16) == 0 || memcmp(l.r[i].id, g[3], 16) == 0);
	l.grantee = fx.node->pk;
	list(&l);
	cr_assert_eq(l.n, 0, "no grant to the node");

	l.grantee = NULL;
	l.stop_after = 3;
	list(&l);
	cr_assert_eq(l.n, 3, "the callback's 1 stops the walk");
	mc_key_free(a);
	mc_key_free(b);
}

static int each_fail(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g, void *vctx,
		     struct mc_err *err)
{
	(void)t;
	(void)gs;
	(void)g;
	(*(unsigned *)vctx)++;
	return mc_err_set(err, EX_SOFTWARE, "stop here");
}

static int each_fail_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_grants_each(t, NULL, NULL, each_fail, vctx, err);
}

Test(grants, a_callback_error_ends_the_walk_with_its_error)
{
	uint8_t g[MC_GRANT_ID_LEN];
	struct mc_err err = { 0 };
	unsigned calls = 0;

	ev_grant("P1", fx.node->pk, 0, MC_TIME_OPEN, g);
	ev_grant("P2", fx.node->pk, 0, MC_TIME_OPEN, g);
	cr_assert_eq(mc_store_read(fx.s, each_fail_txn, &calls, &err), -1);
	cr_assert_eq(calls, 1);
	cr_assert_eq(err.code, EX_SOFTWARE);
	cr_assert_str_eq(err.msg, "stop here");
}

Test(grants, status_is_not_yet_valid_then_active_then_expired_and_revoked_once_revoked)
{
	uint64_t now = mc_now_ms();
	uint8_t g1[MC_GRANT_ID_LEN], g2[MC_GRANT_ID_LEN];
	struct list l = { .at = { now, now + DAY + DAY / 2, now + 3 * DAY } };

	ev_grant("P1", fx.node->pk, now + DAY, now + 2 * DAY, g1);
	ev_grant("P2", fx.node->pk, 0, MC_TIME_OPEN, g2);
	list(&l);
	cr_assert_eq(l.n, 2);
	for (unsigned i = 0; i < l.n; i++) {
		bool is1 = memcmp(l.r[i].id, g1, 16) == 0;

		cr_assert_str_eq(l.r[i].status[0], is1 ? "not-yet-valid" : "active");
		cr_assert_str_eq(l.r[i].status[1], "active");
		cr_assert_str_eq(l.r[i].status[2], is1 ? "expired" : "active");
		cr_assert_geq(l.r[i].granted_at, now, "granted at its block's time");
	}
	ev_revoke(g2);
	ev_revoke(g1);
	list(&l);
	for (unsigned i = 0; i < l.n; i++)
		for (int k = 0; k < 3; k++)
			cr_assert_str_eq(l.r[i].status[k], "revoked", "a revoked grant is revoked at any time");
}

Test(grants, the_edges_of_the_window_are_inside_it)
{
	struct mc_grant_state gs = { .revoked_at = MC_TIME_OPEN };
	struct mc_grant g = { .not_before = 1000, .not_after = 2000 };

	cr_assert_str_eq(mc_grant_status(&gs, &g, true, 999), "not-yet-valid");
	cr_assert_str_eq(mc_grant_status(&gs, &g, true, 1000), "active");
	cr_assert_str_eq(mc_grant_status(&gs, &g, true, 2000), "active");
	cr_assert_str_eq(mc_grant_status(&gs, &g, true, 2001), "expired");
	gs.revoked_at = 1500;
	cr_assert_str_eq(mc_grant_status(&gs, &g, true, 1400), "revoked");
}

/* A revoked grantee permits nothing at any time; a grant revoked itself
 * stays "revoked" (what was done to the grant comes first). */
Test(grants, a_grant_to_a_revoked_identity_is_grantee_revoked_at_any_time)
{
	struct mc_grant_state gs = { .revoked_at = MC_TIME_OPEN };
	struct mc_grant g = { .not_before = 1000, .not_after = 2000 };

	cr_assert_str_eq(mc_grant_status(&gs, &g, false, 999), "grantee-revoked");
	cr_assert_str_eq(mc_grant_status(&gs, &g, false, 1500), "grantee-revoked");
	cr_assert_str_eq(mc_grant_status(&gs, &g, false, 2001), "grantee-revoked");
	gs.revoked_at = 1500;
	cr_assert_str_eq(mc_grant_status(&gs, &g, false, 1600), "revoked");
}

Test(grants, a_scope_parses_to_its_categories_and_prints_back)
{
	struct mc_grant g;
	char store[256], text[MC_GRANT_SCOPE_TEXT_MAX];
	struct mc_err err = { 0 };
	static const uint8_t recs[2 * 16];

	memset(&g, 0, sizeof(g));
	cr_assert_eq(mc_grant_scope_parse("*", &g, store, sizeof(store), &err), 0);
	cr_assert(g.all_categories);
	cr_assert_eq(g.ncat, 0);
	mc_grant_scope_text(&g, text, sizeof(text));
	cr_assert_str_eq(text, "*");

	memset(&g, 0, sizeof(g));
	cr_assert_eq(mc_grant_scope_parse(" lab ,imaging, note", &g, store, sizeof(store), &err), 0, "%s", err.msg);
	cr_assert_not(g.all_categories);
	cr_assert_eq(g.ncat, 3);
	cr_assert_eq(g.cat_len[0], 3);
	cr_assert_eq(memcmp(g.cat[1], "imaging", 7), 0);
	mc_grant_scope_text(&g, text, sizeof(text));
	cr_assert_str_eq(text, "lab,imaging,note", "spaces around commas dropped");

	g.nrec = 2;
	g.recs = recs;
	mc_grant_scope_text(&g, text, sizeof(text));
	cr_assert_str_eq(text, "lab,imaging,note,2 record(s)");
	g.ncat = 0;
	mc_grant_scope_text(&g, text, sizeof(text));
	cr_assert_str_eq(text, "2 record(s)");

	memset(&g, 0, sizeof(g));
	cr_assert_eq(mc_grant_scope_parse("", &g, store, sizeof(store), &err), 0);
	cr_assert_eq(g.ncat, 0, "an empty scope names no category");
	cr_assert_not(g.all_categories);
	cr_assert_eq(mc_grant_scope_parse(",,", &g, store, sizeof(store), &err), 0);
	cr_assert_eq(g.ncat, 0);
}

Test(grants, a_malformed_scope_is_a_usage_error_saying_what_a_scope_is)
{
	static const char *bad[] = { "Lab", "lab,*", "lab;note", "lab note", "* ", "l\xc3\xa4" "b" };
	struct mc_grant g;
	char store[256], many[1024];
	size_t off = 0;
	struct mc_err err;

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		memset(&err, 0, sizeof(err));
		memset(&g, 0, sizeof(g));
		cr_assert_eq(mc_grant_scope_parse(bad[i], &g, store, sizeof(store), &err), -1, "'%s'", bad[i]);
		cr_assert_eq(err.code, EX_USAGE, "'%s'", bad[i]);
		cr_assert_not_null(strstr(err.msg, "scope"), "%s", err.msg);
	}
	for (int i = 0; i <= MC_SCOPE_CATS_MAX; i++)
		off += (size_t)snprintf(many + off, sizeof(many) - off, "%sc%d", i ? "," : "", i);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_grant_scope_parse(many, &g, store, sizeof(store), &err), -1, "one category too many");
	cr_assert_eq(err.code, EX_USAGE);
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_grant_scope_parse("lab,imaging", &g, store, 5, &err), -1, "no room to store them");
	cr_assert_eq(err.code, EX_USAGE);
}

/* ---- the chain's decision: each deny reason from real grants ------------- */

struct decide {
	const uint8_t *actor, *rec;
	uint8_t purpose;
	bool glass;
	uint64_t at;
	struct mc_decision d;
	uint8_t subject[MC_HASH_LEN];
};

static int decide_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct decide *c = vctx;

	return mc_access_decide(t, c->actor, c->rec, 1, c->purpose, c->glass, c->at, c->subject, &c->d, err);
}

static struct mc_decision decide(const uint8_t *actor, const uint8_t *rec, uint8_t purpose, bool glass,
				 uint64_t at)
{
	struct decide c = { actor, rec, purpose, glass, at, { 0 }, { 0 } };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, decide_txn, &c, &err), 0, "%s", err.msg);
	return c.d;
}

static void grant_scoped(const char *patient, const uint8_t grantee[MC_PK_LEN], uint8_t purpose,
			 const char *category, uint64_t nbf, uint64_t naf)
{
	struct mc_grant g;
	struct mc_buf b;

	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	ev_subject(patient, g.subject);
	memcpy(g.grantee, grantee, MC_PK_LEN);
	g.purpose = purpose;
	g.not_before = nbf;
	g.not_after = naf;
	g.ncat = 1;
	g.cat[0] = (const uint8_t *)category;
	g.cat_len[0] = strlen(category);
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)"form";
	g.attest_len = 4;
	mc_buf_init(&b);
	mc_grant_encode(&g, &b);
	ev_submit(fx.admin, MC_TX_CONSENT_GRANT, &b);
}

Test(grants, the_chain_decides_each_deny_reason_from_the_grants_it_holds)
{
	struct mc_key *c = ev_enroll("Dr C", MC_ROLE_CLINICIAN), *aud = ev_enroll("Aud", MC_ROLE_AUDITOR);
	uint8_t rec[MC_RECORD_ID_LEN], gid[MC_GRANT_ID_LEN];
	struct mc_err err = { 0 };
	uint64_t now = mc_now_ms();
	struct mc_decision d;
	struct mc_revoke rv = { .reason = (const uint8_t *)"left", .reason_len = 4 };
	struct mc_buf b;

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);     /* category "note" */
	d = decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now);
	cr_assert_eq(d.outcome, MC_OUTCOME_DENY);
	cr_assert_eq(d.reason, MC_DENY_NO_GRANT);

	grant_scoped("P1", c->pk, MC_PURPOSE_RESEARCH, "note", 0, MC_TIME_OPEN);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now).reason, MC_DENY_WRONG_PURPOSE);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_RESEARCH, false, now).outcome, MC_OUTCOME_PERMIT,
		     "the research grant permits research");
	grant_scoped("P1", c->pk, MC_PURPOSE_TREATMENT, "lab", 0, MC_TIME_OPEN);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now).reason, MC_DENY_OUT_OF_SCOPE,
		     "a grant for the purpose but another category is the closer miss");

	ev_grant("P1", c->pk, now + DAY, now + 2 * DAY, gid);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now).reason, MC_DENY_NOT_YET);
	d = decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now + DAY);
	cr_assert_eq(d.outcome, MC_OUTCOME_PERMIT);
	cr_assert_arr_eq(d.grant, gid, MC_GRANT_ID_LEN);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now + 3 * DAY).reason, MC_DENY_EXPIRED);
	ev_revoke(gid);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, now + DAY + DAY / 2).reason,
		     MC_DENY_REVOKED, "revoked before that time");

	d = decide(c->pk, rec, MC_PURPOSE_TREATMENT, true, now);
	cr_assert_eq(d.outcome, MC_OUTCOME_BREAK_GLASS, "a clinician may break the glass");
	d = decide(aud->pk, rec, MC_PURPOSE_TREATMENT, true, now);
	cr_assert_eq(d.outcome, MC_OUTCOME_DENY);
	cr_assert_eq(d.reason, MC_DENY_BREAK_GLASS_REFUSED, "an auditor may not");
	cr_assert_eq(decide(aud->pk, rec, MC_PURPOSE_TREATMENT, false, now).reason, MC_DENY_ROLE,
		     "an auditor reads the audit trail, not records");

	/* the clinician leaves: an open grant no longer lets them read */
	grant_scoped("P1", c->pk, MC_PURPOSE_TREATMENT, "note", 0, MC_TIME_OPEN);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, mc_now_ms()).outcome, MC_OUTCOME_PERMIT);
	memcpy(rv.pk, c->pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_revoke_encode(&rv, &b);
	ev_submit(fx.admin, MC_TX_IDENTITY_REVOKE, &b);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, false, mc_now_ms()).reason, MC_DENY_ACTOR_INACTIVE);
	cr_assert_eq(decide(c->pk, rec, MC_PURPOSE_TREATMENT, true, mc_now_ms()).reason, MC_DENY_ACTOR_INACTIVE,
		     "nor break the glass");
	mc_key_free(c);
	mc_key_free(aud);
}
