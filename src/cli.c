/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "i18n.h"
#include "identity.h"
#include "records.h"

#define MC_PASS_MAX 1024

void mc_cli_path(const struct mc_cli *cli, char *out, size_t n, const char *rel)
{
	snprintf(out, n, "%s/%s", cli->datadir, rel);
}

void mc_cli_serve_url(const struct mc_cli *cli, char *out, size_t n)
{
	const char *l = *cli->conf.listen ? cli->conf.listen : "127.0.0.1:7400";
	const char *scheme = *cli->conf.tls_cert ? "https" : "http";

	if (strncmp(l, "0.0.0.0:", 8) == 0)
		snprintf(out, n, "%s://127.0.0.1%s", scheme, l + 7);
	else if (strncmp(l, "[::]:", 5) == 0)
		snprintf(out, n, "%s://[::1]%s", scheme, l + 4);
	else
		snprintf(out, n, "%s://%s", scheme, l);
}

int mc_cli_open(struct mc_cli *cli, unsigned flags, struct mc_err *err)
{
	char db[4200];
	struct stat st;

	if (stat(cli->datadir, &st) != 0 || !S_ISDIR(st.st_mode))
		return mc_err_set(err, EX_NOINPUT,
				  _("no data dir at '%s' (run 'medchain init' or give --datadir)"),
				  cli->datadir);
	/* keys/ may be missing (a store restored without them): the commands
	 * that need a key say so when they load it */
	mc_cli_path(cli, db, sizeof(db), "db");
	if (stat(db, &st) != 0 || !S_ISDIR(st.st_mode))
		return mc_err_set(err, EX_NOINPUT, _("'%s' is not a medchain data dir"), cli->datadir);
	if (mc_store_open(db, flags, &cli->store, err) != 0) {
		if (err->code == EX_NOINPUT)
			return mc_err_set(err, EX_NOINPUT, _("'%s' is not a medchain data dir"),
					  cli->datadir);
		return -1;
	}
	return 0;
}

void mc_cli_close(struct mc_cli *cli)
{
	mc_store_close(cli->store);
	cli->store = NULL;
	mc_secure_free(cli->pass);
	cli->pass = NULL;
}

static int read_pass_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	char c;
	ssize_t r;

	while ((r = read(fd, &c, 1)) == 1) {
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = c;
	}
	if (r < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int prompt_tty(const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		close(fd);
		return -1;
	}
	rc = read_pass_fd(fd, buf, cap, len);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = -1;
	close(fd);
	return rc;
}

int mc_cli_passphrase(struct mc_cli *cli, bool confirm, struct mc_err *err)
{
	const char *file = cli->passfile ? cli->passfile : getenv("MEDCHAIN_PASSPHRASE_FILE");
	char *buf;
	size_t len = 0;

	if (cli->pass)
		return 0;
	buf = mc_secure_alloc(MC_PASS_MAX);
	if (!buf)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	if (file) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			mc_secure_free(buf);
			return mc_err_set(err, EX_NOINPUT, _("cannot open passphrase file '%s': %s"), file,
					  strerror(errno));
		}
		if (read_pass_fd(fd, buf, MC_PASS_MAX, &len) != 0) {
			close(fd);
			mc_secure_free(buf);
			return mc_err_set(err, EX_DATAERR, _("cannot read passphrase file '%s'"), file);
		}
		close(fd);
	} else {
		if (prompt_tty(_("Passphrase: "), buf, MC_PASS_MAX, &len) != 0) {
			mc_secure_free(buf);
			return mc_err_set(err, EX_NOPERM,
					  _("the keys are sealed and there is no terminal to ask for the passphrase: give --passphrase-file"));
		}
		if (confirm) {
			char *again = mc_secure_alloc(MC_PASS_MAX);
			size_t alen = 0;
			bool same;

			if (!again) {
				mc_secure_free(buf);
				return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
			}
			same = prompt_tty(_("Passphrase again: "), again, MC_PASS_MAX, &alen) == 0 &&
			       alen == len && memcmp(again, buf, len) == 0;
			mc_secure_free(again);
			if (!same) {
				mc_secure_free(buf);
				return mc_err_set(err, EX_USAGE, _("the passphrases do not match"));
			}
		}
	}
	if (len == 0) {
		mc_secure_free(buf);
		return mc_err_set(err, EX_USAGE, _("empty passphrase (use --no-passphrase for unsealed keys)"));
	}
	cli->pass = buf;
	cli->passlen = len;
	return 0;
}

