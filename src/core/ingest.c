/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "ingest.h"
#include "text.h"

void mc_ingest_item_release(struct mc_ingest_item *it)
{
	if (!it)
		return;
	if (it->subject)
		sodium_memzero(it->subject, strlen(it->subject));
	free(it->subject);
	if (it->payload)
		sodium_memzero(it->payload, it->payload_len);
	free(it->payload);
	if (it->ref)
		sodium_memzero(it->ref, strlen(it->ref));
	free(it->ref);
	memset(it, 0, sizeof(*it));
}

/* json_scan's short cut counts no value below the smaller cap */
_Static_assert(MC_INGEST_VALUES_MAX <= MC_INGEST_BUNDLE_VALUES, "the line's cap is the smaller");

/* What json_scan finds in JSON text. */
enum json_flaw { JSON_CLEAN, JSON_NUL, JSON_CTRL };

/* One pass over JSON text, within its n bytes: JSON_NUL when it holds a NUL
 * byte or a string escapes U+0000 (cJSON's strings end at a NUL: the rest
 * would be cut silently); JSON_CTRL when a string holds a raw control
 * character, which JSON escapes (cJSON takes it and prints it back as six
 * bytes, so a Bundle of them grew eight times in memory and the stored
 * payload differed from the input: found in review); else JSON_CLEAN with
 * *values about the number of nodes cJSON would allocate: one more than its
 * '{', '[' and ',' outside strings (at least the number of values, within
 * one per member of the nodes). A backslash in a string takes the next
 * byte with it, so "\\u0000" is text. */
static enum json_flaw json_scan(const char *s, size_t n, size_t *values)
{
	const char *end = s + n, *p;
	bool ctrl = false;
	size_t v = 1;
	bool in_str = false;

	/* the common case, a line of no control byte shorter than the cap of
	 * values (each value counted is a byte of its own): no state to keep,
	 * only an escaped U+0000 to find, by memchr of each run of
	 * backslashes (an odd run escapes what follows) */
	for (size_t i = 0; i < n; i++)
		ctrl |= (unsigned char)s[i] < 0x20;
	if (!ctrl && n < MC_INGEST_VALUES_MAX) {
		for (p = memchr(s, '\\', n); p; p = p < end ? memchr(p, '\\', (size_t)(end - p)) : NULL) {
			size_t k = 0;

			while (p + k < end && p[k] == '\\')
				k++;
			p += k;
			if ((k & 1) && end - p >= 5 && memcmp(p, "u0000", 5) == 0)
				return JSON_NUL;
		}
		*values = n + 1;   /* at most: under the cap */
		return JSON_CLEAN;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			return JSON_NUL;
		if (!in_str) {
			if (c == '"')
				in_str = true;
			else if (c == '{' || c == '[' || c == ',')
				v++;
		} else if (c == '"') {
			in_str = false;
		} else if (c == '\\') {
			if (n - i > 5 && memcmp(s + i + 1, "u0000", 5) == 0)
				return JSON_NUL;
			i++;
		} else if (c < 0x20) {
			return JSON_CTRL;
		}
	}
	*values = v;
	return JSON_CLEAN;
}

/* it->ref from a FHIR resource (see ingest.h); none when it has no type,
 * no usable identifier or id, or the name would be over the limit. */
static int resource_ref(const cJSON *res, struct mc_ingest_item *it, struct mc_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(res, "identifier"), *idn;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
	char buf[MC_INGEST_REF_MAX + 1];
	int len = -1;

	if (!cJSON_IsObject(res) || !cJSON_IsString(type) || !type->valuestring[0])
		return 0;
	cJSON_ArrayForEach(idn, ids) {
		const cJSON *sys = cJSON_GetObjectItemCaseSensitive(idn, "system");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(idn, "value");

		if (cJSON_IsString(val) && val->valuestring[0]) {
			len = snprintf(buf, sizeof(buf), "%s|identifier|%s|%s", type->valuestring,
				       cJSON_IsString(sys) ? sys->valuestring : "", val->valuestring);
			break;
		}
	}
	if (len < 0 && cJSON_IsString(id) && id->valuestring[0])
		len = snprintf(buf, sizeof(buf), "%s|id|%s", type->valuestring, id->valuestring);
	if (len < 0 || (size_t)len >= sizeof(buf)) {
		sodium_memzero(buf, sizeof(buf));
		return 0;
	}
	it->ref = strdup(buf);
	sodium_memzero(buf, sizeof(buf));
	return it->ref ? 0 : mc_err_set(err, EX_OSERR, _("out of memory"));
}

