/* SPDX-License-Identifier: Apache-2.0 */
/* medchain backup DIR [--with-keys] | restore BACKUP
 *
 * A backup is a directory: db/data.mdb (a consistent, compacted copy made
 * with mdb_env_copy2 while the node runs), backup.json (what it holds), and
 * with --with-keys the key files (sealed ones stay sealed). It is written
 * under a temporary name, fsynced, verified in full, and only then renamed
 * into place: a DIR that exists is a complete, verified backup. */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "fileio.h"
#include "i18n.h"
#include "verify.h"

static int fsync_path(const char *path, struct mc_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = fd >= 0 ? fsync(fd) : -1;

	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return mc_err_set(err, EX_IOERR, _("cannot sync '%s': %s"), path, strerror(errno));
	return 0;
}

/* Copies src to dst (which must not exist) with mode, fsynced. */
static int copy_file(const char *src, const char *dst, mode_t mode, struct mc_err *err)
{
	char buf[1 << 16];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t r;

	if (in < 0)
		return mc_err_set(err, EX_NOINPUT, _("cannot read '%s': %s"), src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (out < 0) {
		close(in);
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), dst, strerror(errno));
	}
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));

			if (w < 0) {
				int e = errno;

				close(in);
				close(out);
				return mc_err_set(err, EX_IOERR, e == ENOSPC ? _("cannot write '%s': the disk is full (%s)")
									     : _("cannot write '%s': %s"), dst, strerror(e));
			}
			off += w;
		}
	}
	if (r < 0 || fsync(out) != 0) {
		int e = errno;

		close(in);
		close(out);
		return mc_err_set(err, EX_IOERR, _("cannot copy '%s': %s"), src, strerror(e));
	}
	close(in);
	if (close(out) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot write '%s': %s"), dst, strerror(errno));
	return 0;
}

/* The key files of src (keys/ of a data dir) into dst, mode 0600. */
static int copy_keys(const char *src, const char *dst, unsigned *n, struct mc_err *err)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int rc = 0;

	*n = 0;
	if (!d)
		return mc_err_set(err, EX_NOINPUT, _("cannot read '%s': %s"), src, strerror(errno));
	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		closedir(d);
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), dst, strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char a[PATH_MAX], b[PATH_MAX];
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".key") != 0)
			continue;
		if (mc_path_printf(a, sizeof(a), err, "%s/%s", src, de->d_name) != 0 ||
		    mc_path_printf(b, sizeof(b), err, "%s/%s", dst, de->d_name) != 0) {
			rc = -1;
			break;
		}
		rc = copy_file(a, b, 0600, err);
		(*n)++;
	}
	closedir(d);
	return rc != 0 ? -1 : fsync_path(dst, err);
}

static int rm_entry(const char *p, const struct stat *sb, int f, struct FTW *w)
{
	(void)sb;
	(void)f;
	(void)w;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_head *h = vctx;

	if (mc_chain_head(t, h, err) != 0)
		return -1;
	return h->empty ? mc_err_set(err, EX_DATAERR, _("the chain has no genesis block")) : 0;
}

static void progress(uint64_t done, uint64_t total, void *ctx)
{
	if (done == total || done % 256 == 0)
		mc_cli_progress(ctx, done, total);
}

/* The full verify, with a progress bar on a terminal: a large chain takes
 * minutes. A damaged store is refused with what it means: no backup
 * written (backup), or nothing restored (restore). */
static int verify_db(const char *db, const char *what, struct mc_verify_report *rep, struct mc_err *err)
{
	const char *tmp = getenv("TMPDIR");
	int rc = mc_verify_isolated(db, tmp && *tmp ? tmp : "/tmp", progress, (void *)what, rep, err);

	mc_cli_progress_end();
	return rc;
}

