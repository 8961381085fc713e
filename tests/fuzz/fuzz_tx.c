/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the tx decoder and every body decoder (the validator-set
 * ones with their digests and signatures), with attachments; and the
 * operators' promotion approvals (a promote token's body, a view-vote
 * request's body), decoded from the raw input. */
#include "config.h"

#include <string.h>

#include "consent.h"
#include "crypto.h"
#include "fuzz.h"
#include "identity.h"
#include "tx.h"
#include "valset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mc_tx tx;
	uint8_t h[MC_HASH_LEN], zero[MC_HASH_LEN] = { 0 };
	static struct mc_promote pr;
	static const uint8_t one[1][MC_PK_LEN] = { { 1 } };

	if (mc_promote_decode(data, size, &pr, NULL) == 0) {
		mc_promote_digest(zero, pr.from_view, pr.leader, h);
		if (mc_approvals_check(&pr.approvals, h, one, 1, NULL) == 0)
			__builtin_trap();   /* no seed signs as that key */
	}
	if (mc_tx_decode(data, size, &tx, NULL) != 0)
		return 0;
	mc_tx_hash(&tx, h);
	if (mc_tx_verify_sig(&tx, zero) == 0)
		h[0] ^= 1;
	switch (tx.type) {
	case MC_TX_IDENTITY_ENROLL: {
		struct mc_enroll e;

		(void)mc_enroll_decode(tx.body, tx.body_len, &e, NULL);
		break;
	}
	case MC_TX_IDENTITY_REVOKE: {
		struct mc_revoke r;

		(void)mc_revoke_decode(tx.body, tx.body_len, &r, NULL);
		break;
	}
	case MC_TX_IDENTITY_ROTATE: {
		struct mc_rotate r;

		(void)mc_rotate_decode(tx.body, tx.body_len, &r, NULL);
		break;
	}
	case MC_TX_RECORD_PUT: {
		struct mc_put p;
		struct mc_rd r;

		if (mc_put_decode(tx.body, tx.body_len, &p, NULL) != 0)
			break;
		mc_rd_init(&r, tx.attach, tx.attach_len);
		for (uint32_t i = 0; i < p.count; i++) {
			struct mc_entry e;

			if (mc_entry_read(&r, &e, NULL) != 0)
				break;
			mc_entry_leaf(&e, h);
		}
		break;
	}
	case MC_TX_RECORD_ERASE: {
		struct mc_erase e;

		(void)mc_erase_decode(tx.body, tx.body_len, &e, NULL);
		break;
	}
	case MC_TX_CONSENT_GRANT: {
		struct mc_grant g;
		struct mc_share sh;

		if (mc_grant_decode(tx.body, tx.body_len, &g, NULL) == 0 &&
		    mc_share_decode(tx.attach, tx.attach_len, &sh, NULL) == 0 && sh.count)
			h[0] ^= sh.items[0];
		break;
	}
	case MC_TX_CONSENT_REVOKE: {
		struct mc_consent_revoke r;

		(void)mc_consent_revoke_decode(tx.body, tx.body_len, &r, NULL);
		break;
	}
	case MC_TX_ACCESS: {
		struct mc_access a;

		(void)mc_access_decode(tx.body, tx.body_len, &a, NULL);
		break;
	}
	case MC_TX_ANCHOR_COMMIT: {
		struct mc_anchor_commit ac;

		(void)mc_anchor_commit_decode(tx.body, tx.body_len, &ac, NULL);
		break;
	}
	case MC_TX_ALERT_ACK: {
		struct mc_alert_ack ack;

		(void)mc_alert_ack_decode(tx.body, tx.body_len, &ack, NULL);
		break;
	}
	case MC_TX_NODE_ADD: {
		struct mc_node_add a;

		if (mc_node_add_decode(tx.body, tx.body_len, &a, NULL) == 0) {
			mc_node_change_digest(zero, MC_NODE_OP_ADD, a.pk, a.name, a.name_len, a.url,
					      a.url_len, a.epoch, h);
			if (mc_approval_verify(h, &a.approvals.a[0]) == 0)
				h[0] ^= 1;
		}
		break;
	}
	case MC_TX_NODE_REMOVE: {
		struct mc_node_remove r;

		if (mc_node_remove_decode(tx.body, tx.body_len, &r, NULL) == 0)
			mc_node_change_digest(zero, MC_NODE_OP_REMOVE, r.pk, NULL, 0, NULL, 0, r.epoch, h);
		break;
	}
	case MC_TX_VIEW_CHANGE: {
		static struct mc_view_change v;

		if (mc_view_change_decode(tx.body, tx.body_len, &v, NULL) == 0 &&
		    mc_vc_vote_verify(zero, v.view, v.leader, &v.votes[v.count - 1]) == 0)
			h[0] ^= 1;
		break;
	}
	case MC_TX_NODE_ROTATE: {
		static struct mc_node_rotate r;

		if (mc_node_rotate_decode(tx.body, tx.body_len, &r, NULL) == 0) {
			mc_node_rotate_digest(zero, r.old_pk, r.new_pk, r.epoch, h);
			if (mc_sign_verify(r.new_pk, h, MC_HASH_LEN, r.new_sig) == 0)
				h[0] ^= 1;
		}
		break;
	}
	default:
		break;
	}
	return 0;
}

