/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "fhir.h"
#include "i18n.h"
#include "text.h"

cJSON *mc_fhir_coding(const char *system, const char *code, const char *display)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "system", system);
	cJSON_AddStringToObject(c, "code", code);
	if (display)
		mc_json_add_str(c, "display", display);
	return c;
}

static cJSON *concept(cJSON *coding_item)
{
	cJSON *cc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(cc, "coding");

	cJSON_AddItemToArray(arr, coding_item);
	return cc;
}

cJSON *mc_fhir_ident_ref(const char *system, const char *value, const char *display)
{
	cJSON *r = cJSON_CreateObject(), *id = cJSON_AddObjectToObject(r, "identifier");

	cJSON_AddStringToObject(id, "system", system);
	cJSON_AddStringToObject(id, "value", value);
	if (display)
		mc_json_add_str(r, "display", display);
	return r;
}

cJSON *mc_fhir_consent(const struct mc_grant *g, const uint8_t grantor[MC_PK_LEN],
		       uint64_t granted_at, bool revoked, const char *grantee_name)
{
	cJSON *c = cJSON_CreateObject(), *arr, *prov, *actor, *period;
	char gid[33], subj[65], pk[65], when[32];

	mc_hex(g->id, MC_GRANT_ID_LEN, gid);
	mc_hex(g->subject, MC_HASH_LEN, subj);
	cJSON_AddStringToObject(c, "resourceType", "Consent");
	cJSON_AddStringToObject(c, "id", gid);
	arr = cJSON_AddArrayToObject(c, "identifier");
	{
		cJSON *id = cJSON_CreateObject();

		cJSON_AddStringToObject(id, "system", "urn:medchain:grant");
		cJSON_AddStringToObject(id, "value", gid);
		cJSON_AddItemToArray(arr, id);
	}
	cJSON_AddStringToObject(c, "status", revoked ? "inactive" : "active");
	cJSON_AddItemToObject(c, "scope", concept(mc_fhir_coding("http://terminology.hl7.org/CodeSystem/consentscope",
							 "patient-privacy", "Privacy Consent")));
	arr = cJSON_AddArrayToObject(c, "category");
	cJSON_AddItemToArray(arr, concept(mc_fhir_coding("http://loinc.org", "59284-0", "Patient Consent")));
	cJSON_AddItemToObject(c, "patient", mc_fhir_ident_ref("urn:medchain:subject", subj, NULL));
	mc_time_format(granted_at, when, sizeof(when));
	cJSON_AddStringToObject(c, "dateTime", when);
	arr = cJSON_AddArrayToObject(c, "performer");
	mc_hex(grantor, MC_PK_LEN, pk);
	cJSON_AddItemToArray(arr, mc_fhir_ident_ref("urn:medchain:identity", pk, NULL));
	mc_json_add_strn(cJSON_AddObjectToObject(c, "sourceAttachment"), "title",
			 g->attest_len ? (const void *)g->attest : "", g->attest_len);
	cJSON_AddItemToObject(c, "policyRule", concept(mc_fhir_coding("http://terminology.hl7.org/CodeSystem/v3-ActCode",
							      "OPTIN", "opt-in")));
	prov = cJSON_AddObjectToObject(c, "provision");
	cJSON_AddStringToObject(prov, "type", "permit");
	if (g->not_before || g->not_after != MC_TIME_OPEN) {
		period = cJSON_AddObjectToObject(prov, "period");
		if (g->not_before) {
			mc_time_format(g->not_before, when, sizeof(when));
			cJSON_AddStringToObject(period, "start", when);
		}
		if (g->not_after != MC_TIME_OPEN) {
			mc_time_format(g->not_after, when, sizeof(when));
			cJSON_AddStringToObject(period, "end", when);
		}
	}
	arr = cJSON_AddArrayToObject(prov, "actor");
	actor = cJSON_CreateObject();
	cJSON_AddItemToObject(actor, "role", concept(mc_fhir_coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
							    "IRCP", "information recipient")));
	mc_hex(g->grantee, MC_PK_LEN, pk);
	cJSON_AddItemToObject(actor, "reference", mc_fhir_ident_ref("urn:medchain:identity", pk, grantee_name));
	cJSON_AddItemToArray(arr, actor);
	arr = cJSON_AddArrayToObject(prov, "purpose");
	cJSON_AddItemToArray(arr, mc_fhir_coding("http://terminology.hl7.org/CodeSystem/v3-ActReason",
					 mc_purpose_fhir_code(g->purpose), mc_purpose_name(g->purpose)));
	if (!g->all_categories && g->ncat) {
		arr = cJSON_AddArrayToObject(prov, "code");
		for (unsigned i = 0; i < g->ncat; i++) {
			char cat[MC_CATEGORY_MAX + 1];

			memcpy(cat, g->cat[i], g->cat_len[i]);
			cat[g->cat_len[i]] = '\0';
			cJSON_AddItemToArray(arr, concept(mc_fhir_coding("urn:medchain:category", cat, NULL)));
		}
	}
	if (g->nrec) {
		arr = cJSON_AddArrayToObject(prov, "data");
		for (unsigned i = 0; i < g->nrec; i++) {
			cJSON *d = cJSON_CreateObject();
			char rec[33];

			mc_hex(g->recs + (size_t)i * MC_RECORD_ID_LEN, MC_RECORD_ID_LEN, rec);
			cJSON_AddStringToObject(d, "meaning", "instance");
			cJSON_AddItemToObject(d, "reference", mc_fhir_ident_ref("urn:medchain:record", rec, NULL));
			cJSON_AddItemToArray(arr, d);
		}
	}
	return c;
}

