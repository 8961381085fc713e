/* SPDX-License-Identifier: Apache-2.0 */
/* Key files: sealed and unsealed round trips, wrong or missing passphrases,
 * modes and file types, existing targets, and every kind of damage refused
 * cleanly (EX_DATAERR naming the file, never a crash). */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "keystore.h"
#include "util.h"

/* Byte offsets in a key file (see keystore.h). */
#define OFF_KIND 8
#define OFF_FLAGS 9
#define OFF_PK 10
#define OFF_SALT 42
#define OFF_OPS (OFF_SALT + 16)
#define OFF_MEM (OFF_OPS + 8)

static char dir[64];
/* the tests seal at the minimum cost (the key store takes it from its caller) */
static const struct mc_kdf_cost fast = { crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN };

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

static void setup(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
	strcpy(dir, "/tmp/mc-keys-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(keystore, .init = setup, .fini = teardown);

static void path_of(char *out, const char *name)
{
	sprintf(out, "%s/%s", dir, name);
}

static size_t read_all(const char *p, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(p, "rb");
	size_t n;

	cr_assert_not_null(f, "cannot read %s", p);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void write_all(const char *p, const uint8_t *buf, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
	chmod(p, 0600);
}

static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Saves a fresh key at name (sealed with "pw" when sealed) and returns it. */
static struct mc_key *saved(const char *name, bool pseudo, bool sealed, char *p)
{
	struct mc_key *k;
	struct mc_err err = { 0 };

	path_of(p, name);
	cr_assert_eq(mc_key_generate(pseudo, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_save(p, k, sealed ? "pw" : NULL, sealed ? 2 : 0, &fast, &err), 0, "%s",
		     err.msg);
	return k;
}

/* Asserts that loading p fails with code, naming the file, and gives no key. */
static void refused(const char *p, const char *pass, int code, const char *what)
{
	struct mc_key *back = (struct mc_key *)&back;  /* not NULL: must be reset */
	struct mc_err err = { 0 };

	cr_assert_eq(mc_key_load(p, pass, pass ? strlen(pass) : 0, &back, &err), -1, "%s", what);
	cr_assert_null(back, "%s: no key on failure", what);
	cr_assert_eq(err.code, code, "%s: code %d (%s)", what, err.code, err.msg);
	cr_assert_not_null(strstr(err.msg, p), "%s: message names the file: %s", what, err.msg);
}

/* ---- edge cases ---- */

Test(keystore, a_missing_file_is_ex_noinput_naming_it)
{
	char p[128];
	uint8_t pk[32];
	bool sealed;
	struct mc_err err = { 0 };

	path_of(p, "absent.key");
	refused(p, NULL, EX_NOINPUT, "missing");
	cr_assert_eq(mc_key_peek(p, pk, &sealed, &err), -1);
	cr_assert_eq(err.code, EX_NOINPUT);
}

Test(keystore, an_empty_file_is_refused_as_truncated)
{
	char p[128];

	path_of(p, "empty.key");
	write_all(p, (const uint8_t *)"", 0);
	refused(p, "pw", EX_DATAERR, "empty");
}

Test(keystore, a_file_with_another_magic_is_not_a_key_file)
{
	char p[128];
	uint8_t buf[512];
	size_t n;
	struct mc_key *k = saved("magic.key", false, false, p);
	struct mc_err err = { 0 };
	uint8_t pk[32];
	bool sealed;

	n = read_all(p, buf, sizeof(buf));
	buf[7] = '2';  /* MCKEY002 */
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "magic");
	cr_assert_eq(mc_key_peek(p, pk, &sealed, &err), -1, "peek checks the magic too");
	cr_assert_eq(err.code, EX_DATAERR);
	mc_key_free(k);
}

Test(keystore, unknown_kind_or_flags_are_refused)
{
	char p[128];
	uint8_t buf[512];
	size_t n;
	struct mc_key *k = saved("kind.key", false, false, p);

	n = read_all(p, buf, sizeof(buf));
	buf[OFF_KIND] = 2;
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "kind 2");
	buf[OFF_KIND] = 0;
	buf[OFF_FLAGS] = 0x04;
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "flag bit 2");
	buf[OFF_FLAGS] = 0x03;
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "a raw key cannot carry a pseudonym key");
	mc_key_free(k);
}

