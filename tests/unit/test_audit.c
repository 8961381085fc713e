/* SPDX-License-Identifier: Apache-2.0 */
/* mc_audit_query over a chain with every kind of audited event: a grant,
 * permitted and denied reads, a revocation, an alert acknowledgement and a
 * lost-key rotation. Each filter (subject, actor, outcome, time), both
 * orders and the paging cursor give exactly the events they name. */
#include "config.h"

#include "alerts.h"
#include "audit.h"
#include "events.h"
#include "rawstore.h"
#include "util.h"
#include "verify.h"

TestSuite(audit, .init = fx_setup, .fini = fx_teardown);

#define EV_MAX 16

struct got {
	unsigned n;
	struct mc_audit_event e[EV_MAX];
	struct mc_audit_page page;
};

static int collect(const struct mc_audit_event *e, void *vctx)
{
	struct got *g = vctx;

	cr_assert_lt(g->n, EV_MAX);
	g->e[g->n++] = *e;
	return 0;
}

struct qctx {
	const struct mc_audit_filter *f;
	struct got *g;
};

static int query_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct qctx *q = vctx;

	return mc_audit_query(t, q->f, collect, q->g, &q->g->page, err);
}

static struct got *query(const struct mc_audit_filter *f)
{
	static struct got g;
	struct qctx q = { f, &g };
	struct mc_err err = { 0 };

	memset(&g, 0, sizeof(g));
	cr_assert_eq(mc_store_read(fx.s, query_txn, &q, &err), 0, "%s", err.msg);
	return &g;
}

/* The chain the tests query. */
static struct {
	struct mc_key *clin, *clin2, *admin2;
	uint8_t rec1[MC_RECORD_ID_LEN], rec2[MC_RECORD_ID_LEN];
	uint8_t grant[MC_GRANT_ID_LEN];
	uint8_t p1[MC_HASH_LEN], p2[MC_HASH_LEN];
	uint8_t alert[MC_ALERT_ID_LEN];
} c;

static const uint8_t chain_types[] = {
	MC_TX_CONSENT_GRANT, MC_TX_ACCESS, MC_TX_ACCESS, MC_TX_CONSENT_REVOKE, MC_TX_ACCESS,
	MC_TX_ALERT_ACK, MC_TX_IDENTITY_ROTATE,
};
#define NEVENTS (MC_ARRAY_LEN(chain_types))

static void build(void)
{
	struct mc_err err = { 0 };

	fx_setup();
	memset(&c, 0, sizeof(c));
	c.clin = ev_enroll("Dr C", MC_ROLE_CLINICIAN);
	c.admin2 = ev_enroll("Admin B", MC_ROLE_ADMIN);
	cr_assert_eq(fx_put("P1", "one", c.rec1, &err), 0, "%s", err.msg);
	cr_assert_eq(fx_put("P2", "two", c.rec2, &err), 0, "%s", err.msg);
	ev_subject("P1", c.p1);
	ev_subject("P2", c.p2);
	ev_grant("P1", c.clin->pk, 0, MC_TIME_OPEN, c.grant);
	cr_assert_eq(ev_read(c.clin, c.rec1, NULL, NULL), MC_OUTCOME_PERMIT);
	cr_assert_eq(ev_read(c.clin, c.rec2, NULL, NULL), MC_OUTCOME_DENY);
	ev_revoke(c.grant);
	cr_assert_eq(ev_read(c.clin, c.rec1, NULL, NULL), MC_OUTCOME_DENY);
	/* another admin acknowledges the form fx.admin recorded */
	ev_staff_alert(c.grant, c.alert);
	ev_ack_by(c.admin2, MC_ALERT_STAFF_GRANT, c.alert, "reviewed");
	c.clin2 = ev_rotate_lost(c.clin);
}

static void unbuild(void)
{
	mc_key_free(c.clin);
	mc_key_free(c.clin2);
	mc_key_free(c.admin2);
	fx_teardown();
}

TestSuite(audit_chain, .init = build, .fini = unbuild);

Test(audit_chain, unfiltered_gives_every_audited_event_oldest_first_and_no_other_tx)
{
	struct mc_audit_filter f;
	struct got *g;

	mc_audit_filter_init(&f);
	g = query(&f);
	cr_assert_eq(g->n, NEVENTS, "enrolments and record puts are not audit events (got %u)", g->n);
	for (unsigned i = 0; i < g->n; i++) {
		cr_assert_eq(g->e[i].type, chain_types[i], "event %u", i);
		if (i)
			cr_assert_gt(g->e[i].h, g->e[i - 1].h, "oldest first");
	}
	cr_assert_not(g->page.more);
	cr_assert_eq(g->page.n, NEVENTS);
	cr_assert_eq(g->page.last_h, g->e[NEVENTS - 1].h);
}

