/* SPDX-License-Identifier: Apache-2.0 */
/* Transactions and blocks: encodings round-trip, decoders refuse malformed
 * input at every length, signatures bind every field and the chain id. */
#include "config.h"

#include <criterion/criterion.h>
#include <string.h>

#include "block.h"
#include "crypto.h"
#include "orgrot.h"
#include "text.h"
#include "tx.h"
#include "util.h"

static uint8_t sk[MC_SK_LEN], pk[MC_PK_LEN];
static const uint8_t chain[MC_HASH_LEN] = { 1, 2, 3 };

static void setup(void)
{
	uint8_t seed[MC_SEED_LEN] = { 7 };

	cr_assert_eq(mc_crypto_init(), 0);
	mc_sign_seed_keypair(seed, pk, sk);
}

TestSuite(tx, .init = setup);

static void make_tx(struct mc_tx *tx, struct mc_buf *body)
{
	struct mc_revoke r = { .reason = (const uint8_t *)"left", .reason_len = 4 };

	memset(r.pk, 9, MC_PK_LEN);
	mc_buf_init(body);
	mc_revoke_encode(&r, body);
	memset(tx, 0, sizeof(*tx));
	tx->version = MC_TX_VERSION;
	tx->type = MC_TX_IDENTITY_REVOKE;
	memcpy(tx->author, pk, MC_PK_LEN);
	tx->timestamp_ms = 1700000000000ULL;
	tx->seq = 5;
	tx->body = body->data;
	tx->body_len = body->len;
	mc_tx_sign(tx, chain, sk);
}

Test(tx, encode_decode_round_trip_preserves_every_field)
{
	struct mc_tx tx, back;
	struct mc_buf body, enc;

	make_tx(&tx, &body);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &back, NULL), 0);
	cr_assert_eq(back.type, tx.type);
	cr_assert_eq(back.seq, 5);
	cr_assert_eq(back.timestamp_ms, tx.timestamp_ms);
	cr_assert_eq(back.body_len, body.len);
	cr_assert_arr_eq(back.body, body.data, body.len);
	cr_assert_arr_eq(back.sig, tx.sig, MC_SIG_LEN);
	cr_assert_eq(mc_tx_verify_sig(&back, chain), 0);
	mc_buf_release(&body);
	mc_buf_release(&enc);
}

Test(tx, decoder_refuses_every_truncation_and_trailing_bytes)
{
	struct mc_tx tx, back;
	struct mc_buf body, enc;
	struct mc_err err = { 0 };

	make_tx(&tx, &body);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	for (size_t n = 0; n < enc.len; n++)
		cr_assert_eq(mc_tx_decode(enc.data, n, &back, &err), -1, "length %zu accepted", n);
	cr_assert_eq(err.code, EX_DATAERR);
	mc_put_u8(&enc, 0);
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &back, NULL), -1);
	mc_buf_release(&body);
	mc_buf_release(&enc);
}

Test(tx, decoder_refuses_unknown_version_and_type)
{
	struct mc_tx tx, back;
	struct mc_buf body, enc;

	make_tx(&tx, &body);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	enc.data[0] = 2;
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &back, NULL), -1);
	enc.data[0] = 1;
	enc.data[1] = 99;
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &back, NULL), -1);
	enc.data[1] = 0;
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &back, NULL), -1);
	mc_buf_release(&body);
	mc_buf_release(&enc);
}

Test(tx, decoder_refuses_over_limit_body_length)
{
	uint8_t buf[2 + 32 + 8 + 8 + 4] = { 1, 2 };

	mc_be32(buf + sizeof(buf) - 4, MC_TX_BODY_MAX + 1);
	struct mc_tx back;
	cr_assert_eq(mc_tx_decode(buf, sizeof(buf), &back, NULL), -1);
	mc_be32(buf + sizeof(buf) - 4, 0xffffffffu);
	cr_assert_eq(mc_tx_decode(buf, sizeof(buf), &back, NULL), -1);
}

