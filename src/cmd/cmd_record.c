/* SPDX-License-Identifier: Apache-2.0 */
/* medchain record put | import | get | list | history | erase */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "consent.h"
#include "i18n.h"
#include "importer.h"
#include "ingest.h"
#include "ops.h"
#include "records.h"
#include "text.h"

/* This node's organization, opened with the org key of the command's
 * setup (the steps it performs now: mc_cmd_setup). */
static int org_setup(struct mc_cli *cli, unsigned steps, struct mc_org **org, struct mc_err *err)
{
	if (mc_cmd_setup(cli, steps, err) != 0 || mc_org_open(cli->store, cli->org_key, org, err) != 0)
		return -1;
	return 0;
}

struct latest_ctx {
	const uint8_t *id;
	struct mc_record_info info;
};

static int latest_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct latest_ctx *c = vctx;
	struct mc_record_state rs;
	char hex[33];
	int rc = mc_record_latest(t, c->id, &rs, err);

	mc_hex(c->id, MC_RECORD_ID_LEN, hex);
	if (rc == MC_NOTFOUND)
		return mc_err_set(err, EX_NOINPUT, _("no record '%s'"), hex);
	if (rc != 0)
		return -1;
	mc_record_info_from_state(&rs, &c->info);
	if (rs.erased)
		return mc_err_set(err, EX_NOINPUT, _("record '%s' was erased"), hex);
	return 0;
}

