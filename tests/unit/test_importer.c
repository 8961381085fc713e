/* SPDX-License-Identifier: Apache-2.0 */
/* The importer fed from NDJSON lines and a FHIR Bundle (ingest.h), as
 * `record import` feeds it: records are reported only once committed, in
 * order, each batch one block; a malformed line is refused with EX_DATAERR
 * and an abandoned import commits nothing of its partial batch; a
 * duplicate is skipped, versioned or an error as --on-duplicate says. */
#include "config.h"

#include <cjson/cJSON.h>
#include <sysexits.h>

#include "fixture.h"
#include "codec.h"
#include "importer.h"
#include "ingest.h"
#include "util.h"

TestSuite(importer, .init = fx_setup, .fini = fx_teardown);

#define MAXR 16

struct report {
	unsigned n, blocks;
	unsigned long tags[MAXR];
	uint8_t ids[MAXR][MC_RECORD_ID_LEN];
	uint32_t versions[MAXR];
	uint64_t heights[MAXR];
	unsigned total, descents;              /* every record; ids below the one before */
	unsigned second;                       /* records stored as version 2 */
	uint8_t last[MC_RECORD_ID_LEN];
};

static void on_commit(void *ctx, const struct mc_sealed *recs, const unsigned long *tags, size_t n,
		      const struct mc_produced *block)
{
	struct report *r = ctx;

	r->blocks++;
	for (size_t i = 0; i < n; i++) {
		r->second += recs[i].entry.version == 2;
		if (recs[i].entry.version == 1 && r->total++ && memcmp(r->last, recs[i].entry.id, MC_RECORD_ID_LEN) >= 0)
			r->descents++;
		if (recs[i].entry.version == 1)
			memcpy(r->last, recs[i].entry.id, MC_RECORD_ID_LEN);
	}
	for (size_t i = 0; i < n && r->n < MAXR; i++) {
		r->tags[r->n] = tags[i];
		memcpy(r->ids[r->n], recs[i].entry.id, MC_RECORD_ID_LEN);
		r->versions[r->n] = recs[i].entry.version;
		r->heights[r->n] = block->height;
		r->n++;
	}
}

static struct mc_importer *start(size_t batch, enum mc_dup_mode mode, struct report *r)
{
	struct mc_importer *im;
	struct mc_err err = { 0 };

	memset(r, 0, sizeof(*r));
	cr_assert_eq(mc_importer_start(fx.s, fx.node, fx.admin, fx.o, batch, mode, on_commit, r, &im, &err), 0,
		     "%s", err.msg);
	return im;
}

static int add_line(struct mc_importer *im, const char *line, unsigned long tag, struct mc_import_dup *dup,
		    struct mc_err *err)
{
	struct mc_ingest_item it;
	int rc;

	if (mc_ingest_ndjson_line(line, strlen(line), &it, err) != 0)
		return -1;
	rc = mc_importer_add(im, it.subject, it.ref, it.category, it.ctype, it.payload, it.payload_len, tag, dup,
			     err);
	mc_ingest_item_release(&it);
	return rc;
}

static void read_back(const uint8_t id[MC_RECORD_ID_LEN], uint32_t version, const char *want, const char *category)
{
	uint8_t *p;
	size_t n;
	struct mc_record_info info;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_record_read(fx.s, fx.o, id, version, &p, &n, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(n, strlen(want));
	cr_assert_eq(memcmp(p, want, n), 0);
	cr_assert_str_eq(info.category, category);
	mc_payload_free(p, n);
}

static int head_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	return mc_chain_head(t, vctx, err);
}

static uint64_t height(void)
{
	struct mc_head h;
	struct mc_err err = { 0 };

	cr_assert_eq(mc_store_read(fx.s, head_txn, &h, &err), 0, "%s", err.msg);
	return h.height;
}

