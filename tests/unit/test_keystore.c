/* Key files: sealed and unsealed round trips, wrong or missing passphrases,
 * modes, existing targets, and every kind of damage refused cleanly. */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keystore.h"

static char dir[64];

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb; (void)f; (void)w;
	return remove(p);
}

static void setup(void)
{
	cr_assert_eq(mc_crypto_init(), 0);
	setenv("MEDCHAIN_KDF", "fast", 1);
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
	size_t n = fread(buf, 1, cap, f);

	fclose(f);
	return n;
}

static void write_all(const char *p, const uint8_t *buf, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
	chmod(p, 0600);
}

Test(keystore, unsealed_round_trip_keeps_key_and_pseudonym_key)
{
	struct mc_key *k, *back;
	char p[128];
	struct stat st;

	path_of(p, "a.key");
	cr_assert_eq(mc_key_generate(true, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, NULL), 0);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, NULL), 0);
	cr_assert_arr_eq(back->pk, k->pk, MC_PK_LEN);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	cr_assert(back->has_pseudo);
	cr_assert_arr_eq(back->pseudo, k->pseudo, 32);
	mc_key_free(k);
	mc_key_free(back);
}

Test(keystore, sealed_round_trip_and_wrong_or_missing_passphrase)
{
	struct mc_key *k, *back = NULL;
	struct mc_err err = { 0 };
	char p[128];
	uint8_t pk[32];
	bool sealed;

	path_of(p, "s.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, "pw", 2, NULL), 0);
	cr_assert_eq(mc_key_peek(p, pk, &sealed, NULL), 0);
	cr_assert(sealed);
	cr_assert_arr_eq(pk, k->pk, 32, "peek needs no passphrase");
	cr_assert_eq(mc_key_load(p, "pw", 2, &back, NULL), 0);
	cr_assert_arr_eq(back->sk, k->sk, MC_SK_LEN);
	mc_key_free(back);
	back = NULL;
	cr_assert_eq(mc_key_load(p, "pX", 2, &back, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_not_null(strstr(err.msg, "wrong passphrase"));
	cr_assert_null(back);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	mc_key_free(k);
}

Test(keystore, a_key_readable_by_others_is_refused)
{
	struct mc_key *k, *back;
	struct mc_err err = { 0 };
	char p[128];

	path_of(p, "m.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, NULL), 0);
	chmod(p, 0644);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, &err), -1);
	cr_assert_eq(err.code, EX_NOPERM);
	cr_assert_not_null(strstr(err.msg, "chmod 600"));
	mc_key_free(k);
}

Test(keystore, an_existing_target_is_never_overwritten)
{
	struct mc_key *k;
	struct mc_err err = { 0 };
	char p[128];

	path_of(p, "e.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT);
	mc_key_free(k);
}

Test(keystore, every_truncation_and_every_flipped_byte_is_refused)
{
	struct mc_key *k, *back;
	char p[128], q[128];
	uint8_t buf[512];
	size_t n;

	path_of(p, "t.key");
	path_of(q, "t2.key");
	cr_assert_eq(mc_key_generate(true, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, "pw", 2, NULL), 0);
	n = read_all(p, buf, sizeof(buf));
	for (size_t len = 0; len < n; len++) {
		struct mc_err err = { 0 };

		write_all(q, buf, len);
		cr_assert_eq(mc_key_load(q, "pw", 2, &back, &err), -1, "truncation to %zu", len);
		cr_assert_eq(err.code, EX_DATAERR, "truncation to %zu: %s", len, err.msg);
	}
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		write_all(q, buf, n);
		cr_assert_eq(mc_key_load(q, "pw", 2, &back, NULL), -1, "byte %zu flipped", i);
		buf[i] ^= 0x01;
	}
	mc_key_free(k);
}

Test(keystore, an_unsealed_file_whose_key_does_not_match_is_refused)
{
	struct mc_key *k, *back;
	struct mc_err err = { 0 };
	char p[128];
	uint8_t buf[512];
	size_t n;

	path_of(p, "u.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, NULL, 0, NULL), 0);
	n = read_all(p, buf, sizeof(buf));
	buf[n - 1] ^= 0x80;
	write_all(p, buf, n);
	cr_assert_eq(mc_key_load(p, NULL, 0, &back, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	mc_key_free(k);
}

Test(keystore, a_hostile_kdf_cost_is_refused_before_any_allocation)
{
	struct mc_key *k, *back;
	struct mc_err err = { 0 };
	char p[128];
	uint8_t buf[512];
	size_t n;

	path_of(p, "c.key");
	cr_assert_eq(mc_key_generate(false, &k, NULL), 0);
	cr_assert_eq(mc_key_save(p, k, "pw", 2, NULL), 0);
	n = read_all(p, buf, sizeof(buf));
	/* memlimit is at 8+1+1+32 + 16 salt + 8 opslimit */
	memset(buf + 42 + 16 + 8, 0x7f, 8);
	write_all(p, buf, n);
	cr_assert_eq(mc_key_load(p, "pw", 2, &back, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_not_null(strstr(err.msg, "cost"));
	mc_key_free(k);
}