Test(audit_chain, newest_first_is_the_same_events_reversed)
{
	struct mc_audit_filter f;
	struct got *g;

	mc_audit_filter_init(&f);
	f.newest_first = true;
	g = query(&f);
	cr_assert_eq(g->n, NEVENTS);
	for (unsigned i = 0; i < g->n; i++)
		cr_assert_eq(g->e[i].type, chain_types[NEVENTS - 1 - i], "event %u", i);
}

Test(audit_chain, by_subject_gives_that_patients_grant_reads_and_revocation_only)
{
	struct mc_audit_filter f;
	struct got *g;
	static const uint8_t p1_types[] = { MC_TX_CONSENT_GRANT, MC_TX_ACCESS, MC_TX_CONSENT_REVOKE, MC_TX_ACCESS };

	mc_audit_filter_init(&f);
	f.subject = c.p1;
	g = query(&f);
	cr_assert_eq(g->n, 4, "got %u", g->n);
	for (unsigned i = 0; i < g->n; i++) {
		cr_assert_eq(g->e[i].type, p1_types[i], "event %u", i);
		cr_assert(g->e[i].has_subject);
		cr_assert_arr_eq(g->e[i].subject, c.p1, MC_HASH_LEN);
	}
	f.subject = c.p2;
	g = query(&f);
	cr_assert_eq(g->n, 1);
	cr_assert_eq(g->e[0].type, MC_TX_ACCESS);
	cr_assert_arr_eq(g->e[0].acc.record, c.rec2, MC_RECORD_ID_LEN);
}

Test(audit_chain, by_actor_gives_what_that_key_signed)
{
	struct mc_audit_filter f;
	struct got *g;

	mc_audit_filter_init(&f);
	f.actor = c.clin->pk;
	g = query(&f);
	cr_assert_eq(g->n, 3, "the clinician's three reads (got %u)", g->n);
	for (unsigned i = 0; i < g->n; i++) {
		cr_assert_eq(g->e[i].type, MC_TX_ACCESS);
		cr_assert_arr_eq(g->e[i].actor, c.clin->pk, MC_PK_LEN);
		cr_assert_str_eq(g->e[i].actor_name, "Dr C");
	}
	f.actor = fx.admin->pk;
	g = query(&f);
	cr_assert_eq(g->n, 3, "grant, revocation, rotation (got %u)", g->n);
	cr_assert_eq(g->e[0].type, MC_TX_CONSENT_GRANT);
	cr_assert_eq(g->e[2].type, MC_TX_IDENTITY_ROTATE);
	f.actor = c.admin2->pk;
	g = query(&f);
	cr_assert_eq(g->n, 1, "the other admin's acknowledgement (got %u)", g->n);
	cr_assert_eq(g->e[0].type, MC_TX_ALERT_ACK);
	f.actor = fx.node->pk;
	cr_assert_eq(query(&f)->n, 0, "the node signed blocks, no audited event");
}

Test(audit_chain, by_outcome_gives_the_reads_with_that_outcome_and_their_reasons)
{
	struct mc_audit_filter f;
	struct got *g;

	mc_audit_filter_init(&f);
	f.outcome = MC_OUTCOME_PERMIT;
	g = query(&f);
	cr_assert_eq(g->n, 1);
	cr_assert(g->e[0].has_grant);
	cr_assert_arr_eq(g->e[0].grant, c.grant, MC_GRANT_ID_LEN, "a permit names its grant");
	cr_assert_eq(g->e[0].purpose, MC_PURPOSE_TREATMENT);

	f.outcome = MC_OUTCOME_DENY;
	g = query(&f);
	cr_assert_eq(g->n, 2);
	cr_assert_eq(g->e[0].acc.reason, MC_DENY_NO_GRANT);
	cr_assert_not(g->e[0].has_grant);
	cr_assert_eq(g->e[1].acc.reason, MC_DENY_REVOKED);

	f.outcome = MC_OUTCOME_BREAK_GLASS;
	cr_assert_eq(query(&f)->n, 0);
	f.outcome = MC_OUTCOME_DENY;
	f.subject = c.p2;
	cr_assert_eq(query(&f)->n, 1, "filters combine");
}