Test(tx, signature_binds_every_field_and_the_chain_id)
{
	struct mc_tx tx, t2;
	struct mc_buf body;
	uint8_t other[MC_HASH_LEN] = { 1, 2, 4 };
	uint8_t b2[64];

	make_tx(&tx, &body);
	cr_assert_eq(mc_tx_verify_sig(&tx, chain), 0);
	cr_assert_neq(mc_tx_verify_sig(&tx, other), 0, "signature must not replay on another chain");
	t2 = tx; t2.seq++;
	cr_assert_neq(mc_tx_verify_sig(&t2, chain), 0);
	t2 = tx; t2.timestamp_ms++;
	cr_assert_neq(mc_tx_verify_sig(&t2, chain), 0);
	t2 = tx; t2.type = MC_TX_IDENTITY_ENROLL;
	cr_assert_neq(mc_tx_verify_sig(&t2, chain), 0);
	t2 = tx; t2.author[0] ^= 1;
	cr_assert_neq(mc_tx_verify_sig(&t2, chain), 0);
	memcpy(b2, body.data, body.len);
	b2[3] ^= 0x40;
	t2 = tx; t2.body = b2;
	cr_assert_neq(mc_tx_verify_sig(&t2, chain), 0);
	mc_buf_release(&body);
}

Test(tx, tx_hash_changes_with_the_signature_but_not_the_attachment)
{
	struct mc_tx tx, t2;
	struct mc_buf body;
	uint8_t h1[MC_HASH_LEN], h2[MC_HASH_LEN];

	make_tx(&tx, &body);
	mc_tx_hash(&tx, h1);
	t2 = tx;
	t2.attach = (const uint8_t *)"x";
	t2.attach_len = 1;
	mc_tx_hash(&t2, h2);
	cr_assert_arr_eq(h1, h2, MC_HASH_LEN);
	t2.sig[0] ^= 1;
	mc_tx_hash(&t2, h2);
	cr_assert_arr_neq(h1, h2, MC_HASH_LEN);
	mc_buf_release(&body);
}

Test(tx, enroll_decoder_refuses_bad_roles_names_and_truncation)
{
	struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr A", .name_len = 4 };
	struct mc_enroll back;
	struct mc_buf b;

	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_eq(back.roles, MC_ROLE_CLINICIAN);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_eq(mc_enroll_decode(b.data, n, &back, NULL), -1);
	mc_buf_reset(&b);
	e.roles = 0;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1);
	mc_buf_reset(&b);
	e.roles = 1u << 20;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1);
	mc_buf_reset(&b);
	e.roles = MC_ROLE_ADMIN;
	e.name = (const uint8_t *)"a\x01";
	e.name_len = 2;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1, "control characters refused");
	mc_buf_release(&b);
}

Test(tx, a_patient_enrollment_names_its_subject_and_no_other_does)
{
	uint8_t subject[MC_HASH_LEN] = { 5 };
	struct mc_enroll e = { .roles = MC_ROLE_PATIENT, .name = (const uint8_t *)"Pat", .name_len = 3 };
	struct mc_enroll back;
	struct mc_buf b;

	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1, "a patient without a subject");
	mc_buf_reset(&b);
	e.subject = subject;
	e.subject_len = MC_HASH_LEN;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_arr_eq(back.subject, subject, MC_HASH_LEN);
	mc_buf_reset(&b);
	e.roles = MC_ROLE_CLINICIAN;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1, "a clinician with a subject");
	mc_buf_reset(&b);
	e.roles = MC_ROLE_PATIENT;
	e.subject_len = 31;
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_enroll_decode(b.data, b.len, &back, NULL), -1, "a short subject");
	mc_buf_release(&b);
}

Test(tx, entry_round_trip_and_leaf_matches_encoding)
{
	struct mc_entry e, back;
	struct mc_buf b;
	struct mc_rd r;
	uint8_t l1[MC_HASH_LEN], l2[MC_HASH_LEN];
	uint8_t pre[1 + 512] = { 0 };

	memset(&e, 0, sizeof(e));
	memset(e.id, 0xab, sizeof(e.id));
	e.version = 3;
	e.category = (const uint8_t *)"observation";
	e.category_len = 11;
	e.ctype = (const uint8_t *)"application/fhir+json";
	e.ctype_len = 21;
	e.ct_size = 1234;
	mc_buf_init(&b);
	mc_entry_encode(&e, &b);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_entry_read(&r, &back, NULL), 0);
	cr_assert(mc_rd_finish(&r));
	cr_assert_eq(back.version, 3);
	cr_assert_eq(back.ct_size, 1234);
	mc_entry_leaf(&e, l1);
	memcpy(pre + 1, b.data, b.len);
	mc_sha256(pre, b.len + 1, l2);
	cr_assert_arr_eq(l1, l2, MC_HASH_LEN, "leaf = SHA-256(0x00 || encoding)");
	for (size_t n = 0; n < b.len; n++) {
		mc_rd_init(&r, b.data, n);
		cr_assert_eq(mc_entry_read(&r, &back, NULL), -1);
	}
	mc_buf_release(&b);
}

