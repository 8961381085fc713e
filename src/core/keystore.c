/* SPDX-License-Identifier: Apache-2.0 */
/* keystore.c - identity secret keys on disk and in guarded memory.
 *
 * The file format is in keystore.h and docs/formats.md. Everything that
 * ever holds a seed, a pseudonym key, a derived key or a whole key file
 * lives in sodium_malloc memory and is wiped when freed; the only stack
 * copies of secrets are libsodium's own, which it wipes.
 *
 * The Argon2id cost of a sealed file is the caller's (mc_key_save): the key
 * store reads no environment. The test builds' MEDCHAIN_KDF=fast is read in
 * the app layer (src/app/hooks.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "fileio.h"
#include "i18n.h"
#include "keystore.h"

static const uint8_t magic[8] = { 'M', 'C', 'K', 'E', 'Y', '0', '0', '1' };

#define MAGIC_LEN 8
#define OFF_KIND 8
#define OFF_FLAGS 9
#define OFF_PK 10
#define HDR_LEN (MAGIC_LEN + 1 + 1 + MC_PK_LEN)
#define SALT_LEN crypto_pwhash_SALTBYTES
#define COST_LEN 16  /* opslimit u64 | memlimit u64 */
#define SEALED_PREFIX (HDR_LEN + SALT_LEN + COST_LEN + MC_AEAD_NONCE_LEN)
#define PSEUDO_LEN 32
#define SECRET_MAX (MC_SEED_LEN + PSEUDO_LEN)
#define KIND_UNSEALED 0
#define KIND_SEALED 1
#define FLAG_PSEUDO 1
#define FLAG_RAW 2
/* Larger than any valid key file (178 bytes at most), so reading FILE_MAX
 * bytes always sees the end of a valid file. */
#define FILE_MAX 512
/* A hostile file must not make us allocate unbounded memory or spin for
 * ever: refuse costs above these before running Argon2id. */
#define OPSLIMIT_MAX crypto_pwhash_OPSLIMIT_SENSITIVE
#define MEMLIMIT_MAX (1024ULL * 1024 * 1024)

_Static_assert(SALT_LEN == 16, "the file format has a 16-byte salt");
_Static_assert(SEALED_PREFIX + SECRET_MAX + MC_AEAD_TAG_LEN < FILE_MAX, "FILE_MAX too small");
_Static_assert(sizeof(((struct mc_key *)0)->pseudo) == PSEUDO_LEN, "pseudonym key size");

/* The default Argon2id cost is libsodium's "interactive" level. The minimum
 * is for the test suite ONLY (it runs hundreds of seal and open operations):
 * it would make guessing passphrases cheap. Files record their own cost, so
 * a key sealed either way opens either way. */
