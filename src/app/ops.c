/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "chain.h"
#include "i18n.h"
#include "ops.h"
#include "text.h"

/* The ACCESS event of a read, decided and committed inside one write
 * transaction at the new block's time. */
struct access_ctx {
	const struct mc_key *actor;
	const uint8_t *id;
	uint32_t version;            /* 0: the newest */
	uint8_t purpose;
	const char *glass;           /* break-glass reason or NULL */
	uint8_t attempt[MC_ACCESS_ATTEMPT_LEN];
	uint32_t used_version;
	struct mc_decision d;
};

static int access_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct access_ctx *c = vctx;
	struct mc_access acc;
	struct mc_buf body;
	char hex[33];
	int rc;

	mc_hex(c->id, MC_RECORD_ID_LEN, hex);
	c->used_version = c->version;
	if (!c->version) {
		struct mc_record_state rs;

		rc = mc_record_latest(t, c->id, &rs, err);
		if (rc == MC_NOTFOUND)
			return mc_err_set(err, EX_NOINPUT, _("no record '%s'"), hex);
		if (rc != 0)
			return -1;
		c->used_version = rs.entry.version;
	}
	memset(&acc, 0, sizeof(acc));
	if (mc_access_decide(t, c->actor->pk, c->id, c->used_version, c->purpose, c->glass != NULL,
			     mc_builder_time(b), acc.subject, &c->d, err) != 0) {
		if (err->code == EX_NOINPUT)
			return mc_err_set(err, EX_NOINPUT, _("record '%s': %s"), hex,
					  c->version ? _("no such version, or erased") : _("erased"));
		return -1;
	}
	memcpy(acc.record, c->id, MC_RECORD_ID_LEN);
	acc.version = c->used_version;
	acc.purpose = c->purpose;
	acc.outcome = c->d.outcome;
	memcpy(acc.grant, c->d.grant, MC_GRANT_ID_LEN);
	acc.reason = c->d.reason;
	acc.glass = (const uint8_t *)c->glass;
	acc.glass_len = c->glass ? strlen(c->glass) : 0;
	acc.has_attempt = true;
	memcpy(acc.attempt, c->attempt, MC_ACCESS_ATTEMPT_LEN);
	mc_buf_init(&body);
	mc_access_encode(&acc, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_builder_add_new(t, b, c->actor, MC_TX_ACCESS, body.data, body.len,
						       NULL, 0, err);
	mc_buf_release(&body);
	return rc;
}

/* The ACCESS event of this very attempt, as committed in block `height` of
 * this node's own store: the one decided, or nothing is decrypted. A read
 * run again after a timeout sends its kept tx first, and that tx, not the
 * one just built, is what the chain holds (decided at another time: an
 * older newest version, say). */
struct committed_ctx {
	const struct access_ctx *ac;
	uint64_t height;
	bool found, same;
};

static int committed_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct committed_ctx *c = vctx;
	const struct access_ctx *ac = c->ac;

	c->found = c->same = false;
	for (uint32_t i = 0;; i++) {
		uint8_t loc[12];
		const void *v;
		size_t vn;
		struct mc_tx tx;
		struct mc_access a;
		int rc;

		mc_be64(loc, c->height);
		mc_be32(loc + 8, i);
		rc = mc_txn_get(t, MC_DB_TXS, loc, sizeof(loc), &v, &vn, err);
		if (rc == MC_NOTFOUND)
			return 0;
		if (rc != 0 || mc_tx_decode(v, vn, &tx, err) != 0)
			return -1;
		if (tx.type != MC_TX_ACCESS || memcmp(tx.author, ac->actor->pk, MC_PK_LEN) != 0)
			continue;
		if (mc_access_decode(tx.body, tx.body_len, &a, err) != 0)
			return -1;
		if (!a.has_attempt || memcmp(a.attempt, ac->attempt, MC_ACCESS_ATTEMPT_LEN) != 0)
			continue;
		c->found = true;
		c->same = memcmp(a.record, ac->id, MC_RECORD_ID_LEN) == 0 && a.version == ac->used_version &&
			  a.purpose == ac->purpose && a.outcome == ac->d.outcome &&
			  memcmp(a.grant, ac->d.grant, MC_GRANT_ID_LEN) == 0 &&
			  (a.glass_len != 0) == (ac->glass != NULL);
		return 0;
	}
}