int mc_cli_load_key_file(struct mc_cli *cli, const char *path, struct mc_key **key, struct mc_err *err)
{
	uint8_t pk[MC_PK_LEN];
	bool sealed;

	if (mc_key_peek(path, pk, &sealed, err) != 0)
		return -1;
	if (sealed && mc_cli_passphrase(cli, false, err) != 0)
		return -1;
	return mc_key_load(path, sealed ? cli->pass : NULL, sealed ? cli->passlen : 0, key, err);
}

int mc_cli_load_role_key(struct mc_cli *cli, const char *role, struct mc_key **key,
			 struct mc_err *err)
{
	char rel[64], path[4200];

	snprintf(rel, sizeof(rel), "keys/%s.key", role);
	mc_cli_path(cli, path, sizeof(path), rel);
	return mc_cli_load_key_file(cli, path, key, err);
}

int mc_cli_load_key_for(struct mc_cli *cli, const unsigned char pk[32], struct mc_key **key,
			struct mc_err *err)
{
	char dir[4200], path[4500], hex[2 * MC_PK_LEN + 1];
	DIR *d;
	struct dirent *de;

	mc_cli_path(cli, dir, sizeof(dir), "keys");
	d = opendir(dir);
	if (!d)
		return mc_err_set(err, EX_NOINPUT, _("cannot open '%s': %s"), dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		uint8_t fpk[MC_PK_LEN];
		bool sealed;
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 4, ".key") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (mc_key_peek(path, fpk, &sealed, NULL) == 0 && memcmp(fpk, pk, MC_PK_LEN) == 0) {
			closedir(d);
			return mc_cli_load_key_file(cli, path, key, err);
		}
	}
	closedir(d);
	mc_hex(pk, MC_PK_LEN, hex);
	return mc_err_set(err, EX_NOPERM, _("this node holds no secret key for identity %s"), hex);
}

struct find_ctx {
	const char *what;
	struct mc_identity id;
};

static int find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct find_ctx *c = vctx;

	return mc_identity_find(t, c->what, &c->id, err);
}

int mc_cli_find_identity(struct mc_cli *cli, const char *what, struct mc_identity *id,
			 struct mc_err *err)
{
	struct find_ctx c = { .what = what };

	if (mc_store_read(cli->store, find_txn, &c, err) != 0)
		return -1;
	*id = c.id;
	return 0;
}

int mc_cli_load_actor(struct mc_cli *cli, struct mc_key **key, struct mc_err *err)
{
	struct mc_identity id;

	if (!cli->as)
		return mc_cli_load_role_key(cli, "admin", key, err);
	if (mc_cli_find_identity(cli, cli->as, &id, err) != 0)
		return -1;
	if (id.revoked != MC_NOT_REVOKED)
		return mc_err_set(err, EX_NOPERM, _("identity '%s' is revoked"), cli->as);
	return mc_cli_load_key_for(cli, id.pk, key, err);
}

int mc_cli_subject(struct mc_cli *cli, const char *id, unsigned char out[32], struct mc_err *err)
{
	struct mc_key *orgkey = NULL;
	struct mc_org *org = NULL;
	int rc = -1;

	if (mc_cli_load_role_key(cli, "org", &orgkey, err) == 0 &&
	    mc_org_open(cli->store, orgkey, &org, err) == 0 &&
	    mc_org_subject(org, id, strlen(id), out, err) == 0)
		rc = 0;
	mc_org_free(org);
	mc_key_free(orgkey);
	return rc;
}

struct org_find_ctx {
	const unsigned char *actor;
	const uint8_t *home;
	bool other;
	uint8_t org[MC_PK_LEN];
};

