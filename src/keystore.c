#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "i18n.h"
#include "keystore.h"

static const char magic[8] = { 'M', 'C', 'K', 'E', 'Y', '0', '0', '1' };

#define HDR_LEN (8 + 1 + 1 + MC_PK_LEN)
#define SALT_LEN crypto_pwhash_SALTBYTES
#define KIND_UNSEALED 0
#define KIND_SEALED 1
#define FLAG_PSEUDO 1
#define FILE_MAX 512
#define MEMLIMIT_MAX (1024ULL * 1024 * 1024)

void mc_kdf_default(struct mc_kdf_cost *c)
{
	const char *k = getenv("MEDCHAIN_KDF");

	/* MEDCHAIN_KDF=fast is for the test suite only: it makes sealing cheap
	 * so hundreds of test runs stay quick. Never set it for real keys. */
	if (k && strcmp(k, "fast") == 0) {
		c->opslimit = crypto_pwhash_OPSLIMIT_MIN;
		c->memlimit = crypto_pwhash_MEMLIMIT_MIN;
	} else {
		c->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		c->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	}
}

static struct mc_key *key_alloc(void)
{
	return mc_secure_alloc(sizeof(struct mc_key));
}

void mc_key_free(struct mc_key *key)
{
	mc_secure_free(key);
}

int mc_key_generate(bool with_pseudo, struct mc_key **out, struct mc_err *err)
{
	struct mc_key *k = key_alloc();
	uint8_t seed[MC_SEED_LEN];

	*out = NULL;
	if (!k)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	mc_random(seed, sizeof(seed));
	mc_sign_seed_keypair(seed, k->pk, k->sk);
	mc_wipe(seed, sizeof(seed));
	if (with_pseudo) {
		mc_random(k->pseudo, sizeof(k->pseudo));
		k->has_pseudo = true;
	}
	*out = k;
	return 0;
}

static void header(uint8_t h[HDR_LEN], uint8_t kind, const struct mc_key *key)
{
	memcpy(h, magic, 8);
	h[8] = kind;
	h[9] = key->has_pseudo ? FLAG_PSEUDO : 0;
	memcpy(h + 10, key->pk, MC_PK_LEN);
}

static int fsync_dir_of(const char *path)
{
	char tmp[4096];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s", path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int mc_key_save(const char *path, const struct mc_key *key, const char *pass, size_t passlen,
		struct mc_err *err)
{
	uint8_t *buf = mc_secure_alloc(FILE_MAX), *secret = NULL, *dk = NULL;
	size_t n = 0, slen = MC_SEED_LEN + (key->has_pseudo ? 32 : 0);
	char tmp[4200];
	struct stat st;
	int fd = -1, rc = -1;

