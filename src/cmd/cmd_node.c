/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_node.c - `medchain node list | add | approve | remove | promote |
 * rotate-key`.
 *
 * A change of the validator set needs approvals from a quorum of the set.
 * `node add URL KEY` and `node remove KEY` sign this node's approval and,
 * when that is already a quorum, commit the change; otherwise they print a
 * proposal token: another validator's operator passes it to `node approve
 * TOKEN`, which adds that node's approval, and commits once a quorum
 * approved. A token holds only public keys, the URL and signatures.
 *   token = hex(op u8 | NODE_ADD or NODE_REMOVE body, or a promotion)
 *
 * `node promote KEY` asks the validators to move the leadership; each
 * agrees only if the leader has been silent for it too. When they do not
 * (a live leader, moved for maintenance), the promotion needs the
 * operators' approvals: a token like the others, approved on other
 * validators until a quorum, and then handed to this node's serve with
 * the view change it starts.
 *
 * `node rotate-key` makes this node's next key (keys/node.next.key, sealed
 * like node.key; nodekey.h), has it sign the NODE_ROTATE digest, and
 * approves the rotation like a set change: a token for the other
 * validators until a quorum approved. Run again, it goes on with the same
 * next key. Once the chain has the rotation, serve (and any command that
 * loads the node key) switches the key files.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "identity.h"
#include "nodekey.h"
#include "peer.h"
#include "text.h"
#include "valset.h"

#define TOKEN_MAX (2 * (1 + 32 + 2 + MC_NAME_MAX + 2 + MC_URL_MAX + 8 + 2 + MC_MAX_VALIDATORS * 96) + 1)

struct set_ctx {
	uint8_t vals[MC_MAX_VALIDATORS][MC_PK_LEN];
	size_t nval;
	uint64_t epoch, view;
	uint8_t leader[MC_PK_LEN];
	struct mc_head head;
};

static int set_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct set_ctx *c = vctx;

	if (mc_chain_head(t, &c->head, err) != 0)
		return -1;
	if (c->head.empty)
		return mc_err_set(err, EX_UNAVAILABLE, _("this node has no chain yet (it is still joining)"));
	if (mc_chain_validators(t, c->vals, &c->nval, err) != 0 ||
	    mc_chain_valset_epoch(t, &c->epoch, err) != 0 || mc_chain_leader(t, c->leader, &c->view, err) != 0)
		return -1;
	return 0;
}

static void print_json(cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(j);
}

/* Whether pk is one of the validators in sc. */
static bool in_set(const struct set_ctx *sc, const uint8_t pk[MC_PK_LEN])
{
	for (size_t i = 0; i < sc->nval; i++)
		if (memcmp(sc->vals[i], pk, MC_PK_LEN) == 0)
			return true;
	return false;
}

/* --dry-run --json of a set change: field names the key it is about. */
static int dry_run_json(const char *field, const char *hex, const struct set_ctx *sc)
{
	struct mc_err err = { 0 };
	cJSON *j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "dry_run", true);
	cJSON_AddStringToObject(j, field, hex);
	cJSON_AddNumberToObject(j, "validators", (double)sc->nval);
	cJSON_AddNumberToObject(j, "needed", (double)mc_quorum(sc->nval));
	cJSON_AddNumberToObject(j, "epoch", (double)sc->epoch);
	return mc_cli_json_print(j, &err) == 0 ? 0 : mc_cli_fail(&err);
}

/* A proposal being approved: the op and its body, decoded. */
struct change {
	unsigned op;
	struct mc_node_add add;
	struct mc_node_remove rm;
	struct mc_promote pr;
	struct mc_node_rotate ro;
	uint8_t *raw;            /* the decoded token (add/rm borrow from it) */
};

static struct mc_approvals *approvals_of(struct change *c)
{
	return c->op == MC_NODE_OP_ADD ? &c->add.approvals
	     : c->op == MC_NODE_OP_PROMOTE ? &c->pr.approvals
	     : c->op == MC_NODE_OP_ROTATE ? &c->ro.approvals : &c->rm.approvals;
}

static void change_digest(const struct change *c, const uint8_t chain_id[MC_HASH_LEN], uint8_t d[MC_HASH_LEN])
{
	if (c->op == MC_NODE_OP_ADD)
		mc_node_change_digest(chain_id, MC_NODE_OP_ADD, c->add.pk, c->add.name, c->add.name_len,
				      c->add.url, c->add.url_len, c->add.epoch, d);
	else if (c->op == MC_NODE_OP_PROMOTE)
		mc_promote_digest(chain_id, c->pr.from_view, c->pr.leader, d);
	else if (c->op == MC_NODE_OP_ROTATE)
		mc_node_rotate_digest(chain_id, c->ro.old_pk, c->ro.new_pk, c->ro.epoch, d);
	else
		mc_node_change_digest(chain_id, MC_NODE_OP_REMOVE, c->rm.pk, NULL, 0, NULL, 0, c->rm.epoch, d);
}

static void change_encode(const struct change *c, struct mc_buf *b)
{
	mc_put_u8(b, (uint8_t)c->op);
	if (c->op == MC_NODE_OP_ADD)
		mc_node_add_encode(&c->add, b);
	else if (c->op == MC_NODE_OP_PROMOTE)
		mc_promote_encode(&c->pr, b);
	else if (c->op == MC_NODE_OP_ROTATE)
		mc_node_rotate_encode(&c->ro, b);
	else
		mc_node_remove_encode(&c->rm, b);
}

struct submit_ctx {
	const struct mc_key *node;
	const struct mc_buf *body;
	unsigned type;
};

static int change_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct submit_ctx *c = vctx;

	return mc_builder_add_new(t, b, c->node, c->type, c->body->data, c->body->len, NULL, 0, err);
}

/* Asks this node's serve to start the view change that makes `leader`
 * lead (with the operators' approvals, or NULL), then waits until this
 * node has the VIEW_CHANGE block, and says so. */
static int promote_via_serve(struct mc_cli *cli, const uint8_t leader[MC_PK_LEN], const struct mc_promote *ap,
			     struct mc_err *err)
{
	char url[700], path[200], hex[2 * MC_PK_LEN + 1];
	struct mc_peer_client *cl = NULL;
	struct mc_peer_resp r;
	struct mc_buf body;
	struct set_ctx sc;
	uint64_t until;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	mc_buf_init(&body);
	if (ap)
		mc_promote_encode(ap, &body);
	mc_hex(leader, MC_PK_LEN, hex);
	mc_cli_serve_url(cli, url, sizeof(url));
	snprintf(path, sizeof(path), "/v1/promote?leader=%s", hex);
	if (mc_store_read(cli->store, set_txn, &sc, err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, err) != 0 ||
	    mc_peer_client_new(*cli->conf.ca_file ? cli->conf.ca_file : NULL, &cl, err) != 0 ||
	    mc_peer_call(cl, sc.head.chain_id, cli->node_key, url, "POST", path, body.data, body.len,
			 cli->node_key->pk, 30000, 4096, &r, err) != 0)
		goto out;
	if (r.status != 202) {
		mc_err_set(err, r.status == 503 ? EX_TEMPFAIL : EX_DATAERR, "%.300s", (const char *)r.body);
		goto out;
	}
	/* the change is done when this node has the VIEW_CHANGE block */
	for (until = mc_now_ms() + 30000; mc_now_ms() < until; usleep(100000)) {
		if (mc_store_read(cli->store, set_txn, &sc, err) != 0)
			goto out;
		if (memcmp(sc.leader, leader, MC_PK_LEN) == 0)
			break;
	}
	if (memcmp(sc.leader, leader, MC_PK_LEN) != 0) {
		mc_err_set(err, EX_TEMPFAIL, _("the validators agreed, but the new leader has not taken over yet"));
		goto out;
	}
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "leader", hex);
		cJSON_AddNumberToObject(j, "view", (double)sc.view);
		cJSON_AddNumberToObject(j, "height", (double)sc.head.height);
		print_json(j);
	} else if (!cli->quiet) {
		printf(_("%.16s leads view %llu from block %llu\n"), hex, (unsigned long long)sc.view,
		       (unsigned long long)sc.head.height);
	}
	rc = 0;
out:
	mc_buf_release(&body);
	mc_peer_resp_release(&r);
	mc_peer_client_free(cl);
	return rc;
}

/* Whether this node may approve c: the leader or validator set it was
 * made against is still the chain's, and this node is a validator. */
static int approve_check(const struct change *c, const struct set_ctx *sc, const struct mc_key *node,
			 struct mc_err *err)
{
	uint64_t epoch = c->op == MC_NODE_OP_ADD ? c->add.epoch
		       : c->op == MC_NODE_OP_ROTATE ? c->ro.epoch : c->rm.epoch;

	if (c->op == MC_NODE_OP_PROMOTE && c->pr.from_view != sc->view)
		return mc_err_set(err, EX_DATAERR, _("the leader changed since this promotion was proposed: make it again"));
	if (c->op != MC_NODE_OP_PROMOTE && epoch != sc->epoch)
		return mc_err_set(err, EX_DATAERR, _("the validator set changed since this proposal was made: make it again"));
	if (!in_set(sc, node->pk))
		return mc_err_set(err, EX_NOPERM, _("this node is not a validator: only validators approve set changes"));
	return 0;
}

/* What a committed change says: its block, and a rotation's new key or a
 * validator's new address. was_member: a NODE_ADD of a validator. */
static void change_committed(struct mc_cli *cli, const struct change *c, const struct mc_produced *out,
			     bool was_member)
{
	char hex[2 * MC_PK_LEN + 1];

	if (c->op == MC_NODE_OP_ROTATE)
		mc_hex(c->ro.new_pk, MC_PK_LEN, hex);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddBoolToObject(j, "committed", true);
		cJSON_AddNumberToObject(j, "height", (double)out->height);
		if (c->op == MC_NODE_OP_ROTATE)
			cJSON_AddStringToObject(j, "key", hex);
		print_json(j);
	} else if (cli->quiet) {
		/* nothing */
	} else if (c->op == MC_NODE_OP_ROTATE) {
		printf(_("the node's key is now %s: the rotation is in block %llu, the new key signs from block %llu\n"),
		       hex, (unsigned long long)out->height, (unsigned long long)out->height + 1);
	} else if (c->op == MC_NODE_OP_ADD && was_member) {
		printf(_("the node's address is now %.*s (block %llu)\n"), (int)c->add.url_len,
		       (const char *)c->add.url, (unsigned long long)out->height);
	} else {
		printf(c->op == MC_NODE_OP_ADD ? _("node added in block %llu\n") : _("node removed in block %llu\n"),
		       (unsigned long long)out->height);
	}
}

/* A quorum approved c (not a promotion): its transaction, in a block this
 * node makes. */
static int change_commit(struct mc_cli *cli, const struct change *c, const struct set_ctx *sc,
			 const struct mc_key *node, struct mc_err *err)
{
	struct mc_buf body;
	struct submit_ctx sx = { node, &body, c->op == MC_NODE_OP_ADD ? MC_TX_NODE_ADD
					    : c->op == MC_NODE_OP_ROTATE ? MC_TX_NODE_ROTATE : MC_TX_NODE_REMOVE };
	struct mc_produced out;
	bool was_member = in_set(sc, c->add.pk);   /* a validator's NODE_ADD: its new address */
	int rc;

	mc_buf_init(&body);
	if (c->op == MC_NODE_OP_ADD)
		mc_node_add_encode(&c->add, &body);
	else if (c->op == MC_NODE_OP_ROTATE)
		mc_node_rotate_encode(&c->ro, &body);
	else
		mc_node_remove_encode(&c->rm, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(err, EX_OSERR, _("out of memory"))
				  : mc_chain_produce(cli->store, node, change_build, &sx, &out, err);
	if (rc == 0)
		change_committed(cli, c, &out, was_member);
	mc_buf_release(&body);
	return rc;
}

/* Short of a quorum: the token with the approvals so far, for the next
 * validator's operator. */
static int change_pending(struct mc_cli *cli, struct change *c, const struct set_ctx *sc, struct mc_err *err)
{
	struct mc_buf body;
	char *hex;
	int rc = 0;

	mc_buf_init(&body);
	change_encode(c, &body);
	hex = mc_buf_failed(&body) ? NULL : malloc(2 * body.len + 1);
	if (!hex) {
		rc = mc_err_set(err, EX_OSERR, _("out of memory"));
	} else {
		mc_hex(body.data, body.len, hex);
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddBoolToObject(j, "committed", false);
			cJSON_AddNumberToObject(j, "approvals", approvals_of(c)->count);
			cJSON_AddNumberToObject(j, "needed", (double)mc_quorum(sc->nval));
			cJSON_AddStringToObject(j, "token", hex);
			print_json(j);
		} else
			printf(_("%u of %zu approvals needed so far. On another validator run:\n  medchain node approve %s\n"),
			       (unsigned)approvals_of(c)->count, mc_quorum(sc->nval), hex);
		free(hex);
	}
	mc_buf_release(&body);
	return rc;
}

/* Adds this node's approval; commits the change at a quorum, else prints
 * the token for the next validator. */
static int approve_and_go(struct mc_cli *cli, struct change *c, struct mc_err *err)
{
	struct set_ctx sc;
	struct mc_approval mine;
	uint8_t d[MC_HASH_LEN];

	memset(&sc, 0, sizeof(sc));
	/* the set first: a refusal is said before any passphrase is asked */
	if (mc_store_read(cli->store, set_txn, &sc, err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, err) != 0 ||
	    approve_check(c, &sc, cli->node_key, err) != 0)
		return -1;
	change_digest(c, sc.head.chain_id, d);
	mc_approval_sign(d, cli->node_key->sk, cli->node_key->pk, &mine);
	if (mc_approvals_add(approvals_of(c), &mine, err) != 0)
		return -1;
	if (approvals_of(c)->count < mc_quorum(sc.nval))
		return change_pending(cli, c, &sc, err);
	if (c->op == MC_NODE_OP_PROMOTE)
		return promote_via_serve(cli, c->pr.leader, &c->pr, err);
	return change_commit(cli, c, &sc, cli->node_key, err);
}

static int parse_key(const char *s, uint8_t pk[MC_PK_LEN])
{
	return strlen(s) == 2 * MC_PK_LEN && mc_unhex(s, pk, MC_PK_LEN) == 0 ? 0 : -1;
}

int cmd_node_add(struct mc_cli *cli, struct mc_args *a)
{
	const char *name = NULL;
	struct mc_opt opts[] = { { "--name", true, &name, NULL } };
	char *pos[2];
	int npos;
	struct change c;
	struct set_ctx sc;
	struct mc_err err = { 0 };

	if (mc_cli_parse(a, opts, 1, pos, 2, &npos) != 0)
		return EX_USAGE;
	if (npos != 2)
		return mc_cli_usage(_("node add needs URL and KEY"));
	memset(&c, 0, sizeof(c));
	c.op = MC_NODE_OP_ADD;
	if (!mc_node_url_valid((const uint8_t *)pos[0], strlen(pos[0])))
		return mc_cli_usage(_("URL must be http:// or https:// with no spaces, at most %d bytes"), MC_URL_MAX);
	if (parse_key(pos[1], c.add.pk) != 0)
		return mc_cli_usage(_("KEY must be the node's public key: 64 hex digits"));
	if (!name)
		name = pos[0];
	if (!*name || strlen(name) > MC_NAME_MAX || !mc_text_clean(name, strlen(name)))
		return mc_cli_usage(_("--name must be 1 to %d characters of text"), MC_NAME_MAX);
	c.add.name = (const uint8_t *)name;
	c.add.name_len = strlen(name);
	c.add.url = (const uint8_t *)pos[0];
	c.add.url_len = strlen(pos[0]);
	memset(&sc, 0, sizeof(sc));
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_store_read(cli->store, set_txn, &sc, &err) != 0)
		return mc_cli_fail(&err);
	c.add.epoch = sc.epoch;
	return approve_and_go(cli, &c, &err) == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_node_remove(struct mc_cli *cli, struct mc_args *a)
{
	bool yes = false, dry = false;
	struct mc_opt opts[] = {
		{ "--yes", false, NULL, &yes },
		{ "--dry-run", false, NULL, &dry },
	};
	char *pos[1];
	int npos;
	struct change c;
	struct set_ctx sc;
	struct mc_err err = { 0 };
	char hex[2 * MC_PK_LEN + 1], question[512];

	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("node remove needs KEY"));
	memset(&c, 0, sizeof(c));
	c.op = MC_NODE_OP_REMOVE;
	if (parse_key(pos[0], c.rm.pk) != 0)
		return mc_cli_usage(_("KEY must be the node's public key: 64 hex digits"));
	mc_hex(c.rm.pk, MC_PK_LEN, hex);
	memset(&sc, 0, sizeof(sc));
	cli->dry_run = dry;   /* the store read-only, no key */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_store_read(cli->store, set_txn, &sc, &err) != 0)
		return mc_cli_fail(&err);
	c.rm.epoch = sc.epoch;
	/* the chain's own rules (valset.h), checked before anything is signed */
	if (!in_set(&sc, c.rm.pk)) {
		mc_err_set(&err, EX_DATAERR, _("'%s' is not in the validator set"), hex);
		return mc_cli_fail(&err);
	}
	if (sc.nval < 2) {
		mc_err_set(&err, EX_DATAERR, _("the last validator cannot be removed"));
		return mc_cli_fail(&err);
	}
	if (dry) {
		if (cli->json)
			return dry_run_json("remove", hex, &sc);
		printf(_("would approve removing validator %s from the set of %zu; the removal commits once %zu approve; nothing was written\n"),
		       hex, sc.nval, mc_quorum(sc.nval));
		return 0;
	}
	snprintf(question, sizeof(question),
		 _("approve removing validator %s from the set of %zu?"), hex, sc.nval);
	if (mc_cli_confirm(yes, question, &err) != 0)
		return mc_cli_fail(&err);
	return approve_and_go(cli, &c, &err) == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_node_promote(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };
	struct set_ctx sc;
	struct change c;

	if (mc_cli_parse(a, NULL, 0, pos, 1, &npos) != 0)
		return EX_USAGE;
	memset(&c, 0, sizeof(c));
	c.op = MC_NODE_OP_PROMOTE;
	if (npos != 1 || parse_key(pos[0], c.pr.leader) != 0)
		return mc_cli_usage(_("node promote needs the new leader's key: 64 hex digits (`node list` shows them)"));
	memset(&sc, 0, sizeof(sc));
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_store_read(cli->store, set_txn, &sc, &err) != 0)
		return mc_cli_fail(&err);
	if (!in_set(&sc, c.pr.leader)) {
		mc_err_set(&err, EX_DATAERR, _("that key is not a validator (`node list` shows them)"));
		return mc_cli_fail(&err);
	}
	if (memcmp(sc.leader, c.pr.leader, MC_PK_LEN) == 0) {
		mc_err_set(&err, EX_DATAERR, _("that node is the leader already (view %llu)"), (unsigned long long)sc.view);
		return mc_cli_fail(&err);
	}
	/* A silent leader: the validators agree by themselves. */
	if (promote_via_serve(cli, c.pr.leader, NULL, &err) == 0)
		return 0;
	if (err.code != EX_TEMPFAIL && err.code != EX_DATAERR)
		return mc_cli_fail(&err);
	/* A live one: the operators approve it, a quorum of them. */
	if (!cli->quiet)
		fprintf(stderr, _("medchain: the validators did not agree by themselves (%s): the promotion needs the operators' approvals\n"),
			err.msg);
	mc_err_clear(&err);
	c.pr.from_view = sc.view;
	return approve_and_go(cli, &c, &err) == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_node_approve(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos, rc;
	struct change c;
	struct mc_err err = { 0 };
	size_t len;

	if (mc_cli_parse(a, NULL, 0, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("node approve needs the proposal token `node add`, `node remove`, `node promote` or `node rotate-key` printed"));
	len = strlen(pos[0]);
	memset(&c, 0, sizeof(c));
	if (len < 2 || len % 2 || len >= TOKEN_MAX || !(c.raw = malloc(len / 2)) ||
	    mc_unhex(pos[0], c.raw, len / 2) != 0) {
		free(c.raw);
		return mc_cli_usage(_("the proposal token is not one `node add`, `node remove`, `node promote` or `node rotate-key` printed"));
	}
	c.op = c.raw[0];
	rc = c.op == MC_NODE_OP_ADD ? mc_node_add_decode(c.raw + 1, len / 2 - 1, &c.add, &err)
	   : c.op == MC_NODE_OP_REMOVE ? mc_node_remove_decode(c.raw + 1, len / 2 - 1, &c.rm, &err)
	   : c.op == MC_NODE_OP_PROMOTE ? mc_promote_decode(c.raw + 1, len / 2 - 1, &c.pr, &err)
	   : c.op == MC_NODE_OP_ROTATE ? mc_node_rotate_decode(c.raw + 1, len / 2 - 1, &c.ro, &err)
	   : mc_err_set(&err, EX_DATAERR, _("unknown kind of proposal"));
	if (rc != 0)
		mc_err_wrap(&err, _("the proposal token is not one `node add`, `node remove`, `node promote` or `node rotate-key` printed"));
	if (rc == 0 && mc_cmd_setup(cli, MC_SETUP_STORE, &err) == 0) {
		struct set_ctx sc;
		uint8_t d[MC_HASH_LEN];
		const struct mc_approvals *ap = approvals_of(&c);

		memset(&sc, 0, sizeof(sc));
		rc = mc_store_read(cli->store, set_txn, &sc, &err);
		/* every approval so far must hold before this node adds its own */
		if (rc == 0) {
			change_digest(&c, sc.head.chain_id, d);
			for (uint16_t i = 0; i < ap->count && rc == 0; i++)
				if (mc_approval_verify(d, &ap->a[i]) != 0)
					rc = mc_err_set(&err, EX_DATAERR, _("an approval in the token does not verify"));
			/* a rotation: the new key's holder agreed to it */
			if (rc == 0 && c.op == MC_NODE_OP_ROTATE &&
			    mc_sign_verify(c.ro.new_pk, d, MC_HASH_LEN, c.ro.new_sig) != 0)
				rc = mc_err_set(&err, EX_DATAERR, _("the new key's signature in the token does not verify"));
		}
		if (rc == 0)
			rc = approve_and_go(cli, &c, &err);
	} else {
		rc = -1;
	}
	free(c.raw);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- node rotate-key ------------------------------------------------------- */

/* The next key: keys/node.next.key when a rotation is under way (the same
 * key again), else a new one, written sealed like node.key (under the
 * node's passphrase) or unsealed like it, durably, before anything is
 * signed with it. */
static int next_key(struct mc_cli *cli, bool node_sealed, bool *made, struct mc_key **out, struct mc_err *err)
{
	char keys[PATH_MAX], path[PATH_MAX];

	*made = false;
	mc_cli_path(cli, keys, sizeof(keys), "keys");
	mc_nodekey_next_path(keys, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return mc_cli_load_key_file(cli, path, out, err);
	if (node_sealed && mc_cli_passphrase(cli, false, err) != 0)
		return -1;
	if (mc_key_generate(false, out, err) != 0)
		return -1;
	if (mc_cli_save_key(path, *out, node_sealed ? cli->pass : NULL, node_sealed ? cli->passlen : 0, err) != 0) {
		mc_key_free(*out);
		*out = NULL;
		return -1;
	}
	*made = true;
	return 0;
}

/* The key files follow the chain: a rotation it has already settles them
 * (keys/node.next.key becomes node.key). */
static int settle_keys(struct mc_cli *cli, struct mc_err *err)
{
	char path[PATH_MAX];
	enum mc_nodekey_state st;

	mc_cli_path(cli, path, sizeof(path), "keys");
	return mc_nodekey_settle(path, cli->store, &st, err);
}

/* This node's key (pk, hex; *sealed: whether node.key is) and the
 * validator set sc, after settling a rotation the chain has already
 * (not with --dry-run, which writes nothing); a node that is not a
 * validator has nothing to rotate on the chain. */
static int rotate_key_state(struct mc_cli *cli, bool dry, uint8_t pk[MC_PK_LEN], bool *sealed,
			    char hex[2 * MC_PK_LEN + 1], struct set_ctx *sc, struct mc_err *err)
{
	char path[PATH_MAX];

	if (!dry && settle_keys(cli, err) != 0)
		return -1;
	mc_cli_path(cli, path, sizeof(path), "keys/node.key");
	if (mc_key_peek(path, pk, sealed, err) != 0 || mc_store_read(cli->store, set_txn, sc, err) != 0)
		return -1;
	mc_hex(pk, MC_PK_LEN, hex);
	/* the chain's own rules (valset.h), checked before anything is made */
	if (!in_set(sc, pk))
		return mc_err_set(err, EX_NOPERM,
				  _("this node (%.16s) is not a validator: only a validator's key is rotated on the chain"),
				  hex);
	return 0;
}

/* The NODE_ROTATE change from old_pk to next's key, signed by next. */
static void rotate_key_change(const uint8_t old_pk[MC_PK_LEN], const struct mc_key *next, const struct set_ctx *sc,
			      struct change *c)
{
	uint8_t d[MC_HASH_LEN];

	memset(c, 0, sizeof(*c));
	c->op = MC_NODE_OP_ROTATE;
	memcpy(c->ro.old_pk, old_pk, MC_PK_LEN);
	memcpy(c->ro.new_pk, next->pk, MC_PK_LEN);
	c->ro.epoch = sc->epoch;
	mc_node_rotate_digest(sc->head.chain_id, c->ro.old_pk, c->ro.new_pk, c->ro.epoch, d);
	mc_sign(next->sk, d, MC_HASH_LEN, c->ro.new_sig);
}

int cmd_node_rotate_key(struct mc_cli *cli, struct mc_args *a)
{
	bool yes = false, dry = false, sealed = false, made = false;
	struct mc_opt opts[] = {
		{ "--yes", false, NULL, &yes },
		{ "--dry-run", false, NULL, &dry },
	};
	char *pos[1], hex[2 * MC_PK_LEN + 1], question[512];
	int npos, rc;
	uint8_t pk[MC_PK_LEN];
	struct mc_key *next = NULL;
	struct mc_err err = { 0 };
	struct set_ctx sc;
	struct change c;

	if (mc_cli_parse(a, opts, 2, pos, 0, &npos) != 0)
		return EX_USAGE;
	memset(&sc, 0, sizeof(sc));
	cli->dry_run = dry;   /* the store read-only, no key */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || rotate_key_state(cli, dry, pk, &sealed, hex, &sc, &err) != 0)
		return mc_cli_fail(&err);
	if (dry) {
		if (cli->json)
			return dry_run_json("node", hex, &sc);
		printf(_("would make a new key for this node (%s) and approve the rotation; it commits once %zu of %zu validators approve; nothing was written\n"),
		       hex, mc_quorum(sc.nval), sc.nval);
		return 0;
	}
	snprintf(question, sizeof(question), _("replace this node's key %.16s by a new one?"), hex);
	if (mc_cli_confirm(yes, question, &err) != 0)
		return mc_cli_fail(&err);
	if (next_key(cli, sealed, &made, &next, &err) != 0)
		return mc_cli_fail(&err);
	if (!made && !cli->quiet && !cli->json)
		fprintf(stderr, _("medchain: a rotation was under way: going on with its new key (keys/node.next.key)\n"));
	rotate_key_change(pk, next, &sc, &c);
	mc_key_free(next);
	mc_nodekey_test_crash("rotate-before-submit");
	rc = approve_and_go(cli, &c, &err);
	if (rc == 0)
		mc_nodekey_test_crash("rotate-after-commit");
	/* committed here (or a token printed): the key files follow the chain */
	if (rc == 0)
		rc = settle_keys(cli, &err);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- node list ------------------------------------------------------------ */

struct live {
	cJSON *status;       /* serve.status.json, or NULL */
	bool fresh;          /* written in the last few seconds */
};

static const cJSON *live_peer(const struct live *l, const char *hex)
{
	const cJSON *peers = l->status ? cJSON_GetObjectItemCaseSensitive(l->status, "peers") : NULL, *p;

	if (!cJSON_IsArray(peers))
		return NULL;
	cJSON_ArrayForEach(p, peers) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "node");

		if (cJSON_IsString(n) && strcmp(n->valuestring, hex) == 0)
			return p;
	}
	return NULL;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;

	return x && cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *x = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;

	return x && cJSON_IsString(x) && x->valuestring ? x->valuestring : "";
}

struct list_ctx {
	struct mc_cli *cli;
	struct live *live;
	const uint8_t *self;
	uint8_t leader[MC_PK_LEN];
	uint64_t height;
	cJSON *arr;
	int rows;
};

static int list_row(const uint8_t pk[MC_PK_LEN], uint64_t added, uint64_t removed, const char *url, void *vctx)
{
	struct list_ctx *c = vctx;
	char hex[2 * MC_PK_LEN + 1];
	const cJSON *p;
	bool self = memcmp(pk, c->self, MC_PK_LEN) == 0;
	bool leader = memcmp(pk, c->leader, MC_PK_LEN) == 0;
	double h, seen;
	const char *state;

	if (removed)
		return 0;
	mc_hex(pk, MC_PK_LEN, hex);
	p = self ? c->live->status : live_peer(c->live, hex);
	h = self ? (double)c->height : num(p, "height");
	seen = self ? num(c->live->status, "time_ms") : num(p, "last_seen_ms");
	if (!c->live->fresh)
		state = "unknown";
	else if (self)
		state = "up";
	else
		state = p && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "up")) ? "up" : "down";
	if (c->cli->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", hex);
		mc_json_add_str(o, "url", url);
		cJSON_AddNumberToObject(o, "added", (double)added);
		cJSON_AddBoolToObject(o, "self", self);
		cJSON_AddBoolToObject(o, "leader", leader);
		cJSON_AddStringToObject(o, "state", state);
		cJSON_AddNumberToObject(o, "height", h);
		cJSON_AddNumberToObject(o, "lag", h >= 0 ? (double)c->height - h : -1);
		cJSON_AddNumberToObject(o, "last_seen_ms", seen);
		mc_json_add_str(o, "version", self ? PACKAGE_VERSION : str(p, "version"));
		cJSON_AddItemToArray(c->arr, o);
	} else {
		char hs[24] = "-", lag[24] = "-", age[32] = "-";

		if (h >= 0) {
			snprintf(hs, sizeof(hs), "%.0f", h);
			snprintf(lag, sizeof(lag), "%.0f", (double)c->height - h);
		}
		if (seen > 0)
			snprintf(age, sizeof(age), _("%.0fs ago"), ((double)mc_now_ms() - seen) / 1000.0);
		printf("%-16.16s %s%-6s %-28.28s %8s %5s %-10s %-8s %s\n", hex, leader ? "*" : " ", state,
		       *url ? url : (self ? _("(this node)") : "-"), hs, lag, age,
		       self ? PACKAGE_VERSION : str(p, "version"), self ? _("(this node)") : "");
	}
	c->rows++;
	return 0;
}

static int list_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list_ctx *c = vctx;
	struct mc_head head;
	uint64_t view;

	if (mc_chain_head(t, &head, err) != 0)
		return -1;
	if (head.empty)
		return mc_err_set(err, EX_UNAVAILABLE,
				  _("this node has no chain yet (it is still joining): see `serve` and [node] peers"));
	if (mc_chain_leader(t, c->leader, &view, err) != 0)
		return -1;
	c->height = head.height;
	if (mc_cli_list_header(c->cli))
		printf("%-16s %-7s %-28s %8s %5s %-10s %s\n", _("NODE"), _("STATE"), _("URL"), _("HEIGHT"),
		       _("LAG"), _("SEEN"), _("VERSION"));
	return mc_nodes_each(t, list_row, c, err);
}

static void live_load(struct mc_cli *cli, struct live *l)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned char *text = NULL;
	size_t n = 0;
	struct mc_err err = { 0 };

	memset(l, 0, sizeof(*l));
	mc_cli_path(cli, path, sizeof(path), "serve.status.json");
	if (stat(path, &st) != 0 || mc_cli_read_all(path, 4u << 20, &text, &n, &err) != 0)
		return;
	l->status = cJSON_ParseWithLength((const char *)text, n);
	l->fresh = l->status && time(NULL) - st.st_mtime <= 5;
	free(text);
}

int cmd_node_list(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos, rc;
	struct mc_err err = { 0 };
	struct live live;
	struct list_ctx c;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		return mc_cli_fail(&err);
	live_load(cli, &live);
	memset(&c, 0, sizeof(c));
	c.cli = cli;
	c.live = &live;
	c.self = cli->node_key->pk;
	c.arr = cJSON_CreateArray();
	rc = mc_store_read(cli->store, list_txn, &c, &err);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddBoolToObject(j, "serve", live.fresh);
			if (cJSON_AddItemToObject(j, "nodes", c.arr))
				c.arr = NULL;
		}
		rc = mc_cli_json_print(j, &err);
	} else if (rc == 0 && !live.fresh && !cli->quiet) {
		printf(_("(no live status: `medchain serve` is not running on this node)\n"));
	}
	cJSON_Delete(c.arr);
	cJSON_Delete(live.status);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
