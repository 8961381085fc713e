/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "chainstate.h"
#include "rectx.h"
#include "rotation.h"
#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "text.h"

const char *mc_alert_name(unsigned kind)
{
	switch (kind) {
	case MC_ALERT_BREAK_GLASS: return "break-glass";
	case MC_ALERT_DENY_BURST: return "deny-burst";
	case MC_ALERT_GRANT_EXPIRING: return "grant-expiring";
	case MC_ALERT_STAFF_GRANT: return "staff-grant";
	case MC_ALERT_VERIFY_FAILED: return "verify-failed";
	case MC_ALERT_VERIFY_OVERDUE: return "verify-overdue";
	case MC_ALERT_ENROLLER_GRANT: return "enroller-grant";
	case MC_ALERT_ENROLLER_COLLEAGUE_GRANT: return "enroller-colleague-grant";
	case MC_ALERT_LOST_KEY_ROTATION: return "lost-key-rotation";
	case MC_ALERT_SERVE_DOWN: return "serve-down";
	case MC_ALERT_VALIDATOR_DOWN: return "validator-down";
	case MC_ALERT_ANCHOR_OVERDUE: return "anchor-overdue";
	case MC_ALERT_ANCHOR_STUCK: return "anchor-stuck";
	case MC_ALERT_BALANCE_LOW: return "balance-low";
	case MC_ALERT_VALIDATOR_LAGGING: return "validator-lagging";
	default: return "?";
	}
}

unsigned mc_alert_kind(const char *name)
{
	for (unsigned k = 1; k <= MC_ALERT_VALIDATOR_LAGGING; k++)
		if (strcmp(name, mc_alert_name(k)) == 0)
			return k;
	return 0;
}

void mc_alert_id(const struct mc_alert *a, uint8_t out[MC_ALERT_ID_LEN])
{
	static const char domain[] = "medchain/alert/v1";
	struct mc_sha256 h;
	uint8_t n[8], hash[MC_HASH_LEN];

	mc_sha256_init(&h);
	mc_sha256_update(&h, domain, sizeof(domain) - 1);
	mc_sha256_update(&h, &a->kind, 1);
	mc_be64(n, a->height);
	mc_sha256_update(&h, n, 8);
	mc_be32(n, a->tx_index);
	mc_sha256_update(&h, n, 4);
	mc_sha256_update(&h, a->actor, MC_PK_LEN);
	mc_sha256_update(&h, a->subject, MC_HASH_LEN);
	mc_sha256_update(&h, a->record, 16);
	mc_sha256_update(&h, a->grant, 16);
	mc_be64(n, a->time_ms);
	mc_sha256_update(&h, n, 8);
	mc_be64(n, a->seq);
	mc_sha256_update(&h, n, 8);
	mc_sha256_update(&h, a->address, 20);
	mc_sha256_final(&h, hash);
	memcpy(out, hash, MC_ALERT_ID_LEN);
}

