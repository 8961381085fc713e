/* SPDX-License-Identifier: Apache-2.0 */
/* medchain init: keys, the store and the genesis block. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "fileio.h"
#include "i18n.h"
#include "records.h"
#include "text.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int mkdir_p(const char *path, struct mc_err *err)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
				return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), tmp,
						  strerror(errno));
			*p = '/';
		}
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return mc_err_set(err, EX_CANTCREAT, _("cannot create '%s': %s"), tmp, strerror(errno));
	return 0;
}

struct kek_ctx {
	const uint8_t *org_pk;
};

static int init_kek(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct kek_ctx *k = vctx;

	return mc_kek_create(t, k->org_pk, 0, err);
}

static int join_txn(struct mc_txn *t, void *ctx, struct mc_err *err)
{
	return mc_txn_put(t, MC_DB_CONSENSUS, "join", 4, ctx, MC_HASH_LEN, err);
}

/* init --json: {"datadir": ..., k1: v1, [k2: v2,] flag: value} */
static int init_json(const struct mc_cli *cli, const char *k1, const char *v1, const char *k2, const char *v2,
		     const char *flag, bool value, struct mc_err *err)
{
	cJSON *j = cJSON_CreateObject();

	if (j) {
		mc_json_add_str(j, "datadir", cli->datadir);
		cJSON_AddStringToObject(j, k1, v1);
		if (k2)
			cJSON_AddStringToObject(j, k2, v2);
		cJSON_AddBoolToObject(j, flag, value);
	}
	return mc_cli_json_print(j, err);
}

/* A node of an existing chain: its node key, and the chain id it will take
 * the genesis block from its peers by (`medchain serve`). */
static int init_join(struct mc_cli *cli, const char *keysnew, const char *keys, const char *db,
		     uint8_t chain_id[MC_HASH_LEN], bool nopass, struct mc_err *err)
{
	struct mc_key *node = NULL;
	char path[PATH_MAX], hex[2 * MC_PK_LEN + 1];
	int rc = -1;

	if (mc_path_printf(path, sizeof(path), err, "%s/node.key", keysnew) != 0)
		return -1;
	if (mc_key_generate(false, &node, err) != 0)
		return -1;
	if (mc_cli_save_key(path, node, nopass ? NULL : cli->pass, nopass ? 0 : cli->passlen, err) != 0 ||
	    mc_store_open(db, MC_STORE_CREATE, &cli->store, err) != 0 ||
	    mc_store_write(cli->store, join_txn, chain_id, err) != 0)
		goto out;
	if (rename(keysnew, keys) != 0) {
		mc_err_set(err, EX_CANTCREAT, _("cannot rename '%s': %s"), keysnew, strerror(errno));
		goto out;
	}
	mc_hex(node->pk, MC_PK_LEN, hex);
	if (cli->json) {
		if (init_json(cli, "node", hex, NULL, NULL, "joining", true, err) != 0)
			goto out;
	} else if (!cli->quiet) {
		printf(_("initialised %s to join a chain\n  node key  %s\n"), cli->datadir, hex);
		printf(_("  next: start `medchain serve` here with [node] peers set, and ask the chain's\n"
			 "  operators to run `medchain node add URL %s`\n"), hex);
	}
	rc = 0;
out:
	mc_key_free(node);
	return rc;
}

/* init: the options */
struct init_opts {
	const char *name, *org, *join;
	bool nopass;
	uint8_t join_id[MC_HASH_LEN];
};

