/* SPDX-License-Identifier: Apache-2.0 */
/* medchain anchor [--wait S] [--dry-run] | list | keygen | plan | reset-nonce */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "anchor.h"
#include "anchorrun.h"
#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "journal.h"
#include "log.h"
#include "merkle.h"
#include "rpc.h"
#include "text.h"
#include "util.h"
#include "verify.h"

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
	char *pos[1], path[PATH_MAX], hex[41];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_key *k = NULL;
	uint8_t addr[20];
	struct stat st;

	if (mc_cli_parse(a, opts, 1, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		return mc_cli_fail(&err);
	anchor_key_path(cli, path, sizeof(path));
	if (stat(path, &st) == 0) {
		mc_err_set(&err, EX_CANTCREAT, _("an anchor key already exists at '%s'"), path);
		return mc_cli_fail(&err);
	}
	if ((!nopass && mc_cli_passphrase(cli, true, &err) != 0) || mc_anchor_keygen(&k, addr, &err) != 0 ||
	    mc_cli_save_key(path, k, nopass ? NULL : cli->pass, nopass ? 0 : cli->passlen, &err) != 0)
		goto out;
	mc_hex(addr, 20, hex);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		char a0x[43];

		snprintf(a0x, sizeof(a0x), "0x%s", hex);
		if (j) {
			cJSON_AddStringToObject(j, "address", a0x);
			mc_json_add_str(j, "key_file", path);
			cJSON_AddBoolToObject(j, "sealed", !nopass);
		}
		if (mc_cli_json_print(j, &err) != 0)
			goto out;
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
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 || mc_store_read(cli->store, plan_txn, &p, &err) != 0)
		return mc_cli_fail(&err);
	mc_anchor_payload(p.head.chain_id, p.head.height + 1, p.root, payload);
	mc_hex(payload, sizeof(payload), payload_hex);
	mc_hex(p.root, MC_HASH_LEN, root);
	mc_hex(p.head.chain_id, MC_HASH_LEN, cid);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		char pl[2 * MC_ANCHOR_PAYLOAD_LEN + 3];

		snprintf(pl, sizeof(pl), "0x%s", payload_hex);
		if (j) {
			cJSON_AddStringToObject(j, "chain_id", cid);
			cJSON_AddNumberToObject(j, "tree_size", (double)(p.head.height + 1));
			cJSON_AddStringToObject(j, "root", root);
			cJSON_AddStringToObject(j, "payload", pl);
		}
		if (mc_cli_json_print(j, &err) != 0)
			return mc_cli_fail(&err);
	} else
		printf(_("the next anchor carries: chain %s, tree size %llu, root %s\n  calldata 0x%s\n"), cid,
		       (unsigned long long)p.head.height + 1, root, payload_hex);
	return 0;
}

/* ---- medchain anchor ------------------------------------------------------ */

/* What a run says, logged once (src/log.h): on a terminal, or with no
 * syslog, the lines printed are the log and nothing more is sent; to
 * syslog as well when it is there (cron mails what is printed); under
 * journald only to the journal, with its priority, and the text lines that
 * would reach the journal again through stdout and stderr are not printed
 * (--json output still is). */
static void say(int prio, const char *msg)
{
	if (mc_log_target() != MC_LOG_STDERR)
		mc_log(prio, NULL, "%s", msg);
}

static bool printed_to_journal(void)
{
	return mc_log_target() == MC_LOG_JOURNAL;
}

static void on_note(const char *msg, void *ctx)
{
	struct mc_cli *cli = ctx;

	say(LOG_NOTICE, msg);
	if (!cli->quiet && !printed_to_journal())
		fprintf(stderr, "medchain: %s\n", msg);
}

/* The anchor lock: a separate file (closing a descriptor on LMDB's own
 * files would drop LMDB's locks). Held until the process exits. */
static int take_lock(struct mc_cli *cli, struct mc_err *err)
{
	char path[PATH_MAX];
	int fd;

	mc_cli_path(cli, path, sizeof(path), "anchor.lock");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return mc_err_set(err, errno == EACCES || errno == EROFS ? EX_CANTCREAT : EX_NOINPUT,
				  _("cannot open the anchor lock '%s': %s"), path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return mc_err_set(err, EX_TEMPFAIL, _("another medchain anchor run holds the lock"));
		return mc_err_set(err, EX_IOERR, _("cannot lock '%s': %s"), path, strerror(e));
	}
	return 0;   /* fd stays open: the lock lasts as long as the run */
}

