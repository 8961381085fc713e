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

/* record put: the options, and what the write made */
struct put {
	const char *subject, *category, *type, *amend, *file;
	uint8_t id[MC_RECORD_ID_LEN];
	uint32_t version;
	struct mc_produced out;
};

/* The version this write stored: the one of this author in the block the
 * commit reports. Run again after a timeout, the write sends its kept tx
 * first, built at the first attempt; when that one commits, the version
 * built now (an amendment's next one) was never sent. */
struct stored_ctx {
	const uint8_t *id, *author;
	uint64_t height;
	uint32_t version;   /* in: the version built; out: the one stored */
};

static int stored_txn(struct mc_txn *t, void *vctx, struct mc_err *err)
{
	struct stored_ctx *c = vctx;
	char hex[33];

	for (uint32_t v = c->version; v >= 1; v--) {
		struct mc_record_state rs;
		struct mc_tx tx;
		int rc = mc_record_version(t, c->id, v, &rs, err);

		if (rc < 0)
			return -1;
		if (rc != 0 || rs.height > c->height)
			continue;
		if (rs.height < c->height)
			break;   /* older versions are in older blocks */
		if ((rc = mc_record_tx(t, &rs, &tx, NULL, err)) < 0)
			return -1;
		if (rc == 0 && memcmp(tx.author, c->author, MC_PK_LEN) == 0) {
			c->version = v;
			return 0;
		}
	}
	mc_hex(c->id, MC_RECORD_ID_LEN, hex);
	return mc_err_set(err, EX_TEMPFAIL,
			  _("record '%s': none of its versions in block %llu of this node's store is this write's: "
			    "see `medchain record history %s`"),
			  hex, (unsigned long long)c->height, hex);
}

