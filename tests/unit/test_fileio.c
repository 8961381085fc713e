/* SPDX-License-Identifier: Apache-2.0 */
/* The one atomic file write: what it leaves on disk, and what it leaves
 * when it refuses or fails (never a part, never a temporary file). */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static char dir[] = "/tmp/mc-fileio-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

TestSuite(fileio, .init = setup, .fini = teardown);

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void content(const char *path, const char *want)
{
	char got[64];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	cr_assert_str_eq(got, want);
}

Test(fileio, replaces_the_whole_file_with_the_exact_mode_whatever_the_umask)
{
	char path[512];
	struct stat st;
	struct mc_err err = { 0 };
	mode_t old = umask(077);

	snprintf(path, sizeof(path), "%s/state.json", dir);
	cr_assert_eq(mc_file_write_atomic(path, "old", 3, &(struct mc_file_opts){ .mode = 0644 }, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(mc_file_write_atomic(path, "new", 3, &(struct mc_file_opts){ .mode = 0644 }, &err), 0, "%s",
		     err.msg);
	umask(old);
	content(path, "new");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(entries(), 1, "a temporary file was left beside it");
}

Test(fileio, no_replace_refuses_an_existing_file_and_leaves_it_and_nothing_else)
{
	char path[512];
	struct mc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/key", dir);
	cr_assert_eq(mc_file_write_atomic(path, "first", 5, &(struct mc_file_opts){ .mode = 0600 }, &err), 0);
	cr_assert_eq(mc_file_write_atomic(path, "second", 6, &(struct mc_file_opts){ .mode = 0600, .no_replace = true },
					  &err),
		     -1);
	cr_assert_eq(errno, EEXIST);
	cr_assert_eq(err.code, EX_CANTCREAT);
	content(path, "first");
	cr_assert_eq(entries(), 1, "a temporary file was left beside it");
}

Test(fileio, a_missing_directory_fails_with_a_message_and_writes_nothing)
{
	char path[512];
	struct mc_err err = { 0 };

	snprintf(path, sizeof(path), "%s/no/such/file", dir);
	cr_assert_eq(mc_file_write_atomic(path, "x", 1, &(struct mc_file_opts){ .mode = 0600 }, &err), -1);
	cr_assert_eq(err.code, EX_CANTCREAT);
	cr_assert(strstr(err.msg, "no/such/file") != NULL, "%s", err.msg);
	cr_assert_eq(entries(), 0);
}
