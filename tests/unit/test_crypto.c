/* SPDX-License-Identifier: Apache-2.0 */
/* Crypto wrappers: known answers (FIPS 180, RFC 8032, BLAKE2b from Python's
 * hashlib), authentication failures, hex parsing. */
#include "config.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

TestSuite(crypto, .init = (void (*)(void))mc_crypto_init);

static void unhex(const char *s, uint8_t *out, size_t n)
{
	cr_assert_eq(mc_unhex(s, out, n), 0, "bad vector %s", s);
}

Test(crypto, init_is_idempotent)
{
	cr_assert_eq(mc_crypto_init(), 0, "a second call is not an error");
}

Test(crypto, unhex_of_zero_bytes_takes_only_the_empty_string)
{
	uint8_t b[1] = { 0x5a };

	cr_assert_eq(mc_unhex("", b, 0), 0);
	cr_assert_eq(b[0], 0x5a, "nothing written");
	cr_assert_neq(mc_unhex("00", b, 0), 0);
}

Test(crypto, unhex_refuses_prefixes_separators_and_whitespace)
{
	uint8_t b[3];

	cr_assert_neq(mc_unhex("0x00ab", b, 3), 0, "0x prefix");
	cr_assert_neq(mc_unhex("00:abf", b, 3), 0, "separator");
	cr_assert_neq(mc_unhex("00abf\n", b, 3), 0, "trailing newline of the right length");
	cr_assert_neq(mc_unhex(" 00abf", b, 3), 0, "leading space");
	cr_assert_neq(mc_unhex("00abff\n", b, 3), 0, "trailing newline");
	/* 2n wraps to 0 here, which would match strlen(""). */
	cr_assert_neq(mc_unhex("", b, SIZE_MAX / 2 + 1), 0, "2n would overflow");
}

Test(crypto, sealed_box_of_an_empty_message_and_too_short_boxes)
{
	uint8_t seed[32] = { 5 }, pk[32], sk[64], c[MC_SEALBYTES], m[1];

	mc_sign_seed_keypair(seed, pk, sk);
	cr_assert_eq(mc_seal(pk, "", 0, c), 0);
	cr_assert_eq(mc_seal_open(sk, c, MC_SEALBYTES, m), 0, "exactly the overhead");
	cr_assert_neq(mc_seal_open(sk, c, MC_SEALBYTES - 1, m), 0);
	cr_assert_neq(mc_seal_open(sk, c, 0, m), 0);
}

Test(crypto, sealing_to_a_small_order_public_key_is_refused)
{
	uint8_t pk[32] = { 1 }, c[4 + MC_SEALBYTES], x[32];

	/* 01 00..00 encodes the identity point. */
	cr_assert_neq(mc_pk_to_x25519(pk, x), 0);
	cr_assert_neq(mc_seal(pk, "abcd", 4, c), 0);
}

Test(crypto, aead_of_an_empty_message_is_just_a_tag_and_authenticates)
{
	uint8_t key[32] = { 7 }, nonce[24] = { 8 }, c[MC_AEAD_TAG_LEN], m[1];

	mc_aead_encrypt(key, nonce, NULL, 0, NULL, 0, c);
	cr_assert_eq(mc_aead_decrypt(key, nonce, NULL, 0, c, sizeof(c), m), 0);
	c[0] ^= 0x80;
	cr_assert_neq(mc_aead_decrypt(key, nonce, NULL, 0, c, sizeof(c), m), 0, "tag changed");
	cr_assert_neq(mc_aead_decrypt(key, nonce, NULL, 0, c, 0, m), 0, "no tag at all");
}

Test(crypto, sha256_fips_vectors)
{
	uint8_t h[32], w[32];
	char *m = malloc(1000000);

	mc_sha256("", 0, h);
	unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", w, 32);
	cr_assert_arr_eq(h, w, 32);
	mc_sha256("abc", 3, h);
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", w, 32);
	cr_assert_arr_eq(h, w, 32);
	memset(m, 'a', 1000000);
	mc_sha256(m, 1000000, h);
	unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", w, 32);
	cr_assert_arr_eq(h, w, 32);
	free(m);
}

