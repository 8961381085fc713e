/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainstate.h"
#include "consent.h"
#include "i18n.h"
#include "identity.h"
#include "rectx.h"
#include "rotation.h"
#include "text.h"
#include "util.h"

/* The purpose vocabulary, by code: the one list of the machine names
 * (never translated) and their FHIR v3-ActReason codes. Every list of
 * purposes (parsing, messages, the console's forms, FHIR) comes from it. */
static const struct {
	const char *name;
	const char *fhir;
} purposes[] = {
	[MC_PURPOSE_TREATMENT] = { "treatment", "TREAT" },
	[MC_PURPOSE_PAYMENT] = { "payment", "HPAYMT" },
	[MC_PURPOSE_OPERATIONS] = { "operations", "HOPERAT" },
	[MC_PURPOSE_RESEARCH] = { "research", "HRESCH" },
	[MC_PURPOSE_PATIENT_REQUEST] = { "patient-request", "PATRQT" },
	[MC_PURPOSE_EMERGENCY] = { "emergency", "ETREAT" },
};

static const char *const outcome_names[] = {
	[MC_OUTCOME_PERMIT] = "permit",
	[MC_OUTCOME_DENY] = "deny",
	[MC_OUTCOME_BREAK_GLASS] = "break-glass",
};

_Static_assert(MC_ARRAY_LEN(purposes) == MC_PURPOSE_MAX + 1, "a purpose without a name");
_Static_assert(MC_ARRAY_LEN(outcome_names) == MC_OUTCOME_MAX + 1, "an outcome without a name");

const char *mc_purpose_name(unsigned p)
{
	return p >= 1 && p <= MC_PURPOSE_MAX ? purposes[p].name : NULL;
}

const char *mc_purpose_fhir_code(unsigned p)
{
	return p >= 1 && p <= MC_PURPOSE_MAX ? purposes[p].fhir : NULL;
}

const char *mc_outcome_name(unsigned o)
{
	return o >= 1 && o <= MC_OUTCOME_MAX ? outcome_names[o] : NULL;
}

void mc_names_join(char *out, size_t n, const char *(*name)(unsigned), unsigned last)
{
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 1; i <= last && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i > 1 ? ", " : "", name(i));
}

/* The code whose name(code) is s: 0; else -1, and all (n bytes, when
 * given) lists the names for the message. */
static int find(const char *s, const char *(*name)(unsigned), unsigned last, uint8_t *code, char *all, size_t n)
{
	for (unsigned i = 1; i <= last; i++) {
		if (strcmp(s, name(i)) == 0) {
			*code = (uint8_t)i;
			return 0;
		}
	}
	if (all)
		mc_names_join(all, n, name, last);
	return -1;
}

int mc_purpose_from_fhir_code(const char *code, uint8_t *p)
{
	return find(code, mc_purpose_fhir_code, MC_PURPOSE_MAX, p, NULL, 0);
}

int mc_purpose_parse(const char *s, uint8_t *p, struct mc_err *err)
{
	char all[128];

	return find(s, mc_purpose_name, MC_PURPOSE_MAX, p, all, sizeof(all)) == 0
		       ? 0 : mc_err_set(err, EX_USAGE, _("unknown purpose '%s' (purposes: %s)"), s, all);
}

int mc_outcome_parse(const char *s, uint8_t *o, struct mc_err *err)
{
	char all[64];

	return find(s, mc_outcome_name, MC_OUTCOME_MAX, o, all, sizeof(all)) == 0
		       ? 0 : mc_err_set(err, EX_USAGE, _("unknown outcome '%s' (outcomes: %s)"), s, all);
}

static const char *const deny_names[] = {
	"", "no-grant", "not-yet-valid", "expired", "revoked", "wrong-purpose", "out-of-scope",
	"actor-inactive", "role", "break-glass-refused",
};

const char *mc_deny_name(unsigned r)
{
	return r < MC_ARRAY_LEN(deny_names) ? deny_names[r] : "?";
}

const char *mc_deny_text(unsigned r)
{
	switch (r) {
	case MC_DENY_NO_GRANT: return _("no consent grant covers this reader");
	case MC_DENY_NOT_YET: return _("the consent grant is not valid yet");
	case MC_DENY_EXPIRED: return _("the consent grant has expired");
	case MC_DENY_REVOKED: return _("the consent grant was revoked");
	case MC_DENY_WRONG_PURPOSE: return _("the consent grant is for another purpose");
	case MC_DENY_OUT_OF_SCOPE: return _("the record is outside the consent grant's scope");
	case MC_DENY_ACTOR_INACTIVE: return _("the reader's identity is revoked");
	case MC_DENY_ROLE: return _("the reader's roles do not allow reading records");
	case MC_DENY_BREAK_GLASS_REFUSED: return _("only a clinician may break the glass");
	default: return "";
	}
}

