/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "fileio.h"
#include "hooks.h"
#include "i18n.h"
#include "identity.h"
#include "nodekey.h"
#include "orgrot.h"
#include "records.h"
#include "util.h"

#define MC_PASS_MAX 1024

void mc_cli_path(const struct mc_cli *cli, char *out, size_t n, const char *rel)
{
	/* fits, given MC_DATADIR_MAX; else an empty path, never a shortened
	 * one that names another file */
	if (mc_path_printf(out, n, NULL, "%s/%s", cli->datadir, rel) != 0)
		out[0] = '\0';
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
	char db[PATH_MAX];
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
	mc_store_set_remote(cli->store, cli->remote, cli->remote_ctx);
	return 0;
}

void mc_cli_set_remote(struct mc_cli *cli, mc_remote_fn fn, void *ctx)
{
	cli->remote = fn;
	cli->remote_ctx = fn ? ctx : NULL;
	if (cli->store)
		mc_store_set_remote(cli->store, cli->remote, cli->remote_ctx);
}

void mc_cli_close(struct mc_cli *cli)
{
	mc_key_free(cli->node_key);
	mc_key_free(cli->actor_key);
	mc_key_free(cli->org_key);
	cli->node_key = cli->actor_key = cli->org_key = NULL;
	cli->setup_done = 0;
	mc_store_close(cli->store);
	cli->store = NULL;
	mc_secure_free(cli->pass);
	cli->pass = NULL;
	mc_secure_free(cli->as_pass);
	cli->as_pass = NULL;
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

/* The passphrase from a file: --passphrase-file, $MEDCHAIN_PASSPHRASE_FILE
 * or the systemd credential. A credential must be a regular file (not a
 * symbolic link) that others cannot read. systemd writes it 0400, owned by
 * root, with an ACL entry giving the service user read: the group bits
 * stat shows are then the ACL's mask (0440), so only the others bits tell
 * a credential systemd made from a file anyone may read. */
static int read_pass_file(const char *file, bool credential, char *buf, size_t *len, struct mc_err *err)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | (credential ? O_NOFOLLOW | O_NONBLOCK : 0));

	if (fd < 0)
		return mc_err_set(err, EX_NOINPUT, _("cannot open passphrase file '%s': %s"), file, strerror(errno));
	if (credential && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 007))) {
		close(fd);
		return mc_err_set(err, EX_NOPERM,
				  _("the credential '%s' is not a regular file that only its owner and group can read (mode %04o): make it 0400 or 0600"),
				  file, (unsigned)(st.st_mode & 07777));
	}
	if (read_pass_fd(fd, buf, MC_PASS_MAX, len) != 0) {
		close(fd);
		return mc_err_set(err, EX_DATAERR, _("cannot read passphrase file '%s'"), file);
	}
	close(fd);
	return 0;
}

/* A passphrase into guarded memory: from file (credential: the systemd
 * credential's checks), else asked on the terminal with prompt (twice when
 * again is not NULL). notty: the message when there is no terminal. */
