/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "chain.h"
#include "i18n.h"
#include "identity.h"
#include "orgrot.h"

struct q {
	const struct mc_audit_filter *f;
	mc_audit_fn fn;
	void *ctx;
	struct mc_audit_page *page;
	bool only_audit;                  /* the TXS scan: audit events only */
	uint64_t cache_h, cache_ts;
	bool cache_ok;
	/* the actor filter: the key asked for and the keys its identity
	 * held before (IDENTITY_ROTATE), newest first */
	struct mc_key_line line;
};

void mc_audit_filter_init(struct mc_audit_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->until = UINT64_MAX;
}

static int block_time(struct mc_txn *t, struct q *q, uint64_t h, uint64_t *ts, struct mc_err *err)
{
	struct mc_header hd;
	struct mc_cert c;

	if (q->cache_ok && q->cache_h == h) {
		*ts = q->cache_ts;
		return 0;
	}
	if (mc_chain_block(t, h, &hd, &c, err) != 0)
		return -1;
	q->cache_h = h;
	q->cache_ts = hd.timestamp_ms;
	q->cache_ok = true;
	*ts = hd.timestamp_ms;
	return 0;
}

static bool past_cursor(const struct q *q, uint64_t h, uint32_t ti)
{
	const struct mc_audit_filter *f = q->f;

	if (!f->have_after)
		return true;
	if (f->newest_first)
		return h < f->after_h || (h == f->after_h && ti < f->after_t);
	return h > f->after_h || (h == f->after_h && ti > f->after_t);
}

/* The transaction at (h, ti) that the audit index names, decoded. */
static int read_tx(struct mc_txn *t, uint64_t h, uint32_t ti, struct mc_tx *tx, struct mc_err *err)
{
	uint8_t key[12];
	const void *v;
	size_t vn;
	int rc;

	mc_be64(key, h);
	mc_be32(key + 8, ti);
	rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("the audit index names a missing transaction"));
	if (mc_tx_decode(v, vn, tx, err) != 0)
		return -1;
	return 0;
}

/* An ACCESS event: its subject, purpose, grant and glass reason. */
static int access_event(const struct mc_tx *tx, struct mc_audit_event *e, struct mc_err *err)
{
	static const uint8_t none[MC_GRANT_ID_LEN];

	if (mc_access_decode(tx->body, tx->body_len, &e->acc, err) != 0)
		return -1;
	e->has_subject = true;
	memcpy(e->subject, e->acc.subject, MC_HASH_LEN);
	e->purpose = e->acc.purpose;
	memcpy(e->grant, e->acc.grant, MC_GRANT_ID_LEN);
	/* a permit without a grant: the author reading back */
	e->has_grant = e->acc.outcome == MC_OUTCOME_PERMIT &&
		       memcmp(e->acc.grant, none, MC_GRANT_ID_LEN) != 0;
	memcpy(e->glass, e->acc.glass, e->acc.glass_len);
	e->acc.glass = NULL;
	return 0;
}

/* A CONSENT_REVOKE event: its grant, and the grant's subject when known. */
static int revoke_event(struct mc_txn *t, const struct mc_tx *tx, struct mc_audit_event *e,
			struct mc_err *err)
{
	struct mc_consent_revoke rv;
	struct mc_grant_state gs;
	struct mc_grant g;

	if (mc_consent_revoke_decode(tx->body, tx->body_len, &rv, err) != 0)
		return -1;
	memcpy(e->grant, rv.id, MC_GRANT_ID_LEN);
	e->has_grant = true;
	if (mc_grant_state_get(t, rv.id, &gs, err) == 0 &&
	    mc_grant_decode(gs.body, gs.body_len, &g, err) == 0) {
		e->has_subject = true;
		memcpy(e->subject, g.subject, MC_HASH_LEN);
	}
	return 0;
}

/* An IDENTITY_ROTATE event: the keys, the kind, the reason and the
 * subject of the new key's identity. */
static int rotate_event(struct mc_txn *t, const struct mc_tx *tx, struct mc_audit_event *e,
			struct mc_err *err)
{
	struct mc_rotate rot;
	struct mc_identity nw;
	int rc;