static const char *str_at(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int missing(struct mc_err *err, const char *what)
{
	return mc_err_set(err, EX_DATAERR, _("Consent: '%s' is missing or invalid"), what);
}

/* The elements FHIR R4 requires of a Consent, and only an active one. */
static int required_elements(const cJSON *res, const char *status, struct mc_err *err)
{
	if (!status)
		return missing(err, "status");
	if (strcmp(status, "active") != 0)
		return mc_err_set(err, EX_DATAERR, _("Consent: only an active consent can be imported (status '%s')"),
				  status);
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(res, "scope")))
		return missing(err, "scope");
	if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(res, "category")) ||
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "category")) < 1)
		return missing(err, "category");
	if (!cJSON_GetObjectItemCaseSensitive(res, "policyRule") &&
	    !cJSON_GetObjectItemCaseSensitive(res, "policy"))
		return missing(err, "policy or policyRule");
	return 0;
}

/* provision.actor: exactly one, with a role; its reference is the grantee. */
static int read_actor(const cJSON *prov, struct mc_fhir_consent_in *in, struct mc_err *err)
{
	const cJSON *actors, *actor, *ref, *rid;

	actors = cJSON_GetObjectItemCaseSensitive(prov, "actor");
	if (!cJSON_IsArray(actors) || cJSON_GetArraySize(actors) != 1)
		return missing(err, "provision.actor (exactly one)");
	actor = cJSON_GetArrayItem(actors, 0);
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(actor, "role")))
		return missing(err, "provision.actor.role");
	ref = cJSON_GetObjectItemCaseSensitive(actor, "reference");
	if (!cJSON_IsObject(ref))
		return missing(err, "provision.actor.reference");
	rid = cJSON_GetObjectItemCaseSensitive(ref, "identifier");
	in->grantee_system = str_at(rid, "system");
	in->grantee_value = str_at(rid, "value");
	in->grantee_display = str_at(ref, "display");
	if (!in->grantee_value && !in->grantee_display)
		return missing(err, "provision.actor.reference.identifier");
	return 0;
}

