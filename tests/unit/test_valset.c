/* SPDX-License-Identifier: Apache-2.0 */
/* The validator set on chain: NODE_ADD, NODE_REMOVE and VIEW_CHANGE bodies
 * (round trips, every truncation, trailing bytes, key order), approvals and
 * votes, the rules on a real store (quorum, epochs, refusals that change
 * nothing), the derived state (nodes, valsets, leader, view), and verify
 * with blocks certified by the set in force at each height. NODE_ROTATE:
 * its body, and a validator's key replaced (the retired key's votes no
 * longer certify). */
#include "config.h"

#include <sys/stat.h>

#include "fixture.h"
#include "merkle.h"
#include "rawstore.h"
#include "util.h"
#include "valset.h"
#include "verify.h"

/* ---- codec ------------------------------------------------------------- */

static void codec_init(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
}

TestSuite(valset_codec, .init = codec_init);

static void keypair(uint8_t tag, uint8_t pk[MC_PK_LEN], uint8_t sk[MC_SK_LEN])
{
	uint8_t seed[MC_SEED_LEN];

	memset(seed, tag, sizeof(seed));
	mc_sign_seed_keypair(seed, pk, sk);
}

/* n approvals from keys tagged 1..n, in key order. */
static void some_approvals(struct mc_approvals *ap, unsigned n, const uint8_t digest[MC_HASH_LEN])
{
	memset(ap, 0, sizeof(*ap));
	for (unsigned i = 0; i < n; i++) {
		uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN];
		struct mc_approval a;

		keypair((uint8_t)(i + 1), pk, sk);
		mc_approval_sign(digest, sk, pk, &a);
		cr_assert_eq(mc_approvals_add(ap, &a, NULL), 0);
	}
}

static void sample_add(struct mc_node_add *a, unsigned napprovals)
{
	static const uint8_t digest[MC_HASH_LEN] = { 7 };

	memset(a, 0, sizeof(*a));
	memset(a->pk, 0xab, MC_PK_LEN);
	a->name = (const uint8_t *)"node-b";
	a->name_len = 6;
	a->url = (const uint8_t *)"https://b.example:8443";
	a->url_len = 22;
	a->epoch = 3;
	some_approvals(&a->approvals, napprovals, digest);
}

static void sample_vc(struct mc_view_change *v, unsigned nvotes)
{
	uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN], chain[MC_HASH_LEN] = { 1 };

	memset(v, 0, sizeof(*v));
	v->view = 5;
	memset(v->leader, 0xcd, MC_PK_LEN);
	for (unsigned i = 0; i < nvotes; i++) {
		struct mc_vc_vote vo;

		memset(&vo, 0, sizeof(vo));
		keypair((uint8_t)(i + 1), pk, sk);
		vo.locked_height = i;
		vo.locked_view = i ? 4 : 0;
		if (i)
			memset(vo.locked_hash, (int)i, MC_HASH_LEN);
		mc_vc_vote_sign(chain, v->view, v->leader, sk, pk, &vo);
		/* insertion in key order */
		unsigned at = v->count;

		while (at > 0 && memcmp(v->votes[at - 1].pk, vo.pk, MC_PK_LEN) > 0) {
			v->votes[at] = v->votes[at - 1];
			at--;
		}
		v->votes[at] = vo;
		v->count++;
	}
}

typedef int (*decode_fn)(const uint8_t *p, size_t n, void *out, struct mc_err *err);

static int dec_add(const uint8_t *p, size_t n, void *out, struct mc_err *err)
{
	return mc_node_add_decode(p, n, out, err);
}

static int dec_remove(const uint8_t *p, size_t n, void *out, struct mc_err *err)
{
	return mc_node_remove_decode(p, n, out, err);
}

static int dec_vc(const uint8_t *p, size_t n, void *out, struct mc_err *err)
{
	return mc_view_change_decode(p, n, out, err);
}

/* Every proper prefix and the encoding plus one byte are refused. */
static void refuses_truncation_and_trailing(decode_fn dec, const struct mc_buf *b, void *out)
{
	uint8_t *longer = malloc(b->len + 1);
	struct mc_err err = { 0 };

	for (size_t n = 0; n < b->len; n++)
		cr_assert_neq(dec(b->data, n, out, &err), 0, "a truncation to %zu of %zu bytes is refused",
			      n, b->len);
	cr_assert_eq(err.code, EX_DATAERR);
	memcpy(longer, b->data, b->len);
	longer[b->len] = 0;
	cr_assert_neq(dec(longer, b->len + 1, out, &err), 0, "a trailing byte is refused");
	free(longer);
}

Test(valset_codec, quorum_is_more_than_two_thirds)
{
	static const size_t want[][2] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 3 }, { 5, 4 }, { 6, 5 },
					  { 7, 5 }, { 10, 7 }, { 64, 43 } };

	for (size_t i = 0; i < MC_ARRAY_LEN(want); i++) {
		size_t n = want[i][0], q = mc_quorum(n);

		cr_assert_eq(q, want[i][1], "quorum of %zu", n);
		cr_assert(3 * q > 2 * n && 3 * (q - 1) <= 2 * n, "the smallest count above 2/3 of %zu", n);
	}
}

Test(valset_codec, node_add_round_trips)
{
	struct mc_node_add a, d;
	struct mc_buf b, b2;
	struct mc_err err = { 0 };

	sample_add(&a, 3);
	mc_buf_init(&b);
	mc_node_add_encode(&a, &b);
	cr_assert_eq(b.len, 32 + 2 + 6 + 2 + 22 + 8 + 2 + 3 * 96);
	cr_assert_eq(mc_node_add_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(d.pk, a.pk, MC_PK_LEN);
	cr_assert_eq(d.name_len, 6);
	cr_assert_arr_eq(d.name, "node-b", 6);
	cr_assert_eq(d.url_len, 22);
	cr_assert_eq(d.epoch, 3);
	cr_assert_eq(d.approvals.count, 3);
	cr_assert_arr_eq(&d.approvals, &a.approvals, sizeof(d.approvals));
	mc_buf_init(&b2);
	mc_node_add_encode(&d, &b2);
	cr_assert_eq(b2.len, b.len);
	cr_assert_arr_eq(b2.data, b.data, b.len, "decode then encode gives the same bytes");
	refuses_truncation_and_trailing(dec_add, &b, &d);
	mc_buf_release(&b);
	mc_buf_release(&b2);
}

Test(valset_codec, node_add_refuses_bad_names_urls_and_counts)
{
	static const char *const bad_urls[] = {
		"", "http://", "https://", "ftp://x.example", "http//x", "http://a b", "http://a\tb",
		"http://a\x7f", "http://\xc3\xa9t\xc3\xa9", "HTTP://x.example",
	};
	char longname[MC_NAME_MAX + 2], url[MC_URL_MAX + 2];
	struct mc_node_add a, d;
	struct mc_buf b;
	struct mc_err err = { 0 };

	for (size_t i = 0; i < MC_ARRAY_LEN(bad_urls); i++) {
		sample_add(&a, 1);
		a.url = (const uint8_t *)bad_urls[i];
		a.url_len = strlen(bad_urls[i]);
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		cr_assert_neq(mc_node_add_decode(b.data, b.len, &d, &err), 0, "url '%s' is refused", bad_urls[i]);
		mc_buf_release(&b);
	}
	/* URL lengths: 256 is fine, 257 is not */
	memcpy(url, "http://", 7);
	memset(url + 7, 'a', sizeof(url) - 7);
	for (size_t len = MC_URL_MAX; len <= MC_URL_MAX + 1; len++) {
		sample_add(&a, 1);
		a.url = (const uint8_t *)url;
		a.url_len = len;
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		cr_assert_eq(mc_node_add_decode(b.data, b.len, &d, &err) == 0, len == MC_URL_MAX, "url of %zu", len);
		mc_buf_release(&b);
	}
	/* names: empty, too long, not clean text */
	memset(longname, 'n', sizeof(longname));
	for (int k = 0; k < 3; k++) {
		sample_add(&a, 1);
		a.name = (const uint8_t *)(k == 2 ? "a\nb" : longname);
		a.name_len = k == 0 ? 0 : k == 1 ? MC_NAME_MAX + 1 : 3;
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		cr_assert_neq(mc_node_add_decode(b.data, b.len, &d, &err), 0, "name case %d is refused", k);
		mc_buf_release(&b);
	}
	/* zero approvals */
	sample_add(&a, 0);
	mc_buf_init(&b);
	mc_node_add_encode(&a, &b);
	cr_assert_neq(mc_node_add_decode(b.data, b.len, &d, &err), 0, "no approvals is refused");
	mc_buf_release(&b);
}

/* Swaps the first two approvals (or repeats the first) in an encoding whose
 * approvals list starts at off. */
static void disorder(struct mc_buf *b, size_t off, bool duplicate)
{
	uint8_t tmp[96];
	uint8_t *first = b->data + off + 2, *second = first + 96;

	memcpy(tmp, first, 96);
	if (duplicate) {
		memcpy(second, tmp, 96);
	} else {
		memcpy(first, second, 96);
		memcpy(second, tmp, 96);
	}
}

Test(valset_codec, approvals_out_of_key_order_or_repeated_are_refused)
{
	struct mc_node_add a, d;
	struct mc_node_remove r, rd;
	struct mc_buf b;
	struct mc_err err = { 0 };
	size_t off = 32 + 2 + 6 + 2 + 22 + 8;

	for (int dup = 0; dup < 2; dup++) {
		sample_add(&a, 3);
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		disorder(&b, off, dup);
		cr_assert_neq(mc_node_add_decode(b.data, b.len, &d, &err), 0, "NODE_ADD, duplicate %d", dup);
		mc_buf_release(&b);

		memset(&r, 0, sizeof(r));
		r.epoch = 1;
		r.approvals = a.approvals;
		mc_buf_init(&b);
		mc_node_remove_encode(&r, &b);
		disorder(&b, 32 + 8, dup);
		cr_assert_neq(mc_node_remove_decode(b.data, b.len, &rd, &err), 0, "NODE_REMOVE, duplicate %d", dup);
		mc_buf_release(&b);
	}
	/* a count above the largest set */
	sample_add(&a, 2);
	mc_buf_init(&b);
	mc_node_add_encode(&a, &b);
	b.data[off] = (MC_MAX_VALIDATORS + 1) >> 8;
	b.data[off + 1] = (MC_MAX_VALIDATORS + 1) & 0xff;
	cr_assert_neq(mc_node_add_decode(b.data, b.len, &d, &err), 0);
	mc_buf_release(&b);
}

Test(valset_codec, approvals_add_keeps_key_order_and_replaces_a_repeat)
{
	static const uint8_t digest[MC_HASH_LEN] = { 3 };
	struct mc_approvals ap;
	struct mc_approval again;
	uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN];

	some_approvals(&ap, 5, digest);
	cr_assert_eq(ap.count, 5);
	for (unsigned i = 1; i < ap.count; i++)
		cr_assert_lt(memcmp(ap.a[i - 1].pk, ap.a[i].pk, MC_PK_LEN), 0);
	keypair(3, pk, sk);
	mc_approval_sign(digest, sk, pk, &again);
	cr_assert_eq(mc_approvals_add(&ap, &again, NULL), 0);
	cr_assert_eq(ap.count, 5, "a second approval by one key replaces the first");
}