static int org_find_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct org_find_ctx *c = vctx;
	struct mc_identity actor, home, org;
	int rc = mc_identity_get(t, c->actor, &actor, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = mc_identity_get(t, c->home, &home, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!actor.org[0] || strcmp(actor.org, home.name) == 0)
		return 0;
	rc = mc_identity_find(t, actor.org, &org, err);
	if (rc != 0) {
		mc_err_clear(err);
		return 0;
	}
	if ((org.roles & MC_ROLE_ORG) && org.revoked == MC_NOT_REVOKED) {
		c->other = true;
		memcpy(c->org, org.pk, MC_PK_LEN);
	}
	return 0;
}

int mc_cli_other_org(struct mc_cli *cli, const unsigned char actor[32], bool *other,
		     unsigned char org[32], struct mc_err *err)
{
	uint8_t home[MC_PK_LEN];
	bool sealed;
	char path[4200];
	struct org_find_ctx c = { .actor = actor, .home = home };

	mc_cli_path(cli, path, sizeof(path), "keys/org.key");
	if (mc_key_peek(path, home, &sealed, err) != 0 || mc_store_read(cli->store, org_find_txn, &c, err) != 0)
		return -1;
	*other = c.other;
	memcpy(org, c.org, MC_PK_LEN);
	return 0;
}

int mc_cli_load_reader_org(struct mc_cli *cli, const unsigned char actor[32], struct mc_key **key,
			   struct mc_err *err)
{
	struct mc_key *home = NULL;
	struct org_find_ctx c = { .actor = actor };

	if (mc_cli_load_role_key(cli, "org", &home, err) != 0)
		return -1;
	c.home = home->pk;
	if (mc_store_read(cli->store, org_find_txn, &c, err) != 0) {
		mc_key_free(home);
		return -1;
	}
	if (!c.other) {
		*key = home;
		return 0;
	}
	mc_key_free(home);
	return mc_cli_load_key_for(cli, c.org, key, err);
}

int mc_cli_fail(const struct mc_err *err)
{
	fprintf(stderr, "medchain: %s\n", err->msg[0] ? err->msg : _("unknown error"));
	return err->code ? err->code : EX_SOFTWARE;
}

int mc_cli_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("medchain: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_USAGE;
}

int mc_cli_read_all(const char *path, size_t max, unsigned char **out, size_t *n,
		    struct mc_err *err)
{
	int fd = 0;
	size_t cap = 65536, len = 0;
	unsigned char *buf;

	*out = NULL;
	*n = 0;
	if (path && strcmp(path, "-") != 0) {
		struct stat st;

		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return mc_err_set(err, EX_NOINPUT, _("cannot open '%s': %s"), path, strerror(errno));
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return mc_err_set(err, EX_NOINPUT, _("'%s' is a directory"), path);
		}
	}
	buf = malloc(cap);
	if (!buf) {
		if (fd)
			close(fd);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	for (;;) {
		ssize_t r;

		if (len == cap) {
			unsigned char *p;

			if (cap > max) {
				free(buf);
				if (fd)
					close(fd);
				return mc_err_set(err, EX_DATAERR, _("input is over the limit of %zu bytes"), max);
			}
			p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				if (fd)
					close(fd);
				return mc_err_set(err, EX_OSERR, _("out of memory"));
			}
			buf = p;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			if (fd)
				close(fd);
			return mc_err_set(err, EX_IOERR, _("cannot read '%s': %s"), path ? path : "-",
					  strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (fd)
		close(fd);
	if (len > max) {
		free(buf);
		return mc_err_set(err, EX_DATAERR, _("input is over the limit of %zu bytes"), max);
	}
	*out = buf;
	*n = len;
	return 0;
}

int mc_cli_write_file(const char *path, const void *p, size_t n, struct mc_err *err)
{
	char tmp[4200];
	int fd;
	size_t off = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), tmp, strerror(errno));
	while (off < n) {
		ssize_t w = write(fd, (const char *)p + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = errno;

			close(fd);
			unlink(tmp);
			return mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), tmp, strerror(e));
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		unlink(tmp);
		return mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), tmp, strerror(errno));
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return mc_err_set(err, EX_CANTCREAT, _("cannot write '%s': %s"), path, strerror(e));
	}
	return 0;
}

static bool progress_shown;