Test(audit_chain, a_time_window_keeps_events_whose_block_time_is_inside_it_inclusive)
{
	struct mc_audit_filter f;
	struct got *g;
	uint64_t ts[NEVENTS], since, until;
	unsigned want = 0;

	mc_audit_filter_init(&f);
	g = query(&f);
	for (unsigned i = 0; i < NEVENTS; i++)
		ts[i] = g->e[i].ts;
	since = ts[2];
	until = ts[4];
	for (unsigned i = 0; i < NEVENTS; i++)
		want += ts[i] >= since && ts[i] <= until;
	f.since = since;
	f.until = until;
	g = query(&f);
	cr_assert_eq(g->n, want, "%u events in [%llu, %llu], got %u", want, (unsigned long long)since,
		     (unsigned long long)until, g->n);
	for (unsigned i = 0; i < g->n; i++)
		cr_assert(g->e[i].ts >= since && g->e[i].ts <= until);
	f.newest_first = true;
	cr_assert_eq(query(&f)->n, want, "the same window newest first");
	f.since = ts[NEVENTS - 1] + 1;
	f.until = UINT64_MAX;
	cr_assert_eq(query(&f)->n, 0, "a window after the last event is empty");
}

/* Pages of `limit` through the filter; the events in order. */
static unsigned page_through(struct mc_audit_filter *f, unsigned long limit, uint8_t *types, uint64_t *hs)
{
	unsigned total = 0, pages = 0;
	struct got *g;

	f->limit = limit;
	f->have_after = false;
	do {
		g = query(f);
		cr_assert_leq(g->n, limit);
		for (unsigned i = 0; i < g->n; i++) {
			types[total] = g->e[i].type;
			hs[total] = g->e[i].h;
			total++;
		}
		f->have_after = true;
		f->after_h = g->page.last_h;
		f->after_t = g->page.last_t;
		cr_assert_lt(++pages, 20, "paging ends");
	} while (g->page.more);
	return total;
}

Test(audit_chain, pages_follow_the_cursor_and_cover_every_event_once_both_ways)
{
	struct mc_audit_filter f;
	uint8_t types[EV_MAX];
	uint64_t hs[EV_MAX];
	unsigned n;

	mc_audit_filter_init(&f);
	n = page_through(&f, 2, types, hs);
	cr_assert_eq(n, NEVENTS);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(types[i], chain_types[i], "event %u", i);
		if (i)
			cr_assert_gt(hs[i], hs[i - 1], "no repeats");
	}
	mc_audit_filter_init(&f);
	f.newest_first = true;
	n = page_through(&f, 3, types, hs);
	cr_assert_eq(n, NEVENTS);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(types[i], chain_types[NEVENTS - 1 - i], "event %u", i);

	mc_audit_filter_init(&f);
	f.actor = c.clin->pk;
	n = page_through(&f, 1, types, hs);
	cr_assert_eq(n, 3, "a filtered query pages through the index too");
}

Test(audit_chain, the_acknowledgement_and_the_rotation_carry_what_they_did)
{
	struct mc_audit_filter f;
	struct got *g;

	mc_audit_filter_init(&f);
	f.newest_first = true;
	f.limit = 2;
	g = query(&f);
	cr_assert_eq(g->n, 2);
	cr_assert(g->page.more);
	cr_assert_eq(g->e[0].type, MC_TX_IDENTITY_ROTATE);
	cr_assert_arr_eq(g->e[0].rot_old, c.clin->pk, MC_PK_LEN);
	cr_assert_arr_eq(g->e[0].rot_new, c.clin2->pk, MC_PK_LEN);
	cr_assert_eq(g->e[0].rot_kind, MC_ROTATE_LOST_KEY);
	cr_assert_str_eq(g->e[0].glass, "lost", "a rotation's reason");
	cr_assert_eq(g->e[1].type, MC_TX_ALERT_ACK);
	cr_assert_eq(g->e[1].alert_kind, MC_ALERT_STAFF_GRANT);
	cr_assert_arr_eq(g->e[1].alert_id, c.alert, MC_ALERT_ID_LEN);
	cr_assert_str_eq(g->e[1].ack_reason, "reviewed");
	cr_assert_str_eq(g->e[1].actor_name, "Admin B");
}

Test(audit, an_empty_chain_has_no_events)
{
	struct mc_audit_filter f;

	mc_audit_filter_init(&f);
	cr_assert_eq(query(&f)->n, 0);
	f.newest_first = true;
	cr_assert_eq(query(&f)->n, 0);
}