static void hex0x(const uint8_t *p, size_t n, char *out)
{
	out[0] = '0';
	out[1] = 'x';
	mc_hex(p, n, out + 2);
}

static const char *outcome_name(enum mc_anchor_outcome o)
{
	switch (o) {
	case MC_ANCHOR_NOTHING_NEW: return "nothing_new";
	case MC_ANCHOR_NOT_DUE: return "not_due";
	case MC_ANCHOR_PLANNED_DRY: return "dry_run";
	case MC_ANCHOR_SENT: return "broadcast";
	case MC_ANCHOR_PENDING: return "pending";
	case MC_ANCHOR_DONE: return "confirmed";
	}
	return "unknown";
}

static void summary(const struct mc_anchor_result *r, char *line, size_t n)
{
	const struct mc_anchor_entry *e = &r->entry;
	char root[65], tx[67];
	unsigned long long seq = (unsigned long long)e->seq, size = (unsigned long long)e->tree_size;

	mc_hex(e->root, MC_HASH_LEN, root);
	hex0x(e->nattempts ? e->attempts[e->nattempts - 1].hash : e->root, 32, tx);
	if (e->state == MC_ANCHOR_MINED || e->state == MC_ANCHOR_CONFIRMED)
		hex0x(e->mined_tx, 32, tx);
	switch (r->outcome) {
	case MC_ANCHOR_NOTHING_NEW:
		if (r->have)
			snprintf(line, n, _("nothing new: anchor %llu covers the chain's blocks up to tree size %llu"),
				 seq, size);
		else
			snprintf(line, n, _("nothing new to anchor"));
		break;
	case MC_ANCHOR_NOT_DUE:
		snprintf(line, n, _("not due: anchor %llu was made less than min_interval ago"), seq);
		break;
	case MC_ANCHOR_PLANNED_DRY:
		snprintf(line, n, _("dry run: anchor %llu would carry tree size %llu, root %s, at nonce %llu, "
				    "max fee %llu wei per gas, gas limit %llu; nothing was sent"),
			 seq, size, root, (unsigned long long)e->nonce,
			 (unsigned long long)e->attempts[0].max_fee, (unsigned long long)e->gas_limit);
		break;
	case MC_ANCHOR_SENT:
		snprintf(line, n, _("anchor %llu broadcast: tree size %llu, root %s, tx %s, nonce %llu"), seq,
			 size, root, tx, (unsigned long long)e->nonce);
		break;
	case MC_ANCHOR_PENDING:
		if (e->state == MC_ANCHOR_MINED)
			snprintf(line, n, _("anchor %llu pending: tx %s in public block %llu, %llu confirmations so far"),
				 seq, tx, (unsigned long long)e->mined_block, (unsigned long long)r->depth);
		else
			snprintf(line, n, _("anchor %llu pending: tx %s not mined yet"), seq, tx);
		break;
	case MC_ANCHOR_DONE:
		snprintf(line, n, _("anchor %llu confirmed: tree size %llu, root %s, tx %s in public block %llu, "
				    "recorded in private block %llu"),
			 seq, size, root, tx, (unsigned long long)e->mined_block,
			 (unsigned long long)e->commit_height);
		break;
	}
}