static int get_pass(const char *file, bool credential, const char *prompt, const char *again,
		    const char *notty, char **out, size_t *outlen, struct mc_err *err)
{
	char *buf = mc_secure_alloc(MC_PASS_MAX);
	size_t len = 0;

	if (!buf)
		return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
	if (file) {
		if (read_pass_file(file, credential, buf, &len, err) != 0) {
			mc_secure_free(buf);
			return -1;
		}
	} else {
		if (prompt_tty(prompt, buf, MC_PASS_MAX, &len) != 0) {
			mc_secure_free(buf);
			return mc_err_set(err, EX_NOPERM, "%s", notty);
		}
		if (again) {
			char *twice = mc_secure_alloc(MC_PASS_MAX);
			size_t alen = 0;
			bool same;

			if (!twice) {
				mc_secure_free(buf);
				return mc_err_set(err, EX_OSERR, _("out of guarded memory"));
			}
			same = prompt_tty(again, twice, MC_PASS_MAX, &alen) == 0 && alen == len &&
			       memcmp(twice, buf, len) == 0;
			mc_secure_free(twice);
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
	*out = buf;
	*outlen = len;
	return 0;
}

static bool is_role_key_file(const char *path)
{
	static const char *const roles[] = { "node.key", "admin.key", "org.key", "anchor.key" };
	const char *base = strrchr(path, '/');
	size_t i;

	base = base ? base + 1 : path;
	for (i = 0; i < MC_ARRAY_LEN(roles); i++)
		if (strcmp(base, roles[i]) == 0)
			return true;
	return false;
}

static int find_key_path(struct mc_cli *cli, const unsigned char pk[32], char *out, size_t n,
			 struct mc_err *err);

/* Whether --passphrase-file is the node's passphrase: without --as, or
 * when --as names one of the node's own keys (its admin, say). */
static bool passfile_is_nodes(struct mc_cli *cli)
{
	struct mc_identity id;
	char path[PATH_MAX];

	if (!cli->as)
		return true;
	/* known once the store is open (every command that loads a key opens it first) */
	if (!cli->as_node && cli->store) {
		struct mc_err ignored = { 0 };

		cli->as_node = 2;
		if (mc_cli_find_identity(cli, cli->as, &id, &ignored) == 0 &&
		    find_key_path(cli, id.pk, path, sizeof(path), &ignored) == 0 && is_role_key_file(path))
			cli->as_node = 1;
	}
	return cli->as_node == 1;
}

int mc_cli_passphrase(struct mc_cli *cli, bool confirm, struct mc_err *err)
{
	const char *env = getenv("MEDCHAIN_PASSPHRASE_FILE");
	const char *file = cli->passfile && passfile_is_nodes(cli) ? cli->passfile : env && *env ? env : NULL;
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char cred[PATH_MAX], notty[600];
	bool credential = false;

	if (cli->pass)
		return 0;
	if (!file && creds && *creds) {
		snprintf(cred, sizeof(cred), "%s/%s", creds, MC_CREDENTIAL);
		if (access(cred, F_OK) == 0) {
			file = cred;
			credential = true;
		}
	}
	snprintf(notty, sizeof(notty),
		 _("the keys are sealed and there is no terminal to ask for the passphrase: give --passphrase-file, or the systemd credential '%s'"),
		 MC_CREDENTIAL);
	if (cli->as && !passfile_is_nodes(cli))
		snprintf(notty, sizeof(notty),
			 _("this node's keys are sealed and there is no terminal to ask for their passphrase: give MEDCHAIN_PASSPHRASE_FILE or the systemd credential '%s' (with --as, --passphrase-file is the acting identity's own)"),
			 MC_CREDENTIAL);
	if (get_pass(file, credential,
		     cli->as && !passfile_is_nodes(cli) ? _("Passphrase for this node's keys: ") : _("Passphrase: "),
		     confirm ? _("Passphrase again: ") : NULL, notty, &cli->pass, &cli->passlen, err) != 0)
		return -1;
	snprintf(cli->pass_from, sizeof(cli->pass_from), "%s", file ? file : "/dev/tty");
	return 0;
}

int mc_cli_new_passphrase(const char *file, const char *whose, const char *fileopt, char **pass,
			  size_t *len, struct mc_err *err)
{
	char prompt[400], again[400], notty[600];

	if (whose) {
		snprintf(prompt, sizeof(prompt), _("Passphrase for the new key of %s: "), whose);
		snprintf(again, sizeof(again), _("Passphrase for the new key of %s, again: "), whose);
		snprintf(notty, sizeof(notty),
			 _("there is no terminal to ask the passphrase for the new key of %s: give %s, or --no-passphrase for a service identity"),
			 whose, fileopt);
	} else {
		snprintf(prompt, sizeof(prompt), "%s", _("Passphrase for the new key: "));
		snprintf(again, sizeof(again), "%s", _("Passphrase for the new key, again: "));
		snprintf(notty, sizeof(notty),
			 _("there is no terminal to ask the passphrase for the new key: give %s, or --no-passphrase"),
			 fileopt);
	}
	return get_pass(file, false, prompt, again, notty, pass, len, err);
}

int mc_cli_save_key(const char *path, const struct mc_key *key, const char *pass, size_t passlen,
		    struct mc_err *err)
{
	struct mc_kdf_cost kdf;

	mc_hooks_kdf(&kdf);
	return mc_key_save(path, key, pass, passlen, &kdf, err);
}

int mc_cli_load_key_file(struct mc_cli *cli, const char *path, struct mc_key **key, struct mc_err *err)
{
	uint8_t pk[MC_PK_LEN];
	bool sealed;

	if (mc_key_peek(path, pk, &sealed, err) != 0)
		return -1;
	if (sealed && mc_cli_passphrase(cli, false, err) != 0)
		return -1;
	if (mc_key_load(path, sealed ? cli->pass : NULL, sealed ? cli->passlen : 0, key, err) == 0)
		return 0;
	if (sealed && err && err->code == EX_NOPERM)   /* say where the wrong one came from */
		return mc_err_set(err, EX_NOPERM, _("wrong passphrase for key '%s' (the passphrase was read from '%s')"),
				  path, cli->pass_from);
	return -1;
}

/* The key of the identity --as names, when it is not one of the node's own:
 * unlocked only by its holder's passphrase (--passphrase-file given with
 * --as, or the terminal), never by the node's (MEDCHAIN_PASSPHRASE_FILE,
 * the systemd credential, a passphrase read for the node's keys). */
static int load_own_key(struct mc_cli *cli, const char *path, struct mc_key **key, struct mc_err *err)
{
	uint8_t pk[MC_PK_LEN];
	bool sealed;
	char prompt[400], notty[700];

	if (mc_key_peek(path, pk, &sealed, err) != 0)
		return -1;
	if (sealed && !cli->as_pass) {
		snprintf(prompt, sizeof(prompt), _("Passphrase for the key of %s: "), cli->as);
		snprintf(notty, sizeof(notty),
			 _("the key of %s is sealed under its holder's passphrase and there is no terminal to ask for it: give --passphrase-file with that passphrase"),
			 cli->as);
		if (get_pass(cli->passfile, false, prompt, NULL, notty, &cli->as_pass, &cli->as_passlen, err) != 0)
			return -1;
		snprintf(cli->as_pass_from, sizeof(cli->as_pass_from), "%s",
			 cli->passfile ? cli->passfile : "/dev/tty");
	}
	if (mc_key_load(path, sealed ? cli->as_pass : NULL, sealed ? cli->as_passlen : 0, key, err) == 0)
		return 0;
	if (sealed && err && err->code == EX_NOPERM)
		return mc_err_set(err, EX_NOPERM,
				  _("wrong passphrase for the key of %s, '%s' (the passphrase was read from '%s'; only its holder's own passphrase unlocks it)"),
				  cli->as, path, cli->as_pass_from);
	return -1;
}

struct org_finish_ctx {
	uint8_t pk[MC_PK_LEN];
	bool rotated;
	uint8_t next[MC_PK_LEN];
};

static int org_finish_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct org_finish_ctx *c = vctx;
	struct mc_identity id;
	int rc = mc_identity_get(t, c->pk, &id, err);

	if (rc != 0 || id.revoked == MC_NOT_REVOKED)
		return rc < 0 ? -1 : 0;
	rc = mc_org_successor(t, c->pk, c->next, NULL, err);
	if (rc < 0)
		return -1;
	c->rotated = rc == 0;
	return 0;
}

/* An `org rotate-key` that committed but was stopped before it put the
 * new key in place of keys/org.key is finished here: the chain names the
 * successor and its key waits as keys/<key>.key (cmd_org.c). */
static int org_finish(struct mc_cli *cli, const char *path, struct mc_err *err)
{
	struct org_finish_ctx c;
	struct mc_err ignored = { 0 };
	char oldhex[2 * MC_PK_LEN + 1], newhex[2 * MC_PK_LEN + 1], rel[200], newpath[PATH_MAX],
		retpath[PATH_MAX];
	bool sealed;

	memset(&c, 0, sizeof(c));
	if (access(path, F_OK) != 0 || mc_key_peek(path, c.pk, &sealed, NULL) != 0 ||
	    mc_store_read(cli->store, org_finish_txn, &c, &ignored) != 0)
		return 0;   /* the load that follows says what is wrong */
	if (!c.rotated)
		return 0;
	mc_hex(c.pk, MC_PK_LEN, oldhex);
	mc_hex(c.next, MC_PK_LEN, newhex);
	snprintf(rel, sizeof(rel), "keys/%s.key", newhex);
	mc_cli_path(cli, newpath, sizeof(newpath), rel);
	if (access(newpath, F_OK) != 0)
		return 0;   /* the new key is on another node: the old one still reads */
	snprintf(rel, sizeof(rel), "keys/retired/%s.key", oldhex);
	mc_cli_path(cli, retpath, sizeof(retpath), rel);
	return mc_key_promote(newpath, path, retpath, err);
}

int mc_cli_load_role_key(struct mc_cli *cli, const char *role, struct mc_key **key,
			 struct mc_err *err)
{
	char rel[64], path[PATH_MAX];

	/* a rotation of the node's key the chain has: node.key becomes the new
	 * key first (nodekey.h) */
	if (strcmp(role, "node") == 0 && cli->store) {
		enum mc_nodekey_state st;

		mc_cli_path(cli, path, sizeof(path), "keys");
		if (mc_nodekey_settle(path, cli->store, &st, err) != 0)
			return -1;
	}

	snprintf(rel, sizeof(rel), "keys/%s.key", role);
	if (cli->store && strcmp(role, "org") == 0) {
		mc_cli_path(cli, path, sizeof(path), rel);
		if (org_finish(cli, path, err) != 0)
			return -1;
	}
	mc_cli_path(cli, path, sizeof(path), rel);
	return mc_cli_load_key_file(cli, path, key, err);
}

static int find_key_path(struct mc_cli *cli, const unsigned char pk[32], char *out, size_t n,
			 struct mc_err *err)
{
	char dir[PATH_MAX], hex[2 * MC_PK_LEN + 1];
	DIR *d;
	struct dirent *de;

	mc_cli_path(cli, dir, sizeof(dir), "keys");
	d = opendir(dir);
	if (!d)
		return mc_err_set(err, EX_NOINPUT, _("cannot open '%s': %s"), dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		uint8_t fpk[MC_PK_LEN];
		bool sealed;
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		if (mc_path_printf(out, n, NULL, "%s/%s", dir, de->d_name) != 0)
			continue;  /* no file of that path can be opened either */
		if (mc_key_peek(out, fpk, &sealed, NULL) == 0 && memcmp(fpk, pk, MC_PK_LEN) == 0) {
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	mc_hex(pk, MC_PK_LEN, hex);
	return mc_err_set(err, EX_NOPERM, _("this node holds no secret key for identity %s"), hex);
}

int mc_cli_load_key_for(struct mc_cli *cli, const unsigned char pk[32], struct mc_key **key,
			struct mc_err *err)
{
	char path[PATH_MAX];

	if (find_key_path(cli, pk, path, sizeof(path), err) != 0)
		return -1;
	return mc_cli_load_key_file(cli, path, key, err);
}

int mc_cli_load_holder_key(struct mc_cli *cli, const unsigned char pk[32], const char *whose,
			   const char *passfile, const char *fileopt, struct mc_key **key,
			   struct mc_err *err)
{
	char path[PATH_MAX], prompt[400], notty[700];
	uint8_t fpk[MC_PK_LEN];
	char *pass = NULL;
	size_t passlen = 0;
	bool sealed;
	int rc;

	if (find_key_path(cli, pk, path, sizeof(path), err) != 0 || mc_key_peek(path, fpk, &sealed, err) != 0)
		return -1;
	if (sealed) {
		snprintf(prompt, sizeof(prompt), _("Passphrase for %s: "), whose);
		snprintf(notty, sizeof(notty),
			 _("%s is sealed under its holder's passphrase and there is no terminal to ask for it: give %s"),
			 whose, fileopt);
		if (get_pass(passfile, false, prompt, NULL, notty, &pass, &passlen, err) != 0)
			return -1;
	}
	rc = mc_key_load(path, pass, passlen, key, err);
	mc_secure_free(pass);
	if (rc != 0 && sealed && err && err->code == EX_NOPERM)
		return mc_err_set(err, EX_NOPERM, _("wrong passphrase for %s, '%s' (the passphrase was read from '%s')"),
				  whose, path, passfile ? passfile : "/dev/tty");
	return rc;
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

int mc_cli_actor_identity(struct mc_cli *cli, struct mc_identity *id, struct mc_err *err)
{
	char path[PATH_MAX], hex[2 * MC_PK_LEN + 1];
	uint8_t pk[MC_PK_LEN];
	bool sealed;

	if (cli->as)
		return mc_cli_find_identity(cli, cli->as, id, err);
	mc_cli_path(cli, path, sizeof(path), "keys/admin.key");
	if (mc_key_peek(path, pk, &sealed, err) != 0)
		return -1;
	mc_hex(pk, MC_PK_LEN, hex);
	return mc_cli_find_identity(cli, hex, id, err);
}

int mc_cli_load_actor(struct mc_cli *cli, struct mc_key **key, struct mc_err *err)
{
	struct mc_identity id;
	char path[PATH_MAX];

	if (!cli->as)
		return mc_cli_load_role_key(cli, "admin", key, err);
	if (mc_cli_find_identity(cli, cli->as, &id, err) != 0)
		return -1;
	if (id.revoked != MC_NOT_REVOKED)
		return mc_err_set(err, EX_NOPERM, _("identity '%s' is revoked"), cli->as);
	if (find_key_path(cli, id.pk, path, sizeof(path), err) != 0)
		return -1;
	if (is_role_key_file(path))
		return mc_cli_load_key_file(cli, path, key, err);
	return load_own_key(cli, path, key, err);
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
	char path[PATH_MAX];
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
	int fd = 0, rc = 0;
	struct mc_buf b;

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
	mc_buf_init(&b);
	while (rc == 0) {
		ssize_t r;

		if (b.len > max)
			rc = mc_err_set(err, EX_DATAERR, _("input is over the limit of %zu bytes"), max);
		else if (!mc_buf_reserve(&b, 65536))
			rc = mc_err_set(err, EX_OSERR, _("out of memory"));
		else if ((r = read(fd, b.data + b.len, b.cap - b.len)) < 0 && errno == EINTR)
			continue;
		else if (r < 0)
			rc = mc_err_set(err, EX_IOERR, _("cannot read '%s': %s"), path ? path : "-", strerror(errno));
		else if (r == 0)
			break;
		else
			b.len += (size_t)r;
	}
	if (fd)
		close(fd);
	if (rc == 0 && b.len > max)
		rc = mc_err_set(err, EX_DATAERR, _("input is over the limit of %zu bytes"), max);
	if (rc != 0) {
		mc_buf_release(&b);
		return -1;
	}
	*out = b.data;
	*n = b.len;
	return 0;
}

/* A target that is not a regular file (a character device, a FIFO, a
 * socket, a terminal): opened without creating or truncating, and written
 * in place. What is opened is checked again: never a regular file (one put
 * there since the check is not written into without the rename). */
static int write_in_place(const char *path, bool follow, const void *p, size_t n, struct mc_err *err)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));

	if (fd < 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot open '%s': %s"), path, strerror(errno));
	/* decided on what was opened, not on what the path named a moment
	 * before: a character device or a FIFO, never a disk */
	if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		return mc_err_set(err, EX_CANTCREAT,
				  _("'%s' is not a file, a character device or a FIFO (or it changed while it was opened): nothing was written"),
				  path);
	}
	if (mc_write_all(fd, path, p, n, err) != 0) {
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), path, strerror(errno));
	return 0;
}