Test(keystore, a_file_with_trailing_bytes_is_refused)
{
	char p[128];
	uint8_t buf[512];
	size_t n;
	struct mc_key *k = saved("trail.key", false, true, p);

	n = read_all(p, buf, sizeof(buf));
	buf[n] = 0;
	write_all(p, buf, n + 1);
	refused(p, "pw", EX_DATAERR, "one trailing byte");
	memset(buf, 0, sizeof(buf));
	write_all(p, buf, sizeof(buf));
	refused(p, "pw", EX_DATAERR, "a large file");
	mc_key_free(k);
}

Test(keystore, every_mode_with_group_or_other_bits_is_refused_with_the_fix)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602, 0610, 0601, 0660, 0666, 0700 | 0070 };
	char p[128];
	struct mc_key *k = saved("m.key", false, false, p);

	for (size_t i = 0; i < MC_ARRAY_LEN(modes); i++) {
		struct mc_key *back;
		struct mc_err err = { 0 };
		uint8_t pk[32];
		bool sealed;

		cr_assert_eq(chmod(p, modes[i]), 0);
		cr_assert_eq(mc_key_load(p, NULL, 0, &back, &err), -1, "mode %o", modes[i]);
		cr_assert_eq(err.code, EX_NOPERM, "mode %o", modes[i]);
		cr_assert_not_null(strstr(err.msg, "chmod 600"), "mode %o: %s", modes[i], err.msg);
		cr_assert_not_null(strstr(err.msg, p));
		cr_assert_eq(mc_key_peek(p, pk, &sealed, &err), -1, "peek checks the mode too");
	}
	mc_key_free(k);
}

Test(keystore, owner_only_modes_are_accepted)
{
	char p[128];
	struct mc_key *k = saved("ro.key", false, false, p), *back;

	cr_assert_eq(chmod(p, 0400), 0);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, NULL), 0);
	mc_key_free(back);
	mc_key_free(k);
}

Test(keystore, a_directory_is_not_a_key_file)
{
	char p[128];

	path_of(p, "d.key");
	cr_assert_eq(mkdir(p, 0700), 0);
	refused(p, NULL, EX_NOPERM, "directory");
}

Test(keystore, a_symbolic_link_is_not_a_key_file)
{
	char p[128], q[128];
	struct mc_key *k = saved("real.key", false, false, p);

	path_of(q, "link.key");
	cr_assert_eq(symlink(p, q), 0);
	refused(q, NULL, EX_NOPERM, "symlink");
	mc_key_free(k);
}

Test(keystore, a_fifo_is_refused_without_blocking, .timeout = 10)
{
	char p[128];
	uint8_t pk[32];
	bool sealed;

	path_of(p, "fifo.key");
	cr_assert_eq(mkfifo(p, 0600), 0);
	refused(p, NULL, EX_NOPERM, "fifo");
	cr_assert_eq(mc_key_peek(p, pk, &sealed, NULL), -1);
}