static void print_json(const struct mc_anchor_result *r, int code, const char *line)
{
	const struct mc_anchor_entry *e = &r->entry;
	char h[67];
	cJSON *j = cJSON_CreateObject(), *an, *txs;
	struct mc_err perr = { 0 };

	if (!j)
		return;
	cJSON_AddStringToObject(j, "outcome", outcome_name(r->outcome));
	cJSON_AddNumberToObject(j, "exit", code);
	mc_json_add_str(j, "message", line);
	if (r->have && (an = cJSON_AddObjectToObject(j, "anchor"))) {
		mc_hex(e->root, MC_HASH_LEN, h);
		cJSON_AddNumberToObject(an, "seq", (double)e->seq);
		cJSON_AddStringToObject(an, "state", r->outcome == MC_ANCHOR_PLANNED_DRY ? "dry_run"
									     : mc_anchor_state_name(e->state));
		cJSON_AddNumberToObject(an, "tree_size", (double)e->tree_size);
		cJSON_AddStringToObject(an, "root", h);
		cJSON_AddNumberToObject(an, "public_chain_id", (double)e->public_chain_id);
		cJSON_AddNumberToObject(an, "nonce", (double)e->nonce);
		cJSON_AddNumberToObject(an, "gas_limit", (double)e->gas_limit);
		hex0x(e->address, 20, h);
		cJSON_AddStringToObject(an, "address", h);
		txs = cJSON_AddArrayToObject(an, "txs");
		for (unsigned i = 0; txs && i < e->nattempts; i++) {
			cJSON *t = cJSON_CreateObject();

			if (!t || !cJSON_AddItemToArray(txs, t)) {
				cJSON_Delete(t);
				break;
			}
			hex0x(e->attempts[i].hash, 32, h);
			cJSON_AddStringToObject(t, "hash", h);
			cJSON_AddNumberToObject(t, "max_fee", (double)e->attempts[i].max_fee);
			cJSON_AddNumberToObject(t, "tip", (double)e->attempts[i].tip);
		}
		if (e->state == MC_ANCHOR_MINED || e->state == MC_ANCHOR_CONFIRMED) {
			hex0x(e->mined_tx, 32, h);
			cJSON_AddStringToObject(an, "tx_hash", h);
			cJSON_AddNumberToObject(an, "block_number", (double)e->mined_block);
			hex0x(e->mined_block_hash, 32, h);
			cJSON_AddStringToObject(an, "block_hash", h);
			cJSON_AddNumberToObject(an, "confirmations", (double)r->depth);
		}
		if (e->state == MC_ANCHOR_CONFIRMED)
			cJSON_AddNumberToObject(an, "commit_height", (double)e->commit_height);
	}
	mc_cli_json_print(j, &perr);
}

static int finish_fail(struct mc_cli *cli, const struct mc_err *err)
{
	say(LOG_ERR, err->msg);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		struct mc_err perr = { 0 };

		if (j) {
			cJSON_AddStringToObject(j, "outcome", "error");
			cJSON_AddNumberToObject(j, "exit", err->code);
			mc_json_add_str(j, "message", err->msg);
		}
		mc_cli_json_print(j, &perr);
	}
	if (printed_to_journal())
		return err->code ? err->code : EX_SOFTWARE;
	return mc_cli_fail(err);
}

/* A bar on a terminal (a full verify of a large chain takes minutes);
 * nothing under cron. */
static void verify_progress(uint64_t done, uint64_t total, void *ctx)
{
	(void)ctx;
	if (done == total || done % 256 == 0)
		mc_cli_progress(_("verifying the chain before anchoring"), done, total);
}

/* anchor's options: 0, or the exit code of a usage error. *wait: -1
 * without --wait. */
static int anchor_parse(struct mc_args *a, long *wait, bool *dry)
{
	const char *wait_s = NULL;
	struct mc_opt opts[] = {
		{ "--wait", true, &wait_s, NULL },
		{ "--dry-run", false, NULL, dry },
	};
	char *pos[1], *end;
	int npos;

	*wait = -1;
	if (mc_cli_parse(a, opts, MC_ARRAY_LEN(opts), pos, 0, &npos) != 0)
		return EX_USAGE;
	if (wait_s) {
		errno = 0;
		*wait = strtol(wait_s, &end, 10);
		if (errno || *end || end == wait_s || *wait < 0 || *wait > 86400)
			return mc_cli_usage(_("--wait takes 0 to 86400 seconds"));
	}
	return 0;
}

/* What must hold before anything is anchored: a public chain configured,
 * a data dir (its db in db), this run's lock, a local chain that passes
 * verification and an anchor key (its file in path). */
