/* SPDX-License-Identifier: Apache-2.0 */
/* medchain audit list: the audit trail, through its indexes, paged. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alerts.h"
#include "audit.h"
#include "chain.h"
#include "commands.h"
#include "consent.h"
#include "fhir.h"
#include "i18n.h"
#include "identity.h"
#include "records.h"
#include "text.h"

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 100000

struct audit_out {
	int fmt;                      /* enum audit_fmt */
	unsigned long n;
	cJSON *entries;               /* FHIR bundle entries, or --json's events */
	FILE *out;                    /* stdout, or a memory stream for -o */
	char node_pk[65];
};

enum audit_fmt { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_FHIR };

static void emit_text(FILE *f, const struct mc_audit_event *e)
{
	char when[32], extra[800] = "", rec[33], gid[33], pos[48], akey[65], actor[MC_NAME_MAX + 16];

	mc_time_format(e->ts, when, sizeof(when));
	mc_hex(e->grant, MC_GRANT_ID_LEN, gid);
	if (e->type == MC_TX_ACCESS) {
		mc_hex(e->acc.record, MC_RECORD_ID_LEN, rec);
		snprintf(extra, sizeof(extra), "%s v%u %s %s%s%s%s", rec, e->acc.version,
			 mc_purpose_name(e->acc.purpose), mc_outcome_name(e->acc.outcome),
			 e->acc.outcome == MC_OUTCOME_DENY ? " " : "",
			 e->acc.outcome == MC_OUTCOME_DENY ? mc_deny_name(e->acc.reason) : "",
			 e->acc.outcome == MC_OUTCOME_PERMIT && !e->has_grant ? _(" (its author)") : "");
		if (e->acc.outcome == MC_OUTCOME_BREAK_GLASS) {
			size_t l = strlen(extra);

			snprintf(extra + l, sizeof(extra) - l, " \"%s\"  [%s]", e->glass, _("BREAK-GLASS"));
		}
	} else if (e->type == MC_TX_IDENTITY_ROTATE) {
		char from[65], to[65];

		mc_hex(e->rot_old, MC_PK_LEN, from);
		mc_hex(e->rot_new, MC_PK_LEN, to);
		snprintf(extra, sizeof(extra), "%s -> %s %s%s%s%s", from, to,
			 e->rot_kind == MC_ROTATE_LOST_KEY ? "lost-key" : "holder", e->glass[0] ? " \"" : "",
			 e->glass, e->glass[0] ? "\"" : "");
	} else if (e->type == MC_TX_ALERT_ACK) {
		char aid[2 * MC_ALERT_ID_LEN + 1];

		mc_hex(e->alert_id, MC_ALERT_ID_LEN, aid);
		snprintf(extra, sizeof(extra), "%s %s \"%s\"", aid, mc_alert_name(e->alert_kind), e->ack_reason);
	} else if (e->has_grant) {
		snprintf(extra, sizeof(extra), "%s%s%s", gid, e->purpose ? " " : "",
			 e->purpose ? mc_purpose_name(e->purpose) : "");
	} else if (e->type == MC_TX_ORG_ROTATE) {
		char o[65], n[65];

		mc_hex(e->old_org, MC_PK_LEN, o);
		mc_hex(e->new_org, MC_PK_LEN, n);
		snprintf(extra, sizeof(extra), _("organization key %.16s replaced by %.16s"), o, n);
	}
	snprintf(pos, sizeof(pos), "%llu.%u", (unsigned long long)e->h, e->ti);
	/* a name with its key's first 8 hex digits: a revoked "Dr A" and
	 * the one enrolled after are two people (and older chains may hold
	 * two active ones) */
	mc_hex(e->actor, MC_PK_LEN, akey);
	snprintf(actor, sizeof(actor), "%s (%.8s)", e->actor_name, akey);
	fprintf(f, "%s  %-9s %-15s %-27s %s\n", when, pos, mc_tx_type_name(e->type), actor, extra);
}