int mc_op_read(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *actor,
	       const uint8_t id[MC_RECORD_ID_LEN], uint32_t version, uint8_t purpose,
	       const char *glass, struct mc_op_read *out, struct mc_err *err)
{
	struct access_ctx ac;
	struct mc_produced p;
	struct mc_key *rk = NULL;
	struct mc_org *ro = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ac, 0, sizeof(ac));
	ac.actor = actor;
	ac.id = id;
	ac.version = version;
	ac.purpose = purpose;
	ac.glass = glass;
	/* this attempt's own id: the same when this very read is run again
	 * after a timeout, another for every other attempt */
	if (!cli->req.same_write)
		mc_random(ac.attempt, sizeof(ac.attempt));
	else if (mc_request_ids(&cli->req, cli->store, "access attempt", ac.attempt, sizeof(ac.attempt), err) != 0)
		return -1;
	/* Every attempt is on the chain before any plaintext leaves. */
	if (mc_chain_produce(cli->store, node, access_build, &ac, &p, err) != 0)
		return -1;
	/* what is reported, and any plaintext, only once this node's store
	 * holds this attempt's event as decided here (serve's word, or a kept
	 * tx sent again, is not enough) */
	{
		struct committed_ctx cc = { &ac, p.height, false, false };
		char hex[33];

		if (mc_store_read(cli->store, committed_txn, &cc, err) != 0)
			return -1;
		mc_hex(id, MC_RECORD_ID_LEN, hex);
		if (!cc.found)
			return mc_err_set(err, EX_TEMPFAIL,
					  _("record '%s': no ACCESS event of this read in block %llu of this node's "
					    "store: nothing was decrypted; try again"),
					  hex, (unsigned long long)p.height);
		if (!cc.same)
			return mc_err_set(err, EX_TEMPFAIL,
					  _("record '%s': the ACCESS event committed for this read (block %llu) was "
					    "decided at an earlier attempt, otherwise than now: nothing was decrypted; "
					    "run the command again for a new read"),
					  hex, (unsigned long long)p.height);
	}
	out->d = ac.d;
	out->version = ac.used_version;
	out->height = p.height;
	if (ac.d.outcome == MC_OUTCOME_DENY)
		return 0;
	/* decrypt as the reader's organization: ours, or the one a grant
	 * shared the keys with */
	rc = mc_cli_load_reader_org(cli, actor->pk, &rk, err) != 0 || mc_org_open(cli->store, rk, &ro, err) != 0 ||
	     mc_record_read(cli->store, ro, id, ac.used_version, &out->payload, &out->n, &out->info, err) != 0
		     ? -1 : 0;
	mc_org_free(ro);
	mc_key_free(rk);
	return rc;
}

void mc_op_read_release(struct mc_op_read *r)
{
	mc_payload_free(r->payload, r->n);
	r->payload = NULL;
	r->n = 0;
}

/* The grant tx, with the keys it shares (if any) stored in the same
 * write transaction and committed by the grant. */
static int grant_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err);

struct grant_build_ctx {
	const struct mc_key *author;
	struct mc_grant *g;
	const struct mc_share_prep *prep;
};

int mc_op_grant_add(struct mc_txn *t, struct mc_builder *b, const struct mc_key *author,
		    struct mc_grant *g, const struct mc_share_prep *prep, struct mc_err *err)
{
	struct grant_build_ctx gb = { author, g, prep };

	return grant_build(t, b, &gb, err);
}

