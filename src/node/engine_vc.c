/* SPDX-License-Identifier: Apache-2.0 */
/* engine_vc.c - view changes: votes, the new leader taking over. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "engine_int.h"
#include "i18n.h"
#include "log.h"
#include "identity.h"

/* ---- view changes -------------------------------------------------------------
 * A validator asked to move to view V under leader L votes once per view,
 * durably ("vc" -> view u64 | leader), with its lock at the next height (so
 * the new leader can finish that block first). It votes only for a view
 * above the current one and at most MC_VIEW_AHEAD_MAX above the highest it
 * knows (every increment overflow-checked, UINT64_MAX never a view), and
 * only with evidence: it, too, has not heard from the leader for half the
 * leader timeout, or a tx it handed the leader has waited that long
 * uncommitted with no block for half of it (a leader that answers but
 * commits nothing), or the request
 * carries a quorum of the operators' approvals of that promotion. A refusal says which view it voted for, so
 * the asker can ask above it next time.
 * The one who asked gathers a quorum of votes into a VIEW_CHANGE and hands
 * it, with the highest locked block, to L; L finishes that block, then
 * proposes a block whose first tx is the VIEW_CHANGE: applying it makes L
 * the leader of view V on every node. */

static const char VC_KEY[] = "vc";

struct next_seq_ctx {
	const uint8_t *pk;
	uint64_t *seq;
};

static int next_seq_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct next_seq_ctx *c = vctx;

	return mc_builder_next_seq(t, c->pk, c->seq, err);
}
#define VC_VOTE_LEN (MC_PK_LEN + 8 + 8 + MC_HASH_LEN + MC_SIG_LEN)

struct vc_put_ctx {
	uint64_t view;
	const uint8_t *leader;
	uint64_t ms;   /* when the vote was first given (eng_vc_left_view) */
};

/* "vc" -> view u64 | leader | ms u64 (a row of 40 bytes, from before the
 * time was kept, reads as ms 0: no window after a restart). */
static int vc_put_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct vc_put_ctx *c = vctx;
	uint8_t v[8 + MC_PK_LEN + 8];

	mc_be64(v, c->view);
	memcpy(v + 8, c->leader, MC_PK_LEN);
	mc_be64(v + 8 + MC_PK_LEN, c->ms);
	return mc_txn_put(t, MC_DB_CONSENSUS, VC_KEY, sizeof(VC_KEY) - 1, v, sizeof(v), err);
}

int eng_vc_get_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_engine *e = vctx;
	const void *v;
	size_t vn;
	int rc = mc_txn_get(t, MC_DB_CONSENSUS, VC_KEY, sizeof(VC_KEY) - 1, &v, &vn, err);

	if (rc != 0 || (vn != 8 + MC_PK_LEN && vn != 8 + MC_PK_LEN + 8))
		return rc < 0 ? -1 : 0;
	e->vc_voted = mc_from_be64(v);
	memcpy(e->vc_voted_leader, (const uint8_t *)v + 8, MC_PK_LEN);
	e->vc_voted_ms = vn == 8 + MC_PK_LEN + 8 ? mc_from_be64((const uint8_t *)v + 8 + MC_PK_LEN) : 0;
	return 0;
}

/* The next view this node may ask for: above the chain's view, its own
 * vote and the votes peers said they gave; false past the last number. */
bool eng_vc_next_view(const struct mc_engine *e, uint64_t *out)
{
	uint64_t base = e->view;

	if (e->vc_voted > base)
		base = e->vc_voted;
	if (e->vc_seen > base)
		base = e->vc_seen;
	if (base >= UINT64_MAX - 1)   /* UINT64_MAX itself is never a view */
		return false;
	*out = base + 1;
	return true;
}

/* This validator voted to move past `view` (to vc_voted) less than
 * eng_vc_window_ms ago: as a follower it locks no block of that view,
 * unless the leader it voted for brings it (bringer), which is the locked
 * block that leader finishes first. Its vote carried its lock; a lock
 * taken after it would be missing from what the new leader gathered, and
 * the new leader's first block would meet it: with twins proposing to
 * different validators, two locks on two blocks at one height, and no
 * quorum for either, ever (decisions.md). The window counts from the
 * first vote for that view and leader; past it the change has completed
 * or failed, and the view's blocks are taken again. (The leader that
 * voted goes on proposing: a vote of its, asked by anyone, stops nothing.)
 * mu held. */