/* The replication path (a peer's block, applied by chain.c and replayed by
 * verify) reads every entry through mc_entry_read: a category or content
 * type that record put, NDJSON or a Bundle would refuse is refused here
 * too, by the same mc_token_valid / mc_mime_valid. */
Test(tx, entry_reader_refuses_categories_and_types_the_cli_refuses)
{
	static const char *const cats[] = { "Lab", "lab\"x", "lab x", "", "l\xc3\xa9" };
	static const char *const types[] = { "text/x y", "text", "/plain", "text/\xffx", "te\x01t/x", "a/b/c" };
	struct mc_entry e, back;
	struct mc_buf b;
	struct mc_rd r;

	memset(&e, 0, sizeof(e));
	e.version = 1;
	e.ctype = (const uint8_t *)"text/plain";
	e.ctype_len = 10;
	mc_buf_init(&b);
	for (size_t i = 0; i < MC_ARRAY_LEN(cats); i++) {
		e.category = (const uint8_t *)cats[i];
		e.category_len = strlen(cats[i]);
		mc_buf_reset(&b);
		mc_entry_encode(&e, &b);
		mc_rd_init(&r, b.data, b.len);
		cr_assert_eq(mc_entry_read(&r, &back, NULL), -1, "category '%s'", cats[i]);
		cr_assert(!mc_token_valid(cats[i], strlen(cats[i]), MC_CATEGORY_MAX));
	}
	e.category = (const uint8_t *)"lab";
	e.category_len = 3;
	for (size_t i = 0; i < MC_ARRAY_LEN(types); i++) {
		e.ctype = (const uint8_t *)types[i];
		e.ctype_len = strlen(types[i]);
		mc_buf_reset(&b);
		mc_entry_encode(&e, &b);
		mc_rd_init(&r, b.data, b.len);
		cr_assert_eq(mc_entry_read(&r, &back, NULL), -1, "type '%s'", types[i]);
		cr_assert(!mc_mime_valid(types[i], strlen(types[i]), MC_CTYPE_MAX));
	}
	/* quotes and backslashes are printable MIME text: accepted on every path */
	e.ctype = (const uint8_t *)"text/x\",\"a\\b";
	e.ctype_len = strlen((const char *)e.ctype);
	mc_buf_reset(&b);
	mc_entry_encode(&e, &b);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_entry_read(&r, &back, NULL), 0);
	mc_buf_release(&b);
}

Test(tx, put_decoder_refuses_zero_and_over_limit_counts)
{
	struct mc_put p, back;
	struct mc_buf b;

	memset(&p, 0, sizeof(p));
	p.count = 1;
	mc_buf_init(&b);
	mc_put_encode(&p, &b);
	cr_assert_eq(mc_put_decode(b.data, b.len, &back, NULL), 0);
	mc_buf_reset(&b);
	p.count = 0;
	mc_put_encode(&p, &b);
	cr_assert_eq(mc_put_decode(b.data, b.len, &back, NULL), -1);
	mc_buf_reset(&b);
	p.count = MC_BATCH_MAX + 1;
	mc_put_encode(&p, &b);
	cr_assert_eq(mc_put_decode(b.data, b.len, &back, NULL), -1);
	mc_buf_release(&b);
}

static void make_org_rotate(struct mc_org_rotate *r, struct mc_buf *b)
{
	memset(r, 0, sizeof(*r));
	memset(r->old_pk, 1, MC_PK_LEN);
	memset(r->new_pk, 2, MC_PK_LEN);
	r->count = 2;
	memset(r->keks_hash, 3, MC_HASH_LEN);
	memset(r->old_sig, 4, MC_SIG_LEN);
	memset(r->new_sig, 5, MC_SIG_LEN);
	mc_buf_init(b);
	mc_org_rotate_encode(r, b);
}

