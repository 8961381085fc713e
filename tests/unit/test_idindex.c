/* SPDX-License-Identifier: Apache-2.0 */
/* The identity index (store.h MC_DB_IDINDEX, identity.h): enrolment finds
 * a name in use and an active patient of a subject through it, with the
 * same refusals as the scan it replaced, after revocations and rotations
 * too; a store older than the index (the table absent) is read by the scan,
 * built whole at its first identity write, and verifies before and after;
 * verify finds an altered index row; mc_identity_find answers through the
 * index as the scan does. */
#include "config.h"

#include <sysexits.h>

#include "fixture.h"
#include "rawstore.h"
#include "idtx.h"
#include "rotation.h"
#include "util.h"
#include "verify.h"

#define IDX_TEST_KEY_MAX (2 + MC_NAME_MAX + MC_PK_LEN)

TestSuite(idindex, .init = fx_setup, .fini = fx_teardown);

/* Enrols a fresh key as name with roles (a patient of subject byte `subj`
 * when subj != 0); the key in *out (NULL: freed). 0 or -1 (err set). */
static int enrol(const char *name, uint32_t roles, uint8_t subj, struct mc_key **out, struct mc_err *err)
{
	struct mc_enroll e = { .roles = roles };
	struct mc_key *k = NULL;
	uint8_t subject[MC_HASH_LEN];
	struct mc_buf b;
	struct mc_produced p;
	int rc;

	cr_assert_eq(mc_key_generate(false, &k, err), 0);
	memcpy(e.pk, k->pk, MC_PK_LEN);
	e.name = (const uint8_t *)name;
	e.name_len = strlen(name);
	memset(subject, subj, sizeof(subject));
	if (subj) {
		e.subject = subject;
		e.subject_len = MC_HASH_LEN;
	}
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	rc = mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_ENROLL, b.data, b.len, &p, err);
	mc_buf_release(&b);
	if (out)
		*out = k;
	else
		mc_key_free(k);
	return rc;
}

static void revoke(const uint8_t pk[MC_PK_LEN])
{
	struct mc_revoke r = { .reason = (const uint8_t *)"x", .reason_len = 1 };
	struct mc_err err = { 0 };
	struct mc_produced p;
	struct mc_buf b;

	memcpy(r.pk, pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_revoke_encode(&r, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_REVOKE, b.data, b.len, &p, &err), 0,
		     "%s", err.msg);
	mc_buf_release(&b);
}

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, vctx, err);
}

/* Rotates old's identity to a new key (signed by both); the new key. */
static struct mc_key *rotate(const struct mc_key *old)
{
	struct mc_rotate r;
	struct mc_err err = { 0 };
	struct mc_produced p;
	struct mc_head h;
	struct mc_key *nw = NULL;
	uint8_t st[MC_HASH_LEN];
	struct mc_buf b;

	cr_assert_eq(mc_store_read(fx.s, head_txn, &h, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, old->pk, MC_PK_LEN);
	memcpy(r.new_pk, nw->pk, MC_PK_LEN);
	r.kind = MC_ROTATE_HOLDER;
	mc_rotate_statement(h.chain_id, r.old_pk, r.new_pk, r.kind, st);
	mc_sign(nw->sk, st, sizeof(st), r.new_sig);
	r.has_old_sig = true;
	mc_sign(old->sk, st, sizeof(st), r.old_sig);
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_ROTATE, b.data, b.len, &p, &err), 0,
		     "%s", err.msg);
	mc_buf_release(&b);
	return nw;
}

/* The refusal of enrolling name (a patient of subj when subj != 0). */
static struct mc_err refusal(const char *name, uint32_t roles, uint8_t subj)
{
	struct mc_err err = { 0 };

	cr_assert_eq(enrol(name, roles, subj, NULL, &err), -1, "enrolling %s is refused", name);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	return err;
}

static void refused_as_held_by(const char *name, const uint8_t holder[MC_PK_LEN])
{
	struct mc_err err = refusal(name, MC_ROLE_CLINICIAN, 0);
	char hex[2 * MC_PK_LEN + 1], want[32];

	mc_hex(holder, MC_PK_LEN, hex);
	snprintf(want, sizeof(want), "(key %.8s)", hex);
	cr_assert_not_null(strstr(err.msg, "already has this display name"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, want), "%s names %s", err.msg, want);
}

static void refused_as_patient(uint8_t subj)
{
	struct mc_err err = refusal("Another patient", MC_ROLE_PATIENT, subj);

	cr_assert_not_null(strstr(err.msg, "the patient already has an active identity"), "%s", err.msg);
}

/* What the scan of the identities finds, beside what the index gives, for
 * every identity's name and subject (and two that none has). */
struct cmp {
	struct mc_txn *t;
	unsigned n;
};