static int grant_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct grant_build_ctx *c = vctx;
	struct mc_buf body, attach;
	uint8_t share[MC_HASH_LEN];
	int rc = 0;

	mc_buf_init(&body);
	mc_buf_init(&attach);
	c->g->share = NULL;
	c->g->share_len = 0;
	if (c->prep) {
		rc = mc_share_store(t, c->prep, &attach, err);
		mc_sha256(attach.data, attach.len, share);
		c->g->share = share;
		c->g->share_len = MC_HASH_LEN;
	}
	if (rc == 0) {
		mc_grant_encode(c->g, &body);
		rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
					  : mc_builder_add_new(t, b, c->author, MC_TX_CONSENT_GRANT, body.data,
							       body.len, attach.data, attach.len, err);
	}
	mc_buf_release(&body);
	mc_buf_release(&attach);
	return rc;
}

int mc_op_grant(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		struct mc_grant *g, const struct mc_identity *grantee, struct mc_op_grant *out,
		struct mc_err *err)
{
	struct mc_identity me;
	char mehex[65];
	bool other = false;
	uint8_t other_org[MC_PK_LEN];
	struct mc_share_prep prep;
	struct mc_key *orgkey = NULL;
	struct mc_org *org = NULL;
	struct grant_build_ctx gb = { author, g, NULL };
	struct mc_produced p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (grantee->revoked != MC_NOT_REVOKED) {
		char who[MC_WHO_MAX];

		/* with its key prefix: an active identity may bear the name now */
		mc_identity_who(grantee->name, grantee->pk, who, sizeof(who));
		return mc_err_set(err, EX_NOUSER, _("the grantee '%s' is revoked"), who);
	}
	memcpy(g->grantee, grantee->pk, MC_PK_LEN);
	/* A patient grants for themself: their signature attests it. */
	mc_hex(author->pk, MC_PK_LEN, mehex);
	if (mc_cli_find_identity(cli, mehex, &me, err) != 0)
		return -1;
	if (!(me.roles & MC_ROLES_CONSENT_STAFF) && (me.roles & MC_ROLE_PATIENT)) {
		g->attest_kind = MC_ATTEST_PATIENT_SIGNATURE;
		g->attest = (const uint8_t *)"signed by the patient";
		g->attest_len = strlen("signed by the patient");
	}
	/* the same id when this very write is run again after a timeout */
	if (mc_request_ids(&cli->req, cli->store, "grant id", g->id, sizeof(g->id), err) != 0)
		return -1;
	/* A grantee of another organization gets that organization's copy of
	 * the keys in scope, re-wrapped under a KEK sealed to it. */
	memset(&prep, 0, sizeof(prep));
	if (mc_cli_other_org(cli, grantee->pk, &other, other_org, err) != 0)
		return -1;
	if (other) {
		rc = mc_cli_load_role_key(cli, "org", &orgkey, err) != 0 ||
		     mc_org_open(cli->store, orgkey, &org, err) != 0 ||
		     mc_share_prepare(cli->store, org, other_org, g, &prep, err) != 0 ? -1 : 0;
		mc_org_free(org);
		mc_key_free(orgkey);
		if (rc != 0)
			return -1;
		gb.prep = &prep;
	}
	rc = mc_chain_produce(cli->store, node, grant_build, &gb, &p, err);
	out->shared = other ? prep.n : 0;
	mc_share_release(&prep);
	if (rc != 0)
		return -1;
	memcpy(out->id, g->id, MC_GRANT_ID_LEN);
	out->height = p.height;
	return 0;
}

struct grant_find {
	uint8_t id[MC_GRANT_ID_LEN];
	bool found, revoked;
};

static int grant_find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct grant_find *f = vctx;
	struct mc_grant_state gs;
	int rc = mc_grant_state_get(t, f->id, &gs, err);

	if (rc < 0)
		return -1;
	f->found = rc == 0;
	f->revoked = rc == 0 && gs.revoked_at != MC_TIME_OPEN;
	return 0;
}