static int copy_field(char *dst, size_t cap, const cJSON *v, const char *name, struct mc_err *err)
{
	size_t n;

	if (!cJSON_IsString(v))
		return mc_err_set(err, EX_DATAERR, _("field '%s' must be a string"), name);
	n = strlen(v->valuestring);
	if (n == 0 || n >= cap)
		return mc_err_set(err, EX_DATAERR, _("field '%s' must be 1 to %zu bytes"), name, cap - 1);
	memcpy(dst, v->valuestring, n + 1);
	return 0;
}

/* The item's payload and content type from the line's "payload" (a
 * string: text; an object or array: FHIR JSON, compact) or
 * "payload_base64" (bytes); exactly one of them is given. n: the line's
 * length. */
static int line_payload(struct mc_ingest_item *it, cJSON *payload, const cJSON *b64, size_t n,
			struct mc_err *err)
{
	if (b64) {
		size_t len = 0, cap;

		if (!cJSON_IsString(b64))
			return mc_err_set(err, EX_DATAERR, _("field 'payload_base64' must be a string"));
		cap = strlen(b64->valuestring) / 4 * 3 + 3;
		it->payload = malloc(cap);
		if (!it->payload)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		if (sodium_base642bin(it->payload, cap, b64->valuestring, strlen(b64->valuestring),
				      "\n\r ", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
			return mc_err_set(err, EX_DATAERR, _("field 'payload_base64' is not base64"));
		it->payload_len = len;
		snprintf(it->ctype, sizeof(it->ctype), "%s", "application/octet-stream");
	} else if (cJSON_IsString(payload)) {
		it->payload_len = strlen(payload->valuestring);
		it->payload = malloc(it->payload_len + 1);
		if (!it->payload)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		memcpy(it->payload, payload->valuestring, it->payload_len);
		snprintf(it->ctype, sizeof(it->ctype), "%s", "text/plain");
	} else if (cJSON_IsObject(payload) || cJSON_IsArray(payload)) {
		/* Compact output is never longer than the line it came from
		 * (plus escapes cJSON may add); print into one allocation. */
		int cap = (int)(n < 1024 ? 2048 : 2 * n);
		char *s = malloc((size_t)cap);

		if (s && !cJSON_PrintPreallocated(payload, s, cap, 0)) {
			free(s);
			s = cJSON_PrintUnformatted(payload);
		}
		if (!s)
			return mc_err_set(err, EX_OSERR, _("out of memory"));
		it->payload = (unsigned char *)s;
		it->payload_len = strlen(s);
		snprintf(it->ctype, sizeof(it->ctype), "%s", "application/fhir+json");
	} else {
		return mc_err_set(err, EX_DATAERR, _("field 'payload' must be a string, object or array"));
	}
	return 0;
}

int mc_ingest_ndjson_line(const char *line, size_t n, struct mc_ingest_item *it,
			  struct mc_err *err)
{
	cJSON *root, *subj, *cat, *type, *payload, *b64;
	size_t values = 0;
	const char *end = NULL;
	int rc = -1;

	memset(it, 0, sizeof(*it));
	if (!mc_utf8_valid(line, n))
		return mc_err_set(err, EX_DATAERR, _("not UTF-8"));
	switch (json_scan(line, n, &values)) {
	case JSON_NUL:
		return mc_err_set(err, EX_DATAERR, _("a string holds U+0000 (NUL)"));
	case JSON_CTRL:
		return mc_err_set(err, EX_DATAERR, _("a string holds a control character that JSON escapes"));
	case JSON_CLEAN:
		break;
	}
	/* a line is parsed whole too (a 24 MiB line of "0," held a gigabyte
	 * of cJSON's nodes: found in review) */
	if (values > MC_INGEST_VALUES_MAX)
		return mc_err_set(err, EX_DATAERR, _("a line holds at most %u JSON values"), MC_INGEST_VALUES_MAX);
	root = cJSON_ParseWithLengthOpts(line, n, &end, 0);
	if (!root)
		return mc_err_set(err, EX_DATAERR, _("invalid JSON"));
	while (end && end < line + n && isspace((unsigned char)*end))
		end++;
	if (end != line + n) {
		mc_err_set(err, EX_DATAERR, _("trailing data after the JSON object"));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		mc_err_set(err, EX_DATAERR, _("a line must hold a JSON object"));
		goto out;
	}
	subj = cJSON_GetObjectItemCaseSensitive(root, "subject");
	cat = cJSON_GetObjectItemCaseSensitive(root, "category");
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
	b64 = cJSON_GetObjectItemCaseSensitive(root, "payload_base64");
	if (!cJSON_IsString(subj) || !subj->valuestring[0]) {
		mc_err_set(err, EX_DATAERR, _("field 'subject' is missing or not a string"));
		goto out;
	}
	if (!cat) {
		mc_err_set(err, EX_DATAERR, _("field 'category' is missing"));
		goto out;
	}
	if (copy_field(it->category, sizeof(it->category), cat, "category", err) != 0)
		goto out;
	if ((payload != NULL) == (b64 != NULL)) {
		mc_err_set(err, EX_DATAERR, _("give exactly one of 'payload' and 'payload_base64'"));
		goto out;
	}
	if (line_payload(it, payload, b64, n, err) != 0)
		goto out;
	if (type && copy_field(it->ctype, sizeof(it->ctype), type, "type", err) != 0)
		goto out;
	/* record put's rule: a JSON type's payload is UTF-8 */
	if (mc_mime_json(it->ctype) && !mc_utf8_valid(it->payload, it->payload_len)) {
		mc_err_set(err, EX_DATAERR, _("a JSON payload must be UTF-8"));
		goto out;
	}
	if (cJSON_IsObject(payload) && resource_ref(payload, it, err) != 0)
		goto out;
	it->subject = strdup(subj->valuestring);
	if (!it->subject) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc != 0)
		mc_ingest_item_release(it);
	return rc;
}

static const char *patient_id(const cJSON *patient)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(patient, "identifier");
	const cJSON *first = cJSON_IsArray(ids) ? cJSON_GetArrayItem(ids, 0) : NULL;
	const cJSON *val = first ? cJSON_GetObjectItemCaseSensitive(first, "value") : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(patient, "id");