Test(crypto, sha256_streaming_equals_one_shot)
{
	struct mc_sha256 s;
	uint8_t a[32], b[32];

	mc_sha256_init(&s);
	mc_sha256_update(&s, "a", 1);
	mc_sha256_update(&s, "", 0);
	mc_sha256_update(&s, "bc", 2);
	mc_sha256_final(&s, a);
	mc_sha256("abc", 3, b);
	cr_assert_arr_eq(a, b, 32);
}

Test(crypto, blake2b_keyed_known_answer)
{
	/* python3: hashlib.blake2b(b"MRN-1", digest_size=32, key=bytes(range(32))).hexdigest() */
	uint8_t key[32], h[32], w[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	mc_blake2b_keyed(key, "MRN-1", 5, h);
	unhex("58bc9e0a23b9b69648626742055bd39543e26ab51fb5ab119840c6980624b391", w, 32);
	cr_assert_arr_eq(h, w, 32);
}

Test(crypto, ed25519_rfc8032_test_1)
{
	uint8_t seed[32], pk[32], sk[64], sig[64], wpk[32], wsig[64];

	unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", wpk, 32);
	unhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b", wsig, 64);
	mc_sign_seed_keypair(seed, pk, sk);
	cr_assert_arr_eq(pk, wpk, 32);
	mc_sign(sk, "", 0, sig);
	cr_assert_arr_eq(sig, wsig, 64);
	cr_assert_eq(mc_sign_verify(pk, "", 0, sig), 0);
	sig[10] ^= 1;
	cr_assert_neq(mc_sign_verify(pk, "", 0, sig), 0, "a flipped bit fails");
	sig[10] ^= 1;
	cr_assert_neq(mc_sign_verify(pk, "x", 1, sig), 0, "another message fails");
}

Test(crypto, sealed_box_round_trip_and_tamper)
{
	uint8_t seed[32] = { 3 }, pk[32], sk[64], other_sk[64], other_pk[32], seed2[32] = { 4 };
	uint8_t c[32 + MC_SEALBYTES], m[32];

	mc_sign_seed_keypair(seed, pk, sk);
	mc_sign_seed_keypair(seed2, other_pk, other_sk);
	cr_assert_eq(mc_seal(pk, "0123456789abcdef0123456789abcdef", 32, c), 0);
	cr_assert_eq(mc_seal_open(sk, c, sizeof(c), m), 0);
	cr_assert_arr_eq(m, "0123456789abcdef0123456789abcdef", 32);
	cr_assert_neq(mc_seal_open(other_sk, c, sizeof(c), m), 0, "another key cannot open it");
	c[40] ^= 1;
	cr_assert_neq(mc_seal_open(sk, c, sizeof(c), m), 0, "a changed box fails");
	cr_assert_neq(mc_seal_open(sk, c, 10, m), 0, "a short box fails");
}

Test(crypto, aead_round_trip_and_wrong_ad_or_key_fails)
{
	uint8_t key[32] = { 1 }, nonce[24] = { 2 }, c[5 + 16], m[5];

	mc_aead_encrypt(key, nonce, "ad", 2, "hello", 5, c);
	cr_assert_eq(mc_aead_decrypt(key, nonce, "ad", 2, c, sizeof(c), m), 0);
	cr_assert_arr_eq(m, "hello", 5);
	cr_assert_neq(mc_aead_decrypt(key, nonce, "ae", 2, c, sizeof(c), m), 0);
	key[0] ^= 1;
	cr_assert_neq(mc_aead_decrypt(key, nonce, "ad", 2, c, sizeof(c), m), 0);
	cr_assert_neq(mc_aead_decrypt(key, nonce, "ad", 2, c, 15, m), 0, "shorter than a tag");
}

Test(crypto, hex_round_trip_and_strict_parsing)
{
	uint8_t b[3] = { 0x00, 0xab, 0xff }, back[3];
	char s[7];

	mc_hex(b, 3, s);
	cr_assert_str_eq(s, "00abff");
	cr_assert_eq(mc_unhex("00abff", back, 3), 0);
	cr_assert_arr_eq(back, b, 3);
	cr_assert_eq(mc_unhex("00ABFF", back, 3), 0, "upper case is fine");
	cr_assert_neq(mc_unhex("00abf", back, 3), 0, "odd length");
	cr_assert_neq(mc_unhex("00abffee", back, 3), 0, "too long");
	cr_assert_neq(mc_unhex("00abfg", back, 3), 0, "not hex");
	cr_assert_neq(mc_unhex("00 bff", back, 3), 0, "spaces");
	cr_assert_neq(mc_unhex("", back, 3), 0);
}

Test(crypto, guarded_memory_is_zeroed_and_free_accepts_null)
{
	uint8_t *p = mc_secure_alloc(64);

	cr_assert_not_null(p);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(p[i], 0);
	mc_secure_free(p);
	mc_secure_free(NULL);
}

Test(crypto, sha256_of_a_million_a_in_uneven_pieces_matches_fips)
{
	struct mc_sha256 s;
	uint8_t h[32], w[32], a[1000];
	size_t done = 0, step = 1;

	memset(a, 'a', sizeof(a));
	mc_sha256_init(&s);
	while (done < 1000000) {
		size_t k = 1000000 - done < step ? 1000000 - done : step;

		mc_sha256_update(&s, a, k);
		done += k;
		step = step % 983 + 13;  /* 13..995: never past a, crosses blocks at every offset */
	}
	mc_sha256_final(&s, h);
	unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", w, 32);
	cr_assert_arr_eq(h, w, 32);
}

Test(crypto, blake2b_keyed_of_empty_input_known_answer_and_key_matters)
{
	/* python3: hashlib.blake2b(b"", digest_size=32, key=bytes(range(32))).hexdigest() */
	uint8_t key[32], h[32], w[32], h2[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	mc_blake2b_keyed(key, "", 0, h);
	unhex("4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d", w, 32);
	cr_assert_arr_eq(h, w, 32);
	key[31] ^= 1;
	mc_blake2b_keyed(key, "", 0, h2);
	cr_assert_arr_neq(h, h2, 32);
}

Test(crypto, ed25519_rfc8032_test_2_one_byte_message)
{
	uint8_t seed[32], pk[32], sk[64], sig[64], wpk[32], wsig[64], msg = 0x72;

	unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", seed, 32);
	unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", wpk, 32);
	unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", wsig, 64);
	mc_sign_seed_keypair(seed, pk, sk);
	cr_assert_arr_eq(pk, wpk, 32);
	mc_sign(sk, &msg, 1, sig);
	cr_assert_arr_eq(sig, wsig, 64);
	cr_assert_eq(mc_sign_verify(pk, &msg, 1, sig), 0);
}

Test(crypto, sign_verify_fails_for_every_flipped_signature_bit)
{
	uint8_t seed[32] = { 9 }, pk[32], sk[64], sig[64];

	mc_sign_seed_keypair(seed, pk, sk);
	mc_sign(sk, "medchain", 8, sig);
	cr_assert_eq(mc_sign_verify(pk, "medchain", 8, sig), 0);
	for (int bit = 0; bit < 64 * 8; bit++) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_neq(mc_sign_verify(pk, "medchain", 8, sig), 0, "bit %d", bit);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

Test(crypto, x25519_keys_derived_from_an_identity_are_a_pair)
{
	uint8_t seed[32] = { 11 }, pk[32], sk[64], xpk[32], xsk[32], base[32];

	mc_sign_seed_keypair(seed, pk, sk);
	cr_assert_eq(mc_pk_to_x25519(pk, xpk), 0);
	cr_assert_eq(mc_sk_to_x25519(sk, xsk), 0);
	cr_assert_eq(crypto_scalarmult_curve25519_base(base, xsk), 0);
	cr_assert_arr_eq(base, xpk, 32);
}

Test(crypto, random_fills_and_differs)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };

	mc_random(a, sizeof(a));
	mc_random(b, sizeof(b));
	cr_assert_arr_neq(a, b, 32);
	mc_random(a, 0);
}
