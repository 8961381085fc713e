/* SPDX-License-Identifier: Apache-2.0 */
/* mc_alerts. First, the alerts about this node's peers, from serve's view
 * as mc_alerts gets it: a validator not heard from for validator_down_ms is down; one that is
 * up but lacks a block this node has had that long is lagging; neither for
 * a peer outside the validator set, a fresh gap, or serve not running
 * (then serve-down alone). Ids name the fact: the same fact, the same id. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "chain.h"
#include "events.h"
#include "fixture.h"

TestSuite(alerts, .init = fx_setup, .fini = fx_teardown);

#define GOT_MAX 32
struct got {
	unsigned n;
	struct mc_alert a[GOT_MAX];
};

static int collect(const struct mc_alert *a, void *vctx)
{
	struct got *g = vctx;

	if (g->n < GOT_MAX)
		g->a[g->n++] = *a;
	return 0;
}

struct run {
	struct mc_alert_params *p;
	struct got *g;
};

static int run_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct run *r = vctx;

	return mc_alerts(t, r->p, collect, r->g, err);
}

static struct got run(struct mc_alert_params *p)
{
	struct got g = { 0 };
	struct run r = { p, &g };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, run_txn, &r, &err), 0, "%s", err.msg);
	return g;
}

/* serve running, one peer: the genesis validator (this fixture's node) */
static void one_peer(struct mc_alert_params *p, uint64_t now, bool up, uint64_t seen, uint64_t height)
{
	mc_alert_defaults(p, now);
	p->check_serve = true;
	p->serve_running = true;
	p->serve_started_ms = now - 3600 * 1000;
	p->npeers = 1;
	memset(&p->peers[0], 0, sizeof(p->peers[0]));
	p->peers[0].has_pk = true;
	memcpy(p->peers[0].pk, fx.node->pk, MC_PK_LEN);
	snprintf(p->peers[0].url, sizeof(p->peers[0].url), "http://n2.example:7400");
	p->peers[0].up = up;
	p->peers[0].last_seen_ms = seen;
	p->peers[0].height = height;
}

Test(alerts, a_validator_up_but_lacking_an_old_block_is_lagging_and_not_before)
{
	static struct mc_alert_params p;
	uint8_t id[MC_RECORD_ID_LEN];
	struct mc_err err = { 0 };
	uint64_t now = mc_now_ms();
	struct got g;

	cr_assert_eq(fx_put("P1", "one", id, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_put("P2", "two", id, &err), 0, "%s", err.msg);   /* head: 2 */
	one_peer(&p, now + 120000, true, now + 120000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1, "one alert, got %u", g.n);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VALIDATOR_LAGGING);
	cr_assert_str_eq(mc_alert_name(g.a[0].kind), "validator-lagging");
	cr_assert_eq(g.a[0].height, 1, "the first block it lacks");
	cr_assert_eq(g.a[0].count, 2, "two blocks behind");
	cr_assert_arr_eq(g.a[0].actor, fx.node->pk, MC_PK_LEN);
	cr_assert_str_eq(g.a[0].message, "http://n2.example:7400");

	one_peer(&p, now + 120000, true, now + 120000, 2);
	cr_assert_eq(run(&p).n, 0, "in step: no alert");
	one_peer(&p, now, true, now, 0);
	cr_assert_eq(run(&p).n, 0, "the block it lacks is not a minute old: no alert yet");
	one_peer(&p, now + 120000, true, now + 120000, 0);
	p.validator_down_ms = 3600 * 1000;
	cr_assert_eq(run(&p).n, 0, "validator_down_ms sets how long");
}