static int anchor_preflight(struct mc_cli *cli, char *db, char *path, struct mc_err *err)
{
	const char *tmp = getenv("TMPDIR");
	struct mc_verify_report rep;
	struct stat st;
	int rc;

	if (!cli->conf.rpc_url[0])
		return mc_err_set(err, EX_CONFIG, _("no public chain is configured: set rpc_url in [anchor] of medchain.conf"));
	/* The chain the anchor key signs for comes from the operator, never
	 * from the RPC node: a node that lies about eth_chainId would otherwise
	 * pick the chain (EIP-155) the signature is good on. */
	if (!cli->conf.chain_id)
		return mc_err_set(err, EX_CONFIG, _("[anchor] chain_id is not set: give the public chain's id in "
						    "medchain.conf (1 for Ethereum mainnet, 31337 for anvil); it is "
						    "never taken from the RPC node"));
	mc_cli_path(cli, db, PATH_MAX, "db");
	if (stat(db, &st) != 0)
		return mc_err_set(err, EX_NOINPUT, _("'%s' is not a medchain data dir"), cli->datadir);
	if (take_lock(cli, err) != 0)
		return -1;
	/* Never anchor a corrupt chain. The store is opened only after the
	 * check, which runs in a child process. */
	rc = cli->conf.verify_recent ? mc_verify_recent_isolated(db, &rep, err)
				     : mc_verify_isolated(db, tmp && *tmp ? tmp : "/tmp", verify_progress, NULL, &rep, err);
	mc_cli_progress_end();
	if (rc != 0) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		return mc_err_set(err, err->code, _("the local chain fails verification, nothing anchored: %s"), msg);
	}
	anchor_key_path(cli, path, PATH_MAX);
	if (stat(path, &st) != 0)
		return mc_err_set(err, EX_CONFIG, _("no anchor key at '%s': run 'medchain anchor keygen' or set key_file"),
				  path);
	return 0;
}

/* The anchor run's options from the configuration and the command line. */
static void anchor_opts(struct mc_cli *cli, long wait, bool dry, struct mc_key *akey, struct mc_key *nkey,
			struct mc_anchor_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->rpc_url = cli->conf.rpc_url;
	o->chain_id = cli->conf.chain_id;
	o->confirmations = cli->conf.confirmations;
	o->max_fee_wei = (uint64_t)cli->conf.max_fee_gwei * 1000000000ULL;
	o->bump_after_s = cli->conf.bump_after;
	o->datadir = cli->datadir;
	o->min_interval_s = cli->conf.min_interval;
	o->wait_ms = wait < 0 ? -1 : wait * 1000;
	o->poll_ms = 500;
	o->nonce_recheck_ms = 2000;
	o->dry_run = dry;
	o->anchor_key = akey;
	o->node_key = nkey;
	o->note = on_note;
	o->note_ctx = cli;
#ifdef MC_TEST_HOOKS /* a test build only (./configure --enable-test-hooks) */
	{
		const char *crash = getenv("MEDCHAIN_TEST_CRASH");

		o->crash_after_journal = crash && strcmp(crash, "after-journal") == 0;
	}
#endif
}

/* The run's one line, to the log and (unless printed to the journal
 * already, or -q on success) to stdout, or --json's document. 0: the run
 * did its part (nothing new, sent, confirmed); 75: an anchor is still
 * pending at the end (the next run goes on). */
static int anchor_emit(struct mc_cli *cli, const struct mc_anchor_result *res, long wait)
{
	char line[1024];
	int code;

	summary(res, line, sizeof(line));
	code = res->outcome == MC_ANCHOR_PENDING || (res->outcome == MC_ANCHOR_SENT && wait >= 0)
		       ? EX_TEMPFAIL : 0;
	say(code ? LOG_WARNING : LOG_INFO, line);
	if (cli->json)
		print_json(res, code, line);
	else if ((!cli->quiet || code) && !printed_to_journal())
		printf("%s\n", line);
	return code;
}