void mc_kdf_default(struct mc_kdf_cost *c)
{
	c->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
	c->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

void mc_kdf_min(struct mc_kdf_cost *c)
{
	c->opslimit = crypto_pwhash_OPSLIMIT_MIN;
	c->memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

static int oom(struct mc_err *err)
{
	return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
}

void mc_key_free(struct mc_key *key)
{
	mc_secure_free(key);
}

int mc_key_generate(bool with_pseudo, struct mc_key **out, struct mc_err *err)
{
	struct mc_key *k = mc_secure_alloc(sizeof(*k));
	uint8_t *seed = mc_secure_alloc(MC_SEED_LEN);

	*out = NULL;
	if (!k || !seed) {
		mc_secure_free(seed);
		mc_key_free(k);
		return oom(err);
	}
	mc_random(seed, MC_SEED_LEN);
	mc_sign_seed_keypair(seed, k->pk, k->sk);
	mc_secure_free(seed);
	k->has_pseudo = with_pseudo;
	if (with_pseudo)
		mc_random(k->pseudo, PSEUDO_LEN);
	*out = k;
	return 0;
}

/* ---- saving ---- */

int mc_key_promote(const char *newpath, const char *path, const char *retired, struct mc_err *err)
{
	char dir[PATH_MAX];

	if (strlen(newpath) >= PATH_MAX || strlen(path) >= PATH_MAX || strlen(retired) >= PATH_MAX)
		return mc_err_set(err, EX_USAGE, _("path too long"));
	snprintf(dir, sizeof(dir), "%s", retired);
	if (mkdir(dirname(dir), S_IRWXU) != 0 && errno != EEXIST)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), dir, strerror(errno));
	if (mc_fsync_dir_of(dir) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot sync '%s': %s"), dir, strerror(errno));
	if (link(path, retired) != 0 && errno != EEXIST)
		return mc_err_set(err, EX_CANTCREAT, _("cannot keep '%s' as '%s': %s"), path, retired,
				  strerror(errno));
	if (mc_fsync_dir_of(retired) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot sync the directory of '%s': %s"), retired,
				  strerror(errno));
	if (rename(newpath, path) != 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot move '%s' to '%s': %s"), newpath, path,
				  strerror(errno));
	if (mc_fsync_dir_of(path) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot sync the directory of '%s': %s"), path,
				  strerror(errno));
	return 0;
}

/* Builds the whole file in buf (guarded memory); returns its length, or 0
 * with err set. */
static size_t encode(uint8_t *buf, const char *path, const struct mc_key *key, const char *pass,
		     size_t passlen, const struct mc_kdf_cost *kdf, struct mc_err *err)
{
	size_t n = HDR_LEN, slen = MC_SEED_LEN + (key->has_pseudo ? PSEUDO_LEN : 0);
	uint8_t *secret = NULL, *dk = NULL, *salt, *nonce;
	struct mc_kdf_cost cost;

	memcpy(buf, magic, MAGIC_LEN);
	buf[OFF_KIND] = pass ? KIND_SEALED : KIND_UNSEALED;
	buf[OFF_FLAGS] = (uint8_t)((key->has_pseudo ? FLAG_PSEUDO : 0) | (key->raw ? FLAG_RAW : 0));
	memcpy(buf + OFF_PK, key->pk, MC_PK_LEN);
	if (!pass) {
		/* Unsealed, at the operator's explicit request. */
		memcpy(buf + n, key->sk, MC_SEED_LEN);
		if (key->has_pseudo)
			memcpy(buf + n + MC_SEED_LEN, key->pseudo, PSEUDO_LEN);
		return n + slen;
	}
	secret = mc_secure_alloc(SECRET_MAX);
	dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!secret || !dk) {
		oom(err);
		n = 0;
		goto out;
	}
	memcpy(secret, key->sk, MC_SEED_LEN);
	if (key->has_pseudo)
		memcpy(secret + MC_SEED_LEN, key->pseudo, PSEUDO_LEN);
	if (kdf)
		cost = *kdf;
	else
		mc_kdf_default(&cost);
	salt = buf + n;
	mc_random(salt, SALT_LEN);
	n += SALT_LEN;
	mc_be64(buf + n, cost.opslimit);
	mc_be64(buf + n + 8, cost.memlimit);
	n += COST_LEN;
	nonce = buf + n;
	mc_random(nonce, MC_AEAD_NONCE_LEN);
	n += MC_AEAD_NONCE_LEN;
	if (crypto_pwhash(dk, MC_AEAD_KEY_LEN, pass, passlen, salt, cost.opslimit,
			  (size_t)cost.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
		mc_err_set(err, EX_OSERR, _("not enough memory to seal key '%s'"), path);
		n = 0;
		goto out;
	}
	/* Associated data: every byte before the ciphertext (header, salt,
	 * costs, nonce), so none of them can be changed unnoticed. */
	mc_aead_encrypt(dk, nonce, buf, n, secret, slen, buf + n);
	n += slen + MC_AEAD_TAG_LEN;
out:
	mc_secure_free(dk);
	mc_secure_free(secret);
	return n;
}

int mc_key_save(const char *path, const struct mc_key *key, const char *pass, size_t passlen,
		const struct mc_kdf_cost *kdf, struct mc_err *err)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t n;
	int rc = -1;

	if (strlen(path) + sizeof(".tmp.XXXXXX") > PATH_MAX)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create key file '%s': %s"), path,
				  strerror(ENAMETOOLONG));
	/* Checked early so an existing key costs no Argon2id run; the write
	 * checks again, atomically. */
	if (lstat(path, &st) == 0)
		return mc_err_set(err, EX_CANTCREAT, _("key file '%s' already exists"), path);
	if (errno != ENOENT)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create key file '%s': %s"), path,
				  strerror(errno));
	buf = mc_secure_alloc(FILE_MAX);
	if (!buf)
		return oom(err);
	n = encode(buf, path, key, pass, passlen, kdf, err);
	if (n == 0)
		goto out;

	/* exactly 0600; no_replace: an existing key file is never replaced,
	 * even one put there since the check above */
	if (mc_file_write_atomic(path, buf, n, &(struct mc_file_opts){ .mode = S_IRUSR | S_IWUSR, .no_replace = true },
				 err) != 0) {
		if (errno == EEXIST)
			mc_err_set(err, EX_CANTCREAT, _("key file '%s' already exists"), path);
		goto out;
	}
	rc = 0;