void mc_cli_progress(const char *what, unsigned long long done, unsigned long long total)
{
	char bar[41];
	unsigned fill;

	if (!isatty(STDERR_FILENO))
		return;
	fill = total ? (unsigned)(40ULL * (done > total ? total : done) / total) : 0;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	if (total)
		fprintf(stderr, "\r%s [%s] %llu/%llu", what, bar, done, total);
	else
		fprintf(stderr, "\r%s %llu", what, done);
	fflush(stderr);
	progress_shown = true;
}

void mc_cli_progress_frac(const char *what, unsigned long long done, unsigned long long total,
			  unsigned long long count)
{
	char bar[41];
	unsigned fill;

	if (!isatty(STDERR_FILENO) || total == 0)
		return;
	fill = (unsigned)(40ULL * (done > total ? total : done) / total);
	memset(bar, '#', fill);
	memset(bar + fill, '.', 40 - fill);
	bar[40] = '\0';
	fprintf(stderr, "\r%s [%s] %3llu%% %llu", what, bar,
		100ULL * (done > total ? total : done) / total, count);
	fflush(stderr);
	progress_shown = true;
}

void mc_cli_progress_end(void)
{
	if (progress_shown && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	progress_shown = false;
}

int mc_cli_confirm(bool yes, const char *question, struct mc_err *err)
{
	FILE *tty;
	char answer[64];
	bool got;

	if (yes || !isatty(STDIN_FILENO))
		return 0;
	/* The answer comes from the terminal itself: stdin may have been read
	 * to its end already (a document typed or pasted there). */
	tty = fopen("/dev/tty", "r");
	/* L10N: the answer is matched against your locale's yes expression
	 * (rpmatch(3)): keep the letters users of your language type. */
	fprintf(stderr, _("%s [y/N] "), question);
	fflush(stderr);
	got = fgets(answer, sizeof(answer), tty ? tty : stdin) != NULL;
	if (tty)
		fclose(tty);
	if (!got)
		fputc('\n', stderr);
	if (got) {
		answer[strcspn(answer, "\r\n")] = '\0';
		if (rpmatch(answer) == 1)
			return 0;
	}
	return mc_err_set(err, MC_EX_DECLINED, _("not confirmed: nothing was written"));
}

int mc_cli_json_print(struct cJSON *j, struct mc_err *err)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	int rc = 0;

	if (!text)
		rc = mc_err_set(err, EX_OSERR, _("out of memory"));
	else
		printf("%s\n", text);
	free(text);
	cJSON_Delete(j);
	return rc;
}

void mc_cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

int mc_cli_parse(struct mc_args *a, const struct mc_opt *opts, size_t nopts,
		 char **pos, int maxpos, int *npos)
{
	*npos = 0;
	for (int i = 0; i < a->argc; i++) {
		const char *arg = a->argv[i];
		bool matched = false;

		if (strcmp(arg, "--") == 0) {
			for (i++; i < a->argc; i++) {
				if (*npos >= maxpos)
					return mc_cli_usage(_("unexpected argument '%s'"), a->argv[i]), -1;
				pos[(*npos)++] = a->argv[i];
			}
			break;
		}
		if (arg[0] == '-' && arg[1] != '\0') {
			for (size_t k = 0; k < nopts && !matched; k++) {
				size_t nl = strlen(opts[k].name);

				if (strncmp(arg, opts[k].name, nl) != 0)
					continue;
				if (arg[nl] == '\0') {
					if (opts[k].has_arg) {
						if (i + 1 >= a->argc)
							return mc_cli_usage(_("option '%s' needs a value"), arg), -1;
						*opts[k].value = a->argv[++i];
					} else {
						*opts[k].flag = true;
					}
					matched = true;
				} else if (arg[nl] == '=' && opts[k].has_arg) {
					*opts[k].value = arg + nl + 1;
					matched = true;
				}
			}
			if (!matched)
				return mc_cli_usage(_("unknown option '%s'"), arg), -1;
			continue;
		}
		if (*npos >= maxpos)
			return mc_cli_usage(_("unexpected argument '%s'"), arg), -1;
		pos[(*npos)++] = a->argv[i];
	}
	return 0;
}