Test(audit_chain, a_rotated_actor_gives_the_events_under_each_of_its_keys_in_chain_order)
{
	struct mc_audit_filter f;
	uint8_t types[EV_MAX];
	uint64_t hs[EV_MAX];
	struct got *g;

	mc_audit_filter_init(&f);
	f.actor = c.clin2->pk;
	g = query(&f);
	cr_assert_eq(g->n, 3, "the reads signed by the key it replaced (got %u)", g->n);
	for (unsigned i = 0; i < g->n; i++) {
		cr_assert_eq(g->e[i].type, MC_TX_ACCESS);
		cr_assert_arr_eq(g->e[i].actor, c.clin->pk, MC_PK_LEN);
		if (i)
			cr_assert_gt(g->e[i].h, g->e[i - 1].h);
	}
	f.newest_first = true;
	g = query(&f);
	cr_assert_eq(g->n, 3);
	cr_assert_gt(g->e[0].h, g->e[2].h, "newest first");
	cr_assert_eq(page_through(&f, 1, types, hs), 3, "one a page");
}

/* More actors than the actor-index merge takes (MC_ROTATIONS_MAX + 1): the
 * transaction scan gives the unfiltered trail, the same events as the
 * merge gives below that many. */
#define MANY (MC_ROTATIONS_MAX + 6)

struct seen {
	unsigned n;
	uint64_t h[MANY];
	uint8_t actor[MANY][MC_PK_LEN];
};

static int seen_fn(const struct mc_audit_event *e, void *vctx)
{
	struct seen *s = vctx;

	cr_assert_lt(s->n, MANY);
	s->h[s->n] = e->h;
	memcpy(s->actor[s->n++], e->actor, MC_PK_LEN);
	return 0;
}

struct seen_q {
	struct mc_audit_filter f;
	struct seen s;
	struct mc_audit_page page;
};

static int seen_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct seen_q *q = vctx;

	return mc_audit_query(t, &q->f, seen_fn, &q->s, &q->page, err);
}

/* The unfiltered trail in both orders is one read by each of keys[0..n),
 * in that order. */
static void assert_reads(struct mc_key **keys, unsigned n)
{
	static struct seen_q q;
	struct mc_err err = { 0 };

	for (int newest = 0; newest < 2; newest++) {
		memset(&q, 0, sizeof(q));
		mc_audit_filter_init(&q.f);
		q.f.newest_first = newest;
		cr_assert_eq(mc_store_read(fx.s, seen_txn, &q, &err), 0, "%s", err.msg);
		cr_assert_eq(q.s.n, n, "one event an actor (got %u of %u)", q.s.n, n);
		for (unsigned i = 0; i < n; i++) {
			unsigned at = newest ? n - 1 - i : i;

			cr_assert_arr_eq(q.s.actor[i], keys[at]->pk, MC_PK_LEN, "event %u of %u", i, n);
			if (i)
				cr_assert(newest ? q.s.h[i] < q.s.h[i - 1] : q.s.h[i] > q.s.h[i - 1]);
		}
	}
}

Test(audit, more_actors_than_the_merge_takes_give_the_same_trail_through_the_scan)
{
	static struct mc_key *keys[MANY];
	uint8_t rec[MC_RECORD_ID_LEN];
	struct mc_err err = { 0 };
	char name[32];

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
	for (unsigned i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "Dr %u", i);
		keys[i] = ev_enroll(name, MC_ROLE_CLINICIAN);
		cr_assert_eq(ev_read(keys[i], rec, NULL, NULL), MC_OUTCOME_DENY);
		if (i + 1 == MC_ROTATIONS_MAX + 1)
			assert_reads(keys, i + 1);
	}
	assert_reads(keys, MANY);
	for (unsigned i = 0; i < MANY; i++)
		mc_key_free(keys[i]);
}

/* ---- the index in chain order (audit_chain) against the walk ----
 * WIDE actors, more than the merge takes, read a record in blocks of
 * three (three actors, tx 0..2), a record put between: the unfiltered
 * trail read through audit_chain, then through the walk of a store without
 * it (the table dropped, as in a store older than it, opened read-only), is
 * the same events in the same order, for every bound and page the query
 * takes; the engine's start then builds the rows the writes had made. */
#define WIDE (MC_ROTATIONS_MAX + 15)
#define WIDE_EVENTS (WIDE + 8)

struct trail {
	unsigned n;
	struct { uint64_t h, ts; uint32_t ti; uint8_t type, outcome; uint8_t actor[MC_PK_LEN]; } e[WIDE_EVENTS];
};