int mc_op_revoke(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		 const uint8_t id[MC_GRANT_ID_LEN], const char *reason, uint64_t *height,
		 struct mc_err *err)
{
	struct grant_find f;
	struct mc_consent_revoke r;
	struct mc_buf body;
	struct mc_produced p;
	char hex[33];
	int rc;

	memset(&f, 0, sizeof(f));
	memcpy(f.id, id, MC_GRANT_ID_LEN);
	mc_hex(id, MC_GRANT_ID_LEN, hex);
	if (!*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_err_set(err, EX_USAGE, _("a reason must be 1 to %d characters of text"), MC_REASON_MAX);
	if (mc_store_read(cli->store, grant_find_txn, &f, err) != 0)
		return -1;
	if (!f.found)
		return mc_err_set(err, EX_NOINPUT, _("no grant '%s'"), hex);
	if (f.revoked)
		return mc_err_set(err, EX_DATAERR, _("grant '%s' is already revoked"), hex);
	memcpy(r.id, id, MC_GRANT_ID_LEN);
	r.reason = (const uint8_t *)reason;
	r.reason_len = strlen(reason);
	mc_buf_init(&body);
	mc_consent_revoke_encode(&r, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_chain_submit(cli->store, node, author, MC_TX_CONSENT_REVOKE, body.data,
						    body.len, &p, err);
	mc_buf_release(&body);
	if (rc == 0)
		*height = p.height;
	return rc;
}

struct ack_find {
	uint8_t id[MC_ALERT_ID_LEN];
	const uint8_t *author;
	struct mc_identity who;
	bool who_found;
	struct mc_alert al;
	bool acked;
};

static int ack_find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct ack_find *f = vctx;
	int rc = mc_identity_get(t, f->author, &f->who, err);

	if (rc < 0)
		return -1;
	f->who_found = rc == 0;
	rc = mc_alert_ack_get(t, f->id, &f->al, err);
	if (rc < 0)
		return -1;
	f->acked = rc == 0;
	return 0;
}

int mc_op_alert_ack(struct mc_cli *cli, const struct mc_key *node, const struct mc_key *author,
		    uint8_t kind, const uint8_t id[MC_ALERT_ID_LEN], const char *reason, uint64_t *height,
		    struct mc_err *err)
{
	struct ack_find *f;
	struct mc_alert_ack ack;
	struct mc_buf body;
	struct mc_produced p;
	char hex[2 * MC_ALERT_ID_LEN + 1];
	int rc;

	mc_hex(id, MC_ALERT_ID_LEN, hex);
	if (!*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_err_set(err, EX_USAGE, _("a reason must be 1 to %d characters of text"), MC_REASON_MAX);
	if (!(f = calloc(1, sizeof(*f))))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(f->id, id, MC_ALERT_ID_LEN);
	f->author = author->pk;
	if (mc_store_read(cli->store, ack_find_txn, f, err) != 0) {
		free(f);
		return -1;
	}
	if (!f->who_found || !(f->who.roles & MC_ROLE_ADMIN) || f->who.revoked != MC_NOT_REVOKED) {
		rc = mc_err_set(err, EX_NOPERM, _("only an admin acknowledges alerts, and '%s' is not one"),
				f->who_found ? f->who.name : "?");
		free(f);
		return rc;
	}
	if (f->acked) {
		rc = mc_err_set(err, EX_DATAERR, _("alert '%s' is already acknowledged (block %llu)"), hex,
				(unsigned long long)f->al.ack_height);
		free(f);
		return rc;
	}
	free(f);
	memset(&ack, 0, sizeof(ack));
	ack.kind = kind;
	memcpy(ack.id, id, MC_ALERT_ID_LEN);
	ack.reason = (const uint8_t *)reason;
	ack.reason_len = strlen(reason);
	mc_buf_init(&body);
	mc_alert_ack_encode(&ack, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_chain_submit(cli->store, node, author, MC_TX_ALERT_ACK, body.data, body.len, &p,
						    err);
	mc_buf_release(&body);
	if (rc == 0)
		*height = p.height;
	return rc;
}
