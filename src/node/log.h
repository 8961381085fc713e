/* SPDX-License-Identifier: Apache-2.0 */
/* log.h - where the long-running commands (serve, anchor) log, and how.
 * One destination per process, chosen once by mc_log_open:
 *
 *   journal  stderr is the journal's stream (systemd sets JOURNAL_STREAM to
 *            its "device:inode"; it must match stderr's, as systemd's
 *            documentation asks): each message goes to journald with
 *            sd_journal_sendv, with PRIORITY=, SYSLOG_IDENTIFIER= and the
 *            MEDCHAIN_* fields; no timestamp of ours. Should journald not
 *            be there (its socket missing: sd_journal_sendv would drop the
 *            entry silently) or not take it, the line goes to stderr with a
 *            "<N>" prefix, which journald's stream reads as the priority.
 *   syslog   stderr is no terminal and a syslog daemon listens (/dev/log):
 *            syslog(3), facility daemon, with the priority; nothing on
 *            stderr, so nothing twice.
 *   stderr   otherwise (a terminal, or no syslog): one line per message,
 *            "2026-01-02T03:04:05.678Z medchain serve: warning: ...".
 *
 * A message is one line: newlines in it are replaced by spaces. What is
 * logged is never health data nor a patient identifier: callers log block
 * heights, tx hashes, peers' URLs and keys, and reasons (tests grep a whole
 * cluster run's logs for the records' MRNs and payloads). Logs are meant
 * for parsing: never translated.
 */
#ifndef MC_LOG_H
#define MC_LOG_H

#include <stddef.h>
#include <syslog.h>   /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

enum mc_log_target {
	MC_LOG_STDERR,
	MC_LOG_JOURNAL,
	MC_LOG_SYSLOG,
};

/* A structured field: name without its MEDCHAIN_ prefix (upper case
 * letters, digits and '_'), e.g. { "PEER", url }. NULL values are left out. */
struct mc_log_field {
	const char *name;
	const char *value;
};
/* An array of fields ending in { NULL, NULL }, for mc_log's second argument. */
#define MC_LOG_FIELDS(...) ((const struct mc_log_field[]){ __VA_ARGS__, { NULL, NULL } })

/* Chooses the destination (above); ident: "serve", "anchor" (logged as
 * medchain-serve ...). Before any thread logs; once per process. */
void mc_log_open(const char *ident);
enum mc_log_target mc_log_target(void);
const char *mc_log_target_name(enum mc_log_target t);   /* "journal" ... */

/* Logs one message at priority prio (LOG_ERR ... LOG_DEBUG) with fields
 * (NULL: none). Thread-safe. Before mc_log_open: stderr, ident "medchain". */
void mc_log(int prio, const struct mc_log_field *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The journal entry mc_log sends: "MESSAGE=...", "PRIORITY=N",
 * "SYSLOG_IDENTIFIER=medchain-IDENT", then "MEDCHAIN_NAME=value" per field,
 * each malloc'd into out[] (at most max). Fields with a bad name are left
 * out. Returns how many, or -1 out of memory (nothing left allocated).
 * Free with mc_log_entry_free. */
int mc_log_entry(int prio, const char *ident, const struct mc_log_field *fields, const char *msg, char **out,
		 size_t max);
void mc_log_entry_free(char **v, int n);
/* The stderr line for msg (no newline): with a timestamp, or, under the
 * journal, with the "<N>" priority prefix instead. */
void mc_log_line(enum mc_log_target t, int prio, const char *ident, const char *msg, char *out, size_t n);

#endif