Test(keystore, saving_into_a_missing_directory_is_ex_cantcreat)
{
	char p[128];
	struct mc_key *k;
	struct mc_err err = { 0 };

	path_of(p, "no/such/dir.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, &fast, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT, "%s", err.msg);
	cr_assert_not_null(strstr(err.msg, p));
	mc_key_free(k);
}

Test(keystore, an_existing_target_is_never_overwritten)
{
	struct mc_key *k, *k2;
	struct mc_err err = { 0 };
	char p[128];
	uint8_t before[512], after[512];
	size_t n;

	k = saved("e.key", false, false, p);
	n = read_all(p, before, sizeof(before));
	cr_assert_eq(mc_key_generate(false, &k2, NULL), 0);
	cr_assert_eq(mc_key_save(p, k2, NULL, 0, &fast, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT);
	cr_assert_not_null(strstr(err.msg, p));
	cr_assert_eq(mc_key_save(p, k2, "pw", 2, &fast, &err), -1, "sealed neither");
	cr_assert_eq(err.code, EX_CANTCREAT);
	cr_assert_eq(read_all(p, after, sizeof(after)), n);
	cr_assert_arr_eq(after, before, n, "the old key is untouched");
	cr_assert_eq(count_entries(), 1, "no temporary file left behind");
	mc_key_free(k);
	mc_key_free(k2);
}

Test(keystore, an_existing_dangling_symlink_target_is_refused)
{
	struct mc_key *k;
	struct mc_err err = { 0 };
	char p[128];

	path_of(p, "dangling.key");
	cr_assert_eq(symlink("/nonexistent/medchain-key", p), 0);
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, &fast, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT);
	mc_key_free(k);
}

/* ---- round trips ---- */

Test(keystore, generated_keys_carry_a_pseudonym_key_only_when_asked)
{
	struct mc_key *a, *b;

	cr_assert_eq(mc_key_generate(false, &a, NULL), 0);
	cr_assert_eq(mc_key_generate(true, &b, NULL), 0);
	cr_assert_not(a->has_pseudo);
	cr_assert(b->has_pseudo);
	cr_assert_arr_eq(a->sk + 32, a->pk, 32, "libsodium layout: seed || pk");
	cr_assert_arr_neq(a->pk, b->pk, 32);
	mc_key_free(a);
	mc_key_free(b);
	mc_key_free(NULL);
}

Test(keystore, unsealed_round_trip_keeps_key_and_pseudonym_key)
{
	struct mc_key *k, *back;
	char p[128];
	struct stat st;
	uint8_t pk[32];
	bool sealed = true;

	k = saved("a.key", true, false, p);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 42 + 64);
	cr_assert_eq(mc_key_peek(p, pk, &sealed, NULL), 0);
	cr_assert_not(sealed);
	cr_assert_arr_eq(pk, k->pk, 32);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, NULL), 0);
	cr_assert_arr_eq(back->pk, k->pk, MC_PK_LEN);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	cr_assert(back->has_pseudo);
	cr_assert_arr_eq(back->pseudo, k->pseudo, 32);
	cr_assert_eq(count_entries(), 1, "no temporary file left behind");
	mc_key_free(k);
	mc_key_free(back);
}

Test(keystore, unsealed_round_trip_without_pseudonym_key)
{
	struct mc_key *k, *back;
	char p[128];
	struct stat st;

	k = saved("np.key", false, false, p);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_size, 42 + 32);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, NULL), 0);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	cr_assert_not(back->has_pseudo);
	mc_key_free(k);
	mc_key_free(back);
}

Test(keystore, files_are_0600_whatever_the_umask)
{
	struct mc_key *k;
	char p[128];
	struct stat st;
	mode_t old = umask(0);

	k = saved("u0.key", false, false, p);
	umask(0277);
	mc_key_free(k);
	k = saved("u277.key", false, false, p);
	umask(old);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	path_of(p, "u0.key");
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	mc_key_free(k);
}

