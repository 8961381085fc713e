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
 * minutes. */
static int verify_db(const char *db, const char *what, struct mc_verify_report *rep, struct mc_err *err)
{
	const char *tmp = getenv("TMPDIR");
	int rc = mc_verify_isolated(db, tmp && *tmp ? tmp : "/tmp", progress, (void *)what, rep, err);

	mc_cli_progress_end();
	return rc;
}

int cmd_backup(struct mc_cli *cli, struct mc_args *a)
{
	bool with_keys = false;
	struct mc_opt opts[] = { { "--with-keys", false, NULL, &with_keys } };
	char *pos[1], tmpl[PATH_MAX], path[PATH_MAX], keys[PATH_MAX], parent[PATH_MAX], manifest[1024], hash[65], cid[65];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_head head;
	struct mc_verify_report rep;
	struct stat st;
	unsigned nkeys = 0;
	bool made = false;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("backup needs the directory to write"));
	if (strlen(pos[0]) > 4000)
		return mc_cli_usage(_("the backup path is too long"));
	if (lstat(pos[0], &st) == 0) {
		mc_err_set(&err, EX_CANTCREAT, _("'%s' exists: a backup goes to a new directory"), pos[0]);
		return mc_cli_fail(&err);
	}
	snprintf(parent, sizeof(parent), "%s", pos[0]);
	snprintf(tmpl, sizeof(tmpl), "%s/.medchain-backup-XXXXXX", dirname(parent));
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0 || mc_store_read(cli->store, head_txn, &head, &err) != 0)
		return mc_cli_fail(&err);
	if (!mkdtemp(tmpl)) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create a directory next to '%s': %s"), pos[0], strerror(errno));
		return mc_cli_fail(&err);
	}
	made = true;
	if (mc_path_printf(path, sizeof(path), &err, "%s/db", tmpl) != 0)
		goto out;
	if (mkdir(path, 0700) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create '%s': %s"), path, strerror(errno));
		goto out;
	}
	/* The copy is one read transaction: its head may be newer than the one
	 * read above; the manifest names the copy's own. */
	if (mc_store_copy(cli->store, path, &err) != 0)
		goto out;
	if (mc_path_printf(path, sizeof(path), &err, "%s/db/data.mdb", tmpl) != 0)
		goto out;
	if (chmod(path, 0600) != 0 || fsync_path(path, &err) != 0) {
		if (!err.code)
			mc_err_set(&err, EX_IOERR, _("cannot restrict '%s' to its owner: %s"), path, strerror(errno));
		goto out;
	}
	if (mc_path_printf(path, sizeof(path), &err, "%s/db", tmpl) != 0)
		goto out;
	if (verify_db(path, _("verifying the copy"), &rep, &err) != 0) {
		char msg[sizeof(err.msg)];

		snprintf(msg, sizeof(msg), "%s", err.msg);
		mc_err_set(&err, err.code, _("the copy fails verification, no backup written: %s"), msg);
		goto out;
	}
	if (with_keys) {
		mc_cli_path(cli, keys, sizeof(keys), "keys");
		if (mc_path_printf(path, sizeof(path), &err, "%s/keys", tmpl) != 0)
			goto out;
		if (copy_keys(keys, path, &nkeys, &err) != 0)
			goto out;
	}
	{
		struct mc_store *s;

		if (mc_path_printf(path, sizeof(path), &err, "%s/db", tmpl) != 0)
			goto out;
		if (mc_store_open(path, MC_STORE_RDONLY, &s, &err) != 0)
			goto out;
		rc = mc_store_read(s, head_txn, &head, &err);
		mc_store_close(s);
		if (rc != 0)
			goto out;
		rc = -1;
	}
	mc_hex(head.hash, MC_HASH_LEN, hash);
	mc_hex(head.chain_id, MC_HASH_LEN, cid);
	{
		cJSON *j = cJSON_CreateObject();
		char *text = NULL;

		if (j) {
			cJSON_AddStringToObject(j, "format", "medchain-backup-1");
			cJSON_AddStringToObject(j, "chain_id", cid);
			cJSON_AddNumberToObject(j, "height", (double)head.height);
			cJSON_AddStringToObject(j, "head", hash);
			cJSON_AddNumberToObject(j, "blocks", (double)rep.blocks);
			cJSON_AddNumberToObject(j, "record_versions", (double)rep.records);
			cJSON_AddNumberToObject(j, "created_ms", (double)mc_now_ms());
			cJSON_AddBoolToObject(j, "keys", with_keys);
			text = cJSON_PrintUnformatted(j);
			cJSON_Delete(j);
		}
		if (!text || strlen(text) + 2 > sizeof(manifest)) {
			free(text);
			mc_err_set(&err, EX_OSERR, _("out of memory"));
			goto out;
		}
		snprintf(manifest, sizeof(manifest), "%s\n", text);
		free(text);
	}
	if (mc_path_printf(path, sizeof(path), &err, "%s/backup.json", tmpl) != 0)
		goto out;
	/* written, fsynced, and tmpl (its directory) fsynced too */
	if (mc_cli_write_file(path, manifest, strlen(manifest), &err) != 0)
		goto out;
	if (rename(tmpl, pos[0]) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot move the backup into place at '%s': %s"), pos[0], strerror(errno));
		goto out;
	}
	made = false;
	snprintf(parent, sizeof(parent), "%s", pos[0]);
	if (fsync_path(dirname(parent), &err) != 0)
		goto out;
	if (cli->json)
		printf("%s", manifest);
	else if (!cli->quiet)
		printf(_("backup of height %llu (%llu blocks, %llu record versions%s) written to %s and verified\n"),
		       (unsigned long long)head.height, (unsigned long long)rep.blocks, (unsigned long long)rep.records,
		       with_keys ? _(", with the key files") : "", pos[0]);
	rc = 0;