/* ---- codecs --------------------------------------------------------------- */

void mc_grant_encode(const struct mc_grant *g, struct mc_buf *b)
{
	mc_put_raw(b, g->id, MC_GRANT_ID_LEN);
	mc_put_raw(b, g->subject, MC_HASH_LEN);
	mc_put_raw(b, g->grantee, MC_PK_LEN);
	mc_put_u8(b, g->purpose);
	mc_put_u64(b, g->not_before);
	mc_put_u64(b, g->not_after);
	mc_put_u8(b, g->all_categories ? 1 : 0);
	mc_put_u8(b, g->ncat);
	for (unsigned i = 0; i < g->ncat && i < MC_SCOPE_CATS_MAX; i++)
		mc_put_bytes(b, g->cat[i], g->cat_len[i]);
	mc_put_u16(b, g->nrec);
	mc_put_raw(b, g->recs, (size_t)g->nrec * MC_RECORD_ID_LEN);
	mc_put_u8(b, g->attest_kind);
	mc_put_bytes(b, g->attest, g->attest_len);
	mc_put_bytes(b, g->share, g->share_len);
}

void mc_share_encode(const struct mc_share *s, struct mc_buf *b)
{
	mc_put_raw(b, s->org, MC_PK_LEN);
	mc_put_u32(b, s->epoch);
	mc_put_raw(b, s->kek_hash, MC_HASH_LEN);
	mc_put_u32(b, s->count);
	mc_put_raw(b, s->items, (size_t)s->count * MC_SHARE_ITEM_LEN);
}

int mc_share_decode(const uint8_t *p, size_t n, struct mc_share *s, struct mc_err *err)
{
	struct mc_rd r;

	memset(s, 0, sizeof(*s));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, s->org, MC_PK_LEN);
	s->epoch = mc_get_u32(&r);
	mc_get_raw(&r, s->kek_hash, MC_HASH_LEN);
	s->count = mc_get_u32(&r);
	if (!mc_rd_ok(&r) || s->count > MC_SHARE_MAX)
		return mc_err_set(err, EX_DATAERR, _("malformed share"));
	s->items = mc_get_view(&r, (size_t)s->count * MC_SHARE_ITEM_LEN);
	if (!mc_rd_finish(&r))
		return mc_err_set(err, EX_DATAERR, _("malformed share"));
	return 0;
}

int mc_grant_decode(const uint8_t *p, size_t n, struct mc_grant *g, struct mc_err *err)
{
	struct mc_rd r;
	uint8_t flags;

	memset(g, 0, sizeof(*g));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, g->id, MC_GRANT_ID_LEN);
	mc_get_raw(&r, g->subject, MC_HASH_LEN);
	mc_get_raw(&r, g->grantee, MC_PK_LEN);
	g->purpose = mc_get_u8(&r);
	g->not_before = mc_get_u64(&r);
	g->not_after = mc_get_u64(&r);
	flags = mc_get_u8(&r);
	g->ncat = mc_get_u8(&r);
	if (!mc_rd_ok(&r) || g->ncat > MC_SCOPE_CATS_MAX || (flags & ~1u))
		return mc_err_set(err, EX_DATAERR, _("malformed consent grant"));
	g->all_categories = flags & 1;
	for (unsigned i = 0; i < g->ncat; i++) {
		g->cat[i] = mc_get_bytes(&r, MC_CATEGORY_MAX, &g->cat_len[i]);
		if (g->cat[i] && !mc_token_valid(g->cat[i], g->cat_len[i], MC_CATEGORY_MAX))
			return mc_err_set(err, EX_DATAERR, _("malformed consent grant"));
	}
	g->nrec = mc_get_u16(&r);
	if (g->nrec > MC_SCOPE_RECS_MAX)
		return mc_err_set(err, EX_DATAERR, _("malformed consent grant"));
	g->recs = mc_get_view(&r, (size_t)g->nrec * MC_RECORD_ID_LEN);
	g->attest_kind = mc_get_u8(&r);
	g->attest = mc_get_bytes(&r, MC_ATTEST_MAX, &g->attest_len);
	g->share = mc_get_bytes(&r, MC_HASH_LEN, &g->share_len);
	if (!mc_rd_finish(&r) || (g->share_len != 0 && g->share_len != MC_HASH_LEN))
		return mc_err_set(err, EX_DATAERR, _("malformed consent grant"));
	if (!mc_purpose_name(g->purpose))
		return mc_err_set(err, EX_DATAERR, _("consent grant with an unknown purpose"));
	if (g->not_after < g->not_before)
		return mc_err_set(err, EX_DATAERR, _("consent grant ends before it begins"));
	if (!g->all_categories && g->ncat == 0 && g->nrec == 0)
		return mc_err_set(err, EX_DATAERR, _("consent grant with an empty scope"));
	if ((g->attest_kind != MC_ATTEST_PATIENT_SIGNATURE && g->attest_kind != MC_ATTEST_CONSENT_FORM) ||
	    g->attest_len == 0 || !mc_text_clean(g->attest, g->attest_len))
		return mc_err_set(err, EX_DATAERR, _("consent grant without a valid attestation"));
	return 0;
}