Test(keystore, sealed_round_trip_and_wrong_or_missing_passphrase)
{
	struct mc_key *k, *back = NULL;
	struct mc_err err = { 0 };
	char p[128];
	uint8_t pk[32];
	bool sealed;

	k = saved("s.key", true, true, p);
	cr_assert_eq(mc_key_peek(p, pk, &sealed, NULL), 0);
	cr_assert(sealed);
	cr_assert_arr_eq(pk, k->pk, 32, "peek needs no passphrase");
	cr_assert_eq(mc_key_load(p, "pw", 2, &back, NULL), 0);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	cr_assert(back->has_pseudo);
	cr_assert_arr_eq(back->pseudo, k->pseudo, 32);
	mc_key_free(back);
	back = NULL;
	cr_assert_eq(mc_key_load(p, "pX", 2, &back, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_not_null(strstr(err.msg, "wrong passphrase"));
	cr_assert_not_null(strstr(err.msg, p));
	cr_assert_null(back);
	refused(p, "", EX_NOPERM, "empty passphrase");
	refused(p, "pw2", EX_NOPERM, "longer passphrase");
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_not_null(strstr(err.msg, "passphrase is needed"), "%s", err.msg);
	mc_key_free(k);
}

/* opslimit and memlimit as the file at p records them (docs/formats.md) */
static void cost_of(const char *p, uint64_t *ops, uint64_t *mem)
{
	uint8_t buf[512];
	size_t n = read_all(p, buf, sizeof(buf));

	cr_assert_geq(n, 74);
	*ops = *mem = 0;
	for (int i = 0; i < 8; i++) {
		*ops = *ops << 8 | buf[58 + i];
		*mem = *mem << 8 | buf[66 + i];
	}
}

Test(keystore, the_kdf_cost_is_the_callers_and_the_environment_changes_nothing)
{
	struct mc_kdf_cost c;
	struct mc_key *k, *back;
	struct mc_err err = { 0 };
	char p[128], q[128];
	uint64_t ops, mem;

	/* the core reads no environment: MEDCHAIN_KDF is the app layer's
	 * (src/app/hooks.c), in test builds only */
	setenv("MEDCHAIN_KDF", "fast", 1);
	mc_kdf_default(&c);
	cr_assert_eq(c.opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	cr_assert_eq(c.memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	mc_kdf_min(&c);
	cr_assert_eq(c.opslimit, crypto_pwhash_OPSLIMIT_MIN);
	cr_assert_eq(c.memlimit, crypto_pwhash_MEMLIMIT_MIN);
	/* no cost given: the default, whatever the environment says */
	path_of(p, "slow.key");
	cr_assert_eq(mc_key_generate(false, &k, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_key_save(p, k, "pw", 2, NULL, &err), 0, "%s", err.msg);
	cost_of(p, &ops, &mem);
	cr_assert_eq(ops, crypto_pwhash_OPSLIMIT_INTERACTIVE);
	cr_assert_eq(mem, crypto_pwhash_MEMLIMIT_INTERACTIVE);
	/* a cost given is the one sealed with and recorded */
	path_of(q, "quick.key");
	cr_assert_eq(mc_key_save(q, k, "pw", 2, &fast, &err), 0, "%s", err.msg);
	cost_of(q, &ops, &mem);
	cr_assert_eq(ops, crypto_pwhash_OPSLIMIT_MIN);
	cr_assert_eq(mem, crypto_pwhash_MEMLIMIT_MIN);
	unsetenv("MEDCHAIN_KDF");
	/* each opens at the cost its file records */
	cr_assert_eq(mc_key_load(p, "pw", 2, &back, NULL), 0);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	mc_key_free(back);
	cr_assert_eq(mc_key_load(q, "pw", 2, &back, NULL), 0);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	mc_key_free(back);
	mc_key_free(k);
}

/* ---- damage ---- */

Test(keystore, every_truncation_and_every_flipped_byte_of_a_sealed_file_is_refused)
{
	struct mc_key *k, *back;
	char p[128], q[128];
	uint8_t buf[512];
	size_t n;

	k = saved("t.key", true, true, p);
	path_of(q, "t2.key");
	n = read_all(p, buf, sizeof(buf));
	cr_assert_eq(n, 42 + 16 + 16 + 24 + 64 + 16);
	for (size_t len = 0; len < n; len++) {
		char what[48];

		snprintf(what, sizeof(what), "truncation to %zu", len);
		write_all(q, buf, len);
		refused(q, "pw", EX_DATAERR, what);
	}
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		write_all(q, buf, n);
		cr_assert_eq(mc_key_load(q, "pw", 2, &back, NULL), -1, "byte %zu flipped", i);
		buf[i] ^= 0x01;
	}
	write_all(q, buf, n);
	cr_assert_eq(mc_key_load(q, "pw", 2, &back, NULL), 0, "the copy itself is fine");
	mc_key_free(back);
	mc_key_free(k);
}

Test(keystore, every_truncation_of_an_unsealed_file_is_refused)
{
	struct mc_key *k;
	char p[128], q[128];
	uint8_t buf[512];
	size_t n;

	k = saved("tu.key", true, false, p);
	path_of(q, "tu2.key");
	n = read_all(p, buf, sizeof(buf));
	for (size_t len = 0; len < n; len++) {
		char what[48];

		snprintf(what, sizeof(what), "truncation to %zu", len);
		write_all(q, buf, len);
		refused(q, NULL, EX_DATAERR, what);
	}
	mc_key_free(k);
}

Test(keystore, a_flipped_ciphertext_byte_is_refused_as_no_permission)
{
	struct mc_key *k;
	char p[128];
	uint8_t buf[512];
	size_t n;

	k = saved("ct.key", false, true, p);
	n = read_all(p, buf, sizeof(buf));
	buf[n - 16 - 5] ^= 0x40;  /* inside the ciphertext, before the tag */
	write_all(p, buf, n);
	/* AEAD cannot tell a wrong passphrase from a damaged ciphertext. */
	refused(p, "pw", EX_NOPERM, "ciphertext");
	mc_key_free(k);
}

Test(keystore, an_unsealed_file_whose_key_does_not_match_is_refused)
{
	struct mc_key *k;
	char p[128];
	uint8_t buf[512];
	size_t n;

	k = saved("u.key", false, false, p);
	n = read_all(p, buf, sizeof(buf));
	buf[n - 1] ^= 0x80;
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "seed changed");
	n = read_all(p, buf, sizeof(buf));
	buf[n - 1] ^= 0x80;
	buf[OFF_PK] ^= 0x01;
	write_all(p, buf, n);
	refused(p, NULL, EX_DATAERR, "public key changed");
	mc_key_free(k);
}

Test(keystore, a_hostile_memlimit_is_refused_before_any_allocation)
{
	struct mc_key *k;
	struct mc_err err = { 0 }, *e = &err;
	struct mc_key *back;
	char p[128];
	uint8_t buf[512];
	size_t n;

	k = saved("c.key", false, true, p);
	n = read_all(p, buf, sizeof(buf));
	memset(buf + OFF_MEM, 0x7f, 8);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "memlimit");
	cr_assert_eq(mc_key_load(p, "pw", 2, &back, e), -1);
	cr_assert_not_null(strstr(err.msg, "cost"));
	mc_be64(buf + OFF_MEM, 1024ULL * 1024 * 1024 + 1);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "just over 1 GiB");
	mc_be64(buf + OFF_MEM, 0);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "zero memlimit");
	mc_key_free(k);
}

Test(keystore, a_hostile_opslimit_is_refused)
{
	struct mc_key *k;
	char p[128];
	uint8_t buf[512];
	size_t n;

	k = saved("o.key", false, true, p);
	n = read_all(p, buf, sizeof(buf));
	mc_be64(buf + OFF_OPS, UINT64_MAX);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "huge opslimit");
	mc_be64(buf + OFF_OPS, crypto_pwhash_OPSLIMIT_SENSITIVE + 1);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "opslimit just over sensitive");
	mc_be64(buf + OFF_OPS, 0);
	write_all(p, buf, n);
	refused(p, "pw", EX_DATAERR, "zero opslimit");
	mc_key_free(k);
}