static int emit_json(cJSON *arr, const struct mc_audit_event *e)
{
	char when[32], actor[65], rec[33], gid[33], subj[65];
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return -1;
	}
	mc_time_format(e->ts, when, sizeof(when));
	mc_hex(e->actor, MC_PK_LEN, actor);
	mc_hex(e->grant, MC_GRANT_ID_LEN, gid);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "block", (double)e->h);
	cJSON_AddNumberToObject(o, "tx", e->ti);
	cJSON_AddStringToObject(o, "type", mc_tx_type_name(e->type));
	cJSON_AddStringToObject(o, "actor", actor);
	mc_json_add_str(o, "actor_name", e->actor_name);
	if (e->has_subject) {
		mc_hex(e->subject, MC_HASH_LEN, subj);
		cJSON_AddStringToObject(o, "subject", subj);
	}
	if (e->type == MC_TX_ACCESS) {
		mc_hex(e->acc.record, MC_RECORD_ID_LEN, rec);
		cJSON_AddStringToObject(o, "record", rec);
		cJSON_AddNumberToObject(o, "version", e->acc.version);
		cJSON_AddStringToObject(o, "outcome", mc_outcome_name(e->acc.outcome));
		if (e->acc.outcome == MC_OUTCOME_PERMIT)
			cJSON_AddStringToObject(o, "basis", e->has_grant ? "grant" : "author");
		if (e->acc.outcome == MC_OUTCOME_DENY)
			cJSON_AddStringToObject(o, "reason", mc_deny_name(e->acc.reason));
		if (e->glass[0])
			mc_json_add_str(o, "break_glass", e->glass);
	}
	if (e->type == MC_TX_ORG_ROTATE) {
		char ok[65], nk[65];

		mc_hex(e->old_org, MC_PK_LEN, ok);
		mc_hex(e->new_org, MC_PK_LEN, nk);
		cJSON_AddStringToObject(o, "old_org", ok);
		cJSON_AddStringToObject(o, "new_org", nk);
	}
	if (e->type == MC_TX_IDENTITY_ROTATE) {
		char k[65];

		mc_hex(e->rot_old, MC_PK_LEN, k);
		cJSON_AddStringToObject(o, "old_key", k);
		mc_hex(e->rot_new, MC_PK_LEN, k);
		cJSON_AddStringToObject(o, "new_key", k);
		cJSON_AddStringToObject(o, "rotation", e->rot_kind == MC_ROTATE_LOST_KEY ? "lost-key" : "holder");
		if (e->glass[0])
			mc_json_add_str(o, "reason", e->glass);
	}
	if (e->type == MC_TX_ALERT_ACK) {
		char aid[2 * MC_ALERT_ID_LEN + 1];

		mc_hex(e->alert_id, MC_ALERT_ID_LEN, aid);
		cJSON_AddStringToObject(o, "alert_id", aid);
		cJSON_AddStringToObject(o, "alert", mc_alert_name(e->alert_kind));
		mc_json_add_str(o, "reason", e->ack_reason);
	}
	if (e->purpose)
		cJSON_AddStringToObject(o, "purpose", mc_purpose_name(e->purpose));
	if (e->has_grant)
		cJSON_AddStringToObject(o, "grant", gid);
	return 0;
}

/* CSV for spreadsheets and SIEMs: RFC 4180 quoting; the header is fixed
 * machine text, never translated. A cell that a spreadsheet would take
 * for a formula (one starting with '=', '+', '-', '@', a tab or a carriage
 * return: OWASP's CSV injection) gets a leading single quote, so it is
 * shown as the text it is; the rest of the cell is unchanged. */
