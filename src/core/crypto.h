/* SPDX-License-Identifier: Apache-2.0 */
/* crypto.h - thin wrappers over libsodium and nettle.
 *
 * SHA-256 comes from nettle (CPU SHA extensions where present); Ed25519,
 * XChaCha20-Poly1305, sealed boxes, BLAKE2b and randomness from libsodium.
 * mc_crypto_init() must be called once before anything else here.
 */
#ifndef MC_CRYPTO_H
#define MC_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_HASH_LEN 32
#define MC_PK_LEN 32
#define MC_SK_LEN 64       /* libsodium Ed25519 secret key: seed || pk */
#define MC_SEED_LEN 32
#define MC_SIG_LEN 64
#define MC_AEAD_KEY_LEN 32
#define MC_AEAD_NONCE_LEN 24
#define MC_AEAD_TAG_LEN 16
#define MC_SEALBYTES 48    /* crypto_box_SEALBYTES */
#define MC_X25519_LEN 32

/* Returns 0 on success, -1 if libsodium cannot initialise. */
int mc_crypto_init(void);

/* SHA-256 (nettle). */
struct mc_sha256 {
	uint64_t state[16];  /* opaque, aligned: a struct sha256_ctx fits (checked in crypto.c) */
};
void mc_sha256_init(struct mc_sha256 *h);
void mc_sha256_update(struct mc_sha256 *h, const void *p, size_t n);
void mc_sha256_final(struct mc_sha256 *h, uint8_t out[MC_HASH_LEN]);
void mc_sha256(const void *p, size_t n, uint8_t out[MC_HASH_LEN]);

/* Keyed BLAKE2b-256 (libsodium crypto_generichash). */
void mc_blake2b_keyed(const uint8_t key[32], const void *p, size_t n,
		      uint8_t out[MC_HASH_LEN]);

void mc_random(void *p, size_t n);
/* As mc_random for large n without a system call every 256 bytes: a
 * ChaCha20 keystream under a fresh 256-bit seed from the system's
 * generator, the seed wiped once used. */
void mc_random_expand(void *p, size_t n);

/* Ed25519. sk is 64 bytes (seed || pk) and should live in guarded memory. */
void mc_sign_seed_keypair(const uint8_t seed[MC_SEED_LEN], uint8_t pk[MC_PK_LEN],
			  uint8_t sk[MC_SK_LEN]);
void mc_sign(const uint8_t sk[MC_SK_LEN], const void *msg, size_t n,
	     uint8_t sig[MC_SIG_LEN]);
/* 0 when valid. */
int mc_sign_verify(const uint8_t pk[MC_PK_LEN], const void *msg, size_t n,
		   const uint8_t sig[MC_SIG_LEN]) __attribute__((warn_unused_result));

/* X25519 keys derived from Ed25519 keys (libsodium conversion). 0 on success. */
int mc_pk_to_x25519(const uint8_t pk[MC_PK_LEN], uint8_t xpk[MC_X25519_LEN])
	__attribute__((warn_unused_result));
int mc_sk_to_x25519(const uint8_t sk[MC_SK_LEN], uint8_t xsk[MC_X25519_LEN])
	__attribute__((warn_unused_result));

/* crypto_box_seal to an Ed25519 identity's X25519 key: out has n + 48 bytes. */
int mc_seal(const uint8_t pk[MC_PK_LEN], const void *msg, size_t n, uint8_t *out)
	__attribute__((warn_unused_result));
/* Opens a sealed box with an Ed25519 identity's secret key; out has n - 48. */
int mc_seal_open(const uint8_t sk[MC_SK_LEN], const uint8_t *c, size_t n, uint8_t *out)
	__attribute__((warn_unused_result));

/* XChaCha20-Poly1305 IETF, detached-free form: out = ciphertext || tag
 * (n + 16 bytes). */
void mc_aead_encrypt(const uint8_t key[MC_AEAD_KEY_LEN],
		     const uint8_t nonce[MC_AEAD_NONCE_LEN],
		     const void *ad, size_t adlen,
		     const void *msg, size_t n, uint8_t *out);
/* 0 when authentic; out gets n - 16 bytes. */
int mc_aead_decrypt(const uint8_t key[MC_AEAD_KEY_LEN],
		    const uint8_t nonce[MC_AEAD_NONCE_LEN],
		    const void *ad, size_t adlen,
		    const uint8_t *c, size_t n, uint8_t *out)
	__attribute__((warn_unused_result));

/* Lowercase hex. out must hold 2n + 1 bytes. */
void mc_hex(const void *p, size_t n, char *out);
/* Parses exactly 2n hex digits; 0 on success. */
int mc_unhex(const char *s, void *out, size_t n) __attribute__((warn_unused_result));

/* A persistent pool of threads for a parallel loop (signature checks are
 * its use): mc_par_run(p, n, fn, ctx) calls fn(i, ctx) once for each i in
 * [0, n), on the caller's thread and the pool's, and returns when every
 * call has returned. Its threads live from mc_par_new to mc_par_free (no
 * thread is created per loop); calls to mc_par_run from several threads
 * take turns. threads counts the caller: 2 makes one pool thread. The
 * handle is the caller's: the core keeps no pool of its own. */
struct mc_par;
typedef void (*mc_par_fn)(size_t i, void *ctx);
/* 0, or -1 (out of memory or threads). */
int mc_par_new(unsigned threads, struct mc_par **out) __attribute__((warn_unused_result));
void mc_par_free(struct mc_par *p);   /* NULL ok; joins the threads */
void mc_par_run(struct mc_par *p, size_t n, mc_par_fn fn, void *ctx);

/* Guarded memory (sodium_malloc); mc_secure_free wipes and frees, NULL ok. */
void *mc_secure_alloc(size_t n);
void mc_secure_free(void *p);
void mc_wipe(void *p, size_t n);

#endif