static int verify_or_refuse(const char *db, bool backup, struct mc_verify_report *rep, struct mc_err *err)
{
	char msg[sizeof(err->msg)];

	if (verify_db(db, backup ? _("verifying the copy") : _("verifying the backup"), rep, err) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (backup)
		return mc_err_set(err, err->code, _("the copy fails verification, no backup written: %s"), msg);
	return mc_err_set(err, err->code, _("the backup fails verification, nothing restored: %s"), msg);
}

/* The one argument of backup and restore, a directory: 0, or the exit
 * code of a usage error (missing: the message when it is not given). */
static int parse_dir(struct mc_args *a, const struct mc_opt *opts, size_t nopts, const char *missing,
		     const char **dir)
{
	char *pos[1];
	int npos;

	if (mc_cli_parse(a, opts, nopts, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage("%s", missing);
	if (strlen(pos[0]) > 4000)
		return mc_cli_usage(_("the backup path is too long"));
	*dir = pos[0];
	return 0;
}

/* The store copied into tmpl/db, restricted to its owner, fsynced and
 * verified in full. */
static int backup_copy(struct mc_cli *cli, const char *tmpl, struct mc_verify_report *rep, struct mc_err *err)
{
	char path[PATH_MAX];

	if (mc_path_printf(path, sizeof(path), err, "%s/db", tmpl) != 0)
		return -1;
	if (mkdir(path, 0700) != 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), path, strerror(errno));
	/* The copy is one read transaction: its head may be newer than the one
	 * read before; the manifest names the copy's own. */
	if (mc_store_copy(cli->store, path, err) != 0 ||
	    mc_path_printf(path, sizeof(path), err, "%s/db/data.mdb", tmpl) != 0)
		return -1;
	if (chmod(path, 0600) != 0 || fsync_path(path, err) != 0) {
		if (!err->code)
			mc_err_set(err, EX_IOERR, _("cannot restrict '%s' to its owner: %s"), path, strerror(errno));
		return -1;
	}
	if (mc_path_printf(path, sizeof(path), err, "%s/db", tmpl) != 0)
		return -1;
	return verify_or_refuse(path, true, rep, err);
}

/* backup.json: what the copy in tmpl holds, its own head read back. */
static int backup_manifest(const char *tmpl, bool with_keys, const struct mc_verify_report *rep,
			   struct mc_head *head, char *manifest, size_t size, struct mc_err *err)
{
	char path[PATH_MAX], hash[65], cid[65], *text = NULL;
	struct mc_store *s;
	cJSON *j;
	int rc;

	if (mc_path_printf(path, sizeof(path), err, "%s/db", tmpl) != 0 ||
	    mc_store_open(path, MC_STORE_RDONLY, &s, err) != 0)
		return -1;
	rc = mc_store_read(s, head_txn, head, err);
	mc_store_close(s);
	if (rc != 0)
		return -1;
	mc_hex(head->hash, MC_HASH_LEN, hash);
	mc_hex(head->chain_id, MC_HASH_LEN, cid);
	if ((j = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(j, "format", "medchain-backup-1");
		cJSON_AddStringToObject(j, "chain_id", cid);
		cJSON_AddNumberToObject(j, "height", (double)head->height);
		cJSON_AddStringToObject(j, "head", hash);
		cJSON_AddNumberToObject(j, "blocks", (double)rep->blocks);
		cJSON_AddNumberToObject(j, "record_versions", (double)rep->records);
		cJSON_AddNumberToObject(j, "created_ms", (double)mc_now_ms());
		cJSON_AddBoolToObject(j, "keys", with_keys);
		text = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
	}
	if (!text || strlen(text) + 2 > size) {
		free(text);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	snprintf(manifest, size, "%s\n", text);
	free(text);
	return 0;
}

/* Everything of the backup in tmpl: the copy, the key files, backup.json;
 * then tmpl renamed to dir. */
static int backup_write(struct mc_cli *cli, const char *tmpl, const char *dir, bool with_keys,
			struct mc_verify_report *rep, struct mc_head *head, char *manifest, size_t size,
			struct mc_err *err)
{
	char path[PATH_MAX], keys[PATH_MAX];
	unsigned nkeys = 0;

	if (backup_copy(cli, tmpl, rep, err) != 0)
		return -1;
	if (with_keys) {
		mc_cli_path(cli, keys, sizeof(keys), "keys");
		if (mc_path_printf(path, sizeof(path), err, "%s/keys", tmpl) != 0 ||
		    copy_keys(keys, path, &nkeys, err) != 0)
			return -1;
	}
	if (backup_manifest(tmpl, with_keys, rep, head, manifest, size, err) != 0 ||
	    mc_path_printf(path, sizeof(path), err, "%s/backup.json", tmpl) != 0)
		return -1;
	/* written, fsynced, and tmpl (its directory) fsynced too */
	if (mc_cli_write_file(path, manifest, strlen(manifest), err) != 0)
		return -1;
	if (rename(tmpl, dir) != 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot move the backup into place at '%s': %s"), dir,
				  strerror(errno));
	return 0;
}

int cmd_backup(struct mc_cli *cli, struct mc_args *a)
{
	bool with_keys = false;
	struct mc_opt opts[] = { { "--with-keys", false, NULL, &with_keys } };
	const char *dir = NULL;
	char tmpl[PATH_MAX], parent[PATH_MAX], manifest[1024];
	int rc;
	struct mc_err err = { 0 };
	struct mc_head head;
	struct mc_verify_report rep;
	struct stat st;

	if ((rc = parse_dir(a, opts, 1, _("backup needs the directory to write"), &dir)) != 0)
		return rc;
	if (lstat(dir, &st) == 0) {
		mc_err_set(&err, EX_CANTCREAT, _("'%s' exists: a backup goes to a new directory"), dir);
		return mc_cli_fail(&err);
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	snprintf(tmpl, sizeof(tmpl), "%s/.medchain-backup-XXXXXX", dirname(parent));
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || mc_store_read(cli->store, head_txn, &head, &err) != 0)
		return mc_cli_fail(&err);
	if (!mkdtemp(tmpl)) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create a directory next to '%s': %s"), dir, strerror(errno));
		return mc_cli_fail(&err);
	}
	if (backup_write(cli, tmpl, dir, with_keys, &rep, &head, manifest, sizeof(manifest), &err) != 0) {
		rm_tree(tmpl);
		return mc_cli_fail(&err);
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	if (fsync_path(dirname(parent), &err) != 0)
		return mc_cli_fail(&err);
	if (cli->json)
		printf("%s", manifest);
	else if (!cli->quiet)
		printf(_("backup of height %llu (%llu blocks, %llu record versions%s) written to %s and verified\n"),
		       (unsigned long long)head.height, (unsigned long long)rep.blocks, (unsigned long long)rep.records,
		       with_keys ? _(", with the key files") : "", dir);
	return 0;
}

/* The restore's checks: a backup, a data dir without a chain, the backup
 * verified; then the data dir made. src: the backup's data.mdb. */
static int restore_check(struct mc_cli *cli, const char *dir, char *src, size_t size, struct mc_verify_report *rep,
			 struct mc_err *err)
{
	char db[PATH_MAX], tmp[PATH_MAX];
	struct stat st;

	snprintf(src, size, "%s/db/data.mdb", dir);
	if (stat(src, &st) != 0)
		return mc_err_set(err, EX_NOINPUT, _("'%s' is not a medchain backup (no db/data.mdb)"), dir);
	mc_cli_path(cli, db, sizeof(db), "db");
	if (stat(db, &st) == 0)
		return mc_err_set(err, EX_CANTCREAT,
				  _("'%s' already holds a chain: restore into a new data dir (move the old one aside first)"),
				  cli->datadir);
	/* the backup itself first: never restore a damaged copy */
	snprintf(tmp, sizeof(tmp), "%s/db", dir);
	if (verify_or_refuse(tmp, false, rep, err) != 0)
		return -1;
	if (mkdir(cli->datadir, 0700) != 0 && errno != EEXIST)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), cli->datadir, strerror(errno));
	return 0;
}

/* The store copied in as db.restoring/, fsynced, renamed to db/. */
static int restore_store(const char *src, const char *db, struct mc_err *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];

	if (mc_path_printf(tmp, sizeof(tmp), err, "%s.restoring", db) != 0)
		return -1;
	rm_tree(tmp);   /* what an interrupted restore left: never a store in use */
	if (mkdir(tmp, 0700) != 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), tmp, strerror(errno));
	if (mc_path_printf(dst, sizeof(dst), err, "%s/data.mdb", tmp) != 0 || copy_file(src, dst, 0600, err) != 0 ||
	    fsync_path(tmp, err) != 0) {
		rm_tree(tmp);
		return -1;
	}
	if (rename(tmp, db) != 0) {
		mc_err_set(err, EX_CANTCREAT, _("cannot move the restored store into place: %s"), strerror(errno));
		rm_tree(tmp);
		return -1;
	}
	return 0;
}