static void csv_field(FILE *f, const char *s, bool last)
{
	bool defuse = *s && strchr("=+-@\t\r", *s) != NULL;
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote) {
		fputc('"', f);
		if (defuse)
			fputc('\'', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		if (defuse)
			fputc('\'', f);
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

static void emit_csv(FILE *f, const struct mc_audit_event *e)
{
	char when[32], actor[65], rec[33] = "", gid[33] = "", subj[65] = "", num[24][4];

	mc_time_format(e->ts, when, sizeof(when));
	mc_hex(e->actor, MC_PK_LEN, actor);
	if (e->has_grant)
		mc_hex(e->grant, MC_GRANT_ID_LEN, gid);
	if (e->has_subject)
		mc_hex(e->subject, MC_HASH_LEN, subj);
	if (e->type == MC_TX_ACCESS)
		mc_hex(e->acc.record, MC_RECORD_ID_LEN, rec);
	snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)e->h);
	snprintf(num[1], sizeof(num[1]), "%u", e->ti);
	snprintf(num[2], sizeof(num[2]), "%u", e->type == MC_TX_ACCESS ? e->acc.version : 0);
	csv_field(f, when, false);
	csv_field(f, num[0], false);
	csv_field(f, num[1], false);
	csv_field(f, mc_tx_type_name(e->type), false);
	csv_field(f, actor, false);
	csv_field(f, e->actor_name, false);
	csv_field(f, subj, false);
	csv_field(f, rec, false);
	csv_field(f, e->type == MC_TX_ACCESS ? num[2] : "", false);
	csv_field(f, e->purpose ? mc_purpose_name(e->purpose) : "", false);
	csv_field(f, e->type == MC_TX_ACCESS ? mc_outcome_name(e->acc.outcome) : "", false);
	csv_field(f, gid, false);
	/* ALERT_ACK: its reason in the reason column */
	csv_field(f, e->type == MC_TX_ACCESS && e->acc.outcome == MC_OUTCOME_DENY ? mc_deny_name(e->acc.reason)
		  : e->type == MC_TX_ALERT_ACK ? e->ack_reason : "",
		  false);
	csv_field(f, e->type == MC_TX_ACCESS ? e->glass : "", true);   /* the break-glass column */
}

/* One entity of a FHIR AuditEvent: what (an identifier in system) and its
 * audit-entity-type code; the caller may add to it. */
static cJSON *fhir_entity(cJSON *entities, const char *system, const char *what, const char *code,
			  const char *display)
{
	cJSON *ent = cJSON_CreateObject();

	cJSON_AddItemToObject(ent, "what", mc_fhir_ident_ref(system, what, NULL));
	cJSON_AddItemToObject(ent, "type", mc_fhir_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type",
							  code, display));
	cJSON_AddItemToArray(entities, ent);
	return ent;
}

/* The AuditEvent's outcomeDesc and purposeOfEvent. */
static void fhir_describe(cJSON *ev, const struct mc_audit_event *e)
{
	char desc[MC_REASON_MAX + 64];

	if (e->type == MC_TX_ACCESS && (e->acc.outcome == MC_OUTCOME_DENY || e->glass[0])) {
		/* one outcomeDesc: the denial, the break-glass reason, or both */
		snprintf(desc, sizeof(desc), "%s%s%s%s",
			 e->acc.outcome == MC_OUTCOME_DENY ? mc_deny_name(e->acc.reason) : "",
			 e->acc.outcome == MC_OUTCOME_DENY && e->glass[0] ? "; " : "",
			 e->glass[0] ? "break-glass: " : "", e->glass);
		mc_json_add_str(ev, "outcomeDesc", desc);
	}
	if (e->type == MC_TX_ALERT_ACK) {
		char aid[2 * MC_ALERT_ID_LEN + 1];

		/* an update of the alert's state: which alert, and why */
		mc_hex(e->alert_id, MC_ALERT_ID_LEN, aid);
		snprintf(desc, sizeof(desc), "alert %s %s acknowledged: %s", aid, mc_alert_name(e->alert_kind),
			 e->ack_reason);
		mc_json_add_str(ev, "outcomeDesc", desc);
	}
	if (e->purpose) {
		cJSON *pur = cJSON_AddArrayToObject(ev, "purposeOfEvent");
		cJSON *cc = cJSON_CreateObject(), *codings = cJSON_AddArrayToObject(cc, "coding");

		cJSON_AddItemToArray(codings, mc_fhir_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason",
							     mc_purpose_fhir_code(e->purpose), mc_purpose_name(e->purpose)));
		if (e->type == MC_TX_ACCESS && e->acc.outcome == MC_OUTCOME_BREAK_GLASS)
			cJSON_AddItemToArray(codings, mc_fhir_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason",
								     "BTG", "break the glass"));
		cJSON_AddItemToArray(pur, cc);
	}
}

/* The AuditEvent's entities: the subject, the record read, the keys of a
 * rotation (the one replaced, then the one that took over), the grant. */