Test(valset_codec, node_remove_round_trips)
{
	static const uint8_t digest[MC_HASH_LEN] = { 8 };
	struct mc_node_remove r, d;
	struct mc_buf b, b2;
	struct mc_err err = { 0 };

	memset(&r, 0, sizeof(r));
	memset(r.pk, 0x42, MC_PK_LEN);
	r.epoch = UINT64_MAX;
	some_approvals(&r.approvals, 2, digest);
	mc_buf_init(&b);
	mc_node_remove_encode(&r, &b);
	cr_assert_eq(b.len, 32 + 8 + 2 + 2 * 96);
	cr_assert_eq(mc_node_remove_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(&d, &r, sizeof(d));
	mc_buf_init(&b2);
	mc_node_remove_encode(&d, &b2);
	cr_assert_arr_eq(b2.data, b.data, b.len);
	refuses_truncation_and_trailing(dec_remove, &b, &d);
	mc_buf_release(&b);
	mc_buf_release(&b2);
}

Test(valset_codec, view_change_round_trips_and_refuses_disorder)
{
	struct mc_view_change *v = malloc(sizeof(*v)), *d = malloc(sizeof(*d));
	uint8_t chain[MC_HASH_LEN] = { 1 };
	struct mc_buf b, b2;
	struct mc_err err = { 0 };
	size_t vote = 32 + 8 + 8 + 32 + 64;

	sample_vc(v, 3);
	mc_buf_init(&b);
	mc_view_change_encode(v, &b);
	cr_assert_eq(b.len, 8 + 32 + 2 + 3 * vote);
	cr_assert_eq(mc_view_change_decode(b.data, b.len, d, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(d, v, sizeof(*d));
	for (unsigned i = 0; i < d->count; i++)
		cr_assert_eq(mc_vc_vote_verify(chain, d->view, d->leader, &d->votes[i]), 0);
	cr_assert_neq(mc_vc_vote_verify(chain, d->view + 1, d->leader, &d->votes[0]), 0,
		      "a vote is for one view");
	mc_buf_init(&b2);
	mc_view_change_encode(d, &b2);
	cr_assert_arr_eq(b2.data, b.data, b.len);
	refuses_truncation_and_trailing(dec_vc, &b, d);
	/* swapped and repeated votes */
	{
		uint8_t tmp[8 + 32 + 2 + 3 * (32 + 8 + 8 + 32 + 64)];
		uint8_t *first = tmp + 42, *second = first + vote;

		memcpy(tmp, b.data, b.len);
		memcpy(second, b.data + 42, vote);
		cr_assert_neq(mc_view_change_decode(tmp, b.len, d, &err), 0, "a repeated vote is refused");
		memcpy(tmp, b.data, b.len);
		memcpy(first, b.data + 42 + vote, vote);
		memcpy(second, b.data + 42, vote);
		cr_assert_neq(mc_view_change_decode(tmp, b.len, d, &err), 0, "votes out of order are refused");
		memcpy(tmp, b.data, b.len);
		tmp[40] = tmp[41] = 0;
		cr_assert_neq(mc_view_change_decode(tmp, 42, d, &err), 0, "no votes is refused");
	}
	mc_buf_release(&b);
	mc_buf_release(&b2);
	free(v);
	free(d);
}

Test(valset_codec, node_change_digest_is_the_documented_hash)
{
	uint8_t chain[MC_HASH_LEN], pk[MC_PK_LEN], got[MC_HASH_LEN], want[MC_HASH_LEN];
	uint8_t msg[23 + 32 + 1 + 32 + 32 + 32 + 8];
	size_t off = 0;

	memset(chain, 0x11, sizeof(chain));
	memset(pk, 0x22, sizeof(pk));
	mc_node_change_digest(chain, MC_NODE_OP_ADD, pk, (const uint8_t *)"b", 1,
			      (const uint8_t *)"http://b", 8, 0x0102030405060708ULL, got);
	memcpy(msg, "medchain/node-change/v1", 23);
	off = 23;
	memcpy(msg + off, chain, 32);
	off += 32;
	msg[off++] = 1;
	memcpy(msg + off, pk, 32);
	off += 32;
	mc_sha256("b", 1, msg + off);
	off += 32;
	mc_sha256("http://b", 8, msg + off);
	off += 32;
	for (int i = 0; i < 8; i++)
		msg[off++] = (uint8_t)(i + 1);
	cr_assert_eq(off, sizeof(msg));
	mc_sha256(msg, sizeof(msg), want);
	cr_assert_arr_eq(got, want, MC_HASH_LEN);

	/* a removal hashes an empty name and url, and every field counts */
	mc_node_change_digest(chain, MC_NODE_OP_REMOVE, pk, NULL, 0, NULL, 0, 5, got);
	mc_node_change_digest(chain, MC_NODE_OP_REMOVE, pk, (const uint8_t *)"", 0,
			      (const uint8_t *)"", 0, 5, want);
	cr_assert_arr_eq(got, want, MC_HASH_LEN);
	mc_node_change_digest(chain, MC_NODE_OP_ADD, pk, NULL, 0, NULL, 0, 5, want);
	cr_assert_arr_neq(got, want, MC_HASH_LEN, "the op counts");
	mc_node_change_digest(chain, MC_NODE_OP_REMOVE, pk, NULL, 0, NULL, 0, 6, want);
	cr_assert_arr_neq(got, want, MC_HASH_LEN, "the epoch counts");
	chain[0] ^= 1;
	mc_node_change_digest(chain, MC_NODE_OP_REMOVE, pk, NULL, 0, NULL, 0, 5, want);
	cr_assert_arr_neq(got, want, MC_HASH_LEN, "the chain id counts");
}

Test(valset_codec, view_change_digest_is_the_documented_hash)
{
	uint8_t chain[MC_HASH_LEN], leader[MC_PK_LEN], lh[MC_HASH_LEN], got[MC_HASH_LEN], want[MC_HASH_LEN];
	uint8_t msg[23 + 32 + 8 + 32 + 8 + 8 + 32];

	memset(chain, 1, sizeof(chain));
	memset(leader, 2, sizeof(leader));
	memset(lh, 3, sizeof(lh));
	mc_view_change_digest(chain, 9, leader, 10, 8, lh, got);
	memset(msg, 0, sizeof(msg));
	memcpy(msg, "medchain/view-change/v1", 23);
	memcpy(msg + 23, chain, 32);
	msg[23 + 32 + 7] = 9;
	memcpy(msg + 63, leader, 32);
	msg[95 + 7] = 10;
	msg[103 + 7] = 8;
	memcpy(msg + 111, lh, 32);
	mc_sha256(msg, sizeof(msg), want);
	cr_assert_arr_eq(got, want, MC_HASH_LEN);
}

/* The fuzz corpus seeds (tests/fuzz/corpus/tx/): with MC_WRITE_SEEDS=DIR,
 * writes one signed tx of each type there (tests/fuzz/make-corpus). */
static int dec_rotate(const uint8_t *p, size_t n, void *out, struct mc_err *err)
{
	return mc_node_rotate_decode(p, n, out, err);
}

static void sample_rotate(struct mc_node_rotate *r, unsigned napprovals)
{
	static const uint8_t digest[MC_HASH_LEN] = { 9 };

	memset(r, 0, sizeof(*r));
	memset(r->old_pk, 0x31, MC_PK_LEN);
	memset(r->new_pk, 0x32, MC_PK_LEN);
	r->epoch = 0x0102030405060708ULL;
	memset(r->new_sig, 0x33, MC_SIG_LEN);
	some_approvals(&r->approvals, napprovals, digest);
}

Test(valset_codec, node_rotate_round_trips_and_refuses_malformed_bodies)
{
	struct mc_node_rotate r, d;
	struct mc_buf b, b2;
	struct mc_err err = { 0 };

	sample_rotate(&r, 3);
	mc_buf_init(&b);
	mc_node_rotate_encode(&r, &b);
	cr_assert_eq(b.len, 32 + 32 + 8 + 64 + 2 + 3 * 96);
	cr_assert_eq(mc_node_rotate_decode(b.data, b.len, &d, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(&d, &r, sizeof(d));
	mc_buf_init(&b2);
	mc_node_rotate_encode(&d, &b2);
	cr_assert_arr_eq(b2.data, b.data, b.len);
	mc_buf_release(&b2);
	refuses_truncation_and_trailing(dec_rotate, &b, &d);
	cr_assert_neq(mc_node_rotate_decode(b.data, b.len - 1, &d, &err), 0);
	cr_assert_not_null(strstr(err.msg, "NODE_ROTATE"), "the message names the body: %s", err.msg);
	/* approvals out of key order, or none at all */
	disorder(&b, 32 + 32 + 8 + 64, false);
	cr_assert_neq(mc_node_rotate_decode(b.data, b.len, &d, &err), 0, "approvals out of order");
	mc_buf_release(&b);
	sample_rotate(&r, 1);
	r.approvals.count = 0;
	mc_buf_init(&b);
	mc_node_rotate_encode(&r, &b);
	cr_assert_neq(mc_node_rotate_decode(b.data, b.len, &d, &err), 0, "no approvals");
	mc_buf_release(&b);
	/* a key rotated to itself */
	sample_rotate(&r, 1);
	memcpy(r.new_pk, r.old_pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_node_rotate_encode(&r, &b);
	cr_assert_neq(mc_node_rotate_decode(b.data, b.len, &d, &err), 0, "the same key twice");
	cr_assert_eq(err.code, EX_DATAERR);
	mc_buf_release(&b);
}

Test(valset_codec, node_rotate_digest_is_the_documented_hash)
{
	uint8_t chain[MC_HASH_LEN], a[MC_PK_LEN], b[MC_PK_LEN], got[MC_HASH_LEN], want[MC_HASH_LEN];
	uint8_t msg[23 + 32 + 32 + 32 + 8];

	memset(chain, 0x11, sizeof(chain));
	memset(a, 0x22, sizeof(a));
	memset(b, 0x33, sizeof(b));
	mc_node_rotate_digest(chain, a, b, 0x0102030405060708ULL, got);
	memcpy(msg, "medchain/node-rotate/v1", 23);
	memcpy(msg + 23, chain, 32);
	memcpy(msg + 55, a, 32);
	memcpy(msg + 87, b, 32);
	for (int i = 0; i < 8; i++)
		msg[119 + i] = (uint8_t)(i + 1);
	mc_sha256(msg, sizeof(msg), want);
	cr_assert_arr_eq(got, want, MC_HASH_LEN);
	mc_node_rotate_digest(chain, b, a, 0x0102030405060708ULL, want);
	cr_assert_arr_neq(got, want, MC_HASH_LEN, "which key is old counts");
	mc_node_rotate_digest(chain, a, b, 1, want);
	cr_assert_arr_neq(got, want, MC_HASH_LEN, "the epoch counts");
}

static void write_seed(const char *dir, const char *name, unsigned type, const struct mc_buf *body)
{
	uint8_t pk[MC_PK_LEN], sk[MC_SK_LEN], chain[MC_HASH_LEN] = { 0 };
	struct mc_tx tx;
	struct mc_buf enc;
	char path[4096];
	FILE *f;

	keypair(1, pk, sk);
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)type;
	memcpy(tx.author, pk, MC_PK_LEN);
	tx.timestamp_ms = 1700000000000ULL;
	tx.seq = 2;
	tx.body = body->data;
	tx.body_len = body->len;
	mc_tx_sign(&tx, chain, sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "wb"), "%s", path);
	cr_assert_eq(fwrite(enc.data, 1, enc.len, f), enc.len);
	fclose(f);
	mc_buf_release(&enc);
}

Test(valset_codec, fuzz_seeds)
{
	const char *dir = getenv("MC_WRITE_SEEDS");
	struct mc_node_add a;
	struct mc_node_remove r;
	struct mc_view_change *v = malloc(sizeof(*v));
	struct mc_buf b;

	if (!dir || !*dir) {
		free(v);
		return;
	}
	sample_add(&a, 3);
	mc_buf_init(&b);
	mc_node_add_encode(&a, &b);
	write_seed(dir, "node-add", MC_TX_NODE_ADD, &b);
	mc_buf_release(&b);
	memset(&r, 0, sizeof(r));
	memcpy(r.pk, a.pk, MC_PK_LEN);
	r.epoch = 4;
	r.approvals = a.approvals;
	mc_buf_init(&b);
	mc_node_remove_encode(&r, &b);
	write_seed(dir, "node-remove", MC_TX_NODE_REMOVE, &b);
	mc_buf_release(&b);
	sample_vc(v, 3);
	mc_buf_init(&b);
	mc_view_change_encode(v, &b);
	write_seed(dir, "view-change", MC_TX_VIEW_CHANGE, &b);
	mc_buf_release(&b);
	{
		struct mc_node_rotate ro;

		sample_rotate(&ro, 3);
		mc_buf_init(&b);
		mc_node_rotate_encode(&ro, &b);
		write_seed(dir, "node-rotate", MC_TX_NODE_ROTATE, &b);
		mc_buf_release(&b);
	}
	free(v);
}

/* ---- rules on a store --------------------------------------------------- */

TestSuite(valset, .init = fx_setup, .fini = fx_teardown);

/* The validators: vk[0] is the genesis node (fx.node, not owned). */
static struct mc_key *vk[5];
static uint64_t next_height = 1;

static void free_keys(void)
{
	for (size_t i = 1; i < MC_ARRAY_LEN(vk); i++) {
		mc_key_free(vk[i]);
		vk[i] = NULL;
	}
}

struct head_ctx { struct mc_head h; };

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, &((struct head_ctx *)vctx)->h, err);
}

static struct mc_head head(void)
{
	struct head_ctx c;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, head_txn, &c, &err), 0, "%s", err.msg);
	return c.h;
}

