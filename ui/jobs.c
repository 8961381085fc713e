/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"

uint64_t mc_now_ms_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int mc_job_start(struct mc_job *j, const char *label, int owner, int kind, const char *const *argv,
		 const char *pass, size_t passlen)
{
	int out[2], errp[2], pp[2] = { -1, -1 };
	pid_t pid;

	memset(j, 0, sizeof(*j));
	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if (pass && pipe2(pp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		if (pass) {
			close(pp[0]);
			close(pp[1]);
		}
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		if (pass)
			dup2(pp[0], 3);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(out[1]);
	close(errp[1]);
	if (pass) {
		/* a pipe holds far more than one passphrase: this never blocks */
		ssize_t w;

		close(pp[0]);
		w = write(pp[1], pass, passlen);
		if (w >= 0)
			w = write(pp[1], "\n", 1);
		close(pp[1]);
		(void)w;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->out_fd = out[0];
	j->err_fd = errp[0];
	j->owner = owner;
	j->kind = kind;
	snprintf(j->label, sizeof(j->label), "%s", label);
	j->started_ms = mc_now_ms_mono();
	return 0;
}

static void take_err_lines(struct mc_job *j, char *buf, size_t n)
{
	char *line = buf, *nl;

	buf[n] = '\0';
	while ((nl = strchr(line, '\n')) != NULL || *line) {
		unsigned long d, t;

		if (nl)
			*nl = '\0';
		if (sscanf(line, "progress %lu %lu", &d, &t) == 2) {
			j->done = d;
			j->total = t;
		} else if (*line) {
			const char *m = strncmp(line, "medchain: ", 10) == 0 ? line + 10 : line;
			size_t l = strlen(m);

			if (l >= sizeof(j->last_line))
				l = sizeof(j->last_line) - 1;
			memcpy(j->last_line, m, l);
			j->last_line[l] = '\0';
		}
		if (!nl)
			break;
		line = nl + 1;
	}
}

/* Reads what the pipes hold now (output beyond MC_JOB_OUT_MAX is dropped). */
static void drain(struct mc_job *j)
{
	char buf[4096];
	ssize_t r;

	while (j->out_fd >= 0 && (r = read(j->out_fd, buf, sizeof(buf))) > 0) {
		char *p = j->out_len + (size_t)r <= MC_JOB_OUT_MAX ? realloc(j->out, j->out_len + (size_t)r + 1)
								    : NULL;

		if (p) {
			j->out = p;
			memcpy(j->out + j->out_len, buf, (size_t)r);
			j->out_len += (size_t)r;
			j->out[j->out_len] = '\0';
		}
	}
	while (j->err_fd >= 0 && (r = read(j->err_fd, buf, sizeof(buf) - 1)) > 0)
		take_err_lines(j, buf, (size_t)r);
}

bool mc_job_poll(struct mc_job *j)
{
	int status;

	if (!j->pid || j->finished)
		return j->finished;
	drain(j);
	if (waitpid(j->pid, &status, WNOHANG) == j->pid) {
		drain(j);
		close(j->out_fd);
		close(j->err_fd);
		j->out_fd = j->err_fd = -1;
		j->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		j->finished = true;
	}
	return j->finished;
}

void mc_job_cancel(struct mc_job *j)
{
	if (j->pid && !j->finished) {
		kill(-j->pid, SIGTERM);
		j->cancelled = true;
	}
}

void mc_job_clear(struct mc_job *j)
{
	if (j->pid && !j->finished) {
		int status;

		kill(-j->pid, SIGKILL);
		waitpid(j->pid, &status, 0);
		close(j->out_fd);
		close(j->err_fd);
	}
	free(j->out);
	memset(j, 0, sizeof(*j));
}

bool mc_job_running(const struct mc_job *j)
{
	return j->pid && !j->finished;
}
