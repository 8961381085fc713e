/* SPDX-License-Identifier: Apache-2.0 */
/* medchain identity keygen | add | list | revoke */
#include "config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "cli.h"
#include "crypto.h"
#include "commands.h"
#include "i18n.h"
#include "identity.h"
#include "records.h"
#include "text.h"

/* identity keygen: a new key in its holder's account, sealed under the
 * holder's own passphrase; the admin enrols only its public key (identity
 * add --key). Needs no data dir. */
int cmd_identity_keygen(struct mc_cli *cli, struct mc_args *a)
{
	const char *outfile = NULL;
	bool nopass = false;
	struct mc_opt opts[] = {
		{ "-o", true, &outfile, NULL },
		{ "--no-passphrase", false, NULL, &nopass },
	};
	char *pos[1], *pass = NULL;
	size_t passlen = 0;
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_key *key = NULL;
	char hex[65], def[80];

	if (mc_cli_parse(a, opts, 2, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (outfile && !*outfile)
		return mc_cli_usage(_("-o needs a file name"));
	if (nopass && cli->passfile)
		return mc_cli_usage(_("--no-passphrase and --passphrase-file exclude each other"));
	if (mc_key_generate(false, &key, &err) != 0)
		goto out;
	mc_hex(key->pk, MC_PK_LEN, hex);
	if (!outfile) {
		snprintf(def, sizeof(def), "%s.key", hex);
		outfile = def;
	}
	if (!nopass && mc_cli_new_passphrase(cli->passfile, NULL, "--passphrase-file", &pass, &passlen, &err) != 0)
		goto out;
	if (mc_cli_save_key(outfile, key, pass, passlen, &err) != 0)
		goto out;
	rc = 0;
	if (cli->json) {
		cJSON *o = cJSON_CreateObject();
		char *txt;

		cJSON_AddStringToObject(o, "key", hex);
		cJSON_AddStringToObject(o, "file", outfile);
		cJSON_AddBoolToObject(o, "sealed", !nopass);
		txt = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!txt) {
			rc = mc_err_set(&err, EX_OSERR, _("out of memory"));
			goto out;
		}
		printf("%s\n", txt);
		cJSON_free(txt);
	} else {
		printf("%s\n", hex);
	}
out:
	mc_secure_free(pass);
	mc_key_free(key);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* identity add's request, from its options. */
struct add_req {
	const char *name, *role, *org, *subject, *pubhex, *newpass;
	bool nopass;
	uint32_t roles;
	uint8_t pk[MC_PK_LEN];   /* --key's, or the key made here */
};

/* identity add's options, checked before anything is opened: 0, or the
 * exit code of a usage error. */
static int add_parse(struct mc_args *a, struct add_req *q)
{
	struct mc_opt opts[] = {
		{ "--name", true, &q->name, NULL },
		{ "--role", true, &q->role, NULL },
		{ "--org", true, &q->org, NULL },
		{ "--no-passphrase", false, NULL, &q->nopass },
		{ "--subject", true, &q->subject, NULL },
		{ "--key", true, &q->pubhex, NULL },
		{ "--new-passphrase-file", true, &q->newpass, NULL },
	};
	uint8_t xpk[MC_X25519_LEN];
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };

	memset(q, 0, sizeof(*q));
	if (mc_cli_parse(a, opts, 7, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (!q->name || !q->role)
		return mc_cli_usage(_("identity add needs --name and --role"));
	if (!*q->name || strlen(q->name) > MC_NAME_MAX || !mc_text_clean(q->name, strlen(q->name)))
		return mc_cli_usage(_("--name must be 1 to %d characters of text"), MC_NAME_MAX);
	if (q->org && (strlen(q->org) > MC_NAME_MAX || !mc_text_clean(q->org, strlen(q->org))))
		return mc_cli_usage(_("--org must be at most %d characters of text"), MC_NAME_MAX);
	if (mc_roles_parse(q->role, &q->roles, &err) != 0)
		return mc_cli_fail(&err);
	if ((q->roles & MC_ROLE_ORG) && q->roles != MC_ROLE_ORG)
		return mc_cli_usage(_("an organization identity has the org role alone"));
	if ((q->roles & MC_ROLE_PATIENT) && !q->subject)
		return mc_cli_usage(_("a patient identity needs --subject, the patient's own identifier"));
	if (!(q->roles & MC_ROLE_PATIENT) && q->subject)
		return mc_cli_usage(_("--subject is only for patient identities"));
	if (q->pubhex && (q->nopass || q->newpass))
		return mc_cli_usage(_("--key enrols a public key made elsewhere: no key is made here, so --no-passphrase and --new-passphrase-file do not apply"));
	if (q->pubhex && (strlen(q->pubhex) != 2 * MC_PK_LEN || mc_unhex(q->pubhex, q->pk, MC_PK_LEN) != 0 ||
			  mc_pk_to_x25519(q->pk, xpk) != 0))
		return mc_cli_usage(_("--key must be an Ed25519 public key, 64 hex digits (as 'identity keygen' prints it)"));
	if (q->nopass && q->newpass)
		return mc_cli_usage(_("--no-passphrase and --new-passphrase-file exclude each other"));
#ifndef MC_TEST_HOOKS
	/* A person's key made here must be sealed under a passphrase its
	 * holder types: an unsealed key, or one sealed from a file the
	 * operator wrote, is a key the operator can act with. Service
	 * identities (node, anchor, org) keep both. A test build allows them
	 * for the test suite (./configure --enable-test-hooks). */
	if (!q->pubhex && (q->nopass || q->newpass) &&
	    (q->roles & (MC_ROLE_ADMIN | MC_ROLE_CLINICIAN | MC_ROLE_AUDITOR | MC_ROLE_PATIENT | MC_ROLE_REGISTRAR)))
		return mc_cli_usage(_("a person's key made on this node is sealed under a passphrase its holder types here: --no-passphrase and --new-passphrase-file are for node, anchor and org identities; or the holder runs 'identity keygen' and you enrol the key with --key"));
#endif
	if ((q->roles & MC_ROLE_ORG) && q->newpass)
		return mc_cli_usage(_("an organization key made here is one of this node's keys, sealed under the node's passphrase: --new-passphrase-file is for staff keys (another organization's node makes its own key: enrol it with --key)"));
	return 0;
}

/* Staff belong to this node's organization unless --org names another:
 * the chain then holds them to it as the custodian of what they store (an
 * identity with no organization is bound to none; docs/decisions.md).
 * *org: the name of the organization identity keys/org.key holds (in
 * nodeorg), left as it is when the node has no organization key. */
static int add_node_org(struct mc_cli *cli, struct mc_identity *nodeorg, const char **org, struct mc_err *err)
{
	char orgpath[PATH_MAX], orghex[2 * MC_PK_LEN + 1];
	uint8_t orgpk[MC_PK_LEN];
	bool sealed;

	mc_cli_path(cli, orgpath, sizeof(orgpath), "keys/org.key");
	if (access(orgpath, F_OK) != 0)
		return 0;
	if (mc_key_peek(orgpath, orgpk, &sealed, err) != 0)
		return -1;
	mc_hex(orgpk, MC_PK_LEN, orghex);
	if (mc_cli_find_identity(cli, orghex, nodeorg, err) != 0)
		return -1;
	*org = nodeorg->name;
	return 0;
}

/* The new identity's key when --key gave none: made here and saved in
 * path (keys/<hex>.key), its public key in q->pk. Sealed unless asked
 * otherwise: a staff key under the passphrase its holder types, never the
 * operator's; an organization key made here is the node's own (it reads
 * with it), under the node's passphrase, even when no key so far needed
 * one. */
static int add_make_key(struct mc_cli *cli, struct add_req *q, char *path, size_t n, struct mc_err *err)
{
	bool org = (q->roles & MC_ROLE_ORG) != 0;
	struct mc_key *key = NULL;
	char hex[65], rel[128], *pass = NULL;
	size_t passlen = 0;
	int rc = -1;

	if (mc_key_generate(org, &key, err) != 0)
		goto out;
	memcpy(q->pk, key->pk, MC_PK_LEN);
	mc_hex(key->pk, MC_PK_LEN, hex);
	snprintf(rel, sizeof(rel), "keys/%s.key", hex);
	mc_cli_path(cli, path, n, rel);
	if (!q->nopass && org && mc_cli_passphrase(cli, true, err) != 0)
		goto out;
	if (!q->nopass && !org &&
	    mc_cli_new_passphrase(q->newpass, q->name, "--new-passphrase-file", &pass, &passlen, err) != 0)
		goto out;
	rc = mc_cli_save_key(path, key, q->nopass ? NULL : org ? cli->pass : pass,
			     q->nopass ? 0 : org ? cli->passlen : passlen, err);
out:
	mc_secure_free(pass);
	mc_key_free(key);
	return rc;
}

/* The IDENTITY_ENROLL of q, in org (an organization belongs to itself),
 * with the subject's pseudonym subj (a patient) or NULL. */
static int add_submit(struct mc_cli *cli, const struct add_req *q, const char *org, const uint8_t *subj,
		      struct mc_produced *out, struct mc_err *err)
{
	struct mc_enroll e;
	struct mc_buf body;
	int rc;

	memset(&e, 0, sizeof(e));
	memcpy(e.pk, q->pk, MC_PK_LEN);
	e.roles = q->roles;
	e.name = (const uint8_t *)q->name;
	e.name_len = strlen(q->name);
	if (q->roles & MC_ROLE_ORG)
		org = q->name;
	e.org = (const uint8_t *)(org ? org : "");
	e.org_len = org ? strlen(org) : 0;
	e.subject = subj;
	e.subject_len = subj ? MC_HASH_LEN : 0;
	mc_buf_init(&body);
	mc_enroll_encode(&e, &body);
	rc = mc_chain_submit(cli->store, cli->node_key, cli->actor_key, MC_TX_IDENTITY_ENROLL, body.data, body.len,
			     out, err);
	mc_buf_release(&body);
	return rc;
}

int cmd_identity_add(struct mc_cli *cli, struct mc_args *a)
{
	struct add_req q;
	int rc = add_parse(a, &q);
	uint8_t subj[MC_HASH_LEN];
	struct mc_err err = { 0 };
	struct mc_produced out;
	struct mc_identity nodeorg;
	char hex[65], path[PATH_MAX] = "";
	const char *org;

	if (rc != 0)
		return rc;
	rc = -1;
	org = q.org;   /* or, for staff, this node's organization (add_node_org) */
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto out;
	if (q.subject && mc_cli_subject(cli, q.subject, subj, &err) != 0)
		goto out;
	if (!org && !(q.roles & MC_ROLE_ORG) && add_node_org(cli, &nodeorg, &org, &err) != 0)
		goto out;
	if (!q.pubhex && add_make_key(cli, &q, path, sizeof(path), &err) != 0)
		goto out;
	mc_hex(q.pk, MC_PK_LEN, hex);
	rc = add_submit(cli, &q, org, q.subject ? subj : NULL, &out, &err);
	if (rc != 0) {
		if (path[0])
			unlink(path);   /* the key made for it enrols nobody */
		goto out;
	}
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "key", hex);
			cJSON_AddNumberToObject(j, "block", (double)out.height);
		}
		rc = mc_cli_json_print(j, &err);
	} else {
		printf("%s\n", hex);
	}
out:
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

struct list_ctx {
	struct mc_cli *cli;
	int n;
	cJSON *arr;   /* with --json: the identities */
};

static int list_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;
	struct mc_cursor *c;
	const void *k, *v;
	size_t kn, vn;
	int rc;

	if (mc_cursor_open(t, MC_DB_IDENTITIES, &c, err) != 0)
		return -1;
	if (!lc->cli->json && mc_cli_list_header(lc->cli))
		printf("%-64s  %-20s %-24s %s\n", _("KEY"), _("NAME"), _("ROLES"), _("ORGANIZATION"));
	for (rc = mc_cursor_seek(c, NULL, 0, &k, &kn, &v, &vn, err); rc == 0;
	     rc = mc_cursor_next(c, &k, &kn, &v, &vn, err)) {
		struct mc_identity id;
		char hex[65], roles[128];

		if (kn != MC_PK_LEN || mc_identity_decode(k, v, vn, &id, err) != 0) {
			rc = -1;
			break;
		}
		mc_hex(id.pk, MC_PK_LEN, hex);
		mc_roles_format(id.roles, roles, sizeof(roles));
		if (lc->cli->json) {
			cJSON *o = cJSON_CreateObject();

			if (!o || !cJSON_AddItemToArray(lc->arr, o)) {
				cJSON_Delete(o);
				rc = mc_err_set(err, EX_OSERR, _("out of memory"));
				break;
			}
			cJSON_AddStringToObject(o, "key", hex);
			mc_json_add_str(o, "name", id.name);
			mc_json_add_str(o, "org", id.org);
			cJSON_AddStringToObject(o, "roles", roles);
			cJSON_AddNumberToObject(o, "enrolled", (double)id.enrolled);
			if (id.revoked == MC_NOT_REVOKED)
				cJSON_AddNullToObject(o, "revoked");
			else
				cJSON_AddNumberToObject(o, "revoked", (double)id.revoked);
		} else {
			printf("%s  %-20s %-24s %s%s\n", hex, id.name, roles, id.org,
			       id.revoked == MC_NOT_REVOKED ? "" : _("  (revoked)"));
		}
		lc->n++;
	}
	mc_cursor_close(c);
	return rc < 0 ? -1 : 0;
}