/* Everything a set change touches, to check that a refusal changed nothing. */
struct snap {
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t n;
	uint64_t epoch, view, nodes, sets, seqs;
	uint8_t leader[MC_PK_LEN];
};

static int snap_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct snap *s = vctx;

	memset(s, 0, sizeof(*s));
	if (mc_chain_validators(t, s->vals, &s->n, err) != 0 ||
	    mc_chain_valset_epoch(t, &s->epoch, err) != 0 ||
	    mc_chain_leader(t, s->leader, &s->view, err) != 0 ||
	    mc_txn_count(t, MC_DB_NODES, &s->nodes, err) != 0 ||
	    mc_txn_count(t, MC_DB_VALSETS, &s->sets, err) != 0 ||
	    mc_txn_count(t, MC_DB_TXS, &s->seqs, err) != 0)
		return -1;
	return 0;
}

static struct snap snap(void)
{
	struct snap s;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, snap_txn, &s, &err), 0, "%s", err.msg);
	return s;
}

/* One tx applied directly at its own height (no block: certificates of
 * several validators are the consensus engine's). */
static int apply(const struct mc_key *author, unsigned type, const struct mc_buf *body,
		 struct mc_err *err)
{
	int rc = fx_apply_tx(fx.s, author, type, body->data, body->len, next_height, err);

	if (rc == 0)
		next_height++;
	return rc;
}

static void chain_id(uint8_t out[MC_HASH_LEN])
{
	memcpy(out, head().chain_id, MC_HASH_LEN);
}

static void approve(struct mc_approvals *ap, const uint8_t digest[MC_HASH_LEN],
		    struct mc_key *const *signers, size_t n)
{
	memset(ap, 0, sizeof(*ap));
	for (size_t i = 0; i < n; i++) {
		struct mc_approval a;

		mc_approval_sign(digest, signers[i]->sk, signers[i]->pk, &a);
		cr_assert_eq(mc_approvals_add(ap, &a, NULL), 0);
	}
}

