/* SPDX-License-Identifier: Apache-2.0 */
/* crypto.c - SHA-256 from nettle, everything else from libsodium. */
#include "config.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

_Static_assert(crypto_box_SEALBYTES == MC_SEALBYTES, "sealed box overhead");
_Static_assert(crypto_sign_ed25519_PUBLICKEYBYTES == MC_PK_LEN, "ed25519 public key size");
_Static_assert(crypto_sign_ed25519_SECRETKEYBYTES == MC_SK_LEN, "ed25519 secret key size");
_Static_assert(crypto_sign_ed25519_SEEDBYTES == MC_SEED_LEN, "ed25519 seed size");
_Static_assert(crypto_sign_ed25519_BYTES == MC_SIG_LEN, "ed25519 signature size");
_Static_assert(crypto_scalarmult_curve25519_BYTES == MC_X25519_LEN, "x25519 key size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == MC_AEAD_KEY_LEN, "aead key size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == MC_AEAD_NONCE_LEN, "nonce size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == MC_AEAD_TAG_LEN, "tag size");
_Static_assert(crypto_generichash_KEYBYTES_MIN <= 32 && 32 <= crypto_generichash_KEYBYTES_MAX,
	       "blake2b key size");
_Static_assert(SHA256_DIGEST_SIZE == MC_HASH_LEN, "sha-256 digest size");

/* struct mc_sha256 is opaque storage for nettle's struct sha256_ctx. The
 * context lives in it through a union, so it is the union's alignment and
 * size that count: both are checked, and a nettle whose context outgrew or
 * out-aligned the storage fails to compile rather than corrupt memory. The
 * build uses -fno-strict-aliasing, and nettle only ever sees the context
 * pointer. */
union sha_state {
	struct mc_sha256 outer;
	struct sha256_ctx ctx;
};
_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((struct mc_sha256 *)0)->state),
	       "mc_sha256 state too small for nettle's sha256_ctx");
_Static_assert(_Alignof(struct sha256_ctx) <= _Alignof(struct mc_sha256),
	       "mc_sha256 state not aligned enough for nettle's sha256_ctx");
_Static_assert(sizeof(union sha_state) == sizeof(struct mc_sha256),
	       "nettle's sha256_ctx must fit the opaque state exactly in size");

static struct sha256_ctx *ctx_of(struct mc_sha256 *h)
{
	return &((union sha_state *)(void *)h)->ctx;
}

int mc_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void mc_sha256_init(struct mc_sha256 *h)
{
	sha256_init(ctx_of(h));
}

void mc_sha256_update(struct mc_sha256 *h, const void *p, size_t n)
{
	if (n)
		sha256_update(ctx_of(h), n, p);
}

void mc_sha256_final(struct mc_sha256 *h, uint8_t out[MC_HASH_LEN])
{
	sha256_digest(ctx_of(h), MC_HASH_LEN, out);
}

void mc_sha256(const void *p, size_t n, uint8_t out[MC_HASH_LEN])
{
	struct mc_sha256 h;

	mc_sha256_init(&h);
	mc_sha256_update(&h, p, n);
	mc_sha256_final(&h, out);
}

void mc_blake2b_keyed(const uint8_t key[32], const void *p, size_t n, uint8_t out[MC_HASH_LEN])
{
	crypto_generichash(out, MC_HASH_LEN, p, n, key, 32);
}

void mc_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

void mc_random_expand(void *p, size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES];

	randombytes_buf(seed, sizeof(seed));
	randombytes_buf_deterministic(p, n, seed);
	sodium_memzero(seed, sizeof(seed));
}

void mc_sign_seed_keypair(const uint8_t seed[MC_SEED_LEN], uint8_t pk[MC_PK_LEN],
			  uint8_t sk[MC_SK_LEN])
{
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}

void mc_sign(const uint8_t sk[MC_SK_LEN], const void *msg, size_t n, uint8_t sig[MC_SIG_LEN])
{
	crypto_sign_ed25519_detached(sig, NULL, msg, n, sk);
}

int mc_sign_verify(const uint8_t pk[MC_PK_LEN], const void *msg, size_t n,
		   const uint8_t sig[MC_SIG_LEN])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, n, pk) == 0 ? 0 : -1;
}

int mc_pk_to_x25519(const uint8_t pk[MC_PK_LEN], uint8_t xpk[MC_X25519_LEN])
{
	return crypto_sign_ed25519_pk_to_curve25519(xpk, pk) == 0 ? 0 : -1;
}