Test(alerts, a_validator_not_heard_from_is_down_with_one_id_while_it_lasts)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	uint8_t first[MC_ALERT_ID_LEN];
	struct got g;

	one_peer(&p, now, false, now - 61000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VALIDATOR_DOWN);
	cr_assert_eq(g.a[0].time_ms, now - 61000, "down since it was last heard from");
	cr_assert_not(g.a[0].acked);
	memcpy(first, g.a[0].id, MC_ALERT_ID_LEN);

	one_peer(&p, now + 30000, false, now - 61000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_arr_eq(g.a[0].id, first, MC_ALERT_ID_LEN, "the same outage, the same id");

	one_peer(&p, now + 30000, false, now - 1000, 0);
	cr_assert_eq(run(&p).n, 0, "heard from a second ago: not down");
	one_peer(&p, now + 90000, false, now - 1000, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_arr_neq(g.a[0].id, first, MC_ALERT_ID_LEN, "another outage, another id");

	one_peer(&p, now, false, 0, 0);
	g = run(&p);
	cr_assert_eq(g.n, 1, "never heard from since serve started an hour ago");
	cr_assert(g.a[0].never);

	one_peer(&p, now, false, now - 61000, 0);
	p.peers[0].pk[0] ^= 1;
	cr_assert_eq(run(&p).n, 0, "a peer outside the validator set is not a validator down");
}

Test(alerts, serve_not_running_says_so_and_judges_no_validator)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	struct got g;

	one_peer(&p, now, false, now - 600000, 0);
	p.serve_running = false;
	p.status_ms = now - 20000;
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_SERVE_DOWN);
	cr_assert_eq(g.a[0].time_ms, now - 20000);
	mc_alert_defaults(&p, now);
	cr_assert_eq(run(&p).n, 0, "no serve to check: nothing said");
}

/* ---- Then each chain-based kind: it fires on its fact and not without it;
 * ids are stable and differ per fact; an acknowledged alert is hidden
 * unless include_acked. ---------------------------------------------------- */

#define HOUR 3600000ULL
#define DAY (24 * HOUR)

/* The alerts of one kind in g, into out (at most GOT_MAX). */
static unsigned of_kind(const struct got *g, unsigned kind, struct mc_alert *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		if (g->a[i].kind == kind && out)
			out[n++] = g->a[i];
		else if (g->a[i].kind == kind)
			n++;
	return n;
}

static struct got run_at(uint64_t now)
{
	static struct mc_alert_params p;

	mc_alert_defaults(&p, now);
	return run(&p);
}

Test(alerts, a_fresh_chain_has_no_alert)
{
	struct got g = run_at(mc_now_ms());

	cr_assert_eq(g.n, 0, "got %u", g.n);
}

Test(alerts, a_break_glass_read_is_an_alert_within_the_window_with_one_id_per_read)
{
	struct mc_key *c = ev_enroll("Dr C", MC_ROLE_CLINICIAN);
	uint8_t rec[MC_RECORD_ID_LEN];
	struct mc_err err = { 0 };
	struct mc_alert a[GOT_MAX], b[GOT_MAX];
	struct mc_produced p1;
	struct got g;
	uint64_t now;

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
	cr_assert_eq(ev_read(c, rec, NULL, NULL), MC_OUTCOME_DENY);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_BREAK_GLASS, NULL), 0, "a denied read is no break-glass");

	cr_assert_eq(ev_read(c, rec, "unconscious", &p1), MC_OUTCOME_BREAK_GLASS);
	now = mc_now_ms();
	g = run_at(now);
	cr_assert_eq(of_kind(&g, MC_ALERT_BREAK_GLASS, a), 1);
	cr_assert_arr_eq(a[0].actor, c->pk, MC_PK_LEN);
	cr_assert_arr_eq(a[0].record, rec, MC_RECORD_ID_LEN);
	cr_assert_eq(a[0].height, p1.height);
	cr_assert_str_eq(mc_alert_name(a[0].kind), "break-glass");
	cr_assert_eq(mc_alert_kind("break-glass"), MC_ALERT_BREAK_GLASS);

	g = run_at(now + 1000);
	cr_assert_eq(of_kind(&g, MC_ALERT_BREAK_GLASS, b), 1);
	cr_assert_arr_eq(b[0].id, a[0].id, MC_ALERT_ID_LEN, "the same read, the same id on every run");

	cr_assert_eq(ev_read(c, rec, "unconscious", NULL), MC_OUTCOME_BREAK_GLASS);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_BREAK_GLASS, b), 2, "oldest first");
	cr_assert_arr_eq(b[0].id, a[0].id, MC_ALERT_ID_LEN);
	cr_assert_arr_neq(b[1].id, a[0].id, MC_ALERT_ID_LEN, "another read, another id");

	g = run_at(now + 2 * DAY);
	cr_assert_eq(of_kind(&g, MC_ALERT_BREAK_GLASS, NULL), 0, "older than the 24 h window");
	mc_key_free(c);
}

