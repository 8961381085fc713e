/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_config.c - `medchain config check`: like `nginx -t`. main.c has
 * already read every layer (the system file or --config, the data dir's
 * file, MEDCHAIN_* variables, flags) and stopped with exit 78 at a bad
 * line; this prints the effective settings, each with where it came from,
 * and checks what only makes sense across keys (a TLS certificate needs its
 * key) or outside the file (the files the settings name can be read). */
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

#include <curl/curl.h>

#include "commands.h"
#include "i18n.h"
#include "text.h"

/* Where setting i came from, for people: file:line, $VARIABLE, --datadir
 * or "default". */
static void origin_text(const struct mc_cli *cli, size_t i, char *out, size_t n)
{
	const struct mc_conf_origin *o = &cli->conf.origin[i];

	if ((int)i == mc_config_find("node", "datadir")) {
		const char *env = getenv("MEDCHAIN_DATADIR");

		if (cli->datadir_flag) {
			snprintf(out, n, "--datadir");
			return;
		}
		if (env && *env) {
			snprintf(out, n, "$MEDCHAIN_DATADIR");
			return;
		}
		if (o->source == MC_CONF_DEFAULT) {
			snprintf(out, n, "%s", _("default"));
			return;
		}
	}
	if (o->source == MC_CONF_FILE)
		snprintf(out, n, "%s:%d", o->where, o->line);
	else if (o->source == MC_CONF_ENV)
		snprintf(out, n, "$%s", o->where);
	else
		snprintf(out, n, "%s", _("default"));
}

/* One URL as config check shows it: scheme, host and port, with any
 * user:password@ and any path, query or fragment (an RPC provider's API key
 * often sits in the path: /v3/KEY) replaced by "***". Parsed with libcurl's
 * URL API, the parser that will use it; what it cannot parse is hidden
 * whole. */
static void redact_url(const char *url, char *out, size_t n)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL,
	     *frag = NULL;

	if (!h || curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(out, n, "***");
	} else {
		bool secret_path;

		curl_url_get(h, CURLUPART_PORT, &port, 0);
		curl_url_get(h, CURLUPART_USER, &user, 0);
		curl_url_get(h, CURLUPART_PATH, &path, 0);
		curl_url_get(h, CURLUPART_QUERY, &query, 0);
		curl_url_get(h, CURLUPART_FRAGMENT, &frag, 0);
		secret_path = (path && strcmp(path, "/") != 0 && *path) || query || frag;
		snprintf(out, n, "%s://%s%s%s%s%s", scheme, user ? "***@" : "", host, port ? ":" : "",
			 port ? port : "", secret_path ? "/***" : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(path);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(h);
}

/* The settings that hold URLs (of type MC_CONF_URL or MC_CONF_URLS in
 * conf.c's table): each one redacted, so the output can go into a ticket. */
static void redact_urls(const char *value, char *out, size_t n)
{
	const char *p = value;
	size_t o = 0;

	out[0] = '\0';
	while (*p && o + 1 < n) {
		char one[MC_CONF_STR], shown[MC_CONF_STR];
		size_t len;

		p += strspn(p, " ,");
		len = strcspn(p, ",");
		while (len && p[len - 1] == ' ')
			len--;
		if (!len)
			break;
		snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) - 1 ? len : sizeof(one) - 1), p);
		redact_url(one, shown, sizeof(shown));
		o += (size_t)snprintf(out + o, n - o, "%s%s", o ? ", " : "", shown);
		if (o >= n)
			break;
		p += strcspn(p, ",");
	}
}

static void value_of(const struct mc_cli *cli, size_t i, char *out, size_t n)
{
	const struct mc_conf_key *k = mc_config_key_info(i);

	if ((int)i == mc_config_find("node", "datadir")) {
		snprintf(out, n, "%.4095s", cli->datadir);
	} else if (k->type == MC_CONF_URL || k->type == MC_CONF_URLS) {
		char raw[MC_CONF_STR];

		mc_config_value(&cli->conf, i, raw, sizeof(raw));
		redact_urls(raw, out, n);
	} else {
		mc_config_value(&cli->conf, i, out, n);
	}
}

/* A file a setting names (MC_CONF_READS in conf.c's table) must be
 * readable by whoever runs this: the service user, when the check runs as
 * it. A secret (MC_CONF_SECRET: the TLS key, the anchor's key file) must
 * also be closed to group and others, as serve and the key store require
 * (EX_NOPERM, the same refusal; a link is judged by its target, as serve
 * follows it). */
static int check_readable(const struct mc_cli *cli, size_t i, struct mc_err *err)
{
	const struct mc_conf_key *k = mc_config_key_info(i);
	const char *section = k->section, *key = k->key;
	bool secret = k->flags & MC_CONF_SECRET;
	char value[MC_CONF_STR], where[MC_CONF_STR + 32];
	struct stat st;
	int fd;

	mc_config_value(&cli->conf, i, value, sizeof(value));
	if (value[0] != '/')
		return 0;
	origin_text(cli, i, where, sizeof(where));
	/* O_NONBLOCK: a FIFO (or a device) named here must not hang the check */
	fd = open(value, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return mc_err_set(err, EX_CONFIG, _("%s: [%s] %s: cannot read '%s': %s"), where, section, key, value,
				  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mc_err_set(err, EX_CONFIG, _("%s: [%s] %s: '%s' is not a regular file"), where, section, key,
				  value);
	}
	close(fd);
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)))
		return mc_err_set(err, EX_NOPERM,
				  _("%s: [%s] %s: '%s' is accessible to other users: serve refuses it (chmod 600 '%s')"),
				  where, section, key, value, value);
	return 0;
}