int cmd_identity_list(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_err err = { 0 };
	struct list_ctx lc = { cli, 0, NULL };
	char *pos[1];
	int npos;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	return mc_cmd_list(cli, list_txn, &lc, &lc.arr, &err) == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_identity_revoke(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = "";
	struct mc_opt opts[] = { { "--reason", true, &reason, NULL } };
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_identity target;
	struct mc_revoke r;
	struct mc_buf body;
	struct mc_produced out;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("identity revoke needs the identity's key or name"));
	if (strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_cli_usage(_("--reason must be at most %d characters of text"), MC_REASON_MAX);
	/* the store first: a refusal is said before any passphrase is asked */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_cli_find_identity(cli, pos[0], &target, &err) != 0)
		goto out;
	if (target.revoked != MC_NOT_REVOKED) {
		mc_err_set(&err, EX_DATAERR, _("identity '%s' is already revoked"), pos[0]);
		goto out;
	}
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto out;
	memset(&r, 0, sizeof(r));
	memcpy(r.pk, target.pk, MC_PK_LEN);
	r.reason = (const uint8_t *)reason;
	r.reason_len = strlen(reason);
	mc_buf_init(&body);
	mc_revoke_encode(&r, &body);
	rc = mc_chain_submit(cli->store, cli->node_key, cli->actor_key, MC_TX_IDENTITY_REVOKE, body.data,
			     body.len, &out, &err);
	mc_buf_release(&body);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddTrueToObject(j, "revoked");
			cJSON_AddNumberToObject(j, "block", (double)out.height);
		}
		rc = mc_cli_json_print(j, &err);
	} else if (rc == 0 && !cli->quiet) {
		printf(_("revoked in block %llu\n"), (unsigned long long)out.height);
	}
