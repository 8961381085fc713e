/* SPDX-License-Identifier: Apache-2.0 */
/* medchain consent grant | revoke | list */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "commands.h"
#include "consent.h"
#include "grants.h"
#include "ops.h"
#include "fhir.h"
#include "i18n.h"
#include "identity.h"
#include "records.h"
#include "text.h"

static int parse_records(const char *s, struct mc_grant *g, uint8_t *store, struct mc_err *err)
{
	while (*s) {
		size_t n = strcspn(s, ",");
		char hex[33];

		if (n != 32 || g->nrec >= MC_SCOPE_RECS_MAX)
			return mc_err_set(err, EX_USAGE, _("--record takes up to %d record ids separated by commas"),
					  MC_SCOPE_RECS_MAX);
		memcpy(hex, s, 32);
		hex[32] = '\0';
		if (mc_record_id_parse(hex, store + (size_t)g->nrec * MC_RECORD_ID_LEN, err) != 0)
			return -1;
		g->nrec++;
		s += n;
		if (*s == ',')
			s++;
	}
	g->recs = store;
	return 0;
}

int cmd_consent_grant(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *to = NULL, *purpose = NULL, *scope = NULL, *records = NULL;
	const char *from = NULL, *until = NULL, *form = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL }, { "--to", true, &to, NULL },
		{ "--purpose", true, &purpose, NULL }, { "--scope", true, &scope, NULL },
		{ "--record", true, &records, NULL }, { "--from", true, &from, NULL },
		{ "--until", true, &until, NULL }, { "--form", true, &form, NULL },
	};
	char *pos[1], cats[MC_SCOPE_CATS_MAX * MC_CATEGORY_MAX];
	uint8_t recs[MC_SCOPE_RECS_MAX * MC_RECORD_ID_LEN];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_grant g;
	struct mc_identity grantee;
	struct mc_key *node = NULL, *author = NULL;
	struct mc_op_grant res;
	uint64_t now = mc_now_ms();
	char hex[33];

	memset(&g, 0, sizeof(g));
	if (mc_cli_parse(a, opts, 8, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (!subject || !to || !purpose)
		return mc_cli_usage(_("consent grant needs --subject, --to and --purpose"));
	if (mc_purpose_parse(purpose, &g.purpose, &err) != 0 ||
	    (scope && mc_grant_scope_parse(scope, &g, cats, sizeof(cats), &err) != 0) ||
	    (records && parse_records(records, &g, recs, &err) != 0))
		return mc_cli_fail(&err);
	if (!scope && !records)
		g.all_categories = true;
	g.not_before = 0;
	g.not_after = MC_TIME_OPEN;
	if (from && mc_time_parse(from, now, +1, &g.not_before) != 0)
		return mc_cli_usage(_("--from: not a time (RFC 3339 such as 2026-11-22T10:00:00Z, or relative such as 2d)"));
	if (until && mc_time_parse(until, now, +1, &g.not_after) != 0)
		return mc_cli_usage(_("--until: not a time (RFC 3339 such as 2026-11-22T10:00:00Z, or relative such as 30d)"));
	if (g.not_after < g.not_before)
		return mc_cli_usage(_("--until is before --from"));
	if (!form)
		form = "signed consent form on file";
	if (!*form || strlen(form) > MC_ATTEST_MAX || !mc_text_clean(form, strlen(form)))
		return mc_cli_usage(_("--form must be 1 to %d characters of text"), MC_ATTEST_MAX);
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)form;
	g.attest_len = strlen(form);

	if (mc_cli_open(cli, 0, &err) != 0 || mc_cli_find_identity(cli, to, &grantee, &err) != 0 ||
	    mc_cli_subject(cli, subject, g.subject, &err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &node, &err) != 0 ||
	    mc_cli_load_actor(cli, &author, &err) != 0 ||
	    mc_op_grant(cli, node, author, &g, &grantee, &res, &err) != 0)
		goto out;
	if (res.shared && !cli->quiet)
		fprintf(stderr, P_("medchain: %zu record version shared with the grantee's organization\n",
				   "medchain: %zu record versions shared with the grantee's organization\n", res.shared),
			res.shared);
	mc_hex(g.id, sizeof(g.id), hex);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "grant", hex);
			cJSON_AddNumberToObject(j, "block", (double)res.height);
		}
		if (mc_cli_json_print(j, &err) != 0)
			goto out;
	} else {
		printf("%s\n", hex);
	}
	rc = 0;