out:
	mc_secure_free(buf);
	return rc;
}

/* ---- loading ---- */

/* Opens path, checks that it is a regular file only its owner can access,
 * and reads it whole into buf (FILE_MAX bytes of guarded memory). */
static int read_file(const char *path, uint8_t *buf, size_t *n, struct mc_err *err)
{
	struct stat st;
	size_t got = 0;
	int fd;

	/* O_NONBLOCK: opening a FIFO planted at the path must not hang; it is
	 * then refused as not a regular file. O_NOFOLLOW: a symbolic link is
	 * not a regular file either. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			return mc_err_set(err, EX_NOPERM,
					  _("key file '%s' is not a regular file"), path);
		return mc_err_set(err,
				  (e == ENOENT || e == ENOTDIR) ? EX_NOINPUT :
				  (e == EACCES || e == EPERM) ? EX_NOPERM : EX_IOERR,
				  _("cannot open key file '%s': %s"), path, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return mc_err_set(err, EX_IOERR, _("cannot read key file '%s': %s"), path,
				  strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return mc_err_set(err, EX_NOPERM, _("key file '%s' is not a regular file"), path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return mc_err_set(err, EX_NOPERM,
				  _("key file '%s' is accessible to other users: refusing it "
				    "(chmod 600 '%s')"), path, path);
	}
	while (got < FILE_MAX) {
		ssize_t r = read(fd, buf + got, FILE_MAX - got);

		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return mc_err_set(err, EX_IOERR, _("cannot read key file '%s': %s"), path,
					  strerror(e));
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*n = got;
	return 0;
}

static int damaged(const char *path, struct mc_err *err)
{
	return mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged"), path);
}

static int truncated(const char *path, struct mc_err *err)
{
	return mc_err_set(err, EX_DATAERR, _("key file '%s' is truncated"), path);
}

/* Checks the clear header: magic, kind and flags. */
static int parse_header(const char *path, const uint8_t *buf, size_t n, uint8_t *kind,
			uint8_t *flags, struct mc_err *err)
{
	if (memcmp(buf, magic, n < MAGIC_LEN ? n : MAGIC_LEN) != 0)
		return mc_err_set(err, EX_DATAERR, _("'%s' is not a medchain key file"), path);
	if (n < HDR_LEN)
		return truncated(path, err);
	*kind = buf[OFF_KIND];
	*flags = buf[OFF_FLAGS];
	if ((*kind != KIND_SEALED && *kind != KIND_UNSEALED) || (*flags & ~(FLAG_PSEUDO | FLAG_RAW)) ||
	    ((*flags & FLAG_RAW) && (*flags & FLAG_PSEUDO)))
		return damaged(path, err);
	return 0;
}

/* The exact length is known from kind and flags. */
static int check_len(const char *path, size_t n, size_t want, struct mc_err *err)
{
	if (n < want)
		return truncated(path, err);
	if (n > want)
		return damaged(path, err);
	return 0;
}

int mc_key_peek(const char *path, uint8_t pk[MC_PK_LEN], bool *sealed, struct mc_err *err)
{
	uint8_t *buf = mc_secure_alloc(FILE_MAX), kind, flags;
	size_t n = 0;
	int rc = -1;

	if (!buf)
		return oom(err);
	if (read_file(path, buf, &n, err) == 0 &&
	    parse_header(path, buf, n, &kind, &flags, err) == 0) {
		memcpy(pk, buf + OFF_PK, MC_PK_LEN);
		*sealed = kind == KIND_SEALED;
		rc = 0;
	}
	mc_secure_free(buf);
	return rc;
}

/* Opens the sealed secret in buf into secret. */
static int unseal(const char *path, const uint8_t *buf, size_t slen, const char *pass,
		  size_t passlen, uint8_t *secret, struct mc_err *err)
{
	const uint8_t *salt = buf + HDR_LEN;
	const uint8_t *nonce = salt + SALT_LEN + COST_LEN;
	uint64_t ops = mc_from_be64(salt + SALT_LEN);
	uint64_t mem = mc_from_be64(salt + SALT_LEN + 8);
	uint8_t *dk;
	int rc = -1;

	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > MEMLIMIT_MAX)
		return mc_err_set(err, EX_DATAERR,
				  _("key file '%s' asks for an unreasonable key derivation cost"),
				  path);
	dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
	if (!dk)
		return oom(err);
	if (crypto_pwhash(dk, MC_AEAD_KEY_LEN, pass, passlen, salt, ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		mc_err_set(err, EX_OSERR, _("not enough memory to open key '%s'"), path);
	else if (mc_aead_decrypt(dk, nonce, buf, SEALED_PREFIX, buf + SEALED_PREFIX,
				 slen + MC_AEAD_TAG_LEN, secret) != 0)
		/* A damaged ciphertext looks exactly the same: AEAD cannot tell. */
		mc_err_set(err, EX_NOPERM, _("wrong passphrase for key '%s'"), path);
	else
		rc = 0;
	mc_secure_free(dk);
	return rc;
}

int mc_key_load(const char *path, const char *pass, size_t passlen, struct mc_key **out,
		struct mc_err *err)
{
	uint8_t *buf = mc_secure_alloc(FILE_MAX), *secret = mc_secure_alloc(SECRET_MAX);
	uint8_t kind = 0, flags = 0;
	size_t n = 0, slen;
	struct mc_key *k = NULL;
	int rc = -1;

	*out = NULL;
	if (!buf || !secret) {
		oom(err);
		goto out;
	}
	if (read_file(path, buf, &n, err) != 0 ||
	    parse_header(path, buf, n, &kind, &flags, err) != 0)
		goto out;
	slen = MC_SEED_LEN + ((flags & FLAG_PSEUDO) ? PSEUDO_LEN : 0);
	if (kind == KIND_UNSEALED) {
		if (check_len(path, n, HDR_LEN + slen, err) != 0)
			goto out;
		memcpy(secret, buf + HDR_LEN, slen);
	} else {
		if (check_len(path, n, SEALED_PREFIX + slen + MC_AEAD_TAG_LEN, err) != 0)
			goto out;
		if (!pass) {
			mc_err_set(err, EX_NOPERM, _("key '%s' is sealed: a passphrase is needed"),
				   path);
			goto out;
		}
		if (unseal(path, buf, slen, pass, passlen, secret, err) != 0)
			goto out;
	}
	k = mc_secure_alloc(sizeof(*k));
	if (!k) {
		oom(err);
		goto out;
	}
	if (flags & FLAG_RAW) {
		/* another scheme's secret: its user checks it against pk */
		memcpy(k->sk, secret, MC_SEED_LEN);
		memcpy(k->pk, buf + OFF_PK, MC_PK_LEN);
		k->raw = true;
	} else {
		mc_sign_seed_keypair(secret, k->pk, k->sk);
	}
	if (sodium_memcmp(k->pk, buf + OFF_PK, MC_PK_LEN) != 0) {
		mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged: its key does not match"),
			   path);
		goto out;
	}
	if (flags & FLAG_PSEUDO) {
		memcpy(k->pseudo, secret + MC_SEED_LEN, PSEUDO_LEN);
		k->has_pseudo = true;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	mc_key_free(k);
	mc_secure_free(secret);
	mc_secure_free(buf);
	return rc;
}