/* provision.purpose: exactly one, with a code medchain knows. */
static int read_purpose(const cJSON *prov, struct mc_fhir_consent_in *in, struct mc_err *err)
{
	const cJSON *purposes, *p;

	purposes = cJSON_GetObjectItemCaseSensitive(prov, "purpose");
	if (!cJSON_IsArray(purposes) || cJSON_GetArraySize(purposes) != 1)
		return missing(err, "provision.purpose (exactly one)");
	p = cJSON_GetArrayItem(purposes, 0);
	if (!str_at(p, "code") || mc_purpose_from_fhir_code(str_at(p, "code"), &in->purpose) != 0) {
		char what[128], fhir[80];

		mc_names_join(fhir, sizeof(fhir), mc_purpose_fhir_code, MC_PURPOSE_MAX);
		snprintf(what, sizeof(what), "provision.purpose.code (%s)", fhir);
		return missing(err, what);
	}
	return 0;
}

/* provision.period, when given: start and end, in that order. */
static int read_period(const cJSON *prov, struct mc_fhir_consent_in *in, struct mc_err *err)
{
	const cJSON *period = cJSON_GetObjectItemCaseSensitive(prov, "period");

	if (period) {
		const char *start = str_at(period, "start"), *end = str_at(period, "end");

		if (start && mc_time_parse(start, 0, 1, &in->not_before) != 0)
			return missing(err, "provision.period.start");
		if (end && mc_time_parse(end, 0, 1, &in->not_after) != 0)
			return missing(err, "provision.period.end");
		if (in->not_after < in->not_before)
			return mc_err_set(err, EX_DATAERR, _("Consent: the period ends before it starts"));
	}
	return 0;
}

/* The scope: provision.code categories and provision.data records; all
 * categories when neither is given. */
static int read_scope(const cJSON *prov, struct mc_fhir_consent_in *in, struct mc_err *err)
{
	const cJSON *codes, *data, *item;

	codes = cJSON_GetObjectItemCaseSensitive(prov, "code");
	cJSON_ArrayForEach(item, codes) {
		const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(item, "coding"), 0);
		const char *code = str_at(c0, "code");

		if (!code || in->ncat >= MC_SCOPE_CATS_MAX ||
		    !mc_token_valid(code, strlen(code), MC_CATEGORY_MAX))
			return missing(err, "provision.code");
		in->cats[in->ncat++] = code;
	}
	data = cJSON_GetObjectItemCaseSensitive(prov, "data");
	cJSON_ArrayForEach(item, data) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(item, "reference"), "identifier");
		const char *v = str_at(r, "value");

		if (!str_at(item, "meaning") || !v || strlen(v) != 32 || in->nrec >= MC_SCOPE_RECS_MAX)
			return missing(err, "provision.data");
		in->recs[in->nrec++] = v;
	}
	in->all_categories = in->ncat == 0 && in->nrec == 0;
	return 0;
}

int mc_fhir_consent_read(const cJSON *res, struct mc_fhir_consent_in *in, struct mc_err *err)
{
	const cJSON *patient, *pid, *prov, *src;
	const char *rt = str_at(res, "resourceType"), *status = str_at(res, "status");

	memset(in, 0, sizeof(*in));
	in->not_after = MC_TIME_OPEN;
	if (!rt || strcmp(rt, "Consent") != 0)
		return mc_err_set(err, EX_DATAERR, _("not a FHIR Consent resource"));
	if (required_elements(res, status, err) != 0)
		return -1;
	patient = cJSON_GetObjectItemCaseSensitive(res, "patient");
	pid = cJSON_GetObjectItemCaseSensitive(patient, "identifier");
	in->subject_system = str_at(pid, "system");
	in->subject_value = str_at(pid, "value");
	if (!in->subject_value || !*in->subject_value)
		return missing(err, "patient.identifier.value");
	prov = cJSON_GetObjectItemCaseSensitive(res, "provision");
	if (!cJSON_IsObject(prov))
		return missing(err, "provision");
	if (str_at(prov, "type") && strcmp(str_at(prov, "type"), "permit") != 0)
		return mc_err_set(err, EX_DATAERR, _("Consent: only permit provisions can be imported"));
	if (read_actor(prov, in, err) != 0 || read_purpose(prov, in, err) != 0 ||
	    read_period(prov, in, err) != 0 || read_scope(prov, in, err) != 0)
		return -1;
	src = cJSON_GetObjectItemCaseSensitive(res, "sourceAttachment");
	in->attestation = str_at(src, "title");
	return 0;
}