void mc_consent_revoke_encode(const struct mc_consent_revoke *r, struct mc_buf *b)
{
	mc_put_raw(b, r->id, MC_GRANT_ID_LEN);
	mc_put_bytes(b, r->reason, r->reason_len);
}

int mc_consent_revoke_decode(const uint8_t *p, size_t n, struct mc_consent_revoke *out,
			     struct mc_err *err)
{
	struct mc_rd r;

	memset(out, 0, sizeof(*out));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, out->id, MC_GRANT_ID_LEN);
	out->reason = mc_get_bytes(&r, MC_REASON_MAX, &out->reason_len);
	if (!mc_rd_finish(&r) || out->reason_len == 0 || !mc_text_clean(out->reason, out->reason_len))
		return mc_err_set(err, EX_DATAERR, _("malformed consent revocation"));
	return 0;
}

void mc_access_encode(const struct mc_access *a, struct mc_buf *b)
{
	mc_put_raw(b, a->record, MC_RECORD_ID_LEN);
	mc_put_u32(b, a->version);
	mc_put_raw(b, a->subject, MC_HASH_LEN);
	mc_put_u8(b, a->purpose);
	mc_put_u8(b, a->outcome);
	mc_put_raw(b, a->grant, MC_GRANT_ID_LEN);
	mc_put_u8(b, a->reason);
	mc_put_bytes(b, a->glass, a->glass_len);
	if (a->has_attempt)
		mc_put_raw(b, a->attempt, MC_ACCESS_ATTEMPT_LEN);
}

int mc_access_decode(const uint8_t *p, size_t n, struct mc_access *a, struct mc_err *err)
{
	struct mc_rd r;

	memset(a, 0, sizeof(*a));
	mc_rd_init(&r, p, n);
	mc_get_raw(&r, a->record, MC_RECORD_ID_LEN);
	a->version = mc_get_u32(&r);
	mc_get_raw(&r, a->subject, MC_HASH_LEN);
	a->purpose = mc_get_u8(&r);
	a->outcome = mc_get_u8(&r);
	mc_get_raw(&r, a->grant, MC_GRANT_ID_LEN);
	a->reason = mc_get_u8(&r);
	a->glass = mc_get_bytes(&r, MC_REASON_MAX, &a->glass_len);
	if (mc_rd_ok(&r) && r.left == MC_ACCESS_ATTEMPT_LEN) {
		mc_get_raw(&r, a->attempt, MC_ACCESS_ATTEMPT_LEN);
		a->has_attempt = true;
	}
	if (!mc_rd_finish(&r) || !mc_purpose_name(a->purpose) || !mc_outcome_name(a->outcome) ||
	    a->reason >= MC_ARRAY_LEN(deny_names) || a->version == 0 ||
	    !mc_text_clean(a->glass, a->glass_len))
		return mc_err_set(err, EX_DATAERR, _("malformed access event"));
	return 0;
}

/* ---- the decision ------------------------------------------------------------ */

bool mc_grant_covers(const struct mc_grant *g, const uint8_t id[MC_RECORD_ID_LEN],
		     const uint8_t *category, size_t category_len)
{
	if (g->all_categories)
		return true;
	for (unsigned i = 0; i < g->ncat; i++)
		if (g->cat_len[i] == category_len && memcmp(g->cat[i], category, category_len) == 0)
			return true;
	for (unsigned i = 0; i < g->nrec; i++)
		if (memcmp(g->recs + (size_t)i * MC_RECORD_ID_LEN, id, MC_RECORD_ID_LEN) == 0)
			return true;
	return false;
}

static bool in_scope(const struct mc_grant *g, const struct mc_access_req *req)
{
	return mc_grant_covers(g, req->record, req->category, req->category_len);
}

/* How close a grant came, to name the most useful reason: a grant that
 * fails only on time says more than one for another purpose. */
static unsigned rank(unsigned reason)
{
	switch (reason) {
	case MC_DENY_REVOKED: return 4;
	case MC_DENY_EXPIRED: return 4;
	case MC_DENY_NOT_YET: return 4;
	case MC_DENY_OUT_OF_SCOPE: return 3;
	case MC_DENY_WRONG_PURPOSE: return 2;
	default: return 1;
	}
}

