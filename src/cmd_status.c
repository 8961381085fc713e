/* medchain status */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "identity.h"

struct status {
	struct mc_head head;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	uint64_t identities, versions, payloads, txs;
	uint8_t root[MC_HASH_LEN];
};

static int status_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct status *s = vctx;

	if (mc_chain_head(t, &s->head, err) != 0)
		return -1;
	if (s->head.empty)
		return mc_err_set(err, EX_DATAERR, _("the chain has no genesis block"));
	if (mc_chain_validators(t, s->vals, &s->nval, err) != 0 ||
	    mc_txn_count(t, MC_DB_IDENTITIES, &s->identities, err) != 0 ||
	    mc_txn_count(t, MC_DB_RECORDS, &s->versions, err) != 0 ||
	    mc_txn_count(t, MC_DB_PAYLOADS, &s->payloads, err) != 0 ||
	    mc_txn_count(t, MC_DB_TXIDX, &s->txs, err) != 0 ||
	    mc_ctree_root(t, s->head.height + 1, s->root, err) != 0)
		return -1;
	return 0;
}

int cmd_status(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_err err = { 0 };
	struct status s;
	char *pos[1];
	int npos;
	char head[65], cid[65], root[65];

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0 ||
	    mc_store_read(cli->store, status_txn, &s, &err) != 0)
		return mc_cli_fail(&err);
	mc_hex(s.head.hash, MC_HASH_LEN, head);
	mc_hex(s.head.chain_id, MC_HASH_LEN, cid);
	mc_hex(s.root, MC_HASH_LEN, root);
	if (cli->json) {
		printf("{\"datadir\":");
		mc_cli_json_str(stdout, cli->datadir);
		printf(",\"chain_id\":\"%s\",\"height\":%llu,\"head\":\"%s\",\"head_time_ms\":%llu,"
		       "\"chain_root\":\"%s\",\"transactions\":%llu,\"identities\":%llu,"
		       "\"record_versions\":%llu,\"payloads\":%llu,\"validators\":[",
		       cid, (unsigned long long)s.head.height, head,
		       (unsigned long long)s.head.timestamp_ms, root, (unsigned long long)s.txs,
		       (unsigned long long)s.identities, (unsigned long long)s.versions,
		       (unsigned long long)s.payloads);
		for (size_t i = 0; i < s.nval; i++) {
			char v[65];

			mc_hex(s.vals[i], MC_PK_LEN, v);
			printf("%s\"%s\"", i ? "," : "", v);
		}
		printf("],\"last_anchor\":null}\n");
		return 0;
	}
	printf(_("data dir        %s\n"), cli->datadir);
	printf(_("chain id        %s\n"), cid);
	printf(_("height          %llu\n"), (unsigned long long)s.head.height);
	printf(_("head            %s\n"), head);
	printf(_("chain root      %s\n"), root);
	printf(_("transactions    %llu\n"), (unsigned long long)s.txs);
	printf(_("identities      %llu\n"), (unsigned long long)s.identities);
	printf(_("record versions %llu (%llu with data)\n"), (unsigned long long)s.versions,
	       (unsigned long long)s.payloads);
	for (size_t i = 0; i < s.nval; i++) {
		char v[65];

		mc_hex(s.vals[i], MC_PK_LEN, v);
		printf(_("validator       %s\n"), v);
	}
	printf(_("last anchor     none (anchoring is not configured)\n"));
	return 0;
}
