/* SPDX-License-Identifier: Apache-2.0 */
/* fhir.h - FHIR R4 Consent resources for consent grants, both ways.
 *
 * Mapping (docs/decisions.md): identifier urn:medchain:grant; status active
 * or inactive (revoked); scope patient-privacy; category LOINC 59284-0;
 * patient.identifier urn:medchain:subject (the pseudonym); dateTime the
 * grant's block time; performer the grantor; sourceAttachment.title the
 * attestation; policyRule v3-ActCode OPTIN; provision: type permit, period
 * [not-before, not-after], actor (role IRCP, reference.identifier
 * urn:medchain:identity), purpose (v3-ActReason), code (urn:medchain:category
 * per category; none for every category), data (meaning instance,
 * urn:medchain:record per record id).
 */
#ifndef MC_FHIR_H
#define MC_FHIR_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "consent.h"
#include "err.h"

/* Building blocks: a Coding, and a Reference by identifier. */
cJSON *mc_fhir_coding(const char *system, const char *code, const char *display);
cJSON *mc_fhir_ident_ref(const char *system, const char *value, const char *display);

/* A new Consent resource for a grant. */
cJSON *mc_fhir_consent(const struct mc_grant *g, const uint8_t grantor[MC_PK_LEN],
		       uint64_t granted_at, bool revoked, const char *grantee_name);

/* What a Consent resource asks for, before names and identifiers are
 * resolved. Strings point into the cJSON tree. */
struct mc_fhir_consent_in {
	const char *subject_system, *subject_value;
	const char *grantee_system, *grantee_value, *grantee_display;
	uint8_t purpose;
	bool all_categories;
	const char *cats[MC_SCOPE_CATS_MAX];
	unsigned ncat;
	const char *recs[MC_SCOPE_RECS_MAX];
	unsigned nrec;
	uint64_t not_before, not_after;
	const char *attestation;
};
/* EX_DATAERR naming the element that is missing or wrong. */
int mc_fhir_consent_read(const cJSON *res, struct mc_fhir_consent_in *in, struct mc_err *err);

#endif