Test(alerts, denials_by_one_actor_are_a_burst_from_the_fifth_in_the_hour)
{
	struct mc_key *c = ev_enroll("Dr C", MC_ROLE_CLINICIAN), *d = ev_enroll("Dr D", MC_ROLE_CLINICIAN);
	uint8_t rec[MC_RECORD_ID_LEN];
	struct mc_err err = { 0 };
	struct mc_alert a[GOT_MAX];
	struct got g;

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(ev_read(c, rec, NULL, NULL), MC_OUTCOME_DENY);
	cr_assert_eq(ev_read(d, rec, NULL, NULL), MC_OUTCOME_DENY);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_DENY_BURST, NULL), 0, "four denials are no burst; two actors' add up to none");
	cr_assert_eq(ev_read(c, rec, NULL, NULL), MC_OUTCOME_DENY);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_DENY_BURST, a), 1);
	cr_assert_arr_eq(a[0].actor, c->pk, MC_PK_LEN);
	cr_assert_eq(a[0].count, 5);
	g = run_at(mc_now_ms() + 2 * HOUR);
	cr_assert_eq(of_kind(&g, MC_ALERT_DENY_BURST, NULL), 0, "outside the hour");
	mc_key_free(c);
	mc_key_free(d);
}

Test(alerts, a_grant_ending_within_a_week_is_expiring_and_an_open_one_is_not)
{
	uint64_t now = mc_now_ms();
	uint8_t g1[MC_GRANT_ID_LEN], g2[MC_GRANT_ID_LEN], g3[MC_GRANT_ID_LEN];
	struct mc_alert a[GOT_MAX];
	struct got g;

	ev_grant("P1", fx.node->pk, 0, MC_TIME_OPEN, g1);
	ev_grant("P2", fx.node->pk, 0, now + 30 * DAY, g2);
	g = run_at(now);
	cr_assert_eq(of_kind(&g, MC_ALERT_GRANT_EXPIRING, NULL), 0);
	ev_grant("P3", fx.node->pk, 0, now + 2 * DAY, g3);
	g = run_at(now);
	cr_assert_eq(of_kind(&g, MC_ALERT_GRANT_EXPIRING, a), 1);
	cr_assert_arr_eq(a[0].grant, g3, MC_GRANT_ID_LEN);
	cr_assert_eq(a[0].time_ms, now + 2 * DAY, "the grant's end");
	g = run_at(now + 24 * DAY);
	cr_assert_eq(of_kind(&g, MC_ALERT_GRANT_EXPIRING, a), 1, "g3 has ended; g2 ends within the week");
	cr_assert_arr_eq(a[0].grant, g2, MC_GRANT_ID_LEN);
	ev_revoke(g2);
	g = run_at(now + 24 * DAY);
	cr_assert_eq(of_kind(&g, MC_ALERT_GRANT_EXPIRING, NULL), 0, "a revoked grant does not expire");
}

/* A patient identity enrolled by the admin, with the pseudonym of patient. */
static struct mc_key *enroll_patient(const char *patient)
{
	struct mc_enroll e = { .roles = MC_ROLE_PATIENT, .name = (const uint8_t *)"Pat", .name_len = 3 };
	uint8_t subj[MC_HASH_LEN];
	struct mc_key *k;
	struct mc_buf b;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	ev_subject(patient, subj);
	memcpy(e.pk, k->pk, MC_PK_LEN);
	e.subject = subj;
	e.subject_len = MC_HASH_LEN;
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	ev_submit(fx.admin, MC_TX_IDENTITY_ENROLL, &b);
	return k;
}