/* 0, or the exit code of a usage error */
static int init_parse(struct mc_args *a, struct init_opts *o)
{
	struct mc_opt opts[] = {
		{ "--name", true, &o->name, NULL },
		{ "--org", true, &o->org, NULL },
		{ "--no-passphrase", false, NULL, &o->nopass },
		{ "--join", true, &o->join, NULL },
	};
	char *pos[1];
	int npos;

	if (mc_cli_parse(a, opts, 4, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (o->join && (strlen(o->join) != 2 * MC_HASH_LEN || mc_unhex(o->join, o->join_id, MC_HASH_LEN) != 0))
		return mc_cli_usage(_("--join takes the chain id: 64 hex digits (`medchain status` on a node of the chain shows it)"));
	if (!*o->name || strlen(o->name) > MC_NAME_MAX || !mc_text_clean(o->name, strlen(o->name)))
		return mc_cli_usage(_("--name must be 1 to %d characters of text"), MC_NAME_MAX);
	if (!*o->org || strlen(o->org) > MC_NAME_MAX || !mc_text_clean(o->org, strlen(o->org)))
		return mc_cli_usage(_("--org must be 1 to %d characters of text"), MC_NAME_MAX);
	return 0;
}

/* The data dir, made if need be and writable, with an empty keys.new/ and
 * no db/: 0, or the exit code after the message. */
static int init_prepare(struct mc_cli *cli, const char *keys, const char *keysnew, const char *db)
{
	struct mc_err err = { 0 };
	struct stat st;

	if (stat(keys, &st) == 0) {
		fprintf(stderr, "medchain: %s\n", _("this data dir is already initialised"));
		fprintf(stderr, "  %s\n", cli->datadir);
		return EX_CANTCREAT;
	}
	if (mkdir_p(cli->datadir, &err) != 0)
		return mc_cli_fail(&err);
	if (access(cli->datadir, W_OK) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot write to '%s': %s"), cli->datadir, strerror(errno));
		return mc_cli_fail(&err);
	}
	/* Leftovers of an init that did not finish: keys/ is renamed into
	 * place last, so without it nothing here was ever in use. */
	nftw(keysnew, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	nftw(db, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	if (mkdir(keysnew, 0700) != 0) {
		mc_err_set(&err, EX_CANTCREAT, _("cannot create '%s': %s"), keysnew, strerror(errno));
		return mc_cli_fail(&err);
	}
	return 0;
}

/* A new chain: the node's, the admin's and the organization's keys in
 * keys.new/, the store and its genesis block; keys/ last. */
static int init_chain(struct mc_cli *cli, const struct init_opts *o, const char *keys, const char *keysnew,
		      const char *db, struct mc_key *ks[3], struct mc_produced *gen, struct mc_err *err)
{
	const char *roles[] = { "node", "admin", "org" };
	char path[PATH_MAX];

	if (mc_key_generate(false, &ks[0], err) != 0 || mc_key_generate(false, &ks[1], err) != 0 ||
	    mc_key_generate(true, &ks[2], err) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		if (mc_path_printf(path, sizeof(path), err, "%s/%s.key", keysnew, roles[i]) != 0 ||
		    mc_cli_save_key(path, ks[i], o->nopass ? NULL : cli->pass, o->nopass ? 0 : cli->passlen,
				    err) != 0)
			return -1;
	}
	if (mc_store_open(db, MC_STORE_CREATE, &cli->store, err) != 0)
		return -1;
	{
		struct mc_genesis_identity ids[] = {
			{ ks[0], MC_ROLE_NODE, o->name, o->org },
			{ ks[1], MC_ROLE_ADMIN, "admin", o->org },
			{ ks[2], MC_ROLE_ORG, o->org, o->org },
		};
		struct kek_ctx kc = { ks[2]->pk };

		if (mc_chain_genesis(cli->store, ks[0], ids, 3, init_kek, &kc, gen, err) != 0)
			return -1;
	}
	if (rename(keysnew, keys) != 0)
		return mc_err_set(err, EX_CANTCREAT, _("cannot rename '%s': %s"), keysnew, strerror(errno));
	return 0;
}

int cmd_init(struct mc_cli *cli, struct mc_args *a)
{
	struct init_opts o = { .name = "node1", .org = "Demo Hospital" };
	char keys[PATH_MAX], keysnew[PATH_MAX], db[PATH_MAX], chex[65], ahex[65];
	struct mc_key *ks[3] = { NULL, NULL, NULL };   /* node, admin, org */
	struct mc_err err = { 0 };
	struct mc_produced gen;
	int rc;

	if ((rc = init_parse(a, &o)) != 0)
		return rc;
	mc_cli_path(cli, keys, sizeof(keys), "keys");
	mc_cli_path(cli, keysnew, sizeof(keysnew), "keys.new");
	mc_cli_path(cli, db, sizeof(db), "db");
	if ((rc = init_prepare(cli, keys, keysnew, db)) != 0)
		return rc;
	if (!o.nopass && mc_cli_passphrase(cli, true, &err) != 0)
		rc = -1;
	else if (o.join)
		rc = init_join(cli, keysnew, keys, db, o.join_id, o.nopass, &err);
	else
		rc = init_chain(cli, &o, keys, keysnew, db, ks, &gen, &err);
	if (rc == 0 && !o.join) {
		mc_hex(gen.hash, MC_HASH_LEN, chex);
		mc_hex(ks[1]->pk, MC_PK_LEN, ahex);
		if (cli->json) {
			/* the chain is made: an answer that cannot be printed
			 * (out of memory) does not fail the init */
			(void)init_json(cli, "chain_id", chex, "admin", ahex, "sealed", !o.nopass, &err);
		} else if (!cli->quiet) {
			printf(_("initialised %s\n  chain id  %s\n  admin     %s\n"), cli->datadir, chex, ahex);
			if (o.nopass)
				printf(_("  keys are NOT sealed with a passphrase (--no-passphrase)\n"));
		}
	}
	for (int i = 0; i < 3; i++)
		mc_key_free(ks[i]);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