static void add_body(struct mc_buf *b, const uint8_t pk[MC_PK_LEN], const char *name,
		     const char *url, uint64_t epoch, struct mc_key *const *signers, size_t n)
{
	struct mc_node_add a;
	uint8_t cid[MC_HASH_LEN], digest[MC_HASH_LEN];

	memset(&a, 0, sizeof(a));
	memcpy(a.pk, pk, MC_PK_LEN);
	a.name = (const uint8_t *)name;
	a.name_len = strlen(name);
	a.url = (const uint8_t *)url;
	a.url_len = strlen(url);
	a.epoch = epoch;
	chain_id(cid);
	mc_node_change_digest(cid, MC_NODE_OP_ADD, pk, a.name, a.name_len, a.url, a.url_len, epoch,
			      digest);
	approve(&a.approvals, digest, signers, n);
	mc_buf_init(b);
	mc_node_add_encode(&a, b);
}

static void remove_body(struct mc_buf *b, const uint8_t pk[MC_PK_LEN], uint64_t epoch,
			struct mc_key *const *signers, size_t n)
{
	struct mc_node_remove r;
	uint8_t cid[MC_HASH_LEN], digest[MC_HASH_LEN];

	memset(&r, 0, sizeof(r));
	memcpy(r.pk, pk, MC_PK_LEN);
	r.epoch = epoch;
	chain_id(cid);
	mc_node_change_digest(cid, MC_NODE_OP_REMOVE, pk, NULL, 0, NULL, 0, epoch, digest);
	approve(&r.approvals, digest, signers, n);
	mc_buf_init(b);
	mc_node_remove_encode(&r, b);
}

static void vc_body(struct mc_buf *b, uint64_t view, const uint8_t leader[MC_PK_LEN],
		    struct mc_key *const *voters, size_t n)
{
	struct mc_view_change *v = calloc(1, sizeof(*v));
	uint8_t cid[MC_HASH_LEN];

	chain_id(cid);
	v->view = view;
	memcpy(v->leader, leader, MC_PK_LEN);
	for (size_t i = 0; i < n; i++) {
		struct mc_vc_vote vo;
		unsigned at = v->count;

		memset(&vo, 0, sizeof(vo));
		vo.locked_height = i;
		mc_vc_vote_sign(cid, view, leader, voters[i]->sk, voters[i]->pk, &vo);
		while (at > 0 && memcmp(v->votes[at - 1].pk, vo.pk, MC_PK_LEN) > 0) {
			v->votes[at] = v->votes[at - 1];
			at--;
		}
		v->votes[at] = vo;
		v->count++;
	}
	mc_buf_init(b);
	mc_view_change_encode(v, b);
	free(v);
}

/* Adds vk[1..n-1] (those not added yet) one at a time, each approved by
 * every validator so far. */
static void grow_to(size_t n)
{
	struct mc_err err = { 0 };

	vk[0] = fx.node;
	for (size_t i = 1; i < n; i++) {
		struct mc_buf b;
		char name[16], url[64];

		if (vk[i])
			continue;
		cr_assert_eq(mc_key_generate(false, &vk[i], &err), 0);
		snprintf(name, sizeof(name), "node-%zu", i);
		snprintf(url, sizeof(url), "https://node-%zu.example:7700", i);
		add_body(&b, vk[i]->pk, name, url, i - 1, vk, i);
		cr_assert_eq(apply(vk[i - 1], MC_TX_NODE_ADD, &b, &err), 0, "%s", err.msg);
		mc_buf_release(&b);
	}
}

static bool has(const struct snap *s, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->vals[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

struct at_ctx { uint64_t height; uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN]; size_t n; };

static int at_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct at_ctx *c = vctx;

	return mc_chain_validators_at(t, c->height, c->vals, &c->n, err);
}

static struct at_ctx set_at(uint64_t height)
{
	struct at_ctx c = { .height = height };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, at_txn, &c, &err), 0, "%s", err.msg);
	return c;
}

struct node_row { uint8_t pk[MC_PK_LEN]; uint64_t added, removed; char url[MC_URL_MAX + 1]; };
struct nodes_ctx { struct node_row rows[8]; size_t n; };

static int node_visit(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url,
		      void *ctx)
{
	struct nodes_ctx *c = ctx;

	if (c->n == 8)
		return -1;
	memcpy(c->rows[c->n].pk, pk, MC_PK_LEN);
	c->rows[c->n].added = added;
	c->rows[c->n].removed = removed;
	snprintf(c->rows[c->n].url, sizeof(c->rows[c->n].url), "%s", url);
	c->n++;
	return 0;
}

static int nodes_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_nodes_each(t, node_visit, vctx, err);
}

static struct node_row node_row(const uint8_t pk[MC_PK_LEN])
{
	struct nodes_ctx c = { .n = 0 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, nodes_txn, &c, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < c.n; i++)
		if (memcmp(c.rows[i].pk, pk, MC_PK_LEN) == 0)
			return c.rows[i];
	cr_assert_fail("no nodes row for the key");
	return c.rows[0];
}

struct id_ctx { const uint8_t *pk; struct mc_identity id; int rc; };

static int id_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct id_ctx *c = vctx;

	c->rc = mc_identity_get(t, c->pk, &c->id, err);
	return c->rc < 0 ? -1 : 0;
}

static void expect_refused(int rc, const struct mc_err *err, const char *rule, const struct snap *before)
{
	struct snap after = snap();

	cr_assert_eq(rc, -1, "refused: %s", rule);
	cr_assert(err->code == EX_DATAERR || err->code == EX_NOPERM, "code %d", err->code);
	cr_assert_not_null(strstr(err->msg, rule), "the refusal names the rule '%s': %s", rule, err->msg);
	cr_assert_not_null(strstr(err->msg, "block "), "and the block: %s", err->msg);
	cr_assert_arr_eq(&after, before, sizeof(after), "a refusal changes nothing");
}

Test(valset, genesis_holds_the_node_alone_as_leader_in_view_0)
{
	struct snap s = snap();
	struct at_ctx a = set_at(0), later = set_at(1000);
	struct node_row r = node_row(fx.node->pk);

	cr_assert_eq(s.n, 1);
	cr_assert_arr_eq(s.vals[0], fx.node->pk, MC_PK_LEN);
	cr_assert_eq(s.epoch, 0);
	cr_assert_eq(s.view, 0);
	cr_assert_arr_eq(s.leader, fx.node->pk, MC_PK_LEN);
	cr_assert_eq(s.nodes, 1);
	cr_assert_eq(s.sets, 1);
	cr_assert_eq(a.n, 1);
	cr_assert_arr_eq(a.vals[0], fx.node->pk, MC_PK_LEN);
	cr_assert_eq(later.n, 1);
	cr_assert_eq(r.added, 0);
	cr_assert_eq(r.removed, 0);
	cr_assert_str_eq(r.url, "");
}

Test(valset, node_add_with_a_quorum_grows_the_set_from_the_next_block, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct snap s;
	struct id_ctx ic;

	next_height = 1;
	grow_to(4);
	s = snap();
	cr_assert_eq(s.n, 4);
	for (size_t i = 0; i < 4; i++)
		cr_assert(has(&s, vk[i]->pk), "validator %zu is in the set", i);
	for (size_t i = 1; i < s.n; i++)
		cr_assert_lt(memcmp(s.vals[i - 1], s.vals[i], MC_PK_LEN), 0, "the set is sorted");
	cr_assert_eq(s.epoch, 3, "one epoch per change");
	cr_assert_arr_eq(s.leader, fx.node->pk, MC_PK_LEN, "an addition keeps the leader");
	cr_assert_eq(s.sets, 4, "genesis and three changes");
	cr_assert_eq(s.nodes, 4);
	/* vk[3] was added at height 3: in force from height 4 */
	cr_assert_eq(set_at(3).n, 3);
	cr_assert_eq(set_at(4).n, 4);
	cr_assert_eq(set_at(1).n, 1);
	cr_assert_eq(set_at(2).n, 2);
	cr_assert_eq(set_at(UINT64_MAX).n, 4);
	{
		struct node_row r = node_row(vk[2]->pk);

		cr_assert_eq(r.added, 2);
		cr_assert_eq(r.removed, 0);
		cr_assert_str_eq(r.url, "https://node-2.example:7700");
	}
	/* the new node's identity: enrolled as a node with its name */
	ic.pk = vk[3]->pk;
	cr_assert_eq(mc_store_read(fx.s, id_txn, &ic, &err), 0, "%s", err.msg);
	cr_assert_eq(ic.rc, 0);
	cr_assert_eq(ic.id.roles, MC_ROLE_NODE);
	cr_assert_str_eq(ic.id.name, "node-3");
	cr_assert_str_eq(ic.id.org, "");
	cr_assert_eq(ic.id.enrolled, 3);
}