Test(tx, org_rotate_round_trips_and_refuses_every_truncation_and_trailing_byte)
{
	struct mc_org_rotate r, d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	make_org_rotate(&r, &b);
	cr_assert_eq(b.len, MC_ORGROT_BODY_LEN);
	cr_assert_eq(mc_org_rotate_decode(b.data, b.len, &d, &err), 0);
	cr_assert_eq(memcmp(&r, &d, sizeof(r)), 0);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_neq(mc_org_rotate_decode(b.data, n, &d, &err), 0, "length %zu", n);
	mc_put_u8(&b, 0);
	cr_assert_neq(mc_org_rotate_decode(b.data, b.len, &d, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR);
	mc_buf_release(&b);
}

Test(tx, org_rotate_refuses_one_key_for_both_and_over_limit_counts)
{
	struct mc_org_rotate r, d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	make_org_rotate(&r, &b);
	memcpy(b.data + MC_PK_LEN, r.old_pk, MC_PK_LEN);   /* new = old */
	cr_assert_neq(mc_org_rotate_decode(b.data, b.len, &d, &err), 0);
	mc_buf_release(&b);
	make_org_rotate(&r, &b);
	mc_be32(b.data + 2 * MC_PK_LEN, MC_ORGROT_MAX + 1);
	cr_assert_neq(mc_org_rotate_decode(b.data, b.len, &d, &err), 0);
	mc_be32(b.data + 2 * MC_PK_LEN, MC_ORGROT_MAX);
	cr_assert_eq(mc_org_rotate_decode(b.data, b.len, &d, &err), 0);
	mc_buf_release(&b);
}

Test(tx, org_rotate_items_must_fill_the_attachment_in_strictly_ascending_order)
{
	uint8_t items[3 * MC_ORGROT_ITEM_LEN];
	const uint8_t *view;
	struct mc_err err = { 0 };
	uint8_t h1[MC_HASH_LEN], h2[MC_HASH_LEN];

	memset(items, 0, sizeof(items));
	for (int i = 0; i < 3; i++) {
		memset(items + i * MC_ORGROT_ITEM_LEN, 0x10, MC_PK_LEN);
		mc_be32(items + i * MC_ORGROT_ITEM_LEN + MC_PK_LEN, (uint32_t)i);
	}
	cr_assert_eq(mc_org_rotate_items(items, sizeof(items), 3, &view, &err), 0);
	cr_assert_eq(view, items);
	cr_assert_eq(mc_org_rotate_items(NULL, 0, 0, &view, &err), 0);
	/* a count that does not fill the attachment, either way */
	cr_assert_neq(mc_org_rotate_items(items, sizeof(items), 2, &view, &err), 0);
	cr_assert_neq(mc_org_rotate_items(items, sizeof(items) - 1, 3, &view, &err), 0);
	cr_assert_neq(mc_org_rotate_items(items, sizeof(items), MC_ORGROT_MAX + 1, &view, &err), 0);
	/* a repeated epoch, then a descending one */
	mc_be32(items + 2 * MC_ORGROT_ITEM_LEN + MC_PK_LEN, 1);
	cr_assert_neq(mc_org_rotate_items(items, sizeof(items), 3, &view, &err), 0);
	mc_be32(items + 2 * MC_ORGROT_ITEM_LEN + MC_PK_LEN, 0);
	cr_assert_neq(mc_org_rotate_items(items, sizeof(items), 3, &view, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR);
	/* the keks hash binds every sealed KEK */
	mc_org_rotate_keks_hash(items, 3, h1);
	items[MC_ORGROT_ITEM_LEN + MC_PK_LEN + 4 + 7] ^= 1;
	mc_org_rotate_keks_hash(items, 3, h2);
	cr_assert_neq(memcmp(h1, h2, MC_HASH_LEN), 0);
}

Test(tx, org_rotate_digest_binds_the_chain_keys_and_keks)
{
	struct mc_org_rotate r;
	struct mc_buf b;
	uint8_t d1[MC_HASH_LEN], d2[MC_HASH_LEN];
	static const uint8_t other[MC_HASH_LEN] = { 9 };

	make_org_rotate(&r, &b);
	mc_buf_release(&b);
	mc_org_rotate_digest(chain, &r, d1);
	mc_org_rotate_digest(other, &r, d2);
	cr_assert_neq(memcmp(d1, d2, MC_HASH_LEN), 0);
	r.new_pk[0] ^= 1;
	mc_org_rotate_digest(chain, &r, d2);
	cr_assert_neq(memcmp(d1, d2, MC_HASH_LEN), 0);
	r.new_pk[0] ^= 1;
	r.keks_hash[31] ^= 1;
	mc_org_rotate_digest(chain, &r, d2);
	cr_assert_neq(memcmp(d1, d2, MC_HASH_LEN), 0);
	r.keks_hash[31] ^= 1;
	r.count++;
	mc_org_rotate_digest(chain, &r, d2);
	cr_assert_neq(memcmp(d1, d2, MC_HASH_LEN), 0);
}

static void ack_body(struct mc_buf *b, uint8_t kind, const char *reason, size_t reason_len)
{
	struct mc_alert_ack a;

	memset(&a, 0, sizeof(a));
	a.kind = kind;
	memset(a.id, 0xab, MC_ALERT_ID_LEN);
	a.reason = (const uint8_t *)reason;
	a.reason_len = reason_len;
	mc_buf_init(b);
	mc_alert_ack_encode(&a, b);
	cr_assert(!mc_buf_failed(b));
}

Test(tx, alert_ack_round_trips_and_its_decoder_refuses_malformed_bodies)
{
	struct mc_buf b;
	struct mc_alert_ack a;
	struct mc_err err = { 0 };
	char big[MC_REASON_MAX + 2];

	ack_body(&b, 1, "called the ER", 13);
	cr_assert_eq(b.len, 1 + MC_ALERT_ID_LEN + 4 + 13);
	cr_assert_eq(mc_alert_ack_decode(b.data, b.len, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.kind, 1);
	cr_assert_eq(a.id[0], 0xab);
	cr_assert_eq(a.reason_len, 13);
	cr_assert_eq(memcmp(a.reason, "called the ER", 13), 0);
	/* every truncation, and one byte too many */
	for (size_t n = 0; n < b.len; n++)
		cr_assert_neq(mc_alert_ack_decode(b.data, n, &a, NULL), 0, "truncated to %zu", n);
	mc_put_u8(&b, 0);
	cr_assert(!mc_buf_failed(&b));
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, &err), 0);
	cr_assert_eq(err.code, EX_DATAERR);
	mc_buf_release(&b);

	/* kind 0, an empty reason, a reason past MC_REASON_MAX, control bytes */
	ack_body(&b, 0, "why", 3);
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "kind 0");
	mc_buf_release(&b);
	ack_body(&b, 2, "", 0);
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "no reason");
	mc_buf_release(&b);
	memset(big, 'x', sizeof(big));
	ack_body(&b, 2, big, MC_REASON_MAX);
	cr_assert_eq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "MC_REASON_MAX bytes");
	mc_buf_release(&b);
	ack_body(&b, 2, big, MC_REASON_MAX + 1);
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "past MC_REASON_MAX");
	mc_buf_release(&b);
	ack_body(&b, 2, "bad\x1b[2Jterm", 12);
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "an escape sequence");
	mc_buf_release(&b);
	ack_body(&b, 2, "\xff\xfe", 2);
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "not UTF-8");
	mc_buf_release(&b);
	/* a reason length that claims more than there is */
	ack_body(&b, 2, "why", 3);
	b.data[1 + MC_ALERT_ID_LEN + 3] = 9;
	cr_assert_neq(mc_alert_ack_decode(b.data, b.len, &a, NULL), 0, "length past the end");
	mc_buf_release(&b);
}