int mc_alert_ack_get(struct mc_txn *t, const uint8_t id[MC_ALERT_ID_LEN], struct mc_alert *a,
		     struct mc_err *err)
{
	const void *v;
	size_t vn;
	uint8_t loc[12];
	struct mc_tx tx;
	struct mc_alert_ack ack;
	int rc = mc_txn_get(t, MC_DB_ALERT_ACKS, id, MC_ALERT_ID_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn != 1 + 8 + 4 + MC_PK_LEN)
		return mc_err_set(err, EX_DATAERR, _("malformed alert acknowledgement"));
	if (a->kind && ((const uint8_t *)v)[0] != a->kind)
		return MC_NOTFOUND;
	a->ack_height = mc_from_be64((const uint8_t *)v + 1);
	memcpy(a->ack_by, (const uint8_t *)v + 13, MC_PK_LEN);
	memcpy(loc, (const uint8_t *)v + 1, 12);
	if (mc_txn_get(t, MC_DB_TXS, loc, sizeof(loc), &v, &vn, err) != 0 ||
	    mc_tx_decode(v, vn, &tx, err) != 0 || mc_alert_ack_decode(tx.body, tx.body_len, &ack, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("an alert acknowledgement names a missing transaction"));
	memcpy(a->ack_reason, ack.reason, ack.reason_len);
	a->ack_reason[ack.reason_len] = '\0';
	return 0;
}

void mc_alert_load_serve(struct mc_alert_params *p, const char *path)
{
	FILE *f;
	char *text = NULL;
	long n;
	cJSON *j = NULL;
	const cJSON *tm, *pid, *up, *peers, *e;

	p->check_serve = true;
	p->serve_running = false;
	p->status_ms = 0;
	p->npeers = 0;
	if (!(f = fopen(path, "re")))
		return;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (4L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)n)) && fread(text, 1, (size_t)n, f) == (size_t)n)
		j = cJSON_ParseWithLength(text, (size_t)n);
	fclose(f);
	free(text);
	tm = cJSON_GetObjectItemCaseSensitive(j, "time_ms");
	pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
	up = cJSON_GetObjectItemCaseSensitive(j, "uptime_s");
	if (cJSON_IsNumber(tm) && tm->valuedouble > 0)
		p->status_ms = (uint64_t)tm->valuedouble;
	/* killed, its file stays behind: the process is gone at once (EPERM:
	 * it runs as another user, so it is there). A time ahead of the clock
	 * by more than the freshness (forged, or the clock set back) proves
	 * nothing, nor does a pid no process can have. */
	if (!p->status_ms || p->now_ms > p->status_ms + MC_ALERT_SERVE_FRESH_MS ||
	    p->status_ms > p->now_ms + MC_ALERT_SERVE_FRESH_MS ||
	    (pid && (!cJSON_IsNumber(pid) || pid->valuedouble < 1 || pid->valuedouble > INT_MAX ||
		     (kill((pid_t)pid->valuedouble, 0) != 0 && errno == ESRCH)))) {
		cJSON_Delete(j);
		return;
	}
	p->serve_running = true;
	if (cJSON_IsNumber(up) && up->valuedouble >= 0 && p->status_ms > (uint64_t)up->valuedouble * 1000)
		p->serve_started_ms = p->status_ms - (uint64_t)up->valuedouble * 1000;
	peers = cJSON_GetObjectItemCaseSensitive(j, "peers");
	cJSON_ArrayForEach(e, peers) {
		struct mc_alert_peer *pe;
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
		const cJSON *node = cJSON_GetObjectItemCaseSensitive(e, "node");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *pu = cJSON_GetObjectItemCaseSensitive(e, "up");
		const cJSON *seen = cJSON_GetObjectItemCaseSensitive(e, "last_seen_ms");
		const cJSON *ph = cJSON_GetObjectItemCaseSensitive(e, "height");

		if (p->npeers == MC_ALERT_PEERS_MAX)
			break;
		pe = &p->peers[p->npeers];
		memset(pe, 0, sizeof(*pe));
		if (cJSON_IsString(url))
			snprintf(pe->url, sizeof(pe->url), "%s", url->valuestring);
		if (cJSON_IsString(name))
			snprintf(pe->name, sizeof(pe->name), "%s", name->valuestring);
		pe->has_pk = cJSON_IsString(node) && strlen(node->valuestring) == 2 * MC_PK_LEN &&
			     mc_unhex(node->valuestring, pe->pk, MC_PK_LEN) == 0;
		pe->up = cJSON_IsTrue(pu);
		if (cJSON_IsNumber(seen) && seen->valuedouble > 0)
			pe->last_seen_ms = (uint64_t)seen->valuedouble;
		if (cJSON_IsNumber(ph) && ph->valuedouble >= 0)
			pe->height = (uint64_t)ph->valuedouble;
		p->npeers++;
	}
	cJSON_Delete(j);
}

int mc_anchor_age(struct mc_txn *t, struct mc_anchor_age *out, struct mc_err *err)
{
	struct mc_anchored last;
	struct mc_header hd;
	struct mc_cert c;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mc_chain_anchored(t, UINT64_MAX, &last, err);
	if (rc < 0)
		return -1;
	out->anchored = rc == 0;
	if (mc_chain_block(t, out->anchored ? last.height : 0, &hd, &c, err) != 0)
		return -1;
	out->since_ms = hd.timestamp_ms;
	out->tree_size = out->anchored ? last.a.tree_size : 0;
	return 0;
}

void mc_alert_defaults(struct mc_alert_params *p, uint64_t now_ms)
{
	p->now_ms = now_ms;
	p->break_glass_window_ms = 24ULL * 3600 * 1000;
	p->deny_window_ms = 3600ULL * 1000;
	p->deny_burst = 5;
	p->expiring_window_ms = 7ULL * 24 * 3600 * 1000;
	p->check_verify = false;
	p->verify_ran = false;
	memset(&p->verify, 0, sizeof(p->verify));
	p->verify_overdue_ms = 36ULL * 3600 * 1000;
	p->enrolment_window_ms = 24ULL * 3600 * 1000;
	p->check_serve = false;
	p->serve_running = false;
	p->status_ms = 0;
	p->serve_started_ms = 0;
	p->npeers = 0;
	p->validator_down_ms = 60ULL * 1000;
	p->anchor_overdue_ms = 0;
	p->nextra = 0;
	p->include_acked = false;
}

/* The alert a validator peer raises, if any: 1 (in al), 0 none, -1 an
 * error. Down: not heard from for validator_down_ms; lagging: behind the
 * head for as long. */
