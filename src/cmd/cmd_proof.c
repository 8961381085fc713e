/* SPDX-License-Identifier: Apache-2.0 */
/* medchain proof export RECORD [--version N] [-o FILE]
 *              | verify FILE [--rpc URL] [--confirmations N]
 *                           [--expect-address ADDR] [--expect-validators FILE|HASH] */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "anchor.h"
#include "block.h"
#include "cli.h"
#include "commands.h"
#include "i18n.h"
#include "proof.h"
#include "records.h"
#include "rpc.h"
#include "text.h"
#include "util.h"

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
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || mc_store_read(cli->store, export_txn, &c, &err) != 0)
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
	/* Who signed it, from the signature: the node's `from` is its word. */
	{
		uint8_t signer[20];
		char said[41], real[41], why[sizeof(err->msg)];

		if (mc_rpc_tx_sender(&ti, p->anchor_tx, signer, err) != 0) {
			snprintf(why, sizeof(why), "%s", err->msg);
			public_fail(err, "signer", why);
			goto out;
		}
		if (memcmp(signer, ti.from, 20) != 0) {
			mc_hex(ti.from, 20, said);
			mc_hex(signer, 20, real);
			snprintf(why, sizeof(why),
				 _("the RPC node says the transaction is from 0x%s, its signature is from 0x%s"),
				 said, real);
			public_fail(err, "signer", why);
			goto out;
		}
		if (memcmp(signer, p->anchor_address, 20) != 0) {
			public_fail(err, "signer", _("the transaction is from another address"));
			goto out;
		}
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

/* --expect-address: 0x and 40 hex digits (any case). */
static int parse_address(const char *s, uint8_t out[20])
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	return mc_unhex(s, out, 20) == 0 ? 0 : -1;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, MC_PK_LEN);
}

/* --expect-validators: 64 hex digits are the validator-set hash itself;
 * anything else names a file of validator public keys, one per line in
 * hex (as `node list` prints them), blank lines and # comments skipped,
 * any order: the hash is computed over the sorted set. */
static int expected_valset(const char *arg, uint8_t out[MC_HASH_LEN], size_t *nkeys, struct mc_err *err)
{
	unsigned char *raw = NULL;
	char *text;
	size_t n, nk = 0, line = 0;
	uint8_t (*keys)[MC_PK_LEN];
	char *p;

	*nkeys = 0;
	if (strlen(arg) == 2 * MC_HASH_LEN && mc_unhex(arg, out, MC_HASH_LEN) == 0)
		return 0;
	if (mc_cli_read_all(arg, 1u << 20, &raw, &n, err) != 0)
		return -1;
	if (memchr(raw, 0, n)) {
		free(raw);
		return mc_err_set(err, EX_DATAERR, _("%s is not a text file of validator keys"), arg);
	}
	text = malloc(n + 1);
	keys = calloc(MC_MAX_VALIDATORS, MC_PK_LEN);
	if (!text || !keys) {
		free(raw);
		free(text);
		free(keys);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	memcpy(text, raw, n);
	text[n] = '\0';
	free(raw);
	for (char *l = text, *nl; l; l = nl) {
		if ((nl = strchr(l, '\n')))
			*nl++ = '\0';
		line++;
		while (isspace((unsigned char)*l))
			l++;
		for (p = l + strlen(l); p > l && isspace((unsigned char)p[-1]);)
			*--p = '\0';
		if (!*l || *l == '#')
			continue;
		if (nk == MC_MAX_VALIDATORS || mc_unhex(l, keys[nk], MC_PK_LEN) != 0) {
			mc_err_set(err, EX_DATAERR,
				   nk == MC_MAX_VALIDATORS ? _("%s, line %zu: more than %d validator keys")
							   : _("%s, line %zu: not a validator public key (64 hex digits)"),
				   arg, line, MC_MAX_VALIDATORS);
			free(keys);
			free(text);
			return -1;
		}
		nk++;
	}
	free(text);
	if (nk == 0) {
		free(keys);
		return mc_err_set(err, EX_DATAERR, _("%s holds no validator key"), arg);
	}
	qsort(keys, nk, MC_PK_LEN, cmp_key);
	for (size_t i = 1; i < nk; i++)
		if (memcmp(keys[i - 1], keys[i], MC_PK_LEN) == 0) {
			free(keys);
			return mc_err_set(err, EX_DATAERR, _("%s names a validator key twice"), arg);
		}
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])keys, nk, out);
	*nkeys = nk;
	free(keys);
	return 0;
}

static int verify_fail(struct mc_cli *cli, const struct mc_err *err)
{
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		struct mc_err e2 = { 0 };

		if (j && cJSON_AddFalseToObject(j, "ok") && cJSON_AddNumberToObject(j, "exit", err->code) &&
		    cJSON_AddStringToObject(j, "message", err->msg))
			(void)mc_cli_json_print(j, &e2);
		else
			cJSON_Delete(j);
	}
	return mc_cli_fail(err);
}