Test(importer, ndjson_lines_are_committed_in_batches_and_reported_in_order_after_commit)
{
	static const char *lines[] = {
		"{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"first\"}",
		"{\"subject\":\"MRN-1\",\"category\":\"lab\",\"payload\":\"second\"}",
		"{\"subject\":\"MRN-2\",\"category\":\"note\",\"payload\":\"third\"}",
		"{\"subject\":\"MRN-3\",\"category\":\"note\",\"payload\":\"fourth\"}",
		"{\"subject\":\"MRN-3\",\"category\":\"note\",\"payload\":\"fifth\"}",
	};
	struct report r;
	struct mc_importer *im = start(2, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed = 0;
	uint64_t h0 = height();

	for (unsigned i = 0; i < 5; i++)
		cr_assert_eq(add_line(im, lines[i], 10 + i, &dup, &err), 0, "line %u: %s", i, err.msg);
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 5);
	cr_assert_eq(r.n, 5);
	cr_assert_eq(r.blocks, 3, "batches of two: 2 + 2 + 1");
	cr_assert_eq(height(), h0 + 3, "one block a batch");
	for (unsigned i = 0; i < 5; i++) {
		cr_assert_eq(r.tags[i], 10 + i, "reported in input order");
		cr_assert_eq(r.versions[i], 1);
		if (i)
			cr_assert_geq(r.heights[i], r.heights[i - 1]);
	}
	read_back(r.ids[0], 0, "first", "note");
	read_back(r.ids[1], 0, "second", "lab");
	read_back(r.ids[4], 0, "fifth", "note");
}