static void fhir_entities(cJSON *ev, const struct mc_audit_event *e)
{
	cJSON *entities = cJSON_AddArrayToObject(ev, "entity"), *ent;
	char k[65];

	if (e->has_subject) {
		mc_hex(e->subject, MC_HASH_LEN, k);
		ent = fhir_entity(entities, "urn:medchain:subject", k, "1", "Person");
		cJSON_AddItemToObject(ent, "role", mc_fhir_coding("http://terminology.hl7.org/CodeSystem/object-role",
								  "1", "Patient"));
	}
	if (e->type == MC_TX_ACCESS) {
		char rec[33], what[48];

		mc_hex(e->acc.record, MC_RECORD_ID_LEN, rec);
		snprintf(what, sizeof(what), "%s/%u", rec, e->acc.version);
		fhir_entity(entities, "urn:medchain:record", what, "2", "System Object");
	}
	if (e->type == MC_TX_IDENTITY_ROTATE) {
		for (int i = 0; i < 2; i++) {
			mc_hex(i ? e->rot_new : e->rot_old, MC_PK_LEN, k);
			fhir_entity(entities, "urn:medchain:identity", k, "4", "Other");
		}
	}
	if (e->has_grant) {
		mc_hex(e->grant, MC_GRANT_ID_LEN, k);
		fhir_entity(entities, "urn:medchain:grant", k, "2", "System Object");
	}
}

/* FHIR R4 AuditEvent. */
static cJSON *fhir_event(const struct mc_audit_event *e, const char *node_pk)
{
	cJSON *ev = cJSON_CreateObject(), *agents, *agent, *src, *sub;
	char when[32], actor[65], id[64];
	const char *subtype = "read", *action = "R", *outcome = "0";

	mc_time_format(e->ts, when, sizeof(when));
	mc_hex(e->actor, MC_PK_LEN, actor);
	snprintf(id, sizeof(id), "%llu-%u", (unsigned long long)e->h, e->ti);
	cJSON_AddStringToObject(ev, "resourceType", "AuditEvent");
	cJSON_AddStringToObject(ev, "id", id);
	if (e->type == MC_TX_ACCESS) {
		cJSON_AddItemToObject(ev, "type", mc_fhir_coding("http://dicom.nema.org/resources/ontology/DCM",
								 "110110", "Patient Record"));
		if (e->acc.outcome == MC_OUTCOME_DENY)
			outcome = "4";
	} else {
		cJSON_AddItemToObject(ev, "type", mc_fhir_coding("http://terminology.hl7.org/CodeSystem/audit-event-type",
								 "rest", "Restful Operation"));
		subtype = e->type == MC_TX_CONSENT_GRANT ? "create" : "update";
		action = e->type == MC_TX_CONSENT_GRANT ? "C" : "U";
	}
	sub = cJSON_AddArrayToObject(ev, "subtype");
	cJSON_AddItemToArray(sub, mc_fhir_coding("http://hl7.org/fhir/restful-interaction", subtype, NULL));
	cJSON_AddStringToObject(ev, "action", action);
	cJSON_AddStringToObject(ev, "recorded", when);
	cJSON_AddStringToObject(ev, "outcome", outcome);
	fhir_describe(ev, e);
	agents = cJSON_AddArrayToObject(ev, "agent");
	agent = cJSON_CreateObject();
	cJSON_AddItemToObject(agent, "who", mc_fhir_ident_ref("urn:medchain:identity", actor, e->actor_name));
	cJSON_AddBoolToObject(agent, "requestor", true);
	cJSON_AddItemToArray(agents, agent);
	src = cJSON_AddObjectToObject(ev, "source");
	cJSON_AddStringToObject(src, "site", "medchain");
	cJSON_AddItemToObject(src, "observer", mc_fhir_ident_ref("urn:medchain:node", node_pk, "medchain node"));
	fhir_entities(ev, e);
	return ev;
}

static int emit(const struct mc_audit_event *e, void *vctx)
{
	struct audit_out *o = vctx;

	switch (o->fmt) {
	case FMT_TEXT:
		emit_text(o->out, e);
		break;
	case FMT_JSON:
		if (emit_json(o->entries, e) != 0)
			return -1;
		break;
	case FMT_CSV:
		emit_csv(o->out, e);
		break;
	case FMT_FHIR: {
		cJSON *entry = cJSON_CreateObject();

		cJSON_AddItemToObject(entry, "resource", fhir_event(e, o->node_pk));
		cJSON_AddItemToArray(o->entries, entry);
		break;
	}
	}
	o->n++;
	return 0;
}