static int verify_json(const struct mc_proof *p, bool online, uint64_t depth, const char *addr,
		       const char *vhash, bool addr_checked, bool vals_checked, struct mc_err *err)
{
	char id[2 * MC_RECORD_ID_LEN + 1], root[65], tx[67];
	cJSON *j = cJSON_CreateObject(), *an = cJSON_CreateObject(), *vs = cJSON_CreateObject();
	bool ok;

	mc_hex(p->record, MC_RECORD_ID_LEN, id);
	mc_hex(p->root, MC_HASH_LEN, root);
	tx[0] = '0';
	tx[1] = 'x';
	mc_hex(p->anchor_tx, 32, tx + 2);
	ok = j && an && vs && cJSON_AddTrueToObject(j, "ok") &&
	     cJSON_AddBoolToObject(j, "public_chain_checked", online) && cJSON_AddStringToObject(j, "record", id) &&
	     cJSON_AddNumberToObject(j, "version", p->version) &&
	     cJSON_AddNumberToObject(j, "block", (double)p->leaf_index) &&
	     cJSON_AddNumberToObject(j, "tree_size", (double)p->tree_size) && cJSON_AddStringToObject(j, "root", root) &&
	     cJSON_AddNumberToObject(j, "public_chain_id", (double)p->public_chain_id) &&
	     cJSON_AddStringToObject(j, "tx_hash", tx) &&
	     cJSON_AddNumberToObject(j, "block_number", (double)p->anchor_block) &&
	     cJSON_AddNumberToObject(j, "confirmations", (double)depth) &&
	     cJSON_AddStringToObject(an, "address", addr) && cJSON_AddBoolToObject(an, "address_checked", addr_checked) &&
	     cJSON_AddStringToObject(vs, "hash", vhash) &&
	     cJSON_AddNumberToObject(vs, "validators", (double)p->nvalidators) &&
	     cJSON_AddBoolToObject(vs, "checked", vals_checked);
	if (ok) {
		cJSON_AddItemToObject(j, "anchor", an);
		an = NULL;
		cJSON_AddItemToObject(j, "validator_set", vs);
		vs = NULL;
	}
	cJSON_Delete(an);
	cJSON_Delete(vs);
	if (!ok) {
		cJSON_Delete(j);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	return mc_cli_json_print(j, err);
}

/* What proof verify was asked: the bundle, the public chain and who is
 * expected to have anchored. */
struct pv_req {
	const char *file, *url, *exp_addr_s, *exp_vals_s;
	uint32_t confirmations;
	bool online;
	uint8_t exp_addr[20], exp_vals[MC_HASH_LEN];
	size_t nkeys;            /* the keys of --expect-validators FILE, 0 for a HASH */
};

/* 0, or the exit code after the message. */
static int pv_parse(struct mc_cli *cli, struct mc_args *a, struct pv_req *q)
{
	const char *conf_s = NULL;
	struct mc_opt opts[] = {
		{ "--rpc", true, &q->url, NULL },
		{ "--confirmations", true, &conf_s, NULL },
		{ "--expect-address", true, &q->exp_addr_s, NULL },
		{ "--expect-validators", true, &q->exp_vals_s, NULL },
	};
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };

	memset(q, 0, sizeof(*q));
	q->confirmations = cli->conf.confirmations;
	if (mc_cli_parse(a, opts, MC_ARRAY_LEN(opts), pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("proof verify needs a bundle file"));
	q->file = pos[0];
	if (conf_s) {
		char *end;
		unsigned long v = strtoul(conf_s, &end, 10);

		if (*end || v == 0 || v > 10000)
			return mc_cli_usage(_("--confirmations takes 1 to 10000"));
		q->confirmations = (uint32_t)v;
	}
	if (q->exp_addr_s && parse_address(q->exp_addr_s, q->exp_addr) != 0)
		return mc_cli_usage(_("--expect-address takes an address: 0x and 40 hex digits"));
	if (q->exp_vals_s && expected_valset(q->exp_vals_s, q->exp_vals, &q->nkeys, &err) != 0)
		return verify_fail(cli, &err);
	if (!q->url && cli->conf.rpc_url[0])
		q->url = cli->conf.rpc_url;
	q->online = q->url != NULL;
	/* Offline, the bundle's anchor address is only what the file says
	 * (nothing signed covers it until the public chain's transaction is
	 * checked): "as expected" would prove nothing. */
	if (q->exp_addr_s && !q->online)
		return mc_cli_usage(_("--expect-address needs the public chain (--rpc URL, or [anchor] rpc_url): offline, the bundle's address is only what the file says"));
	return 0;
}

/* Who anchored: the bundle's address and validator set (their hash is the
 * block header's, checked before), against what the hospitals publish.
 * addr and vhash: the bundle's, as printed. */
static int pv_who(const struct mc_proof *p, const struct pv_req *q, char addr[43], char vhash[65],
		  struct mc_err *err)
{
	uint8_t vh[MC_HASH_LEN];
	char want[65];

	addr[0] = '0';
	addr[1] = 'x';
	mc_hex(p->anchor_address, 20, addr + 2);
	mc_valset_hash((const uint8_t (*)[MC_PK_LEN])p->validators, p->nvalidators, vh);
	mc_hex(vh, MC_HASH_LEN, vhash);
	if (q->exp_addr_s && memcmp(q->exp_addr, p->anchor_address, 20) != 0) {
		mc_hex(q->exp_addr, 20, want);
		return mc_err_set(err, EX_DATAERR, _("the anchor address differs: the bundle was anchored by %s, not 0x%s"),
				  addr, want);
	}
	if (q->exp_vals_s && memcmp(q->exp_vals, vh, MC_HASH_LEN) != 0) {
		mc_hex(q->exp_vals, MC_HASH_LEN, want);
		if (q->nkeys)
			return mc_err_set(err, EX_DATAERR,
					  _("the validator set differs: the bundle's block was signed by the set %s (%zu keys), "
					    "not by the %zu keys in %s (set %s)"),
					  vhash, p->nvalidators, q->nkeys, q->exp_vals_s, want);
		return mc_err_set(err, EX_DATAERR,
				  _("the validator set differs: the bundle's block was signed by the set %s (%zu keys), not %s"),
				  vhash, p->nvalidators, want);
	}
	return 0;
}

/* The verdict on stdout (text or --json), and on stderr what was not
 * checked. */
static int pv_emit(struct mc_cli *cli, const struct mc_proof *p, const struct pv_req *q, uint64_t depth,
		   const char *addr, const char *vhash, struct mc_err *err)
{
	char root[65], tx[65];

	mc_hex(p->root, MC_HASH_LEN, root);
	mc_hex(p->anchor_tx, 32, tx);
	if (cli->json) {
		if (verify_json(p, q->online, depth, addr, vhash, q->exp_addr_s != NULL, q->exp_vals_s != NULL, err) != 0)
			return -1;
	} else {
		if (q->online)
			printf(_("the proof holds: the record version is in private block %llu, under root %s of tree size "
				 "%llu, anchored by tx 0x%s in block %llu of chain %llu (%llu confirmations)\n"),
			       (unsigned long long)p->leaf_index, root, (unsigned long long)p->tree_size, tx,
			       (unsigned long long)p->anchor_block, (unsigned long long)p->public_chain_id,
			       (unsigned long long)depth);
		else
			printf(_("the proof's math holds up to root %s of tree size %llu; the public chain was not "
				 "consulted (give --rpc URL to check tx 0x%s)\n"),
			       root, (unsigned long long)p->tree_size, tx);
		printf(_("  anchor address %s%s\n  validator set %s (%zu keys)%s\n"), addr,
		       q->exp_addr_s ? _(" (as expected)") : "", vhash, p->nvalidators,
		       q->exp_vals_s ? _(" (as expected)") : "");
	}
	if (!q->exp_addr_s && !q->exp_vals_s)
		fprintf(stderr, _("medchain: did not check who anchored: give --expect-address and --expect-validators "
				  "(the address and validator keys the hospitals publish)\n"));
	else if (!q->exp_addr_s)
		fprintf(stderr, _("medchain: did not check the anchor address: give --expect-address\n"));
	else if (!q->exp_vals_s)
		fprintf(stderr, _("medchain: did not check the validator set: give --expect-validators\n"));
	return 0;
}

int cmd_proof_verify(struct mc_cli *cli, struct mc_args *a)
{
	struct pv_req q;
	char addr[43], vhash[65];
	int rc = pv_parse(cli, a, &q);
	struct mc_err err = { 0 };
	unsigned char *text = NULL;
	size_t n;
	struct mc_proof *p = NULL;
	uint64_t depth = 0;

	if (rc != 0)
		return rc;
	rc = -1;
	if (mc_cli_read_all(q.file, MC_PROOF_MAX, &text, &n, &err) != 0)
		return verify_fail(cli, &err);
	if (!(p = mc_proof_new())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (mc_proof_parse((const char *)text, n, p, &err) != 0 || mc_proof_check(p, &err) != 0 ||
	    pv_who(p, &q, addr, vhash, &err) != 0)
		goto out;
	if (q.online && check_public(p, q.url, q.confirmations, &depth, &err) != 0)
		goto out;
	if (pv_emit(cli, p, &q, depth, addr, vhash, &err) != 0)
		goto out;
	rc = 0;
out:
	free(text);
	mc_proof_free(p);
	return rc == 0 ? 0 : verify_fail(cli, &err);
}