out:
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

struct rotate_ctx {
	const uint8_t *new_pk;
	bool enrolled;               /* the new key is already an identity's */
	uint8_t chain_id[MC_HASH_LEN];
};

static int rotate_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct rotate_ctx *rc = vctx;
	struct mc_identity id;
	struct mc_head head;
	int r = mc_identity_get(t, rc->new_pk, &id, err);

	if (r < 0 || mc_chain_head(t, &head, err) != 0)
		return -1;
	rc->enrolled = r == 0;
	memcpy(rc->chain_id, head.chain_id, MC_HASH_LEN);
	return 0;
}

/* identity rotate's request, from its options. */
struct rot_req {
	const char *who, *pubhex, *newpass, *oldpass, *reason;
	bool lost;
	uint8_t pk[MC_PK_LEN];   /* the new key */
};

static int rotate_parse(struct mc_args *a, struct rot_req *q)
{
	struct mc_opt opts[] = {
		{ "--key", true, &q->pubhex, NULL },
		{ "--new-passphrase-file", true, &q->newpass, NULL },
		{ "--old-passphrase-file", true, &q->oldpass, NULL },
		{ "--lost-key", false, NULL, &q->lost },
		{ "--reason", true, &q->reason, NULL },
	};
	uint8_t xpk[MC_X25519_LEN];
	char *pos[1];
	int npos;

	memset(q, 0, sizeof(*q));
	q->reason = "";
	if (mc_cli_parse(a, opts, 5, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !q->pubhex)
		return mc_cli_usage(_("identity rotate needs the identity's key or name, and --key with its new public key"));
	q->who = pos[0];
	if (strlen(q->pubhex) != 2 * MC_PK_LEN || mc_unhex(q->pubhex, q->pk, MC_PK_LEN) != 0 ||
	    mc_pk_to_x25519(q->pk, xpk) != 0)
		return mc_cli_usage(_("--key must be an Ed25519 public key, 64 hex digits (as 'identity keygen' prints it)"));
	if (strlen(q->reason) > MC_REASON_MAX || !mc_text_clean(q->reason, strlen(q->reason)))
		return mc_cli_usage(_("--reason must be at most %d characters of text"), MC_REASON_MAX);
	if (q->lost && !*q->reason)
		return mc_cli_usage(_("--lost-key needs --reason: why the old key cannot sign (it shows in the audit trail and in alerts)"));
	if (q->lost && q->oldpass)
		return mc_cli_usage(_("--lost-key and --old-passphrase-file exclude each other: a lost key signs nothing"));
	return 0;
}

/* Whether target may move to q's new key (newhex): an active person's
 * identity, not this node's own admin key, and a new key no identity
 * holds. rx: the chain's id, for the statement the holder signs. */
static int rotate_check(struct mc_cli *cli, const struct rot_req *q, const struct mc_identity *target,
			const char *newhex, struct rotate_ctx *rx, struct mc_err *err)
{
	char path[PATH_MAX];
	uint8_t apk[MC_PK_LEN];
	bool sealed;

	if (target->revoked != MC_NOT_REVOKED)
		return mc_err_set(err, EX_DATAERR, _("identity '%s' is revoked: enrol its holder anew"), q->who);
	if (target->roles & ~(uint32_t)MC_ROLES_PEOPLE)
		return mc_err_set(err, EX_DATAERR,
				  _("identity '%s' is a node, anchor or organization key: those are not rotated with identity rotate"),
				  q->who);
	if (memcmp(target->pk, q->pk, MC_PK_LEN) == 0)
		return mc_err_set(err, EX_DATAERR, _("--key is the identity's current key"));
	/* keys/admin.key signs for this node: rotated away, the node would
	 * sign with a revoked key */
	mc_cli_path(cli, path, sizeof(path), "keys/admin.key");
	if (mc_key_peek(path, apk, &sealed, NULL) == 0 && memcmp(apk, target->pk, MC_PK_LEN) == 0)
		return mc_err_set(err, EX_DATAERR,
				  _("identity '%s' is this node's own admin key (keys/admin.key), which the node signs with: enrol another admin, then revoke this one"),
				  q->who);
	if (mc_store_read(cli->store, rotate_txn, rx, err) != 0)
		return -1;
	if (rx->enrolled)
		return mc_err_set(err, EX_DATAERR,
				  _("the key %s is already an enrolled identity's: the holder makes a new one with 'identity keygen'"),
				  newhex);
	return 0;
}

/* The rotation r of target to q's key, signed by its holder: the new key,
 * then (unless lost) the old one. r borrows q's reason. */
static int rotate_sign(struct mc_cli *cli, const struct rot_req *q, const struct mc_identity *target,
		       const uint8_t chain_id[MC_HASH_LEN], struct mc_rotate *r, struct mc_err *err)
{
	char whose[MC_NAME_MAX + 64];
	uint8_t st[MC_HASH_LEN];
	struct mc_key *newkey = NULL, *oldkey = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	memcpy(r->old_pk, target->pk, MC_PK_LEN);
	memcpy(r->new_pk, q->pk, MC_PK_LEN);
	r->kind = q->lost ? MC_ROTATE_LOST_KEY : MC_ROTATE_HOLDER;
	r->reason = (const uint8_t *)q->reason;
	r->reason_len = strlen(q->reason);
	mc_rotate_statement(chain_id, r->old_pk, r->new_pk, r->kind, st);
	snprintf(whose, sizeof(whose), _("the new key of %s"), target->name);
	if (mc_cli_load_holder_key(cli, q->pk, whose, q->newpass, "--new-passphrase-file", &newkey, err) != 0)
		goto out;
	mc_sign(newkey->sk, st, sizeof(st), r->new_sig);
	if (!q->lost) {
		snprintf(whose, sizeof(whose), _("the current key of %s"), target->name);
		if (mc_cli_load_holder_key(cli, target->pk, whose, q->oldpass, "--old-passphrase-file", &oldkey,
					   err) != 0) {
			mc_err_wrap(err, _("the current key of %s signs a rotation (if it is lost or compromised: --lost-key --reason)"),
				    target->name);
			goto out;
		}
		mc_sign(oldkey->sk, st, sizeof(st), r->old_sig);
		r->has_old_sig = true;
	}
	rc = 0;
out:
	mc_key_free(newkey);
	mc_key_free(oldkey);
	return rc;
}

/* identity rotate NAME --key NEWPUB: the admin moves a person's identity
 * to the new key its holder made with `identity keygen` and put in keys/.
 * The holder signs for the new key (its passphrase: --new-passphrase-file
 * or the terminal) and, unless --lost-key, for the old one too
 * (--old-passphrase-file or the terminal). --lost-key: the old key is lost
 * or compromised; the admin's word and a --reason alone, which `alerts`
 * lists as lost-key-rotation. */
int cmd_identity_rotate(struct mc_cli *cli, struct mc_args *a)
{
	struct rot_req q;
	int rc = rotate_parse(a, &q);
	char oldhex[65], newhex[65];
	struct mc_err err = { 0 };
	struct mc_identity target;
	struct rotate_ctx rx = { .new_pk = q.pk };
	struct mc_rotate r;
	struct mc_buf body;
	struct mc_produced out;

	if (rc != 0)
		return rc;
	rc = -1;
	/* the store first: a refusal is said before any passphrase is asked */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_cli_find_identity(cli, q.who, &target, &err) != 0)
		goto out;
	mc_hex(target.pk, MC_PK_LEN, oldhex);
	mc_hex(q.pk, MC_PK_LEN, newhex);
	if (rotate_check(cli, &q, &target, newhex, &rx, &err) != 0 ||
	    rotate_sign(cli, &q, &target, rx.chain_id, &r, &err) != 0)
		goto out;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto out;
	mc_buf_init(&body);
	mc_rotate_encode(&r, &body);
	rc = mc_buf_failed(&body) ? mc_err_set(&err, EX_OSERR, _("out of memory"))
				  : mc_chain_submit(cli->store, cli->node_key, cli->actor_key, MC_TX_IDENTITY_ROTATE,
						    body.data, body.len, &out, &err);
	mc_buf_release(&body);
	if (rc == 0 && cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "key", newhex);
			cJSON_AddStringToObject(j, "old_key", oldhex);
			cJSON_AddStringToObject(j, "rotation", q.lost ? "lost-key" : "holder");
			cJSON_AddNumberToObject(j, "block", (double)out.height);
		}
		rc = mc_cli_json_print(j, &err);
	} else if (rc == 0 && !cli->quiet) {
		printf(_("%s now holds the identity of %s (key %s revoked) in block %llu\n"), newhex, target.name,
		       oldhex, (unsigned long long)out.height);
	}
out:
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