int cmd_anchor_run(struct mc_cli *cli, struct mc_args *a)
{
	char path[PATH_MAX], db[PATH_MAX];
	int code;
	struct mc_err err = { 0 };
	struct mc_key *akey = NULL;
	struct mc_anchor_opts o;
	struct mc_anchor_result *res = NULL;
	long wait;
	bool dry = false;

	if ((code = anchor_parse(a, &wait, &dry)) != 0)
		return code;
	mc_log_open("anchor");
	if (anchor_preflight(cli, db, path, &err) != 0)
		return finish_fail(cli, &err);
	/* the store, then the anchor key, then the node's */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_cli_load_key_file(cli, path, &akey, &err) != 0 ||
	    mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto fail;
	if (!(res = malloc(sizeof(*res)))) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto fail;
	}
	anchor_opts(cli, wait, dry, akey, cli->node_key, &o);
	if (mc_anchor_run(cli->store, &o, res, &err) != 0)
		goto fail;
	mc_key_free(akey);
	code = anchor_emit(cli, res, wait);
	free(res);
	return code;
fail:
	mc_key_free(akey);
	free(res);
	return finish_fail(cli, &err);
}

/* ---- medchain anchor list -------------------------------------------------- */

struct list_ctx {
	struct mc_cli *cli;
	unsigned bad;
	unsigned n;
	bool public;                 /* --public: confirmations from the chain */
	uint64_t latest;
	bool have_final;
	uint64_t final;
	cJSON *arr;                  /* with --json: the anchors */
};

/* With --public, the confirmations of a mined anchor: added to o as JSON
 * members (o not NULL), else written into out as a column ("" without
 * --public). */
static void confirmations(const struct list_ctx *lc, const struct mc_anchor_entry *e, cJSON *o, char *out,
			  size_t n)
{
	uint64_t c;
	bool fin;

	out[0] = '\0';
	if (!lc->public)
		return;
	if (!e->mined_block || e->state == MC_ANCHOR_SUPERSEDED) {
		if (o)
			cJSON_AddNullToObject(o, "confirmations");
		else
			snprintf(out, n, "%8s", "-");
		return;
	}
	c = lc->latest >= e->mined_block ? lc->latest - e->mined_block + 1 : 0;
	fin = lc->have_final && lc->final >= e->mined_block;
	if (o) {
		cJSON_AddNumberToObject(o, "confirmations", (double)c);
		cJSON_AddBoolToObject(o, "final", fin);
	} else {
		snprintf(out, n, "%7llu%s", (unsigned long long)c, fin ? "F" : " ");
	}
}

static int list_one(struct mc_txn *t, const struct mc_anchor_entry *ep, void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;
	const struct mc_anchor_entry *e = ep;
	char tx[67], root[65], conf[64];
	const char *cons;
	int ck = mc_journal_consistency(t, e, err);

	if (ck == -2)
		return -1;
	if (ck < 0)
		lc->bad++;
	cons = ck > 0 ? "ok" : ck == 0 ? "-" : "FAILED";
	hex0x(e->state == MC_ANCHOR_MINED || e->state == MC_ANCHOR_CONFIRMED ? e->mined_tx
									  : e->attempts[e->nattempts - 1].hash,
	      32, tx);
	mc_hex(e->root, MC_HASH_LEN, root);
	if (lc->cli->json) {
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(lc->arr, o)) {
			cJSON_Delete(o);
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		}
		cJSON_AddNumberToObject(o, "seq", (double)e->seq);
		cJSON_AddStringToObject(o, "state", mc_anchor_state_name(e->state));
		cJSON_AddNumberToObject(o, "tree_size", (double)e->tree_size);
		cJSON_AddStringToObject(o, "root", root);
		cJSON_AddNumberToObject(o, "prev_size", (double)e->prev_size);
		cJSON_AddStringToObject(o, "consistency", ck > 0 ? "ok" : ck == 0 ? "none" : "failed");
		cJSON_AddNumberToObject(o, "public_chain_id", (double)e->public_chain_id);
		cJSON_AddNumberToObject(o, "nonce", (double)e->nonce);
		cJSON_AddStringToObject(o, "tx_hash", tx);
		cJSON_AddNumberToObject(o, "attempts", e->nattempts);
		cJSON_AddNumberToObject(o, "block_number", (double)e->mined_block);
		cJSON_AddNumberToObject(o, "commit_height", (double)e->commit_height);
		confirmations(lc, e, o, conf, sizeof(conf));
	} else {
		confirmations(lc, e, NULL, conf, sizeof(conf));
		printf("%-5llu %-10s %-10llu %-6llu %-66s %-10llu %s%s%s\n", (unsigned long long)e->seq,
		       mc_anchor_state_name(e->state), (unsigned long long)e->tree_size, (unsigned long long)e->nonce, tx,
		       (unsigned long long)e->mined_block, conf, lc->public ? " " : "", cons);
	}
	lc->n++;
	return 0;
}