static void patient_grant(const struct mc_key *pat, const char *patient, const uint8_t grantee[MC_PK_LEN])
{
	struct mc_grant g;
	struct mc_buf b;

	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	ev_subject(patient, g.subject);
	memcpy(g.grantee, grantee, MC_PK_LEN);
	g.purpose = MC_PURPOSE_TREATMENT;
	g.not_after = MC_TIME_OPEN;
	g.all_categories = true;
	g.attest_kind = MC_ATTEST_PATIENT_SIGNATURE;
	g.attest = (const uint8_t *)"signed";
	g.attest_len = 6;
	mc_buf_init(&b);
	mc_grant_encode(&g, &b);
	ev_submit(pat, MC_TX_CONSENT_GRANT, &b);
}

Test(alerts, every_staff_recorded_grant_is_an_alert_and_a_patient_signed_one_is_not)
{
	struct mc_key *pat = enroll_patient("P9"), *outsider;
	uint8_t g1[MC_GRANT_ID_LEN];
	struct mc_alert a[GOT_MAX];
	struct got g;
	struct mc_err err = { 0 };

	/* a patient-signed grant to someone of another organization, long
	 * after nothing: neither staff nor enroller nor colleague */
	cr_assert_eq(mc_key_generate(false, &outsider, &err), 0);
	{
		struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr X", .name_len = 4,
				       .org = (const uint8_t *)"Other", .org_len = 5 };
		struct mc_buf b;

		memcpy(e.pk, outsider->pk, MC_PK_LEN);
		mc_buf_init(&b);
		mc_enroll_encode(&e, &b);
		ev_submit(fx.admin, MC_TX_IDENTITY_ENROLL, &b);
	}
	patient_grant(pat, "P9", outsider->pk);
	g = run_at(mc_now_ms());
	cr_assert_eq(g.n, 0, "a patient's own grant to a stranger: no alert (got %u, kind %u)", g.n,
		     g.n ? g.a[0].kind : 0);

	ev_grant("P1", fx.node->pk, 0, MC_TIME_OPEN, g1);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_STAFF_GRANT, a), 1);
	cr_assert_arr_eq(a[0].grant, g1, MC_GRANT_ID_LEN);
	cr_assert_arr_eq(a[0].author, fx.admin->pk, MC_PK_LEN, "who recorded it");
	cr_assert_not(a[0].revoked);
	ev_revoke(g1);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_STAFF_GRANT, a), 1, "revoked ones too");
	cr_assert(a[0].revoked);
	mc_key_free(pat);
	mc_key_free(outsider);
}

Test(alerts, a_patient_signed_grant_to_the_staff_member_who_enrolled_that_patient_is_an_alert)
{
	struct mc_key *pat = enroll_patient("P9");
	struct mc_alert a[GOT_MAX];
	struct got g;

	patient_grant(pat, "P9", fx.admin->pk);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_ENROLLER_GRANT, a), 1);
	cr_assert_arr_eq(a[0].actor, fx.admin->pk, MC_PK_LEN, "the grantee");
	cr_assert_arr_eq(a[0].author, pat->pk, MC_PK_LEN, "the patient identity signed it");
	cr_assert_eq(of_kind(&g, MC_ALERT_STAFF_GRANT, NULL), 0);
	mc_key_free(pat);
}

Test(alerts, a_rotation_without_the_old_keys_signature_is_an_alert)
{
	struct mc_key *c = ev_enroll("Dr C", MC_ROLE_CLINICIAN), *n;
	struct mc_alert a[GOT_MAX];
	struct got g;

	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_LOST_KEY_ROTATION, NULL), 0);
	n = ev_rotate_lost(c);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_LOST_KEY_ROTATION, a), 1);
	cr_assert_arr_eq(a[0].actor, n->pk, MC_PK_LEN, "the new key");
	cr_assert_arr_eq(a[0].old_pk, c->pk, MC_PK_LEN);
	cr_assert_arr_eq(a[0].author, fx.admin->pk, MC_PK_LEN);
	mc_key_free(c);
	mc_key_free(n);
}

