/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "i18n.h"
#include "keystore.h"
#include "nodekey.h"
#include "valset.h"

void mc_nodekey_test_crash(const char *point)
{
#ifdef MC_TEST_HOOKS /* a test build only */
	const char *tc = getenv("MEDCHAIN_TEST_CRASH");

	if (tc && strcmp(tc, point) == 0)
		raise(SIGKILL);
#else
	(void)point;
#endif
}

void mc_nodekey_next_path(const char *keysdir, char *out, size_t n)
{
	snprintf(out, n, "%s/node.next.key", keysdir);
}

struct known_ctx {
	const uint8_t *pk;
	bool known;
};

static int known_visit(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url, void *ctx)
{
	struct known_ctx *c = ctx;

	(void)added;
	(void)removed;
	(void)url;
	if (memcmp(pk, c->pk, MC_PK_LEN) == 0) {
		c->known = true;
		return 1;
	}
	return 0;
}

static int known_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct mc_head head;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return 0;
	return mc_nodes_each(t, known_visit, vctx, err) < 0 ? -1 : 0;
}

static int sync_dir(int dfd, const char *keysdir, struct mc_err *err)
{
	if (fsync(dfd) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot sync the directory '%s': %s"), keysdir, strerror(errno));
	return 0;
}

static int do_switch(int dfd, const char *keysdir, const uint8_t cur[MC_PK_LEN], struct mc_err *err)
{
	char cur_path[PATH_MAX], next_path[PATH_MAX], retired[PATH_MAX], hex[17];
	struct stat a, b;

	mc_hex(cur, 8, hex);
	snprintf(cur_path, sizeof(cur_path), "%s/node.key", keysdir);
	mc_nodekey_next_path(keysdir, next_path, sizeof(next_path));
	snprintf(retired, sizeof(retired), "%s/node.retired-%s.key", keysdir, hex);
	/* 1: the old key keeps a name of its own */
	if (link(cur_path, retired) != 0) {
		if (errno != EEXIST)
			return mc_err_set(err, EX_IOERR, _("cannot keep the retired node key as '%s': %s"), retired,
					  strerror(errno));
		/* a switch that stopped after this step: the same file */
		if (stat(cur_path, &a) != 0 || stat(retired, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			return mc_err_set(err, EX_CANTCREAT,
					  _("'%s' exists and is not this node's key: move it away, then start again"),
					  retired);
	}
	if (sync_dir(dfd, keysdir, err) != 0)
		return -1;
	mc_nodekey_test_crash("rotate-after-link");
	/* 2: the new key is the node's key */
	if (rename(next_path, cur_path) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot move '%s' to '%s': %s"), next_path, cur_path,
				  strerror(errno));
	return sync_dir(dfd, keysdir, err);
}

int mc_nodekey_settle(const char *keysdir, struct mc_store *s, enum mc_nodekey_state *state,
		      struct mc_err *err)
{
	char cur_path[PATH_MAX], next_path[PATH_MAX];
	uint8_t cur[MC_PK_LEN], next[MC_PK_LEN];
	bool sealed;
	struct known_ctx kc = { next, false };
	int dfd, rc = -1;

	*state = MC_NODEKEY_CURRENT;
	snprintf(cur_path, sizeof(cur_path), "%s/node.key", keysdir);
	mc_nodekey_next_path(keysdir, next_path, sizeof(next_path));
	if (access(next_path, F_OK) != 0)
		return 0;   /* the usual case: no rotation */
	dfd = open(keysdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return mc_err_set(err, EX_NOINPUT, _("cannot open '%s': %s"), keysdir, strerror(errno));
	if (flock(dfd, LOCK_EX) != 0) {
		mc_err_set(err, EX_IOERR, _("cannot lock '%s': %s"), keysdir, strerror(errno));
		goto out;
	}
	if (access(next_path, F_OK) != 0) {   /* another process switched meanwhile */
		rc = 0;
		goto out;
	}
	if (mc_key_peek(next_path, next, &sealed, err) != 0 || mc_key_peek(cur_path, cur, &sealed, err) != 0)
		goto out;
	if (memcmp(cur, next, MC_PK_LEN) == 0) {
		/* a copy of the current key: nothing to switch to */
		if (unlink(next_path) != 0) {
			mc_err_set(err, EX_IOERR, _("cannot remove '%s': %s"), next_path, strerror(errno));
			goto out;
		}
		rc = sync_dir(dfd, keysdir, err);
		goto out;
	}
	if (mc_store_read(s, known_txn, &kc, err) != 0)
		goto out;
	if (!kc.known) {
		*state = MC_NODEKEY_PENDING;
		rc = 0;
		goto out;
	}
	if (do_switch(dfd, keysdir, cur, err) != 0)
		goto out;
	*state = MC_NODEKEY_SWITCHED;
	rc = 0;
out:
	close(dfd);   /* drops the lock */
	return rc;
}
