/* SPDX-License-Identifier: Apache-2.0 */
/* medchain status */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "identity.h"
#include "text.h"
#include "vlast.h"

struct status {
	struct mc_head head;
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	uint64_t identities, versions, payloads, txs;
	uint8_t root[MC_HASH_LEN];
	bool anchored;
	struct mc_anchored last;
	uint64_t anchor_time_ms;   /* block time of its ANCHOR_COMMIT */
};

static int status_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct status *s = vctx;
	int rc;

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
	rc = mc_chain_anchored(t, UINT64_MAX, &s->last, err);
	if (rc < 0)
		return -1;
	s->anchored = rc == 0;
	if (s->anchored) {
		struct mc_header h;
		struct mc_cert c;

		if (mc_chain_block(t, s->last.height, &h, &c, err) != 0)
			return -1;
		s->anchor_time_ms = h.timestamp_ms;
	}
	return 0;
}

/* status --json: the last anchor, or null */
static void json_last_anchor(cJSON *j, const struct status *s)
{
	cJSON *la;

	if (s->anchored && (la = cJSON_AddObjectToObject(j, "last_anchor"))) {
		char r[65], tx[68];

		mc_hex(s->last.a.root, MC_HASH_LEN, r);
		memcpy(tx, "0x", 2);
		mc_hex(s->last.a.tx_hash, 32, tx + 2);
		cJSON_AddNumberToObject(la, "tree_size", (double)s->last.a.tree_size);
		cJSON_AddStringToObject(la, "root", r);
		cJSON_AddNumberToObject(la, "public_chain_id", (double)s->last.a.public_chain_id);
		cJSON_AddStringToObject(la, "tx_hash", tx);
		cJSON_AddNumberToObject(la, "block_number", (double)s->last.a.block_number);
		cJSON_AddNumberToObject(la, "commit_height", (double)s->last.height);
		cJSON_AddNumberToObject(la, "committed_at_ms", (double)s->anchor_time_ms);
	} else if (!s->anchored) {
		cJSON_AddNullToObject(j, "last_anchor");
	}
}

/* status --json: the last verify's outcome (vrc 0: vl), or null */
static void json_last_verify(cJSON *j, int vrc, const struct mc_verify_last *vl)
{
	cJSON *lv;

	if (vrc == 0 && (lv = cJSON_AddObjectToObject(j, "last_verify"))) {
		cJSON_AddNumberToObject(lv, "time_ms", (double)vl->time_ms);
		cJSON_AddStringToObject(lv, "result", vl->ok ? "ok" : "damaged");
		if (!vl->ok)
			mc_json_add_str(lv, "message", vl->message);
		cJSON_AddNumberToObject(lv, "duration_s", vl->duration_s);
		cJSON_AddNumberToObject(lv, "blocks", (double)vl->blocks);
	} else if (vrc != 0) {
		cJSON_AddNullToObject(j, "last_verify");
	}
}

static int emit_json(const struct mc_cli *cli, const struct status *s, int vrc, const struct mc_verify_last *vl,
		     struct mc_err *err)
{
	cJSON *j = cJSON_CreateObject(), *vals;
	char head[65], cid[65], root[65];

	if (!j)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	mc_hex(s->head.hash, MC_HASH_LEN, head);
	mc_hex(s->head.chain_id, MC_HASH_LEN, cid);
	mc_hex(s->root, MC_HASH_LEN, root);
	mc_json_add_str(j, "datadir", cli->datadir);
	cJSON_AddStringToObject(j, "chain_id", cid);
	cJSON_AddNumberToObject(j, "height", (double)s->head.height);
	cJSON_AddStringToObject(j, "head", head);
	cJSON_AddNumberToObject(j, "head_time_ms", (double)s->head.timestamp_ms);
	cJSON_AddStringToObject(j, "chain_root", root);
	cJSON_AddNumberToObject(j, "transactions", (double)s->txs);
	cJSON_AddNumberToObject(j, "identities", (double)s->identities);
	cJSON_AddNumberToObject(j, "record_versions", (double)s->versions);
	cJSON_AddNumberToObject(j, "payloads", (double)s->payloads);
	vals = cJSON_AddArrayToObject(j, "validators");
	for (size_t i = 0; vals && i < s->nval; i++) {
		char v[65];

		mc_hex(s->vals[i], MC_PK_LEN, v);
		cJSON_AddItemToArray(vals, cJSON_CreateString(v));
	}
	json_last_anchor(j, s);
	json_last_verify(j, vrc, vl);
	return mc_cli_json_print(j, err);
}

/* the text: the last anchor's and the last verify's lines */
static void text_last(const struct status *s, int vrc, const struct mc_verify_last *vl)
{
	char when[64];

	if (s->anchored) {
		char tx[65];

		mc_hex(s->last.a.tx_hash, 32, tx);
		mc_time_format(s->anchor_time_ms, when, sizeof(when));
		printf(_("last anchor     tree size %llu, tx 0x%s in block %llu of chain %llu, committed %s\n"),
		       (unsigned long long)s->last.a.tree_size, tx, (unsigned long long)s->last.a.block_number,
		       (unsigned long long)s->last.a.public_chain_id, when);
	} else {
		printf(_("last anchor     none yet\n"));
	}
	if (vrc != 0) {
		printf(_("last verify     never run on this node\n"));
		return;
	}
	mc_time_format(vl->time_ms, when, sizeof(when));
	if (vl->ok)
		printf(_("last verify     ok, %s, %llu blocks in %.1f s\n"), when, (unsigned long long)vl->blocks,
		       vl->duration_s);
	else
		printf(_("last verify     DAMAGED, %s, after %llu blocks: %s\n"), when,
		       (unsigned long long)vl->blocks, vl->message);
}

static void emit_text(const struct mc_cli *cli, const struct status *s, int vrc, const struct mc_verify_last *vl)
{
	char head[65], cid[65], root[65];

	mc_hex(s->head.hash, MC_HASH_LEN, head);
	mc_hex(s->head.chain_id, MC_HASH_LEN, cid);
	mc_hex(s->root, MC_HASH_LEN, root);
	printf(_("data dir        %s\n"), cli->datadir);
	printf(_("chain id        %s\n"), cid);
	printf(_("height          %llu\n"), (unsigned long long)s->head.height);
	printf(_("head            %s\n"), head);
	printf(_("chain root      %s\n"), root);
	printf(_("transactions    %llu\n"), (unsigned long long)s->txs);
	printf(_("identities      %llu\n"), (unsigned long long)s->identities);
	printf(_("record versions %llu (%llu with data)\n"), (unsigned long long)s->versions,
	       (unsigned long long)s->payloads);
	for (size_t i = 0; i < s->nval; i++) {
		char v[65];

		mc_hex(s->vals[i], MC_PK_LEN, v);
		printf(_("validator       %s\n"), v);
	}
	text_last(s, vrc, vl);
}

int cmd_status(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_err err = { 0 };
	struct status s;
	char *pos[1];
	int npos;
	struct mc_verify_last vl;
	int vrc;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_store_read(cli->store, status_txn, &s, &err) != 0)
		return mc_cli_fail(&err);
	/* the last verify's outcome: this node's own file, not the chain */
	vrc = mc_vlast_load(cli->datadir, &vl, &err);
	if (vrc < 0)
		return mc_cli_fail(&err);
	if (cli->json)
		return emit_json(cli, &s, vrc, &vl, &err) == 0 ? 0 : mc_cli_fail(&err);
	emit_text(cli, &s, vrc, &vl);
	return 0;
}
