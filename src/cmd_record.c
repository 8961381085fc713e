/* medchain record put | import | get | list | history | erase */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "commands.h"
#include "i18n.h"
#include "ingest.h"
#include "records.h"
#include "text.h"

/* What a writing command holds: node key, acting identity, organization. */
struct writer {
	struct mc_key *node, *author, *orgkey;
	struct mc_org *org;
};

static int writer_open(struct mc_cli *cli, struct writer *w, struct mc_err *err)
{
	memset(w, 0, sizeof(*w));
	if (mc_cli_open(cli, 0, err) != 0 || mc_cli_load_role_key(cli, "node", &w->node, err) != 0 ||
	    mc_cli_load_actor(cli, &w->author, err) != 0 ||
	    mc_cli_load_role_key(cli, "org", &w->orgkey, err) != 0 ||
	    mc_org_open(cli->store, w->orgkey, &w->org, err) != 0)
		return -1;
	return 0;
}

static void writer_close(struct writer *w)
{
	mc_org_free(w->org);
	mc_key_free(w->node);
	mc_key_free(w->author);
	mc_key_free(w->orgkey);
}

static int reader_open(struct mc_cli *cli, struct writer *w, struct mc_err *err)
{
	memset(w, 0, sizeof(*w));
	if (mc_cli_open(cli, MC_STORE_RDONLY, err) != 0 ||
	    mc_cli_load_role_key(cli, "org", &w->orgkey, err) != 0 ||
	    mc_org_open(cli->store, w->orgkey, &w->org, err) != 0)
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
	struct writer w;
	unsigned char *payload = NULL;
	size_t n = 0;
	uint8_t id[MC_RECORD_ID_LEN], subj[MC_HASH_LEN];
	uint32_t version = 1;
	const uint8_t *prev = NULL;
	struct latest_ctx lc;
	struct mc_sealed sealed = { 0 };
	struct mc_produced out;
	char hex[33];

	memset(&w, 0, sizeof(w));
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
	if (n == 0) {
		mc_err_set(&err, EX_DATAERR, _("empty payload"));
		goto out;
	}
	if (strstr(type, "json") && !mc_utf8_valid(payload, n)) {
		mc_err_set(&err, EX_DATAERR, _("a JSON payload must be UTF-8"));
		goto out;
	}
	if (writer_open(cli, &w, &err) != 0)
		goto out;
	if (mc_org_subject(w.org, subject, strlen(subject), subj, &err) != 0)
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
	} else {
		mc_random(id, sizeof(id));
	}
	if (mc_record_seal(w.org, id, version, prev, subj, category, type, payload, n, &sealed,
			   &err) != 0 ||
	    mc_records_commit(cli->store, w.node, w.author, w.org, &sealed, 1, &out, &err) != 0) {
		if (err.code == EX_DATAERR && strstr(err.msg, "roles"))
			err.code = EX_NOPERM;
		goto out;
	}
	mc_hex(id, MC_RECORD_ID_LEN, hex);
	if (cli->json)
		printf("{\"record\":\"%s\",\"version\":%u,\"block\":%llu}\n", hex, version,
		       (unsigned long long)out.height);
	else
		printf("%s\n", hex);
	rc = 0;
out:
	mc_sealed_release(&sealed);
	if (payload) {
		mc_wipe(payload, n);
		free(payload);
	}
	writer_close(&w);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- import ------------------------------------------------------------ */

struct importer {
	struct mc_cli *cli;
	struct writer *w;
	struct mc_sealed *recs;
	unsigned long *lines;
	size_t n, cap;
	unsigned long long committed;
	unsigned long long total;      /* 0 when unknown (streaming) */
	bool json_first;
};

static int import_flush(struct importer *im, struct mc_err *err)
{
	struct mc_produced out;

	if (im->n == 0)
		return 0;
	if (mc_records_commit(im->cli->store, im->w->node, im->w->author, im->w->org, im->recs,
			      im->n, &out, err) != 0)
		return -1;
	/* Report only what is committed. */
	for (size_t i = 0; i < im->n; i++) {
		char hex[33];

		mc_hex(im->recs[i].entry.id, MC_RECORD_ID_LEN, hex);
		if (im->cli->json) {
			printf("%s{\"record\":\"%s\",\"line\":%lu,\"block\":%llu}",
			       im->json_first ? "" : ",", hex, im->lines[i],
			       (unsigned long long)out.height);
			im->json_first = false;
		} else {
			printf("%s\t%lu\n", hex, im->lines[i]);
		}
		mc_sealed_release(&im->recs[i]);
	}
	fflush(stdout);
	im->committed += im->n;
	im->n = 0;
	mc_cli_progress(_("importing"), im->committed, im->total);
	return 0;
}