out:
	mc_key_free(node);
	mc_key_free(author);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_consent_revoke(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	struct mc_opt opts[] = { { "--reason", true, &reason, NULL } };
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	uint8_t id[MC_GRANT_ID_LEN];
	struct mc_key *node = NULL, *author = NULL;
	uint64_t height = 0;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !reason)
		return mc_cli_usage(_("consent revoke needs a grant id and --reason"));
	if (!*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_cli_usage(_("--reason must be 1 to %d characters of text"), MC_REASON_MAX);
	if (strlen(pos[0]) != 32 || mc_unhex(pos[0], id, sizeof(id)) != 0)
		return mc_cli_usage(_("'%s' is not a grant id (32 hex digits)"), pos[0]);
	if (mc_cli_open(cli, 0, &err) != 0 || mc_cli_load_role_key(cli, "node", &node, &err) != 0 ||
	    mc_cli_load_actor(cli, &author, &err) != 0 ||
	    mc_op_revoke(cli, node, author, id, reason, &height, &err) != 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();
		char hex[33];

		mc_hex(id, sizeof(id), hex);
		if (j) {
			cJSON_AddStringToObject(j, "revoked", hex);
			cJSON_AddNumberToObject(j, "block", (double)height);
		}
		if (mc_cli_json_print(j, &err) != 0)
			goto out;
	} else if (!cli->quiet)
		printf(_("revoked in block %llu\n"), (unsigned long long)height);
	rc = 0;
out:
	mc_key_free(node);
	mc_key_free(author);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* Every grant, optionally one subject's or one grantee's, in id order. */
struct list_ctx {
	struct mc_cli *cli;
	const uint8_t *subject;
	const uint8_t *grantee;
	bool active;
	uint64_t now;
	cJSON *arr;   /* with --json: the grants */
	unsigned long n;
};

static int list_one(struct mc_txn *t, const struct mc_grant_state *gsp, const struct mc_grant *gp,
		    void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;
	const struct mc_grant_state gs = *gsp;
	const struct mc_grant g = *gp;
	struct mc_identity who;
	char id[33], subj[65], from[32], until[32], scope[MC_GRANT_SCOPE_TEXT_MAX];
	const char *status = mc_grant_status(&gs, &g, lc->now);
	if (lc->active && strcmp(status, "active") != 0)
		return 0;
	if (mc_identity_get(t, g.grantee, &who, err) != 0)
		snprintf(who.name, sizeof(who.name), "?");
	mc_hex(g.id, MC_GRANT_ID_LEN, id);
	mc_hex(g.subject, MC_HASH_LEN, subj);
	mc_time_format(g.not_before ? g.not_before : gs.granted_at, from, sizeof(from));
	mc_time_format(g.not_after, until, sizeof(until));
	mc_grant_scope_text(&g, scope, sizeof(scope));
	if (lc->cli->json) {
		char gh[65];

		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(lc->arr, o)) {
			cJSON_Delete(o);
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		}
		mc_hex(g.grantee, MC_PK_LEN, gh);
		cJSON_AddStringToObject(o, "grant", id);
		cJSON_AddStringToObject(o, "subject", subj);
		cJSON_AddStringToObject(o, "grantee", gh);
		mc_json_add_str(o, "grantee_name", who.name);
		cJSON_AddStringToObject(o, "purpose", mc_purpose_name(g.purpose));
		mc_json_add_str(o, "scope", scope);
		cJSON_AddStringToObject(o, "from", from);
		mc_json_add_str(o, "until", g.not_after == MC_TIME_OPEN ? NULL : until);
		cJSON_AddStringToObject(o, "status", status);
		cJSON_AddNumberToObject(o, "block", (double)gs.height);
	} else {
		printf("%s  %-14s %-16s %-20s %-15s %s .. %s  %s\n", id, status, who.name,
		       mc_purpose_name(g.purpose), scope, from, until, subj + 56);
	}
	lc->n++;
	return 0;
}

static int list_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;

	return mc_grants_each(t, lc->subject, lc->grantee, list_one, lc, err);
}

