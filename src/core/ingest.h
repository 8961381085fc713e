/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.h - turning clinical systems' input into records to seal.
 *
 * NDJSON: one JSON object a line:
 *   {"subject": "<patient id>", "category": "<token>", "type": "<mime>",
 *    "payload": <string or JSON value> | "payload_base64": "<base64>"}
 * "type" defaults to application/fhir+json for a JSON object or array
 * payload, text/plain for a string. A string payload is stored as its UTF-8
 * bytes; a JSON value as its compact serialisation.
 *
 * FHIR R4 Bundle: every entry.resource becomes a record of category
 * lower(resourceType), type application/fhir+json; the subject is the
 * Patient's first identifier value (or id), found through subject.reference
 * or patient.reference ("Patient/<id>" or an entry's fullUrl).
 *
 * Error messages name the line or entry and the field, never the values
 * (they may be health data).
 */
#ifndef MC_INGEST_H
#define MC_INGEST_H

#include <stddef.h>

#include "err.h"

#define MC_INGEST_LINE_MAX (24u * 1024 * 1024)
#define MC_INGEST_BUNDLE_MAX (256u * 1024 * 1024)
/* A Bundle is parsed whole (a cJSON tree, about 85 bytes a value, 16x the
 * input for small entries): it holds at most this many JSON values (counted
 * as '{', '[' and ',' outside strings, plus one) before it is parsed. */
#define MC_INGEST_BUNDLE_VALUES (2u * 1024 * 1024)
/* And an NDJSON line, parsed whole as well, at most this many. */
#define MC_INGEST_VALUES_MAX (2u * 1024 * 1024)

struct mc_ingest_item {
	char *subject;              /* malloc'd */
	char category[65];
	char ctype[129];
	unsigned char *payload;     /* malloc'd */
	size_t payload_len;
	/* What names the FHIR resource, for recognising it when it is imported
	 * again: "resourceType|identifier|system|value" (its first identifier
	 * with a value) or "resourceType|id|id"; NULL when the payload is not a
	 * resource with either (it is then recognised by its content).
	 * malloc'd, at most MC_INGEST_REF_MAX bytes. */
	char *ref;
};
#define MC_INGEST_REF_MAX 1024

void mc_ingest_item_release(struct mc_ingest_item *it);

/* One NDJSON line (without its newline). */
int mc_ingest_ndjson_line(const char *line, size_t n, struct mc_ingest_item *it,
			  struct mc_err *err);

/* A whole FHIR R4 Bundle. *items is malloc'd: release each and free it. */
int mc_ingest_bundle(const char *doc, size_t n, struct mc_ingest_item **items, size_t *count,
		     struct mc_err *err);

#endif