struct ref_look {
	const struct mc_identity *of;
	bool named, patient;
	uint8_t holder[MC_PK_LEN];
};

static int ref_scan(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	struct ref_look *l = ctx;

	(void)err;
	if (id->revoked != MC_NOT_REVOKED)
		return 0;
	if (!l->named && strcmp(id->name, l->of->name) == 0) {
		l->named = true;
		memcpy(l->holder, id->pk, MC_PK_LEN);
	}
	if (l->of->has_subject && (id->roles & MC_ROLE_PATIENT) && id->has_subject &&
	    memcmp(id->subject, l->of->subject, MC_HASH_LEN) == 0)
		l->patient = true;
	return 0;
}

static int cmp_one(const struct mc_identity *id, void *ctx, struct mc_err *err)
{
	struct cmp *c = ctx;
	struct ref_look l = { id, false, false, { 0 } };
	uint8_t holder[MC_PK_LEN];
	int named, patient = 0;

	if (mc_identities_each(c->t, ref_scan, &l, err) < 0)
		return -1;
	named = mc_identity_named(c->t, id->name, strlen(id->name), holder, err);
	if (id->has_subject)
		patient = mc_identity_patient_of(c->t, id->subject, err);
	cr_assert_eq(named, l.named, "%s: index %d, scan %d", id->name, named, l.named);
	if (named)
		cr_assert_arr_eq(holder, l.holder, MC_PK_LEN, "%s: the same holder", id->name);
	cr_assert_eq(patient, l.patient, "%s: patient index %d, scan %d", id->name, patient, l.patient);
	c->n++;
	return 0;
}

static int cmp_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct cmp *c = vctx;
	uint8_t holder[MC_PK_LEN], subject[MC_HASH_LEN];

	c->t = t;
	memset(subject, 0xee, sizeof(subject));
	cr_assert_eq(mc_identity_named(t, "nobody", 6, holder, err), 0);
	cr_assert_eq(mc_identity_named(t, "Dr 1\0x", 6, holder, err), 0, "a name with a NUL is no one's");
	cr_assert_eq(mc_identity_patient_of(t, subject, err), 0);
	return mc_identities_each(t, cmp_one, c, err) < 0 ? -1 : 0;
}

static unsigned index_agrees_with_scan(struct mc_store *s)
{
	struct cmp c = { NULL, 0 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(s, cmp_txn, &c, &err), 0, "%s", err.msg);
	return c.n;
}

static void verifies(void)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };

	mc_store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
}

Test(idindex, enrolment_refuses_what_the_scan_refused_after_revocations_and_rotations)
{
	struct mc_key *dr[24] = { 0 }, *pat[8] = { 0 }, *nw;
	struct mc_err err = { 0 };
	char name[32];

	for (unsigned i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "Dr %u", i);
		cr_assert_eq(enrol(name, MC_ROLE_CLINICIAN, 0, &dr[i], &err), 0, "%s", err.msg);
	}
	for (unsigned i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "Patient %u", i);
		cr_assert_eq(enrol(name, MC_ROLE_PATIENT, (uint8_t)(i + 1), &pat[i], &err), 0, "%s", err.msg);
	}
	refused_as_held_by("Dr 3", dr[3]->pk);
	refused_as_held_by("admin", fx.admin->pk);
	refused_as_patient(2);
	/* a revoked identity's name and subject are free again */
	revoke(dr[3]->pk);
	revoke(pat[4]->pk);
	cr_assert_eq(enrol("Dr 3", MC_ROLE_CLINICIAN, 0, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Patient 4 again", MC_ROLE_PATIENT, 5, NULL, &err), 0, "%s", err.msg);
	refused_as_patient(5);
	/* a rotation moves name and subject to the new key */
	nw = rotate(dr[5]);
	refused_as_held_by("Dr 5", nw->pk);
	mc_key_free(nw);
	nw = rotate(pat[6]);
	refused_as_patient(7);
	refused_as_held_by("Patient 6", nw->pk);
	mc_key_free(nw);
	cr_assert_eq(index_agrees_with_scan(fx.s), 3 + 24 + 8 + 2 + 2);
	verifies();
	for (unsigned i = 0; i < 24; i++)
		mc_key_free(dr[i]);
	for (unsigned i = 0; i < 8; i++)
		mc_key_free(pat[i]);
}

/* Makes fx's store one of a build older than the index: the table goes. */
static void drop_index(void)
{
	MDB_env *env;
	MDB_txn *txn = raw_begin(&env);

	raw_drop(txn, "idindex");
	raw_commit(env, txn);
}

static int count_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_txn_count(t, MC_DB_IDINDEX, vctx, err);
}

static uint64_t index_rows(void)
{
	struct mc_err err = { 0 };
	uint64_t n = 0;

	cr_assert_eq(mc_store_read(fx.s, count_txn, &n, &err), 0, "%s", err.msg);
	return n;
}

