/* SPDX-License-Identifier: Apache-2.0 */
/* vlast.h - the outcome of this node's last `medchain verify`, kept in
 * <datadir>/verify.last.json (docs/decisions.md, "Where verify keeps its
 * outcome"). This node's own local state, not chain state: status, check,
 * alerts and the console's Dashboard read it. */
#ifndef MC_VLAST_H
#define MC_VLAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MC_VLAST_FILE "verify.last.json"

struct mc_verify_last {
	uint64_t time_ms;          /* when it finished */
	bool ok;                   /* false: damage found (exit 65) */
	char message[512];         /* the first damage; "" when ok */
	double duration_s;
	uint64_t blocks;           /* blocks checked */
};

/* Replaces the file atomically (temp file, fsync, rename, fsync of the
 * directory), mode 0644; run as root, the file is given to the data dir's
 * owner, so the service user can still read and replace it. */
int mc_vlast_save(const char *datadir, const struct mc_verify_last *v, struct mc_err *err);
/* The same for any small state file of this node: text (a JSON document)
 * and a newline replace <datadir>/name atomically. */
int mc_state_file_save(const char *datadir, const char *name, const char *text, struct mc_err *err);
/* Reads <datadir>/name (at most 4 KiB; never through a symlink) and
 * parses it: 0 with *out (NULL when it is no JSON document: the caller
 * says what it should have been; else the caller deletes it), 1 when there
 * is no such file, -1 (err set). path (n bytes) gets the file's path. */
struct cJSON;
int mc_state_file_load(const char *datadir, const char *name, struct cJSON **out, char *path, size_t n,
		       struct mc_err *err);
/* 0: loaded; 1: no verify has stored an outcome; -1: unreadable or
 * malformed (err set). */
int mc_vlast_load(const char *datadir, struct mc_verify_last *v, struct mc_err *err);

#endif