bool eng_vc_left_view(const struct mc_engine *e, uint64_t view, const uint8_t *bringer, uint64_t now)
{
	/* a clock stepped back ends it early */
	return e->vc_voted_ms && view < e->vc_voted && now >= e->vc_voted_ms && now - e->vc_voted_ms < eng_vc_window_ms(e) &&
	       (!bringer || memcmp(bringer, e->vc_voted_leader, MC_PK_LEN) != 0);
}

/* How long a view change may take, from a vote to the new leader's first
 * block: the leader timeout, and at least what its slowest path takes
 * (an ask of each other validator and the hand-over, each up to
 * PEER_TIMEOUT_MS, then the first block's round, VOTE_WAIT_MS). */
uint64_t eng_vc_window_ms(const struct mc_engine *e)
{
	uint64_t slowest = (uint64_t)(e->nval ? e->nval : 1) * PEER_TIMEOUT_MS + VOTE_WAIT_MS;
	uint64_t timeout = e->c.leader_timeout_ms ? e->c.leader_timeout_ms : 10000u;

	return timeout > slowest ? timeout : slowest;
}

/* How long the leader must have been silent, as seen here, for this node
 * to vote it out without the operators' approvals. */
static uint64_t silence_ms(const struct mc_engine *e)
{
	return (e->c.leader_timeout_ms ? e->c.leader_timeout_ms : 10000u) / 2;
}

/* This node's vote for view `view` under `leader`: appended to out (the
 * vote, then the locked block's bundle when the lock is at the next
 * height). Given only for a view just above the current ones, and only
 * with evidence: the leader silent as seen from here, or a quorum of the
 * operators' approvals (ap, or NULL). The leader itself votes without
 * either (a change it is asked for is one it cannot block: the other
 * validators are a quorum) and goes on proposing: its vote stops nothing
 * of its own (decisions.md). A vote given again (the same view and
 * leader) keeps the time of the first. mu held. */
static int vc_vote(struct mc_engine *e, uint64_t view, const uint8_t leader[MC_PK_LEN],
		   const struct mc_promote *ap, struct mc_buf *out, struct mc_err *err)
{
	struct vc_put_ctx pc = { view, leader, 0 };
	struct mc_vc_vote v;
	struct lock l;
	uint64_t now = eng_now(e), base = e->view > e->vc_voted ? e->view : e->vc_voted;

	if (!e->have_chain || !eng_is_validator(e, e->node->pk))
		return mc_err_set(err, EX_NOPERM, _("this node is not a validator"));
	if (!eng_is_validator(e, leader))
		return mc_err_set(err, EX_DATAERR, _("the proposed leader is not a validator"));
	if (view <= e->view)
		return mc_err_set(err, EX_DATAERR, _("view %llu is not after the current view %llu"),
				  (unsigned long long)view, (unsigned long long)e->view);
	if (view == UINT64_MAX || (view > base && view - base > MC_VIEW_AHEAD_MAX))
		return mc_err_set(err, EX_DATAERR, _("view %llu is too far ahead: this node votes up to view %llu"),
				  (unsigned long long)view,
				  (unsigned long long)(base < UINT64_MAX - MC_VIEW_AHEAD_MAX ? base + MC_VIEW_AHEAD_MAX
											: UINT64_MAX - 1));
	if (view < e->vc_voted || (view == e->vc_voted && memcmp(leader, e->vc_voted_leader, MC_PK_LEN) != 0))
		return mc_err_set(err, EX_TEMPFAIL, _("this node already voted for another leader of view %llu"),
				  (unsigned long long)e->vc_voted);
	/* the same vote again only within its window: after it, this node
	 * takes the old view's blocks again, and a vote given then would miss
	 * the locks it takes next (the asker learns "voted" and asks above) */
	if (view == e->vc_voted && e->vc_voted_ms && !eng_vc_left_view(e, e->view, NULL, now))
		return mc_err_set(err, EX_TEMPFAIL, _("this node voted for view %llu a while ago: ask for a later view"),
				  (unsigned long long)e->vc_voted);
	if (ap) {
		uint8_t d[MC_HASH_LEN];

		if (ap->from_view != e->view || memcmp(ap->leader, leader, MC_PK_LEN) != 0)
			return mc_err_set(err, EX_DATAERR,
					  _("the approvals are for another leader or an earlier view (make the token again)"));
		mc_promote_digest(e->chain_id, ap->from_view, ap->leader, d);
		if (mc_approvals_check(&ap->approvals, d, (const uint8_t (*)[MC_PK_LEN])e->vals, e->nval, err) != 0)
			return -1;
	} else if (!eng_am_leader(e) && !eng_leader_silent(e, now, silence_ms(e))) {
		return mc_err_set(err, EX_TEMPFAIL,
				  _("the leader was heard from %llu ms ago: a change needs %llu ms of its silence, or the operators' approvals"),
				  (unsigned long long)(now - e->leader_seen_ms), (unsigned long long)silence_ms(e));
	}
	pc.ms = view == e->vc_voted && e->vc_voted_ms && memcmp(leader, e->vc_voted_leader, MC_PK_LEN) == 0
			? e->vc_voted_ms : now;
	if (mc_store_write(e->s, vc_put_txn, &pc, err) != 0)   /* durable before the vote leaves */
		return -1;
	e->vc_voted = view;
	memcpy(e->vc_voted_leader, leader, MC_PK_LEN);
	e->vc_voted_ms = pc.ms;
	memset(&v, 0, sizeof(v));
	if (eng_lock_get(e, &l, err) != 0)
		return -1;
	if (l.has && l.height == e->height + 1) {
		v.locked_height = l.height;
		v.locked_view = l.view;
		memcpy(v.locked_hash, l.hash, MC_HASH_LEN);
	}
	{
		const struct mc_key *me = e->node;   /* one key for both halves */

		mc_vc_vote_sign(e->chain_id, view, leader, me->sk, me->pk, &v);
	}
	mc_put_raw(out, v.pk, MC_PK_LEN);
	mc_put_u64(out, v.locked_height);
	mc_put_u64(out, v.locked_view);
	mc_put_raw(out, v.locked_hash, MC_HASH_LEN);
	mc_put_raw(out, v.sig, MC_SIG_LEN);
	if (v.locked_height)
		mc_put_raw(out, l.bundle, l.len);
	eng_lock_release(&l);
	mc_log(LOG_INFO, NULL, "voted to move to view %llu%s", (unsigned long long)view,
		      ap ? " (the operators approved it)" : "");
	return 0;
}