static int import_item(struct importer *im, struct mc_ingest_item *it, unsigned long line,
		       struct mc_err *err)
{
	uint8_t id[MC_RECORD_ID_LEN], subj[MC_HASH_LEN];
	struct mc_sealed *s = &im->recs[im->n];

	if (mc_org_subject(im->w->org, it->subject, strlen(it->subject), subj, err) != 0)
		return -1;
	mc_random(id, sizeof(id));
	if (mc_record_seal(im->w->org, id, 1, NULL, subj, it->category, it->ctype, it->payload,
			   it->payload_len, s, err) != 0)
		return -1;
	im->lines[im->n] = line;
	im->n++;
	if (im->n == im->cap)
		return import_flush(im, err);
	return 0;
}

int cmd_record_import(struct mc_cli *cli, struct mc_args *a)
{
	const char *format = NULL, *batch = NULL;
	struct mc_opt opts[] = {
		{ "--format", true, &format, NULL },
		{ "--batch", true, &batch, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct writer w;
	struct importer im;
	FILE *in = stdin;
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	long bsize = 1000;

	memset(&w, 0, sizeof(w));
	memset(&im, 0, sizeof(im));
	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (format && strcmp(format, "ndjson") != 0 && strcmp(format, "bundle") != 0)
		return mc_cli_usage(_("--format must be 'ndjson' or 'bundle'"));
	if (batch) {
		char *end;

		bsize = strtol(batch, &end, 10);
		if (*end || bsize < 1 || bsize > (long)MC_BATCH_MAX)
			return mc_cli_usage(_("--batch must be 1 to %u"), MC_BATCH_MAX);
	}
	if (npos && strcmp(pos[0], "-") != 0) {
		in = fopen(pos[0], "rb");
		if (!in) {
			mc_err_set(&err, EX_NOINPUT, _("cannot open '%s': %s"), pos[0], strerror(errno));
			return mc_cli_fail(&err);
		}
	}
	if (writer_open(cli, &w, &err) != 0)
		goto out;
	im.cli = cli;
	im.w = &w;
	im.cap = (size_t)bsize;
	im.recs = calloc(im.cap, sizeof(*im.recs));
	im.lines = calloc(im.cap, sizeof(*im.lines));
	im.json_first = true;
	if (!im.recs || !im.lines) {
		mc_err_set(&err, EX_OSERR, _("out of memory"));
		goto out;
	}
	if (cli->json)
		printf("[");

	if (!format) {
		int c;

		while ((c = getc(in)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			;
		if (c == EOF) {
			mc_err_set(&err, EX_DATAERR, _("empty input"));
			goto out;
		}
		ungetc(c, in);
		format = "ndjson";
		/* A Bundle starts with an object whose first line is not a
		 * whole record; NDJSON lines are complete objects. */
		len = getline(&line, &linecap, in);
		if (len > 0) {
			struct mc_ingest_item it;
			struct mc_err perr = { 0 };
			size_t l = (size_t)len;

			while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
				l--;
			if (strstr(line, "\"Bundle\"") ||
			    mc_ingest_ndjson_line(line, l, &it, &perr) != 0) {
				if (perr.code && !strstr(line, "\"Bundle\"") && l > 0 && line[l - 1] == '}') {
					/* a complete but bad NDJSON line */
					mc_err_set(&err, EX_DATAERR, _("line 1: %s"), perr.msg);
					goto out;
				}
				format = "bundle";
			} else {
				lineno = 1;
				rc = import_item(&im, &it, 1, &err);
				mc_ingest_item_release(&it);
				if (rc != 0)
					goto out;
				rc = -1;
			}
		}
		if (strcmp(format, "bundle") == 0) {
			/* Put the first line back in front of the rest. */
			unsigned char *rest = NULL;
			size_t rn = 0, fn = len > 0 ? (size_t)len : 0;
			char *doc;
			struct mc_ingest_item *items = NULL;
			size_t count = 0;

			if (mc_cli_read_all(npos ? pos[0] : "-", MC_INGEST_BUNDLE_MAX, &rest, &rn, &err) != 0)
				goto out;
			/* read_all reopened a named file from the start; stdin continues */
			if (npos && strcmp(pos[0], "-") != 0)
				fn = 0;
			doc = malloc(fn + rn + 1);
			if (!doc) {
				free(rest);
				mc_err_set(&err, EX_OSERR, _("out of memory"));
				goto out;
			}
			memcpy(doc, line, fn);
			memcpy(doc + fn, rest, rn);
			free(rest);
			rc = mc_ingest_bundle(doc, fn + rn, &items, &count, &err);
			free(doc);
			if (rc != 0)
				goto out;
			im.total = count;
			for (size_t i = 0; i < count && rc == 0; i++) {
				rc = import_item(&im, &items[i], (unsigned long)(i + 1), &err);
				if (rc != 0)
					mc_err_wrap(&err, _("entry %zu"), i + 1);
			}
			for (size_t i = 0; i < count; i++)
				mc_ingest_item_release(&items[i]);
			free(items);
			if (rc != 0) {
				rc = -1;
				goto out;
			}
			rc = -1;
			goto finish;
		}
	} else if (strcmp(format, "bundle") == 0) {
		unsigned char *doc = NULL;
		size_t dn = 0, count = 0;
		struct mc_ingest_item *items = NULL;

		if (mc_cli_read_all(npos ? pos[0] : "-", MC_INGEST_BUNDLE_MAX, &doc, &dn, &err) != 0)
			goto out;
		rc = mc_ingest_bundle((const char *)doc, dn, &items, &count, &err);
		free(doc);
		if (rc != 0) {
			rc = -1;
			goto out;
		}
		im.total = count;
		for (size_t i = 0; i < count && rc == 0; i++)
			rc = import_item(&im, &items[i], (unsigned long)(i + 1), &err);
		for (size_t i = 0; i < count; i++)
			mc_ingest_item_release(&items[i]);
		free(items);
		if (rc != 0) {
			rc = -1;
			goto out;
		}
		rc = -1;
		goto finish;
	}

	while ((len = getline(&line, &linecap, in)) >= 0) {
		struct mc_ingest_item it;
		size_t l = (size_t)len;

		lineno++;
		while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			l--;
		if (l == 0)
			continue;
		if (l > MC_INGEST_LINE_MAX) {
			mc_err_set(&err, EX_DATAERR, _("line %lu: longer than %u bytes"), lineno,
				   MC_INGEST_LINE_MAX);
			goto out;
		}
		if (mc_ingest_ndjson_line(line, l, &it, &err) != 0) {
			mc_err_wrap(&err, _("line %lu"), lineno);
			goto out;
		}
		if (import_item(&im, &it, lineno, &err) != 0) {
			mc_ingest_item_release(&it);
			mc_err_wrap(&err, _("line %lu"), lineno);
			goto out;
		}
		mc_ingest_item_release(&it);
	}
	if (ferror(in)) {
		mc_err_set(&err, EX_IOERR, _("cannot read the input: %s"), strerror(errno));
		goto out;
	}
finish:
	if (import_flush(&im, &err) != 0)
		goto out;
	if (im.committed == 0) {
		mc_err_set(&err, EX_DATAERR, _("no records in the input"));
		goto out;
	}
	rc = 0;
out:
	mc_cli_progress_end();
	if (cli->json && im.recs)
		printf("]\n");
	if (im.recs) {
		for (size_t i = 0; i < im.n; i++)
			mc_sealed_release(&im.recs[i]);
	}
	free(im.recs);
	free(im.lines);
	free(line);
	if (in != stdin)
		fclose(in);
	writer_close(&w);
	if (rc == 0 && !cli->json && !cli->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, _("imported %llu records\n"), im.committed);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

/* ---- reading ----------------------------------------------------------- */

int cmd_record_get(struct mc_cli *cli, struct mc_args *a)
{
	const char *outpath = NULL, *vers = NULL;
	struct mc_opt opts[] = {
		{ "-o", true, &outpath, NULL },
		{ "--version", true, &vers, NULL },
	};
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	struct writer w;
	uint8_t id[MC_RECORD_ID_LEN];
	uint8_t *payload = NULL;
	size_t n = 0;
	unsigned long version = 0;
	struct mc_record_info info;

	memset(&w, 0, sizeof(w));
	if (mc_cli_parse(a, opts, 2, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1)
		return mc_cli_usage(_("record get needs a record id"));
	if (vers) {
		char *end;

		version = strtoul(vers, &end, 10);
		if (*end || version == 0 || version > UINT32_MAX)
			return mc_cli_usage(_("--version must be a positive number"));
	}
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	if (reader_open(cli, &w, &err) != 0 ||
	    mc_record_read(cli->store, w.org, id, (uint32_t)version, &payload, &n, &info, &err) != 0)
		goto out;
	if (outpath) {
		if (mc_cli_write_file(outpath, payload, n, &err) != 0)
			goto out;
	} else if (fwrite(payload, 1, n, stdout) != n || fflush(stdout) != 0) {
		mc_err_set(&err, EX_IOERR, _("cannot write the output"));
		goto out;
	}
	rc = 0;
out:
	mc_payload_free(payload, n);
	writer_close(&w);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}

struct print_ctx {
	struct mc_cli *cli;
	unsigned long n;
};

static int print_info(const struct mc_record_info *info, void *vctx)
{
	struct print_ctx *pc = vctx;
	char id[33], subj[65];

	mc_hex(info->id, MC_RECORD_ID_LEN, id);
	mc_hex(info->subject, MC_HASH_LEN, subj);
	if (pc->cli->json) {
		printf("%s{\"record\":\"%s\",\"version\":%u,\"subject\":\"%s\",\"category\":\"%s\","
		       "\"type\":\"%s\",\"size\":%llu,\"block\":%llu,\"erased\":",
		       pc->n ? "," : "", id, info->version, subj, info->category, info->ctype,
		       (unsigned long long)info->size, (unsigned long long)info->height);
		if (info->erased)
			printf("%llu}", (unsigned long long)info->erased);
		else
			printf("null}");
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

	if (lc->id)
		return mc_record_history(t, lc->id, print_info, &lc->pc, err);
	return mc_records_list(t, lc->subject, lc->category, print_info, &lc->pc, err);
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
	struct writer w;
	uint8_t subj[MC_HASH_LEN];
	struct list_ctx lc;

	memset(&w, 0, sizeof(w));
	memset(&lc, 0, sizeof(lc));
	if (mc_cli_parse(a, opts, 2, pos, 0, &npos) != 0)
		return EX_USAGE;
	lc.pc.cli = cli;
	lc.category = category;
	if (subject) {
		if (reader_open(cli, &w, &err) != 0 ||
		    mc_org_subject(w.org, subject, strlen(subject), subj, &err) != 0)
			goto out;
		lc.subject = subj;
	} else if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0) {
		goto out;
	}
	if (cli->json)
		printf("[");
	rc = mc_store_read(cli->store, list_txn, &lc, &err);
	if (cli->json)
		printf("]\n");
out:
	writer_close(&w);
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
	if (mc_cli_open(cli, MC_STORE_RDONLY, &err) != 0)
		return mc_cli_fail(&err);
	if (cli->json)
		printf("[");
	if (mc_store_read(cli->store, list_txn, &lc, &err) != 0) {
		if (cli->json)
			printf("]\n");
		return mc_cli_fail(&err);
	}
	if (cli->json)
		printf("]\n");
	return 0;
}

int cmd_record_erase(struct mc_cli *cli, struct mc_args *a)
{
	const char *reason = NULL;
	struct mc_opt opts[] = { { "--reason", true, &reason, NULL } };
	char *pos[1];
	int npos, rc = -1;
	struct mc_err err = { 0 };
	uint8_t id[MC_RECORD_ID_LEN];
	struct mc_key *node = NULL, *author = NULL;
	struct latest_ctx lc;
	struct mc_produced out;

	if (mc_cli_parse(a, opts, 1, pos, 1, &npos) != 0)
		return EX_USAGE;
	if (npos != 1 || !reason)
		return mc_cli_usage(_("record erase needs a record id and --reason"));
	if (mc_record_id_parse(pos[0], id, &err) != 0)
		return mc_cli_fail(&err);
	lc.id = id;
	if (mc_cli_open(cli, 0, &err) != 0 || mc_store_read(cli->store, latest_txn, &lc, &err) != 0 ||
	    mc_cli_load_role_key(cli, "node", &node, &err) != 0 ||
	    mc_cli_load_actor(cli, &author, &err) != 0)
		goto out;
	if (mc_record_erase(cli->store, node, author, id, reason, &out, &err) != 0) {
		if (err.code == EX_DATAERR && strstr(err.msg, "roles"))
			err.code = EX_NOPERM;
		goto out;
	}
	if (cli->json)
		printf("{\"erased\":\"%s\",\"block\":%llu}\n", pos[0], (unsigned long long)out.height);
	else if (!cli->quiet)
		printf(_("erased in block %llu\n"), (unsigned long long)out.height);
	rc = 0;
out:
	mc_key_free(node);
	mc_key_free(author);
	return rc == 0 ? 0 : mc_cli_fail(&err);
}
