/* SPDX-License-Identifier: Apache-2.0 */
/* keystore.h - identity secret keys on disk and in guarded memory.
 *
 * A key file holds one Ed25519 identity (its 32-byte seed) and, for an
 * organization, a 32-byte pseudonym key. The public key is stored in clear
 * so keys can be listed without a passphrase; the secret part is either
 * sealed (Argon2id from the passphrase, then XChaCha20-Poly1305 with every
 * byte before the ciphertext as associated data) or, when the operator asks for it
 * explicitly (--no-passphrase, for unattended services), stored unsealed.
 *
 * File format (all integers big-endian), see docs/formats.md:
 *   magic "MCKEY001" (8) | kind u8 (0 unsealed, 1 sealed) | flags u8
 *   (bit 0: has pseudonym key) | pk (32)
 *   unsealed: secret (32 or 64)
 *   sealed:   salt (16) | opslimit u64 | memlimit u64 | nonce (24) |
 *             ciphertext of the secret (32 or 64) + tag (16)
 *
 * Files are written with mode 0600 to a temporary name, fsynced and renamed
 * into place (the directory is fsynced too). Loading refuses a file whose
 * mode allows group or other access, or which is not a regular file.
 */
#ifndef MC_KEYSTORE_H
#define MC_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"

/* Lives in sodium_malloc memory; free with mc_key_free(). */
struct mc_key {
	uint8_t pk[MC_PK_LEN];
	uint8_t sk[MC_SK_LEN];        /* seed || pk, libsodium layout */
	uint8_t pseudo[32];           /* organization pseudonym key, if has_pseudo */
	bool has_pseudo;
	bool raw;                     /* not an Ed25519 identity: a 32-byte secret
				       * of another scheme in sk[0..32] (the anchor's
				       * secp256k1 key), its public id in pk, checked
				       * by its user (flags bit 1) */
};

/* Argon2id cost for sealing. The default is libsodium's interactive level;
 * the minimum is for the test suite only (a test build's MEDCHAIN_KDF=fast,
 * read by the app layer: src/app/hooks.h), never for real keys. */
struct mc_kdf_cost {
	uint64_t opslimit;
	uint64_t memlimit;
};
void mc_kdf_default(struct mc_kdf_cost *c);
void mc_kdf_min(struct mc_kdf_cost *c);

/* New random identity; with_pseudo also draws a pseudonym key. */
int mc_key_generate(bool with_pseudo, struct mc_key **out, struct mc_err *err);

/* Writes the key to path (must not exist yet: EX_CANTCREAT if it does).
 * pass == NULL writes it unsealed; a sealed one at the Argon2id cost kdf
 * (NULL: mc_kdf_default), recorded in the file. */
int mc_key_save(const char *path, const struct mc_key *key,
		const char *pass, size_t passlen, const struct mc_kdf_cost *kdf,
		struct mc_err *err);

/* Reads a key. A sealed key needs pass (NULL gives EX_NOPERM "key is
 * sealed: a passphrase is needed"); a wrong passphrase gives EX_NOPERM. */
int mc_key_load(const char *path, const char *pass, size_t passlen,
		struct mc_key **out, struct mc_err *err);

/* Reads only the clear header: the public key and whether it is sealed. */
int mc_key_peek(const char *path, uint8_t pk[MC_PK_LEN], bool *sealed, struct mc_err *err);

/* Puts the key file at newpath in the place of the one at path, keeping
 * the one replaced as retired (a directory made 0700 if missing): retired
 * gets a link to path's file, then newpath is renamed over path; each step
 * is fsynced, and a repeat after a crash finishes what is left (a retired
 * file already there is kept). EX_CANTCREAT / EX_IOERR naming the file. */
int mc_key_promote(const char *newpath, const char *path, const char *retired, struct mc_err *err);

/* Wipes and frees; NULL is fine. */
void mc_key_free(struct mc_key *key);

#endif
