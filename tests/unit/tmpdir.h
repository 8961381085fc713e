/* SPDX-License-Identifier: Apache-2.0 */
/* A unit test's temporary directory: made under /tmp, removed with
 * everything in it. For the tests that need a directory and no chain
 * (fixture.h makes its own, with a store and a chain in it). */
#ifndef MC_TEST_TMPDIR_H
#define MC_TEST_TMPDIR_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static inline int tmpdir_rm_one(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb;
	(void)f;
	(void)w;
	return remove(p);
}

/* A new directory /tmp/mc-STEM-XXXXXX in dir (n bytes). */
static inline void tmpdir_make(char *dir, size_t n, const char *stem)
{
	snprintf(dir, n, "/tmp/mc-%s-XXXXXX", stem);
	cr_assert_not_null(mkdtemp(dir));
}

static inline void tmpdir_remove(const char *dir)
{
	nftw(dir, tmpdir_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
