/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int mc_err_set(struct mc_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mc_err_wrap(struct mc_err *err, const char *fmt, ...)
{
	char prefix[MC_ERR_MSG_MAX];
	char old[MC_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation is acceptable here: messages are bounded by design. */
	{
		size_t pl = strnlen(prefix, sizeof(err->msg) - 3);

		memcpy(err->msg, prefix, pl);
		memcpy(err->msg + pl, ": ", 2);
		snprintf(err->msg + pl + 2, sizeof(err->msg) - pl - 2, "%s", old);
	}
	return -1;
}

void mc_err_clear(struct mc_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
