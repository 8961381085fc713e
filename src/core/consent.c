/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "consent.h"
#include "i18n.h"
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
