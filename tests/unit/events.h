/* SPDX-License-Identifier: Apache-2.0 */
/* Audited events on the fixture's chain (fixture.h), each as one block made
 * through the public chain API: an enrolment, a consent grant and its
 * revocation, a read decided by the consent rules (ACCESS, as ops.c does
 * it), an alert acknowledgement and a lost-key rotation. For the unit tests
 * of audit, alerts and grants. */
#ifndef MC_TEST_EVENTS_H
#define MC_TEST_EVENTS_H

#include "alerts.h"
#include "consent.h"
#include "fixture.h"
#include "tx.h"

static inline void ev_submit(const struct mc_key *author, unsigned type, struct mc_buf *body)
{
	struct mc_produced p;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_chain_submit(fx.s, fx.node, author, type, body->data, body->len, &p, &err), 0,
		     "%s", err.msg);
	mc_buf_release(body);
}

/* A new identity of the fixture's organization, enrolled by the admin. */
static inline struct mc_key *ev_enroll(const char *name, uint32_t roles)
{
	struct mc_enroll e = { .roles = roles };
	struct mc_key *k;
	struct mc_buf b;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	memcpy(e.pk, k->pk, MC_PK_LEN);
	e.name = (const uint8_t *)name;
	e.name_len = strlen(name);
	e.org = (const uint8_t *)"Org";
	e.org_len = 3;
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	ev_submit(fx.admin, MC_TX_IDENTITY_ENROLL, &b);
	return k;
}

static inline void ev_subject(const char *patient, uint8_t out[MC_HASH_LEN])
{
	struct mc_err err = { 0 };

	cr_assert_eq(mc_org_subject(fx.o, patient, strlen(patient), out, &err), 0, "%s", err.msg);
}

/* A grant recorded by the admin from a consent form: patient to grantee,
 * for treatment, every category, from nbf to naf. */
static inline void ev_grant(const char *patient, const uint8_t grantee[MC_PK_LEN], uint64_t nbf,
			    uint64_t naf, uint8_t id[MC_GRANT_ID_LEN])
{
	struct mc_grant g;
	struct mc_buf b;

	memset(&g, 0, sizeof(g));
	mc_random(g.id, sizeof(g.id));
	memcpy(id, g.id, MC_GRANT_ID_LEN);
	ev_subject(patient, g.subject);
	memcpy(g.grantee, grantee, MC_PK_LEN);
	g.purpose = MC_PURPOSE_TREATMENT;
	g.not_before = nbf;
	g.not_after = naf;
	g.all_categories = true;
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)"form 7";
	g.attest_len = 6;
	mc_buf_init(&b);
	mc_grant_encode(&g, &b);
	ev_submit(fx.admin, MC_TX_CONSENT_GRANT, &b);
}

static inline void ev_revoke(const uint8_t id[MC_GRANT_ID_LEN])
{
	struct mc_consent_revoke r = { .reason = (const uint8_t *)"withdrawn", .reason_len = 9 };
	struct mc_buf b;

	memcpy(r.id, id, MC_GRANT_ID_LEN);
	mc_buf_init(&b);
	mc_consent_revoke_encode(&r, &b);
	ev_submit(fx.admin, MC_TX_CONSENT_REVOKE, &b);
}

struct ev_read_ctx {
	const struct mc_key *actor;
	const uint8_t *id;
	const char *glass;
	struct mc_decision d;
};

static inline int ev_read_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct ev_read_ctx *c = vctx;
	struct mc_access acc;
	struct mc_buf body;
	int rc;

	memset(&acc, 0, sizeof(acc));
	if (mc_access_decide(t, c->actor->pk, c->id, 1, MC_PURPOSE_TREATMENT, c->glass != NULL,
			     mc_builder_time(b), acc.subject, &c->d, err) != 0)
		return -1;
	memcpy(acc.record, c->id, MC_RECORD_ID_LEN);
	acc.version = 1;
	acc.purpose = MC_PURPOSE_TREATMENT;
	acc.outcome = c->d.outcome;
	memcpy(acc.grant, c->d.grant, MC_GRANT_ID_LEN);
	acc.reason = c->d.reason;
	acc.glass = (const uint8_t *)c->glass;
	acc.glass_len = c->glass ? strlen(c->glass) : 0;
	acc.has_attempt = true;
	mc_random(acc.attempt, sizeof(acc.attempt));
	mc_buf_init(&body);
	mc_access_encode(&acc, &body);
	rc = mc_builder_add_new(t, b, c->actor, MC_TX_ACCESS, body.data, body.len, NULL, 0, err);
	mc_buf_release(&body);
	return rc;
}