	if (mc_rotate_decode(tx->body, tx->body_len, &rot, err) != 0)
		return -1;
	memcpy(e->rot_old, rot.old_pk, MC_PK_LEN);
	memcpy(e->rot_new, rot.new_pk, MC_PK_LEN);
	e->rot_kind = rot.kind;
	memcpy(e->glass, rot.reason, rot.reason_len);
	rc = mc_identity_get(t, rot.new_pk, &nw, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && nw.has_subject) {
		e->has_subject = true;
		memcpy(e->subject, nw.subject, MC_HASH_LEN);
	}
	return 0;
}

/* What the event's body adds, by its type: subject, grant, keys or alert. */
static int event_body(struct mc_txn *t, const struct mc_tx *tx, struct mc_audit_event *e,
		      struct mc_err *err)
{
	if (tx->type == MC_TX_ACCESS) {
		if (access_event(tx, e, err) != 0)
			return -1;
	} else if (tx->type == MC_TX_CONSENT_GRANT) {
		struct mc_grant g;

		if (mc_grant_decode(tx->body, tx->body_len, &g, err) != 0)
			return -1;
		e->has_subject = true;
		memcpy(e->subject, g.subject, MC_HASH_LEN);
		memcpy(e->grant, g.id, MC_GRANT_ID_LEN);
		e->has_grant = true;
		e->purpose = g.purpose;
	} else if (tx->type == MC_TX_CONSENT_REVOKE) {
		if (revoke_event(t, tx, e, err) != 0)
			return -1;
	} else if (tx->type == MC_TX_IDENTITY_ROTATE) {
		if (rotate_event(t, tx, e, err) != 0)
			return -1;
	}
	if (tx->type == MC_TX_ORG_ROTATE) {
		struct mc_org_rotate rot;

		if (mc_org_rotate_decode(tx->body, tx->body_len, &rot, err) != 0)
			return -1;
		memcpy(e->old_org, rot.old_pk, MC_PK_LEN);
		memcpy(e->new_org, rot.new_pk, MC_PK_LEN);
	} else if (tx->type == MC_TX_ALERT_ACK) {
		struct mc_alert_ack ack;

		if (mc_alert_ack_decode(tx->body, tx->body_len, &ack, err) != 0)
			return -1;
		e->alert_kind = ack.kind;
		memcpy(e->alert_id, ack.id, MC_ALERT_ID_LEN);
		memcpy(e->ack_reason, ack.reason, ack.reason_len);
	}
	return 0;
}

/* The outcome and subject filters, then the actor's name, the page and
 * fn: as visit returns. */
static int emit(struct mc_txn *t, struct q *q, const struct mc_tx *tx, struct mc_audit_event *e,
		struct mc_err *err)
{
	const struct mc_audit_filter *f = q->f;
	struct mc_identity who;

	if (f->outcome && (tx->type != MC_TX_ACCESS || e->acc.outcome != f->outcome))
		return 0;
	if (f->subject && (!e->has_subject || memcmp(e->subject, f->subject, MC_HASH_LEN) != 0))
		return 0;
	if (mc_identity_get(t, tx->author, &who, err) != 0)
		snprintf(who.name, sizeof(who.name), "?");
	memcpy(e->actor_name, who.name, sizeof(e->actor_name));
	q->page->n++;
	q->page->last_h = e->h;
	q->page->last_t = e->ti;
	if (q->fn(e, q->ctx) != 0)
		return 1;
	if (f->limit && q->page->n >= f->limit) {
		q->page->more = true;
		return 1;
	}
	return 0;
}

/* Reads, filters and hands one event on: 0 go on, 1 stop (the limit, or
 * fn said so), 2 out of the time range in the walking direction. */
static int visit(struct mc_txn *t, struct q *q, uint64_t h, uint32_t ti, struct mc_err *err)
{
	const struct mc_audit_filter *f = q->f;
	struct mc_tx tx;
	struct mc_audit_event e;

	if (!past_cursor(q, h, ti))
		return 0;
	memset(&e, 0, sizeof(e));
	if (block_time(t, q, h, &e.ts, err) != 0)
		return -1;
	if (e.ts < f->since)
		return f->newest_first ? 2 : 0;
	if (e.ts > f->until)
		return f->newest_first ? 0 : 2;
	if (read_tx(t, h, ti, &tx, err) != 0)
		return -1;
	if (q->only_audit && !mc_tx_type_audited(tx.type))
		return 0;
	if (f->actor && !mc_key_line_has(&q->line, tx.author))
		return 0;
	e.h = h;
	e.ti = ti;
	e.type = tx.type;
	memcpy(e.actor, tx.author, MC_PK_LEN);
	if (event_body(t, &tx, &e, err) != 0)
		return -1;
	return emit(t, q, &tx, &e, err);
}