void mc_consent_check(const struct mc_grant_view *grants, size_t n,
		      const struct mc_access_req *req, struct mc_decision *out)
{
	unsigned best = MC_DENY_NO_GRANT;
	uint64_t best_at = 0;

	memset(out, 0, sizeof(*out));
	out->outcome = MC_OUTCOME_DENY;
	if (!req->actor_active) {
		out->reason = MC_DENY_ACTOR_INACTIVE;
		return;
	}
	if (req->break_glass) {
		if (req->actor_roles & MC_ROLE_CLINICIAN) {
			out->outcome = MC_OUTCOME_BREAK_GLASS;
			out->reason = MC_DENY_NONE;
		} else {
			out->reason = MC_DENY_BREAK_GLASS_REFUSED;
		}
		return;
	}
	if (req->actor_is_author) {
		out->outcome = MC_OUTCOME_PERMIT;
		out->reason = MC_DENY_NONE;
		return;
	}
	/* Readers of records: clinicians, admins (with a grant), patients. An
	 * auditor reads the audit trail only; nodes and anchor keys read nothing. */
	if (!(req->actor_roles & (MC_ROLE_CLINICIAN | MC_ROLE_ADMIN | MC_ROLE_PATIENT))) {
		out->reason = MC_DENY_ROLE;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mc_grant *g = &grants[i].g;
		unsigned why = MC_DENY_NONE;

		if (g->purpose != req->purpose)
			why = MC_DENY_WRONG_PURPOSE;
		else if (!in_scope(g, req))
			why = MC_DENY_OUT_OF_SCOPE;
		else if (grants[i].revoked_at <= req->time_ms)
			why = MC_DENY_REVOKED;
		else if (req->time_ms < g->not_before)
			why = MC_DENY_NOT_YET;
		else if (req->time_ms > g->not_after)
			why = MC_DENY_EXPIRED;
		if (why == MC_DENY_NONE) {
			/* The first permitting grant in id order: deterministic. */
			if (out->outcome != MC_OUTCOME_PERMIT ||
			    memcmp(g->id, out->grant, MC_GRANT_ID_LEN) < 0) {
				out->outcome = MC_OUTCOME_PERMIT;
				out->reason = MC_DENY_NONE;
				memcpy(out->grant, g->id, MC_GRANT_ID_LEN);
			}
		} else if (rank(why) > rank(best) ||
			   (rank(why) == rank(best) && grants[i].granted_at > best_at)) {
			best = why;
			best_at = grants[i].granted_at;
		}
	}
	if (out->outcome != MC_OUTCOME_PERMIT)
		out->reason = (uint8_t)best;
}

/* ---- on the chain: grant rows, the rules and the access decision ------ */

/* Whether actor is pk, or pk's identity rotated (once or more) to actor. */
static int same_holder_line(struct mc_txn *t, const uint8_t pk[MC_PK_LEN], const uint8_t actor[MC_PK_LEN],
			    bool *same, struct mc_err *err)
{
	struct mc_key_line l;

	*same = false;
	if (mc_key_line(t, actor, &l, err) != 0)
		return -1;
	*same = mc_key_line_has(&l, pk);
	return 0;
}

/* The grant row's body with its grantee replaced: the row holds the grant
 * as it stands (the CONSENT_GRANT tx keeps the grant as given). The grantee
 * sits at a fixed offset of the body: grant id (16) | subject (32) | grantee. */
#define GRANT_GRANTEE_OFF (MC_GRANT_ID_LEN + MC_HASH_LEN)

/* Every grant to old that is not revoked and has not ended by the block's
 * time names new from now on: its row and its index entry move. */
