/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "i18n.h"

#define TMP_SUFFIX ".tmp.XXXXXX"

int mc_write_all(int fd, const char *what, const void *p, size_t n, struct mc_err *err)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* 0 should not happen on a regular file */
			if (w == 0)
				errno = ENOSPC;
			return mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), what, strerror(errno));
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int mc_path_printf(char *out, size_t n, struct mc_err *err, const char *fmt, ...)
{
	va_list ap;
	int l;

	va_start(ap, fmt);
	l = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (l < 0 || (size_t)l >= n)
		return mc_err_set(err, EX_USAGE, _("path too long"));
	return 0;
}

int mc_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, e;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* Moves tmp to path; with no_replace, unless path exists. RENAME_NOREPLACE
 * makes the refusal atomic; on a file system without it we fall back to a
 * fresh check and a plain rename (a narrow race, only there). */
static int publish(const char *tmp, const char *path, bool no_replace)
{
	struct stat st;

	if (!no_replace)
		return rename(tmp, path);
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		return -1;
#endif
	if (lstat(path, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, path);
}

int mc_file_write_atomic(const char *path, const void *p, size_t n, const struct mc_file_opts *o,
			 struct mc_err *err)
{
	char tmp[PATH_MAX];
	struct stat owner;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), path, strerror(errno));
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		mc_err_set(err, (e == ENOSPC || e == EIO || e == EDQUOT) ? EX_IOERR : EX_CANTCREAT,
			   _("cannot create '%s': %s"), tmp, strerror(e));
		errno = e;
		return -1;
	}
	/* mkostemp gives 0600 less the umask: set the mode asked for exactly;
	 * run as root (by hand), the file goes to the owner the service
	 * expects, so it can still read and replace it */
	if (o->owner_of && geteuid() == 0 && stat(o->owner_of, &owner) == 0 &&
	    fchown(fd, owner.st_uid, owner.st_gid) != 0)
		goto fail_write;
	if (fchmod(fd, o->mode) != 0)
		goto fail_write;
	if (mc_write_all(fd, tmp, p, n, err) != 0)
		goto fail;
	if (fsync(fd) != 0)
		goto fail_write;
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto fail_write;
	if (publish(tmp, path, o->no_replace) != 0) {
		e = errno;
		unlink(tmp);
		mc_err_set(err, EX_CANTCREAT, _("cannot replace '%s': %s"), path, strerror(e));
		errno = e;
		return -1;
	}
	if (mc_fsync_dir_of(path) != 0) {
		e = errno;
		mc_err_set(err, EX_IOERR, _("cannot sync the directory of '%s': %s"), path, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
fail_write:
	e = errno;
	mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), tmp, strerror(e));
	errno = e;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
	return -1;
}