Test(valset, node_add_refusals_name_the_rule_and_change_nothing, .fini = free_keys)
{
	struct mc_key *x = NULL, *outsider = NULL;
	struct mc_err err = { 0 };
	struct mc_buf b, stale;
	struct snap before;

	next_height = 1;
	grow_to(3);
	cr_assert_eq(mc_key_generate(false, &x, &err), 0);
	cr_assert_eq(mc_key_generate(false, &outsider, &err), 0);
	/* approvals gathered at epoch 2, before the set changes again */
	add_body(&stale, x->pk, "x", "http://x.example", 2, vk, 3);
	grow_to(4);
	before = snap();
	cr_assert_eq(before.n, 4);

	cr_assert_neq(apply(vk[0], MC_TX_NODE_ADD, &stale, &err), 0);
	expect_refused(-1, &err, "epoch", &before);
	mc_buf_release(&stale);

	add_body(&b, x->pk, "x", "http://x.example", 3, vk, 2);
	expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "short of a quorum", &before);
	mc_buf_release(&b);

	{
		struct mc_key *const mixed[] = { vk[0], vk[1], outsider };

		add_body(&b, x->pk, "x", "http://x.example", 3, mixed, 3);
		expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "not from a validator", &before);
		mc_buf_release(&b);
	}
	{
		struct mc_node_add a;
		struct mc_err e2 = { 0 };

		add_body(&b, x->pk, "x", "http://x.example", 3, vk, 3);
		cr_assert_eq(mc_node_add_decode(b.data, b.len, &a, &e2), 0);
		/* flip a bit of the last approval's signature, in place */
		b.data[b.len - 1] ^= 1;
		expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "signature is not valid", &before);
		mc_buf_release(&b);
	}
	/* approvals for another chain */
	{
		struct mc_node_add a;
		uint8_t other[MC_HASH_LEN] = { 5 }, digest[MC_HASH_LEN];

		memset(&a, 0, sizeof(a));
		memcpy(a.pk, x->pk, MC_PK_LEN);
		a.name = (const uint8_t *)"x";
		a.name_len = 1;
		a.url = (const uint8_t *)"http://x.example";
		a.url_len = 16;
		a.epoch = 3;
		mc_node_change_digest(other, MC_NODE_OP_ADD, a.pk, a.name, 1, a.url, 16, 3, digest);
		approve(&a.approvals, digest, vk, 4);
		mc_buf_init(&b);
		mc_node_add_encode(&a, &b);
		expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "signature is not valid", &before);
		mc_buf_release(&b);
	}
	add_body(&b, x->pk, "x", "http://x.example", 3, vk, 4);
	expect_refused(apply(fx.admin, MC_TX_NODE_ADD, &b, &err), &err, "not a validator", &before);
	cr_assert_eq(err.code, EX_NOPERM);
	/* the same body from a validator goes through */
	cr_assert_eq(apply(vk[1], MC_TX_NODE_ADD, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(snap().n, 5);
	mc_buf_release(&b);
	mc_key_free(x);
	mc_key_free(outsider);
}

/* From block version 4 a node's new identity takes its display name as an
 * enrolment does (found in review, session 12: a NODE_ADD made a second
 * active "admin", and `--to admin` became ambiguous): an active identity's
 * name, or one that prints like another, is refused; a name of its own is
 * taken. */
Test(valset, node_add_takes_a_display_name_as_an_enrolment_does, .fini = free_keys)
{
	struct mc_key *x = NULL;
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct snap before;

	next_height = 1;
	grow_to(1);
	cr_assert_eq(mc_key_generate(false, &x, &err), 0);
	before = snap();
	add_body(&b, x->pk, "admin", "http://x.example", 0, vk, 1);
	expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "already has this display name", &before);
	mc_buf_release(&b);
	memset(&err, 0, sizeof(err));
	add_body(&b, x->pk, "x ", "http://x.example", 0, vk, 1);
	expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "print like another name", &before);
	mc_buf_release(&b);
	memset(&err, 0, sizeof(err));
	add_body(&b, x->pk, "x", "http://x.example", 0, vk, 1);
	cr_assert_eq(apply(vk[0], MC_TX_NODE_ADD, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(snap().n, 2);
	mc_buf_release(&b);
	mc_key_free(x);
}

/* The genesis node has no address on the chain: a NODE_ADD of itself, with
 * a quorum of approvals, gives it one. A validator's NODE_ADD changes only
 * its address (and the epoch, so older approvals cannot put an old one
 * back). */
Test(valset, node_add_of_a_validator_changes_only_its_address)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct snap before, after;
	struct node_row r;

	vk[0] = fx.node;
	before = snap();
	add_body(&b, fx.node->pk, "first", "http://first.example:7400", 0, vk, 1);
	cr_assert_eq(apply(vk[0], MC_TX_NODE_ADD, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	after = snap();
	r = node_row(fx.node->pk);
	cr_assert_str_eq(r.url, "http://first.example:7400");
	cr_assert_eq(r.added, 0, "it stays the validator added at genesis");
	cr_assert_eq(r.removed, 0);
	cr_assert_eq(after.n, 1);
	cr_assert_arr_eq(after.vals, before.vals, sizeof(after.vals));
	cr_assert_eq(after.sets, before.sets, "no new validator set");
	cr_assert_eq(after.nodes, before.nodes);
	cr_assert_eq(after.epoch, before.epoch + 1);
	/* the same approvals again: stale now */
	add_body(&b, fx.node->pk, "first", "http://old.example:7400", 0, vk, 1);
	expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "another validator set epoch", &after);
	mc_buf_release(&b);
	/* without a quorum: refused */
	{
		struct mc_key *other = NULL;

		cr_assert_eq(mc_key_generate(false, &other, &err), 0);
		add_body(&b, fx.node->pk, "first", "http://x.example", 1, &other, 1);
		expect_refused(apply(vk[0], MC_TX_NODE_ADD, &b, &err), &err, "not from a validator", &after);
		mc_buf_release(&b);
		mc_key_free(other);
	}
}

Test(valset, an_added_node_must_be_an_active_node_identity, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_key *clin = NULL;
	struct mc_buf b;
	struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr A", .name_len = 4 };
	struct mc_produced p;
	struct snap before;

	cr_assert_eq(mc_key_generate(false, &clin, &err), 0);
	memcpy(e.pk, clin->pk, MC_PK_LEN);
	mc_buf_init(&b);
	mc_enroll_encode(&e, &b);
	cr_assert_eq(mc_chain_submit(fx.s, fx.node, fx.admin, MC_TX_IDENTITY_ENROLL, b.data, b.len, &p, &err), 0,
		     "%s", err.msg);
	mc_buf_release(&b);
	next_height = head().height + 1;
	vk[0] = fx.node;
	before = snap();
	add_body(&b, clin->pk, "Dr A", "http://a.example", 0, vk, 1);
	expect_refused(apply(fx.node, MC_TX_NODE_ADD, &b, &err), &err, "node role", &before);
	mc_buf_release(&b);
	mc_key_free(clin);
}

Test(valset, node_remove_shrinks_the_set_and_hands_the_leader_on, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct snap before, after;
	uint64_t h;
	size_t at = 0;

	next_height = 1;
	grow_to(4);
	before = snap();
	/* remove the leader (the genesis node), approved by three of four */
	h = next_height;
	remove_body(&b, fx.node->pk, 3, vk + 1, 3);
	cr_assert_eq(apply(vk[1], MC_TX_NODE_REMOVE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	after = snap();
	cr_assert_eq(after.n, 3);
	cr_assert_not(has(&after, fx.node->pk));
	cr_assert_eq(after.epoch, 4);
	cr_assert_eq(after.view, before.view, "the view stays");
	while (at < before.n && memcmp(before.vals[at], fx.node->pk, MC_PK_LEN) != 0)
		at++;
	/* the next key after it in the new set, wrapping */
	cr_assert_arr_eq(after.leader, at < after.n ? after.vals[at] : after.vals[0], MC_PK_LEN);
	cr_assert_eq(set_at(h).n, 4, "still in force in the removing block");
	cr_assert_eq(set_at(h + 1).n, 3);
	{
		struct node_row r = node_row(fx.node->pk);

		cr_assert_eq(r.added, 0);
		cr_assert_eq(r.removed, h);
	}
	/* a stale removal (epoch 3) is refused, as is removing a non-member */
	before = after;
	remove_body(&b, vk[2]->pk, 3, vk + 1, 3);
	expect_refused(apply(vk[1], MC_TX_NODE_REMOVE, &b, &err), &err, "epoch", &before);
	mc_buf_release(&b);
	remove_body(&b, fx.node->pk, 4, vk + 1, 3);
	expect_refused(apply(vk[1], MC_TX_NODE_REMOVE, &b, &err), &err, "not a validator", &before);
	mc_buf_release(&b);
	/* the removed node can no longer author a set change */
	remove_body(&b, vk[2]->pk, 4, vk + 1, 3);
	expect_refused(apply(fx.node, MC_TX_NODE_REMOVE, &b, &err), &err, "not a validator", &before);
	cr_assert_eq(apply(vk[2], MC_TX_NODE_REMOVE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	cr_assert_eq(snap().n, 2);
}

Test(valset, the_last_validator_cannot_be_removed)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct snap before = snap();

	vk[0] = fx.node;
	next_height = 1;
	remove_body(&b, fx.node->pk, 0, vk, 1);
	expect_refused(apply(fx.node, MC_TX_NODE_REMOVE, &b, &err), &err, "last validator", &before);
	mc_buf_release(&b);
}

Test(valset, view_change_with_a_quorum_sets_view_and_leader, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct snap before, after;
	struct mc_key *outsider = NULL;

	next_height = 1;
	grow_to(4);
	before = snap();
	vc_body(&b, 1, vk[2]->pk, vk, 2);
	expect_refused(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), &err, "short of a quorum", &before);
	mc_buf_release(&b);
	vc_body(&b, 0, vk[2]->pk, vk, 4);
	expect_refused(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), &err, "higher view", &before);
	mc_buf_release(&b);
	cr_assert_eq(mc_key_generate(false, &outsider, &err), 0);
	vc_body(&b, 1, outsider->pk, vk, 4);
	expect_refused(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), &err, "leader is not a validator", &before);
	mc_buf_release(&b);
	{
		struct mc_key *const mixed[] = { vk[0], vk[1], outsider };

		vc_body(&b, 1, vk[2]->pk, mixed, 3);
		expect_refused(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), &err, "not from a validator", &before);
		mc_buf_release(&b);
	}
	vc_body(&b, 1, vk[2]->pk, vk, 3);
	b.data[b.len - 1] ^= 1;
	expect_refused(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), &err, "signature is not valid", &before);
	b.data[b.len - 1] ^= 1;
	cr_assert_eq(apply(vk[0], MC_TX_VIEW_CHANGE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	after = snap();
	cr_assert_eq(after.view, 1);
	cr_assert_arr_eq(after.leader, vk[2]->pk, MC_PK_LEN);
	cr_assert_eq(after.epoch, before.epoch, "a view change is no set change");
	/* the same view again is refused; a higher one goes */
	before = after;
	vc_body(&b, 1, vk[3]->pk, vk, 4);
	expect_refused(apply(vk[1], MC_TX_VIEW_CHANGE, &b, &err), &err, "higher view", &before);
	mc_buf_release(&b);
	vc_body(&b, 7, vk[3]->pk, vk + 1, 3);
	cr_assert_eq(apply(vk[1], MC_TX_VIEW_CHANGE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	cr_assert_eq(snap().view, 7);
	/* never the last view number: there must always be a next one */
	before = snap();
	vc_body(&b, UINT64_MAX, vk[2]->pk, vk, 4);
	expect_refused(apply(vk[1], MC_TX_VIEW_CHANGE, &b, &err), &err, "last view number", &before);
	mc_buf_release(&b);
	vc_body(&b, UINT64_MAX - 1, vk[2]->pk, vk, 4);
	cr_assert_eq(apply(vk[1], MC_TX_VIEW_CHANGE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	cr_assert_eq(snap().view, UINT64_MAX - 1);
	mc_key_free(outsider);
}

/* ---- blocks with multi-validator certificates, and verify ---------------- */

struct blk_ctx {
	const struct mc_key *author;
	unsigned type;
	const struct mc_buf *body;
	struct mc_key *const *signers;
	size_t nsig;
	enum { IN_FORCE, META_SET, GENESIS_SET } names;  /* the set the header names */
};

static int blk_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct blk_ctx *c = vctx;
	struct mc_head hd;
	struct mc_tx tx, dec;
	struct mc_apply_ctx ax;
	struct mc_header h;
	struct mc_cert cert;
	struct mc_buf enc, blk;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN], th[MC_HASH_LEN], leaf[1][MC_HASH_LEN];
	uint8_t bh[MC_HASH_LEN], key[8], headv[8 + MC_HASH_LEN + 8];
	const struct mc_key *order[MC_MAX_VALIDATORS];
	size_t nval;
	uint64_t now = mc_now_ms();
	int rc;

	if (mc_chain_head(t, &hd, err) != 0)
		return -1;
	memset(&tx, 0, sizeof(tx));
	tx.version = MC_TX_VERSION;
	tx.type = (uint8_t)c->type;
	memcpy(tx.author, c->author->pk, MC_PK_LEN);
	tx.timestamp_ms = now > hd.timestamp_ms ? now : hd.timestamp_ms;
	if (mc_builder_next_seq(t, c->author->pk, &tx.seq, err) != 0)
		return -1;
	tx.body = c->body->data;
	tx.body_len = c->body->len;
	mc_tx_sign(&tx, hd.chain_id, c->author->sk);
	mc_buf_init(&enc);
	mc_tx_encode(&tx, &enc);
	cr_assert_eq(mc_tx_decode(enc.data, enc.len, &dec, err), 0);
	memset(&ax, 0, sizeof(ax));
	ax.height = hd.height + 1;
	ax.block_time_ms = tx.timestamp_ms;
	memcpy(ax.chain_id, hd.chain_id, MC_HASH_LEN);
	rc = mc_chain_apply_tx(t, &ax, &dec, enc.data, enc.len, err);
	mc_tx_hash(&dec, th);
	mc_buf_release(&enc);
	if (rc != 0)
		return -1;
	if (c->names == GENESIS_SET) {
		memcpy(vals[0], fx.node->pk, MC_PK_LEN);
		nval = 1;
	} else if ((c->names == META_SET ? mc_chain_validators(t, vals, &nval, err)
					 : mc_chain_validators_at(t, ax.height, vals, &nval, err)) != 0) {
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.version = MC_BLOCK_VERSION;
	memcpy(h.chain_id, hd.chain_id, MC_HASH_LEN);
	h.height = ax.height;
	memcpy(h.prev, hd.hash, MC_HASH_LEN);
	h.timestamp_ms = tx.timestamp_ms;
	memcpy(h.proposer, c->signers[0]->pk, MC_PK_LEN);
	mc_merkle_leaf_hash(th, MC_HASH_LEN, leaf[0]);
	mc_merkle_root((const uint8_t (*)[MC_HASH_LEN])leaf, 1, h.tx_root);
	h.tx_count = 1;
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])vals, nval, h.valset_hash);
	mc_block_hash(&h, bh);
	/* votes in key order */
	for (size_t i = 0; i < c->nsig; i++) {
		size_t at = i;

		while (at > 0 && memcmp(order[at - 1]->pk, c->signers[i]->pk, MC_PK_LEN) > 0) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = c->signers[i];
	}
	memset(&cert, 0, sizeof(cert));
	cert.count = (uint16_t)c->nsig;
	for (size_t i = 0; i < c->nsig; i++)
		mc_vote_sign(bh, order[i]->sk, order[i]->pk, &cert.votes[i]);
	mc_buf_init(&blk);
	mc_header_encode(&h, &blk);
	mc_cert_encode(&cert, &blk);
	mc_be64(key, h.height);
	rc = mc_txn_put(t, MC_DB_BLOCKS, key, 8, blk.data, blk.len, err);
	mc_buf_release(&blk);
	if (rc != 0 || mc_ctree_append(t, h.height, bh, err) != 0)
		return -1;
	mc_be64(headv, h.height);
	memcpy(headv + 8, bh, MC_HASH_LEN);
	mc_be64(headv + 8 + MC_HASH_LEN, h.timestamp_ms);
	return mc_txn_put(t, MC_DB_META, "head", 4, headv, sizeof(headv), err);
}

static void block(const struct mc_key *author, unsigned type, const struct mc_buf *body,
		  struct mc_key *const *signers, size_t nsig, int names)
{
	struct blk_ctx c = { author, type, body, signers, nsig, names };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_write(fx.s, blk_txn, &c, &err), 0, "%s", err.msg);
}