static int parse_view_query(const char *view_s, const char *leader_s, uint64_t *view, uint8_t leader[MC_PK_LEN])
{
	char *end;

	if (!view_s || !leader_s || !*view_s || *view_s < '0' || *view_s > '9')
		return -1;
	errno = 0;
	*view = strtoull(view_s, &end, 10);
	if (*end || errno == ERANGE || strlen(leader_s) != 2 * MC_PK_LEN || mc_unhex(leader_s, leader, MC_PK_LEN) != 0)
		return -1;
	return 0;
}

void mc_engine_on_view_vote(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const char *view_s,
			    const char *leader_s, const char *why, const uint8_t *body, size_t len,
			    struct mc_reply *r)
{
	uint64_t view;
	uint8_t leader[MC_PK_LEN];
	struct mc_promote ap;
	struct mc_err err = { 0 };
	char who[17];
	bool timeout = why && strcmp(why, "timeout") == 0;
	cJSON *j;

	eng_short_pk(from, who);
	if (parse_view_query(view_s, leader_s, &view, leader) != 0) {
		eng_http_reply_text(r, 400, "view=N&leader=HEX");
		return;
	}
	if (len && mc_promote_decode(body, len, &ap, &err) != 0) {
		eng_http_reply_text(r, 400, err.msg);
		return;
	}
	pthread_mutex_lock(&e->mu);
	mc_buf_reset(&r->body);
	if (vc_vote(e, view, leader, len ? &ap : NULL, &r->body, &err) != 0) {
		uint64_t voted = e->vc_voted;

		pthread_mutex_unlock(&e->mu);
		mc_log(LOG_WARNING, NULL, "view change to %llu asked by %s%s refused: %s", (unsigned long long)view, who,
			      timeout ? " (leader timeout)" : "", err.msg);
		/* the asker learns the view this node voted for, to ask above it */
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "error", err.msg);
		cJSON_AddNumberToObject(j, "voted", (double)voted);
		eng_http_reply_json(r, err.code == EX_TEMPFAIL ? 409 : 422, j);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	r->status = 200;
	r->ctype = "application/octet-stream";
}