struct trail_q {
	struct mc_audit_filter f;
	struct trail *tr;
	struct mc_audit_page page;
};

static int trail_fn(const struct mc_audit_event *e, void *vctx)
{
	struct trail *tr = vctx;

	cr_assert_lt(tr->n, WIDE_EVENTS);
	tr->e[tr->n].h = e->h;
	tr->e[tr->n].ts = e->ts;
	tr->e[tr->n].ti = e->ti;
	tr->e[tr->n].type = e->type;
	tr->e[tr->n].outcome = e->acc.outcome;
	memcpy(tr->e[tr->n++].actor, e->actor, MC_PK_LEN);
	return 0;
}

static int trail_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct trail_q *q = vctx;

	return mc_audit_query(t, &q->f, trail_fn, q->tr, &q->page, err);
}

/* Every page of f (limit 0: one), appended to tr. */
static void trail_pages(struct mc_audit_filter f, struct trail *tr)
{
	static struct trail_q q;
	struct mc_err err = { 0 };
	unsigned pages = 0;

	memset(tr, 0, sizeof(*tr));
	do {
		q.f = f;
		q.tr = tr;
		cr_assert_eq(mc_store_read(fx.s, trail_txn, &q, &err), 0, "%s", err.msg);
		f.have_after = true;
		f.after_h = q.page.last_h;
		f.after_t = q.page.last_t;
		cr_assert_lt(++pages, 2 * WIDE_EVENTS, "paging ends");
	} while (q.page.more);
}

/* The queries compared: both orders, whole and in pages of 7, a time
 * window, and a cursor in the middle of a block both ways. */
#define NQUERIES 8
static void trail_queries(const struct trail *all, struct trail out[NQUERIES])
{
	struct mc_audit_filter f;
	unsigned mid = all ? all->n / 2 + 1 : 0;

	for (int newest = 0; newest < 2; newest++) {
		mc_audit_filter_init(&f);
		f.newest_first = newest;
		trail_pages(f, &out[newest]);
		f.limit = 7;
		trail_pages(f, &out[2 + newest]);
		f.limit = 0;
		if (all) {
			f.since = all->e[10].ts;
			f.until = all->e[all->n - 12].ts;
		}
		trail_pages(f, &out[4 + newest]);
		mc_audit_filter_init(&f);
		f.newest_first = newest;
		if (all) {
			f.have_after = true;
			f.after_h = all->e[mid].h;
			f.after_t = all->e[mid].ti;
		}
		f.limit = 5;
		trail_pages(f, &out[6 + newest]);
	}
}

struct wide_reads { struct ev_read_ctx r[3]; unsigned n; };

static int wide_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct wide_reads *w = vctx;

	for (unsigned i = 0; i < w->n; i++)
		if (ev_read_build(t, b, &w->r[i], err) != 0)
			return -1;
	return 0;
}

static int chain_built_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	int rc = mc_rules_audit_chain_built(t, err);
	uint64_t n = 0;

	if (rc < 0 || mc_txn_count(t, MC_DB_AUDIT_CHAIN, &n, err) != 0)
		return -1;
	((uint64_t *)ctx)[0] = (uint64_t)rc;
	((uint64_t *)ctx)[1] = n;
	return 0;
}

/* Whether audit_chain is built, and its rows (marker included). */
static void chain_state(uint64_t *built, uint64_t *rows)
{
	uint64_t st[2];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, chain_built_txn, st, &err), 0, "%s", err.msg);
	*built = st[0];
	*rows = st[1];
}

static void trails_equal(const struct trail *a, const struct trail *b, unsigned q)
{
	cr_assert_eq(a->n, b->n, "query %u: %u events through audit_chain, %u through the walk", q, a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		cr_assert(a->e[i].h == b->e[i].h && a->e[i].ti == b->e[i].ti && a->e[i].ts == b->e[i].ts,
			  "query %u, event %u: (%llu, %u) through audit_chain, (%llu, %u) through the walk", q, i,
			  (unsigned long long)a->e[i].h, a->e[i].ti, (unsigned long long)b->e[i].h, b->e[i].ti);
		cr_assert(a->e[i].type == b->e[i].type && a->e[i].outcome == b->e[i].outcome &&
			  memcmp(a->e[i].actor, b->e[i].actor, MC_PK_LEN) == 0, "query %u, event %u", q, i);
	}
}

