/* SPDX-License-Identifier: Apache-2.0 */
/* The console's models, without curses: each screen's data from a real
 * store, paged and filtered as the screens ask. */
#include "config.h"

#include <sys/stat.h>

#include "events.h"
#include "fixture.h"
#include "journal.h"
#include "model_anchors.h"
#include "model_audit.h"
#include "model_consent.h"
#include "model_dash.h"
#include "model_nodes.h"
#include "model_records.h"
#include "util.h"

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
	cr_assert_eq(mc_dash_load(fx.s, NULL, NULL, mc_now_ms(), d, &err), 0, "%s", err.msg);
	cr_assert_eq(d->head.height, 3);
	cr_assert_eq(d->record_versions, 3);
	cr_assert_eq(d->validators, 1);
	cr_assert_eq(d->per_hour[MC_DASH_HOURS - 1], 4, "genesis and three puts in this hour");
	cr_assert_not(d->anchored);
	cr_assert_not(d->pending);
	cr_assert_eq(d->nalerts, 0);
	free(d);
}

Test(models, dashboard_alerts_count_every_grant_recorded_by_staff)
{
	struct mc_dash *d = calloc(1, sizeof(*d));
	struct mc_err err = { 0 };
	uint8_t g1[16], g2[16];

	grant("P1", fx.node->pk, MC_TIME_OPEN, g1);
	grant("P2", fx.node->pk, MC_TIME_OPEN, g2);
	revoke(g2);
	cr_assert_eq(mc_dash_load(fx.s, NULL, NULL, mc_now_ms(), d, &err), 0, "%s", err.msg);
	cr_assert_eq(d->staff_grants, 2, "the admin recorded both, one revoked since");
	cr_assert_eq(d->expiring, 0);
	cr_assert_eq(d->nalerts, 2);
	for (unsigned i = 0; i < d->nalerts; i++) {
		cr_assert_eq(d->alerts[i].kind, MC_ALERT_STAFF_GRANT);
		cr_assert_arr_eq(d->alerts[i].author, fx.admin->pk, MC_PK_LEN);
		cr_assert_eq(d->alerts[i].revoked, memcmp(d->alerts[i].grant, g2, 16) == 0);
	}
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

	grant("P1", fx.node->pk, now + 2 * 86400000ULL, g1);
	grant("P2", fx.node->pk, MC_TIME_OPEN, g2);
	revoke(g2);
	f.now_ms = mc_now_ms();
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 2);
	cr_assert_eq(r->expiring, 1, "the grant ending in two days");
	for (unsigned i = 0; i < r->n; i++) {
		bool is1 = memcmp(r->rows[i].id, g1, 16) == 0;

		cr_assert_str_eq(r->rows[i].status, is1 ? "active" : "revoked");
		cr_assert_str_eq(r->rows[i].scope, "*");
		cr_assert_str_eq(r->rows[i].grantee_name, "n1");
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

/* A grant whose grantee's identity was revoked since (IDENTITY_REVOKE)
 * permits no read (actor-inactive): the Consent screen shows it as
 * "grantee-revoked", not "active", and "active only" leaves it out. */
Test(models, consent_rows_show_a_grant_to_a_revoked_identity_as_grantee_revoked)
{
	struct mc_consent_rows *r = calloc(1, sizeof(*r));
	struct mc_consent_filter f = { 0 };
	struct mc_err err = { 0 };
	struct mc_key *dr;
	struct mc_revoke rv = { .reason = (const uint8_t *)"left", .reason_len = 4 };
	struct mc_buf b;
	uint8_t g1[16];

	dr = ev_enroll("Dr A", MC_ROLE_CLINICIAN);
	grant("P1", dr->pk, MC_TIME_OPEN, g1);
	f.now_ms = mc_now_ms();
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 1);
	cr_assert_str_eq(r->rows[0].status, "active", "before the identity is revoked");
	memcpy(rv.pk, dr->pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_revoke_encode(&rv, &b);
	submit(fx.admin, MC_TX_IDENTITY_REVOKE, &b);
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 1);
	cr_assert_str_eq(r->rows[0].status, "grantee-revoked");
	cr_assert_str_eq(r->rows[0].grantee_name, "Dr A");
	f.active_only = true;
	cr_assert_eq(mc_consent_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 0, "not an active grant");
	mc_key_free(dr);
	free(r);
}

