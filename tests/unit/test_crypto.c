/* Crypto wrappers: known answers (FIPS 180, RFC 8032, BLAKE2b from Python's
 * hashlib), authentication failures, hex parsing. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

TestSuite(crypto, .init = (void (*)(void))mc_crypto_init);

static void unhex(const char *s, uint8_t *out, size_t n)
{
	cr_assert_eq(mc_unhex(s, out, n), 0, "bad vector %s", s);
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