int cmd_record_put(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *category = NULL, *type = "application/fhir+json", *amend = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL },
		{ "--category", true, &category, NULL },
		{ "--type", true, &type, NULL },
		{ "--amend", true, &amend, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_org *org = NULL;
	unsigned char *payload = NULL;
	size_t n = 0;
	uint8_t id[MC_RECORD_ID_LEN], subj[MC_HASH_LEN];
	uint32_t version = 1;
	const uint8_t *prev = NULL;
	struct latest_ctx lc;
	struct mc_sealed sealed = { 0 };
	struct mc_produced out;
	char hex[33];

	if (mc_cli_parse(a, opts, 4, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (!subject || !category)
		return mc_cli_usage(_("record put needs --subject and --category"));
	if (!mc_token_valid(category, strlen(category), MC_CATEGORY_MAX))
		return mc_cli_usage(_("invalid category '%s': use 1 to %d of a-z, 0-9, '.', '_' and '-'"),
				    category, MC_CATEGORY_MAX);
	if (!mc_mime_valid(type, strlen(type), MC_CTYPE_MAX))
		return mc_cli_usage(_("invalid content type '%s'"), type);
	if (amend && mc_record_id_parse(amend, id, &err) != 0)
		return mc_cli_fail(&err);
	if (mc_cli_read_all(npos ? pos[0] : "-", MC_PAYLOAD_MAX, &payload, &n, &err) != 0)
		return mc_cli_fail(&err);
	mc_request_add(&cli->req, payload, n);   /* the write is this payload */
	if (n == 0) {
		mc_err_set(&err, EX_DATAERR, _("empty payload"));
		goto out;
	}
	if (strstr(type, "json") && !mc_utf8_valid(payload, n)) {
		mc_err_set(&err, EX_DATAERR, _("a JSON payload must be UTF-8"));
		goto out;
	}
	if (org_setup(cli, MC_SETUP_ALL, &org, &err) != 0)
		goto out;
	if (mc_org_subject(org, subject, strlen(subject), subj, &err) != 0)
		goto out;
	if (amend) {
		lc.id = id;
		if (mc_store_read(cli->store, latest_txn, &lc, &err) != 0)
			goto out;
		if (memcmp(lc.info.subject, subj, MC_HASH_LEN) != 0) {
			mc_err_set(&err, EX_DATAERR, _("an amendment must keep the record's subject"));
			goto out;
		}
		version = lc.info.version + 1;
		prev = lc.info.leaf;
	} else if (mc_request_ids(&cli->req, cli->store, "record id", id, sizeof(id), &err) != 0) {
		goto out;   /* the same id when this very write is run again after a timeout */
	}
	if (mc_record_seal(org, id, version, prev, subj, category, type, payload, n, &sealed,
			   &err) != 0 ||
	    mc_records_commit(cli->store, cli->node_key, cli->actor_key, org, &sealed, 1, &out, &err) != 0) {
		goto out;
	}
	mc_hex(id, MC_RECORD_ID_LEN, hex);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		if (j) {
			cJSON_AddStringToObject(j, "record", hex);
			cJSON_AddNumberToObject(j, "version", version);
			cJSON_AddNumberToObject(j, "block", (double)out.height);
		}
		if (mc_cli_json_print(j, &err) != 0)
			goto out;
	} else {
		printf("%s\n", hex);
	}
	rc = 0;
out:
	mc_sealed_release(&sealed);
	if (payload) {
		mc_wipe(payload, n);
		free(payload);
	}
	mc_org_free(org);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- import ------------------------------------------------------------ */

struct report {
	struct mc_cli *cli;
	bool first;
	cJSON *skipped;                  /* --json: the duplicates not stored */
	unsigned long long nskipped;
	unsigned long long nchanged;     /* of them: same resource, other content */
	unsigned long long done, total;
	unsigned long long bytes_total;  /* a regular file's size, else 0 */
	unsigned long long bytes_read;   /* written by the reader, read atomically */
};

/* On the committer thread, after each durable commit. */
static void report_commit(void *ctx, const struct mc_sealed *recs, const unsigned long *tags,
			  size_t n, const struct mc_produced *block)
{
	struct report *r = ctx;

	for (size_t i = 0; i < n; i++) {
		char hex[33];

		mc_hex(recs[i].entry.id, MC_RECORD_ID_LEN, hex);
		if (r->cli->json) {
			/* the elements of "records", as each batch commits */
			cJSON *j = cJSON_CreateObject();
			char *text;

			cJSON_AddStringToObject(j, "record", hex);
			cJSON_AddNumberToObject(j, "version", recs[i].entry.version);
			cJSON_AddNumberToObject(j, "line", (double)tags[i]);
			cJSON_AddNumberToObject(j, "block", (double)block->height);
			text = cJSON_PrintUnformatted(j);
			if (text)
				printf("%s%s", r->first ? "" : ",", text);
			r->first = false;
			free(text);
			cJSON_Delete(j);
		} else {
			printf("%s\t%lu\n", hex, tags[i]);
		}
	}
	fflush(stdout);
	r->done += n;
	if (r->bytes_total && !r->total)
		mc_cli_progress_frac(_("importing"), __atomic_load_n(&r->bytes_read, __ATOMIC_RELAXED),
				     r->bytes_total, r->done);
	else
		mc_cli_progress(_("importing"), r->done, r->total);
}

/* A duplicate not stored: "existing-id TAB line TAB duplicate" (or
 * "erased", or "changed": the same resource with other content, left for
 * --on-duplicate version), or a row of the summary's "skipped" with --json. */
static void report_dup(struct report *r, const struct mc_import_dup *d, unsigned long tag)
{
	char hex[33];

	mc_hex(d->id, MC_RECORD_ID_LEN, hex);
	r->nskipped++;
	if (d->changed)
		r->nchanged++;
	if (r->cli->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "duplicate_of", hex);
		cJSON_AddNumberToObject(j, "line", (double)tag);
		cJSON_AddBoolToObject(j, "erased", d->erased);
		cJSON_AddBoolToObject(j, "changed", d->changed);
		cJSON_AddItemToArray(r->skipped, j);
	} else {
		flockfile(stdout);
		printf("%s\t%lu\t%s\n", hex, tag, d->erased ? "erased" : d->changed ? "changed" : "duplicate");
		funlockfile(stdout);
	}
}

/* One record of the input: its check (check: the first pass of
 * --on-duplicate error) or its import. */
static int import_one(struct mc_importer *im, struct report *rep, bool check,
		      const struct mc_ingest_item *it, unsigned long tag, struct mc_err *err)
{
	struct mc_import_dup d;
	int rc;

	if (check)
		return mc_importer_check(im, it->subject, it->ref, it->category, it->payload,
					 it->payload_len, err);
	rc = mc_importer_add(im, it->subject, it->ref, it->category, it->ctype, it->payload,
			     it->payload_len, tag, &d, err);
	if (rc == 1) {
		report_dup(rep, &d, tag);
		rc = 0;
	}
	return rc;
}

static int import_items(struct mc_importer *im, struct report *rep, bool check,
			struct mc_ingest_item *items, size_t count, struct mc_err *err)
{
	for (size_t i = 0; i < count; i++) {
		if (import_one(im, rep, check, &items[i], (unsigned long)(i + 1), err) != 0)
			return mc_err_wrap(err, _("entry %zu"), i + 1);
	}
	return 0;
}

static int import_bundle(struct mc_importer *im, struct report *rep, bool twopass, const char *doc,
			 size_t n, struct mc_err *err)
{
	struct mc_ingest_item *items = NULL;
	size_t count = 0;
	int rc = 0;

	if (mc_ingest_bundle(doc, n, &items, &count, err) != 0)
		return -1;
	rep->total = count;
	if (twopass) {
		rc = import_items(im, rep, true, items, count, err);
		mc_importer_checked(im);
	}
	if (rc == 0)
		rc = import_items(im, rep, false, items, count, err);
	for (size_t i = 0; i < count; i++)
		mc_ingest_item_release(&items[i]);
	free(items);
	return rc;
}

static int import_line(struct mc_importer *im, struct report *rep, bool check, const char *line,
		       size_t l, unsigned long lineno, struct mc_err *err)
{
	struct mc_ingest_item it;
	int rc;

	if (l > MC_INGEST_LINE_MAX)
		return mc_err_set(err, EX_DATAERR, _("line %lu: longer than %u bytes"), lineno,
				  MC_INGEST_LINE_MAX);
	if (mc_ingest_ndjson_line(line, l, &it, err) != 0)
		return mc_err_wrap(err, _("line %lu"), lineno);
	rc = import_one(im, rep, check, &it, lineno, err);
	mc_ingest_item_release(&it);
	if (rc != 0)
		return mc_err_wrap(err, _("line %lu"), lineno);
	return 0;
}

/* NDJSON held in memory (from line `lineno`): one pass of --on-duplicate
 * error's two. */
static int ndjson_pass(struct mc_importer *im, struct report *rep, bool check, const char *buf,
		       size_t n, unsigned long lineno, struct mc_err *err)
{
	for (size_t off = 0; off < n; lineno++) {
		const char *nl = memchr(buf + off, '\n', n - off);
		size_t l = nl ? (size_t)(nl - (buf + off)) : n - off, next = off + l + (nl ? 1 : 0);

		while (l > 0 && buf[off + l - 1] == '\r')
			l--;
		if (l > 0 && import_line(im, rep, check, buf + off, l, lineno, err) != 0)
			return -1;
		off = next;
	}
	return 0;
}

/* Appends the rest of f to *buf (getline's, holding *n bytes), up to max
 * bytes. */
static int slurp_rest(FILE *f, char **buf, size_t *n, size_t max, struct mc_err *err)
{
	/* grown as an mc_buf; its capacity is taken as what it holds */
	struct mc_buf b = { (uint8_t *)*buf, *n, *n, false };
	char chunk[16384];
	size_t r;
	int rc = 0;

	while (rc == 0 && (r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (r > max || b.len > max - r)
			rc = mc_err_set(err, EX_DATAERR, _("a bundle is at most %zu bytes"), max);
		else if (!mc_buf_append(&b, chunk, r))
			rc = mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	*buf = (char *)b.data;
	*n = b.len;
	if (rc == 0 && ferror(f))
		rc = mc_err_set(err, EX_IOERR, _("cannot read the input: %s"), strerror(errno));
	return rc;
}

int cmd_record_import(struct mc_cli *cli, struct mc_args *a)
{
	const char *format = NULL, *batch = NULL, *ondup = "skip";
	struct mc_opt opts[] = {
		{ "--format", true, &format, NULL },
		{ "--batch", true, &batch, NULL },
		{ "--on-duplicate", true, &ondup, NULL },
	};
	enum mc_dup_mode dmode;
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 }, ferr = { 0 };
	struct mc_org *org = NULL;
	struct report rep = { .cli = cli, .first = true };
	struct mc_importer *im = NULL;
	FILE *in = stdin;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	long bsize = 10000;
	unsigned long long committed = 0;

	if (mc_cli_parse(a, opts, 3, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (strcmp(ondup, "skip") == 0)
		dmode = MC_DUP_SKIP;
	else if (strcmp(ondup, "version") == 0)
		dmode = MC_DUP_VERSION;
	else if (strcmp(ondup, "error") == 0)
		dmode = MC_DUP_ERROR;
	else
		return mc_cli_usage(_("--on-duplicate must be 'skip', 'version' or 'error'"));
	if (format && strcmp(format, "ndjson") != 0 && strcmp(format, "bundle") != 0)
		return mc_cli_usage(_("--format must be 'ndjson' or 'bundle'"));
	if (batch) {
		char *end;

		bsize = strtol(batch, &end, 10);
		if (*end || bsize < 1 || bsize > (long)MC_BATCH_MAX)
			return mc_cli_usage(_("--batch must be 1 to %u"), MC_BATCH_MAX);
	}
	if (npos && strcmp(pos[0], "-") != 0) {
		struct stat st;

		in = fopen(pos[0], "rb");
		if (!in) {
			mc_err_set(&err, EX_NOINPUT, _("cannot open '%s': %s"), pos[0], strerror(errno));
			return mc_cli_fail(&err);
		}
		if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
			fclose(in);
			mc_err_set(&err, EX_NOINPUT, _("'%s' is a directory"), pos[0]);
			return mc_cli_fail(&err);
		}
		if (S_ISREG(st.st_mode))
			rep.bytes_total = (unsigned long long)st.st_size;
	}
	/* The first non-empty line tells the format: a Bundle names itself
	 * or opens a pretty-printed document; NDJSON is one object a line. */
	while ((len = getline(&line, &linecap, in)) >= 0) {
		lineno++;
		if (strspn(line, " \t\r\n") != (size_t)len)
			break;
	}
	if (len < 0) {
		mc_err_set(&err, ferror(in) ? EX_IOERR : EX_DATAERR,
			   ferror(in) ? _("cannot read the input") : _("empty input"));
		goto out;
	}
	if (!format) {
		size_t t = strspn(line, " \t");

		format = (strstr(line, "\"Bundle\"") || line[t] == '\n' || line[t] == '\r' ||
			  ((line[t] == '{' || line[t] == '[') && strspn(line + t + 1, " \t\r\n") ==
				  strlen(line + t + 1)))
				 ? "bundle" : "ndjson";
	}
	if (org_setup(cli, MC_SETUP_ALL, &org, &err) != 0 ||
	    mc_importer_start(cli->store, cli->node_key, cli->actor_key, org, (size_t)bsize, dmode, report_commit,
			      &rep, &im, &err) != 0)
		goto out;
	rc = 0;
	if (cli->json) {
		rep.skipped = cJSON_CreateArray();
		if (!rep.skipped) {
			mc_err_set(&ferr, EX_OSERR, _("out of memory"));
			rc = -1;
		}
		/* A streaming document: the elements of "records" are printed
		 * as each batch commits (what is printed is committed), each one
		 * a cJSON-printed object; only the punctuation around them is
		 * printed here, and the summary that closes it is cJSON's too. */
		printf("{\"records\":[");
	}
	if (rc == 0 && strcmp(format, "bundle") == 0) {
		size_t n = (size_t)len;

		rc = slurp_rest(in, &line, &n, MC_INGEST_BUNDLE_MAX, &ferr);
		if (rc == 0)
			rc = import_bundle(im, &rep, dmode == MC_DUP_ERROR, line, n, &ferr);
	} else if (rc == 0 && dmode == MC_DUP_ERROR) {
		/* every duplicate is found before anything is sealed or committed:
		 * the input is held in memory (at most MC_INGEST_BUNDLE_MAX) and
		 * read twice, checked, then imported */
		size_t n = (size_t)len;

		rc = slurp_rest(in, &line, &n, MC_INGEST_BUNDLE_MAX, &ferr);
		if (rc == 0)
			rc = ndjson_pass(im, &rep, true, line, n, lineno, &ferr);
		mc_importer_checked(im);
		if (rc == 0)
			rc = ndjson_pass(im, &rep, false, line, n, lineno, &ferr);
	} else if (rc == 0) {
		rc = 0;
		do {
			size_t l = (size_t)len;

			while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
				l--;
			if (l > 0)
				rc = import_line(im, &rep, false, line, l, lineno, &ferr);
			lineno++;
			__atomic_fetch_add(&rep.bytes_read, (unsigned long long)len, __ATOMIC_RELAXED);
		} while (rc == 0 && (len = getline(&line, &linecap, in)) >= 0);
		if (rc == 0 && ferror(in))
			rc = mc_err_set(&ferr, EX_IOERR, _("cannot read the input: %s"), strerror(errno));
	}
	/* An input error drops the batch it was in; what was reported stays. */
	if (mc_importer_finish(im, rc != 0, &committed, &err) != 0) {
		rc = -1;
		goto out;
	}
	if (rc != 0) {
		err = ferr;
		goto out;
	}
	if (committed == 0 && rep.nskipped == 0) {
		mc_err_set(&err, EX_DATAERR, _("no records in the input"));
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	mc_cli_progress_end();
	if (cli->json && im) {
		/* the summary closes the document: what was stored, what was not */
		cJSON *sum = cJSON_CreateObject();
		char *text = NULL;

		if (sum) {
			cJSON_AddNumberToObject(sum, "imported", (double)committed);
			cJSON_AddNumberToObject(sum, "duplicates", (double)(rep.nskipped - rep.nchanged));
			cJSON_AddNumberToObject(sum, "changed", (double)rep.nchanged);
			if (rep.skipped && cJSON_AddItemToObject(sum, "skipped", rep.skipped))
				rep.skipped = NULL;
			else
				cJSON_AddArrayToObject(sum, "skipped");
			text = cJSON_PrintUnformatted(sum);
			cJSON_Delete(sum);
		}
		/* the summary object's members, after the records' array */
		printf("]%s%s\n", text ? "," : "}", text ? text + 1 : "");
		free(text);
	}
	cJSON_Delete(rep.skipped);
	if (line) {
		mc_wipe(line, linecap);
		free(line);
	}
	if (in != stdin)
		fclose(in);
	mc_org_free(org);
	if (rc == 0 && !cli->json && !cli->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, P_("imported %llu record", "imported %llu records", committed), committed);
	if (rc == 0 && !cli->json && !cli->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, P_(", %llu duplicate not stored again (--on-duplicate %s)\n",
				   ", %llu duplicates not stored again (--on-duplicate %s)\n", rep.nskipped),
			rep.nskipped, ondup);
	/* never silent, on a terminal or not: a changed resource was not stored */
	if (rc == 0 && rep.nchanged)
		fprintf(stderr,
			P_("medchain: %llu resource differs from the one stored and was not stored: import it again with --on-duplicate version to store it as a new version\n",
			   "medchain: %llu resources differ from the ones stored and were not stored: import them again with --on-duplicate version to store them as new versions\n",
			   rep.nchanged),
			rep.nchanged);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- reading ----------------------------------------------------------- */

int cmd_record_get(struct mc_cli *cli, struct mc_args *a)
{
	const char *outpath = NULL, *vers = NULL, *purpose = NULL, *glass = NULL;
	struct mc_opt opts[] = {
		{ "-o", true, &outpath, NULL },
		{ "--version", true, &vers, NULL },
		{ "--purpose", true, &purpose, NULL },
		{ "--break-glass", true, &glass, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_org *org = NULL;
	uint8_t id[MC_RECORD_ID_LEN];
	unsigned long version = 0;
	uint8_t purp;
	struct mc_op_read rd;

	memset(&rd, 0, sizeof(rd));
	if (mc_cli_parse(a, opts, 4, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("record get needs a record id"));
	if (vers) {
		char *end;

		version = strtoul(vers, &end, 10);
		if (*end || version == 0 || version > UINT32_MAX)
			return mc_cli_usage(_("--version must be a positive number"));
	}
	if (glass && (!*glass || strlen(glass) > MC_REASON_MAX || !mc_text_clean(glass, strlen(glass))))
		return mc_cli_usage(_("--break-glass needs a reason of 1 to %d characters of text"),
				    MC_REASON_MAX);
	purp = glass ? MC_PURPOSE_EMERGENCY : MC_PURPOSE_TREATMENT;
	if (purpose && mc_purpose_parse(purpose, &purp, &err) != 0)
		return mc_cli_fail(&err);
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	if (org_setup(cli, MC_SETUP_ALL, &org, &err) != 0 ||
	    mc_op_read(cli, cli->node_key, cli->actor_key, id, (uint32_t)version, purp, glass, &rd, &err) != 0)
		goto out;
	if (rd.d.outcome == MC_OUTCOME_DENY) {
		mc_err_set(&err, EX_NOPERM, _("access denied: %s (recorded in block %llu)"),
			   mc_deny_text(rd.d.reason), (unsigned long long)rd.height);
		goto out;
	}
	if (rd.d.outcome == MC_OUTCOME_BREAK_GLASS && !cli->quiet)
		fprintf(stderr, _("medchain: break-glass read, recorded and flagged in block %llu\n"),
			(unsigned long long)rd.height);
	if (outpath) {
		if (mc_cli_write_file(outpath, rd.payload, rd.n, &err) != 0)
			goto out;
	} else if (fwrite(rd.payload, 1, rd.n, stdout) != rd.n || fflush(stdout) != 0) {
		mc_err_set(&err, EX_IOERR, _("cannot write the output"));
		goto out;
	}
	rc = 0;
out:
	mc_op_read_release(&rd);
	mc_org_free(org);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

struct print_ctx {
	struct mc_cli *cli;
	cJSON *arr;   /* with --json: the rows */
	unsigned long n;
};

static int print_info(const struct mc_record_info *info, void *vctx)
{
	struct print_ctx *pc = vctx;
	char id[33], subj[65];

	mc_hex(info->id, MC_RECORD_ID_LEN, id);
	mc_hex(info->subject, MC_HASH_LEN, subj);
	if (pc->cli->json) {
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(pc->arr, o)) {
			cJSON_Delete(o);
			return -1;
		}
		cJSON_AddStringToObject(o, "record", id);
		cJSON_AddNumberToObject(o, "version", info->version);
		cJSON_AddStringToObject(o, "subject", subj);
		mc_json_add_str(o, "category", info->category);
		mc_json_add_str(o, "type", info->ctype);
		cJSON_AddNumberToObject(o, "size", (double)info->size);
		cJSON_AddNumberToObject(o, "block", (double)info->height);
		if (info->erased)
			cJSON_AddNumberToObject(o, "erased", (double)info->erased);
		else
			cJSON_AddNullToObject(o, "erased");
	} else {
		printf("%s  v%-3u %-16s %-24s %8llu  block %llu%s\n", id, info->version, info->category,
		       info->ctype, (unsigned long long)info->size, (unsigned long long)info->height,
		       info->erased ? _("  (erased)") : "");
	}
	pc->n++;
	return 0;
}

struct list_ctx {
	struct print_ctx pc;
	const uint8_t *subject;
	const char *category;
	const uint8_t *id;
};

static int list_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct list_ctx *lc = vctx;

	int rc = lc->id ? mc_record_history(t, lc->id, print_info, &lc->pc, err)
			: mc_records_list(t, lc->subject, lc->category, print_info, &lc->pc, err);

	if (rc != 0 && !err->code)   /* print_info ran out of memory */
		mc_err_set(err, EX_OSERR, _("out of memory"));
	return rc;
}

int cmd_record_list(struct mc_cli *cli, struct mc_args *a)
{
	const char *subject = NULL, *category = NULL;
	struct mc_opt opts[] = {
		{ "--subject", true, &subject, NULL },
		{ "--category", true, &category, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct mc_org *org = NULL;
	uint8_t subj[MC_HASH_LEN];
	struct list_ctx lc;

	memset(&lc, 0, sizeof(lc));
	if (mc_cli_parse(a, opts, 2, pos, 0, &npos) != 0)
		return EX_USAGE;
	lc.pc.cli = cli;
	lc.category = category;
	if (subject) {
		if (org_setup(cli, MC_SETUP_ALL, &org, &err) != 0 ||
		    mc_org_subject(org, subject, strlen(subject), subj, &err) != 0)
			goto out;
		lc.subject = subj;
	} else if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0) {
		goto out;
	}
	if (cli->json && !(lc.pc.arr = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	} else if (mc_cli_list_header(cli)) {
		printf("%-32s  %-4s %-16s %-24s %8s  %s\n", _("RECORD"), _("VER"), _("CATEGORY"), _("TYPE"),
		       _("SIZE"), _("BLOCK"));
	}
	rc = mc_store_read(cli->store, list_txn, &lc, &err);
	/* Subjects are pseudonyms: an identifier with no records is most
	 * likely a typo, and says so rather than listing nothing. */
	if (rc == 0 && subject && lc.pc.n == 0) {
		mc_err_set(&err, EX_NOINPUT, _("no records for that patient identifier"));
		rc = -1;
	}
	if (rc == 0 && lc.pc.arr) {
		rc = mc_cli_json_print(lc.pc.arr, &err);
		lc.pc.arr = NULL;
	}
out:
	cJSON_Delete(lc.pc.arr);
	mc_org_free(org);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

int cmd_record_history(struct mc_cli *cli, struct mc_args *a)
{
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	struct list_ctx lc;

	memset(&lc, 0, sizeof(lc));
	if (mc_cli_parse(a, NULL, 0, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("record history needs a record id"));
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	lc.pc.cli = cli;
	lc.id = id;
	if (mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0)
		return mc_cli_fail(&err);
	if (cli->json && !(lc.pc.arr = cJSON_CreateArray())) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		return mc_cli_fail(&err);
	}
	if (mc_store_read(cli->store, list_txn, &lc, &err) != 0) {
		cJSON_Delete(lc.pc.arr);
		return mc_cli_fail(&err);
	}
	if (lc.pc.arr && mc_cli_json_print(lc.pc.arr, &err) != 0)
		return mc_cli_fail(&err);
	return 0;
}

int cmd_record_erase(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	bool yes = false, dry = false;
	struct mc_opt opts[] = {
		{ "--reason", true, &reason, NULL },
		{ "--yes", false, NULL, &yes },
		{ "--dry-run", false, NULL, &dry },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	struct latest_ctx lc;
	struct mc_produced out;
	char hex[33], question[512];

	if (mc_cli_parse(a, opts, 3, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !reason)
		return mc_cli_usage(_("record erase needs a record id and --reason"));
	if (!*reason || strlen(reason) > MC_REASON_MAX || !mc_text_clean(reason, strlen(reason)))
		return mc_cli_usage(_("give a reason of 1 to %d characters of text"), MC_REASON_MAX);
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	mc_hex(id, MC_RECORD_ID_LEN, hex);
	lc.id = id;
	cli->dry_run = dry;
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_store_read(cli->store, latest_txn, &lc, &err) != 0)
		goto out;
	if (dry) {
		/* what would be done, from the same checks; nothing opened for
		 * writing and no key unlocked: the chain's rule for RECORD_ERASE
		 * (an active admin) is checked on the acting identity's state */
		struct mc_identity actor;

		if (mc_cli_actor_identity(cli, &actor, &err) != 0)
			goto out;
		if (actor.revoked != MC_NOT_REVOKED || !(actor.roles & MC_ROLE_ADMIN)) {
			mc_err_set(&err, EX_NOPERM, _("'%s' may not erase records (an active admin may): the erase would be refused"),
				   actor.name);
			goto out;
		}
		if (cli->json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddBoolToObject(j, "dry_run", true);
			cJSON_AddStringToObject(j, "erase", hex);
			cJSON_AddNumberToObject(j, "versions", lc.info.version);
			mc_json_add_str(j, "category", lc.info.category);
			if (mc_cli_json_print(j, &err) != 0)
				goto out;
		} else {
			printf(P_("would erase record %s (%u version, category %s) on every node; nothing was written\n",
				  "would erase record %s (%u versions, category %s) on every node; nothing was written\n",
				  lc.info.version),
			       hex, lc.info.version, lc.info.category);
		}
		rc = 0;
		goto out;
	}
	snprintf(question, sizeof(question),
		 P_("erase record %s (%u version) on every node? This cannot be undone.",
		    "erase record %s (%u versions) on every node? This cannot be undone.", lc.info.version),
		 hex, lc.info.version);
	if (mc_cli_confirm(yes, question, &err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_record_erase(cli->store, cli->node_key, cli->actor_key, id, reason, &out, &err) != 0)
		goto out;
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "erased", hex);
		cJSON_AddNumberToObject(j, "block", (double)out.height);
		if (mc_cli_json_print(j, &err) != 0)
			goto out;
	} else if (!cli->quiet) {
		printf(_("erased in block %llu\n"), (unsigned long long)out.height);
	}
	rc = 0;
out:
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