/* The Audit list's EVENT cell says what each audited event was: an
 * acknowledgement its alert's kind, id and reason, a lost-key rotation its
 * two keys, a grant its id and purpose (the acknowledgement's and the
 * rotation's were empty). */
Test(models, audit_event_cells_name_every_audited_event)
{
	struct mc_audit_rows *r = calloc(1, sizeof(*r));
	struct mc_audit_filter f;
	struct mc_err err = { 0 };
	struct mc_key *dr, *admin2, *dr2;
	uint8_t g[16], alert[MC_ALERT_ID_LEN];
	char want[200], ahex[2 * MC_ALERT_ID_LEN + 1], gh[33], o[65], n[65];
	unsigned seen = 0;

	dr = ev_enroll("Dr C", MC_ROLE_CLINICIAN);
	admin2 = ev_enroll("Admin B", MC_ROLE_ADMIN);
	ev_grant("P1", dr->pk, 0, MC_TIME_OPEN, g);
	ev_staff_alert(g, alert);
	ev_ack_by(admin2, MC_ALERT_STAFF_GRANT, alert, "reviewed");
	dr2 = ev_rotate_lost(dr);
	mc_audit_filter_init(&f);
	cr_assert_eq(mc_audit_rows_load(fx.s, &f, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 3, "the grant, the acknowledgement and the rotation");
	for (unsigned i = 0; i < r->n; i++) {
		char cell[700];

		mc_audit_event_what(&r->rows[i], cell, sizeof(cell));
		cr_assert_neq(cell[0], '\0', "event %u (type %u) has an EVENT cell", i, r->rows[i].type);
		if (r->rows[i].type == MC_TX_ALERT_ACK) {
			mc_hex(alert, MC_ALERT_ID_LEN, ahex);
			snprintf(want, sizeof(want), "ack staff-grant %s \"reviewed\"", ahex);
			cr_assert_str_eq(cell, want);
			seen |= 1;
		} else if (r->rows[i].type == MC_TX_IDENTITY_ROTATE) {
			mc_hex(dr->pk, MC_PK_LEN, o);
			mc_hex(dr2->pk, MC_PK_LEN, n);
			snprintf(want, sizeof(want), "rotate %.8s -> %.8s lost-key", o, n);
			cr_assert_str_eq(cell, want);
			seen |= 2;
		} else if (r->rows[i].type == MC_TX_CONSENT_GRANT) {
			mc_hex(g, 16, gh);
			snprintf(want, sizeof(want), "grant %.8s treatment", gh);
			cr_assert_str_eq(cell, want);
			seen |= 4;
		}
	}
	cr_assert_eq(seen, 7);
	mc_key_free(dr);
	mc_key_free(dr2);
	mc_key_free(admin2);
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
		grant("P1", fx.node->pk, MC_TIME_OPEN, g);
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

/* ---- Nodes: the validator set joined with serve.status.json ---------------- */

#define NOW_MS 1764517000000ull

Test(models, nodes_list_the_validator_set_and_mark_this_node)
{
	struct mc_nodes *n = calloc(1, sizeof(*n));
	struct mc_err err = { 0 };

	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, NULL, NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert_eq(n->n, 1);
	cr_assert(n->rows[0].self);
	cr_assert(n->rows[0].leader, "the genesis node leads view 0");
	cr_assert_str_eq(n->rows[0].name, "n1");
	cr_assert_str_eq(n->rows[0].org, "Org");
	cr_assert_eq(n->rows[0].state, MC_NODE_UNKNOWN, "no status file: unknown");
	cr_assert_not(n->live);
	cr_assert(n->rows[0].has_height, "this node's own height is the chain's");
	cr_assert_eq(n->rows[0].lag, 0);
	cr_assert_str_eq(n->rows[0].version, PACKAGE_VERSION);
	cr_assert_str_eq(mc_node_state_name(MC_NODE_UP), "up");
	cr_assert_str_eq(mc_node_state_name(MC_NODE_DOWN), "down");
	cr_assert_str_eq(mc_node_state_name(MC_NODE_UNKNOWN), "unknown");
	/* [node] name wins over the enrolled name */
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, "ward-1", NULL, NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert_str_eq(n->rows[0].name, "ward-1");
	free(n);
}

/* A chain of blocks 0..2 made by fx.node alone, then three validators
 * added (p[1..3]) and a view change to p[1]: set changes applied directly
 * at heights 3.. (several validators' certificates are the engine's). */
static struct mc_key *p[4];
static const char *const P_URL[4] = { "", "http://127.0.0.1:17402", "http://127.0.0.1:17403",
				      "http://127.0.0.1:17404" };

static void apply(unsigned type, struct mc_buf *body, uint64_t height)
{
	struct mc_err err = { 0 };

	cr_assert_eq(fx_apply_tx(fx.s, fx.node, type, body->data, body->len, height, &err), 0, "%s", err.msg);
	mc_buf_release(body);
}

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, vctx, err);
}