	if (!buf)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	if (lstat(path, &st) == 0) {
		mc_err_set(err, EX_CANTCREAT, _("key file '%s' already exists"), path);
		goto out;
	}
	header(buf, pass ? KIND_SEALED : KIND_UNSEALED, key);
	n = HDR_LEN;
	secret = mc_secure_alloc(64);
	if (!secret) {
		mc_err_set(err, EX_OSERR, _("out of guarded memory"));
		goto out;
	}
	memcpy(secret, key->sk, MC_SEED_LEN);
	if (key->has_pseudo)
		memcpy(secret + MC_SEED_LEN, key->pseudo, 32);
	if (!pass) {
		memcpy(buf + n, secret, slen);
		n += slen;
	} else {
		struct mc_kdf_cost cost;
		uint8_t *salt = buf + n, *nonce;

		mc_kdf_default(&cost);
		mc_random(salt, SALT_LEN);
		n += SALT_LEN;
		mc_be64(buf + n, cost.opslimit);
		mc_be64(buf + n + 8, cost.memlimit);
		n += 16;
		nonce = buf + n;
		mc_random(nonce, MC_AEAD_NONCE_LEN);
		n += MC_AEAD_NONCE_LEN;
		dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
		if (!dk) {
			mc_err_set(err, EX_OSERR, _("out of guarded memory"));
			goto out;
		}
		if (crypto_pwhash(dk, MC_AEAD_KEY_LEN, pass, passlen, salt, cost.opslimit,
				  (size_t)cost.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			mc_err_set(err, EX_OSERR, _("not enough memory to seal the key"));
			goto out;
		}
		/* Associated data: everything before the ciphertext, so the
		 * header, salt and cost cannot be changed unnoticed. */
		mc_aead_encrypt(dk, nonce, buf, n, secret, slen, buf + n);
		n += slen + MC_AEAD_TAG_LEN;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		mc_err_set(err, errno == ENOSPC ? EX_IOERR : EX_CANTCREAT,
			   _("cannot create key file '%s': %s"), tmp, strerror(errno));
		goto out;
	}
	if (write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0) {
		mc_err_set(err, EX_IOERR, _("cannot write key file '%s': %s"), tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		mc_err_set(err, EX_CANTCREAT, _("cannot write key file '%s': %s"), path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (fsync_dir_of(path) != 0) {
		mc_err_set(err, EX_IOERR, _("cannot sync the directory of '%s': %s"), path,
			   strerror(errno));
		goto out;
	}
	rc = 0;
out:
	mc_secure_free(dk);
	mc_secure_free(secret);
	mc_secure_free(buf);
	return rc;
}

/* Reads the whole file into guarded memory after checking what it is. */
static int read_file(const char *path, uint8_t *buf, size_t *n, struct mc_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t r;

	if (fd < 0)
		return mc_err_set(err, errno == ENOENT ? EX_NOINPUT : EX_NOPERM,
				  _("cannot open key file '%s': %s"), path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mc_err_set(err, EX_NOPERM, _("key file '%s' is not a regular file"), path);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return mc_err_set(err, EX_NOPERM,
				  _("key file '%s' is readable by others: refusing it (chmod 600 '%s')"),
				  path, path);
	}
	r = read(fd, buf, FILE_MAX);
	close(fd);
	if (r < 0)
		return mc_err_set(err, EX_IOERR, _("cannot read key file '%s': %s"), path, strerror(errno));
	*n = (size_t)r;
	return 0;
}

static int parse_header(const char *path, const uint8_t *buf, size_t n, uint8_t *kind,
			uint8_t *flags, struct mc_err *err)
{
	if (n < HDR_LEN || memcmp(buf, magic, 8) != 0)
		return mc_err_set(err, EX_DATAERR, _("'%s' is not a medchain key file"), path);
	*kind = buf[8];
	*flags = buf[9];
	if ((*kind != KIND_SEALED && *kind != KIND_UNSEALED) || (*flags & ~FLAG_PSEUDO))
		return mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged"), path);
	return 0;
}

int mc_key_peek(const char *path, uint8_t pk[MC_PK_LEN], bool *sealed, struct mc_err *err)
{
	uint8_t *buf = mc_secure_alloc(FILE_MAX), kind, flags;
	size_t n = 0;
	int rc = -1;

	if (!buf)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	if (read_file(path, buf, &n, err) == 0 && parse_header(path, buf, n, &kind, &flags, err) == 0) {
		memcpy(pk, buf + 10, MC_PK_LEN);
		*sealed = kind == KIND_SEALED;
		rc = 0;
	}
	mc_secure_free(buf);
	return rc;
}

int mc_key_load(const char *path, const char *pass, size_t passlen, struct mc_key **out,
		struct mc_err *err)
{
	uint8_t *buf = mc_secure_alloc(FILE_MAX), *secret = mc_secure_alloc(64), *dk = NULL;
	uint8_t kind, flags;
	size_t n = 0, slen;
	struct mc_key *k = NULL;
	int rc = -1;

	*out = NULL;
	if (!buf || !secret) {
		mc_err_set(err, EX_OSERR, _("out of guarded memory"));
		goto out;
	}
	if (read_file(path, buf, &n, err) != 0 || parse_header(path, buf, n, &kind, &flags, err) != 0)
		goto out;
	slen = MC_SEED_LEN + ((flags & FLAG_PSEUDO) ? 32 : 0);
	if (kind == KIND_UNSEALED) {
		if (n != HDR_LEN + slen) {
			mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged"), path);
			goto out;
		}
		memcpy(secret, buf + HDR_LEN, slen);
	} else {
		const uint8_t *salt = buf + HDR_LEN, *nonce;
		uint64_t ops, mem;

		if (n != HDR_LEN + SALT_LEN + 16 + MC_AEAD_NONCE_LEN + slen + MC_AEAD_TAG_LEN) {
			mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged"), path);
			goto out;
		}
		if (!pass) {
			mc_err_set(err, EX_NOPERM, _("key '%s' is sealed: a passphrase is needed"), path);
			goto out;
		}
		ops = mc_from_be64(salt + SALT_LEN);
		mem = mc_from_be64(salt + SALT_LEN + 8);
		nonce = salt + SALT_LEN + 16;
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > MEMLIMIT_MAX) {
			mc_err_set(err, EX_DATAERR, _("key file '%s' asks for an unreasonable key derivation cost"),
				   path);
			goto out;
		}
		dk = mc_secure_alloc(MC_AEAD_KEY_LEN);
		if (!dk) {
			mc_err_set(err, EX_OSERR, _("out of guarded memory"));
			goto out;
		}
		if (crypto_pwhash(dk, MC_AEAD_KEY_LEN, pass, passlen, salt, ops, (size_t)mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			mc_err_set(err, EX_OSERR, _("not enough memory to open key '%s'"), path);
			goto out;
		}
		if (mc_aead_decrypt(dk, nonce, buf, (size_t)(nonce + MC_AEAD_NONCE_LEN - buf),
				    nonce + MC_AEAD_NONCE_LEN,
				    slen + MC_AEAD_TAG_LEN, secret) != 0) {
			mc_err_set(err, EX_NOPERM, _("wrong passphrase for key '%s'"), path);
			goto out;
		}
	}
	k = key_alloc();
	if (!k) {
		mc_err_set(err, EX_OSERR, _("out of guarded memory"));
		goto out;
	}
	mc_sign_seed_keypair(secret, k->pk, k->sk);
	if (sodium_memcmp(k->pk, buf + 10, MC_PK_LEN) != 0) {
		mc_err_set(err, EX_DATAERR, _("key file '%s' is damaged: its key does not match"), path);
		goto out;
	}
	if (flags & FLAG_PSEUDO) {
		memcpy(k->pseudo, secret + MC_SEED_LEN, 32);
		k->has_pseudo = true;
	}
	*out = k;
	k = NULL;
	rc = 0;
out:
	mc_key_free(k);
	mc_secure_free(dk);
	mc_secure_free(secret);
	mc_secure_free(buf);
	return rc;
}