Test(block, header_and_certificate_round_trip_and_quorum_rules)
{
	struct mc_header h, back;
	struct mc_cert c, cb;
	struct mc_buf b;
	struct mc_rd r;
	uint8_t hash[MC_HASH_LEN], vals[4][MC_PK_LEN], sks[4][MC_SK_LEN];

	cr_assert_eq(mc_crypto_init(), 0);
	for (int i = 0; i < 4; i++) {
		uint8_t seed[MC_SEED_LEN] = { (uint8_t)(i + 1) };

		mc_sign_seed_keypair(seed, vals[i], sks[i]);
	}
	/* sort the validator keys */
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (memcmp(vals[i], vals[j], MC_PK_LEN) > 0) {
				uint8_t t[MC_PK_LEN], ts[MC_SK_LEN];
				memcpy(t, vals[i], MC_PK_LEN); memcpy(vals[i], vals[j], MC_PK_LEN); memcpy(vals[j], t, MC_PK_LEN);
				memcpy(ts, sks[i], MC_SK_LEN); memcpy(sks[i], sks[j], MC_SK_LEN); memcpy(sks[j], ts, MC_SK_LEN);
			}
	memset(&h, 0, sizeof(h));
	h.version = MC_BLOCK_VERSION;
	h.height = 42;
	h.tx_count = 3;
	mc_block_hash(&h, hash);
	memset(&c, 0, sizeof(c));
	c.count = 3;
	for (int i = 0; i < 3; i++)
		mc_vote_sign(hash, sks[i], vals[i], &c.votes[i]);
	mc_buf_init(&b);
	mc_header_encode(&h, &b);
	cr_assert_eq(b.len, MC_HEADER_LEN);
	mc_cert_encode(&c, &b);
	mc_rd_init(&r, b.data, b.len);
	cr_assert_eq(mc_header_decode(&r, &back, NULL), 0);
	cr_assert_eq(mc_cert_decode(&r, &cb, NULL), 0);
	cr_assert(mc_rd_finish(&r));
	cr_assert_eq(back.height, 42);
	cr_assert_eq(mc_cert_check(&cb, hash, (const uint8_t (*)[MC_PK_LEN])vals, 4, NULL), 0,
		     "3 of 4 is a quorum");
	cb.count = 2;
	cr_assert_neq(mc_cert_check(&cb, hash, (const uint8_t (*)[MC_PK_LEN])vals, 4, NULL), 0,
		      "2 of 4 is not");
	cb.count = 3;
	cb.votes[1].sig[5] ^= 1;
	cr_assert_neq(mc_cert_check(&cb, hash, (const uint8_t (*)[MC_PK_LEN])vals, 4, NULL), 0,
		      "a forged vote is refused");
	cb.votes[1] = cb.votes[0];
	cr_assert_neq(mc_cert_check(&cb, hash, (const uint8_t (*)[MC_PK_LEN])vals, 4, NULL), 0,
		      "a repeated vote is refused");
	cr_assert_neq(mc_cert_check(&c, hash, (const uint8_t (*)[MC_PK_LEN])vals + 1, 3, NULL), 0,
		      "a vote from outside the set is refused");
	for (size_t n = 0; n < b.len; n++) {
		mc_rd_init(&r, b.data, n);
		if (mc_header_decode(&r, &back, NULL) == 0)
			cr_assert_neq(mc_cert_decode(&r, &cb, NULL), 0, "truncation at %zu accepted", n);
	}
	mc_buf_release(&b);
}