static void grow_to_four(void)
{
	struct mc_head h;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];

	for (int i = 0; i < 2; i++)
		cr_assert_eq(fx_put("P1", "note", id, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(fx.s, head_txn, &h, &err), 0, "%s", err.msg);
	cr_assert_eq(h.height, 2);
	p[0] = fx.node;
	for (unsigned i = 1; i < 4; i++) {
		struct mc_node_add a;
		uint8_t digest[MC_HASH_LEN];
		char name[16];
		struct mc_buf b;

		cr_assert_eq(mc_key_generate(false, &p[i], &err), 0);
		snprintf(name, sizeof(name), "enrolled-%u", i + 1);
		memset(&a, 0, sizeof(a));
		memcpy(a.pk, p[i]->pk, MC_PK_LEN);
		a.name = (const uint8_t *)name;
		a.name_len = strlen(name);
		a.url = (const uint8_t *)P_URL[i];
		a.url_len = strlen(P_URL[i]);
		a.epoch = i - 1;
		mc_node_change_digest(h.chain_id, MC_NODE_OP_ADD, a.pk, a.name, a.name_len, a.url, a.url_len,
				      a.epoch, digest);
		for (unsigned k = 0; k < i; k++) {
			struct mc_approval ap;

			mc_approval_sign(digest, p[k]->sk, p[k]->pk, &ap);
			cr_assert_eq(mc_approvals_add(&a.approvals, &ap, NULL), 0);
		}
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		apply(MC_TX_NODE_ADD, &b, 2 + i);
	}
	{
		struct mc_view_change *v = calloc(1, sizeof(*v));
		struct mc_buf b;

		v->view = 1;
		memcpy(v->leader, p[1]->pk, MC_PK_LEN);
		for (unsigned i = 0; i < 4; i++) {
			struct mc_vc_vote vo;
			unsigned at = v->count;

			memset(&vo, 0, sizeof(vo));
			mc_vc_vote_sign(h.chain_id, 1, p[1]->pk, p[i]->sk, p[i]->pk, &vo);
			while (at > 0 && memcmp(v->votes[at - 1].pk, vo.pk, MC_PK_LEN) > 0) {
				v->votes[at] = v->votes[at - 1];
				at--;
			}
			v->votes[at] = vo;
			v->count++;
		}
		mc_buf_init(&b);
		mc_view_change_encode(v, &b);
		free(v);
		apply(MC_TX_VIEW_CHANGE, &b, 6);
	}
}

static void free_peers(void)
{
	for (unsigned i = 1; i < 4; i++) {
		mc_key_free(p[i]);
		p[i] = NULL;
	}
}

static char *status_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/serve.status.json", fx.dir);
	return path;
}