Test(importer, a_bundles_resources_become_records_of_their_patient_and_type)
{
	static const char doc[] =
		"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
		"{\"fullUrl\":\"urn:uuid:p1\",\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\","
		"\"identifier\":[{\"system\":\"urn:mrn\",\"value\":\"MRN-7\"}]}},"
		"{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\","
		"\"subject\":{\"reference\":\"urn:uuid:p1\"}}},"
		"{\"resource\":{\"resourceType\":\"Condition\",\"id\":\"c1\","
		"\"subject\":{\"reference\":\"Patient/p1\"}}}]}";
	struct mc_ingest_item *items;
	size_t count;
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;
	uint8_t subj[MC_HASH_LEN];
	struct mc_record_info info;
	uint8_t *p;
	size_t n;

	cr_assert_eq(mc_ingest_bundle(doc, strlen(doc), &items, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 3);
	im = start(0, MC_DUP_SKIP, &r);
	for (size_t i = 0; i < count; i++) {
		cr_assert_str_eq(items[i].subject, "MRN-7", "entry %zu", i);
		cr_assert_eq(mc_importer_add(im, items[i].subject, items[i].ref, items[i].category, items[i].ctype,
					     items[i].payload, items[i].payload_len, i, &dup, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 3);
	cr_assert_eq(r.blocks, 1, "one batch");
	cr_assert_eq(mc_org_subject(fx.o, "MRN-7", 5, subj, &err), 0);
	cr_assert_eq(mc_record_read(fx.s, fx.o, r.ids[1], 0, &p, &n, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.category, "observation");
	cr_assert_str_eq(info.ctype, "application/fhir+json");
	cr_assert_arr_eq(info.subject, subj, MC_HASH_LEN, "the Patient's identifier is the subject");
	cr_assert_not_null(memmem(p, n, "\"final\"", 7));
	mc_payload_free(p, n);
	for (size_t i = 0; i < count; i++)
		mc_ingest_item_release(&items[i]);
	free(items);
}

Test(importer, a_malformed_line_is_a_data_error_and_an_abandoned_import_commits_nothing_more)
{
	static const char *bad[] = {
		"{\"subject\":\"MRN-1\",\"category\":\"note\"}",                     /* no payload */
		"{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"x\"",    /* cut short */
		"[1,2]",
		"{\"subject\":17,\"category\":\"note\",\"payload\":\"x\"}",
		"{\"subject\":\"MRN-1\",\"category\":\"No Such\",\"payload\":\"x\"}",
	};
	struct report r;
	struct mc_importer *im = start(0, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err;
	unsigned long long committed = 99;
	uint64_t h0 = height();

	memset(&err, 0, sizeof(err));
	cr_assert_eq(add_line(im, "{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"kept?\"}", 1, &dup,
			      &err), 0, "%s", err.msg);
	for (size_t i = 0; i < MC_ARRAY_LEN(bad); i++) {
		memset(&err, 0, sizeof(err));
		cr_assert_eq(add_line(im, bad[i], 2 + i, &dup, &err), -1, "line %zu", i);
		cr_assert_eq(err.code, EX_DATAERR, "line %zu: %d %s", i, err.code, err.msg);
		cr_assert_null(strstr(err.msg, "MRN-1"), "no value in the message: %s", err.msg);
	}
	memset(&err, 0, sizeof(err));
	cr_assert_eq(mc_importer_finish(im, 1, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 0);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(height(), h0, "the partial batch was dropped: no block");
}

#define LINE(v) "{\"subject\":\"MRN-1\",\"category\":\"lab\",\"payload\":{\"resourceType\":\"Observation\"," \
		"\"id\":\"obs-1\",\"status\":\"" v "\"}}"

/* Imports LINE("preliminary") in its own import first (so it is on the
 * chain); returns its id. */
static void first_import(uint8_t id[MC_RECORD_ID_LEN])
{
	struct report r;
	struct mc_importer *im = start(0, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;

	cr_assert_eq(add_line(im, LINE("preliminary"), 1, &dup, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 1);
	memcpy(id, r.ids[0], MC_RECORD_ID_LEN);
}

Test(importer, skip_leaves_a_duplicate_out_and_says_whether_its_content_changed)
{
	uint8_t id[MC_RECORD_ID_LEN];
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;

	first_import(id);
	im = start(0, MC_DUP_SKIP, &r);
	memset(&dup, 0, sizeof(dup));
	cr_assert_eq(add_line(im, LINE("preliminary"), 1, &dup, &err), 1, "%s", err.msg);
	cr_assert_arr_eq(dup.id, id, MC_RECORD_ID_LEN, "names the record on the chain");
	cr_assert_not(dup.changed);
	cr_assert_not(dup.erased);
	memset(&dup, 0, sizeof(dup));
	cr_assert_eq(add_line(im, LINE("final"), 2, &dup, &err), 1);
	cr_assert_arr_eq(dup.id, id, MC_RECORD_ID_LEN);
	cr_assert(dup.changed, "the same resource with other content is reported as changed");
	cr_assert_eq(add_line(im, LINE("amended"), 3, &dup, &err), 1);
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 0);
	read_back(id, 0, "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"preliminary\"}", "lab");
}

Test(importer, version_stores_changed_content_as_the_next_version_and_never_the_same_twice)
{
	uint8_t id[MC_RECORD_ID_LEN];
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;

	first_import(id);
	im = start(0, MC_DUP_VERSION, &r);
	cr_assert_eq(add_line(im, LINE("preliminary"), 1, &dup, &err), 1, "the same content is not stored again");
	cr_assert_arr_eq(dup.id, id, MC_RECORD_ID_LEN);
	cr_assert_eq(add_line(im, LINE("final"), 2, &dup, &err), 0, "%s", err.msg);
	cr_assert_eq(add_line(im, LINE("final"), 3, &dup, &err), 1,
		     "a duplicate earlier in the same import is a duplicate too");
	cr_assert_eq(add_line(im, LINE("amended"), 4, &dup, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 2);
	cr_assert_arr_eq(r.ids[0], id, MC_RECORD_ID_LEN, "a new version of the same record");
	cr_assert_eq(r.versions[0], 2);
	cr_assert_eq(r.versions[1], 3);
	read_back(id, 0, "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"amended\"}", "lab");
	read_back(id, 2, "{\"resourceType\":\"Observation\",\"id\":\"obs-1\",\"status\":\"final\"}", "lab");
}

Test(importer, error_refuses_a_duplicate_in_the_check_pass_naming_it_and_stores_nothing)
{
	uint8_t id[MC_RECORD_ID_LEN];
	char hex[2 * MC_RECORD_ID_LEN + 1];
	struct report r;
	struct mc_importer *im;
	struct mc_ingest_item it;
	struct mc_err err = { 0 };
	unsigned long long committed;
	uint64_t h0;

	first_import(id);
	h0 = height();
	mc_hex(id, MC_RECORD_ID_LEN, hex);
	im = start(0, MC_DUP_ERROR, &r);
	cr_assert_eq(mc_ingest_ndjson_line(LINE("other"), strlen(LINE("other")), &it, &err), 0);
	cr_assert_eq(mc_importer_check(im, "MRN-2", it.ref, it.category, it.payload, it.payload_len, &err), 0,
		     "another patient's resource is not a duplicate: %s", err.msg);
	cr_assert_eq(mc_importer_check(im, it.subject, it.ref, it.category, it.payload, it.payload_len, &err), -1);
	cr_assert_eq(err.code, EX_DATAERR);
	cr_assert_not_null(strstr(err.msg, hex), "names the record it duplicates: %s", err.msg);
	mc_ingest_item_release(&it);
	cr_assert_eq(mc_importer_finish(im, 1, &committed, &err), 0);
	cr_assert_eq(committed, 0);
	cr_assert_eq(height(), h0, "the check pass stores nothing");
}

/* `seen` keeps only the keys of batches not yet durable: with one record a
 * batch, each batch is committed (and its keys dropped) while later lines
 * come; a later version is still found, on the chain or in the batch
 * being committed, and chains to the one before it. */
/* One input line, printed by cJSON: subject, category, then payload (owned
 * by the line from here). */
/* An import line of payload (taken), printed by cJSON: the caller frees
 * it with cJSON_free. */
static char *record_json(const char *subject, const char *category, cJSON *payload)
{
	cJSON *o = cJSON_CreateObject();
	char *p;

	cr_assert(o && payload);
	cJSON_AddStringToObject(o, "subject", subject);
	cJSON_AddStringToObject(o, "category", category);
	cJSON_AddItemToObject(o, "payload", payload);
	p = cJSON_PrintUnformatted(o);
	cr_assert(p);
	cJSON_Delete(o);
	return p;
}

static const char *record_line(char buf[256], const char *subject, const char *category, cJSON *payload)
{
	char *p = record_json(subject, category, payload);

	cr_assert(strlen(p) < 256);
	memcpy(buf, p, strlen(p) + 1);
	cJSON_free(p);
	return buf;
}

static const char *line_of(char buf[256], const char *obs, const char *status)
{
	cJSON *p = cJSON_CreateObject();

	cr_assert(p);
	cJSON_AddStringToObject(p, "resourceType", "Observation");
	cJSON_AddStringToObject(p, "id", obs);
	cJSON_AddStringToObject(p, "status", status);
	return record_line(buf, "MRN-1", "lab", p);
}

Test(importer, versions_across_committed_batches_are_found_and_chained)
{
	static const char *obs[] = { "a", "b", "c", "a", "a", "d", "e", "a", "a" };
	static const char *st[] = { "v1", "x", "y", "v2", "v2", "z", "w", "v3", "v1" };
	static const int want[] = { 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const uint32_t versions[] = { 1, 1, 1, 2, 1, 1, 3, 4 };
	char buf[256];
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;

	im = start(1, MC_DUP_VERSION, &r);
	for (unsigned i = 0; i < 9; i++)
		cr_assert_eq(add_line(im, line_of(buf, obs[i], st[i]), i + 1, &dup, &err), want[i], "line %u: %s",
			     i + 1, err.msg);
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 8);
	cr_assert_eq(r.blocks, 8);
	for (unsigned i = 0; i < 8; i++)
		cr_assert_eq(r.versions[i], versions[i], "record %u: version %u", i, r.versions[i]);
	cr_assert_arr_eq(r.ids[3], r.ids[0], MC_RECORD_ID_LEN, "one record");
	cr_assert_arr_eq(r.ids[6], r.ids[0], MC_RECORD_ID_LEN, "one record");
	cr_assert_arr_eq(r.ids[7], r.ids[0], MC_RECORD_ID_LEN, "one record");
	read_back(r.ids[0], 0, "{\"resourceType\":\"Observation\",\"id\":\"a\",\"status\":\"v1\"}", "lab");
	read_back(r.ids[0], 2, "{\"resourceType\":\"Observation\",\"id\":\"a\",\"status\":\"v2\"}", "lab");
}

/* A big record of the test below: note is `size` copies of `fill`
 * (cJSON_free it). */
static char *big_line(const char *obs, char fill, size_t size)
{
	cJSON *p = cJSON_CreateObject();
	char *note = malloc(size + 1);

	cr_assert(p && note);
	memset(note, fill, size);
	note[size] = '\0';
	cJSON_AddStringToObject(p, "resourceType", "Observation");
	cJSON_AddStringToObject(p, "id", obs);
	cJSON_AddStringToObject(p, "note", note);
	free(note);
	return record_json("MRN-1", "lab", p);
}

/* The duplicate set shrinks when a large batch's keys leave it and a
 * small one's stay (issue 18): the keys of the batch being committed are
 * still found after it shrank, so a new version of one of them in the next
 * batch is chained to it, not refused as a second record under its key. */
Test(importer, keys_in_flight_are_found_after_the_duplicate_set_shrinks)
{
	char buf[256];
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;
	unsigned long tag = 0;

	im = start(5000, MC_DUP_VERSION, &r);
	for (unsigned i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "o%u", i);
		cr_assert_eq(add_line(im, line_of(buf, buf, "v1"), ++tag, &dup, &err), 0, "%s", err.msg);
	}
	/* 4 of 1 MiB fill a batch by bytes; the 4 after them are versions 2 */
	for (unsigned i = 0; i < 8; i++) {
		char obs[16], *line;

		snprintf(obs, sizeof(obs), "big%u", i % 4);
		line = big_line(obs, i < 4 ? '1' : '2', 1024 * 1024);
		cr_assert_eq(add_line(im, line, ++tag, &dup, &err), 0, "big %u: %s", i, err.msg);
		cJSON_free(line);
	}
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 5008);
	cr_assert_eq(r.second, 4);
}

/* A batch is also bounded by the pages its commit is expected to dirty
 * (MC_IMPORT_DIRTY_BYTES): 64,000 small records fit one batch by count
 * and by ciphertext bytes, but not by what their commit would hold in
 * memory, so they go in more than one block. */
Test(importer, a_batch_is_bounded_by_the_pages_its_commit_dirties)
{
	char buf[512];
	struct report r;
	struct mc_importer *im;
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed;

	im = start(MC_BATCH_MAX, MC_DUP_SKIP, &r);
	for (unsigned i = 1; i <= 64000; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"subject\":\"MRN-%u\",\"category\":\"lab\",\"payload\":{\"resourceType\":\"Observation\","
			 "\"id\":\"o%u\",\"note\":\"%010u\"}}", i % 50, i, i);
		cr_assert_eq(add_line(im, buf, i, &dup, &err), 0, "line %u: %s", i, err.msg);
	}
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 64000);
	cr_assert_geq(r.blocks, 2, "one batch of %llu records", committed);
}

/* An import's record ids are time-ordered (docs/decisions.md): the batch's
 * time in ms, big-endian, in the first 6 bytes, and ascending in input
 * order, within a batch and across batches, so the records table grows at
 * its end. */
Test(importer, record_ids_begin_with_the_batch_time_and_ascend_in_input_order)
{
	char buf[256];
	struct report r;
	/* before the importer starts: it draws the first batch's ids then */
	uint64_t t0 = mc_now_ms(), t1;
	struct mc_importer *im = start(3, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed = 0;

	for (unsigned i = 0; i < MAXR; i++) {
		char subject[32], payload[32];

		snprintf(subject, sizeof(subject), "MRN-%u", i);
		snprintf(payload, sizeof(payload), "p%u", i);
		record_line(buf, subject, "note", cJSON_CreateString(payload));
		cr_assert_eq(add_line(im, buf, i + 1, &dup, &err), 0, "line %u: %s", i, err.msg);
	}
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	t1 = mc_now_ms();
	cr_assert_eq(r.n, MAXR);
	cr_assert_geq(r.blocks, 5, "batches of three");
	for (unsigned i = 0; i < MAXR; i++) {
		uint8_t be[8] = { 0 };
		uint64_t ms;

		memcpy(be + 2, r.ids[i], 6);
		ms = mc_from_be64(be);
		/* a batch drawn in the same ms as the one before takes the next */
		cr_assert(ms >= t0 && ms <= t1 + MAXR, "record %u: id time %llu outside [%llu, %llu]", i,
			  (unsigned long long)ms, (unsigned long long)t0, (unsigned long long)t1);
		if (i)
			cr_assert_lt(memcmp(r.ids[i - 1], r.ids[i], MC_RECORD_ID_LEN), 0, "record %u: ids ascend", i);
	}
	read_back(r.ids[MAXR - 1], 0, "p15", "note");
}

/* Ids are drawn a chunk of 256 at a time, each chunk in a ms of its own:
 * they ascend across chunks within a batch and across batches. */
Test(importer, record_ids_ascend_across_the_chunks_they_are_drawn_in)
{
	char buf[256];
	struct report r;
	struct mc_importer *im = start(700, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed = 0;

	for (unsigned i = 1; i <= 1500; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"subject\":\"MRN-%u\",\"category\":\"lab\",\"payload\":{\"resourceType\":\"Observation\","
			 "\"id\":\"o%u\"}}", i % 7, i);
		cr_assert_eq(add_line(im, buf, i, &dup, &err), 0, "line %u: %s", i, err.msg);
	}
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 1500);
	cr_assert_eq(r.total, 1500);
	cr_assert_geq(r.blocks, 3, "batches of 700");
	cr_assert_eq(r.descents, 0, "%u ids not above the one before", r.descents);
}

/* The chain's rule behind the importer's lookups: a version 1 under a
 * duplicate key of this custodian already in use is refused (nothing of
 * its batch stored), within one batch and across batches (the next
 * version of the record holding the key: versions_across_...). */
static void seal_keyed(const uint8_t id[MC_RECORD_ID_LEN], uint32_t version, const uint8_t *prev,
		       uint8_t key, uint8_t ckey, struct mc_sealed *out)
{
	uint8_t subj[MC_HASH_LEN] = { 7 };
	struct mc_err err = { 0 };

	cr_assert_eq(mc_record_seal(fx.o, id, version, prev, subj, "note", "text/plain", "x", 1, out, &err), 0,
		     "%s", err.msg);
	out->entry.keyed = true;
	memset(out->entry.dupkey, key, MC_HASH_LEN);
	memset(out->entry.ckey, ckey, MC_HASH_LEN);
}

Test(importer, the_chain_refuses_a_second_record_under_a_duplicate_key_in_use)
{
	uint8_t a[MC_RECORD_ID_LEN] = { 1 }, b[MC_RECORD_ID_LEN] = { 2 }, c[MC_RECORD_ID_LEN] = { 3 };
	struct mc_sealed r[2];
	struct mc_produced out;
	struct mc_err err = { 0 };
	uint64_t h0 = height();

	seal_keyed(a, 1, NULL, 0xa1, 1, &r[0]);
	seal_keyed(b, 1, NULL, 0xa1, 2, &r[1]);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, r, 2, &out, &err), -1, "one batch, one key");
	cr_assert(strstr(err.msg, "duplicate key"), "%s", err.msg);
	mc_sealed_release(&r[1]);
	cr_assert_eq(height(), h0, "nothing stored");
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, r, 1, &out, &err), 0, "%s", err.msg);
	mc_sealed_release(&r[0]);
	seal_keyed(c, 1, NULL, 0xa1, 3, &r[0]);
	err = (struct mc_err){ 0 };
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, r, 1, &out, &err), -1, "a later batch");
	cr_assert(strstr(err.msg, "duplicate key"), "%s", err.msg);
	mc_sealed_release(&r[0]);
	cr_assert_eq(height(), h0 + 1);
}