int cmd_consent_list(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *grantee = NULL;
	bool active = false;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL },
		{ "--grantee", true, &grantee, NULL },
		{ "--active", false, NULL, &active },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct list_ctx lc = { .cli = cli, .now = mc_now_ms() };
	uint8_t subj[MC_HASH_LEN];
	struct mc_identity who;

	if (mc_cli_parse(a, opts, 3, pos, 0, &npos) != 0)
		return EX_USAGE;
	lc.active = active;
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0)
		goto out;
	if (subject) {
		if (mc_cli_subject(cli, subject, subj, &err) != 0)
			goto out;
		lc.subject = subj;
	}
	if (grantee) {
		if (mc_cli_find_identity(cli, grantee, &who, &err) != 0)
			goto out;
		lc.grantee = who.pk;
	}
	if (cli->json && !(lc.arr = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	} else if (mc_cli_list_header(cli)) {
		printf("%-32s  %-14s %-16s %-20s %-15s %-44s  %s\n", _("GRANT"), _("STATUS"), _("GRANTEE"),
		       _("PURPOSE"), _("SCOPE"), _("VALID"), _("SUBJECT"));
	}
	rc = mc_store_read(cli->store, list_txn, &lc, &err);
	if (rc == 0 && lc.arr) {
		rc = mc_cli_json_print(lc.arr, &err);
		lc.arr = NULL;
	}
out:
	cJSON_Delete(lc.arr);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- FHIR R4 Consent export and import --------------------------------- */

struct export_ctx {
	const uint8_t *subject;
	const uint8_t *grantee;
	cJSON *entries;
};

static int export_one(struct mc_txn *t, const struct mc_grant_state *gs, const struct mc_grant *g,
		      void *vctx, struct mc_err *err)
{
	struct export_ctx *x = vctx;
	struct mc_identity who;
	cJSON *entry;

	if (mc_identity_get(t, g->grantee, &who, err) != 0)
		snprintf(who.name, sizeof(who.name), "?");
	entry = cJSON_CreateObject();
	cJSON_AddItemToObject(entry, "resource",
			      mc_fhir_consent(g, gs->grantor, gs->granted_at,
					      gs->revoked_at != MC_TIME_OPEN, who.name));
	cJSON_AddItemToArray(x->entries, entry);
	return 0;
}

static int export_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct export_ctx *x = vctx;

	return mc_grants_each(t, x->subject, x->grantee, export_one, x, err);
}

int cmd_consent_export(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *grantee = NULL, *outpath = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL },
		{ "--grantee", true, &grantee, NULL },
		{ "-o", true, &outpath, NULL },
	};
	char *pos[1], *text = NULL;
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct export_ctx x = { 0 };
	uint8_t subj[MC_HASH_LEN];
	struct mc_identity who;
	cJSON *bundle = cJSON_CreateObject();

	if (mc_cli_parse(a, opts, 3, pos, 0, &npos) != 0) {
		cJSON_Delete(bundle);
		return EX_USAGE;
	}
	x.entries = cJSON_CreateArray();
	cJSON_AddStringToObject(bundle, "resourceType", "Bundle");
	cJSON_AddStringToObject(bundle, "type", "collection");
	cJSON_AddItemToObject(bundle, "entry", x.entries);
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0)
		goto out;
	if (subject) {
		if (mc_cli_subject(cli, subject, subj, &err) != 0)
			goto out;
		x.subject = subj;
	}
	if (grantee) {
		if (mc_cli_find_identity(cli, grantee, &who, &err) != 0)
			goto out;
		x.grantee = who.pk;
	}
	if (mc_store_read(cli->store, export_txn, &x, &err) != 0)
		goto out;
	text = cJSON_Print(bundle);
	if (!text) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (outpath) {
		if (mc_cli_write_file(outpath, text, strlen(text), &err) != 0)
			goto out;
	} else {
		printf("%s\n", text);
	}
	rc = 0;
out:
	free(text);
	cJSON_Delete(bundle);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* Grants built from Consent resources, added in one block. */
struct import_ctx {
	const struct mc_key *author;
	struct mc_buf *bodies;
	struct mc_share_prep **shares;   /* per grant: keys shared with the grantee's
					  * organization, or NULL */
	size_t n;
};

static int import_build(struct mc_txn *t, struct mc_builder *b, void *vctx, struct mc_err *err)
{
	struct import_ctx *ic = vctx;

	for (size_t i = 0; i < ic->n; i++) {
		struct mc_grant g;

		/* the grant as encoded; mc_op_grant_add adds the share it commits to */
		if (mc_grant_decode(ic->bodies[i].data, ic->bodies[i].len, &g, err) != 0 ||
		    mc_op_grant_add(t, b, ic->author, &g, ic->shares[i], err) != 0)
			return mc_err_wrap(err, _("Consent %zu"), i + 1);
	}
	return 0;
}

/* Turns one Consent into a grant body: subjects and grantees resolved. */
static int consent_to_body(struct mc_cli *cli, const struct mc_org *org, const cJSON *res,
			   struct mc_buf *body, uint8_t id_out[MC_GRANT_ID_LEN], struct mc_err *err)
{
	struct mc_fhir_consent_in in;
	struct mc_grant g;
	struct mc_identity who;
	uint8_t recs[MC_SCOPE_RECS_MAX * MC_RECORD_ID_LEN];