static void write_status(const char *text, size_t n)
{
	FILE *f = fopen(status_path(), "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, n, f), n);
	cr_assert_eq(fclose(f), 0);
}

/* serve's status as of time_ms: p[1] up one block ahead, p[2] down
 * two blocks behind with an error, p[3] never reached (its key unknown:
 * only its URL, with a trailing slash), and a peer that is no validator. */
static void write_fixture(uint64_t time_ms)
{
	char hex[4][65], text[4096];
	int n;

	for (int i = 0; i < 4; i++)
		mc_hex(p[i]->pk, MC_PK_LEN, hex[i]);
	n = snprintf(text, sizeof(text),
		     "{\"name\":\"n1\",\"version\":\"0.1.0\",\"node\":\"%s\",\"height\":2,\"view\":1,"
		     "\"leader\":\"%s\",\"validator\":true,\"validators\":4,\"pending\":0,\"uptime_s\":33,"
		     "\"time_ms\":%llu,\"pid\":1234,\"peers\":["
		     "{\"url\":\"%s\",\"node\":\"%s\",\"name\":\"n2\",\"up\":true,\"height\":3,\"view\":1,"
		     "\"version\":\"0.1.0\",\"last_seen_ms\":%llu,\"error\":\"\"},"
		     "{\"url\":\"%s\",\"node\":\"%s\",\"name\":\"n3\",\"up\":false,\"height\":0,\"view\":0,"
		     "\"version\":\"0.0.9\",\"last_seen_ms\":%llu,\"error\":\"connection refused\"},"
		     "{\"url\":\"%s/\",\"name\":\"\",\"up\":false,\"height\":0,\"view\":0,\"version\":\"\","
		     "\"last_seen_ms\":0,\"error\":\"timed out\"},"
		     "{\"url\":\"http://127.0.0.1:9\",\"node\":\"%064d\",\"name\":\"other\",\"up\":true,\"height\":7,"
		     "\"version\":\"9\",\"last_seen_ms\":%llu,\"error\":\"\"}]}",
		     hex[0], hex[1], (unsigned long long)time_ms, P_URL[1], hex[1], (unsigned long long)(time_ms - 100),
		     P_URL[2], hex[2], (unsigned long long)(time_ms - 61600), P_URL[3], 0,
		     (unsigned long long)time_ms);
	cr_assert(n > 0 && (size_t)n < sizeof(text));
	write_status(text, (size_t)n);
}

static const struct mc_node_row *row_of(const struct mc_nodes *n, const struct mc_key *k)
{
	for (unsigned i = 0; i < n->n; i++)
		if (memcmp(n->rows[i].pk, k->pk, MC_PK_LEN) == 0)
			return &n->rows[i];
	cr_assert_fail("no row for a validator");
	return NULL;
}

Test(models, nodes_join_serves_status_states_lags_ages_and_the_leader)
{
	struct mc_nodes *n = calloc(1, sizeof(*n));
	struct mc_err err = { 0 };
	const struct mc_node_row *r;

	grow_to_four();
	write_fixture(NOW_MS - 400);
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, "conf-name", status_path(), NOW_MS, n, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(n->n, 4, "the validators in force, not the extra peer");
	cr_assert(n->live);
	cr_assert_eq(n->up, 2);
	cr_assert_eq(n->height, 2);
	cr_assert_eq(n->view, 1);
	for (unsigned i = 1; i < n->n; i++)
		cr_assert_lt(memcmp(n->rows[i - 1].pk, n->rows[i].pk, MC_PK_LEN), 0, "key order");

	r = row_of(n, p[0]);
	cr_assert(r->self);
	cr_assert_not(r->leader, "the view change made p[1] the leader");
	cr_assert_str_eq(r->name, "n1", "the status file's name");
	cr_assert_eq(r->state, MC_NODE_UP);
	cr_assert(r->has_height);
	cr_assert_eq(r->height, 2);
	cr_assert_eq(r->lag, 0);
	cr_assert(r->seen);
	cr_assert_eq(r->seen_age_ms, 400);
	cr_assert_str_eq(r->version, "0.1.0");

	r = row_of(n, p[1]);
	cr_assert_not(r->self);
	cr_assert(r->leader);
	cr_assert_str_eq(r->name, "n2");
	cr_assert_str_eq(r->org, "", "NODE_ADD enrolls no organization");
	cr_assert_str_eq(r->url, P_URL[1]);
	cr_assert_eq(r->added, 3);
	cr_assert_eq(r->state, MC_NODE_UP);
	cr_assert(r->has_height);
	cr_assert_eq(r->height, 3);
	cr_assert_eq(r->lag, -1, "a peer ahead of this node lags by less than nothing");
	cr_assert_eq(r->seen_age_ms, 500);
	cr_assert_str_eq(r->error, "");

	r = row_of(n, p[2]);
	cr_assert_not(r->leader);
	cr_assert_eq(r->state, MC_NODE_DOWN);
	cr_assert_str_eq(r->name, "n3");
	cr_assert(r->has_height, "its last height is kept while it is down");
	cr_assert_eq(r->height, 0);
	cr_assert_eq(r->lag, 2);
	cr_assert_eq(r->seen_age_ms, 62000);
	cr_assert_str_eq(r->version, "0.0.9");
	cr_assert_str_eq(r->error, "connection refused");

	r = row_of(n, p[3]);
	cr_assert_eq(r->state, MC_NODE_DOWN);
	cr_assert(r->listed, "matched by URL while its key is unknown");
	cr_assert_str_eq(r->name, "enrolled-4", "no name from serve: the enrolled one");
	cr_assert_not(r->has_height, "never reached: no height, no lag");
	cr_assert_not(r->seen);
	cr_assert_str_eq(r->version, "");
	cr_assert_str_eq(r->error, "timed out");
	free(n);
	free_peers();
}

Test(models, nodes_are_unknown_without_a_fresh_status_file)
{
	struct mc_nodes *n = calloc(1, sizeof(*n));
	struct mc_err err = { 0 };
	const uint64_t at[] = { NOW_MS - 5001, NOW_MS + 5001 };

	grow_to_four();
	/* missing */
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert_eq(n->n, 4);
	cr_assert_not(n->live);
	cr_assert_eq(n->up, 0);
	for (unsigned i = 0; i < n->n; i++) {
		cr_assert_eq(n->rows[i].state, MC_NODE_UNKNOWN);
		cr_assert_eq(n->rows[i].has_height, n->rows[i].self);
		cr_assert_not(n->rows[i].seen);
		cr_assert_eq(n->rows[i].leader, memcmp(n->rows[i].pk, p[1]->pk, MC_PK_LEN) == 0);
	}
	cr_assert_str_eq(row_of(n, p[1])->name, "enrolled-2");
	/* written more than 5 s before now, or after it */
	for (size_t k = 0; k < MC_ARRAY_LEN(at); k++) {
		write_fixture(at[k]);
		cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s",
			     err.msg);
		cr_assert_not(n->live, "time_ms %llu", (unsigned long long)at[k]);
		cr_assert_eq(n->up, 0);
		for (unsigned i = 0; i < n->n; i++) {
			cr_assert_eq(n->rows[i].state, MC_NODE_UNKNOWN);
			cr_assert_str_eq(n->rows[i].error, "");
			cr_assert_eq(n->rows[i].has_height, n->rows[i].self, "no stale heights");
		}
		cr_assert_eq(row_of(n, p[0])->seen_age_ms, k == 0 ? 5001 : 0, "when serve last wrote");
	}
	/* exactly 5 s old is still fresh */
	write_fixture(NOW_MS - 5000);
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert(n->live);
	free(n);
	free_peers();
}