int mc_sk_to_x25519(const uint8_t sk[MC_SK_LEN], uint8_t xsk[MC_X25519_LEN])
{
	return crypto_sign_ed25519_sk_to_curve25519(xsk, sk) == 0 ? 0 : -1;
}

int mc_seal(const uint8_t pk[MC_PK_LEN], const void *msg, size_t n, uint8_t *out)
{
	uint8_t xpk[MC_X25519_LEN];

	if (mc_pk_to_x25519(pk, xpk) != 0)
		return -1;
	return crypto_box_seal(out, msg, n, xpk) == 0 ? 0 : -1;
}

int mc_seal_open(const uint8_t sk[MC_SK_LEN], const uint8_t *c, size_t n, uint8_t *out)
{
	uint8_t xpk[MC_X25519_LEN], xsk[MC_X25519_LEN];
	int rc = -1;

	if (n < MC_SEALBYTES)
		return -1;
	if (mc_pk_to_x25519(sk + MC_SEED_LEN, xpk) == 0 && mc_sk_to_x25519(sk, xsk) == 0)
		rc = crypto_box_seal_open(out, c, n, xpk, xsk) == 0 ? 0 : -1;
	sodium_memzero(xsk, sizeof(xsk));
	return rc;
}

void mc_aead_encrypt(const uint8_t key[MC_AEAD_KEY_LEN], const uint8_t nonce[MC_AEAD_NONCE_LEN],
		     const void *ad, size_t adlen, const void *msg, size_t n, uint8_t *out)
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, msg, n, ad, adlen, NULL, nonce, key);
}

int mc_aead_decrypt(const uint8_t key[MC_AEAD_KEY_LEN], const uint8_t nonce[MC_AEAD_NONCE_LEN],
		    const void *ad, size_t adlen, const uint8_t *c, size_t n, uint8_t *out)
{
	if (n < MC_AEAD_TAG_LEN)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, c, n, ad, adlen, nonce,
							  key) == 0 ? 0 : -1;
}

void mc_hex(const void *p, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

int mc_unhex(const char *s, void *out, size_t n)
{
	size_t len, bin = 0;
	const char *end = NULL;

	if (n > SIZE_MAX / 2)
		return -1;
	len = strlen(s);
	if (len != 2 * n)
		return -1;
	/* No ignore set: any non-hex character stops the parse, and then
	 * bin < n or *end != NUL says so. */
	if (sodium_hex2bin(out, n, s, len, NULL, &bin, &end) != 0 || bin != n || *end != '\0')
		return -1;
	return 0;
}

void *mc_secure_alloc(size_t n)
{
	void *p = sodium_malloc(n);

	if (p)
		sodium_memzero(p, n);
	return p;
}

void mc_secure_free(void *p)
{
	sodium_free(p);  /* wipes before freeing; NULL is fine */
}

void mc_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

/* ---- the parallel loop's pool ------------------------------------------ */

struct mc_par {
	pthread_mutex_t turn;        /* one mc_par_run at a time */
	pthread_mutex_t mu;          /* what follows */
	pthread_cond_t go, done;
	pthread_t th[15];
	unsigned nth;
	bool stop;
	uint64_t gen;                /* a new loop: the threads start on it */
	unsigned busy;               /* pool threads still in the loop */
	mc_par_fn fn;
	void *ctx;
	size_t n;
	atomic_size_t next;          /* the next index to take */
};

static void par_take(struct mc_par *p)
{
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(i, p->ctx);
}

static void *par_main(void *arg)
{
	struct mc_par *p = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->mu);
		par_take(p);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mc_par_new(unsigned threads, struct mc_par **out)
{
	struct mc_par *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	pthread_mutex_init(&p->turn, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->next, 0);
	for (unsigned i = 1; i < threads && p->nth < sizeof(p->th) / sizeof(p->th[0]); i++) {
		if (pthread_create(&p->th[p->nth], NULL, par_main, p) != 0) {
			mc_par_free(p);
			return -1;
		}
		p->nth++;
	}
	*out = p;
	return 0;
}

void mc_par_free(struct mc_par *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->turn);
	free(p);
}

void mc_par_run(struct mc_par *p, size_t n, mc_par_fn fn, void *ctx)
{
	if (n < 2 || !p->nth) {   /* not worth a wakeup */
		for (size_t i = 0; i < n; i++)
			fn(i, ctx);
		return;
	}
	pthread_mutex_lock(&p->turn);
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->ctx = ctx;
	p->n = n;
	atomic_store(&p->next, 0);
	p->busy = p->nth;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	par_take(p);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&p->turn);
}