/* 0, or the exit code of a usage error */
static int put_parse(struct mc_args *a, struct put *p)
{
	struct mc_opt opts[] = {
		{ "--subject", true, &p->subject, NULL },
		{ "--category", true, &p->category, NULL },
		{ "--type", true, &p->type, NULL },
		{ "--amend", true, &p->amend, NULL },
	};
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };

	if (mc_cli_parse(a, opts, 4, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (!p->subject || !p->category)
		return mc_cli_usage(_("record put needs --subject and --category"));
	if (!mc_token_valid(p->category, strlen(p->category), MC_CATEGORY_MAX))
		return mc_cli_usage(_("invalid category '%s': use 1 to %d of a-z, 0-9, '.', '_' and '-'"),
				    p->category, MC_CATEGORY_MAX);
	if (!mc_mime_valid(p->type, strlen(p->type), MC_CTYPE_MAX))
		return mc_cli_usage(_("invalid content type '%s'"), p->type);
	if (p->amend && mc_record_id_parse(p->amend, p->id, &err) != 0)
		return mc_cli_fail(&err);
	p->file = npos ? pos[0] : "-";
	return 0;
}

/* Seals the payload as a new record, or as the next version of --amend,
 * and commits it. */
static int put_run(struct mc_cli *cli, struct put *p, const unsigned char *payload, size_t n,
		   struct mc_err *err)
{
	struct mc_org *org = NULL;
	uint8_t subj[MC_HASH_LEN];
	const uint8_t *prev = NULL;
	struct latest_ctx lc;
	struct mc_sealed sealed = { 0 };
	int rc = -1;

	p->version = 1;
	if (org_setup(cli, MC_SETUP_ALL, &org, err) != 0 ||
	    mc_org_subject(org, p->subject, strlen(p->subject), subj, err) != 0)
		goto out;
	if (p->amend) {
		lc.id = p->id;
		if (mc_store_read(cli->store, latest_txn, &lc, err) != 0)
			goto out;
		if (memcmp(lc.info.subject, subj, MC_HASH_LEN) != 0) {
			mc_err_set(err, EX_DATAERR, _("an amendment must keep the record's subject"));
			goto out;
		}
		p->version = lc.info.version + 1;
		prev = lc.info.leaf;
	} else if (mc_request_ids(&cli->req, cli->store, "record id", p->id, sizeof(p->id), err) != 0) {
		goto out;   /* the same id when this very write is run again after a timeout */
	}
	if (mc_record_seal(org, p->id, p->version, prev, subj, p->category, p->type, payload, n, &sealed,
			   err) != 0 ||
	    mc_records_commit(cli->store, cli->node_key, cli->actor_key, org, &sealed, 1, &p->out, err) != 0)
		goto out;
	{
		struct stored_ctx sc = { p->id, cli->actor_key->pk, p->out.height, p->version };

		if (mc_store_read(cli->store, stored_txn, &sc, err) != 0)
			goto out;
		p->version = sc.version;
	}
	rc = 0;
out:
	mc_sealed_release(&sealed);
	mc_org_free(org);
	return rc;
}

int cmd_record_put(struct mc_cli *cli, struct mc_args *a)
{
	struct put p = { .type = "application/fhir+json" };
	struct mc_err err = { 0 };
	unsigned char *payload = NULL;
	size_t n = 0;
	char hex[33];
	int rc;

	if ((rc = put_parse(a, &p)) != 0)
		return rc;
	if (mc_cli_read_all(p.file, MC_PAYLOAD_MAX, &payload, &n, &err) != 0)
		return mc_cli_fail(&err);
	mc_request_add(&cli->req, payload, n);   /* the write is this payload */
	rc = -1;
	if (n == 0)
		mc_err_set(&err, EX_DATAERR, _("empty payload"));
	else if (mc_mime_json(p.type) && !mc_utf8_valid(payload, n))
		mc_err_set(&err, EX_DATAERR, _("a JSON payload must be UTF-8"));
	else
		rc = put_run(cli, &p, payload, n, &err);
	if (payload) {
		mc_wipe(payload, n);
		free(payload);
	}
	if (rc != 0)
		return mc_cli_fail(&err);
	mc_hex(p.id, MC_RECORD_ID_LEN, hex);
	if (cli->json)
		return mc_cli_json_written("record", hex, p.version, p.out.height, &err) == 0 ? 0 : mc_cli_fail(&err);
	printf("%s\n", hex);
	return 0;
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

/* An NDJSON line is read up to this: its limit, its "\r\n" and one byte
 * more to tell it is over. */
#define IMPORT_LINE_READ (MC_INGEST_LINE_MAX + 3u)

/* The length of the line read (len bytes) without its line end; a line
 * cut by read_line keeps its length, over the limit. */
static size_t line_len(const char *line, ssize_t len)
{
	size_t l = (size_t)len;

	if (l >= IMPORT_LINE_READ && line[l - 1] != '\n')
		return l;
	while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
		l--;
	return l;
}

/* The error of read_line's len after the last line, if any */
static int read_end(FILE *f, ssize_t len, struct mc_err *err)
{
	if (len == -2)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	if (ferror(f))
		return mc_err_set(err, EX_IOERR, _("cannot read the input: %s"), strerror(errno));
	return 0;
}

#define IMPORT_IOBUF (1u << 20)

/* record import: the options and the input as it is read */
struct import {
	const char *format, *batch, *ondup, *file;
	enum mc_dup_mode dmode;
	long bsize;
	FILE *in;
	char *rbuf;              /* the input as read, IMPORT_IOBUF bytes at a time */
	size_t rpos, rlen;       /* what of rbuf is read (rlen), and used (rpos) */
	char *line;              /* read_line's: the line just read, or the input held */
	size_t linecap;
	size_t held;             /* after slurp_rest: the bytes of line that held input */
	bool guessed;            /* the format was told from the first line, not given */
	ssize_t len;
	unsigned long lineno;
	struct report rep;
	unsigned long long committed;
};

/* Makes x->line hold at least need bytes; moved by hand, not realloc'd,
 * so that the old copy of the input is wiped. */
static bool line_room(struct import *x, size_t need, size_t max)
{
	size_t ncap = x->linecap < 4096 ? 4096 : x->linecap;
	char *p;

	if (need <= x->linecap)
		return true;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		ncap = max > need ? max : need;
	p = malloc(ncap);
	if (!p)
		return false;
	if (x->line) {
		memcpy(p, x->line, x->linecap);
		mc_wipe(x->line, x->linecap);
		free(x->line);
	}
	x->line = p;
	x->linecap = ncap;
	return true;
}

/* Fills x->rbuf when it is used up: false at the end of the input, on an
 * error (ferror) or out of memory (x->rbuf NULL). */
static bool reader_fill(struct import *x)
{
	if (x->rpos < x->rlen)
		return true;
	if (!x->rbuf && !(x->rbuf = malloc(IMPORT_IOBUF)))
		return false;
	x->rpos = 0;
	x->rlen = fread(x->rbuf, 1, IMPORT_IOBUF, x->in);
	return x->rlen > 0;
}

/* The next line of the input into x->line, its newline kept and a NUL
 * after it, as getline: its length, -1 at the end of the input or -2 out
 * of memory. Reading stops after max bytes without a newline: a longer
 * line is returned cut there (max bytes, more than any line accepted),
 * never held whole. */
static ssize_t read_line(struct import *x, size_t max)
{
	size_t n = 0;

	while (n < max && reader_fill(x)) {
		const char *p = x->rbuf + x->rpos;
		size_t avail = x->rlen - x->rpos;
		const char *nl = memchr(p, '\n', avail);
		size_t take = nl ? (size_t)(nl - p) + 1 : avail;

		if (take > max - n)
			take = max - n;
		if (!line_room(x, n + take + 1, max + 1))
			return -2;
		memcpy(x->line + n, p, take);
		n += take;
		x->rpos += take;
		if (nl && x->line[n - 1] == '\n')
			break;
	}
	if (!x->rbuf)
		return -2;
	if (n == 0)
		return -1;
	x->line[n] = '\0';
	return (ssize_t)n;
}

/* Appends r bytes of input to b (slurp_rest's), up to max bytes in all;
 * *run: the bytes of the NDJSON line being read, over line_max (when not
 * 0) refused as line *lineno. */
static int slurp_add(struct mc_buf *b, const char *p, size_t r, size_t max, size_t line_max,
		     size_t *run, unsigned long *lineno, struct mc_err *err)
{
	for (size_t off = 0; line_max && off < r;) {
		const char *nl = memchr(p + off, '\n', r - off);
		size_t l = nl ? (size_t)(nl - (p + off)) : r - off;

		if (*run + l > line_max)
			return mc_err_set(err, EX_DATAERR, _("line %lu: longer than %u bytes"), *lineno,
					  MC_INGEST_LINE_MAX);
		*run = nl ? 0 : *run + l;
		*lineno += nl ? 1 : 0;
		off += l + (nl ? 1 : 0);
	}
	if (r > max || b->len > max - r)
		return mc_err_set(err, EX_DATAERR, _("a bundle is at most %zu bytes"), max);
	if (!mc_buf_append(b, p, r))
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	return 0;
}

/* Appends the rest of the input to x->line (holding *n bytes), up to max
 * bytes in all. line_max > 0 (NDJSON held for --on-duplicate error): a
 * line (from line lineno) of more bytes is refused as it is read, not once
 * the input is held. */
static int slurp_rest(struct import *x, size_t *n, size_t max, size_t line_max,
		      unsigned long lineno, struct mc_err *err)
{
	struct mc_buf b = { (uint8_t *)x->line, *n, x->linecap, false };
	size_t run = 0;
	int rc = 0;

	while (rc == 0 && reader_fill(x)) {
		rc = slurp_add(&b, x->rbuf + x->rpos, x->rlen - x->rpos, max, line_max, &run, &lineno, err);
		x->rpos = x->rlen;
	}
	x->line = (char *)b.data;
	x->linecap = b.cap;
	*n = b.len;
	if (rc == 0 && !x->rbuf)
		rc = mc_err_set(err, EX_OSERR, _("out of memory"));
	if (rc == 0 && ferror(x->in))
		rc = mc_err_set(err, EX_IOERR, _("cannot read the input: %s"), strerror(errno));
	return rc;
}

/* 0, or the exit code of a usage error */
static int import_parse(struct mc_args *a, struct import *x)
{
	struct mc_opt opts[] = {
		{ "--format", true, &x->format, NULL },
		{ "--batch", true, &x->batch, NULL },
		{ "--on-duplicate", true, &x->ondup, NULL },
	};
	char *pos[1];
	int npos;

	if (mc_cli_parse(a, opts, 3, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (strcmp(x->ondup, "skip") == 0)
		x->dmode = MC_DUP_SKIP;
	else if (strcmp(x->ondup, "version") == 0)
		x->dmode = MC_DUP_VERSION;
	else if (strcmp(x->ondup, "error") == 0)
		x->dmode = MC_DUP_ERROR;
	else
		return mc_cli_usage(_("--on-duplicate must be 'skip', 'version' or 'error'"));
	if (x->format && strcmp(x->format, "ndjson") != 0 && strcmp(x->format, "bundle") != 0)
		return mc_cli_usage(_("--format must be 'ndjson' or 'bundle'"));
	if (x->batch) {
		char *end;

		x->bsize = strtol(x->batch, &end, 10);
		if (*end || x->bsize < 1 || x->bsize > (long)MC_BATCH_MAX)
			return mc_cli_usage(_("--batch must be 1 to %u"), MC_BATCH_MAX);
	}
	x->file = npos ? pos[0] : NULL;
	return 0;
}

/* The input: FILE, or stdin for none or "-"; a regular file's size is the
 * progress bar's measure. */
static int import_open(struct import *x, struct mc_err *err)
{
	struct stat st;

	if (!x->file || strcmp(x->file, "-") == 0)
		return 0;
	x->in = fopen(x->file, "rb");
	if (!x->in) {
		x->in = stdin;
		return mc_err_set(err, EX_NOINPUT, _("cannot open '%s': %s"), x->file, strerror(errno));
	}
	if (fstat(fileno(x->in), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(x->in);
		x->in = stdin;
		return mc_err_set(err, EX_NOINPUT, _("'%s' is a directory"), x->file);
	}
	if (S_ISREG(st.st_mode))
		x->rep.bytes_total = (unsigned long long)st.st_size;
	return 0;
}

/* The first non-empty line tells the format: a Bundle names itself or
 * opens a pretty-printed document; NDJSON is one object a line. A first
 * line is read up to the NDJSON line limit: a one-line Bundle longer than
 * that names itself in what is read ("resourceType" comes first in FHIR
 * JSON) or is given --format bundle. */
static int import_first_line(struct import *x, struct mc_err *err)
{
	const char *line;
	size_t t;

	while ((x->len = read_line(x, IMPORT_LINE_READ)) >= 0) {
		x->lineno++;
		if (strspn(x->line, " \t\r\n") != (size_t)x->len)
			break;
		/* blank, but cut at the limit: one line too long, not several
		 * (found in review: 26M spaces then an object imported, as line 2) */
		if (line_len(x->line, x->len) > MC_INGEST_LINE_MAX)
			return mc_err_set(err, EX_DATAERR, _("line %lu: longer than %u bytes"), x->lineno,
					  MC_INGEST_LINE_MAX);
	}
	if (x->len < 0)
		return read_end(x->in, x->len, err) != 0 ? -1 : mc_err_set(err, EX_DATAERR, _("empty input"));
	if (x->format)
		return 0;
	x->guessed = true;
	line = x->line;
	t = strspn(line, " \t");
	x->format = (strstr(line, "\"Bundle\"") || line[t] == '\n' || line[t] == '\r' ||
		     ((line[t] == '{' || line[t] == '[') && strspn(line + t + 1, " \t\r\n") == strlen(line + t + 1)))
			    ? "bundle" : "ndjson";
	return 0;
}

/* NDJSON as it is read, a line at a time, from the first line on. */
static int import_stream(struct mc_importer *im, struct import *x, struct mc_err *err)
{
	int rc = 0;

	do {
		size_t l = line_len(x->line, x->len);

		if (l > 0)
			rc = import_line(im, &x->rep, false, x->line, l, x->lineno, err);
		x->lineno++;
		__atomic_fetch_add(&x->rep.bytes_read, (unsigned long long)x->len, __ATOMIC_RELAXED);
	} while (rc == 0 && (x->len = read_line(x, IMPORT_LINE_READ)) >= 0);
	if (rc == 0)
		rc = read_end(x->in, x->len, err);
	return rc;
}

/* The whole input into the importer: a Bundle, NDJSON checked then
 * imported (--on-duplicate error: every duplicate is found before anything
 * is sealed or committed, so the input is held in memory, at most
 * MC_INGEST_BUNDLE_MAX, and read twice), or NDJSON streamed. A Bundle file
 * over the limit is refused before it is read; a line over
 * MC_INGEST_LINE_MAX as soon as it is. */
static int import_feed(struct mc_importer *im, struct import *x, struct mc_err *err)
{
	size_t n = (size_t)x->len;
	bool bundle = strcmp(x->format, "bundle") == 0;
	int rc;

	if (!bundle && line_len(x->line, x->len) > MC_INGEST_LINE_MAX) {
		/* a first line that opens an object and was taken for NDJSON
		 * may be a one-line Bundle that names itself past the limit
		 * (its keys sorted, say): say what reads it, parsing nothing */
		if (x->guessed && x->line[strspn(x->line, " \t")] == '{')
			return mc_err_set(err, EX_DATAERR,
					  _("line %lu: longer than %u bytes (a FHIR Bundle on one line is read with --format bundle)"),
					  x->lineno, MC_INGEST_LINE_MAX);
		return mc_err_set(err, EX_DATAERR, _("line %lu: longer than %u bytes"), x->lineno,
				  MC_INGEST_LINE_MAX);
	}
	if (!bundle && x->dmode != MC_DUP_ERROR)
		return import_stream(im, x, err);
	if (bundle && x->rep.bytes_total > MC_INGEST_BUNDLE_MAX)
		return mc_err_set(err, EX_DATAERR, _("a bundle is at most %zu bytes"),
				  (size_t)MC_INGEST_BUNDLE_MAX);
	/* NDJSON's lines are counted from the one after the first line read */
	rc = slurp_rest(x, &n, MC_INGEST_BUNDLE_MAX, bundle ? 0 : MC_INGEST_LINE_MAX + 1,
			x->lineno + 1, err);
	x->held = x->line ? (n + 1 < x->linecap ? n + 1 : x->linecap) : 0;
	if (bundle)
		return rc == 0 ? import_bundle(im, &x->rep, x->dmode == MC_DUP_ERROR, x->line, n, err) : rc;
	if (rc == 0)
		rc = ndjson_pass(im, &x->rep, true, x->line, n, x->lineno, err);
	mc_importer_checked(im);
	if (rc == 0)
		rc = ndjson_pass(im, &x->rep, false, x->line, n, x->lineno, err);
	return rc;
}

/* Imports the input through the setup's keys: 0, or -1 with err set. */
static int import_run(struct mc_cli *cli, struct import *x, struct mc_importer **imp, struct mc_err *err)
{
	struct mc_err ferr = { 0 };
	struct mc_org *org = NULL;
	int rc = -1;

	if (org_setup(cli, MC_SETUP_ALL, &org, err) != 0 ||
	    mc_importer_start(cli->store, cli->node_key, cli->actor_key, org, (size_t)x->bsize, x->dmode,
			      report_commit, &x->rep, imp, err) != 0)
		goto out;
	rc = 0;
	if (cli->json) {
		x->rep.skipped = cJSON_CreateArray();
		if (!x->rep.skipped)
			rc = mc_err_set(&ferr, EX_OSERR, _("out of memory"));
		/* A streaming document: the elements of "records" are printed
		 * as each batch commits (what is printed is committed), each one
		 * a cJSON-printed object; only the punctuation around them is
		 * printed here, and the summary that closes it is cJSON's too. */
		printf("{\"records\":[");
	}
	if (rc == 0)
		rc = import_feed(*imp, x, &ferr);
	/* An input error drops the batch it was in; what was reported stays. */
	if (mc_importer_finish(*imp, rc != 0, &x->committed, err) != 0) {
		rc = -1;
	} else if (rc != 0) {
		*err = ferr;
	} else if (x->committed == 0 && x->rep.nskipped == 0) {
		rc = mc_err_set(err, EX_DATAERR, _("no records in the input"));
	}
out:
	mc_org_free(org);
	return rc;
}

/* --json: the summary closes the document: what was stored, what was not */
static void import_emit_json(struct import *x)
{
	cJSON *sum = cJSON_CreateObject();
	char *text = NULL;

	if (sum) {
		cJSON_AddNumberToObject(sum, "imported", (double)x->committed);
		cJSON_AddNumberToObject(sum, "duplicates", (double)(x->rep.nskipped - x->rep.nchanged));
		cJSON_AddNumberToObject(sum, "changed", (double)x->rep.nchanged);
		if (x->rep.skipped && cJSON_AddItemToObject(sum, "skipped", x->rep.skipped))
			x->rep.skipped = NULL;
		else
			cJSON_AddArrayToObject(sum, "skipped");
		text = cJSON_PrintUnformatted(sum);
		cJSON_Delete(sum);
	}
	/* the summary object's members, after the records' array */
	printf("]%s%s\n", text ? "," : "}", text ? text + 1 : "");
	free(text);
}

/* After a good import: the counts on a terminal, and, never silent, the
 * changed resources that were not stored. */
static void import_emit_text(const struct mc_cli *cli, const struct import *x)
{
	unsigned long long committed = x->committed;

	if (!cli->json && !cli->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, P_("imported %llu record", "imported %llu records", committed), committed);
	if (!cli->json && !cli->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, P_(", %llu duplicate not stored again (--on-duplicate %s)\n",
				   ", %llu duplicates not stored again (--on-duplicate %s)\n", x->rep.nskipped),
			x->rep.nskipped, x->ondup);
	if (x->rep.nchanged)
		fprintf(stderr,
			P_("medchain: %llu resource differs from the one stored and was not stored: import it again with --on-duplicate version to store it as a new version\n",
			   "medchain: %llu resources differ from the ones stored and were not stored: import them again with --on-duplicate version to store them as new versions\n",
			   x->rep.nchanged),
			x->rep.nchanged);
}

int cmd_record_import(struct mc_cli *cli, struct mc_args *a)
{
	struct import x = { .ondup = "skip", .bsize = 10000, .in = stdin, .rep = { .cli = cli, .first = true } };
	struct mc_err err = { 0 };
	struct mc_importer *im = NULL;
	int rc;

	if ((rc = import_parse(a, &x)) != 0)
		return rc;
	if (import_open(&x, &err) != 0)
		return mc_cli_fail(&err);
	rc = import_first_line(&x, &err) == 0 ? import_run(cli, &x, &im, &err) : -1;
	mc_cli_progress_end();
	if (cli->json && im)
		import_emit_json(&x);
	cJSON_Delete(x.rep.skipped);
	if (x.line) {
		/* what held input: the lines read, or what slurp_rest held (not
		 * its spare capacity, which wiping would make resident) */
		mc_wipe(x.line, x.held ? x.held : x.linecap);
		free(x.line);
	}
	if (x.in != stdin)
		fclose(x.in);
	if (x.rbuf) {
		mc_wipe(x.rbuf, IMPORT_IOBUF);   /* it held the input, as x.line did */
		free(x.rbuf);
	}
	if (rc != 0)
		return mc_cli_fail(&err);
	import_emit_text(cli, &x);
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

/* record get: the options */
struct get {
	const char *outpath, *glass;
	uint8_t id[MC_RECORD_ID_LEN];
	unsigned long version;
	uint8_t purpose;
};

/* 0, or the exit code of a usage error */
static int get_parse(struct mc_args *a, struct get *g)
{
	const char *vers = NULL, *purpose = NULL;
	struct mc_opt opts[] = {
		{ "-o", true, &g->outpath, NULL },
		{ "--version", true, &vers, NULL },
		{ "--purpose", true, &purpose, NULL },
		{ "--break-glass", true, &g->glass, NULL },
	};
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };
	const char *glass;

	if (mc_cli_parse(a, opts, 4, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("record get needs a record id"));
	if (vers) {
		char *end;

		g->version = strtoul(vers, &end, 10);
		if (*end || g->version == 0 || g->version > UINT32_MAX)
			return mc_cli_usage(_("--version must be a positive number"));
	}
	glass = g->glass;
	if (glass && (!*glass || strlen(glass) > MC_REASON_MAX || !mc_text_clean(glass, strlen(glass))))
		return mc_cli_usage(_("--break-glass needs a reason of 1 to %d characters of text"),
				    MC_REASON_MAX);
	g->purpose = glass ? MC_PURPOSE_EMERGENCY : MC_PURPOSE_TREATMENT;
	if ((purpose && mc_purpose_parse(purpose, &g->purpose, &err) != 0) ||
	    mc_record_id_parse(pos[0], g->id, &err) != 0)
		return mc_cli_fail(&err);
	return 0;
}

/* The payload read, to -o or standard output. */
static int get_emit(const struct get *g, const struct mc_op_read *rd, struct mc_err *err)
{
	if (g->outpath)
		return mc_cli_write_file(g->outpath, rd->payload, rd->n, err);
	if (fwrite(rd->payload, 1, rd->n, stdout) != rd->n || fflush(stdout) != 0)
		return mc_err_set(err, EX_IOERR, _("cannot write the output"));
	return 0;
}

int cmd_record_get(struct mc_cli *cli, struct mc_args *a)
{
	struct get g = { 0 };
	int rc = -1;
	struct mc_err err = { 0 };
	struct mc_org *org = NULL;
	struct mc_op_read rd;

	memset(&rd, 0, sizeof(rd));
	if ((rc = get_parse(a, &g)) != 0)
		return rc;
	rc = -1;
	if (org_setup(cli, MC_SETUP_ALL, &org, &err) != 0 ||
	    mc_op_read(cli, cli->node_key, cli->actor_key, g.id, (uint32_t)g.version, g.purpose, g.glass, &rd,
		       &err) != 0)
		goto out;
	if (rd.d.outcome == MC_OUTCOME_DENY) {
		mc_err_set(&err, EX_NOPERM, _("access denied: %s (recorded in block %llu)"),
			   mc_deny_text(rd.d.reason), (unsigned long long)rd.height);
		goto out;
	}
	if (rd.d.outcome == MC_OUTCOME_BREAK_GLASS && !cli->quiet)
		fprintf(stderr, _("medchain: break-glass read, recorded and flagged in block %llu\n"),
			(unsigned long long)rd.height);
	rc = get_emit(&g, &rd, &err);
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

/* record erase --dry-run: what would be done, from the same checks;
 * nothing opened for writing and no key unlocked: the chain's rule for
 * RECORD_ERASE (an active admin) is checked on the acting identity's state */
static int erase_dry(struct mc_cli *cli, const struct latest_ctx *lc, const char *hex, struct mc_err *err)
{
	struct mc_identity actor;

	if (mc_cli_actor_identity(cli, &actor, err) != 0)
		return -1;
	if (actor.revoked != MC_NOT_REVOKED || !(actor.roles & MC_ROLE_ADMIN))
		return mc_err_set(err, EX_NOPERM,
				  _("'%s' may not erase records (an active admin may): the erase would be refused"),
				  actor.name);
	if (cli->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddBoolToObject(j, "dry_run", true);
		cJSON_AddStringToObject(j, "erase", hex);
		cJSON_AddNumberToObject(j, "versions", lc->info.version);
		mc_json_add_str(j, "category", lc->info.category);
		return mc_cli_json_print(j, err);
	}
	printf(P_("would erase record %s (%u version, category %s) on every node; nothing was written\n",
		  "would erase record %s (%u versions, category %s) on every node; nothing was written\n",
		  lc->info.version),
	       hex, lc->info.version, lc->info.category);
	return 0;
}

/* 0, or the exit code of a usage error */
static int erase_parse(struct mc_args *a, const char **reason, bool *yes, bool *dry, uint8_t id[MC_RECORD_ID_LEN])
{
	struct mc_opt opts[] = {
		{ "--reason", true, reason, NULL },
		{ "--yes", false, NULL, yes },
		{ "--dry-run", false, NULL, dry },
	};
	char *pos[1];
	int npos;
	struct mc_err err = { 0 };

	if (mc_cli_parse(a, opts, 3, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !*reason)
		return mc_cli_usage(_("record erase needs a record id and --reason"));
	if (!**reason || strlen(*reason) > MC_REASON_MAX || !mc_text_clean(*reason, strlen(*reason)))
		return mc_cli_usage(_("give a reason of 1 to %d characters of text"), MC_REASON_MAX);
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	return 0;
}

int cmd_record_erase(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	bool yes = false, dry = false;
	int rc;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	struct latest_ctx lc;
	struct mc_produced out;
	char hex[33], question[512];

	if ((rc = erase_parse(a, &reason, &yes, &dry, id)) != 0)
		return rc;
	mc_hex(id, MC_RECORD_ID_LEN, hex);
	lc.id = id;
	cli->dry_run = dry;
	if (mc_cmd_setup(cli, MC_SETUP_STORE, &err) != 0 || mc_store_read(cli->store, latest_txn, &lc, &err) != 0)
		return mc_cli_fail(&err);
	if (dry)
		return erase_dry(cli, &lc, hex, &err) == 0 ? 0 : mc_cli_fail(&err);
	snprintf(question, sizeof(question),
		 P_("erase record %s (%u version) on every node? This cannot be undone.",
		    "erase record %s (%u versions) on every node? This cannot be undone.", lc.info.version),
		 hex, lc.info.version);
	if (mc_cli_confirm(yes, question, &err) != 0 || mc_cmd_setup(cli, MC_SETUP_ALL, &err) != 0 ||
	    mc_record_erase(cli->store, cli->node_key, cli->actor_key, id, reason, &out, &err) != 0)
		return mc_cli_fail(&err);
	if (cli->json)
		return mc_cli_json_written("erased", hex, 0, out.height, &err) == 0 ? 0 : mc_cli_fail(&err);
	if (!cli->quiet)
		printf(_("erased in block %llu\n"), (unsigned long long)out.height);
	return 0;
}