/* Of several failing entries of a batch the first one's failure is
 * reported, whichever table it is found in: the duplicate key and subject
 * rows are put after the entries' other rows, in key order (issue 18),
 * and the outcome must stay the one of entry order. */
Test(importer, the_first_failing_entry_is_reported_though_index_rows_go_in_key_order)
{
	uint8_t a[MC_RECORD_ID_LEN] = { 1 }, b[MC_RECORD_ID_LEN] = { 2 }, c[MC_RECORD_ID_LEN] = { 3 };
	uint8_t prev[MC_HASH_LEN] = { 9 };
	struct mc_sealed r[4];
	struct mc_produced out;
	struct mc_err err = { 0 };
	uint64_t h0 = height();

	/* entry 2 takes entry 0's key; entry 3 amends a version that is not the newest */
	seal_keyed(a, 1, NULL, 0xb1, 1, &r[0]);
	seal_keyed(b, 1, NULL, 0xb2, 2, &r[1]);
	seal_keyed(c, 1, NULL, 0xb1, 3, &r[2]);
	seal_keyed(a, 3, prev, 0xb1, 4, &r[3]);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, r, 4, &out, &err), -1);
	cr_assert(strstr(err.msg, "duplicate key"), "entry 2's, not entry 3's: %s", err.msg);
	/* and the other way round: entry 1's amendment fails before entry 2's key */
	mc_sealed_release(&r[1]);
	seal_keyed(b, 2, prev, 0xb2, 2, &r[1]);
	err = (struct mc_err){ 0 };
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, r, 4, &out, &err), -1);
	cr_assert(strstr(err.msg, "newest version"), "entry 1's, not entry 2's: %s", err.msg);
	for (int i = 0; i < 4; i++)
		mc_sealed_release(&r[i]);
	cr_assert_eq(height(), h0, "nothing stored");
}