Test(models, nodes_with_a_malformed_status_file_are_unknown_or_down)
{
	struct mc_nodes *n = calloc(1, sizeof(*n));
	struct mc_err err = { 0 };
	char fresh[512];
	static const char *const bad[] = {
		"", "{", "null", "[1,2]", "\"text\"", "{\"time_ms\":\"1764517000000\"}", "{\"time_ms\":-1}",
		"{\"time_ms\":1764517000000", "\x01\x02\xff\xfe", "{\"time_ms\":1e400}",
	};

	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		write_status(bad[i], strlen(bad[i]));
		cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
		cr_assert_eq(n->n, 1);
		cr_assert_not(n->live, "case %zu", i);
		cr_assert_eq(n->rows[0].state, MC_NODE_UNKNOWN, "case %zu", i);
	}
	/* fresh, but the peers of the wrong types: this node up, no crash */
	snprintf(fresh, sizeof(fresh),
		 "{\"time_ms\":%llu,\"name\":\"bad\\u001b[2Jname\",\"version\":7,\"peers\":[1,\"x\",null,"
		 "{\"node\":5,\"url\":[],\"up\":\"yes\",\"height\":-3,\"last_seen_ms\":\"now\"}]}",
		 NOW_MS);
	write_status(fresh, strlen(fresh));
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert(n->live);
	cr_assert_eq(n->rows[0].state, MC_NODE_UP);
	cr_assert_str_eq(n->rows[0].name, "bad?[2Jname", "no control characters reach the terminal");
	cr_assert_str_eq(n->rows[0].version, PACKAGE_VERSION);
	snprintf(fresh, sizeof(fresh), "{\"time_ms\":%llu,\"peers\":{\"a\":1}}", NOW_MS);
	write_status(fresh, strlen(fresh));
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert_eq(n->up, 1);
	/* a directory where the file should be */
	remove(status_path());
	cr_assert_eq(mkdir(status_path(), 0700), 0);
	cr_assert_eq(mc_nodes_load(fx.s, fx.node->pk, NULL, status_path(), NOW_MS, n, &err), 0, "%s", err.msg);
	cr_assert_not(n->live);
	remove(status_path());
	free(n);
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