static int peer_alert(struct mc_txn *t, const struct mc_alert_params *p,
		      const struct mc_alert_peer *pe, uint8_t (*vals)[MC_PK_LEN], size_t nval,
		      const struct mc_head *head, struct mc_alert *al, struct mc_err *err)
{
	/* never heard from: down since serve started */
	uint64_t since = pe->last_seen_ms ? pe->last_seen_ms : p->serve_started_ms;
	bool validator = !pe->has_pk;   /* a url not answered yet may be one */

	for (size_t v = 0; pe->has_pk && v < nval && !validator; v++)
		validator = memcmp(vals[v], pe->pk, MC_PK_LEN) == 0;
	if (!validator)
		return 0;
	memset(al, 0, sizeof(*al));
	if (pe->has_pk)
		memcpy(al->actor, pe->pk, MC_PK_LEN);
	snprintf(al->message, sizeof(al->message), "%s", pe->url);
	if (!pe->up) {
		if (p->now_ms < since || p->now_ms - since <= p->validator_down_ms)
			return 0;
		al->kind = MC_ALERT_VALIDATOR_DOWN;
		al->time_ms = since;
		al->never = pe->last_seen_ms == 0;
	} else {
		/* up but behind: lagging for as long as the first block it
		 * lacks has existed */
		struct mc_header hd;
		struct mc_cert c;

		if (head->empty || pe->height >= head->height)
			return 0;
		if (mc_chain_block(t, pe->height + 1, &hd, &c, err) != 0)
			return -1;
		if (p->now_ms < hd.timestamp_ms || p->now_ms - hd.timestamp_ms <= p->validator_down_ms)
			return 0;
		al->kind = MC_ALERT_VALIDATOR_LAGGING;
		al->time_ms = hd.timestamp_ms;
		al->height = pe->height + 1;
		al->count = (unsigned)(head->height - pe->height);
	}
	return 1;
}

/* serve not running, validators not heard from, no anchor for too long,
 * then the caller's extra alerts */
static int state_alerts(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
			struct mc_err *err)
{
	struct mc_alert al;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval = 0;
	struct mc_head head = { .empty = true };

	if (p->check_serve && !p->serve_running) {
		memset(&al, 0, sizeof(al));
		al.kind = MC_ALERT_SERVE_DOWN;
		al.time_ms = p->status_ms;
		if (fn(&al, ctx))
			return 1;
	}
	if (p->check_serve && p->serve_running && p->npeers &&
	    (mc_chain_validators(t, vals, &nval, err) != 0 || mc_chain_head(t, &head, err) != 0))
		return -1;
	for (size_t i = 0; p->check_serve && p->serve_running && i < p->npeers; i++) {
		int rc = peer_alert(t, p, &p->peers[i], vals, nval, &head, &al, err);

		if (rc < 0)
			return -1;
		if (rc > 0 && fn(&al, ctx))
			return 1;
	}
	if (p->anchor_overdue_ms) {
		struct mc_anchor_age ag;

		if (mc_anchor_age(t, &ag, err) != 0)
			return -1;
		if (p->now_ms > ag.since_ms && p->now_ms - ag.since_ms > p->anchor_overdue_ms) {
			memset(&al, 0, sizeof(al));
			al.kind = MC_ALERT_ANCHOR_OVERDUE;
			al.time_ms = ag.since_ms;
			al.seq = ag.tree_size;
			al.never = !ag.anchored;
			if (fn(&al, ctx))
				return 1;
		}
	}
	for (size_t i = 0; i < p->nextra; i++) {
		memset(&al, 0, sizeof(al));
		al.kind = p->extra[i].kind;
		al.time_ms = p->extra[i].time_ms;
		al.seq = p->extra[i].seq;
		memcpy(al.address, p->extra[i].address, 20);
		snprintf(al.message, sizeof(al.message), "%s", p->extra[i].message);
		if (fn(&al, ctx))
			return 1;
	}
	return 0;
}

/* Between the scans and the caller: gives each alert its id and its
 * acknowledgement, and leaves acknowledged ones out unless asked. */
struct gate {
	struct mc_txn *t;
	const struct mc_alert_params *p;
	mc_alert_fn fn;
	void *ctx;
	struct mc_err *err;
	bool failed;
};

static int gate_fn(const struct mc_alert *in, void *vctx)
{
	struct gate *g = vctx;
	struct mc_alert a = *in;
	int rc;

	mc_alert_id(&a, a.id);
	rc = mc_alert_ack_get(g->t, a.id, &a, g->err);
	if (rc < 0) {
		g->failed = true;
		return 1;
	}
	a.acked = rc == 0;
	if (a.acked && !g->p->include_acked)
		return 0;
	return g->fn(&a, g->ctx);
}

/* A failed verify, or none for verify_overdue_ms (counted from the genesis
 * block's time when none ever ran: a new chain is not overdue). */
static int verify_alerts(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
			 struct mc_err *err)
{
	struct mc_alert al;
	uint64_t since;

	memset(&al, 0, sizeof(al));
	if (p->verify_ran && !p->verify.ok) {
		al.kind = MC_ALERT_VERIFY_FAILED;
		al.time_ms = p->verify.time_ms;
		al.height = p->verify.blocks;
		snprintf(al.message, sizeof(al.message), "%s", p->verify.message);
		if (fn(&al, ctx))
			return 1;
		memset(&al, 0, sizeof(al));
	}
	if (p->verify_ran) {
		since = p->verify.time_ms;
	} else {
		struct mc_header hd;
		struct mc_cert c;

		if (mc_chain_block(t, 0, &hd, &c, err) != 0)
			return -1;
		since = hd.timestamp_ms;
	}
	if (p->now_ms <= since || p->now_ms - since < p->verify_overdue_ms)
		return 0;
	al.kind = MC_ALERT_VERIFY_OVERDUE;
	al.time_ms = p->verify_ran ? p->verify.time_ms : since;
	al.never = !p->verify_ran;
	return fn(&al, ctx) ? 1 : 0;
}