Test(alerts, a_failed_verify_and_an_overdue_one_are_alerts_and_a_recent_good_one_is_none)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	uint8_t first[MC_ALERT_ID_LEN];
	struct got g;

	mc_alert_defaults(&p, now);
	p.check_verify = true;
	p.verify_ran = true;
	p.verify.time_ms = now - HOUR;
	p.verify.ok = true;
	cr_assert_eq(run(&p).n, 0, "verified an hour ago: fine");

	p.verify.ok = false;
	snprintf(p.verify.message, sizeof(p.verify.message), "block 3: bad certificate");
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VERIFY_FAILED);
	cr_assert_str_eq(g.a[0].message, "block 3: bad certificate");

	p.verify.ok = true;
	p.verify.message[0] = '\0';
	p.now_ms = now + 2 * DAY;
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VERIFY_OVERDUE);
	cr_assert_not(g.a[0].never);
	memcpy(first, g.a[0].id, MC_ALERT_ID_LEN);
	p.now_ms = now + 3 * DAY;
	g = run(&p);
	cr_assert_arr_eq(g.a[0].id, first, MC_ALERT_ID_LEN, "overdue since the same verify: the same id");

	p.verify_ran = false;
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_VERIFY_OVERDUE);
	cr_assert(g.a[0].never, "never run: overdue counted from genesis");
	p.now_ms = now;
	cr_assert_eq(run(&p).n, 0, "never run, but the chain is new");
}

Test(alerts, a_chain_never_anchored_is_overdue_once_overdue_after_has_passed)
{
	static struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	struct got g;

	mc_alert_defaults(&p, now + 2 * HOUR);
	cr_assert_eq(run(&p).n, 0, "overdue_after unset: off");
	p.anchor_overdue_ms = HOUR;
	g = run(&p);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.a[0].kind, MC_ALERT_ANCHOR_OVERDUE);
	cr_assert_eq(g.a[0].seq, 0, "no anchor ever");
	p.anchor_overdue_ms = 3 * HOUR;
	cr_assert_eq(run(&p).n, 0, "not overdue yet");
}

static int ack_get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_alert *a = vctx;

	return mc_alert_ack_get(t, a->id, a, err);
}

Test(alerts, an_acknowledged_alert_is_left_out_unless_include_acked_and_the_others_stay)
{
	static struct mc_alert_params p;
	uint8_t g1[MC_GRANT_ID_LEN], g2[MC_GRANT_ID_LEN];
	struct mc_alert a[GOT_MAX], look;
	struct mc_err err = { 0 };
	struct got g;
	bool first_is_g1;

	/* the forms fx.admin recorded are acknowledged by another admin */
	struct mc_key *admin2 = ev_enroll("Admin B", MC_ROLE_ADMIN);

	ev_grant("P1", fx.node->pk, 0, MC_TIME_OPEN, g1);
	ev_grant("P2", fx.node->pk, 0, MC_TIME_OPEN, g2);
	g = run_at(mc_now_ms());
	cr_assert_eq(of_kind(&g, MC_ALERT_STAFF_GRANT, a), 2);
	cr_assert_arr_neq(a[0].id, a[1].id, MC_ALERT_ID_LEN, "two grants, two ids");
	first_is_g1 = memcmp(a[0].grant, g1, MC_GRANT_ID_LEN) == 0;
	memcpy(look.id, a[0].id, MC_ALERT_ID_LEN);
	cr_assert_eq(mc_store_read(fx.s, ack_get_txn, &look, &err), MC_NOTFOUND);

	ev_ack_by(admin2, MC_ALERT_STAFF_GRANT, a[0].id, "form checked");
	g = run_at(mc_now_ms());
	cr_assert_eq(g.n, 1, "the acknowledged one is left out");
	cr_assert_arr_eq(g.a[0].id, a[1].id, MC_ALERT_ID_LEN);
	cr_assert_arr_eq(g.a[0].grant, first_is_g1 ? g2 : g1, MC_GRANT_ID_LEN);
	cr_assert_not(g.a[0].acked);

	mc_alert_defaults(&p, mc_now_ms());
	p.include_acked = true;
	g = run(&p);
	cr_assert_eq(g.n, 2);
	for (unsigned i = 0; i < g.n; i++) {
		bool acked = memcmp(g.a[i].id, a[0].id, MC_ALERT_ID_LEN) == 0;

		cr_assert_eq(g.a[i].acked, acked);
		if (acked) {
			cr_assert_arr_eq(g.a[i].ack_by, admin2->pk, MC_PK_LEN);
			cr_assert_str_eq(g.a[i].ack_reason, "form checked");
			cr_assert_gt(g.a[i].ack_height, 0);
		}
	}
	cr_assert_eq(mc_store_read(fx.s, ack_get_txn, &look, &err), 0, "%s", err.msg);
	cr_assert_str_eq(look.ack_reason, "form checked");
	mc_key_free(admin2);
}

