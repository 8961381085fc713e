/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "chain.h"
#include "i18n.h"
#include "identity.h"
#include "orgrot.h"
#include "rotation.h"

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

/* The transaction at (h, ti) that the audit index names, decoded: 0, or
 * MC_NOTFOUND when only_audit and its envelope's type byte (the second)
 * says it is no audit event, left undecoded: decoding reads the signature
 * after the body, one more page of a large tx (an import's batch) to read
 * from the disk. */
static int read_tx(struct mc_txn *t, uint64_t h, uint32_t ti, bool only_audit, struct mc_tx *tx,
		   struct mc_err *err)
{
	uint8_t key[12];
	const uint8_t *v;
	const void *vv;
	size_t vn;
	int rc;

	mc_be64(key, h);
	mc_be32(key + 8, ti);
	rc = mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &vv, &vn, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("the audit index names a missing transaction"));
	v = vv;
	if (only_audit && vn >= 2 && v[0] == MC_TX_VERSION && mc_tx_type_name(v[1]) &&
	    !mc_tx_type_audited(v[1]))
		return MC_NOTFOUND;
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
	int rc;

	if (!past_cursor(q, h, ti))
		return 0;
	memset(&e, 0, sizeof(e));
	if (block_time(t, q, h, &e.ts, err) != 0)
		return -1;
	if (e.ts < f->since)
		return f->newest_first ? 2 : 0;
	if (e.ts > f->until)
		return f->newest_first ? 0 : 2;
	rc = read_tx(t, h, ti, q->only_audit, &tx, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
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
		/* no filter (audit_chain when built: mc_audit_query), or an
		 * actor whose identity held several keys: its events under
		 * each, in chain order, merged (or from the one scan) */
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

/* An actor whose identity held several keys, and the unfiltered trail of
 * a store without audit_chain in step (an older build's opened read-only,
 * or one an older build wrote to since), from the actor index instead of
 * the TXS scan: one head per actor key, merged in chain order, so a page
 * reads its events and a seek per actor, not every transaction since the
 * page's oldest event (a chain of imports only holds no audit event: the
 * scan read it all). The unfiltered trail of such a store with more than
 * MERGE_MAX actors falls back to the scan. Each audited tx is under its
 * author in the actor index (mc_rules_audit_index, which every audited
 * type's apply ends with), once: the same events in the same order. */
#define MERGE_MAX (MC_ROTATIONS_MAX + 1)

struct head {
	uint8_t key[MC_PK_LEN + 12];      /* actor || height || tx of its next event */
	bool live;
};

/* Moves hd to its actor's first event in the walking direction from its
 * key: at or after it (oldest first; strictly after when past), or strictly
 * before it (newest first). */
static int head_seek(struct mc_cursor *c, struct head *hd, bool newest, bool past, struct mc_err *err)
{
	const void *k;
	size_t kn;
	int rc = mc_cursor_seek(c, hd->key, sizeof(hd->key), &k, &kn, NULL, NULL, err);

	if (!newest) {
		if (rc == 0 && past && kn == sizeof(hd->key) && memcmp(k, hd->key, kn) == 0)
			rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err);
	} else if (rc == 0) {
		rc = mc_cursor_prev(c, &k, &kn, NULL, NULL, err);
	} else if (rc == MC_NOTFOUND) {
		rc = mc_cursor_last(c, &k, &kn, NULL, NULL, err);
	}
	if (rc < 0)
		return -1;
	hd->live = rc == 0 && kn == sizeof(hd->key) && memcmp(k, hd->key, MC_PK_LEN) == 0;
	if (hd->live)
		memcpy(hd->key, k, kn);
	return 0;
}

/* The actor index's distinct actors into hd: *n of them, or MERGE_MAX + 1
 * when there are more (or a key of another length: the scan then). */
static int actors(struct mc_cursor *c, struct head *hd, size_t *n, struct mc_err *err)
{
	uint8_t next[MC_PK_LEN];
	const void *k;
	size_t kn, i;
	int rc = mc_cursor_seek(c, NULL, 0, &k, &kn, NULL, NULL, err);

	*n = 0;
	while (rc == 0) {
		if (*n == MERGE_MAX || kn != sizeof(hd->key)) {
			*n = MERGE_MAX + 1;
			return 0;
		}
		memcpy(hd[(*n)++].key, k, MC_PK_LEN);
		/* the next actor: the first key past this actor's prefix */
		memcpy(next, k, MC_PK_LEN);
		for (i = MC_PK_LEN; i > 0 && next[i - 1] == 0xff; i--)
			next[i - 1] = 0;
		if (i == 0)
			return 0;
		next[i - 1]++;
		rc = mc_cursor_seek(c, next, MC_PK_LEN, &k, &kn, NULL, NULL, err);
	}
	return rc < 0 ? -1 : 0;
}

/* Visits the heads' events in chain order from the bound: as visit. */
static int merge_walk(struct mc_txn *t, struct q *q, struct mc_cursor *c, struct head *hd, size_t n,
		      uint64_t bound_h, uint32_t bound_t, struct mc_err *err)
{
	bool newest = q->f->newest_first;
	int vr = 0;

	for (size_t i = 0; i < n; i++) {
		mc_be64(hd[i].key + MC_PK_LEN, bound_h);
		mc_be32(hd[i].key + MC_PK_LEN + 8, bound_t);
		if (head_seek(c, &hd[i], newest, false, err) != 0)
			return -1;
	}
	while (vr == 0) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			int cmp;

			if (!hd[i].live)
				continue;
			cmp = best == n ? 0 : memcmp(hd[i].key + MC_PK_LEN, hd[best].key + MC_PK_LEN, 12);
			if (best == n || (newest ? cmp > 0 : cmp < 0))
				best = i;
		}
		if (best == n)
			break;
		vr = visit(t, q, mc_from_be64(hd[best].key + MC_PK_LEN), mc_from_be32(hd[best].key + MC_PK_LEN + 8),
			   err);
		if (vr == 0 && head_seek(c, &hd[best], newest, true, err) != 0)
			return -1;
	}
	return vr < 0 ? -1 : 0;
}

/* The merge for a query pick_index gave the TXS scan: 0 done, 1 the scan
 * instead (too many actors), -1 error. */
static int merged(struct mc_txn *t, struct q *q, uint64_t bound_h, uint32_t bound_t, struct mc_err *err)
{
	struct head hd[MERGE_MAX];
	struct mc_cursor *c;
	size_t n = 0;
	int rc = 0;

	if (mc_cursor_open(t, MC_DB_AUDIT_ACTOR, &c, err) != 0)
		return -1;
	if (q->f->actor) {
		for (; n < q->line.n && n < MERGE_MAX; n++)
			memcpy(hd[n].key, q->line.pk[n], MC_PK_LEN);
	} else {
		rc = actors(c, hd, &n, err);
	}
	if (rc == 0)
		rc = n > MERGE_MAX ? 1 : merge_walk(t, q, c, hd, n, bound_h, bound_t, err);
	mc_cursor_close(c);
	return rc;
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
	if (db == MC_DB_TXS && !f->actor) {
		/* unfiltered: the chain index, when the store has built it */
		if ((rc = mc_rules_audit_chain_built(t, err)) < 0)
			return -1;
		if (rc == 1)
			db = MC_DB_AUDIT_CHAIN;
	}
	if (db == MC_DB_TXS && (rc = merged(t, &q, bound_h, bound_t, err)) != 1)
		return rc;
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