static void wide_chain(struct mc_key **keys, uint8_t rec[MC_RECORD_ID_LEN])
{
	struct mc_err err = { 0 };
	uint8_t other[MC_RECORD_ID_LEN], grant[MC_GRANT_ID_LEN];
	uint64_t built, rows;
	char name[32];

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
	for (unsigned i = 0; i < WIDE; i++) {
		snprintf(name, sizeof(name), "Dr %u", i);
		keys[i] = ev_enroll(name, MC_ROLE_CLINICIAN);
	}
	/* no audited tx yet: nothing to build, no marker (as in the replay) */
	cr_assert_eq(mc_rules_audit_chain_ensure(fx.s, &err), 0, "%s", err.msg);
	chain_state(&built, &rows);
	cr_assert(built == 0 && rows == 0, "no audit event: audit_chain empty (%llu rows)", (unsigned long long)rows);
	ev_grant("P1", keys[1]->pk, 0, MC_TIME_OPEN, grant);
	for (unsigned i = 0; i < WIDE; i += 3) {
		struct wide_reads w = { .n = 0 };
		struct mc_produced p;

		for (unsigned j = i; j < i + 3 && j < WIDE; j++)
			w.r[w.n++] = (struct ev_read_ctx){ keys[j], rec, NULL, { 0 } };
		cr_assert_eq(mc_chain_produce(fx.s, fx.node, wide_build, &w, &p, &err), 0, "%s", err.msg);
		if (i % 12 == 0)
			cr_assert_eq(fx_put("P2", "more", other, &err), 0, "%s", err.msg);
	}
	ev_revoke(grant);
	cr_assert_eq(ev_read(keys[1], rec, NULL, NULL), MC_OUTCOME_DENY);
}

/* Deletes audit_chain's last row: an event an older build indexed in
 * audit_actor alone. */
static int chain_drop_last_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	struct mc_cursor *cur;
	const void *k, *v;
	size_t kn, vn;

	(void)ctx;
	cr_assert_eq(mc_cursor_open(t, MC_DB_AUDIT_CHAIN, &cur, err), 0);
	cr_assert_eq(mc_cursor_last(cur, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(kn, 12);
	cr_assert_eq(mc_cursor_del(cur, err), 0);
	mc_cursor_close(cur);
	return 0;
}

/* An older build's writer, still running after this one built audit_chain,
 * adds an event to audit_actor alone: the trail no longer reads audit_chain
 * (the walk gives the event), and the next audited write rebuilds it. */
static void older_writer_after(struct mc_key *actor, const uint8_t rec[MC_RECORD_ID_LEN])
{
	static struct trail idx, walk;
	struct mc_audit_filter f;
	struct mc_err err = { 0 };
	uint64_t built, rows;

	mc_audit_filter_init(&f);
	cr_assert_eq(ev_read(actor, rec, NULL, NULL), MC_OUTCOME_DENY);
	trail_pages(f, &idx);
	cr_assert_eq(mc_store_write(fx.s, chain_drop_last_txn, NULL, &err), 0, "%s", err.msg);
	chain_state(&built, &rows);
	cr_assert_eq(built, 0, "a row short of audit_actor: not in step");
	trail_pages(f, &walk);
	trails_equal(&idx, &walk, 0);
	cr_assert_eq(ev_read(actor, rec, NULL, NULL), MC_OUTCOME_DENY);
	chain_state(&built, &rows);
	cr_assert(built == 1 && rows == idx.n + 2, "rebuilt by the next audited write: %llu rows of %u",
		  (unsigned long long)rows, idx.n + 2);
}

Test(audit, the_chain_index_gives_the_walks_trail_past_the_merge)
{
	static struct mc_key *keys[WIDE];
	static struct trail idx[NQUERIES], walk[NQUERIES], again[NQUERIES];
	uint8_t rec[MC_RECORD_ID_LEN];
	struct mc_verify_report rep;
	struct mc_err err = { 0 };
	uint64_t built, rows;

	wide_chain(keys, rec);
	chain_state(&built, &rows);
	cr_assert_eq(built, 1, "built with the first audited tx");
	cr_assert_eq(rows, WIDE + 3 + 1, "one row an event and the marker (%llu)", (unsigned long long)rows);
	trail_queries(NULL, idx);
	cr_assert_eq(idx[0].n, WIDE + 3);
	trail_queries(&idx[0], idx);
	cr_assert_gt(idx[4].n, 0, "the window holds events");
	cr_assert_lt(idx[4].n, idx[0].n, "the window leaves some out");
	/* the walk: the store as an older build left it, opened read-only */
	{
		MDB_env *env;
		MDB_txn *txn = raw_begin(&env);

		raw_drop(txn, "audit_chain");
		raw_commit(env, txn);
	}
	cr_assert_eq(mc_store_open(fx.dir, MC_STORE_RDONLY, &fx.s, &err), 0, "%s", err.msg);
	chain_state(&built, &rows);
	cr_assert(built == 0 && rows == 0);
	trail_queries(&idx[0], walk);
	for (unsigned q = 0; q < NQUERIES; q++)
		trails_equal(&idx[q], &walk[q], q);
	/* verify leaves an index the store has not built */
	mc_store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "not built: %s", err.msg);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	/* the engine's start builds it whole: the rows its writes had made */
	cr_assert_eq(mc_rules_audit_chain_ensure(fx.s, &err), 1, "built now: %s", err.msg);
	cr_assert_eq(mc_rules_audit_chain_ensure(fx.s, &err), 0, "once: %s", err.msg);
	chain_state(&built, &rows);
	cr_assert(built == 1 && rows == WIDE + 3 + 1, "%llu rows", (unsigned long long)rows);
	trail_queries(&idx[0], again);
	for (unsigned q = 0; q < NQUERIES; q++)
		trails_equal(&idx[q], &again[q], q);
	older_writer_after(keys[2], rec);
	for (unsigned i = 0; i < WIDE; i++)
		mc_key_free(keys[i]);
}