static int load_access(struct mc_txn *t, uint64_t h, uint32_t ti, struct mc_tx *tx,
		       struct mc_access *a, struct mc_err *err)
{
	uint8_t key[12];
	const void *v;
	size_t vn;

	mc_be64(key, h);
	mc_be32(key + 8, ti);
	if (mc_txn_get(t, MC_DB_TXS, key, sizeof(key), &v, &vn, err) != 0 ||
	    mc_tx_decode(v, vn, tx, err) != 0 || mc_access_decode(tx->body, tx->body_len, a, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("the audit index names a missing access event"));
	return 0;
}

struct burst {
	uint8_t root[MC_PK_LEN];          /* the person: the first key of the line */
	uint8_t actor[MC_PK_LEN];         /* the key of the last denial */
	unsigned count;
	uint64_t last_ms, height;
	uint32_t tx_index;
};

static int cmp_burst(const void *a, const void *b)
{
	return memcmp(((const struct burst *)a)->actor, ((const struct burst *)b)->actor, MC_PK_LEN);
}

/* Events with one outcome since `since`, in chain order. */
static int scan_outcome(struct mc_txn *t, uint8_t outcome, uint64_t since,
			int (*each)(struct mc_txn *, uint64_t, uint32_t, uint64_t, void *, struct mc_err *),
			void *ctx, struct mc_err *err)
{
	uint8_t start[13];
	uint64_t from = 0;
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc, vr = 0;

	if (mc_chain_height_at(t, since, &from, err) != 0)
		return -1;
	start[0] = outcome;
	mc_be64(start + 1, from);
	mc_be32(start + 9, 0);
	if (mc_cursor_open(t, MC_DB_AUDIT_OUTCOME, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, start, sizeof(start), &k, &kn, NULL, NULL, err); rc == 0 && vr == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		const uint8_t *kb = k;
		struct mc_header hd;
		struct mc_cert cert;
		uint64_t h;

		if (kn != 13 || kb[0] != outcome)
			break;
		h = mc_from_be64(kb + 1);
		if (mc_chain_block(t, h, &hd, &cert, err) != 0) {
			vr = -1;
			break;
		}
		vr = each(t, h, mc_from_be32(kb + 9), hd.timestamp_ms, ctx, err);
	}
	mc_cursor_close(c);
	return rc < 0 || vr < 0 ? -1 : vr;
}

struct run {
	mc_alert_fn fn;
	void *ctx;
	struct burst *b;
	size_t nb, cap;
};

static int each_glass(struct mc_txn *t, uint64_t h, uint32_t ti, uint64_t ts, void *vctx,
		      struct mc_err *err)
{
	struct run *r = vctx;
	struct mc_tx tx;
	struct mc_access a;
	struct mc_alert al;

	if (load_access(t, h, ti, &tx, &a, err) != 0)
		return -1;
	memset(&al, 0, sizeof(al));
	al.kind = MC_ALERT_BREAK_GLASS;
	al.time_ms = ts;
	al.height = h;
	al.tx_index = ti;
	memcpy(al.actor, tx.author, MC_PK_LEN);
	memcpy(al.subject, a.subject, MC_HASH_LEN);
	memcpy(al.record, a.record, 16);
	return r->fn(&al, r->ctx) ? 1 : 0;
}

/* The first key of pk's line (mc_key_line). */
static int line_root(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], uint8_t root[MC_PK_LEN],
		     struct mc_err *err)
{
	struct mc_key_line l;

	if (mc_key_line(t, pk, &l, err) != 0)
		return -1;
	memcpy(root, l.pk[l.n - 1], MC_PK_LEN);
	return 0;
}

/* Denials are counted per person: a rotation of the key half way through
 * a burst does not split it. */
static int each_deny(struct mc_txn *t, uint64_t h, uint32_t ti, uint64_t ts, void *vctx,
		     struct mc_err *err)
{
	struct run *r = vctx;
	struct mc_tx tx;
	struct mc_access a;
	uint8_t root[MC_PK_LEN];
	size_t i;

	if (load_access(t, h, ti, &tx, &a, err) != 0 || line_root(t, tx.author, root, err) != 0)
		return -1;
	for (i = 0; i < r->nb; i++)
		if (memcmp(r->b[i].root, root, MC_PK_LEN) == 0)
			break;
	if (i == r->nb) {
		if (r->nb == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			void *p = realloc(r->b, cap * sizeof(*r->b));

			if (!p)
				return mc_err_set(err, EX_OSERR, _("out of memory"));
			r->b = p;
			r->cap = cap;
		}
		memset(&r->b[i], 0, sizeof(r->b[i]));
		memcpy(r->b[i].root, root, MC_PK_LEN);
		r->nb++;
	}
	memcpy(r->b[i].actor, tx.author, MC_PK_LEN);
	r->b[i].count++;
	r->b[i].last_ms = ts;
	r->b[i].height = h;
	r->b[i].tx_index = ti;
	return 0;
}

/* Who enrolled identity pk: the author of the IDENTITY_ENROLL naming it,
 * in the block of its enrolment. 0 and *found, or 0 and not found (a
 * genesis identity), or -1. */
