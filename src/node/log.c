/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* CODE_FILE and CODE_LINE would always name this file: left out */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_FIELDS 16
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static enum mc_log_target target = MC_LOG_STDERR;
static char ident_s[32] = "medchain";         /* "serve": stderr's "medchain serve:" */
static char syslog_ident[48] = "medchain";    /* "medchain-serve" */

/* JOURNAL_STREAM is "device:inode" of the stream systemd connected; stderr
 * goes to the journal when it is that very file. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int used = 0;

	if (!js || sscanf(js, "%llu:%llu%n", &dev, &ino, &used) != 2 || js[used] != '\0')
		return false;
	if (fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mc_log_open(const char *ident)
{
	struct stat st;

	snprintf(ident_s, sizeof(ident_s), "%s", ident);
	snprintf(syslog_ident, sizeof(syslog_ident), "medchain-%s", ident);
	if (stderr_is_journal())
		target = MC_LOG_JOURNAL;
	else if (!isatty(STDERR_FILENO) && stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode)) {
		target = MC_LOG_SYSLOG;
		openlog(syslog_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else
		target = MC_LOG_STDERR;
}

enum mc_log_target mc_log_target(void)
{
	return target;
}

const char *mc_log_target_name(enum mc_log_target t)
{
	switch (t) {
	case MC_LOG_JOURNAL: return "journal";
	case MC_LOG_SYSLOG: return "syslog";
	default: return "stderr";
	}
}

static bool field_name_ok(const char *n)
{
	if (!*n || strlen(n) > 48)
		return false;
	for (; *n; n++)
		if (!((*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_'))
			return false;
	return true;
}

void mc_log_entry_free(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

/* Control bytes as '?': messages and fields carry text from requests (a
 * path, a peer's answer), and an escape sequence in a log would act on the
 * terminal of whoever reads it, a CR or LF forge a line. UTF-8 is kept. */
static void plain(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

static int add(char **out, int *n, size_t max, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s;

	if ((size_t)*n >= max)
		return 0;   /* no room: left out */
	if (!(s = malloc(la + lb + 1)))
		return -1;
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	plain(s + la);
	out[(*n)++] = s;
	return 0;
}

int mc_log_entry(int prio, const char *ident, const struct mc_log_field *fields, const char *msg, char **out,
		 size_t max)
{
	char p[16], name[64];
	int n = 0;

	snprintf(p, sizeof(p), "%d", prio & LOG_PRIMASK);
	if (add(out, &n, max, "MESSAGE=", msg) != 0 || add(out, &n, max, "PRIORITY=", p) != 0 ||
	    add(out, &n, max, "SYSLOG_IDENTIFIER=", ident) != 0)
		goto oom;
	for (const struct mc_log_field *f = fields; f && f->name; f++) {
		if (!f->value || !field_name_ok(f->name))
			continue;
		snprintf(name, sizeof(name), "MEDCHAIN_%s=", f->name);
		if (add(out, &n, max, name, f->value) != 0)
			goto oom;
	}
	return n;
oom:
	mc_log_entry_free(out, n);
	return -1;
}

static const char *prio_word(int prio)
{
	switch (prio & LOG_PRIMASK) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR: return "error: ";
	case LOG_WARNING: return "warning: ";
	case LOG_DEBUG: return "debug: ";
	default: return "";
	}
}

void mc_log_line(enum mc_log_target t, int prio, const char *ident, const char *msg, char *out, size_t n)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	if (t == MC_LOG_JOURNAL) {
		snprintf(out, n, "<%d>%s", prio & LOG_PRIMASK, msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(out, n, "%s.%03ldZ medchain %s: %s%s", ts, now.tv_nsec / 1000000, ident, prio_word(prio),
			 msg);
	}
	if (n)
		plain(out);
}

static void to_stderr(enum mc_log_target t, int prio, const char *msg)
{
	char line[2400];

	mc_log_line(t, prio, ident_s, msg, line, sizeof(line));
	flockfile(stderr);
	fputs(line, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
}

void mc_log(int prio, const struct mc_log_field *fields, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	plain(msg);   /* one message, one line, no terminal escapes */
	if (target == MC_LOG_SYSLOG) {
		syslog(prio, "%s", msg);
	} else if (target == MC_LOG_JOURNAL) {
		char *v[MAX_FIELDS];
		struct iovec iov[MAX_FIELDS];
		int n = mc_log_entry(prio, syslog_ident, fields, msg, v, MAX_FIELDS);

		for (int i = 0; i < n; i++)
			iov[i] = (struct iovec){ v[i], strlen(v[i]) };
		/* journald is not there (sd_journal_sendv then drops the entry
		 * and says nothing) or did not take it: its stream reads the
		 * "<N>" prefix */
		if (n < 0 || access(JOURNAL_SOCKET, W_OK) != 0 || sd_journal_sendv(iov, n) < 0)
			to_stderr(MC_LOG_JOURNAL, prio, msg);
		mc_log_entry_free(v, n);
	} else
		to_stderr(MC_LOG_STDERR, prio, msg);
}
