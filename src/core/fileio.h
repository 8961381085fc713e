/* SPDX-License-Identifier: Apache-2.0 */
/* fileio.h - the one way a file that must survive a crash is written.
 *
 * mc_file_write_atomic() writes the whole content to a temporary file in
 * the same directory (<path>.tmp.XXXXXX), fsyncs it, renames it over path
 * and fsyncs the directory: after a crash at any instant path holds either
 * the old content or the new, never a part, and once it returns the new
 * content is on disk. On failure the temporary file is removed and path is
 * untouched. The caller owns p; nothing is copied (a key file's buffer in
 * guarded memory stays there).
 */
#ifndef MC_FILEIO_H
#define MC_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct mc_file_opts {
	mode_t mode;          /* the file's exact mode (the umask does not apply) */
	bool no_replace;      /* refuse, atomically, when path exists: errno is
			       * EEXIST on return (err: EX_CANTCREAT) */
	const char *owner_of; /* run as root: the file is given to the owner
			       * (user and group) of this path; NULL: not changed */
};

/* 0, or -1 with err set (a sysexits.h code; errno kept from the failing
 * call). */
int mc_file_write_atomic(const char *path, const void *p, size_t n, const struct mc_file_opts *o,
			 struct mc_err *err);

/* Writes all n bytes to fd, retrying short writes and EINTR; what names
 * the target in the message. 0, or -1 with err set (EX_IOERR). */
int mc_write_all(int fd, const char *what, const void *p, size_t n, struct mc_err *err);

/* snprintf for a path into out (n bytes, PATH_MAX for a full path): 0, or
 * -1 with err set (EX_USAGE, "path too long") when it does not fit, never
 * a shortened path. */
int mc_path_printf(char *out, size_t n, struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* fsyncs the directory that holds path. 0, or -1 with errno set. */
int mc_fsync_dir_of(const char *path);

#endif