static int enroller_of(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], uint8_t out[MC_PK_LEN], bool *found,
		       struct mc_err *err)
{
	struct mc_identity id;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint8_t start[12];
	int rc;

	*found = false;
	rc = mc_identity_get(t, pk, &id, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	mc_be64(start, id.enrolled);
	mc_be32(start + 8, 0);
	if (mc_cursor_open(t, MC_DB_TXS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, start, sizeof(start), &k, &kn, &v, &vn, err); rc == 0 && !*found;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_tx tx;
		struct mc_enroll e;

		if (kn != sizeof(start) || mc_from_be64(k) != id.enrolled)
			break;
		if (mc_tx_decode(v, vn, &tx, err) != 0) {
			rc = -1;
			break;
		}
		if (tx.type == MC_TX_IDENTITY_ENROLL && mc_enroll_decode(tx.body, tx.body_len, &e, NULL) == 0 &&
		    memcmp(e.pk, pk, MC_PK_LEN) == 0) {
			memcpy(out, tx.author, MC_PK_LEN);
			*found = memcmp(tx.author, pk, MC_PK_LEN) != 0;   /* genesis: self-signed */
		}
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* Who last put identity pk in someone's hands: the admin who rotated the
 * identity to pk, or (pk enrolled as it is) who enrolled it. The window of
 * colleague_soon runs from that block: pk's enrolment height either way. */
static int placed_by(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], uint8_t out[MC_PK_LEN], bool *found,
		     struct mc_err *err)
{
	struct mc_rotation rot;
	int rc = mc_rotation_get(t, pk, &rot, err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return enroller_of(t, pk, out, found, err);
	memcpy(out, rot.author, MC_PK_LEN);
	*found = true;
	return 0;
}

/* Whether a patient-signed grant by patient identity `patient`, which
 * `enroller` enrolled, goes to a colleague of the enroller (an identity of
 * the enroller's own, non-empty organization, with a staff role, not the
 * enroller) within the window after the enrolment's block: how an operator
 * who made a patient identity with a key of their own would give a
 * colleague access. *after gets the delay. 1, 0 or -1. */
static int colleague_soon(struct mc_txn *t, const struct mc_alert_params *p, const uint8_t patient[MC_PK_LEN],
			  const uint8_t enroller[MC_PK_LEN], const struct mc_grant_state *gs,
			  const struct mc_grant *g, uint64_t *after, struct mc_err *err)
{
	struct mc_identity pat, by, to;
	struct mc_header h;
	struct mc_cert *cert;
	int rc;

	if (memcmp(enroller, g->grantee, MC_PK_LEN) == 0)
		return 0;
	if (mc_identity_get(t, patient, &pat, err) != 0 || mc_identity_get(t, enroller, &by, err) != 0)
		return -1;
	rc = mc_identity_get(t, g->grantee, &to, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!by.org[0] || strcmp(by.org, to.org) != 0 ||
	    !(to.roles & (MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_AUDITOR | MC_ROLE_REGISTRAR)))
		return 0;
	if (!(cert = malloc(sizeof(*cert))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = mc_chain_block(t, pat.enrolled, &h, cert, err);
	free(cert);
	if (rc != 0)
		return -1;
	*after = gs->granted_at > h.timestamp_ms ? gs->granted_at - h.timestamp_ms : 0;
	return *after <= p->enrolment_window_ms;
}

/* Whether staff put pk's identity in someone's hands: the admin who
 * enrolled it, or who rotated it (or a key it came from) to a new key.
 * Someone who made the first key, or submitted a rotation, may hold the
 * key that now signs. The staff member is a person too: any key their
 * identity held counts (a rotation of the enroller's own key moves a grant
 * to the new key, and an enroller may grant to it afterwards). */
static int enrolled_by(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], const uint8_t staff[MC_PK_LEN],
		       bool *match, struct mc_err *err)
{
	uint8_t cur[MC_PK_LEN], who[MC_PK_LEN];
	struct mc_key_line *sl = malloc(sizeof(*sl));
	bool found;
	int rc = 0;

	*match = false;
	if (!sl)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (mc_key_line(t, staff, sl, err) != 0) {
		free(sl);
		return -1;
	}
	memcpy(cur, pk, MC_PK_LEN);
	for (unsigned i = 0; i < MC_ROTATIONS_MAX && !*match; i++) {
		struct mc_rotation rot;

		rc = mc_rotation_get(t, cur, &rot, err);
		if (rc < 0)
			break;
		if (rc == MC_NOTFOUND) {
			rc = 0;
			break;
		}
		*match = mc_key_line_has(sl, rot.author);
		memcpy(cur, rot.old_pk, MC_PK_LEN);
	}
	if (rc == 0 && !*match) {
		rc = enroller_of(t, cur, who, &found, err);
		*match = rc == 0 && found && mc_key_line_has(sl, who);
	}
	free(sl);
	return rc < 0 ? -1 : 0;
}

/* Calls each(t, state, grant, ctx) for every grant (a scan of the grant
 * table: a hospital holds thousands of grants, not millions); each returns
 * 1 to stop, 0 to go on, -1 on error. Returns what stopped it, or 0. */
static int each_grant(struct mc_txn *t,
		      int (*each)(struct mc_txn *, const struct mc_grant_state *, const struct mc_grant *,
				  void *, struct mc_err *),
		      void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc, stop = 0;

	if (mc_cursor_open(t, MC_DB_GRANTS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, NULL, NULL, err); rc == 0 && !stop;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		struct mc_grant_state gs;
		struct mc_grant g;

		if (kn != MC_GRANT_ID_LEN || mc_grant_state_get(t, k, &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &g, err) != 0) {
			rc = -1;
			break;
		}
		stop = each(t, &gs, &g, ctx, err);
		if (stop < 0) {
			rc = -1;
			break;
		}
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : stop;
}

struct grant_run {
	const struct mc_alert_params *p;
	mc_alert_fn fn;
	void *ctx;
};

static void grant_alert(struct mc_alert *al, unsigned kind, const struct mc_grant_state *gs,
			const struct mc_grant *g)
{
	memset(al, 0, sizeof(*al));
	al->kind = kind;
	al->height = gs->height;
	memcpy(al->actor, g->grantee, MC_PK_LEN);
	memcpy(al->subject, g->subject, MC_HASH_LEN);
	memcpy(al->grant, g->id, 16);
}

/* A grant that ends within the window. */
static int each_expiring(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g,
			 void *vctx, struct mc_err *err)
{
	struct grant_run *r = vctx;
	struct mc_alert al;

	(void)t;
	(void)err;
	if (gs->revoked_at != MC_TIME_OPEN || g->not_after == MC_TIME_OPEN ||
	    g->not_after < r->p->now_ms || g->not_after - r->p->now_ms > r->p->expiring_window_ms)
		return 0;
	grant_alert(&al, MC_ALERT_GRANT_EXPIRING, gs, g);
	al.time_ms = g->not_after;
	return r->fn(&al, r->ctx) ? 1 : 0;
}

/* A grant staff recorded from a consent form rather than the patient gave
 * with their own signature (revoked ones included), or a patient-signed
 * grant whose grantee is the staff member who enrolled that patient
 * identity: the way an operator who made a patient identity with a key of
 * their own would give themselves access. */
static int each_staff_grant(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g,
			    void *vctx, struct mc_err *err)
{
	struct grant_run *r = vctx;
	struct mc_alert al;
	unsigned kind = MC_ALERT_STAFF_GRANT;
	uint8_t enroller[MC_PK_LEN];
	uint64_t after = 0;

	if (g->attest_kind == MC_ATTEST_PATIENT_SIGNATURE) {
		bool match, found;
		int rc;

		if (enrolled_by(t, gs->grantor, g->grantee, &match, err) != 0)
			return -1;
		if (match) {
			kind = MC_ALERT_ENROLLER_GRANT;
		} else {
			if (placed_by(t, gs->grantor, enroller, &found, err) != 0)
				return -1;
			if (!found)
				return 0;
			rc = colleague_soon(t, r->p, gs->grantor, enroller, gs, g, &after, err);
			if (rc <= 0)
				return rc;
			kind = MC_ALERT_ENROLLER_COLLEAGUE_GRANT;
		}
	}
	grant_alert(&al, kind, gs, g);
	if (kind == MC_ALERT_ENROLLER_COLLEAGUE_GRANT) {
		memcpy(al.enroller, enroller, MC_PK_LEN);
		al.after_ms = after;
	}
	al.time_ms = gs->granted_at;
	memcpy(al.author, gs->grantor, MC_PK_LEN);
	al.revoked = gs->revoked_at != MC_TIME_OPEN;
	return r->fn(&al, r->ctx) ? 1 : 0;
}

/* The lost-key-rotation alert of one rotation row. */
/* The time of block h: the block being applied is not stored yet, and
 * verify's replay keeps the blocks in the real store (ax->blocks). */
static int block_time(struct mc_txn *t, const struct mc_apply_ctx *ax, uint64_t h, uint64_t *ms,
		      struct mc_err *err)
{
	struct mc_header hd;
	struct mc_cert *cert;
	int rc;

	if (ax && h == ax->height) {
		*ms = ax->block_time_ms;
		return 0;
	}
	if (!(cert = malloc(sizeof(*cert))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = mc_chain_block(ax && ax->blocks ? ax->blocks : t, h, &hd, cert, err);
	free(cert);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_DATAERR, _("block %llu is missing"), (unsigned long long)h);
	if (rc != 0)
		return -1;
	*ms = hd.timestamp_ms;
	return 0;
}

static int lost_key_alert(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_rotation *rot,
			  struct mc_alert *al, struct mc_err *err)
{
	struct mc_identity id;
	uint64_t ms;
	int rc;

	if (block_time(t, ax, rot->height, &ms, err) != 0)
		return -1;
	memset(al, 0, sizeof(*al));
	al->kind = MC_ALERT_LOST_KEY_ROTATION;
	al->time_ms = ms;
	al->height = rot->height;
	al->tx_index = rot->tx_index;
	memcpy(al->actor, rot->new_pk, MC_PK_LEN);
	memcpy(al->old_pk, rot->old_pk, MC_PK_LEN);
	memcpy(al->author, rot->author, MC_PK_LEN);
	rc = mc_identity_get(t, rot->new_pk, &id, err);
	if (rc < 0)
		return -1;
	if (rc == 0 && id.has_subject)
		memcpy(al->subject, id.subject, MC_HASH_LEN);
	al->revoked = rc == 0 && id.revoked != MC_NOT_REVOKED;
	return 0;
}

/* Calls each(t, alert, ctx, err) with the alert of every rotation an
 * admin made without the old key's signature (the way an insider would
 * move someone's access to a key of their own), in new key order; each
 * returns 1 to stop, 0 to go on, -1 on error. ax: as lost_key_alert. */
static int each_lost_key(struct mc_txn *t, const struct mc_apply_ctx *ax,
			 int (*each)(struct mc_txn *, const struct mc_rotation *, struct mc_alert *, void *,
				     struct mc_err *),
			 void *ctx, struct mc_err *err)
{
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc, stop = 0;

	if (mc_cursor_open(t, MC_DB_ROTATIONS, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0 && !stop;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_rotation rot;
		struct mc_alert al;

		if (kn != MC_PK_LEN || mc_rotation_decode(k, v, vn, &rot, err) != 0) {
			rc = -1;
			break;
		}
		if (rot.kind != MC_ROTATE_LOST_KEY)
			continue;
		if (lost_key_alert(t, ax, &rot, &al, err) != 0 || (stop = each(t, &rot, &al, ctx, err)) < 0) {
			rc = -1;
			break;
		}
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : stop;
}

struct lost_key_run {
	mc_alert_fn fn;
	void *ctx;
};

static int lost_key_to_caller(struct mc_txn *t, const struct mc_rotation *rot, struct mc_alert *al, void *vctx,
			      struct mc_err *err)
{
	struct lost_key_run *r = vctx;

	(void)t;
	(void)rot;
	(void)err;
	return r->fn(al, r->ctx) ? 1 : 0;
}

static int lost_key_alerts(struct mc_txn *t, mc_alert_fn fn, void *ctx, struct mc_err *err)
{
	struct lost_key_run r = { fn, ctx };

	return each_lost_key(t, NULL, lost_key_to_caller, &r, err);
}

static int alerts_run(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
		      struct mc_err *err)
{
	struct run r = { fn, ctx, NULL, 0, 0 };
	int rc;

	if (p->check_verify && (rc = verify_alerts(t, p, fn, ctx, err)) != 0)
		return rc < 0 ? -1 : 0;
	if ((rc = state_alerts(t, p, fn, ctx, err)) != 0)
		return rc < 0 ? -1 : 0;
	rc = scan_outcome(t, MC_OUTCOME_BREAK_GLASS,
			  p->now_ms > p->break_glass_window_ms ? p->now_ms - p->break_glass_window_ms : 0,
			  each_glass, &r, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = scan_outcome(t, MC_OUTCOME_DENY,
			  p->now_ms > p->deny_window_ms ? p->now_ms - p->deny_window_ms : 0, each_deny,
			  &r, err);
	if (rc < 0) {
		free(r.b);
		return -1;
	}
	if (r.nb)
		qsort(r.b, r.nb, sizeof(*r.b), cmp_burst);
	for (size_t i = 0; i < r.nb; i++) {
		struct mc_alert al;

		if (r.b[i].count < p->deny_burst)
			continue;
		memset(&al, 0, sizeof(al));
		al.kind = MC_ALERT_DENY_BURST;
		al.time_ms = r.b[i].last_ms;
		al.height = r.b[i].height;
		al.tx_index = r.b[i].tx_index;
		memcpy(al.actor, r.b[i].actor, MC_PK_LEN);
		al.count = r.b[i].count;
		if (fn(&al, ctx)) {
			free(r.b);
			return 0;
		}
	}
	free(r.b);
	/* grants ending soon, then grants recorded by staff */
	{
		struct grant_run gr = { p, fn, ctx };

		rc = each_grant(t, each_expiring, &gr, err);
		if (rc == 0)
			rc = each_grant(t, each_staff_grant, &gr, err);
	}
	if (rc == 0)
		rc = lost_key_alerts(t, fn, ctx, err);
	return rc < 0 ? -1 : 0;
}

int mc_alerts(struct mc_txn *t, const struct mc_alert_params *p, mc_alert_fn fn, void *ctx,
	      struct mc_err *err)
{
	struct gate g = { t, p, fn, ctx, err, false };
	int rc = alerts_run(t, p, gate_fn, &g, err);

	return rc < 0 || g.failed ? -1 : 0;
}

/* ---- the fact behind an acknowledged id (ALERT_ACK's rule) -------------- */

struct fact_run {
	const struct mc_apply_ctx *ax;
	uint8_t kind;
	const uint8_t *id;
	struct mc_alert_fact *f;
	bool have_last;              /* the last block's time read: events */
	uint64_t last_h, last_ms;    /* come in runs of one block */
};

static void fact_party(struct mc_alert_fact *f, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < f->nparties; i++)
		if (memcmp(f->parties[i], pk, MC_PK_LEN) == 0)
			return;
	if (f->nparties < MC_ALERT_PARTIES_MAX)
		memcpy(f->parties[f->nparties++], pk, MC_PK_LEN);
}

/* 1 and the fact's parties when al has the id, else 0 */
static int fact_match(struct fact_run *r, const struct mc_alert *al)
{
	uint8_t id[MC_ALERT_ID_LEN];

	mc_alert_id(al, id);
	if (memcmp(id, r->id, MC_ALERT_ID_LEN) != 0)
		return 0;
	r->f->found = true;
	return 1;
}

/* a break-glass read, or any denial (a burst's id names its last one) */
static int fact_access(struct mc_txn *t, struct fact_run *r, uint64_t h, uint32_t ti, struct mc_err *err)
{
	struct mc_tx tx;
	struct mc_access a;
	struct mc_alert al;
	uint64_t ts;

	if (load_access(t, h, ti, &tx, &a, err) != 0)
		return -1;
	if (!r->have_last || r->last_h != h) {
		if (block_time(t, r->ax, h, &r->last_ms, err) != 0)
			return -1;
		r->last_h = h;
		r->have_last = true;
	}
	ts = r->last_ms;
	memset(&al, 0, sizeof(al));
	al.kind = r->kind;
	al.time_ms = ts;
	al.height = h;
	al.tx_index = ti;
	memcpy(al.actor, tx.author, MC_PK_LEN);
	if (r->kind == MC_ALERT_BREAK_GLASS) {
		memcpy(al.subject, a.subject, MC_HASH_LEN);
		memcpy(al.record, a.record, 16);
	}
	if (!fact_match(r, &al))
		return 0;
	fact_party(r->f, tx.author);
	return 1;
}

/* every event with the outcome, oldest first */
static int fact_accesses(struct mc_txn *t, struct fact_run *r, uint8_t outcome, struct mc_err *err)
{
	uint8_t start[13] = { outcome };
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc, vr = 0;

	if (mc_cursor_open(t, MC_DB_AUDIT_OUTCOME, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, start, sizeof(start), &k, &kn, NULL, NULL, err); rc == 0 && vr == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		const uint8_t *kb = k;

		if (kn != 13 || kb[0] != outcome)
			break;
		vr = fact_access(t, r, mc_from_be64(kb + 1), mc_from_be32(kb + 9), err);
	}
	mc_cursor_close(c);
	return rc < 0 || vr < 0 ? -1 : 0;
}

static int fact_grant(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g, void *vctx,
		      struct mc_err *err)
{
	struct fact_run *r = vctx;
	struct mc_alert al;
	uint8_t enroller[MC_PK_LEN];
	bool found;

	grant_alert(&al, r->kind, gs, g);
	al.time_ms = r->kind == MC_ALERT_GRANT_EXPIRING ? g->not_after : gs->granted_at;
	if (!fact_match(r, &al))
		return 0;
	fact_party(r->f, gs->grantor);
	fact_party(r->f, g->grantee);
	if (enroller_of(t, gs->grantor, enroller, &found, err) != 0)
		return -1;
	if (found)
		fact_party(r->f, enroller);
	return 1;
}

static int fact_rotation_match(struct mc_txn *t, const struct mc_rotation *rot, struct mc_alert *al, void *vctx,
			       struct mc_err *err)
{
	struct fact_run *r = vctx;

	(void)t;
	(void)err;
	if (!fact_match(r, al))
		return 0;
	fact_party(r->f, rot->author);
	fact_party(r->f, rot->new_pk);
	return 1;
}

static int fact_rotation(struct mc_txn *t, struct fact_run *r, struct mc_err *err)
{
	return each_lost_key(t, r->ax, fact_rotation_match, r, err) < 0 ? -1 : 0;
}

int mc_alert_fact(struct mc_txn *t, const struct mc_apply_ctx *ax, uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN],
		  struct mc_alert_fact *f, struct mc_err *err)
{
	struct fact_run r = { ax, kind, id, f, false, 0, 0 };
	int rc = 0;

	memset(f, 0, sizeof(*f));
	switch (kind) {
	case MC_ALERT_BREAK_GLASS:
	case MC_ALERT_DENY_BURST:
		f->on_chain = true;
		rc = fact_accesses(t, &r, kind == MC_ALERT_BREAK_GLASS ? MC_OUTCOME_BREAK_GLASS : MC_OUTCOME_DENY, err);
		break;
	case MC_ALERT_GRANT_EXPIRING:
	case MC_ALERT_STAFF_GRANT:
	case MC_ALERT_ENROLLER_GRANT:
	case MC_ALERT_ENROLLER_COLLEAGUE_GRANT:
		f->on_chain = true;
		rc = each_grant(t, fact_grant, &r, err);
		break;
	case MC_ALERT_LOST_KEY_ROTATION:
		f->on_chain = true;
		rc = fact_rotation(t, &r, err);
		break;
	default:
		break;
	}
	return rc < 0 ? -1 : 0;
}

int mc_alert_fact_party(struct mc_txn *t, const struct mc_alert_fact *f, const uint8_t pk[MC_PK_LEN],
			bool *party, struct mc_err *err)
{
	struct mc_key_line l;

	*party = false;
	if (mc_key_line(t, pk, &l, err) != 0)
		return -1;
	for (size_t i = 0; i < f->nparties && !*party; i++)
		*party = mc_key_line_has(&l, f->parties[i]);
	return 0;
}