Test(alerts, an_id_is_the_hash_of_the_kind_and_the_fact)
{
	struct mc_alert a, b;
	uint8_t ia[MC_ALERT_ID_LEN], ib[MC_ALERT_ID_LEN];

	memset(&a, 0, sizeof(a));
	a.kind = MC_ALERT_STAFF_GRANT;
	memset(a.grant, 7, sizeof(a.grant));
	b = a;
	mc_alert_id(&a, ia);
	snprintf(b.message, sizeof(b.message), "not part of the fact");
	b.acked = true;
	mc_alert_id(&b, ib);
	cr_assert_arr_eq(ia, ib, MC_ALERT_ID_LEN, "what is not the fact does not change the id");
	b.grant[15] ^= 1;
	mc_alert_id(&b, ib);
	cr_assert_arr_neq(ia, ib, MC_ALERT_ID_LEN, "another grant");
	b = a;
	b.kind = MC_ALERT_GRANT_EXPIRING;
	b.time_ms = 0;
	mc_alert_id(&b, ib);
	cr_assert_arr_neq(ia, ib, MC_ALERT_ID_LEN, "another kind");
}

/* Writes a serve.status.json at path (built with cJSON) with this time
 * and pid, no peers. */
static void write_status(const char *path, double time_ms, double pid)
{
	cJSON *j = cJSON_CreateObject();
	char *text;
	FILE *f;

	cr_assert_not_null(j);
	cJSON_AddNumberToObject(j, "time_ms", time_ms);
	cJSON_AddNumberToObject(j, "pid", pid);
	cJSON_AddNumberToObject(j, "uptime_s", 10);
	cJSON_AddItemToObject(j, "peers", cJSON_CreateArray());
	text = cJSON_PrintUnformatted(j);
	cr_assert_not_null(text);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cJSON_free(text);
	cJSON_Delete(j);
}

/* serve.status.json with a time ahead of the clock: a forged or stale file
 * (the clock was set back after serve wrote it) is no proof that serve
 * runs now, even with the pid of a live process in it */
Test(alerts, a_status_file_from_the_future_is_not_a_running_serve)
{
	char path[] = "/tmp/medchain-status-XXXXXX";
	struct mc_alert_params p;
	uint64_t now = mc_now_ms();
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_status(path, (double)(now + 24ULL * 3600 * 1000), (double)getpid());
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(!p.serve_running, "a status written a day from now is not fresh");
	write_status(path, (double)now, (double)getpid());
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(p.serve_running, "one written now by a live process is");
	write_status(path, (double)now, 1e300);
	mc_alert_defaults(&p, now);
	mc_alert_load_serve(&p, path);
	cr_assert(!p.serve_running, "a pid no process can have is a forged file");
	unlink(path);
}
