/* SPDX-License-Identifier: Apache-2.0 */
/* medchain proof export RECORD [--version N] [-o FILE] | verify FILE [--rpc URL] */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "cli.h"
#include "commands.h"
#include "i18n.h"
#include "proof.h"
#include "records.h"
#include "rpc.h"
#include "text.h"

struct export_ctx {
	const uint8_t *id;
	uint32_t version;
	struct mc_proof *p;
};

static int export_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct export_ctx *c = vctx;

	return mc_proof_build(t, c->id, c->version, c->p, err);
}

int cmd_proof_export(struct mc_cli *cli, struct mc_args *a)
{
	const char *vers = NULL, *outp = NULL;
	struct mc_opt opts[] = {
		{ "--version", true, &vers, NULL },
		{ "-o", true, &outp, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	struct export_ctx c = { id, 0, NULL };
	struct mc_buf b;

	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("proof export needs a record id"));
	if (vers) {
		char *end;
		unsigned long v = strtoul(vers, &end, 10);

		if (*end || v == 0 || v > UINT32_MAX)
			return mc_cli_usage(_("--version must be a positive number"));
		c.version = (uint32_t)v;
	}
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	if (!(c.p = mc_proof_new())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	mc_buf_init(&b);
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0 || mc_store_read(cli->store, export_txn, &c, &err) != 0)
		goto out;
	mc_proof_render(c.p, &b);
	if (mc_buf_failed(&b)) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (outp && strcmp(outp, "-") != 0) {
		if (mc_cli_write_file(outp, b.data, b.len, &err) != 0)
			goto out;
	} else if (fwrite(b.data, 1, b.len, stdout) != b.len) {
		mc_err_set(&err, EX_IOERR, _("cannot write the output"));
		goto out;
	}
	rc = 0;
out:
	mc_buf_release(&b);
	mc_proof_free(c.p);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

static int public_fail(struct mc_err *err, const char *step, const char *why)
{
	return mc_err_set(err, EX_DATAERR, _("the proof fails at step '%s': %s"), step, why);
}

/* The public side: the anchor tx is on the chain the bundle names, in the
 * block it names, deep enough, from the signer it names, carrying the root. */
static int check_public(const struct mc_proof *p, const char *url, uint32_t confirmations,
			uint64_t *depth, struct mc_err *err)
{
	struct mc_rpc *rpc = NULL;
	struct mc_rpc_txinfo ti;
	struct mc_rpc_block fin, latest;
	uint8_t payload[MC_ANCHOR_PAYLOAD_LEN];
	uint64_t id;
	int rc = -1;

	if (mc_rpc_open(url, 10000, 2, &rpc, err) != 0)
		return -1;
	if (mc_rpc_chain_id(rpc, &id, err) != 0)
		goto out;
	if (id != p->public_chain_id) {
		char why[160];

		snprintf(why, sizeof(why), _("the RPC URL serves chain id %llu, the anchor is on %llu"),
			 (unsigned long long)id, (unsigned long long)p->public_chain_id);
		public_fail(err, "public chain id", why);
		goto out;
	}
	if (mc_rpc_tx(rpc, p->anchor_tx, &ti, err) != 0)
		goto out;
	if (!ti.found || !ti.mined) {
		public_fail(err, "public transaction", _("the anchor transaction is not on the chain"));
		goto out;
	}
	if (ti.block_number != p->anchor_block || memcmp(ti.block_hash, p->anchor_block_hash, 32) != 0) {
		public_fail(err, "public transaction", _("the anchor transaction is in another block"));
		goto out;
	}
	mc_proof_payload(p, payload);
	if (ti.input_len != sizeof(payload) || memcmp(ti.input, payload, sizeof(payload)) != 0) {
		public_fail(err, "calldata", _("the transaction does not carry this chain id, tree size and root"));
		goto out;
	}
	if (memcmp(ti.from, p->anchor_address, 20) != 0) {
		public_fail(err, "signer", _("the transaction is from another address"));
		goto out;
	}
	if (mc_rpc_block(rpc, "finalized", 0, &fin, err) != 0 || mc_rpc_block(rpc, "latest", 0, &latest, err) != 0)
		goto out;
	*depth = latest.found && latest.number >= ti.block_number ? latest.number - ti.block_number + 1 : 0;
	if (fin.found ? fin.number < ti.block_number : *depth < confirmations) {
		public_fail(err, "finality", _("the anchor's block is not final yet"));
		goto out;
	}
	rc = 0;
out:
	mc_rpc_close(rpc);
	return rc;
}

int cmd_proof_verify(struct mc_cli *cli, struct mc_args *a)
{
	const char *url = NULL, *conf_s = NULL;
	struct mc_opt opts[] = {
		{ "--rpc", true, &url, NULL },
		{ "--confirmations", true, &conf_s, NULL },
	};
	char *pos[1], root[65], tx[65];
	int npos;
	struct mc_err err = { 0 };
	unsigned char *text = NULL;
	size_t n;
	struct mc_proof *p = NULL;
	uint32_t confirmations = cli->conf.confirmations;
	uint64_t depth = 0;
	bool online;

	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("proof verify needs a bundle file"));
	if (conf_s) {
		char *end;
		unsigned long v = strtoul(conf_s, &end, 10);

		if (*end || v == 0 || v > 10000)
			return mc_cli_usage(_("--confirmations takes 1 to 10000"));
		confirmations = (uint32_t)v;
	}
	if (!url && cli->conf.rpc_url[0])
		url = cli->conf.rpc_url;
	online = url != NULL;
	if (mc_cli_read_all(pos[0], MC_PROOF_MAX, &text, &n, &err) != 0)
		return mc_cli_fail(&err);
	if (!(p = mc_proof_new())) {
		free(text);
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	if (mc_proof_parse((const char *)text, n, p, &err) != 0 || mc_proof_check(p, &err) != 0 ||
	    (online && check_public(p, url, confirmations, &depth, &err) != 0)) {
		free(text);
		mc_proof_free(p);
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();
			struct mc_err perr = { 0 };

			if (j) {
				cJSON_AddFalseToObject(j, "ok");
				cJSON_AddNumberToObject(j, "exit", err.code);
				mc_json_add_str(j, "message", err.msg);
			}
			mc_cli_json_print(j, &perr);
		}
		return mc_cli_fail(&err);
	}
	free(text);
	mc_hex(p->root, MC_HASH_LEN, root);
	mc_hex(p->anchor_tx, 32, tx);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		char id[2 * MC_RECORD_ID_LEN + 1], tx0x[67];

		mc_hex(p->record, MC_RECORD_ID_LEN, id);
		snprintf(tx0x, sizeof(tx0x), "0x%s", tx);
		if (j) {
			cJSON_AddTrueToObject(j, "ok");
			cJSON_AddBoolToObject(j, "public_chain_checked", online);
			cJSON_AddStringToObject(j, "record", id);
			cJSON_AddNumberToObject(j, "version", p->version);
			cJSON_AddNumberToObject(j, "block", (double)p->leaf_index);
			cJSON_AddNumberToObject(j, "tree_size", (double)p->tree_size);
			cJSON_AddStringToObject(j, "root", root);
			cJSON_AddNumberToObject(j, "public_chain_id", (double)p->public_chain_id);
			cJSON_AddStringToObject(j, "tx_hash", tx0x);
			cJSON_AddNumberToObject(j, "block_number", (double)p->anchor_block);
			cJSON_AddNumberToObject(j, "confirmations", (double)depth);
		}
		if (mc_cli_json_print(j, &err) != 0) {
			mc_proof_free(p);
			return mc_cli_fail(&err);
		}
	} else if (online) {
		printf(_("the proof holds: the record version is in private block %llu, under root %s of tree size "
			 "%llu, anchored by tx 0x%s in block %llu of chain %llu (%llu confirmations)\n"),
		       (unsigned long long)p->leaf_index, root, (unsigned long long)p->tree_size, tx,
		       (unsigned long long)p->anchor_block, (unsigned long long)p->public_chain_id,
		       (unsigned long long)depth);
	} else {
		printf(_("the proof's math holds up to root %s of tree size %llu; the public chain was not "
			 "consulted (give --rpc URL to check tx 0x%s)\n"),
		       root, (unsigned long long)p->tree_size, tx);
	}
	mc_proof_free(p);
	return 0;
}