static int list_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;
	int rc;

	if (!lc->cli->json && !lc->cli->quiet)
		printf("%-5s %-10s %-10s %-6s %-66s %-10s %s%s%s\n", _("SEQ"), _("STATE"), _("TREE SIZE"), _("NONCE"),
		       _("PUBLIC TX"), _("BLOCK"), lc->public ? _("   CONF ") : "", lc->public ? " " : "",
		       _("CONSISTENCY"));
	rc = mc_journal_each(t, false, list_one, lc, err);
	return rc;
}

int cmd_anchor_list(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };
	struct list_ctx lc = { cli, 0, 0, false, 0, false, 0, NULL };
	struct mc_opt opts[] = { { "--public", false, NULL, &lc.public } };

	if (mc_cli_parse(a, opts, 1, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (lc.public) {
		struct mc_rpc *rpc = NULL;
		struct mc_rpc_block latest, fin;
		int rc;

		if (!cli->conf.rpc_url[0]) {
			mc_err_set(&err, EX_CONFIG, _("no public chain is configured: set rpc_url in [anchor] of medchain.conf"));
			return mc_cli_fail(&err);
		}
		rc = mc_rpc_open(cli->conf.rpc_url, 10000, 1, &rpc, &err) != 0 ||
		     mc_rpc_block(rpc, "latest", 0, &latest, &err) != 0 ||
		     mc_rpc_block(rpc, "finalized", 0, &fin, &err) != 0 ? -1 : 0;
		mc_rpc_close(rpc);
		if (rc != 0)
			return mc_cli_fail(&err);
		lc.latest = latest.number;
		lc.have_final = fin.found;
		lc.final = fin.number;
	}
	/* printed with a failed consistency proof too: the rows say which */
	if (mc_cmd_list(cli, list_txn, &lc, &lc.arr, &err) != 0)
		return mc_cli_fail(&err);
	if (lc.bad) {
		mc_err_set(&err, EX_DATAERR, P_("%u anchor fails its consistency proof", "%u anchors fail their consistency proof",
					       lc.bad), lc.bad);
		return mc_cli_fail(&err);
	}
	return 0;
}

/* ---- medchain anchor reset-nonce ------------------------------------------ */

struct reset_ctx {
	const char *to;              /* --to N, or NULL */
	uint64_t to_n;
	struct mc_nonce_reset r;
	bool empty;
	bool gave_up;                /* the last anchor was pending: superseded now */
	struct mc_anchor_entry *last;
};

static int highest_confirmed(struct mc_txn *t, const struct mc_anchor_entry *e, void *vctx, struct mc_err *err)
{
	struct reset_ctx *c = vctx;

	(void)t;
	(void)err;
	if (e->state == MC_ANCHOR_CONFIRMED && memcmp(e->address, c->last->address, 20) == 0 &&
	    e->public_chain_id == c->last->public_chain_id && e->nonce + 1 > c->r.next_nonce)
		c->r.next_nonce = e->nonce + 1;
	return 0;
}

/* One write transaction: the pending anchor superseded and the reset row
 * written together, or neither. */
static int reset_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct reset_ctx *c = vctx;
	int rc = mc_journal_last(t, c->last, err);

	c->empty = c->gave_up = false;
	if (rc < 0)
		return -1;
	if (rc == MC_NOTFOUND) {
		c->empty = true;
		return 0;
	}
	if (c->last->state == MC_ANCHOR_MINED)
		return mc_err_set(err, EX_TEMPFAIL,
				  _("anchor %llu is in public block %llu: let 'medchain anchor' confirm it, "
				    "then reset the nonce if you still need to"),
				  (unsigned long long)c->last->seq, (unsigned long long)c->last->mined_block);
	memset(&c->r, 0, sizeof(c->r));
	c->r.after_seq = c->last->seq;
	c->r.public_chain_id = c->last->public_chain_id;
	memcpy(c->r.address, c->last->address, 20);
	c->r.time_ms = mc_now_ms();
	if (c->to)
		c->r.next_nonce = c->to_n;
	else if (mc_journal_each(t, false, highest_confirmed, c, err) != 0)
		return -1;
	if (c->last->state == MC_ANCHOR_PLANNED || c->last->state == MC_ANCHOR_BROADCAST) {
		c->last->state = MC_ANCHOR_SUPERSEDED;
		c->gave_up = true;
		if (mc_journal_put(t, c->last, err) != 0)
			return -1;
	}
	return mc_journal_reset_put(t, &c->r, err);
}

