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

/* consent grant: the options, and the grant they make */
struct grant_opts {
	const char *subject, *to;
	struct mc_grant g;
	char cats[MC_SCOPE_CATS_MAX * MC_CATEGORY_MAX];
	uint8_t recs[MC_SCOPE_RECS_MAX * MC_RECORD_ID_LEN];
};

/* --from, --until and --form onto the grant: 0, or a usage error's exit */
static int grant_terms(struct mc_grant *g, const char *from, const char *until, const char *form)
{
	uint64_t now = mc_now_ms();

	g->not_before = 0;
	g->not_after = MC_TIME_OPEN;
	if (from && mc_time_parse(from, now, +1, &g->not_before) != 0)
		return mc_cli_usage(_("--from: not a time (RFC 3339 such as 2026-11-22T10:00:00Z, or relative such as 2d)"));
	if (until && mc_time_parse(until, now, +1, &g->not_after) != 0)
		return mc_cli_usage(_("--until: not a time (RFC 3339 such as 2026-11-22T10:00:00Z, or relative such as 30d)"));
	if (g->not_after < g->not_before)
		return mc_cli_usage(_("--until is before --from"));
	if (!form)
		form = "signed consent form on file";
	if (!*form || strlen(form) > MC_ATTEST_MAX || !mc_text_clean(form, strlen(form)))
		return mc_cli_usage(_("--form must be 1 to %d characters of text"), MC_ATTEST_MAX);
	g->attest_kind = MC_ATTEST_CONSENT_FORM;
	g->attest = (const uint8_t *)form;
	g->attest_len = strlen(form);
	return 0;
}

