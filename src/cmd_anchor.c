/* medchain anchor keygen | plan */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "anchor.h"
#include "chain.h"
#include "commands.h"
#include "i18n.h"

static void anchor_key_path(struct mc_cli *cli, char *out, size_t n)
{
	if (cli->conf.key_file[0])
		snprintf(out, n, "%s", cli->conf.key_file);
	else
		mc_cli_path(cli, out, n, "keys/anchor.key");
}

int cmd_anchor_keygen(struct mc_cli *cli, struct mc_args *a)
{
	bool nopass = false;
	struct mc_opt opts[] = { { "--no-passphrase", false, NULL, &nopass } };
	char *pos[1], path[4200], hex[41];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_key *k = NULL;
	uint8_t addr[20];
	struct stat st;

	if (mc_cli_parse(a, opts, 1, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0)
		return mc_cli_fail(&err);
	anchor_key_path(cli, path, sizeof(path));
	if (stat(path, &st) == 0) {
		mc_err_set(&err, EX_CANTCREAT, _("an anchor key already exists at '%s'"), path);
		return mc_cli_fail(&err);
	}
	if ((!nopass && mc_cli_passphrase(cli, true, &err) != 0) || mc_anchor_keygen(&k, addr, &err) != 0 ||
	    mc_key_save(path, k, nopass ? NULL : cli->pass, nopass ? 0 : cli->passlen, &err) != 0)
		goto out;
	mc_hex(addr, 20, hex);
	if (cli->json)
		printf("{\"address\":\"0x%s\",\"key_file\":", hex);
	if (cli->json) {
		mc_cli_json_str(stdout, path);
		printf(",\"sealed\":%s}\n", nopass ? "false" : "true");
	} else {
		printf("0x%s\n", hex);
		if (!cli->quiet)
			fprintf(stderr, _("medchain: fund this address on the public chain to pay for anchors\n"));
	}
	rc = 0;
out:
	mc_key_free(k);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

struct plan {
	struct mc_head head;
	uint8_t root[MC_HASH_LEN];
};

static int plan_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct plan *p = vctx;

	if (mc_chain_head(t, &p->head, err) != 0)
		return -1;
	if (p->head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	return mc_ctree_root(t, p->head.height + 1, p->root, err);
}

int cmd_anchor_plan(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1], payload_hex[2 * MC_ANCHOR_PAYLOAD_LEN + 1], root[65], cid[65];
	int npos;
	struct mc_err err = { 0 };
	struct plan p;
	uint8_t payload[MC_ANCHOR_PAYLOAD_LEN];

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0 || mc_store_read(cli->store, plan_txn, &p, &err) != 0)
		return mc_cli_fail(&err);
	mc_anchor_payload(p.head.chain_id, p.head.height + 1, p.root, payload);
	mc_hex(payload, sizeof(payload), payload_hex);
	mc_hex(p.root, MC_HASH_LEN, root);
	mc_hex(p.head.chain_id, MC_HASH_LEN, cid);
	if (cli->json)
		printf("{\"chain_id\":\"%s\",\"tree_size\":%llu,\"root\":\"%s\",\"payload\":\"0x%s\"}\n", cid,
		       (unsigned long long)p.head.height + 1, root, payload_hex);
	else
		printf(_("the next anchor carries: chain %s, tree size %llu, root %s\n  calldata 0x%s\n"), cid,
		       (unsigned long long)p.head.height + 1, root, payload_hex);
	return 0;
}
