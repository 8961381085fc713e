/* The console's models, without curses: each screen's data from a real
 * store, paged and filtered as the screens ask. */
#include "config.h"

#include "fixture.h"
#include "journal.h"
#include "model_anchors.h"
#include "model_audit.h"
#include "model_consent.h"
#include "model_dash.h"
#include "model_nodes.h"
#include "model_records.h"

TestSuite(models, .init = fx_setup, .fini = fx_teardown);

static void submit(const struct mc_key *author, unsigned type, struct mc_buf *body)
{
	struct mc_produced p;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_chain_submit(fx.s, fx.node, author, type, body->data, body->len, &p, &err), 0, "%s", err.msg);
	mc_buf_release(body);
}

static void grant(const char *patient, const uint8_t grantee[MC_PK_LEN], uint64_t until, uint8_t id[16])
{
	struct mc_grant g;
	struct mc_buf b;
	struct mc_err err = { 0 };

	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	memcpy(id, g.id, 16);
	cr_assert_eq(mc_org_subject(fx.o, patient, strlen(patient), g.subject, &err), 0);
	memcpy(g.grantee, grantee, MC_PK_LEN);
	g.purpose = MC_PURPOSE_TREATMENT;
	g.not_after = until;
	g.all_categories = true;
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)"form";
	g.attest_len = 4;
	mc_buf_init(&b);
	mc_grant_encode(&g, &b);
	submit(fx.admin, MC_TX_CONSENT_GRANT, &b);
}

static void revoke(const uint8_t id[16])
{
	struct mc_consent_revoke r = { .reason = (const uint8_t *)"withdrawn", .reason_len = 9 };
	struct mc_buf b;

	memcpy(r.id, id, 16);
	mc_buf_init(&b);
	mc_consent_revoke_encode(&r, &b);
	submit(fx.admin, MC_TX_CONSENT_REVOKE, &b);
}

Test(models, dashboard_counts_blocks_records_and_the_current_hours_blocks)
{
	struct mc_dash *d = calloc(1, sizeof(*d));
	struct mc_err err = { 0 };
	uint8_t id[16];

	for (int i = 0; i < 3; i++)
		cr_assert_eq(fx_put("P1", "hello", id, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_dash_load(fx.s, mc_now_ms(), d, &err), 0, "%s", err.msg);
	cr_assert_eq(d->head.height, 3);
	cr_assert_eq(d->record_versions, 3);
	cr_assert_eq(d->validators, 1);
	cr_assert_eq(d->per_hour[MC_DASH_HOURS - 1], 4, "genesis and three puts in this hour");
	cr_assert_not(d->anchored);
	cr_assert_not(d->pending);
	cr_assert_eq(d->nalerts, 0);
	free(d);
}

Test(models, records_pages_cover_every_record_once_in_id_order_and_filter_by_patient)
{
	struct mc_records_page *p = calloc(1, sizeof(*p));
	struct mc_err err = { 0 };
	uint8_t id[16], subj[MC_HASH_LEN], last[16];
	unsigned seen = 0;
	bool first = true;

	for (int i = 0; i < 7; i++)
		cr_assert_eq(fx_put(i < 2 ? "P1" : "P2", "x", id, &err), 0, "%s", err.msg);
	do {
		cr_assert_eq(mc_records_page_load(fx.s, NULL, NULL, first ? NULL : last, 3, p, &err), 0, "%s", err.msg);
		for (unsigned i = 0; i < p->n; i++) {
			if (!first || i > 0)
				cr_assert_gt(memcmp(p->rows[i].id, i ? p->rows[i - 1].id : last, 16), 0, "id order");
			seen++;
		}
		if (p->n)
			memcpy(last, p->rows[p->n - 1].id, 16);
		first = false;
	} while (p->more);
	cr_assert_eq(seen, 7);
	cr_assert_eq(mc_org_subject(fx.o, "P1", 2, subj, &err), 0);
	cr_assert_eq(mc_records_page_load(fx.s, subj, NULL, NULL, 100, p, &err), 0);
	cr_assert_eq(p->n, 2);
	cr_assert_eq(mc_records_page_load(fx.s, subj, "lab", NULL, 100, p, &err), 0);
	cr_assert_eq(p->n, 0, "no lab records");
	cr_assert_eq(mc_records_history_load(fx.s, id, p, &err), 0);
	cr_assert_eq(p->n, 1);
	free(p);
}

Test(models, consent_rows_show_status_filters_and_grants_ending_soon)
{
	struct mc_consent_rows *r = calloc(1, sizeof(*r));
	struct mc_consent_filter f = { 0 };
	struct mc_err err = { 0 };
	uint8_t g1[16], g2[16];
	uint64_t now = mc_now_ms();

	grant("P1", fx.admin->pk, now + 2 * 86400000ULL, g1);
	grant("P2", fx.admin->pk, MC_TIME_OPEN, g2);
	revoke(g2);
	f.now_ms = mc_now_ms();
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 2);
	cr_assert_eq(r->expiring, 1, "the grant ending in two days");
	for (unsigned i = 0; i < r->n; i++) {
		bool is1 = memcmp(r->rows[i].id, g1, 16) == 0;

		cr_assert_str_eq(r->rows[i].status, is1 ? "active" : "revoked");
		cr_assert_str_eq(r->rows[i].scope, "*");
		cr_assert_str_eq(r->rows[i].grantee_name, "admin");
	}
	f.active_only = true;
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0);
	cr_assert_eq(r->n, 1);
	cr_assert_arr_eq(r->rows[0].id, g1, 16);
	f.active_only = false;
	f.expiring_only = true;
	f.expiring_window_ms = 3600000;   /* one hour: nothing ends that soon */
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0);
	cr_assert_eq(r->n, 0);
	free(r);
}