static void make_rotate(struct mc_rotate *r, uint8_t kind)
{
	memset(r, 0, sizeof(*r));
	memset(r->old_pk, 1, MC_PK_LEN);
	memset(r->new_pk, 2, MC_PK_LEN);
	memset(r->new_sig, 3, MC_SIG_LEN);
	r->kind = kind;
	if (kind == MC_ROTATE_HOLDER) {
		r->has_old_sig = true;
		memset(r->old_sig, 4, MC_SIG_LEN);
	} else {
		r->reason = (const uint8_t *)"laptop stolen";
		r->reason_len = 13;
	}
}

static int rotate_decodes(const struct mc_rotate *r)
{
	struct mc_rotate back;
	struct mc_buf b;
	int rc;

	mc_buf_init(&b);
	mc_rotate_encode(r, &b);
	rc = mc_rotate_decode(b.data, b.len, &back, NULL);
	mc_buf_release(&b);
	return rc;
}

Test(tx, rotate_body_round_trips_both_kinds)
{
	struct mc_rotate r, back;
	struct mc_buf b;

	make_rotate(&r, MC_ROTATE_HOLDER);
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	cr_assert_eq(mc_rotate_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_eq(back.kind, MC_ROTATE_HOLDER);
	cr_assert(back.has_old_sig);
	cr_assert_arr_eq(back.old_pk, r.old_pk, MC_PK_LEN);
	cr_assert_arr_eq(back.new_pk, r.new_pk, MC_PK_LEN);
	cr_assert_arr_eq(back.new_sig, r.new_sig, MC_SIG_LEN);
	cr_assert_arr_eq(back.old_sig, r.old_sig, MC_SIG_LEN);
	cr_assert_eq(back.reason_len, 0);
	mc_buf_release(&b);
	make_rotate(&r, MC_ROTATE_LOST_KEY);
	mc_buf_init(&b);
	mc_rotate_encode(&r, &b);
	cr_assert_eq(mc_rotate_decode(b.data, b.len, &back, NULL), 0);
	cr_assert_not(back.has_old_sig);
	cr_assert_eq(back.reason_len, 13);
	cr_assert_arr_eq(back.reason, "laptop stolen", 13);
	mc_buf_release(&b);
}

Test(tx, rotate_decoder_refuses_truncation_trailing_bytes_and_inconsistent_fields)
{
	struct mc_rotate r, back;
	struct mc_buf b;

	for (int k = MC_ROTATE_HOLDER; k <= MC_ROTATE_LOST_KEY; k++) {
		make_rotate(&r, (uint8_t)k);
		mc_buf_init(&b);
		mc_rotate_encode(&r, &b);
		for (size_t n = 0; n < b.len; n++)
			cr_assert_eq(mc_rotate_decode(b.data, n, &back, NULL), -1, "kind %d, %zu bytes", k, n);
		mc_put_u8(&b, 0);
		cr_assert_eq(mc_rotate_decode(b.data, b.len, &back, NULL), -1, "trailing byte refused");
		mc_buf_release(&b);
	}
	make_rotate(&r, MC_ROTATE_HOLDER);
	memcpy(r.new_pk, r.old_pk, MC_PK_LEN);
	cr_assert_eq(rotate_decodes(&r), -1, "the same key twice");
	make_rotate(&r, MC_ROTATE_HOLDER);
	r.kind = 3;
	cr_assert_eq(rotate_decodes(&r), -1, "an unknown kind");
	r.kind = 0;
	cr_assert_eq(rotate_decodes(&r), -1, "kind 0");
	make_rotate(&r, MC_ROTATE_HOLDER);
	r.has_old_sig = false;
	cr_assert_eq(rotate_decodes(&r), -1, "a holder's rotation without the old key's signature");
	make_rotate(&r, MC_ROTATE_LOST_KEY);
	r.has_old_sig = true;
	cr_assert_eq(rotate_decodes(&r), -1, "a lost-key rotation with an old-key signature");
	make_rotate(&r, MC_ROTATE_LOST_KEY);
	r.reason_len = 0;
	cr_assert_eq(rotate_decodes(&r), -1, "a lost-key rotation without a reason");
	make_rotate(&r, MC_ROTATE_LOST_KEY);
	r.reason = (const uint8_t *)"bad\x01";
	r.reason_len = 4;
	cr_assert_eq(rotate_decodes(&r), -1, "a reason with control characters");
	/* an old-key signature of another length */
	make_rotate(&r, MC_ROTATE_HOLDER);
	mc_buf_init(&b);
	mc_put_raw(&b, r.old_pk, MC_PK_LEN);
	mc_put_raw(&b, r.new_pk, MC_PK_LEN);
	mc_put_u8(&b, MC_ROTATE_HOLDER);
	mc_put_raw(&b, r.new_sig, MC_SIG_LEN);
	mc_put_bytes(&b, r.old_sig, MC_SIG_LEN - 1);
	mc_put_bytes(&b, NULL, 0);
	cr_assert_eq(mc_rotate_decode(b.data, b.len, &back, NULL), -1, "a 63-byte signature");
	mc_buf_release(&b);
}

Test(tx, rotate_statement_binds_chain_keys_and_kind)
{
	uint8_t a[MC_PK_LEN] = { 1 }, b[MC_PK_LEN] = { 2 }, other[MC_HASH_LEN] = { 9 };
	uint8_t s0[MC_HASH_LEN], s1[MC_HASH_LEN];

	mc_rotate_statement(chain, a, b, MC_ROTATE_HOLDER, s0);
	mc_rotate_statement(other, a, b, MC_ROTATE_HOLDER, s1);
	cr_assert_arr_neq(s0, s1, MC_HASH_LEN, "the chain id");
	mc_rotate_statement(chain, b, a, MC_ROTATE_HOLDER, s1);
	cr_assert_arr_neq(s0, s1, MC_HASH_LEN, "which key is old");
	mc_rotate_statement(chain, a, b, MC_ROTATE_LOST_KEY, s1);
	cr_assert_arr_neq(s0, s1, MC_HASH_LEN, "the kind");
}