/* verify (full or recent) on the closed store; reopens it after. */
static int run_verify(bool recent, struct mc_err *err)
{
	struct mc_verify_report rep;
	int rc;

	mc_store_close(fx.s);
	fx.s = NULL;
	rc = recent ? mc_verify_recent_isolated(fx.dir, &rep, err)
		    : mc_verify_isolated(fx.dir, "/tmp", NULL, NULL, &rep, err);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, err), 0, "%s", err->msg);
	return rc;
}

/* genesis {n} -> block 1: add v1 (cert n) -> block 2: add v2 (cert n, v1)
 * -> block 3: view change (cert n, v1, v2) */
static void three_blocks(void)
{
	struct mc_buf b;
	struct mc_err err = { 0 };

	vk[0] = fx.node;
	for (int i = 1; i <= 2; i++)
		cr_assert_eq(mc_key_generate(false, &vk[i], &err), 0);
	add_body(&b, vk[1]->pk, "v1", "https://v1.example", 0, vk, 1);
	block(vk[0], MC_TX_NODE_ADD, &b, vk, 1, IN_FORCE);
	mc_buf_release(&b);
	add_body(&b, vk[2]->pk, "v2", "https://v2.example", 1, vk, 2);
	block(vk[1], MC_TX_NODE_ADD, &b, vk, 2, IN_FORCE);
	mc_buf_release(&b);
	vc_body(&b, 1, vk[1]->pk, vk, 3);
	block(vk[2], MC_TX_VIEW_CHANGE, &b, vk, 3, IN_FORCE);
	mc_buf_release(&b);
}

Test(valset, verify_checks_each_block_against_the_set_in_force_at_its_height, .fini = free_keys)
{
	struct mc_err err = { 0 };

	three_blocks();
	cr_assert_eq(head().height, 3);
	cr_assert_eq(run_verify(false, &err), 0, "%s", err.msg);
	cr_assert_eq(run_verify(true, &err), 0, "%s", err.msg);
}