bool fuzz_seed(int k, struct mc_buf *out)
{
	uint8_t seed[32] = { 1 }, pk[32], sk[64], chain[32] = { 0 };
	struct mc_buf body, attach;
	struct mc_tx tx;

	if (k > 11)
		return false;
	mc_sign_seed_keypair(seed, pk, sk);
	if (k == 10) {
		/* a promotion approved by one operator */
		struct mc_promote p = { .from_view = 3 };
		uint8_t d[MC_HASH_LEN];

		memcpy(p.leader, pk, 32);
		mc_promote_digest(chain, p.from_view, p.leader, d);
		p.approvals.count = 1;
		mc_approval_sign(d, sk, pk, &p.approvals.a[0]);
		mc_promote_encode(&p, out);
		return true;
	}
	mc_buf_init(&body);
	mc_buf_init(&attach);
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	memcpy(tx.author, pk, 32);
	tx.seq = 7;
	if (k == 0) {
		struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr A", .name_len = 4,
				       .org = (const uint8_t *)"Org", .org_len = 3 };

		tx.type = MC_TX_IDENTITY_ENROLL;
		mc_enroll_encode(&e, &body);
	} else if (k == 1) {
		struct mc_revoke r = { .reason = (const uint8_t *)"left", .reason_len = 4 };

		tx.type = MC_TX_IDENTITY_REVOKE;
		mc_revoke_encode(&r, &body);
	} else if (k == 2) {
		struct mc_put p = { .count = 2 };
		struct mc_entry e = { .version = 1, .category = (const uint8_t *)"note", .category_len = 4,
				      .ctype = (const uint8_t *)"text/plain", .ctype_len = 10, .ct_size = 57 };

		tx.type = MC_TX_RECORD_PUT;
		mc_put_encode(&p, &body);
		mc_entry_encode(&e, &attach);
		e.version = 2;
		mc_entry_encode(&e, &attach);
		tx.attach = attach.data;
		tx.attach_len = attach.len;
	} else if (k == 3) {
		struct mc_erase e = { .reason = (const uint8_t *)"request", .reason_len = 7 };

		tx.type = MC_TX_RECORD_ERASE;
		mc_erase_encode(&e, &body);
	} else if (k == 4) {
		static const uint8_t items[MC_SHARE_ITEM_LEN] = { 1, 2, 3 };
		struct mc_share sh = { .epoch = 1, .count = 1, .items = items };
		uint8_t hash[32];
		struct mc_grant g = { .purpose = MC_PURPOSE_TREATMENT, .not_after = MC_TIME_OPEN,
				      .ncat = 1, .attest_kind = MC_ATTEST_CONSENT_FORM,
				      .attest = (const uint8_t *)"form 1", .attest_len = 6 };

		g.cat[0] = (const uint8_t *)"lab";
		g.cat_len[0] = 3;
		mc_share_encode(&sh, &attach);
		mc_sha256(attach.data, attach.len, hash);
		g.share = hash;
		g.share_len = 32;
		tx.type = MC_TX_CONSENT_GRANT;
		mc_grant_encode(&g, &body);
		tx.attach = attach.data;
		tx.attach_len = attach.len;
	} else if (k == 7 || k == 8) {
		/* NODE_ADD, NODE_REMOVE: two approvals by throwaway keys */
		uint8_t s2[32] = { 2 }, pk2[32], sk2[64], digest[32];
		struct mc_approval a1, a2;
		struct mc_node_add na = { .name = (const uint8_t *)"node-b", .name_len = 6,
					  .url = (const uint8_t *)"https://b.example:7700", .url_len = 22,
					  .epoch = 1 };
		struct mc_node_remove nr = { .epoch = 2 };

		mc_sign_seed_keypair(s2, pk2, sk2);
		memset(na.pk, 0xb0, 32);
		memcpy(nr.pk, pk2, 32);
		mc_node_change_digest(chain, k == 7 ? MC_NODE_OP_ADD : MC_NODE_OP_REMOVE, na.pk, na.name,
				      na.name_len, na.url, na.url_len, na.epoch, digest);
		mc_approval_sign(digest, sk, pk, &a1);
		mc_approval_sign(digest, sk2, pk2, &a2);
		mc_approvals_add(&na.approvals, &a1, NULL);
		mc_approvals_add(&na.approvals, &a2, NULL);
		nr.approvals = na.approvals;
		tx.type = k == 7 ? MC_TX_NODE_ADD : MC_TX_NODE_REMOVE;
		if (k == 7)
			mc_node_add_encode(&na, &body);
		else
			mc_node_remove_encode(&nr, &body);
	} else if (k == 9) {
		static struct mc_view_change v;

		memset(&v, 0, sizeof(v));
		v.view = 3;
		memcpy(v.leader, pk, 32);
		v.count = 1;
		v.votes[0].locked_height = 12;
		v.votes[0].locked_view = 2;
		memset(v.votes[0].locked_hash, 0x5a, 32);
		mc_vc_vote_sign(chain, v.view, v.leader, sk, pk, &v.votes[0]);
		tx.type = MC_TX_VIEW_CHANGE;
		mc_view_change_encode(&v, &body);
	} else if (k == 11) {
		/* NODE_ROTATE: pk's key to a fresh one, both signing */
		uint8_t s2[32] = { 3 }, pk2[32], sk2[64], digest[32];
		static struct mc_node_rotate r = { .epoch = 4 };

		mc_sign_seed_keypair(s2, pk2, sk2);
		memcpy(r.old_pk, pk, 32);
		memcpy(r.new_pk, pk2, 32);
		mc_node_rotate_digest(chain, r.old_pk, r.new_pk, r.epoch, digest);
		mc_sign(sk2, digest, MC_HASH_LEN, r.new_sig);
		r.approvals.count = 1;
		mc_approval_sign(digest, sk, pk, &r.approvals.a[0]);
		tx.type = MC_TX_NODE_ROTATE;
		mc_node_rotate_encode(&r, &body);
	} else if (k == 6) {
		struct mc_anchor_commit ac = { .tree_size = 1000, .public_chain_id = 31337, .block_number = 7 };

		ac.root[0] = 1;
		tx.type = MC_TX_ANCHOR_COMMIT;
		mc_anchor_commit_encode(&ac, &body);
	} else {
		struct mc_access a = { .version = 1, .purpose = MC_PURPOSE_EMERGENCY,
				       .outcome = MC_OUTCOME_BREAK_GLASS, .glass = (const uint8_t *)"er",
				       .glass_len = 2 };

		tx.type = MC_TX_ACCESS;
		mc_access_encode(&a, &body);
	}
	tx.body = body.data;
	tx.body_len = body.len;
	mc_tx_sign(&tx, chain, sk);
	mc_tx_encode(&tx, out);
	mc_buf_release(&body);
	mc_buf_release(&attach);
	return true;
}