static int check(const struct mc_cli *cli, struct mc_err *err)
{
	const struct mc_config *c = &cli->conf;

	if (!*c->tls_cert != !*c->tls_key) {
		int i = mc_config_find("node", *c->tls_cert ? "tls_cert" : "tls_key");
		char where[MC_CONF_STR + 32];

		origin_text(cli, (size_t)i, where, sizeof(where));
		return mc_err_set(err, EX_CONFIG, _("%s: [node] tls_cert and tls_key go together: set both or neither"),
				  where);
	}
	for (size_t i = 0; i < MC_CONF_NKEYS; i++)
		if ((mc_config_key_info(i)->flags & MC_CONF_READS) && check_readable(cli, i, err) != 0)
			return -1;
	return 0;
}

static const char *source_name(const struct mc_cli *cli, size_t i)
{
	if ((int)i == mc_config_find("node", "datadir")) {
		const char *env = getenv("MEDCHAIN_DATADIR");

		if (cli->datadir_flag)
			return "flag";
		if (env && *env)
			return "environment";
	}
	switch (cli->conf.origin[i].source) {
	case MC_CONF_FILE:
		return "file";
	case MC_CONF_ENV:
		return "environment";
	case MC_CONF_DEFAULT:
		break;
	}
	return "default";
}

static int print_json(const struct mc_cli *cli, const char *files[2])
{
	cJSON *j = cJSON_CreateObject(), *fa = cJSON_AddArrayToObject(j, "files");
	cJSON *sa = cJSON_AddArrayToObject(j, "settings");
	static const char *const layer[2] = { "system", "datadir" };
	char *text;

	for (int k = 0; k < 2; k++) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "layer", layer[k]);
		mc_json_add_str(f, "path", files[k]);
		cJSON_AddBoolToObject(f, "read", access(files[k], F_OK) == 0);
		cJSON_AddItemToArray(fa, f);
	}
	for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
		const char *section, *key, *env, *src = source_name(cli, i);
		const struct mc_conf_origin *o = &cli->conf.origin[i];
		char value[4200];
		cJSON *s = cJSON_CreateObject();

		mc_config_key(i, &section, &key, &env);
		value_of(cli, i, value, sizeof(value));
		cJSON_AddStringToObject(s, "section", section);
		cJSON_AddStringToObject(s, "key", key);
		mc_json_add_str(s, "value", value);
		cJSON_AddStringToObject(s, "source", src);
		if (strcmp(src, "flag") == 0) {
			cJSON_AddStringToObject(s, "flag", "--datadir");
		} else if (strcmp(src, "environment") == 0) {
			mc_json_add_str(s, "variable", o->source == MC_CONF_ENV ? o->where : "MEDCHAIN_DATADIR");
		} else if (strcmp(src, "file") == 0) {
			mc_json_add_str(s, "file", o->where);
			cJSON_AddNumberToObject(s, "line", o->line);
		}
		cJSON_AddItemToArray(sa, s);
	}
	cJSON_AddBoolToObject(j, "valid", true);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!text)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

int cmd_config_check(struct mc_cli *cli, struct mc_args *a)
{
	struct mc_err err = { 0 };
	char datafile[PATH_MAX];
	const char *files[2];
	char *pos[1];
	int npos;

	if (mc_cli_parse(a, NULL, 0, pos, 0, &npos) != 0)
		return EX_USAGE;
	if (check(cli, &err) != 0)
		return mc_cli_fail(&err);
	mc_cli_path(cli, datafile, sizeof(datafile), "medchain.conf");
	files[0] = cli->config_file ? cli->config_file : MC_SYSTEM_CONFIG;
	files[1] = datafile;
	if (cli->json) {
		if (print_json(cli, files) != 0) {
			mc_err_set(&err, EX_OSERR, _("out of memory"));
			return mc_cli_fail(&err);
		}
		return 0;
	}
	printf("# %s\n", _("configuration files, in the order read:"));
	for (int k = 0; k < 2; k++)
		printf("#   %s: %s\n", files[k], access(files[k], F_OK) == 0 ? _("read") : _("not present"));
	for (size_t i = 0; i < MC_CONF_NKEYS; i++) {
		const char *section, *key, *env;
		char value[4200], where[MC_CONF_STR + 32];

		mc_config_key(i, &section, &key, &env);
		value_of(cli, i, value, sizeof(value));
		origin_text(cli, i, where, sizeof(where));
		printf("%s.%s = %s  (%s)\n", section, key, value, where);
	}
	if (!cli->quiet)
		fprintf(stderr, "medchain: %s\n", _("the configuration is valid"));
	return 0;
}
