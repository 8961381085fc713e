/* SPDX-License-Identifier: Apache-2.0 */
/* err.h - one error convention for the core.
 *
 * Every fallible core function takes a `struct mc_err *` (which may be NULL)
 * and returns 0 on success or -1 on failure, having filled in the error with
 * a sysexits.h code and a translated, lowercase message with no full stop.
 * Callers write: `return mc_err_set(err, EX_DATAERR, _("bad thing '%s'"), x);`
 */
#ifndef MC_ERR_H
#define MC_ERR_H

#include <stddef.h>
#include <sysexits.h>

#define MC_ERR_MSG_MAX 512

struct mc_err {
	int code;                  /* a sysexits.h code; 0 when no error */
	char msg[MC_ERR_MSG_MAX];  /* translated, for the operator; never secrets */
};

/* Sets code and message; returns -1. err may be NULL. */
int mc_err_set(struct mc_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "what: "; returns -1. */
int mc_err_wrap(struct mc_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void mc_err_clear(struct mc_err *err);

#endif
