/* SPDX-License-Identifier: Apache-2.0 */
/* jobs.h - long work off the input path: a child `medchain` process (an
 * anchor run, a verify, a proof check, an export) whose output the app loop
 * reads without blocking, with progress and cancel (Esc: SIGTERM to its
 * process group; every medchain command is safe to stop at any instant). */
#ifndef MC_UI_JOBS_H
#define MC_UI_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MC_JOB_OUT_MAX (256u * 1024)

struct mc_job {
	pid_t pid;                      /* 0: no job */
	int out_fd, err_fd;
	char label[64];
	uint64_t started_ms;
	unsigned long done, total;      /* from "progress D T" lines on stderr */
	char last_line[256];            /* the newest other stderr line */
	char *out;                      /* stdout so far */
	size_t out_len;
	bool finished, cancelled;
	int exit_code;                  /* sysexits code; 128 + signal */
	int owner;                      /* who started it (the console: enum mc_screen_id) */
	int kind;                       /* what it is, in the owner's own terms */
	bool background;                /* nobody waits for it: quitting stops it unasked */
};

/* Starts argv (argv[0] the binary) with stdin from /dev/null; pass, when
 * not NULL, is offered on fd 3 (for --passphrase-file /dev/fd/3). owner
 * and kind are the caller's tags, kept as given. */
int mc_job_start(struct mc_job *j, const char *label, int owner, int kind, const char *const *argv,
		 const char *pass, size_t passlen);
/* Reads what is there without blocking; true once the child has exited. */
bool mc_job_poll(struct mc_job *j);
void mc_job_cancel(struct mc_job *j);
/* Releases a finished job's buffers. */
void mc_job_clear(struct mc_job *j);
bool mc_job_running(const struct mc_job *j);
/* CLOCK_MONOTONIC in ms. */
uint64_t mc_now_ms_mono(void);

#endif