Test(valset, verify_refuses_a_block_certified_by_the_old_set_after_a_change, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct mc_key *x = NULL;

	vk[0] = fx.node;
	cr_assert_eq(mc_key_generate(false, &vk[1], &err), 0);
	add_body(&b, vk[1]->pk, "v1", "https://v1.example", 0, vk, 1);
	block(vk[0], MC_TX_NODE_ADD, &b, vk, 1, IN_FORCE);
	mc_buf_release(&b);
	cr_assert_eq(mc_key_generate(false, &x, &err), 0);
	{
		struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr X", .name_len = 4 };

		memcpy(e.pk, x->pk, MC_PK_LEN);
		mc_buf_init(&b);
		mc_enroll_encode(&e, &b);
	}
	/* block 2 names the old set {genesis node} and carries its vote alone */
	block(fx.admin, MC_TX_IDENTITY_ENROLL, &b, vk, 1, GENESIS_SET);
	mc_buf_release(&b);
	cr_assert_neq(run_verify(false, &err), 0, "the old set no longer certifies");
	cr_assert_not_null(strstr(err.msg, "block 2"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "validator set"), "%s", err.msg);
	cr_assert_neq(run_verify(true, &err), 0);
	cr_assert_not_null(strstr(err.msg, "block 2"), "%s", err.msg);
	mc_key_free(x);
}

Test(valset, verify_refuses_a_block_short_of_the_new_sets_quorum, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;

	vk[0] = fx.node;
	cr_assert_eq(mc_key_generate(false, &vk[1], &err), 0);
	add_body(&b, vk[1]->pk, "v1", "https://v1.example", 0, vk, 1);
	block(vk[0], MC_TX_NODE_ADD, &b, vk, 1, IN_FORCE);
	mc_buf_release(&b);
	/* block 2 names {n, v1} but carries n's vote alone: 1 of 2 */
	vc_body(&b, 1, vk[1]->pk, vk, 2);
	block(vk[1], MC_TX_VIEW_CHANGE, &b, vk, 1, IN_FORCE);
	mc_buf_release(&b);
	cr_assert_neq(run_verify(false, &err), 0);
	cr_assert_not_null(strstr(err.msg, "block 2"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "quorum"), "%s", err.msg);
}

Test(valset, verify_refuses_a_block_naming_the_new_set_early, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;

	vk[0] = fx.node;
	cr_assert_eq(mc_key_generate(false, &vk[1], &err), 0);
	add_body(&b, vk[1]->pk, "v1", "https://v1.example", 0, vk, 1);
	/* the adding block names (and is signed by) the set it makes */
	block(vk[0], MC_TX_NODE_ADD, &b, vk, 2, META_SET);
	mc_buf_release(&b);
	cr_assert_neq(run_verify(false, &err), 0);
	cr_assert_not_null(strstr(err.msg, "block 1"), "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, "validator set"), "%s", err.msg);
}

static int tamper_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	int which = *(int *)vctx;
	uint8_t key[8];

	if (which == 0) {
		/* a validator set row rewritten: v1 alone from height 2 */
		mc_be64(key, 2);
		return mc_txn_put(t, MC_DB_VALSETS, key, 8, vk[1]->pk, MC_PK_LEN, err);
	}
	if (which == 1) {
		uint8_t row[16 + 5];

		mc_be64(row, 1);
		mc_be64(row + 8, 0);
		memcpy(row + 16, "http:", 5);
		return mc_txn_put(t, MC_DB_NODES, vk[1]->pk, MC_PK_LEN, row, sizeof(row), err);
	}
	{
		uint8_t v[8];

		mc_be64(v, 9);
		return mc_txn_put(t, MC_DB_META, "view", 4, v, 8, err);
	}
}

Test(valset, verify_finds_a_changed_valsets_row, .fini = free_keys)
{
	int which = 0;
	struct mc_err err = { 0 };

	three_blocks();
	cr_assert_eq(mc_store_write(fx.s, tamper_txn, &which, &err), 0, "%s", err.msg);
	cr_assert_neq(run_verify(false, &err), 0);
	cr_assert_not_null(strstr(err.msg, "validator sets by height"), "%s", err.msg);
}

Test(valset, verify_finds_a_changed_node_row, .fini = free_keys)
{
	int which = 1;
	struct mc_err err = { 0 };

	three_blocks();
	cr_assert_eq(mc_store_write(fx.s, tamper_txn, &which, &err), 0, "%s", err.msg);
	cr_assert_neq(run_verify(false, &err), 0);
	cr_assert_not_null(strstr(err.msg, "validator nodes"), "%s", err.msg);
}

Test(valset, verify_finds_a_changed_view, .fini = free_keys)
{
	int which = 2;
	struct mc_err err = { 0 };

	three_blocks();
	cr_assert_eq(mc_store_write(fx.s, tamper_txn, &which, &err), 0, "%s", err.msg);
	cr_assert_neq(run_verify(false, &err), 0);
	cr_assert_not_null(strstr(err.msg, "leader or view"), "%s", err.msg);
}

/* A store written before the nodes and valsets tables and the leader and
 * view keys existed: read-only opens, the getters' fallbacks and verify. */
static void make_legacy(void)
{
	MDB_env *env;
	MDB_txn *txn = raw_begin(&env);
	MDB_dbi dbi;
	MDB_val k;
	static char leader[] = "leader", view[] = "view";

	raw_drop(txn, "nodes");
	raw_drop(txn, "valsets");
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	k.mv_data = leader;
	k.mv_size = 6;
	cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
	k.mv_data = view;
	k.mv_size = 4;
	cr_assert_eq(mdb_del(txn, dbi, &k, NULL), 0);
	raw_commit(env, txn);
}