/* A row of audit_chain altered, removed or added, or its marker removed:
 * verify names the table. */
struct chain_tamper { int what; };

static int chain_tamper_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	const struct chain_tamper *tp = ctx;
	struct mc_cursor *cur;
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[12], val[2];

	cr_assert_eq(mc_cursor_open(t, MC_DB_AUDIT_CHAIN, &cur, err), 0);
	cr_assert_eq(mc_cursor_last(cur, &k, &kn, &v, &vn, err), 0);
	cr_assert(kn == 12 && vn == 2);
	memcpy(key, k, 12);
	memcpy(val, v, 2);
	if (tp->what == 3)
		cr_assert_eq(mc_cursor_seek(cur, NULL, 0, &k, &kn, &v, &vn, err), 0, "the marker");
	if (tp->what != 2)
		cr_assert_eq(mc_cursor_del(cur, err), 0);
	mc_cursor_close(cur);
	val[0] ^= tp->what == 0;
	key[11] ^= tp->what == 2;
	return tp->what == 0 || tp->what == 2 ? mc_txn_put(t, MC_DB_AUDIT_CHAIN, key, 12, val, 2, err) : 0;
}

Test(audit, verify_finds_an_altered_missing_added_or_unmarked_chain_index_row)
{
	uint8_t rec[MC_RECORD_ID_LEN];

	for (int what = 0; what < 4; what++) {
		struct chain_tamper tp = { what };
		struct mc_verify_report rep;
		struct mc_err err = { 0 };

		if (what) {
			fx_teardown();
			fx_setup();
		}
		cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
		cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
		cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
		cr_assert_eq(mc_store_write(fx.s, chain_tamper_txn, &tp, &err), 0, "%s", err.msg);
		mc_store_close(fx.s);
		fx.s = NULL;
		cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "tamper %d", what);
		cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
		cr_assert_not_null(strstr(err.msg, "audit index in chain order"), "%s", err.msg);
		cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	}
}

/* Hides the event at (h, ti) from audit_chain and audit_actor both (the
 * counts stay in step): a trail that reads audit_chain no longer gives it;
 * a walk over the txs still would. */
struct hide { uint64_t h; uint32_t ti; uint8_t actor[MC_PK_LEN]; };

static int chain_hide_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	const struct hide *hd = ctx;
	uint8_t key[MC_PK_LEN + 12];

	memcpy(key, hd->actor, MC_PK_LEN);
	mc_be64(key + MC_PK_LEN, hd->h);
	mc_be32(key + MC_PK_LEN + 8, hd->ti);
	cr_assert_eq(mc_txn_del(t, MC_DB_AUDIT_ACTOR, key, sizeof(key), err), 0, "%s", err->msg);
	cr_assert_eq(mc_txn_del(t, MC_DB_AUDIT_CHAIN, key + MC_PK_LEN, 12, err), 0, "%s", err->msg);
	return 0;
}