int mc_cli_write_file(const char *path, const void *p, size_t n, struct mc_err *err)
{
	struct stat st;

	if (strcmp(path, "-") == 0) {
		if (fflush(stdout) != 0 || mc_write_all(STDOUT_FILENO, _("standard output"), p, n, err) != 0)
			return err->code ? -1 : mc_err_set(err, EX_IOERR, _("cannot write standard output"));
		return 0;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return mc_err_set(err, EX_CANTCREAT, _("'%s' is a directory"), path);
		if (S_ISLNK(st.st_mode)) {
			/* A link to a character device or a FIFO (/dev/stdout)
			 * is written through, when root or this user owns the
			 * link (not one planted in a shared directory): nothing
			 * is replaced. Anything else is refused: a rename would
			 * replace the link, and writing through it would write
			 * wherever it points. */
			uid_t owner = st.st_uid;

			if ((owner == 0 || owner == geteuid()) && stat(path, &st) == 0 &&
			    (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
				return write_in_place(path, true, p, n, err);
			return mc_err_set(err, EX_CANTCREAT,
					  _("'%s' is a symbolic link: give the path of the file itself (or - for standard output)"),
					  path);
		}
		if (S_ISBLK(st.st_mode))
			return mc_err_set(err, EX_CANTCREAT, _("'%s' is a block device: nothing was written"), path);
		if (!S_ISREG(st.st_mode))
			return write_in_place(path, false, p, n, err);
	} else if (errno != ENOENT) {
		return mc_err_set(err, EX_CANTCREAT, _("cannot write '%s': %s"), path, strerror(errno));
	}
	/* A regular file, or none: written whole beside it, then renamed over
	 * it, so it is never half-written. */
	return mc_file_write_atomic(path, p, n, &(struct mc_file_opts){ .mode = 0600 }, err);
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

bool mc_cli_list_header(const struct mc_cli *cli)
{
	return !cli->json && !cli->quiet && isatty(STDOUT_FILENO);
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

int mc_cli_json_written(const char *key, const char *id, uint32_t version, uint64_t height,
			struct mc_err *err)
{
	cJSON *j = cJSON_CreateObject();

	if (j) {
		cJSON_AddStringToObject(j, key, id);
		if (version)
			cJSON_AddNumberToObject(j, "version", version);
		cJSON_AddNumberToObject(j, "block", (double)height);
	}
	return mc_cli_json_print(j, err);
}

/* ---- options ------------------------------------------------------------ */

/* The options every command's parser takes besides its own table. */
enum { COMMON_JSON, COMMON_QUIET, COMMON_Q, COMMON_HELP, COMMON_H, COMMON_LIST, NCOMMON };
static const struct mc_optinfo common_opts[NCOMMON] = {
	[COMMON_JSON] = { "--json", false },   [COMMON_QUIET] = { "--quiet", false },
	[COMMON_Q] = { "-q", false },          [COMMON_HELP] = { "--help", false },
	[COMMON_H] = { "-h", false },          [COMMON_LIST] = { "--list-options", false },
};

static struct mc_optprobe *probe;

void mc_cli_probe(struct mc_optprobe *p)
{
	probe = p;
}

bool mc_cli_probing(void)
{
	return probe != NULL;
}

/* nonzero: the parse ends, returning it */
typedef int (*opt_fn)(void *ctx, size_t k, char *value);
typedef int (*pos_fn)(void *ctx, char *arg);

static bool is_long(const char *name)
{
	return name[0] == '-' && name[1] == '-' && name[2] != '\0';
}

static bool is_short(const char *name)
{
	return name[0] == '-' && name[1] != '-' && name[1] != '\0' && name[2] == '\0';
}

/* Why getopt_long refused the option before optind: reported as usage. */
static void report_bad(char **v, int c, const struct mc_optinfo *all, size_t n, bool global)
{
	const char *arg = v[optind - 1];
	char shortname[3] = { '-', (char)optopt, '\0' };

	if (c == ':') {
		mc_cli_usage(_("option '%s' needs a value"), arg);
	} else if (optopt >= 256 && (size_t)(optopt - 256) < n) {
		mc_cli_usage(_("option '%s' takes no value"), all[optopt - 256].name);
	} else if (optopt > 0 && optopt < 256) {
		if (global)
			mc_cli_usage(_("unknown option '%s' (see 'medchain --help')"), shortname);
		else
			mc_cli_usage(_("unknown option '%s'"), shortname);
	} else {
		size_t len = strcspn(arg, "="), matches = 0;

		for (size_t k = 0; k < n; k++)
			if (is_long(all[k].name) && strlen(all[k].name) > len &&
			    strncmp(all[k].name, arg, len) == 0)
				matches++;
		if (len > 2 && matches > 1)
			mc_cli_usage(_("ambiguous option '%s'"), arg);
		else if (global)
			mc_cli_usage(_("unknown option '%s' (see 'medchain --help')"), arg);
		else
			mc_cli_usage(_("unknown option '%s'"), arg);
	}
}

/* getopt_long takes any unambiguous prefix of a long option ("--sub" for
 * "--subject"). We don't: a script that relies on one breaks, or changes
 * meaning, the day an option with the same prefix is added. After
 * getopt_long returned the long option name (without "--"), whether it was
 * typed in full: v[optind - 1] holds it, or, with its value in the next
 * argument, v[optind - 2]. */
const char *mc_cli_abbreviated(char **v, int ind, const char *name, const char *arg)
{
	const char *t = v[ind - 1];
	size_t len = strlen(name);

	if (arg && arg == t && ind >= 2)
		t = v[ind - 2];
	if (strncmp(t, "--", 2) == 0 && strncmp(t + 2, name, len) == 0 &&
	    (t[2 + len] == '\0' || t[2 + len] == '='))
		return NULL;
	return t;
}

/* getopt_long over a's arguments (which have no argv[0]) with the options
 * all[0..n): on_opt for each option, on_pos for each positional argument in
 * the order given. report: usage errors are reported and end the parse;
 * otherwise unknown options are skipped. "-" in front of the short options
 * returns positionals in place, so that neither permutation nor
 * POSIXLY_CORRECT changes their order; ':' lets us tell a missing value.
 * end (the global options, before the command): "+" instead, the parse
 * stops at the first argument that is no option, *end counts the
 * arguments before it, and on_pos is not called. */
/* getopt_long's tables for all[0..n): the long options (val 256 + k) and
 * the short ones after "-:" (stop: "+:"). */
static void getopt_tables(const struct mc_optinfo *all, size_t n, bool stop, struct option *lo, char *shorts)
{
	size_t nl = 0, ns = 2;

	shorts[0] = stop ? '+' : '-';
	shorts[1] = ':';
	for (size_t k = 0; k < n; k++) {
		if (is_long(all[k].name)) {
			lo[nl].name = all[k].name + 2;
			lo[nl].has_arg = all[k].has_arg ? required_argument : no_argument;
			lo[nl].flag = NULL;
			lo[nl].val = 256 + (int)k;
			nl++;
		} else if (is_short(all[k].name)) {
			shorts[ns++] = all[k].name[1];
			if (all[k].has_arg)
				shorts[ns++] = ':';
		}
	}
	memset(&lo[nl], 0, sizeof(lo[nl]));
	shorts[ns] = '\0';
}

/* What getopt_long's c (an option, not a positional argument) is: its
 * index in all, n to skip it (an error when not reporting), or -1 for a
 * usage error, reported. */
static long opt_index(int c, char **v, const struct mc_optinfo *all, size_t n, bool report, bool global)
{
	size_t k = n;

	if (c == '?' || c == ':') {
		if (!report)
			return (long)n;
		report_bad(v, c, all, n, global);
		return -1;
	}
	if (c >= 256) {
		const char *typed;

		k = (size_t)(c - 256);
		typed = mc_cli_abbreviated(v, optind, all[k].name + 2, optarg);
		if (typed) {
			if (!report)
				return (long)n;
			mc_cli_usage(_("unknown option '%s' (options are not abbreviated: %s)"), typed, all[k].name);
			return -1;
		}
		return (long)k;
	}
	for (size_t j = 0; j < n && k == n; j++)
		if (is_short(all[j].name) && all[j].name[1] == c)
			k = j;
	return (long)k;
}

static int run_getopt(const struct mc_args *a, const struct mc_optinfo *all, size_t n, bool report,
		      opt_fn on_opt, pos_fn on_pos, void *ctx, int *end)
{
	static char prog[] = "medchain";
	struct option lo[MC_OPTS_MAX + NCOMMON + 1];
	char shorts[2 * (MC_OPTS_MAX + NCOMMON) + 3];
	char **v;
	int c, rc = 0, argc = a->argc + 1;

	if (n > MC_OPTS_MAX + NCOMMON)
		return report ? mc_cli_usage(_("too many options in a command's table")), -1 : -1;
	getopt_tables(all, n, end != NULL, lo, shorts);
	v = calloc((size_t)argc + 1, sizeof(*v));
	if (!v)
		return report ? mc_cli_usage(_("out of memory")), -1 : -1;
	v[0] = prog;
	for (int i = 0; i < a->argc; i++)
		v[i + 1] = a->argv[i];
	/* 0, not 1: glibc starts over (a second parse of other arguments) */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, v, shorts, lo, NULL)) != -1) {
		long k;

		if (c == 1) {
			if (on_pos(ctx, optarg) != 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if ((k = opt_index(c, v, all, n, report, end != NULL)) < 0) {
			rc = -1;
			break;
		}
		if ((size_t)k < n && (rc = on_opt(ctx, (size_t)k, optarg)) != 0)
			break;
	}
	if (end)
		*end = optind - 1;
	for (int i = optind; !end && rc == 0 && i < argc; i++)
		if (on_pos(ctx, v[i]) != 0)
			rc = -1;
	free(v);
	return rc;
}

/* A command's table followed by the common options. */
static size_t join_opts(struct mc_optinfo *all, const struct mc_optinfo *own, size_t n)
{
	if (all != own)
		memcpy(all, own, n * sizeof(*own));
	memcpy(all + n, common_opts, sizeof(common_opts));
	return n + NCOMMON;
}

struct parse_ctx {
	const struct mc_opt *opts;
	size_t nopts;
	char **pos;
	int maxpos, *npos;
};

static int parse_opt(void *vctx, size_t k, char *value)
{
	struct parse_ctx *p = vctx;

	if (k >= p->nopts)
		return 0; /* a common option: main() has acted on it */
	if (p->opts[k].has_arg)
		*p->opts[k].value = value;
	else
		*p->opts[k].flag = true;
	return 0;
}

static int parse_pos(void *vctx, char *arg)
{
	struct parse_ctx *p = vctx;

	if (*p->npos >= p->maxpos)
		return mc_cli_usage(_("unexpected argument '%s'"), arg), -1;
	p->pos[(*p->npos)++] = arg;
	return 0;
}

int mc_cli_parse(struct mc_args *a, const struct mc_opt *opts, size_t nopts,
		 char **pos, int maxpos, int *npos)
{
	struct mc_optinfo all[MC_OPTS_MAX + NCOMMON];
	struct parse_ctx p = { opts, nopts, pos, maxpos, npos };

	*npos = 0;
	if (probe) {
		if (!probe->reached) {
			probe->reached = true;
			for (size_t k = 0; k < nopts && k < MC_OPTS_MAX; k++) {
				probe->opts[k].name = opts[k].name;
				probe->opts[k].has_arg = opts[k].has_arg;
			}
			probe->n = nopts < MC_OPTS_MAX ? nopts : MC_OPTS_MAX;
		}
		return -1;
	}
	if (nopts > MC_OPTS_MAX)
		return mc_cli_usage(_("too many options in a command's table")), -1;
	for (size_t k = 0; k < nopts; k++) {
		all[k].name = opts[k].name;
		all[k].has_arg = opts[k].has_arg;
	}
	return run_getopt(a, all, join_opts(all, all, nopts), true, parse_opt, parse_pos, &p, NULL);
}

int mc_cli_parse_global(const struct mc_args *a, const struct mc_optinfo *all, size_t n,
			int (*on_opt)(void *ctx, size_t k, char *value), void *ctx, int *end)
{
	return run_getopt(a, all, n, true, on_opt, NULL, ctx, end);
}

struct common_ctx {
	size_t own;            /* the command's own options come first */
	struct mc_common *c;
};

static int common_opt(void *vctx, size_t k, char *value)
{
	struct common_ctx *x = vctx;

	(void)value;
	if (k < x->own)
		return 0;
	switch (k - x->own) {
	case COMMON_JSON: x->c->json = true; break;
	case COMMON_QUIET: case COMMON_Q: x->c->quiet = true; break;
	case COMMON_HELP: case COMMON_H: x->c->help = true; break;
	case COMMON_LIST: x->c->list_options = true; break;
	default: break;
	}
	return 0;
}

static int common_pos(void *vctx, char *arg)
{
	(void)vctx;
	(void)arg;
	return 0;
}

void mc_cli_common(const struct mc_args *a, const struct mc_optprobe *p, struct mc_common *c)
{
	struct mc_optinfo all[MC_OPTS_MAX + NCOMMON];
	struct common_ctx x = { p->n, c };

	memset(c, 0, sizeof(*c));
	run_getopt(a, all, join_opts(all, p->opts, p->n), false, common_opt, common_pos, &x, NULL);
}

void mc_cli_print_options(FILE *f, const struct mc_optprobe *p)
{
	for (size_t k = 0; k < p->n; k++)
		fprintf(f, "%s\n", p->opts[k].name);
	for (size_t k = 0; k < NCOMMON; k++)
		if (k != COMMON_LIST)
			fprintf(f, "%s\n", common_opts[k].name);
}