int cmd_restore(struct mc_cli *cli, struct mc_args *a)
{
	const char *dir = NULL;
	char src[PATH_MAX], db[PATH_MAX], keys[PATH_MAX], bkeys[PATH_MAX];
	int rc;
	struct mc_err err = { 0 };
	struct mc_verify_report rep;
	struct stat st;
	unsigned nkeys = 0;

	if ((rc = parse_dir(a, NULL, 0, _("restore needs a backup directory"), &dir)) != 0)
		return rc;
	if (restore_check(cli, dir, src, sizeof(src), &rep, &err) != 0)
		return mc_cli_fail(&err);
	/* the key files first: a crash before the store is in place leaves no
	 * chain, and the next restore goes on */
	snprintf(bkeys, sizeof(bkeys), "%s/keys", dir);
	mc_cli_path(cli, keys, sizeof(keys), "keys");
	mc_cli_path(cli, db, sizeof(db), "db");
	if ((stat(bkeys, &st) == 0 && stat(keys, &st) != 0 && copy_keys(bkeys, keys, &nkeys, &err) != 0) ||
	    restore_store(src, db, &err) != 0 || fsync_path(cli->datadir, &err) != 0 ||
	    verify_db(db, _("verifying the restored store"), &rep, &err) != 0)
		return mc_cli_fail(&err);
	if (!cli->quiet)
		printf(_("restored %llu blocks (%llu record versions) into %s%s; it verifies\n"),
		       (unsigned long long)rep.blocks, (unsigned long long)rep.records, cli->datadir,
		       nkeys ? _(", with the key files") : stat(keys, &st) == 0 ? "" : _(" (copy keys/ back before using it)"));
	return 0;
}