/* An import into a store without records of its custodian looks up on the
 * chain only the keys it stored itself (issue 18); a key another writer
 * stores meanwhile is found all the same, from the next batch on: it is
 * skipped as a duplicate of that writer's record, not stored again (which
 * the chain would refuse, failing the import). */
Test(importer, a_key_another_writer_stores_between_batches_is_found)
{
	static const char *other = "{\"subject\":\"MRN-9\",\"category\":\"note\",\"payload\":\"theirs\"}";
	uint8_t id[MC_RECORD_ID_LEN] = { 0x42 }, subj[MC_HASH_LEN];
	struct mc_ingest_item it;
	struct mc_sealed rec;
	struct mc_produced out;
	struct report r;
	struct mc_importer *im = start(2, MC_DUP_SKIP, &r);
	struct mc_import_dup dup;
	struct mc_err err = { 0 };
	unsigned long long committed = 0;

	cr_assert_eq(add_line(im, "{\"subject\":\"MRN-1\",\"category\":\"note\",\"payload\":\"a\"}", 1, &dup, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(add_line(im, "{\"subject\":\"MRN-2\",\"category\":\"note\",\"payload\":\"b\"}", 2, &dup, &err), 0,
		     "%s", err.msg);
	/* the other writer, while the first batch may still be committing */
	cr_assert_eq(mc_ingest_ndjson_line(other, strlen(other), &it, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_org_subject(fx.o, it.subject, strlen(it.subject), subj, &err), 0, "%s", err.msg);
	cr_assert_eq(mc_record_seal(fx.o, id, 1, NULL, subj, it.category, it.ctype, it.payload, it.payload_len, &rec,
				    &err), 0, "%s", err.msg);
	rec.entry.keyed = true;
	cr_assert_eq(mc_org_dupkey(fx.o, subj, it.ref, it.category, it.payload, it.payload_len, rec.entry.dupkey,
				   rec.entry.ckey, &err), 0, "%s", err.msg);
	mc_ingest_item_release(&it);
	cr_assert_eq(mc_records_commit(fx.s, fx.node, fx.admin, fx.o, &rec, 1, &out, &err), 0, "%s", err.msg);
	mc_sealed_release(&rec);

	cr_assert_eq(add_line(im, "{\"subject\":\"MRN-3\",\"category\":\"note\",\"payload\":\"c\"}", 3, &dup, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(add_line(im, other, 4, &dup, &err), 1, "a duplicate: %s", err.msg);
	cr_assert_arr_eq(dup.id, id, MC_RECORD_ID_LEN, "of the other writer's record");
	cr_assert_eq(mc_importer_finish(im, 0, &committed, &err), 0, "%s", err.msg);
	cr_assert_eq(committed, 3);
}
