/* SPDX-License-Identifier: Apache-2.0 */
/* The log module (src/node/log.h): the journal entry mc_log sends (fields,
 * priority, identifier; bad field names and NULL values left out; no room
 * left out rather than overrun), the stderr line (a timestamp on a
 * terminal, none under the journal but its "<N>" prefix), and the choice
 * of destination from JOURNAL_STREAM, which must name stderr itself. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

Test(log, entry_has_message_priority_identifier_then_prefixed_fields)
{
	char *v[8];
	int n = mc_log_entry(LOG_WARNING, "medchain-serve",
			     MC_LOG_FIELDS({ "PEER", "http://10.0.0.2:7400" }, { "HEIGHT", "42" },
					   { "REASON", "bad signature" }),
			     "refused", v, 8);

	cr_assert_eq(n, 6);
	cr_assert_str_eq(v[0], "MESSAGE=refused");
	cr_assert_str_eq(v[1], "PRIORITY=4");
	cr_assert_str_eq(v[2], "SYSLOG_IDENTIFIER=medchain-serve");
	cr_assert_str_eq(v[3], "MEDCHAIN_PEER=http://10.0.0.2:7400");
	cr_assert_str_eq(v[4], "MEDCHAIN_HEIGHT=42");
	cr_assert_str_eq(v[5], "MEDCHAIN_REASON=bad signature");
	mc_log_entry_free(v, n);
}

Test(log, entry_leaves_out_bad_names_null_values_and_what_does_not_fit)
{
	char *v[4];
	int n = mc_log_entry(LOG_ERR | LOG_DAEMON, "medchain-anchor",
			     MC_LOG_FIELDS({ "peer", "lower case" }, { "A=B", "x" }, { "", "empty" },
					   { "TX", NULL }, { "OK_1", "kept" }, { "MORE", "no room" }),
			     "m", v, 4);

	cr_assert_eq(n, 4);
	cr_assert_str_eq(v[1], "PRIORITY=3", "the facility is not the priority");
	cr_assert_str_eq(v[3], "MEDCHAIN_OK_1=kept");
	mc_log_entry_free(v, n);
	n = mc_log_entry(LOG_INFO, "x", NULL, "no fields", v, 4);
	cr_assert_eq(n, 3);
	mc_log_entry_free(v, n);
}

Test(log, journal_line_has_its_priority_prefix_and_no_timestamp)
{
	char line[128];

	mc_log_line(MC_LOG_JOURNAL, LOG_WARNING, "serve", "peer down", line, sizeof(line));
	cr_assert_str_eq(line, "<4>peer down");
}

Test(log, terminal_line_has_a_utc_timestamp_and_the_severity_word)
{
	char line[128];
	int y, mo, d, h, mi, s, ms, used = 0;

	mc_log_line(MC_LOG_STDERR, LOG_ERR, "serve", "cannot read", line, sizeof(line));
	cr_assert_eq(sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %n", &y, &mo, &d, &h, &mi, &s, &ms, &used), 7, "%s",
		     line);
	cr_assert_str_eq(line + used, "medchain serve: error: cannot read");
	mc_log_line(MC_LOG_STDERR, LOG_INFO, "serve", "listening", line, sizeof(line));
	cr_assert(strstr(line, "Z medchain serve: listening"), "%s", line);
}

/* stderr redirected to a file; JOURNAL_STREAM naming that file, another
 * one, or garbage */
Test(log, journal_chosen_only_when_journal_stream_names_stderr)
{
	char path[] = "/tmp/mc-log-XXXXXX", js[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;

	cr_assert(fd >= 0 && saved >= 0);
	cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	cr_assert_eq(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	mc_log_open("test");
	cr_assert_eq(mc_log_target(), MC_LOG_JOURNAL);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", js, 1);
	mc_log_open("test");
	cr_assert_neq(mc_log_target(), MC_LOG_JOURNAL, "another file's inode");
	setenv("JOURNAL_STREAM", "12:x", 1);
	mc_log_open("test");
	cr_assert_neq(mc_log_target(), MC_LOG_JOURNAL, "garbage");
	unsetenv("JOURNAL_STREAM");
	mc_log_open("test");
	cr_assert_neq(mc_log_target(), MC_LOG_JOURNAL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	unlink(path);
}

Test(log, control_characters_from_a_request_reach_no_field_or_line)
{
	char *v[8], line[256];
	int n = mc_log_entry(LOG_WARNING, "medchain-serve",
			     MC_LOG_FIELDS({ "PEER", "\x1b[2Jpeer" }, { "REASON", "a\rb\tc\x7f" }),
			     "GET /v1/\x1b[31mred\x08", v, 8);

	cr_assert_eq(n, 5);
	cr_assert_str_eq(v[0], "MESSAGE=GET /v1/?[31mred?");
	cr_assert_str_eq(v[3], "MEDCHAIN_PEER=?[2Jpeer");
	cr_assert_str_eq(v[4], "MEDCHAIN_REASON=a?b?c?");
	mc_log_entry_free(v, n);
	mc_log_line(MC_LOG_STDERR, LOG_WARNING, "serve", "x\x1b[2Jy", line, sizeof(line));
	cr_assert_null(strchr(line, '\x1b'), "%s", line);
	cr_assert_not_null(strstr(line, "x?[2Jy"), "%s", line);
	mc_log_line(MC_LOG_JOURNAL, LOG_WARNING, "serve", "\x1b" "b\xc3\xa9", line, sizeof(line));
	cr_assert_str_eq(line, "<4>?b\xc3\xa9", "UTF-8 is kept");
}