static int put_reset(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_journal_reset_put(t, ctx, err);
}

static int get_reset(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	int rc = mc_journal_reset_get(t, ctx, err);

	return rc == MC_NOTFOUND ? mc_err_set(err, EX_SOFTWARE, "no reset row") : rc;
}

static int raw_reset(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	const uint8_t key[1] = { 0 };

	(void)ctx;
	return mc_txn_put(t, MC_DB_JOURNAL, key, 1, "\x01\x02", 2, err);
}

Test(models, the_nonce_reset_row_round_trips_and_is_not_an_anchor)
{
	struct mc_anchor_rows *r = calloc(1, sizeof(*r));
	struct mc_anchor_entry *e = calloc(1, sizeof(*e));
	struct mc_nonce_reset in = { 2, 31337, { 0xab }, 7, 1234 }, out;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_write(fx.s, put_reset, &in, &err), 0, "%s", err.msg);
	for (uint64_t s = 1; s <= 2; s++) {
		memset(e, 0, sizeof(*e));
		e->seq = s;
		e->state = MC_ANCHOR_SUPERSEDED;
		e->tree_size = s + 1;
		e->nonce = 1000 + s;
		e->nattempts = 1;
		cr_assert_eq(mc_store_write(fx.s, put_entry, e, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(mc_store_read(fx.s, get_reset, &out, &err), 0, "%s", err.msg);
	cr_assert_eq(out.after_seq, 2);
	cr_assert_eq(out.public_chain_id, 31337);
	cr_assert_eq(out.address[0], 0xab);
	cr_assert_eq(out.next_nonce, 7);
	cr_assert_eq(out.time_ms, 1234);
	/* the journal's readers see the two anchors, newest first, not the row */
	cr_assert_eq(mc_anchor_rows_load(fx.s, r, &err), 0, "%s", err.msg);
	cr_assert_eq(r->n, 2);
	cr_assert_eq(r->rows[0].seq, 2);
	cr_assert_eq(r->rows[1].seq, 1);
	/* a malformed row is named, not taken */
	cr_assert_eq(mc_store_write(fx.s, raw_reset, NULL, &err), 0, "%s", err.msg);
	cr_assert_neq(mc_store_read(fx.s, get_reset, &out, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR);
	free(r);
	free(e);
}

Test(models, dashboard_shows_a_failed_verify_first_and_a_verify_overdue_for_36_hours)
{
	struct mc_dash *d = calloc(1, sizeof(*d));
	struct mc_err err = { 0 };
	struct mc_verify_last v = { 0 };
	uint64_t now = mc_now_ms();

	cr_assert_eq(mc_dash_load(fx.s, fx.dir, NULL, now, d, &err), 0, "%s", err.msg);
	cr_assert_not(d->verify_ran, "no verify has stored an outcome yet");
	cr_assert_not(d->verify_overdue, "a chain started now is not overdue");
	cr_assert_eq(d->nalerts, 0);
	cr_assert_eq(mc_dash_load(fx.s, fx.dir, NULL, now + 37ULL * 3600 * 1000, d, &err), 0, "%s", err.msg);
	cr_assert(d->verify_overdue, "36 h after genesis without a verify");
	cr_assert(d->alerts[0].kind == MC_ALERT_VERIFY_OVERDUE && d->alerts[0].never);

	v.time_ms = now;
	v.ok = false;
	snprintf(v.message, sizeof(v.message), "block 1: damaged");
	v.blocks = 1;
	cr_assert_eq(mc_vlast_save(fx.dir, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_dash_load(fx.s, fx.dir, NULL, now, d, &err), 0, "%s", err.msg);
	cr_assert(d->verify_ran && !d->verify.ok);
	cr_assert(d->verify_failed);
	cr_assert_not(d->verify_overdue);
	cr_assert_eq(d->alerts[0].kind, MC_ALERT_VERIFY_FAILED);
	cr_assert_str_eq(d->alerts[0].message, "block 1: damaged");
	free(d);
}