int mc_consent_move_grants(struct mc_txn *t, const struct mc_apply_ctx *ax, const uint8_t old[MC_PK_LEN],
			   const uint8_t new_pk[MC_PK_LEN], struct mc_err *err)
{
	enum { IKEY = MC_HASH_LEN + MC_PK_LEN + MC_GRANT_ID_LEN };
	struct mc_cursor *c;
	const void *k;
	size_t kn, n = 0, cap = 0;
	uint8_t *keys = NULL;
	int rc;

	/* collect first: the index is rewritten below */
	if (mc_cursor_open(t, MC_DB_GRANTIDX, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, NULL, NULL, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		if (kn != IKEY || memcmp((const uint8_t *)k + MC_HASH_LEN, old, MC_PK_LEN) != 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint8_t *p = realloc(keys, ncap * IKEY);

			if (!p) {
				rc = mc_err_set(err, EX_OSERR, _("out of memory"));
				break;
			}
			keys = p;
			cap = ncap;
		}
		memcpy(keys + n * IKEY, k, IKEY);
		n++;
	}
	mc_cursor_close(c);
	if (rc < 0) {
		free(keys);
		return -1;
	}
	for (size_t i = 0; i < n && rc >= 0; i++) {
		uint8_t *ik = keys + i * IKEY;
		struct mc_grant_state gs;
		struct mc_grant g;
		struct mc_buf copy;

		if (mc_grant_state_get(t, ik + MC_HASH_LEN + MC_PK_LEN, &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &g, err) != 0) {
			rc = mc_err_set(err, EX_DATAERR, _("the grant index names a missing grant"));
			break;
		}
		if (gs.revoked_at != MC_TIME_OPEN || g.not_after < ax->block_time_ms)
			continue;
		mc_buf_init(&copy);
		mc_put_raw(&copy, gs.body, gs.body_len);
		if (mc_buf_failed(&copy)) {
			mc_buf_release(&copy);
			rc = mc_err_set(err, EX_OSERR, _("out of memory"));
			break;
		}
		memcpy(copy.data + GRANT_GRANTEE_OFF, new_pk, MC_PK_LEN);
		gs.body = copy.data;
		rc = mc_grant_state_put(t, ik + MC_HASH_LEN + MC_PK_LEN, &gs, err);
		mc_buf_release(&copy);
		if (rc != 0 || mc_txn_del(t, MC_DB_GRANTIDX, ik, IKEY, err) != 0) {
			rc = -1;
			break;
		}
		memcpy(ik + MC_HASH_LEN, new_pk, MC_PK_LEN);
		if (mc_txn_put(t, MC_DB_GRANTIDX, ik, IKEY, "", 0, err) != 0)
			rc = -1;
	}
	free(keys);
	return rc < 0 ? -1 : 0;
}

#define GRANT_ROW_FIXED (8 + 8 + 8 + 8 + MC_PK_LEN)

int mc_grant_state_get(struct mc_txn *t, const uint8_t id[16], struct mc_grant_state *gs,
		       struct mc_err *err)
{
	const void *v;
	size_t vn;
	const uint8_t *b;
	int rc = mc_txn_get(t, MC_DB_GRANTS, id, MC_GRANT_ID_LEN, &v, &vn, err);

	if (rc != 0)
		return rc;
	if (vn <= GRANT_ROW_FIXED)
		return mc_err_set(err, EX_DATAERR, _("malformed grant state"));
	b = v;
	gs->height = mc_from_be64(b);
	gs->granted_at = mc_from_be64(b + 8);
	gs->revoked_height = mc_from_be64(b + 16);
	gs->revoked_at = mc_from_be64(b + 24);
	memcpy(gs->grantor, b + 32, MC_PK_LEN);
	gs->body = b + GRANT_ROW_FIXED;
	gs->body_len = vn - GRANT_ROW_FIXED;
	return 0;
}

int mc_grant_state_put(struct mc_txn *t, const uint8_t id[16], const struct mc_grant_state *gs,
		       struct mc_err *err)
{
	uint8_t *row;

	if (mc_txn_reserve(t, MC_DB_GRANTS, id, MC_GRANT_ID_LEN, GRANT_ROW_FIXED + gs->body_len,
			   (void **)&row, err) != 0)
		return -1;
	mc_be64(row, gs->height);
	mc_be64(row + 8, gs->granted_at);
	mc_be64(row + 16, gs->revoked_height);
	mc_be64(row + 24, gs->revoked_at);
	memcpy(row + 32, gs->grantor, MC_PK_LEN);
	memmove(row + GRANT_ROW_FIXED, gs->body, gs->body_len);
	return 0;
}

int mc_consent_load(struct mc_txn *t, const uint8_t subject[MC_HASH_LEN],
		    const uint8_t grantee[MC_PK_LEN], struct mc_grant_view *views, size_t max,
		    size_t *n, struct mc_err *err)
{
	uint8_t prefix[MC_HASH_LEN + MC_PK_LEN];
	struct mc_cursor *c;
	const void *k;
	size_t kn;
	int rc;

	*n = 0;
	memcpy(prefix, subject, MC_HASH_LEN);
	memcpy(prefix + MC_HASH_LEN, grantee, MC_PK_LEN);
	if (mc_cursor_open(t, MC_DB_GRANTIDX, &c, err) != 0)
		return -1;
	for (rc = mc_cursor_seek(c, prefix, sizeof(prefix), &k, &kn, NULL, NULL, err);
	     rc == 0 && kn == sizeof(prefix) + MC_GRANT_ID_LEN && memcmp(k, prefix, sizeof(prefix)) == 0;
	     rc = mc_cursor_next(c, &k, &kn, NULL, NULL, err)) {
		struct mc_grant_state gs;

		if (*n >= max) {
			mc_cursor_close(c);
			return mc_err_set(err, EX_DATAERR, _("too many grants for one subject and grantee"));
		}
		if (mc_grant_state_get(t, (const uint8_t *)k + sizeof(prefix), &gs, err) != 0 ||
		    mc_grant_decode(gs.body, gs.body_len, &views[*n].g, err) != 0) {
			mc_cursor_close(c);
			return mc_err_set(err, EX_DATAERR, _("the grant index names a missing grant"));
		}
		views[*n].revoked_at = gs.revoked_at;
		views[*n].granted_at = gs.granted_at;
		(*n)++;
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

/* A grant to another organization's identity carries that organization's
 * re-wrapped data keys: every one must be a live version of the grant's
 * subject within its scope, stored as committed. */
static int check_share(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
		       const struct mc_grant *g, const struct mc_identity *grantee, struct mc_err *err)
{
	struct mc_share sh;
	struct mc_identity org;
	uint8_t h[MC_HASH_LEN];
	int rc;

	if (!tx->attach_len)
		return mc_refuse(err, ax, _("a grant that shares keys must carry them"));
	mc_sha256(tx->attach, tx->attach_len, h);
	if (memcmp(h, g->share, MC_HASH_LEN) != 0)
		return mc_refuse(err, ax, _("the shared keys do not match the grant"));
	if (mc_share_decode(tx->attach, tx->attach_len, &sh, err) != 0)
		return mc_refuse_body(err, ax);
	rc = mc_identity_get(t, sh.org, &org, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || !(org.roles & MC_ROLE_ORG) || org.revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("keys may be shared only with an active organization"));
	if (strcmp(grantee->org, org.name) != 0)
		return mc_refuse(err, ax, _("the grantee does not belong to the organization the keys are shared with"));
	if (!ax->replay) {
		rc = mc_kek_hash(t, sh.org, sh.epoch, h, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND || memcmp(h, sh.kek_hash, MC_HASH_LEN) != 0)
			return mc_refuse(err, ax, _("the shared key-encryption key is missing or differs"));
	}
	for (uint32_t i = 0; i < sh.count; i++) {
		const uint8_t *it = sh.items + (size_t)i * MC_SHARE_ITEM_LEN;
		struct mc_record_state rs;

		rc = mc_record_version(t, it, mc_from_be32(it + MC_RECORD_ID_LEN), &rs, err);
		if (rc < 0)
			return -1;
		if (rc == MC_NOTFOUND || rs.erased ||
		    memcmp(rs.entry.subject, g->subject, MC_HASH_LEN) != 0 ||
		    !mc_grant_covers(g, rs.entry.id, rs.entry.category, rs.entry.category_len))
			return mc_refuse(err, ax, _("a shared key is not of a live record in the grant's scope"));
		if (!ax->replay) {
			uint8_t wkey[MC_LOC_LEN + MC_PK_LEN];
			const void *v;
			size_t vn;

			mc_loc_key(wkey, rs.height, rs.tx_index, rs.entry_index);
			memcpy(wkey + MC_LOC_LEN, sh.org, MC_PK_LEN);
			rc = mc_txn_get(t, MC_DB_KEYWRAP, wkey, sizeof(wkey), &v, &vn, err);
			if (rc < 0)
				return -1;
			if (rc == MC_NOTFOUND && ax->partial)
				continue;
			mc_sha256(v, rc == 0 ? vn : 0, h);
			if (rc == MC_NOTFOUND || memcmp(h, it + MC_RECORD_ID_LEN + 4, MC_HASH_LEN) != 0)
				return mc_refuse(err, ax, _("a shared key is missing or differs from the grant"));
		}
	}
	return 0;
}

/* Staff grant on the strength of a signed consent form; a patient grants
 * for their own subject, and their signature on this tx is the
 * attestation. From block version 2 on, consent is given by the patient or
 * recorded for them by staff whose role records consent forms (admin,
 * registrar): nobody grants to themself, and a clinician grants to nobody.
 * Older blocks keep the rule of their time. */
static int grant_author_ok(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			   const struct mc_grant *g, struct mc_err *err)
{
	struct mc_identity author;
	uint32_t staff = mc_rules_consent_v2(ax) ? MC_ROLES_CONSENT_STAFF
						 : MC_ROLE_ADMIN | MC_ROLE_CLINICIAN;

	if (mc_rules_consent_v2(ax)) {
		if (memcmp(g->grantee, tx->author, MC_PK_LEN) == 0)
			return mc_refuse_perm(err, ax, _("an identity cannot grant consent to itself"));
		if (mc_author_active(t, ax, tx->author, 0, err) != 0)
			return -1;
	} else if (mc_author_active(t, ax, tx->author,
				    MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT, err) != 0) {
		return -1;
	}
	if (mc_identity_get(t, tx->author, &author, err) != 0)
		return -1;
	if (!(author.roles & (staff | MC_ROLE_PATIENT)))
		return mc_refuse_perm(err, ax, _("only the patient, or staff who record consent forms (admin, registrar), may grant consent"));
	if (author.roles & staff) {
		if (g->attest_kind != MC_ATTEST_CONSENT_FORM)
			return mc_refuse(err, ax, _("a staff grant must reference the signed consent form"));
	} else {
		if (g->attest_kind != MC_ATTEST_PATIENT_SIGNATURE)
			return mc_refuse(err, ax, _("a patient's grant is attested by the patient's signature"));
		if (!author.has_subject || memcmp(author.subject, g->subject, MC_HASH_LEN) != 0)
			return mc_refuse_perm(err, ax, _("a patient grants only for their own records"));
	}
	return 0;
}

/* The grantee is active, the grant id new, and the subject has given the
 * grantee fewer than MC_GRANTS_PER_PAIR_MAX grants. */
static int grant_fits(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_grant *g,
		      struct mc_identity *grantee, struct mc_err *err)
{
	struct mc_grant_state old;
	struct mc_grant_view *all;
	size_t n = 0;
	int rc = mc_identity_get(t, g->grantee, grantee, err);

	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND || grantee->revoked != MC_NOT_REVOKED)
		return mc_refuse(err, ax, _("the grantee is not an active identity"));
	rc = mc_grant_state_get(t, g->id, &old, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return mc_refuse(err, ax, _("the grant id is already in use"));
	all = malloc(MC_GRANTS_PER_PAIR_MAX * sizeof(*all));
	if (!all)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	rc = mc_consent_load(t, g->subject, g->grantee, all, MC_GRANTS_PER_PAIR_MAX, &n, err);
	free(all);
	if (rc != 0)
		return -1;
	if (n >= MC_GRANTS_PER_PAIR_MAX)
		return mc_refuse(err, ax, _("too many grants for one subject and grantee"));
	return 0;
}

int mc_consent_apply_grant(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			   struct mc_err *err)
{
	struct mc_grant g;
	struct mc_grant_state gs;
	struct mc_identity grantee;
	uint8_t ikey[MC_HASH_LEN + MC_PK_LEN + MC_GRANT_ID_LEN];

	if (mc_grant_decode(tx->body, tx->body_len, &g, err) != 0)
		return mc_refuse_body(err, ax);
	if (grant_author_ok(t, ax, tx, &g, err) != 0 || grant_fits(t, ax, &g, &grantee, err) != 0)
		return -1;
	if (g.share_len == MC_HASH_LEN) {
		if (check_share(t, ax, tx, &g, &grantee, err) != 0)
			return -1;
	} else if (tx->attach_len) {
		return mc_refuse(err, ax, _("unexpected attachment"));
	}
	memset(&gs, 0, sizeof(gs));
	gs.height = ax->height;
	gs.granted_at = ax->block_time_ms;
	gs.revoked_height = MC_TIME_OPEN;
	gs.revoked_at = MC_TIME_OPEN;
	memcpy(gs.grantor, tx->author, MC_PK_LEN);
	gs.body = tx->body;
	gs.body_len = tx->body_len;
	if (mc_grant_state_put(t, g.id, &gs, err) != 0)
		return -1;
	memcpy(ikey, g.subject, MC_HASH_LEN);
	memcpy(ikey + MC_HASH_LEN, g.grantee, MC_PK_LEN);
	memcpy(ikey + MC_HASH_LEN + MC_PK_LEN, g.id, MC_GRANT_ID_LEN);
	if (mc_txn_put(t, MC_DB_GRANTIDX, ikey, sizeof(ikey), "", 0, err) != 0)
		return -1;
	return mc_rules_audit_index(t, ax, tx, g.subject, 0, err);
}

int mc_consent_apply_revoke(struct mc_txn *t, const struct mc_apply_ctx *ax,
			    const struct mc_tx *tx, struct mc_err *err)
{
	struct mc_consent_revoke r;
	struct mc_grant_state gs;
	struct mc_grant g;
	uint8_t subject[MC_HASH_LEN];
	struct mc_buf copy;
	int rc;

	if (mc_consent_revoke_decode(tx->body, tx->body_len, &r, err) != 0)
		return mc_refuse_body(err, ax);
	if (mc_author_active(t, ax, tx->author,
			     mc_rules_consent_v2(ax) ? 0 : MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_PATIENT,
			     err) != 0)
		return -1;
	rc = mc_grant_state_get(t, r.id, &gs, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse(err, ax, _("no such grant"));
	if (gs.revoked_at != MC_TIME_OPEN)
		return mc_refuse(err, ax, _("the grant is already revoked"));
	if (mc_grant_decode(gs.body, gs.body_len, &g, err) != 0)
		return -1;
	memcpy(subject, g.subject, MC_HASH_LEN);
	{
		struct mc_identity author;

		bool own_subject;

		if (mc_identity_get(t, tx->author, &author, err) != 0)
			return -1;
		own_subject = (author.roles & MC_ROLE_PATIENT) && author.has_subject &&
			      memcmp(author.subject, subject, MC_HASH_LEN) == 0;
		if (mc_rules_consent_v2(ax)) {
			/* The patient, staff who record consent forms, or the
			 * grantee giving up their own grant. */
			if (!(author.roles & MC_ROLES_CONSENT_STAFF) && !own_subject &&
			    memcmp(g.grantee, tx->author, MC_PK_LEN) != 0)
				return mc_refuse_perm(err, ax, _("only the patient, staff who record consent forms (admin, registrar) or the grantee may revoke a grant"));
		} else if (!(author.roles & (MC_ROLE_ADMIN | MC_ROLE_CLINICIAN)) && !own_subject) {
			return mc_refuse_perm(err, ax, _("a patient revokes only grants for their own records"));
		}
	}
	/* gs.body points into the row about to be rewritten: copy it. */
	mc_buf_init(&copy);
	mc_put_raw(&copy, gs.body, gs.body_len);
	if (mc_buf_failed(&copy)) {
		mc_buf_release(&copy);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	gs.body = copy.data;
	gs.revoked_height = ax->height;
	gs.revoked_at = ax->block_time_ms;
	rc = mc_grant_state_put(t, r.id, &gs, err);
	mc_buf_release(&copy);
	if (rc != 0)
		return -1;
	return mc_rules_audit_index(t, ax, tx, subject, 0, err);
}

/* Recomputes the decision the ACCESS tx records, at this block's time. */
int mc_access_decide(struct mc_txn *t, const uint8_t actor[MC_PK_LEN],
		     const uint8_t record[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
		     bool break_glass, uint64_t time_ms, uint8_t subject_out[MC_HASH_LEN],
		     struct mc_decision *d, struct mc_err *err)
{
	struct mc_record_state rs;
	struct mc_identity id;
	struct mc_access_req req;
	struct mc_grant_view *views;
	size_t n = 0;
	int rc;

	rc = mc_record_version(t, record, version, &rs, err);
	if (rc != 0)
		return rc < 0 ? -1 : mc_err_set(err, EX_NOINPUT, _("no such record version"));
	if (rs.erased)
		return mc_err_set(err, EX_NOINPUT, _("the record is erased"));
	memset(&req, 0, sizeof(req));
	rc = mc_identity_get(t, actor, &id, err);
	if (rc < 0)
		return -1;
	req.actor_active = rc == 0 && id.revoked == MC_NOT_REVOKED;
	req.actor_roles = rc == 0 ? id.roles : 0;
	memcpy(req.record, record, MC_RECORD_ID_LEN);
	memcpy(subject_out, rs.entry.subject, MC_HASH_LEN);
	{
		/* Who stored this version: the author of its RECORD_PUT. */
		struct mc_tx put;

		rc = mc_record_tx(t, &rs, &put, NULL, err);
		if (rc != 0)
			return rc < 0 ? -1 : mc_err_set(err, EX_DATAERR, _("a record's transaction is missing"));
		/* the author, or the author's identity under a rotated key */
		if (same_holder_line(t, put.author, actor, &req.actor_is_author, err) != 0)
			return -1;
	}
	/* the category is copied: loading grants reads other rows */
	{
		uint8_t cat[MC_CATEGORY_MAX];
		size_t cl = rs.entry.category_len;

		memcpy(cat, rs.entry.category, cl);
		req.category = cat;
		req.category_len = cl;
		req.purpose = purpose;
		req.time_ms = time_ms;
		req.break_glass = break_glass;
		views = malloc(MC_GRANTS_PER_PAIR_MAX * sizeof(*views));
		if (!views)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		rc = mc_consent_load(t, subject_out, actor, views, MC_GRANTS_PER_PAIR_MAX, &n, err);
		if (rc == 0)
			mc_consent_check(views, n, &req, d);
		free(views);
	}
	return rc;
}

int mc_consent_apply_access(struct mc_txn *t, const struct mc_apply_ctx *ax, const struct mc_tx *tx,
			    struct mc_err *err)
{
	struct mc_access a;
	struct mc_decision d;
	struct mc_identity id;
	uint8_t subject[MC_HASH_LEN];
	int rc;

	if (mc_access_decode(tx->body, tx->body_len, &a, err) != 0)
		return mc_refuse_body(err, ax);
	/* Any enrolled identity's attempt is recorded, a revoked one's too. */
	rc = mc_identity_get(t, tx->author, &id, err);
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND)
		return mc_refuse_perm(err, ax, _("the author is not an enrolled identity"));
	if (mc_access_decide(t, tx->author, a.record, a.version, a.purpose, a.glass_len > 0,
			     ax->block_time_ms, subject, &d, err) != 0)
		return mc_refuse_body(err, ax);
	if (memcmp(subject, a.subject, MC_HASH_LEN) != 0 || d.outcome != a.outcome ||
	    d.reason != a.reason || memcmp(d.grant, a.grant, MC_GRANT_ID_LEN) != 0)
		return mc_refuse(err, ax, _("the access event does not match the consent rules at its block time"));
	return mc_rules_audit_index(t, ax, tx, subject, a.outcome, err);
}