Test(models, audit_rows_are_newest_first_and_page_backwards)
{
	struct mc_audit_rows *r = calloc(1, sizeof(*r));
	struct mc_audit_filter f;
	struct mc_err err = { 0 };
	uint8_t g[16];
	uint64_t seen_h = UINT64_MAX;
	unsigned total = 0;

	for (int i = 0; i < 5; i++) {
		grant("P1", fx.admin->pk, MC_TIME_OPEN, g);
		revoke(g);
	}
	mc_audit_filter_init(&f);
	f.newest_first = true;
	f.limit = 3;
	do {
		cr_assert_eq(mc_audit_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
		for (unsigned i = 0; i < r->n; i++) {
			cr_assert_lt(r->rows[i].h, seen_h, "newest first, no repeats");
			seen_h = r->rows[i].h;
			cr_assert_eq(r->rows[i].type, total % 2 == 0 ? MC_TX_CONSENT_REVOKE : MC_TX_CONSENT_GRANT);
			total++;
		}
		f.have_after = true;
		f.after_h = r->page.last_h;
		f.after_t = r->page.last_t;
	} while (r->page.more);
	cr_assert_eq(total, 10);
	free(r);
}

Test(models, nodes_list_the_validator_set_and_mark_this_node)
{
	struct mc_nodes n;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, &n, &err), 0, "%s", err.msg);
	cr_assert_eq(n.n, 1);
	cr_assert(n.rows[0].self);
	cr_assert_str_eq(n.rows[0].name, "n1");
	cr_assert_str_eq(n.rows[0].org, "Org");
}

static int put_entry(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_journal_put(t, ctx, err);
}

Test(models, anchors_list_the_journal_newest_first_with_its_state)
{
	struct mc_anchor_rows *r = calloc(1, sizeof(*r));
	struct mc_anchor_entry *e = calloc(1, sizeof(*e));
	struct mc_err err = { 0 };

	for (uint64_t s = 1; s <= 3; s++) {
		memset(e, 0, sizeof(*e));
		e->seq = s;
		e->state = s < 3 ? MC_ANCHOR_SUPERSEDED : MC_ANCHOR_BROADCAST;
		e->tree_size = s + 1;
		e->public_chain_id = 31337;
		e->nonce = s - 1;
		e->nattempts = 1;
		e->attempts[0].hash[0] = (uint8_t)s;
		cr_assert_eq(mc_store_write(fx.s, put_entry, e, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(mc_anchor_rows_load(fx.s, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 3);
	cr_assert_eq(r->total, 3);
	cr_assert_eq(r->rows[0].seq, 3);
	cr_assert_str_eq(r->rows[0].state, "broadcast");
	cr_assert_eq(r->rows[0].tx[0], 3);
	cr_assert_eq(r->rows[0].consistency, 0, "no previous anchor to check from");
	cr_assert_str_eq(r->rows[2].state, "superseded");
	cr_assert_not(r->anchored);
	free(r);
	free(e);
}