Test(audit, the_unfiltered_trail_is_read_from_the_chain_index_once_it_is_built)
{
	static struct mc_key *keys[WIDE];
	static struct trail before, after;
	struct mc_audit_filter f;
	struct mc_err err = { 0 };
	uint8_t rec[MC_RECORD_ID_LEN];
	uint64_t built, rows;
	struct hide hd;

	wide_chain(keys, rec);
	mc_audit_filter_init(&f);
	trail_pages(f, &before);
	cr_assert_gt(before.n, 10);
	hd.h = before.e[7].h;
	hd.ti = before.e[7].ti;
	memcpy(hd.actor, before.e[7].actor, MC_PK_LEN);
	cr_assert_eq(mc_store_write(fx.s, chain_hide_txn, &hd, &err), 0, "%s", err.msg);
	chain_state(&built, &rows);
	cr_assert_eq(built, 1, "still in step");
	trail_pages(f, &after);
	/* more actors than the merge takes: without the index, the walk */
	cr_assert_eq(after.n, before.n - 1, "the trail read audit_chain: %u events of %u", after.n, before.n);
	for (unsigned i = 0; i < after.n; i++)
		cr_assert(!(after.e[i].h == hd.h && after.e[i].ti == hd.ti), "the hidden event is not in the index");
	for (unsigned i = 0; i < WIDE; i++)
		mc_key_free(keys[i]);
}

/* A stray audit_chain row (out of step) and an audit_actor row of another
 * key length (damage): the next audited write rebuilds the index once,
 * without the stray, and it stays built. */
static int chain_stray_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	uint8_t key[12], val[2] = { 0, 0 }, odd[10] = { 0x7f };

	if (*(const int *)ctx)
		return mc_txn_put(t, MC_DB_AUDIT_ACTOR, odd, sizeof(odd), val, 2, err);
	mc_be64(key, UINT64_C(1) << 40);
	mc_be32(key + 8, 3);
	return mc_txn_put(t, MC_DB_AUDIT_CHAIN, key, sizeof(key), val, 2, err);
}

static int chain_last_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	struct mc_cursor *cur;
	const void *k, *v;
	size_t kn, vn;

	cr_assert_eq(mc_cursor_open(t, MC_DB_AUDIT_CHAIN, &cur, err), 0);
	cr_assert_eq(mc_cursor_last(cur, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(kn, 12);
	*(uint64_t *)ctx = mc_from_be64(k);
	mc_cursor_close(cur);
	return 0;
}

Test(audit, a_rebuild_drops_stray_rows_and_a_damaged_actor_row_does_not_rebuild_it_again)
{
	struct mc_err err = { 0 };
	uint8_t rec[MC_RECORD_ID_LEN];
	uint64_t built, rows, rows1, last;
	int damaged = 0;

	cr_assert_eq(fx_put("P1", "one", rec, &err), 0, "%s", err.msg);
	cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
	cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
	chain_state(&built, &rows);
	cr_assert_eq(built, 1);
	cr_assert_eq(mc_store_write(fx.s, chain_stray_txn, &damaged, &err), 0, "%s", err.msg);
	chain_state(&built, &rows1);
	cr_assert_eq(built, 0, "a stray row: out of step");
	cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
	chain_state(&built, &rows1);
	cr_assert_eq(built, 1, "rebuilt by the audited write");
	cr_assert_eq(rows1, rows + 1, "the events and the marker, no stray: %llu rows", (unsigned long long)rows1);
	cr_assert_eq(mc_store_read(fx.s, chain_last_txn, &last, &err), 0, "%s", err.msg);
	cr_assert_lt(last, UINT64_C(1) << 40, "the stray row is gone");
	/* the damaged row is counted in the marker: built once, not at every
	 * audited write, nor at the engine's start */
	damaged = 1;
	cr_assert_eq(mc_store_write(fx.s, chain_stray_txn, &damaged, &err), 0, "%s", err.msg);
	chain_state(&built, &rows);
	cr_assert_eq(built, 0, "a row more in audit_actor: out of step");
	cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
	chain_state(&built, &rows);
	cr_assert(built == 1 && rows == rows1 + 1, "rebuilt, the damaged row left out: %llu rows", (unsigned long long)rows);
	cr_assert_eq(ev_read(fx.admin, rec, NULL, NULL), MC_OUTCOME_PERMIT);
	rows1 = rows;
	chain_state(&built, &rows);
	cr_assert(built == 1 && rows == rows1 + 1, "in step after the next write: %llu rows", (unsigned long long)rows);
	cr_assert_eq(mc_rules_audit_chain_ensure(fx.s, &err), 0, "nothing to build: %s", err.msg);
}