struct audit_run_ctx {
	struct mc_audit_filter f;
	struct audit_out o;
	struct mc_audit_page page;
};

static int audit_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct audit_run_ctx *r = vctx;

	return mc_audit_query(t, &r->f, emit, &r->o, &r->page, err);
}

/* What audit list and export were asked for besides the filter. */
struct audit_req {
	const char *subject, *actor, *outpath;
};

/* The options into r's filter and format (export: --format and -o too):
 * 0, or the exit code of a usage error. */
static int audit_parse(struct mc_cli *cli, struct mc_args *a, bool export, uint64_t now,
		       struct audit_run_ctx *r, struct audit_req *q)
{
	const char *since = NULL, *until = NULL, *outcome = NULL, *limit = NULL, *after = NULL, *format = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &q->subject, NULL }, { "--actor", true, &q->actor, NULL },
		{ "--since", true, &since, NULL }, { "--until", true, &until, NULL },
		{ "--outcome", true, &outcome, NULL }, { "--limit", true, &limit, NULL },
		{ "--after", true, &after, NULL }, { "--newest", false, NULL, &r->f.newest_first },
		{ "--format", true, &format, NULL }, { "-o", true, &q->outpath, NULL },
	};
	char *pos[1], *end;
	int npos, used = 0;
	unsigned long long h;
	unsigned ti;
	struct mc_err err = { 0 };

	r->f.limit = export ? 0 : AUDIT_LIMIT_DEFAULT;
	r->o.fmt = cli->json ? FMT_JSON : FMT_TEXT;
	if (mc_cli_parse(a, opts, export ? 10 : 8, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (export && !format)
		return mc_cli_usage(_("audit export needs --format fhir or --format csv"));
	if (export && strcmp(format, "fhir") != 0 && strcmp(format, "csv") != 0)
		return mc_cli_usage(_("--format must be 'fhir' or 'csv'"));
	if (export)
		r->o.fmt = strcmp(format, "fhir") == 0 ? FMT_FHIR : FMT_CSV;
	if (since && mc_time_parse(since, now, -1, &r->f.since) != 0)
		return mc_cli_usage(_("--since: not a time (RFC 3339, or relative such as 12h)"));
	if (until && mc_time_parse(until, now, -1, &r->f.until) != 0)
		return mc_cli_usage(_("--until: not a time (RFC 3339, or relative such as 1h)"));
	if (r->f.until < r->f.since)
		return mc_cli_usage(_("--until is before --since"));
	if (outcome && mc_outcome_parse(outcome, &r->f.outcome, &err) != 0)
		return mc_cli_fail(&err);
	if (limit) {
		r->f.limit = strtoul(limit, &end, 10);
		if (*end || r->f.limit == 0 || r->f.limit > AUDIT_LIMIT_MAX)
			return mc_cli_usage(_("--limit must be 1 to %d"), AUDIT_LIMIT_MAX);
	}
	if (after) {
		if (sscanf(after, "%llu.%u%n", &h, &ti, &used) != 2 || after[used] != '\0')
			return mc_cli_usage(_("--after takes the cursor a previous page printed (BLOCK.TX)"));
		r->f.after_h = h;
		r->f.after_t = ti;
		r->f.have_after = true;
	}
	return 0;
}

/* The node's public key in hex, the FHIR events' observer: "unknown"
 * when keys/node.key cannot be read. */
static void audit_node_pk(struct mc_cli *cli, char out[65])
{
	char path[PATH_MAX];
	uint8_t npk[MC_PK_LEN];
	bool sealed;

	mc_cli_path(cli, path, sizeof(path), "keys/node.key");
	if (mc_key_peek(path, npk, &sealed, NULL) == 0)
		mc_hex(npk, MC_PK_LEN, out);
	else
		snprintf(out, 65, "unknown");
}

/* What follows the events: --json's document (with the next page's
 * cursor), the text list's "more" hint, or the FHIR bundle. */
static int audit_finish(struct mc_cli *cli, struct audit_run_ctx *r, uint64_t now, struct mc_err *err)
{
	int rc = 0;

	if (r->o.fmt == FMT_JSON) {
		cJSON *doc = cJSON_CreateObject();

		if (doc && cJSON_AddItemToObject(doc, "events", r->o.entries))
			r->o.entries = NULL;
		if (doc && r->page.more) {
			char next[48];

			snprintf(next, sizeof(next), "%llu.%u", (unsigned long long)r->page.last_h, r->page.last_t);
			cJSON_AddStringToObject(doc, "next", next);
		}
		rc = mc_cli_json_print(doc, err);
	} else if (r->o.fmt == FMT_TEXT && r->page.more && !cli->quiet) {
		fprintf(stderr, _("more: --after %llu.%u\n"), (unsigned long long)r->page.last_h, r->page.last_t);
	} else if (r->o.fmt == FMT_FHIR) {
		cJSON *bundle = cJSON_CreateObject();
		char *text, when[32];

		mc_time_format(now, when, sizeof(when));
		cJSON_AddStringToObject(bundle, "resourceType", "Bundle");
		cJSON_AddStringToObject(bundle, "type", "collection");
		cJSON_AddStringToObject(bundle, "timestamp", when);
		cJSON_AddItemToObject(bundle, "entry", r->o.entries);
		r->o.entries = NULL;
		text = cJSON_PrintUnformatted(bundle);
		if (text)
			fprintf(r->o.out, "%s\n", text);
		else
			rc = mc_err_set(err, EX_OSERR, _("out of memory"));
		free(text);
		cJSON_Delete(bundle);
	}
	return rc;
}

static int audit_run(struct mc_cli *cli, struct mc_args *a, bool export)
{
	struct audit_req q = { 0 };
	struct mc_err err = { 0 };
	struct audit_run_ctx r;
	uint8_t subj[MC_HASH_LEN];
	struct mc_identity who;
	uint64_t now = mc_now_ms();
	char *mem = NULL;
	size_t memlen = 0;
	FILE *ms = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	mc_audit_filter_init(&r.f);
	if ((rc = audit_parse(cli, a, export, now, &r, &q)) != 0)
		return rc;
	rc = -1;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		goto out;
	if (q.subject) {
		if (mc_cli_subject(cli, q.subject, subj, &err) != 0)
			goto out;
		r.f.subject = subj;
	}
	if (q.actor) {
		if (mc_cli_find_identity(cli, q.actor, &who, &err) != 0)
			goto out;
		r.f.actor = who.pk;
	}
	audit_node_pk(cli, r.o.node_pk);
	/* -o: written whole, then moved into place: no half-written export. */
	if (q.outpath && !(ms = open_memstream(&mem, &memlen))) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	r.o.out = ms ? ms : stdout;
	if ((r.o.fmt == FMT_FHIR || r.o.fmt == FMT_JSON) && !(r.o.entries = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (r.o.fmt == FMT_TEXT && mc_cli_list_header(cli))
		printf("%-20s  %-9s %-15s %-16s %s\n", _("TIME"), _("BLOCK.TX"), _("TYPE"), _("ACTOR"),
		       _("DETAILS"));
	if (r.o.fmt == FMT_CSV)
		fprintf(r.o.out, "time,block,tx,type,actor,actor_name,subject,record,version,purpose,outcome,grant,reason,break_glass\n");
	rc = mc_store_read(cli->store, audit_txn, &r, &err);
	if (rc != 0 && !err.code)   /* emit_json ran out of memory */
		mc_err_set(&err, EX_OSERR, _("out of memory"));
	if (rc == 0)
		rc = audit_finish(cli, &r, now, &err);
	if (ms) {
		if (fclose(ms) != 0 && rc == 0)
			rc = mc_err_set(&err, EX_OSERR, _("out of memory"));
		ms = NULL;
		if (rc == 0)
			rc = mc_cli_write_file(q.outpath, mem, memlen, &err);
	}
out:
	if (ms)
		fclose(ms);
	free(mem);
	cJSON_Delete(r.o.entries);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_audit_list(struct mc_cli *cli, struct mc_args *a)
{
	return audit_run(cli, a, false);
}

int cmd_audit_export(struct mc_cli *cli, struct mc_args *a)
{
	return audit_run(cli, a, true);
}