	if (mc_fhir_consent_read(res, &in, err) != 0)
		return -1;
	memset(&g, 0, sizeof(g));
	if (in.subject_system && strcmp(in.subject_system, "urn:medchain:subject") == 0) {
		if (strlen(in.subject_value) != 64 || mc_unhex(in.subject_value, g.subject, MC_HASH_LEN) != 0)
			return mc_err_set(err, EX_DATAERR, _("Consent: a urn:medchain:subject value is 64 hex digits"));
	} else if (mc_org_subject(org, in.subject_value, strlen(in.subject_value), g.subject, err) != 0) {
		return -1;
	}
	if (in.grantee_value && (!in.grantee_system || strcmp(in.grantee_system, "urn:medchain:identity") == 0)) {
		if (mc_cli_find_identity(cli, in.grantee_value, &who, err) != 0)
			return -1;
	} else if (mc_cli_find_identity(cli, in.grantee_display, &who, err) != 0) {
		return -1;
	}
	memcpy(g.grantee, who.pk, MC_PK_LEN);
	g.purpose = in.purpose;
	g.not_before = in.not_before;
	g.not_after = in.not_after;
	g.all_categories = in.all_categories;
	g.ncat = (uint8_t)in.ncat;
	for (unsigned i = 0; i < in.ncat; i++) {
		g.cat[i] = (const uint8_t *)in.cats[i];
		g.cat_len[i] = strlen(in.cats[i]);
	}
	for (unsigned i = 0; i < in.nrec; i++)
		if (mc_unhex(in.recs[i], recs + (size_t)i * MC_RECORD_ID_LEN, MC_RECORD_ID_LEN) != 0)
			return mc_err_set(err, EX_DATAERR, _("Consent: a record id is 32 hex digits"));
	g.nrec = (uint16_t)in.nrec;
	g.recs = recs;
	g.attest_kind = MC_ATTEST_CONSENT_FORM;
	g.attest = (const uint8_t *)(in.attestation ? in.attestation : "FHIR Consent import");
	g.attest_len = strlen((const char *)g.attest);
	if (g.attest_len > MC_ATTEST_MAX || !mc_text_clean(g.attest, g.attest_len))
		return mc_err_set(err, EX_DATAERR, _("Consent: sourceAttachment.title is too long or not text"));
	mc_random(g.id, sizeof(g.id));
	memcpy(id_out, g.id, MC_GRANT_ID_LEN);
	mc_grant_encode(&g, body);
	/* The encoder's checks are the decoder's: run them now. */
	{
		struct mc_grant back;

		if (mc_buf_failed(body) || mc_grant_decode(body->data, body->len, &back, err) != 0)
			return mc_err_wrap(err, "Consent");
	}
	return 0;
}

/* --dry-run: the grants the import would make, and nothing written. */
static int import_dry_report(struct mc_cli *cli, const struct mc_buf *bodies, size_t n,
			     struct mc_err *err)
{
	cJSON *j = cli->json ? cJSON_CreateObject() : NULL, *arr = NULL;

	if (cli->json) {
		cJSON_AddBoolToObject(j, "dry_run", true);
		cJSON_AddNumberToObject(j, "count", (double)n);
		arr = cJSON_AddArrayToObject(j, "grants");
	} else {
		printf(P_("would import %zu grant in one block; nothing was written\n",
			  "would import %zu grants in one block; nothing was written\n", n), n);
	}
	for (size_t i = 0; i < n; i++) {
		struct mc_grant g;
		char subj[2 * MC_HASH_LEN + 1], grantee[2 * MC_PK_LEN + 1];

		if (mc_grant_decode(bodies[i].data, bodies[i].len, &g, err) != 0) {
			cJSON_Delete(j);
			return -1;
		}
		mc_hex(g.subject, MC_HASH_LEN, subj);
		mc_hex(g.grantee, MC_PK_LEN, grantee);
		if (cli->json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "subject", subj);
			cJSON_AddStringToObject(o, "grantee", grantee);
			cJSON_AddStringToObject(o, "purpose", mc_purpose_name(g.purpose));
			cJSON_AddBoolToObject(o, "all_categories", g.all_categories);
			cJSON_AddItemToArray(arr, o);
		} else {
			printf(_("  subject %.16s... to %.16s... for %s\n"), subj, grantee,
			       mc_purpose_name(g.purpose));
		}
	}
	return cli->json ? mc_cli_json_print(j, err) : 0;
}