/* 0, or the exit code of a usage error */
static int grant_parse(struct mc_args *a, struct grant_opts *o)
{
	const char *purpose = NULL, *scope = NULL, *records = NULL, *from = NULL, *until = NULL, *form = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &o->subject, NULL }, { "--to", true, &o->to, NULL },
		{ "--purpose", true, &purpose, NULL }, { "--scope", true, &scope, NULL },
		{ "--record", true, &records, NULL }, { "--from", true, &from, NULL },
		{ "--until", true, &until, NULL }, { "--form", true, &form, NULL },
	};
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };

	if (mc_cli_parse(a, opts, 8, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (!o->subject || !o->to || !purpose)
		return mc_cli_usage(_("consent grant needs --subject, --to and --purpose"));
	if (mc_purpose_parse(purpose, &o->g.purpose, &err) != 0 ||
	    (scope && mc_grant_scope_parse(scope, &o->g, o->cats, sizeof(o->cats), &err) != 0) ||
	    (records && parse_records(records, &o->g, o->recs, &err) != 0))
		return mc_cli_fail(&err);
	if (!scope && !records)
		o->g.all_categories = true;
	return grant_terms(&o->g, from, until, form);
}

int cmd_consent_grant(struct mc_cli *cli, struct mc_args *a)
{
	struct grant_opts o;
	int rc;
	struct mc_err err = { 0 };
	struct mc_identity grantee;
	struct mc_op_grant res;
	char hex[33];

	memset(&o, 0, sizeof(o));
	if ((rc = grant_parse(a, &o)) != 0)
		return rc;
	/* the grantee and the subject are looked up before a key is unlocked */
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_cli_find_identity(cli, o.to, &grantee, &err) != 0 ||
	    mc_cli_subject(cli, o.subject, o.g.subject, &err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_op_grant(cli, cli->node_key, cli->actor_key, &o.g, &grantee, &res, &err) != 0)
		return mc_cli_fail(&err);
	if (res.shared && !cli->quiet)
		fprintf(stderr, P_("medchain: %zu record version shared with the grantee's organization\n",
				   "medchain: %zu record versions shared with the grantee's organization\n", res.shared),
			res.shared);
	mc_hex(o.g.id, sizeof(o.g.id), hex);
	if (cli->json)
		return mc_cli_json_written("grant", hex, 0, res.height, &err) == 0 ? 0 : mc_cli_fail(&err);
	printf("%s\n", hex);
	return 0;
}

int cmd_consent_revoke(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	struct mc_opt opts[] = { { "--reason", true, &reason, NULL } };
	char *pos[1], hex[33];
	int npos;
	struct mc_err err = { 0 };
	uint8_t id[MC_GRANT_ID_LEN];
	uint64_t height = 0;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !reason)
		return mc_cli_usage(_("consent revoke needs a grant id and --reason"));
	if (!*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_cli_usage(_("--reason must be 1 to %d characters of text"), MC_REASON_MAX);
	if (strlen(pos[0]) != 32 || mc_unhex(pos[0], id, sizeof(id)) != 0)
		return mc_cli_usage(_("'%s' is not a grant id (32 hex digits)"), pos[0]);
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_op_revoke(cli, cli->node_key, cli->actor_key, id, reason, &height, &err) != 0)
		return mc_cli_fail(&err);
	mc_hex(id, sizeof(id), hex);
	if (cli->json)
		return mc_cli_json_written("revoked", hex, 0, height, &err) == 0 ? 0 : mc_cli_fail(&err);
	if (!cli->quiet)
		printf(_("revoked in block %llu\n"), (unsigned long long)height);
	return 0;
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
	const char *status;
	bool grantee_active;

	if (mc_grant_grantee(t, &g, &who, &grantee_active, err) != 0)
		return -1;
	status = mc_grant_status(&gs, &g, grantee_active, lc->now);
	if (lc->active && strcmp(status, "active") != 0)
		return 0;
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
		char grantee[MC_WHO_MAX];

		/* the name with its key prefix: a revoked identity's name may be
		 * taken again */
		mc_identity_who(who.name, g.grantee, grantee, sizeof(grantee));
		printf("%s  %-15s %-27s %-20s %-15s %s .. %s  %s\n", id, status, grantee,
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

/* The filters of consent list and export: --subject (its pseudonym in
 * subj) and --grantee (found in *who); NULL where not given. Opens the
 * store first (the setup). */
struct grant_filter {
	const char *subject, *grantee;
	uint8_t subj[MC_HASH_LEN];
	struct mc_identity who;
};

static int filter_setup(struct mc_cli *cli, struct grant_filter *f, const uint8_t **subject,
			const uint8_t **grantee, struct mc_err *err)
{
	if (mc_cmd_setup(cli, MC_SETUP_ALL, err) != 0)
		return -1;
	if (f->subject) {
		if (mc_cli_subject(cli, f->subject, f->subj, err) != 0)
			return -1;
		*subject = f->subj;
	}
	if (f->grantee) {
		if (mc_cli_find_identity(cli, f->grantee, &f->who, err) != 0)
			return -1;
		*grantee = f->who.pk;
	}
	return 0;
}

int cmd_consent_list(struct mc_cli *cli, struct mc_args *a)
{
	struct grant_filter f = { 0 };
	bool active = false;
	struct mc_opt opts[] = {
		{ "--subject", true, &f.subject, NULL },
		{ "--grantee", true, &f.grantee, NULL },
		{ "--active", false, NULL, &active },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct list_ctx lc = { .cli = cli, .now = mc_now_ms() };

	if (mc_cli_parse(a, opts, 3, pos, 0, &npos) != 0)
		return EX_USAGE;
	lc.active = active;
	if (filter_setup(cli, &f, &lc.subject, &lc.grantee, &err) != 0)
		goto out;
	if (cli->json && !(lc.arr = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	} else if (mc_cli_list_header(cli)) {
		printf("%-32s  %-15s %-27s %-20s %-15s %-44s  %s\n", _("GRANT"), _("STATUS"), _("GRANTEE"),
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
	struct grant_filter f = { 0 };
	const char *outpath = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &f.subject, NULL },
		{ "--grantee", true, &f.grantee, NULL },
		{ "-o", true, &outpath, NULL },
	};
	char *pos[1], *text = NULL;
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct export_ctx x = { 0 };
	cJSON *bundle = cJSON_CreateObject();

	if (mc_cli_parse(a, opts, 3, pos, 0, &npos) != 0) {
		cJSON_Delete(bundle);
		return EX_USAGE;
	}
	x.entries = cJSON_CreateArray();
	cJSON_AddStringToObject(bundle, "resourceType", "Bundle");
	cJSON_AddStringToObject(bundle, "type", "collection");
	cJSON_AddItemToObject(bundle, "entry", x.entries);
	if (filter_setup(cli, &f, &x.subject, &x.grantee, &err) != 0 ||
	    mc_store_read(cli->store, export_txn, &x, &err) != 0)
		goto out;
	text = cJSON_Print(bundle);
	if (!text) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
	} else if (outpath) {
		rc = mc_cli_write_file(outpath, text, strlen(text), &err);
	} else {
		printf("%s\n", text);
		rc = 0;
	}
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

/* consent import: the input's Consents and the grants made of them */
struct cimport {
	cJSON *root;
	const cJSON *list;   /* a Bundle's entries, or NULL: root is one Consent */
	size_t cap, n;       /* Consents in the input, grants made so far */
	struct mc_buf *bodies;
	struct mc_share_prep **shares;
	uint8_t (*ids)[MC_GRANT_ID_LEN];
};

/* The input (FILE or stdin): a Bundle of Consents, or one. */
static int cimport_read(const char *path, struct cimport *x, struct mc_err *err)
{
	unsigned char *doc = NULL;
	size_t dn = 0;
	const cJSON *rt;

	if (mc_cli_read_all(path, 16u << 20, &doc, &dn, err) != 0)
		return -1;
	if (!mc_utf8_valid(doc, dn) || !(x->root = cJSON_ParseWithLength((const char *)doc, dn))) {
		free(doc);
		return mc_err_set(err, EX_DATAERR, _("the input is not valid UTF-8 JSON"));
	}
	free(doc);
	rt = cJSON_GetObjectItemCaseSensitive(x->root, "resourceType");
	if (cJSON_IsString(rt) && strcmp(rt->valuestring, "Bundle") == 0) {
		x->list = cJSON_GetObjectItemCaseSensitive(x->root, "entry");
		x->cap = (size_t)cJSON_GetArraySize(x->list);
	} else {
		x->cap = 1;
	}
	if (x->cap == 0)
		return mc_err_set(err, EX_DATAERR, _("the bundle holds no Consent"));
	x->bodies = calloc(x->cap, sizeof(*x->bodies));
	x->shares = calloc(x->cap, sizeof(*x->shares));
	x->ids = calloc(x->cap, sizeof(*x->ids));
	if (!x->bodies || !x->shares || !x->ids)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	return 0;
}

/* Each Consent made a grant body, its subject and grantee resolved. */
static int cimport_bodies(struct mc_cli *cli, const struct mc_org *org, struct cimport *x, struct mc_err *err)
{
	const cJSON *item;

	if (!x->list) {
		mc_buf_init(&x->bodies[0]);
		x->n = 1;
		return consent_to_body(cli, org, x->root, &x->bodies[0], x->ids[0], err);
	}
	cJSON_ArrayForEach(item, x->list) {
		mc_buf_init(&x->bodies[x->n]);
		if (consent_to_body(cli, org, cJSON_GetObjectItemCaseSensitive(item, "resource"),
				    &x->bodies[x->n], x->ids[x->n], err) != 0) {
			x->n++;
			return mc_err_wrap(err, _("entry %zu"), x->n);
		}
		x->n++;
	}
	return 0;
}

/* Grantees of another organization get that organization's copy of the
 * keys in scope, as with consent grant. */
static int cimport_shares(struct mc_cli *cli, const struct mc_org *org, struct cimport *x, struct mc_err *err)
{
	for (size_t i = 0; i < x->n; i++) {
		struct mc_grant g;
		bool other = false;
		uint8_t other_org[MC_PK_LEN];

		if (mc_grant_decode(x->bodies[i].data, x->bodies[i].len, &g, err) != 0 ||
		    mc_cli_other_org(cli, g.grantee, &other, other_org, err) != 0)
			return -1;
		if (!other)
			continue;
		x->shares[i] = calloc(1, sizeof(**x->shares));
		if (!x->shares[i])
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		if (mc_share_prepare(cli->store, org, other_org, &g, x->shares[i], err) != 0)
			return -1;
	}
	return 0;
}

static void cimport_release(struct cimport *x)
{
	for (size_t i = 0; x->bodies && i < x->n; i++)
		mc_buf_release(&x->bodies[i]);
	for (size_t i = 0; x->shares && i < x->n; i++) {
		mc_share_release(x->shares[i]);
		free(x->shares[i]);
	}
	free(x->shares);
	free(x->bodies);
	free(x->ids);
	cJSON_Delete(x->root);
}

/* After the confirmation: the shares, then all the grants in one block (an
 * import is whole or not at all); prints the grant ids. */
static int cimport_commit(struct mc_cli *cli, const struct mc_org *org, struct cimport *x, struct mc_err *err)
{
	struct import_ctx ic;
	struct mc_produced out;

	if (mc_cmd_setup(cli, MC_SETUP_ALL, err) != 0 || cimport_shares(cli, org, x, err) != 0)
		return -1;
	ic.author = cli->actor_key;
	ic.bodies = x->bodies;
	ic.shares = x->shares;
	ic.n = x->n;
	if (mc_chain_produce(cli->store, cli->node_key, import_build, &ic, &out, err) != 0)
		return -1;
	for (size_t i = 0; i < x->n; i++) {
		char hex[33];

		mc_hex(x->ids[i], MC_GRANT_ID_LEN, hex);
		printf("%s\n", hex);
	}
	return 0;
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
	struct cimport x;
	struct mc_org *org = NULL;

	memset(&x, 0, sizeof(x));
	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	cli->dry_run = dry;
	/* the store and the org key (no signing key yet: a dry run needs none) */
	if (cimport_read(npos ? pos[0] : "-", &x, &err) != 0 ||
	    mc_cmd_setup(cli, MC_SETUP_STORE | MC_SETUP_ORG_KEY, &err) != 0 ||
	    mc_org_open(cli->store, cli->org_key, &org, &err) != 0 || cimport_bodies(cli, org, &x, &err) != 0)
		goto out;
	if (dry) {
		rc = import_dry_report(cli, x.bodies, x.n, &err);
		goto out;
	}
	snprintf(question, sizeof(question),
		 P_("import %zu grant in one block?", "import %zu grants in one block?", x.n), x.n);
	if (mc_cli_confirm(yes, question, &err) != 0 || cimport_commit(cli, org, &x, &err) != 0)
		goto out;
	rc = 0;
out:
	cimport_release(&x);
	mc_org_free(org);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