/* Whether the block a vote came with (p, n) backs the lock it claims: that
 * block, at the claimed height and view, signed by its proposer, next on
 * this node's chain and passing the checks that read no tx (its proposer
 * leads its view, or is named by the VIEW_CHANGE it starts with). A vote's
 * signature covers only the claim: a voter could otherwise name a lock in
 * view 1000 with a junk block, and every new leader would try to finish
 * a block no validator can vote for. */
static bool relay_backs(struct mc_engine *e, const struct mc_vc_vote *vo, const uint8_t *p, size_t n)
{
	struct mc_err err = { 0 };
	struct mc_bundle b;
	bool ok;

	if (!n || mc_bundle_decode(p, n, &b, &err) != 0)
		return false;
	ok = b.h.height == vo->locked_height && b.h.view == vo->locked_view &&
	     memcmp(b.hash, vo->locked_hash, MC_HASH_LEN) == 0 && eng_proposal_signed(&b) &&
	     eng_block_precheck(e, &b, MC_APPLY_PROPOSAL, &err) == 0;
	mc_bundle_release(&b);
	return ok;
}

/* Hands a quorum's VIEW_CHANGE (and the locked block to finish first) to
 * this node, the new leader. mu held. */
static int vc_adopt(struct mc_engine *e, const uint8_t *body, size_t len, struct mc_err *err)
{
	struct mc_view_change vc;
	struct mc_rd rd;
	const uint8_t *vcb, *relay;
	size_t vcn, relayn;
	const struct mc_vc_vote *best = NULL;

	mc_rd_init(&rd, body, len);
	vcb = mc_get_bytes(&rd, MC_TX_BODY_MAX, &vcn);
	relay = mc_get_bytes(&rd, MC_BUNDLE_MAX, &relayn);
	if (!mc_rd_finish(&rd) || mc_view_change_decode(vcb, vcn, &vc, err) != 0)
		return mc_err_set(err, EX_DATAERR, _("malformed view change"));
	if (memcmp(vc.leader, e->node->pk, MC_PK_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("the view change names another leader"));
	if (vc.view <= e->view)
		return mc_err_set(err, EX_DATAERR, _("the view change is not after the current view"));
	if (mc_view_change_check(&vc, e->chain_id, (const uint8_t (*)[MC_PK_LEN])e->vals, e->nval, err) != 0)
		return -1;
	for (uint16_t i = 0; i < vc.count; i++)
		if (vc.votes[i].locked_height == e->height + 1 &&
		    (!best || vc.votes[i].locked_view > best->locked_view))
			best = &vc.votes[i];
	mc_buf_reset(&e->vc_relay);
	if (best) {
		struct mc_bundle b;
		const struct mc_vc_vote *claim = NULL;

		if (mc_bundle_decode(relay, relayn, &b, err) != 0)
			return mc_err_wrap(err, _("the locked block"));
		/* any block locked in the highest view: two there (an
		 * equivocating proposer's) cannot both have been certified,
		 * and the lockers of a certified one refuse the other */
		for (uint16_t i = 0; i < vc.count; i++)
			if (vc.votes[i].locked_height == e->height + 1 && vc.votes[i].locked_view == best->locked_view &&
			    memcmp(b.hash, vc.votes[i].locked_hash, MC_HASH_LEN) == 0)
				claim = &vc.votes[i];
		mc_bundle_release(&b);
		if (!claim)
			return mc_err_set(err, EX_DATAERR, _("the block given is not the highest locked block"));
		if (!relay_backs(e, claim, relay, relayn))
			return mc_err_set(err, EX_DATAERR, _("the locked block given does not back the lock claimed"));
		mc_put_raw(&e->vc_relay, relay, relayn);
	}
	mc_buf_reset(&e->vc_body);
	mc_put_raw(&e->vc_body, vcb, vcn);
	e->vc_view = vc.view;
	e->vc_adopted_ms = eng_now(e);
	mc_log(LOG_NOTICE, NULL, "taking over as leader of view %llu%s", (unsigned long long)vc.view,
		      best ? _(" (finishing a locked block first)") : "");
	pthread_cond_broadcast(&e->cv);
	return 0;
}

void mc_engine_on_view_change(struct mc_engine *e, const uint8_t from[MC_PK_LEN], const uint8_t *body,
			      size_t len, struct mc_reply *r)
{
	struct mc_err err = { 0 };
	char who[17];

	eng_short_pk(from, who);
	pthread_mutex_lock(&e->mu);
	if (vc_adopt(e, body, len, &err) != 0) {
		pthread_mutex_unlock(&e->mu);
		mc_log(LOG_WARNING, NULL, "view change from %s refused: %s", who, err.msg);
		eng_http_reply_text(r, 422, err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	eng_http_reply_text(r, 202, "ok");
}

/* One view change this node asks for: the votes gathered so far. */
struct vc_run {
	uint64_t view;
	const uint8_t *leader;
	bool timeout;
	uint8_t chain[MC_HASH_LEN];
	char lhex[2 * MC_PK_LEN + 1];
	struct mc_view_change vc;
	struct mc_buf mine, relay, apb;   /* own vote; the highest locked block; approvals */
	uint64_t relay_view, seen;        /* seen: the highest view a peer said it voted for */
	uint64_t height;                  /* this node's chain, when it asked */
	struct target { char url[MC_URL_MAX + 1]; uint8_t pk[MC_PK_LEN]; } *tg;   /* the other validators */
	size_t nt;
	void *cl;
};

static void vc_run_free(struct mc_engine *e, struct vc_run *v)
{
	if (v->cl)
		e->tr.close(e->tr.ctx, v->cl);
	mc_buf_release(&v->apb);
	mc_buf_release(&v->mine);
	mc_buf_release(&v->relay);
	free(v->tg);
}

/* This node's chain height, as the engine last loaded it. mu not held. */
static uint64_t chain_height(struct mc_engine *e)
{
	uint64_t h;

	pthread_mutex_lock(&e->mu);
	h = e->height;
	pthread_mutex_unlock(&e->mu);
	return h;
}

/* Adds the vote of validator `from` (p, n: the vote, then a locked block)
 * when it checks, and a
 * lock it claims at the next height only with a block that backs it
 * (relay_backs): a vote claiming one without is not counted, unless this
 * node's chain has since passed that height (a commit landed while it
 * asked; such a lock no longer matters and its block no longer follows
 * the head). mu not held. */
static void vc_add_vote(struct mc_engine *e, struct vc_run *v, const uint8_t from[MC_PK_LEN], const uint8_t *p,
			size_t n)
{
	struct mc_rd rd;
	struct mc_vc_vote vo;

	mc_rd_init(&rd, p, n);
	mc_get_raw(&rd, vo.pk, MC_PK_LEN);
	vo.locked_height = mc_get_u64(&rd);
	vo.locked_view = mc_get_u64(&rd);
	mc_get_raw(&rd, vo.locked_hash, MC_HASH_LEN);
	mc_get_raw(&rd, vo.sig, MC_SIG_LEN);
	/* the asked validator's own vote, once: another key's (an outsider's,
	 * or a copy of someone else's vote) would make a VIEW_CHANGE the new
	 * leader refuses, or count one validator twice */
	if (!mc_rd_ok(&rd) || memcmp(vo.pk, from, MC_PK_LEN) != 0 ||
	    mc_vc_vote_verify(v->chain, v->view, v->leader, &vo) != 0)
		return;
	for (uint16_t k = 0; k < v->vc.count; k++)
		if (memcmp(v->vc.votes[k].pk, vo.pk, MC_PK_LEN) == 0)
			return;
	if (vo.locked_height == v->height + 1 && !relay_backs(e, &vo, rd.p, rd.left) &&
	    chain_height(e) < vo.locked_height) {
		char who[17];

		eng_short_pk(vo.pk, who);
		mc_log(LOG_WARNING, NULL, "view change: %s claims a lock at height %llu that the block it sent does not back: its vote is not counted",
		       who, (unsigned long long)vo.locked_height);
		return;
	}
	{
		size_t j = v->vc.count;

		while (j > 0 && memcmp(v->vc.votes[j - 1].pk, vo.pk, MC_PK_LEN) > 0) {
			v->vc.votes[j] = v->vc.votes[j - 1];
			j--;
		}
		v->vc.votes[j] = vo;
		v->vc.count++;
		/* the highest locked block; of two in one view (an equivocating
		 * proposer's), the new leader's own, which it can sign */
		if (vo.locked_height == v->height + 1 &&
		    (v->relay.len == 0 || vo.locked_view > v->relay_view ||
		     (vo.locked_view == v->relay_view && memcmp(vo.pk, v->leader, MC_PK_LEN) == 0))) {
			mc_buf_reset(&v->relay);
			mc_put_raw(&v->relay, rd.p, rd.left);
			v->relay_view = vo.locked_view;
		}
	}
}

/* Asks target i for its vote, and adds it when it is target i's. A refusal is logged, and the
 * view it says it voted for noted. mu not held. */
static void vc_ask(struct mc_engine *e, struct vc_run *v, size_t i, struct mc_err *err)
{
	struct mc_peer_resp resp;
	char path[200];

	memset(&resp, 0, sizeof(resp));
	snprintf(path, sizeof(path), "/v1/view-vote?view=%llu&leader=%s%s", (unsigned long long)v->view, v->lhex,
		 v->timeout ? "&why=timeout" : "");
	if (e->tr.send(v->cl, v->chain, e->node, v->tg[i].url, path, v->apb.data, v->apb.len, v->tg[i].pk,
		       PEER_TIMEOUT_MS, MC_ENGINE_BLOCK_BODY_MAX, &resp, err) != 0 || resp.status != 200) {
		if (resp.status) {
			cJSON *j = cJSON_ParseWithLength((const char *)resp.body, resp.len);
			const cJSON *vo = j ? cJSON_GetObjectItemCaseSensitive(j, "voted") : NULL;
			const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;

			if (cJSON_IsNumber(vo) && vo->valuedouble > (double)v->seen && vo->valuedouble < 1.8e19)
				v->seen = (uint64_t)vo->valuedouble;
			mc_log(LOG_WARNING, NULL, "view change: %s: HTTP %ld: %.150s", v->tg[i].url, resp.status,
				      cJSON_IsString(m) ? m->valuestring : "");
			cJSON_Delete(j);
		}
		mc_peer_resp_release(&resp);
		mc_err_clear(err);
		return;
	}
	vc_add_vote(e, v, v->tg[i].pk, resp.body, resp.len);
	mc_peer_resp_release(&resp);
}

/* A peer already voted above: the next attempt asks above that (bounded by
 * what each voter takes, MC_VIEW_AHEAD_MAX). mu held. */
static void vc_note_seen(struct mc_engine *e, uint64_t seen)
{
	uint64_t base = e->view > e->vc_voted ? e->view : e->vc_voted;
	uint64_t most = base < UINT64_MAX - MC_VIEW_AHEAD_MAX ? base + MC_VIEW_AHEAD_MAX - 1 : base;

	/* what a lying voter says cannot push us past what voters take */
	if (seen > most)
		seen = most;
	if (seen > e->vc_seen)
		e->vc_seen = seen;
}

/* Hands the quorum's VIEW_CHANGE (msg) to the new leader: this node, or a
 * peer. mu held (released during the call). */
static int vc_hand_over(struct mc_engine *e, struct vc_run *v, const struct mc_buf *msg, struct mc_err *err)
{
	char url[MC_URL_MAX + 1] = "";
	struct mc_peer_resp resp;
	int rc;

	if (memcmp(v->leader, e->node->pk, MC_PK_LEN) == 0)
		return vc_adopt(e, msg->data, msg->len, err);
	for (size_t i = 0; i < v->nt; i++)
		if (memcmp(v->tg[i].pk, v->leader, MC_PK_LEN) == 0)
			snprintf(url, sizeof(url), "%s", v->tg[i].url);
	pthread_mutex_unlock(&e->mu);
	memset(&resp, 0, sizeof(resp));
	rc = !*url ? mc_err_set(err, EX_UNAVAILABLE, _("the new leader's address is not known"))
		   : e->tr.send(v->cl, v->chain, e->node, url, "/v1/view-change", msg->data, msg->len, v->leader,
				PEER_TIMEOUT_MS, 4096, &resp, err);
	if (rc == 0 && resp.status != 202)
		rc = mc_err_set(err, EX_PROTOCOL, _("the new leader refused the view change: %.200s"),
				(const char *)resp.body);
	mc_peer_resp_release(&resp);
	pthread_mutex_lock(&e->mu);
	return rc;
}

/* This node's own vote, and the validators to ask. mu held. */
static int vc_begin(struct mc_engine *e, struct vc_run *v, const struct mc_promote *ap, struct mc_err *err)
{
	v->vc.view = v->view;
	memcpy(v->vc.leader, v->leader, MC_PK_LEN);
	mc_buf_init(&v->mine);
	mc_buf_init(&v->relay);
	mc_buf_init(&v->apb);
	if (ap)
		mc_promote_encode(ap, &v->apb);
	if (!(v->tg = calloc(PEERS_MAX, sizeof(*v->tg))) || mc_buf_failed(&v->apb))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	/* our own vote first */
	if (vc_vote(e, v->view, v->leader, ap, &v->mine, err) != 0)
		return -1;
	for (size_t i = 0; i < e->npeers; i++)
		if (!e->peers[i]->gone && eng_peer_is_validator(e, e->peers[i])) {
			snprintf(v->tg[v->nt].url, sizeof(v->tg[v->nt].url), "%s", e->peers[i]->url);
			memcpy(v->tg[v->nt].pk, e->peers[i]->pk, MC_PK_LEN);
			v->nt++;
		}
	memcpy(v->chain, e->chain_id, MC_HASH_LEN);
	v->height = e->height;
	mc_hex(v->leader, MC_PK_LEN, v->lhex);
	return 0;
}

/* Asks every validator to move to `view` under `leader`, and hands a
 * quorum's VIEW_CHANGE to the leader. mu held (released during calls). */
int eng_vc_start(struct mc_engine *e, uint64_t view, const uint8_t leader[MC_PK_LEN], bool timeout,
		 const struct mc_promote *ap, struct mc_err *err)
{
	struct vc_run *v = calloc(1, sizeof(*v));
	struct mc_buf body, msg;
	size_t quorum = mc_quorum(e->nval);
	int rc;

	if (!v)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	v->view = view;
	v->leader = leader;
	v->timeout = timeout;
	if (vc_begin(e, v, ap, err) != 0) {
		vc_run_free(e, v);
		free(v);
		return -1;
	}
	mc_buf_init(&body);
	mc_buf_init(&msg);
	pthread_mutex_unlock(&e->mu);
	rc = e->tr.open(e->tr.ctx, &v->cl, err);
	if (rc == 0)
		vc_add_vote(e, v, e->node->pk, v->mine.data, v->mine.len);
	for (size_t i = 0; rc == 0 && i < v->nt && v->vc.count < MC_MAX_VALIDATORS; i++)
		vc_ask(e, v, i, err);
	if (rc == 0 && v->vc.count < quorum)
		rc = mc_err_set(err, EX_TEMPFAIL, _("%u of %zu validators agreed to view %llu; %zu needed"),
				(unsigned)v->vc.count, e->nval, (unsigned long long)view, quorum);
	if (rc == 0) {
		mc_view_change_encode(&v->vc, &body);
		mc_put_bytes(&msg, body.data, body.len);
		mc_put_bytes(&msg, v->relay.data, v->relay.len);
	}
	pthread_mutex_lock(&e->mu);
	vc_note_seen(e, v->seen);
	if (rc == 0)
		rc = vc_hand_over(e, v, &msg, err);
	vc_run_free(e, v);
	free(v);
	mc_buf_release(&body);
	mc_buf_release(&msg);
	return rc;
}

void mc_engine_on_promote(struct mc_engine *e, const char *leader_s, const uint8_t *body, size_t len,
			  struct mc_reply *r)
{
	uint8_t leader[MC_PK_LEN];
	struct mc_promote ap;
	struct mc_err err = { 0 };
	uint64_t view;
	cJSON *j;

	if (!leader_s || strlen(leader_s) != 2 * MC_PK_LEN || mc_unhex(leader_s, leader, MC_PK_LEN) != 0) {
		eng_http_reply_text(r, 400, "leader=HEX");
		return;
	}
	if (len && mc_promote_decode(body, len, &ap, &err) != 0) {
		eng_http_reply_text(r, 400, err.msg);
		return;
	}
	pthread_mutex_lock(&e->mu);
	if (!eng_vc_next_view(e, &view)) {
		pthread_mutex_unlock(&e->mu);
		eng_http_reply_text(r, 422, _("no view number is left"));
		return;
	}
	if (eng_vc_start(e, view, leader, false, len ? &ap : NULL, &err) != 0) {
		pthread_mutex_unlock(&e->mu);
		mc_log(LOG_WARNING, NULL, "promotion to view %llu failed: %s", (unsigned long long)view, err.msg);
		eng_http_reply_text(r, err.code == EX_TEMPFAIL ? 503 : 422, err.msg);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "view", (double)view);
	eng_http_reply_json(r, 202, j);
}

/* The candidate after a silent leader: the first validator after it (in
 * key order) that this node sees up, itself included. mu held. */
bool eng_vc_candidate(struct mc_engine *e, uint8_t out[MC_PK_LEN])
{
	size_t at = 0;

	for (size_t i = 0; i < e->nval; i++)
		if (memcmp(e->vals[i], e->leader, MC_PK_LEN) == 0)
			at = i;
	for (size_t k = 1; k < e->nval; k++) {
		const uint8_t *pk = e->vals[(at + k) % e->nval];

		if (memcmp(pk, e->node->pk, MC_PK_LEN) == 0) {
			memcpy(out, pk, MC_PK_LEN);
			return true;
		}
		for (size_t i = 0; i < e->npeers; i++)
			if (!e->peers[i]->gone && e->peers[i]->up && e->peers[i]->pk_known &&
			    memcmp(e->peers[i]->pk, pk, MC_PK_LEN) == 0) {
				memcpy(out, pk, MC_PK_LEN);
				return true;
			}
	}
	return false;
}

/* The new leader's work: finish the locked block, then the VIEW_CHANGE
 * block. mu held. 0 while there is more to do, 1 when done. */
int eng_vc_take_over(struct mc_engine *e, struct mc_err *err)
{
	struct mc_txin first;
	struct mc_buf tx;
	int rc;

	if (e->vc_view <= e->view) {
		e->vc_view = 0;
		return 1;
	}
	if (e->vc_relay.len) {
		struct mc_bundle b;

		if (mc_bundle_decode(e->vc_relay.data, e->vc_relay.len, &b, err) != 0)
			return -1;
		if (b.h.height == e->height + 1) {
			mc_buf_reset(&e->prop);
			mc_put_raw(&e->prop, e->vc_relay.data, e->vc_relay.len);
			memcpy(e->prop_hash, b.hash, MC_HASH_LEN);
			e->prop_height = b.h.height;
			e->prop_view = b.h.view;
			mc_bundle_release(&b);
			mc_log(LOG_INFO, NULL, "finishing locked block %llu", (unsigned long long)e->prop_height);
			rc = eng_run_proposal(e, err);
			if (rc != 0)
				return rc < 0 ? -1 : 0;
		} else {
			mc_bundle_release(&b);
		}
		mc_buf_reset(&e->vc_relay);
	}
	if (e->prop.len && e->prop_view == e->vc_view && e->prop_height == e->height + 1) {
		/* this view's first block, short of votes: the same block again
		 * (a second one at its height would be this node equivocating) */
		rc = eng_run_proposal(e, err);
		goto proposed;
	}
	/* the VIEW_CHANGE as this node's next tx, first in the block */
	{
		uint64_t seq = 1;
		const struct mc_key *me = e->node;   /* one key for the whole tx */
		struct next_seq_ctx nc = { me->pk, &seq };
		struct mc_tx t;

		mc_buf_init(&tx);
		if (mc_store_read(e->s, next_seq_txn, &nc, err) != 0) {
			mc_buf_release(&tx);
			return -1;
		}
		memset(&t, 0, sizeof(t));
		t.version = MC_TX_VERSION;
		t.type = MC_TX_VIEW_CHANGE;
		memcpy(t.author, me->pk, MC_PK_LEN);
		t.timestamp_ms = eng_now(e);
		t.seq = seq;
		t.body = e->vc_body.data;
		t.body_len = e->vc_body.len;
		mc_tx_sign(&t, e->chain_id, me->sk);
		mc_tx_encode(&t, &tx);
		mc_put_u32(&tx, 0);   /* no side rows */
	}
	first.tx = tx.data;
	first.tx_len = tx.len - 4;
	first.side = tx.data + tx.len - 4;
	first.side_len = 4;
	rc = eng_make_proposal(e, &first, err);
	mc_buf_release(&tx);
	if (rc != 0) {
		e->vc_view = 0;   /* refused: the next timeout tries again */
		return -1;
	}
	rc = eng_run_proposal(e, err);
proposed:
	if (rc == 0) {
		mc_log(LOG_NOTICE, NULL, "leader of view %llu", (unsigned long long)e->view);
		e->vc_view = 0;
		return 1;
	}
	return rc < 0 ? -1 : 0;
}

