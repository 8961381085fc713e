/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "i18n.h"
#include "text.h"
#include "vlast.h"

int mc_state_file_save(const char *datadir, const char *name, const char *text, struct mc_err *err)
{
	char path[PATH_MAX];
	size_t n = strlen(text);
	char *doc;
	int rc;

	if (snprintf(path, sizeof(path), "%s/%s", datadir, name) >= (int)sizeof(path))
		return mc_err_set(err, EX_CANTCREAT, _("the data dir path is too long"));
	doc = malloc(n + 2);
	if (!doc)
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	memcpy(doc, text, n);
	memcpy(doc + n, "\n", 2);
	/* verify run by root (by hand) must not leave a file the service
	 * user can no longer read */
	rc = mc_file_write_atomic(path, doc, n + 1, &(struct mc_file_opts){ .mode = 0644, .owner_of = datadir }, err);
	free(doc);
	return rc;
}

int mc_vlast_save(const char *datadir, const struct mc_verify_last *v, struct mc_err *err)
{
	cJSON *j = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	if (!j || !cJSON_AddNumberToObject(j, "version", 1) ||
	    !cJSON_AddNumberToObject(j, "time_ms", (double)v->time_ms) ||
	    !cJSON_AddStringToObject(j, "result", v->ok ? "ok" : "damaged") ||
	    !mc_json_add_str(j, "message", v->message) ||
	    !cJSON_AddNumberToObject(j, "duration_s", v->duration_s) ||
	    !cJSON_AddNumberToObject(j, "blocks", (double)v->blocks) ||
	    !(text = cJSON_PrintUnformatted(j))) {
		cJSON_Delete(j);
		return mc_err_set(err, EX_OSERR, _("out of memory"));
	}
	cJSON_Delete(j);
	rc = mc_state_file_save(datadir, MC_VLAST_FILE, text, err);
	free(text);
	return rc;
}

int mc_state_file_load(const char *datadir, const char *name, cJSON **out, char *path, size_t pn,
		       struct mc_err *err)
{
	char buf[4096];
	ssize_t n;
	int fd;

	*out = NULL;
	if (snprintf(path, pn, "%s/%s", datadir, name) >= (int)pn)
		return mc_err_set(err, EX_NOINPUT, _("the data dir path is too long"));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return mc_err_set(err, EX_NOINPUT, _("cannot read '%s': %s"), path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return mc_err_set(err, EX_IOERR, _("cannot read '%s': %s"), path, strerror(errno));
	buf[n] = '\0';
	*out = cJSON_ParseWithLength(buf, (size_t)n);
	return 0;
}

int mc_vlast_load(const char *datadir, struct mc_verify_last *v, struct mc_err *err)
{
	char path[PATH_MAX];
	cJSON *j;
	const cJSON *t, *r, *m, *d, *b;
	int rc;

	memset(v, 0, sizeof(*v));
	rc = mc_state_file_load(datadir, MC_VLAST_FILE, &j, path, sizeof(path), err);
	if (rc != 0)
		return rc;
	t = cJSON_GetObjectItemCaseSensitive(j, "time_ms");
	r = cJSON_GetObjectItemCaseSensitive(j, "result");
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	d = cJSON_GetObjectItemCaseSensitive(j, "duration_s");
	b = cJSON_GetObjectItemCaseSensitive(j, "blocks");
	if (!cJSON_IsNumber(t) || t->valuedouble < 0 || !cJSON_IsString(r) || !cJSON_IsString(m) ||
	    !cJSON_IsNumber(d) || !cJSON_IsNumber(b) || b->valuedouble < 0 ||
	    (strcmp(r->valuestring, "ok") != 0 && strcmp(r->valuestring, "damaged") != 0)) {
		cJSON_Delete(j);
		return mc_err_set(err, EX_DATAERR, _("'%s' is not a verify outcome"), path);
	}
	v->time_ms = (uint64_t)t->valuedouble;
	v->ok = strcmp(r->valuestring, "ok") == 0;
	snprintf(v->message, sizeof(v->message), "%s", m->valuestring);
	v->duration_s = d->valuedouble;
	v->blocks = (uint64_t)b->valuedouble;
	cJSON_Delete(j);
	return 0;
}