int cmd_consent_import(struct mc_cli *cli, struct mc_args *a)
{
	bool yes = false, dry = false;
	struct mc_opt opts[] = {
		{ "--yes", false, NULL, &yes },
		{ "--dry-run", false, NULL, &dry },
	};
	char question[512];
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	unsigned char *doc = NULL;
	size_t dn = 0, n = 0, cap = 0;
	cJSON *root = NULL, *item;
	const cJSON *list;
	struct mc_key *node = NULL, *author = NULL, *orgkey = NULL;
	struct mc_org *org = NULL;
	struct mc_buf *bodies = NULL;
	struct mc_share_prep **shares = NULL;
	uint8_t (*ids)[MC_GRANT_ID_LEN] = NULL;
	struct import_ctx ic;
	struct mc_produced out;

	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (mc_cli_read_all(npos ? pos[0] : "-", 16u << 20, &doc, &dn, &err) != 0)
		return mc_cli_fail(&err);
	if (!mc_utf8_valid(doc, dn) || !(root = cJSON_ParseWithLength((const char *)doc, dn))) {
		mc_err_set(&err, EX_DATAERR, _("the input is not valid UTF-8 JSON"));
		goto out;
	}
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "resourceType")) &&
	    strcmp(cJSON_GetObjectItemCaseSensitive(root, "resourceType")->valuestring, "Bundle") == 0) {
		list = cJSON_GetObjectItemCaseSensitive(root, "entry");
		cap = (size_t)cJSON_GetArraySize(list);
	} else {
		list = NULL;
		cap = 1;
	}
	if (cap == 0) {
		mc_err_set(&err, EX_DATAERR, _("the bundle holds no Consent"));
		goto out;
	}
	bodies = calloc(cap, sizeof(*bodies));
	shares = calloc(cap, sizeof(*shares));
	ids = calloc(cap, sizeof(*ids));
	if (!bodies || !shares || !ids) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (mc_cli_open(cli, dry ? MC_STORE_RDONLY : 0, &err) != 0 ||
	    mc_cli_load_role_key(cli, "org", &orgkey, &err) != 0 ||
	    mc_org_open(cli->store, orgkey, &org, &err) != 0)
		goto out;
	if (list) {
		cJSON_ArrayForEach(item, list) {
			mc_buf_init(&bodies[n]);
			if (consent_to_body(cli, org, cJSON_GetObjectItemCaseSensitive(item, "resource"),
					    &bodies[n], ids[n], &err) != 0) {
				n++;
				mc_err_wrap(&err, _("entry %zu"), n);
				goto out;
			}
			n++;
		}
	} else {
		mc_buf_init(&bodies[0]);
		n = 1;
		if (consent_to_body(cli, org, root, &bodies[0], ids[0], &err) != 0)
			goto out;
	}
	if (dry) {
		rc = import_dry_report(cli, bodies, n, &err);
		goto out;
	}
	snprintf(question, sizeof(question),
		 P_("import %zu grant in one block?", "import %zu grants in one block?", n), n);
	if (mc_cli_confirm(yes, question, &err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &node, &err) != 0 ||
	    mc_cli_load_actor(cli, &author, &err) != 0)
		goto out;
	/* grantees of another organization get that organization's copy of
	 * the keys in scope, as with consent grant */
	for (size_t i = 0; i < n; i++) {
		struct mc_grant g;
		bool other = false;
		uint8_t other_org[MC_PK_LEN];

		if (mc_grant_decode(bodies[i].data, bodies[i].len, &g, &err) != 0 ||
		    mc_cli_other_org(cli, g.grantee, &other, other_org, &err) != 0)
			goto out;
		if (!other)
			continue;
		shares[i] = calloc(1, sizeof(**shares));
		if (!shares[i] || mc_share_prepare(cli->store, org, other_org, &g, shares[i], &err) != 0) {
			if (!shares[i])
				mc_err_set(&err, EX_OSERR, _("out of memory"));
			goto out;
		}
	}
	ic.author = author;
	ic.bodies = bodies;
	ic.shares = shares;
	ic.n = n;
	/* All the grants in one block: an import is whole or not at all. */
	if (mc_chain_produce(cli->store, node, import_build, &ic, &out, &err) != 0) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char hex[33];

		mc_hex(ids[i], MC_GRANT_ID_LEN, hex);
		printf("%s\n", hex);
	}
	rc = 0;
out:
	for (size_t i = 0; bodies && i < n; i++)
		mc_buf_release(&bodies[i]);
	for (size_t i = 0; shares && i < n; i++) {
		mc_share_release(shares[i]);
		free(shares[i]);
	}
	free(shares);
	free(bodies);
	free(ids);
	cJSON_Delete(root);
	free(doc);
	mc_org_free(org);
	mc_key_free(orgkey);
	mc_key_free(node);
	mc_key_free(author);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