/* The index the filter walks and its key prefix (plen bytes); the TXS
 * scan, audit events only, when no index fits. */
static enum mc_db pick_index(const struct mc_audit_filter *f, struct q *q, uint8_t *prefix,
			      size_t *plen)
{
	enum mc_db db;

	if (f->subject) {
		db = MC_DB_AUDIT_SUBJECT;
		memcpy(prefix, f->subject, MC_HASH_LEN);
		*plen = MC_HASH_LEN;
	} else if (f->actor && q->line.n == 1) {
		db = MC_DB_AUDIT_ACTOR;
		memcpy(prefix, f->actor, MC_PK_LEN);
		*plen = MC_PK_LEN;
	} else if (f->outcome) {
		db = MC_DB_AUDIT_OUTCOME;
		prefix[0] = f->outcome;
		*plen = 1;
	} else {
		/* no filter, or an actor whose identity held several keys: its
		 * events under each, in chain order, from the one scan */
		db = MC_DB_TXS;
		q->only_audit = true;
	}
	return db;
}

/* Where the walk starts in its direction: the (height, tx index) bound. */
static int start_bound(struct mc_txn *t, const struct mc_audit_filter *f, uint64_t *bound_h,
		       uint32_t *bound_t, struct mc_err *err)
{
	if (!f->newest_first) {
		/* from the first block at or after since (or the cursor) */
		if (f->since && mc_chain_height_at(t, f->since, bound_h, err) != 0)
			return -1;
		if (f->have_after && f->after_h > *bound_h)
			*bound_h = f->after_h;
	} else if (f->have_after) {
		*bound_h = f->after_h;
		*bound_t = f->after_t;
	} else if (f->until != UINT64_MAX) {
		/* up to the first block after until */
		if (mc_chain_height_at(t, f->until + 1, bound_h, err) != 0)
			return -1;
	} else {
		*bound_h = UINT64_MAX;
		*bound_t = UINT32_MAX;
	}
	return 0;
}

int mc_audit_query(struct mc_txn *t, const struct mc_audit_filter *f, mc_audit_fn fn, void *ctx,
		   struct mc_audit_page *page, struct mc_err *err)
{
	static struct q zero;
	struct q q = zero;
	uint8_t prefix[MC_PK_LEN], start[MC_PK_LEN + 12];
	size_t plen = 0;
	enum mc_db db;
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	uint64_t bound_h = 0;
	uint32_t bound_t = 0;
	int rc, vr = 0;

	q.f = f;
	q.fn = fn;
	q.ctx = ctx;
	q.page = page;
	memset(page, 0, sizeof(*page));
	if (f->actor && mc_key_line(t, f->actor, &q.line, err) != 0)
		return -1;
	db = pick_index(f, &q, prefix, &plen);
	if (start_bound(t, f, &bound_h, &bound_t, err) != 0)
		return -1;
	memcpy(start, prefix, plen);
	mc_be64(start + plen, bound_h);
	mc_be32(start + plen + 8, bound_t);
	if (mc_cursor_open(t, db, &c, err) != 0)
		return -1;
	if (!f->newest_first) {
		rc = mc_cursor_seek(c, start, plen + 12, &k, &kn, NULL, NULL, err);
	} else {
		/* the last key before start */
		rc = mc_cursor_seek(c, start, plen + 12, &k, &kn, NULL, NULL, err);
		if (rc == 0)
			rc = mc_cursor_prev(c, &k, &kn, NULL, NULL, err);
		else if (rc == MC_NOTFOUND)
			rc = mc_cursor_last(c, &k, &kn, NULL, NULL, err);
	}
	for (; rc == 0 && vr == 0;
	     rc = f->newest_first ? mc_cursor_prev(c, &k, &kn, NULL, NULL, err)
				  : mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		const uint8_t *kb = k;

		if (kn != plen + 12 || memcmp(kb, prefix, plen) != 0)
			break;
		vr = visit(t, &q, mc_from_be64(kb + plen), mc_from_be32(kb + plen + 8), err);
	}
	mc_cursor_close(c);
	if (rc < 0 || vr < 0)
		return -1;
	return 0;
}