Test(idindex, a_store_older_than_the_index_verifies_enrols_and_builds_it_whole)
{
	struct mc_key *a = NULL, *p = NULL;
	struct mc_err err = { 0 };
	struct mc_store *ro = NULL;

	cr_assert_eq(enrol("Dr A", MC_ROLE_CLINICIAN, 0, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Dr B", MC_ROLE_CLINICIAN, 0, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Pat", MC_ROLE_PATIENT, 9, &p, &err), 0, "%s", err.msg);
	revoke(p->pk);
	cr_assert_eq(enrol("Pat", MC_ROLE_PATIENT, 9, NULL, &err), 0, "%s", err.msg);
	drop_index();
	/* read-only, the table is absent: the scan answers, verify passes */
	cr_assert_eq(mc_store_open(fx.dir, MC_STORE_RDONLY, &ro, &err), 0, "%s", err.msg);
	cr_assert_eq(index_agrees_with_scan(ro), 3 + 3 + 1);
	mc_store_close(ro);
	verifies();
	/* opened for writing: created empty, still read by the scan */
	cr_assert_eq(index_rows(), 0);
	refused_as_held_by("Dr A", a->pk);
	refused_as_patient(9);
	cr_assert_eq(index_rows(), 0, "a refused enrolment writes nothing");
	verifies();
	/* the first identity write builds it: marker, 7 active names, 1 patient */
	cr_assert_eq(enrol("Dr C", MC_ROLE_CLINICIAN, 0, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(index_rows(), 1 + 7 + 1);
	refused_as_held_by("Dr A", a->pk);
	refused_as_patient(9);
	cr_assert_eq(index_agrees_with_scan(fx.s), 3 + 4 + 1);
	verifies();
	mc_key_free(a);
	mc_key_free(p);
}

/* An older store's index is built by mc_identity_index_ensure (the engine
 * calls it before its first round) in a transaction of its own that
 * commits: a validator's proposal build and check are transactions aborted
 * by design, and a build inside them would run again on every round (5 s
 * at a million identities, past the vote deadline: no block would gather a
 * quorum). A second call finds it built and changes nothing. */
Test(idindex, ensure_builds_an_older_stores_index_whole_in_a_committed_txn_once)
{
	struct mc_err err = { 0 };

	cr_assert_eq(enrol("Dr A", MC_ROLE_CLINICIAN, 0, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Pat", MC_ROLE_PATIENT, 9, NULL, &err), 0, "%s", err.msg);
	drop_index();
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	cr_assert_eq(index_rows(), 0);
	cr_assert_eq(mc_identity_index_ensure(fx.s, &err), 1, "built now: %s", err.msg);
	cr_assert_eq(index_rows(), 1 + 5 + 1, "the index was not built (and committed) at write open: %llu rows", (unsigned long long)index_rows());
	cr_assert_eq(index_agrees_with_scan(fx.s), 5);
	cr_assert_eq(mc_identity_index_ensure(fx.s, &err), 0, "%s", err.msg);
	cr_assert_eq(index_rows(), 1 + 5 + 1);
	verifies();
}

/* Tampers fx's index: deletes the row whose key starts with byte `first`
 * (the marker: 0x00), and with add, puts it back under another key. */
struct tamper {
	uint8_t first;
	bool add;
};

static int tamper_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct tamper *tp = vctx;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	uint8_t key[IDX_TEST_KEY_MAX];

	cr_assert_eq(mc_cursor_open(t, MC_DB_IDINDEX, &c, err), 0);
	cr_assert_eq(mc_cursor_seek(c, &tp->first, 1, &k, &kn, &v, &vn, err), 0);
	cr_assert_eq(*(const uint8_t *)k, tp->first);
	cr_assert_leq(kn, sizeof(key));
	memcpy(key, k, kn);
	cr_assert_eq(mc_cursor_del(c, err), 0);
	mc_cursor_close(c);
	key[kn - 1] ^= 1;   /* another key */
	return tp->add ? mc_txn_put(t, MC_DB_IDINDEX, key, kn, "", 0, err) : 0;
}

static void tampered_is_found(struct tamper tp)
{
	struct mc_verify_report rep;
	struct mc_err err = { 0 };

	fx_teardown();
	fx_setup();
	cr_assert_eq(enrol("Pat", MC_ROLE_PATIENT, 9, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_write(fx.s, tamper_txn, &tp, &err), 0, "%s", err.msg);
	mc_store_close(fx.s);
	fx.s = NULL;
	cr_assert_neq(mc_verify(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "row %02x", tp.first);
	cr_assert_eq(err.code, EX_DATAERR, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "identity index"), "%s", err.msg);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
}

Test(idindex, verify_finds_an_altered_missing_or_unmarked_index_row)
{
	tampered_is_found((struct tamper){ 'n', true });
	tampered_is_found((struct tamper){ 's', true });
	tampered_is_found((struct tamper){ 'n', false });
	tampered_is_found((struct tamper){ 's', false });
	tampered_is_found((struct tamper){ 0x00, false });
}

/* mc_identity_find's answer to each query: rc, error code, key found. */
struct find_ans {
	int rc, code;
	uint8_t pk[MC_PK_LEN];
};

#define NQ 64

struct find_ctx {
	const char *q[NQ];
	unsigned n;
	struct find_ans a[NQ];
};

static int find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct find_ctx *c = vctx;

	(void)err;
	for (unsigned i = 0; i < c->n; i++) {
		struct mc_identity id;
		struct mc_err e = { 0 };

		memset(&c->a[i], 0, sizeof(c->a[i]));
		c->a[i].rc = mc_identity_find(t, c->q[i], &id, &e);
		c->a[i].code = e.code;
		if (c->a[i].rc == 0)
			memcpy(c->a[i].pk, id.pk, MC_PK_LEN);
	}
	return 0;
}

Test(idindex, finding_an_identity_by_name_or_key_prefix_answers_as_the_scan)
{
	struct mc_key *a = NULL, *b = NULL, *r = NULL, *nw;
	struct mc_err err = { 0 };
	struct find_ctx ix = { .n = 0 }, sc;
	struct mc_store *ro = NULL;
	char hex[3][2 * MC_PK_LEN + 1], pre[6][16], clash[9];

	cr_assert_eq(enrol("Dr A", MC_ROLE_CLINICIAN, 0, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Dr B", MC_ROLE_CLINICIAN, 0, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(enrol("Dr R", MC_ROLE_CLINICIAN, 0, &r, &err), 0, "%s", err.msg);
	revoke(r->pk);                      /* a name only a revoked identity has */
	nw = rotate(b);                     /* "Dr B": the old key revoked, the new active */
	mc_hex(a->pk, MC_PK_LEN, hex[0]);
	mc_hex(b->pk, MC_PK_LEN, hex[1]);
	mc_hex(r->pk, MC_PK_LEN, hex[2]);
	/* a name that is another active identity's key prefix: ambiguous */
	snprintf(clash, sizeof(clash), "%.8s", hex[0]);
	cr_assert_eq(enrol(clash, MC_ROLE_AUDITOR, 0, NULL, &err), 0, "%s", err.msg);
	for (int i = 0; i < 3; i++) {
		snprintf(pre[2 * i], sizeof(pre[0]), "%.9s", hex[i]);
		snprintf(pre[2 * i + 1], sizeof(pre[0]), "%.12s", hex[i]);
	}
	{
		const char *q[] = { "Dr A", "Dr B", "Dr R", "admin", "Org", "nobody", clash, pre[0], pre[1],
				    pre[2], pre[3], pre[4], pre[5], hex[0], hex[1], hex[2], "DR A", "dr a",
				    "0000000", "" };

		for (size_t i = 0; i < MC_ARRAY_LEN(q); i++)
			ix.q[ix.n++] = q[i];
	}
	cr_assert_eq(mc_store_read(fx.s, find_txn, &ix, &err), 0, "%s", err.msg);
	cr_assert_eq(ix.a[0].rc, 0);
	cr_assert_arr_eq(ix.a[0].pk, a->pk, MC_PK_LEN);
	cr_assert_arr_eq(ix.a[1].pk, nw->pk, MC_PK_LEN, "the active identity of a reused name");
	cr_assert_eq(ix.a[2].rc, 0, "a revoked identity's own name finds it");
	cr_assert_eq(ix.a[6].code, EX_USAGE, "a name that is another key's prefix is ambiguous");
	cr_assert_eq(ix.a[5].code, EX_NOUSER);
	/* the same queries through the scan: the store without the index */
	sc = ix;
	drop_index();
	cr_assert_eq(mc_store_open(fx.dir, MC_STORE_RDONLY, &ro, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_read(ro, find_txn, &sc, &err), 0, "%s", err.msg);
	mc_store_close(ro);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	for (unsigned i = 0; i < ix.n; i++) {
		cr_assert_eq(ix.a[i].rc, sc.a[i].rc, "'%s': rc %d, scan %d", ix.q[i], ix.a[i].rc, sc.a[i].rc);
		cr_assert_eq(ix.a[i].code, sc.a[i].code, "'%s': code %d, scan %d", ix.q[i], ix.a[i].code,
			     sc.a[i].code);
		cr_assert_arr_eq(ix.a[i].pk, sc.a[i].pk, MC_PK_LEN, "'%s': the same identity", ix.q[i]);
	}
	mc_key_free(a);
	mc_key_free(b);
	mc_key_free(r);
	mc_key_free(nw);
}