/* What reset-nonce did, in one line: to the log, and on stdout (unless
 * the journal printed it) or in --json's document. Returns the exit code. */
static int reset_emit(struct mc_cli *cli, const struct reset_ctx *c)
{
	char addr[43], line[512];
	struct mc_err err = { 0 };
	cJSON *j;
	bool okj;

	hex0x(c->r.address, 20, addr);
	if (c->empty)
		snprintf(line, sizeof(line), _("the anchor journal is empty: there is no nonce floor to reset"));
	else if (c->gave_up)
		snprintf(line, sizeof(line),
			 _("nonce floor reset: pending anchor %llu (nonce %llu) is given up; the next anchor of %s "
			   "on chain %llu takes nonce %llu, or the node's count if it is higher"),
			 (unsigned long long)c->last->seq, (unsigned long long)c->last->nonce, addr,
			 (unsigned long long)c->r.public_chain_id, (unsigned long long)c->r.next_nonce);
	else
		snprintf(line, sizeof(line),
			 _("nonce floor reset: the next anchor of %s on chain %llu takes nonce %llu, or the node's "
			   "count if it is higher"),
			 addr, (unsigned long long)c->r.public_chain_id, (unsigned long long)c->r.next_nonce);
	say(LOG_NOTICE, line);
	if (!cli->json) {
		if (!printed_to_journal())
			printf("%s\n", line);
		return 0;
	}
	j = cJSON_CreateObject();
	okj = j && cJSON_AddBoolToObject(j, "reset", !c->empty) && cJSON_AddStringToObject(j, "message", line);
	if (okj && !c->empty)
		okj = cJSON_AddStringToObject(j, "address", addr) &&
		      cJSON_AddNumberToObject(j, "public_chain_id", (double)c->r.public_chain_id) &&
		      cJSON_AddNumberToObject(j, "next_nonce", (double)c->r.next_nonce) &&
		      cJSON_AddNumberToObject(j, "after_seq", (double)c->r.after_seq) &&
		      (c->gave_up ? cJSON_AddNumberToObject(j, "superseded", (double)c->last->seq)
				  : cJSON_AddNullToObject(j, "superseded"));
	if (!okj) {
		cJSON_Delete(j);
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	return mc_cli_json_print(j, &err) == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_anchor_reset_nonce(struct mc_cli *cli, struct mc_args *a)
{
	struct reset_ctx c;
	struct mc_opt opts[1];
	char *pos[1];
	int npos, rc;
	struct mc_err err = { 0 };

	memset(&c, 0, sizeof(c));
	opts[0] = (struct mc_opt){ "--to", true, &c.to, NULL };
	if (mc_cli_parse(a, opts, 1, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (c.to) {
		char *end;

		errno = 0;
		c.to_n = strtoull(c.to, &end, 10);
		if (errno || *end || end == c.to || *c.to == '-' || c.to_n > (1ULL << 62))
			return mc_cli_usage(_("--to takes a nonce: 0 to 4611686018427387904"));
	}
	if (!(c.last = malloc(sizeof(*c.last)))) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	mc_log_open("anchor");
	if (take_lock(cli, &err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_store_write(cli->store, reset_txn, &c, &err) != 0) {
		free(c.last);
		say(LOG_ERR, err.msg);
		return printed_to_journal() ? (err.code ? err.code : EX_SOFTWARE) : mc_cli_fail(&err);
	}
	rc = reset_emit(cli, &c);
	free(c.last);
	return rc;
}