Test(valset, a_store_older_than_the_tables_reads_and_verifies)
{
	struct mc_err err = { 0 };
	struct mc_verify_report rep;
	struct snap s;
	struct at_ctx a = { .height = 5 };

	make_legacy();
	cr_assert_eq(mc_store_open(fx.dir, MC_STORE_RDONLY, &fx.s, &err), 0, "%s", err.msg);
	s = snap();
	cr_assert_eq(s.n, 1);
	cr_assert_arr_eq(s.leader, fx.node->pk, MC_PK_LEN, "the first validator leads");
	cr_assert_eq(s.view, 0);
	cr_assert_eq(s.nodes + s.sets, 0);
	cr_assert_eq(mc_store_read(fx.s, at_txn, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(a.n, 1);
	cr_assert_arr_eq(a.vals[0], fx.node->pk, MC_PK_LEN);
	mc_store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(mc_verify_isolated(fx.dir, "/tmp", NULL, NULL, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_verify_recent_isolated(fx.dir, &rep, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
}

Test(valset, an_older_store_adopts_the_tables_on_its_first_set_change, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;

	make_legacy();
	cr_assert_eq(mc_store_open(fx.dir, 0, &fx.s, &err), 0, "%s", err.msg);
	vk[0] = fx.node;
	cr_assert_eq(mc_key_generate(false, &vk[1], &err), 0);
	add_body(&b, vk[1]->pk, "v1", "https://v1.example", 0, vk, 1);
	block(vk[0], MC_TX_NODE_ADD, &b, vk, 1, IN_FORCE);
	mc_buf_release(&b);
	cr_assert_eq(snap().sets, 2, "the genesis set and the new one");
	cr_assert_eq(node_row(fx.node->pk).added, 0);
	cr_assert_eq(run_verify(false, &err), 0, "%s", err.msg);
}

/* The operators' approvals of a promotion: a round trip, every truncation
 * and trailing bytes refused, and the digest binding the chain, the view
 * it starts from and the leader. */
Test(valset, promote_approvals_round_trip_and_bind_chain_view_and_leader)
{
	struct mc_promote p, back;
	struct mc_err err = { 0 };
	struct mc_buf b;
	uint8_t cid[MC_HASH_LEN], d[MC_HASH_LEN], d2[MC_HASH_LEN], other[MC_HASH_LEN] = { 7 };
	uint8_t vals[1][MC_PK_LEN];

	memset(&p, 0, sizeof(p));
	p.from_view = 41;
	memcpy(p.leader, fx.admin->pk, MC_PK_LEN);
	chain_id(cid);
	mc_promote_digest(cid, p.from_view, p.leader, d);
	p.approvals.count = 1;
	mc_approval_sign(d, fx.node->sk, fx.node->pk, &p.approvals.a[0]);
	mc_buf_init(&b);
	mc_promote_encode(&p, &b);
	cr_assert_eq(mc_promote_decode(b.data, b.len, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(back.from_view, 41);
	cr_assert_arr_eq(back.leader, p.leader, MC_PK_LEN);
	memcpy(vals[0], fx.node->pk, MC_PK_LEN);
	cr_assert_eq(mc_approvals_check(&back.approvals, d, (const uint8_t (*)[MC_PK_LEN])vals, 1, &err), 0);
	for (size_t n = 0; n < b.len; n++)
		cr_assert_eq(mc_promote_decode(b.data, n, &back, &err), -1, "truncated at %zu", n);
	cr_assert_eq(err.code, EX_DATAERR);
	mc_put_u8(&b, 0);
	cr_assert_eq(mc_promote_decode(b.data, b.len, &back, &err), -1, "a trailing byte");
	/* another chain, view or leader is another digest */
	mc_promote_digest(other, 41, p.leader, d2);
	cr_assert_arr_neq(d, d2, MC_HASH_LEN);
	mc_promote_digest(cid, 42, p.leader, d2);
	cr_assert_arr_neq(d, d2, MC_HASH_LEN);
	mc_promote_digest(cid, 41, fx.node->pk, d2);
	cr_assert_arr_neq(d, d2, MC_HASH_LEN);
	cr_assert_eq(mc_approvals_check(&p.approvals, d2, (const uint8_t (*)[MC_PK_LEN])vals, 1, &err), -1);
	mc_buf_release(&b);
}

/* ---- NODE_ROTATE ------------------------------------------------------------ */

/* A rotation of old to nw at epoch, signed by nw (or by signer when it is
 * not NULL: a holder who did not agree) and approved by signers. */
static void rotate_body(struct mc_buf *b, const struct mc_key *old, const struct mc_key *nw, uint64_t epoch,
			const struct mc_key *new_signer, struct mc_key *const *signers, size_t n)
{
	struct mc_node_rotate r;
	uint8_t cid[MC_HASH_LEN], digest[MC_HASH_LEN];

	memset(&r, 0, sizeof(r));
	memcpy(r.old_pk, old->pk, MC_PK_LEN);
	memcpy(r.new_pk, nw->pk, MC_PK_LEN);
	r.epoch = epoch;
	chain_id(cid);
	mc_node_rotate_digest(cid, old->pk, nw->pk, epoch, digest);
	mc_sign(new_signer ? new_signer->sk : nw->sk, digest, MC_HASH_LEN, r.new_sig);
	approve(&r.approvals, digest, signers, n);
	mc_buf_init(b);
	mc_node_rotate_encode(&r, b);
}

Test(valset, node_rotate_puts_the_new_key_in_the_old_ones_place_from_the_next_block, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_key *nw = NULL;
	struct mc_buf b;
	struct snap before, after;
	struct id_ctx ic;
	struct node_row r;
	uint64_t h;

	next_height = 1;
	grow_to(4);
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
	before = snap();
	h = next_height;
	/* vk[2]'s key, approved by three of four (itself among them) */
	rotate_body(&b, vk[2], nw, 3, NULL, vk, 3);
	cr_assert_eq(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	after = snap();
	cr_assert_eq(after.n, 4);
	cr_assert(has(&after, nw->pk));
	cr_assert_not(has(&after, vk[2]->pk));
	for (size_t i = 1; i < after.n; i++)
		cr_assert_lt(memcmp(after.vals[i - 1], after.vals[i], MC_PK_LEN), 0, "the set is sorted");
	cr_assert_eq(after.epoch, before.epoch + 1);
	cr_assert_arr_eq(after.leader, before.leader, MC_PK_LEN, "the leader stays");
	/* the rotating block is still certified by the old key, the next by the new */
	{
		struct at_ctx in = set_at(h), next = set_at(h + 1);
		struct snap s1, s2;

		memcpy(s1.vals, in.vals, sizeof(in.vals));
		s1.n = in.n;
		memcpy(s2.vals, next.vals, sizeof(next.vals));
		s2.n = next.n;
		cr_assert(has(&s1, vk[2]->pk) && !has(&s1, nw->pk));
		cr_assert(has(&s2, nw->pk) && !has(&s2, vk[2]->pk));
	}
	r = node_row(vk[2]->pk);
	cr_assert_eq(r.removed, h, "the old key's row is closed in the rotating block");
	cr_assert_str_eq(r.url, "https://node-2.example:7700");
	r = node_row(nw->pk);
	cr_assert_eq(r.added, h);
	cr_assert_eq(r.removed, 0);
	cr_assert_str_eq(r.url, "https://node-2.example:7700", "the address goes with the node");
	ic.pk = nw->pk;
	cr_assert_eq(mc_store_read(fx.s, id_txn, &ic, &err), 0, "%s", err.msg);
	cr_assert_eq(ic.rc, 0);
	cr_assert_eq(ic.id.roles, MC_ROLE_NODE);
	cr_assert_str_eq(ic.id.name, "node-2", "the node keeps its name");
	cr_assert_eq(ic.id.enrolled, h);
	cr_assert_eq(ic.id.revoked, MC_NOT_REVOKED);
	ic.pk = vk[2]->pk;
	cr_assert_eq(mc_store_read(fx.s, id_txn, &ic, &err), 0, "%s", err.msg);
	cr_assert_eq(ic.id.revoked, h, "the old key's identity is revoked");
	/* the retired key authors nothing more; the new one does */
	before = after;
	remove_body(&b, vk[3]->pk, after.epoch, vk, 3);
	expect_refused(apply(vk[2], MC_TX_NODE_REMOVE, &b, &err), &err, "revoked", &before);
	mc_buf_release(&b);
	{
		struct mc_key *const now[] = { vk[0], vk[1], nw };

		remove_body(&b, vk[3]->pk, after.epoch, now, 3);
		cr_assert_eq(apply(nw, MC_TX_NODE_REMOVE, &b, &err), 0, "%s", err.msg);
		mc_buf_release(&b);
	}
	mc_key_free(nw);
}

Test(valset, node_rotate_refusals_name_the_rule_and_change_nothing, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_key *nw = NULL, *other = NULL;
	struct mc_buf b;
	struct snap before;

	next_height = 1;
	grow_to(4);
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
	cr_assert_eq(mc_key_generate(false, &other, &err), 0);
	before = snap();
	rotate_body(&b, vk[2], nw, 3, other, vk, 3);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "holder did not agree", &before);
	mc_buf_release(&b);
	rotate_body(&b, vk[2], nw, 3, NULL, vk, 2);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "short of a quorum", &before);
	mc_buf_release(&b);
	rotate_body(&b, vk[2], nw, 2, NULL, vk, 3);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "epoch", &before);
	mc_buf_release(&b);
	rotate_body(&b, vk[2], vk[3], 3, NULL, vk, 3);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "fresh key", &before);
	mc_buf_release(&b);
	rotate_body(&b, vk[2], fx.admin, 3, NULL, vk, 3);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "enrolled identity already", &before);
	mc_buf_release(&b);
	rotate_body(&b, other, nw, 3, NULL, vk, 3);
	expect_refused(apply(vk[0], MC_TX_NODE_ROTATE, &b, &err), &err, "not a validator", &before);
	mc_buf_release(&b);
	rotate_body(&b, vk[2], nw, 3, NULL, vk, 3);
	expect_refused(apply(fx.admin, MC_TX_NODE_ROTATE, &b, &err), &err, "not a validator", &before);
	cr_assert_eq(apply(vk[2], MC_TX_NODE_ROTATE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	mc_key_free(nw);
	mc_key_free(other);
}

Test(valset, verify_refuses_a_block_certified_with_a_retired_key, .fini = free_keys)
{
	struct mc_err err = { 0 };
	struct mc_buf b;
	struct mc_key *nw = NULL;

	three_blocks();
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
	/* block 4 rotates v2's key (certified by n, v1, v2 as before) */
	rotate_body(&b, vk[2], nw, 2, NULL, vk, 3);
	block(vk[1], MC_TX_NODE_ROTATE, &b, vk, 3, IN_FORCE);
	mc_buf_release(&b);
	cr_assert_eq(run_verify(false, &err), 0, "%s", err.msg);
	/* block 5 names the new set but carries the retired key's vote */
	{
		struct mc_enroll e = { .roles = MC_ROLE_CLINICIAN, .name = (const uint8_t *)"Dr Y", .name_len = 4 };
		struct mc_key *y = NULL;
		struct mc_key *const signers[] = { vk[1], vk[0], vk[2] };

		cr_assert_eq(mc_key_generate(false, &y, &err), 0);
		memcpy(e.pk, y->pk, MC_PK_LEN);
		mc_buf_init(&b);
		mc_enroll_encode(&e, &b);
		block(fx.admin, MC_TX_IDENTITY_ENROLL, &b, signers, 3, IN_FORCE);
		mc_buf_release(&b);
		mc_key_free(y);
	}
	cr_assert_neq(run_verify(false, &err), 0, "the retired key's vote does not count");
	cr_assert_not_null(strstr(err.msg, "block 5"), "%s", err.msg);
	mc_key_free(nw);
}

Test(valset, node_rotate_of_the_leader_hands_the_leadership_to_the_new_key)
{
	struct mc_err err = { 0 };
	struct mc_key *nw = NULL;
	struct mc_buf b;
	struct snap after;

	vk[0] = fx.node;
	next_height = 1;
	cr_assert_eq(mc_key_generate(false, &nw, &err), 0);
	/* the sole validator (and leader) rotates its own key */
	rotate_body(&b, fx.node, nw, 0, NULL, vk, 1);
	cr_assert_eq(apply(fx.node, MC_TX_NODE_ROTATE, &b, &err), 0, "%s", err.msg);
	mc_buf_release(&b);
	after = snap();
	cr_assert_eq(after.n, 1);
	cr_assert_arr_eq(after.vals[0], nw->pk, MC_PK_LEN);
	cr_assert_arr_eq(after.leader, nw->pk, MC_PK_LEN, "the node leads on under its new key");
	cr_assert_eq(after.view, 0, "no view change");
	mc_key_free(nw);
}