/* actor reads version 1 of record id for treatment (glass: a break-glass
 * reason, or NULL); the ACCESS event is committed; returns the outcome. */
static inline uint8_t ev_read(const struct mc_key *actor, const uint8_t id[MC_RECORD_ID_LEN],
			      const char *glass, struct mc_produced *out)
{
	struct ev_read_ctx c = { actor, id, glass, { 0 } };
	struct mc_produced p;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_chain_produce(fx.s, fx.node, ev_read_build, &c, out ? out : &p, &err), 0, "%s",
		     err.msg);
	return c.d.outcome;
}

/* An acknowledgement of alert id (of that kind) by author: an admin not
 * involved in the alert's fact, which must be on the chain. */
static inline void ev_ack_by(const struct mc_key *author, uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN],
			     const char *reason)
{
	struct mc_alert_ack a = { .kind = kind };
	struct mc_buf b;

	memcpy(a.id, id, MC_ALERT_ID_LEN);
	a.reason = (const uint8_t *)reason;
	a.reason_len = strlen(reason);
	mc_buf_init(&b);
	mc_alert_ack_encode(&a, &b);
	ev_submit(author, MC_TX_ALERT_ACK, &b);
}

struct ev_staff_alert {
	const uint8_t *grant;
	uint8_t id[MC_ALERT_ID_LEN];
	bool found;
};

static inline int ev_staff_alert_fn(const struct mc_alert *a, void *vctx)
{
	struct ev_staff_alert *s = vctx;

	if (a->kind == MC_ALERT_STAFF_GRANT && memcmp(a->grant, s->grant, MC_GRANT_ID_LEN) == 0) {
		memcpy(s->id, a->id, MC_ALERT_ID_LEN);
		s->found = true;
	}
	return 0;
}

static inline int ev_staff_alert_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_alert_params p;

	mc_alert_defaults(&p, mc_now_ms());
	return mc_alerts(t, &p, ev_staff_alert_fn, vctx, err);
}

/* The id of the staff-grant alert of grant (a form fx.admin recorded):
 * what another admin acknowledges with ev_ack_by. */
static inline void ev_staff_alert(const uint8_t grant[MC_GRANT_ID_LEN], uint8_t id[MC_ALERT_ID_LEN])
{
	struct ev_staff_alert sa = { grant, { 0 }, false };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, ev_staff_alert_txn, &sa, &err), 0, "%s", err.msg);
	cr_assert(sa.found, "the staff-grant alert of the grant");
	memcpy(id, sa.id, MC_ALERT_ID_LEN);
}

static inline int ev_head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, vctx, err);
}

/* The admin moves old's identity to a new key without old's signature
 * (a lost key); returns the new key. */
static inline struct mc_key *ev_rotate_lost(const struct mc_key *old)
{
	struct mc_rotate r;
	struct mc_key *k;
	struct mc_buf b;
	struct mc_head h;
	uint8_t st[MC_HASH_LEN];
	struct mc_err err = { 0 };

	cr_assert_eq(mc_key_generate(false, &k, &err), 0);
	cr_assert_eq(mc_store_read(fx.s, ev_head_txn, &h, &err), 0, "%s", err.msg);
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, old->pk, MC_PK_LEN);
	memcpy(r.new_pk, k->pk, MC_PK_LEN);
	r.kind = MC_ROTATE_LOST_KEY;
	r.reason = (const uint8_t *)"lost";
	r.reason_len = 4;
	mc_rotate_statement(h.chain_id, r.old_pk, r.new_pk, r.kind, st);
	mc_sign(k->sk, st, sizeof(st), r.new_sig);
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	ev_submit(fx.admin, MC_TX_IDENTITY_ROTATE, &b);
	return k;
}

#endif