out:
	if (made)
		rm_tree(tmpl);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_restore(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1], src[PATH_MAX], db[PATH_MAX], tmp[PATH_MAX], keys[PATH_MAX], bkeys[PATH_MAX];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_verify_report rep;
	struct stat st;
	unsigned nkeys = 0;
	bool made = false;

	if (mc_cli_parse(a, NULL, 0, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("restore needs a backup directory"));
	if (strlen(pos[0]) > 4000)
		return mc_cli_usage(_("the backup path is too long"));
	snprintf(src, sizeof(src), "%s/db/data.mdb", pos[0]);
	if (stat(src, &st) != 0) {
		mc_err_set(&err, EX_NOINPUT, _("'%s' is not a medchain backup (no db/data.mdb)"), pos[0]);
		return mc_cli_fail(&err);
	}
	mc_cli_path(cli, db, sizeof(db), "db");
	if (stat(db, &st) == 0) {
		mc_err_set(&err, EX_CANTCREAT,
			   _("'%s' already holds a chain: restore into a new data dir (move the old one aside first)"),
			   cli->datadir);
		return mc_cli_fail(&err);
	}
	/* the backup itself first: never restore a damaged copy */
	snprintf(tmp, sizeof(tmp), "%s/db", pos[0]);
	if (verify_db(tmp, _("verifying the backup"), &rep, &err) != 0) {
		char msg[sizeof(err.msg)];

		snprintf(msg, sizeof(msg), "%s", err.msg);
		mc_err_set(&err, err.code, _("the backup fails verification, nothing restored: %s"), msg);
		return mc_cli_fail(&err);
	}
	if (mkdir(cli->datadir, 0700) != 0 && errno != EEXIST) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create '%s': %s"), cli->datadir, strerror(errno));
		return mc_cli_fail(&err);
	}
	/* the key files first: a crash before the store is in place leaves no
	 * chain, and the next restore goes on */
	snprintf(bkeys, sizeof(bkeys), "%s/keys", pos[0]);
	mc_cli_path(cli, keys, sizeof(keys), "keys");
	if (stat(bkeys, &st) == 0 && stat(keys, &st) != 0 && copy_keys(bkeys, keys, &nkeys, &err) != 0)
		return mc_cli_fail(&err);
	if (mc_path_printf(tmp, sizeof(tmp), &err, "%s.restoring", db) != 0)
		return mc_cli_fail(&err);
	rm_tree(tmp);   /* what an interrupted restore left: never a store in use */
	if (mkdir(tmp, 0700) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create '%s': %s"), tmp, strerror(errno));
		return mc_cli_fail(&err);
	}
	made = true;
	{
		char dst[PATH_MAX];

		if (mc_path_printf(dst, sizeof(dst), &err, "%s/data.mdb", tmp) != 0)
			goto out;
		if (copy_file(src, dst, 0600, &err) != 0 || fsync_path(tmp, &err) != 0)
			goto out;
	}
	if (rename(tmp, db) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot move the restored store into place: %s"), strerror(errno));
		goto out;
	}
	made = false;
	if (fsync_path(cli->datadir, &err) != 0)
		goto out;
	if (verify_db(db, _("verifying the restored store"), &rep, &err) != 0)
		goto out;
	if (!cli->quiet)
		printf(_("restored %llu blocks (%llu record versions) into %s%s; it verifies\n"),
		       (unsigned long long)rep.blocks, (unsigned long long)rep.records, cli->datadir,
		       nkeys ? _(", with the key files") : stat(keys, &st) == 0 ? "" : _(" (copy keys/ back before using it)"));
	rc = 0;
out:
	if (made)
		rm_tree(tmp);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