	if (cJSON_IsString(val) && val->valuestring[0])
		return val->valuestring;
	if (cJSON_IsString(id) && id->valuestring[0])
		return id->valuestring;
	return NULL;
}

/* The Bundle's Patients by the names a reference finds them by: an
 * entry's fullUrl, and "Patient/<id>" (kept as <id>, ids[]), each sorted by
 * name then entry, so that a name's first entry is the one the Bundle
 * names first. Built once; a reference is then two binary searches. */
struct pat_key {
	const char *name;
	size_t entry;                /* the entry's place in the Bundle */
	const cJSON *res;
};

struct pat_index {
	struct pat_key *urls, *ids;
	size_t nurls, nids;
};

static int pat_key_cmp(const void *a, const void *b)
{
	const struct pat_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

static void pat_index_free(struct pat_index *ix)
{
	free(ix->urls);
	free(ix->ids);
	memset(ix, 0, sizeof(*ix));
}

static int pat_index_build(const cJSON *entries, size_t total, struct pat_index *ix,
			   struct mc_err *err)
{
	const cJSON *e;
	size_t k = 0;

	memset(ix, 0, sizeof(*ix));
	ix->urls = calloc(total ? total : 1, sizeof(*ix->urls));
	ix->ids = calloc(total ? total : 1, sizeof(*ix->ids));
	if (!ix->urls || !ix->ids) {
		pat_index_free(ix);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	cJSON_ArrayForEach(e, entries) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");
		const cJSON *full = cJSON_GetObjectItemCaseSensitive(e, "fullUrl");
		const cJSON *rt = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");

		if (k >= total)
			break;
		if (cJSON_IsString(rt) && strcmp(rt->valuestring, "Patient") == 0) {
			if (cJSON_IsString(full))
				ix->urls[ix->nurls++] = (struct pat_key){ full->valuestring, k, res };
			if (cJSON_IsString(id))
				ix->ids[ix->nids++] = (struct pat_key){ id->valuestring, k, res };
		}
		k++;
	}
	qsort(ix->urls, ix->nurls, sizeof(*ix->urls), pat_key_cmp);
	qsort(ix->ids, ix->nids, sizeof(*ix->ids), pat_key_cmp);
	return 0;
}

/* The first key named name (the Bundle's first entry of that name), or NULL */
static const struct pat_key *pat_find(const struct pat_key *keys, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(keys[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(keys[lo].name, name) == 0 ? &keys[lo] : NULL;
}

/* Resolves "Patient/<id>" or a fullUrl to the subject identifier: the
 * first Patient entry of the Bundle whose fullUrl is ref or whose id is
 * <id>, else <id> itself (a Patient the Bundle does not hold). */
static const char *resolve_ref(const struct pat_index *ix, const char *ref)
{
	const struct pat_key *u = pat_find(ix->urls, ix->nurls, ref), *i = NULL;

	if (strncmp(ref, "Patient/", 8) == 0)
		i = pat_find(ix->ids, ix->nids, ref + 8);
	if (u && (!i || u->entry < i->entry))
		return patient_id(u->res);
	if (i)
		return patient_id(i->res);
	if (strncmp(ref, "Patient/", 8) == 0 && ref[8])
		return ref + 8;
	return NULL;
}

/* Entry k (from 0) of a bundle as an item: its resource, category (the
 * resourceType in lower case) and patient subject. */
static int bundle_entry(const struct pat_index *ix, const cJSON *e, struct mc_ingest_item *it, size_t k,
			struct mc_err *err)
{
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
	const char *subject = NULL;
	char *s;
	size_t tl;

	if (!cJSON_IsObject(res) || !cJSON_IsString(type) || !type->valuestring[0])
		return mc_err_set(err, EX_DATAERR, _("entry %zu: no resource with a resourceType"), k + 1);
	tl = strlen(type->valuestring);
	if (tl >= sizeof(it->category))
		return mc_err_set(err, EX_DATAERR, _("entry %zu: resourceType too long"), k + 1);
	for (size_t i = 0; i <= tl; i++)
		it->category[i] = (char)tolower((unsigned char)type->valuestring[i]);
	if (strcmp(type->valuestring, "Patient") == 0) {
		subject = patient_id(res);
	} else {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(res, "subject");
		const cJSON *r;

		if (!ref)
			ref = cJSON_GetObjectItemCaseSensitive(res, "patient");
		r = cJSON_GetObjectItemCaseSensitive(ref, "reference");
		if (cJSON_IsString(r))
			subject = resolve_ref(ix, r->valuestring);
	}
	if (!subject)
		return mc_err_set(err, EX_DATAERR, _("entry %zu: no patient subject"), k + 1);
	snprintf(it->ctype, sizeof(it->ctype), "%s", "application/fhir+json");
	it->subject = strdup(subject);
	s = cJSON_PrintUnformatted(res);
	if (!it->subject || !s) {
		free(s);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	it->payload = (unsigned char *)s;
	it->payload_len = strlen(s);
	return resource_ref(res, it, err);
}

int mc_ingest_bundle(const char *doc, size_t n, struct mc_ingest_item **items, size_t *count,
		     struct mc_err *err)
{
	cJSON *root, *entries, *e;
	const cJSON *rt;
	struct pat_index ix = { 0 };
	struct mc_ingest_item *out = NULL;
	size_t k = 0, total = 0, values = 0;
	int rc = -1;

	*items = NULL;
	*count = 0;
	if (!mc_utf8_valid(doc, n))
		return mc_err_set(err, EX_DATAERR, _("the bundle is not UTF-8"));
	switch (json_scan(doc, n, &values)) {
	case JSON_NUL:
		return mc_err_set(err, EX_DATAERR, _("a string of the bundle holds U+0000 (NUL)"));
	case JSON_CTRL:
		return mc_err_set(err, EX_DATAERR, _("a string of the bundle holds a control character that JSON escapes"));
	case JSON_CLEAN:
		break;
	}
	if (values > MC_INGEST_BUNDLE_VALUES)
		return mc_err_set(err, EX_DATAERR,
				  _("a bundle holds at most %u JSON values: import a larger one as NDJSON"),
				  MC_INGEST_BUNDLE_VALUES);
	root = cJSON_ParseWithLength(doc, n);
	if (!root)
		return mc_err_set(err, EX_DATAERR, _("the bundle is not valid JSON"));
	rt = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
	if (!cJSON_IsString(rt) || strcmp(rt->valuestring, "Bundle") != 0) {
		mc_err_set(err, EX_DATAERR, _("not a FHIR Bundle (resourceType is not \"Bundle\")"));
		goto out;
	}
	entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
	if (!cJSON_IsArray(entries) || cJSON_GetArraySize(entries) == 0) {
		mc_err_set(err, EX_DATAERR, _("the bundle has no entries"));
		goto out;
	}
	total = (size_t)cJSON_GetArraySize(entries);
	out = calloc(total, sizeof(*out));
	if (!out) {
		mc_err_set(err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (pat_index_build(entries, total, &ix, err) != 0)
		goto out;
	cJSON_ArrayForEach(e, entries) {
		if (bundle_entry(&ix, e, &out[k], k, err) != 0)
			goto out;
		k++;
	}
	*items = out;
	*count = k;
	out = NULL;
	rc = 0;
out:
	if (out) {
		for (size_t i = 0; i < total; i++)
			mc_ingest_item_release(&out[i]);
		free(out);
	}
	pat_index_free(&ix);
	cJSON_Delete(root);
	return rc;
}
